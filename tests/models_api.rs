//! The model endpoints end to end: CDNOW through HTTP lands on the published fits, raw
//! transactions give the same fit as the summary, and data that cannot identify a model is
//! refused with 422 instead of garbage parameters.

mod common;

use serde_json::{json, Value};

fn cdnow_customers() -> Vec<Value> {
    common::cdnow_customers()
}

fn cdnow_transactions() -> Vec<Value> {
    common::cdnow_transactions()
}

fn estimate(answer: &common::Answer, name: &str) -> f64 {
    answer.body["parameters"][name]["estimate"]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} in {}", &answer.text[..answer.text.len().min(400)]))
}

#[tokio::test]
async fn bgnbd_over_http_matches_the_published_cdnow_fit_and_predicts() {
    let answer = common::post_json(
        "/models/bgnbd",
        &json!({"customers": cdnow_customers(), "predict": {"horizon": 39}}),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.text[..answer.text.len().min(400)]
    );
    // Fader, Hardie & Lee (2005): r 0.243, α 4.414, a 0.793, b 2.426 (±0.001), LL -9582.4 (±0.1).
    for (name, published) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        assert!(
            (estimate(&answer, name) - published).abs() <= 0.001,
            "{name}"
        );
        assert!(
            answer.body["parameters"][name]["std_error"]
                .as_f64()
                .unwrap()
                > 0.0
        );
    }
    assert!((answer.body["log_likelihood"].as_f64().unwrap() + 9582.4).abs() <= 0.1);
    assert_eq!(answer.body["converged"], true);
    let predictions = &answer.body["predictions"];
    assert_eq!(predictions["customers"].as_array().unwrap().len(), 2357);
    assert_eq!(predictions["customers"][0]["id"], "1");
    // The population curve at week 32: 1.0437 in Hardie's spreadsheet (4 decimals).
    let week_32 = &predictions["population"][31];
    assert_eq!(week_32["t"], 32.0);
    assert!((week_32["expected_purchases"].as_f64().unwrap() - 1.0437).abs() < 5e-5);
    // Identical rows are fitted once.
    assert!(answer.body["distinct_rows"].as_u64().unwrap() < 2357);
}

#[tokio::test]
async fn a_fit_from_raw_transactions_equals_the_fit_from_the_summary() {
    let from_transactions = common::post_json(
        "/models/bgnbd",
        &json!({"transactions": cdnow_transactions(), "calibration_end": "1997-09-30", "unit": "week"}),
    )
    .await;
    assert_eq!(
        from_transactions.status,
        200,
        "{}",
        &from_transactions.text[..from_transactions.text.len().min(400)]
    );
    assert_eq!(from_transactions.body["customers"], 2357.0);
    // The summary file is rounded to 2 decimals: the unrounded fit differs in the 3rd decimal
    // at most.
    for (name, published) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        assert!(
            (estimate(&from_transactions, name) - published).abs() <= 0.01,
            "{name}"
        );
    }
}

#[tokio::test]
async fn pareto_nbd_and_gamma_gamma_over_http_match_their_published_fits() {
    let answer = common::post_json(
        "/models/pareto-nbd",
        &json!({"customers": cdnow_customers()}),
    )
    .await;
    assert_eq!(answer.status, 200);
    for (name, published) in [("r", 0.55), ("alpha", 10.58), ("s", 0.61), ("beta", 11.67)] {
        assert!(
            (estimate(&answer, name) - published).abs() <= 0.01,
            "{name}"
        );
    }
    assert!((answer.body["log_likelihood"].as_f64().unwrap() + 9595.0).abs() <= 0.1);
    let answer = common::post_json(
        "/models/gamma-gamma",
        &json!({"customers": cdnow_customers()}),
    )
    .await;
    assert_eq!(answer.status, 200);
    for (name, published) in [("p", 6.25), ("q", 3.74), ("gamma", 15.44)] {
        assert!(
            (estimate(&answer, name) - published).abs() <= 0.01,
            "{name}"
        );
    }
    assert_eq!(answer.body["customers_fitted"], 946.0);
    assert_eq!(answer.body["customers_left_out"], 1411.0);
    assert!(
        answer.body["frequency_monetary_correlation"]
            .as_f64()
            .unwrap()
            .abs()
            < 0.2
    );
}

#[tokio::test]
async fn clv_ranks_tiers_and_flags_customers_at_risk() {
    let answer = common::post_json(
        "/models/clv",
        &json!({"customers": cdnow_customers(), "horizon": 52.14, "period_length": 4.345, "discount_rate_pct": 1, "margin_pct": 100}),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.text[..answer.text.len().min(400)]
    );
    let customers = answer.body["customers"].as_array().unwrap();
    let total: f64 = customers.iter().map(|c| c["clv"].as_f64().unwrap()).sum();
    assert!((total - answer.body["total_clv"].as_f64().unwrap()).abs() < 1e-6 * total);
    let by_period: f64 = answer.body["by_period"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["discounted_value"].as_f64().unwrap())
        .sum();
    assert!((by_period - total).abs() < 1e-6 * total);
    assert_eq!(answer.body["by_period"].as_array().unwrap().len(), 12);
    let tiers = answer.body["tiers"].as_array().unwrap();
    assert_eq!(tiers.len(), 3);
    let shares: f64 = tiers
        .iter()
        .map(|t| t["share_of_value_pct"].as_f64().unwrap())
        .sum();
    assert!((shares - 100.0).abs() < 1e-9);
    // The top 20 % of customers hold most of the predicted value in CDNOW.
    assert!(tiers[0]["share_of_value_pct"].as_f64().unwrap() > 50.0);
    let top = customers.iter().find(|c| c["rank"] == 1).unwrap();
    assert!(customers
        .iter()
        .all(|c| c["clv"].as_f64().unwrap() <= top["clv"].as_f64().unwrap()));
    for risk in answer.body["at_risk"].as_array().unwrap() {
        assert!(risk["p_alive"].as_f64().unwrap() < 0.3);
    }
    assert!(!answer.body["at_risk"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn data_that_cannot_identify_a_model_is_refused() {
    // Nobody bought twice: BG/NBD's dropout parameters have no maximum.
    let answer = common::post_json(
        "/models/bgnbd",
        &json!({"customers": [{"frequency": 0, "recency": 0, "T": 30, "count": 100}, {"frequency": 0, "recency": 0, "T": 12, "count": 40}]}),
    )
    .await;
    answer.assert_problem(422, Some(""));
    assert!(answer.body["detail"]
        .as_str()
        .unwrap()
        .contains("no maximum"));
    assert!(answer.body.get("parameters").is_none());
}

#[tokio::test]
async fn impossible_summaries_and_cohorts_are_refused_with_their_field() {
    let cases = [
        (
            "/models/bgnbd",
            json!({"customers": [{"frequency": 1, "recency": 5, "T": 4}]}),
            "/customers/0/recency",
        ),
        (
            "/models/bgnbd",
            json!({"customers": [{"frequency": 1.5, "recency": 2, "T": 4}]}),
            "/customers/0/frequency",
        ),
        (
            "/models/bgnbd",
            json!({"customers": [{"frequency": 0, "recency": 1, "T": 4}]}),
            "/customers/0/recency",
        ),
        (
            "/models/bgnbd",
            json!({"customers": [{"frequency": 2, "recency": 1}]}),
            "/customers/0/T",
        ),
        ("/models/bgnbd", json!({"customers": []}), "/customers"),
        (
            "/models/bgnbd",
            json!({"transactions": [{"customer_id": "a", "date": "1997-13-01"}], "calibration_end": "1997-12-31"}),
            "/transactions/0/date",
        ),
        (
            "/models/bgnbd",
            json!({"transactions": [{"customer_id": "a", "date": "1997-01-01"}]}),
            "/calibration_end",
        ),
        (
            "/models/bgnbd",
            json!({"customers": [{"frequency": 1, "recency": 2, "T": 4}], "predict": {"horizon": -1}}),
            "/predict/horizon",
        ),
        (
            "/models/gamma-gamma",
            json!({"customers": [{"frequency": 2, "monetary_value": -5}]}),
            "/customers/0/monetary_value",
        ),
        (
            "/models/sbg",
            json!({"survivors": [1000, 800, 900]}),
            "/survivors/2",
        ),
        (
            "/models/sbg",
            json!({"survivors": [1000, 1000, 1000]}),
            "/survivors",
        ),
        (
            "/models/clv",
            json!({"customers": [{"frequency": 1, "recency": 3, "T": 10, "monetary_value": 20}], "horizon": 52, "tier_cuts": [0.8, 0.2]}),
            "/tier_cuts",
        ),
    ];
    for (path, body, pointer) in cases {
        common::post_json(path, &body)
            .await
            .assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn sbg_projects_the_regular_cohort() {
    let answer = common::post_json(
        "/models/sbg",
        &json!({"survivors": [1000, 631, 468, 382, 326, 289, 262, 241], "projection_periods": 5, "margin": 100, "discount_rate_pct": 10}),
    )
    .await;
    assert_eq!(answer.status, 200);
    // Fader & Hardie (2007): α 0.704, β 1.182 (±0.001).
    assert!((estimate(&answer, "alpha") - 0.704).abs() <= 0.001);
    assert!((estimate(&answer, "beta") - 1.182).abs() <= 0.001);
    let periods = answer.body["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 13);
    assert_eq!(periods[12]["projected"], true);
    // Retention rates rise with tenure under the model.
    let rates: Vec<f64> = periods[1..]
        .iter()
        .map(|p| p["retention_rate"].as_f64().unwrap())
        .collect();
    assert!(rates.windows(2).all(|w| w[0] < w[1]));
    // α < 1: the mean lifetime is infinite and left out; the discounted lifetime is finite.
    assert!(answer.body.get("expected_lifetime").is_none());
    let del = answer.body["discounted_expected_lifetime"]
        .as_f64()
        .unwrap();
    assert!(
        (answer.body["discounted_expected_lifetime_value"]
            .as_f64()
            .unwrap()
            - 100.0 * del)
            .abs()
            < 1e-9
    );
}

/// A month of duration is 30.4375 days: recency and T in months are the weeks' figures × 7 /
/// 30.4375, and the fit's rate parameter α scales by the same factor (r, a, b do not move).
#[tokio::test]
async fn a_fit_on_transactions_in_months_is_the_weekly_fit_rescaled() {
    let fit = |unit: &str| {
        let body = json!({"transactions": cdnow_transactions(), "calibration_end": "1997-09-30", "unit": unit});
        async move { common::post_json("/models/bgnbd", &body).await }
    };
    let (weeks, months) = (fit("week").await, fit("month").await);
    assert_eq!(
        months.status,
        200,
        "{}",
        &months.text[..months.text.len().min(400)]
    );
    let scale = 7.0 / 30.4375;
    let relative = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(
        relative(
            estimate(&months, "alpha"),
            estimate(&weeks, "alpha") * scale
        ) < 1e-5
    );
    for name in ["r", "a", "b"] {
        assert!(
            relative(estimate(&months, name), estimate(&weeks, name)) < 1e-5,
            "{name}"
        );
    }
}

fn holds(bounds: &Value, value: &Value, what: &str) {
    let (lower, upper, v) = (
        bounds["lower"].as_f64().unwrap(),
        bounds["upper"].as_f64().unwrap(),
        value.as_f64().unwrap(),
    );
    assert!(
        lower <= v && v <= upper && lower < upper,
        "{what}: {v} not in [{lower}, {upper}]"
    );
}

#[tokio::test]
async fn every_model_prediction_carries_its_delta_method_interval() {
    let customers = cdnow_customers();
    let fit = common::post_json(
        "/models/bgnbd",
        &json!({"customers": customers, "predict": {"horizon": 39, "confidence": 0.9}}),
    )
    .await;
    assert_eq!(fit.status, 200);
    let predictions = &fit.body["predictions"];
    assert_eq!(predictions["intervals"]["level_pct"], 90.0);
    for c in predictions["customers"].as_array().unwrap() {
        let p_alive = &c["p_alive_interval"];
        assert!(
            p_alive["lower"].as_f64().unwrap() >= 0.0 && p_alive["upper"].as_f64().unwrap() <= 1.0
        );
        holds(
            &c["expected_purchases_interval"],
            &c["expected_purchases"],
            "purchases",
        );
    }
    holds(
        &predictions["total_expected_purchases_interval"],
        &predictions["total_expected_purchases"],
        "total",
    );
    for point in predictions["population"].as_array().unwrap() {
        holds(
            &point["interval"],
            &point["expected_purchases"],
            "population",
        );
    }
    // The population's purchases are estimated from 2,357 customers: a narrow interval.
    let last = predictions["population"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    let width =
        last["interval"]["upper"].as_f64().unwrap() - last["interval"]["lower"].as_f64().unwrap();
    assert!(
        width / last["expected_purchases"].as_f64().unwrap() < 0.2,
        "{last}"
    );

    // Without intervals, the same predictions, bit for bit, and none of the interval fields.
    let plain = common::post_json(
        "/models/bgnbd",
        &json!({"customers": customers, "predict": {"horizon": 39, "uncertainty": {"method": "none"}}}),
    )
    .await;
    assert!(plain.body["predictions"].get("intervals").is_none());
    assert_eq!(
        plain.body["predictions"]["total_expected_purchases"],
        predictions["total_expected_purchases"]
    );

    let spend = common::post_json("/models/gamma-gamma", &json!({"customers": customers})).await;
    assert_eq!(spend.status, 200);
    for c in spend.body["customers"].as_array().unwrap() {
        holds(&c["expected_spend_interval"], &c["expected_spend"], "spend");
    }

    let clv = common::post_json(
        "/models/clv",
        &json!({"customers": customers, "horizon": 52, "period_length": 4.345, "discount_rate_pct": 1}),
    )
    .await;
    assert_eq!(clv.status, 200, "{}", &clv.text[..clv.text.len().min(300)]);
    holds(
        &clv.body["total_clv_interval"],
        &clv.body["total_clv"],
        "total CLV",
    );
    let with_value = clv.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["clv"].as_f64().unwrap() > 0.0)
        .count();
    assert!(with_value > 0);
    for c in clv.body["customers"].as_array().unwrap() {
        if c["clv"].as_f64().unwrap() > 0.0 {
            holds(&c["clv_interval"], &c["clv"], "CLV");
        }
    }
}

#[tokio::test]
async fn a_prediction_confidence_outside_its_range_is_refused_naming_the_field() {
    let answer = common::post_json(
        "/models/bgnbd",
        &json!({"customers": cdnow_customers(), "predict": {"horizon": 39, "confidence": 1.5}}),
    )
    .await;
    answer.assert_problem(422, Some("/predict/confidence"));
    let answer = common::post_json(
        "/models/clv",
        &json!({"customers": cdnow_customers(), "horizon": 52, "confidence": 0.1, "uncertainty": {"method": "none"}}),
    )
    .await;
    answer.assert_problem(422, Some("/confidence"));
}

#[tokio::test]
async fn the_parametric_bootstrap_is_reproducible_from_its_seed_and_agrees_with_the_delta_method() {
    let customers = cdnow_customers();
    let body = |uncertainty: Value| json!({"customers": customers, "predict": {"horizon": 39, "uncertainty": uncertainty}});
    let boot = json!({"method": "bootstrap", "draws": 40, "seed": 7});
    let first = common::post_json("/models/bgnbd", &body(boot.clone())).await;
    assert_eq!(
        first.status,
        200,
        "{}",
        &first.text[..first.text.len().min(300)]
    );
    let again = common::post_json("/models/bgnbd", &body(boot)).await;
    assert_eq!(first.text, again.text, "same seed, same bytes");
    let other = common::post_json(
        "/models/bgnbd",
        &body(json!({"method": "bootstrap", "draws": 40, "seed": 8})),
    )
    .await;
    let total =
        |a: &common::Answer| a.body["predictions"]["total_expected_purchases_interval"].clone();
    assert_ne!(total(&first), total(&other), "another seed, other draws");
    let method = first.body["predictions"]["intervals"]["method"]
        .as_str()
        .unwrap();
    assert!(
        method.starts_with("parametric bootstrap: 40 data sets"),
        "{method}"
    );

    // The two methods estimate the same spread: the intervals of the population's purchases
    // by week 39 have widths within a factor of two of each other.
    let delta = common::post_json("/models/bgnbd", &body(json!({"method": "delta"}))).await;
    let width = |a: &common::Answer| {
        let p = a.body["predictions"]["population"]
            .as_array()
            .unwrap()
            .last()
            .unwrap();
        p["interval"]["upper"].as_f64().unwrap() - p["interval"]["lower"].as_f64().unwrap()
    };
    let ratio = width(&first) / width(&delta);
    assert!(
        (0.5..2.0).contains(&ratio),
        "bootstrap / delta width {ratio}"
    );

    // Pareto/NBD draws its customers from its own process.
    let pareto = common::post_json(
        "/models/pareto-nbd",
        &body(json!({"method": "bootstrap", "draws": 10, "seed": 1})),
    )
    .await;
    assert_eq!(
        pareto.status,
        200,
        "{}",
        &pareto.text[..pareto.text.len().min(300)]
    );
    let interval = &pareto.body["predictions"]["total_expected_purchases_interval"];
    assert!(interval["lower"].as_f64().unwrap() < interval["upper"].as_f64().unwrap());
}

#[tokio::test]
async fn uncertainty_settings_are_refused_naming_the_field() {
    let customers = cdnow_customers();
    for (uncertainty, pointer) in [
        (
            json!({"method": "bootstrap", "draws": 1}),
            "/predict/uncertainty/draws",
        ),
        (
            json!({"method": "bootstrap", "draws": 5000}),
            "/predict/uncertainty/draws",
        ),
        (
            json!({"method": "delta", "seed": 3}),
            "/predict/uncertainty/seed",
        ),
    ] {
        common::post_json(
            "/models/bgnbd",
            &json!({"customers": customers, "predict": {"horizon": 39, "uncertainty": uncertainty}}),
        )
        .await
        .assert_problem(422, Some(pointer));
    }
    common::post_json(
        "/models/gamma-gamma",
        &json!({"customers": customers, "uncertainty": {"method": "bootstrap"}}),
    )
    .await
    .assert_problem(422, Some("/uncertainty/method"));
    // 2,357 customers × 1,000 draws is within 5,000,000 simulated customers; with every row
    // counted three times it is not.
    let tripled: Vec<Value> = customers
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c["count"] = json!(3);
            c
        })
        .collect();
    common::post_json(
        "/models/bgnbd",
        &json!({"customers": tripled, "predict": {"horizon": 39, "uncertainty": {"method": "bootstrap", "draws": 1000}}}),
    )
    .await
    .assert_problem(422, Some("/predict/uncertainty/draws"));
}

#[tokio::test]
async fn sbg_projections_carry_intervals_that_widen_beyond_the_data() {
    let body = |confidence: f64| json!({"survivors": [1000, 631, 468, 382, 326, 289, 262, 241], "projection_periods": 5, "discount_rate_pct": 10, "confidence": confidence});
    let answer = common::post_json("/models/sbg", &body(0.95)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let periods = answer.body["periods"].as_array().unwrap();
    // Period 0 is certain; every other survival and retention rate has an interval around it.
    assert_eq!(
        periods[0]["survival_interval"],
        json!({"lower": 1.0, "upper": 1.0})
    );
    for p in &periods[1..] {
        holds(&p["survival_interval"], &p["survival"], "survival");
        holds(
            &p["retention_rate_interval"],
            &p["retention_rate"],
            "retention",
        );
    }
    let width = |p: &Value| {
        p["survival_interval"]["upper"].as_f64().unwrap()
            - p["survival_interval"]["lower"].as_f64().unwrap()
    };
    // A fitted period against the last projected one, where the curve is less certain
    // relative to its level.
    let relative = |p: &Value| width(p) / p["survival"].as_f64().unwrap();
    assert!(relative(&periods[12]) > relative(&periods[3]));
    holds(
        &answer.body["discounted_expected_lifetime_interval"],
        &answer.body["discounted_expected_lifetime"],
        "DEL",
    );
    let narrow = common::post_json("/models/sbg", &body(0.8)).await;
    let del_width = |a: &common::Answer| {
        let i = &a.body["discounted_expected_lifetime_interval"];
        i["upper"].as_f64().unwrap() - i["lower"].as_f64().unwrap()
    };
    assert!(del_width(&narrow) < del_width(&answer));
}
