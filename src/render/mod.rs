//! Rendering: what a GitOps agent would apply. A native kustomize (v5 semantics) over kgate's
//! span-keeping trees, and Flux Kustomization semantics on top, so every rendered field still
//! points at the file and line its value came from.
//!
//! Files are read only through [`Vfs`]; nothing outside the repository root is read, no plugin
//! or program is run and the network is never used. Unsupported kustomize features are findings.

pub mod argo_folder;
mod builtin;
pub mod cli;
pub mod emit;
mod error;
mod fieldspec;
pub mod flux;
mod generator;
pub mod helm;
pub mod integrate;
pub mod kustomize;
mod patch;
mod replace;
mod transform;
pub(crate) mod tree;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::diagnostic::{Diagnostic, Severity};
use crate::load;
use crate::manifest::Manifest;
use crate::redact;
use crate::source::{Files, SourceFile, Span};
use crate::vfs::Vfs;
use crate::yaml::{self, Limits, Node};

pub use error::RenderError;
pub use flux::{render_flux, SubstitutionSources};
pub use kustomize::render_dir;

/// Names of the file that makes a folder a kustomization, in kustomize's order of preference.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub limits: Limits,
    /// Nested kustomizations (resources/components) followed before giving up.
    pub max_depth: usize,
    pub max_file_size: u64,
    /// Objects one kustomization / Flux Kustomization may render (`render/limit` beyond).
    pub max_objects: usize,
    /// Nodes one rendered object may grow to (`render/limit` beyond).
    pub max_object_nodes: usize,
    /// Record which files each unit reads (`check --changed` maps changed files to units).
    pub track_reads: bool,
    /// Where HelmRelease charts are found offline, and the cluster version they see.
    pub helm: helm::release::HelmOptions,
    /// A run about a change (`check --changed`, a merge request) renders only the units it
    /// selects; None: every unit.
    pub only: Option<std::sync::Arc<UnitFilter>>,
    /// The folder of the tree Flux `spec.path`s are relative to: the repository's root (``),
    /// or the checked folder when the tree is in no repository.
    pub source_root: String,
}

/// Which units a run about a change renders: those that read a changed file, and those the
/// other side of a merge request selected (a unit that reads a file the MR adds reads nothing
/// changed at the base, yet its base findings are what the head's are compared with).
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    /// Display paths of the changed files.
    pub reading: std::collections::BTreeSet<String>,
    /// `rendered_for` labels rendered whatever they read.
    pub labels: std::collections::BTreeSet<String>,
}

impl UnitFilter {
    /// Whether the unit `label`, which reads `reads` (display paths), is rendered.
    pub fn wants(&self, label: &str, reads: &std::collections::BTreeSet<String>) -> bool {
        self.labels.contains(label) || reads.iter().any(|f| self.reading.contains(f))
    }
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            limits: Limits::default(),
            max_depth: 32,
            max_file_size: 32 * 1024 * 1024,
            max_objects: crate::limits::DEFAULT_MAX_RENDERED_OBJECTS,
            max_object_nodes: crate::limits::DEFAULT_MAX_RENDERED_NODES,
            track_reads: false,
            helm: helm::release::HelmOptions::default(),
            only: None,
            source_root: String::new(),
        }
    }
}

/// The result of rendering one kustomization or Flux Kustomization.
#[derive(Debug, Default)]
pub struct Rendered {
    pub manifests: Vec<Manifest>,
    pub diagnostics: Vec<Diagnostic>,
    /// Values that must never be printed (Secret values used in substitution).
    pub secrets: redact::Secrets,
    /// Display paths of the files whose objects were consumed (resources, patches): the raw
    /// objects of these files are checked through the rendered output instead.
    pub consumed: BTreeSet<String>,
    /// Repository paths of the kustomization folders this render included (not itself).
    pub included: BTreeSet<String>,
    /// Display paths of the Helm chart folders this render deployed (their templates are
    /// checked through the rendered objects).
    pub charts: BTreeSet<String>,
}

/// A parsed file, shared by every overlay that reads it.
pub(crate) struct Parsed {
    pub file: Arc<SourceFile>,
    pub docs: Vec<Node>,
    pub diagnostics: Vec<Diagnostic>,
}

/// One run's reading state: the file system, the registry every span refers to, and a cache of
/// parsed files so that a base shared by fifty overlays is parsed once.
pub struct Renderer<'a> {
    pub vfs: &'a dyn Vfs,
    pub files: &'a Files,
    pub opts: &'a RenderOptions,
    cache: Mutex<HashMap<String, Result<Arc<Parsed>, RenderError>>>,
    texts: Mutex<HashMap<String, Result<Arc<SourceFile>, RenderError>>>,
}

impl<'a> Renderer<'a> {
    pub fn new(vfs: &'a dyn Vfs, files: &'a Files, opts: &'a RenderOptions) -> Renderer<'a> {
        Renderer {
            vfs,
            files,
            opts,
            cache: Mutex::new(HashMap::new()),
            texts: Mutex::new(HashMap::new()),
        }
    }

    /// The text of a repository file, registered in `files` once (a file the loader already
    /// read keeps its id, so findings on it are the same whether raw or rendered).
    pub(crate) fn source(&self, path: &str) -> Result<Arc<SourceFile>, RenderError> {
        if let Some(hit) = self
            .texts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return hit.clone();
        }
        let display = self.vfs.display(path);
        let result = match self.files.by_path(&display) {
            Some(f) => Ok(f),
            None => self
                .vfs
                .read(path, self.opts.max_file_size)
                .map_err(|e| RenderError::Read(Arc::new(e)))
                .and_then(|bytes| {
                    load::decode(&display, &bytes).map_err(|d| RenderError::Decode(Box::new(d)))
                })
                .map(|text| self.files.add(display, text)),
        };
        self.texts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_string(), result.clone());
        result
    }

    /// A repository file parsed as a YAML stream (documents with spans).
    pub(crate) fn parsed(&self, path: &str) -> Result<Arc<Parsed>, RenderError> {
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return hit.clone();
        }
        // A file the loader already read had its YAML problems reported there; parse it once.
        let known = self.files.by_path(&self.vfs.display(path)).is_some();
        let result = self.source(path).map(|file| {
            let stream = yaml::parse_stream(&file, &self.opts.limits);
            let diagnostics = if known {
                Vec::new()
            } else {
                load::load_file(self.files, &file, &self.opts.limits).diagnostics
            };
            Arc::new(Parsed {
                file,
                docs: stream
                    .documents
                    .into_iter()
                    .filter_map(|d| d.root)
                    .collect(),
                diagnostics,
            })
        });
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_string(), result.clone());
        result
    }

    /// A finding at a span, in the file the span is in.
    pub(crate) fn diag(
        &self,
        code: &str,
        severity: Severity,
        message: impl Into<String>,
        span: Span,
    ) -> Diagnostic {
        Diagnostic::new(code, severity, message).in_file(self.files.path(span.file), Some(span))
    }
}

/// The kustomization file of a folder, if it has one.
pub fn kustomization_file(vfs: &dyn Vfs, dir: &str) -> Option<String> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|name| join(dir, name))
        .find(|p| vfs.is_file(p))
}

pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{}/{}", dir.trim_end_matches('/'), name)
    }
}
