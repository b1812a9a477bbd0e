//! The models against their published values (tests/fixtures/published_values.json, copied
//! from the project's reference folder): BG/NBD, Pareto/NBD and Gamma-Gamma fitted on the
//! CDNOW sample, sBG on the two cohorts of Fader & Hardie (2007). Tolerances as published:
//! BG/NBD and sBG parameters ±0.001, Pareto/NBD and Gamma-Gamma parameters ±0.01 (flat
//! likelihoods), log-likelihoods ±0.1.

use serde_json::Value;

use retention_kpi::models::rfm::{
    parse_date, summarise, CustomerSummary, GroupedRfm, TimeUnit, Transaction,
};
use retention_kpi::models::{bgnbd, gamma_gamma, pareto_nbd, sbg};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn published() -> Value {
    serde_json::from_str(&fixture("published_values.json")).unwrap()
}

fn cdnow() -> Vec<CustomerSummary> {
    fixture("cdnow_sample_summary.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
            CustomerSummary::new(
                "",
                Some(f[0].to_string()),
                f[1],
                Some(f[2]),
                Some(f[3]),
                Some(f[4]),
                1.0,
            )
            .unwrap()
        })
        .collect()
}

fn close(name: &str, got: f64, expected: &Value, tolerance: f64) {
    let expected = expected.as_f64().unwrap();
    assert!(
        (got - expected).abs() <= tolerance,
        "{name}: {got} vs published {expected} ± {tolerance}"
    );
}

#[test]
fn bgnbd_on_cdnow_matches_fader_hardie_lee_2005() {
    let reference = &published()["bgnbd_cdnow"];
    let data = GroupedRfm::new(&cdnow());
    assert_eq!(data.customers, 2357.0);
    let (model, outcome) = bgnbd::fit(&data, 0.0);
    assert!(outcome.converged, "{outcome:?}");
    let p = &reference["parameters"];
    close("r", model.r, &p["r"], 0.001);
    close("alpha", model.alpha, &p["alpha"], 0.001);
    close("a", model.a, &p["a"], 0.001);
    close("b", model.b, &p["b"], 0.001);
    close(
        "log-likelihood",
        outcome.log_likelihood,
        &reference["log_likelihood"],
        0.1,
    );
    assert!(outcome
        .std_errors
        .iter()
        .all(|se| se.is_some_and(|v| v > 0.0)));
}

#[test]
fn bgnbd_predictions_match_hardies_spreadsheet() {
    let spot = &published()["bgnbd_cdnow"]["spot_values"];
    // The spreadsheet evaluates at the full-precision maximum, not the 3-decimal rounding.
    let (model, _) = bgnbd::fit(&GroupedRfm::new(&cdnow()), 0.0);
    for (t, expected) in spot["expected_purchases_by_t_weeks"].as_object().unwrap() {
        let t: f64 = t.parse().unwrap();
        let got = model.expected_purchases_population(t).unwrap();
        // Printed to 4 decimals; the week-78 value differs from an exact evaluation (1.8580)
        // in the 4th decimal, as the reference notes.
        let tolerance = if t == 78.0 { 6e-4 } else { 5e-5 };
        close(&format!("E[X({t})]"), got, expected, tolerance);
    }
    let got = model.expected_purchases(39.0, 2.0, 30.43, 38.86).unwrap();
    close(
        "customer (2, 30.43, 38.86), next 39 weeks",
        got,
        &spot["customer_x2_tx30.43_T38.86_expected_purchases_next_39_weeks"],
        5e-4,
    );
}

#[test]
fn pareto_nbd_on_cdnow_matches_the_published_fit() {
    let reference = &published()["pareto_nbd_cdnow"];
    let (model, outcome) = pareto_nbd::fit(&GroupedRfm::new(&cdnow()), 0.0);
    assert!(outcome.converged, "{outcome:?}");
    let p = &reference["parameters"];
    close("r", model.r, &p["r"], 0.01);
    close("alpha", model.alpha, &p["alpha"], 0.01);
    close("s", model.s, &p["s"], 0.01);
    close("beta", model.beta, &p["beta"], 0.01);
    close(
        "log-likelihood",
        outcome.log_likelihood,
        &reference["log_likelihood"],
        0.1,
    );
}

#[test]
fn gamma_gamma_on_cdnow_matches_fader_hardie_lee_2005() {
    let reference = &published()["gamma_gamma_cdnow"];
    let rows: Vec<(f64, f64, f64)> = cdnow()
        .iter()
        .filter(|c| c.frequency > 0.0)
        .map(|c| (c.frequency, c.monetary_value.unwrap(), 1.0))
        .collect();
    assert_eq!(rows.len(), 946);
    let (model, outcome) = gamma_gamma::fit(&rows, 0.0);
    assert!(outcome.converged, "{outcome:?}");
    let p = &reference["parameters"];
    close("p", model.p, &p["p"], 0.01);
    close("q", model.q, &p["q"], 0.01);
    // The maximum is at 15.448; the paper prints 15.44.
    close("gamma", model.gamma, &p["gamma"], 0.01);
}

#[test]
fn sbg_on_both_cohorts_matches_fader_hardie_2007() {
    for cohort in ["sbg_regular", "sbg_high_end"] {
        let reference = &published()[cohort];
        let survivors: Vec<f64> = reference["survivors_year_0_to_7"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let (model, outcome) = sbg::fit(&survivors);
        assert!(outcome.converged, "{cohort}: {outcome:?}");
        close(
            &format!("{cohort} alpha"),
            model.alpha,
            &reference["parameters"]["alpha"],
            0.001,
        );
        close(
            &format!("{cohort} beta"),
            model.beta,
            &reference["parameters"]["beta"],
            0.001,
        );
    }
}

#[test]
fn the_summary_built_from_cdnow_transactions_reproduces_the_summary_file() {
    let transactions: Vec<Transaction> = fixture("cdnow_sample_transactions.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Transaction {
                customer_id: f[0].to_owned(),
                date: parse_date("", f[1]).unwrap(),
                amount: f[3].parse().unwrap(),
            }
        })
        .collect();
    let built = summarise(
        &transactions,
        parse_date("", "1997-09-30").unwrap(),
        TimeUnit::Week,
    );
    let expected = cdnow();
    assert_eq!(built.len(), expected.len());
    let by_id: std::collections::HashMap<_, _> =
        built.iter().map(|c| (c.id.clone().unwrap(), c)).collect();
    for row in &expected {
        let got = by_id[row.id.as_ref().unwrap()];
        assert_eq!(got.frequency, row.frequency, "customer {:?}", row.id);
        // The summary file is rounded to 2 decimals.
        for (name, g, e) in [
            ("recency", got.recency, row.recency),
            ("T", got.t, row.t),
            (
                "monetary",
                got.monetary_value.unwrap(),
                row.monetary_value.unwrap(),
            ),
        ] {
            assert!(
                (g - e).abs() <= 0.005 + 1e-9,
                "customer {:?} {name}: {g} vs {e}",
                row.id
            );
        }
    }
}

#[test]
fn bgnbd_forecasts_the_cdnow_hold_out_as_the_paper_reports() {
    // published_values.json: 4,339 cumulative repeat purchases by week 78 (2,457 in weeks
    // 1-39, 1,882 after); the paper reports BG/NBD under-forecasting week 78 by about 4 %.
    let holdout = &published()["bgnbd_cdnow"]["holdout"];
    let rows = cdnow();
    let (model, _) = bgnbd::fit(&GroupedRfm::new(&rows), 0.0);
    // Each customer's first purchase is T weeks before the calibration end (week 39); week 78
    // is T + 39 weeks after it.
    let cumulative: f64 = rows
        .iter()
        .map(|c| model.expected_purchases_population(c.t + 39.0).unwrap())
        .sum();
    let actual = holdout["cumulative_repeat_purchases_by_week_78"]
        .as_f64()
        .unwrap();
    let shortfall = (actual - cumulative) / actual * 100.0;
    // "About 4 %": accepted from 2 to 6 %.
    assert!(
        (2.0..=6.0).contains(&shortfall),
        "forecast {cumulative:.0} vs actual {actual}: {shortfall:.1} % short"
    );
    eprintln!("week-78 forecast {cumulative:.1} vs actual {actual}: {shortfall:.2} % short");
}
