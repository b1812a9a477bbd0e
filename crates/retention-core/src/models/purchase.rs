//! The purchase models as one: the [`PurchaseModel`] trait each fitted model implements, the
//! fit by name, and the predictions a purchase-model answer carries.

use serde::{Deserialize, Serialize};

use nalgebra::{DMatrix, DVector};

use super::bootstrap::{bootstrap, Simulate};
use super::fit::FitOutcome;
use super::pmf::MAX_PURCHASE_COUNT;
use super::report::{fit_summary, FitSummary};
use super::rfm::{CustomerSummary, GroupedRfm};
use super::uncertainty::{Delta, Uncertainty};
use super::value::PurchasePredictor;
use super::{bgbb, bgnbd, mbgnbd, pareto_nbd};
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
    /// Probability of no purchase in (T, T + horizon] (1 − P(alive) + P(alive) × the chance
    /// an alive customer makes none).
    pub p_no_purchase: f64,
    /// P(exactly n purchases in (T, T + horizon]) for n = 0 … `predict.purchase_counts`, when
    /// asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_count_probabilities: Option<Vec<f64>>,
    /// The interval of `p_alive`, at the predictions' `intervals` level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_alive_interval: Option<Bounds>,
    /// The interval of `expected_purchases`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_purchases_interval: Option<Bounds>,
    /// The interval of `p_no_purchase`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_no_purchase_interval: Option<Bounds>,
    /// Discounted expected residual transactions at `predict.discount_rate_pct` (Pareto/NBD
    /// and BG/BB): all the customer's future purchases, each discounted to T.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dert: Option<f64>,
    /// The interval of `dert` (delta method).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dert_interval: Option<Bounds>,
}

/// The purchase-count distribution of a customer just acquired over the horizon.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurchaseCounts {
    /// P(X(horizon) = n) for n = 0 … k.
    pub probabilities: Vec<f64>,
    /// P(X(horizon) > k) = 1 − Σ probabilities.
    pub more: f64,
    /// The model's formula.
    pub formula: String,
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
    /// With `predict.purchase_counts`: the count distribution of a new customer over the
    /// horizon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population_purchase_counts: Option<PurchaseCounts>,
}

/// The fields of a fit summary as a purchase-model answer carries them: present after a
/// fit, absent when the caller gave the parameters (the spec's view of an optional flattened
/// fit).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FitFields {
    /// Parameters by name, in the model's order.
    #[schema(value_type = Option<std::collections::HashMap<String, super::report::Estimate>>)]
    parameters: (),
    /// The full log-likelihood at the estimates (comparable to published figures).
    #[schema(value_type = Option<f64>)]
    log_likelihood: (),
    #[schema(value_type = Option<bool>)]
    converged: (),
    #[schema(value_type = Option<u64>)]
    iterations: (),
    /// How the optimiser stopped.
    #[schema(value_type = Option<String>)]
    termination: (),
    /// The likelihood maximised.
    #[schema(value_type = Option<String>)]
    formula: (),
}

/// A purchase model's fit.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurchaseModelResponse {
    /// `bgnbd`, `mbgnbd`, `pareto_nbd` or `bgbb`.
    pub model: String,
    /// The fit, absent when the caller gave the parameters (`scored_with`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = FitFields))]
    pub fit: Option<FitSummary>,
    /// The parameters the caller gave instead of a fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<std::collections::HashMap<String, f64>>))]
    pub scored_with: Option<serde_json::Map<String, serde_json::Value>>,
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
    purchase_counts: Option<usize>,
    discount: Option<f64>,
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
            let no_purchase =
                |m: &dyn PurchaseModel| m.conditional_pmf(horizon_value, 0, x, tx, t).map(|p| p[0]);
            let p_none = no_purchase(model).ok_or_else(undefined)?;
            let counts = purchase_counts
                .map(|k| model.conditional_pmf(horizon_value, k, x, tx, t))
                .map(|p| p.ok_or_else(undefined))
                .transpose()?;
            let dert = discount
                .map(|d| model.dert(d, x, tx, t).ok_or_else(undefined))
                .transpose()?;
            let mut prediction = CustomerPrediction {
                id: c.id.clone(),
                frequency: x,
                recency: tx,
                t,
                p_alive,
                expected_purchases: expected,
                p_no_purchase: p_none,
                purchase_count_probabilities: counts,
                p_alive_interval: None,
                expected_purchases_interval: None,
                p_no_purchase_interval: None,
                dert,
                dert_interval: None,
            };
            if let Some((delta, at)) = delta {
                let g = delta
                    .gradients(|p| {
                        let m = at(p);
                        let mut values = vec![
                            m.p_alive(x, tx, t)?,
                            m.expected_purchases(horizon_value, x, tx, t)?,
                            no_purchase(m.as_ref())?,
                        ];
                        if let Some(d) = discount {
                            values.push(m.dert(d, x, tx, t)?);
                        }
                        Some(values)
                    })
                    .ok_or_else(undefined)?;
                let (g_alive, g_expected) = (g.column(0).into_owned(), g.column(1).into_owned());
                prediction.p_no_purchase_interval = Some(delta.bounds(
                    p_none,
                    delta.standard_error(&g.column(2).into_owned()),
                    (0.0, 1.0),
                ));
                if let Some(value) = dert {
                    prediction.dert_interval = Some(delta.bounds(
                        value,
                        delta.standard_error(&g.column(3).into_owned()),
                        (0.0, f64::INFINITY),
                    ));
                }
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
    let population_purchase_counts = purchase_counts
        .map(|k| {
            let probabilities = model
                .population_pmf(horizon_value, k)
                .ok_or_else(undefined)?;
            let more = (1.0 - probabilities.iter().sum::<f64>()).max(0.0);
            Ok::<_, InvalidInput>(PurchaseCounts {
                probabilities,
                more,
                formula: model.pmf_formula().to_owned(),
            })
        })
        .transpose()?;
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
        population_purchase_counts,
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
    for (c, (alive, purchases, none)) in answer.customers.iter_mut().zip(boot.customers) {
        c.p_alive_interval = Some(alive);
        c.expected_purchases_interval = Some(purchases);
        c.p_no_purchase_interval = Some(none);
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

fn mbgnbd_at(p: &[f64]) -> Box<dyn PurchaseModel> {
    Box::new(mbgnbd::MbgNbd {
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

fn bgbb_at(p: &[f64]) -> Box<dyn PurchaseModel> {
    Box::new(bgbb::BgBb {
        alpha: p[0],
        beta: p[1],
        gamma: p[2],
        delta: p[3],
    })
}

/// BG/NBD, MBG/NBD, Pareto/NBD or BG/BB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PurchaseModelName {
    #[default]
    Bgnbd,
    ParetoNbd,
    Mbgnbd,
    Bgbb,
}

impl PurchaseModelName {
    /// The name as the answers spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bgnbd => "bgnbd",
            Self::ParetoNbd => "pareto_nbd",
            Self::Mbgnbd => "mbgnbd",
            Self::Bgbb => "bgbb",
        }
    }

    /// The name as the literature writes it ("BG/NBD").
    pub fn label(self) -> &'static str {
        match self {
            Self::Bgnbd => "BG/NBD",
            Self::ParetoNbd => "Pareto/NBD",
            Self::Mbgnbd => "MBG/NBD",
            Self::Bgbb => "BG/BB",
        }
    }

    /// The parameters, in the fit's order.
    pub fn parameter_names(self) -> &'static [&'static str] {
        match self {
            Self::Bgnbd | Self::Mbgnbd => &["r", "alpha", "a", "b"],
            Self::ParetoNbd => &["r", "alpha", "s", "beta"],
            Self::Bgbb => &["alpha", "beta", "gamma", "delta"],
        }
    }

    /// The log-likelihood the fit maximises.
    pub fn formula(self) -> &'static str {
        match self {
            Self::Bgnbd => BGNBD_FORMULA,
            Self::ParetoNbd => PARETO_FORMULA,
            Self::Mbgnbd => MBGNBD_FORMULA,
            Self::Bgbb => BGBB_FORMULA,
        }
    }

    /// The model at given parameters.
    pub fn at(self) -> ModelAt {
        match self {
            Self::Bgnbd => bgnbd_at,
            Self::ParetoNbd => pareto_nbd_at,
            Self::Mbgnbd => mbgnbd_at,
            Self::Bgbb => bgbb_at,
        }
    }

    /// Maximises the model's likelihood on grouped rows.
    pub fn fit(self, grouped: &GroupedRfm, penalty: f64) -> FitOutcome {
        match self {
            Self::Bgnbd => bgnbd::fit(grouped, penalty).1,
            Self::ParetoNbd => pareto_nbd::fit(grouped, penalty).1,
            Self::Mbgnbd => mbgnbd::fit(grouped, penalty).1,
            Self::Bgbb => bgbb::fit(grouped, penalty).1,
        }
    }
}

const MBGNBD_FORMULA: &str = "ln L = ln Γ(r+x) - ln Γ(r) + r ln α + ln B(a, b+x+1) - ln B(a, b) + ln((α+T)^-(r+x) + a/(b+x) (α+t_x)^-(r+x))";
const BGBB_FORMULA: &str = "L = B(α+x, β+n-x)/B(α, β) B(γ, δ+n)/B(γ, δ) + Σ_{i=0}^{n-t_x-1} B(α+x, β+t_x-x+i)/B(α, β) B(γ+1, δ+t_x+i)/B(γ, δ)";
const BETA_GEOMETRIC_PMF: &str = "P(X(t)=n) = B(a, b+n)/B(a, b) NB(n) + δ(n>0) B(a+1, b+n-1)/B(a, b) P(NB ≥ n), NB(n) = Γ(r+n)/(Γ(r) n!) (α/(α+t))^r (t/(α+t))^n";
const MODIFIED_PMF: &str = "P(X(t)=n) = B(a, b+n+1)/B(a, b) NB(n) + B(a+1, b+n)/B(a, b) P(NB ≥ n), NB(n) = Γ(r+n)/(Γ(r) n!) (α/(α+t))^r (t/(α+t))^n";
const PARETO_PMF: &str =
    "P(X(t)=n) = B1 + B2 - B3 (Fader, Hardie & Lee, note 028, eq. 16 at x = t_x = T = 0)";
const BGBB_PMF: &str = "P(X(n)=x) = C(n, x) B(α+x, β+n-x)/B(α, β) B(γ, δ+n)/B(γ, δ) + Σ_{i=x}^{n-1} C(i, x) B(α+x, β+i-x)/B(α, β) B(γ+1, δ+i)/B(γ, δ)";

/// What every fitted purchase model predicts: per customer (P(alive), expected purchases,
/// through [`PurchasePredictor`]), for the population, and the purchase-count probabilities.
pub trait PurchaseModel: PurchasePredictor + Simulate {
    /// Expected repeat purchases of a randomly chosen customer by time `t` after the first.
    fn expected_purchases_population(&self, t: f64) -> Option<f64>;
    /// P(X(t) = n) for n = 0 … k of a customer just acquired.
    fn population_pmf(&self, t: f64, k: usize) -> Option<Vec<f64>>;
    /// P(X(T, T + horizon) = n | x, t_x, T) for n = 0 … k.
    fn conditional_pmf(&self, horizon: f64, k: usize, x: f64, tx: f64, t: f64) -> Option<Vec<f64>>;
    /// The formula of the count probabilities.
    fn pmf_formula(&self) -> &'static str;
    /// Discounted expected residual transactions of a customer at `discount` (the model's own
    /// convention), where the model has a closed form; `None` otherwise.
    fn dert(&self, _discount: f64, _x: f64, _tx: f64, _t: f64) -> Option<f64> {
        None
    }
}

impl PurchaseModel for bgnbd::BgNbd {
    fn expected_purchases_population(&self, t: f64) -> Option<f64> {
        bgnbd::BgNbd::expected_purchases_population(self, t)
    }
    fn population_pmf(&self, t: f64, k: usize) -> Option<Vec<f64>> {
        bgnbd::BgNbd::population_pmf(self, t, k)
    }
    fn conditional_pmf(&self, h: f64, k: usize, x: f64, tx: f64, t: f64) -> Option<Vec<f64>> {
        bgnbd::BgNbd::conditional_pmf(self, h, k, x, tx, t)
    }
    fn pmf_formula(&self) -> &'static str {
        BETA_GEOMETRIC_PMF
    }
}

impl PurchaseModel for mbgnbd::MbgNbd {
    fn expected_purchases_population(&self, t: f64) -> Option<f64> {
        mbgnbd::MbgNbd::expected_purchases_population(self, t)
    }
    fn population_pmf(&self, t: f64, k: usize) -> Option<Vec<f64>> {
        mbgnbd::MbgNbd::population_pmf(self, t, k)
    }
    fn conditional_pmf(&self, h: f64, k: usize, x: f64, tx: f64, t: f64) -> Option<Vec<f64>> {
        mbgnbd::MbgNbd::conditional_pmf(self, h, k, x, tx, t)
    }
    fn pmf_formula(&self) -> &'static str {
        MODIFIED_PMF
    }
}

impl PurchaseModel for pareto_nbd::ParetoNbd {
    fn expected_purchases_population(&self, t: f64) -> Option<f64> {
        pareto_nbd::ParetoNbd::expected_purchases_population(self, t)
    }
    fn population_pmf(&self, t: f64, k: usize) -> Option<Vec<f64>> {
        pareto_nbd::ParetoNbd::population_pmf(self, t, k)
    }
    fn conditional_pmf(&self, h: f64, k: usize, x: f64, tx: f64, t: f64) -> Option<Vec<f64>> {
        pareto_nbd::ParetoNbd::conditional_pmf(self, h, k, x, tx, t)
    }
    fn pmf_formula(&self) -> &'static str {
        PARETO_PMF
    }
    /// At the continuous rate ln(1 + d) for a discount rate d per unit of time.
    fn dert(&self, discount: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        pareto_nbd::ParetoNbd::dert(self, discount.ln_1p(), x, tx, t)
    }
}

impl PurchaseModel for bgbb::BgBb {
    fn expected_purchases_population(&self, t: f64) -> Option<f64> {
        bgbb::BgBb::expected_purchases_population(self, t)
    }
    fn population_pmf(&self, t: f64, k: usize) -> Option<Vec<f64>> {
        bgbb::BgBb::population_pmf(self, t, k)
    }
    fn conditional_pmf(&self, h: f64, k: usize, x: f64, tx: f64, t: f64) -> Option<Vec<f64>> {
        bgbb::BgBb::conditional_pmf(self, h, k, x, tx, t)
    }
    fn pmf_formula(&self) -> &'static str {
        BGBB_PMF
    }
    fn dert(&self, discount: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        bgbb::BgBb::dert(self, discount, x, tx, t)
    }
}

/// A purchase model, fitted or given, and the grouped rows it scores.
pub struct FittedPurchaseModel {
    pub model: Box<dyn PurchaseModel>,
    /// The fit's report; `None` when the parameters were given.
    pub fit: Option<FitSummary>,
    pub grouped: GroupedRfm,
    /// The estimates (natural scale, the model's order).
    pub params: Vec<f64>,
    /// The covariance of the log parameters; `None` where the Hessian is not positive definite
    /// or there was no fit.
    pub log_covariance: Option<DMatrix<f64>>,
    /// The model at other parameters (for the delta method).
    pub at: ModelAt,
}

/// Parameters by name, in `names`' order (the `scored_with` of an answer scored with given
/// parameters).
pub fn named(names: &[&str], params: &[f64]) -> serde_json::Map<String, serde_json::Value> {
    names
        .iter()
        .zip(params)
        .map(|(n, v)| ((*n).to_owned(), serde_json::Value::from(*v)))
        .collect()
}

/// Where a purchase model's parameters come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ParameterSource {
    /// Fitted to the customers, with this L2 penalty (0 for maximum likelihood).
    Fit { penalty: f64 },
    /// Given by the caller (natural scale, the model's order), checked positive and finite.
    Given(Vec<f64>),
}

/// Fits the named model to the customers (grouped into distinct rows first).
pub fn fit_purchase_model(
    name: PurchaseModelName,
    rows: &[CustomerSummary],
    penalty_value: f64,
    max_rows: usize,
) -> Result<FittedPurchaseModel, InvalidInput> {
    purchase_model(
        name,
        rows,
        &ParameterSource::Fit {
            penalty: penalty_value,
        },
        max_rows,
    )
}

/// The named model, fitted to the customers or at the given parameters.
pub fn purchase_model(
    name: PurchaseModelName,
    rows: &[CustomerSummary],
    source: &ParameterSource,
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
    let at = name.at();
    match source {
        ParameterSource::Fit { penalty } => {
            let outcome = name.fit(&grouped, *penalty);
            let fit = fit_summary(name.parameter_names(), &outcome, name.formula())?;
            Ok(FittedPurchaseModel {
                model: at(&outcome.params),
                fit: Some(fit),
                grouped,
                params: outcome.params,
                log_covariance: outcome.log_covariance,
                at,
            })
        }
        ParameterSource::Given(params) => Ok(FittedPurchaseModel {
            model: at(params),
            fit: None,
            grouped,
            params: params.clone(),
            log_covariance: None,
            at,
        }),
    }
}

/// What the predictions are asked for: the horizon, how their intervals are computed and at
/// what level, and up to which count the purchase-count probabilities go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictSettings {
    pub horizon: f64,
    pub uncertainty: Uncertainty,
    pub confidence: Confidence,
    pub purchase_counts: Option<usize>,
    /// The discount rate (a fraction per unit of time, or per period for BG/BB) of DERT.
    pub discount: Option<f64>,
}

/// Most customers × (k + 1)² the per-customer purchase-count probabilities may cost (the
/// Pareto/NBD's take k²/2 hypergeometric series per customer).
pub const MAX_COUNT_CELLS: f64 = 1_000_000.0;

impl PredictSettings {
    /// The count limit k checked: at most [`MAX_PURCHASE_COUNT`], and rows × (k+1)² at most
    /// [`MAX_COUNT_CELLS`].
    pub fn check_purchase_counts(
        k: Option<f64>,
        rows: usize,
        at: &str,
    ) -> Result<Option<usize>, InvalidInput> {
        let Some(k) = k else { return Ok(None) };
        if !(k >= 0.0 && k.fract() == 0.0 && k <= MAX_PURCHASE_COUNT as f64) {
            return Err(InvalidInput::new(
                at,
                format!("a whole number from 0 to {MAX_PURCHASE_COUNT}"),
                format!("purchase_counts {k}: give the largest count n of P(X = n), a whole number from 0 to {MAX_PURCHASE_COUNT}"),
            ));
        }
        let cells = rows as f64 * (k + 1.0) * (k + 1.0);
        if cells > MAX_COUNT_CELLS {
            return Err(InvalidInput::new(
                at,
                "customers × (purchase_counts + 1)² at most 1,000,000",
                format!("purchase_counts {k} for {rows} customer rows would cost {cells} cells; customers × (purchase_counts + 1)² may be at most 1,000,000: ask for fewer counts or score fewer customers per request"),
            ));
        }
        Ok(Some(k as usize))
    }
}

impl FittedPurchaseModel {
    /// The delta method at `confidence`, when the fit has a covariance.
    pub fn delta(&self, confidence: Confidence) -> Option<(Delta, ModelAt)> {
        let cov = self.log_covariance.clone()?;
        Some((Delta::new(&self.params, cov, confidence), self.at))
    }
}

/// Fits a purchase model (or takes the caller's parameters) and, given a horizon, predicts
/// each customer's P(alive), expected purchases, chance of none and (on request) purchase-count
/// probabilities, and the population curve, with their intervals when asked (the answer of
/// `/models/bgnbd`, `/models/mbgnbd`, `/models/pareto-nbd` and `/models/bgbb`).
pub fn purchase_model_report(
    name: PurchaseModelName,
    rows: &[CustomerSummary],
    source: &ParameterSource,
    predict: Option<PredictSettings>,
    max_rows: usize,
) -> Result<PurchaseModelResponse, InvalidInput> {
    if let Some(PredictSettings {
        uncertainty: Uncertainty::Bootstrap { draws, .. },
        ..
    }) = predict
    {
        super::bootstrap::check_work(name, rows, draws)?;
    }
    if let (ParameterSource::Given(_), Some(settings)) = (source, predict) {
        if matches!(settings.uncertainty, Uncertainty::Bootstrap { .. }) {
            return Err(InvalidInput::new(
                "/predict/uncertainty/method",
                "delta or none with given parameters",
                "the bootstrap refits the model to data simulated from a fit: with given parameters there is none; give method \"none\" or fit the model",
            ));
        }
    }
    if let Some(settings) = predict {
        if settings.discount.is_some()
            && matches!(name, PurchaseModelName::Bgnbd | PurchaseModelName::Mbgnbd)
        {
            return Err(InvalidInput::new(
                "/predict/discount_rate_pct",
                "DERT is given for pareto_nbd and bgbb",
                format!("{} has no closed form for the discounted expected residual transactions (the dropout after each purchase makes it a two-dimensional integral); use /models/clv, which discounts the expected purchases period by period, or Pareto/NBD", name.as_str()),
            ));
        }
    }
    let fitted = purchase_model(name, rows, source, max_rows)?;
    let mut notes = Vec::new();
    let predictions = match predict {
        Some(settings) => {
            let delta = match settings.uncertainty {
                Uncertainty::Delta => fitted.delta(settings.confidence),
                _ => None,
            };
            if settings.uncertainty == Uncertainty::Delta && delta.is_none() {
                notes.push(if fitted.fit.is_some() {
                    "No prediction intervals: the fit's Hessian is not positive definite, so its covariance is unknown.".to_owned()
                } else {
                    "No prediction intervals: the parameters were given, not fitted here, so their covariance is unknown.".to_owned()
                });
            }
            let delta = delta.as_ref().map(|(d, at)| (d, *at));
            let mut answer = predictions(
                fitted.model.as_ref(),
                rows,
                settings.horizon,
                settings.purchase_counts,
                settings.discount,
                delta,
            )?;
            if let Uncertainty::Bootstrap { draws, seed } = settings.uncertainty {
                if settings.discount.is_some() {
                    notes.push("DERT carries no bootstrap interval: the bootstrap covers P(alive), the expected purchases, the chance of none and the population curve.".to_owned());
                }
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
    let scored_with = match source {
        ParameterSource::Fit { penalty } => {
            notes.insert(
                0,
                format!(
                    "{} customers in {} distinct rows: identical rows are fitted once, weighted.",
                    grouped.customers, grouped.distinct_rows
                ),
            );
            if *penalty > 0.0 {
                notes.push(format!("L2 penalty {penalty}: these are penalised estimates, not the maximum-likelihood ones."));
            }
            None
        }
        ParameterSource::Given(params) => {
            notes.insert(
                0,
                format!(
                    "Scored with the parameters given, without a fit: {} customers in {} distinct rows.",
                    grouped.customers, grouped.distinct_rows
                ),
            );
            Some(named(name.parameter_names(), params))
        }
    };
    if name == PurchaseModelName::Bgbb {
        notes.push("BG/BB: recency and T are periods (t_x, n), the horizon whole periods; P(alive) is the chance of being alive through period n.".to_owned());
    }
    Ok(PurchaseModelResponse {
        model: name.as_str().to_owned(),
        customers: grouped.customers,
        distinct_rows: grouped.distinct_rows,
        fit: fitted.fit,
        scored_with,
        predictions,
        notes,
    })
}

/// Most frequencies, and most recency steps, of a [`p_alive_grid`].
pub const MAX_GRID_STEPS: usize = 60;

/// P(alive) over frequency and recency for customers observed for the longest T among `rows`
/// (lifetimes' `plot_probability_alive_matrix`): the picture of who is probably still a
/// customer.
#[derive(Debug, Clone, PartialEq)]
pub struct PAliveGrid {
    /// T of every cell: the longest observation among the customers.
    pub t: f64,
    /// The frequencies of the rows, 0, 1, … up to the largest seen (at most
    /// [`MAX_GRID_STEPS`] rows, evenly spaced whole numbers beyond that).
    pub frequencies: Vec<f64>,
    /// The recencies of the columns, from 0 to T: whole periods for BG/BB, otherwise the
    /// middles of [`MAX_GRID_STEPS`] equal steps.
    pub recencies: Vec<f64>,
    /// `p_alive[i][j]` at `frequencies[i]` and `recencies[j]`; `None` where no customer can be
    /// (a repeat purchase at recency 0, or more purchases than periods by recency).
    pub p_alive: Vec<Vec<Option<f64>>>,
}

/// The [`PAliveGrid`] of a model over the customers it was fitted to (`discrete`: BG/BB, whose
/// recency counts whole periods and whose frequency cannot exceed it). At most
/// [`MAX_GRID_STEPS`]² cells, so the work is bounded whatever the data.
pub fn p_alive_grid(
    model: &dyn PurchaseModel,
    rows: &[CustomerSummary],
    discrete: bool,
) -> PAliveGrid {
    let t = rows.iter().map(|r| r.t).fold(0.0_f64, f64::max);
    let max_x = rows.iter().map(|r| r.frequency).fold(0.0_f64, f64::max);
    let steps = |top: f64| -> Vec<f64> {
        let top = top.max(0.0).round();
        if top < MAX_GRID_STEPS as f64 {
            (0..=top as usize).map(|i| i as f64).collect()
        } else {
            (0..MAX_GRID_STEPS)
                .map(|i| (top * i as f64 / (MAX_GRID_STEPS - 1) as f64).round())
                .collect()
        }
    };
    let frequencies = steps(max_x);
    let recencies: Vec<f64> = if discrete {
        steps(t)
    } else {
        (0..MAX_GRID_STEPS)
            .map(|j| t * (j as f64 + 0.5) / MAX_GRID_STEPS as f64)
            .collect()
    };
    let p_alive = frequencies
        .iter()
        .map(|&x| {
            recencies
                .iter()
                .map(|&tx| {
                    if x == 0.0 {
                        // No repeat purchase: recency is 0 whatever the column.
                        model.p_alive(0.0, 0.0, t)
                    } else if tx == 0.0 || (discrete && x > tx) {
                        None
                    } else {
                        model.p_alive(x, tx, t)
                    }
                    .filter(|p| p.is_finite())
                })
                .collect()
        })
        .collect();
    PAliveGrid {
        t,
        frequencies,
        recencies,
        p_alive,
    }
}

#[cfg(test)]
mod grid_tests {
    use super::*;

    fn row(frequency: f64, recency: f64, t: f64) -> CustomerSummary {
        CustomerSummary {
            id: None,
            frequency,
            recency,
            t,
            monetary_value: None,
            count: 1.0,
        }
    }

    #[test]
    fn the_grid_is_p_alive_at_the_longest_t_and_falls_with_time_since_the_last_purchase() {
        let model = PurchaseModelName::Bgnbd.at()(&[0.243, 4.414, 0.793, 2.426]);
        let rows = [
            row(2.0, 30.0, 38.0),
            row(5.0, 10.0, 39.0),
            row(0.0, 0.0, 20.0),
        ];
        let grid = p_alive_grid(model.as_ref(), &rows, false);
        assert_eq!(grid.t, 39.0);
        assert_eq!(grid.frequencies, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(grid.recencies.len(), MAX_GRID_STEPS);
        assert_eq!(grid.p_alive[0][7], Some(1.0));
        let (x, j) = (3, 20);
        assert_eq!(
            grid.p_alive[x][j],
            model.p_alive(3.0, grid.recencies[j], 39.0)
        );
        // A longer gap since the last purchase: less likely alive.
        assert!(grid.p_alive[5][10].unwrap() < grid.p_alive[5][50].unwrap());
    }

    #[test]
    fn bgbb_cells_with_more_purchases_than_periods_are_empty() {
        let model = PurchaseModelName::Bgbb.at()(&[1.2, 0.75, 0.66, 2.78]);
        let rows = [row(3.0, 4.0, 6.0), row(6.0, 6.0, 6.0)];
        let grid = p_alive_grid(model.as_ref(), &rows, true);
        assert_eq!(grid.recencies, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(grid.p_alive[3][2], None);
        assert!(grid.p_alive[3][3].is_some());
        assert!(grid.p_alive[6][6].unwrap() > 0.9);
    }
}
