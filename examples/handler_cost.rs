//! Per-request cost of parsing, computing and serialising /crr and /nps bodies in-process:
//! `cargo run --release --example handler_cost`.
use std::time::Instant;

use retention_kpi::config::Config;
use retention_kpi::http::extract::parse_json;
use retention_kpi::http::{crr::CrrRequest, finite_json, nps::NpsRequest, AppState, Compute};

fn time<T: Compute>(name: &str, body: &[u8], state: &AppState) {
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let started = Instant::now();
    for _ in 0..n {
        let request: T = parse_json(body).unwrap();
        let out = finite_json(request.compute(state).unwrap()).unwrap();
        std::hint::black_box(out);
    }
    println!(
        "{name}: {:.2} µs per request",
        started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}

fn main() {
    let state = AppState::new(Config::default());
    time::<CrrRequest>(
        "/crr",
        br#"{"start_customers":100,"new_customers":20,"end_customers":95}"#,
        &state,
    );
    time::<NpsRequest>(
        "/nps",
        br#"{"promoters":200,"passives":120,"detractors":80}"#,
        &state,
    );
}
