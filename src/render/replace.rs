//! kustomize's `replacements` (copy a field of one object into fields of others, inline or
//! from files) and its deprecated `vars` (`$(NAME)` expanded in the varReference fields once
//! the whole build is done). Copied values keep the span of the field they were copied from.

use super::fieldspec::Leaf;
use super::kustomize::{Build, Res};
use super::patch::Selector;
use super::tree;
use crate::source::Span;
use crate::yaml::{Node, Value};

/// The `replacements:` of one kustomization, in order (kustomize runs them after its other
/// built-in transformers).
pub(crate) fn run(b: &mut Build, dir: &str, k: &Node, res: &mut [Res]) {
    let Some(list) = k.get("replacements") else {
        return;
    };
    let Some(items) = list.as_seq() else {
        b.error("render/invalid", "`replacements` must be a list", list.span);
        return;
    };
    for item in items {
        for rep in entries(b, dir, item) {
            apply(b, &rep, res);
        }
    }
}

/// An inline replacement, or the replacements of the file its `path:` names.
pub(crate) fn entries(b: &mut Build, dir: &str, item: &Node) -> Vec<Node> {
    let Some(p) = item.get("path") else {
        return vec![item.clone()];
    };
    let Some(rel) = tree::scalar_text(p) else {
        return Vec::new();
    };
    let Some(path) = b.resolve(dir, &rel, p.span) else {
        return Vec::new();
    };
    let Some(parsed) = b.read_docs(&path, p.span) else {
        return Vec::new();
    };
    b.out.consumed.insert(parsed.file.path.clone());
    let mut out = Vec::new();
    for doc in &parsed.docs {
        match &doc.value {
            Value::Seq(items) => out.extend(items.iter().cloned()),
            Value::Map(_) => out.push(doc.clone()),
            _ => {}
        }
    }
    out
}

fn options(node: Option<&Node>) -> (Option<String>, i64, bool) {
    let Some(o) = node else {
        return (None, 0, false);
    };
    let delimiter = o
        .get("delimiter")
        .and_then(tree::scalar_text)
        .filter(|d| !d.is_empty());
    let index = match o.get("index").map(|n| &n.value) {
        Some(Value::Int(i)) => *i,
        _ => 0,
    };
    let create = matches!(o.get("create").map(|n| &n.value), Some(Value::Bool(true)));
    (delimiter, index, create)
}

/// A replacement's field path: `a.b.[name=x].c`, `*` for every item, an index into a list.
fn split_field_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let mut escaped = false;
    for c in path.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            // `example\.com/x`: a backslash keeps a dot inside a field name.
            '\\' => escaped = true,
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.retain(|s| !s.is_empty());
    out
}

/// Calls `f` on every node `segs` reaches (creating missing fields when `create`); returns how
/// many were reached.
fn visit(node: &mut Node, segs: &[String], create: bool, f: &mut dyn FnMut(&mut Node)) -> usize {
    let Some((seg, rest)) = segs.split_first() else {
        f(node);
        return 1;
    };
    let span = node.span;
    if seg == "*" {
        return match &mut node.value {
            Value::Map(entries) => entries
                .iter_mut()
                .map(|(_, v)| visit(v, rest, create, f))
                .sum(),
            Value::Seq(items) => items.iter_mut().map(|v| visit(v, rest, create, f)).sum(),
            _ => 0,
        };
    }
    let filter = seg
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.split_once('='));
    match (&mut node.value, filter) {
        (Value::Seq(items), Some((key, want))) => {
            let matches = |i: &Node| {
                if key.is_empty() {
                    tree::scalar_text(i).as_deref() == Some(want)
                } else {
                    i.get(key).and_then(tree::scalar_text).as_deref() == Some(want)
                }
            };
            let mut n = 0;
            for item in items.iter_mut() {
                if matches(item) {
                    n += visit(item, rest, create, f);
                }
            }
            if n == 0 && create && !key.is_empty() {
                let mut item = Node {
                    span,
                    value: Value::Map(Vec::new()),
                };
                tree::set(&mut item, key, tree::string(want, span));
                items.push(item);
                if let Some(last) = items.last_mut() {
                    n += visit(last, rest, create, f);
                }
            }
            n
        }
        (Value::Seq(items), None) => match seg.parse::<usize>() {
            Ok(i) => items
                .get_mut(i)
                .map_or(0, |item| visit(item, rest, create, f)),
            Err(_) => 0,
        },
        (Value::Map(_), _) => {
            let name = seg
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .unwrap_or(seg);
            if node.get(name).is_none() {
                if !create {
                    return 0;
                }
                let value = match rest.first() {
                    None => Value::Null,
                    Some(next) => container_for(next),
                };
                tree::set(node, name, Node { span, value });
            }
            match tree::get_mut(node, name) {
                Some(child) => {
                    if let (true, true, Some(next)) = (create, child.is_null(), rest.first()) {
                        child.value = container_for(next);
                    }
                    visit(child, rest, create, f)
                }
                None => 0,
            }
        }
        (Value::Null, _) if create => {
            node.value = container_for(seg);
            visit(node, segs, create, f)
        }
        _ => 0,
    }
}

/// The empty node a created field gets when `next` is the path segment that follows it.
fn container_for(next: &str) -> Value {
    if next.starts_with('[') || next.parse::<usize>().is_ok() {
        Value::Seq(Vec::new())
    } else {
        Value::Map(Vec::new())
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::String(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null
    )
}

/// Text read back as a plain YAML scalar (kustomize keeps a target's type and copies only the
/// text into it).
fn plain(text: &str) -> Value {
    crate::yaml::resolve_scalar(text, saphyr_parser::ScalarStyle::Plain, None)
}

/// Writes `value` into `target` as kustomize does: into a scalar only the text (the target
/// keeps its type: `"5432"` into a port gives `5432`), anything else replaces the node.
fn set_value(target: &mut Node, value: &Node, delimiter: Option<&str>, index: i64) {
    let text = tree::scalar_text(value);
    if let (Some(d), Some(text)) = (delimiter, text.as_deref()) {
        let current = tree::scalar_text(target).unwrap_or_default();
        let mut parts: Vec<String> = current.split(d).map(str::to_string).collect();
        if index < 0 {
            parts.insert(0, text.to_string());
        } else if index as usize >= parts.len() {
            parts.push(text.to_string());
        } else {
            parts[index as usize] = text.to_string();
        }
        let joined = parts.join(d);
        target.value = match target.value {
            Value::String(_) => Value::String(joined),
            _ => plain(&joined),
        };
        target.span = value.span;
        return;
    }
    match (&target.value, text) {
        (t, Some(text)) if is_scalar(t) && !matches!(value.value, Value::Null) => {
            target.value = match t {
                Value::String(_) => Value::String(text),
                _ => plain(&text),
            };
            target.span = value.span;
        }
        _ => *target = value.clone(),
    }
}

fn selector(b: &mut Build, node: Option<&Node>) -> Option<Selector> {
    node.and_then(|n| Selector::parse(b, n))
}

fn apply(b: &mut Build, rep: &Node, res: &mut [Res]) {
    let (Some(source), Some(targets)) = (rep.get("source"), rep.get("targets")) else {
        b.error(
            "render/invalid",
            "a replacement needs a `source` and `targets` (kustomize fails the build)",
            rep.span,
        );
        return;
    };
    let Some(sel) = selector(b, Some(source)) else {
        return;
    };
    let found: Vec<usize> = (0..res.len()).filter(|&i| sel.matches(&res[i])).collect();
    let src = match found.as_slice() {
        [one] => *one,
        [] if b.unrendered => {
            b.note(
                "render/incomplete",
                "the source of this replacement is not among the rendered objects; it may come from a remote resource kgate did not fetch",
                source.span,
            );
            return;
        }
        [] => {
            b.error(
                "render/invalid",
                "no object matches this replacement source (kustomize fails the build)",
                source.span,
            );
            return;
        }
        _ => {
            b.error(
                "render/invalid",
                format!(
                    "{} objects match this replacement source; kustomize needs exactly one",
                    found.len()
                ),
                source.span,
            );
            return;
        }
    };
    let field_path = source
        .get("fieldPath")
        .and_then(tree::scalar_text)
        .unwrap_or_else(|| "metadata.name".to_string());
    let mut value = None;
    visit(
        &mut res[src].node.clone(),
        &split_field_path(&field_path),
        false,
        &mut |n| {
            if value.is_none() {
                value = Some(n.clone());
            }
        },
    );
    let Some(mut value) = value else {
        b.error(
            "render/invalid",
            format!(
                "the replacement source has no field `{field_path}` (kustomize fails the build)"
            ),
            source.span,
        );
        return;
    };
    let (delimiter, index, _) = options(source.get("options"));
    if let (Some(d), Some(text)) = (delimiter.as_deref(), tree::scalar_text(&value)) {
        let parts: Vec<&str> = text.split(d).collect();
        match usize::try_from(index).ok().and_then(|i| parts.get(i)) {
            Some(p) => value.value = Value::String(p.to_string()),
            None => {
                b.error(
                    "render/invalid",
                    format!("options.index {index} is out of bounds for the source value"),
                    source.span,
                );
                return;
            }
        }
    }
    for target in targets.as_seq().unwrap_or_default() {
        let Some(select) = selector(b, target.get("select")) else {
            b.error(
                "render/invalid",
                "a replacement target needs `select`",
                target.span,
            );
            continue;
        };
        let rejects: Vec<Selector> = target
            .get("reject")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|r| Selector::parse(b, r))
            .collect();
        let paths: Vec<(String, Span)> = match target.get("fieldPaths").and_then(Node::as_seq) {
            Some(items) => items
                .iter()
                .filter_map(|i| tree::scalar_text(i).map(|s| (s, i.span)))
                .collect(),
            None => vec![("metadata.name".to_string(), target.span)],
        };
        let (delimiter, index, create) = options(target.get("options"));
        let cap = b.r.opts.max_object_nodes;
        for r in res.iter_mut() {
            if !select.matches(r) || rejects.iter().any(|x| x.matches(r)) {
                continue;
            }
            for (path, span) in &paths {
                let n = visit(&mut r.node, &split_field_path(path), create, &mut |t| {
                    set_value(t, &value, delimiter.as_deref(), index)
                });
                if n == 0 {
                    b.error(
                        "render/invalid",
                        format!("unable to find field `{path}` in replacement target {} `{}` (kustomize fails the build; `options.create: true` adds it)", r.kind(), r.name()),
                        *span,
                    );
                    return;
                }
                if tree::size(&r.node, cap) > cap {
                    b.too_large("this replacement", *span);
                    return;
                }
            }
        }
    }
}

/// One `vars:` entry: `$(name)` becomes the value at `field` of the object `objref` names.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    pub name: String,
    pub kind: String,
    pub api_version: Option<String>,
    pub object: String,
    pub namespace: Option<String>,
    pub field: String,
    pub span: Span,
}

/// Reads a kustomization's `vars:` into the build (they are resolved when the build ends).
pub(crate) fn collect_vars(b: &mut Build, k: &Node) {
    let Some(list) = k.get("vars") else { return };
    for v in list.as_seq().unwrap_or_default() {
        let name = v.get("name").and_then(tree::scalar_text);
        let objref = v.get("objref");
        let get = |f: &str| objref.and_then(|o| o.get(f)).and_then(tree::scalar_text);
        let (Some(name), Some(kind), Some(object)) = (name, get("kind"), get("name")) else {
            b.error(
                "render/invalid",
                "a var needs a `name` and an `objref` with `kind` and `name`",
                v.span,
            );
            continue;
        };
        if b.vars.iter().any(|x| x.name == name) {
            b.error(
                "render/invalid",
                format!("var `{name}` is defined twice (kustomize fails the build)"),
                v.span,
            );
            continue;
        }
        let field = v
            .get("fieldref")
            .and_then(|f| f.get("fieldpath"))
            .and_then(tree::scalar_text)
            .unwrap_or_else(|| "metadata.name".to_string());
        b.vars.push(Var {
            name,
            kind,
            api_version: get("apiVersion"),
            object,
            namespace: get("namespace"),
            field,
            span: v.span,
        });
    }
}

/// `spec.ports[0].port` → `spec.ports.0.port` (a var's field path).
fn var_path(field: &str) -> Vec<String> {
    split_field_path(&field.replace('[', ".").replace(']', ""))
}

/// Resolves the build's vars against its final objects and expands `$(NAME)` in the
/// varReference fields.
pub(crate) fn resolve_vars(b: &mut Build, res: &mut [Res]) {
    if b.vars.is_empty() {
        return;
    }
    let vars = std::mem::take(&mut b.vars);
    let mut values: Vec<(String, Node)> = Vec::new();
    for v in &vars {
        let found = res.iter().find(|r| {
            r.kind() == v.kind
                && r.answers_to(&v.object)
                && v.api_version.as_deref().is_none_or(|a| {
                    let api = tree::api_version(&r.node);
                    api == a || (!a.contains('/') && api.ends_with(&format!("/{a}")))
                })
                && v.namespace.as_deref().is_none_or(|ns| {
                    tree::namespace(&r.node) == ns || r.namespaces.iter().any(|n| n == ns)
                })
        });
        let Some(r) = found else {
            if b.unrendered {
                b.note(
                    "render/incomplete",
                    format!("var `{}` names {} `{}`, which is not among the rendered objects; it may come from a remote resource kgate did not fetch", v.name, v.kind, v.object),
                    v.span,
                );
            } else {
                b.error(
                    "render/invalid",
                    format!("var `{}` cannot be mapped: no {} `{}` in the build (kustomize fails the build)", v.name, v.kind, v.object),
                    v.span,
                );
            }
            continue;
        };
        let mut value = None;
        visit(&mut r.node.clone(), &var_path(&v.field), false, &mut |n| {
            if value.is_none() {
                value = Some(n.clone());
            }
        });
        match value {
            Some(n) if is_scalar(&n.value) && !n.is_null() => values.push((v.name.clone(), n)),
            _ => b.error(
                "render/invalid",
                format!(
                    "var `{}`: field `{}` of {} `{}` is missing or not a scalar",
                    v.name, v.field, v.kind, v.object
                ),
                v.span,
            ),
        }
    }
    let specs = b.config.var_reference.clone();
    for r in res.iter_mut() {
        for spec in &specs {
            spec.visit(&mut r.node, Leaf::Map, Span::default(), &mut |n| {
                expand_node(n, &values)
            });
        }
    }
    b.vars = vars;
}

fn expand_node(node: &mut Node, values: &[(String, Node)]) {
    match &mut node.value {
        Value::String(_) => expand_scalar(node, values),
        Value::Seq(items) => items.iter_mut().for_each(|i| expand_scalar(i, values)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| expand_scalar(v, values)),
        _ => {}
    }
}

/// kustomize's `$(VAR)` expansion: `$$` is a literal `$`, an unknown name stays as written, a
/// string that is exactly one reference takes the value with its type.
fn expand_scalar(node: &mut Node, values: &[(String, Node)]) {
    let Value::String(input) = &node.value else {
        return;
    };
    if !input.contains('$') {
        return;
    }
    let lookup = |name: &str| values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    if let Some(name) = input.strip_prefix("$(").and_then(|s| s.strip_suffix(')')) {
        if !name.contains(')') {
            if let Some(v) = lookup(name) {
                let span = v.span;
                *node = v.clone();
                node.span = span;
                return;
            }
        }
    }
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if bytes[i] == b'$' && i + 1 < input.len() {
            match bytes[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                }
                b'(' => match input[i + 2..].find(')') {
                    Some(end) => {
                        let name = &input[i + 2..i + 2 + end];
                        match lookup(name) {
                            Some(v) => out.push_str(&tree::scalar_text(v).unwrap_or_default()),
                            None => out.push_str(&input[i..i + 3 + end]),
                        }
                        i += 3 + end;
                    }
                    None => {
                        out.push_str("$(");
                        i += 2;
                    }
                },
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        } else {
            let c = input[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        }
    }
    node.value = Value::String(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Node {
        tree::string(text, Span::default())
    }

    #[test]
    fn expansion_follows_kustomize() {
        let values = vec![
            ("SVC".to_string(), s("top-svc")),
            (
                "PORT".to_string(),
                Node {
                    span: Span::default(),
                    value: Value::Int(80),
                },
            ),
        ];
        let run = |text: &str| {
            let mut n = s(text);
            expand_scalar(&mut n, &values);
            n.to_json()
        };
        assert_eq!(run("--svc=$(SVC):$(PORT)"), "--svc=top-svc:80");
        assert_eq!(run("$(PORT)"), 80);
        assert_eq!(run("$(UNKNOWN)"), "$(UNKNOWN)");
        assert_eq!(run("$$(SVC)"), "$(SVC)");
        assert_eq!(run("a$(b"), "a$(b");
        assert_eq!(run("ünï$(SVC)"), "ünïtop-svc");
    }

    #[test]
    fn field_paths_split_around_brackets() {
        assert_eq!(
            split_field_path("spec.containers.[name=a.b].env.0"),
            vec!["spec", "containers", "[name=a.b]", "env", "0"]
        );
        assert_eq!(
            var_path("spec.ports[0].port"),
            vec!["spec", "ports", "0", "port"]
        );
        assert_eq!(
            split_field_path("metadata.annotations.example\\.com/x"),
            vec!["metadata", "annotations", "example.com/x"]
        );
    }
}
