//! `POST /models/sbg`: the shifted-beta-geometric model on a cohort's survivor counts.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::input::UncertaintyRequest;
use super::off_runtime;
use crate::http::error::ApiError;
use crate::http::examples::{example, Examples};
use crate::http::extract::Count;
use crate::http::{AppState, Compute};
use crate::kpi::Confidence;
use crate::models::sbg::{sbg_report, SbgResponse};
use crate::models::uncertainty::Uncertainty;

/// A cohort's survivors for the shifted-beta-geometric model.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SbgRequest {
    /// Customers still active at the start of periods 0, 1, 2, … (non-increasing, first > 0,
    /// at least 3 values).
    #[schema(min_items = 3)]
    pub survivors: Vec<f64>,
    /// Periods to project beyond the data (default 5, at most 1000).
    pub projection_periods: Option<Count>,
    /// Margin per period per customer, for the discounted expected lifetime value.
    #[schema(minimum = 0)]
    pub margin: Option<f64>,
    /// Discount rate per period in percent (default 10).
    #[schema(minimum = 0)]
    pub discount_rate_pct: Option<f64>,
    /// How the intervals are computed: `{"method": "delta"}` (default) or `{"method": "none"}`.
    pub uncertainty: Option<UncertaintyRequest>,
    /// Level of the intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl Compute for SbgRequest {
    type Output = SbgResponse;
    fn compute(self, _state: &AppState) -> Result<SbgResponse, ApiError> {
        let confidence = Confidence::new(self.confidence)?;
        let uncertainty = self
            .uncertainty
            .unwrap_or_default()
            .check("/uncertainty", 0.0, false)?;
        Ok(sbg_report(
            &self.survivors,
            self.projection_periods.map(|c| c.0),
            self.discount_rate_pct,
            self.margin,
            (uncertainty == Uncertainty::Delta).then_some(confidence),
        )?)
    }
}

/// Shifted-beta-geometric retention
///
/// Fits the sBG model of contractual retention (Fader & Hardie 2007) to a cohort's survivor
/// counts: α, β with standard errors, fitted and projected survival and retention rates,
/// expected and median lifetime, and the discounted expected lifetime (value, given a margin).
/// Survival, retention rates, the expected and the discounted expected lifetime carry
/// delta-method intervals at `confidence` (default 0.95; `uncertainty: {"method": "none"}`
/// leaves them out).
#[utoipa::path(
    post,
    path = "/models/sbg",
    tag = "models",
    operation_id = "fit_sbg",
    request_body(content = SbgRequest, content_type = "application/json"),
    responses((status = 200, description = "The fit with fitted and projected retention", body = SbgResponse))
)]
pub async fn sbg(
    State(state): State<AppState>,
    request: super::ModelBody<SbgRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime(state, "sbg", request).await
}

/// The examples of `POST /models/sbg` in the spec, each answered as a request would be.
pub fn sbg_examples() -> Examples {
    Examples::of::<SbgRequest>(vec![
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
    ])
}
