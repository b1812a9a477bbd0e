//! Intervals on rates counted from customers (docs/formulas.md § 13): the confidence level a
//! caller asks for, and the Wilson score interval of a share `k / n`.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::breakdown::{num, Breakdown, Interval, Kpi};
use super::error::InvalidInput;

/// The smallest confidence level a caller may ask for.
pub const MIN_CONFIDENCE: f64 = 0.5;
/// The largest confidence level a caller may ask for.
pub const MAX_CONFIDENCE: f64 = 0.999;
/// The level when the caller gives none.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// A two-sided confidence level between [`MIN_CONFIDENCE`] and [`MAX_CONFIDENCE`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confidence {
    level: f64,
    z: f64,
}

impl Default for Confidence {
    fn default() -> Self {
        Self::from_level(DEFAULT_CONFIDENCE)
    }
}

impl Confidence {
    /// The level the caller sent, or 0.95 when it sent none. Refuses a level outside
    /// 0.5–0.999 (a NaN included) with the pointer `/confidence`.
    pub fn new(level: Option<f64>) -> Result<Self, InvalidInput> {
        let Some(level) = level else {
            return Ok(Self::default());
        };
        if !(MIN_CONFIDENCE..=MAX_CONFIDENCE).contains(&level) {
            return Err(InvalidInput::new(
                "/confidence",
                "must be between 0.5 and 0.999",
                format!(
                    "confidence is {level}: give the interval's level as a fraction between 0.5 and 0.999 (0.95 for a 95 % interval)"
                ),
            ));
        }
        Ok(Self::from_level(level))
    }

    fn from_level(level: f64) -> Self {
        // The upper (1 + level) / 2 quantile of the standard normal, as SciPy's
        // norm.isf((1 - level) / 2): 1.959963984540054 at 0.95.
        let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
        Self { level, z }
    }

    /// The level as a fraction (0.95).
    pub fn level(self) -> f64 {
        self.level
    }

    /// The two-sided Student t critical value with `df` degrees of freedom:
    /// [`student_t_quantile`] at (1 + level) / 2.
    pub fn t(self, df: f64) -> f64 {
        student_t_quantile(df, 0.5 + self.level / 2.0)
    }

    /// The two-sided normal critical value z with P(|Z| ≤ z) = level.
    pub fn z(self) -> f64 {
        self.z
    }
}

/// The Wilson score interval of the share `successes / trials`, in percent.
///
/// # Formula
///
/// ```text
/// p      = k / n
/// centre = (p + z² / 2n) / (1 + z² / n)
/// half   = z / (1 + z² / n) × √(p (1 − p) / n + z² / 4n²)
/// lower  = (centre − half) × 100,   upper = (centre + half) × 100
/// ```
///
/// where k is the customers counted, n the customers they are counted among and z the normal
/// critical value of the confidence level (1.959964 at 95 %). Unlike the Wald interval
/// p ± z √(p (1 − p) / n), it stays inside 0–100 % and is not empty at k = 0 or k = n.
/// Source: Wilson (1927), "Probable inference, the law of succession, and statistical
/// inference", JASA 22; the same arithmetic as statsmodels' `proportion_confint(method =
/// "wilson")`, which the tests compare with to 1e-12. `trials` must be greater than zero
/// and `successes` at most `trials` (the callers' constructors refuse otherwise).
pub fn wilson(successes: u64, trials: u64, confidence: Confidence) -> Interval {
    debug_assert!(trials > 0 && successes <= trials);
    let n = trials as f64;
    let p = successes as f64 / n;
    let z = confidence.z;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    // Exactly, the interval holds p, starts at 0 when k = 0 and ends at 100 when k = n;
    // the bounds are held to that where rounding would cross by a few ulps.
    let rate = p * 100.0;
    Interval {
        level_pct: confidence.level * 100.0,
        lower: ((centre - half) * 100.0).clamp(0.0, rate),
        upper: ((centre + half) * 100.0).clamp(rate, 100.0),
        margin_of_error: Some(half * 100.0),
        standard_error: None,
        method: "Wilson score".into(),
    }
}

/// A rate `successes / trials × 100` with its Wilson interval, whose steps (z, then the two
/// bounds) end the rate's breakdown.
pub fn with_wilson(mut kpi: Kpi, successes: u64, trials: u64, confidence: Confidence) -> Kpi {
    let interval = wilson(successes, trials, confidence);
    kpi.breakdown = wilson_steps(kpi.breakdown, confidence, &interval);
    kpi.interval = Some(interval);
    kpi
}

fn wilson_steps(breakdown: Breakdown, confidence: Confidence, interval: &Interval) -> Breakdown {
    // Fixed texts (no formatting per request): p and n are the rate's inputs, z the step
    // before the bounds.
    let z_label: super::breakdown::Text = if confidence.level == DEFAULT_CONFIDENCE {
        "z for a 95 % interval".into()
    } else {
        format!("z for a {} % interval", num(interval.level_pct)).into()
    };
    breakdown
        .step(
            z_label,
            "normal quantile at (1 + confidence) / 2",
            confidence.z,
        )
        .step(
            "Wilson lower bound",
            "(p + z²/2n - z √(p(1-p)/n + z²/4n²)) / (1 + z²/n) × 100",
            interval.lower,
        )
        .step(
            "Wilson upper bound",
            "(p + z²/2n + z √(p(1-p)/n + z²/4n²)) / (1 + z²/n) × 100",
            interval.upper,
        )
}

/// The lower and upper bounds of an interval, for tables that give one per cell (the level
/// and method are stated once, beside the table).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bounds {
    pub lower: f64,
    pub upper: f64,
}

impl From<&Interval> for Bounds {
    fn from(interval: &Interval) -> Self {
        Self {
            lower: interval.lower,
            upper: interval.upper,
        }
    }
}

/// How the intervals of a table were computed: their method and level.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntervalMethod {
    /// Confidence level in percent (95 means 95 % intervals).
    pub level_pct: f64,
    /// `Wilson score`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(serialize_with = "super::breakdown::fixed_text")]
    pub method: super::breakdown::Text,
}

impl IntervalMethod {
    /// The description of Wilson intervals at `confidence`.
    pub fn wilson(confidence: Confidence) -> Self {
        Self {
            level_pct: confidence.level * 100.0,
            method: "Wilson score".into(),
        }
    }
}

/// The Student t quantile at probability `p` with `df` degrees of freedom.
///
/// statrs's inverse (through the inverse regularized beta function) is exact to about 1e-12
/// up to a thousand degrees of freedom, drifts beyond (1e-4 off at a million) and does not
/// return at all from a billion: from 1,000 on, the Cornish–Fisher expansion in 1/ν
/// (Abramowitz & Stegun 26.7.5, four terms; its next term is below 1e-12 there) gives it
/// from the normal quantile z:
///
/// ```text
/// t = z + g1/ν + g2/ν² + g3/ν³ + g4/ν⁴
/// g1 = (z³ + z) / 4
/// g2 = (5z⁵ + 16z³ + 3z) / 96
/// g3 = (3z⁷ + 19z⁵ + 17z³ − 15z) / 384
/// g4 = (79z⁹ + 776z⁷ + 1482z⁵ − 1920z³ − 945z) / 92160
/// ```
pub fn student_t_quantile(df: f64, p: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if df < 1000.0 {
        return StudentsT::new(0.0, 1.0, df)
            .map(|d| d.inverse_cdf(p))
            .unwrap_or(f64::NAN);
    }
    let z = Normal::standard().inverse_cdf(p);
    let z2 = z * z;
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    z + g1 / df + g2 / (df * df) + g3 / df.powi(3) + g4 / df.powi(4)
}

#[cfg(test)]
mod tests {
    use super::student_t_quantile;

    #[test]
    fn t_quantiles_are_continuous_at_the_switch_and_finite_for_any_degrees_of_freedom() {
        // Just below the switch statrs, from it on the expansion: they agree to 1e-9.
        for p in [0.75, 0.95, 0.975, 0.9995] {
            let below = student_t_quantile(999.999_999, p);
            let above = student_t_quantile(1000.0, p);
            assert!((below - above).abs() < 1e-9, "p {p}: {below} {above}");
        }
        // R 4.2.2's qt (print(qt(p, df), digits = 17)); and a huge df (a count of 1e18
        // answers) returns, at the normal quantile.
        for (df, p, r) in [
            (1000.0, 0.975, 1.9623390808264076),
            (1e4, 0.975, 1.9602012398906257),
            (1e6, 0.9995, 3.2905364612487213),
        ] {
            let t = student_t_quantile(df, p);
            assert!((t - r).abs() < 1e-12, "df {df} p {p}: {t} against R's {r}");
        }
        let z = 1.959963984540054;
        assert!((student_t_quantile(1e18, 0.975) - z).abs() < 1e-15);
        let mut last = f64::INFINITY;
        for df in [1.0, 2.0, 30.0, 999.0, 1000.0, 1e5, 1e9, 1e15] {
            let t = student_t_quantile(df, 0.975);
            assert!(t < last && t >= z, "df {df}: {t}");
            last = t;
        }
    }

    use super::*;

    #[test]
    fn the_critical_value_is_scipys() {
        // scipy.stats.norm.isf(0.025) = 1.959963984540054
        assert!((Confidence::default().z() - 1.959963984540054).abs() < 1e-14);
    }

    #[test]
    fn levels_outside_the_range_are_refused_with_the_field() {
        for level in [0.0, 0.49, 0.9991, 1.0, f64::NAN, -0.95, 95.0] {
            assert_eq!(
                Confidence::new(Some(level)).unwrap_err().pointer,
                "/confidence",
                "{level}"
            );
        }
        assert!(Confidence::new(Some(0.5)).is_ok());
        assert!(Confidence::new(Some(0.999)).is_ok());
    }

    #[test]
    fn the_interval_holds_the_rate_and_stays_in_range() {
        let c = Confidence::default();
        for (k, n) in [(0, 1), (1, 1), (0, 25), (2, 25), (25, 25), (500, 1000)] {
            let i = wilson(k, n, c);
            let p = k as f64 / n as f64 * 100.0;
            assert!(0.0 <= i.lower && i.lower <= p && p <= i.upper && i.upper <= 100.0);
        }
    }
}
