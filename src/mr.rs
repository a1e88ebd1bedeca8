//! Merge-request mode: the two sides of an MR (base revision and head revision or working tree),
//! checking the head while marking findings that already exist on the base as pre-existing, and
//! noticing when the MR changes the gate itself (policies, exceptions, `.kgate.yaml`).
//!
//! Policies are judged from the base by default, so an MR cannot switch off the gate that judges
//! it: [`gate_config`] and [`policy_sources`] read `.kgate.yaml`, policy folders and data from
//! the chosen revision's tree (never the disk), and [`exceptions_added`] keeps an exception
//! annotation the MR adds from suppressing anything. [`gate_files`] detects gate changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::config::{self, Config};
use crate::diagnostic::{Diagnostic, ResourceRef};
use crate::exceptions;
use crate::git::{self, GitTreeFs, Repo, Revision};
use crate::manifest::{api_group, Manifest};
use crate::pipeline::{self, CheckOptions, Outcome};
use crate::policy::PolicySources;
use crate::source::Files;
use crate::vfs::Vfs;

/// Which revision's policies, exceptions and config judge the MR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoliciesFrom {
    Base,
    Head,
}

/// The two sides of a merge request.
pub struct Sides {
    pub repo: Repo,
    /// The commit compared against (the merge base of `--base` and the head).
    pub base: Revision,
    pub base_fs: GitTreeFs,
    /// None: the working tree.
    pub head: Option<Revision>,
    pub head_fs: Box<dyn Vfs>,
}

impl Sides {
    /// Opens the repository of the current folder and both sides. `base` None: the CI's merge
    /// request base, if any; Ok(None) when there is no base at all (not merge-request mode).
    pub fn open(base: Option<&str>, head: Option<&str>) -> Result<Option<Sides>, String> {
        let (base_name, from_ci) = match base {
            Some(b) => (b.to_string(), false),
            None => match git::ci_base(&git::process_env) {
                Some(b) => (b, true),
                None => return Ok(None),
            },
        };
        let repo = match Repo::open_cwd() {
            Ok(r) => r,
            // A merge-request job that runs kgate outside the clone checks as usual.
            Err(_) if from_ci => return Ok(None),
            Err(e) => return Err(e),
        };
        let given_base = repo.resolve(&base_name)?;
        let head = head.map(|h| repo.resolve(h)).transpose()?;
        let base = repo.compare_base(&given_base, head.as_ref())?;
        let base_fs = repo.tree_fs(&base)?;
        let head_fs: Box<dyn Vfs> = match &head {
            Some(h) => Box::new(repo.tree_fs(h)?),
            None => Box::new(repo.worktree_fs()),
        };
        Ok(Some(Sides {
            repo,
            base,
            base_fs,
            head,
            head_fs,
        }))
    }

    pub fn head_name(&self) -> String {
        match &self.head {
            Some(h) => h.name.clone(),
            None => "working tree".to_string(),
        }
    }

    /// Whether a head path is ignored by git (only the working tree has ignored files).
    pub fn head_ignored(&self, path: &str) -> bool {
        self.head.is_none() && self.repo.is_ignored(path)
    }

    /// Command-line paths as repository paths; a path outside the repository is an error.
    pub fn repo_paths(&self, given: &[String]) -> Result<Vec<String>, String> {
        given
            .iter()
            .map(|g| {
                if g == "-" {
                    return Err("`-` (stdin) cannot be compared with a base revision".to_string());
                }
                self.repo.repo_path(g).ok_or_else(|| {
                    format!(
                        "{g} is outside the git repository at {}",
                        self.repo.root().display()
                    )
                })
            })
            .collect()
    }
}

/// What a merge-request check produced besides the usual outcome.
pub struct MrOutcome {
    pub outcome: Outcome,
    /// The policy/config files the gate is judged with (from the side `--policies-from` names).
    pub gate_files: GateFiles,
}

/// Checks the head side, marks findings already present on the base as pre-existing, and warns
/// when the MR changes the gate's own files.
pub fn check(
    opts: &CheckOptions,
    sides: &Sides,
    policies_from: PoliciesFrom,
) -> Result<MrOutcome, String> {
    let paths = sides.repo_paths(&opts.paths)?;
    let head_files = Files::new();
    let ignored = |p: &str| sides.head_ignored(p);
    let (loaded, count) = pipeline::load_vfs(
        &head_files,
        sides.head_fs.as_ref(),
        &paths,
        &opts.discover,
        &opts.limits,
        &ignored,
        false,
    )?;
    // Both sides are rendered the same way, each from its own tree.
    let mut outcome = pipeline::check_loaded_in(
        head_files,
        loaded,
        count,
        crate::load::Loaded::default(),
        opts,
        Some(sides.head_fs.as_ref()),
    )?;

    let base_files = Files::new();
    let (base_loaded, base_count) = pipeline::load_vfs(
        &base_files,
        &sides.base_fs,
        &paths,
        &opts.discover,
        &opts.limits,
        &|_| false,
        true,
    )?;
    let base_outcome = pipeline::check_loaded_in(
        base_files,
        base_loaded,
        base_count,
        crate::load::Loaded::default(),
        opts,
        Some(&sides.base_fs),
    )?;
    mark_pre_existing(&mut outcome.diagnostics, &base_outcome.diagnostics);
    exceptions_added(
        &outcome.manifests,
        &base_outcome.manifests,
        &mut outcome.diagnostics,
        policies_from,
    );

    let locations = GateLocations::default();
    let base_gate = gate_files(&sides.base_fs, &locations);
    let head_gate = gate_files(sides.head_fs.as_ref(), &locations);
    if let Some(d) = policy_changed(
        &base_gate,
        &head_gate,
        policies_from,
        sides.head_fs.as_ref(),
    ) {
        outcome.diagnostics.push(d);
    }
    outcome
        .diagnostics
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    outcome.summary.count_findings(&outcome.diagnostics);
    Ok(MrOutcome {
        outcome,
        gate_files: match policies_from {
            PoliciesFrom::Base => base_gate,
            PoliciesFrom::Head => head_gate,
        },
    })
}

/// What makes two findings "the same" across revisions: code, resource identity (or the file,
/// for findings about a file), JSON path and message. Positions are left out on purpose: an MR
/// that moves a broken object has not added the problem.
type FindingKey = (String, (String, String, String, String), String, String);

fn finding_key(d: &Diagnostic) -> FindingKey {
    let who = match &d.resource {
        Some(ResourceRef {
            api_version,
            kind,
            namespace,
            name,
        }) => (
            api_group(api_version).to_string(),
            kind.clone(),
            namespace.clone().unwrap_or_default(),
            name.clone(),
        ),
        None => (
            String::new(),
            String::new(),
            String::new(),
            format!("file:{}", d.file),
        ),
    };
    (
        d.code.clone(),
        who,
        d.path.clone().unwrap_or_default(),
        d.message.clone(),
    )
}

/// Marks every head finding that also exists on the base.
pub fn mark_pre_existing(head: &mut [Diagnostic], base: &[Diagnostic]) {
    let known: BTreeSet<FindingKey> = base.iter().map(finding_key).collect();
    for d in head {
        if known.contains(&finding_key(d)) {
            d.pre_existing = true;
        }
    }
}

/// Where the gate's own files live. Kept in one place so the policy engine and config loader can
/// say where they read from.
#[derive(Debug, Clone)]
pub struct GateLocations {
    /// Config files at the repository root.
    pub config_files: Vec<String>,
    /// Folders whose files (any depth) are policies, policy data or exceptions.
    pub folders: Vec<String>,
    /// File extensions that count inside those folders.
    pub extensions: Vec<String>,
}

impl Default for GateLocations {
    fn default() -> Self {
        GateLocations {
            config_files: vec![".kgate.yaml".into(), ".kgate.yml".into()],
            folders: vec!["policy".into(), "policies".into(), ".kgate".into()],
            extensions: vec!["rego".into(), "yaml".into(), "yml".into(), "json".into()],
        }
    }
}

/// The gate's files at one revision: repository path → content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateFiles {
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Bytes over which a gate file is not read (a policy larger than this is not a policy).
const MAX_GATE_FILE: u64 = 4 * 1024 * 1024;

/// The set of policy/config files at a revision.
pub fn gate_files(vfs: &dyn Vfs, loc: &GateLocations) -> GateFiles {
    let mut out = GateFiles::default();
    for f in &loc.config_files {
        if let Ok(bytes) = vfs.read(f, MAX_GATE_FILE) {
            out.files.insert(f.clone(), bytes);
        }
    }
    for dir in &loc.folders {
        collect(vfs, dir, loc, &mut out, 0);
    }
    out
}

fn collect(vfs: &dyn Vfs, dir: &str, loc: &GateLocations, out: &mut GateFiles, depth: usize) {
    if depth > 32 || !vfs.is_dir(dir) {
        return;
    }
    for name in vfs.list_dir(dir).unwrap_or_default() {
        let path = format!("{dir}/{name}");
        if vfs.is_dir(&path) {
            collect(vfs, &path, loc, out, depth + 1);
        } else if loc
            .extensions
            .iter()
            .any(|e| name.ends_with(&format!(".{e}")))
        {
            // An unreadable gate file still counts as present: its change is reported.
            let bytes = vfs.read(&path, MAX_GATE_FILE).unwrap_or_default();
            out.files.insert(path, bytes);
        }
    }
}

/// The files that differ: (path, "added" | "removed" | "modified"), sorted by path.
pub fn gate_changes(base: &GateFiles, head: &GateFiles) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for (p, bytes) in &head.files {
        match base.files.get(p) {
            None => out.push((p.clone(), "added")),
            Some(old) if old != bytes => out.push((p.clone(), "modified")),
            Some(_) => {}
        }
    }
    for p in base.files.keys() {
        if !head.files.contains_key(p) {
            out.push((p.clone(), "removed"));
        }
    }
    out.sort();
    out
}

/// The `gate/policy-changed` warning, when the MR changes the gate's files.
pub fn policy_changed(
    base: &GateFiles,
    head: &GateFiles,
    from: PoliciesFrom,
    head_fs: &dyn Vfs,
) -> Option<Diagnostic> {
    let changes = gate_changes(base, head);
    let first = changes.first()?;
    let list = changes
        .iter()
        .map(|(p, how)| format!("{p} ({how})"))
        .collect::<Vec<_>>()
        .join(", ");
    let judged = match from {
        PoliciesFrom::Base => {
            "this MR is judged with the base revision's policies, exceptions and config; \
             `--policies-from head` evaluates it with its own"
        }
        PoliciesFrom::Head => {
            "this MR is judged with its own policies, exceptions and config (--policies-from head): \
             review those changes before trusting the result"
        }
    };
    Some(
        Diagnostic::warning(
            "gate/policy-changed",
            format!("this merge request changes the gate's own files: {list}"),
        )
        .in_file(head_fs.display(&first.0), None)
        .with_help(judged),
    )
}

/// The revision's config: `explicit` (a repository path) or `.kgate.yaml`/`.kgate.yml` at the
/// repository root, read through `vfs`. Paths inside stay repository paths (relative to the
/// config's folder), so policy folders are read from the same revision.
pub fn gate_config(vfs: &dyn Vfs, explicit: Option<&str>) -> Result<Config, String> {
    let candidates: Vec<String> = match explicit {
        Some(p) => vec![p.to_string()],
        None => GateLocations::default().config_files,
    };
    for path in &candidates {
        if !vfs.is_file(path) {
            continue;
        }
        let display = vfs.display(path);
        let bytes = vfs
            .read(path, MAX_GATE_FILE)
            .map_err(|e| format!("cannot read config {display}: {e}"))?;
        let text =
            String::from_utf8(bytes).map_err(|_| format!("config {display} is not UTF-8 text"))?;
        let folder = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let mut cfg = config::parse(&display, &text, Path::new(folder))?;
        cfg.path = Some(display);
        return Ok(cfg);
    }
    match explicit {
        Some(p) => Err(format!("config {p} does not exist at this revision")),
        None => Ok(Config::default()),
    }
}

/// Reads policy folders (`.rego`, test files left out) and data paths (JSON/YAML) from `vfs`;
/// a named path the revision lacks is an error, as on disk.
pub fn policy_sources(
    vfs: &dyn Vfs,
    dirs: &[String],
    data: &[String],
) -> Result<PolicySources, String> {
    let mut out = PolicySources::default();
    for (paths, exts, what, into) in [
        (dirs, &["rego"][..], "policy", &mut out.modules),
        (dirs, &["yaml", "yml"][..], "policy", &mut out.gatekeeper),
        (data, &["json", "yaml", "yml"][..], "data", &mut out.data),
    ] {
        for given in paths {
            let path = given.trim_end_matches('/');
            let mut found = Vec::new();
            if vfs.is_dir(path) {
                walk_vfs(vfs, path, exts, &mut found, 0);
            } else if vfs.is_file(path) {
                found.push(path.to_string());
            } else {
                return Err(format!(
                    "{what} path {given} does not exist at this revision"
                ));
            }
            found.sort();
            for f in found {
                if what == "policy" && crate::policy::is_test_file(&f) {
                    continue;
                }
                let display = vfs.display(&f);
                let bytes = vfs
                    .read(&f, MAX_GATE_FILE)
                    .map_err(|e| format!("cannot read {what} file {display}: {e}"))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| format!("{what} file {display} is not UTF-8 text"))?;
                into.push((display, text));
            }
        }
    }
    Ok(out)
}

fn walk_vfs(vfs: &dyn Vfs, dir: &str, exts: &[&str], out: &mut Vec<String>, depth: usize) {
    if depth > 32 {
        return;
    }
    for name in vfs.list_dir(dir).unwrap_or_default() {
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        if vfs.is_dir(&path) {
            walk_vfs(vfs, &path, exts, out, depth + 1);
        } else if exts.iter().any(|e| name.ends_with(&format!(".{e}"))) {
            out.push(path);
        }
    }
}

/// The object's `kgate.dev/ignore` entries that have a reason: code → reason.
fn ignore_entries(m: &Manifest) -> BTreeMap<String, String> {
    m.json
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(exceptions::ANNOTATION))
        .and_then(|v| v.as_str())
        .map(|text| {
            exceptions::parse_annotation(text)
                .into_iter()
                .filter_map(|(code, reason)| reason.map(|r| (code, r)))
                .collect()
        })
        .unwrap_or_default()
}

type Identity = (String, String, String, String);

fn identity(m: &Manifest) -> Identity {
    (
        api_group(&m.resource.api_version).to_string(),
        m.resource.kind.clone(),
        m.resource.namespace.clone().unwrap_or_default(),
        m.resource.name.clone(),
    )
}

/// Exceptions the MR adds with the `kgate.dev/ignore` annotation (entries whose code the base
/// object of the same identity does not have, or on a new object): each gets a
/// `gate/exception-added` warning; judged from the base, what they suppressed is reported again.
pub fn exceptions_added(
    head: &[Manifest],
    base: &[Manifest],
    diagnostics: &mut Vec<Diagnostic>,
    from: PoliciesFrom,
) {
    let mut known: BTreeMap<Identity, BTreeSet<String>> = BTreeMap::new();
    for m in base {
        known
            .entry(identity(m))
            .or_default()
            .extend(ignore_entries(m).into_keys());
    }
    let mut added = Vec::new();
    for m in head {
        let before = known.get(&identity(m));
        for (code, reason) in ignore_entries(m) {
            if before.is_some_and(|b| b.contains(&code)) {
                continue;
            }
            if from == PoliciesFrom::Base {
                let marker = format!("({})", exceptions::ANNOTATION);
                for d in diagnostics.iter_mut().filter(|d| {
                    d.suppressed
                        && d.file == m.file.path
                        && d.resource.as_ref() == Some(&m.resource)
                        && d.suppressed_reason
                            .as_deref()
                            .is_some_and(|r| r.ends_with(&marker))
                        && exceptions::code_matches(&code, &d.code)
                }) {
                    d.suppressed = false;
                    d.suppressed_reason = None;
                    // The MR tried to hide it: it is the MR's to answer for.
                    d.pre_existing = false;
                }
            }
            let pointer = format!(
                "/metadata/annotations/{}",
                exceptions::ANNOTATION.replace('~', "~0").replace('/', "~1")
            );
            let help = match from {
                PoliciesFrom::Base => {
                    "exceptions are taken from the base revision, so this one does not apply to \
                     this merge request: the findings it covers are still reported. A reviewer \
                     accepts it by merging; `--policies-from head` applies it"
                }
                PoliciesFrom::Head => {
                    "applied because the MR is judged with its own policies (--policies-from \
                     head): review it before trusting the result"
                }
            };
            let r = &m.resource;
            added.push(
                Diagnostic::warning(
                    "gate/exception-added",
                    format!(
                        "this merge request adds the exception `{code}` ({}) on {} {}{}: {reason}",
                        exceptions::ANNOTATION,
                        r.kind,
                        r.namespace
                            .as_deref()
                            .map(|n| format!("{n}/"))
                            .unwrap_or_default(),
                        r.name
                    ),
                )
                .in_file(m.file.path.clone(), Some(m.span_at(&pointer)))
                .with_resource(Some(m.resource.clone()))
                .with_help(help),
            );
        }
    }
    diagnostics.extend(added);
}
