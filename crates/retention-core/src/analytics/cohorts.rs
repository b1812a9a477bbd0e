//! Cohort retention tables from activity events (orders, logins) (docs/formulas.md § 10).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::kpi::confidence::wilson;
use crate::kpi::engagement::{repeat_purchase_rate, Share};
use crate::kpi::{Bounds, Confidence, IntervalMethod, InvalidInput, Kpi};
use crate::units::Period;

/// One activity: a customer active on a date, with an optional amount.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub customer: usize,
    pub date: NaiveDate,
    pub amount: Option<f64>,
}

/// Activities as read: customers interned as they come, attributes column by column, and
/// the first row refused (a negative amount, then a date that is not one), so that no string
/// is kept per activity.
#[derive(Debug, Clone, Default)]
pub struct Activities {
    pub ids: super::series::Interner,
    pub activities: Vec<Activity>,
    pub attributes: super::events::AttributeColumns,
    /// The first row refused, named by its pointer (`/events/3/date`).
    pub refused: Option<InvalidInput>,
}

impl Activities {
    pub fn len(&self) -> usize {
        self.activities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.activities.is_empty()
    }

    /// Appends the next row: its customer's index, its date as read (a refusal names
    /// `/events/{row}/date`) and its amount (a negative one is refused).
    pub fn push(
        &mut self,
        customer: usize,
        date: Result<NaiveDate, InvalidInput>,
        amount: Option<f64>,
    ) {
        let row = self.activities.len();
        let amount = amount.and_then(|a| {
            let checked = crate::input::NonNegative::new(a).map(crate::input::NonNegative::get);
            if checked.is_none() {
                self.refuse(InvalidInput::new(
                    format!("/events/{row}/amount"),
                    "must not be negative",
                    format!("events[{row}].amount {a} is negative"),
                ));
            }
            checked
        });
        let date = date.unwrap_or_else(|refusal| {
            self.refuse(refusal);
            NaiveDate::MIN
        });
        self.activities.push(Activity {
            customer,
            date,
            amount,
        });
    }

    /// Appends a row given as text (a CSV row's cells).
    pub fn push_text(&mut self, customer: &str, date: &str, amount: Option<f64>) {
        let row = self.activities.len();
        let customer = self.ids.index(customer);
        let date = super::periods::parse_day_with(|| format!("/events/{row}/date"), date);
        self.push(customer, date, amount);
    }

    fn refuse(&mut self, refusal: InvalidInput) {
        if self.refused.is_none() {
            self.refused = Some(refusal);
        }
    }
}

/// How a customer counts as retained at an offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Retention {
    /// Active in that very period.
    #[default]
    Bounded,
    /// Active in that period or any later one.
    Unbounded,
}

/// One cohort's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cohort {
    /// The period of the cohort's first activity.
    pub cohort: String,
    /// Customers whose first activity falls in it.
    pub size: u64,
    /// Customers retained at offsets 0, 1, 2, … (to the last period of the data).
    pub counts: Vec<u64>,
    /// counts / size × 100.
    pub shares: Vec<f64>,
    /// The Wilson score interval of each share, at the table's `intervals` level.
    pub share_intervals: Vec<Bounds>,
    /// Revenue at each offset, when amounts were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue: Option<Vec<f64>>,
    /// revenue / revenue at offset 0 × 100, when amounts were given and offset 0 had revenue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_retention: Option<Vec<f64>>,
}

/// The cohort table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CohortTable {
    pub cohorts: Vec<Cohort>,
    /// Size-weighted average share at each offset, over the cohorts old enough to have it:
    /// Σ counts_k / Σ sizes × 100.
    pub average_curve: Vec<f64>,
    /// The Wilson score interval of each average-curve point (Σ counts_k of Σ sizes).
    pub average_curve_intervals: Vec<Bounds>,
    /// The method and level of `share_intervals` and `average_curve_intervals`.
    pub intervals: IntervalMethod,
    /// Customers with two or more activities of those with at least one, as `/loyalty`.
    pub repeat_purchase_rate: Kpi,
    pub customers: u64,
}

/// The cohort table of all activities kept, and with `group_by` one per segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CohortsAnswer {
    /// The total's table.
    #[serde(flatten)]
    pub table: CohortTable,
    /// With `group_by`: each segment's table, on the segment's activities alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<CohortSegment>>,
}

/// One segment's cohort table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CohortSegment {
    /// The segment's values by attribute.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub segment: super::events::SegmentValues,
    #[serde(flatten)]
    pub table: CohortTable,
}

/// The cohort tables of `activities` split by `segments` (the rows' filter and segments, in
/// the activities' order): the kept activities' table, and with `group_by` each segment's,
/// counted on the segment's activities alone (a customer's cohort in a segment is the period
/// of its first activity there).
pub fn segmented_cohort_tables(
    activities: &[Activity],
    customers: usize,
    segments: &super::events::Segments,
    period: Period,
    retention: Retention,
    confidence: Confidence,
) -> Result<CohortsAnswer, InvalidInput> {
    if segments.is_trivial() {
        return Ok(CohortsAnswer {
            table: cohort_table(activities, customers, period, retention, confidence)?,
            segments: None,
        });
    }
    let (table, blocks) = segments.map_blocks(activities, |rows, segment| {
        let rows: Vec<Activity> = rows.into_iter().cloned().collect();
        let table = cohort_table(&rows, customers, period, retention, confidence)?;
        Ok((segment, table))
    })?;
    Ok(CohortsAnswer {
        table: table.1,
        segments: (!segments.group_by.is_empty()).then(|| {
            blocks
                .into_iter()
                .map(|(segment, table)| CohortSegment {
                    segment: segment.unwrap_or_default(),
                    table,
                })
                .collect()
        }),
    })
}

/// Builds the table. Offsets run to the period of the latest activity in the data.
///
/// # Formula
///
/// ```text
/// size_c                   = customers whose first activity falls in period c
/// count_{c,k}  (bounded)   = customers of cohort c active in period c + k
/// count_{c,k}  (unbounded) = customers of cohort c active in period c + k or any later one
/// share_{c,k} (%)          = count_{c,k} / size_c × 100
/// revenue retention (%)    = revenue_{c,k} / revenue_{c,0} × 100        (when revenue_{c,0} > 0)
/// average curve_k (%)      = Σ_c count_{c,k} / Σ_c size_c × 100
/// repeat purchase rate (%) = customers with ≥ 2 activities / customers with ≥ 1 × 100
/// ```
///
/// Each share, each average-curve point and the repeat purchase rate carry the Wilson score
/// interval of their count over their base at `confidence` (docs/formulas.md § 13).
///
/// where a customer's cohort c is the period of its first activity, k the offset in periods
/// from it, revenue_{c,k} the sum of the amounts of cohort c's customers in period c + k, and
/// the average curve sums over the cohorts old enough to have offset k. Units: counts,
/// percent, currency for revenue. Source: docs/formulas.md § 10 (the repeat purchase rate as
/// § 6).
pub fn cohort_table(
    activities: &[Activity],
    customers: usize,
    period: Period,
    retention: Retention,
    confidence: Confidence,
) -> Result<CohortTable, InvalidInput> {
    if activities.is_empty() {
        return Err(InvalidInput::new(
            "/events",
            "must not be empty",
            "events is empty: a cohort table needs at least one activity",
        ));
    }
    let index: Vec<i64> = activities.iter().map(|a| period.index(a.date)).collect();
    let last = index.iter().copied().max().unwrap_or(0);
    // Per customer: first period and activity count.
    let mut first = vec![i64::MAX; customers];
    let mut events = vec![0u64; customers];
    for (i, (a, &p)) in activities.iter().zip(&index).enumerate() {
        // An abandoned request's answer is never sent: stop (http::work answers time-limit).
        if crate::cancel::stop_at(i) {
            break;
        }
        first[a.customer] = first[a.customer].min(p);
        events[a.customer] += 1;
    }
    let p0 = first.iter().copied().min().unwrap_or(last);
    let cohorts_n = within_max_periods(p0, last)?;
    let width = |c: usize| cohorts_n - c; // offsets of cohort c
    let mut counts: Vec<Vec<u64>> = (0..cohorts_n).map(|c| vec![0; width(c)]).collect();
    let mut revenue: Vec<Vec<f64>> = (0..cohorts_n).map(|c| vec![0.0; width(c)]).collect();
    let mut sizes = vec![0u64; cohorts_n];
    let with_amounts = activities.iter().any(|a| a.amount.is_some());
    // Distinct (customer, offset) pairs, and each customer's last offset.
    // Offsets below 64 (every table of up to 64 periods) as a bit mask per customer; longer
    // tables as (customer, offset) pairs, sorted and deduplicated.
    let narrow = cohorts_n <= 64;
    let mut masks = vec![0u64; if narrow { customers } else { 0 }];
    let mut active: Vec<(usize, usize)> =
        Vec::with_capacity(if narrow { 0 } else { activities.len() });
    let mut last_offset = vec![0usize; customers];
    for (i, (a, &p)) in activities.iter().zip(&index).enumerate() {
        // An abandoned request's answer is never sent: stop (http::work answers time-limit).
        if crate::cancel::stop_at(i) {
            break;
        }
        let c = (first[a.customer] - p0) as usize;
        let offset = (p - first[a.customer]) as usize;
        if narrow {
            masks[a.customer] |= 1 << offset;
        } else {
            active.push((a.customer, offset));
        }
        last_offset[a.customer] = last_offset[a.customer].max(offset);
        if let Some(amount) = a.amount {
            revenue[c][offset] += amount;
        }
    }
    for &f in first.iter().filter(|&&f| f != i64::MAX) {
        sizes[(f - p0) as usize] += 1;
    }
    let seen = if narrow {
        Seen::Masks(masks)
    } else {
        Seen::Pairs(active)
    };
    count_retained(retention, seen, &first, &last_offset, p0, &mut counts);
    let buyers = first.iter().filter(|&&f| f != i64::MAX).count() as u64;
    let repeaters = events.iter().filter(|&&n| n >= 2).count() as u64;
    finish(
        period,
        p0,
        (&sizes, &counts, &revenue),
        with_amounts,
        (buyers, repeaters),
        confidence,
    )
}

/// The table from its counts: rows, average curve, and the repeat purchase rate of
/// `repeaters` (customers with two or more activities) among `buyers`.
fn finish(
    period: Period,
    p0: i64,
    cells: (&[u64], &[Vec<u64>], &[Vec<f64>]),
    with_amounts: bool,
    (buyers, repeaters): (u64, u64),
    confidence: Confidence,
) -> Result<CohortTable, InvalidInput> {
    let (table, average_curve, average_curve_intervals) =
        rows(period, p0, cells, with_amounts, confidence);
    let repeat = repeat_purchase_rate(
        Share::new("repeat_customers", repeaters, "customers", buyers)?,
        confidence,
    )
    .note("Counts activities (events) per customer: two or more make a repeat customer.");
    Ok(CohortTable {
        cohorts: table,
        average_curve,
        average_curve_intervals,
        intervals: IntervalMethod::wilson(confidence),
        repeat_purchase_rate: repeat,
        customers: buyers,
    })
}

/// One cell of a cohort summary: what one GROUP BY (cohort, offset) over an activity table
/// gives, additive over any split of the customers (shards add up cell by cell).
#[derive(Debug, Clone, PartialEq)]
pub struct CohortCell {
    /// The first day of the cohort's period (a Monday for weeks).
    pub cohort: NaiveDate,
    /// Periods from the cohort's period to the activity's.
    pub offset: u32,
    /// Customers of the cohort active at this offset.
    pub active: u64,
    /// Of them, those whose last activity falls at this offset.
    pub last_active: u64,
    /// Customers of the cohort whose second activity falls at this offset.
    pub second_activity: u64,
    /// The amounts of the cohort's activities at this offset.
    pub amount: Option<f64>,
}

/// The cohort table from a summary (`collection` names it in refusals), the same table as the
/// activities it summarises give to [`cohort_table`].
///
/// # Formula
///
/// ```text
/// size_c                   = active_{c,0}
/// count_{c,k}  (bounded)   = active_{c,k}
/// count_{c,k}  (unbounded) = Σ_{j ≥ k} last_active_{c,j}   (customers whose last activity is at k or later)
/// repeat customers         = Σ second_activity              (customers with a second activity)
/// revenue_{c,k}            = amount_{c,k}
/// ```
///
/// Cells of the same cohort and offset add up. A cohort's cells must agree with one another:
/// its customers active at offset 0 are its size, no offset has more active customers, and
/// each customer's last activity falls at exactly one offset (Σ last_active = size).
pub fn cohort_table_from_cells(
    cells: &[CohortCell],
    collection: &str,
    period: Period,
    retention: Retention,
    confidence: Confidence,
) -> Result<CohortTable, InvalidInput> {
    if cells.is_empty() {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            "must not be empty",
            format!("{collection} is empty: a cohort table needs at least one cell"),
        ));
    }
    let mut index = Vec::with_capacity(cells.len());
    for (i, cell) in cells.iter().enumerate() {
        let c = super::periods::period_starting(
            &format!("/{collection}/{i}/cohort"),
            cell.cohort,
            period,
        )?;
        let bad = |field: &str, why: String| {
            Err(InvalidInput::new(
                format!("/{collection}/{i}/{field}"),
                "consistent counts",
                format!("{collection}[{i}]: {why}"),
            ))
        };
        for (field, count) in [
            ("active", cell.active),
            ("last_active", cell.last_active),
            ("second_activity", cell.second_activity),
        ] {
            super::check_summary_count(format!("/{collection}/{i}/{field}"), count)?;
        }
        if cell.last_active > cell.active {
            return bad("last_active", format!("last_active {} is more than active {}: a customer whose last activity falls at an offset is active at it", cell.last_active, cell.active));
        }
        if cell.second_activity > cell.active {
            return bad("second_activity", format!("second_activity {} is more than active {}: a customer whose second activity falls at an offset is active at it", cell.second_activity, cell.active));
        }
        if i64::from(cell.offset) >= super::series::MAX_PERIODS {
            return bad(
                "offset",
                format!(
                    "offset {} is beyond the {} periods a table holds",
                    cell.offset,
                    super::series::MAX_PERIODS
                ),
            );
        }
        index.push(c);
    }
    let p0 = index.iter().copied().min().unwrap_or(0);
    let last = cells
        .iter()
        .zip(&index)
        .map(|(cell, &c)| c + i64::from(cell.offset))
        .max()
        .unwrap_or(p0);
    let cohorts_n = within_max_periods(p0, last)?;
    let width = |c: usize| cohorts_n - c;
    let mut active: Vec<Vec<u64>> = (0..cohorts_n).map(|c| vec![0; width(c)]).collect();
    let mut last_active: Vec<Vec<u64>> = (0..cohorts_n).map(|c| vec![0; width(c)]).collect();
    let mut revenue: Vec<Vec<f64>> = (0..cohorts_n).map(|c| vec![0.0; width(c)]).collect();
    let mut second = vec![0u64; cohorts_n];
    // The first row of each cohort, to name in a refusal.
    let mut first_row = vec![usize::MAX; cohorts_n];
    for (i, (cell, &c)) in cells.iter().zip(&index).enumerate() {
        let c = (c - p0) as usize;
        let k = cell.offset as usize;
        first_row[c] = first_row[c].min(i);
        active[c][k] = active[c][k].saturating_add(cell.active);
        last_active[c][k] = last_active[c][k].saturating_add(cell.last_active);
        second[c] = second[c].saturating_add(cell.second_activity);
        if let Some(amount) = cell.amount {
            revenue[c][k] += amount;
        }
    }
    let sizes: Vec<u64> = active.iter().map(|row| row[0]).collect();
    for c in 0..cohorts_n {
        let i = first_row[c];
        if i == usize::MAX {
            continue;
        }
        let label = period.start(p0 + c as i64);
        let refuse = |field: &str, why: String| {
            Err(InvalidInput::new(
                format!("/{collection}/{i}/{field}"),
                "consistent counts",
                format!("cohort {label}: {why}"),
            ))
        };
        let size = sizes[c];
        if size == 0 {
            return refuse("active", "no customer is active at offset 0: a cohort's customers are those active in its first period, so its size is its offset-0 active count".to_owned());
        }
        if let Some(k) = active[c].iter().position(|&n| n > size) {
            return refuse(
                "active",
                format!(
                    "{} customers active at offset {k}, more than the cohort's {size}",
                    active[c][k]
                ),
            );
        }
        let lasts: u64 = last_active[c].iter().sum();
        if lasts != size {
            return refuse("last_active", format!("last_active sums to {lasts} over the cohort's offsets, not its size {size}: each customer's last activity falls at exactly one offset"));
        }
        if second[c] > size {
            return refuse(
                "second_activity",
                format!(
                    "second_activity sums to {}, more than the cohort's {size} customers",
                    second[c]
                ),
            );
        }
    }
    let counts: Vec<Vec<u64>> = match retention {
        Retention::Bounded => active,
        Retention::Unbounded => last_active
            .iter()
            .map(|row| {
                let mut later = 0u64;
                let mut suffix: Vec<u64> = row
                    .iter()
                    .rev()
                    .map(|&n| {
                        later += n;
                        later
                    })
                    .collect();
                suffix.reverse();
                suffix
            })
            .collect(),
    };
    let buyers = sizes.iter().sum();
    let repeaters = second.iter().sum();
    let with_amounts = cells.iter().any(|c| c.amount.is_some());
    finish(
        period,
        p0,
        (&sizes, &counts, &revenue),
        with_amounts,
        (buyers, repeaters),
        confidence,
    )
}

/// The number of periods from `p0` to `last`, refused beyond [`super::series::MAX_PERIODS`].
fn within_max_periods(p0: i64, last: i64) -> Result<usize, InvalidInput> {
    let n = last - p0 + 1;
    if n > super::series::MAX_PERIODS {
        return Err(InvalidInput::new(
            "/period",
            "too many periods",
            format!(
                "the data spans {n} periods; the most is {}: choose a longer period",
                super::series::MAX_PERIODS
            ),
        ));
    }
    Ok(n as usize)
}

/// Which offsets each customer was active at: a bit mask per customer (tables of up to 64
/// periods), or sorted (customer, offset) pairs.
enum Seen {
    Masks(Vec<u64>),
    Pairs(Vec<(usize, usize)>),
}

/// Counts each cohort's customers retained at each offset: active in that very period
/// (bounded), or then or later (unbounded: up to the customer's last active offset).
fn count_retained(
    retention: Retention,
    seen: Seen,
    first: &[i64],
    last_offset: &[usize],
    p0: i64,
    counts: &mut [Vec<u64>],
) {
    match (retention, seen) {
        (Retention::Bounded, Seen::Masks(masks)) => {
            for (customer, &mask) in masks.iter().enumerate() {
                let row = first[customer];
                if row == i64::MAX {
                    continue;
                }
                let row = &mut counts[(row - p0) as usize];
                let mut bits = mask;
                while bits != 0 {
                    row[bits.trailing_zeros() as usize] += 1;
                    bits &= bits - 1;
                }
            }
        }
        (Retention::Bounded, Seen::Pairs(mut active)) => {
            active.sort_unstable();
            active.dedup();
            for (customer, offset) in active {
                counts[(first[customer] - p0) as usize][offset] += 1;
            }
        }
        (Retention::Unbounded, _) => {
            for (customer, &f) in first.iter().enumerate() {
                if f == i64::MAX {
                    continue;
                }
                let row = &mut counts[(f - p0) as usize];
                for count in row.iter_mut().take(last_offset[customer] + 1) {
                    *count += 1;
                }
            }
        }
    }
}

/// The table's rows (cohorts without customers left out), the size-weighted average curve
/// and its intervals.
fn rows(
    period: Period,
    p0: i64,
    (sizes, counts, revenue): (&[u64], &[Vec<u64>], &[Vec<f64>]),
    with_amounts: bool,
    confidence: Confidence,
) -> (Vec<Cohort>, Vec<f64>, Vec<Bounds>) {
    let cohorts_n = sizes.len();
    let mut table = Vec::new();
    let mut weighted = vec![(0u64, 0u64); cohorts_n];
    for c in 0..cohorts_n {
        if sizes[c] == 0 {
            continue;
        }
        for (k, &count) in counts[c].iter().enumerate() {
            weighted[k].0 += count;
            weighted[k].1 += sizes[c];
        }
        let shares = counts[c]
            .iter()
            .map(|&n| n as f64 / sizes[c] as f64 * 100.0)
            .collect();
        let share_intervals = counts[c]
            .iter()
            .map(|&n| Bounds::from(&wilson(n, sizes[c], confidence)))
            .collect();
        let (rev, rev_ret) = if with_amounts {
            let base = revenue[c][0];
            let retention =
                (base > 0.0).then(|| revenue[c].iter().map(|r| r / base * 100.0).collect());
            (Some(revenue[c].clone()), retention)
        } else {
            (None, None)
        };
        table.push(Cohort {
            cohort: period.label(p0 + c as i64),
            size: sizes[c],
            counts: counts[c].clone(),
            shares,
            share_intervals,
            revenue: rev,
            revenue_retention: rev_ret,
        });
    }
    let pooled = weighted.iter().filter(|w| w.1 > 0);
    let average_curve = pooled
        .clone()
        .map(|&(n, s)| n as f64 / s as f64 * 100.0)
        .collect();
    let intervals = pooled
        .map(|&(n, s)| Bounds::from(&wilson(n, s, confidence)))
        .collect();
    (table, average_curve, intervals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::periods::parse_day;

    fn act(customer: usize, date: &str) -> Activity {
        Activity {
            customer,
            date: parse_day("", date).unwrap(),
            amount: Some(10.0),
        }
    }

    #[test]
    fn bounded_and_unbounded_retention_differ_by_gaps() {
        // Customer 0: Jan, Mar. Customer 1: Jan. Customer 2: Feb, Feb.
        let a = vec![
            act(0, "2026-01-05"),
            act(0, "2026-03-02"),
            act(1, "2026-01-20"),
            act(2, "2026-02-01"),
            act(2, "2026-02-09"),
        ];
        let bounded = cohort_table(
            &a,
            3,
            Period::Month,
            Retention::Bounded,
            Confidence::default(),
        )
        .unwrap();
        assert_eq!(bounded.cohorts[0].counts, vec![2, 0, 1]);
        assert_eq!(bounded.cohorts[1].counts, vec![1, 0]);
        let unbounded = cohort_table(
            &a,
            3,
            Period::Month,
            Retention::Unbounded,
            Confidence::default(),
        )
        .unwrap();
        assert_eq!(unbounded.cohorts[0].counts, vec![2, 1, 1]);
        // Offset 1: (0 + 0) / (2 + 1) bounded.
        assert_eq!(bounded.average_curve[1], 0.0);
        assert!((bounded.repeat_purchase_rate.value - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(
            bounded.cohorts[0].revenue_retention.as_ref().unwrap()[2],
            50.0
        );
    }

    #[test]
    fn tables_longer_than_64_periods_count_the_same_way() {
        // 90 weekly periods: the pair-sorting path. Customer c is active in weeks c, c + 3, c + 80.
        let start = parse_day("", "2026-01-05").unwrap();
        let mut a = Vec::new();
        for c in 0..5usize {
            for w in [c, c + 3, c + 80] {
                let date = start + chrono::Duration::days(7 * w as i64);
                a.push(Activity {
                    customer: c,
                    date,
                    amount: None,
                });
                a.push(Activity {
                    customer: c,
                    date,
                    amount: None,
                });
            }
        }
        let table = cohort_table(
            &a,
            5,
            Period::Week,
            Retention::Bounded,
            Confidence::default(),
        )
        .unwrap();
        assert_eq!(table.cohorts.len(), 5);
        for cohort in &table.cohorts {
            assert_eq!(cohort.size, 1);
            for (k, &n) in cohort.counts.iter().enumerate() {
                assert_eq!(n, u64::from(k == 0 || k == 3 || k == 80), "offset {k}");
            }
        }
    }
}
