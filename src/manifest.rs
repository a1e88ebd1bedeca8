//! Kubernetes objects as the later stages see them: identity, span-keeping tree and JSON.

use std::sync::Arc;

use crate::diagnostic::ResourceRef;
use crate::source::{SourceFile, Span};
use crate::yaml::Node;

/// One Kubernetes object, read from a file or rendered from several.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub resource: ResourceRef,
    /// The object with spans. After rendering, fields may come from different files: every
    /// span carries its file id.
    pub node: Node,
    /// The same object as JSON, what schemas and policies read.
    pub json: serde_json::Value,
    /// The file the object's document is in (its `apiVersion`/`kind` come from there).
    pub file: Arc<SourceFile>,
    /// The kustomization or Flux Kustomization this object was rendered for.
    pub rendered_for: Option<String>,
    /// For an object a chart rendered: the values lines its fields came from (findings point
    /// there too).
    pub value_origins: Option<Arc<ValueOrigins>>,
    /// [`Manifest::secrets`], computed once.
    secrets: SecretsMemo,
}

/// The secret fields of an object, classified on first use: the schema check, the policy pack
/// and the redactor all read them. A clone starts empty, because clones are made to be changed.
#[derive(Default)]
struct SecretsMemo(std::sync::OnceLock<crate::secrets::ObjectSecrets>);

impl Clone for SecretsMemo {
    fn clone(&self) -> Self {
        SecretsMemo::default()
    }
}

impl std::fmt::Debug for SecretsMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsMemo")
    }
}

/// Findings on a chart's object also point at the values line its field came from: the
/// related locations of each field (by JSON pointer), with the span the field had when it was
/// rendered — a postRenderer or kustomize patch that replaced it leaves another span, and the
/// value is then not the release's.
#[derive(Debug, Default)]
pub struct ValueOrigins {
    pub(crate) by_pointer:
        std::collections::BTreeMap<String, (u32, usize, Vec<crate::diagnostic::Related>)>,
}

impl ValueOrigins {
    pub fn is_empty(&self) -> bool {
        self.by_pointer.is_empty()
    }
}

impl Manifest {
    pub fn from_node(node: Node, file: Arc<SourceFile>) -> Manifest {
        let json = node.to_json();
        let resource = resource_ref(&json);
        Manifest {
            resource,
            node,
            json,
            file,
            rendered_for: None,
            value_origins: None,
            secrets: SecretsMemo::default(),
        }
    }

    /// [`crate::secrets::classify`] of `json`, computed on first use and kept: an object is
    /// not changed once it is judged (a clone, made to be changed, classifies again).
    pub fn secrets(&self) -> &crate::secrets::ObjectSecrets {
        self.secrets
            .0
            .get_or_init(|| crate::secrets::classify(&self.json))
    }

    /// Whether this is a CustomResourceDefinition (a schema source).
    pub fn is_crd(&self) -> bool {
        self.resource.kind == "CustomResourceDefinition" && self.group() == "apiextensions.k8s.io"
    }

    pub fn group(&self) -> &str {
        api_group(&self.resource.api_version)
    }

    /// The span of the object as a whole (its first line).
    pub fn span(&self) -> Span {
        self.node.span
    }

    /// Where to point for a field: the value at `pointer`, or the nearest existing parent.
    pub fn span_at(&self, pointer: &str) -> Span {
        self.node.span_at_pointer(pointer)
    }

    /// A finding on this object: at the field of `pointer` when given (the nearest existing
    /// parent if the field is missing), else at the object; names the resource and the overlay.
    pub fn diagnostic(
        &self,
        code: impl Into<String>,
        severity: crate::diagnostic::Severity,
        message: impl Into<String>,
        pointer: Option<String>,
    ) -> crate::diagnostic::Diagnostic {
        let span = match &pointer {
            Some(p) => self.span_at(p),
            None => self.span(),
        };
        let mut d = crate::diagnostic::Diagnostic::new(code, severity, message)
            .in_file(self.file.path.clone(), Some(span))
            .with_resource(Some(self.resource.clone()));
        d.path = pointer;
        d.rendered_for = self.rendered_for.clone();
        d
    }

    /// Identity for pairing objects across revisions: group, kind, namespace, name.
    pub fn identity(&self) -> ObjectId {
        ObjectId {
            group: self.group().to_string(),
            kind: self.resource.kind.clone(),
            namespace: self.resource.namespace.clone().unwrap_or_default(),
            name: self.resource.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ObjectId {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// The group of an apiVersion: `apps/v1` → `apps`, `v1` → ``.
pub fn api_group(api_version: &str) -> &str {
    match api_version.rsplit_once('/') {
        Some((group, _)) => group,
        None => "",
    }
}

/// apiVersion, kind, namespace and name of an object (name falls back to generateName).
pub fn resource_ref(json: &serde_json::Value) -> ResourceRef {
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let meta = &json["metadata"];
    ResourceRef {
        api_version: s(&json["apiVersion"]).unwrap_or_default(),
        kind: s(&json["kind"]).unwrap_or_default(),
        namespace: s(&meta["namespace"]).filter(|n| !n.is_empty()),
        name: s(&meta["name"])
            .or_else(|| s(&meta["generateName"]))
            .unwrap_or_default(),
    }
}
