//! Everything that knows about HTTP: the router, its layers, request parsing, problem details
//! and the OpenAPI document. Handlers stay thin: parse, call the core, serialise.

pub mod ab_test;
pub mod churn;
pub mod clv;
pub mod crr;
pub mod docs;
pub mod engagement;
pub mod error;
pub mod examples;
pub mod extract;
pub mod health;
pub mod kpis;
pub mod models;
pub mod nps;
pub mod records;
pub mod revenue;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode};
use axum::routing::{get, post};
use axum::{middleware, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::Config;
pub use docs::openapi;
pub use error::{ApiError, Problem};

/// What every handler can see: the configuration in force.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// Model fits running at once are bounded by `fit_workers`.
    pub fit_slots: Arc<Semaphore>,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        Self {
            fit_slots: Arc::new(Semaphore::new(config.fit_workers)),
            config: Arc::new(config),
        }
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
) -> Result<serde_json::Value, ApiError> {
    let request = extract::parse_value::<T>(body)?;
    let output = request.compute(state)?;
    serde_json::to_value(output).map_err(|e| ApiError::Internal(e.to_string()))
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole service as a router: `main` serves it, tests drive it in-process.
pub fn app(config: Config) -> Router {
    let timeout = Duration::from_millis(config.request_timeout_ms);
    let body_limit = config.body_limit;
    let state = AppState::new(config);
    let api = Router::new()
        .route("/crr", post(crr::crr))
        .route("/churn", post(churn::churn))
        .route("/clv", post(clv::clv))
        .route("/nps", post(nps::nps))
        .route("/revenue-churn", post(revenue::revenue_churn))
        .route("/engagement", post(engagement::engagement))
        .route("/loyalty", post(engagement::loyalty))
        .route("/ab-test", post(ab_test::ab_test))
        .route("/kpis", post(kpis::kpis))
        .route("/series", post(records::series))
        .route("/cohorts", post(records::cohorts))
        .route("/survival", post(records::survival))
        .route("/models/bgnbd", post(models::bgnbd))
        .route("/models/pareto-nbd", post(models::pareto_nbd))
        .route("/models/gamma-gamma", post(models::gamma_gamma))
        .route("/models/clv", post(models::model_clv))
        .route("/models/sbg", post(models::sbg))
        .route("/healthz", get(health::healthz))
        .merge(docs::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state);
    api.layer(
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
                        tracing::info_span!(
                            "request",
                            method = %request.method(),
                            path = %request.uri().path(),
                            request_id = %request_id,
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(middleware::from_fn(error::problem_for_bare_errors))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                timeout,
            )),
    )
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(request.uri().path().to_owned())
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} {}", request.method(), request.uri().path()))
}
