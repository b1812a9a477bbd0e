//! The hold-out backtest of a purchase model: fitted on the transactions up to the calibration
//! end, each customer's purchases in the hold-out predicted and set beside what happened, as
//! in the papers' validation (Fader, Hardie & Lee 2005, figures 2–4): errors overall and by
//! calibration frequency, and the tracking curve of cumulative repeat purchases.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::purchase::{named, purchase_model, ParameterSource, PurchaseModelName};
use super::report::FitSummary;
use super::rfm::{summarise, CustomerSummary, TimeUnit, Transaction};
use crate::kpi::InvalidInput;
use crate::units::Period;

/// Most points of the tracking curve; longer spans are tracked every few units.
pub const MAX_TRACKING_POINTS: usize = 1000;
/// Most population-curve evaluations the tracking curve may cost (points × distinct first
/// purchase days); the step between points grows to stay below it.
pub const MAX_TRACKING_EVALUATIONS: usize = 2_000_000;
/// Calibration frequencies get their own group up to this; the rest share "7+".
const FREQUENCY_GROUPS: usize = 7;

/// What to backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestSettings {
    pub model: PurchaseModelName,
    pub calibration_end: NaiveDate,
    pub observation_end: NaiveDate,
    pub unit: TimeUnit,
    /// BG/BB: the calendar period of one purchase opportunity (then `unit` is not read).
    pub period: Option<Period>,
    pub source: ParameterSource,
}

/// One customer: the calibration summary, the hold-out purchases and their prediction.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BacktestCustomer {
    pub id: String,
    /// Calibration repeat purchases x, recency t_x and age T (in the unit).
    pub frequency: f64,
    pub recency: f64,
    #[serde(rename = "T")]
    pub t: f64,
    /// Purchase days in the hold-out.
    pub actual: f64,
    /// The model's expected purchases over the hold-out.
    pub predicted: f64,
}

/// Customers of one calibration frequency.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FrequencyGroup {
    /// `0` … `6`, or `7+`.
    pub calibration_frequency: String,
    pub customers: usize,
    /// Mean hold-out purchases, actual and predicted.
    pub mean_actual: f64,
    pub mean_predicted: f64,
}

/// Per-customer errors of the hold-out predictions.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BacktestErrors {
    /// Mean |predicted − actual|.
    pub mae: f64,
    /// √(mean (predicted − actual)²).
    pub rmse: f64,
    /// Mean (predicted − actual): above 0, the model over-forecasts.
    pub bias: f64,
}

/// A point of the tracking curve.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackingPoint {
    /// Units since the first customer's first purchase.
    pub t: f64,
    /// The last day the point covers.
    pub through: String,
    /// Repeat purchase days of the customers up to the point, and since the previous one.
    pub actual_cumulative: f64,
    pub actual_incremental: f64,
    /// What the model expects of the same customers: Σ_i E[X(t − s_i)].
    pub expected_cumulative: f64,
    pub expected_incremental: f64,
}

/// The backtest's answer.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BacktestResponse {
    pub model: String,
    /// The calibration fit; absent when the parameters were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit: Option<FitSummary>,
    /// The parameters given instead of a fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<std::collections::HashMap<String, f64>>))]
    pub scored_with: Option<serde_json::Map<String, serde_json::Value>>,
    /// The hold-out's length in the unit, the same for every customer.
    pub holdout_length: f64,
    /// Customers with a first purchase by the calibration end.
    pub customers: usize,
    /// Their repeat purchase days in calibration.
    pub calibration_repeat_purchases: f64,
    /// Their purchase days in the hold-out, and the model's expectation of them.
    pub holdout_actual: f64,
    pub holdout_predicted: f64,
    pub errors: BacktestErrors,
    pub by_calibration_frequency: Vec<FrequencyGroup>,
    /// Cumulative repeat purchases from the first customer's first purchase to the observation
    /// end, actual and expected, every `tracking_step` units.
    pub tracking: Vec<TrackingPoint>,
    pub tracking_step: f64,
    /// Per customer, sorted by id.
    #[serde(rename = "by_customer")]
    pub by_customer: Vec<BacktestCustomer>,
    pub definitions: Vec<String>,
    pub notes: Vec<String>,
}

/// What a backtest compares, built from the transactions in continuous time (BG/NBD, MBG/NBD,
/// Pareto/NBD) or in calendar periods (BG/BB).
struct Prepared {
    /// The calibration summaries (T is n_periods for BG/BB), sorted by customer id.
    rows: Vec<CustomerSummary>,
    /// Each row's purchases in the hold-out.
    actual: Vec<f64>,
    /// The hold-out's length in units (periods).
    horizon: f64,
    /// Customers by first purchase, in units (periods) since the start, as `key / scale`.
    first_keys: BTreeMap<i64, f64>,
    scale: f64,
    /// The repeat purchases' times in units since the start: counted at point t when below t.
    repeat_times: Vec<f64>,
    /// Units (periods) from the start to the observation end.
    span: usize,
    /// The last day a point t covers.
    through: Box<dyn Fn(f64) -> NaiveDate>,
}

/// Each customer's purchase days up to the observation end, sorted and distinct.
fn purchase_days(
    transactions: &[Transaction],
    observation_end: NaiveDate,
) -> HashMap<&str, Vec<NaiveDate>> {
    let mut days: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for tx in transactions.iter().filter(|t| t.date <= observation_end) {
        days.entry(tx.customer_id.as_str())
            .or_default()
            .push(tx.date);
    }
    for list in days.values_mut() {
        list.sort_unstable();
        list.dedup();
    }
    days
}

/// Continuous time: purchase days, times in `unit`s.
fn prepare_continuous(transactions: &[Transaction], settings: &BacktestSettings) -> Prepared {
    let (calibration_end, observation_end) = (settings.calibration_end, settings.observation_end);
    let rows = summarise(transactions, calibration_end, settings.unit);
    let days = purchase_days(transactions, observation_end);
    let unit_days = settings.unit.days();
    let actual = rows
        .iter()
        .map(|row| {
            days.get(row.id.as_deref().unwrap_or_default())
                .map_or(0, |d| d.iter().filter(|d| **d > calibration_end).count())
                as f64
        })
        .collect();
    let firsts: Vec<&[NaiveDate]> = rows
        .iter()
        .filter_map(|r| days.get(r.id.as_deref().unwrap_or_default()))
        .map(Vec::as_slice)
        .collect();
    let start = firsts.iter().map(|d| d[0]).min().unwrap_or(calibration_end);
    let mut first_keys: BTreeMap<i64, f64> = BTreeMap::new();
    let mut repeat_times = Vec::new();
    for d in &firsts {
        *first_keys.entry((d[0] - start).num_days()).or_default() += 1.0;
        repeat_times.extend(
            d[1..]
                .iter()
                .map(|r| (*r - start).num_days() as f64 / unit_days),
        );
    }
    let span_days = (observation_end - start).num_days() as f64 + 1.0;
    Prepared {
        rows,
        actual,
        horizon: (observation_end - calibration_end).num_days() as f64 / unit_days,
        first_keys,
        scale: unit_days,
        repeat_times,
        span: (span_days / unit_days).ceil() as usize,
        through: Box::new(move |t: f64| {
            let covered = (t * unit_days).ceil() as u64;
            (start + chrono::Days::new(covered.saturating_sub(1))).min(observation_end)
        }),
    }
}

/// Calendar periods (BG/BB): a customer's opportunities are the whole periods after the one of
/// its first purchase, up to the last period that ends by the calibration end; the hold-out's,
/// the whole periods after that up to the last that ends by the observation end.
fn prepare_periods(
    transactions: &[Transaction],
    settings: &BacktestSettings,
    period: Period,
) -> Result<Prepared, InvalidInput> {
    let (calibration_end, observation_end) = (settings.calibration_end, settings.observation_end);
    let last_whole = |date: NaiveDate| {
        let i = period.index(date);
        if period.end(i) == date {
            i
        } else {
            i - 1
        }
    };
    let (calibration_last, holdout_last) =
        (last_whole(calibration_end), last_whole(observation_end));
    if holdout_last <= calibration_last {
        return Err(InvalidInput::new(
            "/observation_end",
            format!("at least one whole {} after the calibration", period.name()),
            format!(
                "the hold-out to {observation_end} holds no whole {} after the last one calibrated ({}): BG/BB counts whole periods",
                period.name(),
                period.label(calibration_last)
            ),
        ));
    }
    let days = purchase_days(transactions, observation_end);
    let mut ids: Vec<&str> = days.keys().copied().collect();
    ids.sort_unstable();
    let mut rows = Vec::new();
    let mut actual = Vec::new();
    let mut customer_periods: Vec<(i64, Vec<i64>)> = Vec::new();
    for id in ids {
        let mut periods: Vec<i64> = days[id].iter().map(|d| period.index(*d)).collect();
        periods.dedup();
        let first = periods[0];
        let n = calibration_last - first;
        if n < 1 {
            continue;
        }
        let in_calibration: Vec<i64> = periods[1..]
            .iter()
            .copied()
            .filter(|p| *p <= calibration_last)
            .collect();
        let x = in_calibration.len() as f64;
        let tx = in_calibration.last().map_or(0, |p| p - first) as f64;
        rows.push(CustomerSummary {
            id: Some(id.to_owned()),
            frequency: x,
            recency: tx,
            t: n as f64,
            monetary_value: None,
            count: 1.0,
        });
        actual.push(
            periods
                .iter()
                .filter(|p| **p > calibration_last && **p <= holdout_last)
                .count() as f64,
        );
        customer_periods.push((first, periods));
    }
    if rows.iter().any(|r| r.t > super::bgbb::MAX_PERIODS) {
        return Err(InvalidInput::new(
            "/calibration_end",
            "at most 1,000 periods per customer",
            format!("a customer would have more than 1,000 {}s of calibration: BG/BB takes at most 1,000 periods; use a longer period", period.name()),
        ));
    }
    let start = customer_periods
        .iter()
        .map(|c| c.0)
        .min()
        .unwrap_or(calibration_last);
    let mut first_keys: BTreeMap<i64, f64> = BTreeMap::new();
    let mut repeat_times = Vec::new();
    for (first, periods) in &customer_periods {
        *first_keys.entry(first - start).or_default() += 1.0;
        repeat_times.extend(
            periods[1..]
                .iter()
                .filter(|p| **p <= holdout_last)
                .map(|p| (p - start) as f64 - 0.5),
        );
    }
    Ok(Prepared {
        rows,
        actual,
        horizon: (holdout_last - calibration_last) as f64,
        first_keys,
        scale: 1.0,
        repeat_times,
        span: (holdout_last - start).max(0) as usize,
        through: Box::new(move |t: f64| period.end(start + t as i64)),
    })
}

/// Fits the model on the calibration period (or takes the given parameters), predicts each
/// customer's hold-out purchases and compares.
///
/// # Formula
/// ```text
/// predicted_i = E[X(T_i, T_i + h) | x_i, t_x,i, T_i],  h = (observation_end − calibration_end) / unit
/// actual_i    = purchase days of customer i in (calibration_end, observation_end]
/// MAE = mean |predicted − actual|, RMSE = √mean (predicted − actual)², bias = mean (predicted − actual)
/// tracking:  expected(t) = Σ_i E[X(t − s_i)] (0 for t ≤ s_i),  s_i = first purchase − start, in units
///            actual(t)   = repeat purchase days before start + t units
/// ```
///
/// BG/BB (with `period`): purchase periods instead of days, whole periods of the calendar
/// (docs/formulas.md § 12.12).
pub fn backtest(
    transactions: &[Transaction],
    settings: &BacktestSettings,
    max_rows: usize,
) -> Result<BacktestResponse, InvalidInput> {
    let (calibration_end, observation_end) = (settings.calibration_end, settings.observation_end);
    if observation_end <= calibration_end {
        return Err(InvalidInput::new(
            "/observation_end",
            "must be after calibration_end",
            format!("observation_end {observation_end} leaves no hold-out after calibration_end {calibration_end}"),
        ));
    }
    let prepared = match settings.period {
        Some(period) => prepare_periods(transactions, settings, period)?,
        None => prepare_continuous(transactions, settings),
    };
    let Prepared {
        rows,
        actual,
        horizon,
        first_keys,
        scale,
        mut repeat_times,
        span,
        through,
    } = prepared;
    if rows.is_empty() {
        return Err(InvalidInput::new(
            "/transactions",
            "no customer before calibration_end",
            "no customer made a first purchase early enough before calibration_end: nothing to calibrate on",
        ));
    }
    let fitted = purchase_model(settings.model, &rows, &settings.source, max_rows)?;
    let model = fitted.model.as_ref();
    let undefined = || {
        InvalidInput::new(
            "",
            "prediction undefined at these parameters",
            "the parameters leave the hold-out prediction undefined (a series diverges)",
        )
    };
    let mut by_customer = Vec::with_capacity(rows.len());
    for (i, (row, actual)) in rows.iter().zip(actual).enumerate() {
        if crate::cancel::stop_at(i) {
            return Err(cancelled());
        }
        let predicted = model
            .expected_purchases(horizon, row.frequency, row.recency, row.t)
            .ok_or_else(undefined)?;
        by_customer.push(BacktestCustomer {
            id: row.id.clone().unwrap_or_default(),
            frequency: row.frequency,
            recency: row.recency,
            t: row.t,
            actual,
            predicted,
        });
    }
    let n = by_customer.len() as f64;
    let differences = by_customer.iter().map(|c| c.predicted - c.actual);
    let errors = BacktestErrors {
        mae: differences.clone().map(f64::abs).sum::<f64>() / n,
        rmse: (differences.clone().map(|d| d * d).sum::<f64>() / n).sqrt(),
        bias: differences.sum::<f64>() / n,
    };
    let mut groups: BTreeMap<usize, (usize, f64, f64)> = BTreeMap::new();
    for c in &by_customer {
        let g = groups
            .entry((c.frequency as usize).min(FREQUENCY_GROUPS))
            .or_default();
        g.0 += 1;
        g.1 += c.actual;
        g.2 += c.predicted;
    }
    let by_calibration_frequency = groups
        .into_iter()
        .map(|(f, (count, actual, predicted))| FrequencyGroup {
            calibration_frequency: if f == FREQUENCY_GROUPS {
                format!("{FREQUENCY_GROUPS}+")
            } else {
                f.to_string()
            },
            customers: count,
            mean_actual: actual / count as f64,
            mean_predicted: predicted / count as f64,
        })
        .collect();

    // The tracking curve over the calibrated customers.
    repeat_times.sort_by(f64::total_cmp);
    let units = span.max(1);
    let by_points = units.div_ceil(MAX_TRACKING_POINTS);
    let by_cost = (units * first_keys.len()).div_ceil(MAX_TRACKING_EVALUATIONS);
    let step = by_points.max(by_cost).max(1);
    let mut tracking = Vec::new();
    let (mut last_actual, mut last_expected) = (0.0, 0.0);
    let mut k = step.min(units);
    loop {
        let t = k as f64;
        let actual = repeat_times.partition_point(|r| *r < t) as f64;
        let mut expected = 0.0;
        for (&key, &count) in &first_keys {
            if crate::cancel::cancelled() {
                return Err(cancelled());
            }
            let age = t - key as f64 / scale;
            if age > 0.0 {
                expected += count
                    * model
                        .expected_purchases_population(age)
                        .ok_or_else(undefined)?;
            }
        }
        tracking.push(TrackingPoint {
            t,
            through: through(t).to_string(),
            actual_cumulative: actual,
            actual_incremental: actual - last_actual,
            expected_cumulative: expected,
            expected_incremental: expected - last_expected,
        });
        (last_actual, last_expected) = (actual, expected);
        if k >= units {
            break;
        }
        k = (k + step).min(units);
    }

    let calibration_repeat_purchases = rows.iter().map(|r| r.frequency).sum();
    let holdout_actual = by_customer.iter().map(|c| c.actual).sum();
    let holdout_predicted = by_customer.iter().map(|c| c.predicted).sum();
    let mut notes = vec![match settings.period {
        None => format!(
            "{} customers with a first purchase before {calibration_end}; customers who first bought later are not in the backtest.",
            rows.len()
        ),
        Some(period) => format!(
            "{} customers with at least one whole {} of calibration after the one of their first purchase; others are not in the backtest.",
            rows.len(),
            period.name()
        ),
    }];
    if fitted.fit.is_none() {
        notes.push("Scored with the parameters given, without a calibration fit.".to_owned());
    }
    let scored_with = match &settings.source {
        ParameterSource::Given(params) => Some(named(settings.model.parameter_names(), params)),
        ParameterSource::Fit { .. } => None,
    };
    let unit_word = match settings.period {
        None => "purchase day: purchases on one day count once",
        Some(_) => "purchase period: purchases in one period count once (BG/BB has one chance to buy per period)",
    };
    Ok(BacktestResponse {
        model: settings.model.as_str().to_owned(),
        fit: fitted.fit,
        scored_with,
        holdout_length: horizon,
        customers: by_customer.len(),
        calibration_repeat_purchases,
        holdout_actual,
        holdout_predicted,
        errors,
        by_calibration_frequency,
        tracking,
        tracking_step: step as f64,
        by_customer,
        definitions: vec![
            format!("A purchase is a {unit_word}. Repeat purchases are those after a customer's first."),
            "predicted = the model's expected purchases of the customer in the hold-out, given its calibration (x, t_x, T).".to_owned(),
            "tracking: actual = the customers' repeat purchases up to start + t units; expected = Σ over customers of E[X(t − s)], the population's expected repeat purchases at the customer's age t − s (s = its first purchase, in units since start).".to_owned(),
            "MAE = mean |predicted − actual|; RMSE = √ mean (predicted − actual)²; bias = mean (predicted − actual).".to_owned(),
        ],
        notes,
    })
}

fn cancelled() -> InvalidInput {
    InvalidInput::new(
        "",
        "the backtest was cancelled",
        "the backtest was cancelled before it finished (the request's deadline)",
    )
}
