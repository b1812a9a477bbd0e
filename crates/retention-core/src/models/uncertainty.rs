//! Intervals on a fitted model's predictions by the delta method (docs/formulas.md § 12.6):
//! the covariance of the log parameters, which the fit already has, carried to any prediction
//! through its gradient.

use nalgebra::{DMatrix, DVector};
use serde::Deserialize;

use crate::kpi::{Bounds, Confidence};

/// How a prediction's interval is computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UncertaintyMethod {
    /// The delta method from the fit's covariance (the default).
    #[default]
    Delta,
    /// The parametric bootstrap: `draws` refits of data simulated from the fit, from `seed`.
    Bootstrap,
    /// No intervals.
    None,
}

/// The intervals a request asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Uncertainty {
    #[default]
    Delta,
    Bootstrap {
        draws: usize,
        seed: u64,
    },
    None,
}

/// Step on the log scale for the central differences of a prediction: the truncation error is
/// O(h²) ≈ 1e-10 relative and the rounding error about ε / h ≈ 1e-11.
const LOG_STEP: f64 = 1e-5;

/// A fit's parameters with the covariance of their logarithms, and the level of the intervals.
#[derive(Debug, Clone)]
pub struct Delta {
    params: Vec<f64>,
    log_covariance: DMatrix<f64>,
    confidence: Confidence,
}

impl Delta {
    pub fn new(params: &[f64], log_covariance: DMatrix<f64>, confidence: Confidence) -> Self {
        Self {
            params: params.to_vec(),
            log_covariance,
            confidence,
        }
    }

    pub fn confidence(&self) -> Confidence {
        self.confidence
    }

    /// The gradients of the predictions `f` computes from a parameter vector, with respect to
    /// the log parameters: one row per parameter, one column per prediction. `None` when `f`
    /// is undefined at a step.
    pub fn gradients(&self, f: impl Fn(&[f64]) -> Option<Vec<f64>>) -> Option<DMatrix<f64>> {
        let k = self.params.len();
        let mut rows: Vec<Vec<f64>> = Vec::with_capacity(k);
        let mut moved = self.params.clone();
        for j in 0..k {
            moved[j] = self.params[j] * LOG_STEP.exp();
            let up = f(&moved)?;
            moved[j] = self.params[j] * (-LOG_STEP).exp();
            let down = f(&moved)?;
            moved[j] = self.params[j];
            rows.push(
                up.iter()
                    .zip(&down)
                    .map(|(u, d)| (u - d) / (2.0 * LOG_STEP))
                    .collect(),
            );
        }
        let m = rows.first().map_or(0, Vec::len);
        Some(DMatrix::from_fn(k, m, |j, i| rows[j][i]))
    }

    /// The standard error of a prediction whose gradient (with respect to the log
    /// parameters) is `gradient`: √(gᵀ Σ g).
    pub fn standard_error(&self, gradient: &DVector<f64>) -> f64 {
        let variance = (gradient.transpose() * &self.log_covariance * gradient)[(0, 0)];
        variance.max(0.0).sqrt()
    }

    /// `value ± z × standard_error`, clipped to `range`.
    pub fn bounds(&self, value: f64, standard_error: f64, range: (f64, f64)) -> Bounds {
        let margin = self.confidence.z() * standard_error;
        Bounds {
            lower: (value - margin).clamp(range.0, range.1),
            upper: (value + margin).clamp(range.0, range.1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_prediction_gets_its_exact_variance() {
        // f = 2 ln p₀ + 3 ln p₁ (log scale), Σ = [[1, 0.5], [0.5, 4]]:
        // Var = 4 + 2 × 2 × 3 × 0.5 + 9 × 4 = 46.
        let cov = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.5, 4.0]);
        let delta = Delta::new(&[2.0, 5.0], cov, Confidence::default());
        let g = delta
            .gradients(|p| Some(vec![2.0 * p[0].ln() + 3.0 * p[1].ln()]))
            .unwrap();
        let se = delta.standard_error(&g.column(0).into_owned());
        assert!((se - 46f64.sqrt()).abs() < 1e-8, "{se}");
    }
}
