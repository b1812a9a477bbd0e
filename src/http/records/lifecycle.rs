//! `POST /lifecycle`: product events (JSON or rows) to new, returning, resurrecting and
//! dormant customers per period.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::events::{answer, period_events, EventsBody, ProductEventRow, Segmentation};
use super::retention::week_of_events;
use super::Records;
use crate::analytics::events::FilterRule;
use crate::analytics::lifecycle::{lifecycle, Lifecycle};
use crate::http::error::ApiError;
use crate::http::examples::{example, Examples};
use crate::http::{AppState, Compute};
use crate::units::Period;

/// Product events and the period to cut them by.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRequest {
    #[schema(value_type = Vec<ProductEventRow>)]
    pub events: EventsBody,
    /// `day`, `week` (default), `month`, `quarter` or `year`.
    pub period: Option<Period>,
    /// IANA time zone of the calendar periods (default `UTC`).
    #[schema(example = "Asia/Tokyo")]
    pub timezone: Option<String>,
    /// Rules that keep events; every rule must keep an event.
    pub filter: Option<Vec<FilterRule>>,
    /// One or two attributes: a block per segment besides the total.
    pub group_by: Option<Vec<String>>,
}

impl Compute for LifecycleRequest {
    type Output = Lifecycle;
    fn compute(self, state: &AppState) -> Result<Lifecycle, ApiError> {
        let (log, read) = Segmentation {
            timezone: self.timezone,
            filter: self.filter,
            group_by: self.group_by,
        }
        .log(self.events.0, state)?;
        Ok(lifecycle(&log, read, self.period.unwrap_or(Period::Week))?)
    }
}

/// Lifecycle: new, returning, resurrecting, dormant
///
/// Per calendar period (in an IANA `timezone`) the customers who are new (first active),
/// returning (active in this and the previous period), resurrecting (active now, not in the
/// previous period, but before) and dormant (active in the previous period, not now: a
/// negative count, as PostHog plots it), the quick ratio, and the matrix of transitions
/// between those states from one period to the next. `filter` and `group_by` as on
/// `/retention`: each segment's block counts its own events. Accepts `text/csv` (header
/// `customer_id,timestamp,event,<attributes…>`, settings as query parameters) or the same
/// columns as an Arrow IPC stream or a Parquet file.
#[utoipa::path(
    post,
    path = "/lifecycle",
    tag = "records",
    operation_id = "lifecycle",
    params(("period" = Option<Period>, Query, description = "With a body of rows"), ("timezone" = Option<String>, Query, description = "With a body of rows: an IANA name"), ("filter" = Option<String>, Query, description = "With a body of rows: attribute:in:a|b or attribute:not_in:a|b, comma-separated"), ("group_by" = Option<String>, Query, description = "With a body of rows: one or two attributes, comma-separated")),
    request_body(content(
        (LifecycleRequest = "application/json"),
        (String = "text/csv", example = "customer_id,timestamp,event,plan\nann,2024-03-04T09:00:00Z,signup,pro\nann,2024-03-12T10:00:00Z,login,pro\nbob,2024-03-04T23:30:00Z,signup,free\n"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet")
    )),
    responses((status = 200, description = "The lifecycle: the total, then one block per segment", body = Lifecycle))
)]
pub async fn lifecycle_endpoint(
    State(state): State<AppState>,
    records: Records,
) -> Result<crate::http::FiniteJson, ApiError> {
    answer(state, records, "lifecycle", |rows, q| {
        let (events, period, segmentation) = period_events(rows, q)?;
        Ok(LifecycleRequest {
            events,
            period,
            timezone: segmentation.timezone,
            filter: segmentation.filter,
            group_by: segmentation.group_by,
        })
    })
    .await
}

/// The examples of `POST /lifecycle` in the spec, each answered as a request would be.
pub fn lifecycle_examples() -> Examples {
    Examples::of::<LifecycleRequest>(vec![
        example(
            "daily_lifecycle",
            "Four customers over four days: new, returning, dormant and resurrecting by day",
            json!({"events": week_of_events(), "period": "day"}),
        ),
        example(
            "daily_lifecycle_by_plan",
            "The same by plan: each plan's block counts its own events",
            json!({"events": week_of_events(), "period": "day", "group_by": ["plan"]}),
        ),
        example(
            "refused_unknown_attribute",
            "A group_by attribute no event carries: refused naming it",
            json!({"events": week_of_events(), "group_by": ["country"]}),
        ),
    ])
}
