//! Patches: strategic merge (Kubernetes merge keys, `$patch: delete|replace`) and JSON 6902,
//! from files or inline, chosen by `target` selectors or by the patch's own identity. Patched
//! values keep the patch's spans, so a finding on them points at the patch.

use regex::Regex;

use super::kustomize::{Build, Res};
use super::tree;
use crate::source::{SourceFile, Span};
use crate::yaml::{Node, Value};

/// Every patch field, in kustomize's order (a Flux Kustomization's `patches` and its
/// deprecated `patchesStrategicMerge` / `patchesJson6902`).
pub(crate) fn run(b: &mut Build, dir: &str, k: &Node, res: &mut Vec<Res>) {
    run_smp(b, dir, k, res);
    run_patches(b, dir, k, res);
    run_json6902(b, dir, k, res);
}

/// `patchesJson6902` (kustomize runs them after the labels and annotations).
pub(crate) fn run_json6902(b: &mut Build, dir: &str, k: &Node, res: &mut [Res]) {
    for item in k
        .get("patchesJson6902")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let Some(target) = item.get("target") else {
            b.error(
                "render/invalid",
                "a `patchesJson6902` entry needs a `target`",
                item.span,
            );
            continue;
        };
        let sel = Selector::parse(b, target);
        for doc in patch_docs(b, dir, item) {
            apply_json6902(b, &doc, sel.as_ref(), res);
        }
    }
}

/// `patchesStrategicMerge` (first of kustomize's built-in transformers).
pub(crate) fn run_smp(b: &mut Build, dir: &str, k: &Node, res: &mut Vec<Res>) {
    for item in k
        .get("patchesStrategicMerge")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        // Flux's `patchesStrategicMerge` entries are objects, not text.
        if item.as_map().is_some() {
            apply_smp(b, item, None, res);
            continue;
        }
        let Some(text) = item.as_str() else { continue };
        let docs = if text.contains('\n') || text.trim_start().starts_with("apiVersion") {
            inline_docs(b, item)
        } else {
            file_docs(b, dir, text, item.span)
        };
        for doc in docs {
            apply_smp(b, &doc, None, res);
        }
    }
}

/// `patches` (strategic merge or JSON 6902, chosen by the patch's shape).
pub(crate) fn run_patches(b: &mut Build, dir: &str, k: &Node, res: &mut Vec<Res>) {
    for item in k.get("patches").and_then(Node::as_seq).unwrap_or_default() {
        let sel = item.get("target").and_then(|t| Selector::parse(b, t));
        for doc in patch_docs(b, dir, item) {
            if doc.as_seq().is_some() {
                if sel.is_none() {
                    b.error(
                        "render/invalid",
                        "a JSON 6902 patch needs a `target`",
                        item.span,
                    );
                    continue;
                }
                apply_json6902(b, &doc, sel.as_ref(), res);
            } else {
                apply_smp(b, &doc, sel.as_ref(), res);
            }
        }
    }
}

/// The documents of an entry's `path` or inline `patch`.
fn patch_docs(b: &mut Build, dir: &str, item: &Node) -> Vec<Node> {
    if let Some(p) = item.get("path") {
        let Some(rel) = p.as_str() else {
            return Vec::new();
        };
        return file_docs(b, dir, rel, p.span);
    }
    if let Some(p) = item.get("patch") {
        // Flux's `patchesJson6902` give the operations as a list, not as text.
        if p.as_seq().is_some() || p.as_map().is_some() {
            return vec![p.clone()];
        }
        return inline_docs(b, p);
    }
    b.error(
        "render/invalid",
        "a patch needs `path` or `patch`",
        item.span,
    );
    Vec::new()
}

fn file_docs(b: &mut Build, dir: &str, rel: &str, span: Span) -> Vec<Node> {
    if super::kustomize::is_remote(rel) {
        b.unrendered = true;
        b.warning(
            "render/unsupported",
            format!("remote patch `{rel}`: kgate never uses the network, so it was not applied"),
            span,
        );
        return Vec::new();
    }
    let Some(path) = b.resolve(dir, rel, span) else {
        return Vec::new();
    };
    let Some(parsed) = b.read_docs(&path, span) else {
        return Vec::new();
    };
    b.out.consumed.insert(parsed.file.path.clone());
    parsed.docs.clone()
}

/// Parses a patch written inside the kustomization and moves its spans to where the text is
/// in the kustomization file (exact lines for block scalars `|`).
pub(crate) fn inline_docs(b: &mut Build, value: &Node) -> Vec<Node> {
    let Some(text) = value.as_str() else {
        b.error(
            "render/invalid",
            "an inline patch must be a string",
            value.span,
        );
        return Vec::new();
    };
    let Some(kfile) = b.r.files.get(value.span.file) else {
        return Vec::new();
    };
    let tmp = SourceFile::new(kfile.path.clone(), text.to_string());
    let stream = crate::yaml::parse_stream(&tmp, &b.r.opts.limits);
    for p in &stream.problems {
        let msg = match p {
            crate::yaml::YamlProblem::Syntax { message, .. } => message.clone(),
            crate::yaml::YamlProblem::DuplicateKey { key, .. } => format!("duplicate key `{key}`"),
            crate::yaml::YamlProblem::Limit { message, .. } => message.clone(),
        };
        b.error("render/invalid", format!("inline patch: {msg}"), value.span);
    }
    // A block scalar's span starts at its `|`/`>` header or at its first content line,
    // depending on the parser: accept both.
    let start = value.span.start.min(kfile.text.len());
    let header_here = kfile.text[start..].starts_with(['|', '>']);
    let before = kfile.text[..start].trim_end();
    let header_before = before
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .is_some_and(|w| {
            w.starts_with(['|', '>'])
                && w[1..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
        });
    let block = header_here || header_before;
    let first_line = if header_here {
        value.span.line as usize + 1
    } else {
        value.span.line as usize
    };
    let indent = kfile
        .text
        .split('\n')
        .skip(first_line - 1)
        .find(|l| !l.trim().is_empty())
        .map(|l| l.chars().count() - l.trim_start().chars().count())
        .unwrap_or(0);
    let whole = value.span;
    let map = move |s: Span| -> Span {
        if !block {
            return whole;
        }
        kfile.span(
            first_line + s.line as usize - 1,
            indent + s.col as usize - 1,
            first_line + s.end_line as usize - 1,
            indent + s.end_col as usize - 1,
        )
    };
    stream
        .documents
        .into_iter()
        .filter_map(|d| d.root)
        .map(|mut n| {
            tree::map_spans(&mut n, &map);
            n
        })
        .collect()
}

/// A patch `target`: every given field must match (names and namespaces are anchored regexes).
pub(crate) struct Selector {
    group: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<String>,
    annotations: Option<String>,
}

impl Selector {
    pub(crate) fn parse(b: &mut Build, node: &Node) -> Option<Selector> {
        let get = |f: &str| node.get(f).and_then(tree::scalar_text);
        let mut regex = |f: &str| -> Option<Regex> {
            let text = get(f)?;
            match Regex::new(&format!("^(?:{text})$")) {
                Ok(r) => Some(r),
                Err(e) => {
                    let span = node.get(f).map(|n| n.span).unwrap_or(node.span);
                    b.error(
                        "render/invalid",
                        format!("`{f}` is not a valid regular expression: {e}"),
                        span,
                    );
                    None
                }
            }
        };
        let name = regex("name");
        let namespace = regex("namespace");
        Some(Selector {
            group: get("group"),
            version: get("version"),
            kind: get("kind"),
            name,
            namespace,
            labels: get("labelSelector"),
            annotations: get("annotationSelector"),
        })
    }

    pub(crate) fn matches(&self, r: &Res) -> bool {
        let api = tree::api_version(&r.node);
        let (group, version) = match api.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api),
        };
        if self.group.as_deref().is_some_and(|g| g != group)
            || self.version.as_deref().is_some_and(|v| v != version)
            || self.kind.as_deref().is_some_and(|k| k != r.kind())
        {
            return false;
        }
        if let Some(re) = &self.name {
            if !re.is_match(r.name()) && !r.names.iter().any(|n| re.is_match(n)) {
                return false;
            }
        }
        if let Some(re) = &self.namespace {
            let ns = tree::namespace(&r.node);
            if !re.is_match(ns) && !r.namespaces.iter().any(|n| re.is_match(n)) {
                return false;
            }
        }
        let pairs = |field: &str| -> Vec<(String, String)> {
            r.node
                .get("metadata")
                .and_then(|m| m.get(field))
                .and_then(Node::as_map)
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (k.name.clone(), tree::scalar_text(v).unwrap_or_default()))
                .collect()
        };
        if let Some(sel) = &self.labels {
            if !selector_matches(sel, &pairs("labels")) {
                return false;
            }
        }
        if let Some(sel) = &self.annotations {
            if !selector_matches(sel, &pairs("annotations")) {
                return false;
            }
        }
        true
    }
}

/// A Kubernetes label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) against a label map.
pub(crate) fn selector_matches(selector: &str, labels: &[(String, String)]) -> bool {
    let get = |k: &str| labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&selector[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .all(|req| {
            let set = |rest: &str| -> Vec<String> {
                rest.trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect()
            };
            if let Some(k) = req.strip_prefix('!') {
                return get(k.trim()).is_none();
            }
            if let Some((k, v)) = req.split_once("!=") {
                return get(k.trim()) != Some(v.trim());
            }
            if let Some((k, v)) = req.split_once("==").or_else(|| req.split_once('=')) {
                return get(k.trim()) == Some(v.trim());
            }
            if let Some((k, rest)) = req.split_once(" notin ") {
                return get(k.trim()).is_none_or(|v| !set(rest).iter().any(|s| s == v));
            }
            if let Some((k, rest)) = req.split_once(" in ") {
                return get(k.trim()).is_some_and(|v| set(rest).iter().any(|s| s == v));
            }
            get(req).is_some()
        })
}

fn apply_smp(b: &mut Build, patch: &Node, sel: Option<&Selector>, res: &mut Vec<Res>) {
    if !matches!(patch.value, Value::Map(_)) {
        b.error(
            "render/invalid",
            "a strategic merge patch must be a mapping",
            patch.span,
        );
        return;
    }
    let delete = patch.get("$patch").and_then(Node::as_str) == Some("delete");
    let targets: Vec<usize> = match sel {
        Some(sel) => res
            .iter()
            .enumerate()
            .filter(|(_, r)| sel.matches(r))
            .map(|(i, _)| i)
            .collect(),
        None => {
            let kind = tree::kind(patch);
            let name = tree::name(patch);
            let ns = tree::namespace(patch);
            let found: Vec<usize> = res
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.kind() == kind
                        && r.answers_to(name)
                        && (ns.is_empty()
                            || tree::namespace(&r.node) == ns
                            || r.namespaces.iter().any(|n| n == ns))
                })
                .map(|(i, _)| i)
                .collect();
            if found.is_empty() && b.unrendered {
                b.note(
                    "render/incomplete",
                    format!("this patch matches no rendered resource ({kind} `{name}`); it may be meant for an object of a remote resource kgate did not fetch"),
                    patch.span,
                );
            } else if found.is_empty() {
                b.error(
                    "render/invalid",
                    format!("this patch matches no resource ({kind} `{name}`); kustomize fails the build"),
                    patch.span,
                );
            }
            found
        }
    };
    for &i in targets.iter().rev() {
        if delete {
            res.remove(i);
            continue;
        }
        let builtin = is_builtin(res[i].group());
        let mut p = patch.clone();
        // A patch identifies its targets; it does not rename them (the target may carry a
        // prefix or namespace the patch does not know about).
        if let Some(meta) = tree::get_mut(&mut p, "metadata") {
            tree::remove(meta, "name");
            tree::remove(meta, "namespace");
        }
        tree::remove(&mut p, "apiVersion");
        tree::remove(&mut p, "kind");
        merge(&mut res[i].node, &p, builtin);
    }
}

/// Kubernetes' own API groups: their lists have merge keys; custom resources' lists are replaced.
fn is_builtin(group: &str) -> bool {
    !group.contains('.') || group.ends_with(".k8s.io")
}

fn merge_key(field: &str, items: &[Node]) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "conditions" => "type",
        "readinessGates" => "conditionType",
        "ports" => {
            if items.iter().any(|i| i.get("containerPort").is_some()) {
                "containerPort"
            } else {
                "port"
            }
        }
        _ => return None,
    })
}

fn is_directive(key: &str) -> bool {
    key == "$patch"
        || key.starts_with("$setElementOrder/")
        || key == "$retainKeys"
        || key.starts_with("$deleteFromPrimitiveList/")
}

/// A patch value with its directives removed.
fn strip(node: &Node) -> Node {
    let mut n = node.clone();
    match &mut n.value {
        Value::Map(entries) => {
            entries.retain(|(k, _)| !is_directive(&k.name));
            for (_, v) in entries.iter_mut() {
                *v = strip(v);
            }
        }
        Value::Seq(items) => {
            items.retain(|i| i.get("$patch").is_none());
            for i in items.iter_mut() {
                *i = strip(i);
            }
        }
        _ => {}
    }
    n
}

fn merge(target: &mut Node, patch: &Node, builtin: bool) {
    let (Value::Map(_), Value::Map(pentries)) = (&target.value, &patch.value) else {
        *target = strip(patch);
        return;
    };
    if patch.get("$patch").and_then(Node::as_str) == Some("replace") {
        *target = strip(patch);
        return;
    }
    for (k, v) in pentries {
        if is_directive(&k.name) {
            continue;
        }
        if v.is_null() || v.get("$patch").and_then(Node::as_str) == Some("delete") {
            tree::remove(target, &k.name);
            continue;
        }
        match tree::get_mut(target, &k.name) {
            Some(t) => match (&mut t.value, &v.value) {
                (Value::Map(_), Value::Map(_)) => merge(t, v, builtin),
                (Value::Seq(_), Value::Seq(pitems)) => {
                    let key = if builtin {
                        merge_key(&k.name, pitems)
                    } else {
                        None
                    };
                    merge_list(t, pitems, key, builtin);
                }
                _ => *t = strip(v),
            },
            None => tree::set(target, &k.name, strip(v)),
        }
    }
}

fn merge_list(target: &mut Node, pitems: &[Node], key: Option<&str>, builtin: bool) {
    if pitems
        .iter()
        .any(|i| i.get("$patch").and_then(Node::as_str) == Some("replace"))
    {
        let kept: Vec<Node> = pitems
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .map(strip)
            .collect();
        target.value = Value::Seq(kept);
        return;
    }
    let Some(key) = key else {
        target.value = Value::Seq(pitems.iter().map(strip).collect());
        return;
    };
    let Value::Seq(items) = &mut target.value else {
        return;
    };
    let key_of = |n: &Node| n.get(key).map(|v| v.to_json());
    // kustomize's order: the patch's items in the patch's order (merged into the item they
    // name), then the items the patch does not mention in their original order. The order
    // matters for `$(VAR)` references between env entries.
    let mut taken = vec![false; items.len()];
    let mut out = Vec::with_capacity(items.len() + pitems.len());
    for p in pitems {
        let Some(kv) = key_of(p) else {
            out.push(strip(p));
            continue;
        };
        let same = |i: &Node| key_of(i).as_ref() == Some(&kv);
        if p.get("$patch").and_then(Node::as_str) == Some("delete") {
            for (i, item) in items.iter().enumerate() {
                taken[i] |= same(item);
            }
            out.retain(|o| !same(o));
            continue;
        }
        match (0..items.len()).find(|&i| !taken[i] && same(&items[i])) {
            Some(i) => {
                taken[i] = true;
                let mut merged = items[i].clone();
                merge(&mut merged, p, builtin);
                out.push(merged);
            }
            None => match out.iter_mut().find(|o| same(o)) {
                Some(o) => merge(o, p, builtin),
                None => out.push(strip(p)),
            },
        }
    }
    out.extend(
        std::mem::take(items)
            .into_iter()
            .zip(taken)
            .filter(|(_, t)| !t)
            .map(|(i, _)| i),
    );
    *items = out;
}

fn apply_json6902(b: &mut Build, ops: &Node, sel: Option<&Selector>, res: &mut [Res]) {
    let Some(ops_list) = ops.as_seq() else {
        b.error(
            "render/invalid",
            "a JSON 6902 patch must be a list of operations",
            ops.span,
        );
        return;
    };
    let Some(sel) = sel else { return };
    let cap = b.r.opts.max_object_nodes;
    for r in res.iter_mut().filter(|r| sel.matches(r)) {
        // `copy` doubles what it copies: the object's size is kept as a running total (what
        // each `add`/`copy` brings in) so repeated copies stop at the limit, not at the
        // machine's memory.
        let mut total = tree::size(&r.node, cap);
        for op in ops_list {
            let grows = match op.get("op").and_then(Node::as_str) {
                Some("add") => op.get("value").map_or(0, |v| tree::size(v, cap)),
                Some("copy") => {
                    let from = crate::yaml::split_pointer(
                        op.get("from").and_then(Node::as_str).unwrap_or(""),
                    );
                    at_mut(&mut r.node, &from).map_or(0, |v| tree::size(v, cap))
                }
                _ => 0,
            };
            total = total.saturating_add(grows);
            if total > cap {
                b.too_large(
                    &format!("this JSON patch (in {} `{}`)", r.kind(), r.name()),
                    op.span,
                );
                break;
            }
            if let Err((msg, span)) = json_op(&mut r.node, op) {
                let name = r.name().to_string();
                b.error(
                    "render/patch-failed",
                    format!("{msg} (in {} `{name}`)", tree::kind(&r.node)),
                    span,
                );
                break;
            }
        }
    }
}

fn at_mut<'n>(node: &'n mut Node, segs: &[String]) -> Option<&'n mut Node> {
    let mut cur = node;
    for s in segs {
        cur = match &mut cur.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.name == *s)
                .map(|(_, v)| v)?,
            Value::Seq(items) => items.get_mut(s.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn add(
    root: &mut Node,
    segs: &[String],
    value: Node,
    span: Span,
    path: &str,
) -> Result<(), (String, Span)> {
    let Some((last, parent)) = segs.split_last() else {
        *root = value;
        return Ok(());
    };
    let missing = || (format!("path `{path}` does not exist"), span);
    let p = at_mut(root, parent).ok_or_else(missing)?;
    match &mut p.value {
        Value::Map(_) => tree::set(p, last, value),
        Value::Seq(items) => {
            if last == "-" {
                items.push(value);
            } else {
                let i: usize = last.parse().map_err(|_| missing())?;
                if i > items.len() {
                    return Err(missing());
                }
                items.insert(i, value);
            }
        }
        _ => return Err(missing()),
    }
    Ok(())
}

fn take(root: &mut Node, segs: &[String], span: Span, path: &str) -> Result<Node, (String, Span)> {
    let missing = || (format!("path `{path}` does not exist"), span);
    let (last, parent) = segs.split_last().ok_or_else(missing)?;
    let p = at_mut(root, parent).ok_or_else(missing)?;
    match &mut p.value {
        Value::Map(_) => tree::remove(p, last).ok_or_else(missing),
        Value::Seq(items) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i >= items.len() {
                return Err(missing());
            }
            Ok(items.remove(i))
        }
        _ => Err(missing()),
    }
}

fn json_op(target: &mut Node, op: &Node) -> Result<(), (String, Span)> {
    let kind = op.get("op").and_then(Node::as_str).unwrap_or("");
    let path_node = op.get("path");
    let path = path_node.and_then(Node::as_str).unwrap_or("");
    let span = path_node.map(|n| n.span).unwrap_or(op.span);
    let segs = crate::yaml::split_pointer(path);
    let value = || {
        op.get("value")
            .cloned()
            .ok_or_else(|| (format!("`{kind}` needs a `value`"), op.span))
    };
    let from = || -> Vec<String> {
        crate::yaml::split_pointer(op.get("from").and_then(Node::as_str).unwrap_or(""))
    };
    match kind {
        "add" => add(target, &segs, value()?, span, path),
        "remove" => take(target, &segs, span, path).map(|_| ()),
        "replace" => {
            let v = value()?;
            let t = at_mut(target, &segs)
                .ok_or_else(|| (format!("path `{path}` does not exist"), span))?;
            *t = v;
            Ok(())
        }
        "move" => {
            let v = take(target, &from(), span, path)?;
            add(target, &segs, v, span, path)
        }
        "copy" => {
            let v = at_mut(target, &from())
                .cloned()
                .ok_or_else(|| ("`from` does not exist".to_string(), op.span))?;
            add(target, &segs, v, span, path)
        }
        "test" => {
            let v = value()?;
            let t = at_mut(target, &segs)
                .ok_or_else(|| (format!("path `{path}` does not exist"), span))?;
            if t.to_json() == v.to_json() {
                Ok(())
            } else {
                Err((
                    format!("test failed: `{path}` is not {}", v.to_json()),
                    op.span,
                ))
            }
        }
        other => Err((format!("unknown JSON patch operation `{other}`"), op.span)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors() {
        let l = vec![
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "fe".to_string()),
        ];
        assert!(selector_matches("app=web", &l));
        assert!(selector_matches("app==web,tier", &l));
        assert!(!selector_matches("app!=web", &l));
        assert!(selector_matches("tier in (fe, be),!missing", &l));
        assert!(!selector_matches("tier notin (fe)", &l));
    }
}
