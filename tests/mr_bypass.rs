//! Merge-request bypass attempts: an MR that tries to loosen the gate judging it (a `.kgate.yaml`
//! exception or raised limit, an always-allow `exception` rule in a policy folder, a symlink
//! replacing the policy folder or the config, an annotation exception on an object it creates)
//! is still judged by the base revision's rules, and every change to the gate is listed.
//! (tests/mrwire covers the MR that switches a rule off by severity or deletes a deny rule.)

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const DENY: &str = "package main\n\ndeny contains msg if {\n  input.kind == \"ConfigMap\"\n  input.data.forbidden\n  msg := sprintf(\"%s uses the forbidden key\", [input.metadata.name])\n}\n";

fn cm(name: &str, extra_meta: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: prod\n{extra_meta}data:\n  forbidden: \"yes\"\n")
}

/// A base whose `.kgate.yaml` enforces the deny rule; the MR adds a ConfigMap that breaks it.
fn repo_with_violation() -> (Repo, String) {
    let repo = Repo::new();
    repo.write(".kgate.yaml", "policies: [policy]\nmax_documents: 5\n");
    repo.write("policy/deny.rego", DENY);
    repo.write(
        "apps/ok.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  namespace: prod\ndata:\n  fine: \"1\"\n",
    );
    let base = repo.commit("base");
    repo.write("apps/bad.yaml", &cm("bad", ""));
    (repo, base)
}

fn check(repo: &Repo, base: &str) -> (Option<i32>, Value) {
    let out = repo.kgate(&["check", "--format", "json", "--base", base]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

/// (code, file, message, suppressed) of every finding.
fn all(v: &Value) -> Vec<(String, String, String, bool)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["message"].as_str().unwrap_or_default().to_string(),
                d["suppressed"] == true,
            )
        })
        .collect()
}

/// The deny rule fired on apps/bad.yaml and was not suppressed.
fn still_denied(v: &Value) {
    assert!(
        all(v)
            .iter()
            .any(|(c, f, _, s)| c == "policy/main.deny" && f == "apps/bad.yaml" && !s),
        "{:#?}",
        all(v)
    );
}

fn listed(v: &Value, code: &str, needle: &str) {
    assert!(
        all(v)
            .iter()
            .any(|(c, f, m, _)| c == code && (m.contains(needle) || f.contains(needle))),
        "no {code} naming {needle}: {:#?}",
        all(v)
    );
}

#[test]
fn a_config_exception_and_raised_limits_added_by_the_mr_do_not_apply() {
    let (repo, base) = repo_with_violation();
    repo.write(
        ".kgate.yaml",
        "policies: [policy]\nmax_documents: 100000\nexceptions:\n  - code: policy/main.deny\n    reason: trust me\n",
    );
    // Six documents: over the base's max_documents of 5, which the MR tried to raise.
    repo.write("apps/many.yaml", &"a: 1\n---\n".repeat(6));
    let (code, v) = check(&repo, &base);
    assert_eq!(code, Some(1));
    still_denied(&v);
    listed(&v, "gate/policy-changed", ".kgate.yaml");
    assert!(all(&v).iter().any(|(c, f, m, _)| c == "yaml/limit"
        && f == "apps/many.yaml"
        && m.contains("more than 5 documents")));
}

#[test]
fn an_always_allow_exception_rule_in_the_policy_folder_does_not_apply() {
    let (repo, base) = repo_with_violation();
    repo.write(
        "policy/allow.rego",
        "package main\n\nexception contains rules if {\n  rules := [\"\"]\n}\n",
    );
    // And a policy folder of its own, named in a config it also changes.
    repo.write(
        "evil/allow.rego",
        "package main\n\nexception contains [\"\"] if { true }\n",
    );
    repo.write(
        ".kgate.yaml",
        "policies: [policy, evil]\nmax_documents: 5\n",
    );
    let (code, v) = check(&repo, &base);
    assert_eq!(code, Some(1), "{:#?}", all(&v));
    still_denied(&v);
    listed(&v, "gate/policy-changed", "policy/allow.rego");
}

#[cfg(unix)]
#[test]
fn a_symlink_replacing_the_policy_folder_or_the_config_does_not_apply() {
    let (repo, base) = repo_with_violation();
    // The MR swaps the policy folder for a link to an empty folder, and the config for a link
    // to one that turns every policy off.
    std::fs::remove_dir_all(repo.path().join("policy")).unwrap();
    repo.write("empty/README.md", "nothing here\n");
    std::os::unix::fs::symlink("empty", repo.path().join("policy")).unwrap();
    repo.write(
        "lax.yaml",
        "builtin_policies: false\nseverity:\n  policy/main.deny: off\n",
    );
    repo.remove(".kgate.yaml");
    std::os::unix::fs::symlink("lax.yaml", repo.path().join(".kgate.yaml")).unwrap();
    // Judged from the working tree and from a commit alike.
    let (code, v) = check(&repo, &base);
    assert_eq!(code, Some(1), "{:#?}", all(&v));
    still_denied(&v);
    listed(&v, "gate/policy-changed", ".kgate.yaml");
    repo.commit("mr");
    let out = repo.kgate(&[
        "check", "--format", "json", "--base", &base, "--head", "HEAD",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    still_denied(&v);
}

#[test]
fn an_annotation_exception_on_an_object_the_mr_creates_is_listed_not_applied() {
    let (repo, base) = repo_with_violation();
    repo.write(
        "apps/bad.yaml",
        &cm(
            "bad",
            "  annotations:\n    kgate.dev/ignore: \"policy/main.deny=approved by me, policy/*=all of it\"\n",
        ),
    );
    let (code, v) = check(&repo, &base);
    assert_eq!(code, Some(1));
    still_denied(&v);
    // Both exceptions are named for the reviewer.
    listed(&v, "gate/exception-added", "approved by me");
    listed(&v, "gate/exception-added", "all of it");
}

// ---------------------------------------------------------------------------------------------
// Issue 13 §1: what the agent applies is what kgate checks.
// ---------------------------------------------------------------------------------------------

/// A ConfigMap `name` in namespace prod, clean or with the key the deny rule forbids.
fn configmap(name: &str, bad: bool) -> String {
    let data = if bad {
        "forbidden: \"yes\""
    } else {
        "fine: \"1\""
    };
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: prod\ndata:\n  {data}\n")
}

/// A repository whose `.kgate.yaml` enforces the deny rule (no built-in pack, so only the
/// rule under test speaks).
fn gated_repo() -> Repo {
    let repo = Repo::new();
    repo.write(
        ".kgate.yaml",
        "policies: [policy]\nbuiltin_policies: false\n",
    );
    repo.write("policy/deny.rego", DENY);
    repo
}

fn check_args(repo: &Repo, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["check", "--format", "json", "--all"];
    all.extend_from_slice(args);
    let out = repo.kgate(&all);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

fn diags(v: &Value) -> Vec<&Value> {
    v["diagnostics"].as_array().unwrap().iter().collect()
}

/// The deny findings on ConfigMap `name`: (file, suppressed, pre-existing, rendered_for).
fn denials(v: &Value, name: &str) -> Vec<(String, bool, bool, String)> {
    diags(v)
        .into_iter()
        .filter(|d| d["code"] == "policy/main.deny" && d["resource"]["name"] == name)
        .map(|d| {
            (
                d["file"].as_str().unwrap_or_default().to_string(),
                d["suppressed"] == true,
                d["pre_existing"] == true,
                d["rendered_for"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Fails unless a deny finding on `name` is reported as new and not suppressed.
fn new_denial(v: &Value, name: &str) {
    assert!(
        denials(v, name).iter().any(|(_, s, p, _)| !s && !p),
        "no new, unsuppressed deny on {name}: {:#?}",
        diags(v)
    );
}

/// The `gate/exception-added` findings: (severity, file, message).
fn exceptions_added(v: &Value) -> Vec<(String, String, String)> {
    diags(v)
        .into_iter()
        .filter(|d| d["code"] == "gate/exception-added")
        .map(|d| {
            (
                d["severity"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn commit_and_head(repo: &Repo, base: &str) -> (Option<i32>, Value) {
    repo.commit("mr");
    check_args(repo, &["--base", base, "--head", "HEAD"])
}

#[test]
fn committed_manifests_named_by_gitignore_are_checked() {
    // Shapes: one file named, a whole folder ignored, a glob; judged from the working tree,
    // from a commit, without --base, and planned by `kgate diff`.
    for (ignore, file) in [
        ("apps/bad.yaml\n", "apps/bad.yaml"),
        ("hidden/\n", "hidden/deep/bad.yaml"),
        ("*.yaml\n!policy/**\n", "apps/bad.yaml"),
    ] {
        let repo = gated_repo();
        repo.write("apps/ok.yaml", &configmap("ok", false));
        let base = repo.commit("base");
        repo.write(file, &configmap("bad", true));
        repo.write(".gitignore", ignore);
        repo.git(&["add", "-f", file]);
        let (code, v) = check_args(&repo, &["--base", &base]);
        assert_eq!(code, Some(1), "{ignore}: {:#?}", diags(&v));
        new_denial(&v, "bad");
        // Without --base, the checked-out repository: the same.
        let (code, v) = check_args(&repo, &[]);
        assert_eq!(code, Some(1), "{ignore}: {:#?}", diags(&v));
        new_denial(&v, "bad");
        let plan = repo.plan(&["--base", &base]);
        assert!(
            plan.to_string().contains("\"bad\""),
            "{ignore}: the plan creates it: {plan:#}"
        );
        let (code, v) = commit_and_head(&repo, &base);
        assert_eq!(code, Some(1), "{ignore}");
        new_denial(&v, "bad");
    }
}

#[test]
fn untracked_ignored_files_still_stay_out() {
    let repo = gated_repo();
    repo.write(".gitignore", "out/\nscratch.yaml\n");
    repo.write("apps/ok.yaml", &configmap("ok", false));
    let base = repo.commit("base");
    // Build output and a local scratch file, never committed: not what the agent applies.
    repo.write("out/rendered.yaml", &configmap("built", true));
    repo.write("apps/scratch.yaml", &configmap("scratch", true));
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(0), "{:#?}", diags(&v));
    let (code, v) = check_args(&repo, &[]);
    assert_eq!(code, Some(0), "{:#?}", diags(&v));
}

#[test]
fn a_finding_copied_into_another_cluster_folder_is_new() {
    let repo = gated_repo();
    repo.write("clusters/prod/bad.yaml", &configmap("bad", true));
    let base = repo.commit("debt in prod");
    // The MR copies the object into staging: the same identity and message, another place.
    repo.write("clusters/staging/bad.yaml", &configmap("bad", true));
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(1), "{:#?}", diags(&v));
    let d = denials(&v, "bad");
    assert!(d
        .iter()
        .any(|(f, _, p, _)| f == "clusters/staging/bad.yaml" && !p));
    assert!(d
        .iter()
        .any(|(f, _, p, _)| f == "clusters/prod/bad.yaml" && *p));
    let (code, _) = commit_and_head(&repo, &base);
    assert_eq!(code, Some(1));
}

#[test]
fn moving_lines_or_editing_elsewhere_in_the_file_keeps_a_finding_pre_existing() {
    let repo = gated_repo();
    repo.write("clusters/prod/bad.yaml", &configmap("bad", true));
    repo.write("apps/base/kustomization.yaml", "resources: [cm.yaml]\n");
    repo.write("apps/base/cm.yaml", &configmap("based", true));
    repo.write("apps/prod/kustomization.yaml", "resources: [../base]\n");
    let base = repo.commit("debt");
    // Lines move: a document and comments before the object, a label added after it.
    repo.write(
        "clusters/prod/bad.yaml",
        &format!(
            "# owned by team a\n{}---\n# the old one\n{}  extra: \"2\"\n",
            configmap("other", false),
            configmap("bad", true)
        ),
    );
    repo.write(
        "apps/base/cm.yaml",
        &format!("# moved down\n\n\n{}", configmap("based", true)),
    );
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(0), "{:#?}", diags(&v));
    assert!(denials(&v, "bad").iter().all(|(_, _, p, _)| *p));
    assert!(!denials(&v, "based").is_empty());
    assert!(denials(&v, "based").iter().all(|(_, _, p, _)| *p));
    let (code, _) = commit_and_head(&repo, &base);
    assert_eq!(code, Some(0));
}

#[test]
fn a_new_overlay_or_a_new_cluster_reaching_old_debt_is_new() {
    // A new kustomize overlay over a base that already has the violation.
    let repo = gated_repo();
    repo.write("apps/base/kustomization.yaml", "resources: [cm.yaml]\n");
    repo.write("apps/base/cm.yaml", &configmap("based", true));
    repo.write("apps/prod/kustomization.yaml", "resources: [../base]\n");
    let base = repo.commit("debt");
    repo.write("apps/staging/kustomization.yaml", "resources: [../base]\n");
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(1), "{:#?}", diags(&v));
    new_denial(&v, "based");

    // A new cluster whose Flux Kustomization has the same name as the old cluster's and
    // points at the same folder.
    let flux = |path: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
    };
    let repo = gated_repo();
    repo.write("clusters/prod/apps.yaml", &flux("./apps/prod"));
    repo.write("apps/prod/cm.yaml", &configmap("flat", true));
    let base = repo.commit("debt");
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(0), "nothing new yet: {:#?}", diags(&v));
    repo.write("clusters/staging/apps.yaml", &flux("./apps/prod"));
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(1), "{:#?}", diags(&v));
    new_denial(&v, "flat");
}

/// A base where apps/prod renders apps/base (a clean ConfigMap `web`); the MR breaks `web`
/// and tries to hide that with an exception added as `shape` says.
fn exception_bypass(shape: &str) -> (Repo, String, &'static str) {
    let repo = gated_repo();
    repo.write("apps/base/kustomization.yaml", "resources: [cm.yaml]\n");
    repo.write("apps/base/cm.yaml", &configmap("web", false));
    repo.write("apps/prod/kustomization.yaml", "resources: [../base]\n");
    repo.write(
        "clusters/prod/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/prod\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    );
    let base = repo.commit("base");
    repo.write("apps/base/cm.yaml", &configmap("web", true));
    let ignore = "kgate.dev/ignore: \"policy/main.deny=approved\"";
    let mut target = "web";
    match shape {
        "patch" => repo.write(
            "apps/prod/kustomization.yaml",
            &format!("resources: [../base]\npatches:\n  - target:\n      kind: ConfigMap\n      name: web\n    patch: |\n      apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: web\n        annotations:\n          {ignore}\n"),
        ),
        "strategic-merge file" => {
            repo.write(
                "apps/prod/ignore.yaml",
                &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: prod\n  annotations:\n    {ignore}\n"),
            );
            repo.write(
                "apps/prod/kustomization.yaml",
                "resources: [../base]\npatches:\n  - path: ignore.yaml\n",
            );
        }
        "overlay" => repo.write(
            "apps/prod/kustomization.yaml",
            &format!("resources: [../base]\ncommonAnnotations:\n  {ignore}\n"),
        ),
        "component" => {
            repo.write(
                "apps/components/quiet/kustomization.yaml",
                &format!("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  {ignore}\n"),
            );
            repo.write(
                "apps/prod/kustomization.yaml",
                "resources: [../base]\ncomponents: [../components/quiet]\n",
            );
        }
        "flux commonMetadata" => repo.write(
            "clusters/prod/apps.yaml",
            &format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/prod\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  commonMetadata:\n    annotations:\n      {ignore}\n"),
        ),
        "generator options" => {
            target = "generated";
            repo.write(
                "apps/prod/kustomization.yaml",
                &format!("resources: [../base]\nconfigMapGenerator:\n  - name: generated\n    namespace: prod\n    literals: [forbidden=yes]\n    options:\n      disableNameSuffixHash: true\n      annotations:\n        {ignore}\n"),
            );
        }
        "global generatorOptions" => {
            target = "generated";
            repo.write(
                "apps/prod/kustomization.yaml",
                &format!("resources: [../base]\ngeneratorOptions:\n  disableNameSuffixHash: true\n  annotations:\n    {ignore}\nconfigMapGenerator:\n  - name: generated\n    namespace: prod\n    literals: [forbidden=yes]\n"),
            );
        }
        "on the object" => repo.write(
            "apps/base/cm.yaml",
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: prod\n  annotations:\n    {ignore}\ndata:\n  forbidden: \"yes\"\n"),
        ),
        other => panic!("unknown shape {other}"),
    }
    (repo, base, target)
}

#[test]
fn exceptions_the_mr_adds_through_rendering_are_never_applied() {
    for shape in [
        "patch",
        "strategic-merge file",
        "overlay",
        "component",
        "flux commonMetadata",
        "generator options",
        "global generatorOptions",
        "on the object",
    ] {
        let (repo, base, target) = exception_bypass(shape);
        for head in [None, Some("HEAD")] {
            if head.is_some() {
                repo.commit("mr");
            }
            let mut args = vec!["--base", base.as_str()];
            args.extend(head.map(|h| ["--head", h]).into_iter().flatten());
            let (code, v) = check_args(&repo, &args);
            assert_eq!(code, Some(1), "{shape}: {:#?}", diags(&v));
            new_denial(&v, target);
            assert!(
                denials(&v, target).iter().all(|(_, s, _, _)| !s),
                "{shape}: suppressed: {:#?}",
                denials(&v, target)
            );
            let added = exceptions_added(&v);
            assert!(
                added
                    .iter()
                    .any(|(sev, _, m)| sev == "error" && m.contains("policy/main.deny")),
                "{shape}: {added:#?}"
            );
        }
        // Judged by its own policies the MR's exception applies, and is still listed. (With
        // Flux commonMetadata only the Flux unit carries it: apps/prod rendered on its own
        // does not, and the two units' same finding is reported once, unsuppressed.)
        let (_, v) = check_args(&repo, &["--base", &base, "--policies-from", "head"]);
        assert!(
            shape == "flux commonMetadata" || denials(&v, target).iter().any(|(_, s, _, _)| *s),
            "{shape}: {:#?}",
            diags(&v)
        );
        assert!(exceptions_added(&v)
            .iter()
            .all(|(sev, _, _)| sev == "warning"));
    }
}

#[test]
fn a_widened_or_copied_exception_is_added() {
    // The base excepts web from one rule; the MR widens it to every policy and breaks web.
    let repo = gated_repo();
    let annotated = |name: &str, ignore: &str, bad: bool| {
        configmap(name, bad).replace(
            "  namespace: prod\n",
            &format!("  namespace: prod\n  annotations:\n    kgate.dev/ignore: \"{ignore}\"\n"),
        )
    };
    repo.write(
        "clusters/prod/web.yaml",
        &annotated("web", "policy/main.other=legacy", false),
    );
    let base = repo.commit("base");
    repo.write(
        "clusters/prod/web.yaml",
        &annotated("web", "policy/*=legacy", true),
    );
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(1), "{:#?}", diags(&v));
    new_denial(&v, "web");
    assert!(exceptions_added(&v)
        .iter()
        .any(|(s, _, m)| s == "error" && m.contains("`policy/*`")));

    // The base has an excepted violation in prod; the MR copies it, exception and all, into
    // a new cluster folder: a new unit, so a new finding and a new exception.
    let repo = gated_repo();
    repo.write(
        "clusters/prod/old.yaml",
        &annotated("old", "policy/main.deny=accepted in 2023", true),
    );
    let base = repo.commit("base");
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(0), "{:#?}", diags(&v));
    assert!(exceptions_added(&v).is_empty());
    repo.write(
        "clusters/staging/old.yaml",
        &annotated("old", "policy/main.deny=accepted in 2023", true),
    );
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(1), "{:#?}", diags(&v));
    let d = denials(&v, "old");
    assert!(d
        .iter()
        .any(|(f, s, _, _)| f == "clusters/staging/old.yaml" && !s));
    assert!(d
        .iter()
        .any(|(f, s, _, _)| f == "clusters/prod/old.yaml" && *s));
    assert!(exceptions_added(&v)
        .iter()
        .any(|(_, f, _)| f == "clusters/staging/old.yaml"));
}

#[test]
fn an_exception_the_base_already_has_keeps_applying() {
    // No false positive: the base's patch exception stays in force when the MR edits
    // something else.
    let repo = gated_repo();
    repo.write("apps/base/kustomization.yaml", "resources: [cm.yaml]\n");
    repo.write("apps/base/cm.yaml", &configmap("web", true));
    repo.write(
        "apps/prod/kustomization.yaml",
        "resources: [../base]\ncommonAnnotations:\n  kgate.dev/ignore: \"policy/main.deny=accepted\"\n",
    );
    let base = repo.commit("base");
    repo.write(
        "apps/base/cm.yaml",
        &format!("# a comment\n{}", configmap("web", true)),
    );
    let (code, v) = check_args(&repo, &["--base", &base]);
    assert_eq!(code, Some(0), "{:#?}", diags(&v));
    assert!(exceptions_added(&v).is_empty(), "{:#?}", diags(&v));
    assert!(denials(&v, "web").iter().all(|(_, s, _, _)| *s));
}

#[test]
fn a_config_in_a_subfolder_names_policies_the_same_with_and_without_base() {
    let repo = Repo::new();
    repo.write("policy/deny.rego", DENY);
    repo.write(
        "team/.kgate.yaml",
        "policies: [../policy]\nbuiltin_policies: false\n",
    );
    repo.write("team/ok.yaml", &configmap("ok", false));
    let base = repo.commit("base");
    repo.write("team/bad.yaml", &configmap("bad", true));
    // The config is found from the checked folder in both modes, and `../policy` is the
    // repository's policy folder in both.
    let (code, v) = check_args(&repo, &["team"]);
    assert_eq!(code, Some(1), "{:#?}", diags(&v));
    new_denial(&v, "bad");
    let (code, v) = check_args(&repo, &["--base", &base, "team"]);
    assert_eq!(code, Some(1), "{:#?}", diags(&v));
    new_denial(&v, "bad");
    let (code, v) = check_args(&repo, &["--base", &base, "--config", "team/.kgate.yaml"]);
    assert_eq!(code, Some(1), "{:#?}", diags(&v));
    new_denial(&v, "bad");
    // From inside the subfolder too.
    let out = kgate_in(
        &repo.path().join("team"),
        &["check", "--format", "json", "--base", &base],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The MR that edits the subfolder's config or the policy it names is a gate change.
    repo.write(
        "team/.kgate.yaml",
        "policies: [../policy]\nbuiltin_policies: false\nstrict: false\n",
    );
    let (_, v) = check_args(&repo, &["--base", &base, "team"]);
    listed(&v, "gate/policy-changed", "team/.kgate.yaml");
}
