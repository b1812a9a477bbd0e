//! `POST /forecast`: MRR and customers for the next periods, by trend, by retention, and
//! committed MRR.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::{Confidence, InvalidInput};
use crate::models::forecast::{
    committed_mrr, retention_forecast, trends, CohortHistory, ForecastResponse, MAX_AHEAD,
    MAX_COHORTS,
};

/// One past period: its MRR and customers at its end (as `/series` gives `end_mrr` and
/// `end_customers`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRow {
    /// A label (e.g. `2026-03`); the rows are in time order.
    pub period: Option<String>,
    #[schema(minimum = 0)]
    pub mrr: f64,
    #[schema(minimum = 0)]
    pub customers: f64,
}

/// One cohort's survivors, for the retention path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortRow {
    pub name: Option<String>,
    /// Customers at the start of periods 0, 1, …, the last being the current period (whole
    /// counts, never rising; at least 3).
    pub survivors: Vec<f64>,
    /// The cohort's average revenue per account per period.
    #[schema(minimum = 0)]
    pub arpa: f64,
}

/// A change already scheduled (an upgrade, a cancellation at term end).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledChange {
    /// The step it takes effect in (1 = the next period).
    #[schema(minimum = 1)]
    pub periods_ahead: Count,
    /// MRR it adds (negative: removes).
    pub mrr_change: f64,
}

/// History and/or cohorts, and how far to look.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForecastRequest {
    /// Past periods in time order, for the trend path (at least 3).
    pub history: Option<Vec<HistoryRow>>,
    /// Periods to forecast (default 6, at most 120).
    #[schema(minimum = 1, maximum = 120)]
    pub periods_ahead: Option<Count>,
    /// The trend's m: how many of the latest periods it is fitted on (default 6, at least 3).
    #[schema(minimum = 3)]
    pub trend_periods: Option<Count>,
    /// Cohorts' survivors, for the retention path.
    pub cohorts: Option<Vec<CohortRow>>,
    /// New customers joining each future period (retention path; default 0).
    #[schema(minimum = 0)]
    pub new_customers_per_period: Option<f64>,
    /// Their ARPA (default 0).
    #[schema(minimum = 0)]
    pub new_customer_arpa: Option<f64>,
    /// Changes already scheduled, for committed MRR (needs `history`).
    pub scheduled_changes: Option<Vec<ScheduledChange>>,
    /// Level of the intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

fn non_negative(v: f64, pointer: String) -> Result<f64, InvalidInput> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(InvalidInput::new(
            pointer.clone(),
            "a number, 0 or more",
            format!("{pointer}: {v} is negative or not finite"),
        ))
    }
}

impl Compute for ForecastRequest {
    type Output = ForecastResponse;

    fn compute(self, _state: &AppState) -> Result<ForecastResponse, ApiError> {
        let confidence = Confidence::new(self.confidence)?;
        let ahead = match self.periods_ahead {
            None => 6,
            Some(Count(n)) if (1..=MAX_AHEAD as u64).contains(&n) => n as usize,
            Some(Count(n)) => {
                return Err(InvalidInput::new(
                    "/periods_ahead",
                    format!("from 1 to {MAX_AHEAD}"),
                    format!("periods_ahead {n}: forecast 1 to {MAX_AHEAD} periods"),
                )
                .into())
            }
        };
        if self.history.is_none() && self.cohorts.is_none() {
            return Err(InvalidInput::new(
                "/history",
                "history or cohorts",
                "give history (past MRR and customers) for the trend, cohorts (survivors) for the retention path, or both",
            )
            .into());
        }
        let mut notes = Vec::new();
        let mut trend = Vec::new();
        let mut committed = None;
        if let Some(history) = &self.history {
            if history.len() < 3 {
                return Err(InvalidInput::new(
                    "/history",
                    "at least 3 periods",
                    format!(
                        "history has {} periods: a trend with an interval needs at least 3",
                        history.len()
                    ),
                )
                .into());
            }
            let mut mrr = Vec::with_capacity(history.len());
            let mut customers = Vec::with_capacity(history.len());
            for (i, row) in history.iter().enumerate() {
                mrr.push(non_negative(row.mrr, format!("/history/{i}/mrr"))?);
                customers.push(non_negative(
                    row.customers,
                    format!("/history/{i}/customers"),
                )?);
            }
            let m = match self.trend_periods {
                None => 6.min(history.len()),
                Some(Count(m)) if m >= 3 && m as usize <= history.len() => m as usize,
                Some(Count(m)) => {
                    return Err(InvalidInput::new(
                        "/trend_periods",
                        "from 3 to the periods of history",
                        format!(
                            "trend_periods {m}: fit the trend on 3 to {} periods",
                            history.len()
                        ),
                    )
                    .into())
                }
            };
            trend.extend(trends("mrr", &mrr, m, ahead, confidence));
            trend.extend(trends("customers", &customers, m, ahead, confidence));
            if trend.iter().filter(|t| t.model == "exponential").count() < 2 {
                notes.push("An exponential trend is left out where a value is 0 (its logarithm does not exist) or where its forecast outgrows the largest number.".to_owned());
            }
            if trend
                .iter()
                .any(|t| t.model == "linear" && t.forecast.iter().any(|p| p.value == 0.0))
            {
                notes.push(
                    "A falling linear trend is floored at 0: MRR and customers do not go below it."
                        .to_owned(),
                );
            }
            if let Some(changes) = &self.scheduled_changes {
                let mut scheduled = Vec::with_capacity(changes.len());
                for (i, c) in changes.iter().enumerate() {
                    if c.periods_ahead.0 == 0 || !c.mrr_change.is_finite() {
                        return Err(InvalidInput::new(
                            format!("/scheduled_changes/{i}/periods_ahead"),
                            "1 or more, with a finite mrr_change",
                            format!("scheduled_changes[{i}]: a change takes effect 1 or more periods ahead"),
                        )
                        .into());
                    }
                    if c.periods_ahead.0 as usize > ahead {
                        notes.push(format!("scheduled_changes[{i}] takes effect {} periods ahead, past the forecast's {ahead}: not in committed MRR.", c.periods_ahead.0));
                    }
                    scheduled.push((c.periods_ahead.0 as usize, c.mrr_change));
                }
                committed = Some(committed_mrr(mrr[mrr.len() - 1], &scheduled, ahead));
            }
        } else if self.scheduled_changes.is_some() {
            return Err(InvalidInput::new(
                "/scheduled_changes",
                "needs history",
                "committed MRR starts from the last period's MRR: give history too",
            )
            .into());
        }
        let retention = match &self.cohorts {
            None => None,
            Some(rows) => {
                if rows.is_empty() || rows.len() > MAX_COHORTS {
                    return Err(InvalidInput::new(
                        "/cohorts",
                        format!("1 to {MAX_COHORTS} cohorts"),
                        format!("{} cohorts: the retention path fits 1 to {MAX_COHORTS} (one sBG fit each); merge small cohorts", rows.len()),
                    )
                    .into());
                }
                let cohorts = rows
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        Ok(CohortHistory {
                            name: c.name.clone().unwrap_or_else(|| i.to_string()),
                            survivors: c.survivors.clone(),
                            arpa: non_negative(c.arpa, format!("/cohorts/{i}/arpa"))?,
                        })
                    })
                    .collect::<Result<Vec<_>, InvalidInput>>()?;
                let new = non_negative(
                    self.new_customers_per_period.unwrap_or(0.0),
                    "/new_customers_per_period".to_owned(),
                )?;
                let new_arpa = non_negative(
                    self.new_customer_arpa.unwrap_or(0.0),
                    "/new_customer_arpa".to_owned(),
                )?;
                notes.push("Retention path: the totals' intervals add the cohorts' bounds (as if their errors moved together), so they are wider than independent errors would give; new customers are taken as given.".to_owned());
                Some(retention_forecast(
                    &cohorts, ahead, new, new_arpa, confidence,
                )?)
            }
        };
        Ok(ForecastResponse {
            periods_ahead: ahead,
            level_pct: confidence.level() * 100.0,
            trend,
            retention,
            committed_mrr: committed,
            notes,
        })
    }
}

/// Forecast MRR and customers
///
/// For the next `periods_ahead` periods (default 6): the **trend** of the last `trend_periods`
/// (default 6) of `history` (MRR and customers at each period's end, as `/series` gives them),
/// linear `y = a + b x` and exponential `ln y = a + b x` by least squares with Student-t
/// prediction intervals; the **retention** path from `cohorts` (each cohort's survivors fitted
/// by sBG and projected, × its ARPA, plus `new_customers_per_period` at `new_customer_arpa`
/// following the cohorts' average survival); and **committed MRR** (ChartMogul's CMRR): the
/// last MRR plus the `scheduled_changes` in effect by each step.
#[utoipa::path(
    post,
    path = "/forecast",
    tag = "revenue",
    operation_id = "forecast",
    request_body(content = ForecastRequest, content_type = "application/json"),
    responses((status = 200, description = "The trend, retention and committed paths", body = ForecastResponse))
)]
pub async fn forecast_endpoint(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<ForecastRequest>,
) -> Result<super::FiniteJson, ApiError> {
    // sBG fits per cohort: off the runtime.
    super::work::off_runtime(state, "forecast", move |state| {
        request.compute(state).and_then(super::finite_json)
    })
    .await
}

/// The examples of `POST /forecast`.
pub fn forecast_examples() -> Examples {
    Examples::of::<ForecastRequest>(vec![
        example(
            "mrr_trend_and_committed",
            "Six months of MRR and customers, three months ahead, with an upgrade and a cancellation already scheduled",
            json!({"history": [
                {"period": "2026-01", "mrr": 10000, "customers": 200},
                {"period": "2026-02", "mrr": 10600, "customers": 208},
                {"period": "2026-03", "mrr": 11100, "customers": 214},
                {"period": "2026-04", "mrr": 11900, "customers": 225},
                {"period": "2026-05", "mrr": 12400, "customers": 229},
                {"period": "2026-06", "mrr": 13100, "customers": 238}
            ], "periods_ahead": 3, "scheduled_changes": [{"periods_ahead": 1, "mrr_change": 1200}, {"periods_ahead": 2, "mrr_change": -500}]}),
        ),
        example(
            "retention_fader_hardie",
            "Fader & Hardie (2007)'s two cohorts, years 0–7, projected 5 years at an ARPA of 100, with 100 new customers a year",
            json!({"cohorts": [
                {"name": "regular", "survivors": [1000, 631, 468, 382, 326, 289, 262, 241], "arpa": 100},
                {"name": "high_end", "survivors": [1000, 869, 743, 653, 593, 551, 517, 491], "arpa": 100}
            ], "periods_ahead": 5, "new_customers_per_period": 100, "new_customer_arpa": 100}),
        ),
        example(
            "refused_two_periods",
            "Two periods of history cannot carry a trend with an interval",
            json!({"history": [{"mrr": 100, "customers": 2}, {"mrr": 120, "customers": 3}]}),
        ),
    ])
}
