//! `admission/cel` and `admission/immutable`: CRD `x-kubernetes-validations` rules on objects
//! (message, messageExpression, fieldPath, reason, the Kubernetes libraries), transition rules
//! (`oldSelf`) in a merge-request repository against the base revision's object, and the
//! immutable fields of built-in kinds in `check --base` and `kgate diff`.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    kind: Backup
    plural: backups
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
              x-kubernetes-validations:
                - rule: "self.minReplicas <= self.maxReplicas"
                  message: "minReplicas must not exceed maxReplicas"
                  fieldPath: ".minReplicas"
                  reason: FieldValueInvalid
                - rule: "!has(self.endpoint) || isURL(self.endpoint) && url(self.endpoint).getScheme() == 'https'"
                  messageExpression: "'endpoint ' + self.endpoint + ' must be an https URL'"
                - rule: "quantity(self.size).isLessThan(quantity('100Gi'))"
                  message: "size must be below 100Gi"
                - rule: "!has(self.cidr) || cidr(self.cidr).containsIP('10.0.0.1')"
                - rule: "self.bucket == oldSelf.bucket"
                  message: "bucket is immutable"
                - rule: "self.retention >= oldSelf.retention"
                  message: "retention may only grow"
              properties:
                bucket: {type: string}
                minReplicas: {type: integer}
                maxReplicas: {type: integer}
                retention: {type: integer}
                endpoint: {type: string}
                size: {type: string}
                cidr: {type: string}
                tags:
                  type: array
                  items: {type: string}
                  x-kubernetes-validations:
                    - rule: "self.all(t, t.lowerAscii() == t)"
                      message: "tags are lower-case"
"#;

fn backup(spec: &str) -> String {
    format!("apiVersion: example.com/v1\nkind: Backup\nmetadata:\n  name: nightly\n  namespace: prod\nspec:\n{spec}")
}

const GOOD: &str = "  bucket: b1\n  minReplicas: 1\n  maxReplicas: 3\n  retention: 7\n  endpoint: https://s3.example.com\n  size: 10Gi\n  cidr: 10.0.0.0/8\n  tags: [daily]\n";

/// (code, severity, line, message) of the admission findings of a `kgate` run.
fn findings(out: &std::process::Output) -> Vec<(String, String, u64, String)> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"].as_str().unwrap().starts_with("admission/"))
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn check_files(files: &[(&str, &str)]) -> (Vec<(String, String, u64, String)>, Option<i32>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out = kgate_in(
        dir.path(),
        &["check", "--format", "json", "--no-builtin-policies", "."],
    );
    (findings(&out), out.status.code())
}

#[test]
fn rules_pass_on_a_valid_object_and_transition_rules_do_not_run_on_create() {
    let (f, code) = check_files(&[("crd.yaml", CRD), ("b.yaml", &backup(GOOD))]);
    assert!(f.is_empty(), "{f:?}");
    assert_eq!(code, Some(0));
}

#[test]
fn failing_rules_report_message_field_path_and_line() {
    let spec = "  bucket: b1\n  minReplicas: 5\n  maxReplicas: 3\n  retention: 7\n  endpoint: http://s3.example.com\n  size: 200Gi\n  cidr: 192.168.0.0/16\n  tags: [Daily]\n";
    let (f, code) = check_files(&[("crd.yaml", CRD), ("b.yaml", &backup(spec))]);
    assert_eq!(code, Some(1));
    let by_msg = |needle: &str| {
        f.iter()
            .find(|x| x.3.contains(needle))
            .unwrap_or_else(|| panic!("no finding with {needle}: {f:?}"))
    };
    // fieldPath points at minReplicas (line 8), not at spec.
    assert_eq!(by_msg("minReplicas must not exceed").2, 8);
    assert!(by_msg("minReplicas must not exceed")
        .3
        .starts_with("spec.minReplicas"));
    // messageExpression is evaluated.
    assert!(by_msg("endpoint http://s3.example.com must be an https URL").2 >= 6);
    by_msg("size must be below 100Gi");
    by_msg("failed rule: !has(self.cidr)");
    // A rule on a list is reported at the list.
    assert_eq!(by_msg("tags are lower-case").2, 14);
    assert!(
        f.iter().all(|x| x.0 == "admission/cel" && x.1 == "error"),
        "{f:?}"
    );
    assert_eq!(f.len(), 5, "{f:?}");
}

#[test]
fn transition_rules_use_the_base_revision_object() {
    let repo = Repo::new();
    repo.write("crds/backup.yaml", CRD);
    repo.write("apps/b.yaml", &backup(GOOD));
    let base = repo.commit("base");
    // The MR changes the immutable bucket and shrinks the retention.
    repo.write(
        "apps/b.yaml",
        &backup(
            &GOOD
                .replace("bucket: b1", "bucket: b2")
                .replace("retention: 7", "retention: 3"),
        ),
    );
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        &base,
        ".",
    ]);
    let f = findings(&out);
    assert_eq!(out.status.code(), Some(1), "{f:?}");
    // `self == oldSelf` is an immutability rule; the other a transition rule.
    assert!(
        f.iter()
            .any(|x| x.0 == "admission/immutable" && x.3.contains("bucket is immutable")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|x| x.0 == "admission/cel" && x.3.contains("retention may only grow")),
        "{f:?}"
    );
    // Growing the retention with the same bucket passes.
    repo.write(
        "apps/b.yaml",
        &backup(&GOOD.replace("retention: 7", "retention: 30")),
    );
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        &base,
        ".",
    ]);
    assert!(findings(&out).is_empty(), "{:?}", findings(&out));
    assert_eq!(out.status.code(), Some(0));
    // A new object in the MR: transition rules do not run.
    repo.write("apps/c.yaml", &backup(GOOD).replace("nightly", "weekly"));
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        &base,
        ".",
    ]);
    assert!(findings(&out).is_empty());
}

fn sts(service: &str, replicas: u32, extra_meta: &str) -> String {
    format!("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n  namespace: prod\n{extra_meta}spec:\n  serviceName: {service}\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: db\n  template:\n    metadata:\n      labels:\n        app: db\n    spec:\n      containers:\n        - name: db\n          image: postgres:16\n")
}

#[test]
fn immutable_fields_in_merge_request_mode() {
    let repo = Repo::new();
    repo.write("apps/db.yaml", &sts("db", 1, ""));
    repo.write("apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: prod\nimmutable: true\ndata:\n  mode: fast\n");
    repo.write("apps/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: prod\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 10Gi\n");
    let base = repo.commit("base");
    // Scaling and a new image are fine.
    repo.write(
        "apps/db.yaml",
        &sts("db", 3, "").replace("postgres:16", "postgres:17"),
    );
    repo.write("apps/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: prod\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 20Gi\n");
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        &base,
        ".",
    ]);
    assert!(findings(&out).is_empty(), "{:?}", findings(&out));
    // serviceName, immutable data, a shrinking claim: refused, on the changed line.
    repo.write("apps/db.yaml", &sts("db-headless", 3, ""));
    repo.write("apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: prod\nimmutable: true\ndata:\n  mode: slow\n");
    repo.write("apps/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: prod\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 5Gi\n");
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        &base,
        ".",
    ]);
    let f = findings(&out);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<(String, u64)> = f.iter().map(|x| (x.0.clone(), x.2)).collect();
    assert!(lines.contains(&("admission/immutable".into(), 7)), "{f:?}");
    assert!(lines.contains(&("admission/immutable".into(), 8)), "{f:?}");
    assert!(lines.contains(&("admission/immutable".into(), 10)), "{f:?}");
    // The help says what Flux and Argo CD will do.
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let help = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "admission/immutable")
        .unwrap()["help"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(help.contains("kustomize.toolkit.fluxcd.io/force") && help.contains("Replace=true"));
    // Marked for force-recreate: a warning, exit 0.
    repo.write("apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: prod\nimmutable: true\ndata:\n  mode: fast\n");
    repo.write("apps/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: prod\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 10Gi\n");
    repo.write(
        "apps/db.yaml",
        &sts(
            "db-headless",
            3,
            "  annotations:\n    kustomize.toolkit.fluxcd.io/force: enabled\n",
        ),
    );
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        &base,
        ".",
    ]);
    let f = findings(&out);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, "warning");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_namespace_move_is_a_delete_plus_a_create() {
    let repo = Repo::new();
    repo.write("apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: prod\ndata:\n  a: \"1\"\n");
    let base = repo.commit("base");
    repo.write("apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: production\ndata:\n  a: \"1\"\n");
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        &base,
        ".",
    ]);
    let f = findings(&out);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2),
        ("admission/immutable", "warning", 5)
    );
    assert!(f[0].3.contains("delete plus a create"));
    let plan = repo.plan(&["--base", &base]);
    let text = plan.to_string();
    assert!(text.contains("moves from namespace"), "{plan:#}");
}

#[test]
fn the_plan_says_when_an_update_will_be_refused() {
    let repo = Repo::new();
    let dep = |app: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:\n      containers:\n        - name: web\n          image: nginx\n")
    };
    repo.write("apps/web.yaml", &dep("web"));
    let base = repo.commit("base");
    repo.write("apps/web.yaml", &dep("web2"));
    let plan = repo.plan(&["--base", &base]);
    let change = &unit(&plan, "apps")["changes"][0];
    assert_eq!(change["action"], "update");
    assert_eq!(change["immutable"][0]["path"], "/spec/selector");
    assert!(
        change["agent"].as_str().unwrap().contains("apply fails"),
        "{change:#}"
    );
    let out = repo.kgate(&["diff", "--base", &base]);
    assert!(stdout(&out).contains("immutable"), "{}", stdout(&out));
}
