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

/// [`JsonReport`]'s shape over the run's own data, written without copying every finding and
/// object first (a large repository's report is most of the run's memory at the end).
#[derive(Serialize)]
struct JsonReportView<'a> {
    version: u32,
    #[serde(rename = "kubernetesVersion")]
    kubernetes_version: &'a str,
    summary: &'a Summary,
    diagnostics: &'a [Diagnostic],
    skipped: Vec<SkippedView<'a>>,
    resources: &'a [super::ResourceEntry],
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<crate::shard::Shard>,
}

#[derive(Serialize)]
struct SkippedView<'a> {
    file: &'a str,
    line: u32,
    reason: &'a str,
}

pub fn render(report: &Report<'_>) -> String {
    let doc = JsonReportView {
        version: 1,
        kubernetes_version: report.kubernetes_version,
        summary: report.summary,
        diagnostics: report.diagnostics,
        skipped: report
            .skipped
            .iter()
            .map(|s| SkippedView {
                file: &s.file,
                line: s.line,
                reason: &s.reason,
            })
            .collect(),
        resources: report.resources,
        shard: report.shard,
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{ResourceRef, Severity};

    /// What `render` writes is what `kgate merge` reads back ([`JsonReport`]), field for field.
    #[test]
    fn the_written_report_reads_back_as_the_documented_shape() {
        let resource = ResourceRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            namespace: Some("prod".into()),
        };
        let diagnostics = vec![
            Diagnostic::new("schema/unknown-field", Severity::Error, "no")
                .in_file("apps/web.yaml", None)
                .with_resource(Some(resource.clone())),
        ];
        let skipped = vec![crate::load::Skipped {
            file: "values.yaml".into(),
            line: 3,
            reason: "Helm values".into(),
        }];
        let resources = vec![super::super::ResourceEntry {
            file: "apps/web.yaml".into(),
            line: 1,
            resource,
        }];
        let summary = Summary {
            files: 2,
            resources: 1,
            ..Summary::default()
        };
        let files = crate::source::Files::new();
        let masks = Default::default();
        let report = Report {
            diagnostics: &diagnostics,
            summary: &summary,
            files: &files,
            masks: &masks,
            skipped: &skipped,
            verbose: false,
            color: false,
            kubernetes_version: "1.33",
            resources: &resources,
            fail_level: Some(Severity::Error),
            shard: Some(crate::shard::Shard { index: 2, total: 3 }),
            quiet: false,
        };
        let back: JsonReport = serde_json::from_str(&render(&report)).unwrap();
        assert_eq!(back.version, 1);
        assert_eq!(back.kubernetes_version, "1.33");
        assert_eq!(back.summary.files, 2);
        assert_eq!(back.diagnostics, diagnostics);
        assert_eq!(
            back.skipped
                .iter()
                .map(|s| (s.file.as_str(), s.line, s.reason.as_str()))
                .collect::<Vec<_>>(),
            [("values.yaml", 3, "Helm values")]
        );
        assert_eq!(back.resources, resources);
        assert_eq!(back.shard.map(|s| (s.index, s.total)), Some((2, 3)));
    }
}
