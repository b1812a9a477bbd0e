//! The core's one error type: an input that makes a formula meaningless.

use thiserror::Error;

/// An input refused before any formula runs.
///
/// `pointer` is a JSON pointer relative to the request body that carried the input
/// (`/new_customers`, `/scores/3`), so the HTTP layer can name the offending field;
/// `reason` is the short rule the field broke, `detail` the sentence a dashboard user reads.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{detail}")]
pub struct InvalidInput {
    pub pointer: String,
    pub reason: String,
    pub detail: String,
}

impl InvalidInput {
    pub fn new(
        pointer: impl Into<String>,
        reason: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            pointer: pointer.into(),
            reason: reason.into(),
            detail: detail.into(),
        }
    }

    /// The same problem, seen from a body nested under `prefix` (e.g. `/items/2`).
    pub fn nested_under(mut self, prefix: &str) -> Self {
        self.pointer = format!("{prefix}{}", self.pointer);
        self
    }
}

/// Refuses a money amount or rate that is negative (NaN and infinities cannot arrive from
/// JSON, but are refused too so the core stays total).
pub fn non_negative(field: &str, value: f64) -> Result<f64, InvalidInput> {
    if let Some(valid) = crate::input::NonNegative::new(value) {
        return Ok(valid.get());
    }
    if value.is_nan() || value.is_infinite() {
        return Err(InvalidInput::new(
            format!("/{field}"),
            "must be a finite number",
            format!("{field} must be a finite number"),
        ));
    }
    Err(InvalidInput::new(
        format!("/{field}"),
        "must not be negative",
        format!("{field} ({value}) is negative: amounts and rates must be zero or more"),
    ))
}

/// Refuses a percentage outside `low..=100` (`low` is 0 or a value just above it).
pub fn percent(field: &str, value: f64, allow_zero: bool) -> Result<f64, InvalidInput> {
    let value = non_negative(field, value)?;
    if value > 100.0 {
        return Err(InvalidInput::new(
            format!("/{field}"),
            "must be at most 100",
            format!("{field} ({value}) is over 100: percentages run from 0 to 100"),
        ));
    }
    if !allow_zero && value == 0.0 {
        return Err(InvalidInput::new(
            format!("/{field}"),
            "must be greater than zero",
            format!("{field} is 0: the formula divides by it"),
        ));
    }
    Ok(value)
}

/// Refuses a computed value that is not finite (an overflow of very large inputs).
pub fn finite_result(metric: &str, value: f64) -> Result<f64, InvalidInput> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(InvalidInput::new(
            "",
            "result out of range",
            format!("{metric} overflows a 64-bit float with these inputs: use smaller units"),
        ))
    }
}
