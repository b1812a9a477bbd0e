//! Customer satisfaction (CSAT) and customer effort (CES) from survey answers on a whole-number
//! scale, with their intervals (docs/formulas.md § 14).

use super::breakdown::{num, Breakdown, Interval, Kpi, KpiResponse, Unit};
use super::confidence::{with_wilson, Confidence};
use super::error::InvalidInput;

/// Most points a scale may have (0–100 is the widest: 101 points).
pub const MAX_SCALE_POINTS: u32 = 101;

/// Survey answers counted per point of a whole-number scale `min … max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    min: u32,
    max: u32,
    /// `counts[i]`: the answers of `min + i`.
    counts: Vec<u64>,
}

impl Answers {
    fn check_scale(min: u32, max: u32) -> Result<(), InvalidInput> {
        if max <= min || max - min + 1 > MAX_SCALE_POINTS {
            return Err(InvalidInput::new(
                "/scale_max",
                "greater than scale_min, at most 101 points",
                format!("a scale from {min} to {max}: give scale_min below scale_max, with at most {MAX_SCALE_POINTS} points"),
            ));
        }
        Ok(())
    }

    /// Raw answers, each a whole number in `min … max`; a stray one is refused with its
    /// index.
    pub fn from_scores(min: u32, max: u32, scores: &[f64]) -> Result<Self, InvalidInput> {
        Self::check_scale(min, max)?;
        if scores.is_empty() {
            return Err(InvalidInput::new(
                "/scores",
                "must not be empty",
                "scores is empty: at least one answer is needed",
            ));
        }
        let mut counts = vec![0_u64; (max - min + 1) as usize];
        for (i, &score) in scores.iter().enumerate() {
            if !(f64::from(min)..=f64::from(max)).contains(&score) || score.fract() != 0.0 {
                return Err(InvalidInput::new(
                    format!("/scores/{i}"),
                    format!("a whole number from {min} to {max}"),
                    format!("scores[{i}] is {score}: answers are whole numbers on the {min}–{max} scale"),
                ));
            }
            counts[(score as u32 - min) as usize] += 1;
        }
        Ok(Self { min, max, counts })
    }

    /// Answers counted per point: `counts[i]` answered `min + i`.
    pub fn from_counts(min: u32, max: u32, counts: &[u64]) -> Result<Self, InvalidInput> {
        Self::check_scale(min, max)?;
        let points = (max - min + 1) as usize;
        if counts.len() != points {
            return Err(InvalidInput::new(
                "/counts",
                format!("{points} counts, one per point of the scale"),
                format!(
                    "counts has {} entries; the {min}–{max} scale has {points} points: give the answers of {min}, {}, … {max} in order",
                    counts.len(),
                    min + 1
                ),
            ));
        }
        let total: u128 = counts.iter().map(|&c| u128::from(c)).sum();
        if total == 0 {
            return Err(InvalidInput::new(
                "/counts",
                "at least one answer",
                "every count is 0: at least one answer is needed",
            ));
        }
        if total > 1 << 53 {
            return Err(InvalidInput::new(
                "/counts",
                "at most 2^53 answers",
                "more than 2^53 answers in all cannot be counted exactly",
            ));
        }
        Ok(Self {
            min,
            max,
            counts: counts.to_vec(),
        })
    }

    /// The answers in all.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The answers from `from` to `to` (inclusive) on the scale.
    fn between(&self, from: u32, to: u32) -> u64 {
        (from.max(self.min)..=to.min(self.max))
            .map(|v| self.counts[(v - self.min) as usize])
            .sum()
    }

    /// The mean answer and the sample standard deviation (n − 1), by two passes over the
    /// points.
    fn mean_and_sd(&self) -> (f64, f64) {
        let n = self.total() as f64;
        let points = || {
            self.counts
                .iter()
                .enumerate()
                .map(|(i, &c)| (f64::from(self.min) + i as f64, c as f64))
        };
        let mean = points().map(|(v, c)| v * c).sum::<f64>() / n;
        if n < 2.0 {
            return (mean, 0.0);
        }
        let squares = points().map(|(v, c)| c * (v - mean).powi(2)).sum::<f64>();
        (mean, (squares / (n - 1.0)).sqrt())
    }
}

/// The mean answer with its Student-t interval: `metric`, on the answers' scale.
///
/// ```text
/// mean     = Σ v n_v / n
/// s        = √(Σ n_v (v − mean)² / (n − 1))
/// interval = mean ± t_{(1 + c)/2, n − 1} × s / √n      (clipped to the scale)
/// ```
fn mean_score(answers: &Answers, metric: &'static str, confidence: Confidence) -> Kpi {
    let n = answers.total();
    let (mean, sd) = answers.mean_and_sd();
    let breakdown = Breakdown::new(
        "mean = Σ v × n_v / n",
        format!("{} / {n}", num(mean * n as f64)),
    )
    .input("n", n)
    .input("scale_min", answers.min)
    .input("scale_max", answers.max)
    .step(
        "mean answer",
        format!("{} / {n}", num(mean * n as f64)),
        mean,
    );
    let mut kpi = Kpi::new(metric, mean, Unit::Score, breakdown);
    if n < 2 {
        return kpi.note("One answer: its mean has no interval (the spread needs two).");
    }
    let standard_error = sd / (n as f64).sqrt();
    // n ≥ 2, so n − 1 ≥ 1 degrees of freedom: the distribution exists.
    let t = confidence.t((n - 1) as f64);
    let margin = t * standard_error;
    kpi.breakdown = kpi
        .breakdown
        .step(
            "sample standard deviation s",
            "√(Σ n_v (v - mean)² / (n - 1))",
            sd,
        )
        .step(
            "standard error",
            format!("{} / √{n}", num(sd)),
            standard_error,
        )
        .step(
            format!("t quantile, {} degrees of freedom", n - 1),
            "Student t quantile at (1 + confidence) / 2",
            t,
        )
        .step(
            "margin of error",
            format!("{} × {}", num(t), num(standard_error)),
            margin,
        );
    kpi.interval = Some(Interval {
        level_pct: confidence.level() * 100.0,
        lower: (mean - margin).max(f64::from(answers.min)),
        upper: (mean + margin).min(f64::from(answers.max)),
        margin_of_error: Some(margin),
        standard_error: Some(standard_error),
        method: "Student t".into(),
    });
    kpi
}

/// Customer satisfaction score: the share of satisfied answers, the top `top_box` points of
/// the scale (4 and 5 on 1–5 with the default 2), with its Wilson interval; the mean answer
/// with its t interval in `related`.
///
/// # Formula
///
/// ```text
/// CSAT = S / n × 100,   S = answers in the top `top_box` points (max − top_box + 1 … max)
/// ```
///
/// Worked example (docs/formulas.md § 14.1): answers 5, 5, 4, 4, 4, 3, 2, 1 on 1–5: S = 5 of
/// n = 8, CSAT 62.5 %; mean 3.5.
pub fn csat(
    answers: &Answers,
    top_box: u32,
    confidence: Confidence,
) -> Result<KpiResponse, InvalidInput> {
    let points = answers.max - answers.min + 1;
    if top_box == 0 || top_box >= points {
        return Err(InvalidInput::new(
            "/top_box",
            format!("from 1 to {}", points - 1),
            format!("top_box {top_box}: the satisfied answers are the top 1 to {} points of a {points}-point scale", points - 1),
        ));
    }
    let from = answers.max - top_box + 1;
    let satisfied = answers.between(from, answers.max);
    let n = answers.total();
    let value = satisfied as f64 / n as f64 * 100.0;
    let breakdown = Breakdown::new("CSAT = S / n × 100", format!("{satisfied} / {n} × 100"))
        .input("S", satisfied)
        .input("n", n)
        .input("satisfied_from", from)
        .step(
            format!("satisfied answers ({from}–{})", answers.max),
            format!("answers of {from} or more"),
            satisfied as f64,
        )
        .step("CSAT", format!("{satisfied} / {n} × 100"), value);
    let kpi = Kpi::new(
        "customer_satisfaction_score",
        value,
        Unit::Percent,
        breakdown,
    )
    .note(format!(
        "Satisfied: the top {top_box} of {points} points ({from}–{} on {}–{}).",
        answers.max, answers.min, answers.max
    ));
    let kpi = with_wilson(kpi, satisfied, n, confidence);
    Ok(KpiResponse::new(kpi).with(mean_score(answers, "mean_satisfaction_score", confidence)))
}

/// Which way a CES scale runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffortScale {
    /// `true` for "the company made it easy" agreement scales (CES 2.0, 1–7: 7 = easiest);
    /// `false` for "how much effort did you put in" (1 = least effort).
    pub higher_is_easier: bool,
    /// How many points at the easy end count as low effort.
    pub low_effort_boxes: u32,
}

/// Customer effort score: the mean answer with its t interval, and in `related` the share of
/// low-effort answers (the `low_effort_boxes` points at the easy end) with its Wilson interval.
///
/// # Formula
///
/// ```text
/// CES           = Σ v n_v / n                                  (mean answer)
/// low effort %  = L / n × 100,   L = answers in the easy end's `low_effort_boxes` points
/// ```
///
/// Worked example (docs/formulas.md § 14.2): answers 7, 6, 6, 5, 4, 2 on 1–7 with higher
/// easier and 3 low-effort points: CES 5.0, low effort 4 of 6 = 66.67 %.
pub fn ces(
    answers: &Answers,
    scale: EffortScale,
    confidence: Confidence,
) -> Result<KpiResponse, InvalidInput> {
    let points = answers.max - answers.min + 1;
    if scale.low_effort_boxes == 0 || scale.low_effort_boxes >= points {
        return Err(InvalidInput::new(
            "/low_effort_boxes",
            format!("from 1 to {}", points - 1),
            format!(
                "low_effort_boxes {}: the low-effort answers are 1 to {} points at the easy end of a {points}-point scale",
                scale.low_effort_boxes,
                points - 1
            ),
        ));
    }
    let (from, to) = if scale.higher_is_easier {
        (answers.max - scale.low_effort_boxes + 1, answers.max)
    } else {
        (answers.min, answers.min + scale.low_effort_boxes - 1)
    };
    let low = answers.between(from, to);
    let n = answers.total();
    let share = low as f64 / n as f64 * 100.0;
    let direction = if scale.higher_is_easier {
        "higher answers mean less effort (agreement that it was easy)"
    } else {
        "lower answers mean less effort"
    };
    let mut mean = mean_score(answers, "customer_effort_score", confidence);
    mean = mean.note(format!(
        "On {}–{}, {direction}; low effort: {from}–{to}.",
        answers.min, answers.max
    ));
    let breakdown = Breakdown::new("low effort = L / n × 100", format!("{low} / {n} × 100"))
        .input("L", low)
        .input("n", n)
        .step(
            format!("low-effort answers ({from}–{to})"),
            format!("answers from {from} to {to}"),
            low as f64,
        )
        .step("share", format!("{low} / {n} × 100"), share);
    let low_effort = with_wilson(
        Kpi::new("low_effort_share", share, Unit::Percent, breakdown),
        low,
        n,
        confidence,
    );
    Ok(KpiResponse::new(mean).with(low_effort))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confidence() -> Confidence {
        Confidence::new(None).unwrap()
    }

    #[test]
    fn csat_is_the_share_of_the_top_two_boxes_worked_example() {
        let answers =
            Answers::from_scores(1, 5, &[5.0, 5.0, 4.0, 4.0, 4.0, 3.0, 2.0, 1.0]).unwrap();
        let answer = csat(&answers, 2, confidence()).unwrap();
        assert_eq!(answer.kpi.value, 62.5);
        assert_eq!(answer.related[0].value, 3.5);
        // The same answers as counts per point.
        let counts = Answers::from_counts(1, 5, &[1, 1, 1, 3, 2]).unwrap();
        assert_eq!(counts, answers);
    }

    #[test]
    fn ces_is_the_mean_answer_and_the_share_at_the_easy_end_worked_example() {
        let answers = Answers::from_scores(1, 7, &[7.0, 6.0, 6.0, 5.0, 4.0, 2.0]).unwrap();
        let easy = EffortScale {
            higher_is_easier: true,
            low_effort_boxes: 3,
        };
        let answer = ces(&answers, easy, confidence()).unwrap();
        assert_eq!(answer.kpi.value, 5.0);
        assert!((answer.related[0].value - 400.0 / 6.0).abs() < 1e-12);
        // Reversed: on a scale where 1 is least effort, the low-effort end is 1–3.
        let effort = EffortScale {
            higher_is_easier: false,
            low_effort_boxes: 3,
        };
        let answer = ces(&answers, effort, confidence()).unwrap();
        assert!((answer.related[0].value - 100.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn stray_answers_and_impossible_boxes_are_refused_naming_the_field() {
        assert_eq!(
            Answers::from_scores(1, 5, &[5.0, 6.0]).unwrap_err().pointer,
            "/scores/1"
        );
        assert_eq!(
            Answers::from_counts(1, 5, &[1, 2]).unwrap_err().pointer,
            "/counts"
        );
        assert_eq!(
            Answers::from_scores(5, 5, &[5.0]).unwrap_err().pointer,
            "/scale_max"
        );
        let answers = Answers::from_scores(1, 5, &[5.0]).unwrap();
        assert_eq!(
            csat(&answers, 5, confidence()).unwrap_err().pointer,
            "/top_box"
        );
        // One answer: a value, and a note instead of an interval for the mean.
        let answer = csat(&answers, 2, confidence()).unwrap();
        assert!(answer.related[0].interval.is_none());
    }
}
