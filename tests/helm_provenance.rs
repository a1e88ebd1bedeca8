//! Findings on chart-rendered objects point at the template line *and* (issue 17 item 5) at the
//! line of the values document the field's value came from, as a `related` location: the
//! HelmRelease's `spec.values` (or the overlay patch that set it), a `valuesFrom` ConfigMap,
//! an Argo CD values file / `helm.values` / parameter, a kustomize `valuesInline`, or the
//! chart's own `values.yaml` when the chart is a folder of the repository. A value a template
//! computes itself, or a chart from the chart cache, gives the template line only.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const CHART: &str = "apiVersion: v2\nname: web\nversion: 0.1.0\n";
// Line numbers matter: the assertions below name them.
const VALUES: &str = "\
replicas: 1
image:
  repository: registry.example.com/team/web
  tag: 0a1b2c3d
securityContext: {}
ports:
  - port: 8080
resources:
  limits:
    memory: 64Mi
";
const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}\"
          {{- with .Values.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            {{- range .Values.ports }}
            - containerPort: {{ .port }}
            {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
          livenessProbe:
            httpGet: {path: /healthz, port: 8080}
          terminationMessagePolicy: {{ printf \"%s\" \"File\" }}
";

fn write_chart(repo: &Repo, dir: &str) {
    repo.write(&format!("{dir}/Chart.yaml"), CHART);
    repo.write(&format!("{dir}/values.yaml"), VALUES);
    repo.write(&format!("{dir}/templates/deployment.yaml"), DEPLOYMENT);
}

const SOURCE: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://git.example.com/fleet\n  ref:\n    branch: main\n";

/// A HelmRelease of `charts/web`; `extra` goes under `spec:` (values start on line 15).
fn release(extra: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/web\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n{extra}"
    )
}

fn check(repo: &Repo) -> Value {
    repo.report(&["check", ".", "-o", "json"]).1
}

/// The finding with `code` at `path` (the report is printed when there is none).
fn at<'a>(v: &'a Value, code: &str, path: &str) -> &'a Value {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code && d["path"] == path)
        .unwrap_or_else(|| panic!("no {code} at {path}: {v:#}"))
}

/// Asserts the (file, line) of each related location of `d`.
fn points_at(d: &Value, want: &[(&str, u64)]) {
    let got: Vec<(String, u64)> = related(d).into_iter().map(|r| (r.0, r.1)).collect();
    let want: Vec<(String, u64)> = want.iter().map(|(f, l)| (f.to_string(), *l)).collect();
    assert_eq!(got, want, "{d:#}");
}

/// (file, line, message) of each related location.
fn related(d: &Value) -> Vec<(String, u64, String)> {
    d["related"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|r| {
                    (
                        r["file"].as_str().unwrap().to_string(),
                        r["line"].as_u64().unwrap(),
                        r["message"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn repo_with(release_extra: &str) -> Repo {
    let repo = Repo::new();
    write_chart(&repo, "charts/web");
    repo.write("clusters/prod/source.yaml", SOURCE);
    repo.write("apps/web/release.yaml", &release(release_extra));
    repo
}

const REPLICAS: &str = "/spec/replicas";
const CONTAINER: &str = "/spec/template/spec/containers/0";

#[test]
fn a_value_from_spec_values_points_at_the_release_line() {
    // `{{ .Values.replicas }}` with the release's `replicas: three`.
    let repo = repo_with("  values:\n    replicas: three\n");
    let v = check(&repo);
    let d = at(&v, "schema/wrong-type", REPLICAS);
    assert_eq!(
        (d["file"].as_str(), d["line"].as_u64()),
        (Some("charts/web/templates/deployment.yaml"), Some(6))
    );
    let rel = related(d);
    assert_eq!(rel.len(), 1, "{d:#}");
    assert_eq!((rel[0].0.as_str(), rel[0].1), ("apps/web/release.yaml", 16));
    assert!(
        rel[0].2.contains("`replicas`") && rel[0].2.contains("spec.values"),
        "{rel:?}"
    );
    // The value itself is not quoted in the related message.
    assert!(!rel[0].2.contains("three"), "{rel:?}");
}

#[test]
fn an_overlay_patch_of_the_values_is_the_line_pointed_at() {
    let repo = repo_with("  values:\n    replicas: 2\n");
    repo.write(
        "apps/web/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - release.yaml\n",
    );
    repo.write(
        "apps/prod/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../web\npatches:\n  - path: values.yaml\n",
    );
    repo.write(
        "apps/prod/values.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  values:\n    replicas: three\n",
    );
    let v = check(&repo);
    let d = at(&v, "schema/wrong-type", REPLICAS);
    points_at(d, &[("apps/prod/values.yaml", 8)]);
}

#[test]
fn to_yaml_blocks_and_range_items_point_inside_the_value() {
    // `toYaml .Values.resources | nindent 12` and `range .Values.ports` / `{{ .port }}`.
    let repo = repo_with(
        "  values:\n    ports:\n      - port: http\n    resources:\n      limits:\n        memory: [64Mi]\n",
    );
    let v = check(&repo);
    let port = at(
        &v,
        "schema/wrong-type",
        &format!("{CONTAINER}/ports/0/containerPort"),
    );
    assert_eq!(port["line"], 22, "{port:#}");
    let rel = related(port);
    assert_eq!(rel.len(), 1, "{port:#}");
    assert_eq!((rel[0].0.as_str(), rel[0].1), ("apps/web/release.yaml", 17));
    assert!(rel[0].2.contains("`ports[0].port`"), "{rel:?}");

    let memory = at(
        &v,
        "schema/wrong-type",
        &format!("{CONTAINER}/resources/limits/memory"),
    );
    let rel = related(memory);
    points_at(memory, &[("apps/web/release.yaml", 20)]);
    assert!(rel[0].2.contains("`resources.limits.memory`"), "{rel:?}");
}

#[test]
fn a_scalar_of_two_values_points_at_both_and_a_chart_default_at_the_charts_values() {
    // `image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"`:
    // the repository is the chart's default, the tag the release's.
    let repo = repo_with("  values:\n    image:\n      tag: latest\n");
    let v = check(&repo);
    let d = at(&v, "policy/image-tag-commit", &format!("{CONTAINER}/image"));
    assert_eq!(d["file"], "charts/web/templates/deployment.yaml");
    let mut rel: Vec<(String, u64)> = related(d).into_iter().map(|r| (r.0, r.1)).collect();
    rel.sort();
    assert_eq!(
        rel,
        [
            ("apps/web/release.yaml".to_string(), 17),
            ("charts/web/values.yaml".to_string(), 3)
        ],
        "{d:#}"
    );
    let defaults = related(d)
        .into_iter()
        .find(|r| r.0 == "charts/web/values.yaml")
        .unwrap();
    assert!(
        defaults.2.contains("`image.repository`") && defaults.2.contains("chart's default"),
        "{defaults:?}"
    );
}

#[test]
fn a_value_from_a_values_from_config_map_points_into_its_block() {
    // `with .Values.securityContext` / `toYaml .` with `privileged: true` from the ConfigMap.
    let repo = repo_with("  valuesFrom:\n    - kind: ConfigMap\n      name: web-values\n");
    repo.write(
        "apps/web/values.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-values\n  namespace: apps\ndata:\n  values.yaml: |\n    replicas: 2\n    securityContext:\n      privileged: true\n",
    );
    let v = check(&repo);
    let d = at(
        &v,
        "policy/privileged",
        &format!("{CONTAINER}/securityContext/privileged"),
    );
    assert_eq!(d["file"], "charts/web/templates/deployment.yaml");
    let rel = related(d);
    assert_eq!(rel.len(), 1, "{d:#}");
    assert_eq!((rel[0].0.as_str(), rel[0].1), ("apps/web/values.yaml", 10));
    assert!(
        rel[0].2.contains("ConfigMap web-values key values.yaml"),
        "{rel:?}"
    );

    // spec.values wins over valuesFrom: the release's line, not the ConfigMap's.
    repo.write(
        "apps/web/release.yaml",
        &release("  valuesFrom:\n    - kind: ConfigMap\n      name: web-values\n  values:\n    securityContext:\n      privileged: true\n"),
    );
    let v = check(&repo);
    let d = at(
        &v,
        "policy/privileged",
        &format!("{CONTAINER}/securityContext/privileged"),
    );
    points_at(d, &[("apps/web/release.yaml", 20)]);
}

#[test]
fn a_field_the_template_computes_has_only_the_template_line() {
    // A value the chart's default sets, and a field the template writes itself: the default
    // points at the chart's values.yaml; the computed one has no related location.
    let repo = repo_with("  values:\n    replicas: 2\n");
    repo.write(
        "charts/web/values.yaml",
        &VALUES.replace("replicas: 1", "replicas: three"),
    );
    repo.write(
        "charts/web/templates/deployment.yaml",
        &DEPLOYMENT.replace(
            "terminationMessagePolicy: {{ printf \"%s\" \"File\" }}",
            "terminationMessagePolicy: {{ printf \"%d\" 7 }}",
        ),
    );
    let v = check(&repo);
    // The release sets replicas: no finding at all.
    assert!(
        !v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["path"] == REPLICAS),
        "{v:#}"
    );
    let d = at(
        &v,
        "schema/wrong-type",
        &format!("{CONTAINER}/terminationMessagePolicy"),
    );
    assert!(related(d).is_empty(), "{d:#}");

    // Without the release's replicas, the chart's default is what is rendered.
    repo.write("apps/web/release.yaml", &release(""));
    let v = check(&repo);
    let d = at(&v, "schema/wrong-type", REPLICAS);
    points_at(d, &[("charts/web/values.yaml", 1)]);
}

fn argo_app(helm: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\nspec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: web\n  source:\n    repoURL: https://git.example.com/fleet.git\n    targetRevision: main\n    path: charts/web\n    helm:\n{helm}"
    )
}

#[test]
fn argo_cd_value_files_values_and_parameters_are_pointed_at() {
    let repo = Repo::new();
    write_chart(&repo, "charts/web");
    repo.write(
        "charts/web/values-prod.yaml",
        "image:\n  tag: main\nreplicas: three\n",
    );
    repo.write(
        "argo/web.yaml",
        &argo_app("      valueFiles:\n        - values-prod.yaml\n"),
    );
    let v = check(&repo);
    let d = at(&v, "schema/wrong-type", REPLICAS);
    let rel = related(d);
    points_at(d, &[("charts/web/values-prod.yaml", 3)]);
    assert!(rel[0].2.contains("valueFiles"), "{rel:?}");

    // helm.values (a YAML string in a literal block) wins over the file: its line in the
    // Application; a parameter wins over both.
    repo.write(
        "argo/web.yaml",
        &argo_app("      valueFiles:\n        - values-prod.yaml\n      values: |\n        image:\n          tag: main\n        replicas: four\n"),
    );
    let v = check(&repo);
    let d = at(&v, "schema/wrong-type", REPLICAS);
    points_at(d, &[("argo/web.yaml", 21)]);
    repo.write(
        "argo/web.yaml",
        &argo_app("      valueFiles:\n        - values-prod.yaml\n      parameters:\n        - name: replicas\n          value: five\n"),
    );
    let v = check(&repo);
    let d = at(&v, "schema/wrong-type", REPLICAS);
    points_at(d, &[("argo/web.yaml", 20)]);
}

#[test]
fn kustomize_helm_charts_values_inline_and_files_are_pointed_at() {
    let repo = Repo::new();
    write_chart(&repo, "app/charts/web");
    repo.write("app/values-prod.yaml", "replicas: three\n");
    repo.write(
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team\nhelmCharts:\n  - name: web\n    releaseName: web\n    valuesFile: values-prod.yaml\n",
    );
    let v = check(&repo);
    let d = at(&v, "schema/wrong-type", REPLICAS);
    assert_eq!(d["file"], "app/charts/web/templates/deployment.yaml");
    points_at(d, &[("app/values-prod.yaml", 1)]);
    // valuesInline overrides the file (valuesMerge: override, the default).
    repo.write(
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team\nhelmCharts:\n  - name: web\n    releaseName: web\n    valuesFile: values-prod.yaml\n    valuesInline:\n      replicas: four\n",
    );
    let v = check(&repo);
    let d = at(&v, "schema/wrong-type", REPLICAS);
    points_at(d, &[("app/kustomization.yaml", 9)]);
    // The human report shows the second position under the finding.
    let out = repo.kgate(&["check", ".", "--color", "never"]);
    let text = stdout(&out);
    assert!(
        text.contains(
            "`replicas` is set here (helmCharts valuesInline): app/kustomization.yaml:9:17"
        ),
        "{text}"
    );
    // And SARIF as a related location.
    let out = repo.kgate(&["check", ".", "-o", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "schema/wrong-type")
        .unwrap();
    let loc = &result["relatedLocations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "app/kustomization.yaml");
    assert_eq!(loc["region"]["startLine"], 9);
}

#[test]
fn one_finding_for_several_releases_points_at_each_releases_value() {
    // Two releases of the chart set the same wrong value: one finding (the template line),
    // naming both releases and pointing at both values lines.
    let repo = repo_with("  values:\n    replicas: three\n");
    repo.write(
        "apps/shop/release.yaml",
        &release("  values:\n    replicas: three\n").replace("name: web\n", "name: shop\n"),
    );
    let v = check(&repo);
    let all: Vec<&Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "schema/wrong-type" && d["path"] == REPLICAS)
        .collect();
    assert_eq!(all.len(), 1, "{v:#}");
    let mut places: Vec<(String, u64)> = related(all[0]).into_iter().map(|r| (r.0, r.1)).collect();
    places.sort();
    assert_eq!(
        places,
        [
            ("apps/shop/release.yaml".to_string(), 16),
            ("apps/web/release.yaml".to_string(), 16)
        ],
        "{:#}",
        all[0]
    );
}

/// Library charts hand their named templates a `dict` context (`dict "replicas" .Values.replicas
/// "context" $`): fields read from it, directly, through `with` or from the root it carries,
/// keep pointing at the values line.
#[test]
fn values_passed_to_a_named_template_in_a_dict_are_pointed_at() {
    let repo = repo_with("  values:\n    replicas: three\n");
    let dir = repo.path().join("charts/web/templates");
    std::fs::write(
        dir.join("_lib.tpl"),
        "{{- define \"lib.replicas\" -}}{{ .count }}{{- end -}}\n{{- define \"lib.replicasFromRoot\" -}}{{ .context.Values.replicas }}{{- end -}}\n{{- define \"lib.replicasWith\" -}}{{ with .settings }}{{ .replicas }}{{ end }}{{- end -}}\n",
    )
    .unwrap();
    for call in [
        "{{ include \"lib.replicas\" (dict \"count\" .Values.replicas \"context\" $) }}",
        "{{ include \"lib.replicasFromRoot\" (dict \"context\" $) }}",
        "{{ include \"lib.replicasWith\" (dict \"settings\" .Values) }}",
    ] {
        std::fs::write(
            dir.join("deployment.yaml"),
            DEPLOYMENT.replace("{{ .Values.replicas }}", call),
        )
        .unwrap();
        let v = check(&repo);
        let d = at(&v, "schema/wrong-type", REPLICAS);
        points_at(d, &[("apps/web/release.yaml", 16)]);
    }
}
