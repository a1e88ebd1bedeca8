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
/// Characters the report may take: a GitHub PR comment holds 65,536, a job summary 1 MiB.
pub const MAX_CHARS: usize = 65_000;
/// Findings listed per code when the full report would not fit (halved until it does).
const FIRST_PER_CODE: usize = 20;

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
/// Which findings a folded section of the report lists.
type Belongs = fn(&Diagnostic) -> bool;

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
        .any(|d| super::fails(d, report.fail_level));
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
    if s.unverified > 0 {
        let _ = writeln!(
            out,
            "Not verified: {} ({}).\n",
            s.unverified,
            escape(&crate::report::common::unverified_reasons(s))
        );
    }

    let active: Vec<&Diagnostic> = report.diagnostics.iter().filter(|d| is_active(d)).collect();
    if active.is_empty() && s.pre_existing > 0 {
        let _ = writeln!(
            out,
            "No new findings. {} {} already on the base revision (not added by this merge \
             request; `--all` lists {}).\n",
            s.pre_existing,
            if s.pre_existing == 1 {
                "finding is"
            } else {
                "findings are"
            },
            if s.pre_existing == 1 { "it" } else { "them" }
        );
    } else if active.is_empty() {
        out.push_str("No findings.\n\n");
    } else {
        if s.pre_existing > 0 {
            let _ = writeln!(
                out,
                "{} more {} already on the base revision (not added by this merge request).\n",
                s.pre_existing,
                if s.pre_existing == 1 {
                    "finding is"
                } else {
                    "findings are"
                }
            );
        }
        grouped(&mut out, &active, false);
    }
    // Findings that do not fail the gate, each kind folded away under its own heading.
    let folded: [(&str, Belongs); 3] = [
        ("pre-existing (also on the base revision)", |d| {
            d.pre_existing && !d.suppressed
        }),
        ("accepted by the baseline", |d| {
            d.baselined && !d.suppressed && !d.pre_existing
        }),
        ("suppressed by exceptions", |d| d.suppressed),
    ];
    for (title, belongs) in folded {
        let these: Vec<&Diagnostic> = report.diagnostics.iter().filter(|d| belongs(d)).collect();
        if these.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<details><summary>{} {title}</summary>\n", these.len());
        grouped(&mut out, &these, false);
        out.push_str("</details>\n\n");
    }
    if let Some(extra) = extra {
        out.push_str(extra.trim_end());
        out.push_str("\n\n");
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    if out.len() <= MAX_CHARS {
        return out;
    }
    let mut per_code = FIRST_PER_CODE;
    loop {
        let compact = compact(report, failed, extra, per_code);
        if compact.len() <= MAX_CHARS || per_code == 0 {
            return fit(compact);
        }
        per_code /= 2;
    }
}

/// The report when the full one would not fit where it goes: the counts per code, then the
/// first `per_code` findings of each code, then how many more there are and how to get them.
fn compact(report: &Report<'_>, failed: bool, extra: Option<&str>, per_code: usize) -> String {
    let s = report.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### kgate: {}\n",
        if failed { "❌ failed" } else { "✅ passed" }
    );
    out.push_str(
        "| Files | Resources | Errors | Warnings | Suppressed | Pre-existing |\n\
         |---:|---:|---:|---:|---:|---:|\n",
    );
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |\n",
        s.files, s.resources, s.errors, s.warnings, s.suppressed, s.pre_existing
    );
    let _ = writeln!(out, "Kubernetes {}.\n", escape(report.kubernetes_version));
    let counts = super::common::count_by_code(report.diagnostics);
    out.push_str("| Code | Severity | Findings |\n|---|---|---:|\n");
    for (code, n) in &counts {
        let severity = report
            .diagnostics
            .iter()
            .find(|d| d.code == *code && is_active(d))
            .map(|d| d.severity.to_string())
            .unwrap_or_default();
        let _ = writeln!(out, "| {} | {severity} | {n} |", escape(code));
    }
    out.push('\n');
    let mut left_out = 0;
    for (code, n) in &counts {
        let first: Vec<&Diagnostic> = report
            .diagnostics
            .iter()
            .filter(|d| d.code == *code && is_active(d))
            .take(per_code)
            .collect();
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code> — {n}</summary>\n",
            escape_html(code)
        );
        out.push_str("| File | Line | Resource | Message |\n|---|---|---|---|\n");
        for d in &first {
            let position = d.span.map(|s| s.line.to_string()).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {position} | {} | {} |",
                escape(&d.file),
                escape(&resource_label(d)),
                escape(&d.message)
            );
        }
        if *n > first.len() {
            left_out += n - first.len();
            let _ = writeln!(out, "\nand {} more.", n - first.len());
        }
        out.push_str("\n</details>\n\n");
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "{left_out} findings are not listed here, to fit a merge request comment: \
             `kgate check -o json` (or the SARIF/JSON report of this job) lists every one.\n"
        );
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

/// Cuts a report that still does not fit (a huge plan section) at a line, and says so.
fn fit(mut out: String) -> String {
    if out.len() <= MAX_CHARS {
        return out;
    }
    const NOTE: &str =
        "\n\n… (cut to fit a merge request comment; `kgate check -o json` has everything)\n";
    let mut cut = MAX_CHARS - NOTE.len();
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = out[..cut].rfind('\n').unwrap_or(cut);
    out.truncate(cut);
    out.push_str(NOTE);
    out
}

pub fn render(report: &Report<'_>) -> String {
    render_with(report, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Summary;

    fn many(n: usize) -> Vec<Diagnostic> {
        (0..n)
            .map(|i| {
                let code = ["policy/resources", "schema/unknown-field", "policy/probes"][i % 3];
                Diagnostic::error(
                    code,
                    format!("finding number {i} with a reasonably long message"),
                )
                .in_file(
                    format!("apps/team-{}/deployment-{i}.yaml", i % 50),
                    Some(crate::source::Span {
                        line: 3,
                        col: 5,
                        end_line: 3,
                        end_col: 9,
                        ..Default::default()
                    }),
                )
            })
            .collect()
    }

    fn render_n(diags: &[Diagnostic], pre_existing: usize) -> String {
        let mut summary = Summary::default();
        summary.count_findings(diags);
        summary.pre_existing = pre_existing;
        let files = crate::source::Files::new();
        let masks = Default::default();
        render(&Report {
            diagnostics: diags,
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
        })
    }

    #[test]
    fn a_large_report_fits_a_comment_with_counts_per_code_and_how_to_get_the_rest() {
        let small = render_n(&many(30), 0);
        assert!(!small.contains("| Code | Severity | Findings |"), "{small}");
        let big = render_n(&many(5000), 0);
        assert!(big.len() <= MAX_CHARS, "{}", big.len());
        assert!(big.contains("| policy/resources | error | 1667 |"), "{big}");
        assert!(big.contains("| policy/probes | error | 1666 |"), "{big}");
        assert!(big.contains("and 1647 more."), "{big}");
        assert!(big.contains("`kgate check -o json`"), "{big}");
        insta::assert_snapshot!(
            "markdown_capped_head",
            &big[..big.find("<details>").unwrap()]
        );
    }

    #[test]
    fn merge_request_mode_counts_pre_existing_findings() {
        let out = render_n(&[], 4);
        assert!(
            out.contains("No new findings. 4 findings are already on the base revision"),
            "{out}"
        );
        assert!(!out.contains("No findings."), "{out}");
        let out = render_n(&many(1), 1);
        assert!(
            out.contains("1 more finding is already on the base revision"),
            "{out}"
        );
    }

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
