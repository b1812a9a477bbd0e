//! retention-core: the computation behind retention-kpi. KPI formulas ([`kpi`]), raw records
//! to series, cohorts and survival curves ([`analytics`]), likelihood models ([`models`]).
//!
//! Every answer carries its value with a [`kpi::Breakdown`]: the formula, the substituted
//! inputs and the steps. This crate does not depend on any HTTP crate (the compiler keeps it
//! so); the service in the workspace root is its HTTP adapter. With the `openapi` feature the
//! answer types also derive their JSON schema.

pub mod analytics;
pub mod cancel;
pub mod input;
pub mod kpi;
pub mod models;
pub mod sql;
pub mod units;
