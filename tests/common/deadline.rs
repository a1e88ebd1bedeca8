//! Runs the real `kgate` binary under a deadline, for the hostile-input suites: killed and
//! failed if it runs too long, failed on a panic or a signal, output kept in files so that a
//! large report cannot fill a pipe and stall the child.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Generous for debug builds on a shared 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// A good sibling manifest with a known schema error (unknown field `bogus` at 7:1): every
/// hostile case asserts it is still reported in the same run.
pub const GOOD: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\ndata:\n  a: b\nbogus: 1\n";

/// A temporary repository (with `.git`, so it is its own root) holding only [`GOOD`].
#[allow(dead_code)] // not every suite that includes this file builds repositories
pub fn repo_with_good() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join(".git")).unwrap();
    std::fs::write(d.path().join("good.yaml"), GOOD).unwrap();
    d
}

/// Writes `text` at `rel` under `root`, creating folders.
#[allow(dead_code)]
pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[allow(dead_code)] // `elapsed` is read by one of the suites that include this file
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs kgate in `dir` (CI merge-request variables removed) within [`DEADLINE`].
pub fn run(dir: &Path, args: &[&str]) -> Run {
    let out_dir = tempfile::tempdir().unwrap();
    let out_path = out_dir.path().join("stdout");
    let err_path = out_dir.path().join("stderr");
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_BASE_REF")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI_MERGE_REQUEST_DIFF_BASE_SHA")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kgate {args:?} ran past {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    // A panic or an abort (signal) is never acceptable.
    assert!(!stderr.contains("panicked"), "kgate panicked: {stderr}");
    let code = status
        .code()
        .unwrap_or_else(|| panic!("kgate was killed by a signal: {status:?}\n{stderr}"));
    Run {
        code,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr,
        elapsed,
    }
}
