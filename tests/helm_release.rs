//! HelmReleases rendered offline: a chart folder in the repository (GitRepository source), the
//! chart cache for a HelmRepository source (version constraint picks the newest match), values
//! merged as helm-controller merges them (valuesFrom, targetPath, spec.values), a chart that is
//! not available (`render/unsupported` naming it), a failing `required` (`render/helm` at the
//! template line), and `kgate render` on a chart folder.

use std::path::{Path, PathBuf};
use std::process::Command;
#[path = "common/fixture_tree.rs"]
mod fixture_tree;
use fixture_tree::copy_dir;

use serde_json::Value;

fn kgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kgate"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm")
}

/// The fixture repository in a temporary folder with `.git`, so it is its own root.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("repo"), dir.path());
    // The differential test's chart doubles as the repository's in-tree chart.
    copy_dir(
        &fixtures().join("charts/webapp"),
        &dir.path().join("charts/webapp"),
    );
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

fn docs(text: &str) -> Vec<Value> {
    text.split("\n---\n")
        .filter(|d| !d.trim().is_empty() && d.trim() != "---")
        .map(|d| {
            let v = kgate::render::helm::values::from_yaml_str(d).unwrap();
            serde_json::from_str(&kgate::render::helm::values::to_json(&v, true)).unwrap()
        })
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

#[test]
fn helm_releases_render_from_the_repository_and_the_chart_cache() {
    let dir = repo();
    let out = kgate()
        .arg("render")
        .arg(dir.path().join("apps/web/release.yaml"))
        .arg("--chart-cache")
        .arg(fixtures().join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let d = docs(&stdout);
    // GitRepository source: the chart folder in the repository, valuesFrom then spec.values.
    let web = find(&d, "Deployment", "web-webapp").unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(web["spec"]["replicas"], 4, "valuesFrom values.yaml");
    let c = &web["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["image"], "registry.example.com/team/webapp:v3.1.0",
        "targetPath"
    );
    assert_eq!(c["ports"][0]["containerPort"], 8080, "spec.values");
    assert!(
        find(&d, "Ingress", "web-webapp").is_none(),
        "ingress disabled"
    );
    assert!(find(&d, "HorizontalPodAutoscaler", "web-webapp").is_none());
    assert!(
        find(&d, "CustomResourceDefinition", "widgets.example.com").is_some(),
        "crds/ installed"
    );
    // HelmRepository source: from the cache, the newest version matching ">=1.4.0 <1.5.0".
    let cached = find(&d, "Deployment", "web-cached-webapp").unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(
        cached["metadata"]["labels"]["helm.sh/chart"], "webapp-1.4.2",
        "{cached}"
    );
    assert!(find(&d, "Job", "web-cached-webapp-migrate").is_none());
    assert!(
        find(&d, "Job", "web-webapp-migrate").is_some(),
        "hooks are rendered"
    );
    // Not available offline: named, never fetched.
    assert!(
        stderr.contains("[render/unsupported]") && stderr.contains("podinfo 6.5.4"),
        "{stderr}"
    );
    // `required` failing: render/helm at the template line Helm names.
    assert!(
        stderr.contains("charts/webapp/templates/secret.yaml:7:")
            && stderr.contains("[render/helm]")
            && stderr.contains("secret.password is required"),
        "{stderr}"
    );
    // The Secret's data never reaches the output.
    assert!(!stdout.contains("dGVzdC1vbmx5LXZhbHVl"), "{stdout}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}

#[test]
fn without_a_chart_cache_repository_charts_are_unsupported_not_fetched() {
    let dir = repo();
    let out = kgate()
        .arg("render")
        .arg(dir.path().join("apps/web/release.yaml"))
        .env_remove("KGATE_CHART_CACHE")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("webapp >=1.4.0 <1.5.0") && stderr.contains("no chart cache"),
        "{stderr}"
    );
}

#[test]
fn render_a_chart_folder_like_helm_template() {
    let out = kgate()
        .arg("render")
        .arg(fixtures().join("charts/webapp"))
        .args(["--release-name", "demo", "--namespace", "shop"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = docs(&stdout);
    let cm = find(&d, "ConfigMap", "demo-webapp").unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(cm["metadata"]["namespace"], "shop");
    assert_eq!(cm["data"]["greeting"], "Hello from demo in shop");
    assert!(find(&d, "Service", "demo-webapp").is_some());
}
