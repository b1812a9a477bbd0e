//! `POST /models/bgnbd`, `/models/pareto-nbd`, `/models/gamma-gamma`, `/models/clv` and
//! `/models/sbg`: likelihood models fitted on the caller's data, off the async runtime.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{data, example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::InvalidInput;
use crate::models::fit::{Direction, FitOutcome, Verdict};
use crate::models::rfm::{
    parse_date, summarise, CustomerSummary, GroupedRfm, TimeUnit, Transaction,
};
use crate::models::value::{customer_value, tiers, PurchasePredictor, ValuationTerms};
use crate::models::{bgnbd, gamma_gamma, pareto_nbd, sbg};
use serde_json::json;

/// Most points of a population curve or periods of a CLV breakdown.
const MAX_CURVE_POINTS: f64 = 1000.0;

/// One customer's summary.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRow {
    /// The caller's id, echoed in predictions.
    pub id: Option<String>,
    /// Repeat purchases x (a whole number; the first purchase does not count).
    #[schema(minimum = 0)]
    pub frequency: f64,
    /// Time from the first to the last purchase, t_x (0 when frequency is 0).
    #[schema(minimum = 0)]
    pub recency: Option<f64>,
    /// Time from the first purchase to the end of calibration, T.
    #[serde(rename = "T")]
    #[schema(minimum = 0)]
    pub t: Option<f64>,
    /// Mean amount of the repeat purchases.
    #[schema(minimum = 0)]
    pub monetary_value: Option<f64>,
    /// How many identical customers this row stands for (default 1).
    pub count: Option<Count>,
}

/// One dated purchase.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionRow {
    pub customer_id: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The purchase's amount (needed for spend models).
    #[schema(minimum = 0)]
    pub amount: Option<f64>,
}

/// Time unit of recency and T when the service builds the summary from transactions.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnitName {
    Day,
    Week,
}

/// The customers' data: `customers` (summaries), or `transactions` with `calibration_end`
/// (inclusive) and `unit`, from which the service builds the summaries (purchases on one day
/// count once; x = purchase days − 1; t_x, T in `unit`s from the first purchase).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CustomerData {
    pub customers: Option<Vec<CustomerRow>>,
    pub transactions: Option<Vec<TransactionRow>>,
    /// `YYYY-MM-DD`, with `transactions`.
    pub calibration_end: Option<String>,
    /// With `transactions`; default `week`.
    pub unit: Option<TimeUnitName>,
}

impl CustomerData {
    /// The summaries, checked; `needs_times` for the purchase models (recency and T required).
    fn summaries(self, needs_times: bool) -> Result<Vec<CustomerSummary>, InvalidInput> {
        let rows = match (self.customers, self.transactions) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "/transactions",
                    "give customers or transactions, not both",
                    "the body has both customers and transactions: send one or the other",
                ))
            }
            (Some(customers), None) => customers
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let pointer = format!("/customers/{i}");
                    if needs_times && c.t.is_none() && c.recency.is_none() {
                        return Err(InvalidInput::new(
                            format!("{pointer}/T"),
                            "required",
                            format!("{pointer}: recency and T are required by the purchase models"),
                        ));
                    }
                    CustomerSummary::new(
                        &pointer,
                        c.id,
                        c.frequency,
                        c.recency,
                        c.t,
                        c.monetary_value,
                        c.count.map_or(1, |n| n.0) as f64,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?,
            (None, Some(transactions)) => {
                let end = self.calibration_end.ok_or_else(|| {
                    InvalidInput::new(
                        "/calibration_end",
                        "required with transactions",
                        "calibration_end (YYYY-MM-DD) is required with transactions",
                    )
                })?;
                let end = parse_date("/calibration_end", &end)?;
                let unit = match self.unit.unwrap_or(TimeUnitName::Week) {
                    TimeUnitName::Day => TimeUnit::Day,
                    TimeUnitName::Week => TimeUnit::Week,
                };
                let parsed = transactions
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let amount = t.amount.unwrap_or(0.0);
                        if !amount.is_finite() || amount < 0.0 {
                            return Err(InvalidInput::new(
                                format!("/transactions/{i}/amount"),
                                "must not be negative",
                                format!("transactions[{i}].amount {amount} is negative"),
                            ));
                        }
                        Ok(Transaction {
                            customer_id: t.customer_id,
                            date: parse_date(&format!("/transactions/{i}/date"), &t.date)?,
                            amount,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                summarise(&parsed, end, unit)
            }
            (None, None) => {
                return Err(InvalidInput::new(
                    "/customers",
                    "required unless transactions are given",
                    "give customers (summaries) or transactions with calibration_end",
                ))
            }
        };
        if rows.is_empty() {
            return Err(InvalidInput::new("/customers", "must not be empty", "no customer to fit: the data is empty (or every transaction is after calibration_end)"));
        }
        Ok(rows)
    }
}

/// A parameter's maximum-likelihood estimate and its standard error (from the inverse
/// Hessian; absent where it is not positive definite).
#[derive(Debug, Serialize, ToSchema)]
pub struct Estimate {
    pub estimate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std_error: Option<f64>,
}

/// How a fit went.
#[derive(Debug, Serialize, ToSchema)]
pub struct FitSummary {
    /// Parameters by name, in the model's order.
    #[schema(value_type = std::collections::HashMap<String, Estimate>)]
    pub parameters: Map<String, Value>,
    /// The full log-likelihood at the estimates (comparable to published figures).
    pub log_likelihood: f64,
    pub converged: bool,
    pub iterations: u64,
    /// How the optimiser stopped.
    pub termination: String,
    /// The likelihood maximised.
    pub formula: String,
}

fn fit_summary(
    names: &[&str],
    outcome: &FitOutcome,
    formula: &str,
) -> Result<FitSummary, InvalidInput> {
    match &outcome.verdict {
        Verdict::Converged => {}
        Verdict::Boundary(open) => {
            return Err(InvalidInput::new(
                "",
                "the likelihood has no interior maximum",
                boundary_detail(names, open, outcome.log_likelihood),
            ))
        }
        Verdict::StoppedShort(why) => {
            return Err(InvalidInput::new(
                "",
                "the optimiser stopped short of a maximum",
                format!(
                    "the optimiser stopped short of a maximum of the likelihood ({why}; {}), so no parameters are returned; the data may identify them poorly",
                    outcome.termination
                ),
            ))
        }
        Verdict::Cancelled => {
            return Err(InvalidInput::new(
                "",
                "the fit was cancelled",
                "the fit was cancelled before it finished",
            ))
        }
    }
    let mut parameters = Map::new();
    for (i, name) in names.iter().enumerate() {
        let estimate = Estimate {
            estimate: outcome.params[i],
            std_error: outcome.std_errors[i],
        };
        parameters.insert(
            (*name).to_owned(),
            serde_json::to_value(estimate).unwrap_or(Value::Null),
        );
    }
    Ok(FitSummary {
        parameters,
        log_likelihood: outcome.log_likelihood,
        converged: outcome.converged,
        iterations: outcome.iterations,
        termination: outcome.termination.clone(),
        formula: formula.to_owned(),
    })
}

/// "a and b grow without bound: the data show no heterogeneity in dropout …"
fn boundary_detail(names: &[&str], open: &[(usize, Direction)], log_likelihood: f64) -> String {
    let named = |direction: Direction| -> Vec<&str> {
        open.iter()
            .filter(|(_, d)| *d == direction)
            .filter_map(|(i, _)| names.get(*i).copied())
            .collect()
    };
    let (grown, shrunk) = (named(Direction::Grows), named(Direction::Shrinks));
    let phrase = |list: &[&str], one: &str, many: &str| match list {
        [] => None,
        [only] => Some(format!("{only} {one}")),
        [init @ .., last] => Some(format!("{} and {last} {many}", init.join(", "))),
    };
    let parts: Vec<String> = [
        phrase(&grown, "grows without bound", "grow without bound"),
        phrase(&shrunk, "shrinks towards 0", "shrink towards 0"),
    ]
    .into_iter()
    .flatten()
    .collect();
    // A gamma or beta mixing distribution whose two parameters grow together collapses to a
    // point: every customer behaves alike in that respect.
    let hint = match grown.as_slice() {
        ["a", "b"] => ": the data show no heterogeneity in dropout",
        ["r", "alpha"] => ": the data show no heterogeneity in purchase rates",
        ["s", "beta"] => ": the data show no heterogeneity in dropout rates",
        ["alpha", "beta"] => ": the data show no heterogeneity in churn probability",
        ["q", "gamma"] => ": the data show no heterogeneity in spend levels",
        _ => "",
    };
    format!(
        "{}{hint}. The likelihood keeps rising towards the edge of the parameter space (log-likelihood {log_likelihood:.3} and rising), so it has no maximum inside it and no parameters are returned; a model without that heterogeneity, or more customers, may fit",
        parts.join("; ")
    )
}

fn penalty(value: Option<f64>) -> Result<f64, InvalidInput> {
    match value {
        None => Ok(0.0),
        Some(p) if p.is_finite() && p >= 0.0 => Ok(p),
        Some(p) => Err(InvalidInput::new(
            "/penalty",
            "must not be negative",
            format!("penalty {p} must be 0 or more"),
        )),
    }
}

fn horizon(value: f64, pointer: &str) -> Result<f64, InvalidInput> {
    if value.is_finite() && value > 0.0 && value <= 1e6 {
        Ok(value)
    } else {
        Err(InvalidInput::new(
            pointer,
            "must be greater than 0 and at most 1,000,000",
            format!("{pointer}: horizon {value} must be a positive time in the data's unit"),
        ))
    }
}

/// What to predict after the fit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// Prediction horizon after each customer's T, in the data's time unit (e.g. 39 weeks).
    #[schema(minimum = 0)]
    pub horizon: f64,
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

/// One customer's predictions, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPrediction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub frequency: f64,
    pub recency: f64,
    #[serde(rename = "T")]
    pub t: f64,
    /// Probability the customer is still active at T.
    pub p_alive: f64,
    /// Expected purchases in (T, T + horizon].
    pub expected_purchases: f64,
}

/// A point of the population's expected cumulative purchases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurvePoint {
    pub t: f64,
    /// Expected repeat purchases of a randomly chosen customer by time t after the first.
    pub expected_purchases: f64,
}

/// Predictions of a purchase model.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchasePredictions {
    pub horizon: f64,
    pub customers: Vec<CustomerPrediction>,
    /// Σ over customers of expected purchases in the horizon.
    pub total_expected_purchases: f64,
    /// The population curve E[X(t)] at t = 1, 2, … up to the horizon (at most 1000 points).
    pub population: Vec<CurvePoint>,
}

/// A purchase model's fit.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseModelResponse {
    /// `bgnbd` or `pareto_nbd`.
    pub model: String,
    #[serde(flatten)]
    pub fit: FitSummary,
    /// Customers fitted (Σ count) and distinct (x, t_x, T) rows the likelihood was evaluated on.
    pub customers: f64,
    pub distinct_rows: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predictions: Option<PurchasePredictions>,
    pub notes: Vec<String>,
}

const BGNBD_FORMULA: &str = "ln L = ln Γ(r+x) - ln Γ(r) + r ln α + ln B(a, b+x) - ln B(a, b) + ln((α+T)^-(r+x) + δ(x>0) a/(b+x-1) (α+t_x)^-(r+x))";
const PARETO_FORMULA: &str =
    "ln L = ln Γ(r+x) - ln Γ(r) + r ln α + s ln β + ln((α+T)^-(r+x) (β+T)^-s + s/(r+s+x) A0)";

fn predictions<P: PurchasePredictor>(
    model: &P,
    rows: &[CustomerSummary],
    horizon_value: f64,
    population: impl Fn(f64) -> Option<f64>,
) -> Result<PurchasePredictions, InvalidInput> {
    let undefined = || {
        InvalidInput::new("/predict", "prediction undefined at these parameters", "the fitted parameters leave the prediction undefined (a series diverges): no predictions can be given")
    };
    let customers = rows
        .iter()
        .map(|c| {
            Ok(CustomerPrediction {
                id: c.id.clone(),
                frequency: c.frequency,
                recency: c.recency,
                t: c.t,
                p_alive: model
                    .p_alive(c.frequency, c.recency, c.t)
                    .ok_or_else(undefined)?,
                expected_purchases: model
                    .expected_purchases(horizon_value, c.frequency, c.recency, c.t)
                    .ok_or_else(undefined)?,
            })
        })
        .collect::<Result<Vec<_>, InvalidInput>>()?;
    let total = customers
        .iter()
        .zip(rows)
        .map(|(p, c)| p.expected_purchases * c.count)
        .sum();
    let points = horizon_value.ceil().min(MAX_CURVE_POINTS) as usize;
    let step = horizon_value / points as f64;
    let population = (1..=points)
        .map(|k| {
            let t = if points as f64 == horizon_value.ceil() {
                (k as f64).min(horizon_value)
            } else {
                k as f64 * step
            };
            Ok(CurvePoint {
                t,
                expected_purchases: population(t).ok_or_else(undefined)?,
            })
        })
        .collect::<Result<Vec<_>, InvalidInput>>()?;
    Ok(PurchasePredictions {
        horizon: horizon_value,
        customers,
        total_expected_purchases: total,
        population,
    })
}

/// BG/NBD or Pareto/NBD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseModelName {
    #[default]
    Bgnbd,
    ParetoNbd,
}

enum FittedPurchaseModel {
    BgNbd(bgnbd::BgNbd),
    ParetoNbd(pareto_nbd::ParetoNbd),
}

fn fit_purchase_model(
    name: PurchaseModelName,
    rows: &[CustomerSummary],
    penalty_value: f64,
    max_rows: usize,
) -> Result<(FittedPurchaseModel, FitSummary, GroupedRfm), InvalidInput> {
    let grouped = GroupedRfm::new(rows);
    if grouped.distinct_rows > max_rows {
        return Err(InvalidInput::new(
            "/customers",
            format!("at most {max_rows} distinct summary rows"),
            format!(
                "the customers form {} distinct (frequency, recency, T) rows; a fit takes at most {max_rows} (MAX_MODEL_ROWS): round recency and T to days or weeks, or sample the customers",
                grouped.distinct_rows
            ),
        ));
    }
    match name {
        PurchaseModelName::Bgnbd => {
            let (model, outcome) = bgnbd::fit(&grouped, penalty_value);
            let summary = fit_summary(&["r", "alpha", "a", "b"], &outcome, BGNBD_FORMULA)?;
            Ok((FittedPurchaseModel::BgNbd(model), summary, grouped))
        }
        PurchaseModelName::ParetoNbd => {
            let (model, outcome) = pareto_nbd::fit(&grouped, penalty_value);
            let summary = fit_summary(&["r", "alpha", "s", "beta"], &outcome, PARETO_FORMULA)?;
            Ok((FittedPurchaseModel::ParetoNbd(model), summary, grouped))
        }
    }
}

fn purchase_model(
    name: PurchaseModelName,
    request: PurchaseModelRequest,
    max_rows: usize,
) -> Result<PurchaseModelResponse, ApiError> {
    let rows = request.data.summaries(true)?;
    let penalty_value = penalty(request.penalty)?;
    let horizon_value = request
        .predict
        .as_ref()
        .map(|p| horizon(p.horizon, "/predict/horizon"))
        .transpose()?;
    let (model, fit, grouped) = fit_purchase_model(name, &rows, penalty_value, max_rows)?;
    let predictions = match (horizon_value, &model) {
        (None, _) => None,
        (Some(h), FittedPurchaseModel::BgNbd(m)) => Some(predictions(m, &rows, h, |t| {
            m.expected_purchases_population(t)
        })?),
        (Some(h), FittedPurchaseModel::ParetoNbd(m)) => Some(predictions(m, &rows, h, |t| {
            m.expected_purchases_population(t)
        })?),
    };
    let mut notes = vec![format!(
        "{} customers in {} distinct rows: identical rows are fitted once, weighted.",
        grouped.customers, grouped.distinct_rows
    )];
    if penalty_value > 0.0 {
        notes.push(format!("L2 penalty {penalty_value}: these are penalised estimates, not the maximum-likelihood ones."));
    }
    Ok(PurchaseModelResponse {
        model: match name {
            PurchaseModelName::Bgnbd => "bgnbd",
            PurchaseModelName::ParetoNbd => "pareto_nbd",
        }
        .to_owned(),
        fit,
        customers: grouped.customers,
        distinct_rows: grouped.distinct_rows,
        predictions,
        notes,
    })
}

/// The same body as `/models/bgnbd`, for Pareto/NBD.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct ParetoNbdRequest(pub PurchaseModelRequest);

impl Compute for PurchaseModelRequest {
    type Output = PurchaseModelResponse;
    fn compute(self, state: &AppState) -> Result<PurchaseModelResponse, ApiError> {
        purchase_model(PurchaseModelName::Bgnbd, self, state.config.max_model_rows)
    }
}

impl Compute for ParetoNbdRequest {
    type Output = PurchaseModelResponse;
    fn compute(self, state: &AppState) -> Result<PurchaseModelResponse, ApiError> {
        purchase_model(
            PurchaseModelName::ParetoNbd,
            self.0,
            state.config.max_model_rows,
        )
    }
}

/// Runs a model request through the shared CPU-work path ([`super::work`]), serialising its
/// answer there too (a large answer is CPU work the runtime should not do).
async fn off_runtime<T>(
    state: AppState,
    model: &'static str,
    request: T,
) -> Result<super::FiniteJson, ApiError>
where
    T: Compute + Send + 'static,
    T::Output: Send + 'static,
{
    super::work::off_runtime(state, model, move |state| {
        let started = std::time::Instant::now();
        let answer = request.compute(state);
        super::ops::record_fit(model, started.elapsed().as_secs_f64());
        answer.and_then(super::finite_json)
    })
    .await
}

/// BG/NBD fit and predictions
///
/// Fits BG/NBD (Fader, Hardie & Lee 2005) by maximum likelihood on customer summaries
/// (`frequency`, `recency`, `T`, optional `count`) or on raw transactions with a calibration
/// end: parameters r, α, a, b with standard errors, the full log-likelihood, convergence.
/// With `predict`, each customer's P(alive) and expected purchases over the horizon, and the
/// population's expected cumulative purchases. A fit that does not converge answers 422.
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
) -> Result<super::FiniteJson, ApiError> {
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
) -> Result<super::FiniteJson, ApiError> {
    off_runtime(state, "pareto_nbd", request).await
}

/// Gamma-Gamma on customer summaries or transactions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GammaGammaRequest {
    #[serde(flatten)]
    pub data: CustomerData,
    /// L2 penalty on the parameters, 0 by default (parity with lifetimes only).
    #[schema(minimum = 0)]
    pub penalty: Option<f64>,
}

/// One customer's expected spend, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpendPrediction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub frequency: f64,
    pub monetary_value: f64,
    /// E[M | x, m̄] = p (γ + m̄ x) / (p x + q − 1); the population mean p γ / (q − 1) for a
    /// customer left out of the fit.
    pub expected_spend: f64,
    /// Whether the customer was in the fit (x ≥ 1 and m̄ > 0).
    pub fitted: bool,
}

/// A Gamma-Gamma fit.
#[derive(Debug, Serialize, ToSchema)]
pub struct GammaGammaResponse {
    pub model: String,
    #[serde(flatten)]
    pub fit: FitSummary,
    /// Customers in the fit and left out (no repeat purchase, or a zero amount).
    pub customers_fitted: f64,
    pub customers_left_out: f64,
    /// Pearson correlation of frequency and monetary value among fitted customers: the model
    /// assumes they are independent, so a value far from 0 warns against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_monetary_correlation: Option<f64>,
    pub customers: Vec<SpendPrediction>,
    pub notes: Vec<String>,
}

const GAMMA_GAMMA_FORMULA: &str =
    "ln L = ln Γ(px+q) - ln Γ(px) - ln Γ(q) + q ln γ + (px-1) ln m + px ln x - (px+q) ln(γ + m x)";

fn correlation(rows: &[(f64, f64, f64)]) -> Option<f64> {
    let n: f64 = rows.iter().map(|r| r.2).sum();
    let mean_x = rows.iter().map(|r| r.0 * r.2).sum::<f64>() / n;
    let mean_m = rows.iter().map(|r| r.1 * r.2).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(x, m, w) in rows {
        sxy += w * (x - mean_x) * (m - mean_m);
        sxx += w * (x - mean_x).powi(2);
        syy += w * (m - mean_m).powi(2);
    }
    let r = sxy / (sxx * syy).sqrt();
    r.is_finite().then_some(r)
}

/// The fitted spend model, its summary, and the (x, m̄, weight) rows it was fitted on.
type SpendFit = (gamma_gamma::GammaGamma, FitSummary, Vec<(f64, f64, f64)>);

fn spend_model(rows: &[CustomerSummary], penalty_value: f64) -> Result<SpendFit, InvalidInput> {
    let fitted: Vec<(f64, f64, f64)> = rows
        .iter()
        .filter_map(|c| {
            let m = c.monetary_value.unwrap_or(0.0);
            (c.frequency >= 1.0 && m > 0.0).then_some((c.frequency, m, c.count))
        })
        .collect();
    if fitted.len() < 2 {
        return Err(InvalidInput::new("/customers", "at least two customers with repeat purchases and spend", "Gamma-Gamma needs customers with at least one repeat purchase and a positive monetary_value: fewer than two were given"));
    }
    let (model, outcome) = gamma_gamma::fit(&fitted, penalty_value);
    let summary = fit_summary(&["p", "q", "gamma"], &outcome, GAMMA_GAMMA_FORMULA)?;
    if model.q <= 1.0 {
        return Err(InvalidInput::new("/customers", "spend model without a finite mean", format!("the fitted q is {:.4} ≤ 1: the population's mean spend is infinite, so no expected spend can be given", model.q)));
    }
    Ok((model, summary, fitted))
}

fn expected_spend(model: &gamma_gamma::GammaGamma, c: &CustomerSummary) -> Option<(f64, bool)> {
    let m = c.monetary_value.unwrap_or(0.0);
    if c.frequency >= 1.0 && m > 0.0 {
        model.expected_spend(c.frequency, m).map(|v| (v, true))
    } else {
        model.expected_spend(0.0, 0.0).map(|v| (v, false))
    }
}

impl Compute for GammaGammaRequest {
    type Output = GammaGammaResponse;
    fn compute(self, _state: &AppState) -> Result<GammaGammaResponse, ApiError> {
        let rows = self.data.summaries(false)?;
        if let Some(i) = rows.iter().position(|c| c.monetary_value.is_none()) {
            return Err(InvalidInput::new(
                format!("/customers/{i}/monetary_value"),
                "required",
                format!("customers[{i}] has no monetary_value"),
            )
            .into());
        }
        let (model, fit, fitted) = spend_model(&rows, penalty(self.penalty)?)?;
        let customers = rows
            .iter()
            .map(|c| {
                let (spend, in_fit) = expected_spend(&model, c).ok_or_else(|| {
                    InvalidInput::new(
                        "",
                        "expected spend undefined",
                        "the fitted parameters leave the expected spend undefined",
                    )
                })?;
                Ok(SpendPrediction {
                    id: c.id.clone(),
                    frequency: c.frequency,
                    monetary_value: c.monetary_value.unwrap_or(0.0),
                    expected_spend: spend,
                    fitted: in_fit,
                })
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        let customers_fitted: f64 = fitted.iter().map(|r| r.2).sum();
        let all: f64 = rows.iter().map(|c| c.count).sum();
        let mut notes = Vec::new();
        if all > customers_fitted {
            notes.push(format!("{} customers with no repeat purchase or a zero amount were left out of the fit; their expected spend is the population mean.", all - customers_fitted));
        }
        Ok(GammaGammaResponse {
            model: "gamma_gamma".to_owned(),
            fit,
            customers_fitted,
            customers_left_out: all - customers_fitted,
            frequency_monetary_correlation: correlation(&fitted),
            customers,
            notes,
        })
    }
}

/// Gamma-Gamma spend model
///
/// Fits the Gamma-Gamma model of transaction values (Fader, Hardie & Lee 2005, "RFM and CLV")
/// on customers with at least one repeat purchase: p, q, γ with standard errors, and each
/// customer's expected spend. Customers with no repeat purchase or a zero amount are left out
/// of the fit and said so. The frequency–monetary correlation checks the model's assumption.
#[utoipa::path(
    post,
    path = "/models/gamma-gamma",
    tag = "models",
    operation_id = "fit_gamma_gamma",
    request_body(content = GammaGammaRequest, content_type = "application/json"),
    responses((status = 200, description = "The fit and each customer's expected spend", body = GammaGammaResponse))
)]
pub async fn gamma_gamma(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<GammaGammaRequest>,
) -> Result<super::FiniteJson, ApiError> {
    off_runtime(state, "gamma_gamma", request).await
}

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
}

/// One customer's predicted value, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerClv {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub p_alive: f64,
    pub expected_purchases: f64,
    pub expected_spend: f64,
    pub clv: f64,
    /// 1 for the highest predicted CLV.
    pub rank: usize,
    /// frequency × monetary value: what the repeat purchases brought so far.
    pub past_value: f64,
}

/// One discounting period over all customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodValue {
    pub period: usize,
    /// End of the period in the data's time unit.
    pub t_end: f64,
    pub expected_purchases: f64,
    /// Σ expected purchases × spend × margin / (1 + d)^period.
    pub discounted_value: f64,
}

/// A value tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierSummary {
    pub tier: String,
    /// Customers in the tier (Σ of the rows' counts).
    pub customers: f64,
    pub total_clv: f64,
    pub share_of_value_pct: f64,
    /// Ids (or request indices as text when no id was given), highest value first.
    pub members: Vec<String>,
}

/// A customer at risk: likely gone, valuable before.
#[derive(Debug, Serialize, ToSchema)]
pub struct AtRisk {
    pub customer: String,
    pub p_alive: f64,
    pub past_value: f64,
    pub clv: f64,
}

/// Predicted CLV with the lists a retention team works from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelClvResponse {
    pub purchase_model: PurchaseModelResponse,
    pub spend_model: GammaGammaSummary,
    pub formula: String,
    pub total_clv: f64,
    pub customers: Vec<CustomerClv>,
    pub by_period: Vec<PeriodValue>,
    pub tiers: Vec<TierSummary>,
    /// Highest past value first.
    pub at_risk: Vec<AtRisk>,
    pub notes: Vec<String>,
}

/// The spend model's fit inside a CLV answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct GammaGammaSummary {
    #[serde(flatten)]
    pub fit: FitSummary,
    pub customers_fitted: f64,
}

fn fraction(
    value: Option<f64>,
    default: f64,
    pointer: &str,
    upper: f64,
) -> Result<f64, InvalidInput> {
    let v = value.unwrap_or(default);
    if v.is_finite() && v >= 0.0 && v <= upper {
        Ok(v)
    } else {
        Err(InvalidInput::new(
            pointer,
            format!("must be from 0 to {upper}"),
            format!("{pointer}: {v} must be from 0 to {upper}"),
        ))
    }
}

impl Compute for ModelClvRequest {
    type Output = ModelClvResponse;
    fn compute(self, state: &AppState) -> Result<ModelClvResponse, ApiError> {
        let horizon_value = horizon(self.horizon, "/horizon")?;
        let period_length = self.period_length.unwrap_or(1.0);
        if !(period_length.is_finite() && period_length > 0.0)
            || horizon_value / period_length > MAX_CURVE_POINTS
        {
            return Err(InvalidInput::new("/period_length", "must be positive, with at most 1000 periods in the horizon", format!("period_length {period_length} must be positive and cut the horizon into at most 1000 periods")).into());
        }
        let terms = ValuationTerms {
            horizon: horizon_value,
            period_length,
            discount: fraction(self.discount_rate_pct, 0.0, "/discount_rate_pct", 1000.0)? / 100.0,
            margin: fraction(self.margin_pct, 100.0, "/margin_pct", 100.0)? / 100.0,
        };
        let cuts = self.tier_cuts.unwrap_or_else(|| vec![0.2, 0.8]);
        if cuts.len() > 9
            || cuts
                .iter()
                .any(|c| !(c.is_finite() && *c > 0.0 && *c < 1.0))
            || cuts.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(InvalidInput::new(
                "/tier_cuts",
                "increasing fractions strictly between 0 and 1, at most 9",
                "tier_cuts must be at most 9 increasing fractions between 0 and 1, e.g. [0.2, 0.8]",
            )
            .into());
        }
        let threshold = fraction(
            self.at_risk_p_alive_below,
            0.3,
            "/at_risk_p_alive_below",
            1.0,
        )?;
        let rows = self.data.summaries(true)?;
        if let Some(i) = rows.iter().position(|c| c.monetary_value.is_none()) {
            return Err(InvalidInput::new(
                format!("/customers/{i}/monetary_value"),
                "required",
                format!("customers[{i}] has no monetary_value: CLV needs spend"),
            )
            .into());
        }
        let (model, fit, grouped) =
            fit_purchase_model(self.purchase_model, &rows, 0.0, state.config.max_model_rows)?;
        let (spend, spend_fit, fitted) = spend_model(&rows, 0.0)?;
        let undefined = || {
            InvalidInput::new(
                "",
                "prediction undefined at these parameters",
                "the fitted parameters leave a prediction undefined",
            )
        };
        let values = rows
            .iter()
            .map(|c| {
                let (s, _) = expected_spend(&spend, c).ok_or_else(undefined)?;
                let key = (c.frequency, c.recency, c.t);
                match &model {
                    FittedPurchaseModel::BgNbd(m) => customer_value(m, &terms, key, s),
                    FittedPurchaseModel::ParetoNbd(m) => customer_value(m, &terms, key, s),
                }
                .ok_or_else(undefined)
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        let clvs: Vec<f64> = values.iter().map(|v| v.clv).collect();
        let weights: Vec<f64> = rows.iter().map(|c| c.count).collect();
        let (rank, tier_list) = tiers(&clvs, &weights, &cuts);
        let name = |i: usize| rows[i].id.clone().unwrap_or_else(|| i.to_string());
        let past: Vec<f64> = rows
            .iter()
            .map(|c| c.frequency * c.monetary_value.unwrap_or(0.0))
            .collect();
        let min_past = match self.at_risk_min_past_value {
            Some(v) => fraction(Some(v), 0.0, "/at_risk_min_past_value", f64::MAX)?,
            None => {
                let mut repeaters: Vec<f64> = past.iter().copied().filter(|v| *v > 0.0).collect();
                repeaters.sort_by(f64::total_cmp);
                repeaters
                    .get(repeaters.len() / 2)
                    .copied()
                    .unwrap_or(f64::INFINITY)
            }
        };
        let mut at_risk: Vec<AtRisk> = values
            .iter()
            .enumerate()
            .filter(|(i, v)| v.p_alive < threshold && past[*i] >= min_past && past[*i] > 0.0)
            .map(|(i, v)| AtRisk {
                customer: name(i),
                p_alive: v.p_alive,
                past_value: past[i],
                clv: v.clv,
            })
            .collect();
        at_risk.sort_by(|a, b| b.past_value.total_cmp(&a.past_value));
        let ends = terms.period_ends();
        let by_period = ends
            .iter()
            .enumerate()
            .map(|(k, &t_end)| {
                let purchases: f64 = values
                    .iter()
                    .zip(&rows)
                    .map(|(v, c)| v.purchases_by_period[k] * c.count)
                    .sum();
                let value: f64 = values
                    .iter()
                    .zip(&rows)
                    .map(|(v, c)| v.purchases_by_period[k] * v.expected_spend * c.count)
                    .sum::<f64>()
                    * terms.margin
                    / (1.0 + terms.discount).powi(k as i32 + 1);
                PeriodValue {
                    period: k + 1,
                    t_end,
                    expected_purchases: purchases,
                    discounted_value: value,
                }
            })
            .collect();
        let total_clv = values.iter().zip(&rows).map(|(v, c)| v.clv * c.count).sum();
        let customers = values
            .iter()
            .enumerate()
            .map(|(i, v)| CustomerClv {
                id: rows[i].id.clone(),
                p_alive: v.p_alive,
                expected_purchases: v.expected_purchases,
                expected_spend: v.expected_spend,
                clv: v.clv,
                rank: rank[i],
                past_value: past[i],
            })
            .collect();
        let tiers = tier_list
            .into_iter()
            .map(|t| TierSummary {
                tier: t.name,
                customers: t.customers,
                total_clv: t.value,
                share_of_value_pct: t.share_pct,
                members: t.members.iter().map(|&i| name(i)).collect(),
            })
            .collect();
        let customers_fitted = fitted.iter().map(|r| r.2).sum();
        Ok(ModelClvResponse {
            purchase_model: PurchaseModelResponse {
                model: match self.purchase_model {
                    PurchaseModelName::Bgnbd => "bgnbd",
                    PurchaseModelName::ParetoNbd => "pareto_nbd",
                }
                .to_owned(),
                fit,
                customers: grouped.customers,
                distinct_rows: grouped.distinct_rows,
                predictions: None,
                notes: vec![],
            },
            spend_model: GammaGammaSummary {
                fit: spend_fit,
                customers_fitted,
            },
            formula: "CLV = Σ_k (E[Y(t_k)] - E[Y(t_(k-1))]) × E[M] × margin / (1 + d)^k".to_owned(),
            total_clv,
            customers,
            by_period,
            tiers,
            at_risk,
            notes: vec![format!(
                "At risk: P(alive) below {threshold} with a past value of at least {min_past:.2}."
            )],
        })
    }
}

/// Predicted customer lifetime value
///
/// Fits a purchase model (BG/NBD or Pareto/NBD) and Gamma-Gamma on the same customers, then
/// `CLV = Σ_k ΔE[purchases in period k] × E[spend] × margin / (1 + d)^k` over the horizon,
/// with the population's value by period; customers ranked and cut into tiers with each tier's
/// share of value; and the customers at risk (P(alive) under a threshold while their past value
/// is high), highest past value first.
#[utoipa::path(
    post,
    path = "/models/clv",
    tag = "models",
    operation_id = "model_clv",
    request_body(content = ModelClvRequest, content_type = "application/json"),
    responses((status = 200, description = "CLV per customer, by period, tiers and customers at risk", body = ModelClvResponse))
)]
pub async fn model_clv(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<ModelClvRequest>,
) -> Result<super::FiniteJson, ApiError> {
    off_runtime(state, "clv", request).await
}

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
}

/// One period of the fitted and projected curve.
#[derive(Debug, Serialize, ToSchema)]
pub struct SbgPeriod {
    pub period: usize,
    /// Observed survivors as a share of period 0, where observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_survival: Option<f64>,
    /// S(t) under the model.
    pub survival: f64,
    /// r_t = S(t) / S(t−1) (absent for period 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_rate: Option<f64>,
    /// True beyond the data.
    pub projected: bool,
}

/// The sBG fit.
#[derive(Debug, Serialize, ToSchema)]
pub struct SbgResponse {
    pub model: String,
    #[serde(flatten)]
    pub fit: FitSummary,
    pub periods: Vec<SbgPeriod>,
    /// E[T] = (α+β−1)/(α−1) periods; absent when α ≤ 1 (the mean lifetime is infinite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_lifetime: Option<f64>,
    /// The first period by which half the cohort has left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_lifetime: Option<usize>,
    /// DEL = Σ_{t≥0} S(t) / (1+d)^t: discounted periods a new customer stays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discounted_expected_lifetime: Option<f64>,
    /// margin × DEL, when a margin is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discounted_expected_lifetime_value: Option<f64>,
    pub notes: Vec<String>,
}

impl Compute for SbgRequest {
    type Output = SbgResponse;
    fn compute(self, _state: &AppState) -> Result<SbgResponse, ApiError> {
        let s = &self.survivors;
        if s.len() < 3 || s.len() > 1001 {
            return Err(InvalidInput::new(
                "/survivors",
                "must hold 3 to 1001 counts",
                "survivors needs the counts of at least periods 0, 1 and 2 (at most 1001)",
            )
            .into());
        }
        for (i, &v) in s.iter().enumerate() {
            if !v.is_finite() || v < 0.0 || v.fract() != 0.0 {
                return Err(InvalidInput::new(
                    format!("/survivors/{i}"),
                    "must be a whole number, 0 or more",
                    format!("survivors[{i}] = {v} is not a count"),
                )
                .into());
            }
            if i > 0 && v > s[i - 1] {
                return Err(InvalidInput::new(
                    format!("/survivors/{i}"),
                    "must not exceed the previous count",
                    format!(
                        "survivors[{i}] = {v} is more than the {} before it: a cohort only shrinks",
                        s[i - 1]
                    ),
                )
                .into());
            }
        }
        if s[0] == 0.0 || s[s.len() - 1] == s[0] {
            return Err(InvalidInput::new(
                "/survivors",
                "the cohort must start with customers and lose some",
                "the survivors show no churn (or no customers): the model cannot be fitted",
            )
            .into());
        }
        let projection = self.projection_periods.map_or(5, |c| c.0);
        if projection > 1000 {
            return Err(InvalidInput::new(
                "/projection_periods",
                "must be at most 1000",
                "projection_periods must be at most 1000",
            )
            .into());
        }
        let discount =
            fraction(self.discount_rate_pct, 10.0, "/discount_rate_pct", 1000.0)? / 100.0;
        let margin = self
            .margin
            .map(|m| fraction(Some(m), 0.0, "/margin", f64::MAX))
            .transpose()?;
        let (model, outcome) = sbg::fit(s);
        let fit = fit_summary(&["alpha", "beta"], &outcome, "ln L = Σ_t (S_(t-1) - S_t) ln P(T = t) + S_n ln S(n),  P(T = t) = B(α+1, β+t-1) / B(α, β)")?;
        let n = s.len() - 1 + projection as usize;
        let survival = model.survival(n);
        let periods = (0..=n)
            .map(|t| SbgPeriod {
                period: t,
                observed_survival: s.get(t).map(|v| v / s[0]),
                survival: survival[t],
                retention_rate: (t > 0).then(|| model.retention_rate(t)),
                projected: t >= s.len(),
            })
            .collect();
        let del = model.discounted_expected_lifetime(discount);
        let mut notes = vec![format!(
            "Fitted on periods 1 to {}; periods {} to {n} are projections.",
            s.len() - 1,
            s.len()
        )];
        if model.expected_lifetime().is_none() {
            notes.push("α ≤ 1: the mean lifetime is infinite; read the median and the discounted expected lifetime instead.".to_owned());
        }
        Ok(SbgResponse {
            model: "sbg".to_owned(),
            fit,
            periods,
            expected_lifetime: model.expected_lifetime(),
            median_lifetime: model.median_lifetime(),
            discounted_expected_lifetime: del,
            discounted_expected_lifetime_value: margin.zip(del).map(|(m, d)| m * d),
            notes,
        })
    }
}

/// Shifted-beta-geometric retention
///
/// Fits the sBG model of contractual retention (Fader & Hardie 2007) to a cohort's survivor
/// counts: α, β with standard errors, fitted and projected survival and retention rates,
/// expected and median lifetime, and the discounted expected lifetime (value, given a margin).
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
    ValidJson(request): ValidJson<SbgRequest>,
) -> Result<super::FiniteJson, ApiError> {
    off_runtime(state, "sbg", request).await
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

/// The examples of `POST /models/gamma-gamma` in the spec, each answered as a request would be.
pub fn gamma_gamma_examples() -> Examples {
    Examples::of::<GammaGammaRequest>(vec![
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
    ])
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
