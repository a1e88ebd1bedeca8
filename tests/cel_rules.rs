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

/// (code, severity, line, message) of one admission finding.
type Finding = (String, String, u64, String);

/// The admission findings of a `kgate` run.
fn findings(out: &std::process::Output) -> Vec<Finding> {
    findings_of(out, &["admission/"])
}

fn check_files(files: &[(&str, &str)]) -> (Vec<Finding>, Option<i32>) {
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
    let out = mr_run(&repo, &base);
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
    let out = mr_run(&repo, &base);
    assert!(findings(&out).is_empty(), "{:?}", findings(&out));
    assert_eq!(out.status.code(), Some(0));
    // A new object in the MR: transition rules do not run.
    repo.write("apps/c.yaml", &backup(GOOD).replace("nightly", "weekly"));
    let out = mr_run(&repo, &base);
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
    let out = mr_run(&repo, &base);
    assert!(findings(&out).is_empty(), "{:?}", findings(&out));
    // serviceName, immutable data, a shrinking claim: refused, on the changed line.
    repo.write("apps/db.yaml", &sts("db-headless", 3, ""));
    repo.write("apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: prod\nimmutable: true\ndata:\n  mode: slow\n");
    repo.write("apps/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: prod\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 5Gi\n");
    let out = mr_run(&repo, &base);
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
    let out = mr_run(&repo, &base);
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
    let out = mr_run(&repo, &base);
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
    // At the changed label, not at the top of the selector.
    assert_eq!(
        change["immutable"][0]["path"],
        "/spec/selector/matchLabels/app"
    );
    assert!(
        change["agent"].as_str().unwrap().contains("apply fails"),
        "{change:#}"
    );
    let out = repo.kgate(&["diff", "--base", &base]);
    assert!(stdout(&out).contains("immutable"), "{}", stdout(&out));
}

/// A CRD whose rules read fields the schema defaults.
const DEFAULTED_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: mirrors.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    kind: Mirror
    plural: mirrors
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
                - rule: "self.mode == 'Auto' || has(self.target)"
                  message: "a Manual mirror needs a target"
                - rule: "self.policy.retries <= 5"
                  message: "at most 5 retries"
              properties:
                mode:
                  type: string
                  default: Auto
                target: {type: string}
                policy:
                  type: object
                  default: {}
                  properties:
                    retries:
                      type: integer
                      default: 3
"#;

fn mirror(spec: &str) -> String {
    format!("apiVersion: example.com/v1\nkind: Mirror\nmetadata:\n  name: m\n  namespace: prod\nspec:\n{spec}")
}

#[test]
fn rules_see_the_schema_defaults_as_the_api_server_does() {
    // `mode` and `policy.retries` are left to their defaults (Auto, 3): both rules hold.
    let (f, code) = check_files(&[
        ("crd.yaml", DEFAULTED_CRD),
        ("m.yaml", &mirror("  target: \"\"\n")),
    ]);
    assert!(f.is_empty(), "{f:?}");
    assert_eq!(code, Some(0));
    let (f, _) = check_files(&[("crd.yaml", DEFAULTED_CRD), ("m.yaml", &mirror("  {}\n"))]);
    assert!(f.is_empty(), "{f:?}");
    // Explicit values are judged as written.
    let (f, code) = check_files(&[
        ("crd.yaml", DEFAULTED_CRD),
        (
            "m.yaml",
            &mirror("  mode: Manual\n  policy:\n    retries: 9\n"),
        ),
    ]);
    assert_eq!(code, Some(1));
    let msgs: Vec<&str> = f.iter().map(|x| x.3.as_str()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("needs a target"))
            && msgs.iter().any(|m| m.contains("at most 5 retries")),
        "{f:?}"
    );
}

/// `kgate check --base BASE .` in the repository.
fn mr_run(repo: &Repo, base: &str) -> std::process::Output {
    repo.kgate(&[
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        base,
        ".",
    ])
}

fn mr(repo: &Repo, base: &str) -> (Vec<Finding>, Option<i32>) {
    let out = mr_run(repo, base);
    (findings(&out), out.status.code())
}

#[test]
fn updates_never_sent_or_values_the_cluster_fills_in_are_not_refused() {
    let job = |image: &str, meta: &str, spec: &str| {
        format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n{meta}  namespace: prod\nspec:\n{spec}  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: m\n          image: {image}\n")
    };
    let pvc = |extra: &str| {
        format!("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: prod\nspec:\n  accessModes: [ReadWriteOnce]\n{extra}  resources:\n    requests:\n      storage: 10Gi\n")
    };
    let svc = |ty: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  type: {ty}\n  clusterIP: 10.96.0.20\n  externalName: db.example.com\n  ports:\n    - port: 5432\n")
    };
    let repo = Repo::new();
    repo.write(
        "apps/hook.yaml",
        &job(
            "app:1",
            "  name: migrate\n  annotations:\n    argocd.argoproj.io/hook: PreSync\n",
            "",
        ),
    );
    repo.write(
        "apps/gen.yaml",
        &job("app:1", "  generateName: seed-\n", ""),
    );
    repo.write(
        "apps/once.yaml",
        &job(
            "app:1",
            "  name: once\n  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\n",
            "",
        ),
    );
    repo.write(
        "apps/ttl.yaml",
        &job("app:1", "  name: ttl\n", "  ttlSecondsAfterFinished: 600\n"),
    );
    repo.write("apps/plain.yaml", &job("app:1", "  name: plain\n", ""));
    repo.write("apps/pvc.yaml", &pvc("  dataSource:\n    kind: VolumeSnapshot\n    apiGroup: snapshot.storage.k8s.io\n    name: snap\n"));
    repo.write("apps/svc.yaml", &svc("ClusterIP"));
    let base = repo.commit("base");
    // The MR bumps every Job's image, writes out the claim's bound volume, class and the
    // mirrored dataSourceRef, and turns the Service into an ExternalName keeping its IP.
    for (file, meta, spec) in [
        (
            "hook",
            "  name: migrate\n  annotations:\n    argocd.argoproj.io/hook: PreSync\n",
            "",
        ),
        ("gen", "  generateName: seed-\n", ""),
        (
            "once",
            "  name: once\n  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\n",
            "",
        ),
        ("ttl", "  name: ttl\n", "  ttlSecondsAfterFinished: 600\n"),
    ] {
        repo.write(&format!("apps/{file}.yaml"), &job("app:2", meta, spec));
    }
    repo.write("apps/pvc.yaml", &pvc("  storageClassName: standard\n  volumeName: pvc-0a1b\n  dataSource:\n    kind: VolumeSnapshot\n    apiGroup: snapshot.storage.k8s.io\n    name: snap\n  dataSourceRef:\n    kind: VolumeSnapshot\n    apiGroup: snapshot.storage.k8s.io\n    name: snap\n"));
    repo.write("apps/svc.yaml", &svc("ExternalName"));
    let (f, code) = mr(&repo, &base);
    // Only the TTL Job says anything: a warning (it deletes itself and is created anew, but
    // the update is refused while it still exists). Hooks are created anew by Argo CD and
    // Helm, never updated.
    assert_eq!(f.len(), 1, "{f:?}");
    for x in &f {
        assert_eq!(
            (x.0.as_str(), x.1.as_str()),
            ("admission/immutable", "warning")
        );
        assert!(x.3.contains("spec.template"), "{f:?}");
    }
    assert_eq!(code, Some(0));
    // The same change to a plain Job, an explicit class changed, a new explicit IP: refused.
    repo.write("apps/plain.yaml", &job("app:2", "  name: plain\n", ""));
    let base2 = {
        repo.write("apps/pvc.yaml", &pvc("  storageClassName: standard\n"));
        repo.write("apps/svc.yaml", &svc("ClusterIP"));
        let b = repo.commit("explicit class");
        repo.write("apps/plain.yaml", &job("app:3", "  name: plain\n", ""));
        b
    };
    repo.write("apps/pvc.yaml", &pvc("  storageClassName: fast\n"));
    repo.write(
        "apps/svc.yaml",
        &svc("ExternalName").replace("10.96.0.20", "10.96.0.21"),
    );
    let (f, code) = mr(&repo, &base2);
    assert_eq!(code, Some(1), "{f:?}");
    assert!(
        f.iter()
            .any(|x| x.1 == "error" && x.3.contains("spec.template")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|x| x.1 == "error" && x.3.contains("spec.storageClassName")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|x| x.1 == "error" && x.3.contains("ExternalName")),
        "{f:?}"
    );
    // The template, the class, the changed IP and the IP kept into an ExternalName.
    assert_eq!(f.iter().filter(|x| x.1 == "error").count(), 4, "{f:?}");
}

#[test]
fn objects_are_paired_within_their_unit() {
    // Two example folders hold the same identity with different selectors (as
    // kubernetes/examples does): each is compared with its own base, never with the other.
    let dep = |app: &str, replicas: u32| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: redis\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:\n      containers:\n        - name: redis\n          image: redis:7\n")
    };
    let repo = Repo::new();
    repo.write("a/redis.yaml", &dep("redis", 1));
    repo.write("b/redis.yaml", &dep("cache", 1));
    let base = repo.commit("base");
    repo.write("a/redis.yaml", &dep("redis", 2));
    repo.write("b/redis.yaml", &dep("cache", 3));
    let (f, code) = mr(&repo, &base);
    assert!(f.is_empty(), "{f:?}");
    assert_eq!(code, Some(0));
    // A real selector change in one of them is found, at the changed label.
    repo.write("b/redis.yaml", &dep("cache2", 3));
    let (f, code) = mr(&repo, &base);
    assert_eq!(code, Some(1), "{f:?}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].0.as_str(), f[0].2), ("admission/immutable", 9));
    // A moved file keeps its pairing when the identity is unique.
    let repo = Repo::new();
    repo.write("old/redis.yaml", &dep("redis", 1));
    let base = repo.commit("base");
    repo.remove("old/redis.yaml");
    repo.write("new/redis.yaml", &dep("redis-2", 1));
    let (f, _) = mr(&repo, &base);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "admission/immutable");
}

#[test]
fn a_refused_change_made_by_a_kustomization_is_reported_there() {
    let repo = Repo::new();
    repo.write("app/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.yaml\n");
    repo.write("app/web.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n");
    let base = repo.commit("base");
    // Labels that include selectors: the Deployment's selector changes.
    repo.write("app/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.yaml\nlabels:\n  - pairs:\n      team: web\n    includeSelectors: true\n");
    let out = mr_run(&repo, &base);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d: Vec<&Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "admission/immutable")
        .collect();
    assert_eq!(d.len(), 1, "{v:#}");
    assert_eq!(d[0]["file"], "app/kustomization.yaml", "{:#}", d[0]);
    assert_eq!(d[0]["line"], 7, "{:#}", d[0]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_rule_too_costly_to_run_is_a_note_not_a_stall() {
    // A CRD of the scanned repository whose rule nests comprehensions over a long list: the
    // API server would stop it at its cost limit; kgate does not start it.
    let crd = DEFAULTED_CRD.replace(
        "                - rule: \"self.policy.retries <= 5\"\n                  message: \"at most 5 retries\"\n",
        "                - rule: \"!has(self.items) || self.items.all(a, self.items.all(b, self.items.all(c, a + b + c >= 0)))\"\n",
    ).replace(
        "                target: {type: string}\n",
        "                target: {type: string}\n                items:\n                  type: array\n                  items: {type: integer}\n",
    );
    assert_ne!(crd, DEFAULTED_CRD);
    let items: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    let spec = format!("  items: [{}]\n", items.join(", "));
    let started = std::time::Instant::now();
    let (f, code) = check_files(&[("crd.yaml", &crd), ("m.yaml", &mirror(&spec))]);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, "note");
    assert!(f[0].3.contains("not evaluated"), "{f:?}");
    assert_eq!(code, Some(0));
    // A short list is evaluated.
    let (f, code) = check_files(&[("crd.yaml", &crd), ("m.yaml", &mirror("  items: [1, 2]\n"))]);
    assert!(f.is_empty(), "{f:?}");
    assert_eq!(code, Some(0));
}

const TIER_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: tiers.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    kind: Tier
    plural: tiers
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
                level:
                  type: string
                  x-kubernetes-validations:
                    - rule: "oldSelf.hasValue() ? self != 'bronze' || oldSelf.value() == 'bronze' : self == 'bronze'"
                      optionalOldSelf: true
                      message: "a tier starts at bronze and never returns to it"
                name:
                  type: string
                  x-kubernetes-validations:
                    - rule: "!format.dns1123Label().validate(self).hasValue()"
                      messageExpression: "'name: ' + format.dns1123Label().validate(self).value().join(', ')"
"#;

fn tier(name: &str, level: &str) -> String {
    format!("apiVersion: example.com/v1\nkind: Tier\nmetadata:\n  name: {name}\n  namespace: prod\nspec:\n  level: {level}\n  name: {name}\n")
}

/// `optionalOldSelf: true` transition rules also run when the merge request creates the object
/// (oldSelf = optional.none()), and with `optional.of(base)` on update; the `format` library's
/// reasons reach the message. A plain run (no base) never runs them: it cannot tell a create.
#[test]
fn optional_old_self_rules_run_on_create_and_update() {
    let repo = Repo::new();
    repo.write("crds/tier.yaml", TIER_CRD);
    repo.write("apps/a.yaml", &tier("a", "bronze"));
    let base = repo.commit("base");
    // Created at silver: refused. Created at bronze: fine.
    repo.write("apps/b.yaml", &tier("b", "silver"));
    repo.write("apps/c.yaml", &tier("c", "bronze"));
    let (f, code) = mr(&repo, &base);
    assert_eq!(code, Some(1), "{f:?}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "admission/cel");
    assert!(f[0].3.contains("starts at bronze"), "{f:?}");
    assert_eq!(f[0].2, 7, "{f:?}");
    // Updates: bronze → gold is fine; an object at gold back to bronze is refused.
    repo.remove("apps/b.yaml");
    repo.write("apps/a.yaml", &tier("a", "gold"));
    let head = repo.commit("gold");
    let (f, code) = mr(&repo, &base);
    assert!(f.is_empty(), "{f:?}");
    assert_eq!(code, Some(0));
    repo.write("apps/a.yaml", &tier("a", "bronze"));
    let (f, _) = mr(&repo, &head);
    assert!(f.iter().any(|x| x.3.contains("never returns")), "{f:?}");
    // Without a base, nothing is known of the old object: the rule is not run.
    let (f, _) = check_files(&[("crd.yaml", TIER_CRD), ("t.yaml", &tier("t", "silver"))]);
    assert!(f.is_empty(), "{f:?}");
    // The format library's reason is the message.
    let (f, code) = check_files(&[
        ("crd.yaml", TIER_CRD),
        ("t.yaml", &tier("Bad_Name", "bronze")),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        f.iter()
            .any(|x| x.3.contains("name: must be a lowercase RFC 1123 label")),
        "{f:?}"
    );
}
