//! The spec drives these tests: every example request of every operation in the committed
//! openapi.yaml is sent to the app in-process; the answer must have the status under which the
//! spec shows the same example, validate against that response's schema, and equal the
//! example shown.

mod common;

use axum::http::Method;
use serde_json::Value;

/// The response of `operation` that shows an example named `name`: (status, content).
fn response_with_example<'a>(operation: &'a Value, name: &str) -> Option<(u16, &'a Value)> {
    let responses = operation["responses"].as_object()?;
    responses.iter().find_map(|(status, response)| {
        let content = response["content"].as_object()?;
        content.values().find_map(|media| {
            media["examples"]
                .get(name)
                .map(|_| (status.parse().unwrap(), media))
        })
    })
}

#[tokio::test]
async fn every_example_request_gets_the_documented_answer() {
    let spec = common::committed_spec();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(operation) = item.get("post") else {
            continue;
        };
        let examples = operation["requestBody"]["content"]["application/json"]["examples"]
            .as_object()
            .unwrap_or_else(|| panic!("POST {path} has no example request"));
        let mut successes = 0;
        for (name, example) in examples {
            let (status, media) = response_with_example(operation, name)
                .unwrap_or_else(|| panic!("{path} example {name} has no documented answer"));
            let answer = common::post_json(path, &example["value"]).await;
            assert_eq!(
                answer.status.as_u16(),
                status,
                "{path} example {name}: {}",
                answer.text
            );
            let errors = common::schema_errors(&spec, &media["schema"], &answer.body);
            assert!(
                errors.is_empty(),
                "{path} example {name} breaks its schema: {errors:?}"
            );
            assert_eq!(
                answer.body, media["examples"][name]["value"],
                "{path} example {name}: the answer differs from the spec's example"
            );
            if status == 200 {
                successes += 1;
            } else {
                assert_eq!(answer.content_type(), "application/problem+json");
            }
            checked += 1;
        }
        assert!(successes > 0, "POST {path} has no successful example");
    }
    assert!(checked >= 15, "only {checked} examples were checked");
}

#[tokio::test]
async fn every_get_operation_answers_its_schema() {
    let spec = common::committed_spec();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(operation) = item.get("get") else {
            continue;
        };
        // Parameters with an example take it: in the path, or in the query string.
        let (mut uri, mut query) = (path.clone(), Vec::new());
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let (Some(name), Some(example)) =
                (parameter["name"].as_str(), parameter["example"].as_str())
            else {
                continue;
            };
            if parameter["in"] == "path" {
                uri = uri.replace(&format!("{{{name}}}"), example);
            } else {
                query.push(format!("{name}={example}"));
            }
        }
        if !query.is_empty() {
            uri = format!("{uri}?{}", query.join("&"));
        }
        let answer = common::send(Method::GET, &uri, None, "").await;
        assert_eq!(answer.status, 200, "GET {uri}");
        let media = &operation["responses"]["200"]["content"]["application/json"];
        if let Some(schema) = media.get("schema") {
            let errors = common::schema_errors(&spec, schema, &answer.body);
            assert!(errors.is_empty(), "GET {uri}: {errors:?}");
        }
        // An example answer shown in the spec is the answer to the parameters' examples.
        if let Some(examples) = media["examples"].as_object() {
            for (name, example) in examples {
                assert_eq!(answer.body, example["value"], "GET {uri}: example {name}");
            }
        }
    }
}

#[test]
fn every_computing_operation_documents_its_problem_answers() {
    let spec = common::committed_spec();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(operation) = item.get("post") else {
            continue;
        };
        for status in ["400", "413", "415", "422"] {
            let media = &operation["responses"][status]["content"]["application/problem+json"];
            assert!(media.is_object(), "POST {path} does not document {status}");
        }
    }
}

/// Swagger UI's "Try it out" and most generators take the first example by name: for every
/// operation it is one the service answers with 200, so a newcomer's first click succeeds.
#[tokio::test]
async fn the_first_example_by_name_succeeds() {
    let spec = common::committed_spec();
    let mut wrong = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(operation) = item.get("post") else {
            continue;
        };
        let examples = operation["requestBody"]["content"]["application/json"]["examples"]
            .as_object()
            .unwrap();
        let first = examples.keys().min().unwrap();
        let answer = common::post_json(path, &examples[first]["value"]).await;
        if answer.status != 200 {
            wrong.push(format!("{path}: {first} answers {}", answer.status));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
