//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"): a customer's
//! transaction values are Γ(p, ν) with ν ~ Γ(q, γ) across customers.

use super::fit::{maximise, penalised, FitOutcome, NegLogLikelihood};
use super::special::{digamma, ln_gamma};

/// Fitted Gamma-Gamma parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

/// Rows (x, m̄, weight) of customers with x ≥ 1 repeat purchases and mean spend m̄ > 0.
pub struct Likelihood<'a> {
    pub rows: &'a [(f64, f64, f64)],
    pub penalty: f64,
}

impl NegLogLikelihood for Likelihood<'_> {
    /// # Formula
    /// `ln L(p, q, γ | x, m̄) = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m̄
    ///  + px ln x − (px+q) ln(γ + m̄x)`.
    fn value_and_gradient(&self, v: &[f64]) -> (f64, Vec<f64>) {
        let (p, q, g) = (v[0], v[1], v[2]);
        let (lg_q, psi_q, ln_g) = (ln_gamma(q), digamma(q), g.ln());
        let mut ll = 0.0;
        let mut grad = [0.0f64; 3];
        for &(x, m, w) in self.rows {
            let px = p * x;
            let (ln_m, ln_x, ln_gmx) = (m.ln(), x.ln(), (g + m * x).ln());
            ll += w
                * (ln_gamma(px + q) - ln_gamma(px) - lg_q
                    + q * ln_g
                    + (px - 1.0) * ln_m
                    + px * ln_x
                    - (px + q) * ln_gmx);
            let psi = digamma(px + q);
            grad[0] += w * x * (psi - digamma(px) + ln_m + ln_x - ln_gmx);
            grad[1] += w * (psi - psi_q + ln_g - ln_gmx);
            grad[2] += w * (q / g - (px + q) / (g + m * x));
        }
        penalised(ll, &grad, v, self.penalty)
    }

    fn weight(&self) -> f64 {
        self.rows.iter().map(|r| r.2).sum()
    }
}

/// Fits Gamma-Gamma from (x, m̄, weight) rows. Starting values p = q = 1, γ = mean m̄.
pub fn fit(rows: &[(f64, f64, f64)], penalty: f64) -> (GammaGamma, FitOutcome) {
    let weight: f64 = rows.iter().map(|r| r.2).sum();
    let mean = rows.iter().map(|r| r.1 * r.2).sum::<f64>() / weight.max(1.0);
    let outcome = maximise(&Likelihood { rows, penalty }, &[1.0, 1.0, mean.max(1e-3)]);
    let v = &outcome.params;
    (
        GammaGamma {
            p: v[0],
            q: v[1],
            gamma: v[2],
        },
        outcome,
    )
}

impl GammaGamma {
    /// E[M | x, m̄] = p (γ + m̄ x) / (p x + q − 1); the population mean p γ / (q − 1) for a
    /// customer with no repeat purchase. `None` when q ≤ 1 leaves the mean undefined.
    pub fn expected_spend(&self, x: f64, mean_spend: f64) -> Option<f64> {
        let denominator = self.p * x + self.q - 1.0;
        if denominator <= 0.0 {
            return None;
        }
        let value = self.p * (self.gamma + mean_spend * x) / denominator;
        value.is_finite().then_some(value)
    }
}
