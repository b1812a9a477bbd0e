//! Customer retention rate, customer churn rate, and churn compounding between periods
//! (docs/formulas.md § 1 and § 2).

pub use crate::units::Period;

use super::benchmarks;
use super::breakdown::{num, Breakdown, Kpi, KpiResponse, Unit};
use super::confidence::{with_wilson, Confidence};
use super::error::InvalidInput;

/// Customer counts of one period, checked to be possible.
///
/// `start` = customers at the start (S), `new` = acquired during the period (N),
/// `end` = customers at the end (E). A customer who joins and leaves inside the period is in
/// none of the three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionCounts {
    start: u64,
    new: u64,
    end: u64,
}

impl RetentionCounts {
    /// Refuses S = 0 (nothing to retain), N > E (negative retained customers) and
    /// E − N > S (more retained than existed).
    pub fn new(start: u64, new: u64, end: u64) -> Result<Self, InvalidInput> {
        if start == 0 {
            return Err(InvalidInput::new(
                "/start_customers",
                "must be greater than zero",
                "start_customers is 0: a rate over the customers at the start of the period needs at least one",
            ));
        }
        if new > end {
            return Err(InvalidInput::new(
                "/new_customers",
                "must not exceed end_customers",
                format!(
                    "new_customers ({new}) exceeds end_customers ({end}): retained customers would be negative"
                ),
            ));
        }
        if end - new > start {
            return Err(InvalidInput::new(
                "/end_customers",
                "end_customers minus new_customers must not exceed start_customers",
                format!(
                    "end_customers ({end}) minus new_customers ({new}) leaves {} retained customers, more than the {start} at the start",
                    end - new
                ),
            ));
        }
        Ok(Self { start, new, end })
    }

    pub fn retained(&self) -> u64 {
        self.end - self.new
    }

    pub fn lost(&self) -> u64 {
        self.start - self.retained()
    }
}

/// Customer retention rate.
///
/// # Formula
///
/// ```text
/// CRR (%) = (E − N) / S × 100
/// ```
///
/// where S is the customers at the start of the period, N the new customers acquired during
/// it and E the customers at its end; E − N is the customers retained. Unit: percent (75.0
/// means 75 %). Source: the project's source articles, docs/formulas.md § 1, whose worked
/// examples are S = 100, N = 20, E = 95 → 75 % and S = 200, N = 20, E = 200 → 90 %. The
/// SaaS (35–95 %) and e-commerce (20–35 %) bands come with it as context. The interval is the
/// Wilson score interval of E − N retained of S at `confidence` ([`with_wilson`]).
pub fn customer_retention_rate(counts: &RetentionCounts, confidence: Confidence) -> Kpi {
    let RetentionCounts { start, new, end } = *counts;
    let retained = counts.retained();
    let rate = retained as f64 / start as f64 * 100.0;
    let breakdown = Breakdown::new(
        "CRR = (E - N) / S × 100",
        format!("({end} - {new}) / {start} × 100"),
    )
    .input("S", start)
    .input("N", new)
    .input("E", end)
    .step("retained customers", "E - N", retained as f64)
    .step(
        "retention rate",
        format!("{retained} / {start} × 100"),
        rate,
    );
    let kpi = Kpi::new("customer_retention_rate", rate, Unit::Percent, breakdown)
        .note("Bands are industry-specific and quoted as context, not as a verdict.")
        .benchmarks(benchmarks::retention_rate());
    with_wilson(kpi, retained, start, confidence)
}

/// Customers lost over a period, checked to be possible, with the start/new/end counts when
/// they were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChurnCounts {
    start: u64,
    lost: u64,
    from_counts: Option<RetentionCounts>,
}

impl ChurnCounts {
    /// From a lost count: refuses S = 0 and lost > S. When `end` is given too, the new
    /// customers it implies (E − S + lost) must not be negative, and must equal `new` when
    /// that is given as well.
    pub fn from_lost(
        start: u64,
        lost: u64,
        new: Option<u64>,
        end: Option<u64>,
    ) -> Result<Self, InvalidInput> {
        if start == 0 {
            return Err(InvalidInput::new(
                "/start_customers",
                "must be greater than zero",
                "start_customers is 0: a churn rate over the customers at the start of the period needs at least one",
            ));
        }
        if lost > start {
            return Err(InvalidInput::new(
                "/lost_customers",
                "must not exceed start_customers",
                format!("lost_customers ({lost}) exceeds start_customers ({start}): a period cannot lose customers it did not have"),
            ));
        }
        let from_counts = match (new, end) {
            (_, Some(end)) => {
                let retained = start - lost;
                if end < retained {
                    return Err(InvalidInput::new(
                        "/end_customers",
                        "must be at least start_customers minus lost_customers",
                        format!("end_customers ({end}) is fewer than the {retained} customers retained (start_customers minus lost_customers)"),
                    ));
                }
                let implied_new = end - retained;
                if let Some(new) = new.filter(|&n| n != implied_new) {
                    return Err(InvalidInput::new(
                        "/new_customers",
                        "must equal end_customers - start_customers + lost_customers",
                        format!("new_customers ({new}) disagrees with the other counts, which imply {implied_new} new customers"),
                    ));
                }
                Some(RetentionCounts::new(start, implied_new, end)?)
            }
            (Some(_), None) => return Err(InvalidInput::new(
                "/end_customers",
                "required with new_customers",
                "new_customers was given without end_customers: give both, or only lost_customers",
            )),
            (None, None) => None,
        };
        Ok(Self {
            start,
            lost,
            from_counts,
        })
    }

    /// From start, new and end counts: lost = S + N − E.
    pub fn from_counts(counts: RetentionCounts) -> Self {
        Self {
            start: counts.start,
            lost: counts.lost(),
            from_counts: Some(counts),
        }
    }

    pub fn start(&self) -> u64 {
        self.start
    }

    pub fn lost(&self) -> u64 {
        self.lost
    }
}

/// Customer churn rate.
///
/// # Formula
///
/// ```text
/// churn (%) = L / S × 100
/// L = S + N − E          (when S, N and E are given instead of L)
/// ```
///
/// where L is the customers lost during the period and S the customers at its start (N new
/// customers, E customers at the end); with L = S + N − E, retention + churn = 100 % for the
/// same period. Unit: percent. Source: docs/formulas.md § 2 (50 lost of 1000 → 5 %, 20 of
/// 250 → 8 %). The denominator is the starting count (one source article writes "new
/// customers" but divides by the starting count in its own example). The interval is the
/// Wilson score interval of L lost of S at `confidence` ([`with_wilson`]).
pub fn customer_churn_rate(counts: &ChurnCounts, confidence: Confidence) -> Kpi {
    let (start, lost) = (counts.start, counts.lost);
    let rate = lost as f64 / start as f64 * 100.0;
    let mut breakdown = match counts.from_counts {
        Some(RetentionCounts { new, end, .. }) => Breakdown::new(
            "churn = (S + N - E) / S × 100",
            format!("({start} + {new} - {end}) / {start} × 100"),
        )
        .input("S", start)
        .input("N", new)
        .input("E", end)
        .step("lost customers", "S + N - E", lost as f64),
        None => Breakdown::new("churn = L / S × 100", format!("{lost} / {start} × 100"))
            .input("S", start)
            .input("L", lost),
    };
    breakdown = breakdown.step("churn rate", format!("{lost} / {start} × 100"), rate);
    let kpi = Kpi::new("customer_churn_rate", rate, Unit::Percent, breakdown)
        .note("The denominator is the customer count at the start of the period.");
    with_wilson(kpi, lost, start, confidence)
}

/// Converts a churn rate measured over `from` into the equivalent over `to`, assuming a
/// constant rate.
///
/// # Formula
///
/// ```text
/// churn_to = 1 − (1 − churn_from)^(k_from / k_to)
/// ```
///
/// where the rates are fractions and k is the periods per year of each period length (365
/// days, 52 weeks, 12 months, 4 quarters, 1 year). `rate_pct` and the answer are in percent.
/// Source: docs/formulas.md § 2: 1 % a month is about 11.4 % a year (2 % → 21.5 %,
/// 3 % → 30.6 %, 5 % → 46.0 %), and the inverse converts back.
pub fn compound_churn(rate_pct: f64, from: Period, to: Period) -> Kpi {
    let exponent = from.per_year() / to.per_year();
    let survive = 1.0 - rate_pct / 100.0;
    let converted = compounded(rate_pct, from, to);
    let metric = match to {
        Period::Day => "daily_churn_rate",
        Period::Week => "weekly_churn_rate",
        Period::Month => "monthly_churn_rate",
        Period::Quarter => "quarterly_churn_rate",
        Period::Year => "annual_churn_rate",
    };
    let breakdown = Breakdown::new(
        "churn_to = 1 - (1 - churn_from)^(k_from / k_to)",
        format!(
            "1 - (1 - {})^({} / {})",
            num(rate_pct / 100.0),
            num(from.per_year()),
            num(to.per_year())
        ),
    )
    .input("churn_from", rate_pct / 100.0)
    .input("k_from", from.per_year())
    .input("k_to", to.per_year())
    .step(
        "survival over one measured period",
        format!("1 - {}", num(rate_pct / 100.0)),
        survive,
    )
    .step(
        format!("survival over one {}", to.name()),
        format!("{}^{}", num(survive), num(exponent)),
        survive.powf(exponent),
    )
    .step(
        format!("churn per {}", to.name()),
        format!("(1 - {}) × 100", num(survive.powf(exponent))),
        converted,
    );
    Kpi::new(metric, converted, Unit::Percent, breakdown).note(format!(
        "Compounded from a churn rate per {}, assuming the rate stays constant.",
        from.name()
    ))
}

/// `1 − (1 − churn_from)^(k_from / k_to)` in percent: [`compound_churn`]'s arithmetic.
fn compounded(rate_pct: f64, from: Period, to: Period) -> f64 {
    (1.0 - (1.0 - rate_pct / 100.0).powf(from.per_year() / to.per_year())) * 100.0
}

/// [`compound_churn`] with the measured churn's interval carried through the same
/// conversion (it is increasing, so the bounds convert to the converted rate's bounds).
fn compound_churn_with_interval(measured: &Kpi, from: Period, to: Period) -> Kpi {
    let mut kpi = compound_churn(measured.value, from, to);
    if let Some(interval) = &measured.interval {
        let carried = interval.transformed(
            |bound| compounded(bound, from, to),
            "Wilson score of the measured churn, compounded as the rate",
        );
        let exponent = num(from.per_year() / to.per_year());
        for (label, measured_bound, bound) in [
            ("interval lower bound", interval.lower, carried.lower),
            ("interval upper bound", interval.upper, carried.upper),
        ] {
            kpi.breakdown = kpi.breakdown.step(
                label,
                format!(
                    "(1 - (1 - {})^{exponent}) × 100",
                    num(measured_bound / 100.0)
                ),
                bound,
            );
        }
        kpi.interval = Some(carried);
    }
    kpi
}

/// The churn answer: the rate for the measured period and, when its length is known, its
/// monthly and annual equivalents with the SaaS bands.
///
/// # Formula
///
/// ```text
/// churn (%)           = L / S × 100                                  (headline)
/// retention (%)       = (S − L) / S × 100                            (related)
/// monthly, annual (%) = (1 − (1 − L / S)^(k_period / k_to)) × 100    (related, with `period`)
/// ```
///
/// as [`customer_churn_rate`] and [`compound_churn`] compute them; k is the periods per year
/// (12 for months, 1 for a year). Unit: percent. Source: docs/formulas.md § 2, with its SaaS
/// bands (0.5–1 % a month healthy, below 8 % a year the usual target, above 10 % worrying).
/// Each rate carries its interval at `confidence`: Wilson score for the measured churn and
/// retention, and the churn's bounds compounded like the rate for the equivalents.
pub fn churn_report(
    counts: &ChurnCounts,
    period: Option<Period>,
    confidence: Confidence,
) -> KpiResponse {
    let mut headline = customer_churn_rate(counts, confidence);
    let Some(period) = period else {
        return KpiResponse::new(headline.note(
            "Give `period` (day, week, month, quarter, year) to add monthly and annual equivalents.",
        ))
        .with(retention_complement(counts, confidence));
    };
    headline = headline
        .note(format!("Measured over one {}.", period.name()))
        .benchmarks(benchmarks::saas_churn());
    let equivalents: Vec<Kpi> = [Period::Month, Period::Year]
        .into_iter()
        .filter(|&to| to != period)
        .map(|to| compound_churn_with_interval(&headline, period, to))
        .collect();
    let mut answer = KpiResponse::new(headline).with(retention_complement(counts, confidence));
    for kpi in equivalents {
        answer = answer.with(kpi);
    }
    answer
}

/// The retention rate of the same period: 100 − churn.
///
/// # Formula
///
/// ```text
/// retention (%) = (S − L) / S × 100
/// ```
///
/// Unit: percent. Source: docs/formulas.md § 2. With the Wilson interval of S − L of S.
fn retention_complement(counts: &ChurnCounts, confidence: Confidence) -> Kpi {
    let retained = counts.start - counts.lost;
    let rate = retained as f64 / counts.start as f64 * 100.0;
    let breakdown = Breakdown::new(
        "retention = (S - L) / S × 100",
        format!(
            "({} - {}) / {} × 100",
            counts.start, counts.lost, counts.start
        ),
    )
    .input("S", counts.start)
    .input("L", counts.lost)
    .step("retained customers", "S - L", retained as f64)
    .step(
        "retention rate",
        format!("{retained} / {} × 100", counts.start),
        rate,
    );
    let kpi = Kpi::new("customer_retention_rate", rate, Unit::Percent, breakdown);
    with_wilson(kpi, retained, counts.start, confidence)
}

/// The retention answer: CRR with its bands, and the churn of the same period beside it.
///
/// # Formula
///
/// ```text
/// CRR (%)   = (E − N) / S × 100        (headline)
/// churn (%) = (S + N − E) / S × 100    (related; CRR + churn = 100)
/// ```
///
/// as [`customer_retention_rate`] and [`customer_churn_rate`] compute them. Unit: percent.
/// Source: docs/formulas.md § 1 and § 2. Both carry their Wilson interval at `confidence`.
pub fn retention_report(counts: &RetentionCounts, confidence: Confidence) -> KpiResponse {
    KpiResponse::new(customer_retention_rate(counts, confidence)).with(customer_churn_rate(
        &ChurnCounts::from_counts(*counts),
        confidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crr_worked_examples_of_formulas_md() {
        // docs/formulas.md § 1: (95 - 20) / 100 = 75 %, (200 - 20) / 200 = 90 %.
        for (s, n, e, expected) in [(100, 20, 95, 75.0), (200, 20, 200, 90.0)] {
            let kpi = customer_retention_rate(
                &RetentionCounts::new(s, n, e).unwrap(),
                Confidence::default(),
            );
            assert!((kpi.value - expected).abs() < 1e-12, "{s},{n},{e}");
        }
    }

    #[test]
    fn churn_worked_examples_of_formulas_md() {
        // docs/formulas.md § 2: 50 of 1000 = 5 %, 20 of 250 = 8 %.
        let a = ChurnCounts::from_lost(1000, 50, None, Some(950)).unwrap();
        assert!((customer_churn_rate(&a, Confidence::default()).value - 5.0).abs() < 1e-12);
        let b = ChurnCounts::from_lost(250, 20, None, None).unwrap();
        assert!((customer_churn_rate(&b, Confidence::default()).value - 8.0).abs() < 1e-12);
    }

    #[test]
    fn monthly_churn_compounds_to_the_quoted_annual_rates() {
        // docs/formulas.md § 2: 1 % → 11.4 %, 2 % → 21.5 %, 3 % → 30.6 %, 5 % → 46.0 % a year.
        for (monthly, annual) in [(1.0, 11.4), (2.0, 21.5), (3.0, 30.6), (5.0, 46.0)] {
            let kpi = compound_churn(monthly, Period::Month, Period::Year);
            assert!(
                (kpi.value - annual).abs() < 0.05,
                "{monthly} → {}",
                kpi.value
            );
            let back = compound_churn(kpi.value, Period::Year, Period::Month);
            assert!((back.value - monthly).abs() < 1e-9);
        }
    }

    #[test]
    fn impossible_counts_are_refused_with_their_field() {
        assert_eq!(
            RetentionCounts::new(0, 0, 0).unwrap_err().pointer,
            "/start_customers"
        );
        assert_eq!(
            RetentionCounts::new(10, 30, 20).unwrap_err().pointer,
            "/new_customers"
        );
        assert_eq!(
            RetentionCounts::new(10, 0, 20).unwrap_err().pointer,
            "/end_customers"
        );
        assert_eq!(
            ChurnCounts::from_lost(10, 11, None, None)
                .unwrap_err()
                .pointer,
            "/lost_customers"
        );
        assert_eq!(
            ChurnCounts::from_lost(100, 10, Some(5), Some(100))
                .unwrap_err()
                .pointer,
            "/new_customers"
        );
    }
}
