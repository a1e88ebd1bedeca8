//! `kgate check` renders Flux HelmReleases (issue 17 item 5): the chart's objects are checked
//! like any rendered object, at the template line that produced the field; an overlay that
//! patches the release's values is honoured; a failing `required` is `render/helm` at its
//! template line; chart objects get the release namespace (no `policy/namespace`); a chart that
//! is not available offline is `render/unsupported`, never fetched.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const CHART: &str = "apiVersion: v2\nname: app\nversion: 0.1.0\n";
const VALUES: &str =
    "replicas: 2\nimage:\n  repository: registry.example.com/team/app\n  tag: \"\"\n";
const HELPERS: &str = "{{- define \"app.labels\" -}}\napp.kubernetes.io/name: {{ .Chart.Name }}\napp.kubernetes.io/instance: {{ .Release.Name }}\n{{- end }}\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n    {{- include \"app.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels:\n      {{- include \"app.labels\" . | nindent 6 }}\n  template:\n    metadata:\n      labels:\n        {{- include \"app.labels\" . | nindent 8 }}\n    spec:\n      containers:\n        - name: app\n          image: \"{{ .Values.image.repository }}:{{ required \"image.tag is required\" .Values.image.tag }}\"\n          resources:\n            requests: {cpu: 10m, memory: 32Mi}\n            limits: {memory: 64Mi}\n";

fn release(name: &str, values: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/app\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n  values:\n{values}"
    )
}

/// The test chart `app` (helpers, a Deployment with a `required` image tag) in `dir`.
fn write_chart(repo: &Repo, dir: &str) {
    repo.write(&format!("{dir}/Chart.yaml"), CHART);
    repo.write(&format!("{dir}/values.yaml"), VALUES);
    repo.write(&format!("{dir}/templates/_helpers.tpl"), HELPERS);
    repo.write(&format!("{dir}/templates/deployment.yaml"), DEPLOYMENT);
}

fn repo() -> Repo {
    let repo = Repo::new();
    write_chart(&repo, "charts/app");
    repo.write(
        "clusters/prod/source.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://git.example.com/fleet\n  ref:\n    branch: main\n",
    );
    repo.write(
        "apps/base/release.yaml",
        &release("app", "    image:\n      tag: 0a1b2c3d\n"),
    );
    repo.write(
        "apps/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - release.yaml\n",
    );
    repo.write(
        "apps/prod/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\npatches:\n  - path: values.yaml\n",
    );
    repo.write(
        "apps/prod/values.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  values:\n    replicas: three\n",
    );
    repo
}

fn check(repo: &Repo, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["check", ".", "-o", "json"];
    args.extend_from_slice(extra);
    let out = repo.kgate(&args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

/// The first finding with `code` (the report is printed when there is none).
fn first<'a>(v: &'a Value, code: &str) -> &'a Value {
    findings(v)
        .into_iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("no {code}: {v:#}"))
}

fn findings(v: &Value) -> Vec<&Value> {
    v["diagnostics"].as_array().unwrap().iter().collect()
}

#[test]
fn chart_objects_are_checked_at_their_template_line_with_the_overlay_values() {
    let repo = repo();
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 1, "{v:#}");
    let wrong = first(&v, "schema/wrong-type");
    // `replicas: three` comes from the prod overlay's patch of the release's values, through
    // `replicas: {{ .Values.replicas }}` on line 8 of the template.
    assert_eq!(wrong["file"], "charts/app/templates/deployment.yaml");
    assert_eq!(wrong["line"], 8);
    assert_eq!(wrong["path"], "/spec/replicas");
    assert_eq!(
        wrong["rendered_for"], "HelmRelease apps/app (apps/prod)",
        "{wrong:#}"
    );
    assert_eq!(wrong["resource"]["name"], "app");
    // Only the overlay applies the release: the base's values (replicas 2) are not rendered
    // on their own, so there is exactly one Deployment finding.
    assert_eq!(
        findings(&v)
            .iter()
            .filter(|d| d["code"] == "schema/wrong-type")
            .count(),
        1
    );
}

#[test]
fn chart_objects_get_the_release_namespace() {
    let repo = repo();
    repo.write(
        "apps/prod/values.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  values:\n    replicas: 3\n",
    );
    let (_, v) = check(&repo, &[]);
    let namespace: Vec<&Value> = findings(&v)
        .into_iter()
        .filter(|d| d["code"] == "policy/namespace")
        .collect();
    assert!(namespace.is_empty(), "{namespace:#?}");
    // The chart's Deployment was checked: its image tag is a commit, so the built-in policy
    // pack has nothing to say about it, but the object is counted.
    assert!(v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["kind"] == "Deployment" && r["file"] == "charts/app/templates/deployment.yaml"));
}

#[test]
fn a_failing_required_is_render_helm_at_the_template_line() {
    let repo = repo();
    repo.write(
        "apps/base/release.yaml",
        &release("app", "    replicas: 1\n"),
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 1, "{v:#}");
    let helm = first(&v, "render/helm");
    assert_eq!(helm["file"], "charts/app/templates/deployment.yaml");
    assert_eq!(helm["line"], 19);
    assert!(
        helm["message"]
            .as_str()
            .unwrap()
            .contains("image.tag is required"),
        "{helm:#}"
    );
}

#[test]
fn a_chart_that_is_not_available_offline_is_unsupported_not_fetched() {
    let repo = Repo::new();
    repo.write(
        "apps/podinfo.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: podinfo\n      version: 6.x\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n",
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 0, "a coverage gap is a warning: {v:#}");
    let gap = first(&v, "render/unsupported");
    assert_eq!(gap["file"], "apps/podinfo.yaml");
    let message = gap["message"].as_str().unwrap();
    assert!(
        message.contains("podinfo") && message.contains("6.x"),
        "{message}"
    );
    assert_eq!(v["summary"]["unverified"], 1);
}

/// `kgate diff` renders the HelmReleases of each unit on both sides: a values change is an
/// update of the chart's objects, field by field, in the release namespace; a template that
/// adds an object is a creation.
#[test]
fn the_plan_shows_what_a_values_or_chart_change_does() {
    let repo = repo();
    repo.write(
        "apps/prod/values.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  values:\n    replicas: 3\n",
    );
    repo.write(
        "clusters/prod/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/prod\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    );
    let base = repo.commit("base");
    repo.write(
        "apps/prod/values.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  values:\n    replicas: 5\n",
    );
    repo.write(
        "charts/app/templates/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector:\n    {{- include \"app.labels\" . | nindent 4 }}\n  ports:\n    - port: 80\n",
    );
    let plan = repo.plan(&["--base", &base]);
    let u = unit(&plan, "flux-system/apps");
    let changes: Vec<(String, String, String)> = u["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["resource"]["kind"].as_str().unwrap().to_string(),
                c["resource"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert!(
        changes.contains(&("create".into(), "Service".into(), "apps".into())),
        "{u:#}"
    );
    let update = u["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update" && c["resource"]["kind"] == "Deployment")
        .unwrap_or_else(|| panic!("{u:#}"));
    assert_eq!(update["resource"]["namespace"], "apps");
    let replicas = update["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "spec.replicas")
        .unwrap_or_else(|| panic!("{update:#}"));
    assert_eq!(
        (&replicas["before"], &replicas["after"]),
        (&Value::from(3), &Value::from(5))
    );
}

/// values.schema.json is enforced as `helm install` enforces it, on the merged values, and the
/// violation points at the value in the release (never quoting it); a subchart's schema judges
/// its part of the values; valid values render as usual.
#[test]
fn values_schema_violations_point_at_the_release_value() {
    let repo = repo();
    repo.write(
        "charts/app/values.schema.json",
        r#"{"$schema": "https://json-schema.org/draft-07/schema#", "type": "object",
            "properties": {"replicas": {"type": "integer", "minimum": 1},
                           "image": {"type": "object", "required": ["repository"]}}}"#,
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 1, "{v:#}");
    let bad = first(&v, "render/helm");
    // `replicas: three` is set by the prod overlay's patch, line 8.
    assert_eq!(bad["file"], "apps/prod/values.yaml", "{bad:#}");
    assert_eq!(bad["line"], 8, "{bad:#}");
    assert_eq!(bad["path"], "/spec/values/replicas");
    let message = bad["message"].as_str().unwrap();
    assert!(message.contains("schema of chart app"), "{message}");
    assert!(message.contains("/replicas"), "{message}");
    assert!(!message.contains("three"), "{message}");
    // No object of the release was rendered: no schema finding on the chart's Deployment.
    assert!(!findings(&v)
        .iter()
        .any(|d| d["code"] == "schema/wrong-type"));

    // Valid values pass the schema.
    repo.write(
        "apps/prod/values.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  values:\n    replicas: 3\n",
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 0, "{v:#}");
}

fn argo_app(helm: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\nspec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: web\n  source:\n    repoURL: https://git.example.com/fleet.git\n    targetRevision: main\n    path: charts/app\n    helm:\n{helm}"
    )
}

/// An Argo CD Application whose source is a chart folder is rendered as Argo CD renders it:
/// valueFiles (relative to the chart) ← values ← valuesObject ← parameters, the release name,
/// the destination namespace; findings point at the template line and name the Application.
#[test]
fn argo_cd_helm_sources_are_rendered_with_their_values() {
    let repo = Repo::new();
    write_chart(&repo, "charts/app");
    repo.write(
        "charts/app/values-prod.yaml",
        "replicas: 4\nimage:\n  tag: from-file\n",
    );
    repo.write(
        "argo/web.yaml",
        &argo_app(
            "      releaseName: web-prod\n      valueFiles:\n        - values-prod.yaml\n      values: |\n        image:\n          tag: 0a1b2c3d\n      parameters:\n        - name: replicas\n          value: lots\n          forceString: true\n",
        ),
    );
    let (code, v) = check(&repo, &[]);
    assert_eq!(code, 1, "{v:#}");
    let wrong = first(&v, "schema/wrong-type");
    assert_eq!(wrong["file"], "charts/app/templates/deployment.yaml");
    assert_eq!(wrong["line"], 8);
    assert_eq!(
        wrong["rendered_for"],
        "Application argocd/web (argo/web.yaml)"
    );
    assert_eq!(wrong["resource"]["name"], "web-prod", "helm.releaseName");
    assert!(
        !findings(&v).iter().any(|d| d["code"] == "policy/namespace"),
        "the destination namespace: {v:#}"
    );
    assert!(
        !findings(&v).iter().any(|d| d["code"] == "render/helm"),
        "{v:#}"
    );

    // Without the parameter: the values file's replicas, the inline values' tag.
    repo.write(
        "argo/web.yaml",
        &argo_app("      valueFiles:\n        - values-prod.yaml\n      values: |\n        image:\n          tag: 0a1b2c3d\n"),
    );
    let (code, v) = check(&repo, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["kind"] == "Deployment" && r["name"] == "web" && r["namespace"].is_null()));

    // A values file that does not exist fails the sync: render/helm at the entry.
    repo.write(
        "argo/web.yaml",
        &argo_app("      valueFiles:\n        - values-missing.yaml\n"),
    );
    let (code, v) = check(&repo, &[]);
    assert_eq!(code, 1, "{v:#}");
    let missing = first(&v, "render/helm");
    assert_eq!(missing["file"], "argo/web.yaml");
    assert_eq!(missing["line"], 17);
}

#[test]
fn an_argo_cd_chart_of_a_helm_repository_needs_the_cache() {
    let repo = Repo::new();
    repo.write(
        "argo/podinfo.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: podinfo\n  namespace: argocd\nspec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: podinfo\n  source:\n    repoURL: https://stefanprodan.github.io/podinfo\n    chart: podinfo\n    targetRevision: 6.5.0\n",
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 0, "{v:#}");
    let gap = first(&v, "render/unsupported");
    assert_eq!(gap["line"], 13, "{gap:#}");
    assert!(
        gap["message"].as_str().unwrap().contains("podinfo 6.5.0"),
        "{gap:#}"
    );
}

/// kustomize `helmCharts` from the chart home (as `kustomize build --enable-helm` leaves it):
/// values file ← inline values, release name; the kustomization's transformers apply to the
/// chart's objects; a chart that is not there is `render/unsupported`, never pulled.
#[test]
fn kustomize_helm_charts_are_inflated_from_the_chart_home() {
    let repo = Repo::new();
    write_chart(&repo, "app/charts/app");
    repo.write("app/charts/app/crds/widget.yaml", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {type: object}\n");
    repo.write(
        "app/values-prod.yaml",
        "replicas: 2\nimage:\n  tag: 0a1b2c3d\n",
    );
    repo.write(
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team\nhelmCharts:\n  - name: app\n    releaseName: web\n    valuesFile: values-prod.yaml\n    valuesInline:\n      replicas: three\n",
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 1, "{v:#}");
    let wrong = first(&v, "schema/wrong-type");
    assert_eq!(wrong["file"], "app/charts/app/templates/deployment.yaml");
    assert_eq!(wrong["line"], 8);
    assert_eq!(wrong["rendered_for"], "app");
    // The kustomization's namespace transformer applied to the chart's Deployment.
    assert_eq!(wrong["resource"]["namespace"], "team", "{wrong:#}");
    assert_eq!(wrong["resource"]["name"], "web");
    assert!(
        !findings(&v)
            .iter()
            .any(|d| d["code"] == "render/unsupported"),
        "{v:#}"
    );
    // includeCRDs defaults to false: the chart's CRD is not in the build's output (the file
    // itself is still checked once, as a plain manifest of the repository).
    let crds = |v: &Value| {
        v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "CustomResourceDefinition")
            .count()
    };
    assert_eq!(crds(&v), 1, "{v:#}");

    // The values file alone (replicas 2): the build is valid.
    repo.write(
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team\nhelmCharts:\n  - name: app\n    releaseName: web\n    valuesFile: values-prod.yaml\n    includeCRDs: true\n",
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(crds(&v), 2, "the build's CRD too: {v:#}");

    // A chart kustomize would pull: a coverage gap at its entry.
    repo.write(
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nhelmCharts:\n  - name: podinfo\n    repo: https://stefanprodan.github.io/podinfo\n    version: 6.5.0\n",
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 0, "{v:#}");
    // (The chart `app` left in the chart home is now deployed by nothing: a note of its own.)
    let gap = findings(&v)
        .into_iter()
        .find(|d| d["code"] == "render/unsupported" && d["file"] == "app/kustomization.yaml")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(
        (gap["file"].as_str(), gap["line"].as_u64()),
        (Some("app/kustomization.yaml"), Some(4))
    );
    assert!(
        gap["message"].as_str().unwrap().contains("`podinfo` 6.5.0"),
        "{gap:#}"
    );
}

/// Flux `postRenderers`: kustomize patches and images applied to the chart's output before it is
/// installed, so their fields are checked too, at the HelmRelease's lines.
#[test]
fn post_renderers_patch_the_chart_output() {
    let repo = repo();
    repo.write(
        "apps/prod/values.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  values:\n    replicas: 3\n  postRenderers:\n    - kustomize:\n        images:\n          - name: registry.example.com/team/app\n            newTag: latest\n        patches:\n          - target:\n              kind: Deployment\n            patch: |\n              - op: add\n                path: /spec/template/spec/hostNetwork\n                value: \"yes\"\n",
    );
    let (code, v) = check(&repo, &[]);
    assert_eq!(code, 1, "{v:#}");
    let wrong = first(&v, "schema/wrong-type");
    assert_eq!(
        wrong["path"], "/spec/template/spec/hostNetwork",
        "{wrong:#}"
    );
    assert_eq!(wrong["file"], "apps/prod/values.yaml", "{wrong:#}");
    // The image the post-renderer set is the one judged.
    let image = first(&v, "policy/image-tag-commit");
    assert!(
        image["message"].as_str().unwrap().contains("latest"),
        "{image:#}"
    );
}

/// `kgate diff` renders an Argo CD Application's Helm source on both sides: a change to its values
/// file is an update of the chart's objects in the destination namespace.
#[test]
fn the_plan_renders_argo_cd_helm_sources() {
    let repo = Repo::new();
    write_chart(&repo, "charts/app");
    repo.write(
        "charts/app/values-prod.yaml",
        "replicas: 2\nimage:\n  tag: 0a1b2c3d\n",
    );
    repo.write(
        "argo/web.yaml",
        &argo_app("      valueFiles:\n        - values-prod.yaml\n").replace(
            "  source:\n",
            "  syncPolicy:\n    automated:\n      prune: true\n  source:\n",
        ),
    );
    let base = repo.commit("base");
    repo.write(
        "charts/app/values-prod.yaml",
        "replicas: 6\nimage:\n  tag: 0a1b2c3d\n",
    );
    let plan = repo.plan(&["--base", &base]);
    let u = unit(&plan, "argocd/web");
    let update = u["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update" && c["resource"]["kind"] == "Deployment")
        .unwrap_or_else(|| panic!("{u:#}"));
    assert_eq!(update["resource"]["namespace"], "web");
    assert_eq!(update["resource"]["name"], "web");
    let replicas = update["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "spec.replicas")
        .unwrap_or_else(|| panic!("{update:#}"));
    assert_eq!(
        (&replicas["before"], &replicas["after"]),
        (&Value::from(2), &Value::from(6))
    );
    // Only the chart's output: no raw template file is planned as an object.
    assert!(
        u["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["resource"]["kind"] == "Deployment"),
        "{u:#}"
    );
}

/// kustomize's HelmChartInflationGenerator, as its source reads (plugin/builtin/
/// helmchartinflationgenerator, api/types/helmchartargs.go): without `valuesFile` the chart's own
/// values.yaml is the file `valuesMerge` works on (`merge`: the file wins over the inline values;
/// `override`: the inline values win); `skipTests` drops test hooks; a versioned chart lives in
/// `NAME-VERSION/NAME` only when a `repo` is given.
#[test]
fn kustomize_helm_values_merge_and_chart_paths_follow_kustomize() {
    let repo = Repo::new();
    write_chart(&repo, "app/charts/app");
    // The chart's own values: replicas 2, an empty (required) tag.
    repo.write(
        "app/charts/app/templates/test.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers:\n    - name: t\n      image: busybox:1.36\n",
    );
    let kust = |extra: &str| {
        format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nhelmCharts:\n  - name: app\n    releaseName: web\n{extra}")
    };
    // merge: the chart's values win where both set one — `replicas: 2` over the inline `three`,
    // and the chart's empty tag over the inline one, so `required` fails.
    repo.write(
        "app/kustomization.yaml",
        &kust("    valuesMerge: merge\n    valuesInline:\n      replicas: three\n      image:\n        tag: 0a1b2c3d\n"),
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        !findings(&v)
            .iter()
            .any(|d| d["code"] == "schema/wrong-type"),
        "{v:#}"
    );
    assert!(first(&v, "render/helm")["message"]
        .as_str()
        .unwrap()
        .contains("image.tag is required"));
    // override (the default): the inline values win; skipTests drops the test Pod.
    repo.write(
        "app/kustomization.yaml",
        &kust("    skipTests: true\n    valuesInline:\n      replicas: 3\n      image:\n        tag: 0a1b2c3d\n"),
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 0, "{v:#}");
    let kinds: Vec<&str> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Deployment"], "{v:#}");
    // A version without a repo: chartHome/NAME, as kustomize reads it.
    repo.write(
        "app/kustomization.yaml",
        &kust("    version: 0.1.0\n    valuesInline:\n      image:\n        tag: 0a1b2c3d\n"),
    );
    let (code, v) = check(&repo, &["--no-builtin-policies"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(
        !findings(&v)
            .iter()
            .any(|d| d["code"] == "render/unsupported"),
        "{v:#}"
    );
}
