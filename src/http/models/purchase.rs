//! `POST /models/bgnbd` and `/models/pareto-nbd`: a purchase model fitted on customer
//! summaries or transactions, with predictions on request.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::input::{CustomerData, UncertaintyRequest};
use super::off_runtime;
use crate::http::error::ApiError;
use crate::http::examples::{data, example, Examples};
use crate::http::extract::ValidJson;
use crate::http::{AppState, Compute};
use crate::input;
use crate::kpi::{Confidence, InvalidInput};
use crate::models::purchase::{
    purchase_model_report, PredictSettings, PurchaseModelName, PurchaseModelResponse,
};

/// What to predict after the fit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// Prediction horizon after each customer's T, in the data's time unit (e.g. 39 weeks).
    #[schema(minimum = 0)]
    pub horizon: f64,
    /// How every prediction's interval is computed: the delta method by default,
    /// `{"method": "bootstrap", "draws": 200, "seed": 0}` for the parametric bootstrap, or
    /// `{"method": "none"}`.
    pub uncertainty: Option<UncertaintyRequest>,
    /// Level of the intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl PredictRequest {
    /// The horizon, the intervals' method and level, checked (`customers`: how many the
    /// bootstrap would simulate per draw).
    pub fn settings(self, customers: f64) -> Result<PredictSettings, InvalidInput> {
        let horizon = input::horizon(self.horizon, "/predict/horizon")?;
        let confidence =
            Confidence::new(self.confidence).map_err(|e| e.nested_under("/predict"))?;
        let uncertainty =
            self.uncertainty
                .unwrap_or_default()
                .check("/predict/uncertainty", customers, true)?;
        Ok(PredictSettings {
            horizon,
            uncertainty,
            confidence,
        })
    }
}

/// BG/NBD or Pareto/NBD on customer summaries or transactions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseModelRequest {
    #[serde(flatten)]
    pub data: CustomerData,
    /// Adds per-customer P(alive) and expected purchases, and the population curve.
    pub predict: Option<PredictRequest>,
    /// L2 penalty on the parameters (lifetimes' `penalizer_coef`), 0 by default; for parity
    /// only: the unpenalised fit is the maximum-likelihood one.
    #[schema(minimum = 0)]
    pub penalty: Option<f64>,
}

/// The same body as `/models/bgnbd`, for Pareto/NBD.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct ParetoNbdRequest(pub PurchaseModelRequest);

impl PurchaseModelRequest {
    fn fit(
        self,
        name: PurchaseModelName,
        max_rows: usize,
    ) -> Result<PurchaseModelResponse, ApiError> {
        let rows = self.data.summaries(true)?;
        let penalty = input::penalty(self.penalty)?;
        let customers: f64 = rows.iter().map(|c| c.count).sum();
        let predict = self.predict.map(|p| p.settings(customers)).transpose()?;
        Ok(purchase_model_report(
            name, &rows, penalty, predict, max_rows,
        )?)
    }
}

impl Compute for PurchaseModelRequest {
    type Output = PurchaseModelResponse;
    fn compute(self, state: &AppState) -> Result<PurchaseModelResponse, ApiError> {
        self.fit(PurchaseModelName::Bgnbd, state.config.max_model_rows)
    }
}

impl Compute for ParetoNbdRequest {
    type Output = PurchaseModelResponse;
    fn compute(self, state: &AppState) -> Result<PurchaseModelResponse, ApiError> {
        self.0
            .fit(PurchaseModelName::ParetoNbd, state.config.max_model_rows)
    }
}

/// BG/NBD fit and predictions
///
/// Fits BG/NBD (Fader, Hardie & Lee 2005) by maximum likelihood on customer summaries
/// (`frequency`, `recency`, `T`, optional `count`) or on raw transactions with a calibration
/// end: parameters r, α, a, b with standard errors, the full log-likelihood, convergence.
/// With `predict`, each customer's P(alive) and expected purchases over the horizon, and the
/// population's expected cumulative purchases, each with its interval (`predict.confidence`,
/// default 0.95): by the delta method from the fit's covariance, or with
/// `predict.uncertainty: {"method": "bootstrap", "draws": N, "seed": S}` by the parametric
/// bootstrap (reproducible from its seed), or none with `{"method": "none"}`. A fit that does not converge answers 422.
#[utoipa::path(
    post,
    path = "/models/bgnbd",
    tag = "models",
    operation_id = "fit_bgnbd",
    request_body(content = PurchaseModelRequest, content_type = "application/json"),
    responses((status = 200, description = "The fit and the predictions asked for", body = PurchaseModelResponse))
)]
pub async fn bgnbd(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<PurchaseModelRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime(state, "bgnbd", request).await
}

/// Pareto/NBD fit and predictions
///
/// As `/models/bgnbd`, for the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987):
/// parameters r, α, s, β. Its likelihood uses the Gauss hypergeometric function, summed in log
/// space.
#[utoipa::path(
    post,
    path = "/models/pareto-nbd",
    tag = "models",
    operation_id = "fit_pareto_nbd",
    request_body(content = PurchaseModelRequest, content_type = "application/json"),
    responses((status = 200, description = "The fit and the predictions asked for", body = PurchaseModelResponse))
)]
pub async fn pareto_nbd(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<ParetoNbdRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime(state, "pareto_nbd", request).await
}

/// The examples of `POST /models/bgnbd` in the spec, each answered as a request would be.
pub fn bgnbd_examples() -> Examples {
    Examples::of::<PurchaseModelRequest>(vec![
        example(
            "grouped_summaries",
            "1,927 customers in 12 distinct summary rows, with predictions over 39 weeks",
            data(include_str!("example_data/purchase_summaries.json")),
        ),
        example(
            "grouped_summaries_bootstrap",
            "The same customers, with prediction intervals from a parametric bootstrap of 50 refits (seed 1)",
            data(include_str!("example_data/purchase_summaries_bootstrap.json")),
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
    ])
}

/// The examples of `POST /models/pareto-nbd` in the spec, each answered as a request would be.
pub fn pareto_nbd_examples() -> Examples {
    Examples::of::<ParetoNbdRequest>(vec![
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
    ])
}
