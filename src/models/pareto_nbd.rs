//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases at a gamma-mixed Poisson
//! rate λ ~ Γ(r, α), an exponential lifetime with a gamma-mixed dropout rate μ ~ Γ(s, β).

use super::fit::{maximise, FitOutcome, NegLogLikelihood};
use super::rfm::GroupedRfm;
use super::special::{ln_gamma, ln_hyp2f1, log_add_exp, log_sub_exp};

/// Fitted Pareto/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbd {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

impl ParetoNbd {
    /// `ln A₀`, the part of the likelihood for "died between t_x and T" (Fader & Hardie's
    /// note on the Pareto/NBD likelihood): with ρ = r+s+x, for α ≥ β
    /// `A₀ = ₂F₁(ρ, s+1; ρ+1; (α−β)/(α+t_x)) / (α+t_x)^ρ − ₂F₁(ρ, s+1; ρ+1; (α−β)/(α+T)) / (α+T)^ρ`,
    /// for α < β the same with `(r+x)` for `s+1` and β for α. `None` if a series fails.
    fn ln_a0(&self, x: f64, tx: f64, t: f64) -> Option<f64> {
        let rho = self.r + self.s + x;
        let (big, small, b_param) = if self.alpha >= self.beta {
            (self.alpha, self.beta, self.s + 1.0)
        } else {
            (self.beta, self.alpha, self.r + x)
        };
        let term = |time: f64| -> Option<f64> {
            Some(
                ln_hyp2f1(rho, b_param, rho + 1.0, (big - small) / (big + time))?
                    - rho * (big + time).ln(),
            )
        };
        if tx == t {
            return Some(f64::NEG_INFINITY);
        }
        Some(log_sub_exp(term(tx)?, term(t)?))
    }

    /// ln L for one customer.
    fn ln_likelihood(&self, x: f64, tx: f64, t: f64) -> Option<f64> {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let rho = r + s + x;
        let alive = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
        let died = s.ln() - rho.ln() + self.ln_a0(x, tx, t)?;
        Some(
            ln_gamma(r + x) - ln_gamma(r)
                + r * alpha.ln()
                + s * beta.ln()
                + log_add_exp(alive, died),
        )
    }

    /// P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) × (α+T)^{r+x} (β+T)^s × A₀).
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> Option<f64> {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let ln_odds = s.ln() - (r + s + x).ln()
            + (r + x) * (alpha + t).ln()
            + s * (beta + t).ln()
            + self.ln_a0(x, tx, t)?;
        let p = 1.0 / (1.0 + ln_odds.exp());
        p.is_finite().then_some(p)
    }

    /// `[1 − y^{s−1}] / (s − 1)` for y in (0, 1], continuous at s = 1 (−ln y).
    fn decay(&self, y: f64) -> f64 {
        let k = self.s - 1.0;
        if k.abs() < 1e-10 {
            -y.ln()
        } else {
            -(k * y.ln()).exp_m1() / k
        }
    }

    /// Expected purchases in (T, T + t]:
    /// `(r+x)(β+T) / (α+T) × [1 − ((β+T)/(β+T+t))^{s−1}] / (s−1) × P(alive)`.
    pub fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        let y = (self.beta + t) / (self.beta + t + horizon);
        let value = (self.r + x) * (self.beta + t) / (self.alpha + t)
            * self.decay(y)
            * self.p_alive(x, tx, t)?;
        value.is_finite().then_some(value)
    }

    /// The population's expected purchases by time t: `r β / α × [1 − (β/(β+t))^{s−1}] / (s−1)`.
    pub fn expected_purchases_population(&self, t: f64) -> Option<f64> {
        let value = self.r * self.beta / self.alpha * self.decay(self.beta / (self.beta + t));
        value.is_finite().then_some(value)
    }
}

/// The negative log-likelihood over grouped data, with an optional L2 penalty.
pub struct Likelihood<'a> {
    pub data: &'a GroupedRfm,
    pub penalty: f64,
}

impl NegLogLikelihood for Likelihood<'_> {
    fn value(&self, p: &[f64]) -> f64 {
        let model = ParetoNbd {
            r: p[0],
            alpha: p[1],
            s: p[2],
            beta: p[3],
        };
        let mut total = 0.0;
        for (x, rows) in &self.data.by_frequency {
            for &(tx, t, w) in rows {
                match model.ln_likelihood(*x, tx, t) {
                    Some(ll) => total += w * ll,
                    None => return f64::INFINITY,
                }
            }
        }
        -total + self.penalty * p.iter().map(|v| v * v).sum::<f64>()
    }
}

/// Fits Pareto/NBD. Starting values: r = 1, α = ΣT / Σx, s = 1, β = mean T.
pub fn fit(data: &GroupedRfm, penalty: f64) -> (ParetoNbd, FitOutcome) {
    let (sx, st) = data.totals();
    let alpha0 = if sx > 0.0 {
        (st / sx).clamp(1e-3, 1e6)
    } else {
        1.0
    };
    let beta0 = (st / data.customers.max(1.0)).clamp(1e-3, 1e6);
    let outcome = maximise(&Likelihood { data, penalty }, &[1.0, alpha0, 1.0, beta0]);
    let p = &outcome.params;
    (
        ParetoNbd {
            r: p[0],
            alpha: p[1],
            s: p[2],
            beta: p[3],
        },
        outcome,
    )
}
