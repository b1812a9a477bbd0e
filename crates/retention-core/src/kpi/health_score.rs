//! The customer health score: per customer a 0–100 score from weighted, normalised signals,
//! banded, with each signal's contribution; the distribution over the bands; and the
//! customers whose band fell since a previous snapshot (docs/formulas.md § 14.3).

use serde::Serialize;

use super::error::InvalidInput;

/// Most signals a score combines.
pub const MAX_SIGNALS: usize = 32;
/// Most bands.
pub const MAX_BANDS: usize = 16;

/// One signal: how its raw values map onto 0–1 and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub name: String,
    /// Non-negative; the weights are shares of their sum.
    pub weight: f64,
    /// The raw value that normalises to 0 (or to 1 when lower is better) …
    pub min: f64,
    /// … and the one that normalises to 1 (or 0); values outside are clipped.
    pub max: f64,
    pub higher_is_better: bool,
}

/// A band of scores, `from` ≤ score < `to` (the top band includes 100).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Band {
    pub name: String,
    pub from: f64,
    pub to: f64,
}

/// The default bands: ≥ 80 champion, 60–80 healthy, 40–60 needs attention, < 40 at risk.
pub fn default_bands() -> Vec<Band> {
    [
        ("champion", 80.0, 100.0),
        ("healthy", 60.0, 80.0),
        ("needs attention", 40.0, 60.0),
        ("at risk", 0.0, 40.0),
    ]
    .into_iter()
    .map(|(name, from, to)| Band {
        name: name.to_owned(),
        from,
        to,
    })
    .collect()
}

/// Checks signals: at least one, at most [`MAX_SIGNALS`], distinct names, finite
/// non-negative weights with a positive sum, `min` below `max`.
pub fn check_signals(signals: &[Signal]) -> Result<(), InvalidInput> {
    if signals.is_empty() || signals.len() > MAX_SIGNALS {
        return Err(InvalidInput::new(
            "/signals",
            format!("1 to {MAX_SIGNALS} signals"),
            format!(
                "{} signals: a score combines 1 to {MAX_SIGNALS}",
                signals.len()
            ),
        ));
    }
    for (i, s) in signals.iter().enumerate() {
        if signals[..i].iter().any(|o| o.name == s.name) {
            return Err(InvalidInput::new(
                format!("/signals/{i}/name"),
                "a name not used before",
                format!("signals[{i}]: {:?} is named twice", s.name),
            ));
        }
        if !(s.weight.is_finite() && s.weight >= 0.0) {
            return Err(InvalidInput::new(
                format!("/signals/{i}/weight"),
                "a number of 0 or more",
                format!("signals[{i}] ({}): weight {} is negative or not finite; weights are shares of their sum", s.name, s.weight),
            ));
        }
        if !(s.min.is_finite() && s.max.is_finite() && s.min < s.max && (s.max - s.min).is_finite())
        {
            return Err(InvalidInput::new(
                format!("/signals/{i}/max"),
                "greater than min",
                format!(
                    "signals[{i}] ({}): min {} and max {} leave no range to normalise over",
                    s.name, s.min, s.max
                ),
            ));
        }
    }
    let total: f64 = signals.iter().map(|s| s.weight).sum();
    if !total.is_finite() {
        return Err(InvalidInput::new(
            "/signals/0/weight",
            "weights with a finite sum",
            "the weights add up past the largest number: give them on a smaller scale (only their shares matter)",
        ));
    }
    if total <= 0.0 {
        return Err(InvalidInput::new(
            "/signals/0/weight",
            "weights summing to more than 0",
            "every weight is 0: give at least one signal a weight",
        ));
    }
    Ok(())
}

/// Checks bands: 1 to [`MAX_BANDS`], each `from` < `to`, together covering 0–100 without a
/// gap or an overlap (in any order). Returns them from the top band down.
pub fn check_bands(bands: &[Band]) -> Result<Vec<Band>, InvalidInput> {
    if bands.is_empty() || bands.len() > MAX_BANDS {
        return Err(InvalidInput::new(
            "/bands",
            format!("1 to {MAX_BANDS} bands"),
            format!("{} bands: give 1 to {MAX_BANDS}", bands.len()),
        ));
    }
    for (i, b) in bands.iter().enumerate() {
        if bands[..i].iter().any(|o| o.name == b.name) {
            return Err(InvalidInput::new(
                format!("/bands/{i}/name"),
                "a name not used before",
                format!("bands[{i}]: {:?} names two bands", b.name),
            ));
        }
        if !(b.from.is_finite() && b.to.is_finite() && b.from < b.to) {
            return Err(InvalidInput::new(
                format!("/bands/{i}/to"),
                "greater than from",
                format!(
                    "bands[{i}] ({}): from {} to {} is empty",
                    b.name, b.from, b.to
                ),
            ));
        }
    }
    let mut order: Vec<usize> = (0..bands.len()).collect();
    order.sort_by(|&a, &b| bands[a].from.total_cmp(&bands[b].from));
    let lowest = &bands[order[0]];
    if lowest.from != 0.0 {
        return Err(InvalidInput::new(
            format!("/bands/{}/from", order[0]),
            "the lowest band starts at 0",
            format!(
                "the lowest band ({}) starts at {}: scores from 0 up would have no band",
                lowest.name, lowest.from
            ),
        ));
    }
    for pair in order.windows(2) {
        let (below, above) = (&bands[pair[0]], &bands[pair[1]]);
        if above.from < below.to {
            return Err(InvalidInput::new(
                format!("/bands/{}/from", pair[1]),
                "bands must not overlap",
                format!(
                    "bands {} ({}–{}) and {} ({}–{}) overlap: a score of {} would be in both",
                    below.name, below.from, below.to, above.name, above.from, above.to, above.from
                ),
            ));
        }
        if above.from > below.to {
            return Err(InvalidInput::new(
                format!("/bands/{}/from", pair[1]),
                "bands must leave no gap",
                format!(
                    "between {} (to {}) and {} (from {}) no band holds the scores",
                    below.name, below.to, above.name, above.from
                ),
            ));
        }
    }
    let highest = &bands[order[order.len() - 1]];
    if highest.to != 100.0 {
        return Err(InvalidInput::new(
            format!("/bands/{}/to", order[order.len() - 1]),
            "the highest band ends at 100",
            format!(
                "the highest band ({}) ends at {}: scores up to 100 would have no band",
                highest.name, highest.to
            ),
        ));
    }
    Ok(order.iter().rev().map(|&i| bands[i].clone()).collect())
}

/// The band of a score among bands from the top down (checked by [`check_bands`]).
fn band_of(score: f64, bands: &[Band]) -> &Band {
    bands
        .iter()
        .find(|b| score >= b.from)
        .unwrap_or(&bands[bands.len() - 1])
}

/// One signal's part in a customer's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contribution {
    pub signal: String,
    pub value: f64,
    /// (value − min) / (max − min), clipped to 0–1; 1 minus that when lower is better.
    pub normalised: f64,
    /// The signal's weight over the weights of the signals this customer has.
    pub weight_share: f64,
    /// 100 × weight_share × normalised: the points it adds to the score.
    pub points: f64,
    /// Whether the value was outside min–max and clipped.
    pub clipped: bool,
}

/// One customer's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerHealth {
    pub id: String,
    /// Σ points, 0–100.
    pub score: f64,
    pub band: String,
    pub contributions: Vec<Contribution>,
    /// Signals this customer has no value for; the weights of the others are rescaled.
    pub missing: Vec<String>,
}

/// How many customers a band holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandCount {
    pub band: String,
    pub from: f64,
    pub to: f64,
    pub customers: usize,
    pub share_pct: f64,
}

/// A customer now in a lower band than in the previous snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandDrop {
    pub id: String,
    pub previous_score: f64,
    pub previous_band: String,
    pub score: f64,
    pub band: String,
}

/// The answer of `/health`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    pub formula: String,
    pub customers: Vec<CustomerHealth>,
    /// The bands from the top down, with their counts.
    pub distribution: Vec<BandCount>,
    /// Customers whose band is lower than in `previous`, largest score drop first; empty
    /// without a previous snapshot.
    pub fallen: Vec<BandDrop>,
    pub notes: Vec<String>,
}

/// One customer's raw values, aligned with the signals (`None`: not measured).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSignals {
    pub id: String,
    pub values: Vec<Option<f64>>,
}

/// The health scores of `customers` (see the module and docs/formulas.md § 14.3).
///
/// # Formula
///
/// ```text
/// n_i     = clip((x_i − min_i) / (max_i − min_i), 0, 1)        (1 − that when lower is better)
/// score   = 100 × Σ_{i measured} w_i n_i / Σ_{i measured} w_i
/// band    = the band with from ≤ score < to (the top band includes 100)
/// ```
///
/// `previous`: (id, score) of an earlier snapshot, banded with the same bands; a customer in a
/// lower band now than then is listed in `fallen`.
pub fn health_scores(
    signals: &[Signal],
    bands: &[Band],
    customers: &[CustomerSignals],
    previous: &[(String, f64)],
) -> Result<HealthReport, InvalidInput> {
    check_signals(signals)?;
    let bands = check_bands(bands)?;
    if customers.is_empty() {
        return Err(InvalidInput::new(
            "/customers",
            "must not be empty",
            "no customer to score: customers is empty",
        ));
    }
    let mut scored = Vec::with_capacity(customers.len());
    for (c, customer) in customers.iter().enumerate() {
        let measured: f64 = signals
            .iter()
            .zip(&customer.values)
            .filter(|(_, v)| v.is_some())
            .map(|(s, _)| s.weight)
            .sum();
        if measured <= 0.0 {
            return Err(InvalidInput::new(
                format!("/customers/{c}/values"),
                "at least one weighted signal",
                format!(
                    "customer {} has no value for any signal with a weight",
                    customer.id
                ),
            ));
        }
        let mut contributions = Vec::new();
        let mut missing = Vec::new();
        for (signal, value) in signals.iter().zip(&customer.values) {
            let Some(value) = *value else {
                missing.push(signal.name.clone());
                continue;
            };
            if !value.is_finite() {
                return Err(InvalidInput::new(
                    format!("/customers/{c}/values/{}", signal.name),
                    "a finite number",
                    format!(
                        "customer {}: {} is not a finite number",
                        customer.id, signal.name
                    ),
                ));
            }
            let raw = (value - signal.min) / (signal.max - signal.min);
            let clipped = !(0.0..=1.0).contains(&raw);
            let position = raw.clamp(0.0, 1.0);
            let normalised = if signal.higher_is_better {
                position
            } else {
                1.0 - position
            };
            let weight_share = signal.weight / measured;
            contributions.push(Contribution {
                signal: signal.name.clone(),
                value,
                normalised,
                weight_share,
                points: 100.0 * weight_share * normalised,
                clipped,
            });
        }
        let score = contributions
            .iter()
            .map(|c| c.points)
            .sum::<f64>()
            .clamp(0.0, 100.0);
        // A sum of points can land a rounding error below a band's edge (3 × 20 as
        // 59.999999999999986): the band is read from the score rounded to 1e-9.
        let banded = (score * 1e9).round() / 1e9;
        scored.push(CustomerHealth {
            id: customer.id.clone(),
            score,
            band: band_of(banded, &bands).name.clone(),
            contributions,
            missing,
        });
    }
    let total = scored.len();
    let distribution = bands
        .iter()
        .map(|b| {
            let customers = scored.iter().filter(|c| c.band == b.name).count();
            BandCount {
                band: b.name.clone(),
                from: b.from,
                to: b.to,
                customers,
                share_pct: customers as f64 / total as f64 * 100.0,
            }
        })
        .collect();
    let rank = |name: &str| bands.iter().position(|b| b.name == name).unwrap_or(0);
    let mut notes = Vec::new();
    let mut fallen = Vec::new();
    let mut unmatched = 0;
    let by_id: std::collections::HashMap<&str, &CustomerHealth> =
        scored.iter().map(|c| (c.id.as_str(), c)).collect();
    for (i, (id, previous_score)) in previous.iter().enumerate() {
        if !(previous_score.is_finite() && (0.0..=100.0).contains(previous_score)) {
            return Err(InvalidInput::new(
                format!("/previous/{i}/score"),
                "a score from 0 to 100",
                format!(
                    "previous[{i}] ({id}): score {previous_score} is not a health score (0–100)"
                ),
            ));
        }
        match by_id.get(id.as_str()) {
            Some(now) => {
                let then = band_of(*previous_score, &bands);
                // Bands run from the top down: a larger index is a lower band.
                if rank(&now.band) > rank(&then.name) {
                    fallen.push(BandDrop {
                        id: id.clone(),
                        previous_score: *previous_score,
                        previous_band: then.name.clone(),
                        score: now.score,
                        band: now.band.clone(),
                    });
                }
            }
            None => unmatched += 1,
        }
    }
    fallen.sort_by(|a, b| {
        (b.previous_score - b.score)
            .total_cmp(&(a.previous_score - a.score))
            .then_with(|| a.id.cmp(&b.id))
    });
    if unmatched > 0 {
        notes.push(format!(
            "{unmatched} customers of the previous snapshot are not in this one and were not compared."
        ));
    }
    if scored.iter().any(|c| !c.missing.is_empty()) {
        notes.push(
            "A customer without a value for a signal is scored on the others, their weights rescaled to sum to 1 (listed in missing)."
                .to_owned(),
        );
    }
    Ok(HealthReport {
        formula: "score = 100 × Σ w_i n_i / Σ w_i over the measured signals, n_i = clip((x_i - min_i) / (max_i - min_i), 0, 1), or 1 - that when lower is better".to_owned(),
        customers: scored,
        distribution,
        fallen,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(name: &str, weight: f64, min: f64, max: f64, higher_is_better: bool) -> Signal {
        Signal {
            name: name.to_owned(),
            weight,
            min,
            max,
            higher_is_better,
        }
    }

    #[test]
    fn a_score_is_the_weighted_mean_of_the_normalised_signals_worked_example() {
        // § 14.3: usage 70 of 0–100 (weight 2), NPS answer 9 of 0–10 (weight 1), tickets 3 of
        // 0–10 with fewer better (weight 1): (2 × 0.7 + 1 × 0.9 + 1 × 0.7) / 4 × 100 = 75.
        let signals = [
            signal("usage", 2.0, 0.0, 100.0, true),
            signal("nps", 1.0, 0.0, 10.0, true),
            signal("tickets", 1.0, 0.0, 10.0, false),
        ];
        let customers = [CustomerSignals {
            id: "acme".to_owned(),
            values: vec![Some(70.0), Some(9.0), Some(3.0)],
        }];
        let report = health_scores(
            &signals,
            &default_bands(),
            &customers,
            &[("acme".to_owned(), 85.0)],
        )
        .unwrap();
        let acme = &report.customers[0];
        assert!((acme.score - 75.0).abs() < 1e-12);
        assert_eq!(acme.band, "healthy");
        assert!((acme.contributions[0].points - 35.0).abs() < 1e-12);
        assert_eq!(report.fallen[0].previous_band, "champion");
        assert_eq!(report.distribution[1].customers, 1);
    }

    #[test]
    fn overlapping_or_gapped_bands_and_negative_weights_are_refused() {
        let band = |name: &str, from: f64, to: f64| Band {
            name: name.to_owned(),
            from,
            to,
        };
        let overlap = [band("good", 50.0, 100.0), band("bad", 0.0, 60.0)];
        assert_eq!(check_bands(&overlap).unwrap_err().pointer, "/bands/0/from");
        let gap = [band("good", 70.0, 100.0), band("bad", 0.0, 60.0)];
        assert_eq!(
            check_bands(&gap).unwrap_err().reason,
            "bands must leave no gap"
        );
        let short = [band("all", 0.0, 90.0)];
        assert_eq!(check_bands(&short).unwrap_err().pointer, "/bands/0/to");
        let negative = [signal("usage", -1.0, 0.0, 1.0, true)];
        assert_eq!(
            check_signals(&negative).unwrap_err().pointer,
            "/signals/0/weight"
        );
    }
}
