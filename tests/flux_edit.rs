//! A Flux Kustomization's `targetNamespace`, `namePrefix`/`nameSuffix`, `patches`, deprecated
//! `patchesStrategicMerge`/`patchesJson6902`, `images` and `components` are written into the
//! path's kustomization before it is built, as kustomize-controller's generator does — not
//! applied on top of the built path. Differential: `kgate render` of the Flux Kustomization equals
//! `kubectl kustomize` of the path with its kustomization edited as Flux edits it (the edited
//! copy is written by hand below from fluxcd/pkg's generator rules), when the oracle is
//! installed; the expectations that decide the difference are asserted either way.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/yaml_docs.rs"]
mod yaml_docs;
use yaml_docs::yaml_docs;

use serde_json::Value;

fn oracle() -> Option<PathBuf> {
    let venv = std::env::var("KGATE_ORACLE_VENV").unwrap_or_else(|_| "/opt/oracles".into());
    let kubectl = Path::new(&venv).join("bin/kubectl");
    kubectl.is_file().then_some(kubectl)
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.0\n        - name: side\n          image: busybox:1.0\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n    - port: 80\n";
const COMPONENT: &str =
    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - cm.yaml\n";
const COMPONENT_CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: b\n";

/// The path's own kustomization: a namespace, a prefix and an image override of its own.
const OWN: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team-a\nnamePrefix: dev-\nresources:\n  - deploy.yaml\n  - service.yaml\nimages:\n  - name: nginx\n    newName: registry.example.com/nginx\n    newTag: \"1.1\"\n  - name: busybox\n    newTag: \"1.1\"\n";

const FLUX: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: web\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  targetNamespace: team-b\n  namePrefix: prod-\n  components:\n    - ../component\n  images:\n    - name: nginx\n      newTag: \"2.0\"\n  patches:\n    - target:\n        kind: Deployment\n        name: web\n      patch: |\n        - op: add\n          path: /spec/replicas\n          value: 3\n";

/// What kustomize-controller writes into app/kustomization.yaml from FLUX (fluxcd/pkg
/// kustomize generator: namespace and prefix replaced, the nginx image entry replaced by
/// Flux's, patches and components appended).
const EDITED: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team-b\nnamePrefix: prod-\nresources:\n  - deploy.yaml\n  - service.yaml\ncomponents:\n  - ../component\nimages:\n  - name: nginx\n    newTag: \"2.0\"\n  - name: busybox\n    newTag: \"1.1\"\npatches:\n  - target:\n      kind: Deployment\n      name: web\n    patch: |\n      - op: add\n        path: /spec/replicas\n        value: 3\n";

#[test]
fn flux_fields_are_written_into_the_paths_kustomization() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("app/kustomization.yaml", OWN),
            ("app/deploy.yaml", DEPLOY),
            ("app/service.yaml", SERVICE),
            ("component/kustomization.yaml", COMPONENT),
            ("component/cm.yaml", COMPONENT_CM),
            ("flux.yaml", FLUX),
        ],
    );
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .current_dir(dir.path())
        .args(["render", "flux.yaml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = yaml_docs(&String::from_utf8(out.stdout).unwrap());
    let find = |kind: &str| {
        got.iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}: {got:#?}"))
    };
    let deploy = find("Deployment");
    // One prefix (Flux's replaces the path's), one namespace, Flux's nginx entry replacing the
    // path's (so no registry rename), the path's busybox entry kept, the patch applied.
    assert_eq!(deploy["metadata"]["name"], "prod-web");
    assert_eq!(deploy["metadata"]["namespace"], "team-b");
    let containers = &deploy["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "nginx:2.0");
    assert_eq!(containers[1]["image"], "busybox:1.1");
    assert_eq!(deploy["spec"]["replicas"], 3);
    // The component's object got the path's transformers (prefix and namespace) too.
    let cm = find("ConfigMap");
    assert_eq!(cm["metadata"]["name"], "prod-extra");
    assert_eq!(cm["metadata"]["namespace"], "team-b");

    let Some(kubectl) = oracle() else {
        eprintln!("skipped the oracle half: kubectl (kustomize) is not installed");
        return;
    };
    let edited = tempfile::tempdir().unwrap();
    write(
        edited.path(),
        &[
            ("app/kustomization.yaml", EDITED),
            ("app/deploy.yaml", DEPLOY),
            ("app/service.yaml", SERVICE),
            ("component/kustomization.yaml", COMPONENT),
            ("component/cm.yaml", COMPONENT_CM),
        ],
    );
    let o = Command::new(kubectl)
        .arg("kustomize")
        .arg(edited.path().join("app"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut want = yaml_docs(&String::from_utf8(o.stdout).unwrap());
    let mut got = got.clone();
    let key = |d: &Value| format!("{}/{}", d["kind"], d["metadata"]["name"]);
    want.sort_by_key(key);
    got.sort_by_key(key);
    assert_eq!(got, want);
}

/// Flux v1beta2's deprecated patch fields give objects, not text: a strategic-merge patch
/// object and a JSON 6902 operation list are applied (they were dropped or refused before).
#[test]
fn deprecated_flux_patch_fields_take_objects() {
    let dir = tempfile::tempdir().unwrap();
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nmetadata:\n  name: web\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  patchesStrategicMerge:\n    - apiVersion: apps/v1\n      kind: Deployment\n      metadata:\n        name: web\n      spec:\n        minReadySeconds: 5\n  patchesJson6902:\n    - target:\n        kind: Deployment\n        name: web\n      patch:\n        - op: add\n          path: /spec/replicas\n          value: 4\n";
    for with_kustomization in [true, false] {
        let mut files = vec![("app/deploy.yaml", DEPLOY), ("flux.yaml", flux)];
        if with_kustomization {
            files.push((
                "app/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deploy.yaml]\n",
            ));
        }
        write(dir.path(), &files);
        let _ = std::fs::create_dir(dir.path().join(".git"));
        let out = Command::new(env!("CARGO_BIN_EXE_kgate"))
            .current_dir(dir.path())
            .args(["render", "flux.yaml"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{with_kustomization}: {stderr}");
        let got = yaml_docs(&String::from_utf8(out.stdout).unwrap());
        assert_eq!(got[0]["spec"]["minReadySeconds"], 5, "{with_kustomization}");
        assert_eq!(got[0]["spec"]["replicas"], 4, "{with_kustomization}");
        let _ = std::fs::remove_file(dir.path().join("app/kustomization.yaml"));
    }
}
