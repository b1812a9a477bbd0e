//! Intervals on the rates counted from customers: statsmodels' Wilson intervals reproduced
//! through the endpoints, the same interval wherever the same count is answered, compounded
//! churn's interval carried through the compounding, `confidence` refused outside its range,
//! and no interval where a figure is a census.

mod common;

use axum::http::Method;
use serde_json::{json, Value};

/// tests/fixtures/intervals_reference.json, written by tests/fixtures/intervals_reference.py
/// (statsmodels 0.14.4, scipy 1.17.1: the versions are in the file).
fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/intervals_reference.json")).unwrap()
}

fn bounds(interval: &Value) -> (f64, f64) {
    (
        interval["lower"].as_f64().unwrap(),
        interval["upper"].as_f64().unwrap(),
    )
}

#[tokio::test]
async fn churn_and_retention_intervals_equal_statsmodels_wilson_to_1e_12() {
    let reference = reference();
    let cases = reference["wilson"].as_array().unwrap();
    assert_eq!(cases.len(), 84);
    for case in cases {
        let (k, n, level) = (&case["successes"], &case["trials"], &case["confidence"]);
        let expected = (
            case["lower"].as_f64().unwrap() * 100.0,
            case["upper"].as_f64().unwrap() * 100.0,
        );
        // The same count as churned customers and as retained customers.
        let churn = common::post_json(
            "/churn",
            &json!({"start_customers": n, "lost_customers": k, "confidence": level}),
        )
        .await;
        let crr = common::post_json(
            "/crr",
            &json!({"start_customers": n, "new_customers": 0, "end_customers": k, "confidence": level}),
        )
        .await;
        for answer in [&churn, &crr] {
            assert_eq!(answer.status, 200, "{}", answer.text);
            let interval = &answer.body["interval"];
            let (lower, upper) = bounds(interval);
            // Percent, so 1e-12 of a fraction is 1e-10 here.
            assert!(
                (lower - expected.0).abs() <= 1e-10 && (upper - expected.1).abs() <= 1e-10,
                "{k}/{n} at {level}: ours ({lower}, {upper}), statsmodels {expected:?}"
            );
            assert_eq!(interval["method"], "Wilson score");
            assert_eq!(
                interval["level_pct"].as_f64().unwrap(),
                level.as_f64().unwrap() * 100.0
            );
            let steps = answer.body["breakdown"]["steps"].as_array().unwrap();
            let labels: Vec<&str> = steps.iter().map(|s| s["label"].as_str().unwrap()).collect();
            assert!(
                labels.contains(&"Wilson lower bound") && labels.contains(&"Wilson upper bound")
            );
        }
    }
}

#[tokio::test]
async fn the_default_level_is_95_and_a_small_base_gets_a_wide_interval() {
    // docs/formulas.md § 13's worked example: 2 of 25 customers lost is 8 % churn, and at
    // 95 % its interval is 2.22 % to 24.97 % (half-width 11.372 points about 13.594 %).
    let answer = common::post_json(
        "/churn",
        &json!({"start_customers": 25, "lost_customers": 2}),
    )
    .await;
    let interval = &answer.body["interval"];
    assert_eq!(interval["level_pct"], 95.0);
    let (lower, upper) = bounds(interval);
    assert!(
        (lower - 2.222).abs() < 5e-4 && (upper - 24.966).abs() < 5e-4,
        "{interval}"
    );
    let margin = interval["margin_of_error"].as_f64().unwrap();
    assert!((margin - 11.372).abs() < 5e-4, "{interval}");
    assert!(interval.get("standard_error").is_none());
}

#[tokio::test]
async fn compounded_churn_carries_the_measured_interval_through_the_compounding() {
    let answer = common::post_json(
        "/churn",
        &json!({"start_customers": 400, "lost_customers": 12, "period": "month", "confidence": 0.9}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let (lower, upper) = bounds(&answer.body["interval"]);
    let annual = answer.body["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["metric"] == "annual_churn_rate")
        .unwrap();
    let annualise = |monthly_pct: f64| (1.0 - (1.0 - monthly_pct / 100.0).powi(12)) * 100.0;
    let (a_lower, a_upper) = bounds(&annual["interval"]);
    assert!((a_lower - annualise(lower)).abs() < 1e-9);
    assert!((a_upper - annualise(upper)).abs() < 1e-9);
    assert_eq!(annual["interval"]["level_pct"], 90.0);
    let value = annual["value"].as_f64().unwrap();
    assert!(a_lower < value && value < a_upper);
    assert!(annual["interval"]["method"]
        .as_str()
        .unwrap()
        .contains("compounded"));
}

#[tokio::test]
async fn loyalty_rates_carry_their_wilson_interval() {
    let answer = common::post_json(
        "/loyalty",
        &json!({"customers": 80, "loyalty_members": 20, "purchasing_customers": 50, "repeat_customers": 50, "confidence": 0.99}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    for metric in answer.body["metrics"].as_array().unwrap() {
        let (k, n) = match metric["metric"].as_str().unwrap() {
            "loyalty_participation_rate" => (20, 80),
            "repeat_purchase_rate" => (50, 50),
            other => panic!("{other}"),
        };
        let churn = common::post_json(
            "/churn",
            &json!({"start_customers": n, "lost_customers": k, "confidence": 0.99}),
        )
        .await;
        assert_eq!(metric["interval"], churn.body["interval"]);
    }
}

#[tokio::test]
async fn every_series_period_and_cohort_cell_has_the_interval_of_its_counts() {
    let events = json!([
        {"customer_id": "a", "date": "2026-01-03", "mrr": 10},
        {"customer_id": "b", "date": "2026-01-09", "mrr": 20},
        {"customer_id": "c", "date": "2026-01-20", "mrr": 30},
        {"customer_id": "b", "date": "2026-02-14", "mrr": 0},
        {"customer_id": "d", "date": "2026-02-15", "mrr": 40},
        {"customer_id": "a", "date": "2026-03-02", "mrr": 0},
        {"customer_id": "e", "date": "2026-03-28", "mrr": 15}
    ]);
    let series = common::post_json(
        "/series",
        &json!({"period": "month", "events": events, "confidence": 0.8}),
    )
    .await;
    assert_eq!(series.status, 200, "{}", series.text);
    assert_eq!(series.body["intervals"]["level_pct"], 80.0);
    let mut checked = 0;
    for p in series.body["periods"].as_array().unwrap() {
        if p["start_customers"] == 0 {
            assert!(p.get("customer_churn_rate_interval").is_none());
            continue;
        }
        let churn = common::post_json(
            "/churn",
            &json!({"start_customers": p["start_customers"], "lost_customers": p["churned_customers"], "confidence": 0.8}),
        )
        .await;
        let related = &churn.body["related"][0];
        assert_eq!(
            p["customer_churn_rate_interval"]["lower"],
            churn.body["interval"]["lower"]
        );
        assert_eq!(
            p["customer_churn_rate_interval"]["upper"],
            churn.body["interval"]["upper"]
        );
        assert_eq!(
            p["customer_retention_rate_interval"]["lower"],
            related["interval"]["lower"]
        );
        assert_eq!(
            p["customer_retention_rate_interval"]["upper"],
            related["interval"]["upper"]
        );
        checked += 1;
    }
    assert_eq!(checked, 2);

    // The same shape as CSV, level in the query string.
    let csv =
        "customer_id,date\na,2026-01-03\nb,2026-01-09\na,2026-02-10\nc,2026-02-11\nb,2026-03-01\n";
    let cohorts = common::send(
        Method::POST,
        "/cohorts?period=month&confidence=0.8",
        Some("text/csv"),
        csv,
    )
    .await;
    assert_eq!(cohorts.status, 200, "{}", cohorts.text);
    for cohort in cohorts.body["cohorts"].as_array().unwrap() {
        let size = &cohort["size"];
        let cells = cohort["counts"].as_array().unwrap();
        let intervals = cohort["share_intervals"].as_array().unwrap();
        assert_eq!(cells.len(), intervals.len());
        for (count, interval) in cells.iter().zip(intervals) {
            let churn = common::post_json(
                "/churn",
                &json!({"start_customers": size, "lost_customers": count, "confidence": 0.8}),
            )
            .await;
            assert_eq!(interval["lower"], churn.body["interval"]["lower"]);
            assert_eq!(interval["upper"], churn.body["interval"]["upper"]);
        }
    }
    let curve = cohorts.body["average_curve"].as_array().unwrap();
    assert_eq!(
        curve.len(),
        cohorts.body["average_curve_intervals"]
            .as_array()
            .unwrap()
            .len()
    );
}

#[tokio::test]
async fn a_confidence_outside_its_range_is_refused_naming_the_field() {
    for level in [0.0, 0.4999, 0.9995, 1.0, 95.0, -0.95] {
        let answer = common::post_json(
            "/crr",
            &json!({"start_customers": 10, "new_customers": 0, "end_customers": 9, "confidence": level}),
        )
        .await;
        answer.assert_problem(422, Some("/confidence"));
    }
    let answer = common::send(
        Method::POST,
        "/cohorts?confidence=1",
        Some("text/csv"),
        "customer_id,date\na,2026-01-03\n",
    )
    .await;
    answer.assert_problem(422, Some("/confidence"));
    let answer = common::post_json(
        "/loyalty",
        &json!({"customers": 10, "loyalty_members": 3, "confidence": "high"}),
    )
    .await;
    answer.assert_problem(422, Some("/confidence"));
}

#[tokio::test]
async fn revenue_rates_are_a_census_and_say_so() {
    let answer = common::post_json(
        "/revenue-churn",
        &json!({"start_mrr": 1000, "new_mrr": 0, "expansion_mrr": 50, "contraction_mrr": 20, "churned_mrr": 30, "reactivation_mrr": 0}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    for metric in answer.body["metrics"].as_array().unwrap() {
        assert!(metric.get("interval").is_none(), "{}", metric["metric"]);
        if metric["unit"] == "percent" {
            let notes = metric["context"]["notes"].as_array().unwrap();
            assert!(
                notes.iter().any(|n| n.as_str().unwrap().contains("census")),
                "{}",
                metric["metric"]
            );
        }
    }
}

#[tokio::test]
async fn churn_based_clv_from_counts_carries_the_churn_interval_in_reverse() {
    let clv = common::post_json(
        "/clv",
        &json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churned_customers": 5, "start_customers": 200, "confidence": 0.9}),
    )
    .await;
    assert_eq!(clv.status, 200, "{}", clv.text);
    // The same churn, from /churn: 5 lost of 200 at 90 %.
    let churn = common::post_json(
        "/churn",
        &json!({"start_customers": 200, "lost_customers": 5, "confidence": 0.9}),
    )
    .await;
    let (c_lower, c_upper) = bounds(&churn.body["interval"]);
    let (lower, upper) = bounds(&clv.body["interval"]);
    // CLV = 40 × 0.75 / c = 30 / c.
    assert!((clv.body["value"].as_f64().unwrap() - 1200.0).abs() < 1e-9);
    assert!((lower - 30.0 / (c_upper / 100.0)).abs() < 1e-9);
    assert!((upper - 30.0 / (c_lower / 100.0)).abs() < 1e-9);
    assert_eq!(clv.body["interval"]["level_pct"], 90.0);
}

#[tokio::test]
async fn churn_based_clv_with_arpu_spread_uses_the_delta_method() {
    let clv = common::post_json(
        "/clv",
        &json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churned_customers": 5, "start_customers": 200, "arpu_standard_deviation": 20, "arpu_customers": 400}),
    )
    .await;
    assert_eq!(clv.status, 200, "{}", clv.text);
    // Var = (m/c)² s²/n + (ARPU m / c²)² c (1 - c) / S = 900 + 280,800 (docs/formulas.md § 4.1).
    let se = (900.0f64 + 280_800.0).sqrt();
    let interval = &clv.body["interval"];
    assert!((interval["standard_error"].as_f64().unwrap() - se).abs() < 1e-6);
    assert!((interval["upper"].as_f64().unwrap() - (1200.0 + 1.959963984540054 * se)).abs() < 1e-6);
    assert!(interval["method"]
        .as_str()
        .unwrap()
        .starts_with("delta method"));
    // Given as a rate, the churn has no variance: ARPU's part only, and the method says so.
    let rate = common::post_json(
        "/clv",
        &json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churn_rate_pct": 2.5, "arpu_standard_deviation": 20, "arpu_customers": 400}),
    )
    .await;
    assert_eq!(rate.body["interval"]["standard_error"], 30.0);
    assert!(rate.body["interval"]["method"]
        .as_str()
        .unwrap()
        .contains("taken as known"));
    // Without evidence, no interval and a note on how to get one.
    let plain = common::post_json(
        "/clv",
        &json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churn_rate_pct": 2.5}),
    )
    .await;
    assert!(plain.body.get("interval").is_none());
}

#[tokio::test]
async fn churn_based_clv_evidence_is_refused_naming_the_field() {
    for (body, pointer) in [
        (
            json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churned_customers": 5}),
            "/start_customers",
        ),
        (
            json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churned_customers": 5, "start_customers": 200, "churn_rate_pct": 2.5}),
            "/churned_customers",
        ),
        (
            json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churned_customers": 0, "start_customers": 200}),
            "/churned_customers",
        ),
        (
            json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churn_rate_pct": 2.5, "arpu_standard_deviation": 20}),
            "/arpu_customers",
        ),
        (
            json!({"method": "simple", "average_purchase_value": 50, "lifespan": 3, "confidence": 0.9}),
            "/confidence",
        ),
    ] {
        common::post_json("/clv", &body)
            .await
            .assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn nps_and_ab_test_intervals_follow_the_confidence_asked_for() {
    // NPS 30 from 200 / 120 / 80: se = 100 × √((0.5 + 0.2 − 0.09) / 400) = 3.9051; at 90 %
    // z = 1.644854 (scipy.stats.norm.isf(0.05)).
    let nps = common::post_json(
        "/nps",
        &json!({"promoters": 200, "passives": 120, "detractors": 80, "confidence": 0.9}),
    )
    .await;
    let interval = &nps.body["interval"];
    let se = interval["standard_error"].as_f64().unwrap();
    assert!((se - 100.0 * (0.61f64 / 400.0).sqrt()).abs() < 1e-12);
    assert!((interval["margin_of_error"].as_f64().unwrap() - 1.6448536269514722 * se).abs() < 1e-9);
    assert_eq!(interval["level_pct"], 90.0);

    let ab = common::post_json(
        "/ab-test",
        &json!({"metric": "churn", "control": {"retained": 23, "started": 25}, "variant": {"retained": 20, "started": 25}, "confidence": 0.8}),
    )
    .await;
    assert_eq!(ab.status, 200, "{}", ab.text);
    assert_eq!(ab.body["interval"]["level_pct"], 80.0);
    let control = ab.body["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["metric"] == "control_churn_rate")
        .unwrap();
    let churn = common::post_json(
        "/churn",
        &json!({"start_customers": 25, "lost_customers": 2, "confidence": 0.8}),
    )
    .await;
    assert_eq!(control["interval"], churn.body["interval"]);
    for (path, body) in [
        ("/nps", json!({"scores": [9, 10, 3], "confidence": 0.3})),
        (
            "/ab-test",
            json!({"control": {"retained": 1, "started": 2}, "variant": {"retained": 1, "started": 2}, "confidence": 1}),
        ),
    ] {
        common::post_json(path, &body)
            .await
            .assert_problem(422, Some("/confidence"));
    }
}
