//! Helpers shared by the machine-readable formats: stable finding fingerprints, file names made
//! safe for text outputs, repository-relative paths and URIs.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::diagnostic::Diagnostic;

/// One fingerprint per diagnostic (same order), stable across runs and line shifts.
///
/// The hash covers what identifies a finding — code, file, resource, JSON path and message —
/// and not its line, so that inserting lines above a finding keeps its fingerprint (GitLab and
/// GitHub code scanning track findings across commits by it). Findings that are identical in
/// all of these (the same problem twice in one object) are told apart by their occurrence
/// number, counted in the report's deterministic order, so fingerprints are unique per report.
pub fn fingerprints(diagnostics: &[Diagnostic]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    diagnostics
        .iter()
        .map(|d| {
            let base = identity_hash(d, 0);
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                base
            } else {
                identity_hash(d, *n - 1)
            }
        })
        .collect()
}

fn identity_hash(d: &Diagnostic, occurrence: usize) -> String {
    let mut h = Sha256::new();
    // Length-prefixed fields: no two different tuples hash the same text.
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    field("kgate/v1");
    field(&d.code);
    field(&portable_path(&d.file));
    match &d.resource {
        Some(r) => {
            field(&r.api_version);
            field(&r.kind);
            field(r.namespace.as_deref().unwrap_or(""));
            field(&r.name);
        }
        None => field("-"),
    }
    field(d.path.as_deref().unwrap_or(""));
    field(&d.message);
    field(&occurrence.to_string());
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The path as it should appear in reports read by CI systems: forward slashes, no leading
/// `./`, and relative to the working directory when kgate was given an absolute path inside it
/// (CI annotations only attach to repository-relative paths).
pub fn portable_path(file: &str) -> String {
    let mut p = file.to_string();
    if std::path::Path::new(&p).is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(rel) = std::path::Path::new(&p).strip_prefix(&cwd) {
                p = rel.to_string_lossy().into_owned();
            }
        }
    }
    if cfg!(windows) {
        p = p.replace('\\', "/");
    }
    while let Some(rest) = p.strip_prefix("./") {
        p = rest.to_string();
    }
    p
}

/// Replaces control characters (newlines, escape sequences, C1 controls) by visible `\u{…}`
/// escapes, so a hostile file name or message cannot break a line-based format or drive a
/// terminal. Everything else is kept as is.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// A relative URI reference for a file path (SARIF `artifactLocation.uri`): forward slashes,
/// every byte outside RFC 3986's unreserved set and `/` percent-encoded (so `:` in a first
/// segment cannot read as a scheme, and spaces, `%`, `#`, `?` and control characters survive).
/// Absolute paths outside the working directory become `file://` URIs.
pub fn path_uri(file: &str) -> String {
    let p = portable_path(file);
    let mut out = String::with_capacity(p.len());
    let absolute = p.starts_with('/');
    if absolute {
        out.push_str("file://");
    }
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Whether a finding is a live problem: not suppressed by an exception, not already present on
/// the base revision, not accepted by the baseline.
pub fn is_active(d: &Diagnostic) -> bool {
    d.is_live()
}

/// Active findings per code, most frequent first, ties by code: the human tally, the Markdown
/// summary table and the capped annotations all count with it.
pub fn count_by_code(diagnostics: &[Diagnostic]) -> Vec<(&str, usize)> {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for d in diagnostics.iter().filter(|d| is_active(d)) {
        *counts.entry(d.code.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts
}

/// ` [suppressed: reason]` / ` [pre-existing]`: how a finding that does not fail the gate is
/// marked in every text format.
pub fn status_suffix(d: &Diagnostic) -> String {
    let mut s = String::new();
    if d.suppressed {
        s.push_str(&format!(
            " [suppressed: {}]",
            d.suppressed_reason.as_deref().unwrap_or("exception")
        ));
    }
    if d.pre_existing {
        s.push_str(" [pre-existing]");
    }
    if d.baselined {
        s.push_str(" [baselined]");
    }
    s
}

/// `Deployment prod/web`, or the empty string.
pub fn resource_label(d: &Diagnostic) -> String {
    d.resource
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default()
}

/// `file:line:col` (or `file`, or nothing for run-level findings), control characters escaped.
pub fn location_text(d: &Diagnostic) -> String {
    let file = escape_controls(&d.file);
    match d.span {
        Some(s) if !d.file.is_empty() => format!("{file}:{}:{}", s.line, s.col),
        _ => file.into_owned(),
    }
}

/// Why objects were not verified, e.g. `schema/missing: 2, render/unsupported: 1`.
pub fn unverified_reasons(s: &crate::report::Summary) -> String {
    s.unverified_by
        .iter()
        .map(|(code, n)| format!("{code}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Diagnostic, ResourceRef};
    use crate::source::Span;

    fn diag(code: &str, file: &str, line: u32, msg: &str) -> Diagnostic {
        Diagnostic::error(code, msg)
            .in_file(
                file,
                Some(Span {
                    line,
                    col: 3,
                    end_line: line,
                    end_col: 9,
                    ..Span::default()
                }),
            )
            .with_resource(Some(ResourceRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("prod".into()),
                name: "web".into(),
            }))
            .with_path("/spec/replicas")
    }

    #[test]
    fn fingerprints_are_stable_line_independent_and_unique() {
        let a = diag("schema/wrong-type", "a.yaml", 4, "expected integer");
        let b = diag("schema/wrong-type", "b.yaml", 4, "expected integer");
        let moved = diag("schema/wrong-type", "a.yaml", 40, "expected integer");
        let first = fingerprints(&[a.clone(), b.clone()]);
        assert_eq!(first, fingerprints(&[a.clone(), b.clone()]));
        assert_ne!(first[0], first[1]);
        // Moving a finding down the file keeps its fingerprint.
        assert_eq!(fingerprints(&[moved])[0], first[0]);
        // The same finding twice still gets two fingerprints, stable in order.
        let twice = fingerprints(&[a.clone(), a.clone()]);
        assert_ne!(twice[0], twice[1]);
        assert_eq!(twice[0], first[0]);
        let other_msg = diag("schema/wrong-type", "a.yaml", 4, "expected string");
        assert_ne!(fingerprints(&[other_msg])[0], first[0]);
        assert_eq!(first[0].len(), 64);
    }

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(path_uri("./apps/web.yaml"), "apps/web.yaml");
        assert_eq!(path_uri("c:odd name#1.yaml"), "c%3Aodd%20name%231.yaml");
        assert_eq!(path_uri("x\n\u{1b}[31m.yaml"), "x%0A%1B%5B31m.yaml");
        assert_eq!(path_uri("é.yaml"), "%C3%A9.yaml");
        assert!(path_uri("/definitely/elsewhere/a.yaml").starts_with("file:///definitely/"));
    }

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(escape_controls("plain.yaml"), "plain.yaml");
        assert_eq!(
            escape_controls("a\nb\u{1b}[2J.yaml"),
            "a\\u{a}b\\u{1b}[2J.yaml"
        );
    }
}
