//! `POST /crr`: customer retention rate.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::retention::{retention_report, RetentionCounts};
use crate::kpi::KpiResponse;

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
}

impl Compute for CrrRequest {
    type Output = KpiResponse;

    fn compute(self, _state: &AppState) -> Result<KpiResponse, ApiError> {
        let counts = RetentionCounts::new(
            self.start_customers.0,
            self.new_customers.0,
            self.end_customers.0,
        )?;
        Ok(retention_report(&counts))
    }
}

/// Customer retention rate
///
/// `CRR (%) = (E - N) / S × 100`: the share of the customers at the start of a period who
/// are still customers at its end. Answers the rate with its breakdown, the SaaS and
/// e-commerce bands as context, and the churn rate of the same period in `related`.
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
