//! `/csat` and `/ces` against independent computations: the Wilson interval of the share by
//! statsmodels' `proportion_confint(method="wilson")` and the mean's Student-t interval by
//! `scipy.stats.t.interval`, produced by tests/fixtures/satisfaction_reference.py (versions in
//! the JSON); the worked examples of docs/formulas.md § 14 by hand; the refusals with their
//! pointers; and both metrics inside `/kpis`.

mod common;

use serde_json::{json, Value};

use common::post_json;

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/satisfaction_reference.json")).unwrap()
}

fn close(a: &Value, b: &Value, tolerance: f64, what: &str) {
    let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
    assert!((a - b).abs() <= tolerance, "{what}: {a} against {b}");
}

#[tokio::test]
async fn csat_and_ces_equal_statsmodels_and_scipy() {
    for case in reference()["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut body = json!({
            "counts": case["counts"],
            "scale_min": case["scale_min"],
            "scale_max": case["scale_max"],
            "confidence": case["confidence"],
        });
        let (path, share, mean) = if case["kind"] == "csat" {
            body["top_box"] = case["boxes"].clone();
            ("/csat", 0, 1)
        } else {
            body["low_effort_boxes"] = case["boxes"].clone();
            body["higher_is_easier"] = case["higher_is_easier"].clone();
            ("/ces", 1, 0)
        };
        let answer = post_json(path, &body).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.text);
        // The answer's KPI and its related one, in the order the endpoint gives them.
        let kpis = [answer.body.clone(), answer.body["related"][0].clone()];
        close(&kpis[share]["value"], &case["share_pct"], 1e-12, name);
        close(
            &kpis[share]["interval"]["lower"],
            &case["share_lower"],
            1e-9,
            name,
        );
        close(
            &kpis[share]["interval"]["upper"],
            &case["share_upper"],
            1e-9,
            name,
        );
        assert_eq!(kpis[share]["interval"]["method"], "Wilson score");
        close(&kpis[mean]["value"], &case["mean"], 1e-12, name);
        close(
            &kpis[mean]["interval"]["lower"],
            &case["mean_lower"],
            1e-9,
            name,
        );
        close(
            &kpis[mean]["interval"]["upper"],
            &case["mean_upper"],
            1e-9,
            name,
        );
        assert_eq!(kpis[mean]["interval"]["method"], "Student t");
    }
}

#[tokio::test]
async fn the_worked_examples_by_hand() {
    // § 14.1: 5, 5, 4, 4, 4, 3, 2, 1 on 1–5: five of eight are 4 or 5.
    let answer = post_json("/csat", &json!({"scores": [5, 5, 4, 4, 4, 3, 2, 1]})).await;
    assert_eq!(answer.body["metric"], "customer_satisfaction_score");
    assert_eq!(answer.body["value"], 62.5);
    assert_eq!(answer.body["breakdown"]["substitution"], "5 / 8 × 100");
    assert_eq!(
        answer.body["related"][0]["metric"],
        "mean_satisfaction_score"
    );
    assert_eq!(answer.body["related"][0]["value"], 3.5);
    // § 14.2: 7, 6, 6, 5, 4, 2 on 1–7, higher easier: mean 30 / 6 = 5; 5–7 are 4 of 6.
    let answer = post_json("/ces", &json!({"scores": [7, 6, 6, 5, 4, 2]})).await;
    assert_eq!(answer.body["metric"], "customer_effort_score");
    assert_eq!(answer.body["value"], 5.0);
    assert_eq!(answer.body["related"][0]["metric"], "low_effort_share");
    assert_eq!(
        answer.body["related"][0]["breakdown"]["substitution"],
        "4 / 6 × 100"
    );
}

#[tokio::test]
async fn impossible_answers_are_refused_naming_the_field() {
    for (path, body, pointer) in [
        ("/csat", json!({"scores": [5, 4, 6]}), "/scores/2"),
        ("/csat", json!({"scores": [5, 4.5]}), "/scores/1"),
        ("/csat", json!({"scores": []}), "/scores"),
        ("/csat", json!({}), "/scores"),
        (
            "/csat",
            json!({"scores": [5], "counts": [1, 1, 1, 1, 1]}),
            "/counts",
        ),
        ("/csat", json!({"counts": [0, 0, 0, 0, 0]}), "/counts"),
        ("/csat", json!({"scores": [5], "top_box": 5}), "/top_box"),
        (
            "/csat",
            json!({"scores": [5], "scale_min": 5}),
            "/scale_min",
        ),
        (
            "/csat",
            json!({"scores": [5], "scale_max": 101}),
            "/scale_max",
        ),
        ("/ces", json!({"counts": [3, 5, 8, 2, 1]}), "/counts"),
        (
            "/ces",
            json!({"scores": [7], "low_effort_boxes": 0}),
            "/low_effort_boxes",
        ),
        (
            "/ces",
            json!({"scores": [7], "confidence": 2}),
            "/confidence",
        ),
    ] {
        let answer = post_json(path, &body).await;
        answer.assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn csat_ces_and_health_answer_inside_a_batch() {
    let answer = post_json(
        "/kpis",
        &json!({"items": [
            {"id": "s", "metric": "csat", "scores": [5, 5, 4, 4, 4, 3, 2, 1]},
            {"id": "e", "metric": "ces", "scores": [7, 6, 6, 5, 4, 2]},
            {"id": "bad", "metric": "csat", "scores": [9]},
            {"id": "h", "metric": "health", "signals": [{"name": "usage", "weight": 1, "min": 0, "max": 100}], "customers": [{"id": "acme", "values": {"usage": 75}}]}
        ]}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["succeeded"], 3);
    assert_eq!(
        answer.body["results"][3]["result"]["customers"][0]["score"],
        75.0
    );
    assert_eq!(answer.body["results"][0]["result"]["value"], 62.5);
    assert_eq!(answer.body["results"][1]["result"]["value"], 5.0);
    assert_eq!(answer.body["results"][2]["status"], 422);
}

#[tokio::test]
async fn a_mean_over_billions_of_answers_has_its_interval_at_once() {
    // statrs's Student t inverse does not return from a billion degrees of freedom; the
    // quantile comes from the Cornish–Fisher expansion there (kpi::confidence), so a survey of
    // 4 × 10^15 answers per point answers at once, its t quantile at the normal one.
    for path in ["/csat", "/ces"] {
        let counts = if path == "/csat" {
            json!([4_000_000_000_000_000u64, 3, 5, 4_000_000_000_000_000u64, 2])
        } else {
            json!([
                1,
                4_000_000_000_000_000u64,
                3,
                5,
                4_000_000_000_000_000u64,
                2,
                7
            ])
        };
        let answer = post_json(path, &json!({ "counts": counts })).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        let steps = answer.text.clone();
        assert!(steps.contains("t quantile"), "{path}: {steps}");
        let t = find_t(&answer.body).unwrap_or_else(|| panic!("{path}: no t step in {steps}"));
        assert!((t - 1.959963984540054).abs() < 1e-12, "{path}: t {t}");
    }
}

/// The value of the first breakdown step labelled as a t quantile, anywhere in the answer.
fn find_t(value: &Value) -> Option<f64> {
    match value {
        Value::Object(map) => {
            if map
                .get("label")
                .and_then(Value::as_str)
                .is_some_and(|l| l.starts_with("t quantile"))
            {
                return map.get("value").and_then(Value::as_f64);
            }
            map.values().find_map(find_t)
        }
        Value::Array(items) => items.iter().find_map(find_t),
        _ => None,
    }
}
