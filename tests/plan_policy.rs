//! The team's Rego policies on the plan (`package plan.*`), end to end: the example policies of
//! examples/plan-policies enforced by `check --base` from the base revision, findings on the
//! changed field, `kgate verify` on their tests, severity overrides, and plan packages never
//! evaluated per object.

use std::path::Path;

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/plan-policies")
            .join(name),
    )
    .unwrap()
}

fn web(replicas: u32, image: &str, limits: bool) -> String {
    let limits = if limits {
        "          resources:\n            limits:\n              memory: 512Mi\n"
    } else {
        "          resources: {}\n"
    };
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: {image}\n{limits}")
}

fn flux_ks(name: &str, path: &str) -> String {
    format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./{path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
}

/// A production and a staging cluster with the example plan policies at the base.
fn setup(config: &str) -> (Repo, String) {
    let repo = Repo::new();
    repo.write(".kgate.yaml", &format!("policies: [policy]\n{config}"));
    for f in [
        "production.rego",
        "production_test.rego",
        "environments.rego",
        "environments_test.rego",
    ] {
        repo.write(&format!("policy/{f}"), &example(f));
    }
    repo.write(
        "clusters/production/apps.yaml",
        &flux_ks("apps-production", "apps/production"),
    );
    repo.write(
        "clusters/staging/apps.yaml",
        &flux_ks("apps-staging", "apps/staging"),
    );
    repo.write(
        "apps/production/web.yaml",
        &web(3, "ghcr.io/acme/web:1f3e2a9", true),
    );
    repo.write(
        "apps/staging/web.yaml",
        &web(1, "ghcr.io/acme/web:1f3e2a9", true)
            .replace("namespace: shop", "namespace: shop-staging"),
    );
    let base = repo.commit("base");
    (repo, base)
}

/// (code, file, line, message, severity) of one finding.
type Found = (String, String, u64, String, String);

/// The plan-policy (and policy) findings of `check --base`, with the exit code.
fn plan_policy(repo: &Repo, base: &str) -> (Option<i32>, Vec<Found>) {
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        base,
    ]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let found = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            let c = d["code"].as_str().unwrap();
            c.starts_with("plan-policy/") || c.starts_with("policy/")
        })
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["message"].as_str().unwrap_or_default().to_string(),
                d["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (out.status.code(), found)
}

#[test]
fn example_plan_policies_judge_the_merge_request_on_the_changed_fields() {
    let (repo, base) = setup("");
    repo.write(
        "apps/production/web.yaml",
        &web(0, "ghcr.io/acme/web:latest", false),
    );
    let (code, mut found) = plan_policy(&repo, &base);
    assert_eq!(code, Some(1));
    found.sort();
    let got: Vec<(&str, &str, u64)> = found
        .iter()
        .map(|(c, f, l, _, _)| (c.as_str(), f.as_str(), *l))
        .collect();
    assert_eq!(
        got,
        [
            // The removed limit: on its nearest remaining parent, `resources: {}`.
            (
                "plan-policy/production.deny_limits_removed",
                "apps/production/web.yaml",
                19
            ),
            (
                "plan-policy/production.deny_scale_to_zero",
                "apps/production/web.yaml",
                7
            ),
            (
                "plan-policy/production.deny_unpinned_image",
                "apps/production/web.yaml",
                18
            ),
        ],
        "{found:#?}"
    );
    assert_eq!(
        found[1].3,
        "Deployment shop/web in flux-system/apps-production: replicas set to 0 in production"
    );
    // The same change in staging passes.
    let (repo, base) = repo_with_staging_change();
    let (code, found) = plan_policy(&repo, &base);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(code, Some(0));
}

fn repo_with_staging_change() -> (Repo, String) {
    let (repo, base) = setup("");
    repo.write(
        "apps/staging/web.yaml",
        &web(0, "ghcr.io/acme/web:latest", false)
            .replace("namespace: shop", "namespace: shop-staging"),
    );
    (repo, base)
}

#[test]
fn one_environment_per_merge_request_uses_the_changed_files() {
    let (repo, base) = setup("");
    repo.write(
        "clusters/production/apps.yaml",
        &flux_ks("apps-production", "apps/production").replace("10m", "5m"),
    );
    repo.write(
        "clusters/staging/apps.yaml",
        &flux_ks("apps-staging", "apps/staging").replace("10m", "5m"),
    );
    let (code, found) = plan_policy(&repo, &base);
    assert_eq!(code, Some(1));
    assert_eq!(found.len(), 1, "{found:#?}");
    let (c, file, _, message, _) = &found[0];
    assert_eq!(c, "plan-policy/environments.deny");
    // Not about one object: a run-level finding.
    assert_eq!(file, "");
    assert_eq!(
        message,
        "this merge request changes 2 environments (production, staging): change one cluster \
         folder per merge request"
    );
}

#[test]
fn plan_policies_come_from_the_base_and_take_severity_overrides() {
    // The MR loosens the policy it is judged by: the base's still applies.
    let (repo, base) = repo_with_staging_change();
    repo.write(
        "apps/production/web.yaml",
        &web(0, "ghcr.io/acme/web:1f3e2a9", true),
    );
    repo.write(
        "policy/production.rego",
        "package plan.production\n\nimport rego.v1\n\ndeny_scale_to_zero contains msg if {\n  false\n  msg := \"\"\n}\n",
    );
    let (code, found) = plan_policy(&repo, &base);
    assert_eq!(code, Some(1));
    assert!(
        found
            .iter()
            .any(|(c, ..)| c == "plan-policy/production.deny_scale_to_zero"),
        "{found:#?}"
    );

    // A severity override of a plan-policy code is a known code, and applies.
    let (repo, base) = setup("severity:\n  plan-policy/production.deny_scale_to_zero: warning\n");
    repo.write(
        "apps/production/web.yaml",
        &web(0, "ghcr.io/acme/web:1f3e2a9", true),
    );
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        &base,
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<(&str, &str)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap(), d["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [("plan-policy/production.deny_scale_to_zero", "warning")],
        "{v:#}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn plan_packages_are_not_evaluated_on_each_object() {
    let (repo, base) = setup("");
    repo.write("apps/staging/other.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: shop-staging\ndata:\n  k: v\n");
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--all-namespaces",
        "--base",
        &base,
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 0, "{v:#}");
    assert_eq!(out.status.code(), Some(0));
    // Without --base they are not evaluated at all, and no `main` package is missed.
    let out = repo.kgate(&["check", "--format", "json", "--no-builtin-policies", "."]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 0, "{v:#}");
}

#[test]
fn verify_runs_the_plan_policy_tests() {
    let (repo, _) = setup("");
    let out = repo.kgate(&["verify", "policy"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("12 tests, 12 passed, 0 failed"), "{text}");
    // A broken policy fails its test.
    repo.write(
        "policy/production.rego",
        &example("production.rego").replace("field.after == 0", "field.after == 1"),
    );
    let out = repo.kgate(&["verify", "policy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let explain = repo.kgate(&["explain", "plan-policy/production.deny_scale_to_zero"]);
    assert_eq!(explain.status.code(), Some(0));
    assert!(stdout(&explain).starts_with("plan-policy/<package>.<rule>"));
}
