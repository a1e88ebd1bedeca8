//! `--format gitlab`: GitLab Code Quality JSON (a subset of the Code Climate issue format), for
//! `artifacts:reports:codequality`, so findings appear in the merge request widget and diff.

use serde::Serialize;

use super::common::{fingerprints, portable_path, resource_label};
use super::Report;
use crate::diagnostic::Severity;

#[derive(Debug, Serialize)]
struct Issue {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    categories: [&'static str; 1],
    location: Location,
}

#[derive(Debug, Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Debug, Serialize)]
struct Lines {
    begin: u32,
}

/// GitLab's scale is info < minor < major < critical < blocker. An error blocks the gate but is
/// not a security incident: `major`, so errors rank above warnings in the widget.
fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Note => "info",
    }
}

pub fn render(report: &Report<'_>) -> String {
    let prints = fingerprints(report.diagnostics);
    let issues: Vec<Issue> = report
        .diagnostics
        .iter()
        .zip(prints)
        // An exception is an accepted finding: GitLab has no notion of suppression, so it is
        // left out. Pre-existing findings stay: GitLab compares with the target branch's
        // report itself, by fingerprint.
        .filter(|(d, _)| !d.suppressed)
        .map(|(d, fingerprint)| {
            let label = resource_label(d);
            let mut description = if label.is_empty() {
                d.message.clone()
            } else {
                format!("{label}: {}", d.message)
            };
            if let Some(overlay) = &d.rendered_for {
                description.push_str(&format!(" (rendered for {overlay})"));
            }
            Issue {
                kind: "issue",
                description,
                check_name: d.code.clone(),
                fingerprint,
                severity: severity(d.severity),
                categories: [if d.code.starts_with("policy/") {
                    "Security"
                } else {
                    "Bug Risk"
                }],
                location: Location {
                    // GitLab needs a path: run-level findings point at the repository root.
                    path: if d.file.is_empty() {
                        ".".into()
                    } else {
                        portable_path(&d.file)
                    },
                    lines: Lines {
                        begin: d.span.map(|s| s.line.max(1)).unwrap_or(1),
                    },
                },
            }
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}
