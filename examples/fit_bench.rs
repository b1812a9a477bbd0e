//! Times purchase-model fits on summary CSVs (`frequency,recency,T` columns; T is n_periods for
//! BG/BB): `cargo run --release --example fit_bench -- [--model bgnbd|mbgnbd|pareto_nbd|bgbb] FILE REPEATS
//! [FILE REPEATS …]`. Prints one JSON line per file: customers, distinct rows, median and
//! minimum seconds (grouping included), parameters, total log-likelihood, verdict. Used by
//! scripts/bench_models.py.

use std::time::Instant;

use retention_kpi::models::fit::FitOutcome;
use retention_kpi::models::purchase::PurchaseModelName;
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

fn fit(model: PurchaseModelName, grouped: &GroupedRfm) -> (String, FitOutcome) {
    let outcome = model.fit(grouped, 0.0);
    let params = model
        .parameter_names()
        .iter()
        .zip(&outcome.params)
        .map(|(name, value)| format!("\"{name}\":{value}"))
        .collect::<Vec<_>>()
        .join(",");
    (format!("{{{params}}}"), outcome)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut model = "bgnbd".to_owned();
    if args.first().map(String::as_str) == Some("--model") && args.len() >= 2 {
        model = args[1].clone();
        args.drain(..2);
    }
    let name = match model.as_str() {
        "pareto_nbd" => PurchaseModelName::ParetoNbd,
        "mbgnbd" => PurchaseModelName::Mbgnbd,
        "bgbb" => PurchaseModelName::Bgbb,
        _ => PurchaseModelName::Bgnbd,
    };
    for pair in args.chunks(2) {
        let (path, repeats) = (&pair[0], pair[1].parse::<usize>().unwrap_or(1).max(1));
        let rows = load(path);
        let mut seconds = Vec::new();
        let mut last = None;
        for _ in 0..repeats {
            let start = Instant::now();
            let grouped = GroupedRfm::new(&rows);
            let (params, outcome) = fit(name, &grouped);
            seconds.push(start.elapsed().as_secs_f64());
            last = Some((params, outcome, grouped.distinct_rows));
        }
        seconds.sort_by(f64::total_cmp);
        let (params, outcome, distinct) = last.expect("at least one run");
        println!(
            "{{\"file\":\"{path}\",\"model\":\"{model}\",\"customers\":{},\"distinct_rows\":{distinct},\"repeats\":{repeats},\"median_s\":{},\"min_s\":{},\"params\":{params},\"log_likelihood\":{},\"converged\":{},\"iterations\":{},\"termination\":{:?}}}",
            rows.len(),
            seconds[seconds.len() / 2],
            seconds[0],
            outcome.log_likelihood,
            outcome.converged,
            outcome.iterations,
            outcome.termination
        );
    }
}
