//! Field-level differences between two versions of one object: each changed leaf with its path,
//! old and new value. Maps are compared by key (key order never matters), keyed lists by their
//! merge key, other lists by index. Secret values are replaced before anything leaves here.

use serde::Serialize;
use serde_json::Value;

use super::merge_keys::merge_key;
use crate::redact::REDACTED;

/// One changed field. `before`/`after` are `null` when the field is absent on that side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    pub before: Value,
    pub after: Value,
    /// The values were secret and are shown as `[REDACTED]`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    /// A list item found by its merge key: `[name=app]`.
    Item(&'static str, String),
    Index(usize),
}

struct Ctx<'a> {
    group: &'a str,
    kind: &'a str,
    out: Vec<FieldChange>,
}

/// The changed fields between `before` and `after`, in document order of `after` (fields only
/// in `before` follow the fields of their map).
///
/// Secret values (as [`crate::secrets::classify`] decides, on each side) are replaced by
/// markers that keep them comparable — a changed password is still a change — and every
/// marker becomes `[REDACTED]` before a change leaves here.
pub fn diff_objects(group: &str, kind: &str, before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut ctx = Ctx {
        group,
        kind,
        out: Vec::new(),
    };
    let before = marked(group, kind, before);
    let after = marked(group, kind, after);
    let mut path = Vec::new();
    diff(&mut ctx, &mut path, Some(&before), Some(&after));
    for change in &mut ctx.out {
        let b = unmark(&mut change.before);
        let a = unmark(&mut change.after);
        change.redacted |= a | b;
    }
    ctx.out
}

/// Opens and closes a marker: characters that YAML and JSON objects do not hold by chance.
const MARK: char = '\u{1}';

/// `v` with each secret value (or secret part of a text) replaced by a marker holding a hash
/// of it: equal secrets compare equal, changed ones differ, and none is in the copy.
fn marked(group: &str, kind: &str, v: &Value) -> Value {
    use std::hash::{Hash, Hasher};
    // The classifier reads the kind from the object; the plan knows it even for a fragment.
    let mut typed = v.clone();
    if let Value::Object(map) = &mut typed {
        map.entry("kind")
            .or_insert_with(|| Value::String(kind.to_string()));
        if group.is_empty() {
            map.entry("apiVersion")
                .or_insert_with(|| Value::String("v1".to_string()));
        }
    }
    let verdict = crate::secrets::classify(&typed);
    if verdict.is_empty() {
        return v.clone();
    }
    let mark = |text: &str| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        format!("{MARK}{:016x}{MARK}", h.finish())
    };
    let mut out = v.clone();
    for f in &verdict.fields {
        let Some(field) = out.pointer_mut(&f.pointer) else {
            continue;
        };
        if f.whole {
            *field = Value::String(mark(&field.to_string()));
        } else if let Value::String(s) = field {
            let mut parts: Vec<&String> = f.texts.iter().collect();
            parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
            for p in parts {
                *s = s.replace(p.as_str(), &mark(p));
            }
        }
    }
    out
}

/// Replaces every marker in `v` by `[REDACTED]`; true if there was one.
fn unmark(v: &mut Value) -> bool {
    match v {
        Value::String(s) if s.contains(MARK) => {
            let mut out = String::new();
            let mut inside = false;
            for piece in s.split(MARK) {
                if inside {
                    out.push_str(REDACTED);
                } else {
                    out.push_str(piece);
                }
                inside = !inside;
            }
            *s = out;
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |acc, i| unmark(i) | acc),
        Value::Object(map) => map.values_mut().fold(false, |acc, i| unmark(i) | acc),
        _ => false,
    }
}

fn diff(ctx: &mut Ctx<'_>, path: &mut Vec<Seg>, before: Option<&Value>, after: Option<&Value>) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (k, bv) in b {
                path.push(Seg::Key(k.clone()));
                diff(ctx, path, a.get(k), Some(bv));
                path.pop();
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    path.push(Seg::Key(k.clone()));
                    diff(ctx, path, Some(av), None);
                    path.pop();
                }
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a != b => diff_lists(ctx, path, a, b),
        (a, b) if a == b => {}
        (a, b) => push(ctx, path, a, b),
    }
}

fn diff_lists(ctx: &mut Ctx<'_>, path: &mut Vec<Seg>, a: &[Value], b: &[Value]) {
    let scalars = a.iter().chain(b).all(|v| !v.is_object() && !v.is_array());
    if scalars {
        // `args`, `command`, finalizers: the list reads best as one value.
        return push(
            ctx,
            path,
            Some(&Value::Array(a.to_vec())),
            Some(&Value::Array(b.to_vec())),
        );
    }
    if let Some(key) = list_key(ctx, path, a, b) {
        let id = |v: &Value| key_text(&v[key]);
        for item in b {
            let k = id(item);
            let old = a.iter().find(|x| id(x) == k);
            path.push(Seg::Item(key, k));
            diff(ctx, path, old, Some(item));
            path.pop();
        }
        for item in a {
            let k = id(item);
            if !b.iter().any(|x| id(x) == k) {
                path.push(Seg::Item(key, k));
                diff(ctx, path, Some(item), None);
                path.pop();
            }
        }
        return;
    }
    for i in 0..a.len().max(b.len()) {
        path.push(Seg::Index(i));
        diff(ctx, path, a.get(i), b.get(i));
        path.pop();
    }
}

/// The key the list's items are matched by, if every item of both sides has it, uniquely.
fn list_key(ctx: &Ctx<'_>, path: &[Seg], a: &[Value], b: &[Value]) -> Option<&'static str> {
    if !matches!(path.last(), Some(Seg::Key(_))) {
        return None;
    }
    // The field names from the root, list items left out: the merge key table's path.
    let fields: Vec<&str> = path
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            _ => None,
        })
        .collect();
    let usable = |key: &str| {
        [a, b].iter().all(|list| {
            let mut seen = std::collections::BTreeSet::new();
            list.iter().all(|v| match v.get(key) {
                Some(k) if !k.is_null() && !k.is_object() && !k.is_array() => {
                    seen.insert(key_text(k))
                }
                _ => false,
            })
        })
    };
    if let Some(key) = merge_key(ctx.group, ctx.kind, &fields) {
        if usable(key) {
            return Some(key);
        }
    }
    usable("name").then_some("name")
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn push(ctx: &mut Ctx<'_>, path: &[Seg], before: Option<&Value>, after: Option<&Value>) {
    let show = |v: Option<&Value>| v.cloned().unwrap_or(Value::Null);
    ctx.out.push(FieldChange {
        path: render_path(path),
        before: show(before),
        after: show(after),
        redacted: false,
    });
}

/// `spec.template.spec.containers[name=app].image`; keys that are not plain words are quoted:
/// `metadata.annotations["example.com/team"]`.
fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k)
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Key(k) => {
                out.push('[');
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(']');
            }
            Seg::Item(key, v) => {
                out.push_str(&format!("[{key}={v}]"));
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The JSON pointer of a plan field path (`spec.template.spec.containers[name=app].image`,
/// `metadata.annotations["example.com/team"]`, `spec.ports[0]`) in `json`: the inverse of
/// [`render_path`]; None when the path does not parse or a field is not there.
pub fn pointer_of(json: &Value, path: &str) -> Option<String> {
    match walk_path(json, path)? {
        (pointer, true) => Some(pointer),
        (_, false) => None,
    }
}

/// [`pointer_of`], or the pointer of the nearest field on the way that exists (a removed
/// field's parent); None when the path does not parse.
pub fn nearest_pointer(json: &Value, path: &str) -> Option<String> {
    walk_path(json, path).map(|(pointer, _)| pointer)
}

/// The pointer of `path` in `json` as far as it exists, and whether it exists whole.
fn walk_path(json: &Value, path: &str) -> Option<(String, bool)> {
    let mut pointer = String::new();
    let mut node = json;
    let mut rest = path.trim();
    let esc = crate::yaml::escape_pointer_segment;
    enum Step {
        Key(String),
        Index(usize),
        Item(String, String),
    }
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(inner) = rest.strip_prefix('[') {
            let (key, after) = if inner.starts_with('"') {
                // A quoted key: a JSON string up to its closing quote.
                let mut de = serde_json::Deserializer::from_str(inner).into_iter::<String>();
                let key = de.next()?.ok()?;
                let used = de.byte_offset();
                (Step::Key(key), inner[used..].strip_prefix(']')?)
            } else {
                let end = inner.find(']')?;
                let body = &inner[..end];
                let seg = match body.split_once('=') {
                    Some((k, v)) => Step::Item(k.to_string(), v.to_string()),
                    None => Step::Index(body.parse().ok()?),
                };
                (seg, &inner[end + 1..])
            };
            let found = match key {
                Step::Key(k) => node.get(&k).map(|n| (n, esc(&k))),
                Step::Index(i) => node.get(i).map(|n| (n, i.to_string())),
                Step::Item(k, v) => node.as_array().and_then(|items| {
                    items
                        .iter()
                        .position(|item| match &item[k.as_str()] {
                            Value::String(s) => *s == v,
                            Value::Null => false,
                            // A number or boolean key, as written in the path.
                            other => serde_json::from_str::<Value>(&v).is_ok_and(|p| p == *other),
                        })
                        .map(|i| (&items[i], i.to_string()))
                }),
            };
            let Some((next, seg)) = found else {
                return Some((pointer, false));
            };
            node = next;
            pointer.push_str(&format!("/{seg}"));
            rest = after;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let k = &rest[..end];
            if k.is_empty() {
                return None;
            }
            let Some(next) = node.get(k) else {
                return Some((pointer, false));
            };
            node = next;
            pointer.push_str(&format!("/{}", esc(k)));
            rest = &rest[end..];
        }
    }
    Some((pointer, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plan_paths_become_pointers() {
        let v = json!({"metadata": {"annotations": {"example.com/team": "a"}},
            "spec": {"ports": [{"port": 80}, {"port": 443}],
                     "template": {"spec": {"containers": [{"name": "x"}, {"name": "app", "image": "i"}]}}}});
        assert_eq!(
            pointer_of(&v, "spec.template.spec.containers[name=app].image").as_deref(),
            Some("/spec/template/spec/containers/1/image")
        );
        assert_eq!(
            pointer_of(&v, "metadata.annotations[\"example.com/team\"]").as_deref(),
            Some("/metadata/annotations/example.com~1team")
        );
        assert_eq!(
            pointer_of(&v, "spec.ports[port=443]").as_deref(),
            Some("/spec/ports/1")
        );
        assert_eq!(
            pointer_of(&v, "spec.ports[0].port").as_deref(),
            Some("/spec/ports/0/port")
        );
        assert_eq!(pointer_of(&v, "spec.missing"), None);
        assert_eq!(
            nearest_pointer(
                &v,
                "spec.template.spec.containers[name=app].resources.limits"
            )
            .as_deref(),
            Some("/spec/template/spec/containers/1")
        );
    }

    #[test]
    fn keyed_lists_and_reordered_keys() {
        let a = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "image": "s:1"},
            {"image": "web:1", "name": "app", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
        ]}}}});
        let b = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "web:2", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "0"}]},
            {"image": "s:1", "name": "sidecar"}
        ]}}}});
        let d = diff_objects("apps", "Deployment", &a, &b);
        let paths: Vec<&str> = d.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.template.spec.containers[name=app].image",
                "spec.template.spec.containers[name=app].env[name=A].value"
            ]
        );
        assert_eq!(d[0].before, json!("web:1"));
        assert_eq!(d[0].after, json!("web:2"));
    }

    #[test]
    fn container_ports_by_container_port_and_atomic_lists_by_index() {
        let a = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}],
            "tolerations": [{"key": "x", "effect": "NoSchedule"}]}});
        let b = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "web"}]}],
            "tolerations": [{"key": "y", "effect": "NoSchedule"}]}});
        let d = diff_objects("", "Pod", &a, &b);
        assert_eq!(
            d[0].path,
            "spec.containers[name=a].ports[containerPort=80].name"
        );
        assert_eq!(d[1].path, "spec.tolerations[0].key");
    }

    #[test]
    fn merge_keys_follow_the_generated_table_and_embedded_pod_templates() {
        // `resources.claims` is keyed by name in the API (a key the hand table never had).
        let a = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "resources": {"claims": [
            {"name": "gpu", "request": "r1"}, {"name": "fpga", "request": "r2"}]}}]}}}});
        let b = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "resources": {"claims": [
            {"name": "fpga", "request": "r2"}, {"name": "gpu", "request": "r3"}]}}]}}}});
        let d = diff_objects("apps", "Deployment", &a, &b);
        assert_eq!(
            d[0].path,
            "spec.template.spec.containers[name=a].resources.claims[name=gpu].request"
        );
        // A custom kind embedding a pod template: container ports keyed by containerPort.
        let a = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "name": "http"}, {"containerPort": 90, "name": "m"}]}]}}}});
        let b = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [
            {"containerPort": 90, "name": "m"}, {"containerPort": 80, "name": "web"}]}]}}}});
        let d = diff_objects("argoproj.io", "Rollout", &a, &b);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            d[0].path,
            "spec.template.spec.containers[name=a].ports[containerPort=80].name"
        );
    }

    #[test]
    fn secrets_are_never_shown() {
        let a = json!({"data": {"password": "aHVudGVyMg=="}, "stringData": {"x": "old"}});
        let b = json!({"data": {"password": "c2VjcmV0Mg=="}, "stringData": {"x": "new"}});
        let d = diff_objects("", "Secret", &a, &b);
        assert_eq!(d.len(), 2);
        assert!(d
            .iter()
            .all(|f| f.redacted && f.before == json!(REDACTED) && f.after == json!(REDACTED)));
        let a = json!({"env": [{"name": "DB_PASSWORD", "value": "hunter22"}]});
        let b = json!({"env": [{"name": "DB_PASSWORD", "value": "hunter23"}, {"name": "API_TOKEN", "value": "abcdefgh"}]});
        let d = diff_objects("", "ConfigMap", &a, &b);
        let text = serde_json::to_string(&d).unwrap();
        assert!(
            !text.contains("hunter") && !text.contains("abcdefgh"),
            "{text}"
        );
        assert_eq!(d[0].path, "env[name=DB_PASSWORD].value");
        assert_eq!(d[1].path, "env[name=API_TOKEN]");
    }

    #[test]
    fn odd_keys_are_quoted() {
        let a = json!({"metadata": {"annotations": {"example.com/team": "a"}}});
        let b = json!({"metadata": {"annotations": {"example.com/team": "b"}}});
        assert_eq!(
            diff_objects("", "ConfigMap", &a, &b)[0].path,
            "metadata.annotations[\"example.com/team\"]"
        );
    }
}
