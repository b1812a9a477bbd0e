//! `POST /nps`: Net Promoter Score with its 95 % interval.

use axum::extract::State;
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::nps::{net_promoter_score, NpsCounts};
use crate::kpi::{Confidence, InvalidInput, KpiResponse};
use serde_json::json;

/// One answer on the 0–10 scale. Parsed as a number so that 7.5 or 11 is refused with its
/// index and a clear sentence, not a type error.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(transparent)]
pub struct Score(pub f64);

impl utoipa::PartialSchema for Score {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .maximum(Some(10))
            .description(Some(
                "An answer to \"how likely are you to recommend …?\", 0 to 10.",
            ))
            .into()
    }
}

impl ToSchema for Score {}

/// Survey answers: either raw `scores`, or counts per bucket (`promoters`, `passives`,
/// `detractors`; an omitted bucket counts 0).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NpsRequest {
    /// Raw answers, whole numbers from 0 to 10.
    pub scores: Option<Vec<Score>>,
    /// Answers of 9 or 10.
    pub promoters: Option<Count>,
    /// Answers of 7 or 8.
    pub passives: Option<Count>,
    /// Answers of 0 to 6.
    pub detractors: Option<Count>,
    /// Level of the interval, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl NpsRequest {
    /// The counts per bucket, from either form; pointers are relative to this body.
    pub fn counts(self) -> Result<NpsCounts, InvalidInput> {
        let any_count =
            self.promoters.is_some() || self.passives.is_some() || self.detractors.is_some();
        match self.scores {
            Some(_) if any_count => Err(InvalidInput::new(
                "/scores",
                "give scores or bucket counts, not both",
                "the body has both scores and bucket counts: send one or the other",
            )),
            Some(scores) => NpsCounts::from_scores(&scores.iter().map(|s| s.0).collect::<Vec<_>>()),
            None if any_count => NpsCounts::new(
                self.promoters.map_or(0, |c| c.0),
                self.passives.map_or(0, |c| c.0),
                self.detractors.map_or(0, |c| c.0),
            ),
            None => Err(InvalidInput::new(
                "/scores",
                "required unless bucket counts are given",
                "give scores (0–10 answers) or promoters, passives and detractors counts",
            )),
        }
    }
}

impl Compute for NpsRequest {
    type Output = KpiResponse;

    fn compute(self, _state: &AppState) -> Result<KpiResponse, ApiError> {
        let confidence = Confidence::new(self.confidence)?;
        Ok(net_promoter_score(&self.counts()?, confidence))
    }
}

/// Net Promoter Score
///
/// `NPS = (P - D) / n × 100` from raw 0–10 answers or counts per bucket, with its interval
/// `NPS ± z × 100 × sqrt((p + q - (p - q)^2) / n)` at `confidence` (default 0.95, z =
/// 1.959964) in `interval`, and the promoter,
/// passive and detractor shares in `related`.
#[utoipa::path(
    post,
    path = "/nps",
    tag = "loyalty",
    operation_id = "net_promoter_score",
    request_body(content = NpsRequest, content_type = "application/json"),
    responses((status = 200, description = "NPS with its interval and breakdown", body = KpiResponse))
)]
pub async fn nps(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<NpsRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /nps` in the spec, each answered as a request would be.
pub fn nps_examples() -> Examples {
    Examples::of::<NpsRequest>(vec![
        example(
            "nps_30_from_counts",
            "200 promoters, 120 passives, 80 detractors: NPS 30 ± 7.65",
            json!({"promoters": 200, "passives": 120, "detractors": 80}),
        ),
        example(
            "nps_from_scores",
            "Twelve raw answers on the 0–10 scale",
            json!({"scores": [10, 9, 9, 8, 7, 10, 6, 3, 9, 10, 8, 5]}),
        ),
        example(
            "refused_score_11",
            "An answer of 11 is off the 0–10 scale: refused",
            json!({"scores": [10, 9, 11]}),
        ),
    ])
}
