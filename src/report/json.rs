//! `--format json`: the stable, documented machine-readable report (see README "JSON report").

use serde::{Deserialize, Serialize};

use super::{Report, Summary};
use crate::diagnostic::Diagnostic;

/// The JSON report. `version` changes only with an incompatible change of shape.
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonReport {
    pub version: u32,
    #[serde(default, rename = "kubernetesVersion")]
    pub kubernetes_version: String,
    pub summary: Summary,
    pub diagnostics: Vec<Diagnostic>,
    #[serde(default)]
    pub skipped: Vec<SkippedDocument>,
    /// Every checked object (file, line, identity): lets `kgate merge` and JUnit list the
    /// objects that passed.
    #[serde(default)]
    pub resources: Vec<super::ResourceEntry>,
    /// Present when the run checked one shard (`--shard I/N`); `kgate merge` checks that every
    /// shard is there exactly once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::Shard>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SkippedDocument {
    pub file: String,
    pub line: u32,
    pub reason: String,
}

pub fn render(report: &Report<'_>) -> String {
    let doc = JsonReport {
        version: 1,
        kubernetes_version: report.kubernetes_version.to_string(),
        summary: report.summary.clone(),
        diagnostics: report.diagnostics.to_vec(),
        skipped: report
            .skipped
            .iter()
            .map(|s| SkippedDocument {
                file: s.file.clone(),
                line: s.line,
                reason: s.reason.clone(),
            })
            .collect(),
        resources: report.resources.to_vec(),
        shard: report.shard,
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
