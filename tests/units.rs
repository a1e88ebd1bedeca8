//! kgate checks what the GitOps agent applies, and only that (issue 12 §1, §2, §5 and misses):
//! the real binary on fixture repositories under tests/fixtures/units — a Flux home lab with
//! charts, components, patches, generator files, kind/kpt/skaffold files — asserting what is
//! checked, what is skipped and why, and the exact findings of the misses.

use std::path::Path;

use serde_json::Value;

#[path = "common/fixture_tree.rs"]
mod fixture_tree;
#[path = "common/kgate_cli.rs"]
mod kgate_cli;
use fixture_tree::copy_dir;
use kgate_cli::kgate;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/units")
}

/// `kgate check ARGS --format json` run inside `dir` (schema and loader behaviour only: the
/// built-in policy pack is off).
fn check_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    kgate_cli::check_json(Some(dir), args)
}

/// (code, file, line) of every finding, sorted.
fn findings(json: &Value) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or("").to_string(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

/// The skipped reason of `file` (first entry), if it was skipped.
fn skipped_reason(json: &Value, file: &str) -> Option<String> {
    json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["file"] == file)
        .map(|s| s["reason"].as_str().unwrap().to_string())
}

/// Copies a fixture into a fresh git repository (the repository root bounds rendering).
fn repo(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join(name), dir.path());
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

/// Findings other than the missing schemas of Flux's own kinds (not built in).
fn real_findings(json: &Value) -> Vec<(String, String, u64)> {
    findings(json)
        .into_iter()
        .filter(|(code, _, _)| code != "schema/missing")
        .collect()
}

#[test]
fn a_flux_home_lab_with_charts_components_and_tool_files_has_no_false_positive() {
    let dir = repo("homelab");
    let (code, json) = check_json(dir.path(), &["."]);
    // The chart `charts/podinfo` is only deployed by skaffold (a developer tool), never by the
    // GitOps agent: its templates were skipped, which kgate says (a coverage warning, counted as
    // not verified), instead of reporting false errors in them or a silent pass.
    assert_eq!(
        real_findings(&json),
        vec![
            (
                "render/unsupported".to_string(),
                "charts/podinfo/Chart.yaml".to_string(),
                1
            ),
            (
                "unit/unused-component".to_string(),
                "apps/components/debug-unused/kustomization.yaml".to_string(),
                2
            )
        ],
        "{json:#}"
    );
    // Only Flux's own kinds lack a schema.
    for d in json["diagnostics"].as_array().unwrap() {
        if d["code"] == "schema/missing" {
            assert!(
                d["message"].as_str().unwrap().contains("toolkit.fluxcd.io"),
                "{d}"
            );
        }
    }
    assert_eq!(code, 0, "{json:#}");
}

#[test]
fn chart_templates_values_and_go_templates_are_skipped_with_a_reason() {
    let dir = repo("homelab");
    let (_, json) = check_json(dir.path(), &["."]);
    for (file, words) in [
        (
            "charts/podinfo/templates/deployment.yaml",
            "Go template of Helm chart `charts/podinfo`",
        ),
        (
            "charts/podinfo/templates/service.yaml",
            "Go template of Helm chart",
        ),
        (
            "charts/podinfo/templates/tests/test-connection.yaml",
            "Go template of Helm chart",
        ),
        ("charts/podinfo/values.yaml", "values file"),
        ("charts/podinfo/values-prod.yaml", "values file"),
        ("charts/podinfo/ci/lint-values.yaml", "values file"),
        ("charts/podinfo/Chart.yaml", "metadata of Helm chart"),
        ("hack/configmap.template.yaml", "Go template (by its name)"),
        (
            "hack/rendered-by-ci.yaml",
            "Go template: it parses as YAML only once",
        ),
    ] {
        let reason = skipped_reason(&json, file).unwrap_or_else(|| panic!("{file} not skipped"));
        assert!(reason.contains(words), "{file}: {reason}");
    }
    // A chart's crds/ are applied by Helm as they are: still checked.
    let resources = json["resources"].as_array().unwrap();
    assert!(resources
        .iter()
        .any(|r| r["file"] == "charts/podinfo/crds/podinfos.yaml"));
    assert!(!resources
        .iter()
        .any(|r| r["file"].as_str().unwrap().contains("templates/")));
}

#[test]
fn a_chart_template_named_alone_is_still_a_template() {
    // pre-commit passes changed files one by one.
    let dir = repo("homelab");
    let (code, json) = check_json(
        dir.path(),
        &[
            "charts/podinfo/templates/deployment.yaml",
            "charts/podinfo/values.yaml",
        ],
    );
    assert_eq!(findings(&json), vec![], "{json:#}");
    assert_eq!(json["summary"]["skipped"], 2);
    assert_eq!(code, 0);
}

#[test]
fn components_are_checked_only_through_their_users() {
    let dir = repo("homelab");
    let (_, json) = check_json(dir.path(), &["."]);
    let resources = json["resources"].as_array().unwrap();
    let objects_from = |file: &str| resources.iter().filter(|r| r["file"] == file).count();
    // ha: used by apps/staging and the Flux Kustomization `apps` (through spec.components).
    assert_eq!(objects_from("apps/components/ha/pdb.yaml"), 2, "{json:#}");
    // autoscale: used only by Flux spec.components; its ${MIN_REPLICAS:=2} is substituted.
    assert_eq!(objects_from("apps/components/autoscale/hpa.yaml"), 1);
    // debug-unused: nothing includes it: not rendered, its files skipped, one note.
    assert_eq!(
        objects_from("apps/components/debug-unused/debug-pod.yaml"),
        0
    );
    let notes: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "unit/unused-component")
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["severity"], "note");
    for file in [
        "apps/components/debug-unused/debug-pod.yaml",
        "apps/components/debug-unused/verbose.yaml",
    ] {
        let reason = skipped_reason(&json, file).unwrap_or_else(|| panic!("{file}"));
        assert!(reason.contains("debug-unused"), "{reason}");
    }
}

#[test]
fn patches_and_generator_files_are_inputs_not_manifests() {
    let dir = repo("homelab");
    let (_, json) = check_json(dir.path(), &["."]);
    for (file, words) in [
        (
            "apps/prod/replicas-patch.yaml",
            "a patch of kustomization `apps/prod`",
        ),
        (
            "apps/prod/resources-patch.yaml",
            "a patch of kustomization `apps/prod`",
        ),
        (
            "apps/components/ha/replicas.yaml",
            "a patch of kustomize Component `apps/components/ha`",
        ),
        (
            "apps/base/podinfo/config/settings.yaml",
            "a generator's data file of kustomization `apps/base/podinfo`",
        ),
    ] {
        let reason = skipped_reason(&json, file).unwrap_or_else(|| panic!("{file}"));
        assert!(reason.contains(words), "{file}: {reason}");
    }
}

#[test]
fn objects_that_are_not_applied_are_skipped_never_missing_name() {
    let dir = repo("homelab");
    let (_, json) = check_json(dir.path(), &["."]);
    for (file, words) in [
        (
            "infrastructure/local/kind-cluster.yaml",
            "kind cluster configuration",
        ),
        ("skaffold.yaml", "skaffold configuration"),
        ("kpt/setters/setters.yaml", "local-config"),
        (
            "kpt/setters/apply-setters.yaml",
            "KRM function configuration",
        ),
        (
            "kpt/setters/fn-config.yaml",
            "config.kubernetes.io/function",
        ),
    ] {
        let reason = skipped_reason(&json, file).unwrap_or_else(|| panic!("{file}"));
        assert!(reason.contains(words), "{file}: {reason}");
    }
    assert!(!findings(&json)
        .iter()
        .any(|(c, _, _)| c == "schema/missing-name"));
}

#[test]
fn an_object_reachable_from_a_root_and_a_flux_kustomization_is_counted_once() {
    let dir = repo("homelab");
    let (_, json) = check_json(dir.path(), &["."]);
    let resources = json["resources"].as_array().unwrap();
    // apps/prod is a kustomization root and the path of the Flux Kustomization `apps`: the
    // agent applies it once, through Flux (with its components and substitutions).
    let deployments = resources
        .iter()
        .filter(|r| r["file"] == "apps/base/podinfo/deployment.yaml")
        .count();
    // apps/staging (plain root) + Flux `apps` (apps/prod).
    assert_eq!(deployments, 2, "{json:#}");
    let infra = resources
        .iter()
        .filter(|r| r["file"] == "infrastructure/controllers/ingress.yaml")
        .count();
    assert_eq!(infra, 1);
}

#[test]
fn misses_type_meta_unknown_builtin_kinds_and_upper_case_extensions() {
    let dir = repo("misses");
    let (code, json) = check_json(dir.path(), &["."]);
    assert_eq!(
        findings(&json),
        vec![
            ("schema/missing".into(), "widget.Yml".into(), 2),
            ("schema/type-meta".into(), "no-apiversion.yaml".into(), 1),
            ("schema/unknown-kind".into(), "typo-kinds.yaml".into(), 2),
            ("schema/unknown-kind".into(), "typo-kinds.yaml".into(), 11),
            ("schema/wrong-type".into(), "UPPER.YAML".into(), 6),
        ],
        "{json:#}"
    );
    let helps: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "schema/unknown-kind")
        .map(|d| d["help"].as_str().unwrap())
        .collect();
    assert_eq!(helps, ["did you mean `Pod`?", "did you mean `Deployment`?"]);
    assert_eq!(code, 1);
    // An object without a schema is not "valid": it is unchecked.
    let s = &json["summary"];
    assert_eq!(
        (
            s["resources"].as_u64(),
            s["valid"].as_u64(),
            s["invalid"].as_u64(),
            s["unchecked"].as_u64()
        ),
        (Some(5), Some(1), Some(3), Some(1)),
        "{s}"
    );
}

#[test]
fn the_human_summary_says_unchecked() {
    let dir = repo("misses");
    let out = kgate()
        .current_dir(dir.path())
        .args(["check", "widget.Yml", "--no-builtin-policies"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap();
    insta::assert_snapshot!(last, @"1 file, 2 resources: 1 valid, 0 invalid, 1 unchecked, 0 skipped — 0 errors, 1 warning, 1 not verified (schema/missing: 1)");
}

/// `kgate check . --format json=FILE` (plus `extra`) inside `dir`; the report.
fn report_of(dir: &Path, out: &Path, name: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--no-builtin-policies"];
    args.extend(extra);
    report_with(dir, out, name, &args)
}

/// `kgate check . --format json=FILE ARGS` inside `dir`; the report.
fn report_with(dir: &Path, out: &Path, name: &str, extra: &[&str]) -> Value {
    let file = out.join(name);
    let o = kgate()
        .current_dir(dir)
        .args(["check", ".", "--format"])
        .arg(format!("json={}", file.display()))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

fn sorted_resources(r: &Value) -> Vec<String> {
    let mut v: Vec<String> = r["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(Value::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn merged_shards_of_a_flux_home_lab_equal_one_run_exactly() {
    // Shared bases rendered by overlays of different shards, a Flux Kustomization in one shard
    // building a kustomization root of another, components and patches: every object is
    // rendered by exactly one shard and findings on shared files name every overlay.
    let dir = repo("homelab");
    let out = tempfile::tempdir().unwrap();
    let full = report_of(dir.path(), out.path(), "full.json", &[]);
    for total in [2u32, 3, 5] {
        let mut names = Vec::new();
        for i in 1..=total {
            let name = format!("s{i}-{total}.json");
            report_of(
                dir.path(),
                out.path(),
                &name,
                &["--shard", &format!("{i}/{total}")],
            );
            names.push(out.path().join(name).display().to_string());
        }
        let merged = out.path().join("merged.json");
        let o = kgate()
            .arg("merge")
            .args(&names)
            .arg("--format")
            .arg(format!("json={}", merged.display()))
            .output()
            .unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)));
        let m: Value = serde_json::from_str(&std::fs::read_to_string(merged).unwrap()).unwrap();
        assert_eq!(m["summary"], full["summary"], "{total} shards");
        assert_eq!(m["diagnostics"], full["diagnostics"], "{total} shards");
        assert_eq!(m["skipped"], full["skipped"], "{total} shards");
        assert_eq!(
            sorted_resources(&m),
            sorted_resources(&full),
            "{total} shards"
        );
    }
}

/// One run and the merge of its `--shard 1..N/N` runs, for N in 2, 3, 5: same summary, same
/// findings (same representative object of a finding merged over several units), same
/// skipped entries, same objects.
fn assert_shards_merge_exactly(layout: &str, args: &[&str]) {
    let dir = repo(layout);
    let out = tempfile::tempdir().unwrap();
    let full = report_with(dir.path(), out.path(), "full.json", args);
    for total in [2u32, 3, 5] {
        let mut names = Vec::new();
        for i in 1..=total {
            let name = format!("s{i}-{total}.json");
            let shard = format!("{i}/{total}");
            let mut a = args.to_vec();
            a.extend(["--shard", shard.as_str()]);
            report_with(dir.path(), out.path(), &name, &a);
            names.push(out.path().join(name).display().to_string());
        }
        let merged = out.path().join("merged.json");
        let o = kgate()
            .arg("merge")
            .args(&names)
            .arg("--format")
            .arg(format!("json={}", merged.display()))
            .output()
            .unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)));
        let m: Value = serde_json::from_str(&std::fs::read_to_string(merged).unwrap()).unwrap();
        let what = format!("{layout} {args:?}, {total} shards");
        assert_eq!(m["summary"], full["summary"], "{what}");
        assert_eq!(m["diagnostics"], full["diagnostics"], "{what}");
        assert_eq!(m["skipped"], full["skipped"], "{what}");
        assert_eq!(sorted_resources(&m), sorted_resources(&full), "{what}");
    }
}

#[test]
fn merged_shards_equal_one_run_on_every_layout() {
    // Layouts: a Flux home lab (charts, components, patches, tool files); a platform repository
    // mixing a Flux Kustomization that builds a kustomization root, a second root over the same
    // base in another namespace (one finding on the base, two units), a generated Flux path
    // with a HelmRelease of a local chart, Argo CD directory and kustomize Applications and
    // loose files; an Argo CD repository (recurse, include/exclude, jsonnet, options). With the
    // built-in policies, findings about objects whose namespace the agent gives (declared in
    // another shard) and findings merged over overlays in different shards are covered too.
    for layout in ["homelab", "platform", "argo"] {
        assert_shards_merge_exactly(layout, &["--no-builtin-policies"]);
        assert_shards_merge_exactly(layout, &[]);
    }
}

#[test]
fn argo_cd_plain_folder_applications_are_units_of_the_check() {
    let dir = repo("argo");
    let (_, json) = check_json(dir.path(), &["."]);
    let mut objects: Vec<String> = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] != "Application")
        .map(|r| {
            format!(
                "{} {}/{} ({})",
                r["kind"].as_str().unwrap(),
                r["namespace"].as_str().unwrap_or("-"),
                r["name"].as_str().unwrap(),
                r["file"].as_str().unwrap()
            )
        })
        .collect();
    objects.sort();
    let mut expected = vec![
        // The kustomize source: Argo CD's options written into the kustomization (prefix,
        // namespace, the component); the overlay is not also checked on its own.
        "ConfigMap shop/prod-shop-dashboard (shop/components/monitoring/dashboard.yaml)",
        // Not recursed into by `guestbook`: a loose file, checked as it is.
        "ConfigMap -/guestbook-debug (guestbook/extra/debug.yaml)",
        // A directory source: the destination namespace for namespaced objects.
        "ConfigMap tools/tools-static (jsonnet-app/static.yaml)",
        // Excluded (`*-test.yaml`) or not included (`{*.yaml,sub/*}`) by `web`: loose.
        "ConfigMap -/web-notes (web/other/notes.json)",
        "ConfigMap -/web-smoke-test (web/sub/smoke-test.yaml)",
        "ConfigMap web/web-config (web/configmap.yaml)",
        "ConfigMap web/web-worker (web/sub/worker.yaml)",
        "ClusterRole -/guestbook-reader (guestbook/service.yaml)",
        "Deployment guestbook/guestbook-ui (guestbook/deployment.yaml)",
        "Deployment shop/prod-shop (shop/base/deployment.yaml)",
        "Service guestbook/guestbook-ui (guestbook/service.yaml)",
        "Service shop/prod-shop (shop/base/service.yaml)",
    ];
    expected.sort();
    assert_eq!(objects, expected);
    let diags = json["diagnostics"].as_array().unwrap();
    let worker = diags
        .iter()
        .find(|d| d["file"] == "web/sub/worker.yaml")
        .expect("the ConfigMap value that is not a string");
    assert_eq!(worker["code"], "schema/wrong-type");
    assert_eq!(
        worker["rendered_for"],
        "Application argocd/web (argocd/web.yaml)"
    );
    let jsonnet = diags
        .iter()
        .find(|d| d["code"] == "render/unsupported")
        .expect("the jsonnet file is reported");
    assert_eq!(jsonnet["file"], "argocd/jsonnet.yaml");
    assert!(jsonnet["message"]
        .as_str()
        .unwrap()
        .contains("jsonnet-app/main.jsonnet"));
    assert_eq!(json["summary"]["errors"], 1, "{:#}", json["diagnostics"]);
}

#[test]
fn files_with_unquoted_placeholder_values_are_templates_not_manifests() {
    // `replicas: {{replicas}}` is a YAML mapping keyed by a mapping: no Kubernetes object can
    // hold it (kubectl refuses the file), so the file is a template; `{{ … }}` in a block
    // scalar or inside a string is data and the file stays checked.
    let dir = repo("templates");
    let (_, json) = check_json(dir.path(), &["."]);
    let reason = skipped_reason(&json, "etcd-controller-template.yaml").expect("skipped");
    assert!(reason.contains("template"), "{reason}");
    assert_eq!(
        real_findings(&json),
        [(
            "schema/wrong-type".to_string(),
            "broken.yaml".to_string(),
            8
        )]
    );
    assert_eq!(json["summary"]["resources"], 2);
}

#[test]
fn flux_components_are_built_inside_the_paths_kustomization() {
    // kustomize-controller appends `spec.components` to the kustomization of `spec.path`: its
    // `namespace: prod` applies to the component's PodDisruptionBudget too (else the built-in
    // policy would wrongly say it has no namespace).
    let dir = repo("platform");
    let out = tempfile::tempdir().unwrap();
    let json = report_with(dir.path(), out.path(), "r.json", &[]);
    let pdb: Vec<&Value> = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "PodDisruptionBudget")
        .collect();
    assert_eq!(pdb.len(), 1);
    assert_eq!(pdb[0]["namespace"], "prod");
    assert!(!json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["file"] == "apps/components/ha/pdb.yaml"));
}
