//! `POST /survival/competing`: why customers leave — the cumulative incidence of each churn
//! cause (JSON or CSV).

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{query, within_max_events, Records, SubscriptionClock};
use crate::analytics::competing::{competing_risks, CompetingRisks};
use crate::http::charts::{self, Format};
use crate::http::error::ApiError;
use crate::http::examples::{example, Examples};
use crate::http::extract::parse_json;
use crate::http::{AppState, Compute};
use crate::kpi::{Confidence, InvalidInput};
use crate::units::TimeUnit;

/// A customer's observed time and why it ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CauseRow {
    /// Tenure at leaving, or now for a customer still active.
    #[schema(minimum = 0)]
    pub duration: f64,
    /// Why the customer left (`voluntary`, `involuntary`, …); null (empty in CSV) while still
    /// a customer.
    pub cause: Option<String>,
    /// The tenure the customer was first observed at (late entry; default 0).
    #[schema(minimum = 0)]
    pub entry: Option<f64>,
    pub group: Option<String>,
}

/// A subscription and why it ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CauseSubscriptionRow {
    /// `YYYY-MM-DD`.
    pub start: String,
    /// `YYYY-MM-DD`, or null while active.
    pub end: Option<String>,
    /// Why it ended; required when it ended by `as_of`.
    pub cause: Option<String>,
    pub group: Option<String>,
}

/// Customers with the cause they left for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompetingRequest {
    pub observations: Option<Vec<CauseRow>>,
    pub subscriptions: Option<Vec<CauseSubscriptionRow>>,
    /// With `subscriptions`: the date they are observed at.
    pub as_of: Option<String>,
    /// With `subscriptions`: the first day the data cover (late entry before it).
    pub observed_from: Option<String>,
    /// With `subscriptions`: the unit of durations (default `day`).
    pub unit: Option<TimeUnit>,
    /// Level of the bands, 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompetingParams {
    as_of: Option<String>,
    observed_from: Option<String>,
    unit: Option<TimeUnit>,
    confidence: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct CsvCauseRow {
    duration: f64,
    cause: Option<String>,
    entry: Option<f64>,
    group: Option<String>,
}

impl Compute for CompetingRequest {
    type Output = CompetingRisks;
    fn compute(self, state: &AppState) -> Result<CompetingRisks, ApiError> {
        let (rows, collection) = match (self.observations, self.subscriptions) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new("/subscriptions", "give observations or subscriptions, not both", "the body has both observations and subscriptions: send one or the other").into())
            }
            (Some(observations), None) => {
                let rows = observations
                    .into_iter()
                    .map(|o| (o.entry.unwrap_or(0.0) + 0.0, o.duration + 0.0, o.cause, o.group))
                    .collect::<Vec<_>>();
                (rows, "observations")
            }
            (None, Some(subscriptions)) => {
                let clock = SubscriptionClock::new(self.as_of.as_deref(), self.observed_from.as_deref(), self.unit)?;
                let rows = subscriptions
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let o = clock.observe(i, &s.start, s.end.as_deref())?;
                        let cause = s.cause.filter(|c| !c.is_empty());
                        match (o.observed, &cause) {
                            (true, None) => Err(InvalidInput::new(format!("/subscriptions/{i}/cause"), "required for a subscription that ended", format!("subscriptions[{i}] ended on {} with no cause: say why it ended (voluntary, involuntary, …)", s.end.clone().unwrap_or_default()))),
                            (false, Some(c)) => Err(InvalidInput::new(format!("/subscriptions/{i}/cause"), "only for a subscription that ended by as_of", format!("subscriptions[{i}] has cause {c:?} but had not ended by as_of {}", clock.as_of()))),
                            _ => Ok((o.entry, o.duration, cause, s.group)),
                        }
                    })
                    .collect::<Result<Vec<_>, InvalidInput>>()?;
                (rows, "subscriptions")
            }
            (None, None) => {
                return Err(InvalidInput::new("/observations", "required unless subscriptions are given", "give observations (duration, cause) or subscriptions (start, end, cause) with as_of").into())
            }
        };
        within_max_events(rows.len(), collection, state.config.max_events)?;
        Ok(competing_risks(
            &rows,
            Confidence::new(self.confidence)?,
            collection,
            state.config.max_survival_groups,
        )?)
    }
}

/// Competing churn causes
///
/// Why customers leave: from `observations` (`duration`, `cause` — null while still a
/// customer — optional `entry` and `group`) or `subscriptions` (`start`, `end`, `cause`) with
/// `as_of`, the Aalen–Johansen cumulative incidence of each cause over tenure with its
/// infinitesimal-jackknife standard error and 95 % band (as R's `survfit(Surv(time, cause))`
/// gives them), per group too, and beside it 1 − Kaplan–Meier with the other causes
/// censored, which overstates each cause; the answer's notes say by how much. Accepts
/// `text/csv`, an Arrow IPC stream or a Parquet file (columns `duration,cause,entry,group` or `start,end,cause,group`; options as
/// query parameters).
#[utoipa::path(
    post,
    path = "/survival/competing",
    tag = "records",
    operation_id = "competing_risks",
    params(("format" = Option<Format>, Query, description = "svg: the answer as a chart of the cumulative incidence (also Accept: image/svg+xml); with either body"), ("as_of" = Option<String>, Query, description = "With a text/csv body of subscriptions"), ("observed_from" = Option<String>, Query, description = "With a text/csv body of subscriptions"), ("unit" = Option<TimeUnit>, Query, description = "With a text/csv body of subscriptions"), ("confidence" = Option<f64>, Query, description = "With a text/csv body")),
    request_body(content(
        (CompetingRequest = "application/json"),
        (String = "text/csv", example = "duration,cause\n2,voluntary\n3,involuntary\n5,\n6,voluntary\n"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet")
    )),
    responses((status = 200, description = "The cumulative incidence of each cause, or with format=svg its chart", content((CompetingRisks = "application/json"), (String = "image/svg+xml"))))
)]
pub async fn competing(
    State(state): State<AppState>,
    format: Format,
    records: Records,
) -> Result<crate::http::FiniteJson, ApiError> {
    crate::http::work::off_runtime(state, "competing", move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<CompetingRequest>(&bytes)?,
            Records::Rows(body, q) => {
                let rows = body.read(state)?;
                let params: CompetingParams = query(q)?;
                let columns = rows.header();
                let (observations, subscriptions) = if columns.contains(&"duration") {
                    let rows: Vec<CsvCauseRow> =
                        rows.rows("observations", &["duration", "cause", "entry", "group"])?;
                    (
                        Some(
                            rows.into_iter()
                                .map(|r| CauseRow {
                                    duration: r.duration,
                                    cause: r.cause,
                                    entry: r.entry,
                                    group: r.group,
                                })
                                .collect(),
                        ),
                        None,
                    )
                } else {
                    (
                        None,
                        Some(rows.rows("subscriptions", &["start", "end", "cause", "group"])?),
                    )
                };
                CompetingRequest {
                    observations,
                    subscriptions,
                    as_of: params.as_of,
                    observed_from: params.observed_from,
                    unit: params.unit,
                    confidence: params.confidence,
                }
            }
        };
        if format == Format::Json {
            return request.compute(state).and_then(crate::http::finite_json);
        }
        let answer = request.compute(state)?;
        charts::competing_chart(&answer).map(crate::http::FiniteJson::svg)
    })
    .await
}

/// The examples of `POST /survival/competing`.
pub fn competing_examples() -> Examples {
    Examples::of::<CompetingRequest>(vec![
        example(
            "causes_voluntary_and_involuntary",
            "Months until a customer cancelled (voluntary) or its payment failed for good (involuntary); null: still a customer",
            json!({"observations": [
                {"duration": 1, "cause": "involuntary"}, {"duration": 2, "cause": "voluntary"}, {"duration": 2, "cause": null},
                {"duration": 3, "cause": "voluntary"}, {"duration": 3, "cause": "involuntary"}, {"duration": 4, "cause": null},
                {"duration": 5, "cause": "voluntary"}, {"duration": 6, "cause": "voluntary"}, {"duration": 6, "cause": null},
                {"duration": 8, "cause": "involuntary"}, {"duration": 9, "cause": "voluntary"}, {"duration": 12, "cause": null}
            ]}),
        ),
        example(
            "refused_cause_without_end",
            "A subscription still running with a cause: refused",
            json!({"as_of": "2026-11-01", "unit": "month", "subscriptions": [
                {"start": "2026-01-01", "end": "2026-04-01", "cause": "voluntary"},
                {"start": "2026-02-01", "end": null, "cause": "involuntary"}
            ]}),
        ),
    ])
}
