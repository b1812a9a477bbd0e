//! `/what-if` against an independent computation written out here (docs/formulas.md § 15):
//! the CLVs in closed form, the projection period by period from the cohorts' own ages, the
//! effects as percent changes, and the claim's base retentions checked by putting them back
//! into the CLV ratio; the refusals; and `/kpis`.

mod common;

use serde_json::{json, Value};

use common::post_json;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// The projection of a base written out cohort by cohort: the starting customers and each
/// period's acquisitions are cohorts; a cohort acquired in period s has N r^(t−s) customers
/// in period t, each earning M (1 + g)^(t−s).
/// The base of a projection: retention, margin per customer, loyalty growth, starting
/// customers, acquisitions per period, their cost, ARPU.
struct Base {
    r: f64,
    m: f64,
    g: f64,
    n0: f64,
    a: f64,
    cac: f64,
    arpu: f64,
}

fn projection(b: &Base, horizon: u32) -> Vec<(f64, f64, f64)> {
    (1..=horizon)
        .map(|t| {
            let mut customers = 0.0;
            let mut margin = 0.0;
            for s in 1..=t {
                let size = if s == 1 { b.n0 + b.a } else { b.a } * b.r.powi((t - s) as i32);
                customers += size;
                margin += size * b.m * (1.0 + b.g).powi((t - s) as i32);
            }
            (customers, customers * b.arpu, margin - b.a * b.cac)
        })
        .collect()
}

#[tokio::test]
async fn both_scenarios_and_every_effect_equal_the_formulas() {
    let body = json!({"base": {"churn_rate_pct": 3, "arpu": 49, "gross_margin_pct": 80, "cost_per_customer": 4, "discount_rate_pct": 1, "customers": 5000, "new_customers_per_period": 200, "acquisition_cost": 150, "loyalty_growth_pct": 0.5}, "change": {"churn_pp": -1, "arpu_pct": 3}, "horizon": 24});
    let answer = post_json("/what-if", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let (d, g) = (0.01, 0.005);
    let mut clvs = Vec::new();
    for (key, r, arpu) in [("base", 0.97, 49.0), ("changed", 0.98, 49.0 * 1.03)] {
        let s = &answer.body[key];
        let m = arpu * 0.8 - 4.0;
        assert!((f(&s["margin_per_customer"]) - m).abs() < 1e-12, "{key}");
        let churn_based = m / (1.0 - r);
        let discounted = m / (1.0 + d - r * (1.0 + g));
        assert!(
            (f(&s["clv_churn_based"]) / churn_based - 1.0).abs() < 1e-12,
            "{key}"
        );
        assert!(
            (f(&s["clv_discounted"]) / discounted - 1.0).abs() < 1e-12,
            "{key}"
        );
        let base = Base {
            r,
            m,
            g,
            n0: 5000.0,
            a: 200.0,
            cac: 150.0,
            arpu,
        };
        let rows = projection(&base, 24);
        let mut npv = 0.0;
        for (t, (row, (customers, revenue, profit))) in s["by_period"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&rows)
            .enumerate()
        {
            assert!(
                (f(&row["customers"]) / customers - 1.0).abs() < 1e-12,
                "{key} period {}",
                t + 1
            );
            assert!((f(&row["revenue"]) / revenue - 1.0).abs() < 1e-12);
            assert!((f(&row["profit"]) / profit - 1.0).abs() < 1e-11);
            npv += profit / (1.0 + d).powi(t as i32 + 1);
        }
        assert!((f(&s["profit_discounted"]) / npv - 1.0).abs() < 1e-11);
        clvs.push((
            churn_based,
            discounted,
            rows.iter().map(|r| r.2).sum::<f64>(),
        ));
    }
    let effects = answer.body["effects"].as_array().unwrap();
    let pct = |new: f64, old: f64| (new - old) / old.abs() * 100.0;
    assert_eq!(effects[0]["metric"], "clv_churn_based_change");
    assert!((f(&effects[0]["value"]) - pct(clvs[1].0, clvs[0].0)).abs() < 1e-9);
    assert!((f(&effects[1]["value"]) - pct(clvs[1].1, clvs[0].1)).abs() < 1e-9);
    assert_eq!(effects[4]["metric"], "profit_total_change");
    assert!((f(&effects[4]["value"]) - pct(clvs[1].2, clvs[0].2)).abs() < 1e-9);
    for e in effects {
        assert!(!e["breakdown"]["steps"].as_array().unwrap().is_empty());
    }
    // Retention rose by 1 point: the base retentions that give +25 % and +95 %, put back into
    // the CLV ratio, give those gains.
    let claim = &answer.body["retention_claim"];
    for (field, p) in [
        ("base_retention_for_25_pct", 0.25),
        ("base_retention_for_95_pct", 0.95),
    ] {
        let r = f(&claim[field]) / 100.0;
        let gain = (1.0 + d - r * (1.0 + g)) / (1.0 + d - (r + 0.01) * (1.0 + g)) - 1.0;
        assert!((gain - p).abs() < 1e-9, "{field}: {gain}");
    }
}

#[tokio::test]
async fn the_worked_example_by_hand() {
    // § 15: M = 100 × 0.5 = 50; CLV 50 / (1.1 − 0.8) = 166.67 → 50 / (1.1 − 0.85) = 200, +20 %;
    // customers 1000, 800, 640 against 1000, 850, 722.5; +25 % from a base of 85 %.
    let answer = post_json(
        "/what-if",
        &json!({"base": {"retention_rate_pct": 80, "arpu": 100, "gross_margin_pct": 50, "discount_rate_pct": 10, "customers": 1000}, "change": {"retention_pp": 5}, "horizon": 3}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!((f(&answer.body["effects"][1]["value"]) - 20.0).abs() < 1e-9);
    assert_eq!(answer.body["base"]["by_period"][2]["customers"], 640.0);
    assert!((f(&answer.body["changed"]["by_period"][2]["customers"]) - 722.5).abs() < 1e-9);
    assert!((f(&answer.body["retention_claim"]["base_retention_for_25_pct"]) - 85.0).abs() < 1e-9);
    // 95 % needs a base above 100 - 5 with no loyalty growth: absent, and said.
    assert!(answer.body["retention_claim"]
        .get("base_retention_for_95_pct")
        .is_none());
    assert!(answer.body["retention_claim"]["explanation"]
        .as_str()
        .unwrap()
        .contains("+95 % at no base retention"));
}

#[tokio::test]
async fn impossible_bases_and_changes_are_refused_naming_the_field() {
    for (body, pointer) in [
        (
            json!({"base": {"retention_rate_pct": 97, "arpu": 10}, "change": {"retention_pp": 5}}),
            "/change/retention_pp",
        ),
        (
            json!({"base": {"retention_rate_pct": 100, "arpu": 10}, "change": {"arpu_pct": 5}}),
            "/base/retention_rate_pct",
        ),
        (
            json!({"base": {"churn_rate_pct": 0, "arpu": 10}, "change": {"arpu_pct": 5}}),
            "/base/churn_rate_pct",
        ),
        (
            json!({"base": {"retention_rate_pct": 80, "churn_rate_pct": 20, "arpu": 10}, "change": {"arpu_pct": 5}}),
            "/base/churn_rate_pct",
        ),
        (
            json!({"base": {"arpu": 10}, "change": {"arpu_pct": 5}}),
            "/base/retention_rate_pct",
        ),
        (
            json!({"base": {"retention_rate_pct": 80, "arpu": -1}, "change": {"arpu_pct": 5}}),
            "/base/arpu",
        ),
        (
            json!({"base": {"retention_rate_pct": 80, "arpu": 10}, "change": {}}),
            "/change",
        ),
        (
            json!({"base": {"retention_rate_pct": 80, "arpu": 10}, "change": {"retention_pp": 1, "churn_pp": -1}}),
            "/change/churn_pp",
        ),
        (
            json!({"base": {"retention_rate_pct": 80, "arpu": 10}, "change": {"arpu_pct": -150}}),
            "/change/arpu_pct",
        ),
        (
            json!({"base": {"retention_rate_pct": 80, "arpu": 10}, "change": {"arpu_pct": 1}, "horizon": 0}),
            "/horizon",
        ),
        (
            json!({"base": {"retention_rate_pct": 99, "arpu": 10, "loyalty_growth_pct": 5}, "change": {"arpu_pct": 1}}),
            "/base/retention_rate_pct",
        ),
    ] {
        let answer = post_json("/what-if", &body).await;
        answer.assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn what_if_answers_inside_a_batch() {
    let answer = post_json(
        "/kpis",
        &json!({"items": [{"id": "w", "metric": "what_if", "base": {"retention_rate_pct": 80, "arpu": 100, "gross_margin_pct": 50, "discount_rate_pct": 10}, "change": {"retention_pp": 5}}]}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!((f(&answer.body["results"][0]["result"]["effects"][1]["value"]) - 20.0).abs() < 1e-9);
}
