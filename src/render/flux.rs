//! Flux Kustomization semantics: render `spec.path` as kustomize-controller does (a folder
//! without kustomization.yaml gets one generated from its manifests), apply the Flux overlay
//! (targetNamespace, namePrefix/nameSuffix, patches, images, commonMetadata) and then
//! `postBuild` variable substitution (`${VAR}`, `${VAR:=default}`, `${VAR:-default}`, `$${VAR}`).

use std::collections::{BTreeMap, HashMap};

use base64::Engine;

use super::kustomize::{collect, Build, Res};
use super::{join, kustomization_file, patch, transform, tree, RenderOptions, Rendered, Renderer};
use crate::diagnostic::Severity;
use crate::manifest::Manifest;
use crate::source::{Files, Span};
use crate::vfs::{normalize, Vfs};
use crate::yaml::{Node, Value};

/// The annotation (or label) that turns substitution off for one object.
const DISABLE: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// ConfigMaps and Secrets found in the repository, for `postBuild.substituteFrom`.
#[derive(Debug, Default, Clone)]
pub struct SubstitutionSources {
    /// (kind, namespace, name) → data (Secret values decoded).
    pub objects: HashMap<(String, String, String), BTreeMap<String, String>>,
}

impl SubstitutionSources {
    pub fn from_manifests<'m>(
        manifests: impl IntoIterator<Item = &'m Manifest>,
    ) -> SubstitutionSources {
        let mut out = SubstitutionSources::default();
        for m in manifests {
            let kind = m.resource.kind.as_str();
            if !m.group().is_empty() || !matches!(kind, "ConfigMap" | "Secret") {
                continue;
            }
            let mut data = BTreeMap::new();
            if let Some(map) = m.json.get("data").and_then(|d| d.as_object()) {
                for (k, v) in map {
                    let Some(s) = v.as_str() else { continue };
                    let value = if kind == "Secret" {
                        base64::engine::general_purpose::STANDARD
                            .decode(s.trim())
                            .ok()
                            .and_then(|b| String::from_utf8(b).ok())
                    } else {
                        Some(s.to_string())
                    };
                    if let Some(v) = value {
                        data.insert(k.clone(), v);
                    }
                }
            }
            if let Some(map) = m.json.get("stringData").and_then(|d| d.as_object()) {
                for (k, v) in map {
                    if let Some(s) = v.as_str() {
                        data.insert(k.clone(), s.to_string());
                    }
                }
            }
            let key = (
                kind.to_string(),
                m.resource.namespace.clone().unwrap_or_default(),
                m.resource.name.clone(),
            );
            out.objects.insert(key, data);
        }
        out
    }
}

/// Whether a manifest is a Flux Kustomization.
pub fn is_flux_kustomization(m: &Manifest) -> bool {
    m.resource.kind == "Kustomization" && m.group() == "kustomize.toolkit.fluxcd.io"
}

/// The display name of a Flux Kustomization, used as `rendered_for`.
/// It names the file the Kustomization is defined in: clusters commonly each define a
/// `flux-system/apps`, and a finding (or merge-request mode's "same unit" test) must tell
/// them apart.
pub fn flux_label(m: &Manifest) -> String {
    match &m.resource.namespace {
        Some(ns) => format!(
            "Flux Kustomization {ns}/{} ({})",
            m.resource.name, m.file.path
        ),
        None => format!("Flux Kustomization {} ({})", m.resource.name, m.file.path),
    }
}

/// Renders a Flux Kustomization whose `spec.path` is in this repository (else: nothing).
pub fn render_flux(
    vfs: &dyn Vfs,
    files: &Files,
    m: &Manifest,
    opts: &RenderOptions,
    sources: &SubstitutionSources,
) -> Rendered {
    let r = Renderer::new(vfs, files, opts);
    render_flux_with(&r, m, sources)
}

/// The repository folder a Flux Kustomization renders, if it is in this repository.
pub fn flux_dir(vfs: &dyn Vfs, m: &Manifest, source_root: &str) -> Option<String> {
    let rel = m
        .node
        .get("spec")
        .and_then(|s| s.get("path"))
        .and_then(Node::as_str)
        .unwrap_or("./");
    let dir = source_path(source_root, rel)?;
    vfs.is_dir(&dir).then_some(dir)
}

/// A Flux `spec.path` (or an Argo CD source `path`) as a path of the tree: relative to the
/// source's root (`source_root`, a folder of the tree); None when it leaves that root.
pub(crate) fn source_path(source_root: &str, rel: &str) -> Option<String> {
    let dir = normalize(source_root, rel.trim_start_matches('/'))?;
    let inside =
        source_root.is_empty() || dir == source_root || dir.starts_with(&format!("{source_root}/"));
    inside.then_some(dir)
}

pub fn render_flux_with(r: &Renderer, m: &Manifest, sources: &SubstitutionSources) -> Rendered {
    let mut b = Build::new(r);
    let Some(spec) = m.node.get("spec") else {
        return b.into_rendered(Vec::new(), "");
    };
    let path_node = spec.get("path");
    let at = path_node.map(|n| n.span).unwrap_or(spec.span);
    let rel = path_node.and_then(Node::as_str).unwrap_or("./");
    let Some(dir) = source_path(&r.opts.source_root, rel) else {
        b.error(
            "render/outside-root",
            format!("`spec.path: {rel}` leaves the repository root"),
            at,
        );
        return b.into_rendered(Vec::new(), "");
    };
    if !r.vfs.is_dir(&dir) {
        // The path belongs to another source (or a missing folder Flux would report).
        return b.into_rendered(Vec::new(), "");
    }
    // `spec.components`: kustomize components relative to `spec.path`. kustomize-controller
    // appends them to the path's kustomization (fluxcd/pkg kustomize generator), so the
    // kustomization's own transformers (its `namespace:`, labels, prefix) apply to the
    // components' objects too.
    let components = b.strings(spec, "components");
    // (Resolved quietly here: the build below reports a path that leaves the repository.)
    b.out
        .included
        .extend(components.iter().filter_map(|(e, _)| normalize(&dir, e)));
    let edited = kustomization_file(r.vfs, &dir).is_some();
    let mut res = if edited {
        // kustomize-controller rewrites the path's kustomization before building it (fluxcd/pkg
        // kustomize generator): so the path's own transformers and Flux's run as one
        // kustomization, in kustomize's order — not Flux's on top of the built path.
        let spec = spec.clone();
        b.kustomization_edited(&dir, Vec::new(), 0, Some(at), &|k: &mut Node| {
            edit_as_flux(k, &spec)
        })
    } else {
        // The generated kustomization lists the path's manifests, then the components.
        let mut res = Vec::new();
        generated(&mut b, &dir, at, 0, &mut res);
        for (entry, span) in components {
            if let Some(sub) = b.resolve(&dir, &entry, span) {
                res = b.kustomization(&sub, res, 1, Some(span));
            }
        }
        res
    };
    if !edited {
        // The generated kustomization holds only resources: Flux's fields are its only
        // transformers, in kustomize's order.
        patch::run_smp(&mut b, &dir, spec, &mut res);
        patch::run_patches(&mut b, &dir, spec, &mut res);
        if let Some(ns) = spec.get("targetNamespace") {
            if let Some(text) = ns.as_str() {
                transform::set_namespace(&mut res, text, ns.span);
            }
        }
        transform::prefix_suffix(&mut b, spec, &mut res);
        patch::run_json6902(&mut b, &dir, spec, &mut res);
        transform::images(&mut b, spec, &mut res);
    }
    // commonMetadata is set on every object after the build (kustomize-controller).
    if let Some(meta) = spec.get("commonMetadata") {
        let pairs = |f: &str| -> Vec<(String, Node)> {
            meta.get(f)
                .and_then(Node::as_map)
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| {
                    (
                        k.name.clone(),
                        tree::string(tree::scalar_text(v).unwrap_or_default(), v.span),
                    )
                })
                .collect()
        };
        transform::set_metadata_labels(&mut res, &pairs("labels"), meta.span);
        transform::set_annotations(&mut res, &pairs("annotations"), meta.span);
    }
    let mut res = b.finish(res);
    if let Some(post) = spec.get("postBuild") {
        substitute_all(&mut b, m, post, sources, &mut res);
    }
    b.into_rendered(res, &flux_label(m))
}

/// The path's kustomization as kustomize-controller rewrites it from a Flux Kustomization's
/// spec: `targetNamespace`, `namePrefix` and `nameSuffix` replace the kustomization's own;
/// `patches`, `patchesStrategicMerge`, `patchesJson6902` and `components` are appended; an
/// `images` entry replaces the kustomization's entry of the same name, else is appended. The
/// moved nodes keep their spans, so findings on what they set point at the Flux Kustomization.
fn edit_as_flux(k: &mut Node, spec: &Node) {
    for (from, to) in [
        ("targetNamespace", "namespace"),
        ("namePrefix", "namePrefix"),
        ("nameSuffix", "nameSuffix"),
    ] {
        if let Some(v) = spec.get(from).filter(|v| v.as_str().is_some()) {
            tree::set(k, to, v.clone());
        }
    }
    for field in [
        "patches",
        "patchesStrategicMerge",
        "patchesJson6902",
        "components",
    ] {
        if let Some(Node {
            span,
            value: Value::Seq(items),
        }) = spec.get(field)
        {
            tree::append_seq(k, field, items, *span);
        }
    }
    if let Some(Node {
        span,
        value: Value::Seq(images),
    }) = spec.get("images")
    {
        tree::upsert_named(k, "images", images.clone(), *span);
    }
}

/// kustomize-controller's generated kustomization: every manifest under `dir`, recursively; a
/// sub-folder with its own kustomization is built as one.
fn generated(b: &mut Build, dir: &str, at: Span, depth: usize, res: &mut Vec<Res>) {
    if depth > b.r.opts.max_depth {
        b.error(
            "render/limit",
            "folders nested too deep under the Flux path",
            at,
        );
        return;
    }
    let names = b.r.vfs.list_dir(dir).unwrap_or_default();
    for name in names {
        if name.starts_with('.') {
            continue;
        }
        let path = join(dir, &name);
        if b.r.vfs.is_dir(&path) {
            if kustomization_file(b.r.vfs, &path).is_some() {
                b.out.included.insert(path.clone());
                let sub = b.kustomization(&path, Vec::new(), depth + 1, Some(at));
                res.extend(sub);
            } else {
                generated(b, &path, at, depth + 1, res);
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json") {
            let Some(parsed) = b.read_docs(&path, at) else {
                continue;
            };
            b.out.consumed.insert(parsed.file.path.clone());
            for doc in &parsed.docs {
                collect(doc, &parsed.file, res);
            }
        }
    }
}

struct Var {
    value: String,
    secret: bool,
}

fn substitute_all(
    b: &mut Build,
    m: &Manifest,
    post: &Node,
    sources: &SubstitutionSources,
    res: &mut [Res],
) {
    let mut vars: BTreeMap<String, Var> = BTreeMap::new();
    let ns = m.resource.namespace.clone().unwrap_or_default();
    for src in post
        .get("substituteFrom")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let kind = src.get("kind").and_then(Node::as_str).unwrap_or("");
        let name = src.get("name").and_then(Node::as_str).unwrap_or("");
        let optional = matches!(
            src.get("optional").map(|n| &n.value),
            Some(Value::Bool(true))
        );
        let found = sources
            .objects
            .get(&(kind.to_string(), ns.clone(), name.to_string()))
            .or_else(|| {
                sources
                    .objects
                    .get(&(kind.to_string(), String::new(), name.to_string()))
            });
        match found {
            Some(data) => {
                for (k, v) in data {
                    vars.insert(k.clone(), Var { value: v.clone(), secret: kind == "Secret" });
                }
            }
            None if optional => {}
            None => b.error(
                "render/missing-source",
                format!("substituteFrom {kind} `{name}` is not among the checked manifests; Flux fails until it exists"),
                src.span,
            ),
        }
    }
    for (k, v) in post
        .get("substitute")
        .and_then(Node::as_map)
        .unwrap_or_default()
    {
        let value = tree::scalar_text(v).unwrap_or_default();
        // An inline variable named like a credential (`db_password`) holds one: wherever it is
        // substituted — a label, an argument — its value must stay out of findings and plans.
        let secret =
            crate::redact::name_looks_secret(&k.name) || crate::redact::value_looks_secret(&value);
        vars.insert(k.name.clone(), Var { value, secret });
    }
    for r in res.iter_mut() {
        let disabled = ["annotations", "labels"]
            .iter()
            .any(|f| tree::str_at(&r.node, &["metadata", f, DISABLE]) == Some("disabled"));
        if disabled {
            continue;
        }
        let mut unresolved = Vec::new();
        let mut used_secrets = Vec::new();
        walk(b, &mut r.node, &vars, &mut unresolved, &mut used_secrets);
        for (name, span) in unresolved {
            let d = b.r.diag(
                "render/unresolved-variable",
                Severity::Error,
                format!("`${{{name}}}` has no value in postBuild.substitute/substituteFrom and no default; Flux substitutes an empty string"),
                span,
            );
            b.out.diagnostics.push(d);
        }
        // Short values (`admin`) would scrub common words from every message; the rendered
        // field is still masked by its span, like any other short secret.
        for v in used_secrets {
            if v.len() >= crate::redact::MIN_SCRUBBED_LEN {
                b.out.secrets.values.insert(v);
            }
        }
    }
}

fn walk(
    b: &Build,
    node: &mut Node,
    vars: &BTreeMap<String, Var>,
    unresolved: &mut Vec<(String, Span)>,
    secrets: &mut Vec<String>,
) {
    match &mut node.value {
        Value::String(s) if s.contains('$') => {
            let mut missing = Vec::new();
            let out = envsubst(
                s,
                &mut |name| {
                    let v = vars.get(name)?;
                    if v.secret {
                        secrets.push(v.value.clone());
                    }
                    Some(v.value.clone())
                },
                &mut missing,
            );
            for name in missing {
                unresolved.push((name, node.span));
            }
            if out != *s {
                let quoted =
                    b.r.files
                        .get(node.span.file)
                        .and_then(|f| {
                            f.text
                                .get(node.span.start..)
                                .map(|t| t.starts_with(['"', '\'']))
                        })
                        .unwrap_or(false);
                // Flux substitutes in YAML text, so an unquoted `${REPLICAS}` becomes a number.
                node.value = if quoted {
                    Value::String(out)
                } else {
                    crate::yaml::resolve_scalar(&out, saphyr_parser::ScalarStyle::Plain, None)
                };
            }
        }
        Value::Seq(items) => items
            .iter_mut()
            .for_each(|n| walk(b, n, vars, unresolved, secrets)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| walk(b, v, vars, unresolved, secrets)),
        _ => {}
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// envsubst as Flux uses it: `${VAR}`, `${VAR:=d}`, `${VAR:-d}`, `${VAR=d}`, `${VAR-d}`; `$$`
/// is a literal `$`. Names without a value and default are returned in `missing`.
pub fn envsubst(
    s: &str,
    lookup: &mut dyn FnMut(&str) -> Option<String>,
    missing: &mut Vec<String>,
) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        if let Some(body_start) = after.strip_prefix('{') {
            if let Some(end) = body_start.find('}') {
                let body = &body_start[..end];
                let (name, op, default) = split_expr(body);
                if valid_name(name) {
                    let value = lookup(name);
                    let text = match (op, value) {
                        (":=" | ":-", Some(v)) if !v.is_empty() => v,
                        (":=" | ":-", _) => default.to_string(),
                        ("=" | "-", Some(v)) => v,
                        ("=" | "-", None) => default.to_string(),
                        (_, Some(v)) => v,
                        (_, None) => {
                            missing.push(name.to_string());
                            String::new()
                        }
                    };
                    out.push_str(&text);
                    rest = &body_start[end + 1..];
                    continue;
                }
            }
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    out
}

fn split_expr(body: &str) -> (&str, &str, &str) {
    for op in [":=", ":-", "=", "-"] {
        if let Some(i) = body.find(op) {
            let name = &body[..i];
            if valid_name(name) {
                return (name, op, &body[i + op.len()..]);
            }
        }
    }
    (body, "", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subst(s: &str) -> (String, Vec<String>) {
        let mut missing = Vec::new();
        let out = envsubst(
            s,
            &mut |n| match n {
                "A" => Some("1".into()),
                "EMPTY" => Some(String::new()),
                _ => None,
            },
            &mut missing,
        );
        (out, missing)
    }

    #[test]
    fn envsubst_forms() {
        assert_eq!(subst("x-${A}-y").0, "x-1-y");
        assert_eq!(subst("${B:=def}").0, "def");
        assert_eq!(subst("${EMPTY:-def}").0, "def");
        assert_eq!(subst("${EMPTY-def}").0, "");
        assert_eq!(subst("$${A}").0, "${A}");
        assert_eq!(subst("cost $5").0, "cost $5");
        assert_eq!(subst("${B}"), (String::new(), vec!["B".to_string()]));
    }
}
