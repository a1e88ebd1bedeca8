//! `kgate check` run as a user runs it: the real binary, real files, asserting codes, positions
//! and exit statuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

#[path = "common/kgate_cli.rs"]
mod kgate_cli;
use kgate_cli::kgate;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs `kgate check` for schema behaviour: the built-in policy pack (tested in
/// `tests/policy_cli.rs`) is off so that only loader and schema findings show.
fn run_json(args: &[&str]) -> (i32, Value) {
    kgate_cli::check_json(None, args)
}

/// (code, line, column) of every finding, sorted.
fn findings(json: &Value) -> Vec<(String, u64, u64)> {
    let mut v: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

fn f(code: &str, line: u64, col: u64) -> (String, u64, u64) {
    (code.to_string(), line, col)
}

#[test]
fn valid_manifests_pass_with_exit_0() {
    let (code, json) = run_json(&[&fixture("valid.yaml")]);
    assert_eq!(findings(&json), vec![]);
    assert_eq!(code, 0);
    assert_eq!(json["version"], 1);
    let s = &json["summary"];
    assert_eq!(
        (s["files"].as_u64(), s["resources"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        (s["valid"].as_u64(), s["invalid"].as_u64()),
        (Some(3), Some(0))
    );
}

#[test]
fn schema_errors_point_at_the_field() {
    let (code, json) = run_json(&[&fixture("invalid.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&json),
        vec![
            f("schema/invalid-value", 22, 23), // memory: 1GB
            f("schema/missing-name", 36, 1),   // metadata without name
            f("schema/removed-api", 24, 13),   // extensions/v1beta1 Ingress
            f("schema/required-field", 6, 1),  // spec.selector
            f("schema/unknown-field", 16, 11), // imagePullPolicyy
            f("schema/wrong-type", 7, 13),     // replicas: "3"
            f("schema/wrong-type", 19, 22),    // value: on
        ]
    );
    let diags = json["diagnostics"].as_array().unwrap();
    let unknown = diags
        .iter()
        .find(|d| d["code"] == "schema/unknown-field")
        .unwrap();
    assert_eq!(
        unknown["path"],
        "/spec/template/spec/containers/0/imagePullPolicyy"
    );
    assert!(unknown["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `imagePullPolicy`"));
    assert_eq!(unknown["resource"]["kind"], "Deployment");
    assert_eq!(unknown["resource"]["namespace"], "prod");
    assert_eq!(unknown["resource"]["name"], "web");
    assert_eq!(unknown["severity"], "error");
    assert_eq!(unknown["end_line"], 16);
    let removed = diags
        .iter()
        .find(|d| d["code"] == "schema/removed-api")
        .unwrap();
    assert!(removed["help"]
        .as_str()
        .unwrap()
        .contains("networking.k8s.io/v1"));
    let on = diags
        .iter()
        .find(|d| d["code"] == "schema/wrong-type" && d["line"] == 19)
        .unwrap();
    assert!(on["message"]
        .as_str()
        .unwrap()
        .contains("got boolean `true`"));
}

#[test]
fn yaml_problems_do_not_stop_the_other_documents() {
    let (code, json) = run_json(&[&fixture("broken.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&json),
        vec![
            f("schema/wrong-type", 16, 9), // data.port: 8080 checked after the syntax error
            f("yaml/duplicate-key", 5, 3),
            f("yaml/syntax", 10, 1),
        ]
    );
    let dup = &json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "yaml/duplicate-key")
        .unwrap()
        .clone();
    assert_eq!(dup["related"][0]["line"], 4);
}

#[test]
fn crds_in_the_checked_paths_supply_schemas() {
    let (code, json) = run_json(&[&fixture("crd.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&json),
        vec![
            f("schema/enum", 50, 9),
            f("schema/missing", 54, 7),
            f("schema/unknown-field", 51, 3),
        ]
    );
    let missing = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "schema/missing")
        .unwrap()
        .clone();
    assert_eq!(missing["severity"], "warning");
}

#[test]
fn skip_kind_and_require_schemas() {
    let (_, json) = run_json(&[&fixture("crd.yaml"), "--skip-kind", "Gadget"]);
    assert!(!findings(&json).iter().any(|f| f.0 == "schema/missing"));
    let (_, json) = run_json(&[&fixture("crd.yaml"), "--require-schemas"]);
    let missing = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "schema/missing")
        .unwrap()
        .clone();
    assert_eq!(missing["severity"], "error");
}

#[test]
fn no_strict_allows_unknown_fields() {
    let (_, json) = run_json(&[&fixture("invalid.yaml"), "--no-strict"]);
    assert!(!findings(&json)
        .iter()
        .any(|f| f.0 == "schema/unknown-field"));
    assert!(findings(&json).iter().any(|f| f.0 == "schema/wrong-type"));
}

#[test]
fn warnings_fail_only_with_fail_on_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("g.yaml"),
        "apiVersion: unknown.example.org/v1\nkind: Gadget\nmetadata:\n  name: g\n",
    )
    .unwrap();
    let p = dir.path().to_str().unwrap();
    let (code, _) = run_json(&[p]);
    assert_eq!(code, 0);
    let (code, _) = run_json(&[p, "--fail-on", "warning"]);
    assert_eq!(code, 1);
}

#[test]
fn kubernetes_version_selects_the_schemas() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hpa.yaml"),
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: h\nspec:\n  scaleTargetRef: {kind: Deployment, name: x}\n  maxReplicas: 3\n",
    )
    .unwrap();
    for v in ["1.33", "1.35", "1.37"] {
        let (code, json) = run_json(&[dir.path().to_str().unwrap(), "--kubernetes-version", v]);
        assert_eq!(code, 0, "{v}: {json}");
        assert_eq!(json["kubernetesVersion"], v);
    }
    let out = kgate()
        .args([
            "check",
            dir.path().to_str().unwrap(),
            "--kubernetes-version",
            "1.12",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported --kubernetes-version"));
}

#[test]
fn bad_flags_exit_2() {
    let out = kgate().args(["check", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = kgate()
        .args([
            "check",
            ".",
            "--schema-location",
            "https://example.com/{{.ResourceKind}}.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("offline"));
}

#[test]
fn stdin_is_read_for_dash() {
    use std::io::Write;
    let mut child = kgate()
        .args(["check", "-", "--format", "json", "--no-builtin-policies"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: http\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let d = &json["diagnostics"][0];
    assert_eq!(d["file"], "<stdin>");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(7), Some(11))
    );
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn discovery_honours_gitignore_hidden_folders_and_excludes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  n: 1\n";
    write(dir.path(), ".gitignore", "ignored/\n");
    write(dir.path(), "ignored/a.yaml", bad);
    write(dir.path(), ".hidden/b.yaml", bad);
    write(dir.path(), "vendor/c.yaml", bad);
    write(dir.path(), "apps/d.yml", bad);
    write(
        dir.path(),
        "apps/e.json",
        r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e"}}"#,
    );
    write(dir.path(), "apps/notes.txt", bad);
    write(
        dir.path(),
        "charts/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 1.0.0\n",
    );
    let (_, json) = run_json(&[dir.path().to_str().unwrap(), "--exclude", "vendor"]);
    let files: Vec<String> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["file"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(files, vec!["d.yml"]);
    assert_eq!(json["summary"]["files"], 3);
    assert_eq!(json["summary"]["resources"], 2);
    assert_eq!(json["summary"]["skipped"], 1);
}

#[test]
fn hostile_files_give_one_finding_each_and_the_rest_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a-binary.yaml", "");
    std::fs::write(d.join("a-binary.yaml"), b"\x00\x01\x02\x03binary").unwrap();
    std::fs::write(d.join("b-latin1.yaml"), b"a: caf\xe9\n").unwrap();
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    write(d, "c-bomb.yaml", &bomb);
    write(
        d,
        "d-deep.yaml",
        &format!("{}1{}", "[".repeat(5000), "]".repeat(5000)),
    );
    write(d, "e-big.yaml", &"# padding\n".repeat(3000));
    std::os::unix::fs::symlink(d.join("loop"), d.join("loop-link")).ok();
    std::fs::create_dir(d.join("loop")).unwrap();
    std::os::unix::fs::symlink(d.join("loop"), d.join("loop/again")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", d.join("f-outside.yaml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("g-zero.yaml")).unwrap();
    let fifo = d.join("h-fifo.yaml");
    let _ = Command::new("mkfifo").arg(&fifo).status();
    write(
        d,
        "z-good.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z\ndata:\n  n: 1\n",
    );
    let (code, json) = run_json(&[d.to_str().unwrap(), "--max-file-size", "20000"]);
    assert_eq!(code, 1);
    let by_file = |name: &str| -> Vec<String> {
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["file"].as_str().unwrap().ends_with(name))
            .map(|x| x["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(by_file("a-binary.yaml"), vec!["file/not-text"]);
    assert_eq!(by_file("b-latin1.yaml"), vec!["file/not-text"]);
    assert_eq!(by_file("c-bomb.yaml"), vec!["yaml/limit"]);
    assert_eq!(by_file("d-deep.yaml"), vec!["yaml/limit"]);
    assert_eq!(by_file("e-big.yaml"), vec!["file/too-large"]);
    assert_eq!(by_file("f-outside.yaml"), vec!["file/outside-root"]);
    assert_eq!(by_file("g-zero.yaml"), vec!["file/outside-root"]);
    if fifo.exists() {
        assert_eq!(by_file("h-fifo.yaml"), vec!["file/unreadable"]);
    }
    // The good file after all of them is still checked.
    assert_eq!(by_file("z-good.yaml"), vec!["schema/wrong-type"]);
}

#[test]
fn secret_values_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\nstringData:\n  password: hunter2-very-secret\nunknownField: x\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n    env:\n    - name: API_TOKEN\n      value: ghp_abcdefghijklmnop1234567890ABCDEFGHIJ\n    - name: X\n      value: 12\n",
    );
    for format in ["human", "json"] {
        let out = kgate()
            .args(["check", dir.path().to_str().unwrap(), "--format", format])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            text.contains("unknownField") || text.contains("unknown field"),
            "{text}"
        );
        assert!(!text.contains("hunter2-very-secret"), "{format}: {text}");
        assert!(!text.contains("ghp_abcdefghijklmnop"), "{format}: {text}");
    }
}

#[test]
fn rules_and_explain() {
    let out = kgate().arg("rules").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("schema/unknown-field"));
    assert!(text.contains("yaml/duplicate-key"));
    let out = kgate()
        .args(["explain", "schema/removed-api"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("extensions/v1beta1"));
    let out = kgate().args(["explain", "nope/nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn human(args: &[&str]) -> Output {
    kgate().arg("check").args(args).output().unwrap()
}

#[test]
fn human_output_snapshot() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let out = kgate()
        .current_dir(&fixtures)
        .args([
            "check",
            "invalid.yaml",
            "broken.yaml",
            "--no-builtin-policies",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
    let quiet = human(&[&fixture("valid.yaml"), "--no-builtin-policies"]);
    assert_eq!(
        String::from_utf8_lossy(&quiet.stdout),
        "1 file, 3 resources: 3 valid, 0 invalid, 0 skipped — 0 errors, 0 warnings\n"
    );
}

#[test]
fn crds_and_schemas_from_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The CRD lives outside the checked folder: --crd brings it in.
    let crd = std::fs::read_to_string(fixture("crd.yaml")).unwrap();
    let crd_only = crd.split("\n---\n").next().unwrap();
    write(d, "crds/widget.yaml", crd_only);
    write(
        d,
        "apps/w.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: huge\n",
    );
    let apps = d.join("apps");
    let (_, json) = run_json(&[apps.to_str().unwrap()]);
    assert_eq!(findings(&json), vec![f("schema/missing", 2, 7)]);
    let crds = d.join("crds");
    let (code, json) = run_json(&[apps.to_str().unwrap(), "--crd", crds.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json), vec![f("schema/enum", 6, 9)]);

    // A kubeconform-style folder of JSON schemas, by template.
    write(
        d,
        "schemas/example.com/gadget_v1.json",
        r#"{"type": "object", "properties": {"apiVersion": {}, "kind": {}, "metadata": {},
            "spec": {"type": "object", "properties": {"count": {"type": "integer"}}, "additionalProperties": false}}}"#,
    );
    write(
        d,
        "apps2/g.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\nspec:\n  count: many\n",
    );
    let template = format!(
        "{}/schemas/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
        d.display()
    );
    let apps2 = d.join("apps2");
    let (code, json) = run_json(&[apps2.to_str().unwrap(), "--schema-location", &template]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json), vec![f("schema/wrong-type", 6, 10)]);
    // A plain folder is searched in the CRDs-catalog layout too.
    let plain = d.join("schemas");
    let (_, json) = run_json(&[
        apps2.to_str().unwrap(),
        "--schema-location",
        plain.to_str().unwrap(),
    ]);
    assert_eq!(findings(&json), vec![f("schema/wrong-type", 6, 10)]);
}

#[test]
fn malformed_objects_and_crds_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.yaml",
        "apiVersion: v1\nkind: 5\nmetadata:\n  name: x\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: broken.example.com\nspec:\n  names:\n    kind: Broken\n",
    );
    let (_, json) = run_json(&[dir.path().to_str().unwrap()]);
    let codes: Vec<String> = findings(&json).into_iter().map(|f| f.0).collect();
    assert!(codes.contains(&"schema/type-meta".to_string()), "{codes:?}");
    assert!(codes.contains(&"schema/bad-crd".to_string()), "{codes:?}");
    let type_meta = findings(&json)
        .into_iter()
        .find(|f| f.0 == "schema/type-meta")
        .unwrap();
    assert_eq!((type_meta.1, type_meta.2), (2, 7));
}

/// The README's first command: the example repository shows exactly the mistakes it documents,
/// each at the line to edit (the base, the overlay's kustomization, or its patch).
#[test]
fn the_example_repository_shows_its_documented_mistakes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = kgate()
        .current_dir(root)
        .args(["check", "examples/", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<(String, String, u64)> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let e = |c: &str, f: &str, l: u64| (c.to_string(), f.to_string(), l);
    assert_eq!(
        got,
        vec![
            e(
                "policy/image-tag-commit",
                "examples/clusters/prod/kustomization.yaml",
                10
            ),
            e(
                "policy/no-inline-secrets",
                "examples/apps/web/deployment.yaml",
                35
            ),
            e("schema/removed-api", "examples/infra/ingress.yaml", 2),
            e(
                "schema/unknown-field",
                "examples/apps/web/deployment.yaml",
                27
            ),
            e("schema/wrong-type", "examples/apps/web/deployment.yaml", 33),
            e(
                "schema/wrong-type",
                "examples/clusters/prod/replicas.yaml",
                6
            ),
        ]
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hunter2-in-git"));
}
