//! Properties of the core over generated inputs: the identities between metrics hold, every
//! number in every answer is finite, and every impossible input is refused, never computed.

use proptest::prelude::*;

use retention_kpi::http::respond;
use retention_kpi::kpi::ab_test::{
    compare_nps, compare_rates, Proportion, RateKind, SampleSizeGoal,
};
use retention_kpi::kpi::clv::{customer_lifetime_value, ClvMethod};
use retention_kpi::kpi::engagement::{engagement_score, Component, EngagementInputs, Measure};
use retention_kpi::kpi::nps::{net_promoter_score, NpsCounts};
use retention_kpi::kpi::retention::{
    churn_report, retention_report, ChurnCounts, Period, RetentionCounts,
};
use retention_kpi::kpi::revenue::{revenue_churn_report, MrrMovements};
use retention_kpi::kpi::{Breakdown, Confidence, Kpi, KpiResponse, Unit};

const MAX_COUNT: u64 = (1 << 53) - 1;

/// Every number a KPI carries is finite.
fn assert_finite(kpi: &Kpi) {
    assert!(kpi.value.is_finite(), "{} = {}", kpi.metric, kpi.value);
    for step in &kpi.breakdown.steps {
        assert!(
            step.value.is_finite(),
            "{}: step {}",
            kpi.metric,
            step.label
        );
    }
    for (letter, input) in &kpi.breakdown.inputs {
        assert!(
            input.as_f64().is_some_and(f64::is_finite),
            "{}: input {letter}",
            kpi.metric
        );
    }
    if let Some(i) = &kpi.interval {
        let optional = [i.margin_of_error, i.standard_error];
        for v in [i.lower, i.upper]
            .into_iter()
            .chain(optional.into_iter().flatten())
        {
            assert!(v.is_finite(), "{}: interval", kpi.metric);
        }
        assert!(
            i.lower <= kpi.value && kpi.value <= i.upper,
            "{}: interval",
            kpi.metric
        );
    }
}

/// The answer writer's JSON is byte for byte serde_json's when every number is finite; an
/// answer holding a NaN or an infinity is refused (serde_json would write `null`).
fn assert_written_as_serde(answer: &KpiResponse, all_finite: bool) {
    match respond::to_vec(answer) {
        Ok(bytes) => {
            assert!(all_finite, "an answer with a non-finite number was written");
            assert_eq!(
                String::from_utf8(bytes).unwrap(),
                serde_json::to_string(answer).unwrap()
            );
        }
        Err(refused) => {
            assert!(!all_finite, "a finite answer was refused: {refused}");
            assert_eq!(refused, respond::Refused::NonFinite);
        }
    }
}

fn period() -> impl Strategy<Value = Period> {
    prop_oneof![
        Just(Period::Day),
        Just(Period::Week),
        Just(Period::Month),
        Just(Period::Quarter),
        Just(Period::Year)
    ]
}

/// Counts with a bias towards the edges: small, huge and the largest accepted.
fn count() -> impl Strategy<Value = u64> {
    prop_oneof![0..20u64, 0..1_000_000u64, 0..=MAX_COUNT, Just(MAX_COUNT)]
}

fn confidence() -> impl Strategy<Value = Confidence> {
    proptest::option::of(prop_oneof![Just(0.5), 0.5..0.999f64, Just(0.999)])
        .prop_map(|level| Confidence::new(level).unwrap())
}

fn money() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), 0.0..1.0f64, 0.0..1e6f64, 0.0..1e12f64]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn retention_plus_churn_is_100_for_the_same_period(s in count(), n in count(), e in count(), p in proptest::option::of(period()), level in confidence()) {
        match RetentionCounts::new(s, n, e) {
            Ok(counts) => {
                let report = retention_report(&counts, level);
                let crr = report.kpi.value;
                let churn = report.related[0].value;
                prop_assert!((crr + churn - 100.0).abs() < 1e-9);
                prop_assert!((0.0..=100.0).contains(&crr));
                assert_finite(&report.kpi);
                report.related.iter().for_each(assert_finite);
                assert_written_as_serde(&report, true);
                let churn_answer = churn_report(&ChurnCounts::from_counts(counts), p, level);
                assert_written_as_serde(&churn_answer, true);
                prop_assert!((churn_answer.kpi.value - churn).abs() < 1e-9);
                for kpi in std::iter::once(&churn_answer.kpi).chain(&churn_answer.related) {
                    assert_finite(kpi);
                    prop_assert!((0.0..=100.0 + 1e-9).contains(&kpi.value), "{} = {}", kpi.metric, kpi.value);
                }
            }
            // Refused exactly when the counts are impossible.
            Err(_) => prop_assert!(s == 0 || n > e || e - n > s),
        }
    }

    #[test]
    fn churn_from_a_lost_count_is_refused_only_when_impossible(s in count(), lost in count(), p in proptest::option::of(period()), level in confidence()) {
        match ChurnCounts::from_lost(s, lost, None, None) {
            Ok(counts) => {
                let answer = churn_report(&counts, p, level);
                // Every rate's interval: the Wilson one for the measured rates, the carried
                // one for the equivalents; the retention's bounds mirror the churn's.
                let (churn, retention) = (&answer.kpi, &answer.related[0]);
                let (ci, ri) = (churn.interval.as_ref().unwrap(), retention.interval.as_ref().unwrap());
                prop_assert!((ci.lower + ri.upper - 100.0).abs() < 1e-9 && (ci.upper + ri.lower - 100.0).abs() < 1e-9);
                prop_assert!(answer.related.iter().all(|k| k.interval.is_some()));
                prop_assert!((answer.kpi.value + answer.related[0].value - 100.0).abs() < 1e-9);
                std::iter::once(&answer.kpi).chain(&answer.related).for_each(assert_finite);
                assert_written_as_serde(&answer, true);
            }
            Err(_) => prop_assert!(s == 0 || lost > s),
        }
    }

    #[test]
    fn grr_is_at_most_100_and_nrr_minus_grr_is_the_expansion_share(
        start in money(), new in money(), expansion in money(), contraction in money(),
        churned in money(), reactivation in money()
    ) {
        match MrrMovements::new(start, new, expansion, contraction, churned, reactivation) {
            Ok(m) => {
                let report = revenue_churn_report(&m);
                report.metrics.iter().for_each(assert_finite);
                let get = |name: &str| report.metrics.iter().find(|k| k.metric == name).map(|k| k.value);
                let (grr, nrr) = (get("grr").unwrap(), get("nrr").unwrap());
                prop_assert!((-1e-9..=100.0 + 1e-9).contains(&grr));
                let expansion_share = expansion / start * 100.0;
                prop_assert!((nrr - grr - expansion_share).abs() <= 1e-9 * expansion_share.abs().max(1.0));
                prop_assert_eq!(report.negative_churn, get("net_mrr_churn").unwrap() < 0.0);
                prop_assert_eq!(get("quick_ratio").is_some(), churned + contraction > 0.0);
            }
            Err(_) => prop_assert!(start == 0.0 || churned + contraction > start),
        }
    }

    #[test]
    fn negative_money_is_always_refused(amount in -1e12..-1e-9f64, field in 0..6usize) {
        let mut inputs = [100.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        inputs[field] = amount;
        let [s, n, x, c, l, r] = inputs;
        prop_assert!(MrrMovements::new(s, n, x, c, l, r).is_err());
        prop_assert!(ClvMethod::simple(amount, 1.0, 1.0).is_err());
        prop_assert!(ClvMethod::historical(vec![10.0, amount], 50.0).is_err());
    }

    #[test]
    fn nps_and_its_interval_stay_within_their_range(p in count(), a in count(), d in count()) {
        match NpsCounts::new(p, a, d) {
            Ok(counts) => {
                let answer = net_promoter_score(&counts, Confidence::default());
                assert_finite(&answer.kpi);
                assert_written_as_serde(&answer, true);
                answer.related.iter().for_each(assert_finite);
                let nps = answer.kpi.value;
                prop_assert!((-100.0..=100.0).contains(&nps));
                let interval = answer.kpi.interval.unwrap();
                prop_assert!(interval.lower >= -100.0 && interval.upper <= 100.0);
                prop_assert!(interval.lower <= nps + 1e-9 && nps <= interval.upper + 1e-9);
                let shares: f64 = answer.related.iter().map(|k| k.value).sum();
                prop_assert!((shares - 100.0).abs() < 1e-9);
            }
            Err(_) => prop_assert!(p as u128 + a as u128 + d as u128 == 0 || p as u128 + a as u128 + d as u128 > 1 << 53),
        }
    }

    #[test]
    fn scores_off_the_scale_are_refused(good in proptest::collection::vec(0..=10u8, 0..20), bad in prop_oneof![-1e9..-0.5f64, 10.5..1e9f64, 0.01..0.99f64]) {
        let mut scores: Vec<f64> = good.iter().map(|&s| f64::from(s)).collect();
        let at = scores.len() / 2;
        scores.insert(at, bad);
        let err = NpsCounts::from_scores(&scores).unwrap_err();
        prop_assert_eq!(err.pointer, format!("/scores/{at}"));
    }

    #[test]
    fn clv_is_finite_or_refused(
        v in money(), f in money(), l in money(), margin in 0.0..=100.0f64, churn in 0.0..=100.0f64,
        margins in proptest::collection::vec(money(), 1..40), r in 0.0..=100.0f64, d in 0.0..1000.0f64,
        cac in proptest::option::of(money())
    ) {
        for method in [
            ClvMethod::simple(v, f, l),
            ClvMethod::churn_based(v, margin, churn),
            ClvMethod::discounted(margins.clone(), r, d, f.min(1e3)),
            ClvMethod::historical(margins.clone(), margin),
        ] {
            let Ok(method) = method else { continue };
            let cac = cac.filter(|&c| c > 0.0);
            if let Ok(answer) = customer_lifetime_value(&method, cac) {
                assert_finite(&answer.kpi);
                assert_written_as_serde(&answer, true);
                answer.related.iter().for_each(assert_finite);
            }
        }
        prop_assert!(ClvMethod::churn_based(v, margin, 0.0).is_err());
    }

    #[test]
    fn engagement_scores_lie_between_0_and_100(
        parts in proptest::collection::vec((0..1000u64, 1..1000u64, 0.0..1.0f64, -1e6..1e6f64, 1e-3..1e6f64, any::<bool>(), 0.0..10.0f64), 1..10)
    ) {
        let components: Vec<Component> = parts.iter().enumerate().map(|(i, &(x, total, t, min, width, as_rate, w))| {
            let measure = if as_rate {
                Measure::Rate { participants: x.min(total), total }
            } else {
                Measure::Scaled { value: min + t * width, min, max: min + width, higher_is_better: x % 2 == 0 }
            };
            Component::new(&format!("/components/{i}"), format!("c{i}"), measure, w).unwrap()
        }).collect();
        if let Ok(inputs) = EngagementInputs::new(components) {
            let report = engagement_score(&inputs).unwrap();
            assert_finite(&report.kpi);
            prop_assert!((-1e-9..=100.0 + 1e-9).contains(&report.kpi.value));
            let total: f64 = report.components.iter().map(|c| c.contribution).sum();
            prop_assert!((total - report.kpi.value).abs() < 1e-9);
        } else {
            prop_assert!(parts.iter().all(|p| p.6 == 0.0));
        }
    }

    #[test]
    fn ab_tests_answer_p_values_between_0_and_1(
        x1 in 0..5000u64, n1 in 1..5000u64, x2 in 0..5000u64, n2 in 1..5000u64,
        effect in proptest::option::of(0.1..50.0f64)
    ) {
        let control = Proportion::new("control", x1.min(n1), n1).unwrap();
        let variant = Proportion::new("variant", x2.min(n2), n2).unwrap();
        let goal = effect.map(|e| SampleSizeGoal::new(e, 80.0, 100.0).unwrap());
        for kind in [RateKind::Retention, RateKind::Churn] {
            let report = compare_rates(kind, control, variant, goal, Confidence::default()).unwrap();
            prop_assert!((0.0..=1.0).contains(&report.test.p_value), "p = {}", report.test.p_value);
            assert_finite(&report.comparison.kpi);
            report.comparison.related.iter().for_each(assert_finite);
        }
        let nps = |p: u64, d: u64| NpsCounts::new(p, 1, d).unwrap();
        let report = compare_nps(nps(x1, n1), nps(x2, n2), goal, Confidence::default()).unwrap();
        prop_assert!((0.0..=1.0).contains(&report.test.p_value));
        assert_finite(&report.comparison.kpi);
    }

    #[test]
    fn impossible_groups_are_refused(x in 1..1000u64, n in 0..1000u64) {
        prop_assert_eq!(Proportion::new("control", n + x, n).is_err(), true);
        prop_assert!(Proportion::new("control", 0, 0).is_err());
    }

    #[test]
    fn any_text_and_any_number_are_written_as_serde_writes_them(
        texts in proptest::collection::vec(any::<String>(), 6),
        numbers in proptest::collection::vec(prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(-0.0)], 4),
        integer in any::<i64>()
    ) {
        let breakdown = Breakdown::new(texts[0].clone(), texts[1].clone())
            .input(texts[2].clone(), integer)
            .input("x", numbers[0])
            .step(texts[3].clone(), texts[4].clone(), numbers[1]);
        let kpi = Kpi::new(texts[5].clone(), numbers[2], Unit::Score, breakdown).note(texts[0].clone());
        let answer = KpiResponse::new(kpi.clone()).with(Kpi { value: numbers[3], ..kpi });
        assert_written_as_serde(&answer, numbers.iter().all(|x| x.is_finite()));
    }
}
