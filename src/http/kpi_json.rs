//! The JSON of a KPI answer, written directly: byte for byte what serde_json writes for a
//! [`KpiResponse`] (the tests below and `tests/properties.rs` compare the two), in a fraction
//! of the time.
//!
//! Why: `/crr`, `/churn`, `/clv` and `/nps` answer in microseconds, and serde_json spent more
//! of that time than the computation itself — escaping every key and label byte by byte
//! through its generic serializer (callgrind: about a third of a `/nps` request's
//! instructions). Here the keys are literals, text is checked for characters to escape in
//! one pass and copied whole, and numbers are formatted by the same crates serde_json uses
//! (zmij for floats, itoa for integers). Any text that does need escaping is handed to
//! serde_json itself, so escaping rules are never re-implemented.

use serde_json::Value;

use super::error::ApiError;
use super::FiniteJson;
use crate::kpi::{Benchmark, Breakdown, Context, Interval, Kpi, KpiResponse, Step, Unit};

/// Serialises a KPI answer, refusing one that holds a non-finite number with the same 422
/// as [`super::finite_json`].
pub fn kpi_json(answer: &KpiResponse) -> Result<FiniteJson, ApiError> {
    let writer = Writer::answer(answer);
    if writer.non_finite {
        return Err(super::non_finite_answer());
    }
    Ok(FiniteJson(writer.out))
}

/// The bytes serde_json would write for the answer (non-finite numbers as `null`).
pub fn to_vec(answer: &KpiResponse) -> Vec<u8> {
    Writer::answer(answer).out
}

struct Writer {
    out: Vec<u8>,
    /// A NaN or infinity was written (as `null`, as serde_json does).
    non_finite: bool,
}

impl Writer {
    /// A KPI answer written out (about 1–3 KiB, so 4 KiB holds it without regrowing).
    fn answer(answer: &KpiResponse) -> Self {
        let mut writer = Self {
            out: Vec::with_capacity(4096),
            non_finite: false,
        };
        writer.response(answer);
        writer
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// A JSON string. Text without a quote, backslash or control character (all of ours but
    /// caller-chosen names) is copied whole; any other goes through serde_json's escaping.
    fn text(&mut self, text: &str) {
        let needs_escape = text.bytes().fold(false, |any, b| {
            any | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if needs_escape {
            serde_json::to_writer(&mut self.out, text).expect("writing to a Vec cannot fail");
        } else {
            self.out.push(b'"');
            self.out.extend_from_slice(text.as_bytes());
            self.out.push(b'"');
        }
    }

    fn float(&mut self, x: f64) {
        if x.is_finite() {
            let mut buffer = zmij::Buffer::new();
            self.raw(buffer.format_finite(x).as_bytes());
        } else {
            self.non_finite = true;
            self.raw(b"null");
        }
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Number(n) if n.is_u64() || n.is_i64() => {
                let mut buffer = itoa::Buffer::new();
                let text = match n.as_u64() {
                    Some(u) => buffer.format(u),
                    None => buffer.format(n.as_i64().unwrap_or_default()),
                };
                self.raw(text.as_bytes());
            }
            Value::Number(n) => self.float(n.as_f64().unwrap_or(f64::NAN)),
            other => {
                serde_json::to_writer(&mut self.out, other).expect("writing to a Vec cannot fail")
            }
        }
    }

    fn list<T>(&mut self, items: &[T], mut write: impl FnMut(&mut Self, &T)) {
        self.raw(b"[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.raw(b",");
            }
            write(self, item);
        }
        self.raw(b"]");
    }

    fn response(&mut self, answer: &KpiResponse) {
        self.raw(b"{");
        self.kpi_fields(&answer.kpi);
        self.raw(b",\"related\":");
        self.list(&answer.related, Self::kpi);
        self.raw(b"}");
    }

    fn kpi(&mut self, kpi: &Kpi) {
        self.raw(b"{");
        self.kpi_fields(kpi);
        self.raw(b"}");
    }

    fn kpi_fields(&mut self, kpi: &Kpi) {
        self.raw(b"\"metric\":");
        self.text(&kpi.metric);
        self.raw(b",\"value\":");
        self.float(kpi.value);
        self.raw(b",\"unit\":\"");
        self.raw(unit_name(kpi.unit).as_bytes());
        self.raw(b"\",\"breakdown\":");
        self.breakdown(&kpi.breakdown);
        if let Some(interval) = &kpi.interval {
            self.raw(b",\"interval\":");
            self.interval(interval);
        }
        self.raw(b",\"context\":");
        self.context(&kpi.context);
    }

    fn breakdown(&mut self, breakdown: &Breakdown) {
        self.raw(b"{\"formula\":");
        self.text(&breakdown.formula);
        self.raw(b",\"substitution\":");
        self.text(&breakdown.substitution);
        self.raw(b",\"inputs\":{");
        for (i, (letter, value)) in breakdown.inputs.iter().enumerate() {
            if i > 0 {
                self.raw(b",");
            }
            self.text(letter);
            self.raw(b":");
            self.value(value);
        }
        self.raw(b"},\"steps\":");
        self.list(&breakdown.steps, Self::step);
        self.raw(b"}");
    }

    fn step(&mut self, step: &Step) {
        self.raw(b"{\"label\":");
        self.text(&step.label);
        self.raw(b",\"expression\":");
        self.text(&step.expression);
        self.raw(b",\"value\":");
        self.float(step.value);
        self.raw(b"}");
    }

    fn interval(&mut self, interval: &Interval) {
        self.raw(b"{\"level_pct\":");
        self.float(interval.level_pct);
        self.raw(b",\"lower\":");
        self.float(interval.lower);
        self.raw(b",\"upper\":");
        self.float(interval.upper);
        self.raw(b",\"margin_of_error\":");
        self.float(interval.margin_of_error);
        self.raw(b",\"standard_error\":");
        self.float(interval.standard_error);
        self.raw(b",\"method\":");
        self.text(&interval.method);
        self.raw(b"}");
    }

    fn context(&mut self, context: &Context) {
        self.raw(b"{\"notes\":");
        self.list(&context.notes, |w, note| w.text(note));
        self.raw(b",\"benchmarks\":");
        self.list(&context.benchmarks, Self::benchmark);
        self.raw(b"}");
    }

    fn benchmark(&mut self, band: &Benchmark) {
        self.raw(b"{\"segment\":");
        self.text(&band.segment);
        self.raw(b",\"description\":");
        self.text(&band.description);
        if let Some(low) = band.low {
            self.raw(b",\"low\":");
            self.float(low);
        }
        if let Some(high) = band.high {
            self.raw(b",\"high\":");
            self.float(high);
        }
        if let Some(period) = &band.period {
            self.raw(b",\"period\":");
            self.text(period);
        }
        self.raw(b"}");
    }
}

/// The unit's name as serde writes it (`rename_all = "snake_case"`).
fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Percent => "percent",
        Unit::Currency => "currency",
        Unit::Ratio => "ratio",
        Unit::Score => "score",
        Unit::Periods => "periods",
        Unit::PercentagePoints => "percentage_points",
        Unit::Count => "count",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::nps::{net_promoter_score, NpsCounts};
    use crate::kpi::retention::{
        churn_report, retention_report, ChurnCounts, Period, RetentionCounts,
    };

    fn same_as_serde(answer: &KpiResponse) {
        let ours = to_vec(answer);
        let serde = serde_json::to_vec(answer).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&serde)
        );
    }

    #[test]
    fn units_are_named_as_serde_names_them() {
        for unit in [
            Unit::Percent,
            Unit::Currency,
            Unit::Ratio,
            Unit::Score,
            Unit::Periods,
            Unit::PercentagePoints,
            Unit::Count,
        ] {
            assert_eq!(
                serde_json::to_string(&unit).unwrap(),
                format!("\"{}\"", unit_name(unit))
            );
        }
    }

    #[test]
    fn answers_match_serde_byte_for_byte() {
        same_as_serde(&net_promoter_score(&NpsCounts::new(200, 120, 80).unwrap()));
        same_as_serde(&net_promoter_score(&NpsCounts::new(1, 0, 0).unwrap()));
        same_as_serde(&retention_report(
            &RetentionCounts::new(100, 20, 95).unwrap(),
        ));
        let churn = ChurnCounts::from_lost(1000, 37, None, None).unwrap();
        same_as_serde(&churn_report(&churn, Some(Period::Month)));
        same_as_serde(&churn_report(&churn, None));
    }

    #[test]
    fn text_to_escape_negative_and_float_inputs_and_non_finite_numbers() {
        let breakdown =
            Breakdown::new("a \"quoted\" \\ formula", "tab\there, newline\n, bell\u{7}")
                .input("x[\"name\"]", -3)
                .input("w", 0.1 + 0.2)
                .input("big", u64::MAX)
                .input("text", "a string input")
                .step("é × – unicode stays", "1e300 × 1e300", f64::INFINITY);
        let mut kpi = Kpi::new(
            String::from("owned \u{1f} metric"),
            f64::NAN,
            Unit::Ratio,
            breakdown,
        )
        .note("a note");
        kpi.interval = Some(Interval::normal_95(1.0, 0.5, (0.0, 2.0), "normal"));
        let answer = KpiResponse::new(kpi.clone()).with(kpi.benchmarks(vec![Benchmark {
            segment: "SaaS".into(),
            description: "open above".into(),
            low: Some(5.0),
            high: None,
            period: Some("month".into()),
        }]));
        same_as_serde(&answer);
        assert!(kpi_json(&answer).is_err(), "a NaN answers 422");
    }
}
