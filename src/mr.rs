//! Merge-request mode: the two sides of an MR (base revision and head revision or working tree),
//! checking the head while marking findings that already exist on the base as pre-existing, and
//! noticing when the MR changes the gate itself (policies, exceptions, `.kgate.yaml`).
//!
//! Policies are judged from the base by default, so an MR cannot switch off the gate that judges
//! it: [`gate_config`] and [`policy_sources`] read `.kgate.yaml`, policy folders and data from
//! the chosen revision's tree (never the disk). The base is checked first; only the
//! `kgate.dev/ignore` entries its rendered objects carry (per unit and object) apply to the
//! head, so an exception the MR adds by any route suppresses nothing ([`exceptions_added`]
//! names it). A finding is pre-existing only when the base has it for the same unit
//! ([`finding_units`]), whatever line it is on. [`gate_files`] detects gate changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::config::{self, Config};
use crate::diagnostic::{Diagnostic, ResourceRef};
use crate::exceptions;
use crate::git::{self, GitTreeFs, Repo, Revision};
use crate::manifest::{api_group, Manifest};
use crate::pipeline::{self, CheckOptions, Outcome};
use crate::plan;
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
            Err(e) => return Err(e.into()),
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
/// when the MR changes the gate's own files. `locations` names the gate's files (the config and
/// policy folders of the run besides the usual places).
pub fn check(
    opts: &CheckOptions,
    sides: &Sides,
    policies_from: PoliciesFrom,
    locations: &GateLocations,
) -> Result<MrOutcome, String> {
    let paths = sides.repo_paths(&opts.paths)?;
    let base_gate = gate_files(&sides.base_fs, locations);
    let head_gate = gate_files(sides.head_fs.as_ref(), locations);
    // A change to the gate can change any finding: then every unit is checked.
    let changed: Option<BTreeSet<String>> =
        if opts.every_unit || !gate_changes(&base_gate, &head_gate).is_empty() {
            None
        } else {
            let changed = sides.repo.changed_paths(&sides.base, sides.head.as_ref())?;
            Some(changed.into_iter().collect())
        };
    let scoped = match &changed {
        Some(changed) => check_touched_units(opts, sides, &paths, changed, policies_from)?,
        None => None,
    };
    let (base_outcome, mut outcome, head_opts, base_exceptions) = match scoped {
        Some(both) => both,
        None => check_every_unit(opts, sides, &paths, policies_from)?,
    };
    // Changes the API server refuses on update, judged against the base object.
    let mut refused = crate::check::admission::changes(
        &outcome.manifests,
        &base_outcome.manifests,
        &outcome.registry,
    );
    // ValidatingAdmissionPolicies judge like Rego policies: from the side `--policies-from`
    // names, and an object the base has is an UPDATE of it.
    let policy_side = match policies_from {
        PoliciesFrom::Base => &base_outcome.manifests,
        PoliciesFrom::Head => &outcome.manifests,
    };
    outcome.diagnostics.retain(|d| !d.code.starts_with("vap/"));
    refused.extend(crate::check::vap::mr_findings(
        &outcome,
        &base_outcome.manifests,
        policy_side,
        &head_opts,
    ));
    crate::check::admission::finish(&mut refused, &outcome, &head_opts);
    outcome.diagnostics.extend(refused);
    mark_pre_existing(&mut outcome.diagnostics, &base_outcome.diagnostics);
    let added = exceptions_added(
        &outcome.manifests,
        &base_exceptions,
        &outcome.files,
        policies_from,
    );
    outcome.diagnostics.extend(added);

    if let Some(d) = policy_changed(
        &base_gate,
        &head_gate,
        policies_from,
        sides.head_fs.as_ref(),
    ) {
        outcome.diagnostics.push(d);
    }
    // What the merge request does to the cluster, judged (`plan/*`, and the team's
    // `plan-policy/*` rules from the same policy sources as the check).
    let helm = opts
        .render
        .as_ref()
        .map(|r| r.helm.clone())
        .unwrap_or_default();
    // The plan reads the texts the check already read (each side's files), not the disk or
    // git again.
    let read_sides = ReadSides {
        base: Some(&base_outcome.files),
        head: Some(&outcome.files),
    };
    let (_, verdict) = plan_and_judge(
        sides,
        read_sides,
        &opts.discover,
        &opts.limits,
        &helm,
        &paths,
        &opts.exceptions,
        policies_from == PoliciesFrom::Base,
        opts.policy
            .sources
            .as_ref()
            .map(|s| (s, opts.policy.time_limit)),
        changed.as_ref(),
    )?;
    join_verdict(&mut outcome, verdict);
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

/// Both sides checked, the base's exceptions (the only ones the head may use) and the options
/// the head was checked with.
type CheckedSides = (
    Outcome,
    Outcome,
    CheckOptions,
    std::sync::Arc<BTreeSet<exceptions::AnnotationKey>>,
);

/// The head's options: with the base's `kgate.dev/ignore` entries as the only ones allowed
/// when the base judges.
fn head_options(
    opts: &CheckOptions,
    base: &Outcome,
    policies_from: PoliciesFrom,
) -> (
    CheckOptions,
    std::sync::Arc<BTreeSet<exceptions::AnnotationKey>>,
) {
    let base_exceptions: BTreeSet<exceptions::AnnotationKey> = base
        .manifests
        .iter()
        .flat_map(exceptions::annotation_keys)
        .collect();
    let base_exceptions = std::sync::Arc::new(base_exceptions);
    let mut head_opts = opts.clone();
    if policies_from == PoliciesFrom::Base {
        head_opts.exceptions.annotation_allowed = Some(base_exceptions.clone());
    }
    (head_opts, base_exceptions)
}

/// Both sides, every unit of each (`--all`, or a change that can reach any unit).
fn check_every_unit(
    opts: &CheckOptions,
    sides: &Sides,
    paths: &[String],
    policies_from: PoliciesFrom,
) -> Result<CheckedSides, String> {
    // The base first: its rendered objects' exceptions are the only ones the head may use.
    let base_files = Files::new();
    let (base_loaded, base_count) = crate::gather::load_vfs(
        &base_files,
        &sides.base_fs,
        paths,
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
    let (head_opts, base_exceptions) = head_options(opts, &base_outcome, policies_from);
    let head_files = Files::new();
    let ignored = |p: &str| sides.head_ignored(p);
    let (loaded, count) = crate::gather::load_vfs(
        &head_files,
        sides.head_fs.as_ref(),
        paths,
        &opts.discover,
        &opts.limits,
        &ignored,
        false,
    )?;
    // Both sides are rendered the same way, each from its own tree.
    let outcome = pipeline::check_loaded_in(
        head_files,
        loaded,
        count,
        crate::load::Loaded::default(),
        &head_opts,
        Some(sides.head_fs.as_ref()),
    )?;
    Ok((base_outcome, outcome, head_opts, base_exceptions))
}

/// Both sides, only the units the change touches: those that read a changed file on either
/// side, and the changed files themselves; findings elsewhere are the same on both sides, so
/// they are pre-existing by construction and not looked for. Files identical on both sides are
/// read once. None: the change can reach any unit (see [`crate::stream::reaches_every_unit`], and objects
/// that read others by name, [`crate::stream::reads_every_object`]).
fn check_touched_units(
    opts: &CheckOptions,
    sides: &Sides,
    paths: &[String],
    changed: &BTreeSet<String>,
    policies_from: PoliciesFrom,
) -> Result<Option<CheckedSides>, String> {
    let head_fs = sides.head_fs.as_ref();
    let head_files = Files::new();
    let ignored = |p: &str| sides.head_ignored(p);
    let (head_loaded, head_count, head_stream) = crate::gather::load_vfs_streaming(
        &head_files,
        head_fs,
        paths,
        &opts.discover,
        &opts.limits,
        &ignored,
        false,
        &|_| None,
    )?;
    let same_as = |p: &str| {
        (!changed.contains(p))
            .then(|| head_files.by_path(&head_fs.display(p)))
            .flatten()
            .map(|f| f.text.clone())
    };
    let base_files = Files::new();
    let (base_loaded, base_count, base_stream) = crate::gather::load_vfs_streaming(
        &base_files,
        &sides.base_fs,
        paths,
        &opts.discover,
        &opts.limits,
        &|_| false,
        true,
        &same_as,
    )?;
    let sides_of = [
        (&base_files, &sides.base_fs as &dyn Vfs, &base_loaded),
        (&head_files, head_fs, &head_loaded),
    ];
    for (files, vfs, loaded) in sides_of {
        let text_reaches = changed.iter().any(|p| {
            files
                .by_path(&vfs.display(p))
                .is_some_and(|f| crate::stream::reaches_every_unit(&f.text))
        });
        if text_reaches
            || loaded.manifests.iter().any(|m| {
                crate::stream::reads_every_object(m) || crate::stream::reads_repository_files(m)
            })
        {
            return Ok(None);
        }
    }
    let names: BTreeSet<String> = changed.iter().map(|p| head_fs.display(p)).collect();
    let mut scoped = opts.clone();
    if let Some(render) = &mut scoped.render {
        // The units either side selects are rendered on both: a unit reading a file the MR
        // adds reads nothing changed at the base.
        let mut labels = BTreeSet::new();
        for (files, vfs, loaded) in sides_of {
            labels.extend(crate::render::integrate::units_reading(
                files,
                vfs,
                &loaded.manifests,
                render,
                &names,
            ));
        }
        render.track_reads = true;
        render.only = Some(std::sync::Arc::new(crate::render::UnitFilter {
            reading: names.clone(),
            labels,
        }));
    }
    scoped.changed = Some(names.clone());
    let labels = scoped
        .render
        .as_ref()
        .and_then(|r| r.only.as_ref())
        .map(|f| f.labels.clone());
    let mut base_outcome = pipeline::check_streamed_in(
        base_files,
        base_loaded,
        base_count,
        &scoped,
        &sides.base_fs,
        base_stream,
    )?;
    crate::changed::keep_concerning(&mut base_outcome, &names, labels.as_ref());
    let (head_opts, base_exceptions) = head_options(&scoped, &base_outcome, policies_from);
    let mut outcome = pipeline::check_streamed_in(
        head_files,
        head_loaded,
        head_count,
        &head_opts,
        head_fs,
        head_stream,
    )?;
    crate::changed::keep_concerning(&mut outcome, &names, labels.as_ref());
    Ok(Some((base_outcome, outcome, head_opts, base_exceptions)))
}

/// The plan of the merge request (units under `scope`) and the plan checks' verdict on it.
/// `rules` are the severity overrides and exceptions of the judging revision; `from_base`: the
/// MR is judged by the base, so only `kgate.dev/ignore` entries the base has apply.
#[allow(clippy::too_many_arguments)]
pub fn plan_and_judge(
    sides: &Sides,
    read: ReadSides<'_>,
    discover: &crate::discover::DiscoverOptions,
    limits: &crate::yaml::Limits,
    helm: &crate::render::helm::release::HelmOptions,
    scope: &[String],
    rules: &exceptions::ExceptionOptions,
    from_base: bool,
    plan_policies: Option<(&PolicySources, Option<std::time::Duration>)>,
    changed: Option<&BTreeSet<String>>,
) -> Result<(plan::Plan, plan::guards::Verdict), String> {
    let files = Files::new();
    let ignored = |p: &str| sides.head_ignored(p);
    let head_fs = Known::over(sides.head_fs.as_ref(), read.head);
    let base_fs = Known::over(&sides.base_fs, read.base);
    let load = |changed: Option<&BTreeSet<String>>| -> Result<_, String> {
        let (head, base) = match changed {
            // A change's plan parses what it looks objects up in, and the units it builds.
            Some(changed) => {
                let head = plan::Revision::load_for_change(
                    &files, &head_fs, discover, limits, &ignored, None, changed,
                )?;
                let base = plan::Revision::load_for_change(
                    &files,
                    &base_fs,
                    discover,
                    limits,
                    &|_| false,
                    Some(&head),
                    changed,
                )?;
                (head, base)
            }
            None => {
                let head =
                    plan::Revision::load(&files, &head_fs, discover, limits, &ignored, None)?;
                let base = plan::Revision::load(
                    &files,
                    &base_fs,
                    discover,
                    limits,
                    &|_| false,
                    Some(&head),
                )?;
                (head, base)
            }
        };
        Ok((head, base))
    };
    let (mut head, mut base) = load(changed)?;
    let reads_others = |rev: &plan::Revision<'_>| {
        rev.objects().any(|(_, m)| {
            crate::stream::reads_every_object(m) || crate::stream::reads_repository_files(m)
        })
    };
    if changed.is_some()
        && ((!head.declares_units() && !base.declares_units())
            || reads_others(&head)
            || reads_others(&base))
    {
        // Without agents every top-level folder is a unit, made of its objects; an object that
        // reads others by name (substituteFrom, valuesFrom) may read any file: all are parsed.
        (head, base) = load(None)?;
    }
    // HelmReleases' charts are rendered as in `kgate diff` (chart cache, offline).
    head.helm = helm.clone();
    base.helm = helm.clone();
    let planned = plan::plan_units(
        &base,
        &head,
        &sides.base.name,
        &sides.head_name(),
        scope,
        changed,
    );
    let mut verdict = plan::guards::judge(&planned, &base, &head, rules, from_base);
    // Plan packages are rare: the diff and the commit count are only computed for them.
    let plan_policies = plan_policies.filter(|(sources, _)| {
        sources
            .modules
            .iter()
            .any(|(_, text)| text.contains("package plan"))
    });
    if let Some((sources, time_limit)) = plan_policies {
        let changed = sides.repo.changed_paths(&sides.base, sides.head.as_ref())?;
        let commits = sides.repo.commits_between(&sides.base, sides.head.as_ref());
        let input = plan::policy::input(&planned.plan, &changed, commits);
        let mut found = plan::policy::evaluate(sources, time_limit, &input, &planned);
        exceptions::Exceptions::new(rules).apply(&mut found);
        verdict.diagnostics.extend(found);
    }
    Ok((planned.plan, verdict))
}

/// Texts of each side a check already read (by display path), for the plan to reuse.
#[derive(Clone, Copy, Default)]
pub struct ReadSides<'a> {
    pub base: Option<&'a Files>,
    pub head: Option<&'a Files>,
}

/// A side's file view that serves the texts already read from `known` (the same bytes
/// decoded: reading them again gives the same text), and asks the view for the rest.
struct Known<'a> {
    inner: &'a dyn Vfs,
    known: Option<&'a Files>,
}

impl<'a> Known<'a> {
    fn over(inner: &'a dyn Vfs, known: Option<&'a Files>) -> Known<'a> {
        Known { inner, known }
    }
}

impl Vfs for Known<'_> {
    fn read(&self, path: &str, max: u64) -> std::io::Result<Vec<u8>> {
        let known = self.known.and_then(|files| {
            let f = files.by_path(&self.inner.display(path))?;
            // A file let go after its check is empty there: read it again.
            let usable = !files.is_pending(f.id) && !f.text.is_empty();
            (usable && f.text.len() as u64 <= max).then_some(f)
        });
        match known {
            Some(f) => Ok(f.text.as_bytes().to_vec()),
            None => self.inner.read(path, max),
        }
    }
    fn is_dir(&self, path: &str) -> bool {
        self.inner.is_dir(path)
    }
    fn is_file(&self, path: &str) -> bool {
        self.inner.is_file(path)
    }
    fn list_dir(&self, path: &str) -> std::io::Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn display(&self, path: &str) -> String {
        self.inner.display(path)
    }
    fn content_id(&self, path: &str) -> Option<String> {
        self.inner.content_id(path)
    }
}

/// Adds the plan checks' findings to a check's outcome, with the base files they point into
/// (secret values masked in their code frames like every file's).
fn join_verdict(outcome: &mut Outcome, verdict: plan::guards::Verdict) {
    for f in verdict.base_files {
        if outcome.files.by_path(&f.path).is_some() {
            continue;
        }
        let added = outcome.files.add(f.path.clone(), f.text.clone());
        for (id, start, end) in crate::redact::text_secrets(&added).spans {
            outcome.masks.entry(id).or_default().push((start, end));
        }
    }
    outcome.diagnostics.extend(verdict.diagnostics);
}

/// What makes two findings "the same" across revisions: code, resource identity (or the file,
/// for findings about a file), JSON path and message — found for the same unit. Positions are
/// left out on purpose: an MR that moves a broken object inside its file, or edits elsewhere in
/// the file, has not added the problem.
type FindingKey = (
    String,
    (String, String, String, String),
    String,
    String,
    String,
);

/// The units a finding was found for: the kustomization roots and Flux Kustomizations it was
/// rendered for (see `render::integrate::attribute_and_merge`, which joins them with `, `), else
/// the file itself (a loose manifest is its own unit). A finding copied into another cluster's
/// folder or reached through a new overlay has a unit the base lacks.
pub fn finding_units(d: &Diagnostic) -> Vec<String> {
    match d.rendered_for.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => r.split(", ").map(str::to_string).collect(),
        None => vec![format!("file:{}", d.file)],
    }
}

fn finding_keys(d: &Diagnostic) -> Vec<FindingKey> {
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
    finding_units(d)
        .into_iter()
        .map(|unit| {
            (
                d.code.clone(),
                who.clone(),
                d.path.clone().unwrap_or_default(),
                d.message.clone(),
                unit,
            )
        })
        .collect()
}

/// Marks every head finding that the base has for each of the finding's units.
pub fn mark_pre_existing(head: &mut [Diagnostic], base: &[Diagnostic]) {
    let known: BTreeSet<FindingKey> = base.iter().flat_map(finding_keys).collect();
    for d in head {
        if finding_keys(d).iter().all(|k| known.contains(k)) {
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

impl GateLocations {
    /// The usual places plus the run's own: its config file and policy and data paths
    /// (repository paths), wherever they are.
    pub fn with(config: Option<&str>, paths: &[String]) -> GateLocations {
        let mut loc = GateLocations::default();
        if let Some(c) = config {
            if !loc.config_files.iter().any(|f| f == c) {
                loc.config_files.push(c.to_string());
            }
        }
        for p in paths {
            let p = p.trim_matches('/').to_string();
            if !loc.folders.contains(&p) {
                loc.folders.push(p);
            }
        }
        loc
    }
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
    if depth == 0 && vfs.is_file(dir) {
        // A policy or data path that names one file.
        out.files.insert(
            dir.to_string(),
            vfs.read(dir, MAX_GATE_FILE).unwrap_or_default(),
        );
        return;
    }
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

/// The baseline of a revision: `explicit` (a repository path, which must exist), else the
/// default file next to the config (`config`, a repository path) or at the repository root.
pub fn gate_baseline(
    vfs: &dyn Vfs,
    explicit: Option<&str>,
    config: Option<&str>,
) -> Result<Option<crate::baseline::Baseline>, String> {
    let path = match explicit {
        Some(p) => p.to_string(),
        None => match config.and_then(|c| c.rsplit_once('/')) {
            Some((dir, _)) => format!("{dir}/{}", crate::baseline::FILE_NAME),
            None => crate::baseline::FILE_NAME.to_string(),
        },
    };
    if explicit.is_none() && !present(vfs, &path) {
        return Ok(None);
    }
    let display = vfs.display(&path);
    let bytes = vfs
        .read(&path, crate::baseline::MAX_BASELINE_FILE)
        .map_err(|e| format!("cannot read baseline {display} at this revision: {e}"))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("baseline {display} is not UTF-8 text"))?;
    Ok(Some(crate::baseline::Baseline::parse(&display, &text)?))
}

/// The revision's config and its repository path: `explicit` (a repository path), else the
/// nearest `.kgate.yaml`/`.kgate.yml` from `start` (the first checked path) up to the
/// repository root — the same config a run without `--base` finds on disk. Paths inside are
/// resolved against the config's folder into repository paths (`../policy` from `team/` is
/// `policy`), so policy folders are read from the same revision; one that leaves the
/// repository is an error.
pub fn gate_config(
    vfs: &dyn Vfs,
    explicit: Option<&str>,
    start: Option<&str>,
) -> Result<(Config, Option<String>), String> {
    let candidates: Vec<String> = match explicit {
        Some(p) => vec![p.to_string()],
        None => {
            let start = start.unwrap_or("").trim_matches('/');
            let mut dir = if vfs.is_file(start) {
                start
                    .rsplit_once('/')
                    .map(|(d, _)| d)
                    .unwrap_or("")
                    .to_string()
            } else {
                start.to_string()
            };
            let mut out = Vec::new();
            loop {
                for name in GateLocations::default().config_files {
                    out.push(if dir.is_empty() {
                        name
                    } else {
                        format!("{dir}/{name}")
                    });
                }
                if dir.is_empty() {
                    break;
                }
                dir = dir
                    .rsplit_once('/')
                    .map(|(d, _)| d)
                    .unwrap_or("")
                    .to_string();
            }
            out
        }
    };
    for path in &candidates {
        if !present(vfs, path) {
            continue;
        }
        let display = vfs.display(path);
        let bytes = vfs
            .read(path, MAX_GATE_FILE)
            .map_err(|e| format!("cannot read config {display}: {e}"))?;
        let text =
            String::from_utf8(bytes).map_err(|_| format!("config {display} is not UTF-8 text"))?;
        let folder = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let mut cfg = config::parse(&display, &text, Path::new(""))?;
        for (what, list) in [("policies", &mut cfg.policies), ("data", &mut cfg.data)] {
            for p in list.iter_mut() {
                *p = crate::vfs::normalize(folder, p).ok_or_else(|| {
                    format!("`{what}` path {p} in {display} leaves the repository")
                })?;
            }
        }
        if let Some(b) = &mut cfg.baseline {
            *b = crate::vfs::normalize(folder, b)
                .ok_or_else(|| format!("`baseline` path {b} in {display} leaves the repository"))?;
        }
        cfg.path = Some(display);
        return Ok((cfg, Some(path.clone())));
    }
    match explicit {
        Some(p) => Err(format!("config {p} does not exist at this revision")),
        None => Ok((Config::default(), None)),
    }
}

/// Whether the revision has an entry at `path` of any kind (a file, a folder, a link that leads
/// nowhere or out of the repository): a config there that cannot be read is an error, not
/// absent.
fn present(vfs: &dyn Vfs, path: &str) -> bool {
    if vfs.is_file(path) {
        return true;
    }
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    vfs.list_dir(dir)
        .is_ok_and(|names| names.iter().any(|n| n == name))
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
                walk_vfs(vfs, path, exts, &mut found, 0)?;
            } else if present(vfs, path) {
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

/// The files under a policy or data folder of a revision. A folder that cannot be listed, or
/// an entry that is neither a file nor a folder of the revision (a link out of the repository,
/// a submodule), is an error: a policy folder is never read in part without saying so.
fn walk_vfs(
    vfs: &dyn Vfs,
    dir: &str,
    exts: &[&str],
    out: &mut Vec<String>,
    depth: usize,
) -> Result<(), String> {
    if depth > 32 {
        return Err(format!(
            "policy folder {} is nested too deep (a link loop?)",
            vfs.display(dir)
        ));
    }
    let names = vfs
        .list_dir(dir)
        .map_err(|e| format!("cannot read policy folder {}: {e}", vfs.display(dir)))?;
    for name in names {
        if name.starts_with('.') {
            continue;
        }
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        if vfs.is_dir(&path) {
            walk_vfs(vfs, &path, exts, out, depth + 1)?;
        } else if exts.iter().any(|e| name.ends_with(&format!(".{e}"))) {
            out.push(path);
        } else if !vfs.is_file(&path) {
            return Err(format!(
                "cannot read {} in a policy folder: not a file or folder of this revision (a \
                 symbolic link out of the repository, or a submodule)",
                vfs.display(&path)
            ));
        }
    }
    Ok(())
}

/// Where an added exception is reported: file, line, column, code and object.
type ExceptionPlace = (String, u32, u32, String, ResourceRef);

/// Exceptions the MR adds with the `kgate.dev/ignore` annotation, however the rendered object
/// came to carry it (written on the object, a patch, an overlay, Flux `commonMetadata`, a
/// component, generator options): every entry the base object of the same unit and identity
/// lacks — a new code, a wider glob, the same exception on a new object or in a new unit. Judged
/// from the base they were never applied (see `ExceptionOptions::annotation_allowed`), so the
/// findings they would hide are reported; each gets a `gate/exception-added` error naming it.
/// Judged from the head they applied, and the finding is a warning for the reviewer.
pub fn exceptions_added(
    head: &[Manifest],
    base: &BTreeSet<exceptions::AnnotationKey>,
    files: &Files,
    from: PoliciesFrom,
) -> Vec<Diagnostic> {
    let pointer = format!(
        "/metadata/annotations/{}",
        exceptions::ANNOTATION.replace('~', "~0").replace('/', "~1")
    );
    // The same exception reached through several units is one finding naming them all.
    let mut found: BTreeMap<ExceptionPlace, (Diagnostic, BTreeSet<String>)> = BTreeMap::new();
    for m in head {
        let entries = exceptions::annotation_entries(m);
        for key in exceptions::annotation_keys(m) {
            if base.contains(&key) {
                continue;
            }
            let code = key.5.clone();
            let reason = entries.get(&code).cloned().unwrap_or_default();
            let span = m.span_at(&pointer);
            // The annotation may come from a patch, an overlay or a Flux Kustomization.
            let file = match files.path(span.file) {
                p if p.is_empty() => m.file.path.clone(),
                p => p,
            };
            let slot = (
                file.clone(),
                span.line,
                span.col,
                code.clone(),
                m.resource.clone(),
            );
            let unit = key.0.clone();
            if let Some((_, units)) = found.get_mut(&slot) {
                units.insert(unit);
                continue;
            }
            let r = &m.resource;
            let message = format!(
                "this merge request adds the exception `{code}` ({}) on {} {}{}: {reason}",
                exceptions::ANNOTATION,
                r.kind,
                r.namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                r.name
            );
            let d = match from {
                PoliciesFrom::Base => Diagnostic::error("gate/exception-added", message).with_help(
                    "exceptions are taken from the base revision, so one the merge request adds \
                     (on the object, through a patch, an overlay, Flux commonMetadata, a \
                     component or a generator) does not apply: the findings it covers are still \
                     reported. A reviewer accepts it by merging; `--policies-from head` applies it",
                ),
                PoliciesFrom::Head => Diagnostic::warning("gate/exception-added", message)
                    .with_help(
                        "applied because the MR is judged with its own policies (--policies-from \
                         head): review it before trusting the result",
                    ),
            }
            .in_file(file, Some(span))
            .with_resource(Some(m.resource.clone()));
            found.insert(slot, (d, BTreeSet::from([unit])));
        }
    }
    found
        .into_values()
        .map(|(mut d, units)| {
            let labels: Vec<String> = units
                .into_iter()
                .filter(|u| !u.starts_with("file:"))
                .collect();
            if !labels.is_empty() {
                d.rendered_for = Some(labels.join(", "));
            }
            d
        })
        .collect()
}
