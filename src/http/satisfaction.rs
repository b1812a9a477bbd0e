//! `POST /csat` and `POST /ces`: customer satisfaction and customer effort from survey
//! answers (raw or counted per point), with their intervals.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::satisfaction::{ces, csat, Answers, EffortScale};
use crate::kpi::{Confidence, InvalidInput, KpiResponse};

/// Survey answers on a whole-number scale: raw `scores` or `counts` per point.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswers {
    /// Raw answers, whole numbers from `scale_min` to `scale_max`.
    pub scores: Option<Vec<f64>>,
    /// Instead of `scores`: how many answered each point, from `scale_min` up to `scale_max`.
    pub counts: Option<Vec<Count>>,
    /// Lowest point of the scale (CSAT default 1, CES default 1).
    #[schema(minimum = 0, maximum = 100)]
    pub scale_min: Option<Count>,
    /// Highest point of the scale (CSAT default 5, CES default 7).
    #[schema(minimum = 1, maximum = 100)]
    pub scale_max: Option<Count>,
}

impl SurveyAnswers {
    fn answers(self, default_max: u32) -> Result<Answers, InvalidInput> {
        let bound = |c: Option<Count>, default: u32, pointer: &str| -> Result<u32, InvalidInput> {
            match c {
                None => Ok(default),
                Some(Count(v)) if v <= 100 => Ok(v as u32),
                Some(Count(v)) => Err(InvalidInput::new(
                    pointer,
                    "at most 100",
                    format!("{} {v}: scales run within 0–100", &pointer[1..]),
                )),
            }
        };
        let min = bound(self.scale_min, 1, "/scale_min")?;
        let max = bound(self.scale_max, default_max, "/scale_max")?;
        if self.scale_max.is_none() && min >= max {
            return Err(InvalidInput::new(
                "/scale_min",
                format!("below the scale's top ({max})"),
                format!(
                    "scale_min {min} is not below the default scale_max {max}: give scale_max too"
                ),
            ));
        }
        match (self.scores, self.counts) {
            (Some(_), Some(_)) => Err(InvalidInput::new(
                "/counts",
                "give scores or counts, not both",
                "the body has both scores and counts: send one or the other",
            )),
            (Some(scores), None) => Answers::from_scores(min, max, &scores),
            (None, Some(counts)) => {
                Answers::from_counts(min, max, &counts.iter().map(|c| c.0).collect::<Vec<_>>())
            }
            (None, None) => Err(InvalidInput::new(
                "/scores",
                "required unless counts are given",
                "give scores (the raw answers) or counts (answers per point of the scale)",
            )),
        }
    }
}

/// CSAT answers and which of them count as satisfied.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatRequest {
    #[serde(flatten)]
    pub answers: SurveyAnswers,
    /// How many points at the top of the scale count as satisfied (default 2: 4 and 5 on 1–5).
    #[schema(minimum = 1)]
    pub top_box: Option<Count>,
    /// Level of the intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl Compute for CsatRequest {
    type Output = KpiResponse;

    fn compute(self, _state: &AppState) -> Result<KpiResponse, ApiError> {
        let confidence = Confidence::new(self.confidence)?;
        let answers = self.answers.answers(5)?;
        let top_box = self
            .top_box
            .map_or(2, |c| c.0.min(u64::from(u32::MAX)) as u32);
        Ok(csat(&answers, top_box, confidence)?)
    }
}

/// CES answers and which way the scale runs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CesRequest {
    #[serde(flatten)]
    pub answers: SurveyAnswers,
    /// `true` (default) for "the company made it easy to handle my issue" agreement, 7 =
    /// strongly agree (CES 2.0); `false` when the question asks how much effort it took
    /// (1 = very low effort).
    pub higher_is_easier: Option<bool>,
    /// How many points at the easy end count as low effort (default 3: 5–7 on 1–7).
    #[schema(minimum = 1)]
    pub low_effort_boxes: Option<Count>,
    /// Level of the intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

impl Compute for CesRequest {
    type Output = KpiResponse;

    fn compute(self, _state: &AppState) -> Result<KpiResponse, ApiError> {
        let confidence = Confidence::new(self.confidence)?;
        let answers = self.answers.answers(7)?;
        let scale = EffortScale {
            higher_is_easier: self.higher_is_easier.unwrap_or(true),
            low_effort_boxes: self
                .low_effort_boxes
                .map_or(3, |c| c.0.min(u64::from(u32::MAX)) as u32),
        };
        Ok(ces(&answers, scale, confidence)?)
    }
}

/// Customer satisfaction score (CSAT)
///
/// `CSAT = S / n × 100`, S the answers in the top `top_box` points of the scale (default 2: 4
/// and 5 on the default 1–5 scale), from raw `scores` or `counts` per point, with the Wilson
/// interval of S of n at `confidence` (default 0.95); the mean answer with its Student-t
/// interval in `related`.
#[utoipa::path(
    post,
    path = "/csat",
    tag = "loyalty",
    operation_id = "customer_satisfaction_score",
    request_body(content = CsatRequest, content_type = "application/json"),
    responses((status = 200, description = "CSAT with its interval and breakdown, the mean answer in related", body = KpiResponse))
)]
pub async fn csat_endpoint(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<CsatRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// Customer effort score (CES)
///
/// The mean answer with its Student-t interval `mean ± t × s / √n` at `confidence` (default
/// 0.95), on a 1–7 scale by default where higher means easier (CES 2.0: "the company made it
/// easy to handle my issue"); in `related`, the share of low-effort answers (the
/// `low_effort_boxes` points at the easy end, default 3) with its Wilson interval. With
/// `higher_is_easier: false` the easy end is the bottom of the scale.
#[utoipa::path(
    post,
    path = "/ces",
    tag = "loyalty",
    operation_id = "customer_effort_score",
    request_body(content = CesRequest, content_type = "application/json"),
    responses((status = 200, description = "CES with its interval and breakdown, the low-effort share in related", body = KpiResponse))
)]
pub async fn ces_endpoint(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<CesRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /csat`.
pub fn csat_examples() -> Examples {
    Examples::of::<CsatRequest>(vec![
        example(
            "answers_1_to_5",
            "Eight answers on 1–5: five of them 4 or 5, CSAT 62.5 %",
            json!({"scores": [5, 5, 4, 4, 4, 3, 2, 1]}),
        ),
        example(
            "counts_per_point",
            "1,000 answers counted per point of the 1–5 scale",
            json!({"counts": [40, 60, 150, 400, 350]}),
        ),
        example(
            "top_3_box_on_10",
            "A 1–10 scale where 8, 9 and 10 count as satisfied",
            json!({"scores": [10, 9, 8, 8, 7, 6, 10, 3, 9, 5], "scale_max": 10, "top_box": 3}),
        ),
        example(
            "refused_answer_off_the_scale",
            "An answer of 6 on a 1–5 scale: refused, naming it",
            json!({"scores": [5, 4, 6]}),
        ),
    ])
}

/// The examples of `POST /ces`.
pub fn ces_examples() -> Examples {
    Examples::of::<CesRequest>(vec![
        example(
            "agreement_scale_1_to_7",
            "Six answers on the CES 2.0 1–7 agreement scale: CES 5.0, four of six low effort",
            json!({"scores": [7, 6, 6, 5, 4, 2]}),
        ),
        example(
            "effort_scale_1_to_5",
            "\"How much effort did you put in?\" on 1–5 (1 = very low): counts per point, the bottom 2 as low effort",
            json!({"counts": [120, 200, 90, 60, 30], "scale_max": 5, "higher_is_easier": false, "low_effort_boxes": 2}),
        ),
        example(
            "refused_counts_do_not_fit_the_scale",
            "Five counts for a seven-point scale: refused",
            json!({"counts": [3, 5, 8, 2, 1]}),
        ),
    ])
}
