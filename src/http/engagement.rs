//! `POST /engagement`: the customer engagement score from weighted components.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::engagement::{
    engagement_score, Component, EngagementInputs, EngagementReport, Measure,
};
use crate::kpi::InvalidInput;
use serde_json::json;

/// One input of the engagement score: either a rate (`participants` of `total`) or a raw
/// measure (`value` with its `min` and `max`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentRequest {
    /// What the component measures, e.g. `loyalty_members` or `weekly_logins`.
    pub name: String,
    /// Rate form: customers taking part.
    pub participants: Option<Count>,
    /// Rate form: customers in all.
    pub total: Option<Count>,
    /// Measure form: the observed value, between `min` and `max`.
    pub value: Option<f64>,
    /// Measure form: the value that normalises to 0.
    pub min: Option<f64>,
    /// Measure form: the value that normalises to 1.
    pub max: Option<f64>,
    /// Measure form: false when a lower value is better (e.g. days since last login).
    pub higher_is_better: Option<bool>,
    /// Relative weight, 0 or more; omit every weight for equal weights.
    #[schema(minimum = 0)]
    pub weight: Option<f64>,
}

/// Components of a customer engagement score (1 to 100).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EngagementRequest {
    #[schema(min_items = 1, max_items = 100)]
    pub components: Vec<ComponentRequest>,
}

impl ComponentRequest {
    fn into_component(self, index: usize, equal_weights: bool) -> Result<Component, InvalidInput> {
        let pointer = format!("/components/{index}");
        let refuse = |field: &str, reason: &str, detail: String| {
            InvalidInput::new(format!("{pointer}/{field}"), reason, detail)
        };
        let name = self.name;
        let rate_form = self.participants.is_some() || self.total.is_some();
        let measure_form = self.value.is_some()
            || self.min.is_some()
            || self.max.is_some()
            || self.higher_is_better.is_some();
        let measure = match (rate_form, measure_form) {
            (true, true) => {
                return Err(refuse(
                    "participants",
                    "give participants and total, or value with min and max, not both",
                    format!("component {name} mixes a rate (participants, total) with a measure (value, min, max)"),
                ))
            }
            (true, false) => Measure::Rate {
                participants: self
                    .participants
                    .ok_or_else(|| refuse("participants", "required with total", format!("component {name}: participants is missing")))?
                    .0,
                total: self
                    .total
                    .ok_or_else(|| refuse("total", "required with participants", format!("component {name}: total is missing")))?
                    .0,
            },
            (false, true) => {
                let need = |v: Option<f64>, field: &str| {
                    v.ok_or_else(|| refuse(field, "required for a measure", format!("component {name}: {field} is missing")))
                };
                Measure::Scaled {
                    value: need(self.value, "value")?,
                    min: need(self.min, "min")?,
                    max: need(self.max, "max")?,
                    higher_is_better: self.higher_is_better.unwrap_or(true),
                }
            }
            (false, false) => {
                return Err(refuse(
                    "value",
                    "give participants and total, or value with min and max",
                    format!("component {name} has neither a rate nor a measure"),
                ))
            }
        };
        let weight = match (self.weight, equal_weights) {
            (Some(w), _) => w,
            (None, true) => 1.0,
            (None, false) => {
                return Err(refuse(
                    "weight",
                    "required when other components have weights",
                    format!("component {name} has no weight while others do: give every component a weight, or none"),
                ))
            }
        };
        Component::new(&pointer, name, measure, weight)
    }
}

impl Compute for EngagementRequest {
    type Output = EngagementReport;

    fn compute(self, _state: &AppState) -> Result<EngagementReport, ApiError> {
        let equal_weights = self.components.iter().all(|c| c.weight.is_none());
        let components = self
            .components
            .into_iter()
            .enumerate()
            .map(|(i, c)| c.into_component(i, equal_weights))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(engagement_score(&EngagementInputs::new(components)?)?)
    }
}

/// Customer engagement score
///
/// `score = Σ w_i × x_i × 100 / Σ w_i`: each component normalised to 0–1 (a rate as
/// participants / total, a measure as (value − min) / (max − min), inverted when lower is
/// better), weighted (weights normalised to sum to 1; equal when none are given). The answer
/// lists each component's normalised value, weight, contribution in points and share.
#[utoipa::path(
    post,
    path = "/engagement",
    tag = "loyalty",
    operation_id = "engagement_score",
    request_body(content = EngagementRequest, content_type = "application/json"),
    responses((status = 200, description = "The score with each component's part", body = EngagementReport))
)]
pub async fn engagement(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<EngagementRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /engagement` in the spec, each answered as a request would be.
pub fn engagement_examples() -> Examples {
    Examples::of::<EngagementRequest>(vec![
        example(
            "weighted_components",
            "Two participation rates and two usage measures, weighted",
            json!({"components": [
                {"name": "loyalty_members", "participants": 300, "total": 1000, "weight": 0.2},
                {"name": "in_training", "participants": 150, "total": 1000, "weight": 0.2},
                {"name": "weekly_logins", "value": 3.5, "min": 0, "max": 7, "weight": 0.4},
                {"name": "days_since_last_login", "value": 6, "min": 0, "max": 30, "higher_is_better": false, "weight": 0.2}
            ]}),
        ),
        example(
            "equal_weights",
            "No weights given: the components count equally",
            json!({"components": [
                {"name": "feature_adoption", "participants": 640, "total": 1000},
                {"name": "key_actions_per_week", "value": 12, "min": 0, "max": 20}
            ]}),
        ),
        example(
            "refused_value_out_of_range",
            "A measure outside its own range: refused",
            json!({"components": [{"name": "weekly_logins", "value": 9, "min": 0, "max": 7}]}),
        ),
    ])
}
