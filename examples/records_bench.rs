//! Times the /series and /cohorts computations on CSV files, as the service runs them:
//! `cargo run --release --example records_bench -- SERIES_CSV COHORTS_CSV REPEATS`.
//! Prints one JSON line per file with the median and minimum of `parse` (CSV bytes to the rows
//! as the service reads them: typed rows for /series, activities with interned ids for
//! /cohorts) and `compute` (those to the answer, serialisation included) in seconds. Runs
//! with the service's allocator (mimalloc).

use std::time::Instant;

use retention_kpi::analytics::cohorts::Retention;
use retention_kpi::config::Config;
use retention_kpi::http::records::cohorts::{csv_activities, ActivitiesBody, CohortsRequest};
use retention_kpi::http::records::csv_rows;
use retention_kpi::http::records::series::SeriesRequest;
use retention_kpi::http::{AppState, Compute};
use retention_kpi::units::Period;

// The allocator the service runs with (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeats: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let state = AppState::new(Config::default());
    let series_bytes = std::fs::read(&args[0]).expect("series CSV");
    let cohort_bytes = std::fs::read(&args[1]).expect("cohort CSV");
    let (mut parse, mut compute) = (vec![], vec![]);
    let mut periods = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        let events =
            csv_rows(&series_bytes, "events", &["customer_id", "date", "mrr"]).expect("valid CSV");
        parse.push(t.elapsed().as_secs_f64());
        let n = events.len();
        let t = Instant::now();
        let answer = SeriesRequest {
            events: Some(events),
            period_summary: None,
            period: Period::Month,
            from: None,
            to: None,
            confidence: None,
            reactivation_window_days: None,
            as_of: None,
            convention: None,
            compare_conventions: None,
            ltv_margin_pct: None,
            filter: None,
            group_by: None,
        }
        .compute(&state)
        .expect("a series");
        let json = serde_json::to_vec(&answer).expect("serialises");
        compute.push(t.elapsed().as_secs_f64());
        periods = answer.periods.len();
        std::hint::black_box((json, n));
    }
    let ((pm, pmin), (cm, cmin)) = (median(parse), median(compute));
    println!("{{\"endpoint\":\"/series\",\"periods\":{periods},\"parse_median_s\":{pm},\"parse_min_s\":{pmin},\"compute_median_s\":{cm},\"compute_min_s\":{cmin}}}");
    let (mut parse, mut compute) = (vec![], vec![]);
    let mut cohorts = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        let events = csv_activities(&cohort_bytes).expect("valid CSV");
        parse.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let answer = CohortsRequest {
            events: Some(ActivitiesBody(events)),
            cohort_summary: None,
            period: Period::Month,
            retention: Retention::Bounded,
            confidence: None,
            filter: None,
            group_by: None,
        }
        .compute(&state)
        .expect("a table");
        let json = serde_json::to_vec(&answer).expect("serialises");
        compute.push(t.elapsed().as_secs_f64());
        cohorts = answer.table.cohorts.len();
        std::hint::black_box(json);
    }
    let ((pm, pmin), (cm, cmin)) = (median(parse), median(compute));
    println!("{{\"endpoint\":\"/cohorts\",\"cohorts\":{cohorts},\"parse_median_s\":{pm},\"parse_min_s\":{pmin},\"compute_median_s\":{cm},\"compute_min_s\":{cmin}}}");
}
