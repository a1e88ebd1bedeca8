//! kustomize's built-in transformers: namespace, labels, annotations, name prefix/suffix (with
//! name references followed), images and replicas. New values carry the span of the
//! kustomization line that set them.

use super::fieldspec::{Config, FieldSpec, Leaf, NameReference};
use super::kustomize::{Build, Res};
use super::tree;
use crate::source::Span;
use crate::yaml::{Node, Value};

/// Whether kustomize's namespace transformer (and so kgate's renderers) leaves an object of
/// this apiVersion/kind without a namespace: see [`crate::schema::scope`].
pub(crate) fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    crate::schema::scope::kustomize_cluster_scoped(api_version, kind)
}

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
        if kind == "Namespace" {
            // kustomize's namespace transformer names the build's Namespace objects after the
            // namespace (its `metadata/name` field spec for kind Namespace).
            let old = r.name().to_string();
            if old != ns {
                if let Some(meta) = tree::map_at(&mut r.node, &["metadata"], true, span) {
                    tree::set(meta, "name", tree::string(ns, span));
                }
                r.names.push(old);
            }
            continue;
        }
        if is_cluster_scoped(tree::api_version(&r.node), &kind) {
            continue;
        }
        let old = tree::namespace(&r.node).to_string();
        if let Some(meta) = tree::map_at(&mut r.node, &["metadata"], true, span) {
            tree::set(meta, "namespace", tree::string(ns, span));
        }
        r.namespaces.push(old);
    }
}

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

/// Sets `values` in every field `specs` name (creating maps where a spec says so).
pub(crate) fn set_fields(
    res: &mut [Res],
    specs: &[FieldSpec],
    values: &[(String, Node)],
    span: Span,
) {
    if values.is_empty() {
        return;
    }
    for r in res.iter_mut() {
        for spec in specs {
            spec.visit(&mut r.node, Leaf::Map, span, &mut |map| {
                if matches!(map.value, Value::Map(_)) {
                    for (k, v) in values {
                        tree::set(map, k, v.clone());
                    }
                }
            });
        }
    }
}

/// The extra `fieldSpecs` of a transformer entry (`labels[].fields`, a transformer config).
pub(crate) fn extra_specs(node: Option<&Node>) -> Vec<FieldSpec> {
    node.and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(FieldSpec::parse)
        .collect()
}

pub(crate) fn labels(b: &mut Build, k: &Node, res: &mut [Res]) {
    if let Some(node) = k.get("commonLabels") {
        let values = pairs(b, node, "commonLabels");
        let specs = b.config.common_labels.clone();
        set_fields(res, &specs, &values, node.span);
    }
    let Some(list) = k.get("labels") else { return };
    for entry in list.as_seq().unwrap_or_default() {
        let Some(p) = entry.get("pairs") else {
            continue;
        };
        let values = pairs(b, p, "labels.pairs");
        let flag = |f: &str| matches!(entry.get(f).map(|n| &n.value), Some(Value::Bool(true)));
        // kustomize: metadata labels always; selectors (and templates) with
        // `includeSelectors`, templates only with `includeTemplates`; `fields` adds its own.
        let mut specs = if flag("includeSelectors") {
            b.config.common_labels.clone()
        } else if flag("includeTemplates") {
            b.config.template_labels.clone()
        } else {
            vec![FieldSpec::new("", "metadata/labels", true)]
        };
        specs.extend(extra_specs(entry.get("fields")));
        set_fields(res, &specs, &values, p.span);
    }
}

pub(crate) fn annotations(b: &mut Build, k: &Node, res: &mut [Res]) {
    let Some(node) = k.get("commonAnnotations") else {
        return;
    };
    let values = pairs(b, node, "commonAnnotations");
    let specs = b.config.common_annotations.clone();
    set_fields(res, &specs, &values, node.span);
}

/// Annotations on objects and pod templates (Flux `commonMetadata`), kustomize's default specs.
pub(crate) fn set_annotations(res: &mut [Res], values: &[(String, Node)], span: Span) {
    set_fields(res, &Config::defaults().common_annotations, values, span);
}

/// Labels on objects only (Flux `commonMetadata`), never on selectors.
pub(crate) fn set_metadata_labels(res: &mut [Res], values: &[(String, Node)], span: Span) {
    set_fields(
        res,
        &[FieldSpec::new("", "metadata/labels", true)],
        values,
        span,
    );
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
    let custom = b.config.name_reference.clone();
    rename_all(res, prefix, suffix, &custom);
}

pub(crate) fn rename_all(
    res: &mut [Res],
    prefix: Option<(String, Span)>,
    suffix: Option<(String, Span)>,
    custom: &[NameReference],
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
    fix_references(res, &renames, custom);
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

/// Renames by (kind, old name): looked up once per reference field, so following the renames
/// of a large build stays linear in its size (a list scan here made diamonds quadratic).
type Renames<'a> = std::collections::HashMap<(&'a str, &'a str), &'a str>;

/// Follows renames into the fields that refer to objects by name (kustomize's nameReference
/// configuration for the common kinds).
pub(crate) fn fix_references(
    res: &mut [Res],
    renames: &[(String, String, String)],
    custom: &[NameReference],
) {
    if renames.is_empty() {
        return;
    }
    let mut map: Renames = Renames::with_capacity(renames.len());
    for (kind, old, new) in renames {
        // The first rename of a name wins, as the list scan it replaces did.
        map.entry((kind.as_str(), old.as_str()))
            .or_insert(new.as_str());
    }
    let renames = &map;
    for r in res.iter_mut() {
        // `configurations:` nameReference entries: fields that name objects of `kind`.
        for nr in custom {
            for spec in &nr.specs {
                spec.visit(&mut r.node, Leaf::Scalar, Span::default(), &mut |n| {
                    if let Value::String(current) = &n.value {
                        if let Some(new) = renames.get(&(nr.kind.as_str(), current.as_str())) {
                            n.value = Value::String(new.to_string());
                        }
                    }
                });
            }
        }
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

fn rename(node: &mut Node, field: &str, kind: &str, renames: &Renames) {
    let Some(v) = tree::get_mut(node, field) else {
        return;
    };
    let Value::String(current) = &v.value else {
        return;
    };
    if let Some(new) = renames.get(&(kind, current.as_str())) {
        v.value = Value::String(new.to_string());
    }
}

fn walk_refs(node: &mut Node, parent: &str, owner: &str, renames: &Renames) {
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
