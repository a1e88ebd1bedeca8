//! `--format junit`: JUnit XML for CI test views (GitLab `artifacts:reports:junit`, Jenkins,
//! Azure): one `testsuite` per file, one `testcase` per object, a `failure` per failing object.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::common::{escape_controls, is_active, location_text};
use super::Report;
use crate::diagnostic::{Diagnostic, ResourceRef};

/// Escapes text for XML 1.0 content and attribute values. Characters XML 1.0 cannot carry at all
/// (most C0 controls, lone surrogates cannot occur in Rust strings, U+FFFE/U+FFFF) are replaced
/// by a visible `\u{…}` escape; tab, newline and carriage return are kept, as character
/// references in attributes so parsers do not normalise them to spaces.
pub fn escape_xml(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' | '\r' | '\t' if attribute => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            // Allowed by XML 1.0 but controls all the same (DEL, C1): keep logs clean.
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A test case under construction: an object, or the file itself for file-level findings.
#[derive(Default)]
struct Case<'a> {
    findings: Vec<&'a Diagnostic>,
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum CaseKey {
    /// File-level findings (syntax errors, unreadable file): the case is named after the file.
    File,
    Resource(ResourceRef),
}

fn finding_line(d: &Diagnostic) -> String {
    let mut line = location_text(d);
    if !line.is_empty() {
        line.push_str(": ");
    }
    let _ = write!(line, "{} {}: {}", d.severity, d.code, d.message);
    if let Some(p) = &d.path {
        let _ = write!(line, " (at {p})");
    }
    line.push_str(&super::common::status_suffix(d));
    if let Some(h) = &d.help {
        let _ = write!(line, "\n  help: {h}");
    }
    line
}

pub fn render(report: &Report<'_>) -> String {
    // file → case → findings; BTreeMaps keep the order deterministic.
    let mut files: BTreeMap<&str, BTreeMap<CaseKey, Case<'_>>> = BTreeMap::new();
    for r in report.resources {
        files
            .entry(r.file.as_str())
            .or_default()
            .entry(CaseKey::Resource(r.resource.clone()))
            .or_default();
    }
    for d in report.diagnostics {
        let key = match &d.resource {
            Some(r) => CaseKey::Resource(r.clone()),
            None => CaseKey::File,
        };
        files
            .entry(d.file.as_str())
            .or_default()
            .entry(key)
            .or_default()
            .findings
            .push(d);
    }
    let fails = |d: &Diagnostic| is_active(d) && report.fail_level.is_some_and(|l| d.severity >= l);

    let mut total_tests = 0;
    let mut total_failures = 0;
    let mut body = String::new();
    for (file, cases) in &files {
        // Run-level findings (no file) go in a suite of their own.
        let suite_name = if file.is_empty() { "kgate" } else { file };
        let suite_name = escape_controls(suite_name);
        let failures = cases
            .values()
            .filter(|c| c.findings.iter().any(|d| fails(d)))
            .count();
        total_tests += cases.len();
        total_failures += failures;
        let _ = writeln!(
            body,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
            escape_xml(&suite_name, true),
            cases.len(),
            failures
        );
        for (key, case) in cases {
            let name = match key {
                CaseKey::File if file.is_empty() => "kgate run".to_string(),
                CaseKey::File => suite_name.to_string(),
                CaseKey::Resource(r) => r.to_string(),
            };
            let _ = write!(
                body,
                "    <testcase name=\"{}\" classname=\"{}\"",
                escape_xml(&name, true),
                escape_xml(&suite_name, true)
            );
            let failing: Vec<&&Diagnostic> = case.findings.iter().filter(|d| fails(d)).collect();
            let other: Vec<&&Diagnostic> = case.findings.iter().filter(|d| !fails(d)).collect();
            if failing.is_empty() && other.is_empty() {
                body.push_str("/>\n");
                continue;
            }
            body.push_str(">\n");
            if let Some(first) = failing.first() {
                let summary = if failing.len() == 1 {
                    first.message.clone()
                } else {
                    format!("{} findings; first: {}", failing.len(), first.message)
                };
                let text: Vec<String> = failing.iter().map(|d| finding_line(d)).collect();
                let _ = writeln!(
                    body,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    escape_xml(&summary, true),
                    escape_xml(&first.code, true),
                    escape_xml(&text.join("\n"), false)
                );
            }
            if !other.is_empty() {
                // Findings that do not fail the gate (warnings below --fail-on, suppressed and
                // pre-existing ones) are shown, not counted.
                let text: Vec<String> = other.iter().map(|d| finding_line(d)).collect();
                let _ = writeln!(
                    body,
                    "      <system-out>{}</system-out>",
                    escape_xml(&text.join("\n"), false)
                );
            }
            body.push_str("    </testcase>\n");
        }
        body.push_str("  </testsuite>\n");
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"kgate\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"0\">"
    );
    out.push_str(&body);
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::escape_xml;

    #[test]
    fn escapes_markup_and_illegal_characters() {
        assert_eq!(escape_xml("a<b>&\"c'", false), "a&lt;b&gt;&amp;\"c'");
        assert_eq!(escape_xml("a\"b'", true), "a&quot;b&apos;");
        assert_eq!(escape_xml("x\u{0}y\u{1b}z", false), "x\\u{0}y\\u{1b}z");
        assert_eq!(escape_xml("l1\nl2", true), "l1&#10;l2");
        assert_eq!(escape_xml("l1\nl2", false), "l1\nl2");
        assert_eq!(escape_xml("\u{FFFF}", false), "\\u{ffff}");
    }
}
