//! Which files a run reads and reading them: discovery under the given paths (or a git
//! revision's tree), templates and chart files left out, the memory target's admission, and the
//! one guarded path from bytes to loaded objects that every manifest file goes through.

use std::sync::Arc;

use rayon::prelude::*;

use crate::diagnostic::Diagnostic;
use crate::discover::{self, DiscoverOptions};
use crate::load::{self, Loaded, Skipped};
use crate::source::Files;
use crate::tree_walk;
use crate::vfs::Vfs;
use crate::yaml::Limits;

/// The files under `paths` that will be read: discovered, without templates (each a skipped
/// entry) and admitted under the memory target. Also: what was found so far, and how many files
/// the walk found.
pub(crate) fn discover_admitted(
    paths: &[String],
    opts: &DiscoverOptions,
) -> Result<(discover::Discovered, Loaded, usize), String> {
    let mut found = discover::discover(paths, opts)?;
    let mut loaded = Loaded::default();
    loaded.diagnostics.append(&mut found.diagnostics);
    let count = found.files.len();
    skip_templates(
        &mut found.files,
        |(d, _)| d,
        &str::to_string,
        &|p| std::path::Path::new(p).is_file(),
        &mut loaded,
    );
    admit_by_disk_size(&mut found.files, opts, &mut loaded);
    Ok((found, loaded, count))
}

/// Reads, decodes and parses files in parallel. Each file's problems stay with it.
pub fn load_paths(
    files: &Files,
    paths: &[String],
    opts: &DiscoverOptions,
    limits: &Limits,
) -> Result<(Loaded, usize), String> {
    let (found, mut loaded, mut count) = discover_admitted(paths, opts)?;
    let per_file: Vec<Loaded> = found
        .files
        .par_iter()
        .map(|(display, path)| {
            let bytes = discover::read_file(display, path, opts.max_file_size);
            crate::progress::file_done();
            load_bytes(files, display, bytes, limits)
        })
        .collect();
    for l in per_file {
        loaded.extend(l);
    }
    if found.stdin {
        count += 1;
        let bytes = discover::read_stdin(opts.max_file_size);
        loaded.extend(load_bytes(files, discover::STDIN_NAME, bytes, limits));
    }
    Ok((loaded, count))
}

/// [`load_paths`] that holds only the files other objects' checks may depend on
/// ([`crate::stream::is_streamable`]); the others are left to be read again, checked and let go
/// one by one ([`crate::stream::Stream`]).
pub fn load_paths_streaming(
    files: &Files,
    paths: &[String],
    opts: &DiscoverOptions,
    limits: &Limits,
) -> Result<(Loaded, usize, crate::stream::Stream), String> {
    let (found, mut loaded, mut count) = discover_admitted(paths, opts)?;
    let mut stream = crate::stream::Stream {
        order: found
            .files
            .iter()
            .enumerate()
            .map(|(i, (d, _))| (d.clone(), i))
            .collect(),
        ..Default::default()
    };
    let per_file: Vec<Result<Loaded, usize>> = found
        .files
        .par_iter()
        .enumerate()
        .map(|(i, (display, path))| {
            let bytes = discover::read_file(display, path, opts.max_file_size);
            crate::progress::file_done();
            let streamable = bytes
                .as_ref()
                .is_ok_and(|b| std::str::from_utf8(b).is_ok_and(crate::stream::is_streamable));
            if streamable {
                Err(i)
            } else {
                Ok(load_bytes(files, display, bytes, limits))
            }
        })
        .collect();
    for l in per_file {
        match l {
            Ok(l) => loaded.extend(l),
            Err(i) => {
                let (display, path) = &found.files[i];
                // Registered now, so that rendering knows the file (and reads it through the
                // run's files if a unit uses it, as it would a held one).
                let (shown, disk, max) = (display.clone(), path.clone(), opts.max_file_size);
                let id = files.add_pending(
                    display.clone(),
                    Arc::new(move || read_text(&shown, &disk, max).ok()),
                );
                stream.files.push(crate::stream::StreamFile {
                    display: display.clone(),
                    path: path.clone(),
                    order: i,
                    id,
                });
            }
        }
    }
    if found.stdin {
        count += 1;
        let bytes = discover::read_stdin(opts.max_file_size);
        loaded.extend(load_bytes(files, discover::STDIN_NAME, bytes, limits));
    }
    Ok((loaded, count, stream))
}

/// A file's display path and its bytes (or why they could not be read).
type ReadFile = (String, Result<Vec<u8>, Diagnostic>);

/// The bytes of every manifest file under `paths` (repository paths) of a file view, by display
/// path, with what the walk found (`loaded`) and the number of files found. `ignored` leaves
/// out what git ignores; `missing_ok` tolerates paths that do not exist in this revision;
/// `same_as` gives the text of a path known from elsewhere instead of reading it.
#[allow(clippy::too_many_arguments)]
fn read_vfs(
    vfs: &dyn Vfs,
    paths: &[String],
    opts: &DiscoverOptions,
    ignored: &dyn Fn(&str) -> bool,
    missing_ok: bool,
    same_as: &(dyn Fn(&str) -> Option<Arc<str>> + Sync),
    loaded: &mut Loaded,
) -> Result<(Vec<ReadFile>, usize), String> {
    let mut walked = tree_walk::manifest_files(vfs, paths, &opts.excludes, ignored, missing_ok)?;
    loaded.diagnostics.extend(walked.diagnostics);
    let count = walked.files.len();
    skip_templates(
        &mut walked.files,
        |p| p,
        &|p| vfs.display(p),
        &|p| vfs.is_file(p),
        loaded,
    );
    // A file view has no cheap size query: files are read (each bounded by max_file_size),
    // then admitted under the memory target in path order, before any is parsed.
    let mut read: Vec<ReadFile> = walked
        .files
        .par_iter()
        .map(|path| {
            let display = vfs.display(path);
            if let Some(text) = same_as(path) {
                return (display, Ok(text.as_bytes().to_vec()));
            }
            let bytes = vfs
                .read(path, opts.max_file_size)
                .map_err(|e| tree_walk::read_error(&display, &e));
            (display, bytes)
        })
        .collect();
    let sizes: Vec<u64> = read
        .iter()
        .map(|(_, b)| b.as_ref().map(|b| b.len() as u64).unwrap_or(0))
        .collect();
    refuse_over_memory_target(&mut read, &sizes, opts, loaded, |(d, _)| d);
    Ok((read, count))
}

/// Loads the manifest files under `paths` (repository paths) of a file view: a git revision or
/// the working tree (see [`read_vfs`]).
pub fn load_vfs(
    files: &Files,
    vfs: &dyn Vfs,
    paths: &[String],
    opts: &DiscoverOptions,
    limits: &Limits,
    ignored: &dyn Fn(&str) -> bool,
    missing_ok: bool,
) -> Result<(Loaded, usize), String> {
    let mut loaded = Loaded::default();
    let (read, count) = read_vfs(
        vfs,
        paths,
        opts,
        ignored,
        missing_ok,
        &|_| None,
        &mut loaded,
    )?;
    let per_file: Vec<Loaded> = read
        .into_par_iter()
        .map(|(display, bytes)| load_bytes(files, &display, bytes, limits))
        .collect();
    for l in per_file {
        loaded.extend(l);
    }
    Ok((loaded, count))
}

/// [`load_vfs`] for a run about a change: the files that hold only ordinary objects
/// ([`crate::stream::is_streamable`]) are kept as text, not parsed, and left to the stream (a
/// scoped run checks only the changed ones). `same_as`: the text of a repository path that is
/// identical on the other side of a merge request, taken from there instead of read again.
#[allow(clippy::too_many_arguments)]
pub fn load_vfs_streaming(
    files: &Files,
    vfs: &dyn Vfs,
    paths: &[String],
    opts: &DiscoverOptions,
    limits: &Limits,
    ignored: &dyn Fn(&str) -> bool,
    missing_ok: bool,
    same_as: &(dyn Fn(&str) -> Option<Arc<str>> + Sync),
) -> Result<(Loaded, usize, crate::stream::Stream), String> {
    let mut loaded = Loaded::default();
    let (read, count) = read_vfs(vfs, paths, opts, ignored, missing_ok, same_as, &mut loaded)?;
    let displays: Vec<String> = read.iter().map(|(d, _)| d.clone()).collect();
    let per_file: Vec<Result<Loaded, String>> = read
        .into_par_iter()
        .map(|(display, bytes)| {
            let text = bytes.and_then(|b| load::decode(&display, &b));
            match text {
                Ok(text) if crate::stream::is_streamable(&text) => Err(text),
                text => Ok(load_text(files, &display, text, limits)),
            }
        })
        .collect();
    let mut stream = crate::stream::Stream::default();
    for (order, (l, display)) in per_file.into_iter().zip(displays).enumerate() {
        match l {
            Ok(l) => loaded.extend(l),
            Err(text) => {
                let file = files.add(display.clone(), text);
                stream.files.push(crate::stream::StreamFile {
                    path: std::path::PathBuf::from(&display),
                    display: display.clone(),
                    order,
                    id: file.id,
                });
            }
        }
        stream.order.insert(display, order);
    }
    Ok((loaded, count, stream))
}

/// Leaves out the files that are templates or chart files by their place or name (Helm chart
/// templates and values, `*.tmpl`, …): each is one skipped entry with its reason, never parsed.
pub(crate) fn skip_templates<T>(
    items: &mut Vec<T>,
    path: impl Fn(&T) -> &String,
    shown: &dyn Fn(&str) -> String,
    is_file: &dyn Fn(&str) -> bool,
    loaded: &mut Loaded,
) {
    let charts = crate::units::charts_of(items.iter().map(|i| path(i).as_str()), is_file);
    items.retain(|item| {
        let p = path(item);
        match crate::units::template_reason(p, &charts) {
            Some(reason) => {
                loaded.skipped.push(Skipped {
                    file: shown(p),
                    line: 1,
                    reason,
                });
                false
            }
            None => true,
        }
    });
}

/// The memory target admits a prefix of the sorted disk files by their size on disk, before
/// any is read (a `--shard` run admits its own files the same way). A file that will not be
/// read (over --max-file-size, or its size unknown) counts as 0: reading it reports the
/// problem.
pub(crate) fn admit_by_disk_size(
    found: &mut Vec<(String, std::path::PathBuf)>,
    opts: &DiscoverOptions,
    loaded: &mut Loaded,
) {
    let sizes: Vec<u64> = found
        .iter()
        .map(|(_, p)| {
            std::fs::metadata(p)
                .map(|m| m.len())
                .ok()
                .filter(|len| *len <= opts.max_file_size)
                .unwrap_or(0)
        })
        .collect();
    refuse_over_memory_target(found, &sizes, opts, loaded, |(d, _)| d);
}

/// Keeps the files (in order) whose sizes fit under the memory target; each refused file is a
/// `limit/memory-target` finding.
pub(crate) fn refuse_over_memory_target<T>(
    items: &mut Vec<T>,
    sizes: &[u64],
    opts: &DiscoverOptions,
    loaded: &mut Loaded,
    display: impl Fn(&T) -> &String,
) {
    let limits = crate::limits::RunLimits {
        memory_target: opts.memory_target,
        ..crate::limits::RunLimits::default()
    };
    let keep = crate::limits::admitted(sizes, limits.loadable_bytes());
    for item in items.drain(keep..) {
        loaded
            .diagnostics
            .push(crate::limits::memory_target_finding(
                display(&item),
                &limits,
            ));
    }
}

/// A file's text through the guarded read and the loader's decoding; problems are findings.
fn read_text(display: &str, path: &std::path::Path, max: u64) -> Result<String, Diagnostic> {
    discover::read_file(display, path, max).and_then(|b| load::decode(display, &b))
}

/// Loads a file registered before it was read: reads it unless rendering already did, with
/// reading and decoding problems as findings (as [`load_bytes`] has them).
pub(crate) fn load_registered(
    files: &Files,
    f: &crate::stream::StreamFile,
    opts: &DiscoverOptions,
    limits: &Limits,
) -> Loaded {
    let file = if files.is_pending(f.id) {
        match read_text(&f.display, &f.path, opts.max_file_size) {
            Ok(text) => files.fill(f.id, text),
            Err(d) => {
                return Loaded {
                    diagnostics: vec![d],
                    ..Loaded::default()
                }
            }
        }
    } else {
        files.get(f.id)
    };
    match file {
        Some(file) => load::load_file(files, &file, limits),
        None => Loaded::default(),
    }
}

pub(crate) fn load_bytes(
    files: &Files,
    display: &str,
    bytes: Result<Vec<u8>, Diagnostic>,
    limits: &Limits,
) -> Loaded {
    load_text(
        files,
        display,
        bytes.and_then(|b| load::decode(display, &b)),
        limits,
    )
}

fn load_text(
    files: &Files,
    display: &str,
    text: Result<String, Diagnostic>,
    limits: &Limits,
) -> Loaded {
    match text {
        Ok(text) => {
            let file = files.add(display, text);
            load::load_file(files, &file, limits)
        }
        Err(d) => Loaded {
            diagnostics: vec![d],
            ..Loaded::default()
        },
    }
}
