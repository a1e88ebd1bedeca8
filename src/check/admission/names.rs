//! `admission/name`: what `ValidateObjectMeta` refuses although the schema allows it —
//! `metadata.name`/`generateName` in the format each resource's validation uses, the
//! namespace name, label keys and values (object, pod templates, selectors), annotation keys
//! and the 256 KiB total annotation size.
//!
//! Sources: k8s.io/apimachinery `pkg/api/validation/objectmeta.go` (ValidateObjectMeta,
//! ValidateAnnotations, TotalAnnotationSizeLimitB), `pkg/apis/meta/v1/validation` (ValidateLabels),
//! k8s.io/kubernetes `pkg/apis/core/validation` (ValidateNamespaceName = DNS label,
//! ValidateServiceName = DNS-1035 label, NameIsDNSSubdomain for most kinds),
//! `pkg/apis/rbac/validation` (ValidateRBACName = path segment), `pkg/apis/batch/validation`
//! (CronJob names ≤ 52), apiextensions-apiserver (custom resources: DNS subdomain; a CRD's
//! name is `<plural>.<group>`).

use serde_json::Value;

use super::formats::{self, unsubstituted};
use super::Ctx;
use crate::diagnostic::Severity;
use crate::yaml::escape_pointer_segment;

const CODE: &str = "admission/name";

/// The API server's total size limit of one object's annotations (keys + values).
const TOTAL_ANNOTATION_SIZE: usize = 256 * 1024;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NameFormat {
    Subdomain,
    Label,
    Label1035,
    PathSegment,
}

fn name_format(group: &str, kind: &str) -> NameFormat {
    match (group, kind) {
        ("", "Namespace") => NameFormat::Label,
        ("", "Service") => NameFormat::Label1035,
        ("rbac.authorization.k8s.io", _) => NameFormat::PathSegment,
        // Kinds validated as path segments (ValidatePersistentVolumeName covers claims too),
        // or checked with the loosest rule any Kubernetes version used for them, so no
        // version's accepted name is refused: a ClusterTrustBundle is named
        // `<signer>:<name>`, an IPAddress by its IP (`2001:db8::1`).
        ("", "PersistentVolume" | "PersistentVolumeClaim")
        | ("certificates.k8s.io", "CertificateSigningRequest" | "ClusterTrustBundle")
        | ("networking.k8s.io", "IPAddress")
        | ("flowcontrol.apiserver.k8s.io", _) => NameFormat::PathSegment,
        _ => NameFormat::Subdomain,
    }
}

fn check_format(format: NameFormat, value: &str, prefix: bool) -> Option<(String, &'static str)> {
    // generateName may end with '-': the API server checks it with a letter in its place.
    let masked;
    let value = if prefix && value.ends_with('-') {
        masked = format!("{}a", &value[..value.len() - 1]);
        masked.as_str()
    } else {
        value
    };
    match format {
        NameFormat::Subdomain => {
            formats::dns1123_subdomain(value).map(|w| (w, "DNS-1123 subdomain"))
        }
        NameFormat::Label => formats::dns1123_label(value).map(|w| (w, "DNS-1123 label")),
        NameFormat::Label1035 => formats::dns1035_label(value).map(|w| (w, "DNS-1035 label")),
        NameFormat::PathSegment => {
            formats::path_segment(value, prefix).map(|w| (w, "path segment"))
        }
    }
}

pub fn check(cx: &mut Ctx) {
    let group = cx.m.group().to_string();
    let kind = cx.m.resource.kind.clone();
    let meta = &cx.m.json["metadata"];
    let format = name_format(&group, &kind);
    for (field, prefix) in [("name", false), ("generateName", true)] {
        let Some(value) = meta[field].as_str() else {
            continue;
        };
        if value.is_empty() || unsubstituted(value) {
            continue;
        }
        let pointer = format!("/metadata/{field}");
        if let Some((why, what)) = check_format(format, value, prefix) {
            cx.at(
                CODE,
                Severity::Error,
                format!("metadata.{field} \"{value}\" is not a valid {what} for a {kind}: {why}"),
                &pointer,
            );
            continue;
        }
        if group == "batch" && kind == "CronJob" && !prefix && value.len() > 52 {
            // The Jobs it creates append an 11-character suffix and must stay ≤ 63.
            cx.at(
                CODE,
                Severity::Error,
                format!(
                    "a CronJob name must be no more than 52 characters (is {})",
                    value.len()
                ),
                &pointer,
            );
        }
        if group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition" && !prefix {
            let spec = &cx.m.json["spec"];
            if let (Some(plural), Some(g)) = (
                spec.pointer("/names/plural").and_then(Value::as_str),
                spec["group"].as_str(),
            ) {
                let want = format!("{plural}.{g}");
                if value != want && !unsubstituted(&want) {
                    cx.at(
                        CODE,
                        Severity::Error,
                        format!(
                            "a CustomResourceDefinition must be named `<spec.names.plural>.<spec.group>`: \"{want}\", not \"{value}\""
                        ),
                        &pointer,
                    );
                }
            }
        }
    }
    // The API server clears the namespace of a cluster-scoped object before validating it.
    if let Some(ns) = meta["namespace"]
        .as_str()
        .filter(|_| cx.namespaced != Some(false))
    {
        if !ns.is_empty() && !unsubstituted(ns) {
            if let Some(why) = formats::dns1123_label(ns) {
                cx.at(
                    CODE,
                    Severity::Error,
                    format!("metadata.namespace \"{ns}\" is not a valid namespace name: {why}"),
                    "/metadata/namespace",
                );
            }
        }
    }
    check_meta(cx, "/metadata");
    for template in template_metas(&group, &kind) {
        check_meta(cx, template);
    }
    if group == "batch" && kind == "CronJob" {
        let before = cx.diags.len();
        check_meta(cx, DEFERRED_METAS);
        for d in &mut cx.diags[before..] {
            d.message.push_str(
                ": the CronJob is accepted (its jobTemplate's metadata is not validated with it), \
                 but the API server refuses every Job it creates",
            );
        }
    }
    for sel in selector_pointers(&group, &kind) {
        check_selector(cx, sel);
    }
    if group == "apps" && kind == "StatefulSet" {
        let n =
            cx.m.json
                .pointer("/spec/volumeClaimTemplates")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
        for i in 0..n {
            check_meta(cx, &format!("/spec/volumeClaimTemplates/{i}/metadata"));
        }
    }
}

/// Object metadata nested in built-in kinds (pod templates) that `ValidateObjectMeta` or
/// `ValidatePodTemplateSpec` checks the same way.
fn template_metas(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
        | ("batch", "Job")
        | ("", "ReplicationController") => &["/spec/template/metadata"],
        ("", "PodTemplate") => &["/template/metadata"],
        // A CronJob's `jobTemplate.metadata` is not validated with the CronJob: see
        // [`DEFERRED_METAS`].
        ("batch", "CronJob") => &["/spec/jobTemplate/spec/template/metadata"],
        _ => &[],
    }
}

/// The metadata the CronJob controller copies into each Job it creates: ValidateCronJob does
/// not validate it (pkg/apis/batch/validation ValidateJobTemplateSpec checks only the spec),
/// the Job's creation does.
const DEFERRED_METAS: &str = "/spec/jobTemplate/metadata";

/// Label selectors of built-in kinds (`matchLabels`/`matchExpressions`, or a plain map).
fn selector_pointers(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") | ("batch", "Job") => {
            &["/spec/selector"]
        }
        ("", "Service" | "ReplicationController") => &["/spec/selector"],
        ("policy", "PodDisruptionBudget") => &["/spec/selector"],
        ("networking.k8s.io", "NetworkPolicy") => &["/spec/podSelector"],
        _ => &[],
    }
}

fn check_meta(cx: &mut Ctx, meta_ptr: &str) {
    let Some(meta) = cx.m.json.pointer(meta_ptr) else {
        return;
    };
    let labels = meta.get("labels").and_then(Value::as_object).cloned();
    let annotations = meta.get("annotations").and_then(Value::as_object).cloned();
    if let Some(labels) = labels {
        check_label_map(cx, &format!("{meta_ptr}/labels"), &labels, "label");
    }
    if let Some(annotations) = annotations {
        let mut total = 0usize;
        for (k, v) in &annotations {
            total += k.len() + v.as_str().map_or(0, str::len);
            if unsubstituted(k) {
                continue;
            }
            // The API server checks annotation keys lower-cased.
            if let Some(why) = formats::qualified_name(&k.to_lowercase()) {
                let p = format!("{meta_ptr}/annotations/{}", escape_pointer_segment(k));
                cx.at_key(
                    CODE,
                    Severity::Error,
                    format!("annotation key \"{k}\" is not a valid qualified name: {why}"),
                    &p,
                );
            }
        }
        if total > TOTAL_ANNOTATION_SIZE {
            cx.at_key(
                CODE,
                Severity::Error,
                format!(
                    "the annotations total {total} bytes: the API server limits them to 262144 (256 KiB)"
                ),
                &format!("{meta_ptr}/annotations"),
            );
        }
    }
}

fn check_label_map(cx: &mut Ctx, ptr: &str, labels: &serde_json::Map<String, Value>, what: &str) {
    for (k, v) in labels {
        let p = format!("{ptr}/{}", escape_pointer_segment(k));
        if !unsubstituted(k) {
            if let Some(why) = formats::qualified_name(k) {
                cx.at_key(
                    CODE,
                    Severity::Error,
                    format!("{what} key \"{k}\" is not a valid qualified name: {why}"),
                    &p,
                );
            }
        }
        label_value(cx, v, &format!("{what} value of \"{k}\""), &p);
    }
}

/// A label value (string, not a substitution variable) that the API server refuses.
fn label_value(cx: &mut Ctx, v: &Value, what: &str, ptr: &str) {
    let Some(s) = v.as_str().filter(|s| !unsubstituted(s)) else {
        return;
    };
    if let Some(why) = formats::label_value(s) {
        cx.at(
            CODE,
            Severity::Error,
            format!("{what} is not a valid label value: {why}"),
            ptr,
        );
    }
}

fn check_selector(cx: &mut Ctx, ptr: &str) {
    let Some(sel) = cx.m.json.pointer(ptr).cloned() else {
        return;
    };
    let (group, kind) = (cx.m.group(), cx.m.resource.kind.as_str());
    // Services and ReplicationControllers use a plain label map as selector.
    let plain = group.is_empty() && matches!(kind, "Service" | "ReplicationController");
    if plain {
        if let Some(map) = sel.as_object() {
            check_label_map(cx, ptr, map, "selector");
        }
        return;
    }
    if let Some(map) = sel.get("matchLabels").and_then(Value::as_object) {
        check_label_map(cx, &format!("{ptr}/matchLabels"), map, "selector");
    }
    if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
        for (i, e) in exprs.iter().enumerate() {
            let base = format!("{ptr}/matchExpressions/{i}");
            if let Some(key) = e.get("key").and_then(Value::as_str) {
                if !unsubstituted(key) {
                    if let Some(why) = formats::qualified_name(key) {
                        cx.at(
                            CODE,
                            Severity::Error,
                            format!("selector key \"{key}\" is not a valid label key: {why}"),
                            &format!("{base}/key"),
                        );
                    }
                }
            }
            let op = e.get("operator").and_then(Value::as_str).unwrap_or("");
            let values = e.get("values").and_then(Value::as_array);
            let n = values.map_or(0, Vec::len);
            let problem = match op {
                "In" | "NotIn" if n == 0 => {
                    Some("must be specified when `operator` is 'In' or 'NotIn'")
                }
                "Exists" | "DoesNotExist" if n > 0 => {
                    Some("may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
                }
                _ => None,
            };
            if let Some(why) = problem {
                cx.at(
                    "admission/invalid",
                    Severity::Error,
                    format!("selector matchExpressions[{i}].values {why}"),
                    &base,
                );
            }
            for (j, v) in values.into_iter().flatten().enumerate() {
                let what = format!("selector value \"{}\"", v.as_str().unwrap_or(""));
                label_value(cx, v, &what, &format!("{base}/values/{j}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_per_kind() {
        assert_eq!(name_format("", "Namespace"), NameFormat::Label);
        assert_eq!(name_format("", "Service"), NameFormat::Label1035);
        assert_eq!(
            name_format("rbac.authorization.k8s.io", "ClusterRole"),
            NameFormat::PathSegment
        );
        assert_eq!(name_format("apps", "Deployment"), NameFormat::Subdomain);
        assert!(check_format(NameFormat::Subdomain, "web-", true).is_none());
        assert!(check_format(NameFormat::Subdomain, "web-", false).is_some());
        assert!(check_format(NameFormat::PathSegment, "system:controller:x", false).is_none());
    }
}
