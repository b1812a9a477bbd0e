//! Lifecycle (`POST /lifecycle`): per period the customers who are new, returning,
//! resurrecting and dormant, as PostHog defines them, and the transitions between those
//! states (docs/formulas.md § 20.3).

use serde::Serialize;

use super::events::{
    period_label, period_of_day, EventLog, LoggedEvent, SegmentValues, Segmenting,
};
use crate::kpi::InvalidInput;
use crate::units::Period;

/// The most periods a lifecycle or stickiness answer spans.
pub const MAX_PERIODS: i64 = 3660;

/// A customer's state in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// First active in this period.
    New,
    /// Active in this period and the previous one.
    Returning,
    /// Active in this period, not the previous one, and some earlier one.
    Resurrecting,
    /// Active in the previous period, not this one.
    Dormant,
    /// Active in neither this nor the previous period, but some earlier one.
    Lapsed,
}

const STATES: [State; 5] = [
    State::New,
    State::Returning,
    State::Resurrecting,
    State::Dormant,
    State::Lapsed,
];

/// One period's counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LifecyclePeriod {
    /// The first day of the period (`YYYY-MM-DD`; a Monday for weeks).
    pub period: String,
    pub new: u64,
    pub returning: u64,
    pub resurrecting: u64,
    /// Customers active in the previous period and not in this one, as a negative number (as
    /// PostHog plots it).
    pub dormant: i64,
    /// new + returning + resurrecting.
    pub active: u64,
    /// (new + resurrecting) / |dormant|: above 1 the active base grows (absent without dormant
    /// customers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quick_ratio: Option<f64>,
}

/// Customers moving from one state to another between consecutive periods.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub count: u64,
}

/// The lifecycle of all kept events, or of one segment's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LifecycleBlock {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub segment: Option<SegmentValues>,
    /// Customers with at least one event.
    pub customers: u64,
    pub periods: Vec<LifecyclePeriod>,
    /// Every nonzero transition summed over the periods, in state order.
    pub transitions: Vec<Transition>,
}

/// The lifecycle: the total, then one block per segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lifecycle {
    pub definition: Vec<String>,
    pub segmenting: Segmenting,
    pub period: Period,
    pub total: LifecycleBlock,
    pub segments: Vec<LifecycleBlock>,
}

/// Refuses a span of more than [`MAX_PERIODS`] periods (`field`: the setting to change).
pub fn check_span(
    first: i64,
    last: i64,
    period: Period,
    field: &str,
) -> Result<usize, InvalidInput> {
    let n = last - first + 1;
    if n > MAX_PERIODS {
        return Err(InvalidInput::new(
            field,
            format!("at most {MAX_PERIODS} periods"),
            format!("the events span {n} {}s; an answer spans at most {MAX_PERIODS}: send a shorter range of events, or a longer period", period.name()),
        ));
    }
    Ok(n as usize)
}

/// The lifecycle of every block of `log` by `period`.
///
/// # Formula
///
/// ```text
/// A            = {(c, p): customer c has an event in period p}      f(c) = its first period
/// new_p        = #{c: f(c) = p}
/// returning_p  = #{c: (c,p) ∈ A, (c,p−1) ∈ A}
/// resurrecting_p = #{c: (c,p) ∈ A, (c,p−1) ∉ A, f(c) < p}
/// dormant_p    = −#{c: (c,p−1) ∈ A, (c,p) ∉ A}
/// quick ratio  = (new + resurrecting) / |dormant|
/// ```
///
/// Periods run from the first to the last period of all kept events, in every block; the
/// transitions count each customer's state change from each period to the next, from its
/// first period to the last.
pub fn lifecycle(log: &EventLog, read: usize, period: Period) -> Result<Lifecycle, InvalidInput> {
    let first = period_of_day(period, log.first_day);
    let last = period_of_day(period, log.last_day);
    let n = check_span(first, last, period, "/period")?;
    let (total, segments) =
        log.map_blocks(|events, segment| block(events, segment, period, first, n));
    Ok(Lifecycle {
        definition: vec![
            format!("period: the calendar {} in {}", period.name(), log.zone.name()),
            "new: first active in the period; returning: active in it and the previous one; resurrecting: active in it, not the previous one, but earlier; dormant: active in the previous period, not this one (negative)".to_owned(),
            "transitions: each customer's state in each period from its first to the last, counted from one period to the next; lapsed: inactive in the period and the previous one".to_owned(),
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
) -> LifecycleBlock {
    let mut active: Vec<(u32, i64)> = events
        .iter()
        .map(|e| (e.customer, period_of_day(period, e.day) - first))
        .collect();
    active.sort_unstable();
    active.dedup();
    let last = n as i64 - 1;
    let (mut new, mut returning, mut resurrecting, mut dormant) =
        (vec![0u64; n], vec![0u64; n], vec![0u64; n], vec![0u64; n]);
    let mut moves = [[0u64; 5]; 5];
    let mut add = |from: State, to: State, k: u64| moves[from as usize][to as usize] += k;
    let mut customers = 0;
    let mut i = 0;
    while i < active.len() {
        if crate::cancel::stop_at(customers) {
            break;
        }
        customers += 1;
        let c = active[i].0;
        let end = i + active[i..].partition_point(|a| a.0 == c);
        let periods = &active[i..end];
        i = end;
        new[periods[0].1 as usize] += 1;
        let mut state = State::New;
        for w in periods.windows(2) {
            let (a, b) = (w[0].1, w[1].1);
            if b == a + 1 {
                returning[b as usize] += 1;
                add(state, State::Returning, 1);
                state = State::Returning;
            } else {
                dormant[(a + 1) as usize] += 1;
                resurrecting[b as usize] += 1;
                add(state, State::Dormant, 1);
                let gap = b - a;
                if gap == 2 {
                    add(State::Dormant, State::Resurrecting, 1);
                } else {
                    add(State::Dormant, State::Lapsed, 1);
                    add(State::Lapsed, State::Lapsed, (gap - 3) as u64);
                    add(State::Lapsed, State::Resurrecting, 1);
                }
                state = State::Resurrecting;
            }
        }
        let a = periods[periods.len() - 1].1;
        if a < last {
            dormant[(a + 1) as usize] += 1;
            add(state, State::Dormant, 1);
            let rest = last - a - 1;
            if rest >= 1 {
                add(State::Dormant, State::Lapsed, 1);
                add(State::Lapsed, State::Lapsed, (rest - 1) as u64);
            }
        }
    }
    let periods = (0..n)
        .map(|k| {
            let gained = new[k] + resurrecting[k];
            LifecyclePeriod {
                period: period_label(period, first + k as i64),
                new: new[k],
                returning: returning[k],
                resurrecting: resurrecting[k],
                dormant: -(dormant[k] as i64),
                active: new[k] + returning[k] + resurrecting[k],
                quick_ratio: (dormant[k] > 0).then(|| gained as f64 / dormant[k] as f64),
            }
        })
        .collect();
    let transitions = STATES
        .iter()
        .flat_map(|&from| STATES.iter().map(move |&to| (from, to)))
        .filter(|&(from, to)| moves[from as usize][to as usize] > 0)
        .map(|(from, to)| Transition {
            from,
            to,
            count: moves[from as usize][to as usize],
        })
        .collect();
    LifecycleBlock {
        segment,
        customers: customers as u64,
        periods,
        transitions,
    }
}
