//! A deterministic YAML emitter for rendered objects (`kgate render`): block style, strings
//! quoted whenever a YAML 1.1 reader (Kubernetes) would read them as something else.

use crate::yaml::{Node, Value};

/// The objects as a YAML stream, `---` between documents.
pub fn to_yaml_stream(nodes: &[&Node]) -> String {
    let mut out = String::new();
    for (i, n) in nodes.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit(n, 0, &mut out);
    }
    out
}

fn emit(node: &Node, indent: usize, out: &mut String) {
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                push_indent(out, indent);
                out.push_str(&scalar_string(&k.name));
                out.push(':');
                value_after_key(v, indent, out);
            }
        }
        Value::Seq(items) if !items.is_empty() => {
            for item in items {
                push_indent(out, indent);
                out.push('-');
                match &item.value {
                    Value::Map(e) if !e.is_empty() => {
                        // The first key goes on the dash line.
                        let mut inner = String::new();
                        emit(item, indent + 2, &mut inner);
                        out.push(' ');
                        out.push_str(&inner[indent + 2..]);
                    }
                    Value::Seq(s) if !s.is_empty() => {
                        out.push('\n');
                        emit(item, indent + 2, out);
                    }
                    _ => {
                        out.push(' ');
                        inline(item, indent + 2, out);
                        out.push('\n');
                    }
                }
            }
        }
        _ => {
            inline(node, indent, out);
            out.push('\n');
        }
    }
}

fn value_after_key(v: &Node, indent: usize, out: &mut String) {
    match &v.value {
        Value::Map(e) if !e.is_empty() => {
            out.push('\n');
            emit(v, indent + 2, out);
        }
        Value::Seq(s) if !s.is_empty() => {
            out.push('\n');
            emit(v, indent, out);
        }
        _ => {
            out.push(' ');
            inline(v, indent + 2, out);
            out.push('\n');
        }
    }
}

fn push_indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn inline(node: &Node, indent: usize, out: &mut String) {
    match &node.value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_nan() => out.push_str(".nan"),
        Value::Float(f) if f.is_infinite() => out.push_str(if *f > 0.0 { ".inf" } else { "-.inf" }),
        Value::Float(f) => {
            let s = f.to_string();
            out.push_str(&s);
            if !s.contains(['.', 'e', 'E']) {
                out.push_str(".0");
            }
        }
        Value::String(s) if block_ok(s) => {
            let chomp = if s.ends_with("\n\n") {
                "+"
            } else if s.ends_with('\n') {
                ""
            } else {
                "-"
            };
            out.push('|');
            out.push_str(chomp);
            let body = s.strip_suffix('\n').unwrap_or(s);
            for line in body.split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    push_indent(out, indent);
                    out.push_str(line);
                }
            }
        }
        Value::String(s) => out.push_str(&scalar_string(s)),
        Value::Map(_) => out.push_str("{}"),
        Value::Seq(_) => out.push_str("[]"),
    }
}

/// A multi-line string that a literal block keeps exactly.
fn block_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{feff}')
        && s.split('\n').all(|l| !l.ends_with(' '))
}

/// A string as a plain scalar when that reads back as the same string, else double-quoted.
pub fn scalar_string(s: &str) -> String {
    if needs_quotes(s) {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    } else {
        s.to_string()
    }
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    // Would a Kubernetes (YAML 1.1) reader see a bool, null, number or timestamp?
    if !matches!(
        crate::yaml::resolve_scalar(s, saphyr_parser::ScalarStyle::Plain, None),
        Value::String(_)
    ) {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~"
    ) {
        return true;
    }
    if s.starts_with(|c: char| "?:,[]{}#&*!|>'\"%@`".contains(c)) || s == "-" || s.starts_with("- ")
    {
        return true;
    }
    // Sexagesimal numbers (`1:20`) and numbers with underscores are numbers in YAML 1.1.
    if s.chars()
        .all(|c| c.is_ascii_digit() || c == ':' || c == '_' || c == '.' || c == '-' || c == '+')
        && s.chars().any(|c| c.is_ascii_digit())
    {
        return true;
    }
    s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(|c| c.is_control() || c == '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn roundtrip(text: &str) {
        let f = SourceFile::new("t.yaml", text);
        let n = crate::yaml::parse_stream(&f, &Default::default())
            .documents
            .remove(0)
            .root
            .unwrap();
        let out = to_yaml_stream(&[&n]);
        let f2 = SourceFile::new("u.yaml", out.clone());
        let n2 = crate::yaml::parse_stream(&f2, &Default::default())
            .documents
            .remove(0)
            .root
            .unwrap();
        assert_eq!(n.to_json(), n2.to_json(), "{out}");
    }

    #[test]
    fn yaml_11_lookalikes_are_quoted() {
        for s in [
            "on", "yes", "No", "0755", "1_000", "1:20", "", " x", "a: b", "true", "null", "~",
            "12", "1.5", "-1", "*a", "#c",
        ] {
            assert!(needs_quotes(s), "{s}");
        }
        for s in ["web", "nginx:1.25", "-o", "a-b", "v1"] {
            assert!(!needs_quotes(s), "{s}");
        }
    }

    #[test]
    fn emitted_yaml_reads_back_as_the_same_data() {
        roundtrip("a:\n  b: [1, 'on', \"0755\", {c: d}]\n  e: \"line1\\nline2\\n\"\n  f: []\n  g: {}\n  h: ~\n  i:\n  - - x\n    - y\n  - k: 1\n    l: [2]\n  j: \"x\\n\\n\"\n  k: \" lead\\n\"\n");
    }
}
