//! What a fit reports: each parameter's estimate and standard error, the log-likelihood, how
//! the optimiser stopped; and the refusal when the likelihood has no interior maximum.

use serde::Serialize;
use serde_json::{Map, Value};

use super::fit::{Direction, FitOutcome, Verdict};
use crate::kpi::InvalidInput;

/// A parameter's maximum-likelihood estimate and its standard error (from the inverse
/// Hessian; absent where it is not positive definite).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    pub estimate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std_error: Option<f64>,
}

/// How a fit went.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FitSummary {
    /// Parameters by name, in the model's order.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, Estimate>))]
    pub parameters: Map<String, Value>,
    /// The full log-likelihood at the estimates (comparable to published figures).
    pub log_likelihood: f64,
    pub converged: bool,
    pub iterations: u64,
    /// How the optimiser stopped.
    pub termination: String,
    /// The likelihood maximised.
    pub formula: String,
}

pub fn fit_summary(
    names: &[&str],
    outcome: &FitOutcome,
    formula: &str,
) -> Result<FitSummary, InvalidInput> {
    match &outcome.verdict {
        Verdict::Converged => {}
        Verdict::Boundary(open) => {
            return Err(InvalidInput::new(
                "",
                "the likelihood has no interior maximum",
                boundary_detail(names, open, outcome.log_likelihood),
            ))
        }
        Verdict::StoppedShort(why) => {
            return Err(InvalidInput::new(
                "",
                "the optimiser stopped short of a maximum",
                format!(
                    "the optimiser stopped short of a maximum of the likelihood ({why}; {}), so no parameters are returned; the data may identify them poorly",
                    outcome.termination
                ),
            ))
        }
        Verdict::Cancelled => return Err(crate::cancel::cancelled_error()),
    }
    let mut parameters = Map::new();
    for (i, name) in names.iter().enumerate() {
        let estimate = Estimate {
            estimate: outcome.params[i],
            std_error: outcome.std_errors[i],
        };
        parameters.insert(
            (*name).to_owned(),
            serde_json::to_value(estimate).unwrap_or(Value::Null),
        );
    }
    Ok(FitSummary {
        parameters,
        log_likelihood: outcome.log_likelihood,
        converged: outcome.converged,
        iterations: outcome.iterations,
        termination: outcome.termination.clone(),
        formula: formula.to_owned(),
    })
}

/// "a and b grow without bound: the data show no heterogeneity in dropout …"
fn boundary_detail(names: &[&str], open: &[(usize, Direction)], log_likelihood: f64) -> String {
    let named = |direction: Direction| -> Vec<&str> {
        open.iter()
            .filter(|(_, d)| *d == direction)
            .filter_map(|(i, _)| names.get(*i).copied())
            .collect()
    };
    let (grown, shrunk) = (named(Direction::Grows), named(Direction::Shrinks));
    let phrase = |list: &[&str], one: &str, many: &str| match list {
        [] => None,
        [only] => Some(format!("{only} {one}")),
        [init @ .., last] => Some(format!("{} and {last} {many}", init.join(", "))),
    };
    let parts: Vec<String> = [
        phrase(&grown, "grows without bound", "grow without bound"),
        phrase(&shrunk, "shrinks towards 0", "shrink towards 0"),
    ]
    .into_iter()
    .flatten()
    .collect();
    // A gamma or beta mixing distribution whose two parameters grow together collapses to a
    // point: every customer behaves alike in that respect.
    let hint = match grown.as_slice() {
        ["a", "b"] => ": the data show no heterogeneity in dropout",
        ["r", "alpha"] => ": the data show no heterogeneity in purchase rates",
        ["s", "beta"] => ": the data show no heterogeneity in dropout rates",
        ["alpha", "beta"] => ": the data show no heterogeneity in churn probability",
        ["q", "gamma"] => ": the data show no heterogeneity in spend levels",
        _ => "",
    };
    format!(
        "{}{hint}. The likelihood keeps rising towards the edge of the parameter space (log-likelihood {log_likelihood:.3} and rising), so it has no maximum inside it and no parameters are returned; a model without that heterogeneity, or more customers, may fit",
        parts.join("; ")
    )
}
