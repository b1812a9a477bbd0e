//! Validated inputs: each function takes a number as the caller sent it and the JSON pointer
//! of its field, and answers the number a formula can use or the refusal naming the field.
//! The KPI checks on amounts and percentages are [`crate::kpi::error::non_negative`] and
//! [`crate::kpi::error::percent`]; these are the models' and the records' own.

use crate::kpi::InvalidInput;

/// The L2 penalty of a fit: 0 when absent, never negative.
pub fn penalty(value: Option<f64>) -> Result<f64, InvalidInput> {
    match value {
        None => Ok(0.0),
        Some(p) if p.is_finite() && p >= 0.0 => Ok(p),
        Some(p) => Err(InvalidInput::new(
            "/penalty",
            "must not be negative",
            format!("penalty {p} must be 0 or more"),
        )),
    }
}

/// A prediction horizon: more than 0, at most 1,000,000 of the data's time unit.
pub fn horizon(value: f64, pointer: &str) -> Result<f64, InvalidInput> {
    if value.is_finite() && value > 0.0 && value <= 1e6 {
        Ok(value)
    } else {
        Err(InvalidInput::new(
            pointer,
            "must be greater than 0 and at most 1,000,000",
            format!("{pointer}: horizon {value} must be a positive time in the data's unit"),
        ))
    }
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
    if v.is_finite() && v >= 0.0 && v <= upper {
        Ok(v)
    } else {
        Err(InvalidInput::new(
            pointer,
            format!("must be from 0 to {upper}"),
            format!("{pointer}: {v} must be from 0 to {upper}"),
        ))
    }
}
