//! Source rewrites that let regorus parse Rego v0 that OPA (and so Gatekeeper) accepts but
//! regorus' parser rejects or misreads; the rewritten text means the same to OPA.
//!
//! Two gaps, both met in the gatekeeper-library:
//! - a partial set rule with several bodies, `violation[r] { a } { b }`, which OPA reads as two
//!   rules with the same head and regorus refuses ("else cannot be used with set rules"): the
//!   head is repeated before each further body;
//! - a rule-body expression that starts with `(` on the line after a reference, which OPA reads as
//!   two expressions (a newline separates them, and a call's `(` must follow its name directly)
//!   and regorus reads as a call of the reference: a `;` is put after the reference.
//!
//! - `sprintf` with a literal format and a literal argument array shorter than its verbs: Go (so
//!   OPA) writes `%!v(MISSING)` for each verb without an argument, regorus fails the call (so the
//!   rule silently does not fire); the surplus verbs are written as that literal text.
//!
//! Lines are kept (inserted text never holds a newline), so regorus' error positions still point
//! at the template's own lines.

/// Rego keywords that may end a line and be followed by a parenthesised operand.
const KEYWORDS: &[&str] = &[
    "not", "some", "every", "in", "with", "as", "if", "contains", "else", "default", "import",
    "package",
];

/// `rego` with the rewrites above applied; text that needs none is returned unchanged.
pub fn rewrite(rego: &str) -> String {
    let b = rego.as_bytes();
    // Open brackets; for `{` whether it opened a rule body.
    let mut stack: Vec<(u8, bool)> = Vec::new();
    let mut inserts: Vec<(usize, usize, String)> = Vec::new();
    // Top-level statement being read: where it starts, the head before its first body, whether
    // it has an `else`, and whether the last thing read was the `}` of one of its bodies.
    let mut stmt_start: Option<usize> = None;
    let mut head: Option<String> = None;
    let mut has_else = false;
    let mut after_body = false;
    // End of the previous significant token, and whether a newline came after it.
    let mut prev_end: Option<usize> = None;
    let mut newline_since = true;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                newline_since = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        let start = i;
        // The token's end.
        let end = match c {
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                (j + 1).min(b.len())
            }
            b'`' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'`' {
                    j += 1;
                }
                (j + 1).min(b.len())
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                j
            }
            _ => i + 1,
        };
        let token = &rego[start..end];
        if stack.is_empty() {
            match token {
                "{" => {
                    if after_body {
                        if let Some(h) = head.as_ref().filter(|h| !has_else && is_set_head(h)) {
                            inserts.push((start, 0, format!("{h} ")));
                        }
                    } else if head.is_none() {
                        head = stmt_start
                            .map(|s| rego[s..start].trim().to_string())
                            .filter(|h| !h.contains('#') && !h.contains('\n'));
                    }
                }
                "else" => has_else = true,
                _ => {
                    let continues = prev_end
                        .map(|p| b"=+-*/|&,:.([".contains(&b[p - 1]))
                        .unwrap_or(false);
                    if stmt_start.is_none() || after_body || (newline_since && !continues) {
                        stmt_start = Some(start);
                        head = None;
                        has_else = false;
                    }
                }
            }
            after_body = false;
        }
        if token == "(" && newline_since && matches!(stack.last(), Some((b'{', true))) {
            if let Some(p) = prev_end {
                let prev = &rego[..p];
                let word_start = prev
                    .rfind(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                    .map_or(0, |k| k + 1);
                let word = &prev[word_start..];
                let ends_ref = matches!(b[p - 1], b']' | b'"') || !word.is_empty();
                if ends_ref && !KEYWORDS.contains(&word) {
                    inserts.push((p, 0, ";".to_string()));
                }
            }
        }
        if token == "sprintf" && b.get(end) == Some(&b'(') {
            inserts.extend(missing_sprintf_args(rego, end + 1));
        }
        match c {
            b'(' | b'[' => stack.push((c, false)),
            b'{' => stack.push((c, stack.is_empty())),
            b')' | b']' | b'}' => {
                if let Some((_, body)) = stack.pop() {
                    after_body = body;
                }
            }
            _ => {}
        }
        prev_end = Some(end);
        newline_since = false;
        i = end;
    }
    if inserts.is_empty() {
        return rego.to_string();
    }
    let mut out = String::with_capacity(rego.len() + 64);
    let mut at = 0;
    inserts.sort_by_key(|i| i.0);
    for (pos, removed, text) in inserts {
        out.push_str(&rego[at..pos]);
        out.push_str(&text);
        at = pos + removed;
    }
    out.push_str(&rego[at..]);
    out
}

/// For `sprintf(` whose arguments start at `from`: when they are a string literal and an array
/// literal with fewer elements than the format has verbs, the replacements that turn each
/// surplus verb into Go's `%!<verb>(MISSING)` text.
fn missing_sprintf_args(rego: &str, from: usize) -> Vec<(usize, usize, String)> {
    let b = rego.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let fmt_start = skip_ws(from);
    if b.get(fmt_start) != Some(&b'"') {
        return Vec::new();
    }
    let mut j = fmt_start + 1;
    while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
        j += if b[j] == b'\\' { 2 } else { 1 };
    }
    if b.get(j) != Some(&b'"') {
        return Vec::new();
    }
    let fmt_end = j;
    let mut k = skip_ws(fmt_end + 1);
    if b.get(k) != Some(&b',') {
        return Vec::new();
    }
    k = skip_ws(k + 1);
    if b.get(k) != Some(&b'[') {
        return Vec::new();
    }
    // Elements of the array literal: top-level commas, strings skipped.
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut pending = false;
    let mut i = k + 1;
    loop {
        let Some(&c) = b.get(i) else {
            return Vec::new();
        };
        match c {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                pending = true;
            }
            b'#' => return Vec::new(),
            b'(' | b'[' | b'{' => {
                depth += 1;
                pending = true;
            }
            b')' | b'}' => depth = depth.saturating_sub(1),
            b']' if depth == 0 => break,
            b']' => depth -= 1,
            b',' if depth == 0 => {
                elements += usize::from(pending);
                pending = false;
            }
            c if !c.is_ascii_whitespace() => pending = true,
            _ => {}
        }
        i += 1;
    }
    elements += usize::from(pending);
    // Verbs of the format: `%`, flags/width/precision, then the verb letter; `%%` is literal.
    let mut out = Vec::new();
    let mut verbs = 0usize;
    let mut p = fmt_start + 1;
    while p < fmt_end {
        if b[p] != b'%' {
            p += 1;
            continue;
        }
        if b.get(p + 1) == Some(&b'%') {
            p += 2;
            continue;
        }
        let mut q = p + 1;
        while q < fmt_end && b"+-# 0123456789.".contains(&b[q]) {
            q += 1;
        }
        if q >= fmt_end || !b[q].is_ascii_alphabetic() {
            return Vec::new();
        }
        verbs += 1;
        if verbs > elements {
            out.push((p, q + 1 - p, format!("%%!{}(MISSING)", b[q] as char)));
        }
        p = q + 1;
    }
    out
}

/// A v0 partial set rule head: `name[term]`, with no value assigned after it.
fn is_set_head(head: &str) -> bool {
    let head = head.trim();
    let Some(open) = head.find('[') else {
        return false;
    };
    let name = &head[..open];
    head.ends_with(']')
        && !name.is_empty()
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn set_rule_bodies_get_their_own_head() {
        let src = "package p\n\nviolation[{\"msg\": m}] {\n  a\n  m := \"a\"\n} {\n  b\n  m := \"b\"\n}\n";
        let out = rewrite(src);
        assert_eq!(
            out,
            "package p\n\nviolation[{\"msg\": m}] {\n  a\n  m := \"a\"\n} violation[{\"msg\": m}] {\n  b\n  m := \"b\"\n}\n"
        );
        assert_eq!(out.lines().count(), src.lines().count());
    }

    #[test]
    fn function_bodies_and_else_are_left_alone() {
        let src = "package p\nf(x) = y {\n  y := 1\n} {\n  y := 2\n}\ng = 1 { a } else = 2 { b }\n";
        assert_eq!(rewrite(src), src);
    }

    #[test]
    fn paren_on_next_line_starts_a_new_expression() {
        let src =
            "package p\nr {\n  input.a.b\n  (input.c - 1) >= 2\n  not\n  (x)\n  f(\n    (y))\n}\n";
        assert_eq!(
            rewrite(src),
            "package p\nr {\n  input.a.b;\n  (input.c - 1) >= 2\n  not\n  (x)\n  f(\n    (y))\n}\n"
        );
    }

    #[test]
    fn sprintf_verbs_without_arguments_print_as_go_does() {
        let src = "package p\nm := sprintf(\"%v <%v> of %d%% %v\", [a, f(b, c)])\nn := sprintf(\"%v\", [x])\n";
        assert_eq!(
            rewrite(src),
            "package p\nm := sprintf(\"%v <%v> of %%!d(MISSING)%% %%!v(MISSING)\", [a, f(b, c)])\nn := sprintf(\"%v\", [x])\n"
        );
    }

    #[test]
    fn strings_and_comments_are_not_scanned_as_code() {
        let src = "package p\n# violation[x] { } {\nr { x := \"} {\"\n}\n";
        assert_eq!(rewrite(src), src);
    }
}
