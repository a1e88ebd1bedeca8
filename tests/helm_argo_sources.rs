//! Argo CD multi-source Applications (issue 17): a Helm source's `valueFiles: [$ref/path]`
//! reads `path` from the root of the source with `ref: <ref>` — when that source's repoURL is
//! this repository's (a `path:` source of an Application here names it, in any of the spellings
//! Argo CD normalizes), kgate reads the file from the repository; another repository's file is
//! `render/unsupported`, never fetched. A Helm repository chart's plain value files are files of
//! the chart package; URLs are not fetched.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const CHART: &str = "apiVersion: v2\nname: web\nversion: 1.2.0\n";
const VALUES: &str = "replicas: 1\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: registry.example.com/web:0a1b2c3d\n";

fn write_chart(dir: &std::path::Path) {
    for (rel, text) in [
        ("Chart.yaml", CHART),
        ("values.yaml", VALUES),
        ("templates/deployment.yaml", DEPLOYMENT),
    ] {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// An Application with `sources:` (YAML list items, indented for `spec.sources`).
fn app(sources: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\nspec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: web\n  sources:\n{sources}"
    )
}

fn check(repo: &Repo, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["check", ".", "-o", "json", "--no-builtin-policies"];
    args.extend_from_slice(extra);
    repo.report(&args)
}

fn with_code<'a>(v: &'a Value, code: &str) -> Vec<&'a Value> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == code)
        .collect()
}

#[test]
fn a_ref_to_this_repository_reads_the_values_file() {
    let repo = Repo::new();
    write_chart(&repo.path().join("charts/web"));
    repo.write("env/prod/web-values.yaml", "replicas: three\n");
    // The chart source and the ref source name the same repository in two spellings.
    repo.write(
        "argo/web.yaml",
        &app("    - repoURL: https://git.example.com/team/fleet.git\n      targetRevision: main\n      path: charts/web\n      helm:\n        valueFiles:\n          - $values/env/prod/web-values.yaml\n    - repoURL: git@git.example.com:team/fleet\n      targetRevision: main\n      ref: values\n"),
    );
    let (code, v) = check(&repo, &[]);
    assert_eq!(code, 1, "{v:#}");
    let wrong = with_code(&v, "schema/wrong-type");
    assert_eq!(wrong.len(), 1, "{v:#}");
    assert_eq!(wrong[0]["file"], "charts/web/templates/deployment.yaml");
    // The finding also points at the line of the ref'd values file.
    assert_eq!(wrong[0]["related"][0]["file"], "env/prod/web-values.yaml");
    assert_eq!(wrong[0]["related"][0]["line"], 1);
    assert!(with_code(&v, "render/unsupported").is_empty(), "{v:#}");

    // A path that climbs out of the referenced repository is refused, as Argo CD refuses it.
    repo.write(
        "argo/web.yaml",
        &app("    - repoURL: https://git.example.com/team/fleet.git\n      path: charts/web\n      helm:\n        valueFiles:\n          - $values/../outside.yaml\n    - repoURL: https://git.example.com/team/fleet.git\n      ref: values\n"),
    );
    let (code, v) = check(&repo, &[]);
    assert_eq!(code, 0, "{v:#}");
    let gap = with_code(&v, "render/unsupported");
    assert_eq!(gap.len(), 1, "{v:#}");
    assert!(
        gap[0]["message"]
            .as_str()
            .unwrap()
            .contains("leaves the repository"),
        "{gap:#?}"
    );
}

#[test]
fn a_chart_of_a_helm_repository_with_values_from_this_repository() {
    // The chart comes from the chart cache; the values from this repository, which the
    // app-of-apps root Application (a `path:` source) names.
    let cache = tempfile::tempdir().unwrap();
    write_chart(&cache.path().join("web"));
    let repo = Repo::new();
    repo.write(
        "argo/root.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: root\n  namespace: argocd\nspec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: argocd\n  source:\n    repoURL: https://GIT.example.com/team/fleet/\n    targetRevision: main\n    path: argo\n",
    );
    repo.write("values/web.yaml", "replicas: three\n");
    repo.write(
        "argo/web.yaml",
        &app("    - repoURL: https://charts.example.com\n      chart: web\n      targetRevision: 1.2.0\n      helm:\n        valueFiles:\n          - $config/values/web.yaml\n    - repoURL: https://git.example.com/team/fleet.git\n      targetRevision: main\n      ref: config\n"),
    );
    let cache_arg = cache.path().to_str().unwrap();
    let (code, v) = check(&repo, &["--chart-cache", cache_arg]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(with_code(&v, "schema/wrong-type").len(), 1, "{v:#}");
    assert_eq!(
        with_code(&v, "schema/wrong-type")[0]["related"][0]["file"],
        "values/web.yaml"
    );

    // The file is not in this revision: a coverage gap at the entry, not an error …
    repo.remove("values/web.yaml");
    let (code, v) = check(&repo, &["--chart-cache", cache_arg]);
    assert_eq!(code, 0, "{v:#}");
    let gap = with_code(&v, "render/unsupported");
    assert_eq!(gap.len(), 1, "{v:#}");
    assert_eq!(
        (gap[0]["file"].as_str(), gap[0]["line"].as_u64()),
        (Some("argo/web.yaml"), Some(17))
    );
    // … and nothing with ignoreMissingValueFiles.
    repo.write(
        "argo/web.yaml",
        &app("    - repoURL: https://charts.example.com\n      chart: web\n      targetRevision: 1.2.0\n      helm:\n        ignoreMissingValueFiles: true\n        valueFiles:\n          - $config/values/web.yaml\n    - repoURL: https://git.example.com/team/fleet.git\n      ref: config\n"),
    );
    let (code, v) = check(&repo, &["--chart-cache", cache_arg]);
    assert_eq!(code, 0, "{v:#}");
    assert!(with_code(&v, "render/unsupported").is_empty(), "{v:#}");
}

#[test]
fn a_ref_to_another_repository_is_unsupported_not_fetched() {
    let repo = Repo::new();
    write_chart(&repo.path().join("charts/web"));
    for (sources, why) in [
        // Another repository.
        ("    - repoURL: https://git.example.com/team/fleet.git\n      path: charts/web\n      helm:\n        valueFiles:\n          - $values/web.yaml\n    - repoURL: https://git.example.com/other/config.git\n      ref: values\n", "not this one"),
        // No source has that ref.
        ("    - repoURL: https://git.example.com/team/fleet.git\n      path: charts/web\n      helm:\n        valueFiles:\n          - $nope/web.yaml\n", "names no source"),
        // A URL.
        ("    - repoURL: https://git.example.com/team/fleet.git\n      path: charts/web\n      helm:\n        valueFiles:\n          - https://config.example.com/web.yaml\n", "never fetches"),
    ] {
        repo.write("argo/web.yaml", &app(sources));
        let (code, v) = check(&repo, &[]);
        assert_eq!(code, 0, "{v:#}");
        let gap = with_code(&v, "render/unsupported");
        assert_eq!(gap.len(), 1, "{v:#}");
        assert_eq!(
            (gap[0]["file"].as_str(), gap[0]["line"].as_u64()),
            (Some("argo/web.yaml"), Some(16))
        );
        assert!(
            gap[0]["message"].as_str().unwrap().contains(why),
            "{why}: {gap:#?}"
        );
        // The chart is still rendered with the values kgate has.
        assert!(
            v["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["kind"] == "Deployment" && r["name"] == "web"),
            "{v:#}"
        );
    }
}

#[test]
fn a_helm_repository_charts_plain_value_files_are_in_the_package() {
    let cache = tempfile::tempdir().unwrap();
    write_chart(&cache.path().join("web"));
    std::fs::write(
        cache.path().join("web/values-prod.yaml"),
        "replicas: three\n",
    )
    .unwrap();
    let repo = Repo::new();
    repo.write(
        "argo/web.yaml",
        &app("    - repoURL: https://charts.example.com\n      chart: web\n      targetRevision: 1.2.0\n      helm:\n        valueFiles:\n          - values-prod.yaml\n"),
    );
    let cache_arg = cache.path().to_str().unwrap();
    let (code, v) = check(&repo, &["--chart-cache", cache_arg]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(with_code(&v, "schema/wrong-type").len(), 1, "{v:#}");
    // A file of the chart package (outside the repository) is not a related location.
    assert!(with_code(&v, "schema/wrong-type")[0]["related"].is_null());
    // A file the package does not have fails the sync, as in Argo CD.
    repo.write(
        "argo/web.yaml",
        &app("    - repoURL: https://charts.example.com\n      chart: web\n      targetRevision: 1.2.0\n      helm:\n        valueFiles:\n          - values-missing.yaml\n"),
    );
    let (code, v) = check(&repo, &["--chart-cache", cache_arg]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(with_code(&v, "render/helm").len(), 1, "{v:#}");
}

/// `helm.kubeVersion` and `helm.apiVersions` stand in for the target cluster's capabilities, as
/// Argo CD passes them to `helm template`.
#[test]
fn kube_version_and_api_versions_reach_the_capabilities() {
    let repo = Repo::new();
    let dir = repo.path().join("charts/web");
    write_chart(&dir);
    std::fs::write(
        dir.join("templates/caps.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-k{{ .Capabilities.KubeVersion.Minor }}\n  namespace: web\n{{- if .Capabilities.APIVersions.Has \"example.com/v1/Widget\" }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-widgets\n  namespace: web\n{{- end }}\n",
    )
    .unwrap();
    let names = |v: &Value| -> Vec<String> {
        v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "ConfigMap")
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let source = |helm: &str| {
        app(&format!(
            "    - repoURL: https://git.example.com/team/fleet.git\n      targetRevision: main\n      path: charts/web\n{helm}"
        ))
    };
    repo.write("argo/web.yaml", &source(""));
    let (_, v) = check(&repo, &[]);
    let default = names(&v);
    assert!(
        !default.iter().any(|n| n.ends_with("-widgets")),
        "{default:?}"
    );
    assert!(!default.contains(&"web-k29".to_string()), "{default:?}");
    repo.write(
        "argo/web.yaml",
        &source("      helm:\n        kubeVersion: \"1.29\"\n        apiVersions:\n          - example.com/v1/Widget\n"),
    );
    let (_, v) = check(&repo, &[]);
    let set = names(&v);
    assert!(set.contains(&"web-k29".to_string()), "{set:?}");
    assert!(set.contains(&"web-widgets".to_string()), "{set:?}");
}
