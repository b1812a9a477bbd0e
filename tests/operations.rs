//! Operations: metrics, readiness, API keys, load shedding, CORS, and graceful shutdown of
//! the real binary.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;
use tower::ServiceExt;

use retention_kpi::config::{Config, Secret};

const CRR: &str = r#"{"start_customers":100,"new_customers":20,"end_customers":95}"#;

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = common::app();
    common::send_to(
        app.clone(),
        Method::POST,
        "/crr",
        Some("application/json"),
        CRR,
    )
    .await;
    common::send_to(
        app.clone(),
        Method::POST,
        "/crr",
        Some("application/json"),
        "{",
    )
    .await;
    let metrics = common::send_to(app, Method::GET, "/metrics", None, "").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .text
            .contains(r#"http_requests_total{route="/crr",method="POST",status="200"}"#),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains(r#"status="400""#));
    assert!(metrics
        .text
        .contains("http_request_duration_seconds_bucket"));
    assert!(metrics.text.contains("http_requests_in_flight"));
}

#[tokio::test]
async fn metrics_labels_stay_bounded_and_time_outs_are_counted() {
    // A made-up method to an unknown path is counted as `other` on `unmatched`, whatever its
    // name: a client cannot create time series at will.
    let app = common::app();
    let weird = Method::from_bytes(&[b'X'; 3000]).unwrap();
    common::send_to(app.clone(), weird, "/no-such-path", None, "").await;
    // A request past its deadline answers the time-limit problem and is counted as a 503.
    let slow = retention_kpi::app(Config {
        request_timeout_ms: 1,
        ..Config::default()
    });
    let answer = common::send_to(
        slow,
        Method::POST,
        "/models/pareto-nbd",
        Some("application/json"),
        slow_fit_body(),
    )
    .await;
    answer.assert_problem(503, None);
    assert_eq!(answer.body["type"], "urn:retention-kpi:problem:time-limit");
    let metrics = common::send_to(app, Method::GET, "/metrics", None, "").await;
    assert!(
        !metrics.text.contains("XXXX"),
        "a method name became a label"
    );
    assert!(
        metrics
            .text
            .contains(r#"http_requests_total{route="unmatched",method="other",status="404"}"#),
        "{}",
        metrics.text
    );
    assert!(
        metrics.text.contains(
            r#"http_requests_total{route="/models/pareto-nbd",method="POST",status="503"}"#
        ),
        "{}",
        metrics.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_work_waits_in_a_bounded_queue_and_the_excess_is_shed() {
    // One worker, so 1 running + 4 waiting; the rest are shed at once with Retry-After.
    // Each request is small to parse and long to compute (a bootstrap of 60 refits), so all
    // eight are queued or shed while the first still runs, however busy the machine.
    let app = retention_kpi::app(Config {
        fit_workers: 1,
        ..Config::default()
    });
    let body = json!({
        "customers": common::cdnow_customers(),
        "predict": {"horizon": 39, "uncertainty": {"method": "bootstrap", "draws": 60}},
    })
    .to_string();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(async move {
                common::send_to(
                    app,
                    Method::POST,
                    "/models/bgnbd",
                    Some("application/json"),
                    body,
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for handle in handles {
        let answer = handle.await.unwrap();
        if answer.status == 503 {
            assert_eq!(answer.body["type"], "urn:retention-kpi:problem:overloaded");
            assert_eq!(answer.headers["retry-after"], "1");
        }
        statuses.push(answer.status.as_u16());
    }
    let answered = statuses.iter().filter(|s| **s == 200).count();
    let shed = statuses.iter().filter(|s| **s == 503).count();
    assert_eq!(answered + shed, 8, "{statuses:?}");
    assert!((1..=5).contains(&answered) && shed >= 3, "{statuses:?}");
}

#[tokio::test]
async fn each_api_key_has_its_own_token_bucket() {
    let app = retention_kpi::app(Config {
        api_keys: vec![Secret::new("k-one"), Secret::new("k-two")],
        rate_limit_per_second: 1,
        rate_limit_burst: 2,
        ..Config::default()
    });
    let call = |key: &'static str| {
        let app = app.clone();
        async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/crr")
                .header("content-type", "application/json")
                .header("x-api-key", key)
                .body(Body::from(CRR))
                .unwrap();
            app.oneshot(request).await.unwrap()
        }
    };
    assert_eq!(call("k-one").await.status(), 200);
    assert_eq!(call("k-one").await.status(), 200);
    let limited = call("k-one").await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(
        limited.headers()["content-type"],
        "application/problem+json"
    );
    // The other key's bucket is full.
    assert_eq!(call("k-two").await.status(), 200);
}

#[tokio::test]
async fn a_body_still_arriving_holds_no_computing_slot() {
    // With one slot, a client that never finishes its body must not shed everyone else.
    let app = retention_kpi::app(Config {
        concurrency_limit: 1,
        ..Config::default()
    });
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    sender
        .send(Ok(b"{\"start_customers\":".to_vec()))
        .await
        .unwrap();
    let trickle = Body::from_stream(tokio_stream_from(receiver));
    let stuck = {
        let app = app.clone();
        tokio::spawn(async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/crr")
                .header("content-type", "application/json")
                .body(trickle)
                .unwrap();
            app.oneshot(request).await.unwrap().status()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let answer = common::send_to(app, Method::POST, "/crr", Some("application/json"), CRR).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    drop(sender);
    stuck.abort();
}

#[tokio::test]
async fn request_work_fits_in_a_memory_budget() {
    // 1 MiB budget, 8 bytes of work memory per body byte: 128 KiB bodies at most.
    let app = retention_kpi::app(Config {
        memory_budget_bytes: 1 << 20,
        ..Config::default()
    });
    let padded = format!("{{\"pad\":\"{}\"}}", "x".repeat(200_000));
    let too_big = common::send_to(
        app.clone(),
        Method::POST,
        "/crr",
        Some("application/json"),
        padded,
    )
    .await;
    too_big.assert_problem(413, None);
    // A 100 KB body still arriving, declared by its Content-Length, holds 800 KB of the
    // budget: a second one does not fit beside it and is shed at once.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    sender.send(Ok(b"{".to_vec())).await.unwrap();
    let holding = {
        let app = app.clone();
        tokio::spawn(async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/crr")
                .header("content-type", "application/json")
                .header("content-length", "100000")
                .body(Body::from_stream(tokio_stream_from(receiver)))
                .unwrap();
            app.oneshot(request).await.unwrap().status()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/crr")
        .header("content-type", "application/json")
        .header("content-length", "100000")
        .body(Body::from(" ".repeat(100_000)))
        .unwrap();
    let shed = app.clone().oneshot(request).await.unwrap();
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");
    // Small requests still fit.
    let small = common::send_to(app, Method::POST, "/crr", Some("application/json"), CRR).await;
    assert_eq!(small.status, 200);
    drop(sender);
    holding.abort();
}

#[tokio::test]
async fn event_and_model_row_limits_are_settings_named_in_the_refusal() {
    let app = retention_kpi::app(Config {
        max_events: 2,
        max_model_rows: 10,
        ..Config::default()
    });
    let events = json!({"period": "month", "events": [
        {"customer_id": "a", "date": "2026-01-05", "mrr": 10},
        {"customer_id": "b", "date": "2026-01-06", "mrr": 10},
        {"customer_id": "c", "date": "2026-01-07", "mrr": 10}]});
    let answer = common::send_to(
        app.clone(),
        Method::POST,
        "/series",
        Some("application/json"),
        events.to_string(),
    )
    .await;
    answer.assert_problem(422, Some("/events"));
    assert!(answer.body["detail"]
        .as_str()
        .unwrap()
        .contains("MAX_EVENTS"));
    let fit = common::send_to(
        app,
        Method::POST,
        "/models/bgnbd",
        Some("application/json"),
        json!({ "customers": common::cdnow_customers() }).to_string(),
    )
    .await;
    fit.assert_problem(422, Some("/customers"));
    assert!(fit.body["detail"]
        .as_str()
        .unwrap()
        .contains("MAX_MODEL_ROWS"));
}

/// A receiver as a body stream.
fn tokio_stream_from(
    receiver: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    struct Stream<T>(tokio::sync::mpsc::Receiver<T>);
    impl<T> futures_core::Stream for Stream<T> {
        type Item = T;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<T>> {
            self.0.poll_recv(cx)
        }
    }
    Stream(receiver)
}

#[tokio::test]
async fn answers_carry_security_headers() {
    let answer = common::post_json("/crr", &serde_json::from_str(CRR).unwrap()).await;
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    assert_eq!(answer.headers["cache-control"], "no-store");
    let refused = common::post_json("/crr", &json!([100, 20, 95])).await;
    refused.assert_problem(422, Some(""));
    assert_eq!(refused.headers["x-content-type-options"], "nosniff");
    let docs = common::send(Method::GET, "/docs/", None, "").await;
    assert_eq!(docs.status, 200);
    let csp = docs.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(docs.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn readiness_and_liveness_answer() {
    let ready = common::send(Method::GET, "/readyz", None, "").await;
    assert_eq!(
        (ready.status.as_u16(), ready.body["status"].as_str()),
        (200, Some("ready"))
    );
    let live = common::send(Method::GET, "/healthz", None, "").await;
    assert_eq!(live.body["status"], "ok");
}

#[tokio::test]
async fn api_keys_guard_the_computing_endpoints_only() {
    let config = Config {
        api_keys: vec![Secret::new("k-one"), Secret::new("k-two")],
        ..Config::default()
    };
    let app = retention_kpi::app(config);
    let call = |headers: Vec<(&'static str, &'static str)>| {
        let app = app.clone();
        async move {
            let mut request = Request::builder()
                .method(Method::POST)
                .uri("/crr")
                .header("content-type", "application/json");
            for (name, value) in headers {
                request = request.header(name, value);
            }
            app.oneshot(request.body(Body::from(CRR)).unwrap())
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(call(vec![]).await, 401);
    assert_eq!(call(vec![("authorization", "Bearer wrong")]).await, 401);
    assert_eq!(call(vec![("authorization", "Basic k-one")]).await, 401);
    assert_eq!(call(vec![("authorization", "Bearer k-one")]).await, 200);
    assert_eq!(call(vec![("x-api-key", "k-two")]).await, 200);
    let refused = common::send_to(
        app.clone(),
        Method::POST,
        "/crr",
        Some("application/json"),
        CRR,
    )
    .await;
    refused.assert_problem(401, None);
    assert_eq!(refused.headers["www-authenticate"], "Bearer");
    for open in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(
            common::send_to(app.clone(), Method::GET, open, None, "")
                .await
                .status,
            200,
            "{open}"
        );
    }
}

/// A Pareto/NBD request that keeps a worker busy for a while: the CDNOW sample ten times
/// over, each copy shifted by a few seconds so that all 23,570 rows are distinct.
fn slow_fit_body() -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cdnow_sample_summary.csv"
    ))
    .unwrap();
    let mut customers = Vec::new();
    for copy in 0..10u32 {
        let shift = f64::from(copy) * 1e-4;
        for line in text.lines().skip(1) {
            let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
            let recency = if f[1] > 0.0 { f[2] + shift } else { 0.0 };
            customers.push(json!({"frequency": f[1], "recency": recency, "T": f[3] + shift}));
        }
    }
    json!({ "customers": customers }).to_string()
}

#[tokio::test]
async fn requests_over_the_concurrency_limit_are_shed_with_503_and_retry_after() {
    let config = Config {
        concurrency_limit: 1,
        ..Config::default()
    };
    let app = retention_kpi::app(config);
    let slow = {
        let app = app.clone();
        let body = slow_fit_body();
        tokio::spawn(async move {
            common::send_to(
                app,
                Method::POST,
                "/models/pareto-nbd",
                Some("application/json"),
                body,
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let shed = common::send_to(
        app.clone(),
        Method::POST,
        "/crr",
        Some("application/json"),
        CRR,
    )
    .await;
    shed.assert_problem(503, None);
    assert_eq!(shed.headers["retry-after"], "1");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "shed at once, not queued"
    );
    // Probes are outside the limit.
    assert_eq!(
        common::send_to(app.clone(), Method::GET, "/healthz", None, "")
            .await
            .status,
        200
    );
    assert_eq!(slow.await.unwrap().status, 200);
    assert_eq!(
        common::send_to(app, Method::POST, "/crr", Some("application/json"), CRR)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn cors_allows_the_configured_origins() {
    let config = Config {
        cors_origins: vec!["https://dash.example".into()],
        ..Config::default()
    };
    let app = retention_kpi::app(config);
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/crr")
        .header("origin", "https://dash.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://dash.example"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real binary on a free loopback port with `env`, and a first connection to it.
fn start_server(env: &[(&str, &str)]) -> (std::process::Child, u16, TcpStream) {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_retention-kpi"));
    command
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let server = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("the server did not start: {e}"),
        }
    };
    (server, port, stream)
}

/// Waits up to `limit` for the process to exit; its status.
fn exit_within(server: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn slow_heads_big_heads_and_surplus_connections_are_cut_off() {
    let (mut server, port, mut first) = start_server(&[
        ("HEADER_READ_TIMEOUT_MS", "300"),
        ("MAX_HEADER_BYTES", "16384"),
    ]);
    // Half a request head, then nothing: closed once the header-read timeout passes.
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut buffer = Vec::new();
    let _ = first.read_to_end(&mut buffer);
    assert!(buffer.is_empty() && started.elapsed() < Duration::from_secs(3));
    // A 64 KiB header: 431, not a 64 KiB allocation per connection kept.
    let mut big = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(65_536)
    );
    let _ = big.write_all(head.as_bytes());
    let mut answer = String::new();
    big.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = big.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.60}");
    let _ = server.kill();
    let _ = server.wait();
    // Two idle connections hold the cap (a server whose header timeout outlasts the test,
    // however slow the machine); a third is closed without an answer.
    let (mut server, port, first) = start_server(&[("MAX_CONNECTIONS", "2")]);
    let held: Vec<TcpStream> = (0..1)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut refused = Vec::new();
    let _ = third.read_to_end(&mut refused);
    assert!(
        refused.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&refused)
    );
    drop((first, held));
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn sigterm_ends_requests_that_outlast_the_shutdown_grace() {
    let (mut server, _, mut stream) = start_server(&[("SHUTDOWN_GRACE_MS", "300")]);
    let body = slow_fit_body();
    let head = format!("POST /models/pareto-nbd HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).unwrap();
    // All but the last byte: the request is in flight, its fit not started, when SIGTERM
    // arrives; the drain deadline then ends it.
    stream
        .write_all(&body.as_bytes()[..body.len() - 1])
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = exit_within(&mut server, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let (mut server, port, mut stream) = start_server(&[]);
    // Half a request: in flight when the signal arrives.
    let head = format!("POST /crr HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", CRR.len());
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&CRR.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(200));
    // New connections are refused while the in-flight request goes on.
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the listener closed on SIGTERM"
    );
    stream.write_all(&CRR.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"value\":75.0"));
    let status = exit_within(&mut server, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn the_page_is_served_from_the_binary_with_a_policy_that_keeps_it_on_this_server() {
    let page = common::send(Method::GET, "/ui/", None, "").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type(), "text/html; charset=utf-8");
    // Its script and style come from this server; nothing from a CDN or a font service.
    assert!(page
        .text
        .contains(r#"<script src="/ui/app.js" defer></script>"#));
    assert!(page.text.contains(r#"href="/ui/style.css""#));
    assert!(!page.text.contains("https://") && !page.text.contains("http://"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'") && csp.contains("connect-src 'self'"));
    assert_eq!(page.headers["x-frame-options"], "DENY");
    let script = common::send(Method::GET, "/ui/app.js", None, "").await;
    assert_eq!(script.content_type(), "text/javascript; charset=utf-8");
    assert!(script.text.contains("fetch(\"/openapi.json\")"));
    assert!(!script.text.contains("https://"));
    let style = common::send(Method::GET, "/ui/style.css", None, "").await;
    assert_eq!(style.content_type(), "text/css; charset=utf-8");
    assert!(style.text.contains("prefers-color-scheme: dark"));
    let bare = common::send(Method::GET, "/ui", None, "").await;
    assert_eq!(bare.status, 308);
    assert_eq!(bare.headers["location"], "/ui/");
}
