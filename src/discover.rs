//! Discovery: which files take part in a run. Walks folders with `ignore` (honours .gitignore,
//! skips hidden folders), reads stdin for `-`, and refuses what must not be read (non-regular
//! files, symlinks that leave the walked root, files over the size limit).

use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::diagnostic::Diagnostic;
use crate::input_error::InputError;

/// A file to load: its display path and its bytes, or why it could not be read.
#[derive(Debug)]
pub struct Input {
    pub path: String,
    /// The real path on disk (None for stdin).
    pub disk_path: Option<PathBuf>,
    pub bytes: Result<Vec<u8>, Diagnostic>,
}

#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    pub excludes: Vec<String>,
    pub max_file_size: u64,
    /// `--memory-target`: files are admitted while their total size stays under
    /// `crate::limits::RunLimits::loadable_bytes`.
    pub memory_target: u64,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            excludes: Vec::new(),
            max_file_size: crate::limits::DEFAULT_MAX_FILE_SIZE,
            memory_target: crate::limits::DEFAULT_MEMORY_TARGET,
        }
    }
}

/// The manifest files of a walk: the paths, sorted, not yet read.
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<(String, PathBuf)>,
    pub stdin: bool,
    /// Problems met while walking (unreadable folders, symlink loops, …).
    pub diagnostics: Vec<Diagnostic>,
}

/// Whether a walked file is read as a manifest: `.yaml`, `.yml` or `.json` in any case
/// (`deploy.YAML` is applied by `kubectl apply -f` and Flux alike).
pub fn is_manifest_name(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        e.eq_ignore_ascii_case("yaml")
            || e.eq_ignore_ascii_case("yml")
            || e.eq_ignore_ascii_case("json")
    })
}

pub fn exclude_set(excludes: &[String]) -> Result<GlobSet, InputError> {
    let mut b = GlobSetBuilder::new();
    for pat in excludes {
        let glob = Glob::new(pat).map_err(|source| InputError::Exclude {
            pattern: pat.clone(),
            source,
        })?;
        b.add(glob);
        // `--exclude vendor` also excludes everything under a folder named so.
        if !pat.contains('/') {
            if let Ok(g) = Glob::new(&format!("**/{pat}")) {
                b.add(g);
            }
            if let Ok(g) = Glob::new(&format!("**/{pat}/**")) {
                b.add(g);
            }
        }
    }
    b.build().map_err(InputError::ExcludeSet)
}

fn display(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./")
        .map(str::to_string)
        .unwrap_or_else(|| s.into_owned())
}

/// Walks the given paths. Errors only for unusable options (bad globs); unreadable things are
/// findings.
pub fn discover(paths: &[String], opts: &DiscoverOptions) -> Result<Discovered, InputError> {
    let excludes = exclude_set(&opts.excludes)?;
    let mut out = Discovered::default();
    for given in paths {
        if given == "-" {
            out.stdin = true;
            continue;
        }
        let root = PathBuf::from(given);
        let meta = match std::fs::metadata(&root) {
            Ok(m) => m,
            Err(e) => {
                out.diagnostics.push(
                    Diagnostic::error("file/unreadable", format!("cannot read {given}: {e}"))
                        .in_file(given.clone(), None),
                );
                continue;
            }
        };
        if !meta.is_dir() {
            // A file named explicitly is read whatever its extension.
            out.files.push((display(&root), root));
            continue;
        }
        let canonical_root = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        let walker = ignore::WalkBuilder::new(&root)
            .hidden(true)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(true)
            .require_git(false)
            .parents(true)
            .follow_links(true)
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    let path = err_path(&err).unwrap_or_else(|| given.clone());
                    out.diagnostics.push(
                        Diagnostic::warning("file/unreadable", walk_error_message(&err))
                            .in_file(path, None),
                    );
                    continue;
                }
            };
            let path = entry.path();
            if entry.depth() == 0 {
                continue;
            }
            let rel = path.strip_prefix(&root).unwrap_or(path);
            if excludes.is_match(rel) || excludes.is_match(path) {
                continue;
            }
            let Some(ft) = entry.file_type() else {
                continue;
            };
            if ft.is_dir() || !is_manifest_name(path) {
                continue;
            }
            if entry.path_is_symlink() {
                match std::fs::canonicalize(path) {
                    Ok(target) if !target.starts_with(&canonical_root) => {
                        out.diagnostics.push(
                            Diagnostic::warning(
                                "file/outside-root",
                                format!("symbolic link points outside {given}; it was not read"),
                            )
                            .in_file(display(path), None),
                        );
                        continue;
                    }
                    _ => {}
                }
            }
            out.files.push((display(path), path.to_path_buf()));
        }
        add_tracked_ignored(&root, &canonical_root, &excludes, &mut out);
    }
    out.files.sort();
    out.files.dedup();
    Ok(out)
}

/// Committed files that `.gitignore` names are applied by the GitOps agent like any other: the
/// walker above honours `.gitignore` (to skip untracked build output), so tracked manifests it
/// skipped are added back, with the walker's other choices (hidden folders, `--exclude`, links
/// that leave the root) kept.
fn add_tracked_ignored(
    root: &Path,
    canonical_root: &Path,
    excludes: &GlobSet,
    out: &mut Discovered,
) {
    let wanted = |p: &str| is_manifest_name(Path::new(p));
    for path in crate::git::tracked_ignored_under(root, &wanted) {
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let hidden = rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        if hidden
            || !is_manifest_name(&path)
            || excludes.is_match(rel)
            || excludes.is_match(&path)
            || !path.is_file()
        {
            continue;
        }
        match std::fs::canonicalize(&path) {
            Ok(target) if target.starts_with(canonical_root) => {
                out.files.push((display(&path), path));
            }
            _ => out.diagnostics.push(
                Diagnostic::warning(
                    "file/outside-root",
                    format!(
                        "symbolic link points outside {}; it was not read",
                        root.display()
                    ),
                )
                .in_file(display(&path), None),
            ),
        }
    }
}

fn err_path(err: &ignore::Error) -> Option<String> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(display(path)),
        ignore::Error::WithDepth { err, .. } => err_path(err),
        ignore::Error::Loop { child, .. } => Some(display(child)),
        _ => None,
    }
}

fn walk_error_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::Loop { ancestor, child } => format!(
            "symbolic link loop: {} leads back to {}; not followed",
            child.display(),
            ancestor.display()
        ),
        ignore::Error::WithDepth { err, .. } => walk_error_message(err),
        ignore::Error::WithPath { err, .. } => walk_error_message(err),
        other => format!("cannot read: {other}"),
    }
}

/// Reads one discovered file: only regular files, at most `max` bytes (so `/dev/zero` behind a
/// symlink or a FIFO cannot hang or exhaust memory).
pub fn read_file(display_path: &str, path: &Path, max: u64) -> Result<Vec<u8>, Diagnostic> {
    crate::read_guard::read_bounded(path, max).map_err(|e| {
        let (code, msg) = if crate::read_guard::is_too_large(&e) {
            (
                "file/too-large",
                format!("file is over the limit (--max-file-size): {e}; it was not checked"),
            )
        } else if e.kind() == std::io::ErrorKind::InvalidInput {
            ("file/unreadable", e.to_string())
        } else {
            ("file/unreadable", format!("cannot read: {e}"))
        };
        Diagnostic::error(code, msg).in_file(display_path, None)
    })
}

/// Reads standard input (bounded like a file).
pub fn read_stdin(max: u64) -> Result<Vec<u8>, Diagnostic> {
    let mut bytes = Vec::new();
    match std::io::stdin()
        .lock()
        .take(max + 1)
        .read_to_end(&mut bytes)
    {
        Ok(_) if bytes.len() as u64 > max => Err(Diagnostic::error(
            "file/too-large",
            format!("standard input is over the limit of {max} bytes (--max-file-size)"),
        )
        .in_file(STDIN_NAME, None)),
        Ok(_) => Ok(bytes),
        Err(e) => Err(Diagnostic::error(
            "file/unreadable",
            format!("cannot read standard input: {e}"),
        )
        .in_file(STDIN_NAME, None)),
    }
}

pub const STDIN_NAME: &str = "<stdin>";
