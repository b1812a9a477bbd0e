//! Purchase-count probabilities: P(X(t) = n) of the purchase models for a customer just
//! acquired, and the conditional ones of a customer with a history, which every model here
//! gives the same way — a customer who has left makes no purchase; one still alive goes on as
//! a new customer at the posterior parameters (the processes are memoryless).

use statrs::function::beta::checked_beta_reg;

use super::special::{ln_beta, ln_gamma, ln_hyp2f1, ln_rising};

/// Most purchase counts (k in x = 0 … k) one request may ask the probabilities of.
pub const MAX_PURCHASE_COUNT: usize = 100;

/// The conditional probabilities from an alive customer's `future` ones:
/// `P(0) = (1 − P(alive)) + P(alive) × future(0)`, `P(n) = P(alive) × future(n)`.
pub fn mix_with_dead(future: &[f64], p_alive: f64) -> Vec<f64> {
    future
        .iter()
        .enumerate()
        .map(|(n, f)| {
            let alive = p_alive * f;
            if n == 0 {
                (1.0 - p_alive) + alive
            } else {
                alive
            }
        })
        .collect()
}

/// The ln of the negative-binomial probability NB(n) of a Γ(r, α)-mixed Poisson count over
/// t: `ln Γ(r+n) − ln Γ(r) − ln n! + r ln(α/(α+t)) + n ln(t/(α+t))`.
fn ln_nbd(r: f64, alpha: f64, t: f64, n: f64) -> f64 {
    let ln_p = (alpha / (alpha + t)).ln();
    let ln_q = if t == 0.0 {
        f64::NEG_INFINITY
    } else {
        (t / (alpha + t)).ln()
    };
    let power = if n == 0.0 { 0.0 } else { n * ln_q };
    ln_rising(r, n).0 - ln_gamma(n + 1.0) + r * ln_p + power
}

/// BG/NBD (`shift` 0; Fader, Hardie & Lee 2005, eq. 8) and MBG/NBD (`shift` 1) count
/// probabilities for n = 0 … k:
///
/// # Formula
/// ```text
/// P(X(t) = n) = B(a, b+n+s)/B(a, b) × NB(n)
///             + [n + s > 0] × B(a+1, b+n+s−1)/B(a, b) × P(NB ≥ n)
/// ```
///
/// with NB the Γ(r, α)-mixed Poisson count over t and `P(NB ≥ n) = I_{t/(α+t)}(n, r)` (the
/// regularised incomplete beta function, statrs), which keeps its relative precision in the
/// far tail where `1 − Σ_{j<n} NB(j)` would not. The first term: the customer is still alive
/// after n purchases; the second: left right after the n-th, whatever the process would have
/// given later.
pub fn beta_geometric_nbd(
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    t: f64,
    k: usize,
    shift: f64,
) -> Option<Vec<f64>> {
    let ln_b_ab = ln_beta(a, b);
    let q = t / (alpha + t);
    (0..=k)
        .map(|n| {
            let n = n as f64;
            let alive = (ln_beta(a, b + n + shift) - ln_b_ab + ln_nbd(r, alpha, t, n)).exp();
            let left = if n + shift > 0.0 {
                let tail = if n == 0.0 {
                    1.0
                } else if t == 0.0 {
                    0.0
                } else {
                    checked_beta_reg(n, r, q).ok()?
                };
                (ln_beta(a + 1.0, b + n + shift - 1.0) - ln_b_ab).exp() * tail
            } else {
                0.0
            };
            let p = alive + left;
            p.is_finite().then_some(p)
        })
        .collect()
}

/// Pareto/NBD count probabilities for n = 0 … k of a customer just acquired: Fader, Hardie &
/// Lee's conditional PMF (Hardie's note 028, eq. 16, lifetimes'
/// `conditional_probability_of_n_purchases_up_to_time`) at x = 0, t_x = 0, T = 0, where the
/// likelihood is 1.
///
/// # Formula
/// ```text
/// P(X(t) = n) = B₁ + B₂ − B₃
/// B₁ = Γ(r+n)/(Γ(r) n!) α^r β^s t^n / ((α+t)^{r+n} (β+t)^s)
/// B₂ = α^r β^s Γ(r+s) B(r+n, s+1) / (Γ(r) Γ(s) M^{r+s}) × ₂F₁(r+s, p; r+s+n+1; (M−m)/M)
/// B₃ = Σ_{i=0}^{n} t^i/i! α^r β^s Γ(r+s+i) B(r+n, s+1) / (Γ(r) Γ(s) (M+t)^{r+s+i})
///      × ₂F₁(r+s+i, p; r+s+n+1; (M−m)/(M+t))
/// ```
///
/// with m = min(α, β), M = max(α, β), p = r+n when α < β and s+1 otherwise. `None` where a
/// series does not settle.
pub fn pareto_nbd(r: f64, alpha: f64, s: f64, beta: f64, t: f64, k: usize) -> Option<Vec<f64>> {
    let (m, big) = (alpha.min(beta), alpha.max(beta));
    let common = r * alpha.ln() + s * beta.ln() - ln_gamma(r) - ln_gamma(s);
    (0..=k)
        .map(|n| {
            let n = n as f64;
            if t == 0.0 {
                return Some(if n == 0.0 { 1.0 } else { 0.0 });
            }
            let p = if alpha < beta { r + n } else { s + 1.0 };
            let c = r + s + n + 1.0;
            let ln_b1 = ln_rising(r, n).0 - ln_gamma(n + 1.0) + r * alpha.ln() + s * beta.ln()
                - (r + n) * (alpha + t).ln()
                - s * (beta + t).ln()
                + n * t.ln();
            let ln_beta_part = ln_beta(r + n, s + 1.0);
            let ln_b2 = common + ln_gamma(r + s) + ln_beta_part - (r + s) * big.ln()
                + ln_hyp2f1(r + s, p, c, (big - m) / big)?;
            let mut b3 = 0.0;
            let mut i = 0.0;
            while i <= n {
                let ln_term =
                    i * t.ln() - ln_gamma(i + 1.0) + common + ln_gamma(r + s + i) + ln_beta_part
                        - (r + s + i) * (big + t).ln()
                        + ln_hyp2f1(r + s + i, p, c, (big - m) / (big + t))?;
                b3 += ln_term.exp();
                i += 1.0;
            }
            let value = ln_b1.exp() + ln_b2.exp() - b3;
            // The difference B₂ − B₃ may fall a rounding error below 0 far in the tail.
            value.is_finite().then_some(value.max(0.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Σ_n P(n) over a long range is 1, and Σ_n n P(n) is the model's own expected count.
    #[test]
    fn the_probabilities_sum_to_one_and_to_the_expected_purchases() {
        let bg = super::super::bgnbd::BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let pmf = beta_geometric_nbd(bg.r, bg.alpha, bg.a, bg.b, 39.0, 3000, 0.0).unwrap();
        let total: f64 = pmf.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "BG/NBD Σ = {total}");
        let mean: f64 = pmf.iter().enumerate().map(|(n, p)| n as f64 * p).sum();
        let expected = bg.expected_purchases_population(39.0).unwrap();
        assert!((mean - expected).abs() < 1e-9, "{mean} vs {expected}");

        let pareto = super::super::pareto_nbd::ParetoNbd {
            r: 0.553,
            alpha: 10.58,
            s: 0.606,
            beta: 11.67,
        };
        let pmf = pareto_nbd(pareto.r, pareto.alpha, pareto.s, pareto.beta, 39.0, 200).unwrap();
        let total: f64 = pmf.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "Pareto/NBD Σ = {total}");
        let mean: f64 = pmf.iter().enumerate().map(|(n, p)| n as f64 * p).sum();
        let expected = pareto.expected_purchases_population(39.0).unwrap();
        assert!((mean - expected).abs() < 1e-7, "{mean} vs {expected}");
    }
}
