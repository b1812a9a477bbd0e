//! `/forecast`: the trend path against statsmodels' OLS and its prediction intervals
//! (tests/fixtures/forecast_reference.py, versions in the JSON) to 1e-9; the retention path
//! on Fader & Hardie (2007)'s cohorts against the survivors their published parameters give;
//! committed MRR against ChartMogul's CMRR example; the refusals.

mod common;

use serde_json::{json, Value};

use common::post_json;

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/forecast_reference.json")).unwrap()
}

fn published() -> Value {
    serde_json::from_str(include_str!("fixtures/published_values.json")).unwrap()
}

fn close(a: f64, b: f64, tolerance: f64, what: &str) {
    assert!(
        (a - b).abs() <= tolerance * b.abs().max(1.0),
        "{what}: {a} against {b}"
    );
}

#[tokio::test]
async fn the_trend_path_equals_statsmodels_ols() {
    let reference = reference();
    let mrr = reference["history"]["mrr"].as_array().unwrap();
    let customers = reference["history"]["customers"].as_array().unwrap();
    let history: Vec<Value> = mrr
        .iter()
        .zip(customers)
        .map(|(m, c)| json!({"mrr": m, "customers": c}))
        .collect();
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let answer = post_json(
            "/forecast",
            &json!({"history": history, "trend_periods": case["trend_periods"], "periods_ahead": case["periods_ahead"], "confidence": case["confidence"]}),
        )
        .await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.text);
        for fit in case["fits"].as_array().unwrap() {
            let ours = answer.body["trend"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["metric"] == fit["metric"] && t["model"] == fit["model"])
                .unwrap();
            let what = format!("{name} {} {}", fit["metric"], fit["model"]);
            for key in ["intercept", "slope", "r_squared"] {
                close(
                    ours[key].as_f64().unwrap(),
                    fit[key].as_f64().unwrap(),
                    1e-9,
                    &format!("{what} {key}"),
                );
            }
            for (i, point) in ours["forecast"].as_array().unwrap().iter().enumerate() {
                close(
                    point["value"].as_f64().unwrap(),
                    fit["values"][i].as_f64().unwrap(),
                    1e-9,
                    &what,
                );
                close(
                    point["interval"]["lower"].as_f64().unwrap(),
                    fit["lower"][i].as_f64().unwrap(),
                    1e-9,
                    &what,
                );
                close(
                    point["interval"]["upper"].as_f64().unwrap(),
                    fit["upper"][i].as_f64().unwrap(),
                    1e-9,
                    &what,
                );
            }
        }
    }
}

#[tokio::test]
async fn the_retention_path_reproduces_fader_hardie_projected_survivors() {
    let published = published();
    for cohort in ["sbg_regular", "sbg_high_end"] {
        let survivors = &published[cohort]["survivors_year_0_to_7"];
        let answer = post_json(
            "/forecast",
            &json!({"cohorts": [{"name": cohort, "survivors": survivors, "arpa": 1}], "periods_ahead": 5}),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        // The survivors of years 8–12 under the paper's α and β: S(t) = S(t−1) (β + t − 1) / (α + β + t − 1).
        let (alpha, beta) = (
            published[cohort]["parameters"]["alpha"].as_f64().unwrap(),
            published[cohort]["parameters"]["beta"].as_f64().unwrap(),
        );
        let mut s = 1.0;
        let mut projected = Vec::new();
        for t in 1..=12 {
            s *= (beta + t as f64 - 1.0) / (alpha + beta + t as f64 - 1.0);
            if t >= 8 {
                projected.push(1000.0 * s);
            }
        }
        let ours = &answer.body["retention"]["cohorts"][0]["survivors"];
        for (i, expected) in projected.iter().enumerate() {
            let got = ours[i]["value"].as_f64().unwrap();
            // The paper prints α and β to three decimals: within one customer of 1,000.
            assert!(
                (got - expected).abs() < 1.0,
                "{cohort} year {}: {got} against {expected}",
                i + 8
            );
            let b = &ours[i]["interval"];
            assert!(b["lower"].as_f64().unwrap() <= got && got <= b["upper"].as_f64().unwrap());
        }
        // One cohort, ARPA 1, no new customers: MRR is the survivors.
        assert_eq!(
            answer.body["retention"]["mrr"][0]["value"],
            ours[0]["value"]
        );
    }
}

#[tokio::test]
async fn new_customers_follow_the_cohorts_average_survival() {
    let answer = post_json(
        "/forecast",
        &json!({"cohorts": [{"survivors": [100, 60, 45, 38], "arpa": 10}], "periods_ahead": 2, "new_customers_per_period": 10, "new_customer_arpa": 20}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let cohort = &answer.body["retention"]["cohorts"][0]["survivors"];
    let (c1, c2) = (
        cohort[0]["value"].as_f64().unwrap(),
        cohort[1]["value"].as_f64().unwrap(),
    );
    // S̄(0) = 1, S̄(1) = S(1) = β / (α + β) under the fit (one cohort); step 1: 10 new; step 2: 10 + 10 × S(1).
    let s1 = answer.body["retention"]["cohorts"][0]["alpha"]
        .as_f64()
        .unwrap();
    let beta = answer.body["retention"]["cohorts"][0]["beta"]
        .as_f64()
        .unwrap();
    let survival_1 = beta / (s1 + beta);
    let customers = &answer.body["retention"]["customers"];
    close(
        customers[0]["value"].as_f64().unwrap(),
        c1 + 10.0,
        1e-12,
        "step 1",
    );
    close(
        customers[1]["value"].as_f64().unwrap(),
        c2 + 10.0 + 10.0 * survival_1,
        1e-12,
        "step 2",
    );
    let mrr = &answer.body["retention"]["mrr"];
    close(
        mrr[1]["value"].as_f64().unwrap(),
        c2 * 10.0 + (10.0 + 10.0 * survival_1) * 20.0,
        1e-12,
        "MRR step 2",
    );
}

#[tokio::test]
async fn committed_mrr_is_chartmogul_cmrr() {
    // chartmogul.com/saas-metrics/cmrr: "120 customers, each paying $60… guaranteed expansion
    // MRR of $1200 and an expected churn of $500… 7200 + 1200 – 500 = $7900."
    let answer = post_json(
        "/forecast",
        &json!({"history": [{"mrr": 7000, "customers": 118}, {"mrr": 7100, "customers": 119}, {"mrr": 7200, "customers": 120}],
                "periods_ahead": 2, "scheduled_changes": [{"periods_ahead": 1, "mrr_change": 1200}, {"periods_ahead": 1, "mrr_change": -500}]}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["committed_mrr"][0]["value"], 7900.0);
    assert_eq!(answer.body["committed_mrr"][1]["value"], 7900.0);
}

#[tokio::test]
async fn forecasts_that_cannot_be_made_are_refused_naming_the_field() {
    let three =
        json!([{"mrr": 1, "customers": 1}, {"mrr": 2, "customers": 2}, {"mrr": 3, "customers": 3}]);
    for (body, pointer) in [
        (json!({}), "/history"),
        (
            json!({"history": [{"mrr": 1, "customers": 1}, {"mrr": 2, "customers": 2}]}),
            "/history",
        ),
        (
            json!({"history": three, "periods_ahead": 0}),
            "/periods_ahead",
        ),
        (
            json!({"history": three, "periods_ahead": 121}),
            "/periods_ahead",
        ),
        (
            json!({"history": three, "trend_periods": 4}),
            "/trend_periods",
        ),
        (
            json!({"history": [{"mrr": -1, "customers": 1}, {"mrr": 2, "customers": 2}, {"mrr": 3, "customers": 3}]}),
            "/history/0/mrr",
        ),
        (
            json!({"cohorts": [{"survivors": [100, 120, 90], "arpa": 1}]}),
            "/cohorts/0/survivors/1",
        ),
        (
            json!({"cohorts": [{"survivors": [100, 90, 80], "arpa": -1}]}),
            "/cohorts/0/arpa",
        ),
        (
            json!({"cohorts": [{"survivors": [100, 90, 80], "arpa": 1}], "scheduled_changes": [{"periods_ahead": 1, "mrr_change": 5}]}),
            "/scheduled_changes",
        ),
        (
            json!({"history": three, "scheduled_changes": [{"periods_ahead": 0, "mrr_change": 5}]}),
            "/scheduled_changes/0/periods_ahead",
        ),
    ] {
        let answer = post_json("/forecast", &body).await;
        answer.assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn a_falling_trend_is_floored_at_zero_and_said_so() {
    let answer = post_json(
        "/forecast",
        &json!({"history": [{"mrr": 300, "customers": 30}, {"mrr": 200, "customers": 20}, {"mrr": 100, "customers": 10}], "periods_ahead": 3}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let linear = &answer.body["trend"][0];
    assert_eq!(linear["model"], "linear");
    let values: Vec<f64> = linear["forecast"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert!(values.iter().all(|v| *v == 0.0), "{values:?}");
    assert!(answer.body["notes"].to_string().contains("floored at 0"));
    let cohorts: Vec<Value> = (0..101)
        .map(|_| json!({"survivors": [100, 80, 70], "arpa": 1}))
        .collect();
    let answer = post_json("/forecast", &json!({"cohorts": cohorts})).await;
    answer.assert_problem(422, Some("/cohorts"));
}
