//! `POST /retention`: product events (JSON or rows) to event-retention tables.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::events::{answer, event_columns, EventsBody, ProductEventRow, Segmentation};
use super::{query, Records};
use crate::analytics::event_retention::{
    retention_table, Bracket, Counting, Entry, RetentionSettings, RetentionTable, Windows,
    MAX_BRACKETS,
};
use crate::analytics::events::FilterRule;
use crate::http::error::ApiError;
use crate::http::examples::{example, Examples};
use crate::http::{AppState, Compute};
use crate::kpi::InvalidInput;
use crate::units::Period;

/// Product events and what counts as entering and returning.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRequest {
    #[schema(value_type = Vec<ProductEventRow>)]
    pub events: EventsBody,
    /// The event that enters a customer into a cohort (default: any event).
    pub start_event: Option<String>,
    /// The event that counts as a return (default: any event).
    pub return_event: Option<String>,
    /// Default `first_time`.
    #[serde(default)]
    pub entry: Entry,
    /// Default `on`.
    #[serde(default)]
    pub counting: Counting,
    /// The interval unit: `day` (default), `week` or `month`.
    pub period: Option<Period>,
    /// How entries are grouped into cohorts (default: `period`).
    pub cohort_by: Option<Period>,
    /// Default `calendar`.
    #[serde(default)]
    pub windows: Windows,
    /// Intervals 0 to N, one column each (default 10); or give `brackets`.
    #[schema(minimum = 0, maximum = 400)]
    pub intervals: Option<u32>,
    /// Columns of one or more intervals, ascending and not overlapping (`{"from": 2, "to": 3}`).
    pub brackets: Option<Vec<Bracket>>,
    /// Return events a member needs in a bracket to count as retained (default 1).
    #[schema(minimum = 1)]
    pub min_returns: Option<u32>,
    /// Also answer each cohort's retention at this interval (the Day-N trend).
    pub trend_interval: Option<u32>,
    /// IANA time zone of the calendar periods (default `UTC`).
    #[schema(example = "Asia/Tokyo")]
    pub timezone: Option<String>,
    /// Rules that keep events; every rule must keep an event.
    pub filter: Option<Vec<FilterRule>>,
    /// One or two attributes: a table per segment besides the total.
    pub group_by: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionParams {
    start_event: Option<String>,
    return_event: Option<String>,
    #[serde(default)]
    entry: Entry,
    #[serde(default)]
    counting: Counting,
    period: Option<Period>,
    cohort_by: Option<Period>,
    #[serde(default)]
    windows: Windows,
    intervals: Option<u32>,
    brackets: Option<String>,
    min_returns: Option<u32>,
    trend_interval: Option<u32>,
    timezone: Option<String>,
    filter: Option<String>,
    group_by: Option<String>,
}

/// `1-1,2-3,4-7` as brackets.
fn brackets_of(text: &str) -> Result<Vec<Bracket>, InvalidInput> {
    text.split(',')
        .enumerate()
        .map(|(i, b)| {
            let (from, to) = b.split_once('-').unwrap_or((b, b));
            match (from.trim().parse(), to.trim().parse()) {
                (Ok(from), Ok(to)) => Ok(Bracket { from, to }),
                _ => Err(InvalidInput::new(
                    format!("/brackets/{i}"),
                    "from-to",
                    format!("bracket {b:?} is not from-to (2-3) or one interval (1)"),
                )),
            }
        })
        .collect()
}

impl Compute for RetentionRequest {
    type Output = RetentionTable;
    fn compute(self, state: &AppState) -> Result<RetentionTable, ApiError> {
        let period = self.period.unwrap_or(Period::Day);
        if matches!(period, Period::Quarter | Period::Year) {
            return Err(InvalidInput::new(
                "/period",
                "day, week or month",
                "retention intervals are days, weeks or months",
            )
            .into());
        }
        let brackets = match (self.brackets, self.intervals) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "/brackets",
                    "brackets or intervals, not both",
                    "give intervals (0 to N) or brackets, not both",
                )
                .into())
            }
            (Some(b), None) => b,
            (None, n) => {
                let n = n.unwrap_or(10);
                if n as usize >= MAX_BRACKETS {
                    return Err(InvalidInput::new(
                        "/intervals",
                        format!("at most {}", MAX_BRACKETS - 1),
                        format!("intervals {n}: a table has at most {} intervals after interval 0; use brackets for longer spans", MAX_BRACKETS - 1),
                    )
                    .into());
                }
                (0..=n).map(|k| Bracket { from: k, to: k }).collect()
            }
        };
        let settings = RetentionSettings {
            start_event: self.start_event,
            return_event: self.return_event,
            entry: self.entry,
            counting: self.counting,
            period,
            cohort_by: self.cohort_by.unwrap_or(period),
            windows: self.windows,
            brackets,
            min_returns: self.min_returns.unwrap_or(1),
            trend_interval: self.trend_interval,
        };
        let (log, read) = Segmentation {
            timezone: self.timezone,
            filter: self.filter,
            group_by: self.group_by,
        }
        .log(self.events.0, state)?;
        Ok(retention_table(&log, read, &settings)?)
    }
}

/// Event retention
///
/// Of the customers who did a start event, how many did a return event in each later
/// interval: PostHog's and Amplitude's retention table. Entry `first_time` (a customer's first
/// start event) or `recurring` (every period with a start event); counting `on` (in the
/// interval) or `on_or_after` (then or later); calendar days, weeks or months in an IANA
/// `timezone`, or rolling 24-hour (or 7 × 24-hour) windows from each entry; custom `brackets`
/// (days 2–3, 4–7, …); `min_returns` per bracket; the Day-N `trend_interval` across cohorts;
/// `filter` and `group_by` (one or two attributes: a table per segment, each counted on its
/// own events, besides the total). Each cell: count, size (members whose interval had begun
/// by the end of the data) and share. Accepts `text/csv` (header
/// `customer_id,timestamp,event,<attributes…>`, settings as query parameters: `brackets=1-1,2-3`,
/// `group_by=plan,country`, `filter=country:in:JP|US`), or the same columns as an Arrow IPC
/// stream or a Parquet file.
#[utoipa::path(
    post,
    path = "/retention",
    tag = "records",
    operation_id = "event_retention",
    params(("start_event" = Option<String>, Query, description = "With a body of rows"), ("return_event" = Option<String>, Query, description = "With a body of rows"), ("entry" = Option<Entry>, Query, description = "With a body of rows"), ("counting" = Option<Counting>, Query, description = "With a body of rows"), ("period" = Option<Period>, Query, description = "With a body of rows: day, week or month"), ("cohort_by" = Option<Period>, Query, description = "With a body of rows"), ("windows" = Option<Windows>, Query, description = "With a body of rows"), ("intervals" = Option<u32>, Query, description = "With a body of rows: 0 to 400"), ("brackets" = Option<String>, Query, description = "With a body of rows: from-to, comma-separated (0,1,2-3,4-7)"), ("min_returns" = Option<u32>, Query, description = "With a body of rows"), ("trend_interval" = Option<u32>, Query, description = "With a body of rows"), ("timezone" = Option<String>, Query, description = "With a body of rows: an IANA name"), ("filter" = Option<String>, Query, description = "With a body of rows: attribute:in:a|b or attribute:not_in:a|b, comma-separated"), ("group_by" = Option<String>, Query, description = "With a body of rows: one or two attributes, comma-separated")),
    request_body(content(
        (RetentionRequest = "application/json"),
        (String = "text/csv", example = "customer_id,timestamp,event,plan\nann,2024-03-04T09:00:00Z,signup,pro\nann,2024-03-05T10:00:00Z,login,pro\nbob,2024-03-04T23:30:00Z,signup,free\n"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet")
    )),
    responses((status = 200, description = "The retention tables: the total, then one per segment", body = RetentionTable))
)]
pub async fn retention(
    State(state): State<AppState>,
    records: Records,
) -> Result<crate::http::FiniteJson, ApiError> {
    answer(state, records, "retention", |rows, q| {
        let p: RetentionParams = query(q)?;
        let segmentation = Segmentation::from_query(p.timezone, p.filter, p.group_by)?;
        Ok(RetentionRequest {
            events: EventsBody(event_columns(rows, segmentation.reads_attributes())?),
            start_event: p.start_event,
            return_event: p.return_event,
            entry: p.entry,
            counting: p.counting,
            period: p.period,
            cohort_by: p.cohort_by,
            windows: p.windows,
            intervals: p.intervals,
            brackets: p.brackets.as_deref().map(brackets_of).transpose()?,
            min_returns: p.min_returns,
            trend_interval: p.trend_interval,
            timezone: segmentation.timezone,
            filter: segmentation.filter,
            group_by: segmentation.group_by,
        })
    })
    .await
}

/// The events of the spec's examples: four customers over a week, two plans.
pub fn week_of_events() -> serde_json::Value {
    json!([
        {"customer_id": "ann", "timestamp": "2024-03-04T09:00:00Z", "event": "signup", "attributes": {"plan": "pro"}},
        {"customer_id": "ann", "timestamp": "2024-03-05T10:00:00Z", "event": "login", "attributes": {"plan": "pro"}},
        {"customer_id": "ann", "timestamp": "2024-03-07T08:00:00Z", "event": "login", "attributes": {"plan": "pro"}},
        {"customer_id": "bob", "timestamp": "2024-03-04T23:30:00Z", "event": "signup", "attributes": {"plan": "free"}},
        {"customer_id": "bob", "timestamp": "2024-03-06T12:00:00Z", "event": "login", "attributes": {"plan": "free"}},
        {"customer_id": "cay", "timestamp": "2024-03-05T14:00:00Z", "event": "signup", "attributes": {"plan": "free"}},
        {"customer_id": "cay", "timestamp": "2024-03-06T15:00:00Z", "event": "login", "attributes": {"plan": "free"}},
        {"customer_id": "cay", "timestamp": "2024-03-07T16:00:00Z", "event": "login", "attributes": {"plan": "free"}},
        {"customer_id": "dev", "timestamp": "2024-03-05T20:00:00Z", "event": "signup", "attributes": {"plan": "pro"}}
    ])
}

/// The examples of `POST /retention` in the spec, each answered as a request would be.
pub fn retention_examples() -> Examples {
    Examples::of::<RetentionRequest>(vec![
        example(
            "daily_retention_after_signup",
            "Four sign-ups over two days; who logged in 1, 2 and 3 days later (UTC calendar days)",
            json!({"events": week_of_events(), "start_event": "signup", "return_event": "login", "intervals": 3}),
        ),
        example(
            "tokyo_days_by_plan",
            "The same events on Tokyo's calendar (bob's 23:30 UTC sign-up is the next day there), a table per plan",
            json!({"events": week_of_events(), "start_event": "signup", "return_event": "login", "intervals": 3, "timezone": "Asia/Tokyo", "group_by": ["plan"]}),
        ),
        example(
            "rolling_brackets_on_or_after",
            "Rolling 24-hour windows from each sign-up, brackets day 1 and days 2–3, counted on or after",
            json!({"events": week_of_events(), "start_event": "signup", "return_event": "login", "windows": "rolling", "counting": "on_or_after", "brackets": [{"from": 1, "to": 1}, {"from": 2, "to": 3}]}),
        ),
        example(
            "refused_unknown_time_zone",
            "A time zone that is not an IANA name: refused naming timezone",
            json!({"events": week_of_events(), "timezone": "Tokyo"}),
        ),
        example(
            "refused_overlapping_brackets",
            "Brackets that overlap: refused naming the bracket",
            json!({"events": week_of_events(), "brackets": [{"from": 1, "to": 3}, {"from": 3, "to": 7}]}),
        ),
    ])
}
