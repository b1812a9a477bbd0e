//! `/survival` with late entry, the Nelson–Aalen cumulative hazard and parametric (Weibull,
//! log-logistic) extrapolation, and `/survival/competing`, against R's `survival` 3.5.3 and
//! lifelines 0.30.3.
//!
//! References: tests/fixtures/r_cox_reference.json (tests/fixtures/cox_reference.R) and
//! tests/fixtures/lifelines_cox_reference.json (tests/fixtures/cox_reference.py), on
//! tests/fixtures/{late_entry,competing,weibull_data}.csv (tests/fixtures/cox_datasets.py) and
//! rossi.csv.

mod common;

use serde_json::{json, Value};

fn r() -> Value {
    serde_json::from_str(include_str!("fixtures/r_cox_reference.json")).unwrap()
}

fn lifelines() -> Value {
    serde_json::from_str(include_str!("fixtures/lifelines_cox_reference.json")).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(ours: f64, theirs: f64, tolerance: f64, what: &str) {
    assert!(
        (ours - theirs).abs() <= tolerance * theirs.abs().max(1.0),
        "{what}: ours {ours}, reference {theirs}"
    );
}

fn csv(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

async fn ok(path: &str, body: Value) -> Value {
    let answer = common::post_json(path, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

fn late_entry() -> Vec<Value> {
    csv(include_str!("fixtures/late_entry.csv"))
        .iter()
        .map(|c| json!({"entry": c[0].parse::<f64>().unwrap(), "duration": c[1].parse::<f64>().unwrap(), "observed": c[2] == "1"}))
        .collect()
}

#[tokio::test]
async fn late_entry_kaplan_meier_and_nelson_aalen_equal_r() {
    let expected = &r()["late_entry"]["km"];
    let ours = ok("/survival", json!({"observations": late_entry()})).await;
    let curve = &ours["curve"];
    // Our timeline starts at 0 (S = 1); R's at the first exit time.
    assert_eq!(curve["timeline"][0], 0.0);
    let times = expected["time"].as_array().unwrap();
    assert_eq!(curve["timeline"].as_array().unwrap().len(), times.len() + 1);
    let z = 1.959963984540054;
    for (i, t) in times.iter().enumerate() {
        let k = i + 1;
        assert_eq!(f(&curve["timeline"][k]), f(t));
        assert_eq!(curve["at_risk"][k], expected["n.risk"][i], "n at {t}");
        assert_eq!(curve["churned"][k], expected["n.event"][i]);
        assert_eq!(curve["censored"][k], expected["n.censor"][i]);
        close(
            f(&curve["survival"][k]),
            f(&expected["surv"][i]),
            1e-12,
            "S",
        );
        if expected["lower"][i].is_null() {
            // Ŝ = 0: R gives no band; ours is [0, 0].
            assert_eq!(curve["ci_lower"][k], 0.0);
            assert_eq!(curve["ci_upper"][k], 0.0);
        } else {
            close(
                f(&curve["ci_lower"][k]),
                f(&expected["lower"][i]),
                1e-9,
                "lower",
            );
            close(
                f(&curve["ci_upper"][k]),
                f(&expected["upper"][i]),
                1e-9,
                "upper",
            );
        }
        let h = f(&curve["cumulative_hazard"][k]);
        close(h, f(&expected["cumhaz"][i]), 1e-12, "Nelson-Aalen");
        // The band is H exp(± z se / H): its width gives back R's std.chaz.
        let se = (f(&curve["cumulative_hazard_upper"][k]) / h).ln() * h / z;
        close(se, f(&expected["std.chaz"][i]), 1e-9, "std.chaz");
        close(
            f(&curve["cumulative_hazard_lower"][k]),
            h * (-z * f(&expected["std.chaz"][i]) / h).exp(),
            1e-9,
            "lower H",
        );
    }
    assert!(ours["notes"].to_string().contains("Late entry"));
    // The number at risk at chosen times counts the late entrants already in.
    let at = ok(
        "/survival",
        json!({"observations": late_entry(), "times": [1, 2, 3]}),
    )
    .await;
    for (i, _) in [1, 2, 3].iter().enumerate() {
        assert_eq!(at["curve"]["at_times"][i]["at_risk"], expected["n.risk"][i]);
    }
}

#[tokio::test]
async fn nelson_aalen_on_rossi_equals_lifelines_without_smoothing() {
    let rows: Vec<Value> = csv(include_str!("fixtures/rossi.csv"))
        .iter()
        .map(|c| json!({"duration": c[0].parse::<f64>().unwrap(), "observed": c[1] == "1"}))
        .collect();
    let ours = ok("/survival", json!({"observations": rows})).await;
    let theirs = &lifelines()["nelson_aalen"]["rossi"]["no_smoothing"];
    let timeline = theirs["timeline"].as_array().unwrap();
    assert_eq!(
        ours["curve"]["timeline"].as_array().unwrap().len(),
        timeline.len()
    );
    for (i, t) in timeline.iter().enumerate() {
        assert_eq!(f(&ours["curve"]["timeline"][i]), f(t));
        close(
            f(&ours["curve"]["cumulative_hazard"][i]),
            f(&theirs["cumulative_hazard"][i]),
            1e-12,
            "H",
        );
    }
}

#[tokio::test]
async fn subscriptions_observed_from_a_date_enter_late() {
    // Data that begin on 2026-03-01: the subscription from 2026-01-01 enters at day 59.
    let subs = ok("/survival", json!({"as_of": "2026-06-01", "observed_from": "2026-03-01", "subscriptions": [
        {"start": "2026-01-01", "end": "2026-04-01"}, {"start": "2026-03-10", "end": "2026-05-01"},
        {"start": "2026-02-01", "end": null}, {"start": "2026-04-01", "end": "2026-04-21"}
    ]})).await;
    let obs = ok(
        "/survival",
        json!({"observations": [
            {"entry": 59, "duration": 90, "observed": true}, {"duration": 52, "observed": true},
            {"entry": 28, "duration": 120, "observed": false}, {"duration": 20, "observed": true}
        ]}),
    )
    .await;
    let mut without_unit = subs.clone();
    without_unit.as_object_mut().unwrap().remove("unit");
    assert_eq!(without_unit, obs);
    // By hand: at day 20 only the two observed from their start are at risk (the others
    // entered at 28 and 59): Ŝ(20) = 1/2.
    assert_eq!(obs["curve"]["at_risk"][1], 2);
    assert_eq!(obs["curve"]["survival"][1], 0.5);
    let refused = common::post_json("/survival", &json!({"as_of": "2026-06-01", "observed_from": "2026-03-01", "subscriptions": [{"start": "2026-01-01", "end": "2026-02-01"}]})).await;
    refused.assert_problem(422, Some("/subscriptions/0/end"));
    let refused = common::post_json("/survival", &json!({"as_of": "2026-06-01", "observed_from": "2026-06-01", "subscriptions": [{"start": "2026-01-01", "end": null}]})).await;
    refused.assert_problem(422, Some("/observed_from"));
    let refused = common::post_json(
        "/survival",
        &json!({"observations": [{"entry": 5, "duration": 5, "observed": true}]}),
    )
    .await;
    refused.assert_problem(422, Some("/observations/0/entry"));
}

#[tokio::test]
async fn weibull_and_log_logistic_equal_lifelines() {
    let reference = lifelines();
    let rossi: Vec<Value> = csv(include_str!("fixtures/rossi.csv"))
        .iter()
        .map(|c| json!({"duration": c[0].parse::<f64>().unwrap(), "observed": c[1] == "1"}))
        .collect();
    let generated: Vec<Value> = csv(include_str!("fixtures/weibull_data.csv"))
        .iter()
        .map(|c| json!({"duration": c[0].parse::<f64>().unwrap(), "observed": c[1] == "1", "entry": c[2].parse::<f64>().unwrap()}))
        .collect();
    for (set, rows) in [("rossi", rossi), ("weibull_data", generated)] {
        let times = &reference["weibull"][set]["times"];
        let ours = ok(
            "/survival",
            json!({"observations": rows, "parametric": {"times": times}}),
        )
        .await;
        let fits = &ours["parametric"]["fits"];
        for (k, family, names) in [
            (0, "weibull", ["lambda_", "rho_"]),
            (1, "loglogistic", ["alpha_", "beta_"]),
        ] {
            let fit = &fits[k];
            for (which, tolerance) in [("exact_mle", 1e-8), ("lifelines", 1e-6)] {
                let theirs = &reference[family][set][which];
                for (j, name) in names.iter().enumerate() {
                    close(
                        f(&fit["parameters"][j]["estimate"]),
                        f(&theirs["params"][name]),
                        tolerance,
                        &format!("{set} {family} {which} {name}"),
                    );
                    close(
                        f(&fit["parameters"][j]["std_error"]),
                        f(&theirs["standard_errors"][name]),
                        tolerance,
                        &format!("{set} {family} {which} se {name}"),
                    );
                }
                close(
                    f(&fit["log_likelihood"]),
                    f(&theirs["log_likelihood"]),
                    1e-10,
                    "log-likelihood",
                );
                close(f(&fit["aic"]), f(&theirs["AIC"]), 1e-10, "AIC");
                for (i, _) in times.as_array().unwrap().iter().enumerate() {
                    close(
                        f(&fit["survival"][i]["estimate"]),
                        f(&theirs["survival_function_at_times"][i]),
                        tolerance,
                        "S(t)",
                    );
                    let (lo, hi) = (
                        f(&fit["survival"][i]["lower"]),
                        f(&fit["survival"][i]["upper"]),
                    );
                    assert!(
                        lo <= f(&fit["survival"][i]["estimate"])
                            && f(&fit["survival"][i]["estimate"]) <= hi
                    );
                }
                close(
                    f(&fit["median"]["estimate"]),
                    f(&theirs["median_survival_time"]),
                    tolerance,
                    "median",
                );
                if let Some(mean) = theirs.get("mean") {
                    close(f(&fit["mean"]["estimate"]), f(mean), tolerance, "mean");
                }
            }
        }
        let preferred = if f(&fits[0]["aic"]) <= f(&fits[1]["aic"]) {
            "weibull"
        } else {
            "log_logistic"
        };
        assert_eq!(ours["parametric"]["preferred"], preferred);
    }
    // The log-logistic mean on rossi: α (π/β) / sin(π/β).
    let refused = common::post_json("/survival", &json!({"observations": [{"duration": 0, "observed": true}, {"duration": 3, "observed": true}], "parametric": {"times": [5]}})).await;
    refused.assert_problem(422, Some("/observations/0/duration"));
}

fn competing_rows() -> Vec<Value> {
    csv(include_str!("fixtures/competing.csv"))
        .iter()
        .map(|c| json!({"duration": c[0].parse::<f64>().unwrap(), "cause": if c[1].is_empty() { Value::Null } else { json!(c[1]) }, "group": c[2]}))
        .collect()
}

/// Our incidence against R's block for one set of customers.
fn same_incidence(ours: &Value, theirs: &Value, what: &str) {
    let times = theirs["time"].as_array().unwrap();
    assert_eq!(
        ours["timeline"].as_array().unwrap().len(),
        times.len(),
        "{what}"
    );
    for (i, t) in times.iter().enumerate() {
        assert_eq!(f(&ours["timeline"][i]), f(t));
        assert_eq!(ours["at_risk"][i], theirs["n.risk"][i], "{what} n at {t}");
        close(
            f(&ours["survival"][i]),
            f(&theirs["pstate"]["initial"][i]),
            1e-12,
            "S",
        );
        let mut total = f(&ours["survival"][i]);
        for cause in ours["causes"].as_array().unwrap() {
            let name = cause["cause"].as_str().unwrap();
            close(
                f(&cause["cumulative_incidence"][i]),
                f(&theirs["pstate"][name][i]),
                1e-12,
                &format!("{what} F {name} at {t}"),
            );
            close(
                f(&cause["std_error"][i]),
                f(&theirs["std.err"][name][i]),
                1e-9,
                &format!("{what} se {name} at {t}"),
            );
            if f(&theirs["pstate"][name][i]) > 0.0 {
                close(
                    f(&cause["lower"][i]),
                    f(&theirs["lower"][name][i]),
                    1e-9,
                    "lower",
                );
                close(
                    f(&cause["upper"][i]),
                    f(&theirs["upper"][name][i]),
                    1e-9,
                    "upper",
                );
            }
            assert!(f(&cause["one_minus_km"][i]) >= f(&cause["cumulative_incidence"][i]) - 1e-15);
            total += f(&cause["cumulative_incidence"][i]);
        }
        close(total, 1.0, 1e-12, "states add up to 1");
    }
}

#[tokio::test]
async fn aalen_johansen_equals_r_survfit_with_ties_and_groups() {
    let reference = r();
    let ours = ok(
        "/survival/competing",
        json!({"observations": competing_rows()}),
    )
    .await;
    same_incidence(&ours["all"], &reference["competing"]["all"], "all");
    for g in ours["groups"].as_array().unwrap() {
        let name = g["group"].as_str().unwrap();
        same_incidence(
            &g["incidence"],
            &reference["competing"]["groups"][name],
            name,
        );
    }
    assert!(ours["notes"].to_string().contains("1 - Kaplan-Meier"));
}

#[tokio::test]
async fn aalen_johansen_with_late_entry_equals_r() {
    let rows: Vec<Value> = csv(include_str!("fixtures/late_entry.csv"))
        .iter()
        .map(|c| {
            let cause = match (c[2].as_str(), c[5].as_str()) {
                ("0", _) => Value::Null,
                (_, "a") => json!("voluntary"),
                _ => json!("involuntary"),
            };
            json!({"entry": c[0].parse::<f64>().unwrap(), "duration": c[1].parse::<f64>().unwrap(), "cause": cause})
        })
        .collect();
    let ours = ok("/survival/competing", json!({"observations": rows})).await;
    same_incidence(
        &ours["all"],
        &r()["competing_late_entry"]["all"],
        "late entry",
    );
}

#[tokio::test]
async fn competing_refusals_name_the_field() {
    let cases = [
        (
            json!({"observations": [{"duration": 2, "cause": null}]}),
            "/observations/0/cause",
        ),
        (
            json!({"observations": [{"duration": 2, "cause": ""}, {"duration": 3, "cause": "voluntary"}]}),
            "/observations/0/cause",
        ),
        (
            json!({"observations": [{"duration": -1, "cause": "voluntary"}]}),
            "/observations/0/duration",
        ),
        (
            json!({"observations": [{"duration": 2, "entry": 4, "cause": "voluntary"}]}),
            "/observations/0/entry",
        ),
        (
            json!({"as_of": "2026-11-01", "subscriptions": [{"start": "2026-01-01", "end": "2026-03-01"}]}),
            "/subscriptions/0/cause",
        ),
        (
            json!({"as_of": "2026-11-01", "subscriptions": [{"start": "2026-01-01", "end": null, "cause": "voluntary"}]}),
            "/subscriptions/0/cause",
        ),
    ];
    for (body, pointer) in cases {
        common::post_json("/survival/competing", &body)
            .await
            .assert_problem(422, Some(pointer));
    }
}

#[tokio::test]
async fn edge_cases_answer_or_refuse_clearly() {
    // A churn on the first day beside late entrants: the entry-0 customers are at risk at 0.
    let cox = common::post_json(
        "/survival/cox",
        &json!({"observations": [
            {"duration": 0, "observed": true, "covariates": {"x": 1}},
            {"entry": 2, "duration": 5, "observed": true, "covariates": {"x": 0}},
            {"duration": 4, "observed": true, "covariates": {"x": 2}},
            {"duration": 6, "observed": false, "covariates": {"x": 1}},
            {"entry": 1, "duration": 3, "observed": true, "covariates": {"x": 3}},
            {"duration": 7, "observed": true, "covariates": {"x": 0}}
        ]}),
    )
    .await;
    assert_eq!(cox.status, 200, "{}", cox.text);
    assert_eq!(cox.body["churned"], 5);
    // The same through subscriptions: one cancelled the day it started, one started before
    // the data (observed_from) and enters late.
    let subs = common::post_json("/survival/cox", &json!({"as_of": "2026-06-01", "observed_from": "2026-03-01", "unit": "month", "subscriptions": [
        {"start": "2026-03-05", "end": "2026-03-05", "covariates": {"x": 1}},
        {"start": "2026-01-01", "end": "2026-04-20", "covariates": {"x": 0}},
        {"start": "2026-03-01", "end": "2026-05-10", "covariates": {"x": 2}},
        {"start": "2026-03-10", "end": null, "covariates": {"x": 1}},
        {"start": "2026-02-01", "end": "2026-03-20", "covariates": {"x": 3}},
        {"start": "2026-03-02", "end": "2026-05-30", "covariates": {"x": 0}}
    ]})).await;
    assert_eq!(subs.status, 200, "{}", subs.text);
    // A subscription starting and ending on observed_from is inside the data.
    let same_day = common::post_json("/survival", &json!({"as_of": "2026-06-01", "observed_from": "2026-03-01", "subscriptions": [
        {"start": "2026-03-01", "end": "2026-03-01"}, {"start": "2026-01-01", "end": "2026-04-01"}
    ]})).await;
    assert_eq!(same_day.status, 200, "{}", same_day.text);

    // A covariate constant within each stratum carries no information.
    let within = common::post_json(
        "/survival/cox",
        &json!({"observations": [
            {"duration": 1, "observed": true, "stratum": "a", "covariates": {"x": 1}},
            {"duration": 2, "observed": true, "stratum": "a", "covariates": {"x": 1}},
            {"duration": 3, "observed": false, "stratum": "a", "covariates": {"x": 1}},
            {"duration": 1, "observed": true, "stratum": "b", "covariates": {"x": 5}},
            {"duration": 4, "observed": true, "stratum": "b", "covariates": {"x": 5}}
        ]}),
    )
    .await;
    within.assert_problem(422, Some("/observations/0/covariates"));
    assert!(within.body["detail"]
        .as_str()
        .unwrap()
        .contains("never differs"));

    let ok_rows = json!([
        {"duration": 1, "observed": true, "covariates": {"x": 4}}, {"duration": 2, "observed": false, "covariates": {"x": 1}},
        {"duration": 3, "observed": true, "covariates": {"x": 6}}, {"duration": 4, "observed": true, "covariates": {"x": 2}},
        {"duration": 5, "observed": true, "covariates": {"x": 3}}, {"duration": 6, "observed": true, "covariates": {"x": 5}}
    ]);
    common::post_json("/survival/cox", &json!({"observations": ok_rows, "profiles": [{"name": "p", "stratum": "a", "covariates": {"x": 1}}]}))
        .await
        .assert_problem(422, Some("/profiles/0/stratum"));
    common::post_json(
        "/survival/cox",
        &json!({"observations": ok_rows, "times": [12, -1]}),
    )
    .await
    .assert_problem(422, Some("/times/1"));
    common::post_json("/survival/cox", &json!({"observations": ok_rows, "profiles": [{"name": "far", "covariates": {"x": 1e300}}]}))
        .await
        .assert_problem(422, Some("/profiles/0/covariates"));

    // An active subscription that starts on as_of has duration 0: left out of the parametric
    // fits, said so.
    let parametric = common::post_json("/survival", &json!({"as_of": "2026-06-01", "unit": "month", "parametric": {"times": [12]}, "subscriptions": [
        {"start": "2026-06-01", "end": null}, {"start": "2026-01-01", "end": "2026-03-01"},
        {"start": "2026-02-01", "end": "2026-05-15"}, {"start": "2025-11-01", "end": null},
        {"start": "2026-01-15", "end": "2026-02-10"}
    ]})).await;
    assert_eq!(parametric.status, 200, "{}", parametric.text);
    assert!(parametric.body["parametric"]["notes"]
        .to_string()
        .contains("left out"));
    let churned_day_one = common::post_json("/survival", &json!({"as_of": "2026-06-01", "parametric": {"times": [12]}, "subscriptions": [
        {"start": "2026-01-01", "end": "2026-01-01"}, {"start": "2026-01-01", "end": "2026-03-01"}
    ]})).await;
    churned_day_one.assert_problem(422, Some("/subscriptions/0/end"));
    let bad_query = common::send(
        axum::http::Method::POST,
        "/survival?parametric_times=12,x",
        Some("text/csv"),
        "duration,observed\n1,1\n2,0\n",
    )
    .await;
    bad_query.assert_problem(422, Some("/parametric/times/1"));

    common::post_json("/survival/competing", &json!({"observations": []}))
        .await
        .assert_problem(422, Some("/observations"));
    let nan_cell = common::send(
        axum::http::Method::POST,
        "/survival/cox",
        Some("text/csv"),
        "duration,observed,x\n1,1,NaN\n2,0,1\n",
    )
    .await;
    nan_cell.assert_problem(422, Some("/observations/0/covariates/x"));
    let twice = common::send(
        axum::http::Method::POST,
        "/survival/cox",
        Some("text/csv"),
        "duration,observed,x,x\n1,1,1,2\n2,0,1,3\n",
    )
    .await;
    assert_eq!(twice.status, 422, "{}", twice.text);
}

/// Summary counts of observations, computed here independently: per (group, time) the
/// churned and censored, and per (group, entry > 0) the entered.
fn summarise(rows: &[Value]) -> Vec<Value> {
    let mut counts: std::collections::BTreeMap<(String, String), [u64; 3]> = Default::default();
    for r in rows {
        let group = r
            .get("group")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let key = |t: f64| (group.clone(), format!("{t}"));
        let d = f(&r["duration"]);
        let slot = counts.entry(key(d)).or_default();
        if r["observed"].as_bool().unwrap() {
            slot[0] += 1;
        } else {
            slot[1] += 1;
        }
        if let Some(e) = r.get("entry").and_then(Value::as_f64).filter(|e| *e > 0.0) {
            counts.entry(key(e)).or_default()[2] += 1;
        }
    }
    counts
        .into_iter()
        .rev()
        .map(|((group, time), [churned, censored, entered])| {
            let mut row = json!({"time": time.parse::<f64>().unwrap(), "churned": churned, "censored": censored, "entered": entered});
            if !group.is_empty() {
                row["group"] = json!(group);
            }
            row
        })
        .collect()
}

#[tokio::test]
async fn summary_counts_answer_exactly_as_the_rows_they_summarise() {
    let rossi: Vec<Value> = csv(include_str!("fixtures/rossi.csv"))
        .iter()
        .map(|c| json!({"duration": c[0].parse::<f64>().unwrap(), "observed": c[1] == "1", "group": if c[2] == "1" { "aid" } else { "no_aid" }}))
        .collect();
    let late: Vec<Value> = csv(include_str!("fixtures/late_entry.csv"))
        .iter()
        .map(|c| json!({"entry": c[0].parse::<f64>().unwrap(), "duration": c[1].parse::<f64>().unwrap(), "observed": c[2] == "1", "group": c[5]}))
        .collect();
    for (name, rows) in [("rossi", rossi), ("late entry", late)] {
        let extra = json!({"horizon": 30, "times": [0, 5, 10, 20]});
        let mut raw = json!({"observations": rows});
        let mut summary = json!({"event_table": summarise(&rows)});
        for (k, v) in extra.as_object().unwrap() {
            raw[k] = v.clone();
            summary[k] = v.clone();
        }
        let from_rows = common::post_json("/survival", &raw).await;
        let from_counts = common::post_json("/survival", &summary).await;
        assert_eq!(from_rows.status, 200, "{}", from_rows.text);
        assert_eq!(
            from_counts.text, from_rows.text,
            "{name}: the summary answers differently"
        );
    }
    // Counts that no customers could give, and a parametric fit without rows, are refused.
    common::post_json(
        "/survival",
        &json!({"event_table": [{"time": 5, "churned": 1, "entered": 3}]}),
    )
    .await
    .assert_problem(422, Some("/event_table/0"));
    common::post_json(
        "/survival",
        &json!({"event_table": [{"time": 5, "entered": 0}]}),
    )
    .await
    .assert_problem(422, Some("/event_table"));
    common::post_json(
        "/survival",
        &json!({"event_table": [{"time": 5, "churned": -1}]}),
    )
    .await
    .assert_problem(422, Some("/event_table/0/churned"));
    common::post_json(
        "/survival",
        &json!({"event_table": [{"time": 5, "churned": 2}], "parametric": {"times": [10]}}),
    )
    .await
    .assert_problem(422, Some("/parametric"));
    let csv_answer = common::send(
        axum::http::Method::POST,
        "/survival",
        Some("text/csv"),
        "time,churned,censored\n1,2,0\n3,1,1\n",
    )
    .await;
    let json_answer = common::post_json("/survival", &json!({"event_table": [{"time": 1, "churned": 2}, {"time": 3, "churned": 1, "censored": 1}]})).await;
    assert_eq!(csv_answer.text, json_answer.text);
}
