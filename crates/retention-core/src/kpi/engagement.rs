//! Customer engagement score and loyalty / education participation and repeat purchase rates
//! (docs/formulas.md § 6).

use serde::Serialize;

use super::breakdown::{num, Breakdown, Kpi, Unit};
use super::confidence::{with_wilson, Confidence};
use super::error::{finite_result, InvalidInput};
use crate::input::NonNegative;

/// Most components one engagement score combines.
pub const MAX_COMPONENTS: usize = 100;

/// How one component is measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// `participants` of `total` take part (normalised value = participants / total).
    Rate { participants: u64, total: u64 },
    /// A raw measure normalised as `(value − min) / (max − min)`, or `1 − that` when lower is
    /// better.
    Scaled {
        value: f64,
        min: f64,
        max: f64,
        higher_is_better: bool,
    },
}

/// One checked component of an engagement score.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: String,
    pub measure: Measure,
    /// The weight as given (normalised by the score).
    pub weight: f64,
}

impl Component {
    /// Refuses a rate over an empty or smaller total, a measure outside `[min, max]` or with
    /// `max <= min`, and a negative weight. `pointer` is where the component sits in the body.
    pub fn new(
        pointer: &str,
        name: String,
        measure: Measure,
        weight: f64,
    ) -> Result<Self, InvalidInput> {
        let refuse = |field: &str, reason: &str, detail: String| {
            Err(InvalidInput::new(
                format!("{pointer}/{field}"),
                reason,
                detail,
            ))
        };
        match &measure {
            Measure::Rate {
                participants,
                total,
            } => {
                if *total == 0 {
                    return refuse(
                        "total",
                        "must be greater than zero",
                        format!("component {name}: total is 0, so no share can be taken of it"),
                    );
                }
                if participants > total {
                    return refuse("participants", "must not exceed total", format!("component {name}: {participants} participants of {total} is more than all of them"));
                }
            }
            Measure::Scaled {
                value, min, max, ..
            } => {
                if max <= min || max.is_nan() || min.is_nan() || !(max - min).is_finite() {
                    return refuse(
                        "max",
                        "must be greater than min",
                        format!(
                            "component {name}: max ({}) must be greater than min ({})",
                            num(*max),
                            num(*min)
                        ),
                    );
                }
                if value < min || value > max {
                    return refuse(
                        "value",
                        "must lie between min and max",
                        format!(
                            "component {name}: value {} lies outside its range {} to {}",
                            num(*value),
                            num(*min),
                            num(*max)
                        ),
                    );
                }
            }
        }
        if NonNegative::new(weight).is_none() {
            return refuse(
                "weight",
                "must not be negative",
                format!("component {name}: weight {weight} is negative"),
            );
        }
        Ok(Self {
            name,
            measure,
            weight,
        })
    }

    /// The component's value on 0–1.
    pub fn normalized(&self) -> f64 {
        match self.measure {
            Measure::Rate {
                participants,
                total,
            } => participants as f64 / total as f64,
            Measure::Scaled {
                value,
                min,
                max,
                higher_is_better,
            } => {
                let x = ((value - min) / (max - min)).clamp(0.0, 1.0);
                if higher_is_better {
                    x
                } else {
                    1.0 - x
                }
            }
        }
    }

    fn normalisation(&self) -> String {
        match self.measure {
            Measure::Rate {
                participants,
                total,
            } => format!("{participants} / {total}"),
            Measure::Scaled {
                value,
                min,
                max,
                higher_is_better,
            } => {
                let scaled = format!(
                    "({} - {}) / ({} - {})",
                    num(value),
                    num(min),
                    num(max),
                    num(min)
                );
                if higher_is_better {
                    scaled
                } else {
                    format!("1 - {scaled}")
                }
            }
        }
    }
}

/// Components checked together: at least one, at most [`MAX_COMPONENTS`], weights summing
/// to more than zero.
#[derive(Debug, Clone, PartialEq)]
pub struct EngagementInputs {
    components: Vec<Component>,
}

impl EngagementInputs {
    pub fn new(components: Vec<Component>) -> Result<Self, InvalidInput> {
        if components.is_empty() || components.len() > MAX_COMPONENTS {
            return Err(InvalidInput::new(
                "/components",
                format!("must hold 1 to {MAX_COMPONENTS} components"),
                format!(
                    "an engagement score combines 1 to {MAX_COMPONENTS} components; {} given",
                    components.len()
                ),
            ));
        }
        let largest = components.iter().fold(0.0f64, |m, c| m.max(c.weight));
        if largest <= 0.0 || !largest.is_finite() {
            return Err(InvalidInput::new(
                "/components/0/weight",
                "weights must sum to more than zero",
                "every weight is 0: give at least one component a weight",
            ));
        }
        Ok(Self { components })
    }

    /// The weights normalised to sum to 1, each divided by the largest first so that the sum
    /// cannot overflow (weights of 1e308 are as valid as weights of 1).
    fn normalised_weights(&self) -> Vec<f64> {
        let largest = self.components.iter().fold(0.0f64, |m, c| m.max(c.weight));
        let scaled: Vec<f64> = self.components.iter().map(|c| c.weight / largest).collect();
        let total: f64 = scaled.iter().sum();
        scaled.iter().map(|w| w / total).collect()
    }
}

/// One component's part in the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentContribution {
    pub name: String,
    /// The component on 0–1.
    pub normalized: f64,
    /// The weight after normalising the weights to sum to 1.
    pub weight: f64,
    /// normalized × weight × 100: points this component adds to the 0–100 score.
    pub contribution: f64,
    /// This component's share of the score, in percent (0 when the score is 0).
    pub share_pct: f64,
}

/// The engagement answer: the score and each component's part.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EngagementReport {
    #[serde(flatten)]
    pub kpi: Kpi,
    pub components: Vec<ComponentContribution>,
}

/// Customer engagement score on 0–100.
///
/// # Formula
///
/// ```text
/// score          = Σ w_i × x_i × 100 / Σ w_i
/// x_i            = participants / total                  (a rate)
///                = (value − min) / (max − min)           (a measure, higher is better)
///                = 1 − (value − min) / (max − min)       (a measure, lower is better)
/// contribution_i = x_i × w_i / Σ w × 100
/// share_i (%)    = contribution_i / score × 100           (0 when the score is 0)
/// ```
///
/// where x_i is component i normalised to 0–1 and w_i its weight (the weights are normalised
/// to sum to 1). Unit: score on 0–100 (100: every component at its best). Source:
/// docs/formulas.md § 6 (the source articles' "normalise, weight, sum" with each component's
/// share in the breakdown).
pub fn engagement_score(inputs: &EngagementInputs) -> Result<EngagementReport, InvalidInput> {
    let weights = inputs.normalised_weights();
    let mut breakdown = Breakdown::new("score = Σ w_i × x_i × 100 / Σ w_i", "");
    let mut parts = Vec::with_capacity(inputs.components.len());
    let mut terms = Vec::with_capacity(inputs.components.len());
    for (component, &w) in inputs.components.iter().zip(&weights) {
        let x = component.normalized();
        let contribution = x * w * 100.0;
        breakdown = breakdown
            .input(format!("x[{}]", component.name), x)
            .input(format!("w[{}]", component.name), w)
            .step(
                format!("{} normalised", component.name),
                component.normalisation(),
                x,
            )
            .step(
                format!("{} contribution", component.name),
                format!("{} × {} × 100", num(x), num(w)),
                contribution,
            );
        terms.push(format!("{} × {}", num(w), num(x)));
        parts.push(ComponentContribution {
            name: component.name.clone(),
            normalized: x,
            weight: w,
            contribution,
            share_pct: 0.0,
        });
    }
    let score = finite_result(
        "engagement score",
        parts.iter().map(|p| p.contribution).sum(),
    )?;
    for part in &mut parts {
        part.share_pct = if score > 0.0 {
            part.contribution / score * 100.0
        } else {
            0.0
        };
    }
    breakdown.substitution = format!("({}) × 100", terms.join(" + ")).into();
    breakdown = breakdown.step("engagement score", "sum of contributions", score);
    let mut kpi = Kpi::new("engagement_score", score, Unit::Score, breakdown)
        .note("On 0–100: 100 means every component at its best.");
    let total_weight: f64 = inputs.components.iter().map(|c| c.weight).sum();
    if !total_weight.is_finite() {
        kpi = kpi.note("Weights were normalised to sum to 1.");
    } else if (total_weight - 1.0).abs() > 1e-9 {
        kpi = kpi.note(format!(
            "Weights summed to {}; they were normalised to sum to 1.",
            num(total_weight)
        ));
    }
    Ok(EngagementReport {
        kpi,
        components: parts,
    })
}

/// A share `part / whole × 100` checked to be possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    part: u64,
    whole: u64,
}

impl Share {
    /// Refuses `whole = 0` and `part > whole`, naming the fields.
    pub fn new(
        part_field: &str,
        part: u64,
        whole_field: &str,
        whole: u64,
    ) -> Result<Self, InvalidInput> {
        if whole == 0 {
            return Err(InvalidInput::new(
                format!("/{whole_field}"),
                "must be greater than zero",
                format!("{whole_field} is 0: {part_field} cannot be a share of nobody"),
            ));
        }
        if part > whole {
            return Err(InvalidInput::new(
                format!("/{part_field}"),
                format!("must not exceed {whole_field}"),
                format!("{part_field} ({part}) exceeds {whole_field} ({whole})"),
            ));
        }
        Ok(Self { part, whole })
    }
}

fn rate(
    metric: &'static str,
    formula: &'static str,
    (p, w): (&'static str, &'static str),
    share: Share,
    confidence: Confidence,
) -> Kpi {
    let value = share.part as f64 / share.whole as f64 * 100.0;
    let kpi = Kpi::new(
        metric,
        value,
        Unit::Percent,
        Breakdown::new(formula, format!("{} / {} × 100", share.part, share.whole))
            .input(p, share.part)
            .input(w, share.whole)
            .step(
                metric,
                format!("{} / {} × 100", share.part, share.whole),
                value,
            ),
    );
    with_wilson(kpi, share.part, share.whole, confidence)
}

/// Loyalty programme participation rate.
///
/// # Formula
///
/// ```text
/// loyalty programme participation (%) = M / C × 100
/// ```
///
/// where M is the active loyalty members and C the customers. Unit: percent. Source:
/// docs/formulas.md § 6; with the Wilson score interval at `confidence` (§ 13).
pub fn loyalty_participation_rate(share: Share, confidence: Confidence) -> Kpi {
    rate("loyalty_participation_rate", "loyalty participation = M / C × 100", ("M", "C"), share, confidence)
        .note("Loyal customers are often quoted as spending about 67 % more than new ones (context only).")
}

/// Education (training) participation rate.
///
/// # Formula
///
/// ```text
/// education participation (%) = T / C × 100
/// ```
///
/// where T is the customers in training and C the customers. Unit: percent. Source:
/// docs/formulas.md § 6; with the Wilson score interval at `confidence` (§ 13).
pub fn education_participation_rate(share: Share, confidence: Confidence) -> Kpi {
    rate(
        "education_participation_rate",
        "education participation = T / C × 100",
        ("T", "C"),
        share,
        confidence,
    )
}

/// Repeat purchase rate.
///
/// # Formula
///
/// ```text
/// repeat purchase rate (%) = R / B × 100
/// ```
///
/// where R is the customers with two or more purchases and B the customers with at least one.
/// Unit: percent. Source: docs/formulas.md § 6; with the Wilson score interval at `confidence` (§ 13).
pub fn repeat_purchase_rate(share: Share, confidence: Confidence) -> Kpi {
    rate(
        "repeat_purchase_rate",
        "repeat purchase rate = R / B × 100",
        ("R", "B"),
        share,
        confidence,
    )
}

/// The loyalty metrics that the inputs allow.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoyaltyReport {
    /// `loyalty_participation_rate`, `education_participation_rate`, `repeat_purchase_rate`:
    /// those whose inputs were given.
    pub metrics: Vec<Kpi>,
}

fn share(
    part: (&str, Option<u64>),
    whole: (&str, Option<u64>),
) -> Result<Option<Share>, InvalidInput> {
    match (part.1, whole.1) {
        (None, _) => Ok(None),
        (Some(_), None) => Err(InvalidInput::new(
            format!("/{}", whole.0),
            format!("required with {}", part.0),
            format!(
                "{} was given without {}, the count it is a share of",
                part.0, whole.0
            ),
        )),
        (Some(p), Some(w)) => Share::new(part.0, p, whole.0, w).map(Some),
    }
}

/// The loyalty metrics the given counts allow (the answer of `/loyalty`): loyalty-programme
/// participation `M / C × 100` with `customers` and `loyalty_members`, education participation
/// `T / C × 100` with `customers_in_training`, repeat purchase rate `R / B × 100` with
/// `purchasing_customers` and `repeat_customers`; each with its Wilson interval at `confidence`.
pub fn loyalty_report(
    customers: Option<u64>,
    loyalty_members: Option<u64>,
    customers_in_training: Option<u64>,
    purchasing_customers: Option<u64>,
    repeat_customers: Option<u64>,
    confidence: Confidence,
) -> Result<LoyaltyReport, InvalidInput> {
    let customers = ("customers", customers);
    let mut metrics = Vec::new();
    if let Some(s) = share(("loyalty_members", loyalty_members), customers)? {
        metrics.push(loyalty_participation_rate(s, confidence));
    }
    if let Some(s) = share(("customers_in_training", customers_in_training), customers)? {
        metrics.push(education_participation_rate(s, confidence));
    }
    let purchasing = ("purchasing_customers", purchasing_customers);
    if let Some(s) = share(("repeat_customers", repeat_customers), purchasing)? {
        metrics.push(repeat_purchase_rate(s, confidence));
    }
    if metrics.is_empty() {
        return Err(InvalidInput::new(
            "",
            "no metric can be computed",
            "give customers with loyalty_members or customers_in_training, or purchasing_customers with repeat_customers",
        ));
    }
    Ok(LoyaltyReport { metrics })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_normalised_and_contributions_sum_to_the_score() {
        let a = Component::new(
            "/components/0",
            "members".into(),
            Measure::Rate {
                participants: 30,
                total: 100,
            },
            2.0,
        )
        .unwrap();
        let b = Component::new(
            "/components/1",
            "logins".into(),
            Measure::Scaled {
                value: 5.0,
                min: 0.0,
                max: 10.0,
                higher_is_better: true,
            },
            2.0,
        )
        .unwrap();
        let report = engagement_score(&EngagementInputs::new(vec![a, b]).unwrap()).unwrap();
        // (0.5 × 0.3 + 0.5 × 0.5) × 100 = 40
        assert!((report.kpi.value - 40.0).abs() < 1e-12);
        assert!((report.components[0].share_pct - 37.5).abs() < 1e-12);
    }

    #[test]
    fn huge_weights_are_normalised_without_overflow() {
        let component = |i: usize, w: f64| {
            Component::new(
                &format!("/components/{i}"),
                format!("c{i}"),
                Measure::Rate {
                    participants: 30,
                    total: 100,
                },
                w,
            )
            .unwrap()
        };
        let inputs = EngagementInputs::new(vec![component(0, 1e308), component(1, 1e308)]);
        let report = engagement_score(&inputs.unwrap()).unwrap();
        assert!((report.kpi.value - 30.0).abs() < 1e-12);
        assert!((report.components[0].weight - 0.5).abs() < 1e-15);
    }

    #[test]
    fn a_measure_out_of_its_range_is_refused() {
        let err = Component::new(
            "/components/3",
            "x".into(),
            Measure::Scaled {
                value: 11.0,
                min: 0.0,
                max: 10.0,
                higher_is_better: true,
            },
            1.0,
        )
        .unwrap_err();
        assert_eq!(err.pointer, "/components/3/value");
    }
}
