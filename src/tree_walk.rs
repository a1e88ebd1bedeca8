//! Finding manifest files in a [`Vfs`] (a git revision or the working tree): the same choices as
//! the disk walker in `discover` (hidden folders skipped, `.yaml`/`.yml`/`.json` files, a file
//! named explicitly taken whatever its name, `--exclude` globs), over repository paths.

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::discover::{exclude_set, is_manifest_name};
use crate::input_error::InputError;
use crate::vfs::Vfs;

/// What a walk found: repository paths (sorted, unique) and problems met on the way.
#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Walks `paths` (repository paths, `` for the root). `ignored` says whether a path is ignored
/// by git (only meaningful for the working tree). A path missing from this revision is skipped
/// silently when `missing_ok` (the base of a merge request may not have a folder the MR adds).
pub fn manifest_files(
    vfs: &dyn Vfs,
    paths: &[String],
    excludes: &[String],
    ignored: &dyn Fn(&str) -> bool,
    missing_ok: bool,
) -> Result<Walked, InputError> {
    let excludes = exclude_set(excludes)?;
    let mut out = Walked::default();
    for given in paths {
        let given = given.trim_matches('/');
        if vfs.is_file(given) {
            out.files.push(given.to_string());
        } else if given.is_empty() || vfs.is_dir(given) {
            walk_dir(vfs, given, &excludes, ignored, &mut out, 0);
        } else if !missing_ok {
            out.diagnostics.push(
                Diagnostic::error(
                    "file/unreadable",
                    format!("cannot read {}: no such file or folder", vfs.display(given)),
                )
                .in_file(vfs.display(given), None),
            );
        }
    }
    out.files.sort();
    out.files.dedup();
    Ok(out)
}

/// Folder depth beyond which a walk stops (a symlink cycle in a tree cannot hang the run).
const MAX_DEPTH: usize = 64;

fn walk_dir(
    vfs: &dyn Vfs,
    dir: &str,
    excludes: &globset::GlobSet,
    ignored: &dyn Fn(&str) -> bool,
    out: &mut Walked,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        out.diagnostics.push(
            Diagnostic::warning(
                "file/unreadable",
                "folders nested too deep (a symbolic link loop?); not followed",
            )
            .in_file(vfs.display(dir), None),
        );
        return;
    }
    let names = match vfs.list_dir(dir) {
        Ok(n) => n,
        Err(e) => {
            out.diagnostics.push(
                Diagnostic::warning("file/unreadable", format!("cannot read folder: {e}"))
                    .in_file(vfs.display(dir), None),
            );
            return;
        }
    };
    for name in names {
        if name.starts_with('.') {
            continue;
        }
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        if excludes.is_match(&path) || ignored(&path) {
            continue;
        }
        if vfs.is_dir(&path) {
            walk_dir(vfs, &path, excludes, ignored, out, depth + 1);
        } else if is_manifest_name(Path::new(&name)) {
            out.files.push(path);
        }
    }
}

/// Turns a read error into the finding the disk walker would give.
pub fn read_error(display: &str, err: &std::io::Error) -> Diagnostic {
    let (code, msg) = match err.kind() {
        std::io::ErrorKind::PermissionDenied => {
            ("file/outside-root", format!("{err}; it was not read"))
        }
        std::io::ErrorKind::InvalidData if err.to_string().starts_with("larger than") => (
            "file/too-large",
            format!("file is {err} (--max-file-size); it was not checked"),
        ),
        _ => ("file/unreadable", format!("cannot read: {err}")),
    };
    let d = if code == "file/outside-root" {
        Diagnostic::warning(code, msg)
    } else {
        Diagnostic::error(code, msg)
    };
    d.in_file(display, None)
}
