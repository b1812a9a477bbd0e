//! `POST /churn`: customer churn rate, with monthly and annual equivalents.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::conventions::{
    check_days_asked, churn_conventions, Convention, ConventionCounts, Day,
};
use crate::kpi::retention::{churn_report, ChurnCounts, Period, RetentionCounts};
use crate::kpi::{Confidence, InvalidInput, KpiResponse};
use serde_json::json;

/// Customers lost over a period: give `lost_customers`, or `new_customers` and
/// `end_customers` (then lost = start + new - end).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChurnRequest {
    /// Customers at the start of the period (S); greater than zero.
    pub start_customers: Count,
    /// Customers lost during the period (L); at most `start_customers`.
    pub lost_customers: Option<Count>,
    /// Customers acquired during the period (N).
    pub new_customers: Option<Count>,
    /// Customers at the end of the period (E).
    pub end_customers: Option<Count>,
    /// The period's length; adds the monthly and annual equivalents and the SaaS bands.
    pub period: Option<Period>,
    /// Level of the rates' Wilson intervals, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
    /// Count churn as a vendor does: `standard` (L / S, the default), `chartmogul`
    /// ((L − J − R) / S), `chartmogul_b2c` (Σ over `days` of 1 − kept / active),
    /// `baremetrics` ((L + D) / S over 30 days), `stripe` (L / (S + N) over 30 days),
    /// `profitwell` ((L − J) / S). With a convention, `lost_customers` counts every churn of the
    /// period (J and R included) and `new_customers` the acquisitions.
    pub convention: Option<Convention>,
    /// Adds every other convention in `related`, each with the reason it differs.
    pub compare_conventions: Option<bool>,
    /// J: customers who joined and churned within the period (among lost and new).
    pub joined_and_churned: Option<Count>,
    /// R: customers who churned and reactivated within the period (among lost).
    pub churned_and_reactivated: Option<Count>,
    /// D: customers delinquent (failed payment) for more than 30 days, not cancelled.
    pub delinquent_customers: Option<Count>,
    /// For `chartmogul_b2c`: each day of the period, the customers active at its start and
    /// how many of them are still active at its end.
    pub days: Option<Vec<DayRow>>,
}

/// One day of a B2C period.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayRow {
    pub active_at_start: Count,
    pub still_active_at_end: Count,
}

impl ChurnRequest {
    fn wants_conventions(&self) -> bool {
        self.convention.is_some()
            || self.compare_conventions == Some(true)
            || self.joined_and_churned.is_some()
            || self.churned_and_reactivated.is_some()
            || self.delinquent_customers.is_some()
            || self.days.is_some()
    }

    fn conventions(self, confidence: Confidence) -> Result<KpiResponse, ApiError> {
        check_days_asked(
            self.convention,
            self.compare_conventions,
            self.days.is_some(),
        )?;
        if self.period.is_some() {
            return Err(InvalidInput::new(
                "/period",
                "not with conventions",
                "period compounds the standard rate; with a convention, compare first and compound the rate you keep in a second request",
            )
            .into());
        }
        if self.end_customers.is_some() {
            return Err(InvalidInput::new(
                "/end_customers",
                "not with conventions",
                "the conventions count churns, not the end of the period: give lost_customers (every churn of the period) and new_customers",
            )
            .into());
        }
        let Some(lost) = self.lost_customers else {
            return Err(InvalidInput::new(
                "/lost_customers",
                "required with conventions",
                "give lost_customers: every churn that took effect in the period, including customers who joined or came back in it",
            )
            .into());
        };
        let count = |c: Option<Count>| c.map_or(0, |c| c.0);
        let counts = ConventionCounts {
            start: self.start_customers.0,
            churned: lost.0,
            new: count(self.new_customers),
            joined_and_churned: count(self.joined_and_churned),
            churned_and_reactivated: count(self.churned_and_reactivated),
            delinquent: count(self.delinquent_customers),
            days: self
                .days
                .unwrap_or_default()
                .into_iter()
                .map(|d| Day {
                    active_at_start: d.active_at_start.0,
                    still_active_at_end: d.still_active_at_end.0,
                })
                .collect(),
        };
        Ok(churn_conventions(
            self.convention
                .map_or(Convention::Standard, Convention::from),
            &counts,
            self.compare_conventions.unwrap_or(false),
            confidence,
        )?)
    }
}

impl Compute for ChurnRequest {
    type Output = KpiResponse;

    fn compute(self, _state: &AppState) -> Result<KpiResponse, ApiError> {
        let confidence = Confidence::new(self.confidence)?;
        if self.wants_conventions() {
            return self.conventions(confidence);
        }
        let start = self.start_customers.0;
        let new = self.new_customers.map(|c| c.0);
        let end = self.end_customers.map(|c| c.0);
        let counts = match (self.lost_customers, new, end) {
            (Some(lost), new, end) => ChurnCounts::from_lost(start, lost.0, new, end)?,
            (None, Some(new), Some(end)) => {
                ChurnCounts::from_counts(RetentionCounts::new(start, new, end)?)
            }
            (None, Some(_), None) => {
                return Err(InvalidInput::new(
                    "/end_customers",
                    "required with new_customers",
                    "new_customers was given without end_customers: give both, or lost_customers",
                )
                .into())
            }
            (None, None, _) => {
                return Err(InvalidInput::new(
                    "/lost_customers",
                    "required unless new_customers and end_customers are given",
                    "give lost_customers, or new_customers and end_customers, to count the customers lost",
                )
                .into())
            }
        };
        Ok(churn_report(&counts, self.period, confidence))
    }
}

/// Customer churn rate
///
/// `churn (%) = L / S × 100`, customers lost over customers at the start of the period (the
/// starting count is the denominator), with the Wilson score interval of L of S at
/// `confidence` (default 0.95) in `interval` and its steps in the breakdown. With `period`, `related` adds the monthly and annual
/// equivalents, compounded as `1 - (1 - churn)^(k_from / k_to)`, and the context lists the
/// SaaS bands. With `convention` (`chartmogul`, `chartmogul_b2c`, `baremetrics`, `stripe`,
/// `profitwell`) the rate is counted as that vendor documents it, and with
/// `compare_conventions: true` every convention answers side by side in `related`, each with
/// the reason it differs from the standard L / S (docs/formulas.md § 16).
#[utoipa::path(
    post,
    path = "/churn",
    tag = "retention",
    operation_id = "customer_churn_rate",
    request_body(content = ChurnRequest, content_type = "application/json"),
    responses((status = 200, description = "The churn rate with its breakdown", body = KpiResponse))
)]
pub async fn churn(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<ChurnRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /churn` in the spec, each answered as a request would be.
pub fn churn_examples() -> Examples {
    Examples::of::<ChurnRequest>(vec![
        example(
            "conventions_compared",
            "ChartMogul's worked example (100 at the start, 12 churned, one of whom rejoined and one of whom joined in the month) under every vendor's convention",
            json!({"start_customers": 100, "lost_customers": 12, "new_customers": 5, "joined_and_churned": 1, "churned_and_reactivated": 1, "delinquent_customers": 2, "convention": "chartmogul", "compare_conventions": true}),
        ),
        example(
            "churn_5_pct",
            "1,000 at the start, 950 at the end, 50 lost: 5 % churn",
            json!({"start_customers": 1000, "end_customers": 950, "lost_customers": 50}),
        ),
        example(
            "churn_8_pct_monthly",
            "20 of 250 lost in a month: 8 %, with its annual equivalent",
            json!({"start_customers": 250, "lost_customers": 20, "period": "month"}),
        ),
        example(
            "churn_from_counts_quarterly",
            "From start, new and end counts over a quarter",
            json!({"start_customers": 100, "new_customers": 20, "end_customers": 95, "period": "quarter"}),
        ),
        example(
            "churn_small_base_90_pct_interval",
            "2 of 25 lost: 8 % churn, and a 90 % Wilson interval that shows how little 25 customers tell",
            json!({"start_customers": 25, "lost_customers": 2, "confidence": 0.9}),
        ),
        example(
            "refused_confidence_out_of_range",
            "A confidence given in percent (95) instead of as a fraction: refused",
            json!({"start_customers": 25, "lost_customers": 2, "confidence": 95}),
        ),
        example(
            "refused_lost_exceeds_start",
            "More customers lost than there were at the start: refused",
            json!({"start_customers": 40, "lost_customers": 50}),
        ),
    ])
}
