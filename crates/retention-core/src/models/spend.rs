//! Spend: the Gamma-Gamma fit on customers with repeat purchases, each customer's expected
//! spend, and the frequency–monetary correlation that checks the model's assumption.

use serde::Serialize;

use super::gamma_gamma;
use super::report::{fit_summary, FitSummary};
use super::rfm::CustomerSummary;
use crate::kpi::InvalidInput;

/// One customer's expected spend, in request order.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
pub type SpendFit = (gamma_gamma::GammaGamma, FitSummary, Vec<(f64, f64, f64)>);

pub fn spend_model(rows: &[CustomerSummary], penalty_value: f64) -> Result<SpendFit, InvalidInput> {
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

pub fn expected_spend(model: &gamma_gamma::GammaGamma, c: &CustomerSummary) -> Option<(f64, bool)> {
    let m = c.monetary_value.unwrap_or(0.0);
    if c.frequency >= 1.0 && m > 0.0 {
        model.expected_spend(c.frequency, m).map(|v| (v, true))
    } else {
        model.expected_spend(0.0, 0.0).map(|v| (v, false))
    }
}

/// Fits Gamma-Gamma and gives each customer's expected spend (the answer of
/// `/models/gamma-gamma`); every row needs a `monetary_value`.
pub fn gamma_gamma_report(
    rows: &[CustomerSummary],
    penalty_value: f64,
) -> Result<GammaGammaResponse, InvalidInput> {
    if let Some(i) = rows.iter().position(|c| c.monetary_value.is_none()) {
        return Err(InvalidInput::new(
            format!("/customers/{i}/monetary_value"),
            "required",
            format!("customers[{i}] has no monetary_value"),
        ));
    }
    let (model, fit, fitted) = spend_model(rows, penalty_value)?;
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
