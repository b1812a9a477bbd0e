//! Churn causes in `/series` (docs/formulas.md § 9.1): voluntary against delinquent churn from
//! the cancelling event's `reason`, the reactivation window, and the cancellations scheduled
//! after `as_of`, on a hand-made set of events whose every count is worked out below.

mod common;

use axum::http::Method;
use serde_json::{json, Value};

use common::{post_json, send};

/// a cancels in February; b's payment fails in February and b pays again 13 days later in
/// March; c leaves in March without a stated reason; d has a cancellation scheduled for April;
/// e an upgrade scheduled for April.
fn events() -> Value {
    json!([
        {"customer_id": "a", "date": "2026-01-05", "mrr": 100},
        {"customer_id": "a", "date": "2026-02-10", "mrr": 0, "reason": "voluntary"},
        {"customer_id": "b", "date": "2026-01-07", "mrr": 50},
        {"customer_id": "b", "date": "2026-02-25", "mrr": 0, "reason": "delinquent"},
        {"customer_id": "b", "date": "2026-03-10", "mrr": 50},
        {"customer_id": "c", "date": "2026-01-20", "mrr": 80},
        {"customer_id": "c", "date": "2026-03-05", "mrr": 0},
        {"customer_id": "d", "date": "2026-02-01", "mrr": 30},
        {"customer_id": "d", "date": "2026-04-15", "mrr": 0, "reason": "voluntary"},
        {"customer_id": "e", "date": "2026-01-10", "mrr": 40},
        {"customer_id": "e", "date": "2026-04-02", "mrr": 60}
    ])
}

fn counts(period: &Value) -> (u64, u64, f64, u64, f64, u64) {
    (
        period["churned_customers"].as_u64().unwrap(),
        period["voluntary_churned_customers"].as_u64().unwrap(),
        period["voluntary_churned_mrr"].as_f64().unwrap(),
        period["delinquent_churned_customers"].as_u64().unwrap(),
        period["delinquent_churned_mrr"].as_f64().unwrap(),
        period["reactivated_customers"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn churn_is_split_by_cause_and_scheduled_events_wait_for_their_day() {
    let answer = post_json(
        "/series",
        &json!({"events": events(), "period": "month", "as_of": "2026-03-31"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let periods = answer.body["periods"].as_array().unwrap();
    // The series ends at as_of: January to March.
    assert_eq!(periods.len(), 3);
    // February: a leaves (voluntary, 100), b's payment fails (delinquent, 50).
    assert_eq!(counts(&periods[1]), (2, 1, 100.0, 1, 50.0, 0));
    // March: b is back (reactivated), c leaves with no reason given: in neither cause.
    assert_eq!(counts(&periods[2]), (1, 0, 0.0, 0, 0.0, 1));
    // After March: d's cancellation (30 of MRR) is pending, e's upgrade is a scheduled change.
    let pending = &answer.body["pending"];
    assert_eq!(pending["as_of"], "2026-03-31");
    assert_eq!(pending["pending_cancellations"], 1);
    assert_eq!(pending["pending_cancellation_mrr"], 30.0);
    assert_eq!(pending["scheduled_changes"], 1);
    // March ends with c gone and d and e as they were: b 50 + d 30 + e 40.
    assert_eq!(periods[2]["end_mrr"], 120.0);
}

#[tokio::test]
async fn a_return_within_the_reactivation_window_is_not_churn() {
    let answer = post_json(
        "/series",
        &json!({"events": events(), "period": "month", "as_of": "2026-03-31", "reactivation_window_days": 30}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let periods = answer.body["periods"].as_array().unwrap();
    // b's 13-day gap is bridged: February loses only a, March reactivates nobody.
    assert_eq!(counts(&periods[1]), (1, 1, 100.0, 0, 0.0, 0));
    assert_eq!(counts(&periods[2]), (1, 0, 0.0, 0, 0.0, 0));
    assert_eq!(periods[1]["retained_customers"], 3);
    // A window shorter than the gap changes nothing.
    let narrow = post_json(
        "/series",
        &json!({"events": events(), "period": "month", "as_of": "2026-03-31", "reactivation_window_days": 10}),
    )
    .await;
    assert_eq!(
        counts(&narrow.body["periods"][1]),
        (2, 1, 100.0, 1, 50.0, 0)
    );
    assert!(answer.body["definitions"]
        .to_string()
        .contains("Reactivation window 30 days"));
}

#[tokio::test]
async fn a_csv_with_a_reason_column_answers_as_the_json() {
    let mut csv = String::from("customer_id,date,mrr,reason\n");
    for e in events().as_array().unwrap() {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            e["customer_id"].as_str().unwrap(),
            e["date"].as_str().unwrap(),
            e["mrr"],
            e["reason"].as_str().unwrap_or("")
        ));
    }
    let from_csv = send(
        Method::POST,
        "/series?period=month&as_of=2026-03-31&reactivation_window_days=30",
        Some("text/csv"),
        csv,
    )
    .await;
    assert_eq!(from_csv.status, 200, "{}", from_csv.text);
    let from_json = post_json(
        "/series",
        &json!({"events": events(), "period": "month", "as_of": "2026-03-31", "reactivation_window_days": 30}),
    )
    .await;
    assert_eq!(from_csv.text, from_json.text);
}

#[tokio::test]
async fn without_reasons_the_answer_has_no_cause_fields_and_bad_options_are_refused() {
    let plain = post_json(
        "/series",
        &json!({"events": [{"customer_id": "a", "date": "2026-01-05", "mrr": 100}, {"customer_id": "a", "date": "2026-02-05", "mrr": 0}], "period": "month"}),
    )
    .await;
    assert!(!plain.text.contains("voluntary_churned_customers"));
    assert!(!plain.text.contains("pending"));
    for (body, pointer) in [
        (
            json!({"events": events(), "period": "month", "reactivation_window_days": 4000}),
            "/reactivation_window_days",
        ),
        (
            json!({"events": events(), "period": "month", "as_of": "2026-02-30"}),
            "/as_of",
        ),
        (
            json!({"events": [{"customer_id": "a", "date": "2026-01-05", "mrr": 0, "reason": "bored"}], "period": "month"}),
            "/events/0/reason",
        ),
    ] {
        let answer = post_json("/series", &body).await;
        answer.assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn a_reason_on_a_paying_event_and_a_to_after_as_of_are_refused() {
    let answer = post_json(
        "/series",
        &json!({"events": [{"customer_id": "a", "date": "2026-01-05", "mrr": 10, "reason": "voluntary"}], "period": "month"}),
    )
    .await;
    answer.assert_problem(422, Some("/events/0/reason"));
    let answer = post_json(
        "/series",
        &json!({"events": events(), "period": "month", "as_of": "2026-03-31", "to": "2026-06-30"}),
    )
    .await;
    answer.assert_problem(422, Some("/to"));
}
