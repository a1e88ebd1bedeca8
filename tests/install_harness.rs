//! The CI install steps as shipped, run for real: a locally built release archive (packaged by
//! `ci/package.sh`, as the release workflow does) is served over HTTP on 127.0.0.1, and the
//! Action's install step and the GitLab template's script run against it with the variables
//! GitHub and GitLab set (empty variables included). Unix only: the scripts are bash/sh.
#![cfg(unix)]

#[path = "common/git_repo.rs"]
mod git_repo;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use git_repo::Repo;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A static file server for `dir` on 127.0.0.1 (a thread; GET only, 404 for anything else).
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut h = String::new();
            while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                h.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let file = dir.join(path.trim_start_matches('/'));
            let reply = match (path.contains(".."), std::fs::read(&file)) {
                (false, Ok(body)) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend(body);
                    r
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&reply);
        }
    });
    format!("http://{addr}")
}

/// The release target name of this machine, as the scripts compute it.
fn target() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    }
}

/// `<srv>/download/<tag>/kgate-<target>.tar.gz` (+ `.sha256`) made from the built binary.
fn release_tree(tag: &str) -> tempfile::TempDir {
    let srv = tempfile::tempdir().unwrap();
    let out = srv.path().join("download").join(tag);
    // The archive holds a small launcher of the built kgate: the debug binary is hundreds of
    // megabytes, and what is under test is the download, checksum and cache logic.
    let shim = srv.path().join("kgate-shim");
    std::fs::write(
        &shim,
        format!("#!/bin/sh\nexec '{}' \"$@\"\n", env!("CARGO_BIN_EXE_kgate")),
    )
    .unwrap();
    let o = Command::new("sh")
        .arg(root().join("ci/package.sh"))
        .arg(&shim)
        .arg(target())
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sum =
        std::fs::read_to_string(out.join(format!("kgate-{}.tar.gz.sha256", target()))).unwrap();
    assert!(
        sum.ends_with(&format!("  kgate-{}.tar.gz\n", target())),
        "{sum}"
    );
    srv
}

/// The `run:` script of the action step with this id.
fn action_step(id: &str) -> String {
    let path = root().join("action.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let file = kgate::source::SourceFile::new(path.display().to_string(), text);
    let doc = kgate::yaml::parse_stream(&file, &kgate::yaml::Limits::default()).documents[0]
        .root
        .as_ref()
        .unwrap()
        .to_json();
    doc["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))["run"]
        .as_str()
        .unwrap()
        .to_string()
}

fn gitlab_script() -> String {
    let path = root().join("ci/gitlab/kgate.gitlab-ci.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let file = kgate::source::SourceFile::new(path.display().to_string(), text);
    let doc = kgate::yaml::parse_stream(&file, &kgate::yaml::Limits::default()).documents[0]
        .root
        .as_ref()
        .unwrap()
        .to_json();
    doc[".kgate"]["script"][0].as_str().unwrap().to_string()
}

/// PATH with the system tools only (no kgate, no cargo), plus `extra`.
fn system_path(extra: &Path) -> String {
    format!("{}:/usr/local/bin:/usr/bin:/bin", extra.display())
}

fn run_action_install(
    runner_temp: &Path,
    version: &str,
    release_url: &str,
    github_path: &Path,
) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(action_step("install"))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", runner_temp)
        .env("RUNNER_TEMP", runner_temp)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("KGATE_VERSION", version)
        .env("KGATE_TARGET", target())
        .env("KGATE_BUILD_FALLBACK", "false")
        .env("KGATE_RELEASE_URL", release_url)
        .env("ACTION_REPOSITORY", "kgate-dev/kgate")
        .env("GITHUB_PATH", github_path)
        .env("GITHUB_ACTION_PATH", root())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_action_installs_the_release_binary_verifies_it_and_caches_it() {
    let srv = release_tree("v9.9.9");
    let url = serve(srv.path().to_path_buf());
    let tmp = tempfile::tempdir().unwrap();
    let gh_path = tmp.path().join("github_path");
    let o = run_action_install(tmp.path(), "v9.9.9", &url, &gh_path);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("installed release v9.9.9"),
        "{}",
        text(&o)
    );
    let bin = tmp.path().join("kgate-bin/kgate");
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("kgate "));
    assert!(std::fs::read_to_string(&gh_path)
        .unwrap()
        .contains("kgate-bin"));
    // The next run takes the cached binary, without the server.
    let o = run_action_install(tmp.path(), "v9.9.9", "http://127.0.0.1:9", &gh_path);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("from the cache"), "{}", text(&o));
}

#[test]
fn the_action_refuses_a_bad_checksum_and_does_not_build_unless_asked() {
    let srv = release_tree("v9.9.9");
    let sum = srv
        .path()
        .join(format!("download/v9.9.9/kgate-{}.tar.gz.sha256", target()));
    std::fs::write(&sum, format!("{}  x\n", "0".repeat(64))).unwrap();
    let url = serve(srv.path().to_path_buf());
    let tmp = tempfile::tempdir().unwrap();
    let o = run_action_install(tmp.path(), "v9.9.9", &url, &tmp.path().join("p"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("checksum mismatch"), "{}", text(&o));
    assert!(!tmp.path().join("kgate-cache/kgate").exists());
    // A release that does not exist: a clear error, no 6-minute cargo build.
    let tmp = tempfile::tempdir().unwrap();
    let o = run_action_install(tmp.path(), "v0.0.1", &url, &tmp.path().join("p"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("build-fallback: true"), "{}", text(&o));
}

/// The GitLab job's whole script in a merge-request pipeline of a fresh repository, with the
/// template's variables as GitLab passes them (declared-empty ones are empty strings).
fn run_gitlab_job(repo: &Path, bin_dir: &Path, url: &str, base: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(gitlab_script())
        .current_dir(repo)
        .env_clear()
        .env("PATH", system_path(bin_dir))
        .env("HOME", repo)
        .env("KGATE_BIN_DIR", bin_dir)
        .env("KGATE_PATHS", ".")
        .env("KGATE_FAIL_ON", "error")
        .env("KGATE_KUBERNETES_VERSION", "")
        .env("KGATE_POLICIES", "")
        .env("KGATE_CONFIG", "")
        .env("KGATE_ARGS", "")
        .env("KGATE_VERSION", "v9.9.9")
        .env("KGATE_BUILD_FALLBACK", "false")
        .env("KGATE_REPOSITORY", "https://example.invalid/kgate")
        .env("KGATE_RELEASE_URL", url)
        .env("GIT_DEPTH", "0")
        .env("CI", "true")
        .env("GITLAB_CI", "true")
        .env("CI_PIPELINE_SOURCE", "merge_request_event")
        .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", base)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap()
}

#[test]
fn the_gitlab_template_installs_and_gates_a_merge_request_as_shipped() {
    let srv = release_tree("v9.9.9");
    let url = serve(srv.path().to_path_buf());
    let r = Repo::new();
    let cm =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\ndata:\n  k: v\n";
    r.write("apps/cm.yaml", &format!("{cm}bogus: 1\n"));
    let base = r.commit("base with an old finding");
    r.write("apps/new.yaml", &cm.replace("name: a", "name: b"));
    r.commit("the merge request");
    let bin = tempfile::tempdir().unwrap();
    let o = run_gitlab_job(r.path(), bin.path(), &url, &base);
    // The old finding is pre-existing: the MR passes, with both reports written.
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(bin.path().join("kgate").is_file());
    let cq: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(r.path().join("gl-code-quality-report.json")).unwrap(),
    )
    .unwrap();
    assert!(cq.is_array());
    assert!(r.path().join("kgate-junit.xml").is_file());
    // A new error fails the job (exit 1), from the cached binary this time. (Each GitLab job
    // starts from a fresh clone: the previous job's reports are not there.)
    std::fs::remove_file(bin.path().join("kgate")).unwrap();
    std::fs::remove_file(r.path().join("gl-code-quality-report.json")).unwrap();
    std::fs::remove_file(r.path().join("kgate-junit.xml")).unwrap();
    r.write("apps/new.yaml", &format!("{cm}typo: 1\n"));
    r.commit("a new finding");
    let o = run_gitlab_job(r.path(), bin.path(), "http://127.0.0.1:9", &base);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("from the cache"), "{}", text(&o));
    // A base commit the clone lacks: one line saying what to set.
    let o = run_gitlab_job(r.path(), bin.path(), &url, &"1".repeat(40));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("GIT_DEPTH: \"0\""), "{}", text(&o));
}
