//! Segments (`group_by`, `filter`) on `/cohorts` and `/series` against DuckDB: 9 cases whose
//! every expected figure was computed by SQL in DuckDB 2.0.1
//! (tests/fixtures/segments_reference.py) over 5,334 activities and 1,080 MRR events with
//! plan switches mid-period, reactivations in another plan, a year's turn, the leap day,
//! duplicates and one-event customers. A mismatch in any cell, of the total or any segment,
//! fails; the same cases as CSV (attributes as extra columns) give the same bytes.

mod common;

use axum::http::Method;
use common::{post_json, project, query_of, send};
use serde_json::{json, Value};

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A fixture CSV's rows as JSON events: the third column a number (absent when empty), plan
/// and country as attributes.
fn events(path: &str, value: &str) -> Vec<Value> {
    read(path)
        .lines()
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            let mut e = json!({"customer_id": c[0], "date": c[1],
                               "attributes": {"plan": c[3], "country": c[4]}});
            if !c[2].is_empty() {
                e[value] = json!(c[2].parse::<f64>().unwrap());
            }
            e
        })
        .collect()
}

#[tokio::test]
async fn every_segment_matches_duckdb() {
    let fixture: Value =
        serde_json::from_str(&read("tests/fixtures/segments_reference.json")).unwrap();
    let activity = events("tests/fixtures/segment_activity.csv", "amount");
    let mrr = events("tests/fixtures/segment_mrr.csv", "mrr");
    assert_eq!((activity.len(), mrr.len()), (5334, 1080));
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let endpoint = case["endpoint"].as_str().unwrap();
        let (rows, file) = if endpoint == "/cohorts" {
            (&activity, "tests/fixtures/segment_activity.csv")
        } else {
            (&mrr, "tests/fixtures/segment_mrr.csv")
        };
        let mut body = case["request"].clone();
        body["events"] = Value::Array(rows.clone());
        if body.get("period").is_none() {
            body["period"] = json!("month");
        }
        let answer = post_json(endpoint, &body).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.text);
        let expected = &case["expected"];
        assert_eq!(
            project(&answer.body, &expected["total"]),
            expected["total"],
            "{name}: the total differs from DuckDB's"
        );
        let want = expected["segments"].as_array().unwrap();
        let got = answer.body["segments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(got.len(), want.len(), "{name}: segments");
        for (got, want) in got.iter().zip(want) {
            assert_eq!(
                project(got, want),
                *want,
                "{name}: segment {}",
                want["segment"]
            );
        }
        if endpoint == "/series" && !want.is_empty() {
            // A segment's movements add up: end = start + new + reactivated + moved in −
            // churned − moved out, and the moves between segments cancel in the sum.
            for segment in &got {
                for p in segment["periods"].as_array().unwrap() {
                    let n = |k: &str| p[k].as_i64().unwrap();
                    assert_eq!(
                        n("end_customers"),
                        n("start_customers")
                            + n("new_customers")
                            + n("reactivated_customers")
                            + n("moved_in_customers")
                            - n("churned_customers")
                            - n("moved_out_customers"),
                        "{name}: {}",
                        p["period"]
                    );
                }
            }
        }
        // The same rows as CSV, the settings in the query string: the same bytes.
        let mut settings = case["request"].clone();
        if settings.get("period").is_none() {
            settings["period"] = json!("month");
        }
        let path = format!("{endpoint}?{}", query_of(&settings));
        // Without group_by or filter a CSV body has only the known columns.
        let segmenting = settings.get("group_by").is_some() || settings.get("filter").is_some();
        let csv: String = if segmenting {
            read(file)
        } else {
            read(file)
                .lines()
                .map(|l| l.splitn(4, ',').take(3).collect::<Vec<_>>().join(",") + "\n")
                .collect()
        };
        let as_csv = send(Method::POST, &path, Some("text/csv"), csv).await;
        assert_eq!(as_csv.status, 200, "{name} as CSV: {}", as_csv.text);
        assert_eq!(
            as_csv.text, answer.text,
            "{name}: CSV and JSON answers differ"
        );
    }
}

#[tokio::test]
async fn a_plan_switch_is_a_move_not_a_churn() {
    // ChartMogul's example: a customer on plan A at 50 moves to plan B at 30.
    let events = json!([
        {"customer_id": "acme", "date": "2026-01-05", "mrr": 50, "attributes": {"plan": "A"}},
        {"customer_id": "acme", "date": "2026-02-10", "mrr": 30, "attributes": {"plan": "B"}},
        {"customer_id": "beta", "date": "2026-01-20", "mrr": 40, "attributes": {"plan": "A"}}
    ]);
    let answer = post_json(
        "/series",
        &json!({"period": "month", "events": events, "group_by": ["plan"], "ltv_margin_pct": 80}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let feb = &answer.body["periods"][1];
    assert_eq!(feb["contraction_mrr"], 20.0);
    assert_eq!(feb["churned_customers"], 0);
    assert_eq!(feb["new_customers"], 0);
    let a = &answer.body["segments"][0];
    assert_eq!(a["segment"], json!({"plan": "A"}));
    let a_feb = &a["periods"][1];
    assert_eq!(
        (
            a_feb["moved_out_customers"].as_u64(),
            a_feb["moved_out_mrr"].as_f64()
        ),
        (Some(1), Some(50.0))
    );
    assert_eq!(a_feb["churned_customers"], 0);
    assert_eq!(a_feb["customer_churn_rate"], 0.0);
    // Plan A keeps beta of its two customers: CRR 50 %, churn 0 %, one moved out.
    assert_eq!(a_feb["customer_retention_rate"], 50.0);
    let b_feb = &answer.body["segments"][1]["periods"][1];
    assert_eq!(
        (
            b_feb["moved_in_customers"].as_u64(),
            b_feb["moved_in_mrr"].as_f64()
        ),
        (Some(1), Some(30.0))
    );
    assert_eq!(b_feb["new_customers"], 0);
    // ARPA, ARR, the change against January.
    assert_eq!(feb["arpa"], 35.0);
    assert_eq!(feb["arr"], 840.0);
    assert_eq!(feb["end_mrr_change"], -20.0);
    assert_eq!(feb["end_customers_change"], 0);
    // No churn in February: no LTV; with churn it is ARPA × margin / churn.
    assert!(feb.get("ltv").is_none());
    let churn = json!([
        {"customer_id": "a", "date": "2026-01-05", "mrr": 100},
        {"customer_id": "b", "date": "2026-01-05", "mrr": 100},
        {"customer_id": "b", "date": "2026-02-05", "mrr": 0}
    ]);
    let answer = post_json(
        "/series",
        &json!({"period": "month", "events": churn, "ltv_margin_pct": 80}),
    )
    .await;
    let ltv = &answer.body["periods"][1]["ltv"];
    // February: ARPA 100, churn 1 of 2 = 50 %: 100 × 0.8 / 0.5 = 160.
    assert_eq!(ltv["value"], 160.0);
    assert!(ltv["breakdown"]["formula"]
        .as_str()
        .unwrap()
        .contains("ARPU"));
}

#[tokio::test]
async fn segment_refusals_name_the_field() {
    let events = json!([
        {"customer_id": "acme", "date": "2026-01-05", "mrr": 50, "attributes": {"plan": "A"}},
        {"customer_id": "beta", "date": "2026-01-20", "mrr": 40}
    ]);
    post_json(
        "/series",
        &json!({"period": "month", "events": events, "group_by": ["plan"]}),
    )
    .await
    .assert_problem(422, Some("/events/1/attributes/plan"));
    post_json(
        "/series",
        &json!({"period": "month", "events": events, "group_by": ["tier"]}),
    )
    .await
    .assert_problem(422, Some("/group_by/0"));
    post_json("/series", &json!({"period": "month", "events": events, "filter": [{"attribute": "plan", "op": "in", "values": ["A"]}], "group_by": ["plan"], "reactivation_window_days": 30}))
        .await
        .assert_problem(422, Some("/reactivation_window_days"));
    post_json(
        "/series",
        &json!({"period": "month", "events": events, "ltv_margin_pct": 120}),
    )
    .await
    .assert_problem(422, Some("/ltv_margin_pct"));
    let summary = json!([{"period": "2026-01-01", "first_seen_customers": 1, "events": 1, "new_customers": 1, "reactivated_customers": 0, "churned_customers": 0, "new_mrr": 10, "expansion_mrr": 0, "contraction_mrr": 0, "churned_mrr": 0, "reactivation_mrr": 0}]);
    post_json(
        "/series",
        &json!({"period": "month", "period_summary": summary, "group_by": ["plan"]}),
    )
    .await
    .assert_problem(422, Some("/group_by"));
    let activity = json!([{"customer_id": "a", "date": "2026-01-05", "attributes": {"plan": "A"}}]);
    post_json("/cohorts", &json!({"events": activity, "filter": [{"attribute": "country", "op": "in", "values": ["JP"]}]}))
        .await
        .assert_problem(422, Some("/filter/0/attribute"));
    post_json("/cohorts", &json!({"events": activity, "filter": [{"attribute": "plan", "op": "not_in", "values": ["A"]}]}))
        .await
        .assert_problem(422, Some("/filter"));
    send(
        Method::POST,
        "/cohorts?group_by=plan",
        Some("text/csv"),
        "customer_id,date,amount,plan\na,2026-01-05,x,A\n",
    )
    .await
    .assert_problem(422, Some("/events/0/amount"));
}

/// Observations with a plan and a country: durations and churn vary by plan.
fn observations() -> Vec<Value> {
    (0..120)
        .map(|i| {
            let plan = ["annual", "monthly", "trial"][i % 3];
            let country = ["JP", "US"][(i / 3) % 2];
            let duration = 1 + (i * 7 + i / 3) % (12 + 6 * (i % 3));
            json!({"duration": duration, "observed": i % 4 != 0, "group": country,
                   "attributes": {"plan": plan, "country": country}})
        })
        .collect()
}

#[tokio::test]
async fn a_survival_segment_is_the_curve_of_its_rows_alone() {
    let rows = observations();
    let answer = post_json(
        "/survival",
        &json!({"observations": rows, "group_by": ["plan"], "times": [3, 6]}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let segments = answer.body["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 3);
    for segment in segments {
        let plan = segment["segment"]["plan"].as_str().unwrap();
        let alone: Vec<Value> = rows
            .iter()
            .filter(|r| r["attributes"]["plan"] == plan)
            .map(|r| json!({"duration": r["duration"], "observed": r["observed"], "group": r["group"]}))
            .collect();
        let by_itself = post_json(
            "/survival",
            &json!({"observations": alone, "times": [3, 6]}),
        )
        .await;
        let mut block = segment.clone();
        block.as_object_mut().unwrap().remove("segment");
        assert_eq!(block, by_itself.body, "segment {plan}");
    }
    // The total is the curve of every row, as without group_by.
    let plain: Vec<Value> = rows
        .iter()
        .map(|r| json!({"duration": r["duration"], "observed": r["observed"], "group": r["group"]}))
        .collect();
    let total = post_json(
        "/survival",
        &json!({"observations": plain, "times": [3, 6]}),
    )
    .await;
    let mut got = answer.body.clone();
    got.as_object_mut().unwrap().remove("segments");
    assert_eq!(got, total.body);
    // CSV with the attributes as extra columns and a filter: the same bytes as JSON.
    let mut csv = "duration,observed,group,plan,country\n".to_owned();
    for r in &rows {
        csv += &format!(
            "{},{},{},{},{}\n",
            r["duration"],
            r["observed"],
            r["group"].as_str().unwrap(),
            r["attributes"]["plan"].as_str().unwrap(),
            r["attributes"]["country"].as_str().unwrap()
        );
    }
    let json_answer = post_json(
        "/survival",
        &json!({"observations": rows, "group_by": ["plan"], "filter": [{"attribute": "plan", "op": "not_in", "values": ["trial"]}]}),
    )
    .await;
    let csv_answer = send(
        Method::POST,
        "/survival?group_by=plan&filter=plan:not_in:trial",
        Some("text/csv"),
        csv,
    )
    .await;
    assert_eq!(csv_answer.status, 200, "{}", csv_answer.text);
    assert_eq!(csv_answer.text, json_answer.text);
    assert_eq!(json_answer.body["segments"].as_array().unwrap().len(), 2);
}
