//! Revenue (MRR) churn, negative churn, gross and net revenue retention, quick ratio
//! (docs/formulas.md § 3).

use serde::Serialize;

use super::breakdown::{num, Breakdown, Kpi, Unit};
use super::error::{finite_result, non_negative, InvalidInput};

/// One period's MRR movements, checked to be possible. All amounts in the caller's currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MrrMovements {
    pub start: f64,
    pub new: f64,
    pub expansion: f64,
    pub contraction: f64,
    pub churned: f64,
    pub reactivation: f64,
}

impl MrrMovements {
    /// Refuses negative amounts, a start MRR of 0 (every rate divides by it), and losses
    /// (churned + contraction) larger than the MRR the period started with.
    pub fn new(
        start: f64,
        new: f64,
        expansion: f64,
        contraction: f64,
        churned: f64,
        reactivation: f64,
    ) -> Result<Self, InvalidInput> {
        let movements = Self {
            start: non_negative("start_mrr", start)?,
            new: non_negative("new_mrr", new)?,
            expansion: non_negative("expansion_mrr", expansion)?,
            contraction: non_negative("contraction_mrr", contraction)?,
            churned: non_negative("churned_mrr", churned)?,
            reactivation: non_negative("reactivation_mrr", reactivation)?,
        };
        if start == 0.0 {
            return Err(InvalidInput::new(
                "/start_mrr",
                "must be greater than zero",
                "start_mrr is 0: revenue churn and retention are shares of the MRR at the start of the period",
            ));
        }
        // A relative slack of 1e-12 lets sums of many amounts (a period series) through
        // despite rounding; anything larger is a real excess.
        if churned + contraction > start * (1.0 + 1e-12) {
            return Err(InvalidInput::new(
                "/churned_mrr",
                "churned_mrr plus contraction_mrr must not exceed start_mrr",
                format!(
                    "churned_mrr ({}) plus contraction_mrr ({}) exceeds start_mrr ({}): a period cannot lose more MRR than its customers paid at its start",
                    num(churned), num(contraction), num(start)
                ),
            ));
        }
        finite_result("end MRR", start + new + expansion + reactivation)?;
        Ok(movements)
    }

    /// MRR lost from the customers of the start: churned + contraction, at most the start MRR.
    /// `new` accepts losses up to `start × (1 + 1e-12)` (rounding in sums of amounts); within
    /// that slack the sum is clamped to `start`, so that gross churn stays at most 100 % and
    /// GRR at least 0 %.
    pub fn lost(&self) -> f64 {
        (self.churned + self.contraction).min(self.start)
    }
}

/// The revenue-churn answer: the metrics, and whether the period had negative churn.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevenueChurnReport {
    /// True when net MRR churn is below 0: expansion and reactivation outweigh the losses.
    pub negative_churn: bool,
    /// `gross_mrr_churn`, `net_mrr_churn`, `grr`, `nrr`, `quick_ratio` (absent when nothing
    /// was lost) and `end_mrr`, each with its breakdown.
    pub metrics: Vec<Kpi>,
    /// Gross and net MRR churn under the vendors' conventions asked for; absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conventions: Vec<super::conventions::RevenueConvention>,
}

fn inputs(b: Breakdown, m: &MrrMovements, letters: &[&'static str]) -> Breakdown {
    letters.iter().fold(b, |b, &letter| {
        let value = match letter {
            "S" => m.start,
            "N" => m.new,
            "X" => m.expansion,
            "C" => m.contraction,
            "L" => m.churned,
            _ => m.reactivation,
        };
        b.input(letter, value)
    })
}

/// Gross MRR churn: the share of the starting MRR lost.
///
/// # Formula
///
/// ```text
/// gross MRR churn (%) = (L + C) / S × 100
/// ```
///
/// where S is the MRR at the start of the period, L the MRR churned (cancellations) and C the
/// contraction (downgrades). Unit: percent. Source: docs/formulas.md § 3 (100,000 at the
/// start, 5,000 churned → 5 %).
pub fn gross_mrr_churn(m: &MrrMovements) -> Kpi {
    let value = m.lost() / m.start * 100.0;
    let b = Breakdown::new(
        "gross MRR churn = (L + C) / S × 100",
        format!(
            "({} + {}) / {} × 100",
            num(m.churned),
            num(m.contraction),
            num(m.start)
        ),
    );
    let b = inputs(b, m, &["S", "L", "C"])
        .step("MRR lost", "L + C", m.lost())
        .step(
            "gross MRR churn",
            format!("{} / {} × 100", num(m.lost()), num(m.start)),
            value,
        );
    Kpi::new("gross_mrr_churn", value, Unit::Percent, b)
}

/// Net MRR churn: losses less expansion and reactivation, as a share of the starting MRR.
///
/// # Formula
///
/// ```text
/// net MRR churn (%) = (L + C − X − R) / S × 100
/// ```
///
/// where S is the MRR at the start of the period, L the MRR churned (cancellations), C the
/// contraction (downgrades), X the expansion (upgrades) and R the reactivation MRR. Below 0 is
/// negative churn. Unit: percent. Source: docs/formulas.md § 3.
pub fn net_mrr_churn(m: &MrrMovements) -> Kpi {
    let net = m.lost() - m.expansion - m.reactivation;
    let value = net / m.start * 100.0;
    let b = Breakdown::new(
        "net MRR churn = (L + C - X - R) / S × 100",
        format!(
            "({} + {} - {} - {}) / {} × 100",
            num(m.churned),
            num(m.contraction),
            num(m.expansion),
            num(m.reactivation),
            num(m.start)
        ),
    );
    let b = inputs(b, m, &["S", "L", "C", "X", "R"])
        .step("net MRR lost", "L + C - X - R", net)
        .step(
            "net MRR churn",
            format!("{} / {} × 100", num(net), num(m.start)),
            value,
        );
    let kpi = Kpi::new("net_mrr_churn", value, Unit::Percent, b);
    if value < 0.0 {
        kpi.note("Negative churn: expansion and reactivation from existing customers outweigh the MRR lost.")
    } else {
        kpi
    }
}

/// Gross revenue retention.
///
/// # Formula
///
/// ```text
/// GRR (%) = (S − L − C) / S × 100
/// ```
///
/// where S is the MRR at the start of the period, L the MRR churned and C the contraction;
/// at most 100, as expansion does not count. Unit: percent. Source: docs/formulas.md § 3
/// (subscription-analytics convention).
pub fn gross_revenue_retention(m: &MrrMovements) -> Kpi {
    let kept = m.start - m.lost();
    let value = kept / m.start * 100.0;
    let b = Breakdown::new(
        "GRR = (S - L - C) / S × 100",
        format!(
            "({} - {} - {}) / {} × 100",
            num(m.start),
            num(m.churned),
            num(m.contraction),
            num(m.start)
        ),
    );
    let b = inputs(b, m, &["S", "L", "C"])
        .step("MRR kept", "S - L - C", kept)
        .step(
            "GRR",
            format!("{} / {} × 100", num(kept), num(m.start)),
            value,
        );
    Kpi::new("grr", value, Unit::Percent, b)
}

/// Net revenue retention.
///
/// # Formula
///
/// ```text
/// NRR (%) = (S − L − C + X) / S × 100
/// ```
///
/// where S is the MRR at the start of the period, L the MRR churned, C the contraction and X
/// the expansion; NRR − GRR is the expansion share X / S × 100. Reactivation does not count.
/// Unit: percent. Source: docs/formulas.md § 3 (subscription-analytics convention).
pub fn net_revenue_retention(m: &MrrMovements) -> Kpi {
    let kept = m.start - m.lost() + m.expansion;
    let value = kept / m.start * 100.0;
    let b = Breakdown::new(
        "NRR = (S - L - C + X) / S × 100",
        format!(
            "({} - {} - {} + {}) / {} × 100",
            num(m.start),
            num(m.churned),
            num(m.contraction),
            num(m.expansion),
            num(m.start)
        ),
    );
    let b = inputs(b, m, &["S", "L", "C", "X"])
        .step("MRR kept with expansion", "S - L - C + X", kept)
        .step(
            "NRR",
            format!("{} / {} × 100", num(kept), num(m.start)),
            value,
        );
    Kpi::new("nrr", value, Unit::Percent, b)
}

/// The SaaS quick ratio: MRR gained per unit of MRR lost.
///
/// # Formula
///
/// ```text
/// quick ratio = (N + X + R) / (L + C)
/// ```
///
/// where S is the MRR at the start of the period, L the MRR churned (cancellations) and C the
/// contraction (downgrades), X the expansion (upgrades) and R the reactivation MRR, N the new
/// MRR. `None` when nothing was lost (it would be infinite). Unit: ratio. Source:
/// docs/formulas.md § 3 (subscription-analytics convention).
pub fn quick_ratio(m: &MrrMovements) -> Option<Kpi> {
    if m.lost() == 0.0 {
        return None;
    }
    let gained = m.new + m.expansion + m.reactivation;
    let value = gained / m.lost();
    let b = Breakdown::new(
        "quick ratio = (N + X + R) / (L + C)",
        format!(
            "({} + {} + {}) / ({} + {})",
            num(m.new),
            num(m.expansion),
            num(m.reactivation),
            num(m.churned),
            num(m.contraction)
        ),
    );
    let b = inputs(b, m, &["N", "X", "R", "L", "C"])
        .step("MRR gained", "N + X + R", gained)
        .step("MRR lost", "L + C", m.lost())
        .step(
            "quick ratio",
            format!("{} / {}", num(gained), num(m.lost())),
            value,
        );
    Some(Kpi::new("quick_ratio", value, Unit::Ratio, b))
}

/// The MRR at the end of the period.
///
/// # Formula
///
/// ```text
/// end MRR = S + N + X + R − C − L
/// ```
///
/// where S is the MRR at the start of the period, L the MRR churned (cancellations) and C the
/// contraction (downgrades), X the expansion (upgrades) and R the reactivation MRR, N the new
/// MRR. Unit: currency. Source: docs/formulas.md § 3.
pub fn end_mrr(m: &MrrMovements) -> Kpi {
    let value = m.start + m.new + m.expansion + m.reactivation - m.contraction - m.churned;
    let b = Breakdown::new(
        "end MRR = S + N + X + R - C - L",
        format!(
            "{} + {} + {} + {} - {} - {}",
            num(m.start),
            num(m.new),
            num(m.expansion),
            num(m.reactivation),
            num(m.contraction),
            num(m.churned)
        ),
    );
    let b = inputs(b, m, &["S", "N", "X", "R", "C", "L"]).step(
        "end MRR",
        "S + N + X + R - C - L",
        value,
    );
    Kpi::new("end_mrr", value, Unit::Currency, b)
}

/// Why the revenue rates carry no interval.
const CENSUS: &str = "A census of the MRR of the whole base, not an estimate from a sample: no confidence interval applies.";

/// Every revenue metric of the period.
///
/// # Formula
///
/// ```text
/// gross MRR churn (%) = (L + C) / S × 100
/// net MRR churn (%)   = (L + C − X − R) / S × 100      (negative_churn when below 0)
/// GRR (%)             = (S − L − C) / S × 100
/// NRR (%)             = (S − L − C + X) / S × 100
/// quick ratio         = (N + X + R) / (L + C)          (left out when L + C = 0)
/// end MRR             = S + N + X + R − C − L
/// ```
///
/// where S is the MRR at the start of the period, L the MRR churned (cancellations) and C the
/// contraction (downgrades), X the expansion (upgrades) and R the reactivation MRR, N the new
/// MRR; L + C is at most S. Units: percent; the quick ratio a ratio; end MRR currency.
/// Source: docs/formulas.md § 3. The rates are ratios of sums over the whole base (a census),
/// not estimates from a sample, and carry no interval; each says so in its notes.
pub fn revenue_churn_report(m: &MrrMovements) -> RevenueChurnReport {
    let net = net_mrr_churn(m);
    let negative_churn = net.value < 0.0;
    let mut metrics = vec![
        gross_mrr_churn(m),
        net,
        gross_revenue_retention(m),
        net_revenue_retention(m),
    ];
    for kpi in &mut metrics {
        kpi.context.notes.push(CENSUS.into());
    }
    metrics.extend(quick_ratio(m));
    metrics.push(end_mrr(m));
    RevenueChurnReport {
        negative_churn,
        metrics,
        conventions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_of_formulas_md() {
        // Starting MRR 100,000; 5,000 lost to cancellations → revenue churn 5 %.
        let m = MrrMovements::new(100_000.0, 0.0, 0.0, 0.0, 5_000.0, 0.0).unwrap();
        assert!((gross_mrr_churn(&m).value - 5.0).abs() < 1e-12);
        assert!((gross_revenue_retention(&m).value - 95.0).abs() < 1e-12);
    }

    #[test]
    fn losses_equal_to_the_start_up_to_rounding_stay_in_range() {
        // 0.1 + 0.2 is one ulp above 0.3: accepted as equal, and every rate in its range.
        let m = MrrMovements::new(0.3, 0.0, 0.0, 0.2, 0.1, 0.0).unwrap();
        assert_eq!(gross_mrr_churn(&m).value, 100.0);
        assert_eq!(gross_revenue_retention(&m).value, 0.0);
        assert_eq!(net_revenue_retention(&m).value, 0.0);
        assert_eq!(net_mrr_churn(&m).value, 100.0);
        // Beyond the stated relative slack of 1e-12 it is a real excess.
        assert!(MrrMovements::new(0.3, 0.0, 0.0, 0.2, 0.1 + 1e-12, 0.0).is_err());
    }

    #[test]
    fn losses_over_start_are_refused() {
        let err = MrrMovements::new(100.0, 0.0, 0.0, 60.0, 50.0, 0.0).unwrap_err();
        assert_eq!(err.pointer, "/churned_mrr");
        let err = MrrMovements::new(0.0, 10.0, 0.0, 0.0, 0.0, 0.0).unwrap_err();
        assert_eq!(err.pointer, "/start_mrr");
    }
}
