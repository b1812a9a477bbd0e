//! Times reading one body of activity events in each format as `/cohorts` reads it, and the
//! computation on the rows: `cargo run --release --example body_bench -- JSON CSV ARROW PARQUET
//! REPEATS`. JSON is a `{"period": "month", "events": [...]}` body; CSV, Arrow IPC stream and
//! Parquet hold the columns customer_id, date, amount. Prints one JSON line per format with the
//! median and minimum of `parse` (bytes to the activities as read) and `compute` (those to the
//! answer, serialised) in seconds, and checks every format gives the same answer.

use std::time::Instant;

use axum::body::Bytes;
use retention_kpi::analytics::cohorts::Activities;
use retention_kpi::analytics::cohorts::Retention;
use retention_kpi::config::Config;
use retention_kpi::http::columnar::{Columnar, ColumnarKind};
use retention_kpi::http::extract::parse_json;
use retention_kpi::http::records::cohorts::{rows_activities, ActivitiesBody, CohortsRequest};
use retention_kpi::http::records::Rows;
use retention_kpi::http::{AppState, Compute};
use retention_kpi::units::Period;

// The allocator the service runs with (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

fn request(events: Activities) -> CohortsRequest {
    CohortsRequest {
        events: Some(ActivitiesBody(events)),
        cohort_summary: None,
        period: Period::Month,
        retention: Retention::Bounded,
        confidence: None,
        filter: None,
        group_by: None,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeats: usize = args.get(4).and_then(|r| r.parse().ok()).unwrap_or(5);
    let state = AppState::new(Config {
        max_events: 50_000_000,
        ..Config::default()
    });
    let mut answers = Vec::new();
    for (format, path) in ["json", "csv", "arrow", "parquet"].iter().zip(&args) {
        let bytes = Bytes::from(std::fs::read(path).expect("the body file"));
        let (mut parse, mut compute) = (vec![], vec![]);
        let mut answer = Vec::new();
        for _ in 0..repeats {
            let t = Instant::now();
            let request = match *format {
                "json" => parse_json::<CohortsRequest>(&bytes).expect("valid JSON"),
                "csv" => request(rows_activities(&Rows::Csv(bytes.clone())).expect("valid CSV")),
                kind => {
                    let kind = if kind == "arrow" {
                        ColumnarKind::ArrowStream
                    } else {
                        ColumnarKind::Parquet
                    };
                    let batch = Columnar::read(kind, bytes.clone(), usize::MAX, usize::MAX)
                        .expect("a readable file");
                    request(rows_activities(&Rows::Columnar(batch)).expect("valid rows"))
                }
            };
            parse.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let table = request.compute(&state).expect("a table");
            answer = serde_json::to_vec(&table).expect("serialises");
            compute.push(t.elapsed().as_secs_f64());
        }
        let ((pm, pmin), (cm, cmin)) = (median(parse), median(compute));
        println!("{{\"format\":\"{format}\",\"bytes\":{},\"parse_median_s\":{pm},\"parse_min_s\":{pmin},\"compute_median_s\":{cm},\"compute_min_s\":{cmin}}}", bytes.len());
        answers.push(answer);
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "the formats gave different answers"
    );
}
