//! kustomize's built-in transformers: namespace, labels, annotations, name prefix/suffix (with
//! name references followed), images and replicas. New values carry the span of the
//! kustomization line that set them.

use super::kustomize::{Build, Res};
use super::tree;
use crate::source::Span;
use crate::yaml::{Node, Value};

/// Built-in kinds that have no namespace (kustomize leaves their namespace alone).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "APIService",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "RuntimeClass",
    "IngressClass",
    "PodSecurityPolicy",
    "CertificateSigningRequest",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ComponentStatus",
];

pub(crate) fn namespace(_b: &mut Build, k: &Node, res: &mut [Res]) {
    let Some(node) = k.get("namespace") else {
        return;
    };
    let Some(ns) = tree::scalar_text(node) else {
        return;
    };
    set_namespace(res, &ns, node.span);
}

pub(crate) fn set_namespace(res: &mut [Res], ns: &str, span: Span) {
    let service_accounts: Vec<String> = res
        .iter()
        .filter(|r| r.kind() == "ServiceAccount")
        .flat_map(|r| r.names.iter().cloned().chain([r.name().to_string()]))
        .collect();
    for r in res.iter_mut() {
        let kind = r.kind().to_string();
        if matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding") {
            if let Some(Value::Seq(subjects)) =
                tree::get_mut(&mut r.node, "subjects").map(|n| &mut n.value)
            {
                for s in subjects {
                    let is_sa = s.get("kind").and_then(Node::as_str) == Some("ServiceAccount");
                    let name = s
                        .get("name")
                        .and_then(Node::as_str)
                        .unwrap_or("")
                        .to_string();
                    if is_sa && (name == "default" || service_accounts.contains(&name)) {
                        tree::set(s, "namespace", tree::string(ns, span));
                    }
                }
            }
        }
        if CLUSTER_SCOPED.contains(&kind.as_str()) {
            continue;
        }
        let old = tree::namespace(&r.node).to_string();
        if let Some(meta) = tree::map_at(&mut r.node, &["metadata"], true, span) {
            tree::set(meta, "namespace", tree::string(ns, span));
        }
        r.namespaces.push(old);
    }
}

/// Where labels go: (kinds, path, create). `[]` in a path walks a list.
type FieldSpec = (&'static [&'static str], &'static str, bool);

const WORKLOADS: &[&str] = &["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"];

const SELECTOR_SPECS: &[FieldSpec] = &[
    (&["Service"], "spec/selector", true),
    (&["ReplicationController"], "spec/selector", true),
    (
        &["ReplicationController"],
        "spec/template/metadata/labels",
        true,
    ),
    (WORKLOADS, "spec/selector/matchLabels", true),
    (WORKLOADS, "spec/template/metadata/labels", true),
    (
        &["StatefulSet"],
        "spec/volumeClaimTemplates/[]/metadata/labels",
        true,
    ),
    (&["Job"], "spec/selector/matchLabels", false),
    (&["Job"], "spec/template/metadata/labels", true),
    (
        &["CronJob"],
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ),
    (&["CronJob"], "spec/jobTemplate/metadata/labels", true),
    (
        &["CronJob"],
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ),
    (&["PodDisruptionBudget"], "spec/selector/matchLabels", false),
    (&["NetworkPolicy"], "spec/podSelector/matchLabels", false),
];

const TEMPLATE_LABEL_SPECS: &[FieldSpec] = &[
    (WORKLOADS, "spec/template/metadata/labels", true),
    (
        &["ReplicationController", "Job"],
        "spec/template/metadata/labels",
        true,
    ),
    (
        &["CronJob"],
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ),
];

const ANNOTATION_SPECS: &[FieldSpec] = &[
    (WORKLOADS, "spec/template/metadata/annotations", true),
    (
        &["ReplicationController", "Job"],
        "spec/template/metadata/annotations",
        true,
    ),
    (&["CronJob"], "spec/jobTemplate/metadata/annotations", true),
    (
        &["CronJob"],
        "spec/jobTemplate/spec/template/metadata/annotations",
        true,
    ),
];

/// `key: value` pairs of a map field, values as strings with their spans.
fn pairs(b: &mut Build, node: &Node, what: &str) -> Vec<(String, Node)> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                let text = tree::scalar_text(v).unwrap_or_default();
                (k.name.clone(), tree::string(text, v.span))
            })
            .collect(),
        Value::Null => Vec::new(),
        _ => {
            b.error(
                "render/invalid",
                format!("`{what}` must be a mapping"),
                node.span,
            );
            Vec::new()
        }
    }
}

fn apply_at(node: &mut Node, path: &[&str], create: bool, values: &[(String, Node)], span: Span) {
    if let Some(i) = path.iter().position(|s| *s == "[]") {
        let (head, tail) = (&path[..i], &path[i + 1..]);
        let (n, depth) = node.walk(head);
        if depth != head.len() || n.as_seq().is_none() {
            return;
        }
        let mut cur = &mut *node;
        for seg in head {
            cur = match tree::get_mut(cur, seg) {
                Some(c) => c,
                None => return,
            };
        }
        if let Value::Seq(items) = &mut cur.value {
            for item in items {
                apply_at(item, tail, create, values, span);
            }
        }
        return;
    }
    if let Some(map) = tree::map_at(node, path, create, span) {
        for (k, v) in values {
            tree::set(map, k, v.clone());
        }
    }
}

fn apply_specs(res: &mut [Res], specs: &[FieldSpec], values: &[(String, Node)], span: Span) {
    for r in res.iter_mut() {
        let kind = r.kind().to_string();
        apply_at(&mut r.node, &["metadata", "labels"], true, values, span);
        for (kinds, path, create) in specs {
            if kinds.contains(&kind.as_str()) {
                let path: Vec<&str> = path.split('/').collect();
                apply_at(&mut r.node, &path, *create, values, span);
            }
        }
    }
}

pub(crate) fn labels(b: &mut Build, k: &Node, res: &mut [Res]) {
    if let Some(node) = k.get("commonLabels") {
        let values = pairs(b, node, "commonLabels");
        if !values.is_empty() {
            apply_specs(res, SELECTOR_SPECS, &values, node.span);
        }
    }
    let Some(list) = k.get("labels") else { return };
    for entry in list.as_seq().unwrap_or_default() {
        let Some(p) = entry.get("pairs") else {
            continue;
        };
        let values = pairs(b, p, "labels.pairs");
        let flag = |f: &str| matches!(entry.get(f).map(|n| &n.value), Some(Value::Bool(true)));
        if let Some(f) = entry.get("fields") {
            b.warning(
                "render/unsupported",
                "`labels.fields` (custom field specs) are not implemented by kgate; only the default fields were labelled",
                f.span,
            );
        }
        let specs: &[FieldSpec] = if flag("includeSelectors") {
            SELECTOR_SPECS
        } else if flag("includeTemplates") {
            TEMPLATE_LABEL_SPECS
        } else {
            &[]
        };
        apply_specs(res, specs, &values, p.span);
    }
}

pub(crate) fn annotations(b: &mut Build, k: &Node, res: &mut [Res]) {
    let Some(node) = k.get("commonAnnotations") else {
        return;
    };
    let values = pairs(b, node, "commonAnnotations");
    set_annotations(res, &values, node.span);
}

pub(crate) fn set_annotations(res: &mut [Res], values: &[(String, Node)], span: Span) {
    if values.is_empty() {
        return;
    }
    for r in res.iter_mut() {
        let kind = r.kind().to_string();
        apply_at(
            &mut r.node,
            &["metadata", "annotations"],
            true,
            values,
            span,
        );
        for (kinds, path, create) in ANNOTATION_SPECS {
            if kinds.contains(&kind.as_str()) {
                let path: Vec<&str> = path.split('/').collect();
                apply_at(&mut r.node, &path, *create, values, span);
            }
        }
    }
}

/// Labels on objects only (Flux `commonMetadata`), never on selectors.
pub(crate) fn set_metadata_labels(res: &mut [Res], values: &[(String, Node)], span: Span) {
    for r in res.iter_mut() {
        apply_at(&mut r.node, &["metadata", "labels"], true, values, span);
    }
}

/// Kinds kustomize never renames.
fn keeps_name(r: &Res) -> bool {
    matches!(r.kind(), "CustomResourceDefinition" | "Namespace")
        || (r.kind() == "APIService" && r.group() == "apiregistration.k8s.io")
}

pub(crate) fn prefix_suffix(b: &mut Build, k: &Node, res: &mut [Res]) {
    let text = |f: &str| {
        k.get(f)
            .and_then(|n| tree::scalar_text(n).map(|s| (s, n.span)))
    };
    let prefix = text("namePrefix");
    let suffix = text("nameSuffix");
    let _ = b;
    rename_all(res, prefix, suffix);
}

pub(crate) fn rename_all(
    res: &mut [Res],
    prefix: Option<(String, Span)>,
    suffix: Option<(String, Span)>,
) {
    if prefix.is_none() && suffix.is_none() {
        return;
    }
    let span = prefix
        .as_ref()
        .or(suffix.as_ref())
        .map(|p| p.1)
        .unwrap_or_default();
    let mut renames = Vec::new();
    for r in res.iter_mut().filter(|r| !keeps_name(r)) {
        let old = r.name().to_string();
        let new = format!(
            "{}{old}{}",
            prefix.as_ref().map(|p| p.0.as_str()).unwrap_or(""),
            suffix.as_ref().map(|s| s.0.as_str()).unwrap_or("")
        );
        if let Some(meta) = tree::map_at(&mut r.node, &["metadata"], true, span) {
            tree::set(meta, "name", tree::string(new.clone(), span));
        }
        r.names.push(old.clone());
        renames.push((r.kind().to_string(), old, new));
    }
    fix_references(res, &renames);
}

/// Splits an image reference into name, tag and digest.
pub(crate) fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// One `images:` entry.
#[derive(Debug, Clone)]
pub(crate) struct ImageRule {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
    pub span: Span,
}

pub(crate) fn image_rules(b: &mut Build, node: &Node) -> Vec<ImageRule> {
    let mut out = Vec::new();
    for e in node.as_seq().unwrap_or_default() {
        let get = |f: &str| e.get(f).and_then(tree::scalar_text);
        let Some(name) = get("name") else {
            b.error("render/invalid", "an `images` entry needs a `name`", e.span);
            continue;
        };
        let span = ["digest", "newTag", "newName"]
            .iter()
            .find_map(|f| e.get(f).map(|n| n.span))
            .unwrap_or(e.span);
        out.push(ImageRule {
            name,
            new_name: get("newName"),
            new_tag: get("newTag"),
            digest: get("digest"),
            span,
        });
    }
    out
}

pub(crate) fn images(b: &mut Build, k: &Node, res: &mut [Res]) {
    let Some(node) = k.get("images") else { return };
    let rules = image_rules(b, node);
    apply_images(res, &rules);
}

pub(crate) fn apply_images(res: &mut [Res], rules: &[ImageRule]) {
    if rules.is_empty() {
        return;
    }
    for r in res.iter_mut() {
        walk_containers(&mut r.node, rules);
    }
}

fn walk_containers(node: &mut Node, rules: &[ImageRule]) {
    match &mut node.value {
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                if matches!(
                    k.name.as_str(),
                    "containers" | "initContainers" | "ephemeralContainers"
                ) {
                    if let Value::Seq(items) = &mut v.value {
                        for c in items.iter_mut() {
                            retag(c, rules);
                        }
                    }
                }
                walk_containers(v, rules);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|n| walk_containers(n, rules)),
        _ => {}
    }
}

fn retag(container: &mut Node, rules: &[ImageRule]) {
    let Some(image) = container.get("image").and_then(Node::as_str) else {
        return;
    };
    let (name, tag, digest) = split_image(image);
    let Some(rule) = rules.iter().find(|r| r.name == name) else {
        return;
    };
    let mut new = rule.new_name.clone().unwrap_or_else(|| name.to_string());
    if let Some(d) = &rule.digest {
        new = format!("{new}@{d}");
    } else if let Some(t) = &rule.new_tag {
        new = format!("{new}:{t}");
    } else if let Some(t) = tag {
        new = format!("{new}:{t}");
        if let Some(d) = digest {
            new = format!("{new}@{d}");
        }
    } else if let Some(d) = digest {
        new = format!("{new}@{d}");
    }
    tree::set(container, "image", tree::string(new, rule.span));
}

pub(crate) fn replicas(b: &mut Build, k: &Node, res: &mut [Res]) {
    let Some(node) = k.get("replicas") else {
        return;
    };
    for e in node.as_seq().unwrap_or_default() {
        let name = e.get("name").and_then(Node::as_str);
        let count = e.get("count");
        let (
            Some(name),
            Some(
                count @ Node {
                    value: Value::Int(_),
                    ..
                },
            ),
        ) = (name, count)
        else {
            b.error(
                "render/invalid",
                "a `replicas` entry needs a `name` and an integer `count`",
                e.span,
            );
            continue;
        };
        for r in res.iter_mut().filter(|r| r.answers_to(name)) {
            let scalable = matches!(
                r.kind(),
                "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController"
            ) || r.node.get("spec").and_then(|s| s.get("replicas")).is_some();
            if scalable {
                if let Some(spec) = tree::map_at(&mut r.node, &["spec"], true, count.span) {
                    tree::set(spec, "replicas", count.clone());
                }
            }
        }
    }
}

/// Follows renames into the fields that refer to objects by name (kustomize's nameReference
/// configuration for the common kinds).
pub(crate) fn fix_references(res: &mut [Res], renames: &[(String, String, String)]) {
    if renames.is_empty() {
        return;
    }
    for r in res.iter_mut() {
        let owner = r.kind().to_string();
        walk_refs(&mut r.node, "", &owner, renames);
        if matches!(owner.as_str(), "RoleBinding" | "ClusterRoleBinding") {
            if let Some(role_ref) = tree::get_mut(&mut r.node, "roleRef") {
                let kind = role_ref
                    .get("kind")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_string();
                rename(role_ref, "name", &kind, renames);
            }
            if let Some(Value::Seq(subjects)) =
                tree::get_mut(&mut r.node, "subjects").map(|n| &mut n.value)
            {
                for s in subjects {
                    if s.get("kind").and_then(Node::as_str) == Some("ServiceAccount") {
                        rename(s, "name", "ServiceAccount", renames);
                    }
                }
            }
        }
    }
}

fn rename(node: &mut Node, field: &str, kind: &str, renames: &[(String, String, String)]) {
    let Some(v) = tree::get_mut(node, field) else {
        return;
    };
    let Value::String(current) = &v.value else {
        return;
    };
    if let Some((_, _, new)) = renames
        .iter()
        .find(|(k, old, _)| k == kind && old == current)
    {
        v.value = Value::String(new.clone());
    }
}

fn walk_refs(node: &mut Node, parent: &str, owner: &str, renames: &[(String, String, String)]) {
    match &mut node.value {
        Value::Map(_) => {
            match parent {
                "configMap" | "configMapRef" | "configMapKeyRef" => {
                    rename(node, "name", "ConfigMap", renames)
                }
                "secret" => {
                    rename(node, "secretName", "Secret", renames);
                    rename(node, "name", "Secret", renames);
                }
                "secretRef" | "secretKeyRef" | "imagePullSecrets" => {
                    rename(node, "name", "Secret", renames)
                }
                "persistentVolumeClaim" => {
                    rename(node, "claimName", "PersistentVolumeClaim", renames)
                }
                "service" if owner == "Ingress" => rename(node, "name", "Service", renames),
                "scaleTargetRef" => {
                    let kind = node
                        .get("kind")
                        .and_then(Node::as_str)
                        .unwrap_or("")
                        .to_string();
                    rename(node, "name", &kind, renames);
                }
                _ => {}
            }
            rename(node, "serviceAccountName", "ServiceAccount", renames);
            if owner == "StatefulSet" && parent == "spec" {
                rename(node, "serviceName", "Service", renames);
            }
            if let Value::Map(entries) = &mut node.value {
                for (k, v) in entries.iter_mut() {
                    walk_refs(v, &k.name, owner, renames);
                }
            }
        }
        Value::Seq(items) => {
            for item in items.iter_mut() {
                walk_refs(item, parent, owner, renames);
            }
        }
        _ => {}
    }
}
