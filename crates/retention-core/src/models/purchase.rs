//! The purchase models as one: the [`PurchaseModel`] trait each fitted model implements, the
//! fit by name, and the predictions a purchase-model answer carries.

use serde::{Deserialize, Serialize};

use super::report::{fit_summary, FitSummary};
use super::rfm::{CustomerSummary, GroupedRfm};
use super::value::PurchasePredictor;
use super::{bgnbd, pareto_nbd};
use crate::kpi::InvalidInput;

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
}

/// A point of the population's expected cumulative purchases.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurvePoint {
    pub t: f64,
    /// Expected repeat purchases of a randomly chosen customer by time t after the first.
    pub expected_purchases: f64,
}

/// Predictions of a purchase model.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurchasePredictions {
    pub horizon: f64,
    pub customers: Vec<CustomerPrediction>,
    /// Σ over customers of expected purchases in the horizon.
    pub total_expected_purchases: f64,
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

fn predictions(
    model: &dyn PurchaseModel,
    rows: &[CustomerSummary],
    horizon_value: f64,
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
                expected_purchases: model
                    .expected_purchases_population(t)
                    .ok_or_else(undefined)?,
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
    let (model, fit): (Box<dyn PurchaseModel>, FitSummary) = match name {
        PurchaseModelName::Bgnbd => {
            let (model, outcome) = bgnbd::fit(&grouped, penalty_value);
            let fit = fit_summary(&["r", "alpha", "a", "b"], &outcome, BGNBD_FORMULA)?;
            (Box::new(model), fit)
        }
        PurchaseModelName::ParetoNbd => {
            let (model, outcome) = pareto_nbd::fit(&grouped, penalty_value);
            let fit = fit_summary(&["r", "alpha", "s", "beta"], &outcome, PARETO_FORMULA)?;
            (Box::new(model), fit)
        }
    };
    Ok(FittedPurchaseModel {
        model,
        fit,
        grouped,
    })
}

/// Fits a purchase model and, given a horizon, predicts each customer's P(alive) and expected
/// purchases and the population curve (the answer of `/models/bgnbd` and `/models/pareto-nbd`).
pub fn purchase_model_report(
    name: PurchaseModelName,
    rows: &[CustomerSummary],
    penalty_value: f64,
    horizon_value: Option<f64>,
    max_rows: usize,
) -> Result<PurchaseModelResponse, InvalidInput> {
    let fitted = fit_purchase_model(name, rows, penalty_value, max_rows)?;
    let predictions = horizon_value
        .map(|h| predictions(fitted.model.as_ref(), rows, h))
        .transpose()?;
    let grouped = &fitted.grouped;
    let mut notes = vec![format!(
        "{} customers in {} distinct rows: identical rows are fitted once, weighted.",
        grouped.customers, grouped.distinct_rows
    )];
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
