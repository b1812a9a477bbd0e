//! The example requests of every operation. The spec shows each with the answer the service
//! really gives (computed by [`answer`] through the same parsing and core as a request), and
//! the spec-driven tests send each one and compare.

use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::parse_json;
use super::{AppState, Compute};

/// One example request of an operation.
pub struct RequestExample {
    /// Names the example in the spec, the same under the request and under its response.
    pub name: &'static str,
    pub summary: &'static str,
    pub body: Value,
}

/// The examples of one `POST` operation, with the function that answers them.
pub struct OperationExamples {
    pub path: &'static str,
    pub answer: fn(&AppState, &Value) -> (u16, Value),
    pub examples: Vec<RequestExample>,
}

/// Parses a body as a request would be, computes it, and returns status and JSON answer.
pub fn answer<T: Compute>(state: &AppState, body: &Value) -> (u16, Value) {
    let result = serde_json::to_vec(body)
        .map_err(|e| ApiError::Internal(e.to_string()))
        .and_then(|bytes| parse_json::<T>(&bytes))
        .and_then(|request| request.compute(state));
    let to_value = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
    match result {
        Ok(output) => (200, to_value(serde_json::to_value(output))),
        Err(error) => (
            error.status().as_u16(),
            to_value(serde_json::to_value(error.problem())),
        ),
    }
}

fn example(name: &'static str, summary: &'static str, body: Value) -> RequestExample {
    RequestExample {
        name,
        summary,
        body,
    }
}

/// Every operation's examples; the worked examples of formulas.md come first.
pub fn all() -> Vec<OperationExamples> {
    vec![
        OperationExamples {
            path: "/crr",
            answer: answer::<super::crr::CrrRequest>,
            examples: vec![
                example(
                    "retention_75_pct",
                    "100 at the start, 20 new, 95 at the end: 75 % retained",
                    json!({"start_customers": 100, "new_customers": 20, "end_customers": 95}),
                ),
                example(
                    "retention_90_pct",
                    "200 at the start, 20 new, 200 at the end: 90 % retained",
                    json!({"start_customers": 200, "new_customers": 20, "end_customers": 200}),
                ),
                example(
                    "refused_new_exceeds_end",
                    "More new customers than customers at the end: refused",
                    json!({"start_customers": 100, "new_customers": 30, "end_customers": 20}),
                ),
                example(
                    "refused_no_start_customers",
                    "No customers at the start: refused",
                    json!({"start_customers": 0, "new_customers": 5, "end_customers": 5}),
                ),
                example(
                    "refused_more_retained_than_started",
                    "More retained customers than there were at the start: refused",
                    json!({"start_customers": 100, "new_customers": 0, "end_customers": 120}),
                ),
            ],
        },
        OperationExamples {
            path: "/churn",
            answer: answer::<super::churn::ChurnRequest>,
            examples: vec![
                example(
                    "churn_5_pct",
                    "1,000 at the start, 950 at the end, 50 lost: 5 % churn",
                    json!({"start_customers": 1000, "end_customers": 950, "lost_customers": 50}),
                ),
                example(
                    "churn_8_pct_monthly",
                    "20 of 250 lost in a month: 8 %, with its annual equivalent",
                    json!({"start_customers": 250, "lost_customers": 20, "period": "month"}),
                ),
                example(
                    "churn_from_counts_quarterly",
                    "From start, new and end counts over a quarter",
                    json!({"start_customers": 100, "new_customers": 20, "end_customers": 95, "period": "quarter"}),
                ),
                example(
                    "refused_lost_exceeds_start",
                    "More customers lost than there were at the start: refused",
                    json!({"start_customers": 40, "lost_customers": 50}),
                ),
            ],
        },
        OperationExamples {
            path: "/clv",
            answer: answer::<super::clv::ClvRequest>,
            examples: vec![
                example(
                    "simple_750",
                    "$50 a purchase, 5 purchases a year, 3 years: $750",
                    json!({"method": "simple", "average_purchase_value": 50, "purchase_frequency": 5, "lifespan": 3}),
                ),
                example(
                    "simple_300",
                    "$150 a year for 2 years: $300",
                    json!({"method": "simple", "average_purchase_value": 150, "lifespan": 2}),
                ),
                example(
                    "churn_based_with_cac",
                    "$40 ARPU a month, 75 % margin, 2.5 % monthly churn, $300 to acquire",
                    json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churn_rate_pct": 2.5, "acquisition_cost": 300}),
                ),
                example(
                    "discounted_3_years",
                    "$100 margin a year for 3 years, 80 % retention, 10 % discount rate",
                    json!({"method": "discounted", "margin_per_period": 100, "periods": 3, "retention_rate_pct": 80, "discount_rate_pct": 10}),
                ),
                example(
                    "historical",
                    "Four past purchases at a 40 % gross margin",
                    json!({"method": "historical", "purchases": [120, 80, 95.5, 150], "gross_margin_pct": 40}),
                ),
                example(
                    "refused_zero_churn",
                    "A churn rate of 0 would make the lifespan infinite: refused",
                    json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churn_rate_pct": 0}),
                ),
                example(
                    "refused_negative_money",
                    "A negative purchase value: refused",
                    json!({"method": "simple", "average_purchase_value": -50, "lifespan": 3}),
                ),
            ],
        },
        OperationExamples {
            path: "/nps",
            answer: answer::<super::nps::NpsRequest>,
            examples: vec![
                example(
                    "nps_30_from_counts",
                    "200 promoters, 120 passives, 80 detractors: NPS 30 ± 7.65",
                    json!({"promoters": 200, "passives": 120, "detractors": 80}),
                ),
                example(
                    "nps_from_scores",
                    "Twelve raw answers on the 0–10 scale",
                    json!({"scores": [10, 9, 9, 8, 7, 10, 6, 3, 9, 10, 8, 5]}),
                ),
                example(
                    "refused_score_11",
                    "An answer of 11 is off the 0–10 scale: refused",
                    json!({"scores": [10, 9, 11]}),
                ),
            ],
        },
    ]
}
