//! Admission rules beyond the schema (`admission/name`, `admission/duplicate-key`,
//! `admission/invalid`): each rule on valid and invalid objects of several shapes, with the
//! exact line of the finding.

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

/// (code, severity, line, message) of one admission finding.
type Finding = (String, String, u64, String);

/// Runs `kgate check` on one file holding `yaml`; returns (code, severity, line, message) of
/// every admission finding, and the exit code.
fn admission_findings(yaml: &str) -> (Vec<Finding>, Option<i32>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), yaml).unwrap();
    let out = kgate_in(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--no-builtin-policies",
            "m.yaml",
        ],
    );
    let found = findings_of(&out, &["admission/"]);
    (found, out.status.code())
}

/// (code, severity, line) of every admission finding, and the exit code.
fn admission(yaml: &str) -> (Vec<(String, String, u64)>, Option<i32>) {
    let (found, code) = admission_findings(yaml);
    (
        found.into_iter().map(|(c, s, l, _)| (c, s, l)).collect(),
        code,
    )
}

fn errors_at(yaml: &str) -> Vec<(String, u64)> {
    admission(yaml)
        .0
        .into_iter()
        .filter(|(_, s, _)| s == "error")
        .map(|(c, _, l)| (c, l))
        .collect()
}

fn clean(yaml: &str) {
    let (found, code) = admission(yaml);
    assert!(found.is_empty(), "unexpected findings {found:?} in\n{yaml}");
    assert_eq!(code, Some(0), "{yaml}");
}

fn deployment(meta_extra: &str, sel: &str, tmpl_labels: &str, spec: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
{meta_extra}spec:
  selector:
{sel}
  template:
    metadata:
      labels:
{tmpl_labels}
    spec:
{spec}"
    )
}

const SEL: &str = "    matchLabels:\n      app: web";
const LABELS: &str = "        app: web";
const POD: &str = "      containers:\n        - name: web\n          image: nginx:1.27\n";

#[test]
fn valid_objects_have_no_admission_findings() {
    clean(&deployment("", SEL, LABELS, POD));
    clean(&deployment(
        "  labels:\n    app.kubernetes.io/name: web\n    version: v1.2_3\n    empty: \"\"\n  annotations:\n    example.com/Some_Key: anything goes here\n",
        "    matchExpressions:\n      - key: app\n        operator: In\n        values: [web, api]\n      - key: tier\n        operator: DoesNotExist",
        LABELS,
        "      initContainers:\n        - name: init\n          image: busybox\n      containers:\n        - name: web\n          image: nginx\n          ports:\n            - name: http\n              containerPort: 80\n            - name: metrics\n              containerPort: 9090\n          volumeMounts:\n            - name: data\n              mountPath: /data\n          env:\n            - name: A\n              value: \"1\"\n          livenessProbe:\n            httpGet:\n              path: /\n              port: http\n          resources:\n            requests:\n              cpu: 100m\n              memory: 1Gi\n            limits:\n              cpu: \"1\"\n              memory: 1Gi\n      volumes:\n        - name: data\n          emptyDir: {}\n",
    ));
    clean("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n    - name: http\n      port: 80\n      targetPort: http\n    - name: dns\n      port: 53\n      protocol: UDP\n    - name: dns-tcp\n      port: 53\n      protocol: TCP\n");
    clean("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: system:aggregate-to-view:extra\nrules: []\n");
    clean("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: backup\nspec:\n  schedule: \"@every 6h\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n            - name: b\n              image: busybox\n");
    // Flux substitution variables are judged after substitution, not before.
    clean(&deployment(
        "  labels:\n    cluster: ${cluster_name}\n",
        "    matchLabels:\n      app: ${app}",
        LABELS,
        POD,
    ));
}

#[test]
fn names_per_kind() {
    let e = errors_at("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: My_Config\ndata: {}\n");
    assert_eq!(e, vec![("admission/name".to_string(), 4)]);
    // A DNS subdomain (dots) is fine for a ConfigMap but not for a Service or a Namespace.
    clean("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app.config\ndata: {}\n");
    let e = errors_at("apiVersion: v1\nkind: Service\nmetadata:\n  name: app.web\nspec:\n  ports:\n    - port: 80\n");
    assert_eq!(e, vec![("admission/name".to_string(), 4)]);
    let e = errors_at(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: 1web\nspec:\n  ports:\n    - port: 80\n",
    );
    assert_eq!(e, vec![("admission/name".to_string(), 4)]);
    let e = errors_at("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team.a\n");
    assert_eq!(e, vec![("admission/name".to_string(), 4)]);
    let e = errors_at(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  namespace: Prod\ndata: {}\n",
    );
    assert_eq!(e, vec![("admission/name".to_string(), 5)]);
    // generateName may end with '-'.
    clean("apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: m\n          image: busybox\n");
    let long = "a".repeat(53);
    let e = errors_at(&format!("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {long}\nspec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers:\n            - name: b\n              image: busybox\n"));
    assert_eq!(e, vec![("admission/name".to_string(), 4)]);
    let e = errors_at("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: a/b\n  namespace: x\nrules: []\n");
    assert_eq!(e, vec![("admission/name".to_string(), 4)]);
    let e = errors_at("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widget.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names:\n    kind: Widget\n    plural: widgets\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n");
    assert_eq!(e, vec![("admission/name".to_string(), 4)]);
}

#[test]
fn labels_and_annotations() {
    let e = errors_at(&deployment(
        "  labels:\n    team: platform team\n    bad key: x\n    example.com/a/b: y\n",
        SEL,
        LABELS,
        POD,
    ));
    assert_eq!(
        e,
        vec![
            ("admission/name".to_string(), 7),
            ("admission/name".to_string(), 8),
            ("admission/name".to_string(), 9)
        ]
    );
    let long = "v".repeat(64);
    let e = errors_at(&deployment(
        "",
        SEL,
        &format!("        app: web\n        version: {long}"),
        POD,
    ));
    assert_eq!(e, vec![("admission/name".to_string(), 14)]);
    let e = errors_at(&deployment(
        "  annotations:\n    -bad/key: x\n",
        SEL,
        LABELS,
        POD,
    ));
    // At the key itself (line 7), not at `annotations:`.
    assert_eq!(e, vec![("admission/name".to_string(), 7)]);
    // Selector values are label values too.
    let e = errors_at(&deployment(
        "",
        "    matchLabels:\n      app: web\n    matchExpressions:\n      - key: tier\n        operator: NotIn\n        values: [\"a b\"]",
        LABELS,
        POD,
    ));
    assert_eq!(e, vec![("admission/name".to_string(), 13)]);
    // 256 KiB of annotations in total.
    let big = "x".repeat(140_000);
    let e = errors_at(&format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  annotations:\n    a: {big}\n    b: {big}\ndata: {{}}\n"));
    assert_eq!(e, vec![("admission/name".to_string(), 5)]);
}

#[test]
fn selectors_must_match_templates() {
    let e = errors_at(&deployment(
        "",
        "    matchLabels:\n      app: api",
        LABELS,
        POD,
    ));
    // At the template's labels (line 13), where the API server's field path points.
    assert_eq!(e, vec![("admission/invalid".to_string(), 13)]);
    let e = errors_at(&deployment(
        "",
        "    matchExpressions:\n      - key: app\n        operator: In\n        values: [api]",
        LABELS,
        POD,
    ));
    assert_eq!(e, vec![("admission/invalid".to_string(), 15)]);
    let e = errors_at(&deployment("", "    matchLabels: {}", LABELS, POD));
    assert_eq!(e, vec![("admission/invalid".to_string(), 8)]);
    let e = errors_at(&deployment(
        "",
        "    matchExpressions:\n      - key: app\n        operator: Exists\n        values: [web]",
        LABELS,
        POD,
    ));
    assert_eq!(e, vec![("admission/invalid".to_string(), 9)]);
    // StatefulSet and DaemonSet too; a Job only with manualSelector.
    let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  serviceName: db\n  selector:\n    matchLabels:\n      app: db\n  template:\n    metadata:\n      labels:\n        app: database\n    spec:\n      containers:\n        - name: db\n          image: postgres\n";
    assert_eq!(errors_at(sts), vec![("admission/invalid".to_string(), 13)]);
    let job = |manual: &str| {
        format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n{manual}  selector:\n    matchLabels:\n      job: x\n  template:\n    metadata:\n      labels:\n        job: y\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: j\n          image: busybox\n")
    };
    assert_eq!(
        errors_at(&job("  manualSelector: true\n")),
        vec![("admission/invalid".to_string(), 13)]
    );
}

#[test]
fn pod_spec_rules() {
    // Two containers named web: a duplicate key; an init container named like an app
    // container: invalid.
    let e = errors_at(&deployment("", SEL, LABELS, "      initContainers:\n        - name: web\n          image: busybox\n      containers:\n        - name: web\n          image: nginx\n        - name: web\n          image: nginx\n"));
    assert_eq!(
        e,
        vec![
            ("admission/invalid".to_string(), 19),
            ("admission/duplicate-key".to_string(), 21)
        ]
    );
    // Duplicate volumes, an undeclared mount, a duplicate mount path.
    let e = errors_at(&deployment("", SEL, LABELS, "      containers:\n        - name: web\n          image: nginx\n          volumeMounts:\n            - name: data\n              mountPath: /data\n            - name: cache\n              mountPath: /data\n      volumes:\n        - name: data\n          emptyDir: {}\n        - name: data\n          emptyDir: {}\n"));
    assert_eq!(
        e,
        vec![
            ("admission/invalid".to_string(), 21),
            ("admission/duplicate-key".to_string(), 22),
            ("admission/duplicate-key".to_string(), 26)
        ]
    );
    // A StatefulSet mount may name a volumeClaimTemplate.
    clean("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  serviceName: db\n  selector:\n    matchLabels:\n      app: db\n  template:\n    metadata:\n      labels:\n        app: db\n    spec:\n      containers:\n        - name: db\n          image: postgres\n          volumeMounts:\n            - name: pgdata\n              mountPath: /var/lib/postgresql\n  volumeClaimTemplates:\n    - metadata:\n        name: pgdata\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 1Gi\n");
    // Port names, probes with zero or two handlers, requests above limits.
    let e = errors_at(&deployment("", SEL, LABELS, "      containers:\n        - name: web\n          image: nginx\n          ports:\n            - name: http-metrics-port\n              containerPort: 9090\n          readinessProbe:\n            periodSeconds: 5\n          livenessProbe:\n            exec:\n              command: [true]\n            tcpSocket:\n              port: 80\n          resources:\n            requests:\n              memory: 2Gi\n            limits:\n              memory: 1Gi\n"));
    assert_eq!(
        e,
        vec![
            ("admission/invalid".to_string(), 19),
            ("admission/invalid".to_string(), 21),
            ("admission/invalid".to_string(), 23),
            ("admission/invalid".to_string(), 30)
        ]
    );
    // Duplicate env names are a warning (the API server warns), exit 0.
    let (found, code) = admission(&deployment("", SEL, LABELS, "      containers:\n        - name: web\n          image: nginx\n          env:\n            - name: A\n              value: \"1\"\n            - name: A\n              value: \"2\"\n"));
    assert_eq!(
        found,
        vec![(
            "admission/duplicate-key".to_string(),
            "warning".to_string(),
            21
        )]
    );
    assert_eq!(code, Some(0));
}

#[test]
fn services_cronjobs_ingresses() {
    let svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n    - name: https\n      port: 443\n    - name: https\n      port: 80\n    - name: Metrics\n      port: 9090\n      targetPort: metrics-port-too-long\n";
    assert_eq!(
        errors_at(svc),
        vec![
            ("admission/invalid".to_string(), 7),
            ("admission/duplicate-key".to_string(), 10),
            ("admission/duplicate-key".to_string(), 11),
            ("admission/invalid".to_string(), 12),
            ("admission/invalid".to_string(), 14)
        ]
    );
    let cron = |s: &str| {
        format!("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\nspec:\n  schedule: \"{s}\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers:\n            - name: c\n              image: busybox\n")
    };
    for bad in [
        "0 0 * * 7",
        "61 * * * *",
        "* * * *",
        "@weekday",
        "*/0 * * * *",
    ] {
        assert_eq!(
            errors_at(&cron(bad)),
            vec![("admission/invalid".to_string(), 6)],
            "{bad}"
        );
    }
    for ok in [
        "0 3 * * mon-fri",
        "@hourly",
        "*/15 * * * *",
        "0 0 1 jan,jul ?",
    ] {
        clean(&cron(ok));
    }
    let (found, code) = admission(&cron("TZ=UTC 0 1 * * *"));
    assert_eq!(
        found,
        vec![("admission/invalid".to_string(), "warning".to_string(), 6)]
    );
    assert_eq!(code, Some(0));
    let ing = |path: &str, ty: &str, host: &str| {
        format!("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\nspec:\n  rules:\n    - host: {host}\n      http:\n        paths:\n          - path: {path}\n            pathType: {ty}\n            backend:\n              service:\n                name: web\n                port:\n                  number: 80\n")
    };
    clean(&ing("/api", "Prefix", "example.com"));
    clean(&ing("/", "Exact", "\"*.example.com\""));
    clean(&ing("/(.*)", "ImplementationSpecific", "a.example.com"));
    assert_eq!(
        errors_at(&ing("api", "Prefix", "example.com")),
        vec![("admission/invalid".to_string(), 10)]
    );
    assert_eq!(
        errors_at(&ing("/a//b", "Exact", "example.com")),
        vec![("admission/invalid".to_string(), 10)]
    );
    assert_eq!(
        errors_at(&ing("/a/..", "Prefix", "example.com")),
        vec![("admission/invalid".to_string(), 10)]
    );
    assert_eq!(
        errors_at(&ing("/", "Prefix", "10.0.0.1")),
        vec![("admission/invalid".to_string(), 7)]
    );
    assert_eq!(
        errors_at(&ing("/", "Prefix", "Example.com")),
        vec![("admission/invalid".to_string(), 7)]
    );
}

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    kind: Widget
    plural: widgets
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
                ports:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [port, protocol]
                  items:
                    type: object
                    required: [port, protocol]
                    properties:
                      port: {type: integer}
                      protocol: {type: string}
                tags:
                  type: array
                  x-kubernetes-list-type: set
                  items: {type: string}
---
";

#[test]
fn crd_list_types() {
    let ok = format!("{CRD}apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  ports:\n    - port: 80\n      protocol: TCP\n    - port: 80\n      protocol: UDP\n  tags: [a, b]\n");
    clean(&ok);
    let bad = format!("{CRD}apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  ports:\n    - port: 80\n      protocol: TCP\n    - port: 80\n      protocol: TCP\n  tags: [a, b, a]\n");
    assert_eq!(
        errors_at(&bad),
        vec![
            ("admission/duplicate-key".to_string(), 45),
            ("admission/duplicate-key".to_string(), 47)
        ]
    );
    // Custom resource names are DNS subdomains.
    let e = errors_at(&format!(
        "{CRD}apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: W_1\nspec: {{}}\n"
    ));
    assert_eq!(e, vec![("admission/name".to_string(), 40)]);
}

#[test]
fn explain_lists_the_rules_with_sources() {
    let dir = tempfile::tempdir().unwrap();
    for code in [
        "admission/name",
        "admission/duplicate-key",
        "admission/invalid",
    ] {
        let out = kgate_in(dir.path(), &["explain", code]);
        assert_eq!(out.status.code(), Some(0), "{code}");
        assert!(stdout(&out).contains("validation"), "{code}");
    }
    let out = kgate_in(dir.path(), &["explain", "admission/invalid"]);
    for source in [
        "ValidateDeploymentSpec",
        "validateScheduleFormat",
        "validateHTTPIngressPath",
    ] {
        assert!(stdout(&out).contains(source), "{source}");
    }
}

#[test]
fn names_the_api_server_accepts_for_their_kind() {
    // Claims are named like volumes (ValidatePersistentVolumeName: a path segment).
    clean("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: Data_Vol\n  namespace: prod\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n");
    clean("apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: NFS_Share\nspec:\n  capacity:\n    storage: 1Gi\n  accessModes: [ReadWriteMany]\n  nfs:\n    server: nfs.example.com\n    path: /exports\n");
    let e = errors_at("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: a/b\n  namespace: prod\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n");
    assert_eq!(e, vec![("admission/name".to_string(), 4)]);
    // A ClusterTrustBundle is named `<signer>:<name>`.
    clean("apiVersion: certificates.k8s.io/v1beta1\nkind: ClusterTrustBundle\nmetadata:\n  name: \"example.com:signer:roots\"\nspec:\n  signerName: example.com/signer\n  trustBundle: |\n    x\n");
}

#[test]
fn rules_deferred_to_the_pods_and_jobs_a_controller_creates() {
    // A StatefulSet's pod spec is validated when its Pods are created, not with it: still an
    // error (no Pod ever starts), and the message says so.
    let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  serviceName: db\n  selector:\n    matchLabels:\n      app: db\n  template:\n    metadata:\n      labels:\n        app: db\n    spec:\n      containers:\n        - name: db\n          image: postgres\n          volumeMounts:\n            - name: data\n              mountPath: /var/lib/postgresql\n            - name: scratch\n              mountPath: /tmp\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 1Gi\n";
    let f = admission_findings(sts).0;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].0.as_str(), f[0].2), ("admission/invalid", 21));
    assert!(
        f[0].3.contains("\"scratch\"") && f[0].3.contains("refuses every Pod it creates"),
        "{f:?}"
    );
    // A CronJob's jobTemplate metadata is copied into each Job: refused there.
    let cron = |meta: &str, spec_extra: &str| {
        format!("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: backup\nspec:\n  schedule: \"0 3 * * *\"\n  jobTemplate:\n{meta}    spec:\n{spec_extra}      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n            - name: b\n              image: busybox\n")
    };
    let f = admission_findings(&cron(
        "    metadata:\n      labels:\n        team: data team\n",
        "",
    ))
    .0;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].0.as_str(), f[0].2), ("admission/name", 10));
    assert!(f[0].3.contains("refuses every Job it creates"), "{f:?}");
    clean(&cron(
        "    metadata:\n      labels:\n        team: data\n",
        "",
    ));
    // Its Jobs' selector is generated: a jobTemplate may not set one.
    let e = errors_at(&cron(
        "",
        "      selector:\n        matchLabels:\n          app: backup\n",
    ));
    assert_eq!(e, vec![("admission/invalid".to_string(), 9)]);
    let e = errors_at(&cron("", "      manualSelector: true\n"));
    assert_eq!(e, vec![("admission/invalid".to_string(), 9)]);
}

#[test]
fn job_selectors_are_generated_unless_manual() {
    let job = |spec_extra: &str| {
        format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n{spec_extra}  template:\n    metadata:\n      labels:\n        app: migrate\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: m\n          image: busybox\n")
    };
    // A label of the user's own without manualSelector: "`selector` not auto-generated".
    let e = errors_at(&job("  selector:\n    matchLabels:\n      app: migrate\n"));
    assert_eq!(e, vec![("admission/invalid".to_string(), 7)]);
    // The generated labels (a Job exported from a cluster) and manual selectors are fine.
    clean(&job(
        "  selector:\n    matchLabels:\n      batch.kubernetes.io/controller-uid: 4f1c\n",
    ));
    clean(&job(
        "  manualSelector: true\n  selector:\n    matchLabels:\n      app: migrate\n",
    ));
    clean(&job(""));
}
