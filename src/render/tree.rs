//! Editing span-keeping trees: the small set of mutations transformers and patches need.

use crate::source::Span;
use crate::yaml::{Key, Node, Value};

pub(crate) fn get_mut<'n>(node: &'n mut Node, key: &str) -> Option<&'n mut Node> {
    match &mut node.value {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v),
        _ => None,
    }
}

/// Sets `key` to `value`; an existing key keeps its place (and its key span).
pub(crate) fn set(node: &mut Node, key: &str, value: Node) {
    if let Value::Null = node.value {
        node.value = Value::Map(Vec::new());
    }
    if let Value::Map(entries) = &mut node.value {
        if let Some((_, v)) = entries.iter_mut().find(|(k, _)| k.name == key) {
            *v = value;
        } else {
            let span = value.span;
            entries.push((
                Key {
                    name: key.to_string(),
                    span,
                },
                value,
            ));
        }
    }
}

pub(crate) fn remove(node: &mut Node, key: &str) -> Option<Node> {
    if let Value::Map(entries) = &mut node.value {
        if let Some(i) = entries.iter().position(|(k, _)| k.name == key) {
            return Some(entries.remove(i).1);
        }
    }
    None
}

/// The sequence at `key`, taken out of `node` (empty when absent or not a sequence), for an
/// edit that puts it back with [`set_seq`].
pub(crate) fn take_seq(node: &mut Node, key: &str) -> Vec<Node> {
    match remove(node, key).map(|n| n.value) {
        Some(Value::Seq(items)) => items,
        _ => Vec::new(),
    }
}

/// Sets `key` to the sequence `items` (its span: `span`, where the edit came from).
pub(crate) fn set_seq(node: &mut Node, key: &str, items: Vec<Node>, span: Span) {
    set(
        node,
        key,
        Node {
            span,
            value: Value::Seq(items),
        },
    );
}

/// Appends `items` to the sequence at `key` (as `kustomize edit add` and the GitOps agents'
/// kustomization rewrites do).
pub(crate) fn append_seq(node: &mut Node, key: &str, items: &[Node], span: Span) {
    let mut list = take_seq(node, key);
    list.extend(items.iter().cloned());
    set_seq(node, key, list, span);
}

/// Puts `items` into the sequence at `key`, each replacing the entry with the same `name`
/// (`kustomize edit set image`, Argo CD's and Flux's image overrides), else appended.
pub(crate) fn upsert_named(node: &mut Node, key: &str, items: Vec<Node>, span: Span) {
    if items.is_empty() {
        return;
    }
    let name = |n: &Node| n.get("name").and_then(scalar_text);
    let mut list = take_seq(node, key);
    for item in items {
        match list
            .iter()
            .position(|e| name(e).is_some() && name(e) == name(&item))
        {
            Some(i) => list[i] = item,
            None => list.push(item),
        }
    }
    set_seq(node, key, list, span);
}

/// The mapping at `path`, created (with `span` as its origin) when `create` is set.
pub(crate) fn map_at<'n>(
    node: &'n mut Node,
    path: &[&str],
    create: bool,
    span: Span,
) -> Option<&'n mut Node> {
    let mut cur = node;
    for seg in path {
        if !matches!(cur.value, Value::Map(_)) {
            return None;
        }
        if cur.get(seg).is_none() {
            if !create {
                return None;
            }
            set(
                cur,
                seg,
                Node {
                    span,
                    value: Value::Map(Vec::new()),
                },
            );
        }
        cur = get_mut(cur, seg)?;
        if matches!(cur.value, Value::Null) && create {
            cur.value = Value::Map(Vec::new());
        }
    }
    matches!(cur.value, Value::Map(_)).then_some(cur)
}

pub(crate) fn string(s: impl Into<String>, span: Span) -> Node {
    Node {
        span,
        value: Value::String(s.into()),
    }
}

pub(crate) fn str_at<'n>(node: &'n Node, path: &[&str]) -> Option<&'n str> {
    let (n, depth) = node.walk(path);
    if depth == path.len() {
        n.as_str()
    } else {
        None
    }
}

/// Every span in the subtree, rewritten by `f` (used to place inline patches in their file).
pub(crate) fn map_spans(node: &mut Node, f: &dyn Fn(Span) -> Span) {
    node.span = f(node.span);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| map_spans(n, f)),
        Value::Map(entries) => {
            for (k, v) in entries {
                k.span = f(k.span);
                map_spans(v, f);
            }
        }
        _ => {}
    }
}

/// The text of a scalar as kustomize would see it (numbers and booleans as written).
pub(crate) fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        _ => None,
    }
}

pub(crate) fn name(node: &Node) -> &str {
    str_at(node, &["metadata", "name"]).unwrap_or("")
}

pub(crate) fn namespace(node: &Node) -> &str {
    str_at(node, &["metadata", "namespace"]).unwrap_or("")
}

pub(crate) fn kind(node: &Node) -> &str {
    node.get("kind").and_then(Node::as_str).unwrap_or("")
}

pub(crate) fn api_version(node: &Node) -> &str {
    node.get("apiVersion").and_then(Node::as_str).unwrap_or("")
}

/// The number of nodes in a subtree (mapping entries count their key), counting stops once
/// past `cap` so that measuring a huge object costs no more than the cap.
pub(crate) fn size(node: &Node, cap: usize) -> usize {
    fn walk(node: &Node, cap: usize, n: &mut usize) {
        *n += 1;
        if *n > cap {
            return;
        }
        match &node.value {
            Value::Seq(items) => {
                for i in items {
                    walk(i, cap, n);
                    if *n > cap {
                        return;
                    }
                }
            }
            Value::Map(entries) => {
                for (_, v) in entries {
                    *n += 1;
                    walk(v, cap, n);
                    if *n > cap {
                        return;
                    }
                }
            }
            _ => {}
        }
    }
    let mut n = 0;
    walk(node, cap, &mut n);
    n
}
