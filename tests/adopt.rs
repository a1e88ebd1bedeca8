//! Issue 16 (adoption): the flags users know from kubectl/kubeconform, `--fail-on none`,
//! `--quiet`, the per-code tally, config code typos, empty CI variables, predictable
//! merge-request mode (`--base auto`, `--no-base`, the MR that adopts kgate), `diff
//! --exit-code` and `render` with several paths, `-o FILE` and `--show-secrets`.

#[path = "common/git_repo.rs"]
mod git_repo;

use git_repo::{kgate_command, kgate_in, stdout, Repo};
use serde_json::Value;

/// One error (`schema/unknown-field`) and one warning (`schema/missing`).
const MIXED: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
bogus: 1
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  namespace: shop
";

fn mixed_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.yaml"), MIXED).unwrap();
    dir
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn output_names_the_format_as_in_kubectl_and_format_stays_an_alias() {
    let dir = mixed_dir();
    for flag in ["-o", "--output", "--format"] {
        let o = kgate_in(dir.path(), &["check", ".", flag, "json"]);
        assert_eq!(o.status.code(), Some(1), "{flag}: {}", stderr(&o));
        assert_eq!(json(&stdout(&o))["summary"]["errors"], 1, "{flag}");
    }
    // -o FORMAT=FILE and --output-file FILE.
    let out = tempfile::tempdir().unwrap();
    let a = out.path().join("a.json");
    let b = out.path().join("b.sarif");
    let o = kgate_in(
        dir.path(),
        &[
            "check",
            ".",
            "-o",
            &format!("json={}", a.display()),
            "-o",
            "sarif",
            "--output-file",
            b.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(
        json(&std::fs::read_to_string(&a).unwrap())["summary"]["warnings"],
        1
    );
    assert_eq!(
        json(&std::fs::read_to_string(&b).unwrap())["version"],
        "2.1.0"
    );
    // The old `--format json --output FILE` still writes the file, with a note.
    let c = out.path().join("c.json");
    let o = kgate_in(
        dir.path(),
        &[
            "check",
            ".",
            "--format",
            "json",
            "--output",
            c.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("use --output-file"), "{}", stderr(&o));
    assert!(c.is_file());
    // A bare word that is no format is still a usage error.
    let o = kgate_in(dir.path(), &["check", ".", "-o", "yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown format `yaml`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn fail_on_none_reports_without_failing() {
    let dir = mixed_dir();
    let o = kgate_in(
        dir.path(),
        &["check", ".", "--fail-on", "none", "-o", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&stdout(&o))["summary"]["errors"], 1);
    let o = kgate_in(dir.path(), &["check", ".", "--fail-on", "warning"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn quiet_prints_errors_and_the_summary_with_a_tally_per_code() {
    let dir = mixed_dir();
    let o = kgate_in(dir.path(), &["check", ".", "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("schema/unknown-field"), "{out}");
    assert!(!out.contains("no schema"), "the warning is left out: {out}");
    assert!(
        out.contains("by code: schema/missing 1, schema/unknown-field 1\n"),
        "{out}"
    );
    assert!(
        out.trim_end()
            .ends_with("1 error, 1 warning, 1 not verified (schema/missing: 1)"),
        "{out}"
    );
    // Without --quiet the warning is shown and the tally is the same.
    let out = stdout(&kgate_in(dir.path(), &["check", "."]));
    assert!(out.contains("schema/missing"), "{out}");
    assert!(out.contains("by code: schema/missing 1, schema/unknown-field 1"));
}

#[test]
fn an_empty_kubernetes_version_variable_is_unset() {
    let dir = mixed_dir();
    let o = kgate_command(dir.path(), &["check", ".", "-o", "json"])
        .env("KGATE_KUBERNETES_VERSION", "")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&stdout(&o));
    assert!(!v["kubernetesVersion"].as_str().unwrap_or("").is_empty());
}

#[test]
fn a_misspelt_code_in_the_config_is_an_error_with_did_you_mean() {
    let dir = mixed_dir();
    std::fs::write(
        dir.path().join(".kgate.yaml"),
        "severity:\n  schema/unknown-feild: warning\n",
    )
    .unwrap();
    let o = kgate_in(dir.path(), &["check", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `schema/unknown-field`?"),
        "{}",
        stderr(&o)
    );
    std::fs::write(
        dir.path().join(".kgate.yaml"),
        "exceptions:\n  - code: schema/unknown-field\n    reason: legacy\n",
    )
    .unwrap();
    let o = kgate_in(dir.path(), &["check", "."]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

const CM: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
";

/// A repository whose base has one unknown field (pre-existing) and whose working tree adds
/// nothing new.
fn repo_with_debt() -> (Repo, String) {
    let r = Repo::new();
    r.write("apps/cm.yaml", &format!("{CM}bogus: 1\n"));
    let base = r.commit("base");
    r.write("apps/other.yaml", &CM.replace("settings", "other"));
    (r, base)
}

#[test]
fn check_switches_to_merge_request_mode_only_when_asked() {
    let (r, base) = repo_with_debt();
    // A PR job's environment alone does not make a plain `check` compare with a base.
    let o = kgate_command(r.path(), &["check", ".", "-o", "json"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_BASE_REF", "main")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json(&stdout(&o))["summary"]["pre_existing"], 0);
    // `--base auto` asks for it: the base comes from the CI's variables. The MR touches only
    // apps/other.yaml: the base's debt in apps/cm.yaml is not even looked at…
    let o = kgate_command(r.path(), &["check", ".", "--base", "auto", "-o", "json"])
        .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", &base)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&stdout(&o))["summary"]["pre_existing"], 0);
    // …unless --all asks for every unit, where it is found and marked pre-existing.
    let o = kgate_command(
        r.path(),
        &["check", ".", "--base", "auto", "--all", "-o", "json"],
    )
    .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", &base)
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&stdout(&o))["summary"]["pre_existing"], 1);
    // Outside a merge-request job `--base auto` checks every file, and says so.
    let o = kgate_in(r.path(), &["check", ".", "--base", "auto"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no merge-request CI job"),
        "{}",
        stderr(&o)
    );
    // --no-base turns merge-request mode off, and conflicts with --base.
    let o = kgate_in(r.path(), &["check", ".", "--no-base"]);
    assert_eq!(o.status.code(), Some(1));
    let o = kgate_in(r.path(), &["check", ".", "--no-base", "--base", "main"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_merge_request_that_adopts_kgate_uses_its_own_gate_files() {
    let r = Repo::new();
    r.write("apps/cm.yaml", CM);
    let base = r.commit("before kgate");
    r.write(
        ".kgate.yaml",
        "policies: [policy]\nbuiltin_policies: false\n",
    );
    r.write(
        "policy/deny.rego",
        "package main\n\ndeny contains msg if {\n\tinput.kind == \"ConfigMap\"\n\t\
         msg := \"no ConfigMaps\"\n}\n",
    );
    // A new object: its finding is the MR's own (the unchanged one is pre-existing).
    r.write("apps/new.yaml", &CM.replace("settings", "new"));
    r.commit("adopt kgate");
    let o = kgate_in(r.path(), &["check", ".", "--base", &base, "-o", "json"]);
    // The head's policy judges the MR (exit 1 for its finding), not exit 2.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&stdout(&o));
    let findings = v["diagnostics"].as_array().unwrap();
    assert!(
        findings.iter().any(|d| d["code"] == "policy/main.deny"),
        "{v:#}"
    );
    let changed = findings
        .iter()
        .find(|d| d["code"] == "gate/policy-changed")
        .unwrap_or_else(|| panic!("{v:#}"));
    let help = changed["help"].as_str().unwrap();
    // The head's config names the policy folder, read from the head as well.
    assert!(
        help.contains("the base revision has no gate config (.kgate.yaml)"),
        "{help}"
    );
}

#[test]
fn diff_exit_code_is_one_when_the_plan_has_changes() {
    let r = Repo::new();
    r.write("apps/cm.yaml", CM);
    r.commit("base");
    let o = kgate_in(r.path(), &["diff", "--base", "main", "--exit-code"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    r.write("apps/cm.yaml", &CM.replace("fast", "slow"));
    let o = kgate_in(
        r.path(),
        &["diff", "--base", "main", "--exit-code", "-o", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        json(&stdout(&o))["units"][0]["changes"][0]["action"],
        "update"
    );
    // Without --exit-code a plan is no failure.
    let o = kgate_in(r.path(), &["diff", "--base", "main"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn render_takes_several_paths_an_output_file_and_shows_secrets_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("a")).unwrap();
    std::fs::create_dir_all(d.join("b")).unwrap();
    std::fs::write(d.join("a/kustomization.yaml"), "resources: [cm.yaml]\n").unwrap();
    std::fs::write(d.join("a/cm.yaml"), CM).unwrap();
    std::fs::write(d.join("b/kustomization.yaml"), "resources: [secret.yaml]\n").unwrap();
    std::fs::write(
        d.join("b/secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n\
         stringData:\n  password: hunter2-very-secret\n",
    )
    .unwrap();
    let o = kgate_in(d, &["render", "a", "b"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("name: settings") && out.contains("name: db"),
        "{out}"
    );
    assert!(out.contains("---\n"), "{out}");
    assert!(!out.contains("hunter2"), "{out}");
    assert!(out.contains("[REDACTED]"), "{out}");
    let file = d.join("out.yaml");
    let o = kgate_in(
        d,
        &[
            "render",
            "b",
            "--show-secrets",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("hunter2-very-secret"), "{text}");
    // --help says that values are masked by default.
    let help = stdout(&kgate_in(d, &["render", "--help"]));
    assert!(help.contains("[REDACTED]"), "{help}");
}
