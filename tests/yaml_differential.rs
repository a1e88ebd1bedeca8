//! Differential test of the YAML loader against go-yaml, the reader of kubectl, kustomize and
//! Flux: every document of `tests/yaml/go-yaml/*.yaml` must load in kgate with the value go-yaml
//! gives it, and a file go-yaml rejects must be a syntax error in kgate too.
//!
//! The expected values (`NAME.json`) were produced by the reference implementation through
//! `tools/yaml-oracle/goldens.py` (`kubectl kustomize` over a kustomization whose only resource is
//! the file). When the oracle is installed (`$KGATE_ORACLE_VENV/bin/kubectl`, default
//! `/opt/oracles`), the test also runs it live, so a stale golden cannot hide a difference.
//!
//! Scalars that YAML 1.1 and 1.2 resolve differently (`y`, `on`, `0755`) are left out on purpose:
//! kustomize reads them with go-yaml v3, while kubectl apply and the API server read them with
//! go-yaml v2, whose YAML 1.1 rules kgate follows (`yaml::tests::yaml_1_1_scalars_resolve_as_kubernetes_does`).

use std::path::{Path, PathBuf};
use std::process::Command;

use kgate::source::SourceFile;
use kgate::yaml::{parse_stream, Limits, YamlProblem};
use serde_json::Value;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml/go-yaml");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus lost files: {}", files.len());
    files
}

/// What kgate's loader makes of a file: the documents as JSON, or `Err` with the syntax problems.
fn kgate_reads(text: &str) -> Result<Vec<Value>, Vec<String>> {
    let file = SourceFile::new("input.yaml", text);
    let stream = parse_stream(&file, &Limits::default());
    let syntax: Vec<String> = stream
        .problems
        .iter()
        .filter_map(|p| match p {
            YamlProblem::Syntax { message, span } => {
                Some(format!("{}:{}: {message}", span.line, span.col))
            }
            // go-yaml v3 (kustomize) refuses a repeated key, as kgate does with its own code.
            YamlProblem::DuplicateKey { key, second, .. } => Some(format!(
                "{}:{}: duplicate key {key}",
                second.line, second.col
            )),
            YamlProblem::Limit { .. } => None,
        })
        .collect();
    if !syntax.is_empty() {
        return Err(syntax);
    }
    Ok(stream
        .documents
        .iter()
        .filter_map(|d| d.root.as_ref().map(|r| r.to_json()))
        .collect())
}

fn golden(path: &Path) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(path.with_extension("json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    if v.get("error").is_some() {
        return None;
    }
    Some(v["documents"].as_array().unwrap().clone())
}

/// The difference between go-yaml's reading and kgate's, if any. kustomize's output reorders
/// keys; JSON objects compare as maps, so only the values matter.
fn difference(
    name: &str,
    what: &str,
    expected: &Option<Vec<Value>>,
    got: &Result<Vec<Value>, Vec<String>>,
) -> Option<String> {
    match (expected, got) {
        (Some(e), Ok(g)) if e == g => None,
        (Some(e), Ok(g)) => Some(format!("{name}: {what} reads {e:?}\n  kgate reads {g:?}")),
        (None, Err(_)) => None,
        (Some(_), Err(problems)) => Some(format!(
            "{name}: {what} accepts it, kgate reports {problems:?}"
        )),
        (None, Ok(g)) => Some(format!("{name}: {what} rejects it, kgate reads {g:?}")),
    }
}

fn assert_no_differences(differences: Vec<String>) {
    assert!(
        differences.is_empty(),
        "{} files differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn the_loader_reads_every_file_as_the_goldens_say_go_yaml_does() {
    let mut differences = Vec::new();
    for path in corpus() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        differences.extend(difference(
            &name,
            "go-yaml (golden)",
            &golden(&path),
            &kgate_reads(&text),
        ));
    }
    assert_no_differences(differences);
}

fn oracle() -> Option<PathBuf> {
    let venv = std::env::var_os("KGATE_ORACLE_VENV").unwrap_or_else(|| "/opt/oracles".into());
    let kubectl = Path::new(&venv).join("bin/kubectl");
    kubectl.is_file().then_some(kubectl)
}

#[test]
fn the_loader_agrees_with_kubectl_kustomize_live() {
    let Some(kubectl) = oracle() else {
        eprintln!(
            "skipped: kubectl (kustomize) not installed; set KGATE_ORACLE_VENV (see .ci/run)"
        );
        return;
    };
    let mut differences = Vec::new();
    for path in corpus() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&path, dir.path().join("input.yaml")).unwrap();
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "resources:\n- input.yaml\n",
        )
        .unwrap();
        let out = Command::new(&kubectl)
            .arg("kustomize")
            .arg(dir.path())
            .output()
            .unwrap();
        let expected = out.status.success().then(|| {
            // kustomize's output is plain block YAML with ambiguous strings quoted: any YAML
            // reader gives the same values, kgate's included.
            kgate_reads(&String::from_utf8(out.stdout).unwrap()).expect("kustomize output parses")
        });
        let text = std::fs::read_to_string(&path).unwrap();
        differences.extend(difference(
            &name,
            "kubectl kustomize",
            &expected,
            &kgate_reads(&text),
        ));
        if expected != golden(&path) {
            differences.push(format!(
                "{name}: the golden is stale: run tools/yaml-oracle/goldens.py"
            ));
        }
    }
    assert_no_differences(differences);
}
