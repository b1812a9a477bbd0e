//! Maximum-likelihood glue shared by every model.
//!
//! The optimiser works on θ = ln(parameters), so that they stay positive, and on the
//! negative log-likelihood **per unit of weight** (per customer), so that a fit is the same
//! whether every count is multiplied by 10 or not. It runs in three deterministic stages:
//!
//! 1. BFGS with the model's analytic gradient and a backtracking (Armijo) line search,
//!    stopping on gradient and cost tolerances or an iteration cap (`bfgs`);
//! 2. Newton steps from the best point seen, with the Hessian from central differences of the
//!    gradient, until the Newton decrement `gᵀH⁻¹g` (twice the improvement still to be had,
//!    in nats per customer) is below `DECREMENT_TOLERANCE`;
//! 3. a verdict: the Hessian's weakly curved eigenvectors are probed outwards (steps of e¹ …
//!    e¹⁶ in the parameters, each corrected once across the ridge); a direction along which
//!    the likelihood never falls means its supremum lies on the edge of the parameter space
//!    (a parameter → 0 or ∞), which is [`Verdict::Boundary`] naming the parameters and the
//!    direction; otherwise a positive-definite Hessian and a small decrement is
//!    [`Verdict::Converged`], anything else [`Verdict::StoppedShort`].
//!
//! No wall clock takes part: the same data give the same bits on an idle or a saturated
//! machine. A fit can be abandoned (a request's deadline, a vanished client) through
//! [`cancellable`]; it then ends with [`Verdict::Cancelled`] and returns no estimate.

use std::sync::Mutex;

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// A model's negative log-likelihood over its natural (positive) parameters.
pub trait NegLogLikelihood: Sync {
    /// The negative log-likelihood at `params` (natural scale), `+inf` or NaN when undefined,
    /// and its analytic gradient with respect to the natural parameters.
    fn value_and_gradient(&self, params: &[f64]) -> (f64, Vec<f64>);

    /// The total weight of the data (customers, or a cohort's size): the optimiser works on
    /// the likelihood divided by it, so that multiplying every count by a constant leaves the
    /// fit unchanged.
    fn weight(&self) -> f64 {
        1.0
    }
}

/// The negative log-likelihood and its gradient from the log-likelihood `ll` and its gradient
/// `g`, with lifetimes' L2 penalty `penalty × Σ pᵢ²` (0 for none) added.
pub fn penalised(ll: f64, g: &[f64], params: &[f64], penalty: f64) -> (f64, Vec<f64>) {
    let value = -ll + penalty * params.iter().map(|v| v * v).sum::<f64>();
    let gradient = g
        .iter()
        .zip(params)
        .map(|(gi, pi)| -gi + 2.0 * penalty * pi)
        .collect();
    (value, gradient)
}

pub use crate::cancel::{cancellable, cancelled};

/// Log-parameters beyond ±LOG_BOUND (e^±40) are outside the model: the cost there is +∞.
const LOG_BOUND: f64 = 40.0;
/// The Newton decrement below which a point is a maximum: less than 1e-12 nats per customer
/// left to gain.
const DECREMENT_TOLERANCE: f64 = 2e-12;
/// Most BFGS iterations and Newton steps.
const MAX_BFGS_ITERS: u64 = 500;
const MAX_NEWTON_STEPS: u64 = 30;
/// Directions of the log-scale, per-customer Hessian with an eigenvalue below this are probed
/// for a boundary (a standard error of θ above about 1/√(1e-3 n) for n customers).
const PROBE_CURVATURE: f64 = 1e-3;
/// Probe steps (log units) along each direction of the Hessian when judging a boundary.
const PROBES: [f64; 5] = [1.0, 2.0, 4.0, 8.0, 16.0];

/// The per-weight likelihood on the log scale. Remembers its last evaluation (the line search
/// asks for the cost and the gradient at the same point) and the best point evaluated, so a
/// stage that fails part-way keeps its progress.
struct LogScale<'a, M: NegLogLikelihood> {
    model: &'a M,
    scale: f64,
    last: Mutex<Option<Evaluation>>,
    best: Mutex<Option<(Vec<f64>, f64)>>,
}

/// θ, the cost there and its log-scale gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

impl<'a, M: NegLogLikelihood> LogScale<'a, M> {
    fn new(model: &'a M) -> Self {
        let weight = model.weight();
        Self {
            model,
            scale: if weight.is_finite() && weight > 0.0 {
                1.0 / weight
            } else {
                1.0
            },
            last: Mutex::new(None),
            best: Mutex::new(None),
        }
    }

    fn natural(theta: &[f64]) -> Vec<f64> {
        theta.iter().map(|t| t.exp()).collect()
    }

    /// Cost and log-scale gradient at θ (d/dθ = p × d/dp), from the cache when θ repeats.
    /// Outside the box or where the likelihood is undefined the cost is +∞ (as `f64::MAX/4`,
    /// which the line search can compare) and the gradient 0.
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        if let Ok(last) = self.last.lock() {
            if let Some((at, cost, gradient)) = last.as_ref() {
                if at.as_slice() == theta {
                    return (*cost, gradient.clone());
                }
            }
        }
        let inside = theta.iter().all(|t| t.abs() <= LOG_BOUND);
        let (cost, gradient) = if inside {
            let p = Self::natural(theta);
            let (value, gradient) = self.model.value_and_gradient(&p);
            let gradient: Vec<f64> = gradient
                .iter()
                .zip(&p)
                .map(|(g, p)| g * p * self.scale)
                .collect();
            if value.is_finite() && gradient.iter().all(|g| g.is_finite()) {
                (value * self.scale, gradient)
            } else {
                (f64::MAX / 4.0, vec![0.0; theta.len()])
            }
        } else {
            (f64::MAX / 4.0, vec![0.0; theta.len()])
        };
        if let Ok(mut last) = self.last.lock() {
            *last = Some((theta.to_vec(), cost, gradient.clone()));
        }
        if let Ok(mut best) = self.best.lock() {
            if best.as_ref().is_none_or(|b| cost < b.1) {
                *best = Some((theta.to_vec(), cost));
            }
        }
        (cost, gradient)
    }

    fn cost_at(&self, theta: &[f64]) -> f64 {
        self.evaluate(theta).0
    }

    fn best(&self) -> Option<(Vec<f64>, f64)> {
        self.best.lock().ok().and_then(|b| b.clone())
    }

    /// The Hessian of the per-weight cost on the log scale: central differences of the
    /// gradient, symmetrised.
    fn hessian(&self, theta: &[f64]) -> DMatrix<f64> {
        let k = theta.len();
        let h = 1e-4;
        let mut m = DMatrix::zeros(k, k);
        let mut t = theta.to_vec();
        for j in 0..k {
            t[j] = theta[j] + h;
            let up = self.evaluate(&t).1;
            t[j] = theta[j] - h;
            let down = self.evaluate(&t).1;
            t[j] = theta[j];
            for i in 0..k {
                m[(i, j)] = (up[i] - down[i]) / (2.0 * h);
            }
        }
        (&m + m.transpose()) * 0.5
    }
}

/// Which way a parameter runs off when the likelihood has no interior maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Towards 0.
    Shrinks,
    /// Towards infinity.
    Grows,
}

/// How a fit ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// An interior maximum: finite cost, positive-definite Hessian, Newton decrement below
    /// tolerance, and no direction along which the likelihood keeps rising.
    Converged,
    /// The likelihood keeps rising as these parameters (by index) move towards the edge of
    /// the parameter space: its supremum is not attained inside it.
    Boundary(Vec<(usize, Direction)>),
    /// The optimiser ended without reaching a maximum (iteration caps, a Hessian that is not
    /// positive definite, an undefined likelihood); the reason in words.
    StoppedShort(String),
    /// The work was cancelled before the fit finished.
    Cancelled,
}

/// The outcome of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOutcome {
    /// The best parameters found, natural scale.
    pub params: Vec<f64>,
    /// Standard errors from the inverse Hessian; `None` where it is not positive definite.
    pub std_errors: Vec<Option<f64>>,
    /// The covariance of the log parameters ln pᵢ (the inverse Hessian of −ln L on the log
    /// scale); `None` where the Hessian is not positive definite. What the delta method
    /// carries to predictions.
    pub log_covariance: Option<DMatrix<f64>>,
    /// The log-likelihood at `params` (with the penalty, if any, subtracted).
    pub log_likelihood: f64,
    /// Optimiser iterations: BFGS and Newton together.
    pub iterations: u64,
    pub converged: bool,
    pub verdict: Verdict,
    /// How the optimiser stopped, in words.
    pub termination: String,
}

/// Maximises the likelihood from `start` (natural scale).
pub fn maximise<M: NegLogLikelihood>(model: &M, start: &[f64]) -> FitOutcome {
    let theta0: Vec<f64> = start.iter().map(|p| p.ln()).collect();
    let problem = LogScale::new(model);
    let mut iterations = 0;
    let mut notes = Vec::new();

    // 1. BFGS.
    let (steps, note) = bfgs(&problem, &theta0);
    iterations += steps;
    notes.push(note);
    if cancelled() {
        return cancelled_outcome(start, iterations);
    }
    let Some((mut theta, _)) = problem.best() else {
        return cancelled_outcome(start, iterations);
    };

    // 2. Newton polish, 3. verdict.
    let (verdict, steps, hessian) = polish_and_judge(&problem, &mut theta);
    iterations += steps;
    if cancelled() {
        return cancelled_outcome(start, iterations);
    }
    if steps > 0 {
        notes.push(format!("Newton: {steps} steps"));
    }
    let params = LogScale::<M>::natural(&theta);
    let std_errors = standard_errors(&hessian, &params, problem.scale);
    let log_covariance = hessian
        .clone()
        .cholesky()
        .map(|c| c.inverse() * problem.scale)
        .filter(|m| m.iter().all(|v| v.is_finite()));
    let value = model.value_and_gradient(&params).0;
    let converged = verdict == Verdict::Converged;
    notes.push(match &verdict {
        Verdict::Converged => "interior maximum".to_owned(),
        Verdict::Boundary(_) => "no interior maximum".to_owned(),
        Verdict::StoppedShort(why) => format!("stopped short: {why}"),
        Verdict::Cancelled => "cancelled".to_owned(),
    });
    FitOutcome {
        params,
        std_errors,
        log_covariance,
        log_likelihood: -value,
        iterations,
        converged,
        verdict,
        termination: notes.join("; "),
    }
}

fn cancelled_outcome(start: &[f64], iterations: u64) -> FitOutcome {
    FitOutcome {
        params: start.to_vec(),
        std_errors: vec![None; start.len()],
        log_covariance: None,
        log_likelihood: f64::NAN,
        iterations,
        converged: false,
        verdict: Verdict::Cancelled,
        termination: "cancelled".to_owned(),
    }
}

/// Newton steps from θ with step halving, then the verdict at the point reached.
/// BFGS on the per-weight log-scale cost from θ₀: the inverse Hessian built from the
/// gradients (scaled after the first step by `sᵀy / yᵀy`), a backtracking line search on the
/// Armijo condition (c = 1e-4) that tries the full step first, the update skipped when
/// `sᵀy` is not positive. Stops when the gradient's norm is below 1e-10, the cost changes by
/// less than 1e-15 of itself, the line search finds no decrease, or after
/// [`MAX_BFGS_ITERS`] iterations. Its best point is kept by the problem.
fn bfgs<M: NegLogLikelihood>(problem: &LogScale<'_, M>, theta0: &[f64]) -> (u64, String) {
    let k = theta0.len();
    let mut theta = DVector::from_column_slice(theta0);
    let (mut f, g) = problem.evaluate(theta.as_slice());
    let mut g = DVector::from_vec(g);
    if f >= f64::MAX / 8.0 {
        return (
            0,
            "BFGS: the likelihood is undefined at the start".to_owned(),
        );
    }
    let mut h_inv = DMatrix::<f64>::identity(k, k);
    let mut scaled = false;
    for iteration in 0..MAX_BFGS_ITERS {
        if cancelled() {
            return (iteration, "BFGS: cancelled".to_owned());
        }
        if g.norm() <= 1e-10 {
            return (
                iteration,
                format!("BFGS: gradient below 1e-10 after {iteration} iterations"),
            );
        }
        let mut d = -(&h_inv * &g);
        let mut slope = g.dot(&d);
        if slope >= 0.0 || !slope.is_finite() {
            h_inv = DMatrix::identity(k, k);
            d = -g.clone();
            slope = g.dot(&d);
        }
        // At most one log unit per step until the curvature is known.
        let mut step = if scaled {
            1.0
        } else {
            (1.0 / d.norm()).min(1.0)
        };
        let mut accepted = None;
        for _ in 0..40 {
            let candidate = &theta + &d * step;
            let (fc, gc) = problem.evaluate(candidate.as_slice());
            if fc <= f + 1e-4 * step * slope {
                accepted = Some((candidate, fc, DVector::from_vec(gc)));
                break;
            }
            // Minimum of the quadratic through f, the slope and fc, kept within [0.1, 0.5].
            let quadratic = if fc.is_finite() && fc < f64::MAX / 8.0 {
                -slope * step * step / (2.0 * (fc - f - slope * step))
            } else {
                0.1 * step
            };
            step = quadratic.clamp(0.1 * step, 0.5 * step);
        }
        let Some((next, f_next, g_next)) = accepted else {
            return (
                iteration,
                format!(
                    "BFGS: no decrease along the search direction after {iteration} iterations"
                ),
            );
        };
        let s = &next - &theta;
        let y = &g_next - &g;
        let sy = s.dot(&y);
        if sy > 1e-12 * s.norm() * y.norm() {
            if !scaled {
                h_inv *= sy / y.dot(&y);
                scaled = true;
            }
            let rho = 1.0 / sy;
            let identity = DMatrix::<f64>::identity(k, k);
            let left = &identity - &s * y.transpose() * rho;
            let right = &identity - &y * s.transpose() * rho;
            h_inv = &left * &h_inv * &right + &s * s.transpose() * rho;
        }
        let change = (f - f_next).abs();
        theta = next;
        f = f_next;
        g = g_next;
        if change <= 1e-15 * f.abs().max(1.0) {
            return (
                iteration + 1,
                format!(
                    "BFGS: cost change below 1e-15 after {} iterations",
                    iteration + 1
                ),
            );
        }
    }
    (
        MAX_BFGS_ITERS,
        format!("BFGS: iteration cap of {MAX_BFGS_ITERS} reached"),
    )
}

/// Returns the verdict, the Newton steps taken and the Hessian at (or, after a last step
/// below 1e-6 in θ, next to) the final point, for the standard errors.
fn polish_and_judge<M: NegLogLikelihood>(
    problem: &LogScale<'_, M>,
    theta: &mut Vec<f64>,
) -> (Verdict, u64, DMatrix<f64>) {
    let mut steps = 0;
    let mut decrement = f64::INFINITY;
    let mut positive_definite = false;
    let mut hessian = None;
    while steps < MAX_NEWTON_STEPS && !cancelled() {
        let (cost, gradient) = problem.evaluate(theta);
        if cost >= f64::MAX / 8.0 {
            break;
        }
        let g = DVector::from_column_slice(&gradient);
        let h = problem.hessian(theta);
        hessian = Some((theta.clone(), h.clone()));
        let Some(cholesky) = h.cholesky() else {
            positive_definite = false;
            break;
        };
        positive_definite = true;
        let step = cholesky.solve(&g);
        decrement = g.dot(&step);
        let last = decrement <= DECREMENT_TOLERANCE;
        // Step halving until the cost does not rise (within a converged point's last step,
        // a full step only: it sharpens the estimate quadratically).
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..if last { 1 } else { 30 } {
            let candidate: Vec<f64> = theta
                .iter()
                .zip(step.iter())
                .map(|(th, s)| th - t * s)
                .collect();
            // Near the maximum the cost is flat to rounding: a last step may leave it equal
            // within a few ulps.
            let allowed = if last {
                cost + 8.0 * f64::EPSILON * cost.abs()
            } else {
                cost
            };
            if problem.cost_at(&candidate) <= allowed {
                *theta = candidate;
                moved = true;
                break;
            }
            t *= 0.5;
        }
        steps += 1;
        if last || !moved {
            break;
        }
    }
    let hessian = match hessian {
        Some((at, h)) if distance(&at, theta) <= 1e-6 => h,
        _ => problem.hessian(theta),
    };
    if cancelled() {
        return (Verdict::Cancelled, steps, hessian);
    }
    if let Some(open) = open_directions(problem, theta, &hessian) {
        return (Verdict::Boundary(open), steps, hessian);
    }
    let cost = problem.cost_at(theta);
    let verdict = if cost >= f64::MAX / 8.0 {
        Verdict::StoppedShort("the likelihood is undefined at the best point found".to_owned())
    } else if !positive_definite {
        Verdict::StoppedShort(
            "the Hessian is not positive definite at the best point found".to_owned(),
        )
    } else if decrement > DECREMENT_TOLERANCE {
        Verdict::StoppedShort(format!(
            "{decrement:.1e} nats per customer still to gain (tolerance {DECREMENT_TOLERANCE:.0e})"
        ))
    } else {
        Verdict::Converged
    };
    (verdict, steps, hessian)
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Probes outwards along each eigenvector of the Hessian, both ways. A direction along which
/// the cost never rises above its value at θ (beyond rounding) while the parameters move by
/// factors up to e¹⁶ has its supremum at the edge: its large components name the parameters.
fn open_directions<M: NegLogLikelihood>(
    problem: &LogScale<'_, M>,
    theta: &[f64],
    hessian: &DMatrix<f64>,
) -> Option<Vec<(usize, Direction)>> {
    let here = problem.cost_at(theta);
    if here >= f64::MAX / 8.0 {
        return None;
    }
    let noise = 1e-12 * here.abs().max(1.0);
    if hessian.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let eigen = SymmetricEigen::new(hessian.clone());
    // Weakest directions first.
    let mut order: Vec<usize> = (0..theta.len()).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[a].total_cmp(&eigen.eigenvalues[b]));
    for j in order {
        // A direction along which the cost curves up by more than PROBE_CURVATURE / 2 per
        // customer at one log unit is not flat: only weaker ones are probed.
        if eigen.eigenvalues[j] >= PROBE_CURVATURE {
            continue;
        }
        let v = eigen.eigenvectors.column(j);
        for sign in [1.0, -1.0] {
            let mut evaluated = 0;
            let mut open = true;
            let mut edge = false;
            for k in PROBES {
                let probe: Vec<f64> = theta
                    .iter()
                    .zip(v.iter())
                    .map(|(t, vi)| t + sign * k * vi)
                    .collect();
                if probe.iter().any(|t| t.abs() > LOG_BOUND) {
                    edge = true;
                    break;
                }
                let (raw, gradient) = problem.evaluate(&probe);
                if raw >= f64::MAX / 8.0 {
                    break;
                }
                // The ridge may bend away from the straight line: one Newton correction across
                // it (along the strongly curved eigenvectors only) before comparing.
                let mut corrected = probe.clone();
                for i in 0..theta.len() {
                    let mu = eigen.eigenvalues[i];
                    if i == j || mu < PROBE_CURVATURE {
                        continue;
                    }
                    let u = eigen.eigenvectors.column(i);
                    let along: f64 = u.iter().zip(&gradient).map(|(a, b)| a * b).sum();
                    for (c, ui) in corrected.iter_mut().zip(u.iter()) {
                        *c -= along / mu * ui;
                    }
                }
                let cost = raw.min(problem.cost_at(&corrected));
                evaluated += 1;
                if cost > here + noise {
                    open = false;
                    break;
                }
            }
            // Falling all the way to the box's edge counts as much as two falling probes.
            if open && (evaluated >= 2 || (edge && evaluated >= 1) || (edge && at_edge(theta))) {
                let largest = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                let named = v
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| x.abs() >= 0.3 * largest)
                    .map(|(i, x)| {
                        let direction = if sign * x > 0.0 {
                            Direction::Grows
                        } else {
                            Direction::Shrinks
                        };
                        (i, direction)
                    })
                    .collect();
                return Some(named);
            }
        }
    }
    None
}

/// Whether θ is within one log unit of the box's edge.
fn at_edge(theta: &[f64]) -> bool {
    theta.iter().any(|t| t.abs() > LOG_BOUND - 1.0)
}

/// Standard errors of the natural parameters from the log-scale Hessian `H_θ` of the
/// per-weight cost: `Cov(θ) = H_θ⁻¹ / W` and, by the delta method, `se(pᵢ) = pᵢ se(θᵢ)`.
/// `None` for all where `H_θ` is not positive definite.
fn standard_errors(hessian: &DMatrix<f64>, params: &[f64], scale: f64) -> Vec<Option<f64>> {
    let k = params.len();
    match hessian.clone().cholesky() {
        Some(cholesky) => {
            let inverse = cholesky.inverse();
            (0..k)
                .map(|i| {
                    let v = inverse[(i, i)] * scale;
                    (v.is_finite() && v > 0.0).then(|| params[i] * v.sqrt())
                })
                .collect()
        }
        None => vec![None; k],
    }
}

/// Asserts that a likelihood's analytic gradient at `p` equals central differences of its
/// value (relative step 1e-6, to 1e-6 of the larger of the gradient and 1).
#[cfg(test)]
pub(crate) fn assert_gradient_matches<M: NegLogLikelihood>(model: &M, p: &[f64]) {
    let (_, g) = model.value_and_gradient(p);
    for j in 0..p.len() {
        let h = 1e-6 * p[j];
        let (mut up, mut down) = (p.to_vec(), p.to_vec());
        up[j] += h;
        down[j] -= h;
        let numeric =
            (model.value_and_gradient(&up).0 - model.value_and_gradient(&down).0) / (2.0 * h);
        assert!(
            (numeric - g[j]).abs() < 1e-6 * g[j].abs().max(1.0),
            "parameter {j}: {numeric} vs {}",
            g[j]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// -ln L of a Poisson(λ) sample with sum 30 over 10 draws, maximum at λ = 3,
    /// standard error sqrt(λ / n) = sqrt(0.3).
    struct Poisson(f64);
    impl NegLogLikelihood for Poisson {
        fn value_and_gradient(&self, p: &[f64]) -> (f64, Vec<f64>) {
            (
                self.0 * (10.0 * p[0] - 30.0 * p[0].ln()),
                vec![self.0 * (10.0 - 30.0 / p[0])],
            )
        }
        fn weight(&self) -> f64 {
            10.0 * self.0
        }
    }

    #[test]
    fn finds_a_known_maximum_and_its_standard_error() {
        let fit = maximise(&Poisson(1.0), &[0.5]);
        assert!(fit.converged, "{fit:?}");
        assert!((fit.params[0] - 3.0).abs() < 1e-9, "{fit:?}");
        assert!((fit.std_errors[0].unwrap() - 0.3f64.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn scaling_the_counts_leaves_the_estimate_and_scales_the_standard_error() {
        let one = maximise(&Poisson(1.0), &[0.5]);
        let many = maximise(&Poisson(1e7), &[0.5]);
        assert!(many.converged, "{many:?}");
        assert!(
            (one.params[0] - many.params[0]).abs() < 1e-12,
            "{one:?} {many:?}"
        );
        let ratio = one.std_errors[0].unwrap() / many.std_errors[0].unwrap();
        assert!((ratio - 1e7f64.sqrt()).abs() < 1e-3 * ratio);
    }

    /// A likelihood whose supremum is at λ → ∞: -ln L = 1/λ.
    struct RunsOff;
    impl NegLogLikelihood for RunsOff {
        fn value_and_gradient(&self, p: &[f64]) -> (f64, Vec<f64>) {
            (1.0 / p[0], vec![-1.0 / (p[0] * p[0])])
        }
    }

    #[test]
    fn a_supremum_at_infinity_is_a_boundary_not_a_maximum() {
        let fit = maximise(&RunsOff, &[1.0]);
        assert!(!fit.converged);
        assert_eq!(fit.verdict, Verdict::Boundary(vec![(0, Direction::Grows)]));
    }

    #[test]
    fn a_cancelled_fit_says_so() {
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let fit = cancellable(flag, || maximise(&Poisson(1.0), &[0.5]));
        assert_eq!(fit.verdict, Verdict::Cancelled);
        assert!(!cancelled());
    }
}
