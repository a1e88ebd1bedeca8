//! The built-in plan checks (`plan/destructive`, `plan/recreate`, `plan/dangling-reference`,
//! `plan/image-automation`) end to end: generated git repositories, the real binary in
//! merge-request mode (`check --base` and `kgate diff`), assertions on codes, places, messages,
//! exit codes, severity overrides and exceptions — and on merge requests that must pass.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

fn flux_ks(name: &str, path: &str, prune: bool) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./{path}\n  prune: {prune}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )
}

fn namespace(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

fn cm(name: &str, ns: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  k: v\n")
}

/// One plan finding: (code, severity, file, line, message, suppressed, pre_existing).
#[derive(Debug, Clone)]
struct F {
    code: String,
    severity: String,
    file: String,
    line: u64,
    message: String,
    suppressed: bool,
}

fn plan_findings(list: &Value) -> Vec<F> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"].as_str().unwrap().starts_with("plan/"))
        .map(|d| F {
            code: d["code"].as_str().unwrap().to_string(),
            severity: d["severity"].as_str().unwrap().to_string(),
            file: d["file"].as_str().unwrap_or_default().to_string(),
            line: d["line"].as_u64().unwrap_or(0),
            message: d["message"].as_str().unwrap_or_default().to_string(),
            suppressed: d["suppressed"] == true,
        })
        .collect()
}

/// `check --base BASE` (built-in policies off: these tests are about the plan) → exit code and
/// the plan findings.
fn check(repo: &Repo, base: &str, extra: &[&str]) -> (Option<i32>, Vec<F>, Value) {
    let mut args = vec![
        "check",
        "--format",
        "json",
        "--no-builtin-policies",
        "--base",
        base,
    ];
    args.extend_from_slice(extra);
    let out = repo.kgate(&args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), plan_findings(&v["diagnostics"]), v)
}

/// `kgate diff --format json` → the plan's findings.
fn diff_findings(repo: &Repo, base: &str) -> (Vec<F>, Value) {
    let plan = repo.plan(&["--base", base]);
    (plan_findings(&plan["findings"]), plan)
}

fn codes(found: &[F]) -> Vec<&str> {
    found.iter().map(|f| f.code.as_str()).collect()
}

/// A cluster whose `infra` Kustomization holds a monitoring folder with its Namespace.
fn monitoring_repo(prune: bool) -> (Repo, String) {
    let repo = Repo::new();
    repo.write(
        "clusters/prod/infra.yaml",
        &flux_ks("infra", "infrastructure", prune),
    );
    repo.write(
        "infrastructure/monitoring/ns.yaml",
        &namespace("monitoring"),
    );
    repo.write(
        "infrastructure/monitoring/grafana.yaml",
        &cm("grafana", "monitoring"),
    );
    repo.write(
        "infrastructure/monitoring/loki.yaml",
        &cm("loki", "monitoring"),
    );
    repo.write("infrastructure/ingress/ns.yaml", &namespace("ingress"));
    let base = repo.commit("base");
    // The MR moves the folder out of the Kustomization's path (and forgets a unit for it).
    for f in ["ns.yaml", "grafana.yaml", "loki.yaml"] {
        let text =
            std::fs::read_to_string(repo.path().join("infrastructure/monitoring").join(f)).unwrap();
        repo.remove(&format!("infrastructure/monitoring/{f}"));
        repo.write(&format!("observability/monitoring/{f}"), &text);
    }
    (repo, base)
}

#[test]
fn a_folder_moved_out_of_a_pruning_unit_deletes_its_namespace() {
    let (repo, base) = monitoring_repo(true);
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(codes(&found), ["plan/destructive"], "{found:#?}");
    let f = &found[0];
    assert_eq!(code, Some(1));
    assert_eq!(f.severity, "error");
    // On the deleted object's place at the base.
    assert_eq!(
        (f.file.as_str(), f.line),
        ("infrastructure/monitoring/ns.yaml", 1)
    );
    assert!(
        f.message.starts_with(
            "Kustomization flux-system/infra prunes Namespace monitoring: Kubernetes deletes \
             everything in the namespace with it — 2 objects of this repository"
        ),
        "{}",
        f.message
    );
    // The plan says the same, and `kgate diff` lists the finding (a plan still exits 0).
    let (found, plan) = diff_findings(&repo, &base);
    assert_eq!(codes(&found), ["plan/destructive"]);
    let infra = unit(&plan, "flux-system/infra");
    assert!(infra["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["action"] == "delete" && c["pruned"] == true));
    let human = stdout(&repo.kgate(&["diff", "--base", &base]));
    assert!(human.contains("Plan checks:"), "{human}");
    assert!(
        human.contains("infrastructure/monitoring/ns.yaml:1:1: error[plan/destructive] Kustomization flux-system/infra prunes Namespace monitoring"),
        "{human}"
    );
    // The human report of `check` shows the base file's lines (the head has no such file).
    let out = repo.kgate(&["check", "--no-builtin-policies", "--base", &base]);
    let text = stdout(&out);
    assert!(text.contains("plan/destructive"), "{text}");
    assert!(text.contains("kind: Namespace"), "{text}");
}

#[test]
fn a_folder_moved_out_of_a_unit_without_prune_is_orphaned_not_destroyed() {
    let (repo, base) = monitoring_repo(false);
    let (code, found, _) = check(&repo, &base, &[]);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(code, Some(0));
    let (found, plan) = diff_findings(&repo, &base);
    assert!(found.is_empty(), "{found:#?}");
    assert!(unit(&plan, "flux-system/infra")["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["action"] == "delete" && c["pruned"] == false));
}

#[test]
fn a_folder_moved_to_another_pruning_unit_is_recreated() {
    let (repo, base) = monitoring_repo(true);
    repo.write(
        "clusters/prod/observability.yaml",
        &flux_ks("observability", "observability", true),
    );
    let (_, found, _) = check(&repo, &base, &[]);
    let recreate: Vec<&F> = found.iter().filter(|f| f.code == "plan/recreate").collect();
    assert_eq!(recreate.len(), 1, "{found:#?}");
    let r = recreate[0];
    assert_eq!(r.severity, "warning");
    assert!(
        r.message.starts_with(
            "3 objects (Namespace monitoring, ConfigMap monitoring/grafana, ConfigMap \
             monitoring/loki) move from Kustomization flux-system/infra to Kustomization \
             flux-system/observability"
        ),
        "{}",
        r.message
    );
    assert!(r.file.starts_with("observability/monitoring/"), "{r:?}");
    // Deleting the Namespace first still destroys what was in it.
    let d: Vec<&F> = found
        .iter()
        .filter(|f| f.code == "plan/destructive")
        .collect();
    assert_eq!(d.len(), 1, "{found:#?}");
    assert!(
        d[0].message
            .contains("Kustomization flux-system/observability creates it again"),
        "{}",
        d[0].message
    );
}

#[test]
fn a_renamed_flux_kustomization_recreates_its_objects() {
    let repo = Repo::new();
    repo.write("clusters/prod/apps.yaml", &flux_ks("apps", "apps", true));
    repo.write("apps/a.yaml", &cm("a", "shop"));
    repo.write("apps/b.yaml", &cm("b", "shop"));
    let base = repo.commit("base");
    repo.write(
        "clusters/prod/apps.yaml",
        &flux_ks("applications", "apps", true),
    );
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(codes(&found), ["plan/recreate"], "{found:#?}");
    let f = &found[0];
    // On the renamed unit's name at the head.
    assert_eq!((f.file.as_str(), f.line), ("clusters/prod/apps.yaml", 4));
    assert!(
        f.message.starts_with(
            "Kustomization flux-system/apps is renamed to flux-system/applications: Flux \
             deletes the 2 objects of flux-system/apps (ConfigMap shop/a, ConfigMap shop/b)"
        ),
        "{}",
        f.message
    );
    // A warning: the gate passes unless --fail-on warning.
    assert_eq!(code, Some(0));
    let (code, _, _) = check(&repo, &base, &["--fail-on", "warning"]);
    assert_eq!(code, Some(1));
}

fn argo_app(name: &str, finalizer: bool, prune: bool) -> String {
    let fin = if finalizer {
        "  finalizers:\n    - resources-finalizer.argocd.argoproj.io\n"
    } else {
        ""
    };
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n{fin}spec:\n  project: default\n  source:\n    repoURL: https://git.example.com/shop.git\n    path: deploy/shop\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: shop\n  syncPolicy:\n    automated:\n      prune: {prune}\n"
    )
}

#[test]
fn a_renamed_argo_application_recreates_only_with_its_resources_finalizer() {
    for finalizer in [true, false] {
        let repo = Repo::new();
        repo.write("argocd/shop.yaml", &argo_app("shop", finalizer, true));
        repo.write("deploy/shop/a.yaml", &cm("a", "shop"));
        let base = repo.commit("base");
        repo.write("argocd/shop.yaml", &argo_app("webshop", finalizer, true));
        let (_, found, _) = check(&repo, &base, &[]);
        if finalizer {
            assert_eq!(codes(&found), ["plan/recreate"], "{found:#?}");
            assert!(
                found[0].message.starts_with(
                    "Application argocd/shop is renamed to argocd/webshop: Argo CD deletes"
                ),
                "{}",
                found[0].message
            );
        } else {
            // Without the finalizer deleting the Application leaves its objects; the new one
            // adopts them.
            assert!(found.is_empty(), "{found:#?}");
            let plan = repo.plan(&["--base", &base]);
            let old = unit(&plan, "argocd/shop");
            assert_eq!(old["changes"][0]["pruned"], false, "{plan:#}");
        }
    }
}

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
    singular: widget
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
"#;

fn widget(name: &str) -> String {
    format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\n  namespace: shop\nspec:\n  size: 1\n")
}

#[test]
fn a_removed_crd_takes_its_custom_resources() {
    let repo = Repo::new();
    repo.write("clusters/prod/crds.yaml", &flux_ks("crds", "crds", true));
    repo.write("clusters/prod/apps.yaml", &flux_ks("apps", "apps", true));
    repo.write("crds/widget.yaml", WIDGET_CRD);
    // The folder keeps a file: a Flux path that disappears fails the build and prunes nothing.
    repo.write(
        "crds/gadget.yaml",
        &WIDGET_CRD
            .replace("widget", "gadget")
            .replace("Widget", "Gadget"),
    );
    repo.write("apps/w1.yaml", &widget("w1"));
    repo.write("apps/w2.yaml", &widget("w2"));
    repo.write("apps/w3.yaml", &widget("w3"));
    let base = repo.commit("base");
    repo.remove("crds/widget.yaml");
    repo.remove("apps/w3.yaml");
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(codes(&found), ["plan/destructive"], "{found:#?}");
    let f = &found[0];
    assert_eq!((f.file.as_str(), f.line), ("crds/widget.yaml", 1));
    assert_eq!(
        f.message,
        "Kustomization flux-system/crds prunes CustomResourceDefinition widgets.example.com: the \
         API server deletes every Widget (example.com) in the cluster with it — 3 objects in \
         this repository; 2 of them are still in the repository at the head and no longer apply"
    );
}

const PVC: &str = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: db\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n";

fn pv(name: &str, policy: &str) -> String {
    format!("apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\nspec:\n  capacity:\n    storage: 1Gi\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: {policy}\n  hostPath:\n    path: /data/{name}\n")
}

fn sts(name: &str, templates: bool) -> String {
    let vct = if templates {
        "  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 1Gi\n"
    } else {
        ""
    };
    format!("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {name}\n  namespace: db\nspec:\n  serviceName: {name}\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n        - name: db\n          image: postgres:16.4\n{vct}")
}

#[test]
fn pruned_claims_volumes_and_stateful_sets_with_templates_are_destructive() {
    let repo = Repo::new();
    repo.write("clusters/prod/data.yaml", &flux_ks("data", "data", true));
    repo.write("data/pvc.yaml", PVC);
    repo.write("data/pv-delete.yaml", &pv("pv-delete", "Delete"));
    repo.write("data/pv-retain.yaml", &pv("pv-retain", "Retain"));
    repo.write("data/sts.yaml", &sts("pg", true));
    repo.write("data/sts-plain.yaml", &sts("cache", false));
    repo.write(
        "data/kept.yaml",
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: kept\n  namespace: db\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n",
    );
    repo.write("data/keep.yaml", &cm("keep", "db"));
    let base = repo.commit("base");
    for f in [
        "pvc.yaml",
        "pv-delete.yaml",
        "pv-retain.yaml",
        "sts.yaml",
        "sts-plain.yaml",
        "kept.yaml",
    ] {
        repo.remove(&format!("data/{f}"));
    }
    let (_, found, _) = check(&repo, &base, &[]);
    let mut got: Vec<(String, String)> = found
        .iter()
        .map(|f| (f.file.clone(), f.code.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "data/pv-delete.yaml".to_string(),
                "plan/destructive".to_string()
            ),
            ("data/pvc.yaml".to_string(), "plan/destructive".to_string()),
            ("data/sts.yaml".to_string(), "plan/destructive".to_string()),
        ],
        "{found:#?}"
    );
    let sts = found.iter().find(|f| f.file == "data/sts.yaml").unwrap();
    assert!(
        sts.message
            .contains("it has volume claim templates (data): its pods stop"),
        "{}",
        sts.message
    );
    // The opted-out claim is orphaned, and the plan says why.
    let plan = repo.plan(&["--base", &base]);
    let kept = unit(&plan, "flux-system/data")["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"]["name"] == "kept")
        .unwrap()
        .clone();
    assert_eq!(kept["pruned"], false);
    assert_eq!(
        kept["note"],
        "kustomize.toolkit.fluxcd.io/prune: disabled (annotation)"
    );
    let human = stdout(&repo.kgate(&["diff", "--base", &base]));
    assert!(
        human.contains("- delete PersistentVolumeClaim db/kept (orphaned: kustomize.toolkit.fluxcd.io/prune: disabled (annotation); it keeps running in the cluster)"),
        "{human}"
    );
}

#[test]
fn argo_prune_false_and_manual_sync_leave_objects_orphaned() {
    let repo = Repo::new();
    let app = |name: &str, path: &str, sync: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://git.example.com/x.git\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: db\n{sync}")
    };
    repo.write(
        "argocd/apps.yaml",
        &format!(
            "{}---\n{}---\n{}",
            app("auto", "auto", "  syncPolicy:\n    automated:\n      prune: true\n"),
            app(
                "optout",
                "optout",
                "  syncPolicy:\n    automated:\n      prune: true\n    syncOptions:\n      - Prune=false\n"
            ),
            app("manual", "manual", "")
        ),
    );
    repo.write(
        "auto/pvc.yaml",
        &PVC.replace(
            "  name: data\n",
            "  name: a\n  annotations:\n    argocd.argoproj.io/sync-options: Prune=false\n",
        ),
    );
    repo.write(
        "auto/pvc2.yaml",
        &PVC.replace("  name: data\n", "  name: a2\n"),
    );
    repo.write(
        "optout/pvc.yaml",
        &PVC.replace("  name: data\n", "  name: b\n"),
    );
    repo.write(
        "manual/pvc.yaml",
        &PVC.replace("  name: data\n", "  name: c\n"),
    );
    for dir in ["auto", "optout", "manual"] {
        repo.write(
            &format!("{dir}/keep.yaml"),
            &cm(&format!("keep-{dir}"), "db"),
        );
    }
    let base = repo.commit("base");
    for f in [
        "auto/pvc.yaml",
        "auto/pvc2.yaml",
        "optout/pvc.yaml",
        "manual/pvc.yaml",
    ] {
        repo.remove(f);
    }
    let (_, found, _) = check(&repo, &base, &[]);
    // Only the claim without any opt-out, in the automated pruning app, is destroyed.
    assert_eq!(codes(&found), ["plan/destructive"], "{found:#?}");
    assert_eq!(found[0].file, "auto/pvc2.yaml");
}

/// A kustomize root whose Deployment reads a generated ConfigMap.
fn generator_repo(generator: &str, reference: &str) -> String {
    format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nresources:\n  - deployment.yaml\nconfigMapGenerator:\n  - name: {generator}\n    literals:\n      - LOG_LEVEL=info\n# the deployment reads {reference}\n"
    )
}

fn deployment_reading(cm_name: &str) -> String {
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27.1\n          envFrom:\n            - configMapRef:\n                name: {cm_name}\n")
}

#[test]
fn a_renamed_generator_leaves_its_reference_dangling_unless_followed() {
    let setup = || {
        let repo = Repo::new();
        repo.write("clusters/prod/apps.yaml", &flux_ks("apps", "apps", true));
        repo.write(
            "apps/kustomization.yaml",
            &generator_repo("app-config", "app-config"),
        );
        repo.write("apps/deployment.yaml", &deployment_reading("app-config"));
        let base = repo.commit("base");
        (repo, base)
    };
    // Renamed, reference not updated.
    let (repo, base) = setup();
    repo.write(
        "apps/kustomization.yaml",
        &generator_repo("app-settings", "app-config"),
    );
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(codes(&found), ["plan/dangling-reference"], "{found:#?}");
    let f = &found[0];
    assert_eq!(code, Some(1));
    // On the reference, at the head.
    assert_eq!((f.file.as_str(), f.line), ("apps/deployment.yaml", 19));
    assert!(
        f.message.starts_with(
            "Deployment shop/web refers to ConfigMap shop/app-config, a name kustomize's \
             generator made at the base (app-config-"
        ),
        "{}",
        f.message
    );
    // Renamed and followed: kustomize rewrites the reference to the new hashed name.
    let (repo, base) = setup();
    repo.write(
        "apps/kustomization.yaml",
        &generator_repo("app-settings", "app-settings"),
    );
    repo.write("apps/deployment.yaml", &deployment_reading("app-settings"));
    let (code, found, _) = check(&repo, &base, &[]);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(code, Some(0));
    // New content, new hash, same generator: no finding either.
    let (repo, base) = setup();
    repo.write(
        "apps/kustomization.yaml",
        &generator_repo("app-config", "app-config").replace("LOG_LEVEL=info", "LOG_LEVEL=debug"),
    );
    let (_, found, _) = check(&repo, &base, &[]);
    assert!(found.is_empty(), "{found:#?}");
}

const SECRET_USER: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      serviceAccountName: api
      imagePullSecrets:
        - name: regcred
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4.2
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: db
                  key: password
            - name: OPTIONAL_TOKEN
              valueFrom:
                secretKeyRef:
                  name: token
                  key: token
                  optional: true
          envFrom:
            - secretRef:
                name: api-env
      volumes:
        - name: tls
          secret:
            secretName: api-tls
"#;

fn secret(name: &str) -> String {
    format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: shop\ntype: Opaque\nstringData:\n  password: from-sops\n")
}

#[test]
fn removed_secrets_and_service_accounts_dangle_wherever_they_are_referenced() {
    let repo = Repo::new();
    repo.write("clusters/prod/apps.yaml", &flux_ks("apps", "apps", true));
    repo.write(
        "clusters/prod/secrets.yaml",
        &flux_ks("secrets", "secrets", true),
    );
    repo.write("apps/api.yaml", SECRET_USER);
    for s in ["db", "token", "api-env", "api-tls", "regcred"] {
        repo.write(&format!("secrets/{s}.yaml"), &secret(s));
    }
    repo.write(
        "secrets/sa.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: shop\n",
    );
    repo.write("secrets/other.yaml", &secret("other"));
    let base = repo.commit("base");
    for s in ["db", "token", "api-env", "api-tls", "regcred", "sa"] {
        repo.remove(&format!("secrets/{s}.yaml"));
    }
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(code, Some(1));
    let mut got: Vec<(u64, String)> = found
        .iter()
        .filter(|f| f.code == "plan/dangling-reference")
        .map(|f| {
            assert_eq!(f.file, "apps/api.yaml");
            let target = f.message.split(" refers to ").nth(1).unwrap();
            (f.line, target.split(',').next().unwrap().to_string())
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (15, "ServiceAccount shop/api".to_string()),
            (17, "Secret shop/regcred".to_string()),
            (25, "Secret shop/db".to_string()),
            (35, "Secret shop/api-env".to_string()),
            (39, "Secret shop/api-tls".to_string()),
        ],
        "{found:#?}"
    );
    assert!(found[0].message.contains(
        "which this merge request removes (Kustomization flux-system/secrets prunes it)"
    ));
    // An operator that makes the Secret from a repository object provides it.
    repo.write(
        "secrets/db-external.yaml",
        "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  secretStoreRef:\n    name: vault\n    kind: ClusterSecretStore\n  data:\n    - secretKey: password\n      remoteRef:\n        key: shop/db\n",
    );
    let (_, found, _) = check(&repo, &base, &[]);
    assert!(
        !found.iter().any(|f| f.message.contains("Secret shop/db,")),
        "{found:#?}"
    );
}

#[test]
fn a_secret_removed_from_a_unit_without_prune_stays_and_does_not_dangle() {
    let repo = Repo::new();
    repo.write("clusters/prod/apps.yaml", &flux_ks("apps", "apps", true));
    repo.write(
        "clusters/prod/secrets.yaml",
        &flux_ks("secrets", "secrets", false),
    );
    repo.write("apps/api.yaml", SECRET_USER);
    repo.write("secrets/db.yaml", &secret("db"));
    let base = repo.commit("base");
    repo.remove("secrets/db.yaml");
    let (_, found, _) = check(&repo, &base, &[]);
    assert!(found.is_empty(), "{found:#?}");
}

const IMAGE_POLICY: &str = "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: api\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: api\n  policy:\n    semver:\n      range: 1.x\n";

fn marked(markers: [&str; 3]) -> String {
    format!(
        r#"apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: api
  namespace: shop
spec:
  interval: 10m
  chart:
    spec:
      chart: api
      sourceRef:
        kind: HelmRepository
        name: acme
  values:
    image:
      repository: ghcr.io/acme/api # {{"$imagepolicy": "{}"}}
      tag: 1.4.2 # {{"$imagepolicy": "{}"}}
    sidecar:
      image: ghcr.io/acme/sidecar:2.0.1 # {{"$imagepolicy": "{}"}}
"#,
        markers[0], markers[1], markers[2]
    )
}

#[test]
fn image_automation_markers_are_checked_in_all_three_forms() {
    let repo = Repo::new();
    repo.write("clusters/prod/apps.yaml", &flux_ks("apps", "apps", true));
    repo.write("flux/policy.yaml", IMAGE_POLICY);
    repo.write(
        "apps/api.yaml",
        &marked([
            "flux-system:api:name",
            "flux-system:api:tag",
            "flux-system:api",
        ]),
    );
    let base = repo.commit("base");
    // Correct markers of every form: nothing.
    let (_, found, _) = check(&repo, &base, &["--all"]);
    assert!(found.is_empty(), "{found:#?}");
    // Broken: a typo in the policy name, the forms swapped onto the wrong fields.
    repo.write(
        "apps/api.yaml",
        &marked(["flux-system:api:tag", "flux-system:api", "flux-system:apii"]),
    );
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(code, Some(1));
    let got: Vec<(u64, &str)> = found
        .iter()
        .map(|f| {
            assert_eq!(f.code, "plan/image-automation");
            assert_eq!(f.file, "apps/api.yaml");
            (f.line, f.message.as_str())
        })
        .collect();
    assert_eq!(got.len(), 3, "{found:#?}");
    assert_eq!(got[0].0, 16);
    assert!(
        got[0]
            .1
            .contains("makes Flux write only the tag into `repository`"),
        "{got:#?}"
    );
    assert_eq!(got[1].0, 17);
    assert!(
        got[1]
            .1
            .contains("makes Flux write a whole image reference (name:tag) into `tag`"),
        "{got:#?}"
    );
    assert_eq!(got[2].0, 19);
    assert_eq!(
        got[2].1,
        "the marker points at ImagePolicy flux-system/apii, which the repository does not \
         define: Flux never updates this field"
    );
    // A marker that is not the JSON object Flux reads.
    repo.write(
        "apps/api.yaml",
        &marked([
            "flux-system:api:name",
            "flux-system:api:tag",
            "flux-system:api",
        ])
        .replace(
            r#"{"$imagepolicy": "flux-system:api"}"#,
            "{'$imagepolicy': 'flux-system:api'}",
        ),
    );
    let (_, found, _) = check(&repo, &base, &[]);
    assert_eq!(codes(&found), ["plan/image-automation"], "{found:#?}");
    assert!(found[0]
        .message
        .contains("is not the JSON object Flux reads"));
}

#[test]
fn a_broken_marker_already_on_the_base_is_pre_existing() {
    let repo = Repo::new();
    repo.write("flux/policy.yaml", IMAGE_POLICY);
    repo.write(
        "apps/api.yaml",
        &marked([
            "flux-system:api:name",
            "flux-system:api:tag",
            "flux-system:nope",
        ]),
    );
    let base = repo.commit("base");
    repo.write("apps/other.yaml", &cm("other", "shop"));
    let (code, found, v) = check(&repo, &base, &[]);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(code, Some(0));
    let (_, found, _) = check(&repo, &base, &["--all"]);
    assert_eq!(codes(&found), ["plan/image-automation"]);
    assert!(v["summary"]["pre_existing"].as_u64().unwrap() >= 1);
}

#[test]
fn an_ordinary_merge_request_has_no_plan_findings() {
    let repo = Repo::new();
    repo.write("clusters/prod/apps.yaml", &flux_ks("apps", "apps", true));
    repo.write("clusters/prod/infra.yaml", &flux_ks("infra", "infra", true));
    repo.write("infra/ns.yaml", &namespace("shop"));
    repo.write(
        "infra/pvc.yaml",
        &PVC.replace("namespace: db", "namespace: shop"),
    );
    repo.write("flux/policy.yaml", IMAGE_POLICY);
    repo.write("apps/api.yaml", SECRET_USER);
    for s in ["db", "api-env", "api-tls", "regcred"] {
        repo.write(&format!("apps/secret-{s}.yaml"), &secret(s));
    }
    repo.write(
        "apps/sa.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: shop\n",
    );
    repo.write("apps/old.yaml", &cm("old", "shop"));
    repo.write("apps/sub/moved.yaml", &cm("moved", "shop"));
    let base = repo.commit("base");
    // A new image, a removed ConfigMap nobody reads, a file moved inside its unit, a new
    // object, a changed PVC size, a secret rotated.
    repo.write(
        "apps/api.yaml",
        &SECRET_USER.replace("api:1.4.2", "api:1.5.0"),
    );
    repo.remove("apps/old.yaml");
    repo.remove("apps/sub/moved.yaml");
    repo.write("apps/moved/moved.yaml", &cm("moved", "shop"));
    repo.write("apps/new.yaml", &cm("new", "shop"));
    repo.write(
        "infra/pvc.yaml",
        &PVC.replace("namespace: db", "namespace: shop")
            .replace("storage: 1Gi", "storage: 2Gi"),
    );
    repo.write(
        "apps/secret-db.yaml",
        &secret("db").replace("from-sops", "rotated"),
    );
    let (code, found, v) = check(&repo, &base, &[]);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(code, Some(0), "{v:#}");
    let (found, _) = diff_findings(&repo, &base);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn plan_findings_take_severity_overrides_and_exceptions() {
    // Severity from the base's config.
    let (repo, base) = {
        let repo = Repo::new();
        repo.write(".kgate.yaml", "severity:\n  plan/destructive: warning\n");
        repo.write("clusters/prod/infra.yaml", &flux_ks("infra", "infra", true));
        repo.write("infra/ns.yaml", &namespace("legacy"));
        repo.write("infra/keep.yaml", &namespace("keep"));
        let base = repo.commit("base");
        repo.remove("infra/ns.yaml");
        (repo, base)
    };
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(codes(&found), ["plan/destructive"]);
    assert_eq!(found[0].severity, "warning");
    assert_eq!(code, Some(0));
    let (found, _) = diff_findings(&repo, &base);
    assert_eq!(found[0].severity, "warning");

    // A config exception with a reason.
    let repo = Repo::new();
    repo.write(
        ".kgate.yaml",
        "exceptions:\n  - code: plan/destructive\n    kind: Namespace\n    name: legacy\n    reason: decommissioned, its data is archived\n",
    );
    repo.write("clusters/prod/infra.yaml", &flux_ks("infra", "infra", true));
    repo.write("infra/ns.yaml", &namespace("legacy"));
    repo.write("infra/keep.yaml", &namespace("keep"));
    let base = repo.commit("base");
    repo.remove("infra/ns.yaml");
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(codes(&found), ["plan/destructive"]);
    assert!(found[0].suppressed);

    // The object's own annotation, as the base has it.
    let repo = Repo::new();
    repo.write("clusters/prod/infra.yaml", &flux_ks("infra", "infra", true));
    repo.write(
        "infra/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: legacy\n  annotations:\n    kgate.dev/ignore: plan/destructive=decommissioned\n",
    );
    repo.write("infra/keep.yaml", &namespace("keep"));
    let base = repo.commit("base");
    repo.remove("infra/ns.yaml");
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(code, Some(0));
    assert!(found[0].suppressed, "{found:#?}");
}

#[test]
fn an_mr_cannot_except_its_own_dangling_reference() {
    let repo = Repo::new();
    repo.write("clusters/prod/apps.yaml", &flux_ks("apps", "apps", true));
    repo.write("apps/api.yaml", SECRET_USER);
    for s in ["db", "api-env", "api-tls", "regcred"] {
        repo.write(&format!("apps/secret-{s}.yaml"), &secret(s));
    }
    repo.write(
        "apps/sa.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: shop\n",
    );
    let base = repo.commit("base");
    repo.remove("apps/secret-db.yaml");
    // The MR adds an exception on the referencing object: judged by the base, it does not apply.
    repo.write(
        "apps/api.yaml",
        &SECRET_USER.replace(
            "  namespace: shop\nspec:",
            "  namespace: shop\n  annotations:\n    kgate.dev/ignore: plan/dangling-reference=trust me\nspec:",
        ),
    );
    let (code, found, _) = check(&repo, &base, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(codes(&found), ["plan/dangling-reference"]);
    assert!(!found[0].suppressed);
}

#[test]
fn every_plan_code_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    for code in [
        "plan/destructive",
        "plan/recreate",
        "plan/dangling-reference",
        "plan/image-automation",
    ] {
        let out = kgate_in(dir.path(), &["explain", code]);
        assert_eq!(out.status.code(), Some(0), "{code}");
        assert!(stdout(&out).starts_with(code), "{}", stdout(&out));
    }
}

#[test]
fn a_unit_kgate_cannot_build_at_the_head_is_not_judged() {
    let repo = Repo::new();
    repo.write("clusters/prod/infra.yaml", &flux_ks("infra", "infra", true));
    let kustomization = |resources: &str| {
        format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{resources}patches:\n  - path: label.yaml\n")
    };
    repo.write(
        "infra/kustomization.yaml",
        &kustomization("  - ns.yaml\n  - keep.yaml\n"),
    );
    repo.write("infra/ns.yaml", &namespace("legacy"));
    repo.write("infra/keep.yaml", &namespace("keep"));
    repo.write(
        "infra/label.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: legacy\n  labels:\n    team: core\n",
    );
    let base = repo.commit("base");
    // The patch still targets the removed Namespace: kustomize (and Flux) fail the build, so
    // the agent changes nothing.
    repo.write(
        "infra/kustomization.yaml",
        &kustomization("  - keep.yaml\n"),
    );
    repo.remove("infra/ns.yaml");
    let (found, plan) = diff_findings(&repo, &base);
    assert!(found.is_empty(), "{found:#?}");
    assert!(unit(&plan, "flux-system/infra")["note"]
        .as_str()
        .unwrap()
        .starts_with("kgate could not build this unit at the head"));
}

#[test]
fn a_kustomization_reading_another_repository_is_not_planned_from_this_one() {
    let repo = Repo::new();
    repo.write(
        "clusters/prod/flux-system/gotk-sync.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: ssh://git@example.com/fleet.git\n  ref:\n    branch: main\n",
    );
    repo.write(
        "tenants/team.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: team\n  namespace: team\nspec:\n  interval: 1m\n  url: ssh://git@example.com/fleet.git\n  ref:\n    branch: team\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: team\n  namespace: team\nspec:\n  interval: 5m\n  path: ./\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: team\n",
    );
    repo.write(
        "clusters/prod/infra.yaml",
        &flux_ks("infra", "infra", false),
    );
    repo.write("infra/ns.yaml", &namespace("legacy"));
    repo.write("infra/keep.yaml", &namespace("keep"));
    let base = repo.commit("base");
    repo.remove("infra/ns.yaml");
    // `team` reads the branch `team`: it does not prune this repository's Namespace.
    let (found, plan) = diff_findings(&repo, &base);
    assert!(found.is_empty(), "{found:#?}");
    assert!(
        plan["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["name"] != "team/team"),
        "{plan:#}"
    );
}

#[test]
fn markers_outside_the_checked_paths_are_not_judged() {
    let repo = Repo::new();
    repo.write("flux/policy.yaml", IMAGE_POLICY);
    repo.write("apps/ok.yaml", &cm("ok", "shop"));
    let base = repo.commit("base");
    repo.write(
        "other/api.yaml",
        &marked([
            "flux-system:api:name",
            "flux-system:api:tag",
            "flux-system:nope",
        ]),
    );
    let (_, found, _) = check(&repo, &base, &["apps"]);
    assert!(found.is_empty(), "{found:#?}");
    let (_, found, _) = check(&repo, &base, &[]);
    assert_eq!(codes(&found), ["plan/image-automation"], "{found:#?}");
}
