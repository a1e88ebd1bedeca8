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
