//! BG/BB (Fader, Hardie & Shang 2010, "Customer-base analysis in a discrete-time
//! noncontractual setting"): one chance to buy per period. An alive customer buys in a period
//! with probability p ~ B(α, β) and, at the start of every period, leaves for good with
//! probability θ ~ B(γ, δ). A customer's data are x (purchases in periods 1 … n after the
//! first), t_x (the period of the last; 0 when x = 0) and n (the periods observed).

use super::fit::{maximise, penalised, FitOutcome, NegLogLikelihood};
use super::pmf;
use super::rfm::GroupedRfm;
use super::special::{digamma, ln_beta, ln_gamma, ln_hyp2f1};

/// Most periods a customer may have been observed for, or a prediction may look ahead: the
/// likelihood has n − t_x terms per customer and the predictions one per period.
pub const MAX_PERIODS: f64 = 1000.0;

/// Fitted BG/BB parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgBb {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

/// ψ(u) − ψ(u+v), the derivative of ln B(u, v) in u.
fn d_ln_beta(u: f64, v: f64) -> f64 {
    digamma(u) - digamma(u + v)
}

impl BgBb {
    /// ln L of one customer and its gradient in (α, β, γ, δ).
    ///
    /// # Formula
    /// ```text
    /// L = B(α+x, β+n−x)/B(α, β) × B(γ, δ+n)/B(γ, δ)
    ///   + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α, β) × B(γ+1, δ+t_x+i)/B(γ, δ)
    /// ```
    ///
    /// (Fader, Hardie & Shang 2010, eq. 5): alive through all n periods, or alive through
    /// period t_x + i and gone at the start of the next. Summed in log space; the gradient is
    /// the softmax-weighted sum of each term's ψ differences.
    pub fn ln_likelihood(&self, x: f64, tx: f64, n: f64) -> (f64, [f64; 4]) {
        let (al, be, ga, de) = (self.alpha, self.beta, self.gamma, self.delta);
        let base = ln_beta(al, be) + ln_beta(ga, de);
        let d_base = [
            d_ln_beta(al, be),
            d_ln_beta(be, al),
            d_ln_beta(ga, de),
            d_ln_beta(de, ga),
        ];
        // Log-sum-exp kept online: the largest log-term so far, the sum of the terms and of
        // their weighted gradients relative to it.
        let (mut top, mut sum, mut g) = (f64::NEG_INFINITY, 0.0, [0.0; 4]);
        let mut add = |ln_term: f64, d: [f64; 4]| {
            if ln_term > top {
                let scale = (top - ln_term).exp();
                sum = sum * scale + 1.0;
                for j in 0..4 {
                    g[j] = g[j] * scale + d[j];
                }
                top = ln_term;
            } else {
                let w = (ln_term - top).exp();
                sum += w;
                for j in 0..4 {
                    g[j] += w * d[j];
                }
            }
        };
        add(
            ln_beta(al + x, be + n - x) + ln_beta(ga, de + n) - base,
            [
                d_ln_beta(al + x, be + n - x) - d_base[0],
                d_ln_beta(be + n - x, al + x) - d_base[1],
                d_ln_beta(ga, de + n) - d_base[2],
                d_ln_beta(de + n, ga) - d_base[3],
            ],
        );
        if n > tx {
            // The terms i = 0 … n − t_x − 1 by recurrence in i: with u = β+t_x−x+i and
            // v = δ+t_x+i, B(α+x, u+1) = B(α+x, u) u/(α+x+u) and B(γ+1, v+1) =
            // B(γ+1, v) v/(γ+1+v), and ψ(w+1) = ψ(w) + 1/w; so only the first term calls
            // the special functions.
            let (a1, c1) = (al + x, ga + 1.0);
            let (mut u, mut v) = (be + tx - x, de + tx);
            let mut ln_term = ln_beta(a1, u) + ln_beta(c1, v) - base;
            let (psi_a1, psi_c1) = (digamma(a1), digamma(c1));
            let (mut psi_u, mut psi_au) = (digamma(u), digamma(a1 + u));
            let (mut psi_v, mut psi_cv) = (digamma(v), digamma(c1 + v));
            let mut i = 0.0;
            while i < n - tx {
                add(
                    ln_term,
                    [
                        psi_a1 - psi_au - d_base[0],
                        psi_u - psi_au - d_base[1],
                        psi_c1 - psi_cv - d_base[2],
                        psi_v - psi_cv - d_base[3],
                    ],
                );
                ln_term += (u / (a1 + u)).ln() + (v / (c1 + v)).ln();
                psi_u += 1.0 / u;
                psi_au += 1.0 / (a1 + u);
                psi_v += 1.0 / v;
                psi_cv += 1.0 / (c1 + v);
                u += 1.0;
                v += 1.0;
                i += 1.0;
            }
        }
        for gj in &mut g {
            *gj /= sum;
        }
        (top + sum.ln(), g)
    }

    /// P(alive through period n | x, t_x, n): the first term of the likelihood over the whole
    /// (lifetimes' `conditional_probability_alive` with `m_periods_in_future` 0).
    pub fn p_alive(&self, x: f64, tx: f64, n: f64) -> f64 {
        let (al, be, ga, de) = (self.alpha, self.beta, self.gamma, self.delta);
        let alive =
            ln_beta(al + x, be + n - x) - ln_beta(al, be) + ln_beta(ga, de + n) - ln_beta(ga, de);
        (alive - self.ln_likelihood(x, tx, n).0).exp().min(1.0)
    }

    /// An alive customer's future after (x, t_x, n): p ~ B(α+x, β+n−x), θ ~ B(γ, δ+n), from
    /// which the periods go on as for a new customer.
    fn alive_future(&self, x: f64, n: f64) -> Self {
        Self {
            alpha: self.alpha + x,
            beta: self.beta + n - x,
            gamma: self.gamma,
            delta: self.delta + n,
        }
    }

    /// Expected purchases of a new customer in periods 1 … `periods` (a whole number):
    /// `α/(α+β) × Σ_{t=1}^{periods} B(γ, δ+t)/B(γ, δ)` (the paper's eq. 8 before its closed
    /// form, which divides by γ − 1), the ratios by `B(γ, δ+t+1)/B(γ, δ+t) = (δ+t)/(γ+δ+t)`.
    /// `None` for a fractional number of periods.
    pub fn expected_purchases_population(&self, periods: f64) -> Option<f64> {
        if periods.fract() != 0.0 || periods < 0.0 {
            return None;
        }
        let (mut survive, mut sum, mut t) = (1.0, 0.0, 0.0);
        while t < periods {
            survive *= (self.delta + t) / (self.gamma + self.delta + t);
            sum += survive;
            t += 1.0;
        }
        Some(self.alpha / (self.alpha + self.beta) * sum)
    }

    /// Expected purchases in periods n+1 … n+`periods` (the paper's eq. 13, lifetimes'
    /// `conditional_expected_number_of_purchases_up_to_time`): P(alive) × the expected purchases
    /// of the alive customer's future.
    pub fn expected_purchases(&self, periods: f64, x: f64, tx: f64, n: f64) -> Option<f64> {
        let future = self
            .alive_future(x, n)
            .expected_purchases_population(periods)?;
        let value = self.p_alive(x, tx, n) * future;
        value.is_finite().then_some(value)
    }

    /// Discounted expected residual transactions at a discount rate `d` per period (Fader,
    /// Hardie & Shang 2010, eq. 14): the purchases of periods n+1, n+2, … each discounted by
    /// (1+d)^{−(t−n)}.
    ///
    /// # Formula
    /// ```text
    /// DERT = B(α+x+1, β+n−x)/B(α, β) × B(γ, δ+n+1)/B(γ, δ) / (1+d)
    ///        × ₂F₁(1, δ+n+1; γ+δ+n+1; 1/(1+d)) / L
    /// ```
    pub fn dert(&self, d: f64, x: f64, tx: f64, n: f64) -> Option<f64> {
        if d <= 0.0 {
            return None;
        }
        let (al, be, ga, de) = (self.alpha, self.beta, self.gamma, self.delta);
        let ln_f = ln_hyp2f1(1.0, de + n + 1.0, ga + de + n + 1.0, 1.0 / (1.0 + d))?;
        let ln_value = ln_beta(al + x + 1.0, be + n - x) - ln_beta(al, be)
            + ln_beta(ga, de + n + 1.0)
            - ln_beta(ga, de)
            - d.ln_1p()
            + ln_f
            - self.ln_likelihood(x, tx, n).0;
        let value = ln_value.exp();
        value.is_finite().then_some(value)
    }

    /// P(X(n) = x) for x = 0 … k of a new customer over n periods (the paper's eq. 6;
    /// lifetimes' `expected_number_of_transactions_in_first_n_periods` divided by the
    /// customers):
    ///
    /// # Formula
    /// ```text
    /// P(X(n) = x) = C(n, x) B(α+x, β+n−x)/B(α, β) × B(γ, δ+n)/B(γ, δ)
    ///             + Σ_{i=x}^{n−1} C(i, x) B(α+x, β+i−x)/B(α, β) × B(γ+1, δ+i)/B(γ, δ)
    /// ```
    pub fn population_pmf(&self, periods: f64, k: usize) -> Option<Vec<f64>> {
        if periods.fract() != 0.0 || periods < 0.0 {
            return None;
        }
        let (al, be, ga, de) = (self.alpha, self.beta, self.gamma, self.delta);
        let base = ln_beta(al, be) + ln_beta(ga, de);
        let ln_choose =
            |n: f64, x: f64| ln_gamma(n + 1.0) - ln_gamma(x + 1.0) - ln_gamma(n - x + 1.0);
        Some(
            (0..=k)
                .map(|x| {
                    let x = x as f64;
                    if x > periods {
                        return 0.0;
                    }
                    let mut p = (ln_choose(periods, x)
                        + ln_beta(al + x, be + periods - x)
                        + ln_beta(ga, de + periods)
                        - base)
                        .exp();
                    let mut i = x;
                    while i < periods {
                        p += (ln_choose(i, x)
                            + ln_beta(al + x, be + i - x)
                            + ln_beta(ga + 1.0, de + i)
                            - base)
                            .exp();
                        i += 1.0;
                    }
                    p
                })
                .collect(),
        )
    }

    /// P(X(n, n+`periods`) = x | x, t_x, n) for x = 0 … k.
    pub fn conditional_pmf(
        &self,
        periods: f64,
        k: usize,
        x: f64,
        tx: f64,
        n: f64,
    ) -> Option<Vec<f64>> {
        let future = self.alive_future(x, n).population_pmf(periods, k)?;
        Some(pmf::mix_with_dead(&future, self.p_alive(x, tx, n)))
    }
}

/// The negative log-likelihood over grouped (x, t_x, n) rows (n in the T slot), with an
/// optional L2 penalty (lifetimes' `penalizer_coef`, for parity only).
pub struct Likelihood<'a> {
    pub data: &'a GroupedRfm,
    pub penalty: f64,
}

impl NegLogLikelihood for Likelihood<'_> {
    fn value_and_gradient(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let model = BgBb {
            alpha: p[0],
            beta: p[1],
            gamma: p[2],
            delta: p[3],
        };
        let mut ll = 0.0;
        let mut g = [0.0; 4];
        for (x, rows) in &self.data.by_frequency {
            for &(tx, n, w) in rows {
                let (l, d) = model.ln_likelihood(*x, tx, n);
                ll += w * l;
                for j in 0..4 {
                    g[j] += w * d[j];
                }
            }
        }
        penalised(ll, &g, p, self.penalty)
    }

    fn weight(&self) -> f64 {
        self.data.customers
    }
}

/// Fits BG/BB by maximum likelihood from α = β = γ = δ = 1.
pub fn fit(data: &GroupedRfm, penalty: f64) -> (BgBb, FitOutcome) {
    let outcome = maximise(&Likelihood { data, penalty }, &[1.0, 1.0, 1.0, 1.0]);
    let p = &outcome.params;
    (
        BgBb {
            alpha: p[0],
            beta: p[1],
            gamma: p[2],
            delta: p[3],
        },
        outcome,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::rfm::CustomerSummary;

    #[test]
    fn the_gradient_is_the_likelihoods_own() {
        let rows: Vec<CustomerSummary> = [
            (0.0, 0.0, 6.0),
            (2.0, 4.0, 6.0),
            (5.0, 6.0, 6.0),
            (1.0, 1.0, 3.0),
        ]
        .iter()
        .map(|&(x, tx, n)| CustomerSummary::new("", None, x, Some(tx), Some(n), None, 3.0).unwrap())
        .collect();
        let data = GroupedRfm::new(&rows);
        let likelihood = Likelihood {
            data: &data,
            penalty: 0.0,
        };
        crate::models::fit::assert_gradient_matches(&likelihood, &[1.2, 0.75, 0.66, 2.8]);
    }

    #[test]
    fn the_probabilities_sum_to_one_and_match_the_expected_purchases() {
        let model = BgBb {
            alpha: 1.204,
            beta: 0.750,
            gamma: 0.657,
            delta: 2.783,
        };
        let pmf = model.population_pmf(6.0, 6).unwrap();
        assert!((pmf.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mean: f64 = pmf.iter().enumerate().map(|(x, p)| x as f64 * p).sum();
        let expected = model.expected_purchases_population(6.0).unwrap();
        assert!((mean - expected).abs() < 1e-12, "{mean} vs {expected}");
        // A customer's: the conditional probabilities against the conditional expectation.
        let pmf = model.conditional_pmf(5.0, 5, 3.0, 4.0, 6.0).unwrap();
        assert!((pmf.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mean: f64 = pmf.iter().enumerate().map(|(x, p)| x as f64 * p).sum();
        let expected = model.expected_purchases(5.0, 3.0, 4.0, 6.0).unwrap();
        assert!((mean - expected).abs() < 1e-12, "{mean} vs {expected}");
    }
}
