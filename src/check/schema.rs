//! Schema validation of one object: finds its schema, validates, and turns each JSON Schema
//! error into a finding that names the field and points at its YAML node.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::ValidationError;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::Manifest;
use crate::schema::registry::{Compiled, Lookup, Registry};
use crate::secrets::ObjectSecrets;
use crate::yaml::{escape_pointer_segment, split_pointer};

/// Options of the schema check that come from the command line or config.
#[derive(Debug, Clone, Default)]
pub struct SchemaCheckOptions {
    /// Kinds (`Kind` or `apiVersion/Kind`) whose missing schema is not reported.
    pub skip_kinds: Vec<String>,
    /// A missing schema is an error, not a warning.
    pub require_schemas: bool,
}

/// The outcome for one object.
pub struct SchemaResult {
    pub diagnostics: Vec<Diagnostic>,
    /// False when there was no schema to check against.
    pub checked: bool,
}

pub fn check_manifest(
    m: &Manifest,
    registry: &Registry,
    opts: &SchemaCheckOptions,
) -> SchemaResult {
    let mut diags = Vec::new();
    let api_version = m.resource.api_version.as_str();
    let kind = m.resource.kind.as_str();

    if missing_name(&m.json) {
        let span = m.node.key_span("metadata").unwrap_or(m.node.span);
        diags.push(diag(
            m,
            "schema/missing-name",
            Severity::Error,
            "object has neither `metadata.name` nor `metadata.generateName`".into(),
            "/metadata",
            span,
        ));
    }

    let skipped = opts
        .skip_kinds
        .iter()
        .any(|k| k == kind || *k == format!("{api_version}/{kind}"));
    let lookup = registry.lookup(api_version, kind);
    let checked = match lookup.get() {
        Some(Lookup::Found(compiled)) => {
            validate(m, compiled, &mut diags);
            true
        }
        Some(Lookup::Unconstrained) => true,
        Some(Lookup::Removed {
            removed_in,
            replacement,
            by,
        }) => {
            let mut msg = format!("{kind} {api_version} is not served by {by}");
            if let Some(v) = removed_in {
                msg.push_str(&format!(" (removed in {v})"));
            }
            let help = match replacement {
                Some(r) => {
                    format!("use `apiVersion: {r}` (check the field changes between the versions)")
                }
                None => {
                    "this kind no longer exists; remove it or replace it with its successor".into()
                }
            };
            let span = m
                .node
                .get("apiVersion")
                .map(|n| n.span)
                .unwrap_or(m.node.span);
            let mut d = diag(
                m,
                "schema/removed-api",
                Severity::Error,
                msg,
                "/apiVersion",
                span,
            );
            d.help = Some(help);
            diags.push(d);
            false
        }
        Some(Lookup::Broken(why)) => {
            let span = m.node.get("kind").map(|n| n.span).unwrap_or(m.node.span);
            diags.push(diag(
                m,
                "schema/unusable",
                Severity::Error,
                format!("the schema for {kind} {api_version} cannot be used: {why}"),
                "",
                span,
            ));
            false
        }
        Some(Lookup::Missing) | None => {
            let builtin = if skipped {
                None
            } else {
                registry.builtin_group_kinds(api_version)
            };
            if let Some(kinds) = builtin {
                diags.push(unknown_builtin_kind(m, api_version, kind, &kinds));
            } else if !skipped {
                let span = m.node.get("kind").map(|n| n.span).unwrap_or(m.node.span);
                let severity = if opts.require_schemas {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                let mut d = diag(
                    m,
                    "schema/missing",
                    severity,
                    format!("no schema for {kind} {api_version}: it was not validated"),
                    "/kind",
                    span,
                );
                d.help = Some(
                    "add its CustomResourceDefinition to the checked paths or --crd, point \
                     --schema-location at a folder of JSON schemas, or --skip-kind it"
                        .into(),
                );
                diags.push(d);
            }
            false
        }
    };
    SchemaResult {
        diagnostics: diags,
        checked,
    }
}

/// A kind that a built-in API group does not have (`v1` `Podd`): the API server refuses it.
fn unknown_builtin_kind(
    m: &Manifest,
    api_version: &str,
    kind: &str,
    kinds: &[String],
) -> Diagnostic {
    let span = m.node.get("kind").map(|n| n.span).unwrap_or(m.node.span);
    let mut d = diag(
        m,
        "schema/unknown-kind",
        Severity::Error,
        format!("`{api_version}` has no kind `{kind}`: the API server refuses this object"),
        "/kind",
        span,
    );
    d.help = Some(match suggest(kind, kinds) {
        Some(k) => format!("did you mean `{k}`?"),
        None => "check the kind and the apiVersion (built-in API groups have a fixed set of kinds)"
            .into(),
    });
    d
}

fn missing_name(json: &Value) -> bool {
    let meta = &json["metadata"];
    let present = |k: &str| meta[k].as_str().is_some_and(|s| !s.is_empty());
    !present("name") && !present("generateName")
}

fn diag(
    m: &Manifest,
    code: &str,
    severity: Severity,
    message: String,
    pointer: &str,
    span: crate::source::Span,
) -> Diagnostic {
    let mut d = Diagnostic::new(code, severity, message)
        .in_file(m.file.path.clone(), Some(span))
        .with_resource(Some(m.resource.clone()));
    if !pointer.is_empty() {
        d.path = Some(pointer.to_string());
    }
    d.rendered_for = m.rendered_for.clone();
    d
}

fn validate(m: &Manifest, compiled: &Compiled, diags: &mut Vec<Diagnostic>) {
    if compiled.validator.is_valid(&m.json) {
        return;
    }
    // Which fields hold secrets, decided once for the object: their values are never quoted.
    let secrets = m.secrets();
    for err in compiled.validator.iter_errors(&m.json) {
        report(m, compiled, &err, secrets, diags);
    }
}

/// `/spec/containers/0/image` → `spec.containers[0].image`.
pub fn field_name(pointer: &str) -> String {
    let mut out = String::new();
    for seg in split_pointer(pointer) {
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    if out.is_empty() {
        "the object".into()
    } else {
        out
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A short rendering of a value for a message (`string "abc"`, `boolean true`, `an object`);
/// contents only when they cannot be secret: never for a field the secrets classifier calls
/// secret (whatever its type: a PIN read as an integer, YAML 1.1's octal `0755`).
fn show_value(v: &Value, pointer: &str, secrets: &ObjectSecrets) -> String {
    let secret = secrets.touches(pointer);
    match v {
        Value::String(s) => {
            if secret
                || looks_sensitive_pointer(pointer)
                || s.len() > 60
                || crate::redact::value_looks_secret(s)
            {
                "a string".into()
            } else {
                format!("string \"{s}\"")
            }
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        Value::Null => "null".into(),
        // An unquoted numeric password is a number: its digits are as secret as a string's.
        // (A ConfigMap's `port: 8080` stays readable.)
        Value::Number(_) if secret || credential_pointer(pointer) => match json_type(v) {
            "integer" => "an integer".into(),
            _ => "a number".into(),
        },
        Value::Bool(_) if secret => "a boolean".into(),
        other => format!("{} `{other}`", json_type(other)),
    }
}

/// An env `value` or a field under a credential-like name.
fn credential_pointer(pointer: &str) -> bool {
    pointer.ends_with("/value")
        || split_pointer(pointer)
            .iter()
            .any(|s| crate::redact::name_looks_secret(s))
}

/// Fields whose values may be credentials: never quoted in messages.
fn looks_sensitive_pointer(pointer: &str) -> bool {
    pointer.starts_with("/data/")
        || pointer.starts_with("/stringData/")
        || pointer.ends_with("/value")
        || pointer.contains("/annotations/")
        || split_pointer(pointer)
            .iter()
            .any(|s| crate::redact::name_looks_secret(s))
}

fn type_list(kind: &TypeKind) -> String {
    let mut names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
    };
    names.retain(|n| n != "null");
    names.join(" or ")
}

fn report(
    m: &Manifest,
    compiled: &Compiled,
    err: &ValidationError<'_>,
    secrets: &ObjectSecrets,
    diags: &mut Vec<Diagnostic>,
) {
    let pointer = err.instance_path().as_str().to_string();
    let value = err.instance();
    let field = field_name(&pointer);
    let span = m.span_at(&pointer);
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let allowed = allowed_properties(&compiled.schema, err.schema_path().as_str());
            // One index of the mapping's keys: looking each unknown key up by a scan would make
            // an object with many unknown fields (a hostile one has 100,000) quadratic.
            let segments = crate::yaml::split_pointer(&pointer);
            let (parent, depth) = m.node.walk(&segments);
            let key_spans: std::collections::HashMap<&str, crate::source::Span> =
                match parent.as_map() {
                    Some(entries) if depth == segments.len() => entries
                        .iter()
                        .rev()
                        .map(|(k, _)| (k.name.as_str(), k.span))
                        .collect(),
                    _ => Default::default(),
                };
            for prop in unexpected {
                let child = format!("{pointer}/{}", escape_pointer_segment(prop));
                let span = key_spans
                    .get(prop.as_str())
                    .copied()
                    .or_else(|| m.node.key_span_at_pointer(&child))
                    .unwrap_or_else(|| m.span_at(&child));
                let mut msg = format!("unknown field `{}`", field_name(&child));
                let mut d_help = None;
                if let Some(s) = suggest(prop, &allowed) {
                    msg.push_str(&format!(" (did you mean `{s}`?)"));
                } else if !allowed.is_empty() && allowed.len() <= 12 {
                    d_help = Some(format!("{field} accepts: {}", allowed.join(", ")));
                }
                let mut d = diag(
                    m,
                    "schema/unknown-field",
                    Severity::Error,
                    msg,
                    &child,
                    span,
                );
                d.help = d_help.or_else(|| {
                    Some("unknown fields are rejected by `kubectl apply` (strict field validation); use --no-strict to allow them".into())
                });
                diags.push(d);
            }
        }
        ValidationErrorKind::Required { property } => {
            let prop = property.as_str().unwrap_or_default();
            let span = if pointer.is_empty() {
                m.node.get("kind").map(|n| n.span).unwrap_or(m.node.span)
            } else {
                m.node.key_span_at_pointer(&pointer).unwrap_or(span)
            };
            let child = format!("{pointer}/{}", escape_pointer_segment(prop));
            diags.push(diag(
                m,
                "schema/required-field",
                Severity::Error,
                format!("missing required field `{}`", field_name(&child)),
                &pointer,
                span,
            ));
        }
        ValidationErrorKind::Type { kind } => {
            let got = json_type(value);
            let want = type_list(kind);
            let mut d = diag(
                m,
                "schema/wrong-type",
                Severity::Error,
                format!(
                    "`{field}` must be {want}, got {}",
                    show_value(value, &pointer, secrets)
                ),
                &pointer,
                span,
            );
            if got == "boolean" && want.contains("string") {
                d.help = Some(
                    "YAML reads unquoted yes/no/on/off/true/false as booleans: quote the value"
                        .into(),
                );
            } else if (got == "integer" || got == "number") && want.contains("string") {
                d.help = Some("quote the value to make it a string".into());
            }
            diags.push(d);
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|v| !v.is_null())
                        .map(|v| v.to_string())
                        .collect()
                })
                .unwrap_or_default();
            diags.push(diag(
                m,
                "schema/enum",
                Severity::Error,
                format!(
                    "`{field}` is {}, but must be one of: {}",
                    show_value(value, &pointer, secrets),
                    opts.join(", ")
                ),
                &pointer,
                span,
            ));
        }
        ValidationErrorKind::Constant { expected_value } => diags.push(diag(
            m,
            "schema/enum",
            Severity::Error,
            format!("`{field}` must be {expected_value}"),
            &pointer,
            span,
        )),
        ValidationErrorKind::Not { .. } if value.is_null() => diags.push(diag(
            m,
            "schema/wrong-type",
            Severity::Error,
            format!("`{field}` must not be null"),
            &pointer,
            span,
        )),
        ValidationErrorKind::Pattern { pattern } => {
            let schema_path = err.schema_path().as_str();
            let what = if schema_path.contains("Quantity") || is_quantity_pattern(pattern) {
                "a quantity (like 500m, 1, 1.5, 128Mi, 2Gi)".to_string()
            } else if schema_path.contains("ByteString")
                || pointer.starts_with("/data/")
                || pointer.starts_with("/binaryData/")
            {
                "base64-encoded data".to_string()
            } else {
                format!("a string matching `{pattern}`")
            };
            diags.push(diag(
                m,
                "schema/invalid-value",
                Severity::Error,
                format!(
                    "`{field}` must be {what}, got {}",
                    show_value(value, &pointer, secrets)
                ),
                &pointer,
                span,
            ));
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // int-or-string and quantities are anyOf: report the branch whose type matched.
            let branch_errors: Vec<&ValidationError<'static>> = context
                .iter()
                .filter(|errs| {
                    !errs
                        .iter()
                        .any(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
                })
                .flat_map(|errs| errs.iter())
                .collect();
            if !branch_errors.is_empty() {
                for e in branch_errors {
                    report(m, compiled, e, secrets, diags);
                }
            } else {
                let mut types: Vec<String> = Vec::new();
                for errs in context {
                    for e in errs {
                        if let ValidationErrorKind::Type { kind } = e.kind() {
                            let t = type_list(kind);
                            if !t.is_empty() && !types.contains(&t) {
                                types.push(t);
                            }
                        }
                    }
                }
                diags.push(diag(
                    m,
                    "schema/wrong-type",
                    Severity::Error,
                    format!(
                        "`{field}` must be {}, got {}",
                        if types.is_empty() {
                            "a different value".into()
                        } else {
                            types.join(" or ")
                        },
                        show_value(value, &pointer, secrets)
                    ),
                    &pointer,
                    span,
                ));
            }
        }
        other => {
            let msg = match other {
                ValidationErrorKind::Minimum { limit } => format!("`{field}` must be ≥ {limit}"),
                ValidationErrorKind::Maximum { limit } => format!("`{field}` must be ≤ {limit}"),
                ValidationErrorKind::ExclusiveMinimum { limit } => {
                    format!("`{field}` must be > {limit}")
                }
                ValidationErrorKind::ExclusiveMaximum { limit } => {
                    format!("`{field}` must be < {limit}")
                }
                ValidationErrorKind::MinLength { limit } => {
                    format!("`{field}` must have at least {limit} characters")
                }
                ValidationErrorKind::MaxLength { limit } => {
                    format!("`{field}` must have at most {limit} characters")
                }
                ValidationErrorKind::MinItems { limit } => {
                    format!("`{field}` must have at least {limit} items")
                }
                ValidationErrorKind::MaxItems { limit } => {
                    format!("`{field}` must have at most {limit} items")
                }
                ValidationErrorKind::MinProperties { limit } => {
                    format!("`{field}` must have at least {limit} entries")
                }
                ValidationErrorKind::MaxProperties { limit } => {
                    format!("`{field}` must have at most {limit} entries")
                }
                ValidationErrorKind::UniqueItems => {
                    format!("`{field}` must not contain duplicate items")
                }
                ValidationErrorKind::Format { format } => {
                    format!("`{field}` is not a valid {format}")
                }
                ValidationErrorKind::MultipleOf { .. } => {
                    format!("`{field}` is not an allowed multiple")
                }
                ValidationErrorKind::OneOfMultipleValid { .. } => {
                    format!("`{field}` matches more than one allowed form")
                }
                ValidationErrorKind::FalseSchema => format!("`{field}` is not allowed here"),
                ValidationErrorKind::Not { .. } => {
                    format!("`{field}` has a value that is not allowed")
                }
                _ => format!("`{field}` is invalid"),
            };
            diags.push(diag(
                m,
                "schema/invalid-value",
                Severity::Error,
                msg,
                &pointer,
                span,
            ));
        }
    }
}

fn is_quantity_pattern(p: &str) -> bool {
    p.contains("Ki|Mi|Gi") || p.contains("[KMGTPE]i") || p.contains("([KMGTPE]i)")
}

/// The property names allowed where an `additionalProperties: false` failed.
fn allowed_properties(schema: &Value, keyword_path: &str) -> Vec<String> {
    let parent = keyword_path
        .strip_suffix("/additionalProperties")
        .or_else(|| keyword_path.strip_suffix("/unevaluatedProperties"))
        .unwrap_or(keyword_path);
    let mut names: Vec<String> = schema
        .pointer(&format!("{parent}/properties"))
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Schemas with more properties than this get no did-you-mean: comparing every unknown field
/// with every allowed name would make a hostile object (50,000 unknown fields against a
/// 50,000-property CRD) quadratic. Real Kubernetes kinds have well under a hundred.
const SUGGEST_MAX_ALLOWED: usize = 1000;

/// The closest allowed name, if it is close enough to be a typo.
fn suggest(name: &str, allowed: &[String]) -> Option<String> {
    if allowed.len() > SUGGEST_MAX_ALLOWED || name.len() > 256 {
        return None;
    }
    let lower = name.to_lowercase();
    allowed
        .iter()
        .map(|a| (strsim::levenshtein(&lower, &a.to_lowercase()), a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 5) && *d < a.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_suggestions() {
        assert_eq!(
            field_name("/spec/containers/0/image"),
            "spec.containers[0].image"
        );
        assert_eq!(field_name(""), "the object");
        let allowed = vec!["imagePullPolicy".to_string(), "image".to_string()];
        assert_eq!(
            suggest("imagePullPolicyy", &allowed).as_deref(),
            Some("imagePullPolicy")
        );
        assert_eq!(suggest("totallyDifferent", &allowed), None);
    }
}
