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
async fn a_backtest_without_a_holdout_is_refused() {
    let two = json!([{"customer_id": "a", "date": "2026-01-05"}, {"customer_id": "a", "date": "2026-02-05"}]);
    for (body, pointer) in [
        (
            json!({"transactions": two, "calibration_end": "2026-03-01", "observation_end": "2026-03-01"}),
            "/observation_end",
        ),
        (
            json!({"transactions": two, "calibration_end": "2026-03-31", "observation_end": "2026-04-15", "model": "bgbb"}),
            "/observation_end",
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

#[tokio::test]
async fn bgbb_backtests_whole_calendar_periods() {
    // One customer by hand: first purchase in 2020; calibrated years 2021–2023 (n = 3) with
    // purchases in 2021 (twice: one period) and 2023 (x = 2, t_x = 3); hold-out 2024–2025 with
    // a purchase in 2025. A second customer first buys in 2023: no whole year of calibration
    // after it, so it is not in the backtest.
    let dates = [
        ("a", "2020-03-10"),
        ("a", "2021-05-01"),
        ("a", "2021-07-01"),
        ("a", "2023-02-01"),
        ("a", "2025-06-01"),
        ("b", "2023-06-01"),
        ("b", "2024-06-01"),
    ];
    let transactions: Vec<Value> = dates
        .iter()
        .map(|(c, d)| json!({"customer_id": c, "date": d}))
        .collect();
    let parameters = json!({"alpha": 1.2035, "beta": 0.7497, "gamma": 0.6567, "delta": 2.7834});
    let answer = common::post_json(
        "/models/backtest",
        &json!({"transactions": transactions, "calibration_end": "2023-12-31", "observation_end": "2025-12-31",
                "model": "bgbb", "period": "year", "parameters": parameters}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let b = &answer.body;
    assert_eq!(b["customers"], 1);
    assert_eq!(b["holdout_length"], 2.0);
    let a = &b["by_customer"][0];
    assert_eq!(
        (
            a["frequency"].as_f64(),
            a["recency"].as_f64(),
            a["T"].as_f64()
        ),
        (Some(2.0), Some(3.0), Some(3.0))
    );
    assert_eq!(a["actual"], 1.0);
    let model = retention_kpi::models::bgbb::BgBb {
        alpha: 1.2035,
        beta: 0.7497,
        gamma: 0.6567,
        delta: 2.7834,
    };
    close(
        "predicted",
        a["predicted"].as_f64().unwrap(),
        model.expected_purchases(2.0, 2.0, 3.0, 3.0).unwrap(),
        1e-12,
    );
    // Tracking by year from 2020: repeat purchase years 2021, 2023, 2025.
    let tracking = b["tracking"].as_array().unwrap();
    let actual: Vec<f64> = tracking
        .iter()
        .map(|p| p["actual_cumulative"].as_f64().unwrap())
        .collect();
    assert_eq!(actual, vec![1.0, 1.0, 2.0, 2.0, 3.0]);
    assert_eq!(tracking[4]["through"], "2025-12-31");
    let expected_y3 = model.expected_purchases_population(3.0).unwrap();
    close(
        "expected by 2023",
        tracking[2]["expected_cumulative"].as_f64().unwrap(),
        expected_y3,
        1e-12,
    );

    // A calibration end inside a year: only whole years count, so 2023 is not calibrated.
    let answer = common::post_json(
        "/models/backtest",
        &json!({"transactions": transactions, "calibration_end": "2023-06-30", "observation_end": "2025-12-31",
                "model": "bgbb", "period": "year", "parameters": parameters}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let a = &answer.body["by_customer"][0];
    assert_eq!(
        (
            a["frequency"].as_f64(),
            a["T"].as_f64(),
            a["actual"].as_f64()
        ),
        (Some(1.0), Some(2.0), Some(2.0))
    );
    // period is BG/BB's alone.
    common::post_json(
        "/models/backtest",
        &json!({"transactions": transactions, "calibration_end": "2023-12-31", "observation_end": "2025-12-31", "period": "year"}),
    )
    .await
    .assert_problem(422, Some("/period"));
}

#[tokio::test]
async fn bgbb_backtest_on_the_donations_fits_as_the_paper() {
    // The donations' summaries written out as yearly gifts (first gift in 1995; x gifts in
    // 1996–2001, the last in 1995 + t_x), calibrated to 2001-12-31: the backtest's calibration
    // fit is Fader, Hardie & Shang's (α 1.204, β 0.750, γ 0.657, δ 2.783).
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/donations.csv"
    ))
    .unwrap();
    let mut transactions = Vec::new();
    let mut id = 0;
    for line in text.lines().skip(1) {
        let f: Vec<u32> = line.split(',').map(|v| v.parse().unwrap()).collect();
        let (x, tx, count) = (f[0], f[1], f[3]);
        for _ in 0..count {
            id += 1;
            transactions.push(json!({"customer_id": format!("d{id}"), "date": "1995-06-01"}));
            // The last gift in year t_x, the others in the first x − 1 years.
            let years: Vec<u32> = (1..x).chain((x > 0).then_some(tx)).collect();
            for year in years {
                transactions.push(json!({"customer_id": format!("d{id}"), "date": format!("{}-06-01", 1995 + year)}));
            }
        }
    }
    let answer = common::post_json(
        "/models/backtest",
        &json!({"transactions": transactions, "calibration_end": "2001-12-31", "observation_end": "2003-12-31",
                "model": "bgbb", "period": "year"}),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.text[..answer.text.len().min(400)]
    );
    assert_eq!(answer.body["customers"], 11104);
    for (name, published) in [
        ("alpha", 1.204),
        ("beta", 0.750),
        ("gamma", 0.657),
        ("delta", 2.783),
    ] {
        let estimate = answer.body["fit"]["parameters"][name]["estimate"]
            .as_f64()
            .unwrap();
        assert!((estimate - published).abs() <= 0.0005, "{name} {estimate}");
    }
    assert_eq!(answer.body["holdout_actual"], 0.0);
}
