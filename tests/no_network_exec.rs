//! kgate never executes anything from the repository and never opens a network connection.
//!
//! Exec: kustomizations that name exec KRM-function generators/transformers/validators, legacy
//! exec plugins and `helmCharts` are findings (`render/unsupported`), and the plugin — a script
//! that would create a marker file — never runs.
//!
//! Network: where `unshare -rn` works (a user + network namespace whose only interface is a
//! downed loopback; it does in the development sandbox), check, check --base and diff run inside
//! it and must behave as outside. Where
//! it does not (containers that forbid user namespaces), the proof is a local TCP listener set as
//! `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` and as every git remote: it must never receive a
//! connection during a full `check`, `check --base` and `diff` run. Both variants always run
//! the proxy check; the namespace run is added when available.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

fn exec_repo() -> Repo {
    let repo = Repo::new();
    let marker = repo.path().join("MARKER");
    let script = format!("#!/bin/sh\ntouch '{}'\ncat\n", marker.display());
    repo.write("plugins/run.sh", &script);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = repo.path().join("plugins/run.sh");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let function = format!(
        "apiVersion: example.com/v1\nkind: Runner\nmetadata:\n  name: run\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: {}\n",
        repo.path().join("plugins/run.sh").display()
    );
    repo.write("app/gen.yaml", &function);
    repo.write("app/tr.yaml", &function);
    repo.write("app/val.yaml", &function);
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: x\ndata:\n  a: b\n",
    );
    repo.write(
        "app/kustomization.yaml",
        "resources:\n- cm.yaml\ngenerators:\n- gen.yaml\ntransformers:\n- tr.yaml\nvalidators:\n- val.yaml\nhelmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n  version: 6.0.0\n",
    );
    repo.write("schemas/runner-v1.json", "{\"type\": \"object\"}\n");
    repo
}

fn codes_at(out: &Output) -> Vec<(String, String, u64, String)> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn exec_plugins_and_helm_charts_are_reported_never_run() {
    let repo = exec_repo();
    repo.commit("base");
    let out = repo.kgate(&["check", ".", "-o", "json"]);
    let f = codes_at(&out);
    // A plugin is reported at its configuration's `kind:` (which names the plugin kgate does
    // not run); a field kgate does not handle at all, at the field.
    for (file, line, what) in [
        ("app/gen.yaml", 2, "generator plugin Runner"),
        ("app/tr.yaml", 2, "transformer plugin Runner"),
        ("app/kustomization.yaml", 7, "validators"),
        // A helmCharts entry whose chart is not in the chart home (kgate never pulls).
        (
            "app/kustomization.yaml",
            10,
            "helm chart `podinfo` 6.0.0 is not in chartHome",
        ),
    ] {
        assert!(
            f.iter().any(|(c, at, l, m)| c == "render/unsupported"
                && at == file
                && *l == line
                && m.contains(what)),
            "no render/unsupported for {what} at {file}:{line}: {f:#?}"
        );
    }
    let out = repo.kgate(&["render", "app"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("render/unsupported"));
    let head = repo.commit("head");
    repo.kgate(&["check", "--base", &head, "-o", "json"]);
    repo.kgate(&["diff", "--base", &head]);
    assert!(
        !repo.path().join("MARKER").exists(),
        "the exec plugin ran: kgate executed code from the repository"
    );
}

/// Runs kgate with every proxy variable (and git's) pointing at `proxy`.
fn kgate_via_proxy(dir: &Path, proxy: &str, args: &[&str]) -> Output {
    kgate_command(dir, args)
        .env("HTTP_PROXY", proxy)
        .env("HTTPS_PROXY", proxy)
        .env("ALL_PROXY", proxy)
        .env("http_proxy", proxy)
        .env("https_proxy", proxy)
        .env("all_proxy", proxy)
        .output()
        .unwrap()
}

#[test]
fn no_network_connection_during_check_and_diff() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let repo = exec_repo();
    // A remote kustomize base and a git remote that point at the listener as well.
    repo.write(
        "remote/kustomization.yaml",
        &format!("resources:\n- {proxy}/base\n- github.com/example/repo//deploy?ref=v1\n"),
    );
    let base = repo.commit("base");
    repo.git(&["remote", "add", "origin", &proxy]);
    repo.write(
        "app/more.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\n  namespace: x\n",
    );
    let dir = repo.path();
    let runs: Vec<Vec<&str>> = vec![
        vec![
            "check",
            ".",
            "-o",
            "json",
            "--schema-location",
            "schemas/{{ .ResourceKind }}-{{ .ResourceAPIVersion }}.json",
        ],
        vec!["check", "--base", &base, "-o", "json"],
        vec!["diff", "--base", &base, "--format", "json"],
        vec!["render", "remote"],
    ];
    for args in &runs {
        let out = kgate_via_proxy(dir, &proxy, args);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A remote schema location is refused, not fetched.
    let out = kgate_via_proxy(
        dir,
        &proxy,
        &[
            "check",
            ".",
            "--schema-location",
            &format!("{proxy}/schemas"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("offline"));
    std::thread::sleep(Duration::from_millis(50));
    match listener.accept() {
        Ok((_, peer)) => panic!("kgate connected to the network (from {peer})"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
    }
    assert!(!dir.join("MARKER").exists());
}

#[test]
fn inside_a_network_namespace_without_network_kgate_works_the_same() {
    let available = Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        // Documented above: the proxy test is the proof where namespaces are not allowed.
        eprintln!("unshare -rn is not permitted here; relying on the proxy listener test");
        return;
    }
    let repo = exec_repo();
    let base = repo.commit("base");
    repo.write(
        "app/more.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\n  namespace: x\n",
    );
    let netns = |args: &[&str]| {
        Command::new("unshare")
            .arg("-rn")
            .arg(env!("CARGO_BIN_EXE_kgate"))
            .args(args)
            .current_dir(repo.path())
            .env_remove("GITHUB_BASE_REF")
            .env_remove("GITHUB_EVENT_PATH")
            .env_remove("CI_MERGE_REQUEST_DIFF_BASE_SHA")
            .output()
            .unwrap()
    };
    let out = netns(&[
        "check",
        ".",
        "-o",
        "json",
        "--schema-location",
        "schemas/{{ .ResourceKind }}-{{ .ResourceAPIVersion }}.json",
    ]);
    // Warnings only (render/unsupported): exit 0, as outside the namespace.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(codes_at(&out)
        .iter()
        .any(|(c, _, _, _)| c == "render/unsupported"));
    let out = netns(&["check", "--base", &base, "-o", "json"]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = netns(&["diff", "--base", &base]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = netns(&[
        "check",
        ".",
        "--schema-location",
        "https://example.com/schemas",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("offline"));
    assert!(!repo.path().join("MARKER").exists());
}
