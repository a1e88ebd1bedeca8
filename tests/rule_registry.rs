//! The registry of finding codes is complete (issue 14): every code the source emits is
//! registered (`kgate explain` knows it: src/rules.rs or the built-in policy pack), and every
//! registered code has its documentation and is produced by at least one test.

use std::collections::BTreeSet;
use std::path::Path;

/// Families of finding codes (`family/name`).
const FAMILIES: &[&str] = &[
    "file",
    "limit",
    "yaml",
    "schema",
    "admission",
    "policy",
    "gatekeeper",
    "exception",
    "gate",
    "render",
    "unit",
    "plan",
];

/// API versions that look like codes (`policy/v1`).
fn is_api_version(code: &str) -> bool {
    let name = code.split('/').nth(1).unwrap_or("");
    name.starts_with('v') && name[1..].starts_with(|c: char| c.is_ascii_digit())
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// String literals of `text` that have the shape of a finding code.
fn code_literals(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices('"') {
        let rest = &text[i + 1..];
        let Some(end) = rest.find('"') else { continue };
        let lit = &rest[..end];
        let Some((family, name)) = lit.split_once('/') else {
            continue;
        };
        let well_formed = FAMILIES.contains(&family)
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if well_formed && !is_api_version(lit) {
            out.insert(lit.to_string());
        }
    }
    out
}

/// The production part of a source file: kgate keeps unit tests in a trailing `#[cfg(test)]`
/// module.
fn production(text: &str) -> &str {
    let end = ["#[cfg(test)]", "#[cfg(all(test"]
        .iter()
        .filter_map(|m| text.find(m))
        .min();
    end.map_or(text, |i| &text[..i])
}

fn explained(code: &str) -> bool {
    kgate::rules::find(code).is_some() || kgate::policy::builtin::find(code).is_some()
}

#[test]
fn every_code_the_source_emits_is_registered() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let mut unregistered = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for code in code_literals(production(&text)) {
            // A path under a policy folder in a test fixture is not a code; a code is what
            // `Diagnostic` constructors take, and every such literal must be explained.
            if !explained(&code) {
                unregistered.push(format!("{}: {code}", f.display()));
            }
        }
    }
    assert!(
        unregistered.is_empty(),
        "codes emitted but not registered in src/rules.rs (or the built-in pack):\n{}",
        unregistered.join("\n")
    );
}

#[test]
fn every_registered_code_is_documented_and_tested() {
    let mut test_text = String::new();
    let mut files = Vec::new();
    rust_files(Path::new("tests"), &mut files);
    rust_files(Path::new("src"), &mut files);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if f.starts_with("tests") {
            test_text.push_str(&text);
        } else {
            test_text.push_str(&text[production(&text).len()..]);
        }
    }
    // Fixture files assert codes too (expected outputs, snapshots).
    for dir in ["tests/snapshots", "tests/fixtures"] {
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(t) = std::fs::read_to_string(&p) {
                    test_text.push_str(&t);
                }
            }
        }
    }
    let mut problems = Vec::new();
    for r in kgate::rules::RULES {
        if r.summary.trim().is_empty() || r.docs.trim().len() < 40 {
            problems.push(format!("{}: no documentation for `kgate explain`", r.code));
        }
        // Placeholder codes (`vap/<policy name>`) stand for a family of generated codes.
        let concrete = !r.code.contains('<');
        if concrete
            && !test_text.contains(&format!("\"{}\"", r.code))
            && !test_text.contains(&format!("[{}]", r.code))
        {
            problems.push(format!("{}: no test names it", r.code));
        }
    }
    for r in kgate::policy::builtin::rules() {
        if r.docs.trim().len() < 40 {
            problems.push(format!("{}: no documentation", r.code));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scanner_finds_codes_and_skips_api_versions() {
    let src =
        r#"d("render/missing", x); let v = "policy/v1"; f("yaml/syntax"); "apps/v1"; "plan/x y""#;
    let got: Vec<String> = code_literals(src).into_iter().collect();
    assert_eq!(got, ["render/missing", "yaml/syntax"]);
    assert!(!explained("render/no-such-code"));
    assert!(explained("policy/namespace") && explained("vap/any-policy"));
}

// ---- Codes that had no test of their own (found by the test above).

#[path = "common/kgate_cli.rs"]
mod kgate_cli;

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

fn codes(dir: &Path, args: &[&str]) -> (i32, Vec<String>) {
    let (code, json) = kgate_cli::check_json(Some(dir), args);
    let codes = json["diagnostics"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    (code, codes)
}

const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: x\ndata:\n  k: v\n";

#[test]
fn a_policy_package_without_rules_to_enforce() {
    let dir = repo(&[
        ("cm.yaml", CM),
        ("policy/main.rego", "package main\n\nallowed := true\n"),
    ]);
    let (_, c) = codes(dir.path(), &["cm.yaml", "--policy", "policy"]);
    assert!(c.contains(&"policy/empty-namespace".to_string()), "{c:?}");
}

#[test]
fn gatekeeper_constraint_without_template_and_failing_template() {
    let constraint = "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sNoSuchTemplate\nmetadata:\n  name: c\nspec: {}\n";
    let dir = repo(&[("cm.yaml", CM), ("gk/constraint.yaml", constraint)]);
    let (_, c) = codes(dir.path(), &["."]);
    assert!(
        c.contains(&"gatekeeper/unknown-constraint".to_string()),
        "{c:?}"
    );

    // A complete rule with two values is an evaluation error (OPA's eval_conflict_error).
    let template = "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sbroken\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sBroken\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n        package k8sbroken\n        v = 1 { input.review.object.data.k }\n        v = 2 { input.review.object.data.k }\n        violation[{\"msg\": msg}] {\n          msg := sprintf(\"%v\", [v])\n        }\n";
    let constraint = "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sBroken\nmetadata:\n  name: broken\nspec:\n  match:\n    kinds:\n      - apiGroups: [\"\"]\n        kinds: [\"ConfigMap\"]\n";
    let dir = repo(&[
        ("cm.yaml", CM),
        ("gk/template.yaml", template),
        ("gk/constraint.yaml", constraint),
    ]);
    let (code, c) = codes(dir.path(), &["."]);
    assert!(c.contains(&"gatekeeper/eval-error".to_string()), "{c:?}");
    assert_eq!(code, 2, "{c:?}");
}

#[test]
fn a_gator_suite_naming_a_missing_file() {
    let suite = "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\nmetadata:\n  name: s\ntests:\n  - name: t\n    template: missing-template.yaml\n    constraint: missing-constraint.yaml\n    cases: []\n";
    let dir = repo(&[("suite/suite.yaml", suite)]);
    let out = kgate_cli::kgate()
        .current_dir(dir.path())
        .args(["verify", "suite"])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("gatekeeper/bad-suite"), "{all}");
}

#[test]
fn an_ignore_annotation_that_is_not_a_string() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: x\n  annotations:\n    kgate.dev/ignore:\n      - policy/namespace\ndata:\n  k: v\n";
    let dir = repo(&[("cm.yaml", cm)]);
    let (_, c) = codes(dir.path(), &["cm.yaml"]);
    assert!(c.contains(&"exception/invalid".to_string()), "{c:?}");
}

#[test]
fn two_resources_of_one_kustomization_with_one_identity() {
    let dir = repo(&[
        ("app/a.yaml", CM),
        ("app/b.yaml", CM),
        (
            "app/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml, b.yaml]\n",
        ),
    ]);
    let (_, c) = codes(dir.path(), &["."]);
    assert!(c.contains(&"render/conflict".to_string()), "{c:?}");
}

#[test]
fn a_substitute_from_source_not_in_the_repository() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-vars\n";
    let dir = repo(&[("app/cm.yaml", CM), ("clusters/app.yaml", flux)]);
    let (_, c) = codes(dir.path(), &["."]);
    assert!(c.contains(&"render/missing-source".to_string()), "{c:?}");
}
