//! How `kgate check` uses rendering: find the kustomization roots and Flux Kustomizations among
//! the checked paths, render them in parallel over one parse cache, and say which raw files the
//! rendered output replaces. Also: findings on rendered objects are reported once per source
//! location, naming every overlay they were found in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::flux::{flux_dir, is_flux_kustomization, render_flux_with, SubstitutionSources};
use super::kustomize::{kustomization_dirs, render_dir_with};
use super::{RenderOptions, Rendered, Renderer};
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;
use crate::redact;
use crate::source::Files;
use crate::vfs::{DiskFs, Vfs};

/// Everything rendering contributed to a check run.
#[derive(Debug, Default)]
pub struct RenderedSet {
    pub manifests: Vec<Manifest>,
    pub diagnostics: Vec<Diagnostic>,
    pub secrets: redact::Secrets,
    /// Display paths of raw files checked through rendered output instead.
    pub consumed: BTreeSet<String>,
    /// Display paths of the kustomization roots and Flux Kustomizations rendered.
    pub roots: Vec<String>,
}

/// The repository root of a checked folder: the nearest ancestor (as written) holding `.git`,
/// else the folder itself. Rendering never reads above it.
///
/// Ancestors are taken lexically, but never by dropping a `..` component: the parent of
/// `../other/repo` may be `..`, but the empty path (the working directory) is not an ancestor of
/// it, and rendering must not wander into the working directory's files.
pub fn repo_root(path: &str) -> PathBuf {
    let given = PathBuf::from(path.trim_end_matches('/'));
    let mut cur: Option<&Path> = Some(given.as_path());
    while let Some(p) = cur {
        let probe = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        if probe.join(".git").exists() {
            return probe.to_path_buf();
        }
        if matches!(
            p.components().next_back(),
            Some(std::path::Component::ParentDir | std::path::Component::RootDir) | None
        ) {
            break;
        }
        cur = p.parent();
    }
    // Not in a git repository: the working directory when the path is inside it, else the
    // folder itself.
    if given.is_relative()
        && !given
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return PathBuf::from(".");
    }
    given
}

fn strip<'s>(display: &'s str, prefix: &str) -> Option<&'s str> {
    display.strip_prefix(prefix)
}

/// Renders every kustomization root and in-repo Flux Kustomization under the checked folders.
pub fn render_paths(
    files: &Files,
    paths: &[String],
    loaded: &[Manifest],
    opts: &RenderOptions,
) -> RenderedSet {
    let mut out = RenderedSet::default();
    let sources = SubstitutionSources::from_manifests(loaded);
    let mut seen_roots = BTreeSet::new();
    for given in paths {
        if given == "-" || !Path::new(given).is_dir() {
            continue;
        }
        let root = repo_root(given);
        if !seen_roots.insert(root.clone()) {
            continue;
        }
        let vfs = DiskFs::new(&root);
        render_in(files, &vfs, loaded, &sources, opts, &mut out);
    }
    out
}

/// Renders the kustomization roots and Flux Kustomizations of an in-memory tree (a git revision
/// in merge-request mode): only files already loaded from `vfs` into `files` count.
pub fn render_vfs(
    files: &Files,
    vfs: &dyn Vfs,
    loaded: &[Manifest],
    opts: &RenderOptions,
) -> RenderedSet {
    let mut out = RenderedSet::default();
    let sources = SubstitutionSources::from_manifests(loaded);
    render_in(files, vfs, loaded, &sources, opts, &mut out);
    out
}

/// Renders every root under one tree whose files are in `files` (display paths start with the
/// tree's display prefix).
fn render_in(
    files: &Files,
    vfs: &dyn Vfs,
    loaded: &[Manifest],
    sources: &SubstitutionSources,
    opts: &RenderOptions,
    out: &mut RenderedSet,
) {
    let prefix = vfs.display("");
    let file_paths: Vec<String> = files
        .all()
        .iter()
        .filter_map(|f| strip(&f.path, &prefix).map(str::to_string))
        .collect();
    // Folders holding a kustomization file (`Kustomization` has no extension, so the
    // walk does not list it: probe every folder that holds a checked file).
    let mut dirs = kustomization_dirs(&file_paths);
    let parents: BTreeSet<&str> = file_paths
        .iter()
        .map(|f| f.rsplit_once('/').map(|(d, _)| d).unwrap_or(""))
        .collect();
    for d in parents {
        if super::kustomization_file(vfs, d).is_some() {
            dirs.insert(d.to_string());
        }
    }
    let dirs: Vec<String> = dirs.into_iter().collect();
    let renderer = Renderer::new(vfs, files, opts);
    let all: Vec<(String, Rendered)> = dirs
        .par_iter()
        .map(|d| (d.clone(), render_dir_with(&renderer, d)))
        .collect();
    let included: BTreeSet<String> = all
        .iter()
        .flat_map(|(_, r)| r.included.iter().cloned())
        .collect();
    let flux: Vec<&Manifest> = loaded
        .iter()
        .filter(|m| is_flux_kustomization(m) && strip(&m.file.path, &prefix).is_some())
        .filter(|m| flux_dir(vfs, m).is_some())
        .collect();
    let flux_rendered: Vec<(String, Rendered)> = flux
        .par_iter()
        .map(|m| {
            (
                super::flux::flux_label(m),
                render_flux_with(&renderer, m, sources),
            )
        })
        .collect();
    let roots = root_dirs(&all, &included);
    for (dir, r) in all
        .into_iter()
        .filter(|(d, _)| roots.contains(d))
        .chain(flux_rendered)
    {
        out.roots.push(if dir.starts_with("Flux ") {
            dir
        } else {
            display_dir(vfs, &dir)
        });
        out.manifests.extend(r.manifests);
        out.diagnostics.extend(r.diagnostics);
        out.secrets.extend(r.secrets);
        out.consumed.extend(r.consumed);
    }
}

/// The kustomization folders rendered as roots: those no other kustomization includes, and, for
/// kustomizations reachable from no root (they include each other in a cycle), the first folder
/// of each such group, so that the cycle is reported instead of silently skipping the folders.
fn root_dirs(all: &[(String, Rendered)], included: &BTreeSet<String>) -> BTreeSet<String> {
    let mut roots: BTreeSet<String> = BTreeSet::new();
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    for (d, r) in all {
        if !included.contains(d) {
            roots.insert(d.clone());
            covered.extend(r.included.iter().map(String::as_str));
        }
    }
    // `all` is sorted by folder: the choice of the group's representative is deterministic.
    for (d, r) in all {
        if !roots.contains(d) && !covered.contains(d.as_str()) {
            roots.insert(d.clone());
            covered.insert(d);
            covered.extend(r.included.iter().map(String::as_str));
        }
    }
    roots
}

fn display_dir(vfs: &dyn Vfs, dir: &str) -> String {
    let d = vfs.display(dir);
    let d = d.trim_end_matches('/');
    if d.is_empty() {
        ".".to_string()
    } else {
        d.to_string()
    }
}

/// What makes two findings the same: code, file, position, message and field.
type FindingKey = (
    String,
    String,
    Option<(u32, u32, usize)>,
    String,
    Option<String>,
);

/// Points each finding at the file its span is in (a rendered field may come from a patch),
/// and merges the same finding found in several overlays into one naming them all.
pub fn attribute_and_merge(files: &Files, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut merged: BTreeMap<FindingKey, (Diagnostic, BTreeSet<String>)> = BTreeMap::new();
    let mut order = Vec::new();
    for mut d in diagnostics {
        if let Some(span) = d.span {
            let path = files.path(span.file);
            if !path.is_empty() {
                d.file = path;
            }
        }
        let key = (
            d.code.clone(),
            d.file.clone(),
            d.span.map(|s| (s.line, s.col, s.start)),
            d.message.clone(),
            d.path.clone(),
        );
        match merged.get_mut(&key) {
            Some((_, overlays)) => overlays.extend(d.rendered_for.clone()),
            None => {
                order.push(key.clone());
                let overlays = d.rendered_for.iter().cloned().collect();
                merged.insert(key, (d, overlays));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| merged.remove(&k))
        .map(|(mut d, overlays)| {
            if !overlays.is_empty() {
                d.rendered_for = Some(overlays.into_iter().collect::<Vec<_>>().join(", "));
            }
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_working_directory_is_not_an_ancestor_of_a_parent_path() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(outside.join("repo")).unwrap();
        // An absolute path outside any repository is its own root.
        let p = outside.join("repo");
        assert_eq!(super::repo_root(p.to_str().unwrap()), p);
        // With a .git above it, that folder is the root.
        std::fs::create_dir(outside.join(".git")).unwrap();
        assert_eq!(super::repo_root(p.to_str().unwrap()), outside);
        // `../x` never resolves to the working directory (which may be a git repository).
        assert_eq!(
            super::repo_root("../no-such-dir/x"),
            std::path::PathBuf::from("../no-such-dir/x")
        );
    }
}
