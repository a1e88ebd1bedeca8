//! Merge-request mode and the dry-run plan, end to end: temporary git repositories, the real
//! `kgate` binary, assertions on exit codes and on the human, JSON and Markdown outputs.

use std::path::PathBuf;

use serde_json::Value;

#[path = "../common/git_repo.rs"]
mod git_repo;
use git_repo::*;

/// (action, "Kind ns/name") of every change of a unit.
fn changes(unit: &Value) -> Vec<(String, String)> {
    unit["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let r = &c["resource"];
            let who = match r["namespace"].as_str() {
                Some(ns) => format!(
                    "{} {}/{}",
                    r["kind"].as_str().unwrap(),
                    ns,
                    r["name"].as_str().unwrap()
                ),
                None => format!(
                    "{} {}",
                    r["kind"].as_str().unwrap(),
                    r["name"].as_str().unwrap()
                ),
            };
            (c["action"].as_str().unwrap().to_string(), who)
        })
        .collect()
}

fn deployment(image: &str, memory: &str, cache: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: prod
spec:
  replicas: 3
  selector:
    matchLabels:
      app: checkout
  template:
    metadata:
      labels:
        app: checkout
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/checkout:{image}
          env:
            - name: LOG_LEVEL
              value: info
            - name: CACHE_ENABLED
              value: "{cache}"
          resources:
            limits:
              memory: {memory}
              cpu: 500m
        - name: proxy
          image: envoyproxy/envoy:v1.31.0
"#
    )
}

#[test]
fn three_colleagues_show_exactly_their_three_changes() {
    let repo = Repo::new();
    repo.write(
        "apps/checkout/deployment.yaml",
        &deployment("release-1175-bc23d9df", "512Mi", "true"),
    );
    repo.write("apps/checkout/service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: checkout\n  namespace: prod\nspec:\n  ports:\n    - port: 80\n");
    let before = repo.commit("checkout: initial");
    repo.write(
        "apps/checkout/deployment.yaml",
        &deployment("release-1179-344b590f", "512Mi", "true"),
    );
    repo.commit("deploy release 1179");
    repo.write(
        "apps/checkout/deployment.yaml",
        &deployment("release-1179-344b590f", "1Gi", "true"),
    );
    let memory = repo.commit("checkout: raise memory limit");
    repo.write(
        "apps/checkout/deployment.yaml",
        &deployment("release-1179-344b590f", "1Gi", "false"),
    );
    repo.commit("checkout: disable cache for the load test");

    let plan = repo.plan(&["--base", &before, "--head", "HEAD"]);
    let units = plan["units"].as_array().unwrap();
    assert_eq!(units.len(), 1, "{plan:#}");
    let u = &units[0];
    assert_eq!(u["kind"], "Folder");
    assert_eq!(u["unchanged"], 1);
    assert_eq!(
        changes(u),
        [("update".to_string(), "Deployment prod/checkout".to_string())]
    );
    let fields = u["changes"][0]["fields"].as_array().unwrap();
    let got: Vec<(&str, &Value, &Value)> = fields
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), &f["before"], &f["after"]))
        .collect();
    assert_eq!(
        got,
        [
            (
                "spec.template.spec.containers[name=app].image",
                &Value::from("registry.example.com/shop/checkout:release-1175-bc23d9df"),
                &Value::from("registry.example.com/shop/checkout:release-1179-344b590f"),
            ),
            (
                "spec.template.spec.containers[name=app].env[name=CACHE_ENABLED].value",
                &Value::from("true"),
                &Value::from("false")
            ),
            (
                "spec.template.spec.containers[name=app].resources.limits.memory",
                &Value::from("512Mi"),
                &Value::from("1Gi")
            ),
        ]
    );

    // The working tree (clean) is the same as HEAD; the human plan reads line by line.
    let human = stdout(&repo.kgate(&["diff", "--base", &before]));
    assert!(
        human.contains("~ update Deployment prod/checkout"),
        "{human}"
    );
    assert!(
        human.contains(
            "spec.template.spec.containers[name=app].resources.limits.memory: \"512Mi\" → \"1Gi\""
        ),
        "{human}"
    );
    assert!(
        human.contains("0 to create, 1 to update, 0 to delete (1 unchanged) in 1 unit"),
        "{human}"
    );

    // Reverting the memory change shows the inverse change, and only that.
    repo.git(&["revert", "--no-edit", &memory]);
    let plan = repo.plan(&["--base", "HEAD~1", "--head", "HEAD"]);
    let fields = plan["units"][0]["changes"][0]["fields"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(fields.len(), 1, "{plan:#}");
    assert_eq!(
        fields[0]["path"],
        "spec.template.spec.containers[name=app].resources.limits.memory"
    );
    assert_eq!(
        (fields[0]["before"].as_str(), fields[0]["after"].as_str()),
        (Some("1Gi"), Some("512Mi"))
    );
}

const FLUX_APPS: &str = r#"apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  targetNamespace: prod
  sourceRef:
    kind: GitRepository
    name: flux-system
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: legacy
  namespace: flux-system
spec:
  interval: 10m
  path: ./legacy
  prune: false
  sourceRef:
    kind: GitRepository
    name: flux-system
"#;

fn cm(name: &str, ns: Option<&str>, data: &str) -> String {
    let ns = ns
        .map(|n| format!("  namespace: {n}\n"))
        .unwrap_or_default();
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns}data:\n  {data}\n")
}

#[test]
fn flux_units_create_update_delete_pruned_and_orphaned() {
    let repo = Repo::new();
    repo.write("clusters/prod/apps.yaml", FLUX_APPS);
    repo.write("apps/a.yaml", &cm("a", None, "k: one"));
    repo.write("apps/gone.yaml", &cm("gone", None, "k: x"));
    repo.write("legacy/old.yaml", &cm("old", Some("legacy"), "k: x"));
    repo.write("legacy/keep.yaml", &cm("keep", Some("legacy"), "k: x"));
    let base = repo.commit("base");
    repo.write("apps/a.yaml", &cm("a", None, "k: two"));
    repo.remove("apps/gone.yaml");
    repo.write("apps/new.yaml", &cm("new", Some("elsewhere"), "k: x"));
    repo.remove("legacy/old.yaml");
    repo.commit("change");

    let plan = repo.plan(&["--base", &base, "--head", "HEAD"]);
    let apps = unit(&plan, "flux-system/apps");
    assert_eq!(apps["kind"], "Kustomization");
    assert_eq!(apps["path"], "apps");
    assert_eq!(apps["prune"], true);
    // targetNamespace replaces every namespace, including an explicit one.
    assert_eq!(
        changes(apps),
        [
            ("update".to_string(), "ConfigMap prod/a".to_string()),
            ("delete".to_string(), "ConfigMap prod/gone".to_string()),
            ("create".to_string(), "ConfigMap prod/new".to_string()),
        ]
    );
    assert_eq!(apps["changes"][1]["pruned"], true);
    assert_eq!(apps["changes"][0]["fields"][0]["path"], "data.k");
    let legacy = unit(&plan, "flux-system/legacy");
    assert_eq!(
        changes(legacy),
        [("delete".to_string(), "ConfigMap legacy/old".to_string())]
    );
    assert_eq!(legacy["changes"][0]["pruned"], false);
    assert_eq!(legacy["unchanged"], 1);

    let human = stdout(&repo.kgate(&["diff", "--base", &base, "--head", "HEAD"]));
    assert!(
        human.contains("- delete ConfigMap prod/gone (pruned: the agent deletes it)"),
        "{human}"
    );
    assert!(
        human.contains("- delete ConfigMap legacy/old (orphaned: prune is off"),
        "{human}"
    );

    let md = stdout(&repo.kgate(&[
        "diff", "--base", &base, "--head", "HEAD", "--format", "markdown",
    ]));
    assert!(
        md.contains("| Kustomization flux-system/apps | apps | 1 | 1 | 1 | 0 | prune |"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>Kustomization flux-system/apps"),
        "{md}"
    );
    assert!(
        md.contains("-   data.k: \"one\"\n+   data.k: \"two\""),
        "{md}"
    );
}

#[test]
fn moving_reordering_requoting_and_comments_are_no_change() {
    let repo = Repo::new();
    repo.write(
        "apps/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: a\n          image: \"nginx:1.27\"\n        - name: b\n          image: busybox\n",
    );
    let base = repo.commit("base");
    repo.remove("apps/web.yaml");
    // Moved to another file of the same unit, keys and containers reordered, quotes and
    // comments changed, explicit default namespace added.
    repo.write(
        "apps/sub/renamed.yml",
        "# the web tier\nkind: Deployment\napiVersion: apps/v1\nspec:\n  template:\n    spec:\n      containers:\n        - image: busybox\n          name: b\n        - name: a # main\n          image: 'nginx:1.27'\n  replicas: 2\nmetadata:\n  namespace: default\n  name: web\n",
    );
    repo.commit("move");
    let plan = repo.plan(&["--base", &base, "--head", "HEAD"]);
    let u = unit(&plan, "apps");
    assert_eq!(u["changes"].as_array().unwrap().len(), 0, "{plan:#}");
    assert_eq!(u["unchanged"], 1);
}

#[test]
fn list_items_are_matched_by_merge_key() {
    let repo = Repo::new();
    let svc = |ports: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  ports:\n{ports}")
    };
    repo.write(
        "apps/svc.yaml",
        &svc("    - port: 80\n      name: http\n    - port: 443\n      name: https\n"),
    );
    let base = repo.commit("base");
    repo.write("apps/svc.yaml", &svc("    - port: 443\n      name: https\n      targetPort: 8443\n    - port: 80\n      name: http\n"));
    repo.commit("tls target");
    let plan = repo.plan(&["--base", &base, "--head", "HEAD"]);
    let f = &plan["units"][0]["changes"][0]["fields"];
    assert_eq!(f.as_array().unwrap().len(), 1, "{plan:#}");
    assert_eq!(f[0]["path"], "spec.ports[port=443].targetPort");
    assert_eq!(f[0]["before"], Value::Null);
    assert_eq!(f[0]["after"], 8443);
}

#[test]
fn secret_values_never_appear() {
    let repo = Repo::new();
    let secret = |v: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\ntype: Opaque\ndata:\n  password: {v}\n")
    };
    let app = |token: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: prod\ndata:\n  api_token: {token}\n  mode: fast\n")
    };
    repo.write("apps/secret.yaml", &secret("aHVudGVyMjI="));
    repo.write(
        "apps/cm.yaml",
        &app("ghp_0123456789abcdefABCDEF0123456789abcd"),
    );
    let base = repo.commit("base");
    repo.write("apps/secret.yaml", &secret("c3VwZXJzZWNyZXQ="));
    repo.write(
        "apps/cm.yaml",
        &app("ghp_9999956789abcdefABCDEF0123456789zzzz"),
    );
    repo.commit("rotate");
    for format in ["human", "json", "markdown"] {
        let out = repo.kgate(&[
            "diff", "--base", &base, "--head", "HEAD", "--format", format,
        ]);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        for leaked in [
            "aHVudGVyMjI",
            "c3VwZXJzZWNyZXQ",
            "hunter22",
            "supersecret",
            "ghp_0123",
            "ghp_9999",
        ] {
            assert!(!text.contains(leaked), "{format} leaks {leaked}:\n{text}");
        }
        assert!(text.contains("data.password"), "{format}:\n{text}");
        assert!(text.contains("[REDACTED]"), "{format}:\n{text}");
    }
    let plan = repo.plan(&["--base", &base, "--head", "HEAD"]);
    let secret_change = plan["units"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"]["kind"] == "Secret")
        .unwrap();
    assert_eq!(secret_change["fields"][0]["redacted"], true);
}

#[test]
fn argo_applications_and_suspended_units() {
    let repo = Repo::new();
    repo.write(
        "argocd/apps.yaml",
        r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example.com/shop.git
    path: deploy/shop
  destination:
    server: https://kubernetes.default.svc
    namespace: shop
  syncPolicy:
    automated:
      prune: true
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: manual
  namespace: argocd
spec:
  project: default
  sources:
    - repoURL: https://git.example.com/shop.git
      path: deploy/manual
  destination:
    server: https://kubernetes.default.svc
    namespace: tools
"#,
    );
    repo.write(
        "clusters/paused.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: paused\n  namespace: flux-system\nspec:\n  path: ./paused\n  prune: true\n  suspend: true\n",
    );
    repo.write("deploy/shop/cm.yaml", &cm("a", None, "k: x"));
    repo.write("deploy/shop/nested/cm.yaml", &cm("nested", None, "k: x"));
    repo.write(
        "deploy/shop/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    );
    repo.write("deploy/manual/cm.yaml", &cm("m", Some("custom"), "k: x"));
    repo.write("paused/cm.yaml", &cm("p", Some("paused"), "k: x"));
    let base = repo.commit("base");
    repo.remove("deploy/shop/cm.yaml");
    repo.write("deploy/shop/nested/cm.yaml", &cm("nested", None, "k: y"));
    repo.write("deploy/manual/cm.yaml", &cm("m", Some("custom"), "k: y"));
    repo.write("paused/cm.yaml", &cm("p", Some("paused"), "k: y"));
    repo.commit("change");

    let plan = repo.plan(&["--base", &base, "--head", "HEAD"]);
    let shop = unit(&plan, "argocd/shop");
    assert_eq!(shop["kind"], "Application");
    assert_eq!(
        (shop["prune"].as_bool(), shop["suspended"].as_bool()),
        (Some(true), Some(false))
    );
    // Argo directory sources do not recurse by default: the nested file is not part of it; the
    // destination namespace fills the missing one; Namespace is cluster-scoped.
    assert_eq!(
        changes(shop),
        [("delete".to_string(), "ConfigMap shop/a".to_string())]
    );
    assert_eq!(shop["changes"][0]["pruned"], true);
    assert_eq!(shop["unchanged"], 1);
    let manual = unit(&plan, "argocd/manual");
    assert_eq!(manual["suspended"], true);
    assert_eq!(manual["prune"], false);
    assert!(manual["note"]
        .as_str()
        .unwrap()
        .contains("until someone syncs"));
    assert_eq!(
        changes(manual),
        [("update".to_string(), "ConfigMap custom/m".to_string())]
    );
    let paused = unit(&plan, "flux-system/paused");
    assert_eq!(paused["suspended"], true);
    assert!(paused["note"]
        .as_str()
        .unwrap()
        .contains("Flux applies nothing until it is resumed"));
    let human = stdout(&repo.kgate(&["diff", "--base", &base, "--head", "HEAD"]));
    assert!(
        human.contains("! suspended (spec.suspend: true)"),
        "{human}"
    );
}

#[test]
fn working_tree_head_sees_uncommitted_edits() {
    let repo = Repo::new();
    repo.write("apps/a.yaml", &cm("a", Some("prod"), "k: one"));
    repo.write(".gitignore", "build/\n");
    repo.commit("base");
    repo.write("apps/a.yaml", &cm("a", Some("prod"), "k: edited"));
    repo.write("apps/untracked.yaml", &cm("u", Some("prod"), "k: x"));
    // Ignored output takes no part.
    repo.write("build/out.yaml", &cm("ignored", Some("prod"), "k: x"));
    let plan = repo.plan(&["--base", "HEAD"]);
    assert_eq!(plan["head"], "working tree");
    let all: Vec<(String, String)> = plan["units"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(changes)
        .collect();
    assert_eq!(
        all,
        [
            ("update".to_string(), "ConfigMap prod/a".to_string()),
            ("create".to_string(), "ConfigMap prod/u".to_string()),
        ]
    );
    // Run from a sub-folder: paths are relative to it and the repository is still found.
    let out = kgate_in(
        &repo.path().join("apps"),
        &["diff", "--base", "HEAD", "--format", "json", "."],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["units"].as_array().unwrap().len(), 1, "{plan:#}");
    assert_eq!(plan["units"][0]["name"], "apps");
}

#[test]
fn shallow_clone_without_the_base_exits_2_with_advice() {
    let origin = Repo::new();
    origin.write("apps/a.yaml", &cm("a", Some("prod"), "k: one"));
    let base = origin.commit("one");
    origin.write("apps/a.yaml", &cm("a", Some("prod"), "k: two"));
    origin.commit("two");
    let parent = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    git_in(
        parent.path(),
        &["clone", "-q", "--depth", "1", &url, "clone"],
    );
    let clone: PathBuf = parent.path().join("clone");
    for rev in [base.as_str(), "HEAD~1"] {
        let out = kgate_in(&clone, &["diff", "--base", rev]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("shallow") && err.contains("git fetch --unshallow"),
            "{err}"
        );
        assert!(
            err.contains("fetch-depth: 0") && err.contains("GIT_DEPTH: 0"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    // `check --base` refuses the same way.
    let out = kgate_in(&clone, &["check", "--base", &base]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unknown_base_and_no_base_are_errors() {
    let repo = Repo::new();
    repo.write("a.yaml", &cm("a", Some("prod"), "k: one"));
    repo.commit("one");
    let out = repo.kgate(&["diff", "--base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot find revision `no-such-branch`"));
    let out = repo.kgate(&["check", "--head", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--head needs --base"));
    let out = repo.kgate(&["diff"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --base"));
}

fn bad_deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: prod\nspec:\n  replicas: \"two\"\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n"
    )
}

#[test]
fn check_base_reports_only_the_findings_the_mr_adds() {
    let repo = Repo::new();
    repo.write("apps/old.yaml", &bad_deployment("old"));
    let base = repo.commit("debt");
    // The MR moves the broken object down its file (still pre-existing: same unit, same
    // object; lines are not part of a finding's identity) and adds a new one. (Copying it to
    // another file is a new finding: tests/mr_bypass.rs.)
    repo.write(
        "apps/old.yaml",
        &format!(
            "# moved down

{}",
            bad_deployment("old")
        ),
    );
    repo.write("apps/new.yaml", &bad_deployment("new"));
    let run = |args: &[&str]| {
        let mut all = vec!["check", "--format", "json", "--base", base.as_str()];
        all.extend_from_slice(args);
        let out = repo.kgate(&all);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), v)
    };
    let (code, v) = run(&[]);
    assert_eq!(code, Some(1));
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(!diags.is_empty());
    assert!(
        diags
            .iter()
            .all(|d| d["resource"]["name"] == "new" && d.get("pre_existing").is_none()),
        "{v:#}"
    );
    assert_eq!(
        v["summary"]["pre_existing"].as_u64(),
        Some(diags.len() as u64)
    );
    let (code, v) = run(&["--all"]);
    assert_eq!(code, Some(1));
    let old: Vec<&Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["resource"]["name"] == "old")
        .collect();
    assert!(!old.is_empty());
    assert!(old
        .iter()
        .all(|d| d["pre_existing"] == true && d["file"] == "apps/old.yaml"));

    // Without the new object only debt remains: the gate passes.
    repo.remove("apps/new.yaml");
    let (code, v) = run(&[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 0);
    // Human output with --all marks them.
    let out = repo.kgate(&["check", "--base", &base, "--all"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("[pre-existing]"), "{}", stdout(&out));
}

#[test]
fn check_base_warns_when_the_mr_changes_the_gate() {
    let repo = Repo::new();
    repo.write("apps/a.yaml", &cm("a", Some("prod"), "k: one"));
    repo.write(
        "policy/images.rego",
        "package main\n\ndeny contains msg if { false; msg := \"x\" }\n",
    );
    repo.write(".kgate.yaml", "strict: true\n");
    let base = repo.commit("base");
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--format", "json", "--base", base.as_str(), "apps"];
        args.extend_from_slice(extra);
        let out = repo.kgate(&args);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), v)
    };
    let (code, v) = run(&[]);
    assert_eq!(code, Some(0));
    assert!(v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["code"] != "gate/policy-changed"));

    repo.remove("policy/images.rego");
    repo.write("policy/exceptions/prod.yaml", "exceptions: []\n");
    repo.write(".kgate.yaml", "strict: false\n");
    let (code, v) = run(&[]);
    assert_eq!(code, Some(0), "a warning does not fail at --fail-on error");
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "gate/policy-changed")
        .unwrap_or_else(|| panic!("{v:#}"))
        .clone();
    assert_eq!(d["severity"], "warning");
    assert_eq!(
        d["message"],
        "this merge request changes the gate's own files: .kgate.yaml (modified), policy/exceptions/prod.yaml (added), policy/images.rego (removed)"
    );
    assert!(d["help"].as_str().unwrap().contains("--policies-from head"));
    let (_, v) = run(&["--policies-from", "head"]);
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "gate/policy-changed")
        .unwrap()
        .clone();
    assert!(d["help"]
        .as_str()
        .unwrap()
        .contains("judged with its own policies"));
    let (code, _) = run(&["--fail-on", "warning"]);
    assert_eq!(code, Some(1));
}

#[test]
fn an_unparseable_head_file_is_a_problem_not_a_deletion() {
    let repo = Repo::new();
    repo.write(
        "apps/a.yaml",
        &format!(
            "{}---\n{}",
            cm("a", Some("prod"), "k: one"),
            cm("b", Some("prod"), "k: one")
        ),
    );
    let base = repo.commit("base");
    repo.write(
        "apps/a.yaml",
        &format!(
            "{}---\n{}",
            cm("a", Some("prod"), "k: two"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b\n"
        ),
    );
    let plan = repo.plan(&["--base", &base]);
    assert_eq!(
        changes(&plan["units"][0]),
        [("update".to_string(), "ConfigMap prod/a".to_string())]
    );
    let problems = plan["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["code"], "yaml/syntax");
    assert_eq!(problems[0]["file"], "apps/a.yaml");
    let human = stdout(&repo.kgate(&["diff", "--base", &base]));
    assert!(
        human.contains("1 problem(s) reading the head revision; the plan may be incomplete"),
        "{human}"
    );
}

#[test]
fn a_unit_whose_path_disappears_changes_nothing() {
    let repo = Repo::new();
    repo.write(
        "clusters/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps\n  prune: true\n",
    );
    repo.write("apps/a.yaml", &cm("a", Some("prod"), "k: one"));
    let base = repo.commit("base");
    repo.remove("apps/a.yaml");
    let plan = repo.plan(&["--base", &base]);
    let u = unit(&plan, "flux-system/apps");
    assert_eq!(u["changes"].as_array().unwrap().len(), 0, "{plan:#}");
    assert!(u["note"]
        .as_str()
        .unwrap()
        .contains("source path apps does not exist at the head"));
}

#[test]
fn plain_folders_are_units_when_no_agent_declares_any() {
    let repo = Repo::new();
    repo.write(
        "infra/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n",
    );
    repo.write("apps/a.yaml", &cm("a", None, "k: one"));
    repo.write("root.yaml", &cm("r", None, "k: one"));
    let base = repo.commit("base");
    repo.remove("apps/a.yaml");
    repo.write("apps/b.yaml", &cm("b", None, "k: one"));
    repo.commit("swap");
    let plan = repo.plan(&["--base", &base, "--head", "HEAD"]);
    let names: Vec<&str> = plan["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [".", "apps", "infra"]);
    assert_eq!(
        changes(unit(&plan, "apps")),
        [
            ("delete".to_string(), "ConfigMap default/a".to_string()),
            ("create".to_string(), "ConfigMap default/b".to_string()),
        ]
    );
    assert_eq!(unit(&plan, "infra")["unchanged"], 1);
    let human = stdout(&repo.kgate(&["diff", "--base", &base, "--head", "HEAD"]));
    assert!(human.contains("Folder apps\n"), "{human}");
    assert!(
        human.contains(
            "- delete ConfigMap default/a (removed from the repository; no agent object says"
        ),
        "{human}"
    );
}

/// A unit kgate cannot build (here a kustomization naming a file that does not exist) is
/// planned from its raw manifests, and the plan says so instead of passing it off as the
/// agent's result.
#[test]
fn a_unit_kgate_cannot_build_is_planned_from_raw_manifests_with_a_note() {
    let repo = Repo::new();
    repo.write(
        "clusters/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps\n  prune: true\n",
    );
    repo.write(
        "apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - a.yaml\n",
    );
    repo.write("apps/a.yaml", &cm("a", Some("prod"), "k: one"));
    let base = repo.commit("base");
    repo.write(
        "apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - a.yaml\n  - gone.yaml\n",
    );
    repo.write("apps/a.yaml", &cm("a", Some("prod"), "k: two"));
    let plan = repo.plan(&["--base", &base]);
    let u = unit(&plan, "flux-system/apps");
    let note = u["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("kgate could not build this unit at the head (")
            && note.contains("apps/kustomization.yaml:5")
            && note.contains("may differ from what the agent applies"),
        "{plan:#}"
    );
    assert_eq!(
        changes(u),
        [("update".to_string(), "ConfigMap prod/a".to_string())],
        "{plan:#}"
    );
}
