//! The committed openapi.yaml is exactly what the code generates.
//! Regenerate it with `UPDATE_OPENAPI=1 cargo test --test openapi_sync`.

mod common;

use axum::http::Method;

#[test]
fn committed_openapi_yaml_equals_the_generated_spec() {
    let generated = retention_kpi::http::docs::openapi_yaml_text();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.yaml differs from the spec the code generates: run \
         `UPDATE_OPENAPI=1 cargo test --test openapi_sync` and commit the result"
    );
}

#[tokio::test]
async fn the_service_serves_the_committed_spec_as_yaml_and_json() {
    let committed = common::committed_spec();
    let yaml = common::send(Method::GET, "/openapi.yaml", None, "").await;
    assert_eq!(yaml.status, 200);
    // Byte for byte: the service reads the examples' numbers exactly (serde_json's
    // float_roundtrip is one of its own features, not only a test dependency's).
    let file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert!(
        yaml.text == file,
        "/openapi.yaml is not byte-equal to openapi.yaml"
    );
    let served: serde_json::Value = yaml_serde::from_str(&yaml.text).unwrap();
    assert!(
        served == committed,
        "/openapi.yaml differs from openapi.yaml"
    );
    let json = common::send(Method::GET, "/openapi.json", None, "").await;
    assert_eq!(json.status, 200);
    assert!(
        json.body == committed,
        "/openapi.json differs from openapi.yaml"
    );
    assert!(committed["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[tokio::test]
async fn interactive_docs_are_served_from_the_binary() {
    let page = common::send(Method::GET, "/docs/", None, "").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    assert!(
        !page.text.contains("cdn"),
        "the docs page must not load from a CDN"
    );
    let config = common::send(Method::GET, "/docs/swagger-initializer.js", None, "").await;
    assert_eq!(config.status, 200);
    assert!(config.text.contains("/openapi.json"));
}

/// Client generators turn a `oneOf` into a union they can only tell apart by a discriminator.
/// Every `oneOf` in the spec is either "a schema or null" (an optional field) or names its
/// discriminator; a tagged enum added without one fails here.
#[test]
fn every_one_of_is_optional_or_has_a_discriminator() {
    fn walk(node: &serde_json::Value, path: &str, found: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(map) => {
                if let Some(variants) = map.get("oneOf").and_then(|v| v.as_array()) {
                    let optional =
                        variants.len() == 2 && variants.iter().any(|v| v["type"] == "null");
                    if !optional && map.get("discriminator").is_none() {
                        found.push(path.to_owned());
                    }
                }
                for (key, value) in map {
                    walk(value, &format!("{path}/{key}"), found);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, value) in items.iter().enumerate() {
                    walk(value, &format!("{path}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let spec = common::committed_spec();
    let mut found = Vec::new();
    walk(&spec, "", &mut found);
    assert!(
        found.is_empty(),
        "oneOf without a discriminator at {found:?}"
    );
    // The walk sees the optional fields' oneOfs: it is looking at the right document.
    assert!(
        serde_json::to_string(&spec)
            .unwrap()
            .matches("\"oneOf\"")
            .count()
            > 10
    );
}
