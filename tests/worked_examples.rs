//! Every worked example of docs/formulas.md § 1–5, asserted through the HTTP API with the
//! exact published figure, and the formulas of § 6. Tolerance 1e-9 unless the source prints a
//! rounded figure.

mod common;

use serde_json::{json, Value};

const EXACT: f64 = 1e-9;

fn value(answer: &common::Answer) -> f64 {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["value"].as_f64().unwrap()
}

fn related<'a>(answer: &'a common::Answer, metric: &str) -> &'a Value {
    answer.body["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kpi| kpi["metric"] == metric)
        .unwrap_or_else(|| panic!("no related {metric} in {}", answer.text))
}

#[tokio::test]
async fn crr_of_100_start_20_new_95_end_is_75_pct() {
    let answer = common::post_json(
        "/crr",
        &json!({"start_customers": 100, "new_customers": 20, "end_customers": 95}),
    )
    .await;
    assert!((value(&answer) - 75.0).abs() < EXACT);
    assert_eq!(answer.body["metric"], "customer_retention_rate");
    assert_eq!(answer.body["unit"], "percent");
    let breakdown = &answer.body["breakdown"];
    assert_eq!(breakdown["formula"], "CRR = (E - N) / S × 100");
    assert_eq!(breakdown["substitution"], "(95 - 20) / 100 × 100");
    assert_eq!(breakdown["inputs"], json!({"S": 100, "N": 20, "E": 95}));
    assert_eq!(breakdown["steps"][0]["value"], 75.0);
    let bands = answer.body["context"]["benchmarks"].as_array().unwrap();
    assert!(bands
        .iter()
        .any(|b| b["segment"] == "SaaS" && b["low"] == 35.0 && b["high"] == 95.0));
    assert!(bands
        .iter()
        .any(|b| b["segment"] == "e-commerce" && b["low"] == 20.0 && b["high"] == 35.0));
    // Retention and churn of the same period add up to 100 %.
    let churn = related(&answer, "customer_churn_rate")["value"]
        .as_f64()
        .unwrap();
    assert!((churn - 25.0).abs() < EXACT);
}

#[tokio::test]
async fn crr_of_200_start_20_new_200_end_is_90_pct() {
    let answer = common::post_json(
        "/crr",
        &json!({"start_customers": 200, "new_customers": 20, "end_customers": 200}),
    )
    .await;
    assert!((value(&answer) - 90.0).abs() < EXACT);
}

#[tokio::test]
async fn churn_of_50_lost_from_1000_is_5_pct() {
    let answer = common::post_json(
        "/churn",
        &json!({"start_customers": 1000, "end_customers": 950, "lost_customers": 50}),
    )
    .await;
    assert!((value(&answer) - 5.0).abs() < EXACT);
    assert_eq!(answer.body["metric"], "customer_churn_rate");
}

#[tokio::test]
async fn churn_of_20_lost_from_250_is_8_pct() {
    let answer = common::post_json(
        "/churn",
        &json!({"start_customers": 250, "lost_customers": 20}),
    )
    .await;
    assert!((value(&answer) - 8.0).abs() < EXACT);
    assert_eq!(answer.body["breakdown"]["substitution"], "20 / 250 × 100");
}

#[tokio::test]
async fn churn_from_start_new_end_complements_retention() {
    let answer = common::post_json(
        "/churn",
        &json!({"start_customers": 100, "new_customers": 20, "end_customers": 95}),
    )
    .await;
    assert!((value(&answer) - 25.0).abs() < EXACT);
    let retention = related(&answer, "customer_retention_rate")["value"]
        .as_f64()
        .unwrap();
    assert!((retention + value(&answer) - 100.0).abs() < EXACT);
}

#[tokio::test]
async fn monthly_churn_compounds_to_the_quoted_annual_figures() {
    // docs/formulas.md § 2: 1 % → about 11.4 %, 2 % → 21.5 %, 3 % → 30.6 %, 5 % → 46.0 % a year
    // (figures printed to one decimal: tolerance 0.05).
    for (lost, annual) in [(10, 11.4), (20, 21.5), (30, 30.6), (50, 46.0)] {
        let answer = common::post_json(
            "/churn",
            &json!({"start_customers": 1000, "lost_customers": lost, "period": "month"}),
        )
        .await;
        let got = related(&answer, "annual_churn_rate")["value"]
            .as_f64()
            .unwrap();
        assert!(
            (got - annual).abs() < 0.05,
            "{lost}/1000 a month → {got} a year"
        );
        assert!(!answer.body["context"]["benchmarks"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn annual_churn_converts_back_to_monthly() {
    let answer = common::post_json(
        "/churn",
        &json!({"start_customers": 1000, "lost_customers": 114, "period": "year"}),
    )
    .await;
    let monthly = related(&answer, "monthly_churn_rate")["value"]
        .as_f64()
        .unwrap();
    let expected = (1.0 - (1.0f64 - 0.114).powf(1.0 / 12.0)) * 100.0;
    assert!((monthly - expected).abs() < EXACT);
    assert!((monthly - 1.0).abs() < 0.01);
}

#[tokio::test]
async fn simple_clv_of_50_times_5_times_3_is_750() {
    let answer = common::post_json(
        "/clv",
        &json!({"method": "simple", "average_purchase_value": 50, "purchase_frequency": 5, "lifespan": 3}),
    )
    .await;
    assert!((value(&answer) - 750.0).abs() < EXACT);
    assert_eq!(answer.body["unit"], "currency");
}

#[tokio::test]
async fn simple_clv_of_150_a_year_for_2_years_is_300() {
    let answer = common::post_json(
        "/clv",
        &json!({"method": "simple", "average_purchase_value": 150, "lifespan": 2}),
    )
    .await;
    assert!((value(&answer) - 300.0).abs() < EXACT);
}

#[tokio::test]
async fn churn_based_clv_is_margin_over_churn_with_clv_to_cac() {
    // 40 × 0.75 / 0.025 = 1200; CLV : CAC = 1200 / 300 = 4; lifespan 1 / 0.025 = 40 months.
    let answer = common::post_json(
        "/clv",
        &json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churn_rate_pct": 2.5, "acquisition_cost": 300}),
    )
    .await;
    assert!((value(&answer) - 1200.0).abs() < EXACT);
    let ratio = related(&answer, "clv_to_cac_ratio")["value"]
        .as_f64()
        .unwrap();
    assert!((ratio - 4.0).abs() < EXACT);
    let lifespan = related(&answer, "expected_lifespan")["value"]
        .as_f64()
        .unwrap();
    assert!((lifespan - 40.0).abs() < EXACT);
    let net = related(&answer, "net_customer_lifetime_value")["value"]
        .as_f64()
        .unwrap();
    assert!((net - 900.0).abs() < EXACT);
}

#[tokio::test]
async fn discounted_clv_sums_retained_discounted_margins() {
    // Σ_{t=1..3} 100 × 0.8^(t-1) / 1.1^t, less a cost of 10 per period.
    let expected: f64 = (1..=3)
        .map(|t| 90.0 * 0.8f64.powi(t - 1) / 1.1f64.powi(t))
        .sum();
    let answer = common::post_json(
        "/clv",
        &json!({"method": "discounted", "margins": [100, 100, 100], "retention_rate_pct": 80, "discount_rate_pct": 10, "cost_per_period": 10}),
    )
    .await;
    assert!((value(&answer) - expected).abs() < EXACT);
}

#[tokio::test]
async fn historical_clv_is_past_purchases_times_margin() {
    let answer = common::post_json(
        "/clv",
        &json!({"method": "historical", "purchases": [120, 80, 95.5, 150], "gross_margin_pct": 40}),
    )
    .await;
    assert!((value(&answer) - 445.5 * 0.4).abs() < EXACT);
}

#[tokio::test]
async fn nps_of_50_pct_promoters_20_pct_detractors_is_30_plus_minus_7_65() {
    let answer = common::post_json(
        "/nps",
        &json!({"promoters": 200, "passives": 120, "detractors": 80}),
    )
    .await;
    assert!((value(&answer) - 30.0).abs() < EXACT);
    let interval = &answer.body["interval"];
    // docs/formulas.md § 5 prints the margin to two decimals.
    let margin = interval["margin_of_error"].as_f64().unwrap();
    assert!((margin - 7.65).abs() < 0.005, "margin {margin}");
    assert!((interval["lower"].as_f64().unwrap() - (30.0 - margin)).abs() < EXACT);
    assert!((interval["upper"].as_f64().unwrap() - (30.0 + margin)).abs() < EXACT);
    assert_eq!(interval["level_pct"], 95.0);
    let promoters = related(&answer, "promoter_share")["value"]
        .as_f64()
        .unwrap();
    assert!((promoters - 50.0).abs() < EXACT);
    let detractors = related(&answer, "detractor_share")["value"]
        .as_f64()
        .unwrap();
    assert!((detractors - 20.0).abs() < EXACT);
}

#[tokio::test]
async fn nps_from_raw_scores_buckets_9_10_and_0_6() {
    // 3 promoters (9, 10, 10), 2 passives (7, 8), 3 detractors (0, 5, 6): (3 - 3) / 8 = 0.
    let answer = common::post_json("/nps", &json!({"scores": [9, 10, 10, 7, 8, 0, 5, 6]})).await;
    assert!(value(&answer).abs() < EXACT);
    assert_eq!(
        answer.body["breakdown"]["inputs"],
        json!({"P": 3, "A": 2, "D": 3, "n": 8})
    );
}

#[tokio::test]
async fn revenue_churn_of_5000_lost_from_100000_is_5_pct() {
    // docs/formulas.md § 3: starting MRR 100,000; 5,000 lost to cancellations → revenue
    // churn 5 %.
    let answer = common::post_json(
        "/revenue-churn",
        &json!({"start_mrr": 100000, "churned_mrr": 5000}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let metric = |name: &str| {
        answer.body["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == name)
            .map(|m| m["value"].as_f64().unwrap())
    };
    assert!((metric("gross_mrr_churn").unwrap() - 5.0).abs() < EXACT);
    assert!((metric("net_mrr_churn").unwrap() - 5.0).abs() < EXACT);
    assert!((metric("grr").unwrap() - 95.0).abs() < EXACT);
    assert!((metric("nrr").unwrap() - 95.0).abs() < EXACT);
    assert!((metric("end_mrr").unwrap() - 95000.0).abs() < EXACT);
    assert_eq!(metric("quick_ratio"), Some(0.0));
    assert_eq!(answer.body["negative_churn"], false);
}

#[tokio::test]
async fn expansion_beyond_losses_is_negative_churn() {
    // docs/formulas.md § 3: 5 customers cancel but 10 upgrade for more than they paid.
    // 5 cancel at 100 each (500 lost); 10 upgrade by 80 each (800 gained): net churn -3 %.
    let answer = common::post_json(
        "/revenue-churn",
        &json!({"start_mrr": 10000, "churned_mrr": 500, "expansion_mrr": 800}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["negative_churn"], true);
    let metrics = answer.body["metrics"].as_array().unwrap();
    let net = metrics
        .iter()
        .find(|m| m["metric"] == "net_mrr_churn")
        .unwrap();
    assert!((net["value"].as_f64().unwrap() + 3.0).abs() < EXACT);
    let nrr = metrics.iter().find(|m| m["metric"] == "nrr").unwrap();
    assert!((nrr["value"].as_f64().unwrap() - 103.0).abs() < EXACT);
}

#[tokio::test]
async fn quick_ratio_is_left_out_when_nothing_was_lost() {
    let answer =
        common::post_json("/revenue-churn", &json!({"start_mrr": 1000, "new_mrr": 50})).await;
    assert_eq!(answer.status, 200);
    let metrics = answer.body["metrics"].as_array().unwrap();
    assert!(metrics.iter().all(|m| m["metric"] != "quick_ratio"));
}

#[tokio::test]
async fn loyalty_rates_follow_their_formulas() {
    let answer = common::post_json(
        "/loyalty",
        &json!({"customers": 5000, "loyalty_members": 1200, "purchasing_customers": 3800, "repeat_customers": 1406}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let metrics = answer.body["metrics"].as_array().unwrap();
    let names: Vec<_> = metrics
        .iter()
        .map(|m| m["metric"].as_str().unwrap())
        .collect();
    // Education participation was not asked for: left out.
    assert_eq!(
        names,
        ["loyalty_participation_rate", "repeat_purchase_rate"]
    );
    assert!((metrics[0]["value"].as_f64().unwrap() - 24.0).abs() < EXACT);
    assert!((metrics[1]["value"].as_f64().unwrap() - 37.0).abs() < EXACT);
}

#[tokio::test]
async fn engagement_score_weights_normalised_components() {
    // 30 % members (weight 1) and 5 of 0..10 logins (weight 3): (0.25 × 0.3 + 0.75 × 0.5) × 100 = 45.
    let answer = common::post_json(
        "/engagement",
        &json!({"components": [
            {"name": "members", "participants": 30, "total": 100, "weight": 1},
            {"name": "logins", "value": 5, "min": 0, "max": 10, "weight": 3}
        ]}),
    )
    .await;
    assert!((value(&answer) - 45.0).abs() < EXACT);
    let components = answer.body["components"].as_array().unwrap();
    assert!((components[0]["weight"].as_f64().unwrap() - 0.25).abs() < EXACT);
    assert!((components[1]["contribution"].as_f64().unwrap() - 37.5).abs() < EXACT);
    let shares: f64 = components
        .iter()
        .map(|c| c["share_pct"].as_f64().unwrap())
        .sum();
    assert!((shares - 100.0).abs() < EXACT);
    assert!(answer.body["context"]["notes"]
        .to_string()
        .contains("normalised"));
}

#[tokio::test]
async fn nelson_aalen_and_late_entry_follow_formulas_18_1() {
    // § 18.1: durations 1, 2, 2, 3, all churned: Ĥ = 1/4, 1/4 + 2/3, + 1/1.
    let answer = common::post_json(
        "/survival",
        &json!({"observations": [
            {"duration": 1, "observed": true}, {"duration": 2, "observed": true},
            {"duration": 2, "observed": true}, {"duration": 3, "observed": true}
        ]}),
    )
    .await;
    let h: Vec<f64> = answer.body["curve"]["cumulative_hazard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let expected = [0.0, 0.25, 0.25 + 2.0 / 3.0, 0.25 + 2.0 / 3.0 + 1.0];
    assert_eq!(h.len(), 4);
    for (ours, theirs) in h.iter().zip(expected) {
        assert!((ours - theirs).abs() < EXACT, "{ours} {theirs}");
    }
    // Late entry: (0, 2), (0, 3), (2, 5), (4, 9), all churned: n(2) = 2, Ŝ(2) = 1/2, Ŝ(3) = 1/4.
    let answer = common::post_json(
        "/survival",
        &json!({"observations": [
            {"duration": 2, "observed": true}, {"duration": 3, "observed": true},
            {"entry": 2, "duration": 5, "observed": true}, {"entry": 4, "duration": 9, "observed": true}
        ]}),
    )
    .await;
    let curve = &answer.body["curve"];
    assert_eq!(curve["timeline"], json!([0.0, 2.0, 3.0, 5.0, 9.0]));
    assert_eq!(curve["at_risk"][1], 2);
    assert_eq!(curve["at_risk"][2], 2);
    assert_eq!(curve["survival"][1], 0.5);
    assert_eq!(curve["survival"][2], 0.25);
}

#[tokio::test]
async fn cumulative_incidence_follows_formulas_18_3() {
    // § 18.3: by 12, F̂_voluntary = 0.536, F̂_involuntary = 0.320; 1 − KM says 0.731 and 0.457.
    let rows: Vec<Value> = [
        (1, "i"),
        (2, "v"),
        (2, ""),
        (3, "v"),
        (3, "i"),
        (4, ""),
        (5, "v"),
        (6, "v"),
        (6, ""),
        (8, "i"),
        (9, "v"),
        (12, ""),
    ]
    .iter()
    .map(|(d, c)| {
        let cause = match *c {
            "v" => json!("voluntary"),
            "i" => json!("involuntary"),
            _ => Value::Null,
        };
        json!({"duration": d, "cause": cause})
    })
    .collect();
    let answer = common::post_json("/survival/competing", &json!({"observations": rows})).await;
    let causes = &answer.body["all"]["causes"];
    let last = |k: usize, field: &str| {
        causes[k][field]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_f64()
            .unwrap()
    };
    // By hand: at risk 12, 11, 9, 7, 6, 5, 3, 2, 1 at 1, 2, 3, 4, 5, 6, 8, 9, 12; Ŝ after each.
    let s1 = 11.0 / 12.0;
    let s2 = s1 * 10.0 / 11.0;
    let s3 = s2 * 7.0 / 9.0;
    let s5 = s3 * 5.0 / 6.0;
    let s6 = s5 * 4.0 / 5.0;
    let s8 = s6 * 2.0 / 3.0;
    let involuntary = 1.0 / 12.0 + s2 / 9.0 + s6 / 3.0;
    let voluntary = s1 / 11.0 + s2 / 9.0 + s3 / 6.0 + s5 / 5.0 + s8 / 2.0;
    assert!((last(1, "cumulative_incidence") - voluntary).abs() < EXACT);
    assert_eq!(causes[0]["cause"], "involuntary");
    assert!(
        (last(0, "cumulative_incidence") - involuntary).abs() < EXACT,
        "{}",
        last(0, "cumulative_incidence")
    );
    assert!((last(0, "cumulative_incidence") - 0.320).abs() < 5e-4);
    assert!((last(1, "cumulative_incidence") - 0.536).abs() < 5e-4);
    assert!((last(0, "one_minus_km") - 0.457).abs() < 5e-4);
    assert!((last(1, "one_minus_km") - 0.731).abs() < 5e-4);
    let survival = answer.body["all"]["survival"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        (survival + last(0, "cumulative_incidence") + last(1, "cumulative_incidence") - 1.0).abs()
            < EXACT
    );
}
