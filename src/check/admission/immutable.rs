//! `admission/immutable`: changes a merge request makes that the API server refuses on update
//! (the agent's apply then fails in production), and what the GitOps agent will do about it.
//! Shared by `check --base` (findings on the changed line) and `kgate diff` (the plan).
//!
//! Sources (k8s.io/kubernetes): `pkg/apis/apps/validation` (ValidateDeploymentUpdate,
//! ValidateReplicaSetUpdate, ValidateDaemonSetUpdate: `spec.selector`; ValidateStatefulSetUpdate:
//! every spec field but replicas, ordinals, template, updateStrategy,
//! persistentVolumeClaimRetentionPolicy and minReadySeconds; kgate leaves revisionHistoryLimit
//! unjudged), `pkg/apis/batch/validation`
//! (ValidateJobSpecUpdate: selector, template unless suspended, completionMode),
//! `pkg/apis/core/validation` (ValidateServiceUpdate: clusterIP, clusterIPs, the primary IP
//! family; ValidatePersistentVolumeClaimUpdate: spec but requests (storage only growing) and
//! volumeAttributesClassName; ValidateConfigMapUpdate / ValidateSecretUpdate: `immutable`,
//! data, a Secret's type).

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

use super::quantity;

/// One refused change: where (a JSON pointer in the new object) and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

/// A GitOps agent's annotation on the new object.
fn annotation<'v>(new: &'v Value, key: &str) -> &'v str {
    new.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Whether the agent never sends an update for this object, so no update can be refused: an
/// object without a name (`generateName`: always created anew), one Flux only creates
/// (`kustomize.toolkit.fluxcd.io/ssa: IfNotPresent`) or leaves alone
/// (`kustomize.toolkit.fluxcd.io/reconcile: disabled`), and a hook: Argo CD (which treats
/// Helm hooks as its own) creates a named hook once and recreates it only after deleting the
/// old one (hook delete policies), and Helm does the same with its hooks.
pub fn never_updated(new: &Value) -> bool {
    new.pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        || annotation(new, "kustomize.toolkit.fluxcd.io/ssa").eq_ignore_ascii_case("IfNotPresent")
        || annotation(new, "kustomize.toolkit.fluxcd.io/reconcile").eq_ignore_ascii_case("disabled")
        || !annotation(new, "argocd.argoproj.io/hook").is_empty()
        || !annotation(new, "helm.sh/hook").is_empty()
}

/// What the agent does with a change the API server refuses, from the new object:
/// (recreated, sentence). Recreated means the refused update is never sent: the object is
/// deleted and created (a force/replace annotation, a Job that has deleted itself).
pub fn agent_outcome(new: &Value) -> (bool, String) {
    if annotation(new, "kustomize.toolkit.fluxcd.io/force") == "enabled" {
        return (
            true,
            "Flux deletes and recreates the object (`kustomize.toolkit.fluxcd.io/force: enabled`)"
                .into(),
        );
    }
    let argo = annotation(new, "argocd.argoproj.io/sync-options");
    let has = |o: &str| argo.split(',').any(|x| x.trim() == o);
    if has("Replace=true") && has("Force=true") {
        return (
            true,
            "Argo CD deletes and recreates the object (sync options `Force=true,Replace=true`)"
                .into(),
        );
    }
    if new.pointer("/spec/ttlSecondsAfterFinished").is_some()
        && new.get("kind").and_then(Value::as_str) == Some("Job")
    {
        return (
            true,
            "the Job deletes itself `ttlSecondsAfterFinished` after it finishes, and the agent \
             then creates it anew; while the old Job still exists, the update is refused"
                .into(),
        );
    }
    (
        false,
        "the agent's apply fails: Flux reports the Kustomization not ready (`field is immutable`) \
         unless the object is annotated `kustomize.toolkit.fluxcd.io/force: enabled` (or the \
         Kustomization sets `spec.force: true`), which deletes and recreates it; Argo CD's sync \
         fails unless the object's sync options ask to replace it \
         (`argocd.argoproj.io/sync-options: Force=true,Replace=true`; `Replace=true` alone \
         still sends the refused update)"
            .into(),
    )
}

/// The refused changes from `old` to `new` and what the agent does about them; None when
/// there are none or the agent never updates the object ([`never_updated`]). The one entry
/// point of `check --base` and `kgate diff`.
pub fn judge(group: &str, kind: &str, old: &Value, new: &Value) -> Option<Judgement> {
    if never_updated(new) {
        return None;
    }
    let violations = violations(group, kind, old, new);
    if violations.is_empty() {
        return None;
    }
    let (recreated, agent) = agent_outcome(new);
    Some(Judgement {
        violations,
        recreated,
        agent,
    })
}

/// The refused changes of one object ([`judge`]).
#[derive(Debug, Clone)]
pub struct Judgement {
    pub violations: Vec<Violation>,
    /// The object is deleted and created instead of updated: the changes are not refused.
    pub recreated: bool,
    /// What the agent does, one sentence.
    pub agent: String,
}

/// The changes from `old` to `new` (same identity) that the API server refuses.
pub fn violations(group: &str, kind: &str, old: &Value, new: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") => {
            same(
                &mut out,
                old,
                new,
                "/spec/selector",
                "spec.selector is immutable",
            );
        }
        ("apps", "StatefulSet") => stateful_set(&mut out, old, new),
        ("batch", "Job") => job(&mut out, old, new),
        ("", "Service") => service(&mut out, old, new),
        ("", "PersistentVolumeClaim") => pvc(&mut out, old, new),
        ("", "ConfigMap" | "Secret") => config_data(&mut out, kind, old, new),
        _ => {}
    }
    out
}

fn same(out: &mut Vec<Violation>, old: &Value, new: &Value, ptr: &str, why: &str) {
    let (a, b) = (
        old.pointer(ptr).map(semantic),
        new.pointer(ptr).map(semantic),
    );
    if a != b {
        out.push(Violation {
            path: first_difference(a.as_ref(), b.as_ref(), ptr.to_string()),
            message: format!("{why}: the merge request changes it"),
        });
    }
}

/// `v` as the API server compares it (apimachinery's `equality.Semantic`): resource quantities
/// by value, so `1Gi` → `1024Mi` or `500m` → `0.5` in an immutable field is not a change. The
/// quantities are those of `requests`/`limits` maps and `sizeLimit`.
fn semantic(v: &Value) -> Value {
    fn canonical(v: &mut Value) {
        if let Some(q) = quantity::from_json(v) {
            *v = Value::String(format!("{}n", q.nanos));
        }
    }
    fn walk(v: &mut Value, depth: usize) {
        if depth > 64 {
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match (k.as_str(), &mut *x) {
                        ("requests" | "limits", Value::Object(q)) => {
                            q.values_mut().for_each(canonical)
                        }
                        ("sizeLimit", x) => canonical(x),
                        (_, x) => walk(x, depth + 1),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|x| walk(x, depth + 1)),
            _ => {}
        }
    }
    let mut v = v.clone();
    walk(&mut v, 0);
    v
}

/// StatefulSet spec fields the API server lets an update change (and revisionHistoryLimit,
/// which the versions kgate read refuse but which is not worth a false alarm if a newer one
/// accepts it).
const STS_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

fn stateful_set(out: &mut Vec<Violation>, old: &Value, new: &Value) {
    let empty = Map::new();
    let o = old["spec"].as_object().unwrap_or(&empty);
    let n = new["spec"].as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if STS_MUTABLE.contains(&k.as_str()) {
            continue;
        }
        let (a, b) = (
            sts_normal(k, o.get(k)).map(|v| semantic(&v)),
            sts_normal(k, n.get(k)).map(|v| semantic(&v)),
        );
        if a != b {
            out.push(Violation {
                path: first_difference(a.as_ref(), b.as_ref(), format!("/spec/{k}")),
                message: format!(
                    "a StatefulSet's spec.{k} cannot change: only replicas, ordinals, template, \
                     updateStrategy, persistentVolumeClaimRetentionPolicy and minReadySeconds may"
                ),
            });
        }
    }
}

/// The pointer of the first place where `old` and `new` differ, as deep as both sides have
/// it (the changed line, not the top of a long field), within `ptr`.
fn first_difference(old: Option<&Value>, new: Option<&Value>, ptr: String) -> String {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let differing = b
                .iter()
                .find(|(k, v)| a.get(*k) != Some(*v))
                .map(|(k, _)| k)
                .or_else(|| a.keys().find(|k| !b.contains_key(*k)));
            match differing {
                Some(k) if b.contains_key(k) => first_difference(
                    a.get(k),
                    b.get(k),
                    format!("{ptr}/{}", crate::yaml::escape_pointer_segment(k)),
                ),
                // A key the merge request removes: its parent is the changed place.
                _ => ptr,
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            match a.iter().zip(b).position(|(x, y)| x != y) {
                Some(i) => first_difference(a.get(i), b.get(i), format!("{ptr}/{i}")),
                None => ptr,
            }
        }
        _ => ptr,
    }
}

/// A StatefulSet spec field with the API server's defaults filled in, so that writing a
/// default out (or leaving it out) is not a change.
fn sts_normal(field: &str, v: Option<&Value>) -> Option<Value> {
    match (field, v) {
        ("podManagementPolicy", None) => Some(Value::String("OrderedReady".into())),
        ("volumeClaimTemplates", Some(Value::Array(items))) => Some(Value::Array(
            items
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    if let Some(m) = t.as_object_mut() {
                        m.remove("apiVersion");
                        m.remove("kind");
                        m.remove("status");
                        if let Some(spec) = m.get_mut("spec").and_then(Value::as_object_mut) {
                            if spec.get("volumeMode").and_then(Value::as_str) == Some("Filesystem")
                            {
                                spec.remove("volumeMode");
                            }
                        }
                    }
                    t
                })
                .collect(),
        )),
        (_, v) => v.cloned(),
    }
}

fn job(out: &mut Vec<Violation>, old: &Value, new: &Value) {
    same(
        out,
        old,
        new,
        "/spec/selector",
        "a Job's spec.selector is immutable",
    );
    let suspended = |v: &Value| v.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    // A suspended Job may have parts of its template changed (scheduling directives):
    // kgate does not judge those.
    if !suspended(old) && !suspended(new) {
        same(
            out,
            old,
            new,
            "/spec/template",
            "a Job's spec.template is immutable",
        );
    }
    let mode = |v: &Value| {
        v.pointer("/spec/completionMode")
            .and_then(Value::as_str)
            .unwrap_or("NonIndexed")
            .to_string()
    };
    if mode(old) != mode(new) {
        out.push(Violation {
            path: "/spec/completionMode".into(),
            message: "a Job's spec.completionMode is immutable: the merge request changes it"
                .into(),
        });
    }
}

fn service(out: &mut Vec<Violation>, old: &Value, new: &Value) {
    // An empty or absent clusterIP means "keep the allocated one": only two explicit,
    // different values are a refused change.
    let ip = |v: &Value| {
        v.pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if let (Some(a), Some(b)) = (ip(old), ip(new)) {
        if a != b {
            out.push(Violation {
                path: "/spec/clusterIP".into(),
                message: format!(
                    "a Service's spec.clusterIP is immutable: \"{a}\" cannot become \"{b}\" (a \
                     headless Service cannot gain an IP, nor lose it)"
                ),
            });
        }
    }
    let first = |v: &Value, f: &str| {
        v.pointer(&format!("/spec/{f}/0"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    for f in ["clusterIPs", "ipFamilies"] {
        if let (Some(a), Some(b)) = (first(old, f), first(new, f)) {
            if a != b {
                out.push(Violation {
                    path: format!("/spec/{f}/0"),
                    message: format!(
                        "a Service's primary spec.{f}[0] is immutable: \"{a}\" cannot become \"{b}\""
                    ),
                });
            }
        }
    }
    // validateLoadBalancerClassField: a LoadBalancer that stays one keeps its class (unset
    // stays unset).
    let lb = |v: &Value| v.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer");
    let class = |v: &Value| {
        v.pointer("/spec/loadBalancerClass")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if lb(old) && lb(new) && class(old) != class(new) {
        let shown = |c: Option<String>| c.map(|c| format!("\"{c}\"")).unwrap_or("unset".into());
        out.push(Violation {
            path: if new.pointer("/spec/loadBalancerClass").is_some() {
                "/spec/loadBalancerClass".into()
            } else {
                "/spec/type".into()
            },
            message: format!(
                "a LoadBalancer Service's spec.loadBalancerClass may not change once set: {} \
                 cannot become {}",
                shown(class(old)),
                shown(class(new))
            ),
        });
    }
    // ExternalName has no cluster IP: a Service turned into one must drop an explicit IP.
    let ty = |v: &Value| {
        v.pointer("/spec/type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string()
    };
    // The API server clears an IP the update leaves as it was (dropTypeDependentFields):
    // only a new explicit one is refused.
    if ty(new) == "ExternalName" && ty(old) != "ExternalName" {
        if let Some(b) = ip(new).filter(|b| b != "None" && ip(old).as_ref() != Some(b)) {
            out.push(Violation {
                path: "/spec/clusterIP".into(),
                message: format!(
                    "a Service changed to type ExternalName must not keep spec.clusterIP \"{b}\""
                ),
            });
        }
    }
}

fn pvc(out: &mut Vec<Violation>, old: &Value, new: &Value) {
    // Fields the cluster fills in when the manifest leaves them out: the bound volume
    // (`volumeName`, set once by the binder) and the default StorageClass. A merge request
    // that writes them out may write exactly what the cluster holds: only a change of an
    // explicit value is judged.
    let filled_in = |f: &str| old.pointer(&format!("/spec/{f}")).is_none();
    let strip = |v: &Value| {
        let mut s = v.get("spec").cloned().unwrap_or(Value::Null);
        if let Some(m) = s.as_object_mut() {
            m.remove("volumeAttributesClassName");
            for f in ["volumeName", "storageClassName"] {
                if filled_in(f) {
                    m.remove(f);
                }
            }
            // The API server mirrors dataSource and dataSourceRef (a core-group ref without
            // a namespace) when only one is set.
            if let Some(src) = m.get("dataSource").cloned() {
                m.entry("dataSourceRef").or_insert(src);
            }
            if let Some(r) = m.get("dataSourceRef").cloned() {
                if r.get("namespace").is_none() {
                    m.entry("dataSource").or_insert(r);
                }
            }
            if m.get("volumeMode").and_then(Value::as_str) == Some("Filesystem") {
                m.remove("volumeMode");
            }
            if let Some(r) = m.get_mut("resources").and_then(Value::as_object_mut) {
                r.remove("requests");
                if r.is_empty() {
                    m.remove("resources");
                }
            }
        }
        s
    };
    let (a, b) = (strip(old), strip(new));
    if a != b {
        let mut keys: Vec<String> = a
            .as_object()
            .into_iter()
            .chain(b.as_object())
            .flat_map(|m| m.keys().cloned())
            .collect();
        keys.sort();
        keys.dedup();
        for k in keys.into_iter().filter(|k| a.get(k) != b.get(k)) {
            out.push(Violation {
                path: first_difference(a.get(&k), b.get(&k), format!("/spec/{k}")),
                message: format!(
                    "a PersistentVolumeClaim's spec.{k} cannot change after creation (only \
                     storage requests may grow, and volumeAttributesClassName may change)"
                ),
            });
        }
    }
    let storage = |v: &Value| {
        v.pointer("/spec/resources/requests/storage")
            .and_then(quantity::from_json)
    };
    if let (Some(a), Some(b)) = (storage(old), storage(new)) {
        if b < a {
            out.push(Violation {
                path: "/spec/resources/requests/storage".into(),
                message: "a PersistentVolumeClaim's storage request can only grow: the merge \
                          request shrinks it"
                    .into(),
            });
        }
    }
}

/// data + binaryData + stringData of a ConfigMap or Secret as one map of base64 or text.
fn payload(kind: &str, v: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for f in ["data", "binaryData"] {
        for (k, x) in v.get(f).and_then(Value::as_object).into_iter().flatten() {
            out.insert(k.clone(), x.clone());
        }
    }
    if kind == "Secret" {
        // stringData is written into data (base64) by the API server.
        for (k, x) in v
            .get("stringData")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(s) = x.as_str() {
                out.insert(
                    k.clone(),
                    Value::String(base64::engine::general_purpose::STANDARD.encode(s)),
                );
            }
        }
    }
    out
}

fn config_data(out: &mut Vec<Violation>, kind: &str, old: &Value, new: &Value) {
    if kind == "Secret" {
        let ty = |v: &Value| {
            v.get("type")
                .and_then(Value::as_str)
                .unwrap_or("Opaque")
                .to_string()
        };
        if ty(old) != ty(new) {
            out.push(Violation {
                path: "/type".into(),
                message: "a Secret's type is immutable: the merge request changes it".into(),
            });
        }
    }
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return;
    }
    if new.get("immutable").and_then(Value::as_bool) != Some(true) {
        out.push(Violation {
            path: "/immutable".into(),
            message: format!("a {kind} marked `immutable: true` cannot be made mutable again"),
        });
    }
    let (a, b) = (payload(kind, old), payload(kind, new));
    if a != b {
        // Never the values: they may be secret.
        let mut keys: Vec<&String> = a
            .keys()
            .chain(b.keys())
            .filter(|k| a.get(*k) != b.get(*k))
            .collect();
        keys.sort();
        keys.dedup();
        let field = if new.get("data").is_some() {
            "/data"
        } else if new.get("stringData").is_some() {
            "/stringData"
        } else {
            "/binaryData"
        };
        out.push(Violation {
            path: field.into(),
            message: format!(
                "the data of a {kind} marked `immutable: true` cannot change (keys: {})",
                keys.iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_and_statefulsets() {
        let a = json!({"spec": {"selector": {"matchLabels": {"app": "a"}}, "replicas": 1}});
        let b = json!({"spec": {"selector": {"matchLabels": {"app": "b"}}, "replicas": 3}});
        assert_eq!(violations("apps", "Deployment", &a, &b).len(), 1);
        assert!(violations("apps", "Deployment", &a, &a).is_empty());
        let s1 = json!({"spec": {"serviceName": "db", "replicas": 1, "template": {}}});
        let s2 = json!({"spec": {"serviceName": "db", "replicas": 5, "template": {"x": 1},
            "podManagementPolicy": "OrderedReady", "minReadySeconds": 3}});
        assert!(violations("apps", "StatefulSet", &s1, &s2).is_empty());
        let s3 = json!({"spec": {"serviceName": "db2", "replicas": 1, "template": {}}});
        assert_eq!(
            violations("apps", "StatefulSet", &s1, &s3)[0].path,
            "/spec/serviceName"
        );
    }

    #[test]
    fn services_pvcs_configmaps() {
        let a = json!({"spec": {"clusterIP": "10.0.0.1"}});
        assert!(violations("", "Service", &a, &json!({"spec": {}})).is_empty());
        assert_eq!(
            violations("", "Service", &a, &json!({"spec": {"clusterIP": "None"}})).len(),
            1
        );
        let p1 = json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        let p2 = json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}});
        assert!(violations("", "PersistentVolumeClaim", &p1, &p2).is_empty());
        assert_eq!(violations("", "PersistentVolumeClaim", &p2, &p1).len(), 1);
        let p3 = json!({"spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}});
        assert_eq!(
            violations("", "PersistentVolumeClaim", &p1, &p3)[0].path,
            "/spec/accessModes/0"
        );
        let c1 = json!({"immutable": true, "data": {"a": "1"}});
        let c2 = json!({"immutable": true, "data": {"a": "2"}});
        assert_eq!(violations("", "ConfigMap", &c1, &c2).len(), 1);
        assert!(violations("", "ConfigMap", &json!({"data": {"a": "1"}}), &c2).is_empty());
        let s1 = json!({"immutable": true, "data": {"a": "eA=="}});
        let s2 = json!({"immutable": true, "stringData": {"a": "x"}});
        assert!(violations("", "Secret", &s1, &s2).is_empty());
    }

    /// Immutable fields are compared as the API server compares them: quantities by value.
    #[test]
    fn quantities_are_compared_by_value() {
        let sts = |storage: &str| {
            json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}]}})
        };
        assert!(violations("apps", "StatefulSet", &sts("1Gi"), &sts("1024Mi")).is_empty());
        assert!(violations("apps", "StatefulSet", &sts("1Gi"), &sts("1073741824")).is_empty());
        let v = violations("apps", "StatefulSet", &sts("1Gi"), &sts("2Gi"));
        assert_eq!(
            v[0].path,
            "/spec/volumeClaimTemplates/0/spec/resources/requests/storage"
        );
        let job = |cpu: &str, size: &str| {
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x",
                "resources": {"limits": {"cpu": cpu}}}], "volumes": [{"name": "t", "emptyDir": {"sizeLimit": size}}]}}}})
        };
        assert!(violations("batch", "Job", &job("500m", "1Gi"), &job("0.5", "1024Mi")).is_empty());
        assert_eq!(
            violations("batch", "Job", &job("500m", "1Gi"), &job("1", "1Gi")).len(),
            1
        );
    }

    /// validateLoadBalancerClassField: a LoadBalancer that stays one keeps its class.
    #[test]
    fn load_balancer_class_is_fixed_once_set() {
        let svc = |ty: &str, class: Option<&str>| match class {
            Some(c) => json!({"spec": {"type": ty, "loadBalancerClass": c}}),
            None => json!({"spec": {"type": ty}}),
        };
        let lb = |c| svc("LoadBalancer", c);
        assert!(violations("", "Service", &lb(Some("a")), &lb(Some("a"))).is_empty());
        assert_eq!(
            violations("", "Service", &lb(Some("a")), &lb(Some("b"))).len(),
            1
        );
        assert_eq!(
            violations("", "Service", &lb(None), &lb(Some("b"))).len(),
            1
        );
        assert_eq!(
            violations("", "Service", &lb(Some("a")), &lb(None))[0].path,
            "/spec/type"
        );
        // Becoming a LoadBalancer (or leaving it) may set the class.
        assert!(violations("", "Service", &svc("ClusterIP", None), &lb(Some("b"))).is_empty());
        assert!(violations("", "Service", &lb(Some("a")), &svc("ClusterIP", None)).is_empty());
    }
}
