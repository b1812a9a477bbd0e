//! `/survival/cox` against R's `survival::coxph` / `cox.zph` and lifelines' `CoxPHFitter` on
//! the rossi recidivism data (432 released prisoners, weeks to re-arrest; it ships with
//! lifelines), and on a generated late-entry set.
//!
//! References: tests/fixtures/r_cox_reference.json (tests/fixtures/cox_reference.R: R 4.2.2,
//! survival 3.5.3, coxph.control(eps = 1e-14)) and tests/fixtures/lifelines_cox_reference.json
//! (tests/fixtures/cox_reference.py: lifelines 0.30.3 with precision 1e-18); the late-entry
//! data come from tests/fixtures/cox_datasets.py. Tolerances are relative to max(|value|, 1).

mod common;

use serde_json::{json, Value};

const COVARIATES: [&str; 7] = ["fin", "age", "race", "wexp", "mar", "paro", "prio"];

fn r() -> Value {
    serde_json::from_str(include_str!("fixtures/r_cox_reference.json")).unwrap()
}

fn lifelines() -> Value {
    serde_json::from_str(include_str!("fixtures/lifelines_cox_reference.json")).unwrap()
}

/// rossi as observations: week, arrest, then the covariates (a `stratum` of race when asked).
fn rossi(covariates: &[&str], stratum: Option<&str>) -> Vec<Value> {
    let text = include_str!("fixtures/rossi.csv");
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    text.lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
            let get = |name: &str| cells[header.iter().position(|h| *h == name).unwrap()];
            let mut row = json!({
                "duration": get("week"),
                "observed": get("arrest") == 1.0,
                "covariates": covariates.iter().map(|c| ((*c).to_owned(), json!(get(c)))).collect::<serde_json::Map<_, _>>(),
            });
            if let Some(s) = stratum {
                row["stratum"] = json!(format!("{s}={}", get(s)));
            }
            row
        })
        .collect()
}

fn close(ours: f64, theirs: f64, tolerance: f64, what: &str) {
    assert!(
        (ours - theirs).abs() <= tolerance * theirs.abs().max(1.0),
        "{what}: ours {ours}, reference {theirs}"
    );
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

async fn fit(body: Value) -> Value {
    let answer = common::post_json("/survival/cox", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn rossi_equals_r_coxph_and_cox_zph_for_efron_and_breslow() {
    let reference = r();
    for ties in ["efron", "breslow"] {
        let expected = &reference["rossi"][ties];
        for transform in ["km", "rank", "identity"] {
            let ours = fit(json!({"observations": rossi(&COVARIATES, None), "covariates": COVARIATES, "ties": ties, "ph_transform": transform})).await;
            for (j, name) in COVARIATES.iter().enumerate() {
                let c = &ours["coefficients"][j];
                assert_eq!(c["name"], *name);
                close(
                    f(&c["coef"]),
                    f(&expected["coef"][j]),
                    1e-8,
                    &format!("{ties} coef {name}"),
                );
                close(
                    f(&c["std_error"]),
                    f(&expected["se"][j]),
                    1e-8,
                    &format!("{ties} se {name}"),
                );
                close(
                    f(&c["hazard_ratio"]),
                    f(&expected["coef"][j]).exp(),
                    1e-8,
                    "hazard ratio",
                );
                let zph = &ours["proportional_hazards"]["covariates"][j];
                assert_eq!(zph["covariate"], *name);
                close(
                    f(&zph["statistic"]),
                    f(&expected["zph"][transform]["chisq"][j]),
                    1e-8,
                    &format!("{ties} zph {transform} {name}"),
                );
                close(
                    f(&zph["p_value"]),
                    f(&expected["zph"][transform]["p"][j]),
                    1e-8,
                    &format!("{ties} zph p {transform} {name}"),
                );
            }
            let global = &ours["proportional_hazards"]["global"];
            close(
                f(&global["statistic"]),
                f(&expected["zph"][transform]["global_chisq"]),
                1e-8,
                "zph global",
            );
            close(
                f(&global["p_value"]),
                f(&expected["zph"][transform]["global_p"]),
                1e-8,
                "zph global p",
            );
            assert_eq!(global["degrees_of_freedom"], 7);
            assert_eq!(ours["proportional_hazards"]["transform"], transform);
            close(
                f(&ours["log_likelihood"]),
                f(&expected["loglik"]),
                1e-10,
                "log-likelihood",
            );
            close(
                f(&ours["log_likelihood_null"]),
                f(&expected["loglik_null"]),
                1e-10,
                "null log-likelihood",
            );
            close(
                f(&ours["concordance"]["value"]),
                f(&expected["concordance"]),
                1e-12,
                "concordance",
            );
            let counts = &expected["concordance_counts"];
            assert_eq!(ours["concordance"]["concordant"], counts["concordant"]);
            assert_eq!(ours["concordance"]["discordant"], counts["discordant"]);
            assert_eq!(ours["concordance"]["tied_risk"], counts["tied_x"]);
            for (test, key) in [
                ("likelihood_ratio", "lr_test"),
                ("wald", "wald_test"),
                ("score", "score_test"),
            ] {
                close(
                    f(&ours["tests"][test]["statistic"]),
                    f(&expected[key]["statistic"]),
                    1e-8,
                    test,
                );
                close(
                    f(&ours["tests"][test]["p_value"]),
                    f(&expected[key]["p"]),
                    1e-8,
                    test,
                );
                assert_eq!(ours["tests"][test]["degrees_of_freedom"], 7);
            }
        }
    }
}

#[tokio::test]
async fn rossi_equals_lifelines_baseline_and_profile_predictions() {
    let reference = lifelines();
    let expected = &reference["rossi"]["efron"];
    let predicted = &expected["predicted"];
    let profiles: Vec<Value> = predicted["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(k, p)| json!({"name": format!("profile {k}"), "covariates": p}))
        .collect();
    let ours = fit(json!({"observations": rossi(&COVARIATES, None), "covariates": COVARIATES, "profiles": profiles, "times": predicted["times"]})).await;
    for (j, _) in COVARIATES.iter().enumerate() {
        close(
            f(&ours["coefficients"][j]["coef"]),
            f(&expected["params"][j]),
            1e-8,
            "coef",
        );
        close(
            f(&ours["coefficients"][j]["std_error"]),
            f(&expected["standard_errors"][j]),
            1e-8,
            "se",
        );
    }
    close(
        f(&ours["log_likelihood"]),
        f(&expected["log_likelihood"]),
        1e-10,
        "log-likelihood",
    );
    close(
        f(&ours["concordance"]["value"]),
        f(&expected["concordance_index"]),
        1e-12,
        "concordance",
    );
    // The baseline at the covariates' means, at lifelines' times (every distinct week).
    let baseline = &ours["baseline"][0];
    let times = baseline["timeline"].as_array().unwrap();
    let theirs = &expected["baseline_survival"];
    assert_eq!(times.len(), theirs["times"].as_array().unwrap().len());
    for (i, t) in theirs["times"].as_array().unwrap().iter().enumerate() {
        assert_eq!(f(&times[i]), f(t));
        close(
            f(&baseline["survival"][i]),
            f(&theirs["survival"][i]),
            1e-9,
            &format!("baseline S({t})"),
        );
        close(
            f(&baseline["cumulative_hazard"][i]),
            f(&expected["baseline_cumulative_hazard"]["cumulative_hazard"][i]),
            1e-9,
            "baseline H",
        );
    }
    for (k, _) in profiles.iter().enumerate() {
        let ours = &ours["profiles"][k];
        for (i, _) in predicted["times"].as_array().unwrap().iter().enumerate() {
            close(
                f(&ours["survival"][i]),
                f(&predicted["survival"][k][i]),
                1e-9,
                &format!("profile {k} survival {i}"),
            );
        }
        match &predicted["median"][k] {
            Value::Null => assert!(ours.get("median").is_none(), "profile {k}: {ours}"),
            m => assert_eq!(f(&ours["median"]), f(m)),
        }
    }
}

#[tokio::test]
async fn strata_equal_r_and_lifelines() {
    let covariates = ["fin", "age", "prio"];
    let ours =
        fit(json!({"observations": rossi(&covariates, Some("race")), "covariates": covariates}))
            .await;
    let expected = &r()["rossi"]["strata_efron"];
    let lifelines = &lifelines()["rossi"]["strata"];
    assert_eq!(ours["strata"], json!(["race=0", "race=1"]));
    for j in 0..3 {
        close(
            f(&ours["coefficients"][j]["coef"]),
            f(&expected["coef"][j]),
            1e-8,
            "strata coef",
        );
        close(
            f(&ours["coefficients"][j]["std_error"]),
            f(&expected["se"][j]),
            1e-8,
            "strata se",
        );
        close(
            f(&ours["coefficients"][j]["coef"]),
            f(&lifelines["params"][j]),
            1e-8,
            "strata coef (lifelines)",
        );
    }
    close(
        f(&ours["log_likelihood"]),
        f(&expected["loglik"]),
        1e-10,
        "strata log-likelihood",
    );
    close(
        f(&ours["log_likelihood_null"]),
        f(&expected["loglik_null"]),
        1e-10,
        "strata null",
    );
    close(
        f(&ours["concordance"]["value"]),
        f(&expected["concordance"]),
        1e-12,
        "strata concordance",
    );
    assert_eq!(ours["baseline"].as_array().unwrap().len(), 2);
    // A profile needs its stratum.
    let refused = common::post_json("/survival/cox", &json!({"observations": rossi(&covariates, Some("race")), "profiles": [{"name": "x", "covariates": {"fin": 1, "age": 30, "prio": 2}}]})).await;
    refused.assert_problem(422, Some("/profiles/0/stratum"));
}

#[tokio::test]
async fn the_penalised_fit_equals_lifelines_penalizer() {
    let expected = &lifelines()["rossi"]["penalized"];
    let ours = fit(json!({"observations": rossi(&COVARIATES, None), "covariates": COVARIATES, "penalty": expected["penalizer"]})).await;
    for j in 0..7 {
        close(
            f(&ours["coefficients"][j]["coef"]),
            f(&expected["params"][j]),
            1e-8,
            "penalised coef",
        );
        close(
            f(&ours["coefficients"][j]["std_error"]),
            f(&expected["standard_errors"][j]),
            1e-8,
            "penalised se",
        );
    }
    close(
        f(&ours["penalised_log_likelihood"]),
        f(&expected["log_likelihood"]),
        1e-10,
        "penalised log-likelihood",
    );
    close(
        f(&ours["log_likelihood"]),
        f(&expected["unpenalized_log_likelihood"]),
        1e-10,
        "log-likelihood without the penalty",
    );
}

/// The late-entry set: entry, exit, event, x1, x2, group.
fn late_entry_rows() -> Vec<Value> {
    include_str!("fixtures/late_entry.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            json!({"entry": c[0].parse::<f64>().unwrap(), "duration": c[1].parse::<f64>().unwrap(), "observed": c[2] == "1",
                   "covariates": {"x1": c[3].parse::<f64>().unwrap(), "x2": c[4].parse::<f64>().unwrap()}})
        })
        .collect()
}

#[tokio::test]
async fn late_entry_equals_r_counting_process_coxph() {
    let reference = r();
    for (ties, key) in [("efron", "cox_efron"), ("breslow", "cox_breslow")] {
        let expected = &reference["late_entry"][key];
        let ours = fit(json!({"observations": late_entry_rows(), "ties": ties})).await;
        for j in 0..2 {
            close(
                f(&ours["coefficients"][j]["coef"]),
                f(&expected["coef"][j]),
                1e-8,
                &format!("{ties} coef"),
            );
            close(
                f(&ours["coefficients"][j]["std_error"]),
                f(&expected["se"][j]),
                1e-8,
                &format!("{ties} se"),
            );
        }
        close(
            f(&ours["log_likelihood"]),
            f(&expected["loglik"]),
            1e-10,
            "late-entry log-likelihood",
        );
        close(
            f(&ours["log_likelihood_null"]),
            f(&expected["loglik_null"]),
            1e-10,
            "late-entry null",
        );
        assert!(ours["notes"].to_string().contains("Late entry"));
    }
}

#[tokio::test]
async fn categories_are_coded_against_their_reference_level() {
    // rossi with race as a category: its coefficient against "white" equals the 0/1 column's.
    let ours = fit(json!({"observations": rows_with_race(), "covariates": COVARIATES, "reference_levels": {"race": "white"}})).await;
    let expected = &r()["rossi"]["efron"];
    let race = &ours["coefficients"][2];
    assert_eq!(race["name"], "race=black");
    assert_eq!(race["reference"], "white");
    close(
        f(&race["coef"]),
        f(&expected["coef"][2]),
        1e-8,
        "race=black",
    );
    // Against the other reference, the sign flips.
    let other = fit(json!({"observations": rows_with_race(), "covariates": COVARIATES, "reference_levels": {"race": "black"}})).await;
    close(
        f(&other["coefficients"][2]["coef"]),
        -f(&expected["coef"][2]),
        1e-8,
        "race=white",
    );
}

fn rows_with_race() -> Vec<Value> {
    let mut rows = rossi(&COVARIATES, None);
    for row in &mut rows {
        let race = row["covariates"]["race"].as_f64().unwrap();
        row["covariates"]["race"] = json!(if race == 1.0 { "black" } else { "white" });
    }
    rows
}

#[tokio::test]
async fn a_csv_body_gives_the_json_answer() {
    let text = include_str!("fixtures/rossi.csv");
    let csv: String = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                "duration,observed,fin,age,race,wexp,mar,paro,prio\n".to_owned()
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    let from_csv = common::send(
        axum::http::Method::POST,
        "/survival/cox?covariates=fin,age,race,wexp,mar,paro,prio",
        Some("text/csv"),
        csv,
    )
    .await;
    assert_eq!(from_csv.status, 200, "{}", from_csv.text);
    let from_json =
        fit(json!({"observations": rossi(&COVARIATES, None), "covariates": COVARIATES})).await;
    assert_eq!(from_csv.body, from_json);
}

/// Rows with covariates x and y given per row.
fn rows(values: &[(f64, bool, Value)]) -> Vec<Value> {
    values
        .iter()
        .map(|(d, o, c)| json!({"duration": d, "observed": o, "covariates": c}))
        .collect()
}

#[tokio::test]
async fn constant_collinear_and_separating_covariates_are_refused_by_name() {
    let constant = rows(&[
        (1.0, true, json!({"x": 1, "c": 5})),
        (2.0, false, json!({"x": 2, "c": 5})),
        (3.0, true, json!({"x": 0, "c": 5})),
    ]);
    let answer = common::post_json("/survival/cox", &json!({"observations": constant})).await;
    answer.assert_problem(422, Some("/observations/0/covariates/c"));
    assert!(answer.body["detail"]
        .as_str()
        .unwrap()
        .contains("c is 5 for every customer"));

    // z = x + y.
    let collinear = rows(&[
        (1.0, true, json!({"x": 1, "y": 0, "z": 1})),
        (2.0, true, json!({"x": 2, "y": 1, "z": 3})),
        (3.0, false, json!({"x": 0, "y": 3, "z": 3})),
        (4.0, true, json!({"x": 5, "y": 1, "z": 6})),
        (5.0, true, json!({"x": 1, "y": 2, "z": 3})),
    ]);
    let answer = common::post_json(
        "/survival/cox",
        &json!({"observations": collinear, "covariates": ["x", "y", "z"]}),
    )
    .await;
    answer.assert_problem(422, Some("/observations/0/covariates/z"));
    assert!(answer.body["detail"]
        .as_str()
        .unwrap()
        .contains("linear combination of x, y"));

    // Everyone with flag = true churns before everyone with flag = false: no finite maximum.
    let separated = rows(&[
        (1.0, true, json!({"flag": true, "x": 0.3})),
        (2.0, true, json!({"flag": true, "x": 1.2})),
        (3.0, true, json!({"flag": true, "x": 0.7})),
        (4.0, false, json!({"flag": false, "x": 0.1})),
        (5.0, true, json!({"flag": false, "x": 0.9})),
        (6.0, false, json!({"flag": false, "x": 0.4})),
        (7.0, true, json!({"flag": false, "x": 1.5})),
    ]);
    let answer = common::post_json("/survival/cox", &json!({"observations": separated})).await;
    answer.assert_problem(422, Some("/observations/0/covariates/flag"));
    assert!(
        answer.body["detail"].as_str().unwrap().contains("penalty"),
        "{}",
        answer.body
    );
    // With a penalty the same data fit, finite and shrunk.
    let penalised = fit(json!({"observations": separated, "penalty": 0.1})).await;
    let coef = f(&penalised["coefficients"][0]["coef"]);
    assert!(coef.is_finite() && coef > 0.0 && coef < 10.0, "{coef}");
}

#[tokio::test]
async fn bad_covariates_are_refused_naming_the_field() {
    let base = |rows: Value, extra: Value| {
        let mut body = json!({"observations": rows});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let ok_rows = json!([
        {"duration": 1, "observed": true, "covariates": {"plan": "pro", "seats": 4}},
        {"duration": 2, "observed": false, "covariates": {"plan": "basic", "seats": 1}},
        {"duration": 3, "observed": true, "covariates": {"plan": "basic", "seats": 6}},
        {"duration": 4, "observed": true, "covariates": {"plan": "pro", "seats": 2}},
        {"duration": 5, "observed": true, "covariates": {"plan": "basic", "seats": 3}},
        {"duration": 6, "observed": true, "covariates": {"plan": "pro", "seats": 5}},
        {"duration": 7, "observed": false, "covariates": {"plan": "basic", "seats": 2}},
        {"duration": 2.5, "observed": true, "covariates": {"plan": "basic", "seats": 1}},
        {"duration": 8, "observed": true, "covariates": {"plan": "pro", "seats": 1}}
    ]);
    assert_eq!(
        common::post_json("/survival/cox", &base(ok_rows.clone(), json!({})))
            .await
            .status,
        200
    );
    let cases = [
        (
            json!([{"duration": 1, "observed": true, "covariates": {"plan": "pro"}}, {"duration": 2, "observed": true, "covariates": {"seats": 3}}]),
            json!({}),
            "/observations/1/covariates/plan",
        ),
        (
            json!([{"duration": 1, "observed": true, "covariates": {"x": 1}}, {"duration": 2, "observed": true, "covariates": {"x": "a"}}]),
            json!({}),
            "/observations/1/covariates/x",
        ),
        (
            json!([{"duration": 1, "observed": true, "covariates": {"x": null}}, {"duration": 2, "observed": true, "covariates": {"x": 1}}]),
            json!({}),
            "/observations/0/covariates/x",
        ),
        (
            ok_rows.clone(),
            json!({"reference_levels": {"plan": "enterprise"}}),
            "/reference_levels/plan",
        ),
        (
            ok_rows.clone(),
            json!({"reference_levels": {"seats": "1"}}),
            "/reference_levels/seats",
        ),
        (
            ok_rows.clone(),
            json!({"covariates": ["plan", "plan"]}),
            "/covariates/1",
        ),
        (ok_rows.clone(), json!({"penalty": -1}), "/penalty"),
        (
            ok_rows.clone(),
            json!({"profiles": [{"name": "x", "covariates": {"plan": "gold", "seats": 1}}]}),
            "/profiles/0/covariates",
        ),
        (
            ok_rows.clone(),
            json!({"profiles": [{"name": "x", "covariates": {"plan": "pro"}}]}),
            "/profiles/0/covariates",
        ),
        (
            json!([{"duration": 1, "observed": false, "covariates": {"x": 1}}, {"duration": 2, "observed": false, "covariates": {"x": 2}}]),
            json!({}),
            "/observations",
        ),
        (
            json!([{"duration": 3, "entry": 3, "observed": true, "covariates": {"x": 1}}, {"duration": 2, "observed": true, "covariates": {"x": 2}}]),
            json!({}),
            "/observations/0/entry",
        ),
    ];
    for (rows, extra, pointer) in cases {
        let answer = common::post_json("/survival/cox", &base(rows, extra.clone())).await;
        answer.assert_problem(422, Some(pointer));
    }
}
