//! Maximum-likelihood glue shared by every model: L-BFGS (argmin, Moré–Thuente line search)
//! on the log of the parameters, so that they stay positive, with Nelder–Mead as a fallback;
//! standard errors from the inverse Hessian at the optimum.

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::LBFGS;

/// A model's negative log-likelihood over its natural (positive) parameters.
pub trait NegLogLikelihood: Sync {
    /// The negative log-likelihood at `params` (natural scale); `+inf` or NaN when undefined.
    fn value(&self, params: &[f64]) -> f64;

    /// Its gradient with respect to the natural parameters. The default is a central
    /// difference; models with an analytic gradient override it.
    fn gradient(&self, params: &[f64]) -> Vec<f64> {
        numerical_gradient(|p| self.value(p), params)
    }

    /// Both at once; models whose value and gradient share work override it.
    fn value_and_gradient(&self, params: &[f64]) -> (f64, Vec<f64>) {
        (self.value(params), self.gradient(params))
    }
}

fn numerical_gradient(f: impl Fn(&[f64]) -> f64, params: &[f64]) -> Vec<f64> {
    let mut p = params.to_vec();
    (0..params.len())
        .map(|i| {
            let h = 1e-6 * params[i].abs().max(1e-3);
            p[i] = params[i] + h;
            let up = f(&p);
            p[i] = params[i] - h;
            let down = f(&p);
            p[i] = params[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Log-parameters are kept within ±LOG_BOUND (e^±30) so no evaluation overflows.
const LOG_BOUND: f64 = 30.0;

/// The likelihood on the log scale, remembering its last evaluation: the line search asks
/// for the cost and the gradient at the same point, and a fused evaluation serves both.
struct LogScale<'a, M: NegLogLikelihood> {
    model: &'a M,
    last: std::sync::Mutex<Option<Evaluation>>,
}

/// θ, the cost there and its log-scale gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

impl<'a, M: NegLogLikelihood> LogScale<'a, M> {
    fn new(model: &'a M) -> Self {
        Self {
            model,
            last: std::sync::Mutex::new(None),
        }
    }

    fn natural(theta: &[f64]) -> Vec<f64> {
        theta
            .iter()
            .map(|t| t.clamp(-LOG_BOUND, LOG_BOUND).exp())
            .collect()
    }

    /// Cost and log-scale gradient at θ (d/dθ = p × d/dp), from the cache when θ repeats.
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        if let Ok(last) = self.last.lock() {
            if let Some((at, cost, gradient)) = last.as_ref() {
                if at.as_slice() == theta {
                    return (*cost, gradient.clone());
                }
            }
        }
        let p = Self::natural(theta);
        let (value, gradient) = self.model.value_and_gradient(&p);
        let cost = if value.is_finite() {
            value
        } else {
            f64::MAX / 4.0
        };
        let gradient: Vec<f64> = gradient
            .iter()
            .zip(&p)
            .map(|(g, p)| if g.is_finite() { g * p } else { 0.0 })
            .collect();
        if let Ok(mut last) = self.last.lock() {
            *last = Some((theta.to_vec(), cost, gradient.clone()));
        }
        (cost, gradient)
    }
}

impl<M: NegLogLikelihood> CostFunction for LogScale<'_, M> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, theta: &Self::Param) -> Result<f64, argmin::core::Error> {
        Ok(self.evaluate(theta).0)
    }
}

impl<M: NegLogLikelihood> Gradient for LogScale<'_, M> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, theta: &Self::Param) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.evaluate(theta).1)
    }
}

/// The outcome of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOutcome {
    /// The maximum-likelihood parameters, natural scale.
    pub params: Vec<f64>,
    /// Standard errors from the inverse Hessian; `None` where it is not positive definite.
    pub std_errors: Vec<Option<f64>>,
    /// The maximised log-likelihood.
    pub log_likelihood: f64,
    pub iterations: u64,
    pub converged: bool,
    /// How the optimiser stopped, in words.
    pub termination: String,
}

/// Most L-BFGS iterations.
const MAX_ITERS: u64 = 1000;
/// Wall-clock budget of each optimiser stage: a likelihood that sends the optimiser towards
/// the edge of the parameter space (where its series converge slowly) is cut off, and the
/// fit reported as not converged, instead of holding a worker for minutes.
const STAGE_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

/// Maximises the likelihood from `start` (natural scale).
pub fn maximise<M: NegLogLikelihood>(model: &M, start: &[f64]) -> FitOutcome {
    let theta0: Vec<f64> = start.iter().map(|p| p.ln()).collect();
    let problem = LogScale::new(model);
    // Stopping tolerances scaled to the likelihood's size: a sum over n customers carries
    // rounding noise of about 1e-16 × |ln L| in its value and more in its gradient, and a line
    // search asked for less than that noise spins without progress.
    let scale = problem.evaluate(&theta0).0.abs().clamp(1.0, 1e12);
    let lbfgs = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-7 * scale.sqrt())
        .and_then(|s| s.with_tolerance_cost(1e-14 * scale));
    let mut best: Option<(Vec<f64>, f64, u64, String, bool)> = None;
    if let Ok(solver) = lbfgs {
        if let Ok(result) = Executor::new(LogScale::new(model), solver)
            .configure(|state| state.param(theta0.clone()).max_iters(MAX_ITERS))
            .timeout(STAGE_BUDGET)
            .run()
        {
            let state = result.state();
            if let Some(theta) = state.get_best_param() {
                let reason = state.get_termination_reason();
                let converged = matches!(reason, Some(TerminationReason::SolverConverged));
                best = Some((
                    theta.clone(),
                    state.get_best_cost(),
                    state.get_iter(),
                    reason.map_or("unknown".to_owned(), |r| r.text().to_owned()),
                    converged,
                ));
            }
        }
    }
    // Nelder–Mead from the L-BFGS point (or the start) when L-BFGS failed or stopped short.
    let needs_fallback = best.as_ref().is_none_or(|b| !b.4 || !b.1.is_finite());
    if needs_fallback {
        let from = best.as_ref().map_or(theta0.clone(), |b| b.0.clone());
        let simplex: Vec<Vec<f64>> = std::iter::once(from.clone())
            .chain((0..from.len()).map(|i| {
                let mut v = from.clone();
                v[i] += 0.5;
                v
            }))
            .collect();
        if let Ok(solver) = NelderMead::new(simplex).with_sd_tolerance(1e-12) {
            if let Ok(result) = Executor::new(problem, solver)
                .configure(|state| state.max_iters(5_000))
                .timeout(STAGE_BUDGET)
                .run()
            {
                let state = result.state();
                if let Some(theta) = state.get_best_param() {
                    let cost = state.get_best_cost();
                    let better = best.as_ref().is_none_or(|b| cost <= b.1);
                    if better {
                        let reason = state.get_termination_reason();
                        best = Some((
                            theta.clone(),
                            cost,
                            state.get_iter() + best.as_ref().map_or(0, |b| b.2),
                            format!("Nelder-Mead: {}", reason.map_or("unknown", |r| r.text())),
                            matches!(reason, Some(TerminationReason::SolverConverged)),
                        ));
                    }
                }
            }
        }
    }
    let (theta, cost, iterations, termination, _) = best.unwrap_or((
        theta0,
        f64::INFINITY,
        0,
        "no evaluation succeeded".to_owned(),
        false,
    ));
    let params: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
    // A parameter run off towards 0 or infinity means the supremum lies on the boundary of the
    // parameter space (e.g. BG/NBD's a, b → 0 on a few customers): no interior maximum.
    let at_bound = params.iter().any(|&p| !(1e-6..=1e8).contains(&p));
    // Converged: the likelihood is finite, no parameter ran to its bound, and the gradient on
    // the log scale is small: its norm below 1e-3 × sqrt(|ln L|) (about 0.1 on CDNOW, where
    // the fits end near 1e-5). The optimiser's own verdict is reported as `termination`.
    let gradient = LogScale::new(model).evaluate(&theta).1;
    let gradient_norm = gradient.iter().map(|g| g * g).sum::<f64>().sqrt();
    let small_gradient = gradient_norm <= 1e-3 * cost.abs().max(1.0).sqrt();
    // A maximum needs a positive-definite Hessian: where it is not, the data do not identify
    // the parameters (e.g. BG/NBD on customers without repeat purchases).
    let std_errors = standard_errors(model, &params);
    let identified = std_errors.iter().all(Option::is_some);
    let converged = cost.is_finite() && !at_bound && small_gradient && identified;
    FitOutcome {
        std_errors,
        params,
        log_likelihood: -cost,
        iterations,
        converged,
        termination,
    }
}

#[allow(clippy::needless_range_loop)] // index arithmetic reads as the matrix formulas do
/// Standard errors: square roots of the diagonal of the inverse Hessian of the negative
/// log-likelihood (central differences of the gradient, symmetrised).
pub fn standard_errors<M: NegLogLikelihood>(model: &M, params: &[f64]) -> Vec<Option<f64>> {
    let k = params.len();
    let mut hessian = vec![vec![0.0; k]; k];
    let mut p = params.to_vec();
    for j in 0..k {
        let h = 1e-5 * params[j].abs().max(1e-4);
        p[j] = params[j] + h;
        let up = model.gradient(&p);
        p[j] = params[j] - h;
        let down = model.gradient(&p);
        p[j] = params[j];
        for i in 0..k {
            hessian[i][j] = (up[i] - down[i]) / (2.0 * h);
        }
    }
    for i in 0..k {
        for j in 0..i {
            let mean = (hessian[i][j] + hessian[j][i]) / 2.0;
            hessian[i][j] = mean;
            hessian[j][i] = mean;
        }
    }
    match invert_spd(&hessian) {
        Some(inverse) => (0..k)
            .map(|i| {
                let v = inverse[i][i];
                (v.is_finite() && v > 0.0).then(|| v.sqrt())
            })
            .collect(),
        None => vec![None; k],
    }
}

/// Inverse of a symmetric positive-definite matrix by Cholesky; `None` if it is not one.
#[allow(clippy::needless_range_loop)] // index arithmetic reads as the matrix formulas do
fn invert_spd(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = m.len();
    let mut l = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|t| l[i][t] * l[j][t]).sum();
            if i == j {
                let d = m[i][i] - sum;
                if d.is_nan() || d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - sum) / l[j][j];
            }
        }
    }
    // Solve L Lᵀ X = I column by column.
    let mut inverse = vec![vec![0.0; k]; k];
    for col in 0..k {
        let mut y = vec![0.0; k];
        for i in 0..k {
            let e = if i == col { 1.0 } else { 0.0 };
            y[i] = (e - (0..i).map(|t| l[i][t] * y[t]).sum::<f64>()) / l[i][i];
        }
        let mut x = vec![0.0; k];
        for i in (0..k).rev() {
            x[i] = (y[i] - (i + 1..k).map(|t| l[t][i] * x[t]).sum::<f64>()) / l[i][i];
        }
        for i in 0..k {
            inverse[i][col] = x[i];
        }
    }
    Some(inverse)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// -ln L of a Poisson(λ) sample with sum 30 over 10 draws, maximum at λ = 3,
    /// standard error sqrt(λ / n) = sqrt(0.3).
    struct Poisson;
    impl NegLogLikelihood for Poisson {
        fn value(&self, p: &[f64]) -> f64 {
            10.0 * p[0] - 30.0 * p[0].ln()
        }
    }

    #[test]
    fn finds_a_known_maximum_and_its_standard_error() {
        let fit = maximise(&Poisson, &[0.5]);
        assert!(fit.converged, "{fit:?}");
        assert!((fit.params[0] - 3.0).abs() < 1e-6);
        assert!((fit.std_errors[0].unwrap() - 0.3f64.sqrt()).abs() < 1e-4);
    }
}
