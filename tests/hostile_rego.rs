//! Hostile Rego that used to abort the whole process: functions that call themselves (a stack
//! overflow in regorus) and builtins asked for terabyte results (`numbers.range(0, 1e11)`, an
//! allocation failure). Each case runs the real binary under a deadline on a generated
//! repository, asserts the finding and its position, and that a sibling manifest with a known
//! schema error (`good.yaml`, unknown field `bogus` at line 7) is still checked.

use std::path::Path;

use serde_json::Value;

#[path = "common/deadline.rs"]
mod deadline;
use deadline::GOOD;

/// (exit code, JSON report or Null, stdout, stderr); fails on a signal, a panic or the deadline.
fn run(dir: &Path, args: &[&str]) -> (i32, Value, String, String) {
    let r = deadline::run(dir, args);
    let stdout = String::from_utf8_lossy(&r.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (r.code, json, stdout, r.stderr)
}

/// A repository root with `good.yaml` and the given files.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join(".git")).unwrap();
    std::fs::write(d.path().join("good.yaml"), GOOD).unwrap();
    for (path, text) in files {
        let p = d.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

/// (file, code, line, column, message) of every finding.
fn findings(report: &Value) -> Vec<(String, String, u64, u64, String)> {
    report["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("not a report: {report}"))
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap_or_default().to_string(),
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn sibling_checked(report: &Value) {
    assert!(
        findings(report)
            .iter()
            .any(|(f, c, l, _, _)| f == "good.yaml" && c == "schema/unknown-field" && *l == 7),
        "good.yaml's unknown field is missing: {:#?}",
        findings(report)
    );
}

const RECURSIVE: &str = "package main\nimport rego.v1\n\n# f(x) here is only a comment\nf(x) := y if {\n\ty := f(x)\n}\n\ndeny contains \"never\" if f(1)\n";
const ENFORCED: &str = "package main\nimport rego.v1\n\ndeny contains \"configmaps are checked\" if input.kind == \"ConfigMap\"\n";

#[test]
fn a_function_calling_itself_is_refused_at_load_and_the_run_goes_on() {
    let d = repo(&[("policy/rec.rego", RECURSIVE), ("policy/ok.rego", ENFORCED)]);
    let (code, v, _, err) = run(d.path(), &["check", ".", "-p", "policy", "-o", "json"]);
    assert_eq!(code, 2, "{err}");
    let f = findings(&v);
    let rec: Vec<_> = f.iter().filter(|x| x.1 == "policy/parse-error").collect();
    assert_eq!(rec.len(), 1, "{f:#?}");
    let (file, _, line, col, msg) = rec[0];
    assert_eq!((file.as_str(), *line, *col), ("policy/rec.rego", 5, 1));
    assert!(
        msg.contains("rule data.main.f is recursive: data.main.f -> data.main.f"),
        "{msg}"
    );
    // The other module of the package is still enforced, and every manifest still checked.
    assert!(
        f.iter()
            .any(|x| x.0 == "good.yaml" && x.4.contains("configmaps are checked")),
        "{f:#?}"
    );
    sibling_checked(&v);
}

#[test]
fn mutual_recursion_across_two_packages_names_the_cycle() {
    let a =
        "package lib.a\nimport rego.v1\nimport data.lib.b\n\nf(x) := y if {\n\ty := b.g(x)\n}\n";
    let b = "package lib.b\nimport rego.v1\nimport data.lib.a as other\n\ng(x) := y if {\n\ty := other.f(x)\n}\n";
    let main = "package main\nimport rego.v1\n\ndeny contains \"x\" if data.lib.a.f(1)\n";
    let d = repo(&[
        ("policy/a.rego", a),
        ("policy/b.rego", b),
        ("policy/main.rego", main),
    ]);
    let (code, v, _, err) = run(d.path(), &["check", ".", "-p", "policy", "-o", "json"]);
    assert_eq!(code, 2, "{err}");
    let f = findings(&v);
    // The module that closes the cycle is refused, at its function.
    let rec: Vec<_> = f.iter().filter(|x| x.1 == "policy/parse-error").collect();
    assert_eq!(rec.len(), 1, "{f:#?}");
    let (file, _, line, col, msg) = rec[0];
    assert_eq!((file.as_str(), *line, *col), ("policy/b.rego", 5, 1));
    assert!(
        msg.contains(
            "rule data.lib.b.g is recursive: data.lib.b.g -> data.lib.a.f -> data.lib.b.g"
        ),
        "{msg}"
    );
    sibling_checked(&v);
}

#[test]
fn a_function_calling_its_namesake_in_another_package_is_not_recursive() {
    let a = "package main\nimport rego.v1\nimport data.helpers\n\nname(x) := helpers.name(x)\n\ndeny contains msg if {\n\tmsg := name(input.metadata.name)\n}\n";
    let h = "package helpers\nimport rego.v1\n\nname(x) := sprintf(\"named %s\", [x])\n";
    let d = repo(&[("policy/a.rego", a), ("policy/helpers.rego", h)]);
    let (code, v, _, err) = run(d.path(), &["check", ".", "-p", "policy", "-o", "json"]);
    assert_eq!(code, 1, "{err}");
    let f = findings(&v);
    assert!(!f.iter().any(|x| x.1.starts_with("policy/parse")), "{f:#?}");
    assert!(f.iter().any(|x| x.4.contains("named good")), "{f:#?}");
    sibling_checked(&v);
}

#[test]
fn verify_reports_a_recursive_function_instead_of_crashing() {
    let test = "package main_test\nimport rego.v1\nimport data.main\n\ntest_f if main.f(1)\n";
    let d = repo(&[
        ("policy/rec.rego", RECURSIVE),
        ("policy/rec_test.rego", test),
    ]);
    let (code, _, out, err) = run(d.path(), &["verify", "policy"]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        out.contains("policy/rec.rego:5:1") && out.contains("is recursive"),
        "{out}{err}"
    );
}

#[test]
fn a_recursive_gatekeeper_lib_is_an_invalid_template() {
    let template = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sloop
spec:
  crd:
    spec:
      names:
        kind: K8sLoop
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sloop
        import data.lib.loop

        violation[{"msg": msg}] {
          loop.spin(1)
          msg := "never"
        }
      libs:
        - |
          package lib.loop

          spin(x) = y {
            y := spin(x)
          }
"#;
    let d = repo(&[("gk/template.yaml", template)]);
    let (code, v, _, err) = run(
        d.path(),
        &["check", ".", "--no-builtin-policies", "-o", "json"],
    );
    assert_eq!(code, 2, "{err}");
    let f = findings(&v);
    let bad: Vec<_> = f
        .iter()
        .filter(|x| x.1 == "gatekeeper/invalid-template")
        .collect();
    assert_eq!(bad.len(), 1, "{f:#?}");
    let (file, _, line, col, msg) = bad[0];
    // `spin(x) = y {` is line 3 of the lib, whose block starts on line 22, indented 10.
    assert_eq!((file.as_str(), *line, *col), ("gk/template.yaml", 24, 11));
    assert!(
        msg.contains(
            "rule data.lib.loop.spin is recursive: data.lib.loop.spin -> data.lib.loop.spin"
        ),
        "{msg}"
    );
    sibling_checked(&v);
}

#[test]
fn a_terabyte_numbers_range_is_a_finding_not_an_abort() {
    let huge = "package main\nimport rego.v1\n\ndeny contains msg if {\n\tn := count(numbers.range(0, 100000000000))\n\tmsg := sprintf(\"%d\", [n])\n}\n";
    let d = repo(&[("policy/huge.rego", huge)]);
    let (code, v, _, err) = run(d.path(), &["check", ".", "-p", "policy", "-o", "json"]);
    assert_eq!(code, 2, "{err}");
    let f = findings(&v);
    let e = f
        .iter()
        .find(|x| x.1 == "policy/eval-error")
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!((e.0.as_str(), e.2), ("policy/huge.rego", 5), "{e:?}");
    assert!(
        e.4.contains("numbers.range(0, 100000000000) would have 100000000001 elements")
            && e.4.contains("--memory-target"),
        "{e:?}"
    );
    sibling_checked(&v);

    // The bound follows --memory-target: a million numbers fit 8 GiB, not 16 MiB.
    let million = "package main\nimport rego.v1\n\ndeny contains msg if {\n\tn := count(numbers.range(1, 1000000))\n\tmsg := sprintf(\"%d numbers\", [n])\n}\n";
    std::fs::write(d.path().join("policy/huge.rego"), million).unwrap();
    let (code, v, _, err) = run(d.path(), &["check", ".", "-p", "policy", "-o", "json"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        findings(&v).iter().any(|x| x.4 == "1000000 numbers"),
        "{:#?}",
        findings(&v)
    );
    let (code, v, _, err) = run(
        d.path(),
        &[
            "check",
            ".",
            "-p",
            "policy",
            "-o",
            "json",
            "--memory-target",
            "16Mi",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        findings(&v)
            .iter()
            .any(|x| x.1 == "policy/eval-error" && x.4.contains("16777216 bytes")),
        "{:#?}",
        findings(&v)
    );
}

#[test]
fn a_shard_run_holds_its_own_files_to_the_memory_target() {
    let filler = format!("# {}\n", "x".repeat(4000));
    let mut files = Vec::new();
    let names: Vec<String> = (0..8).map(|i| format!("z{i}.yaml")).collect();
    let texts: Vec<String> = (0..8)
        .map(|i| {
            format!(
                "{filler}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  a: b\n"
            )
        })
        .collect();
    for (n, t) in names.iter().zip(&texts) {
        files.push((n.as_str(), t.as_str()));
    }
    let d = repo(&files);
    // 64 × ~4 KB per file: 64 KiB of target admits none of the 4 KB files (the 76-byte
    // good.yaml sorts first and fits).
    let mut refused = 0;
    let mut good_checked = 0;
    for shard in ["1/2", "2/2"] {
        let (code, v, _, err) = run(
            d.path(),
            &[
                "check",
                ".",
                "-o",
                "json",
                "--shard",
                shard,
                "--memory-target",
                "64Ki",
            ],
        );
        assert_eq!(code, 1, "{err}");
        let f = findings(&v);
        refused += f
            .iter()
            .filter(|x| x.1 == "limit/memory-target" && x.4.contains("65536"))
            .count();
        good_checked += f
            .iter()
            .filter(|x| x.0 == "good.yaml" && x.1 == "schema/unknown-field")
            .count();
    }
    assert_eq!((refused, good_checked), (8, 1));
    // Without the flag every file of both shards is read.
    for shard in ["1/2", "2/2"] {
        let (_, v, _, _) = run(d.path(), &["check", ".", "-o", "json", "--shard", shard]);
        assert!(
            !findings(&v).iter().any(|x| x.1 == "limit/memory-target"),
            "{:#?}",
            findings(&v)
        );
    }
}

#[test]
fn render_holds_a_named_flux_file_to_the_size_limit() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps\n  sourceRef:\n    kind: GitRepository\n    name: repo\n";
    let padded = format!("{flux}# {}\n", "x".repeat(4096));
    let d = repo(&[
        ("clusters/flux.yaml", padded.as_str()),
        (
            "apps/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
        ),
    ]);
    let (code, _, out, err) = run(
        d.path(),
        &["render", "clusters/flux.yaml", "--max-file-size", "1k"],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("clusters/flux.yaml") && err.contains("--max-file-size"),
        "{err}"
    );
    let (code, _, out, err) = run(d.path(), &["render", "clusters/flux.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
}
