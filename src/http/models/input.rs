//! The customers' data every model endpoint takes: summaries, or transactions the service
//! summarises; and its conversion into the core's checked [`CustomerSummary`] rows.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::extract::Count;
use crate::input::NonNegative;
use crate::kpi::InvalidInput;
use crate::models::rfm::{parse_date, summarise, CustomerSummary, TimeUnit, Transaction};

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
                let parsed = transactions
                    .into_iter()
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
                    .collect::<Result<Vec<_>, _>>()?;
                summarise(&parsed, end, unit)
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
