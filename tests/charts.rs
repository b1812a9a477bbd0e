//! Charts: `Accept: image/svg+xml` or `?format=svg` on the records and model endpoints draw
//! the same answer as SVG. Each test reads the drawing as an XML document and checks what a
//! person looking at it would check: the title, the axes, and that the numbers drawn are the
//! JSON answer's numbers.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use common::{app, post_json, send};

const EVENTS_CSV: &str = "customer_id,date,amount\nann,2026-01-05,40\nann,2026-02-11,25\nbob,2026-01-20,60\ncat,2026-02-02,10\ncat,2026-03-09,10\nann,2026-03-20,5\ndan,2026-03-01,7\n";

/// POSTs `body` with `Accept: image/svg+xml`; the status, content type and body text.
async fn post_accepting_svg(path: &str, content_type: &str, body: String) -> (u16, String, String) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "image/svg+xml")
        .body(Body::from(body))
        .unwrap();
    let response = app().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

/// The chart's texts, in document order, trimmed.
fn texts(svg: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(svg).expect("the chart is well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_owned())
        .collect()
}

fn title(svg: &str) -> String {
    let document = roxmltree::Document::parse(svg).unwrap();
    document
        .descendants()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .expect("a <title>")
        .to_owned()
}

fn percent(share: f64) -> String {
    let text = format!("{share:.1}");
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

#[tokio::test]
async fn the_cohort_heatmap_writes_every_share_of_the_json_table_in_its_cell() {
    let json = send(Method::POST, "/cohorts", Some("text/csv"), EVENTS_CSV).await;
    assert_eq!(json.status, 200);
    let (status, content_type, svg) =
        post_accepting_svg("/cohorts", "text/csv", EVENTS_CSV.to_owned()).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "image/svg+xml"),
        "{svg}"
    );
    assert_eq!(
        title(&svg),
        "Cohort retention by month: share of each cohort active"
    );
    let drawn = texts(&svg);
    // By hand: the January cohort is ann and bob; ann comes back in February and March.
    assert!(drawn.contains(&"2026-01 (2)".to_owned()), "{drawn:?}");
    let cells: Vec<String> = json.body["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["shares"].as_array().unwrap().clone())
        .map(|s| percent(s.as_f64().unwrap()))
        .collect();
    assert_eq!(cells, ["100%", "50%", "50%", "100%", "100%", "100%"]);
    let drawn_cells: Vec<String> = drawn
        .iter()
        .filter(|t| t.ends_with('%') && !t.contains(':'))
        .cloned()
        .collect();
    assert_eq!(drawn_cells, cells);
    // The dark theme's style sheet rides along.
    assert!(svg.contains("@media (prefers-color-scheme: dark)"));
}

#[tokio::test]
async fn format_svg_on_the_query_works_with_json_and_csv_bodies_and_draws_the_same_bytes() {
    let csv = send(
        Method::POST,
        "/cohorts?format=svg&period=month",
        Some("text/csv"),
        EVENTS_CSV,
    )
    .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.content_type(), "image/svg+xml");
    let (_, _, accepted) = post_accepting_svg("/cohorts", "text/csv", EVENTS_CSV.to_owned()).await;
    assert_eq!(csv.text, accepted, "the same request draws the same bytes");
    let events: Vec<Value> = EVENTS_CSV
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            json!({"customer_id": f[0], "date": f[1], "amount": f[2].parse::<f64>().unwrap()})
        })
        .collect();
    let json_body = send(
        Method::POST,
        "/cohorts?format=svg",
        Some("application/json"),
        json!({ "events": events }).to_string(),
    )
    .await;
    assert_eq!(json_body.status, 200, "{}", json_body.text);
    assert_eq!(json_body.text, csv.text);
    // format=json, or no format at all, is the JSON answer.
    let plain = send(
        Method::POST,
        "/cohorts?format=json",
        Some("text/csv"),
        EVENTS_CSV,
    )
    .await;
    assert_eq!(plain.content_type(), "application/json");
    assert_eq!(plain.body["customers"], 4);
}

#[tokio::test]
async fn an_unknown_format_and_a_table_too_large_to_draw_are_refused_naming_format() {
    let answer = send(
        Method::POST,
        "/cohorts?format=png",
        Some("text/csv"),
        EVENTS_CSV,
    )
    .await;
    answer.assert_problem(422, Some("/format"));
    // Two years of days: 730 offsets, where a heatmap draws at most 60.
    let csv = format!(
        "customer_id,date\na,2026-01-01\nb,2026-01-02\na,{}\n",
        "2027-12-31"
    );
    let answer = send(
        Method::POST,
        "/cohorts?format=svg&period=day",
        Some("text/csv"),
        csv.clone(),
    )
    .await;
    answer.assert_problem(422, Some("/format"));
    assert!(answer.body["detail"]
        .as_str()
        .unwrap()
        .contains("coarser period"));
    // The JSON of the same table is still answered.
    let answer = send(Method::POST, "/cohorts?period=day", Some("text/csv"), csv).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn the_survival_chart_draws_each_group_and_its_number_at_risk() {
    let body = json!({"observations": [
        {"duration": 3, "observed": true, "group": "monthly"},
        {"duration": 5, "observed": true, "group": "monthly"},
        {"duration": 8, "observed": false, "group": "monthly"},
        {"duration": 12, "observed": false, "group": "annual"},
        {"duration": 4, "observed": true, "group": "annual"},
        {"duration": 14, "observed": true, "group": "annual"}
    ]});
    let (status, _, svg) =
        post_accepting_svg("/survival", "application/json", body.to_string()).await;
    assert_eq!(status, 200, "{svg}");
    assert_eq!(title(&svg), "Survival (Kaplan–Meier) with 95% bands");
    let drawn = texts(&svg);
    for label in [
        "tenure (time)",
        "share still a customer (%)",
        "number at risk",
        "annual",
        "monthly",
    ] {
        assert!(
            drawn.contains(&label.to_owned()),
            "{label} missing from {drawn:?}"
        );
    }
    // The at-risk table: times 0, 5, 10 (round steps over 0 … 14), then by hand per group:
    // annual (4, 12, 14) has 3, 2, 2 at risk; monthly (3, 5, 8) has 3, 2, 0.
    let at = |label: &str| drawn.iter().position(|t| t == label).unwrap();
    let row = &drawn[at("number at risk") + 1..];
    assert_eq!(&row[..9], ["0", "3", "3", "5", "2", "2", "10", "2", "0"]);
}

#[tokio::test]
async fn the_series_chart_names_each_movement_and_period() {
    let body = json!({"period": "month", "events": [
        {"customer_id": "a", "date": "2026-01-10", "mrr": 100},
        {"customer_id": "b", "date": "2026-02-03", "mrr": 50},
        {"customer_id": "a", "date": "2026-03-03", "mrr": 150},
        {"customer_id": "b", "date": "2026-04-03", "mrr": 0}
    ]});
    let answer = post_json("/series?format=svg", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let drawn = texts(&answer.text);
    for label in [
        "MRR movements by month",
        "2026-01",
        "2026-04",
        "new",
        "expansion",
        "contraction",
        "churn",
        "net",
        "MRR movement (currency per month)",
    ] {
        assert!(
            drawn.contains(&label.to_owned()),
            "{label} missing from {drawn:?}"
        );
    }
}

#[tokio::test]
async fn the_purchase_model_chart_is_p_alive_over_frequency_and_recency() {
    let body: Value = serde_json::from_str(include_str!(
        "../src/http/models/example_data/purchase_summaries.json"
    ))
    .unwrap();
    for (path, model) in [
        ("/models/bgnbd", "BG/NBD"),
        ("/models/pareto-nbd", "Pareto/NBD"),
        ("/models/mbgnbd", "MBG/NBD"),
    ] {
        let answer = post_json(&format!("{path}?format=svg"), &body).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        let title = title(&answer.text);
        assert!(
            title.starts_with(&format!(
                "{model}: probability a customer is alive, at T = "
            )),
            "{title}"
        );
        let drawn = texts(&answer.text);
        assert!(drawn.contains(&"P(alive)".to_owned()));
        assert!(drawn.contains(&"frequency (repeat purchases)".to_owned()));
    }
    let donations: Value = serde_json::from_str(include_str!(
        "../src/http/models/example_data/donations.json"
    ))
    .unwrap();
    let answer = post_json("/models/bgbb?format=svg", &donations).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // Six yearly chances: recency 0 … 6 whole periods, labelled under the grid.
    let drawn = texts(&answer.text);
    assert_eq!(
        title(&answer.text),
        "BG/BB: probability a customer is alive, at T = 6 periods"
    );
    for r in ["0", "1", "2", "3", "4", "5", "6"] {
        assert!(drawn.contains(&r.to_owned()));
    }
    // A refused body is refused the same way with either format.
    let refused = post_json(
        "/models/bgbb?format=svg",
        &json!({"customers": [{"frequency": 4, "recency": 3, "n_periods": 6}]}),
    )
    .await;
    refused.assert_problem(422, Some("/customers/0/frequency"));
}

#[tokio::test]
async fn the_backtest_chart_tracks_actual_against_expected() {
    let body: Value = serde_json::from_str(include_str!(
        "../src/http/models/example_data/backtest_cdnow_40.json"
    ))
    .unwrap();
    let answer = post_json("/models/backtest?format=svg", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        title(&answer.text),
        "BG/NBD: cumulative repeat purchases in the holdout, actual against expected"
    );
    let drawn = texts(&answer.text);
    for label in [
        "actual",
        "expected (model)",
        "time since the end of calibration (weeks)",
    ] {
        assert!(
            drawn.contains(&label.to_owned()),
            "{label} missing from {drawn:?}"
        );
    }
    let document = roxmltree::Document::parse(&answer.text).unwrap();
    let lines = document
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2"))
        .count();
    assert!(lines >= 2, "two tracking curves, found {lines}");
}

#[tokio::test]
async fn the_competing_risks_chart_draws_each_cause_beside_one_minus_kaplan_meier() {
    let body = json!({"observations": [
        {"duration": 1, "cause": "involuntary"}, {"duration": 2, "cause": "voluntary"},
        {"duration": 2, "cause": null}, {"duration": 3, "cause": "voluntary"},
        {"duration": 3, "cause": "involuntary"}, {"duration": 4, "cause": null},
        {"duration": 5, "cause": "voluntary"}, {"duration": 6, "cause": "voluntary"},
        {"duration": 8, "cause": "involuntary"}, {"duration": 12, "cause": null}
    ]});
    let (status, content_type, svg) =
        post_accepting_svg("/survival/competing", "application/json", body.to_string()).await;
    assert_eq!(status, 200, "{svg}");
    assert_eq!(content_type, "image/svg+xml");
    assert_eq!(
        title(&svg),
        "Cumulative incidence by cause (Aalen–Johansen) with 95% bands"
    );
    let drawn = texts(&svg);
    for label in [
        "tenure",
        "share who left for the cause (%)",
        "involuntary",
        "voluntary",
        "involuntary: 1 − Kaplan–Meier",
        "voluntary: 1 − Kaplan–Meier",
    ] {
        assert!(
            drawn.contains(&label.to_owned()),
            "{label} missing from {drawn:?}"
        );
    }
    // The same bytes through ?format=svg.
    let by_query = send(
        Method::POST,
        "/survival/competing?format=svg",
        Some("application/json"),
        body.to_string(),
    )
    .await;
    assert_eq!(by_query.text, svg);
    // The JSON answer is unchanged by the chart's existence.
    assert_eq!(post_json("/survival/competing", &body).await.status, 200);
}
