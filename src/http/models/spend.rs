//! `POST /models/gamma-gamma`: the spend model on customer summaries or transactions.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::input::{CustomerData, UncertaintyRequest};
use super::off_runtime;
use super::purchase::{model_parameter_source, GivenParameters};
use crate::http::error::ApiError;
use crate::http::examples::{data, example, Examples};
use crate::http::{AppState, Compute};
use crate::kpi::Confidence;
use crate::models::spend::{gamma_gamma_report, GammaGammaResponse, GAMMA_GAMMA_PARAMETERS};
use crate::models::uncertainty::Uncertainty;

/// Gamma-Gamma on customer summaries or transactions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GammaGammaRequest {
    #[serde(flatten)]
    pub data: CustomerData,
    /// L2 penalty on the parameters, 0 by default (parity with lifetimes only).
    #[schema(minimum = 0)]
    pub penalty: Option<f64>,
    /// How the intervals are computed: `{"method": "delta"}` (default) or `{"method": "none"}`.
    pub uncertainty: Option<UncertaintyRequest>,
    /// Level of the intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
    /// Scores the customers with these parameters (p, q, γ from an earlier answer; q > 1)
    /// instead of fitting: the expected spend the fit would give them.
    #[schema(value_type = Option<std::collections::HashMap<String, f64>>, example = json!({"p": 6.25, "q": 3.74, "gamma": 15.44}))]
    pub parameters: Option<GivenParameters>,
}

impl Compute for GammaGammaRequest {
    type Output = GammaGammaResponse;
    fn compute(self, _state: &AppState) -> Result<GammaGammaResponse, ApiError> {
        let rows = self.data.summaries(false)?;
        let confidence = Confidence::new(self.confidence)?;
        let uncertainty = self
            .uncertainty
            .unwrap_or_default()
            .check("/uncertainty", 0.0, false)?;
        let intervals = (uncertainty == Uncertainty::Delta).then_some(confidence);
        let source = model_parameter_source(
            ("gamma_gamma", &GAMMA_GAMMA_PARAMETERS),
            self.parameters,
            self.penalty,
            true,
        )?;
        Ok(gamma_gamma_report(&rows, &source, intervals)?)
    }
}

/// Gamma-Gamma spend model
///
/// Fits the Gamma-Gamma model of transaction values (Fader, Hardie & Lee 2005, "RFM and CLV")
/// on customers with at least one repeat purchase: p, q, γ with standard errors, and each
/// customer's expected spend. Customers with no repeat purchase or a zero amount are left out
/// of the fit and said so. The frequency–monetary correlation checks the model's assumption.
/// Each expected spend carries its interval by the delta method from the fit's covariance
/// (`confidence`, default 0.95; `uncertainty: {"method": "none"}` leaves them out). With
/// `parameters` (p, q, γ of an earlier answer) the customers are scored without a fit.
///
/// The rows may come as an Arrow IPC stream or a Parquet file, the other fields then in the
/// query string, as on `/models/bgnbd`.
#[utoipa::path(
    post,
    path = "/models/gamma-gamma",
    tag = "models",
    operation_id = "fit_gamma_gamma",
    request_body(content((GammaGammaRequest = "application/json"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet"))),
    responses((status = 200, description = "The fit and each customer's expected spend", body = GammaGammaResponse))
)]
pub async fn gamma_gamma(
    State(state): State<AppState>,
    request: super::ModelBody<GammaGammaRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime(state, "gamma_gamma", request).await
}

/// The examples of `POST /models/gamma-gamma` in the spec, each answered as a request would be.
pub fn gamma_gamma_examples() -> Examples {
    Examples::of::<GammaGammaRequest>(vec![
        example(
            "customer_spend_summaries",
            "80 repeat buyers and 40 one-time buyers (left out of the fit)",
            data(include_str!("example_data/spend_summaries.json")),
        ),
        example(
            "scored_with_parameters",
            "Two customers' expected spend at the published CDNOW parameters, without a fit",
            json!({"customers": [{"id": "a", "frequency": 2, "monetary_value": 35.5}, {"id": "b", "frequency": 0, "monetary_value": 0}], "parameters": {"p": 6.25, "q": 3.74, "gamma": 15.44}}),
        ),
        example(
            "refused_negative_spend",
            "A negative monetary value: refused",
            json!({"customers": [{"frequency": 2, "monetary_value": -5}]}),
        ),
    ])
}
