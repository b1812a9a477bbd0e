//! Reduction SQL: the query that turns a raw table where the data live (a warehouse, Spark,
//! DuckDB, PostgreSQL) into the small summary an endpoint accepts in place of the raw rows
//! (docs/formulas.md § 19).
//!
//! Every summary here is additive: a sum of per-customer contributions, grouped by a key
//! (time, cohort and offset, period). The query runs on any number of nodes; its result
//! (rows per time, cell or period, not per event) is what the service needs. Each query
//! reproduces the raw endpoint's definitions exactly, so that the summary answers as the
//! rows it summarises; the tests run each one in DuckDB, PostgreSQL and Spark and compare.
//!
//! Identifiers are checked (letters, digits and `_`, not starting with a digit; a table may
//! be qualified by dots) and quoted in the dialect's way; dates are checked and written as
//! `DATE 'YYYY-MM-DD'` literals. Nothing else from the request reaches the text.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::kpi::InvalidInput;
use crate::units::{Period, TimeUnit};

/// Where the query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    Duckdb,
    Postgres,
    /// Spark SQL (Spark 3.0 or later).
    Spark,
    Bigquery,
    /// Snowflake; identifiers are quoted, so give them as Snowflake stores them (names
    /// created unquoted are stored in upper case).
    Snowflake,
}

impl Dialect {
    fn quote(self, name: &str) -> String {
        match self {
            Dialect::Spark | Dialect::Bigquery => format!("`{name}`"),
            _ => format!("\"{name}\""),
        }
    }

    fn double(self) -> &'static str {
        match self {
            Dialect::Postgres => "DOUBLE PRECISION",
            Dialect::Bigquery => "FLOAT64",
            _ => "DOUBLE",
        }
    }

    fn bigint(self) -> &'static str {
        match self {
            Dialect::Bigquery => "INT64",
            _ => "BIGINT",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Dialect::Duckdb | Dialect::Snowflake => "VARCHAR",
            Dialect::Postgres => "TEXT",
            Dialect::Spark | Dialect::Bigquery => "STRING",
        }
    }

    /// Days from `a` to `b` (both DATE), a whole number.
    fn days_between(self, a: &str, b: &str) -> String {
        match self {
            Dialect::Duckdb => format!("date_diff('day', {a}, {b})"),
            Dialect::Postgres => format!("({b} - {a})"),
            Dialect::Spark => format!("datediff({b}, {a})"),
            Dialect::Bigquery => format!("DATE_DIFF({b}, {a}, DAY)"),
            Dialect::Snowflake => format!("DATEDIFF(day, {a}, {b})"),
        }
    }

    /// The first day of the period holding `d` (a DATE), as a DATE; weeks from Monday.
    fn period_start(self, period: Period, d: &str) -> String {
        let unit = match period {
            Period::Day => return d.to_owned(),
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        };
        match (self, period) {
            (Dialect::Bigquery, Period::Week) => format!("DATE_TRUNC({d}, ISOWEEK)"),
            (Dialect::Bigquery, _) => format!("DATE_TRUNC({d}, {})", unit.to_uppercase()),
            // DATE_TRUNC('week') follows the session's WEEK_START; the ISO day of week does not.
            (Dialect::Snowflake, Period::Week) => {
                format!("DATEADD(day, 1 - DAYOFWEEKISO({d}), {d})")
            }
            (Dialect::Snowflake, _) => format!("DATE_TRUNC('{}', {d})", unit.to_uppercase()),
            (Dialect::Spark, _) => {
                format!("CAST(date_trunc('{}', {d}) AS DATE)", unit.to_uppercase())
            }
            _ => format!("CAST(date_trunc('{unit}', {d}) AS DATE)"),
        }
    }

    /// The period's index (consecutive periods, consecutive indices), as [`Period::index`].
    fn period_index(self, period: Period, d: &str) -> String {
        let int = self.bigint();
        match period {
            Period::Day => self.days_between("DATE '1970-01-01'", d),
            Period::Week => format!(
                "CAST({} / 7 AS {int})",
                self.days_between("DATE '1970-01-05'", &self.period_start(Period::Week, d))
            ),
            Period::Month => {
                format!("CAST(EXTRACT(YEAR FROM {d}) * 12 + EXTRACT(MONTH FROM {d}) - 1 AS {int})")
            }
            Period::Quarter => {
                format!("CAST(EXTRACT(YEAR FROM {d}) * 4 + EXTRACT(QUARTER FROM {d}) - 1 AS {int})")
            }
            Period::Year => format!("CAST(EXTRACT(YEAR FROM {d}) AS {int})"),
        }
    }

    /// A duration in days as a number of `unit`s, the same double the service computes.
    fn in_units(self, days: &str, unit: TimeUnit) -> String {
        let d = self.double();
        let length = match unit {
            TimeUnit::Day => "1",
            TimeUnit::Week => "7",
            TimeUnit::Month => "30.4375",
        };
        format!("CAST({days} AS {d}) / CAST({length} AS {d})")
    }
}

/// Which summary the query computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    /// Subscriptions to `/survival`'s `event_table`.
    Survival,
    /// Activities to `/cohorts`' `cohort_summary`.
    Cohorts,
    /// MRR events to `/series`' `period_summary`.
    Series,
    /// Transactions to the purchase models' `customers` (frequency, recency, T, monetary).
    Rfm,
}

/// What a query is asked for: the table, its columns and the settings of the summary. Columns
/// not given take their defaults; a setting the reduction does not read is refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuerySettings {
    pub table: Option<String>,
    /// Column names, by role (`customer_id`, `date`, `amount`, `mrr`, `reason`, `sequence`,
    /// `start`, `end`, `group`); an empty name means the table has no such column.
    pub columns: Vec<(String, String)>,
    pub period: Option<Period>,
    pub unit: Option<TimeUnit>,
    pub as_of: Option<NaiveDate>,
    pub observed_from: Option<NaiveDate>,
    pub calibration_end: Option<NaiveDate>,
    /// Rfm: one row per (frequency, recency, T) with its count, instead of per customer.
    pub grouped: Option<bool>,
}

/// One column of a summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutputColumn {
    pub name: &'static str,
    /// `date`, `integer`, `number` or `string`; `null` where marked.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: &'static str,
}

/// A reduction query and how to use its result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReductionQuery {
    pub reduction: Reduction,
    pub dialect: Dialect,
    /// The query, for the user's table.
    pub sql: String,
    /// The result's columns, in order: a fixed contract.
    pub columns: Vec<OutputColumn>,
    /// Where the result goes: the endpoint and the body field holding its rows.
    pub endpoint: &'static str,
    pub body_field: &'static str,
    /// The other fields the request needs for the same answer as the raw rows.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub request_fields: serde_json::Map<String, serde_json::Value>,
    /// What the query assumes of the table, and what it leaves out.
    pub notes: Vec<String>,
}

const COLUMN_ROLES: &[(Reduction, &[(&str, &str)])] = &[
    (
        Reduction::Survival,
        &[("start", "start"), ("end", "end"), ("group", "")],
    ),
    (
        Reduction::Cohorts,
        &[
            ("customer_id", "customer_id"),
            ("date", "date"),
            ("amount", "amount"),
        ],
    ),
    (
        Reduction::Series,
        &[
            ("customer_id", "customer_id"),
            ("date", "date"),
            ("mrr", "mrr"),
            ("reason", ""),
            ("sequence", ""),
        ],
    ),
    (
        Reduction::Rfm,
        &[
            ("customer_id", "customer_id"),
            ("date", "date"),
            ("amount", "amount"),
        ],
    ),
];

/// Letters, digits and `_`, not starting with a digit, at most 128 characters.
fn identifier(pointer: &str, name: &str) -> Result<(), InvalidInput> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            pointer,
            "an identifier: letters, digits and _, not starting with a digit",
            format!("{pointer}: {name:?} is not a plain identifier (letters, digits and _, not starting with a digit, at most 128 characters); rename or alias the column in a view"),
        ))
    }
}

struct Names {
    dialect: Dialect,
    table: String,
    columns: Vec<(&'static str, Option<String>)>,
}

impl Names {
    /// The quoted column of a role, or None when the table has none.
    fn col(&self, role: &str) -> Option<String> {
        self.columns
            .iter()
            .find(|(r, _)| *r == role)
            .and_then(|(_, c)| c.as_ref())
            .map(|c| self.dialect.quote(c))
    }

    /// The quoted column of a required role.
    fn must(&self, role: &str) -> String {
        self.col(role).unwrap_or_else(|| "NULL".to_owned())
    }
}

fn date_literal(day: NaiveDate) -> String {
    format!("DATE '{day}'")
}

/// The reduction query of `reduction` in `dialect`.
pub fn reduction_query(
    reduction: Reduction,
    dialect: Dialect,
    settings: &QuerySettings,
) -> Result<ReductionQuery, InvalidInput> {
    let roles = COLUMN_ROLES
        .iter()
        .find(|(r, _)| *r == reduction)
        .map(|(_, roles)| *roles)
        .unwrap_or(&[]);
    for (role, _) in &settings.columns {
        if !roles.iter().any(|(r, _)| r == role) {
            let known: Vec<&str> = roles.iter().map(|(r, _)| *r).collect();
            return Err(InvalidInput::new(
                format!("/{role}"),
                format!("a column of {}", known.join(", ")),
                format!(
                    "{role} is not a column the {reduction:?} query reads; its columns are {}",
                    known.join(", ")
                )
                .to_lowercase(),
            ));
        }
    }
    let required: &[&str] = match reduction {
        Reduction::Survival => &["start"],
        Reduction::Cohorts => &["customer_id", "date"],
        Reduction::Series => &["customer_id", "date", "mrr"],
        Reduction::Rfm => &["customer_id", "date"],
    };
    let mut columns = Vec::new();
    for (role, default) in roles {
        let given = settings
            .columns
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, c)| c.trim().to_owned());
        let name = given.unwrap_or_else(|| (*default).to_owned());
        if name.is_empty() {
            if required.contains(role) || (reduction == Reduction::Survival && *role == "end") {
                return Err(InvalidInput::new(
                    format!("/{role}"),
                    "required",
                    format!("the {role} column is required by this query"),
                ));
            }
            columns.push((*role, None));
        } else {
            identifier(&format!("/{role}"), &name)?;
            columns.push((*role, Some(name)));
        }
    }
    let default_table = match reduction {
        Reduction::Survival => "subscriptions",
        Reduction::Cohorts | Reduction::Series => "events",
        Reduction::Rfm => "transactions",
    };
    let table = settings
        .table
        .clone()
        .unwrap_or_else(|| default_table.to_owned());
    let parts: Vec<&str> = table.split('.').collect();
    if parts.len() > 3 {
        return Err(InvalidInput::new(
            "/table",
            "a table, optionally qualified: at most catalog.schema.table",
            format!("table {table:?} has more than three dotted parts"),
        ));
    }
    for (k, part) in parts.iter().enumerate() {
        // A BigQuery project id may hold hyphens (my-project.dataset.table).
        let project = dialect == Dialect::Bigquery && parts.len() == 3 && k == 0;
        let plain = part.replace('-', "_");
        identifier("/table", if project { &plain } else { part })?;
    }
    let names = Names {
        dialect,
        table: parts
            .iter()
            .map(|p| dialect.quote(p))
            .collect::<Vec<_>>()
            .join("."),
        columns,
    };
    // The settings each query reads; any other given is refused.
    let reads: &[&str] = match reduction {
        Reduction::Survival => &["unit", "as_of", "observed_from"],
        Reduction::Cohorts | Reduction::Series => &["period"],
        Reduction::Rfm => &["unit", "calibration_end", "grouped"],
    };
    let given = [
        ("period", settings.period.is_some()),
        ("unit", settings.unit.is_some()),
        ("as_of", settings.as_of.is_some()),
        ("observed_from", settings.observed_from.is_some()),
        ("calibration_end", settings.calibration_end.is_some()),
        ("grouped", settings.grouped.is_some()),
    ];
    if let Some((field, _)) = given.iter().find(|(f, g)| *g && !reads.contains(f)) {
        let name = format!("{reduction:?}").to_lowercase();
        return Err(InvalidInput::new(
            format!("/{field}"),
            format!("not read by the {name} query"),
            format!(
                "{field} is not a setting of the {name} query (it reads {}): leave it out",
                reads.join(", ")
            ),
        ));
    }
    let required_day = |field: &str, day: Option<NaiveDate>| {
        day.ok_or_else(|| {
            InvalidInput::new(
                format!("/{field}"),
                "required",
                format!("{field} (YYYY-MM-DD) is required by this query"),
            )
        })
    };
    let s = settings;
    let mut fields = serde_json::Map::new();
    let query = match reduction {
        Reduction::Survival => {
            let as_of = required_day("as_of", s.as_of)?;
            if let Some(from) = s.observed_from.filter(|f| *f >= as_of) {
                return Err(InvalidInput::new(
                    "/observed_from",
                    "must be before as_of",
                    format!("observed_from {from} is not before as_of {as_of}"),
                ));
            }
            let unit = s.unit.unwrap_or_default();
            fields.insert("unit".into(), serde_json::json!(unit));
            survival_sql(&names, as_of, s.observed_from, unit)
        }
        Reduction::Cohorts => {
            let period = s.period.unwrap_or_default();
            fields.insert("period".into(), serde_json::json!(period));
            cohorts_sql(&names, period)
        }
        Reduction::Series => {
            let period = s.period.unwrap_or_default();
            fields.insert("period".into(), serde_json::json!(period));
            series_sql(&names, period)
        }
        Reduction::Rfm => {
            let end = required_day("calibration_end", s.calibration_end)?;
            let unit = s.unit.unwrap_or(TimeUnit::Week);
            rfm_sql(&names, end, unit, s.grouped.unwrap_or(false))
        }
    };
    let (endpoint, body_field, columns, notes) =
        contract(reduction, &names, s.grouped == Some(true));
    Ok(ReductionQuery {
        reduction,
        dialect,
        sql: query,
        columns,
        endpoint,
        body_field,
        request_fields: fields,
        notes,
    })
}

fn survival_sql(
    n: &Names,
    as_of: NaiveDate,
    observed_from: Option<NaiveDate>,
    unit: TimeUnit,
) -> String {
    let d = n.dialect;
    let as_of = date_literal(as_of);
    let group = n.col("group").map_or_else(
        || format!("CAST(NULL AS {})", d.text()),
        |g| format!("CAST({g} AS {})", d.text()),
    );
    let stop =
        format!("CASE WHEN ended IS NOT NULL AND ended <= {as_of} THEN ended ELSE {as_of} END");
    let (entry, kept) = match observed_from {
        Some(from) => {
            let from = date_literal(from);
            (
                format!(
                    "CASE WHEN started < {from} THEN {} ELSE 0 END",
                    d.days_between("started", &from)
                ),
                // The raw endpoint refuses these (they cannot be in data that begin later).
                format!(
                    "\n    AND NOT (started < {from} AND ended IS NOT NULL AND ended <= {from})"
                ),
            )
        }
        None => ("0".to_owned(), String::new()),
    };
    let q = |c: &str| d.quote(c);
    let entered = if observed_from.is_some() {
        format!(
            "\nUNION ALL\nSELECT {} AS {}, 0 AS {}, 0 AS {}, COUNT(*) AS {}, grp AS {}\nFROM rk_observed\nWHERE entry_days > 0\nGROUP BY grp, entry_days",
            d.in_units("entry_days", unit),
            q("time"),
            q("churned"),
            q("censored"),
            q("entered"),
            q("group")
        )
    } else {
        String::new()
    };
    format!(
        "WITH rk_subscriptions AS (
  SELECT CAST({start} AS DATE) AS started, CAST({end} AS DATE) AS ended, {group} AS grp
  FROM {table}
  WHERE {start} IS NOT NULL
),
rk_observed AS (
  SELECT grp,
    CASE WHEN ended IS NOT NULL AND ended <= {as_of} THEN 1 ELSE 0 END AS churned,
    {days} AS days,
    {entry} AS entry_days
  FROM rk_subscriptions
  WHERE started <= {as_of} AND (ended IS NULL OR ended >= started){kept}
)
SELECT {time} AS {qt}, SUM(churned) AS {qc}, SUM(1 - churned) AS {qz}, 0 AS {qe}, grp AS {qg}
FROM rk_observed
GROUP BY grp, days{entered}
ORDER BY 5, 1",
        start = n.must("start"),
        end = n.must("end"),
        table = n.table,
        days = d.days_between("started", &stop),
        time = d.in_units("days", unit),
        qt = q("time"),
        qc = q("churned"),
        qz = q("censored"),
        qe = q("entered"),
        qg = q("group"),
    )
}

fn cohorts_sql(n: &Names, period: Period) -> String {
    let d = n.dialect;
    let q = |c: &str| d.quote(c);
    let amount = n.col("amount").map_or_else(
        || format!("CAST(NULL AS {})", d.double()),
        |a| format!("CAST({a} AS {})", d.double()),
    );
    format!(
        "WITH rk_activities AS (
  SELECT {customer} AS customer_id, CAST({date} AS DATE) AS activity_date, {amount} AS amount
  FROM {table}
  WHERE {customer} IS NOT NULL AND {date} IS NOT NULL
),
rk_periods AS (
  SELECT customer_id, amount,
    {start} AS period_start,
    {index} AS period_index
  FROM rk_activities
),
rk_customer_periods AS (
  SELECT customer_id, period_start, period_index, COUNT(*) AS events, SUM(amount) AS amount
  FROM rk_periods
  GROUP BY customer_id, period_start, period_index
),
rk_ranked AS (
  SELECT period_index, events, amount,
    MIN(period_start) OVER (PARTITION BY customer_id) AS cohort,
    MIN(period_index) OVER (PARTITION BY customer_id) AS first_index,
    MAX(period_index) OVER (PARTITION BY customer_id) AS last_index,
    SUM(events) OVER (PARTITION BY customer_id ORDER BY period_index
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS events_so_far
  FROM rk_customer_periods
)
SELECT cohort AS {qcohort},
  period_index - first_index AS {qoffset},
  COUNT(*) AS {qactive},
  SUM(CASE WHEN period_index = last_index THEN 1 ELSE 0 END) AS {qlast},
  SUM(CASE WHEN events_so_far >= 2 AND events_so_far - events < 2 THEN 1 ELSE 0 END) AS {qsecond},
  SUM(amount) AS {qamount}
FROM rk_ranked
GROUP BY cohort, first_index, period_index
ORDER BY 1, 2",
        customer = n.must("customer_id"),
        date = n.must("date"),
        table = n.table,
        start = d.period_start(period, "activity_date"),
        index = d.period_index(period, "activity_date"),
        qcohort = q("cohort"),
        qoffset = q("offset"),
        qactive = q("active"),
        qlast = q("last_active"),
        qsecond = q("second_activity"),
        qamount = q("amount"),
    )
}

fn series_sql(n: &Names, period: Period) -> String {
    let d = n.dialect;
    let q = |c: &str| d.quote(c);
    let reason = n.col("reason").map_or_else(
        || format!("CAST(NULL AS {})", d.text()),
        |r| format!("CAST({r} AS {})", d.text()),
    );
    let sequence = n
        .col("sequence")
        .unwrap_or_else(|| format!("CAST(NULL AS {})", d.bigint()));
    let count = |condition: &str| format!("SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)");
    let money = |condition: &str, value: &str| {
        format!("SUM(CASE WHEN {condition} THEN {value} ELSE 0 END)")
    };
    let new = "m0 = 0 AND m1 > 0 AND ever = 0";
    let back = "m0 = 0 AND m1 > 0 AND ever = 1";
    let churn = "m0 > 0 AND m1 = 0";
    // The causes only when some event gives one, as the events' series reports them.
    let given = |sum: String| format!("CASE WHEN MAX(r.given) > 0 THEN {sum} END");
    let (reasons, reasons_cte, reasons_join) = if n.col("reason").is_some() {
        (
            format!(
                ",\n  {} AS {},\n  {} AS {},\n  {} AS {},\n  {} AS {}",
                given(count(&format!("{churn} AND reason = 'voluntary'"))),
                q("voluntary_churned_customers"),
                given(money(&format!("{churn} AND reason = 'voluntary'"), "m0")),
                q("voluntary_churned_mrr"),
                given(count(&format!("{churn} AND reason = 'delinquent'"))),
                q("delinquent_churned_customers"),
                given(money(&format!("{churn} AND reason = 'delinquent'"), "m0")),
                q("delinquent_churned_mrr"),
            ),
            ",\nrk_reasons AS (\n  SELECT COUNT(reason) AS given FROM rk_changes\n)",
            " CROSS JOIN rk_reasons r",
        )
    } else {
        (String::new(), "", "")
    };
    format!(
        "WITH rk_changes AS (
  SELECT {customer} AS customer_id, CAST({date} AS DATE) AS event_date,
    CAST({mrr} AS {double}) AS mrr, {reason} AS reason, {sequence} AS event_order
  FROM {table}
  WHERE {customer} IS NOT NULL AND {date} IS NOT NULL AND {mrr} IS NOT NULL
),
rk_ranked AS (
  SELECT customer_id, mrr, reason, {start} AS period_start,
    ROW_NUMBER() OVER (PARTITION BY customer_id, {start}
      ORDER BY event_date DESC, event_order DESC NULLS LAST, mrr DESC) AS from_last
  FROM rk_changes
),
rk_customer_periods AS (
  SELECT customer_id, period_start,
    MAX(CASE WHEN from_last = 1 THEN mrr END) AS m1,
    MAX(CASE WHEN from_last = 1 THEN reason END) AS reason,
    MAX(CASE WHEN mrr > 0 THEN 1 ELSE 0 END) AS paid,
    COUNT(*) AS events
  FROM rk_ranked
  GROUP BY customer_id, period_start
),
rk_movements AS (
  SELECT period_start, m1, reason, events,
    COALESCE(LAG(m1) OVER (PARTITION BY customer_id ORDER BY period_start), 0) AS m0,
    COALESCE(MAX(paid) OVER (PARTITION BY customer_id ORDER BY period_start
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS ever,
    ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY period_start) AS nth
  FROM rk_customer_periods
){reasons_cte}
SELECT period_start AS {qperiod},
  {first_seen} AS {qfirst},
  SUM(events) AS {qevents},
  {new_customers} AS {qnew},
  {back_customers} AS {qback},
  {churned_customers} AS {qchurned},
  {new_mrr} AS {qnew_mrr},
  {expansion} AS {qexpansion},
  {contraction} AS {qcontraction},
  {churned_mrr} AS {qchurned_mrr},
  {back_mrr} AS {qback_mrr}{reasons}
FROM rk_movements{reasons_join}
GROUP BY period_start
ORDER BY 1",
        customer = n.must("customer_id"),
        date = n.must("date"),
        mrr = n.must("mrr"),
        double = d.double(),
        table = n.table,
        start = d.period_start(period, "event_date"),
        first_seen = count("nth = 1"),
        new_customers = count(new),
        back_customers = count(back),
        churned_customers = count(churn),
        new_mrr = money(new, "m1"),
        expansion = money("m0 > 0 AND m1 > m0", "m1 - m0"),
        contraction = money("m0 > 0 AND m1 > 0 AND m1 < m0", "m0 - m1"),
        churned_mrr = money(churn, "m0"),
        back_mrr = money(back, "m1"),
        qperiod = q("period"),
        qfirst = q("first_seen_customers"),
        qevents = q("events"),
        qnew = q("new_customers"),
        qback = q("reactivated_customers"),
        qchurned = q("churned_customers"),
        qnew_mrr = q("new_mrr"),
        qexpansion = q("expansion_mrr"),
        qcontraction = q("contraction_mrr"),
        qchurned_mrr = q("churned_mrr"),
        qback_mrr = q("reactivation_mrr"),
    )
}

fn rfm_sql(n: &Names, end: NaiveDate, unit: TimeUnit, grouped: bool) -> String {
    let d = n.dialect;
    let q = |c: &str| d.quote(c);
    let end = date_literal(end);
    let amount = n.col("amount").map_or_else(
        || format!("CAST(0 AS {})", d.double()),
        |a| {
            format!(
                "COALESCE(CAST({a} AS {double}), CAST(0 AS {double}))",
                double = d.double()
            )
        },
    );
    let last = if grouped {
        format!(
            "SELECT frequency AS {f}, recency AS {r}, t AS {t}, COUNT(*) AS {c}
FROM rk_customers
GROUP BY frequency, recency, t
ORDER BY 1, 2, 3",
            f = q("frequency"),
            r = q("recency"),
            t = q("T"),
            c = q("count"),
        )
    } else {
        format!(
            "SELECT CAST(customer_id AS {text}) AS {id}, frequency AS {f}, recency AS {r}, t AS {t},
  monetary_value AS {m}
FROM rk_customers
ORDER BY 1",
            text = d.text(),
            id = q("id"),
            f = q("frequency"),
            r = q("recency"),
            t = q("T"),
            m = q("monetary_value"),
        )
    };
    format!(
        "WITH rk_purchases AS (
  SELECT {customer} AS customer_id, CAST({date} AS DATE) AS purchase_date, {amount} AS amount
  FROM {table}
  WHERE {customer} IS NOT NULL AND {date} IS NOT NULL AND CAST({date} AS DATE) <= {end}
),
rk_days AS (
  SELECT customer_id, purchase_date, SUM(amount) AS amount
  FROM rk_purchases
  GROUP BY customer_id, purchase_date
),
rk_spans AS (
  SELECT customer_id, MIN(purchase_date) AS first_day, MAX(purchase_date) AS last_day,
    COUNT(*) AS purchase_days
  FROM rk_days
  GROUP BY customer_id
),
rk_customers AS (
  SELECT s.customer_id, s.purchase_days - 1 AS frequency,
    {recency} AS recency,
    {age} AS t,
    CASE WHEN s.purchase_days > 1
      THEN SUM(CASE WHEN d.purchase_date > s.first_day THEN d.amount ELSE 0 END) / (s.purchase_days - 1)
      ELSE 0 END AS monetary_value
  FROM rk_spans s
  JOIN rk_days d ON d.customer_id = s.customer_id
  WHERE s.first_day < {end}
  GROUP BY s.customer_id, s.purchase_days, s.first_day, s.last_day
)
{last}",
        customer = n.must("customer_id"),
        date = n.must("date"),
        table = n.table,
        recency = d.in_units(&d.days_between("s.first_day", "s.last_day"), unit),
        age = d.in_units(&d.days_between("s.first_day", &end), unit),
    )
}

/// The endpoint, body field, output columns and notes of a reduction.
fn contract(
    reduction: Reduction,
    names: &Names,
    grouped: bool,
) -> (&'static str, &'static str, Vec<OutputColumn>, Vec<String>) {
    let col = |name, kind, description| OutputColumn {
        name,
        kind,
        description,
    };
    let mut notes = vec![
        "Rows with a NULL customer, date or start are left out.".to_owned(),
        "Timestamp columns are cast to DATE in the session's time zone: run the query in UTC (SET TimeZone = 'UTC'; ALTER SESSION SET TIMEZONE = 'UTC'; spark.sql.session.timeZone=UTC), as the service reads a timestamp as its UTC day.".to_owned(),
    ];
    match reduction {
        Reduction::Survival => {
            notes.push("Subscriptions starting after as_of, ending before they start, or (with observed_from) started and ended before the data begin are left out; the raw endpoint refuses them.".to_owned());
            if names.col("group").is_none() {
                notes.push("No group column: one curve (group is NULL).".to_owned());
            }
            (
                "/survival",
                "event_table",
                vec![
                    col("time", "number", "The tenure, in unit (days from start to end, or to as_of for the still active, divided by the unit's days)"),
                    col("churned", "integer", "Subscriptions ending at this tenure on or before as_of"),
                    col("censored", "integer", "Subscriptions still active at as_of, at this tenure"),
                    col("entered", "integer", "With observed_from: subscriptions first observed at this tenure (late entry)"),
                    col("group", "string or null", "The group column's value"),
                ],
                notes,
            )
        }
        Reduction::Cohorts => (
            "/cohorts",
            "cohort_summary",
            vec![
                col(
                    "cohort",
                    "date",
                    "First day of the period of the customer's first activity",
                ),
                col(
                    "offset",
                    "integer",
                    "Periods from the cohort's period to the activity's",
                ),
                col(
                    "active",
                    "integer",
                    "The cohort's customers active at this offset",
                ),
                col(
                    "last_active",
                    "integer",
                    "Of them, those whose last activity falls at this offset",
                ),
                col(
                    "second_activity",
                    "integer",
                    "The cohort's customers whose second activity falls at this offset",
                ),
                col(
                    "amount",
                    "number or null",
                    "Sum of the amounts at this offset (NULL without an amount column)",
                ),
            ],
            notes,
        ),
        Reduction::Series => {
            notes.push("A customer's MRR at a period's end is its last event in the period (by date; with a sequence column, the highest sequence on a day wins, as the last in body order does on the raw endpoint; without one, the highest MRR of the day).".to_owned());
            notes.push(
                "No reactivation window, as_of or conventions: they need the events themselves."
                    .to_owned(),
            );
            (
                "/series",
                "period_summary",
                vec![
                    col("period", "date", "First day of the period"),
                    col(
                        "first_seen_customers",
                        "integer",
                        "Customers whose first event falls in the period",
                    ),
                    col("events", "integer", "Events dated in the period"),
                    col(
                        "new_customers",
                        "integer",
                        "Paying at the period's end, not at its start, never paying before",
                    ),
                    col(
                        "reactivated_customers",
                        "integer",
                        "Paying at the end, not at the start, paying at some time before",
                    ),
                    col(
                        "churned_customers",
                        "integer",
                        "Paying at the start, not at the end",
                    ),
                    col("new_mrr", "number", "MRR at the end of the new customers"),
                    col(
                        "expansion_mrr",
                        "number",
                        "Increase of the customers paying at start and end",
                    ),
                    col(
                        "contraction_mrr",
                        "number",
                        "Decrease of the customers paying at start and end",
                    ),
                    col(
                        "churned_mrr",
                        "number",
                        "MRR at the start of the churned customers",
                    ),
                    col(
                        "reactivation_mrr",
                        "number",
                        "MRR at the end of the reactivated customers",
                    ),
                    col(
                        "voluntary_churned_customers",
                        "integer (with a reason column)",
                        "Churned customers whose last event says voluntary",
                    ),
                    col(
                        "voluntary_churned_mrr",
                        "number (with a reason column)",
                        "Their MRR at the start",
                    ),
                    col(
                        "delinquent_churned_customers",
                        "integer (with a reason column)",
                        "Churned customers whose last event says delinquent",
                    ),
                    col(
                        "delinquent_churned_mrr",
                        "number (with a reason column)",
                        "Their MRR at the start",
                    ),
                ],
                notes,
            )
        }
        Reduction::Rfm => {
            notes.push("Purchases on one day count once (their amounts summed); frequency = purchase days - 1; customers whose first purchase is on calibration_end are left out (T = 0), as the models do.".to_owned());
            let columns = if grouped {
                vec![
                    col("frequency", "integer", "Repeat purchase days"),
                    col("recency", "number", "First to last purchase, in unit"),
                    col("T", "number", "First purchase to calibration_end, in unit"),
                    col("count", "integer", "Customers with these three values"),
                ]
            } else {
                vec![
                    col("id", "string", "The customer"),
                    col("frequency", "integer", "Repeat purchase days"),
                    col("recency", "number", "First to last purchase, in unit"),
                    col("T", "number", "First purchase to calibration_end, in unit"),
                    col(
                        "monetary_value",
                        "number",
                        "Mean amount of the repeat purchase days (0 without repeats)",
                    ),
                ]
            };
            ("/models/{model}", "customers", columns, notes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn identifiers_are_checked_and_quoted() {
        let mut s = QuerySettings {
            table: Some("analytics.events".into()),
            ..QuerySettings::default()
        };
        let q = reduction_query(Reduction::Cohorts, Dialect::Bigquery, &s).unwrap();
        assert!(q.sql.contains("FROM `analytics`.`events`"));
        assert!(q.sql.contains("DATE_TRUNC(activity_date, MONTH)"));
        let project = QuerySettings {
            table: Some("my-project.analytics.events".into()),
            ..QuerySettings::default()
        };
        let q = reduction_query(Reduction::Cohorts, Dialect::Bigquery, &project).unwrap();
        assert!(q.sql.contains("FROM `my-project`.`analytics`.`events`"));
        let refused = reduction_query(Reduction::Cohorts, Dialect::Duckdb, &project).unwrap_err();
        assert_eq!(refused.pointer, "/table");
        s.columns = vec![("date".into(), "d; DROP TABLE x".into())];
        let refused = reduction_query(Reduction::Cohorts, Dialect::Duckdb, &s).unwrap_err();
        assert_eq!(refused.pointer, "/date");
        s.columns = vec![("mrr".into(), "mrr".into())];
        let refused = reduction_query(Reduction::Cohorts, Dialect::Duckdb, &s).unwrap_err();
        assert_eq!(refused.pointer, "/mrr");
    }

    #[test]
    fn settings_are_required_or_refused_by_reduction() {
        let none = QuerySettings::default();
        let refused = reduction_query(Reduction::Survival, Dialect::Postgres, &none).unwrap_err();
        assert_eq!(refused.pointer, "/as_of");
        let stray = QuerySettings {
            as_of: Some(day("2026-01-01")),
            ..QuerySettings::default()
        };
        let refused = reduction_query(Reduction::Cohorts, Dialect::Postgres, &stray).unwrap_err();
        assert_eq!(refused.pointer, "/as_of");
        let q = reduction_query(Reduction::Survival, Dialect::Postgres, &stray).unwrap();
        assert_eq!(q.body_field, "event_table");
        assert!(q.sql.contains("DATE '2026-01-01'"));
    }

    #[test]
    fn week_starts_are_monday_in_every_dialect() {
        let s = QuerySettings {
            period: Some(Period::Week),
            ..QuerySettings::default()
        };
        let sql = |d| reduction_query(Reduction::Series, d, &s).unwrap().sql;
        assert!(sql(Dialect::Bigquery).contains("ISOWEEK"));
        assert!(sql(Dialect::Snowflake).contains("DAYOFWEEKISO"));
        assert!(sql(Dialect::Duckdb).contains("date_trunc('week'"));
    }
}
