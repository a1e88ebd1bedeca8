//! Every file kgate reads is read safely, and nothing is dropped in silence (issue 13 §3): a
//! policy, data, config, CRD, Gatekeeper template, gator suite or schema-folder file that is a
//! device, a FIFO, a link out of the repository or too large is refused with a finding or exit
//! 2 — under a deadline, never a hang; an unreadable policy folder, a malformed glob or a code
//! that does not exist in `severity:`/`exceptions:` is never a quiet pass; and `--unverified`
//! decides how what kgate could not verify counts.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[path = "common/deadline.rs"]
mod deadline;
use deadline::{repo_with_good as repo, run, write};

#[cfg(unix)]
fn link(root: &Path, target: &str, rel: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, p).unwrap();
}

#[cfg(unix)]
fn fifo(root: &Path, rel: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    assert!(Command::new("mkfifo").arg(&p).status().unwrap().success());
}

fn json(stdout: &[u8], stderr: &str) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {stderr}",
            String::from_utf8_lossy(stdout)
        )
    })
}

fn codes(v: &Value) -> Vec<(String, String, String)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

const DENY: &str = "package main\n\ndeny contains msg if {\n  input.kind == \"ConfigMap\"\n  input.data.forbidden\n  msg := \"forbidden\"\n}\n";

#[cfg(unix)]
#[test]
fn policy_data_and_template_files_that_are_devices_fifos_or_links_out_are_refused() {
    // Each hostile entry sits in a policy folder next to a working policy: the run ends
    // within the deadline and says which file it refused (exit 2: the gate could not load
    // what it was told to judge with).
    type Make = fn(&Path);
    let cases: [(&str, Make, &str); 6] = [
        (
            "rego -> /dev/zero",
            |r| link(r, "/dev/zero", "policy/zero.rego"),
            "policy/zero.rego",
        ),
        (
            "rego FIFO",
            |r| fifo(r, "policy/pipe.rego"),
            "policy/pipe.rego",
        ),
        (
            "rego -> outside",
            |r| link(r, "/etc/hostname", "policy/out.rego"),
            "policy/out.rego",
        ),
        (
            "template -> /dev/zero",
            |r| link(r, "/dev/zero", "policy/template.yaml"),
            "policy/template.yaml",
        ),
        (
            "folder -> outside",
            |r| link(r, "/etc", "policy/etc"),
            "policy/etc",
        ),
        (
            "dangling rego",
            |r| link(r, "missing.rego", "policy/gone.rego"),
            "policy/gone.rego",
        ),
    ];
    for (what, make, file) in cases {
        let d = repo();
        write(d.path(), "policy/deny.rego", DENY);
        make(d.path());
        let r = run(
            d.path(),
            &[
                "check",
                "--format",
                "json",
                "--policy",
                "policy",
                "good.yaml",
            ],
        );
        let v = json(&r.stdout, &r.stderr);
        let c = codes(&v);
        assert!(
            c.iter().any(|(_, f, _)| f.ends_with(file)),
            "{what}: {c:#?}"
        );
        // A policy (or possible template) the run could not load: the gate cannot judge.
        assert_eq!(r.code, 2, "{what}: {c:#?}");
        assert!(r.elapsed < deadline::DEADLINE);
    }
    // --data that is a device, and a data folder holding one.
    for data in ["data.json", "data"] {
        let d = repo();
        write(d.path(), "policy/deny.rego", DENY);
        link(d.path(), "/dev/zero", "data.json");
        link(d.path(), "/dev/zero", "data/zero.yaml");
        let r = run(
            d.path(),
            &[
                "check",
                "--format",
                "json",
                "--policy",
                "policy",
                "--data",
                data,
                "good.yaml",
            ],
        );
        assert_eq!(r.code, 2, "{data}: {}", r.stderr);
        let v = json(&r.stdout, &r.stderr);
        assert!(
            codes(&v).iter().any(|(c, _, _)| c == "policy/bad-data"),
            "{data}: {:#?}",
            codes(&v)
        );
    }
}

#[cfg(unix)]
#[test]
fn config_crd_suite_and_schema_files_are_read_through_the_guard() {
    // A config that is a link to /dev/zero: refused, exit 2, quickly.
    let d = repo();
    link(d.path(), "/dev/zero", ".kgate.yaml");
    let r = run(d.path(), &["check", "--format", "json", "good.yaml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(".kgate.yaml"), "{}", r.stderr);
    let d = repo();
    fifo(d.path(), "cfg.yaml");
    let r = run(d.path(), &["check", "--config", "cfg.yaml", "good.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);

    // --crd naming a FIFO and a device: findings, and the good file is still checked.
    let d = repo();
    fifo(d.path(), "crds/pipe.yaml");
    link(d.path(), "/dev/zero", "crds/zero.yaml");
    let r = run(
        d.path(),
        &["check", "--format", "json", "--crd", "crds", "good.yaml"],
    );
    let v = json(&r.stdout, &r.stderr);
    let c = codes(&v);
    assert!(
        c.iter()
            .any(|(code, f, _)| code == "file/unreadable" && f.ends_with("pipe.yaml")),
        "{c:#?}"
    );
    assert!(
        c.iter().any(|(code, _, _)| code == "schema/unknown-field"),
        "{c:#?}"
    );

    // A schema folder whose file for the kind is a device: a finding about the schema, not a
    // hang and not "no schema".
    let d = repo();
    write(
        d.path(),
        "widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    );
    link(d.path(), "/dev/zero", "schemas/widget-example-v1.json");
    let r = run(
        d.path(),
        &[
            "check",
            "--format",
            "json",
            "--schema-location",
            "schemas",
            "widget.yaml",
        ],
    );
    let v = json(&r.stdout, &r.stderr);
    let c = codes(&v);
    assert!(
        c.iter()
            .any(|(code, _, m)| code == "schema/unusable" && m.contains("widget-example-v1.json")),
        "{c:#?}"
    );

    // A gator suite that names /dev/zero (by a link in the suite folder, and by a path out of
    // the repository) as its template: a suite problem, never a hang.
    for template in ["zero.yaml", "../../../../../../dev/zero"] {
        let d = repo();
        link(d.path(), "/dev/zero", "policy/zero.yaml");
        write(
            d.path(),
            "policy/suite.yaml",
            &format!("apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\nmetadata:\n  name: s\ntests:\n  - name: t\n    template: {template}\n    constraint: zero.yaml\n    cases: []\n"),
        );
        let r = run(d.path(), &["verify", "policy"]);
        assert_ne!(
            r.code,
            0,
            "{template}: {}",
            String::from_utf8_lossy(&r.stdout)
        );
    }
}

#[test]
fn malformed_globs_and_unknown_codes_are_never_a_quiet_pass() {
    // A glob that does not compile: a config error at its line, exit 2.
    for (cfg, at) in [
        ("severity:\n  \"policy/[x\": off\n", ".kgate.yaml:2:3"),
        (
            "exceptions:\n  - code: policy/resources\n    name: \"web-[\"\n    reason: r\n",
            ".kgate.yaml:3:11",
        ),
        (
            "exceptions:\n  - code: \"schema/{a\"\n    reason: r\n",
            ".kgate.yaml:2:11",
        ),
    ] {
        let d = repo();
        write(d.path(), ".kgate.yaml", cfg);
        let r = run(d.path(), &["check", "good.yaml"]);
        assert_eq!(r.code, 2, "{cfg}");
        assert!(
            r.stderr.contains(at) && r.stderr.contains("glob"),
            "{cfg}: {}",
            r.stderr
        );
    }
    // A misspelt registry code is a config error with a did-you-mean (config.rs, exit 2).
    for (cfg, hint) in [
        (
            "severity:\n  schema/unknown-feild: off\n",
            "schema/unknown-field",
        ),
        (
            "exceptions:\n  - code: policy/resorces\n    reason: sized by VPA\n",
            "policy/resources",
        ),
    ] {
        let d = repo();
        write(d.path(), ".kgate.yaml", cfg);
        let r = run(d.path(), &["check", "good.yaml"]);
        assert_eq!(r.code, 2, "{cfg}");
        assert!(r.stderr.contains(hint), "{cfg}: {}", r.stderr);
    }
    // A team rule code that no loaded policy has is known only once policies are loaded: an
    // error finding with a did-you-mean.
    {
        let (cfg, wrong, hint) = (
            "policies: [policy]\nexceptions:\n  - code: policy/main.denny\n    reason: r\n",
            "policy/main.denny",
            "policy/main.deny",
        );
        let d = repo();
        write(d.path(), ".kgate.yaml", cfg);
        write(d.path(), "policy/deny.rego", DENY);
        let r = run(d.path(), &["check", "--format", "json", "good.yaml"]);
        assert_eq!(r.code, 1, "{cfg}: {}", r.stderr);
        let v = json(&r.stdout, &r.stderr);
        let d = v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "exception/unknown-code")
            .unwrap_or_else(|| panic!("{cfg}: {v:#}"));
        assert!(d["message"].as_str().unwrap().contains(wrong));
        assert!(d["help"].as_str().unwrap().contains(hint), "{d:#}");
        assert!(
            d["file"].as_str().unwrap().ends_with(".kgate.yaml"),
            "{d:#}"
        );
    }
    // Codes that exist (registry, built-in pack, globs, the team's rules) are accepted.
    let d = repo();
    write(
        d.path(),
        ".kgate.yaml",
        "policies: [policy]\nseverity:\n  policy/*: warning\n  schema/unknown-field: warning\n  policy/main.deny: error\nexceptions:\n  - code: policy/resources\n    reason: r\n",
    );
    write(d.path(), "policy/deny.rego", DENY);
    let r = run(d.path(), &["check", "--format", "json", "good.yaml"]);
    let v = json(&r.stdout, &r.stderr);
    assert!(
        codes(&v)
            .iter()
            .all(|(c, _, _)| c != "exception/unknown-code"),
        "{:#?}",
        codes(&v)
    );
    assert_eq!(
        r.code,
        0,
        "unknown-field lowered to a warning: {:#?}",
        codes(&v)
    );
}

#[test]
fn unverified_objects_are_counted_and_fail_when_asked() {
    let d = repo();
    std::fs::remove_file(d.path().join("good.yaml")).unwrap();
    write(
        d.path(),
        "apps/widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: prod\n",
    );
    write(
        d.path(),
        "apps/kustomization.yaml",
        "resources: [widget.yaml, https://github.com/example/remote//base]\n",
    );
    let summary = |args: &[&str]| {
        let mut all = vec!["check", "--format", "json", "apps"];
        all.extend_from_slice(args);
        let r = run(d.path(), &all);
        let v = json(&r.stdout, &r.stderr);
        (r.code, v)
    };
    let (code, v) = summary(&[]);
    assert_eq!(code, 0, "warning by default: {:#?}", codes(&v));
    assert_eq!(v["summary"]["unverified"], 2, "{:#}", v["summary"]);
    assert_eq!(v["summary"]["unverified_by"]["schema/missing"], 1);
    assert_eq!(v["summary"]["unverified_by"]["render/unsupported"], 1);
    let (code, v) = summary(&["--unverified", "error"]);
    assert_eq!(code, 1);
    assert!(v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "schema/missing" || d["code"] == "render/unsupported")
        .all(|d| d["severity"] == "error"));
    write(d.path(), ".kgate.yaml", "unverified: error\n");
    let (code, _) = summary(&[]);
    assert_eq!(code, 1, "from the config");
    let (code, _) = summary(&["--unverified", "warning"]);
    assert_eq!(code, 0, "the flag wins");
    write(d.path(), ".kgate.yaml", "unverified: maybe\n");
    let r = run(d.path(), &["check", "apps"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(".kgate.yaml:1:13"), "{}", r.stderr);
    // The human summary says how many and why.
    std::fs::remove_file(d.path().join(".kgate.yaml")).unwrap();
    let r = run(d.path(), &["check", "apps"]);
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        out.contains("2 not verified (render/unsupported: 1, schema/missing: 1)"),
        "{out}"
    );
}
