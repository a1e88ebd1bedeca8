//! `check --changed` / `--files-from` on the real binary: a changed base or patch reports the
//! overlays that read it (as CI would), a changed loose file only itself, a changed gate file
//! everything; names come from arguments (pre-commit), a file or stdin (`git diff --name-only`),
//! relative to the repository root or to the current folder.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

/// A base used by two overlays; the prod overlay's patch breaks a field type; an unrelated
/// loose file has its own error.
fn repo() -> Repo {
    let repo = Repo::new();
    repo.write(
        "base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deploy.yaml\n",
    );
    repo.write(
        "base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27.0\n",
    );
    repo.write(
        "overlays/prod/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\npatches:\n  - path: patch.yaml\n",
    );
    repo.write(
        "overlays/prod/patch.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: web\nspec:\n  replicas: lots\n",
    );
    repo.write(
        "overlays/staging/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n",
    );
    repo.write(
        "loose/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: web\n  labelz: {}\n",
    );
    repo.write(
        "loose/fine.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: web\n",
    );
    repo
}

fn run(repo: &Repo, sub: &str, args: &[&str], stdin: Option<&str>) -> (i32, Value) {
    let mut all = vec!["check", "--format", "json", "--no-builtin-policies"];
    all.extend_from_slice(args);
    let mut cmd = kgate_command(&repo.path().join(sub), &all);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

/// (code, file, rendered_for) of every error.
fn errors(v: &Value) -> Vec<(String, String, String)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["rendered_for"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn files(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = errors(v).into_iter().map(|(_, f, _)| f).collect();
    f.sort();
    f.dedup();
    f
}

#[test]
fn the_whole_repository_has_two_problems() {
    let repo = repo();
    let (code, v) = run(&repo, "", &["."], None);
    assert_eq!(code, 1);
    assert_eq!(
        files(&v),
        ["loose/broken.yaml", "overlays/prod/patch.yaml"],
        "{v:#}"
    );
}

#[test]
fn a_changed_patch_or_base_reports_the_overlays_that_read_it() {
    let repo = repo();
    for changed in [
        "overlays/prod/patch.yaml",
        "base/deploy.yaml",
        "overlays/prod/kustomization.yaml",
    ] {
        let (code, v) = run(&repo, "", &["--changed", changed], None);
        assert_eq!(code, 1, "{changed}: {v:#}");
        assert_eq!(files(&v), ["overlays/prod/patch.yaml"], "{changed}: {v:#}");
    }
    // The staging overlay reads the base but not the broken patch.
    let (code, v) = run(
        &repo,
        "",
        &["--changed", "overlays/staging/kustomization.yaml"],
        None,
    );
    assert_eq!(code, 0, "{v:#}");
}

#[test]
fn a_changed_loose_file_reports_only_itself() {
    let repo = repo();
    let (code, v) = run(&repo, "", &["--changed", "loose/fine.yaml"], None);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["errors"], 0);
    let (code, v) = run(
        &repo,
        "",
        &["--changed", "loose/fine.yaml", "loose/broken.yaml"],
        None,
    );
    assert_eq!(code, 1);
    assert_eq!(files(&v), ["loose/broken.yaml"]);
    assert_eq!(v["summary"]["errors"], errors(&v).len());
}

#[test]
fn files_from_reads_a_list_from_stdin_or_a_file() {
    let repo = repo();
    let (code, v) = run(
        &repo,
        "",
        &["--files-from", "-"],
        Some("overlays/prod/patch.yaml\nREADME.md\ndeleted/gone.yaml\n"),
    );
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(files(&v), ["overlays/prod/patch.yaml"]);
    repo.write("changed.txt", "loose/fine.yaml\0");
    let (code, _) = run(&repo, "", &["--files-from", "changed.txt"], None);
    assert_eq!(code, 0);
}

#[test]
fn names_work_from_a_subfolder() {
    let repo = repo();
    // Relative to the current folder (typed by hand) or to the repository (git's output).
    for name in ["prod/patch.yaml", "overlays/prod/patch.yaml"] {
        let (code, v) = run(&repo, "overlays", &["--changed", name], None);
        assert_eq!(code, 1, "{name}: {v:#}");
        assert_eq!(files(&v), ["../overlays/prod/patch.yaml"], "{name}");
    }
}

#[test]
fn a_changed_gate_file_reports_everything() {
    let repo = repo();
    repo.write(".kgate.yaml", "strict: true\n");
    let (code, v) = run(&repo, "", &["--changed", ".kgate.yaml"], None);
    assert_eq!(code, 1);
    assert_eq!(
        files(&v),
        ["loose/broken.yaml", "overlays/prod/patch.yaml"],
        "{v:#}"
    );
}

#[test]
fn changed_and_base_do_not_mix() {
    let repo = repo();
    let base = repo.commit("base");
    let out = repo.kgate(&["check", "--changed", "loose/fine.yaml", "--base", &base]);
    assert_eq!(out.status.code(), Some(2));
}

/// A HelmRelease's chart objects concern a change to the release file or to any file of its
/// chart (a helper, the chart's values), not an unrelated change.
#[test]
fn chart_files_and_releases_concern_the_release_objects() {
    let repo = repo();
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    repo.write("charts/app/values.yaml", "replicas: many\n");
    repo.write(
        "charts/app/templates/_helpers.tpl",
        "{{- define \"app.name\" -}}{{ .Release.Name }}{{- end }}\n",
    );
    repo.write(
        "charts/app/templates/cm.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"app.name\" . }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers:\n        - name: x\n          image: nginx:1.27.0\n",
    );
    repo.write(
        "releases/app.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: web\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/app\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n",
    );
    for changed in [
        "charts/app/templates/_helpers.tpl",
        "charts/app/values.yaml",
        "releases/app.yaml",
    ] {
        let (code, v) = run(&repo, "", &["--changed", changed], None);
        assert_eq!(code, 1, "{changed}: {v:#}");
        assert_eq!(
            files(&v),
            ["charts/app/templates/cm.yaml"],
            "{changed}: {v:#}"
        );
    }
    let (code, v) = run(&repo, "", &["--changed", "loose/fine.yaml"], None);
    assert_eq!(code, 0, "{v:#}");
}
