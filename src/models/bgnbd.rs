//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): purchases at
//! a gamma-mixed Poisson rate λ ~ Γ(r, α), dropout after any purchase with a beta-mixed
//! probability p ~ B(a, b).

use super::fit::{maximise, FitOutcome, NegLogLikelihood};
use super::rfm::GroupedRfm;
use super::special::{digamma, hyp2f1_signed, ln_gamma, log_add_exp};

/// Fitted BG/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// The negative log-likelihood over grouped data, with an optional L2 penalty
/// `penalty × Σ θ²` on the parameters (lifetimes' `penalizer_coef`, for parity only).
pub struct Likelihood<'a> {
    pub data: &'a GroupedRfm,
    pub penalty: f64,
}

impl NegLogLikelihood for Likelihood<'_> {
    /// # Formula
    /// `ln L(r, α, a, b | x, t_x, T) = A₁ + A₂ + ln(e^{A₃} + δ_{x>0} e^{A₄})` with
    /// `A₁ = ln Γ(r+x) − ln Γ(r) + r ln α`,
    /// `A₂ = ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)`,
    /// `A₃ = −(r+x) ln(α+T)`, `A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)`
    /// (Fader, Hardie & Lee 2005, eq. 6).
    fn value(&self, p: &[f64]) -> f64 {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let ln_alpha = alpha.ln();
        let mut total = 0.0;
        for (x, rows) in &self.data.by_frequency {
            let x = *x;
            let shared =
                ln_gamma(r + x) - ln_gamma(r) + r * ln_alpha + ln_gamma(a + b) + ln_gamma(b + x)
                    - ln_gamma(b)
                    - ln_gamma(a + b + x);
            let a4_const = if x > 0.0 {
                a.ln() - (b + x - 1.0).ln()
            } else {
                0.0
            };
            for &(tx, t, w) in rows {
                let a3 = -(r + x) * (alpha + t).ln();
                let ll = if x > 0.0 {
                    let a4 = a4_const - (r + x) * (alpha + tx).ln();
                    shared + log_add_exp(a3, a4)
                } else {
                    shared + a3
                };
                total += w * ll;
            }
        }
        -total + self.penalty * p.iter().map(|v| v * v).sum::<f64>()
    }

    fn gradient(&self, p: &[f64]) -> Vec<f64> {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let (ln_alpha, psi_r, psi_ab, psi_b) = (alpha.ln(), digamma(r), digamma(a + b), digamma(b));
        let mut g = [0.0f64; 4];
        for (x, rows) in &self.data.by_frequency {
            let x = *x;
            let weight: f64 = rows.iter().map(|row| row.2).sum();
            let psi_abx = digamma(a + b + x);
            // Terms shared by every row of this x.
            g[0] += weight * (digamma(r + x) - psi_r + ln_alpha);
            g[1] += weight * r / alpha;
            g[2] += weight * (psi_ab - psi_abx);
            g[3] += weight * (psi_ab + digamma(b + x) - psi_b - psi_abx);
            let a4_const = if x > 0.0 {
                a.ln() - (b + x - 1.0).ln()
            } else {
                0.0
            };
            for &(tx, t, w) in rows {
                let ln_at = (alpha + t).ln();
                if x > 0.0 {
                    let ln_atx = (alpha + tx).ln();
                    let a3 = -(r + x) * ln_at;
                    let a4 = a4_const - (r + x) * ln_atx;
                    let w4 = (a4 - log_add_exp(a3, a4)).exp();
                    let w3 = 1.0 - w4;
                    g[0] += w * (-w3 * ln_at - w4 * ln_atx);
                    g[1] += w * (-(r + x) * (w3 / (alpha + t) + w4 / (alpha + tx)));
                    g[2] += w * w4 / a;
                    g[3] += w * (-w4 / (b + x - 1.0));
                } else {
                    g[0] += w * -ln_at;
                    g[1] += w * (-(r + x) / (alpha + t));
                }
            }
        }
        g.iter()
            .zip(p)
            .map(|(gi, pi)| -gi + 2.0 * self.penalty * pi)
            .collect()
    }
}

/// Fits BG/NBD by maximum likelihood. Starting values: r = 1, α = ΣT / Σx (so that the
/// starting mean rate r/α matches the observed repeat rate), a = b = 1.
pub fn fit(data: &GroupedRfm, penalty: f64) -> (BgNbd, FitOutcome) {
    let (sx, st) = data.totals();
    let alpha0 = if sx > 0.0 {
        (st / sx).clamp(1e-3, 1e6)
    } else {
        1.0
    };
    let outcome = maximise(&Likelihood { data, penalty }, &[1.0, alpha0, 1.0, 1.0]);
    let p = &outcome.params;
    (
        BgNbd {
            r: p[0],
            alpha: p[1],
            a: p[2],
            b: p[3],
        },
        outcome,
    )
}

impl BgNbd {
    /// P(alive | x, t_x, T) = 1 / (1 + δ_{x>0} a/(b+x−1) × ((α+T)/(α+t_x))^{r+x}).
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        let ln_odds = (self.a / (self.b + x - 1.0)).ln()
            + (self.r + x) * ((self.alpha + t) / (self.alpha + tx)).ln();
        1.0 / (1.0 + ln_odds.exp())
    }

    /// Expected purchases in (T, T + t] of a customer with (x, t_x, T) (eq. 10):
    /// `[(a+b+x−1)/(a−1)] × [1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    ///  / [1 + δ_{x>0} a/(b+x−1) ((α+T)/(α+t_x))^{r+x}]`.
    /// `None` where 2F1 is undefined (a+b+x−1 ≤ −1 or = 0).
    pub fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        if horizon == 0.0 {
            return Some(0.0);
        }
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let z = horizon / (alpha + t + horizon);
        let (ln_f, sign) = hyp2f1_signed(r + x, b + x, a + b + x - 1.0, z)?;
        let ln_ratio = (r + x) * ((alpha + t) / (alpha + t + horizon)).ln();
        // 1 − ratio × F, and (a+b+x−1)/(a−1): both change sign at a = 1 together.
        let bracket = if sign > 0.0 {
            -(ln_ratio + ln_f).exp_m1()
        } else {
            1.0 + (ln_ratio + ln_f).exp()
        };
        let value = (a + b + x - 1.0) / (a - 1.0) * bracket * self.p_alive(x, tx, t);
        value.is_finite().then_some(value.max(0.0))
    }

    /// The population's expected purchases by time t (eq. 7):
    /// `(a+b−1)/(a−1) × [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))]`.
    pub fn expected_purchases_population(&self, t: f64) -> Option<f64> {
        if t == 0.0 {
            return Some(0.0);
        }
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let (ln_f, sign) = hyp2f1_signed(r, b, a + b - 1.0, t / (alpha + t))?;
        let ln_ratio = r * (alpha / (alpha + t)).ln();
        let bracket = if sign > 0.0 {
            -(ln_ratio + ln_f).exp_m1()
        } else {
            1.0 + (ln_ratio + ln_f).exp()
        };
        let value = (a + b - 1.0) / (a - 1.0) * bracket;
        value.is_finite().then_some(value)
    }
}
