//! `GET /healthz`: liveness.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The process is up and answering.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the service answers.
    pub status: String,
    /// The running version.
    pub version: String,
}

/// Liveness
///
/// Answers 200 while the process can serve requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    operation_id = "healthz",
    responses((status = 200, description = "The service is alive", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}
