//! `GET /sql/{reduction}`: the reduction query for the user's warehouse or Spark, whose
//! result an endpoint takes in place of the raw rows.

use axum::extract::{Path, RawQuery};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::records::{optional_day, query};
use crate::sql::{reduction_query, Dialect, QuerySettings, Reduction, ReductionQuery};
use crate::units::{Period, TimeUnit};

/// The query parameters of `GET /sql/{reduction}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlParams {
    dialect: Option<Dialect>,
    table: Option<String>,
    customer_id: Option<String>,
    date: Option<String>,
    amount: Option<String>,
    mrr: Option<String>,
    reason: Option<String>,
    sequence: Option<String>,
    start: Option<String>,
    end: Option<String>,
    group: Option<String>,
    period: Option<Period>,
    unit: Option<TimeUnit>,
    as_of: Option<String>,
    observed_from: Option<String>,
    calibration_end: Option<String>,
    grouped: Option<bool>,
}

/// The query of `reduction` for the parameters of a request.
pub fn answer(reduction: &str, raw_query: Option<String>) -> Result<ReductionQuery, ApiError> {
    let reduction = match reduction {
        "survival" => Reduction::Survival,
        "cohorts" => Reduction::Cohorts,
        "series" => Reduction::Series,
        "rfm" => Reduction::Rfm,
        other => return Err(ApiError::NotFound(format!("/sql/{other}"))),
    };
    let p: SqlParams = query(raw_query)?;
    let dialect = p.dialect.ok_or_else(|| {
        crate::kpi::InvalidInput::new(
            "/dialect",
            "required: duckdb, postgres, spark, bigquery or snowflake",
            "dialect is required: duckdb, postgres, spark, bigquery or snowflake",
        )
    })?;
    let columns = [
        ("customer_id", p.customer_id),
        ("date", p.date),
        ("amount", p.amount),
        ("mrr", p.mrr),
        ("reason", p.reason),
        ("sequence", p.sequence),
        ("start", p.start),
        ("end", p.end),
        ("group", p.group),
    ]
    .into_iter()
    .filter_map(|(role, name)| name.map(|n| (role.to_owned(), n)))
    .collect();
    let settings = QuerySettings {
        table: p.table,
        columns,
        period: p.period,
        unit: p.unit,
        as_of: optional_day("/as_of", p.as_of.as_deref())?,
        observed_from: optional_day("/observed_from", p.observed_from.as_deref())?,
        calibration_end: optional_day("/calibration_end", p.calibration_end.as_deref())?,
        grouped: p.grouped,
    };
    Ok(reduction_query(reduction, dialect, &settings)?)
}

/// Reduction SQL for the user's warehouse or Spark
///
/// The query that turns the user's raw table into the summary an endpoint takes in place of
/// the raw rows, with the same answer: `survival` (subscriptions to `/survival`'s
/// `event_table`), `cohorts` (activities to `/cohorts`' `cohort_summary`), `series` (MRR
/// events to `/series`' `period_summary`) and `rfm` (transactions to the purchase models'
/// `customers`). Run it where the data are (DuckDB, PostgreSQL, Spark SQL, BigQuery or
/// Snowflake; on any number of nodes), then post its rows, as JSON under `body_field` with
/// `request_fields`, or as CSV. The answer names the result's columns (a fixed contract) and
/// what the query assumes. Column parameters name the table's columns (defaults in
/// parentheses); an empty one means the table has none. Settings a query does not read are
/// refused.
#[utoipa::path(
    get,
    path = "/sql/{reduction}",
    tag = "records",
    operation_id = "reduction_sql",
    params(
        ("reduction" = Reduction, Path, description = "survival, cohorts, series or rfm", example = "cohorts"),
        ("dialect" = Dialect, Query, description = "Where the query runs (required)", example = "duckdb"),
        ("table" = Option<String>, Query, description = "The table, optionally qualified (schema.table); default subscriptions (survival), events (cohorts, series), transactions (rfm)"),
        ("customer_id" = Option<String>, Query, description = "cohorts, series, rfm: the customer column (customer_id)"),
        ("date" = Option<String>, Query, description = "cohorts, series, rfm: the date column (date)"),
        ("amount" = Option<String>, Query, description = "cohorts, rfm: the amount column (amount; empty: none)"),
        ("mrr" = Option<String>, Query, description = "series: the MRR column (mrr)"),
        ("reason" = Option<String>, Query, description = "series: the churn-reason column (none)"),
        ("sequence" = Option<String>, Query, description = "series: a column ordering a customer's events of one day (none)"),
        ("start" = Option<String>, Query, description = "survival: the start column (start)"),
        ("end" = Option<String>, Query, description = "survival: the end column (end; NULL while active)"),
        ("group" = Option<String>, Query, description = "survival: the group column (none)"),
        ("period" = Option<Period>, Query, description = "cohorts, series: the period (month)"),
        ("unit" = Option<TimeUnit>, Query, description = "survival (day), rfm (week): the unit of durations"),
        ("as_of" = Option<String>, Query, description = "survival: the date the subscriptions are observed at (required)"),
        ("observed_from" = Option<String>, Query, description = "survival: the first day the data cover (late entry)"),
        ("calibration_end" = Option<String>, Query, description = "rfm: the end of the calibration period (required)"),
        ("grouped" = Option<bool>, Query, description = "rfm: one row per (frequency, recency, T) with its count, without monetary value (default false)"),
    ),
    responses(
        (status = 200, description = "The query, its output columns and where to post its result", body = ReductionQuery),
        (status = 404, description = "No such reduction", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reduction_sql(
    Path(reduction): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> Result<crate::http::FiniteJson, ApiError> {
    crate::http::finite_json(answer(&reduction, raw_query)?)
}

/// The spec's example answer: the cohorts query for DuckDB with the default columns.
pub fn example_answer() -> serde_json::Value {
    answer("cohorts", Some("dialect=duckdb".to_owned()))
        .ok()
        .and_then(|q| serde_json::to_value(q).ok())
        .unwrap_or_else(|| json!({}))
}
