//! Industry benchmark bands, as data. Quoted by the source articles the project was founded
//! on (docs/formulas.md § 1 and § 2); they are context for reading a value, never a verdict.

use super::breakdown::Benchmark;

fn band(
    segment: &'static str,
    description: &'static str,
    low: Option<f64>,
    high: Option<f64>,
    period: Option<&'static str>,
) -> Benchmark {
    Benchmark {
        segment: segment.into(),
        description: description.into(),
        low,
        high,
        period: period.map(Into::into),
    }
}

/// Customer retention rate bands: SaaS 35–95 %, e-commerce 20–35 % (docs/formulas.md § 1).
pub fn retention_rate() -> Vec<Benchmark> {
    vec![
        band("SaaS", "typical range", Some(35.0), Some(95.0), None),
        band("e-commerce", "typical range", Some(20.0), Some(35.0), None),
    ]
}

/// SaaS customer churn bands, monthly and annual (docs/formulas.md § 2): 0.5–1 % a month
/// healthy; below 8 % a year the usual target; about 5 % a year on annual contracts
/// excellent; above 10 % a year worrying; 2–4 % a year often seen at companies over 10 years
/// old, up to 24 % at young ones.
pub fn saas_churn() -> Vec<Benchmark> {
    vec![
        band("SaaS", "healthy", Some(0.5), Some(1.0), Some("month")),
        band("SaaS", "usual target", None, Some(8.0), Some("year")),
        band(
            "SaaS, annual contracts",
            "excellent (about 5 %)",
            None,
            Some(5.0),
            Some("year"),
        ),
        band("SaaS", "worrying", Some(10.0), None, Some("year")),
        band(
            "SaaS, companies over 10 years old",
            "often seen",
            Some(2.0),
            Some(4.0),
            Some("year"),
        ),
        band(
            "SaaS, young companies",
            "up to",
            None,
            Some(24.0),
            Some("year"),
        ),
    ]
}
