//! `kgate merge`: combines the JSON reports of sharded runs into one result, printed in any
//! format, with the exit status one unsharded run would have had.

use std::collections::{BTreeMap, BTreeSet};

use crate::cli::MergeArgs;
use crate::diagnostic::Diagnostic;
use crate::load::Skipped;
use crate::output::OutputError;
use crate::report::json::JsonReport;
use crate::report::{ResourceEntry, Summary};
use crate::shard::Shard;
use crate::source::Files;

/// Why `kgate merge` refused: a report it cannot read, reports that cannot come from one
/// sharded run (merging them would pass files no shard checked), or the output layer's errors.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },

    #[error("{path} is not UTF-8 text")]
    NotUtf8 {
        path: String,
        source: std::string::FromUtf8Error,
    },

    #[error("{path}: not a kgate JSON report (kgate check --format json): {source}")]
    NotAReport {
        path: String,
        source: serde_json::Error,
    },

    #[error("{report}: report version {version} is not supported (expected 1)")]
    ReportVersion { report: String, version: u32 },

    #[error("shard {shard} is given twice: {first} and {second}")]
    ShardTwice {
        shard: Shard,
        first: String,
        second: String,
    },

    #[error("the reports were made for different Kubernetes versions: {}", .versions.join(", "))]
    KubernetesVersions { versions: Vec<String> },

    #[error("the reports come from runs with different shard counts (--shard I/N)")]
    ShardCounts,

    #[error("sharded and unsharded reports cannot be merged together")]
    ShardedWithUnsharded,

    /// `missing`: the absent shards as `I/N`.
    #[error("shard {} missing: merge the reports of all {total} shards", .missing.join(", "))]
    MissingShards { missing: Vec<String>, total: u32 },

    #[error(transparent)]
    Output(#[from] OutputError),
}

/// The application layer still speaks `String` errors: `?` converts.
impl From<MergeError> for String {
    fn from(e: MergeError) -> String {
        e.to_string()
    }
}

/// The combined content of several reports.
#[derive(Debug, Default)]
pub struct Merged {
    pub diagnostics: Vec<Diagnostic>,
    pub summary: Summary,
    pub skipped: Vec<Skipped>,
    pub resources: Vec<ResourceEntry>,
    pub kubernetes_version: String,
}

/// Merges parsed reports. Refuses reports that cannot come from one sharded run: different
/// Kubernetes versions, shard counts that disagree, a shard given twice or missing.
pub fn merge(reports: &[(String, JsonReport)]) -> Result<Merged, MergeError> {
    let mut out = Merged::default();
    let mut versions = BTreeSet::new();
    let mut shards: BTreeMap<u32, &str> = BTreeMap::new();
    let mut totals = BTreeSet::new();
    let mut unsharded = 0;
    for (name, r) in reports {
        if r.version != 1 {
            return Err(MergeError::ReportVersion {
                report: name.clone(),
                version: r.version,
            });
        }
        versions.insert(r.kubernetes_version.clone());
        match r.shard {
            Some(s) => {
                totals.insert(s.total);
                if let Some(other) = shards.insert(s.index, name) {
                    return Err(MergeError::ShardTwice {
                        shard: s,
                        first: other.to_string(),
                        second: name.clone(),
                    });
                }
            }
            None => unsharded += 1,
        }
        let s = &r.summary;
        out.summary.files += s.files;
        out.summary.resources += s.resources;
        out.summary.valid += s.valid;
        out.summary.invalid += s.invalid;
        out.summary.unchecked += s.unchecked;
        out.summary.skipped += s.skipped;
        out.diagnostics.extend(r.diagnostics.iter().cloned());
        out.skipped.extend(r.skipped.iter().map(|s| Skipped {
            file: s.file.clone(),
            line: s.line,
            reason: s.reason.clone(),
        }));
        out.resources.extend(r.resources.iter().cloned());
    }
    if versions.len() > 1 {
        return Err(MergeError::KubernetesVersions {
            versions: versions.into_iter().collect(),
        });
    }
    if totals.len() > 1 {
        return Err(MergeError::ShardCounts);
    }
    if let Some(&total) = totals.iter().next() {
        if unsharded > 0 {
            return Err(MergeError::ShardedWithUnsharded);
        }
        let missing: Vec<String> = (1..=total)
            .filter(|i| !shards.contains_key(i))
            .map(|i| format!("{i}/{total}"))
            .collect();
        if !missing.is_empty() {
            // A missing shard would be a silent pass for its files.
            return Err(MergeError::MissingShards { missing, total });
        }
    }
    out.kubernetes_version = versions.into_iter().next().unwrap_or_default();
    // A finding on a shared base rendered for overlays of several shards is one finding naming
    // every overlay, as in one run; run-level findings (no file) come from every shard: one.
    out.diagnostics = crate::render::integrate::attribute_and_merge(
        &Files::new(),
        std::mem::take(&mut out.diagnostics),
    );
    out.diagnostics
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out.diagnostics.dedup();
    out.summary.count_findings(&out.diagnostics);
    out.skipped
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    out.resources.sort();
    Ok(out)
}

/// The largest JSON report `kgate merge` reads.
const MAX_REPORT: u64 = 1 << 30;

pub fn run(args: &MergeArgs) -> Result<u8, MergeError> {
    let plan = crate::output::output_plan(&args.output, args.output_file.as_deref())?;
    let mut reports = Vec::new();
    for path in &args.reports {
        // Reports are the user's own files, not the repository's: any path, but regular files
        // of bounded size only.
        let bytes = crate::read_guard::read_bounded(std::path::Path::new(path), MAX_REPORT)
            .map_err(|source| MergeError::Read {
                path: path.clone(),
                source,
            })?;
        let text = String::from_utf8(bytes).map_err(|source| MergeError::NotUtf8 {
            path: path.clone(),
            source,
        })?;
        let r: JsonReport =
            serde_json::from_str(&text).map_err(|source| MergeError::NotAReport {
                path: path.clone(),
                source,
            })?;
        reports.push((path.clone(), r));
    }
    let merged = merge(&reports)?;
    let level = crate::report::fail_level(args.fail_on);
    // No source text is carried by JSON reports: human output prints `file:line:col` lines
    // instead of code frames, and nothing unmasked can be shown.
    let files = Files::new();
    let masks = BTreeMap::new();
    let report = crate::report::Report {
        diagnostics: &merged.diagnostics,
        summary: &merged.summary,
        files: &files,
        masks: &masks,
        skipped: &merged.skipped,
        verbose: args.verbose,
        color: false,
        kubernetes_version: &merged.kubernetes_version,
        resources: &merged.resources,
        fail_level: level,
        shard: None,
        quiet: args.quiet,
    };
    crate::output::write_all(&plan, &report, args.color)?;
    let failed = merged
        .diagnostics
        .iter()
        .any(|d| crate::report::fails(d, level));
    Ok(if failed {
        crate::EXIT_FINDINGS
    } else {
        crate::EXIT_PASS
    })
}
