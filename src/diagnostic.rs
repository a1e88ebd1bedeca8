//! Findings as data: what is wrong, how bad, where, and on which resource.

use serde::{Deserialize, Serialize};

use crate::source::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "note" | "info" => Some(Severity::Note),
            "warning" | "warn" => Some(Severity::Warning),
            "error" | "deny" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Kubernetes object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: String,
}

impl std::fmt::Display for ResourceRef {
    /// `Deployment prod/web`, `Namespace prod`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = if self.name.is_empty() {
            "(unnamed)"
        } else {
            &self.name
        };
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, name),
            None => write!(f, "{} {}", self.kind, name),
        }
    }
}

/// A secondary location, e.g. the first occurrence of a duplicated key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    pub message: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// One finding. Produced by every check stage, consumed only by reporters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: String,
    pub severity: Severity,
    pub message: String,
    /// The file as given on the command line or found under a given folder; empty for run-level
    /// problems.
    pub file: String,
    #[serde(flatten, with = "span_fields", default)]
    pub span: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceRef>,
    /// JSON pointer of the field inside the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// The kustomization / Flux Kustomization this object was rendered for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered_for: Option<String>,
    /// Set when an exception matched: the finding is kept, counted, and does not fail the gate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_reason: Option<String>,
    /// In merge-request mode: the same finding exists on the base revision.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pre_existing: bool,
    /// Accepted by the repository's baseline (`.kgate-baseline.json`): reported, not failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baselined: bool,
    /// Extra fields a policy returned with its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
    /// The lines of the code frame, already masked, for a finding whose file's text the run has
    /// let go of (files checked as a stream keep no text). Never serialized.
    #[serde(skip)]
    pub snippet: Option<std::sync::Arc<Snippet>>,
}

/// A few masked lines of a file around a finding: enough for its code frame, in the file's own
/// coordinates (`offset` is the byte offset of `text` in the file, `first_line` its 1-based line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub offset: usize,
    pub first_line: u32,
}

impl Snippet {
    /// Lines of context a code frame shows before and after the labelled line.
    pub const CONTEXT_LINES: u32 = 1;

    /// Lines that a code frame around `span` shows ([`Self::CONTEXT_LINES`] before and after
    /// the span's first line) out of an already masked `text`.
    pub fn around(text: &str, span: Span) -> Option<Snippet> {
        let context = Self::CONTEXT_LINES;
        if span.start > text.len() || span.line == 0 {
            return None;
        }
        let first_line = span.line.saturating_sub(context).max(1);
        // Walk back from the span's line start to the first line shown.
        let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let mut offset = line_start;
        for _ in first_line..span.line {
            offset = text[..offset.saturating_sub(1)]
                .rfind('\n')
                .map_or(0, |i| i + 1);
        }
        let mut end = span.start;
        for _ in 0..=context {
            end = match text[end..].find('\n') {
                Some(i) => end + i + 1,
                None => text.len(),
            };
        }
        Some(Snippet {
            text: text[offset..end].to_string(),
            offset,
            first_line,
        })
    }
}

impl Diagnostic {
    pub fn new(code: impl Into<String>, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.into(),
            severity,
            message: message.into(),
            file: String::new(),
            span: None,
            resource: None,
            path: None,
            help: None,
            related: Vec::new(),
            rendered_for: None,
            suppressed: false,
            suppressed_reason: None,
            pre_existing: false,
            baselined: false,
            details: None,
            snippet: None,
        }
    }

    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }

    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }

    pub fn in_file(mut self, file: impl Into<String>, span: Option<Span>) -> Self {
        self.file = file.into();
        self.span = span;
        self
    }

    pub fn with_resource(mut self, resource: Option<ResourceRef>) -> Self {
        self.resource = resource;
        self
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this finding is a live problem: not accepted by an exception, not already on the
    /// base revision, not in the baseline.
    pub fn is_live(&self) -> bool {
        !self.suppressed && !self.pre_existing && !self.baselined
    }

    /// Whether this finding makes the gate fail at the given level.
    pub fn fails_at(&self, level: Severity) -> bool {
        self.is_live() && self.severity >= level
    }

    /// The deterministic report order: file, position, code, message.
    pub fn sort_key(&self) -> (&str, u32, u32, &str, &str) {
        let (line, col) = self.span.map(|s| (s.line, s.col)).unwrap_or((0, 0));
        (&self.file, line, col, &self.code, &self.message)
    }
}

/// The allowed key closest to `key` (edit distance ≤ 3), for did-you-mean hints on
/// names a user wrote (configuration keys, codes, exception patterns, image policy names).
pub fn closest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (strsim::levenshtein(key, a), *a))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, a)| a)
}

/// Serializes a span as the flat `line`, `column`, `end_line`, `end_column` fields of the JSON
/// report (byte offsets stay internal).
mod span_fields {
    use super::Span;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Flat {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        column: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_line: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_column: Option<u32>,
    }

    pub fn serialize<S: Serializer>(span: &Option<Span>, s: S) -> Result<S::Ok, S::Error> {
        let flat = match span {
            Some(sp) => Flat {
                line: Some(sp.line),
                column: Some(sp.col),
                end_line: Some(sp.end_line),
                end_column: Some(sp.end_col),
            },
            None => Flat {
                line: None,
                column: None,
                end_line: None,
                end_column: None,
            },
        };
        flat.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Span>, D::Error> {
        let flat = Flat::deserialize(d)?;
        Ok(flat.line.map(|line| {
            let col = flat.column.unwrap_or(1);
            Span {
                file: 0,
                line,
                col,
                end_line: flat.end_line.unwrap_or(line),
                end_col: flat.end_column.unwrap_or(col),
                start: 0,
                end: 0,
            }
        }))
    }
}
