//! The dry-run plan: for every GitOps unit, what its agent would create, update and delete when
//! the merge request lands.
//!
//! A unit is a Flux `Kustomization` (kustomize.toolkit.fluxcd.io), an Argo CD `Application`
//! (argoproj.io), or — when a repository has neither — each top-level folder holding manifests.
//! Objects are paired across base and head by identity (group, kind, namespace, name), so moving
//! a file, reordering keys, changing quotes or comments changes nothing.
//!
//! "The objects a unit produces" come from one function, [`unit_objects`]: rendered as the agent
//! builds them (Flux Kustomization, kustomization roots; see `render`), else the raw manifests
//! under the unit's path(s).
//!
//! # JSON shape (`kgate diff --format json`, version 1)
//!
//! ```text
//! {
//!   "version": 1,
//!   "base": "origin/main",            // the revision compared against (merge base)
//!   "head": "working tree",           // or the --head revision
//!   "units": [{
//!     "name": "flux-system/apps",      // namespace/name of the agent object, or the folder
//!     "kind": "Kustomization",         // Kustomization | Application | Folder
//!     "path": "apps/prod",             // repository path of the unit's sources ("" = root)
//!     "paths": ["apps/prod"],          // every source path (Argo `spec.sources[]`)
//!     "prune": true,                   // the agent deletes objects removed from git
//!     "suspended": false,              // nothing is applied until someone acts
//!     "note": "…",                     // why (suspended, manual sync, unrendered source); optional
//!     "unchanged": 12,                 // objects present and equal on both sides
//!     "lands": {                       // when the agent applies the merge (not for folders)
//!       "summary": "Flux applies it once GitRepository flux-system/flux-system has fetched …",
//!       "automatic": true,             // applied without anyone acting: nothing known blocks it now
//!       "interval": "10m", "source_interval": "1m", "depends_on": ["flux-system/infra"],  // Flux
//!       "windows": [{"project": "argocd/shop", "kind": "deny", "schedule": "0 22 * * *",
//!                    "duration": "8h", "manual_sync": false, "open_now": true,
//!                    "next_open": "…"}]     // Argo CD AppProject sync windows
//!     },
//!     "changes": [{
//!       "action": "create|update|delete",
//!       "pruned": false,               // delete only: true if the agent deletes it, false if orphaned
//!       "note": "…",                   // delete only, optional: why an object is kept although its
//!                                      // unit prunes (an opt-out annotation, the agent object orphaned)
//!       "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "prod", "name": "web"},
//!       "fields": [{"path": "spec.replicas", "before": 2, "after": 3}],  // update only;
//!                                      // absent side = null; secrets: "[REDACTED]" + "redacted": true
//!       "immutable": [{"path": "/spec/selector", "message": "…"}],  // update only, optional:
//!                                      // changes the API server refuses (admission/immutable)
//!       "agent": "…"                   // optional: what the agent does about them, or a
//!                                      // namespace move (create only)
//!     }]
//!   }],
//!   "problems": [ …Diagnostic… ],      // files that could not be read/parsed: the plan may be incomplete
//!   "findings": [ …Diagnostic… ]       // the plan checks' findings (plan/destructive, …), excepted
//! }
//! ```
//! Units are sorted by kind then name; changes by namespace, kind, name, group. Secret values are
//! never included.

mod cron;
pub mod diff;
pub mod guards;
pub mod landing;
pub mod merge_keys;
pub mod policy;
mod render;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rayon::prelude::*;

use serde::Serialize;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, ResourceRef};
use crate::discover::DiscoverOptions;
use crate::load;
use crate::manifest::{api_group, Manifest};
use crate::source::{Files, SourceFile, Span};
use crate::tree_walk;
use crate::vfs::Vfs;
use crate::yaml::Limits;

pub use diff::FieldChange;

/// The plan of a merge request.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub version: u32,
    pub base: String,
    pub head: String,
    pub units: Vec<UnitPlan>,
    pub problems: Vec<Diagnostic>,
    /// What the built-in plan checks (`plan/*`) found; see [`guards`].
    pub findings: Vec<Diagnostic>,
    /// Units nothing in the change reaches (`Kind name`): the same objects on both sides, not
    /// built (their objects are not counted in `unchanged`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub untouched: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitPlan {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub paths: Vec<String>,
    pub prune: bool,
    pub suspended: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub unchanged: usize,
    pub changes: Vec<Change>,
    /// When the agent applies the merge (None for folders and for units the MR removes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lands: Option<landing::Landing>,
}

impl UnitPlan {
    /// The plan of a declared unit: its name, kind, paths and agent settings, with the changes.
    fn of(decl: &Unit, note: Option<String>, unchanged: usize, changes: Vec<Change>) -> UnitPlan {
        UnitPlan {
            name: decl.name.clone(),
            kind: decl.kind.to_string(),
            path: decl.paths.first().cloned().unwrap_or_default(),
            paths: decl.paths.clone(),
            prune: decl.prune,
            suspended: decl.suspended,
            note,
            unchanged,
            changes,
            lands: None,
        }
    }
}

/// `first; rest` — a unit's own note after the plan's remark about it.
fn prefix_note(first: String, rest: Option<String>) -> String {
    match rest {
        Some(n) => format!("{first}; {n}"),
        None => first,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub action: Action,
    pub pruned: bool,
    /// Delete only: why the object is kept although its unit prunes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub resource: ResourceRef,
    pub fields: Vec<FieldChange>,
    /// Update only: the changes the API server refuses on update (`admission/immutable`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub immutable: Vec<crate::check::admission::immutable::Violation>,
    /// What the agent does with this change when the API server refuses it, or a remark
    /// about the change (a namespace move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

impl Plan {
    /// Totals over all units: (create, update, delete).
    pub fn totals(&self) -> (usize, usize, usize) {
        let mut t = (0, 0, 0);
        for c in self.units.iter().flat_map(|u| &u.changes) {
            match c.action {
                Action::Create => t.0 += 1,
                Action::Update => t.1 += 1,
                Action::Delete => t.2 += 1,
            }
        }
        t
    }
}

impl UnitPlan {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

/// A GitOps unit as declared at one revision.
#[derive(Debug, Clone)]
pub struct Unit {
    /// `Kustomization`, `Application` or `Folder`.
    pub kind: &'static str,
    /// `namespace/name` of the agent object, or the folder path.
    pub name: String,
    /// Repository paths of the sources (`` is the root).
    pub paths: Vec<String>,
    /// Whether sub-folders belong to the unit (Argo directory sources do not recurse by default).
    pub recurse: bool,
    pub prune: bool,
    pub suspended: bool,
    pub note: Option<String>,
    /// Namespace given to namespaced objects.
    pub namespace: Option<String>,
    /// Flux `targetNamespace` replaces every namespace; Argo's destination only fills missing ones.
    pub namespace_overrides: bool,
    /// Deleting the agent object deletes its objects: Flux garbage-collects a Kustomization's
    /// objects when it prunes; Argo CD cascades only with its resources finalizer.
    pub cascade: bool,
    /// Argo CD `spec.syncPolicy.syncOptions` holds `Prune=false`: objects are kept unless they
    /// say `Prune=true` themselves.
    pub no_prune_option: bool,
    /// The agent object (Flux Kustomization, Argo CD Application); None for folders.
    pub agent: Option<Arc<Manifest>>,
    /// Some of its sources are not rendered (an Argo CD Helm chart): it makes objects the
    /// plan cannot see.
    pub unrendered: bool,
}

/// Whether a file (repository path, text) is kept unparsed (see [`Parsed::deferred`]).
type Defer<'d> = dyn Fn(&str, &str) -> bool + Sync + 'd;

/// One file of a revision, parsed.
#[derive(Debug)]
struct Parsed {
    /// Git blob id of the content (computed for working-tree files).
    content_id: Option<String>,
    text: Arc<str>,
    manifests: Vec<Arc<Manifest>>,
    diagnostics: Vec<Diagnostic>,
    /// Not parsed: a plan of a change leaves out files that can hold none of the objects it
    /// looks up (agents, sources, CRDs, projects, image policies) and that the change does not
    /// touch; a unit that needs their objects parses them then (see [`raw_objects`]).
    deferred: bool,
}

/// Everything read from one revision: its file view and every object in it.
pub struct Revision<'a> {
    pub vfs: &'a dyn Vfs,
    /// Repository path → parsed file, sorted by path.
    files: BTreeMap<String, Arc<Parsed>>,
    /// Display prefix of the file view (stripped to get repository paths back).
    prefix: String,
    /// Scope of the kinds CRDs declare at this revision: (group, kind) → namespaced.
    crd_scopes: BTreeMap<(String, String), bool>,
    /// Where HelmRelease charts are found offline (`--chart-cache`).
    pub helm: crate::render::helm::release::HelmOptions,
    /// What parsing a deferred file is bounded by.
    limits: Limits,
}

impl<'a> Revision<'a> {
    /// Loads every manifest of a revision (the whole repository: units may point anywhere).
    /// Files identical to the same path in `reuse` (same blob, or same text) are not parsed
    /// again: a merge request touches a few files of thousands.
    pub fn load(
        files: &Files,
        vfs: &'a dyn Vfs,
        opts: &DiscoverOptions,
        limits: &Limits,
        ignored: &dyn Fn(&str) -> bool,
        reuse: Option<&Revision<'_>>,
    ) -> Result<Revision<'a>, String> {
        Revision::load_with(files, vfs, opts, limits, ignored, reuse, None)
    }

    /// [`Revision::load`] for the plan of a change: only the files the plan looks objects up
    /// in are parsed (the changed files, and those that may hold agents, sources, CRDs,
    /// projects or image policies); the others are parsed when a unit needs them.
    pub fn load_for_change(
        files: &Files,
        vfs: &'a dyn Vfs,
        opts: &DiscoverOptions,
        limits: &Limits,
        ignored: &dyn Fn(&str) -> bool,
        reuse: Option<&Revision<'_>>,
        changed: &BTreeSet<String>,
    ) -> Result<Revision<'a>, String> {
        let defer = |path: &str, text: &str| {
            !changed.contains(path)
                && !["fluxcd.io", "argoproj.io", "CustomResourceDefinition"]
                    .iter()
                    .any(|n| text.contains(n))
                && !text.to_ascii_lowercase().contains("imagepolicy")
        };
        Revision::load_with(files, vfs, opts, limits, ignored, reuse, Some(&defer))
    }

    /// Whether any object of the revision is a Flux Kustomization or an Argo CD Application.
    pub fn declares_units(&self) -> bool {
        self.objects()
            .any(|(_, m)| is_flux_kustomization(m) || is_argo_application(m))
    }

    #[allow(clippy::too_many_arguments)]
    fn load_with(
        files: &Files,
        vfs: &'a dyn Vfs,
        opts: &DiscoverOptions,
        limits: &Limits,
        ignored: &dyn Fn(&str) -> bool,
        reuse: Option<&Revision<'_>>,
        defer: Option<&Defer<'_>>,
    ) -> Result<Revision<'a>, String> {
        let walked =
            tree_walk::manifest_files(vfs, &[String::new()], &opts.excludes, ignored, true)?;
        let parsed: Vec<(String, Arc<Parsed>)> = walked
            .files
            .par_iter()
            .map(|path| {
                let other = reuse.and_then(|r| r.files.get(path));
                let id = vfs.content_id(path);
                if let (Some(id), Some(other)) = (&id, other) {
                    if other.content_id.as_ref() == Some(id) {
                        return (path.clone(), other.clone());
                    }
                }
                (
                    path.clone(),
                    Arc::new(parse_file(files, vfs, path, id, other, opts, limits, defer)),
                )
            })
            .collect();
        let mut by_path: BTreeMap<String, Arc<Parsed>> = parsed.into_iter().collect();
        if !walked.diagnostics.is_empty() {
            // Walk problems (unreadable folders) belong to no file.
            by_path.insert(
                String::new(),
                Arc::new(Parsed {
                    content_id: None,
                    text: Arc::from(""),
                    manifests: Vec::new(),
                    diagnostics: walked.diagnostics,
                    deferred: false,
                }),
            );
        }
        let mut crd_scopes = BTreeMap::new();
        for m in by_path.values().flat_map(|p| &p.manifests) {
            if m.resource.kind == "CustomResourceDefinition" && m.group() == "apiextensions.k8s.io"
            {
                let spec = &m.json["spec"];
                if let (Some(g), Some(k), Some(scope)) = (
                    spec["group"].as_str(),
                    spec["names"]["kind"].as_str(),
                    spec["scope"].as_str(),
                ) {
                    crd_scopes.insert((g.to_string(), k.to_string()), scope != "Cluster");
                }
            }
        }
        Ok(Revision {
            vfs,
            prefix: vfs.display(""),
            files: by_path,
            crd_scopes,
            helm: Default::default(),
            limits: *limits,
        })
    }

    /// Every object with the repository path of its file, in path order.
    pub fn objects(&self) -> impl Iterator<Item = (&str, &Manifest)> {
        self.shared_objects().map(|(p, m)| (p, m.as_ref()))
    }

    /// [`Revision::objects`], shared.
    pub fn shared_objects(&self) -> impl Iterator<Item = (&str, &Arc<Manifest>)> {
        self.files
            .iter()
            .flat_map(|(p, f)| f.manifests.iter().map(move |m| (p.as_str(), m)))
    }

    /// Every file read as text: (repository path, text). Comments live here only.
    pub fn texts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .filter(|(p, _)| !p.is_empty())
            .map(|(p, f)| (p.as_str(), &*f.text))
    }

    /// The display path of a repository path (as findings show it).
    pub fn display(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// Problems met reading the revision (unreadable files, YAML errors).
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.values().flat_map(|f| &f.diagnostics)
    }

    /// Whether objects of this kind live in a namespace, as the cluster will see it: built-in
    /// kinds from the schema bundles, then this revision's CRDs, then the built-in CRD catalog;
    /// a kind none of them knows is taken as namespaced (most custom kinds are).
    pub(crate) fn is_namespaced(&self, group: &str, kind: &str) -> bool {
        let crd = self
            .crd_scopes
            .get(&(group.to_string(), kind.to_string()))
            .copied();
        crate::schema::scope::namespaced(group, kind, crd).unwrap_or(true)
    }
}

/// Reads and parses one file; reuses the other revision's objects when the text is the same.
/// `defer`: whether to keep a file's text without parsing it.
#[allow(clippy::too_many_arguments)]
fn parse_file(
    files: &Files,
    vfs: &dyn Vfs,
    path: &str,
    id: Option<String>,
    other: Option<&Arc<Parsed>>,
    opts: &DiscoverOptions,
    limits: &Limits,
    defer: Option<&Defer<'_>>,
) -> Parsed {
    let display = vfs.display(path);
    let failed = |d: Diagnostic, id: Option<String>| Parsed {
        content_id: id,
        text: Arc::from(""),
        manifests: Vec::new(),
        diagnostics: vec![d],
        deferred: false,
    };
    let bytes = match vfs.read(path, opts.max_file_size) {
        Ok(b) => b,
        Err(e) => return failed(tree_walk::read_error(&display, &e), id),
    };
    // The id git would give these bytes: the other side (a git tree) can then skip them.
    let id = id.or_else(|| {
        git2::Oid::hash_object(git2::ObjectType::Blob, &bytes)
            .ok()
            .map(|o| o.to_string())
    });
    let text = match load::decode(&display, &bytes) {
        Ok(t) => t,
        Err(d) => return failed(d, id),
    };
    if let Some(other) = other {
        if *other.text == *text {
            return Parsed {
                content_id: id,
                text: other.text.clone(),
                manifests: other.manifests.clone(),
                diagnostics: other.diagnostics.clone(),
                deferred: other.deferred,
            };
        }
    }
    if defer.is_some_and(|d| d(path, &text)) {
        return Parsed {
            content_id: id,
            text: Arc::from(text),
            manifests: Vec::new(),
            diagnostics: Vec::new(),
            deferred: true,
        };
    }
    let file = files.add(display, text);
    let loaded = load::load_file(files, &file, limits);
    Parsed {
        content_id: id,
        text: file.text.clone(),
        manifests: loaded.manifests.into_iter().map(Arc::new).collect(),
        diagnostics: loaded.diagnostics,
        deferred: false,
    }
}

/// Argo CD's finalizer that makes deleting an Application delete its objects.
const ARGO_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// Flux's per-object opt-out of garbage collection (annotation or label, value `disabled`).
pub const FLUX_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
/// Argo CD's per-object sync options (`Prune=false,Delete=false`).
pub const ARGO_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";

/// The value of one Argo CD sync option (`Prune=false` → `false` for `Prune`).
fn sync_option<'a>(option: &'a str, name: &str) -> Option<&'a str> {
    let (k, v) = option.split_once('=')?;
    (k.trim() == name).then(|| v.trim())
}

/// The value of `name` in an object's Argo CD sync-options annotation.
fn object_sync_option<'a>(json: &'a Value, name: &str) -> Option<&'a str> {
    json["metadata"]["annotations"][ARGO_SYNC_OPTIONS]
        .as_str()?
        .split(',')
        .find_map(|o| sync_option(o, name))
}

/// Why the agent keeps an object that leaves its unit although the unit prunes (`removed`: the
/// unit itself is deleted, its agent object cascading): the opt-outs Flux and Argo CD honour.
fn kept_because(unit: &Unit, json: &Value, removed: bool) -> Option<String> {
    let meta = &json["metadata"];
    match unit.kind {
        "Kustomization" => ["annotations", "labels"].into_iter().find_map(|where_| {
            (meta[where_][FLUX_PRUNE].as_str() == Some("disabled"))
                .then(|| format!("{FLUX_PRUNE}: disabled ({})", &where_[..where_.len() - 1]))
        }),
        "Application" if removed => {
            if object_sync_option(json, "Delete") == Some("false") {
                Some(format!("{ARGO_SYNC_OPTIONS}: Delete=false"))
            } else {
                // Argo CD treats Helm's keep policy as Delete=false (argo-cd#13157).
                helm_keeps(json).then(|| format!("{HELM_RESOURCE_POLICY}: keep"))
            }
        }
        "Application" => match object_sync_option(json, "Prune") {
            Some("false") => Some(format!("{ARGO_SYNC_OPTIONS}: Prune=false")),
            Some("true") => None,
            _ => unit.no_prune_option.then(|| {
                "the Application's spec.syncPolicy.syncOptions hold Prune=false".to_string()
            }),
        },
        _ => None,
    }
}

/// Helm's `helm.sh/resource-policy: keep`: Helm never deletes the object (neither when the
/// chart stops rendering it nor on uninstall); Argo CD honours it like `Delete=false`.
pub const HELM_RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Whether an object carries `helm.sh/resource-policy: keep` (Helm's ResourcePolicyIsKeep:
/// case and surrounding spaces do not matter).
fn helm_keeps(json: &Value) -> bool {
    json["metadata"]["annotations"][HELM_RESOURCE_POLICY]
        .as_str()
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("keep"))
}

/// The HelmRelease (namespace, name) whose chart rendered `obj`, if a chart did.
fn chart_release(obj: &Object) -> Option<(String, String)> {
    let label = obj.origin.manifest.rendered_for.as_deref()?;
    let rest = label.strip_prefix("HelmRelease ")?;
    let id = rest.split_once(" (").map_or(rest, |(id, _)| id);
    Some(match id.split_once('/') {
        Some((ns, name)) => (ns.to_string(), name.to_string()),
        None => (String::new(), id.to_string()),
    })
}

/// The HelmRelease object `release` among a side's objects (the unit's target namespace may
/// have replaced its own).
fn release_object<'o>(
    unit: &Unit,
    objects: &'o BTreeMap<ObjectKey, Object>,
    (ns, name): &(String, String),
) -> Option<&'o Object> {
    objects.iter().find_map(|(k, o)| {
        (k.group == "helm.toolkit.fluxcd.io"
            && k.kind == "HelmRelease"
            && k.name == *name
            && (k.namespace == *ns || unit.namespace.as_deref() == Some(k.namespace.as_str())))
        .then_some(o)
    })
}

/// Whether Helm deletes a chart object the head no longer renders, and why not: kept by
/// `helm.sh/resource-policy: keep` on the object in the cluster (the base's); else deleted by
/// the upgrade while the HelmRelease stays (whatever the unit's pruning), or by the uninstall
/// when the unit deletes the HelmRelease.
fn helm_deletes(
    unit: &Unit,
    obj: &Object,
    release: &(String, String),
    before: &BTreeMap<ObjectKey, Object>,
    after: &BTreeMap<ObjectKey, Object>,
    unit_prunes: bool,
    removed: bool,
) -> (bool, Option<String>) {
    if helm_keeps(&obj.json) {
        return (
            false,
            Some(format!(
                "{HELM_RESOURCE_POLICY}: keep — Helm leaves it in the cluster, no longer part of \
                 the release (orphaned)"
            )),
        );
    }
    if release_object(unit, after, release).is_some() {
        return (true, None);
    }
    let hr_kept =
        release_object(unit, before, release).and_then(|hr| kept_because(unit, &hr.json, removed));
    match (unit_prunes, hr_kept) {
        (true, None) => (true, None),
        (true, Some(why)) => (
            false,
            Some(format!(
                "the HelmRelease stays in the cluster ({why}), so Helm keeps its objects"
            )),
        ),
        (false, _) => (false, None),
    }
}

fn is_flux_kustomization(m: &Manifest) -> bool {
    m.resource.kind == "Kustomization" && m.group() == "kustomize.toolkit.fluxcd.io"
}

fn is_argo_application(m: &Manifest) -> bool {
    m.resource.kind == "Application" && m.group() == "argoproj.io"
}

/// A repository path from a Flux/Argo `path` field (`./apps/prod`, `apps/prod/`, `.`).
fn source_path(p: &str) -> Option<String> {
    crate::vfs::normalize("", p.trim())
}

fn qualified(m: &Manifest) -> String {
    match &m.resource.namespace {
        Some(ns) => format!("{ns}/{}", m.resource.name),
        None => m.resource.name.clone(),
    }
}

/// The units declared at a revision. Agent objects anywhere in the repository declare units;
/// without any, each top-level folder holding manifests is one (files at the root: unit `.`).
pub fn units(rev: &Revision<'_>) -> Vec<Unit> {
    let mut out = Vec::new();
    let sources = git_sources(rev);
    for (_, m) in rev.shared_objects() {
        if is_flux_kustomization(m) {
            out.push(flux_unit(m, &sources));
        } else if is_argo_application(m) {
            out.push(argo_unit(m));
        }
    }
    out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    out.dedup_by(|a, b| a.kind == b.kind && a.name == b.name);
    out
}

/// Plain-folder units: the top-level folders (and the root) that hold manifests.
fn folder_units(revs: &[&Revision<'_>]) -> Vec<Unit> {
    let mut folders = BTreeSet::new();
    for rev in revs {
        for (p, _) in rev.objects() {
            folders.insert(
                p.split_once('/')
                    .map(|(top, _)| top.to_string())
                    .unwrap_or_default(),
            );
        }
    }
    folders
        .into_iter()
        .map(|f| Unit {
            kind: "Folder",
            name: if f.is_empty() { ".".into() } else { f.clone() },
            recurse: !f.is_empty(),
            paths: vec![f],
            prune: false,
            suspended: false,
            note: None,
            namespace: None,
            namespace_overrides: false,
            cascade: false,
            no_prune_option: false,
            agent: None,
            unrendered: false,
        })
        .collect()
}

/// The Flux GitRepositories a revision defines: (namespace, name) → (url, ref).
type GitSources = BTreeMap<(String, String), (Value, Value)>;

fn git_sources(rev: &Revision<'_>) -> GitSources {
    rev.objects()
        .filter(|(_, m)| {
            m.resource.kind == "GitRepository" && m.group() == "source.toolkit.fluxcd.io"
        })
        .map(|(_, m)| {
            (
                (
                    m.resource.namespace.clone().unwrap_or_default(),
                    m.resource.name.clone(),
                ),
                (m.json["spec"]["url"].clone(), m.json["spec"]["ref"].clone()),
            )
        })
        .collect()
}

/// Why a Flux Kustomization reads another repository (or another branch of this one), when it
/// does: its source is not a GitRepository, or it is one this repository defines that differs
/// from the bootstrap source `flux-system/flux-system` (the repository Flux syncs itself from).
/// A GitRepository the repository does not define is taken as this one.
fn foreign_source(m: &Manifest, sources: &GitSources) -> Option<String> {
    let r = &m.json["spec"]["sourceRef"];
    let kind = r["kind"].as_str().unwrap_or("GitRepository");
    let name = r["name"].as_str().unwrap_or_default();
    let ns = r["namespace"]
        .as_str()
        .or(m.resource.namespace.as_deref())
        .unwrap_or_default();
    let say = || format!("its source is {kind} {ns}/{name}, not this repository: not read");
    if kind != "GitRepository" {
        return Some(say());
    }
    if (ns, name) == ("flux-system", "flux-system") {
        return None;
    }
    let own = sources.get(&("flux-system".to_string(), "flux-system".to_string()));
    match (sources.get(&(ns.to_string(), name.to_string())), own) {
        (None, _) => None,
        (Some(this), Some(own)) if this == own => None,
        (Some(_), _) => Some(say()),
    }
}

fn flux_unit(m: &Arc<Manifest>, sources: &GitSources) -> Unit {
    let spec = &m.json["spec"];
    let raw = spec["path"].as_str().unwrap_or("./");
    let (paths, note) = match (foreign_source(m, sources), source_path(raw)) {
        (Some(why), _) => (Vec::new(), Some(why)),
        (None, Some(p)) => (vec![p], None),
        (None, None) => (
            Vec::new(),
            Some(format!("spec.path `{raw}` leaves the repository; not read")),
        ),
    };
    let suspended = spec["suspend"].as_bool().unwrap_or(false);
    let note = note.or_else(|| {
        suspended.then(|| {
            "suspended (spec.suspend: true): Flux applies nothing until it is resumed".to_string()
        })
    });
    let prune = spec["prune"].as_bool().unwrap_or(false);
    Unit {
        kind: "Kustomization",
        name: qualified(m),
        paths,
        recurse: true,
        prune,
        suspended,
        note,
        namespace: spec["targetNamespace"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        namespace_overrides: true,
        // The finalizer garbage-collects the inventory when `prune` is on.
        cascade: prune,
        no_prune_option: false,
        agent: Some(m.clone()),
        unrendered: false,
    }
}

fn argo_unit(m: &Arc<Manifest>) -> Unit {
    let spec = &m.json["spec"];
    let sources: Vec<&Value> = match spec["sources"].as_array() {
        Some(list) if !list.is_empty() => list.iter().collect(),
        _ => vec![&spec["source"]],
    };
    let mut paths = Vec::new();
    let mut notes = Vec::new();
    let mut recurse = false;
    let mut unrendered = false;
    for s in sources {
        if s.get("chart").is_some() && s.get("path").is_none() {
            unrendered = true;
            notes.push(format!(
                "Helm chart `{}` is not rendered; its objects are not in this plan",
                s["chart"].as_str().unwrap_or("?")
            ));
            continue;
        }
        let Some(raw) = s["path"].as_str() else {
            if s.get("ref").is_none() {
                notes.push("a source without `path` is not read".to_string());
            }
            continue;
        };
        match source_path(raw) {
            Some(p) => paths.push(p),
            None => notes.push(format!(
                "source path `{raw}` leaves the repository; not read"
            )),
        }
        recurse |= s["directory"]["recurse"].as_bool().unwrap_or(false);
    }
    let automated = spec["syncPolicy"]["automated"].is_object();
    let prune = automated
        && spec["syncPolicy"]["automated"]["prune"]
            .as_bool()
            .unwrap_or(false);
    let enabled = spec["syncPolicy"]["automated"]["enabled"]
        .as_bool()
        .unwrap_or(true);
    let suspended = !automated || !enabled;
    if suspended {
        notes.insert(
            0,
            "manual sync (no spec.syncPolicy.automated): Argo CD applies nothing until someone syncs".to_string(),
        );
    }
    // Deleting an Application deletes its objects only with Argo CD's resources finalizer
    // (`resources-finalizer.argocd.argoproj.io`, optionally `/background` or `/foreground`).
    let cascade = m.json["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| {
            f.iter().filter_map(Value::as_str).any(|f| {
                f == ARGO_FINALIZER
                    || f.strip_prefix(ARGO_FINALIZER)
                        .is_some_and(|r| r.starts_with('/'))
            })
        });
    let no_prune_option = spec["syncPolicy"]["syncOptions"]
        .as_array()
        .is_some_and(|o| {
            o.iter()
                .filter_map(Value::as_str)
                .any(|o| sync_option(o, "Prune") == Some("false"))
        });
    Unit {
        kind: "Application",
        name: qualified(m),
        paths,
        recurse,
        prune,
        suspended,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
        namespace: spec["destination"]["namespace"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        namespace_overrides: false,
        cascade,
        no_prune_option,
        agent: Some(m.clone()),
        unrendered,
    }
}

/// The objects a unit produces at a revision, keyed by identity, with the namespace the agent
/// would give them (also written into the JSON, so adding an explicit namespace equal to the
/// default is no change).
///
/// The single seam for rendering: a Flux Kustomization is built as Flux builds it, a source
/// folder that is a kustomization root as `kustomize build` does; other folders give their raw
/// manifests; when kgate cannot build the unit it falls back to the raw manifests and also
/// returns why.
pub fn unit_objects(
    rev: &Revision<'_>,
    unit: &Unit,
) -> (BTreeMap<ObjectKey, Object>, Option<String>) {
    let mut produced: Vec<render::Produced> = Vec::new();
    let mut failure = None;
    match render::flux_objects(rev, unit).or_else(|| render::argo_helm_objects(rev, unit)) {
        Some(Ok(objects)) => produced = objects,
        Some(Err(why)) => {
            failure = Some(why);
            for root in &unit.paths {
                produced.extend(raw_objects(rev, root, unit.recurse));
            }
        }
        None => {
            for root in &unit.paths {
                match render::dir_objects(rev, root) {
                    Some(Ok(objects)) => produced.extend(objects),
                    Some(Err(why)) => {
                        failure.get_or_insert(why);
                        produced.extend(raw_objects(rev, root, unit.recurse));
                    }
                    None => produced.extend(raw_objects(rev, root, unit.recurse)),
                }
            }
        }
    }
    // HelmReleases the unit applies install their charts' objects as well.
    let charts = render::helm_objects(rev, &produced);
    produced.extend(charts);
    let mut out = BTreeMap::new();
    for p in produced {
        insert_object(rev, unit, &mut out, p);
    }
    (out, failure)
}

/// The manifests in files under `root` (its sub-folders too when `recurse`).
fn raw_objects(rev: &Revision<'_>, root: &str, recurse: bool) -> Vec<render::Produced> {
    let under = |p: &str| {
        let rest = if root.is_empty() {
            Some(p)
        } else {
            p.strip_prefix(root).and_then(|r| r.strip_prefix('/'))
        };
        rest.is_some_and(|r| recurse || !r.contains('/'))
    };
    // Deferred files are parsed now, on their own (their objects carry their file).
    let files = Files::new();
    let deferred: Vec<(&str, Arc<Manifest>)> = rev
        .files
        .iter()
        .filter(|(p, f)| f.deferred && under(p))
        .flat_map(|(p, f)| {
            let file = files.add(rev.display(p), f.text.clone());
            load::load_file(&files, &file, &rev.limits)
                .manifests
                .into_iter()
                .map(move |m| (p.as_str(), Arc::new(m)))
        })
        .collect();
    let parsed = rev
        .shared_objects()
        .filter(|(p, _)| under(p))
        .map(|(p, m)| (p, m.clone()));
    let mut all: Vec<(&str, Arc<Manifest>)> = parsed.chain(deferred).collect();
    all.sort_by(|a, b| a.0.cmp(b.0));
    all.into_iter()
        .map(|(p, m)| render::Produced {
            path: p.to_string(),
            resource: m.resource.clone(),
            json: m.json.clone(),
            origin: Origin {
                manifest: m.clone(),
                files: None,
            },
        })
        .collect()
}

/// Adds one produced object with the namespace the agent would give it.
fn insert_object(
    rev: &Revision<'_>,
    unit: &Unit,
    out: &mut BTreeMap<ObjectKey, Object>,
    produced: render::Produced,
) {
    let render::Produced {
        path: p,
        mut resource,
        mut json,
        origin,
    } = produced;
    {
        let group = api_group(&resource.api_version).to_string();
        if rev.is_namespaced(&group, &resource.kind) {
            let ns = match (
                &unit.namespace,
                &resource.namespace,
                unit.namespace_overrides,
            ) {
                (Some(target), _, true) => target.clone(),
                (_, Some(own), _) => own.clone(),
                (Some(target), None, false) => target.clone(),
                (None, None, _) => "default".to_string(),
            };
            resource.namespace = Some(ns.clone());
            if let Some(meta) = json.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), Value::String(ns));
            }
        }
        let key = ObjectKey {
            namespace: resource.namespace.clone().unwrap_or_default(),
            kind: resource.kind.clone(),
            name: resource.name.clone(),
            group,
        };
        // A duplicate object is the check stage's finding; the plan keeps the first.
        out.entry(key).or_insert(Object {
            resource,
            json,
            file: p,
            origin,
        });
    }
}

/// One object as a unit produces it.
#[derive(Debug, Clone)]
pub struct Object {
    pub resource: ResourceRef,
    /// With the namespace the agent gives it.
    pub json: Value,
    /// Repository path of the file it came from.
    pub file: String,
    /// Where its fields are written.
    pub origin: Origin,
}

/// The manifest an object was read or rendered as, for the positions of its fields.
#[derive(Debug, Clone)]
pub struct Origin {
    pub manifest: Arc<Manifest>,
    /// The files a rendered object's spans point into; None when it was read as is (every
    /// span is in its own file).
    pub files: Option<Arc<Files>>,
}

impl Origin {
    /// The file and span of the field at `pointer` (its nearest existing parent when the field
    /// is missing; `""` is the object).
    pub fn locate(&self, pointer: &str) -> (Arc<SourceFile>, Span) {
        let m = &self.manifest;
        let span = if pointer.is_empty() {
            m.span()
        } else {
            m.span_at(pointer)
        };
        let file = match &self.files {
            Some(files) if span.file != m.file.id => files.get(span.file),
            _ => None,
        };
        (file.unwrap_or_else(|| m.file.clone()), span)
    }
}

/// Identity of an object, ordered for reading: namespace, kind, name, group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectKey {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub group: String,
}

/// The namespace a created object moved from: the base has the same group, kind and name in
/// another namespace, which the head no longer has.
fn moved_from(
    key: &ObjectKey,
    before: &BTreeMap<ObjectKey, Object>,
    after: &BTreeMap<ObjectKey, Object>,
) -> Option<String> {
    if key.namespace.is_empty() {
        return None;
    }
    before
        .keys()
        .find(|k| {
            k.group == key.group
                && k.kind == key.kind
                && k.name == key.name
                && !k.namespace.is_empty()
                && k.namespace != key.namespace
                && !after.contains_key(k)
        })
        .map(|k| k.namespace.clone())
}

/// A unit's declaration at the base and at the head (either may be absent).
type UnitPair<'u> = (Option<&'u Unit>, Option<&'u Unit>);

/// One unit of a plan with the objects it produces on each side: what the guards judge.
#[derive(Debug, Clone)]
pub struct UnitSides {
    pub base: Option<Unit>,
    pub head: Option<Unit>,
    /// The unit's objects at the base.
    pub before: BTreeMap<ObjectKey, Object>,
    /// The unit's objects at the head (empty when the agent cannot build it and changes nothing).
    pub after: BTreeMap<ObjectKey, Object>,
    /// The unit's plan (also in [`Plan::units`] when the unit is in scope).
    pub plan: UnitPlan,
    /// Under the paths the plan was asked for.
    pub in_scope: bool,
    /// kgate built the unit on both sides as the agent does (else its changes compare raw
    /// manifests, and the agent may fail the build and change nothing).
    pub built: bool,
}

impl UnitSides {
    /// The declaration that rules: the head's, else the base's (a unit the MR removes).
    pub fn decl(&self) -> &Unit {
        self.head
            .as_ref()
            .or(self.base.as_ref())
            .expect("a unit is declared on one side at least")
    }
}

/// A plan with every unit's objects on both sides.
pub struct Planned {
    pub plan: Plan,
    /// Every unit, in scope or not (guards need what the whole repository provides).
    pub units: Vec<UnitSides>,
    /// The repository paths the plan was asked for (empty: all).
    pub scope: Vec<String>,
}

impl Planned {
    /// Whether a repository path is under the paths the plan was asked for.
    pub fn in_scope(&self, path: &str) -> bool {
        self.scope.is_empty()
            || self
                .scope
                .iter()
                .any(|s| s.is_empty() || path == s || path.starts_with(&format!("{s}/")))
    }
}

/// Pairs the objects of every unit across the two revisions.
pub fn plan(
    base: &Revision<'_>,
    head: &Revision<'_>,
    base_name: &str,
    head_name: &str,
    scope: &[String],
) -> Plan {
    plan_units(base, head, base_name, head_name, scope, None).plan
}

/// The units a change touches, by `rendered_for` label (Flux Kustomizations, Argo CD folder
/// sources): those that read a changed file (repository paths) at either revision. None when
/// the change can reach units the unit graph does not connect it to: a CRD, a Flux source or an
/// admission policy changed, a chart's file changed (releases anywhere deploy it), or an object
/// reads others by name (valuesFrom, substituteFrom).
fn touched_units(revs: [&Revision<'_>; 2], changed: &BTreeSet<String>) -> Option<BTreeSet<String>> {
    let mut labels = BTreeSet::new();
    for rev in revs {
        let reaches = changed.iter().any(|p| {
            rev.files
                .get(p)
                .is_some_and(|f| crate::stream::reaches_every_unit(&f.text))
        });
        let charts =
            crate::units::charts_of(changed.iter().map(String::as_str), &|p| rev.vfs.is_file(p));
        if reaches
            || !charts.is_empty()
            || rev.objects().any(|(_, m)| {
                crate::stream::reads_every_object(m) || crate::stream::reads_repository_files(m)
            })
        {
            return None;
        }
        // The unit graph reads kustomization files only: the others stay unread.
        let files = Files::new();
        for (path, parsed) in &rev.files {
            if path.is_empty() {
                continue;
            }
            let text = parsed.text.clone();
            files.add_pending(rev.display(path), Arc::new(move || Some(text.to_string())));
        }
        let agents: Vec<Manifest> = rev
            .objects()
            .filter(|(_, m)| is_flux_kustomization(m) || is_argo_application(m))
            .map(|(_, m)| m.clone())
            .collect();
        let names: BTreeSet<String> = changed.iter().map(|p| rev.display(p)).collect();
        labels.extend(crate::render::integrate::units_reading(
            &files,
            rev.vfs,
            &agents,
            &crate::render::RenderOptions::default(),
            &names,
        ));
    }
    Some(labels)
}

/// Whether the plan must build a unit for a change: it is new or removed, its declaration
/// changed, it reads a changed file (`labels`), or it is a folder a changed file is in.
fn touches(
    pair: (Option<&Unit>, Option<&Unit>),
    labels: &BTreeSet<String>,
    changed: &BTreeSet<String>,
) -> bool {
    let (Some(b), Some(h)) = pair else {
        return true;
    };
    match (&b.agent, &h.agent) {
        (Some(ba), Some(ha)) => {
            let label = if is_argo_application(ha) {
                crate::render::helm::argo::application_label(ha)
            } else {
                crate::render::flux::flux_label(ha)
            };
            // Applications with Helm sources never get here: they make every unit touched
            // (`stream::reads_repository_files` in `touched_units`).
            ba.json != ha.json || labels.contains(&label)
        }
        (None, None) => {
            b.paths != h.paths
                || b.paths.iter().any(|f| {
                    changed
                        .iter()
                        .any(|c| f.is_empty() || c == f || c.starts_with(&format!("{f}/")))
                })
        }
        _ => true,
    }
}

/// [`plan`], keeping every unit's objects.
pub fn plan_units(
    base: &Revision<'_>,
    head: &Revision<'_>,
    base_name: &str,
    head_name: &str,
    scope: &[String],
    changed: Option<&BTreeSet<String>>,
) -> Planned {
    let head_units = units(head);
    let base_units = units(base);
    let (head_units, base_units) = if head_units.is_empty() && base_units.is_empty() {
        let f = folder_units(&[base, head]);
        (f.clone(), f)
    } else {
        (head_units, base_units)
    };
    let mut names: BTreeMap<(&'static str, String), UnitPair<'_>> = BTreeMap::new();
    for u in &base_units {
        names.entry((u.kind, u.name.clone())).or_default().0 = Some(u);
    }
    for u in &head_units {
        names.entry((u.kind, u.name.clone())).or_default().1 = Some(u);
    }
    // Head files with problems (syntax errors, unreadable): their objects may be missing.
    let head_prefix = head.prefix.as_str();
    let broken: BTreeSet<&str> = head
        .diagnostics()
        .filter(|d| d.severity == crate::diagnostic::Severity::Error)
        .map(|d| d.file.strip_prefix(head_prefix).unwrap_or(&d.file))
        .collect();
    // A change builds only the units it touches; the others are the same on both sides.
    let labels = changed.and_then(|c| touched_units([base, head], c));
    let (mut pairs, mut untouched): (Vec<UnitPair<'_>>, Vec<UnitPair<'_>>) = names
        .into_values()
        .partition(|&pair| match (changed, &labels) {
            (Some(c), Some(l)) => touches(pair, l, c),
            _ => true,
        });
    let mut all = Vec::new();
    loop {
        for (b, h) in std::mem::take(&mut pairs) {
            // The head's declaration rules (its prune, suspend); a unit the MR deletes keeps the
            // base's, which is what the agent acts on while removing it.
            let Some(decl) = h.or(b) else { continue };
            let in_scope = in_scope(decl, scope);
            let sides = |before, after, plan, built| UnitSides {
                base: b.cloned(),
                head: h.cloned(),
                before,
                after,
                plan,
                in_scope,
                built,
            };
            // A source path missing at the head makes the agent's build fail: it applies and prunes
            // nothing, so listing every object as deleted would be a wrong answer.
            let missing: Vec<&str> = h
                .map(|u| {
                    u.paths
                        .iter()
                        .filter(|p| !p.is_empty() && !holds_files(head.vfs, p, 0))
                        .map(String::as_str)
                        .collect()
                })
                .unwrap_or_default();
            if !missing.is_empty() {
                let note = format!(
                    "source path {} does not exist at the head: the agent fails to build this unit and \
                     changes nothing",
                    missing.join(", ")
                );
                let note = prefix_note(note, decl.note.clone());
                let (before, _) = b.map(|u| unit_objects(base, u)).unwrap_or_default();
                all.push(sides(
                    before,
                    BTreeMap::new(),
                    UnitPlan::of(decl, Some(note), 0, Vec::new()),
                    true,
                ));
                continue;
            }
            let (before, base_failure) = b.map(|u| unit_objects(base, u)).unwrap_or_default();
            let (after, head_failure) = h.map(|u| unit_objects(head, u)).unwrap_or_default();
            let built = base_failure.is_none() && head_failure.is_none();
            // A unit kgate cannot build is shown from its raw manifests, never silently: the agent
            // may fail the build (and change nothing) or build what kgate's renderer lacks.
            let build_note = [("head", head_failure), ("base", base_failure)]
                .into_iter()
                .find_map(|(side, why)| {
                    why.map(|why| {
                        format!(
                            "kgate could not build this unit at the {side} ({why}): the changes below compare raw manifests and may differ from what the agent applies"
                        )
                    })
                });
            let mut changes = Vec::new();
            let mut unchanged = 0;
            for (key, obj) in &after {
                let (res, new) = (&obj.resource, &obj.json);
                match before.get(key).map(|o| &o.json) {
                    None => changes.push(Change {
                        action: Action::Create,
                        pruned: false,
                        note: None,
                        resource: res.clone(),
                        fields: Vec::new(),
                        immutable: Vec::new(),
                        agent: moved_from(key, &before, &after).map(|from| {
                            format!(
                                "moves from namespace \"{from}\": a namespace cannot change, so the \
                                 agent creates this object and (when it prunes) deletes the old one; \
                                 what the old object held in the cluster does not follow"
                            )
                        }),
                    }),
                    Some(old) if old == new => unchanged += 1,
                    Some(old) => {
                        let fields = diff::diff_objects(&key.group, &key.kind, old, new);
                        if fields.is_empty() {
                            unchanged += 1;
                        } else {
                            let (immutable, agent) = match crate::check::admission::immutable::judge(
                                &key.group, &key.kind, old, new,
                            ) {
                                Some(j) => (j.violations, Some(j.agent)),
                                None => (Vec::new(), None),
                            };
                            changes.push(Change {
                                action: Action::Update,
                                pruned: false,
                                note: None,
                                resource: res.clone(),
                                fields,
                                immutable,
                                agent,
                            });
                        }
                    }
                }
            }
            // A unit the MR removes deletes its objects only if deleting its agent object cascades.
            let removed = h.is_none();
            let unit_prunes = if removed { decl.cascade } else { decl.prune };
            for (key, obj) in &before {
                if after.contains_key(key) {
                    continue;
                }
                // An object whose file the head cannot parse has not been removed: saying "pruned"
                // would be a wrong answer. The file's problem is listed instead.
                if broken.contains(obj.file.as_str()) {
                    continue;
                }
                let (pruned, note) = match chart_release(obj) {
                    // A chart's object is Helm's to delete (helm-controller's upgrade or uninstall).
                    Some(release) => {
                        helm_deletes(decl, obj, &release, &before, &after, unit_prunes, removed)
                    }
                    None => {
                        let note = if unit_prunes {
                            kept_because(decl, &obj.json, removed)
                        } else {
                            None
                        };
                        (unit_prunes && note.is_none(), note)
                    }
                };
                changes.push(Change {
                    action: Action::Delete,
                    pruned,
                    note,
                    resource: obj.resource.clone(),
                    fields: Vec::new(),
                    immutable: Vec::new(),
                    agent: None,
                });
            }
            changes.sort_by_key(|c| {
                (
                    c.resource.namespace.clone().unwrap_or_default(),
                    c.resource.kind.clone(),
                    c.resource.name.clone(),
                    api_group(&c.resource.api_version).to_string(),
                )
            });
            let note = match h {
                None if decl.kind == "Application" && !decl.cascade => Some(prefix_note(
                    "the MR removes this unit; without Argo CD's resources finalizer deleting the \
                     Application leaves its objects in the cluster"
                        .to_string(),
                    decl.note.clone(),
                )),
                None => Some(prefix_note(
                    "the MR removes this unit".to_string(),
                    decl.note.clone(),
                )),
                Some(_) => decl.note.clone(),
            };
            let note = match build_note {
                Some(why) => Some(prefix_note(why, note)),
                None => note,
            };
            all.push(sides(
                before,
                after,
                UnitPlan::of(decl, note, unchanged, changes),
                built,
            ));
        }
        // A touched unit deletes objects: an untouched one may refer to them
        // (`plan/dangling-reference`), so every unit is built.
        let deletes = all
            .iter()
            .any(|u: &UnitSides| u.plan.changes.iter().any(|c| c.action == Action::Delete));
        if untouched.is_empty() || !deletes {
            break;
        }
        pairs = std::mem::take(&mut untouched);
    }
    let untouched: Vec<String> = untouched
        .iter()
        .filter_map(|(b, h)| h.or(*b))
        .filter(|decl| in_scope(decl, scope))
        .map(|decl| format!("{} {}", decl.kind, decl.name))
        .collect();
    orphaned_agents(&mut all);
    let now = time::OffsetDateTime::now_utc();
    for u in &mut all {
        if let Some(h) = &u.head {
            u.plan.lands = landing::landing(h, head, now);
        }
    }
    let mut problems: Vec<Diagnostic> = head.diagnostics().cloned().collect();
    problems.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    problems.dedup();
    Planned {
        plan: Plan {
            version: 1,
            base: base_name.to_string(),
            head: head_name.to_string(),
            units: all
                .iter()
                .filter(|u| u.in_scope)
                .map(|u| u.plan.clone())
                .collect(),
            problems,
            findings: Vec::new(),
            untouched,
        },
        units: all,
        scope: scope.to_vec(),
    }
}

/// A unit the MR removes whose agent object another unit leaves in the cluster (that unit does
/// not prune it) is not deleted at all: the agent keeps its objects. Its deletions are kept.
fn orphaned_agents(all: &mut [UnitSides]) {
    let orphaned: BTreeSet<(&'static str, String)> = all
        .iter()
        .flat_map(|u| &u.plan.changes)
        .filter(|c| c.action == Action::Delete && !c.pruned)
        .filter_map(|c| {
            let group = api_group(&c.resource.api_version);
            let kind = match (group, c.resource.kind.as_str()) {
                ("kustomize.toolkit.fluxcd.io", "Kustomization") => "Kustomization",
                ("argoproj.io", "Application") => "Application",
                _ => return None,
            };
            let name = match &c.resource.namespace {
                Some(ns) => format!("{ns}/{}", c.resource.name),
                None => c.resource.name.clone(),
            };
            Some((kind, name))
        })
        .collect();
    for u in all.iter_mut().filter(|u| u.head.is_none()) {
        let Some(decl) = &u.base else { continue };
        if !orphaned.contains(&(decl.kind, decl.name.clone())) {
            continue;
        }
        let why = format!(
            "the {} object stays in the cluster (the unit holding it does not prune it), so it \
             keeps its objects",
            decl.kind
        );
        for c in u
            .plan
            .changes
            .iter_mut()
            .filter(|c| c.action == Action::Delete && c.pruned)
        {
            c.pruned = false;
            c.note = Some(why.clone());
        }
    }
}

/// Whether a folder holds any file (at any depth). Git has no empty folders: an empty one in the
/// working tree is not there for the agent either.
fn holds_files(vfs: &dyn Vfs, dir: &str, depth: usize) -> bool {
    if depth > 32 {
        return true;
    }
    vfs.list_dir(dir).is_ok_and(|names| {
        names.iter().any(|n| {
            let p = format!("{dir}/{n}");
            vfs.is_file(&p) || (vfs.is_dir(&p) && holds_files(vfs, &p, depth + 1))
        })
    })
}

/// A unit is in scope when one of its paths is under a scope path or contains it.
fn in_scope(u: &Unit, scope: &[String]) -> bool {
    let under = |a: &str, b: &str| b.is_empty() || a == b || a.starts_with(&format!("{b}/"));
    scope.is_empty()
        || u.paths
            .iter()
            .any(|p| scope.iter().any(|s| under(p, s) || under(s, p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::MemFs;

    /// The plan (the cluster's view) and the kustomize render (kustomize's view) answer scope
    /// from one source, `schema::scope`: they agree on built-in kinds, and differ only where
    /// kustomize itself does not know a kind is cluster-scoped (a CRD-defined kind).
    #[test]
    fn plan_and_kustomize_render_agree_on_cluster_scope() {
        let mut fs = MemFs::new();
        fs.insert(
            "app/kustomization.yaml",
            "namespace: team\nresources:\n- objects.yaml\n",
        );
        let objects = [
            ("v1", "Namespace", false),
            ("rbac.authorization.k8s.io/v1", "ClusterRole", false),
            ("v1", "PersistentVolume", false),
            ("storage.k8s.io/v1", "StorageClass", false),
            ("apps/v1", "Deployment", true),
            ("v1", "ConfigMap", true),
            ("rbac.authorization.k8s.io/v1", "RoleBinding", true),
        ];
        let mut text = String::new();
        for (api_version, kind, _) in objects {
            text.push_str(&format!(
                "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: x\n---\n"
            ));
        }
        text.push_str("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: x\n");
        fs.insert("app/objects.yaml", text);
        fs.insert(
            "crds/widget.yaml",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
             name: widgets.example.com\nspec:\n  group: example.com\n  scope: Cluster\n  names: \
             {kind: Widget, plural: widgets}\n  versions: [{name: v1, served: true, storage: \
             true}]\n",
        );
        let files = Files::new();
        let rev = Revision::load(
            &files,
            &fs,
            &DiscoverOptions::default(),
            &Limits::default(),
            &|_| false,
            None,
        )
        .unwrap();
        let rendered =
            crate::render::render_dir(&fs, &files, "app", &crate::render::RenderOptions::default());
        let namespace_of = |kind: &str| {
            let m = rendered
                .manifests
                .iter()
                .find(|m| m.resource.kind == kind)
                .unwrap_or_else(|| panic!("{kind} not rendered"));
            m.resource.namespace.clone()
        };
        for (api_version, kind, namespaced) in objects {
            let group = api_group(api_version);
            assert_eq!(rev.is_namespaced(group, kind), namespaced, "plan: {kind}");
            // kustomize renames the Namespace object itself instead of placing it.
            if kind != "Namespace" {
                assert_eq!(
                    namespace_of(kind).is_some(),
                    namespaced,
                    "render: {kind} {:?}",
                    namespace_of(kind)
                );
            }
        }
        // The repository's CRD makes Widget cluster-scoped for the plan; kustomize's embedded
        // OpenAPI does not know it, so `kubectl kustomize` still gives it the namespace
        // (tests/render/kustomize/namespace-scope checks that against kustomize itself).
        assert!(!rev.is_namespaced("example.com", "Widget"));
        assert_eq!(namespace_of("Widget").as_deref(), Some("team"));
        // Without a CRD, the built-in catalog answers (cert-manager's ClusterIssuer).
        assert!(!rev.is_namespaced("cert-manager.io", "ClusterIssuer"));
        assert!(rev.is_namespaced("example.com", "Gadget"));
    }
}
