//! The hold-out backtest on CDNOW (calibration to 1997-09-30, hold-out to 1998-06-30) against
//! the papers and Python's lifetimes 0.11.3 (tests/fixtures/backtest_reference.py →
//! backtest_reference.json): the 1,882 repeat purchases of weeks 40–78 that Fader, Hardie & Lee
//! (2005) report for the 2,357 sample customers, lifetimes' `calibration_and_holdout_data` per
//! customer, and at lifetimes' fitted parameters its conditional expectations and the tracking
//! curve built from its `expected_number_of_purchases_up_to_time`.

mod common;

use std::collections::HashMap;

use serde_json::{json, Value};

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/backtest_reference.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn transactions() -> Vec<Value> {
    common::cdnow_transactions()
}

fn cdnow_body() -> Value {
    json!({"transactions": transactions(), "calibration_end": "1997-09-30", "observation_end": "1998-06-30", "unit": "week"})
}

fn close(what: &str, got: f64, expected: f64, relative: f64) {
    assert!(
        (got - expected).abs() <= relative * expected.abs().max(1e-9),
        "{what}: {got} vs {expected}"
    );
}

#[tokio::test]
async fn the_cdnow_backtest_reproduces_the_published_holdout_and_lifetimes() {
    let reference = reference();
    let lifetimes: HashMap<String, &Value> = reference["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_owned(), c))
        .collect();
    for model in ["bgnbd", "mbgnbd", "pareto_nbd"] {
        let expected = &reference["models"][model];
        // lifetimes' own parameters, so that the predictions are compared apart from the fits.
        let mut body = cdnow_body();
        body["model"] = json!(model);
        body["parameters"] = expected["parameters"].clone();
        let answer = common::post_json("/models/backtest", &body).await;
        assert_eq!(
            answer.status,
            200,
            "{model}: {}",
            &answer.text[..answer.text.len().min(400)]
        );
        let b = &answer.body;
        // Fader, Hardie & Lee (2005): 2,357 customers, 1,882 repeat purchases in weeks 40–78.
        assert_eq!(b["customers"], 2357);
        assert_eq!(b["holdout_actual"], 1882.0);
        assert_eq!(b["holdout_length"], 39.0);
        let customers = b["by_customer"].as_array().unwrap();
        assert_eq!(customers.len(), lifetimes.len());
        let expected_holdout = expected["expected_holdout"].as_array().unwrap();
        let order: Vec<&str> = reference["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        let position: HashMap<&str, usize> =
            order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        for c in customers {
            let id = c["id"].as_str().unwrap();
            let theirs = lifetimes[id];
            let get = |v: &Value, k: &str| v[k].as_f64().unwrap();
            assert_eq!(get(c, "actual"), get(theirs, "frequency_holdout"), "{id}");
            assert_eq!(get(c, "frequency"), get(theirs, "frequency_cal"), "{id}");
            close(
                &format!("{id} recency"),
                get(c, "recency"),
                get(theirs, "recency_cal"),
                1e-12,
            );
            close(&format!("{id} T"), get(c, "T"), get(theirs, "T_cal"), 1e-12);
            close(
                &format!("{model} {id} predicted"),
                get(c, "predicted"),
                expected_holdout[position[id]].as_f64().unwrap(),
                1e-6,
            );
        }
        // The tracking curve, week by week.
        let tracking = b["tracking"].as_array().unwrap();
        assert_eq!(tracking.len(), 78);
        assert_eq!(tracking[38]["through"], "1997-09-30");
        assert_eq!(tracking[77]["through"], "1998-06-30");
        for (k, point) in tracking.iter().enumerate() {
            assert_eq!(
                point["actual_cumulative"],
                reference["actual_cumulative"][k].as_f64().unwrap(),
                "week {}",
                k + 1
            );
            close(
                &format!("{model} week {} expected", k + 1),
                point["expected_cumulative"].as_f64().unwrap(),
                expected["expected_cumulative"][k].as_f64().unwrap(),
                1e-6,
            );
        }
        // Weeks 40–78 of the actual curve are the hold-out.
        let holdout = tracking[77]["actual_cumulative"].as_f64().unwrap()
            - tracking[38]["actual_cumulative"].as_f64().unwrap();
        assert_eq!(holdout, 1882.0);
        assert_eq!(
            b["calibration_repeat_purchases"],
            tracking[38]["actual_cumulative"]
        );
    }
}

#[tokio::test]
async fn the_errors_and_groups_are_those_of_the_customers_listed() {
    let answer = common::post_json("/models/backtest", &cdnow_body()).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.text[..answer.text.len().min(400)]
    );
    let b = &answer.body;
    assert_eq!(b["fit"]["converged"], true);
    let customers = b["by_customer"].as_array().unwrap();
    let diffs: Vec<f64> = customers
        .iter()
        .map(|c| c["predicted"].as_f64().unwrap() - c["actual"].as_f64().unwrap())
        .collect();
    let n = diffs.len() as f64;
    let mae = diffs.iter().map(|d| d.abs()).sum::<f64>() / n;
    let rmse = (diffs.iter().map(|d| d * d).sum::<f64>() / n).sqrt();
    let bias = diffs.iter().sum::<f64>() / n;
    close("MAE", b["errors"]["mae"].as_f64().unwrap(), mae, 1e-12);
    close("RMSE", b["errors"]["rmse"].as_f64().unwrap(), rmse, 1e-12);
    close("bias", b["errors"]["bias"].as_f64().unwrap(), bias, 1e-12);
    // BG/NBD under-forecasts the CDNOW hold-out (the papers' figure: 1,882 actual).
    assert!(bias < 0.0);
    let groups = b["by_calibration_frequency"].as_array().unwrap();
    assert_eq!(groups.len(), 8);
    assert_eq!(groups[7]["calibration_frequency"], "7+");
    let counted: u64 = groups
        .iter()
        .map(|g| g["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 2357);
    for g in groups {
        let label = g["calibration_frequency"].as_str().unwrap();
        let members: Vec<&Value> = customers
            .iter()
            .filter(|c| {
                let x = c["frequency"].as_f64().unwrap();
                if label == "7+" {
                    x >= 7.0
                } else {
                    x == label.parse::<f64>().unwrap()
                }
            })
            .collect();
        let mean = members
            .iter()
            .map(|c| c["actual"].as_f64().unwrap())
            .sum::<f64>()
            / members.len() as f64;
        close(label, g["mean_actual"].as_f64().unwrap(), mean, 1e-12);
    }
}

#[tokio::test]
async fn a_backtest_without_a_holdout_or_with_bgbb_is_refused() {
    let two = json!([{"customer_id": "a", "date": "2026-01-05"}, {"customer_id": "a", "date": "2026-02-05"}]);
    for (body, pointer) in [
        (
            json!({"transactions": two, "calibration_end": "2026-03-01", "observation_end": "2026-03-01"}),
            "/observation_end",
        ),
        (
            json!({"transactions": two, "calibration_end": "2026-03-01", "observation_end": "2026-06-01", "model": "bgbb"}),
            "/model",
        ),
        (
            json!({"transactions": two, "calibration_end": "2026-13-01", "observation_end": "2026-06-01"}),
            "/calibration_end",
        ),
        (
            json!({"transactions": [], "calibration_end": "2026-03-01", "observation_end": "2026-06-01"}),
            "/transactions",
        ),
        (
            json!({"transactions": two, "calibration_end": "2025-03-01", "observation_end": "2026-06-01"}),
            "/transactions",
        ),
    ] {
        common::post_json("/models/backtest", &body)
            .await
            .assert_problem(422, Some(pointer));
    }
}
