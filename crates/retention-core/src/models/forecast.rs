//! Forecasts of MRR and customers for the next periods (docs/formulas.md § 17): the trend of
//! the last m periods (linear and exponential least squares, with prediction intervals), the
//! retention-based path (an sBG fit on each cohort's survivors × its ARPA, plus new
//! customers), and committed MRR from scheduled changes.

use serde::Serialize;

use super::sbg::sbg_report;
use crate::kpi::{Bounds, Confidence, InvalidInput};

/// Most periods a forecast looks ahead.
pub const MAX_AHEAD: usize = 120;
/// Most cohorts the retention path fits (one sBG fit each).
pub const MAX_COHORTS: usize = 100;

/// One forecast step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastPoint {
    /// Periods after the last observed one (1 = the next period).
    pub step: usize,
    pub value: f64,
    /// The prediction interval at the answer's level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Bounds>,
}

/// A least-squares trend of one series and its forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendForecast {
    /// `mrr` or `customers`.
    pub metric: String,
    /// `linear` (y = a + b x) or `exponential` (ln y = a + b x).
    pub model: String,
    pub formula: String,
    /// a and b, with x = 0 at the first of the periods fitted.
    pub intercept: f64,
    pub slope: f64,
    /// For `exponential`, e^b − 1: the growth per period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth_per_period: Option<f64>,
    pub r_squared: f64,
    /// s = √(SSE / (m − 2)), on the fitted scale.
    pub residual_standard_error: f64,
    pub periods_fitted: usize,
    pub forecast: Vec<ForecastPoint>,
}

/// A fitted line: intercept, slope, R², residual standard error, and each step's (forecast,
/// lower, upper).
struct LineFit {
    intercept: f64,
    slope: f64,
    r_squared: f64,
    s: f64,
    points: Vec<(f64, f64, f64)>,
}

/// A least-squares line through (x_i, y_i), x_i = 0 … m − 1, forecast `ahead` steps with
/// Student-t prediction intervals: ŷ ± t_{(1+c)/2, m−2} s √(1 + 1/m + (x₀ − x̄)² / Sxx).
fn least_squares(y: &[f64], ahead: usize, confidence: Confidence) -> LineFit {
    let m = y.len() as f64;
    let x_mean = (m - 1.0) / 2.0;
    let y_mean = y.iter().sum::<f64>() / m;
    let sxx: f64 = (0..y.len()).map(|i| (i as f64 - x_mean).powi(2)).sum();
    let sxy: f64 = y
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 - x_mean) * (v - y_mean))
        .sum();
    let slope = sxy / sxx;
    let intercept = y_mean - slope * x_mean;
    let sse: f64 = y
        .iter()
        .enumerate()
        .map(|(i, v)| (v - intercept - slope * i as f64).powi(2))
        .sum();
    let sst: f64 = y.iter().map(|v| (v - y_mean).powi(2)).sum();
    let r_squared = if sst > 0.0 { 1.0 - sse / sst } else { 1.0 };
    let s = (sse / (m - 2.0)).sqrt();
    let t = confidence.t(m - 2.0);
    let points = (1..=ahead)
        .map(|h| {
            let x0 = m - 1.0 + h as f64;
            let fit = intercept + slope * x0;
            let half = t * s * (1.0 + 1.0 / m + (x0 - x_mean).powi(2) / sxx).sqrt();
            (fit, fit - half, fit + half)
        })
        .collect();
    LineFit {
        intercept,
        slope,
        r_squared,
        s,
        points,
    }
}

/// Linear and (where every value is positive) exponential trends of the last `last` values of
/// `series`, forecast `ahead` periods.
pub fn trends(
    metric: &str,
    series: &[f64],
    last: usize,
    ahead: usize,
    confidence: Confidence,
) -> Vec<TrendForecast> {
    let y = &series[series.len() - last.min(series.len())..];
    let trend =
        |model: &str, formula: &str, fit: LineFit, growth, map: fn(f64) -> f64| TrendForecast {
            metric: metric.to_owned(),
            model: model.to_owned(),
            formula: formula.to_owned(),
            intercept: fit.intercept,
            slope: fit.slope,
            growth_per_period: growth,
            r_squared: fit.r_squared,
            residual_standard_error: fit.s,
            periods_fitted: y.len(),
            forecast: fit
                .points
                .iter()
                .enumerate()
                .map(|(i, (v, lo, hi))| ForecastPoint {
                    step: i + 1,
                    value: map(*v),
                    interval: Some(Bounds {
                        lower: map(*lo),
                        upper: map(*hi),
                    }),
                })
                .collect(),
        };
    // MRR and customers are never negative: a falling line is floored at 0.
    let mut out = vec![trend(
        "linear",
        "y = a + b x, least squares over the last m periods (x = 0 … m - 1); ŷ ± t s √(1 + 1/m + (x₀ - x̄)² / Sxx)",
        least_squares(y, ahead, confidence),
        None,
        |v| v.max(0.0),
    )];
    if y.iter().all(|v| *v > 0.0) {
        let logs: Vec<f64> = y.iter().map(|v| v.ln()).collect();
        let fit = least_squares(&logs, ahead, confidence);
        // A forecast past the largest number drops this model, not the whole answer.
        if fit.points.iter().all(|(_, _, hi)| hi.exp().is_finite()) {
            let growth = Some(fit.slope.exp() - 1.0);
            out.push(trend(
                "exponential",
                "ln y = a + b x, least squares over the last m periods; forecast e^ŷ with the interval e^(ŷ ± t s √(1 + 1/m + (x₀ - x̄)² / Sxx))",
                fit,
                growth,
                f64::exp,
            ));
        }
    }
    out
}

/// One cohort of the retention path.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortHistory {
    pub name: String,
    /// Customers at the start of periods 0, 1, …, the last being the current period.
    pub survivors: Vec<f64>,
    /// Average revenue per account of the cohort, per period.
    pub arpa: f64,
}

/// One cohort's fit and projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CohortProjection {
    pub cohort: String,
    pub alpha: f64,
    pub beta: f64,
    /// Survivors in the next periods: n₀ × S(age), with the delta-method interval of S.
    pub survivors: Vec<ForecastPoint>,
}

/// The retention-based forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionForecast {
    pub formula: String,
    pub cohorts: Vec<CohortProjection>,
    /// Σ cohorts' survivors + the new customers still there.
    pub customers: Vec<ForecastPoint>,
    /// Σ survivors × ARPA + new customers × their ARPA.
    pub mrr: Vec<ForecastPoint>,
}

/// The retention path: each cohort's sBG fit projected `ahead` periods; `new_per_period`
/// customers join each future period at `new_arpa` and leave along the customer-weighted
/// average of the cohorts' fitted survival curves. Intervals: each cohort's survivors carry
/// the delta-method interval of its S(t); the totals add the bounds (as if the cohorts' errors
/// moved together: wider than independent errors would give), the new customers' counts
/// taken as given.
pub fn retention_forecast(
    cohorts: &[CohortHistory],
    ahead: usize,
    new_per_period: f64,
    new_arpa: f64,
    confidence: Confidence,
) -> Result<RetentionForecast, InvalidInput> {
    let mut projections = Vec::with_capacity(cohorts.len());
    // Customer-weighted average survival S̄(age) over ages 0 … ahead − 1, for new customers.
    let mut average = vec![0.0; ahead];
    // Every cohort is checked by `sbg_report` below before its count is used; an empty one is
    // refused there, not indexed here.
    let total_start: f64 = cohorts
        .iter()
        .map(|c| c.survivors.first().copied().unwrap_or(0.0))
        .sum();
    let mut customers = vec![(0.0, 0.0, 0.0); ahead];
    let mut mrr = vec![(0.0, 0.0, 0.0); ahead];
    for (i, cohort) in cohorts.iter().enumerate() {
        let observed = cohort.survivors.len();
        let report = sbg_report(
            &cohort.survivors,
            Some((ahead + 1) as u64),
            None,
            None,
            Some(confidence),
        )
        .map_err(|e| e.nested_under(&format!("/cohorts/{i}")))?;
        let alpha = report
            .fit
            .parameters
            .get("alpha")
            .and_then(|v| v["estimate"].as_f64())
            .unwrap_or(f64::NAN);
        let beta = report
            .fit
            .parameters
            .get("beta")
            .and_then(|v| v["estimate"].as_f64())
            .unwrap_or(f64::NAN);
        let n0 = cohort.survivors[0];
        // report.periods[t] is period t: observed up to observed − 1, then projected.
        let survivors: Vec<ForecastPoint> = (1..=ahead)
            .map(|h| {
                let p = &report.periods[observed - 1 + h];
                ForecastPoint {
                    step: h,
                    value: n0 * p.survival,
                    interval: p.survival_interval.as_ref().map(|b| Bounds {
                        lower: n0 * b.lower,
                        upper: n0 * b.upper,
                    }),
                }
            })
            .collect();
        for (h, point) in survivors.iter().enumerate() {
            let (lo, hi) = point
                .interval
                .as_ref()
                .map_or((point.value, point.value), |b| (b.lower, b.upper));
            customers[h].0 += point.value;
            customers[h].1 += lo;
            customers[h].2 += hi;
            mrr[h].0 += point.value * cohort.arpa;
            mrr[h].1 += lo * cohort.arpa;
            mrr[h].2 += hi * cohort.arpa;
        }
        for (age, slot) in average.iter_mut().enumerate() {
            *slot += n0 / total_start * report.periods[age.min(report.periods.len() - 1)].survival;
        }
        projections.push(CohortProjection {
            cohort: cohort.name.clone(),
            alpha,
            beta,
            survivors,
        });
    }
    // New customers joining in step j are at age h − j in step h.
    for h in 1..=ahead {
        let new: f64 = (1..=h).map(|j| new_per_period * average[h - j]).sum();
        for (totals, per) in [(&mut customers, 1.0), (&mut mrr, new_arpa)] {
            totals[h - 1].0 += new * per;
            totals[h - 1].1 += new * per;
            totals[h - 1].2 += new * per;
        }
    }
    let points = |v: Vec<(f64, f64, f64)>| {
        v.into_iter()
            .enumerate()
            .map(|(i, (value, lower, upper))| ForecastPoint {
                step: i + 1,
                value,
                interval: Some(Bounds { lower, upper }),
            })
            .collect()
    };
    Ok(RetentionForecast {
        formula: "customers_h = Σ_cohorts n₀ S_c(age + h) + Σ_{j ≤ h} new × S̄(h - j); MRR_h = Σ_cohorts n₀ S_c(age + h) ARPA_c + new customers × new ARPA; S_c from each cohort's sBG fit, S̄ their customer-weighted average".to_owned(),
        cohorts: projections,
        customers: points(customers),
        mrr: points(mrr),
    })
}

/// Committed MRR (ChartMogul's CMRR): the last MRR plus every scheduled change effective by
/// each step.
pub fn committed_mrr(
    last_mrr: f64,
    scheduled: &[(usize, f64)],
    ahead: usize,
) -> Vec<ForecastPoint> {
    (1..=ahead)
        .map(|h| ForecastPoint {
            step: h,
            value: last_mrr
                + scheduled
                    .iter()
                    .filter(|(s, _)| *s <= h)
                    .map(|(_, c)| c)
                    .sum::<f64>(),
            interval: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_is_forecast_exactly_with_a_zero_width_interval() {
        let c = Confidence::new(None).unwrap();
        let fits = trends("mrr", &[5.0, 100.0, 110.0, 120.0, 130.0], 4, 2, c);
        assert_eq!(fits[0].slope, 10.0);
        assert_eq!(fits[0].forecast[1].value, 150.0);
        let b = fits[0].forecast[0].interval.unwrap();
        assert!((b.upper - b.lower).abs() < 1e-9);
        // Doubling each period: exponential growth of 100 %.
        let fits = trends("mrr", &[1.0, 2.0, 4.0, 8.0], 4, 1, c);
        assert!((fits[1].growth_per_period.unwrap() - 1.0).abs() < 1e-12);
        assert!((fits[1].forecast[0].value - 16.0).abs() < 1e-9);
    }

    #[test]
    fn committed_mrr_adds_the_changes_as_they_take_effect() {
        let cmrr = committed_mrr(7200.0, &[(1, 1200.0), (2, -500.0)], 3);
        let values: Vec<f64> = cmrr.iter().map(|p| p.value).collect();
        assert_eq!(values, vec![8400.0, 7900.0, 7900.0]);
    }
}

/// The answer of `/forecast`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastResponse {
    pub periods_ahead: usize,
    /// The level of every interval, in percent.
    pub level_pct: f64,
    /// The trend path: MRR and customers, linear and (where all values are positive)
    /// exponential; empty without `history`.
    pub trend: Vec<TrendForecast>,
    /// The retention path; absent without `cohorts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionForecast>,
    /// Committed MRR from the scheduled changes; absent without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committed_mrr: Option<Vec<ForecastPoint>>,
    pub notes: Vec<String>,
}
