//! `POST /survival`: observations or subscriptions (JSON or CSV) to Kaplan–Meier curves.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use std::collections::BTreeMap;

use super::events::{
    attribute_map, attribute_pairs, attribute_rows, no_segments_with_summary, AttributeValue,
    Segmentation,
};
use super::{bool_like, query, within_max_events, Records, SubscriptionClock};
use crate::analytics::events::{AttributeColumns, FilterRule, Segments};
use crate::analytics::survival::{
    survival_report, EventCounts, KmSettings, Observation, SurvivalAnswer, SurvivalRows,
    SurvivalSegment,
};
use crate::http::charts::{self, Format};
use crate::http::error::ApiError;
use crate::http::examples::{example, Examples};
use crate::http::extract::parse_json;
use crate::http::{AppState, Compute};
use crate::kpi::{Confidence, InvalidInput};
use crate::units::TimeUnit;

/// A customer's observed time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationRow {
    /// Time from start to churn, or to now for a customer still active.
    #[schema(minimum = 0)]
    pub duration: f64,
    /// true: the customer churned at `duration`; false: still active (censored).
    #[serde(deserialize_with = "bool_like")]
    pub observed: bool,
    /// The tenure the customer was first observed at (late entry: data that begin after it
    /// joined); it counts as at risk only after it. Default 0.
    #[schema(minimum = 0)]
    pub entry: Option<f64>,
    pub group: Option<String>,
    /// Text attributes (`plan`, `country`) for `filter` and `group_by`.
    #[schema(value_type = Option<Object>, example = json!({"plan": "pro"}))]
    pub attributes: Option<BTreeMap<String, AttributeValue>>,
}

/// A subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRow {
    /// `YYYY-MM-DD`.
    pub start: String,
    /// `YYYY-MM-DD`, or null (empty in CSV) while active.
    pub end: Option<String>,
    pub group: Option<String>,
    /// Text attributes (`plan`, `country`) for `filter` and `group_by`.
    #[schema(value_type = Option<Object>, example = json!({"plan": "pro"}))]
    pub attributes: Option<BTreeMap<String, AttributeValue>>,
}

/// One row of a summary: the customers who churned, were censored and were first observed
/// (late entry) at a tenure — what one GROUP BY over a warehouse table gives.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventCountsRow {
    /// The tenure.
    #[schema(minimum = 0)]
    pub time: f64,
    /// Customers who churned at `time`.
    #[serde(default)]
    pub churned: u64,
    /// Customers still active when last seen at `time` (censored).
    #[serde(default)]
    pub censored: u64,
    /// Customers first observed at `time` (late entry: at risk only after it); 0 for data
    /// that follow every customer from the start.
    #[serde(default)]
    pub entered: u64,
    pub group: Option<String>,
}

/// Observations, subscriptions with the date they are observed at, or their summary counts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurvivalRequest {
    pub observations: Option<Vec<ObservationRow>>,
    pub subscriptions: Option<Vec<SubscriptionRow>>,
    /// Summary counts by tenure (and group) instead of one row per customer: the same answer
    /// as the rows they summarise, for data too large to send row by row.
    pub event_table: Option<Vec<EventCountsRow>>,
    /// With `subscriptions`: the date they are observed at (`YYYY-MM-DD`).
    pub as_of: Option<String>,
    /// With `subscriptions`: the first day the data cover; a subscription that started
    /// before it enters late, at its tenure that day (left truncation).
    pub observed_from: Option<String>,
    /// With `subscriptions`: the unit of durations (default `day`).
    pub unit: Option<TimeUnit>,
    /// Weibull and log-logistic fits to everyone, with survival projected to these times
    /// (beyond the data too), median and mean lifetime.
    pub parametric: Option<ParametricRequest>,
    /// Restricted mean lifetime up to this time (default: the longest duration; for comparing
    /// groups, the shortest of the groups' longest durations).
    #[schema(minimum = 0)]
    pub horizon: Option<f64>,
    /// Times to give the number at risk at, with the churned and censored since the time
    /// before (the table under a Kaplan–Meier plot); at most 1,000.
    pub times: Option<Vec<f64>>,
    /// Level of the band and every interval, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
    /// Rules that keep rows (on their `attributes`); every rule must keep a row.
    pub filter: Option<Vec<FilterRule>>,
    /// One or two attributes: the curves of each segment besides the total, each on the
    /// segment's rows alone.
    pub group_by: Option<Vec<String>>,
}

/// What to project a parametric lifetime to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParametricRequest {
    /// Times to give the projected survival at (at most 1,000).
    #[serde(default)]
    pub times: Vec<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SurvivalParams {
    as_of: Option<String>,
    observed_from: Option<String>,
    /// Comma-separated: asks for the parametric fits.
    parametric_times: Option<String>,
    unit: Option<TimeUnit>,
    horizon: Option<f64>,
    /// Comma-separated.
    times: Option<String>,
    confidence: Option<f64>,
    filter: Option<String>,
    group_by: Option<String>,
}

impl Compute for SurvivalRequest {
    type Output = SurvivalAnswer;
    fn compute(self, state: &AppState) -> Result<SurvivalAnswer, ApiError> {
        let max_groups = state.config.max_survival_groups;
        let settings = KmSettings::new(
            self.horizon,
            Confidence::new(self.confidence)?,
            self.times.clone().unwrap_or_default(),
        )?;
        if let Some(table) = self.event_table {
            no_segments_with_summary(
                self.filter.is_some(),
                self.group_by.is_some(),
                "event_table",
            )?;
            if self.observations.is_some() || self.subscriptions.is_some() {
                return Err(InvalidInput::new(
                    "/event_table",
                    "give rows or their summary, not both",
                    "the body has event_table and observations or subscriptions: send one of them",
                )
                .into());
            }
            within_max_events(table.len(), "event_table", state.config.max_events)?;
            let counts: Vec<(EventCounts, Option<String>)> = table
                .into_iter()
                .map(|r| {
                    (
                        EventCounts {
                            time: r.time + 0.0,
                            churned: r.churned,
                            censored: r.censored,
                            entered: r.entered,
                        },
                        r.group,
                    )
                })
                .collect();
            let parametric = self.parametric.map(|p| p.times);
            return Ok(SurvivalAnswer {
                survival: survival_report(
                    SurvivalRows::Counts(&counts),
                    self.unit,
                    &settings,
                    "event_table",
                    max_groups,
                    parametric.as_deref(),
                )?,
                segments: None,
            });
        }
        let mut attributes = Vec::new();
        let (rows, unit, collection) = match (self.observations, self.subscriptions) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "/subscriptions",
                    "give observations or subscriptions, not both",
                    "the body has both observations and subscriptions: send one or the other",
                )
                .into())
            }
            (Some(observations), None) => {
                let rows = observations
                    .into_iter()
                    .map(|mut o| {
                        attributes.push(attribute_pairs(o.attributes.take()));
                        // −0.0 is 0: it must not sort before the S(0) = 1 point.
                        let duration = o.duration + 0.0;
                        (
                            Observation {
                                entry: o.entry.unwrap_or(0.0) + 0.0,
                                duration,
                                observed: o.observed,
                            },
                            o.group,
                        )
                    })
                    .collect();
                (rows, None, "observations")
            }
            (None, Some(subscriptions)) => {
                let clock = SubscriptionClock::new(
                    self.as_of.as_deref(),
                    self.observed_from.as_deref(),
                    self.unit,
                )?;
                let unit = clock.unit;
                let rows = subscriptions
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut s)| {
                        attributes.push(attribute_pairs(s.attributes.take()));
                        let observation = clock.observe(i, &s.start, s.end.as_deref())?;
                        Ok((observation, s.group))
                    })
                    .collect::<Result<Vec<_>, InvalidInput>>()?;
                (rows, Some(unit), "subscriptions")
            }
            (None, None) => return Err(InvalidInput::new(
                "/observations",
                "required unless subscriptions are given",
                "give observations (duration, observed) or subscriptions (start, end) with as_of",
            )
            .into()),
        };
        within_max_events(rows.len(), collection, state.config.max_events)?;
        let parametric = self.parametric.map(|p| p.times);
        let segments = Segments::assign(
            rows.len(),
            &AttributeColumns::from_pairs(rows.len(), |i| &attributes[i]),
            self.filter.as_deref().unwrap_or_default(),
            self.group_by.as_deref().unwrap_or_default(),
            collection,
        )?;
        let (survival, blocks) = segments.map_blocks(&rows, |rows, segment| {
            let rows: Vec<_> = rows.into_iter().cloned().collect();
            let survival = survival_report(
                SurvivalRows::Observations(&rows),
                unit,
                &settings,
                collection,
                max_groups,
                parametric.as_deref(),
            )?;
            Ok((segment, survival))
        })?;
        Ok(SurvivalAnswer {
            survival: survival.1,
            segments: (!segments.group_by.is_empty()).then(|| {
                blocks
                    .into_iter()
                    .map(|(segment, survival)| SurvivalSegment {
                        segment: segment.unwrap_or_default(),
                        survival,
                    })
                    .collect()
            }),
        })
    }
}

/// Kaplan–Meier survival
///
/// From `event_table` (summary counts by `time`: `churned`, `censored`, `entered` for late
/// entry, optional `group` — the same answer as the rows they summarise), or from
/// `observations` (`duration`, `observed` = false for a customer still active) or
/// `subscriptions` (`start`, `end` or null) with `as_of` and `unit`: the Kaplan–Meier curve
/// (`timeline`, `survival`, 95 % `ci_lower`/`ci_upper` from Greenwood's variance with the
/// log(−log) transform, as lifelines computes them), the median with its interval, the
/// restricted mean lifetime with its standard error and interval (as R's `survfit` gives
/// them), and with `times` the number at risk at each; with a `group` per row, one curve per
/// group, a log-rank test between them, and each group's restricted mean against the first
/// group's (difference and ratio with intervals and p-values). `confidence` (default 0.95)
/// sets the band's and intervals' level. Accepts `text/csv`, an Arrow IPC stream or a Parquet
/// file (columns `duration,observed,entry,group`, `time,churned,censored,entered,group`
/// or `start,end,group`; `as_of`, `unit`, `horizon`, `times` (comma-separated), `confidence`
/// as query parameters).
#[utoipa::path(
    post,
    path = "/survival",
    tag = "records",
    operation_id = "survival_curve",
    params(("format" = Option<Format>, Query, description = "svg: the answer as a chart (also Accept: image/svg+xml); with either body"), ("as_of" = Option<String>, Query, description = "With a text/csv body of subscriptions"), ("unit" = Option<TimeUnit>, Query, description = "With a text/csv body of subscriptions"), ("horizon" = Option<f64>, Query, description = "With a text/csv body"), ("times" = Option<String>, Query, description = "With a text/csv body: times for the number at risk, comma-separated (1,6,12)"), ("confidence" = Option<f64>, Query, description = "With a text/csv body: the level of the band and intervals, 0.5 to 0.999 (default 0.95)"), ("filter" = Option<String>, Query, description = "With a body of rows: attribute:in:a|b or attribute:not_in:a|b, comma-separated; attribute columns are the extra columns"), ("group_by" = Option<String>, Query, description = "With a body of rows: one or two attribute columns, comma-separated")),
    request_body(content(
        (SurvivalRequest = "application/json"),
        (String = "text/csv", example = "duration,observed,group\n3,1,monthly\n12,0,annual\n"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet")
    )),
    responses((status = 200, description = "The curves and the test, or with format=svg its chart", content((SurvivalAnswer = "application/json"), (String = "image/svg+xml"))))
)]
pub async fn survival(
    State(state): State<AppState>,
    format: Format,
    records: Records,
) -> Result<crate::http::FiniteJson, ApiError> {
    crate::http::work::off_runtime(state, "survival", move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<SurvivalRequest>(&bytes)?,
            Records::Rows(body, q) => {
                let rows = body.read(state)?;
                let params: SurvivalParams = query(q)?;
                let segmentation =
                    Segmentation::from_query(None, params.filter.clone(), params.group_by.clone())?;
                let columns = rows.header();
                let (mut observations, mut subscriptions, mut event_table) = (None, None, None);
                let segmenting = params.filter.is_some() || params.group_by.is_some();
                if segmenting && columns.contains(&"duration") {
                    observations = Some(observation_rows(&rows)?);
                } else if segmenting && !columns.contains(&"time") {
                    subscriptions = Some(subscription_rows(&rows)?);
                } else if columns.contains(&"time") {
                    event_table = Some(rows.rows(
                        "event_table",
                        &["time", "churned", "censored", "entered", "group"],
                    )?);
                } else if columns.contains(&"duration") {
                    observations = Some(
                        rows.rows("observations", &["duration", "observed", "entry", "group"])?,
                    );
                } else {
                    subscriptions = Some(rows.rows("subscriptions", &["start", "end", "group"])?);
                }
                SurvivalRequest {
                    observations,
                    subscriptions,
                    event_table,
                    as_of: params.as_of,
                    observed_from: params.observed_from,
                    unit: params.unit,
                    parametric: params
                        .parametric_times
                        .as_deref()
                        .map(|t| {
                            query_times(t, "/parametric/times", "parametric_times")
                                .map(|times| ParametricRequest { times })
                        })
                        .transpose()?,
                    horizon: params.horizon,
                    times: params
                        .times
                        .as_deref()
                        .map(|t| query_times(t, "/times", "times"))
                        .transpose()?,
                    confidence: params.confidence,
                    filter: segmentation.filter,
                    group_by: segmentation.group_by,
                }
            }
        };
        if format == Format::Json {
            return request.compute(state).and_then(crate::http::finite_json);
        }

        let answer = request.compute(state)?;
        charts::survival_chart(&answer.survival).map(crate::http::FiniteJson::svg)
    })
    .await
}

/// Observations with attribute columns (for `filter` and `group_by`).
fn observation_rows(rows: &super::Rows) -> Result<Vec<ObservationRow>, ApiError> {
    let number = |i: usize, field: &str, text: &str| -> Result<f64, InvalidInput> {
        text.parse::<f64>().map_err(|_| {
            InvalidInput::new(
                format!("/observations/{i}/{field}"),
                "a number",
                format!("CSV line {}: {field} {text:?} is not a number", i + 2),
            )
        })
    };
    attribute_rows(
        rows,
        "observations",
        &["duration", "observed", "entry", "group"],
        &["duration", "observed"],
    )?
    .into_iter()
    .enumerate()
    .map(|(i, (mut known, attributes))| {
        let observed = match known[1].to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            other => {
                return Err(InvalidInput::new(
                    format!("/observations/{i}/observed"),
                    "true or false (or 1 or 0)",
                    format!(
                        "CSV line {}: observed {other:?} is not true or false",
                        i + 2
                    ),
                )
                .into())
            }
        };
        let group = std::mem::take(&mut known[3]);
        Ok(ObservationRow {
            duration: number(i, "duration", &known[0])?,
            observed,
            entry: (!known[2].is_empty())
                .then(|| number(i, "entry", &known[2]))
                .transpose()?,
            group: (!group.is_empty()).then_some(group),
            attributes: attribute_map(attributes),
        })
    })
    .collect()
}

/// Subscriptions with attribute columns (for `filter` and `group_by`).
fn subscription_rows(rows: &super::Rows) -> Result<Vec<SubscriptionRow>, ApiError> {
    attribute_rows(
        rows,
        "subscriptions",
        &["start", "end", "group"],
        &["start"],
    )?
    .into_iter()
    .map(|(mut known, attributes)| {
        let (end, group) = (std::mem::take(&mut known[1]), std::mem::take(&mut known[2]));
        Ok(SubscriptionRow {
            start: std::mem::take(&mut known[0]),
            end: (!end.is_empty()).then_some(end),
            group: (!group.is_empty()).then_some(group),
            attributes: attribute_map(attributes),
        })
    })
    .collect()
}

/// A query parameter of times (`name`): numbers separated by commas; a bad one is refused at
/// `{pointer}/{index}`.
fn query_times(text: &str, pointer: &str, name: &str) -> Result<Vec<f64>, InvalidInput> {
    text.split(',')
        .enumerate()
        .map(|(i, t)| {
            t.trim().parse::<f64>().map_err(|_| {
                InvalidInput::new(
                    format!("{pointer}/{i}"),
                    "must be a number",
                    format!("{name}[{i}] {t:?} is not a number: give times as 1,6,12"),
                )
            })
        })
        .collect()
}

/// The examples of `POST /survival` in the spec, each answered as a request would be.
pub fn survival_examples() -> Examples {
    Examples::of::<SurvivalRequest>(vec![
            example(
                "plans_compared",
                "Months to churn of monthly and annual plans (observed = false: still active), with a log-rank test",
                json!({"observations": [
                    {"duration": 1, "observed": true, "group": "monthly"}, {"duration": 2, "observed": true, "group": "monthly"},
                    {"duration": 2, "observed": false, "group": "monthly"}, {"duration": 3, "observed": true, "group": "monthly"},
                    {"duration": 5, "observed": true, "group": "monthly"}, {"duration": 6, "observed": false, "group": "monthly"},
                    {"duration": 4, "observed": true, "group": "annual"}, {"duration": 12, "observed": false, "group": "annual"},
                    {"duration": 12, "observed": true, "group": "annual"}, {"duration": 14, "observed": false, "group": "annual"},
                    {"duration": 18, "observed": false, "group": "annual"}, {"duration": 24, "observed": true, "group": "annual"}
                ], "horizon": 12, "times": [0, 3, 6, 12]}),
            ),
            example(
                "subscriptions_in_months",
                "Subscriptions observed on 2026-11-01, in months",
                json!({"as_of": "2026-11-01", "unit": "month", "subscriptions": [
                    {"start": "2026-01-15", "end": "2026-04-15"}, {"start": "2026-02-01", "end": null},
                    {"start": "2026-03-10", "end": "2026-09-10"}, {"start": "2026-05-20", "end": null},
                    {"start": "2026-06-01", "end": "2026-07-01"}, {"start": "2026-08-12", "end": null}
                ]}),
            ),
            example(
                "summary_counts",
                "The same plans as summary counts by month and plan (what one GROUP BY in a warehouse gives): the answer equals the rows'",
                json!({"event_table": [
                    {"time": 1, "churned": 1, "group": "monthly"}, {"time": 2, "churned": 1, "censored": 1, "group": "monthly"},
                    {"time": 3, "churned": 1, "group": "monthly"}, {"time": 5, "churned": 1, "group": "monthly"},
                    {"time": 6, "censored": 1, "group": "monthly"}, {"time": 4, "churned": 1, "group": "annual"},
                    {"time": 12, "churned": 1, "censored": 1, "group": "annual"}, {"time": 14, "censored": 1, "group": "annual"},
                    {"time": 18, "censored": 1, "group": "annual"}, {"time": 24, "churned": 1, "group": "annual"}
                ], "horizon": 12, "times": [0, 3, 6, 12]}),
            ),
            example(
                "plans_by_region",
                "The plans compared in each region: a block per region besides the total, each on its rows alone",
                json!({"group_by": ["region"], "observations": [
                    {"duration": 1, "observed": true, "group": "monthly", "attributes": {"region": "eu"}}, {"duration": 2, "observed": true, "group": "monthly", "attributes": {"region": "us"}},
                    {"duration": 2, "observed": false, "group": "monthly", "attributes": {"region": "eu"}}, {"duration": 3, "observed": true, "group": "monthly", "attributes": {"region": "us"}},
                    {"duration": 5, "observed": true, "group": "monthly", "attributes": {"region": "eu"}}, {"duration": 6, "observed": false, "group": "monthly", "attributes": {"region": "us"}},
                    {"duration": 4, "observed": true, "group": "annual", "attributes": {"region": "eu"}}, {"duration": 12, "observed": false, "group": "annual", "attributes": {"region": "us"}},
                    {"duration": 12, "observed": true, "group": "annual", "attributes": {"region": "us"}}, {"duration": 14, "observed": false, "group": "annual", "attributes": {"region": "eu"}},
                    {"duration": 18, "observed": false, "group": "annual", "attributes": {"region": "eu"}}, {"duration": 24, "observed": true, "group": "annual", "attributes": {"region": "us"}}
                ]}),
            ),
            example(
                "refused_end_before_start",
                "A subscription ending before it starts: refused",
                json!({"as_of": "2026-11-01", "subscriptions": [{"start": "2026-05-01", "end": "2026-04-01"}]}),
            ),
    ])
}
