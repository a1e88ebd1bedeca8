//! kustomize field specs: which objects (group, version, kind) and which field a transformer
//! writes, walked as kustomize walks them (a list on the way is walked item by item, `name[]`
//! marks a list, a missing field is created only when the spec says `create`). Also the
//! configuration a build accumulates: kustomize's default field specs plus the ones that
//! `configurations:` files add.

use super::tree;
use crate::source::Span;
use crate::yaml::{Node, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub path: Vec<String>,
    pub create: bool,
}

/// What a created leaf field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaf {
    Map,
    Scalar,
}

impl FieldSpec {
    /// `kind` may carry a group (`apps/Deployment`) and an optional version is not used by the
    /// default tables.
    pub fn new(kind: &str, path: &str, create: bool) -> FieldSpec {
        let (group, kind) = match kind.split_once('/') {
            Some((g, k)) => (Some(g.to_string()), k),
            None => (None, kind),
        };
        FieldSpec {
            group,
            version: None,
            kind: (!kind.is_empty()).then(|| kind.to_string()),
            path: split_path(path),
            create,
        }
    }

    /// A `fieldSpecs` item of a transformer config or a `configurations:` file.
    pub fn parse(node: &Node) -> Option<FieldSpec> {
        let get = |f: &str| node.get(f).and_then(tree::scalar_text);
        let path = get("path")?;
        Some(FieldSpec {
            group: get("group").filter(|s| !s.is_empty()),
            version: get("version").filter(|s| !s.is_empty()),
            kind: get("kind").filter(|s| !s.is_empty()),
            path: split_path(&path),
            create: matches!(
                node.get("create").map(|n| &n.value),
                Some(Value::Bool(true))
            ),
        })
    }

    /// Whether the spec is for this object's group, version and kind.
    pub fn applies_to(&self, obj: &Node) -> bool {
        let api = tree::api_version(obj);
        let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
        self.kind.as_deref().is_none_or(|k| k == tree::kind(obj))
            && self.group.as_deref().is_none_or(|g| g == group)
            && self.version.as_deref().is_none_or(|v| v == version)
    }

    /// Calls `f` on every field the spec names in `obj` (creating it if the spec says so).
    pub fn visit(&self, obj: &mut Node, leaf: Leaf, span: Span, f: &mut dyn FnMut(&mut Node)) {
        if self.applies_to(obj) {
            walk(obj, &self.path, self.create, leaf, span, f);
        }
    }
}

/// `a/b\/c/d` → `[a, b/c, d]` (a backslash keeps a slash inside a field name).
fn split_path(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in path.split('/') {
        match out.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(part);
            }
            _ => out.push(part.to_string()),
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

fn empty(leaf: Leaf, span: Span) -> Node {
    Node {
        span,
        value: match leaf {
            Leaf::Map => Value::Map(Vec::new()),
            Leaf::Scalar => Value::String(String::new()),
        },
    }
}

fn walk(
    node: &mut Node,
    path: &[String],
    create: bool,
    leaf: Leaf,
    span: Span,
    f: &mut dyn FnMut(&mut Node),
) {
    let Some((first, rest)) = path.split_first() else {
        f(node);
        return;
    };
    match &mut node.value {
        Value::Seq(items) => {
            for item in items.iter_mut() {
                walk(item, path, create, leaf, span, f);
            }
        }
        Value::Map(_) => {
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (first.as_str(), false),
            };
            let creating = create && !is_seq;
            let kind = if rest.is_empty() { leaf } else { Leaf::Map };
            if node.get(name).is_none() {
                if !creating {
                    return;
                }
                tree::set(node, name, empty(kind, span));
            }
            let Some(child) = tree::get_mut(node, name) else {
                return;
            };
            if child.is_null() && creating {
                *child = empty(kind, child.span);
            }
            walk(child, rest, create, leaf, span, f);
        }
        _ => {}
    }
}

/// Field specs by transformer, as kustomize's defaults and a build's `configurations:` give them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
    /// `nameReference` entries: objects of `kind` are referred to by name at `specs`.
    pub name_reference: Vec<NameReference>,
}

#[derive(Debug, Clone)]
pub(crate) struct NameReference {
    pub kind: String,
    pub specs: Vec<FieldSpec>,
}

/// Workloads whose pod template is at `spec/template` (kind with its group).
const POD_TEMPLATES: &[&str] = &[
    "v1/ReplicationController",
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "apps/StatefulSet",
    "batch/Job",
];

const AFFINITY_SELECTORS: &[&str] = &[
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
];

/// Where `$(VAR)` references are expanded in a pod spec (relative to the pod spec).
const POD_VAR_FIELDS: &[&str] = &[
    "containers/args",
    "containers/command",
    "containers/env/value",
    "containers/volumeMounts/mountPath",
    "initContainers/args",
    "initContainers/command",
    "initContainers/env/value",
    "initContainers/volumeMounts/mountPath",
    "volumes/nfs/server",
];

impl Config {
    /// kustomize v5's default configuration (sigs.k8s.io/kustomize/api/konfig/builtinpluginconsts).
    pub fn defaults() -> Config {
        let fs = FieldSpec::new;
        let v1 = |kind: &str, path: &str, create: bool| FieldSpec {
            version: Some("v1".into()),
            ..fs(kind, path, create)
        };
        let mut template_labels = vec![fs("", "metadata/labels", true)];
        let mut common_annotations = vec![fs("", "metadata/annotations", true)];
        for kind in POD_TEMPLATES {
            let (spec, kind) = match kind.strip_prefix("v1/") {
                Some(k) => (v1(k, "spec/template/metadata/labels", true), k),
                None => (fs(kind, "spec/template/metadata/labels", true), *kind),
            };
            template_labels.push(spec.clone());
            common_annotations.push(FieldSpec {
                path: split_path("spec/template/metadata/annotations"),
                ..spec
            });
            let _ = kind;
        }
        for p in [
            "spec/jobTemplate/metadata",
            "spec/jobTemplate/spec/template/metadata",
        ] {
            template_labels.push(fs("batch/CronJob", &format!("{p}/labels"), true));
            common_annotations.push(fs("batch/CronJob", &format!("{p}/annotations"), true));
        }
        let mut common_labels = vec![
            v1("Service", "spec/selector", true),
            v1("ReplicationController", "spec/selector", true),
            fs("Deployment", "spec/selector/matchLabels", true),
        ];
        common_labels.extend(
            AFFINITY_SELECTORS
                .iter()
                .map(|p| fs("apps/Deployment", p, false)),
        );
        common_labels.extend([
            fs("ReplicaSet", "spec/selector/matchLabels", true),
            fs("DaemonSet", "spec/selector/matchLabels", true),
            fs("apps/StatefulSet", "spec/selector/matchLabels", true),
            fs(
                "apps/StatefulSet",
                "spec/volumeClaimTemplates[]/metadata/labels",
                true,
            ),
        ]);
        common_labels.extend(
            AFFINITY_SELECTORS
                .iter()
                .map(|p| fs("apps/StatefulSet", p, false)),
        );
        common_labels.extend([
            fs("batch/Job", "spec/selector/matchLabels", false),
            fs(
                "batch/CronJob",
                "spec/jobTemplate/spec/selector/matchLabels",
                false,
            ),
            fs(
                "policy/PodDisruptionBudget",
                "spec/selector/matchLabels",
                false,
            ),
            fs(
                "networking.k8s.io/NetworkPolicy",
                "spec/podSelector/matchLabels",
                false,
            ),
            fs(
                "networking.k8s.io/NetworkPolicy",
                "spec/ingress/from/podSelector/matchLabels",
                false,
            ),
            fs(
                "networking.k8s.io/NetworkPolicy",
                "spec/egress/to/podSelector/matchLabels",
                false,
            ),
        ]);
        common_labels.extend(template_labels.iter().cloned());
        let mut var_reference = Vec::new();
        for (kind, pod) in [
            ("CronJob", "spec/jobTemplate/spec/template/spec"),
            ("DaemonSet", "spec/template/spec"),
            ("Deployment", "spec/template/spec"),
            ("Job", "spec/template/spec"),
            ("Pod", "spec"),
            ("ReplicaSet", "spec/template/spec"),
            ("StatefulSet", "spec/template/spec"),
        ] {
            for field in POD_VAR_FIELDS {
                if kind == "StatefulSet" && *field == "volumes/nfs/server" {
                    continue;
                }
                var_reference.push(fs(kind, &format!("{pod}/{field}"), false));
            }
        }
        var_reference.extend([
            fs(
                "StatefulSet",
                "spec/volumeClaimTemplates/spec/nfs/server",
                false,
            ),
            fs("Ingress", "spec/rules/host", false),
            fs("Ingress", "spec/tls/hosts", false),
            fs("Ingress", "spec/tls/secretName", false),
            fs("Service", "spec/ports/port", false),
            fs("Service", "spec/ports/targetPort", false),
            fs("PersistentVolume", "spec/nfs/server", false),
            fs("", "metadata/labels", false),
            fs("", "metadata/annotations", false),
        ]);
        Config {
            common_labels,
            template_labels,
            common_annotations,
            name_prefix: vec![fs("", "metadata/name", false)],
            name_suffix: vec![fs("", "metadata/name", false)],
            namespace: vec![fs("", "metadata/namespace", true)],
            var_reference,
            images: Vec::new(),
            replicas: Vec::new(),
            name_reference: Vec::new(),
        }
    }

    /// Adds the field specs of a `configurations:` file (kustomize appends them to its
    /// defaults, for the whole build).
    pub fn merge_file(&mut self, doc: &Node) {
        let specs = |field: &str| -> Vec<FieldSpec> {
            doc.get(field)
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(FieldSpec::parse)
                .collect()
        };
        let add = |list: &mut Vec<FieldSpec>, new: Vec<FieldSpec>| {
            for s in new {
                if !list.contains(&s) {
                    list.push(s);
                }
            }
        };
        add(&mut self.common_labels, specs("commonLabels"));
        add(&mut self.common_annotations, specs("commonAnnotations"));
        add(&mut self.name_prefix, specs("namePrefix"));
        add(&mut self.name_suffix, specs("nameSuffix"));
        add(&mut self.namespace, specs("namespace"));
        add(&mut self.var_reference, specs("varReference"));
        add(&mut self.images, specs("images"));
        add(&mut self.replicas, specs("replicas"));
        for entry in doc
            .get("nameReference")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let Some(kind) = entry.get("kind").and_then(tree::scalar_text) else {
                continue;
            };
            let specs: Vec<FieldSpec> = entry
                .get("fieldSpecs")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(FieldSpec::parse)
                .collect();
            self.name_reference.push(NameReference { kind, specs });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        let f = crate::source::SourceFile::new("t.yaml", text.to_string());
        crate::yaml::parse_stream(&f, &Default::default()).documents[0]
            .root
            .clone()
            .unwrap()
    }

    #[test]
    fn lists_are_walked_and_missing_fields_created_only_on_request() {
        let mut d = doc("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nspec:\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {a: b}\n    - ipBlock: {}\n");
        let mut seen = 0;
        for s in Config::defaults().common_labels {
            s.visit(&mut d, Leaf::Map, Span::default(), &mut |n| {
                seen += 1;
                tree::set(n, "x", tree::string("y", Span::default()));
            });
        }
        // metadata/labels (created) and the one existing podSelector, not the ipBlock item.
        assert_eq!(seen, 2);
        assert_eq!(
            d.to_json()["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["x"],
            "y"
        );
        assert!(d.to_json()["spec"]["ingress"][0]["from"][1]
            .get("podSelector")
            .is_none());
        assert_eq!(split_path("a/b\\/c/d"), vec!["a", "b/c", "d"]);
    }
}
