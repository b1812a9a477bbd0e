//! `/ab-test` against figures computed independently: the tea-tasting table for Fisher's exact
//! test, a hand-computed z-test, and the sample-size formula.

mod common;

use serde_json::json;

#[tokio::test]
async fn a_z_test_on_large_groups_matches_the_hand_computation() {
    // 420/1000 vs 465/1000: pooled p = 0.4425, z = 0.045 / sqrt(0.4425 × 0.5575 × 0.002)
    // = 2.0259, two-sided p = 0.0428.
    let answer = common::post_json(
        "/ab-test",
        &json!({"control": {"retained": 420, "started": 1000}, "variant": {"retained": 465, "started": 1000}}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["test"]["method"], "two_proportion_z_test");
    assert!((answer.body["test"]["statistic"].as_f64().unwrap() - 2.0259).abs() < 1e-3);
    assert!((answer.body["test"]["p_value"].as_f64().unwrap() - 0.0428).abs() < 5e-4);
    assert_eq!(answer.body["test"]["significant_at_5_pct"], true);
    assert!((answer.body["value"].as_f64().unwrap() - 4.5).abs() < 1e-9);
    let lift = answer.body["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["metric"] == "relative_lift")
        .unwrap();
    assert!((lift["value"].as_f64().unwrap() - 4.5 / 42.0 * 100.0).abs() < 1e-9);
}

#[tokio::test]
async fn small_groups_use_fishers_exact_test() {
    // The 2x2 table [[3, 1], [1, 3]]: two-sided p = 34/70 = 0.485714 (Fisher's tea tasting).
    let answer = common::post_json(
        "/ab-test",
        &json!({"control": {"retained": 3, "started": 4}, "variant": {"retained": 1, "started": 4}}),
    )
    .await;
    assert_eq!(answer.body["test"]["method"], "fisher_exact");
    assert!((answer.body["test"]["p_value"].as_f64().unwrap() - 34.0 / 70.0).abs() < 1e-9);
}

#[tokio::test]
async fn churn_is_compared_as_one_minus_retention() {
    let answer = common::post_json(
        "/ab-test",
        &json!({"metric": "churn", "control": {"retained": 940, "started": 1000}, "variant": {"retained": 962, "started": 1000}}),
    )
    .await;
    assert_eq!(answer.body["metric"], "churn_rate_difference");
    assert!((answer.body["value"].as_f64().unwrap() + 2.2).abs() < 1e-9);
}

#[tokio::test]
async fn the_sample_size_for_3_points_at_80_pct_power() {
    // p1 = 0.42, p2 = 0.45: (1.95996 sqrt(2 × 0.435 × 0.565) + 0.84162 sqrt(0.42 × 0.58 +
    // 0.45 × 0.55))² / 0.03² = 4285.6 → 4286 per group.
    let answer = common::post_json(
        "/ab-test",
        &json!({"control": {"retained": 420, "started": 1000}, "variant": {"retained": 465, "started": 1000}, "minimum_detectable_effect": 3, "power_pct": 80}),
    )
    .await;
    let size = answer.body["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["metric"] == "required_sample_size_per_group")
        .unwrap();
    assert_eq!(size["value"], 4286.0);
}

#[tokio::test]
async fn two_groups_nps_are_compared_with_an_interval() {
    // NPS 30 (n 400, v 0.61) vs 42.5 (n 400, v 0.544375): se = 100 sqrt((0.61 + 0.544375) / 400)
    // = 5.3721, margin 1.96 × se = 10.529.
    let answer = common::post_json(
        "/ab-test",
        &json!({"metric": "nps", "control": {"promoters": 200, "passives": 120, "detractors": 80}, "variant": {"promoters": 230, "passives": 110, "detractors": 60}}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!((answer.body["value"].as_f64().unwrap() - 12.5).abs() < 1e-9);
    let interval = &answer.body["interval"];
    assert!((interval["standard_error"].as_f64().unwrap() - 5.3721).abs() < 1e-4);
    assert!((interval["margin_of_error"].as_f64().unwrap() - 10.529).abs() < 1e-3);
}

#[tokio::test]
async fn impossible_groups_are_refused_with_their_field() {
    let cases = [
        (
            json!({"control": {"retained": 120, "started": 100}, "variant": {"retained": 5, "started": 10}}),
            "/control/retained",
        ),
        (
            json!({"control": {"retained": 1, "started": 10}, "variant": {"retained": 0, "started": 0}}),
            "/variant/started",
        ),
        (
            json!({"control": {"retained": 1}, "variant": {"retained": 5, "started": 10}}),
            "/control/started",
        ),
        (
            json!({"metric": "nps", "control": {"scores": [9, 12]}, "variant": {"scores": [9]}}),
            "/control/scores/1",
        ),
        (
            json!({"control": {"retained": 1, "started": 10}, "variant": {"retained": 5, "started": 10}, "minimum_detectable_effect": 0}),
            "/minimum_detectable_effect",
        ),
        (
            json!({"control": {"retained": 1, "started": 10}, "variant": {"retained": 5, "started": 10}, "minimum_detectable_effect": 3, "power_pct": 40}),
            "/power_pct",
        ),
    ];
    for (body, pointer) in cases {
        common::post_json("/ab-test", &body)
            .await
            .assert_problem(422, Some(pointer));
    }
}

/// tests/fixtures/bayes_reference.json, written by tests/fixtures/bayes_reference.py (mpmath
/// numerical integration at 30 digits; its version is in the file).
fn bayes_reference() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/bayes_reference.json")).unwrap()
}

fn related<'a>(answer: &'a serde_json::Value, metric: &str) -> &'a serde_json::Value {
    answer["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["metric"] == metric)
        .unwrap_or_else(|| panic!("{metric} missing"))
}

#[tokio::test]
async fn chance_to_beat_control_and_expected_losses_equal_mpmath_integrals_to_1e_9() {
    let reference = bayes_reference();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let answer = common::post_json(
            "/ab-test",
            &json!({"control": case["control"], "variant": case["variant"]}),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        for (metric, scale) in [
            ("probability_variant_beats_control", 100.0),
            ("expected_loss_choosing_variant", 100.0),
            ("expected_loss_choosing_control", 100.0),
        ] {
            let ours = related(&answer.body, metric)["value"].as_f64().unwrap() / scale;
            let expected = case[metric].as_f64().unwrap();
            assert!(
                (ours - expected).abs() <= 1e-9,
                "{metric} for {} vs {}: ours {ours}, mpmath {expected}",
                case["control"],
                case["variant"]
            );
        }
        let beats = related(&answer.body, "probability_variant_beats_control");
        assert!(beats["breakdown"]["steps"][2]["label"]
            .as_str()
            .unwrap()
            .starts_with("exact finite sum"));
    }
}

#[tokio::test]
async fn for_churn_beating_control_means_churning_less() {
    // The same counts as retention and as churn: the variant retains more, so it churns less,
    // and it beats the control under both readings.
    let body = |metric: &str| json!({"metric": metric, "control": {"retained": 900, "started": 1000}, "variant": {"retained": 930, "started": 1000}});
    let retention = common::post_json("/ab-test", &body("retention")).await;
    let churn = common::post_json("/ab-test", &body("churn")).await;
    let beats = |a: &common::Answer| {
        related(&a.body, "probability_variant_beats_control")["value"]
            .as_f64()
            .unwrap()
    };
    assert!(beats(&retention) > 99.0);
    assert_eq!(beats(&retention), beats(&churn));
}

#[tokio::test]
async fn each_group_rate_carries_its_wilson_interval() {
    let answer = common::post_json(
        "/ab-test",
        &json!({"metric": "churn", "control": {"retained": 23, "started": 25}, "variant": {"retained": 20, "started": 25}}),
    )
    .await;
    // Control churn is 2 of 25: the interval /churn gives for 2 lost of 25.
    let churn = common::post_json(
        "/churn",
        &json!({"start_customers": 25, "lost_customers": 2}),
    )
    .await;
    assert_eq!(
        related(&answer.body, "control_churn_rate")["interval"],
        churn.body["interval"]
    );
}

#[tokio::test]
async fn very_large_groups_use_the_normal_approximation_and_say_so() {
    let answer = common::post_json(
        "/ab-test",
        &json!({"control": {"retained": 500_000, "started": 1_000_000}, "variant": {"retained": 502_000, "started": 1_000_000}}),
    )
    .await;
    let beats = related(&answer.body, "probability_variant_beats_control");
    assert!(beats["breakdown"]["steps"][2]["label"]
        .as_str()
        .unwrap()
        .starts_with("normal approximation"));
    // z = 0.002 / sqrt(2 × 0.25 / 1e6) = 2.828: Φ(z) = 0.99766.
    assert!((beats["value"].as_f64().unwrap() - 99.766).abs() < 1e-2);
}
