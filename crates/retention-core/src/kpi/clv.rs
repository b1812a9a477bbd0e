//! Customer lifetime value (docs/formulas.md § 4): simple, churn-based, discounted, historical,
//! and the CLV : CAC ratio.

use serde::Deserialize;

use super::breakdown::{num, Breakdown, Kpi, KpiResponse, Unit};
use super::error::{finite_result, non_negative, percent, InvalidInput};
use crate::input::NonNegative;

/// How to compute CLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClvMethodName {
    /// average_purchase_value × purchase_frequency × lifespan
    Simple,
    /// arpu × gross_margin_pct / churn_rate_pct
    ChurnBased,
    /// Σ (margin_t − cost_per_period) × r^(t−1) / (1 + d)^t
    Discounted,
    /// sum of purchases × gross_margin_pct
    Historical,
}

impl ClvMethodName {
    pub fn name(self) -> &'static str {
        match self {
            ClvMethodName::Simple => "simple",
            ClvMethodName::ChurnBased => "churn_based",
            ClvMethodName::Discounted => "discounted",
            ClvMethodName::Historical => "historical",
        }
    }

    /// The fields each method reads (besides `method` and `acquisition_cost`).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            ClvMethodName::Simple => &["average_purchase_value", "purchase_frequency", "lifespan"],
            ClvMethodName::ChurnBased => &[
                "arpu",
                "gross_margin_pct",
                "churn_rate_pct",
                "churned_customers",
                "start_customers",
                "arpu_standard_deviation",
                "arpu_customers",
                "confidence",
            ],
            ClvMethodName::Discounted => &[
                "margins",
                "margin_per_period",
                "periods",
                "retention_rate_pct",
                "discount_rate_pct",
                "cost_per_period",
            ],
            ClvMethodName::Historical => &["purchases", "gross_margin_pct"],
        }
    }
}

/// Each period's margin of a discounted CLV: `margins` as given, or `margin_per_period`
/// repeated `periods` times (1 to [`MAX_PERIODS`]); not both forms at once.
pub fn margins_per_period(
    margins: Option<Vec<f64>>,
    margin_per_period: Option<f64>,
    periods: Option<u64>,
) -> Result<Vec<f64>, InvalidInput> {
    let required = |field: &str| {
        InvalidInput::new(
            format!("/{field}"),
            "required for method discounted",
            format!("{field} is required for method discounted"),
        )
    };
    match (margins, margin_per_period, periods) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(InvalidInput::new(
            "/margins",
            "give margins, or margin_per_period with periods, not both",
            "margins lists each period's margin: leave out margin_per_period and periods, or margins",
        )),
        (Some(margins), None, None) => Ok(margins),
        (None, margin, periods) => {
            let margin = margin.ok_or_else(|| required("margin_per_period"))?;
            let periods = periods.ok_or_else(|| required("periods"))?;
            if periods == 0 || periods > MAX_PERIODS as u64 {
                return Err(InvalidInput::new(
                    "/periods",
                    format!("must be from 1 to {MAX_PERIODS}"),
                    format!("periods is {periods}: the horizon runs from 1 to {MAX_PERIODS} periods"),
                ));
            }
            Ok(vec![margin; periods as usize])
        }
    }
}

/// Longest horizon of the discounted method, in periods (100 years of months).
pub const MAX_PERIODS: usize = 1200;
/// Discounted answers list one step per period up to this many periods.
const MAX_LISTED_PERIODS: usize = 36;

/// A CLV computation whose inputs were checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ClvMethod {
    /// `average purchase value × purchase frequency × average lifespan`.
    Simple {
        average_purchase_value: f64,
        purchase_frequency: f64,
        lifespan: f64,
    },
    /// `ARPU × gross margin / churn rate` (lifespan = 1 / churn).
    ChurnBased {
        arpu: f64,
        gross_margin_pct: f64,
        churn_rate_pct: f64,
    },
    /// `Σ_{t=1..T} (margin_t − cost) × r^(t−1) / (1 + d)^t`.
    Discounted {
        margins: Vec<f64>,
        retention_rate_pct: f64,
        discount_rate_pct: f64,
        cost_per_period: f64,
    },
    /// `(purchase 1 + purchase 2 + …) × gross margin`.
    Historical {
        purchases: Vec<f64>,
        gross_margin_pct: f64,
    },
}

impl ClvMethod {
    pub fn simple(
        average_purchase_value: f64,
        purchase_frequency: f64,
        lifespan: f64,
    ) -> Result<Self, InvalidInput> {
        Ok(Self::Simple {
            average_purchase_value: non_negative("average_purchase_value", average_purchase_value)?,
            purchase_frequency: non_negative("purchase_frequency", purchase_frequency)?,
            lifespan: non_negative("lifespan", lifespan)?,
        })
    }

    /// Refuses a churn rate of 0 (an infinite lifespan) and margins over 100 %.
    pub fn churn_based(
        arpu: f64,
        gross_margin_pct: f64,
        churn_rate_pct: f64,
    ) -> Result<Self, InvalidInput> {
        Ok(Self::ChurnBased {
            arpu: non_negative("arpu", arpu)?,
            gross_margin_pct: percent("gross_margin_pct", gross_margin_pct, true)?,
            churn_rate_pct: percent("churn_rate_pct", churn_rate_pct, false)?,
        })
    }

    /// `margins` holds the margin of each period 1..T (at most [`MAX_PERIODS`]).
    pub fn discounted(
        margins: Vec<f64>,
        retention_rate_pct: f64,
        discount_rate_pct: f64,
        cost_per_period: f64,
    ) -> Result<Self, InvalidInput> {
        if margins.is_empty() {
            return Err(InvalidInput::new(
                "/margins",
                "must not be empty",
                "margins is empty: give the margin of at least one period",
            ));
        }
        if margins.len() > MAX_PERIODS {
            return Err(InvalidInput::new(
                "/margins",
                format!("must have at most {MAX_PERIODS} periods"),
                format!(
                    "{} periods exceed the longest horizon, {MAX_PERIODS} periods",
                    margins.len()
                ),
            ));
        }
        for (i, &m) in margins.iter().enumerate() {
            if NonNegative::new(m).is_none() {
                return Err(InvalidInput::new(
                    format!("/margins/{i}"),
                    "must not be negative",
                    format!("margins[{i}] ({m}) is negative: give each period's margin as zero or more and ongoing costs as cost_per_period"),
                ));
            }
        }
        Ok(Self::Discounted {
            margins,
            retention_rate_pct: percent("retention_rate_pct", retention_rate_pct, true)?,
            discount_rate_pct: non_negative("discount_rate_pct", discount_rate_pct)?,
            cost_per_period: non_negative("cost_per_period", cost_per_period)?,
        })
    }

    pub fn historical(purchases: Vec<f64>, gross_margin_pct: f64) -> Result<Self, InvalidInput> {
        if purchases.is_empty() {
            return Err(InvalidInput::new(
                "/purchases",
                "must not be empty",
                "purchases is empty: historical CLV sums the customer's past purchases",
            ));
        }
        for (i, &p) in purchases.iter().enumerate() {
            if NonNegative::new(p).is_none() {
                return Err(InvalidInput::new(
                    format!("/purchases/{i}"),
                    "must not be negative",
                    format!(
                        "purchases[{i}] ({p}) is negative: purchase amounts must be zero or more"
                    ),
                ));
            }
        }
        Ok(Self::Historical {
            purchases,
            gross_margin_pct: percent("gross_margin_pct", gross_margin_pct, true)?,
        })
    }
}

/// An acquisition cost for CLV : CAC, which must be greater than zero.
pub fn acquisition_cost(value: f64) -> Result<f64, InvalidInput> {
    let value = non_negative("acquisition_cost", value)?;
    if value == 0.0 {
        return Err(InvalidInput::new(
            "/acquisition_cost",
            "must be greater than zero",
            "acquisition_cost is 0: CLV : CAC divides by it (leave it out when there is none)",
        ));
    }
    Ok(value)
}

/// Computes CLV by the chosen method, with CLV : CAC and net CLV when a cost is given.
///
/// # Formula
///
/// ```text
/// simple:       CLV = V × F × L
/// churn_based:  CLV = ARPU × m / c          (related: lifespan = 1 / c periods)
/// discounted:   CLV = Σ_{t=1..T} (M_t − C) × r^(t−1) / (1 + d)^t
/// historical:   CLV = (P_1 + P_2 + … + P_n) × m
/// with a cost:  CLV : CAC = CLV / CAC,  net CLV = CLV − CAC     (related)
/// ```
///
/// where V is the average purchase value, F the purchases per period, L the lifespan in
/// periods, ARPU the average revenue per user per period, m the gross margin and c the churn
/// rate per period (fractions), M_t the margin of period t, C the ongoing cost per period,
/// r the retention rate and d the discount rate per period (fractions), P_i the past purchase
/// amounts and CAC the customer acquisition cost. Unit: currency (the caller's); CLV : CAC is
/// a ratio, the lifespan in periods. Source: docs/formulas.md § 4 ($50 × 5 a year × 3 years =
/// $750; $150 a year × 2 years = $300).
pub fn customer_lifetime_value(
    method: &ClvMethod,
    acquisition_cost: Option<f64>,
) -> Result<KpiResponse, InvalidInput> {
    let (clv, mut related) = match method {
        ClvMethod::Simple {
            average_purchase_value,
            purchase_frequency,
            lifespan,
        } => (
            simple(*average_purchase_value, *purchase_frequency, *lifespan),
            vec![],
        ),
        ClvMethod::ChurnBased {
            arpu,
            gross_margin_pct,
            churn_rate_pct,
        } => churn_based(*arpu, *gross_margin_pct, *churn_rate_pct),
        ClvMethod::Discounted {
            margins,
            retention_rate_pct,
            discount_rate_pct,
            cost_per_period,
        } => (
            discounted(
                margins,
                *retention_rate_pct,
                *discount_rate_pct,
                *cost_per_period,
            ),
            vec![],
        ),
        ClvMethod::Historical {
            purchases,
            gross_margin_pct,
        } => (historical(purchases, *gross_margin_pct), vec![]),
    };
    finite_result("customer_lifetime_value", clv.value)?;
    if let Some(cac) = acquisition_cost {
        related.push(clv_to_cac(clv.value, cac));
        related.push(net_clv(clv.value, cac));
    }
    for kpi in &related {
        finite_result(&kpi.metric, kpi.value)?;
    }
    Ok(KpiResponse { kpi: clv, related })
}

/// Simple CLV: revenue over the lifespan.
///
/// # Formula
///
/// ```text
/// CLV = V × F × L
/// ```
///
/// where V is the average purchase value, F the purchases per period and L the lifespan in
/// periods. Unit: currency. Source: docs/formulas.md § 4 ($50 × 5 a year × 3 years = $750).
fn simple(value: f64, frequency: f64, lifespan: f64) -> Kpi {
    let per_period = value * frequency;
    let clv = per_period * lifespan;
    let breakdown = Breakdown::new(
        "CLV = V × F × L",
        format!("{} × {} × {}", num(value), num(frequency), num(lifespan)),
    )
    .input("V", value)
    .input("F", frequency)
    .input("L", lifespan)
    .step(
        "value per period",
        format!("{} × {}", num(value), num(frequency)),
        per_period,
    )
    .step(
        "lifetime value",
        format!("{} × {}", num(per_period), num(lifespan)),
        clv,
    );
    Kpi::new("customer_lifetime_value", clv, Unit::Currency, breakdown)
        .note("Simple CLV is revenue over the lifespan; give a margin (churn_based or historical) for profit.")
}

/// Churn-based CLV, with the expected lifespan beside it.
///
/// # Formula
///
/// ```text
/// CLV      = ARPU × m / c
/// lifespan = 1 / c
/// ```
///
/// where ARPU is the average revenue per user per period, m the gross margin and c the churn
/// rate per period, as fractions. Unit: currency (the lifespan in periods). Source:
/// docs/formulas.md § 4.
fn churn_based(arpu: f64, margin_pct: f64, churn_pct: f64) -> (Kpi, Vec<Kpi>) {
    let margin = margin_pct / 100.0;
    let churn = churn_pct / 100.0;
    let margin_per_period = arpu * margin;
    let lifespan = 1.0 / churn;
    let clv = margin_per_period / churn;
    let breakdown = Breakdown::new(
        "CLV = ARPU × m / c",
        format!("{} × {} / {}", num(arpu), num(margin), num(churn)),
    )
    .input("ARPU", arpu)
    .input("m", margin)
    .input("c", churn)
    .step(
        "margin per period",
        format!("{} × {}", num(arpu), num(margin)),
        margin_per_period,
    )
    .step(
        "expected lifespan (periods)",
        format!("1 / {}", num(churn)),
        lifespan,
    )
    .step(
        "lifetime value",
        format!("{} / {}", num(margin_per_period), num(churn)),
        clv,
    );
    let lifespan_kpi = Kpi::new(
        "expected_lifespan",
        lifespan,
        Unit::Periods,
        Breakdown::new("lifespan = 1 / c", format!("1 / {}", num(churn)))
            .input("c", churn)
            .step("expected lifespan", format!("1 / {}", num(churn)), lifespan),
    )
    .note("In the periods the churn rate is measured over; assumes a constant churn rate.");
    let clv_kpi = Kpi::new("customer_lifetime_value", clv, Unit::Currency, breakdown)
        .note("ARPU and churn must be per the same period (both monthly, or both annual).");
    (clv_kpi, vec![lifespan_kpi])
}

/// Discounted CLV over T periods.
///
/// # Formula
///
/// ```text
/// CLV = Σ_{t=1..T} (M_t − C) × r^(t−1) / (1 + d)^t
/// ```
///
/// where M_t is the margin of period t (counted at its end), C the ongoing cost per period,
/// r the retention rate and d the discount rate per period, as fractions. Unit: currency.
/// Source: docs/formulas.md § 4.
fn discounted(margins: &[f64], retention_pct: f64, discount_pct: f64, cost: f64) -> Kpi {
    let r = retention_pct / 100.0;
    let d = discount_pct / 100.0;
    let horizon = margins.len();
    let mut breakdown = Breakdown::new(
        "CLV = Σ_{t=1..T} (M_t - C) × r^(t-1) / (1 + d)^t",
        format!(
            "Σ_{{t=1..{horizon}}} (M_t - {}) × {}^(t-1) / {}^t",
            num(cost),
            num(r),
            num(1.0 + d)
        ),
    )
    .input("T", horizon as u64)
    .input("C", cost)
    .input("r", r)
    .input("d", d);
    if margins.iter().all(|&m| m == margins[0]) {
        breakdown = breakdown.input("M", margins[0]);
    }
    let mut clv = 0.0;
    let mut survival = 1.0; // r^(t-1)
    let mut discount = 1.0; // (1 + d)^t
    for (i, &margin) in margins.iter().enumerate() {
        let t = i + 1;
        discount *= 1.0 + d;
        let term = (margin - cost) * survival / discount;
        clv += term;
        if t <= MAX_LISTED_PERIODS {
            breakdown = breakdown.step(
                format!("period {t}"),
                format!(
                    "({} - {}) × {}^{} / {}^{t}",
                    num(margin),
                    num(cost),
                    num(r),
                    t - 1,
                    num(1.0 + d)
                ),
                term,
            );
        }
        survival *= r;
    }
    breakdown = breakdown.step("lifetime value", format!("sum of {horizon} periods"), clv);
    let mut kpi = Kpi::new("customer_lifetime_value", clv, Unit::Currency, breakdown)
        .note("Margins are counted at the end of each period and discounted by (1 + d)^t.");
    if horizon > MAX_LISTED_PERIODS {
        kpi = kpi.note(format!(
            "Steps list the first {MAX_LISTED_PERIODS} of {horizon} periods; the total sums all of them."
        ));
    }
    kpi
}

/// Historical CLV: what the customer has already brought in.
///
/// # Formula
///
/// ```text
/// CLV = (P_1 + P_2 + … + P_n) × m
/// ```
///
/// where P_i are the past purchase amounts and m the gross margin as a fraction. Unit:
/// currency. Source: docs/formulas.md § 4 ($150 a year for 2 years at 100 % margin = $300).
fn historical(purchases: &[f64], margin_pct: f64) -> Kpi {
    let margin = margin_pct / 100.0;
    let total: f64 = purchases.iter().sum();
    let clv = total * margin;
    let listed = if purchases.len() <= 12 {
        purchases
            .iter()
            .map(|&p| num(p))
            .collect::<Vec<_>>()
            .join(" + ")
    } else {
        format!("sum of {} purchases", purchases.len())
    };
    let breakdown = Breakdown::new(
        "CLV = (P_1 + … + P_n) × m",
        format!("({listed}) × {}", num(margin)),
    )
    .input("n", purchases.len() as u64)
    .input("m", margin)
    .step("total purchases", listed, total)
    .step(
        "lifetime value",
        format!("{} × {}", num(total), num(margin)),
        clv,
    );
    Kpi::new("customer_lifetime_value", clv, Unit::Currency, breakdown)
        .note("Historical CLV is what the customer has already brought in; it predicts nothing.")
}

/// The CLV : CAC ratio.
///
/// # Formula
///
/// ```text
/// CLV : CAC = CLV / CAC
/// ```
///
/// Unit: ratio (3.0 means 3 to 1). Source: docs/formulas.md § 4.
fn clv_to_cac(clv: f64, cac: f64) -> Kpi {
    let ratio = clv / cac;
    Kpi::new(
        "clv_to_cac_ratio",
        ratio,
        Unit::Ratio,
        Breakdown::new("CLV : CAC = CLV / CAC", format!("{} / {}", num(clv), num(cac)))
            .input("CLV", clv)
            .input("CAC", cac)
            .step("ratio", format!("{} / {}", num(clv), num(cac)), ratio),
    )
    .note("A ratio of about 3 or more is a widely quoted rule of thumb for SaaS; context, not a verdict.")
}

/// CLV after the acquisition cost.
///
/// # Formula
///
/// ```text
/// net CLV = CLV − CAC
/// ```
///
/// Unit: currency. Source: docs/formulas.md § 4.
fn net_clv(clv: f64, cac: f64) -> Kpi {
    let net = clv - cac;
    Kpi::new(
        "net_customer_lifetime_value",
        net,
        Unit::Currency,
        Breakdown::new(
            "net CLV = CLV - CAC",
            format!("{} - {}", num(clv), num(cac)),
        )
        .input("CLV", clv)
        .input("CAC", cac)
        .step(
            "value after acquisition cost",
            format!("{} - {}", num(clv), num(cac)),
            net,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clv(method: ClvMethod) -> f64 {
        customer_lifetime_value(&method, None).unwrap().kpi.value
    }

    #[test]
    fn simple_worked_examples_of_formulas_md() {
        // $50 × 5 a year × 3 years = $750; $150 a year × 2 years = $300.
        assert_eq!(clv(ClvMethod::simple(50.0, 5.0, 3.0).unwrap()), 750.0);
        assert_eq!(clv(ClvMethod::simple(150.0, 1.0, 2.0).unwrap()), 300.0);
        assert_eq!(
            clv(ClvMethod::historical(vec![150.0, 150.0], 100.0).unwrap()),
            300.0
        );
    }

    #[test]
    fn discounted_sums_each_period() {
        // 100 a period, r = 0.8, d = 0.1, 3 periods: 100/1.1 + 80/1.21 + 64/1.331.
        let expected = 100.0 / 1.1 + 80.0 / 1.21 + 64.0 / 1.331;
        let got = clv(ClvMethod::discounted(vec![100.0; 3], 80.0, 10.0, 0.0).unwrap());
        assert!((got - expected).abs() < 1e-9);
    }

    #[test]
    fn zero_churn_and_negative_money_are_refused() {
        assert_eq!(
            ClvMethod::churn_based(10.0, 80.0, 0.0).unwrap_err().pointer,
            "/churn_rate_pct"
        );
        assert_eq!(
            ClvMethod::simple(-1.0, 1.0, 1.0).unwrap_err().pointer,
            "/average_purchase_value"
        );
        assert_eq!(
            ClvMethod::historical(vec![1.0, -2.0], 50.0)
                .unwrap_err()
                .pointer,
            "/purchases/1"
        );
    }
}
