//! The one list of endpoints. Each line registers a handler: its route and its OpenAPI
//! operation both come from the handler's `#[utoipa::path]` (utoipa-axum's `routes!`, as
//! crates.io registers its routes), and a computing endpoint brings the examples the spec shows
//! and the spec-driven tests send. The router ([`super::app`]) and the OpenAPI document
//! ([`super::openapi`]) are both built from these lists, so they cannot disagree.

use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

use super::examples::Examples;
use super::{ab_test, churn, clv, crr, docs, engagement, health, kpis, loyalty, models, nps, ops};
use super::{customer_health, forecast, records, revenue, satisfaction, sql, what_if, AppState};

/// A computing endpoint: its handler's route and operation, and its examples.
pub struct Endpoint {
    pub route: UtoipaMethodRouter<AppState>,
    pub examples: fn() -> Examples,
}

fn endpoint(route: UtoipaMethodRouter<AppState>, examples: fn() -> Examples) -> Endpoint {
    Endpoint { route, examples }
}

/// The endpoints that compute, in the spec's order: behind the API key, the body budget and
/// the concurrency limit.
pub fn computing() -> Vec<Endpoint> {
    vec![
        endpoint(routes!(crr::crr), crr::crr_examples),
        endpoint(routes!(churn::churn), churn::churn_examples),
        endpoint(routes!(clv::clv), clv::clv_examples),
        endpoint(
            routes!(what_if::what_if_endpoint),
            what_if::what_if_examples,
        ),
        endpoint(routes!(nps::nps), nps::nps_examples),
        endpoint(
            routes!(revenue::revenue_churn),
            revenue::revenue_churn_examples,
        ),
        endpoint(
            routes!(engagement::engagement),
            engagement::engagement_examples,
        ),
        endpoint(routes!(loyalty::loyalty), loyalty::loyalty_examples),
        endpoint(
            routes!(satisfaction::csat_endpoint),
            satisfaction::csat_examples,
        ),
        endpoint(
            routes!(satisfaction::ces_endpoint),
            satisfaction::ces_examples,
        ),
        endpoint(
            routes!(customer_health::health_scores_endpoint),
            customer_health::health_examples,
        ),
        endpoint(routes!(ab_test::ab_test), ab_test::ab_test_examples),
        endpoint(routes!(kpis::kpis), kpis::kpis_examples),
        endpoint(
            routes!(records::series::series),
            records::series::series_examples,
        ),
        endpoint(
            routes!(forecast::forecast_endpoint),
            forecast::forecast_examples,
        ),
        endpoint(
            routes!(records::cohorts::cohorts),
            records::cohorts::cohorts_examples,
        ),
        endpoint(
            routes!(records::survival::survival),
            records::survival::survival_examples,
        ),
        endpoint(
            routes!(records::retention::retention),
            records::retention::retention_examples,
        ),
        endpoint(
            routes!(records::lifecycle::lifecycle_endpoint),
            records::lifecycle::lifecycle_examples,
        ),
        endpoint(
            routes!(records::stickiness::stickiness_endpoint),
            records::stickiness::stickiness_examples,
        ),
        endpoint(routes!(records::cox::cox), records::cox::cox_examples),
        endpoint(
            routes!(records::competing::competing),
            records::competing::competing_examples,
        ),
        endpoint(
            routes!(models::purchase::bgnbd),
            models::purchase::bgnbd_examples,
        ),
        endpoint(
            routes!(models::purchase::pareto_nbd),
            models::purchase::pareto_nbd_examples,
        ),
        endpoint(
            routes!(models::purchase::mbgnbd),
            models::purchase::mbgnbd_examples,
        ),
        endpoint(
            routes!(models::purchase::bgbb),
            models::purchase::bgbb_examples,
        ),
        endpoint(
            routes!(models::spend::gamma_gamma),
            models::spend::gamma_gamma_examples,
        ),
        endpoint(
            routes!(models::clv::model_clv),
            models::clv::model_clv_examples,
        ),
        endpoint(
            routes!(models::backtest::model_backtest),
            models::backtest::model_backtest_examples,
        ),
        endpoint(routes!(models::sbg::sbg), models::sbg::sbg_examples),
    ]
}

/// Reference answers behind the same key and limits as the computing endpoints, from query
/// parameters (no body): the reduction SQL.
pub fn queries() -> Vec<UtoipaMethodRouter<AppState>> {
    vec![routes!(sql::reduction_sql)]
}

/// Probes and the API description: open, outside the limits, so that they answer under load.
pub fn operations() -> Vec<UtoipaMethodRouter<AppState>> {
    vec![
        routes!(health::healthz),
        routes!(ops::readyz),
        routes!(ops::metrics_text),
        routes!(docs::openapi_json),
        routes!(docs::openapi_yaml),
    ]
}
