//! Parametric survival beyond the observed tenure: Weibull and log-logistic lifetimes fitted
//! by maximum likelihood to right-censored, late-entry observations, compared by AIC, with the
//! projected survival, median and mean lifetime and their delta-method intervals
//! (docs/formulas.md § 18.4).
//!
//! The parameterisations are lifelines' (`WeibullFitter`, `LogLogisticFitter`):
//!
//! ```text
//! Weibull:       S(t) = exp(−(t/λ)^ρ),       H(t) = (t/λ)^ρ
//! log-logistic:  S(t) = 1 / (1 + (t/α)^β),   H(t) = ln(1 + (t/α)^β)
//! ln L = Σ_churned ln h(tᵢ) − Σ_all [H(tᵢ) − H(aᵢ)]      (aᵢ: the tenure first observed at)
//! ```

use crate::models::special::{digamma, ln_gamma};
use serde::Serialize;

use crate::analytics::survival::Observation;
use crate::cancel::cancelled_error;
use crate::kpi::breakdown::num;
use crate::kpi::{Confidence, InvalidInput};
use crate::models::fit::{maximise, NegLogLikelihood, Verdict};

/// Most projection times.
pub const MAX_PROJECTION_TIMES: usize = 1000;

/// A parametric lifetime family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Weibull,
    LogLogistic,
}

/// A parameter with its standard error.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Parameter {
    pub name: String,
    pub estimate: f64,
    pub std_error: f64,
}

/// An estimate with its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
}

/// One family's fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParametricFit {
    pub family: Family,
    pub formula: String,
    pub parameters: Vec<Parameter>,
    pub log_likelihood: f64,
    /// 2k − 2 ln L (k = 2): the lower, the better the family fits.
    pub aic: f64,
    /// The projection times and Ŝ there with its band: the log of the cumulative hazard
    /// (Weibull) or of the odds of having churned (log-logistic) ± z SE by the delta method.
    pub times: Vec<f64>,
    pub survival: Vec<Estimate>,
    /// Absent when it or its interval is beyond 64-bit floats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median: Option<Estimate>,
    /// The mean lifetime ∫₀^∞ S(t) dt; absent when it is infinite (log-logistic with β ≤ 1)
    /// or it or its interval is beyond 64-bit floats (β just above 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<Estimate>,
}

/// Both families and which one the AIC prefers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Parametric {
    pub fits: Vec<ParametricFit>,
    /// The family with the lower AIC.
    pub preferred: Family,
    pub notes: Vec<String>,
}

struct Likelihood<'a> {
    family: Family,
    rows: &'a [Observation],
}

/// softplus(v) = ln(1 + eᵛ) without overflow, and the logistic σ(v).
fn softplus(v: f64) -> f64 {
    if v > 0.0 {
        v + (-v).exp().ln_1p()
    } else {
        v.exp().ln_1p()
    }
}
fn logistic(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

impl NegLogLikelihood for Likelihood<'_> {
    fn value_and_gradient(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let (scale, shape) = (params[0], params[1]);
        let (mut ll, mut d_scale, mut d_shape) = (0.0, 0.0, 0.0);
        let ln_scale = scale.ln();
        for (i, o) in self.rows.iter().enumerate() {
            if crate::cancel::stop_at(i + 1) {
                return (f64::NAN, vec![0.0, 0.0]);
            }
            let delta = if o.observed { 1.0 } else { 0.0 };
            let u = o.duration.ln() - ln_scale;
            let (ua, entered) = if o.entry > 0.0 {
                (o.entry.ln() - ln_scale, true)
            } else {
                (0.0, false)
            };
            match self.family {
                Family::Weibull => {
                    let h = (shape * u).exp();
                    let ha = if entered { (shape * ua).exp() } else { 0.0 };
                    ll += delta * (shape.ln() - ln_scale + (shape - 1.0) * u) - h + ha;
                    d_scale += -delta * shape / scale + shape / scale * (h - ha);
                    d_shape +=
                        delta * (1.0 / shape + u) - h * u + if entered { ha * ua } else { 0.0 };
                }
                Family::LogLogistic => {
                    let v = shape * u;
                    let s = logistic(v);
                    let (la, sa) = if entered {
                        (softplus(shape * ua), logistic(shape * ua))
                    } else {
                        (0.0, 0.0)
                    };
                    ll += delta * (shape.ln() - ln_scale + (shape - 1.0) * u - softplus(v))
                        - softplus(v)
                        + la;
                    d_scale += (-delta * shape + (1.0 + delta) * s * shape - sa * shape) / scale;
                    d_shape += delta * (1.0 / shape + u - s * u) - s * u
                        + if entered { sa * ua } else { 0.0 };
                }
            }
        }
        (-ll, vec![-d_scale, -d_shape])
    }

    fn weight(&self) -> f64 {
        self.rows.len() as f64
    }
}

/// The rows a parametric fit can take: ln t enters the likelihood, so a customer who churned
/// at duration 0 is refused (naming its row: `duration`, or `end` for subscriptions), while
/// one still active at 0 carries no information and is left out. At least one churn.
pub fn usable(rows: &[Observation], collection: &str) -> Result<Vec<Observation>, InvalidInput> {
    if let Some(i) = rows.iter().position(|o| o.duration <= 0.0 && o.observed) {
        let field = if collection == "subscriptions" {
            "end"
        } else {
            "duration"
        };
        return Err(InvalidInput::new(
            format!("/{collection}/{i}/{field}"),
            "a churn after time 0 for a parametric fit",
            format!("{collection}[{i}] churned at time 0: Weibull and log-logistic lifetimes are positive, so such a churn has no likelihood; leave out customers who churned on their first day, count them as churning at a small time, or leave parametric out"),
        ));
    }
    let kept: Vec<Observation> = rows.iter().copied().filter(|o| o.duration > 0.0).collect();
    if !kept.iter().any(|o| o.observed) {
        return Err(InvalidInput::new(
            "/parametric",
            "at least one churned customer",
            "no customer churned: a parametric lifetime cannot be fitted to censored rows only",
        ));
    }
    Ok(kept)
}

/// Fits one family.
fn fit_family(
    family: Family,
    rows: &[Observation],
    times: &[f64],
    confidence: Confidence,
) -> Result<ParametricFit, InvalidInput> {
    let model = Likelihood { family, rows };
    // Start: the mean observed time as the scale, shape 1 (exponential).
    let mean = rows.iter().map(|o| o.duration).sum::<f64>() / rows.len() as f64;
    let outcome = maximise(&model, &[mean.max(1e-6), 1.0]);
    let (label_scale, label_shape) = match family {
        Family::Weibull => ("lambda", "rho"),
        Family::LogLogistic => ("alpha", "beta"),
    };
    let why = match &outcome.verdict {
        Verdict::Converged => None,
        Verdict::Cancelled => return Err(cancelled_error()),
        Verdict::Boundary(_) => Some("the likelihood has no interior maximum".to_owned()),
        Verdict::StoppedShort(w) => Some(w.clone()),
    };
    let Some(cov) = outcome.log_covariance.clone().filter(|_| why.is_none()) else {
        return Err(InvalidInput::new(
            "/parametric",
            "data a lifetime can be fitted to",
            format!(
                "the {} fit did not converge ({}); with so few churned customers or such spread-out times no parametric lifetime is estimable",
                match family { Family::Weibull => "Weibull", Family::LogLogistic => "log-logistic" },
                why.unwrap_or_else(|| "no positive-definite curvature".to_owned())
            ),
        ));
    };
    let (scale, shape) = (outcome.params[0], outcome.params[1]);
    let z = confidence.z();
    // Delta method on (ln scale, ln shape).
    let sd = |g: [f64; 2]| -> f64 {
        (g[0] * g[0] * cov[(0, 0)] + 2.0 * g[0] * g[1] * cov[(0, 1)] + g[1] * g[1] * cov[(1, 1)])
            .max(0.0)
            .sqrt()
    };
    let log_interval = |ln_value: f64, g: [f64; 2]| -> Estimate {
        let s = sd(g);
        Estimate {
            estimate: ln_value.exp(),
            lower: (ln_value - z * s).exp(),
            upper: (ln_value + z * s).exp(),
        }
    };
    let survival = times
        .iter()
        .map(|&t| {
            if t <= 0.0 {
                return Estimate {
                    estimate: 1.0,
                    lower: 1.0,
                    upper: 1.0,
                };
            }
            // η = shape (ln t − ln scale): ln H (Weibull) or the log odds of churn (log-logistic).
            let eta = shape * (t.ln() - scale.ln());
            let s = sd([-shape, eta]);
            let to_survival = |e: f64| match family {
                Family::Weibull => (-e.exp()).exp(),
                Family::LogLogistic => 1.0 - logistic(e),
            };
            Estimate {
                estimate: to_survival(eta),
                lower: to_survival(eta + z * s),
                upper: to_survival(eta - z * s),
            }
        })
        .collect();
    let (median, mean) = match family {
        Family::Weibull => {
            let l2 = std::f64::consts::LN_2.ln();
            let median = log_interval(scale.ln() + l2 / shape, [1.0, -l2 / shape]);
            let ln_mean = scale.ln() + ln_gamma(1.0 + 1.0 / shape);
            let mean = log_interval(ln_mean, [1.0, -digamma(1.0 + 1.0 / shape) / shape]);
            (median, Some(mean))
        }
        Family::LogLogistic => {
            let median = log_interval(scale.ln(), [1.0, 0.0]);
            let mean = (shape > 1.0).then(|| {
                let x = std::f64::consts::PI / shape;
                log_interval(
                    scale.ln() + x.ln() - x.sin().ln(),
                    [1.0, -1.0 + x / x.tan()],
                )
            });
            (median, mean)
        }
    };
    let finite =
        |e: &Estimate| e.estimate.is_finite() && e.lower.is_finite() && e.upper.is_finite();
    let median = Some(median).filter(finite);
    let mean = mean.filter(finite);
    let std_errors: Vec<f64> = outcome
        .std_errors
        .iter()
        .map(|s| s.unwrap_or(f64::NAN))
        .collect();
    Ok(ParametricFit {
        family,
        formula: match family {
            Family::Weibull => format!("S(t) = exp(-(t / {})^{})", num(scale), num(shape)),
            Family::LogLogistic => format!("S(t) = 1 / (1 + (t / {})^{})", num(scale), num(shape)),
        },
        parameters: vec![
            Parameter {
                name: label_scale.to_owned(),
                estimate: scale,
                std_error: std_errors[0],
            },
            Parameter {
                name: label_shape.to_owned(),
                estimate: shape,
                std_error: std_errors[1],
            },
        ],
        log_likelihood: outcome.log_likelihood,
        aic: 4.0 - 2.0 * outcome.log_likelihood,
        times: times.to_vec(),
        survival,
        median,
        mean,
    })
}

/// Weibull and log-logistic fits, projected to `times`.
pub fn fit_parametric(
    rows: &[Observation],
    times: &[f64],
    confidence: Confidence,
    collection: &str,
) -> Result<Parametric, InvalidInput> {
    let all = rows.len();
    let rows = &usable(rows, collection)?;
    if times.len() > MAX_PROJECTION_TIMES {
        return Err(InvalidInput::new(
            "/parametric/times",
            format!("at most {MAX_PROJECTION_TIMES} times"),
            format!("{} times were sent", times.len()),
        ));
    }
    if let Some(i) = times.iter().position(|t| !(t.is_finite() && *t >= 0.0)) {
        return Err(InvalidInput::new(
            format!("/parametric/times/{i}"),
            "must be 0 or more",
            format!("parametric.times[{i}] is {}", times[i]),
        ));
    }
    let fits = vec![
        fit_family(Family::Weibull, rows, times, confidence)?,
        fit_family(Family::LogLogistic, rows, times, confidence)?,
    ];
    let preferred = if fits[0].aic <= fits[1].aic {
        Family::Weibull
    } else {
        Family::LogLogistic
    };
    let longest = rows.iter().map(|o| o.duration).fold(0.0, f64::max);
    let mut notes = Vec::new();
    if rows.len() < all {
        notes.push(format!(
            "{} customers still active at time 0 were left out of the parametric fits: they add nothing to the likelihood.",
            all - rows.len()
        ));
    }
    notes.push(format!(
        "Maximum likelihood with late entry and censoring (lifelines' WeibullFitter and LogLogisticFitter parameterisations). AIC prefers the {} fit (difference {}).",
        match preferred { Family::Weibull => "Weibull", Family::LogLogistic => "log-logistic" },
        num((fits[0].aic - fits[1].aic).abs())
    ));
    if let Some(t) = times.iter().find(|t| **t > longest) {
        notes.push(format!(
            "Times from {} on lie beyond the longest observed tenure, {}: there the curve is the family's shape carried forward, not data; compare both families before trusting it.",
            num(*t),
            num(longest)
        ));
    }
    for fit in &fits {
        let name = match fit.family {
            Family::Weibull => "Weibull",
            Family::LogLogistic => "log-logistic",
        };
        if fit.mean.is_none() {
            notes.push(format!("No {name} mean lifetime: the fitted tail is too heavy for a finite, estimable mean (log-logistic beta <= 1 or just above it); use the median or a restricted mean."));
        }
        if fit.median.is_none() {
            notes.push(format!(
                "No {name} median: it lies beyond 64-bit floats in these units."
            ));
        }
    }
    Ok(Parametric {
        fits,
        preferred,
        notes,
    })
}
