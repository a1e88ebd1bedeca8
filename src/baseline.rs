//! The baseline (`.kgate-baseline.json`): findings a team accepted when it adopted kgate,
//! recorded as stable fingerprints (code, unit, object, field path — never a line number or a
//! value) so that `check` reports them as `baselined` and fails only on new ones.
//!
//! A fingerprint leaves out everything that moves when a file is edited for an unrelated reason
//! (lines, columns, messages, which quote the values): a baseline written today still matches
//! after a reformat, an added document above, or a new image tag on an image whose
//! `policy/image-tag-commit` finding was already accepted. Repeated findings with the same
//! fingerprint are counted, so a second identical problem in the same place is new.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::diagnostic::{Diagnostic, Severity};

/// The default file name, next to the config file (or at the repository root without one).
pub const FILE_NAME: &str = ".kgate-baseline.json";

/// Largest baseline file read (a baseline of 100,000 findings is ~20 MB).
pub const MAX_BASELINE_FILE: u64 = 64 * 1024 * 1024;

const FORMAT_VERSION: u32 = 1;

/// What identifies a finding across edits of the repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    pub code: String,
    /// The kustomization / Flux Kustomization the object was rendered for, else its file.
    pub unit: String,
    /// `Kind[.group] [namespace/]name` of the object the finding is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The file, for findings about no object (a YAML syntax error, a file too large).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// JSON pointer of the field inside the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Fingerprint {
    pub fn of(d: &Diagnostic) -> Fingerprint {
        let object = d.resource.as_ref().map(|r| {
            // The group, not the version: moving `apps/v1beta2` to `apps/v1` is the same object.
            let group = crate::manifest::api_group(&r.api_version);
            let kind = if group.is_empty() {
                r.kind.clone()
            } else {
                format!("{}.{group}", r.kind)
            };
            match &r.namespace {
                Some(ns) => format!("{kind} {ns}/{}", r.name),
                None => format!("{kind} {}", r.name),
            }
        });
        Fingerprint {
            code: d.code.clone(),
            unit: d.rendered_for.clone().unwrap_or_else(|| d.file.clone()),
            file: object.is_none().then(|| d.file.clone()),
            object,
            path: d.path.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    fingerprint: Fingerprint,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    count: usize,
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    generated_by: String,
    findings: Vec<Entry>,
}

/// Accepted findings and how many of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    counts: BTreeMap<Fingerprint, usize>,
}

/// Whether a finding belongs in a baseline: a live warning or error (notes never fail a run;
/// suppressed and pre-existing findings are already accepted another way).
fn recordable(d: &Diagnostic) -> bool {
    !d.suppressed && !d.pre_existing && d.severity >= Severity::Warning && !is_tool_failure(d)
}

/// Findings that say the gate itself could not work (a policy that does not compile, a bad
/// config) are never accepted: they exit 2 whatever the baseline says.
fn is_tool_failure(d: &Diagnostic) -> bool {
    crate::rules::is_tool_failure(&d.code)
}

impl Baseline {
    /// The baseline that accepts every live warning and error of a run.
    pub fn from_findings(diagnostics: &[Diagnostic]) -> Baseline {
        let mut counts = BTreeMap::new();
        for d in diagnostics.iter().filter(|d| recordable(d)) {
            *counts.entry(Fingerprint::of(d)).or_default() += 1;
        }
        Baseline { counts }
    }

    /// Reads a baseline file's text; `display` names it in errors.
    pub fn parse(display: &str, text: &str) -> Result<Baseline, ConfigError> {
        let file: BaselineFile =
            serde_json::from_str(text).map_err(|source| ConfigError::NotABaseline {
                path: display.to_string(),
                source,
            })?;
        if file.version != FORMAT_VERSION {
            return Err(ConfigError::BaselineVersion {
                path: display.to_string(),
                version: file.version,
                supported: FORMAT_VERSION,
            });
        }
        let mut counts = BTreeMap::new();
        for e in file.findings {
            *counts.entry(e.fingerprint).or_default() += e.count.max(1);
        }
        Ok(Baseline { counts })
    }

    /// The file's text: sorted entries, one per line group, so that a re-run produces no diff
    /// and a review of the file shows exactly which findings were added or dropped.
    pub fn to_json(&self) -> String {
        let file = BaselineFile {
            version: FORMAT_VERSION,
            generated_by: format!("kgate {}", env!("CARGO_PKG_VERSION")),
            findings: self
                .counts
                .iter()
                .map(|(f, n)| Entry {
                    fingerprint: f.clone(),
                    count: *n,
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a baseline serializes");
        text.push('\n');
        text
    }

    /// Total accepted findings (a fingerprint accepted twice counts twice).
    pub fn len(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Marks the findings this baseline accepts as `baselined`, in report order, as many of
    /// each fingerprint as it accepts. Returns how many were marked.
    pub fn apply(&self, diagnostics: &mut [Diagnostic]) -> usize {
        let mut left = self.counts.clone();
        let mut marked = 0;
        for d in diagnostics.iter_mut().filter(|d| recordable(d)) {
            if let Some(n) = left.get_mut(&Fingerprint::of(d)) {
                if *n > 0 {
                    *n -= 1;
                    d.baselined = true;
                    marked += 1;
                }
            }
        }
        marked
    }

    /// This baseline without the entries that no longer occur in `current` (and with each count
    /// lowered to what still occurs): `kgate baseline --prune`. Never adds an entry.
    pub fn pruned(&self, current: &Baseline) -> Baseline {
        let counts = self
            .counts
            .iter()
            .filter_map(|(f, n)| {
                let still = current.counts.get(f).copied().unwrap_or(0).min(*n);
                (still > 0).then(|| (f.clone(), still))
            })
            .collect();
        Baseline { counts }
    }
}

/// Where the baseline lives when neither `--baseline` nor the config's `baseline:` says: next
/// to the config file, else at the root of the git repository holding the first checked path,
/// else in the current folder.
pub fn default_path(config: Option<&Path>, first_path: Option<&str>) -> PathBuf {
    if let Some(cfg) = config {
        return cfg
            .parent()
            .map(|d| d.join(FILE_NAME))
            .unwrap_or_else(|| PathBuf::from(FILE_NAME));
    }
    let start = match first_path {
        Some(p) if p != "-" => {
            let p = Path::new(p);
            if p.is_dir() {
                p.to_path_buf()
            } else {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            }
        }
        _ => PathBuf::new(),
    };
    let start = if start.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        start
    };
    if let Ok(mut dir) = std::fs::canonicalize(&start) {
        loop {
            if dir.join(".git").exists() {
                return dir.join(FILE_NAME);
            }
            if !dir.pop() {
                break;
            }
        }
    }
    PathBuf::from(FILE_NAME)
}

/// Reads a baseline from disk through the guarded read path. `Ok(None)` when there is none at
/// the default place; a baseline named explicitly must exist.
pub fn load(path: &Path, explicit: bool) -> Result<Option<Baseline>, ConfigError> {
    let display = path.to_string_lossy().to_string();
    if !explicit && path.symlink_metadata().is_err() {
        return Ok(None);
    }
    let text = crate::read_guard::read_named_text(path, MAX_BASELINE_FILE).map_err(|source| {
        ConfigError::BaselineRead {
            path: display.clone(),
            source,
        }
    })?;
    Baseline::parse(&display, &text).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::ResourceRef;
    use crate::source::Span;

    fn finding(code: &str, line: u32, message: &str) -> Diagnostic {
        let mut d = Diagnostic::error(code, message).in_file(
            "apps/web/deploy.yaml",
            Some(Span {
                file: 0,
                line,
                col: 3,
                end_line: line,
                end_col: 9,
                start: 0,
                end: 1,
            }),
        );
        d.resource = Some(ResourceRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("prod".into()),
            name: "web".into(),
        });
        d.path = Some("/spec/template/spec/containers/0/image".into());
        d.rendered_for = Some("apps/web".into());
        d
    }

    #[test]
    fn fingerprints_ignore_lines_messages_and_versions() {
        let a = finding(
            "policy/image-tag-commit",
            10,
            "image nginx:1.25 is not pinned",
        );
        let mut b = finding(
            "policy/image-tag-commit",
            42,
            "image nginx:1.26 is not pinned",
        );
        b.resource.as_mut().unwrap().api_version = "apps/v1beta2".into();
        assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
        let f = Fingerprint::of(&a);
        assert_eq!(f.object.as_deref(), Some("Deployment.apps prod/web"));
        assert_eq!(f.unit, "apps/web");
        assert_eq!(f.file, None);
    }

    #[test]
    fn objects_units_codes_and_fields_tell_findings_apart() {
        let a = finding("policy/image-tag-commit", 10, "m");
        let mut other_unit = a.clone();
        other_unit.rendered_for = Some("apps/staging".into());
        let mut other_field = a.clone();
        other_field.path = Some("/spec/template/spec/containers/1/image".into());
        let mut other_code = a.clone();
        other_code.code = "policy/resources".into();
        for d in [other_unit, other_field, other_code] {
            assert_ne!(Fingerprint::of(&a), Fingerprint::of(&d), "{d:?}");
        }
        let mut loose = Diagnostic::error("yaml/syntax", "m").in_file("a.yaml", None);
        loose.rendered_for = None;
        let f = Fingerprint::of(&loose);
        assert_eq!(
            (f.unit.as_str(), f.file.as_deref()),
            ("a.yaml", Some("a.yaml"))
        );
    }

    #[test]
    fn accepts_as_many_as_recorded_and_round_trips() {
        let recorded = vec![finding("schema/unknown-field", 3, "x")];
        let baseline = Baseline::from_findings(&recorded);
        let text = baseline.to_json();
        assert!(!text.contains("\"line\""), "{text}");
        let back = Baseline::parse("b.json", &text).unwrap();
        assert_eq!(back, baseline);

        // The same problem twice: the second one is new.
        let mut now = vec![
            finding("schema/unknown-field", 7, "x"),
            finding("schema/unknown-field", 9, "x"),
        ];
        assert_eq!(back.apply(&mut now), 1);
        assert!(now[0].baselined && !now[1].baselined);
    }

    #[test]
    fn notes_suppressed_and_pre_existing_findings_are_not_recorded() {
        let mut note = finding("schema/missing", 1, "m");
        note.severity = Severity::Note;
        let mut suppressed = finding("policy/resources", 1, "m");
        suppressed.suppressed = true;
        let mut old = finding("policy/probes", 1, "m");
        old.pre_existing = true;
        assert!(Baseline::from_findings(&[note, suppressed, old]).is_empty());
    }

    #[test]
    fn prune_drops_what_no_longer_occurs_and_adds_nothing() {
        let old = Baseline::from_findings(&[
            finding("policy/resources", 1, "m"),
            finding("policy/resources", 2, "m"),
            finding("policy/probes", 1, "m"),
        ]);
        let now = Baseline::from_findings(&[
            finding("policy/resources", 1, "m"),
            finding("schema/unknown-field", 1, "m"),
        ]);
        let pruned = old.pruned(&now);
        assert_eq!(pruned.len(), 1);
        assert_eq!(
            pruned,
            Baseline::from_findings(&[finding("policy/resources", 1, "m")])
        );
    }

    #[test]
    fn bad_files_say_where_and_why() {
        let e = Baseline::parse("b.json", "{\"version\": 1, \"findings\": [}").unwrap_err();
        assert!(matches!(e, ConfigError::NotABaseline { .. }), "{e:?}");
        let e = e.to_string();
        assert!(
            e.starts_with("b.json:1:") && e.contains(": not a kgate baseline: "),
            "{e}"
        );
        let e = Baseline::parse("b.json", "{\"version\": 9, \"findings\": []}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.json: baseline format version 9 is not supported (this kgate writes version 1); \
             run `kgate baseline` again"
        );
        let e = Baseline::parse("b.json", "{\"version\": 1, \"findings\": [], \"x\": 1}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
    }
}
