//! `POST /kpis`: many metrics for one dashboard in one request.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::examples::{example, Examples};
use super::extract::ValidJson;
use super::{compute_value, AppState, Compute};
use crate::kpi::InvalidInput;
use serde_json::json;

pub use crate::config::DEFAULT_MAX_BATCH_ITEMS;

/// The metrics a batch item can ask for; each takes the body of its endpoint.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchMetric {
    Crr,
    Churn,
    RevenueChurn,
    Clv,
    Nps,
    Engagement,
    Loyalty,
    AbTest,
    Csat,
    Ces,
    Health,
    WhatIf,
    Forecast,
}

/// One item: `metric`, an optional `id` echoed in its result, and the fields of that
/// metric's own request body (as `/crr`, `/churn`, … take them).
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchItem {
    pub metric: BatchMetric,
    /// The caller's name for this item, echoed in its result.
    pub id: Option<String>,
    /// For `ab_test` items: the A/B test's own `metric` (`retention`, `churn` or `nps`), which
    /// the item's `metric` field already names.
    pub ab_metric: Option<String>,
}

/// A batch of metrics; at most 100 items by default (`MAX_BATCH_ITEMS` configures the
/// bound; more is refused with 422). Each item is an object with `metric` (`crr`, `churn`,
/// `revenue_churn`, `clv`, `nps`, `engagement`, `loyalty`, `ab_test`, `csat`, `ces`,
/// `health`, `what_if`, `forecast`), an optional string `id`,
/// and that metric's request fields (see `BatchItem`; an `ab_test` item gives the test's own
/// `metric` as `ab_metric`). Items are checked one by one: an item
/// refused (an unknown metric, a missing field, impossible values) gets a problem in its
/// place, and the others still answer; an item that is not a JSON object refuses the whole
/// batch (422 pointing at it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpisRequest {
    #[schema(value_type = Vec<Object>, min_items = 1, max_items = 100)]
    pub items: Vec<Value>,
}

/// One item's outcome: its answer (`status` 200, `result`) or its problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    /// The item's `id`, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The item's `metric`, when it was readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<BatchMetric>,
    /// The status the item alone would have answered with.
    pub status: u16,
    /// The answer its endpoint would give.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Box<serde_json::value::RawValue>>,
    /// Why the item was refused; pointers are into the whole batch body (`/items/2/...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

/// The results in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpisResponse {
    /// How many items answered 200.
    pub succeeded: usize,
    /// How many items were refused.
    pub failed: usize,
    pub results: Vec<BatchResult>,
}

/// An item read: its metric, its id and the rest of its body.
type SplitItem = (BatchMetric, Option<String>, Value);

/// Reads `metric` and `id` off an item, leaving its body; a refusal keeps the id if read.
fn split_item(item: Value) -> Result<SplitItem, (Option<String>, ApiError)> {
    let Value::Object(mut body) = item else {
        return Err((
            None,
            shape(
                "",
                "must be an object",
                "a batch item must be a JSON object",
            ),
        ));
    };
    let id = match body.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id),
        Some(_) => {
            return Err((
                None,
                shape("/id", "must be a string", "id must be a string"),
            ))
        }
    };
    let metric = match body.remove("metric") {
        None => return Err((id, shape("/metric", "required", "the item has no metric"))),
        Some(metric) => serde_json::from_value::<BatchMetric>(metric).map_err(|e| {
            (
                id.clone(),
                shape("/metric", "unknown metric", &format!("metric: {e}")),
            )
        }),
    }?;
    // The A/B test's own `metric` (retention, churn or nps) would collide with the item's:
    // in a batch it is `ab_metric`.
    if matches!(metric, BatchMetric::AbTest) {
        if let Some(ab_metric) = body.remove("ab_metric") {
            body.insert("metric".to_owned(), ab_metric);
        }
    }
    Ok((metric, id, Value::Object(body)))
}

fn shape(pointer: &str, reason: &str, detail: &str) -> ApiError {
    ApiError::InvalidBody {
        pointer: pointer.to_owned(),
        reason: reason.to_owned(),
        detail: detail.to_owned(),
    }
}

fn run(
    state: &AppState,
    metric: BatchMetric,
    body: Value,
) -> Result<Box<serde_json::value::RawValue>, ApiError> {
    use super::{
        ab_test, churn, clv, crr, customer_health, engagement, forecast, loyalty, nps, revenue,
        satisfaction, what_if,
    };
    match metric {
        BatchMetric::Crr => compute_value::<crr::CrrRequest>(state, body),
        BatchMetric::Churn => compute_value::<churn::ChurnRequest>(state, body),
        BatchMetric::RevenueChurn => compute_value::<revenue::RevenueChurnRequest>(state, body),
        BatchMetric::Clv => compute_value::<clv::ClvRequest>(state, body),
        BatchMetric::Nps => compute_value::<nps::NpsRequest>(state, body),
        BatchMetric::Engagement => compute_value::<engagement::EngagementRequest>(state, body),
        BatchMetric::Loyalty => compute_value::<loyalty::LoyaltyRequest>(state, body),
        BatchMetric::AbTest => compute_value::<ab_test::AbTestRequest>(state, body),
        BatchMetric::Csat => compute_value::<satisfaction::CsatRequest>(state, body),
        BatchMetric::Ces => compute_value::<satisfaction::CesRequest>(state, body),
        BatchMetric::Health => compute_value::<customer_health::HealthRequest>(state, body),
        BatchMetric::WhatIf => compute_value::<what_if::WhatIfRequest>(state, body),
        BatchMetric::Forecast => compute_value::<forecast::ForecastRequest>(state, body),
    }
}

fn run_item(state: &AppState, index: usize, item: Value) -> BatchResult {
    let prefix = format!("/items/{index}");
    let (id, metric, outcome) = match split_item(item) {
        Ok((metric, id, body)) => (id, Some(metric), run(state, metric, body)),
        Err((id, error)) => (id, None, Err(error)),
    };
    match outcome {
        Ok(result) => BatchResult {
            id,
            metric,
            status: 200,
            result: Some(result),
            problem: None,
        },
        Err(error) => {
            let error = error.nested_under(&prefix);
            BatchResult {
                id,
                metric,
                status: error.status().as_u16(),
                result: None,
                problem: Some(error.problem()),
            }
        }
    }
}

impl Compute for KpisRequest {
    type Output = KpisResponse;

    fn compute(self, state: &AppState) -> Result<KpisResponse, ApiError> {
        let limit = state.config.max_batch_items;
        if self.items.is_empty() || self.items.len() > limit {
            return Err(InvalidInput::new(
                "/items",
                format!("must hold 1 to {limit} items"),
                format!(
                    "a batch holds 1 to {limit} items; this one has {}",
                    self.items.len()
                ),
            )
            .into());
        }
        if let Some(i) = self.items.iter().position(|item| !item.is_object()) {
            return Err(ApiError::InvalidBody {
                pointer: format!("/items/{i}"),
                reason: "must be an object".to_owned(),
                detail: format!("items[{i}] is not an object: each item is {{\"metric\": …, …}}"),
            });
        }
        let results: Vec<BatchResult> = self
            .items
            .into_iter()
            .enumerate()
            .map(|(i, item)| run_item(state, i, item))
            .collect();
        let succeeded = results.iter().filter(|r| r.status == 200).count();
        Ok(KpisResponse {
            succeeded,
            failed: results.len() - succeeded,
            results,
        })
    }
}

/// Many KPIs in one request
///
/// Each item names its `metric` (`crr`, `churn`, `revenue_churn`, `clv`, `nps`,
/// `engagement`, `loyalty`, `ab_test`, `csat`, `ces`, `health`, `what_if`, `forecast`), an optional `id`, and the fields of that metric's own
/// request. Results come back in request order with the caller's ids; an invalid item gets a
/// problem object in its place (pointers into the whole body) and does not fail the others.
#[utoipa::path(
    post,
    path = "/kpis",
    tag = "batch",
    operation_id = "kpis_batch",
    request_body(content = KpisRequest, content_type = "application/json"),
    responses((status = 200, description = "Each item's result or problem, in request order", body = KpisResponse))
)]
pub async fn kpis(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<KpisRequest>,
) -> Result<super::FiniteJson, ApiError> {
    // Up to MAX_BATCH_ITEMS computations, A/B tests among them: off the runtime.
    super::work::off_runtime(state, "kpis", move |state| {
        request.compute(state).and_then(super::finite_json)
    })
    .await
}

/// The examples of `POST /kpis` in the spec, each answered as a request would be.
pub fn kpis_examples() -> Examples {
    Examples::of::<KpisRequest>(vec![
        example(
            "dashboard_with_one_invalid_item",
            "Six metrics for a dashboard; the last item is invalid and gets a problem",
            json!({"items": [
                {"id": "q3_retention", "metric": "crr", "start_customers": 100, "new_customers": 20, "end_customers": 95},
                {"id": "q3_churn", "metric": "churn", "start_customers": 1000, "lost_customers": 50, "period": "quarter"},
                {"id": "q3_mrr", "metric": "revenue_churn", "start_mrr": 100000, "churned_mrr": 5000},
                {"id": "survey", "metric": "nps", "promoters": 200, "passives": 120, "detractors": 80},
                {"id": "support_csat", "metric": "csat", "counts": [40, 60, 150, 400, 350]},
                {"id": "support_effort", "metric": "ces", "scores": [7, 6, 6, 5, 4, 2]},
                {"id": "broken", "metric": "crr", "start_customers": 100, "new_customers": 30, "end_customers": 20}
            ]}),
        ),
        example(
            "refused_empty_batch",
            "An empty batch: refused",
            json!({"items": []}),
        ),
    ])
}
