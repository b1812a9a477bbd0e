//! `POST /models/backtest`: a purchase model fitted on the transactions up to the calibration
//! end and its hold-out predictions set beside what the customers did.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::input::{parse_transactions, TransactionRow};
use super::purchase::{parameter_source, GivenParameters};
use super::{off_runtime_as, Chart};
use crate::http::charts::{self, Format};
use crate::http::error::ApiError;
use crate::http::examples::{data, example, Examples};
use crate::http::{AppState, Compute};
use crate::kpi::InvalidInput;
use crate::models::backtest::{backtest, BacktestResponse, BacktestSettings};
use crate::models::purchase::PurchaseModelName;
use crate::models::rfm::{parse_date, TimeUnit};
use crate::units::Period;

/// A hold-out backtest on raw transactions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    pub transactions: Vec<TransactionRow>,
    /// `YYYY-MM-DD`, inclusive: the model is fitted on the transactions up to it.
    #[schema(example = "1997-09-30")]
    pub calibration_end: String,
    /// `YYYY-MM-DD`, inclusive: the hold-out runs from the day after `calibration_end` to it.
    #[schema(example = "1998-06-30")]
    pub observation_end: String,
    /// Time unit of the summaries and the tracking curve; default `week`.
    pub unit: Option<TimeUnit>,
    /// `bgnbd` (default), `mbgnbd`, `pareto_nbd` or `bgbb`.
    pub model: Option<PurchaseModelName>,
    /// With `bgbb`: the calendar period of one purchase opportunity (`day`, `week` from Monday,
    /// `month` (default), `quarter`, `year`); only whole periods count.
    pub period: Option<Period>,
    /// L2 penalty of the calibration fit (lifetimes' `penalizer_coef`), 0 by default.
    #[schema(minimum = 0)]
    pub penalty: Option<f64>,
    /// Backtests these parameters (an earlier answer's) instead of a calibration fit.
    #[schema(value_type = Option<std::collections::HashMap<String, f64>>)]
    pub parameters: Option<GivenParameters>,
}

impl Compute for BacktestRequest {
    type Output = BacktestResponse;
    fn compute(self, state: &AppState) -> Result<BacktestResponse, ApiError> {
        let model = self.model.unwrap_or_default();
        let period = match (model, self.period) {
            (PurchaseModelName::Bgbb, period) => Some(period.unwrap_or_default()),
            (_, None) => None,
            (_, Some(_)) => {
                return Err(InvalidInput::new(
                    "/period",
                    "only with model bgbb",
                    "period sets BG/BB's purchase opportunities; the other models run in continuous time (unit): leave period out",
                )
                .into())
            }
        };
        if self.transactions.is_empty() {
            return Err(InvalidInput::new(
                "/transactions",
                "must not be empty",
                "no transaction to backtest on",
            )
            .into());
        }
        let calibration_end = parse_date("/calibration_end", &self.calibration_end)?;
        let observation_end = parse_date("/observation_end", &self.observation_end)?;
        let source = parameter_source(model, self.parameters, self.penalty, true)?;
        let transactions = parse_transactions(self.transactions)?;
        let settings = BacktestSettings {
            model,
            calibration_end,
            observation_end,
            unit: self.unit.unwrap_or(TimeUnit::Week),
            period,
            source,
        };
        Ok(backtest(
            &transactions,
            &settings,
            state.config.max_model_rows,
        )?)
    }
}

/// Hold-out backtest of a purchase model
///
/// Fits BG/NBD, MBG/NBD, Pareto/NBD or BG/BB (`model`) on the transactions up to `calibration_end`
/// (or takes `parameters`), predicts each customer's purchases from then to
/// `observation_end`, and sets them beside what happened: per customer actual and predicted,
/// MAE, RMSE and bias, the mean actual and predicted by calibration frequency (0 … 6, 7+), and
/// the tracking curve of cumulative repeat purchases, actual against expected, from the first
/// customer's first purchase to `observation_end` in the `unit` (incremental too). A purchase
/// is a purchase day; for BG/BB a purchase `period` (default month), over the whole calendar
/// periods after the first purchase's, up to the last that ends by each end date.
impl Chart for BacktestRequest {
    fn chart(self, state: &AppState) -> Result<String, ApiError> {
        let model = self.model.unwrap_or_default();
        let unit = match (model, self.period) {
            (PurchaseModelName::Bgbb, period) => {
                format!(
                    "{}s",
                    format!("{:?}", period.unwrap_or_default()).to_lowercase()
                )
            }
            _ => self.unit.unwrap_or(TimeUnit::Week).plural().to_owned(),
        };
        let answer = self.compute(state)?;
        charts::backtest_chart(&answer, model.label(), &unit)
    }
}

///
/// The rows may come as an Arrow IPC stream or a Parquet file, the other fields then in the
/// query string, as on `/models/bgnbd`.
#[utoipa::path(
    post,
    path = "/models/backtest",
    tag = "models",
    operation_id = "backtest_purchase_model",
    request_body(content((BacktestRequest = "application/json"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"), (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet"))),
    params(("format" = Option<Format>, Query, description = "svg: the tracking plot (cumulative repeat purchases, actual against expected) as a chart (also Accept: image/svg+xml)")),
    responses((status = 200, description = "The backtest, or with format=svg its tracking plot", content((BacktestResponse = "application/json"), (String = "image/svg+xml"))))
)]
pub async fn model_backtest(
    State(state): State<AppState>,
    format: Format,
    request: super::ModelBody<BacktestRequest>,
) -> Result<crate::http::FiniteJson, ApiError> {
    off_runtime_as(state, "backtest", request, format).await
}

/// The examples of `POST /models/backtest` in the spec, each answered as a request would be.
pub fn model_backtest_examples() -> Examples {
    Examples::of::<BacktestRequest>(vec![
        example(
            "cdnow_40_customers",
            "40 CDNOW customers: calibration to 1997-09-30, hold-out to 1998-06-30, in weeks",
            data(include_str!("example_data/backtest_cdnow_40.json")),
        ),
        example(
            "refused_no_holdout",
            "An observation end before the calibration end leaves no hold-out",
            json!({"transactions": [{"customer_id": "a", "date": "2026-01-05"}, {"customer_id": "a", "date": "2026-02-05"}], "calibration_end": "2026-03-01", "observation_end": "2026-02-01"}),
        ),
    ])
}
