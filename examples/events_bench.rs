//! Times `/retention`, `/lifecycle` and `/stickiness` on a CSV of product events, as the
//! service runs them:
//! `cargo run --release --example events_bench -- EVENTS_CSV CASES_JSON OUT_DIR REPEATS`.
//! CASES_JSON lists `{"name", "endpoint", "request"}` (settings without the events). Prints
//! one JSON line with the median time to read the CSV into columns, then one per case with the median and minimum of
//! `compute` (the events as read, in columns, to the answer, serialisation included) in seconds, and writes each
//! answer to `OUT_DIR/<name>.json` for the caller to check. Runs with the service's allocator
//! (mimalloc).

use std::time::Instant;

use retention_kpi::analytics::events::EventColumns;
use retention_kpi::config::Config;
use retention_kpi::http::records::events::{event_columns, EventsBody};
use retention_kpi::http::records::lifecycle::LifecycleRequest;
use retention_kpi::http::records::retention::RetentionRequest;
use retention_kpi::http::records::stickiness::StickinessRequest;
use retention_kpi::http::records::Rows;
use retention_kpi::http::{AppState, Compute};
use serde_json::Value;

// The allocator the service runs with (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

/// The case's answer as JSON bytes.
fn answer(state: &AppState, endpoint: &str, request: &Value, events: EventColumns) -> Vec<u8> {
    let mut settings = request.clone();
    settings["events"] = Value::Array(Vec::new());
    match endpoint {
        "/retention" => {
            let mut r: RetentionRequest = serde_json::from_value(settings).expect("settings");
            r.events = EventsBody(events);
            serde_json::to_vec(&r.compute(state).expect("an answer")).expect("serialises")
        }
        "/lifecycle" => {
            let mut r: LifecycleRequest = serde_json::from_value(settings).expect("settings");
            r.events = EventsBody(events);
            serde_json::to_vec(&r.compute(state).expect("an answer")).expect("serialises")
        }
        "/stickiness" => {
            let mut r: StickinessRequest = serde_json::from_value(settings).expect("settings");
            r.events = EventsBody(events);
            serde_json::to_vec(&r.compute(state).expect("an answer")).expect("serialises")
        }
        other => panic!("unknown endpoint {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeats: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(5);
    let state = AppState::new(Config {
        max_events: 20_000_000,
        ..Config::default()
    });
    let bytes = std::fs::read(&args[0]).expect("events CSV");
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(&args[1]).expect("cases JSON")).expect("cases");
    let rows = Rows::Csv(bytes.into());
    let mut reads = Vec::new();
    let mut events = EventColumns::default();
    for _ in 0..repeats {
        let t = Instant::now();
        events = event_columns(&rows, true).expect("valid events");
        reads.push(t.elapsed().as_secs_f64());
    }
    println!(
        "{{\"parse_s\":{},\"events\":{}}}",
        median(reads).0,
        events.len()
    );
    for case in &cases {
        let (name, endpoint) = (
            case["name"].as_str().unwrap(),
            case["endpoint"].as_str().unwrap(),
        );
        let mut times = Vec::new();
        let mut out = Vec::new();
        for _ in 0..repeats {
            let rows = events.clone();
            let t = Instant::now();
            out = answer(&state, endpoint, &case["request"], rows);
            times.push(t.elapsed().as_secs_f64());
        }
        std::fs::write(format!("{}/{name}.json", args[2]), &out).expect("written");
        let (m, min) = median(times);
        println!("{{\"name\":\"{name}\",\"compute_median_s\":{m},\"compute_min_s\":{min}}}");
    }
}
