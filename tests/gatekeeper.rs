//! CLI tests of Gatekeeper ConstraintTemplates, constraints and gator Suites, run on the real
//! binary with the fixtures of tests/gatekeeper/.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/kgate_cli.rs"]
mod kgate_cli;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gatekeeper")
}

/// Runs kgate in a temp dir holding a copy of the given fixture folders (so no repository
/// `.kgate.yaml` is found).
fn kgate(copy: &[&str], args: &[&str]) -> (u8, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for name in copy {
        copy_tree(&fixtures().join(name), &dir.path().join(name));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .args(args)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("kgate runs");
    (
        out.status.code().unwrap_or(-1) as u8,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_file() {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
        return;
    }
    for e in std::fs::read_dir(from).unwrap().flatten() {
        copy_tree(&e.path(), &to.join(e.file_name()));
    }
}

/// (code, severity, file, line, column, resource name, message) of every gatekeeper finding.
fn gatekeeper_findings(stdout: &str) -> Vec<(String, String, String, u64, u64, String, String)> {
    let report: serde_json::Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"].as_str().unwrap().starts_with("gatekeeper/"))
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
                d["resource"]["name"].as_str().unwrap_or("").to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn constraints_match_and_enforce_as_gatekeeper() {
    let (code, out, err) = kgate(
        &["policy", "workloads.yaml"],
        &[
            "check",
            "policy",
            "workloads.yaml",
            "--no-builtin-policies",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let got: Vec<_> = gatekeeper_findings(&out)
        .into_iter()
        .map(|(c, s, f, l, col, name, _)| (c, s, f, l, col, name))
        .collect();
    let w = "workloads.yaml";
    let e = |c: &str, s: &str, f: &str, l: u64, col: u64, n: &str| {
        (c.into(), s.into(), f.into(), l, col, n.into())
    };
    let want: Vec<(String, String, String, u64, u64, String)> = vec![
        // Parameters of the wrong type: the constraint is rejected, at the field.
        e(
            "gatekeeper/invalid-parameters",
            "error",
            "policy/constraints.yaml",
            78,
            12,
            "bad-params",
        ),
        // warn on a Namespace (scope Cluster); prod has its team label.
        e(
            "gatekeeper/K8sRequiredLabels/ns-need-team",
            "warning",
            w,
            12,
            3,
            "staging",
        ),
        // data.inventory: web and api share app=web; probe and canary are unique.
        e(
            "gatekeeper/K8sUniqueLabel/unique-app",
            "error",
            w,
            14,
            1,
            "web",
        ),
        // namespaceSelector env=prod selects web only; details.path points at the image.
        e(
            "gatekeeper/K8sAllowedRepos/prod-repos",
            "error",
            w,
            33,
            18,
            "web",
        ),
        e(
            "gatekeeper/K8sUniqueLabel/unique-app",
            "error",
            w,
            35,
            1,
            "api",
        ),
        // Lib-based v0 template at metadata; probe is in an excluded kube-* namespace and
        // canary is tier=test (NotIn), web has its owner.
        e(
            "gatekeeper/K8sRequiredLabels/need-owner",
            "error",
            w,
            38,
            3,
            "api",
        ),
        // dryrun: a note, only in the namespaces listed.
        e(
            "gatekeeper/K8sAllowedRepos/audit-repos",
            "note",
            w,
            53,
            18,
            "api",
        ),
    ];
    assert_eq!(got, want, "{out}");
    let messages: Vec<String> = gatekeeper_findings(&out).into_iter().map(|f| f.6).collect();
    assert!(
        messages.contains(&"you must provide labels: {\"owner\"}".to_string()),
        "{messages:?}"
    );
    assert!(
        messages.contains(
            &"label app has duplicate value web; it is also used by Deployment staging/api"
                .to_string()
        ),
        "{messages:?}"
    );
}

#[test]
fn warn_and_dryrun_findings_do_not_fail_the_gate() {
    let constraints = std::fs::read_to_string(fixtures().join("policy/constraints.yaml")).unwrap();
    // Keep only the warn (ns-need-team) and dryrun (audit-repos) constraints.
    let kept: Vec<&str> = constraints
        .split("\n---\n")
        .filter(|d| d.contains("enforcementAction"))
        .collect();
    assert_eq!(kept.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for t in ["requiredlabels-template.yaml", "allowedrepos-template.yaml"] {
        std::fs::copy(fixtures().join("policy").join(t), dir.path().join(t)).unwrap();
    }
    std::fs::copy(
        fixtures().join("workloads.yaml"),
        dir.path().join("workloads.yaml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("constraints.yaml"), kept.join("\n---\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .args(["check", ".", "--no-builtin-policies", "-o", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let severities: Vec<(String, String)> = gatekeeper_findings(&stdout)
        .into_iter()
        .map(|f| (f.0, f.1))
        .collect();
    assert_eq!(
        severities,
        vec![
            (
                "gatekeeper/K8sRequiredLabels/ns-need-team".to_string(),
                "warning".to_string()
            ),
            (
                "gatekeeper/K8sAllowedRepos/audit-repos".to_string(),
                "note".to_string()
            ),
        ],
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

#[test]
fn a_template_that_does_not_compile_is_a_tool_failure() {
    let (code, out, err) = kgate(
        &["broken"],
        &["check", "broken", "--no-builtin-policies", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}{err}");
    let got = gatekeeper_findings(&out);
    assert_eq!(got.len(), 1, "{out}");
    let (c, s, f, l, col, name, msg) = &got[0];
    // regorus reports the unclosed rule body; the position is mapped into the YAML block.
    assert_eq!(
        (c.as_str(), s.as_str(), f.as_str(), *l, *col, name.as_str()),
        (
            "gatekeeper/invalid-template",
            "error",
            "broken/template.yaml",
            15,
            33,
            "k8sbroken"
        )
    );
    assert!(msg.contains("does not compile"), "{msg}");
}

#[test]
fn verify_runs_gator_suites() {
    let (code, out, err) = kgate(&["suite"], &["verify", "suite"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("PASS required-labels.labelled-passes (suite/suite.yaml)"),
        "{out}"
    );
    assert!(
        out.contains("PASS required-labels.bare-is-denied (suite/suite.yaml)"),
        "{out}"
    );
    assert!(
        out.contains(
            "FAIL required-labels.wrong-expectation (suite/suite.yaml): expected violations: no, got 1"
        ),
        "{out}"
    );
    assert!(out.ends_with("3 tests, 2 passed, 1 failed\n"), "{out}");
}

#[test]
fn verify_takes_admission_reviews_and_opa_deprecated_builtins() {
    // The template calls `any` and `re_match` (OPA builtins regorus lacks) and exempts UPDATEs;
    // cases given as AdmissionReviews carry their operation and userInfo into input.review.
    let (code, out, err) = kgate(&["suite-review"], &["verify", "suite-review"]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            "PASS privileged-images.untrusted-create (suite-review/suite.yaml)",
            "PASS privileged-images.trusted-create (suite-review/suite.yaml)",
            "PASS privileged-images.update-is-exempt (suite-review/suite.yaml)",
            "PASS privileged-images.delete-reviews-old-object (suite-review/suite.yaml)",
            "FAIL privileged-images.review-without-object (suite-review/suite.yaml): error: the AdmissionReview request has neither an object nor an oldObject",
            "5 tests, 4 passed, 1 failed",
        ],
        "{out}"
    );
}

#[test]
fn templates_and_constraints_come_from_policy_folders_too() {
    // Only the workloads are checked; the templates and constraints are policy, given with
    // --policy as Rego folders are. The findings are the same as when they are checked objects.
    let (code, out, err) = kgate(
        &["policy", "workloads.yaml"],
        &[
            "check",
            "workloads.yaml",
            "--policy",
            "policy",
            "--no-builtin-policies",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    // A folder of Gatekeeper objects without Rego is not "a package with nothing enforced".
    assert_eq!(
        codes,
        vec![
            "gatekeeper/invalid-parameters",
            "gatekeeper/K8sRequiredLabels/ns-need-team",
            "gatekeeper/K8sUniqueLabel/unique-app",
            "gatekeeper/K8sAllowedRepos/prod-repos",
            "gatekeeper/K8sUniqueLabel/unique-app",
            "gatekeeper/K8sRequiredLabels/need-owner",
            "gatekeeper/K8sAllowedRepos/audit-repos",
        ],
        "{out}"
    );
    let findings = gatekeeper_findings(&out);
    assert_eq!(
        (findings[0].2.as_str(), findings[0].3, findings[0].4),
        ("policy/constraints.yaml", 78, 12)
    );
    assert_eq!(
        (findings[3].2.as_str(), findings[3].3, findings[3].4),
        ("workloads.yaml", 33, 18)
    );
}

#[test]
fn explain_knows_constraint_codes() {
    for code in ["gatekeeper/K8sAllowedRepos/prod-repos", "gatekeeper"] {
        let (status, out, err) = kgate(&[], &["explain", code]);
        assert_eq!(status, 0, "{code}: {out}{err}");
        assert!(
            out.contains("gatekeeper/<constraint kind>/<constraint name>"),
            "{out}"
        );
        assert!(out.contains("enforcementAction"), "{out}");
    }
    let (status, _, err) = kgate(&[], &["explain", "gatekeeper/K8sAllowedRepos"]);
    assert_eq!(status, 2, "{err}");
}

#[test]
fn opa_syntax_regorus_parses_differently_is_evaluated_as_opa_does() {
    // A set rule with two bodies and an expression opening with `(` on the line after a
    // reference: OPA (so Gatekeeper and gator) reads two rules and two expressions.
    let (code, out, err) = kgate(&["suite-opa-syntax"], &["verify", "suite-opa-syntax"]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            "PASS replica-window.wide (suite-opa-syntax/suite.yaml)",
            "PASS replica-window.narrow (suite-opa-syntax/suite.yaml)",
            "PASS replica-window.unset (suite-opa-syntax/suite.yaml)",
            "3 tests, 3 passed, 0 failed",
        ],
        "{out}"
    );
}

#[test]
fn a_suite_whose_template_does_not_compile_reports_it_once() {
    // Three cases share one broken template: one ERROR for the template (not one per case, and
    // no second finding for its constraint), and each case fails instead of vanishing.
    let (code, out, err) = kgate(&["suite-broken"], &["verify", "suite-broken"]);
    assert_eq!(code, 2, "{out}{err}");
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("ERROR")).collect();
    assert_eq!(
        errors,
        vec![
            "ERROR suite-broken/template.yaml:15:33: the Rego of template K8sBroken does not compile: expecting } (line 3 column 25 of the Rego) [gatekeeper/invalid-template]"
        ],
        "{out}"
    );
    for case in ["first", "second", "third"] {
        assert!(
            out.contains(&format!(
                "FAIL broken-template.{case} (suite-broken/suite.yaml): error: the test's template or constraint cannot be used"
            )),
            "{out}"
        );
    }
    assert!(
        out.ends_with("3 tests, 0 passed, 3 failed, 1 file could not be used (1 problem)\n"),
        "{out}"
    );
}

#[test]
fn verify_honours_gator_skip_on_tests_and_cases() {
    let (code, out, err) = kgate(&["suite", "suite-skip"], &["verify", "suite-skip"]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            "PASS required-labels.bare-is-denied (suite-skip/suite.yaml)",
            "SKIP required-labels.wrong-expectation-skipped (suite-skip/suite.yaml)",
            "SKIP not-written-yet.first (suite-skip/suite.yaml)",
            "SKIP not-written-yet.second (suite-skip/suite.yaml)",
            "4 tests, 1 passed, 0 failed, 3 skipped",
        ],
        "{err}"
    );
}

/// A repository with one ConstraintTemplate (`template_api`, parameters schema `labels: [string]`)
/// and one constraint whose `enforcementAction` is `action` and `parameters` are `params`;
/// returns the JSON report.
fn constraint_report(template_api: &str, action: &str, params: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let text = format!(
        r#"apiVersion: {template_api}
kind: ConstraintTemplate
metadata:
  name: k8srequiredlabels
spec:
  crd:
    spec:
      names:
        kind: K8sRequiredLabels
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels:
              type: array
              items: {{type: string}}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8srequiredlabels
        violation[{{"msg": msg}}] {{
          l := input.parameters.labels[_]
          not input.review.object.metadata.labels[l]
          msg := sprintf("missing label %v", [l])
        }}
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: need-team
spec:
  enforcementAction: {action}
  scopedEnforcementActions: [{{action: warn, enforcementPoints: [{{name: "*"}}]}}]
  match:
    kinds:
      - apiGroups: [""]
        kinds: ["ConfigMap"]
  parameters:
{params}
"#
    );
    std::fs::write(dir.path().join("policy.yaml"), text).unwrap();
    kgate_cli::check_json(Some(dir.path()), &["."]).1
}

fn codes_at(report: &serde_json::Value) -> Vec<(String, u64)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn constraints_of_templates_in_the_run_are_verified_once() {
    // Well formed: verified (not "no schema"), no finding.
    let ok = constraint_report("templates.gatekeeper.sh/v1", "warn", "    labels: [team]");
    assert_eq!(codes_at(&ok), [], "{ok:#}");
    assert_eq!(ok["summary"]["unchecked"], 0, "{ok:#}");
    assert_eq!(ok["summary"]["valid"], 2, "{ok:#}");
    // Parameters are the template's business (gatekeeper/invalid-parameters), reported once:
    // the constraint's schema does not repeat them.
    let bad = constraint_report(
        "templates.gatekeeper.sh/v1",
        "warn",
        "    labels: team\n    extra: 1",
    );
    let codes = codes_at(&bad);
    assert!(
        codes
            .iter()
            .all(|(c, _)| c == "gatekeeper/invalid-parameters"),
        "{codes:?}"
    );
    assert!(!codes.is_empty(), "{codes:?}");
    // The constraint's own fields are checked: enforcementAction is a string.
    let wrong = constraint_report("templates.gatekeeper.sh/v1", "[deny]", "    labels: [team]");
    assert_eq!(
        codes_at(&wrong),
        [("schema/wrong-type".to_string(), 32)],
        "{wrong:#}"
    );
}

#[test]
fn constraints_checked_as_objects_are_verified_by_templates_of_policy_folders() {
    // The constraints are checked objects; their templates come only from --policy.
    let (_, out, err) = kgate(
        &["policy"],
        &[
            "check",
            "policy/constraints.yaml",
            "--policy",
            "policy",
            "--no-builtin-policies",
            "-o",
            "json",
        ],
    );
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(report["summary"]["resources"], 6, "{out}");
    assert_eq!(report["summary"]["unchecked"], 0, "{out}");
    assert!(
        !out.contains("schema/missing"),
        "every constraint kind has its template's schema: {out}"
    );
    // Without the templates the kinds are unknown: not verified, as before.
    let (_, out, _) = kgate(
        &["policy"],
        &[
            "check",
            "policy/constraints.yaml",
            "--no-builtin-policies",
            "-o",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["summary"]["unchecked"], 6, "{out}");
}
