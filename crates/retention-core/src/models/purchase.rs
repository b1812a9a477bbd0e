//! The purchase models as one: the [`PurchaseModel`] trait each fitted model implements, the
//! fit by name, and the predictions a purchase-model answer carries.

use serde::{Deserialize, Serialize};

use nalgebra::{DMatrix, DVector};

use super::bootstrap::bootstrap;
use super::report::{fit_summary, FitSummary};
use super::rfm::{CustomerSummary, GroupedRfm};
use super::uncertainty::{Delta, Uncertainty};
use super::value::PurchasePredictor;
use super::{bgnbd, pareto_nbd};
use crate::kpi::{Bounds, Confidence, IntervalMethod, InvalidInput};

/// Most points of a population curve or periods of a CLV breakdown.
pub const MAX_CURVE_POINTS: f64 = 1000.0;

/// One customer's predictions, in request order.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The interval of `p_alive`, at the predictions' `intervals` level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_alive_interval: Option<Bounds>,
    /// The interval of `expected_purchases`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_purchases_interval: Option<Bounds>,
}

/// A point of the population's expected cumulative purchases.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurvePoint {
    pub t: f64,
    /// Expected repeat purchases of a randomly chosen customer by time t after the first.
    pub expected_purchases: f64,
    /// Its interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Bounds>,
}

/// Predictions of a purchase model.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurchasePredictions {
    pub horizon: f64,
    pub customers: Vec<CustomerPrediction>,
    /// Σ over customers of expected purchases in the horizon.
    pub total_expected_purchases: f64,
    /// Its interval (the gradients of the customers' expected purchases summed first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_expected_purchases_interval: Option<Bounds>,
    /// How the intervals were computed and their level; absent when they were not asked
    /// for or the fit gives no covariance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intervals: Option<IntervalMethod>,
    /// The population curve E[X(t)] at t = 1, 2, … up to the horizon (at most 1000 points).
    pub population: Vec<CurvePoint>,
}

/// A purchase model's fit.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The predictions of `model` for `rows` over `horizon_value`, with intervals by the delta
/// method when `delta` is given (`at` builds the model at any parameters).
///
/// # Formula
///
/// ```text
/// se(f) = √(gᵀ Σ g),   g_j = ∂f / ∂ln p_j   (central differences, step 1e-5)
/// interval = f ± z × se(f), clipped to [0, 1] for P(alive) and at 0 for purchases
/// total: g = Σ_i count_i × g_i
/// ```
///
/// where Σ is the fit's covariance of the log parameters (the inverse Hessian of −ln L) and
/// z the critical value of the level. Source: docs/formulas.md § 12.6.
fn predictions(
    model: &dyn PurchaseModel,
    rows: &[CustomerSummary],
    horizon_value: f64,
    delta: Option<(&Delta, ModelAt)>,
) -> Result<PurchasePredictions, InvalidInput> {
    let undefined = || {
        InvalidInput::new("/predict", "prediction undefined at these parameters", "the fitted parameters leave the prediction undefined (a series diverges): no predictions can be given")
    };
    let mut total_gradient: Option<DVector<f64>> = None;
    let customers = rows
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if crate::cancel::stop_at(i) {
                return Err(InvalidInput::new(
                    "",
                    "the prediction was cancelled",
                    "the prediction was cancelled before it finished",
                ));
            }
            let (x, tx, t) = (c.frequency, c.recency, c.t);
            let p_alive = model.p_alive(x, tx, t).ok_or_else(undefined)?;
            let expected = model
                .expected_purchases(horizon_value, x, tx, t)
                .ok_or_else(undefined)?;
            let mut prediction = CustomerPrediction {
                id: c.id.clone(),
                frequency: x,
                recency: tx,
                t,
                p_alive,
                expected_purchases: expected,
                p_alive_interval: None,
                expected_purchases_interval: None,
            };
            if let Some((delta, at)) = delta {
                let g = delta
                    .gradients(|p| {
                        let m = at(p);
                        Some(vec![
                            m.p_alive(x, tx, t)?,
                            m.expected_purchases(horizon_value, x, tx, t)?,
                        ])
                    })
                    .ok_or_else(undefined)?;
                let (g_alive, g_expected) = (g.column(0).into_owned(), g.column(1).into_owned());
                prediction.p_alive_interval =
                    Some(delta.bounds(p_alive, delta.standard_error(&g_alive), (0.0, 1.0)));
                prediction.expected_purchases_interval = Some(delta.bounds(
                    expected,
                    delta.standard_error(&g_expected),
                    (0.0, f64::INFINITY),
                ));
                let weighted = g_expected * c.count;
                total_gradient = Some(match total_gradient.take() {
                    Some(sum) => sum + weighted,
                    None => weighted,
                });
            }
            Ok(prediction)
        })
        .collect::<Result<Vec<_>, InvalidInput>>()?;
    let total: f64 = customers
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
            let expected = model
                .expected_purchases_population(t)
                .ok_or_else(undefined)?;
            let interval = match delta {
                Some((delta, at)) => {
                    let g = delta
                        .gradients(|p| Some(vec![at(p).expected_purchases_population(t)?]))
                        .ok_or_else(undefined)?;
                    let se = delta.standard_error(&g.column(0).into_owned());
                    Some(delta.bounds(expected, se, (0.0, f64::INFINITY)))
                }
                None => None,
            };
            Ok(CurvePoint {
                t,
                expected_purchases: expected,
                interval,
            })
        })
        .collect::<Result<Vec<_>, InvalidInput>>()?;
    let total_interval = delta
        .zip(total_gradient)
        .map(|((delta, _), g)| delta.bounds(total, delta.standard_error(&g), (0.0, f64::INFINITY)));
    Ok(PurchasePredictions {
        horizon: horizon_value,
        customers,
        total_expected_purchases: total,
        total_expected_purchases_interval: total_interval,
        intervals: delta.map(|(d, _)| IntervalMethod {
            level_pct: d.confidence().level() * 100.0,
            method: DELTA_METHOD.into(),
        }),
        population,
    })
}

/// Fills the predictions' intervals from the parametric bootstrap.
fn with_bootstrap(
    answer: &mut PurchasePredictions,
    name: PurchaseModelName,
    fitted: &FittedPurchaseModel,
    rows: &[CustomerSummary],
    (draws, seed): (usize, u64),
    confidence: Confidence,
) -> Result<(), InvalidInput> {
    let times: Vec<f64> = answer.population.iter().map(|p| p.t).collect();
    let boot = bootstrap(
        name,
        &fitted.params,
        fitted.at,
        rows,
        answer.horizon,
        &times,
        (draws, seed),
        confidence,
    )?;
    for (c, (alive, purchases)) in answer.customers.iter_mut().zip(boot.customers) {
        c.p_alive_interval = Some(alive);
        c.expected_purchases_interval = Some(purchases);
    }
    for (point, bounds) in answer.population.iter_mut().zip(boot.population) {
        point.interval = Some(bounds);
    }
    answer.total_expected_purchases_interval = Some(boot.total);
    answer.intervals = Some(IntervalMethod {
        level_pct: confidence.level() * 100.0,
        method: format!(
            "parametric bootstrap: {draws} data sets simulated from the fit (seed {seed}), {} refits converged; percentile intervals",
            boot.draws_used
        )
        .into(),
    });
    Ok(())
}

/// How the prediction intervals are computed.
pub const DELTA_METHOD: &str = "delta method from the fit's covariance of the log parameters; normal, clipped to the prediction's range";

/// Builds a purchase model at given parameters (natural scale, the fit's order).
pub type ModelAt = fn(&[f64]) -> Box<dyn PurchaseModel>;

fn bgnbd_at(p: &[f64]) -> Box<dyn PurchaseModel> {
    Box::new(bgnbd::BgNbd {
        r: p[0],
        alpha: p[1],
        a: p[2],
        b: p[3],
    })
}

fn pareto_nbd_at(p: &[f64]) -> Box<dyn PurchaseModel> {
    Box::new(pareto_nbd::ParetoNbd {
        r: p[0],
        alpha: p[1],
        s: p[2],
        beta: p[3],
    })
}

/// BG/NBD or Pareto/NBD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PurchaseModelName {
    #[default]
    Bgnbd,
    ParetoNbd,
}

impl PurchaseModelName {
    /// The name as the answers spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bgnbd => "bgnbd",
            Self::ParetoNbd => "pareto_nbd",
        }
    }
}

/// What every fitted purchase model predicts: per customer (P(alive), expected purchases,
/// through [`PurchasePredictor`]) and for the population.
pub trait PurchaseModel: PurchasePredictor {
    /// Expected repeat purchases of a randomly chosen customer by time `t` after the first.
    fn expected_purchases_population(&self, t: f64) -> Option<f64>;
}

impl PurchaseModel for bgnbd::BgNbd {
    fn expected_purchases_population(&self, t: f64) -> Option<f64> {
        bgnbd::BgNbd::expected_purchases_population(self, t)
    }
}

impl PurchaseModel for pareto_nbd::ParetoNbd {
    fn expected_purchases_population(&self, t: f64) -> Option<f64> {
        pareto_nbd::ParetoNbd::expected_purchases_population(self, t)
    }
}

/// A fitted purchase model, its fit report and the grouped rows it was fitted on.
pub struct FittedPurchaseModel {
    pub model: Box<dyn PurchaseModel>,
    pub fit: FitSummary,
    pub grouped: GroupedRfm,
    /// The estimates (natural scale, the model's order).
    pub params: Vec<f64>,
    /// The covariance of the log parameters; `None` where the Hessian is not positive definite.
    pub log_covariance: Option<DMatrix<f64>>,
    /// The model at other parameters (for the delta method).
    pub at: ModelAt,
}

/// Fits the named model to the customers (grouped into distinct rows first).
pub fn fit_purchase_model(
    name: PurchaseModelName,
    rows: &[CustomerSummary],
    penalty_value: f64,
    max_rows: usize,
) -> Result<FittedPurchaseModel, InvalidInput> {
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
    let (model, fit, outcome, at): (Box<dyn PurchaseModel>, FitSummary, _, ModelAt) = match name {
        PurchaseModelName::Bgnbd => {
            let (model, outcome) = bgnbd::fit(&grouped, penalty_value);
            let fit = fit_summary(&["r", "alpha", "a", "b"], &outcome, BGNBD_FORMULA)?;
            (Box::new(model), fit, outcome, bgnbd_at)
        }
        PurchaseModelName::ParetoNbd => {
            let (model, outcome) = pareto_nbd::fit(&grouped, penalty_value);
            let fit = fit_summary(&["r", "alpha", "s", "beta"], &outcome, PARETO_FORMULA)?;
            (Box::new(model), fit, outcome, pareto_nbd_at)
        }
    };
    Ok(FittedPurchaseModel {
        model,
        fit,
        grouped,
        params: outcome.params,
        log_covariance: outcome.log_covariance,
        at,
    })
}

/// What the predictions are asked for: the horizon, how their intervals are computed and at
/// what level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictSettings {
    pub horizon: f64,
    pub uncertainty: Uncertainty,
    pub confidence: Confidence,
}

impl FittedPurchaseModel {
    /// The delta method at `confidence`, when the fit has a covariance.
    pub fn delta(&self, confidence: Confidence) -> Option<(Delta, ModelAt)> {
        let cov = self.log_covariance.clone()?;
        Some((Delta::new(&self.params, cov, confidence), self.at))
    }
}

/// Fits a purchase model and, given a horizon, predicts each customer's P(alive) and expected
/// purchases and the population curve, with their intervals when asked (the answer of
/// `/models/bgnbd` and `/models/pareto-nbd`).
pub fn purchase_model_report(
    name: PurchaseModelName,
    rows: &[CustomerSummary],
    penalty_value: f64,
    predict: Option<PredictSettings>,
    max_rows: usize,
) -> Result<PurchaseModelResponse, InvalidInput> {
    let fitted = fit_purchase_model(name, rows, penalty_value, max_rows)?;
    let mut notes = Vec::new();
    let predictions = match predict {
        Some(settings) => {
            let delta = match settings.uncertainty {
                Uncertainty::Delta => fitted.delta(settings.confidence),
                _ => None,
            };
            if settings.uncertainty == Uncertainty::Delta && delta.is_none() {
                notes.push("No prediction intervals: the fit's Hessian is not positive definite, so its covariance is unknown.".to_owned());
            }
            let delta = delta.as_ref().map(|(d, at)| (d, *at));
            let mut answer = predictions(fitted.model.as_ref(), rows, settings.horizon, delta)?;
            if let Uncertainty::Bootstrap { draws, seed } = settings.uncertainty {
                with_bootstrap(
                    &mut answer,
                    name,
                    &fitted,
                    rows,
                    (draws, seed),
                    settings.confidence,
                )?;
            }
            Some(answer)
        }
        None => None,
    };
    let grouped = &fitted.grouped;
    notes.insert(
        0,
        format!(
            "{} customers in {} distinct rows: identical rows are fitted once, weighted.",
            grouped.customers, grouped.distinct_rows
        ),
    );
    if penalty_value > 0.0 {
        notes.push(format!("L2 penalty {penalty_value}: these are penalised estimates, not the maximum-likelihood ones."));
    }
    Ok(PurchaseModelResponse {
        model: name.as_str().to_owned(),
        customers: grouped.customers,
        distinct_rows: grouped.distinct_rows,
        fit: fitted.fit,
        predictions,
        notes,
    })
}
