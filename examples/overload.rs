//! A closed-loop HTTP/1.1 load generator that splits latency by status, for the overload
//! phase of scripts/load_test.py (wrk cannot):
//! `cargo run --release --example overload -- HOST:PORT PATH BODY_FILE CONNECTIONS SECONDS`.
//! Each connection sends the POST, reads the answer, and sends the next, for SECONDS. Prints
//! one JSON line: counts by status, p50/p99/max per status in ms, and socket errors.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

async fn connection(address: String, request: Vec<u8>, until: Instant) -> (Vec<(u16, f64)>, u64) {
    let mut samples = Vec::new();
    let mut errors = 0;
    'reconnect: while Instant::now() < until {
        let Ok(stream) = TcpStream::connect(&address).await else {
            errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        while Instant::now() < until {
            let started = Instant::now();
            if write.write_all(&request).await.is_err() {
                errors += 1;
                continue 'reconnect;
            }
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                errors += 1;
                continue 'reconnect;
            }
            let status: u16 = line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let mut length = 0usize;
            loop {
                line.clear();
                if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                    errors += 1;
                    continue 'reconnect;
                }
                let header = line.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).await.is_err() {
                errors += 1;
                continue 'reconnect;
            }
            samples.push((status, started.elapsed().as_secs_f64() * 1000.0));
        }
        break;
    }
    (samples, errors)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (address, path, body_file) = (args[0].clone(), &args[1], &args[2]);
    let connections: usize = args[3].parse().expect("connections");
    let seconds: u64 = args[4].parse().expect("seconds");
    let body = std::fs::read(body_file).expect("body file");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(connection(address.clone(), request.clone(), until)))
        .collect();
    let mut by_status: BTreeMap<u16, Vec<f64>> = BTreeMap::new();
    let mut errors = 0;
    for task in tasks {
        let (samples, e) = task.await.expect("a connection task");
        errors += e;
        for (status, ms) in samples {
            by_status.entry(status).or_default().push(ms);
        }
    }
    let parts: Vec<String> = by_status
        .iter_mut()
        .map(|(status, ms)| {
            ms.sort_by(f64::total_cmp);
            format!(
                "\"{status}\":{{\"count\":{},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
                ms.len(),
                percentile(ms, 0.5),
                percentile(ms, 0.99),
                ms.last().copied().unwrap_or(0.0)
            )
        })
        .collect();
    println!(
        "{{\"statuses\":{{{}}},\"socket_errors\":{errors}}}",
        parts.join(",")
    );
}
