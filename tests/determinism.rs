//! Same request, same bytes: model fits answered on an idle machine, while busy threads keep
//! every core saturated, concurrently with each other, and with one or several fit workers,
//! are compared byte for byte. No wall clock may decide a fit.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::Method;
use serde_json::{json, Value};

use retention_kpi::config::Config;

fn cdnow_customers() -> Vec<Value> {
    common::cdnow_customers()
}

/// The spec's purchase-summary example with every count multiplied by `factor`.
fn example_summaries(factor: f64) -> Value {
    let mut body: Value = serde_json::from_str(include_str!(
        "../src/http/models/example_data/purchase_summaries.json"
    ))
    .unwrap();
    for row in body["customers"].as_array_mut().unwrap() {
        let count = row["count"].as_f64().unwrap_or(1.0);
        row["count"] = json!(count * factor);
    }
    body
}

fn requests() -> Vec<(&'static str, String)> {
    let cdnow = json!({"customers": cdnow_customers()});
    vec![
        ("/models/bgnbd", cdnow.to_string()),
        ("/models/pareto-nbd", cdnow.to_string()),
        ("/models/gamma-gamma", cdnow.to_string()),
        (
            "/models/clv",
            json!({"customers": cdnow_customers(), "horizon": 52.14, "period_length": 4.345})
                .to_string(),
        ),
        ("/models/pareto-nbd", example_summaries(10.0).to_string()),
        ("/models/bgnbd", example_summaries(100.0).to_string()),
        (
            "/models/sbg",
            json!({"survivors": [1000, 631, 468, 382, 326, 289, 262, 241]}).to_string(),
        ),
        // A refusal must be as stable as an answer.
        (
            "/models/sbg",
            json!({"survivors": [5, 4, 4, 3]}).to_string(),
        ),
        // Survival models: a Cox fit on rossi, a parametric projection, competing causes.
        ("/survival/cox", rossi(true).to_string()),
        ("/survival", rossi(false).to_string()),
        (
            "/survival/competing",
            json!({"observations": include_str!("fixtures/competing.csv").lines().skip(1).map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                json!({"duration": c[0].parse::<f64>().unwrap(), "cause": if c[1].is_empty() { Value::Null } else { json!(c[1]) }, "group": c[2]})
            }).collect::<Vec<_>>()})
            .to_string(),
        ),
    ]
}

/// rossi as a Cox body (all covariates) or as /survival observations with a parametric fit.
fn rossi(cox: bool) -> Value {
    let text = include_str!("fixtures/rossi.csv");
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let rows: Vec<Value> = text
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
            let mut row = json!({"duration": cells[0], "observed": cells[1] == 1.0});
            if cox {
                row["covariates"] = header[2..]
                    .iter()
                    .zip(&cells[2..])
                    .map(|(h, v)| ((*h).to_owned(), json!(v)))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            row
        })
        .collect();
    if cox {
        json!({"observations": rows, "profiles": [{"name": "aid, 25", "covariates": {"fin": 1, "age": 25, "race": 0, "wexp": 1, "mar": 0, "paro": 1, "prio": 2}}]})
    } else {
        json!({"observations": rows, "parametric": {"times": [52, 104, 260]}})
    }
}

async fn answer_all(config: Config, concurrently: bool) -> Vec<String> {
    let app = retention_kpi::app(config);
    let requests = requests();
    let send = |(path, body): (&'static str, String)| {
        let app = app.clone();
        async move {
            let answer =
                common::send_to(app, Method::POST, path, Some("application/json"), body).await;
            format!("{} {}", answer.status, answer.text)
        }
    };
    if concurrently {
        let handles: Vec<_> = requests
            .into_iter()
            .map(|r| tokio::spawn(send(r)))
            .collect();
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    } else {
        let mut out = Vec::new();
        for r in requests {
            out.push(send(r).await);
        }
        out
    }
}

fn config(fit_workers: usize) -> Config {
    Config {
        fit_workers,
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fits_answer_the_same_bytes_idle_busy_and_concurrent() {
    let idle = answer_all(config(1), false).await;
    // Sanity: the fits answer, and the boundary case is refused.
    for (i, text) in idle.iter().enumerate().take(7) {
        assert!(
            text.starts_with("200 "),
            "request {i}: {}",
            &text[..300.min(text.len())]
        );
    }
    assert!(idle[7].starts_with("422 "), "{}", idle[7]);
    for text in &idle[8..] {
        assert!(text.starts_with("200 "), "{}", &text[..300.min(text.len())]);
    }

    // Saturate every core (twice over) with spinning threads.
    let stop = Arc::new(AtomicBool::new(false));
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let spinners: Vec<_> = (0..2 * cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    std::hint::black_box(x);
                }
            })
        })
        .collect();
    let busy_sequential = answer_all(config(1), false).await;
    let busy_concurrent = answer_all(config(4), true).await;
    stop.store(true, Ordering::Relaxed);
    for spinner in spinners {
        spinner.join().unwrap();
    }
    for (i, expected) in idle.iter().enumerate() {
        assert!(
            busy_sequential[i] == *expected,
            "request {i} answered differently while the cores were busy"
        );
        assert!(
            busy_concurrent[i] == *expected,
            "request {i} answered differently concurrently with 4 fit workers"
        );
    }
}

#[tokio::test]
async fn a_fit_is_invariant_to_multiplying_every_count() {
    let estimates = |body: &Value, names: &[&str]| -> Vec<f64> {
        names
            .iter()
            .map(|n| body["parameters"][n]["estimate"].as_f64().unwrap())
            .collect()
    };
    for path in ["/models/pareto-nbd", "/models/bgnbd"] {
        let names: &[&str] = if path.contains("pareto") {
            &["r", "alpha", "s", "beta"]
        } else {
            &["r", "alpha", "a", "b"]
        };
        let one = common::post_json(path, &example_summaries(1.0)).await;
        assert_eq!(one.status, 200, "{}", one.text);
        let base = estimates(&one.body, names);
        for factor in [10.0, 100.0, 1e6] {
            let scaled = common::post_json(path, &example_summaries(factor)).await;
            assert_eq!(scaled.status, 200, "{path} ×{factor}: {}", scaled.text);
            for (a, b) in base.iter().zip(estimates(&scaled.body, names)) {
                assert!(
                    (a - b).abs() <= 1e-8 * a.abs(),
                    "{path} ×{factor}: {a} vs {b}"
                );
            }
            // The log-likelihood scales with the counts.
            let ll = one.body["log_likelihood"].as_f64().unwrap();
            let ll_scaled = scaled.body["log_likelihood"].as_f64().unwrap();
            assert!((ll_scaled / ll - factor).abs() <= 1e-8 * factor);
        }
    }
    // sBG: the regular cohort with every count multiplied by 1e7 has the unscaled maximum.
    let survivors = [1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0];
    let one = common::post_json("/models/sbg", &json!({ "survivors": survivors })).await;
    let scaled: Vec<f64> = survivors.iter().map(|s| s * 1e7).collect();
    let many = common::post_json("/models/sbg", &json!({ "survivors": scaled })).await;
    assert_eq!(many.status, 200, "{}", many.text);
    for name in ["alpha", "beta"] {
        let a = one.body["parameters"][name]["estimate"].as_f64().unwrap();
        let b = many.body["parameters"][name]["estimate"].as_f64().unwrap();
        assert!((a - b).abs() <= 1e-8 * a, "{name}: {a} vs {b}");
    }
}

#[tokio::test]
async fn a_supremum_at_the_edge_is_refused_naming_the_parameters() {
    // Four customers, one lost each of two years: a constant churn fits best, so the beta
    // mixing distribution collapses (α, β → ∞ with α/(α+β) fixed).
    let answer = common::post_json("/models/sbg", &json!({"survivors": [5, 4, 4, 3]})).await;
    answer.assert_problem(422, Some(""));
    let detail = answer.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("alpha and beta grow without bound: the data show no heterogeneity in churn probability"),
        "{detail}"
    );
    assert_eq!(
        answer.body["errors"][0]["detail"],
        "the likelihood has no interior maximum"
    );
}

#[tokio::test]
async fn pareto_nbd_without_dropout_heterogeneity_is_refused_naming_s_and_beta() {
    // Simulated with one dropout rate for everyone (tests/fixtures/
    // pareto_nbd_homogeneous_dropout.py): the gamma mixing of dropout rates collapses.
    let customers: Vec<Value> = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pareto_nbd_homogeneous_dropout.csv"
    ))
    .unwrap()
    .lines()
    .skip(1)
    .map(|line| {
        let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        json!({"frequency": f[1], "recency": f[2], "T": f[3]})
    })
    .collect();
    let answer = common::post_json("/models/pareto-nbd", &json!({ "customers": customers })).await;
    answer.assert_problem(422, Some(""));
    let detail = answer.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(
            "s and beta grow without bound: the data show no heterogeneity in dropout rates"
        ),
        "{detail}"
    );
    // BG/NBD on the same customers still has an interior maximum.
    let bgnbd = common::post_json("/models/bgnbd", &json!({ "customers": customers })).await;
    assert_eq!(bgnbd.status, 200, "{}", bgnbd.text);
}
