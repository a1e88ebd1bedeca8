//! `admission/cel`: the `x-kubernetes-validations` rules of a CRD's schema, evaluated on each
//! object as the API server does (`self` is the value at the rule's level; `message`,
//! `messageExpression`, `fieldPath` and `reason` shape the finding). Transition rules (those
//! that read `oldSelf`) run only when an old object is known: in merge-request mode, the base
//! revision's object of the same identity ([`check_transitions`]).
//!
//! The evaluator is the `cel` crate with the Kubernetes libraries of [`k8s`]. A rule kgate
//! cannot compile or evaluate (a library function it lacks) is a note, never a silent pass and
//! never an error the API server would not give.

pub mod format;
pub mod k8s;

use serde_json::Value;

use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::Manifest;
use crate::yaml::escape_pointer_segment;

pub const CODE: &str = "admission/cel";

/// Nesting beyond which the walk stops.
const MAX_DEPTH: usize = 128;

/// Which rules to run: plain rules on the object alone, or transition rules against `old`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Plain,
    Transition,
}

/// `value` with the schema's `default`s filled in, as the API server has it when it runs
/// validation rules (apiextensions-apiserver `structuraldefaulting.Default`: a property that is
/// absent, or null without `nullable`, gets a copy of its default; then every present value is
/// defaulted by its own schema, defaults included). Without this, a rule such as
/// `self.mode == 'Auto' || has(self.target)` would fail on an object that leaves `mode` to
/// its default.
pub fn with_defaults(schema: &Value, value: &Value) -> Value {
    let mut v = value.clone();
    default_in_place(schema, &mut v, 0);
    v
}

fn default_in_place(schema: &Value, value: &mut Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, prop) in props.into_iter().flatten() {
                let Some(default) = prop.get("default").filter(|d| !d.is_null()) else {
                    continue;
                };
                let nullable = prop.get("nullable").and_then(Value::as_bool) == Some(true);
                let missing = match map.get(k) {
                    None => true,
                    Some(Value::Null) => !nullable,
                    Some(_) => false,
                };
                if missing {
                    map.insert(k.clone(), default.clone());
                }
            }
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map.iter_mut() {
                if let Some(sub) = props.and_then(|p| p.get(k)).or(additional) {
                    default_in_place(sub, v, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items").filter(|s| s.is_object()) {
                for item in items {
                    default_in_place(sub, item, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The findings of the plain (non-transition) rules of `schema` on `m`.
pub fn check(m: &Manifest, schema: &Value) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk(
        m,
        schema,
        &with_defaults(schema, &m.json),
        None,
        String::new(),
        0,
        Pass::Plain,
        &mut out,
    );
    out
}

/// The findings of the transition rules of `schema` on `m`, with `old` as `oldSelf` (the base
/// revision's object). `old` None: the merge request creates `m`, and only rules with
/// `optionalOldSelf: true` run, with `oldSelf` = `optional.none()`, as the API server runs them
/// on create.
pub fn check_transitions(m: &Manifest, schema: &Value, old: Option<&Value>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let old = old.map(|o| with_defaults(schema, o));
    walk(
        m,
        schema,
        &with_defaults(schema, &m.json),
        old.as_ref(),
        String::new(),
        0,
        Pass::Transition,
        &mut out,
    );
    out
}

/// Whether a schema declares any CEL rule (most do not: the walk is skipped).
pub fn has_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            map.contains_key("x-kubernetes-validations") || map.values().any(has_rules)
        }
        Value::Array(items) => items.iter().any(has_rules),
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn walk(
    m: &Manifest,
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    ptr: String,
    depth: usize,
    pass: Pass,
    out: &mut Vec<Diagnostic>,
) {
    if depth > MAX_DEPTH || value.is_null() {
        return;
    }
    if let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        for rule in rules {
            evaluate(m, schema, value, old, &ptr, rule, pass, out);
        }
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map {
                if let Some(sub) = props.and_then(|p| p.get(k)).or(additional) {
                    let old_child = old.and_then(|o| o.get(k));
                    let child = format!("{ptr}/{}", escape_pointer_segment(k));
                    walk(m, sub, v, old_child, child, depth + 1, pass, out);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) else {
                return;
            };
            // Only map lists correlate items across revisions (by their keys), as in the API
            // server; other lists' items have no old value.
            let keys: Vec<&str> = (schema.get("x-kubernetes-list-type").and_then(Value::as_str)
                == Some("map"))
            .then(|| {
                schema
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
            })
            .flatten()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
            let old_items = old.and_then(Value::as_array);
            for (i, item) in items.iter().enumerate() {
                let old_item = if keys.is_empty() {
                    None
                } else {
                    old_items.and_then(|olds| {
                        olds.iter()
                            .find(|o| keys.iter().all(|k| o.get(*k) == item.get(*k)))
                    })
                };
                walk(
                    m,
                    item_schema,
                    item,
                    old_item,
                    format!("{ptr}/{i}"),
                    depth + 1,
                    pass,
                    out,
                );
            }
        }
        _ => {}
    }
}

/// Whether a rule reads `oldSelf` (a transition rule).
fn is_transition(rule: &str) -> bool {
    rule.match_indices("oldSelf").any(|(i, _)| {
        let before = rule[..i].chars().next_back();
        let after = rule[i + 7..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[allow(clippy::too_many_arguments)]
fn evaluate(
    m: &Manifest,
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    ptr: &str,
    rule: &Value,
    pass: Pass,
    out: &mut Vec<Diagnostic>,
) {
    let Some(source) = rule.get("rule").and_then(Value::as_str) else {
        return;
    };
    let transition = is_transition(source);
    match pass {
        Pass::Plain if transition => return,
        Pass::Transition if !transition => return,
        _ => {}
    }
    // `optionalOldSelf: true`: the rule also runs on a new value, with `oldSelf` an optional
    // (`optional.none()` then, `optional.of(old)` on update); otherwise the API server does not
    // run a transition rule on a new value.
    let optional_old = rule.get("optionalOldSelf").and_then(Value::as_bool) == Some(true);
    if transition && old.is_none() && !optional_old {
        return;
    }
    let inputs: Vec<&Value> = std::iter::once(value).chain(old).collect();
    if k8s::too_costly(source, &inputs) {
        out.push(note(
            m,
            ptr,
            format!(
                "the CEL rule `{source}` was not evaluated: its nested comprehensions over this \
                 object's lists could cost more than the API server's per-call limit"
            ),
        ));
        return;
    }
    let program = match k8s::compile(source) {
        Ok(p) => p,
        Err(e) => {
            out.push(note(
                m,
                ptr,
                format!("kgate cannot compile the CEL rule `{source}`: {e}"),
            ));
            return;
        }
    };
    let mut ctx = k8s::root().new_inner_scope();
    ctx.add_variable_from_value("self", k8s::to_cel(value, Some(schema)));
    if optional_old && transition {
        ctx.add_variable_from_value(
            "oldSelf",
            k8s::optional(old.map(|o| k8s::to_cel(o, Some(schema)))),
        );
    } else if let Some(o) = old {
        ctx.add_variable_from_value("oldSelf", k8s::to_cel(o, Some(schema)));
    }
    match program.execute(&ctx) {
        Ok(cel::Value::Bool(true)) => {}
        Ok(cel::Value::Bool(false)) => {
            let message = rule
                .get("messageExpression")
                .and_then(Value::as_str)
                .and_then(|expr| {
                    if k8s::too_costly(expr, &inputs) {
                        return None;
                    }
                    let p = k8s::compile(expr).ok()?;
                    match p.execute(&ctx).ok()? {
                        cel::Value::String(s) if !s.trim().is_empty() && !s.contains('\n') => {
                            Some(s.to_string())
                        }
                        _ => None,
                    }
                })
                .or_else(|| {
                    rule.get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| format!("failed rule: {source}"));
            let at = rule
                .get("fieldPath")
                .and_then(Value::as_str)
                .and_then(|fp| field_path_pointer(ptr, fp))
                .filter(|p| m.json.pointer(p).is_some())
                .unwrap_or_else(|| ptr.to_string());
            let field = crate::check::schema::field_name(&at);
            let mut d = m.diagnostic(
                CODE,
                Severity::Error,
                format!("{field}: {message}"),
                Some(at),
            );
            let mut details = serde_json::Map::new();
            details.insert("rule".into(), Value::String(source.to_string()));
            if let Some(reason) = rule.get("reason").and_then(Value::as_str) {
                details.insert("reason".into(), Value::String(reason.to_string()));
            }
            if transition {
                d.help = Some(
                    "a transition rule: it compares this merge request's object with the base \
                     revision's (oldSelf)"
                        .into(),
                );
            }
            d.details = Some(details);
            out.push(d);
        }
        Ok(other) => out.push(note(
            m,
            ptr,
            format!(
                "the CEL rule `{source}` returned {} instead of a boolean; kgate did not judge it",
                k8s::show(&other)
            ),
        )),
        Err(e) => out.push(note(
            m,
            ptr,
            format!("kgate could not evaluate the CEL rule `{source}`: {e}"),
        )),
    }
}

fn note(m: &Manifest, ptr: &str, message: String) -> Diagnostic {
    m.diagnostic(CODE, Severity::Note, message, Some(ptr.to_string()))
}

/// A rule's `fieldPath` (`.spec.ports[0]`, `.metadata['name']`) under `base` as a JSON pointer.
pub fn field_path_pointer(base: &str, fp: &str) -> Option<String> {
    let mut out = base.to_string();
    let mut rest = fp;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            out.push('/');
            out.push_str(&escape_pointer_segment(&r[..end]));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim_matches(|c| c == '\'' || c == '"');
            out.push('/');
            out.push_str(&escape_pointer_segment(inner));
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(rule: &str, value: Value) -> Result<cel::Value, String> {
        let p = k8s::compile(rule)?;
        let mut ctx = k8s::root().new_inner_scope();
        ctx.add_variable_from_value("self", k8s::to_cel(&value, None));
        p.execute(&ctx).map_err(|e| e.to_string())
    }

    fn truth(rule: &str, value: Value) -> bool {
        match eval(rule, value) {
            Ok(cel::Value::Bool(b)) => b,
            other => panic!("{rule}: {other:?}"),
        }
    }

    #[test]
    fn kubernetes_libraries() {
        use serde_json::json;
        let v = json!({"cpu": "500m", "mem": "1Gi", "url": "https://example.com:8443/a?x=1",
            "ip": "10.0.0.1", "net": "10.0.0.0/8", "name": "Web-App", "list": [1, 2, 3]});
        for rule in [
            "quantity(self.cpu).isLessThan(quantity('1'))",
            "quantity(self.mem).compareTo(quantity('1024Mi')) == 0",
            "isQuantity(self.mem) && !isQuantity('1GB')",
            "quantity(self.mem).add(quantity('1Gi')).isGreaterThan(quantity(self.mem))",
            "quantity('2').asInteger() == 2 && quantity(self.cpu).sign() == 1",
            "url(self.url).getHost() == 'example.com:8443' && url(self.url).getHostname() == 'example.com'",
            "url(self.url).getScheme() == 'https' && url(self.url).getPort() == '8443'",
            "url(self.url).getEscapedPath() == '/a' && url(self.url).getQuery()['x'] == ['1']",
            "isURL(self.url) && !isURL('not a url')",
            "isIP(self.ip) && ip(self.ip).family() == 4 && !isIP('10.0.0.256')",
            "cidr(self.net).containsIP(self.ip) && !cidr(self.net).containsIP('11.0.0.1')",
            "cidr(self.net).containsCIDR('10.1.0.0/16') && cidr(self.net).prefixLength() == 8",
            "isCIDR(self.net) && !isCIDR('10.0.0.0/33')",
            "ip('127.0.0.1').isLoopback() && ip('::1').family() == 6",
            "self.name.lowerAscii() == 'web-app' && self.name.split('-').size() == 2",
            "self.name.matches('^[A-Z]') && self.name.find('[a-z]+') == 'eb'",
            "self.name.findAll('[a-z]').size() == 4",
            "self.list.isSorted() && self.list.sum() == 6 && self.list.all(x, x > 0)",
            "self.list.exists_one(x, x == 2) && self.list.map(x, x * 2)[2] == 6",
            "has(self.cpu) && !has(self.gpu)",
            "sets.contains([1, 2, 3], [1, 2]) && sets.intersects([1], [1, 4])",
            "'%s-%d'.format(['a', 1]) == 'a-1'",
        ] {
            assert!(truth(rule, v.clone()), "{rule}");
        }
        assert!(!truth(
            "quantity(self.cpu).isGreaterThan(quantity('1'))",
            v.clone()
        ));
        assert!(eval("self.missing == 1", v.clone()).is_err());
    }

    /// The `format` library, with the examples of k8s.io/apiserver's format.go.
    #[test]
    fn format_library() {
        use serde_json::json;
        let v = json!({"name": "my-app", "bad": "My_App"});
        for rule in [
            "!format.dns1123Label().validate(self.name).hasValue()",
            "format.dns1123Label().validate(self.bad).hasValue()",
            "format.dns1123Label().validate(self.bad).value().size() == 1",
            "!format.dns1123Subdomain().validate('apiextensions.k8s.io').hasValue()",
            "!format.dns1035Label().validate('my-label-name').hasValue()",
            "format.dns1035Label().validate('1abc').hasValue()",
            "!format.qualifiedName().validate('apiextensions.k8s.io/v1beta1').hasValue()",
            "!format.dns1123LabelPrefix().validate('my-label-prefix-').hasValue()",
            "format.dns1123Label().validate('my-label-prefix-').hasValue()",
            "!format.dns1123SubdomainPrefix().validate('mysubdomain.prefix.-').hasValue()",
            "!format.dns1035LabelPrefix().validate('my-label-prefix-').hasValue()",
            "!format.labelValue().validate('').hasValue() && format.labelValue().validate('a b').hasValue()",
            "!format.uri().validate('http://example.com').hasValue() && format.uri().validate('example').hasValue()",
            "!format.uuid().validate('123e4567-e89b-12d3-a456-426614174000').hasValue()",
            "format.uuid().validate('123e4567e89b12d3a456426614174000').hasValue()",
            "!format.byte().validate('aGVsbG8=').hasValue() && format.byte().validate('%%%').hasValue()",
            "!format.date().validate('2021-01-01').hasValue() && format.date().validate('2021-02-30').hasValue()",
            "!format.datetime().validate('2021-01-01T00:00:00Z').hasValue()",
            "!format.datetime().validate('2021-01-01t10:00:00.5+02:00').hasValue()",
            "format.datetime().validate('2021-01-01').hasValue()",
            "format.named('dns1123Label').hasValue() && !format.named('nope').hasValue()",
            "!format.named('labelValue').value().validate('ok').hasValue()",
            "format.dns1123Label().validate(self.bad).orValue([]).size() == 1",
        ] {
            assert!(truth(rule, v.clone()), "{rule}");
        }
    }

    /// Strings the schema types by format reach CEL as the API server types them: date-time
    /// and date as timestamps, duration as a duration, byte as bytes.
    #[test]
    fn formatted_strings_are_typed() {
        use serde_json::json;
        let schema = json!({"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "every": {"type": "string", "format": "duration"},
            "raw": {"type": "string", "format": "byte"},
            "plain": {"type": "string"}}});
        let v = json!({"at": "2026-11-29T08:00:00Z", "day": "2026-11-29", "every": "1h30m",
            "raw": "aGk=", "plain": "1h"});
        let run = |rule: &str| {
            let p = k8s::compile(rule).unwrap();
            let mut ctx = k8s::root().new_inner_scope();
            ctx.add_variable_from_value("self", k8s::to_cel(&v, Some(&schema)));
            p.execute(&ctx).map_err(|e| e.to_string())
        };
        for rule in [
            "self.at > timestamp('2026-01-01T00:00:00Z')",
            "self.at.getHours() == 8 && self.day < self.at",
            "self.every == duration('90m') && self.every > duration('1h')",
            "self.raw == b'hi'",
            "self.plain == '1h'",
        ] {
            assert_eq!(run(rule), Ok(cel::Value::Bool(true)), "{rule}");
        }
        for (s, secs) in [
            ("1h30m", 5400),
            ("-2s", -2),
            ("300ms", 0),
            ("3d", 259_200),
            ("2 weeks", 1_209_600),
            ("0", 0),
        ] {
            assert_eq!(
                k8s::go_duration(s).map(|d| d.num_seconds()),
                Some(secs),
                "{s}"
            );
        }
        for bad in ["", "1", "h", "1x", "1h30"] {
            assert_eq!(k8s::go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn costly_comprehensions_are_not_run() {
        use serde_json::json;
        assert_eq!(k8s::comprehension_depth("self.a == 1"), 0);
        assert_eq!(k8s::comprehension_depth("self.all(x, x > 0)"), 1);
        assert_eq!(
            k8s::comprehension_depth("self.all(a, self.exists_one(b, b == a)) && self.map(c, c)"),
            2
        );
        // Macro names inside strings and as plain functions do not count.
        assert_eq!(
            k8s::comprehension_depth("'x.all(' == self.s && all(self)"),
            0
        );
        let small = json!([1, 2, 3]);
        assert!(!k8s::too_costly(
            "self.all(a, self.all(b, self.all(c, true)))",
            &[&small]
        ));
        let big = json!((0..200).collect::<Vec<u32>>());
        assert!(!k8s::too_costly(
            "self.all(a, self.exists(b, b == a))",
            &[&big]
        ));
        assert!(k8s::too_costly(
            "self.all(a, self.all(b, self.all(c, true)))",
            &[&big]
        ));
    }

    /// A rule that does not compile is a typed error carrying the parser's errors, and the
    /// same error (text and all) when the cache answers the second time.
    #[test]
    fn compile_errors_are_typed_and_cached() {
        let first = k8s::compile("self.x ==").unwrap_err();
        assert!(matches!(
            first,
            crate::check_error::CheckError::CelCompile(_)
        ));
        assert!(std::error::Error::source(&first).is_some());
        let again = k8s::compile("self.x ==").unwrap_err();
        assert!(!first.to_string().is_empty());
        assert_eq!(first.to_string(), again.to_string());
    }

    #[test]
    fn transition_rules_are_recognised() {
        assert!(is_transition("self == oldSelf"));
        assert!(is_transition("oldSelf.x <= self.x"));
        assert!(!is_transition("self.oldSelfish == 1"));
        assert!(!is_transition("self.x.oldSelf == 1"));
    }

    #[test]
    fn field_paths() {
        assert_eq!(
            field_path_pointer("/spec", ".ports[0].name").as_deref(),
            Some("/spec/ports/0/name")
        );
        assert_eq!(
            field_path_pointer("", ".metadata['a.b/c']").as_deref(),
            Some("/metadata/a.b~1c")
        );
        assert_eq!(field_path_pointer("", "spec"), None);
    }
}
