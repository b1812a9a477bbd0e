//! `POST /models/bgnbd`, `/models/mbgnbd`, `/models/pareto-nbd` and `/models/bgbb`: a
//! purchase model fitted on customer summaries or transactions (or scored with the caller's
//! parameters), with predictions on request.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::input::{CustomerData, UncertaintyRequest};
use super::{off_runtime_as, Chart};
use crate::http::charts::{self, Format};
use crate::http::error::ApiError;
use crate::http::examples::{data, example, Examples};
use crate::http::extract::Count;
use crate::http::{AppState, Compute};
use crate::input;
use crate::kpi::{Confidence, InvalidInput};
use crate::models::bgbb::MAX_PERIODS;
use crate::models::purchase::{
    p_alive_grid, purchase_model, purchase_model_report, ParameterSource, PredictSettings,
    PurchaseModelName, PurchaseModelResponse,
};
use crate::models::rfm::{CustomerSummary, TimeUnit};

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
    /// Adds P(exactly n purchases in the horizon) for n = 0 … k: for a new customer
    /// (`population_purchase_counts`) and for each customer. k from 0 to 100, with customers ×
    /// (k + 1)² at most 1,000,000.
    #[schema(minimum = 0, maximum = 100, example = 5)]
    pub purchase_counts: Option<f64>,
    /// Adds each customer's discounted expected residual transactions (DERT) at this discount
    /// rate in percent per unit of time (Pareto/NBD, as the continuous rate ln(1 + d)) or per
    /// period (BG/BB); above 0, at most 1,000. BG/NBD and MBG/NBD have no closed form: 422.
    #[schema(exclusive_minimum = 0, maximum = 1000, example = 0.27)]
    pub discount_rate_pct: Option<f64>,
}

impl PredictRequest {
    /// The horizon, the intervals' method and level, checked (`customers`: how many the
    /// bootstrap would simulate per draw).
    pub fn settings(self, customers: f64, rows: usize) -> Result<PredictSettings, InvalidInput> {
        let horizon = input::horizon(self.horizon, "/predict/horizon")?;
        let purchase_counts = PredictSettings::check_purchase_counts(
            self.purchase_counts,
            rows,
            "/predict/purchase_counts",
        )?;
        let confidence =
            Confidence::new(self.confidence).map_err(|e| e.nested_under("/predict"))?;
        let uncertainty =
            self.uncertainty
                .unwrap_or_default()
                .check("/predict/uncertainty", customers, true)?;
        let discount = match self.discount_rate_pct {
            None => None,
            Some(pct) if pct > 0.0 && pct <= 1000.0 => Some(pct / 100.0),
            Some(pct) => {
                return Err(InvalidInput::new(
                    "/predict/discount_rate_pct",
                    "above 0, at most 1000",
                    format!("discount_rate_pct {pct}: give the discount rate in percent per unit of time (or per period), above 0"),
                ))
            }
        };
        Ok(PredictSettings {
            horizon,
            uncertainty,
            confidence,
            purchase_counts,
            discount,
        })
    }
}

/// A parameter given for scoring: a number, or the `{"estimate": …, "std_error": …}` object an
/// earlier answer carried (only the estimate is read).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ParameterValue {
    Number(f64),
    Estimate {
        estimate: f64,
        #[allow(dead_code)]
        std_error: Option<f64>,
    },
}

/// The parameters of an earlier fit, by name (`{"r": 0.243, "alpha": 4.41, …}` or the
/// answer's `parameters` object as it came): the model scores the customers with them instead
/// of fitting.
pub type GivenParameters = BTreeMap<String, ParameterValue>;

/// The given parameters of `model` in the order of `names`, each checked positive and finite.
fn given_parameters(
    model: &str,
    names: &[&str],
    given: GivenParameters,
) -> Result<Vec<f64>, InvalidInput> {
    if let Some(extra) = given.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(InvalidInput::new(
            format!("/parameters/{extra}"),
            format!("not a parameter of {}", model),
            format!(
                "{extra} is not a parameter of {}: give {}",
                model,
                names.join(", ")
            ),
        ));
    }
    names
        .iter()
        .map(|n| {
            let pointer = format!("/parameters/{n}");
            let value = match given.get(*n) {
                Some(ParameterValue::Number(v)) => *v,
                Some(ParameterValue::Estimate { estimate, .. }) => *estimate,
                None => {
                    return Err(InvalidInput::new(
                        pointer,
                        "required",
                        format!("{n} is missing: {} needs {}", model, names.join(", ")),
                    ))
                }
            };
            if !(value.is_finite() && value > 0.0 && value < 1e300) {
                return Err(InvalidInput::new(
                    pointer,
                    "must be greater than 0",
                    format!(
                        "{n} {value}: every parameter of {} is a positive number",
                        model
                    ),
                ));
            }
            Ok(value)
        })
        .collect()
}

/// Where the parameters come from: the fit (with its penalty), or the caller, who then must
/// ask for predictions and give no penalty.
pub fn parameter_source(
    name: PurchaseModelName,
    parameters: Option<GivenParameters>,
    penalty: Option<f64>,
    predicting: bool,
) -> Result<ParameterSource, InvalidInput> {
    model_parameter_source(
        (name.as_str(), name.parameter_names()),
        parameters,
        penalty,
        predicting,
    )
}

/// [`parameter_source`] for any model, by its name and parameter names (Gamma-Gamma too).
pub fn model_parameter_source(
    (model, names): (&str, &[&str]),
    parameters: Option<GivenParameters>,
    penalty: Option<f64>,
    predicting: bool,
) -> Result<ParameterSource, InvalidInput> {
    match parameters {
        None => Ok(ParameterSource::Fit {
            penalty: input::penalty(penalty)?,
        }),
        Some(given) => {
            if penalty.is_some() {
                return Err(InvalidInput::new(
                    "/penalty",
                    "not with parameters",
                    "penalty shapes a fit; with given parameters nothing is fitted: leave penalty out",
                ));
            }
            if !predicting {
                return Err(InvalidInput::new(
                    "/predict",
                    "required with parameters",
                    "with given parameters the answer is the predictions: give predict (at least its horizon)",
                ));
            }
            Ok(ParameterSource::Given(given_parameters(
                model, names, given,
            )?))
        }
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
    /// Scores the customers with these parameters (from an earlier answer) instead of
    /// fitting: the same predictions the fit would give them. Needs `predict`.
    #[schema(value_type = Option<std::collections::HashMap<String, f64>>, example = json!({"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}))]
    pub parameters: Option<GivenParameters>,
}

/// The same body as `/models/bgnbd`, for Pareto/NBD.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct ParetoNbdRequest(pub PurchaseModelRequest);

/// The same body as `/models/bgnbd`, for MBG/NBD.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct MbgNbdRequest(pub PurchaseModelRequest);

/// One customer's BG/BB summary: purchases in periods 1 … n after the first.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BgbbCustomerRow {
    /// The caller's id, echoed in predictions.
    pub id: Option<String>,
    /// Periods with a purchase, x (a whole number, at most `recency`).
    #[schema(minimum = 0)]
    pub frequency: f64,
    /// The last period with a purchase, t_x (0 when frequency is 0; at most `n_periods`).
    #[schema(minimum = 0)]
    pub recency: f64,
    /// Periods observed, n (a whole number from 1 to 1,000).
    #[schema(minimum = 1, maximum = 1000)]
    pub n_periods: f64,
    /// How many identical customers this row stands for (default 1).
    pub count: Option<Count>,
}

/// BG/BB on per-customer (frequency, recency, n_periods) rows.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BgbbRequest {
    pub customers: Vec<BgbbCustomerRow>,
    /// Adds per-customer P(alive) and expected purchases over the next `horizon` periods (a
    /// whole number), and the population curve.
    pub predict: Option<PredictRequest>,
    /// L2 penalty on the parameters (lifetimes' `penalizer_coef`), 0 by default.
    #[schema(minimum = 0)]
    pub penalty: Option<f64>,
    /// Scores the customers with these parameters (α, β, γ, δ from an earlier answer)
    /// instead of fitting. Needs `predict`.
    #[schema(value_type = Option<std::collections::HashMap<String, f64>>, example = json!({"alpha": 1.2035, "beta": 0.7497, "gamma": 0.6567, "delta": 2.7834}))]
    pub parameters: Option<GivenParameters>,
}

/// The BG/BB rows checked: whole numbers with 0 ≤ x ≤ t_x ≤ n ≤ 1,000 and t_x = 0 when x = 0.
fn bgbb_rows(rows: Vec<BgbbCustomerRow>) -> Result<Vec<CustomerSummary>, InvalidInput> {
    if rows.is_empty() {
        return Err(InvalidInput::new(
            "/customers",
            "must not be empty",
            "no customer to fit: customers is empty",
        ));
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, c)| {
            let pointer = format!("/customers/{i}");
            let whole = |v: f64| v.is_finite() && v >= 0.0 && v.fract() == 0.0;
            if !(whole(c.n_periods) && (1.0..=MAX_PERIODS).contains(&c.n_periods)) {
                return Err(InvalidInput::new(
                    format!("{pointer}/n_periods"),
                    "a whole number from 1 to 1,000",
                    format!("{pointer}: n_periods {} is not a number of periods from 1 to 1,000", c.n_periods),
                ));
            }
            if !whole(c.recency) {
                return Err(InvalidInput::new(
                    format!("{pointer}/recency"),
                    "a whole number of periods",
                    format!("{pointer}: recency {} is not a period number", c.recency),
                ));
            }
            if whole(c.frequency) && c.frequency > c.recency {
                return Err(InvalidInput::new(
                    format!("{pointer}/frequency"),
                    "at most recency",
                    format!("{pointer}: {} purchases cannot fit in periods 1 … {} (one purchase per period at most)", c.frequency, c.recency),
                ));
            }
            CustomerSummary::new(
                &pointer,
                c.id,
                c.frequency,
                Some(c.recency),
                Some(c.n_periods),
                None,
                c.count.map_or(1, |n| n.0) as f64,
            )
        })
        .collect()
}

type Prepared = (
    Vec<CustomerSummary>,
    ParameterSource,
    Option<PredictSettings>,
);

impl BgbbRequest {
    /// The rows, where the parameters come from and the predictions' settings, checked.
    fn prepare(self) -> Result<Prepared, ApiError> {
        let name = PurchaseModelName::Bgbb;
        let rows = bgbb_rows(self.customers)?;
        let source = parameter_source(name, self.parameters, self.penalty, self.predict.is_some())?;
        let customers: f64 = rows.iter().map(|c| c.count).sum();
        let predict = self
            .predict
            .map(|p| p.settings(customers, rows.len()))
            .transpose()?;
        if let Some(settings) = &predict {
            let h = settings.horizon;
            if h.fract() != 0.0 || h > MAX_PERIODS {
                return Err(InvalidInput::new(
                    "/predict/horizon",
                    "a whole number of periods, at most 1,000",
                    format!("horizon {h}: BG/BB predicts whole periods; give 1 to 1,000"),
                )
                .into());
            }
        }
        Ok((rows, source, predict))
    }

    fn fit(self, max_rows: usize) -> Result<PurchaseModelResponse, ApiError> {
        let (rows, source, predict) = self.prepare()?;
        Ok(purchase_model_report(
            PurchaseModelName::Bgbb,
            &rows,
            &source,
            predict,
            max_rows,
        )?)
    }
}

/// The P(alive) chart of a purchase model over its customers (the fit, or the given
/// parameters).
fn p_alive_svg(
    name: PurchaseModelName,
    (rows, source, _): Prepared,
    unit: &str,
    max_rows: usize,
) -> Result<String, ApiError> {
    let model = purchase_model(name, &rows, &source, max_rows)?;
    let grid = p_alive_grid(model.model.as_ref(), &rows, name == PurchaseModelName::Bgbb);
    charts::p_alive_chart(name.label(), &grid, unit)
}

impl Chart for BgbbRequest {
    fn chart(self, state: &AppState) -> Result<String, ApiError> {
        let prepared = self.prepare()?;
        p_alive_svg(
            PurchaseModelName::Bgbb,
            prepared,
            "periods",
            state.config.max_model_rows,
        )
    }
}

impl Compute for BgbbRequest {
    type Output = PurchaseModelResponse;
    fn compute(self, state: &AppState) -> Result<PurchaseModelResponse, ApiError> {
        self.fit(state.config.max_model_rows)
    }
}

impl PurchaseModelRequest {
    /// The rows, where the parameters come from and the predictions' settings, checked; and
    /// the data's time unit (transactions only).
    fn prepare(self, name: PurchaseModelName) -> Result<(Prepared, Option<TimeUnit>), ApiError> {
        let unit = match self.data.transactions {
            Some(_) => Some(self.data.unit.unwrap_or(TimeUnit::Week)),
            None => self.data.unit,
        };
        let rows = self.data.summaries(true)?;
        let source = parameter_source(name, self.parameters, self.penalty, self.predict.is_some())?;
        let customers: f64 = rows.iter().map(|c| c.count).sum();
        let predict = self
            .predict
            .map(|p| p.settings(customers, rows.len()))
            .transpose()?;
        Ok(((rows, source, predict), unit))
    }

    fn fit(
        self,
        name: PurchaseModelName,
        max_rows: usize,
    ) -> Result<PurchaseModelResponse, ApiError> {
        let ((rows, source, predict), _) = self.prepare(name)?;
        Ok(purchase_model_report(
            name, &rows, &source, predict, max_rows,
        )?)
    }

    fn chart(self, name: PurchaseModelName, max_rows: usize) -> Result<String, ApiError> {
        let (prepared, unit) = self.prepare(name)?;
        let unit = unit.map_or("time units", TimeUnit::plural);
        p_alive_svg(name, prepared, unit, max_rows)
    }
}

impl Chart for PurchaseModelRequest {
    fn chart(self, state: &AppState) -> Result<String, ApiError> {
        PurchaseModelRequest::chart(self, PurchaseModelName::Bgnbd, state.config.max_model_rows)
    }
}

impl Chart for MbgNbdRequest {
    fn chart(self, state: &AppState) -> Result<String, ApiError> {
        self.0
            .chart(PurchaseModelName::Mbgnbd, state.config.max_model_rows)
    }
}

impl Chart for ParetoNbdRequest {
    fn chart(self, state: &AppState) -> Result<String, ApiError> {
        self.0
            .chart(PurchaseModelName::ParetoNbd, state.config.max_model_rows)
    }
}

impl Compute for PurchaseModelRequest {
    type Output = PurchaseModelResponse;
    fn compute(self, state: &AppState) -> Result<PurchaseModelResponse, ApiError> {
        self.fit(PurchaseModelName::Bgnbd, state.config.max_model_rows)
    }
}

impl Compute for MbgNbdRequest {
    type Output = PurchaseModelResponse;
    fn compute(self, state: &AppState) -> Result<PurchaseModelResponse, ApiError> {
        self.0
            .fit(PurchaseModelName::Mbgnbd, state.config.max_model_rows)
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
/// bootstrap (reproducible from its seed), or none with `{"method": "none"}`. Each customer's
/// `p_no_purchase` (no purchase within the horizon), and with `predict.purchase_counts: k`
/// P(exactly n purchases) for n = 0 … k per customer and for a new customer. With
/// `parameters` (an earlier answer's), the customers are scored without a fit: the same
/// predictions the fit would give them. A fit that does not converge answers 422. The
/// customers or transactions may come as an Arrow IPC stream or a Parquet file, the other
/// fields then in the query string, dotted for nested ones (`calibration_end=1997-09-30&unit=week&predict.horizon=39`).
#[utoipa::path(
    post,
    path = "/models/bgnbd",
    tag = "models",
    operation_id = "fit_bgnbd",
    request_body(content((PurchaseModelRequest = "application/json"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet"))),
    params(("format" = Option<Format>, Query, description = "svg: the fitted model's P(alive) by frequency and recency as a chart (also Accept: image/svg+xml)")),
    responses((status = 200, description = "The fit and the predictions asked for, or with format=svg P(alive) by frequency and recency", content((PurchaseModelResponse = "application/json"), (String = "image/svg+xml"))))
)]
pub async fn bgnbd(
    State(state): State<AppState>,
    format: Format,
    request: super::ModelBody<PurchaseModelRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime_as(state, "bgnbd", request, format).await
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
    request_body(content((PurchaseModelRequest = "application/json"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet"))),
    params(("format" = Option<Format>, Query, description = "svg: the fitted model's P(alive) by frequency and recency as a chart (also Accept: image/svg+xml)")),
    responses((status = 200, description = "The fit and the predictions asked for, or with format=svg P(alive) by frequency and recency", content((PurchaseModelResponse = "application/json"), (String = "image/svg+xml"))))
)]
pub async fn pareto_nbd(
    State(state): State<AppState>,
    format: Format,
    request: super::ModelBody<ParetoNbdRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime_as(state, "pareto_nbd", request, format).await
}

/// MBG/NBD fit and predictions
///
/// As `/models/bgnbd`, for the modified BG/NBD (Batislam, Denizel & Filiztekin 2007): the
/// customer may also leave right after the first purchase, so that a customer with no repeat
/// purchase is not certainly alive. Parameters r, α, a, b.
#[utoipa::path(
    post,
    path = "/models/mbgnbd",
    tag = "models",
    operation_id = "fit_mbgnbd",
    request_body(content((PurchaseModelRequest = "application/json"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet"))),
    params(("format" = Option<Format>, Query, description = "svg: the fitted model's P(alive) by frequency and recency as a chart (also Accept: image/svg+xml)")),
    responses((status = 200, description = "The fit and the predictions asked for, or with format=svg P(alive) by frequency and recency", content((PurchaseModelResponse = "application/json"), (String = "image/svg+xml"))))
)]
pub async fn mbgnbd(
    State(state): State<AppState>,
    format: Format,
    request: super::ModelBody<MbgNbdRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime_as(state, "mbgnbd", request, format).await
}

/// BG/BB fit and predictions (discrete time)
///
/// Fits BG/BB (Fader, Hardie & Shang 2010) for one chance to buy per period — yearly
/// donations, monthly renewals without commitment: per customer `frequency` (periods with a
/// purchase), `recency` (the last such period) and `n_periods` (periods observed), with
/// `count` for identical rows. Parameters α, β (purchase probability ~ Beta(α, β)) and γ, δ
/// (dropout probability ~ Beta(γ, δ)) with standard errors. With `predict` (horizon in whole
/// periods): P(alive through period n), expected purchases in the next periods, P(no purchase),
/// the population curve, and with `purchase_counts` the purchase-count probabilities; intervals
/// as for `/models/bgnbd`. `parameters` scores without a fit.
#[utoipa::path(
    post,
    path = "/models/bgbb",
    tag = "models",
    operation_id = "fit_bgbb",
    request_body(content((BgbbRequest = "application/json"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet"))),
    params(("format" = Option<Format>, Query, description = "svg: the fitted model's P(alive) by frequency and recency as a chart (also Accept: image/svg+xml)")),
    responses((status = 200, description = "The fit and the predictions asked for, or with format=svg P(alive) by frequency and recency", content((PurchaseModelResponse = "application/json"), (String = "image/svg+xml"))))
)]
pub async fn bgbb(
    State(state): State<AppState>,
    format: Format,
    request: super::ModelBody<BgbbRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime_as(state, "bgbb", request, format).await
}

/// The examples of `POST /models/mbgnbd` in the spec, each answered as a request would be.
pub fn mbgnbd_examples() -> Examples {
    Examples::of::<MbgNbdRequest>(vec![
        example(
            "grouped_summaries",
            "1,927 customers in 12 distinct summary rows, with predictions over 39 weeks and the chances of 0 … 3 purchases",
            data(include_str!("example_data/purchase_summaries_counts.json")),
        ),
        example(
            "refused_parameter_missing",
            "Scoring with parameters that lack b: refused, naming it",
            json!({"customers": [{"frequency": 2, "recency": 30, "T": 38}], "parameters": {"r": 0.5, "alpha": 6.2, "a": 0.9}, "predict": {"horizon": 39}}),
        ),
    ])
}

/// The examples of `POST /models/bgbb` in the spec, each answered as a request would be.
pub fn bgbb_examples() -> Examples {
    Examples::of::<BgbbRequest>(vec![
        example(
            "donations",
            "The 1995 donor cohort of Fader, Hardie & Shang (2010): 11,104 donors in 22 rows, six yearly chances to give, predictions over the next 5 years and DERT at 10 % a year",
            data(include_str!("example_data/donations.json")),
        ),
        example(
            "scored_with_parameters",
            "Three donors scored with the parameters of an earlier fit, without refitting",
            json!({"customers": [{"id": "d1", "frequency": 6, "recency": 6, "n_periods": 6}, {"id": "d2", "frequency": 3, "recency": 4, "n_periods": 6}, {"id": "d3", "frequency": 0, "recency": 0, "n_periods": 6}], "parameters": {"alpha": 1.2035, "beta": 0.7497, "gamma": 0.6567, "delta": 2.7834}, "predict": {"horizon": 5, "uncertainty": {"method": "none"}}}),
        ),
        example(
            "refused_more_purchases_than_periods",
            "Four purchases by period 3: refused, one chance per period",
            json!({"customers": [{"frequency": 4, "recency": 3, "n_periods": 6}]}),
        ),
    ])
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
