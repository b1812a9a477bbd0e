//! Per-customer predictions agree with an independent implementation, Python's lifetimes
//! 0.11.3, to 1e-6 relative on the CDNOW sample. The reference values and the script that
//! produced them are in tests/fixtures (lifetimes_reference.py →
//! lifetimes_cdnow_reference.json). Predictions are compared at lifetimes' own fitted
//! parameters, so that the formulas are checked apart from the optimisers; the fits are
//! compared separately.

use serde_json::Value;

use retention_kpi::models::bgnbd::BgNbd;
use retention_kpi::models::gamma_gamma::GammaGamma;
use retention_kpi::models::pareto_nbd::ParetoNbd;
use retention_kpi::models::rfm::{CustomerSummary, GroupedRfm};
use retention_kpi::models::value::{customer_value, ValuationTerms};
use retention_kpi::models::{bgnbd, gamma_gamma, pareto_nbd};

const RELATIVE: f64 = 1e-6;

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lifetimes_cdnow_reference.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn param(reference: &Value, model: &str, name: &str) -> f64 {
    reference[model]["parameters"][name].as_f64().unwrap()
}

fn agree(what: &str, i: usize, got: f64, expected: f64) {
    let scale = expected.abs().max(1e-12);
    assert!(
        (got - expected).abs() <= RELATIVE * scale,
        "customer {i} {what}: {got} vs lifetimes {expected}"
    );
}

#[test]
fn bgnbd_pareto_nbd_and_gamma_gamma_predictions_agree_with_lifetimes() {
    let reference = reference();
    let bg = BgNbd {
        r: param(&reference, "bgnbd", "r"),
        alpha: param(&reference, "bgnbd", "alpha"),
        a: param(&reference, "bgnbd", "a"),
        b: param(&reference, "bgnbd", "b"),
    };
    let pn = ParetoNbd {
        r: param(&reference, "pareto_nbd", "r"),
        alpha: param(&reference, "pareto_nbd", "alpha"),
        s: param(&reference, "pareto_nbd", "s"),
        beta: param(&reference, "pareto_nbd", "beta"),
    };
    let gg = GammaGamma {
        p: param(&reference, "gamma_gamma", "p"),
        q: param(&reference, "gamma_gamma", "q"),
        gamma: param(&reference, "gamma_gamma", "v"),
    };
    let horizon = reference["horizon_weeks"].as_f64().unwrap();
    let clv = &reference["clv"];
    let weeks_per_month = clv["weeks_per_month"].as_f64().unwrap();
    let terms = ValuationTerms {
        horizon: clv["months"].as_f64().unwrap() * weeks_per_month,
        period_length: weeks_per_month,
        discount: clv["monthly_discount_rate"].as_f64().unwrap(),
        margin: 1.0,
    };
    let customers = reference["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 2357);
    for (i, c) in customers.iter().enumerate() {
        let get = |k: &str| c[k].as_f64().unwrap();
        let (x, tx, t, m) = (
            get("frequency"),
            get("recency"),
            get("T"),
            get("monetary_value"),
        );
        agree(
            "BG/NBD P(alive)",
            i,
            bg.p_alive(x, tx, t),
            get("bgnbd_p_alive"),
        );
        agree(
            "BG/NBD expected purchases",
            i,
            bg.expected_purchases(horizon, x, tx, t).unwrap(),
            get("bgnbd_expected_purchases"),
        );
        agree(
            "Pareto/NBD P(alive)",
            i,
            pn.p_alive(x, tx, t).unwrap(),
            get("pareto_nbd_p_alive"),
        );
        agree(
            "Pareto/NBD expected purchases",
            i,
            pn.expected_purchases(horizon, x, tx, t).unwrap(),
            get("pareto_nbd_expected_purchases"),
        );
        // lifetimes shrinks a customer's mean spend towards the population mean by weight
        // p x / (p x + q - 1): the same formula for x = 0 gives the population mean.
        let spend = gg.expected_spend(x, if x > 0.0 { m } else { 0.0 }).unwrap();
        agree("expected spend", i, spend, get("expected_spend"));
        let value = customer_value(&bg, &terms, (x, tx, t), spend).unwrap();
        agree("CLV", i, value.clv, get("bgnbd_clv"));
    }
}

#[test]
fn our_fits_land_on_lifetimes_maxima() {
    let reference = reference();
    let rows: Vec<CustomerSummary> = reference["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let get = |k: &str| c[k].as_f64().unwrap();
            CustomerSummary::new(
                "",
                None,
                get("frequency"),
                Some(get("recency")),
                Some(get("T")),
                Some(get("monetary_value")),
                1.0,
            )
            .unwrap()
        })
        .collect();
    let grouped = GroupedRfm::new(&rows);
    let (bg, _) = bgnbd::fit(&grouped, 0.0);
    for (name, got) in [("r", bg.r), ("alpha", bg.alpha), ("a", bg.a), ("b", bg.b)] {
        let expected = param(&reference, "bgnbd", name);
        assert!(
            (got / expected - 1.0).abs() < 1e-5,
            "BG/NBD {name}: {got} vs lifetimes {expected}"
        );
    }
    // Pareto/NBD's likelihood is flat in β: lifetimes stops within 1e-3 relative of ours.
    let (pn, _) = pareto_nbd::fit(&grouped, 0.0);
    for (name, got) in [
        ("r", pn.r),
        ("alpha", pn.alpha),
        ("s", pn.s),
        ("beta", pn.beta),
    ] {
        let expected = param(&reference, "pareto_nbd", name);
        assert!(
            (got / expected - 1.0).abs() < 1e-3,
            "Pareto/NBD {name}: {got} vs lifetimes {expected}"
        );
    }
    let spend_rows: Vec<(f64, f64, f64)> = rows
        .iter()
        .filter(|c| c.frequency > 0.0)
        .map(|c| (c.frequency, c.monetary_value.unwrap(), 1.0))
        .collect();
    let (gg, _) = gamma_gamma::fit(&spend_rows, 0.0);
    for (name, got, key) in [("p", gg.p, "p"), ("q", gg.q, "q"), ("gamma", gg.gamma, "v")] {
        let expected = param(&reference, "gamma_gamma", key);
        assert!(
            (got / expected - 1.0).abs() < 1e-3,
            "Gamma-Gamma {name}: {got} vs lifetimes {expected}"
        );
    }
}
