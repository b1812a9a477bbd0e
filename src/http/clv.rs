//! `POST /clv`: customer lifetime value by four methods, with CLV : CAC.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::examples::{example, Examples};
use super::extract::{Count, ValidJson};
use super::{AppState, Compute};
use crate::kpi::clv::{
    self, customer_lifetime_value, margins_per_period, ClvMethod, ClvMethodName,
};
use crate::kpi::clv_interval::{with_churn_based_interval, ChurnBasedEvidence};
use crate::kpi::{Confidence, InvalidInput, KpiResponse};
use serde_json::json;

/// A CLV computation. `method` says which fields are read:
/// - `simple`: `average_purchase_value`, `purchase_frequency` (purchases per period, default 1), `lifespan` (periods);
/// - `churn_based`: `arpu` and `churn_rate_pct` per the same period, `gross_margin_pct`; or,
///   instead of `churn_rate_pct`, `churned_customers` of `start_customers` (the churn's counts,
///   which give an interval), and optionally `arpu_standard_deviation` over `arpu_customers`
///   (ARPU's spread, for the delta method) and `confidence`;
/// - `discounted`: `margins` (one per period) or `margin_per_period` with `periods`, `retention_rate_pct`
///   and `discount_rate_pct` per period, optional `cost_per_period`;
/// - `historical`: `purchases` (past amounts), `gross_margin_pct`.
///
/// Any method takes `acquisition_cost` (CAC) for CLV : CAC and net CLV. A field the method does
/// not read is refused, so a mix-up cannot pass silently.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClvRequest {
    pub method: ClvMethodName,
    #[schema(minimum = 0)]
    pub average_purchase_value: Option<f64>,
    #[schema(minimum = 0)]
    pub purchase_frequency: Option<f64>,
    #[schema(minimum = 0)]
    pub lifespan: Option<f64>,
    /// Average revenue per user per period.
    #[schema(minimum = 0)]
    pub arpu: Option<f64>,
    #[schema(minimum = 0, maximum = 100)]
    pub gross_margin_pct: Option<f64>,
    /// Churn per period in percent; greater than zero.
    #[schema(minimum = 0, maximum = 100)]
    pub churn_rate_pct: Option<f64>,
    /// churn_based, instead of `churn_rate_pct`: the customers lost in the period (L > 0).
    pub churned_customers: Option<Count>,
    /// churn_based, with `churned_customers`: the customers at the period's start (S).
    pub start_customers: Option<Count>,
    /// churn_based: the standard deviation of revenue per customer per period around ARPU.
    #[schema(minimum = 0)]
    pub arpu_standard_deviation: Option<f64>,
    /// churn_based, with `arpu_standard_deviation`: the customers ARPU averages over.
    pub arpu_customers: Option<Count>,
    /// churn_based: level of the interval, a fraction from 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
    /// Margin of each period 1..T (at most 1200 periods).
    #[schema(value_type = Option<Vec<f64>>)]
    pub margins: Option<Vec<f64>>,
    #[schema(minimum = 0)]
    pub margin_per_period: Option<f64>,
    /// Horizon in periods, with `margin_per_period` (1 to 1200).
    pub periods: Option<Count>,
    #[schema(minimum = 0, maximum = 100)]
    pub retention_rate_pct: Option<f64>,
    #[schema(minimum = 0)]
    pub discount_rate_pct: Option<f64>,
    /// Ongoing cost to serve per period, subtracted from each period's margin.
    #[schema(minimum = 0)]
    pub cost_per_period: Option<f64>,
    /// Past purchase amounts of one customer.
    pub purchases: Option<Vec<f64>>,
    /// Customer acquisition cost (CAC); greater than zero.
    #[schema(minimum = 0)]
    pub acquisition_cost: Option<f64>,
}

fn required<T>(value: Option<T>, field: &str, method: ClvMethodName) -> Result<T, InvalidInput> {
    value.ok_or_else(|| {
        InvalidInput::new(
            format!("/{field}"),
            format!("required for method {}", method.name()),
            format!("{field} is required for method {}", method.name()),
        )
    })
}

/// Both fields of a pair, or neither: `Some` with both, an error naming the missing one.
fn pair<A, B>(a: (Option<A>, &str), b: (Option<B>, &str)) -> Result<Option<(A, B)>, InvalidInput> {
    match (a.0, b.0) {
        (Some(x), Some(y)) => Ok(Some((x, y))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(InvalidInput::new(
            format!("/{}", b.1),
            format!("required with {}", a.1),
            format!("{} was given without {}", a.1, b.1),
        )),
        (None, Some(_)) => Err(InvalidInput::new(
            format!("/{}", a.1),
            format!("required with {}", b.1),
            format!("{} was given without {}", b.1, a.1),
        )),
    }
}

impl ClvRequest {
    /// The counts behind a churn-based CLV's churn and the spread behind its ARPU.
    fn churn_evidence(&self) -> Result<ChurnBasedEvidence, InvalidInput> {
        let counts = pair(
            (self.churned_customers.map(|c| c.0), "churned_customers"),
            (self.start_customers.map(|c| c.0), "start_customers"),
        )?;
        let spread = pair(
            (self.arpu_standard_deviation, "arpu_standard_deviation"),
            (self.arpu_customers.map(|c| c.0), "arpu_customers"),
        )?;
        ChurnBasedEvidence::new(counts, spread, Confidence::new(self.confidence)?)
    }

    /// Names of the method-specific fields that were given.
    fn given(&self) -> Vec<&'static str> {
        let present = [
            (
                "average_purchase_value",
                self.average_purchase_value.is_some(),
            ),
            ("purchase_frequency", self.purchase_frequency.is_some()),
            ("lifespan", self.lifespan.is_some()),
            ("arpu", self.arpu.is_some()),
            ("gross_margin_pct", self.gross_margin_pct.is_some()),
            ("churn_rate_pct", self.churn_rate_pct.is_some()),
            ("churned_customers", self.churned_customers.is_some()),
            ("start_customers", self.start_customers.is_some()),
            (
                "arpu_standard_deviation",
                self.arpu_standard_deviation.is_some(),
            ),
            ("arpu_customers", self.arpu_customers.is_some()),
            ("confidence", self.confidence.is_some()),
            ("margins", self.margins.is_some()),
            ("margin_per_period", self.margin_per_period.is_some()),
            ("periods", self.periods.is_some()),
            ("retention_rate_pct", self.retention_rate_pct.is_some()),
            ("discount_rate_pct", self.discount_rate_pct.is_some()),
            ("cost_per_period", self.cost_per_period.is_some()),
            ("purchases", self.purchases.is_some()),
        ];
        present
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect()
    }

    fn method_inputs(self, evidence: &ChurnBasedEvidence) -> Result<ClvMethod, InvalidInput> {
        let method = self.method;
        if let Some(stray) = self
            .given()
            .into_iter()
            .find(|f| !method.fields().contains(f))
        {
            return Err(InvalidInput::new(
                format!("/{stray}"),
                format!("not used by method {}", method.name()),
                format!(
                    "{stray} is not used by method {}, which reads {}",
                    method.name(),
                    method.fields().join(", ")
                ),
            ));
        }
        match method {
            ClvMethodName::Simple => ClvMethod::simple(
                required(
                    self.average_purchase_value,
                    "average_purchase_value",
                    method,
                )?,
                self.purchase_frequency.unwrap_or(1.0),
                required(self.lifespan, "lifespan", method)?,
            ),
            ClvMethodName::ChurnBased => {
                let churn = match (self.churn_rate_pct, evidence.churn_rate_pct()) {
                    (Some(_), Some(_)) => return Err(InvalidInput::new(
                        "/churned_customers",
                        "give churn_rate_pct or churned_customers with start_customers, not both",
                        "churn_rate_pct and churned_customers were both given: send the rate or the counts behind it",
                    )),
                    (rate, counted) => required(rate.or(counted), "churn_rate_pct", method)?,
                };
                ClvMethod::churn_based(
                    required(self.arpu, "arpu", method)?,
                    required(self.gross_margin_pct, "gross_margin_pct", method)?,
                    churn,
                )
            }
            ClvMethodName::Discounted => {
                let periods = self.periods.map(|p| p.0);
                let margins = margins_per_period(self.margins, self.margin_per_period, periods)?;
                ClvMethod::discounted(
                    margins,
                    required(self.retention_rate_pct, "retention_rate_pct", method)?,
                    required(self.discount_rate_pct, "discount_rate_pct", method)?,
                    self.cost_per_period.unwrap_or(0.0),
                )
            }
            ClvMethodName::Historical => ClvMethod::historical(
                required(self.purchases, "purchases", method)?,
                required(self.gross_margin_pct, "gross_margin_pct", method)?,
            ),
        }
    }
}

impl Compute for ClvRequest {
    type Output = KpiResponse;

    fn compute(self, _state: &AppState) -> Result<KpiResponse, ApiError> {
        let cac = self
            .acquisition_cost
            .map(clv::acquisition_cost)
            .transpose()?;
        let evidence = match self.method {
            ClvMethodName::ChurnBased => self.churn_evidence()?,
            _ => ChurnBasedEvidence::default(),
        };
        let notes = super::extract::fraction_notes(&[
            ("gross_margin_pct", self.gross_margin_pct, "%"),
            ("churn_rate_pct", self.churn_rate_pct, "%"),
            ("retention_rate_pct", self.retention_rate_pct, "%"),
            ("discount_rate_pct", self.discount_rate_pct, "%"),
        ]);
        let method = self.method_inputs(&evidence)?;
        let answer = customer_lifetime_value(&method, cac)?;
        let mut answer = with_churn_based_interval(answer, &method, &evidence);
        answer
            .kpi
            .context
            .notes
            .extend(notes.into_iter().map(Into::into));
        Ok(answer)
    }
}

/// Customer lifetime value
///
/// CLV by `method`: `simple` (V × F × L), `churn_based` (ARPU × m / c), `discounted`
/// (Σ (M_t − C) r^(t−1) / (1 + d)^t) or `historical` ((P_1 + … + P_n) × m). With
/// `acquisition_cost`, `related` adds CLV : CAC and net CLV (CLV − CAC). A churn-based CLV
/// from `churned_customers` of `start_customers` carries an interval: the churn's Wilson
/// interval carried through ARPU × m / c, or, with `arpu_standard_deviation` over
/// `arpu_customers`, the delta method over both; the method is named in `interval`.
#[utoipa::path(
    post,
    path = "/clv",
    tag = "value",
    operation_id = "customer_lifetime_value",
    request_body(content = ClvRequest, content_type = "application/json"),
    responses((status = 200, description = "CLV with its breakdown", body = KpiResponse))
)]
pub async fn clv(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<ClvRequest>,
) -> Result<super::FiniteJson, ApiError> {
    request.compute(&state).and_then(super::finite_json)
}

/// The examples of `POST /clv` in the spec, each answered as a request would be.
pub fn clv_examples() -> Examples {
    Examples::of::<ClvRequest>(vec![
        example(
            "simple_750",
            "$50 a purchase, 5 purchases a year, 3 years: $750",
            json!({"method": "simple", "average_purchase_value": 50, "purchase_frequency": 5, "lifespan": 3}),
        ),
        example(
            "simple_300",
            "$150 a year for 2 years: $300",
            json!({"method": "simple", "average_purchase_value": 150, "lifespan": 2}),
        ),
        example(
            "churn_based_with_cac",
            "$40 ARPU a month, 75 % margin, 2.5 % monthly churn, $300 to acquire",
            json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churn_rate_pct": 2.5, "acquisition_cost": 300}),
        ),
        example(
            "churn_based_from_counts_with_interval",
            "5 of 200 customers lost in a month, ARPU $40 (spread $20 over 400 customers), 75 % margin: $1,200 with a 95 % interval by the delta method",
            json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churned_customers": 5, "start_customers": 200, "arpu_standard_deviation": 20, "arpu_customers": 400}),
        ),
        example(
            "discounted_3_years",
            "$100 margin a year for 3 years, 80 % retention, 10 % discount rate",
            json!({"method": "discounted", "margin_per_period": 100, "periods": 3, "retention_rate_pct": 80, "discount_rate_pct": 10}),
        ),
        example(
            "historical",
            "Four past purchases at a 40 % gross margin",
            json!({"method": "historical", "purchases": [120, 80, 95.5, 150], "gross_margin_pct": 40}),
        ),
        example(
            "refused_zero_churn",
            "A churn rate of 0 would make the lifespan infinite: refused",
            json!({"method": "churn_based", "arpu": 40, "gross_margin_pct": 75, "churn_rate_pct": 0}),
        ),
        example(
            "refused_negative_money",
            "A negative purchase value: refused",
            json!({"method": "simple", "average_purchase_value": -50, "lifespan": 3}),
        ),
    ])
}
