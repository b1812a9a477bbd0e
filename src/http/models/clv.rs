//! `POST /models/clv`: predicted CLV from a purchase model and Gamma-Gamma.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::input::{CustomerData, UncertaintyRequest};
use super::off_runtime;
use crate::http::error::ApiError;
use crate::http::examples::{data, example, Examples};
use crate::http::{AppState, Compute};
use crate::kpi::Confidence;
use crate::models::clv::{self as core_clv, ClvSettings, ModelClvResponse};
use crate::models::purchase::PurchaseModelName;
use crate::models::uncertainty::Uncertainty;

/// Predicted CLV from a purchase model and Gamma-Gamma.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelClvRequest {
    #[serde(flatten)]
    pub data: CustomerData,
    /// Default `bgnbd`.
    #[serde(default)]
    pub purchase_model: PurchaseModelName,
    /// Horizon in the data's time unit (e.g. 52 weeks).
    #[schema(minimum = 0)]
    pub horizon: f64,
    /// One discounting period in the data's time unit (default 1; 4.345 weeks for months).
    #[schema(minimum = 0)]
    pub period_length: Option<f64>,
    /// Discount rate per period in percent (default 0).
    #[schema(minimum = 0)]
    pub discount_rate_pct: Option<f64>,
    /// Margin on spend in percent (default 100).
    #[schema(minimum = 0, maximum = 100)]
    pub margin_pct: Option<f64>,
    /// Cumulative customer fractions cutting the value ranking into tiers (default
    /// `[0.2, 0.8]`: top 20 %, middle 60 %, bottom 20 %).
    pub tier_cuts: Option<Vec<f64>>,
    /// A customer is at risk below this P(alive) (default 0.3) …
    #[schema(minimum = 0, maximum = 1)]
    pub at_risk_p_alive_below: Option<f64>,
    /// … while their past value (frequency × monetary value) is at least this (default: the
    /// median past value of customers with repeat purchases).
    #[schema(minimum = 0)]
    pub at_risk_min_past_value: Option<f64>,
    /// How the intervals are computed: `{"method": "delta"}` (default) or `{"method": "none"}`.
    pub uncertainty: Option<UncertaintyRequest>,
    /// Level of the intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl Compute for ModelClvRequest {
    type Output = ModelClvResponse;
    fn compute(self, state: &AppState) -> Result<ModelClvResponse, ApiError> {
        let confidence = Confidence::new(self.confidence)?;
        let uncertainty = self
            .uncertainty
            .unwrap_or_default()
            .check("/uncertainty", 0.0, false)?;
        let options = ClvSettings {
            purchase_model: self.purchase_model,
            horizon: self.horizon,
            period_length: self.period_length,
            discount_rate_pct: self.discount_rate_pct,
            margin_pct: self.margin_pct,
            tier_cuts: self.tier_cuts,
            at_risk_p_alive_below: self.at_risk_p_alive_below,
            at_risk_min_past_value: self.at_risk_min_past_value,
            intervals: (uncertainty == Uncertainty::Delta).then_some(confidence),
        }
        .validate()?;
        let rows = self.data.summaries(true)?;
        Ok(core_clv::model_clv(
            &rows,
            &options,
            state.config.max_model_rows,
        )?)
    }
}

/// Predicted customer lifetime value
///
/// Fits a purchase model (BG/NBD or Pareto/NBD) and Gamma-Gamma on the same customers, then
/// `CLV = Σ_k ΔE[purchases in period k] × E[spend] × margin / (1 + d)^k` over the horizon,
/// with the population's value by period; customers ranked and cut into tiers with each tier's
/// share of value; and the customers at risk (P(alive) under a threshold while their past value
/// is high), highest past value first. Each CLV and the total carry an interval by the delta
/// method over both fits' parameters (`confidence`, default 0.95; `uncertainty: {"method": "none"}` leaves
/// them out).
///
/// The rows may come as an Arrow IPC stream or a Parquet file, the other fields then in the
/// query string, as on `/models/bgnbd`.
#[utoipa::path(
    post,
    path = "/models/clv",
    tag = "models",
    operation_id = "model_clv",
    request_body(content((ModelClvRequest = "application/json"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet"))),
    responses((status = 200, description = "CLV per customer, by period, tiers and customers at risk", body = ModelClvResponse))
)]
pub async fn model_clv(
    State(state): State<AppState>,
    request: super::ModelBody<ModelClvRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime(state, "clv", request).await
}

/// The examples of `POST /models/clv` in the spec, each answered as a request would be.
pub fn model_clv_examples() -> Examples {
    Examples::of::<ModelClvRequest>(vec![
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
    ])
}
