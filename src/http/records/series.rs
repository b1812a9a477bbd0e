//! `POST /series`: subscription MRR events (JSON or CSV) to one row per calendar period.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use std::collections::BTreeMap;

use super::events::{attribute_map, attribute_rows, split_rows, AttributeValue, Segmentation};
use super::{optional_day, query, text_ids, within_max_events, CustomerId, Records};
use crate::analytics::events::FilterRule;

/// The columns of a CSV period summary, as `GET /sql/series` names them.
pub const PERIOD_SUMMARY_COLUMNS: &[&str] = &[
    "period",
    "first_seen_customers",
    "events",
    "new_customers",
    "reactivated_customers",
    "churned_customers",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "voluntary_churned_customers",
    "voluntary_churned_mrr",
    "delinquent_churned_customers",
    "delinquent_churned_mrr",
];
use crate::analytics::periods::{parse_day, parse_day_with};
use crate::analytics::series::{
    series_from_summary, series_report, ChurnReason, ConventionChoice, Interner, MrrEvent,
    PeriodMovements, ReasonCounts, SeriesOptions, SeriesResponse,
};
use crate::http::charts::{self, Format};
use crate::http::error::ApiError;
use crate::http::examples::{example, Examples};
use crate::http::extract::{parse_json, Count};
use crate::http::{AppState, Compute};
use crate::input::NonNegative;
use crate::kpi::conventions::Convention;
use crate::kpi::{Confidence, InvalidInput};
use crate::units::Period;

/// One subscription MRR event: from `date` on, the customer pays `mrr` (0 = not a customer).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MrrEventRow {
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    #[schema(minimum = 0)]
    pub mrr: f64,
    /// On an event that sets MRR to 0: why the customer left (`voluntary` or `delinquent`).
    pub reason: Option<ChurnReason>,
    /// Text attributes (`plan`, `country`) for `filter` and `group_by`: from this event on
    /// the customer is in the segment they give.
    #[schema(value_type = Option<Object>, example = json!({"plan": "pro"}))]
    pub attributes: Option<BTreeMap<String, AttributeValue>>,
}

/// One period of a series summary: the movements of the customers with events in it, what
/// `GET /sql/series` computes where the events live. Counts and MRR compare each customer's
/// MRR at the period's start and end, as the series defines them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodSummaryRow {
    /// The period's first day (`YYYY-MM-DD`; a Monday for weeks).
    pub period: String,
    /// Customers whose first event falls in the period.
    #[serde(default)]
    pub first_seen_customers: u64,
    /// Events dated in the period.
    #[serde(default)]
    pub events: u64,
    #[serde(default)]
    pub new_customers: u64,
    #[serde(default)]
    pub reactivated_customers: u64,
    #[serde(default)]
    pub churned_customers: u64,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub new_mrr: f64,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub expansion_mrr: f64,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub contraction_mrr: f64,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub churned_mrr: f64,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub reactivation_mrr: f64,
    /// Churned customers whose cancelling event says `voluntary` (null: the events carry no
    /// reasons), and their MRR.
    pub voluntary_churned_customers: Option<u64>,
    #[schema(minimum = 0)]
    pub voluntary_churned_mrr: Option<f64>,
    pub delinquent_churned_customers: Option<u64>,
    #[schema(minimum = 0)]
    pub delinquent_churned_mrr: Option<f64>,
}

/// Subscription events (or their summary) and the period to report by.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesRequest {
    pub events: Option<Vec<MrrEventRow>>,
    /// Movements per period instead of the events (`GET /sql/series` computes them): the same
    /// series as the events they summarise. Not with `as_of`, `reactivation_window_days` or
    /// conventions, which read the events themselves.
    pub period_summary: Option<Vec<PeriodSummaryRow>>,
    pub period: Period,
    /// First day to report (default: the first event's period).
    pub from: Option<String>,
    /// Last day to report (default: the last event's period).
    pub to: Option<String>,
    /// Level of the rates' Wilson intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
    /// A customer paying again within this many days of going to 0 counts as kept, not as
    /// churned and reactivated (at most 3,650).
    #[schema(minimum = 0, maximum = 3650)]
    pub reactivation_window_days: Option<Count>,
    /// `YYYY-MM-DD`: events after it are scheduled, not effective; the series ends there and
    /// `pending` sums the scheduled cancellations and changes.
    pub as_of: Option<String>,
    /// Adds each period's churn counted as this vendor does (`churn_by_convention`).
    pub convention: Option<Convention>,
    /// Adds each period's churn under every convention, with the reason each differs.
    pub compare_conventions: Option<bool>,
    /// Adds each period's churn-based LTV estimate at this gross margin (percent, 0–100).
    #[schema(minimum = 0, maximum = 100)]
    pub ltv_margin_pct: Option<f64>,
    /// Rules that keep events (on their `attributes`); every rule must keep an event.
    pub filter: Option<Vec<FilterRule>>,
    /// One or two attributes: the series of each segment besides the total, a customer
    /// switching segments counted as moved out of one and into the other.
    pub group_by: Option<Vec<String>>,
}

/// Query parameters of a CSV `/series` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesParams {
    period: Period,
    from: Option<String>,
    to: Option<String>,
    confidence: Option<f64>,
    reactivation_window_days: Option<u64>,
    as_of: Option<String>,
    convention: Option<Convention>,
    compare_conventions: Option<bool>,
    ltv_margin_pct: Option<f64>,
    filter: Option<String>,
    group_by: Option<String>,
}

impl SeriesRequest {
    /// The series of a summary.
    fn from_summary(
        rows: Vec<PeriodSummaryRow>,
        period: Period,
        (from, to): (Option<String>, Option<String>),
        (confidence, ltv_margin_pct): (Option<f64>, Option<f64>),
        max_events: usize,
    ) -> Result<SeriesResponse, ApiError> {
        within_max_events(rows.len(), "period_summary", max_events)?;
        let movements = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let money = |field: &str, v: f64| {
                    NonNegative::new(v).map(NonNegative::get).ok_or_else(|| {
                        InvalidInput::new(
                            format!("/period_summary/{i}/{field}"),
                            "must not be negative",
                            format!("period_summary[{i}].{field} {v} is negative"),
                        )
                    })
                };
                let given = [
                    r.voluntary_churned_customers.is_some(),
                    r.voluntary_churned_mrr.is_some(),
                    r.delinquent_churned_customers.is_some(),
                    r.delinquent_churned_mrr.is_some(),
                ];
                let reasons = if given.iter().all(|g| *g) {
                    Some(ReasonCounts {
                        voluntary_customers: r.voluntary_churned_customers.unwrap_or(0),
                        voluntary_mrr: money(
                            "voluntary_churned_mrr",
                            r.voluntary_churned_mrr.unwrap_or(0.0),
                        )?,
                        delinquent_customers: r.delinquent_churned_customers.unwrap_or(0),
                        delinquent_mrr: money(
                            "delinquent_churned_mrr",
                            r.delinquent_churned_mrr.unwrap_or(0.0),
                        )?,
                    })
                } else if given.iter().any(|g| *g) {
                    return Err(InvalidInput::new(
                        format!("/period_summary/{i}/voluntary_churned_customers"),
                        "all four churn-cause fields or none",
                        format!("period_summary[{i}] gives some of voluntary_churned_customers, voluntary_churned_mrr, delinquent_churned_customers, delinquent_churned_mrr: give all four (events with reasons) or none"),
                    ));
                } else {
                    None
                };
                Ok(PeriodMovements {
                    period: parse_day(&format!("/period_summary/{i}/period"), &r.period)?,
                    first_seen_customers: r.first_seen_customers,
                    events: r.events,
                    new_customers: r.new_customers,
                    reactivated_customers: r.reactivated_customers,
                    churned_customers: r.churned_customers,
                    new_mrr: money("new_mrr", r.new_mrr)?,
                    expansion_mrr: money("expansion_mrr", r.expansion_mrr)?,
                    contraction_mrr: money("contraction_mrr", r.contraction_mrr)?,
                    churned_mrr: money("churned_mrr", r.churned_mrr)?,
                    reactivation_mrr: money("reactivation_mrr", r.reactivation_mrr)?,
                    reasons,
                })
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        Ok(series_from_summary(
            &movements,
            "period_summary",
            period,
            (
                optional_day("/from", from.as_deref())?,
                optional_day("/to", to.as_deref())?,
            ),
            Confidence::new(confidence)?,
            ltv_margin_pct,
        )?)
    }
}

impl Compute for SeriesRequest {
    type Output = SeriesResponse;
    fn compute(self, state: &AppState) -> Result<SeriesResponse, ApiError> {
        let events = match (self.events, self.period_summary) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "/period_summary",
                    "give events or their summary, not both",
                    "the body has events and period_summary: send one of them",
                )
                .into())
            }
            (None, Some(rows)) => {
                let needs_events = [
                    ("as_of", self.as_of.is_some()),
                    (
                        "reactivation_window_days",
                        self.reactivation_window_days.is_some(),
                    ),
                    ("convention", self.convention.is_some()),
                    ("compare_conventions", self.compare_conventions.is_some()),
                    ("filter", self.filter.is_some()),
                    ("group_by", self.group_by.is_some()),
                ];
                if let Some((field, _)) = needs_events.iter().find(|(_, given)| *given) {
                    return Err(InvalidInput::new(
                        format!("/{field}"),
                        "only with events",
                        format!("{field} reads the events themselves (scheduled changes, returns within a window, each day's customers); a period_summary cannot answer it: send the events, or leave {field} out"),
                    )
                    .into());
                }
                return Self::from_summary(
                    rows,
                    self.period,
                    (self.from, self.to),
                    (self.confidence, self.ltv_margin_pct),
                    state.config.max_events,
                );
            }
            (Some(events), None) => events,
            (None, None) => {
                return Err(InvalidInput::new(
                    "/events",
                    "required unless period_summary is given",
                    "give events (customer_id, date, mrr) or their period_summary",
                )
                .into())
            }
        };
        let options = SeriesOptions {
            reactivation_window_days: match self.reactivation_window_days {
                None => None,
                Some(Count(d)) if d <= 3650 => Some(d as u32),
                Some(Count(d)) => {
                    return Err(InvalidInput::new(
                        "/reactivation_window_days",
                        "at most 3650",
                        format!(
                        "reactivation_window_days {d}: a window of at most ten years (3,650 days)"
                    ),
                    )
                    .into())
                }
            },
            as_of: {
                let as_of = optional_day("/as_of", self.as_of.as_deref())?;
                let to = optional_day("/to", self.to.as_deref())?;
                if let (Some(a), Some(t)) = (as_of, to) {
                    if t > a {
                        return Err(InvalidInput::new(
                            "/to",
                            "not after as_of",
                            format!("to {t} is after as_of {a}: the series ends with as_of, after which events are only scheduled"),
                        )
                        .into());
                    }
                }
                as_of
            },
            conventions: match (self.compare_conventions, self.convention) {
                (Some(true), _) => Some(ConventionChoice::All),
                (_, Some(c)) => Some(ConventionChoice::One(c)),
                _ => None,
            },
            ltv_margin_pct: self.ltv_margin_pct,
        };
        if self.group_by.is_some() {
            let clash = [
                (
                    "reactivation_window_days",
                    options.reactivation_window_days.is_some(),
                ),
                ("convention", options.conventions.is_some()),
            ];
            if let Some((field, _)) = clash.iter().find(|(_, given)| *given) {
                return Err(InvalidInput::new(
                    format!("/{field}"),
                    "not with group_by",
                    format!("{field} is not defined per segment: leave it out with group_by, or send the segment's events alone with a filter"),
                )
                .into());
            }
        }
        let mut ids = Interner::default();
        within_max_events(events.len(), "events", state.config.max_events)?;
        let (events, segments) = split_rows(
            events,
            |e| e.attributes.take(),
            self.filter.as_deref(),
            self.group_by.as_deref(),
            "events",
        )?;
        let events = events
            .into_iter()
            .enumerate()
            .filter_map(|(i, e)| segments.of_row[i].map(|s| (i, e, s)))
            .map(|(i, e, segment)| {
                let mrr = NonNegative::new(e.mrr).ok_or_else(|| {
                    InvalidInput::new(
                        format!("/events/{i}/mrr"),
                        "must not be negative",
                        format!(
                            "events[{i}].mrr {} is negative: MRR is 0 (not a customer) or more",
                            e.mrr
                        ),
                    )
                })?;
                if e.reason.is_some() && mrr.get() > 0.0 {
                    return Err(InvalidInput::new(
                        format!("/events/{i}/reason"),
                        "only on an event that sets MRR to 0",
                        format!("events[{i}] pays {}: a reason says why a customer left, so it goes on the event that sets MRR to 0", e.mrr),
                    ));
                }
                Ok(MrrEvent {
                    customer: ids.index_of(&e.customer_id.id, e.customer_id.numeric),
                    date: parse_day_with(|| format!("/events/{i}/date"), &e.date)?,
                    mrr: mrr.get(),
                    reason: e.reason,
                    segment,
                })
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        Ok(series_report(
            events,
            ids.len(),
            self.period,
            optional_day("/from", self.from.as_deref())?,
            optional_day("/to", self.to.as_deref())?,
            Confidence::new(self.confidence)?,
            options,
            (0..segments.values.len())
                .map(|s| segments.segment_values(s))
                .collect(),
        )?)
    }
}

/// MRR period series
///
/// From subscription MRR events (`{customer_id, date, mrr}`; a customer's MRR is its latest
/// event on or before a moment, 0 = not a customer) to one row per calendar period (week from
/// Monday, month, quarter, year; UTC): start/new/reactivated/retained/churned/end customers,
/// MRR at start and end with its movements, and each period's CRR, churn, gross and net MRR
/// churn, GRR, NRR and quick ratio from the same formulas as `/crr`, `/churn` and
/// `/revenue-churn`; CRR and churn with the Wilson score interval of their counts at
/// `confidence` (default 0.95; MRR figures are a census and carry none). Churn causes: an
/// event setting MRR to 0 may carry `reason` (`voluntary` or `delinquent`), and each period
/// then splits its churned customers and MRR by cause; `reactivation_window_days` counts a
/// customer back within that many days as kept rather than churned and reactivated; `as_of`
/// leaves later (scheduled) events out and sums the pending cancellations. `convention` or
/// `compare_conventions` adds each period's churn as the vendors count it
/// (`churn_by_convention`, docs/formulas.md § 16). Accepts `text/csv` (or the same columns as
/// an Arrow IPC stream or a Parquet file)
/// too: a header `customer_id,date,mrr` (and `reason`) and `period`, `from`, `to`,
/// `confidence`, `reactivation_window_days`, `as_of` as query parameters.
#[utoipa::path(
    post,
    path = "/series",
    tag = "records",
    operation_id = "mrr_series",
    params(("format" = Option<Format>, Query, description = "svg: the answer as a chart (also Accept: image/svg+xml); with either body"), ("period" = Option<Period>, Query, description = "With a text/csv body: the period"), ("from" = Option<String>, Query, description = "With a text/csv body: first day"), ("to" = Option<String>, Query, description = "With a text/csv body: last day"), ("confidence" = Option<f64>, Query, description = "With a text/csv body: the level of the Wilson intervals, 0.5 to 0.999 (default 0.95)"), ("reactivation_window_days" = Option<u64>, Query, description = "With a text/csv body: days within which a return to paying is not counted as churn and reactivation"), ("as_of" = Option<String>, Query, description = "With a text/csv body: events after this day are scheduled, not effective"), ("convention" = Option<Convention>, Query, description = "With a text/csv body: each period's churn as this vendor counts it"), ("compare_conventions" = Option<bool>, Query, description = "With a text/csv body: each period's churn under every convention"), ("ltv_margin_pct" = Option<f64>, Query, description = "With a text/csv body: each period's LTV estimate at this gross margin (percent)"), ("filter" = Option<String>, Query, description = "With a body of rows: attribute:in:a|b or attribute:not_in:a|b, comma-separated; attribute columns are the extra columns"), ("group_by" = Option<String>, Query, description = "With a body of rows: one or two attribute columns, comma-separated")),
    request_body(content(
        (SeriesRequest = "application/json"),
        (String = "text/csv", example = "customer_id,date,mrr\nacme,2026-01-10,100\nbeta,2026-02-03,50\n"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet")
    )),
    responses((status = 200, description = "One row per period, or with format=svg its chart", content((SeriesResponse = "application/json"), (String = "image/svg+xml"))))
)]
pub async fn series(
    State(state): State<AppState>,
    format: Format,
    records: Records,
) -> Result<crate::http::FiniteJson, ApiError> {
    // Parsing and computing both grow with the body: off the runtime, in the worker bound.
    crate::http::work::off_runtime(state, "series", move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<SeriesRequest>(&bytes)?,
            Records::Rows(body, q) => {
                let rows = body.read(state)?;
                let params: SeriesParams = query(q)?;
                let segmentation =
                    Segmentation::from_query(None, params.filter.clone(), params.group_by.clone())?;
                let summary = rows.header().contains(&"period");
                SeriesRequest {
                    period_summary: summary
                        .then(|| rows.rows("period_summary", PERIOD_SUMMARY_COLUMNS))
                        .transpose()?,
                    events: (!summary)
                        .then(|| {
                            if params.group_by.is_some() || params.filter.is_some() {
                                return segment_rows(&rows);
                            }
                            rows.rows("events", &["customer_id", "date", "mrr", "reason"])
                                .map(|rows| {
                                    text_ids(rows, |r: &mut MrrEventRow| &mut r.customer_id)
                                })
                        })
                        .transpose()?,
                    period: params.period,
                    from: params.from,
                    to: params.to,
                    confidence: params.confidence,
                    reactivation_window_days: params.reactivation_window_days.map(Count),
                    as_of: params.as_of,
                    convention: params.convention,
                    compare_conventions: params.compare_conventions,
                    ltv_margin_pct: params.ltv_margin_pct,
                    filter: segmentation.filter,
                    group_by: segmentation.group_by,
                }
            }
        };
        if format == Format::Json {
            return request.compute(state).and_then(crate::http::finite_json);
        }

        let answer = request.compute(state)?;
        charts::series_chart(&answer).map(crate::http::FiniteJson::svg)
    })
    .await
}

/// Rows with attribute columns (for `filter` and `group_by`): `customer_id,date,mrr[,reason]`
/// and the attributes.
fn segment_rows(rows: &super::Rows) -> Result<Vec<MrrEventRow>, ApiError> {
    attribute_rows(
        rows,
        "events",
        &["customer_id", "date", "mrr", "reason"],
        &["customer_id", "date", "mrr"],
    )?
    .into_iter()
    .enumerate()
    .map(|(i, (mut known, attributes))| {
        let mrr = known[2].parse::<f64>().map_err(|_| {
            InvalidInput::new(
                format!("/events/{i}/mrr"),
                "a number",
                format!("CSV line {}: mrr {:?} is not a number", i + 2, known[2]),
            )
        })?;
        let reason = match known[3].as_str() {
            "" => None,
            "voluntary" => Some(ChurnReason::Voluntary),
            "delinquent" => Some(ChurnReason::Delinquent),
            other => {
                return Err(InvalidInput::new(
                    format!("/events/{i}/reason"),
                    "voluntary or delinquent",
                    format!(
                        "CSV line {}: reason {other:?} is not voluntary or delinquent",
                        i + 2
                    ),
                )
                .into())
            }
        };
        Ok(MrrEventRow {
            customer_id: CustomerId {
                id: std::mem::take(&mut known[0]),
                numeric: false,
            },
            date: std::mem::take(&mut known[1]),
            mrr,
            reason,
            attributes: attribute_map(attributes),
        })
    })
    .collect()
}

/// The examples of `POST /series` in the spec, each answered as a request would be.
pub fn series_examples() -> Examples {
    Examples::of::<SeriesRequest>(vec![
        example(
            "monthly_mrr_series",
            "Four customers over three months: new, expansion, churn, reactivation, contraction",
            json!({"period": "month", "events": [
                {"customer_id": "acme", "date": "2026-01-10", "mrr": 100},
                {"customer_id": "beta", "date": "2026-01-15", "mrr": 50},
                {"customer_id": "acme", "date": "2026-02-03", "mrr": 150},
                {"customer_id": "beta", "date": "2026-02-20", "mrr": 0},
                {"customer_id": "cogs", "date": "2026-02-11", "mrr": 30},
                {"customer_id": "beta", "date": "2026-03-05", "mrr": 40},
                {"customer_id": "cogs", "date": "2026-03-01", "mrr": 20},
                {"customer_id": "dyna", "date": "2026-03-20", "mrr": 80}
            ]}),
        ),
        example(
            "period_summary_from_sql",
            "The same four customers as period_summary rows (what GET /sql/series computes in a warehouse): the same series",
            json!({"period": "month", "period_summary": [
                {"period": "2026-01-01", "first_seen_customers": 2, "events": 2, "new_customers": 2, "new_mrr": 150},
                {"period": "2026-02-01", "first_seen_customers": 1, "events": 3, "new_customers": 1, "churned_customers": 1, "new_mrr": 30, "expansion_mrr": 50, "churned_mrr": 50},
                {"period": "2026-03-01", "first_seen_customers": 1, "events": 3, "new_customers": 1, "reactivated_customers": 1, "new_mrr": 80, "contraction_mrr": 10, "reactivation_mrr": 40}
            ]}),
        ),
        example(
            "plan_switch_by_plan",
            "Segments by plan: acme moves from plan A at 50 to plan B at 30 in February (a move out of A and into B; the total's MRR contracts by 20), with ARPA, ARR, the change against the month before and an LTV estimate at an 80 % margin",
            json!({"period": "month", "group_by": ["plan"], "ltv_margin_pct": 80, "events": [
                {"customer_id": "acme", "date": "2026-01-05", "mrr": 50, "attributes": {"plan": "A"}},
                {"customer_id": "beta", "date": "2026-01-20", "mrr": 40, "attributes": {"plan": "A"}},
                {"customer_id": "cogs", "date": "2026-01-25", "mrr": 30, "attributes": {"plan": "B"}},
                {"customer_id": "acme", "date": "2026-02-10", "mrr": 30, "attributes": {"plan": "B"}},
                {"customer_id": "cogs", "date": "2026-03-02", "mrr": 0, "attributes": {"plan": "B"}}
            ]}),
        ),
        example(
            "refused_negative_mrr",
            "A negative MRR: refused",
            json!({"period": "month", "events": [{"customer_id": "acme", "date": "2026-01-10", "mrr": -5}]}),
        ),
    ])
}
