//! `POST /revenue-churn`: MRR churn, GRR, NRR, quick ratio and end MRR of one period.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::ValidJson;
use super::{AppState, Compute};
use crate::kpi::conventions::{check_days_asked, revenue_conventions, Convention, MrrDay};
use crate::kpi::revenue::{revenue_churn_report, MrrMovements, RevenueChurnReport};
use serde_json::json;

/// One period's MRR and its movements, in the caller's currency; an omitted movement is 0.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevenueChurnRequest {
    /// MRR at the start of the period (S); greater than zero.
    #[schema(minimum = 0)]
    pub start_mrr: f64,
    /// MRR from customers acquired during the period (N).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub new_mrr: f64,
    /// MRR added by existing customers' upgrades (X).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub expansion_mrr: f64,
    /// MRR removed by existing customers' downgrades (C).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub contraction_mrr: f64,
    /// MRR lost to cancellations (L); with contraction at most `start_mrr`.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub churned_mrr: f64,
    /// MRR from former customers who came back (R).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub reactivation_mrr: f64,
    /// Adds gross and net MRR churn as a vendor counts them in `conventions`: `standard`,
    /// `chartmogul` (the same B2B formulas), `chartmogul_b2c` (daily, from `days`),
    /// `baremetrics` (capped at 100 %, reactivation not credited). Stripe and ProfitWell
    /// document no MRR churn rate and are refused.
    pub convention: Option<Convention>,
    /// Adds every convention with an MRR churn rate, each with the reason it differs.
    pub compare_conventions: Option<bool>,
    /// For `chartmogul_b2c`: each day's MRR at its start and end and the new MRR it added.
    pub days: Option<Vec<MrrDayRow>>,
}

/// One day of MRR.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MrrDayRow {
    pub start_mrr: f64,
    pub end_mrr: f64,
    #[serde(default)]
    pub new_mrr: f64,
    /// MRR lost to cancellations that day (gross churn counts it).
    #[serde(default)]
    pub churned_mrr: f64,
    /// MRR lost to downgrades that day.
    #[serde(default)]
    pub contraction_mrr: f64,
}

impl Compute for RevenueChurnRequest {
    type Output = RevenueChurnReport;

    fn compute(self, _state: &AppState) -> Result<RevenueChurnReport, ApiError> {
        let movements = MrrMovements::new(
            self.start_mrr,
            self.new_mrr,
            self.expansion_mrr,
            self.contraction_mrr,
            self.churned_mrr,
            self.reactivation_mrr,
        )?;
        check_days_asked(
            self.convention,
            self.compare_conventions,
            self.days.is_some(),
        )?;
        let mut report = revenue_churn_report(&movements);
        if self.convention.is_some()
            || self.compare_conventions == Some(true)
            || self.days.is_some()
        {
            let days: Vec<MrrDay> = self
                .days
                .unwrap_or_default()
                .into_iter()
                .map(|d| MrrDay {
                    start_mrr: d.start_mrr,
                    end_mrr: d.end_mrr,
                    new_mrr: d.new_mrr,
                    lost_mrr: d.churned_mrr + d.contraction_mrr,
                })
                .collect();
            report.conventions = revenue_conventions(
                self.convention.unwrap_or_default(),
                &movements,
                &days,
                self.compare_conventions.unwrap_or(false),
            )?;
        }
        Ok(report)
    }
}

/// Revenue (MRR) churn
///
/// Gross MRR churn `(L + C) / S × 100`, net MRR churn `(L + C − X − R) / S × 100`,
/// GRR `(S − L − C) / S × 100`, NRR `(S − L − C + X) / S × 100`, quick ratio
/// `(N + X + R) / (L + C)` (left out when nothing was lost) and end MRR, each with its
/// breakdown; `negative_churn` is true when net MRR churn is below 0. Losing one large
/// customer can cost more revenue than losing several small ones: read it beside `/churn`.
#[utoipa::path(
    post,
    path = "/revenue-churn",
    tag = "revenue",
    operation_id = "revenue_churn",
    request_body(content = RevenueChurnRequest, content_type = "application/json"),
    responses((status = 200, description = "The revenue metrics of the period", body = RevenueChurnReport))
)]
pub async fn revenue_churn(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<RevenueChurnRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /revenue-churn` in the spec, each answered as a request would be.
pub fn revenue_churn_examples() -> Examples {
    Examples::of::<RevenueChurnRequest>(vec![
        example(
            "revenue_conventions_compared",
            "ChartMogul's B2B example (100 at the start, 10 churned, 10 contraction, 10 expansion) with 5 of reactivation, under each vendor's MRR churn",
            json!({"start_mrr": 100, "churned_mrr": 10, "contraction_mrr": 10, "expansion_mrr": 10, "reactivation_mrr": 5, "convention": "chartmogul", "compare_conventions": true}),
        ),
        example(
            "revenue_churn_5_pct",
            "100,000 MRR at the start, 5,000 lost to cancellations: 5 % revenue churn",
            json!({"start_mrr": 100000, "churned_mrr": 5000}),
        ),
        example(
            "negative_churn",
            "Upgrades outweigh cancellations and downgrades: negative net churn",
            json!({"start_mrr": 100000, "new_mrr": 8000, "expansion_mrr": 12000, "contraction_mrr": 1500, "churned_mrr": 5000, "reactivation_mrr": 500}),
        ),
        example(
            "refused_losses_exceed_start",
            "More MRR lost than the period started with: refused",
            json!({"start_mrr": 1000, "churned_mrr": 800, "contraction_mrr": 300}),
        ),
    ])
}
