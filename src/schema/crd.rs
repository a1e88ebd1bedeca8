//! CustomResourceDefinitions → JSON Schemas, one per served version, with the API server's
//! structural-schema semantics (`nullable`, `x-kubernetes-int-or-string`,
//! `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-embedded-resource`).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::SchemaError;

/// The schema of one kind at one version, taken from a CRD.
#[derive(Debug, Clone)]
pub struct CrdSchema {
    pub api_version: String,
    pub kind: String,
    pub namespaced: bool,
    /// None when the CRD version has no schema (anything is accepted).
    pub schema: Option<Value>,
    /// Where the CRD was found, for messages.
    pub origin: String,
    /// The version's `openAPIV3Schema` as the CRD wrote it (with `x-kubernetes-validations`,
    /// list types, defaults), for checks that need more than JSON Schema validation.
    pub structural: Option<Arc<Value>>,
}

/// Extracts every served version of a CRD object (apiextensions.k8s.io v1 or v1beta1).
pub fn schemas_from_crd(crd: &Value, origin: &str) -> Result<Vec<CrdSchema>, SchemaError> {
    let missing = |field| SchemaError::CrdField { field };
    let spec = crd.get("spec").ok_or(missing("spec"))?;
    let group = spec
        .get("group")
        .and_then(Value::as_str)
        .ok_or(missing("spec.group"))?;
    let kind = spec
        .pointer("/names/kind")
        .and_then(Value::as_str)
        .ok_or(missing("spec.names.kind"))?;
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    // v1beta1 kept a CRD-wide schema in spec.validation.
    let shared = spec.pointer("/validation/openAPIV3Schema");
    let mut out = Vec::new();
    let versions: Vec<Value> = match spec.get("versions").and_then(Value::as_array) {
        Some(v) => v.clone(),
        None => match spec.get("version").and_then(Value::as_str) {
            Some(v) => vec![json!({"name": v, "served": true})],
            None => return Err(SchemaError::CrdVersions),
        },
    };
    for v in versions {
        let Some(name) = v.get("name").and_then(Value::as_str) else {
            continue;
        };
        if v.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let raw = v.pointer("/schema/openAPIV3Schema").or(shared);
        let schema = raw.map(|s| {
            let mut s = structural_to_json_schema(s, true);
            add_object_meta(&mut s);
            s
        });
        out.push(CrdSchema {
            api_version: format!("{group}/{name}"),
            kind: kind.to_string(),
            namespaced,
            schema,
            origin: origin.to_string(),
            structural: raw.map(|s| Arc::new(s.clone())),
        });
    }
    Ok(out)
}

/// Every object accepts apiVersion/kind/metadata even if the CRD schema does not list them. The
/// API server validates `metadata` itself (a CRD's own metadata schema is ignored), so a
/// top-level one is replaced by a free object.
fn add_object_meta(schema: &mut Value) {
    if let Some(obj) = schema.as_object_mut() {
        allow_type_meta(obj, true);
    }
}

/// Adds `apiVersion`, `kind` and `metadata` to an object schema's properties (keeping a
/// `metadata` schema the CRD wrote unless `replace_metadata`).
fn allow_type_meta(obj: &mut Map<String, Value>, replace_metadata: bool) {
    let props = obj
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(props) = props.as_object_mut() {
        props
            .entry("apiVersion")
            .or_insert(json!({"type": "string"}));
        props.entry("kind").or_insert(json!({"type": "string"}));
        let free = json!({"type": ["object", "null"]});
        if replace_metadata {
            props.insert("metadata".into(), free);
        } else {
            props.entry("metadata").or_insert(free);
        }
    }
}

/// Converts an OpenAPI v3 structural schema to JSON Schema. Walks keywords structurally so that a
/// property *named* `properties` or `type` is treated as data, not as a keyword.
pub fn structural_to_json_schema(s: &Value, strict: bool) -> Value {
    let Some(src) = s.as_object() else {
        return s.clone();
    };
    let mut out = Map::new();
    let preserve = src
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    let embedded = src
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true);
    let nullable = src.get("nullable").and_then(Value::as_bool) == Some(true);
    let int_or_string = src
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);

    for (k, v) in src {
        match k.as_str() {
            "properties" | "patternProperties" | "definitions" | "$defs" => {
                if let Some(map) = v.as_object() {
                    let converted: Map<String, Value> = map
                        .iter()
                        .map(|(name, sub)| (name.clone(), structural_to_json_schema(sub, strict)))
                        .collect();
                    out.insert(k.clone(), Value::Object(converted));
                }
            }
            "items" | "additionalItems" | "not" => {
                out.insert(
                    k.clone(),
                    if v.is_object() {
                        structural_to_json_schema(v, strict)
                    } else {
                        v.clone()
                    },
                );
            }
            "additionalProperties" => {
                out.insert(
                    k.clone(),
                    if v.is_object() {
                        structural_to_json_schema(v, strict)
                    } else {
                        v.clone()
                    },
                );
            }
            "allOf" | "anyOf" | "oneOf" => {
                if let Some(items) = v.as_array() {
                    // In structural schemas these only add value validations; they must not
                    // re-declare strictness on their own.
                    let converted = items
                        .iter()
                        .map(|sub| structural_to_json_schema(sub, false))
                        .collect();
                    out.insert(k.clone(), Value::Array(converted));
                }
            }
            // OpenAPI-only or documentation keywords the validator must not interpret.
            "nullable"
            | "description"
            | "example"
            | "externalDocs"
            | "x-kubernetes-validations"
            | "format"
            | "default"
            | "title" => {}
            "type" if int_or_string => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if int_or_string {
        out.insert("type".into(), json!(["integer", "string"]));
    }
    if embedded {
        allow_type_meta(&mut out, false);
    }
    if strict
        && !preserve
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties")
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if nullable {
        if let Some(t) = out.get_mut("type") {
            match t {
                Value::String(s) => *t = json!([s.clone(), "null"]),
                Value::Array(a) if !a.iter().any(|x| x == "null") => a.push(json!("null")),
                _ => {}
            }
        }
        if let Some(Value::Array(e)) = out.get_mut("enum") {
            if !e.contains(&Value::Null) {
                e.push(Value::Null);
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets"},
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {
                                "size": {"x-kubernetes-int-or-string": true},
                                "properties": {"type": "string"},
                                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                                "note": {"type": "string", "nullable": true}
                            }}
                        }
                    }}},
                    {"name": "v0", "served": false, "storage": false}
                ]
            }
        })
    }

    #[test]
    fn served_versions_become_strict_schemas() {
        let schemas = schemas_from_crd(&crd(), "crd.yaml").unwrap();
        assert_eq!(schemas.len(), 1);
        let s = schemas[0].schema.clone().unwrap();
        let v = jsonschema::validator_for(&s).unwrap();
        let ok = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a"},
            "spec": {"size": "10%", "properties": "x", "free": {"any": {"thing": 1}}, "note": null}});
        assert!(v.is_valid(&ok));
        assert!(v.is_valid(&json!({"spec": {"size": 3}})));
        assert!(!v.is_valid(&json!({"spec": {"sise": 3}})));
        assert!(!v.is_valid(&json!({"spec": {"size": true}})));
    }
}
