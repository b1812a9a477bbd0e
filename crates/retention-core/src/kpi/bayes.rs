//! The Bayesian reading of an A/B test of two rates: the probability that the variant beats
//! the control, and the expected loss of choosing either (docs/formulas.md § 8.1). Exact
//! sums, no random sampling: the same counts always give the same bits.

use statrs::distribution::{ContinuousCDF, Normal};
use statrs::function::beta::ln_beta;

use super::breakdown::{num, Breakdown, Kpi, Unit};

/// The exact sums run over at most this many terms (the smallest of the four posterior
/// parameters); past it, both posteriors are read as normal distributions, with a note.
pub const MAX_EXACT_TERMS: u64 = 200_000;

/// A Beta(a, b) posterior of a retained (or converted) rate: the uniform Beta(1, 1) prior
/// updated with x of n, a = 1 + x and b = 1 + n − x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posterior {
    pub a: u64,
    pub b: u64,
}

impl Posterior {
    /// The posterior of `successes` of `trials` under the uniform prior.
    pub fn uniform_prior(successes: u64, trials: u64) -> Self {
        Self {
            a: successes + 1,
            b: trials - successes + 1,
        }
    }

    fn mean(self) -> f64 {
        self.a as f64 / (self.a + self.b) as f64
    }

    fn variance(self) -> f64 {
        let (a, b) = (self.a as f64, self.b as f64);
        a * b / ((a + b) * (a + b) * (a + b + 1.0))
    }

    fn shifted(self) -> Self {
        Self {
            a: self.a + 1,
            b: self.b,
        }
    }
}

/// P(X₂ > X₁) for X₁ ~ Beta(a₁, b₁) and X₂ ~ Beta(a₂, b₂), integer parameters, by the
/// shortest of four exact sums.
///
/// # Formula
///
/// ```text
/// h(a₁, b₁, a₂, b₂) = Σ_{i=0}^{a₂−1} t_i,
/// t₀ = B(a₁, b₁ + b₂) / B(a₁, b₁),
/// t_{i+1} = t_i × (a₁ + i)(b₂ + i) / ((a₁ + b₁ + b₂ + i)(i + 1))
/// ```
///
/// (Evan Miller's closed form, `t_i = B(a₁+i, b₁+b₂) / ((b₂+i) B(1+i, b₂) B(a₁, b₁))`, with
/// the ratio of successive terms). By symmetry also `1 − h(a₂, b₂, a₁, b₁)` (a₁ terms),
/// `h(b₂, a₂, b₁, a₁)` (b₁ terms) and `1 − h(b₁, a₁, b₂, a₂)` (b₂ terms); the shortest is
/// summed, in log space. `None` when even the shortest is longer than [`MAX_EXACT_TERMS`].
pub fn probability_greater(first: Posterior, second: Posterior) -> Option<f64> {
    let (a1, b1, a2, b2) = (first.a, first.b, second.a, second.b);
    let shortest = a1.min(b1).min(a2).min(b2);
    if shortest > MAX_EXACT_TERMS {
        return None;
    }
    Some(if shortest == a2 {
        miller_sum(a1, b1, a2, b2)
    } else if shortest == a1 {
        1.0 - miller_sum(a2, b2, a1, b1)
    } else if shortest == b1 {
        miller_sum(b2, a2, b1, a1)
    } else {
        1.0 - miller_sum(b1, a1, b2, a2)
    })
}

/// `Σ_{i=0}^{a₂−1} t_i` of [`probability_greater`], each term's logarithm built by the ratio
/// recursion and the sum accumulated against the largest term so far (no underflow when the
/// first terms are below 1e-308).
fn miller_sum(a1: u64, b1: u64, a2: u64, b2: u64) -> f64 {
    let (a1f, b1f, b2f) = (a1 as f64, b1 as f64, b2 as f64);
    let mut log_term = ln_beta(a1f, b1f + b2f) - ln_beta(a1f, b1f);
    let (mut log_max, mut scaled) = (log_term, 1.0);
    for i in 1..a2 {
        // An abandoned request's answer is never sent: stop (http::work answers time-limit).
        if crate::cancel::stop_at(i as usize) {
            break;
        }
        let j = (i - 1) as f64;
        log_term += ((a1f + j) * (b2f + j)).ln() - ((a1f + b1f + b2f + j) * (j + 1.0)).ln();
        if log_term > log_max {
            scaled = scaled * (log_max - log_term).exp() + 1.0;
            log_max = log_term;
        } else {
            scaled += (log_term - log_max).exp();
        }
    }
    (log_max + scaled.ln()).exp().clamp(0.0, 1.0)
}

/// How the probabilities were computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Exact,
    Normal,
}

/// P(X₂ > X₁) exactly, or by the normal approximation of both posteriors past
/// [`MAX_EXACT_TERMS`]: `Φ((m₂ − m₁) / √(v₁ + v₂))`.
fn greater(first: Posterior, second: Posterior) -> (f64, Method) {
    match probability_greater(first, second) {
        Some(p) => (p, Method::Exact),
        None => {
            let z = (second.mean() - first.mean()) / (first.variance() + second.variance()).sqrt();
            (Normal::standard().cdf(z), Method::Normal)
        }
    }
}

/// E[max(X₁ − X₂, 0)]: the expected loss, in rate, of choosing the second when the first is
/// better.
///
/// # Formula
///
/// ```text
/// E[max(X₁ − X₂, 0)] = a₁/(a₁+b₁) × P(X₁⁺ > X₂) − a₂/(a₂+b₂) × P(X₁ > X₂⁺)
/// ```
///
/// where X⁺ ~ Beta(a + 1, b) (E[X 1{X > Y}] = E[X] P(X⁺ > Y)).
fn expected_loss(first: Posterior, second: Posterior) -> (f64, Method) {
    let (p_first, m1) = greater(second, first.shifted());
    let (p_second, m2) = greater(second.shifted(), first);
    let loss = first.mean() * p_first - second.mean() * p_second;
    let method = if m1 == Method::Exact && m2 == Method::Exact {
        Method::Exact
    } else {
        Method::Normal
    };
    (loss.max(0.0), method)
}

/// The probability that the variant beats the control and the expected loss of choosing
/// either, from the retained (converted) counts of each group.
///
/// # Formula
///
/// ```text
/// θ_c ~ Beta(1 + x₁, 1 + n₁ − x₁),   θ_v ~ Beta(1 + x₂, 1 + n₂ − x₂)       (uniform prior)
/// P(variant beats control) = P(θ_v > θ_c) × 100                            (percent)
/// loss of choosing the variant = E[max(θ_c − θ_v, 0)] × 100                (points)
/// loss of choosing the control = E[max(θ_v − θ_c, 0)] × 100                (points)
/// ```
///
/// θ is the retained (or converted) rate; for churn "beats" means a lower churn, the same
/// event, and the losses are the same in churn points. Computed by exact finite sums
/// ([`probability_greater`]); when every posterior parameter exceeds [`MAX_EXACT_TERMS`], by
/// the normal approximation of both posteriors, which the breakdown names. Source: Evan
/// Miller, "Formulas for Bayesian A/B testing" (2015); Chris Stucchio, "Bayesian A/B testing
/// at VWO" (2015) for the expected loss; docs/formulas.md § 8.1.
pub fn bayesian_comparison(control: Posterior, variant: Posterior) -> Vec<Kpi> {
    let (beats, m_beats) = greater(control, variant);
    let (loss_variant, m_lv) = expected_loss(control, variant);
    let (loss_control, m_lc) = expected_loss(variant, control);
    let method = if [m_beats, m_lv, m_lc].contains(&Method::Normal) {
        "normal approximation of both posteriors (every exact sum would exceed 200,000 terms)"
    } else {
        "exact finite sum (Evan Miller's closed form)"
    };
    let posterior = |b: Breakdown| {
        b.input("a_c", control.a)
            .input("b_c", control.b)
            .input("a_v", variant.a)
            .input("b_v", variant.b)
            .step(
                "control posterior",
                format!("Beta({}, {})", control.a, control.b),
                control.mean(),
            )
            .step(
                "variant posterior",
                format!("Beta({}, {})", variant.a, variant.b),
                variant.mean(),
            )
    };
    let prior_note = "Uniform Beta(1, 1) prior on each group's retained (or converted) rate; the posterior is Beta(1 + x, 1 + n - x).";
    let beats_kpi = Kpi::new(
        "probability_variant_beats_control",
        beats * 100.0,
        Unit::Percent,
        posterior(Breakdown::new(
            "P(θ_v > θ_c) × 100, θ ~ Beta(1 + x, 1 + n - x)",
            format!(
                "P(Beta({}, {}) > Beta({}, {})) × 100",
                variant.a, variant.b, control.a, control.b
            ),
        ))
        .step(method, "P(θ_v > θ_c)", beats),
    )
    .note(prior_note)
    .note("The chance that the variant's true rate is the better one (for churn: the lower churn), given the data and the prior.");
    let loss = |metric: &'static str, formula: &'static str, value: f64| {
        Kpi::new(
            metric,
            value * 100.0,
            Unit::PercentagePoints,
            posterior(Breakdown::new(
                formula,
                format!(
                    "θ_c ~ Beta({}, {}), θ_v ~ Beta({}, {})",
                    control.a, control.b, variant.a, variant.b
                ),
            ))
            .step(method, num(value), value),
        )
        .note(prior_note)
        .note("The rate expected to be given up, in points, if this choice is the worse one: the risk of choosing it now.")
    };
    vec![
        beats_kpi,
        loss(
            "expected_loss_choosing_variant",
            "E[max(θ_c - θ_v, 0)] × 100",
            loss_variant,
        ),
        loss(
            "expected_loss_choosing_control",
            "E[max(θ_v - θ_c, 0)] × 100",
            loss_control,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worked_example_of_formulas_md() {
        // § 8.1: retained 1 of 1 against 0 of 1: Beta(2, 1) against Beta(1, 2), P = 1/6.
        let c = Posterior::uniform_prior(1, 1);
        let v = Posterior::uniform_prior(0, 1);
        assert!((probability_greater(c, v).unwrap() - 1.0 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn identical_groups_are_a_coin_toss_and_the_four_sums_agree() {
        let g = Posterior::uniform_prior(30, 100);
        assert!((probability_greater(g, g).unwrap() - 0.5).abs() < 1e-12);
        let (c, v) = (Posterior { a: 3, b: 9 }, Posterior { a: 7, b: 5 });
        let direct = miller_sum(c.a, c.b, v.a, v.b);
        let forms = [
            1.0 - miller_sum(v.a, v.b, c.a, c.b),
            miller_sum(v.b, v.a, c.b, c.a),
            1.0 - miller_sum(c.b, c.a, v.b, v.a),
        ];
        for form in forms {
            assert!((form - direct).abs() < 1e-11, "{form} vs {direct}");
        }
    }

    #[test]
    fn the_normal_approximation_is_close_where_the_sums_stop() {
        // Just under the term limit, exact and approximate agree to a few 1e-4.
        let c = Posterior::uniform_prior(150_000, 450_000);
        let v = Posterior::uniform_prior(150_600, 450_000);
        let exact = probability_greater(c, v).unwrap();
        let z = (v.mean() - c.mean()) / (c.variance() + v.variance()).sqrt();
        assert!((exact - Normal::standard().cdf(z)).abs() < 1e-3, "{exact}");
    }
}
