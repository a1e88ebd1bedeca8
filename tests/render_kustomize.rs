//! Differential test of kgate's kustomize against `kubectl kustomize` (kustomize v5.8.1): every
//! kustomization under `tests/render/kustomize/<case>/` (components excepted: kustomize cannot
//! build them alone) is rendered by kgate and compared, as parsed data and in output order, with
//!
//! - the committed golden output `tests/render/kustomize-golden/<case>/<dir>.yaml`, generated
//!   from the oracle (or `<dir>.error` holding kustomize's error when kustomize refuses the
//!   build: kgate must then report an error too), so the test runs without the oracle;
//! - `kubectl kustomize <dir>` itself when the oracle is installed (`$KGATE_ORACLE_VENV`, else
//!   `/opt/oracles`), which also proves the goldens are current. Without it that half is skipped
//!   with a printed reason.
//!
//! `KGATE_UPDATE_GOLDEN=1` rewrites the goldens from the oracle.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/yaml_docs.rs"]
mod yaml_docs;
use yaml_docs::yaml_docs;

use kgate::diagnostic::Severity;
use kgate::render::{render_dir, RenderOptions};
use kgate::source::Files;
use kgate::vfs::DiskFs;
use serde_json::Value;

const CASES: &str = "tests/render/kustomize";
const GOLDEN: &str = "tests/render/kustomize-golden";

fn oracle() -> Result<PathBuf, String> {
    let venv = std::env::var("KGATE_ORACLE_VENV").unwrap_or_else(|_| "/opt/oracles".into());
    let kubectl = Path::new(&venv).join("bin/kubectl");
    if kubectl.is_file() {
        Ok(kubectl)
    } else {
        Err(format!(
            "{} is not installed (set KGATE_ORACLE_VENV)",
            kubectl.display()
        ))
    }
}

/// Every kustomization folder of a case (relative to the case), components left out.
fn roots(case: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![case.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "kustomization.yaml") {
                let text = std::fs::read_to_string(&p).unwrap();
                if !text.lines().any(|l| l.trim() == "kind: Component") {
                    let rel = dir
                        .strip_prefix(case)
                        .unwrap()
                        .to_string_lossy()
                        .to_string();
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    out
}

/// kgate's objects in output order, or its error findings.
fn kgate(case: &Path, dir: &str) -> Result<Vec<Value>, Vec<String>> {
    let files = Files::new();
    let vfs = DiskFs::new(case);
    let r = render_dir(&vfs, &files, dir, &RenderOptions::default());
    let errors: Vec<String> = r
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: [{}] {}", d.file, d.code, d.message))
        .collect();
    if errors.is_empty() {
        Ok(r.manifests.iter().map(|m| m.json.clone()).collect())
    } else {
        Err(errors)
    }
}

/// kustomize's objects, or its error message.
fn kustomize(kubectl: &Path, dir: &Path) -> Result<String, String> {
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir)
        .env("KUSTOMIZE_PLUGIN_HOME", "/nonexistent")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        // Absolute paths would make the golden depend on the checkout's location.
        let root = std::fs::canonicalize(".").unwrap();
        Err(err.replace(&format!("{}/", root.display()), ""))
    }
}

fn golden_path(case: &str, dir: &str, ext: &str) -> PathBuf {
    let name = if dir.is_empty() {
        "root".to_string()
    } else {
        dir.replace('/', "__")
    };
    Path::new(GOLDEN).join(case).join(format!("{name}.{ext}"))
}

fn compare(
    what: &str,
    expected: Result<Vec<Value>, String>,
    actual: &Result<Vec<Value>, Vec<String>>,
) -> Option<String> {
    match (expected, actual) {
        (Ok(e), Ok(a)) if &e == a => None,
        (Ok(e), Ok(a)) => Some(format!(
            "{what}: objects differ\n--- expected\n{}\n--- kgate\n{}",
            serde_json::to_string_pretty(&e).unwrap(),
            serde_json::to_string_pretty(a).unwrap()
        )),
        (Ok(_), Err(errors)) => Some(format!(
            "{what}: kustomize builds it, kgate reports errors: {errors:#?}"
        )),
        (Err(msg), Ok(_)) => Some(format!(
            "{what}: kustomize fails ({}), kgate reports no error",
            msg.trim()
        )),
        (Err(_), Err(_)) => None,
    }
}

#[test]
fn every_fixture_kustomization_renders_as_kubectl_kustomize() {
    let oracle = oracle();
    let update = std::env::var_os("KGATE_UPDATE_GOLDEN").is_some();
    if let Err(why) = &oracle {
        println!("comparing with the committed goldens only: {why}");
    }
    let mut cases: Vec<_> = std::fs::read_dir(CASES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut expected_goldens = std::collections::BTreeSet::new();
    for case in &cases {
        let case_dir = Path::new(CASES).join(case);
        for dir in roots(&case_dir) {
            let what = format!("{case}/{dir}");
            let actual = kgate(&case_dir, &dir);
            let yaml = golden_path(case, &dir, "yaml");
            let error = golden_path(case, &dir, "error");
            if let Ok(kubectl) = &oracle {
                let live = kustomize(kubectl, &case_dir.join(&dir));
                if update {
                    std::fs::create_dir_all(yaml.parent().unwrap()).unwrap();
                    let _ = std::fs::remove_file(&yaml);
                    let _ = std::fs::remove_file(&error);
                    match &live {
                        Ok(text) => std::fs::write(&yaml, text).unwrap(),
                        Err(msg) => std::fs::write(&error, msg).unwrap(),
                    }
                }
                let live = live.map(|t| yaml_docs(&t));
                failures.extend(compare(
                    &format!("{what} (kubectl kustomize)"),
                    live,
                    &actual,
                ));
            }
            let golden = if yaml.is_file() {
                expected_goldens.insert(yaml.clone());
                Ok(yaml_docs(&std::fs::read_to_string(&yaml).unwrap()))
            } else if error.is_file() {
                expected_goldens.insert(error.clone());
                Err(std::fs::read_to_string(&error).unwrap())
            } else {
                failures.push(format!(
                    "{what}: no golden ({} or {}); run with KGATE_UPDATE_GOLDEN=1 and the oracle",
                    yaml.display(),
                    error.display()
                ));
                continue;
            };
            failures.extend(compare(&format!("{what} (golden)"), golden, &actual));
            compared += 1;
        }
    }
    // A golden whose kustomization is gone would silently stop being compared.
    for case in std::fs::read_dir(GOLDEN).unwrap() {
        for f in std::fs::read_dir(case.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if !expected_goldens.contains(&p) {
                failures.push(format!("stale golden {}", p.display()));
            }
        }
    }
    assert!(compared >= 20, "only {compared} kustomizations compared");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
