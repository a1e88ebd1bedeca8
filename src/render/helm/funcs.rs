//! The functions a Helm template can call: Go's builtins (`len`, `index`, `printf`, `eq`, ...),
//! the Sprig library Helm ships and Helm's own (`toYaml`, `fromYaml`, `required`, `fail`,
//! `lookup`, ...). `include` and `tpl` need the template set and live in the evaluator.
//! Random and time functions are deterministic here (a rendered plan must not churn); Helm's
//! differ on every run, so the differential test masks them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;

use base64::Engine as _;
use sha2::Digest;

use super::value::{deep_equal, format_float_g, go_eq, go_lt, go_quote, reaches, Map, Value};
use super::values;

type R = Result<Value, String>;

/// sprig's `strval`: strings as they are, everything else `%v`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => other.to_go_string(),
    }
}

/// A function's string parameter (Go would refuse non-strings; nil reads as "").
fn sarg(args: &[Value], i: usize) -> String {
    match args.get(i) {
        Some(Value::Str(s)) => s.to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(v) => v.to_go_string(),
    }
}

/// cast.ToInt64 as sprig uses it.
pub fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => *b as i64,
        Value::Str(s) => {
            let t = s.trim();
            parse_go_int(t).unwrap_or_else(|| t.parse::<f64>().map(|f| f as i64).unwrap_or(0))
        }
        _ => 0,
    }
}

fn parse_go_int(t: &str) -> Option<i64> {
    let (neg, b) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let l = b.to_ascii_lowercase();
    let v = if let Some(h) = l.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = l.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(x) = l.strip_prefix("0b") {
        i64::from_str_radix(x, 2).ok()
    } else if l.len() > 1 && l.starts_with('0') {
        i64::from_str_radix(&l[1..], 8).ok()
    } else {
        l.parse::<i64>().ok()
    }?;
    Some(if neg { -v } else { v })
}

pub fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        Value::Str(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn iarg(args: &[Value], i: usize) -> i64 {
    args.get(i).map(to_i64).unwrap_or(0)
}

/// sprig's `empty`.
pub fn is_empty(v: &Value) -> bool {
    !v.truthy()
}

fn list_of(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::List(l) => Ok(l.as_ref().clone()),
        Value::Nil => Ok(Vec::new()),
        other => Err(format!("Cannot find first on type {}", other.type_name())),
    }
}

fn map_arg(args: &[Value], i: usize) -> Result<Rc<RefCell<Map>>, String> {
    match args.get(i) {
        Some(Value::Map(m)) => Ok(m.clone()),
        Some(Value::Nil) | None => Ok(Rc::new(RefCell::new(Map::new()))),
        Some(v) => Err(format!(
            "wrong type for value; expected map[string]interface {{}}; got {}",
            v.type_name()
        )),
    }
}

/// Calls function `name` on evaluated arguments.
pub fn call(name: &str, args: &[Value]) -> R {
    if let Some(r) = call_inner(name, args) {
        return r;
    }
    // `mustX` is `X` returning its error; ours always return errors.
    if let Some(rest) = name.strip_prefix("must") {
        let lowered = {
            let mut c = rest.chars();
            match c.next() {
                Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        };
        if let Some(r) = call_inner(&lowered, args).or_else(|| call_inner(rest, args)) {
            return r;
        }
    }
    Err(format!("function {name:?} not defined"))
}

fn call_inner(name: &str, a: &[Value]) -> Option<R> {
    let s = |i: usize| sarg(a, i);
    let last = || a.last().cloned().unwrap_or_default();
    let r: R = match name {
        // ---- Go builtins
        "not" => Ok(Value::Bool(!a.first().is_some_and(|v| v.truthy()))),
        "len" => match a.first() {
            Some(Value::Str(x)) => Ok(Value::Int(x.len() as i64)),
            Some(Value::List(l)) => Ok(Value::Int(l.len() as i64)),
            Some(Value::Map(m)) => Ok(Value::Int(m.borrow().len() as i64)),
            Some(Value::Nil) | None => Err("len of nil pointer".into()),
            Some(v) => Err(format!("len of type {}", v.type_name())),
        },
        "index" => index(a),
        "slice" => slice(a),
        "print" => Ok(Value::from(sprint(a))),
        "println" => Ok(Value::from(
            a.iter().map(strval_print).collect::<Vec<_>>().join(" ") + "\n",
        )),
        "printf" => Ok(Value::from(sprintf(&s(0), &a[1.min(a.len())..]))),
        "html" => Ok(Value::from(html_escape(&sprint(a)))),
        "js" => Ok(Value::from(js_escape(&sprint(a)))),
        "urlquery" => Ok(Value::from(urlquery(&sprint(a)))),
        "eq" => {
            if a.len() < 2 {
                return Some(Err("missing argument for comparison".into()));
            }
            let mut any = false;
            for b in &a[1..] {
                match go_eq(&a[0], b) {
                    Ok(true) => any = true,
                    Ok(false) => {}
                    Err(e) => return Some(Err(e)),
                }
            }
            Ok(Value::Bool(any))
        }
        "ne" => cmp2(a, |x, y| go_eq(x, y).map(|b| !b)),
        "lt" => cmp2(a, go_lt),
        "le" => cmp2(a, |x, y| Ok(go_lt(x, y)? || go_eq(x, y)?)),
        "gt" => cmp2(a, |x, y| Ok(!(go_lt(x, y)? || go_eq(x, y)?))),
        "ge" => cmp2(a, |x, y| Ok(!go_lt(x, y)?)),
        // ---- Helm
        "toYaml" | "toYamlPretty" => Ok(Value::from(values::to_yaml(&last()))),
        "mustToYaml" => Ok(Value::from(values::to_yaml(&last()))),
        "fromYaml" => Ok(match values::from_yaml_str(&s(0)) {
            Ok(Value::Map(m)) => Value::Map(m),
            Ok(Value::Nil) => Value::map(Map::new()),
            Ok(_) => error_map("json: cannot unmarshal array into Go value of type map[string]interface {}"),
            Err(e) => error_map(&e),
        }),
        "fromYamlArray" => Ok(match values::from_yaml_str(&s(0)) {
            Ok(Value::List(l)) => Value::List(l),
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(_) => Value::list(vec![Value::from(
                "error unmarshaling JSON: json: cannot unmarshal object into Go value of type []interface {}",
            )]),
            Err(e) => Value::list(vec![Value::from(e)]),
        }),
        "toJson" => Ok(Value::from(values::to_json(&last(), false))),
        "toRawJson" => Ok(Value::from(values::to_json(&last(), true))),
        "toPrettyJson" => Ok(Value::from(values::to_pretty_json(&last()))),
        "fromJson" => Ok(match serde_json::from_str::<serde_json::Value>(&s(0)) {
            Ok(j @ serde_json::Value::Object(_)) => values::from_json(&j),
            Ok(_) => error_map("json: cannot unmarshal into map"),
            Err(e) => error_map(&e.to_string()),
        }),
        "fromJsonArray" => Ok(match serde_json::from_str::<serde_json::Value>(&s(0)) {
            Ok(j @ serde_json::Value::Array(_)) => values::from_json(&j),
            Ok(_) => Value::list(vec![Value::from("json: cannot unmarshal into array")]),
            Err(e) => Value::list(vec![Value::from(e.to_string())]),
        }),
        "required" => {
            let v = a.get(1).cloned().unwrap_or_default();
            match &v {
                Value::Nil => Err(s(0)),
                Value::Str(x) if x.is_empty() => Err(s(0)),
                _ => Ok(v),
            }
        }
        "fail" => Err(s(0)),
        // `helm template` has no cluster: lookup finds nothing.
        "lookup" => Ok(Value::map(Map::new())),
        "toToml" => Err("toToml is not supported by kgate".into()),
        // ---- sprig strings
        "hello" => Ok(Value::from("Hello!")),
        "upper" => Ok(Value::from(s(0).to_uppercase())),
        "lower" => Ok(Value::from(s(0).to_lowercase())),
        "title" => Ok(Value::from(title(&s(0)))),
        "untitle" => Ok(Value::from(untitle(&s(0)))),
        "substr" => {
            let st = s(2);
            let (b, e) = (iarg(a, 0), iarg(a, 1));
            let n = st.len() as i64;
            let out = if b < 0 {
                st[..e.clamp(0, n) as usize].to_string()
            } else if e < 0 || e > n {
                st[b.min(n) as usize..].to_string()
            } else {
                st[b.min(e) as usize..e as usize].to_string()
            };
            Ok(Value::from(out))
        }
        "repeat" => Ok(Value::from(s(1).repeat(iarg(a, 0).max(0) as usize))),
        "trim" => Ok(Value::from(s(0).trim().to_string())),
        "trimAll" => {
            let cut: Vec<char> = s(0).chars().collect();
            Ok(Value::from(s(1).trim_matches(|c| cut.contains(&c)).to_string()))
        }
        "trimSuffix" => Ok(Value::from(
            s(1).strip_suffix(s(0).as_str()).map(str::to_string).unwrap_or_else(|| s(1)),
        )),
        "trimPrefix" => Ok(Value::from(
            s(1).strip_prefix(s(0).as_str()).map(str::to_string).unwrap_or_else(|| s(1)),
        )),
        "nospace" => Ok(Value::from(s(0).chars().filter(|c| !c.is_whitespace()).collect::<String>())),
        "initials" => Ok(Value::from(
            s(0).split_whitespace().filter_map(|w| w.chars().next()).collect::<String>(),
        )),
        "trunc" => {
            let st = s(1);
            let n = iarg(a, 0);
            let len = st.len() as i64;
            Ok(Value::from(if n < 0 && -n < len {
                st[(len + n) as usize..].to_string()
            } else if n >= 0 && len > n {
                st[..n as usize].to_string()
            } else {
                st
            }))
        }
        "abbrev" => {
            let (w, st) = (iarg(a, 0), s(1));
            Ok(Value::from(if w < 4 || st.len() as i64 <= w {
                st
            } else {
                format!("{}...", &st[..(w - 3) as usize])
            }))
        }
        "abbrevboth" => Ok(Value::from(s(2))),
        "randAlphaNum" | "randAlpha" | "randNumeric" | "randAscii" => {
            let n = iarg(a, 0).max(0) as usize;
            let pool: &[u8] = match name {
                "randAlpha" => b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                "randNumeric" => b"0123456789",
                _ => b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            };
            Ok(Value::from(
                (0..n).map(|i| pool[(i * 7 + 3) % pool.len()] as char).collect::<String>(),
            ))
        }
        "randBytes" => Ok(Value::from(base64::engine::general_purpose::STANDARD.encode(vec![0u8; iarg(a, 0).max(0) as usize]))),
        "randInt" => Ok(Value::Int(iarg(a, 0))),
        "uuidv4" => Ok(Value::from("00000000-0000-4000-8000-000000000000")),
        "swapcase" => Ok(Value::from(
            s(0).chars()
                .map(|c| if c.is_uppercase() { c.to_lowercase().next().unwrap_or(c) } else { c.to_uppercase().next().unwrap_or(c) })
                .collect::<String>(),
        )),
        "shuffle" => Ok(Value::from(s(0))),
        "snakecase" => Ok(Value::from(snake(&s(0), '_'))),
        "kebabcase" => Ok(Value::from(snake(&s(0), '-'))),
        "camelcase" => Ok(Value::from(
            s(0).split(['_', ' ', '-'])
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
                })
                .collect::<String>(),
        )),
        "wrap" => Ok(Value::from(wrap(&s(1), iarg(a, 0) as usize, "\n"))),
        "wrapWith" => Ok(Value::from(wrap(&s(2), iarg(a, 0) as usize, &s(1)))),
        "contains" => Ok(Value::Bool(s(1).contains(s(0).as_str()))),
        "hasPrefix" => Ok(Value::Bool(s(1).starts_with(s(0).as_str()))),
        "hasSuffix" => Ok(Value::Bool(s(1).ends_with(s(0).as_str()))),
        "quote" => Ok(Value::from(
            a.iter().filter(|v| !v.is_nil()).map(|v| go_quote(&strval(v))).collect::<Vec<_>>().join(" "),
        )),
        "squote" => Ok(Value::from(
            a.iter().filter(|v| !v.is_nil()).map(|v| format!("'{}'", strval(v))).collect::<Vec<_>>().join(" "),
        )),
        "cat" => Ok(Value::from(
            a.iter().filter(|v| !v.is_nil()).map(strval).collect::<Vec<_>>().join(" "),
        )),
        "indent" => Ok(Value::from(indent(iarg(a, 0), &s(1)))),
        "nindent" => Ok(Value::from(format!("\n{}", indent(iarg(a, 0), &s(1))))),
        "replace" => Ok(Value::from(s(2).replace(s(0).as_str(), &s(1)))),
        "plural" => Ok(if iarg(a, 2) == 1 { a[0].clone() } else { a.get(1).cloned().unwrap_or_default() }),
        "sha1sum" => Ok(Value::from(hex(&sha1(s(0).as_bytes())))),
        "sha256sum" => Ok(Value::from(hex(&sha2::Sha256::digest(s(0).as_bytes())))),
        "sha512sum" => Ok(Value::from(hex(&sha2::Sha512::digest(s(0).as_bytes())))),
        "adler32sum" => Ok(Value::from(adler32(s(0).as_bytes()).to_string())),
        "toString" => Ok(Value::from(strval(&a.first().cloned().unwrap_or_default()))),
        "toStrings" => Ok(Value::list(
            list_of(&a.first().cloned().unwrap_or_default()).unwrap_or_default().iter().map(|v| Value::from(strval(v))).collect(),
        )),
        "atoi" => Ok(Value::Int(s(0).trim().parse::<i64>().unwrap_or(0))),
        "int" | "int64" => Ok(Value::Int(iarg(a, 0))),
        "float64" => Ok(Value::Float(a.first().map(to_f64).unwrap_or(0.0))),
        "toDecimal" => Ok(Value::Int(i64::from_str_radix(&s(0), 8).unwrap_or(0))),
        "split" => {
            let mut m = Map::new();
            for (i, p) in s(1).split(s(0).as_str()).enumerate() {
                m.insert(format!("_{i}"), Value::from(p));
            }
            Ok(Value::map(m))
        }
        "splitn" => {
            let mut m = Map::new();
            for (i, p) in s(2).splitn(iarg(a, 1).max(0) as usize, s(0).as_str()).enumerate() {
                m.insert(format!("_{i}"), Value::from(p));
            }
            Ok(Value::map(m))
        }
        "splitList" => Ok(Value::list(s(1).split(s(0).as_str()).map(Value::from).collect())),
        "join" => {
            let items: Vec<String> = match a.get(1) {
                Some(Value::List(l)) => l.iter().filter(|v| !v.is_nil()).map(strval).collect(),
                Some(Value::Str(x)) => vec![x.to_string()],
                Some(Value::Nil) | None => Vec::new(),
                Some(v) => vec![strval(v)],
            };
            Ok(Value::from(items.join(&s(0))))
        }
        "sortAlpha" => {
            let mut items: Vec<String> = match a.first() {
                Some(Value::List(l)) => l.iter().map(strval).collect(),
                Some(v) => vec![strval(v)],
                None => Vec::new(),
            };
            items.sort();
            Ok(Value::list(items.into_iter().map(Value::from).collect()))
        }
        // ---- defaults and logic
        "default" => Ok(match a.get(1) {
            Some(v) if !is_empty(v) => v.clone(),
            _ => a.first().cloned().unwrap_or_default(),
        }),
        "empty" => Ok(Value::Bool(a.first().is_none_or(is_empty))),
        "coalesce" => Ok(a.iter().find(|v| !is_empty(v)).cloned().unwrap_or_default()),
        "all" => Ok(Value::Bool(a.iter().all(|v| !is_empty(v)))),
        "any" => Ok(Value::Bool(a.iter().any(|v| !is_empty(v)))),
        "ternary" => Ok(if a.get(2).is_some_and(|v| v.truthy()) { a[0].clone() } else { a.get(1).cloned().unwrap_or_default() }),
        "typeOf" => Ok(Value::from(a.first().map(|v| v.type_name()).unwrap_or("<nil>"))),
        "typeIs" => Ok(Value::Bool(s(0) == a.get(1).map(|v| v.type_name()).unwrap_or("<nil>"))),
        "typeIsLike" => {
            let t = a.get(1).map(|v| v.type_name()).unwrap_or("<nil>");
            Ok(Value::Bool(s(0) == t || s(0) == format!("*{t}")))
        }
        "kindOf" => Ok(Value::from(a.first().map(|v| v.kind_name()).unwrap_or("invalid"))),
        "kindIs" => Ok(Value::Bool(s(0) == a.get(1).map(|v| v.kind_name()).unwrap_or("invalid"))),
        "deepEqual" => Ok(Value::Bool(deep_equal(&a[0], a.get(1).unwrap_or(&Value::Nil)))),
        "deepCopy" => Ok(a.first().cloned().unwrap_or_default()),
        // ---- encoding
        "b64enc" => Ok(Value::from(base64::engine::general_purpose::STANDARD.encode(s(0)))),
        "b64dec" => Ok(Value::from(
            base64::engine::general_purpose::STANDARD
                .decode(s(0))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|e| e.to_string()),
        )),
        "b32enc" => Ok(Value::from(base32(s(0).as_bytes()))),
        // ---- math
        "add1" => Ok(Value::Int(iarg(a, 0) + 1)),
        "add" => Ok(Value::Int(a.iter().map(to_i64).sum())),
        "sub" => Ok(Value::Int(iarg(a, 0) - iarg(a, 1))),
        "mul" => Ok(Value::Int(a.iter().map(to_i64).product())),
        "div" => {
            let d = iarg(a, 1);
            if d == 0 {
                Err("runtime error: integer divide by zero".into())
            } else {
                Ok(Value::Int(iarg(a, 0) / d))
            }
        }
        "mod" => {
            let d = iarg(a, 1);
            if d == 0 {
                Err("runtime error: integer divide by zero".into())
            } else {
                Ok(Value::Int(iarg(a, 0) % d))
            }
        }
        "max" | "biggest" => Ok(Value::Int(a.iter().map(to_i64).max().unwrap_or(0))),
        "min" => Ok(Value::Int(a.iter().map(to_i64).min().unwrap_or(0))),
        "add1f" => Ok(Value::Float(to_f64(&a[0]) + 1.0)),
        "addf" => Ok(Value::Float(a.iter().map(to_f64).sum())),
        "subf" => Ok(Value::Float(a.iter().skip(1).fold(to_f64(&a[0]), |x, y| x - to_f64(y)))),
        "mulf" => Ok(Value::Float(a.iter().map(to_f64).product())),
        "divf" => Ok(Value::Float(a.iter().skip(1).fold(to_f64(&a[0]), |x, y| x / to_f64(y)))),
        "maxf" => Ok(Value::Float(a.iter().map(to_f64).fold(f64::MIN, f64::max))),
        "minf" => Ok(Value::Float(a.iter().map(to_f64).fold(f64::MAX, f64::min))),
        "floor" => Ok(Value::Float(to_f64(&a[0]).floor())),
        "ceil" => Ok(Value::Float(to_f64(&a[0]).ceil())),
        "round" => {
            let p = 10f64.powi(iarg(a, 1) as i32);
            let half = a.get(2).map(to_f64).unwrap_or(0.5);
            let x = to_f64(&a[0]) * p;
            let r = if x.fract().abs() >= half { x.trunc() + x.signum() } else { x.trunc() };
            Ok(Value::Float(r / p))
        }
        "until" => Ok(Value::list(range_step(0, iarg(a, 0), if iarg(a, 0) < 0 { -1 } else { 1 }))),
        "untilStep" => Ok(Value::list(range_step(iarg(a, 0), iarg(a, 1), iarg(a, 2)))),
        "seq" => Ok(Value::from(seq(&a.iter().map(to_i64).collect::<Vec<_>>()))),
        // ---- lists
        "list" | "tuple" => Ok(Value::list(a.to_vec())),
        "append" | "push" => {
            let mut l = match list_of(&a[0]) { Ok(l) => l, Err(_) => return Some(Err(format!("Cannot push on type {}", a[0].type_name()))) };
            l.push(a.get(1).cloned().unwrap_or_default());
            Ok(Value::list(l))
        }
        "prepend" => {
            let mut l = match list_of(&a[0]) { Ok(l) => l, Err(_) => return Some(Err(format!("Cannot prepend on type {}", a[0].type_name()))) };
            l.insert(0, a.get(1).cloned().unwrap_or_default());
            Ok(Value::list(l))
        }
        "first" => Ok(list_of(&a[0]).ok().and_then(|l| l.first().cloned()).unwrap_or_default()),
        "last" => Ok(list_of(&a[0]).ok().and_then(|l| l.last().cloned()).unwrap_or_default()),
        "rest" => Ok(list_of(&a[0]).map(|l| if l.is_empty() { Value::Nil } else { Value::list(l[1..].to_vec()) }).unwrap_or_default()),
        "initial" => Ok(list_of(&a[0]).map(|l| if l.is_empty() { Value::Nil } else { Value::list(l[..l.len() - 1].to_vec()) }).unwrap_or_default()),
        "reverse" => Ok(list_of(&a[0]).map(|mut l| { l.reverse(); Value::list(l) }).unwrap_or_default()),
        "uniq" => Ok(list_of(&a[0]).map(|l| {
            let mut out: Vec<Value> = Vec::new();
            for x in l { if !out.iter().any(|y| deep_equal(&x, y)) { out.push(x) } }
            Value::list(out)
        }).unwrap_or_default()),
        "without" => Ok(list_of(&a[0]).map(|l| Value::list(l.into_iter().filter(|x| !a[1..].iter().any(|y| deep_equal(x, y))).collect())).unwrap_or_default()),
        "has" => Ok(Value::Bool(a.get(1).and_then(|l| list_of(l).ok()).is_some_and(|l| l.iter().any(|x| deep_equal(x, &a[0]))))),
        "compact" => Ok(list_of(&a[0]).map(|l| Value::list(l.into_iter().filter(|x| !is_empty(x)).collect())).unwrap_or_default()),
        "concat" => {
            let mut out = Vec::new();
            for l in a { out.extend(list_of(l).unwrap_or_default()); }
            Ok(Value::list(out))
        }
        "chunk" => {
            let n = iarg(a, 0).max(1) as usize;
            let l = list_of(&a[1]).unwrap_or_default();
            Ok(Value::list(l.chunks(n).map(|c| Value::list(c.to_vec())).collect()))
        }
        // ---- dicts
        "dict" => {
            let mut m = Map::new();
            for p in a.chunks(2) {
                m.insert(strval(&p[0]), p.get(1).cloned().unwrap_or_default());
            }
            Ok(Value::map(m))
        }
        "get" => Ok(map_arg(a, 0).map(|m| m.borrow().get(&s(1)).cloned().unwrap_or_else(|| Value::from(""))).unwrap_or_default()),
        "set" => {
            // sprig's set mutates the dict in place: Go maps are references, so every holder of
            // the map (a variable, `.Values`) sees the new key. No borrow is live across a call.
            let Some(Value::Map(m)) = a.first() else { return Some(Err("set: not a dict".into())) };
            let v = a.get(2).cloned().unwrap_or_default();
            if reaches(&v, m) {
                return Some(Err("set: the value holds the dict itself (a cycle Helm cannot print)".into()));
            }
            m.borrow_mut().insert(s(1), v);
            Ok(a[0].clone())
        }
        "unset" => {
            let Some(Value::Map(m)) = a.first() else { return Some(Err("unset: not a dict".into())) };
            m.borrow_mut().remove(&s(1));
            Ok(a[0].clone())
        }
        "hasKey" => Ok(Value::Bool(map_arg(a, 0).is_ok_and(|m| m.borrow().contains_key(&s(1))))),
        "pluck" => {
            let k = s(0);
            Ok(Value::list(a[1..].iter().filter_map(|d| match d { Value::Map(m) => m.borrow().get(&k).cloned(), _ => None }).collect()))
        }
        "keys" => {
            let mut out = Vec::new();
            for d in a { if let Value::Map(m) = d { out.extend(m.borrow().keys().map(|k| Value::from(k.as_str()))); } }
            Ok(Value::list(out))
        }
        "values" => Ok(map_arg(a, 0).map(|m| Value::list(m.borrow().values().cloned().collect())).unwrap_or_default()),
        "pick" => Ok(map_arg(a, 0).map(|m| {
            let ks: Vec<String> = a[1..].iter().map(strval).collect();
            Value::map(m.borrow().iter().filter(|(k, _)| ks.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
        }).unwrap_or_default()),
        "omit" => Ok(map_arg(a, 0).map(|m| {
            let ks: Vec<String> = a[1..].iter().map(strval).collect();
            Value::map(m.borrow().iter().filter(|(k, _)| !ks.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
        }).unwrap_or_default()),
        "merge" | "mergeOverwrite" => {
            let Some(Value::Map(dst)) = a.first() else { return Some(Err("merge: destination is not a dict".into())) };
            // Merged into a copy first: a source may be the destination itself.
            if a[1..].iter().any(|src| matches!(src, Value::Map(sm) if !Rc::ptr_eq(sm, dst) && reaches(src, dst))) {
                return Some(Err(format!("{name}: a source holds the destination dict (a cycle Helm cannot print)")));
            }
            let mut out = dst.borrow().clone();
            for src in &a[1..] {
                if let Value::Map(sm) = src {
                    let sm = sm.borrow();
                    if name == "merge" { merge_missing(&mut out, &sm) } else { values::merge_over(&mut out, &sm) }
                }
            }
            // sprig mutates and returns the destination.
            *dst.borrow_mut() = out;
            Ok(a[0].clone())
        }
        "dig" => {
            let n = a.len();
            if n < 3 { return Some(Err("dig needs keys, a default and a dict".into())) }
            let mut cur = a[n - 1].clone();
            for k in &a[..n - 2] {
                match &cur {
                    Value::Map(m) => {
                        let next = m.borrow().get(&strval(k)).cloned();
                        match next { Some(v) => cur = v, None => return Some(Ok(a[n - 2].clone())) }
                    }
                    _ => return Some(Ok(a[n - 2].clone())),
                }
            }
            Ok(cur)
        }
        // ---- regex
        "regexMatch" => regex(&s(0)).map(|re| Value::Bool(re.is_match(&s(1)))),
        "regexFind" => regex(&s(0)).map(|re| Value::from(re.find(&s(1)).map(|m| m.as_str().to_string()).unwrap_or_default())),
        "regexFindAll" => regex(&s(0)).map(|re| {
            let n = iarg(a, 2);
            let text = s(1);
            let it = re.find_iter(&text).map(|m| Value::from(m.as_str()));
            Value::list(if n < 0 { it.collect() } else { it.take(n as usize).collect() })
        }),
        "regexReplaceAll" => regex(&s(0)).map(|re| Value::from(re.replace_all(&s(1), go_repl(&s(2)).as_str()).into_owned())),
        "regexReplaceAllLiteral" => regex(&s(0)).map(|re| Value::from(re.replace_all(&s(1), regex::NoExpand(&s(2))).into_owned())),
        "regexSplit" => regex(&s(0)).map(|re| {
            let n = iarg(a, 2);
            let text = s(1);
            Value::list(if n < 0 { re.split(&text).map(Value::from).collect() } else { re.splitn(&text, n as usize).map(Value::from).collect() })
        }),
        "regexQuoteMeta" => Ok(Value::from(regex::escape(&s(0)))),
        // ---- semver
        "semverCompare" => semver_compare(&s(0), &s(1)).map(Value::Bool),
        "semver" => parse_semver(&s(0)).map(|v| {
            let mut m = Map::new();
            m.insert("Major".into(), Value::Int(v.0 as i64));
            m.insert("Minor".into(), Value::Int(v.1 as i64));
            m.insert("Patch".into(), Value::Int(v.2 as i64));
            m.insert("Prerelease".into(), Value::from(v.3.as_str()));
            Value::map(m)
        }),
        // ---- paths and urls
        "base" => Ok(Value::from(path_base(&s(0)))),
        "dir" => Ok(Value::from(path_dir(&s(0)))),
        "ext" => Ok(Value::from({ let b = path_base(&s(0)); b.rfind('.').map(|i| b[i..].to_string()).unwrap_or_default() })),
        "clean" => Ok(Value::from(path_clean(&s(0)))),
        "isAbs" => Ok(Value::Bool(s(0).starts_with('/'))),
        // ---- dates: fixed (deterministic) clock, see the module note.
        "now" => Ok(Value::from("2024-01-01 00:00:00 +0000 UTC")),
        "date" | "dateInZone" | "htmlDate" | "htmlDateInZone" | "ago" | "dateModify" | "toDate" | "unixEpoch" | "duration" | "durationRound" => Err(format!("{name} is not supported by kgate (time-dependent output)")),
        "genCA" | "genPrivateKey" | "genSelfSignedCert" | "genSignedCert" | "derivePassword" | "encryptAES" | "decryptAES" | "bcrypt" | "htpasswd" | "buildCustomCert" | "genCAWithKey" | "genSelfSignedCertWithKey" | "genSignedCertWithKey" => Err(format!("{name} is not supported by kgate (random key material)")),
        "getHostByName" | "env" | "expandenv" => Err(format!("{name} is not available in Helm templates")),
        _ => return None,
    };
    Some(r)
}

fn error_map(msg: &str) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::from(msg));
    Value::map(m)
}

fn cmp2(a: &[Value], f: impl Fn(&Value, &Value) -> Result<bool, String>) -> R {
    if a.len() != 2 {
        return Err(format!("wrong number of args: want 2 got {}", a.len()));
    }
    f(&a[0], &a[1]).map(Value::Bool)
}

fn merge_missing(dst: &mut Map, src: &Map) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (None, _) => {
                dst.insert(k.clone(), v.clone());
            }
            (Some(Value::Map(dm)), Value::Map(sm)) => {
                merge_missing(Rc::make_mut(dm).get_mut(), &sm.borrow())
            }
            _ => {}
        }
    }
}

fn index(a: &[Value]) -> R {
    let mut cur = a.first().cloned().unwrap_or_default();
    for k in &a[1.min(a.len())..] {
        cur = match (&cur, k) {
            (Value::Map(m), _) => m.borrow().get(&strval(k)).cloned().unwrap_or_default(),
            (Value::List(l), Value::Int(_) | Value::Float(_)) => {
                let i = to_i64(k);
                if i < 0 || i as usize >= l.len() {
                    return Err(format!("error calling index: index out of range: {i}"));
                }
                l[i as usize].clone()
            }
            (Value::Str(s), Value::Int(_)) => {
                let i = to_i64(k);
                match s.as_bytes().get(i as usize) {
                    Some(b) if i >= 0 => Value::Int(*b as i64),
                    _ => return Err(format!("error calling index: index out of range: {i}")),
                }
            }
            (Value::Nil, _) => return Err("error calling index: index of untyped nil".into()),
            (v, _) => {
                return Err(format!(
                    "error calling index: can't index item of type {}",
                    v.type_name()
                ))
            }
        };
    }
    Ok(cur)
}

fn slice(a: &[Value]) -> R {
    let item = a.first().cloned().unwrap_or_default();
    let idx: Vec<i64> = a[1.min(a.len())..].iter().map(to_i64).collect();
    match &item {
        Value::List(l) => {
            let n = l.len() as i64;
            let i = *idx.first().unwrap_or(&0);
            let j = *idx.get(1).unwrap_or(&n);
            if i < 0 || j < i || j > n {
                return Err(format!("error calling slice: index out of range: {j}"));
            }
            Ok(Value::list(l[i as usize..j as usize].to_vec()))
        }
        Value::Str(s) => {
            let n = s.len() as i64;
            let i = *idx.first().unwrap_or(&0);
            let j = *idx.get(1).unwrap_or(&n);
            if i < 0 || j < i || j > n {
                return Err(format!("error calling slice: index out of range: {j}"));
            }
            Ok(Value::from(
                s.get(i as usize..j as usize).unwrap_or("").to_string(),
            ))
        }
        Value::Nil => Err("error calling slice: slice of untyped nil".into()),
        v => Err(format!(
            "error calling slice: can't slice item of type {}",
            v.type_name()
        )),
    }
}

fn strval_print(v: &Value) -> String {
    v.to_go_string()
}

/// `fmt.Sprint`: a space between operands when neither is a string.
pub fn sprint(a: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in a.iter().enumerate() {
        if i > 0 && !matches!(v, Value::Str(_)) && !matches!(a[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&v.to_go_string());
    }
    out
}

/// Go's `fmt.Sprintf` for the verbs templates use.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    let mut argi = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let (mut minus, mut plus, mut zero, mut space, mut sharp) =
            (false, false, false, false, false);
        while i < chars.len() {
            match chars[i] {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => sharp = true,
                _ => break,
            }
            i += 1;
        }
        let mut width: Option<usize> = None;
        if i < chars.len() && chars[i] == '*' {
            width = Some(args.get(argi).map(to_i64).unwrap_or(0).max(0) as usize);
            argi += 1;
            i += 1;
        } else {
            let st = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i > st {
                width = chars[st..i].iter().collect::<String>().parse().ok();
            }
        }
        let mut prec: Option<usize> = None;
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            let st = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            prec = Some(chars[st..i].iter().collect::<String>().parse().unwrap_or(0));
        }
        let Some(&verb) = chars.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        let body = format_verb(verb, arg, prec, plus, space, sharp);
        // A verb that does not fit the argument prints `%!d(type=value)` with the padding
        // applied to the value inside, as fmt does.
        if let Some(inner) = body
            .strip_prefix(&format!("%!{verb}("))
            .filter(|_| width.is_some() && !arg.is_nil())
        {
            let (ty, val) = inner
                .trim_end_matches(')')
                .split_once('=')
                .unwrap_or(("", ""));
            let w = width.unwrap_or(0);
            let len = val.chars().count();
            let padded = if w <= len {
                val.to_string()
            } else if minus {
                format!("{val}{}", " ".repeat(w - len))
            } else if zero {
                format!("{}{val}", "0".repeat(w - len))
            } else {
                format!("{}{val}", " ".repeat(w - len))
            };
            let _ = write!(out, "%!{verb}({ty}={padded})");
            continue;
        }
        let len = body.chars().count();
        match width {
            Some(w) if w > len => {
                let fill = w - len;
                if minus {
                    out.push_str(&body);
                    out.push_str(&" ".repeat(fill));
                } else if zero
                    && matches!(arg, Value::Int(_) | Value::Float(_))
                    && verb != 's'
                    && verb != 'v'
                    || zero && matches!(verb, 'd' | 'f' | 'x' | 'X')
                {
                    let (sign, digits) = if body.starts_with(['-', '+']) {
                        body.split_at(1)
                    } else {
                        ("", body.as_str())
                    };
                    out.push_str(sign);
                    out.push_str(&"0".repeat(fill));
                    out.push_str(digits);
                } else {
                    out.push_str(&" ".repeat(fill));
                    out.push_str(&body);
                }
            }
            _ => out.push_str(&body),
        }
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|v| format!("{}={}", v.type_name(), v.to_go_string()))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn bad_verb(verb: char, v: &Value) -> String {
    match v {
        Value::Nil => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", v.type_name(), v.to_go_string()),
    }
}

fn format_verb(
    verb: char,
    v: &Value,
    prec: Option<usize>,
    plus: bool,
    space: bool,
    sharp: bool,
) -> String {
    let sign = |s: String, neg: bool| {
        if neg {
            s
        } else if plus {
            format!("+{s}")
        } else if space {
            format!(" {s}")
        } else {
            s
        }
    };
    match verb {
        'v' => match v {
            Value::Float(f) => sign(
                match prec {
                    Some(p) => format_g_prec(*f, p),
                    None => format_float_g(*f),
                },
                *f < 0.0,
            ),
            Value::Int(i) => sign(i.to_string(), *i < 0),
            Value::Str(s) if sharp => go_quote(s),
            _ => v.to_go_string(),
        },
        's' => match v {
            Value::Str(s) => match prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            },
            Value::Nil => "%!s(<nil>)".into(),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => bad_verb('s', v),
            _ => v.to_go_string(),
        },
        'q' => match v {
            Value::Str(s) => go_quote(s),
            Value::Int(i) => format!("'{}'", char::from_u32(*i as u32).unwrap_or('\u{fffd}')),
            _ => bad_verb('q', v),
        },
        'd' => match v {
            Value::Int(i) => sign(i.to_string(), *i < 0),
            Value::List(l) => format!(
                "[{}]",
                l.iter()
                    .map(|x| format_verb('d', x, prec, plus, space, sharp))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            _ => bad_verb('d', v),
        },
        'f' | 'F' => match v {
            Value::Float(f) => sign(format!("{:.*}", prec.unwrap_or(6), f), *f < 0.0),
            _ => bad_verb(verb, v),
        },
        'e' => match v {
            Value::Float(f) => {
                let s = format!("{:.*e}", prec.unwrap_or(6), f);
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                let e: i32 = e.parse().unwrap_or(0);
                sign(
                    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()),
                    *f < 0.0,
                )
            }
            _ => bad_verb('e', v),
        },
        'g' => match v {
            Value::Float(f) => sign(
                match prec {
                    Some(p) => format_g_prec(*f, p),
                    None => format_float_g(*f),
                },
                *f < 0.0,
            ),
            _ => bad_verb('g', v),
        },
        't' => match v {
            Value::Bool(b) => b.to_string(),
            _ => bad_verb('t', v),
        },
        'x' | 'X' => {
            let s = match v {
                Value::Int(i) => {
                    if *i < 0 {
                        format!("-{:x}", -i)
                    } else {
                        format!("{i:x}")
                    }
                }
                Value::Str(s) => s.bytes().map(|b| format!("{b:02x}")).collect(),
                _ => return bad_verb(verb, v),
            };
            if verb == 'X' {
                s.to_uppercase()
            } else {
                s
            }
        }
        'o' => match v {
            Value::Int(i) => format!("{i:o}"),
            _ => bad_verb('o', v),
        },
        'b' => match v {
            Value::Int(i) => format!("{i:b}"),
            _ => bad_verb('b', v),
        },
        'c' => match v {
            Value::Int(i) => char::from_u32(*i as u32).unwrap_or('\u{fffd}').to_string(),
            _ => bad_verb('c', v),
        },
        'T' => v.type_name().to_string(),
        _ => bad_verb(verb, v),
    }
}

fn format_g_prec(f: f64, p: usize) -> String {
    let p = p.max(1);
    let s = format!("{:.*e}", p - 1, f);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = e.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let s = format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, f);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

fn title(s: &str) -> String {
    let mut out = String::new();
    let mut prev_letter = false;
    for c in s.chars() {
        if !prev_letter {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
    }
    out
}

fn untitle(s: &str) -> String {
    let mut out = String::new();
    let mut prev_space = true;
    for c in s.chars() {
        if prev_space {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_space = c.is_whitespace();
    }
    out
}

fn snake(s: &str, sep: char) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0
                && (prev_lower || (next_lower && chars[i - 1].is_uppercase()))
                && !out.ends_with(sep)
            {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        } else if c == ' ' || c == '-' || c == '_' {
            if !out.ends_with(sep) {
                out.push(sep);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn wrap(s: &str, width: usize, nl: &str) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for (i, w) in s.split(' ').enumerate() {
        if i > 0 {
            if line_len + 1 + w.len() > width.max(1) {
                out.push_str(nl);
                line_len = 0;
            } else {
                out.push(' ');
                line_len += 1;
            }
        }
        out.push_str(w);
        line_len += w.len();
    }
    out
}

/// sprig's `indent`: every line, including empty ones, gets the padding.
pub fn indent(n: i64, s: &str) -> String {
    let pad = " ".repeat(n.max(0) as usize);
    let mut out = String::with_capacity(s.len() + pad.len());
    out.push_str(&pad);
    for c in s.chars() {
        out.push(c);
        if c == '\n' {
            out.push_str(&pad);
        }
    }
    out
}

fn range_step(start: i64, stop: i64, step: i64) -> Vec<Value> {
    let mut out = Vec::new();
    if step == 0 {
        return out;
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(Value::Int(i));
        i += step;
        if out.len() > 1_000_000 {
            break;
        }
    }
    out
}

fn seq(p: &[i64]) -> String {
    let (start, step, end) = match p.len() {
        1 => (1, 1, p[0]),
        2 => (p[0], if p[1] >= p[0] { 1 } else { -1 }, p[1]),
        3 => (p[0], p[1], p[2]),
        _ => return String::new(),
    };
    let mut out = Vec::new();
    let mut i = start;
    if step == 0 {
        return String::new();
    }
    while (step > 0 && i <= end) || (step < 0 && i >= end) {
        out.push(i.to_string());
        i += step;
        if out.len() > 1_000_000 {
            break;
        }
    }
    out.join(" ")
}

fn regex(p: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(p).map_err(|e| e.to_string())
}

/// Go's `${1}`/`$name` replacement syntax is Rust's, except `$1x` (Go reads the name `1x`).
fn go_repl(s: &str) -> String {
    s.to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &d in data {
        a = (a + d as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (wi, b) in w.iter_mut().zip(chunk.chunks_exact(4)) {
            *wi = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let (mut a, mut b, mut c, mut d, mut e) = (h[0], h[1], h[2], h[3], h[4]);
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
        h[4] = h[4].wrapping_add(e);
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn base32(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(A[((n >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn urlquery(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn path_dir(p: &str) -> String {
    match p.rfind('/') {
        Some(i) => path_clean(&p[..=i]),
        None => ".".into(),
    }
}

fn path_clean(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

// ---- semver (Masterminds/semver v3 constraint syntax)

type Ver = (u64, u64, u64, String);

fn parse_semver(s: &str) -> Result<Ver, String> {
    let t = s.trim().trim_start_matches(['v', 'V']);
    let (core, pre) = match t.split_once(['-', '+']) {
        Some((c, rest)) if t.as_bytes()[c.len()] == b'-' => {
            (c, rest.split('+').next().unwrap_or("").to_string())
        }
        Some((c, _)) => (c, String::new()),
        None => (t, String::new()),
    };
    let mut nums = core.split('.');
    let mut next = || -> Result<u64, String> {
        match nums.next() {
            None => Ok(0),
            Some(n) => n
                .parse::<u64>()
                .map_err(|_| format!("Invalid Semantic Version: {s:?}")),
        }
    };
    let v = (next()?, next()?, next()?, pre);
    if core.is_empty() {
        return Err("Invalid Semantic Version".into());
    }
    Ok(v)
}

fn cmp_ver(a: &Ver, b: &Ver) -> std::cmp::Ordering {
    (a.0, a.1, a.2)
        .cmp(&(b.0, b.1, b.2))
        .then_with(|| match (a.3.is_empty(), b.3.is_empty()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => cmp_pre(&a.3, &b.3),
        })
}

fn cmp_pre(a: &str, b: &str) -> std::cmp::Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => std::cmp::Ordering::Less,
                    (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
                    _ => p.cmp(q),
                };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// `semverCompare "<constraint>" "<version>"`.
pub fn semver_compare(constraint: &str, version: &str) -> Result<bool, String> {
    let v = parse_semver(version)?;
    for alt in constraint.split("||") {
        let mut ok = true;
        let alt = alt.trim();
        // Hyphen ranges: `1.2 - 1.4.5`.
        let terms: Vec<String> = if let Some((lo, hi)) = alt.split_once(" - ") {
            vec![format!(">={}", lo.trim()), format!("<={}", hi.trim())]
        } else {
            let mut out: Vec<String> = Vec::new();
            let mut pending = String::new();
            for tok in alt.split([',', ' ']).filter(|t| !t.is_empty()) {
                if tok.chars().all(|c| "<>=!~^".contains(c)) {
                    pending.push_str(tok);
                } else {
                    out.push(format!("{pending}{tok}"));
                    pending.clear();
                }
            }
            out
        };
        for t in &terms {
            if !term_matches(t, &v)? {
                ok = false;
                break;
            }
        }
        if ok {
            return Ok(true);
        }
    }
    Ok(false)
}

fn term_matches(t: &str, v: &Ver) -> Result<bool, String> {
    let ops = ["!=", ">=", "<=", "=>", "=<", ">", "<", "=", "~>", "~", "^"];
    let (op, rest) = ops
        .iter()
        .find_map(|o| t.strip_prefix(o).map(|r| (*o, r.trim())))
        .unwrap_or(("", t));
    let rest = rest.trim_start_matches(['v', 'V']);
    let parts: Vec<&str> = rest
        .split(['-', '+'])
        .next()
        .unwrap_or("")
        .split('.')
        .collect();
    let wild = |p: Option<&&str>| p.is_none_or(|x| matches!(*x, "x" | "X" | "*"));
    let nparts = parts
        .iter()
        .take_while(|p| !matches!(**p, "x" | "X" | "*"))
        .count();
    let c = parse_semver(&rest.replace(['x', 'X', '*'], "0"))?;
    // Masterminds: prerelease versions only satisfy constraints that carry a prerelease.
    if !v.3.is_empty() && !rest.contains('-') {
        return Ok(false);
    }
    let ord = cmp_ver(v, &c);
    use std::cmp::Ordering::*;
    Ok(match op {
        "" | "=" => {
            if wild(parts.get(1)) || wild(parts.get(2)) {
                (nparts < 1 || v.0 == c.0) && (nparts < 2 || v.1 == c.1)
            } else {
                ord == Equal
            }
        }
        "!=" => ord != Equal,
        ">" => {
            if nparts == 1 {
                v.0 > c.0
            } else if nparts == 2 {
                (v.0, v.1) > (c.0, c.1)
            } else {
                ord == Greater
            }
        }
        ">=" | "=>" => ord != Less,
        "<" => ord == Less,
        "<=" | "=<" => {
            if nparts == 1 {
                v.0 <= c.0
            } else if nparts == 2 {
                (v.0, v.1) <= (c.0, c.1)
            } else {
                ord != Greater
            }
        }
        "~" | "~>" => ord != Less && v.0 == c.0 && (nparts < 2 || v.1 == c.1),
        "^" => {
            ord != Less
                && if c.0 > 0 || nparts < 2 {
                    v.0 == c.0
                } else if c.1 > 0 || nparts < 3 {
                    v.0 == 0 && v.1 == c.1
                } else {
                    v.0 == 0 && v.1 == 0 && v.2 == c.2
                }
        }
        _ => return Err(format!("improper constraint: {t}")),
    })
}

// ---- .Files

/// `.Files.Get`, `.Files.GetBytes`, `.Files.Glob`, `.Files.Lines`, `.Files.AsConfig`,
/// `.Files.AsSecrets` on a path → content map.
pub fn files_method(files: &Rc<BTreeMap<String, Vec<u8>>>, name: &str, args: &[Value]) -> R {
    let s0 = sarg(args, 0);
    match name {
        "Get" => Ok(Value::from(
            files
                .get(&s0)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
        )),
        "GetBytes" => Ok(Value::from(
            files
                .get(&s0)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
        )),
        "Lines" => Ok(Value::list(match files.get(&s0) {
            Some(b) => {
                let text = String::from_utf8_lossy(b);
                let mut lines: Vec<Value> = text.split('\n').map(Value::from).collect();
                if text.ends_with('\n') {
                    lines.pop();
                }
                lines
            }
            None => Vec::new(),
        })),
        "Glob" => {
            let g = globset::GlobBuilder::new(&s0)
                .literal_separator(true)
                .build()
                .map_err(|e| e.to_string())?
                .compile_matcher();
            let sel: BTreeMap<String, Vec<u8>> = files
                .iter()
                .filter(|(k, _)| g.is_match(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Value::Obj(Rc::new(super::value::Obj::Files(Rc::new(sel)))))
        }
        "AsConfig" | "AsSecrets" => {
            let mut m = Map::new();
            for (k, v) in files.iter() {
                let key = path_base(k);
                let val = if name == "AsSecrets" {
                    base64::engine::general_purpose::STANDARD.encode(v)
                } else {
                    String::from_utf8_lossy(v).into_owned()
                };
                m.insert(key, Value::from(val));
            }
            if m.is_empty() {
                return Ok(Value::from(""));
            }
            Ok(Value::from(values::to_yaml(&Value::map(m))))
        }
        _ => Err(format!("can't evaluate field {name} in type chart.Files")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_verbs() {
        let a = [
            Value::from("x"),
            Value::Int(3),
            Value::Float(1.5),
            Value::Bool(true),
        ];
        assert_eq!(sprintf("%s-%d-%v-%t", &a), "x-3-1.5-true");
        assert_eq!(
            sprintf(
                "%05d|%-3s|%.2f|%q",
                &[
                    Value::Int(42),
                    Value::from("a"),
                    Value::Float(1.23456),
                    Value::from("q")
                ]
            ),
            "00042|a  |1.23|\"q\""
        );
        assert_eq!(sprintf("%s %s", &[Value::Nil]), "%!s(<nil>) %!s(MISSING)");
        assert_eq!(sprintf("%d", &[Value::from("x")]), "%!d(string=x)");
    }

    #[test]
    fn sprig_strings() {
        assert_eq!(
            strval(&call("trunc", &[Value::Int(3), Value::from("abcdef")]).unwrap()),
            "abc"
        );
        assert_eq!(
            strval(&call("nindent", &[Value::Int(2), Value::from("a\nb")]).unwrap()),
            "\n  a\n  b"
        );
        assert_eq!(
            strval(&call("quote", &[Value::from("a"), Value::Nil, Value::Int(1)]).unwrap()),
            "\"a\" \"1\""
        );
        assert_eq!(
            strval(&call("snakecase", &[Value::from("HelloWorld")]).unwrap()),
            "hello_world"
        );
        assert_eq!(
            strval(&call("sha1sum", &[Value::from("abc")]).unwrap()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            strval(&call("b32enc", &[Value::from("hi")]).unwrap()),
            "NBUQ===="
        );
        assert_eq!(
            sprint(&[
                Value::Int(1),
                Value::Int(2),
                Value::from("a"),
                Value::Int(3)
            ]),
            "1 2a3"
        );
    }

    #[test]
    fn semver_constraints() {
        for (c, v, want) in [
            (">=1.19-0", "v1.36.0", true),
            ("<1.19", "v1.36.0", false),
            ("^1.2.3", "1.9.0", true),
            ("~1.2", "1.3.0", false),
            (">=1.2, <2", "1.5.0", true),
            ("1.2.x", "1.2.9", true),
            (">= 1.16.0-0", "1.20.1-eks", true),
            (">=1.16.0", "1.20.1-eks", false),
        ] {
            assert_eq!(semver_compare(c, v).unwrap(), want, "{c} {v}");
        }
    }

    #[test]
    fn dict_helpers_share_like_go_maps() {
        let d = call("dict", &[Value::from("a"), Value::Int(1)]).unwrap();
        call("set", &[d.clone(), Value::from("b"), Value::Int(2)]).unwrap();
        assert_eq!(d.to_go_string(), "map[a:1 b:2]");
        let dug = call(
            "dig",
            &[Value::from("a"), Value::from("z"), Value::from("dflt"), d],
        )
        .unwrap();
        assert_eq!(strval(&dug), "dflt");
    }
}
