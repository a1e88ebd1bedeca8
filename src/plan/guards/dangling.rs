//! `plan/dangling-reference`: after the merge an object refers to a ConfigMap, Secret,
//! ServiceAccount, PersistentVolumeClaim, PriorityClass, StorageClass or Service that no unit
//! provides any more, while the base provided it. Two ways to get there:
//! - the MR removes the target and its unit prunes it (an orphaned target stays in the cluster,
//!   so it is no finding);
//! - a kustomize generator is renamed or removed: at the base, `configMapGenerator` made
//!   `app-config-<hash>` and kustomize rewrote the reference to it; at the head nothing
//!   generates `app-config` any more, so the reference keeps the bare name, which never existed.
//!
//! References marked `optional: true` are left alone, and so are namespaces where something
//! kgate cannot see creates objects (a Flux HelmRelease, an unrendered Helm chart of an Argo CD
//! Application): the removed object may come from there. Secrets made by operators from objects
//! in the repository (ExternalSecret, SealedSecret, cert-manager Certificate) count as provided.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{describe, Context, Finding, DANGLING};
use crate::diagnostic::Diagnostic;
use crate::plan::ObjectKey;

/// One reference from an object: the target's identity and the JSON pointer of the name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reference {
    pub target: ObjectKey,
    pub pointer: String,
}

pub(super) fn check(cx: &Context<'_, '_>, out: &mut Vec<Finding>) {
    let mut after: BTreeSet<ObjectKey> = cx.provided_after().into_iter().cloned().collect();
    let head_objects = cx.head_objects();
    for obj in head_objects.values() {
        after.extend(operator_secrets(
            &obj.json,
            obj.resource.namespace.as_deref(),
        ));
    }
    let base_objects = cx.base_objects();
    let pruned: BTreeSet<&ObjectKey> = cx.pruned.iter().flatten().collect();
    let opaque = opaque_namespaces(cx);
    let mut seen = BTreeSet::new();
    for (u, _) in cx.judged() {
        for (key, obj) in &u.after {
            if !seen.insert(key) {
                continue;
            }
            for r in references(key, &obj.json) {
                let t = &r.target;
                let hidden = if t.namespace.is_empty() {
                    opaque.contains("*")
                } else {
                    opaque.contains(t.namespace.as_str())
                };
                if after.contains(t) || hidden || builtin(t) {
                    continue;
                }
                let why = if base_objects.contains_key(t) {
                    if !pruned.contains(t) {
                        continue;
                    }
                    let owner = cx
                        .planned
                        .units
                        .iter()
                        .zip(&cx.pruned)
                        .find(|(_, p)| p.contains(t))
                        .map(|(u, _)| format!("{} {}", u.decl().kind, u.decl().name))
                        .unwrap_or_default();
                    format!("which this merge request removes ({owner} prunes it)")
                } else if let Some(generated) = generated_at_base(t, &base_objects, &after) {
                    format!(
                        "a name kustomize's generator made at the base ({generated}) and no \
                         generator makes any more: kustomize leaves the name as written, and \
                         nothing provides it"
                    )
                } else {
                    continue;
                };
                let message = format!("{} refers to {}, {why}", describe(key), describe(t));
                let d = Diagnostic::error(DANGLING, message).with_help(
                    "keep providing the object, point the reference at one that exists after \
                     the merge, or mark it `optional: true` when the workload runs without it",
                );
                let mut f = Finding::on(d, obj, &r.pointer, false)
                    .about(base_objects.get(key).copied(), Some(obj));
                if let Some(removed) = base_objects.get(t) {
                    let (file, span) = removed.origin.locate("");
                    f.diagnostic.related.push(crate::diagnostic::Related {
                        message: format!("{} at the base", describe(t)),
                        file: file.path.clone(),
                        line: span.line,
                        column: span.col,
                    });
                }
                out.push(f);
            }
        }
    }
}

/// Names every cluster has without the repository: the `default` ServiceAccount and the root
/// CA ConfigMap of each namespace, the system priority classes.
fn builtin(t: &ObjectKey) -> bool {
    matches!(
        (t.kind.as_str(), t.name.as_str()),
        ("ServiceAccount", "default")
            | ("ConfigMap", "kube-root-ca.crt")
            | (
                "PriorityClass",
                "system-cluster-critical" | "system-node-critical"
            )
    )
}

/// The generated name `{name}-{hash}` the base had for a bare generator name the head refers
/// to, when the head has no object of that generator any more.
fn generated_at_base(
    t: &ObjectKey,
    base: &std::collections::BTreeMap<&ObjectKey, &crate::plan::Object>,
    after: &BTreeSet<ObjectKey>,
) -> Option<String> {
    if !t.group.is_empty() || !matches!(t.kind.as_str(), "ConfigMap" | "Secret") {
        return None;
    }
    let generated = |k: &ObjectKey| {
        k.kind == t.kind
            && k.group.is_empty()
            && k.namespace == t.namespace
            && k.name
                .strip_prefix(t.name.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(is_generator_hash)
    };
    if after.iter().any(generated) {
        return None;
    }
    base.keys().find(|k| generated(k)).map(|k| k.name.clone())
}

/// kustomize's name suffix: ten characters of the hex digest with `0 1 3 a e` mapped to
/// `g h k m t` (see `render::generator::hash`).
fn is_generator_hash(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| b"2456789bcdfghkmt".contains(&b))
}

/// Secrets that operators create from objects of the repository.
fn operator_secrets(json: &Value, namespace: Option<&str>) -> Vec<ObjectKey> {
    let api = json["apiVersion"].as_str().unwrap_or_default();
    let group = crate::manifest::api_group(api);
    let name = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let secret = match (group, json["kind"].as_str().unwrap_or_default()) {
        ("external-secrets.io", "ExternalSecret") => {
            name(&json["spec"]["target"]["name"]).or_else(|| name(&json["metadata"]["name"]))
        }
        ("bitnami.com", "SealedSecret") => name(&json["spec"]["template"]["metadata"]["name"])
            .or_else(|| name(&json["metadata"]["name"])),
        ("cert-manager.io", "Certificate") => name(&json["spec"]["secretName"]),
        _ => None,
    };
    secret
        .map(|name| ObjectKey {
            namespace: namespace.unwrap_or_default().to_string(),
            kind: "Secret".into(),
            name,
            group: String::new(),
        })
        .into_iter()
        .collect()
}

/// Namespaces where objects come from something kgate does not render: a Flux HelmRelease
/// (its target namespace), an Argo CD Application with a Helm chart source (its destination).
/// `*` when there is any: it may create cluster-scoped objects too.
fn opaque_namespaces<'a>(cx: &'a Context<'_, '_>) -> BTreeSet<&'a str> {
    let mut out = BTreeSet::new();
    for u in &cx.planned.units {
        for obj in u.after.values() {
            let j = &obj.json;
            if obj.resource.kind == "HelmRelease"
                && crate::manifest::api_group(&obj.resource.api_version) == "helm.toolkit.fluxcd.io"
            {
                out.insert("*");
                if let Some(ns) = j["spec"]["targetNamespace"]
                    .as_str()
                    .or(obj.resource.namespace.as_deref())
                {
                    out.insert(ns);
                }
            }
        }
        if let Some(h) = &u.head {
            if h.unrendered {
                out.insert("*");
                out.extend(h.namespace.as_deref());
            }
        }
    }
    out
}

/// Where a pod template sits in a workload.
fn pod_spec_pointer(group: &str, kind: &str) -> Option<&'static str> {
    Some(match (group, kind) {
        ("", "Pod") => "/spec",
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("", "ReplicationController")
        | ("batch", "Job") => "/spec/template/spec",
        ("batch", "CronJob") => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    })
}

/// The references an object makes by name.
pub(crate) fn references(key: &ObjectKey, json: &Value) -> Vec<Reference> {
    let mut out = Vec::new();
    let ns = key.namespace.as_str();
    let mut add = |kind: &str, cluster: bool, name: &Value, pointer: String| {
        if let Some(name) = name.as_str().filter(|n| !n.is_empty()) {
            out.push(Reference {
                target: ObjectKey {
                    namespace: if cluster {
                        String::new()
                    } else {
                        ns.to_string()
                    },
                    kind: kind.to_string(),
                    name: name.to_string(),
                    group: match kind {
                        "PriorityClass" => "scheduling.k8s.io",
                        "StorageClass" => "storage.k8s.io",
                        _ => "",
                    }
                    .to_string(),
                },
                pointer,
            });
        }
    };
    let optional = |v: &Value| v["optional"] == Value::Bool(true);
    let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
    if let Some(p) = pod_spec_pointer(&key.group, &key.kind) {
        let spec = json.pointer(p).cloned().unwrap_or(Value::Null);
        let sa = if spec["serviceAccountName"].is_string() {
            "serviceAccountName"
        } else {
            "serviceAccount"
        };
        add("ServiceAccount", false, &spec[sa], format!("{p}/{sa}"));
        add(
            "PriorityClass",
            true,
            &spec["priorityClassName"],
            format!("{p}/priorityClassName"),
        );
        for (i, s) in items(&spec["imagePullSecrets"]).iter().enumerate() {
            add(
                "Secret",
                false,
                &s["name"],
                format!("{p}/imagePullSecrets/{i}/name"),
            );
        }
        for (i, v) in items(&spec["volumes"]).iter().enumerate() {
            let at = format!("{p}/volumes/{i}");
            if !optional(&v["configMap"]) {
                add(
                    "ConfigMap",
                    false,
                    &v["configMap"]["name"],
                    format!("{at}/configMap/name"),
                );
            }
            if !optional(&v["secret"]) {
                add(
                    "Secret",
                    false,
                    &v["secret"]["secretName"],
                    format!("{at}/secret/secretName"),
                );
            }
            add(
                "PersistentVolumeClaim",
                false,
                &v["persistentVolumeClaim"]["claimName"],
                format!("{at}/persistentVolumeClaim/claimName"),
            );
            for (j, s) in items(&v["projected"]["sources"]).iter().enumerate() {
                let at = format!("{at}/projected/sources/{j}");
                if !optional(&s["configMap"]) {
                    add(
                        "ConfigMap",
                        false,
                        &s["configMap"]["name"],
                        format!("{at}/configMap/name"),
                    );
                }
                if !optional(&s["secret"]) {
                    add(
                        "Secret",
                        false,
                        &s["secret"]["name"],
                        format!("{at}/secret/name"),
                    );
                }
            }
        }
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            for (i, c) in items(&spec[list]).iter().enumerate() {
                let at = format!("{p}/{list}/{i}");
                for (j, e) in items(&c["env"]).iter().enumerate() {
                    let from = &e["valueFrom"];
                    for (field, kind) in
                        [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")]
                    {
                        if !optional(&from[field]) {
                            add(
                                kind,
                                false,
                                &from[field]["name"],
                                format!("{at}/env/{j}/valueFrom/{field}/name"),
                            );
                        }
                    }
                }
                for (j, e) in items(&c["envFrom"]).iter().enumerate() {
                    for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                        if !optional(&e[field]) {
                            add(
                                kind,
                                false,
                                &e[field]["name"],
                                format!("{at}/envFrom/{j}/{field}/name"),
                            );
                        }
                    }
                }
            }
        }
    }
    match (key.group.as_str(), key.kind.as_str()) {
        ("apps", "StatefulSet") => {
            add(
                "Service",
                false,
                &json["spec"]["serviceName"],
                "/spec/serviceName".into(),
            );
            for (i, t) in items(&json["spec"]["volumeClaimTemplates"])
                .iter()
                .enumerate()
            {
                add(
                    "StorageClass",
                    true,
                    &t["spec"]["storageClassName"],
                    format!("/spec/volumeClaimTemplates/{i}/spec/storageClassName"),
                );
            }
        }
        ("", "PersistentVolumeClaim" | "PersistentVolume") => {
            add(
                "StorageClass",
                true,
                &json["spec"]["storageClassName"],
                "/spec/storageClassName".into(),
            );
        }
        ("networking.k8s.io", "Ingress") => {
            add(
                "Service",
                false,
                &json["spec"]["defaultBackend"]["service"]["name"],
                "/spec/defaultBackend/service/name".into(),
            );
            for (i, r) in items(&json["spec"]["rules"]).iter().enumerate() {
                for (j, path) in items(&r["http"]["paths"]).iter().enumerate() {
                    add(
                        "Service",
                        false,
                        &path["backend"]["service"]["name"],
                        format!("/spec/rules/{i}/http/paths/{j}/backend/service/name"),
                    );
                }
            }
        }
        _ => {}
    }
    out
}
