//! Predicted customer lifetime value from a purchase model and Gamma-Gamma, assembled for a
//! retention team: each customer's value and rank, the population's value by period, value
//! tiers, and the customers at risk.
//!
//! # Formula
//! `CLV = Σ_k (E[Y(t_k)] − E[Y(t_(k−1))]) × E[M] × margin / (1 + d)^k` over the discounting
//! periods of the horizon (see [`super::value::customer_value`]).

use nalgebra::{DMatrix, DVector};
use serde::Serialize;

use super::purchase::{
    fit_purchase_model, FittedPurchaseModel, PurchaseModelName, PurchaseModelResponse,
    DELTA_METHOD, MAX_CURVE_POINTS,
};
use super::report::FitSummary;
use super::rfm::CustomerSummary;
use super::spend::{expected_spend, gamma_gamma_at, spend_model, SpendFit};
use super::uncertainty::Delta;
use super::value::{customer_value, tiers, CustomerValue, ValuationTerms};
use crate::input::{fraction, horizon};
use crate::kpi::{Bounds, Confidence, IntervalMethod, InvalidInput};

/// The terms of a CLV request as the caller sent them (each optional one with its default).
#[derive(Debug, Clone, Default)]
pub struct ClvSettings {
    pub purchase_model: PurchaseModelName,
    pub horizon: f64,
    pub period_length: Option<f64>,
    pub discount_rate_pct: Option<f64>,
    pub margin_pct: Option<f64>,
    pub tier_cuts: Option<Vec<f64>>,
    pub at_risk_p_alive_below: Option<f64>,
    pub at_risk_min_past_value: Option<f64>,
    /// The level of the CLV intervals; `None`: no intervals.
    pub intervals: Option<Confidence>,
}

/// The terms checked: what [`model_clv`] works with.
#[derive(Debug, Clone)]
pub struct ClvOptions {
    pub purchase_model: PurchaseModelName,
    pub terms: ValuationTerms,
    pub tier_cuts: Vec<f64>,
    pub at_risk_p_alive_below: f64,
    /// None: the median past value of the customers with repeat purchases.
    pub at_risk_min_past_value: Option<f64>,
    /// The level of the CLV intervals; `None`: no intervals.
    pub intervals: Option<Confidence>,
}

impl ClvSettings {
    /// Checks every term, naming the field of the first one refused.
    pub fn validate(self) -> Result<ClvOptions, InvalidInput> {
        let horizon_value = horizon(self.horizon, "/horizon")?;
        let period_length = self.period_length.unwrap_or(1.0);
        if !(period_length.is_finite() && period_length > 0.0)
            || horizon_value / period_length > MAX_CURVE_POINTS
        {
            return Err(InvalidInput::new("/period_length", "must be positive, with at most 1000 periods in the horizon", format!("period_length {period_length} must be positive and cut the horizon into at most 1000 periods")));
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
            ));
        }
        let threshold = fraction(
            self.at_risk_p_alive_below,
            0.3,
            "/at_risk_p_alive_below",
            1.0,
        )?;
        let min_past = self
            .at_risk_min_past_value
            .map(|v| fraction(Some(v), 0.0, "/at_risk_min_past_value", f64::MAX))
            .transpose()?;
        Ok(ClvOptions {
            purchase_model: self.purchase_model,
            terms,
            tier_cuts: cuts,
            at_risk_p_alive_below: threshold,
            at_risk_min_past_value: min_past,
            intervals: self.intervals,
        })
    }
}

/// One customer's predicted value, in request order.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerClv {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub p_alive: f64,
    pub expected_purchases: f64,
    pub expected_spend: f64,
    pub clv: f64,
    /// The interval of `clv`, at the answer's `intervals` level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clv_interval: Option<Bounds>,
    /// 1 for the highest predicted CLV.
    pub rank: usize,
    /// frequency × monetary value: what the repeat purchases brought so far.
    pub past_value: f64,
}

/// One discounting period over all customers.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodValue {
    pub period: usize,
    /// End of the period in the data's time unit.
    pub t_end: f64,
    pub expected_purchases: f64,
    /// Σ expected purchases × spend × margin / (1 + d)^period.
    pub discounted_value: f64,
}

/// A value tier.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AtRisk {
    pub customer: String,
    pub p_alive: f64,
    pub past_value: f64,
    pub clv: f64,
}

/// Predicted CLV with the lists a retention team works from.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelClvResponse {
    pub purchase_model: PurchaseModelResponse,
    pub spend_model: GammaGammaSummary,
    pub formula: String,
    pub total_clv: f64,
    /// The interval of `total_clv` (the customers' gradients summed first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_clv_interval: Option<Bounds>,
    /// How the CLV intervals were computed and their level: the delta method over the
    /// purchase model's and Gamma-Gamma's parameters together (two independent fits, so a
    /// block-diagonal covariance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intervals: Option<IntervalMethod>,
    pub customers: Vec<CustomerClv>,
    pub by_period: Vec<PeriodValue>,
    pub tiers: Vec<TierSummary>,
    /// Highest past value first.
    pub at_risk: Vec<AtRisk>,
    pub notes: Vec<String>,
}

/// The spend model's fit inside a CLV answer.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GammaGammaSummary {
    #[serde(flatten)]
    pub fit: FitSummary,
    pub customers_fitted: f64,
}

/// Fits the purchase model and Gamma-Gamma on the same customers and values each of them (the
/// answer of `/models/clv`); every row needs a `monetary_value`.
pub fn model_clv(
    rows: &[CustomerSummary],
    options: &ClvOptions,
    max_rows: usize,
) -> Result<ModelClvResponse, InvalidInput> {
    if let Some(i) = rows.iter().position(|c| c.monetary_value.is_none()) {
        return Err(InvalidInput::new(
            format!("/customers/{i}/monetary_value"),
            "required",
            format!("customers[{i}] has no monetary_value: CLV needs spend"),
        ));
    }
    if options.purchase_model == PurchaseModelName::Bgbb {
        return Err(InvalidInput::new(
            "/purchase_model",
            "bgnbd, mbgnbd or pareto_nbd",
            "CLV here discounts purchases over continuous time; BG/BB counts whole periods: use /models/bgbb for its expected purchases, or a continuous-time model here",
        ));
    }
    let purchases = fit_purchase_model(options.purchase_model, rows, 0.0, max_rows)?;
    let spend_fit = spend_model(rows, 0.0)?;
    let delta = options
        .intervals
        .and_then(|level| joint_delta(&purchases, &spend_fit, level));
    let SpendFit {
        model: spend,
        summary: spend_summary,
        fitted,
        ..
    } = spend_fit;
    let undefined = || {
        InvalidInput::new(
            "",
            "prediction undefined at these parameters",
            "the fitted parameters leave a prediction undefined",
        )
    };
    let terms = &options.terms;
    let values = rows
        .iter()
        .map(|c| {
            let (s, _) = expected_spend(&spend, c).ok_or_else(undefined)?;
            customer_value(
                purchases.model.as_ref(),
                terms,
                (c.frequency, c.recency, c.t),
                s,
            )
            .ok_or_else(undefined)
        })
        .collect::<Result<Vec<_>, InvalidInput>>()?;
    let (clv_intervals, total_gradient) = match &delta {
        Some(delta) => {
            let at = purchases.at;
            let mut total: Option<DVector<f64>> = None;
            let mut bounds = Vec::with_capacity(rows.len());
            for (i, (c, v)) in rows.iter().zip(&values).enumerate() {
                if crate::cancel::stop_at(i) {
                    return Err(InvalidInput::new(
                        "",
                        "the prediction was cancelled",
                        "the prediction was cancelled before it finished",
                    ));
                }
                let g = delta
                    .gradients(|p| {
                        let (s, _) = expected_spend(&gamma_gamma_at(&p[4..]), c)?;
                        let model = at(&p[..4]);
                        let value = customer_value(
                            model.as_ref(),
                            terms,
                            (c.frequency, c.recency, c.t),
                            s,
                        )?;
                        Some(vec![value.clv])
                    })
                    .ok_or_else(undefined)?;
                let g = g.column(0).into_owned();
                bounds.push(Some(delta.bounds(
                    v.clv,
                    delta.standard_error(&g),
                    (0.0, f64::INFINITY),
                )));
                let weighted = g * c.count;
                total = Some(match total.take() {
                    Some(sum) => sum + weighted,
                    None => weighted,
                });
            }
            (bounds, total)
        }
        None => (vec![None; rows.len()], None),
    };
    let clvs: Vec<f64> = values.iter().map(|v| v.clv).collect();
    let weights: Vec<f64> = rows.iter().map(|c| c.count).collect();
    let (rank, tier_list) = tiers(&clvs, &weights, &options.tier_cuts);
    let name = |i: usize| rows[i].id.clone().unwrap_or_else(|| i.to_string());
    let past: Vec<f64> = rows
        .iter()
        .map(|c| c.frequency * c.monetary_value.unwrap_or(0.0))
        .collect();
    let min_past = options
        .at_risk_min_past_value
        .unwrap_or_else(|| median_repeat_value(&past));
    let threshold = options.at_risk_p_alive_below;
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
    let total_clv: f64 = values.iter().zip(rows).map(|(v, c)| v.clv * c.count).sum();
    let total_clv_interval = delta
        .as_ref()
        .zip(total_gradient)
        .map(|(d, g)| d.bounds(total_clv, d.standard_error(&g), (0.0, f64::INFINITY)));
    let customers = values
        .iter()
        .enumerate()
        .map(|(i, v)| CustomerClv {
            id: rows[i].id.clone(),
            p_alive: v.p_alive,
            expected_purchases: v.expected_purchases,
            expected_spend: v.expected_spend,
            clv: v.clv,
            clv_interval: clv_intervals[i],
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
    Ok(ModelClvResponse {
        purchase_model: PurchaseModelResponse {
            model: options.purchase_model.as_str().to_owned(),
            customers: purchases.grouped.customers,
            distinct_rows: purchases.grouped.distinct_rows,
            fit: purchases.fit,
            scored_with: None,
            predictions: None,
            notes: vec![],
        },
        spend_model: GammaGammaSummary {
            fit: spend_summary,
            customers_fitted: fitted.iter().map(|r| r.2).sum(),
        },
        formula: "CLV = Σ_k (E[Y(t_k)] - E[Y(t_(k-1))]) × E[M] × margin / (1 + d)^k".to_owned(),
        total_clv,
        total_clv_interval,
        intervals: delta.as_ref().map(|d| IntervalMethod {
            level_pct: d.confidence().level() * 100.0,
            method: DELTA_METHOD.into(),
        }),
        customers,
        by_period: by_period(&values, rows, terms),
        tiers,
        at_risk,
        notes: {
            let mut notes = vec![format!(
                "At risk: P(alive) below {threshold} with a past value of at least {min_past:.2}."
            )];
            if options.intervals.is_some() && delta.is_none() {
                notes.push("No CLV intervals: a fit's Hessian is not positive definite, so its covariance is unknown.".to_owned());
            }
            notes
        },
    })
}

/// The delta method over the purchase model's parameters followed by Gamma-Gamma's (p, q, γ),
/// with the block-diagonal covariance of two independent fits; `None` when either fit has no
/// covariance.
fn joint_delta(
    purchases: &FittedPurchaseModel,
    spend: &SpendFit,
    confidence: Confidence,
) -> Option<Delta> {
    let (a, b) = (
        purchases.log_covariance.as_ref()?,
        spend.log_covariance.as_ref()?,
    );
    let (k, l) = (a.nrows(), b.nrows());
    let mut cov = DMatrix::zeros(k + l, k + l);
    cov.view_mut((0, 0), (k, k)).copy_from(a);
    cov.view_mut((k, k), (l, l)).copy_from(b);
    let m = &spend.model;
    let params: Vec<f64> = purchases
        .params
        .iter()
        .copied()
        .chain([m.p, m.q, m.gamma])
        .collect();
    Some(Delta::new(&params, cov, confidence))
}

/// The median past value of the customers with repeat purchases (the upper median of an even
/// count); infinite when none has one, so that nobody is at risk.
fn median_repeat_value(past: &[f64]) -> f64 {
    let mut repeaters: Vec<f64> = past.iter().copied().filter(|v| *v > 0.0).collect();
    repeaters.sort_by(f64::total_cmp);
    repeaters
        .get(repeaters.len() / 2)
        .copied()
        .unwrap_or(f64::INFINITY)
}

/// The population's expected purchases and discounted value in each period.
fn by_period(
    values: &[CustomerValue],
    rows: &[CustomerSummary],
    terms: &ValuationTerms,
) -> Vec<PeriodValue> {
    terms
        .period_ends()
        .iter()
        .enumerate()
        .map(|(k, &t_end)| {
            let purchases: f64 = values
                .iter()
                .zip(rows)
                .map(|(v, c)| v.purchases_by_period[k] * c.count)
                .sum();
            let spend: f64 = values
                .iter()
                .zip(rows)
                .map(|(v, c)| v.purchases_by_period[k] * v.expected_spend * c.count)
                .sum();
            PeriodValue {
                period: k + 1,
                t_end,
                expected_purchases: purchases,
                discounted_value: terms.discounted(spend, k),
            }
        })
        .collect()
}
