//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases at a gamma-mixed Poisson
//! rate λ ~ Γ(r, α), an exponential lifetime with a gamma-mixed dropout rate μ ~ Γ(s, β).

use super::fit::{cancelled, maximise, penalised, FitOutcome, NegLogLikelihood};
use super::pmf;
use super::rfm::GroupedRfm;
use super::special::{ln_hyp2f1_unit, ln_rising, log_add_exp};

/// Fitted Pareto/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbd {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

/// A log-value with its gradient with respect to (r, α, s, β).
type WithGradient = (f64, [f64; 4]);

impl ParetoNbd {
    /// `ln G(τ)` and its gradient, where `G(τ) = ρ ∫_τ^∞ (α+u)^{−(r+x)} (β+u)^{−(s+1)} du`
    /// (ρ = r+s+x) is the Gauss-hypergeometric part of the likelihood of "died after τ"
    /// (Fader & Hardie's note on the Pareto/NBD likelihood), written after Euler's
    /// transformation so that its series has positive terms each below zⁿ:
    ///
    /// # Formula
    /// for α ≥ β, `ln G = −(r+x) ln(α+τ) − s ln(β+τ) + ln H(r+x, ρ+1; (α−β)/(α+τ))`;
    /// for α < β, `ln G = (1−r−x) ln(α+τ) − (s+1) ln(β+τ) + ln H(s+1, ρ+1; (β−α)/(β+τ))`,
    /// with `H(b, c; z) = ₂F₁(1, b; c; z)` ([`ln_hyp2f1_unit`]). Both equal `−ρ ln(α+τ)` at
    /// α = β. `ln_a`, `ln_b` are `ln(α+τ)`, `ln(β+τ)`.
    fn ln_g(&self, x: f64, tau: f64, ln_a: f64, ln_b: f64) -> Option<WithGradient> {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let c = r + s + x + 1.0;
        let (a_tau, b_tau) = (alpha + tau, beta + tau);
        // r ln(α/(α+τ)) and s ln(β/(β+τ)) as ln_1p, exact where α or β is huge.
        let (la1, lb1) = ((tau / alpha).ln_1p(), (tau / beta).ln_1p());
        let (d_alpha_r, d_beta_s) = (r * tau / (alpha * a_tau), s * tau / (beta * b_tau));
        if alpha >= beta {
            let h = ln_hyp2f1_unit(r + x, c, (alpha - beta) / a_tau)?;
            Some((
                -r * la1 - x * ln_a - s * lb1 + h.value,
                [
                    -la1 + h.d_b + h.d_c,
                    d_alpha_r - x / a_tau + h.d_z * b_tau / (a_tau * a_tau),
                    -lb1 + h.d_c,
                    d_beta_s - h.d_z / a_tau,
                ],
            ))
        } else {
            let h = ln_hyp2f1_unit(s + 1.0, c, (beta - alpha) / b_tau)?;
            Some((
                -r * la1 + (1.0 - x) * ln_a - s * lb1 - ln_b + h.value,
                [
                    -la1 + h.d_c,
                    d_alpha_r + (1.0 - x) / a_tau - h.d_z / b_tau,
                    -lb1 + h.d_b + h.d_c,
                    d_beta_s - 1.0 / b_tau + h.d_z * a_tau / (b_tau * b_tau),
                ],
            ))
        }
    }

    /// `ln f(u) + r ln α + s ln β` for the integrand `f(u) = (α+u)^{−(r+x)} (β+u)^{−(s+1)}` of
    /// the "died" term, and its gradient, in the form exact for huge α or β:
    /// `−r ln(1+u/α) − x ln(α+u) − s ln(1+u/β) − ln(β+u)`.
    fn ln_integrand(&self, x: f64, u: f64) -> WithGradient {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let (la1, lb1) = ((u / alpha).ln_1p(), (u / beta).ln_1p());
        let (au, bu) = (alpha + u, beta + u);
        (
            -r * la1 - x * au.ln() - s * lb1 - bu.ln(),
            [
                -la1,
                r * u / (alpha * au) - x / au,
                -lb1,
                s * u / (beta * bu) - 1.0 / bu,
            ],
        )
    }

    /// The "died between t_x and T" term `ln(s/ρ) + ln A₀` with `A₀ = G(t_x) − G(T)`, and
    /// its gradient; `−∞` when t_x = T. Where T − t_x is so short that the difference would
    /// cancel (κ = (T−t_x)((r+x)/(α+t_x) + (s+1)/(β+t_x)) < 1e-3), Simpson's rule on the
    /// integral instead, whose error there is below κ⁴/2880; where the series would converge
    /// slowly (z > 0.9, α and β far apart), Gauss–Legendre quadrature of the integral
    /// ([`Self::ln_died_quadrature`]). `ln_at`, `ln_bt` are `ln(α+T)`, `ln(β+T)`.
    fn ln_died(&self, x: f64, tx: f64, t: f64, ln_at: f64, ln_bt: f64) -> Option<WithGradient> {
        if tx >= t {
            return Some((f64::NEG_INFINITY, [0.0; 4]));
        }
        if self.short_span(x, tx, t) {
            return Some(self.ln_died_simpson(x, tx, t));
        }
        if self.slow_series(tx) {
            return Some(self.ln_died_quadrature(x, tx, t));
        }
        let g1 = self.ln_g(x, tx, (self.alpha + tx).ln(), (self.beta + tx).ln())?;
        let g2 = self.ln_g(x, t, ln_at, ln_bt)?;
        self.ln_died_from(x, g1, g2)
    }

    /// Whether the series for G at τ converges slowly: `z = |α−β| / (max(α,β)+τ) > 0.9`
    /// (about 350 terms and more; z is largest at the smallest τ).
    fn slow_series(&self, tau: f64) -> bool {
        let (big, small) = (self.alpha.max(self.beta), self.alpha.min(self.beta));
        big - small > 0.9 * (big + tau)
    }

    /// The "died" term by composite 8-point Gauss–Legendre quadrature of
    /// `s ∫_{t_x}^T (α+u)^{−(r+x)} (β+u)^{−(s+1)} du`, for where the series is slow.
    ///
    /// # Formula
    /// With `c = min(α, β)`, `d = max(α, β)` and `v = ln(c+u)`, `[t_x, T]` is cut into m
    /// panels of equal length in v, `m = ⌈(e_c + e_d (c+T)/(d+t_x)) ln((c+T)/(c+t_x)) / 2⌉`
    /// (at most 512; e_c, e_d the exponents r+x, s+1 of the factors with c and d), so that
    /// the integrand's logarithm changes by at most 2 on a panel; each panel's integral
    /// `∫ f(u(v)) e^v dv` by 8 Gauss–Legendre nodes (relative error about 1e-13 at that
    /// variation). The gradient is the nodes' weighted average of `∂ ln f`:
    /// `(−ln(α+u), −(r+x)/(α+u), −ln(β+u), −(s+1)/(β+u))`, plus `1/s` in s.
    fn ln_died_quadrature(&self, x: f64, tx: f64, t: f64) -> WithGradient {
        const NODES: [(f64, f64); 4] = [
            (0.183_434_642_495_649_8, 0.362_683_783_378_362),
            (0.525_532_409_916_329, 0.313_706_645_877_887_3),
            (0.796_666_477_413_626_7, 0.222_381_034_453_374_5),
            (0.960_289_856_497_536_3, 0.101_228_536_290_376_3),
        ];
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let (p, q) = (r + x, s + 1.0);
        let (c, d, near, far) = if alpha <= beta {
            (alpha, beta, p, q)
        } else {
            (beta, alpha, q, p)
        };
        let (v0, v1) = ((c + tx).ln(), (c + t).ln());
        // d ln f / dv is at most `near + far (c+T)/(d+t_x)` in size.
        let slope = near + far * (c + t) / (d + tx);
        let panels = (slope * (v1 - v0) / 2.0).ceil().clamp(1.0, 512.0);
        let half = (v1 - v0) / panels / 2.0;
        // Online log-sum-exp of the node terms, with the gradient's weighted sum alongside.
        let (mut top, mut total) = (f64::NEG_INFINITY, 0.0f64);
        let mut gradient = [0.0f64; 4];
        for panel in 0..panels as usize {
            let mid = v0 + (2 * panel + 1) as f64 * half;
            for (node, weight) in NODES {
                for v in [mid - node * half, mid + node * half] {
                    let u = (v.exp() - c).max(0.0);
                    let (value, d) = self.ln_integrand(x, u);
                    let term = (weight * half).ln() + v + value;
                    if term > top {
                        let scale = (top - term).exp();
                        total *= scale;
                        gradient.iter_mut().for_each(|g| *g *= scale);
                        top = term;
                    }
                    let e = (term - top).exp();
                    total += e;
                    for (g, di) in gradient.iter_mut().zip(d) {
                        *g += e * di;
                    }
                }
            }
        }
        for g in &mut gradient {
            *g /= total;
        }
        gradient[2] += 1.0 / s;
        (s.ln() + top + total.ln(), gradient)
    }

    /// Whether T − t_x is short enough for Simpson's rule (κ < 1e-3, see [`Self::ln_died`]).
    fn short_span(&self, x: f64, tx: f64, t: f64) -> bool {
        (t - tx) * ((self.r + x) / (self.alpha + tx) + (self.s + 1.0) / (self.beta + tx)) < 1e-3
    }

    /// The "died" term by Simpson's rule on `s ∫_{t_x}^T (α+u)^{−(r+x)} (β+u)^{−(s+1)} du`.
    fn ln_died_simpson(&self, x: f64, tx: f64, t: f64) -> WithGradient {
        let s = self.s;
        let span = t - tx;
        {
            // died = ln s + ln(h/6) + ln Σ wᵢ f(uᵢ) (with r ln α + s ln β, see ln_integrand).
            let mid = 0.5 * (tx + t);
            let mut parts = [(0.0f64, [0.0f64; 4]); 3];
            for (part, (u, weight)) in parts.iter_mut().zip([(tx, 1.0f64), (mid, 4.0), (t, 1.0)]) {
                let (value, gradient) = self.ln_integrand(x, u);
                *part = (weight.ln() + value, gradient);
            }
            let top = parts.iter().fold(f64::NEG_INFINITY, |m, p| m.max(p.0));
            let total: f64 = parts.iter().map(|p| (p.0 - top).exp()).sum();
            let mut gradient = [0.0; 4];
            for (value, g) in &parts {
                let w = (value - top).exp() / total;
                for (acc, gi) in gradient.iter_mut().zip(g) {
                    *acc += w * gi;
                }
            }
            gradient[2] += 1.0 / s;
            (s.ln() + (span / 6.0).ln() + top + total.ln(), gradient)
        }
    }

    /// `ln(s/ρ) + ln(G(t_x) − G(T))` and its gradient from `ln G(t_x)` and `ln G(T)`.
    fn ln_died_from(
        &self,
        x: f64,
        (g1, d1): WithGradient,
        (g2, d2): WithGradient,
    ) -> Option<WithGradient> {
        let (r, s) = (self.r, self.s);
        let q = (g2 - g1).exp();
        if q.is_nan() || q >= 1.0 {
            return None;
        }
        let rho = r + s + x;
        let mut gradient = [0.0; 4];
        for i in 0..4 {
            gradient[i] = (d1[i] - q * d2[i]) / (1.0 - q);
        }
        gradient[0] -= 1.0 / rho;
        gradient[2] += 1.0 / s - 1.0 / rho;
        Some((s.ln() - rho.ln() + g1 + (-q).ln_1p(), gradient))
    }

    /// The "alive at T" term `−(r+x) ln(α+T) − s ln(β+T)` and its gradient.
    fn ln_alive(&self, x: f64, t: f64, ln_at: f64) -> WithGradient {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let (la1, lb1) = ((t / alpha).ln_1p(), (t / beta).ln_1p());
        (
            -r * la1 - x * ln_at - s * lb1,
            [
                -la1,
                r * t / (alpha * (alpha + t)) - x / (alpha + t),
                -lb1,
                s * t / (beta * (beta + t)),
            ],
        )
    }

    /// P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) × (α+T)^{r+x} (β+T)^s × A₀), i.e. the
    /// "alive" term's share of the likelihood.
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> Option<f64> {
        let (ln_at, ln_bt) = ((self.alpha + t).ln(), (self.beta + t).ln());
        let alive = self.ln_alive(x, t, ln_at).0;
        let died = self.ln_died(x, tx, t, ln_at, ln_bt)?.0;
        let p = 1.0 / (1.0 + (died - alive).exp());
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

    /// Discounted expected residual transactions at a continuous discount rate `delta` per unit
    /// of time (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves", eq. 2):
    ///
    /// # Formula
    /// ```text
    /// DERT = α^r β^s δ^{s−1} Γ(r+x+1) U(s, s; δ(β+T)) / (Γ(r) (α+T)^{r+x+1} L)
    ///      = P(alive) × (r+x)/(α+T) × E[1/(δ+μ)],  μ ~ Γ(s, β+T)
    /// E[1/(δ+μ)] = b^s δ^{s−1} U(s, s; δb) = b ∫_0^∞ e^{−δb y} (1+y)^{−s} dy,  b = β+T
    /// ```
    ///
    /// U is Tricomi's confluent hypergeometric function; it is evaluated by its integral,
    /// [`inverse_mean_shifted_gamma`].
    pub fn dert(&self, delta: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        let value = self.p_alive(x, tx, t)? * (self.r + x) / (self.alpha + t)
            * inverse_mean_shifted_gamma(delta, self.s, self.beta + t)?;
        value.is_finite().then_some(value)
    }

    /// P(X(t) = n) for n = 0 … k of a customer just acquired, by [`pmf::pareto_nbd`].
    pub fn population_pmf(&self, t: f64, k: usize) -> Option<Vec<f64>> {
        pmf::pareto_nbd(self.r, self.alpha, self.s, self.beta, t, k)
    }

    /// P(X(T, T+t) = n | x, t_x, T) for n = 0 … k: a customer who has left makes none; one
    /// alive goes on as a new customer with λ ~ Γ(r+x, α+T) and μ ~ Γ(s, β+T) (the lifetime is
    /// memoryless). Equal to Hardie's note 028, eq. 16 (lifetimes'
    /// `conditional_probability_of_n_purchases_up_to_time`).
    pub fn conditional_pmf(
        &self,
        t: f64,
        k: usize,
        x: f64,
        tx: f64,
        big_t: f64,
    ) -> Option<Vec<f64>> {
        let future = ParetoNbd {
            r: self.r + x,
            alpha: self.alpha + big_t,
            s: self.s,
            beta: self.beta + big_t,
        }
        .population_pmf(t, k)?;
        Some(pmf::mix_with_dead(&future, self.p_alive(x, tx, big_t)?))
    }
}

/// The negative log-likelihood over grouped data, with an optional L2 penalty.
pub struct Likelihood<'a> {
    pub data: &'a GroupedRfm,
    pub penalty: f64,
}

impl NegLogLikelihood for Likelihood<'_> {
    /// The negative log-likelihood and its gradient.
    ///
    /// # Formula
    /// `ln L(r, α, s, β | x, t_x, T) = ln Γ(r+x) − ln Γ(r) + r ln α + s ln β + ln(e^{alive} +
    /// e^{died})` with `alive = −(r+x) ln(α+T) − s ln(β+T)` and `died = ln(s/ρ) + ln A₀`
    /// (`ParetoNbd::ln_g`); the gradient from the rising factorial's derivative, the
    /// series' own derivatives and the softmax weights of the two terms.
    fn value_and_gradient(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let model = ParetoNbd {
            r: p[0],
            alpha: p[1],
            s: p[2],
            beta: p[3],
        };
        let (r, alpha, beta) = (p[0], p[1], p[3]);
        let mut ll = 0.0;
        let mut g = [0.0f64; 4];
        let mut done = 0usize;
        let mut at_t: Vec<(WithGradient, Option<WithGradient>)> = Vec::new();
        for ((x, rows), (ts, t_index)) in self.data.by_frequency.iter().zip(&self.data.t_values) {
            let x = *x;
            if cancelled() {
                return (f64::NAN, vec![f64::NAN; 4]);
            }
            // Per distinct T: the "alive" term and ln G(T); G(0) once for the group.
            at_t.clear();
            for &t in ts {
                let (ln_at, ln_bt) = ((alpha + t).ln(), (beta + t).ln());
                // G(T) is needed only where the series path is taken (z(T) ≤ z(t_x)).
                let g_t = if model.slow_series(t) {
                    None
                } else {
                    model.ln_g(x, t, ln_at, ln_bt)
                };
                at_t.push((model.ln_alive(x, t, ln_at), g_t));
            }
            let mut g_zero = None;
            let weight: f64 = rows.iter().map(|row| row.2).sum();
            let (rise_r, d_r) = ln_rising(r, x);
            // r ln α + s ln β sit inside the alive and died terms (exact for huge α, β).
            ll += weight * rise_r;
            g[0] += weight * d_r;
            for (&(tx, t, w), &k) in rows.iter().zip(t_index) {
                done += 1;
                if done % 4096 == 0 && cancelled() {
                    return (f64::NAN, vec![f64::NAN; 4]);
                }
                let ((alive, d_alive), g_t) = at_t[k as usize];
                let died = if tx >= t {
                    Some((f64::NEG_INFINITY, [0.0; 4]))
                } else if model.short_span(x, tx, t) {
                    Some(model.ln_died_simpson(x, tx, t))
                } else if model.slow_series(tx) {
                    Some(model.ln_died_quadrature(x, tx, t))
                } else {
                    let g_tx = if tx == 0.0 {
                        *g_zero.get_or_insert_with(|| model.ln_g(x, 0.0, alpha.ln(), beta.ln()))
                    } else {
                        model.ln_g(x, tx, (alpha + tx).ln(), (beta + tx).ln())
                    };
                    g_tx.zip(g_t)
                        .and_then(|(g1, g2)| model.ln_died_from(x, g1, g2))
                };
                let Some((died, d_died)) = died else {
                    return (f64::INFINITY, vec![0.0; 4]);
                };
                let total = log_add_exp(alive, died);
                let w_died = (died - total).exp();
                ll += w * total;
                for i in 0..4 {
                    g[i] += w * ((1.0 - w_died) * d_alive[i] + w_died * d_died[i]);
                }
            }
        }
        penalised(ll, &g, p, self.penalty)
    }

    fn weight(&self) -> f64 {
        self.data.customers
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

/// `E[1/(δ+μ)]` for μ ~ Γ(s, rate b): `b ∫_0^∞ e^{−z y} (1+y)^{−s} dy` with z = δb, which is
/// `b^s δ^{s−1} U(s, s; z)`. With y = e^u − 1 and u = e^v the integrand becomes
/// `exp(−z(e^{e^v} − 1) + (1−s)e^v + v)`, entire and decaying exponentially as v → −∞ and
/// doubly exponentially as v → ∞, so the trapezoid rule in v converges exponentially (error
/// about e^{−π²/h}); h = 0.05 from v = −50 to where the terms fall 60 e-folds below the
/// largest. `None` for δ ≤ 0 or a result that is not finite.
pub fn inverse_mean_shifted_gamma(delta: f64, s: f64, b: f64) -> Option<f64> {
    if !(delta > 0.0 && s > 0.0 && b > 0.0) {
        return None;
    }
    let z = delta * b;
    let exponent = |v: f64| {
        let u = v.exp();
        -z * u.exp_m1() + (1.0 - s) * u + v
    };
    const H: f64 = 0.05;
    let mut exponents = Vec::new();
    let mut v = -50.0;
    let mut top = f64::NEG_INFINITY;
    loop {
        let e = exponent(v);
        top = top.max(e);
        exponents.push(e);
        // Past the peak (the exponent falls from here on) and 60 e-folds below it.
        if v > 0.0 && e < top - 60.0 {
            break;
        }
        if exponents.len() > 10_000 {
            return None;
        }
        v += H;
    }
    let sum: f64 = exponents.iter().map(|e| (e - top).exp()).sum();
    let value = b * H * sum * top.exp();
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::rfm::CustomerSummary;

    fn data() -> GroupedRfm {
        let rows: Vec<CustomerSummary> = [
            (0.0, 0.0, 38.0),
            (1.0, 30.43, 38.86),
            (2.0, 5.0, 30.0),
            (7.0, 35.0, 35.00001),
            (15.0, 20.0, 39.0),
        ]
        .iter()
        .map(|&(x, tx, t)| CustomerSummary::new("", None, x, Some(tx), Some(t), None, 1.0).unwrap())
        .collect();
        GroupedRfm::new(&rows)
    }

    #[test]
    fn quadrature_agrees_with_the_series() {
        // z = 0.5–0.85 here: both methods apply; value and gradient must agree.
        for (model, x, tx, t) in [
            ((0.55, 2.0, 0.61, 11.67), 2.0, 5.0, 38.0),
            ((0.55, 40.0, 0.61, 6.0), 0.0, 0.0, 30.0),
            ((1.3, 3.0, 2.0, 30.0), 25.0, 30.0, 39.0),
        ] {
            let m = ParetoNbd {
                r: model.0,
                alpha: model.1,
                s: model.2,
                beta: model.3,
            };
            let g1 = m
                .ln_g(x, tx, (m.alpha + tx).ln(), (m.beta + tx).ln())
                .unwrap();
            let g2 = m.ln_g(x, t, (m.alpha + t).ln(), (m.beta + t).ln()).unwrap();
            let (series, d_series) = m.ln_died_from(x, g1, g2).unwrap();
            let (quad, d_quad) = m.ln_died_quadrature(x, tx, t);
            assert!(
                (series - quad).abs() < 1e-11 * series.abs().max(1.0),
                "{series} vs {quad}"
            );
            for i in 0..4 {
                assert!(
                    (d_series[i] - d_quad[i]).abs() < 1e-9 * d_series[i].abs().max(1.0),
                    "∂{i}: {} vs {}",
                    d_series[i],
                    d_quad[i]
                );
            }
        }
    }

    #[test]
    fn the_analytic_gradient_matches_central_differences() {
        let data = data();
        let likelihood = Likelihood {
            data: &data,
            penalty: 0.0,
        };
        // Both branches (α ≥ β and α < β), near α = β, and the quadrature.
        for p in [
            [0.55, 10.58, 0.61, 11.67],
            [0.55, 12.0, 0.61, 3.0],
            [2.0, 7.0, 1.5, 7.000001],
            // α and β far apart: the quadrature path.
            [0.55, 2.0, 30.0, 600.0],
        ] {
            let (_, g) = likelihood.value_and_gradient(&p);
            for i in 0..4 {
                let h = 1e-6 * p[i];
                let (mut up, mut down) = (p, p);
                up[i] += h;
                down[i] -= h;
                let numeric = (likelihood.value_and_gradient(&up).0
                    - likelihood.value_and_gradient(&down).0)
                    / (2.0 * h);
                assert!(
                    (g[i] - numeric).abs() < 1e-5 * numeric.abs().max(1.0),
                    "{p:?} ∂{i}: {} vs {numeric}",
                    g[i]
                );
            }
        }
    }
}
