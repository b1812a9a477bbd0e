//! Customer summaries for the purchase models: recency–frequency(–monetary) rows, grouped
//! when identical, and built from raw transactions.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::input::{Bounded, NonNegative, WholeCount};
use crate::kpi::InvalidInput;

pub use crate::units::TimeUnit;

/// One customer's summary, checked.
///
/// `frequency` x = repeat purchases (whole, ≥ 0), `recency` t_x = time from the first to the
/// last purchase, `t` T = time from the first purchase to the end of calibration
/// (0 ≤ t_x ≤ T, T > 0, t_x = 0 when x = 0), `monetary_value` = mean amount of the repeat
/// purchases, `count` = how many identical customers the row stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary {
    pub id: Option<String>,
    pub frequency: f64,
    pub recency: f64,
    pub t: f64,
    pub monetary_value: Option<f64>,
    pub count: f64,
}

impl CustomerSummary {
    /// `pointer` is where the row sits in the request (`/customers/12`).
    pub fn new(
        pointer: &str,
        id: Option<String>,
        frequency: f64,
        recency: Option<f64>,
        t: Option<f64>,
        monetary_value: Option<f64>,
        count: f64,
    ) -> Result<Self, InvalidInput> {
        let refuse = |field: &str, reason: &str, detail: String| {
            Err(InvalidInput::new(
                format!("{pointer}/{field}"),
                reason,
                detail,
            ))
        };
        if WholeCount::new(frequency).is_none() {
            return refuse(
                "frequency",
                "must be a whole number, 0 or more",
                format!("{pointer}: frequency {frequency} is not a count of repeat purchases"),
            );
        }
        if WholeCount::new(count).is_none_or(|c| c.get() < 1.0 || c.get() > 9.0e15) {
            return refuse(
                "count",
                "must be a whole number, 1 or more",
                format!("{pointer}: count {count} is not a number of customers"),
            );
        }
        if let Some(m) = monetary_value {
            if NonNegative::new(m).is_none() {
                return refuse(
                    "monetary_value",
                    "must not be negative",
                    format!("{pointer}: monetary_value {m} is negative"),
                );
            }
        }
        let (recency, t) = match (recency, t) {
            (Some(r), Some(t)) => (r, t),
            (None, Some(_)) => {
                return refuse(
                    "recency",
                    "required with T",
                    format!("{pointer}: recency is missing"),
                )
            }
            (Some(_), None) => {
                return refuse(
                    "T",
                    "required with recency",
                    format!("{pointer}: T is missing"),
                )
            }
            // Spend-only rows (Gamma-Gamma) need neither: T is NaN, never read.
            (None, None) => (0.0, f64::NAN),
        };
        if !t.is_nan() {
            if NonNegative::new(t).is_none_or(|t| t.get() == 0.0) {
                return refuse(
                    "T",
                    "must be greater than zero",
                    format!("{pointer}: T {t} leaves no time to observe the customer"),
                );
            }
            if Bounded::new(recency, t).is_none() {
                return refuse(
                    "recency",
                    "must be from 0 to T",
                    format!("{pointer}: recency {recency} must lie between 0 and T ({t})"),
                );
            }
            if frequency == 0.0 && recency != 0.0 {
                return refuse("recency", "must be 0 when frequency is 0", format!("{pointer}: a customer with no repeat purchase has recency 0, not {recency}"));
            }
        }
        Ok(Self {
            id,
            frequency,
            recency,
            t,
            monetary_value,
            count,
        })
    }
}

/// Rows of one frequency: (t_x, T, weight).
pub type Rows = Vec<(f64, f64, f64)>;

/// Identical (x, t_x, T) rows merged, with their weights: the likelihood is evaluated once
/// per distinct row. Grouped further by x, whose terms are shared.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedRfm {
    /// (x, rows of (t_x, T, weight)) in increasing x.
    pub by_frequency: Vec<(f64, Rows)>,
    pub customers: f64,
    pub distinct_rows: usize,
    /// For each frequency group (same order): its distinct T values in increasing order, and
    /// for each of its rows the index of its T among them. Terms that depend on T alone are
    /// evaluated once per distinct T.
    pub t_values: Vec<(Vec<f64>, Vec<u32>)>,
}

impl GroupedRfm {
    pub fn new(rows: &[CustomerSummary]) -> Self {
        // Sorted by (x, t_x, T) and identical neighbours merged: one sort instead of hashing
        // a million keys. Non-negative finite floats order as their bits (−0.0 is made 0.0
        // first); counts are whole numbers below 2^53, so their sums are exact in any order.
        let key = |v: f64| (v + 0.0).to_bits();
        let mut keyed: Vec<(u64, u64, u64, f64)> = rows
            .iter()
            .map(|r| (key(r.frequency), key(r.recency), key(r.t), r.count))
            .collect();
        keyed.sort_unstable_by_key(|k| (k.0, k.1, k.2));
        let mut by_frequency: Vec<(f64, Rows)> = Vec::new();
        let mut distinct_rows = 0;
        for (x, tx, t, w) in keyed {
            let x = f64::from_bits(x);
            if by_frequency.last().is_none_or(|(last, _)| *last != x) {
                by_frequency.push((x, Vec::new()));
            }
            let group = &mut by_frequency.last_mut().expect("pushed above").1;
            let (tx, t) = (f64::from_bits(tx), f64::from_bits(t));
            match group.last_mut() {
                Some(last) if last.0 == tx && last.1 == t => last.2 += w,
                _ => {
                    group.push((tx, t, w));
                    distinct_rows += 1;
                }
            }
        }
        let t_values = by_frequency
            .iter()
            .map(|(_, rows)| {
                let mut ts: Vec<f64> = rows.iter().map(|r| r.1).collect();
                ts.sort_by(f64::total_cmp);
                ts.dedup();
                let index = rows
                    .iter()
                    .map(|r| ts.partition_point(|t| *t < r.1) as u32)
                    .collect();
                (ts, index)
            })
            .collect();
        let customers = rows.iter().map(|r| r.count).sum();
        Self {
            by_frequency,
            customers,
            distinct_rows,
            t_values,
        }
    }

    /// Σ w x and Σ w T, for starting values.
    pub fn totals(&self) -> (f64, f64) {
        let mut sx = 0.0;
        let mut st = 0.0;
        for (x, rows) in &self.by_frequency {
            for &(_, t, w) in rows {
                sx += w * x;
                st += w * t;
            }
        }
        (sx, st)
    }
}

/// One dated purchase.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub customer_id: String,
    pub date: NaiveDate,
    pub amount: f64,
}

/// Parses `YYYY-MM-DD`, naming the field on failure.
pub fn parse_date(pointer: &str, text: &str) -> Result<NaiveDate, InvalidInput> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        // The strict parser tells a day that does not exist (2026-02-30) from a wrong form.
        crate::analytics::periods::parse_day(pointer, text)
            .err()
            .unwrap_or_else(|| {
                InvalidInput::new(
                    pointer,
                    "must be a date YYYY-MM-DD",
                    format!("{pointer}: {text:?} is not a date of the form YYYY-MM-DD"),
                )
            })
    })
}

/// Builds each customer's summary from transactions up to `calibration_end` (inclusive):
/// purchases on one day count as one transaction of their summed amount; x = distinct purchase
/// days − 1; t_x and T in `unit`s from the first purchase; monetary value = mean amount of the
/// repeat purchases (0 when none). Customers whose first purchase falls on or after the
/// calibration end (T = 0) are left out. Rows come out sorted by customer id.
pub fn summarise(
    transactions: &[Transaction],
    calibration_end: NaiveDate,
    unit: TimeUnit,
) -> Vec<CustomerSummary> {
    let mut days: HashMap<&str, HashMap<NaiveDate, f64>> = HashMap::new();
    for tx in transactions.iter().filter(|t| t.date <= calibration_end) {
        *days
            .entry(tx.customer_id.as_str())
            .or_default()
            .entry(tx.date)
            .or_insert(0.0) += tx.amount;
    }
    let mut rows: Vec<CustomerSummary> = days
        .into_iter()
        .map(|(id, by_day)| {
            let mut dates: Vec<(NaiveDate, f64)> = by_day.into_iter().collect();
            dates.sort_by_key(|d| d.0);
            let first = dates[0].0;
            let last = dates[dates.len() - 1].0;
            let span = |to: NaiveDate| (to - first).num_days() as f64 / unit.days();
            let repeats = &dates[1..];
            let monetary = if repeats.is_empty() {
                0.0
            } else {
                repeats.iter().map(|d| d.1).sum::<f64>() / repeats.len() as f64
            };
            CustomerSummary {
                id: Some(id.to_owned()),
                frequency: repeats.len() as f64,
                recency: span(last),
                t: span(calibration_end),
                monetary_value: Some(monetary),
                count: 1.0,
            }
        })
        .filter(|row| row.t > 0.0)
        .collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}
