//! retention-kpi: customer-retention KPIs over HTTP, every number with its formula.
//!
//! [`kpi`] is the pure core; [`http`] is everything that knows about HTTP; [`app`] builds the
//! router that `main` serves and the tests drive in-process.

pub mod config;
pub mod http;
pub mod server;
pub mod telemetry;

/// The computation, re-exported under the names the service has always used.
pub use retention_core::{analytics, cancel, input, kpi, models, sql, units};

pub use http::{app, app_with_readiness, openapi};
