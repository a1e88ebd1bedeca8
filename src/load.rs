//! Loading: bytes → text → YAML documents → Kubernetes objects, with problems as findings.

use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::manifest::Manifest;
use crate::source::{Files, SourceFile};
use crate::yaml::{self, Limits, Node, Value, YamlProblem};

/// A document that is YAML but not a Kubernetes object (Helm values, CI files, kustomizations).
#[derive(Debug, Clone)]
pub struct Skipped {
    pub file: String,
    pub line: u32,
    pub reason: String,
}

/// What loading one or more files produced.
#[derive(Debug, Default)]
pub struct Loaded {
    pub manifests: Vec<Manifest>,
    pub diagnostics: Vec<Diagnostic>,
    pub skipped: Vec<Skipped>,
    /// Non-empty YAML documents read.
    pub documents: usize,
}

impl Loaded {
    pub fn extend(&mut self, other: Loaded) {
        self.manifests.extend(other.manifests);
        self.diagnostics.extend(other.diagnostics);
        self.skipped.extend(other.skipped);
        self.documents += other.documents;
    }
}

/// File id of spans computed on text that is not in the run's `Files` (a file that failed to
/// decode): no registry lookup may resolve it to another file.
const UNREGISTERED: u32 = u32::MAX;

/// Decodes raw bytes as a YAML stream would be: UTF-8 (a BOM is dropped) or UTF-16 with a BOM.
/// Binary content and invalid UTF-8 are findings that point at the first bad byte.
pub fn decode(path: &str, bytes: &[u8]) -> Result<String, Diagnostic> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return decode(path, rest);
    }
    if bytes.len() >= 2 && (bytes[..2] == [0xFF, 0xFE] || bytes[..2] == [0xFE, 0xFF]) {
        let le = bytes[0] == 0xFF;
        let units = bytes[2..].chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        return char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| {
                Diagnostic::error(
                    "file/not-text",
                    "invalid UTF-16: the file cannot be read as YAML",
                )
                .in_file(path, None)
            });
    }
    if let Some(nul) = bytes.iter().take(8192).position(|&b| b == 0) {
        let file = SourceFile::with_id(
            UNREGISTERED,
            path,
            String::from_utf8_lossy(&bytes[..nul]).into_owned(),
        );
        return Err(Diagnostic::error(
            "file/not-text",
            "binary content (a NUL byte): this is not a YAML file",
        )
        .in_file(path, Some(file.span_at_byte(file.text.len()))));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let good = e.valid_up_to();
            let file = SourceFile::with_id(
                UNREGISTERED,
                path,
                String::from_utf8_lossy(&bytes[..good]).into_owned(),
            );
            Err(Diagnostic::error(
                "file/not-text",
                "invalid UTF-8: YAML files must be UTF-8 (or UTF-16 with a byte order mark)",
            )
            .in_file(path, Some(file.span_at_byte(good))))
        }
    }
}

/// Loads every Kubernetes object of a file.
pub fn load_file(files: &Files, file: &Arc<SourceFile>, limits: &Limits) -> Loaded {
    let stream = yaml::parse_stream(file, limits);
    let mut out = Loaded::default();
    if is_go_template(file, &stream.problems, limits) {
        out.skipped.push(Skipped {
            file: file.path.clone(),
            line: 1,
            reason: "a Go template: it parses as YAML only once its `{{ … }}` actions are \
                     removed; rendered by a tool, never applied raw"
                .into(),
        });
        return out;
    }
    if crate::units::has_unquoted_action_value(&file.text) {
        out.skipped.push(Skipped {
            file: file.path.clone(),
            line: 1,
            reason: "a template: a value is an unquoted `{{ … }}` placeholder, which no \
                     Kubernetes object can hold; rendered by a tool, never applied raw"
                .into(),
        });
        return out;
    }
    for problem in stream.problems {
        out.diagnostics.push(yaml_problem(files, file, problem));
    }
    for doc in stream.documents {
        let Some(root) = doc.root else { continue };
        out.documents += 1;
        collect_objects(file, root, &mut out);
    }
    out
}

/// A file that fails to parse only because of Go template actions (`{{ … }}`) is a template
/// (a chart template copied out of its chart, a file rendered by a CI step), not a broken
/// manifest.
fn is_go_template(file: &SourceFile, problems: &[YamlProblem], limits: &Limits) -> bool {
    if !problems
        .iter()
        .any(|p| matches!(p, YamlProblem::Syntax { .. }))
    {
        return false;
    }
    let Some(skeleton) = crate::units::without_template_actions(&file.text) else {
        return false;
    };
    let probe = SourceFile::with_id(UNREGISTERED, file.path.clone(), skeleton);
    !yaml::parse_stream(&probe, limits)
        .problems
        .iter()
        .any(|p| matches!(p, YamlProblem::Syntax { .. }))
}

fn yaml_problem(files: &Files, file: &SourceFile, problem: YamlProblem) -> Diagnostic {
    match problem {
        YamlProblem::Syntax { message, span } => {
            Diagnostic::error("yaml/syntax", format!("YAML syntax error: {message}"))
                .in_file(file.path.clone(), Some(span))
                .with_help("this document was not checked; the other documents of the file were")
        }
        YamlProblem::DuplicateKey { key, first, second } => {
            let mut d = Diagnostic::error(
                "yaml/duplicate-key",
                format!(
                    "duplicate key `{key}` (first on line {}, again on line {})",
                    first.line, second.line
                ),
            )
            .in_file(file.path.clone(), Some(second))
            .with_help(
                "Kubernetes tools disagree on which value wins (kubectl refuses the file, others \
                 keep the last): keep one",
            );
            d.related.push(Related {
                message: format!("`{key}` first defined here"),
                file: files.path(first.file),
                line: first.line,
                column: first.col,
            });
            d
        }
        YamlProblem::Limit { message, span } => {
            Diagnostic::error("yaml/limit", message).in_file(file.path.clone(), Some(span))
        }
    }
}

/// Why an object with type meta is never applied to a cluster (None: it is). Tool
/// configuration (kustomize, KRM functions, kpt, skaffold, local cluster tools) and objects
/// kustomize and kpt keep local (`config.kubernetes.io/local-config: "true"`) are inputs of a
/// tool, not cluster objects: checking them as objects gives false `schema/missing-name` errors.
pub fn not_applied(api_version: &str, kind: &str, root: &Node) -> Option<&'static str> {
    let group = crate::manifest::api_group(api_version);
    let by_type = match group {
        "kustomize.config.k8s.io" => {
            Some("kustomize configuration (read by kustomize, not applied)")
        }
        "config.kubernetes.io" | "fn.kpt.dev" => {
            Some("KRM function configuration (read by kustomize/kpt, not applied)")
        }
        "kpt.dev" => Some("kpt package configuration (read by kpt, not applied)"),
        // kustomize transformer/generator configs (`apiVersion: builtin`).
        "builtin" => Some("kustomize transformer configuration (read by kustomize, not applied)"),
        "kind.x-k8s.io" => Some("kind cluster configuration (read by kind, not applied)"),
        "k3d.io" => Some("k3d cluster configuration (read by k3d, not applied)"),
        "ctlptl.dev" => Some("ctlptl configuration (read by ctlptl, not applied)"),
        _ if group.starts_with("skaffold") || api_version.starts_with("skaffold/") => {
            Some("skaffold configuration (read by skaffold, not applied)")
        }
        _ if kind == "Kustomization" && group.is_empty() => {
            Some("kustomize configuration (read by kustomize, not applied)")
        }
        _ => None,
    };
    if by_type.is_some() {
        return by_type;
    }
    let annotations = root.get("metadata").and_then(|m| m.get("annotations"));
    let annotation = |key: &str| annotations.and_then(|a| a.get(key));
    if annotation("config.kubernetes.io/local-config")
        .and_then(Node::as_str)
        .is_some_and(|v| v.trim() == "true")
    {
        return Some("annotated config.kubernetes.io/local-config: \"true\" (kept local by kustomize and kpt, not applied)");
    }
    if annotation("config.kubernetes.io/function").is_some()
        || annotation("config.k8s.io/function").is_some()
    {
        return Some("KRM function configuration (config.kubernetes.io/function; read by kustomize/kpt, not applied)");
    }
    None
}

fn collect_objects(file: &Arc<SourceFile>, root: Node, out: &mut Loaded) {
    let line = root.span.line;
    let skip = |out: &mut Loaded, reason: &str| {
        out.skipped.push(Skipped {
            file: file.path.clone(),
            line,
            reason: reason.to_string(),
        })
    };
    if !matches!(root.value, Value::Map(_)) {
        return skip(out, "not a mapping");
    }
    let api_version = root.get("apiVersion");
    let kind = root.get("kind");
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        // With `metadata` beside one half of the type meta this is meant as an object: the API
        // server (and kubeconform) refuse it, so it is an error, not "not an object".
        if let (Some(present), true) = (
            api_version.or(kind),
            root.get("metadata")
                .is_some_and(|m| matches!(m.value, Value::Map(_))),
        ) {
            let missing = if api_version.is_none() {
                "apiVersion"
            } else {
                "kind"
            };
            out.diagnostics.push(
                Diagnostic::error(
                    "schema/type-meta",
                    format!(
                        "this object has `metadata` but no `{missing}`: the API server refuses it"
                    ),
                )
                .in_file(file.path.clone(), Some(present.span))
                .with_help(format!(
                    "add `{missing}:`: every object needs both `apiVersion` and `kind`"
                )),
            );
            return;
        }
        return skip(out, "no apiVersion/kind: not a Kubernetes object");
    };
    let (Some(api_version_s), Some(kind_s)) = (api_version.as_str(), kind.as_str()) else {
        let bad = if api_version.as_str().is_none() {
            ("apiVersion", api_version)
        } else {
            ("kind", kind)
        };
        out.diagnostics.push(
            Diagnostic::error("schema/type-meta", format!("`{}` must be a string", bad.0))
                .in_file(file.path.clone(), Some(bad.1.span)),
        );
        return;
    };
    if let Some(reason) = not_applied(api_version_s, kind_s, &root) {
        return skip(out, reason);
    }
    if kind_s.ends_with("List") && root.get("items").is_some() {
        let items = root
            .get("items")
            .and_then(Node::as_seq)
            .map(<[Node]>::to_vec);
        match items {
            Some(items) => {
                for item in items {
                    if item.get("apiVersion").is_some() && item.get("kind").is_some() {
                        collect_objects(file, item, out);
                    } else {
                        out.diagnostics.push(
                            Diagnostic::error(
                                "schema/type-meta",
                                format!("an item of this {kind_s} has no apiVersion/kind"),
                            )
                            .in_file(file.path.clone(), Some(item.span)),
                        );
                    }
                }
            }
            None => out.diagnostics.push(
                Diagnostic::new(
                    "schema/type-meta",
                    Severity::Error,
                    format!("`items` of a {kind_s} must be a list"),
                )
                .in_file(
                    file.path.clone(),
                    Some(root.get("items").map(|n| n.span).unwrap_or(root.span)),
                ),
            ),
        }
        return;
    }
    out.manifests.push(Manifest::from_node(root, file.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Loaded {
        let files = Files::new();
        let f = files.add("t.yaml", text);
        load_file(&files, &f, &Limits::default())
    }

    #[test]
    fn lists_are_expanded_and_non_objects_skipped() {
        let l = load(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n---\nname: chart\nversion: 1.0.0\n---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
        );
        assert_eq!(l.manifests.len(), 2);
        assert_eq!(l.manifests[1].resource.name, "b");
        assert_eq!(l.manifests[1].node.span.line, 7);
        assert_eq!(l.skipped.len(), 2);
    }

    #[test]
    fn decode_rejects_binary_and_bad_utf8_with_a_position() {
        let d = decode("x.yaml", b"a: 1\nb: \xff\n").unwrap_err();
        assert_eq!(d.code, "file/not-text");
        assert_eq!(d.span.map(|s| (s.line, s.col)), Some((2, 4)));
        assert!(decode("x.yaml", b"\x00\x01binary").is_err());
        assert_eq!(decode("x.yaml", b"\xEF\xBB\xBFa: 1").unwrap(), "a: 1");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a: 1".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode("x.yaml", &utf16).unwrap(), "a: 1");
    }
}
