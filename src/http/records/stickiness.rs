//! `POST /stickiness`: product events (JSON or rows) to DAU, WAU, MAU, their ratios and the
//! active days per customer.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::events::{answer, period_events, EventsBody, ProductEventRow, Segmentation};
use super::retention::week_of_events;
use super::Records;
use crate::analytics::events::FilterRule;
use crate::analytics::stickiness::{stickiness, Stickiness};
use crate::http::error::ApiError;
use crate::http::examples::{example, Examples};
use crate::http::{AppState, Compute};
use crate::units::Period;

/// Product events, and the period of the active-days distribution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StickinessRequest {
    #[schema(value_type = Vec<ProductEventRow>)]
    pub events: EventsBody,
    /// The period of the active-days distribution: `week` (default) or `month`.
    pub period: Option<Period>,
    /// IANA time zone of the calendar days (default `UTC`).
    #[schema(example = "Asia/Tokyo")]
    pub timezone: Option<String>,
    /// Rules that keep events; every rule must keep an event.
    pub filter: Option<Vec<FilterRule>>,
    /// One or two attributes: a block per segment besides the total.
    pub group_by: Option<Vec<String>>,
}

impl Compute for StickinessRequest {
    type Output = Stickiness;
    fn compute(self, state: &AppState) -> Result<Stickiness, ApiError> {
        let (log, read) = Segmentation {
            timezone: self.timezone,
            filter: self.filter,
            group_by: self.group_by,
        }
        .log(self.events.0, state)?;
        Ok(stickiness(&log, read, self.period.unwrap_or(Period::Week))?)
    }
}

/// Stickiness: DAU, WAU, MAU and active days
///
/// Per calendar day (in an IANA `timezone`) the customers active that day (DAU), in the 7
/// days ending on it (WAU) and in the 30 days ending on it (MAU), DAU/MAU and WAU/MAU, with
/// a flag for days whose 30-day window lies within the data; and per week or month the
/// distribution of the number of days each customer was active (PostHog's stickiness).
/// `filter` and `group_by` as on `/retention`: each segment's block counts its own events.
/// Accepts `text/csv` (header `customer_id,timestamp,event,<attributes…>`, settings as query
/// parameters) or the same columns as an Arrow IPC stream or a Parquet file.
#[utoipa::path(
    post,
    path = "/stickiness",
    tag = "records",
    operation_id = "stickiness",
    params(("period" = Option<Period>, Query, description = "With a body of rows: week or month"), ("timezone" = Option<String>, Query, description = "With a body of rows: an IANA name"), ("filter" = Option<String>, Query, description = "With a body of rows: attribute:in:a|b or attribute:not_in:a|b, comma-separated"), ("group_by" = Option<String>, Query, description = "With a body of rows: one or two attributes, comma-separated")),
    request_body(content(
        (StickinessRequest = "application/json"),
        (String = "text/csv", example = "customer_id,timestamp,event,plan\nann,2024-03-04T09:00:00Z,signup,pro\nann,2024-03-05T10:00:00Z,login,pro\nbob,2024-03-04T23:30:00Z,signup,free\n"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet")
    )),
    responses((status = 200, description = "Stickiness: the total, then one block per segment", body = Stickiness))
)]
pub async fn stickiness_endpoint(
    State(state): State<AppState>,
    records: Records,
) -> Result<crate::http::FiniteJson, ApiError> {
    answer(state, records, "stickiness", |rows, q| {
        let (events, period, segmentation) = period_events(rows, q)?;
        Ok(StickinessRequest {
            events,
            period,
            timezone: segmentation.timezone,
            filter: segmentation.filter,
            group_by: segmentation.group_by,
        })
    })
    .await
}

/// The examples of `POST /stickiness` in the spec, each answered as a request would be.
pub fn stickiness_examples() -> Examples {
    Examples::of::<StickinessRequest>(vec![
        example(
            "daily_active_customers",
            "Four customers over four days: DAU, WAU, MAU, and active days in the week of 4 March",
            json!({"events": week_of_events()}),
        ),
        example(
            "refused_day_distribution",
            "An active-days distribution per day: refused naming period",
            json!({"events": week_of_events(), "period": "day"}),
        ),
        example(
            "tokyo_by_plan",
            "The same in Tokyo, by plan",
            json!({"events": week_of_events(), "timezone": "Asia/Tokyo", "group_by": ["plan"]}),
        ),
    ])
}
