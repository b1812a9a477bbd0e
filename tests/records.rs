//! /series, /cohorts and /survival from raw records, JSON and CSV: each period's figures
//! equal what the single-KPI endpoints answer for its counts, the MRR identity holds, and bad
//! rows are refused with their row and column.

mod common;

use axum::http::Method;
use serde_json::{json, Value};

fn events() -> Value {
    json!([
        {"customer_id": "acme", "date": "2026-01-10", "mrr": 100},
        {"customer_id": "beta", "date": "2026-01-15", "mrr": 50},
        {"customer_id": "acme", "date": "2026-02-03", "mrr": 150},
        {"customer_id": "beta", "date": "2026-02-20", "mrr": 0},
        {"customer_id": "cogs", "date": "2026-02-11", "mrr": 30},
        {"customer_id": "beta", "date": "2026-03-05", "mrr": 40},
        {"customer_id": "cogs", "date": "2026-03-01", "mrr": 20},
        {"customer_id": 7, "date": "2026-03-20", "mrr": 80}
    ])
}

#[tokio::test]
async fn each_period_equals_what_crr_churn_and_revenue_churn_answer_for_its_counts() {
    let answer =
        common::post_json("/series", &json!({"period": "month", "events": events()})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let periods = answer.body["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 3);
    assert_eq!(periods[0]["period"], "2026-01");
    for p in periods {
        let n = |k: &str| p[k].as_f64().unwrap();
        let rebuilt = n("start_mrr") + n("new_mrr") + n("reactivation_mrr") + n("expansion_mrr")
            - n("contraction_mrr")
            - n("churned_mrr");
        assert!(
            (rebuilt - n("end_mrr")).abs() < 1e-9,
            "MRR identity in {}",
            p["period"]
        );
        if n("start_customers") == 0.0 {
            assert!(p.get("customer_retention_rate").is_none());
            continue;
        }
        let crr = common::post_json(
            "/crr",
            &json!({"start_customers": p["start_customers"], "new_customers": n("new_customers") + n("reactivated_customers"), "end_customers": p["end_customers"]}),
        )
        .await;
        assert_eq!(
            p["customer_retention_rate"], crr.body["value"],
            "{}",
            p["period"]
        );
        let churn = common::post_json(
            "/churn",
            &json!({"start_customers": p["start_customers"], "lost_customers": p["churned_customers"]}),
        )
        .await;
        assert_eq!(p["customer_churn_rate"], churn.body["value"]);
        assert!((n("customer_retention_rate") + n("customer_churn_rate") - 100.0).abs() < 1e-9);
        let revenue = common::post_json(
            "/revenue-churn",
            &json!({"start_mrr": p["start_mrr"], "new_mrr": p["new_mrr"], "expansion_mrr": p["expansion_mrr"], "contraction_mrr": p["contraction_mrr"], "churned_mrr": p["churned_mrr"], "reactivation_mrr": p["reactivation_mrr"]}),
        )
        .await;
        for metric in revenue.body["metrics"].as_array().unwrap() {
            let name = metric["metric"].as_str().unwrap();
            if name != "end_mrr" {
                assert_eq!(p[name], metric["value"], "{name} in {}", p["period"]);
            }
        }
    }
    let march = &periods[2];
    assert_eq!(
        (
            march["reactivated_customers"].as_u64(),
            march["new_customers"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn a_csv_body_answers_as_the_same_json() {
    let csv = "customer_id,date,mrr\nacme,2026-01-10,100\nbeta,2026-01-15,50\nacme,2026-02-03,150\nbeta,2026-02-20,0\ncogs,2026-02-11,30\nbeta,2026-03-05,40\ncogs,2026-03-01,20\n7,2026-03-20,80\n";
    let from_csv = common::send(Method::POST, "/series?period=month", Some("text/csv"), csv).await;
    let from_json =
        common::post_json("/series", &json!({"period": "month", "events": events()})).await;
    assert_eq!(from_csv.status, 200, "{}", from_csv.text);
    assert_eq!(from_csv.body, from_json.body);
}

#[tokio::test]
async fn a_bad_csv_row_is_refused_with_its_row_and_column() {
    let csv = "customer_id,date,mrr\nacme,2026-01-10,100\nbeta,2026-01-15,lots\n";
    let answer = common::send(Method::POST, "/series?period=month", Some("text/csv"), csv).await;
    answer.assert_problem(422, Some("/events/1/mrr"));
    assert!(answer.body["detail"].as_str().unwrap().contains("line 3"));
    let csv = "customer_id,date,mrr\nacme,10/01/2026,100\n";
    let answer = common::send(Method::POST, "/series?period=month", Some("text/csv"), csv).await;
    answer.assert_problem(422, Some("/events/0/date"));
    let answer = common::send(
        Method::POST,
        "/series?period=fortnight",
        Some("text/csv"),
        "customer_id,date,mrr\na,2026-01-01,1\n",
    )
    .await;
    assert_eq!(answer.status, 422);
}

#[tokio::test]
async fn bad_records_are_refused_with_their_field() {
    let cases = [
        (
            "/series",
            json!({"period": "month", "events": []}),
            "/events",
        ),
        (
            "/series",
            json!({"period": "month", "events": [{"customer_id": "a", "date": "2026-01-01", "mrr": -1}]}),
            "/events/0/mrr",
        ),
        (
            "/series",
            json!({"period": "month", "events": [{"customer_id": "a", "date": "2026-13-01", "mrr": 1}]}),
            "/events/0/date",
        ),
        (
            "/series",
            json!({"period": "week", "events": [{"customer_id": "a", "date": "2026-01-01", "mrr": 1}], "from": "1990-01-01"}),
            "/period",
        ),
        ("/cohorts", json!({"events": []}), "/events"),
        (
            "/cohorts",
            json!({"events": [{"customer_id": "a", "date": "2026-01-01", "amount": -3}]}),
            "/events/0/amount",
        ),
        (
            // The first refused row is named, its amount before its date.
            "/cohorts",
            json!({"events": [
                {"customer_id": "a", "date": "2026-01-01"},
                {"customer_id": "a", "date": "2026-02-30", "amount": -1},
                {"customer_id": "b", "date": "2026-13-01"}]}),
            "/events/1/amount",
        ),
        (
            "/cohorts",
            json!({"events": [
                {"customer_id": "a", "date": "2026-01-01"},
                {"customer_id": "a", "date": "2026-02-30"},
                {"customer_id": "b", "date": "2026-13-01", "amount": -1}]}),
            "/events/1/date",
        ),
        (
            "/cohorts",
            json!({"events": [{"customer_id": "a", "date": "2026-01-01", "plan": "pro"}]}),
            "/events/0/plan",
        ),
        (
            "/cohorts",
            json!({"events": [{"customer_id": 2.5, "date": "2026-01-01"}]}),
            "/events/0/customer_id",
        ),
        (
            "/cohorts",
            json!({"events": [{"customer_id": "a", "date": "2026-01-01", "attributes": {"plan": {}}}]}),
            "/events/0/attributes/plan",
        ),
        ("/survival", json!({"observations": []}), "/observations"),
        (
            "/survival",
            json!({"observations": [{"duration": -1, "observed": true}]}),
            "/observations/0/duration",
        ),
        (
            "/survival",
            json!({"subscriptions": [{"start": "2026-01-01", "end": null}]}),
            "/as_of",
        ),
        (
            "/survival",
            json!({"as_of": "2026-11-01", "subscriptions": [{"start": "2026-05-01", "end": "2026-04-01"}]}),
            "/subscriptions/0/end",
        ),
        (
            "/survival",
            json!({"as_of": "2026-01-01", "subscriptions": [{"start": "2026-05-01", "end": null}]}),
            "/subscriptions/0/start",
        ),
        (
            // 101 groups: over the default MAX_SURVIVAL_GROUPS (100), refused before the
            // log-rank test's k × k work.
            "/survival",
            json!({"observations": (0..101).map(|g| json!({"duration": 1 + g % 3, "observed": true, "group": format!("g{g}")})).collect::<Vec<_>>()}),
            "/observations",
        ),
    ];
    for (path, body, pointer) in cases {
        common::post_json(path, &body)
            .await
            .assert_problem(422, Some(pointer));
    }
    // A field given twice is refused, not read as its last value.
    common::send(
        Method::POST,
        "/cohorts",
        Some("application/json"),
        r#"{"events": [{"customer_id": "a", "date": "2026-01-01", "date": "2026-02-01"}]}"#,
    )
    .await
    .assert_problem(422, Some("/events/0"));
    // The same first refusal from CSV, and a CSV amount that is not a number.
    for (csv, pointer) in [
        (
            "customer_id,date,amount\na,2026-01-01,\na,2026-02-30,-1\n",
            "/events/1/amount",
        ),
        (
            "customer_id,date,amount\na,2026-01-01,ten\n",
            "/events/0/amount",
        ),
        (
            "customer_id,date\na,2026-01-01\nb,yesterday\n",
            "/events/1/date",
        ),
    ] {
        common::send(Method::POST, "/cohorts", Some("text/csv"), csv)
            .await
            .assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn cohorts_count_customers_by_first_period() {
    let csv = "customer_id,date,amount\nann,2026-01-05,40\nann,2026-03-02,30\nbob,2026-01-20,60\ncay,2026-02-01,10\ncay,2026-02-09,10\n";
    let answer = common::send(
        Method::POST,
        "/cohorts?period=month&retention=unbounded",
        Some("text/csv"),
        csv,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let january = &answer.body["cohorts"][0];
    assert_eq!(january["cohort"], "2026-01");
    assert_eq!(january["size"], 2);
    // Unbounded: ann is active in March, so counts as retained in February too.
    assert_eq!(january["counts"], json!([2, 1, 1]));
    assert_eq!(january["revenue"], json!([100.0, 0.0, 30.0]));
    assert_eq!(january["revenue_retention"], json!([100.0, 0.0, 30.0]));
    // 2 of 3 customers bought more than once.
    assert!(
        (answer.body["repeat_purchase_rate"]["value"]
            .as_f64()
            .unwrap()
            - 200.0 / 3.0)
            .abs()
            < 1e-9
    );
}

/// The JSON body and the CSV body of the same activities get the same answer, byte for byte
/// (JSON ids that are numbers are customers apart from the same digits as text).
#[tokio::test]
async fn cohorts_answer_json_as_csv() {
    let csv = "customer_id,date,amount\n7,2026-01-05,40\nann,2026-03-02,\n7,2026-02-20,60\ncay,2026-02-01,10\n";
    let from_csv = common::send(Method::POST, "/cohorts?period=month", Some("text/csv"), csv).await;
    assert_eq!(from_csv.status, 200, "{}", from_csv.text);
    let events = json!([
        {"customer_id": "7", "date": "2026-01-05", "amount": 40},
        {"customer_id": "ann", "date": "2026-03-02", "amount": null},
        {"customer_id": "7", "date": "2026-02-20", "amount": 60},
        {"customer_id": "cay", "date": "2026-02-01", "amount": 10, "attributes": {"plan": "pro"}}
    ]);
    let from_json =
        common::post_json("/cohorts", &json!({"period": "month", "events": events})).await;
    assert_eq!(from_json.text, from_csv.text);
    // The number 7 and the text "7" are two customers: January's cohort loses its February
    // activity to a new customer.
    let mut numeric = events.clone();
    numeric[2]["customer_id"] = json!(7);
    let split = common::post_json("/cohorts", &json!({"period": "month", "events": numeric})).await;
    assert_eq!(split.body["cohorts"][0]["counts"], json!([1, 0, 0]));
    assert_eq!(from_csv.body["cohorts"][0]["counts"], json!([1, 1, 0]));
}

#[tokio::test]
async fn subscriptions_become_censored_durations() {
    let answer = common::post_json(
        "/survival",
        &json!({"as_of": "2026-03-01", "unit": "day", "subscriptions": [
            {"start": "2026-01-01", "end": "2026-01-11"},
            {"start": "2026-01-01", "end": null},
            {"start": "2026-02-01", "end": "2026-04-01"}
        ]}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let curve = &answer.body["curve"];
    // Durations: 10 (churned), 59 (active), 28 (ends after as_of: censored at 28).
    assert_eq!(curve["timeline"], json!([0.0, 10.0, 28.0, 59.0]));
    assert_eq!(curve["churned"], json!([0, 1, 0, 0]));
    let s = curve["survival"].as_array().unwrap();
    assert!((s[1].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(answer.body["unit"], "day");
}

#[tokio::test]
async fn csv_ids_are_text_whatever_they_look_like() {
    // CSV cells have no type: "1" and "abc" are both ids, and numeric-only JSON ids are fine.
    let csv = "customer_id,date,amount\n1,2026-01-05,40\nabc,2026-01-20,60\n1,2026-02-11,25\n";
    let answer = common::send(Method::POST, "/cohorts?period=month", Some("text/csv"), csv).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let numeric = common::post_json(
        "/series",
        &json!({"period": "month", "events": [{"customer_id": 1, "date": "2026-01-05", "mrr": 10}, {"customer_id": 2, "date": "2026-02-05", "mrr": 20}]}),
    )
    .await;
    assert_eq!(numeric.status, 200, "{}", numeric.text);
    assert_eq!(numeric.body["customers"], 2);
    // In JSON, ids keep their type: 1 and "1" are two customers, not one.
    let mixed = common::post_json(
        "/series",
        &json!({"period": "month", "events": [{"customer_id": 1, "date": "2026-01-05", "mrr": 10}, {"customer_id": "1", "date": "2026-01-06", "mrr": 20}]}),
    )
    .await;
    assert_eq!(mixed.status, 200, "{}", mixed.text);
    assert_eq!(mixed.body["customers"], 2);
    assert_eq!(mixed.body["periods"][0]["end_mrr"], 30.0);
}

#[tokio::test]
async fn daily_cohorts_cut_by_calendar_day() {
    let csv = "customer_id,date\nann,2026-03-01\nann,2026-03-02\nbob,2026-03-01\nbob,2026-03-03\ncay,2026-03-02\n";
    let answer = common::send(Method::POST, "/cohorts?period=day", Some("text/csv"), csv).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let first = &answer.body["cohorts"][0];
    assert_eq!(first["cohort"], "2026-03-01");
    assert_eq!(first["size"], 2);
    // Bounded: ann returns on day 1, bob on day 2.
    assert_eq!(first["counts"], json!([2, 1, 1]));
    assert_eq!(answer.body["cohorts"][1]["cohort"], "2026-03-02");
    assert_eq!(answer.body["cohorts"][1]["size"], 1);
}
