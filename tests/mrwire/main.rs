//! Merge-request mode wired to the policy engine and the renderer, end to end: the base
//! revision's config, policies and exceptions judge the MR; plans and checks see rendered objects.

use serde_json::Value;

#[path = "../common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const DENY: &str = "package main\n\ndeny contains msg if {\n  input.kind == \"ConfigMap\"\n  input.data.forbidden\n  msg := sprintf(\"%s uses the forbidden key\", [input.metadata.name])\n}\n";

fn cm(name: &str, extra_meta: &str, data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: prod\n{extra_meta}data:\n  {data}\n")
}

/// `kgate check --format json --base BASE apps EXTRA…`: (exit code, report).
fn check(repo: &Repo, base: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["check", "--format", "json", "--base", base, "apps"];
    args.extend_from_slice(extra);
    let out = repo.kgate(&args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

/// The unsuppressed findings' codes, sorted.
fn codes(v: &Value) -> Vec<String> {
    let mut c: Vec<String> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["suppressed"] != true)
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    c.sort();
    c
}

/// A base with the team's deny rule configured in `.kgate.yaml`.
fn gated_repo() -> (Repo, String) {
    let repo = Repo::new();
    repo.write(".kgate.yaml", "policies: [policy]\n");
    repo.write("policy/deny.rego", DENY);
    repo.write("apps/ok.yaml", &cm("ok", "", "fine: \"1\""));
    let base = repo.commit("base");
    (repo, base)
}

#[test]
fn an_mr_cannot_switch_its_policy_off_in_kgate_yaml() {
    let (repo, base) = gated_repo();
    repo.write(
        ".kgate.yaml",
        "policies: [policy]\nseverity:\n  policy/main.deny: off\n",
    );
    repo.write("apps/bad.yaml", &cm("bad", "", "forbidden: \"1\""));
    let (code, v) = check(&repo, &base, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(codes(&v), ["gate/policy-changed", "policy/main.deny"]);
    let d = &v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "policy/main.deny")
        .unwrap();
    assert_eq!(d["file"], "apps/bad.yaml");
    assert_eq!(d["message"], "bad uses the forbidden key");

    // Judged by its own config, the MR passes (the warning remains).
    let (code, v) = check(&repo, &base, &["--policies-from", "head"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(codes(&v), ["gate/policy-changed"]);

    // Nor can it add a config exception for its own object.
    repo.write(
        ".kgate.yaml",
        "policies: [policy]\nexceptions:\n  - code: policy/main.deny\n    name: bad\n    reason: trust me\n",
    );
    let (code, v) = check(&repo, &base, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(codes(&v), ["gate/policy-changed", "policy/main.deny"]);
    let (code, _) = check(&repo, &base, &["--policies-from", "head"]);
    assert_eq!(code, Some(0));

    // Committed as the head revision, the same holds.
    let head = repo.commit("mr");
    let (code, _) = check(&repo, &base, &["--head", &head]);
    assert_eq!(code, Some(1));
    let (code, _) = check(&repo, &base, &["--head", &head, "--policies-from", "head"]);
    assert_eq!(code, Some(0));
}

#[test]
fn an_mr_that_adds_a_kgate_yaml_is_judged_by_the_base_config() {
    let repo = Repo::new();
    repo.write("apps/ok.yaml", &cm("ok", "", "fine: \"1\""));
    repo.write("team/deny.rego", DENY);
    let base = repo.commit("base without config");
    // The base has no config; the MR adds one that would change strictness and skip kinds.
    repo.write(".kgate.yaml", "skip_kinds: [ConfigMap]\n");
    repo.write("apps/bad.yaml", &cm("bad", "", "forbidden: \"1\""));
    // `--policy` on the command line is read from the base revision too.
    let (code, v) = check(&repo, &base, &["--policy", "team"]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(codes(&v), ["gate/policy-changed", "policy/main.deny"]);
}

#[test]
fn an_mr_that_deletes_a_deny_rule_is_still_judged_by_it() {
    let (repo, base) = gated_repo();
    repo.write(
        "policy/deny.rego",
        "package main\n\ndeny contains msg if {\n  false\n  msg := \"never\"\n}\n",
    );
    repo.write("apps/bad.yaml", &cm("bad", "", "forbidden: \"1\""));
    let (code, v) = check(&repo, &base, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(codes(&v), ["gate/policy-changed", "policy/main.deny"]);
    let (code, v) = check(&repo, &base, &["--policies-from", "head"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(codes(&v), ["gate/policy-changed"]);

    // Deleting the whole file: the base's copy still judges.
    repo.remove("policy/deny.rego");
    repo.write("policy/other.rego", "package other\n");
    let (code, v) = check(&repo, &base, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert!(codes(&v).contains(&"policy/main.deny".to_string()));
    // The policy file is named by its repository path.
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "gate/policy-changed")
        .unwrap();
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("policy/deny.rego (removed)"));
}

#[test]
fn an_exception_annotation_added_by_the_mr_does_not_suppress() {
    let (repo, base) = gated_repo();
    let ignore =
        "  annotations:\n    kgate.dev/ignore: \"policy/main.deny=legacy app, owned by team x\"\n";
    repo.write("apps/bad.yaml", &cm("bad", ignore, "forbidden: \"1\""));
    let (code, v) = check(&repo, &base, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(codes(&v), ["gate/exception-added", "policy/main.deny"]);
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "gate/exception-added")
        .unwrap();
    // Judged by the base's policies, an exception the MR adds is an error (issue 13).
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "apps/bad.yaml");
    assert_eq!(d["line"], 7, "points at the annotation: {d:#}");
    let msg = d["message"].as_str().unwrap();
    assert!(msg.contains("`policy/main.deny`"), "{msg}");
    assert!(msg.contains("legacy app, owned by team x"), "{msg}");

    // Judged by the head, the exception applies; the warning still names it.
    let (code, v) = check(&repo, &base, &["--policies-from", "head"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(codes(&v), ["gate/exception-added"]);

    // An exception already on the base object is the base's: it suppresses, no warning.
    let accepted = repo.commit("accepted exception");
    repo.write(
        "apps/bad.yaml",
        &cm("bad", ignore, "forbidden: \"1\"\n  more: data"),
    );
    let (code, v) = check(&repo, &accepted, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(codes(&v).is_empty(), "{v:#}");

    // Adding an exception to an existing object with the finding: reported, not pre-existing.
    let (repo, base) = gated_repo();
    repo.write("apps/bad.yaml", &cm("bad", "", "forbidden: \"1\""));
    let debt = repo.commit("debt");
    repo.write("apps/bad.yaml", &cm("bad", ignore, "forbidden: \"1\""));
    let (code, v) = check(&repo, &debt, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    // The finding itself is the base's (same unit, same place): pre-existing, not new; the
    // exception the MR adds is the error that fails the gate.
    assert_eq!(codes(&v), ["gate/exception-added"]);
    let _ = base;
}

/// (path, before, after) of every field of a unit's only change.
fn fields(unit: &Value) -> Vec<(String, Value, Value)> {
    let changes = unit["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{unit:#}");
    changes[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["before"].clone(),
                f["after"].clone(),
            )
        })
        .collect()
}

const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n";

fn replicas_patch(n: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {n}\n"
    )
}

#[test]
fn a_diff_of_an_overlay_patch_shows_the_rendered_field() {
    let repo = Repo::new();
    repo.write(
        "argo/web.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://example.com/repo.git\n    path: apps/overlays/prod\n  destination:\n    namespace: prod\n  syncPolicy:\n    automated: {prune: true}\n",
    );
    repo.write("apps/base/web.yaml", WEB);
    repo.write("apps/base/kustomization.yaml", "resources:\n  - web.yaml\n");
    repo.write(
        "apps/overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\nnamePrefix: prod-\npatches:\n  - path: replicas.yaml\n",
    );
    repo.write("apps/overlays/prod/replicas.yaml", &replicas_patch(2));
    let base = repo.commit("base");
    // Only the overlay's patch changes: the raw Deployment file is untouched.
    repo.write("apps/overlays/prod/replicas.yaml", &replicas_patch(3));

    let plan = repo.plan(&["--base", &base]);
    let u = unit(&plan, "argocd/web");
    let change = &u["changes"][0];
    assert_eq!(change["action"], "update", "{u:#}");
    // The rendered name (namePrefix) and the destination namespace.
    assert_eq!(change["resource"]["name"], "prod-web");
    assert_eq!(change["resource"]["namespace"], "prod");
    assert_eq!(
        fields(u),
        [("spec.replicas".to_string(), Value::from(2), Value::from(3))]
    );
}

#[test]
fn a_flux_kustomization_shows_target_namespace_and_substituted_values() {
    let repo = Repo::new();
    let flux = |greeting: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  targetNamespace: prod\n  postBuild:\n    substitute:\n      greeting: {greeting}\n    substituteFrom:\n      - kind: Secret\n        name: creds\n")
    };
    repo.write("clusters/prod/apps.yaml", &flux("hello"));
    repo.write(
        "clusters/prod/creds.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: flux-system\nstringData:\n  db_pass: Zq8-hunter-2-long-value\n",
    );
    repo.write(
        "apps/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: other\ndata:\n  greeting: \"${greeting} world\"\n",
    );
    let base = repo.commit("base");
    repo.write("clusters/prod/apps.yaml", &flux("bonjour"));
    repo.write(
        "apps/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: other\ndata:\n  greeting: \"${greeting} world\"\n  dsn: \"postgres://app:${db_pass}@db/app\"\n",
    );

    let out = repo.kgate(&["diff", "--format", "json", "--base", &base]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(!text.contains("Zq8-hunter"), "{text}");
    let plan: Value = serde_json::from_str(&text).unwrap();
    let u = unit(&plan, "flux-system/apps");
    let change = &u["changes"][0];
    assert_eq!(change["action"], "update", "{u:#}");
    // targetNamespace replaces the object's own namespace.
    assert_eq!(change["resource"]["namespace"], "prod");
    assert_eq!(change["resource"]["name"], "settings");
    // The substituted secret is never shown (the plan redacts a value that held one whole).
    assert_eq!(
        fields(u),
        [
            (
                "data.greeting".to_string(),
                Value::from("hello world"),
                Value::from("bonjour world")
            ),
            (
                "data.dsn".to_string(),
                Value::Null,
                Value::from("[REDACTED]")
            ),
        ]
    );
    // The human and Markdown plans do not show the secret either.
    for format in ["human", "markdown"] {
        let out = repo.kgate(&["diff", "--format", format, "--base", &base]);
        let text = stdout(&out);
        assert!(text.contains("bonjour world"), "{text}");
        assert!(!text.contains("Zq8-hunter"), "{text}");
    }
}

#[test]
fn an_mr_check_renders_both_sides_from_their_own_trees() {
    let repo = Repo::new();
    repo.write("apps/base/web.yaml", WEB);
    repo.write("apps/base/kustomization.yaml", "resources:\n  - web.yaml\n");
    repo.write(
        "apps/prod/kustomization.yaml",
        "resources:\n  - ../base\npatches:\n  - path: replicas.yaml\n",
    );
    repo.write("apps/prod/replicas.yaml", &replicas_patch(2));
    let base = repo.commit("base");
    // The patch breaks the rendered Deployment; the raw Deployment file is untouched.
    repo.write(
        "apps/prod/replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: \"three\"\n",
    );
    let head = repo.commit("mr");
    // The working tree is back to the base content: only --head's tree may be read.
    repo.write("apps/prod/replicas.yaml", &replicas_patch(2));
    let (code, v) = check(&repo, &base, &["--head", &head]);
    assert_eq!(code, Some(1), "{v:#}");
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "schema/wrong-type")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(d["file"], "apps/prod/replicas.yaml");
    assert_eq!(d["line"], 6);
    // The working tree (same as the base) adds nothing.
    let (code, v) = check(&repo, &base, &[]);
    assert_eq!(code, Some(0), "{v:#}");
}
