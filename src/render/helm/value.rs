//! Go's dynamic values as Helm templates see them (`interface{}` holding float64 numbers from
//! values files, ints from literals and functions, strings, slices, maps) and Go's `%v` printing,
//! truthiness and comparison rules, so output matches Helm byte for byte.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;

/// A map as Go templates see `map[string]interface{}`: iterated and printed in key order.
pub type Map = BTreeMap<String, Value>;

#[derive(Debug, Clone, Default)]
pub enum Value {
    /// A nil interface: a missing key, a YAML `null`.
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<Vec<Value>>),
    /// Go maps are references: sprig's `set`/`unset`/`merge` mutate the map every holder sees.
    Map(Rc<RefCell<Map>>),
    /// Helm's built-in objects with methods (`.Files`, `.Capabilities.APIVersions`, ...).
    Obj(Rc<Obj>),
}

/// Whether `v` holds the map `target`, directly or through nested maps and lists. Go lets a
/// template put a map inside itself (`set $d "self" $d`), after which printing it recurses
/// forever; kgate refuses the `set` instead (each shared map is visited once: linear time).
pub fn reaches(v: &Value, target: &Rc<RefCell<Map>>) -> bool {
    fn walk(
        v: &Value,
        target: *const RefCell<Map>,
        seen: &mut std::collections::HashSet<usize>,
    ) -> bool {
        match v {
            Value::Map(m) => {
                if Rc::as_ptr(m) == target {
                    return true;
                }
                if !seen.insert(Rc::as_ptr(m) as usize) {
                    return false;
                }
                m.borrow().values().any(|x| walk(x, target, seen))
            }
            Value::List(l) => {
                if !seen.insert(Rc::as_ptr(l) as *const u8 as usize) {
                    return false;
                }
                l.iter().any(|x| walk(x, target, seen))
            }
            _ => false,
        }
    }
    walk(v, Rc::as_ptr(target), &mut std::collections::HashSet::new())
}

/// A map's entries, owned: moved out when this is the only holder, copied otherwise.
pub fn unwrap_map(m: Rc<RefCell<Map>>) -> Map {
    Rc::try_unwrap(m)
        .map(RefCell::into_inner)
        .unwrap_or_else(|shared| shared.borrow().clone())
}

/// Objects whose fields are methods in Helm (Go structs with methods).
#[derive(Debug)]
pub enum Obj {
    /// `.Files`: the chart's non-template files, path → bytes.
    Files(Rc<BTreeMap<String, Vec<u8>>>),
    /// `.Capabilities.APIVersions`: `Has "apps/v1"`.
    ApiVersions(Vec<String>),
    /// `.Capabilities.KubeVersion`: prints as `v1.36.0`, fields Major/Minor/Version/GitVersion.
    KubeVersion { major: u64, minor: u64, patch: u64 },
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }
    pub fn list(v: Vec<Value>) -> Value {
        Value::List(Rc::new(v))
    }
    pub fn map(m: Map) -> Value {
        Value::Map(Rc::new(RefCell::new(m)))
    }

    /// The map's entries while borrowed, if this is a map. Keep the borrow short: a template
    /// function that mutates the map (`set`) must not run while it is held.
    pub fn as_map(&self) -> Option<std::cell::Ref<'_, Map>> {
        match self {
            Value::Map(m) => Some(m.borrow()),
            _ => None,
        }
    }

    /// Go's template truth: zero values are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Obj(_) => true,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The Go type name as `printf "%T"` / sprig's `typeOf` print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Obj(o) => match o.as_ref() {
                Obj::Files(_) => "chart.Files",
                Obj::ApiVersions(_) => "common.VersionSet",
                Obj::KubeVersion { .. } => "*common.KubeVersion",
            },
        }
    }

    /// sprig's `kindOf` (reflect.Kind names).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Obj(_) => "struct",
        }
    }

    /// `fmt.Sprint(v)`, i.e. `%v`. Top-level nil prints `<nil>` here; the template printer turns a
    /// nil action result into `<no value>` itself.
    pub fn to_go_string(&self) -> String {
        let mut s = String::new();
        self.write_go(&mut s, true);
        s
    }

    pub fn write_go(&self, out: &mut String, top: bool) {
        match self {
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&format_float_g(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Value::Obj(o) => match o.as_ref() {
                Obj::KubeVersion {
                    major,
                    minor,
                    patch,
                } => {
                    let _ = write!(out, "v{major}.{minor}.{patch}");
                }
                Obj::ApiVersions(v) => {
                    out.push('[');
                    out.push_str(&v.join(" "));
                    out.push(']');
                }
                Obj::Files(f) => {
                    let _ = top;
                    out.push_str("map[");
                    let names: Vec<&str> = f.keys().map(|k| k.as_str()).collect();
                    for (i, k) in names.iter().enumerate() {
                        if i > 0 {
                            out.push(' ');
                        }
                        let _ = write!(out, "{k}:{:?}", f[*k]);
                    }
                    out.push(']');
                }
            },
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s.into())
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

/// Go's `fmt.Sprint(f)` of a float64 (`%v`): shortest round-trip digits, exponent form when the
/// decimal exponent is < -4 or >= 6 — `fmt.Sprint(1000000.0)` is `1e+06` (checked against Helm).
pub fn format_float_g(f: f64) -> String {
    format_float(f, -4, 6)
}

/// encoding/json's float64 form: exponent form only when the exponent is < -6 or >= 21.
pub fn format_float_json(f: f64) -> String {
    format_float(f, -6, 21)
}

fn format_float(f: f64, min_exp: i32, max_exp: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits as d.dddde<exp>, like strconv's -1.
    let e = format!("{:e}", f);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if mant.starts_with('-') {
        out.push('-');
    }
    if exp < min_exp || exp >= max_exp {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.abs());
        return out;
    }
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Go's `strconv.Quote`-like `%q` of a string.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The basic kind used by `eq`/`lt`: Go compares only values of one kind.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

/// text/template's `eq arg1 arg2`.
pub fn go_eq(a: &Value, b: &Value) -> Result<bool, String> {
    if a.is_nil() || b.is_nil() {
        return Ok(a.is_nil() && b.is_nil());
    }
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        _ => return Err("non-comparable types".into()),
    })
}

/// text/template's `lt arg1 arg2`.
pub fn go_lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka == Kind::Other || kb == Kind::Other || ka == Kind::Bool {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => false,
    })
}

/// reflect.DeepEqual over values (sprig's `deepEqual`, `has`, `uniq`, `without`).
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        for (f, s) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (3.0e21, "3e+21"),
        ] {
            assert_eq!(format_float_g(f), s, "{f}");
        }
    }

    #[test]
    fn maps_and_lists_print_like_go() {
        let mut m = Map::new();
        m.insert("z".into(), Value::Float(1.0));
        m.insert("b".into(), Value::list(vec![Value::Int(1), Value::Nil]));
        assert_eq!(Value::map(m).to_go_string(), "map[b:[1 <nil>] z:1]");
    }
}
