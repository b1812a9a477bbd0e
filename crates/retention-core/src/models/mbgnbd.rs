//! MBG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of
//! models for customer base analysis"): BG/NBD with one more chance to drop out, right after
//! the first purchase, so that a customer with no repeat purchase need not be alive.
//! Purchases at a gamma-mixed Poisson rate λ ~ Γ(r, α); dropout at time 0 and after every
//! repeat purchase with a beta-mixed probability p ~ B(a, b).

use super::fit::{maximise, penalised, FitOutcome, NegLogLikelihood};
use super::pmf;
use super::rfm::GroupedRfm;
use super::special::{hyp2f1_signed, ln_rising};

/// Fitted MBG/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MbgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// The negative log-likelihood over grouped data, with an optional L2 penalty (lifetimes'
/// `penalizer_coef`, for parity only).
pub struct Likelihood<'a> {
    pub data: &'a GroupedRfm,
    pub penalty: f64,
}

impl NegLogLikelihood for Likelihood<'_> {
    /// # Formula
    /// `ln L(r, α, a, b | x, t_x, T) = A₁ + A₂ + ln(e^{A₃} + e^{A₄})` with
    /// `A₁ = ln Γ(r+x) − ln Γ(r) + r ln α`,
    /// `A₂ = ln Γ(a+b) + ln Γ(b+x+1) − ln Γ(b) − ln Γ(a+b+x+1)`,
    /// `A₃ = −(r+x) ln(α+T)`, `A₄ = ln a − ln(b+x) − (r+x) ln(α+t_x)`
    /// (Batislam et al. 2007, eq. 3; for every x, 0 included: the customer may leave right
    /// after the first purchase). The ln Γ differences as rising factorials; the gradient from
    /// their derivatives and the softmax weights of A₃ and A₄.
    fn value_and_gradient(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let (ln_alpha, ln_a) = (alpha.ln(), a.ln());
        let mut ll = 0.0;
        let mut g = [0.0f64; 4];
        // ln(α+T) and 1/(α+T) once per distinct T of a frequency group.
        let mut at_values: Vec<(f64, f64)> = Vec::new();
        for ((x, rows), (ts, t_index)) in self.data.by_frequency.iter().zip(&self.data.t_values) {
            let x = *x;
            at_values.clear();
            at_values.extend(ts.iter().map(|t| ((alpha + t).ln(), 1.0 / (alpha + t))));
            let weight: f64 = rows.iter().map(|row| row.2).sum();
            let (rise_r, d_r) = ln_rising(r, x);
            let (rise_b, d_b) = ln_rising(b, x + 1.0);
            let (rise_ab, d_ab) = ln_rising(a + b, x + 1.0);
            ll += weight * (rise_r + r * ln_alpha + rise_b - rise_ab);
            g[0] += weight * (d_r + ln_alpha);
            g[1] += weight * r / alpha;
            g[2] -= weight * d_ab;
            g[3] += weight * (d_b - d_ab);
            let rx = r + x;
            let a4_const = ln_a - (b + x).ln();
            for (&(tx, _, w), &k) in rows.iter().zip(t_index) {
                let (ln_at, inv_at) = at_values[k as usize];
                let ln_atx = (alpha + tx).ln();
                let a3 = -rx * ln_at;
                let a4 = a4_const - rx * ln_atx;
                let e = (-(a3 - a4).abs()).exp();
                let lse = a3.max(a4) + e.ln_1p();
                let share = 1.0 / (1.0 + e);
                let w4 = if a4 >= a3 { share } else { e * share };
                let w3 = 1.0 - w4;
                ll += w * lse;
                g[0] -= w * (w3 * ln_at + w4 * ln_atx);
                g[1] -= w * rx * (w3 * inv_at + w4 / (alpha + tx));
                g[2] += w * w4 / a;
                g[3] -= w * w4 / (b + x);
            }
        }
        penalised(ll, &g, p, self.penalty)
    }

    fn weight(&self) -> f64 {
        self.data.customers
    }
}

/// Fits MBG/NBD by maximum likelihood, from the same starting values as BG/NBD.
pub fn fit(data: &GroupedRfm, penalty: f64) -> (MbgNbd, FitOutcome) {
    let (sx, st) = data.totals();
    let alpha0 = if sx > 0.0 {
        (st / sx).clamp(1e-3, 1e6)
    } else {
        1.0
    };
    let outcome = maximise(&Likelihood { data, penalty }, &[1.0, alpha0, 1.0, 1.0]);
    let p = &outcome.params;
    (
        MbgNbd {
            r: p[0],
            alpha: p[1],
            a: p[2],
            b: p[3],
        },
        outcome,
    )
}

impl MbgNbd {
    /// P(alive | x, t_x, T) = 1 / (1 + a/(b+x) × ((α+T)/(α+t_x))^{r+x}) (Batislam et al.
    /// 2007, appendix A, eq. 5): below 1 even for x = 0.
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        let ln_odds = (self.a / (self.b + x)).ln()
            + (self.r + x) * ((self.alpha + t) / (self.alpha + tx)).ln();
        1.0 / (1.0 + ln_odds.exp())
    }

    /// The parameters of an alive customer's future after (x, t_x, T): λ ~ Γ(r+x, α+T) and
    /// p ~ B(a, b+x+1) (the customer survived x+1 chances to leave), from which purchases go
    /// on as in BG/NBD (no further dropout at the start).
    fn alive_future(&self, x: f64, t: f64) -> super::bgnbd::BgNbd {
        super::bgnbd::BgNbd {
            r: self.r + x,
            alpha: self.alpha + t,
            a: self.a,
            b: self.b + x + 1.0,
        }
    }

    /// Expected purchases in (T, T + t] (Wagner & Hoppe 2008; lifetimes' form):
    /// `[(a+b+x)/(a−1)] × [1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))]
    ///  × P(alive)`. `None` where it is undefined.
    pub fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        let future = self
            .alive_future(x, t)
            .expected_purchases_population(horizon)?;
        let value = future * self.p_alive(x, tx, t);
        value.is_finite().then_some(value.max(0.0))
    }

    /// The population's expected repeat purchases by time t:
    /// `b/(a−1) × [1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))]`.
    pub fn expected_purchases_population(&self, t: f64) -> Option<f64> {
        if t == 0.0 {
            return Some(0.0);
        }
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let (ln_f, sign) = hyp2f1_signed(r, b + 1.0, a + b, t / (alpha + t))?;
        let ln_ratio = r * (alpha / (alpha + t)).ln();
        let bracket = if sign > 0.0 {
            -(ln_ratio + ln_f).exp_m1()
        } else {
            1.0 + (ln_ratio + ln_f).exp()
        };
        let value = b / (a - 1.0) * bracket;
        value.is_finite().then_some(value)
    }

    /// P(X(t) = n) for n = 0 … k of a customer just acquired (lifetimes'
    /// `probability_of_n_purchases_up_to_time`):
    /// `B(a, b+n+1)/B(a, b) × NB(n) + B(a+1, b+n)/B(a, b) × P(NB ≥ n)`, where NB is the
    /// negative binomial count of a Γ(r, α)-mixed Poisson over t.
    pub fn population_pmf(&self, t: f64, k: usize) -> Option<Vec<f64>> {
        pmf::beta_geometric_nbd(self.r, self.alpha, self.a, self.b, t, k, 1.0)
    }

    /// P(X(T, T+t) = n | x, t_x, T) for n = 0 … k: a customer who has left makes none; one
    /// alive goes on as BG/NBD at the updated parameters.
    pub fn conditional_pmf(
        &self,
        horizon: f64,
        k: usize,
        x: f64,
        tx: f64,
        t: f64,
    ) -> Option<Vec<f64>> {
        let future = self.alive_future(x, t).population_pmf(horizon, k)?;
        Some(pmf::mix_with_dead(&future, self.p_alive(x, tx, t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::rfm::CustomerSummary;

    #[test]
    fn the_gradient_is_the_likelihoods_own() {
        let rows: Vec<CustomerSummary> = (0..60)
            .map(|i| {
                let x = f64::from(i % 5);
                let t = 30.0 + f64::from(i % 7);
                let tx = if x > 0.0 {
                    t * f64::from(i % 4 + 1) / 5.0
                } else {
                    0.0
                };
                CustomerSummary::new("", None, x, Some(tx), Some(t), None, 1.0).unwrap()
            })
            .collect();
        let data = GroupedRfm::new(&rows);
        let likelihood = Likelihood {
            data: &data,
            penalty: 0.0,
        };
        crate::models::fit::assert_gradient_matches(&likelihood, &[0.6, 5.0, 0.9, 1.7]);
    }
}
