//! retention-kpi: customer-retention KPIs over HTTP, every number with its formula.
//!
//! [`kpi`] is the pure core; [`http`] is everything that knows about HTTP; [`app`] builds the
//! router that `main` serves and the tests drive in-process.

pub mod analytics;
pub mod cancel;
pub mod config;
pub mod http;
pub mod kpi;
pub mod models;
pub mod server;
pub mod telemetry;

pub use http::{app, app_with_readiness, openapi};
