//! `--format markdown`: a report for a merge request comment or `$GITHUB_STEP_SUMMARY`: a summary
//! table, then the findings grouped by file. Every piece of user text is escaped, so a message or
//! file name cannot inject Markdown, HTML or mentions into the page.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::common::{escape_controls, is_active, resource_label};
use super::Report;
use crate::diagnostic::{Diagnostic, Severity};

/// Files with findings above which each file's table is folded into a `<details>` block.
const FOLD_FILES_OVER: usize = 3;
/// Findings above which every file's table is folded.
const FOLD_FINDINGS_OVER: usize = 20;

/// Escapes text for a Markdown table cell or an HTML element: HTML specials become entities,
/// Markdown punctuation is backslash-escaped, `|` cannot end the cell, newlines become `<br>`,
/// `@` cannot mention anyone, and control characters are made visible.
pub fn escape(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br>"),
            // `@user` would notify someone from a comment.
            '@' => out.push_str("&#64;"),
            // `.` and `:` stop autolinks (`www.x.com`, `https://…`), `#` issue references;
            // the rest is inline Markdown syntax.
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '.' | '|' | '~'
            | '$' | ':' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push_str(&escape_controls(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// HTML-only escape, for text inside HTML elements such as `<summary>`/`<code>`, where a
/// backslash escape would be shown literally.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_controls(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '@' => out.push_str("&#64;"),
            c => out.push(c),
        }
    }
    out
}

fn finding_row(out: &mut String, d: &Diagnostic) {
    let position = d
        .span
        .map(|s| format!("{}:{}", s.line, s.col))
        .unwrap_or_default();
    let mut message = escape(&d.message);
    if let Some(overlay) = &d.rendered_for {
        let _ = write!(message, " (rendered for {})", escape(overlay));
    }
    if d.suppressed {
        let _ = write!(
            message,
            " <em>suppressed: {}</em>",
            escape(d.suppressed_reason.as_deref().unwrap_or("exception"))
        );
    }
    if let Some(h) = &d.help {
        let _ = write!(message, "<br><em>help: {}</em>", escape(h));
    }
    let icon = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    };
    let _ = writeln!(
        out,
        "| {position} | {icon} | {} | {} | {message} |",
        escape(&d.code),
        escape(&resource_label(d)),
    );
}

fn table(out: &mut String, findings: &[&Diagnostic]) {
    out.push_str("| Line | Severity | Code | Resource | Message |\n|---|---|---|---|---|\n");
    for d in findings {
        finding_row(out, d);
    }
}

/// Findings grouped by file, folded when there are many.
fn grouped(out: &mut String, findings: &[&Diagnostic], force_fold: bool) {
    let mut by_file: BTreeMap<&str, Vec<&Diagnostic>> = BTreeMap::new();
    for d in findings {
        by_file.entry(d.file.as_str()).or_default().push(d);
    }
    let fold = force_fold || by_file.len() > FOLD_FILES_OVER || findings.len() > FOLD_FINDINGS_OVER;
    for (file, list) in &by_file {
        let name = if file.is_empty() {
            "(run)".to_string()
        } else {
            escape_html(file)
        };
        let count = format!(
            "{} {}",
            list.len(),
            if list.len() == 1 {
                "finding"
            } else {
                "findings"
            }
        );
        if fold {
            let _ = writeln!(
                out,
                "<details><summary><code>{name}</code> — {count}</summary>\n"
            );
            table(out, list);
            out.push_str("\n</details>\n\n");
        } else {
            let _ = writeln!(out, "#### <code>{name}</code> — {count}\n");
            table(out, list);
            out.push('\n');
        }
    }
}

/// The report, with an optional extra Markdown section appended (the dry-run plan in
/// merge-request mode). The extra section is trusted Markdown produced by kgate itself.
pub fn render_with(report: &Report<'_>, extra: Option<&str>) -> String {
    let s = report.summary;
    let failed = report
        .diagnostics
        .iter()
        .any(|d| d.fails_at(report.fail_level));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### kgate: {}\n",
        if failed { "❌ failed" } else { "✅ passed" }
    );
    out.push_str(
        "| Files | Resources | Errors | Warnings | Suppressed |\n|---:|---:|---:|---:|---:|\n",
    );
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n",
        s.files, s.resources, s.errors, s.warnings, s.suppressed
    );
    let _ = writeln!(out, "Kubernetes {}.\n", escape(report.kubernetes_version));

    let active: Vec<&Diagnostic> = report.diagnostics.iter().filter(|d| is_active(d)).collect();
    if active.is_empty() {
        out.push_str("No findings.\n\n");
    } else {
        grouped(&mut out, &active, false);
    }
    let pre: Vec<&Diagnostic> = report
        .diagnostics
        .iter()
        .filter(|d| d.pre_existing && !d.suppressed)
        .collect();
    if !pre.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} pre-existing (also on the base revision)</summary>\n",
            pre.len()
        );
        grouped(&mut out, &pre, false);
        out.push_str("</details>\n\n");
    }
    let suppressed: Vec<&Diagnostic> = report.diagnostics.iter().filter(|d| d.suppressed).collect();
    if !suppressed.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} suppressed by exceptions</summary>\n",
            suppressed.len()
        );
        grouped(&mut out, &suppressed, false);
        out.push_str("</details>\n\n");
    }
    if let Some(extra) = extra {
        out.push_str(extra.trim_end());
        out.push_str("\n\n");
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

pub fn render(report: &Report<'_>) -> String {
    render_with(report, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_html_and_mentions() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("<script>"), "&lt;script&gt;");
        assert_eq!(escape("**x** [l](u)"), "\\*\\*x\\*\\* \\[l\\]\\(u\\)");
        assert_eq!(escape("hi @team"), "hi &#64;team");
        assert_eq!(escape("l1\nl2"), "l1<br>l2");
        assert_eq!(escape("\u{1b}[31m"), "\\u{1b}\\[31m");
        assert_eq!(escape_html("a\nb<c>"), "a\\u{a}b&lt;c&gt;");
    }
}
