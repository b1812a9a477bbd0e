//! `POST /what-if`: the effect of a change in retention (or churn) or ARPU on CLV,
//! customers, revenue and profit, and where "raising retention by 5 % raises profit by
//! 25–95 %" comes from.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::what_if::{what_if, Change, Scenario, WhatIfReport, MAX_HORIZON};
use crate::kpi::InvalidInput;

/// The customer base, per period.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfBase {
    /// Customers kept from one period to the next, in percent (below 100); or give
    /// `churn_rate_pct`.
    #[schema(minimum = 0, exclusive_maximum = 100)]
    pub retention_rate_pct: Option<f64>,
    /// Customers lost per period, in percent (above 0); instead of `retention_rate_pct`.
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub churn_rate_pct: Option<f64>,
    /// Revenue per customer per period.
    #[schema(minimum = 0)]
    pub arpu: f64,
    /// Gross margin on revenue in percent (default 100).
    #[schema(minimum = 0, maximum = 100)]
    pub gross_margin_pct: Option<f64>,
    /// Cost to serve a customer per period (default 0).
    #[schema(minimum = 0)]
    pub cost_per_customer: Option<f64>,
    /// Discount rate per period in percent (default 0).
    #[schema(minimum = 0, maximum = 1000)]
    pub discount_rate_pct: Option<f64>,
    /// Customers at the start (default 0).
    #[schema(minimum = 0)]
    pub customers: Option<f64>,
    /// Customers acquired each period (default 0).
    #[schema(minimum = 0)]
    pub new_customers_per_period: Option<f64>,
    /// Cost of acquiring one customer (default 0).
    #[schema(minimum = 0)]
    pub acquisition_cost: Option<f64>,
    /// Growth of a customer's margin per period of tenure, in percent (default 0): Reichheld &
    /// Sasser's loyal customers who buy more and cost less.
    #[schema(minimum = 0, maximum = 100)]
    pub loyalty_growth_pct: Option<f64>,
}

/// The change: retention (or churn) in points, ARPU in percent; at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfChange {
    /// Retention change in percentage points ("+5 pp").
    pub retention_pp: Option<f64>,
    /// Churn change in percentage points ("-1 pp"); instead of `retention_pp`.
    pub churn_pp: Option<f64>,
    /// ARPU change in percent ("+3 %").
    pub arpu_pct: Option<f64>,
}

/// A base, a change and a horizon.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfRequest {
    pub base: WhatIfBase,
    pub change: WhatIfChange,
    /// Periods to project customers, revenue and profit over (default 12, at most 600).
    #[schema(minimum = 1, maximum = 600)]
    pub horizon: Option<Count>,
}

fn within(
    value: Option<f64>,
    default: f64,
    pointer: &str,
    low: f64,
    high: f64,
) -> Result<f64, InvalidInput> {
    let v = value.unwrap_or(default);
    if v.is_finite() && (low..=high).contains(&v) {
        Ok(v)
    } else {
        Err(InvalidInput::new(
            pointer,
            format!("from {low} to {high}"),
            format!(
                "{} {v} is outside {low} to {high}",
                &pointer[pointer.rfind('/').map_or(0, |i| i + 1)..]
            ),
        ))
    }
}

impl WhatIfRequest {
    fn scenario(&self) -> Result<(Scenario, Change, u32), InvalidInput> {
        let b = &self.base;
        let retention = match (b.retention_rate_pct, b.churn_rate_pct) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "/base/churn_rate_pct",
                    "give retention_rate_pct or churn_rate_pct, not both",
                    "the base has both retention_rate_pct and churn_rate_pct: one is 100 minus the other; send one",
                ))
            }
            (Some(r), None) if r.is_finite() && (0.0..100.0).contains(&r) => r / 100.0,
            (Some(r), None) => {
                return Err(InvalidInput::new(
                    "/base/retention_rate_pct",
                    "from 0 to below 100",
                    format!("retention_rate_pct {r}: a base keeps from 0 to below 100 % of its customers each period"),
                ))
            }
            (None, Some(c)) if c.is_finite() && c > 0.0 && c <= 100.0 => 1.0 - c / 100.0,
            (None, Some(c)) => {
                return Err(InvalidInput::new(
                    "/base/churn_rate_pct",
                    "above 0, at most 100",
                    format!("churn_rate_pct {c}: churn per period is above 0 and at most 100 %"),
                ))
            }
            (None, None) => {
                return Err(InvalidInput::new(
                    "/base/retention_rate_pct",
                    "required unless churn_rate_pct is given",
                    "give the base's retention_rate_pct (or churn_rate_pct) per period",
                ))
            }
        };
        let big = 1e15;
        let scenario = Scenario {
            retention,
            arpu: within(Some(b.arpu), 0.0, "/base/arpu", 0.0, big)?,
            margin: within(
                b.gross_margin_pct,
                100.0,
                "/base/gross_margin_pct",
                0.0,
                100.0,
            )? / 100.0,
            cost_per_customer: within(
                b.cost_per_customer,
                0.0,
                "/base/cost_per_customer",
                0.0,
                big,
            )?,
            discount: within(
                b.discount_rate_pct,
                0.0,
                "/base/discount_rate_pct",
                0.0,
                1000.0,
            )? / 100.0,
            customers: within(b.customers, 0.0, "/base/customers", 0.0, big)?,
            new_per_period: within(
                b.new_customers_per_period,
                0.0,
                "/base/new_customers_per_period",
                0.0,
                big,
            )?,
            acquisition_cost: within(b.acquisition_cost, 0.0, "/base/acquisition_cost", 0.0, big)?,
            loyalty_growth: within(
                b.loyalty_growth_pct,
                0.0,
                "/base/loyalty_growth_pct",
                0.0,
                100.0,
            )? / 100.0,
        };
        let c = &self.change;
        let retention_pp = match (c.retention_pp, c.churn_pp) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "/change/churn_pp",
                    "give retention_pp or churn_pp, not both",
                    "the change has both retention_pp and churn_pp: a churn change is the negative retention change; send one",
                ))
            }
            (Some(r), None) => within(Some(r), 0.0, "/change/retention_pp", -100.0, 100.0)?,
            (None, Some(ch)) => -within(Some(ch), 0.0, "/change/churn_pp", -100.0, 100.0)?,
            (None, None) => 0.0,
        };
        let arpu_pct = within(c.arpu_pct, 0.0, "/change/arpu_pct", -100.0, 10_000.0)?;
        if c.retention_pp.is_none() && c.churn_pp.is_none() && c.arpu_pct.is_none() {
            return Err(InvalidInput::new(
                "/change",
                "at least one of retention_pp, churn_pp, arpu_pct",
                "the change is empty: give retention_pp (or churn_pp) in points, or arpu_pct in percent",
            ));
        }
        let horizon = match self.horizon {
            None => 12,
            Some(Count(h)) if (1..=u64::from(MAX_HORIZON)).contains(&h) => h as u32,
            Some(Count(h)) => {
                return Err(InvalidInput::new(
                    "/horizon",
                    format!("from 1 to {MAX_HORIZON}"),
                    format!("horizon {h}: project 1 to {MAX_HORIZON} periods"),
                ))
            }
        };
        let as_churn = (c.churn_pp.is_some(), b.churn_rate_pct.is_some());
        Ok((
            scenario,
            Change {
                retention_pp,
                arpu_pct,
                as_churn,
            },
            horizon,
        ))
    }
}

impl Compute for WhatIfRequest {
    type Output = WhatIfReport;

    fn compute(self, _state: &AppState) -> Result<WhatIfReport, ApiError> {
        let (scenario, change, horizon) = self.scenario()?;
        Ok(what_if(&scenario, change, horizon)?)
    }
}

/// What-if: the effect of a retention, churn or ARPU change
///
/// From a base (retention or churn per period, ARPU, margin, cost to serve, discount rate,
/// customers, acquisition and its cost, and optionally the growth of a loyal customer's margin
/// per period of tenure) and a change (`retention_pp`, `churn_pp`, `arpu_pct`): both scenarios'
/// churn-based CLV M / (1 − r) and discounted CLV M / (1 + d − r (1 + g)), customers N_t = r
/// N_(t−1) + a, revenue and profit over `horizon` periods (default 12); the change in each,
/// with its formula and steps; and, when retention rises, the base retention at which this
/// change would raise the discounted CLV by 25 % and by 95 % (Reichheld & Sasser's claim,
/// under the stated assumptions).
#[utoipa::path(
    post,
    path = "/what-if",
    tag = "value",
    operation_id = "what_if",
    request_body(content = WhatIfRequest, content_type = "application/json"),
    responses((status = 200, description = "Both scenarios, the effects with their breakdowns, and the retention claim", body = WhatIfReport))
)]
pub async fn what_if_endpoint(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<WhatIfRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /what-if`.
pub fn what_if_examples() -> Examples {
    Examples::of::<WhatIfRequest>(vec![
        example(
            "five_points_of_retention",
            "Retention 80 % → 85 %, ARPU 100 at 50 % margin, 10 % discount rate: discounted CLV 166.67 → 200 (+20 %)",
            json!({"base": {"retention_rate_pct": 80, "arpu": 100, "gross_margin_pct": 50, "discount_rate_pct": 10, "customers": 1000}, "change": {"retention_pp": 5}, "horizon": 3}),
        ),
        example(
            "churn_and_price_with_acquisition",
            "Churn 3 % → 2 % a month and ARPU +3 %, with 200 new customers a month at 150 each, over two years",
            json!({"base": {"churn_rate_pct": 3, "arpu": 49, "gross_margin_pct": 80, "cost_per_customer": 4, "discount_rate_pct": 1, "customers": 5000, "new_customers_per_period": 200, "acquisition_cost": 150}, "change": {"churn_pp": -1, "arpu_pct": 3}, "horizon": 24}),
        ),
        example(
            "loyal_customers_grow",
            "A yearly base of 94.5 % retention whose customers' margins grow 5 % a year: +5 points nearly double the discounted CLV (+95 %)",
            json!({"base": {"retention_rate_pct": 94.5, "arpu": 1000, "gross_margin_pct": 40, "discount_rate_pct": 10, "loyalty_growth_pct": 5, "customers": 100}, "change": {"retention_pp": 5}, "horizon": 5}),
        ),
        example(
            "refused_retention_past_100",
            "Retention 97 % + 5 points: refused",
            json!({"base": {"retention_rate_pct": 97, "arpu": 10}, "change": {"retention_pp": 5}}),
        ),
    ])
}
