//! Built-in Kubernetes schema bundles: embedded, indexed lazily, decompressed per kind.
//!
//! Why: kgate validates built-in kinds offline, with no schema download. The bundles under
//! `schemas/` are written by `tools/schema-gen/generate.sh` (k8s-openapi + schemars, then made
//! strict: unknown fields rejected, int-or-string and quantities typed, optional fields nullable).
//!
//! Format of `schemas/kubernetes-v1.NN.kgsb` (the generator and this reader must agree):
//! - the 6 bytes `KGSB1\n`;
//! - a little-endian `u32` N, then N bytes of UTF-8 JSON index:
//!   `{"kubernetesVersion":"1.35","generator":"…","kinds":[{"group":"apps","version":"v1",
//!   "kind":"Deployment","namespaced":true,"offset":0,"length":1234}, …]}`, kinds sorted by
//!   (group, version, kind), group `""` for the core group;
//! - the blob area: each kind's JSON Schema (draft 2020-12, self-contained `$defs`), raw-DEFLATE
//!   compressed on its own, at `offset` (relative to the blob area) with `length` bytes.
//!
//! Only the index is parsed, once, when a version is first asked for; a schema is decompressed
//! only when [`Bundle::schema`] is called (callers should cache compiled validators).
//!
//! Validate with `jsonschema` *without* format assertion (its default): the schemas carry
//! OpenAPI formats (`int32`, `int64`, `double`, `byte`, `date-time`) as annotations only.

use std::sync::OnceLock;

use serde::Deserialize;

use super::SchemaError;

/// Kubernetes minor versions with a built-in bundle, oldest first.
pub const SUPPORTED_VERSIONS: &[&str] = &[
    "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37",
];
/// The version used when none is configured.
pub const DEFAULT_VERSION: &str = "1.37";

const MAGIC: &[u8] = b"KGSB1\n";

/// The embedded bundle bytes, in the order of [`SUPPORTED_VERSIONS`].
static RAW: [&[u8]; 8] = [
    include_bytes!("../../schemas/kubernetes-v1.30.kgsb"),
    include_bytes!("../../schemas/kubernetes-v1.31.kgsb"),
    include_bytes!("../../schemas/kubernetes-v1.32.kgsb"),
    include_bytes!("../../schemas/kubernetes-v1.33.kgsb"),
    include_bytes!("../../schemas/kubernetes-v1.34.kgsb"),
    include_bytes!("../../schemas/kubernetes-v1.35.kgsb"),
    include_bytes!("../../schemas/kubernetes-v1.36.kgsb"),
    include_bytes!("../../schemas/kubernetes-v1.37.kgsb"),
];

static BUNDLES: [OnceLock<Bundle>; 8] = [
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
];

/// One built-in resource kind of a Kubernetes version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindEntry {
    /// API group, `""` for the core group.
    pub group: String,
    /// API version within the group, e.g. `v1`, `v2`, `v1beta1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace-scoped (`true`) or cluster-scoped (`false`).
    pub namespaced: bool,
    offset: usize,
    length: usize,
}

impl KindEntry {
    /// The `apiVersion` string of this kind: `v1` for the core group, else `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The schemas of one Kubernetes version.
#[derive(Debug)]
pub struct Bundle {
    kubernetes_version: String,
    generator: String,
    kinds: Vec<KindEntry>,
    blobs: &'static [u8],
}

/// The built-in bundle of a Kubernetes version: accepts `1.35`, `v1.35`, `1.35.2`.
/// `None` for a version without a built-in bundle.
pub fn bundle(version: &str) -> Option<&'static Bundle> {
    let minor = normalize_version(version)?;
    let i = SUPPORTED_VERSIONS.iter().position(|v| *v == minor)?;
    Some(BUNDLES[i].get_or_init(|| {
        Bundle::parse(RAW[i]).unwrap_or_else(|e| {
            panic!("built-in schema bundle for Kubernetes {minor} is corrupt: {e}")
        })
    }))
}

/// `v1.35.2` / `1.35` / `1.35.0-rc.1` → `1.35`; `None` if it is not `MAJOR.MINOR[...]`.
fn normalize_version(version: &str) -> Option<String> {
    let v = version.trim();
    let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
    let mut parts = v.splitn(3, '.');
    let major = parts.next()?;
    let minor = parts.next()?;
    let minor = minor
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or("");
    if major.is_empty()
        || minor.is_empty()
        || !major.bytes().all(|b| b.is_ascii_digit())
        || minor.len() != minor.trim_start_matches('0').len().max(1)
    {
        return None;
    }
    Some(format!("{major}.{minor}"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIndex {
    kubernetes_version: String,
    generator: String,
    kinds: Vec<RawKind>,
}

#[derive(Deserialize)]
struct RawKind {
    group: String,
    version: String,
    kind: String,
    namespaced: bool,
    offset: usize,
    length: usize,
}

impl Bundle {
    /// Parses a bundle's header and index; the schemas stay compressed.
    pub fn parse(bytes: &'static [u8]) -> Result<Bundle, SchemaError> {
        let (index, blobs) = super::packed::split(bytes, MAGIC, "kgate schema bundle")?;
        let raw: RawIndex = serde_json::from_slice(index).map_err(SchemaError::BadIndex)?;
        let mut kinds = Vec::with_capacity(raw.kinds.len());
        for k in raw.kinds {
            if !super::packed::in_bounds(blobs, k.offset, k.length) {
                return Err(SchemaError::KindOutside {
                    version: k.version,
                    kind: k.kind,
                });
            }
            kinds.push(KindEntry {
                group: k.group,
                version: k.version,
                kind: k.kind,
                namespaced: k.namespaced,
                offset: k.offset,
                length: k.length,
            });
        }
        // `find` relies on this order.
        if !kinds.windows(2).all(|w| sort_key(&w[0]) < sort_key(&w[1])) {
            return Err(SchemaError::BundleUnsorted);
        }
        Ok(Bundle {
            kubernetes_version: raw.kubernetes_version,
            generator: raw.generator,
            kinds,
            blobs,
        })
    }

    /// The Kubernetes minor version, e.g. `1.37`.
    pub fn kubernetes_version(&self) -> &str {
        &self.kubernetes_version
    }

    /// What produced the schemas, e.g. `k8s-openapi 0.29.0 + schemars 1.2.3`.
    pub fn generator(&self) -> &str {
        &self.generator
    }

    /// The kind with this `apiVersion` (`v1`, `apps/v1`) and `kind`, if built in.
    pub fn find(&self, api_version: &str, kind: &str) -> Option<&KindEntry> {
        let (group, version) = split_api_version(api_version);
        self.kinds
            .binary_search_by(|e| sort_key(e).cmp(&(group, version, kind)))
            .ok()
            .map(|i| &self.kinds[i])
    }

    /// Every built-in kind, sorted by (group, version, kind).
    pub fn kinds(&self) -> &[KindEntry] {
        &self.kinds
    }

    /// Every apiVersion that serves a kind of this name (e.g. `HorizontalPodAutoscaler` →
    /// `autoscaling/v1`, `autoscaling/v2`), in index order. Useful for "did you mean" hints.
    pub fn served_versions_of(&self, kind: &str) -> Vec<&KindEntry> {
        self.kinds.iter().filter(|e| e.kind == kind).collect()
    }

    /// Decompresses and parses one kind's JSON Schema.
    pub fn schema(&self, entry: &KindEntry) -> Result<serde_json::Value, SchemaError> {
        super::packed::inflate_json(
            self.blobs,
            entry.offset,
            entry.length,
            8,
            &format!("the schema of {} {}", entry.api_version(), entry.kind),
        )
    }
}

fn sort_key(e: &KindEntry) -> (&str, &str, &str) {
    (&e.group, &e.version, &e.kind)
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn validator(version: &str, api_version: &str, kind: &str) -> jsonschema::Validator {
        let b = bundle(version).unwrap();
        let entry = b
            .find(api_version, kind)
            .unwrap_or_else(|| panic!("{api_version} {kind} not in {version}"));
        let schema = b.schema(entry).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    }

    fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
        v.iter_errors(instance)
            .map(|e| format!("{}: {}", e.instance_path(), e))
            .collect()
    }

    #[track_caller]
    fn assert_valid(v: &jsonschema::Validator, instance: &Value) {
        let errs = errors(v, instance);
        assert!(errs.is_empty(), "expected valid, got {errs:#?}");
    }

    #[track_caller]
    fn assert_invalid_at(v: &jsonschema::Validator, instance: &Value, pointer: &str) {
        let errs = errors(v, instance);
        assert!(
            errs.iter().any(|e| e.starts_with(&format!("{pointer}: "))),
            "expected an error at {pointer}, got {errs:#?}"
        );
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"},
                         "creationTimestamp": null},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [{
                            "name": "web",
                            "image": "nginx:1.27",
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "resources": {
                                "requests": {"cpu": 1, "memory": "1Gi"},
                                "limits": {"cpu": "500m", "memory": "1.5Gi"}
                            },
                            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}}
                        }]
                    }
                }
            }
        })
    }

    #[test]
    fn every_version_loads_with_core_kinds() {
        for v in SUPPORTED_VERSIONS {
            let b = bundle(v).unwrap();
            assert_eq!(b.kubernetes_version(), *v);
            assert!(b.generator().contains("k8s-openapi"), "{}", b.generator());
            assert!(b.kinds().len() >= 80, "{v}: only {} kinds", b.kinds().len());
            for (api_version, kind) in [
                ("v1", "Pod"),
                ("v1", "Service"),
                ("v1", "ConfigMap"),
                ("v1", "Secret"),
                ("v1", "Namespace"),
                ("v1", "ServiceAccount"),
                ("v1", "PersistentVolumeClaim"),
                ("apps/v1", "Deployment"),
                ("apps/v1", "StatefulSet"),
                ("apps/v1", "DaemonSet"),
                ("batch/v1", "Job"),
                ("batch/v1", "CronJob"),
                ("networking.k8s.io/v1", "Ingress"),
                ("networking.k8s.io/v1", "NetworkPolicy"),
                ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
                ("autoscaling/v2", "HorizontalPodAutoscaler"),
                ("autoscaling/v1", "HorizontalPodAutoscaler"),
                ("rbac.authorization.k8s.io/v1", "ClusterRole"),
                ("rbac.authorization.k8s.io/v1", "RoleBinding"),
                ("policy/v1", "PodDisruptionBudget"),
                ("storage.k8s.io/v1", "StorageClass"),
                (
                    "admissionregistration.k8s.io/v1",
                    "ValidatingWebhookConfiguration",
                ),
            ] {
                let e = b
                    .find(api_version, kind)
                    .unwrap_or_else(|| panic!("{v}: {api_version} {kind} missing"));
                assert_eq!(e.api_version(), api_version);
                assert_eq!(e.kind, kind);
            }
            // Not object kinds: lists, sub-resources, Status.
            assert!(b.find("apps/v1", "DeploymentList").is_none());
            assert!(b.find("v1", "Status").is_none());
            assert!(b.find("autoscaling/v1", "Scale").is_none());
            assert!(b.find("v1", "List").is_none());
            assert!(b.kinds().iter().all(|k| !k.kind.ends_with("List")));
            // Sorted, and every schema decompresses to a schema with a type.
            assert!(b
                .kinds()
                .windows(2)
                .all(|w| sort_key(&w[0]) < sort_key(&w[1])));
        }
    }

    #[test]
    fn every_schema_of_every_version_compiles() {
        for b in SUPPORTED_VERSIONS.iter().map(|v| bundle(v).unwrap()) {
            for e in b.kinds() {
                let schema = b.schema(e).unwrap();
                assert_eq!(schema["type"], "object", "{}", e.kind);
                assert_eq!(schema["properties"]["kind"]["type"], "string");
                jsonschema::validator_for(&schema)
                    .unwrap_or_else(|err| panic!("{} {}: {err}", e.api_version(), e.kind));
            }
        }
    }

    #[test]
    fn corrupt_bundles_are_rejected() {
        assert!(Bundle::parse(b"").is_err());
        assert!(Bundle::parse(b"KGSB2\n\0\0\0\0").is_err());
        assert!(Bundle::parse(b"KGSB1\n\x05\0\0\0{}").is_err());
        assert!(Bundle::parse(b"KGSB1\n\x02\0\0\0{}").is_err()); // fields missing
        let out_of_range: &'static [u8] = b"KGSB1\n\x86\0\0\0{\"kubernetesVersion\":\"1.0\",\"generator\":\"t\",\"kinds\":[{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\",\"namespaced\":true,\"offset\":0,\"length\":9}]}";
        let err = Bundle::parse(out_of_range).unwrap_err();
        assert_eq!(err.to_string(), "schema of v1 Pod lies outside the bundle");
        assert_eq!(
            Bundle::parse(b"KGSB2\n\0\0\0\0").unwrap_err().to_string(),
            "not a kgate schema bundle (bad magic)"
        );
    }

    #[test]
    fn version_strings_are_normalized() {
        let b = bundle("1.35").unwrap();
        assert!(std::ptr::eq(b, bundle("v1.35").unwrap()));
        assert!(std::ptr::eq(b, bundle("1.35.2").unwrap()));
        assert!(std::ptr::eq(b, bundle("v1.35.0-rc.1").unwrap()));
        assert_eq!(
            bundle(DEFAULT_VERSION).unwrap().kubernetes_version(),
            "1.37"
        );
        assert!(bundle("1.29").is_none());
        assert!(bundle("1.38").is_none());
        assert_eq!(bundle("v1.30.14").unwrap().kubernetes_version(), "1.30");
        assert!(bundle("1.3").is_none());
        assert!(bundle("1.035").is_none());
        assert!(bundle("latest").is_none());
        assert!(bundle("").is_none());
    }

    #[test]
    fn scope_is_recorded() {
        let b = bundle(DEFAULT_VERSION).unwrap();
        assert!(!b.find("v1", "Namespace").unwrap().namespaced);
        assert!(!b.find("v1", "Node").unwrap().namespaced);
        assert!(
            !b.find("rbac.authorization.k8s.io/v1", "ClusterRole")
                .unwrap()
                .namespaced
        );
        assert!(
            !b.find("apiextensions.k8s.io/v1", "CustomResourceDefinition")
                .unwrap()
                .namespaced
        );
        assert!(b.find("apps/v1", "Deployment").unwrap().namespaced);
        assert!(b.find("v1", "ConfigMap").unwrap().namespaced);
        assert!(
            b.find("rbac.authorization.k8s.io/v1", "Role")
                .unwrap()
                .namespaced
        );
    }

    #[test]
    fn removed_apis_are_absent() {
        let b = bundle("1.37").unwrap();
        assert!(b.find("extensions/v1beta1", "Ingress").is_none());
        assert!(b.find("networking.k8s.io/v1beta1", "Ingress").is_none());
        assert!(b.find("networking.k8s.io/v1", "Ingress").is_some());
        assert!(b.find("batch/v1beta1", "CronJob").is_none());
        assert!(b.find("policy/v1beta1", "PodSecurityPolicy").is_none());
        let ingress: Vec<String> = b
            .served_versions_of("Ingress")
            .iter()
            .map(|e| e.api_version())
            .collect();
        assert_eq!(ingress, ["networking.k8s.io/v1"]);
        let hpa: Vec<String> = b
            .served_versions_of("HorizontalPodAutoscaler")
            .iter()
            .map(|e| e.api_version())
            .collect();
        assert_eq!(hpa, ["autoscaling/v1", "autoscaling/v2"]);
        assert!(b.served_versions_of("NoSuchKind").is_empty());
    }

    #[test]
    fn valid_deployment_passes() {
        let v = validator("1.37", "apps/v1", "Deployment");
        assert_valid(&v, &deployment());
        // metadata is not required by the schema (kgate reports a missing name itself)
        let mut d = deployment();
        d.as_object_mut().unwrap().remove("metadata");
        assert_valid(&v, &d);
    }

    #[test]
    fn unknown_fields_fail() {
        let v = validator("1.37", "apps/v1", "Deployment");
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = json!("Always");
        assert_invalid_at(&v, &d, "/spec/template/spec/containers/0");
        let mut d = deployment();
        d["spec"]["replica"] = json!(2);
        assert_invalid_at(&v, &d, "/spec");
        let mut d = deployment();
        d["metadata"]["label"] = json!({"a": "b"});
        assert_invalid_at(&v, &d, "/metadata");
        let mut d = deployment();
        d["extra"] = json!(1);
        assert_invalid_at(&v, &d, "");
    }

    #[test]
    fn int_or_string() {
        let svc = validator("1.37", "v1", "Service");
        for target in [json!("http"), json!(8080)] {
            let s = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"selector": {"app": "web"},
                         "ports": [{"port": 80, "targetPort": target}]}});
            assert_valid(&svc, &s);
        }
        let s = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80, "targetPort": true}]}});
        assert_invalid_at(&svc, &s, "/spec/ports/0/targetPort");
        let s = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": "80"}]}});
        assert_invalid_at(&svc, &s, "/spec/ports/0/port");

        let v = validator("1.37", "apps/v1", "Deployment");
        for surge in [json!("25%"), json!(1), json!(0)] {
            let mut d = deployment();
            d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = surge;
            assert_valid(&v, &d);
        }
        let mut d = deployment();
        d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = json!(1.5);
        assert_invalid_at(&v, &d, "/spec/strategy/rollingUpdate/maxSurge");
    }

    #[test]
    fn quantities_follow_the_kubernetes_grammar() {
        let v = validator("1.37", "apps/v1", "Deployment");
        let with_memory = |q: Value| {
            let mut d = deployment();
            d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = q;
            d
        };
        for ok in [
            json!(1),
            json!(0.5),
            json!("1"),
            json!("500m"),
            json!("1Gi"),
            json!("1.5"),
            json!("1e3"),
            json!("1E3"),
            json!("+1Ki"),
            json!("-1"),
            json!(".5"),
            json!("5."),
            json!("100M"),
            json!("1k"),
            json!("10u"),
            json!("100n"),
            json!("2Ei"),
            json!("1e-3"),
            json!(" 1Gi "),
        ] {
            assert_valid(&v, &with_memory(ok));
        }
        for bad in [
            json!("1GB"),
            json!("abc"),
            json!(""),
            json!("1K"),
            json!("1 Gi"),
            json!("Gi"),
            json!("1.5.2"),
            json!("1e1.5"),
            json!(true),
            json!(["1"]),
        ] {
            assert_invalid_at(
                &v,
                &with_memory(bad.clone()),
                "/spec/template/spec/containers/0/resources/limits/memory",
            );
        }
    }

    #[test]
    fn null_for_optional_fields() {
        let v = validator("1.37", "apps/v1", "Deployment");
        let mut d = deployment();
        d["spec"]["strategy"] = Value::Null; // optional $ref
        d["spec"]["replicas"] = Value::Null; // optional scalar
        d["spec"]["template"]["spec"]["containers"][0]["ports"] = Value::Null; // optional array
        d["metadata"]["annotations"] = Value::Null; // optional map
        d["status"] = Value::Null;
        assert_valid(&v, &d);

        let pod = validator("1.37", "v1", "Pod");
        let p = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "creationTimestamp": null},
            "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {}}]},
            "status": {}});
        assert_valid(&pod, &p);
    }

    #[test]
    fn required_fields_and_required_nulls_fail() {
        let v = validator("1.37", "apps/v1", "Deployment");
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("name");
        assert_invalid_at(&v, &d, "/spec/template/spec/containers/0");
        let mut d = deployment();
        d["spec"].as_object_mut().unwrap().remove("selector");
        assert_invalid_at(&v, &d, "/spec");
        let mut d = deployment();
        d["spec"]["selector"] = Value::Null;
        assert_invalid_at(&v, &d, "/spec/selector");
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"][0] = Value::Null;
        assert_invalid_at(&v, &d, "/spec/template/spec/containers/0");
        // apiVersion and kind are required strings
        let mut d = deployment();
        d["kind"] = json!(1);
        assert_invalid_at(&v, &d, "/kind");
        let mut d = deployment();
        d.as_object_mut().unwrap().remove("apiVersion");
        assert_invalid_at(&v, &d, "");
        // wrong scalar types
        let mut d = deployment();
        d["spec"]["replicas"] = json!("3");
        assert_invalid_at(&v, &d, "/spec/replicas");
        // int32 fields are range-checked like the API server does
        let mut d = deployment();
        d["spec"]["replicas"] = json!(3_000_000_000_u64);
        assert_invalid_at(&v, &d, "/spec/replicas");
        d["spec"]["replicas"] = json!(2_147_483_647);
        assert_valid(&v, &d);
    }

    #[test]
    fn secret_data_is_base64() {
        let v = validator("1.37", "v1", "Secret");
        let s = |data: Value| {
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "type": "Opaque", "data": data, "stringData": {"plain": "not base64!"}})
        };
        assert_valid(
            &v,
            &s(json!({"a": "aGVsbG8=", "b": "", "c": "YWJj", "d": "aGk=\n", "e": "YW\nJj"})),
        );
        assert_invalid_at(&v, &s(json!({"a": "hello!"})), "/data/a");
        assert_invalid_at(&v, &s(json!({"a": "aGVsbG8"})), "/data/a");
        assert_invalid_at(&v, &s(json!({"a": 1})), "/data/a");
        let cm = validator("1.37", "v1", "ConfigMap");
        let c = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"k": "any text"}, "binaryData": {"b": "AAEC"}});
        assert_valid(&cm, &c);
    }

    #[test]
    fn crd_schema_properties_are_data_not_keywords() {
        let v = validator(
            "1.37",
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
        );
        // (a string: this literal is too deep for the json! macro)
        let crd: Value = serde_json::from_str(
            r#"{
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget",
                          "listKind": "WidgetList"},
                "scope": "Namespaced",
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [{"name": "Size", "type": "integer",
                                                  "jsonPath": ".spec.size"}],
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "description": "A widget.",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "default": 1},
                                    "properties": {"type": "string"},
                                    "description": {"type": "string", "enum": ["a", null]},
                                    "additionalProperties": {"type": "boolean"},
                                    "labels": {"type": "object",
                                               "additionalProperties": {"type": "string"}},
                                    "raw": {"x-kubernetes-preserve-unknown-fields": true},
                                    "port": {"x-kubernetes-int-or-string": true,
                                             "anyOf": [{"type": "integer"}, {"type": "string"}]},
                                    "items": {"type": "array", "items": {"type": "string"},
                                              "x-kubernetes-list-type": "set"},
                                    "deps": {"type": "object",
                                             "dependencies": {"a": ["b"]},
                                             "additionalProperties": false},
                                    "ref": {"type": "object", "nullable": true,
                                            "example": {"any": ["json", 1, null]}}
                                },
                                "x-kubernetes-validations": [
                                    {"rule": "self.size < 10", "message": "too big"}
                                ]
                            },
                            "status": {"type": "object",
                                       "x-kubernetes-preserve-unknown-fields": true}
                        }
                    }}
                }],
                "conversion": {"strategy": "None"}
            }
        }"#,
        )
        .unwrap();
        assert_valid(&v, &crd);
        // ...but JSONSchemaProps itself is strict: a misspelt keyword is an error.
        let mut bad = crd.clone();
        bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["propertiess"] = json!({});
        assert_invalid_at(&v, &bad, "/spec/versions/0/schema/openAPIV3Schema");
        // A mistake deep inside `items` / `additionalProperties` is reported where it is.
        let spec_props = "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties";
        let mut bad = crd.clone();
        bad.pointer_mut(&format!("{spec_props}/items/items"))
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert("typo".into(), json!("string"));
        assert_invalid_at(&v, &bad, &format!("{spec_props}/items/items"));
        let mut bad = crd.clone();
        *bad.pointer_mut(&format!("{spec_props}/labels/additionalProperties/type"))
            .unwrap() = json!(1);
        assert_invalid_at(
            &v,
            &bad,
            &format!("{spec_props}/labels/additionalProperties/type"),
        );
        // Nullable unions and tuple-style items still pass.
        let mut ok = crd.clone();
        *ok.pointer_mut(&format!("{spec_props}/items/items"))
            .unwrap() = json!([{"type": "string"}, {"type": "integer"}]);
        *ok.pointer_mut(&format!("{spec_props}/labels/additionalProperties"))
            .unwrap() = json!(true);
        assert_valid(&v, &ok);
    }

    #[test]
    fn formats_are_annotations_only_and_harmless_when_asserted() {
        let b = bundle("1.37").unwrap();
        let e = b.find("apps/v1", "Deployment").unwrap();
        let schema = b.schema(e).unwrap();
        let strict = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let mut d = deployment();
        d["metadata"]["creationTimestamp"] = json!("2024-05-01T10:00:00Z");
        assert_valid(&strict, &d);
        let lax = validator("1.37", "apps/v1", "Deployment");
        assert_valid(&lax, &d);
    }
}
