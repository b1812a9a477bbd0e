//! `/survival` against R's `survival` package on the waltons and rossi data and one generated
//! set: the number at risk, churned and censored at chosen times exactly, the restricted mean
//! and its standard error to 1e-9, the median and its interval exactly, and each group's
//! restricted mean against the first group's (difference and ratio with their intervals and
//! p-values) to 1e-9.
//!
//! The reference is tests/fixtures/r_survival_reference.json, written by
//! tests/fixtures/survival_reference.R (R 4.2.2, survival 3.5.3: in the file) from the CSV
//! files that tests/fixtures/survival_datasets.py exported from lifelines 0.30.3.

mod common;

use serde_json::{json, Value};

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/r_survival_reference.json")).unwrap()
}

/// The observations of a data set, as /survival takes them: the first two CSV columns are
/// the duration and whether it ended in churn (1); the group is the third column (rossi: `fin`,
/// financial aid on release).
fn observations(set: &str) -> Vec<Value> {
    let text = match set {
        "waltons" => include_str!("fixtures/waltons.csv"),
        "rossi" => include_str!("fixtures/rossi.csv"),
        _ => include_str!("fixtures/generated_survival.csv"),
    };
    text.lines()
        .skip(1)
        .map(|line| {
            let row: Vec<&str> = line.split(',').collect();
            let group = match (set, row[2]) {
                ("rossi", "1") => "aid",
                ("rossi", _) => "no_aid",
                (_, group) => group,
            };
            json!({
                "duration": row[0].parse::<f64>().unwrap(),
                "observed": row[1] == "1",
                "group": group,
            })
        })
        .collect()
}

fn close(ours: &Value, theirs: &Value, tolerance: f64, what: &str) {
    let (a, b) = (ours.as_f64().unwrap(), theirs.as_f64().unwrap());
    assert!(
        (a - b).abs() <= tolerance * b.abs().max(1.0),
        "{what}: ours {a}, R {b}"
    );
}

/// A value R gives as null (never reached) is absent from our answer.
fn same_or_absent(ours: Option<&Value>, theirs: &Value, what: &str) {
    match theirs {
        Value::Null => assert!(ours.is_none(), "{what}: ours {ours:?}, R NA"),
        _ => assert_eq!(ours.and_then(Value::as_f64), theirs.as_f64(), "{what}"),
    }
}

fn check_curve(ours: &Value, theirs: &Value, what: &str) {
    close(&ours["horizon"], &theirs["horizon"], 0.0, what);
    close(
        &ours["restricted_mean"],
        &theirs["restricted_mean"],
        1e-9,
        &format!("{what} RMST"),
    );
    close(
        &ours["restricted_mean_standard_error"],
        &theirs["restricted_mean_se"],
        1e-9,
        &format!("{what} se(RMST)"),
    );
    same_or_absent(
        ours.get("median"),
        &theirs["median"],
        &format!("{what} median"),
    );
    let interval = &ours["median_interval"];
    same_or_absent(
        interval.get("lower"),
        &theirs["median_lower"],
        &format!("{what} median lower"),
    );
    same_or_absent(
        interval.get("upper"),
        &theirs["median_upper"],
        &format!("{what} median upper"),
    );
    let rows = ours["at_times"].as_array().unwrap();
    let times = theirs["times"].as_array().unwrap();
    assert_eq!(rows.len(), times.len(), "{what}");
    for (i, row) in rows.iter().enumerate() {
        let at = format!("{what} at {}", times[i]);
        assert_eq!(row["time"].as_f64(), times[i].as_f64(), "{at}");
        assert_eq!(
            row["at_risk"].as_f64(),
            theirs["at_risk"][i].as_f64(),
            "{at}: at risk"
        );
        assert_eq!(
            row["churned"].as_f64(),
            theirs["churned"][i].as_f64(),
            "{at}: churned"
        );
        assert_eq!(
            row["censored"].as_f64(),
            theirs["censored"][i].as_f64(),
            "{at}: censored"
        );
        close(&row["survival"], &theirs["survival"][i], 1e-12, &at);
    }
}

#[tokio::test]
async fn survival_figures_equal_r_survival_on_waltons_rossi_and_a_generated_set() {
    let reference = reference();
    for set in ["waltons", "rossi", "generated"] {
        let expected = &reference[set];
        let answer = common::post_json(
            "/survival",
            &json!({
                "observations": observations(set),
                "horizon": expected["horizon"],
                "times": expected["times"],
            }),
        )
        .await;
        assert_eq!(answer.status, 200, "{set}: {}", answer.text);
        check_curve(&answer.body["curve"], &expected["curve"], set);
        let groups = answer.body["groups"].as_array().unwrap();
        for theirs in expected["groups"].as_array().unwrap() {
            let name = theirs["group"].as_str().unwrap();
            let ours = groups.iter().find(|g| g["group"] == name).unwrap();
            check_curve(&ours["curve"], &theirs["curve"], &format!("{set}/{name}"));
        }
        let comparisons = answer.body["restricted_mean_comparisons"]
            .as_array()
            .unwrap();
        let expected_comparisons = expected["comparisons"].as_array().unwrap();
        assert_eq!(comparisons.len(), expected_comparisons.len(), "{set}");
        for theirs in expected_comparisons {
            let ours = comparisons
                .iter()
                .find(|c| c["group"] == theirs["group"])
                .unwrap();
            assert_eq!(ours["reference"], theirs["reference"]);
            let r = &theirs["rmst"];
            let what = format!("{set}: {} against {}", theirs["group"], theirs["reference"]);
            for (field, theirs) in [
                (&ours["difference"], &r["difference"]),
                (&ours["difference_standard_error"], &r["difference_se"]),
                (
                    &ours["difference_interval"]["lower"],
                    &r["difference_lower"],
                ),
                (
                    &ours["difference_interval"]["upper"],
                    &r["difference_upper"],
                ),
                (&ours["difference_p_value"], &r["difference_p"]),
                (&ours["ratio"], &r["ratio"]),
                (&ours["ratio_interval"]["lower"], &r["ratio_lower"]),
                (&ours["ratio_interval"]["upper"], &r["ratio_upper"]),
                (&ours["ratio_p_value"], &r["ratio_p"]),
            ] {
                // p-values as small as 1e-41 are compared relatively.
                let (a, b) = (field.as_f64().unwrap(), theirs.as_f64().unwrap());
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(if b.abs() < 1e-3 { 0.0 } else { 1.0 }),
                    "{what}: ours {a}, R {b}"
                );
            }
        }
    }
}

#[tokio::test]
async fn times_and_confidence_are_refused_naming_the_field() {
    let body = |extra: Value| {
        let mut body = json!({"observations": [{"duration": 3, "observed": true}, {"duration": 5, "observed": false}]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let answer = common::post_json("/survival", &body(json!({"times": [1, -2]}))).await;
    answer.assert_problem(422, Some("/times/1"));
    let answer = common::post_json("/survival", &body(json!({"confidence": 0.2}))).await;
    answer.assert_problem(422, Some("/confidence"));
    let many: Vec<u32> = (0..1001).collect();
    let answer = common::post_json("/survival", &body(json!({"times": many}))).await;
    answer.assert_problem(422, Some("/times"));
    let answer = common::send(
        axum::http::Method::POST,
        "/survival?times=1,x",
        Some("text/csv"),
        "duration,observed\n3,1\n",
    )
    .await;
    answer.assert_problem(422, Some("/times/1"));
}

#[tokio::test]
async fn a_wider_confidence_widens_every_interval() {
    let observations = observations("waltons");
    let at = |level: f64| {
        let observations = observations.clone();
        async move {
            common::post_json(
                "/survival",
                &json!({"observations": observations, "horizon": 50, "confidence": level}),
            )
            .await
            .body
        }
    };
    let (narrow, wide) = (at(0.8).await, at(0.99).await);
    let width = |b: &Value, path: &str| {
        let bounds = b.pointer(path).unwrap();
        bounds["upper"].as_f64().unwrap() - bounds["lower"].as_f64().unwrap()
    };
    for path in [
        "/curve/restricted_mean_interval",
        "/restricted_mean_comparisons/0/difference_interval",
    ] {
        assert!(width(&wide, path) > width(&narrow, path), "{path}");
    }
    assert_eq!(narrow["curve"]["level_pct"], 80.0);
    // The same standard error whatever the level.
    assert_eq!(
        narrow["curve"]["restricted_mean_standard_error"],
        wide["curve"]["restricted_mean_standard_error"]
    );
}
