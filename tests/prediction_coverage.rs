//! Do the prediction intervals mean what they say? Data drawn from BG/NBD with known
//! parameters, 200 replicate fits, and the delta-method 95 % interval of the population's
//! expected purchases by t = 39 must cover the true value in 90–99 % of them (the nominal 95 %
//! give or take the binomial spread of 200 replicates, about ±3 points at two standard
//! errors). Seed 20261203; the draws come from the core's SplitMix64 with Marsaglia–Tsang
//! gamma draws (`models::bootstrap`), whose stream no dependency can change; the BG/NBD
//! process that turns them into customers is this file's own.

use retention_kpi::kpi::Confidence;
use retention_kpi::models::bgnbd::BgNbd;
use retention_kpi::models::bootstrap::SplitMix64;
use retention_kpi::models::purchase::{
    purchase_model_report, ParameterSource, PredictSettings, PurchaseModelName,
};
use retention_kpi::models::rfm::CustomerSummary;
use retention_kpi::models::uncertainty::Uncertainty;

const SEED: u64 = 20_261_203;
const REPLICATES: usize = 200;
const CUSTOMERS: usize = 1000;
const HORIZON: f64 = 39.0;

/// One customer's repeat purchases over (0, T] under BG/NBD: purchases at rate λ, and after
/// each one the customer leaves with probability p (as lifetimes' `beta_geometric_nbd_model`
/// generates them).
fn simulate(rng: &mut SplitMix64, truth: &BgNbd) -> Vec<CustomerSummary> {
    (0..CUSTOMERS)
        .map(|_| {
            let t = 20.0 + 19.0 * rng.uniform();
            let lambda = rng.gamma(truth.r) / truth.alpha;
            let p = rng.beta(truth.a, truth.b);
            let (mut now, mut x, mut last) = (0.0, 0.0, 0.0);
            loop {
                now += rng.exponential(lambda);
                if now > t {
                    break;
                }
                x += 1.0;
                last = now;
                if rng.uniform() < p {
                    break;
                }
            }
            CustomerSummary {
                id: None,
                frequency: x,
                recency: last,
                t,
                monetary_value: None,
                count: 1.0,
            }
        })
        .collect()
}

#[test]
fn the_95_pct_interval_of_population_purchases_covers_the_truth_about_95_pct_of_the_time() {
    let truth = BgNbd {
        r: 0.25,
        alpha: 4.0,
        a: 0.8,
        b: 2.5,
    };
    let true_value = truth.expected_purchases_population(HORIZON).unwrap();
    let mut rng = SplitMix64::new(SEED);
    let (mut fitted, mut covered) = (0, 0);
    for _ in 0..REPLICATES {
        let rows = simulate(&mut rng, &truth);
        let settings = PredictSettings {
            horizon: HORIZON,
            uncertainty: Uncertainty::Delta,
            confidence: Confidence::default(),
            purchase_counts: None,
            discount: None,
        };
        let Ok(answer) = purchase_model_report(
            PurchaseModelName::Bgnbd,
            &rows,
            &ParameterSource::Fit { penalty: 0.0 },
            Some(settings),
            100_000,
        ) else {
            continue;
        };
        let last = answer.predictions.unwrap().population.pop().unwrap();
        assert_eq!(last.t, HORIZON);
        let interval = last.interval.expect("an interval on the population curve");
        fitted += 1;
        if interval.lower <= true_value && true_value <= interval.upper {
            covered += 1;
        }
    }
    assert!(
        fitted >= 190,
        "only {fitted} of {REPLICATES} fits converged"
    );
    let coverage = covered as f64 / fitted as f64;
    eprintln!("coverage {covered} of {fitted} = {coverage}; truth {true_value}");
    assert!(
        (0.90..=0.99).contains(&coverage),
        "coverage {coverage} ({covered} of {fitted}); truth {true_value}"
    );
}
