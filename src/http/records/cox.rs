//! `POST /survival/cox`: who leaves faster — Cox regression on customers with covariates
//! (JSON or CSV).

use std::collections::BTreeMap;

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{bool_like, query, within_max_events, Records, SubscriptionClock};
use crate::analytics::cox::{
    fit_cox, CoxFit, CoxRow, CoxSettings, Profile, Ties, TimeTransform, Value,
};
use crate::http::error::ApiError;
use crate::http::examples::{example, Examples};
use crate::http::extract::parse_json;
use crate::http::{AppState, Compute};
use crate::kpi::{Confidence, InvalidInput};
use crate::units::TimeUnit;

/// A customer's observed time and covariates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoxObservationRow {
    /// Tenure at churn, or now for a customer still active.
    #[schema(minimum = 0)]
    pub duration: f64,
    /// true: churned at `duration`; false: still active (censored).
    #[serde(deserialize_with = "bool_like")]
    pub observed: bool,
    /// The tenure the customer was first observed at (late entry; default 0).
    #[schema(minimum = 0)]
    pub entry: Option<f64>,
    /// Covariate values by name: numbers, true/false (1/0), or strings (category levels).
    #[schema(value_type = Object)]
    pub covariates: BTreeMap<String, Covariate>,
    /// A stratum: its own baseline hazard, the coefficients shared.
    pub stratum: Option<String>,
}

/// A subscription and its covariates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoxSubscriptionRow {
    /// `YYYY-MM-DD`.
    pub start: String,
    /// `YYYY-MM-DD`, or null while active.
    pub end: Option<String>,
    /// Covariate values by name: numbers, true/false (1/0), or strings (category levels).
    #[schema(value_type = Object)]
    pub covariates: BTreeMap<String, Covariate>,
    pub stratum: Option<String>,
}

/// A covariate profile to predict for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRow {
    /// A label for the answer ("pro, 10 seats").
    pub name: String,
    /// A value for every covariate of the model.
    #[schema(value_type = Object)]
    pub covariates: BTreeMap<String, Covariate>,
    /// With strata: the stratum whose baseline to use.
    pub stratum: Option<String>,
}

/// Customers with covariates, and what to fit and predict.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoxRequest {
    pub observations: Option<Vec<CoxObservationRow>>,
    pub subscriptions: Option<Vec<CoxSubscriptionRow>>,
    /// With `subscriptions`: the date they are observed at.
    pub as_of: Option<String>,
    /// With `subscriptions`: the first day the data cover; a subscription that started
    /// before it enters late, at its tenure that day.
    pub observed_from: Option<String>,
    /// With `subscriptions`: the unit of durations (default `day`).
    pub unit: Option<TimeUnit>,
    /// The covariates in the model, in this order (default: every name the rows carry,
    /// alphabetically).
    pub covariates: Option<Vec<String>>,
    /// A category's reference level by covariate (default: its first level alphabetically).
    pub reference_levels: Option<BTreeMap<String, String>>,
    /// Tied churn times: `efron` (default) or `breslow`.
    pub ties: Option<Ties>,
    /// L2 penalty λ ≥ 0 on the standardised coefficients (lifelines' `penalizer`): n λ/2 Σ (β s)²
    /// is subtracted from the log-likelihood. Default 0.
    #[schema(minimum = 0)]
    pub penalty: Option<f64>,
    /// The time scale of the proportional-hazards test: `km` (default), `rank`, `identity`.
    pub ph_transform: Option<TimeTransform>,
    /// Covariate profiles to predict survival curves and median lifetimes for (at most 20).
    pub profiles: Option<Vec<ProfileRow>>,
    /// Times to give each profile's survival at (default: every distinct time).
    pub times: Option<Vec<f64>>,
    /// Level of every interval, 0.5 to 0.999 (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999, example = 0.95)]
    pub confidence: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoxParams {
    as_of: Option<String>,
    observed_from: Option<String>,
    unit: Option<TimeUnit>,
    /// Comma-separated.
    covariates: Option<String>,
    /// `plan:basic,channel:organic`.
    reference_levels: Option<String>,
    ties: Option<Ties>,
    penalty: Option<f64>,
    ph_transform: Option<TimeTransform>,
    confidence: Option<f64>,
}

/// A covariate value as a body carries it: a number, true/false (1/0), or a category level
/// (a non-empty string). Read straight from the JSON, without an intermediate value.
#[derive(Debug, Clone)]
pub struct Covariate(Value);

impl<'de> Deserialize<'de> for Covariate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Covariate;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, true/false, or a category level (a non-empty string)")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Covariate, E> {
                Ok(Covariate(Value::Number(v)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Covariate, E> {
                Ok(Covariate(Value::Number(v as f64)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Covariate, E> {
                Ok(Covariate(Value::Number(v as f64)))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Covariate, E> {
                Ok(Covariate(Value::Flag(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Covariate, E> {
                if v.is_empty() {
                    return Err(E::custom(
                        "an empty category level: give a name or leave the row out",
                    ));
                }
                Ok(Covariate(Value::Level(v.to_owned())))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn values(map: BTreeMap<String, Covariate>) -> BTreeMap<String, Value> {
    map.into_iter().map(|(k, v)| (k, v.0)).collect()
}

impl Compute for CoxRequest {
    type Output = CoxFit;
    fn compute(self, state: &AppState) -> Result<CoxFit, ApiError> {
        let (rows, collection) = match (self.observations, self.subscriptions) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new("/subscriptions", "give observations or subscriptions, not both", "the body has both observations and subscriptions: send one or the other").into())
            }
            (Some(observations), None) => {
                let rows = observations
                    .into_iter()
                    .map(|o| CoxRow {
                        entry: o.entry.unwrap_or(0.0) + 0.0,
                        exit: o.duration + 0.0,
                        event: o.observed,
                        covariates: values(o.covariates),
                        stratum: o.stratum,
                    })
                    .collect();
                (rows, "observations")
            }
            (None, Some(subscriptions)) => {
                let clock = SubscriptionClock::new(self.as_of.as_deref(), self.observed_from.as_deref(), self.unit)?;
                let rows = subscriptions
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let o = clock.observe(i, &s.start, s.end.as_deref())?;
                        Ok(CoxRow {
                            entry: o.entry,
                            exit: o.duration,
                            event: o.observed,
                            covariates: values(s.covariates),
                            stratum: s.stratum,
                        })
                    })
                    .collect::<Result<Vec<_>, InvalidInput>>()?;
                (rows, "subscriptions")
            }
            (None, None) => {
                return Err(InvalidInput::new("/observations", "required unless subscriptions are given", "give observations (duration, observed, covariates) or subscriptions (start, end, covariates) with as_of").into())
            }
        };
        within_max_events(rows.len(), collection, state.config.max_events)?;
        let profiles = self
            .profiles
            .unwrap_or_default()
            .into_iter()
            .map(|p| Profile {
                name: p.name,
                covariates: values(p.covariates),
                stratum: p.stratum,
            })
            .collect();
        let settings = CoxSettings {
            ties: self.ties.unwrap_or_default(),
            covariates: self.covariates,
            reference_levels: self.reference_levels.unwrap_or_default(),
            penalty: self.penalty.unwrap_or(0.0),
            confidence: Confidence::new(self.confidence)?,
            transform: self.ph_transform.unwrap_or_default(),
            profiles,
            times: self.times.unwrap_or_default(),
            collection: collection.to_owned(),
        };
        Ok(fit_cox(&rows, &settings)?)
    }
}

/// Cox proportional-hazards regression
///
/// Who leaves faster: from `observations` (`duration`, `observed`, optional `entry` for late
/// entry, `covariates` by name, optional `stratum`) or `subscriptions` (`start`, `end`,
/// `covariates`) with `as_of` (and `observed_from` for data that begin after some customers
/// joined), fits h(t | x) = h₀(t) exp(βᵀx) by the partial likelihood (Efron's ties by
/// default, Breslow's on request; optional strata and L2 `penalty`). Numbers enter as they
/// are, true/false as 1/0, strings as categories with one column per level against the
/// reference level. Answers each coefficient with its hazard ratio, standard error, z,
/// p-value and interval; the log-likelihood with the likelihood-ratio, Wald and score tests;
/// Harrell's concordance; the proportional-hazards test on the scaled Schoenfeld residuals
/// (R's `cox.zph`, per covariate and global); the baseline survival at the covariates' means;
/// and for each of `profiles` its survival curve and median lifetime. A constant, collinear
/// or separating covariate is refused naming it. Accepts `text/csv`, an Arrow IPC stream or
/// a Parquet file: columns `duration`,
/// `observed`, optional `entry` and `stratum` (or `start`, `end`, `stratum`), every other
/// column a covariate (numbers, true/false, or text for a category); options as query
/// parameters (`covariates` and `reference_levels` comma-separated, `plan:basic`).
#[utoipa::path(
    post,
    path = "/survival/cox",
    tag = "records",
    operation_id = "cox_regression",
    params(("as_of" = Option<String>, Query, description = "With a text/csv body of subscriptions"), ("observed_from" = Option<String>, Query, description = "With a text/csv body of subscriptions: the first day the data cover"), ("unit" = Option<TimeUnit>, Query, description = "With a text/csv body of subscriptions"), ("covariates" = Option<String>, Query, description = "With a text/csv body: the covariates in the model, comma-separated"), ("reference_levels" = Option<String>, Query, description = "With a text/csv body: reference levels as covariate:level, comma-separated"), ("ties" = Option<Ties>, Query, description = "With a text/csv body"), ("penalty" = Option<f64>, Query, description = "With a text/csv body"), ("ph_transform" = Option<TimeTransform>, Query, description = "With a text/csv body"), ("confidence" = Option<f64>, Query, description = "With a text/csv body")),
    request_body(content(
        (CoxRequest = "application/json"),
        (String = "text/csv", example = "duration,observed,plan,seats\n3,1,monthly,2\n12,0,annual,10\n7,1,monthly,1\n14,0,annual,4\n"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.arrow.stream"),
        (crate::http::columnar::ColumnBatch = "application/vnd.apache.parquet")
    )),
    responses((status = 200, description = "The fitted model, its tests and predictions", body = CoxFit))
)]
pub async fn cox(
    State(state): State<AppState>,
    records: Records,
) -> Result<crate::http::FiniteJson, ApiError> {
    crate::http::work::off_runtime(state, "cox", move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<CoxRequest>(&bytes)?,
            Records::Rows(body, q) => table_request(body.read(state)?, query(q)?)?,
        };
        request.compute(state).and_then(crate::http::finite_json)
    })
    .await
}

/// A body of rows (CSV, Arrow or Parquet): the known columns, every other one a covariate.
fn table_request(rows: super::Rows, params: CoxParams) -> Result<CoxRequest, ApiError> {
    let (headers, records) = super::text_table(&rows, "observations")?;
    if let Some((k, h)) = headers
        .iter()
        .enumerate()
        .find(|(k, h)| headers[..*k].contains(h))
    {
        return Err(InvalidInput::new(
            format!("/observations/0/{h}"),
            "distinct CSV columns",
            format!(
                "the CSV header names {h:?} twice (column {}): name each column once",
                k + 1
            ),
        )
        .into());
    }
    // Subscriptions have `start`; observations `duration` and `observed` (a covariate may be
    // called `duration` in a subscription file).
    let observations = !headers.iter().any(|h| h == "start");
    let (collection, known): (&str, &[&str]) = if observations {
        (
            "observations",
            &["duration", "observed", "entry", "stratum"],
        )
    } else {
        ("subscriptions", &["start", "end", "stratum"])
    };
    let required: &[&str] = if observations {
        &["duration", "observed"]
    } else {
        &["start"]
    };
    if let Some(missing) = required.iter().find(|r| !headers.iter().any(|h| h == *r)) {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            format!("a CSV column {missing}"),
            format!("the CSV header ({}) has no column {missing}: give duration,observed[,entry][,stratum],<covariates…> or start,end[,stratum],<covariates…>; send the file with curl --data-binary @file", headers.join(",")),
        )
        .into());
    }
    // A number (finite), true/false (any case), empty (missing), or a category level.
    let cell_value = |text: &str| -> Result<Option<Covariate>, String> {
        if let Ok(n) = text.parse::<f64>() {
            return if n.is_finite() {
                Ok(Some(Covariate(Value::Number(n))))
            } else {
                Err(format!("{text:?} is not a finite number"))
            };
        }
        Ok(match text {
            "" => None,
            t if t.eq_ignore_ascii_case("true") => Some(Covariate(Value::Flag(true))),
            t if t.eq_ignore_ascii_case("false") => Some(Covariate(Value::Flag(false))),
            other => Some(Covariate(Value::Level(other.to_owned()))),
        })
    };
    let mut obs = Vec::new();
    let mut subs = Vec::new();
    for (row, record) in records.into_iter().enumerate() {
        let record = record?;
        let mut covariates = BTreeMap::new();
        let mut get = BTreeMap::new();
        for (h, cell) in headers.iter().zip(record.iter()) {
            if known.contains(&h.as_str()) {
                get.insert(h.as_str(), cell.to_owned());
            } else {
                // An empty cell is a missing value: the core refuses it naming the covariate.
                match cell_value(cell) {
                    Ok(Some(value)) => {
                        covariates.insert(h.clone(), value);
                    }
                    Ok(None) => {}
                    Err(why) => {
                        return Err(InvalidInput::new(
                            format!("/{collection}/{row}/covariates/{h}"),
                            "must be a finite number, true/false or a category",
                            format!("CSV line {}: {h} {why}", row + 2),
                        )
                        .into())
                    }
                }
            }
        }
        let number = |name: &str| -> Result<Option<f64>, ApiError> {
            match get.get(name).map(String::as_str) {
                None | Some("") => Ok(None),
                Some(t) => t.parse::<f64>().map(Some).map_err(|_| {
                    InvalidInput::new(
                        format!("/{collection}/{row}/{name}"),
                        "must be a number",
                        format!("CSV line {}: {name} {t:?} is not a number", row + 2),
                    )
                    .into()
                }),
            }
        };
        let stratum = get.get("stratum").filter(|s| !s.is_empty()).cloned();
        if observations {
            let observed = match get.get("observed").map(String::as_str) {
                Some("1" | "true" | "TRUE" | "True") => true,
                Some("0" | "false" | "FALSE" | "False") => false,
                other => {
                    return Err(InvalidInput::new(
                        format!("/{collection}/{row}/observed"),
                        "1/0 or true/false",
                        format!(
                            "CSV line {}: observed is {:?}",
                            row + 2,
                            other.unwrap_or("")
                        ),
                    )
                    .into())
                }
            };
            let duration = number("duration")?.ok_or_else(|| {
                ApiError::from(InvalidInput::new(
                    format!("/{collection}/{row}/duration"),
                    "required",
                    format!("CSV line {}: no duration", row + 2),
                ))
            })?;
            obs.push(CoxObservationRow {
                duration,
                observed,
                entry: number("entry")?,
                covariates,
                stratum,
            });
        } else {
            subs.push(CoxSubscriptionRow {
                start: get.get("start").cloned().unwrap_or_default(),
                end: get.get("end").cloned().filter(|e| !e.is_empty()),
                covariates,
                stratum,
            });
        }
    }
    let reference_levels = params
        .reference_levels
        .map(|text| {
            text.split(',')
                .enumerate()
                .map(|(i, pair)| {
                    pair.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).ok_or_else(|| {
                        InvalidInput::new(format!("/reference_levels/{i}"), "covariate:level", format!("reference_levels item {pair:?} is not covariate:level (plan:basic)"))
                    })
                })
                .collect::<Result<BTreeMap<_, _>, _>>()
        })
        .transpose()?;
    Ok(CoxRequest {
        observations: observations.then_some(obs),
        subscriptions: (!observations).then_some(subs),
        as_of: params.as_of,
        observed_from: params.observed_from,
        unit: params.unit,
        covariates: params
            .covariates
            .map(|c| c.split(',').map(|s| s.trim().to_owned()).collect()),
        reference_levels,
        ties: params.ties,
        penalty: params.penalty,
        ph_transform: params.ph_transform,
        profiles: None,
        times: None,
        confidence: params.confidence,
    })
}

/// The examples of `POST /survival/cox`.
pub fn cox_examples() -> Examples {
    let rows = [
        (2, true, "monthly", 1, false),
        (3, true, "monthly", 2, false),
        (4, false, "monthly", 3, true),
        (5, true, "monthly", 1, true),
        (6, true, "monthly", 5, false),
        (7, false, "monthly", 2, true),
        (8, true, "monthly", 1, false),
        (9, true, "annual", 6, false),
        (12, false, "annual", 4, true),
        (12, true, "annual", 3, false),
        (14, false, "annual", 10, true),
        (15, true, "monthly", 8, true),
        (18, false, "annual", 12, true),
        (20, true, "annual", 2, false),
        (24, false, "annual", 7, true),
        (24, false, "monthly", 9, true),
    ];
    let observations: Vec<serde_json::Value> = rows
        .iter()
        .map(|(d, o, plan, seats, onboarded)| json!({"duration": d, "observed": o, "covariates": {"plan": plan, "seats": seats, "onboarded": onboarded}}))
        .collect();
    Examples::of::<CoxRequest>(vec![
        example(
            "plans_seats_onboarding",
            "Months to churn with plan (a category against annual), seats and onboarding done; the survival of two profiles",
            json!({"observations": observations, "reference_levels": {"plan": "annual"},
                   "profiles": [{"name": "monthly, 1 seat, not onboarded", "covariates": {"plan": "monthly", "seats": 1, "onboarded": false}},
                                {"name": "annual, 10 seats, onboarded", "covariates": {"plan": "annual", "seats": 10, "onboarded": true}}],
                   "times": [3, 6, 12, 24]}),
        ),
        example(
            "refused_constant_covariate",
            "A covariate that is the same for everyone: refused naming it",
            json!({"observations": [
                {"duration": 2, "observed": true, "covariates": {"region": "eu"}},
                {"duration": 5, "observed": false, "covariates": {"region": "eu"}},
                {"duration": 3, "observed": true, "covariates": {"region": "eu"}}
            ]}),
        ),
    ])
}
