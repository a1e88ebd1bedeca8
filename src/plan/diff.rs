//! Field-level differences between two versions of one object: each changed leaf with its path,
//! old and new value. Maps are compared by key (key order never matters), keyed lists by their
//! merge key, other lists by index. Secret values are replaced before anything leaves here.

use serde::Serialize;
use serde_json::Value;

use super::merge_keys::merge_key;
use crate::redact::{name_looks_secret, value_looks_secret, REDACTED};

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
    secret_kind: bool,
    out: Vec<FieldChange>,
}

/// The changed fields between `before` and `after`, in document order of `after` (fields only
/// in `before` follow the fields of their map).
pub fn diff_objects(group: &str, kind: &str, before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut ctx = Ctx {
        group,
        kind,
        secret_kind: group.is_empty() && kind == "Secret",
        out: Vec::new(),
    };
    let mut path = Vec::new();
    diff(&mut ctx, &mut path, Some(before), Some(after), None);
    ctx.out
}

fn diff(
    ctx: &mut Ctx<'_>,
    path: &mut Vec<Seg>,
    before: Option<&Value>,
    after: Option<&Value>,
    env_name: Option<&str>,
) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let item_name = b.get("name").and_then(Value::as_str).or(env_name);
            for (k, bv) in b {
                path.push(Seg::Key(k.clone()));
                diff(ctx, path, a.get(k), Some(bv), item_name);
                path.pop();
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    path.push(Seg::Key(k.clone()));
                    diff(ctx, path, Some(av), None, item_name);
                    path.pop();
                }
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a != b => diff_lists(ctx, path, a, b),
        (a, b) if a == b => {}
        (a, b) => push(ctx, path, a, b, env_name),
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
            None,
        );
    }
    if let Some(key) = list_key(ctx, path, a, b) {
        let id = |v: &Value| key_text(&v[key]);
        for item in b {
            let k = id(item);
            let old = a.iter().find(|x| id(x) == k);
            path.push(Seg::Item(key, k));
            diff(ctx, path, old, Some(item), None);
            path.pop();
        }
        for item in a {
            let k = id(item);
            if !b.iter().any(|x| id(x) == k) {
                path.push(Seg::Item(key, k));
                diff(ctx, path, Some(item), None, None);
                path.pop();
            }
        }
        return;
    }
    for i in 0..a.len().max(b.len()) {
        path.push(Seg::Index(i));
        diff(ctx, path, a.get(i), b.get(i), None);
        path.pop();
    }
}

/// The key the list's items are matched by, if every item of both sides has it, uniquely.
fn list_key(ctx: &Ctx<'_>, path: &[Seg], a: &[Value], b: &[Value]) -> Option<&'static str> {
    let field = match path.last() {
        Some(Seg::Key(k)) => k.as_str(),
        _ => return None,
    };
    // The nearest enclosing list field: the key right before the last item segment.
    let enclosing = path
        .iter()
        .enumerate()
        .rev()
        .skip(1)
        .find_map(|(i, s)| match s {
            Seg::Item(..) | Seg::Index(_) => match path.get(i.wrapping_sub(1)) {
                Some(Seg::Key(k)) if i > 0 => Some(k.as_str()),
                _ => None,
            },
            _ => None,
        });
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
    if let Some(key) = merge_key(ctx.group, ctx.kind, enclosing, field) {
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

fn push(
    ctx: &mut Ctx<'_>,
    path: &[Seg],
    before: Option<&Value>,
    after: Option<&Value>,
    env_name: Option<&str>,
) {
    let last_key = path.iter().rev().find_map(|s| match s {
        Seg::Key(k) => Some(k.as_str()),
        _ => None,
    });
    let in_secret_data = ctx.secret_kind
        && matches!(path.first(), Some(Seg::Key(k)) if k == "data" || k == "stringData");
    // `env: [{name: DB_PASSWORD, value: …}]`: the secret name is the item's, not the field's.
    let by_name = last_key.is_some_and(name_looks_secret)
        || (last_key == Some("value") && env_name.is_some_and(name_looks_secret));
    let leaf_secret = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(value_looks_secret);
    let whole = in_secret_data
        || (by_name && (is_str(before) || is_str(after)))
        || leaf_secret(before)
        || leaf_secret(after);
    let mut redacted = false;
    let mut show = |v: Option<&Value>| -> Value {
        match v {
            None => Value::Null,
            Some(_) if whole => {
                redacted = true;
                Value::String(REDACTED.into())
            }
            Some(v) => {
                let mut v = v.clone();
                if redact_nested(&mut v, last_key, in_secret_data) {
                    redacted = true;
                }
                v
            }
        }
    };
    let b = show(before);
    let a = show(after);
    ctx.out.push(FieldChange {
        path: render_path(path),
        before: b,
        after: a,
        redacted,
    });
}

fn is_str(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::String(_)))
}

/// Replaces secret strings inside a value shown whole (an added list item, a new map); true if
/// anything was replaced.
pub fn redact_nested(v: &mut Value, key: Option<&str>, all: bool) -> bool {
    match v {
        Value::String(s) => {
            let by_name =
                key.is_some_and(name_looks_secret) && s.len() >= 4 && !s.starts_with("${");
            if all || by_name || value_looks_secret(s) {
                *s = REDACTED.to_string();
                return true;
            }
            false
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |acc, i| redact_nested(i, None, all) | acc),
        Value::Object(map) => {
            let env_name = map.get("name").and_then(Value::as_str).map(str::to_string);
            let mut any = false;
            for (k, val) in map.iter_mut() {
                let effective = if k == "value" {
                    env_name.as_deref().or(Some("value"))
                } else {
                    Some(k.as_str())
                };
                any |= redact_nested(val, effective, all);
            }
            any
        }
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
