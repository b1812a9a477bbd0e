//! Did a retention tactic work? Two groups' rates (or NPS) compared: the difference with its
//! 95 % interval, the relative lift, a two-sided p-value, and the sample size per group
//! needed to detect a given effect (docs/formulas.md § 8).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Discrete, Hypergeometric, Normal};
use statrs::function::erf::erfc;

use super::bayes::{bayesian_comparison, Posterior};
use super::breakdown::{num, Breakdown, Interval, Kpi, KpiResponse, Unit};
use super::confidence::{with_wilson, Confidence};
use super::error::InvalidInput;
use super::nps::{net_promoter_score, NpsCounts};

/// Fisher's exact test is used when any expected cell count is below this.
pub const FISHER_BELOW_EXPECTED: f64 = 5.0;
/// Fisher's exact test sums at most this many tables; past it the z-test answers, with a note.
const FISHER_MAX_TABLES: u64 = 1_000_000;

/// `successes` of `trials`: customers retained (or converted) of those who started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proportion {
    successes: u64,
    trials: u64,
}

impl Proportion {
    /// Refuses an empty group and more retained than started; `group` is `control` or `variant`.
    pub fn new(group: &str, retained: u64, started: u64) -> Result<Self, InvalidInput> {
        if started == 0 {
            return Err(InvalidInput::new(
                format!("/{group}/started"),
                "must be greater than zero",
                format!("{group}.started is 0: a group needs customers to compare"),
            ));
        }
        if retained > started {
            return Err(InvalidInput::new(
                format!("/{group}/retained"),
                "must not exceed started",
                format!("{group}.retained ({retained}) exceeds {group}.started ({started})"),
            ));
        }
        Ok(Self {
            successes: retained,
            trials: started,
        })
    }
}

/// What the proportions measure; churn is compared as 1 − retained / started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateKind {
    Retention,
    Churn,
    Conversion,
}

impl RateKind {
    fn name(self) -> &'static str {
        match self {
            RateKind::Retention => "retention",
            RateKind::Churn => "churn",
            RateKind::Conversion => "conversion",
        }
    }
}

/// The statistical test behind the p-value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HypothesisTest {
    /// `two_proportion_z_test`, `fisher_exact`, `z_test_nps_difference`,
    /// `exact_permutation_nps_difference` (a group without spread or an expected count below
    /// 5) or `z_test_nps_difference_pooled` (a group without spread and too many tables).
    pub method: String,
    /// The z statistic, for the z-tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<f64>,
    /// Two-sided p-value of "no difference between the groups".
    pub p_value: f64,
    /// Whether p < 0.05.
    pub significant_at_5_pct: bool,
}

/// The comparison: the difference (headline, with its interval), the two rates, the lift and
/// the sample size in `related`, and the test.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AbTestReport {
    #[serde(flatten)]
    pub comparison: KpiResponse,
    pub test: HypothesisTest,
}

/// How to size a follow-up test: the smallest difference worth detecting and the power.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSizeGoal {
    pub minimum_effect: f64,
    pub power_pct: f64,
}

impl SampleSizeGoal {
    /// `minimum_effect` in percentage points (NPS points for NPS), greater than 0 and at most
    /// `max_effect`; power from 50 to 99.9 %.
    pub fn new(minimum_effect: f64, power_pct: f64, max_effect: f64) -> Result<Self, InvalidInput> {
        if minimum_effect.is_nan() || minimum_effect <= 0.0 || minimum_effect > max_effect {
            return Err(InvalidInput::new(
                "/minimum_detectable_effect",
                format!("must be greater than 0 and at most {}", num(max_effect)),
                format!("minimum_detectable_effect is {}: give the smallest difference worth detecting, above 0 and at most {}", num(minimum_effect), num(max_effect)),
            ));
        }
        if !(50.0..=99.9).contains(&power_pct) {
            return Err(InvalidInput::new(
                "/power_pct",
                "must be from 50 to 99.9",
                format!(
                    "power_pct is {}: statistical power runs from 50 to 99.9 %",
                    num(power_pct)
                ),
            ));
        }
        Ok(Self {
            minimum_effect,
            power_pct,
        })
    }
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Two-sided p-value of a standard-normal statistic: `erfc(|z| / √2)`.
fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

fn rate_kpi(kind: RateKind, group: &str, p: Proportion, confidence: Confidence) -> Kpi {
    let retained = p.successes as f64 / p.trials as f64;
    let (value, formula, substitution) = match kind {
        RateKind::Churn => (
            (1.0 - retained) * 100.0,
            "rate = (n - x) / n × 100",
            format!("({} - {}) / {} × 100", p.trials, p.successes, p.trials),
        ),
        _ => (
            retained * 100.0,
            "rate = x / n × 100",
            format!("{} / {} × 100", p.successes, p.trials),
        ),
    };
    let kpi = Kpi::new(
        format!("{group}_{}_rate", kind.name()),
        value,
        Unit::Percent,
        Breakdown::new(formula, substitution.clone())
            .input("x", p.successes)
            .input("n", p.trials)
            .step(format!("{group} {} rate", kind.name()), substitution, value),
    );
    let counted = match kind {
        RateKind::Churn => p.trials - p.successes,
        _ => p.successes,
    };
    with_wilson(kpi, counted, p.trials, confidence)
}

/// Compares two groups' retention, churn or conversion.
///
/// # Formula
///
/// ```text
/// p             = x / n   (retention, conversion)   or   (n − x) / n   (churn);   q = 1 − p
/// d             = (p₂ − p₁) × 100
/// interval      = d ± z × 100 × √(p₁q₁/n₁ + p₂q₂/n₂)         (Wald, unpooled; clipped to ±100)
/// lift (%)      = (p₂ − p₁) / p₁ × 100                      (left out when p₁ = 0)
/// z             = (x₂/n₂ − x₁/n₁) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)),   p̄ = (x₁ + x₂) / (n₁ + n₂)
/// p-value       = erfc(|z| / √2)
/// n per group   = (z_{α/2} √(2p̃(1 − p̃)) + z_β √(p₁q₁ + p₂q₂))² / δ²
///                 with p₂ = p₁ + δ (p₁ − δ when that passes 1), p̃ = (p₁ + p₂) / 2
/// ```
///
/// where x of n customers were retained (or converted) in the control (1) and the variant
/// (2); z is computed on the retained rates whatever the metric. When an expected cell count
/// is below 5 (and at most 1,000,000 tables are to be summed), Fisher's exact test gives the
/// p-value instead: two-sided, the sum of the hypergeometric probabilities of the tables no
/// more likely than the observed one, as R's `fisher.test`. The sample size is for an effect
/// δ (a fraction) at power 1 − β and α = 0.05 two-sided (Fleiss' formula without continuity
/// correction), rounded up. Units: the difference in percentage points, the rates and the
/// lift in percent, the sample size a count. Source: docs/formulas.md § 8.
///
/// z is the critical value of `confidence` (1.959964 at the default 95 %). Each group's rate
/// carries its Wilson score interval at the same level (docs/formulas.md § 13), and
/// `related` ends with the Bayesian reading of the same counts: the probability that the
/// variant beats the control and the expected loss of each choice
/// ([`bayesian_comparison`], § 8.1).
pub fn compare_rates(
    kind: RateKind,
    control: Proportion,
    variant: Proportion,
    goal: Option<SampleSizeGoal>,
    confidence: Confidence,
) -> Result<AbTestReport, InvalidInput> {
    let z = confidence.z();
    let level = num(confidence.level() * 100.0);
    let as_rate = |p: Proportion| {
        let r = p.successes as f64 / p.trials as f64;
        if kind == RateKind::Churn {
            1.0 - r
        } else {
            r
        }
    };
    let (p1, p2) = (as_rate(control), as_rate(variant));
    let (n1, n2) = (control.trials as f64, variant.trials as f64);
    let difference = (p2 - p1) * 100.0;
    let se_unpooled = (p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2)
        .max(0.0)
        .sqrt()
        * 100.0;
    let margin = z * se_unpooled;
    let breakdown = Breakdown::new(
        "d = (p2 - p1) × 100;  CI = d ± z × 100 × sqrt(p1 q1 / n1 + p2 q2 / n2)",
        format!("({} - {}) × 100", num(p2), num(p1)),
    )
    .input("p1", p1)
    .input("n1", control.trials)
    .input("p2", p2)
    .input("n2", variant.trials)
    .step(
        "difference (points)",
        format!("({} - {}) × 100", num(p2), num(p1)),
        difference,
    )
    .step(
        "standard error (points)",
        format!(
            "100 × sqrt({} × {} / {} + {} × {} / {})",
            num(p1),
            num(1.0 - p1),
            num(n1),
            num(p2),
            num(1.0 - p2),
            num(n2)
        ),
        se_unpooled,
    )
    .step(
        format!("{level} % margin of error (points)"),
        format!("{} × {}", num(z), num(se_unpooled)),
        margin,
    );
    let mut headline = Kpi::new(
        format!("{}_rate_difference", kind.name()),
        difference,
        Unit::PercentagePoints,
        breakdown,
    )
    .note("Difference = variant - control, in percentage points.");
    headline.interval = Some(Interval::normal(
        difference,
        se_unpooled,
        (-100.0, 100.0),
        "Wald interval, unpooled variance",
        confidence,
    ));

    let (test, test_note) = proportion_test(control, variant);
    if let Some(note) = test_note {
        headline = headline.note(note);
    }
    let mut answer = KpiResponse::new(headline)
        .with(rate_kpi(kind, "control", control, confidence))
        .with(rate_kpi(kind, "variant", variant, confidence));
    if p1 > 0.0 {
        let lift = (p2 - p1) / p1 * 100.0;
        answer = answer.with(Kpi::new(
            "relative_lift",
            lift,
            Unit::Percent,
            Breakdown::new(
                "lift = (p2 - p1) / p1 × 100",
                format!("({} - {}) / {} × 100", num(p2), num(p1), num(p1)),
            )
            .input("p1", p1)
            .input("p2", p2)
            .step(
                "relative lift",
                format!("({} - {}) / {} × 100", num(p2), num(p1), num(p1)),
                lift,
            ),
        ));
    } else {
        answer.kpi = answer
            .kpi
            .note("The control rate is 0: the relative lift is undefined and left out.");
    }
    if let Some(goal) = goal {
        answer = answer.with(proportion_sample_size(p1, goal)?);
    }
    let posteriors = (
        Posterior::uniform_prior(control.successes, control.trials),
        Posterior::uniform_prior(variant.successes, variant.trials),
    );
    for kpi in bayesian_comparison(posteriors.0, posteriors.1) {
        answer = answer.with(kpi);
    }
    Ok(AbTestReport {
        comparison: answer,
        test,
    })
}

/// The z-test, or Fisher's exact test when an expected count is small.
/// Cells are counted as retained / not retained: churn flips both rates, not the test.
fn proportion_test(control: Proportion, variant: Proportion) -> (HypothesisTest, Option<String>) {
    let (x1, n1, x2, n2) = (
        control.successes,
        control.trials,
        variant.successes,
        variant.trials,
    );
    let total = n1 + n2;
    let successes = x1 + x2;
    let expected = [
        n1 as f64 * successes as f64 / total as f64,
        n1 as f64 * (total - successes) as f64 / total as f64,
        n2 as f64 * successes as f64 / total as f64,
        n2 as f64 * (total - successes) as f64 / total as f64,
    ];
    let small = expected.iter().any(|&e| e < FISHER_BELOW_EXPECTED);
    let support = n1.min(successes).min(total - successes).min(n2) + 1;
    if small && support <= FISHER_MAX_TABLES {
        if let Some(p_value) = fisher_exact_two_sided(x1, n1, successes, total) {
            return (
                HypothesisTest {
                    method: "fisher_exact".to_owned(),
                    statistic: None,
                    p_value,
                    significant_at_5_pct: p_value < 0.05,
                },
                Some(
                    "An expected cell count is below 5: Fisher's exact test gives the p-value."
                        .to_owned(),
                ),
            );
        }
    }
    let pooled = successes as f64 / total as f64;
    let se0 = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    let diff = x2 as f64 / n2 as f64 - x1 as f64 / n1 as f64;
    let (statistic, p_value) = if se0 > 0.0 {
        let z = diff / se0;
        (Some(z), two_sided_p(z))
    } else {
        // Both groups all retained or all lost: the rates are equal.
        (Some(0.0), 1.0)
    };
    let note = (small && support > FISHER_MAX_TABLES).then(|| {
        "An expected cell count is below 5 but the exact test would sum too many tables: the z-test gives the p-value."
            .to_owned()
    });
    (
        HypothesisTest {
            method: "two_proportion_z_test".to_owned(),
            statistic,
            p_value,
            significant_at_5_pct: p_value < 0.05,
        },
        note,
    )
}

/// Two-sided Fisher exact p-value for `x1` successes in a group of `n1`, `successes` of
/// `total` overall: the sum of the hypergeometric probabilities no larger than the observed
/// one (relative tolerance 1e-7, as R's fisher.test).
fn fisher_exact_two_sided(x1: u64, n1: u64, successes: u64, total: u64) -> Option<f64> {
    let dist = Hypergeometric::new(total, successes, n1).ok()?;
    let low = (n1 + successes).saturating_sub(total);
    let high = n1.min(successes);
    let observed = dist.ln_pmf(x1);
    let threshold = observed + 1e-7_f64.ln_1p();
    let p: f64 = (low..=high)
        .map(|k| dist.ln_pmf(k))
        .filter(|&lp| lp <= threshold)
        .map(f64::exp)
        .sum();
    p.is_finite().then_some(p.min(1.0))
}

fn z_quantiles(power_pct: f64) -> (f64, f64) {
    let normal = standard_normal();
    (
        normal.inverse_cdf(0.975),
        normal.inverse_cdf(power_pct / 100.0),
    )
}

fn sample_size_kpi(n: f64, breakdown: Breakdown, power_pct: f64) -> Result<Kpi, InvalidInput> {
    let n = n.ceil();
    if !n.is_finite() || n > 9.0e15 {
        return Err(InvalidInput::new(
            "/minimum_detectable_effect",
            "too small to size a test for",
            "the sample size for this effect is beyond counting: choose a larger minimum_detectable_effect",
        ));
    }
    Ok(Kpi::new(
        "required_sample_size_per_group",
        n.max(1.0),
        Unit::Count,
        breakdown,
    )
    .note(format!(
        "Customers per group to detect the effect with {}% power at a two-sided 5 % level.",
        num(power_pct)
    )))
}

fn proportion_sample_size(p1: f64, goal: SampleSizeGoal) -> Result<Kpi, InvalidInput> {
    let delta = goal.minimum_effect / 100.0;
    let p2 = if p1 + delta <= 1.0 {
        p1 + delta
    } else {
        p1 - delta
    };
    if !(0.0..=1.0).contains(&p2) {
        return Err(InvalidInput::new(
            "/minimum_detectable_effect",
            "must fit between 0 and 100 % around the control rate",
            "the control rate plus or minus minimum_detectable_effect leaves 0–100 %",
        ));
    }
    let (z_a, z_b) = z_quantiles(goal.power_pct);
    let p_bar = (p1 + p2) / 2.0;
    let root = z_a * (2.0 * p_bar * (1.0 - p_bar)).sqrt()
        + z_b * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = root * root / (delta * delta);
    let breakdown = Breakdown::new(
        "n = (z_a sqrt(2 p q) + z_b sqrt(p1 q1 + p2 q2))^2 / δ^2",
        format!(
            "({} × sqrt(2 × {} × {}) + {} × sqrt({} × {} + {} × {}))^2 / {}^2",
            num(z_a),
            num(p_bar),
            num(1.0 - p_bar),
            num(z_b),
            num(p1),
            num(1.0 - p1),
            num(p2),
            num(1.0 - p2),
            num(delta)
        ),
    )
    .input("p1", p1)
    .input("p2", p2)
    .input("δ", delta)
    .input("z_a", z_a)
    .input("z_b", z_b)
    .step(
        "sample size per group (before rounding up)",
        "root^2 / δ^2",
        n,
    );
    sample_size_kpi(n, breakdown, goal.power_pct)
}

/// Compares two groups' NPS.
///
/// # Formula
///
/// ```text
/// d             = NPS₂ − NPS₁
/// se            = 100 × √(v₁/n₁ + v₂/n₂),   v = p + q − (p − q)² per group
/// interval      = d ± z × se                 (clipped to ±200; z = 1.959964 at 95 %)
/// z             = d / se,   p-value = erfc(|z| / √2)
/// n per group   = (z_{α/2} + z_β)² × 2 × 100² × v̄ / δ²,   v̄ = (v₁ + v₂) / 2
/// ```
///
/// where p and q are a group's promoter and detractor shares and n its responses (control 1,
/// variant 2), δ the difference to detect in NPS points. When a group's answers do not vary
/// or an expected count of the 2 × 3 table is below 5, the p-value is the exact permutation
/// test's; where that would sum too many tables and a group has no spread, z uses the pooled
/// answers' variance v₀: `z = d / (100 × √(v₀ (1/n₁ + 1/n₂)))`. Units: NPS points (score),
/// the sample size a count. Source: docs/formulas.md § 5 and § 8.
pub fn compare_nps(
    control: NpsCounts,
    variant: NpsCounts,
    goal: Option<SampleSizeGoal>,
    confidence: Confidence,
) -> Result<AbTestReport, InvalidInput> {
    let first = net_promoter_score(&control, confidence).kpi;
    let second = net_promoter_score(&variant, confidence).kpi;
    let z = confidence.z();
    let variance = |c: &NpsCounts, kpi: &Kpi| {
        let se = kpi
            .interval
            .as_ref()
            .and_then(|i| i.standard_error)
            .unwrap_or(0.0);
        se * se * c.total() as f64 / 10_000.0
    };
    let (v1, v2) = (variance(&control, &first), variance(&variant, &second));
    let (n1, n2) = (control.total() as f64, variant.total() as f64);
    let difference = second.value - first.value;
    let se = 100.0 * (v1 / n1 + v2 / n2).sqrt();
    let margin = z * se;
    let breakdown = Breakdown::new(
        "d = NPS2 - NPS1;  CI = d ± z × 100 × sqrt(v1 / n1 + v2 / n2)",
        format!("{} - {}", num(second.value), num(first.value)),
    )
    .input("NPS1", first.value)
    .input("n1", control.total())
    .input("NPS2", second.value)
    .input("n2", variant.total())
    .step(
        "difference (points)",
        format!("{} - {}", num(second.value), num(first.value)),
        difference,
    )
    .step(
        "standard error (points)",
        format!(
            "100 × sqrt({} / {} + {} / {})",
            num(v1),
            num(n1),
            num(v2),
            num(n2)
        ),
        se,
    )
    .step(
        format!(
            "{} % margin of error (points)",
            num(confidence.level() * 100.0)
        ),
        format!("{} × {}", num(z), num(se)),
        margin,
    );
    let mut headline = Kpi::new("nps_difference", difference, Unit::Score, breakdown)
        .note("Difference = variant NPS - control NPS, in NPS points.");
    headline.interval = Some(Interval::normal(
        difference,
        se,
        (-200.0, 200.0),
        "normal approximation, multinomial variance of each group",
        confidence,
    ));
    // The normal approximation needs both groups' answers to vary and enough of each kind;
    // otherwise the exact permutation test, when its tables are few enough to sum.
    let small =
        v1 == 0.0 || v2 == 0.0 || nps_expected_minimum(&control, &variant) < FISHER_BELOW_EXPECTED;
    let exact = if small {
        nps_exact_permutation_p(&control, &variant)
    } else {
        None
    };
    let (method, statistic, p_value) = if let Some(p_value) = exact {
        headline = headline.note("A group's answers do not vary or an expected count is below 5: the exact permutation test (all splits of the pooled answers into groups of these sizes) gives the p-value.");
        ("exact_permutation_nps_difference", None, p_value)
    } else if se > 0.0 && v1 > 0.0 && v2 > 0.0 {
        let z = difference / se;
        ("z_test_nps_difference", Some(z), two_sided_p(z))
    } else {
        // Too many tables to sum and a group without spread: the score test, with the pooled
        // answers' variance under "no difference" (0 only when every answer is of one kind,
        // and then the groups are equal).
        let ((p1, _, d1), (p2, _, d2)) = (control.counts(), variant.counts());
        let n = n1 + n2;
        let (p, q) = ((p1 + p2) as f64 / n, (d1 + d2) as f64 / n);
        let v0 = p + q - (p - q) * (p - q);
        let se0 = 100.0 * (v0 * (1.0 / n1 + 1.0 / n2)).sqrt();
        headline = headline.note("A group's answers do not vary: the z statistic uses the pooled answers' variance under no difference.");
        if se0 > 0.0 {
            let z = difference / se0;
            ("z_test_nps_difference_pooled", Some(z), two_sided_p(z))
        } else {
            ("z_test_nps_difference_pooled", Some(0.0), 1.0)
        }
    };
    let mut control_kpi = first;
    control_kpi.metric = "control_nps".into();
    let mut variant_kpi = second;
    variant_kpi.metric = "variant_nps".into();
    let mut answer = KpiResponse::new(headline)
        .with(control_kpi)
        .with(variant_kpi);
    if let Some(goal) = goal {
        let v_bar = (v1 + v2) / 2.0;
        if v_bar > 0.0 {
            let (z_a, z_b) = z_quantiles(goal.power_pct);
            let n = (z_a + z_b).powi(2) * 2.0 * 10_000.0 * v_bar / goal.minimum_effect.powi(2);
            let breakdown = Breakdown::new(
                "n = (z_a + z_b)^2 × 2 × 100^2 × v / δ^2",
                format!(
                    "({} + {})^2 × 2 × 10000 × {} / {}^2",
                    num(z_a),
                    num(z_b),
                    num(v_bar),
                    num(goal.minimum_effect)
                ),
            )
            .input("z_a", z_a)
            .input("z_b", z_b)
            .input("v", v_bar)
            .input("δ", goal.minimum_effect)
            .step(
                "sample size per group (before rounding up)",
                "(z_a + z_b)^2 × 2 × 100^2 × v / δ^2",
                n,
            );
            answer = answer.with(sample_size_kpi(n, breakdown, goal.power_pct)?);
        } else {
            answer.kpi = answer
                .kpi
                .note("Neither group's answers vary: no sample size can be derived from them.");
        }
    }
    Ok(AbTestReport {
        comparison: answer,
        test: HypothesisTest {
            method: method.to_owned(),
            statistic,
            p_value,
            significant_at_5_pct: p_value < 0.05,
        },
    })
}

/// The smallest expected count of the 2 × 3 table (group × promoter/passive/detractor) under
/// "no difference".
fn nps_expected_minimum(a: &NpsCounts, b: &NpsCounts) -> f64 {
    let (n1, n2) = (a.total() as f64, b.total() as f64);
    let n = n1 + n2;
    let ((p1, m1, d1), (p2, m2, d2)) = (a.counts(), b.counts());
    [p1 + p2, m1 + m2, d1 + d2]
        .iter()
        .flat_map(|&k| [n1 * k as f64 / n, n2 * k as f64 / n])
        .fold(f64::INFINITY, f64::min)
}

/// Two-sided exact permutation p-value of the NPS difference: over every split of the pooled
/// answers into groups of the observed sizes (the multivariate hypergeometric distribution of
/// the control group's promoters, passives and detractors), the probability of a difference
/// at least as large in absolute value as the observed one (relative tolerance 1e-7, as
/// R's fisher.test). `None` when more than `FISHER_MAX_TABLES` tables would be summed.
///
/// # Formula
/// `P(a, b, c) = C(P, a) C(M, b) C(D, c) / C(N, n₁)` for control counts a + b + c = n₁ out of
/// pooled P promoters, M passives, D detractors; `d = 100 (P−a − (D−c)) / n₂ − 100 (a − c) / n₁`.
fn nps_exact_permutation_p(control: &NpsCounts, variant: &NpsCounts) -> Option<f64> {
    use statrs::function::factorial::ln_binomial;
    let ((p1, m1, d1), (p2, m2, d2)) = (control.counts(), variant.counts());
    let (pro, pas, det) = (p1 + p2, m1 + m2, d1 + d2);
    let (n1, n2) = (control.total(), variant.total());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let tables = (pro.min(n1) + 1).saturating_mul(pas.min(n1) + 1);
    if tables > FISHER_MAX_TABLES {
        return None;
    }
    let difference = |a: u64, c: u64| {
        100.0 * ((pro - a) as f64 - (det - c) as f64) / n2 as f64
            - 100.0 * (a as f64 - c as f64) / n1 as f64
    };
    let observed = difference(p1, d1).abs();
    let ln_total = ln_binomial(pro + pas + det, n1);
    let mut p_value = 0.0;
    for a in 0..=pro.min(n1) {
        for b in 0..=pas.min(n1 - a) {
            let c = n1 - a - b;
            if c > det {
                continue;
            }
            if difference(a, c).abs() >= observed * (1.0 - 1e-7) {
                p_value += (ln_binomial(pro, a) + ln_binomial(pas, b) + ln_binomial(det, c)
                    - ln_total)
                    .exp();
            }
        }
    }
    Some(p_value.min(1.0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn nps_groups_without_spread_get_an_exact_test() {
        // One promoter against one detractor: either split is as extreme, p = 1.
        let one = |p, m, d| NpsCounts::new(p, m, d).unwrap();
        let report = compare_nps(one(1, 0, 0), one(0, 0, 1), None, Confidence::default()).unwrap();
        assert_eq!(report.test.method, "exact_permutation_nps_difference");
        assert!((report.test.p_value - 1.0).abs() < 1e-12);
        assert!(!report.test.significant_at_5_pct);
        // Ten promoters against ten detractors: only the observed split and its mirror are as
        // extreme, 2 / C(20, 10) = 1.0825e-5.
        let report =
            compare_nps(one(10, 0, 0), one(0, 0, 10), None, Confidence::default()).unwrap();
        assert!((report.test.p_value - 2.0 / 184_756.0).abs() < 1e-15);
        assert!(report.test.significant_at_5_pct);
        // All answers alike: no difference, p = 1.
        let report = compare_nps(one(4, 0, 0), one(7, 0, 0), None, Confidence::default()).unwrap();
        assert!((report.test.p_value - 1.0).abs() < 1e-12);
    }

    use super::*;

    fn proportion(x: u64, n: u64) -> Proportion {
        Proportion::new("control", x, n).unwrap()
    }

    #[test]
    fn z_test_matches_a_hand_computation() {
        // 420/1000 vs 465/1000: pooled 0.4425, se0 = sqrt(0.4425 × 0.5575 × 0.002) = 0.022213,
        // z = 0.045 / 0.022213 = 2.0258, two-sided p = 0.0428 (normal table).
        let report = compare_rates(
            RateKind::Retention,
            proportion(420, 1000),
            proportion(465, 1000),
            None,
            Confidence::default(),
        )
        .unwrap();
        let z = report.test.statistic.unwrap();
        assert!((z - 2.0258).abs() < 1e-3, "z = {z}");
        assert!(
            (report.test.p_value - 0.0428).abs() < 5e-4,
            "p = {}",
            report.test.p_value
        );
        assert!((report.comparison.kpi.value - 4.5).abs() < 1e-9);
    }

    #[test]
    fn fisher_exact_matches_the_tea_tasting_table() {
        // Fisher's lady tasting tea: 3 of 4 right in each arm of the 2x2 table
        // [[3, 1], [1, 3]]: two-sided p = 0.4857 (R: fisher.test(matrix(c(3,1,1,3),2))).
        let report = compare_rates(
            RateKind::Retention,
            proportion(3, 4),
            proportion(1, 4),
            None,
            Confidence::default(),
        )
        .unwrap();
        assert_eq!(report.test.method, "fisher_exact");
        assert!(
            (report.test.p_value - 0.485714).abs() < 1e-6,
            "p = {}",
            report.test.p_value
        );
    }

    #[test]
    fn sample_size_matches_the_textbook_formula() {
        // p1 = 0.40, δ = 0.05 → p2 = 0.45, 80 % power, α = 0.05 (Fleiss' formula without
        // continuity correction), by hand: (1.95996 × 0.69911 + 0.84162 × 0.69821)² / 0.0025
        // = 1533.3 → 1534 per group.
        let goal = SampleSizeGoal::new(5.0, 80.0, 100.0).unwrap();
        let kpi = proportion_sample_size(0.40, goal).unwrap();
        assert_eq!(kpi.value, 1534.0);
    }
}
