//! BG/BB and MBG/NBD, scoring with given parameters, and the purchase-count probabilities,
//! against Python's lifetimes 0.11.3 (tests/fixtures/models2_reference.py →
//! models2_reference.json) and the published BG/BB fit of the donations data (Fader, Hardie &
//! Shang 2010, Table 2: α 1.204, β 0.750, γ 0.657, δ 2.783). Predictions are compared at
//! lifetimes' own parameters, so that the formulas are checked apart from the optimisers; the
//! fits are compared separately.

mod common;

use serde_json::{json, Value};

use retention_kpi::models::bgbb::BgBb;
use retention_kpi::models::bgnbd::BgNbd;
use retention_kpi::models::mbgnbd::MbgNbd;
use retention_kpi::models::pareto_nbd::ParetoNbd;

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/models2_reference.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn p(reference: &Value, model: &str, name: &str) -> f64 {
    reference[model]["parameters"][name].as_f64().unwrap()
}

fn close(what: &str, got: f64, expected: f64, relative: f64) {
    assert!(
        (got - expected).abs() <= relative * expected.abs().max(1e-12),
        "{what}: {got} vs {expected}"
    );
}

fn donations() -> Vec<Value> {
    reference()["bgbb"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!({"frequency": r["frequency"], "recency": r["recency"],
                   "n_periods": r["n_periods"], "count": r["count"]})
        })
        .collect()
}

#[tokio::test]
async fn bgbb_on_the_donations_equals_the_paper_and_lifetimes() {
    let reference = reference();
    let answer = common::post_json("/models/bgbb", &json!({"customers": donations()})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["customers"], 11104.0);
    // The paper prints three decimals: within half of the last digit.
    for (name, published) in [
        ("alpha", 1.204),
        ("beta", 0.750),
        ("gamma", 0.657),
        ("delta", 2.783),
    ] {
        let estimate = answer.body["parameters"][name]["estimate"]
            .as_f64()
            .unwrap();
        assert!(
            (estimate - published).abs() <= 0.0005,
            "{name} {estimate} vs the paper's {published}"
        );
        close(name, estimate, p(&reference, "bgbb", name), 1e-4);
        let se = answer.body["parameters"][name]["std_error"]
            .as_f64()
            .unwrap();
        close(
            &format!("{name} standard error"),
            se,
            reference["bgbb"]["std_errors"][name].as_f64().unwrap(),
            1e-3,
        );
    }
    // The maximum is at least as high as lifetimes' (its optimiser stops at 1e-7).
    let lifetimes_ll = -reference["bgbb"]["negative_log_likelihood_per_customer"]
        .as_f64()
        .unwrap()
        * 11104.0;
    let ll = answer.body["log_likelihood"].as_f64().unwrap();
    assert!(
        ll >= lifetimes_ll - 1e-6 && ll - lifetimes_ll < 1e-2,
        "{ll} vs {lifetimes_ll}"
    );
}

#[test]
fn bgbb_predictions_and_counts_equal_lifetimes_at_its_parameters() {
    let reference = reference();
    let model = BgBb {
        alpha: p(&reference, "bgbb", "alpha"),
        beta: p(&reference, "bgbb", "beta"),
        gamma: p(&reference, "bgbb", "gamma"),
        delta: p(&reference, "bgbb", "delta"),
    };
    let horizon = reference["bgbb"]["horizon"].as_f64().unwrap();
    for (i, row) in reference["bgbb"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let get = |k: &str| row[k].as_f64().unwrap();
        let (x, tx, n) = (get("frequency"), get("recency"), get("n_periods"));
        close(
            &format!("row {i} P(alive)"),
            model.p_alive(x, tx, n),
            get("p_alive"),
            1e-6,
        );
        close(
            &format!("row {i} expected purchases"),
            model.expected_purchases(horizon, x, tx, n).unwrap(),
            get("expected_purchases"),
            1e-6,
        );
    }
    let pmf = model.population_pmf(6.0, 6).unwrap();
    for (x, expected) in reference["bgbb"]["population_pmf_6"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let expected = expected.as_f64().unwrap();
        assert!(
            (pmf[x] - expected).abs() < 1e-8,
            "P(X(6) = {x}): {} vs {expected}",
            pmf[x]
        );
    }
}

#[tokio::test]
async fn mbgnbd_on_cdnow_equals_lifetimes() {
    let reference = reference();
    let answer = common::post_json(
        "/models/mbgnbd",
        &json!({"customers": common::cdnow_customers(), "predict": {"horizon": 39, "uncertainty": {"method": "none"}}}),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.text[..answer.text.len().min(400)]
    );
    for name in ["r", "alpha", "a", "b"] {
        let estimate = answer.body["parameters"][name]["estimate"]
            .as_f64()
            .unwrap();
        close(name, estimate, p(&reference, "mbgnbd", name), 1e-4);
    }
    let lifetimes_ll = -reference["mbgnbd"]["negative_log_likelihood_per_customer"]
        .as_f64()
        .unwrap()
        * 2357.0;
    let ll = answer.body["log_likelihood"].as_f64().unwrap();
    assert!(
        ll >= lifetimes_ll - 1e-6 && ll - lifetimes_ll < 1e-3,
        "{ll} vs {lifetimes_ll}"
    );

    // Per customer, at lifetimes' parameters.
    let model = MbgNbd {
        r: p(&reference, "mbgnbd", "r"),
        alpha: p(&reference, "mbgnbd", "alpha"),
        a: p(&reference, "mbgnbd", "a"),
        b: p(&reference, "mbgnbd", "b"),
    };
    let customers = common::cdnow_customers();
    let alive = reference["mbgnbd"]["p_alive"].as_array().unwrap();
    let expected = reference["mbgnbd"]["expected_purchases"]
        .as_array()
        .unwrap();
    assert_eq!(alive.len(), 2357);
    for (i, c) in customers.iter().enumerate() {
        let get = |k: &str| c[k].as_f64().unwrap();
        let (x, tx, t) = (get("frequency"), get("recency"), get("T"));
        close(
            &format!("customer {i} P(alive)"),
            model.p_alive(x, tx, t),
            alive[i].as_f64().unwrap(),
            1e-6,
        );
        close(
            &format!("customer {i} expected purchases"),
            model.expected_purchases(39.0, x, tx, t).unwrap(),
            expected[i].as_f64().unwrap(),
            1e-6,
        );
    }
    for (t, value) in reference["mbgnbd"]["population_expected"]
        .as_object()
        .unwrap()
    {
        let t: f64 = t.parse().unwrap();
        close(
            &format!("E[X({t})]"),
            model.expected_purchases_population(t).unwrap(),
            value.as_f64().unwrap(),
            1e-6,
        );
    }
}

#[test]
fn purchase_count_probabilities_equal_lifetimes() {
    let reference = reference();
    let bg = BgNbd {
        r: p(&reference, "bgnbd", "r"),
        alpha: p(&reference, "bgnbd", "alpha"),
        a: p(&reference, "bgnbd", "a"),
        b: p(&reference, "bgnbd", "b"),
    };
    let mbg = MbgNbd {
        r: p(&reference, "mbgnbd", "r"),
        alpha: p(&reference, "mbgnbd", "alpha"),
        a: p(&reference, "mbgnbd", "a"),
        b: p(&reference, "mbgnbd", "b"),
    };
    let ours = |model: &str, t: f64| match model {
        "bgnbd" => bg.population_pmf(t, 10).unwrap(),
        _ => mbg.population_pmf(t, 10).unwrap(),
    };
    for model in ["bgnbd", "mbgnbd"] {
        for (t, values) in reference[model]["population_pmf"].as_object().unwrap() {
            let got = ours(model, t.parse().unwrap());
            for (n, expected) in values.as_array().unwrap().iter().enumerate() {
                let expected = expected.as_f64().unwrap();
                assert!(
                    (got[n] - expected).abs() < 1e-8,
                    "{model} P(X({t}) = {n}): {} vs {expected}",
                    got[n]
                );
            }
        }
    }
    // Pareto/NBD, per customer (Hardie's note 028, eq. 16).
    let pareto = ParetoNbd {
        r: p(&reference, "pareto_nbd", "r"),
        alpha: p(&reference, "pareto_nbd", "alpha"),
        s: p(&reference, "pareto_nbd", "s"),
        beta: p(&reference, "pareto_nbd", "beta"),
    };
    let rows = reference["pareto_nbd"]["conditional_pmf"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 95);
    for row in rows {
        let get = |k: &str| row[k].as_f64().unwrap();
        let got = pareto
            .conditional_pmf(39.0, 3, get("frequency"), get("recency"), get("T"))
            .unwrap();
        for (n, expected) in row["probabilities"].as_array().unwrap().iter().enumerate() {
            let expected = expected.as_f64().unwrap();
            assert!(
                (got[n] - expected).abs() < 1e-8,
                "Pareto/NBD ({}, {}, {}) P(X = {n}): {} vs {expected}",
                get("frequency"),
                get("recency"),
                get("T"),
                got[n]
            );
        }
    }
}

/// Each purchase model's path and a body it fits.
fn models() -> Vec<(&'static str, Value)> {
    let customers = common::cdnow_customers();
    vec![
        ("/models/bgnbd", json!({"customers": customers})),
        ("/models/mbgnbd", json!({"customers": customers})),
        ("/models/pareto-nbd", json!({"customers": customers})),
        ("/models/bgbb", json!({"customers": donations()})),
    ]
}

#[tokio::test]
async fn scoring_with_a_fits_parameters_gives_the_fits_predictions_byte_for_byte() {
    for (path, mut body) in models() {
        let horizon = if path == "/models/bgbb" { 5 } else { 39 };
        body["predict"] =
            json!({"horizon": horizon, "purchase_counts": 3, "uncertainty": {"method": "none"}});
        let fitted = common::post_json(path, &body).await;
        assert_eq!(
            fitted.status,
            200,
            "{path}: {}",
            &fitted.text[..fitted.text.len().min(300)]
        );
        // The answer's own parameters object, pasted back as it came.
        body["parameters"] = fitted.body["parameters"].clone();
        let scored = common::post_json(path, &body).await;
        assert_eq!(
            scored.status,
            200,
            "{path}: {}",
            &scored.text[..scored.text.len().min(300)]
        );
        assert!(
            scored.body.get("converged").is_none(),
            "{path}: no fit when scoring"
        );
        assert_eq!(
            serde_json::to_string(&scored.body["predictions"]).unwrap(),
            serde_json::to_string(&fitted.body["predictions"]).unwrap(),
            "{path}"
        );
        // Plain numbers do the same.
        let plain: serde_json::Map<String, Value> = fitted.body["parameters"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["estimate"].clone()))
            .collect();
        body["parameters"] = Value::Object(plain.clone());
        let again = common::post_json(path, &body).await;
        assert_eq!(
            again.body["predictions"], fitted.body["predictions"],
            "{path}"
        );
        assert_eq!(again.body["scored_with"], Value::Object(plain), "{path}");
    }
}

#[tokio::test]
async fn impossible_parameters_and_rows_are_refused_by_name() {
    let one = json!([{"frequency": 2, "recency": 30, "T": 38}]);
    let predict = json!({"horizon": 39});
    for (path, body, pointer) in [
        (
            "/models/bgnbd",
            json!({"customers": one, "predict": predict, "parameters": {"r": -0.2, "alpha": 4, "a": 0.8, "b": 2.4}}),
            "/parameters/r",
        ),
        (
            "/models/mbgnbd",
            json!({"customers": one, "predict": predict, "parameters": {"r": 0.5, "alpha": 0, "a": 0.8, "b": 2.4}}),
            "/parameters/alpha",
        ),
        (
            "/models/pareto-nbd",
            json!({"customers": one, "predict": predict, "parameters": {"r": 0.5, "alpha": 4, "s": 0.8}}),
            "/parameters/beta",
        ),
        (
            "/models/pareto-nbd",
            json!({"customers": one, "predict": predict, "parameters": {"r": 0.5, "alpha": 4, "s": 0.8, "beta": 3, "a": 1}}),
            "/parameters/a",
        ),
        (
            "/models/bgnbd",
            json!({"customers": one, "parameters": {"r": 0.5, "alpha": 4, "a": 0.8, "b": 2.4}}),
            "/predict",
        ),
        (
            "/models/bgnbd",
            json!({"customers": one, "predict": predict, "penalty": 0.1, "parameters": {"r": 0.5, "alpha": 4, "a": 0.8, "b": 2.4}}),
            "/penalty",
        ),
        (
            "/models/bgnbd",
            json!({"customers": one, "predict": {"horizon": 39, "uncertainty": {"method": "bootstrap"}}, "parameters": {"r": 0.5, "alpha": 4, "a": 0.8, "b": 2.4}}),
            "/predict/uncertainty/method",
        ),
        (
            "/models/bgnbd",
            json!({"customers": one, "predict": {"horizon": 39, "purchase_counts": 101}}),
            "/predict/purchase_counts",
        ),
        (
            "/models/bgnbd",
            json!({"customers": common::cdnow_customers(), "predict": {"horizon": 39, "purchase_counts": 40}}),
            "/predict/purchase_counts",
        ),
        (
            "/models/bgbb",
            json!({"customers": [{"frequency": 4, "recency": 3, "n_periods": 6}]}),
            "/customers/0/frequency",
        ),
        (
            "/models/bgbb",
            json!({"customers": [{"frequency": 1, "recency": 7, "n_periods": 6}]}),
            "/customers/0/recency",
        ),
        (
            "/models/bgbb",
            json!({"customers": [{"frequency": 1, "recency": 1.5, "n_periods": 6}]}),
            "/customers/0/recency",
        ),
        (
            "/models/bgbb",
            json!({"customers": [{"frequency": 0, "recency": 0, "n_periods": 1001}]}),
            "/customers/0/n_periods",
        ),
        (
            "/models/bgbb",
            json!({"customers": donations(), "predict": {"horizon": 2.5}}),
            "/predict/horizon",
        ),
        (
            "/models/clv",
            json!({"customers": [{"frequency": 2, "recency": 30, "T": 38, "monetary_value": 20}], "purchase_model": "bgbb", "horizon": 52}),
            "/purchase_model",
        ),
    ] {
        let answer = common::post_json(path, &body).await;
        answer.assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn the_chance_of_no_purchase_agrees_with_the_counts_and_the_expectation() {
    for (path, body) in models() {
        let horizon = if path == "/models/bgbb" { 5 } else { 39 };
        // The fit: every customer's chance of no purchase inside its delta-method interval.
        let mut fit_body = body.clone();
        fit_body["predict"] = json!({"horizon": horizon});
        let fitted = common::post_json(path, &fit_body).await;
        assert_eq!(
            fitted.status,
            200,
            "{path}: {}",
            &fitted.text[..fitted.text.len().min(300)]
        );
        for c in fitted.body["predictions"]["customers"].as_array().unwrap() {
            let p = c["p_no_purchase"].as_f64().unwrap();
            let interval = &c["p_no_purchase_interval"];
            let (lower, upper) = (
                interval["lower"].as_f64().unwrap(),
                interval["upper"].as_f64().unwrap(),
            );
            assert!((0.0..=1.0).contains(&p), "{path}: {p}");
            assert!(
                lower <= p && p <= upper,
                "{path}: {p} outside [{lower}, {upper}]"
            );
        }
        // Twenty customers scored with the fit's parameters and counts up to 100: the chance
        // of none is the first count probability, and Σ n P(n) is the expected purchases.
        let mut body = body;
        body["customers"] = json!(body["customers"].as_array().unwrap()[..20]);
        body["parameters"] = fitted.body["parameters"].clone();
        body["predict"] = json!({"horizon": horizon, "purchase_counts": 100});
        let answer = common::post_json(path, &body).await;
        assert_eq!(
            answer.status,
            200,
            "{path}: {}",
            &answer.text[..answer.text.len().min(300)]
        );
        for c in answer.body["predictions"]["customers"].as_array().unwrap() {
            let counts: Vec<f64> = c["purchase_count_probabilities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(counts.len(), 101);
            assert_eq!(counts[0], c["p_no_purchase"].as_f64().unwrap(), "{path}");
            let mean: f64 = counts.iter().enumerate().map(|(n, p)| n as f64 * p).sum();
            let expected = c["expected_purchases"].as_f64().unwrap();
            assert!(
                (mean - expected).abs() < 1e-7 * expected.max(1.0),
                "{path}: {mean} vs {expected}"
            );
        }
        let population = &answer.body["predictions"]["population_purchase_counts"];
        let total: f64 = population["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum::<f64>()
            + population["more"].as_f64().unwrap();
        assert!((total - 1.0).abs() < 1e-12, "{path}");
    }
}

#[tokio::test]
async fn gamma_gamma_scores_with_given_parameters_as_its_fit_does() {
    let customers: Vec<Value> = common::cdnow_customers();
    let mut body = json!({"customers": customers, "uncertainty": {"method": "none"}});
    let fitted = common::post_json("/models/gamma-gamma", &body).await;
    assert_eq!(
        fitted.status,
        200,
        "{}",
        &fitted.text[..fitted.text.len().min(300)]
    );
    body["parameters"] = fitted.body["parameters"].clone();
    let scored = common::post_json("/models/gamma-gamma", &body).await;
    assert_eq!(
        scored.status,
        200,
        "{}",
        &scored.text[..scored.text.len().min(300)]
    );
    assert!(scored.body.get("log_likelihood").is_none());
    assert_eq!(
        serde_json::to_string(&scored.body["customers"]).unwrap(),
        serde_json::to_string(&fitted.body["customers"]).unwrap()
    );
    // One customer is enough to score; q ≤ 1 (no finite mean spend) and negatives are refused.
    let one = json!([{"frequency": 2, "monetary_value": 35.5}]);
    let answer = common::post_json(
        "/models/gamma-gamma",
        &json!({"customers": one, "parameters": {"p": 6.25, "q": 3.74, "gamma": 15.44}}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // E[M | x = 2, m = 35.5] = p (γ + m x) / (p x + q − 1)
    let expected = 6.25 * (15.44 + 35.5 * 2.0) / (6.25 * 2.0 + 3.74 - 1.0);
    let got = answer.body["customers"][0]["expected_spend"]
        .as_f64()
        .unwrap();
    assert!(
        (got - expected).abs() < 1e-12 * expected,
        "{got} vs {expected}"
    );
    for (parameters, pointer) in [
        (
            json!({"p": 6.25, "q": 0.9, "gamma": 15.44}),
            "/parameters/q",
        ),
        (json!({"p": -1, "q": 3.74, "gamma": 15.44}), "/parameters/p"),
        (json!({"p": 6.25, "q": 3.74}), "/parameters/gamma"),
    ] {
        common::post_json(
            "/models/gamma-gamma",
            &json!({"customers": one, "parameters": parameters}),
        )
        .await
        .assert_problem(422, Some(pointer));
    }
}

fn dert_reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dert_reference.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn dert_equals_the_closed_forms_and_the_discounted_expectations() {
    // tests/fixtures/dert_reference.py: the iso-value paper's closed form with mpmath's U, and
    // the discounted sum or integral of lifetimes' conditional expected purchases.
    let reference = dert_reference();
    let pn = &reference["pareto_nbd"];
    let pareto = ParetoNbd {
        r: pn["parameters"]["r"].as_f64().unwrap(),
        alpha: pn["parameters"]["alpha"].as_f64().unwrap(),
        s: pn["parameters"]["s"].as_f64().unwrap(),
        beta: pn["parameters"]["beta"].as_f64().unwrap(),
    };
    let delta = pn["discount_rate_per_week"].as_f64().unwrap().ln_1p();
    let rows = pn["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 95);
    for row in rows {
        let get = |k: &str| row[k].as_f64().unwrap();
        let ours = pareto
            .dert(delta, get("frequency"), get("recency"), get("T"))
            .unwrap();
        close(
            "Pareto/NBD DERT (closed form)",
            ours,
            get("dert_closed_form"),
            1e-9,
        );
        close(
            "Pareto/NBD DERT (integral)",
            ours,
            get("dert_integral"),
            1e-9,
        );
    }
    let bb = &reference["bgbb"];
    let model = BgBb {
        alpha: bb["parameters"]["alpha"].as_f64().unwrap(),
        beta: bb["parameters"]["beta"].as_f64().unwrap(),
        gamma: bb["parameters"]["gamma"].as_f64().unwrap(),
        delta: bb["parameters"]["delta"].as_f64().unwrap(),
    };
    let d = bb["discount_rate"].as_f64().unwrap();
    for row in bb["rows"].as_array().unwrap() {
        let get = |k: &str| row[k].as_f64().unwrap();
        let ours = model
            .dert(d, get("frequency"), get("recency"), get("n_periods"))
            .unwrap();
        close("BG/BB DERT", ours, get("dert"), 1e-9);
    }
}

#[tokio::test]
async fn dert_is_answered_where_a_closed_form_exists_and_refused_elsewhere() {
    let answer = common::post_json(
        "/models/bgbb",
        &json!({"customers": donations(), "predict": {"horizon": 5, "discount_rate_pct": 10}}),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.text[..answer.text.len().min(300)]
    );
    for c in answer.body["predictions"]["customers"].as_array().unwrap() {
        let dert = c["dert"].as_f64().unwrap();
        let (lower, upper) = (
            c["dert_interval"]["lower"].as_f64().unwrap(),
            c["dert_interval"]["upper"].as_f64().unwrap(),
        );
        // All future purchases discounted: more than the next five periods' at 10 %.
        assert!(lower <= dert && dert <= upper);
        assert!(dert > c["expected_purchases"].as_f64().unwrap() / 1.1f64.powi(5));
    }
    let one = json!([{"frequency": 2, "recency": 30, "T": 38}]);
    for (path, body, status) in [
        (
            "/models/bgnbd",
            json!({"customers": common::cdnow_customers(), "predict": {"horizon": 39, "discount_rate_pct": 0.27}}),
            422,
        ),
        (
            "/models/mbgnbd",
            json!({"customers": common::cdnow_customers(), "predict": {"horizon": 39, "discount_rate_pct": 0.27}}),
            422,
        ),
        (
            "/models/pareto-nbd",
            json!({"customers": one, "parameters": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}, "predict": {"horizon": 39, "discount_rate_pct": 0}}),
            422,
        ),
        (
            "/models/pareto-nbd",
            json!({"customers": one, "parameters": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}, "predict": {"horizon": 39, "discount_rate_pct": 0.27}}),
            200,
        ),
    ] {
        let answer = common::post_json(path, &body).await;
        if status == 422 {
            answer.assert_problem(422, Some("/predict/discount_rate_pct"));
        } else {
            assert_eq!(answer.status, 200, "{}", answer.text);
            assert!(
                answer.body["predictions"]["customers"][0]["dert"]
                    .as_f64()
                    .unwrap()
                    > 0.0
            );
        }
    }
}

#[tokio::test]
async fn bgbb_bootstraps_within_its_bound_and_clv_takes_mbgnbd() {
    let answer = common::post_json(
        "/models/bgbb",
        &json!({"customers": donations(), "predict": {"horizon": 5, "uncertainty": {"method": "bootstrap", "draws": 20, "seed": 3}}}),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.text[..answer.text.len().min(300)]
    );
    let predictions = &answer.body["predictions"];
    assert!(predictions["intervals"]["method"]
        .as_str()
        .unwrap()
        .starts_with("parametric bootstrap"));
    for c in predictions["customers"].as_array().unwrap() {
        let p = c["p_alive"].as_f64().unwrap();
        let i = &c["p_alive_interval"];
        assert!(i["lower"].as_f64().unwrap() <= i["upper"].as_f64().unwrap());
        assert!((0.0..=1.0).contains(&p));
    }
    // 10,000 customers observed for 1,000 periods, 10 draws: 100,000,000 customer-periods.
    common::post_json(
        "/models/bgbb",
        &json!({"customers": [{"frequency": 3, "recency": 500, "n_periods": 1000, "count": 5000}, {"frequency": 0, "recency": 0, "n_periods": 1000, "count": 5000}],
                "predict": {"horizon": 5, "uncertainty": {"method": "bootstrap", "draws": 10}}}),
    )
    .await
    .assert_problem(422, Some("/predict/uncertainty/draws"));

    let answer = common::post_json(
        "/models/clv",
        &json!({"customers": common::cdnow_customers(), "purchase_model": "mbgnbd", "horizon": 52, "uncertainty": {"method": "none"}}),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.text[..answer.text.len().min(300)]
    );
    assert_eq!(answer.body["purchase_model"]["model"], "mbgnbd");
    assert!(answer.body["total_clv"].as_f64().unwrap() > 0.0);
}
