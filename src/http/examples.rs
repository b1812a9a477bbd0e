//! The example requests of every operation. The spec shows each with the answer the service
//! really gives (computed by [`answer`] through the same parsing and core as a request), and
//! the spec-driven tests send each one and compare.

use serde_json::Value;

use super::{compute_value, AppState, Compute};

/// One example request of an operation.
pub struct RequestExample {
    /// Names the example in the spec, the same under the request and under its response.
    pub name: &'static str,
    pub summary: &'static str,
    pub body: Value,
}

/// The examples of one `POST` operation, with the function that answers them.
pub struct Examples {
    pub answer: fn(&AppState, &Value) -> (u16, Value),
    pub examples: Vec<RequestExample>,
}

impl Examples {
    /// Examples of an operation whose body is `T`.
    pub fn of<T: Compute>(examples: Vec<RequestExample>) -> Self {
        Self {
            answer: answer::<T>,
            examples,
        }
    }
}

/// Parses a body as a request would be, computes it, and returns status and JSON answer.
pub fn answer<T: Compute>(state: &AppState, body: &Value) -> (u16, Value) {
    match compute_value::<T>(state, body.clone()) {
        Ok(output) => (
            200,
            serde_json::from_str(serde_json::value::RawValue::get(&output)).unwrap_or(Value::Null),
        ),
        Err(error) => (
            error.status().as_u16(),
            serde_json::to_value(error.problem()).unwrap_or(Value::Null),
        ),
    }
}

/// An example body kept as a JSON file beside this one.
pub fn data(text: &str) -> Value {
    serde_json::from_str(text).expect("example data is JSON")
}

pub fn example(name: &'static str, summary: &'static str, body: Value) -> RequestExample {
    RequestExample {
        name,
        summary,
        body,
    }
}
