//! Churn by the vendors' conventions: why ChartMogul, Baremetrics, Stripe and ProfitWell give
//! four different churn rates for the same customers, each computed as its documentation
//! defines it, beside the standard L / S, with the reason each differs (docs/formulas.md
//! § 16).

use super::breakdown::{num, Breakdown, Kpi, KpiResponse, Unit};
use super::confidence::{with_wilson, Confidence};
use super::error::InvalidInput;

/// A way of counting churn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Convention {
    /// L / S: every churn of the period over the customers at its start.
    #[default]
    Standard,
    /// ChartMogul's standard (B2B) formula: (L − J − R) / S.
    Chartmogul,
    /// ChartMogul's Shopify (B2C) formula: Σ over days of 1 − kept / active.
    ChartmogulB2c,
    /// Baremetrics: (L + D) / S over the last 30 days, delinquent over 30 days as cancelled.
    Baremetrics,
    /// Stripe Billing: L / (S + N) over the last 30 days.
    Stripe,
    /// ProfitWell: (L − J) / S, a customer who joins and churns in the month ignored.
    Profitwell,
}

impl Convention {
    pub const ALL: [Convention; 6] = [
        Convention::Standard,
        Convention::Chartmogul,
        Convention::ChartmogulB2c,
        Convention::Baremetrics,
        Convention::Stripe,
        Convention::Profitwell,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Chartmogul => "chartmogul",
            Self::ChartmogulB2c => "chartmogul_b2c",
            Self::Baremetrics => "baremetrics",
            Self::Stripe => "stripe",
            Self::Profitwell => "profitwell",
        }
    }

    /// Where the vendor documents it.
    pub fn source(self) -> &'static str {
        match self {
            Self::Standard => "docs/formulas.md § 2",
            Self::Chartmogul | Self::ChartmogulB2c => {
                "https://help.chartmogul.com/hc/en-us/articles/207340419-Churn-rate-formulas"
            }
            Self::Baremetrics => {
                "https://help.baremetrics.com/en/articles/5380347-user-and-revenue-churn"
            }
            Self::Stripe => "https://support.stripe.com/questions/calculating-churn-rate-in-billing",
            Self::Profitwell => "https://www.paddle.com/help/profitwell-metrics/measure/subscription-retention/are-cancellations-in-the-first-month-counted-as-churn",
        }
    }
}

/// One day of a B2C count: customers active at the day's start, and how many of them are
/// still active at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub active_at_start: u64,
    pub still_active_at_end: u64,
}

/// The counts the conventions tell apart, for one period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConventionCounts {
    /// S: customers active at the period's start.
    pub start: u64,
    /// L: every churn that took effect in the period, including J and R.
    pub churned: u64,
    /// N: customers acquired in the period (including J).
    pub new: u64,
    /// J: customers who joined and churned within the period.
    pub joined_and_churned: u64,
    /// R: customers who churned and reactivated within the period.
    pub churned_and_reactivated: u64,
    /// D: customers delinquent (failed payment) for more than 30 days, not cancelled.
    pub delinquent: u64,
    /// The period's days, for ChartMogul's B2C formula.
    pub days: Vec<Day>,
}

impl ConventionCounts {
    /// Checks the counts against each other (pointers name the request's fields).
    pub fn check(&self) -> Result<(), InvalidInput> {
        let c = self;
        if c.start == 0 {
            return Err(InvalidInput::new(
                "/start_customers",
                "must be greater than zero",
                "start_customers is 0: every convention but Stripe's divides by the customers at the start",
            ));
        }
        if c.joined_and_churned > c.churned.min(c.new) {
            return Err(InvalidInput::new(
                "/joined_and_churned",
                "at most lost_customers and at most new_customers",
                format!("joined_and_churned ({}) counts customers who joined and churned in the period: they are among both the {} lost and the {} new", c.joined_and_churned, c.churned, c.new),
            ));
        }
        if c.joined_and_churned + c.churned_and_reactivated > c.churned {
            return Err(InvalidInput::new(
                "/churned_and_reactivated",
                "joined_and_churned + churned_and_reactivated at most lost_customers",
                format!("{} joined and churned plus {} churned and came back exceed the {} churns of the period", c.joined_and_churned, c.churned_and_reactivated, c.churned),
            ));
        }
        // Customers who were there at the start and churned or fell delinquent.
        if c.churned - c.joined_and_churned + c.delinquent > c.start + c.churned_and_reactivated {
            return Err(InvalidInput::new(
                "/lost_customers",
                "churns of starting customers at most start_customers",
                format!("{} churns of customers who did not join in the period, and {} delinquent, are more than the {} customers at the start could make", c.churned - c.joined_and_churned, c.delinquent, c.start),
            ));
        }
        for (i, d) in c.days.iter().enumerate() {
            if d.active_at_start == 0 || d.still_active_at_end > d.active_at_start {
                return Err(InvalidInput::new(
                    format!("/days/{i}/still_active_at_end"),
                    "at most active_at_start, which is above 0",
                    format!(
                        "days[{i}]: {} of {} active at the start still active at the end",
                        d.still_active_at_end, d.active_at_start
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A rate k / n as a KPI with its breakdown and Wilson interval.
#[allow(clippy::too_many_arguments)]
fn rate(
    metric: String,
    formula: &'static str,
    (numerator, denominator): (String, String),
    inputs: &[(&'static str, u64)],
    k: u64,
    n: u64,
    confidence: Confidence,
    convention: Convention,
) -> Result<Kpi, InvalidInput> {
    if k > n {
        return Err(InvalidInput::new(
            "/lost_customers",
            format!("a numerator at most its denominator under {}", convention.name()),
            format!("{}: {k} churned of {n} is over 100 %; the counts do not fit this convention's definition", convention.name()),
        ));
    }
    let value = k as f64 / n as f64 * 100.0;
    let grouped = |e: &str| {
        if e.contains(' ') {
            format!("({e})")
        } else {
            e.to_owned()
        }
    };
    let substitution = format!("{} / {} × 100", grouped(&numerator), grouped(&denominator));
    let mut breakdown = Breakdown::new(formula, substitution.clone());
    for (letter, v) in inputs {
        breakdown = breakdown.input(*letter, *v);
    }
    breakdown = breakdown
        .step(
            "churned, as this convention counts them",
            substitution.split(" / ").next().unwrap_or("").to_owned(),
            k as f64,
        )
        .step(
            "denominator",
            substitution
                .split(" / ")
                .nth(1)
                .unwrap_or("")
                .trim_end_matches(" × 100")
                .to_owned(),
            n as f64,
        )
        .step("churn rate", substitution, value);
    let kpi = Kpi::new(metric, value, Unit::Percent, breakdown).note(format!(
        "Convention: {} ({}).",
        convention.name(),
        convention.source()
    ));
    Ok(with_wilson(kpi, k, n, confidence))
}

/// The churn rate under one convention, and why it differs from the standard L / S.
///
/// # Formula
///
/// ```text
/// standard        L / S
/// chartmogul      (L − J − R) / S
/// chartmogul_b2c  Σ_days (1 − kept_d / active_d)
/// baremetrics     (L + D) / S               (30-day window; D delinquent > 30 days)
/// stripe          L / (S + N)               (30-day window)
/// profitwell      (L − J) / S
/// ```
///
/// S customers at the start, L churns in the period, N new customers, J joined and churned,
/// R churned and reactivated, D delinquent over 30 days; all × 100.
pub fn churn_by(
    convention: Convention,
    c: &ConventionCounts,
    confidence: Confidence,
    metric: &str,
) -> Result<(Kpi, String), InvalidInput> {
    let (s, l, n, j, r, d) = (
        c.start,
        c.churned,
        c.new,
        c.joined_and_churned,
        c.churned_and_reactivated,
        c.delinquent,
    );
    let metric = metric.to_owned();
    Ok(match convention {
        Convention::Standard => (
            rate(metric, "churn = L / S × 100", (l.to_string(), s.to_string()), &[("S", s), ("L", l)], l, s, confidence, convention)?,
            "the reference: every churn of the period over the customers at its start".to_owned(),
        ),
        Convention::Chartmogul => (
            rate(metric, "churn = (L - J - R) / S × 100", (format!("{l} - {j} - {r}"), s.to_string()), &[("S", s), ("L", l), ("J", j), ("R", r)], l - j - r, s, confidence, convention)?,
            format!("{j} customers who joined and churned and {r} who churned and came back within the period are not counted: {} fewer churns than the standard", j + r),
        ),
        Convention::Profitwell => (
            rate(metric, "churn = (L - J) / S × 100", (format!("{l} - {j}"), s.to_string()), &[("S", s), ("L", l), ("J", j)], l - j, s, confidence, convention)?,
            format!("{j} customers who joined and churned in the same month are ignored entirely (neither new nor churned): {j} fewer churns than the standard"),
        ),
        Convention::Stripe => (
            rate(metric, "churn = L / (S + N) × 100", (l.to_string(), format!("{s} + {n}")), &[("S", s), ("L", l), ("N", n)], l, s + n, confidence, convention)?,
            format!("the {n} customers acquired in the window join the denominator (a customer who joins and churns counts in both): a larger base than the standard's"),
        ),
        Convention::Baremetrics => (
            rate(metric, "churn = (L + D) / S × 100", (format!("{l} + {d}"), s.to_string()), &[("S", s), ("L", l), ("D", d)], l + d, s, confidence, convention)?,
            format!("{d} customers delinquent for more than 30 days count as cancelled; Baremetrics measures the last 30 days, so the counts should cover a 30-day window"),
        ),
        Convention::ChartmogulB2c => {
            if c.days.is_empty() {
                return Err(InvalidInput::new(
                    "/days",
                    "required by chartmogul_b2c",
                    "ChartMogul's B2C formula sums each day's churn: give days, [{active_at_start, still_active_at_end}] for each day of the period",
                ));
            }
            let terms: Vec<f64> = c
                .days
                .iter()
                .map(|day| 1.0 - day.still_active_at_end as f64 / day.active_at_start as f64)
                .collect();
            let value = terms.iter().sum::<f64>() * 100.0;
            let breakdown = Breakdown::new(
                "churn = Σ_days (1 - kept_d / active_d) × 100",
                format!("{} days", c.days.len()),
            )
            .input("days", c.days.len() as u64)
            .step("sum of the daily churn fractions", format!("Σ over {} days", c.days.len()), terms.iter().sum())
            .step("churn rate", format!("{} × 100", num(terms.iter().sum())), value);
            (
                Kpi::new(metric, value, Unit::Percent, breakdown)
                    .note(format!("Convention: chartmogul_b2c ({}).", convention.source()))
                    .note("A sum of daily rates, not a count of customers out of a base: no Wilson interval."),
                "ChartMogul's B2C formula adds up each day's churn among the customers active that morning, so customers who come and go within the period weigh by the days they were there".to_owned(),
            )
        }
    })
}

/// The answer under `convention`, and with `compare` every other convention beside it (the
/// B2C formula only when days are given), each with the reason it differs from the standard.
pub fn churn_conventions(
    convention: Convention,
    counts: &ConventionCounts,
    compare: bool,
    confidence: Confidence,
) -> Result<KpiResponse, InvalidInput> {
    counts.check()?;
    let (headline, reason) = churn_by(convention, counts, confidence, "customer_churn_rate")?;
    let mut answer =
        KpiResponse::new(headline.note(format!("Differs from the standard: {reason}.")));
    if compare {
        for other in Convention::ALL {
            if other == convention || (other == Convention::ChartmogulB2c && counts.days.is_empty())
            {
                continue;
            }
            let metric = format!("customer_churn_rate_{}", other.name());
            let (kpi, why) = churn_by(other, counts, confidence, &metric)?;
            answer = answer.with(kpi.note(format!("Differs from the standard: {why}.")));
        }
    }
    Ok(answer)
}

/// Refuses `days` unless a convention that reads them is asked for: ChartMogul's B2C
/// formula, directly or among all the conventions (`/churn` and `/revenue-churn` share it).
pub fn check_days_asked(
    convention: Option<Convention>,
    compare: Option<bool>,
    has_days: bool,
) -> Result<(), InvalidInput> {
    if has_days && convention != Some(Convention::ChartmogulB2c) && compare != Some(true) {
        return Err(InvalidInput::new(
            "/days",
            "only with chartmogul_b2c or compare_conventions",
            "days feed ChartMogul's B2C formula: give convention chartmogul_b2c or compare_conventions true, or leave days out",
        ));
    }
    Ok(())
}

/// One day of MRR, for ChartMogul's B2C MRR churn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MrrDay {
    pub start_mrr: f64,
    pub end_mrr: f64,
    pub new_mrr: f64,
    /// The day's churned and contraction MRR (gross churn counts only these).
    pub lost_mrr: f64,
}

/// Gross and net MRR churn under one convention.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevenueConvention {
    pub convention: String,
    pub source: String,
    pub gross_mrr_churn: Kpi,
    pub net_mrr_churn: Kpi,
    /// Why it differs from the standard (L + C) / S and (L + C − X − R) / S.
    pub differs_because: String,
}

fn percent_kpi(
    metric: &'static str,
    formula: &'static str,
    substitution: String,
    value: f64,
    c: Convention,
) -> Kpi {
    let breakdown = Breakdown::new(formula, substitution.clone()).step(metric, substitution, value);
    Kpi::new(metric, value, Unit::Percent, breakdown).note(format!(
        "Convention: {} ({}).",
        c.name(),
        c.source()
    ))
}

/// MRR churn under `convention` from the period's movements (and, for `chartmogul_b2c`, its
/// days).
///
/// # Formula
///
/// ```text
///                 gross                         net
/// standard        (L + C) / S                   (L + C − X − R) / S
/// chartmogul      (L + C) / S                   (L + C − X − R) / S
/// chartmogul_b2c  Σ_d Λ_d / S_d                  Σ_d 1 − (E_d − N_d) / S_d
/// baremetrics     min((L + C) / S, 100 %)       (L + C − X) / S   (reactivation not credited)
/// ```
///
/// S start MRR, L churned, C contraction, X expansion, R reactivation; S_d, E_d, N_d, Λ_d a
/// day's start, end, new and lost (churned + contraction) MRR; all × 100. Gross churn is
/// never negative. Stripe and ProfitWell document no MRR churn rate.
pub fn revenue_by(
    convention: Convention,
    m: &super::revenue::MrrMovements,
    days: &[MrrDay],
) -> Result<RevenueConvention, InvalidInput> {
    let (s, l, c, x, r) = (
        m.start,
        m.churned,
        m.contraction,
        m.expansion,
        m.reactivation,
    );
    let sub = |terms: &str| format!("{terms} / {} × 100", num(s));
    let (gross, net, why) = match convention {
        Convention::Standard | Convention::Chartmogul => (
            percent_kpi("gross_mrr_churn", "gross = (L + C) / S × 100", sub(&format!("({} + {})", num(l), num(c))), (l + c) / s * 100.0, convention),
            percent_kpi("net_mrr_churn", "net = (L + C - X - R) / S × 100", sub(&format!("({} + {} - {} - {})", num(l), num(c), num(x), num(r))), (l + c - x - r) / s * 100.0, convention),
            if convention == Convention::Standard { "the reference".to_owned() } else { "ChartMogul's B2B formulas are the standard ones".to_owned() },
        ),
        Convention::Baremetrics => (
            percent_kpi("gross_mrr_churn", "revenue churn = min((L + C) / S, 1) × 100", sub(&format!("({} + {})", num(l), num(c))), ((l + c) / s * 100.0).min(100.0), convention),
            percent_kpi("net_mrr_churn", "net revenue churn = (L + C - X) / S × 100", sub(&format!("({} + {} - {})", num(l), num(c), num(x))), (l + c - x) / s * 100.0, convention),
            format!("revenue churn is capped at 100 %, and net revenue churn credits expansion only: the {} of reactivation MRR is not subtracted", num(r)),
        ),
        Convention::ChartmogulB2c => {
            if days.is_empty() {
                return Err(InvalidInput::new(
                    "/days",
                    "required by chartmogul_b2c",
                    "ChartMogul's B2C formulas sum each day's MRR churn: give days, [{start_mrr, end_mrr, new_mrr}] for each day of the period",
                ));
            }
            for (i, d) in days.iter().enumerate() {
                if !(d.start_mrr > 0.0 && d.start_mrr.is_finite() && d.end_mrr >= 0.0 && d.end_mrr.is_finite() && d.new_mrr >= 0.0 && d.new_mrr <= d.end_mrr && d.lost_mrr >= 0.0 && d.lost_mrr <= d.start_mrr) {
                    return Err(InvalidInput::new(
                        format!("/days/{i}"),
                        "start_mrr above 0, end_mrr 0 or more, new_mrr at most end_mrr, churned + contraction at most start_mrr",
                        format!("days[{i}]: start {} end {} new {} lost {} is not a day of MRR", d.start_mrr, d.end_mrr, d.new_mrr, d.lost_mrr),
                    ));
                }
            }
            let gross: f64 = days.iter().map(|d| d.lost_mrr / d.start_mrr).sum::<f64>() * 100.0;
            let net: f64 = days.iter().map(|d| 1.0 - (d.end_mrr - d.new_mrr) / d.start_mrr).sum::<f64>() * 100.0;
            (
                percent_kpi("gross_mrr_churn", "gross = Σ_d (churned_d + contraction_d) / S_d × 100", format!("over {} days", days.len()), gross, convention),
                percent_kpi("net_mrr_churn", "net = Σ_d (1 - (E_d - N_d) / S_d) × 100", format!("over {} days", days.len()), net, convention),
                "ChartMogul's B2C formulas add up each day's MRR change against that morning's MRR, instead of one period's movements against its starting MRR".to_owned(),
            )
        }
        Convention::Stripe | Convention::Profitwell => {
            return Err(InvalidInput::new(
                "/convention",
                "standard, chartmogul, chartmogul_b2c or baremetrics",
                format!("{} documents no MRR churn rate (only churned revenue and customer churn): use it on /churn", convention.name()),
            ))
        }
    };
    Ok(RevenueConvention {
        convention: convention.name().to_owned(),
        source: convention.source().to_owned(),
        gross_mrr_churn: gross,
        net_mrr_churn: net,
        differs_because: why,
    })
}

/// The conventions asked for: `convention`, and with `compare` every one with an MRR churn
/// rate (the B2C formula only when days are given).
pub fn revenue_conventions(
    convention: Convention,
    m: &super::revenue::MrrMovements,
    days: &[MrrDay],
    compare: bool,
) -> Result<Vec<RevenueConvention>, InvalidInput> {
    let mut out = vec![revenue_by(convention, m, days)?];
    if compare {
        for other in [
            Convention::Standard,
            Convention::Chartmogul,
            Convention::ChartmogulB2c,
            Convention::Baremetrics,
        ] {
            if other == convention || (other == Convention::ChartmogulB2c && days.is_empty()) {
                continue;
            }
            out.push(revenue_by(other, m, days)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confidence() -> Confidence {
        Confidence::new(None).unwrap()
    }

    #[test]
    fn chartmogul_takes_out_join_and_churn_and_churn_and_reactivate() {
        // ChartMogul's example: 100 at the start, 12 churned, one of whom reactivated and one
        // of whom joined in the period: (12 − 1 − 1) / 100 = 10 %.
        let counts = ConventionCounts {
            start: 100,
            churned: 12,
            new: 1,
            joined_and_churned: 1,
            churned_and_reactivated: 1,
            ..ConventionCounts::default()
        };
        let answer =
            churn_conventions(Convention::Chartmogul, &counts, true, confidence()).unwrap();
        assert_eq!(answer.kpi.value, 10.0);
        let by: Vec<(String, f64)> = answer
            .related
            .iter()
            .map(|k| (k.metric.to_string(), k.value))
            .collect();
        assert!(by.contains(&("customer_churn_rate_standard".to_owned(), 12.0)));
        assert!(by.contains(&("customer_churn_rate_profitwell".to_owned(), 11.0)));
        assert!(by.contains(&(
            "customer_churn_rate_stripe".to_owned(),
            12.0 / 101.0 * 100.0
        )));
    }

    #[test]
    fn the_b2c_formula_sums_the_daily_rates() {
        let counts = ConventionCounts {
            start: 100,
            churned: 3,
            days: vec![
                Day {
                    active_at_start: 100,
                    still_active_at_end: 99,
                },
                Day {
                    active_at_start: 50,
                    still_active_at_end: 49,
                },
            ],
            ..ConventionCounts::default()
        };
        let (kpi, _) = churn_by(Convention::ChartmogulB2c, &counts, confidence(), "m").unwrap();
        assert!((kpi.value - 3.0).abs() < 1e-12);
    }
}
