//! `configMapGenerator` / `secretGenerator` and kustomize's content hash name suffix.
//!
//! The hash is kustomize's (sigs.k8s.io/kustomize/api/hasher): SHA-256 over Go's JSON encoding
//! of `{data, kind, name[, binaryData]}` (Secrets: `{data, kind, name, type[, stringData]}`),
//! keys sorted, first ten hex digits with `0 1 3 a e` mapped to `g h k m t`. kustomize v5 looks
//! the name up with a single `metadata/name` path segment that never matches, so the name it
//! hashes is always empty; krusty's golden outputs (e.g. `bob-79t79mt227`) confirm this.

use std::collections::BTreeMap;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::kustomize::{Build, Res};
use super::tree;
use crate::source::Span;
use crate::yaml::{Key, Node, Value};

struct Options {
    labels: Vec<(String, Node)>,
    annotations: Vec<(String, Node)>,
    no_hash: bool,
    immutable: bool,
}

fn options(node: Option<&Node>, base: Option<&Options>) -> Options {
    let mut o = Options {
        labels: base.map(|b| b.labels.clone()).unwrap_or_default(),
        annotations: base.map(|b| b.annotations.clone()).unwrap_or_default(),
        no_hash: base.is_some_and(|b| b.no_hash),
        immutable: base.is_some_and(|b| b.immutable),
    };
    let Some(node) = node else { return o };
    for (field, list) in [
        ("labels", &mut o.labels),
        ("annotations", &mut o.annotations),
    ] {
        for (k, v) in node.get(field).and_then(Node::as_map).unwrap_or_default() {
            let text = tree::scalar_text(v).unwrap_or_default();
            list.retain(|(n, _)| n != &k.name);
            list.push((k.name.clone(), tree::string(text, v.span)));
        }
    }
    if let Some(Value::Bool(b)) = node.get("disableNameSuffixHash").map(|n| &n.value) {
        o.no_hash = *b;
    }
    if let Some(Value::Bool(b)) = node.get("immutable").map(|n| &n.value) {
        o.immutable = *b;
    }
    o
}

pub(crate) fn run(b: &mut Build, dir: &str, k: &Node, res: &mut Vec<Res>) {
    let global = options(k.get("generatorOptions"), None);
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        for entry in k.get(field).and_then(Node::as_seq).unwrap_or_default() {
            generate(b, dir, entry, kind, &global, res);
        }
    }
}

fn generate(
    b: &mut Build,
    dir: &str,
    entry: &Node,
    kind: &str,
    global: &Options,
    res: &mut Vec<Res>,
) {
    let Some(name_node) = entry.get("name") else {
        b.error(
            "render/invalid",
            format!("a {kind} generator needs a `name`"),
            entry.span,
        );
        return;
    };
    let name = tree::scalar_text(name_node).unwrap_or_default();
    let opts = options(entry.get("options"), Some(global));
    let mut data: BTreeMap<String, Node> = BTreeMap::new();
    let mut put = |b: &mut Build, key: String, value: Node| {
        let span = value.span;
        if let std::collections::btree_map::Entry::Vacant(e) = data.entry(key.clone()) {
            e.insert(value);
        } else {
            b.error(
                "render/invalid",
                format!(
                    "key `{key}` is generated twice for {kind} `{name}`; kustomize refuses this"
                ),
                span,
            );
        }
    };
    for item in entry
        .get("literals")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let text = tree::scalar_text(item).unwrap_or_default();
        match text.split_once('=') {
            Some((key, value)) => put(b, key.to_string(), tree::string(unquote(value), item.span)),
            None => b.error(
                "render/invalid",
                format!("literal `{text}` is not `KEY=VALUE`"),
                item.span,
            ),
        }
    }
    let mut env_files: Vec<&Node> = entry
        .get("envs")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .collect();
    env_files.extend(entry.get("env"));
    for item in env_files {
        let Some(rel) = tree::scalar_text(item) else {
            continue;
        };
        let Some(path) = b.resolve(dir, &rel, item.span) else {
            continue;
        };
        let Some(file) = b.read_text(&path, item.span) else {
            continue;
        };
        for (i, line) in file.text.split('\n').enumerate() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let col = line.chars().count() - trimmed.chars().count();
            let span = file.span(i + 1, col, i + 1, line.chars().count());
            // A line without `=` is a key with an empty value: kustomize v5 (as
            // `kubectl kustomize` 5.8 prints it) does not read the value from its environment.
            let (key, value) = trimmed.split_once('=').unwrap_or((trimmed, ""));
            put(b, key.to_string(), tree::string(value, span));
        }
    }
    for item in entry
        .get("files")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let Some(spec) = tree::scalar_text(item) else {
            continue;
        };
        let (key, rel) = match spec.split_once('=') {
            Some((k, p)) => (k.to_string(), p.to_string()),
            None => (
                spec.rsplit('/').next().unwrap_or(&spec).to_string(),
                spec.clone(),
            ),
        };
        let Some(path) = b.resolve(dir, &rel, item.span) else {
            continue;
        };
        let Some(file) = b.read_text(&path, item.span) else {
            continue;
        };
        put(b, key, tree::string(file.text.to_string(), item.span));
    }
    let span = entry.span;
    let is_secret = kind == "Secret";
    let data_node = Node {
        span,
        value: Value::Map(
            data.into_iter()
                .map(|(k, mut v)| {
                    if is_secret {
                        if let Value::String(s) = &v.value {
                            v.value = Value::String(encode_base64(s));
                        }
                    }
                    (
                        Key {
                            name: k,
                            span: v.span,
                        },
                        v,
                    )
                })
                .collect(),
        ),
    };
    let behavior = entry
        .get("behavior")
        .and_then(Node::as_str)
        .unwrap_or("create");
    let namespace = entry.get("namespace").and_then(tree::scalar_text);
    match behavior {
        "create" => {
            let mut meta = vec![entry_kv("name", tree::string(name.clone(), name_node.span))];
            if let Some(ns) = &namespace {
                meta.push(entry_kv(
                    "namespace",
                    tree::string(ns, entry.get("namespace").map(|n| n.span).unwrap_or(span)),
                ));
            }
            if !opts.labels.is_empty() {
                meta.push(entry_kv("labels", map_of(&opts.labels, span)));
            }
            if !opts.annotations.is_empty() {
                meta.push(entry_kv("annotations", map_of(&opts.annotations, span)));
            }
            let mut obj = vec![
                entry_kv("apiVersion", tree::string("v1", span)),
                entry_kv("kind", tree::string(kind, span)),
                entry_kv(
                    "metadata",
                    Node {
                        span,
                        value: Value::Map(meta),
                    },
                ),
                entry_kv("data", data_node),
            ];
            if is_secret {
                let ty = entry
                    .get("type")
                    .and_then(tree::scalar_text)
                    .unwrap_or_else(|| "Opaque".into());
                let ty_span = entry.get("type").map(|n| n.span).unwrap_or(span);
                obj.push(entry_kv("type", tree::string(ty, ty_span)));
            }
            if opts.immutable {
                obj.push(entry_kv(
                    "immutable",
                    Node {
                        span,
                        value: Value::Bool(true),
                    },
                ));
            }
            let node = Node {
                span,
                value: Value::Map(obj),
            };
            if res.iter().any(|r| {
                r.kind() == kind
                    && r.name() == name
                    && tree::namespace(&r.node) == namespace.as_deref().unwrap_or("")
            }) {
                b.error(
                    "render/conflict",
                    format!("{kind} `{name}` already exists; use `behavior: merge` or `replace`"),
                    name_node.span,
                );
                return;
            }
            let mut r = Res::new(
                node,
                b.r.files.get(span.file).expect("span of a registered file"),
            );
            r.hash = !opts.no_hash;
            res.push(r);
        }
        "merge" | "replace" => {
            let target = res.iter_mut().find(|r| {
                r.kind() == kind
                    && r.answers_to(&name)
                    && namespace.as_deref().is_none_or(|ns| {
                        tree::namespace(&r.node) == ns || r.namespaces.iter().any(|n| n == ns)
                    })
            });
            let Some(target) = target else {
                b.error(
                    "render/invalid",
                    format!("{kind} `{name}` to {behavior} was not found among the resources"),
                    name_node.span,
                );
                return;
            };
            if behavior == "replace" {
                tree::set(&mut target.node, "data", data_node);
            } else if let Some(existing) =
                tree::get_mut(&mut target.node, "data").filter(|d| matches!(d.value, Value::Map(_)))
            {
                if let Value::Map(new) = data_node.value {
                    for (k, v) in new {
                        tree::set(existing, &k.name, v);
                    }
                }
            } else {
                tree::set(&mut target.node, "data", data_node);
            }
            for (field, values) in [("labels", &opts.labels), ("annotations", &opts.annotations)] {
                if values.is_empty() {
                    continue;
                }
                if let Some(m) = tree::map_at(&mut target.node, &["metadata", field], true, span) {
                    for (k, v) in values {
                        tree::set(m, k, v.clone());
                    }
                }
            }
            if opts.no_hash {
                target.hash = false;
            }
        }
        other => {
            let s = entry.get("behavior").map(|n| n.span).unwrap_or(span);
            b.error(
                "render/invalid",
                format!("unknown generator behavior `{other}` (create, merge or replace)"),
                s,
            );
        }
    }
}

fn entry_kv(name: &str, node: Node) -> (Key, Node) {
    (
        Key {
            name: name.to_string(),
            span: node.span,
        },
        node,
    )
}

fn map_of(values: &[(String, Node)], span: Span) -> Node {
    Node {
        span,
        value: Value::Map(
            values
                .iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.clone(),
                            span: v.span,
                        },
                        v.clone(),
                    )
                })
                .collect(),
        ),
    }
}

/// Secret data as kustomize v5 (kyaml) writes it: base64 in lines of 70 characters, each
/// followed by a newline when there is more than one line (part of what the hash covers).
fn encode_base64(s: &str) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(s);
    let lines = enc.len() / LINE + 1;
    if lines == 1 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + lines);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// kustomize drops one pair of matching quotes around a literal's value.
fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// kustomize's name suffix for a ConfigMap or Secret.
pub(crate) fn hash(node: &Node) -> String {
    use serde_json::Value as J;
    let field = |f: &str| match node.get(f) {
        Some(n) if matches!(n.value, Value::Map(_)) => Some(n.to_json()),
        _ => None,
    };
    let mut m = serde_json::Map::new();
    m.insert("kind".into(), J::String(tree::kind(node).to_string()));
    m.insert("name".into(), J::String(String::new()));
    m.insert(
        "data".into(),
        field("data").unwrap_or(J::String(String::new())),
    );
    if tree::kind(node) == "Secret" {
        let ty = node
            .get("type")
            .and_then(tree::scalar_text)
            .unwrap_or_default();
        m.insert("type".into(), J::String(ty));
        if let Some(sd) = field("stringData") {
            m.insert("stringData".into(), sd);
        }
    } else if let Some(bd) = field("binaryData") {
        m.insert("binaryData".into(), bd);
    }
    let mut text = String::new();
    go_json(&J::Object(m), &mut text);
    let hex = format!("{:x}", Sha256::digest(text.as_bytes()));
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Go's `encoding/json` output: sorted keys, HTML-safe string escapes.
fn go_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value as J;
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => out.push_str(&n.to_string()),
        J::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                        out.push_str(&format!("\\u{:04x}", c as u32))
                    }
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        J::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        J::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(&J::String(k.clone()), out);
                out.push(':');
                go_json(&map[k], out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn node(text: &str) -> Node {
        let f = SourceFile::new("t.yaml", text);
        crate::yaml::parse_stream(&f, &Default::default())
            .documents
            .remove(0)
            .root
            .unwrap()
    }

    /// Vectors from kustomize's api/hasher/hasher_test.go.
    #[test]
    fn hashes_match_kustomize_hasher_tests() {
        assert_eq!(
            hash(&node("apiVersion: v1\nkind: ConfigMap\n")),
            "6ct58987ht"
        );
        assert_eq!(
            hash(&node(
                "apiVersion: v1\nkind: ConfigMap\ndata:\n  one: \"\"\n"
            )),
            "9g67k2htb6"
        );
        assert_eq!(
            hash(&node(
                "apiVersion: v1\nkind: ConfigMap\ndata:\n  two: 2\n  one: \"\"\n  three: 3\n"
            )),
            "7757f9kkct"
        );
        assert_eq!(
            hash(&node(
                "apiVersion: v1\nkind: ConfigMap\nbinaryData:\n  one: \"\"\n"
            )),
            "6mtk2m274t"
        );
        assert_eq!(
            hash(&node(
                "apiVersion: v1\nkind: ConfigMap\ndata:\n  one: \"\"\nbinaryData:\n  two: \"\"\n"
            )),
            "698h7c7t9m"
        );
        assert_eq!(
            hash(&node("apiVersion: v1\nkind: Secret\ntype: my-type\n")),
            "5gmgkf8578"
        );
        assert_eq!(
            hash(&node(
                "apiVersion: v1\nkind: Secret\ntype: my-type\ndata:\n  one: \"\"\n"
            )),
            "74bd68bm66"
        );
        assert_eq!(hash(&node("apiVersion: v1\nkind: Secret\ntype: my-type\ndata:\n  one: \"\"\nstringData:\n  two: 2\n")), "c4h4264gdb");
    }

    #[test]
    fn long_secret_values_wrap_like_kyaml() {
        assert_eq!(encode_base64("apple"), "YXBwbGU=");
        let long = encode_base64(&"x".repeat(60));
        assert_eq!(long.lines().map(str::len).collect::<Vec<_>>(), vec![70, 10]);
        assert!(long.ends_with('\n'));
    }

    #[test]
    fn go_json_escapes_like_go() {
        let mut s = String::new();
        go_json(&serde_json::json!({"b": "<a&b>", "a": 1}), &mut s);
        assert_eq!(s, r#"{"a":1,"b":"\u003ca\u0026b\u003e"}"#);
    }
}
