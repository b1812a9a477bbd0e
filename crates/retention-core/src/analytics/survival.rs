//! Kaplan–Meier survival curves with Greenwood confidence bands (log(−log) transform), median
//! and restricted mean lifetime, and the log-rank test between groups — as lifelines'
//! `KaplanMeierFitter` and `multivariate_logrank_test` compute them by default — with the
//! intervals R's `survival` package gives: the restricted mean's standard error, the median's
//! interval, the number at risk at chosen times, and the restricted means of two groups
//! compared (docs/formulas.md § 11).

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use statrs::function::erf::erfc;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use nalgebra::{DMatrix, DVector};

use crate::input::NonNegative;
use crate::kpi::{Bounds, Confidence, InvalidInput};
use crate::units::TimeUnit;

/// Most `times` one request may ask the number at risk at.
pub const MAX_TIMES: usize = 1000;

/// What a Kaplan–Meier answer is asked for beyond the curve.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KmSettings {
    /// The restricted mean's horizon τ (default: each curve's longest duration; for the
    /// comparison of groups, the shortest of the groups' longest durations).
    pub horizon: Option<f64>,
    /// The level of the band and of every interval (default 0.95).
    pub confidence: Confidence,
    /// Times to give the number at risk, churned and censored at (sorted, distinct).
    pub times: Vec<f64>,
}

impl KmSettings {
    /// Refuses a negative or non-finite horizon or time, and more than [`MAX_TIMES`] times;
    /// sorts the times and drops repeats.
    pub fn new(
        horizon: Option<f64>,
        confidence: Confidence,
        mut times: Vec<f64>,
    ) -> Result<Self, InvalidInput> {
        if let Some(h) = horizon.filter(|h| NonNegative::new(*h).is_none()) {
            return Err(InvalidInput::new(
                "/horizon",
                "must be 0 or more",
                format!("horizon {h} must be a time of 0 or more"),
            ));
        }
        if times.len() > MAX_TIMES {
            return Err(InvalidInput::new(
                "/times",
                format!("at most {MAX_TIMES} times"),
                format!(
                    "{} times were asked for; the most is {MAX_TIMES}",
                    times.len()
                ),
            ));
        }
        if let Some(i) = times.iter().position(|t| NonNegative::new(*t).is_none()) {
            return Err(InvalidInput::new(
                format!("/times/{i}"),
                "must be 0 or more",
                format!("times[{i}] {} must be a time of 0 or more", times[i]),
            ));
        }
        times.sort_by(f64::total_cmp);
        times.dedup();
        Ok(Self {
            horizon,
            confidence,
            times,
        })
    }
}

/// A customer's time observed, and whether it ended in churn (false: still active, censored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// The tenure at which the customer was first observed (late entry: a data export that
    /// starts after the customer joined); 0 when observed from the start. The customer counts
    /// as at risk only at times after it.
    pub entry: f64,
    pub duration: f64,
    pub observed: bool,
}

/// A Kaplan–Meier curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurvivalCurve {
    /// 0 and every distinct duration.
    pub timeline: Vec<f64>,
    /// Ŝ(t) = Π_{t_i ≤ t} (1 − d_i / n_i).
    pub survival: Vec<f64>,
    /// 95 % band: exp(−exp(ln(−ln Ŝ) ± z √V / ln Ŝ)), V = Σ_{t_i ≤ t} d_i / (n_i (n_i − d_i)).
    pub ci_lower: Vec<f64>,
    pub ci_upper: Vec<f64>,
    /// Nelson–Aalen cumulative hazard Ĥ(t) = Σ_{t_i ≤ t} d_i / n_i: the expected number of
    /// churns per customer by t.
    pub cumulative_hazard: Vec<f64>,
    /// Its band at the level: Ĥ exp(± z √W / Ĥ), W = Σ_{t_i ≤ t} d_i / n_i² (R's `std.chaz`).
    pub cumulative_hazard_lower: Vec<f64>,
    pub cumulative_hazard_upper: Vec<f64>,
    /// Customers at risk just before each time, churned at it, censored at it.
    pub at_risk: Vec<u64>,
    pub churned: Vec<u64>,
    pub censored: Vec<u64>,
    /// The first time Ŝ ≤ 0.5; absent when the curve never gets there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median: Option<f64>,
    /// The median's interval at the band's level: from the first time the band's lower
    /// curve is at or below 0.5 to the first time its upper curve is (R's `survfit`); an end
    /// the band never reaches is absent.
    pub median_interval: MedianInterval,
    /// ∫₀^h Ŝ(t) dt up to the horizon h.
    pub restricted_mean: f64,
    /// √(Σ_{t_i ≤ h} (∫_{t_i}^h Ŝ(u) du)² d_i / (n_i (n_i − d_i))), as R's `survfit` prints
    /// it with `rmean`.
    pub restricted_mean_standard_error: f64,
    /// restricted_mean ± z × standard error, clipped to 0 and h.
    pub restricted_mean_interval: Bounds,
    pub horizon: f64,
    /// The confidence level of the band and the intervals, in percent.
    pub level_pct: f64,
    /// The number at risk at each time the request asked for, and the churned and censored
    /// since the time before it, as R's `summary(fit, times)` gives them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub at_times: Vec<AtTime>,
}

/// The median's interval; an end the band never reaches is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MedianInterval {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
}

/// One row of the table under a Kaplan–Meier plot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AtTime {
    pub time: f64,
    /// Customers whose duration is `time` or longer.
    pub at_risk: u64,
    /// Churned after the previous time asked for (from 0 for the first) up to `time`.
    pub churned: u64,
    /// Censored in the same span.
    pub censored: u64,
    /// Ŝ(time).
    pub survival: f64,
}

/// Refuses an empty sample and negative or non-finite durations.
pub fn check(observations: &[Observation]) -> Result<(), InvalidInput> {
    if observations.is_empty() {
        return Err(InvalidInput::new(
            "/observations",
            "must not be empty",
            "no observation: a survival curve needs at least one customer",
        ));
    }
    for (i, o) in observations.iter().enumerate() {
        check_span("observations", i, o.entry, o.duration)?;
    }
    Ok(())
}

/// Refuses one customer's span of observation: a duration that is negative or not finite,
/// an entry that is, or an entry (late entry, after 0) that is not before the duration. Named
/// `/{collection}/{index}/duration` or `…/entry`; shared by every survival endpoint.
pub fn check_span(
    collection: &str,
    index: usize,
    entry: f64,
    duration: f64,
) -> Result<(), InvalidInput> {
    if NonNegative::new(duration).is_none() {
        return Err(InvalidInput::new(
            format!("/{collection}/{index}/duration"),
            "must be 0 or more",
            format!("{collection}[{index}].duration {duration} must be a finite time of 0 or more"),
        ));
    }
    if NonNegative::new(entry).is_none() {
        return Err(InvalidInput::new(
            format!("/{collection}/{index}/entry"),
            "must be 0 or more",
            format!("{collection}[{index}].entry {entry} must be a finite tenure of 0 or more"),
        ));
    }
    if entry > 0.0 && entry >= duration {
        return Err(InvalidInput::new(
            format!("/{collection}/{index}/entry"),
            "must be before the duration",
            format!("{collection}[{index}] is first observed at tenure {entry} and leaves the data at {duration}: a customer must be seen before it leaves"),
        ));
    }
    Ok(())
}

/// One row of a summary: at tenure `time`, how many customers churned, were censored (still
/// active when last seen), and were first observed (late entry: at risk only after it). The
/// additive summary a warehouse computes with one GROUP BY; the raw path builds the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventCounts {
    pub time: f64,
    pub churned: u64,
    pub censored: u64,
    pub entered: u64,
}

/// The counts by distinct time, ascending, with the suffix sums that give the number at risk.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    counts: Vec<EventCounts>,
    /// Σ_{rows k..} (churned + censored) and Σ_{rows k.., time > 0} entered.
    exits_from: Vec<u64>,
    entries_from: Vec<u64>,
}

impl Table {
    /// Sorts and merges the counts (rows with the same time add up); entries at time 0 are
    /// customers observed from the start.
    pub fn new(mut counts: Vec<EventCounts>) -> Self {
        counts.sort_by(|a, b| a.time.total_cmp(&b.time));
        let mut merged: Vec<EventCounts> = Vec::with_capacity(counts.len());
        for c in counts {
            match merged.last_mut() {
                Some(last) if last.time == c.time => {
                    last.churned += c.churned;
                    last.censored += c.censored;
                    last.entered += c.entered;
                }
                _ => merged.push(c),
            }
        }
        let n = merged.len();
        let (mut exits_from, mut entries_from) = (vec![0u64; n + 1], vec![0u64; n + 1]);
        for k in (0..n).rev() {
            let c = &merged[k];
            exits_from[k] = exits_from[k + 1].saturating_add(c.churned.saturating_add(c.censored));
            entries_from[k] =
                entries_from[k + 1].saturating_add(if c.time > 0.0 { c.entered } else { 0 });
        }
        Self {
            counts: merged,
            exits_from,
            entries_from,
        }
    }

    /// The table of raw observations.
    pub fn from_observations(observations: &[Observation]) -> Self {
        let mut counts = Vec::with_capacity(observations.len() * 2);
        for o in observations {
            counts.push(EventCounts {
                time: o.duration,
                churned: u64::from(o.observed),
                censored: u64::from(!o.observed),
                entered: 0,
            });
            if o.entry > 0.0 {
                counts.push(EventCounts {
                    time: o.entry,
                    churned: 0,
                    censored: 0,
                    entered: 1,
                });
            }
        }
        Self::new(counts)
    }

    /// The customers: everyone leaves the data once.
    pub fn customers(&self) -> u64 {
        self.exits_from[0]
    }

    /// Customers observed from the start (not entering late).
    fn observed_from_start(&self) -> u64 {
        self.exits_from[0].saturating_sub(self.entries_from[0])
    }

    /// At risk at t: leaving at t or later, less those entering at t or later.
    pub(crate) fn at(&self, t: f64) -> u64 {
        let k = self.counts.partition_point(|c| c.time < t);
        self.exits_from[k].saturating_sub(self.entries_from[k])
    }

    /// Whether any customer enters late.
    pub fn late_entry(&self) -> bool {
        self.entries_from[0] > 0
    }

    /// The distinct exit times with (at risk, churned, censored), in increasing time.
    pub(crate) fn exits(&self) -> Vec<(f64, u64, u64, u64)> {
        self.counts
            .iter()
            .filter(|c| c.churned + c.censored > 0)
            .map(|c| (c.time, self.at(c.time), c.churned, c.censored))
            .collect()
    }

    /// The first time at which more customers leave than are at risk (counts whose entries do
    /// not fit their exits), if any.
    fn inconsistent(&self) -> Option<f64> {
        self.counts.iter().enumerate().find_map(|(k, c)| {
            let leaving = c.churned + c.censored;
            (leaving > 0 && self.exits_from[k] < self.entries_from[k].saturating_add(leaving))
                .then_some(c.time)
        })
    }
}

/// Refuses summary counts that no customers could give: a negative or non-finite time, no
/// customer leaving at all, or more leaving at a time than are at risk then (late entries
/// that outnumber the exits after them). `pointer` names the collection.
pub fn check_counts(
    rows: &[(EventCounts, Option<String>)],
    pointer: &str,
) -> Result<(), InvalidInput> {
    if let Some(i) = rows
        .iter()
        .position(|r| NonNegative::new(r.0.time).is_none())
    {
        return Err(InvalidInput::new(
            format!("{pointer}/{i}/time"),
            "must be 0 or more",
            format!(
                "the row {i} has time {}: a tenure of 0 or more",
                rows[i].0.time
            ),
        ));
    }
    for (i, (r, _)) in rows.iter().enumerate() {
        for (field, count) in [
            ("churned", r.churned),
            ("censored", r.censored),
            ("entered", r.entered),
        ] {
            super::check_summary_count(format!("{pointer}/{i}/{field}"), count)?;
        }
    }
    let table = Table::new(rows.iter().map(|r| r.0).collect());
    if table.customers() == 0 {
        return Err(InvalidInput::new(
            pointer,
            "at least one customer leaving the data",
            "no row counts a churned or censored customer: a survival curve needs at least one",
        ));
    }
    if let Some(t) = table.inconsistent() {
        let i = rows
            .iter()
            .position(|r| r.0.time == t && r.0.churned + r.0.censored > 0)
            .unwrap_or(0);
        return Err(InvalidInput::new(
            format!("{pointer}/{i}"),
            "no more customers leaving than are at risk",
            format!("at time {t} more customers leave than the counts have at risk: the late entries (entered) at or after it outnumber the customers leaving after it; each customer is entered once (if late) and leaves once"),
        ));
    }
    Ok(())
}

/// Kaplan–Meier estimate with its band, median and its interval, restricted mean up to the
/// settings' horizon (default: the longest duration) with its standard error and interval,
/// and the number at risk at the settings' times.
///
/// # Formula
///
/// ```text
/// Ŝ(t)      = Π_{t_i ≤ t} (1 − d_i / n_i)
/// band      = exp(−exp(ln(−ln Ŝ) ± z √V / ln Ŝ)),   V = Σ_{t_i ≤ t} d_i / (n_i (n_i − d_i))
/// median    = the first t with Ŝ(t) ≤ 0.5
/// interval  = [first t with band lower ≤ 0.5, first t with band upper ≤ 0.5]
/// RMST(τ)   = ∫₀^τ Ŝ(u) du
/// Var(RMST) = Σ_{t_i ≤ τ} (∫_{t_i}^τ Ŝ(u) du)² d_i / (n_i (n_i − d_i))   (0 when n_i = d_i)
/// ```
///
/// where t_i are the distinct durations, n_i the customers at risk just before t_i and d_i
/// those who churned at it; z is the normal critical value of the confidence level. Where Ŝ
/// is 0 the band is undefined and takes no part in the median's interval; an interval end at
/// exactly 0.5 (within √ε) takes the midpoint to the next lower step, as R does. Source:
/// Kaplan & Meier (1958); Greenwood (1926); Brookmeyer & Crowley (1982) for the median's
/// interval; R's `survival` 3.x (`survfit`, `print(fit, rmean = τ)`), which
/// tests/survival_reference.rs reproduces; docs/formulas.md § 11.
pub fn kaplan_meier(observations: &[Observation], settings: &KmSettings) -> SurvivalCurve {
    kaplan_meier_table(&Table::from_observations(observations), settings)
}

/// [`kaplan_meier`] of a summary table.
pub fn kaplan_meier_table(counts: &Table, settings: &KmSettings) -> SurvivalCurve {
    let z = settings.confidence.z();
    let horizon = settings.horizon;
    let table = counts.exits();
    let n = counts.observed_from_start();
    let mut curve = SurvivalCurve {
        timeline: vec![],
        survival: vec![],
        ci_lower: vec![],
        ci_upper: vec![],
        cumulative_hazard: vec![],
        cumulative_hazard_lower: vec![],
        cumulative_hazard_upper: vec![],
        at_risk: vec![],
        churned: vec![],
        censored: vec![],
        median: None,
        median_interval: MedianInterval::default(),
        restricted_mean: 0.0,
        restricted_mean_standard_error: 0.0,
        restricted_mean_interval: Bounds {
            lower: 0.0,
            upper: 0.0,
        },
        horizon: 0.0,
        level_pct: settings.confidence.level() * 100.0,
        at_times: Vec::new(),
    };
    if table.first().is_none_or(|row| row.0 > 0.0) {
        curve.timeline.push(0.0);
        curve.survival.push(1.0);
        curve.ci_lower.push(1.0);
        curve.ci_upper.push(1.0);
        curve.cumulative_hazard.push(0.0);
        curve.cumulative_hazard_lower.push(0.0);
        curve.cumulative_hazard_upper.push(0.0);
        curve.at_risk.push(n);
        curve.churned.push(0);
        curve.censored.push(0);
    }
    let mut s = 1.0f64;
    let mut greenwood = 0.0f64;
    let (mut hazard, mut hazard_variance) = (0.0f64, 0.0f64);
    for &(t, at_risk, d, c) in &table {
        if d > 0 {
            hazard += d as f64 / at_risk as f64;
            hazard_variance += d as f64 / (at_risk as f64 * at_risk as f64);
            s *= 1.0 - d as f64 / at_risk as f64;
            greenwood += if at_risk > d {
                d as f64 / (at_risk as f64 * (at_risk - d) as f64)
            } else {
                f64::INFINITY
            };
        }
        let (lower, upper) = band(s, greenwood, z);
        curve.timeline.push(t);
        curve.survival.push(s);
        curve.ci_lower.push(lower);
        curve.ci_upper.push(upper);
        let spread = if hazard > 0.0 {
            (z * hazard_variance.sqrt() / hazard).exp()
        } else {
            1.0
        };
        curve.cumulative_hazard.push(hazard);
        curve.cumulative_hazard_lower.push(hazard / spread);
        curve.cumulative_hazard_upper.push(hazard * spread);
        curve.at_risk.push(at_risk);
        curve.churned.push(d);
        curve.censored.push(c);
    }
    curve.median = curve
        .timeline
        .iter()
        .zip(&curve.survival)
        .find(|(_, &s)| s <= 0.5)
        .map(|(&t, _)| t);
    let defined = |band: &[f64]| -> Vec<Option<f64>> {
        band.iter()
            .zip(&curve.survival)
            .map(|(&b, &s)| (s > 0.0).then_some(b))
            .collect()
    };
    curve.median_interval = MedianInterval {
        lower: first_at_half(&curve.timeline, &defined(&curve.ci_lower)),
        upper: first_at_half(&curve.timeline, &defined(&curve.ci_upper)),
    };
    let horizon = horizon.unwrap_or_else(|| curve.timeline.last().copied().unwrap_or(0.0));
    curve.horizon = horizon;
    let (mean, se) = restricted_mean(&curve, horizon);
    curve.restricted_mean = mean;
    curve.restricted_mean_standard_error = se;
    curve.restricted_mean_interval = Bounds {
        lower: (mean - z * se).max(0.0),
        upper: (mean + z * se).min(horizon),
    };
    curve.at_times = at_times(&curve, &settings.times, counts);
    curve
}

/// R's rule for where a decreasing curve reaches one half: the first time it is below
/// 0.5 + √ε; when that value is 0.5 (within √ε) and the curve falls lower later, the midpoint
/// between that time and the time it first falls lower. Undefined points (`None`) are skipped.
fn first_at_half(timeline: &[f64], curve: &[Option<f64>]) -> Option<f64> {
    let tolerance = f64::EPSILON.sqrt();
    let kept: Vec<(f64, f64)> = timeline
        .iter()
        .zip(curve)
        .filter_map(|(&t, &y)| y.filter(|y| *y < 0.5 + tolerance).map(|y| (t, y)))
        .collect();
    let &(t, y) = kept.first()?;
    if (y - 0.5).abs() < tolerance {
        if let Some(&(later, _)) = kept.iter().find(|(_, lower)| *lower < y) {
            return Some((t + later) / 2.0);
        }
    }
    Some(t)
}

/// The number at risk at each of `times` (sorted), with the churned and censored since the
/// previous one.
fn at_times(curve: &SurvivalCurve, times: &[f64], risk: &Table) -> Vec<AtTime> {
    let mut rows = Vec::with_capacity(times.len());
    let mut i = 0; // the first curve time above the previous asked time
    for &time in times {
        let (mut churned, mut censored) = (0, 0);
        while i < curve.timeline.len() && curve.timeline[i] <= time {
            churned += curve.churned[i];
            censored += curve.censored[i];
            i += 1;
        }
        let at_risk = risk.at(time);
        let survival = curve.survival[i.saturating_sub(1)];
        rows.push(AtTime {
            time,
            at_risk,
            churned,
            censored,
            survival,
        });
    }
    rows
}

/// The log(−log) band of lifelines: S = 1 → [1, 1], S = 0 → [0, 0].
fn band(s: f64, greenwood: f64, z: f64) -> (f64, f64) {
    if s >= 1.0 {
        return (1.0, 1.0);
    }
    if s <= 0.0 || !greenwood.is_finite() {
        return (0.0, 0.0);
    }
    let v = s.ln();
    let shift = z * greenwood.sqrt() / v;
    let lower = (-((-v).ln() - shift).exp()).exp();
    let upper = (-((-v).ln() + shift).exp()).exp();
    // v < 0 makes `shift` negative: ln(−v) − shift is the larger exponent, the lower bound.
    (lower.min(upper), lower.max(upper))
}

/// ∫₀^h of the step function S (S(t) = survival[i] on [timeline[i], timeline[i+1])) and its
/// standard error: each event time's area to the horizon, squared and weighted by
/// d / (n (n − d)), summed from the horizon back, as R's `survmean` does.
fn restricted_mean(curve: &SurvivalCurve, horizon: f64) -> (f64, f64) {
    let timeline = &curve.timeline;
    // Rectangles: rect[i] = S(t_i) × (min(t_{i+1}, h) − t_i) for the times before h.
    let kept = timeline.iter().take_while(|&&t| t <= horizon).count();
    let mut area = 0.0;
    let mut rectangles = Vec::with_capacity(kept);
    for i in 0..kept {
        let to = timeline
            .get(i + 1)
            .copied()
            .unwrap_or(f64::INFINITY)
            .min(horizon);
        let rectangle = curve.survival[i] * (to - timeline[i]).max(0.0);
        rectangles.push(rectangle);
        area += rectangle;
    }
    // Var = Σ_i (∫_{t_i}^h S)² h_i, with ∫_{t_i}^h S = Σ_{j ≥ i} rect[j].
    let (mut tail, mut variance) = (0.0, 0.0);
    for i in (0..kept).rev() {
        tail += rectangles[i];
        let (n, d) = (curve.at_risk[i], curve.churned[i]);
        if d > 0 && n > d {
            variance += tail * tail * d as f64 / (n as f64 * (n - d) as f64);
        }
    }
    (area, variance.sqrt())
}

/// A log-rank test between groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogRankTest {
    /// Σ (O − E)ᵀ V⁻¹ (O − E) over the first k − 1 groups: chi-square with k − 1 degrees of freedom.
    pub test_statistic: f64,
    pub degrees_of_freedom: usize,
    pub p_value: f64,
}

/// The k-group log-rank test (lifelines' `multivariate_logrank_test`; for two groups the same
/// as `logrank_test`). `None` when no group churned or the variance is singular.
pub fn log_rank(groups: &[Vec<Observation>]) -> Option<LogRankTest> {
    let tables: Vec<Table> = groups.iter().map(|g| Table::from_observations(g)).collect();
    log_rank_tables(&tables)
}

/// [`log_rank`] of summary tables, one per group.
pub fn log_rank_tables(counters: &[Table]) -> Option<LogRankTest> {
    let k = counters.len();
    if k < 2 {
        return None;
    }
    // Each group's churn counts by time, in time order: (time, group, churned).
    let mut all: Vec<(f64, usize, u64)> = counters
        .iter()
        .enumerate()
        .flat_map(|(g, table)| {
            table
                .counts
                .iter()
                .filter(|c| c.churned + c.censored > 0)
                .map(move |c| (c.time, g, c.churned))
        })
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut observed_minus_expected = vec![0.0; k];
    let mut variance = vec![vec![0.0; k]; k];
    let mut i = 0;
    let mut times = 0usize;
    while i < all.len() {
        // k² work per event time: poll for cancellation every 4,096 times.
        times += 1;
        if crate::cancel::stop_at(times) {
            return None;
        }
        let t = all[i].0;
        let mut deaths = vec![0.0; k];
        while i < all.len() && all[i].0 == t {
            let (_, g, churned) = all[i];
            deaths[g] += churned as f64;
            i += 1;
        }
        let at_risk: Vec<f64> = counters.iter().map(|c| c.at(t) as f64).collect();
        let d: f64 = deaths.iter().sum();
        let n: f64 = at_risk.iter().sum();
        if d > 0.0 && n > 0.0 {
            for g in 0..k {
                observed_minus_expected[g] += deaths[g] - d * at_risk[g] / n;
            }
            if n > 1.0 {
                let factor = d * (n - d) / (n - 1.0);
                for g in 0..k {
                    for h in 0..k {
                        let delta = if g == h { 1.0 } else { 0.0 };
                        variance[g][h] += factor * at_risk[g] / n * (delta - at_risk[h] / n);
                    }
                }
            }
        }
    }
    let m = k - 1;
    // V is a covariance matrix: symmetric, and positive definite unless the groups cannot be
    // compared (then there is no test).
    let v = DMatrix::from_fn(m, m, |g, h| variance[g][h]);
    let solution = v
        .cholesky()?
        .solve(&DVector::from_column_slice(&observed_minus_expected[..m]));
    let statistic: f64 = solution
        .iter()
        .zip(&observed_minus_expected[..m])
        .map(|(x, b)| x * b)
        .sum();
    let chi = ChiSquared::new(m as f64).ok()?;
    statistic.is_finite().then(|| LogRankTest {
        test_statistic: statistic,
        degrees_of_freedom: m,
        p_value: chi.sf(statistic.max(0.0)),
    })
}

/// One group's restricted mean survival time against the reference group's (the first
/// group), at a common horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RmstComparison {
    pub group: String,
    /// The group compared against: the first group.
    pub reference: String,
    /// τ: the request's `horizon`, or the shortest of the groups' longest durations.
    pub horizon: f64,
    pub restricted_mean: f64,
    pub reference_restricted_mean: f64,
    /// RMST(group) − RMST(reference).
    pub difference: f64,
    /// √(se² + se_reference²).
    pub difference_standard_error: f64,
    /// difference ± z × its standard error.
    pub difference_interval: Bounds,
    /// Two-sided p-value of "no difference": 2 Φ(−|difference / se|).
    pub difference_p_value: f64,
    /// RMST(group) / RMST(reference); absent when a restricted mean is 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// exp(ln ratio ± z × √(se²/RMST² + se_reference²/RMST_reference²)) (delta method).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_interval: Option<Bounds>,
    /// Two-sided p-value of "ratio 1", on the log scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_p_value: Option<f64>,
}

/// Compares each group's restricted mean with the first group's at one horizon τ.
///
/// # Formula
///
/// ```text
/// D = μ₁ − μ₀,             se_D = √(se₁² + se₀²),                 D ± z se_D,   p = 2 Φ(−|D| / se_D)
/// R = μ₁ / μ₀,   se_ln R = √(se₁² / μ₁² + se₀² / μ₀²),   exp(ln R ± z se_ln R),   p = 2 Φ(−|ln R| / se_ln R)
/// ```
///
/// where μ is each group's restricted mean to τ and se its standard error
/// ([`kaplan_meier`]). τ defaults to the shortest of the groups' longest durations, so that
/// no curve is carried past its data. Source: Royston & Parmar (2013), "Restricted mean
/// survival time: an alternative to the hazard ratio", BMC Med Res Methodol 13:152; the
/// arithmetic of R's survRM2 `rmst2`; docs/formulas.md § 11.
fn compare_restricted_means(
    groups: &[GroupCurve],
    horizon: Option<f64>,
    z: f64,
) -> Vec<RmstComparison> {
    let Some(reference) = groups.first() else {
        return Vec::new();
    };
    let tau = horizon.unwrap_or_else(|| {
        groups
            .iter()
            .map(|g| g.curve.timeline.last().copied().unwrap_or(0.0))
            .fold(f64::INFINITY, f64::min)
    });
    let p_value = |statistic: f64| erfc(statistic.abs() / std::f64::consts::SQRT_2);
    let (m0, se0) = restricted_mean(&reference.curve, tau);
    groups[1..]
        .iter()
        .map(|g| {
            let (m1, se1) = restricted_mean(&g.curve, tau);
            let difference = m1 - m0;
            let se = (se1 * se1 + se0 * se0).sqrt();
            let (ratio, ratio_interval, ratio_p_value) = if m0 > 0.0 && m1 > 0.0 {
                let log_ratio = (m1 / m0).ln();
                let se_log = (se1 * se1 / (m1 * m1) + se0 * se0 / (m0 * m0)).sqrt();
                let interval = Bounds {
                    lower: (log_ratio - z * se_log).exp(),
                    upper: (log_ratio + z * se_log).exp(),
                };
                let p = (se_log > 0.0).then(|| p_value(log_ratio / se_log));
                (Some(m1 / m0), Some(interval), p)
            } else {
                (None, None, None)
            };
            RmstComparison {
                group: g.group.clone(),
                reference: reference.group.clone(),
                horizon: tau,
                restricted_mean: m1,
                reference_restricted_mean: m0,
                difference,
                difference_standard_error: se,
                difference_interval: Bounds {
                    lower: difference - z * se,
                    upper: difference + z * se,
                },
                difference_p_value: if se > 0.0 {
                    p_value(difference / se)
                } else if difference == 0.0 {
                    1.0
                } else {
                    0.0
                },
                ratio,
                ratio_interval,
                ratio_p_value,
            }
        })
        .collect()
}

/// One group's curve.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupCurve {
    pub group: String,
    pub customers: usize,
    pub curve: SurvivalCurve,
}

/// The survival of all rows kept, and with `group_by` of each segment's rows.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurvivalAnswer {
    /// The total's curves.
    #[serde(flatten)]
    pub survival: SurvivalResponse,
    /// With `group_by`: each segment's curves, on its rows alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<SurvivalSegment>>,
}

/// One segment's survival.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurvivalSegment {
    /// The segment's values by attribute.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub segment: super::events::SegmentValues,
    #[serde(flatten)]
    pub survival: SurvivalResponse,
}

/// Survival curves.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurvivalResponse {
    /// The unit of `timeline` (when built from subscriptions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<TimeUnit>,
    pub customers: usize,
    /// Everyone together.
    pub curve: SurvivalCurve,
    /// One curve per group, when rows carry a `group`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupCurve>,
    /// Log-rank test of equal survival across the groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_rank: Option<LogRankTest>,
    /// Each group's restricted mean survival time against the first group's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restricted_mean_comparisons: Vec<RmstComparison>,
    /// Weibull and log-logistic fits to everyone, projected beyond the data, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parametric: Option<crate::analytics::parametric::Parametric>,
    pub notes: Vec<String>,
}

/// A subscription's observed time in `unit`s at `as_of`: churned at its end when it ended by
/// then, censored at `as_of` otherwise. With `observed_from` (the first day the data cover),
/// a subscription that started before it enters late, at its tenure that day. `index` names
/// it in refusals (`/subscriptions/{index}/…`).
pub fn subscription_observation(
    index: usize,
    start: NaiveDate,
    end: Option<NaiveDate>,
    as_of: NaiveDate,
    unit: TimeUnit,
    observed_from: Option<NaiveDate>,
) -> Result<Observation, InvalidInput> {
    if let (Some(from), Some(end)) = (observed_from, end) {
        // Only a subscription that began before the data did can have left before them.
        if start < from && end <= from {
            return Err(InvalidInput::new(
                format!("/subscriptions/{index}/end"),
                "must be after observed_from",
                format!("subscriptions[{index}] started {start} and ended {end}, on or before observed_from {from}: data that begin on {from} cannot hold it; leave it out (keeping it would bias the curve)"),
            ));
        }
    }
    if start > as_of {
        return Err(InvalidInput::new(
            format!("/subscriptions/{index}/start"),
            "must not be after as_of",
            format!("subscriptions[{index}] starts {start}, after as_of {as_of}"),
        ));
    }
    if let Some(end) = end.filter(|e| *e < start) {
        return Err(InvalidInput::new(
            format!("/subscriptions/{index}/end"),
            "must not be before start",
            format!("subscriptions[{index}] ends {end}, before it starts {start}"),
        ));
    }
    let observed = end.is_some_and(|e| e <= as_of);
    let stop = end.filter(|e| *e <= as_of).unwrap_or(as_of);
    let duration = (stop - start).num_days() as f64 / unit.days();
    let entry = observed_from
        .filter(|from| *from > start)
        .map_or(0.0, |from| (from - start).num_days() as f64 / unit.days());
    Ok(Observation {
        entry,
        duration,
        observed,
    })
}

/// What a survival request carries: one row per customer, or summary counts (each with an
/// optional group).
pub enum SurvivalRows<'a> {
    Observations(&'a [(Observation, Option<String>)]),
    Counts(&'a [(EventCounts, Option<String>)]),
}

/// Kaplan–Meier curves for everyone and per group, and the log-rank test between the groups
/// (the answer of `/survival`). `rows` are observations or summary counts with their group;
/// `collection` names them in refusals; at most `max_groups` groups. Both forms go through the
/// same table of counts, so the summary of some observations answers exactly as they do.
pub fn survival_report(
    rows: SurvivalRows<'_>,
    unit: Option<TimeUnit>,
    settings: &KmSettings,
    collection: &str,
    max_groups: usize,
    parametric_times: Option<&[f64]>,
) -> Result<SurvivalResponse, InvalidInput> {
    let (all, by_group, ungrouped_rows, observations) = match rows {
        SurvivalRows::Observations(rows) => {
            let all: Vec<Observation> = rows.iter().map(|r| r.0).collect();
            check(&all)?;
            let mut by_group: BTreeMap<String, Vec<Observation>> = BTreeMap::new();
            if rows.iter().any(|r| r.1.is_some()) {
                for (o, g) in rows {
                    by_group
                        .entry(g.clone().unwrap_or_default())
                        .or_default()
                        .push(*o);
                }
            }
            let tables: BTreeMap<String, Table> = by_group
                .iter()
                .map(|(g, obs)| (g.clone(), Table::from_observations(obs)))
                .collect();
            let ungrouped = !tables.is_empty() && rows.iter().any(|r| r.1.is_none());
            (Table::from_observations(&all), tables, ungrouped, Some(all))
        }
        SurvivalRows::Counts(rows) => {
            check_counts(rows, &format!("/{collection}"))?;
            let mut by_group: BTreeMap<String, Vec<EventCounts>> = BTreeMap::new();
            if rows.iter().any(|r| r.1.is_some()) {
                for (c, g) in rows {
                    by_group
                        .entry(g.clone().unwrap_or_default())
                        .or_default()
                        .push(*c);
                }
            }
            for (g, counts) in &by_group {
                let pairs: Vec<(EventCounts, Option<String>)> =
                    counts.iter().map(|c| (*c, None)).collect();
                check_counts(&pairs, &format!("/{collection}")).map_err(|e| {
                    InvalidInput::new(
                        format!("/{collection}"),
                        e.reason,
                        format!("group {g:?}: {}", e.detail),
                    )
                })?;
            }
            let tables: BTreeMap<String, Table> = by_group
                .into_iter()
                .map(|(g, c)| (g, Table::new(c)))
                .collect();
            let ungrouped = !tables.is_empty() && rows.iter().any(|r| r.1.is_none());
            (
                Table::new(rows.iter().map(|r| r.0).collect()),
                tables,
                ungrouped,
                None,
            )
        }
    };
    if by_group.len() > max_groups {
        let field = format!("/{collection}");
        return Err(InvalidInput::new(
            field.as_str(),
            format!("at most {max_groups} groups"),
            format!(
                "the rows name {} groups; a survival request compares at most {max_groups} (MAX_SURVIVAL_GROUPS)",
                by_group.len()
            ),
        ));
    }
    let grouped = !by_group.is_empty();
    let groups: Vec<GroupCurve> = by_group
        .iter()
        .map(|(g, table)| GroupCurve {
            group: g.clone(),
            customers: table.customers() as usize,
            curve: kaplan_meier_table(table, settings),
        })
        .collect();
    let comparisons = compare_restricted_means(&groups, settings.horizon, settings.confidence.z());
    let samples: Vec<Table> = by_group.into_values().collect();
    let log_rank_test = log_rank_tables(&samples);
    let mut notes = vec![format!("Kaplan-Meier estimate; {} % band from Greenwood's variance with the log(-log) transform, as lifelines' KaplanMeierFitter and R's survfit(conf.type = \"log-log\"). The restricted mean's standard error is R's survfit one.", crate::kpi::breakdown::num(settings.confidence.level() * 100.0))];
    if let Some(c) = comparisons.first() {
        notes.push(format!(
            "Restricted means compared at horizon {} against the first group, {}.",
            crate::kpi::breakdown::num(c.horizon),
            c.reference
        ));
        for g in &groups {
            let longest = g.curve.timeline.last().copied().unwrap_or(0.0);
            if c.horizon > longest {
                notes.push(format!(
                    "The horizon {} passes group {}'s longest duration, {}: its curve is carried flat beyond its data, which can flatter or harm its restricted mean.",
                    crate::kpi::breakdown::num(c.horizon),
                    g.group,
                    crate::kpi::breakdown::num(longest)
                ));
            }
        }
    }
    if grouped && samples.len() >= 2 && log_rank_test.is_none() {
        notes.push(
            "No log-rank test: no group churned, or the groups cannot be compared.".to_owned(),
        );
    }
    if all.late_entry() {
        notes.push("Late entry: a customer counts as at risk only after the tenure it was first observed at (entry), as R's survfit(Surv(entry, exit, event)) counts it.".to_owned());
    }
    let parametric = match (parametric_times, &observations) {
        (None, _) => None,
        (Some(times), Some(observations)) => Some(crate::analytics::parametric::fit_parametric(
            observations,
            times,
            settings.confidence,
            collection,
        )?),
        (Some(_), None) => {
            return Err(InvalidInput::new(
                "/parametric",
                "observations or subscriptions",
                "parametric fits take observations or subscriptions, not summary counts (event_table): send the rows, or leave parametric out",
            ))
        }
    };
    if ungrouped_rows {
        notes.push("Rows without a group form the group \"\".".to_owned());
    }
    Ok(SurvivalResponse {
        unit,
        customers: all.customers() as usize,
        curve: kaplan_meier_table(&all, settings),
        groups,
        log_rank: log_rank_test,
        restricted_mean_comparisons: comparisons,
        parametric,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(d: &[f64], e: &[bool]) -> Vec<Observation> {
        d.iter()
            .zip(e)
            .map(|(&duration, &observed)| Observation {
                entry: 0.0,
                duration,
                observed,
            })
            .collect()
    }

    #[test]
    fn an_abandoned_log_rank_stops_early() {
        let group = |offset: f64| -> Vec<Observation> {
            (0..5000)
                .map(|i| Observation {
                    entry: 0.0,
                    duration: f64::from(i) + offset,
                    observed: i % 3 != 0,
                })
                .collect()
        };
        let groups = [group(0.25), group(0.5)];
        assert!(log_rank(&groups).is_some());
        let raised = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        assert!(crate::cancel::cancellable(raised, || log_rank(&groups)).is_none());
    }

    #[test]
    fn matches_lifelines_on_a_small_sample() {
        // lifelines 0.30: KaplanMeierFitter().fit([1,2,2,3,5,5,6,8], [1,0,1,1,1,0,1,1]).
        let curve = kaplan_meier(
            &obs(
                &[1., 2., 2., 3., 5., 5., 6., 8.],
                &[true, false, true, true, true, false, true, true],
            ),
            &KmSettings {
                horizon: Some(4.0),
                ..KmSettings::default()
            },
        );
        assert_eq!(curve.timeline, vec![0., 1., 2., 3., 5., 6., 8.]);
        let expected = [1.0, 0.875, 0.75, 0.6, 0.45, 0.225, 0.0];
        let lower = [
            1.0, 0.38700001, 0.31480711, 0.19549587, 0.10757812, 0.01239642, 0.0,
        ];
        let upper = [
            1.0, 0.98139297, 0.93089832, 0.85225435, 0.75127385, 0.60241943, 0.0,
        ];
        for i in 0..7 {
            assert!((curve.survival[i] - expected[i]).abs() < 1e-12);
            assert!((curve.ci_lower[i] - lower[i]).abs() < 1e-8, "lower {i}");
            assert!((curve.ci_upper[i] - upper[i]).abs() < 1e-8, "upper {i}");
        }
        assert_eq!(curve.median, Some(5.0));
        assert!((curve.restricted_mean - 3.225).abs() < 1e-12);
        // R 4.2.2, survival 3.5.3: print(survfit(Surv(d, e) ~ 1, conf.type = "log-log"),
        // rmean = 4) gives se(rmean) 0.387 and the median's interval [1, NA].
        assert!((curve.restricted_mean_standard_error - 0.387).abs() < 5e-4);
        assert_eq!(curve.median_interval.lower, Some(1.0));
        assert_eq!(curve.median_interval.upper, None);
        // lifelines: logrank_test([1,2,3,4], [2,5,6,7], [1,1,0,1], [1,1,1,0]) → 2.294117647, p 0.129864992.
        let test = log_rank(&[
            obs(&[1., 2., 3., 4.], &[true, true, false, true]),
            obs(&[2., 5., 6., 7.], &[true, true, true, false]),
        ])
        .unwrap();
        assert!((test.test_statistic - 2.294117647058823).abs() < 1e-9);
        assert!((test.p_value - 0.12986499204150956).abs() < 1e-9);
    }
}
