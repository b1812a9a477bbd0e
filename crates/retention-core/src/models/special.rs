//! Special functions for the likelihood models: log-gamma and digamma from statrs (ln Γ to
//! about 1e-15), log-beta, and the Gauss hypergeometric function 2F1 as a log-space series.

pub use statrs::function::gamma::{digamma, ln_gamma};

/// `ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)`.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// `ln Γ(v + n) − ln Γ(v)` (the log of the rising factorial `(v)_n`) and its derivative in v,
/// `ψ(v + n) − ψ(v)`, for a whole n ≥ 0. Summed term by term (`Σ_{k<n} ln(v+k)`,
/// `Σ_{k<n} 1/(v+k)`) for n up to 1,000, which stays exact where v is large — a difference of
/// two ln Γ values near 1e11 would keep only a few digits; by ln Γ and ψ beyond.
pub fn ln_rising(v: f64, n: f64) -> (f64, f64) {
    if n <= 1000.0 {
        let (mut value, mut derivative) = (0.0, 0.0);
        let mut k = 0.0;
        while k < n {
            value += (v + k).ln();
            derivative += 1.0 / (v + k);
            k += 1.0;
        }
        (value, derivative)
    } else {
        (ln_gamma(v + n) - ln_gamma(v), digamma(v + n) - digamma(v))
    }
}

/// `ln(e^x + e^y)` without overflow.
pub fn log_add_exp(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        return y;
    }
    if y == f64::NEG_INFINITY {
        return x;
    }
    let (hi, lo) = if x > y { (x, y) } else { (y, x) };
    hi + (lo - hi).exp().ln_1p()
}

/// `ln(e^x − e^y)` for x ≥ y (`-inf` when equal).
pub fn log_sub_exp(x: f64, y: f64) -> f64 {
    if y == f64::NEG_INFINITY {
        return x;
    }
    x + (-(y - x).exp()).ln_1p()
}

/// Most terms the 2F1 series sums before giving up (z within about 1e-3 of 1 needs more:
/// such parameters are at the edge of what the models can be fitted to).
const MAX_TERMS: usize = 20_000;

/// `ln ₂F₁(a, b; c; z)` for `a, b, c > 0` and `0 ≤ z < 1`, where every term of the series
/// `Σ (a)_n (b)_n / (c)_n z^n / n!` is positive, summed in log space so that terms in the
/// hundreds of orders of magnitude (large purchase counts) neither overflow nor lose the sum.
/// `None` outside that domain or when the series does not settle within 20,000 terms.
///
/// # Formula
/// `t₀ = 1`, `t_{n+1} = t_n × (a + n)(b + n) / ((c + n)(n + 1)) × z`; stops once terms
/// decrease and the next is below 1e-17 of the sum.
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(a > 0.0 && b > 0.0 && c > 0.0 && (0.0..1.0).contains(&z)) {
        return None;
    }
    if z == 0.0 {
        return Some(0.0);
    }
    let ln_z = z.ln();
    let mut ln_term = 0.0f64;
    let mut ln_sum = 0.0f64;
    for n in 0..MAX_TERMS {
        let n = n as f64;
        let ln_ratio = ((a + n) * (b + n) / ((c + n) * (n + 1.0))).ln() + ln_z;
        ln_term += ln_ratio;
        ln_sum = log_add_exp(ln_sum, ln_term);
        if ln_ratio < 0.0 && ln_term - ln_sum < -39.0 {
            return ln_sum.is_finite().then_some(ln_sum);
        }
    }
    None
}

/// `ln H` and its partial derivatives, for `H(b, c; z) = ₂F₁(1, b; c; z)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LnSeries {
    /// `ln H`.
    pub value: f64,
    /// `∂ ln H / ∂b`.
    pub d_b: f64,
    /// `∂ ln H / ∂c`.
    pub d_c: f64,
    /// `∂ ln H / ∂z`.
    pub d_z: f64,
}

/// `H(b, c; z) = ₂F₁(1, b; c; z) = Σ_{n≥0} (b)_n / (c)_n zⁿ` for `0 < b < c` and `0 ≤ z < 1`,
/// with its derivatives, in one pass. Every term is positive and at most `zⁿ` (the ratio of
/// consecutive terms `(b+n)/(c+n) z` is below z), so the sums neither overflow nor cancel.
/// `None` outside that domain or when the series needs more than 20,000 terms (z within about
/// 2e-3 of 1).
///
/// This is the form the Pareto/NBD likelihood takes after Euler's transformation
/// `₂F₁(a, b; c; z) = (1−z)^{c−a−b} ₂F₁(c−a, c−b; c; z)` with `c = a + 1`.
///
/// # Formula
/// `t₀ = 1`, `t_{n+1} = t_n (b+n)/(c+n) z`; `∂t_n/∂b = t_n Σ_{k<n} 1/(b+k)`,
/// `∂t_n/∂c = −t_n Σ_{k<n} 1/(c+k)`, `∂t_n/∂z = n t_n / z`. Summed until each tail term is
/// below 1e-17 of its sum.
pub fn ln_hyp2f1_unit(b: f64, c: f64, z: f64) -> Option<LnSeries> {
    if !(b > 0.0 && c > b && (0.0..1.0).contains(&z) && c.is_finite()) {
        return None;
    }
    if z == 0.0 {
        return Some(LnSeries {
            value: 0.0,
            d_b: 0.0,
            d_c: 0.0,
            d_z: b / c,
        });
    }
    const EPS: f64 = 1e-17;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    let (mut inv_b, mut inv_c) = (0.0f64, 0.0f64);
    let (mut sum_b, mut sum_c, mut sum_z) = (0.0f64, 0.0f64, 0.0f64);
    for n in 0..MAX_TERMS {
        let n = n as f64;
        let (bn, cn) = (b + n, c + n);
        // One division for the three quotients.
        let q = 1.0 / (bn * cn);
        inv_b += cn * q;
        inv_c += bn * q;
        term *= bn * bn * q * z;
        sum += term;
        sum_b += term * inv_b;
        sum_c += term * inv_c;
        let tz = (n + 1.0) * term;
        sum_z += tz;
        if term <= EPS * sum
            && term * inv_b <= EPS * sum_b
            && term * inv_c <= EPS * sum_c
            && tz <= EPS * sum_z
        {
            return Some(LnSeries {
                value: sum.ln(),
                d_b: sum_b / sum,
                d_c: -sum_c / sum,
                d_z: sum_z / (z * sum),
            });
        }
    }
    None
}

/// `₂F₁(a, b; c; z)` as `(ln |F|, sign)` for `a, b > 0`, `0 ≤ z < 1` and `c > −1`, `c ≠ 0`:
/// the series for `c > 0`; for `−1 < c < 0` (BG/NBD predictions when a + b < 1) Gauss'
/// contiguous relation in c from the two positive series at c + 1 and c + 2:
/// `F(c) = −[(c+1)(c − (2c+1−a−b) z) F(c+1) + (c+1−a)(c+1−b) z F(c+2)] / [(c+1) c (z−1)]`.
pub fn hyp2f1_signed(a: f64, b: f64, c: f64, z: f64) -> Option<(f64, f64)> {
    if c > 0.0 {
        return ln_hyp2f1(a, b, c, z).map(|ln| (ln, 1.0));
    }
    if c <= -1.0 || c.abs() < 1e-12 {
        return None;
    }
    let ln_f1 = ln_hyp2f1(a, b, c + 1.0, z)?;
    let ln_f2 = ln_hyp2f1(a, b, c + 2.0, z)?;
    let scaled = -((c + 1.0) * (c - (2.0 * c + 1.0 - a - b) * z)
        + (c + 1.0 - a) * (c + 1.0 - b) * z * (ln_f2 - ln_f1).exp())
        / ((c + 1.0) * c * (z - 1.0));
    if !scaled.is_finite() || scaled == 0.0 {
        return None;
    }
    Some((ln_f1 + scaled.abs().ln(), scaled.signum()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyp2f1_below_c_zero_matches_scipy() {
        // scipy.special.hyp2f1 (SciPy 1.x) at these arguments.
        for (a, b, c, z, expected) in [
            (0.3, 0.6, -0.4, 0.5, 0.3077861033362293),
            (0.243, 0.6, -0.2, 0.9, -8.41841943448374),
            (1.2, 2.5, -0.7, 0.95, -17173039.242173668),
        ] {
            let (ln, sign) = hyp2f1_signed(a, b, c, z).unwrap();
            let got = sign * ln.exp();
            assert!(
                (got / expected - 1.0).abs() < 1e-9,
                "{a},{b},{c},{z}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        for z in [0.01, 0.3, 0.7, 0.95, 0.99] {
            let exact = -(1.0f64 - z).ln() / z;
            let got = ln_hyp2f1(1.0, 1.0, 2.0, z).unwrap().exp();
            assert!(
                (got / exact - 1.0).abs() < 1e-12,
                "z = {z}: {got} vs {exact}"
            );
        }
        // Too close to 1 for the term budget: refused, not a wrong sum.
        assert_eq!(ln_hyp2f1(1.0, 1.0, 2.0, 0.9999), None);
        // 2F1(a, b; b; z) = (1 - z)^-a
        let got = ln_hyp2f1(2.5, 3.0, 3.0, 0.4).unwrap();
        assert!((got - (-2.5 * 0.6f64.ln())).abs() < 1e-12);
    }

    #[test]
    fn hyp2f1_stays_finite_for_large_parameters() {
        // 2F1(a, b; b; z) = (1 - z)^-a with a in the hundreds: e^(~230)
        let got = ln_hyp2f1(500.0, 40.0, 40.0, 0.37).unwrap();
        assert!((got - (-500.0 * 0.63f64.ln())).abs() < 1e-9);
    }

    #[test]
    fn unit_series_matches_2f1_and_its_derivatives() {
        // H(b, c; z) = 2F1(1, b; c; z); the value against the general series, the
        // derivatives against central differences.
        for (b, c, z) in [(0.3, 1.9, 0.4), (2.5, 40.0, 0.97), (25.0, 26.6, 0.05)] {
            let h = ln_hyp2f1_unit(b, c, z).unwrap();
            let reference = ln_hyp2f1(1.0, b, c, z).unwrap();
            assert!((h.value - reference).abs() < 1e-13 * reference.abs().max(1.0));
            let d = |f: &dyn Fn(f64) -> f64, x: f64| {
                let e = 1e-6 * x.abs().max(1e-3);
                (f(x + e) - f(x - e)) / (2.0 * e)
            };
            let db = d(&|v| ln_hyp2f1_unit(v, c, z).unwrap().value, b);
            let dc = d(&|v| ln_hyp2f1_unit(b, v, z).unwrap().value, c);
            let dz = d(&|v| ln_hyp2f1_unit(b, c, v).unwrap().value, z);
            assert!(
                (h.d_b - db).abs() < 1e-6 * db.abs().max(1e-3),
                "{b} {c} {z}"
            );
            assert!(
                (h.d_c - dc).abs() < 1e-6 * dc.abs().max(1e-3),
                "{b} {c} {z}"
            );
            assert!(
                (h.d_z - dz).abs() < 1e-6 * dz.abs().max(1e-3),
                "{b} {c} {z}"
            );
        }
        assert!(ln_hyp2f1_unit(1.0, 2.0, 0.9999).is_none());
    }
}
