//! Stickiness (`POST /stickiness`): daily, weekly and monthly active customers on trailing
//! windows, their ratios, and how many days a customer is active per week or month
//! (docs/formulas.md § 20.4).

use serde::Serialize;

use super::events::{
    day_date, period_label, period_of_day, EventLog, LoggedEvent, SegmentValues, Segmenting,
};
use super::lifecycle::check_span;
use crate::kpi::InvalidInput;
use crate::units::Period;

/// One day's active customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StickinessDay {
    /// `YYYY-MM-DD`, in the time zone.
    pub day: String,
    /// Customers active on the day.
    pub dau: u64,
    /// Customers active on the day or the 6 before it.
    pub wau: u64,
    /// Customers active on the day or the 29 before it.
    pub mau: u64,
    /// dau / mau × 100 (absent when mau is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dau_mau: Option<f64>,
    /// wau / mau × 100 (absent when mau is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wau_mau: Option<f64>,
    /// Whether the 30-day window lies within the data (the earlier days' mau undercounts).
    pub complete: bool,
}

/// Active days per customer in one week or month.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveDays {
    /// The first day of the period (a Monday for weeks).
    pub period: String,
    /// Customers active on at least one day of it.
    pub customers: u64,
    /// counts[n − 1]: customers active on exactly n days of it (n = 1 … days in the period).
    pub counts: Vec<u64>,
    /// Σ n × counts[n − 1] / customers (absent without customers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_active_days: Option<f64>,
}

/// Stickiness of all kept events, or of one segment's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StickinessBlock {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub segment: Option<SegmentValues>,
    pub customers: u64,
    pub days: Vec<StickinessDay>,
    pub distribution: Vec<ActiveDays>,
    /// The mean dau_mau over the complete days (absent when none is complete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_dau_mau: Option<f64>,
}

/// Stickiness: the total, then one block per segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stickiness {
    pub definition: Vec<String>,
    pub segmenting: Segmenting,
    /// The period of the active-days distribution.
    pub period: Period,
    pub total: StickinessBlock,
    pub segments: Vec<StickinessBlock>,
}

/// Stickiness of every block of `log`; `period` (week or month) cuts the distribution.
///
/// # Formula
///
/// ```text
/// dau_d = #{customers active on d}    wau_d = … on d−6 … d    mau_d = … on d−29 … d
/// dau_mau = dau / mau × 100           wau_mau = wau / mau × 100
/// counts_{p,n} = #{customers active on exactly n days of period p}
/// ```
///
/// Days run from the first to the last local day of all kept events, in every block.
pub fn stickiness(log: &EventLog, read: usize, period: Period) -> Result<Stickiness, InvalidInput> {
    if !matches!(period, Period::Week | Period::Month) {
        return Err(InvalidInput::new(
            "/period",
            "week or month",
            format!(
                "the active-days distribution is per week or month, not per {}",
                period.name()
            ),
        ));
    }
    let n = check_span(log.first_day, log.last_day, Period::Day, "/events")?;
    let (total, segments) =
        log.map_blocks(|events, segment| block(events, segment, period, log.first_day, n));
    Ok(Stickiness {
        definition: vec![
            format!("active on a day: an event on that calendar day in {}", log.zone.name()),
            "dau: active on the day; wau: on the day or the 6 before; mau: on the day or the 29 before; dau_mau = dau / mau × 100".to_owned(),
            format!("distribution: customers by the number of days they were active in each {}", period.name()),
        ],
        segmenting: Segmenting::of(log, read),
        period,
        total,
        segments,
    })
}

fn block(
    events: &mut [LoggedEvent],
    segment: Option<SegmentValues>,
    period: Period,
    first: i64,
    n: usize,
) -> StickinessBlock {
    let mut active: Vec<(u32, i64)> = events.iter().map(|e| (e.customer, e.day - first)).collect();
    active.sort_unstable();
    active.dedup();
    // Difference arrays: a customer counts in the window ending on d when active in it.
    let mut diff = [vec![0i64; n + 1], vec![0i64; n + 1], vec![0i64; n + 1]];
    let widths = [1i64, 7, 30];
    let p_first = period_of_day(period, first);
    let p_count = (period_of_day(period, first + n as i64 - 1) - p_first + 1) as usize;
    let lengths: Vec<usize> = (0..p_count)
        .map(|k| {
            let p = p_first + k as i64;
            ((period.end(p) - period.start(p)).num_days() + 1) as usize
        })
        .collect();
    let mut counts: Vec<Vec<u64>> = lengths.iter().map(|&l| vec![0; l]).collect();
    let mut customers = 0u64;
    let mut previous: Option<(u32, i64)> = None;
    let mut run: Option<(usize, usize)> = None; // (period, days active in it)
    for (i, &(c, d)) in active.iter().enumerate() {
        if crate::cancel::stop_at(i) {
            break;
        }
        let prev_day = previous.filter(|p| p.0 == c).map(|p| p.1);
        if prev_day.is_none() {
            customers += 1;
        }
        for (w, diff) in widths.iter().zip(diff.iter_mut()) {
            let from = prev_day.map_or(d, |p| d.max(p + w));
            let to = (d + w - 1).min(n as i64 - 1);
            if from <= to {
                diff[from as usize] += 1;
                diff[(to + 1) as usize] -= 1;
            }
        }
        let p = (period_of_day(period, first + d) - p_first) as usize;
        run = match run {
            Some((q, k)) if q == p && prev_day.is_some() => Some((q, k + 1)),
            Some((q, k)) => {
                counts[q][k - 1] += 1;
                Some((p, 1))
            }
            None => Some((p, 1)),
        };
        previous = Some((c, d));
    }
    if let Some((q, k)) = run {
        counts[q][k - 1] += 1;
    }
    let running = |diff: &[i64]| -> Vec<u64> {
        diff[..n]
            .iter()
            .scan(0i64, |s, &x| {
                *s += x;
                Some(*s as u64)
            })
            .collect()
    };
    let (dau, wau, mau) = (running(&diff[0]), running(&diff[1]), running(&diff[2]));
    let days: Vec<StickinessDay> = (0..n)
        .map(|k| StickinessDay {
            day: day_date(first + k as i64).format("%Y-%m-%d").to_string(),
            dau: dau[k],
            wau: wau[k],
            mau: mau[k],
            dau_mau: (mau[k] > 0).then(|| dau[k] as f64 / mau[k] as f64 * 100.0),
            wau_mau: (mau[k] > 0).then(|| wau[k] as f64 / mau[k] as f64 * 100.0),
            complete: k >= 29,
        })
        .collect();
    let complete: Vec<f64> = days
        .iter()
        .filter(|d| d.complete)
        .filter_map(|d| d.dau_mau)
        .collect();
    let distribution = counts
        .into_iter()
        .enumerate()
        .map(|(k, counts)| {
            let customers: u64 = counts.iter().sum();
            let days: u64 = counts
                .iter()
                .enumerate()
                .map(|(i, c)| (i as u64 + 1) * c)
                .sum();
            ActiveDays {
                period: period_label(period, p_first + k as i64),
                customers,
                counts,
                average_active_days: (customers > 0).then(|| days as f64 / customers as f64),
            }
        })
        .collect();
    StickinessBlock {
        segment,
        customers,
        days,
        distribution,
        average_dau_mau: (!complete.is_empty())
            .then(|| complete.iter().sum::<f64>() / complete.len() as f64),
    }
}
