//! Everything that knows about HTTP: the router, its layers, request parsing, problem details
//! and the OpenAPI document. Handlers stay thin: parse, call the core, serialise.

pub mod ab_test;
pub mod charts;
pub mod churn;
pub mod clv;
pub mod columnar;
pub mod crr;
pub mod customer_health;
pub mod docs;
pub mod endpoints;
pub mod engagement;
pub mod error;
pub mod examples;
pub mod extract;
pub mod forecast;
pub mod health;
pub mod kpis;
pub mod loyalty;
pub mod models;
pub mod nps;
pub mod ops;
pub mod records;
pub mod respond;
pub mod revenue;
pub mod satisfaction;
pub mod sql;
pub mod ui;
pub mod what_if;
pub mod work;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, Method};
use axum::{middleware, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Semaphore;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
pub use docs::openapi;
pub use error::{ApiError, Problem};
pub use respond::{finite_json, FiniteJson};

/// What every handler can see: the configuration in force. One `Arc`, so that the clone
/// every extractor and middleware takes is a single reference-count increment.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// The state shared by every request.
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    /// CPU work (fits, record analytics) running at once is bounded by `fit_workers`.
    pub work_slots: Arc<Semaphore>,
    /// The memory budget of request work, in KiB permits (see `ops::read_body_first`).
    pub memory: Arc<Semaphore>,
    /// Requests waiting for a worker slot (bounded, see [`work`]).
    pub work_waiting: std::sync::atomic::AtomicUsize,
    /// The accepted API keys (none: no authentication).
    pub api_keys: Vec<String>,
    /// A token bucket per API key (by its index in `api_keys`); none without keys or with
    /// `RATE_LIMIT_PER_SECOND` 0.
    pub rate_limits: Option<governor::DefaultKeyedRateLimiter<usize>>,
    /// Lowered when shutdown begins: `/readyz` then answers 503.
    pub ready: Arc<AtomicBool>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(config: Config) -> Self {
        Self(Arc::new(Shared {
            work_slots: Arc::new(Semaphore::new(config.fit_workers)),
            rate_limits: ops::rate_limits(&config),
            work_waiting: std::sync::atomic::AtomicUsize::new(0),
            memory: Arc::new(Semaphore::new(
                usize::try_from(config.memory_budget_bytes / 1024)
                    .unwrap_or(usize::MAX)
                    .clamp(1, Semaphore::MAX_PERMITS),
            )),
            api_keys: config
                .api_keys
                .iter()
                .map(|k| k.expose().to_owned())
                .collect(),
            ready: ops::readiness_flag(),
            config,
        }))
    }
}

/// A request body that computes its answer. Handlers call it; so does the spec's example
/// generator, which is why the examples in openapi.yaml are real answers.
pub trait Compute: DeserializeOwned {
    type Output: Serialize;
    fn compute(self, state: &AppState) -> Result<Self::Output, ApiError>;
}

/// Parses a JSON value as `T`'s body and computes it: the path of a batch item and of the
/// spec's examples.
pub fn compute_value<T: Compute>(
    state: &AppState,
    body: serde_json::Value,
) -> Result<Box<serde_json::value::RawValue>, ApiError> {
    let request = extract::parse_value::<T>(body)?;
    let bytes = respond::to_vec(&request.compute(state)?)?;
    // The writer writes UTF-8 JSON, so neither check below can fail.
    let json = String::from_utf8(bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    serde_json::value::RawValue::from_string(json).map_err(|e| ApiError::Internal(e.to_string()))
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole service as a router: `main` serves it, tests drive it in-process.
pub fn app(config: Config) -> Router {
    app_with_readiness(config).0
}

/// The router and the readiness flag `main` lowers on shutdown.
pub fn app_with_readiness(config: Config) -> (Router, Arc<AtomicBool>) {
    let timeout = Duration::from_millis(config.request_timeout_ms);
    let body_limit = config.body_limit;
    let concurrency = config.concurrency_limit;
    let cors = cors_layer(&config.cors_origins);
    let state = AppState::new(config);
    let ready = state.ready.clone();
    ops::prometheus();
    // Computing routes: API key first (when keys are configured), then the concurrency limit
    // that sheds the excess.
    let compute = endpoints::computing()
        .into_iter()
        .fold(OpenApiRouter::new(), |router, endpoint| {
            router.routes(endpoint.route)
        });
    let compute = endpoints::queries()
        .into_iter()
        .fold(compute, OpenApiRouter::routes)
        .split_for_parts()
        .0
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(ops::overloaded))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(concurrency)),
        )
        // Bodies are read before a slot is taken (this layer wraps the limit).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ops::read_body_first,
        ));
    // No keys configured, no authentication layer (rather than one that lets all through).
    let compute = if state.api_keys.is_empty() {
        compute
    } else {
        compute.layer(middleware::from_fn_with_state(
            state.clone(),
            ops::require_api_key,
        ))
    };
    // Operations stay open and outside the limit, so that probes answer under load.
    let operations = endpoints::operations()
        .into_iter()
        .fold(OpenApiRouter::new(), OpenApiRouter::routes)
        .split_for_parts()
        .0
        .merge(docs::swagger_ui())
        .merge(ui::routes());
    let api = compute
        .merge(operations)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The deadline inside the metrics, so that time-outs are counted with their status.
        .layer(middleware::from_fn(move |request, next| {
            ops::deadline(timeout, request, next)
        }))
        .layer(middleware::from_fn(ops::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state);
    let router = api.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &Request| {
                        let request_id = request
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        // Client-supplied text, cut to 200 bytes: a 10 KB method or path
                        // is not logged whole.
                        tracing::info_span!(
                            "request",
                            method = %extract::truncated(request.method().as_str()),
                            path = %extract::truncated(request.uri().path()),
                            request_id = %extract::truncated(request_id),
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO))
                    // A 5xx is shedding or a time-out (expected under load, counted in
                    // /metrics) or a bug, which ApiError::Internal logs as an error itself.
                    .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(middleware::from_fn(ops::security_headers))
            .layer(middleware::from_fn(error::problem_for_bare_errors)),
    );
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    (router, ready)
}

/// CORS for the configured origins (`*`: any); none configured, no CORS headers.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| o.parse().ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static("x-api-key"),
            ])
            .expose_headers([REQUEST_ID]),
    )
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(request.uri().path().to_owned())
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} {}", request.method(), request.uri().path()))
}
