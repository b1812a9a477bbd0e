//! The formula trail every answer carries, and the envelope around a KPI value.

use std::borrow::Cow;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

/// Text in an answer: most labels, formulas and notes are fixed (`&'static str`, no
/// allocation per request); substitutions and numbers-bearing notes are built (`String`).
pub type Text = Cow<'static, str>;

/// The newtype name under which [`fixed_text`] serialises a fixed text. serde_json, like any
/// serializer that does not know the name, writes the text itself; the service's answer
/// writer copies it without scanning it for characters to escape (a fixed text is written in
/// this crate's code, and none holds a quote, a backslash or a control character). A
/// `static`, so that a serializer can recognise the name by its address.
pub static FIXED_TEXT: &str = "$retention_core::FixedText";

/// Serialises a [`Text`]: a fixed one (`Cow::Borrowed`, necessarily `&'static str`) as the
/// newtype [`FIXED_TEXT`], a built one as a plain string.
pub fn fixed_text<S: Serializer>(text: &Text, serializer: S) -> Result<S::Ok, S::Error> {
    match text {
        Cow::Borrowed(fixed) => serializer.serialize_newtype_struct(FIXED_TEXT, *fixed),
        Cow::Owned(built) => serializer.serialize_str(built),
    }
}

/// [`fixed_text`] for each text of a list.
fn fixed_texts<S: Serializer>(texts: &[Text], serializer: S) -> Result<S::Ok, S::Error> {
    struct Fixed<'a>(&'a Text);
    impl Serialize for Fixed<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            fixed_text(self.0, serializer)
        }
    }
    serializer.collect_seq(texts.iter().map(Fixed))
}

/// What a value measures in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A percent number: 5.0 means 5 %.
    Percent,
    /// Money in the caller's currency (never converted).
    Currency,
    /// A plain ratio such as CLV : CAC (3.0 means 3 to 1).
    Ratio,
    /// A score on its own scale (NPS runs from -100 to +100).
    Score,
    /// A number of periods (a lifespan).
    Periods,
    /// A difference of two percentages, in percentage points.
    PercentagePoints,
    /// A number of customers or responses.
    Count,
}

/// One step of a computation: what it is, the arithmetic, and its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(serialize_with = "fixed_text")]
    pub label: Text,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(serialize_with = "fixed_text")]
    pub expression: Text,
    pub value: f64,
}

/// How a value was obtained: the formula, the formula with the inputs substituted, the
/// inputs by their formula letters, and the intermediate steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakdown {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(serialize_with = "fixed_text")]
    pub formula: Text,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(serialize_with = "fixed_text")]
    pub substitution: Text,
    /// The inputs by the letters the formula uses, in the formula's order.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, f64>))]
    #[serde(serialize_with = "inputs_as_object")]
    pub inputs: Vec<(Text, Value)>,
    pub steps: Vec<Step>,
}

/// The inputs as one JSON object, in the order they were added (a letter added twice keeps
/// its first place and its last value, as a map would).
fn inputs_as_object<S: Serializer>(
    inputs: &[(Text, Value)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(inputs.len()))?;
    for (letter, value) in inputs {
        map.serialize_entry(letter, value)?;
    }
    map.end()
}

impl Breakdown {
    pub fn new(formula: impl Into<Text>, substitution: impl Into<Text>) -> Self {
        Self {
            formula: formula.into(),
            substitution: substitution.into(),
            inputs: Vec::with_capacity(4),
            steps: Vec::with_capacity(4),
        }
    }

    /// Adds an input under its formula letter (a letter given again replaces its value).
    pub fn input(mut self, letter: impl Into<Text>, value: impl Into<Value>) -> Self {
        let letter = letter.into();
        let value = value.into();
        match self.inputs.iter_mut().find(|(l, _)| *l == letter) {
            Some(slot) => slot.1 = value,
            None => self.inputs.push((letter, value)),
        }
        self
    }

    /// Adds a step.
    pub fn step(mut self, label: impl Into<Text>, expression: impl Into<Text>, value: f64) -> Self {
        self.steps.push(Step {
            label: label.into(),
            expression: expression.into(),
            value,
        });
        self
    }
}

/// A published benchmark band, reported as context (never as a verdict).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Benchmark {
    /// Who the band is quoted for, e.g. `SaaS`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(serialize_with = "fixed_text")]
    pub segment: Text,
    /// What the band means, e.g. `healthy` or `usual target`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(serialize_with = "fixed_text")]
    pub description: Text,
    /// Lower end of the band, absent when open below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    /// Upper end of the band, absent when open above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    /// The period the band's rates are quoted per (`month`, `year`), when it matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub period: Option<Text>,
}

/// Notes and benchmark bands that help read a value.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Context {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    #[serde(serialize_with = "fixed_texts")]
    pub notes: Vec<Text>,
    pub benchmarks: Vec<Benchmark>,
}

/// A confidence interval around a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interval {
    /// Confidence level in percent (95 means a 95 % interval).
    pub level_pct: f64,
    pub lower: f64,
    pub upper: f64,
    /// Half the interval's width before any clipping to the value's range; absent for an
    /// interval carried through a transformation, which is not symmetric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_of_error: Option<f64>,
    /// The estimate's standard error, for a normal (Wald) interval; absent for the Wilson
    /// score interval, which is not built from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_error: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(serialize_with = "fixed_text")]
    pub method: Text,
}

impl Interval {
    /// The normal interval `value ± z × standard_error` at `confidence`, clipped to `range`.
    ///
    /// # Formula
    ///
    /// ```text
    /// margin_of_error = z × standard_error          (z = 1.959964 at 95 %)
    /// lower = max(value − margin_of_error, range.0)
    /// upper = min(value + margin_of_error, range.1)
    /// ```
    pub fn normal(
        value: f64,
        standard_error: f64,
        range: (f64, f64),
        method: impl Into<Text>,
        confidence: super::confidence::Confidence,
    ) -> Self {
        let margin = confidence.z() * standard_error;
        Self {
            level_pct: confidence.level() * 100.0,
            lower: (value - margin).max(range.0),
            upper: (value + margin).min(range.1),
            margin_of_error: Some(margin),
            standard_error: Some(standard_error),
            method: method.into(),
        }
    }

    /// This interval carried through a rate's increasing transformation `f` (an interval of
    /// a monthly churn becomes one of the annual churn): the bounds are `f(lower)` and
    /// `f(upper)`, at the same level, under `method`.
    pub fn transformed(&self, f: impl Fn(f64) -> f64, method: impl Into<Text>) -> Self {
        Self {
            level_pct: self.level_pct,
            lower: f(self.lower),
            upper: f(self.upper),
            margin_of_error: None,
            standard_error: None,
            method: method.into(),
        }
    }
}

/// One KPI value with its unit, breakdown and context.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kpi {
    /// The metric's name, e.g. `customer_retention_rate`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(serialize_with = "fixed_text")]
    pub metric: Text,
    /// Full precision; rounding is the client's choice.
    pub value: f64,
    pub unit: Unit,
    pub breakdown: Breakdown,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    pub context: Context,
}

impl Kpi {
    pub fn new(metric: impl Into<Text>, value: f64, unit: Unit, breakdown: Breakdown) -> Self {
        Self {
            metric: metric.into(),
            value,
            unit,
            breakdown,
            interval: None,
            context: Context::default(),
        }
    }

    pub fn note(mut self, note: impl Into<Text>) -> Self {
        self.context.notes.push(note.into());
        self
    }

    pub fn benchmarks(mut self, bands: Vec<Benchmark>) -> Self {
        self.context.benchmarks.extend(bands);
        self
    }
}

/// The answer of a KPI endpoint: the headline KPI, and the companion KPIs computed from the
/// same inputs (the churn beside a retention rate, the annual equivalent of a monthly rate).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KpiResponse {
    #[serde(flatten)]
    pub kpi: Kpi,
    /// Companion KPIs from the same inputs, each with its own breakdown.
    pub related: Vec<Kpi>,
}

impl KpiResponse {
    pub fn new(kpi: Kpi) -> Self {
        Self {
            kpi,
            related: Vec::new(),
        }
    }

    pub fn with(mut self, related: Kpi) -> Self {
        self.related.push(related);
        self
    }
}

/// Formats a number for a substitution or an expression: whole numbers without a decimal
/// point, others to at most six decimals with trailing zeros trimmed.
pub fn num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        return (x as i64).to_string();
    }
    // Fast path: a value with at most six decimals prints as its shortest representation.
    let scaled = x * 1e6;
    if scaled == scaled.trunc() && scaled.abs() < 1e15 && (scaled / 1e6) == x {
        return x.to_string();
    }
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn numbers_print_without_noise() {
        assert_eq!(num(100.0), "100");
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(num(-2.5), "-2.5");
        assert_eq!(num(1.0 / 3.0), "0.333333");
        assert_eq!(num(-0.0000001), "0");
    }
}
