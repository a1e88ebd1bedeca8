//! The built-in CRD catalog as a user meets it: ecosystem kinds validated without their CRDs
//! in the repository (errors at file:line:col), the precedence of repository CRDs, `--crd`
//! and `--schema-location` over the catalog, `--no-catalog` / `catalog: false`, versions no
//! longer served, older Kubernetes versions, and the `kgate catalog` listing.

use std::path::Path;

use serde_json::Value;

#[path = "common/kgate_cli.rs"]
mod kgate_cli;
use kgate_cli::kgate;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/catalog")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// `kgate check ARGS --format json` with the built-in policy pack off (schema findings only).
fn check(args: &[&str]) -> (i32, Value) {
    kgate_cli::check_json(None, args)
}

/// (code, line, column, field path) of every finding, in line order. The fixtures' HelmReleases
/// name charts of HelmRepositories that are not available offline: that coverage note
/// (`render/unsupported` on `spec.chart`) is tested in tests/helm_check.rs, not here.
fn findings(json: &Value) -> Vec<(String, u64, u64, String)> {
    let mut v: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !(d["code"] == "render/unsupported" && d["path"] == "/spec/chart"))
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
                d["path"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort_by(|a, b| (a.1, a.2, &a.0).cmp(&(b.1, b.2, &b.0)));
    v
}

fn f(code: &str, line: u64, col: u64, path: &str) -> (String, u64, u64, String) {
    (code.to_string(), line, col, path.to_string())
}

fn messages(json: &Value) -> Vec<String> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn flux_kinds_validate_from_the_catalog() {
    let (code, json) = check(&[&fixture("flux-valid.yaml")]);
    assert_eq!(findings(&json), vec![], "{json:#}");
    assert_eq!(code, 0);
    assert_eq!(json["summary"]["resources"].as_u64(), Some(5), "{json:#}");
}

#[test]
fn flux_unknown_fields_and_wrong_types_are_reported_where_they_are() {
    let (code, json) = check(&[&fixture("flux-invalid.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&json),
        vec![
            // GitRepository: `secretName` is not a field (it is `secretRef.name`).
            f("schema/unknown-field", 11, 3, "/spec/secretName"),
            // Kustomization: `prune` is a boolean.
            f("schema/wrong-type", 21, 10, "/spec/prune"),
            // HelmRepository: `insecure` is a boolean.
            f("schema/wrong-type", 34, 13, "/spec/insecure"),
            // OCIRepository: the field is `ref`.
            f("schema/unknown-field", 44, 3, "/spec/reference"),
            // HelmRelease: retries is an integer; `valuesFile` does not exist.
            f(
                "schema/wrong-type",
                62,
                16,
                "/spec/install/remediation/retries"
            ),
            f("schema/unknown-field", 63, 3, "/spec/valuesFile"),
        ],
        "{json:#}"
    );
    let msgs = messages(&json).join("\n");
    assert!(msgs.contains("secretName"), "{msgs}");
}

#[test]
fn argo_cert_manager_gateway_external_secrets_and_prometheus_validate() {
    let (code, json) = check(&[&fixture("ecosystem-valid.yaml")]);
    assert_eq!(findings(&json), vec![], "{json:#}");
    assert_eq!(code, 0);
    assert_eq!(json["summary"]["resources"].as_u64(), Some(8));
}

#[test]
fn ecosystem_errors_are_reported_at_their_line() {
    let (code, json) = check(&[&fixture("ecosystem-invalid.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&json),
        vec![
            // Application
            f(
                "schema/wrong-type",
                17,
                14,
                "/spec/syncPolicy/automated/prune"
            ),
            f("schema/unknown-field", 18, 5, "/spec/syncPolicy/syncOption"),
            // AppProject
            f("schema/wrong-type", 27, 16, "/spec/sourceRepos"),
            f("schema/unknown-field", 28, 3, "/spec/destination"),
            // ClusterIssuer
            f(
                "schema/wrong-type",
                45,
                20,
                "/spec/acme/solvers/0/http01/ingress/class"
            ),
            f("schema/unknown-field", 46, 3, "/spec/selfsigned"),
            // Certificate
            f("schema/wrong-type", 55, 13, "/spec/dnsNames"),
            f("schema/unknown-field", 60, 3, "/spec/keySize"),
            // Gateway
            f("schema/wrong-type", 72, 13, "/spec/listeners/0/port"),
            f("schema/unknown-field", 73, 7, "/spec/listeners/0/hostnames"),
            // HTTPRoute
            f(
                "schema/wrong-type",
                91,
                17,
                "/spec/rules/0/backendRefs/0/port"
            ),
            f("schema/unknown-field", 92, 7, "/spec/rules/0/backend"),
            // ExternalSecret
            f("schema/wrong-type", 107, 16, "/spec/target/immutable"),
            f("schema/unknown-field", 112, 7, "/spec/data/0/remoteKey"),
            // ServiceMonitor
            f(
                "schema/unknown-field",
                126,
                7,
                "/spec/endpoints/0/scrapeInterval"
            ),
            f("schema/wrong-type", 127, 13, "/spec/jobLabel"),
        ],
        "{json:#}"
    );
}

#[test]
fn versions_no_longer_served_are_removed_apis_with_their_replacement() {
    let (code, json) = check(&[&fixture("removed-versions.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&json),
        vec![
            // HelmRelease v2beta1: dropped from the CRD.
            f("schema/removed-api", 1, 13, "/apiVersion"),
            // ExternalSecret v1beta1: listed with `served: false`.
            f("schema/removed-api", 15, 13, "/apiVersion"),
            // A kind nobody describes stays "missing".
            f("schema/missing", 26, 7, "/kind"),
        ],
        "{json:#}"
    );
    let d = &json["diagnostics"];
    let by_line = |line: u64| {
        d.as_array()
            .unwrap()
            .iter()
            .find(|x| x["line"] == line)
            .unwrap()
            .clone()
    };
    let hr = by_line(1);
    assert!(
        hr["message"]
            .as_str()
            .unwrap()
            .contains("not served by fluxcd/helm-controller@v"),
        "{hr:#}"
    );
    assert!(
        hr["help"]
            .as_str()
            .unwrap()
            .contains("apiVersion: helm.toolkit.fluxcd.io/v2"),
        "{hr:#}"
    );
    let es = by_line(15);
    assert!(
        es["help"]
            .as_str()
            .unwrap()
            .contains("apiVersion: external-secrets.io/v1`"),
        "{es:#}"
    );
}

#[test]
fn no_catalog_flag_and_config_key_switch_it_off() {
    let (code, json) = check(&[&fixture("flux-valid.yaml"), "--no-catalog"]);
    assert_eq!(code, 0, "missing schemas are warnings");
    let codes: Vec<String> = findings(&json).into_iter().map(|x| x.0).collect();
    assert_eq!(codes, vec!["schema/missing"; 5], "{json:#}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("flux-invalid.yaml"), dir.path().join("flux.yaml")).unwrap();
    std::fs::write(dir.path().join(".kgate.yaml"), "catalog: false\n").unwrap();
    let (_, json) = check(&[dir.path().to_str().unwrap()]);
    let codes: Vec<String> = findings(&json).into_iter().map(|x| x.0).collect();
    assert_eq!(codes, vec!["schema/missing"; 5], "{json:#}");
    // The same folder with the key on again: the catalog finds the six mistakes.
    std::fs::write(dir.path().join(".kgate.yaml"), "catalog: true\n").unwrap();
    let (code, json) = check(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json).len(), 6, "{json:#}");
}

#[test]
fn a_repository_crd_overrides_the_catalog() {
    // The folder holds an older CRD for HelmRelease: its v2 knows `teamOwner` and it still
    // serves v2beta2, so neither object is reported.
    let (code, json) = check(&[&fixture("precedence")]);
    assert_eq!(findings(&json), vec![], "{json:#}");
    assert_eq!(code, 0);
    // Without that CRD the catalog judges both, its CEL rules included (a v2 HelmRelease
    // names a chart or a chartRef).
    let (code, json) = check(&[&fixture("precedence/releases.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&json),
        vec![
            f("admission/cel", 7, 3, "/spec"),
            f("schema/unknown-field", 8, 3, "/spec/teamOwner"),
            f("schema/removed-api", 10, 13, "/apiVersion"),
        ],
        "{json:#}"
    );
    // `--crd` counts as the repository's own CRD.
    let (code, json) = check(&[
        &fixture("precedence/releases.yaml"),
        "--crd",
        &fixture("precedence/crds"),
    ]);
    assert_eq!(findings(&json), vec![], "{json:#}");
    assert_eq!(code, 0);
}

#[test]
fn a_schema_location_overrides_the_catalog() {
    let (code, json) = check(&[
        &fixture("precedence/releases.yaml"),
        "--schema-location",
        &fixture("precedence/schemas"),
    ]);
    // v2 comes from the folder (which knows `teamOwner`); v2beta2 is still the catalog's.
    assert_eq!(
        findings(&json),
        vec![f("schema/removed-api", 10, 13, "/apiVersion")],
        "{json:#}"
    );
    assert_eq!(code, 1);
}

#[test]
fn older_kubernetes_versions_are_built_in() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flow.yaml");
    // flowcontrol v1beta3 was served until 1.31 and removed in 1.32.
    std::fs::write(
        &file,
        "apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: PriorityLevelConfiguration\n\
         metadata:\n  name: low\nspec:\n  type: Limited\n  limited:\n    nominalConcurrencyShares: 5\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    for v in ["1.30", "1.31"] {
        let (code, json) = check(&[file, "--kubernetes-version", v]);
        assert_eq!(findings(&json), vec![], "{v}: {json:#}");
        assert_eq!(code, 0);
        assert_eq!(json["kubernetesVersion"].as_str(), Some(v), "{json:#}");
    }
    for v in ["1.32", "1.37"] {
        let (code, json) = check(&[file, "--kubernetes-version", v]);
        assert_eq!(
            findings(&json),
            vec![f("schema/removed-api", 1, 13, "/apiVersion")],
            "{v}: {json:#}"
        );
        assert_eq!(code, 1);
    }
    let out = kgate()
        .args(["check", file, "--kubernetes-version", "1.29"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1.30, 1.31, 1.32, 1.33"), "{err}");
}

fn catalog_cmd(args: &[&str]) -> (i32, String) {
    let out = kgate().arg("catalog").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn catalog_lists_kinds_with_their_source() {
    let (code, text) = catalog_cmd(&[
        "--filter",
        "toolkit.fluxcd.io",
        "--kubernetes-version",
        "1.37",
    ]);
    assert_eq!(code, 0);
    // The commit hashes make the sources section long; the table is what is snapshotted.
    let table: String = text
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    insta::assert_snapshot!(table);
    assert!(text.contains("Catalog sources"), "{text}");
    assert!(
        text.contains("fluxcd/helm-controller@v1.6.3  Apache-2.0  commit "),
        "{text}"
    );
}

#[test]
fn catalog_json_shows_precedence() {
    // The repository's CRD wins for HelmRelease; the catalog still serves the rest of Flux.
    let (code, text) = catalog_cmd(&[&fixture("precedence"), "-o", "json", "--filter", "fluxcd"]);
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&text).unwrap();
    let kinds = json["kinds"].as_array().unwrap();
    let find = |api: &str, kind: &str| {
        kinds
            .iter()
            .find(|k| k["apiVersion"] == api && k["kind"] == kind)
            .unwrap_or_else(|| panic!("{api} {kind} not listed: {text}"))
            .clone()
    };
    let hr = find("helm.toolkit.fluxcd.io/v2", "HelmRelease");
    assert_eq!(hr["source"]["type"], "repository-crd", "{hr:#}");
    assert!(hr["source"]["file"]
        .as_str()
        .unwrap()
        .ends_with("helmrelease-crd.yaml"));
    assert_eq!(
        find("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease")["served"],
        true
    );
    let ks = find("kustomize.toolkit.fluxcd.io/v1", "Kustomization");
    assert_eq!(ks["source"]["type"], "catalog");
    assert_eq!(ks["source"]["repository"], "fluxcd/kustomize-controller");
    assert_eq!(ks["source"]["licence"], "Apache-2.0");
    assert_eq!(json["catalog"], true);
    assert!(json["sources"].as_array().unwrap().len() > 20);

    // --crd and --schema-location are named as such.
    let (_, text) = catalog_cmd(&[
        "-o",
        "json",
        "--filter",
        "helm.toolkit",
        "--schema-location",
        &fixture("precedence/schemas"),
    ]);
    let json: Value = serde_json::from_str(&text).unwrap();
    let kinds = json["kinds"].as_array().unwrap();
    let v2 = kinds
        .iter()
        .find(|k| k["apiVersion"] == "helm.toolkit.fluxcd.io/v2")
        .unwrap();
    assert_eq!(v2["source"]["type"], "schema-location", "{text}");
    let (_, text) = catalog_cmd(&[
        "-o",
        "json",
        "--filter",
        "helm.toolkit",
        "--crd",
        &fixture("precedence/crds"),
    ]);
    let json: Value = serde_json::from_str(&text).unwrap();
    assert!(
        json["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["kind"] == "HelmRelease")
            .all(|k| k["source"]["type"] == "crd-flag"),
        "{text}"
    );

    // --no-catalog: only built-in kinds remain.
    let (_, text) = catalog_cmd(&["-o", "json", "--no-catalog"]);
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["catalog"], false);
    assert!(json["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["source"]["type"] == "kubernetes"));
}

#[test]
fn catalog_lists_the_constraint_kinds_of_templates_as_check_knows_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("template.yaml"),
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sallowedrepos\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sAllowedRepos\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n        package k8sallowedrepos\n        violation[{\"msg\": \"x\"}] { false }\n",
    )
    .unwrap();
    let path = dir.path().to_string_lossy().to_string();
    let (code, text) = catalog_cmd(&[&path, "-o", "json", "--filter", "K8sAllowedRepos"]);
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&text).unwrap();
    let mut listed: Vec<(String, String)> = json["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            // Cluster-scoped, from the template's file.
            assert_eq!(k["namespaced"], false, "{k}");
            assert_eq!(k["source"]["type"], "repository-crd", "{k}");
            assert!(
                k["source"]["file"]
                    .as_str()
                    .unwrap()
                    .ends_with("template.yaml"),
                "{k}"
            );
            (
                k["apiVersion"].as_str().unwrap().to_string(),
                k["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        [
            "constraints.gatekeeper.sh/v1",
            "constraints.gatekeeper.sh/v1alpha1",
            "constraints.gatekeeper.sh/v1beta1"
        ],
        "{text}"
    );
}
