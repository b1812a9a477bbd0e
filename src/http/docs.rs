//! The OpenAPI document (generated from the code, committed as openapi.yaml) and the routes
//! that serve it: `/openapi.json`, `/openapi.yaml` and the offline Swagger UI at `/docs`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::Router;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDocument, Ref, RefOr, ResponseBuilder};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use super::error::{FieldError, Problem, PROBLEM_JSON};
use super::{endpoints, examples, AppState};
use crate::config::Config;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "retention-kpi",
        description = "Customer-retention KPIs on demand. Every answer carries its value with the \
formula, the substituted inputs and the steps that produced it; every refusal is an RFC 9457 \
problem+json naming the offending field by JSON pointer.\n\n\
Problem types: `urn:retention-kpi:problem:validation` (values a formula cannot work with), \
`invalid-body` (missing, unknown or mistyped field), `malformed-json`, `unsupported-media-type`, \
`payload-too-large`, `not-found`, `method-not-allowed`, `unauthorized` (API keys configured, none or a wrong one \
given), `overloaded` (503 with Retry-After: over the concurrency limit, or too many requests waiting for a CPU worker), `time-limit` (503: the request ran past `REQUEST_TIMEOUT_MS`; its work, a model fit included, is cancelled), `rate-limited` (429 with Retry-After: an API key over `RATE_LIMIT_PER_SECOND`), `internal`.\n\n\
When API keys are configured, computing endpoints need `Authorization: Bearer <key>` or `x-api-key: <key>`.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(Problem, FieldError, super::kpis::BatchItem, super::kpis::BatchMetric, super::charts::Format)),
    tags(
        (name = "retention", description = "Customer retention and churn"),
        (name = "value", description = "Customer lifetime value"),
        (name = "revenue", description = "Revenue (MRR) churn and retention"),
        (name = "loyalty", description = "Net Promoter Score, engagement and loyalty"),
        (name = "batch", description = "Many metrics in one request"),
        (name = "records", description = "Raw records (JSON or CSV) to KPIs over time"),
        (name = "models", description = "Predictive models fitted by maximum likelihood"),
        (name = "operations", description = "Health and the API description"),
    )
)]
struct ApiDoc;

/// The OpenAPI 3.1 document: the derived paths and schemas, the problem responses every
/// computation can give, and each operation's examples with the answers the service gives.
///
/// # Panics
/// When an example answers a status the operation does not document (a test catches it).
pub fn openapi() -> OpenApiDocument {
    let state = AppState::new(Config::default());
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi());
    for endpoint in endpoints::computing() {
        let (schemas, mut paths, method_router) = endpoint.route;
        let examples = (endpoint.examples)();
        for item in paths.paths.values_mut() {
            let operation = item.post.as_mut().expect("computing endpoints are POST");
            add_problem_responses(operation);
            // A key when keys are configured (either scheme), none otherwise (`{}`).
            operation.security = Some(vec![
                SecurityRequirement::new("bearer", Vec::<String>::new()),
                SecurityRequirement::new("api_key", Vec::<String>::new()),
                SecurityRequirement::default(),
            ]);
            for example in &examples.examples {
                let (status, answer) = (examples.answer)(&state, &example.body);
                add_example(operation, example, status, answer);
            }
        }
        router = router.routes((schemas, paths, method_router));
    }
    for (schemas, mut paths, method_router) in endpoints::queries() {
        for item in paths.paths.values_mut() {
            let operation = item.get.as_mut().expect("query endpoints are GET");
            add_problem_responses(operation);
            // No body: the body's problems do not arise.
            for status in ["400", "413", "415"] {
                operation.responses.responses.remove(status);
            }
            operation.security = Some(vec![
                SecurityRequirement::new("bearer", Vec::<String>::new()),
                SecurityRequirement::new("api_key", Vec::<String>::new()),
                SecurityRequirement::default(),
            ]);
            if let Some(RefOr::T(response)) = operation.responses.responses.get_mut("200") {
                if let Some(RefOr::T(content)) = response.content.get_mut("application/json") {
                    content.examples.insert(
                        "cohorts_duckdb".to_owned(),
                        RefOr::T(
                            ExampleBuilder::new()
                                .summary("GET /sql/cohorts?dialect=duckdb")
                                .value(Some(super::sql::example_answer()))
                                .build(),
                        ),
                    );
                }
            }
        }
        router = router.routes((schemas, paths, method_router));
    }
    for route in endpoints::operations() {
        router = router.routes(route);
    }
    let mut doc = router.into_openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "One of the service's API keys (API_KEYS), when keys are configured",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "x-api-key",
            "One of the service's API keys (API_KEYS), when keys are configured",
        ))),
    );
    doc.servers = Some(vec![ServerBuilder::new()
        .url("http://localhost:8080")
        .description(Some(
            "The service started with `cargo run --release` (PORT 8080)",
        ))
        .build()]);
    doc
}

fn problem_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build()
}

fn add_problem_responses(operation: &mut Operation) {
    let problems = [
        ("400", "The body is not JSON"),
        ("413", "The body is over the configured size limit"),
        ("401", "API keys are configured and none, or a wrong one, was given"),
        ("415", "The body is not declared as application/json"),
        (
            "429",
            "The API key is over its request rate (with `Retry-After`)",
        ),
        (
            "422",
            "A field is missing, unknown or of the wrong type, or the values are impossible \
             (the problem's `errors` point at the field)",
        ),
        (
            "503",
            "Over the concurrency limit or the CPU-work queue (with `Retry-After`), or the computation exceeded its time budget",
        ),
    ];
    for (status, description) in problems {
        operation.responses.responses.insert(
            status.to_owned(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(PROBLEM_JSON, problem_content())
                    .build(),
            ),
        );
    }
}

fn add_example(
    operation: &mut Operation,
    example: &examples::RequestExample,
    status: u16,
    answer: serde_json::Value,
) {
    let build = |value| {
        RefOr::T(
            ExampleBuilder::new()
                .summary(example.summary)
                .value(Some(value))
                .build(),
        )
    };
    let Some(RefOr::T(body)) = operation.request_body.as_mut() else {
        panic!("operation {:?} has no request body", operation.operation_id);
    };
    let Some(RefOr::T(content)) = body.content.get_mut("application/json") else {
        panic!("request body of {:?} is not JSON", operation.operation_id);
    };
    content
        .examples
        .insert(example.name.to_owned(), build(example.body.clone()));
    let Some(RefOr::T(response)) = operation.responses.responses.get_mut(&status.to_string())
    else {
        panic!(
            "example {} answers {status}, which {:?} does not document",
            example.name, operation.operation_id
        );
    };
    let content_type = if status == 200 {
        "application/json"
    } else {
        PROBLEM_JSON
    };
    let Some(RefOr::T(content)) = response.content.get_mut(content_type) else {
        panic!(
            "response {status} of {:?} has no {content_type}",
            operation.operation_id
        );
    };
    content
        .examples
        .insert(example.name.to_owned(), build(answer));
}

/// The document rendered once: JSON and YAML.
struct Rendered {
    json: String,
    yaml: String,
}

fn rendered() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let doc = openapi();
        Rendered {
            json: doc
                .to_pretty_json()
                .expect("the OpenAPI document serialises"),
            yaml: quote_yaml_11_scalars(&doc.to_yaml().expect("the OpenAPI document serialises")),
        }
    })
}

/// Quotes the plain scalars that YAML 1.1 readers (PyYAML, and the generators built on it)
/// would read as timestamps — `2026-02-30` is then a string, not an impossible date that stops
/// the whole document from loading — or as booleans (`on`, `off`, `yes`, `no`: the `/retention`
/// counting `on` would become `true`). The emitter quotes by YAML 1.2, where they are strings.
fn quote_yaml_11_scalars(yaml: &str) -> String {
    let is_yaml11_bool = |v: &str| {
        ["yes", "no", "on", "off"]
            .iter()
            .any(|w| v == *w || v == w.to_uppercase() || v == capitalised(w))
    };
    let is_date = |v: &str| {
        let b = v.as_bytes();
        b.len() >= 8
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && v[5..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .is_some_and(|m| (1..=2).contains(&m.len()))
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || " -:.+".contains(c))
            && v.matches('-').count() >= 2
    };
    let mut out = String::with_capacity(yaml.len() + 64);
    for line in yaml.lines() {
        let trimmed = line.trim_start();
        // `key: value`, `- value` or `- key: value` (the first key of a list item).
        let item = trimmed.strip_prefix("- ");
        let rest = item.unwrap_or(trimmed);
        let start = line.len() - rest.len();
        let value_at = match rest.find(": ") {
            Some(i) => Some(start + i + 2),
            None => item.map(|_| start),
        };
        match value_at {
            Some(at) if is_date(&line[at..]) || is_yaml11_bool(&line[at..]) => {
                out.push_str(&line[..at]);
                out.push('\'');
                out.push_str(&line[at..]);
                out.push('\'');
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// `on` → `On`.
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The OpenAPI document as YAML, exactly as committed in openapi.yaml.
pub fn openapi_yaml_text() -> &'static str {
    &rendered().yaml
}

/// OpenAPI document (JSON)
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi_json",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        rendered().json.as_str(),
    )
}

/// OpenAPI document (YAML)
#[utoipa::path(
    get,
    path = "/openapi.yaml",
    tag = "operations",
    operation_id = "openapi_yaml",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/yaml", body = Object))
)]
pub async fn openapi_yaml() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/yaml")],
        openapi_yaml_text(),
    )
}

/// The Swagger UI, which is compiled into the binary (nothing is loaded from a CDN) and reads
/// `/openapi.json`.
pub fn swagger_ui() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").config(SwaggerConfig::from("/openapi.json")))
}

#[cfg(test)]
mod tests {
    use super::quote_yaml_11_scalars;

    #[test]
    fn scalars_that_yaml_1_1_reads_otherwise_are_quoted() {
        let yaml = "enum:\n- on\n- on_or_after\nexample: 2026-02-30\nvalue: On\nname: one\n";
        assert_eq!(
            quote_yaml_11_scalars(yaml),
            "enum:\n- 'on'\n- on_or_after\nexample: '2026-02-30'\nvalue: 'On'\nname: one\n"
        );
    }
}
