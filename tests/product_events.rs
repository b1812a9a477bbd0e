//! `/retention`, `/lifecycle` and `/stickiness` against DuckDB: 18 cases over 7,310 generated
//! events (tests/fixtures/product_events.csv) whose every expected cell was computed by SQL in
//! DuckDB (tests/fixtures/product_events_reference.py, duckdb 2.0.1). The events cover time-zone
//! boundaries (23:30 UTC is the next day in Tokyo), both DST changes of 2024, the leap day,
//! duplicate rows, one-event customers, mid-week plan switches and offsets in the timestamps'
//! text. A mismatch in any cell, of the total or of any segment, fails. The same cases sent as
//! CSV (attributes as extra columns, settings as query parameters) give the same bytes.

mod common;

use axum::http::Method;
use common::{post_json, project, query_of, send, Answer};
use serde_json::{json, Value};

fn fixture() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/product_events_reference.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn events_csv() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/product_events.csv"
    ))
    .unwrap()
}

/// The CSV's rows as JSON events, plan and country as attributes.
fn events_json() -> Vec<Value> {
    events_csv()
        .lines()
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            json!({"customer_id": c[0], "timestamp": c[1], "event": c[2],
                   "attributes": {"plan": c[3], "country": c[4]}})
        })
        .collect()
}

/// Every cell's share is its count over its size, in percent.
fn check_shares(block: &Value) {
    for cohort in block["cohorts"].as_array().unwrap() {
        for cell in cohort["cells"].as_array().unwrap() {
            let (count, size) = (
                cell["count"].as_f64().unwrap(),
                cell["size"].as_f64().unwrap(),
            );
            if size == 0.0 {
                assert!(cell.get("share").is_none());
            } else {
                assert_eq!(cell["share"].as_f64().unwrap(), count / size * 100.0);
            }
        }
    }
}

#[tokio::test]
async fn every_cell_matches_duckdb_with_and_without_segments() {
    let fixture = fixture();
    let events = events_json();
    assert_eq!(events.len(), 7310);
    let csv = events_csv();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 18);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let endpoint = case["endpoint"].as_str().unwrap();
        let mut body = case["request"].clone();
        body["events"] = Value::Array(events.clone());
        let answer = post_json(endpoint, &body).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.text);
        let expected = &case["expected"];
        assert_eq!(
            project(&answer.body["total"], &expected["total"]),
            expected["total"],
            "{name}: the total differs from DuckDB's"
        );
        let segments = answer.body["segments"].as_array().unwrap();
        let want = expected["segments"].as_array().unwrap();
        assert_eq!(segments.len(), want.len(), "{name}: segments");
        for (got, want) in segments.iter().zip(want) {
            assert_eq!(
                project(got, want),
                *want,
                "{name}: segment {}",
                want["segment"]
            );
        }
        if endpoint == "/retention" {
            check_shares(&answer.body["total"]);
            segments.iter().for_each(check_shares);
        }
        // The same events as CSV rows, the settings as query parameters: the same bytes.
        let path = format!("{endpoint}?{}", query_of(&case["request"]));
        let as_csv: Answer = send(Method::POST, &path, Some("text/csv"), csv.clone()).await;
        assert_eq!(as_csv.status, 200, "{name} as CSV: {}", as_csv.text);
        assert_eq!(
            as_csv.text, answer.text,
            "{name}: CSV and JSON answers differ"
        );
    }
}

fn small() -> Vec<Value> {
    vec![
        json!({"customer_id": "ann", "timestamp": "2024-02-28T23:30:00Z", "event": "signup", "attributes": {"plan": "pro"}}),
        json!({"customer_id": "ann", "timestamp": "2024-02-29T09:00:00Z", "event": "login", "attributes": {"plan": "pro"}}),
        json!({"customer_id": "bob", "timestamp": "2024-02-29T10:00:00Z", "event": "signup", "attributes": {"plan": "free"}}),
    ]
}

#[tokio::test]
async fn a_worked_example_by_hand() {
    // ann signs up at 23:30 UTC on the 28th and logs in at 09:00 UTC on the 29th: one UTC day
    // later, but the same day in Tokyo (08:30 and 18:00 on the 29th).
    let utc = post_json("/retention", &json!({"events": small(), "start_event": "signup", "return_event": "login", "intervals": 1})).await;
    assert_eq!(utc.status, 200, "{}", utc.text);
    let ann = &utc.body["total"]["cohorts"][0];
    assert_eq!(ann["cohort"], "2024-02-28");
    assert_eq!(
        ann["cells"][1],
        json!({"count": 1, "size": 1, "share": 100.0})
    );
    let tokyo = post_json("/retention", &json!({"events": small(), "start_event": "signup", "return_event": "login", "intervals": 1, "timezone": "Asia/Tokyo"})).await;
    let day = &tokyo.body["total"]["cohorts"][0];
    assert_eq!(day["cohort"], "2024-02-29");
    assert_eq!(day["members"], 2);
    // Interval 0: ann's login after her sign-up on the same Tokyo day; bob has none.
    assert_eq!(
        day["cells"][0],
        json!({"count": 1, "size": 2, "share": 50.0})
    );
    // Interval 1 (1 March in Tokyo) has not begun in the data: no one is eligible.
    assert_eq!(day["cells"][1], json!({"count": 0, "size": 0}));
    // Lifecycle by day in UTC: ann new on the 28th, returning on the 29th; bob new on the 29th.
    let life = post_json("/lifecycle", &json!({"events": small(), "period": "day"})).await;
    assert_eq!(life.status, 200, "{}", life.text);
    let days = &life.body["total"]["periods"];
    assert_eq!(days[0]["new"], 1);
    assert_eq!(days[1]["new"], 1);
    assert_eq!(days[1]["returning"], 1);
    assert_eq!(
        life.body["total"]["transitions"],
        json!([{"from": "new", "to": "returning", "count": 1}])
    );
    // Stickiness: two days, dau 1 then 2; mau 2 on the 29th; the window is not complete.
    let sticky = post_json("/stickiness", &json!({"events": small()})).await;
    let d = &sticky.body["total"]["days"];
    assert_eq!(
        (
            d[0]["dau"].as_u64(),
            d[1]["dau"].as_u64(),
            d[1]["mau"].as_u64()
        ),
        (Some(1), Some(2), Some(2))
    );
    assert_eq!(d[1]["dau_mau"], 100.0);
    assert_eq!(d[1]["complete"], false);
    assert_eq!(
        sticky.body["total"]["distribution"][0]["counts"],
        json!([1, 1, 0, 0, 0, 0, 0])
    );
}

#[tokio::test]
async fn refusals_name_the_field() {
    let cases = [
        ("/retention", json!({"timezone": "Tokyo"}), "/timezone"),
        (
            "/retention",
            json!({"group_by": ["country"]}),
            "/group_by/0",
        ),
        (
            "/retention",
            json!({"filter": [{"attribute": "region", "op": "in", "values": ["eu"]}]}),
            "/filter/0/attribute",
        ),
        (
            "/retention",
            json!({"return_event": "purchase"}),
            "/return_event",
        ),
        (
            "/retention",
            json!({"start_event": "purchase"}),
            "/start_event",
        ),
        (
            "/retention",
            json!({"brackets": [{"from": 1, "to": 3}, {"from": 3, "to": 7}]}),
            "/brackets/1",
        ),
        (
            "/retention",
            json!({"brackets": [{"from": 4, "to": 2}]}),
            "/brackets/0/to",
        ),
        (
            "/retention",
            json!({"windows": "rolling", "period": "month"}),
            "/windows",
        ),
        ("/retention", json!({"min_returns": 0}), "/min_returns"),
        ("/retention", json!({"intervals": 401}), "/intervals"),
        (
            "/retention",
            json!({"group_by": ["plan", "plan"]}),
            "/group_by/1",
        ),
        (
            "/retention",
            json!({"filter": [{"attribute": "plan", "op": "in", "values": ["team"]}]}),
            "/filter",
        ),
        (
            "/lifecycle",
            json!({"group_by": ["country"]}),
            "/group_by/0",
        ),
        (
            "/lifecycle",
            json!({"timezone": "Mars/Olympus"}),
            "/timezone",
        ),
        ("/stickiness", json!({"period": "day"}), "/period"),
        (
            "/stickiness",
            json!({"group_by": ["a", "b", "c"]}),
            "/group_by",
        ),
    ];
    for (path, settings, pointer) in cases {
        let mut body = settings.clone();
        body["events"] = Value::Array(small());
        post_json(path, &body)
            .await
            .assert_problem(422, Some(pointer));
    }
    // An event without the attribute a segment needs.
    let mut events = small();
    events.push(json!({"customer_id": "cay", "timestamp": "2024-03-01T00:00:00Z"}));
    post_json(
        "/stickiness",
        &json!({"events": events, "group_by": ["plan"]}),
    )
    .await
    .assert_problem(422, Some("/events/3/attributes/plan"));
    // A timestamp that is not an instant.
    post_json(
        "/lifecycle",
        &json!({"events": [{"customer_id": "a", "timestamp": "yesterday"}]}),
    )
    .await
    .assert_problem(422, Some("/events/0/timestamp"));
    // The second bad timestamp is not the one named: the first is.
    post_json(
        "/retention",
        &json!({"events": [
            {"customer_id": "a", "timestamp": "2024-01-01T00:00:00Z"},
            {"customer_id": "a", "timestamp": "2024-13-01T00:00:00Z"},
            {"customer_id": "a", "timestamp": "soon"}]}),
    )
    .await
    .assert_problem(422, Some("/events/1/timestamp"));
    // An event's shape, field by field: an unknown field, a field twice, a missing one, an
    // attribute that is not text, a number or true/false, an event that is not an object.
    let shapes = [
        (
            json!({"customer_id": "a", "timestamp": "2024-01-01", "plan": "pro"}),
            "/events/1/plan",
        ),
        (json!({"customer_id": "a"}), "/events/1/timestamp"),
        (
            json!({"customer_id": 1.5, "timestamp": "2024-01-01"}),
            "/events/1/customer_id",
        ),
        (
            json!({"customer_id": "a", "timestamp": "2024-01-01", "attributes": {"plan": ["pro"]}}),
            "/events/1/attributes/plan",
        ),
        (json!(["a", "2024-01-01"]), "/events/1"),
    ];
    for (event, pointer) in shapes {
        let body = json!({"events": [{"customer_id": "b", "timestamp": "2024-01-01"}, event]});
        post_json("/retention", &body)
            .await
            .assert_problem(422, Some(pointer));
    }
    // A field given twice is refused, not read as its last value.
    send(
        Method::POST,
        "/retention",
        Some("application/json"),
        r#"{"events": [{"customer_id": "a", "timestamp": "2024-01-01", "timestamp": "2024-01-02"}]}"#,
    )
    .await
    .assert_problem(422, Some("/events/0"));
    // CSV without a timestamp column, and a bad filter in the query string.
    send(
        Method::POST,
        "/retention",
        Some("text/csv"),
        "customer_id,date\na,2024-01-01\n",
    )
    .await
    .assert_problem(422, Some("/events"));
    send(
        Method::POST,
        "/retention?filter=plan",
        Some("text/csv"),
        "customer_id,timestamp,plan\na,2024-01-01T00:00:00Z,pro\n",
    )
    .await
    .assert_problem(422, Some("/filter/0"));
    // Ten years and more of days are refused rather than answered.
    let far = json!({"events": [
        {"customer_id": "a", "timestamp": "2000-01-01T00:00:00Z"},
        {"customer_id": "a", "timestamp": "2024-01-01T00:00:00Z"}]});
    post_json("/stickiness", &far)
        .await
        .assert_problem(422, Some("/events"));
    let mut by_day = far.clone();
    by_day["period"] = json!("day");
    post_json("/lifecycle", &by_day)
        .await
        .assert_problem(422, Some("/period"));
}

/// The four customers of the spec's examples (docs/formulas.md § 20.2–20.4).
fn week() -> Vec<Value> {
    let rows = [
        ("ann", "2024-03-04T09:00:00Z", "signup", "pro"),
        ("ann", "2024-03-05T10:00:00Z", "login", "pro"),
        ("ann", "2024-03-07T08:00:00Z", "login", "pro"),
        ("bob", "2024-03-04T23:30:00Z", "signup", "free"),
        ("bob", "2024-03-06T12:00:00Z", "login", "free"),
        ("cay", "2024-03-05T14:00:00Z", "signup", "free"),
        ("cay", "2024-03-06T15:00:00Z", "login", "free"),
        ("cay", "2024-03-07T16:00:00Z", "login", "free"),
        ("dev", "2024-03-05T20:00:00Z", "signup", "pro"),
    ];
    rows.iter()
        .map(|(c, t, e, p)| json!({"customer_id": c, "timestamp": t, "event": e, "attributes": {"plan": p}}))
        .collect()
}

#[tokio::test]
async fn the_worked_examples_of_section_20() {
    let cell = |count: u64, size: u64| json!({"count": count, "size": size, "share": count as f64 / size as f64 * 100.0});
    let utc = post_json("/retention", &json!({"events": week(), "start_event": "signup", "return_event": "login", "intervals": 3})).await;
    let cohorts = &utc.body["total"]["cohorts"];
    assert_eq!(cohorts[0]["cohort"], "2024-03-04");
    assert_eq!(
        cohorts[0]["cells"],
        json!([cell(0, 2), cell(1, 2), cell(1, 2), cell(1, 2)])
    );
    assert_eq!(cohorts[1]["cohort"], "2024-03-05");
    assert_eq!(
        cohorts[1]["cells"],
        json!([cell(0, 2), cell(1, 2), cell(1, 2), {"count": 0, "size": 0}])
    );
    let tokyo = post_json("/retention", &json!({"events": week(), "start_event": "signup", "return_event": "login", "intervals": 3, "timezone": "Asia/Tokyo"})).await;
    let members: Vec<(Value, Value)> = tokyo.body["total"]["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["cohort"].clone(), c["members"].clone()))
        .collect();
    assert_eq!(
        members,
        vec![
            (json!("2024-03-04"), json!(1)),
            (json!("2024-03-05"), json!(2)),
            (json!("2024-03-06"), json!(1)),
        ]
    );
    let life = post_json("/lifecycle", &json!({"events": week(), "period": "day"})).await;
    let sixth = &life.body["total"]["periods"][2];
    assert_eq!(
        (
            sixth["period"].as_str(),
            sixth["returning"].as_u64(),
            sixth["resurrecting"].as_u64(),
            sixth["dormant"].as_i64()
        ),
        (Some("2024-03-06"), Some(1), Some(1), Some(-2))
    );
    assert_eq!(sixth["quick_ratio"], 0.5);
    let sticky = post_json("/stickiness", &json!({"events": week()})).await;
    let fifth = &sticky.body["total"]["days"][1];
    assert_eq!(
        (
            fifth["dau"].as_u64(),
            fifth["wau"].as_u64(),
            fifth["mau"].as_u64()
        ),
        (Some(3), Some(4), Some(4))
    );
    assert_eq!(fifth["dau_mau"], 75.0);
    let week_row = &sticky.body["total"]["distribution"][0];
    assert_eq!(week_row["counts"], json!([1, 1, 2, 0, 0, 0, 0]));
    assert_eq!(week_row["average_active_days"], 2.25);
}

/// Attribute values are text: a number and the string of its digits are one segment, a
/// boolean is `true`, null is absent (and `not_in` keeps a row without the attribute).
#[tokio::test]
async fn attribute_numbers_and_booleans_read_as_their_text() {
    let body = json!({
        "events": [
            {"customer_id": "a", "timestamp": "2024-01-01", "attributes": {"n": 3}},
            {"customer_id": "b", "timestamp": "2024-01-01", "attributes": {"n": "3"}},
            {"customer_id": "c", "timestamp": "2024-01-01", "attributes": {"n": 2.5}},
            {"customer_id": "d", "timestamp": "2024-01-02", "attributes": {"n": true}},
            {"customer_id": "d", "timestamp": "2024-01-03", "attributes": {"n": null, "m": "x"}},
            {"customer_id": "e", "timestamp": "2024-01-03", "attributes": null, "event": null}
        ],
        "intervals": 1,
        "group_by": ["n"],
        "filter": [{"attribute": "m", "op": "not_in", "values": ["x"]}, {"attribute": "n", "op": "in", "values": ["3", "2.5", "true"]}]
    });
    let answer = post_json("/retention", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = answer.body;
    let segments: Vec<(Value, u64)> = answer["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["segment"]["n"].clone(), s["members"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        segments,
        vec![(json!("2.5"), 1), (json!("3"), 2), (json!("true"), 1)]
    );
    assert_eq!(answer["segmenting"]["events"], 6);
    assert_eq!(answer["segmenting"]["kept_events"], 4);
}
