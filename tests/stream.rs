//! Streaming files changes memory, never findings (issue 14): on every fixture layout and on
//! repositories built for the edges (CRDs and their objects in different files, escaped kinds,
//! secrets in code frames, broken YAML, Gatekeeper and admission policies, Flux sources read by
//! name), `kgate check` reports exactly the same — JSON, human output and exit status — as with
//! `--no-stream`, which holds every object until the end.

use std::path::Path;

#[path = "common/fixture_tree.rs"]
mod fixture_tree;
#[path = "common/kgate_cli.rs"]
mod kgate_cli;
use fixture_tree::copy_dir;
use kgate_cli::kgate;

/// (exit status, stdout) of `kgate check . ARGS` inside `dir`.
fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = kgate()
        .current_dir(dir)
        .args(["check", "."])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Asserts that streaming and holding everything report the same, in JSON and human output;
/// returns the human output.
fn same_either_way(dir: &Path, extra: &[&str]) -> String {
    let mut human = String::new();
    for format in ["json", "human"] {
        let mut args = vec!["--format", format];
        args.extend_from_slice(extra);
        let streamed = run(dir, &args);
        args.push("--no-stream");
        let held = run(dir, &args);
        assert_eq!(
            streamed,
            held,
            "{} ({format}) differs when streamed",
            dir.display()
        );
        if format == "human" {
            human = streamed.1;
        }
    }
    human
}

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    fixture_tree::write_files(dir.path(), files);
    dir
}

#[test]
fn every_fixture_layout_reports_the_same_streamed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut layouts = vec![root.join("tests/fixtures/check")];
    for dir in ["tests/fixtures/units", "examples"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                layouts.push(path);
            }
        }
    }
    assert!(layouts.len() >= 6, "{layouts:?}");
    for layout in layouts {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&layout, dir.path());
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        same_either_way(dir.path(), &[]);
        same_either_way(dir.path(), &["--no-builtin-policies"]);
    }
}

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
"#;

#[test]
fn a_crd_in_one_file_checks_its_objects_in_streamed_files() {
    let dir = repo(&[
        ("crds/widget.yaml", CRD),
        (
            "apps/a.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: a\n  namespace: x\nspec:\n  size: big\n",
        ),
        (
            "apps/b.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: b\n  namespace: x\nspec:\n  size: 3\n",
        ),
    ]);
    let human = same_either_way(dir.path(), &["--no-builtin-policies"]);
    assert!(human.contains("apps/a.yaml:7:9"), "{human}");
    assert!(
        human.contains("size: big"),
        "the code frame shows the line:\n{human}"
    );
}

#[test]
fn a_crd_whose_kind_is_spelled_with_escapes_is_still_a_schema_source() {
    // `\x43` is `C`: the file must be held and read as a CRD before the Widget is checked.
    let crd = CRD.replace(
        "kind: CustomResourceDefinition",
        "kind: \"\\x43ustomResourceDefinition\"",
    );
    let dir = repo(&[
        ("crds/widget.yaml", &crd),
        (
            "apps/a.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: a\n  namespace: x\nspec:\n  size: big\n",
        ),
    ]);
    let human = same_either_way(dir.path(), &["--no-builtin-policies"]);
    assert!(human.contains("schema/wrong-type"), "{human}");
}

#[test]
fn code_frames_of_streamed_files_are_cut_and_masked_as_held_ones() {
    let mut files = vec![(
        "apps/secret-env.yaml".to_string(),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n          env:\n            - name: DB_PASSWORD\n              value: hunter2-s3cr3t-value\n          bogusField: 1\n".to_string(),
    )];
    // Broken YAML with a credential on a nearby line, and findings near the first and last
    // lines of a file (frames at the edges of the text).
    files.push((
        "apps/broken.yaml".into(),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: \"p4ssw0rd-very-secret\n  other: [\n".into(),
    ));
    files.push((
        "apps/edge.yaml".into(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e, namespace: prod}\ndata: {a: 1}"
            .into(),
    ));
    for i in 0..20 {
        files.push((
            format!("apps/many/cm-{i}.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: prod\ndata:\n  k: v\n  k: w\n"),
        ));
    }
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = repo(&borrowed);
    let human = same_either_way(dir.path(), &[]);
    for secret in ["hunter2-s3cr3t-value", "p4ssw0rd-very-secret"] {
        assert!(!human.contains(secret), "{secret} leaked:\n{human}");
    }
    assert!(human.contains("bogusField"), "{human}");
    assert!(human.contains("apps/many/cm-19.yaml:8:3"), "{human}");
}

#[test]
fn runs_whose_checks_read_every_object_report_the_same() {
    // Gatekeeper's inventory (unique ingress hosts), an admission policy with a param object,
    // and Flux substitution from a ConfigMap in an ordinary file.
    let template = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8suniquehost
spec:
  crd:
    spec:
      names:
        kind: K8sUniqueHost
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8suniquehost
        violation[{"msg": msg}] {
          host := input.review.object.spec.rules[_].host
          other := data.inventory.namespace[ns][_]["Ingress"][name]
          other.spec.rules[_].host == host
          name != input.review.object.metadata.name
          msg := sprintf("host %v is also used by %v", [host, name])
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sUniqueHost
metadata:
  name: unique-host
spec:
  match:
    kinds:
      - apiGroups: ["networking.k8s.io"]
        kinds: ["Ingress"]
"#;
    let ingress = |name: &str| {
        format!("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: web\nspec:\n  rules:\n    - host: same.example.com\n")
    };
    let (a, b) = (ingress("a"), ingress("b"));
    let dir = repo(&[
        ("policy/unique-host.yaml", template),
        ("apps/a.yaml", &a),
        ("apps/b.yaml", &b),
    ]);
    let human = same_either_way(dir.path(), &["--no-builtin-policies"]);
    assert!(human.contains("is also used by"), "{human}");

    let vap = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: max-replicas
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
      - apiGroups: ["apps"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["deployments"]
  validations:
    - expression: "object.spec.replicas <= int(params.data.max)"
      message: too many replicas
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: max-replicas
spec:
  policyName: max-replicas
  paramRef: {name: limits, namespace: default, parameterNotFoundAction: Deny}
  validationActions: [Deny]
"#;
    let dir = repo(&[
        ("policy/vap.yaml", vap),
        (
            "config/limits.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: limits\n  namespace: default\ndata:\n  max: \"3\"\n",
        ),
        (
            "apps/d.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: default\nspec:\n  replicas: 5\n  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers:\n        - name: d\n          image: nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
        ),
    ]);
    let human = same_either_way(dir.path(), &["--no-builtin-policies"]);
    assert!(human.contains("too many replicas"), "{human}");
}
