//! Every refused input answers application/problem+json with the right status and a pointer
//! to the offending field: impossible values (422), the framework's own rejections (400, 413,
//! 415, 422, 404, 405). Never a 500, never a NaN.

mod common;

use axum::http::Method;
use serde_json::json;

#[tokio::test]
async fn impossible_values_are_422_with_their_field() {
    let cases = [
        (
            "/crr",
            json!({"start_customers": 0, "new_customers": 0, "end_customers": 0}),
            "/start_customers",
        ),
        (
            "/crr",
            json!({"start_customers": 100, "new_customers": 30, "end_customers": 20}),
            "/new_customers",
        ),
        (
            "/crr",
            json!({"start_customers": 100, "new_customers": 0, "end_customers": 101}),
            "/end_customers",
        ),
        (
            "/churn",
            json!({"start_customers": 0, "lost_customers": 0}),
            "/start_customers",
        ),
        (
            "/churn",
            json!({"start_customers": 10, "lost_customers": 11}),
            "/lost_customers",
        ),
        ("/churn", json!({"start_customers": 10}), "/lost_customers"),
        (
            "/churn",
            json!({"start_customers": 10, "new_customers": 2}),
            "/end_customers",
        ),
        (
            "/churn",
            json!({"start_customers": 100, "lost_customers": 10, "end_customers": 80}),
            "/end_customers",
        ),
        (
            "/churn",
            json!({"start_customers": 100, "lost_customers": 10, "new_customers": 1, "end_customers": 100}),
            "/new_customers",
        ),
        ("/nps", json!({"scores": [10, 11]}), "/scores/1"),
        ("/nps", json!({"scores": [10, -1]}), "/scores/1"),
        ("/nps", json!({"scores": [7.5]}), "/scores/0"),
        ("/nps", json!({"scores": []}), "/scores"),
        ("/nps", json!({}), "/scores"),
        (
            "/nps",
            json!({"promoters": 0, "passives": 0, "detractors": 0}),
            "/promoters",
        ),
        ("/nps", json!({"scores": [9], "promoters": 1}), "/scores"),
        (
            "/clv",
            json!({"method": "simple", "average_purchase_value": -50, "lifespan": 3}),
            "/average_purchase_value",
        ),
        (
            "/clv",
            json!({"method": "simple", "average_purchase_value": 50}),
            "/lifespan",
        ),
        (
            "/clv",
            json!({"method": "simple", "average_purchase_value": 50, "lifespan": 3, "arpu": 4}),
            "/arpu",
        ),
        (
            "/clv",
            json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churn_rate_pct": 0}),
            "/churn_rate_pct",
        ),
        (
            "/clv",
            json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 120, "churn_rate_pct": 2}),
            "/gross_margin_pct",
        ),
        (
            "/clv",
            json!({"method": "simple", "average_purchase_value": 5, "lifespan": 3, "acquisition_cost": 0}),
            "/acquisition_cost",
        ),
        (
            "/clv",
            json!({"method": "historical", "purchases": [10, -1], "gross_margin_pct": 50}),
            "/purchases/1",
        ),
        (
            "/clv",
            json!({"method": "discounted", "margin_per_period": 10, "periods": 99999999, "retention_rate_pct": 80, "discount_rate_pct": 10}),
            "/periods",
        ),
        (
            "/clv",
            json!({"method": "discounted", "margins": [10], "periods": 1, "retention_rate_pct": 80, "discount_rate_pct": 10}),
            "/margins",
        ),
        (
            "/clv",
            json!({"method": "simple", "average_purchase_value": 1e300, "purchase_frequency": 1e300, "lifespan": 3}),
            "",
        ),
    ];
    for (path, body, pointer) in cases {
        let answer = common::post_json(path, &body).await;
        answer.assert_problem(422, Some(pointer));
        assert_eq!(
            answer.body["type"], "urn:retention-kpi:problem:validation",
            "{body}"
        );
    }
}

#[tokio::test]
async fn fields_missing_unknown_or_mistyped_are_422_with_their_field() {
    let cases = [
        (
            "/crr",
            json!({"start_customers": 100, "new_customers": 20}),
            "/end_customers",
        ),
        (
            "/crr",
            json!({"start_customers": 100, "new_customers": 20, "end_customers": 95, "start_customer": 1}),
            "/start_customer",
        ),
        (
            "/crr",
            json!({"start_customers": "100", "new_customers": 20, "end_customers": 95}),
            "/start_customers",
        ),
        (
            "/crr",
            json!({"start_customers": -1, "new_customers": 20, "end_customers": 95}),
            "/start_customers",
        ),
        (
            "/crr",
            json!({"start_customers": 10.5, "new_customers": 2, "end_customers": 9}),
            "/start_customers",
        ),
        (
            "/churn",
            json!({"start_customers": 10, "lost_customers": 1, "period": "fortnight"}),
            "/period",
        ),
        ("/clv", json!({"method": "guess"}), "/method"),
        // A mistyped field of a CLV method is named. (An internally tagged enum,
        // `#[serde(tag = "method")]`, loses this pointer: serde buffers the body before it
        // picks the variant, so the path of a type error is not tracked.)
        (
            "/clv",
            json!({"method": "simple", "average_purchase_value": 50, "lifespan": "three"}),
            "/lifespan",
        ),
        ("/nps", json!({"scores": [9, "ten"]}), "/scores/1"),
    ];
    for (path, body, pointer) in cases {
        let answer = common::post_json(path, &body).await;
        answer.assert_problem(422, Some(pointer));
        assert_eq!(
            answer.body["type"], "urn:retention-kpi:problem:invalid-body",
            "{body}"
        );
    }
}

#[tokio::test]
async fn an_answer_that_would_overflow_is_refused_not_nulled() {
    // quick ratio = 1.5e13 / 1e-300 overflows: refused rather than written as null.
    let answer = common::post_json(
        "/revenue-churn",
        &json!({"start_mrr": 4.6e16, "new_mrr": 1.5e13, "contraction_mrr": 1e-300}),
    )
    .await;
    answer.assert_problem(422, Some(""));
}

#[tokio::test]
async fn whole_numbers_written_as_floats_are_counts() {
    let answer = common::post_json(
        "/crr",
        &json!({"start_customers": 100.0, "new_customers": 20.0, "end_customers": 95.0}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["value"], 75.0);
}

#[tokio::test]
async fn malformed_json_is_400() {
    for body in ["{\"start_customers\": 100,", "not json", "", "{} {}"] {
        let answer = common::send(Method::POST, "/crr", Some("application/json"), body).await;
        answer.assert_problem(400, None);
    }
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_415() {
    let body = r#"{"start_customers":100,"new_customers":20,"end_customers":95}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let answer = common::send(Method::POST, "/crr", content_type, body).await;
        answer.assert_problem(415, None);
    }
    let answer = common::send(
        Method::POST,
        "/crr",
        Some("application/json; charset=utf-8"),
        body,
    )
    .await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let config = retention_kpi::config::Config {
        body_limit: 1024,
        ..Default::default()
    };
    let scores = vec![9; 2000];
    let answer = common::send_to(
        retention_kpi::app(config),
        Method::POST,
        "/nps",
        Some("application/json"),
        json!({ "scores": scores }).to_string(),
    )
    .await;
    answer.assert_problem(413, None);
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let answer = common::send(Method::GET, "/nope", None, "").await;
    answer.assert_problem(404, None);
    let answer = common::send(Method::GET, "/crr", None, "").await;
    answer.assert_problem(405, None);
    let answer = common::send(Method::DELETE, "/healthz", None, "").await;
    answer.assert_problem(405, None);
}

#[tokio::test]
async fn every_answer_has_a_request_id() {
    let answer = common::send(Method::GET, "/healthz", None, "").await;
    assert!(answer.headers.contains_key("x-request-id"));
    let answer = common::post_json("/crr", &json!({})).await;
    assert!(answer.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn a_csv_whose_newlines_were_stripped_names_the_columns_expected_and_seen() {
    // What `curl -d @events.csv` sends: the file's lines run together into one header.
    let mangled = "customer_id,date,amountann,2026-01-05,40ann,2026-02-11,25";
    let answer = common::send(Method::POST, "/cohorts", Some("text/csv"), mangled).await;
    answer.assert_problem(422, Some("/events"));
    let detail = answer.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"amountann\" that is not one of customer_id,date,amount"),
        "{detail}"
    );
    assert!(detail.contains("--data-binary"), "{detail}");
}

#[tokio::test]
async fn a_date_of_the_right_form_that_does_not_exist_is_refused_as_such() {
    let answer = common::send(
        Method::POST,
        "/series?period=month",
        Some("text/csv"),
        "customer_id,date,mrr\nacme,2026-02-30,100\n",
    )
    .await;
    answer.assert_problem(422, Some("/events/0/date"));
    assert_eq!(
        answer.body["detail"],
        "/events/0/date: \"2026-02-30\" has the form YYYY-MM-DD but no such day exists: 2026-02 has 28 days"
    );
}

#[tokio::test]
async fn a_percent_sent_as_a_fraction_is_used_as_sent_and_noted() {
    // 0.75 is a valid margin in percent, so the answer stands (12 × 0.75 % / 5 % = 1.8) and
    // says how it read the number.
    let answer = common::post_json(
        "/clv",
        &json!({"method": "churn_based", "arpu": 12, "gross_margin_pct": 0.75, "churn_rate_pct": 5}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!((answer.body["value"].as_f64().unwrap() - 1.8).abs() < 1e-12);
    let notes = answer.body["context"]["notes"].as_array().unwrap();
    assert!(
        notes.contains(&json!(
            "gross_margin_pct 0.75 read as 0.75 %; did you mean 75 %?"
        )),
        "{notes:?}"
    );
    let answer = common::post_json(
        "/ab-test",
        &json!({"control": {"retained": 420, "started": 1000}, "variant": {"retained": 465, "started": 1000}, "minimum_detectable_effect": 0.03}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let notes = answer.body["context"]["notes"].as_array().unwrap();
    assert!(
        notes.contains(&json!("minimum_detectable_effect 0.03 read as 0.03 percentage points; did you mean 3 percentage points?")),
        "{notes:?}"
    );
    // A percent of 1 or more gets no such note.
    let answer = common::post_json(
        "/clv",
        &json!({"method": "churn_based", "arpu": 12, "gross_margin_pct": 75, "churn_rate_pct": 5}),
    )
    .await;
    assert!(!answer.text.contains("did you mean"));
}
