//! Competing churn causes: the Aalen–Johansen cumulative incidence of each cause (voluntary
//! cancellation, failed payment, …) with its infinitesimal-jackknife variance, as R's
//! `survfit(Surv(time, cause))` computes them (docs/formulas.md § 18.3).
//!
//! A customer who leaves for one cause can no longer leave for another, so the chance of
//! leaving *for cause k* by t is not 1 − the Kaplan–Meier curve that treats the other causes
//! as censored: that curve pretends the customers who left for another reason could still
//! leave for k, and overstates k. The cumulative incidence weighs each cause's hazard by the
//! chance of still being a customer:
//!
//! ```text
//! Ŝ(t)    = Π_{t_m ≤ t} (1 − d_m / n_m)                 (leaving for any cause)
//! F̂_k(t)  = Σ_{t_m ≤ t} Ŝ(t_{m−1}) d_km / n_m
//! ```
//!
//! Σ_k F̂_k(t) + Ŝ(t) = 1 at every t.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analytics::survival::{Observation, Table};
use crate::cancel::cancelled_error;
use crate::cancel::stop_at;
use crate::kpi::breakdown::num;
use crate::kpi::{Confidence, InvalidInput};

/// Most distinct causes.
pub const MAX_CAUSES: usize = 20;

/// A customer observed from `entry` (0: from the start) to `exit`, leaving then for `cause`
/// (an index into the causes) or still a customer (`None`: censored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CauseObservation {
    pub entry: f64,
    pub exit: f64,
    pub cause: Option<usize>,
}

/// One cause's cumulative incidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CauseCurve {
    pub cause: String,
    /// Customers who left for this cause.
    pub events: u64,
    /// F̂_k at each time of the timeline.
    pub cumulative_incidence: Vec<f64>,
    /// Its standard error: √Σᵢ (∂F̂_k / ∂wᵢ)², the infinitesimal jackknife (R's `std.err`).
    pub std_error: Vec<f64>,
    /// The band at the level on the log scale, F̂ exp(± z SE / F̂), capped at 1 (R's default
    /// `conf.type = "log"`).
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// 1 − the Kaplan–Meier curve that counts only this cause and censors the others: what a
    /// naive analysis reports, never below F̂_k.
    pub one_minus_km: Vec<f64>,
}

/// The curves of one set of customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incidence {
    pub customers: usize,
    /// Every distinct exit time.
    pub timeline: Vec<f64>,
    pub at_risk: Vec<u64>,
    /// Ŝ: still a customer (left for no cause).
    pub survival: Vec<f64>,
    pub causes: Vec<CauseCurve>,
}

/// One group's curves.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupIncidence {
    pub group: String,
    pub incidence: Incidence,
}

/// The answer of `/survival/competing`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompetingRisks {
    pub formula: String,
    pub level_pct: f64,
    /// Everyone.
    pub all: Incidence,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupIncidence>,
    pub notes: Vec<String>,
}

/// Refuses bad times.
fn check(
    rows: &[(CauseObservation, Option<String>)],
    collection: &str,
) -> Result<(), InvalidInput> {
    if rows.is_empty() {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            "must not be empty",
            "no customer was sent",
        ));
    }
    for (i, (o, _)) in rows.iter().enumerate() {
        crate::analytics::survival::check_span(collection, i, o.entry, o.exit)?;
    }
    Ok(())
}

/// The Aalen–Johansen estimate for one set of customers.
///
/// The variance is the infinitesimal jackknife: the derivative of F̂_k(t) with respect to
/// each customer's weight, squared and summed. With λ_km = d_km/n_m, λ_m = d_m/n_m,
/// ρ_m = Ŝ_{m−1}/Ŝ_m, a customer i at risk over the times (e_i, x_i] has influence
///
/// ```text
/// ∂F̂_k(t_j)/∂wᵢ = uᵢ − F̂_k(t_j) vᵢ,
/// uᵢ = [left at x_i ≤ j] (Ŝ_{x−1}[cause k] + ρ_x F̂_k(t_x)) / n_x − Σ_{m ∈ (e_i, min(x_i, j)]} a_m
/// vᵢ = [left at x_i ≤ j] ρ_x / n_x − Σ_{m ∈ (e_i, min(x_i, j)]} b_m
/// a_m = (Ŝ_{m−1} λ_km + ρ_m λ_m F̂_k(t_m)) / n_m,   b_m = ρ_m λ_m / n_m
/// ```
///
/// and the sums of squares over the customers still at risk are kept as running sums, so the
/// whole curve costs O(n log n) however many times it has.
fn aalen_johansen(rows: &[CauseObservation], causes: &[String], z: f64) -> Option<Incidence> {
    let n = rows.len();
    let mut times: Vec<f64> = rows.iter().map(|o| o.exit).collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let jn = times.len();
    let k_count = causes.len();
    // Per time: at risk (the survival table's count, late entry included), events per cause.
    let spans: Vec<Observation> = rows
        .iter()
        .map(|o| Observation {
            entry: o.entry,
            duration: o.exit,
            observed: o.cause.is_some(),
        })
        .collect();
    let table = Table::from_observations(&spans);
    let at_risk: Vec<u64> = times.iter().map(|&t| table.at(t)).collect();
    let index_of = |t: f64| times.partition_point(|x| *x < t);
    let mut deaths = vec![vec![0u64; jn]; k_count];
    for (i, o) in rows.iter().enumerate() {
        if stop_at(i + 1) {
            return None;
        }
        if let Some(k) = o.cause {
            deaths[k][index_of(o.exit)] += 1;
        }
    }
    let total: Vec<u64> = (0..jn)
        .map(|j| (0..k_count).map(|k| deaths[k][j]).sum())
        .collect();
    let lambda: Vec<f64> = (0..jn)
        .map(|j| total[j] as f64 / at_risk[j] as f64)
        .collect();
    // Ŝ_m, and Ŝ_{m−1}.
    let mut survival = Vec::with_capacity(jn);
    let mut s = 1.0;
    for l in &lambda {
        s *= 1.0 - l;
        survival.push(s);
    }
    let before = |m: usize| if m == 0 { 1.0 } else { survival[m - 1] };
    // Each customer's (e_i: the number of times ≤ its entry, x_i: its exit's index).
    let spans: Vec<(usize, usize)> = rows
        .iter()
        .map(|o| {
            let e = if o.entry > 0.0 {
                times.partition_point(|t| *t <= o.entry)
            } else {
                0
            };
            (e, index_of(o.exit))
        })
        .collect();
    // Customers by exit index, and by the index they become at risk from.
    let mut leaving: Vec<Vec<usize>> = vec![Vec::new(); jn];
    let mut joining: Vec<Vec<usize>> = vec![Vec::new(); jn + 1];
    for (i, (e, x)) in spans.iter().enumerate() {
        leaving[*x].push(i);
        joining[*e].push(i);
    }
    let mut curves = Vec::with_capacity(k_count);
    for k in 0..k_count {
        let mut f = Vec::with_capacity(jn);
        let mut acc = 0.0;
        for m in 0..jn {
            acc += before(m) * deaths[k][m] as f64 / at_risk[m] as f64;
            f.push(acc);
        }
        // ρ_m, with the first time Ŝ reaches 0 restarting the product (only reachable with
        // late entry): beyond it nobody remains whose weight could move F̂.
        let rho: Vec<f64> = (0..jn)
            .map(|m| {
                if survival[m] > 0.0 {
                    before(m) / survival[m]
                } else {
                    0.0
                }
            })
            .collect();
        // Prefix sums A(j), B(j) over m < j (index j: times 0..j-1).
        let mut a_prefix = vec![0.0; jn + 1];
        let mut b_prefix = vec![0.0; jn + 1];
        for m in 0..jn {
            let nm = at_risk[m] as f64;
            let lk = deaths[k][m] as f64 / nm;
            a_prefix[m + 1] = a_prefix[m] + (before(m) * lk + rho[m] * lambda[m] * f[m]) / nm;
            b_prefix[m + 1] = b_prefix[m] + rho[m] * lambda[m] / nm;
        }
        // Running sums over the finished customers (fixed u, v) and the active ones.
        let (mut uu, mut uv, mut vv) = (0.0, 0.0, 0.0);
        let (mut count, mut sa, mut saa, mut sb, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let mut variance = Vec::with_capacity(jn);
        for j in 0..jn {
            if stop_at(j + 1) {
                return None;
            }
            // Customers at risk from time j on (e_i = j) join the active set.
            for &i in &joining[j] {
                let e = spans[i].0;
                let (ae, be) = (a_prefix[e], b_prefix[e]);
                count += 1.0;
                sa += ae;
                saa += ae * ae;
                sb += be;
                sbb += be * be;
                sab += ae * be;
            }
            // Customers leaving at j finish: their u, v are fixed from now on.
            for &i in &leaving[j] {
                let (e, x) = spans[i];
                let (ae, be) = (a_prefix[e], b_prefix[e]);
                count -= 1.0;
                sa -= ae;
                saa -= ae * ae;
                sb -= be;
                sbb -= be * be;
                sab -= ae * be;
                let nx = at_risk[x] as f64;
                let (mut u, mut v) = (-(a_prefix[x + 1] - ae), -(b_prefix[x + 1] - be));
                if let Some(c) = rows[i].cause {
                    u += (if c == k { before(x) } else { 0.0 } + rho[x] * f[x]) / nx;
                    v += rho[x] / nx;
                }
                uu += u * u;
                uv += u * v;
                vv += v * v;
            }
            let (astar, bstar) = (a_prefix[j + 1], b_prefix[j + 1]);
            // Active: u = −(A* − A_e), v = −(B* − B_e).
            let act_uu = count * astar * astar - 2.0 * astar * sa + saa;
            let act_vv = count * bstar * bstar - 2.0 * bstar * sb + sbb;
            let act_uv = count * astar * bstar - astar * sb - bstar * sa + sab;
            let fj = f[j];
            let var = (uu + act_uu) - 2.0 * fj * (uv + act_uv) + fj * fj * (vv + act_vv);
            variance.push(var.max(0.0));
        }
        // 1 − KM with the other causes censored.
        let mut km = 1.0;
        let one_minus_km = (0..jn)
            .map(|m| {
                km *= 1.0 - deaths[k][m] as f64 / at_risk[m] as f64;
                1.0 - km
            })
            .collect();
        let std_error: Vec<f64> = variance.iter().map(|v| v.sqrt()).collect();
        let (lower, upper) = f
            .iter()
            .zip(&std_error)
            .map(|(&p, &se)| {
                if p <= 0.0 {
                    (0.0, 0.0)
                } else {
                    let spread = (z * se / p).exp();
                    (p / spread, (p * spread).min(1.0))
                }
            })
            .unzip();
        curves.push(CauseCurve {
            cause: causes[k].clone(),
            events: deaths[k].iter().sum(),
            cumulative_incidence: f,
            std_error,
            lower,
            upper,
            one_minus_km,
        });
    }
    Some(Incidence {
        customers: n,
        timeline: times,
        at_risk,
        survival,
        causes: curves,
    })
}

/// Cumulative incidence of each cause for everyone and per group. `rows` carry a cause name
/// (`None`: still a customer) and a group; at most `max_groups` groups.
pub fn competing_risks(
    rows: &[(f64, f64, Option<String>, Option<String>)],
    confidence: Confidence,
    collection: &str,
    max_groups: usize,
) -> Result<CompetingRisks, InvalidInput> {
    if rows.is_empty() {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            "must not be empty",
            "no customer was sent",
        ));
    }
    let names: std::collections::BTreeSet<&String> =
        rows.iter().filter_map(|r| r.2.as_ref()).collect();
    let causes: Vec<String> = names.into_iter().cloned().collect();
    if causes.is_empty() {
        return Err(InvalidInput::new(
            format!("/{collection}/0/cause"),
            "at least one customer who left for a cause",
            "no row carries a cause: give the reason each ended customer left (e.g. voluntary, involuntary) and null for those still active",
        ));
    }
    if causes.len() > MAX_CAUSES {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            format!("at most {MAX_CAUSES} causes"),
            format!("the rows name {} causes", causes.len()),
        ));
    }
    if let Some(i) = rows.iter().position(|r| r.2.as_deref() == Some("")) {
        return Err(InvalidInput::new(
            format!("/{collection}/{i}/cause"),
            "must not be empty",
            format!("{collection}[{i}] has an empty cause: give null for a customer still active"),
        ));
    }
    let observations: Vec<(CauseObservation, Option<String>)> = rows
        .iter()
        .map(|(entry, exit, cause, group)| {
            (
                CauseObservation {
                    entry: *entry,
                    exit: *exit,
                    cause: cause.as_ref().and_then(|c| causes.binary_search(c).ok()),
                },
                group.clone(),
            )
        })
        .collect();
    check(&observations, collection)?;
    let z = confidence.z();
    let all_rows: Vec<CauseObservation> = observations.iter().map(|r| r.0).collect();
    let all = aalen_johansen(&all_rows, &causes, z).ok_or_else(cancelled_error)?;
    let mut by_group: BTreeMap<String, Vec<CauseObservation>> = BTreeMap::new();
    if observations.iter().any(|r| r.1.is_some()) {
        for (o, g) in &observations {
            by_group
                .entry(g.clone().unwrap_or_default())
                .or_default()
                .push(*o);
        }
    }
    if by_group.len() > max_groups {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            format!("at most {max_groups} groups"),
            format!("the rows name {} groups", by_group.len()),
        ));
    }
    let mut groups = Vec::new();
    for (group, obs) in by_group {
        groups.push(GroupIncidence {
            group,
            incidence: aalen_johansen(&obs, &causes, z).ok_or_else(cancelled_error)?,
        });
    }
    let mut notes = vec![format!(
        "Aalen-Johansen cumulative incidence per cause with infinitesimal-jackknife standard errors and a {} % log band, as R's survfit(Surv(time, cause)) gives them.",
        num(confidence.level() * 100.0)
    )];
    if let Some(last) = all.timeline.len().checked_sub(1) {
        for c in &all.causes {
            let (aj, naive) = (c.cumulative_incidence[last], c.one_minus_km[last]);
            if naive > aj + 1e-12 {
                notes.push(format!(
                    "By {}, {} % left for {}; 1 - Kaplan-Meier with the other causes censored says {} %, because it counts the customers who already left for another reason as still able to leave for {}.",
                    num(all.timeline[last]),
                    num((aj * 1000.0).round() / 10.0),
                    c.cause,
                    num((naive * 1000.0).round() / 10.0),
                    c.cause
                ));
            }
        }
    }
    if all_rows.iter().any(|o| o.entry > 0.0) {
        notes.push("Late entry: a customer counts as at risk only after the tenure it was first observed at (entry).".to_owned());
    }
    Ok(CompetingRisks {
        formula: "F_k(t) = sum over t_m <= t of S(t_(m-1)) * d_km / n_m".to_owned(),
        level_pct: confidence.level() * 100.0,
        all,
        groups,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_r_on_a_small_set() {
        // R 4.2.2, survival 3.5.3: survfit(Surv(time, cause) ~ 1) with time 1,2,2,2,3,4,4,5,
        // 6,6,7,8 and cause vol, inv, -, vol, vol, -, inv, vol, -, inv, vol, -.
        let time = [1., 2., 2., 2., 3., 4., 4., 5., 6., 6., 7., 8.];
        let cause = ["v", "i", "", "v", "v", "", "i", "v", "", "i", "v", ""];
        let rows: Vec<_> = time
            .iter()
            .zip(cause)
            .map(|(t, c)| (0.0, *t, (!c.is_empty()).then(|| c.to_owned()), None))
            .collect();
        let fit = competing_risks(&rows, Confidence::default(), "observations", 10).unwrap();
        let v = &fit.all.causes[1];
        let i = &fit.all.causes[0];
        let pv = [
            0.08333333, 0.16666667, 0.26041667, 0.26041667, 0.37291667, 0.37291667, 0.54166667,
            0.54166667,
        ];
        let sv = [
            0.07978559, 0.10758287, 0.13001722, 0.13001722, 0.15077335, 0.15077335, 0.17327607,
            0.17327607,
        ];
        let si = [
            0.0, 0.07978559, 0.07978559, 0.11400977, 0.11400977, 0.14278954, 0.14278954, 0.14278954,
        ];
        for m in 0..8 {
            assert!((v.cumulative_incidence[m] - pv[m]).abs() < 1e-8, "F {m}");
            assert!(
                (v.std_error[m] - sv[m]).abs() < 1e-8,
                "se v {m}: {}",
                v.std_error[m]
            );
            assert!(
                (i.std_error[m] - si[m]).abs() < 1e-8,
                "se i {m}: {}",
                i.std_error[m]
            );
        }
    }

    #[test]
    fn an_abandoned_estimate_stops_with_no_answer() {
        let rows: Vec<_> = (0..20_000)
            .map(|i| {
                (
                    0.0,
                    f64::from(i % 900) + 1.0,
                    (i % 4 != 0).then(|| ["v", "i"][i as usize % 2].to_owned()),
                    None,
                )
            })
            .collect();
        assert!(competing_risks(&rows, Confidence::default(), "observations", 10).is_ok());
        let raised = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let refused = crate::cancel::cancellable(raised, || {
            competing_risks(&rows, Confidence::default(), "observations", 10)
        })
        .unwrap_err();
        assert_eq!(refused.reason, "the fit was cancelled");
    }
}
