//! The deployment files parse and agree with the service: the probes hit its health and
//! readiness endpoints, the container port is the default port, and the Dockerfile's
//! health check uses the binary's own `healthcheck` command.

use serde_json::Value;

fn yaml(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/deploy/kubernetes/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn kubernetes_manifests_probe_the_service_endpoints() {
    let deployment = yaml("deployment.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["ports"][0]["containerPort"], 8080);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert!(
        deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap()
            >= 30
    );
    // The drain deadline plus the preStop pause fit in the grace period, so that SIGTERM's
    // drain ends (cancelling leftover work) before Kubernetes kills the process.
    let grace_s = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_f64()
        .unwrap();
    let pre_stop_s = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_f64()
        .unwrap();
    let drain_ms: f64 = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "SHUTDOWN_GRACE_MS")
        .and_then(|e| e["value"].as_str())
        .unwrap()
        .parse()
        .unwrap();
    assert!(pre_stop_s + drain_ms / 1000.0 < grace_s);
    let spec = retention_kpi::openapi();
    for path in ["/readyz", "/healthz", "/metrics"] {
        assert!(
            spec.paths.paths.contains_key(path),
            "{path} is not an endpoint"
        );
    }
    assert_eq!(
        yaml("service.yaml")["spec"]["ports"][0]["targetPort"],
        "http"
    );
    assert_eq!(
        yaml("hpa.yaml")["spec"]["scaleTargetRef"]["name"],
        "retention-kpi"
    );
    assert_eq!(retention_kpi::config::Config::default().port, 8080);
}

#[test]
fn the_dockerfile_runs_unprivileged_with_its_own_health_check() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    assert!(dockerfile.contains("HEALTHCHECK"));
    assert!(dockerfile.contains("retention-kpi\", \"healthcheck\"]"));
    assert!(dockerfile.contains("USER 65532"));
    assert!(dockerfile.contains("EXPOSE 8080"));
}
