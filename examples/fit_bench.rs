//! Times BG/NBD fits on summary CSVs (`frequency,recency,T` columns after an id):
//! `cargo run --release --example fit_bench -- FILE REPEATS [FILE REPEATS …]`. Prints one
//! JSON line per file: customers, distinct rows, median and minimum seconds (grouping
//! included), parameters and log-likelihood. Used by scripts/bench_models.py.

use std::time::Instant;

use retention_kpi::models::bgnbd;
use retention_kpi::models::rfm::{CustomerSummary, GroupedRfm};

fn load(path: &str) -> Vec<CustomerSummary> {
    let text = std::fs::read_to_string(path).expect("readable CSV");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .expect("column present")
    };
    let (fx, fr, ft) = (col("frequency"), col("recency"), col("T"));
    lines
        .map(|line| {
            let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap_or(0.0)).collect();
            CustomerSummary::new("", None, f[fx], Some(f[fr]), Some(f[ft]), None, 1.0)
                .expect("valid row")
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let (path, repeats) = (&pair[0], pair[1].parse::<usize>().unwrap_or(1).max(1));
        let rows = load(path);
        let mut seconds = Vec::new();
        let mut last = None;
        for _ in 0..repeats {
            let start = Instant::now();
            let grouped = GroupedRfm::new(&rows);
            let (model, outcome) = bgnbd::fit(&grouped, 0.0);
            seconds.push(start.elapsed().as_secs_f64());
            last = Some((model, outcome, grouped.distinct_rows));
        }
        seconds.sort_by(f64::total_cmp);
        let (model, outcome, distinct) = last.expect("at least one run");
        println!(
            "{{\"file\":\"{path}\",\"customers\":{},\"distinct_rows\":{distinct},\"repeats\":{repeats},\"median_s\":{},\"min_s\":{},\"r\":{},\"alpha\":{},\"a\":{},\"b\":{},\"log_likelihood\":{},\"converged\":{},\"iterations\":{}}}",
            rows.len(),
            seconds[seconds.len() / 2],
            seconds[0],
            model.r,
            model.alpha,
            model.a,
            model.b,
            outcome.log_likelihood,
            outcome.converged,
            outcome.iterations
        );
    }
}
