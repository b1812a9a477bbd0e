//! `/kpis`: one request, many metrics; a bad item gets a problem and the rest still answer.

mod common;

use axum::http::Method;
use serde_json::json;

#[tokio::test]
async fn a_batch_with_one_invalid_item_answers_every_valid_one() {
    let body = json!({"items": [
        {"id": "retention", "metric": "crr", "start_customers": 100, "new_customers": 20, "end_customers": 95},
        {"id": "broken", "metric": "crr", "start_customers": 100, "new_customers": 30, "end_customers": 20},
        {"id": "nps", "metric": "nps", "promoters": 200, "passives": 120, "detractors": 80},
        {"id": "typo", "metric": "churn", "start_customer": 10},
        {"id": "unknown", "metric": "ltv"},
        {"id": "mrr", "metric": "revenue_churn", "start_mrr": 100000, "churned_mrr": 5000},
        {"id": "clv", "metric": "clv", "method": "simple", "average_purchase_value": 50, "purchase_frequency": 5, "lifespan": 3},
        {"id": "engagement", "metric": "engagement", "components": [{"name": "a", "participants": 1, "total": 2}]},
        {"id": "loyalty", "metric": "loyalty", "customers": 10, "loyalty_members": 4},
        {"id": "ab", "metric": "ab_test", "control": {"retained": 3, "started": 4}, "variant": {"retained": 1, "started": 4}}
    ]});
    let answer = common::post_json("/kpis", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let results = answer.body["results"].as_array().unwrap();
    let ids: Vec<_> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "retention",
            "broken",
            "nps",
            "typo",
            "unknown",
            "mrr",
            "clv",
            "engagement",
            "loyalty",
            "ab"
        ]
    );
    assert_eq!(answer.body["succeeded"], 7);
    assert_eq!(answer.body["failed"], 3);
    // Each valid item answers exactly what its own endpoint answers.
    for (index, path) in [(0, "/crr"), (2, "/nps"), (5, "/revenue-churn"), (6, "/clv")] {
        let mut item = body["items"][index].as_object().unwrap().clone();
        item.remove("id");
        item.remove("metric");
        let alone = common::post_json(path, &item.into()).await;
        assert_eq!(results[index]["status"], 200);
        assert_eq!(results[index]["result"], alone.body, "item {index}");
    }
    // Problems point into the whole body.
    assert_eq!(results[1]["status"], 422);
    assert_eq!(
        results[1]["problem"]["errors"][0]["pointer"],
        "/items/1/new_customers"
    );
    assert_eq!(
        results[3]["problem"]["errors"][0]["pointer"],
        "/items/3/start_customer"
    );
    assert_eq!(
        results[4]["problem"]["errors"][0]["pointer"],
        "/items/4/metric"
    );
}

#[tokio::test]
async fn the_number_of_items_is_bounded_by_configuration() {
    let item = json!({"metric": "nps", "promoters": 1});
    let config = retention_kpi::config::Config {
        max_batch_items: 3,
        ..Default::default()
    };
    let answer = common::send_to(
        retention_kpi::app(config.clone()),
        Method::POST,
        "/kpis",
        Some("application/json"),
        json!({"items": vec![item.clone(); 4]}).to_string(),
    )
    .await;
    answer.assert_problem(422, Some("/items"));
    let answer = common::send_to(
        retention_kpi::app(config),
        Method::POST,
        "/kpis",
        Some("application/json"),
        json!({"items": vec![item; 3]}).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["succeeded"], 3);
}

#[tokio::test]
async fn a_batch_whose_items_are_not_objects_is_refused_whole() {
    // The spec says items are objects: a batch that is not a list of objects is malformed.
    let answer = common::post_json(
        "/kpis",
        &json!({"items": [{"metric": "nps", "scores": [10]}, 42]}),
    )
    .await;
    answer.assert_problem(422, Some("/items/1"));
}

#[tokio::test]
async fn an_item_whose_answer_would_overflow_gets_a_problem() {
    let answer = common::post_json(
        "/kpis",
        &json!({"items": [{"metric": "revenue_churn", "start_mrr": 4.6e16, "new_mrr": 1.5e13, "contraction_mrr": 1e-300}]}),
    )
    .await;
    assert_eq!(answer.body["results"][0]["status"], 422);
}

/// The batch's metric list is checked against the endpoint list: its metrics are exactly the
/// spec's KPI-from-counts endpoints (tags retention, value, revenue, loyalty), and every
/// example of each endpoint answers in a batch item as the endpoint itself answers it.
#[tokio::test]
async fn the_batch_offers_exactly_the_kpi_endpoints_and_answers_as_they_do() {
    let spec = common::committed_spec();
    let mut metrics: Vec<String> = spec["components"]["schemas"]["BatchMetric"]["enum"]
        .as_array()
        .expect("BatchMetric is an enum in the spec")
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    let kpi_tags = ["retention", "value", "revenue", "loyalty"];
    let mut endpoints: Vec<(String, &serde_json::Value)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(path, item)| {
            let operation = item.get("post")?;
            let tags = operation["tags"].as_array()?;
            tags.iter()
                .any(|t| kpi_tags.contains(&t.as_str().unwrap_or("")))
                .then(|| (path.trim_start_matches('/').replace('-', "_"), operation))
        })
        .collect();
    metrics.sort();
    endpoints.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&String> = endpoints.iter().map(|(name, _)| name).collect();
    assert_eq!(metrics.iter().collect::<Vec<_>>(), names);

    for (metric, operation) in endpoints {
        let path = format!("/{}", metric.replace('_', "-"));
        let examples = operation["requestBody"]["content"]["application/json"]["examples"]
            .as_object()
            .unwrap();
        assert!(!examples.is_empty(), "{path} has examples");
        for (name, example) in examples {
            let body = &example["value"];
            let direct = common::post_json(&path, body).await;
            let mut item = body.as_object().unwrap().clone();
            // An A/B test's own metric travels as `ab_metric` in a batch.
            if let Some(ab_metric) = item.remove("metric") {
                item.insert("ab_metric".into(), ab_metric);
            }
            item.insert("metric".into(), json!(metric));
            let batch = common::post_json("/kpis", &json!({"items": [item]})).await;
            assert_eq!(batch.status, 200, "{path} {name}");
            let result = &batch.body["results"][0];
            assert_eq!(
                result["status"],
                json!(direct.status.as_u16()),
                "{path} {name}"
            );
            if direct.status == 200 {
                assert_eq!(result["result"], direct.body, "{path} {name}");
            }
        }
    }
}
