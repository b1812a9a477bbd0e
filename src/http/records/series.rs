//! `POST /series`: subscription MRR events (JSON or CSV) to one row per calendar period.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{csv_rows, optional_day, query, text_ids, within_max_events, CustomerId, Records};
use crate::analytics::periods::parse_day;
use crate::analytics::series::{
    series_report, ChurnReason, ConventionChoice, Interner, MrrEvent, SeriesOptions, SeriesResponse,
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
}

/// Subscription events and the period to report by.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesRequest {
    pub events: Vec<MrrEventRow>,
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
}

impl Compute for SeriesRequest {
    type Output = SeriesResponse;
    fn compute(self, state: &AppState) -> Result<SeriesResponse, ApiError> {
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
        };
        let mut ids = Interner::default();
        within_max_events(self.events.len(), "events", state.config.max_events)?;
        let events = self
            .events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
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
                    date: parse_day(&format!("/events/{i}/date"), &e.date)?,
                    mrr: mrr.get(),
                    reason: e.reason,
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
/// (`churn_by_convention`, docs/formulas.md § 16). Accepts `text/csv`
/// too: a header `customer_id,date,mrr` (and `reason`) and `period`, `from`, `to`,
/// `confidence`, `reactivation_window_days`, `as_of` as query parameters.
#[utoipa::path(
    post,
    path = "/series",
    tag = "records",
    operation_id = "mrr_series",
    params(("format" = Option<Format>, Query, description = "svg: the answer as a chart (also Accept: image/svg+xml); with either body"), ("period" = Option<Period>, Query, description = "With a text/csv body: the period"), ("from" = Option<String>, Query, description = "With a text/csv body: first day"), ("to" = Option<String>, Query, description = "With a text/csv body: last day"), ("confidence" = Option<f64>, Query, description = "With a text/csv body: the level of the Wilson intervals, 0.5 to 0.999 (default 0.95)"), ("reactivation_window_days" = Option<u64>, Query, description = "With a text/csv body: days within which a return to paying is not counted as churn and reactivation"), ("as_of" = Option<String>, Query, description = "With a text/csv body: events after this day are scheduled, not effective"), ("convention" = Option<Convention>, Query, description = "With a text/csv body: each period's churn as this vendor counts it"), ("compare_conventions" = Option<bool>, Query, description = "With a text/csv body: each period's churn under every convention")),
    request_body(content(
        (SeriesRequest = "application/json"),
        (String = "text/csv", example = "customer_id,date,mrr\nacme,2026-01-10,100\nbeta,2026-02-03,50\n")
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
            Records::Csv(bytes, q) => {
                let params: SeriesParams = query(q)?;
                SeriesRequest {
                    events: text_ids(
                        csv_rows(&bytes, "events", &["customer_id", "date", "mrr", "reason"])?,
                        |r: &mut MrrEventRow| &mut r.customer_id,
                    ),
                    period: params.period,
                    from: params.from,
                    to: params.to,
                    confidence: params.confidence,
                    reactivation_window_days: params.reactivation_window_days.map(Count),
                    as_of: params.as_of,
                    convention: params.convention,
                    compare_conventions: params.compare_conventions,
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
