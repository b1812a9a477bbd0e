//! Kaplan–Meier survival curves with Greenwood confidence bands (log(−log) transform), median
//! and restricted mean lifetime, and the log-rank test between groups — as lifelines'
//! `KaplanMeierFitter` and `multivariate_logrank_test` compute them by default.

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use std::collections::BTreeMap;

use chrono::NaiveDate;
use nalgebra::{DMatrix, DVector};

use crate::input::NonNegative;
use crate::kpi::InvalidInput;
use crate::units::TimeUnit;

/// z for a two-sided 95 % band: Φ⁻¹(0.975), as lifelines uses.
const Z: f64 = 1.959_963_984_540_054;

/// A customer's time observed, and whether it ended in churn (false: still active, censored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
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
    /// Customers at risk just before each time, churned at it, censored at it.
    pub at_risk: Vec<u64>,
    pub churned: Vec<u64>,
    pub censored: Vec<u64>,
    /// The first time Ŝ ≤ 0.5; absent when the curve never gets there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median: Option<f64>,
    /// ∫₀^h Ŝ(t) dt up to the horizon h.
    pub restricted_mean: f64,
    pub horizon: f64,
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
        if NonNegative::new(o.duration).is_none() {
            return Err(InvalidInput::new(
                format!("/observations/{i}/duration"),
                "must be 0 or more",
                format!(
                    "observations[{i}].duration {} must be a finite time of 0 or more",
                    o.duration
                ),
            ));
        }
    }
    Ok(())
}

/// The distinct times with (at risk, churned, censored), in increasing time.
fn event_table(observations: &[Observation]) -> Vec<(f64, u64, u64, u64)> {
    let mut sorted: Vec<Observation> = observations.to_vec();
    sorted.sort_by(|a, b| a.duration.total_cmp(&b.duration));
    let mut table = Vec::new();
    let mut at_risk = sorted.len() as u64;
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].duration;
        let (mut d, mut c) = (0, 0);
        while i < sorted.len() && sorted[i].duration == t {
            if sorted[i].observed {
                d += 1;
            } else {
                c += 1;
            }
            i += 1;
        }
        table.push((t, at_risk, d, c));
        at_risk -= d + c;
    }
    table
}

/// Kaplan–Meier estimate with its band, median and restricted mean up to `horizon`
/// (default: the longest duration).
pub fn kaplan_meier(observations: &[Observation], horizon: Option<f64>) -> SurvivalCurve {
    let table = event_table(observations);
    let n = observations.len() as u64;
    let mut curve = SurvivalCurve {
        timeline: vec![],
        survival: vec![],
        ci_lower: vec![],
        ci_upper: vec![],
        at_risk: vec![],
        churned: vec![],
        censored: vec![],
        median: None,
        restricted_mean: 0.0,
        horizon: 0.0,
    };
    if table.first().is_none_or(|row| row.0 > 0.0) {
        curve.timeline.push(0.0);
        curve.survival.push(1.0);
        curve.ci_lower.push(1.0);
        curve.ci_upper.push(1.0);
        curve.at_risk.push(n);
        curve.churned.push(0);
        curve.censored.push(0);
    }
    let mut s = 1.0f64;
    let mut greenwood = 0.0f64;
    for &(t, at_risk, d, c) in &table {
        if d > 0 {
            s *= 1.0 - d as f64 / at_risk as f64;
            greenwood += if at_risk > d {
                d as f64 / (at_risk as f64 * (at_risk - d) as f64)
            } else {
                f64::INFINITY
            };
        }
        let (lower, upper) = band(s, greenwood);
        curve.timeline.push(t);
        curve.survival.push(s);
        curve.ci_lower.push(lower);
        curve.ci_upper.push(upper);
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
    let horizon = horizon.unwrap_or_else(|| curve.timeline.last().copied().unwrap_or(0.0));
    curve.horizon = horizon;
    curve.restricted_mean = restricted_mean(&curve.timeline, &curve.survival, horizon);
    curve
}

/// The log(−log) band of lifelines: S = 1 → [1, 1], S = 0 → [0, 0].
fn band(s: f64, greenwood: f64) -> (f64, f64) {
    if s >= 1.0 {
        return (1.0, 1.0);
    }
    if s <= 0.0 || !greenwood.is_finite() {
        return (0.0, 0.0);
    }
    let v = s.ln();
    let shift = Z * greenwood.sqrt() / v;
    let lower = (-((-v).ln() - shift).exp()).exp();
    let upper = (-((-v).ln() + shift).exp()).exp();
    // v < 0 makes `shift` negative: ln(−v) − shift is the larger exponent, the lower bound.
    (lower.min(upper), lower.max(upper))
}

/// ∫₀^h of the step function S (S(t) = survival[i] on [timeline[i], timeline[i+1])).
fn restricted_mean(timeline: &[f64], survival: &[f64], horizon: f64) -> f64 {
    let mut area = 0.0;
    for i in 0..timeline.len() {
        let from = timeline[i];
        if from >= horizon {
            break;
        }
        let to = timeline
            .get(i + 1)
            .copied()
            .unwrap_or(f64::INFINITY)
            .min(horizon);
        area += survival[i] * (to - from);
    }
    area
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
    let k = groups.len();
    if k < 2 {
        return None;
    }
    let mut all: Vec<(f64, usize, bool)> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, obs)| obs.iter().map(move |o| (o.duration, g, o.observed)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut at_risk: Vec<f64> = groups.iter().map(|g| g.len() as f64).collect();
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
        let mut leaving = vec![0.0; k];
        while i < all.len() && all[i].0 == t {
            let (_, g, observed) = all[i];
            if observed {
                deaths[g] += 1.0;
            }
            leaving[g] += 1.0;
            i += 1;
        }
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
        for g in 0..k {
            at_risk[g] -= leaving[g];
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

/// One group's curve.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupCurve {
    pub group: String,
    pub customers: usize,
    pub curve: SurvivalCurve,
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
    pub notes: Vec<String>,
}

/// A subscription's observed time in `unit`s at `as_of`: churned at its end when it ended by
/// then, censored at `as_of` otherwise. `index` names it in refusals
/// (`/subscriptions/{index}/…`).
pub fn subscription_observation(
    index: usize,
    start: NaiveDate,
    end: Option<NaiveDate>,
    as_of: NaiveDate,
    unit: TimeUnit,
) -> Result<Observation, InvalidInput> {
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
    Ok(Observation { duration, observed })
}

/// Kaplan–Meier curves for everyone and per group, and the log-rank test between the groups
/// (the answer of `/survival`). `rows` are observations with their group; `collection` names
/// them in refusals; at most `max_groups` groups.
pub fn survival_report(
    rows: &[(Observation, Option<String>)],
    unit: Option<TimeUnit>,
    horizon: Option<f64>,
    collection: &str,
    max_groups: usize,
) -> Result<SurvivalResponse, InvalidInput> {
    let all: Vec<Observation> = rows.iter().map(|r| r.0).collect();
    check(&all)?;
    if let Some(h) = horizon.filter(|h| NonNegative::new(*h).is_none()) {
        return Err(InvalidInput::new(
            "/horizon",
            "must be 0 or more",
            format!("horizon {h} must be a time of 0 or more"),
        ));
    }
    let mut by_group: BTreeMap<String, Vec<Observation>> = BTreeMap::new();
    let grouped = rows.iter().any(|r| r.1.is_some());
    if grouped {
        for (o, g) in rows {
            by_group
                .entry(g.clone().unwrap_or_default())
                .or_default()
                .push(*o);
        }
    }
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
    let groups: Vec<GroupCurve> = by_group
        .iter()
        .map(|(g, obs)| GroupCurve {
            group: g.clone(),
            customers: obs.len(),
            curve: kaplan_meier(obs, horizon),
        })
        .collect();
    let samples: Vec<Vec<Observation>> = by_group.into_values().collect();
    let log_rank_test = log_rank(&samples);
    let mut notes = vec!["Kaplan-Meier estimate; 95 % band from Greenwood's variance with the log(-log) transform, as lifelines' KaplanMeierFitter.".to_owned()];
    if grouped && samples.len() >= 2 && log_rank_test.is_none() {
        notes.push(
            "No log-rank test: no group churned, or the groups cannot be compared.".to_owned(),
        );
    }
    if grouped && rows.iter().any(|r| r.1.is_none()) {
        notes.push("Rows without a group form the group \"\".".to_owned());
    }
    Ok(SurvivalResponse {
        unit,
        customers: all.len(),
        curve: kaplan_meier(&all, horizon),
        groups,
        log_rank: log_rank_test,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(d: &[f64], e: &[bool]) -> Vec<Observation> {
        d.iter()
            .zip(e)
            .map(|(&duration, &observed)| Observation { duration, observed })
            .collect()
    }

    #[test]
    fn an_abandoned_log_rank_stops_early() {
        let group = |offset: f64| -> Vec<Observation> {
            (0..5000)
                .map(|i| Observation {
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
            Some(4.0),
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
