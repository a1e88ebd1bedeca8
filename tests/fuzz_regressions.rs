//! Regression tests for what the fuzz targets in `fuzz/` found: each input here once made
//! kgate crash, hang or fail instead of reporting a finding.

use std::process::Command;

use serde_json::Value;

fn check_json(yaml: &str) -> (Option<i32>, Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("objects.yaml"), yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .args(["check", ".", "--format", "json"])
        .current_dir(dir.path())
        .env_remove("GITHUB_BASE_REF")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI_MERGE_REQUEST_DIFF_BASE_SHA")
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

fn codes(report: &Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// fuzz target `rego_input` (crash-134ac144…): a ConfigMap whose `data` is a string made the
/// built-in `policy/no-inline-secrets` fail to evaluate (`some … in` over a scalar is an error in
/// regorus), so the run exited 2 as if kgate had failed. Every built-in rule that iterates an
/// input field now tolerates the wrong type; the schema check reports it.
#[test]
fn built_in_policies_tolerate_fields_of_the_wrong_type() {
    let objects = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: from-a-list, namespace: prod}
data: "keationlue"
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: prod}
stringData: "not-a-map"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      volumes: "none"
      initContainers: "none"
      containers:
        - name: web
          image: nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          env: "DB_PASSWORD=x"
          resources:
            requests: "lots"
            limits: 7
"#;
    let (code, report) = check_json(objects);
    let codes = codes(&report);
    assert!(
        !codes.iter().any(|c| c == "policy/eval-error"),
        "a built-in policy failed: {codes:?}"
    );
    assert_eq!(code, Some(1), "{codes:?}");
    assert!(codes.iter().any(|c| c == "schema/wrong-type"), "{codes:?}");
}
