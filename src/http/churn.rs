//! `POST /churn`: customer churn rate, with monthly and annual equivalents.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::retention::{churn_report, ChurnCounts, Period, RetentionCounts};
use crate::kpi::{Confidence, InvalidInput, KpiResponse};
use serde_json::json;

/// Customers lost over a period: give `lost_customers`, or `new_customers` and
/// `end_customers` (then lost = start + new - end).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChurnRequest {
    /// Customers at the start of the period (S); greater than zero.
    pub start_customers: Count,
    /// Customers lost during the period (L); at most `start_customers`.
    pub lost_customers: Option<Count>,
    /// Customers acquired during the period (N).
    pub new_customers: Option<Count>,
    /// Customers at the end of the period (E).
    pub end_customers: Option<Count>,
    /// The period's length; adds the monthly and annual equivalents and the SaaS bands.
    pub period: Option<Period>,
    /// Level of the rates' Wilson intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl Compute for ChurnRequest {
    type Output = KpiResponse;

    fn compute(self, _state: &AppState) -> Result<KpiResponse, ApiError> {
        let confidence = Confidence::new(self.confidence)?;
        let start = self.start_customers.0;
        let new = self.new_customers.map(|c| c.0);
        let end = self.end_customers.map(|c| c.0);
        let counts = match (self.lost_customers, new, end) {
            (Some(lost), new, end) => ChurnCounts::from_lost(start, lost.0, new, end)?,
            (None, Some(new), Some(end)) => {
                ChurnCounts::from_counts(RetentionCounts::new(start, new, end)?)
            }
            (None, Some(_), None) => {
                return Err(InvalidInput::new(
                    "/end_customers",
                    "required with new_customers",
                    "new_customers was given without end_customers: give both, or lost_customers",
                )
                .into())
            }
            (None, None, _) => {
                return Err(InvalidInput::new(
                    "/lost_customers",
                    "required unless new_customers and end_customers are given",
                    "give lost_customers, or new_customers and end_customers, to count the customers lost",
                )
                .into())
            }
        };
        Ok(churn_report(&counts, self.period, confidence))
    }
}

/// Customer churn rate
///
/// `churn (%) = L / S × 100`, customers lost over customers at the start of the period (the
/// starting count is the denominator), with the Wilson score interval of L of S at
/// `confidence` (default 0.95) in `interval` and its steps in the breakdown. With `period`, `related` adds the monthly and annual
/// equivalents, compounded as `1 - (1 - churn)^(k_from / k_to)`, and the context lists the
/// SaaS bands.
#[utoipa::path(
    post,
    path = "/churn",
    tag = "retention",
    operation_id = "customer_churn_rate",
    request_body(content = ChurnRequest, content_type = "application/json"),
    responses((status = 200, description = "The churn rate with its breakdown", body = KpiResponse))
)]
pub async fn churn(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<ChurnRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /churn` in the spec, each answered as a request would be.
pub fn churn_examples() -> Examples {
    Examples::of::<ChurnRequest>(vec![
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
            "churn_small_base_90_pct_interval",
            "2 of 25 lost: 8 % churn, and a 90 % Wilson interval that shows how little 25 customers tell",
            json!({"start_customers": 25, "lost_customers": 2, "confidence": 0.9}),
        ),
        example(
            "refused_confidence_out_of_range",
            "A confidence given in percent (95) instead of as a fraction: refused",
            json!({"start_customers": 25, "lost_customers": 2, "confidence": 95}),
        ),
        example(
            "refused_lost_exceeds_start",
            "More customers lost than there were at the start: refused",
            json!({"start_customers": 40, "lost_customers": 50}),
        ),
    ])
}
