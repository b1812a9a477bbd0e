//! Spend: the Gamma-Gamma fit on customers with repeat purchases, each customer's expected
//! spend, and the frequency–monetary correlation that checks the model's assumption.

use nalgebra::DMatrix;
use serde::Serialize;

use super::gamma_gamma;
use super::purchase::ParameterSource;
use super::report::{fit_summary, FitSummary};
use super::rfm::CustomerSummary;
use super::uncertainty::Delta;
use crate::kpi::{Bounds, Confidence, IntervalMethod, InvalidInput};

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
    /// The interval of `expected_spend`, at the answer's `intervals` level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_spend_interval: Option<Bounds>,
    /// Whether the customer was in the fit (x ≥ 1 and m̄ > 0).
    pub fitted: bool,
}

/// A Gamma-Gamma fit.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GammaGammaResponse {
    pub model: String,
    /// The fit, absent when the caller gave the parameters (`scored_with`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = super::purchase::FitFields))]
    pub fit: Option<FitSummary>,
    /// The parameters the caller gave instead of a fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<std::collections::HashMap<String, f64>>))]
    pub scored_with: Option<serde_json::Map<String, serde_json::Value>>,
    /// Customers in the fit and left out (no repeat purchase, or a zero amount).
    pub customers_fitted: f64,
    pub customers_left_out: f64,
    /// Pearson correlation of frequency and monetary value among fitted customers: the model
    /// assumes they are independent, so a value far from 0 warns against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_monetary_correlation: Option<f64>,
    pub customers: Vec<SpendPrediction>,
    /// How the expected-spend intervals were computed and their level; absent when they were
    /// not asked for or the fit gives no covariance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intervals: Option<IntervalMethod>,
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

/// The fitted spend model, its summary, the (x, m̄, weight) rows it was fitted on, and the
/// covariance of its log parameters (p, q, γ).
pub struct SpendFit {
    pub model: gamma_gamma::GammaGamma,
    pub summary: FitSummary,
    pub fitted: Vec<(f64, f64, f64)>,
    pub log_covariance: Option<DMatrix<f64>>,
}

impl SpendFit {
    /// The delta method at `confidence`, when the fit has a covariance.
    pub fn delta(&self, confidence: Confidence) -> Option<Delta> {
        let m = &self.model;
        let cov = self.log_covariance.clone()?;
        Some(Delta::new(&[m.p, m.q, m.gamma], cov, confidence))
    }
}

/// Gamma-Gamma at parameters (p, q, γ).
pub fn gamma_gamma_at(params: &[f64]) -> gamma_gamma::GammaGamma {
    gamma_gamma::GammaGamma {
        p: params[0],
        q: params[1],
        gamma: params[2],
    }
}

/// The (x, m̄, count) rows of the customers the spend model learns from: at least one repeat
/// purchase and a positive amount.
fn spend_rows(rows: &[CustomerSummary]) -> Vec<(f64, f64, f64)> {
    rows.iter()
        .filter_map(|c| {
            let m = c.monetary_value.unwrap_or(0.0);
            (c.frequency >= 1.0 && m > 0.0).then_some((c.frequency, m, c.count))
        })
        .collect()
}

/// The Gamma-Gamma parameter names, in the fit's order.
pub const GAMMA_GAMMA_PARAMETERS: [&str; 3] = ["p", "q", "gamma"];

pub fn spend_model(rows: &[CustomerSummary], penalty_value: f64) -> Result<SpendFit, InvalidInput> {
    let fitted = spend_rows(rows);
    if fitted.len() < 2 {
        return Err(InvalidInput::new("/customers", "at least two customers with repeat purchases and spend", "Gamma-Gamma needs customers with at least one repeat purchase and a positive monetary_value: fewer than two were given"));
    }
    let (model, outcome) = gamma_gamma::fit(&fitted, penalty_value);
    let summary = fit_summary(&GAMMA_GAMMA_PARAMETERS, &outcome, GAMMA_GAMMA_FORMULA)?;
    if model.q <= 1.0 {
        return Err(InvalidInput::new("/customers", "spend model without a finite mean", format!("the fitted q is {:.4} ≤ 1: the population's mean spend is infinite, so no expected spend can be given", model.q)));
    }
    Ok(SpendFit {
        model,
        summary,
        fitted,
        log_covariance: outcome.log_covariance,
    })
}

pub fn expected_spend(model: &gamma_gamma::GammaGamma, c: &CustomerSummary) -> Option<(f64, bool)> {
    let m = c.monetary_value.unwrap_or(0.0);
    if c.frequency >= 1.0 && m > 0.0 {
        model.expected_spend(c.frequency, m).map(|v| (v, true))
    } else {
        model.expected_spend(0.0, 0.0).map(|v| (v, false))
    }
}

/// Fits Gamma-Gamma (or takes the given p, q, γ) and gives each customer's expected spend, with
/// its interval by the delta method at `intervals` (docs/formulas.md § 12.6) when given and
/// fitted (the answer of `/models/gamma-gamma`); every row needs a `monetary_value`.
pub fn gamma_gamma_report(
    rows: &[CustomerSummary],
    source: &ParameterSource,
    intervals: Option<Confidence>,
) -> Result<GammaGammaResponse, InvalidInput> {
    if let Some(i) = rows.iter().position(|c| c.monetary_value.is_none()) {
        return Err(InvalidInput::new(
            format!("/customers/{i}/monetary_value"),
            "required",
            format!("customers[{i}] has no monetary_value"),
        ));
    }
    let (model, summary, fitted, delta) = match source {
        ParameterSource::Fit { penalty } => {
            let spend_fit = spend_model(rows, *penalty)?;
            let delta = intervals.and_then(|c| spend_fit.delta(c));
            (
                spend_fit.model,
                Some(spend_fit.summary),
                spend_fit.fitted,
                delta,
            )
        }
        ParameterSource::Given(params) => {
            if params[1] <= 1.0 {
                return Err(InvalidInput::new(
                    "/parameters/q",
                    "must be greater than 1",
                    format!("q {} ≤ 1 leaves the population's mean spend infinite: no expected spend can be given", params[1]),
                ));
            }
            (gamma_gamma_at(params), None, spend_rows(rows), None)
        }
    };
    let model = &model;
    let undefined = || {
        InvalidInput::new(
            "",
            "expected spend undefined",
            "the fitted parameters leave the expected spend undefined",
        )
    };
    let customers = rows
        .iter()
        .map(|c| {
            let (spend, in_fit) = expected_spend(model, c).ok_or_else(undefined)?;
            let interval = match &delta {
                Some(delta) => {
                    let g = delta
                        .gradients(|p| Some(vec![expected_spend(&gamma_gamma_at(p), c)?.0]))
                        .ok_or_else(undefined)?;
                    let se = delta.standard_error(&g.column(0).into_owned());
                    Some(delta.bounds(spend, se, (0.0, f64::INFINITY)))
                }
                None => None,
            };
            Ok(SpendPrediction {
                id: c.id.clone(),
                frequency: c.frequency,
                monetary_value: c.monetary_value.unwrap_or(0.0),
                expected_spend: spend,
                expected_spend_interval: interval,
                fitted: in_fit,
            })
        })
        .collect::<Result<Vec<_>, InvalidInput>>()?;
    let fitted = &fitted;
    let customers_fitted: f64 = fitted.iter().map(|r| r.2).sum();
    let all: f64 = rows.iter().map(|c| c.count).sum();
    let mut notes = Vec::new();
    if intervals.is_some() && delta.is_none() {
        notes.push(if summary.is_some() {
            "No intervals: the fit's Hessian is not positive definite, so its covariance is unknown.".to_owned()
        } else {
            "No intervals: the parameters were given, not fitted here, so their covariance is unknown.".to_owned()
        });
    }
    let scored_with = match source {
        ParameterSource::Given(params) => {
            notes.insert(
                0,
                "Scored with the parameters given, without a fit.".to_owned(),
            );
            Some(super::purchase::named(&GAMMA_GAMMA_PARAMETERS, params))
        }
        ParameterSource::Fit { .. } => None,
    };
    if all > customers_fitted {
        notes.push(format!("{} customers with no repeat purchase or a zero amount were left out of the fit; their expected spend is the population mean.", all - customers_fitted));
    }
    Ok(GammaGammaResponse {
        model: "gamma_gamma".to_owned(),
        fit: summary,
        scored_with,
        customers_fitted,
        customers_left_out: all - customers_fitted,
        frequency_monetary_correlation: correlation(fitted),
        customers,
        intervals: delta.map(|d| IntervalMethod {
            level_pct: d.confidence().level() * 100.0,
            method: super::purchase::DELTA_METHOD.into(),
        }),
        notes,
    })
}
