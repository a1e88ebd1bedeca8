//! The plan of chart objects as Helm handles them (issue 17, with the plan guards of issue 18):
//! an object with `helm.sh/resource-policy: keep` that the chart stops rendering, or whose
//! HelmRelease is deleted, stays in the cluster — Helm's upgrade and uninstall skip it — so it
//! is shown as kept (orphaned), never as pruned, and no `plan/destructive` is raised for it.
//! Without the annotation, helm-controller's upgrade deletes it whatever the Flux
//! Kustomization's `prune` says. Argo CD honours the annotation like `Delete=false`.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const CHART: &str = "apiVersion: v2\nname: db\nversion: 0.1.0\n";
const PVC: &str = "{{- if .Values.storage }}\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {{ .Release.Name }}-data\n  {{- if .Values.keep }}\n  annotations:\n    helm.sh/resource-policy: {{ .Values.keep }}\n  {{- end }}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n{{- end }}\n";
const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  k: v\n";

fn release(values: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: db\n  namespace: data\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/db\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n  values:\n{values}"
    )
}

fn flux_ks(prune: bool) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: {prune}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )
}

/// A repository whose release renders the PVC (with `keep` as the annotation's value, or none).
fn repo(keep: &str, prune: bool) -> (Repo, String) {
    let repo = Repo::new();
    repo.write("charts/db/Chart.yaml", CHART);
    repo.write("charts/db/values.yaml", "storage: false\nkeep: \"\"\n");
    repo.write("charts/db/templates/pvc.yaml", PVC);
    repo.write("charts/db/templates/cm.yaml", CONFIGMAP);
    repo.write("clusters/apps.yaml", &flux_ks(prune));
    repo.write(
        "apps/release.yaml",
        &release(&format!("    storage: true\n    keep: {keep:?}\n")),
    );
    let base = repo.commit("base");
    (repo, base)
}

/// The delete of `kind` in the plan of unit flux-system/apps.
fn deleted<'a>(plan: &'a Value, kind: &str) -> &'a Value {
    unit(plan, "flux-system/apps")["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "delete" && c["resource"]["kind"] == kind)
        .unwrap_or_else(|| panic!("no delete of {kind}: {plan:#}"))
}

/// `check --base` (built-in policies off) → exit code and the plan findings' codes.
fn plan_codes(repo: &Repo, base: &str) -> (i32, Vec<String>) {
    let (code, v) = repo.report(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        base,
        ".",
    ]);
    let codes = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .filter(|c| c.starts_with("plan/"))
        .map(str::to_string)
        .collect();
    (code, codes)
}

#[test]
fn a_kept_chart_object_the_chart_stops_rendering_is_orphaned_not_pruned() {
    for keep in ["keep", " Keep "] {
        let (repo, base) = repo(keep, true);
        repo.write("apps/release.yaml", &release("    storage: false\n"));
        let plan = repo.plan(&["--base", &base]);
        let pvc = deleted(&plan, "PersistentVolumeClaim");
        assert_eq!(pvc["pruned"], false, "{pvc:#}");
        assert!(
            pvc["note"]
                .as_str()
                .unwrap()
                .contains("helm.sh/resource-policy: keep"),
            "{pvc:#}"
        );
        let (code, codes) = plan_codes(&repo, &base);
        assert!(codes.is_empty(), "{keep:?}: {codes:?}");
        assert_eq!(code, 0);
    }
}

#[test]
fn without_keep_helm_deletes_it_even_when_flux_does_not_prune() {
    for prune in [true, false] {
        let (repo, base) = repo("", prune);
        repo.write("apps/release.yaml", &release("    storage: false\n"));
        let plan = repo.plan(&["--base", &base]);
        let pvc = deleted(&plan, "PersistentVolumeClaim");
        // The HelmRelease stays: helm-controller's upgrade deletes what the chart no longer
        // renders, whatever the Kustomization's prune.
        assert_eq!(pvc["pruned"], true, "prune {prune}: {pvc:#}");
        assert!(pvc["note"].is_null(), "{pvc:#}");
        let (code, codes) = plan_codes(&repo, &base);
        assert_eq!(codes, ["plan/destructive"], "prune {prune}");
        assert_eq!(code, 1);
    }
}

#[test]
fn uninstalling_the_release_keeps_only_the_kept_objects() {
    let (repo, base) = repo("keep", true);
    repo.remove("apps/release.yaml");
    repo.write(
        "apps/other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: data\n",
    );
    let plan = repo.plan(&["--base", &base]);
    assert_eq!(deleted(&plan, "PersistentVolumeClaim")["pruned"], false);
    assert_eq!(deleted(&plan, "ConfigMap")["pruned"], true);
    assert_eq!(deleted(&plan, "HelmRelease")["pruned"], true);
    let (_, codes) = plan_codes(&repo, &base);
    assert!(codes.is_empty(), "{codes:?}");

    // A HelmRelease the Kustomization does not prune stays: its chart's objects stay too.
    let (repo, base) = repo_with_prune_false();
    repo.remove("apps/release.yaml");
    repo.write(
        "apps/other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: data\n",
    );
    let plan = repo.plan(&["--base", &base]);
    for kind in ["PersistentVolumeClaim", "ConfigMap", "HelmRelease"] {
        assert_eq!(deleted(&plan, kind)["pruned"], false, "{kind}: {plan:#}");
    }
    let (_, codes) = plan_codes(&repo, &base);
    assert!(codes.is_empty(), "{codes:?}");
}

fn repo_with_prune_false() -> (Repo, String) {
    repo("", false)
}

#[test]
fn argo_cd_keeps_helm_kept_objects_of_a_deleted_application() {
    let repo = Repo::new();
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: shop\n  namespace: argocd\n  finalizers:\n    - resources-finalizer.argocd.argoproj.io\nspec:\n  project: default\n  source:\n    repoURL: https://git.example.com/shop.git\n    path: deploy/shop\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: shop\n  syncPolicy:\n    automated:\n      prune: true\n";
    repo.write("argocd/shop.yaml", app);
    repo.write(
        "deploy/shop/pvc.yaml",
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  annotations:\n    helm.sh/resource-policy: keep\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n",
    );
    repo.write(
        "deploy/shop/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    );
    let base = repo.commit("base");
    repo.remove("argocd/shop.yaml");
    let plan = repo.plan(&["--base", &base]);
    let changes = unit(&plan, "argocd/shop")["changes"].as_array().unwrap();
    let of = |kind: &str| {
        changes
            .iter()
            .find(|c| c["resource"]["kind"] == kind)
            .unwrap_or_else(|| panic!("{plan:#}"))
    };
    assert_eq!(of("PersistentVolumeClaim")["pruned"], false);
    assert!(of("PersistentVolumeClaim")["note"]
        .as_str()
        .unwrap()
        .contains("helm.sh/resource-policy: keep"));
    assert_eq!(of("ConfigMap")["pruned"], true);
}
