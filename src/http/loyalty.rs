//! `POST /loyalty`: loyalty-programme and education participation, repeat purchase rate.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::engagement::{loyalty_report, LoyaltyReport};
use crate::kpi::Confidence;

/// Loyalty inputs; each metric is computed when its inputs are given, left out otherwise.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoyaltyRequest {
    /// Customers in all (C): the base of the two participation rates.
    pub customers: Option<Count>,
    /// Active loyalty-programme members (M).
    pub loyalty_members: Option<Count>,
    /// Customers taking part in education or training (T).
    pub customers_in_training: Option<Count>,
    /// Customers with at least one purchase (B).
    pub purchasing_customers: Option<Count>,
    /// Customers with two or more purchases (R).
    pub repeat_customers: Option<Count>,
    /// Level of the rates' Wilson intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl Compute for LoyaltyRequest {
    type Output = LoyaltyReport;

    fn compute(self, _state: &AppState) -> Result<LoyaltyReport, ApiError> {
        let count = |c: Option<Count>| c.map(|c| c.0);
        Ok(loyalty_report(
            count(self.customers),
            count(self.loyalty_members),
            count(self.customers_in_training),
            count(self.purchasing_customers),
            count(self.repeat_customers),
            Confidence::new(self.confidence)?,
        )?)
    }
}

/// Loyalty and participation rates
///
/// Loyalty-programme participation `M / C × 100`, education participation `T / C × 100` and
/// repeat purchase rate `R / B × 100`, each with its breakdown; a metric whose inputs are
/// omitted is left out. Each rate carries the Wilson score interval of its count at
/// `confidence` (default 0.95).
#[utoipa::path(
    post,
    path = "/loyalty",
    tag = "loyalty",
    operation_id = "loyalty_rates",
    request_body(content = LoyaltyRequest, content_type = "application/json"),
    responses((status = 200, description = "The rates the inputs allow", body = LoyaltyReport))
)]
pub async fn loyalty(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<LoyaltyRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /loyalty` in the spec, each answered as a request would be.
pub fn loyalty_examples() -> Examples {
    Examples::of::<LoyaltyRequest>(vec![
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
    ])
}
