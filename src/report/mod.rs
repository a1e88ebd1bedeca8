//! Reports: the only stage that writes output. One module per format behind one switch.

pub mod common;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod plan_human;
pub mod plan_json;
pub mod plan_markdown;
pub mod sarif;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::Files;

/// Counts printed at the end of every report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub files: usize,
    pub resources: usize,
    pub valid: usize,
    pub invalid: usize,
    /// Objects with no error but no schema to check them against: not "valid", only unchecked
    /// (counted in `resources`, not in `valid`).
    #[serde(default)]
    pub unchecked: usize,
    pub skipped: usize,
    pub errors: usize,
    pub warnings: usize,
    #[serde(default)]
    pub notes: usize,
    #[serde(default)]
    pub suppressed: usize,
    #[serde(default)]
    pub pre_existing: usize,
    /// Findings the repository's baseline accepts (`kgate baseline`).
    #[serde(default)]
    pub baselined: usize,
    /// Findings about what kgate could not verify (objects without a schema, kustomize
    /// features it does not render, skipped templates and charts), whatever their level.
    #[serde(default)]
    pub unverified: usize,
    /// The same by code (why).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unverified_by: BTreeMap<String, usize>,
}

impl Summary {
    /// Recounts the finding totals from the diagnostics (suppressed and pre-existing findings
    /// are counted apart, not as errors).
    pub fn count_findings(&mut self, diagnostics: &[Diagnostic]) {
        self.errors = 0;
        self.warnings = 0;
        self.notes = 0;
        self.suppressed = 0;
        self.pre_existing = 0;
        self.baselined = 0;
        self.unverified = 0;
        self.unverified_by.clear();
        for d in diagnostics {
            if crate::exceptions::is_unverified(&d.code) {
                self.unverified += 1;
                *self.unverified_by.entry(d.code.clone()).or_default() += 1;
            }
            if d.suppressed {
                self.suppressed += 1;
            } else if d.pre_existing {
                self.pre_existing += 1;
            } else if d.baselined {
                self.baselined += 1;
            } else {
                match d.severity {
                    Severity::Error => self.errors += 1,
                    Severity::Warning => self.warnings += 1,
                    Severity::Note => self.notes += 1,
                }
            }
        }
    }
}

/// Everything a reporter may print.
#[derive(Clone, Copy)]
pub struct Report<'a> {
    pub diagnostics: &'a [Diagnostic],
    pub summary: &'a Summary,
    /// Sources for code frames, with secret values already masked.
    pub files: &'a Files,
    pub masks: &'a BTreeMap<u32, Vec<(usize, usize)>>,
    pub skipped: &'a [crate::load::Skipped],
    pub verbose: bool,
    pub color: bool,
    pub kubernetes_version: &'a str,
    /// Every checked object, so formats with pass/fail per object (JUnit) list passing ones too.
    pub resources: &'a [ResourceEntry],
    /// The lowest severity that fails the run (`--fail-on`); `None` for `--fail-on none`.
    pub fail_level: Option<Severity>,
    /// Set when this run checked one shard of the work (`--shard I/N`).
    pub shard: Option<crate::shard::Shard>,
    /// `--quiet`: human output lists errors only, then the summary.
    pub quiet: bool,
}

/// A checked object and where its document starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceEntry {
    pub file: String,
    pub line: u32,
    #[serde(flatten)]
    pub resource: crate::diagnostic::ResourceRef,
}

/// The severity `--fail-on` names; `None` for `--fail-on none` (findings never fail the run).
pub fn fail_level(f: crate::cli::FailOn) -> Option<crate::diagnostic::Severity> {
    match f {
        crate::cli::FailOn::Error => Some(crate::diagnostic::Severity::Error),
        crate::cli::FailOn::Warning => Some(crate::diagnostic::Severity::Warning),
        crate::cli::FailOn::None => None,
    }
}

/// Whether a finding fails a run at `level` (`None`: nothing fails).
pub fn fails(
    d: &crate::diagnostic::Diagnostic,
    level: Option<crate::diagnostic::Severity>,
) -> bool {
    level.is_some_and(|l| d.fails_at(l))
}
