//! Human output: miette code frames with the offending span labelled, then one summary line.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use super::Report;
use crate::diagnostic::{Diagnostic, Severity};

/// A finding in the shape miette renders.
#[derive(Debug)]
struct Frame {
    message: String,
    code: String,
    severity: Severity,
    help: Option<String>,
    source: Option<NamedSource<FrameSource>>,
    labels: Vec<LabeledSpan>,
}

/// The text a code frame is cut from: the whole (masked) file, or the few masked lines a
/// streamed file's finding kept ([`crate::diagnostic::Snippet`]), in the file's coordinates.
#[derive(Debug)]
enum FrameSource {
    Whole(Arc<String>),
    Part {
        text: String,
        offset: usize,
        first_line: u32,
    },
}

impl miette::SourceCode for FrameSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        match self {
            FrameSource::Whole(text) => text.as_str().read_span(span, before, after),
            FrameSource::Part {
                text,
                offset,
                first_line,
            } => {
                let local = span
                    .offset()
                    .checked_sub(*offset)
                    .ok_or(miette::MietteError::OutOfBounds)?;
                let c = text.as_str().read_span(
                    &SourceSpan::new(local.into(), span.len()),
                    before,
                    after,
                )?;
                let covered = SourceSpan::new((c.span().offset() + offset).into(), c.span().len());
                Ok(Box::new(miette::MietteSpanContents::new(
                    c.data(),
                    covered,
                    c.line() + *first_line as usize - 1,
                    c.column(),
                    c.line_count(),
                )))
            }
        }
    }
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Frame {}

impl miette::Diagnostic for Frame {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

pub fn render(report: &Report<'_>) -> String {
    let theme = if report.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_width(100)
        .with_context_lines(crate::diagnostic::Snippet::CONTEXT_LINES as usize)
        .without_syntax_highlighting();
    let mut sources: HashMap<String, Option<Arc<String>>> = HashMap::new();
    let mut out = String::new();
    let mut hidden = 0usize;
    for d in report.diagnostics {
        // Pre-existing findings reach a reporter only when asked for (`check --all`).
        // Suppressed and baselined findings are accepted debt: listed with --verbose.
        if (d.suppressed || d.baselined) && !report.verbose {
            hidden += 1;
            continue;
        }
        // --quiet: errors only (the summary still counts the rest).
        if report.quiet && d.severity != Severity::Error {
            continue;
        }
        let frame = frame(report, d, &mut sources);
        let _ = handler.render_report(&mut out, &frame);
        out.push('\n');
    }
    if report.verbose && !report.quiet {
        for s in report.skipped {
            let _ = writeln!(
                out,
                "skipped {}:{}: {}",
                super::common::escape_controls(&s.file),
                s.line,
                escape_keeping_newlines(&s.reason)
            );
        }
    }
    out.push_str(&tally(report.diagnostics));
    let s = report.summary;
    let _ = write!(
        out,
        "{} {}, {} {}: {} valid, {} invalid{}, {} skipped — {} {}, {} {}",
        s.files,
        plural(s.files, "file", "files"),
        s.resources,
        plural(s.resources, "resource", "resources"),
        s.valid,
        s.invalid,
        // Objects without a schema are not valid: said only when there are some, so the line of
        // a fully checked run reads as before.
        if s.unchecked > 0 {
            format!(", {} unchecked", s.unchecked)
        } else {
            String::new()
        },
        s.skipped,
        s.errors,
        plural(s.errors, "error", "errors"),
        s.warnings,
        plural(s.warnings, "warning", "warnings"),
    );
    if s.suppressed > 0 {
        let _ = write!(out, ", {} suppressed", s.suppressed);
    }
    if s.pre_existing > 0 {
        let _ = write!(out, ", {} pre-existing", s.pre_existing);
    }
    if s.baselined > 0 {
        let _ = write!(out, ", {} baselined", s.baselined);
    }
    if s.unverified > 0 {
        let _ = write!(
            out,
            ", {} not verified ({})",
            s.unverified,
            crate::report::common::unverified_reasons(s)
        );
    }
    if hidden > 0 {
        let _ = write!(out, " ({hidden} hidden: --verbose shows them)");
    }
    out.push('\n');
    out
}

/// The file text for a code frame with every control character but newline and tab (and the
/// CR of a CRLF) replaced by `?` of the same byte length, so that byte offsets stay valid and a
/// raw ESC byte in a hostile file cannot reach the terminal.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let keep = c == '\n' || c == '\t' || (c == '\r' && chars.peek() == Some(&'\n'));
        if c.is_control() && !keep {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// [`super::common::escape_controls`] line by line: a multi-line message stays multi-line.
fn escape_keeping_newlines(s: &str) -> String {
    s.split('\n')
        .map(|l| super::common::escape_controls(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line counting the active findings per code, most frequent first (ties by code), so a
/// long run says at a glance which rules fire; empty when there are none.
pub fn tally(diagnostics: &[Diagnostic]) -> String {
    let counts = super::common::count_by_code(diagnostics);
    if counts.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(code, n)| format!("{} {n}", super::common::escape_controls(code)))
        .collect();
    format!("by code: {}\n", parts.join(", "))
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn frame(
    report: &Report<'_>,
    d: &Diagnostic,
    sources: &mut HashMap<String, Option<Arc<String>>>,
) -> Frame {
    let mut message = String::new();
    if let Some(r) = &d.resource {
        let _ = write!(message, "{r}: ");
    }
    message.push_str(&d.message);
    message.push_str(&super::common::status_suffix(d));
    // A hostile file name (newline, ESC sequence) must neither break the frame nor drive the
    // terminal: names are shown with control characters escaped, messages keep their newlines.
    let mut message = escape_keeping_newlines(&message);
    // miette appends `:line:col` to the source name itself.
    let mut location = super::common::escape_controls(&d.file).into_owned();
    if let Some(overlay) = &d.rendered_for {
        let _ = write!(
            message,
            " (rendered for {})",
            super::common::escape_controls(overlay)
        );
    }
    let source = sources
        .entry(d.file.clone())
        .or_insert_with(|| {
            report.files.by_path(&d.file).map(|f| {
                let masks = report.masks.get(&f.id).map(Vec::as_slice).unwrap_or(&[]);
                Arc::new(printable(&crate::redact::mask(&f.text, masks)))
            })
        })
        .clone()
        // A streamed file's text is let go once checked: its findings carry snippets.
        .filter(|text| !text.is_empty());
    let mut labels = Vec::new();
    let mut named = None;
    let cut = match (source, &d.snippet) {
        (Some(text), _) => Some((FrameSource::Whole(text), 0)),
        (None, Some(snippet)) => Some((
            FrameSource::Part {
                text: printable(&snippet.text),
                offset: snippet.offset,
                first_line: snippet.first_line,
            },
            snippet.offset,
        )),
        (None, None) => None,
    };
    if let (Some((source, base)), Some(span)) = (cut, d.span) {
        let text = match &source {
            FrameSource::Whole(text) => text.as_str(),
            FrameSource::Part { text, .. } => text.as_str(),
        };
        let local = span.start.checked_sub(base).filter(|l| *l <= text.len());
        if let (Some(local), false) = (local, d.file.is_empty()) {
            let len = span.end.saturating_sub(span.start).min(text.len() - local);
            // A multi-line value is labelled on its first line only: the frame stays short.
            let first_line_len = text[local..local + len].find('\n').unwrap_or(len);
            labels.push(LabeledSpan::new_with_span(
                Some(label_for(d)),
                SourceSpan::new(span.start.into(), first_line_len),
            ));
            named = Some(NamedSource::new(location.clone(), source));
        }
    }
    let mut help = d.help.as_deref().map(escape_keeping_newlines);
    if named.is_none() && !location.is_empty() {
        if let Some(span) = d.span {
            let _ = write!(location, ":{}:{}", span.line, span.col);
        }
        message = format!("{location}: {message}");
    }
    for r in &d.related {
        let line = format!(
            "{}: {}:{}:{}",
            escape_keeping_newlines(&r.message),
            super::common::escape_controls(&r.file),
            r.line,
            r.column
        );
        help = Some(match help {
            Some(h) => format!("{h}\n{line}"),
            None => line,
        });
    }
    Frame {
        message,
        code: d.code.clone(),
        severity: d.severity,
        help,
        source: named,
        labels,
    }
}

fn label_for(d: &Diagnostic) -> String {
    match d.code.as_str() {
        "schema/unknown-field" => "unknown field".into(),
        "schema/required-field" => "missing a required field".into(),
        "schema/wrong-type" => "wrong type".into(),
        "yaml/duplicate-key" => "duplicate key".into(),
        "schema/removed-api" => "no longer served".into(),
        "schema/missing" => "no schema".into(),
        _ => "here".into(),
    }
}
