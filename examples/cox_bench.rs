//! Times Cox fits: `cargo run --release --example cox_bench -- FILE REPEATS [FILE REPEATS …]`,
//! each FILE a `/survival/cox` JSON body of observations. For each file prints one JSON line:
//! the customers, the median and minimum seconds of the core fit alone (`fit_cox`, Efron ties,
//! rows already in memory: what lifelines' `fit()` on a DataFrame does) and of the whole
//! request in-process (JSON parsed, fitted, the answer serialised), and the coefficients. Used
//! by scripts/bench_cox.py.

use std::time::Instant;

use retention_kpi::analytics::cox::{fit_cox, CoxRow, CoxSettings, Value};
use retention_kpi::config::Config;
use retention_kpi::http::extract::parse_json;
use retention_kpi::http::records::cox::CoxRequest;
use retention_kpi::http::{finite_json, AppState, Compute};

fn rows(body: &serde_json::Value) -> Vec<CoxRow> {
    body["observations"]
        .as_array()
        .expect("observations")
        .iter()
        .map(|o| CoxRow {
            entry: o["entry"].as_f64().unwrap_or(0.0),
            exit: o["duration"].as_f64().expect("duration"),
            event: o["observed"].as_bool().expect("observed"),
            covariates: o["covariates"]
                .as_object()
                .expect("covariates")
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        serde_json::Value::Bool(b) => Value::Flag(*b),
                        serde_json::Value::String(s) => Value::Level(s.clone()),
                        other => Value::Number(other.as_f64().expect("a number")),
                    };
                    (k.clone(), value)
                })
                .collect(),
            stratum: None,
        })
        .collect()
}

fn median_min(mut seconds: Vec<f64>) -> (f64, f64) {
    seconds.sort_by(f64::total_cmp);
    (seconds[seconds.len() / 2], seconds[0])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let state = AppState::new(Config::default());
    for pair in args.chunks(2) {
        let (path, repeats) = (&pair[0], pair[1].parse::<usize>().unwrap_or(1).max(1));
        let bytes = std::fs::read(path).expect("readable body");
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        let rows = rows(&body);
        let settings = CoxSettings {
            covariates: body["covariates"].as_array().map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect()
            }),
            reference_levels: body["reference_levels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            ..CoxSettings::default()
        };
        let mut core = Vec::with_capacity(repeats);
        let mut fit = None;
        for _ in 0..repeats {
            let started = Instant::now();
            fit = Some(fit_cox(&rows, &settings).expect("a fit"));
            core.push(started.elapsed().as_secs_f64());
        }
        let mut request = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let started = Instant::now();
            let parsed: CoxRequest = parse_json(&bytes).expect("a request");
            let answer = finite_json(parsed.compute(&state).expect("an answer")).expect("JSON");
            std::hint::black_box(answer);
            request.push(started.elapsed().as_secs_f64());
        }
        let fit = fit.expect("fitted");
        let (core_median, core_min) = median_min(core);
        let (request_median, request_min) = median_min(request);
        let coef: serde_json::Map<String, serde_json::Value> = fit
            .coefficients
            .iter()
            .map(|c| (c.name.clone(), serde_json::json!(c.coef)))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "file": path, "customers": rows.len(), "repeats": repeats,
                "core_median_s": core_median, "core_min_s": core_min,
                "request_median_s": request_median, "request_min_s": request_min,
                "iterations": fit.iterations, "log_likelihood": fit.log_likelihood, "coef": coef,
            })
        );
    }
}
