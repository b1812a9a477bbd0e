//! The example requests of every operation. The spec shows each with the answer the service
//! really gives (computed by [`answer`] through the same parsing and core as a request), and
//! the spec-driven tests send each one and compare.

use serde_json::{json, Value};

use super::{compute_value, AppState, Compute};

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
    match compute_value::<T>(state, body.clone()) {
        Ok(output) => (
            200,
            serde_json::from_str(serde_json::value::RawValue::get(&output)).unwrap_or(Value::Null),
        ),
        Err(error) => (
            error.status().as_u16(),
            serde_json::to_value(error.problem()).unwrap_or(Value::Null),
        ),
    }
}

/// An example body kept as a JSON file beside this one.
fn data(text: &str) -> Value {
    serde_json::from_str(text).expect("example data is JSON")
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
        OperationExamples {
            path: "/revenue-churn",
            answer: answer::<super::revenue::RevenueChurnRequest>,
            examples: vec![
                example(
                    "revenue_churn_5_pct",
                    "100,000 MRR at the start, 5,000 lost to cancellations: 5 % revenue churn",
                    json!({"start_mrr": 100000, "churned_mrr": 5000}),
                ),
                example(
                    "negative_churn",
                    "Upgrades outweigh cancellations and downgrades: negative net churn",
                    json!({"start_mrr": 100000, "new_mrr": 8000, "expansion_mrr": 12000, "contraction_mrr": 1500, "churned_mrr": 5000, "reactivation_mrr": 500}),
                ),
                example(
                    "refused_losses_exceed_start",
                    "More MRR lost than the period started with: refused",
                    json!({"start_mrr": 1000, "churned_mrr": 800, "contraction_mrr": 300}),
                ),
            ],
        },
        OperationExamples {
            path: "/engagement",
            answer: answer::<super::engagement::EngagementRequest>,
            examples: vec![
                example(
                    "weighted_components",
                    "Two participation rates and two usage measures, weighted",
                    json!({"components": [
                        {"name": "loyalty_members", "participants": 300, "total": 1000, "weight": 0.2},
                        {"name": "in_training", "participants": 150, "total": 1000, "weight": 0.2},
                        {"name": "weekly_logins", "value": 3.5, "min": 0, "max": 7, "weight": 0.4},
                        {"name": "days_since_last_login", "value": 6, "min": 0, "max": 30, "higher_is_better": false, "weight": 0.2}
                    ]}),
                ),
                example(
                    "equal_weights",
                    "No weights given: the components count equally",
                    json!({"components": [
                        {"name": "feature_adoption", "participants": 640, "total": 1000},
                        {"name": "key_actions_per_week", "value": 12, "min": 0, "max": 20}
                    ]}),
                ),
                example(
                    "refused_value_out_of_range",
                    "A measure outside its own range: refused",
                    json!({"components": [{"name": "weekly_logins", "value": 9, "min": 0, "max": 7}]}),
                ),
            ],
        },
        OperationExamples {
            path: "/loyalty",
            answer: answer::<super::engagement::LoyaltyRequest>,
            examples: vec![
                example(
                    "all_rates",
                    "Programme members, customers in training and repeat buyers",
                    json!({"customers": 5000, "loyalty_members": 1200, "customers_in_training": 450, "purchasing_customers": 3800, "repeat_customers": 1406}),
                ),
                example(
                    "repeat_purchase_only",
                    "Only the repeat purchase rate",
                    json!({"purchasing_customers": 946, "repeat_customers": 400}),
                ),
                example(
                    "refused_members_exceed_customers",
                    "More loyalty members than customers: refused",
                    json!({"customers": 100, "loyalty_members": 150}),
                ),
            ],
        },
        OperationExamples {
            path: "/ab-test",
            answer: answer::<super::ab_test::AbTestRequest>,
            examples: vec![
                example(
                    "retention_tactic",
                    "42.0 % vs 46.5 % retained of 1,000 each, and the size of a test for 3 points",
                    json!({"control": {"retained": 420, "started": 1000}, "variant": {"retained": 465, "started": 1000}, "minimum_detectable_effect": 3}),
                ),
                example(
                    "small_pilot_fisher",
                    "A pilot with small groups: Fisher's exact test",
                    json!({"control": {"retained": 5, "started": 12}, "variant": {"retained": 10, "started": 11}}),
                ),
                example(
                    "churn_comparison",
                    "Churn of two groups (retained counts in, churn rates out)",
                    json!({"metric": "churn", "control": {"retained": 940, "started": 1000}, "variant": {"retained": 962, "started": 1000}}),
                ),
                example(
                    "nps_comparison",
                    "Two groups' NPS from bucket counts",
                    json!({"metric": "nps", "control": {"promoters": 200, "passives": 120, "detractors": 80}, "variant": {"promoters": 230, "passives": 110, "detractors": 60}}),
                ),
                example(
                    "refused_retained_exceeds_started",
                    "More retained than started: refused",
                    json!({"control": {"retained": 120, "started": 100}, "variant": {"retained": 50, "started": 100}}),
                ),
            ],
        },
        OperationExamples {
            path: "/kpis",
            answer: answer::<super::kpis::KpisRequest>,
            examples: vec![
                example(
                    "dashboard_with_one_invalid_item",
                    "Four metrics for a dashboard; the last item is invalid and gets a problem",
                    json!({"items": [
                        {"id": "q3_retention", "metric": "crr", "start_customers": 100, "new_customers": 20, "end_customers": 95},
                        {"id": "q3_churn", "metric": "churn", "start_customers": 1000, "lost_customers": 50, "period": "quarter"},
                        {"id": "q3_mrr", "metric": "revenue_churn", "start_mrr": 100000, "churned_mrr": 5000},
                        {"id": "survey", "metric": "nps", "promoters": 200, "passives": 120, "detractors": 80},
                        {"id": "broken", "metric": "crr", "start_customers": 100, "new_customers": 30, "end_customers": 20}
                    ]}),
                ),
                example(
                    "refused_empty_batch",
                    "An empty batch: refused",
                    json!({"items": []}),
                ),
            ],
        },
        OperationExamples {
            path: "/models/bgnbd",
            answer: answer::<super::models::PurchaseModelRequest>,
            examples: vec![
                example(
                    "grouped_summaries",
                    "1,927 customers in 12 distinct summary rows, with predictions over 39 weeks",
                    data(include_str!("example_data/purchase_summaries.json")),
                ),
                example(
                    "cdnow_transactions",
                    "Raw transactions of 40 CDNOW customers, calibration to 1997-09-30, in weeks",
                    data(include_str!("example_data/cdnow_40_transactions.json")),
                ),
                example(
                    "refused_no_repeat_purchases",
                    "No customer bought twice: the model cannot be identified",
                    json!({"customers": [{"frequency": 0, "recency": 0, "T": 30, "count": 50}, {"frequency": 0, "recency": 0, "T": 20, "count": 30}]}),
                ),
            ],
        },
        OperationExamples {
            path: "/models/pareto-nbd",
            answer: answer::<super::models::ParetoNbdRequest>,
            examples: vec![
                example(
                    "grouped_summaries",
                    "1,927 customers in 12 distinct summary rows, with predictions over 39 weeks",
                    data(include_str!("example_data/purchase_summaries.json")),
                ),
                example(
                    "refused_recency_after_t",
                    "A last purchase after the end of calibration: refused",
                    json!({"customers": [{"frequency": 2, "recency": 40, "T": 30}]}),
                ),
            ],
        },
        OperationExamples {
            path: "/models/gamma-gamma",
            answer: answer::<super::models::GammaGammaRequest>,
            examples: vec![
                example(
                    "spend_summaries",
                    "80 repeat buyers and 40 one-time buyers (left out of the fit)",
                    data(include_str!("example_data/spend_summaries.json")),
                ),
                example(
                    "refused_negative_spend",
                    "A negative monetary value: refused",
                    json!({"customers": [{"frequency": 2, "monetary_value": -5}]}),
                ),
            ],
        },
        OperationExamples {
            path: "/models/clv",
            answer: answer::<super::models::ModelClvRequest>,
            examples: vec![
                example(
                    "clv_52_weeks_monthly_discounting",
                    "BG/NBD and Gamma-Gamma, 52 weeks in months of 4.345 weeks, 1 % a month, 30 % margin",
                    data(include_str!("example_data/clv_summaries.json")),
                ),
                example(
                    "refused_bad_tier_cuts",
                    "Tier cuts that do not increase: refused",
                    json!({"customers": [{"frequency": 1, "recency": 3, "T": 10, "monetary_value": 20}], "horizon": 52, "tier_cuts": [0.8, 0.2]}),
                ),
            ],
        },
        OperationExamples {
            path: "/models/sbg",
            answer: answer::<super::models::SbgRequest>,
            examples: vec![
                example(
                    "regular_cohort",
                    "Fader & Hardie's regular cohort, years 0-7, projected 5 years, $100 margin a year at 10 %",
                    json!({"survivors": [1000, 631, 468, 382, 326, 289, 262, 241], "projection_periods": 5, "margin": 100, "discount_rate_pct": 10}),
                ),
                example(
                    "high_end_cohort",
                    "Fader & Hardie's high-end cohort",
                    json!({"survivors": [1000, 869, 743, 653, 593, 551, 517, 491]}),
                ),
                example(
                    "refused_growing_cohort",
                    "A cohort that grows: refused",
                    json!({"survivors": [1000, 800, 900]}),
                ),
            ],
        },
        OperationExamples {
            path: "/series",
            answer: answer::<super::records::SeriesRequest>,
            examples: vec![
                example(
                    "monthly_mrr_series",
                    "Four customers over three months: new, expansion, churn, reactivation, contraction",
                    json!({"period": "month", "events": [
                        {"customer_id": "acme", "date": "2026-01-10", "mrr": 100},
                        {"customer_id": "beta", "date": "2026-01-15", "mrr": 50},
                        {"customer_id": "acme", "date": "2026-02-03", "mrr": 150},
                        {"customer_id": "beta", "date": "2026-02-20", "mrr": 0},
                        {"customer_id": "cogs", "date": "2026-02-11", "mrr": 30},
                        {"customer_id": "beta", "date": "2026-03-05", "mrr": 40},
                        {"customer_id": "cogs", "date": "2026-03-01", "mrr": 20},
                        {"customer_id": "dyna", "date": "2026-03-20", "mrr": 80}
                    ]}),
                ),
                example(
                    "refused_negative_mrr",
                    "A negative MRR: refused",
                    json!({"period": "month", "events": [{"customer_id": "acme", "date": "2026-01-10", "mrr": -5}]}),
                ),
            ],
        },
        OperationExamples {
            path: "/cohorts",
            answer: answer::<super::records::CohortsRequest>,
            examples: vec![
                example(
                    "monthly_order_cohorts",
                    "Orders of five customers over three months, with amounts",
                    json!({"period": "month", "retention": "bounded", "events": [
                        {"customer_id": "ann", "date": "2026-01-05", "amount": 40},
                        {"customer_id": "ann", "date": "2026-02-11", "amount": 25},
                        {"customer_id": "ann", "date": "2026-03-02", "amount": 30},
                        {"customer_id": "bob", "date": "2026-01-20", "amount": 60},
                        {"customer_id": "cay", "date": "2026-01-28", "amount": 15},
                        {"customer_id": "cay", "date": "2026-03-14", "amount": 45},
                        {"customer_id": "dev", "date": "2026-02-02", "amount": 80},
                        {"customer_id": "dev", "date": "2026-02-19", "amount": 20},
                        {"customer_id": "eve", "date": "2026-02-25", "amount": 35},
                        {"customer_id": "eve", "date": "2026-03-30", "amount": 35}
                    ]}),
                ),
                example(
                    "refused_bad_date",
                    "A date that does not exist: refused",
                    json!({"events": [{"customer_id": "ann", "date": "2026-02-30"}]}),
                ),
            ],
        },
        OperationExamples {
            path: "/survival",
            answer: answer::<super::records::SurvivalRequest>,
            examples: vec![
                example(
                    "plans_compared",
                    "Months to churn of monthly and annual plans (observed = false: still active), with a log-rank test",
                    json!({"observations": [
                        {"duration": 1, "observed": true, "group": "monthly"}, {"duration": 2, "observed": true, "group": "monthly"},
                        {"duration": 2, "observed": false, "group": "monthly"}, {"duration": 3, "observed": true, "group": "monthly"},
                        {"duration": 5, "observed": true, "group": "monthly"}, {"duration": 6, "observed": false, "group": "monthly"},
                        {"duration": 4, "observed": true, "group": "annual"}, {"duration": 12, "observed": false, "group": "annual"},
                        {"duration": 12, "observed": true, "group": "annual"}, {"duration": 14, "observed": false, "group": "annual"},
                        {"duration": 18, "observed": false, "group": "annual"}, {"duration": 24, "observed": true, "group": "annual"}
                    ], "horizon": 12}),
                ),
                example(
                    "subscriptions_in_months",
                    "Subscriptions observed on 2026-11-01, in months",
                    json!({"as_of": "2026-11-01", "unit": "month", "subscriptions": [
                        {"start": "2026-01-15", "end": "2026-04-15"}, {"start": "2026-02-01", "end": null},
                        {"start": "2026-03-10", "end": "2026-09-10"}, {"start": "2026-05-20", "end": null},
                        {"start": "2026-06-01", "end": "2026-07-01"}, {"start": "2026-08-12", "end": null}
                    ]}),
                ),
                example(
                    "refused_end_before_start",
                    "A subscription ending before it starts: refused",
                    json!({"as_of": "2026-11-01", "subscriptions": [{"start": "2026-05-01", "end": "2026-04-01"}]}),
                ),
            ],
        },
    ]
}
