//! kustomize `helmCharts` release names as `kustomize build --enable-helm` gets them from Helm
//! (issue 17): kustomize's HelmChart.AsHelmArgs passes `releaseName` as the name, else
//! `--generate-name` — which `helm template` ignores, having preset the name `release-name`
//! (Helm's Install.NameAndChart prefers a set ReleaseName; helm/helm#6019) — and
//! `--name-template`, which Helm renders before that preset. Helm refuses a name together with
//! a name template, and names that are not DNS-1123 subdomains of at most 53 characters.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const CHART: &str = "apiVersion: v2\nname: web\nversion: 0.1.0\n";
const CONFIGMAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  release: {{ .Release.Name | quote }}\n";

fn repo(entry: &str) -> Repo {
    let repo = Repo::new();
    repo.write("app/charts/web/Chart.yaml", CHART);
    repo.write("app/charts/web/templates/cm.yaml", CONFIGMAP);
    repo.write(
        "app/charts/web/templates/monitor.yaml",
        "{{- if .Capabilities.APIVersions.Has \"monitoring.example.com/v1\" }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-monitor\n{{- end }}\n",
    );
    repo.write(
        "app/kustomization.yaml",
        &format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nhelmCharts:\n  - name: web\n{entry}"),
    );
    repo
}

fn check(repo: &Repo) -> (i32, Value) {
    repo.report(&["check", ".", "-o", "json", "--no-builtin-policies"])
}

fn config_maps(v: &Value) -> Vec<String> {
    v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "ConfigMap")
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_release_name_follows_kustomize_and_helm() {
    for (entry, name) in [
        // No releaseName: `--generate-name` is ignored by `helm template`.
        ("", "release-name-config"),
        ("    releaseName: shop\n", "shop-config"),
        // `--name-template`, rendered with Sprig's functions and no data.
        (
            "    nameTemplate: '{{ \"web\" }}-{{ \"PROD\" | lower }}'\n",
            "web-prod-config",
        ),
    ] {
        let repo = repo(entry);
        let (code, v) = check(&repo);
        assert_eq!(code, 0, "{entry}: {v:#}");
        assert_eq!(config_maps(&v), [name], "{entry}: {v:#}");
    }
}

#[test]
fn api_versions_are_added_to_the_capabilities() {
    let repo = repo("    releaseName: shop\n    apiVersions:\n      - monitoring.example.com/v1\n");
    let (code, v) = check(&repo);
    assert_eq!(code, 0, "{v:#}");
    let mut names = config_maps(&v);
    names.sort();
    assert_eq!(names, ["shop-config", "shop-monitor"], "{v:#}");
}

#[test]
fn helm_refuses_a_name_and_a_template_or_an_invalid_name() {
    for (entry, line, says) in [
        (
            "    releaseName: shop\n    nameTemplate: other\n",
            6,
            "cannot set --name-template",
        ),
        ("    releaseName: Shop_1\n", 5, "invalid release name"),
        (
            "    nameTemplate: '{{ repeat 60 \"a\" }}'\n",
            5,
            "longer than 53",
        ),
        ("    nameTemplate: '{{ .Nope.x }}'\n", 5, "nameTemplate"),
    ] {
        let repo = repo(entry);
        let (code, v) = check(&repo);
        assert_eq!(code, 1, "{entry}: {v:#}");
        let d = v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "render/helm")
            .unwrap_or_else(|| panic!("{entry}: {v:#}"));
        assert_eq!(
            (d["file"].as_str(), d["line"].as_u64()),
            (Some("app/kustomization.yaml"), Some(line)),
            "{entry}: {d:#}"
        );
        assert!(d["message"].as_str().unwrap().contains(says), "{d:#}");
        assert!(config_maps(&v).is_empty(), "{entry}: {v:#}");
    }
}
