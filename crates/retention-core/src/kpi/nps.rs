//! Net Promoter Score with its multinomial confidence interval (docs/formulas.md § 5).

use super::breakdown::{num, Breakdown, Interval, Kpi, KpiResponse, Unit};
use super::confidence::Confidence;
use super::error::InvalidInput;

/// Responses counted per bucket: promoters (9–10), passives (7–8), detractors (0–6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NpsCounts {
    promoters: u64,
    passives: u64,
    detractors: u64,
}

impl NpsCounts {
    /// Refuses a survey with no responses.
    pub fn new(promoters: u64, passives: u64, detractors: u64) -> Result<Self, InvalidInput> {
        let total = promoters as u128 + passives as u128 + detractors as u128;
        if total == 0 {
            return Err(InvalidInput::new(
                "/promoters",
                "at least one response is needed",
                "promoters, passives and detractors are all 0: NPS needs at least one response",
            ));
        }
        if total > (1u128 << 53) {
            return Err(InvalidInput::new(
                "/promoters",
                "too many responses",
                "more than 2^53 responses in all cannot be counted exactly",
            ));
        }
        Ok(Self {
            promoters,
            passives,
            detractors,
        })
    }

    /// Buckets raw answers to "how likely are you to recommend …" (whole numbers 0–10).
    /// A score outside 0–10 or with a fraction is refused with its index.
    pub fn from_scores(scores: &[f64]) -> Result<Self, InvalidInput> {
        if scores.is_empty() {
            return Err(InvalidInput::new(
                "/scores",
                "must not be empty",
                "scores is empty: NPS needs at least one response",
            ));
        }
        let (mut promoters, mut passives, mut detractors) = (0, 0, 0);
        for (i, &score) in scores.iter().enumerate() {
            if !(0.0..=10.0).contains(&score) || score.fract() != 0.0 {
                return Err(InvalidInput::new(
                    format!("/scores/{i}"),
                    "must be a whole number from 0 to 10",
                    format!("scores[{i}] is {score}: answers are whole numbers on the 0–10 scale"),
                ));
            }
            match score as u8 {
                9..=10 => promoters += 1,
                7..=8 => passives += 1,
                _ => detractors += 1,
            }
        }
        Self::new(promoters, passives, detractors)
    }

    pub fn total(&self) -> u64 {
        self.promoters + self.passives + self.detractors
    }

    /// (promoters, passives, detractors).
    pub fn counts(&self) -> (u64, u64, u64) {
        (self.promoters, self.passives, self.detractors)
    }
}

/// Net Promoter Score with a 95 % interval, and the three shares beside it.
///
/// # Formula
///
/// ```text
/// NPS           = (P − D) / n × 100 = (p − q) × 100
/// Var(NPS/100)  = (p + q − (p − q)²) / n
/// interval      = NPS ± z × 100 × √Var        (clipped to −100 … +100; z = 1.959964 at 95 %)
/// shares (%)    = P / n × 100, A / n × 100, D / n × 100      (related)
/// ```
///
/// where P is the promoters (answers 9–10), A the passives (7–8), D the detractors (0–6),
/// n = P + A + D the responses, p = P / n and q = D / n. Unit: score from −100 to +100 (the
/// shares in percent). Source: docs/formulas.md § 5 (multinomial variance, normal
/// approximation): 50 % promoters, 20 % detractors, n = 400 → NPS 30 ± 7.65 at 95 %.
pub fn net_promoter_score(counts: &NpsCounts, confidence: Confidence) -> KpiResponse {
    let NpsCounts {
        promoters,
        passives,
        detractors,
    } = *counts;
    let n = counts.total();
    let nf = n as f64;
    let p = promoters as f64 / nf;
    let q = detractors as f64 / nf;
    let nps = (p - q) * 100.0;
    let variance = ((p + q - (p - q).powi(2)) / nf).max(0.0);
    let standard_error = variance.sqrt() * 100.0;
    let z = confidence.z();
    let margin = z * standard_error;
    let (p_text, q_text) = (num(p), num(q));
    let breakdown = Breakdown::new(
        "NPS = (P - D) / n × 100",
        format!("({promoters} - {detractors}) / {n} × 100"),
    )
    .input("P", promoters)
    .input("A", passives)
    .input("D", detractors)
    .input("n", n)
    .step("promoter share p", format!("{promoters} / {n}"), p)
    .step("detractor share q", format!("{detractors} / {n}"), q)
    .step("NPS", format!("({p_text} - {q_text}) × 100"), nps)
    .step(
        "variance of NPS/100",
        format!("({p_text} + {q_text} - ({p_text} - {q_text})^2) / {n}"),
        variance,
    )
    .step(
        "standard error (points)",
        format!("100 × sqrt({})", num(variance)),
        standard_error,
    )
    .step(
        format!(
            "{} % margin of error (points)",
            num(confidence.level() * 100.0)
        ),
        format!("{} × {}", num(z), num(standard_error)),
        margin,
    );
    let mut kpi = Kpi::new("net_promoter_score", nps, Unit::Score, breakdown)
        .note("Promoters answer 9–10, passives 7–8, detractors 0–6; NPS runs from -100 to +100.");
    kpi.interval = Some(Interval::normal(
        nps,
        standard_error,
        (-100.0, 100.0),
        "normal approximation with the multinomial variance (p + q - (p - q)^2) / n",
        confidence,
    ));
    if n < 30 {
        kpi = kpi.note(format!(
            "Only {n} responses: the normal-approximation interval is rough below about 30."
        ));
    }
    KpiResponse::new(kpi)
        .with(share(
            "promoter_share",
            "promoter_share = P / n × 100",
            "P",
            promoters,
            n,
        ))
        .with(share(
            "passive_share",
            "passive_share = A / n × 100",
            "A",
            passives,
            n,
        ))
        .with(share(
            "detractor_share",
            "detractor_share = D / n × 100",
            "D",
            detractors,
            n,
        ))
}

/// A bucket's share of responses, in percent: `formula` is `<metric> = <letter> / n × 100`.
///
/// # Formula
///
/// ```text
/// share (%) = count / n × 100
/// ```
fn share(
    metric: &'static str,
    formula: &'static str,
    letter: &'static str,
    count: u64,
    n: u64,
) -> Kpi {
    let value = count as f64 / n as f64 * 100.0;
    let substitution = format!("{count} / {n} × 100");
    Kpi::new(
        metric,
        value,
        Unit::Percent,
        Breakdown::new(formula, substitution.clone())
            .input(letter, count)
            .input("n", n)
            .step("share", substitution, value),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_of_formulas_md() {
        // 50 % promoters, 20 % detractors, n = 400 → NPS 30 ± 7.65.
        let answer = net_promoter_score(
            &NpsCounts::new(200, 120, 80).unwrap(),
            Confidence::default(),
        );
        assert!((answer.kpi.value - 30.0).abs() < 1e-12);
        let interval = answer.kpi.interval.unwrap();
        assert!((interval.margin_of_error.unwrap() - 7.65).abs() < 0.005);
    }

    #[test]
    fn scores_are_bucketed_and_bad_ones_named() {
        let counts = NpsCounts::from_scores(&[10.0, 9.0, 8.0, 7.0, 6.0, 0.0]).unwrap();
        assert_eq!(counts, NpsCounts::new(2, 2, 2).unwrap());
        assert_eq!(
            NpsCounts::from_scores(&[10.0, 11.0]).unwrap_err().pointer,
            "/scores/1"
        );
        assert_eq!(
            NpsCounts::from_scores(&[7.5]).unwrap_err().pointer,
            "/scores/0"
        );
    }
}
