//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): purchases at
//! a gamma-mixed Poisson rate λ ~ Γ(r, α), dropout after any purchase with a beta-mixed
//! probability p ~ B(a, b).

use super::fit::{maximise, penalised, FitOutcome, NegLogLikelihood};
use super::pmf;
use super::rfm::GroupedRfm;
use super::special::{hyp2f1_signed, ln_rising};

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

/// Rows above which one evaluation is split into [`PARTS`] slices summed in a fixed order.
const PARALLEL_ROWS: usize = 20_000;
/// How many slices a large evaluation is split into: a constant, not the machine's core
/// count, so that the sums (and so the fit) are the same bits on every machine.
const PARTS: usize = 4;

impl Likelihood<'_> {
    /// The log-likelihood and its gradient over the `part`-th of `parts` slices of every
    /// frequency's rows (the terms shared by a frequency are added by part 0 only).
    fn partial(&self, p: &[f64], part: usize, parts: usize) -> (f64, [f64; 4]) {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let (ln_alpha, ln_a) = (alpha.ln(), a.ln());
        let mut ll = 0.0;
        let mut g = [0.0f64; 4];
        // ln(α+T) and 1/(α+T) once per distinct T of a group.
        let mut at_values: Vec<(f64, f64)> = Vec::new();
        for ((x, rows), (ts, t_index)) in self.data.by_frequency.iter().zip(&self.data.t_values) {
            let x = *x;
            let chunk = rows.len().div_ceil(parts);
            let range = (part * chunk).min(rows.len())..((part + 1) * chunk).min(rows.len());
            let mine = rows[range.clone()].iter().zip(&t_index[range]);
            at_values.clear();
            at_values.extend(ts.iter().map(|t| ((alpha + t).ln(), 1.0 / (alpha + t))));
            if part == 0 {
                let weight: f64 = rows.iter().map(|row| row.2).sum();
                let (rise_r, d_r) = ln_rising(r, x);
                let (rise_b, d_b) = ln_rising(b, x);
                let (rise_ab, d_ab) = ln_rising(a + b, x);
                ll += weight * (rise_r + r * ln_alpha + rise_b - rise_ab);
                g[0] += weight * (d_r + ln_alpha);
                g[1] += weight * r / alpha;
                g[2] += weight * -d_ab;
                g[3] += weight * (d_b - d_ab);
            }
            let rx = r + x;
            // Per-group sums; the factors shared by the group are applied once at the end.
            let (mut s_ll, mut s_ln, mut s_inv, mut s_w4) = (0.0, 0.0, 0.0, 0.0);
            if x > 0.0 {
                let a4_const = ln_a - (b + x - 1.0).ln();
                for (&(tx, _, w), &k) in mine {
                    let (ln_at, inv_at) = at_values[k as usize];
                    let ln_atx = (alpha + tx).ln();
                    let a3 = -rx * ln_at;
                    let a4 = a4_const - rx * ln_atx;
                    // ln(e^{A₃} + e^{A₄}) and the softmax weight of A₄ from one exponential.
                    let e = (-(a3 - a4).abs()).exp();
                    let lse = a3.max(a4) + e.ln_1p();
                    let share = 1.0 / (1.0 + e);
                    let w4 = if a4 >= a3 { share } else { e * share };
                    let w3 = 1.0 - w4;
                    s_ll += w * lse;
                    s_ln += w * (w3 * ln_at + w4 * ln_atx);
                    s_inv += w * (w3 * inv_at + w4 / (alpha + tx));
                    s_w4 += w * w4;
                }
                g[2] += s_w4 / a;
                g[3] -= s_w4 / (b + x - 1.0);
            } else {
                for (&(_, _, w), &k) in mine {
                    let (ln_at, inv_at) = at_values[k as usize];
                    s_ll -= w * rx * ln_at;
                    s_ln += w * ln_at;
                    s_inv += w * inv_at;
                }
            }
            ll += s_ll;
            g[0] -= s_ln;
            g[1] -= rx * s_inv;
        }
        (ll, g)
    }
}

impl NegLogLikelihood for Likelihood<'_> {
    /// # Formula
    /// `ln L(r, α, a, b | x, t_x, T) = A₁ + A₂ + ln(e^{A₃} + δ_{x>0} e^{A₄})` with
    /// `A₁ = ln Γ(r+x) − ln Γ(r) + r ln α`,
    /// `A₂ = ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)`,
    /// `A₃ = −(r+x) ln(α+T)`, `A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)`
    /// (Fader, Hardie & Lee 2005, eq. 6); the ln Γ differences as rising factorials
    /// ([`ln_rising`]). The gradient from their derivatives and the softmax weights of A₃
    /// and A₄.
    ///
    /// The negative log-likelihood and its gradient; large data in `PARTS` slices added in
    /// slice order, so that the sums are the same bits for any data size and machine.
    fn value_and_gradient(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let parts = if self.data.distinct_rows >= PARALLEL_ROWS {
            PARTS
        } else {
            1
        };
        // The slices are summed one after another on the fit's own thread: a fit already
        // holds one of the FIT_WORKERS slots, and starting threads on every evaluation cost
        // more than it saved under load (BENCHMARKS.md).
        let (mut ll, mut g) = self.partial(p, 0, parts);
        for k in 1..parts {
            let (part_ll, part_g) = self.partial(p, k, parts);
            ll += part_ll;
            for (total, part) in g.iter_mut().zip(part_g) {
                *total += part;
            }
        }
        penalised(ll, &g, p, self.penalty)
    }

    fn weight(&self) -> f64 {
        self.data.customers
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

    /// P(X(t) = n) for n = 0 … k of a customer just acquired (eq. 8; lifetimes'
    /// `probability_of_n_purchases_up_to_time`), by [`pmf::beta_geometric_nbd`].
    pub fn population_pmf(&self, t: f64, k: usize) -> Option<Vec<f64>> {
        pmf::beta_geometric_nbd(self.r, self.alpha, self.a, self.b, t, k, 0.0)
    }

    /// P(X(T, T+t) = n | x, t_x, T) for n = 0 … k: a customer who has left makes none; one
    /// alive goes on as a new customer with λ ~ Γ(r+x, α+T) and p ~ B(a, b+x).
    pub fn conditional_pmf(
        &self,
        t: f64,
        k: usize,
        x: f64,
        tx: f64,
        big_t: f64,
    ) -> Option<Vec<f64>> {
        let future = BgNbd {
            r: self.r + x,
            alpha: self.alpha + big_t,
            a: self.a,
            b: self.b + x,
        }
        .population_pmf(t, k)?;
        Some(pmf::mix_with_dead(&future, self.p_alive(x, tx, big_t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::rfm::CustomerSummary;

    #[test]
    fn the_split_likelihood_sums_to_the_whole() {
        let rows: Vec<CustomerSummary> = (0..500)
            .map(|i| {
                let x = f64::from(i % 7);
                let t = 20.0 + f64::from(i % 13);
                let tx = if x > 0.0 {
                    t * f64::from(i % 5 + 1) / 6.0
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
        let p = [0.3, 4.0, 0.8, 2.4];
        let whole = likelihood.partial(&p, 0, 1);
        let (mut ll, mut g) = (0.0, [0.0; 4]);
        for part in 0..3 {
            let (l, gp) = likelihood.partial(&p, part, 3);
            ll += l;
            g.iter_mut().zip(gp).for_each(|(a, b)| *a += b);
        }
        assert!((ll - whole.0).abs() < 1e-9 * whole.0.abs());
        for (a, b) in g.iter().zip(whole.1) {
            assert!((a - b).abs() < 1e-9 * b.abs().max(1.0));
        }
    }
}
