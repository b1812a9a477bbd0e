//! Cox proportional-hazards regression: who leaves faster (docs/formulas.md § 18).
//!
//! The model is h(t | x) = h₀(t) exp(βᵀx): each covariate multiplies the hazard of churning
//! by exp(β) per unit, whatever the tenure. β maximises the partial likelihood, with Efron's
//! handling of tied churn times (R's `coxph` and lifelines' `CoxPHFitter` default) or
//! Breslow's, over customers observed from their `entry` tenure (late entry: a customer who
//! joined before the data begin is at risk only from the tenure it was first seen at).
//!
//! Everything here is deterministic: Newton–Raphson from β = 0 with step halving, at most
//! [`MAX_ITERATIONS`] steps, no wall clock; the loops poll the request's cancellation flag.

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use statrs::function::erf::erfc;

use crate::cancel::{cancelled, cancelled_error, stop_at};
use crate::kpi::breakdown::num;
use crate::kpi::{Confidence, InvalidInput};

/// Most Newton–Raphson steps.
pub const MAX_ITERATIONS: usize = 100;
/// Most model columns (a category counts one per level beyond its reference).
pub const MAX_COLUMNS: usize = 50;
/// Most levels of one category.
pub const MAX_LEVELS: usize = 50;
/// Most profiles to predict for.
pub const MAX_PROFILES: usize = 20;
/// A standardised coefficient beyond this (a hazard ratio of e¹⁵ ≈ 3 million per standard
/// deviation), or a standardised standard error beyond [`FLAT`], is a coefficient running off
/// to infinity: the covariate separates churners from stayers. (Along such a direction the
/// gradient underflows to 0 near |β| ≈ 20–40, so the iterations stop there and look
/// converged.)
const DIVERGED: f64 = 15.0;
const FLAT: f64 = 100.0;

/// How tied churn times enter the partial likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Ties {
    /// Efron (1977): the d customers churning at one time leave the risk set gradually.
    #[default]
    Efron,
    /// Breslow (1974): all d share the full risk set.
    Breslow,
}

/// The time scale of the proportional-hazards test (R's `cox.zph(transform = …)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimeTransform {
    /// g(t) = 1 − Ŝ(t−), the Kaplan–Meier curve of everyone just before t (R's default).
    #[default]
    Km,
    /// g(t) = the rank of t among all durations (ties averaged).
    Rank,
    /// g(t) = t.
    Identity,
}

/// A covariate's value: a number, a yes/no (1/0), or a category level.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Flag(bool),
    Level(String),
}

/// One customer: observed from tenure `entry` (0: from the start) to `exit`, churned at
/// `exit` or still active there (`event` false).
#[derive(Debug, Clone, PartialEq)]
pub struct CoxRow {
    pub entry: f64,
    pub exit: f64,
    pub event: bool,
    pub covariates: BTreeMap<String, Value>,
    pub stratum: Option<String>,
}

/// A covariate profile to predict the survival curve of ("plan = pro, seats = 10").
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub covariates: BTreeMap<String, Value>,
    pub stratum: Option<String>,
}

/// What the fit is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxSettings {
    pub ties: Ties,
    /// The covariates in the model, in this order (default: every name the rows carry, in
    /// alphabetical order).
    pub covariates: Option<Vec<String>>,
    /// A category's reference level (default: its first level in alphabetical order).
    pub reference_levels: BTreeMap<String, String>,
    /// L2 penalty λ: the fit maximises ln L(β) − n λ/2 · Σ (βⱼ sⱼ)², n the customers and sⱼ
    /// the covariate's standard deviation (lifelines' `penalizer` with `l1_ratio = 0`).
    pub penalty: f64,
    pub confidence: Confidence,
    pub transform: TimeTransform,
    pub profiles: Vec<Profile>,
    /// Times at which to give each profile's survival (default: every distinct time).
    pub times: Vec<f64>,
    /// The JSON collection the rows came in (`observations`), for refusals.
    pub collection: String,
}

impl Default for CoxSettings {
    /// Efron's ties, every covariate the rows carry, no penalty, 95 % intervals, the km time
    /// scale, no profiles, rows named `observations`.
    fn default() -> Self {
        Self {
            ties: Ties::Efron,
            covariates: None,
            reference_levels: BTreeMap::new(),
            penalty: 0.0,
            confidence: Confidence::default(),
            transform: TimeTransform::Km,
            profiles: Vec::new(),
            times: Vec::new(),
            collection: "observations".to_owned(),
        }
    }
}

/// One model column.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coefficient {
    /// `age`, or `plan=pro` for a category's level.
    pub name: String,
    pub covariate: String,
    /// For a category: the level this column stands for, and the reference it is against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// β: the change in the log hazard per unit (or for this level against the reference).
    pub coef: f64,
    /// exp(β): how many times the hazard of churning is multiplied.
    pub hazard_ratio: f64,
    pub std_error: f64,
    /// β / SE, and its two-sided normal p-value.
    pub z: f64,
    pub p_value: f64,
    /// β ± z SE at the confidence level, and exp() of both.
    pub coef_lower: f64,
    pub coef_upper: f64,
    pub hazard_ratio_lower: f64,
    pub hazard_ratio_upper: f64,
    /// The covariate's mean over the rows: the baseline is at these means.
    pub mean: f64,
}

/// A chi-square test.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChiSquareTest {
    pub statistic: f64,
    pub degrees_of_freedom: usize,
    pub p_value: f64,
}

/// The likelihood-ratio, Wald and score tests of β = 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GlobalTests {
    /// 2 (ln L(β̂) − ln L(0)).
    pub likelihood_ratio: ChiSquareTest,
    /// β̂ᵀ I(β̂) β̂.
    pub wald: ChiSquareTest,
    /// U(0)ᵀ I(0)⁻¹ U(0).
    pub score: ChiSquareTest,
}

/// Harrell's concordance of the risk scores with the churn order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Concordance {
    /// (concordant + tied / 2) / comparable pairs.
    pub value: f64,
    pub concordant: u64,
    pub discordant: u64,
    /// Comparable pairs with equal risk scores.
    pub tied_risk: u64,
}

/// The proportional-hazards test of one covariate (or of all: `GLOBAL`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhTest {
    pub covariate: String,
    pub statistic: f64,
    pub degrees_of_freedom: usize,
    pub p_value: f64,
}

/// The score test that each coefficient does not drift with time g(t).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProportionalHazards {
    pub transform: TimeTransform,
    pub covariates: Vec<PhTest>,
    pub global: PhTest,
}

/// The baseline (at the covariates' means) of one stratum.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Baseline {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stratum: Option<String>,
    /// Every distinct exit time of the stratum.
    pub timeline: Vec<f64>,
    /// Breslow's Ĥ₀(t) = Σ_{tᵢ ≤ t} dᵢ / Σ_{j at risk at tᵢ} exp(β̂ᵀ(xⱼ − x̄)).
    pub cumulative_hazard: Vec<f64>,
    /// Ŝ₀(t) = exp(−Ĥ₀(t)).
    pub survival: Vec<f64>,
}

/// A profile's predicted survival.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfilePrediction {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stratum: Option<String>,
    /// exp(β̂ᵀ(x − x̄)): the profile's hazard against the baseline's.
    pub relative_hazard: f64,
    pub times: Vec<f64>,
    /// Ŝ(t | x) = Ŝ₀(t)^relative_hazard.
    pub survival: Vec<f64>,
    /// The first time Ŝ(t | x) ≤ 0.5; absent when the data end before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median: Option<f64>,
}

/// The Cox fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoxFit {
    pub formula: String,
    pub customers: usize,
    pub churned: usize,
    pub ties: Ties,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub strata: Vec<String>,
    pub penalty: f64,
    pub coefficients: Vec<Coefficient>,
    /// ln L(β̂): the partial log-likelihood (without the penalty).
    pub log_likelihood: f64,
    /// ln L(β̂) − n λ/2 Σ (β̂ⱼ sⱼ)², what a penalised fit maximises (lifelines reports this
    /// as its `log_likelihood_`); absent without a penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalised_log_likelihood: Option<f64>,
    /// ln L(0).
    pub log_likelihood_null: f64,
    pub tests: GlobalTests,
    pub concordance: Concordance,
    /// Absent when the data cannot test it (a single churn time: g(t) does not vary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proportional_hazards: Option<ProportionalHazards>,
    pub baseline: Vec<Baseline>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<ProfilePrediction>,
    pub iterations: usize,
    pub level_pct: f64,
    pub notes: Vec<String>,
}

/// One model column's description.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    covariate: String,
    level: Option<String>,
    reference: Option<String>,
}

/// How a covariate is encoded.
#[derive(Debug, Clone)]
enum Encoding {
    Numeric,
    Category {
        levels: Vec<String>,
        reference: String,
    },
}

/// The design: rows standardised, ordered for the risk-set sweeps.
struct Design {
    n: usize,
    p: usize,
    /// Standardised covariates, row-major n × p: (x − mean) / sd.
    x: Vec<f64>,
    mean: Vec<f64>,
    sd: Vec<f64>,
    entry: Vec<f64>,
    exit: Vec<f64>,
    event: Vec<bool>,
    /// Per stratum: rows by exit time descending (events first at equal times), and rows by
    /// entry descending (only when some entry is after 0).
    by_exit: Vec<Vec<usize>>,
    by_entry: Vec<Vec<usize>>,
    late_entry: bool,
}

/// The partial log-likelihood, its gradient and Hessian at β (standardised scale).
struct Derivatives {
    ll: f64,
    gradient: DVector<f64>,
    hessian: DMatrix<f64>,
}

fn field(collection: &str, i: usize, rest: &str) -> String {
    format!("/{collection}/{i}/{rest}")
}

/// The covariate names, their encodings, the model columns they make and the rows' values of
/// those columns (row-major).
type Encoded = (Vec<String>, Vec<Encoding>, Vec<Column>, Vec<f64>);

/// Reads the rows into model columns: numbers as they are, yes/no as 1/0, categories as one
/// column per level beyond the reference.
fn encode(rows: &[CoxRow], settings: &CoxSettings) -> Result<Encoded, InvalidInput> {
    let c = settings.collection.as_str();
    let (names, given) = match &settings.covariates {
        Some(list) => {
            let mut seen = std::collections::BTreeSet::new();
            for (k, name) in list.iter().enumerate() {
                if !seen.insert(name) {
                    return Err(InvalidInput::new(
                        format!("/covariates/{k}"),
                        "must not repeat",
                        format!("covariates names {name:?} twice"),
                    ));
                }
            }
            (list.clone(), true)
        }
        // The first row's names; a later row with another name is refused in `cells`.
        None => (
            rows[0].covariates.keys().cloned().collect::<Vec<_>>(),
            false,
        ),
    };
    if names.is_empty() {
        return Err(InvalidInput::new(
            format!("/{c}/0/covariates"),
            "at least one covariate",
            "no row carries a covariate: give each row covariates, e.g. {\"plan\": \"pro\", \"seats\": 10}",
        ));
    }
    for name in settings.reference_levels.keys() {
        if !names.contains(name) {
            return Err(InvalidInput::new(
                format!("/reference_levels/{name}"),
                "must name a covariate of the model",
                format!(
                    "reference_levels names {name:?}, which is not a covariate of the model ({})",
                    names.join(", ")
                ),
            ));
        }
    }
    let Cells { cells, levels_seen } = cells(rows, &names, given, c)?;
    let k_count = names.len();
    let mut encodings = Vec::new();
    let mut columns = Vec::new();
    // Per covariate: for a category, each first-seen level id's column (None: the reference).
    let mut level_columns: Vec<Vec<Option<usize>>> = vec![Vec::new(); k_count];
    for (k, name) in names.iter().enumerate() {
        if let Some(seen) = &levels_seen[k] {
            if seen.len() > MAX_LEVELS {
                return Err(InvalidInput::new(
                    format!("/{c}"),
                    format!("at most {MAX_LEVELS} levels per category"),
                    format!(
                        "the category {name:?} has {} levels; the most is {MAX_LEVELS}",
                        seen.len()
                    ),
                ));
            }
            let mut levels: Vec<String> = seen.iter().map(|l| (*l).to_owned()).collect();
            levels.sort_unstable();
            let reference = match settings.reference_levels.get(name) {
                Some(r) if !levels.contains(r) => {
                    return Err(InvalidInput::new(
                        format!("/reference_levels/{name}"),
                        "must be a level the rows carry",
                        format!(
                            "the reference level {r:?} of {name:?} is not among its levels ({})",
                            levels.join(", ")
                        ),
                    ))
                }
                Some(r) => r.clone(),
                None => levels[0].clone(),
            };
            if levels.len() < 2 {
                return Err(InvalidInput::new(
                    format!("/{c}/0/covariates/{name}"),
                    "must vary between customers",
                    format!("every row gives {name:?} the level {reference:?}: a covariate that never changes has no effect to estimate; leave it out"),
                ));
            }
            let first = columns.len();
            let others: Vec<&String> = levels.iter().filter(|l| **l != reference).collect();
            level_columns[k] = seen
                .iter()
                .map(|l| {
                    others
                        .iter()
                        .position(|o| o.as_str() == *l)
                        .map(|j| first + j)
                })
                .collect();
            for level in others {
                columns.push(Column {
                    name: format!("{name}={level}"),
                    covariate: name.clone(),
                    level: Some(level.clone()),
                    reference: Some(reference.clone()),
                });
            }
            encodings.push(Encoding::Category { levels, reference });
        } else {
            if settings.reference_levels.contains_key(name) {
                return Err(InvalidInput::new(
                    format!("/reference_levels/{name}"),
                    "only for a category",
                    format!("{name:?} is a number or true/false, not a category: it has no reference level"),
                ));
            }
            columns.push(Column {
                name: name.clone(),
                covariate: name.clone(),
                level: None,
                reference: None,
            });
            encodings.push(Encoding::Numeric);
        }
    }
    if columns.len() > MAX_COLUMNS {
        return Err(InvalidInput::new(
            "/covariates",
            format!("at most {MAX_COLUMNS} model columns"),
            format!("the covariates make {} model columns (a category makes one per level beyond its reference); the most is {MAX_COLUMNS}", columns.len()),
        ));
    }
    // The design's raw values, row by row: numbers as they are, one-hot levels.
    let p = columns.len();
    let mut raw = vec![0.0; rows.len() * p];
    let mut column_of_numeric = vec![0usize; k_count];
    for (k, col) in columns.iter().enumerate() {
        if col.level.is_none() {
            if let Some(position) = names.iter().position(|n| *n == col.covariate) {
                column_of_numeric[position] = k;
            }
        }
    }
    for (row, row_cells) in raw.chunks_mut(p).zip(cells.chunks(k_count)) {
        for (k, cell) in row_cells.iter().enumerate() {
            match cell {
                Cell::Number(v) => row[column_of_numeric[k]] = *v,
                Cell::Level(id) => {
                    if let Some(j) = level_columns[k][*id as usize] {
                        row[j] = 1.0;
                    }
                }
            }
        }
    }
    Ok((names, encodings, columns, raw))
}

/// A row's value of one covariate: a number (yes/no as 1/0) or a category level, as the
/// index of its first appearance.
#[derive(Clone, Copy)]
enum Cell {
    Number(f64),
    Level(u32),
}

/// The rows' cells (row-major, one per name) and each category's levels in the order first
/// seen (`None` for a number).
struct Cells<'a> {
    cells: Vec<Cell>,
    levels_seen: Vec<Option<Vec<&'a str>>>,
}

/// Every row's cells in model order, in one walk of each row's (sorted) covariates beside the
/// sorted names; each level string is read once. The first row fixes each covariate's kind. A
/// missing value, a value of the other kind, a non-finite number and (when the names were not
/// given) a name the first row lacks are refused naming the row and covariate.
fn cells<'a>(
    rows: &'a [CoxRow],
    names: &[String],
    given: bool,
    c: &str,
) -> Result<Cells<'a>, InvalidInput> {
    let mut sorted: Vec<(&str, usize)> = names
        .iter()
        .enumerate()
        .map(|(k, n)| (n.as_str(), k))
        .collect();
    sorted.sort_unstable();
    let k_count = names.len();
    let mut out = vec![Cell::Number(0.0); rows.len() * k_count];
    let mut levels_seen: Vec<Option<Vec<&str>>> = vec![None; k_count];
    let mut last: Vec<u32> = vec![0; k_count];
    for (i, row) in rows.iter().enumerate() {
        let mut entries = row.covariates.iter().peekable();
        for &(name, k) in &sorted {
            if let Some((extra, _)) = entries.next_if(|(key, _)| key.as_str() < name) {
                if !given {
                    return Err(extra_name(c, i, extra));
                }
                while entries.next_if(|(key, _)| key.as_str() < name).is_some() {}
            }
            let Some((_, value)) = entries.next_if(|(key, _)| key.as_str() == name) else {
                return Err(InvalidInput::new(
                    field(c, i, &format!("covariates/{name}")),
                    "required: every row gives every covariate",
                    format!("{c}[{i}] has no covariate {name:?}; every row needs a value for each covariate of the model"),
                ));
            };
            let kind_refused = |is_level: bool| {
                let kind = !is_level;
                InvalidInput::new(
                    field(c, i, &format!("covariates/{name}")),
                    if kind { "must be a category (a string) as in the first row" } else { "must be a number or true/false as in the first row" },
                    format!("{c}[{i}] gives {name:?} as {}, the first row as {}: one covariate takes one kind of value", if is_level { "a category" } else { "a number" }, if kind { "a category" } else { "a number" }),
                )
            };
            out[i * k_count + k] = match value {
                Value::Level(l) => {
                    let seen = match &mut levels_seen[k] {
                        Some(seen) => seen,
                        None if i == 0 => levels_seen[k].insert(Vec::new()),
                        None => return Err(kind_refused(true)),
                    };
                    // Consecutive rows often share a level: try the last one first.
                    let id = if seen.get(last[k] as usize) == Some(&l.as_str()) {
                        last[k]
                    } else {
                        match seen.iter().position(|s| *s == l.as_str()) {
                            Some(j) => j as u32,
                            None if seen.len() > MAX_LEVELS => {
                                return Err(InvalidInput::new(
                                    format!("/{c}"),
                                    format!("at most {MAX_LEVELS} levels per category"),
                                    format!(
                                        "the category {name:?} has more than {MAX_LEVELS} levels"
                                    ),
                                ))
                            }
                            None => {
                                seen.push(l);
                                (seen.len() - 1) as u32
                            }
                        }
                    };
                    last[k] = id;
                    Cell::Level(id)
                }
                _ if levels_seen[k].is_some() => return Err(kind_refused(false)),
                Value::Number(v) if v.is_finite() => Cell::Number(*v),
                Value::Number(v) => {
                    return Err(InvalidInput::new(
                        field(c, i, &format!("covariates/{name}")),
                        "must be a finite number",
                        format!("{c}[{i}] gives {name:?} as {v}"),
                    ))
                }
                Value::Flag(b) => Cell::Number(if *b { 1.0 } else { 0.0 }),
            };
        }
        if let Some((extra, _)) = entries.next() {
            if !given {
                return Err(extra_name(c, i, extra));
            }
        }
    }
    Ok(Cells {
        cells: out,
        levels_seen,
    })
}

/// A row naming a covariate the first row lacks: with the names taken from the rows, every row
/// must give the same ones.
fn extra_name(c: &str, i: usize, name: &str) -> InvalidInput {
    InvalidInput::new(
        field(c, 0, &format!("covariates/{name}")),
        "required: every row gives every covariate",
        format!("{c}[{i}] gives {name:?}, which {c}[0] lacks: every row needs a value for each covariate of the model (or list the model's covariates in covariates)"),
    )
}

/// A row's model columns.
fn row_values(
    covariates: &BTreeMap<String, Value>,
    names: &[String],
    encodings: &[Encoding],
    out: &mut Vec<f64>,
) -> Result<(), String> {
    for (name, encoding) in names.iter().zip(encodings) {
        let value = covariates
            .get(name)
            .ok_or_else(|| format!("no value for {name:?}"))?;
        match (encoding, value) {
            (Encoding::Numeric, Value::Number(v)) if v.is_finite() => out.push(*v),
            (Encoding::Numeric, Value::Flag(b)) => out.push(if *b { 1.0 } else { 0.0 }),
            (Encoding::Category { levels, reference }, Value::Level(l)) => {
                // Levels are sorted: one binary search, then the one-hot columns.
                if levels.binary_search(l).is_err() {
                    return Err(format!(
                        "{name:?} = {l:?} is not a level of the data ({})",
                        levels.join(", ")
                    ));
                }
                for level in levels.iter().filter(|x| *x != reference) {
                    out.push(if level == l { 1.0 } else { 0.0 });
                }
            }
            (Encoding::Numeric, _) => return Err(format!("{name:?} must be a number")),
            (Encoding::Category { .. }, _) => {
                return Err(format!("{name:?} must be a category level (a string)"))
            }
        }
    }
    Ok(())
}

fn check_rows(rows: &[CoxRow], c: &str) -> Result<(), InvalidInput> {
    if rows.len() < 2 {
        return Err(InvalidInput::new(
            format!("/{c}"),
            "at least 2 customers",
            format!(
                "{} customers were sent; a regression needs at least 2",
                rows.len()
            ),
        ));
    }
    for (i, r) in rows.iter().enumerate() {
        super::survival::check_span(c, i, r.entry, r.exit)?;
    }
    if !rows.iter().any(|r| r.event) {
        return Err(InvalidInput::new(
            format!("/{c}"),
            "at least one churned customer",
            "no customer churned (observed is false everywhere): there is nothing to regress",
        ));
    }
    Ok(())
}

/// Standardises the columns, refuses constant and collinear ones, and orders the rows.
fn design(
    rows: &[CoxRow],
    raw: Vec<f64>,
    columns: &[Column],
    strata_of_rows: &[usize],
    strata: usize,
    c: &str,
) -> Result<Design, InvalidInput> {
    let n = rows.len();
    let p = columns.len();
    let mut mean = vec![0.0; p];
    for i in 0..n {
        for j in 0..p {
            mean[j] += raw[i * p + j];
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut sd = vec![0.0; p];
    for i in 0..n {
        for j in 0..p {
            sd[j] += (raw[i * p + j] - mean[j]).powi(2);
        }
    }
    for (j, s) in sd.iter_mut().enumerate() {
        *s = (*s / (n as f64 - 1.0)).sqrt();
        let spread = raw
            .iter()
            .skip(j)
            .step_by(p)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        if spread.1 > spread.0 && !(s.is_finite() && *s > 0.0 && mean[j].is_finite()) {
            return Err(InvalidInput::new(
                format!("/{c}/0/covariates/{}", columns[j].covariate),
                "values whose spread a 64-bit float can hold",
                format!("{} runs from {:e} to {:e}: its mean or spread cannot be computed in 64-bit floats; give it in other units (thousands, or a logarithm)", columns[j].name, spread.0, spread.1),
            ));
        }
        if spread.1 <= spread.0 || !spread.1.is_finite() || *s == 0.0 {
            return Err(InvalidInput::new(
                format!("/{c}/0/covariates/{}", columns[j].covariate),
                "must vary between customers",
                format!("{} is {} for every customer: a covariate that never changes has no effect to estimate; leave it out", columns[j].name, num(raw[j])),
            ));
        }
    }

    // Collinearity: the Cholesky factor of the standardised columns' correlation matrix, in
    // model order. Its j-th pivot is the share of column j's variance left after regressing it
    // on the columns before it; below 1e-10 the column is a combination of those.
    let mut correlation = vec![0.0; p * p];
    let mut xi = vec![0.0; p];
    for ri in raw.chunks(p) {
        for j in 0..p {
            xi[j] = (ri[j] - mean[j]) / sd[j];
        }
        for a in 0..p {
            let xa = xi[a];
            for (cell, xb) in correlation[a * p..=a * p + a].iter_mut().zip(&xi) {
                *cell += xa * xb;
            }
        }
    }
    for cell in &mut correlation {
        *cell /= n as f64 - 1.0;
    }
    let mut factor = vec![0.0f64; p * p];
    for j in 0..p {
        let pivot = correlation[j * p + j] - (0..j).map(|k| factor[j * p + k].powi(2)).sum::<f64>();
        if pivot <= 1e-10 {
            let earlier: Vec<&str> = columns[..j].iter().map(|c| c.name.as_str()).collect();
            return Err(InvalidInput::new(
                format!("/{c}/0/covariates/{}", columns[j].covariate),
                "must not be a combination of other covariates",
                format!("{} is a linear combination of {} (collinear): its effect cannot be told apart from theirs; leave one out", columns[j].name, earlier.join(", ")),
            ));
        }
        let root = pivot.sqrt();
        factor[j * p + j] = root;
        for i in j + 1..p {
            let dot: f64 = (0..j).map(|k| factor[i * p + k] * factor[j * p + k]).sum();
            factor[i * p + j] = (correlation[i * p + j] - dot) / root;
        }
    }
    // The rows are laid out in the order the risk-set sweeps read them (by stratum, exit
    // time descending, churners first at equal times), so every sweep reads memory in order:
    // one sort of packed keys (stratum, exit descending, churned first, row).
    let descending = |t: f64| -> u64 {
        let bits = t.to_bits();
        let ascending = if bits >> 63 == 1 {
            !bits
        } else {
            bits | (1 << 63)
        };
        !ascending
    };
    let mut keys: Vec<u128> = rows
        .iter()
        .zip(strata_of_rows)
        .enumerate()
        .map(|(i, (r, s))| {
            ((*s as u128) << 112)
                | ((descending(r.exit) as u128) << 48)
                | ((u128::from(!r.event)) << 40)
                | i as u128
        })
        .collect();
    keys.sort_unstable();
    let order: Vec<(usize, f64, bool, usize)> = keys
        .iter()
        .map(|k| {
            let i = (k & ((1 << 40) - 1)) as usize;
            ((k >> 112) as usize, rows[i].exit, rows[i].event, i)
        })
        .collect();
    // Standardised, in that order.
    let mut laid_out = Vec::with_capacity(n * p);
    for &(_, _, _, i) in &order {
        laid_out.extend(
            raw[i * p..(i + 1) * p]
                .iter()
                .zip(mean.iter().zip(&sd))
                .map(|(v, (m, s))| (v - m) / s),
        );
    }
    let x = laid_out;
    let entry: Vec<f64> = order.iter().map(|o| rows[o.3].entry).collect();
    let exit: Vec<f64> = order.iter().map(|o| o.1).collect();
    let event: Vec<bool> = order.iter().map(|o| o.2).collect();
    let late_entry = entry.iter().any(|e| *e > 0.0);
    let mut by_exit = vec![Vec::new(); strata];
    for (position, o) in order.iter().enumerate() {
        by_exit[o.0].push(position);
    }
    let mut by_entry = by_exit.clone();
    if late_entry {
        for list in &mut by_entry {
            list.sort_unstable_by(|a, b| entry[*b].total_cmp(&entry[*a]).then(a.cmp(b)));
        }
    }
    Ok(Design {
        n,
        p,
        x,
        mean,
        sd,
        entry,
        exit,
        event,
        by_exit,
        by_entry,
        late_entry,
    })
}

/// Running risk-set sums S0 = Σ r, S1 = Σ r x, S2 = Σ r x xᵀ (r = exp(η)).
struct RiskSums {
    s0: f64,
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl RiskSums {
    fn new(p: usize) -> Self {
        Self {
            s0: 0.0,
            s1: vec![0.0; p],
            s2: vec![0.0; p * p],
        }
    }
    fn add(&mut self, r: f64, x: &[f64], sign: f64) {
        let p = x.len();
        let w = sign * r;
        self.s0 += w;
        for (a, xa) in x.iter().enumerate() {
            let wa = w * xa;
            self.s1[a] += wa;
            for (s2, xb) in self.s2[a * p..=a * p + a].iter_mut().zip(x) {
                *s2 += wa * xb;
            }
        }
    }
}

/// The sums over one churn time's terms of the partial likelihood. Efron splits the d
/// churners' time into d terms l = 0…d−1 with risk-set total φ_l = S0 − (l/d) D0 and weighted
/// mean m_l = (S1 − f_l D1)/φ_l (f_l = l/d); Breslow has one term, φ = S0, counted d times.
/// Everything a time contributes is a combination of S and D sums with these scalars, so a
/// time costs O(d + p²) rather than O(d p²).
struct TieSums {
    /// Σ w/φ, Σ w f/φ, Σ w/φ², Σ w f/φ², Σ w f²/φ², Σ w ln φ.
    inv: f64,
    f_inv: f64,
    inv2: f64,
    f_inv2: f64,
    f2_inv2: f64,
    log: f64,
}

impl TieSums {
    fn new(risk: &RiskSums, deaths: &RiskSums, count: usize, ties: Ties) -> Self {
        let mut t = Self {
            inv: 0.0,
            f_inv: 0.0,
            inv2: 0.0,
            f_inv2: 0.0,
            f2_inv2: 0.0,
            log: 0.0,
        };
        let (parts, weight) = match ties {
            Ties::Breslow => (1, count as f64),
            Ties::Efron => (count, 1.0),
        };
        for l in 0..parts {
            let f = match ties {
                Ties::Breslow => 0.0,
                Ties::Efron => l as f64 / count as f64,
            };
            let phi = risk.s0 - f * deaths.s0;
            let (i1, i2) = (weight / phi, weight / (phi * phi));
            t.inv += i1;
            t.f_inv += f * i1;
            t.inv2 += i2;
            t.f_inv2 += f * i2;
            t.f2_inv2 += f * f * i2;
            t.log += weight * phi.ln();
        }
        t
    }

    /// Σ_l w m_l into `mean`, and Σ_l w [(S2 − f_l D2)/φ_l − m_l m_lᵀ] (lower triangle,
    /// row-major) into `cov`.
    fn mean_and_covariance(
        &self,
        risk: &RiskSums,
        deaths: &RiskSums,
        mean: &mut [f64],
        cov: &mut [f64],
    ) {
        let p = mean.len();
        for a in 0..p {
            mean[a] = risk.s1[a] * self.inv - deaths.s1[a] * self.f_inv;
            for b in 0..=a {
                let (s1a, s1b, d1a, d1b) = (risk.s1[a], risk.s1[b], deaths.s1[a], deaths.s1[b]);
                let outer = s1a * s1b * self.inv2 - (s1a * d1b + d1a * s1b) * self.f_inv2
                    + d1a * d1b * self.f2_inv2;
                cov[a * p + b] =
                    risk.s2[a * p + b] * self.inv - deaths.s2[a * p + b] * self.f_inv - outer;
            }
        }
    }
}

/// Visits each distinct churn time of each stratum, from the last to the first, with the
/// risk set's sums and the churners' sums (Efron needs both). `visit(stratum, time, risk,
/// deaths, churner rows)`. Returns false when cancelled.
fn sweep(
    d: &Design,
    eta: &[f64],
    mut visit: impl FnMut(usize, f64, &RiskSums, &RiskSums, &[usize]),
) -> bool {
    let p = d.p;
    let mut steps = 0usize;
    for (s, order) in d.by_exit.iter().enumerate() {
        let entries = &d.by_entry[s];
        let mut risk = RiskSums::new(p);
        let mut k = 0;
        let mut gone = 0;
        let mut churners = Vec::new();
        while k < order.len() {
            let t = d.exit[order[k]];
            let mut deaths = RiskSums::new(p);
            churners.clear();
            while k < order.len() && d.exit[order[k]] == t {
                let i = order[k];
                steps += 1;
                if stop_at(steps) {
                    return false;
                }
                let r = eta[i].exp();
                let xi = &d.x[i * p..(i + 1) * p];
                risk.add(r, xi, 1.0);
                if d.event[i] {
                    deaths.add(r, xi, 1.0);
                    churners.push(i);
                }
                k += 1;
            }
            if d.late_entry {
                // Customers first seen at or after t (entry 0: from the start) were not at
                // risk at t.
                let before = risk.s0;
                let mut removed = false;
                while gone < entries.len()
                    && d.entry[entries[gone]] >= t
                    && d.entry[entries[gone]] > 0.0
                {
                    let i = entries[gone];
                    risk.add(eta[i].exp(), &d.x[i * p..(i + 1) * p], -1.0);
                    gone += 1;
                    removed = true;
                }
                // A subtraction that cancels nearly everything leaves rounding, not the sum:
                // sum the rows still at risk afresh.
                if removed && (risk.s0 <= 1e-8 * before || risk.s0.is_nan()) {
                    risk = RiskSums::new(p);
                    for &i in &order[..k] {
                        if d.entry[i] < t || d.entry[i] <= 0.0 {
                            risk.add(eta[i].exp(), &d.x[i * p..(i + 1) * p], 1.0);
                        }
                    }
                }
            }
            if !churners.is_empty() {
                visit(s, t, &risk, &deaths, &churners);
            }
        }
    }
    true
}

/// The linear predictors η = xβ, shifted so the largest is 0 (the partial likelihood is
/// unchanged by a common shift; exp() then never overflows).
fn linear_predictors(d: &Design, beta: &[f64]) -> Vec<f64> {
    let p = d.p;
    let mut eta: Vec<f64> = (0..d.n)
        .map(|i| (0..p).map(|j| d.x[i * p + j] * beta[j]).sum())
        .collect();
    let top = eta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for e in &mut eta {
        *e -= top;
    }
    eta
}

/// The partial log-likelihood and its first two derivatives.
///
/// ```text
/// Breslow: ln L = Σ_t [Σ_{i ∈ D_t} ηᵢ − d_t ln S0(t)]
/// Efron:   ln L = Σ_t [Σ_{i ∈ D_t} ηᵢ − Σ_{l=0}^{d_t−1} ln(S0(t) − (l/d_t) D0(t))]
/// ```
///
/// with S0(t) = Σ_{j at risk at t} exp(ηⱼ) and D0(t) the same sum over the churners at t;
/// the gradient and Hessian replace each ln φ by the weighted mean a = (S1 − f D1)/φ and
/// covariance (S2 − f D2)/φ − a aᵀ.
fn derivatives(d: &Design, beta: &[f64], ties: Ties) -> Option<Derivatives> {
    let p = d.p;
    let eta = linear_predictors(d, beta);
    let mut ll = 0.0;
    let mut g = DVector::zeros(p);
    let mut h = DMatrix::zeros(p, p);
    let mut mean = vec![0.0; p];
    let mut cov = vec![0.0; p * p];
    let completed = sweep(d, &eta, |_, _, risk, deaths, churners| {
        for &i in churners {
            ll += eta[i];
            for a in 0..p {
                g[a] += d.x[i * p + a];
            }
        }
        let tie = TieSums::new(risk, deaths, churners.len(), ties);
        ll -= tie.log;
        tie.mean_and_covariance(risk, deaths, &mut mean, &mut cov);
        for a in 0..p {
            g[a] -= mean[a];
            for b in 0..=a {
                h[(a, b)] -= cov[a * p + b];
            }
        }
    });
    if !completed {
        return None;
    }
    for a in 0..p {
        for b in 0..a {
            h[(b, a)] = h[(a, b)];
        }
    }
    Some(Derivatives {
        ll,
        gradient: g,
        hessian: h,
    })
}

/// The fit on the standardised scale.
struct Maximum {
    beta: Vec<f64>,
    at: Derivatives,
    null: Derivatives,
    iterations: usize,
}

/// Newton–Raphson on the penalised partial likelihood ln L(β) − λ/2 ‖β‖² (β standardised),
/// from β = 0, halving a step that lowers it. Converged when a step changes no coefficient by
/// more than 1e-9 and the objective by less than 1e-12 of itself.
fn newton(
    d: &Design,
    ties: Ties,
    penalty: f64,
    columns: &[Column],
    c: &str,
) -> Result<Maximum, InvalidInput> {
    let p = d.p;
    let objective = |at: &Derivatives, beta: &[f64]| {
        at.ll - 0.5 * penalty * beta.iter().map(|b| b * b).sum::<f64>()
    };
    let mut beta = vec![0.0; p];
    let null = derivatives(d, &beta, ties).ok_or(cancelled_error())?;
    let mut at = Derivatives {
        ll: null.ll,
        gradient: null.gradient.clone(),
        hessian: null.hessian.clone(),
    };
    let mut value = objective(&at, &beta);
    for iteration in 1..=MAX_ITERATIONS {
        if cancelled() {
            return Err(cancelled_error());
        }
        let gradient = &at.gradient - DVector::from_column_slice(&beta) * penalty;
        let information = -&at.hessian + DMatrix::identity(p, p) * penalty;
        let Some(chol) = information.clone().cholesky() else {
            return Err(separation(&beta, columns, c));
        };
        let step = chol.solve(&gradient);
        let mut scale = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let candidate: Vec<f64> = beta
                .iter()
                .zip(step.iter())
                .map(|(b, s)| b + scale * s)
                .collect();
            let next = derivatives(d, &candidate, ties).ok_or(cancelled_error())?;
            let v = objective(&next, &candidate);
            if v.is_finite() && v >= value - 1e-12 * value.abs().max(1.0) {
                accepted = Some((candidate, next, v));
                break;
            }
            scale /= 2.0;
        }
        let Some((candidate, next, v)) = accepted else {
            return Err(separation(&beta, columns, c));
        };
        let moved = candidate
            .iter()
            .zip(&beta)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let gained = (v - value).abs();
        beta = candidate;
        at = next;
        value = v;
        if beta.iter().any(|b| b.abs() > DIVERGED) {
            return Err(separation(&beta, columns, c));
        }
        if moved < 1e-9 && gained <= 1e-12 * value.abs().max(1.0) {
            return Ok(Maximum {
                beta,
                at,
                null,
                iterations: iteration,
            });
        }
    }
    Err(separation(&beta, columns, c))
}

/// The refusal when the likelihood has no maximum: the coefficient running away is named.
fn separation(beta: &[f64], columns: &[Column], c: &str) -> InvalidInput {
    let (j, largest) =
        beta.iter().enumerate().fold(
            (0, 0.0),
            |best, (j, b)| {
                if b.abs() > best.1 {
                    (j, b.abs())
                } else {
                    best
                }
            },
        );
    if largest == 0.0 {
        return InvalidInput::new(
            format!("/{c}/0/covariates"),
            "covariates that tell churners from the customers at risk with them",
            "the partial likelihood does not change with the covariates (its curvature is 0 at beta = 0): some covariate never differs among the customers at risk at any churn time, for instance it is constant within each stratum, or varies only among customers who left before anyone churned. Leave it out, or send penalty for a penalised fit",
        );
    }
    InvalidInput::new(
        format!("/{c}/0/covariates/{}", columns[j].covariate),
        "must not separate churners from stayers",
        format!(
            "the coefficient of {} runs off to {} infinity: the covariate (nearly) separates the customers who churn early from the others, so the partial likelihood has no maximum. Leave it out, merge its levels, or send penalty (e.g. 0.1) for a penalised fit",
            columns[j].name,
            if beta[j] > 0.0 { "plus" } else { "minus" }
        ),
    )
}

fn chi_square(statistic: f64, df: usize) -> ChiSquareTest {
    let p_value = ChiSquared::new(df as f64)
        .map(|c| c.sf(statistic.max(0.0)))
        .unwrap_or(f64::NAN);
    ChiSquareTest {
        statistic,
        degrees_of_freedom: df,
        p_value,
    }
}

/// Harrell's C: among pairs where the customer who churned first is known (the other was
/// still observed after that time, or censored at the same time), the share in which that
/// customer had the higher risk score, ties in score counting one half — within strata, as
/// R's `concordance` counts them. A Fenwick tree over the ranks of the scores makes it
/// O(n log n).
fn concordance(d: &Design, eta: &[f64]) -> Option<Concordance> {
    // Each row's rank among the distinct scores, from one sort.
    let mut by_score: Vec<usize> = (0..eta.len()).collect();
    by_score.sort_unstable_by(|a, b| eta[*a].total_cmp(&eta[*b]));
    let mut ranks = vec![0usize; eta.len()];
    let mut distinct = 0;
    for (k, &i) in by_score.iter().enumerate() {
        if k > 0 && eta[i] != eta[by_score[k - 1]] {
            distinct += 1;
        }
        ranks[i] = distinct;
    }
    let ranked = vec![(); distinct + 1];
    let rank = |i: usize| ranks[i];
    let m = ranked.len();
    let (mut concordant, mut discordant, mut tied) = (0u64, 0u64, 0u64);
    let mut steps = 0usize;
    for (s, order) in d.by_exit.iter().enumerate() {
        let entries = &d.by_entry[s];
        let mut tree = vec![0i64; m + 1];
        let add = |tree: &mut Vec<i64>, r: usize, v: i64| {
            let mut k = r + 1;
            while k <= m {
                tree[k] += v;
                k += k & k.wrapping_neg();
            }
        };
        let below = |tree: &Vec<i64>, r: usize| -> i64 {
            // Count with rank < r.
            let mut k = r;
            let mut total = 0;
            while k > 0 {
                total += tree[k];
                k -= k & k.wrapping_neg();
            }
            total
        };
        let mut total = 0i64;
        let mut k = 0;
        let mut gone = 0;
        while k < order.len() {
            let t = d.exit[order[k]];
            let start = k;
            while k < order.len() && d.exit[order[k]] == t {
                k += 1;
            }
            let group = &order[start..k];
            // Censored at t outlive the churners at t.
            for &i in group.iter().filter(|i| !d.event[**i]) {
                add(&mut tree, rank(i), 1);
                total += 1;
            }
            if d.late_entry {
                while gone < entries.len()
                    && d.entry[entries[gone]] >= t
                    && d.entry[entries[gone]] > 0.0
                {
                    let i = entries[gone];
                    // Only those already in the tree (exit > t, or censored at t) leave it.
                    if d.exit[i] > t || (d.exit[i] == t && !d.event[i]) {
                        add(&mut tree, rank(i), -1);
                        total -= 1;
                    }
                    gone += 1;
                }
            }
            for &i in group.iter().filter(|i| d.event[**i]) {
                steps += 1;
                if stop_at(steps) {
                    return None;
                }
                let r = rank(i);
                let lower = below(&tree, r);
                let not_above = below(&tree, r + 1);
                concordant += lower as u64;
                tied += (not_above - lower) as u64;
                discordant += (total - not_above) as u64;
            }
            for &i in group.iter().filter(|i| d.event[**i]) {
                if !(d.late_entry && d.entry[i] >= t) {
                    add(&mut tree, rank(i), 1);
                    total += 1;
                }
            }
        }
    }
    let pairs = concordant + discordant + tied;
    let value = if pairs == 0 {
        0.5
    } else {
        (concordant as f64 + tied as f64 / 2.0) / pairs as f64
    };
    Some(Concordance {
        value,
        concordant,
        discordant,
        tied_risk: tied,
    })
}

/// g(t) for each row under the transform, centred on its mean over the churners (R's
/// `cox.zph`).
fn time_scale(d: &Design, transform: TimeTransform) -> Vec<f64> {
    let n = d.n;
    let raw: Vec<f64> = match transform {
        TimeTransform::Identity => d.exit.clone(),
        TimeTransform::Rank => {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|a, b| d.exit[*a].total_cmp(&d.exit[*b]));
            let mut ranks = vec![0.0; n];
            let mut i = 0;
            while i < n {
                let mut j = i;
                while j < n && d.exit[order[j]] == d.exit[order[i]] {
                    j += 1;
                }
                let average = (i + 1 + j) as f64 / 2.0;
                for k in i..j {
                    ranks[order[k]] = average;
                }
                i = j;
            }
            ranks
        }
        TimeTransform::Km => {
            // Everyone's Kaplan–Meier curve (strata pooled, late entry honoured); each row
            // takes 1 − Ŝ just before its time.
            let spans: Vec<super::survival::Observation> = (0..n)
                .map(|i| super::survival::Observation {
                    entry: d.entry[i],
                    duration: d.exit[i],
                    observed: d.event[i],
                })
                .collect();
            let table = super::survival::Table::from_observations(&spans).exits();
            let times: Vec<f64> = table.iter().map(|row| row.0).collect();
            let mut before = Vec::with_capacity(table.len());
            let mut s = 1.0;
            for &(_, at_risk, churned, _) in &table {
                before.push(s);
                if at_risk > 0 {
                    s *= 1.0 - churned as f64 / at_risk as f64;
                }
            }
            (0..n)
                .map(|i| {
                    let idx = times.partition_point(|t| *t < d.exit[i]);
                    1.0 - before[idx]
                })
                .collect()
        }
    };
    let (sum, count) = (0..n)
        .filter(|i| d.event[*i])
        .fold((0.0, 0.0), |(s, c), i| (s + raw[i], c + 1.0));
    let centre = sum / count;
    raw.into_iter().map(|g| g - centre).collect()
}

/// The score test of β(t) = β + γ g(t) at (β̂, γ = 0), per covariate (all its columns) and
/// for all together: U_γ (the churners' covariates minus the risk set's weighted means,
/// times g) against the information of the model with the 2p columns (x, x·g(t)), as
/// R's `cox.zph` computes it (survival ≥ 3.0).
fn ph_test(
    d: &Design,
    beta: &[f64],
    ties: Ties,
    penalty: f64,
    transform: TimeTransform,
    terms: &[(String, Vec<usize>)],
) -> Option<ProportionalHazards> {
    let p = d.p;
    let g = time_scale(d, transform);
    let eta = linear_predictors(d, beta);
    let mut u = vec![0.0; p];
    let mut info = DMatrix::<f64>::zeros(2 * p, 2 * p);
    let (mut mean, mut cov) = (vec![0.0; p], vec![0.0; p * p]);
    let completed = sweep(d, &eta, |_, _, risk, deaths, churners| {
        let gt = g[churners[0]];
        let count = churners.len();
        for &i in churners {
            for (ua, xa) in u.iter_mut().zip(&d.x[i * p..(i + 1) * p]) {
                *ua += gt * xa;
            }
        }
        let tie = TieSums::new(risk, deaths, count, ties);
        tie.mean_and_covariance(risk, deaths, &mut mean, &mut cov);
        for a in 0..p {
            u[a] -= gt * mean[a];
            for b in 0..=a {
                let v = cov[a * p + b];
                info[(a, b)] += v;
                info[(p + a, b)] += gt * v;
                info[(p + a, p + b)] += gt * gt * v;
                if a != b {
                    info[(p + b, a)] += gt * v;
                }
            }
        }
    });
    if !completed {
        return None;
    }
    for a in 0..2 * p {
        for b in 0..a {
            info[(b, a)] = info[(a, b)];
        }
    }
    for a in 0..p {
        info[(a, a)] += penalty;
        info[(p + a, p + a)] += penalty;
    }
    let statistic = |columns: &[usize]| -> f64 {
        let kk: Vec<usize> = (0..p).chain(columns.iter().map(|c| p + c)).collect();
        let m = kk.len();
        let sub = DMatrix::from_fn(m, m, |a, b| info[(kk[a], kk[b])]);
        let rhs = DVector::from_fn(m, |a, _| if a < p { 0.0 } else { u[columns[a - p]] });
        match sub.clone().cholesky() {
            Some(c) => c.solve(&rhs).dot(&rhs),
            None => sub.lu().solve(&rhs).map_or(f64::NAN, |x| x.dot(&rhs)),
        }
    };
    let covariates = terms
        .iter()
        .map(|(name, cols)| {
            let t = chi_square(statistic(cols), cols.len());
            PhTest {
                covariate: name.clone(),
                statistic: t.statistic,
                degrees_of_freedom: t.degrees_of_freedom,
                p_value: t.p_value,
            }
        })
        .collect();
    let all: Vec<usize> = (0..p).collect();
    let t = chi_square(statistic(&all), p);
    Some(ProportionalHazards {
        transform,
        covariates,
        global: PhTest {
            covariate: "GLOBAL".to_owned(),
            statistic: t.statistic,
            degrees_of_freedom: t.degrees_of_freedom,
            p_value: t.p_value,
        },
    })
}

/// Breslow's baseline cumulative hazard per stratum at the covariates' means.
/// Each stratum's baseline, and ln Ĥ₀ at each of its times (−∞ before the first churn) for
/// the profiles: the sums run on exp(η − max η), so no exp() overflows however large the
/// linear predictors.
type Baselines = (Vec<Baseline>, Vec<Vec<f64>>);

fn baselines(d: &Design, beta: &[f64], names: &[String]) -> Option<Baselines> {
    let p = d.p;
    // At the means (standardised x = 0): η = β·x exactly, then shifted by its largest value.
    let eta: Vec<f64> = (0..d.n)
        .map(|i| (0..p).map(|j| d.x[i * p + j] * beta[j]).sum())
        .collect();
    let shift = eta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weight = |i: usize| (eta[i] - shift).exp();
    let mut out = Vec::new();
    let mut logs = Vec::new();
    for (s, order) in d.by_exit.iter().enumerate() {
        // Increments (on the shifted scale) at each time, found by the backward sweep.
        let mut increments: Vec<f64> = Vec::new();
        let mut risk = 0.0;
        let entries = &d.by_entry[s];
        let (mut k, mut gone) = (0, 0);
        let mut times = Vec::new();
        while k < order.len() {
            let t = d.exit[order[k]];
            let mut deaths = 0.0;
            while k < order.len() && d.exit[order[k]] == t {
                let i = order[k];
                if stop_at(k) {
                    return None;
                }
                risk += weight(i);
                if d.event[i] {
                    deaths += 1.0;
                }
                k += 1;
            }
            if d.late_entry {
                let before = risk;
                let mut removed = false;
                while gone < entries.len()
                    && d.entry[entries[gone]] >= t
                    && d.entry[entries[gone]] > 0.0
                {
                    risk -= weight(entries[gone]);
                    gone += 1;
                    removed = true;
                }
                if removed && (risk <= 1e-8 * before || risk.is_nan()) {
                    risk = order[..k]
                        .iter()
                        .filter(|&&i| d.entry[i] < t || d.entry[i] <= 0.0)
                        .map(|&i| weight(i))
                        .sum();
                }
            }
            times.push(t);
            increments.push(if deaths > 0.0 { deaths / risk } else { 0.0 });
        }
        increments.reverse();
        times.reverse();
        let mut h = 0.0;
        let mut cumulative = Vec::with_capacity(times.len());
        let mut log_cumulative = Vec::with_capacity(times.len());
        for inc in &increments {
            h += inc;
            log_cumulative.push(h.ln() - shift);
            cumulative.push(h * (-shift).exp());
        }
        out.push(Baseline {
            stratum: names.get(s).cloned(),
            survival: cumulative.iter().map(|h| (-h).exp()).collect(),
            timeline: times,
            cumulative_hazard: cumulative,
        });
        logs.push(log_cumulative);
    }
    Some((out, logs))
}

/// Fits the Cox model.
///
/// # Formula
///
/// ```text
/// h(t | x)   = h₀(t) exp(βᵀx)
/// β̂          = argmax ln L(β) − n λ/2 Σ (βⱼ sⱼ)²          (Newton–Raphson; λ = penalty)
/// SE(β̂ⱼ)     = √[(I(β̂) + n λ S²)⁻¹]ⱼⱼ,  I = −∂² ln L / ∂β²
/// z = β̂ / SE, p = erfc(|z| / √2), interval exp(β̂ ± z_{level} SE)
/// LR = 2 (ln L(β̂) − ln L(0)),  Wald = β̂ᵀ I(β̂) β̂,  score = U(0)ᵀ I(0)⁻¹ U(0)
/// Ĥ₀(t)      = Σ_{tᵢ ≤ t} dᵢ / Σ_{j ∈ R(tᵢ)} exp(β̂ᵀ(xⱼ − x̄)),  Ŝ(t | x) = exp(−Ĥ₀(t) e^{β̂ᵀ(x − x̄)})
/// ```
///
/// The fit runs on standardised covariates ((x − x̄)/s), which changes nothing but the
/// arithmetic's conditioning (and makes the penalty scale-free, as lifelines does), and is
/// reported on the covariates' own scale. Source: Cox (1972); Efron (1977); Breslow (1974);
/// Therneau & Grambsch (2000), *Modeling Survival Data* (the `survival` package); lifelines'
/// `CoxPHFitter`. tests/cox_parity.rs compares with both on the rossi data.
pub fn fit_cox(rows: &[CoxRow], settings: &CoxSettings) -> Result<CoxFit, InvalidInput> {
    let c = settings.collection.as_str();
    check_rows(rows, c)?;
    if !(settings.penalty.is_finite() && settings.penalty >= 0.0) {
        return Err(InvalidInput::new(
            "/penalty",
            "must be 0 or more",
            format!("penalty is {}", settings.penalty),
        ));
    }
    if settings.profiles.len() > MAX_PROFILES {
        return Err(InvalidInput::new(
            "/profiles",
            format!("at most {MAX_PROFILES} profiles"),
            format!(
                "{} profiles were sent; the most is {MAX_PROFILES}",
                settings.profiles.len()
            ),
        ));
    }
    if let Some(i) = settings
        .times
        .iter()
        .position(|t| !(t.is_finite() && *t >= 0.0))
    {
        return Err(InvalidInput::new(
            format!("/times/{i}"),
            "must be 0 or more",
            format!("times[{i}] is {}", settings.times[i]),
        ));
    }
    if settings.times.len() > super::survival::MAX_TIMES {
        return Err(InvalidInput::new(
            "/times",
            format!("at most {} times", super::survival::MAX_TIMES),
            format!("{} times were sent", settings.times.len()),
        ));
    }
    let mut profile_times = settings.times.clone();
    profile_times.sort_by(f64::total_cmp);
    profile_times.dedup();
    let (names, encodings, columns, raw) = encode(rows, settings)?;
    let p = columns.len();
    // Strata.
    let stratified = rows.iter().any(|r| r.stratum.is_some());
    let strata_names: Vec<String> = if stratified {
        let set: std::collections::BTreeSet<String> = rows
            .iter()
            .map(|r| r.stratum.clone().unwrap_or_default())
            .collect();
        set.into_iter().collect()
    } else {
        Vec::new()
    };
    let strata_of_rows: Vec<usize> = rows
        .iter()
        .map(|r| {
            if stratified {
                strata_names
                    .binary_search(&r.stratum.clone().unwrap_or_default())
                    .unwrap_or(0)
            } else {
                0
            }
        })
        .collect();
    if strata_names.len() > MAX_LEVELS {
        return Err(InvalidInput::new(
            format!("/{c}"),
            format!("at most {MAX_LEVELS} strata"),
            format!("the rows name {} strata", strata_names.len()),
        ));
    }
    let d = design(
        rows,
        raw,
        &columns,
        &strata_of_rows,
        strata_names.len().max(1),
        c,
    )?;
    // n λ/2 Σ (βⱼ sⱼ)² on the original scale is n λ/2 ‖β_std‖² on the standardised one.
    let lambda = settings.penalty * rows.len() as f64;
    let fit = newton(&d, settings.ties, lambda, &columns, c)?;
    let information = -&fit.at.hessian + DMatrix::identity(p, p) * lambda;
    let covariance_std = information
        .clone()
        .cholesky()
        .map(|ch| ch.inverse())
        .ok_or_else(|| separation(&fit.beta, &columns, c))?;
    if let Some(j) =
        (0..p).find(|&j| fit.beta[j].abs() > DIVERGED || covariance_std[(j, j)].sqrt() > FLAT)
    {
        let mut beta = vec![0.0; p];
        beta[j] = fit.beta[j];
        return Err(separation(&beta, &columns, c));
    }
    let z_level = settings.confidence.z();
    let normal_p = |z: f64| erfc(z.abs() / std::f64::consts::SQRT_2);
    let coefficients: Vec<Coefficient> = columns
        .iter()
        .enumerate()
        .map(|(j, col)| {
            let coef = fit.beta[j] / d.sd[j];
            let se = covariance_std[(j, j)].sqrt() / d.sd[j];
            let z = coef / se;
            Coefficient {
                name: col.name.clone(),
                covariate: col.covariate.clone(),
                level: col.level.clone(),
                reference: col.reference.clone(),
                coef,
                hazard_ratio: coef.exp(),
                std_error: se,
                z,
                p_value: normal_p(z),
                coef_lower: coef - z_level * se,
                coef_upper: coef + z_level * se,
                hazard_ratio_lower: (coef - z_level * se).exp(),
                hazard_ratio_upper: (coef + z_level * se).exp(),
                mean: d.mean[j],
            }
        })
        .collect();
    // Tests of β = 0 (invariant to the standardisation).
    let beta = DVector::from_column_slice(&fit.beta);
    let wald = beta.dot(&(&information * &beta));
    let null_information = -&fit.null.hessian + DMatrix::identity(p, p) * lambda;
    let score = null_information
        .clone()
        .cholesky()
        .map(|ch| ch.solve(&fit.null.gradient).dot(&fit.null.gradient))
        .unwrap_or(f64::NAN);
    let tests = GlobalTests {
        likelihood_ratio: chi_square(2.0 * (fit.at.ll - fit.null.ll), p),
        wald: chi_square(wald, p),
        score: chi_square(score, p),
    };
    let eta: Vec<f64> = (0..d.n)
        .map(|i| (0..p).map(|j| d.x[i * p + j] * fit.beta[j]).sum())
        .collect();
    let concordance = concordance(&d, &eta).ok_or(cancelled_error())?;
    let mut terms: Vec<(String, Vec<usize>)> = Vec::new();
    for (j, col) in columns.iter().enumerate() {
        match terms.last_mut() {
            Some((name, cols)) if *name == col.covariate => cols.push(j),
            _ => terms.push((col.covariate.clone(), vec![j])),
        }
    }
    let proportional_hazards = ph_test(
        &d,
        &fit.beta,
        settings.ties,
        lambda,
        settings.transform,
        &terms,
    )
    .ok_or(cancelled_error())?;
    let testable = std::iter::once(&proportional_hazards.global)
        .chain(&proportional_hazards.covariates)
        .all(|t| t.statistic.is_finite() && t.p_value.is_finite());
    let proportional_hazards = testable.then_some(proportional_hazards);
    let (baseline, log_baseline) =
        baselines(&d, &fit.beta, &strata_names).ok_or(cancelled_error())?;
    // Profiles.
    let mut profiles = Vec::new();
    for (k, profile) in settings.profiles.iter().enumerate() {
        let mut values = Vec::with_capacity(p);
        row_values(&profile.covariates, &names, &encodings, &mut values).map_err(|why| {
            InvalidInput::new(
                format!("/profiles/{k}/covariates"),
                "every covariate of the model, with a level the data carry",
                format!("profiles[{k}] ({}): {why}", profile.name),
            )
        })?;
        let s = if stratified {
            let Some(name) = &profile.stratum else {
                return Err(InvalidInput::new(
                    format!("/profiles/{k}/stratum"),
                    "required when the rows carry strata",
                    format!(
                        "profiles[{k}] names no stratum; the model has strata {}",
                        strata_names.join(", ")
                    ),
                ));
            };
            strata_names.binary_search(name).map_err(|_| {
                InvalidInput::new(
                    format!("/profiles/{k}/stratum"),
                    "must be a stratum of the rows",
                    format!(
                        "profiles[{k}] names stratum {name:?}; the rows have {}",
                        strata_names.join(", ")
                    ),
                )
            })?
        } else if profile.stratum.is_some() {
            return Err(InvalidInput::new(
                format!("/profiles/{k}/stratum"),
                "only when the rows carry strata",
                format!("profiles[{k}] names a stratum, but the model has none: leave it out"),
            ));
        } else {
            0
        };
        let lp: f64 = (0..p)
            .map(|j| (values[j] - d.mean[j]) * coefficients[j].coef)
            .sum();
        let relative_hazard = lp.exp();
        if !(relative_hazard.is_finite() && relative_hazard > 0.0) {
            return Err(InvalidInput::new(
                format!("/profiles/{k}/covariates"),
                "values near the data",
                format!("profiles[{k}] ({}) is so far from the customers in the data that its hazard, exp({}) times the baseline's, is outside 64-bit floats", profile.name, num(lp)),
            ));
        }
        let base = &baseline[s];
        let logs = &log_baseline[s];
        // Ŝ(t | x) = exp(−exp(ln Ĥ₀(t) + lp)), in logs so no product overflows.
        let survival_after = |idx: usize| -> f64 { (-(logs[idx] + lp).exp()).exp() };
        let at = |t: f64| -> f64 {
            let idx = base.timeline.partition_point(|x| *x <= t);
            if idx == 0 {
                1.0
            } else {
                survival_after(idx - 1)
            }
        };
        let times = if profile_times.is_empty() {
            base.timeline.clone()
        } else {
            profile_times.clone()
        };
        let survival = times.iter().map(|t| at(*t)).collect();
        let median = (0..base.timeline.len())
            .find(|&idx| survival_after(idx) <= 0.5)
            .map(|idx| base.timeline[idx]);
        profiles.push(ProfilePrediction {
            name: profile.name.clone(),
            stratum: profile.stratum.clone(),
            relative_hazard,
            times,
            survival,
            median,
        });
    }
    let mut notes = vec![format!(
        "Partial likelihood with {} handling of tied churn times; Newton-Raphson converged in {} steps. Coefficients are per unit of each covariate; a category's levels are against its reference level. The baseline is at the covariates' means (Breslow's estimator), as lifelines' baseline_survival_.",
        match settings.ties { Ties::Efron => "Efron's", Ties::Breslow => "Breslow's" },
        fit.iterations
    )];
    if d.late_entry {
        notes.push("Late entry: a customer is at risk only after the tenure it was first observed at (entry).".to_owned());
    }
    if settings.penalty > 0.0 {
        notes.push(format!("L2 penalty {} on the standardised coefficients (lifelines' penalizer with l1_ratio 0): estimates are shrunk towards 0, standard errors come from the penalised information, and the tests of beta = 0 are only approximate.", num(settings.penalty)));
    }
    if proportional_hazards.is_none() {
        notes.push("No proportional-hazards test: every churn falls at one time (or the time scale does not vary), so a drift of the effects with tenure cannot be seen.".to_owned());
    }
    if let Some(worst) = proportional_hazards
        .iter()
        .flat_map(|t| &t.covariates)
        .filter(|t| t.p_value < 0.05)
        .min_by(|a, b| a.p_value.total_cmp(&b.p_value))
    {
        notes.push(format!("The proportional-hazards test rejects for {} (p = {:.3}): its effect changes with tenure; consider strata or splitting the time axis.", worst.covariate, worst.p_value));
    }
    let formula = format!(
        "h(t | x) = h0(t) * exp({})",
        coefficients
            .iter()
            .map(|c| format!("{} * {}", num(c.coef), c.name))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    Ok(CoxFit {
        formula,
        customers: rows.len(),
        churned: rows.iter().filter(|r| r.event).count(),
        ties: settings.ties,
        strata: strata_names,
        penalty: settings.penalty,
        coefficients,
        log_likelihood: fit.at.ll,
        penalised_log_likelihood: (settings.penalty > 0.0)
            .then(|| fit.at.ll - 0.5 * lambda * fit.beta.iter().map(|b| b * b).sum::<f64>()),
        log_likelihood_null: fit.null.ll,
        tests,
        concordance,
        proportional_hazards,
        baseline,
        profiles,
        iterations: fit.iterations,
        level_pct: settings.confidence.level() * 100.0,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(exit: f64, event: bool, x: f64) -> CoxRow {
        CoxRow {
            entry: 0.0,
            exit,
            event,
            covariates: BTreeMap::from([("x".to_owned(), Value::Number(x))]),
            stratum: None,
        }
    }

    fn settings() -> CoxSettings {
        CoxSettings {
            ties: Ties::Breslow,
            ..CoxSettings::default()
        }
    }

    #[test]
    fn the_survival_test_set_has_its_closed_form_maximum() {
        // R's survival tests (test1): times 9, 1, 1, 6, 6, 8 with status 1, 1, 0, 1, 1, 0 and
        // x 0, 1, 1, 1, 0, 0; under Breslow the MLE of r = exp(β) is (3 + √33) / 2.
        let rows = vec![
            row(9.0, true, 0.0),
            row(1.0, true, 1.0),
            row(1.0, false, 1.0),
            row(6.0, true, 1.0),
            row(6.0, true, 0.0),
            row(8.0, false, 0.0),
        ];
        let fit = fit_cox(&rows, &settings()).unwrap();
        let r = (3.0 + 33f64.sqrt()) / 2.0;
        assert!(
            (fit.coefficients[0].coef - r.ln()).abs() < 1e-9,
            "{}",
            fit.coefficients[0].coef
        );
    }

    #[test]
    fn an_abandoned_fit_stops_with_no_answer() {
        let rows: Vec<CoxRow> = (0..20_000)
            .map(|i| row(f64::from(i % 500) + 1.0, i % 3 != 0, f64::from(i % 7)))
            .collect();
        let mut s = settings();
        s.ties = Ties::Efron;
        assert!(fit_cox(&rows, &s).is_ok());
        let raised = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let refused = crate::cancel::cancellable(raised, || fit_cox(&rows, &s)).unwrap_err();
        assert_eq!(refused.reason, "the fit was cancelled");
    }
}
