//! Rendering: golden outputs (kustomize's own test cases and a hand-checked overlay), Flux
//! substitution, provenance of findings, safety cases and unsupported features.

use std::path::Path;
use std::process::Command;

#[path = "common/yaml_docs.rs"]
mod yaml_docs;
use yaml_docs::yaml_docs;

use kgate::render::{render_dir, RenderOptions};
use kgate::source::Files;
use kgate::vfs::DiskFs;
use serde_json::Value;

/// Renders `dir` (relative to the crate root, which is the repository root) with the library.
fn render(dir: &str) -> kgate::render::Rendered {
    let files = Files::new();
    let vfs = DiskFs::new(".");
    render_dir(&vfs, &files, dir, &RenderOptions::default())
}

/// Objects compared as data, in a canonical order (kustomize's own tests run without the
/// legacy reordering that `kubectl kustomize` applies; the order has its own test).
fn canonical(mut docs: Vec<Value>) -> Vec<Value> {
    docs.sort_by_key(|d| {
        format!(
            "{}/{}/{}",
            d["kind"], d["metadata"]["namespace"], d["metadata"]["name"]
        )
    });
    docs
}

fn golden(case: &str) {
    let base = format!("tests/render/{case}");
    let root = std::fs::read_to_string(format!("{base}/ROOT"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let r = render(&format!("{base}/{root}"));
    assert!(r.diagnostics.is_empty(), "{case}: {:#?}", r.diagnostics);
    let actual: Vec<Value> = r.manifests.iter().map(|m| m.json.clone()).collect();
    let expected = yaml_docs(&std::fs::read_to_string(format!("{base}/expected.yaml")).unwrap());
    assert_eq!(canonical(actual), canonical(expected), "{case}");
}

#[test]
fn krusty_generator_int_vs_string() {
    golden("krusty/int_vs_string");
}

#[test]
fn krusty_generator_simple_overlay() {
    golden("krusty/simple_overlay");
}

#[test]
fn krusty_generator_overlays() {
    golden("krusty/generator_overlays");
}

#[test]
fn krusty_configmap_merge_name_prefix() {
    golden("krusty/merge_name_prefix");
}

#[test]
fn krusty_secret_env_merge() {
    golden("krusty/secret_env_merge");
}

#[test]
fn krusty_generator_basics() {
    golden("krusty/generator_basics");
}

#[test]
fn overlay_with_every_transformer() {
    let r = render("tests/render/overlay/prod");
    assert!(r.diagnostics.is_empty(), "{:#?}", r.diagnostics);
    let actual: Vec<Value> = r.manifests.iter().map(|m| m.json.clone()).collect();
    let expected =
        yaml_docs(&std::fs::read_to_string("tests/render/overlay/expected.yaml").unwrap());
    let kinds: Vec<&str> = actual.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ConfigMap",
            "Secret",
            "Service",
            "Deployment"
        ],
        "legacy order"
    );
    assert_eq!(canonical(actual), canonical(expected));
    // The base and the patch files are consumed; the included folders are known.
    assert!(r
        .consumed
        .iter()
        .any(|p| p.ends_with("base/deployment.yaml")));
    assert!(r
        .consumed
        .iter()
        .any(|p| p.ends_with("prod/remove-sidecar.yaml")));
    assert!(r.included.contains("tests/render/overlay/base"));
    // Provenance: the image comes from the `images` entry, the port from the patch file.
    let dep = &r.manifests[4];
    let files_path = |span: kgate::source::Span| span.line;
    assert_eq!(
        dep.rendered_for.as_deref(),
        Some("tests/render/overlay/prod")
    );
    let image = dep.span_at("/spec/template/spec/containers/0/image");
    assert_eq!(
        files_path(image),
        20,
        "newTag line of prod/kustomization.yaml"
    );
    let port = dep.span_at("/spec/template/spec/containers/0/ports/0/containerPort");
    assert_eq!(port.line, 4, "add-port.yaml line 4");
    // The patch's item comes first (kustomize's list merge), the base's `A` after it.
    let env_b = dep.span_at("/spec/template/spec/containers/0/env/0/value");
    assert_eq!(
        env_b.line, 64,
        "inline patch line inside prod/kustomization.yaml"
    );
}

fn kgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kgate"))
}

#[test]
fn render_command_prints_the_objects_and_redacts_secrets() {
    let out = kgate()
        .args(["render", "tests/render/overlay/prod"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains("aHVudGVyMi1zZWNyZXQ="),
        "secret data printed:\n{stdout}"
    );
    let docs = canonical(yaml_docs(&stdout));
    let expected = canonical(yaml_docs(
        &std::fs::read_to_string("tests/render/overlay/expected.yaml").unwrap(),
    ));
    assert_eq!(docs.len(), expected.len());
    // Everything but the redacted Secret is the same data.
    for (a, e) in docs.iter().zip(&expected) {
        if e["kind"] != "Secret" {
            assert_eq!(a, e);
        } else {
            assert_eq!(a["data"]["password"], "[REDACTED]");
        }
    }
}

/// A repository in a temporary folder (with `.git`, so it is its own root).
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// `kgate check` on rendered output; the built-in policy pack is left out so the findings are
/// the schema and render ones these tests are about.
fn check_json(dir: &Path) -> (i32, Value) {
    let out = kgate()
        .args(["check", "--format", "json", "--no-builtin-policies"])
        .arg(dir)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.code().unwrap(), json)
}

fn findings(json: &Value) -> Vec<&Value> {
    json["diagnostics"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

const DEPLOY_NO_SELECTOR: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
";

#[test]
fn findings_point_at_the_patch_and_bases_valid_only_once_patched_pass() {
    // The base lacks `selector` (invalid alone); both overlays add it; one also sets a bad
    // memory quantity in its patch file.
    let dir = repo(&[
        ("base/kustomization.yaml", "resources:\n- deploy.yaml\n"),
        ("base/deploy.yaml", DEPLOY_NO_SELECTOR),
        (
            "staging/kustomization.yaml",
            "resources:\n- ../base\npatches:\n- path: fix.yaml\n",
        ),
        (
            "staging/fix.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n",
        ),
        (
            "prod/kustomization.yaml",
            "resources:\n- ../base\nnamespace: prod\npatches:\n- path: fix.yaml\n",
        ),
        (
            "prod/fix.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    spec:\n      containers:\n      - name: web\n        resources:\n          limits:\n            memory: 1GB\n",
        ),
    ]);
    let (code, json) = check_json(dir.path());
    let f = findings(&json);
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(f.len(), 1, "{json:#}");
    let d = f[0];
    assert_eq!(d["code"], "schema/invalid-value");
    assert!(
        d["file"].as_str().unwrap().ends_with("prod/fix.yaml"),
        "{d:#}"
    );
    assert_eq!(d["line"], 15);
    assert!(
        d["rendered_for"].as_str().unwrap().ends_with("prod"),
        "{d:#}"
    );
}

#[test]
fn a_finding_in_a_shared_base_is_reported_once_naming_every_overlay() {
    let bad = DEPLOY_NO_SELECTOR.replace(
        "image: nginx:1.25",
        "image: nginx:1.25\n        ports:\n        - containerPort: http",
    );
    let dir = repo(&[
        ("base/kustomization.yaml", "resources:\n- deploy.yaml\n"),
        ("base/deploy.yaml", &bad),
        (
            "a/kustomization.yaml",
            "resources:\n- ../base\nnamePrefix: a-\n",
        ),
        (
            "b/kustomization.yaml",
            "resources:\n- ../base\nnamePrefix: b-\n",
        ),
    ]);
    let (_, json) = check_json(dir.path());
    let ports: Vec<&Value> = findings(&json)
        .into_iter()
        .filter(|d| d["file"].as_str().unwrap().ends_with("base/deploy.yaml") && d["line"] == 15)
        .collect();
    assert_eq!(ports.len(), 1, "{json:#}");
    let overlays = ports[0]["rendered_for"].as_str().unwrap();
    assert!(
        overlays.contains("/a") && overlays.contains("/b"),
        "{overlays}"
    );
}

#[test]
fn flux_kustomization_substitution_and_secrets() {
    let dir = repo(&[
        (
            "clusters/prod/apps.yaml",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/web
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  targetNamespace: web
  components:
  - ../../components/probe
  commonMetadata:
    labels:
      team: web
  postBuild:
    substitute:
      REPLICAS: \"2\"
    substituteFrom:
    - kind: ConfigMap
      name: cluster-vars
    - kind: Secret
      name: cluster-secrets
",
        ),
        (
            "components/probe/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- target:
    kind: Deployment
  patch: |-
    - op: add
      path: /metadata/annotations
      value: {probe: added}
",
        ),
        (
            "clusters/prod/vars.yaml",
            "apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-vars
  namespace: flux-system
data:
  DOMAIN: example.com
---
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
  namespace: flux-system
stringData:
  DB_PASSWORD: s3cr3t-Value-42
",
        ),
        (
            "apps/web/deploy.yaml",
            "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${REPLICAS}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:${TAG:=1.25}
        env:
        - name: HOST
          value: web.${DOMAIN}
        - name: DB_PASSWORD
          value: ${DB_PASSWORD}
        - name: LITERAL
          value: $${NOT_A_VAR}
        - name: MISSING
          value: ${UNDEFINED_VAR}
",
        ),
        (
            "apps/web/raw/script.yaml",
            "apiVersion: v1
kind: ConfigMap
metadata:
  name: script
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  run.sh: echo ${HOME}
",
        ),
    ]);
    let out = kgate()
        .args(["render"])
        .arg(dir.path().join("clusters/prod/apps.yaml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("deploy.yaml:26:18: error [render/unresolved-variable]"),
        "{stderr}"
    );
    assert!(!stdout.contains("s3cr3t-Value-42") && !stderr.contains("s3cr3t-Value-42"));
    let docs = yaml_docs(&stdout);
    let dep = &docs[1];
    assert_eq!(
        dep["kind"], "Deployment",
        "legacy order puts the ConfigMap first"
    );
    assert_eq!(dep["metadata"]["namespace"], "web");
    assert_eq!(dep["metadata"]["labels"]["team"], "web");
    assert_eq!(
        dep["metadata"]["annotations"]["probe"], "added",
        "Flux spec.components"
    );
    assert_eq!(
        dep["spec"]["selector"]["matchLabels"],
        serde_json::json!({"app": "web"})
    );
    assert_eq!(
        dep["spec"]["replicas"], 2,
        "unquoted ${{REPLICAS}} becomes a number"
    );
    let c = &dep["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1.25");
    assert_eq!(c["env"][0]["value"], "web.example.com");
    assert_eq!(c["env"][1]["value"], "[REDACTED]");
    assert_eq!(c["env"][2]["value"], "${NOT_A_VAR}");
    // Flux substitutes in YAML text: `value: ${UNDEFINED_VAR}` becomes `value: `, a null.
    assert_eq!(c["env"][3]["value"], Value::Null);
    assert_eq!(
        docs[0]["data"]["run.sh"], "echo ${HOME}",
        "substitution disabled"
    );

    // In `kgate check` the same rendering is checked and the secret never shows.
    let out = kgate()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("s3cr3t-Value-42"));
    let json: Value = serde_json::from_str(&text).unwrap();
    let unresolved: Vec<&Value> = findings(&json)
        .into_iter()
        .filter(|d| d["code"] == "render/unresolved-variable")
        .collect();
    assert_eq!(unresolved.len(), 1, "{json:#}");
    // The label names the file the Flux Kustomization is defined in (clusters often each
    // define a `flux-system/apps`).
    let label = unresolved[0]["rendered_for"].as_str().unwrap();
    assert!(
        label.starts_with("Flux Kustomization flux-system/apps (") && label.ends_with(".yaml)"),
        "{label}"
    );
}

fn render_findings(dir: &Path, root: &str) -> Vec<(String, String, u32)> {
    let files = Files::new();
    let vfs = DiskFs::new(dir);
    let r = render_dir(&vfs, &files, root, &RenderOptions::default());
    r.diagnostics
        .iter()
        .map(|d| {
            let file = Path::new(&d.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            (d.code.clone(), file, d.span.map(|s| s.line).unwrap_or(0))
        })
        .collect()
}

#[test]
fn paths_outside_the_root_are_refused() {
    let dir = repo(&[(
        "app/kustomization.yaml",
        "resources:\n- ../../etc/passwd\n- /etc/passwd\npatches:\n- path: ../../../x.yaml\n",
    )]);
    let f = render_findings(dir.path(), "app");
    assert_eq!(
        f,
        vec![
            ("render/outside-root".into(), "kustomization.yaml".into(), 2),
            ("render/outside-root".into(), "kustomization.yaml".into(), 3),
            ("render/outside-root".into(), "kustomization.yaml".into(), 5),
        ]
    );
}

#[cfg(unix)]
#[test]
fn symbolic_links_leaving_the_repository_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let dir = repo(&[("app/kustomization.yaml", "resources:\n- link.yaml\n")]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        dir.path().join("app/link.yaml"),
    )
    .unwrap();
    let f = render_findings(dir.path(), "app");
    assert_eq!(
        f,
        vec![("render/outside-root".into(), "kustomization.yaml".into(), 2)]
    );
}

#[test]
fn cycles_stop_cleanly() {
    let dir = repo(&[
        ("a/kustomization.yaml", "resources:\n- ../b\n"),
        ("b/kustomization.yaml", "resources:\n- ../a\n"),
    ]);
    let f = render_findings(dir.path(), "a");
    assert_eq!(
        f,
        vec![("render/cycle".into(), "kustomization.yaml".into(), 2)]
    );
}

#[test]
fn unsupported_features_are_findings_at_their_line() {
    let dir = repo(&[
        (
            "app/kustomization.yaml",
            "resources:\n- github.com/org/repo//deploy?ref=v1\n- cm.yaml\nhelmCharts:\n- name: x\ntransformers:\n- t.yaml\nreplacements: []\n",
        ),
        ("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"),
    ]);
    let f = render_findings(dir.path(), "app");
    let lines: Vec<u32> = f
        .iter()
        .filter(|(c, _, _)| c == "render/unsupported")
        .map(|x| x.2)
        .collect();
    // The remote base and the Helm chart kustomize would pull (at its entry); `replacements`
    // is rendered, and a transformer configuration that does not exist is an error at its entry.
    assert_eq!(lines, vec![2, 5]);
    assert!(
        f.iter().any(|(c, _, l)| c == "render/missing" && *l == 7),
        "{f:#?}"
    );
}

#[test]
fn json_patch_failures_and_unmatched_patches_are_findings() {
    let dir = repo(&[
        (
            "app/kustomization.yaml",
            "resources:\n- cm.yaml\npatches:\n- target:\n    kind: ConfigMap\n  patch: |-\n    - op: remove\n      path: /data/missing\n- patch: |-\n    apiVersion: v1\n    kind: Secret\n    metadata:\n      name: nope\n",
        ),
        ("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n"),
    ]);
    let f = render_findings(dir.path(), "app");
    assert_eq!(
        f,
        vec![
            ("render/patch-failed".into(), "kustomization.yaml".into(), 8),
            ("render/invalid".into(), "kustomization.yaml".into(), 10),
        ]
    );
}

#[test]
fn output_order_is_legacy_by_default_and_fifo_on_request() {
    let files = [
        ("app/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"),
        ("app/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n"),
        ("app/hook.yaml", "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: h\n"),
        ("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"),
    ];
    let kinds = |kustomization: &str| -> Vec<String> {
        let mut all = files.to_vec();
        all.push(("app/kustomization.yaml", kustomization));
        let dir = repo(&all);
        let r = render_dir(
            &DiskFs::new(dir.path()),
            &Files::new(),
            "app",
            &RenderOptions::default(),
        );
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        r.manifests
            .iter()
            .map(|m| format!("{}/{}", m.resource.kind, m.resource.name))
            .collect()
    };
    let resources = "resources:\n- hook.yaml\n- svc.yaml\n- cm.yaml\n- ns.yaml\n";
    assert_eq!(
        kinds(resources),
        [
            "Namespace/ns1",
            "ConfigMap/a",
            "ConfigMap/b",
            "Service/s",
            "ValidatingWebhookConfiguration/h"
        ]
    );
    assert_eq!(
        kinds(&format!("{resources}sortOptions:\n  order: fifo\n")),
        [
            "ValidatingWebhookConfiguration/h",
            "Service/s",
            "ConfigMap/b",
            "ConfigMap/a",
            "Namespace/ns1"
        ]
    );
}

#[test]
fn check_renders_extensionless_kustomization_files_and_no_render_checks_raw() {
    let dir = repo(&[
        (
            "app/Kustomization",
            "resources:\n- deploy.yaml\nnamespace: team\n",
        ),
        ("app/deploy.yaml", DEPLOY_NO_SELECTOR),
    ]);
    // Rendered: the Deployment still lacks a selector, and the finding names the overlay.
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let f = findings(&json);
    assert!(!f.is_empty());
    assert!(
        f.iter().all(|d| d["rendered_for"]
            .as_str()
            .is_some_and(|r| r.ends_with("app"))),
        "{json:#}"
    );
    assert_eq!(json["summary"]["resources"], 1);
    // --no-render: the raw file is checked, with no overlay named.
    let out = kgate()
        .args(["check", "--no-render", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        findings(&json).iter().all(|d| d["rendered_for"].is_null()),
        "{json:#}"
    );
}

const PLAIN_CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\ndata:\n  a: b\n";

#[test]
fn remote_resources_are_unsupported_and_their_consequences_are_notes() {
    let dir = repo(&[
        (
            "app/kustomization.yaml",
            "resources:\n- github.com/example/platform//base?ref=v1.2.0\n- local.yaml\npatches:\n- path: https://raw.githubusercontent.com/example/platform/main/patch.yaml\n- path: replicas.yaml\nreplacements:\n- source:\n    kind: ConfigMap\n    name: remote-settings\n  targets:\n  - select:\n      kind: ConfigMap\n    fieldPaths: [data.a]\n",
        ),
        ("app/local.yaml", PLAIN_CM),
        (
            "app/replicas.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: remote-app\nspec:\n  replicas: 3\n",
        ),
        // The same patch without any remote resource is kustomize's failure.
        (
            "local/kustomization.yaml",
            "resources:\n- local.yaml\npatches:\n- path: replicas.yaml\n",
        ),
        ("local/local.yaml", PLAIN_CM),
        (
            "local/replicas.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: remote-app\nspec:\n  replicas: 3\n",
        ),
    ]);
    let f = render_findings(dir.path(), "app");
    assert_eq!(
        f,
        vec![
            ("render/unsupported".into(), "kustomization.yaml".into(), 2),
            ("render/unsupported".into(), "kustomization.yaml".into(), 5),
            ("render/incomplete".into(), "replicas.yaml".into(), 1),
            ("render/incomplete".into(), "kustomization.yaml".into(), 9),
        ]
    );
    // The URL is named as written, never joined to the folder as a local path.
    let files = Files::new();
    let r = render_dir(
        &DiskFs::new(dir.path()),
        &files,
        "app",
        &RenderOptions::default(),
    );
    assert!(r
        .diagnostics
        .iter()
        .all(|d| !d.message.contains("app/https")));
    assert!(r.diagnostics.iter().any(|d| d
        .message
        .contains("https://raw.githubusercontent.com/example/platform/main/patch.yaml")));
    assert_eq!(
        render_findings(dir.path(), "local"),
        vec![("render/invalid".into(), "replicas.yaml".into(), 1)]
    );
}

#[test]
fn outside_a_git_repository_an_absolute_overlay_reads_its_base() {
    // No `.git` anywhere above: kubectl kustomize reads `../../base` from any folder.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("deploy");
    for (path, text) in [
        (
            "base/kustomization.yaml",
            "resources:\n- configmap.yaml\n",
        ),
        (
            "base/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\nbogus: 1\n",
        ),
        (
            "overlays/prod/kustomization.yaml",
            "namespace: prod\nresources:\n- ../../base\n",
        ),
    ] {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let elsewhere = tempfile::tempdir().unwrap();
    let overlay = root.join("overlays/prod");
    let out = kgate()
        .args(["check", "--format", "json", "--no-builtin-policies"])
        .arg(&overlay)
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = findings(&json);
    assert!(
        f.iter().all(|d| d["code"] != "render/outside-root"),
        "{f:#?}"
    );
    let unknown = f
        .iter()
        .find(|d| d["code"] == "schema/unknown-field")
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert!(unknown["file"]
        .as_str()
        .unwrap()
        .ends_with("deploy/base/configmap.yaml"));
    assert_eq!(out.status.code(), Some(1));
    // `kgate render` reads it the same way.
    let out = kgate()
        .arg("render")
        .arg(&overlay)
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("namespace: prod") && text.contains("name: settings"),
        "{text}"
    );
}
