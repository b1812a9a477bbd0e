//! `POST /series`, `POST /cohorts` and `POST /survival`: raw records (JSON or CSV) to KPIs
//! over time.

use std::collections::BTreeMap;
use std::fmt;

use axum::extract::{FromRequest, Request, State};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{parse_json, read_body, BodyKind};
use super::{AppState, Compute};
use crate::analytics::cohorts::{cohort_table, Activity, CohortTable, Retention};
use crate::analytics::periods::{parse_day, CalendarPeriod};
use crate::analytics::series::{mrr_series, Interner, MrrEvent, PeriodFigures};
use crate::analytics::survival::{
    check, kaplan_meier, log_rank, LogRankTest, Observation, SurvivalCurve,
};
use crate::kpi::InvalidInput;
use serde_json::json;

/// A customer id given as a string or a whole number.
/// A customer id as given: a string, or a whole number — kept apart from the string of the
/// same digits, so that `1` and `"1"` are two customers, as their JSON types say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerId {
    pub id: String,
    /// Given as a JSON number.
    pub numeric: bool,
}

impl<'de> Deserialize<'de> for CustomerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = CustomerId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a customer id (string or whole number)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CustomerId, E> {
                Ok(CustomerId {
                    id: v.to_owned(),
                    numeric: false,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CustomerId, E> {
                Ok(CustomerId {
                    id: v.to_string(),
                    numeric: true,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CustomerId, E> {
                Ok(CustomerId {
                    id: v.to_string(),
                    numeric: true,
                })
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Refuses more rows than `MAX_EVENTS`, naming the collection.
fn within_max_events(rows: usize, collection: &str, max: usize) -> Result<(), InvalidInput> {
    if rows > max {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            format!("at most {max} rows"),
            format!("{rows} {collection} given; a request takes at most {max} (MAX_EVENTS)"),
        ));
    }
    Ok(())
}

/// CSV cells have no type: every id read from CSV is text (`1` and `abc` alike).
fn text_ids<T>(mut rows: Vec<T>, id: impl Fn(&mut T) -> &mut CustomerId) -> Vec<T> {
    for row in &mut rows {
        id(row).numeric = false;
    }
    rows
}

/// `true`/`false`, `1`/`0` (as CSV writes them).
fn bool_like<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct BoolVisitor;
    impl Visitor<'_> for BoolVisitor {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("true or false (or 1 or 0)")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(E::custom(format!("{v} is not 0 or 1"))),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            self.visit_u64(u64::try_from(v).map_err(|_| E::custom(format!("{v} is not 0 or 1")))?)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                other => Err(E::custom(format!("{other:?} is not true or false"))),
            }
        }
    }
    deserializer.deserialize_any(BoolVisitor)
}

/// Calendar period of a series or cohort table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodName {
    Week,
    #[default]
    Month,
    Quarter,
    Year,
}

impl From<PeriodName> for CalendarPeriod {
    fn from(p: PeriodName) -> Self {
        match p {
            PeriodName::Week => CalendarPeriod::Week,
            PeriodName::Month => CalendarPeriod::Month,
            PeriodName::Quarter => CalendarPeriod::Quarter,
            PeriodName::Year => CalendarPeriod::Year,
        }
    }
}

/// A body as JSON, or as CSV rows plus query parameters.
/// Query parameters carry the settings of a CSV body only: with JSON they belong in the body,
/// and are refused rather than silently ignored.
pub enum Records {
    Json(axum::body::Bytes),
    Csv(axum::body::Bytes, Option<String>),
}

impl FromRequest<AppState> for Records {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let query = request
            .uri()
            .query()
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        match read_body(request, state, true).await? {
            (BodyKind::Json, _) if query.is_some() => Err(ApiError::InvalidBody {
                pointer: String::new(),
                reason: "query parameters are for text/csv bodies".to_owned(),
                detail: "query parameters set the options of a text/csv body; with a JSON body, put them in the body".to_owned(),
            }),
            (BodyKind::Json, bytes) => Ok(Records::Json(bytes)),
            (BodyKind::Csv, bytes) => Ok(Records::Csv(bytes, query)),
        }
    }
}

/// Parses CSV rows (a header row naming the columns) into `T`s; a bad cell is refused with
/// the pointer `/{collection}/{row}/{column}` (row 0 is the first line after the header).
pub fn csv_rows<T: DeserializeOwned>(bytes: &[u8], collection: &str) -> Result<Vec<T>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::MalformedJson(format!("the CSV header could not be read: {e}")))?
        .clone();
    let mut rows = Vec::new();
    for (row, record) in reader.deserialize::<T>().enumerate() {
        match record {
            Ok(value) => rows.push(value),
            Err(error) => {
                let column = match error.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => err
                        .field()
                        .and_then(|i| headers.get(i as usize))
                        .map(str::to_owned),
                    _ => None,
                };
                let message = match error.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
                    _ => error.to_string(),
                };
                let pointer = match &column {
                    Some(c) => format!("/{collection}/{row}/{c}"),
                    None => format!("/{collection}/{row}"),
                };
                return Err(ApiError::InvalidBody {
                    detail: format!("CSV line {}: {message}", row + 2),
                    pointer,
                    reason: message,
                });
            }
        }
    }
    Ok(rows)
}

fn query<T: DeserializeOwned>(query: Option<String>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(query.as_deref().unwrap_or("")).map_err(|e| ApiError::InvalidBody {
        pointer: String::new(),
        reason: e.to_string(),
        detail: format!("query parameters: {e}"),
    })
}

fn optional_day(
    pointer: &str,
    text: Option<&str>,
) -> Result<Option<chrono::NaiveDate>, InvalidInput> {
    text.map(|t| parse_day(pointer, t)).transpose()
}

// ----- /series -----

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
}

/// Subscription events and the period to report by.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesRequest {
    pub events: Vec<MrrEventRow>,
    pub period: PeriodName,
    /// First day to report (default: the first event's period).
    pub from: Option<String>,
    /// Last day to report (default: the last event's period).
    pub to: Option<String>,
}

/// Query parameters of a CSV `/series` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesParams {
    period: PeriodName,
    from: Option<String>,
    to: Option<String>,
}

/// The series.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesResponse {
    pub period: PeriodName,
    pub customers: usize,
    pub events: usize,
    pub periods: Vec<PeriodFigures>,
    /// How the counts are defined.
    pub definitions: Vec<String>,
}

impl Compute for SeriesRequest {
    type Output = SeriesResponse;
    fn compute(self, state: &AppState) -> Result<SeriesResponse, ApiError> {
        let mut ids = Interner::default();
        within_max_events(self.events.len(), "events", state.config.max_events)?;
        let count = self.events.len();
        let events = self
            .events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                if !e.mrr.is_finite() || e.mrr < 0.0 {
                    return Err(InvalidInput::new(
                        format!("/events/{i}/mrr"),
                        "must not be negative",
                        format!(
                            "events[{i}].mrr {} is negative: MRR is 0 (not a customer) or more",
                            e.mrr
                        ),
                    ));
                }
                Ok(MrrEvent {
                    customer: ids.index_of(&e.customer_id.id, e.customer_id.numeric),
                    date: parse_day(&format!("/events/{i}/date"), &e.date)?,
                    mrr: e.mrr,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let periods = mrr_series(
            events,
            self.period.into(),
            optional_day("/from", self.from.as_deref())?,
            optional_day("/to", self.to.as_deref())?,
        )?;
        Ok(SeriesResponse {
            period: self.period,
            customers: ids.len(),
            events: count,
            periods,
            definitions: vec![
                "A customer's MRR at a moment is its latest event on or before it; 0 means not a customer. A period's start is before its first day, its end after its last day.".to_owned(),
                "start S = active at the start; retained = active at start and end; new = active at the end, never a customer before; reactivated = active at the end, not at the start, a customer before; N for CRR = new + reactivated.".to_owned(),
                "MRR movements compare each customer's MRR at the period's start and end: expansion and contraction for retained customers, new, reactivation and churned MRR for the others; end MRR = start + new + reactivation + expansion - contraction - churned.".to_owned(),
            ],
        })
    }
}

/// MRR period series
///
/// From subscription MRR events (`{customer_id, date, mrr}`; a customer's MRR is its latest
/// event on or before a moment, 0 = not a customer) to one row per calendar period (week from
/// Monday, month, quarter, year; UTC): start/new/reactivated/retained/churned/end customers,
/// MRR at start and end with its movements, and each period's CRR, churn, gross and net MRR
/// churn, GRR, NRR and quick ratio from the same formulas as `/crr`, `/churn` and
/// `/revenue-churn`. Accepts `text/csv` too: a header `customer_id,date,mrr` and `period`,
/// `from`, `to` as query parameters.
#[utoipa::path(
    post,
    path = "/series",
    tag = "records",
    operation_id = "mrr_series",
    params(("period" = Option<PeriodName>, Query, description = "With a text/csv body: the period"), ("from" = Option<String>, Query, description = "With a text/csv body: first day"), ("to" = Option<String>, Query, description = "With a text/csv body: last day")),
    request_body(content(
        (SeriesRequest = "application/json"),
        (String = "text/csv", example = "customer_id,date,mrr\\nacme,2026-01-10,100\\nbeta,2026-02-03,50\\n")
    )),
    responses((status = 200, description = "One row per period", body = SeriesResponse))
)]
pub async fn series(
    State(state): State<AppState>,
    records: Records,
) -> Result<super::FiniteJson, ApiError> {
    // Parsing and computing both grow with the body: off the runtime, in the worker bound.
    super::work::off_runtime(state, "series", move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<SeriesRequest>(&bytes)?,
            Records::Csv(bytes, q) => {
                let params: SeriesParams = query(q)?;
                SeriesRequest {
                    events: text_ids(csv_rows(&bytes, "events")?, |r: &mut MrrEventRow| {
                        &mut r.customer_id
                    }),
                    period: params.period,
                    from: params.from,
                    to: params.to,
                }
            }
        };
        request.compute(state).and_then(super::finite_json)
    })
    .await
}

// ----- /cohorts -----

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
}

/// How a customer counts as retained at an offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionName {
    /// Active in that very period.
    #[default]
    Bounded,
    /// Active in that period or later.
    Unbounded,
}

/// Activity events and how to cut them into cohorts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortsRequest {
    pub events: Vec<ActivityRow>,
    /// Default `month`.
    #[serde(default)]
    pub period: PeriodName,
    /// Default `bounded`.
    #[serde(default)]
    pub retention: RetentionName,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CohortParams {
    #[serde(default)]
    period: PeriodName,
    #[serde(default)]
    retention: RetentionName,
}

impl Compute for CohortsRequest {
    type Output = CohortTable;
    fn compute(self, state: &AppState) -> Result<CohortTable, ApiError> {
        within_max_events(self.events.len(), "events", state.config.max_events)?;
        let mut ids = Interner::default();
        let activities = self
            .events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                if let Some(a) = e.amount.filter(|a| !a.is_finite() || *a < 0.0) {
                    return Err(InvalidInput::new(
                        format!("/events/{i}/amount"),
                        "must not be negative",
                        format!("events[{i}].amount {a} is negative"),
                    ));
                }
                Ok(Activity {
                    customer: ids.index_of(&e.customer_id.id, e.customer_id.numeric),
                    date: parse_day(&format!("/events/{i}/date"), &e.date)?,
                    amount: e.amount,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let retention = match self.retention {
            RetentionName::Bounded => Retention::Bounded,
            RetentionName::Unbounded => Retention::Unbounded,
        };
        Ok(cohort_table(
            &activities,
            ids.len(),
            self.period.into(),
            retention,
        )?)
    }
}

/// Cohort retention table
///
/// Cohorts by the period of each customer's first activity; per cohort the customers active
/// at each period offset (`bounded`: in that very period; `unbounded`: then or later) as counts
/// and shares, revenue and revenue retention when amounts are given; the size-weighted
/// average curve; and the repeat purchase rate. Accepts `text/csv` too (header
/// `customer_id,date,amount`; `period`, `retention` as query parameters).
#[utoipa::path(
    post,
    path = "/cohorts",
    tag = "records",
    operation_id = "cohort_table",
    params(("period" = Option<PeriodName>, Query, description = "With a text/csv body"), ("retention" = Option<RetentionName>, Query, description = "With a text/csv body")),
    request_body(content(
        (CohortsRequest = "application/json"),
        (String = "text/csv", example = "customer_id,date,amount\\nann,2026-01-05,40\\nann,2026-02-11,25\\nbob,2026-01-20,60\\n")
    )),
    responses((status = 200, description = "The cohort table", body = CohortTable))
)]
pub async fn cohorts(
    State(state): State<AppState>,
    records: Records,
) -> Result<super::FiniteJson, ApiError> {
    super::work::off_runtime(state, "cohorts", move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<CohortsRequest>(&bytes)?,
            Records::Csv(bytes, q) => {
                let params: CohortParams = query(q)?;
                CohortsRequest {
                    events: text_ids(csv_rows(&bytes, "events")?, |r: &mut ActivityRow| {
                        &mut r.customer_id
                    }),
                    period: params.period,
                    retention: params.retention,
                }
            }
        };
        request.compute(state).and_then(super::finite_json)
    })
    .await
}

// ----- /survival -----

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
    pub group: Option<String>,
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
}

/// Unit of durations built from subscriptions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DurationUnit {
    #[default]
    Day,
    Week,
    /// 365.25 / 12 = 30.4375 days.
    Month,
}

impl DurationUnit {
    fn days(self) -> f64 {
        match self {
            DurationUnit::Day => 1.0,
            DurationUnit::Week => 7.0,
            DurationUnit::Month => 365.25 / 12.0,
        }
    }
}

/// Observations, or subscriptions with the date they are observed at.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurvivalRequest {
    pub observations: Option<Vec<ObservationRow>>,
    pub subscriptions: Option<Vec<SubscriptionRow>>,
    /// With `subscriptions`: the date they are observed at (`YYYY-MM-DD`).
    pub as_of: Option<String>,
    /// With `subscriptions`: the unit of durations (default `day`).
    pub unit: Option<DurationUnit>,
    /// Restricted mean lifetime up to this time (default: the longest duration).
    #[schema(minimum = 0)]
    pub horizon: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SurvivalParams {
    as_of: Option<String>,
    unit: Option<DurationUnit>,
    horizon: Option<f64>,
}

/// One group's curve.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupCurve {
    pub group: String,
    pub customers: usize,
    pub curve: SurvivalCurve,
}

/// Survival curves.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurvivalResponse {
    /// The unit of `timeline` (when built from subscriptions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<DurationUnit>,
    pub customers: usize,
    /// Everyone together.
    pub curve: SurvivalCurve,
    /// One curve per group, when rows carry a `group`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupCurve>,
    /// Log-rank test of equal survival across the groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_rank: Option<LogRankTest>,
    pub notes: Vec<String>,
}

impl Compute for SurvivalRequest {
    type Output = SurvivalResponse;
    fn compute(self, state: &AppState) -> Result<SurvivalResponse, ApiError> {
        let observations_given = self.observations.is_some();
        let (rows, unit): (Vec<(Observation, Option<String>)>, Option<DurationUnit>) = match (
            self.observations,
            self.subscriptions,
        ) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "/subscriptions",
                    "give observations or subscriptions, not both",
                    "the body has both observations and subscriptions: send one or the other",
                )
                .into())
            }
            (Some(observations), None) => (
                observations
                    .into_iter()
                    .map(|o| {
                        (
                            Observation {
                                // −0.0 is 0: it must not sort before the S(0) = 1 point.
                                duration: o.duration + 0.0,
                                observed: o.observed,
                            },
                            o.group,
                        )
                    })
                    .collect(),
                None,
            ),
            (None, Some(subscriptions)) => {
                let as_of = self.as_of.ok_or_else(|| InvalidInput::new("/as_of", "required with subscriptions", "as_of (YYYY-MM-DD) is required with subscriptions: the date they are observed at"))?;
                let as_of = parse_day("/as_of", &as_of)?;
                let unit = self.unit.unwrap_or_default();
                let rows = subscriptions
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let start = parse_day(&format!("/subscriptions/{i}/start"), &s.start)?;
                        let end = optional_day(
                            &format!("/subscriptions/{i}/end"),
                            s.end.as_deref().filter(|e| !e.is_empty()),
                        )?;
                        if start > as_of {
                            return Err(InvalidInput::new(
                                format!("/subscriptions/{i}/start"),
                                "must not be after as_of",
                                format!("subscriptions[{i}] starts {start}, after as_of {as_of}"),
                            ));
                        }
                        if let Some(end) = end.filter(|e| *e < start) {
                            return Err(InvalidInput::new(
                                format!("/subscriptions/{i}/end"),
                                "must not be before start",
                                format!("subscriptions[{i}] ends {end}, before it starts {start}"),
                            ));
                        }
                        let observed = end.is_some_and(|e| e <= as_of);
                        let stop = end.filter(|e| *e <= as_of).unwrap_or(as_of);
                        let duration = (stop - start).num_days() as f64 / unit.days();
                        Ok((Observation { duration, observed }, s.group))
                    })
                    .collect::<Result<Vec<_>, InvalidInput>>()?;
                (rows, Some(unit))
            }
            (None, None) => return Err(InvalidInput::new(
                "/observations",
                "required unless subscriptions are given",
                "give observations (duration, observed) or subscriptions (start, end) with as_of",
            )
            .into()),
        };
        within_max_events(
            rows.len(),
            if observations_given {
                "observations"
            } else {
                "subscriptions"
            },
            state.config.max_events,
        )?;
        let all: Vec<Observation> = rows.iter().map(|r| r.0).collect();
        check(&all)?;
        if let Some(h) = self.horizon.filter(|h| !h.is_finite() || *h < 0.0) {
            return Err(InvalidInput::new(
                "/horizon",
                "must be 0 or more",
                format!("horizon {h} must be a time of 0 or more"),
            )
            .into());
        }
        let mut by_group: BTreeMap<String, Vec<Observation>> = BTreeMap::new();
        let grouped = rows.iter().any(|r| r.1.is_some());
        if grouped {
            for (o, g) in &rows {
                by_group
                    .entry(g.clone().unwrap_or_default())
                    .or_default()
                    .push(*o);
            }
        }
        let max_groups = state.config.max_survival_groups;
        if by_group.len() > max_groups {
            let field = if observations_given {
                "/observations"
            } else {
                "/subscriptions"
            };
            return Err(InvalidInput::new(
                field,
                format!("at most {max_groups} groups"),
                format!(
                    "the rows name {} groups; a survival request compares at most {max_groups} (MAX_SURVIVAL_GROUPS)",
                    by_group.len()
                ),
            )
            .into());
        }
        let groups: Vec<GroupCurve> = by_group
            .iter()
            .map(|(g, obs)| GroupCurve {
                group: g.clone(),
                customers: obs.len(),
                curve: kaplan_meier(obs, self.horizon),
            })
            .collect();
        let samples: Vec<Vec<Observation>> = by_group.into_values().collect();
        let log_rank_test = log_rank(&samples);
        let mut notes = vec!["Kaplan-Meier estimate; 95 % band from Greenwood's variance with the log(-log) transform, as lifelines' KaplanMeierFitter.".to_owned()];
        if grouped && samples.len() >= 2 && log_rank_test.is_none() {
            notes.push(
                "No log-rank test: no group churned, or the groups cannot be compared.".to_owned(),
            );
        }
        if grouped && rows.iter().any(|r| r.1.is_none()) {
            notes.push("Rows without a group form the group \"\".".to_owned());
        }
        Ok(SurvivalResponse {
            unit,
            customers: all.len(),
            curve: kaplan_meier(&all, self.horizon),
            groups,
            log_rank: log_rank_test,
            notes,
        })
    }
}

/// Kaplan–Meier survival
///
/// From `observations` (`duration`, `observed` = false for a customer still active) or
/// `subscriptions` (`start`, `end` or null) with `as_of` and `unit`: the Kaplan–Meier curve
/// (`timeline`, `survival`, 95 % `ci_lower`/`ci_upper` from Greenwood's variance with the
/// log(−log) transform, as lifelines computes them), median and restricted mean lifetime; with a
/// `group` per row, one curve per group and a log-rank test between them. Accepts `text/csv`
/// (header `duration,observed,group` or `start,end,group`; `as_of`, `unit`, `horizon` as
/// query parameters).
#[utoipa::path(
    post,
    path = "/survival",
    tag = "records",
    operation_id = "survival_curve",
    params(("as_of" = Option<String>, Query, description = "With a text/csv body of subscriptions"), ("unit" = Option<DurationUnit>, Query, description = "With a text/csv body of subscriptions"), ("horizon" = Option<f64>, Query, description = "With a text/csv body")),
    request_body(content(
        (SurvivalRequest = "application/json"),
        (String = "text/csv", example = "duration,observed,group\\n3,1,monthly\\n12,0,annual\\n")
    )),
    responses((status = 200, description = "The curves and the test", body = SurvivalResponse))
)]
pub async fn survival(
    State(state): State<AppState>,
    records: Records,
) -> Result<super::FiniteJson, ApiError> {
    super::work::off_runtime(state, "survival", move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<SurvivalRequest>(&bytes)?,
            Records::Csv(bytes, q) => {
                let params: SurvivalParams = query(q)?;
                let header = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|t| t.lines().next())
                    .unwrap_or("");
                let columns: Vec<&str> = header.split(',').map(str::trim).collect();
                let (observations, subscriptions) = if columns.contains(&"duration") {
                    (Some(csv_rows(&bytes, "observations")?), None)
                } else {
                    (None, Some(csv_rows(&bytes, "subscriptions")?))
                };
                SurvivalRequest {
                    observations,
                    subscriptions,
                    as_of: params.as_of,
                    unit: params.unit,
                    horizon: params.horizon,
                }
            }
        };
        request.compute(state).and_then(super::finite_json)
    })
    .await
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
            "refused_negative_mrr",
            "A negative MRR: refused",
            json!({"period": "month", "events": [{"customer_id": "acme", "date": "2026-01-10", "mrr": -5}]}),
        ),
    ])
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
            "refused_bad_date",
            "A date that does not exist: refused",
            json!({"events": [{"customer_id": "ann", "date": "2026-02-30"}]}),
        ),
    ])
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
                ], "horizon": 12}),
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
                "refused_end_before_start",
                "A subscription ending before it starts: refused",
                json!({"as_of": "2026-11-01", "subscriptions": [{"start": "2026-05-01", "end": "2026-04-01"}]}),
            ),
    ])
}
