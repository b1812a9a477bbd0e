//! Calendar periods (UTC dates): ISO weeks starting on Monday, months, quarters, years
//! (docs/formulas.md § 9).

use chrono::{Datelike, NaiveDate};

use crate::kpi::InvalidInput;

/// A calendar period kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarPeriod {
    Week,
    Month,
    Quarter,
    Year,
}

/// A Monday, the origin of week numbers.
fn monday_origin() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 5).expect("a valid date")
}

impl CalendarPeriod {
    /// The index of the period holding `date` (consecutive periods have consecutive indices).
    ///
    /// # Formula
    ///
    /// ```text
    /// week    = ⌊(date − 1970-01-05) / 7 days⌋      (1970-01-05 is a Monday)
    /// month   = 12 × year + (month − 1)
    /// quarter = 4 × year + ⌊(month − 1) / 3⌋
    /// year    = year
    /// ```
    pub fn index(self, date: NaiveDate) -> i64 {
        let (y, m) = (i64::from(date.year()), i64::from(date.month0()));
        match self {
            CalendarPeriod::Week => (date - monday_origin()).num_days().div_euclid(7),
            CalendarPeriod::Month => y * 12 + m,
            CalendarPeriod::Quarter => y * 4 + m / 3,
            CalendarPeriod::Year => y,
        }
    }

    /// The first day of period `index`.
    pub fn start(self, index: i64) -> NaiveDate {
        let ymd = |y: i64, m: i64| {
            NaiveDate::from_ymd_opt(y as i32, m as u32 + 1, 1).unwrap_or(NaiveDate::MAX)
        };
        match self {
            CalendarPeriod::Week => monday_origin() + chrono::Duration::days(index * 7),
            CalendarPeriod::Month => ymd(index.div_euclid(12), index.rem_euclid(12)),
            CalendarPeriod::Quarter => ymd(index.div_euclid(4), index.rem_euclid(4) * 3),
            CalendarPeriod::Year => ymd(index, 0),
        }
    }

    /// The last day of period `index`.
    pub fn end(self, index: i64) -> NaiveDate {
        self.start(index + 1).pred_opt().unwrap_or(NaiveDate::MAX)
    }

    /// A label: `2026-01-05` (the week's Monday), `2026-01`, `2026-Q1`, `2026`.
    pub fn label(self, index: i64) -> String {
        let start = self.start(index);
        match self {
            CalendarPeriod::Week => start.format("%Y-%m-%d").to_string(),
            CalendarPeriod::Month => start.format("%Y-%m").to_string(),
            CalendarPeriod::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
            CalendarPeriod::Year => start.year().to_string(),
        }
    }
}

/// Parses `YYYY-MM-DD` quickly (the hot path of a million rows), naming the field on failure.
pub fn parse_day(pointer: &str, text: &str) -> Result<NaiveDate, InvalidInput> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r.clone())?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let parsed = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        match (digits(0..4), digits(5..7), digits(8..10)) {
            (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d),
            _ => None,
        }
    } else {
        None
    };
    parsed.ok_or_else(|| {
        InvalidInput::new(
            pointer,
            "must be a date YYYY-MM-DD",
            format!("{pointer}: {text:?} is not a date of the form YYYY-MM-DD"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        parse_day("", s).unwrap()
    }

    #[test]
    fn periods_are_calendar_aligned() {
        let p = CalendarPeriod::Week;
        let i = p.index(day("2026-11-23")); // a Monday
        assert_eq!(p.start(i), day("2026-11-23"));
        assert_eq!(p.index(day("2026-11-29")), i);
        assert_eq!(p.index(day("2026-11-30")), i + 1);
        let q = CalendarPeriod::Quarter;
        assert_eq!(q.label(q.index(day("2026-08-15"))), "2026-Q3");
        assert_eq!(q.end(q.index(day("2026-08-15"))), day("2026-09-30"));
        let m = CalendarPeriod::Month;
        assert_eq!(m.index(day("2026-01-01")) - m.index(day("2025-12-31")), 1);
        assert_eq!(m.end(m.index(day("2024-02-10"))), day("2024-02-29"));
        assert!(parse_day("", "2026-02-30").is_err());
        assert!(parse_day("", "26-02-03").is_err());
    }
}
