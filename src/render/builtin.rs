//! kustomize's built-in transformers and generators configured as objects in `transformers:` /
//! `generators:` (`apiVersion: builtin`, e.g. a `LabelTransformer` with its own field specs):
//! applied natively, in the order listed. Any other entry there is a plugin (exec, container,
//! Go): reported `render/unsupported` and never run.

use super::kustomize::{is_remote, Build, Res};
use super::{patch, replace, transform, tree};
use crate::source::Span;
use crate::yaml::{Key, Node, Value};

/// The built-in kinds kgate applies, and whether each is a generator.
const TRANSFORMERS: &[&str] = &[
    "LabelTransformer",
    "AnnotationsTransformer",
    "NamespaceTransformer",
    "PrefixSuffixTransformer",
    "PrefixTransformer",
    "SuffixTransformer",
    "ImageTagTransformer",
    "ReplicaCountTransformer",
    "PatchTransformer",
    "PatchStrategicMergeTransformer",
    "PatchJson6902Transformer",
    "ReplacementTransformer",
];
const GENERATORS: &[&str] = &["ConfigMapGenerator", "SecretGenerator"];

pub(crate) fn generators(b: &mut Build, dir: &str, k: &Node, depth: usize, res: &mut Vec<Res>) {
    for config in configs(b, dir, k, "generators", depth) {
        let kind = tree::kind(&config).to_string();
        if !is_builtin(&config) || !GENERATORS.contains(&kind.as_str()) {
            plugin(b, &config, "generator");
            continue;
        }
        // A generator config is one `configMapGenerator`/`secretGenerator` entry; its name
        // defaults to the config's own name.
        let mut entry = config.clone();
        for (field, meta) in [("name", "name"), ("namespace", "namespace")] {
            if entry.get(field).is_none() {
                if let Some(v) = config.get("metadata").and_then(|m| m.get(meta)) {
                    tree::set(&mut entry, field, v.clone());
                }
            }
        }
        tree::remove(&mut entry, "metadata");
        let list = if kind == "ConfigMapGenerator" {
            "configMapGenerator"
        } else {
            "secretGenerator"
        };
        let synthetic = object(&[(list, seq(vec![entry], config.span))], config.span);
        super::generator::run(b, dir, &synthetic, res);
    }
}

pub(crate) fn transformers(b: &mut Build, dir: &str, k: &Node, depth: usize, res: &mut Vec<Res>) {
    for config in configs(b, dir, k, "transformers", depth) {
        let kind = tree::kind(&config).to_string();
        if !is_builtin(&config) || !TRANSFORMERS.contains(&kind.as_str()) {
            plugin(b, &config, "transformer");
            continue;
        }
        apply(b, dir, &kind, &config, res);
    }
}

fn apply(b: &mut Build, dir: &str, kind: &str, c: &Node, res: &mut Vec<Res>) {
    let span = c.span;
    let field = |f: &str| c.get(f).cloned();
    match kind {
        "LabelTransformer" | "AnnotationsTransformer" => {
            let what = if kind == "LabelTransformer" {
                "labels"
            } else {
                "annotations"
            };
            let values: Vec<(String, Node)> = c
                .get(what)
                .and_then(Node::as_map)
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| {
                    let text = tree::scalar_text(v).unwrap_or_default();
                    (k.name.clone(), tree::string(text, v.span))
                })
                .collect();
            let specs = transform::extra_specs(c.get("fieldSpecs"));
            transform::set_fields(res, &specs, &values, span);
        }
        "NamespaceTransformer" => {
            let ns = c
                .get("metadata")
                .and_then(|m| m.get("namespace"))
                .and_then(|n| tree::scalar_text(n).map(|s| (s, n.span)));
            if let Some((ns, at)) = ns {
                transform::set_namespace(res, &ns, at);
            }
        }
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let text = |f: &str| {
                c.get(f)
                    .and_then(|n| tree::scalar_text(n).map(|s| (s, n.span)))
                    .filter(|(s, _)| !s.is_empty())
            };
            let custom = b.config.name_reference.clone();
            transform::rename_all(res, text("prefix"), text("suffix"), &custom);
        }
        "ImageTagTransformer" => {
            if let Some(tag) = c.get("imageTag") {
                let rules = transform::image_rules(b, &seq(vec![tag.clone()], tag.span));
                transform::apply_images(res, &rules);
            }
        }
        "ReplicaCountTransformer" => {
            if let Some(r) = field("replica") {
                let synthetic = object(&[("replicas", seq(vec![r], span))], span);
                transform::replicas(b, &synthetic, res);
            }
        }
        "PatchTransformer" => {
            let mut entry = c.clone();
            tree::remove(&mut entry, "metadata");
            let synthetic = object(&[("patches", seq(vec![entry], span))], span);
            patch::run_patches(b, dir, &synthetic, res);
        }
        "PatchStrategicMergeTransformer" => {
            let mut items: Vec<Node> = c
                .get("paths")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .to_vec();
            items.extend(field("patches"));
            let synthetic = object(&[("patchesStrategicMerge", seq(items, span))], span);
            patch::run_smp(b, dir, &synthetic, res);
        }
        "PatchJson6902Transformer" => {
            let mut entry = c.clone();
            tree::remove(&mut entry, "metadata");
            if let Some(op) = tree::remove(&mut entry, "jsonOp") {
                tree::set(&mut entry, "patch", op);
            }
            let synthetic = object(&[("patchesJson6902", seq(vec![entry], span))], span);
            patch::run_json6902(b, dir, &synthetic, res);
        }
        "ReplacementTransformer" => replace::run(b, dir, c, res),
        _ => {}
    }
}

/// `apiVersion: builtin` (kustomize also accepts the group form `builtin/v1`).
fn is_builtin(config: &Node) -> bool {
    let api = tree::api_version(config);
    api == "builtin" || api.starts_with("builtin/")
}

fn plugin(b: &mut Build, config: &Node, what: &str) {
    let span = config.get("kind").map(|n| n.span).unwrap_or(config.span);
    b.warning(
        "render/unsupported",
        format!(
            "{what} plugin {} (`{}`) is never run by kgate; the rendered output may differ from what the agent applies",
            tree::kind(config),
            tree::api_version(config)
        ),
        span,
    );
}

/// The config objects of a `transformers:`/`generators:` list: inline YAML, a file, or a
/// folder whose kustomization renders them.
fn configs(b: &mut Build, dir: &str, k: &Node, field: &str, depth: usize) -> Vec<Node> {
    let Some(list) = k.get(field) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in list.as_seq().unwrap_or_default() {
        let Some(text) = item.as_str() else {
            b.error(
                "render/invalid",
                format!("`{field}` items must be strings"),
                item.span,
            );
            continue;
        };
        if text.contains('\n') {
            out.extend(patch::inline_docs(b, item));
            continue;
        }
        if is_remote(text) {
            b.remote(text, item.span);
            continue;
        }
        let Some(path) = b.resolve(dir, text, item.span) else {
            continue;
        };
        if b.r.vfs.is_dir(&path) {
            b.out.included.insert(path.clone());
            let objs = b.kustomization(&path, Vec::new(), depth + 1, Some(item.span));
            out.extend(objs.into_iter().map(|r| r.node));
            continue;
        }
        if let Some(parsed) = b.read_docs(&path, item.span) {
            b.out.consumed.insert(parsed.file.path.clone());
            out.extend(parsed.docs.iter().cloned());
        }
    }
    out
}

fn seq(items: Vec<Node>, span: Span) -> Node {
    Node {
        span,
        value: Value::Seq(items),
    }
}

fn object(fields: &[(&str, Node)], span: Span) -> Node {
    Node {
        span,
        value: Value::Map(
            fields
                .iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.to_string(),
                            span,
                        },
                        v.clone(),
                    )
                })
                .collect(),
        ),
    }
}
