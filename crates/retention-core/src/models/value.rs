//! Predicted customer lifetime value from a purchase model and Gamma-Gamma, and the lists a
//! retention team works from: value tiers and customers at risk.

/// Expected purchases of one customer in (T, T + t], from either purchase model.
pub trait PurchasePredictor {
    fn p_alive(&self, x: f64, tx: f64, t: f64) -> Option<f64>;
    fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> Option<f64>;
}

impl PurchasePredictor for super::bgnbd::BgNbd {
    fn p_alive(&self, x: f64, tx: f64, t: f64) -> Option<f64> {
        Some(super::bgnbd::BgNbd::p_alive(self, x, tx, t))
    }
    fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        super::bgnbd::BgNbd::expected_purchases(self, horizon, x, tx, t)
    }
}

impl PurchasePredictor for super::pareto_nbd::ParetoNbd {
    fn p_alive(&self, x: f64, tx: f64, t: f64) -> Option<f64> {
        super::pareto_nbd::ParetoNbd::p_alive(self, x, tx, t)
    }
    fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        super::pareto_nbd::ParetoNbd::expected_purchases(self, horizon, x, tx, t)
    }
}

impl PurchasePredictor for super::mbgnbd::MbgNbd {
    fn p_alive(&self, x: f64, tx: f64, t: f64) -> Option<f64> {
        Some(super::mbgnbd::MbgNbd::p_alive(self, x, tx, t))
    }
    fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        super::mbgnbd::MbgNbd::expected_purchases(self, horizon, x, tx, t)
    }
}

/// BG/BB with T = n, the periods observed, and the horizon in whole periods.
impl PurchasePredictor for super::bgbb::BgBb {
    fn p_alive(&self, x: f64, tx: f64, t: f64) -> Option<f64> {
        Some(super::bgbb::BgBb::p_alive(self, x, tx, t))
    }
    fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> Option<f64> {
        super::bgbb::BgBb::expected_purchases(self, horizon, x, tx, t)
    }
}

/// How future purchases turn into value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValuationTerms {
    /// Total horizon in the model's time unit.
    pub horizon: f64,
    /// Length of one discounting period in the model's time unit (e.g. 4.345 weeks a month).
    pub period_length: f64,
    /// Discount rate per period, as a fraction.
    pub discount: f64,
    /// Margin on spend, as a fraction.
    pub margin: f64,
}

impl ValuationTerms {
    /// The end of each discounting period, the last cut at the horizon.
    pub fn period_ends(&self) -> Vec<f64> {
        let periods = (self.horizon / self.period_length).ceil().max(1.0) as usize;
        (1..=periods)
            .map(|k| (k as f64 * self.period_length).min(self.horizon))
            .collect()
    }

    /// The value of `spend` in period `k` (0-based) today: `spend × margin / (1 + d)^(k+1)`.
    pub fn discounted(&self, spend: f64, k: usize) -> f64 {
        spend * self.margin / (1.0 + self.discount).powi(k as i32 + 1)
    }
}

/// One customer's predicted value.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerValue {
    pub p_alive: f64,
    pub expected_purchases: f64,
    pub expected_spend: f64,
    /// Σ_k (E[purchases in period k]) × spend × margin / (1 + d)^k.
    pub clv: f64,
    /// Expected purchases in each period (undiscounted), for the population breakdown.
    pub purchases_by_period: Vec<f64>,
}

/// # Formula
/// `CLV = Σ_{k=1..K} (E[Y(t_k)] − E[Y(t_{k−1})]) × E[M] × m / (1 + d)^k`: expected purchases
/// in each discounting period from the purchase model, expected spend `E[M]` from Gamma-Gamma,
/// margin m, discount rate d per period (lifetimes' `customer_lifetime_value` does the same).
pub fn customer_value<P: PurchasePredictor + ?Sized>(
    model: &P,
    terms: &ValuationTerms,
    (x, tx, t): (f64, f64, f64),
    expected_spend: f64,
) -> Option<CustomerValue> {
    let mut previous = 0.0;
    let mut clv = 0.0;
    let mut by_period = Vec::new();
    for (k, end) in terms.period_ends().into_iter().enumerate() {
        let cumulative = model.expected_purchases(end, x, tx, t)?;
        let purchases = (cumulative - previous).max(0.0);
        previous = cumulative;
        clv += terms.discounted(purchases * expected_spend, k);
        by_period.push(purchases);
    }
    let value = CustomerValue {
        p_alive: model.p_alive(x, tx, t)?,
        expected_purchases: previous,
        expected_spend,
        clv,
        purchases_by_period: by_period,
    };
    value.clv.is_finite().then_some(value)
}

/// A tier of customers ranked by predicted value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub name: String,
    /// Indices (into the input) of the tier's rows, highest value first.
    pub members: Vec<usize>,
    /// Customers in the tier (Σ of the rows' counts).
    pub customers: f64,
    /// Σ value × count.
    pub value: f64,
    pub share_pct: f64,
}

/// Ranks rows by value (ties by index) and cuts the ranking at the given cumulative customer
/// fractions, e.g. `[0.2, 0.8]` for top 20 % / middle 60 % / bottom 20 %; a row standing for
/// `weights[i]` customers falls in the tier holding the middle of its customers. Returns each
/// row's rank (1 = highest) and the tiers.
pub fn tiers(values: &[f64], weights: &[f64], cuts: &[f64]) -> (Vec<usize>, Vec<Tier>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[j].total_cmp(&values[i]).then(i.cmp(&j)));
    let mut rank = vec![0; values.len()];
    for (position, &i) in order.iter().enumerate() {
        rank[i] = position + 1;
    }
    let total_weight: f64 = weights.iter().sum();
    let total_value: f64 = values.iter().zip(weights).map(|(v, w)| v * w).sum();
    let names = tier_names(cuts.len() + 1);
    let mut tiers: Vec<Tier> = names
        .into_iter()
        .map(|name| Tier {
            name,
            members: Vec::new(),
            customers: 0.0,
            value: 0.0,
            share_pct: 0.0,
        })
        .collect();
    let mut before = 0.0;
    for &i in &order {
        let middle = (before + weights[i] / 2.0) / total_weight;
        before += weights[i];
        let k = cuts.iter().take_while(|&&c| middle >= c).count();
        let tier = &mut tiers[k];
        tier.members.push(i);
        tier.customers += weights[i];
        tier.value += values[i] * weights[i];
    }
    for tier in &mut tiers {
        tier.share_pct = if total_value > 0.0 {
            tier.value / total_value * 100.0
        } else {
            0.0
        };
    }
    (rank, tiers)
}

fn tier_names(count: usize) -> Vec<String> {
    match count {
        3 => vec!["top".into(), "middle".into(), "bottom".into()],
        2 => vec!["top".into(), "bottom".into()],
        _ => (1..=count).map(|k| format!("tier_{k}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_cut_the_ranking_and_share_the_value() {
        let values = [10.0, 50.0, 0.0, 30.0, 10.0];
        let (rank, tiers) = tiers(&values, &[1.0; 5], &[0.2, 0.8]);
        assert_eq!(rank, vec![3, 1, 5, 2, 4]);
        assert_eq!(tiers[0].members, vec![1]);
        assert_eq!(tiers[1].members, vec![3, 0, 4]);
        assert_eq!(tiers[2].members, vec![2]);
        assert!((tiers[0].share_pct - 50.0).abs() < 1e-12);
    }
}
