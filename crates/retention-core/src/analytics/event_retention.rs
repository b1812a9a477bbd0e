//! Event retention (`POST /retention`): of the customers who did a start event, how many did
//! a return event 1, 2, … intervals later, per cohort (docs/formulas.md § 20.2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::events::{
    period_label, period_of_day, EventLog, LoggedEvent, SegmentValues, Segmenting, DAY_US,
};
use crate::kpi::InvalidInput;
use crate::units::Period;

/// Who enters a cohort.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A customer enters once, at its first start event ever.
    #[default]
    FirstTime,
    /// A customer enters the cohort of every period in which it did a start event (PostHog's
    /// recurring retention).
    Recurring,
}

/// When a member counts as retained in a bracket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Counting {
    /// Returned within the bracket (bounded retention).
    #[default]
    On,
    /// Returned in the bracket or any later interval (unbounded retention).
    OnOrAfter,
}

/// How intervals are measured from the entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Windows {
    /// Calendar periods in the time zone: interval k is the k-th period after the entry's.
    #[default]
    Calendar,
    /// Rolling windows from the entry instant: 24 hours (day) or 7 × 24 hours (week).
    Rolling,
}

/// Intervals `from` to `to`, both included (`{1,1}`: interval 1; `{2,3}`: intervals 2 and 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Bracket {
    pub from: u32,
    pub to: u32,
}

/// The most brackets (or `intervals` + 1) an answer has.
pub const MAX_BRACKETS: usize = 401;
/// The furthest interval a bracket may reach.
pub const MAX_INTERVAL: u32 = 3660;

/// Checks brackets: each `from ≤ to ≤ MAX_INTERVAL`, in ascending order without overlap.
pub fn check_brackets(brackets: &[Bracket]) -> Result<(), InvalidInput> {
    if brackets.is_empty() || brackets.len() > MAX_BRACKETS {
        return Err(InvalidInput::new(
            "/brackets",
            format!("1 to {MAX_BRACKETS} brackets"),
            format!(
                "brackets lists {}; give 1 to {MAX_BRACKETS}",
                brackets.len()
            ),
        ));
    }
    for (i, b) in brackets.iter().enumerate() {
        if b.from > b.to || b.to > MAX_INTERVAL {
            return Err(InvalidInput::new(
                format!("/brackets/{i}/to"),
                format!("from ≤ to ≤ {MAX_INTERVAL}"),
                format!("brackets[{i}] runs from {} to {}: a bracket runs from an interval to the same or a later one, at most {MAX_INTERVAL}", b.from, b.to),
            ));
        }
        if let Some(previous) = i.checked_sub(1).map(|p| brackets[p]) {
            if b.from <= previous.to {
                return Err(InvalidInput::new(
                    format!("/brackets/{i}"),
                    "brackets in ascending order, without overlap",
                    format!("brackets[{i}] ({}–{}) overlaps or precedes brackets[{}] ({}–{}): each bracket must start after the previous one ends", b.from, b.to, i - 1, previous.from, previous.to),
                ));
            }
        }
    }
    Ok(())
}

/// What to count.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionSettings {
    pub start_event: Option<String>,
    pub return_event: Option<String>,
    pub entry: Entry,
    pub counting: Counting,
    /// The interval unit.
    pub period: Period,
    /// How members are grouped into cohorts.
    pub cohort_by: Period,
    pub windows: Windows,
    pub brackets: Vec<Bracket>,
    pub min_returns: u32,
    pub trend_interval: Option<u32>,
}

/// Members retained of those eligible.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionCell {
    /// Eligible members retained.
    pub count: u64,
    /// Members eligible: those whose bracket had begun by the end of the data.
    pub size: u64,
    /// count / size × 100 (absent when no member is eligible).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
}

impl RetentionCell {
    fn new(count: u64, size: u64) -> Self {
        Self {
            count,
            size,
            share: (size > 0).then(|| count as f64 / size as f64 * 100.0),
        }
    }
}

/// One cohort's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionCohort {
    /// The first day of the cohort's period (`YYYY-MM-DD`; a Monday for weeks).
    pub cohort: String,
    /// Entries into the cohort (customers, or customer-periods with `recurring`).
    pub members: u64,
    /// One cell per bracket.
    pub cells: Vec<RetentionCell>,
}

/// The Day-N trend: one cohort's cell at interval N.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    pub cohort: String,
    pub count: u64,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
}

/// The table for all kept events, or for one segment's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionBlock {
    /// The segment's values by attribute (absent for the total).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub segment: Option<SegmentValues>,
    /// Entries over all cohorts.
    pub members: u64,
    pub cohorts: Vec<RetentionCohort>,
    /// Per bracket: Σ count / Σ size over the cohorts.
    pub average: Vec<RetentionCell>,
    /// Per cohort, its cell at `trend_interval` (when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Vec<TrendPoint>>,
}

/// A bracket as the answer labels it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BracketLabel {
    pub from: u32,
    pub to: u32,
    /// `day 1`, `days 2–3`, `week 4`.
    pub label: String,
}

/// The retention tables: the total, then one per segment, with the definition they follow.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionTable {
    /// The rules the cells were counted by, with the settings filled in.
    pub definition: Vec<String>,
    pub segmenting: Segmenting,
    pub brackets: Vec<BracketLabel>,
    pub total: RetentionBlock,
    pub segments: Vec<RetentionBlock>,
}

/// Counts the retention table of every block of `log`.
///
/// # Formula
///
/// ```text
/// member        = (customer, entry): first_time: its first start event;
///                 recurring: its first start event in each cohort_by period
/// cohort        = the cohort_by period of the entry's local day
/// interval k    = calendar: P(return's day) − P(entry's day), counted when k ≥ 1, or k = 0 and
///                 the return is at or after the entry;  rolling: ⌊(t_return − t_entry) / L⌋, t_return ≥ t_entry
/// retained in b = on: returns with from_b ≤ k ≤ to_b ≥ min_returns;  on_or_after: returns with k ≥ from_b ≥ min_returns
/// eligible in b = calendar: P(entry's day) + from_b ≤ P(last day);  rolling: t_entry + from_b·L ≤ t_last
/// cell          = count: retained eligible members, size: eligible members, share = count / size × 100
/// ```
///
/// with P the `period` index in the time zone and L 24 h (day) or 168 h (week).
pub fn retention_table(
    log: &EventLog,
    read: usize,
    settings: &RetentionSettings,
) -> Result<RetentionTable, InvalidInput> {
    check_brackets(&settings.brackets)?;
    if settings.min_returns == 0 {
        return Err(InvalidInput::new(
            "/min_returns",
            "at least 1",
            "min_returns is 0: a member returns with at least one return event",
        ));
    }
    let window = match (settings.windows, settings.period) {
        (Windows::Calendar, _) => None,
        (Windows::Rolling, Period::Day) => Some(DAY_US),
        (Windows::Rolling, Period::Week) => Some(7 * DAY_US),
        (Windows::Rolling, other) => {
            return Err(InvalidInput::new(
                "/windows",
                "rolling windows of a day or a week",
                format!("rolling windows are 24 hours (period day) or 7 × 24 hours (period week), not a {}: use calendar windows for months", other.name()),
            ))
        }
    };
    if let Some(k) = settings.trend_interval.filter(|&k| k > MAX_INTERVAL) {
        return Err(InvalidInput::new(
            "/trend_interval",
            format!("at most {MAX_INTERVAL}"),
            format!("trend_interval {k} is beyond interval {MAX_INTERVAL}"),
        ));
    }
    let start = log.require_name("/start_event", &settings.start_event)?;
    let ret = log.require_name("/return_event", &settings.return_event)?;
    let mut brackets = settings.brackets.clone();
    if let Some(k) = settings.trend_interval {
        brackets.push(Bracket { from: k, to: k });
    }
    let counter = Counter {
        start,
        ret,
        settings,
        brackets: &brackets,
        window,
        last_period: period_of_day(settings.period, log.last_day),
        last_at: log.last_at,
    };
    let (total, segments) = log.map_blocks(|events, segment| counter.block(events, segment));
    let unit = settings.period.name();
    let brackets = settings
        .brackets
        .iter()
        .map(|b| BracketLabel {
            from: b.from,
            to: b.to,
            label: if b.from == b.to {
                format!("{unit} {}", b.from)
            } else {
                format!("{unit}s {}–{}", b.from, b.to)
            },
        })
        .collect();
    Ok(RetentionTable {
        definition: definition(log, settings),
        segmenting: Segmenting::of(log, read),
        brackets,
        total,
        segments,
    })
}

fn definition(log: &EventLog, s: &RetentionSettings) -> Vec<String> {
    let name = |n: &Option<String>| {
        n.as_ref()
            .map_or("event".to_owned(), |n| format!("{n:?} event"))
    };
    let unit = s.period.name();
    vec![
        match s.entry {
            Entry::FirstTime => format!("member: a customer, from its first {} ever", name(&s.start_event)),
            Entry::Recurring => format!("member: a customer in each {} holding one of its {}s, from the first of them", s.cohort_by.name(), name(&s.start_event)),
        },
        format!("cohort: the {} of the entry, in {}", s.cohort_by.name(), log.zone.name()),
        match s.windows {
            Windows::Calendar => format!("interval k: the calendar {unit} k {unit}s after the entry's ({}); in interval 0 only returns at or after the entry count", log.zone.name()),
            Windows::Rolling => format!("interval k: from entry + k × {} to entry + (k + 1) × {}", if s.period == Period::Week { "168 h" } else { "24 h" }, if s.period == Period::Week { "168 h" } else { "24 h" }),
        },
        match s.counting {
            Counting::On => format!("retained in a bracket: {} or more {}s within its intervals", s.min_returns, name(&s.return_event)),
            Counting::OnOrAfter => format!("retained in a bracket: {} or more {}s in its first interval or any later one", s.min_returns, name(&s.return_event)),
        },
        "size: members whose bracket had begun by the last event of the data; share = count / size × 100".to_owned(),
    ]
}

struct Counter<'a> {
    start: Option<u32>,
    ret: Option<u32>,
    settings: &'a RetentionSettings,
    /// All brackets, the trend's last.
    brackets: &'a [Bracket],
    window: Option<i64>,
    last_period: i64,
    last_at: i64,
}

#[derive(Default)]
struct Acc {
    members: u64,
    cells: Vec<(u64, u64)>,
}

impl Counter<'_> {
    /// A member's returns counted in each bracket (the window, for `on_or_after`, open to
    /// the end): one merge of its returns in the brackets' span with the brackets, which
    /// ascend without overlap; by binary search when the span holds many returns per
    /// bracket, and for the trend's bracket.
    fn member_counts(&self, returns: &[(i64, i64)], p0: i64, t0: i64) -> Vec<u64> {
        let s = self.settings;
        let upper = |to: i64| match s.counting {
            Counting::On => Some(to),
            Counting::OnOrAfter => None,
        };
        let by_search = |b: &Bracket| {
            let (from, to) = (i64::from(b.from), i64::from(b.to));
            match self.window {
                None => count_calendar(returns, p0, t0, from, upper(to)),
                Some(l) => count_rolling(returns, t0, l, from, upper(to)),
            }
        };
        let shown = &self.brackets[..s.brackets.len()];
        let max_to = shown.iter().map(|b| i64::from(b.to)).max().unwrap_or(0);
        // The returns that fall in intervals 0 ..= max_to, sorted by interval.
        let (lo, hi) = match self.window {
            None => {
                let lo = returns.partition_point(|r| r.0 < p0);
                let early = returns[lo..].partition_point(|r| r.0 == p0 && r.1 < t0);
                (lo + early, returns.partition_point(|r| r.0 <= p0 + max_to))
            }
            Some(l) => (
                returns.partition_point(|r| r.1 < t0),
                returns.partition_point(|r| r.1 < t0 + (max_to + 1) * l),
            ),
        };
        let mut counts: Vec<u64> = if hi.saturating_sub(lo) > 8 * shown.len() + 16 {
            shown.iter().map(by_search).collect()
        } else {
            let span = &returns[lo..hi.max(lo)];
            let beyond = (returns.len() - hi.max(lo)) as u64;
            let k = |r: &(i64, i64)| match self.window {
                None => r.0 - p0,
                Some(l) => (r.1 - t0).div_euclid(l),
            };
            let mut j = 0;
            shown
                .iter()
                .map(|b| {
                    let (from, to) = (i64::from(b.from), i64::from(b.to));
                    while j < span.len() && k(&span[j]) < from {
                        j += 1;
                    }
                    let start = j;
                    while j < span.len() && k(&span[j]) <= to {
                        j += 1;
                    }
                    match s.counting {
                        Counting::On => (j - start) as u64,
                        Counting::OnOrAfter => (span.len() - start) as u64 + beyond,
                    }
                })
                .collect()
        };
        counts.extend(self.brackets[shown.len()..].iter().map(by_search));
        counts
    }

    fn block(&self, events: &mut [LoggedEvent], segment: Option<SegmentValues>) -> RetentionBlock {
        let s = self.settings;
        events.sort_unstable_by_key(|e| (e.customer, e.at));
        let mut cohorts: BTreeMap<i64, Acc> = BTreeMap::new();
        // Per customer: its return events as (interval key, instant), sorted.
        let mut returns: Vec<(i64, i64)> = Vec::new();
        let mut entries: Vec<(i64, i64, i64)> = Vec::new(); // (cohort, at, day)
        let mut i = 0;
        let mut polled = 0usize;
        while i < events.len() {
            polled += 1;
            if crate::cancel::stop_at(polled) {
                break;
            }
            let customer = events[i].customer;
            let end = i + events[i..].partition_point(|e| e.customer == customer);
            let mine = &events[i..end];
            i = end;
            returns.clear();
            entries.clear();
            for e in mine {
                if self.ret.is_none_or(|r| r == e.name) {
                    let key = match self.window {
                        None => period_of_day(s.period, e.day),
                        Some(_) => 0,
                    };
                    returns.push((key, e.at));
                }
                if self.start.is_none_or(|st| st == e.name) {
                    entries.push((period_of_day(s.cohort_by, e.day), e.at, e.day));
                }
            }
            if entries.is_empty() {
                continue;
            }
            returns.sort_unstable();
            match s.entry {
                Entry::FirstTime => {
                    let first = *entries.iter().min_by_key(|x| x.1).expect("an entry");
                    entries.clear();
                    entries.push(first);
                }
                Entry::Recurring => {
                    entries.sort_unstable_by_key(|x| (x.0, x.1));
                    entries.dedup_by_key(|x| x.0);
                }
            }
            for &(cohort, t0, day) in &entries {
                let acc = cohorts.entry(cohort).or_insert_with(|| Acc {
                    members: 0,
                    cells: vec![(0, 0); self.brackets.len()],
                });
                acc.members += 1;
                let p0 = period_of_day(s.period, day);
                let counts = self.member_counts(&returns, p0, t0);
                for (b, (bracket, n)) in self.brackets.iter().zip(counts).enumerate() {
                    let from = i64::from(bracket.from);
                    let eligible = match self.window {
                        None => p0 + from <= self.last_period,
                        Some(l) => t0 + from * l <= self.last_at,
                    };
                    if !eligible {
                        continue;
                    }
                    acc.cells[b].1 += 1;
                    if n >= u64::from(s.min_returns) {
                        acc.cells[b].0 += 1;
                    }
                }
            }
        }
        let shown = s.brackets.len();
        let mut average = vec![(0u64, 0u64); shown];
        let mut trend = s.trend_interval.map(|_| Vec::new());
        let mut members = 0;
        let rows = cohorts
            .into_iter()
            .map(|(c, acc)| {
                members += acc.members;
                let label = period_label(s.cohort_by, c);
                for (a, cell) in average.iter_mut().zip(&acc.cells) {
                    a.0 += cell.0;
                    a.1 += cell.1;
                }
                if let Some(trend) = trend.as_mut() {
                    let (count, size) = acc.cells[shown];
                    let cell = RetentionCell::new(count, size);
                    trend.push(TrendPoint {
                        cohort: label.clone(),
                        count,
                        size,
                        share: cell.share,
                    });
                }
                RetentionCohort {
                    cohort: label,
                    members: acc.members,
                    cells: acc.cells[..shown]
                        .iter()
                        .map(|&(count, size)| RetentionCell::new(count, size))
                        .collect(),
                }
            })
            .collect();
        RetentionBlock {
            segment,
            members,
            cohorts: rows,
            average: average
                .into_iter()
                .map(|(count, size)| RetentionCell::new(count, size))
                .collect(),
            trend,
        }
    }
}

/// Returns (sorted by period, then instant) in periods `p0 + from ..= p0 + to` (no upper
/// bound: `None`), leaving out those of the entry's own period before the entry.
fn count_calendar(returns: &[(i64, i64)], p0: i64, t0: i64, from: i64, to: Option<i64>) -> u64 {
    let lo = returns.partition_point(|r| r.0 < p0 + from);
    let hi = match to {
        Some(to) => returns.partition_point(|r| r.0 <= p0 + to),
        None => returns.len(),
    };
    let mut n = hi.saturating_sub(lo) as u64;
    if from == 0 {
        // Returns in the entry's period before the entry instant do not count.
        let early = returns[lo..hi].partition_point(|r| r.0 == p0 && r.1 < t0);
        n -= early as u64;
    }
    n
}

/// Returns (sorted by instant) in `[t0 + from·l, t0 + (to + 1)·l)`.
fn count_rolling(returns: &[(i64, i64)], t0: i64, l: i64, from: i64, to: Option<i64>) -> u64 {
    let lo = returns.partition_point(|r| r.1 < t0 + from * l);
    let hi = match to {
        Some(to) => returns.partition_point(|r| r.1 < t0 + (to + 1) * l),
        None => returns.len(),
    };
    hi.saturating_sub(lo) as u64
}
