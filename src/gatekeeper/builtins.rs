//! Rego builtins that Gatekeeper's OPA still provides and regorus lacks, added to every template
//! engine as extensions: the deprecated `any`, `all`, `re_match`, `set_diff` and `cast_*`
//! functions, which templates of the gatekeeper-library still call.
//!
//! OPA evaluates templates without strict builtin errors, so a call with arguments of the wrong
//! type is undefined (the rule does not fire) rather than an error; the extensions do the same.

use std::collections::BTreeSet;

use regorus::{Engine, Value};

/// The elements of an array or set, or `None` for anything else.
fn elements(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => Some(a.iter().cloned().collect()),
        Value::Set(s) => Some(s.iter().cloned().collect()),
        _ => None,
    }
}

fn any(args: Vec<Value>) -> anyhow::Result<Value> {
    Ok(elements(&args[0])
        .map(|e| Value::from(e.contains(&Value::Bool(true))))
        .unwrap_or(Value::Undefined))
}

fn all(args: Vec<Value>) -> anyhow::Result<Value> {
    Ok(elements(&args[0])
        .map(|e| Value::from(e.iter().all(|x| *x == Value::Bool(true))))
        .unwrap_or(Value::Undefined))
}

/// `re_match(pattern, value)`: OPA's older name of `regex.match`.
fn re_match(args: Vec<Value>) -> anyhow::Result<Value> {
    let (Value::String(pattern), Value::String(value)) = (&args[0], &args[1]) else {
        return Ok(Value::Undefined);
    };
    Ok(match regex::Regex::new(pattern) {
        Ok(re) => Value::from(re.is_match(value)),
        Err(_) => Value::Undefined,
    })
}

fn set_diff(args: Vec<Value>) -> anyhow::Result<Value> {
    let (Value::Set(a), Value::Set(b)) = (&args[0], &args[1]) else {
        return Ok(Value::Undefined);
    };
    let diff: BTreeSet<Value> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
    Ok(Value::from(diff))
}

fn cast_array(args: Vec<Value>) -> anyhow::Result<Value> {
    Ok(elements(&args[0])
        .map(Value::from)
        .unwrap_or(Value::Undefined))
}

fn cast_set(args: Vec<Value>) -> anyhow::Result<Value> {
    Ok(elements(&args[0])
        .map(|e| Value::from(e.into_iter().collect::<BTreeSet<Value>>()))
        .unwrap_or(Value::Undefined))
}

/// The `cast_*` functions that only check a type: the value itself when it has that type.
fn same_if(args: &[Value], keep: fn(&Value) -> bool) -> Value {
    if keep(&args[0]) {
        args[0].clone()
    } else {
        Value::Undefined
    }
}

/// Adds the extensions to `engine`. Fails only if one of the names is already taken, which the
/// engines built here never do.
pub fn add_to(engine: &mut Engine) -> anyhow::Result<()> {
    engine.add_extension("any".into(), 1, Box::new(any))?;
    engine.add_extension("all".into(), 1, Box::new(all))?;
    engine.add_extension("re_match".into(), 2, Box::new(re_match))?;
    engine.add_extension("set_diff".into(), 2, Box::new(set_diff))?;
    engine.add_extension("cast_array".into(), 1, Box::new(cast_array))?;
    engine.add_extension("cast_set".into(), 1, Box::new(cast_set))?;
    engine.add_extension(
        "cast_string".into(),
        1,
        Box::new(|a: Vec<Value>| Ok(same_if(&a, |v| matches!(v, Value::String(_))))),
    )?;
    engine.add_extension(
        "cast_boolean".into(),
        1,
        Box::new(|a: Vec<Value>| Ok(same_if(&a, |v| matches!(v, Value::Bool(_))))),
    )?;
    engine.add_extension(
        "cast_null".into(),
        1,
        Box::new(|a: Vec<Value>| Ok(same_if(&a, |v| matches!(v, Value::Null)))),
    )?;
    engine.add_extension(
        "cast_object".into(),
        1,
        Box::new(|a: Vec<Value>| Ok(same_if(&a, |v| matches!(v, Value::Object(_))))),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluates `expr` in a v0 policy that has the extensions; `None` when undefined.
    fn eval(expr: &str) -> Option<serde_json::Value> {
        let mut engine = Engine::new();
        engine.set_rego_v0(true);
        add_to(&mut engine).unwrap();
        engine
            .add_policy("t.rego".into(), format!("package t\n\nx := {expr}\n"))
            .unwrap();
        match engine.eval_rule("data.t.x".into()).unwrap() {
            Value::Undefined => None,
            v => Some(serde_json::to_value(&v).unwrap()),
        }
    }

    #[test]
    fn deprecated_builtins_behave_as_in_opa() {
        use serde_json::json;
        assert_eq!(eval("any([false, true])"), Some(json!(true)));
        assert_eq!(eval("any({false})"), Some(json!(false)));
        assert_eq!(eval("any([])"), Some(json!(false)));
        assert_eq!(eval("all([true, true])"), Some(json!(true)));
        assert_eq!(eval("all([true, 1])"), Some(json!(false)));
        assert_eq!(eval("all(set())"), Some(json!(true)));
        assert_eq!(eval("any(\"x\")"), None);
        assert_eq!(
            eval("re_match(\"^(extensions|networking.k8s.io)$\", \"extensions\")"),
            Some(json!(true))
        );
        assert_eq!(eval("re_match(\"^a$\", \"b\")"), Some(json!(false)));
        assert_eq!(eval("re_match(\"(\", \"b\")"), None);
        assert_eq!(eval("set_diff({1, 2, 3}, {2})"), Some(json!([1, 3])));
        assert_eq!(eval("cast_set([2, 1, 2])"), Some(json!([1, 2])));
        assert_eq!(eval("cast_array({1})"), Some(json!([1])));
        assert_eq!(eval("cast_string(\"s\")"), Some(json!("s")));
        assert_eq!(eval("cast_string(1)"), None);
        assert_eq!(eval("cast_boolean(false)"), Some(json!(false)));
        assert_eq!(eval("cast_null(null)"), Some(json!(null)));
        assert_eq!(eval("cast_object({\"a\": 1})"), Some(json!({"a": 1})));
    }
}
