//! Helpers shared by the fuzz targets: turning one fuzz input into a small in-memory repository.
//!
//! An input is text in a line-oriented format that stays readable (and mutates well) in a
//! corpus: the text before the first marker is the first file, and every line `#> PATH` starts
//! a new file at PATH. Seeds are ordinary YAML fixtures with a few markers added.

use kgate::vfs::MemFs;

/// Files one input may create: enough for a kustomization with bases, patches and generators.
pub const MAX_FILES: usize = 12;

/// Splits `text` into `(path, contents)` pairs. `first` names the file before any marker.
pub fn split_files(text: &str, first: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![(first.to_string(), String::new())];
    for line in text.split_inclusive('\n') {
        if let Some(path) = line.strip_prefix("#> ") {
            if out.len() == MAX_FILES {
                break;
            }
            out.push((path.trim().to_string(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
        }
    }
    out
}

/// An in-memory tree holding the files of `text`; paths are relative to `dir` (so `../base/x`
/// reaches a sibling folder) and paths that leave the root are dropped.
pub fn mem_fs(text: &str, dir: &str, first: &str) -> MemFs {
    let mut fs = MemFs::new();
    for (path, contents) in split_files(text, first) {
        if let Some(p) = kgate::vfs::normalize(dir, &path) {
            fs.insert(&p, contents);
        }
    }
    fs
}

/// Every check-report format of `kgate check --format`.
pub const FORMATS: [kgate::cli::Format; 7] = [
    kgate::cli::Format::Human,
    kgate::cli::Format::Json,
    kgate::cli::Format::Sarif,
    kgate::cli::Format::Junit,
    kgate::cli::Format::Github,
    kgate::cli::Format::Gitlab,
    kgate::cli::Format::Markdown,
];

/// Renders `report` in every format (plain and coloured human output) and checks what every
/// machine-readable format promises: JSON-based formats parse, JUnit is XML, GitHub commands
/// stay one per line.
pub fn render_all(report: &kgate::report::Report<'_>) {
    for format in FORMATS {
        let out = kgate::output::render_format(format, report);
        if matches!(
            format,
            kgate::cli::Format::Json | kgate::cli::Format::Sarif | kgate::cli::Format::Gitlab
        ) {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&out) {
                panic!("{format:?} output is not JSON ({e}):\n{out}");
            }
        }
        if format == kgate::cli::Format::Junit {
            if let Err(e) = roxmltree::Document::parse(&out) {
                panic!("JUnit output is not XML ({e}):\n{out}");
            }
        }
        if format == kgate::cli::Format::Github {
            // One workflow command per finding and the summary line: a message may never
            // break out of its command and start a line of its own.
            for line in out.split('\n').filter(|l| !l.is_empty()) {
                assert!(
                    line.starts_with("::") || line.starts_with("kgate: "),
                    "stray line in GitHub output: {line:?}"
                );
            }
        }
    }
    let colored = kgate::report::Report {
        color: true,
        verbose: true,
        ..*report
    };
    let _ = kgate::output::render_format(kgate::cli::Format::Human, &colored);
    let _ = kgate::report::markdown::render_with(report, Some("extra"));
}

/// The report of a check outcome, as `kgate check` builds it.
pub fn report_of(outcome: &kgate::pipeline::Outcome, f: impl FnOnce(&kgate::report::Report<'_>)) {
    let report = kgate::report::Report {
        diagnostics: &outcome.diagnostics,
        summary: &outcome.summary,
        files: &outcome.files,
        masks: &outcome.masks,
        skipped: &outcome.skipped,
        verbose: false,
        color: false,
        kubernetes_version: &outcome.kubernetes_version,
        resources: &outcome.resources,
        fail_level: Some(kgate::diagnostic::Severity::Error),
        shard: None,
        quiet: false,
    };
    f(&report)
}
