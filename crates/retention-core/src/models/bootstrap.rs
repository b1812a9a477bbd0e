//! The parametric bootstrap of a purchase model's predictions (docs/formulas.md § 12.7): data
//! sets drawn from the fitted model with each customer's own observation length T, each refitted,
//! and every prediction's percentile interval over the refits. Reproducible from its seed: the
//! generator and the samplers are this file's own, so no dependency upgrade changes a stream.

use super::bgbb::BgBb;
use super::bgnbd::BgNbd;
use super::mbgnbd::MbgNbd;
use super::pareto_nbd::ParetoNbd;
use super::purchase::{ModelAt, PurchaseModel, PurchaseModelName};
use super::rfm::{CustomerSummary, GroupedRfm};
use crate::kpi::{Bounds, Confidence, InvalidInput};

/// Most bootstrap draws one request may ask for.
pub const MAX_DRAWS: usize = 1000;
/// Most simulated customers over all draws (customers × draws): bounds the time, and the
/// memory of the per-row predictions kept for the percentiles (at most 16 bytes × 5,000,000).
pub const MAX_SIMULATED: f64 = 5_000_000.0;
/// Most simulated customer-periods of a BG/BB bootstrap (Σ count × n × draws).
pub const MAX_SIMULATED_PERIODS: f64 = 50_000_000.0;

/// SplitMix64 (Steele, Lea & Flood 2014): a small, well-mixed 64-bit generator whose stream is
/// fixed by this code.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1): 53 random bits, centred in their cell.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, one of the pair).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Gamma(shape, 1): Marsaglia & Tsang (2000), with the U^(1/shape) boost below 1.
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            return self.gamma(shape + 1.0) * self.uniform().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v > 0.0 && self.uniform().ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        x / (x + self.gamma(b))
    }

    pub fn exponential(&mut self, rate: f64) -> f64 {
        -self.uniform().ln() / rate
    }
}

/// One customer's repeat purchases over (0, T] drawn from a fitted model: (x, t_x). Every
/// purchase model is one ([`PurchaseModel`] requires it), so the bootstrap draws from the model
/// built at the fit's parameters.
pub trait Simulate {
    fn simulate(&self, rng: &mut SplitMix64, t: f64) -> (f64, f64);
}

impl Simulate for BgNbd {
    /// Purchases at rate λ ~ Gamma(r, α); after each, the customer leaves with probability
    /// p ~ Beta(a, b).
    fn simulate(&self, rng: &mut SplitMix64, t: f64) -> (f64, f64) {
        let lambda = rng.gamma(self.r) / self.alpha;
        let p = rng.beta(self.a, self.b);
        purchases_until_dropout(rng, lambda, p, t)
    }
}

/// Purchases at rate `lambda` over (0, t], the customer leaving with probability `p` after
/// each: (x, t_x).
fn purchases_until_dropout(rng: &mut SplitMix64, lambda: f64, p: f64, t: f64) -> (f64, f64) {
    let (mut now, mut x, mut last) = (0.0, 0.0, 0.0);
    loop {
        now += rng.exponential(lambda);
        if now > t {
            return (x, last);
        }
        x += 1.0;
        last = now;
        if rng.uniform() < p {
            return (x, last);
        }
    }
}

impl Simulate for MbgNbd {
    /// As BG/NBD, with one more chance to leave right after the first purchase.
    fn simulate(&self, rng: &mut SplitMix64, t: f64) -> (f64, f64) {
        let lambda = rng.gamma(self.r) / self.alpha;
        let p = rng.beta(self.a, self.b);
        if rng.uniform() < p {
            return (0.0, 0.0);
        }
        purchases_until_dropout(rng, lambda, p, t)
    }
}

impl Simulate for BgBb {
    /// Periods 1 … n (= T): at the start of each the customer leaves with probability
    /// θ ~ B(γ, δ); if still alive, buys with probability p ~ B(α, β).
    fn simulate(&self, rng: &mut SplitMix64, n: f64) -> (f64, f64) {
        let p = rng.beta(self.alpha, self.beta);
        let theta = rng.beta(self.gamma, self.delta);
        let (mut x, mut last, mut period) = (0.0, 0.0, 1.0);
        while period <= n {
            if rng.uniform() < theta {
                break;
            }
            if rng.uniform() < p {
                x += 1.0;
                last = period;
            }
            period += 1.0;
        }
        (x, last)
    }
}

impl Simulate for ParetoNbd {
    /// Purchases at rate λ ~ Gamma(r, α) until a lifetime τ ~ Exp(μ), μ ~ Gamma(s, β).
    fn simulate(&self, rng: &mut SplitMix64, t: f64) -> (f64, f64) {
        let lambda = rng.gamma(self.r) / self.alpha;
        let mu = rng.gamma(self.s) / self.beta;
        let end = rng.exponential(mu).min(t);
        let (mut now, mut x, mut last) = (0.0, 0.0, 0.0);
        loop {
            now += rng.exponential(lambda);
            if now > end {
                return (x, last);
            }
            x += 1.0;
            last = now;
        }
    }
}

/// What one refit predicts: per customer (P(alive), expected purchases), the population curve
/// and the total.
struct Draw {
    customers: Vec<(f64, f64, f64)>,
    population: Vec<f64>,
    total: f64,
}

/// The bootstrap's intervals: per customer (P(alive), expected purchases), per population
/// point, the total, and how many draws gave a fit.
pub struct BootstrapIntervals {
    pub customers: Vec<(Bounds, Bounds, Bounds)>,
    pub population: Vec<Bounds>,
    pub total: Bounds,
    pub draws_used: usize,
}

/// Refuses a bootstrap whose simulation would be too large: BG/BB simulates period by period,
/// so its customer-periods (Σ count × n × draws) are bounded by [`MAX_SIMULATED_PERIODS`].
pub fn check_work(
    name: PurchaseModelName,
    rows: &[CustomerSummary],
    draws: usize,
) -> Result<(), InvalidInput> {
    if name == PurchaseModelName::Bgbb {
        let periods: f64 = rows.iter().map(|c| c.count * c.t).sum::<f64>() * draws as f64;
        if periods > MAX_SIMULATED_PERIODS {
            return Err(InvalidInput::new(
                "/predict/uncertainty/draws",
                "customers × periods × draws at most 50,000,000",
                format!("a BG/BB bootstrap of {draws} draws would simulate {periods} customer-periods; at most 50,000,000: ask for fewer draws"),
            ));
        }
    }
    Ok(())
}

/// The parametric bootstrap: `draws` data sets simulated from `params` (each customer with its
/// own T, each row as many times as its count), refitted, and the percentile intervals of the
/// predictions over the refits that converged.
///
/// # Formula
///
/// ```text
/// for b = 1..B:  data_b ~ model(θ̂) with each customer's T;   θ_b = argmax L(θ; data_b)
///                f_b = f(θ_b) for every prediction f
/// interval = [q_{(1 − level)/2}, q_{(1 + level)/2}] of f_1..f_B   (linear interpolation)
/// ```
///
/// The stream is SplitMix64 from `seed`; draws are simulated, fitted and predicted one after
/// another on the calling thread, so the same request gives the same bits. A draw whose refit
/// does not converge is left out (`draws_used` counts the rest). Stops with an error when the
/// request is cancelled (its deadline). Source: Efron & Tibshirani (1993), "An Introduction to
/// the Bootstrap", ch. 6 and 13; docs/formulas.md § 12.7.
#[allow(clippy::too_many_arguments)]
pub fn bootstrap(
    name: PurchaseModelName,
    params: &[f64],
    at: ModelAt,
    rows: &[CustomerSummary],
    horizon: f64,
    population_times: &[f64],
    (draws, seed): (usize, u64),
    confidence: Confidence,
) -> Result<BootstrapIntervals, InvalidInput> {
    check_work(name, rows, draws)?;
    let truth = at(params);
    let mut rng = SplitMix64::new(seed);
    let mut results: Vec<Draw> = Vec::with_capacity(draws);
    for _ in 0..draws {
        if crate::cancel::cancelled() {
            return Err(InvalidInput::new(
                "",
                "the bootstrap was cancelled",
                "the bootstrap was cancelled before it finished (the request's deadline): ask for fewer draws",
            ));
        }
        let simulated: Vec<CustomerSummary> = rows
            .iter()
            .flat_map(|c| std::iter::repeat_n(c, c.count as usize))
            .map(|c| {
                let (x, tx) = truth.simulate(&mut rng, c.t);
                CustomerSummary {
                    id: None,
                    frequency: x,
                    recency: tx,
                    t: c.t,
                    monetary_value: None,
                    count: 1.0,
                }
            })
            .collect();
        let grouped = GroupedRfm::new(&simulated);
        let refit = name.fit(&grouped, 0.0);
        if !refit.converged {
            continue;
        }
        let model = at(&refit.params);
        if let Some(draw) = predict(model.as_ref(), rows, horizon, population_times) {
            results.push(draw);
        }
    }
    if results.len() < 2 {
        return Err(InvalidInput::new(
            "/predict/uncertainty/draws",
            "too few bootstrap refits converged",
            format!(
                "{} of {draws} bootstrap refits converged: too few for an interval",
                results.len()
            ),
        ));
    }
    let level = confidence.level();
    let bounds = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        Bounds {
            lower: quantile(&values, (1.0 - level) / 2.0),
            upper: quantile(&values, (1.0 + level) / 2.0),
        }
    };
    let customers = (0..rows.len())
        .map(|i| {
            (
                bounds(results.iter().map(|d| d.customers[i].0).collect()),
                bounds(results.iter().map(|d| d.customers[i].1).collect()),
                bounds(results.iter().map(|d| d.customers[i].2).collect()),
            )
        })
        .collect();
    let population = (0..population_times.len())
        .map(|k| bounds(results.iter().map(|d| d.population[k]).collect()))
        .collect();
    Ok(BootstrapIntervals {
        customers,
        population,
        total: bounds(results.iter().map(|d| d.total).collect()),
        draws_used: results.len(),
    })
}

fn predict(
    model: &dyn PurchaseModel,
    rows: &[CustomerSummary],
    horizon: f64,
    population_times: &[f64],
) -> Option<Draw> {
    let mut total = 0.0;
    let customers = rows
        .iter()
        .map(|c| {
            let expected = model.expected_purchases(horizon, c.frequency, c.recency, c.t)?;
            total += expected * c.count;
            let none = model.conditional_pmf(horizon, 0, c.frequency, c.recency, c.t)?[0];
            Some((model.p_alive(c.frequency, c.recency, c.t)?, expected, none))
        })
        .collect::<Option<Vec<_>>>()?;
    let population = population_times
        .iter()
        .map(|&t| model.expected_purchases_population(t))
        .collect::<Option<Vec<_>>>()?;
    Some(Draw {
        customers,
        population,
        total,
    })
}

/// The `p` quantile of sorted `values` by linear interpolation between order statistics
/// (h = (n − 1) p, numpy's default).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (below, fraction) = (h.floor() as usize, h - h.floor());
    match sorted.get(below + 1) {
        Some(next) => sorted[below] + fraction * (next - sorted[below]),
        None => sorted[below],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_as_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0.025, 0.5, 0.975]) = [1.075, 2.5, 3.925]
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile(&v, 0.975) - 3.925).abs() < 1e-12);
    }

    #[test]
    fn the_samplers_have_their_means() {
        let mut rng = SplitMix64::new(7);
        let n = 200_000;
        let gamma: f64 = (0..n).map(|_| rng.gamma(0.25)).sum::<f64>() / n as f64;
        let beta: f64 = (0..n).map(|_| rng.beta(0.8, 2.5)).sum::<f64>() / n as f64;
        // Gamma(0.25, 1) has mean 0.25 and sd 0.5; Beta(0.8, 2.5) mean 0.8 / 3.3.
        assert!((gamma - 0.25).abs() < 0.005, "{gamma}");
        assert!((beta - 0.8 / 3.3).abs() < 0.003, "{beta}");
    }
}
