//! Turns schemars' output for one kind into a strict, self-contained validation schema.
//!
//! The walk is structural: it descends only through keywords whose values are schemas
//! (`properties`, `items`, `oneOf`, ...), so data that merely looks like a keyword (the CRD
//! type `JSONSchemaProps` has fields named `properties`, `description`, `$ref`, ...) is never
//! mistaken for one. What it does:
//! - drops `description`, `title`, `examples`, `example`, `$comment`;
//! - `format: int32` integers get `minimum`/`maximum`;
//! - the CRD unions `JSONSchemaPropsOr{Array,Bool,StringArray}` dispatch with `if`/`then`/`else`
//!   on the JSON type instead of `oneOf`, so errors inside nested CRD schemas keep their place;
//! - `additionalProperties: false` on every object schema with `properties`, unless it already
//!   has `additionalProperties` or carries `x-kubernetes-preserve-unknown-fields`;
//! - `IntOrString` = integer | string; `Quantity` = number | string in the quantity grammar;
//!   `JSON` (CRD defaults, enums, examples) = any value; `format: byte` strings get a base64
//!   pattern (Go's decoder also skips `\r`/`\n`);
//! - optional properties accept `null`: every `$defs` entry is made nullable and each reference
//!   from a position where null is not allowed (required property, array item, map value,
//!   `oneOf` member) gets `"not": {"type": "null"}`; inline optional schemas get `"null"` added
//!   to their `type`;
//! - top level: `apiVersion` and `kind` are required strings, `metadata` is not required
//!   (kgate reports a missing name itself);
//! - only the `$defs` reachable from the root are kept.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

/// Kubernetes quantity grammar (apimachinery `resource.ParseQuantity`, after the `TrimSpace`
/// done by `UnmarshalJSON`): signed decimal number, then a binary SI suffix, a decimal SI suffix
/// or an integer decimal exponent.
pub const QUANTITY_PATTERN: &str =
    r"^\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?\s*$";

/// Standard, padded base64 (what Go's encoding/json requires for []byte); `\r` and `\n` may
/// appear anywhere, as Go's decoder ignores them.
pub const BASE64_PATTERN: &str = r"^(?:[\r\n]*[A-Za-z0-9+/][\r\n]*[A-Za-z0-9+/][\r\n]*[A-Za-z0-9+/][\r\n]*[A-Za-z0-9+/])*[\r\n]*(?:[A-Za-z0-9+/][\r\n]*[A-Za-z0-9+/][\r\n]*=[\r\n]*=|[A-Za-z0-9+/][\r\n]*[A-Za-z0-9+/][\r\n]*[A-Za-z0-9+/][\r\n]*=)?[\r\n]*$";

const DEFS_PREFIX: &str = "#/$defs/";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const JSON_VALUE: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON";
const JSP: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";
const JSP_OR_ARRAY: &str =
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray";
const JSP_OR_BOOL: &str =
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool";
const JSP_OR_STRING_ARRAY: &str =
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray";

/// Keywords whose value is one schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "additionalProperties",
    "items",
    "additionalItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
];
/// Keywords whose value is an array of schemas.
const SCHEMA_ARRAY_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is a map of name -> schema (besides `properties`, handled apart).
const SCHEMA_MAP_KEYWORDS: &[&str] = &["patternProperties", "dependentSchemas"];
/// Annotations dropped to keep the bundle small.
const DROPPED: &[&str] = &["description", "title", "examples", "example", "$comment"];

/// Post-processes the schemars root schema of one kind.
pub fn process(mut root: Value) -> Value {
    let root_obj = root.as_object_mut().expect("root schema is an object");
    let mut defs: Map<String, Value> = match root_obj.remove("$defs") {
        Some(Value::Object(m)) => m,
        None => Map::new(),
        Some(other) => panic!("unexpected $defs: {other}"),
    };

    // Types whose generated schema is wrong or too loose for validation.
    if defs.contains_key(INT_OR_STRING) {
        defs.insert(
            INT_OR_STRING.into(),
            json!({"type": ["integer", "string"], "x-kubernetes-int-or-string": true}),
        );
    }
    if defs.contains_key(QUANTITY) {
        defs.insert(
            QUANTITY.into(),
            json!({"type": ["number", "string"], "pattern": QUANTITY_PATTERN}),
        );
    }
    if defs.contains_key(JSON_VALUE) {
        defs.insert(JSON_VALUE.into(), json!({}));
    }

    // Top level: apiVersion/kind required strings, metadata optional.
    let mut required: Vec<Value> = vec![json!("apiVersion"), json!("kind")];
    if let Some(Value::Array(old)) = root_obj.get("required") {
        for r in old {
            if r != "metadata" && !required.contains(r) {
                required.push(r.clone());
            }
        }
    }
    root_obj.insert("required".into(), Value::Array(required));

    // Every def accepts null; references from non-null positions then exclude it again.
    let mut nullable_defs = BTreeSet::new();
    for (name, def) in defs.iter_mut() {
        if !accepts_null(def) {
            make_nullable(def);
            nullable_defs.insert(name.clone());
        }
    }
    let ctx = Ctx {
        nullable_defs: &nullable_defs,
    };
    walk(&mut root, false, &ctx);
    for def in defs.values_mut() {
        walk(def, false, &ctx);
    }

    // The CRD schema unions (`items`, `additionalProperties`, `dependencies` of a CRD schema):
    // schemars emits `oneOf`, whose failure hides *where* a nested CRD schema is wrong. Dispatch
    // on the JSON type instead, so errors inside a nested JSONSchemaProps keep their location.
    // Written in final form (after the walk): null falls through to the nullable JSONSchemaProps.
    let jsp_ref = format!("{DEFS_PREFIX}{JSP}");
    let unions = [
        (
            JSP_OR_ARRAY,
            json!({"if": {"type": "array"},
                   "then": {"items": {"$ref": jsp_ref, "not": {"type": "null"}}},
                   "else": {"$ref": jsp_ref}}),
        ),
        (
            JSP_OR_BOOL,
            json!({"if": {"type": "boolean"}, "then": true, "else": {"$ref": jsp_ref}}),
        ),
        (
            JSP_OR_STRING_ARRAY,
            json!({"if": {"type": "array"},
                   "then": {"items": {"type": "string"}},
                   "else": {"$ref": jsp_ref}}),
        ),
    ];
    for (name, schema) in unions {
        if let Some(def) = defs.get_mut(name) {
            *def = schema;
        }
    }

    // Keep only the defs reachable from the root.
    let mut reachable = BTreeSet::new();
    let mut queue = Vec::new();
    collect_refs(&root, &mut queue);
    while let Some(name) = queue.pop() {
        if reachable.insert(name.clone()) {
            let def = defs
                .get(&name)
                .unwrap_or_else(|| panic!("dangling $ref to {name}"));
            collect_refs(def, &mut queue);
        }
    }
    let kept: BTreeMap<String, Value> = defs
        .into_iter()
        .filter(|(name, _)| reachable.contains(name))
        .collect();
    if !kept.is_empty() {
        root.as_object_mut()
            .unwrap()
            .insert("$defs".into(), Value::Object(kept.into_iter().collect()));
    }
    root
}

struct Ctx<'a> {
    nullable_defs: &'a BTreeSet<String>,
}

/// Does this (def) schema accept `null` as generated?
fn accepts_null(schema: &Value) -> bool {
    match schema {
        Value::Bool(b) => *b,
        Value::Object(o) => match o.get("type") {
            Some(Value::String(t)) => t == "null",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
            Some(_) => false,
            None => ![
                "$ref", "oneOf", "anyOf", "allOf", "enum", "const", "not", "pattern",
            ]
            .iter()
            .any(|k| o.contains_key(*k)),
        },
        _ => false,
    }
}

/// Makes a schema also accept `null`, keeping its other constraints for non-null values.
fn make_nullable(schema: &mut Value) {
    if accepts_null(schema) {
        return;
    }
    let Value::Object(o) = schema else { return };
    let null_type = match o.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            o.insert("type".into(), json!([t, "null"]));
            true
        }
        Some(Value::Array(ts)) => {
            ts.push(json!("null"));
            true
        }
        _ => false,
    };
    if null_type {
        if let Some(Value::Array(e)) = o.get_mut("enum") {
            e.push(Value::Null);
        }
        return;
    }
    for k in ["oneOf", "anyOf"] {
        if let Some(Value::Array(alts)) = o.get_mut(k) {
            alts.push(json!({"type": "null"}));
            return;
        }
    }
    let inner = std::mem::take(o);
    *schema = json!({"anyOf": [Value::Object(inner), {"type": "null"}]});
}

/// Structural walk. `nullable` tells whether this position (an optional property's value)
/// must accept `null`.
fn walk(schema: &mut Value, nullable: bool, ctx: &Ctx<'_>) {
    let Value::Object(o) = schema else { return };
    for k in DROPPED {
        o.remove(*k);
    }

    if o.get("format").and_then(Value::as_str) == Some("byte")
        && o.get("type").and_then(Value::as_str) == Some("string")
        && !o.contains_key("pattern")
    {
        o.insert("pattern".into(), json!(BASE64_PATTERN));
    }
    // Go's int32 fields reject values out of range.
    if o.get("format").and_then(Value::as_str) == Some("int32")
        && o.get("type").and_then(Value::as_str) == Some("integer")
    {
        o.entry("minimum").or_insert(json!(i32::MIN));
        o.entry("maximum").or_insert(json!(i32::MAX));
    }

    if o.get("properties").is_some_and(Value::is_object) {
        let required: BTreeSet<String> = match o.get("required") {
            Some(Value::Array(r)) => r
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => BTreeSet::new(),
        };
        if let Some(Value::Object(props)) = o.get_mut("properties") {
            for (name, sub) in props.iter_mut() {
                walk(sub, !required.contains(name), ctx);
            }
        }
        let free_form = o.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        if !free_form && !o.contains_key("additionalProperties") {
            o.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
    for k in SCHEMA_KEYWORDS {
        match o.get_mut(*k) {
            Some(Value::Array(items)) if *k == "items" => {
                for sub in items {
                    walk(sub, false, ctx);
                }
            }
            Some(sub) => walk(sub, false, ctx),
            None => {}
        }
    }
    for k in SCHEMA_ARRAY_KEYWORDS {
        if let Some(Value::Array(items)) = o.get_mut(*k) {
            for sub in items {
                walk(sub, false, ctx);
            }
        }
    }
    for k in SCHEMA_MAP_KEYWORDS {
        if let Some(Value::Object(m)) = o.get_mut(*k) {
            for sub in m.values_mut() {
                walk(sub, false, ctx);
            }
        }
    }

    // Null handling for this position.
    if let Some(Value::String(r)) = o.get("$ref") {
        let name = r.strip_prefix(DEFS_PREFIX).unwrap_or(r);
        if !nullable && ctx.nullable_defs.contains(name) {
            o.insert("not".into(), json!({"type": "null"}));
        }
    } else if nullable {
        make_nullable(schema);
    }
}

fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(o) => {
            for (k, v) in o {
                if let (true, Some(r)) = (k == "$ref", v.as_str()) {
                    let name = r
                        .strip_prefix(DEFS_PREFIX)
                        .unwrap_or_else(|| panic!("foreign $ref {r}"));
                    out.push(name.to_owned());
                    continue;
                }
                collect_refs(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
