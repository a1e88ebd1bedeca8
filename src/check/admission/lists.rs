//! `admission/duplicate-key` for custom resources: the list topology a CRD's structural schema
//! declares (`x-kubernetes-list-type: map` with `x-kubernetes-list-map-keys`, and `set`), which
//! the API server enforces on every write (apiextensions-apiserver `pkg/apiserver/schema/listtype`:
//! "Duplicate value"). Built-in kinds' list rules are enforced in code, not from the schema:
//! see [`super::pods`] and [`super::objects`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::Ctx;
use crate::diagnostic::Severity;
use crate::schema::registry::Compiled;
use crate::yaml::escape_pointer_segment;

const CODE: &str = "admission/duplicate-key";

/// Nesting beyond which a walk stops (schemas are finite, objects are bounded by the loader).
const MAX_DEPTH: usize = 128;

pub fn check(cx: &mut Ctx, compiled: Option<&Compiled>) {
    let Some(compiled) = compiled else { return };
    if crate::schema::removed::BUILTIN_GROUPS.contains(&cx.m.group()) {
        return;
    }
    let json = cx.m.json.clone();
    walk(cx, super::rule_schema(compiled), &json, String::new(), 0);
}

fn walk(cx: &mut Ctx, schema: &Value, value: &Value, ptr: String, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map {
                let sub = props.and_then(|p| p.get(k)).or(additional);
                if let Some(sub) = sub {
                    walk(
                        cx,
                        sub,
                        v,
                        format!("{ptr}/{}", escape_pointer_segment(k)),
                        depth + 1,
                    );
                }
            }
        }
        Value::Array(items) => {
            match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("map") => map_list(cx, schema, items, &ptr),
                Some("set") => set_list(cx, items, &ptr),
                _ => {}
            }
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                for (i, item) in items.iter().enumerate() {
                    walk(cx, item_schema, item, format!("{ptr}/{i}"), depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn map_list(cx: &mut Ctx, schema: &Value, items: &[Value], ptr: &str) {
    let keys: Vec<&str> = schema
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if keys.is_empty() {
        return;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        // An item lacking a key field is defaulted by the API server (or refused as
        // required): kgate does not guess which.
        let Some(values) = keys
            .iter()
            .map(|k| item.get(*k).filter(|v| !v.is_null()))
            .collect::<Option<Vec<&Value>>>()
        else {
            continue;
        };
        let id = serde_json::to_string(&values).unwrap_or_default();
        if let Some(first) = seen.get(&id) {
            let shown: Vec<String> = keys
                .iter()
                .zip(&values)
                .map(|(k, v)| format!("{k}={}", show(v)))
                .collect();
            cx.at(
                CODE,
                Severity::Error,
                format!(
                    "duplicate entry {} in a list keyed by {} (also item {first})",
                    shown.join(", "),
                    keys.join(", ")
                ),
                &format!("{ptr}/{i}/{}", escape_pointer_segment(keys[0])),
            );
        } else {
            seen.insert(id, i);
        }
    }
}

fn set_list(cx: &mut Ctx, items: &[Value], ptr: &str) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let id = serde_json::to_string(item).unwrap_or_default();
        if let Some(first) = seen.get(&id) {
            cx.at(
                CODE,
                Severity::Error,
                format!(
                    "duplicate value {} in a list of unique values (x-kubernetes-list-type: set; also item {first})",
                    show(item)
                ),
                &format!("{ptr}/{i}"),
            );
        } else {
            seen.insert(id, i);
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) if s.len() <= 60 => format!("\"{s}\""),
        Value::String(_) => "a long string".into(),
        Value::Object(_) | Value::Array(_) => "an object".into(),
        other => other.to_string(),
    }
}
