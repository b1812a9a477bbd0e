//! In-process app and spec helpers shared by the integration tests.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use retention_kpi::config::Config;

/// The real router with the default configuration.
pub fn app() -> Router {
    retention_kpi::app(Config::default())
}

/// What came back: status, headers and the body as JSON (`Value::Null` when not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a problem+json answer with `status` whose first error points at `pointer`.
    pub fn assert_problem(&self, status: u16, pointer: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.content_type(), "application/problem+json");
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:retention-kpi:problem:"));
        assert!(!self.body["detail"].as_str().unwrap().is_empty());
        if let Some(pointer) = pointer {
            assert_eq!(
                self.body["errors"][0]["pointer"], pointer,
                "body: {}",
                self.text
            );
        }
    }
}

/// Sends one request to `router` in-process.
pub async fn send_to(
    router: Router,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = router
        .oneshot(request.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

pub async fn send(
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Answer {
    send_to(app(), method, path, content_type, body).await
}

/// POSTs a JSON body.
pub async fn post_json(path: &str, body: &Value) -> Answer {
    send(
        Method::POST,
        path,
        Some("application/json"),
        body.to_string(),
    )
    .await
}

/// The CDNOW sample's customer summaries as request rows (`id`, `frequency`, `recency`, `T`,
/// `monetary_value`), from tests/fixtures/cdnow_sample_summary.csv.
pub fn cdnow_customers() -> Vec<Value> {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cdnow_sample_summary.csv"
    ))
    .unwrap()
    .lines()
    .skip(1)
    .map(|line| {
        let f: Vec<&str> = line.split(',').collect();
        let n = |i: usize| f[i].parse::<f64>().unwrap();
        serde_json::json!({"id": f[0], "frequency": n(1), "recency": n(2), "T": n(3), "monetary_value": n(4)})
    })
    .collect()
}

/// The CDNOW sample's transactions as request rows (`customer_id`, `date`, `amount`), from
/// tests/fixtures/cdnow_sample_transactions.csv.
pub fn cdnow_transactions() -> Vec<Value> {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cdnow_sample_transactions.csv"
    ))
    .unwrap()
    .lines()
    .skip(1)
    .map(|line| {
        let f: Vec<&str> = line.split(',').collect();
        serde_json::json!({"customer_id": f[0], "date": f[1], "amount": f[3].parse::<f64>().unwrap()})
    })
    .collect()
}

/// The committed openapi.yaml, as JSON.
pub fn committed_spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml is committed at the top of the repository");
    yaml_serde::from_str(&text).expect("openapi.yaml parses")
}

/// Validates `instance` against a schema of the spec, resolving `#/components/...` refs.
pub fn schema_errors(spec: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let mut rooted = schema.clone();
    if let Value::Object(map) = &mut rooted {
        map.insert("components".to_owned(), spec["components"].clone());
    }
    let validator = jsonschema::validator_for(&rooted).expect("the spec's schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Rows as CSV text with the given columns (a null is an empty cell, text as is).
pub fn csv_of(rows: &[Value], columns: &[&str]) -> String {
    let mut text = columns.join(",") + "\n";
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match &row[*c] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        text += &(cells.join(",") + "\n");
    }
    text
}

/// The reduction SQL's results computed by DuckDB, with their raw bodies
/// (tests/fixtures/sql_summaries.json, from scripts/sql_check.py --write-fixture).
pub fn sql_fixture() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sql_summaries.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `actual` cut down to the fields `expected` has (arrays element by element, all of
/// `actual`'s elements): comparing it with `expected` checks every expected field.
pub fn project(actual: &Value, expected: &Value) -> Value {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => Value::Object(
            e.keys()
                .map(|k| (k.clone(), project(a.get(k).unwrap_or(&Value::Null), &e[k])))
                .collect(),
        ),
        (Value::Array(a), Value::Array(e)) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| project(x, e.get(i).unwrap_or(&Value::Null)))
                .collect(),
        ),
        _ => actual.clone(),
    }
}

/// A JSON body's settings as the query string of a body of rows: `group_by=plan,country`,
/// `brackets=1-1,2-3`, `filter=country:in:JP|US`, the rest as their text.
pub fn query_of(settings: &Value) -> String {
    let texts = |a: &Vec<Value>, f: &dyn Fn(&Value) -> String| {
        a.iter().map(f).collect::<Vec<_>>().join(",")
    };
    settings
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let text = match (k.as_str(), v) {
                ("group_by", Value::Array(a)) => texts(a, &|x| x.as_str().unwrap().to_owned()),
                ("brackets", Value::Array(a)) => {
                    texts(a, &|b| format!("{}-{}", b["from"], b["to"]))
                }
                ("filter", Value::Array(a)) => texts(a, &|r| {
                    let values: Vec<&str> = r["values"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().unwrap())
                        .collect();
                    format!(
                        "{}:{}:{}",
                        r["attribute"].as_str().unwrap(),
                        r["op"].as_str().unwrap(),
                        values.join("|")
                    )
                }),
                (_, Value::String(s)) => s.clone(),
                (_, other) => other.to_string(),
            };
            format!("{k}={}", text.replace('|', "%7C").replace('/', "%2F"))
        })
        .collect::<Vec<_>>()
        .join("&")
}
