//! Operations: Prometheus metrics, readiness, API-key authentication, and load shedding.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::error::{problem_response, Problem};
use super::AppState;

/// Latency buckets in seconds: sub-millisecond KPI answers up to multi-second model fits.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The process-wide Prometheus recorder, installed once however many apps are built (tests
/// build many); `None` if another recorder was installed first.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            // Histogram samples wait in buckets until upkeep folds them in: without it, memory
            // grows with every request between scrapes.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Middleware: counts requests by route, method and status, times them, and tracks the
/// requests in flight. Labels are bounded: the router's matched path (or `unmatched`) and the
/// standard methods (anything else is `other`). A request whose future is dropped before it
/// answers (the client went away) still leaves the in-flight gauge and is counted with the
/// status label `cancelled`.
pub async fn track(request: Request, next: Next) -> Response {
    /// Decrements the gauge however the request ends; counts it as cancelled unless answered.
    struct InFlight {
        labels: Option<[(&'static str, String); 2]>,
        started: Instant,
    }
    impl Drop for InFlight {
        fn drop(&mut self) {
            metrics::gauge!("http_requests_in_flight").decrement(1.0);
            if let Some([route, method]) = self.labels.take() {
                let labels = [route, method, ("status", "cancelled".to_owned())];
                metrics::counter!("http_requests_total", &labels).increment(1);
                metrics::histogram!("http_request_duration_seconds", &labels)
                    .record(self.started.elapsed().as_secs_f64());
                tracing::info!(
                    route = %labels[0].1,
                    latency_ms = self.started.elapsed().as_millis() as u64,
                    "request abandoned by its client before it was answered"
                );
            }
        }
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    metrics::gauge!("http_requests_in_flight").increment(1.0);
    let mut in_flight = InFlight {
        labels: Some([("route", route), ("method", method)]),
        started,
    };
    let response = next.run(request).await;
    let [route, method] = in_flight.labels.take().unwrap_or_default();
    drop(in_flight);
    let status = response.status().as_u16().to_string();
    let labels = [route, method, ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The method as a metrics label: the standard ones by name, anything else `other` (a client
/// can send any token as a method; each would otherwise be a new time series).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Middleware: the request's time budget. Past it the request's future is dropped, which
/// cancels its blocking work (see `models::off_runtime`), and the answer is a `time-limit`
/// problem (503).
pub async fn deadline(budget: std::time::Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(budget, next.run(request)).await {
        Ok(response) => response,
        Err(_) => super::error::ApiError::TimeLimit {
            limit_ms: u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
        }
        .into_response(),
    }
}

/// The Content-Security-Policy of `/docs`: Swagger UI's own scripts and styles from this
/// origin (it sets inline styles and data: images itself), no framing.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Middleware: security headers on every answer. `X-Content-Type-Options: nosniff`
/// everywhere; `Cache-Control: no-store` on everything but the documentation (answers are
/// computed from the request and may be sensitive); on `/docs`, a Content-Security-Policy and
/// `X-Frame-Options: DENY`.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let docs = request.uri().path().starts_with("/docs");
    let ui = request.uri().path().starts_with("/ui");
    let spec = request.uri().path().starts_with("/openapi.");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if docs || ui {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(if ui { super::ui::UI_CSP } else { DOCS_CSP }),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    } else if !spec {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Records how long a model fit took.
pub fn record_fit(model: &'static str, seconds: f64) {
    metrics::histogram!("model_fit_duration_seconds", "model" => model).record(seconds);
}

/// Metrics
///
/// Prometheus text: `http_requests_total` and `http_request_duration_seconds` by route,
/// method and status, `http_requests_in_flight`, `model_fit_duration_seconds` by model.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String)))]
pub async fn metrics_text() -> Response {
    let body = prometheus()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, or `shutting_down` (answered with 503).
    pub status: String,
}

/// Readiness
///
/// 200 while the service takes traffic; 503 once it is shutting down, so that a load
/// balancer stops sending requests while in-flight ones finish.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz",
    responses((status = 200, description = "Ready", body = Readiness), (status = 503, description = "Shutting down", body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        Json(Readiness {
            status: "ready".to_owned(),
        })
        .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                status: "shutting_down".to_owned(),
            }),
        )
            .into_response()
    }
}

/// A flag `main` lowers when shutdown begins.
pub fn readiness_flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(true))
}

fn presented_key(request: &Request<Body>) -> Option<&[u8]> {
    let headers = request.headers();
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim().as_bytes());
    }
    headers.get("x-api-key").map(HeaderValue::as_bytes)
}

/// Middleware on the computing routes: when API keys are configured, a request needs one
/// of them as `Authorization: Bearer <key>` or `x-api-key: <key>`, compared in constant time
/// against every key; otherwise 401 problem+json.
pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.api_keys.is_empty() {
        return next.run(request).await;
    }
    // Every key is compared, in constant time each; the index of the match picks its bucket.
    let matched = presented_key(&request).and_then(|given| {
        let mut found = None;
        for (i, key) in state.api_keys.iter().enumerate() {
            let equal: bool = key.as_bytes().ct_eq(given).into();
            if equal && found.is_none() {
                found = Some(i);
            }
        }
        found
    });
    if let Some(index) = matched {
        if let Some(limits) = &state.rate_limits {
            if let Err(not_until) = limits.check_key(&index) {
                use governor::clock::{Clock, DefaultClock};
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                metrics::counter!("rate_limited_total").increment(1);
                return super::error::ApiError::RateLimited {
                    retry_after_s: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                }
                .into_response();
            }
        }
        return next.run(request).await;
    }
    let mut response = problem_response(&Problem {
        problem_type: "urn:retention-kpi:problem:unauthorized".to_owned(),
        title: "Unauthorized".to_owned(),
        status: 401,
        detail:
            "this service requires an API key: send Authorization: Bearer <key> or x-api-key: <key>"
                .to_owned(),
        errors: Vec::new(),
    });
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Memory a request's work is assumed to take, per byte of body: the body itself, its parsed
/// rows and the analytics over them (measured: two 11 MB CSV `/series` bodies peak at about
/// 144 MiB of process memory, BENCHMARKS.md).
pub const MEMORY_PER_BODY_BYTE: u64 = 8;

/// Middleware, outside the concurrency limit: reads the whole body (within `BODY_LIMIT`)
/// before the request takes a computing slot, so that clients trickling their bodies hold a
/// connection (bounded by `MAX_CONNECTIONS`, cut by `REQUEST_TIMEOUT_MS`) but not a slot; and
/// charges the request's estimated memory, [`MEMORY_PER_BODY_BYTE`] × its body, to the
/// process-wide `MEMORY_BUDGET_BYTES` until it has been answered. A request whose estimate
/// exceeds the whole budget is 413; one that does not fit beside the work in progress is
/// shed with 503 `overloaded` and `Retry-After`. With a `Content-Length`, both are decided
/// before the body is read.
pub async fn read_body_first(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    use super::error::ApiError;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let charge = |bytes: u64| -> Result<Option<tokio::sync::OwnedSemaphorePermit>, ApiError> {
        let kib = (bytes * MEMORY_PER_BODY_BYTE).div_ceil(1024);
        if kib == 0 {
            return Ok(None);
        }
        let budget_kib = (state.config.memory_budget_bytes / 1024).max(1);
        if kib > budget_kib {
            return Err(ApiError::PayloadTooLarge {
                limit: usize::try_from(budget_kib * 1024 / MEMORY_PER_BODY_BYTE)
                    .unwrap_or(usize::MAX),
            });
        }
        let permits = u32::try_from(kib).unwrap_or(u32::MAX);
        match state.memory.clone().try_acquire_many_owned(permits) {
            Ok(permit) => Ok(Some(permit)),
            Err(_) => {
                metrics::counter!("memory_budget_shed_total").increment(1);
                Err(ApiError::Overloaded)
            }
        }
    };
    let early = match declared.map(charge) {
        Some(Err(error)) => return error.into_response(),
        Some(Ok(permit)) => permit,
        None => None,
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, state.config.body_limit).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let too_large = error
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            return if too_large {
                ApiError::PayloadTooLarge {
                    limit: state.config.body_limit,
                }
            } else {
                ApiError::MalformedJson("the body could not be read".to_owned())
            }
            .into_response();
        }
    };
    let _charged = match early {
        Some(permit) => Some(permit),
        None => match charge(bytes.len() as u64) {
            Ok(permit) => permit,
            Err(error) => return error.into_response(),
        },
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// One token bucket per API key: `RATE_LIMIT_PER_SECOND` on average, bursts of
/// `RATE_LIMIT_BURST`; none without keys or with a rate of 0.
pub fn rate_limits(
    config: &crate::config::Config,
) -> Option<governor::DefaultKeyedRateLimiter<usize>> {
    use std::num::NonZeroU32;
    let rate = NonZeroU32::new(config.rate_limit_per_second)?;
    if config.api_keys.is_empty() {
        return None;
    }
    let burst = NonZeroU32::new(config.rate_limit_burst).unwrap_or(NonZeroU32::MIN);
    Some(governor::RateLimiter::keyed(
        governor::Quota::per_second(rate).allow_burst(burst),
    ))
}

/// The answer to a request shed by the concurrency limit: 503 with `Retry-After`.
pub async fn overloaded(_: tower::BoxError) -> Response {
    super::error::ApiError::Overloaded.into_response()
}
