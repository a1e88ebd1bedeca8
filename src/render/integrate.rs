//! How `kgate check` uses rendering: build the unit graph of the checked paths (kustomization
//! roots, Flux Kustomizations, components, inputs — by reading references, not rendering), render
//! its roots in parallel over one parse cache, and say which raw files the rendered output
//! replaces and which are only inputs. Also: findings on rendered objects are reported once per source
//! location, naming every overlay they were found in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::flux::{flux_dir, is_flux_kustomization, render_flux_with, SubstitutionSources};
use super::kustomize::{kustomization_dirs, render_dir_with};
use super::{RenderOptions, Rendered, Renderer};
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::Manifest;
use crate::redact;
use crate::source::Files;
use crate::units::{kustomization_refs, FluxUnit, UnitGraph};
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
    /// Display paths of checked files that are only inputs of a unit (patches, generator
    /// files, …), with why and whether kustomize parses them as YAML.
    pub inputs: BTreeMap<String, (String, bool)>,
    /// With [`RenderOptions::track_reads`]: display paths of the files each rendered unit reads,
    /// by the unit's `rendered_for` label.
    pub reads: BTreeMap<String, BTreeSet<String>>,
    /// Display paths of the Helm chart folders the rendered units deploy.
    pub charts: BTreeSet<String>,
}

/// The folder a checked path stands for: itself when it is a folder, else the folder of the
/// file (`.` for a bare file name).
pub(crate) fn folder_of(path: &str) -> String {
    if Path::new(path).is_dir() {
        return path.to_string();
    }
    Path::new(path)
        .parent()
        .map(|p| p.to_string_lossy().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| ".".into())
}

/// The repository root of a checked folder: the nearest ancestor (as written) holding `.git`,
/// else [`outside_git_root`]. Rendering never reads above it.
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
    outside_git_root(&given)
}

/// The rendering boundary of a path that is in no git repository, chosen so that
/// `kgate check /abs/overlays/prod` reads its `../../base` as `kubectl kustomize` does: the
/// working directory when it contains the path, else the root of the file system. A relative
/// path that climbs out of the working directory (`../x/overlays/prod`) is bounded by the
/// outermost folder it names (`..`), since shown paths keep the form the user wrote.
fn outside_git_root(given: &Path) -> PathBuf {
    use std::path::Component;
    if given.is_relative() {
        let ups: PathBuf = given
            .components()
            .take_while(|c| matches!(c, Component::ParentDir | Component::CurDir))
            .filter(|c| matches!(c, Component::ParentDir))
            .collect();
        if ups.as_os_str().is_empty() && !given.components().any(|c| c == Component::ParentDir) {
            return PathBuf::from(".");
        }
        if !ups.as_os_str().is_empty()
            && !given
                .components()
                .skip(ups.components().count())
                .any(|c| c == Component::ParentDir)
        {
            return ups;
        }
        // `a/../../b`: no lexical folder contains it; keep the folder itself.
        return given.to_path_buf();
    }
    if let Ok(cwd) = std::env::current_dir() {
        if given.starts_with(&cwd) {
            return cwd;
        }
    }
    given
        .components()
        .take_while(|c| matches!(c, Component::Prefix(_) | Component::RootDir))
        .collect()
}

pub(crate) fn strip<'s>(display: &'s str, prefix: &str) -> Option<&'s str> {
    display.strip_prefix(prefix)
}

/// What a `--shard I/N` run knows of the whole run, so that its unit graph is the unsharded
/// run's: every discovered file, the other shards' Flux Kustomizations, and which roots it owns.
pub struct ShardView<'a> {
    /// Display paths of every file the unsharded run loads.
    pub all_files: &'a [String],
    /// Display paths of this shard's own files (what it reports on).
    pub own_files: &'a BTreeSet<String>,
    /// Objects of other shards' files that may be Flux Kustomizations or Argo CD Applications.
    pub foreign: &'a [Manifest],
    /// Whether this shard renders the root whose kustomization file has this display path.
    pub owns: &'a (dyn Fn(&str) -> bool + Sync),
    /// Display paths of the chart folders other shards' units deploy.
    pub foreign_charts: &'a std::collections::BTreeSet<String>,
}

/// Renders every kustomization root and in-repo Flux Kustomization under the checked folders.
pub fn render_paths(
    files: &Files,
    paths: &[String],
    loaded: &[Manifest],
    opts: &RenderOptions,
) -> RenderedSet {
    render_paths_in(files, paths, loaded, opts, None)
}

/// [`render_paths`] for one shard of a run (`shard` None: the whole run).
pub fn render_paths_in(
    files: &Files,
    paths: &[String],
    loaded: &[Manifest],
    opts: &RenderOptions,
    shard: Option<&ShardView>,
) -> RenderedSet {
    let mut out = RenderedSet::default();
    // substituteFrom may name a ConfigMap or Secret of another shard's files.
    let sources = SubstitutionSources::from_manifests(
        loaded
            .iter()
            .chain(shard.map(|s| s.foreign).unwrap_or_default()),
    );
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
        let mut opts = opts.clone();
        if root.parent().is_none() && !root.join(".git").exists() {
            // In no repository and outside the working directory, the tree is the whole file
            // system (so that an overlay's `../../base` resolves as kustomize does). Flux
            // resolves `spec.path` in its source, never above it: the checked folder stands
            // for that source (a Flux `path: ./` must not walk the file system).
            opts.source_root = Path::new(given)
                .strip_prefix(&root)
                .map(|p| p.to_string_lossy().trim_end_matches('/').to_string())
                .unwrap_or_default();
        }
        let opts = &opts;
        render_in(files, &vfs, loaded, &sources, opts, shard, &mut out);
    }
    out
}

/// Whether an object renders a chart: a Flux `HelmRelease` or an Argo CD `Application`.
pub fn renders_a_chart(m: &Manifest) -> bool {
    super::helm::release::is_helm_release(m) || super::helm::argo::is_application(m)
}

/// Renders every Flux `HelmRelease` among `manifests` — loose files and the output of rendered
/// kustomizations alike (an overlay may patch a release's values) — with its chart located
/// offline (`tree`: a git revision; else the repositories of `paths` on disk). The releases'
/// objects are then checked like any rendered object. `others`: objects of the run that are
/// not rendered here (another shard's) but that a release may read (valuesFrom, its source).
pub fn render_helm_releases(
    files: &Files,
    tree: Option<&dyn Vfs>,
    paths: &[String],
    manifests: &[&Manifest],
    others: &[&Manifest],
    opts: &RenderOptions,
) -> RenderedSet {
    use super::helm::argo::{application_label, is_application, render_application};
    use super::helm::release::{release_label, render_release};
    let mut out = RenderedSet::default();
    let releases: Vec<&Manifest> = manifests
        .iter()
        .copied()
        .filter(|m| renders_a_chart(m))
        .collect();
    if releases.is_empty() {
        return out;
    }
    let sources = SubstitutionSources::from_manifests(manifests.iter().chain(others).copied());
    let repo: Vec<&Manifest> = manifests.iter().chain(others).copied().collect();
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut render_with = |vfs: &dyn Vfs, out: &mut RenderedSet| {
        let renderer = Renderer::new(vfs, files, opts);
        let prefix = vfs.display("");
        let mine: Vec<(usize, &Manifest)> = releases
            .iter()
            .enumerate()
            .filter(|(i, m)| !done.contains(i) && strip(&m.file.path, &prefix).is_some())
            // An Application of a plain folder is the kustomize/directory renderer's business.
            .filter(|(_, m)| !is_application(m) || super::helm::argo::has_helm_source(&renderer, m))
            .map(|(i, m)| (i, *m))
            .collect();
        done.extend(mine.iter().map(|(i, _)| *i));
        let rendered: Vec<(String, Rendered)> = mine
            .par_iter()
            .map(|(_, m)| {
                if is_application(m) {
                    (
                        application_label(m),
                        render_application(&renderer, m, &repo, &opts.helm),
                    )
                } else {
                    (
                        release_label(m),
                        render_release(&renderer, m, &repo, &sources, &opts.helm),
                    )
                }
            })
            .collect();
        for (label, r) in rendered {
            out.roots.push(label);
            out.manifests.extend(r.manifests);
            out.diagnostics.extend(r.diagnostics);
            out.secrets.extend(r.secrets);
            out.charts.extend(r.charts);
        }
    };
    match tree {
        Some(vfs) => render_with(vfs, &mut out),
        None => {
            let mut seen_roots = BTreeSet::new();
            for given in paths.iter().filter(|p| *p != "-") {
                let root = repo_root(&folder_of(given));
                if seen_roots.insert(root.clone()) {
                    render_with(&DiskFs::new(&root), &mut out);
                }
            }
        }
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
    render_in(files, vfs, loaded, &sources, opts, None, &mut out);
    out
}

/// The units of one tree (see [`tree_units`]).
struct TreeUnits<'m> {
    /// Repository paths of the run's files under the tree.
    file_paths: Vec<String>,
    /// Repository paths of every file of the run (a shard's graph is the whole run's).
    all_paths: Vec<String>,
    graph: UnitGraph,
    /// Kustomization roots rendered on their own (this shard's).
    roots: Vec<String>,
    /// This run's Flux Kustomizations and Argo CD Applications under the tree.
    flux: Vec<&'m Manifest>,
    apps: Vec<&'m Manifest>,
}

/// Builds the unit graph of one tree whose files are in `files` (display paths start with the
/// tree's display prefix), reading kustomization files through the renderer's parse cache.
fn tree_units<'m>(
    files: &Files,
    vfs: &dyn Vfs,
    loaded: &'m [Manifest],
    renderer: &Renderer,
    shard: Option<&ShardView>,
) -> TreeUnits<'m> {
    let prefix = vfs.display("");
    let file_paths: Vec<String> = files
        .all()
        .iter()
        .filter_map(|f| strip(&f.path, &prefix).map(str::to_string))
        .collect();
    // The unit graph is the whole run's, also in a shard.
    let all_paths: Vec<String> = match shard {
        Some(s) => s
            .all_files
            .iter()
            .filter_map(|f| strip(f, &prefix).map(str::to_string))
            .collect(),
        None => file_paths.clone(),
    };
    // Folders holding a kustomization file (`Kustomization` has no extension, so the
    // walk does not list it: probe every folder that holds a checked file).
    let mut dirs = kustomization_dirs(&all_paths);
    let parents: BTreeSet<&str> = all_paths
        .iter()
        .map(|f| f.rsplit_once('/').map(|(d, _)| d).unwrap_or(""))
        .collect();
    for d in parents {
        if super::kustomization_file(vfs, d).is_some() {
            dirs.insert(d.to_string());
        }
    }
    let in_tree = |m: &&Manifest| {
        is_flux_kustomization(m)
            && strip(&m.file.path, &prefix).is_some()
            && flux_dir(vfs, m, &renderer.opts.source_root).is_some()
    };
    let flux: Vec<&Manifest> = loaded.iter().filter(in_tree).collect();
    let mut every_flux = flux.clone();
    every_flux.extend(
        shard
            .map(|s| s.foreign)
            .unwrap_or_default()
            .iter()
            .filter(in_tree),
    );
    // Argo CD Applications with plain-folder sources: units like Flux Kustomizations (each
    // shard knows every one, renders its own).
    let is_app = |m: &&Manifest| {
        super::helm::argo::is_application(m) && strip(&m.file.path, &prefix).is_some()
    };
    let apps: Vec<&Manifest> = loaded.iter().filter(is_app).collect();
    let every_app = apps.iter().copied().chain(
        shard
            .map(|s| s.foreign)
            .unwrap_or_default()
            .iter()
            .filter(is_app),
    );
    let mut argo_units = Vec::new();
    for m in every_app {
        for src in super::argo_folder::folder_sources(vfs, m, &renderer.opts.source_root) {
            argo_units.push(argo_unit(vfs, m, &src));
        }
    }
    let graph = unit_graph(renderer, dirs, &every_flux, argo_units);
    let roots: Vec<String> = graph
        .roots()
        .into_iter()
        .filter(|d| match shard {
            Some(s) => {
                super::kustomization_file(vfs, d).is_some_and(|k| (s.owns)(&vfs.display(&k)))
            }
            None => true,
        })
        .collect();
    TreeUnits {
        file_paths,
        all_paths,
        graph,
        roots,
        flux,
        apps,
    }
}

/// The `rendered_for` labels of the units of a tree that read one of `reading` (display
/// paths): what a run about a change renders there. `loaded`: the run's held objects (its Flux
/// Kustomizations and Argo CD Applications among them).
pub fn units_reading(
    files: &Files,
    vfs: &dyn Vfs,
    loaded: &[Manifest],
    opts: &RenderOptions,
    reading: &BTreeSet<String>,
) -> BTreeSet<String> {
    let renderer = Renderer::new(vfs, files, opts);
    let t = tree_units(files, vfs, loaded, &renderer, None);
    unit_reads(&t.graph, vfs, &t.roots, &t.all_paths)
        .into_iter()
        .filter(|(_, read)| read.iter().any(|f| reading.contains(f)))
        .map(|(label, _)| label)
        .collect()
}

/// Renders every unit under one tree whose files are in `files` (display paths start with the
/// tree's display prefix): the roots of the unit graph, never a component or an included folder
/// on its own.
fn render_in(
    files: &Files,
    vfs: &dyn Vfs,
    loaded: &[Manifest],
    sources: &SubstitutionSources,
    opts: &RenderOptions,
    shard: Option<&ShardView>,
    out: &mut RenderedSet,
) {
    let renderer = Renderer::new(vfs, files, opts);
    let TreeUnits {
        file_paths,
        all_paths,
        graph,
        mut roots,
        mut flux,
        mut apps,
    } = tree_units(files, vfs, loaded, &renderer, shard);
    let reads = if opts.track_reads || opts.only.is_some() {
        unit_reads(&graph, vfs, &roots, &all_paths)
    } else {
        BTreeMap::new()
    };
    if let Some(filter) = &opts.only {
        // A run about a change renders the units it selects; the unit graph stays the whole
        // tree's, so what the other units consume is still not checked raw.
        let none = BTreeSet::new();
        let wants = |label: &str| filter.wants(label, reads.get(label).unwrap_or(&none));
        roots.retain(|d| wants(&display_dir(vfs, d)));
        flux.retain(|m| wants(&super::flux::flux_label(m)));
        apps.retain(|m| wants(&super::helm::argo::application_label(m)));
    }
    let all: Vec<(String, Rendered)> = roots
        .par_iter()
        .map(|d| (d.clone(), render_dir_with(&renderer, d)))
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
    let crd_scopes = crd_scopes(
        loaded
            .iter()
            .chain(shard.map(|s| s.foreign).unwrap_or_default()),
    );
    let argo_rendered: Vec<(String, Rendered)> = apps
        .par_iter()
        .flat_map_iter(|m| {
            let label = super::helm::argo::application_label(m);
            super::argo_folder::folder_sources(vfs, m, &renderer.opts.source_root)
                .into_iter()
                .map(|src| {
                    let r =
                        super::argo_folder::render_folder(&renderer, m, &src, &label, &crd_scopes);
                    (label.clone(), r)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let labelled = flux_rendered.into_iter().chain(argo_rendered);
    for (dir, r) in all
        .into_iter()
        .map(|(d, r)| (display_dir(vfs, &d), r))
        .chain(labelled)
    {
        out.roots.push(dir);
        out.manifests.extend(r.manifests);
        out.diagnostics.extend(r.diagnostics);
        out.secrets.extend(r.secrets);
        out.consumed.extend(r.consumed);
        out.charts.extend(r.charts);
    }
    out.consumed
        .extend(graph.consumed(&all_paths).iter().map(|p| vfs.display(p)));
    for dir in graph.unused_components() {
        out.diagnostics.push(unused_component(&renderer, &dir));
    }
    if opts.track_reads {
        out.reads = reads;
    }
    // An input is reported by the shard that owns its file (other shards may have loaded it to
    // learn their units), as one run reports it once.
    let checked: BTreeSet<&String> = file_paths
        .iter()
        .filter(|p| shard.is_none_or(|s| s.own_files.contains(&vfs.display(p))))
        .collect();
    for (path, why) in graph.inputs() {
        if checked.contains(&path) {
            out.inputs.insert(vfs.display(&path), why);
        }
    }
}

/// Display paths of the files each unit reads, by its `rendered_for` label: the kustomization
/// roots `roots` (what they reach), and every Flux Kustomization and Argo CD folder source of
/// the graph (what they build, and the file that declares them).
fn unit_reads(
    graph: &UnitGraph,
    vfs: &dyn Vfs,
    roots: &[String],
    all_paths: &[String],
) -> BTreeMap<String, BTreeSet<String>> {
    let kfile = |d: &str| super::kustomization_file(vfs, d);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in roots {
        let read = graph.files_read([d.clone()], &kfile);
        out.entry(display_dir(vfs, d))
            .or_default()
            .extend(read.iter().map(|p| vfs.display(p)));
    }
    for f in &graph.flux {
        let read = graph.flux_files_read(f, all_paths, &kfile);
        // An Application with several folder sources is one unit.
        let entry = out.entry(f.label.clone()).or_default();
        entry.extend(read.iter().map(|p| vfs.display(p)));
        entry.insert(f.file.clone());
    }
    out
}

/// The unit graph of a tree: the kustomizations among the checked files and every kustomization
/// they reach, read (not rendered) through the renderer's parse cache, which rendering reuses.
fn unit_graph(
    renderer: &Renderer,
    dirs: BTreeSet<String>,
    flux: &[&Manifest],
    argo: Vec<FluxUnit>,
) -> UnitGraph {
    let vfs = renderer.vfs;
    let mut graph = UnitGraph {
        flux: argo,
        ..UnitGraph::default()
    };
    for m in flux {
        let Some(dir) = flux_dir(vfs, m, &renderer.opts.source_root) else {
            continue;
        };
        let components = m
            .node
            .get("spec")
            .and_then(|s| s.get("components"))
            .and_then(crate::yaml::Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.as_str())
            .filter_map(|c| crate::vfs::normalize(&dir, c))
            .collect();
        graph.flux.push(FluxUnit {
            label: super::flux::flux_label(m),
            file: m.file.path.clone(),
            dir,
            components,
            listed: None,
        });
    }
    let mut queue: Vec<String> = dirs.into_iter().collect();
    queue.extend(graph.flux.iter().flat_map(|f| f.components.iter().cloned()));
    while let Some(d) = queue.pop() {
        if graph.kustomizations.contains_key(&d) {
            continue;
        }
        let Some(kfile) = super::kustomization_file(vfs, &d) else {
            continue;
        };
        // An unreadable or empty kustomization file has no references; rendering it as a root
        // reports the problem.
        let refs = renderer
            .parsed(&kfile)
            .ok()
            .and_then(|p| p.docs.first().map(|root| kustomization_refs(vfs, &d, root)))
            .unwrap_or_default();
        queue.extend(
            refs.bases
                .iter()
                .chain(&refs.components)
                .chain(&refs.config_dirs)
                .cloned(),
        );
        graph.kustomizations.insert(d, refs);
    }
    graph
}

/// The unit of one plain-folder source of an Argo CD Application.
fn argo_unit(vfs: &dyn Vfs, m: &Manifest, src: &super::argo_folder::FolderSource) -> FluxUnit {
    use super::argo_folder::{directory_files, Generation};
    let listed = match &src.generation {
        Generation::Kustomize => None,
        Generation::Directory {
            recurse,
            include,
            exclude,
        } => Some(directory_files(
            vfs,
            &src.dir,
            *recurse,
            include.as_deref(),
            exclude.as_deref(),
        )),
    };
    FluxUnit {
        label: super::helm::argo::application_label(m),
        file: m.file.path.clone(),
        dir: src.dir.clone(),
        components: src.components.clone(),
        listed,
    }
}

/// `group/kind` → namespaced, for the custom resources whose CRD is among `manifests`.
fn crd_scopes<'m>(manifests: impl Iterator<Item = &'m Manifest>) -> BTreeMap<String, bool> {
    manifests
        .filter(|m| m.is_crd())
        .filter_map(|m| {
            let group = m.json.pointer("/spec/group")?.as_str()?;
            let kind = m.json.pointer("/spec/names/kind")?.as_str()?;
            let scope = m.json.pointer("/spec/scope").and_then(|v| v.as_str());
            Some((format!("{group}/{kind}"), scope != Some("Cluster")))
        })
        .collect()
}

/// The note on a kustomize Component that no unit includes (once, at its `kind:`).
fn unused_component(renderer: &Renderer, dir: &str) -> Diagnostic {
    let message = format!(
        "kustomize Component `{}` is included by no kustomization or Flux Kustomization of the \
         checked paths: it was not rendered or checked on its own (a component is only \
         meaningful inside the kustomizations that include it)",
        display_dir(renderer.vfs, dir)
    );
    let kfile = super::kustomization_file(renderer.vfs, dir).unwrap_or_default();
    let span = renderer.parsed(&kfile).ok().and_then(|p| {
        p.docs
            .first()
            .map(|root| root.get("kind").map(|k| k.span).unwrap_or(root.span))
    });
    match span {
        Some(span) => renderer.diag(UNUSED_COMPONENT, Severity::Note, message, span),
        None => Diagnostic::new(UNUSED_COMPONENT, Severity::Note, message)
            .in_file(renderer.vfs.display(&kfile), None),
    }
}

/// The code of the note on a component nothing includes.
pub const UNUSED_COMPONENT: &str = "unit/unused-component";

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

/// How many related locations a finding merged from several units keeps.
const MAX_MERGED_RELATED: usize = 8;

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
        // A finding already merged (a shard's report) names its overlays joined by ", ".
        let named: Vec<String> = d
            .rendered_for
            .iter()
            .flat_map(|r| r.split(", ").map(str::to_string))
            .collect();
        match merged.get_mut(&key) {
            Some((kept, overlays)) => {
                // The finding shown (its `resource`, which names the overlay's namespace) is
                // the one of the first overlay by name, whichever order the overlays were
                // checked in: one run and the merge of its shards then show the same one.
                let first_new = named.iter().min();
                let first_kept = kept
                    .rendered_for
                    .as_deref()
                    .and_then(|r| r.split(", ").min());
                // Each unit's second positions (the values line of each release of one chart)
                // are kept whichever finding is shown; ordered and capped below.
                let mut related = std::mem::take(&mut kept.related);
                for r in &d.related {
                    if !related.contains(r) {
                        related.push(r.clone());
                    }
                }
                if first_new.is_some_and(|n| first_kept.is_none_or(|k| n.as_str() < k)) {
                    *kept = d;
                }
                kept.related = related;
                overlays.extend(named);
            }
            None => {
                order.push(key.clone());
                merged.insert(key, (d, named.into_iter().collect()));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| merged.remove(&k))
        .map(|(mut d, overlays)| {
            if overlays.len() > 1 {
                // Merged from several units: the same related locations in the same order
                // whichever order the units were checked in (a shard merge equals one run).
                d.related.sort_by(|a, b| {
                    (&a.file, a.line, a.column, &a.message)
                        .cmp(&(&b.file, b.line, b.column, &b.message))
                });
                d.related.truncate(MAX_MERGED_RELATED);
            }
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
        // An absolute path outside any repository and outside the working directory is
        // bounded by the file system's root, so its `../../base` renders as kustomize's does.
        let p = outside.join("repo");
        assert_eq!(
            super::repo_root(p.to_str().unwrap()),
            std::path::Path::new("/")
        );
        // With a .git above it, that folder is the root.
        std::fs::create_dir(outside.join(".git")).unwrap();
        assert_eq!(super::repo_root(p.to_str().unwrap()), outside);
        // `../x` never resolves to the working directory (which may be a git repository):
        // its boundary is the `..` it climbs to.
        assert_eq!(
            super::repo_root("../no-such-dir/x"),
            std::path::PathBuf::from("..")
        );
        assert_eq!(super::repo_root("apps/web"), std::path::PathBuf::from("."));
    }
}
