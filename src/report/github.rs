//! `--format github`: GitHub Actions workflow commands (`::error file=…,line=…::message`), which
//! the runner turns into annotations on the pull request's changed lines.

use std::fmt::Write;

use super::common::{escape_controls, is_active, portable_path, resource_label};
use super::Report;
use crate::diagnostic::{Diagnostic, Severity};

/// Escapes a message the way the runner decodes it (`%`, CR, LF). Other control characters
/// (terminal escape sequences) are made visible so they cannot act on the log viewer.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes a property value (`file=`, `title=`): as data, plus `:` and `,`, which end a
/// property.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(d: &Diagnostic) -> &'static str {
    if !is_active(d) {
        return "notice";
    }
    match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    }
}

/// One workflow command line for a finding.
pub fn annotation(d: &Diagnostic) -> String {
    let mut props = Vec::new();
    if !d.file.is_empty() {
        props.push(format!("file={}", escape_property(&portable_path(&d.file))));
        if let Some(s) = d.span {
            props.push(format!("line={}", s.line));
            props.push(format!("col={}", s.col));
            if s.end_line >= s.line {
                props.push(format!("endLine={}", s.end_line));
                // The runner only honours a column range on a single line.
                if s.end_line == s.line && s.end_col > s.col {
                    props.push(format!("endColumn={}", s.end_col));
                }
            }
        }
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("kgate {}", d.code))
    ));
    let mut message = String::new();
    let label = resource_label(d);
    if !label.is_empty() {
        let _ = write!(message, "{label}: ");
    }
    message.push_str(&d.message);
    if let Some(overlay) = &d.rendered_for {
        let _ = write!(message, " (rendered for {overlay})");
    }
    message.push_str(&super::common::status_suffix(d));
    if let Some(h) = &d.help {
        let _ = write!(message, "\nhelp: {h}");
    }
    for r in &d.related {
        let _ = write!(
            message,
            "\n{}: {}:{}:{}",
            r.message,
            escape_controls(&r.file),
            r.line,
            r.column
        );
    }
    format!(
        "::{} {}::{}",
        command(d),
        props.join(","),
        escape_data(&message)
    )
}

/// Annotations per level (error, warning, notice) that the runner shows for a step: GitHub
/// displays about ten per level and drops the rest, so more would only be noise. The others
/// are printed as plain log lines, and one notice says how many were not annotated.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    let mut shown: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut unannotated: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for d in report.diagnostics {
        // Suppressed and pre-existing findings would only add noise to the diff view.
        if !is_active(d) && !report.verbose {
            continue;
        }
        let level = command(d);
        let n = shown.entry(level).or_default();
        if *n < ANNOTATIONS_PER_LEVEL {
            *n += 1;
            out.push_str(&annotation(d));
        } else {
            *unannotated.entry(level).or_default() += 1;
            // A plain log line: the finding stays in the job log, without an annotation.
            let _ = write!(
                out,
                "kgate: {}: {level} [{}] {}",
                super::common::location_text(d),
                escape_controls(&d.code),
                escape_controls(&d.message)
            );
        }
        out.push('\n');
    }
    if !unannotated.is_empty() {
        let parts: Vec<String> = unannotated
            .iter()
            .map(|(level, n)| format!("{n} {level}{}", if *n == 1 { "" } else { "s" }))
            .collect();
        let _ = writeln!(
            out,
            "::notice title=kgate::{} not annotated (GitHub shows {ANNOTATIONS_PER_LEVEL} per \
             level); they are listed in this log, the job summary and the SARIF/JSON report",
            parts.join(", ")
        );
    }
    let s = report.summary;
    // A plain log line (not a command): the summary in the job log.
    let _ = writeln!(
        out,
        "kgate: {} files, {} resources: {} errors, {} warnings, {} suppressed",
        s.files, s.resources, s.errors, s.warnings, s.suppressed
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    #[test]
    fn annotations_are_capped_per_level_with_a_summary_notice() {
        let mut diags: Vec<Diagnostic> = (0..25)
            .map(|i| {
                Diagnostic::error("schema/unknown-field", format!("e{i}")).in_file("a.yaml", None)
            })
            .collect();
        diags.extend((0..3).map(|i| Diagnostic::warning("schema/missing", format!("w{i}"))));
        let mut summary = crate::report::Summary::default();
        summary.count_findings(&diags);
        let files = crate::source::Files::new();
        let masks = Default::default();
        let out = render(&Report {
            diagnostics: &diags,
            summary: &summary,
            files: &files,
            masks: &masks,
            skipped: &[],
            verbose: false,
            color: false,
            kubernetes_version: "1.33",
            resources: &[],
            fail_level: Some(Severity::Error),
            shard: None,
            quiet: false,
        });
        let count = |p: &str| out.lines().filter(|l| l.starts_with(p)).count();
        assert_eq!(count("::error "), ANNOTATIONS_PER_LEVEL);
        assert_eq!(count("::warning "), 3);
        assert_eq!(
            count("kgate: a.yaml: error [schema/unknown-field] e"),
            15,
            "{out}"
        );
        assert!(
            out.contains("::notice title=kgate::15 errors not annotated"),
            "{out}"
        );
    }

    #[test]
    fn escapes_as_the_runner_decodes() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(escape_data("a: b, c"), "a: b, c");
        assert_eq!(escape_property("a: b, c%\n"), "a%3A b%2C c%25%0A");
        assert_eq!(escape_data("red\u{1b}[31m"), "red\\u{1b}[31m");
    }

    #[test]
    fn annotation_has_position_and_escaped_fields() {
        let d = Diagnostic::error("schema/unknown-field", "unknown field `x`\nsecond line")
            .in_file(
                "./apps/we,ird:name.yaml",
                Some(Span {
                    line: 7,
                    col: 5,
                    end_line: 7,
                    end_col: 12,
                    ..Span::default()
                }),
            );
        assert_eq!(
            annotation(&d),
            "::error file=apps/we%2Cird%3Aname.yaml,line=7,col=5,endLine=7,endColumn=12,title=kgate schema/unknown-field::unknown field `x`%0Asecond line"
        );
        let w = Diagnostic::warning("schema/missing", "no schema");
        assert_eq!(
            annotation(&w),
            "::warning title=kgate schema/missing::no schema"
        );
    }
}
