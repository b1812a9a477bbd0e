//! Shifted-beta-geometric (Fader & Hardie 2007, "How to project customer retention"):
//! each customer renews each period with probability 1 − θ, θ ~ B(α, β) across customers.

use serde::Serialize;

use super::fit::{maximise, FitOutcome, NegLogLikelihood};
use super::report::{fit_summary, FitSummary};
use super::uncertainty::Delta;
use crate::input::{fraction, WholeCount};
use crate::kpi::{Bounds, Confidence, IntervalMethod, InvalidInput};

/// Fitted sBG parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sbg {
    pub alpha: f64,
    pub beta: f64,
}

impl Sbg {
    /// P(T = t) for t = 1..=n: `P(1) = α/(α+β)`, `P(t) = P(t−1) (β+t−2)/(α+β+t−1)`.
    pub fn churn_probabilities(&self, n: usize) -> Vec<f64> {
        let (a, b) = (self.alpha, self.beta);
        let mut p = Vec::with_capacity(n);
        let mut current = a / (a + b);
        for t in 1..=n {
            if t > 1 {
                let t = t as f64;
                current *= (b + t - 2.0) / (a + b + t - 1.0);
            }
            p.push(current);
        }
        p
    }

    /// S(t) for t = 0..=n: `S(0) = 1`, `S(t) = S(t−1) × (β+t−1)/(α+β+t−1)`.
    pub fn survival(&self, n: usize) -> Vec<f64> {
        let (a, b) = (self.alpha, self.beta);
        let mut s = Vec::with_capacity(n + 1);
        let mut current = 1.0;
        s.push(current);
        for t in 1..=n {
            let t = t as f64;
            current *= (b + t - 1.0) / (a + b + t - 1.0);
            s.push(current);
        }
        s
    }

    /// Retention rate of period t ≥ 1: `r_t = (β+t−1)/(α+β+t−1)`, rising with t as the
    /// customers most likely to leave have left.
    pub fn retention_rate(&self, t: usize) -> f64 {
        let t = t as f64;
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }

    /// `E[T]` = (α+β−1)/(α−1) periods, finite only for α > 1.
    pub fn expected_lifetime(&self) -> Option<f64> {
        (self.alpha > 1.0).then(|| (self.alpha + self.beta - 1.0) / (self.alpha - 1.0))
    }

    /// The smallest t with S(t) ≤ 0.5 (periods; None beyond 10,000 periods).
    pub fn median_lifetime(&self) -> Option<usize> {
        let mut s = 1.0;
        for t in 1..=10_000usize {
            s *= self.retention_rate(t);
            if s <= 0.5 {
                return Some(t);
            }
        }
        None
    }

    /// Discounted expected lifetime `DEL = Σ_{t≥0} S(t) / (1+d)^t` in periods: a payment at
    /// the start of every period the customer is still there. Summed until terms fall below
    /// 1e-12 of the total (d > 0 makes it converge).
    pub fn discounted_expected_lifetime(&self, discount: f64) -> Option<f64> {
        if discount <= 0.0 {
            return None;
        }
        let mut total = 0.0;
        let mut term = 1.0;
        for t in 1..=1_000_000usize {
            total += term;
            term *= self.retention_rate(t) / (1.0 + discount);
            if term < 1e-12 * total {
                return Some(total + term);
            }
        }
        None
    }
}

/// Survivors S₀ ≥ S₁ ≥ … ≥ S_n of one cohort (S₀ > 0).
pub struct Likelihood<'a> {
    pub survivors: &'a [f64],
}

impl NegLogLikelihood for Likelihood<'_> {
    /// # Formula
    /// `ln L = Σ_{t=1..n} (S_{t−1} − S_t) ln P(T = t) + S_n ln S(n)` with the recursions
    /// `ln P(1) = ln α − ln(α+β)`, `ln P(t) = ln P(t−1) + ln(β+t−2) − ln(α+β+t−1)` and
    /// `ln S(t) = ln S(t−1) + ln(β+t−1) − ln(α+β+t−1)`, differentiated term by term. Sums of
    /// logarithms of ratios stay exact where α and β are large (a cohort whose churn barely
    /// varies), where differences of ln Γ would lose the likelihood's slope to rounding.
    fn value_and_gradient(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let (a, b) = (p[0], p[1]);
        let n = self.survivors.len() - 1;
        // ln P(t) and its derivatives, then ln S(t) and its derivatives, advanced together.
        let (mut lp, mut lp_a, mut lp_b) = ((a / (a + b)).ln(), b / (a * (a + b)), -1.0 / (a + b));
        let (mut ls, mut ls_a, mut ls_b) = (0.0, 0.0, 0.0);
        let (mut ll, mut ga, mut gb) = (0.0, 0.0, 0.0);
        for t in 1..=n {
            let tf = t as f64;
            if t > 1 {
                let (num, den) = (b + tf - 2.0, a + b + tf - 1.0);
                lp += (num / den).ln();
                lp_a -= 1.0 / den;
                lp_b += (a + 1.0) / (num * den);
            }
            let (num, den) = (b + tf - 1.0, a + b + tf - 1.0);
            ls += (num / den).ln();
            ls_a -= 1.0 / den;
            ls_b += a / (num * den);
            let lost = self.survivors[t - 1] - self.survivors[t];
            if lost > 0.0 {
                ll += lost * lp;
                ga += lost * lp_a;
                gb += lost * lp_b;
            }
        }
        let last = self.survivors[n];
        if last > 0.0 {
            ll += last * ls;
            ga += last * ls_a;
            gb += last * ls_b;
        }
        (-ll, vec![-ga, -gb])
    }

    fn weight(&self) -> f64 {
        self.survivors[0]
    }
}

/// Fits sBG from a cohort's survivor counts, starting at α = β = 1.
pub fn fit(survivors: &[f64]) -> (Sbg, FitOutcome) {
    let outcome = maximise(&Likelihood { survivors }, &[1.0, 1.0]);
    (
        Sbg {
            alpha: outcome.params[0],
            beta: outcome.params[1],
        },
        outcome,
    )
}

/// One period of the fitted and projected curve.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The interval of `survival` (delta method), at the answer's `intervals` level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub survival_interval: Option<Bounds>,
    /// The interval of `retention_rate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_rate_interval: Option<Bounds>,
    /// True beyond the data.
    pub projected: bool,
}

/// The sBG fit.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SbgResponse {
    pub model: String,
    #[serde(flatten)]
    pub fit: FitSummary,
    pub periods: Vec<SbgPeriod>,
    /// `E[T]` = (α+β−1)/(α−1) periods; absent when α ≤ 1 (the mean lifetime is infinite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_lifetime: Option<f64>,
    /// The interval of `expected_lifetime` (delta method).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_lifetime_interval: Option<Bounds>,
    /// The first period by which half the cohort has left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_lifetime: Option<usize>,
    /// DEL = Σ_{t≥0} S(t) / (1+d)^t: discounted periods a new customer stays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discounted_expected_lifetime: Option<f64>,
    /// The interval of `discounted_expected_lifetime` (delta method).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discounted_expected_lifetime_interval: Option<Bounds>,
    /// margin × DEL, when a margin is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discounted_expected_lifetime_value: Option<f64>,
    /// How the intervals were computed and their level; absent when they were not asked for
    /// or the fit gives no covariance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intervals: Option<IntervalMethod>,
    pub notes: Vec<String>,
}

/// Fits sBG to a cohort's survivor counts and projects it (the answer of `/models/sbg`):
/// `survivors` at the start of periods 0, 1, 2, …; `projection_periods` beyond the data
/// (default 5, at most 1000); the discount rate per period in percent (default 10) and the
/// margin per period for the discounted expected lifetime value. With `intervals`, each
/// survival, retention rate, the expected and the discounted expected lifetime carry an
/// interval by the delta method from the fit's covariance of (ln α, ln β) (docs/formulas.md
/// § 12.6).
pub fn sbg_report(
    survivors: &[f64],
    projection_periods: Option<u64>,
    discount_rate_pct: Option<f64>,
    margin: Option<f64>,
    intervals: Option<Confidence>,
) -> Result<SbgResponse, InvalidInput> {
    let s = survivors;
    if s.len() < 3 || s.len() > 1001 {
        return Err(InvalidInput::new(
            "/survivors",
            "must hold 3 to 1001 counts",
            "survivors needs the counts of at least periods 0, 1 and 2 (at most 1001)",
        ));
    }
    for (i, &v) in s.iter().enumerate() {
        if WholeCount::new(v).is_none() {
            return Err(InvalidInput::new(
                format!("/survivors/{i}"),
                "must be a whole number, 0 or more",
                format!("survivors[{i}] = {v} is not a count"),
            ));
        }
        if i > 0 && v > s[i - 1] {
            return Err(InvalidInput::new(
                format!("/survivors/{i}"),
                "must not exceed the previous count",
                format!(
                    "survivors[{i}] = {v} is more than the {} before it: a cohort only shrinks",
                    s[i - 1]
                ),
            ));
        }
    }
    if s[0] == 0.0 || s[s.len() - 1] == s[0] {
        return Err(InvalidInput::new(
            "/survivors",
            "the cohort must start with customers and lose some",
            "the survivors show no churn (or no customers): the model cannot be fitted",
        ));
    }
    let projection = projection_periods.unwrap_or(5);
    if projection > 1000 {
        return Err(InvalidInput::new(
            "/projection_periods",
            "must be at most 1000",
            "projection_periods must be at most 1000",
        ));
    }
    let discount = fraction(discount_rate_pct, 10.0, "/discount_rate_pct", 1000.0)? / 100.0;
    let margin = margin
        .map(|m| fraction(Some(m), 0.0, "/margin", f64::MAX))
        .transpose()?;
    let (model, outcome) = fit(s);
    let fit = fit_summary(
        &["alpha", "beta"],
        &outcome,
        "ln L = Σ_t (S_(t-1) - S_t) ln P(T = t) + S_n ln S(n),  P(T = t) = B(α+1, β+t-1) / B(α, β)",
    )?;
    let n = s.len() - 1 + projection as usize;
    let survival = model.survival(n);
    let delta = intervals.and_then(|level| {
        let cov = outcome.log_covariance.clone()?;
        Some(Delta::new(&[model.alpha, model.beta], cov, level))
    });
    let at = |p: &[f64]| Sbg {
        alpha: p[0],
        beta: p[1],
    };
    // One pass of differences over every curve value: survival, then retention rates.
    let curve_bounds = delta.as_ref().and_then(|d| {
        let g = d.gradients(|p| {
            let m = at(p);
            let mut out = m.survival(n);
            out.extend((1..=n).map(|t| m.retention_rate(t)));
            Some(out)
        })?;
        let mut values = survival.clone();
        values.extend((1..=n).map(|t| model.retention_rate(t)));
        Some(
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| d.bounds(v, d.standard_error(&g.column(i).into_owned()), (0.0, 1.0)))
                .collect::<Vec<_>>(),
        )
    });
    let periods = (0..=n)
        .map(|t| SbgPeriod {
            period: t,
            observed_survival: s.get(t).map(|v| v / s[0]),
            survival: survival[t],
            retention_rate: (t > 0).then(|| model.retention_rate(t)),
            survival_interval: curve_bounds.as_ref().map(|b| b[t]),
            retention_rate_interval: curve_bounds.as_ref().filter(|_| t > 0).map(|b| b[n + t]),
            projected: t >= s.len(),
        })
        .collect();
    let del = model.discounted_expected_lifetime(discount);
    let scalar = |value: Option<f64>, f: &dyn Fn(&Sbg) -> Option<f64>| {
        let (d, v) = (delta.as_ref()?, value?);
        let g = d.gradients(|p| Some(vec![f(&at(p))?]))?;
        Some(d.bounds(
            v,
            d.standard_error(&g.column(0).into_owned()),
            (0.0, f64::INFINITY),
        ))
    };
    let expected_lifetime_interval = scalar(model.expected_lifetime(), &|m| m.expected_lifetime());
    let del_interval = scalar(del, &|m| m.discounted_expected_lifetime(discount));
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
        expected_lifetime_interval,
        median_lifetime: model.median_lifetime(),
        discounted_expected_lifetime: del,
        discounted_expected_lifetime_interval: del_interval,
        discounted_expected_lifetime_value: margin.zip(del).map(|(m, d)| m * d),
        intervals: delta.as_ref().map(|d| IntervalMethod {
            level_pct: d.confidence().level() * 100.0,
            method: super::purchase::DELTA_METHOD.into(),
        }),
        notes,
    })
}
