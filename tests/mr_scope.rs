//! Merge-request mode checks and plans only the units the change touches (issue 14): a Flux
//! repository of three teams and a shared base, where each test changes one thing and asserts
//! which units are checked, which findings are new or pre-existing, and when a change reaches
//! every unit (a CRD, a deletion another unit may depend on).

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

fn flux(name: &str, path: &str) -> String {
    format!(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  targetNamespace: shop\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )
}

fn deployment(name: &str, image: &str, extra: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n        - name: app\n          image: {image}\n{extra}"
    )
}

fn config_map(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  mode: {value}\n")
}

/// Three Flux Kustomizations: team-a and team-b are plain folders, team-c an overlay of
/// `apps/base`. team-b carries debt (an unknown field) at the base.
fn repo() -> (Repo, String) {
    let r = Repo::new();
    r.write(
        "clusters/prod/apps.yaml",
        &[
            flux("team-a", "./apps/team-a"),
            flux("team-b", "./apps/team-b"),
            flux("team-c", "./apps/team-c"),
        ]
        .concat(),
    );
    r.write("apps/team-a/web.yaml", &deployment("web", "nginx:1.27", ""));
    r.write("apps/team-a/shared.yaml", &config_map("shared", "fast"));
    r.write(
        "apps/team-b/api.yaml",
        &deployment("api", "nginx:1.27", "  bogus: 1\n"),
    );
    r.write(
        "apps/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - worker.yaml\n",
    );
    r.write(
        "apps/base/worker.yaml",
        &deployment("worker", "nginx:1.27", ""),
    );
    r.write(
        "apps/team-c/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\nnamePrefix: c-\n",
    );
    let base = r.commit("base");
    (r, base)
}

fn check(r: &Repo, base: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "check",
        ".",
        "--no-builtin-policies",
        "-o",
        "json",
        "--base",
        base,
    ];
    args.extend_from_slice(extra);
    r.report(&args)
}

/// (code, file, pre-existing) of every finding.
fn findings(v: &Value) -> Vec<(String, String, bool)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap().to_string(),
                d["pre_existing"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn unit_names(plan: &Value) -> Vec<String> {
    plan["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn untouched_units_are_neither_checked_nor_built() {
    let (r, base) = repo();
    r.write("apps/team-a/web.yaml", &deployment("web", "nginx:1.28", ""));
    // Only team-a's objects are checked: team-b's debt is not looked at.
    let (code, v) = check(&r, &base, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["pre_existing"], 0, "{v:#}");
    assert!(findings(&v).is_empty(), "{v:#}");
    let resources: Vec<&str> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(resources, ["shared", "web"], "{v:#}");
    // --all checks every unit: the debt is found, and is pre-existing.
    let (code, v) = check(&r, &base, &["--all"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["pre_existing"], 1, "{v:#}");
    // The plan builds team-a only and lists the other units as untouched.
    r.commit("head");
    let plan = r.plan(&["--base", &base, "--head", "HEAD"]);
    assert_eq!(unit_names(&plan), ["flux-system/team-a"], "{plan:#}");
    assert_eq!(
        plan["untouched"],
        serde_json::json!([
            "Kustomization flux-system/team-b",
            "Kustomization flux-system/team-c"
        ])
    );
    let all = r.plan(&["--base", &base, "--head", "HEAD", "--all"]);
    assert_eq!(unit_names(&all).len(), 3, "{all:#}");
    assert!(all.get("untouched").is_none(), "{all:#}");
    // The touched unit's plan is the same either way.
    assert_eq!(plan["units"][0], all["units"][0]);
}

#[test]
fn a_file_the_mr_adds_is_compared_with_its_units_base() {
    let (r, base) = repo();
    // At the base team-b reads nothing that changed; at the head it reads the new file. Its
    // debt must still be compared with the base's team-b, so it stays pre-existing.
    r.write("apps/team-b/extra.yaml", &config_map("extra", "enabled"));
    let (code, v) = check(&r, &base, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["pre_existing"], 1, "{v:#}");
    let (code, v) = check(&r, &base, &["--all"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        findings(&v),
        [(
            "schema/unknown-field".to_string(),
            "apps/team-b/api.yaml".to_string(),
            true
        )],
        "{v:#}"
    );
    // A new problem in that unit is new.
    r.write(
        "apps/team-b/extra.yaml",
        &format!("{}nonsense: 1\n", config_map("extra", "enabled")),
    );
    let (code, v) = check(&r, &base, &[]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        findings(&v).contains(&(
            "schema/unknown-field".to_string(),
            "apps/team-b/extra.yaml".to_string(),
            false
        )),
        "{v:#}"
    );
}

#[test]
fn a_change_to_a_shared_base_reaches_the_overlays_that_read_it() {
    let (r, base) = repo();
    r.write(
        "apps/base/worker.yaml",
        &deployment("worker", "nginx:1.28", "  bogus: 1\n"),
    );
    let (code, v) = check(&r, &base, &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        findings(&v),
        [(
            "schema/unknown-field".to_string(),
            "apps/base/worker.yaml".to_string(),
            false
        )],
        "{v:#}"
    );
    let d = &v["diagnostics"][0];
    assert!(
        d["rendered_for"]
            .as_str()
            .is_some_and(|u| u.contains("team-c")),
        "{d:#}"
    );
    r.commit("head");
    let plan = r.plan(&["--base", &base, "--head", "HEAD"]);
    assert_eq!(unit_names(&plan), ["flux-system/team-c"], "{plan:#}");
}

#[test]
fn a_crd_change_checks_every_unit() {
    let (r, base) = repo();
    r.write(
        "crds/widget.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names:\n    kind: Widget\n    plural: widgets\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          x-kubernetes-preserve-unknown-fields: true\n",
    );
    let (code, v) = check(&r, &base, &[]);
    assert_eq!(code, 0, "{v:#}");
    // Every unit was checked: team-b's debt is found (and is pre-existing).
    assert_eq!(v["summary"]["pre_existing"], 1, "{v:#}");
}

#[test]
fn a_deletion_builds_the_units_that_may_refer_to_it() {
    let (r, base) = repo();
    // team-b's API reads team-a's ConfigMap (same target namespace).
    r.write(
        "apps/team-b/api.yaml",
        &deployment(
            "api",
            "nginx:1.27",
            "          envFrom:\n            - configMapRef:\n                name: shared\n",
        ),
    );
    let base = {
        let _ = base;
        r.commit("base with a reference")
    };
    // The MR deletes it from team-a, which prunes: team-b is untouched but now dangles.
    r.remove("apps/team-a/shared.yaml");
    r.commit("head");
    let plan = r.plan(&["--base", &base, "--head", "HEAD"]);
    let findings: Vec<&str> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(findings.contains(&"plan/dangling-reference"), "{plan:#}");
    assert_eq!(unit_names(&plan).len(), 3, "{plan:#}");
}

#[test]
fn values_files_anywhere_in_the_repository_check_every_unit() {
    let (r, _) = repo();
    // A release whose values come from a file outside its chart and its unit: a change there
    // reaches it, whatever the unit graph says, so an MR checks every unit.
    r.write(
        "apps/team-a/release.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cache\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/cache\n      valuesFiles: [./values/cache.yaml]\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n",
    );
    let base = r.commit("a release with values files");
    r.write("apps/team-a/web.yaml", &deployment("web", "nginx:1.28", ""));
    let (_, v) = check(&r, &base, &[]);
    // team-b was checked too: its object is among the checked ones.
    assert!(
        v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "api"),
        "{v:#}"
    );
    assert!(
        findings(&v).iter().all(|(_, _, pre)| *pre),
        "nothing new: {v:#}"
    );
}
