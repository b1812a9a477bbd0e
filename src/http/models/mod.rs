//! `POST /models/bgnbd`, `/models/pareto-nbd`, `/models/gamma-gamma`, `/models/clv` and
//! `/models/sbg`: likelihood models fitted on the caller's data, off the async runtime. Each
//! file holds an endpoint's request type, its conversion into the core's inputs, its handler
//! and its examples; the fits and answers are `retention_core::models`.

pub mod backtest;
pub mod clv;
pub mod input;
pub mod purchase;
pub mod sbg;
pub mod spend;

use super::charts::Format;
use super::error::ApiError;
use super::{AppState, Compute, FiniteJson};

/// A request whose answer can also be drawn ([`super::charts`]).
pub trait Chart: Compute {
    /// The answer as an SVG chart.
    fn chart(self, state: &AppState) -> Result<String, ApiError>;
}

/// Runs a model request through the shared CPU-work path ([`super::work`]), serialising its
/// answer there too (a large answer is CPU work the runtime should not do).
async fn off_runtime<T>(
    state: AppState,
    model: &'static str,
    request: T,
) -> Result<FiniteJson, ApiError>
where
    T: Compute + Send + 'static,
    T::Output: Send + 'static,
{
    super::work::off_runtime(state, model, move |state| {
        let started = std::time::Instant::now();
        let answer = request.compute(state);
        super::ops::record_fit(model, started.elapsed().as_secs_f64());
        answer.and_then(super::finite_json)
    })
    .await
}

/// [`off_runtime`] for a request that can also be answered as a chart.
async fn off_runtime_as<T>(
    state: AppState,
    model: &'static str,
    request: T,
    format: Format,
) -> Result<FiniteJson, ApiError>
where
    T: Chart + Send + 'static,
    T::Output: Send + 'static,
{
    match format {
        Format::Json => off_runtime(state, model, request).await,
        Format::Svg => {
            super::work::off_runtime(state, model, move |state| {
                let started = std::time::Instant::now();
                let chart = request.chart(state);
                super::ops::record_fit(model, started.elapsed().as_secs_f64());
                chart.map(FiniteJson::svg)
            })
            .await
        }
    }
}
