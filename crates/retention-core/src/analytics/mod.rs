//! From raw records to KPIs: calendar periods, MRR period series, cohort retention tables,
//! Kaplan–Meier survival curves, and from product events retention, lifecycle and
//! stickiness. Per-period figures come from the same core functions as the single-KPI
//! endpoints. Nothing here knows about HTTP.

pub mod cohorts;
pub mod competing;
pub mod cox;
pub mod event_retention;
pub mod events;
pub mod lifecycle;
pub mod parametric;
pub mod periods;
pub mod series;
pub mod stickiness;
pub mod survival;

/// The most customers one row of a summary may count (a trillion): sums over the rows a
/// request may hold stay far inside 64 bits.
pub const MAX_SUMMARY_COUNT: u64 = 1_000_000_000_000;

/// Refuses a summary count above [`MAX_SUMMARY_COUNT`], naming it.
pub fn check_summary_count(pointer: String, count: u64) -> Result<(), crate::kpi::InvalidInput> {
    if count > MAX_SUMMARY_COUNT {
        return Err(crate::kpi::InvalidInput::new(
            pointer.clone(),
            format!("at most {MAX_SUMMARY_COUNT}"),
            format!(
                "{pointer}: {count} customers in one row; a summary row counts at most a trillion"
            ),
        ));
    }
    Ok(())
}
