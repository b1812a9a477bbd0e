//! Validated inputs. A number as the caller sent it becomes a type whose constructor refuses
//! what a formula cannot use: [`NonNegative`] (money, rates, durations, weights), [`WholeCount`]
//! (counts carried as numbers), [`Bounded`] (fractions, probabilities, percentages). The
//! constructors answer `None`; the caller turns that into the refusal that names its field in
//! its own words. The functions below are the refusals the models share; the KPI endpoints'
//! are [`crate::kpi::error::non_negative`] and [`crate::kpi::error::percent`].

use crate::kpi::InvalidInput;

/// A finite number of 0 or more.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct NonNegative(f64);

impl NonNegative {
    /// `None` for a negative number, a NaN or an infinity.
    pub fn new(value: f64) -> Option<Self> {
        (value.is_finite() && value >= 0.0).then_some(Self(value))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// A whole number of 0 or more carried as a float (repeat purchases, survivors).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct WholeCount(f64);

impl WholeCount {
    /// `None` for a fraction, a negative number, a NaN or an infinity.
    pub fn new(value: f64) -> Option<Self> {
        NonNegative::new(value)
            .filter(|v| v.0.fract() == 0.0)
            .map(|v| Self(v.0))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// A finite number from 0 to an upper bound: a fraction or probability (bound 1), a
/// percentage (bound 100).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Bounded(f64);

impl Bounded {
    /// `None` outside `0..=upper`.
    pub fn new(value: f64, upper: f64) -> Option<Self> {
        NonNegative::new(value)
            .filter(|v| v.0 <= upper)
            .map(|v| Self(v.0))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// The L2 penalty of a fit: 0 when absent, never negative.
pub fn penalty(value: Option<f64>) -> Result<f64, InvalidInput> {
    let p = value.unwrap_or(0.0);
    NonNegative::new(p).map(NonNegative::get).ok_or_else(|| {
        InvalidInput::new(
            "/penalty",
            "must not be negative",
            format!("penalty {p} must be 0 or more"),
        )
    })
}

/// A prediction horizon: more than 0, at most 1,000,000 of the data's time unit.
pub fn horizon(value: f64, pointer: &str) -> Result<f64, InvalidInput> {
    Bounded::new(value, 1e6)
        .map(Bounded::get)
        .filter(|h| *h > 0.0)
        .ok_or_else(|| {
            InvalidInput::new(
                pointer,
                "must be greater than 0 and at most 1,000,000",
                format!("{pointer}: horizon {value} must be a positive time in the data's unit"),
            )
        })
}

/// A number from 0 to `upper` (`default` when absent): a fraction, a probability
/// (`upper` 1), or a percentage (`upper` 100, or 1000 for a discount rate).
pub fn fraction(
    value: Option<f64>,
    default: f64,
    pointer: &str,
    upper: f64,
) -> Result<f64, InvalidInput> {
    let v = value.unwrap_or(default);
    Bounded::new(v, upper).map(Bounded::get).ok_or_else(|| {
        InvalidInput::new(
            pointer,
            format!("must be from 0 to {upper}"),
            format!("{pointer}: {v} must be from 0 to {upper}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_refuses_what_its_name_excludes() {
        assert_eq!(NonNegative::new(0.0).map(NonNegative::get), Some(0.0));
        for bad in [-1e-300, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(NonNegative::new(bad).is_none(), "{bad}");
        }
        assert_eq!(WholeCount::new(3.0).map(WholeCount::get), Some(3.0));
        assert!(WholeCount::new(2.5).is_none());
        assert!(WholeCount::new(-1.0).is_none());
        assert_eq!(Bounded::new(100.0, 100.0).map(Bounded::get), Some(100.0));
        assert!(Bounded::new(100.000001, 100.0).is_none());
        assert!(Bounded::new(-0.5, 1.0).is_none());
    }
}
