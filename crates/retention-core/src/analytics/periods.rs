//! Calendar periods (UTC dates): ISO weeks starting on Monday, months, quarters, years
//! (docs/formulas.md § 9).

use chrono::NaiveDate;

use crate::kpi::InvalidInput;
use crate::units::Period;

/// Parses `YYYY-MM-DD` quickly (the hot path of a million rows), naming the field on failure.
pub fn parse_day(pointer: &str, text: &str) -> Result<NaiveDate, InvalidInput> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r.clone())?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let fields = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        match (digits(0..4), digits(5..7), digits(8..10)) {
            (Some(y), Some(m), Some(d)) => Some((y as i32, m, d)),
            _ => None,
        }
    } else {
        None
    };
    match fields {
        Some((y, m, d)) => {
            NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| no_such_day(pointer, text, y, m))
        }
        None => Err(InvalidInput::new(
            pointer,
            "must be a date YYYY-MM-DD",
            format!("{pointer}: {text:?} is not a date of the form YYYY-MM-DD"),
        )),
    }
}

/// [`parse_day`] with the pointer built only when the text is refused: the hot path of a
/// million rows formats no pointer.
pub fn parse_day_with(
    pointer: impl FnOnce() -> String,
    text: &str,
) -> Result<NaiveDate, InvalidInput> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        if let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) {
            if let Some(day) = NaiveDate::from_ymd_opt(y as i32, m, d) {
                return Ok(day);
            }
        }
    }
    parse_day(&pointer(), text)
}

/// The refusal of a date of the right form that no calendar has (2026-02-30, 2026-13-01):
/// says so, and how many days the month has.
pub fn no_such_day(pointer: &str, text: &str, year: i32, month: u32) -> InvalidInput {
    let days = NaiveDate::from_ymd_opt(year, month, 1).and_then(|first| {
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }?;
        Some(next.signed_duration_since(first).num_days())
    });
    let why = match days {
        Some(days) => format!("{year}-{month:02} has {days} days"),
        None => format!("there is no month {month}"),
    };
    InvalidInput::new(
        pointer,
        "must be a date that exists",
        format!("{pointer}: {text:?} has the form YYYY-MM-DD but no such day exists: {why}"),
    )
}

/// The index of the period that `day` starts, refusing a day inside a period: a summary's
/// rows are keyed by the period's first day (a Monday for weeks). `field` names the row's
/// field (`/cohort_summary/3/cohort`).
pub fn period_starting(field: &str, day: NaiveDate, period: Period) -> Result<i64, InvalidInput> {
    let index = period.index(day);
    if period.start(index) == day {
        return Ok(index);
    }
    Err(InvalidInput::new(
        field,
        format!("the first day of a {}", period.name()),
        format!(
            "{field}: {day} is not the first day of a {} (that is {}){}",
            period.name(),
            period.start(index),
            if period == Period::Week {
                "; weeks start on Monday (ISO 8601)"
            } else {
                ""
            }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_that_does_not_exist_is_refused_as_such() {
        let refused = parse_day("/events/0/date", "2026-02-30").unwrap_err();
        assert_eq!(
            refused.detail,
            "/events/0/date: \"2026-02-30\" has the form YYYY-MM-DD but no such day exists: 2026-02 has 28 days"
        );
        let refused = parse_day("/d", "2026-13-01").unwrap_err();
        assert!(refused
            .detail
            .ends_with("no such day exists: there is no month 13"));
        assert!(parse_day("/d", "2024-02-29").is_ok());
        let refused = parse_day("/d", "30.02.2026").unwrap_err();
        assert!(refused
            .detail
            .ends_with("is not a date of the form YYYY-MM-DD"));
    }
    use crate::units::Period;

    fn day(s: &str) -> NaiveDate {
        parse_day("", s).unwrap()
    }

    #[test]
    fn periods_are_calendar_aligned() {
        let p = Period::Week;
        let i = p.index(day("2026-11-23")); // a Monday
        assert_eq!(p.start(i), day("2026-11-23"));
        assert_eq!(p.index(day("2026-11-29")), i);
        assert_eq!(p.index(day("2026-11-30")), i + 1);
        let q = Period::Quarter;
        assert_eq!(q.label(q.index(day("2026-08-15"))), "2026-Q3");
        assert_eq!(q.end(q.index(day("2026-08-15"))), day("2026-09-30"));
        let m = Period::Month;
        assert_eq!(m.index(day("2026-01-01")) - m.index(day("2025-12-31")), 1);
        assert_eq!(m.end(m.index(day("2024-02-10"))), day("2024-02-29"));
        assert!(parse_day("", "2026-02-30").is_err());
        assert!(parse_day("", "26-02-03").is_err());
    }
}
