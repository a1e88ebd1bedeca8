//! Snapshot tests (insta) of every report format, through the real binary, on one small
//! repository (`tests/report_snapshots/repo`) that holds one finding of each family: schema,
//! YAML syntax, built-in policy, user Rego, inline secret (masked), render, admission (CEL) and
//! Gatekeeper; and of the plan formats of `kgate diff` on a throw-away git repository.
//!
//! The snapshots are deterministic: the runs use relative paths from the repository and a
//! cleared environment, the tool version is replaced by `[version]`, and the long `kgate
//! explain` texts SARIF embeds per rule are replaced by a marker (the rules registry has its own
//! tests; here the shape of each format matters). Review changes with `cargo insta review`
//! (or `INSTA_UPDATE=always`), as for the other snapshots.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;

/// The inline credential of `apps/web/deployment.yaml`: no format may print it.
const SECRET: &str = "hunter2-S3cret-Value-42";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report_snapshots/repo")
}

/// kgate in `dir` with nothing from the caller's environment (CI variables, KGATE_*, terminal
/// width) that could change its output; returns (exit code, stdout).
fn kgate(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(SECRET), "secret on stderr: {stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn check(format: &str) -> String {
    let (code, out) = kgate(&repo(), &["check", "-p", "policy", ".", "-o", format]);
    assert_eq!(code, 1, "{format}: {out}");
    assert!(!out.contains(SECRET), "{format} prints the secret:\n{out}");
    out.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn the_fixture_has_one_finding_of_each_family() {
    let report: Value = serde_json::from_str(&check("json")).unwrap();
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    for (family, code) in [
        ("schema", "schema/wrong-type"),
        ("yaml syntax", "yaml/syntax"),
        ("built-in policy", "policy/image-tag-commit"),
        ("user rego", "policy/main.deny"),
        ("secret", "policy/no-inline-secrets"),
        ("render", "render/missing"),
        ("admission/CEL", "admission/cel"),
        ("gatekeeper", "gatekeeper/K8sRequiredLabels/need-owner"),
    ] {
        assert_eq!(
            codes.iter().filter(|c| **c == code).count(),
            1,
            "{family}: {code} in {codes:?}"
        );
    }
}

/// SARIF embeds each rule's `kgate explain` text: replaced by a marker (see the module comment).
fn without_explain_texts(sarif: &str) -> String {
    let mut doc: Value = serde_json::from_str(sarif).unwrap();
    for rule in doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .unwrap()
    {
        let id = rule["id"].as_str().unwrap().to_string();
        for field in ["fullDescription", "help"] {
            if let Some(obj) = rule.get_mut(field).and_then(Value::as_object_mut) {
                for text in obj.values_mut() {
                    *text = Value::String(format!("[kgate explain {id}]"));
                }
            }
        }
    }
    serde_json::to_string_pretty(&doc).unwrap()
}

#[test]
fn every_check_format() {
    for format in [
        "human", "json", "sarif", "junit", "github", "gitlab", "markdown",
    ] {
        let out = check(format);
        let out = if format == "sarif" {
            without_explain_texts(&out)
        } else {
            out
        };
        insta::assert_snapshot!(format, out);
    }
}

/// A merge request that changes a Deployment (image, replicas, an env list item found by its
/// merge key), adds a ConfigMap and deletes a Service, planned in each plan format.
#[test]
fn plan_formats() {
    let repo = git_repo::Repo::new();
    repo.git(&["config", "user.email", "t@example.com"]);
    repo.git(&["config", "user.name", "t"]);
    // The head lists the env items in another order: the plan pairs them by their merge key.
    let deployment = |image: &str, replicas: u32, mode: &str, swap: bool| {
        let (mode, level) = (
            format!("{{name: MODE, value: {mode}}}"),
            "{name: LEVEL, value: info}".to_string(),
        );
        let (first, second) = if swap { (level, mode) } else { (mode, level) };
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n\
             spec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n  \
             template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      \
             containers:\n      - name: web\n        image: {image}\n        env:\n        \
             - {first}\n        - {second}\n"
        )
    };
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n\
                   spec:\n  selector: {app: web}\n  ports:\n  - port: 80\n";
    repo.write(
        "apps/web/kustomization.yaml",
        "resources:\n- deployment.yaml\n- service.yaml\n",
    );
    repo.write(
        "apps/web/deployment.yaml",
        &deployment("registry.example.com/web:1.0.0", 2, "blue", false),
    );
    repo.write("apps/web/service.yaml", service);
    let base = repo.commit("base");
    repo.write(
        "apps/web/kustomization.yaml",
        "resources:\n- deployment.yaml\n- config.yaml\n",
    );
    repo.remove("apps/web/service.yaml");
    repo.write(
        "apps/web/deployment.yaml",
        &deployment("registry.example.com/web:1.1.0", 3, "green", true),
    );
    repo.write(
        "apps/web/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: shop\ndata:\n  \
         greeting: hello\n",
    );
    for format in ["human", "markdown", "json"] {
        let (code, out) = kgate(repo.path(), &["diff", "--base", &base, "-o", format]);
        assert_eq!(code, 0, "{format}: {out}");
        let out = out
            .replace(&base, "[base]")
            .replace(&base[..12], "[base]")
            .replace(&base[..7], "[base]")
            .replace(env!("CARGO_PKG_VERSION"), "[version]");
        insta::assert_snapshot!(format!("plan_{format}"), out);
    }
}
