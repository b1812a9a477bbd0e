//! From raw records to KPIs: calendar periods, MRR period series, cohort retention tables and
//! Kaplan–Meier survival curves. Per-period figures come from the same core functions as the
//! single-KPI endpoints. Nothing here knows about HTTP.

pub mod cohorts;
pub mod competing;
pub mod cox;
pub mod parametric;
pub mod periods;
pub mod series;
pub mod survival;
