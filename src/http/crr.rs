//! `POST /crr`: customer retention rate.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::retention::{retention_report, RetentionCounts};
use crate::kpi::{Confidence, KpiResponse};
use serde_json::json;

/// Customer counts of one period.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrrRequest {
    /// Customers at the start of the period (S); greater than zero.
    pub start_customers: Count,
    /// Customers acquired during the period (N); at most `end_customers`.
    pub new_customers: Count,
    /// Customers at the end of the period (E); `end_customers - new_customers` at most `start_customers`.
    pub end_customers: Count,
    /// Level of the rates' Wilson intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl Compute for CrrRequest {
    type Output = KpiResponse;

    fn compute(self, _state: &AppState) -> Result<KpiResponse, ApiError> {
        let counts = RetentionCounts::new(
            self.start_customers.0,
            self.new_customers.0,
            self.end_customers.0,
        )?;
        Ok(retention_report(&counts, Confidence::new(self.confidence)?))
    }
}

/// Customer retention rate
///
/// `CRR (%) = (E - N) / S × 100`: the share of the customers at the start of a period who
/// are still customers at its end. Answers the rate with its breakdown, the SaaS and
/// e-commerce bands as context, and the churn rate of the same period in `related`; each rate
/// with the Wilson score interval of its count at `confidence` (default 0.95; 0.5 to 0.999).
#[utoipa::path(
    post,
    path = "/crr",
    tag = "retention",
    operation_id = "customer_retention_rate",
    request_body(content = CrrRequest, content_type = "application/json"),
    responses((status = 200, description = "The retention rate with its breakdown", body = KpiResponse))
)]
pub async fn crr(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<CrrRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /crr` in the spec, each answered as a request would be.
pub fn crr_examples() -> Examples {
    Examples::of::<CrrRequest>(vec![
        example(
            "counts_retention_75_pct",
            "100 at the start, 20 new, 95 at the end: 75 % retained",
            json!({"start_customers": 100, "new_customers": 20, "end_customers": 95}),
        ),
        example(
            "counts_retention_90_pct",
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
    ])
}
