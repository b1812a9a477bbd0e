//! Calendar periods (UTC dates): ISO weeks starting on Monday, months, quarters, years
//! (docs/formulas.md § 9).

use chrono::NaiveDate;

use crate::kpi::InvalidInput;

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
