//! `POST /health`: customer health scores from weighted, normalised signals, banded, with
//! each signal's contribution, the distribution over the bands and the customers whose band
//! fell since a previous snapshot. (Not to be confused with `GET /healthz`, the probe.)

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::ValidJson;
use super::{AppState, Compute};
use crate::kpi::health_score::{
    check_signals, default_bands, health_scores, Band, CustomerSignals, HealthReport, Signal,
};
use crate::kpi::InvalidInput;

/// Most customers one request scores.
pub const MAX_HEALTH_CUSTOMERS: usize = 100_000;

/// A signal and how it is normalised.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalRow {
    /// The name the customers' `values` use (e.g. `usage`, `nps`, `tickets`).
    pub name: String,
    /// 0 or more; the weights are shares of their sum.
    #[schema(minimum = 0)]
    pub weight: f64,
    /// The raw value that counts as 0 (or as 1 when lower is better).
    pub min: f64,
    /// The raw value that counts as 1 (or 0); values beyond min–max are clipped.
    pub max: f64,
    /// Default true; false for signals where less is better (support tickets, failed
    /// payments).
    pub higher_is_better: Option<bool>,
}

/// A band of scores: `from` ≤ score < `to` (the top band includes 100).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BandRow {
    pub name: String,
    #[schema(minimum = 0, maximum = 100)]
    pub from: f64,
    #[schema(minimum = 0, maximum = 100)]
    pub to: f64,
}

/// One customer's raw signal values.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCustomer {
    /// Default: the customer's index in the request, as text.
    pub id: Option<String>,
    /// Raw values by signal name; a signal left out is missing for this customer.
    pub values: BTreeMap<String, f64>,
}

/// A customer's score in an earlier snapshot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviousScore {
    pub id: String,
    #[schema(minimum = 0, maximum = 100)]
    pub score: f64,
}

/// Signals, customers, and optionally bands and a previous snapshot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthRequest {
    pub signals: Vec<SignalRow>,
    pub customers: Vec<HealthCustomer>,
    /// Default: champion 80–100, healthy 60–80, needs attention 40–60, at risk 0–40. Bands
    /// must cover 0–100 with no gap and no overlap.
    pub bands: Option<Vec<BandRow>>,
    /// An earlier snapshot's scores: customers now in a lower band are listed in `fallen`.
    pub previous: Option<Vec<PreviousScore>>,
}

impl Compute for HealthRequest {
    type Output = HealthReport;

    fn compute(self, _state: &AppState) -> Result<HealthReport, ApiError> {
        if self.customers.len() > MAX_HEALTH_CUSTOMERS {
            return Err(InvalidInput::new(
                "/customers",
                format!("at most {MAX_HEALTH_CUSTOMERS} customers"),
                format!(
                    "{} customers; one request scores at most {MAX_HEALTH_CUSTOMERS}: split them",
                    self.customers.len()
                ),
            )
            .into());
        }
        let signals: Vec<Signal> = self
            .signals
            .into_iter()
            .map(|s| Signal {
                name: s.name,
                weight: s.weight,
                min: s.min,
                max: s.max,
                higher_is_better: s.higher_is_better.unwrap_or(true),
            })
            .collect();
        // The signals first: a customer's values are read against them.
        check_signals(&signals)?;
        let bands = match self.bands {
            None => default_bands(),
            Some(rows) => rows
                .into_iter()
                .map(|b| Band {
                    name: b.name,
                    from: b.from,
                    to: b.to,
                })
                .collect(),
        };
        let mut seen = HashSet::with_capacity(self.customers.len());
        let customers = self
            .customers
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if let Some(unknown) = c
                    .values
                    .keys()
                    .find(|k| !signals.iter().any(|s| &s.name == *k))
                {
                    return Err(InvalidInput::new(
                        format!("/customers/{i}/values/{unknown}"),
                        "a signal named in signals",
                        format!(
                            "customers[{i}]: {unknown:?} is not one of the signals ({})",
                            signals
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                let id = c.id.unwrap_or_else(|| i.to_string());
                if !seen.insert(id.clone()) {
                    return Err(InvalidInput::new(
                        format!("/customers/{i}/id"),
                        "ids must be distinct",
                        format!("customers[{i}]: the id {id:?} is used twice"),
                    ));
                }
                Ok(CustomerSignals {
                    values: signals
                        .iter()
                        .map(|s| c.values.get(&s.name).copied())
                        .collect(),
                    id,
                })
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        let previous: Vec<(String, f64)> = self
            .previous
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.id, p.score))
            .collect();
        Ok(health_scores(&signals, &bands, &customers, &previous)?)
    }
}

/// Customer health scores
///
/// Per customer a 0–100 score `100 × Σ w_i n_i / Σ w_i` over the signals it has a value for,
/// each signal normalised `n_i = clip((x_i − min_i) / (max_i − min_i), 0, 1)` (1 minus that
/// when lower is better), with each signal's points; the band (default ≥ 80 champion, 60–80
/// healthy, 40–60 needs attention, < 40 at risk; configurable, covering 0–100 without gap or
/// overlap); the distribution over the bands; and, with `previous` (an earlier snapshot's
/// scores), the customers whose band fell, largest drop first. Weights must be 0 or more;
/// overlapping bands are refused naming the band.
#[utoipa::path(
    post,
    path = "/health",
    tag = "loyalty",
    operation_id = "customer_health_scores",
    request_body(content = HealthRequest, content_type = "application/json"),
    responses((status = 200, description = "Each customer's score, band and contributions; the bands' counts; the customers whose band fell", body = HealthReport))
)]
pub async fn health_scores_endpoint(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<HealthRequest>,
) -> Result<super::FiniteJson, ApiError> {
    // Up to 100,000 customers × 32 signals, and an answer to match: off the runtime.
    super::work::off_runtime(state, "health", move |state| {
        request.compute(state).and_then(super::finite_json)
    })
    .await
}

/// The examples of `POST /health`.
pub fn health_examples() -> Examples {
    let signals = json!([
        {"name": "usage", "weight": 3, "min": 0, "max": 100},
        {"name": "engagement", "weight": 2, "min": 0, "max": 100},
        {"name": "nps", "weight": 2, "min": 0, "max": 10},
        {"name": "tickets", "weight": 1, "min": 0, "max": 10, "higher_is_better": false},
        {"name": "failed_payments", "weight": 1, "min": 0, "max": 3, "higher_is_better": false},
        {"name": "p_alive", "weight": 1, "min": 0, "max": 1}
    ]);
    Examples::of::<HealthRequest>(vec![
        example(
            "accounts_with_previous_snapshot",
            "Three accounts on six signals, against last month's scores: beta fell from champion",
            json!({
                "signals": signals,
                "customers": [
                    {"id": "acme", "values": {"usage": 90, "engagement": 80, "nps": 9, "tickets": 1, "failed_payments": 0, "p_alive": 0.95}},
                    {"id": "beta", "values": {"usage": 55, "engagement": 40, "nps": 6, "tickets": 6, "failed_payments": 1, "p_alive": 0.7}},
                    {"id": "corp", "values": {"usage": 20, "engagement": 15, "tickets": 9}}
                ],
                "previous": [{"id": "acme", "score": 88}, {"id": "beta", "score": 82}, {"id": "corp", "score": 35}]
            }),
        ),
        example(
            "hand_checkable",
            "One customer on three signals: (2 × 0.7 + 0.9 + 0.7) / 4 × 100 = 75, healthy",
            json!({
                "signals": [
                    {"name": "usage", "weight": 2, "min": 0, "max": 100},
                    {"name": "nps", "weight": 1, "min": 0, "max": 10},
                    {"name": "tickets", "weight": 1, "min": 0, "max": 10, "higher_is_better": false}
                ],
                "customers": [{"id": "acme", "values": {"usage": 70, "nps": 9, "tickets": 3}}]
            }),
        ),
        example(
            "refused_overlapping_bands",
            "Bands 50–100 and 0–60 overlap: refused, naming the band",
            json!({
                "signals": [{"name": "usage", "weight": 1, "min": 0, "max": 100}],
                "customers": [{"id": "acme", "values": {"usage": 70}}],
                "bands": [{"name": "good", "from": 50, "to": 100}, {"name": "bad", "from": 0, "to": 60}]
            }),
        ),
        example(
            "refused_negative_weight",
            "A negative weight: refused",
            json!({
                "signals": [{"name": "usage", "weight": -1, "min": 0, "max": 100}],
                "customers": [{"id": "acme", "values": {"usage": 70}}]
            }),
        ),
    ])
}
