//! The pure KPI core: formulas over validated inputs.
//!
//! Nothing in here knows about HTTP. Every function takes a domain type whose constructor has
//! already refused impossible values, and returns a [`Kpi`]: the value with its breakdown
//! (formula, substitution, inputs, steps) and its context (notes, benchmark bands).

pub mod ab_test;
pub mod bayes;
pub mod benchmarks;
pub mod breakdown;
pub mod clv;
pub mod clv_interval;
pub mod confidence;
pub mod conventions;
pub mod engagement;
pub mod error;
pub mod health_score;
pub mod nps;
pub mod retention;
pub mod revenue;
pub mod satisfaction;
pub mod what_if;

pub use breakdown::{Benchmark, Breakdown, Context, Interval, Kpi, KpiResponse, Step, Unit};
pub use confidence::{Bounds, Confidence, IntervalMethod};
pub use error::InvalidInput;
