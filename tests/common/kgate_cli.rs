//! The real kgate binary as the CLI suites run it: a clean environment (no colour, no
//! Kubernetes version from the caller's shell) and `check --format json` for schema behaviour.
// Each suite uses the part it needs.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The built binary with a clean environment.
pub fn kgate() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kgate"));
    c.env_remove("KGATE_KUBERNETES_VERSION")
        .env("NO_COLOR", "1");
    c
}

/// `kgate check ARGS --format json` with the built-in policy pack off (it is tested in
/// `tests/policy_cli.rs`), so that only loader, render and schema findings show; run inside
/// `dir` when given. Returns the exit status and the parsed report.
pub fn check_json(dir: Option<&Path>, args: &[&str]) -> (i32, Value) {
    let mut c = kgate();
    if let Some(dir) = dir {
        c.current_dir(dir);
    }
    let out = c
        .arg("check")
        .args(args)
        .args(["--format", "json", "--no-builtin-policies"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}
