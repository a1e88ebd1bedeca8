//! Helm's values: YAML → template values (numbers become float64 as sigs.k8s.io/yaml makes
//! them), `toYaml`/`toJson` output byte-identical to Helm's (go-yaml v2 emitter style: sorted
//! keys, unindented sequences, quoting by YAML 1.1 resolution, folding at 80 columns, literal
//! blocks), and the coalescing of chart defaults, parent values and globals.

use std::fmt::Write;

use super::value::{format_float_g, format_float_json, Map, Value};
use crate::source::SourceFile;
use crate::yaml::{self, Limits, Node};

/// Parses a YAML document into a value; `Err` carries go-yaml-like text with a line.
pub fn from_yaml_str(text: &str) -> Result<Value, String> {
    let file = SourceFile::new("values", text.to_string());
    let stream = yaml::parse_stream(&file, &Limits::default());
    if let Some(p) = stream.problems.first() {
        return Err(format!("{p:?}"));
    }
    Ok(stream
        .documents
        .into_iter()
        .find_map(|d| d.root)
        .map(|n| from_node(&n))
        .unwrap_or(Value::Nil))
}

/// Every document of a YAML stream (`fromYamlArray` takes one document holding a list).
pub fn from_node(n: &Node) -> Value {
    match &n.value {
        yaml::Value::Null => Value::Nil,
        yaml::Value::Bool(b) => Value::Bool(*b),
        // sigs.k8s.io/yaml goes through JSON: every number is a float64.
        yaml::Value::Int(i) => Value::Float(*i as f64),
        yaml::Value::Float(f) => Value::Float(*f),
        yaml::Value::String(s) => Value::str(s.as_str()),
        yaml::Value::Seq(items) => Value::list(items.iter().map(from_node).collect()),
        yaml::Value::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                m.insert(k.name.clone(), from_node(v));
            }
            Value::map(m)
        }
    }
}

/// A JSON value (from a HelmRelease's `spec.values` after kgate's JSON conversion).
pub fn from_json(j: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        J::String(s) => Value::str(s.as_str()),
        J::Array(a) => Value::list(a.iter().map(from_json).collect()),
        J::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.clone(), from_json(v));
            }
            Value::map(m)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Go's `json.Marshal` (HTML-escaping `<`, `>`, `&` as Helm's `toJson` does unless `raw`).
pub fn to_json(v: &Value, raw: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, v, raw, None, 0);
    out
}

/// `json.MarshalIndent(v, "", "  ")`.
pub fn to_pretty_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, v, false, Some("  "), 0);
    out
}

fn json_newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(ind) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

fn write_json(out: &mut String, v: &Value, raw: bool, indent: Option<&str>, depth: usize) {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float_json(*f)),
        Value::Str(s) => json_string(out, s, raw),
        Value::Obj(_) => json_string(out, &v.to_go_string(), raw),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_newline(out, indent, depth + 1);
                write_json(out, x, raw, indent, depth + 1);
            }
            json_newline(out, indent, depth);
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_newline(out, indent, depth + 1);
                json_string(out, k, raw);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(out, x, raw, indent, depth + 1);
            }
            json_newline(out, indent, depth);
            out.push('}');
        }
    }
}

fn json_string(out: &mut String, s: &str, raw: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if !raw => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// YAML (sigs.k8s.io/yaml → go-yaml v2 emitter)

/// Helm's `toYaml`: the document without its final newline.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    // JSON round trip first: floats that are whole numbers print as integers.
    match v {
        Value::Map(m) if !m.borrow().is_empty() => write_map(&mut out, &m.borrow(), 0),
        Value::List(l) if !l.is_empty() => write_seq(&mut out, l, 0),
        other => {
            write_scalar(&mut out, other, 0);
            out.push('\n');
        }
    }
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// The text of a scalar as go-yaml prints it after a JSON round trip.
fn number_text(v: &Value) -> Option<String> {
    match v {
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e21 {
                Some(format!("{}", *f as i128))
            } else {
                Some(format_float_g(*f))
            }
        }
        _ => None,
    }
}

fn write_map(out: &mut String, m: &Map, indent: usize) {
    for (k, v) in m {
        pad(out, indent);
        let kcol = indent;
        write_string(out, k, kcol, indent + 2, true);
        out.push(':');
        write_value_after_key(out, v, indent);
    }
}

fn write_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Map(m) if !m.borrow().is_empty() => {
            out.push('\n');
            write_map(out, &m.borrow(), indent + 2);
        }
        // go-yaml v2 does not indent a sequence under a mapping key.
        Value::List(l) if !l.is_empty() => {
            out.push('\n');
            write_seq(out, l, indent);
        }
        other => {
            out.push(' ');
            let col = out.len() - out.rfind('\n').map(|p| p + 1).unwrap_or(0);
            write_scalar_at(out, other, col, indent + 2);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, l: &[Value], indent: usize) {
    for v in l {
        pad(out, indent);
        out.push_str("- ");
        match v {
            Value::Map(m) if !m.borrow().is_empty() => {
                // The first key follows the dash; the rest align under it.
                let mut first = true;
                for (k, x) in m.borrow().iter() {
                    if !first {
                        pad(out, indent + 2);
                    }
                    first = false;
                    write_string(out, k, indent + 2, indent + 4, true);
                    out.push(':');
                    write_value_after_key(out, x, indent + 2);
                }
            }
            Value::List(inner) if !inner.is_empty() => {
                // `- - a`: nested sequences start on the dash's line.
                let mut s = String::new();
                write_seq(&mut s, inner, indent + 2);
                out.push_str(s.trim_start());
            }
            other => {
                write_scalar_at(out, other, indent + 2, indent + 2);
                out.push('\n');
            }
        }
    }
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn write_scalar(out: &mut String, v: &Value, indent: usize) {
    write_scalar_at(out, v, 0, indent);
}

fn write_scalar_at(out: &mut String, v: &Value, col: usize, indent: usize) {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(_) | Value::Float(_) => out.push_str(&number_text(v).unwrap_or_default()),
        Value::Str(s) => write_string(out, s, col, indent, false),
        Value::Map(_) => out.push_str("{}"),
        Value::List(_) => out.push_str("[]"),
        Value::Obj(_) => write_string(out, &v.to_go_string(), col, indent, false),
    }
}

/// go-yaml v2's base-60 float check: such strings are quoted although YAML 1.2 reads them as text.
fn is_base60(s: &str) -> bool {
    let b = s.trim_start_matches(['+', '-']);
    if !b.contains(':') || !b.as_bytes().first().is_some_and(|c| c.is_ascii_digit()) {
        return false;
    }
    let (main, frac) = b.split_once('.').unwrap_or((b, ""));
    if !frac.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return false;
    }
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or("");
    if head.is_empty() || !head.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return false;
    }
    parts.all(|p| {
        !p.is_empty()
            && p.len() <= 2
            && p.bytes().all(|c| c.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n < 60)
    })
}

/// go-yaml v2 resolves `2006-1-2`, `2006-1-2T15:4:5Z`, `2006-1-2 15:4:5` as timestamps, so
/// such strings are quoted.
fn is_timestamp(s: &str) -> bool {
    let mut parts = s.splitn(3, '-');
    let (Some(y), Some(m), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let day_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let digits = |p: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit())
    };
    if !digits(y, 4, 4) || !digits(m, 1, 2) || !(1..=2).contains(&day_len) {
        return false;
    }
    let tail = &rest[day_len..];
    tail.is_empty() || (tail.starts_with(['T', 't', ' ']) && tail[1..].contains(':'))
}

/// What libyaml's scalar analysis allows for a string in block context.
struct Analysis {
    plain: bool,
    single: bool,
    block: bool,
}

fn analyze(s: &str) -> Analysis {
    let mut a = Analysis {
        plain: true,
        single: true,
        block: true,
    };
    if s.is_empty() {
        a.plain = false;
        a.block = false;
        return a;
    }
    if s.starts_with("---") || s.starts_with("...") {
        a.plain = false;
    }
    let chars: Vec<char> = s.chars().collect();
    let mut line_breaks = false;
    let mut special = false;
    let (mut space_break, mut break_space) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let mut prev_space = false;
    let mut prev_break = false;
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let next_blank = next.is_none_or(|x| x == ' ' || x == '\t' || x == '\n' || x == '\r');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => a.plain = false,
                '?' | ':' if next_blank => a.plain = false,
                '-' if next_blank => a.plain = false,
                _ => {}
            }
        } else {
            match c {
                ':' if next_blank => a.plain = false,
                '#' if chars[i - 1] == ' ' || chars[i - 1] == '\t' => a.plain = false,
                _ => {}
            }
        }
        let printable = c == '\n'
            || c == '\t'
            || ('\u{20}'..='\u{7e}').contains(&c)
            || c == '\u{85}'
            || (('\u{a0}'..='\u{d7ff}').contains(&c))
            || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
            || ('\u{10000}'..='\u{10ffff}').contains(&c);
        if !printable {
            special = true;
        }
        if c == '\n' {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if c == '\n' {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_break = true;
            prev_space = false;
        } else {
            prev_space = false;
            prev_break = false;
        }
    }
    if leading_space || leading_break || trailing_space || trailing_break {
        a.plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.plain = false;
        a.single = false;
    }
    if space_break || special {
        a.plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks {
        a.plain = false;
    }
    a
}

const BEST_WIDTH: usize = 80;

/// Writes a string scalar as go-yaml v2 does; `col` is the column the scalar starts at,
/// `indent` the indentation of continuation lines.
fn write_string(out: &mut String, s: &str, col: usize, indent: usize, key: bool) {
    let resolves_other = !matches!(
        yaml::resolve_scalar(s, saphyr_parser::ScalarStyle::Plain, None),
        yaml::Value::String(_)
    ) || is_base60(s)
        || is_timestamp(s);
    let a = analyze(s);
    let multiline = s.contains('\n');
    if multiline && !key && a.block {
        write_literal(out, s, indent);
        return;
    }
    if !resolves_other && a.plain && !multiline {
        write_folded_words(out, s, col, indent, !key, '\0');
        return;
    }
    if resolves_other || !a.single || multiline {
        write_double(out, s, col, indent, !key);
        return;
    }
    out.push('\'');
    let body = s.replace('\'', "''");
    write_folded_words(out, &body, col + 1, indent, !key, '\'');
    out.push('\'');
}

/// Plain or single-quoted text, folded at spaces once past column 80 as libyaml does.
fn write_folded_words(
    out: &mut String,
    s: &str,
    col: usize,
    indent: usize,
    allow_breaks: bool,
    _quote: char,
) {
    let mut column = col;
    let chars: Vec<char> = s.chars().collect();
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let next_space = chars.get(i + 1) == Some(&' ');
            if allow_breaks
                && !spaces
                && column > BEST_WIDTH
                && !next_space
                && i != 0
                && i != chars.len() - 1
            {
                out.push('\n');
                pad(out, indent);
                column = indent;
            } else {
                out.push(c);
                column += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            column += 1;
            spaces = false;
        }
    }
}

fn write_double(out: &mut String, s: &str, col: usize, indent: usize, allow_breaks: bool) {
    out.push('"');
    let mut column = col + 1;
    let chars: Vec<char> = s.chars().collect();
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        let esc: Option<String> = match c {
            '"' => Some("\\\"".into()),
            '\\' => Some("\\\\".into()),
            '\n' => Some("\\n".into()),
            '\r' => Some("\\r".into()),
            '\t' => Some("\\t".into()),
            '\0' => Some("\\0".into()),
            '\x07' => Some("\\a".into()),
            '\x08' => Some("\\b".into()),
            '\x0b' => Some("\\v".into()),
            '\x0c' => Some("\\f".into()),
            '\x1b' => Some("\\e".into()),
            '\u{85}' => Some("\\N".into()),
            '\u{a0}' => Some("\\_".into()),
            '\u{2028}' => Some("\\L".into()),
            '\u{2029}' => Some("\\P".into()),
            '\u{feff}' => Some("\\uFEFF".into()),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => Some(format!("\\x{:02X}", c as u32)),
            _ => None,
        };
        if let Some(e) = esc {
            column += e.len();
            out.push_str(&e);
            spaces = false;
            continue;
        }
        if c == ' ' {
            if allow_breaks && !spaces && column > BEST_WIDTH && i != 0 && i != chars.len() - 1 {
                out.push('\n');
                pad(out, indent);
                column = indent;
                if chars.get(i + 1) == Some(&' ') {
                    out.push('\\');
                    column += 1;
                }
            } else {
                out.push(' ');
                column += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            column += 1;
            spaces = false;
        }
    }
    out.push('"');
}

fn write_literal(out: &mut String, s: &str, indent: usize) {
    out.push('|');
    if s.starts_with(' ') || s.starts_with('\n') {
        out.push('2');
    }
    let trailing = s.len() - s.trim_end_matches('\n').len();
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    let body = if trailing == 1 {
        &s[..s.len() - 1]
    } else {
        s.trim_end_matches('\n')
    };
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
    if trailing > 1 {
        for _ in 0..trailing - 1 {
            out.push('\n');
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Coalescing (chartutil.CoalesceValues)

/// `dst` (higher priority) filled from `src` (defaults): keys missing in `dst` are copied, maps
/// merged recursively, a `null` in `dst` deletes the default.
pub fn coalesce_tables(dst: &mut Map, src: &Map) {
    for (k, sv) in src {
        match dst.get_mut(k) {
            None => {
                dst.insert(k.clone(), sv.clone());
            }
            Some(Value::Nil) => {
                dst.remove(k);
            }
            Some(Value::Map(dm)) => {
                if let Value::Map(sm) = sv {
                    coalesce_tables(std::rc::Rc::make_mut(dm).get_mut(), &sm.borrow());
                }
            }
            Some(_) => {}
        }
    }
}

/// Drops `null` map entries everywhere (Helm's coalesced values never hold them).
pub fn drop_nulls(m: &mut Map) {
    m.retain(|_, v| !v.is_nil());
    for v in m.values_mut() {
        if let Value::Map(inner) = v {
            drop_nulls(std::rc::Rc::make_mut(inner).get_mut());
        }
    }
}

/// Deep-merges `src` over `dst` (later wins), as Helm merges `-f` files and `--set`.
pub fn merge_over(dst: &mut Map, src: &Map) {
    for (k, sv) in src {
        match (dst.get_mut(k), sv) {
            (Some(Value::Map(dm)), Value::Map(sm)) => {
                merge_over(std::rc::Rc::make_mut(dm).get_mut(), &sm.borrow())
            }
            _ => {
                dst.insert(k.clone(), sv.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_output_matches_go_yaml() {
        let v = from_yaml_str(
            "b: [1, {x: 1.5, w: [a]}, [2, 3]]\na: {}\nc: []\nd: \"yes\"\ne: \"a: b\"\nf: \"l1\\nl2\"\ng: \"12:30\"\n",
        )
        .unwrap();
        assert_eq!(
            to_yaml(&v),
            "a: {}\nb:\n- 1\n- w:\n  - a\n  x: 1.5\n- - 2\n  - 3\nc: []\nd: \"yes\"\ne: 'a: b'\nf: |-\n  l1\n  l2\ng: \"12:30\""
        );
    }

    #[test]
    fn long_strings_fold_at_80_columns() {
        let s = "aaaa ".repeat(20);
        let mut m = Map::new();
        m.insert("long".into(), Value::str(s.trim_end()));
        let y = to_yaml(&Value::map(m));
        assert!(y.contains("\n  "), "{y}");
        assert!(y.lines().next().unwrap().len() <= 86);
    }

    #[test]
    fn json_escapes_html() {
        let v = Value::str("<a&b>");
        assert_eq!(to_json(&v, false), "\"\\u003ca\\u0026b\\u003e\"");
        assert_eq!(to_json(&v, true), "\"<a&b>\"");
    }

    #[test]
    fn coalesce_null_deletes() {
        let mut dst = match from_yaml_str("a: null\nb: {c: 1}").unwrap() {
            Value::Map(m) => m.borrow().clone(),
            _ => unreachable!(),
        };
        let src = match from_yaml_str("a: 1\nb: {d: 2}\ne: 3").unwrap() {
            Value::Map(m) => m.borrow().clone(),
            _ => unreachable!(),
        };
        coalesce_tables(&mut dst, &src);
        assert!(!dst.contains_key("a"));
        assert_eq!(
            to_json(&Value::map(dst), false),
            r#"{"b":{"c":1,"d":2},"e":3}"#
        );
    }
}
