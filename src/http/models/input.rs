//! The customers' data every model endpoint takes: summaries, or transactions the service
//! summarises; and its conversion into the core's checked [`CustomerSummary`] rows.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::extract::Count;
use crate::input::NonNegative;
use crate::kpi::InvalidInput;
use crate::models::bootstrap::{MAX_DRAWS, MAX_SIMULATED};
use crate::models::rfm::{parse_date, summarise, CustomerSummary, TimeUnit, Transaction};
use crate::models::uncertainty::{Uncertainty, UncertaintyMethod};

/// One customer's summary.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRow {
    /// The caller's id, echoed in predictions.
    pub id: Option<String>,
    /// Repeat purchases x (a whole number; the first purchase does not count).
    #[schema(minimum = 0)]
    pub frequency: f64,
    /// Time from the first to the last purchase, t_x (0 when frequency is 0).
    #[schema(minimum = 0)]
    pub recency: Option<f64>,
    /// Time from the first purchase to the end of calibration, T.
    #[serde(rename = "T")]
    #[schema(minimum = 0)]
    pub t: Option<f64>,
    /// Mean amount of the repeat purchases.
    #[schema(minimum = 0)]
    pub monetary_value: Option<f64>,
    /// How many identical customers this row stands for (default 1).
    pub count: Option<Count>,
}

/// One dated purchase.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionRow {
    pub customer_id: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The purchase's amount (needed for spend models).
    #[schema(minimum = 0)]
    pub amount: Option<f64>,
}

/// The customers' data: `customers` (summaries), or `transactions` with `calibration_end`
/// (inclusive) and `unit`, from which the service builds the summaries (purchases on one day
/// count once; x = purchase days − 1; t_x, T in `unit`s from the first purchase).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CustomerData {
    pub customers: Option<Vec<CustomerRow>>,
    pub transactions: Option<Vec<TransactionRow>>,
    /// `YYYY-MM-DD`, with `transactions`.
    pub calibration_end: Option<String>,
    /// With `transactions`; default `week` (a month is 30.4375 days).
    pub unit: Option<TimeUnit>,
}

impl CustomerData {
    /// The summaries, checked; `needs_times` for the purchase models (recency and T required).
    pub fn summaries(self, needs_times: bool) -> Result<Vec<CustomerSummary>, InvalidInput> {
        let rows = match (self.customers, self.transactions) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "/transactions",
                    "give customers or transactions, not both",
                    "the body has both customers and transactions: send one or the other",
                ))
            }
            (Some(customers), None) => customers
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let pointer = format!("/customers/{i}");
                    if needs_times && c.t.is_none() && c.recency.is_none() {
                        return Err(InvalidInput::new(
                            format!("{pointer}/T"),
                            "required",
                            format!("{pointer}: recency and T are required by the purchase models"),
                        ));
                    }
                    CustomerSummary::new(
                        &pointer,
                        c.id,
                        c.frequency,
                        c.recency,
                        c.t,
                        c.monetary_value,
                        c.count.map_or(1, |n| n.0) as f64,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?,
            (None, Some(transactions)) => {
                let end = self.calibration_end.ok_or_else(|| {
                    InvalidInput::new(
                        "/calibration_end",
                        "required with transactions",
                        "calibration_end (YYYY-MM-DD) is required with transactions",
                    )
                })?;
                let end = parse_date("/calibration_end", &end)?;
                let unit = self.unit.unwrap_or(TimeUnit::Week);
                summarise(&parse_transactions(transactions)?, end, unit)
            }
            (None, None) => {
                return Err(InvalidInput::new(
                    "/customers",
                    "required unless transactions are given",
                    "give customers (summaries) or transactions with calibration_end",
                ))
            }
        };
        if rows.is_empty() {
            return Err(InvalidInput::new("/customers", "must not be empty", "no customer to fit: the data is empty (or every transaction is after calibration_end)"));
        }
        Ok(rows)
    }
}

/// The transactions checked: dates of the form YYYY-MM-DD, amounts not negative.
pub fn parse_transactions(rows: Vec<TransactionRow>) -> Result<Vec<Transaction>, InvalidInput> {
    rows.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let amount = t.amount.unwrap_or(0.0);
            let amount = NonNegative::new(amount).ok_or_else(|| {
                InvalidInput::new(
                    format!("/transactions/{i}/amount"),
                    "must not be negative",
                    format!("transactions[{i}].amount {amount} is negative"),
                )
            })?;
            Ok(Transaction {
                customer_id: t.customer_id,
                date: parse_date(&format!("/transactions/{i}/date"), &t.date)?,
                amount: amount.get(),
            })
        })
        .collect()
}

/// How prediction intervals are computed.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UncertaintyRequest {
    /// `delta` (default), `bootstrap` (purchase models only) or `none`.
    #[serde(default)]
    pub method: UncertaintyMethod,
    /// With `bootstrap`: the simulated data sets, 2 to 1,000 (default 200); customers × draws
    /// at most 5,000,000.
    pub draws: Option<Count>,
    /// With `bootstrap`: the seed of the simulation (default 0); the same seed gives the same
    /// intervals, bit for bit.
    pub seed: Option<u64>,
}

impl UncertaintyRequest {
    /// The checked choice; `at` is where the object sits (`/predict/uncertainty`),
    /// `customers` how many the bootstrap would simulate per draw, `bootstrap_offered` whether
    /// the endpoint offers it.
    pub fn check(
        self,
        at: &str,
        customers: f64,
        bootstrap_offered: bool,
    ) -> Result<Uncertainty, InvalidInput> {
        let stray = |field: &str| {
            InvalidInput::new(
                format!("{at}/{field}"),
                "only with method bootstrap",
                format!("{field} is read only by the bootstrap: give method \"bootstrap\" or leave {field} out"),
            )
        };
        match self.method {
            UncertaintyMethod::Delta | UncertaintyMethod::None => {
                if self.draws.is_some() {
                    return Err(stray("draws"));
                }
                if self.seed.is_some() {
                    return Err(stray("seed"));
                }
                Ok(if self.method == UncertaintyMethod::Delta {
                    Uncertainty::Delta
                } else {
                    Uncertainty::None
                })
            }
            UncertaintyMethod::Bootstrap if !bootstrap_offered => Err(InvalidInput::new(
                format!("{at}/method"),
                "delta or none here",
                "the bootstrap is offered for the purchase models' predictions (/models/bgnbd, /models/pareto-nbd); here give delta or none",
            )),
            UncertaintyMethod::Bootstrap => {
                let draws = self.draws.map_or(200, |d| d.0 as usize);
                if !(2..=MAX_DRAWS).contains(&draws) || customers * draws as f64 > MAX_SIMULATED
                {
                    return Err(InvalidInput::new(
                        format!("{at}/draws"),
                        format!("2 to {MAX_DRAWS}, with customers × draws at most 5,000,000"),
                        format!(
                            "draws {draws} over {customers} customers: give 2 to {MAX_DRAWS} draws, with customers × draws at most 5,000,000"
                        ),
                    ));
                }
                Ok(Uncertainty::Bootstrap {
                    draws,
                    seed: self.seed.unwrap_or(0),
                })
            }
        }
    }
}
