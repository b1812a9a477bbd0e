//! The interval of a churn-based CLV from the counts behind its churn and the spread behind
//! its ARPU (docs/formulas.md § 4.1).

use super::breakdown::{num, Interval, KpiResponse};
use super::clv::ClvMethod;
use super::confidence::{wilson, Confidence};
use super::engagement::Share;
use super::error::InvalidInput;
use crate::input::NonNegative;

/// What is known of the spread of a churn-based CLV's inputs: the customers the churn was
/// counted from, the spread of ARPU over the customers it was averaged over, and the level.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChurnBasedEvidence {
    /// Customers lost and customers at the start, when the churn was counted.
    churn_counts: Option<(u64, u64)>,
    /// ARPU's standard deviation across customers, and those customers.
    arpu_spread: Option<(f64, u64)>,
    confidence: Confidence,
}

impl ChurnBasedEvidence {
    /// Refuses no customers at the start, more lost than there were, none lost (a churn of 0:
    /// an infinite CLV), a negative or non-finite standard deviation and no ARPU customers,
    /// each naming its field.
    pub fn new(
        churn_counts: Option<(u64, u64)>,
        arpu_spread: Option<(f64, u64)>,
        confidence: Confidence,
    ) -> Result<Self, InvalidInput> {
        if let Some((lost, start)) = churn_counts {
            // A share of the customers at the start, as the loyalty rates are.
            Share::new("churned_customers", lost, "start_customers", start)?;
            if lost == 0 {
                return Err(InvalidInput::new(
                    "/churned_customers",
                    "must be greater than zero",
                    "churned_customers is 0: a churn of 0 makes the lifespan, and CLV, infinite",
                ));
            }
        }
        if let Some((sd, customers)) = arpu_spread {
            if NonNegative::new(sd).is_none() {
                return Err(InvalidInput::new(
                    "/arpu_standard_deviation",
                    "must be 0 or more",
                    format!("arpu_standard_deviation {sd} must be a finite spread of 0 or more"),
                ));
            }
            if customers == 0 {
                return Err(InvalidInput::new(
                    "/arpu_customers",
                    "must be greater than zero",
                    "arpu_customers is 0: ARPU's spread needs the customers it was measured over",
                ));
            }
        }
        Ok(Self {
            churn_counts,
            arpu_spread,
            confidence,
        })
    }

    /// The churn rate in percent the counts give, when they were given.
    pub fn churn_rate_pct(&self) -> Option<f64> {
        self.churn_counts
            .map(|(lost, start)| lost as f64 / start as f64 * 100.0)
    }
}

/// Adds the interval a churn-based CLV's evidence allows to its answer, with its steps, or a
/// note saying what would give one. Other methods are returned as they are.
///
/// # Formula
///
/// ```text
/// counts only:      [ARPU × m / c_upper,  ARPU × m / c_lower]          (c's Wilson interval)
/// with ARPU spread: CLV ± z × √((m / c)² × s² / n + (ARPU × m / c²)² × c (1 − c) / S)
/// ```
///
/// where m is the margin and c the churn as fractions, c_lower and c_upper the Wilson bounds
/// of L churned of S (docs/formulas.md § 13), s the standard deviation of revenue per
/// customer over the n customers ARPU averages, and z the critical value of the level. CLV
/// falls as c rises, so the churn's bounds give the CLV's bounds in reverse. With the spread,
/// the delta method (first-order variance of ARPU × m / c, ARPU and c independent); the
/// churn's term is left out when the churn was given as a rate, which the method then says.
/// The interval is clipped at 0. Source: docs/formulas.md § 4.1.
pub fn with_churn_based_interval(
    mut answer: KpiResponse,
    method: &ClvMethod,
    evidence: &ChurnBasedEvidence,
) -> KpiResponse {
    let ClvMethod::ChurnBased {
        arpu,
        gross_margin_pct,
        churn_rate_pct,
    } = *method
    else {
        return answer;
    };
    let (m, c) = (gross_margin_pct / 100.0, churn_rate_pct / 100.0);
    let level = evidence.confidence;
    let clv = answer.kpi.value;
    let interval = match (evidence.churn_counts, evidence.arpu_spread) {
        (None, None) => {
            answer.kpi = answer.kpi.clone().note("Give churned_customers and start_customers (the counts behind the churn) for an interval, and arpu_standard_deviation with arpu_customers for ARPU's part of it.");
            return answer;
        }
        (Some((lost, start)), None) => {
            let churn = wilson(lost, start, level);
            let value = |churn_pct: f64| arpu * m / (churn_pct / 100.0);
            Interval {
                level_pct: churn.level_pct,
                lower: value(churn.upper),
                upper: value(churn.lower),
                margin_of_error: None,
                standard_error: None,
                method: "Wilson score of the churn, carried through ARPU × m / c".into(),
            }
        }
        (counts, Some((sd, n))) => {
            let arpu_term = (m / c).powi(2) * sd * sd / n as f64;
            let churn_term = counts.map_or(0.0, |(_, start)| {
                (arpu * m / (c * c)).powi(2) * c * (1.0 - c) / start as f64
            });
            let se = (arpu_term + churn_term).sqrt();
            let margin = level.z() * se;
            Interval {
                level_pct: level.level() * 100.0,
                lower: (clv - margin).max(0.0),
                upper: clv + margin,
                margin_of_error: Some(margin),
                standard_error: Some(se),
                method: if counts.is_some() {
                    "delta method: ARPU's spread s²/n and the churn's binomial variance c(1-c)/S"
                        .into()
                } else {
                    "delta method: ARPU's spread s²/n only (churn_rate_pct taken as known)".into()
                },
            }
        }
    };
    answer.kpi.breakdown = answer
        .kpi
        .breakdown
        .clone()
        .step(
            format!("interval lower bound ({})", interval.method),
            num(interval.lower),
            interval.lower,
        )
        .step(
            format!("interval upper bound ({})", interval.method),
            num(interval.upper),
            interval.upper,
        );
    answer.kpi.interval = Some(interval);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::clv::customer_lifetime_value;

    fn answer(churn_pct: f64, evidence: ChurnBasedEvidence) -> KpiResponse {
        let method = ClvMethod::churn_based(40.0, 75.0, churn_pct).unwrap();
        let plain = customer_lifetime_value(&method, None).unwrap();
        with_churn_based_interval(plain, &method, &evidence)
    }

    #[test]
    fn counts_carry_the_wilson_bounds_in_reverse() {
        let level = Confidence::default();
        let evidence = ChurnBasedEvidence::new(Some((5, 200)), None, level).unwrap();
        let a = answer(2.5, evidence);
        let i = a.kpi.interval.unwrap();
        let churn = wilson(5, 200, level);
        assert!((i.lower - 30.0 / (churn.upper / 100.0)).abs() < 1e-9);
        assert!((i.upper - 30.0 / (churn.lower / 100.0)).abs() < 1e-9);
        assert!(i.lower < a.kpi.value && a.kpi.value < i.upper);
    }

    #[test]
    fn the_delta_method_adds_both_variances() {
        // ARPU 40, m 0.75, c 0.025 (5 of 200), s = 20 over 400 customers:
        // (0.75 / 0.025)² × 20² / 400 + (40 × 0.75 / 0.025²)² × 0.025 × 0.975 / 200
        // = 900 + 280800.
        let level = Confidence::default();
        let evidence = ChurnBasedEvidence::new(Some((5, 200)), Some((20.0, 400)), level).unwrap();
        let i = answer(2.5, evidence).kpi.interval.unwrap();
        let se = (900.0f64 + 280_800.0).sqrt();
        assert!((i.standard_error.unwrap() - se).abs() < 1e-6);
    }

    #[test]
    fn impossible_evidence_is_refused_naming_the_field() {
        let level = Confidence::default();
        let pointer = |c, s| ChurnBasedEvidence::new(c, s, level).unwrap_err().pointer;
        assert_eq!(pointer(Some((0, 10)), None), "/churned_customers");
        assert_eq!(pointer(Some((11, 10)), None), "/churned_customers");
        assert_eq!(pointer(Some((1, 0)), None), "/start_customers");
        assert_eq!(pointer(None, Some((-1.0, 5))), "/arpu_standard_deviation");
        assert_eq!(pointer(None, Some((1.0, 0))), "/arpu_customers");
    }
}
