//! A Helm chart of the repository that no unit deploys (no HelmRelease, Argo CD Application or
//! kustomize `helmCharts` entry) had its templates skipped: that is "not verified"
//! (`render/unsupported`, counted, failing under `--unverified error`), never a silent pass
//! (issue 13 §1). Deployed charts, subcharts and library charts get no note, and sharded runs
//! merge to exactly the unsharded answer wherever the chart and its deployer land.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;
#[path = "common/kgate_cli.rs"]
mod kgate_cli;
use kgate_cli::check_json;

const CHART: &str = "apiVersion: v2\nname: app\nversion: 0.1.0\n";
const VALUES: &str = "image: registry.example.com/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  image: {{ .Values.image | quote }}\n";
const SOURCE: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://git.example.com/fleet\n  ref:\n    branch: main\n";

fn write_chart(repo: &Repo, dir: &str) {
    repo.write(&format!("{dir}/Chart.yaml"), CHART);
    repo.write(&format!("{dir}/values.yaml"), VALUES);
    repo.write(&format!("{dir}/templates/configmap.yaml"), CONFIGMAP);
}

fn check(repo: &Repo, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["."];
    args.extend_from_slice(extra);
    check_json(Some(repo.path()), &args)
}

fn gaps(v: &Value) -> Vec<(String, u64)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "render/unsupported")
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_chart_nothing_deploys_is_not_verified() {
    let repo = Repo::new();
    write_chart(&repo, "charts/app");
    // A subchart is rendered through its parent; a library chart has nothing to render.
    repo.write(
        "charts/app/charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/app/charts/sub/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-sub\n",
    );
    repo.write(
        "charts/lib/Chart.yaml",
        "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library # helpers only\n",
    );
    repo.write(
        "charts/lib/templates/_x.tpl",
        "{{- define \"lib.x\" -}}x{{- end }}\n",
    );
    let (code, v) = check(&repo, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        gaps(&v),
        [("charts/app/Chart.yaml".to_string(), 1)],
        "{v:#}"
    );
    assert_eq!(v["summary"]["unverified"], 1, "{v:#}");
    let (code, _) = check(&repo, &["--unverified", "error"]);
    assert_eq!(code, 1);
}

/// Each way a GitOps repository deploys its own chart counts.
#[test]
fn a_chart_deployed_by_a_release_an_application_or_helm_charts_is_verified() {
    let deployers: [(&str, &str, &str); 3] = [
        (
            "charts/app",
            "clusters/prod/release.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/app\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n",
        ),
        (
            "deploy/app",
            "argocd/app.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: app\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://git.example.com/fleet\n    path: deploy/app\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: apps\n",
        ),
        (
            "overlay/charts/app",
            "overlay/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps\nhelmCharts:\n  - name: app\n    releaseName: app\n",
        ),
    ];
    for (chart, file, text) in deployers {
        let repo = Repo::new();
        repo.write("clusters/prod/source.yaml", SOURCE);
        write_chart(&repo, chart);
        repo.write(file, text);
        let (code, v) = check(&repo, &["--unverified", "error"]);
        assert_eq!(code, 0, "{file}: {v:#}");
        assert!(gaps(&v).is_empty(), "{file}: {v:#}");
        // The chart's objects were rendered and checked, at their template.
        let config = v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "app-config")
            .unwrap_or_else(|| panic!("{file}: {v:#}"));
        assert_eq!(
            config["file"],
            format!("{chart}/templates/configmap.yaml"),
            "{file}"
        );
    }
}

/// The chart, its deployers and an undeployed chart in different top-level folders (so in
/// different shards): every shard split merges to the one-run report.
#[test]
fn shards_agree_on_which_charts_are_deployed() {
    let repo = Repo::new();
    repo.write("clusters/prod/source.yaml", SOURCE);
    write_chart(&repo, "charts/app");
    write_chart(&repo, "vendor/unused");
    write_chart(&repo, "helm/web");
    write_chart(&repo, "kust/charts/api");
    repo.write(
        "releases/app.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/app\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n",
    );
    repo.write(
        "argocd/web.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://git.example.com/fleet\n    path: helm/web\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: web\n",
    );
    repo.write(
        "overlays/api/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: api\nhelmGlobals:\n  chartHome: ../../kust/charts\nhelmCharts:\n  - name: api\n    releaseName: api\n",
    );
    let (_, full) = check(&repo, &[]);
    assert_eq!(
        gaps(&full),
        [("vendor/unused/Chart.yaml".to_string(), 1)],
        "{full:#}"
    );
    let out = tempfile::tempdir().unwrap();
    for total in [2u32, 3, 4, 5] {
        let mut names = Vec::new();
        let mut shard_gaps = Vec::new();
        for i in 1..=total {
            let (_, shard) = check(&repo, &["--shard", &format!("{i}/{total}")]);
            shard_gaps.extend(gaps(&shard));
            let name = out.path().join(format!("s{i}-{total}.json"));
            std::fs::write(&name, shard.to_string()).unwrap();
            names.push(name.display().to_string());
        }
        let merged = out.path().join(format!("merged-{total}.json"));
        let mut args = vec!["merge".to_string()];
        args.extend(names);
        args.extend(["--format".into(), format!("json={}", merged.display())]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = repo.kgate(&args);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let m: Value = serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
        assert_eq!(shard_gaps, gaps(&full), "{total} shards, each shard's own");
        assert_eq!(gaps(&m), gaps(&full), "{total} shards");
        assert_eq!(m["summary"], full["summary"], "{total} shards");
        assert_eq!(m["diagnostics"], full["diagnostics"], "{total} shards");
    }
}
