//! `POST /ab-test`: did a retention tactic work? Two groups compared.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::nps::{NpsRequest, Score};
use super::{AppState, Compute};
use crate::kpi::ab_test::{
    compare_nps, compare_rates, AbTestReport, Proportion, RateKind, SampleSizeGoal,
};
use crate::kpi::{Confidence, InvalidInput};
use serde_json::json;

/// What the groups are compared on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbMetric {
    /// retained / started
    #[default]
    Retention,
    /// (started − retained) / started
    Churn,
    /// retained / started, with `retained` counting the converted customers
    Conversion,
    /// NPS from each group's `scores` or bucket counts
    Nps,
}

/// One group: `retained` of `started` for retention, churn and conversion; `scores` or
/// `promoters`/`passives`/`detractors` for NPS.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbGroup {
    /// Customers still retained (or converted) at the end.
    pub retained: Option<Count>,
    /// Customers in the group at the start; greater than zero.
    pub started: Option<Count>,
    /// NPS: raw answers 0–10.
    pub scores: Option<Vec<Score>>,
    /// NPS: answers of 9–10.
    pub promoters: Option<Count>,
    /// NPS: answers of 7–8.
    pub passives: Option<Count>,
    /// NPS: answers of 0–6.
    pub detractors: Option<Count>,
}

/// Two groups to compare, and optionally the effect a follow-up test should detect.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbTestRequest {
    /// Default `retention`.
    #[serde(default)]
    pub metric: AbMetric,
    /// The group without the tactic.
    pub control: AbGroup,
    /// The group with the tactic.
    pub variant: AbGroup,
    /// The smallest difference worth detecting, in percentage points (NPS points for `nps`);
    /// adds `required_sample_size_per_group`.
    #[schema(minimum = 0)]
    pub minimum_detectable_effect: Option<f64>,
    /// Power of that follow-up test in percent, 50 to 99.9; default 80.
    #[schema(minimum = 50, maximum = 99.9)]
    pub power_pct: Option<f64>,
    /// Level of the difference's interval and the group rates' intervals, a fraction from 0.5
    /// to 0.999 (default 0.95). The p-value and the sample size keep their own 5 % level.
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl AbGroup {
    fn has_nps_fields(&self) -> bool {
        self.scores.is_some()
            || self.promoters.is_some()
            || self.passives.is_some()
            || self.detractors.is_some()
    }

    fn proportion(self, group: &str) -> Result<Proportion, InvalidInput> {
        if self.has_nps_fields() {
            return Err(InvalidInput::new(
                format!("/{group}"),
                "retained and started only",
                format!("{group} has NPS fields: set metric to nps, or give retained and started"),
            ));
        }
        let need = |v: Option<Count>, field: &str| {
            v.map(|c| c.0).ok_or_else(|| {
                InvalidInput::new(
                    format!("/{group}/{field}"),
                    "required",
                    format!("{group}.{field} is required"),
                )
            })
        };
        Proportion::new(
            group,
            need(self.retained, "retained")?,
            need(self.started, "started")?,
        )
    }

    fn nps(self, group: &str) -> Result<crate::kpi::nps::NpsCounts, InvalidInput> {
        if self.retained.is_some() || self.started.is_some() {
            return Err(InvalidInput::new(
                format!("/{group}"),
                "scores or bucket counts only",
                format!("{group} has retained/started: for metric nps give scores or promoters, passives, detractors"),
            ));
        }
        NpsRequest {
            scores: self.scores,
            promoters: self.promoters,
            passives: self.passives,
            detractors: self.detractors,
            confidence: None,
        }
        .counts()
        .map_err(|e| e.nested_under(&format!("/{group}")))
    }
}

impl Compute for AbTestRequest {
    type Output = AbTestReport;

    fn compute(self, _state: &AppState) -> Result<AbTestReport, ApiError> {
        let confidence = Confidence::new(self.confidence)?;
        let notes = super::extract::fraction_notes(&[(
            "minimum_detectable_effect",
            self.minimum_detectable_effect,
            "percentage points",
        )]);
        let max_effect = if self.metric == AbMetric::Nps {
            200.0
        } else {
            100.0
        };
        let goal =
            match (self.minimum_detectable_effect, self.power_pct) {
                (Some(effect), power) => Some(SampleSizeGoal::new(
                    effect,
                    power.unwrap_or(80.0),
                    max_effect,
                )?),
                (None, Some(_)) => return Err(InvalidInput::new(
                    "/minimum_detectable_effect",
                    "required with power_pct",
                    "power_pct sizes a test for minimum_detectable_effect: give both, or neither",
                )
                .into()),
                (None, None) => None,
            };
        let kind = match self.metric {
            AbMetric::Nps => {
                let control = self.control.nps("control")?;
                let variant = self.variant.nps("variant")?;
                return Ok(with_notes(
                    compare_nps(control, variant, goal, confidence)?,
                    notes,
                ));
            }
            AbMetric::Retention => RateKind::Retention,
            AbMetric::Churn => RateKind::Churn,
            AbMetric::Conversion => RateKind::Conversion,
        };
        let control = self.control.proportion("control")?;
        let variant = self.variant.proportion("variant")?;
        Ok(with_notes(
            compare_rates(kind, control, variant, goal, confidence)?,
            notes,
        ))
    }
}

/// The report with `notes` added to its context.
fn with_notes(mut report: AbTestReport, notes: Vec<String>) -> AbTestReport {
    report
        .comparison
        .kpi
        .context
        .notes
        .extend(notes.into_iter().map(Into::into));
    report
}

/// A/B comparison of retention, churn, conversion or NPS
///
/// The difference variant − control in percentage points with its interval at `confidence`
/// (default 0.95), both rates
/// and the relative lift, and a two-sided p-value: the two-proportion z-test, or Fisher's
/// exact test when any expected count is below 5 (for NPS, a z-test on the difference with
/// each group's multinomial variance). With `minimum_detectable_effect`, the customers per
/// group a test needs to detect that difference at `power_pct` (default 80 %) and a two-sided
/// 5 % level. For rates, each group's rate carries its Wilson interval, and `related`
/// ends with the Bayesian reading: `probability_variant_beats_control` (percent) and
/// `expected_loss_choosing_variant` / `expected_loss_choosing_control` (points), from uniform
/// Beta(1, 1) priors, by exact sums (a normal approximation past 200,000 terms, named in the
/// breakdown).
#[utoipa::path(
    post,
    path = "/ab-test",
    tag = "retention",
    operation_id = "ab_test",
    request_body(content = AbTestRequest, content_type = "application/json"),
    responses((status = 200, description = "The comparison and its test", body = AbTestReport))
)]
pub async fn ab_test(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<AbTestRequest>,
) -> Result<super::FiniteJson, ApiError> {
    // Fisher's exact test and the Bayesian sums run up to a million terms: off the runtime.
    super::work::off_runtime(state, "ab_test", move |state| {
        request.compute(state).and_then(super::finite_json)
    })
    .await
}

/// The examples of `POST /ab-test` in the spec, each answered as a request would be.
pub fn ab_test_examples() -> Examples {
    Examples::of::<AbTestRequest>(vec![
        example(
            "retention_tactic",
            "42.0 % vs 46.5 % retained of 1,000 each, and the size of a test for 3 points",
            json!({"control": {"retained": 420, "started": 1000}, "variant": {"retained": 465, "started": 1000}, "minimum_detectable_effect": 3}),
        ),
        example(
            "small_pilot_fisher",
            "A pilot with small groups: Fisher's exact test",
            json!({"control": {"retained": 5, "started": 12}, "variant": {"retained": 10, "started": 11}}),
        ),
        example(
            "churn_comparison",
            "Churn of two groups (retained counts in, churn rates out)",
            json!({"metric": "churn", "control": {"retained": 940, "started": 1000}, "variant": {"retained": 962, "started": 1000}}),
        ),
        example(
            "nps_comparison",
            "Two groups' NPS from bucket counts",
            json!({"metric": "nps", "control": {"promoters": 200, "passives": 120, "detractors": 80}, "variant": {"promoters": 230, "passives": 110, "detractors": 60}}),
        ),
        example(
            "refused_retained_exceeds_started",
            "More retained than started: refused",
            json!({"control": {"retained": 120, "started": 100}, "variant": {"retained": 50, "started": 100}}),
        ),
    ])
}
