//! `POST /cohorts`: activity events (JSON or CSV) to a cohort retention table.

use axum::extract::State;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;

use super::events::{
    attribute_map, attribute_rows, no_segments_with_summary, AttributeValue, AttributesSeed,
    IdSeed, Segmentation,
};
use super::{
    check_csv_columns, csv_reader, csv_row_error, query, text_ids, within_max_events, CustomerId,
    Records, Rows,
};
use crate::analytics::cohorts::{
    cohort_table_from_cells, segmented_cohort_tables, Activities, CohortCell, CohortsAnswer,
    Retention,
};
use crate::analytics::events::{FilterRule, Segments};
use crate::analytics::periods::{parse_day, parse_day_with};
use crate::http::charts::{self, Format};
use crate::http::error::ApiError;
use crate::http::examples::{example, Examples};
use crate::http::extract::parse_json;
use crate::http::{AppState, Compute};
use crate::input::NonNegative;
use crate::kpi::{Confidence, InvalidInput};
use crate::units::Period;

/// One activity (an order, a login).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityRow {
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Revenue of the activity, for revenue retention.
    #[schema(minimum = 0)]
    pub amount: Option<f64>,
    /// Text attributes (`plan`, `country`) for `filter` and `group_by`.
    #[schema(value_type = Option<Object>, example = json!({"plan": "pro"}))]
    pub attributes: Option<BTreeMap<String, AttributeValue>>,
}

/// The `events` of a JSON body read straight into [`Activities`]: each as [`ActivityRow`]
/// documents it, with no string kept per activity.
#[derive(Debug, Default)]
pub struct ActivitiesBody(pub Activities);

impl<'de> Deserialize<'de> for ActivitiesBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rows;
        impl<'de> Visitor<'de> for Rows {
            type Value = ActivitiesBody;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of activities")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ActivitiesBody, A::Error> {
                let mut activities = Activities::default();
                while seq
                    .next_element_seed(ActivitySeed(&mut activities))?
                    .is_some()
                {}
                Ok(ActivitiesBody(activities))
            }
        }
        deserializer.deserialize_seq(Rows)
    }
}

/// The fields of one activity.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ActivityField {
    CustomerId,
    Date,
    Amount,
    Attributes,
}

const ACTIVITY_FIELDS: &[&str] = &["customer_id", "date", "amount", "attributes"];

/// Reads one activity into [`Activities`].
struct ActivitySeed<'c>(&'c mut Activities);

impl<'de> DeserializeSeed<'de> for ActivitySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("ActivityRow", ACTIVITY_FIELDS, self)
    }
}

impl<'de> Visitor<'de> for ActivitySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an activity {customer_id, date, amount, attributes}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let activities = self.0;
        let row = activities.len();
        let (mut customer, mut date, mut amount, mut attributes) = (None, None, None, false);
        while let Some(field) = map.next_key::<ActivityField>()? {
            match field {
                ActivityField::CustomerId if customer.is_some() => {
                    return Err(de::Error::duplicate_field("customer_id"))
                }
                ActivityField::CustomerId => {
                    customer = Some(map.next_value_seed(IdSeed(&mut activities.ids))?)
                }
                ActivityField::Date if date.is_some() => {
                    return Err(de::Error::duplicate_field("date"))
                }
                ActivityField::Date => date = Some(map.next_value_seed(DaySeed(row))?),
                ActivityField::Amount if amount.is_some() => {
                    return Err(de::Error::duplicate_field("amount"))
                }
                ActivityField::Amount => amount = Some(map.next_value::<Option<f64>>()?),
                ActivityField::Attributes if attributes => {
                    return Err(de::Error::duplicate_field("attributes"))
                }
                ActivityField::Attributes => {
                    attributes = true;
                    map.next_value_seed(AttributesSeed {
                        columns: &mut activities.attributes,
                        row,
                    })?;
                }
            }
        }
        let customer = customer.ok_or_else(|| de::Error::missing_field("customer_id"))?;
        let date = date.ok_or_else(|| de::Error::missing_field("date"))?;
        activities.push(customer, date, amount.flatten());
        Ok(())
    }
}

/// A `YYYY-MM-DD` date of row `.0`, or its refusal naming `/events/{row}/date`.
struct DaySeed(usize);

impl<'de> DeserializeSeed<'de> for DaySeed {
    type Value = Result<NaiveDate, InvalidInput>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for DaySeed {
    type Value = Result<NaiveDate, InvalidInput>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let row = self.0;
        Ok(parse_day_with(|| format!("/events/{row}/date"), v))
    }
}

/// Activities from typed rows (Arrow and Parquet bodies, rows with attribute columns).
fn activities_of(rows: Vec<ActivityRow>) -> Activities {
    let mut activities = Activities::default();
    for (row, r) in rows.into_iter().enumerate() {
        let customer = activities
            .ids
            .index_of(&r.customer_id.id, r.customer_id.numeric);
        for (name, value) in r.attributes.unwrap_or_default() {
            if let Some(value) = value.0 {
                let column = activities.attributes.column(&name);
                activities.attributes.set(column, row, &value);
            }
        }
        let date = parse_day_with(|| format!("/events/{row}/date"), &r.date);
        activities.push(customer, date, r.amount);
    }
    activities
}

/// A body of rows (`customer_id,date[,amount]`, no attribute columns) as activities: CSV read
/// row by row ([`csv_activities`]), Arrow and Parquet through their typed rows.
pub fn rows_activities(rows: &Rows) -> Result<Activities, ApiError> {
    match rows {
        Rows::Csv(bytes) => csv_activities(bytes),
        Rows::Columnar(_) => rows
            .rows("events", &["customer_id", "date", "amount"])
            .map(|rows| activities_of(text_ids(rows, |r: &mut ActivityRow| &mut r.customer_id))),
    }
}

/// The cells of a CSV activity, borrowed from the record.
#[derive(Deserialize)]
struct ActivityCells<'a> {
    customer_id: &'a str,
    date: &'a str,
    amount: Option<f64>,
}

/// A CSV body of activities (`customer_id,date[,amount]`) read row by row into
/// [`Activities`], refused as [`super::csv_rows`] refuses it.
pub fn csv_activities(bytes: &[u8]) -> Result<Activities, ApiError> {
    let columns = ["customer_id", "date", "amount"];
    let (mut reader, headers) = csv_reader(bytes)?;
    check_csv_columns(&headers, "events", &columns)?;
    let mut activities = Activities::default();
    // One activity per line: room for them all at once rather than by doubling.
    activities
        .activities
        .reserve(bytes.iter().filter(|&&b| b == b'\n').count());
    let mut record = csv::StringRecord::new();
    loop {
        let row = activities.len();
        let read = reader
            .read_record(&mut record)
            .map_err(|e| csv_row_error(&e, &headers, "events", row))?;
        if !read {
            return Ok(activities);
        }
        let cells: ActivityCells = record
            .deserialize(Some(&headers))
            .map_err(|e| csv_row_error(&e, &headers, "events", row))?;
        activities.push_text(cells.customer_id, cells.date, cells.amount);
    }
}

/// One cell of a cohort summary: what `GET /sql/cohorts` computes where the activities live.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortCellRow {
    /// The first day of the cohort's period (`YYYY-MM-DD`; a Monday for weeks).
    pub cohort: String,
    /// Periods from the cohort's period to the activity's (0 = the cohort's own period).
    #[schema(minimum = 0)]
    pub offset: u32,
    /// Customers of the cohort active at this offset.
    pub active: u64,
    /// Of them, those whose last activity falls at this offset (unbounded retention).
    #[serde(default)]
    pub last_active: u64,
    /// Customers of the cohort whose second activity falls at this offset (repeat purchase
    /// rate).
    #[serde(default)]
    pub second_activity: u64,
    /// The amounts of the cohort's activities at this offset (null: none given).
    #[schema(minimum = 0)]
    pub amount: Option<f64>,
}

/// Activity events (or their summary) and how to cut them into cohorts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortsRequest {
    #[schema(value_type = Option<Vec<ActivityRow>>)]
    pub events: Option<ActivitiesBody>,
    /// Summary cells by cohort and offset instead of the events (`GET /sql/cohorts` computes
    /// them): the same table as the events they summarise.
    pub cohort_summary: Option<Vec<CohortCellRow>>,
    /// Default `month`.
    #[serde(default)]
    pub period: Period,
    /// Default `bounded`.
    #[serde(default)]
    pub retention: Retention,
    /// Level of the rates' Wilson intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
    /// Rules that keep events (on their `attributes`); every rule must keep an event.
    pub filter: Option<Vec<FilterRule>>,
    /// One or two attributes: a table per segment besides the total, each on the segment's
    /// events alone.
    pub group_by: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CohortParams {
    #[serde(default)]
    period: Period,
    #[serde(default)]
    retention: Retention,
    confidence: Option<f64>,
    filter: Option<String>,
    group_by: Option<String>,
}

impl Compute for CohortsRequest {
    type Output = CohortsAnswer;
    fn compute(self, state: &AppState) -> Result<CohortsAnswer, ApiError> {
        let events = match (self.events, self.cohort_summary) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "/cohort_summary",
                    "give events or their summary, not both",
                    "the body has events and cohort_summary: send one of them",
                )
                .into())
            }
            (None, Some(cells)) => {
                no_segments_with_summary(
                    self.filter.is_some(),
                    self.group_by.is_some(),
                    "cohort_summary",
                )?;
                within_max_events(cells.len(), "cohort_summary", state.config.max_events)?;
                let cells = cells
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let amount = c
                            .amount
                            .map(|a| {
                                NonNegative::new(a).map(NonNegative::get).ok_or_else(|| {
                                    InvalidInput::new(
                                        format!("/cohort_summary/{i}/amount"),
                                        "must not be negative",
                                        format!("cohort_summary[{i}].amount {a} is negative"),
                                    )
                                })
                            })
                            .transpose()?;
                        Ok(CohortCell {
                            cohort: parse_day(&format!("/cohort_summary/{i}/cohort"), &c.cohort)?,
                            offset: c.offset,
                            active: c.active,
                            last_active: c.last_active,
                            second_activity: c.second_activity,
                            amount,
                        })
                    })
                    .collect::<Result<Vec<_>, InvalidInput>>()?;
                return Ok(CohortsAnswer {
                    table: cohort_table_from_cells(
                        &cells,
                        "cohort_summary",
                        self.period,
                        self.retention,
                        Confidence::new(self.confidence)?,
                    )?,
                    segments: None,
                });
            }
            (Some(events), None) => events,
            (None, None) => {
                return Err(InvalidInput::new(
                    "/events",
                    "required unless cohort_summary is given",
                    "give events (customer_id, date, amount) or their cohort_summary",
                )
                .into())
            }
        };
        let events = events.0;
        within_max_events(events.len(), "events", state.config.max_events)?;
        let segments = Segments::assign(
            events.len(),
            &events.attributes,
            self.filter.as_deref().unwrap_or_default(),
            self.group_by.as_deref().unwrap_or_default(),
            "events",
        )?;
        if let Some(refusal) = events.refused {
            return Err(refusal.into());
        }
        Ok(segmented_cohort_tables(
            &events.activities,
            events.ids.len(),
            &segments,
            self.period,
            self.retention,
            Confidence::new(self.confidence)?,
        )?)
    }
}

/// Cohort retention table
///
/// Cohorts by the period of each customer's first activity; per cohort the customers active
/// at each period offset (`bounded`: in that very period; `unbounded`: then or later) as counts
/// and shares, revenue and revenue retention when amounts are given; the size-weighted
/// average curve; and the repeat purchase rate. Every share and curve point carries the Wilson
/// score interval of its count at `confidence` (default 0.95). Accepts `text/csv` too, or the same
/// columns as an Arrow IPC stream or a Parquet file (header
/// `customer_id,date,amount`; `period`, `retention`, `confidence` as query parameters).
#[utoipa::path(
    post,
    path = "/cohorts",
    tag = "records",
    operation_id = "cohort_table",
    params(("format" = Option<Format>, Query, description = "svg: the answer as a chart (also Accept: image/svg+xml); with either body"), ("period" = Option<Period>, Query, description = "With a text/csv body"), ("retention" = Option<Retention>, Query, description = "With a text/csv body"), ("confidence" = Option<f64>, Query, description = "With a text/csv body: the level of the Wilson intervals, 0.5 to 0.999 (default 0.95)"), ("filter" = Option<String>, Query, description = "With a body of rows: attribute:in:a|b or attribute:not_in:a|b, comma-separated; attribute columns are the extra columns"), ("group_by" = Option<String>, Query, description = "With a body of rows: one or two attribute columns, comma-separated")),
    request_body(content(
        (CohortsRequest = "application/json"),
        (String = "text/csv", example = "customer_id,date,amount\nann,2026-01-05,40\nann,2026-02-11,25\nbob,2026-01-20,60\n"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet")
    )),
    responses((status = 200, description = "The cohort table, or with format=svg its chart", content((CohortsAnswer = "application/json"), (String = "image/svg+xml"))))
)]
pub async fn cohorts(
    State(state): State<AppState>,
    format: Format,
    records: Records,
) -> Result<crate::http::FiniteJson, ApiError> {
    crate::http::work::off_runtime(state, "cohorts", move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<CohortsRequest>(&bytes)?,
            Records::Rows(body, q) => {
                let rows = body.read(state)?;
                let params: CohortParams = query(q)?;
                let segmentation =
                    Segmentation::from_query(None, params.filter.clone(), params.group_by.clone())?;
                let summary = rows.header().contains(&"offset");
                CohortsRequest {
                    cohort_summary: summary
                        .then(|| {
                            rows.rows(
                                "cohort_summary",
                                &[
                                    "cohort",
                                    "offset",
                                    "active",
                                    "last_active",
                                    "second_activity",
                                    "amount",
                                ],
                            )
                        })
                        .transpose()?,
                    events: (!summary)
                        .then(|| {
                            if params.group_by.is_some() || params.filter.is_some() {
                                return segment_rows(&rows).map(activities_of);
                            }
                            rows_activities(&rows)
                        })
                        .transpose()?
                        .map(ActivitiesBody),
                    period: params.period,
                    retention: params.retention,
                    confidence: params.confidence,
                    filter: segmentation.filter,
                    group_by: segmentation.group_by,
                }
            }
        };
        if format == Format::Json {
            return request.compute(state).and_then(crate::http::finite_json);
        }
        let period = format!("{:?}", request.period).to_lowercase();
        let answer = request.compute(state)?;
        charts::cohort_heatmap(&answer.table, &period).map(crate::http::FiniteJson::svg)
    })
    .await
}

/// Rows with attribute columns (for `filter` and `group_by`): `customer_id,date[,amount]` and
/// the attributes.
fn segment_rows(rows: &super::Rows) -> Result<Vec<ActivityRow>, ApiError> {
    attribute_rows(
        rows,
        "events",
        &["customer_id", "date", "amount"],
        &["customer_id", "date"],
    )?
    .into_iter()
    .enumerate()
    .map(|(i, (mut known, attributes))| {
        let amount = match known[2].as_str() {
            "" => None,
            text => Some(text.parse::<f64>().map_err(|_| {
                InvalidInput::new(
                    format!("/events/{i}/amount"),
                    "a number",
                    format!("CSV line {}: amount {text:?} is not a number", i + 2),
                )
            })?),
        };
        Ok(ActivityRow {
            customer_id: CustomerId {
                id: std::mem::take(&mut known[0]),
                numeric: false,
            },
            date: std::mem::take(&mut known[1]),
            amount,
            attributes: attribute_map(attributes),
        })
    })
    .collect()
}

/// The examples of `POST /cohorts` in the spec, each answered as a request would be.
pub fn cohorts_examples() -> Examples {
    Examples::of::<CohortsRequest>(vec![
        example(
            "monthly_order_cohorts",
            "Orders of five customers over three months, with amounts",
            json!({"period": "month", "retention": "bounded", "events": [
                {"customer_id": "ann", "date": "2026-01-05", "amount": 40},
                {"customer_id": "ann", "date": "2026-02-11", "amount": 25},
                {"customer_id": "ann", "date": "2026-03-02", "amount": 30},
                {"customer_id": "bob", "date": "2026-01-20", "amount": 60},
                {"customer_id": "cay", "date": "2026-01-28", "amount": 15},
                {"customer_id": "cay", "date": "2026-03-14", "amount": 45},
                {"customer_id": "dev", "date": "2026-02-02", "amount": 80},
                {"customer_id": "dev", "date": "2026-02-19", "amount": 20},
                {"customer_id": "eve", "date": "2026-02-25", "amount": 35},
                {"customer_id": "eve", "date": "2026-03-30", "amount": 35}
            ]}),
        ),
        example(
            "cohort_summary_from_sql",
            "The same five customers as cohort_summary cells (what GET /sql/cohorts computes in a warehouse): the same table",
            json!({"period": "month", "retention": "bounded", "cohort_summary": [
                {"cohort": "2026-01-01", "offset": 0, "active": 3, "last_active": 1, "second_activity": 0, "amount": 115},
                {"cohort": "2026-01-01", "offset": 1, "active": 1, "last_active": 0, "second_activity": 1, "amount": 25},
                {"cohort": "2026-01-01", "offset": 2, "active": 2, "last_active": 2, "second_activity": 1, "amount": 75},
                {"cohort": "2026-02-01", "offset": 0, "active": 2, "last_active": 1, "second_activity": 1, "amount": 135},
                {"cohort": "2026-02-01", "offset": 1, "active": 1, "last_active": 1, "second_activity": 1, "amount": 35}
            ]}),
        ),
        example(
            "orders_by_channel",
            "The same orders with each customer's channel: a table per channel besides the total",
            json!({"period": "month", "group_by": ["channel"], "events": [
                {"customer_id": "ann", "date": "2026-01-05", "amount": 40, "attributes": {"channel": "web"}},
                {"customer_id": "ann", "date": "2026-02-11", "amount": 25, "attributes": {"channel": "web"}},
                {"customer_id": "ann", "date": "2026-03-02", "amount": 30, "attributes": {"channel": "web"}},
                {"customer_id": "bob", "date": "2026-01-20", "amount": 60, "attributes": {"channel": "store"}},
                {"customer_id": "cay", "date": "2026-01-28", "amount": 15, "attributes": {"channel": "web"}},
                {"customer_id": "cay", "date": "2026-03-14", "amount": 45, "attributes": {"channel": "web"}},
                {"customer_id": "dev", "date": "2026-02-02", "amount": 80, "attributes": {"channel": "store"}},
                {"customer_id": "dev", "date": "2026-02-19", "amount": 20, "attributes": {"channel": "store"}}
            ]}),
        ),
        example(
            "refused_bad_date",
            "A date that does not exist: refused",
            json!({"events": [{"customer_id": "ann", "date": "2026-02-30"}]}),
        ),
    ])
}
