//! Summaries in place of raw rows (#18): the reduction SQL's results, computed by DuckDB from
//! generated rows (tests/fixtures/sql_summaries.json, written by scripts/sql_check.py
//! --write-fixture; CI also runs the queries live in DuckDB, PostgreSQL, Spark and the
//! BigQuery and Snowflake dialects through sqlglot), answer byte for byte as those rows do;
//! summaries split by shards add up; the CSV form answers as the JSON form; refusals name
//! their field; and scoring shards with fitted parameters gives the whole fit's predictions.

mod common;

use axum::http::Method;
use serde_json::{json, Value};

use common::{csv_of, post_json, send};

fn fixture() -> Value {
    common::sql_fixture()
}

/// A case's raw body, with the stored row lists put back in place of their names.
fn raw_body(fixture: &Value, case: &Value) -> Value {
    let mut body = case["raw"].clone();
    for value in body.as_object_mut().unwrap().values_mut() {
        if let Some(name) = value.as_str().and_then(|s| s.strip_prefix('$')) {
            *value = fixture["bodies"][name].clone();
        }
    }
    body
}

fn query_string(params: &Value) -> String {
    params
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn duckdb_summaries_answer_as_the_raw_rows_they_summarise() {
    let fixture = fixture();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 15, "{} cases", cases.len());
    for case in cases {
        let label = case["label"].as_str().unwrap();
        let reduction = case["reduction"].as_str().unwrap();
        // The query the service serves today is the one whose result is stored.
        let served = send(
            Method::GET,
            &format!("/sql/{reduction}?{}", query_string(&case["params"])),
            None,
            "",
        )
        .await;
        assert_eq!(served.status, 200, "{label}: {}", served.text);
        assert_eq!(
            served.body["sql"], case["sql"],
            "{label}: the query changed; run scripts/sql_check.py --write-fixture tests/fixtures/sql_summaries.json"
        );
        let endpoint = case["endpoint"].as_str().unwrap();
        let raw = post_json(endpoint, &raw_body(&fixture, case)).await;
        let summary = post_json(endpoint, &case["summary"]).await;
        assert_eq!(raw.status, 200, "{label}: {}", raw.text);
        assert_eq!(summary.status, 200, "{label}: {}", summary.text);
        assert_eq!(summary.text, raw.text, "{label}");
    }
}

/// How a summary's fields split between two shards of the customers.
struct Split<'a> {
    /// Counts that split freely.
    halves: &'a [&'a str],
    /// Counts of a subset of the customers `of` counts: each shard's at most its `of`.
    /// `disjoint`: the subsets do not overlap (their sum is at most `of`).
    within: &'a [&'a str],
    of: &'a str,
    disjoint: bool,
    /// Amounts, halved (exact for whole and quarter units).
    money: &'a [&'a str],
}

/// Splits every cell or period of a summary in two rows that add up to it: what two shards
/// of the customers would give.
fn split_in_two(rows: &[Value], split: &Split) -> Vec<Value> {
    let mut out = Vec::new();
    for row in rows {
        let (mut first, mut second) = (row.clone(), row.clone());
        for field in split.halves {
            if let Some(n) = row[*field].as_u64() {
                first[*field] = json!(n / 2);
                second[*field] = json!(n - n / 2);
            }
        }
        let mut budget = first[split.of].as_u64().unwrap_or(0);
        for field in split.within {
            if let Some(n) = row[*field].as_u64() {
                let one = n.min(budget);
                if split.disjoint {
                    budget -= one;
                }
                first[*field] = json!(one);
                second[*field] = json!(n - one);
            }
        }
        for field in split.money {
            if let Some(x) = row[*field].as_f64() {
                first[*field] = json!(x / 2.0);
                second[*field] = json!(x / 2.0);
            }
        }
        out.push(first);
        out.push(second);
    }
    out
}

#[tokio::test]
async fn summaries_of_shards_add_up_to_the_whole() {
    let fixture = fixture();
    for case in fixture["cases"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let mut body = case["summary"].clone();
        let (field, rows) = match case["reduction"].as_str().unwrap() {
            "cohorts" => {
                let rows = body["cohort_summary"].as_array().unwrap().clone();
                let split = Split {
                    halves: &["active"],
                    within: &["last_active", "second_activity"],
                    of: "active",
                    disjoint: false,
                    money: &["amount"],
                };
                ("cohort_summary", split_in_two(&rows, &split))
            }
            "series" => {
                let rows = body["period_summary"].as_array().unwrap().clone();
                let split = Split {
                    halves: &[
                        "first_seen_customers",
                        "events",
                        "new_customers",
                        "reactivated_customers",
                        "churned_customers",
                    ],
                    within: &[
                        "voluntary_churned_customers",
                        "delinquent_churned_customers",
                    ],
                    of: "churned_customers",
                    disjoint: true,
                    money: &[
                        "new_mrr",
                        "expansion_mrr",
                        "contraction_mrr",
                        "churned_mrr",
                        "reactivation_mrr",
                        "voluntary_churned_mrr",
                        "delinquent_churned_mrr",
                    ],
                };
                ("period_summary", split_in_two(&rows, &split))
            }
            _ => continue,
        };
        body[field] = json!(rows);
        let whole = post_json(case["endpoint"].as_str().unwrap(), &case["summary"]).await;
        let shards = post_json(case["endpoint"].as_str().unwrap(), &body).await;
        assert_eq!(shards.status, 200, "{label}: {}", shards.text);
        assert_eq!(shards.text, whole.text, "{label}");
    }
}

#[tokio::test]
async fn csv_summaries_answer_as_json_ones() {
    let fixture = fixture();
    let find = |label: &str| {
        fixture["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"] == label)
            .unwrap()
            .clone()
    };
    let cohorts = find("cohorts period=week retention=unbounded");
    let rows = cohorts["summary"]["cohort_summary"].as_array().unwrap();
    let csv = csv_of(
        rows,
        &[
            "cohort",
            "offset",
            "active",
            "last_active",
            "second_activity",
            "amount",
        ],
    );
    let answer = send(
        Method::POST,
        "/cohorts?period=week&retention=unbounded",
        Some("text/csv"),
        csv,
    )
    .await;
    let json = post_json("/cohorts", &cohorts["summary"]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, json.text);

    let series = find("series period=quarter");
    let rows = series["summary"]["period_summary"].as_array().unwrap();
    let columns: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let answer = send(
        Method::POST,
        "/series?period=quarter",
        Some("text/csv"),
        csv_of(rows, &columns),
    )
    .await;
    let json = post_json("/series", &series["summary"]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, json.text);
}

#[tokio::test]
async fn a_hand_made_series_summary_answers_as_its_events() {
    // The spec's example: acme 100 (Jan 10) → 150 (Feb 3); beta 50 (Jan 15) → 0 (Feb 20) →
    // 40 (Mar 5); cogs 30 (Feb 11) → 20 (Mar 1); dyna 80 (Mar 20). Summarised by hand:
    let events = json!([
        {"customer_id": "acme", "date": "2026-01-10", "mrr": 100},
        {"customer_id": "beta", "date": "2026-01-15", "mrr": 50},
        {"customer_id": "acme", "date": "2026-02-03", "mrr": 150},
        {"customer_id": "beta", "date": "2026-02-20", "mrr": 0},
        {"customer_id": "cogs", "date": "2026-02-11", "mrr": 30},
        {"customer_id": "beta", "date": "2026-03-05", "mrr": 40},
        {"customer_id": "cogs", "date": "2026-03-01", "mrr": 20},
        {"customer_id": "dyna", "date": "2026-03-20", "mrr": 80}
    ]);
    let summary = json!([
        {"period": "2026-01-01", "first_seen_customers": 2, "events": 2, "new_customers": 2,
         "new_mrr": 150},
        {"period": "2026-02-01", "first_seen_customers": 1, "events": 3, "new_customers": 1,
         "churned_customers": 1, "new_mrr": 30, "expansion_mrr": 50, "churned_mrr": 50},
        {"period": "2026-03-01", "first_seen_customers": 1, "events": 3, "new_customers": 1,
         "reactivated_customers": 1, "new_mrr": 80, "contraction_mrr": 10,
         "reactivation_mrr": 40}
    ]);
    let raw = post_json("/series", &json!({"period": "month", "events": events})).await;
    let from_summary = post_json(
        "/series",
        &json!({"period": "month", "period_summary": summary}),
    )
    .await;
    assert_eq!(raw.status, 200);
    assert_eq!(from_summary.text, raw.text);
    assert_eq!(from_summary.body["periods"][1]["start_customers"], 2);
    assert_eq!(from_summary.body["periods"][2]["start_mrr"], 180.0);
}

#[tokio::test]
async fn summaries_that_cannot_be_refused_by_field() {
    let cell = |cohort: &str, offset: u32, active: u64, last: u64| json!({"cohort": cohort, "offset": offset, "active": active, "last_active": last});
    let cases = vec![
        (
            "/cohorts",
            json!({"cohort_summary": [cell("2026-01-15", 0, 2, 2)]}),
            "/cohort_summary/0/cohort",
        ),
        (
            "/cohorts",
            json!({"period": "week", "cohort_summary": [cell("2026-01-04", 0, 2, 2)]}),
            "/cohort_summary/0/cohort",
        ),
        (
            "/cohorts",
            json!({"cohort_summary": [cell("2026-01-01", 0, 2, 3)]}),
            "/cohort_summary/0/last_active",
        ),
        (
            "/cohorts",
            json!({"cohort_summary": [cell("2026-01-01", 0, 2, 1), cell("2026-01-01", 1, 3, 1)]}),
            "/cohort_summary/0/active",
        ),
        (
            "/cohorts",
            json!({"cohort_summary": [cell("2026-01-01", 0, 2, 1)]}),
            "/cohort_summary/0/last_active",
        ),
        (
            "/cohorts",
            json!({"cohort_summary": [cell("2026-01-01", 1, 2, 2)]}),
            "/cohort_summary/0/active",
        ),
        (
            "/cohorts",
            json!({"events": [], "cohort_summary": []}),
            "/cohort_summary",
        ),
        ("/cohorts", json!({}), "/events"),
        (
            "/series",
            json!({"period": "month", "as_of": "2026-03-01", "period_summary": [{"period": "2026-01-01"}]}),
            "/as_of",
        ),
        (
            "/series",
            json!({"period": "month", "period_summary": [{"period": "2026-01-01", "churned_customers": 1}]}),
            "/period_summary/0/churned_customers",
        ),
        (
            "/series",
            json!({"period": "month", "period_summary": [{"period": "2026-01-01", "new_mrr": -1}]}),
            "/period_summary/0/new_mrr",
        ),
        (
            "/series",
            json!({"period": "month", "period_summary": [{"period": "2026-01-01", "voluntary_churned_customers": 0}]}),
            "/period_summary/0/voluntary_churned_customers",
        ),
        ("/series", json!({"period": "month"}), "/events"),
        (
            "/series",
            json!({"period": "month", "period_summary": [{"period": "2026-01-01", "new_customers": 10_000_000_000_000u64}]}),
            "/period_summary/0/new_customers",
        ),
        (
            "/cohorts",
            json!({"cohort_summary": [cell("2026-01-01", 0, 10_000_000_000_000, 1)]}),
            "/cohort_summary/0/active",
        ),
    ];
    for (path, body, pointer) in cases {
        post_json(path, &body)
            .await
            .assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn sql_requests_are_checked() {
    let get = |path: &'static str| send(Method::GET, path, None, "");
    get("/sql/cohorts")
        .await
        .assert_problem(422, Some("/dialect"));
    get("/sql/cohorts?dialect=oracle")
        .await
        .assert_problem(422, None);
    get("/sql/everything?dialect=duckdb")
        .await
        .assert_problem(404, None);
    get("/sql/survival?dialect=duckdb")
        .await
        .assert_problem(422, Some("/as_of"));
    get("/sql/cohorts?dialect=duckdb&as_of=2026-01-01")
        .await
        .assert_problem(422, Some("/as_of"));
    get("/sql/cohorts?dialect=duckdb&date=d%3B%20DROP%20TABLE%20x")
        .await
        .assert_problem(422, Some("/date"));
    get("/sql/series?dialect=duckdb&table=a.b.c.d")
        .await
        .assert_problem(422, Some("/table"));
    get("/sql/rfm?dialect=spark&calibration_end=2026-02-30")
        .await
        .assert_problem(422, Some("/calibration_end"));
    let ok = get("/sql/series?dialect=snowflake&table=ANALYTICS.MRR_EVENTS&customer_id=ACCOUNT_ID&period=week").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.body["sql"]
        .as_str()
        .unwrap()
        .contains("FROM \"ANALYTICS\".\"MRR_EVENTS\""));
    assert_eq!(ok.body["endpoint"], "/series");
    assert_eq!(ok.body["body_field"], "period_summary");
    assert_eq!(ok.body["request_fields"], json!({"period": "week"}));
}

#[tokio::test]
async fn shards_scored_with_the_fitted_parameters_get_the_whole_fits_predictions() {
    // Fit once on the (grouped) summary, then score any shard of customers on any replica.
    let customers = common::cdnow_customers();
    let predict = json!({"horizon": 39, "uncertainty": {"method": "none"}});
    let whole = post_json(
        "/models/bgnbd",
        &json!({"customers": customers, "predict": predict}),
    )
    .await;
    assert_eq!(whole.status, 200, "{}", whole.text);
    let p = &whole.body["parameters"];
    let parameters = json!({
        "r": p["r"]["estimate"], "alpha": p["alpha"]["estimate"],
        "a": p["a"]["estimate"], "b": p["b"]["estimate"]
    });
    let expected = whole.body["predictions"]["customers"].as_array().unwrap();
    let mut scored = Vec::new();
    for shard in customers.chunks(800) {
        let answer = post_json(
            "/models/bgnbd",
            &json!({"customers": shard, "parameters": parameters, "predict": predict}),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        scored.extend(
            answer.body["predictions"]["customers"]
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    assert!(customers.len() > 2000 && scored.len() == customers.len());
    assert_eq!(&scored, expected);
}

#[tokio::test]
async fn the_specs_summary_examples_answer_as_its_raw_examples() {
    use retention_kpi::http::records::{cohorts, series};
    for (path, examples, raw, summary) in [
        (
            "/cohorts",
            cohorts::cohorts_examples(),
            "monthly_order_cohorts",
            "cohort_summary_from_sql",
        ),
        (
            "/series",
            series::series_examples(),
            "monthly_mrr_series",
            "period_summary_from_sql",
        ),
    ] {
        let body = |name: &str| {
            examples
                .examples
                .iter()
                .find(|e| e.name == name)
                .unwrap()
                .body
                .clone()
        };
        let raw = post_json(path, &body(raw)).await;
        let summary = post_json(path, &body(summary)).await;
        assert_eq!(raw.status, 200);
        assert_eq!(summary.text, raw.text, "{path}");
    }
}
