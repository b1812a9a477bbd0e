//! /survival against lifelines 0.30 (KaplanMeierFitter defaults, multivariate_logrank_test)
//! to 1e-9, on seeded data with ties and censoring: tests/fixtures/lifelines_reference.py
//! produced tests/fixtures/lifelines_survival_reference.json.

mod common;

use serde_json::{json, Value};

const TOLERANCE: f64 = 1e-9;

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lifelines_survival_reference.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn same_curve(name: &str, got: &Value, expected: &Value) {
    for key in ["timeline", "survival", "ci_lower", "ci_upper"] {
        let g = got[key]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no {key}"));
        let e = expected[key].as_array().unwrap();
        assert_eq!(g.len(), e.len(), "{name} {key} length");
        for (i, (g, e)) in g.iter().zip(e).enumerate() {
            let (g, e) = (g.as_f64().unwrap(), e.as_f64().unwrap());
            assert!(
                (g - e).abs() <= TOLERANCE,
                "{name} {key}[{i}]: {g} vs lifelines {e}"
            );
        }
    }
    assert_eq!(
        got.get("median").and_then(Value::as_f64),
        expected["median"].as_f64(),
        "{name} median"
    );
    let rmst = got["restricted_mean"].as_f64().unwrap();
    assert!(
        (rmst - expected["restricted_mean_10"].as_f64().unwrap()).abs() <= TOLERANCE,
        "{name} restricted mean"
    );
}

#[tokio::test]
async fn kaplan_meier_curves_bands_and_log_rank_equal_lifelines() {
    let reference = reference();
    let answer = common::post_json(
        "/survival",
        &json!({"observations": reference["observations"], "horizon": 10}),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.text[..answer.text.len().min(300)]
    );
    same_curve("all", &answer.body["curve"], &reference["all"]);
    for group in answer.body["groups"].as_array().unwrap() {
        let name = group["group"].as_str().unwrap();
        same_curve(name, &group["curve"], &reference["groups"][name]);
    }
    assert_eq!(answer.body["groups"].as_array().unwrap().len(), 3);
    let test = &answer.body["log_rank"];
    let expected = &reference["log_rank"];
    assert_eq!(test["degrees_of_freedom"], expected["degrees_of_freedom"]);
    let statistic = test["test_statistic"].as_f64().unwrap();
    assert!((statistic / expected["test_statistic"].as_f64().unwrap() - 1.0).abs() <= TOLERANCE);
    // A p-value near 1e-32 is compared relatively.
    let p = test["p_value"].as_f64().unwrap();
    assert!(
        (p / expected["p_value"].as_f64().unwrap() - 1.0).abs() <= 1e-6,
        "p {p}"
    );
}
