//! `/churn` under the vendors' conventions (docs/formulas.md § 16): each vendor's documented
//! definition and worked example, cited by page, and one hand-made month of customer stories
//! whose five conventions answer in one request, with a check for each difference.

mod common;

use serde_json::{json, Value};

use common::post_json;

fn value(answer: &Value, metric: &str) -> f64 {
    if answer["metric"] == metric {
        return answer["value"].as_f64().unwrap();
    }
    answer["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["metric"] == metric)
        .unwrap_or_else(|| panic!("{metric} missing"))["value"]
        .as_f64()
        .unwrap()
}

#[tokio::test]
async fn chartmogul_worked_examples() {
    // https://help.chartmogul.com/hc/en-us/articles/203359321-Metric-Customer-Churn-rate:
    // "You have 100 customers at the beginning of the month… 11 customers canceled… One
    // customer created an account in the same month that they canceled, so they can be
    // excluded… 10 / 100 = 0.1… Customer Churn Rate is 10%."
    let answer = post_json(
        "/churn",
        &json!({"start_customers": 100, "lost_customers": 11, "new_customers": 1, "joined_and_churned": 1, "convention": "chartmogul"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["value"], 10.0);
    assert_eq!(
        answer.body["breakdown"]["formula"],
        "churn = (L - J - R) / S × 100"
    );
    // https://help.chartmogul.com/hc/en-us/articles/207340419-Churn-rate-formulas: "100
    // customers at the beginning of the month, and during the month 12 customers churned, one
    // of whom reactivated, and one of whom joined during the period": (12 − 1 − 1) / 100.
    let answer = post_json(
        "/churn",
        &json!({"start_customers": 100, "lost_customers": 12, "new_customers": 1, "joined_and_churned": 1, "churned_and_reactivated": 1, "convention": "chartmogul"}),
    )
    .await;
    assert_eq!(answer.body["value"], 10.0);
}

#[tokio::test]
async fn baremetrics_stripe_and_profitwell_definitions() {
    // https://help.baremetrics.com/en/articles/5380347-user-and-revenue-churn: "(Cancelled
    // Customers in the last 30 days ÷ Active Customers 30 days ago) x 100"; "A 5% User Churn
    // Rate means that 5% of the total customers you had 30 days ago have canceled within the
    // last 30 days"; "Customers who are delinquent for more than 30 days are considered to
    // have canceled."
    let bare = |d: u64| json!({"start_customers": 100, "lost_customers": 5, "delinquent_customers": d, "convention": "baremetrics"});
    let rate = |v: &Value| v["value"].as_f64().unwrap();
    assert!((rate(&post_json("/churn", &bare(0)).await.body) - 5.0).abs() < 1e-12);
    assert!((rate(&post_json("/churn", &bare(2)).await.body) - 7.0).abs() < 1e-12);
    // https://support.stripe.com/questions/calculating-churn-rate-in-billing: "the sum of
    // churned subscribers in the past 30 days divided by the number of active subscribers as
    // of 30 days ago, plus any new subscribers in those 30 days"; a subscriber who starts and
    // churns in the window counts "in both the numerator and denominator".
    let stripe = post_json(
        "/churn",
        &json!({"start_customers": 100, "lost_customers": 6, "new_customers": 10, "joined_and_churned": 1, "convention": "stripe"}),
    )
    .await;
    assert!((stripe.body["value"].as_f64().unwrap() - 600.0 / 110.0).abs() < 1e-12);
    assert_eq!(
        stripe.body["breakdown"]["substitution"],
        "6 / (100 + 10) × 100"
    );
    // https://www.paddle.com/help/profitwell-metrics/measure/subscription-retention/are-cancellations-in-the-first-month-counted-as-churn:
    // "When a customer signs up and churns in the same calendar month, we ignore them from
    // your metrics entirely".
    let profitwell = post_json(
        "/churn",
        &json!({"start_customers": 100, "lost_customers": 6, "new_customers": 10, "joined_and_churned": 1, "convention": "profitwell"}),
    )
    .await;
    assert!((rate(&profitwell.body) - 5.0).abs() < 1e-12);
}

/// One customer's month (days 1–30).
struct Story {
    at_start: bool,
    joined: Option<u32>,
    churned: Option<u32>,
    reactivated: Option<u32>,
    delinquent_over_30_days: bool,
}

fn active_on(s: &Story, day: u32, end_of_day: bool) -> bool {
    let started = s.at_start
        || s.joined
            .is_some_and(|j| if end_of_day { j <= day } else { j < day });
    let gone = s
        .churned
        .is_some_and(|c| if end_of_day { c <= day } else { c < day });
    let back = s
        .reactivated
        .is_some_and(|r| if end_of_day { r <= day } else { r < day });
    started && (!gone || back)
}

#[tokio::test]
async fn one_month_of_customer_stories_answers_all_five_conventions_with_each_difference() {
    let plain = |churned: Option<u32>| Story {
        at_start: true,
        joined: None,
        churned,
        reactivated: None,
        delinquent_over_30_days: false,
    };
    let mut stories: Vec<Story> = (0..40).map(|_| plain(None)).collect();
    stories.extend((1..=4).map(|d| plain(Some(d * 6)))); // 4 starting customers churn
    stories.push(Story {
        at_start: true,
        joined: None,
        churned: Some(10),
        reactivated: Some(20),
        delinquent_over_30_days: false,
    }); // churns, comes back
    stories.push(Story {
        at_start: false,
        joined: Some(3),
        churned: Some(15),
        reactivated: None,
        delinquent_over_30_days: false,
    }); // joins and churns
    stories.extend((0..5).map(|i| Story {
        at_start: false,
        joined: Some(5 + i),
        churned: None,
        reactivated: None,
        delinquent_over_30_days: false,
    })); // new, stay
    stories.extend((0..2).map(|_| Story {
        at_start: true,
        joined: None,
        churned: None,
        reactivated: None,
        delinquent_over_30_days: true,
    })); // card failing for 31+ days
         // The counts each convention reads, taken from the stories.
    let start = stories.iter().filter(|s| s.at_start).count() as u64;
    let lost = stories.iter().filter(|s| s.churned.is_some()).count() as u64;
    let new = stories.iter().filter(|s| s.joined.is_some()).count() as u64;
    let joined_and_churned = stories
        .iter()
        .filter(|s| s.joined.is_some() && s.churned.is_some())
        .count() as u64;
    let reactivated = stories
        .iter()
        .filter(|s| s.churned.is_some() && s.reactivated.is_some())
        .count() as u64;
    let delinquent = stories.iter().filter(|s| s.delinquent_over_30_days).count() as u64;
    assert_eq!(
        (
            start,
            lost,
            new,
            joined_and_churned,
            reactivated,
            delinquent
        ),
        (47, 6, 6, 1, 1, 2)
    );
    let days: Vec<Value> = (1..=30)
        .map(|d| {
            let morning: Vec<&Story> = stories.iter().filter(|s| active_on(s, d, false)).collect();
            let kept = morning.iter().filter(|s| active_on(s, d, true)).count();
            json!({"active_at_start": morning.len(), "still_active_at_end": kept})
        })
        .collect();
    let b2c: f64 = days
        .iter()
        .map(|d| {
            1.0 - d["still_active_at_end"].as_f64().unwrap()
                / d["active_at_start"].as_f64().unwrap()
        })
        .sum::<f64>()
        * 100.0;
    let answer = post_json(
        "/churn",
        &json!({"start_customers": start, "lost_customers": lost, "new_customers": new,
                "joined_and_churned": joined_and_churned, "churned_and_reactivated": reactivated,
                "delinquent_customers": delinquent, "days": days, "compare_conventions": true}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let standard = value(&answer.body, "customer_churn_rate");
    assert!((standard - 6.0 / 47.0 * 100.0).abs() < 1e-12);
    // ChartMogul: the joined-and-churned and the came-back customer are not churn.
    assert!(
        (value(&answer.body, "customer_churn_rate_chartmogul") - 4.0 / 47.0 * 100.0).abs() < 1e-12
    );
    // ProfitWell: only the joined-and-churned one is dropped.
    assert!(
        (value(&answer.body, "customer_churn_rate_profitwell") - 5.0 / 47.0 * 100.0).abs() < 1e-12
    );
    // Stripe: the month's six new customers widen the base.
    assert!((value(&answer.body, "customer_churn_rate_stripe") - 6.0 / 53.0 * 100.0).abs() < 1e-12);
    // Baremetrics: the two long-delinquent customers count as cancelled.
    assert!(
        (value(&answer.body, "customer_churn_rate_baremetrics") - 8.0 / 47.0 * 100.0).abs() < 1e-12
    );
    // ChartMogul B2C: the daily rates summed, as computed from the stories above.
    assert!((value(&answer.body, "customer_churn_rate_chartmogul_b2c") - b2c).abs() < 1e-9);
    // Each convention says why it differs.
    for kpi in answer.body["related"].as_array().unwrap() {
        let notes = kpi["context"]["notes"].to_string();
        assert!(notes.contains("Differs from the standard"), "{notes}");
        assert!(notes.contains("Convention: "), "{notes}");
    }
}

#[tokio::test]
async fn counts_that_cannot_be_are_refused_naming_the_field() {
    for (body, pointer) in [
        (
            json!({"start_customers": 100, "lost_customers": 5, "joined_and_churned": 1, "convention": "chartmogul"}),
            "/joined_and_churned",
        ),
        (
            json!({"start_customers": 100, "lost_customers": 5, "new_customers": 3, "joined_and_churned": 3, "churned_and_reactivated": 3, "convention": "chartmogul"}),
            "/churned_and_reactivated",
        ),
        (
            json!({"start_customers": 10, "lost_customers": 9, "delinquent_customers": 5, "convention": "baremetrics"}),
            "/lost_customers",
        ),
        (
            json!({"start_customers": 100, "new_customers": 5, "end_customers": 90, "convention": "stripe"}),
            "/end_customers",
        ),
        (
            json!({"start_customers": 100, "new_customers": 5, "convention": "stripe"}),
            "/lost_customers",
        ),
        (
            json!({"start_customers": 100, "lost_customers": 5, "period": "month", "convention": "stripe"}),
            "/period",
        ),
        (
            json!({"start_customers": 100, "lost_customers": 5, "convention": "chartmogul_b2c"}),
            "/days",
        ),
        (
            json!({"start_customers": 100, "lost_customers": 5, "convention": "chartmogul_b2c", "days": [{"active_at_start": 10, "still_active_at_end": 11}]}),
            "/days/0/still_active_at_end",
        ),
        (
            json!({"start_customers": 100, "lost_customers": 5, "days": [{"active_at_start": 10, "still_active_at_end": 9}]}),
            "/days",
        ),
    ] {
        let answer = post_json("/churn", &body).await;
        answer.assert_problem(422, Some(pointer));
    }
    // Without any convention field, /churn answers exactly as before.
    let answer = post_json(
        "/churn",
        &json!({"start_customers": 1000, "lost_customers": 50}),
    )
    .await;
    assert_eq!(answer.body["value"], 5.0);
    assert_eq!(answer.body["breakdown"]["formula"], "churn = L / S × 100");
}

fn convention<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["conventions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["convention"] == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[tokio::test]
async fn mrr_churn_under_the_conventions() {
    // https://help.chartmogul.com/hc/en-us/articles/207340419-Churn-rate-formulas (B2B): "$100
    // MRR… lost $10 to churn MRR, and $10 to contraction MRR, while one customer increased
    // their MRR by $10, your Gross MRR churn rate would be 20%… Net… 10%".
    let answer = post_json(
        "/revenue-churn",
        &json!({"start_mrr": 100, "churned_mrr": 10, "contraction_mrr": 10, "expansion_mrr": 10, "convention": "chartmogul"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let cm = convention(&answer.body, "chartmogul");
    assert_eq!(cm["gross_mrr_churn"]["value"], 20.0);
    assert_eq!(cm["net_mrr_churn"]["value"], 10.0);
    // The same page (B2C, one day): "$100 MRR at the start of the day… $95… Gross MRR Churn
    // rate would be 5%"; "$100 in MRR at the start of the day and $120… at the end… $10… from
    // new business… net MRR churn rate is −10%".
    let gross_day = post_json(
        "/revenue-churn",
        &json!({"start_mrr": 100, "churned_mrr": 5, "convention": "chartmogul_b2c", "days": [{"start_mrr": 100, "end_mrr": 95, "churned_mrr": 5}]}),
    )
    .await;
    let b2c = convention(&gross_day.body, "chartmogul_b2c");
    assert!((b2c["gross_mrr_churn"]["value"].as_f64().unwrap() - 5.0).abs() < 1e-12);
    let net_day = post_json(
        "/revenue-churn",
        &json!({"start_mrr": 100, "new_mrr": 10, "expansion_mrr": 10, "convention": "chartmogul_b2c", "days": [{"start_mrr": 100, "end_mrr": 120, "new_mrr": 10}]}),
    )
    .await;
    let b2c = convention(&net_day.body, "chartmogul_b2c");
    assert!((b2c["net_mrr_churn"]["value"].as_f64().unwrap() + 10.0).abs() < 1e-12);
    // Gross churn counts only what was lost: never negative, even on a growing day.
    assert_eq!(b2c["gross_mrr_churn"]["value"], 0.0);
    let ignored = post_json(
        "/revenue-churn",
        &json!({"start_mrr": 100, "churned_mrr": 5, "days": [{"start_mrr": 100, "end_mrr": 95}]}),
    )
    .await;
    ignored.assert_problem(422, Some("/days"));
    // https://updates.baremetrics.com/: "(Churned MRR - Expansion MRR) ÷ Starting MRR 30 days
    // ago x 100": reactivation is not credited, unlike the standard net churn.
    let answer = post_json(
        "/revenue-churn",
        &json!({"start_mrr": 100, "churned_mrr": 10, "contraction_mrr": 10, "expansion_mrr": 10, "reactivation_mrr": 5, "compare_conventions": true}),
    )
    .await;
    assert_eq!(
        convention(&answer.body, "standard")["net_mrr_churn"]["value"],
        5.0
    );
    assert_eq!(
        convention(&answer.body, "baremetrics")["net_mrr_churn"]["value"],
        10.0
    );
    assert!(convention(&answer.body, "baremetrics")["differs_because"]
        .as_str()
        .unwrap()
        .contains("reactivation MRR is not subtracted"));
    // Stripe and ProfitWell document no MRR churn rate.
    let refused = post_json(
        "/revenue-churn",
        &json!({"start_mrr": 100, "churned_mrr": 10, "convention": "stripe"}),
    )
    .await;
    refused.assert_problem(422, Some("/convention"));
    // Without convention fields, the answer has no conventions.
    let plain = post_json(
        "/revenue-churn",
        &json!({"start_mrr": 100, "churned_mrr": 10}),
    )
    .await;
    assert!(plain.body.get("conventions").is_none());
}

/// The month of stories above as MRR events (30-day month: April 2026), with March as the
/// month before, so that the starting customers are paying on 1 April.
fn story_events() -> Vec<Value> {
    let mut events = Vec::new();
    let mut add = |id: String, date: String, mrr: u32| {
        events.push(json!({"customer_id": id, "date": date, "mrr": mrr}));
    };
    for i in 0..40 {
        add(format!("stay{i}"), "2026-03-01".into(), 10);
    }
    for d in 1..=4 {
        add(format!("leave{d}"), "2026-03-01".into(), 10);
        add(format!("leave{d}"), format!("2026-04-{:02}", d * 6), 0);
    }
    add("back".into(), "2026-03-01".into(), 10);
    add("back".into(), "2026-04-10".into(), 0);
    add("back".into(), "2026-04-20".into(), 10);
    add("brief".into(), "2026-04-03".into(), 10);
    add("brief".into(), "2026-04-15".into(), 0);
    for i in 0..5 {
        add(format!("new{i}"), format!("2026-04-{:02}", 5 + i), 10);
    }
    for i in 0..2 {
        add(format!("late{i}"), "2026-03-01".into(), 10);
    }
    events
}

#[tokio::test]
async fn the_series_reports_every_convention_from_raw_events() {
    let answer = post_json(
        "/series",
        &json!({"events": story_events(), "period": "month", "from": "2026-04-01", "to": "2026-04-30", "compare_conventions": true}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let april = &answer.body["periods"][0];
    let by = |name: &str| {
        april["churn_by_convention"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["convention"] == name)
            .unwrap()["churn"]["value"]
            .as_f64()
            .unwrap()
    };
    // The same counts as the stories above, read from the events: S = 47 (40 + 4 + back + 2
    // late payers), L = 6 (4 leavers, back, brief), N = 6 (brief + 5 new), J = 1 (brief),
    // R = 1 (back), D = 0 (MRR events carry no delinquency age).
    assert!((by("standard") - 6.0 / 47.0 * 100.0).abs() < 1e-12);
    assert!((by("chartmogul") - 4.0 / 47.0 * 100.0).abs() < 1e-12);
    assert!((by("profitwell") - 5.0 / 47.0 * 100.0).abs() < 1e-12);
    assert!((by("stripe") - 6.0 / 53.0 * 100.0).abs() < 1e-12);
    assert!((by("baremetrics") - 6.0 / 47.0 * 100.0).abs() < 1e-12);
    // B2C: each day's churn among the customers paying that morning, from the same events.
    let mut b2c = 0.0;
    for day in 1..=30 {
        let paying = |end_of_day: bool| -> f64 {
            let on = |d: u32| if end_of_day { d <= day } else { d < day };
            let mut n = 40.0 + 2.0; // the stayers and the late payers
            n += (1..=4).filter(|d| !on(d * 6)).count() as f64;
            n += if !on(10) || on(20) { 1.0 } else { 0.0 };
            n += if on(3) && !on(15) { 1.0 } else { 0.0 };
            n += (0..5).filter(|i| on(5 + i)).count() as f64;
            n
        };
        let (start, end) = (paying(false), paying(true));
        // Customers who start paying that day are not in the morning's count, so the day's
        // churn among the morning's customers is (start − those of them gone by the end).
        let joined_today = (0..5).filter(|i| 5 + i == day).count() as f64
            + if day == 3 || day == 20 { 1.0 } else { 0.0 };
        b2c += 1.0 - (end - joined_today) / start;
    }
    assert!(
        (by("chartmogul_b2c") - b2c * 100.0).abs() < 1e-9,
        "{} against {}",
        by("chartmogul_b2c"),
        b2c * 100.0
    );
}
