//! The service's one calendar-period type ([`Period`]) and one time-unit type ([`TimeUnit`]).
//!
//! A [`Period`] is a calendar interval: what a churn rate is measured over (and compounded
//! between), and how series and cohort tables cut dates (UTC; weeks start on Monday, ISO
//! 8601). A [`TimeUnit`] measures durations: survival times and the purchase models' recency
//! and T.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// A calendar period: day, week (from Monday), month, quarter or year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    #[default]
    Month,
    Quarter,
    Year,
}

/// The Monday that starts week 0 of the calendar index.
fn monday_origin() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 5).expect("a valid date")
}

/// Day 0 of the calendar index.
fn day_origin() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

impl Period {
    /// Periods in a year, by the usual convention: 365 days, 52 weeks, 12 months, 4 quarters.
    pub fn per_year(self) -> f64 {
        match self {
            Period::Day => 365.0,
            Period::Week => 52.0,
            Period::Month => 12.0,
            Period::Quarter => 4.0,
            Period::Year => 1.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        }
    }

    /// The index of the period holding `date`: consecutive periods have consecutive indices.
    pub fn index(self, date: NaiveDate) -> i64 {
        let (y, m) = (i64::from(date.year()), i64::from(date.month0()));
        match self {
            Period::Day => (date - day_origin()).num_days(),
            Period::Week => (date - monday_origin()).num_days().div_euclid(7),
            Period::Month => y * 12 + m,
            Period::Quarter => y * 4 + m / 3,
            Period::Year => y,
        }
    }

    /// The first day of the period with this index.
    pub fn start(self, index: i64) -> NaiveDate {
        let ymd = |y: i64, m: i64| {
            NaiveDate::from_ymd_opt(y as i32, m as u32 + 1, 1).unwrap_or(NaiveDate::MAX)
        };
        match self {
            Period::Day => day_origin() + chrono::Duration::days(index),
            Period::Week => monday_origin() + chrono::Duration::days(index * 7),
            Period::Month => ymd(index.div_euclid(12), index.rem_euclid(12)),
            Period::Quarter => ymd(index.div_euclid(4), index.rem_euclid(4) * 3),
            Period::Year => ymd(index, 0),
        }
    }

    /// The last day of the period with this index.
    pub fn end(self, index: i64) -> NaiveDate {
        self.start(index + 1).pred_opt().unwrap_or(NaiveDate::MAX)
    }

    /// The period's label: `2026-11-23` (a day, or the Monday of a week), `2026-11`,
    /// `2026-Q4`, `2026`.
    pub fn label(self, index: i64) -> String {
        let start = self.start(index);
        match self {
            Period::Day | Period::Week => start.format("%Y-%m-%d").to_string(),
            Period::Month => start.format("%Y-%m").to_string(),
            Period::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
            Period::Year => start.year().to_string(),
        }
    }
}

/// A unit of duration: day, week, or month (365.25 / 12 = 30.4375 days).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    #[default]
    Day,
    Week,
    /// 365.25 / 12 = 30.4375 days.
    Month,
}

impl TimeUnit {
    /// The unit's name in the plural, for labels ("weeks").
    pub fn plural(self) -> &'static str {
        match self {
            TimeUnit::Day => "days",
            TimeUnit::Week => "weeks",
            TimeUnit::Month => "months",
        }
    }

    /// The unit's length in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
            TimeUnit::Month => 365.25 / 12.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn days_are_periods_of_their_own() {
        let p = Period::Day;
        let i = p.index(day("2026-11-23"));
        assert_eq!(p.start(i), day("2026-11-23"));
        assert_eq!(p.end(i), day("2026-11-23"));
        assert_eq!(p.index(day("2026-11-24")), i + 1);
        assert_eq!(p.index(day("1969-12-31")), -1);
        assert_eq!(p.label(i), "2026-11-23");
    }

    #[test]
    fn a_month_of_duration_is_a_twelfth_of_a_julian_year() {
        assert_eq!(TimeUnit::Month.days(), 30.4375);
        assert_eq!(TimeUnit::Week.days(), 7.0);
    }
}
