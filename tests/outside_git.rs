//! A folder in no git repository, checked by its absolute path from elsewhere (an exported
//! tarball, a corpus): Flux `spec.path`s are relative to the checked folder, as they are to the
//! source's root in the cluster. Regression: the tree was the whole file system, and a Flux
//! Kustomization with `path: ./` walked it (the run never ended).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn write(root: &std::path::Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn flux(name: &str, path: &str, target: &str) -> String {
    format!(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n{target}  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )
}

/// `kgate check -o json ROOT` run from `cwd`, under a 60 s deadline.
fn run_elsewhere(root: &std::path::Path, cwd: &std::path::Path) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .args(["check", "-o", "json", "--no-builtin-policies"])
        .arg(root)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("kgate did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn flux_paths_resolve_in_the_checked_folder_and_never_walk_the_file_system() {
    let repo = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let root = repo.path();
    // The bootstrap Kustomization applies the whole repository (`path: ./`), another one a
    // folder with its own target namespace.
    write(
        root,
        "clusters/prod/flux-system.yaml",
        &[
            flux("flux-system", "./", ""),
            flux("apps", "./apps", "  targetNamespace: shop\n"),
        ]
        .concat(),
    );
    write(
        root,
        "apps/web.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\nbogus: 1\n",
    );
    let out = run_elsewhere(root, elsewhere.path());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<(&str, &str, &str)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap(),
                d["file"].as_str().unwrap(),
                d["rendered_for"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // Found once (both units build the file), never raw.
    assert_eq!(found.len(), 1, "{v:#}");
    let (code, file, unit) = found[0];
    assert_eq!(code, "schema/unknown-field");
    assert!(file.ends_with("apps/web.yaml"), "{file}");
    assert!(unit.contains("flux-system/apps ("), "{v:#}");
    // `./apps` is the checked folder's: the unit gives its objects its target namespace.
    assert!(
        v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "web" && r["namespace"] == "shop"),
        "{v:#}"
    );
}

#[test]
fn argo_cd_folder_sources_resolve_in_the_checked_folder_too() {
    let repo = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let root = repo.path();
    // An Application of the whole repository (`path: .`, recursive): its folder is the checked
    // folder, not the file system.
    write(
        root,
        "argocd/app.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: all\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://example.com/repo.git\n    path: .\n    directory:\n      recurse: true\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: shop\n",
    );
    write(
        root,
        "apps/web.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\nbogus: 1\n",
    );
    let out = run_elsewhere(root, elsewhere.path());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unknown: Vec<&Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "schema/unknown-field")
        .collect();
    assert_eq!(unknown.len(), 1, "{v:#}");
    assert!(
        unknown[0]["rendered_for"]
            .as_str()
            .is_some_and(|u| u.contains("Application")),
        "{v:#}"
    );
}
