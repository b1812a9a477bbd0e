//! What-if: a base of customers, retention, revenue and costs, and a change to retention or
//! ARPU; the effect on CLV (churn-based and discounted), on customers, revenue and profit over
//! a horizon, each with its breakdown; and when retention rises, the base retention at which
//! the change gives Reichheld & Sasser's "+25 %" and "+95 %" (docs/formulas.md § 15).

use serde::Serialize;

use super::breakdown::{num, Breakdown, Kpi, Unit};
use super::error::InvalidInput;

/// Longest horizon, in periods.
pub const MAX_HORIZON: u32 = 600;

/// A customer base per period. Rates are fractions here (the adapter converts percents).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    /// r: the share of customers kept from one period to the next, 0 ≤ r < 1.
    pub retention: f64,
    /// Revenue per customer per period.
    pub arpu: f64,
    /// m: gross margin on revenue, 0–1.
    pub margin: f64,
    /// C: cost to serve a customer per period.
    pub cost_per_customer: f64,
    /// d: discount rate per period.
    pub discount: f64,
    /// N₀: customers at the start.
    pub customers: f64,
    /// a: customers acquired each period.
    pub new_per_period: f64,
    /// CAC: cost of acquiring one customer.
    pub acquisition_cost: f64,
    /// g: growth of a customer's margin per period of tenure (Reichheld & Sasser: loyal
    /// customers buy more and cost less); 0 for none.
    pub loyalty_growth: f64,
}

/// The change asked about.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Change {
    /// Retention in percentage points (a churn change is its negative).
    pub retention_pp: f64,
    /// ARPU in percent.
    pub arpu_pct: f64,
    /// Whether the caller gave the change as churn (`churn_pp`) and the base as churn
    /// (`churn_rate_pct`): refusals name the fields sent.
    pub as_churn: (bool, bool),
}

/// One period of a projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodProjection {
    pub period: u32,
    /// Customers during the period: N_t = r N_{t−1} + a.
    pub customers: f64,
    pub revenue: f64,
    /// Margin earned minus cost to serve minus acquisition spend.
    pub profit: f64,
}

/// One scenario's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScenarioFigures {
    pub retention_rate_pct: f64,
    pub churn_rate_pct: f64,
    pub arpu: f64,
    /// M = ARPU × m − C: a customer's margin per period in the first period of tenure.
    pub margin_per_customer: f64,
    /// M / (1 − r).
    pub clv_churn_based: f64,
    /// Σ_k M (1 + g)^(k−1) r^(k−1) / (1 + d)^k = M / (1 + d − r (1 + g)).
    pub clv_discounted: f64,
    pub customers_end: f64,
    pub revenue_total: f64,
    pub profit_total: f64,
    /// Σ_t profit_t / (1 + d)^t.
    pub profit_discounted: f64,
    pub by_period: Vec<PeriodProjection>,
}

/// Where the +25 % and +95 % of "raising retention by 5 % raises profit by 25–95 %" come
/// from, for the change asked about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionClaim {
    pub retention_pp: f64,
    /// The change in discounted CLV at this base.
    pub clv_discounted_change_pct: f64,
    /// The base retention (percent) at which the change raises discounted CLV by 25 %;
    /// absent when no base retention does (with this discount rate and loyalty growth).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_retention_for_25_pct: Option<f64>,
    /// The same for 95 %.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_retention_for_95_pct: Option<f64>,
    pub formula: String,
    pub explanation: String,
}

/// The answer of `/what-if`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhatIfReport {
    pub horizon: u32,
    pub base: ScenarioFigures,
    pub changed: ScenarioFigures,
    /// The effect of the change, each with its formula, substitution and steps.
    pub effects: Vec<Kpi>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_claim: Option<RetentionClaim>,
    pub assumptions: Vec<String>,
}

/// A customer's discounted value with margin growth: M / (1 + d − r (1 + g)).
fn discounted_clv(s: &Scenario) -> f64 {
    margin_per_customer(s) / (1.0 + s.discount - s.retention * (1.0 + s.loyalty_growth))
}

fn margin_per_customer(s: &Scenario) -> f64 {
    s.arpu * s.margin - s.cost_per_customer
}

/// The projection over `horizon` periods, tracking customers by tenure so that loyalty
/// growth applies to each cohort's own age: the starting customers are in their first
/// period of tenure in period 1, each period's acquisitions in theirs.
fn project(s: &Scenario, horizon: u32) -> (Vec<PeriodProjection>, f64) {
    let m = margin_per_customer(s);
    // by_tenure[k]: customers in their (k + 1)-th period of tenure.
    let mut by_tenure: Vec<f64> = Vec::with_capacity(horizon as usize + 1);
    let mut periods = Vec::with_capacity(horizon as usize);
    let mut discounted = 0.0;
    for t in 1..=horizon {
        if t == 1 {
            by_tenure.push(s.customers + s.new_per_period);
        } else {
            for n in by_tenure.iter_mut() {
                *n *= s.retention;
            }
            by_tenure.insert(0, s.new_per_period);
        }
        let customers: f64 = by_tenure.iter().sum();
        let margin: f64 = by_tenure
            .iter()
            .enumerate()
            .map(|(k, n)| n * m * (1.0 + s.loyalty_growth).powi(k as i32))
            .sum();
        let profit = margin - s.new_per_period * s.acquisition_cost;
        discounted += profit / (1.0 + s.discount).powi(t as i32);
        periods.push(PeriodProjection {
            period: t,
            customers,
            revenue: customers * s.arpu,
            profit,
        });
    }
    (periods, discounted)
}

fn figures(s: &Scenario, horizon: u32) -> ScenarioFigures {
    let (by_period, profit_discounted) = project(s, horizon);
    ScenarioFigures {
        retention_rate_pct: s.retention * 100.0,
        churn_rate_pct: (1.0 - s.retention) * 100.0,
        arpu: s.arpu,
        margin_per_customer: margin_per_customer(s),
        clv_churn_based: margin_per_customer(s) / (1.0 - s.retention),
        clv_discounted: discounted_clv(s),
        customers_end: by_period.last().map_or(s.customers, |p| p.customers),
        revenue_total: by_period.iter().map(|p| p.revenue).sum(),
        profit_total: by_period.iter().map(|p| p.profit).sum(),
        profit_discounted,
        by_period,
    }
}

/// The change of a figure as a KPI: `(new − old) / |old| × 100` in percent with its
/// breakdown, or the absolute change where the base is 0.
fn change_kpi(metric: &'static str, what: &str, old: f64, new: f64, formula: &str) -> Kpi {
    let unit = if metric == "customers_end_change" {
        Unit::Count
    } else {
        Unit::Currency
    };
    if old == 0.0 {
        let breakdown = Breakdown::new(
            format!("Δ = new - base; {formula}"),
            format!("{} - {}", num(new), num(old)),
        )
        .input("base", old)
        .input("new", new)
        .step(
            format!("{what}, change"),
            format!("{} - {}", num(new), num(old)),
            new - old,
        );
        return Kpi::new(metric, new - old, unit, breakdown)
            .note("The base is 0: the change is given in the figure's own unit, not in percent.");
    }
    let pct = (new - old) / old.abs() * 100.0;
    let breakdown = Breakdown::new(
        format!("Δ% = (new - base) / |base| × 100; {formula}"),
        format!("({} - {}) / {} × 100", num(new), num(old), num(old.abs())),
    )
    .input("base", old)
    .input("new", new)
    .step(format!("{what}, base"), formula.to_owned(), old)
    .step(format!("{what}, with the change"), formula.to_owned(), new)
    .step(
        "change (percent)",
        format!("({} - {}) / {} × 100", num(new), num(old), num(old.abs())),
        pct,
    );
    Kpi::new(metric, pct, Unit::Percent, breakdown)
}

/// The base retention r (a fraction) at which raising it by Δ raises M / (A − r B) by the
/// fraction p, A = 1 + d, B = 1 + g: from (A − r B) / (A − (r + Δ) B) = 1 + p,
/// r = A / B − (1 + p) Δ / p; `None` when that r is not a retention the change can apply to
/// (below 0, or r + Δ ≥ 1, or (r + Δ) B ≥ A, where the value has no finite sum).
pub fn base_retention_for(p: f64, delta: f64, discount: f64, growth: f64) -> Option<f64> {
    let (a, b) = (1.0 + discount, 1.0 + growth);
    let r = a / b - (1.0 + p) * delta / p;
    (r >= 0.0 && r + delta < 1.0 && (r + delta) * b < a).then_some(r)
}

/// The what-if answer (see the module, and docs/formulas.md § 15 for the worked example).
pub fn what_if(
    base: &Scenario,
    change: Change,
    horizon: u32,
) -> Result<WhatIfReport, InvalidInput> {
    let changed = Scenario {
        retention: base.retention + change.retention_pp / 100.0,
        arpu: base.arpu * (1.0 + change.arpu_pct / 100.0),
        ..*base
    };
    let change_field = if change.as_churn.0 {
        "/change/churn_pp"
    } else {
        "/change/retention_pp"
    };
    let base_field = if change.as_churn.1 {
        "/base/churn_rate_pct"
    } else {
        "/base/retention_rate_pct"
    };
    if !(0.0..1.0).contains(&changed.retention) {
        return Err(InvalidInput::new(
            change_field,
            "a change that leaves retention from 0 to below 100 %",
            format!(
                "retention {} % changed by {} points is {} %: retention must stay from 0 to below 100 %",
                num(base.retention * 100.0),
                num(change.retention_pp),
                num(changed.retention * 100.0)
            ),
        ));
    }
    if changed.arpu < 0.0 {
        return Err(InvalidInput::new(
            "/change/arpu_pct",
            "at least -100",
            format!(
                "ARPU changed by {} % would be negative",
                num(change.arpu_pct)
            ),
        ));
    }
    for (s, pointer) in [(base, base_field), (&changed, change_field)] {
        if s.retention * (1.0 + s.loyalty_growth) >= 1.0 + s.discount {
            return Err(InvalidInput::new(
                pointer,
                "r (1 + g) below 1 + d",
                format!(
                    "retention {} % with loyalty growth {} % per period outgrows the discount rate {} %: the discounted CLV M / (1 + d - r (1 + g)) has no finite value",
                    num(s.retention * 100.0),
                    num(s.loyalty_growth * 100.0),
                    num(s.discount * 100.0)
                ),
            ));
        }
    }
    let before = figures(base, horizon);
    let after = figures(&changed, horizon);
    let effects = vec![
        change_kpi(
            "clv_churn_based_change",
            "CLV = M / (1 - r)",
            before.clv_churn_based,
            after.clv_churn_based,
            "CLV = M / (1 - r)",
        ),
        change_kpi(
            "clv_discounted_change",
            "CLV = M / (1 + d - r (1 + g))",
            before.clv_discounted,
            after.clv_discounted,
            "CLV = M / (1 + d - r (1 + g))",
        ),
        change_kpi(
            "customers_end_change",
            "customers at the horizon",
            before.customers_end,
            after.customers_end,
            "N_t = r N_(t-1) + a",
        ),
        change_kpi(
            "revenue_total_change",
            "revenue over the horizon",
            before.revenue_total,
            after.revenue_total,
            "Σ_t N_t × ARPU",
        ),
        change_kpi(
            "profit_total_change",
            "profit over the horizon",
            before.profit_total,
            after.profit_total,
            "Σ_t (Σ_k N_t,k M (1 + g)^(k-1) - a × CAC)",
        ),
        change_kpi(
            "profit_discounted_change",
            "discounted profit over the horizon",
            before.profit_discounted,
            after.profit_discounted,
            "Σ_t profit_t / (1 + d)^t",
        ),
    ];
    let retention_claim = (change.retention_pp > 0.0).then(|| {
        let delta = change.retention_pp / 100.0;
        let pct = |p: f64| base_retention_for(p, delta, base.discount, base.loyalty_growth).map(|r| r * 100.0);
        let (r25, r95) = (pct(0.25), pct(0.95));
        let explanation = format!(
            "Raising retention by {} points multiplies a customer's discounted value M / (1 + d - r (1 + g)) by (1 + d - r (1 + g)) / (1 + d - (r + Δ)(1 + g)): {} % here, from a base of {} %. With d = {} % and g = {} % it gives +25 % {} and +95 % {}. The higher the base retention and the faster loyal customers' margins grow, the larger the gain: the published 25–95 % comes from bases already near the top of the range.",
            num(change.retention_pp),
            num((after.clv_discounted / before.clv_discounted - 1.0) * 100.0),
            num(base.retention * 100.0),
            num(base.discount * 100.0),
            num(base.loyalty_growth * 100.0),
            r25.map_or("at no base retention".to_owned(), |r| format!("from a base retention of {} %", num(r))),
            r95.map_or("at no base retention (raise g to get there)".to_owned(), |r| format!("from a base retention of {} %", num(r))),
        );
        RetentionClaim {
            retention_pp: change.retention_pp,
            clv_discounted_change_pct: (after.clv_discounted / before.clv_discounted - 1.0) * 100.0,
            base_retention_for_25_pct: r25,
            base_retention_for_95_pct: r95,
            formula: "r_p = (1 + d) / (1 + g) - (1 + p) Δ / p: the base retention at which +Δ raises discounted CLV by p".to_owned(),
            explanation,
        }
    });
    Ok(WhatIfReport {
        horizon,
        base: before,
        changed: after,
        effects,
        retention_claim,
        assumptions: vec![
            "Rates are per period; every customer pays ARPU each period they are a customer and churns, if at all, at a period's end.".to_owned(),
            "N_t = r N_(t-1) + a: the customers of period t are those kept from the last period and the period's acquisitions (the starting customers count in period 1).".to_owned(),
            "A customer's margin in their k-th period is M (1 + g)^(k-1), M = ARPU × m - C (Reichheld & Sasser 1990: retained customers buy more and cost less over time; g = 0 turns this off).".to_owned(),
            "Acquisition spend a × CAC is paid each period of the horizon; the churn-based CLV M / (1 - r) ignores discounting and margin growth.".to_owned(),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        Scenario {
            retention: 0.8,
            arpu: 100.0,
            margin: 0.5,
            cost_per_customer: 0.0,
            discount: 0.1,
            customers: 1000.0,
            new_per_period: 0.0,
            acquisition_cost: 0.0,
            loyalty_growth: 0.0,
        }
    }

    #[test]
    fn five_points_of_retention_worked_example() {
        // § 15: M = 50; CLV = 50 / (1.1 - 0.8) = 166.67 → 50 / (1.1 - 0.85) = 200: +20 %;
        // churn-based 50 / 0.2 = 250 → 50 / 0.15 = 333.33: +33.3 %.
        let report = what_if(
            &base(),
            Change {
                retention_pp: 5.0,
                arpu_pct: 0.0,
                as_churn: (false, false),
            },
            3,
        )
        .unwrap();
        assert!((report.base.clv_discounted - 50.0 / 0.3).abs() < 1e-9);
        assert!((report.effects[1].value - 20.0).abs() < 1e-9);
        assert!((report.effects[0].value - 100.0 / 3.0).abs() < 1e-9);
        // 1000, 800, 640 customers against 1000, 850, 722.5.
        assert_eq!(report.base.by_period[2].customers, 640.0);
        assert!((report.changed.by_period[2].customers - 722.5).abs() < 1e-9);
        let claim = report.retention_claim.unwrap();
        // r_25 = 1.1 - 1.25 × 0.05 / 0.25 = 0.85; r_95 = 1.1 - 1.95 × 0.05 / 0.95 = 0.9974 ≥ 0.95: none.
        assert!((claim.base_retention_for_25_pct.unwrap() - 85.0).abs() < 1e-9);
        assert_eq!(claim.base_retention_for_95_pct, None);
    }

    #[test]
    fn the_solved_base_retention_gives_the_stated_gain() {
        for (d, g, delta) in [(0.1, 0.0, 0.05), (0.1, 0.05, 0.05), (0.02, 0.03, 0.01)] {
            for p in [0.25, 0.95] {
                if let Some(r) = base_retention_for(p, delta, d, g) {
                    let gain =
                        (1.0 + d - r * (1.0 + g)) / (1.0 + d - (r + delta) * (1.0 + g)) - 1.0;
                    assert!(
                        (gain - p).abs() < 1e-9,
                        "d {d} g {g} Δ {delta} p {p}: {gain}"
                    );
                }
            }
        }
        // With 5 % loyalty growth a 95 % gain is reachable.
        assert!(base_retention_for(0.95, 0.05, 0.1, 0.05).is_some());
    }

    #[test]
    fn a_change_past_100_pct_retention_is_refused() {
        let refused = what_if(
            &base(),
            Change {
                retention_pp: 25.0,
                arpu_pct: 0.0,
                as_churn: (false, false),
            },
            3,
        )
        .unwrap_err();
        assert_eq!(refused.pointer, "/change/retention_pp");
    }
}
