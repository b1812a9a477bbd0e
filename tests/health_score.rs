//! `/health`: each score against the formula computed independently here from the request
//! (docs/formulas.md § 14.3), the bands, the distribution, the fallen list, and the refusals
//! the issue names (overlapping bands, negative weights) with the others a caller meets.

mod common;

use serde_json::{json, Value};

use common::post_json;

/// The score of `values` under `signals`, written out from the definition.
fn expected_score(signals: &Value, values: &Value) -> f64 {
    let (mut points, mut weights) = (0.0, 0.0);
    for s in signals.as_array().unwrap() {
        let Some(x) = values
            .get(s["name"].as_str().unwrap())
            .and_then(Value::as_f64)
        else {
            continue;
        };
        let (w, lo, hi) = (
            s["weight"].as_f64().unwrap(),
            s["min"].as_f64().unwrap(),
            s["max"].as_f64().unwrap(),
        );
        let mut n = ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
        if s.get("higher_is_better") == Some(&json!(false)) {
            n = 1.0 - n;
        }
        points += w * n;
        weights += w;
    }
    100.0 * points / weights
}

fn band(score: f64) -> &'static str {
    match score {
        s if s >= 80.0 => "champion",
        s if s >= 60.0 => "healthy",
        s if s >= 40.0 => "needs attention",
        _ => "at risk",
    }
}

#[tokio::test]
async fn every_score_band_and_count_follows_the_definition() {
    let signals = json!([
        {"name": "usage", "weight": 3, "min": 0, "max": 100},
        {"name": "nps", "weight": 2, "min": 0, "max": 10},
        {"name": "tickets", "weight": 1, "min": 0, "max": 10, "higher_is_better": false},
        {"name": "p_alive", "weight": 1.5, "min": 0, "max": 1}
    ]);
    // A spread of customers: values inside and beyond the ranges, some signals missing.
    let customers: Vec<Value> = (0..40)
        .map(|i| {
            let f = f64::from(i);
            let mut values =
                json!({"usage": (f * 7.3) % 130.0 - 10.0, "tickets": (f * 3.0) % 14.0});
            if i % 3 != 0 {
                values["nps"] = json!((i * 7) % 11);
            }
            if i % 4 != 1 {
                values["p_alive"] = json!((f * 0.137) % 1.0);
            }
            json!({"id": format!("c{i}"), "values": values})
        })
        .collect();
    let previous: Vec<Value> = (0..40)
        .map(|i| json!({"id": format!("c{i}"), "score": f64::from((i * 37) % 101)}))
        .collect();
    let answer = post_json(
        "/health",
        &json!({"signals": signals, "customers": customers, "previous": previous}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let mut counts = std::collections::BTreeMap::new();
    let mut fallen = Vec::new();
    let rank = |b: &str| {
        ["champion", "healthy", "needs attention", "at risk"]
            .iter()
            .position(|x| *x == b)
            .unwrap()
    };
    for (i, (customer, scored)) in customers
        .iter()
        .zip(answer.body["customers"].as_array().unwrap())
        .enumerate()
    {
        let score = expected_score(&signals, &customer["values"]);
        let got = scored["score"].as_f64().unwrap();
        assert!((got - score).abs() < 1e-12, "c{i}: {got} against {score}");
        assert_eq!(scored["band"], band(score), "c{i}");
        let points: f64 = scored["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["points"].as_f64().unwrap())
            .sum();
        assert!(
            (points - got).abs() < 1e-9,
            "c{i}: the contributions add up to the score"
        );
        *counts.entry(band(score)).or_insert(0) += 1;
        let before = previous[i]["score"].as_f64().unwrap();
        if rank(band(score)) > rank(band(before)) {
            fallen.push((before - score, format!("c{i}")));
        }
    }
    for row in answer.body["distribution"].as_array().unwrap() {
        let name = row["band"].as_str().unwrap();
        assert_eq!(
            row["customers"],
            counts.get(name).copied().unwrap_or(0),
            "{name}"
        );
    }
    fallen.sort_by(|a, b| b.0.total_cmp(&a.0));
    let listed: Vec<&str> = answer.body["fallen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(!listed.is_empty());
    assert_eq!(
        listed,
        fallen.iter().map(|f| f.1.as_str()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_hand_checkable_example_and_custom_bands() {
    let body = json!({
        "signals": [
            {"name": "usage", "weight": 2, "min": 0, "max": 100},
            {"name": "nps", "weight": 1, "min": 0, "max": 10},
            {"name": "tickets", "weight": 1, "min": 0, "max": 10, "higher_is_better": false}
        ],
        "customers": [{"id": "acme", "values": {"usage": 70, "nps": 9, "tickets": 3}}],
        "bands": [{"name": "red", "from": 0, "to": 50}, {"name": "amber", "from": 50, "to": 76}, {"name": "green", "from": 76, "to": 100}]
    });
    let answer = post_json("/health", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // (2 × 0.7 + 1 × 0.9 + 1 × (1 − 0.3)) / 4 × 100 = 75: amber (50–76).
    let acme = &answer.body["customers"][0];
    assert!((acme["score"].as_f64().unwrap() - 75.0).abs() < 1e-12);
    assert_eq!(acme["band"], "amber");
    assert_eq!(acme["contributions"][0]["weight_share"], 0.5);
    assert_eq!(answer.body["distribution"][0]["band"], "green");
    assert_eq!(answer.body["fallen"], json!([]));
}

#[tokio::test]
async fn bad_bands_weights_and_values_are_refused_naming_the_field() {
    let usage = json!([{"name": "usage", "weight": 1, "min": 0, "max": 100}]);
    let acme = json!([{"id": "acme", "values": {"usage": 70}}]);
    for (body, pointer) in [
        (
            json!({"signals": usage, "customers": acme, "bands": [{"name": "good", "from": 50, "to": 100}, {"name": "bad", "from": 0, "to": 60}]}),
            "/bands/0/from",
        ),
        (
            json!({"signals": usage, "customers": acme, "bands": [{"name": "good", "from": 70, "to": 100}, {"name": "bad", "from": 0, "to": 60}]}),
            "/bands/0/from",
        ),
        (
            json!({"signals": usage, "customers": acme, "bands": [{"name": "all", "from": 10, "to": 100}]}),
            "/bands/0/from",
        ),
        (
            json!({"signals": usage, "customers": acme, "bands": [{"name": "all", "from": 0, "to": 90}]}),
            "/bands/0/to",
        ),
        (
            json!({"signals": [{"name": "usage", "weight": -1, "min": 0, "max": 100}], "customers": acme}),
            "/signals/0/weight",
        ),
        (
            json!({"signals": [{"name": "usage", "weight": 0, "min": 0, "max": 100}], "customers": acme}),
            "/signals/0/weight",
        ),
        (
            json!({"signals": [{"name": "usage", "weight": 1, "min": 5, "max": 5}], "customers": acme}),
            "/signals/0/max",
        ),
        (
            json!({"signals": [{"name": "usage", "weight": 1, "min": 0, "max": 1}, {"name": "usage", "weight": 1, "min": 0, "max": 1}], "customers": acme}),
            "/signals/1/name",
        ),
        (json!({"signals": [], "customers": acme}), "/signals"),
        (json!({"signals": usage, "customers": []}), "/customers"),
        (
            json!({"signals": usage, "customers": [{"id": "acme", "values": {"usgae": 70}}]}),
            "/customers/0/values/usgae",
        ),
        (
            json!({"signals": usage, "customers": [{"id": "a", "values": {"usage": 1}}, {"id": "a", "values": {"usage": 2}}]}),
            "/customers/1/id",
        ),
        (
            json!({"signals": usage, "customers": [{"id": "a", "values": {}}]}),
            "/customers/0/values",
        ),
        (
            json!({"signals": usage, "customers": acme, "previous": [{"id": "acme", "score": 140}]}),
            "/previous/0/score",
        ),
    ] {
        let answer = post_json("/health", &body).await;
        answer.assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn a_score_on_a_band_edge_is_in_the_band_it_reaches() {
    // Three equal signals at 0.6: 60 by hand, 59.999999999999986 as a sum of floating points.
    let signals: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|n| json!({"name": n, "weight": 1, "min": 0, "max": 10}))
        .collect();
    let answer = post_json(
        "/health",
        &json!({"signals": signals, "customers": [{"id": "x", "values": {"a": 6, "b": 6, "c": 6}}]}),
    )
    .await;
    assert_eq!(answer.body["customers"][0]["band"], "healthy");
    // Found in review: repeated band names, and weights whose sum overflows.
    let usage = json!([{"name": "usage", "weight": 1, "min": 0, "max": 100}]);
    let acme = json!([{"id": "acme", "values": {"usage": 70}}]);
    let twice = post_json(
        "/health",
        &json!({"signals": usage, "customers": acme, "bands": [{"name": "x", "from": 50, "to": 100}, {"name": "x", "from": 0, "to": 50}]}),
    )
    .await;
    twice.assert_problem(422, Some("/bands/1/name"));
    let huge = post_json(
        "/health",
        &json!({"signals": [{"name": "a", "weight": 1e308, "min": 0, "max": 1}, {"name": "b", "weight": 1e308, "min": 0, "max": 1}], "customers": [{"id": "x", "values": {"a": 1, "b": 1}}]}),
    )
    .await;
    huge.assert_problem(422, Some("/signals/0/weight"));
}
