//! The check pipeline, top to bottom: discover → load → (CRDs → registry) → check → redact.
//! Findings are data; only a problem that stops kgate from doing its job is an `Err`.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::check::schema::{check_manifest, SchemaCheckOptions};
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::{self, DiscoverOptions};
use crate::gather::{load_paths, load_paths_streaming, load_registered};
use crate::load::{self, Loaded, Skipped};
use crate::manifest::Manifest;
use crate::redact;
use crate::report::Summary;
use crate::schema::crd::{schemas_from_crd, CrdSchema};
use crate::schema::registry::{Registry, RegistryOptions};
use crate::source::Files;
use crate::vfs::Vfs;
use crate::yaml::Limits;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub paths: Vec<String>,
    pub discover: DiscoverOptions,
    pub limits: Limits,
    pub registry: RegistryOptions,
    pub schema: SchemaCheckOptions,
    /// Extra CRD files or folders (their objects are schema sources, not checked).
    pub crds: Vec<String>,
    /// Rego policies: the built-in pack and the team's own.
    pub policy: crate::policy::PolicyOptions,
    /// Exceptions and severity overrides applied to every finding.
    pub exceptions: crate::exceptions::ExceptionOptions,
    /// Check only this shard of the files (`--shard I/N`).
    pub shard: Option<crate::shard::Shard>,
    /// Render kustomizations and Flux Kustomizations before checking (None: check raw files).
    pub render: Option<crate::render::RenderOptions>,
    /// `check --changed`: only the objects that concern these display paths (and the units that
    /// read them) are checked; CRDs, policies and Gatekeeper objects still come from everything.
    pub changed: Option<std::collections::BTreeSet<String>>,
    /// Stream the files that hold only ordinary objects (checked and let go one at a time)
    /// instead of holding every object until the end.
    pub stream: bool,
    /// Merge-request mode checks every unit, not only those the change touches (`--all`: the
    /// report lists all of the base's debt).
    pub every_unit: bool,
}

/// Everything a check run found, ready for the reporters.
pub struct Outcome {
    pub files: Files,
    /// The objects the run held: every object, unless files were streamed (their objects are
    /// checked and let go; `resources` lists them all).
    pub manifests: Vec<Manifest>,
    /// Every object checked, in report order: files in discovery order, then rendered objects.
    pub resources: Vec<crate::report::ResourceEntry>,
    pub diagnostics: Vec<Diagnostic>,
    pub skipped: Vec<Skipped>,
    pub summary: Summary,
    /// Byte ranges of secret values per file id, masked in code frames.
    pub masks: BTreeMap<u32, Vec<(usize, usize)>>,
    pub secret_values: BTreeSet<String>,
    /// Which secret texts are scrubbed from which findings (findings added after the run, in
    /// merge-request mode, are scrubbed with it).
    pub scrubber: redact::Scrubber,
    pub kubernetes_version: String,
    /// Display paths of the files each rendered unit reads, by `rendered_for` label (only when
    /// rendering was asked to track them).
    pub unit_reads: BTreeMap<String, BTreeSet<String>>,
    /// The schemas the run used (merge-request mode compares both sides with them).
    pub registry: std::sync::Arc<Registry>,
}

/// Schema sources from CRD objects; a CRD that cannot be read is a finding on it.
pub(crate) fn crd_schemas(
    manifests: &[&Manifest],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<CrdSchema> {
    let mut out = Vec::new();
    for m in manifests {
        match schemas_from_crd(&m.json, &m.file.path) {
            Ok(s) => out.extend(s),
            Err(why) => diagnostics.push(
                Diagnostic::warning(
                    "schema/bad-crd",
                    format!("cannot use this CRD as a schema source: {why}"),
                )
                .in_file(m.file.path.clone(), Some(m.span()))
                .with_resource(Some(m.resource.clone())),
            ),
        }
    }
    out
}

pub fn check(opts: &CheckOptions) -> Result<Outcome, String> {
    let files = Files::new();
    match opts.shard {
        None if opts.stream => {
            let (loaded, n, stream) =
                load_paths_streaming(&files, &opts.paths, &opts.discover, &opts.limits)?;
            check_stage(
                files,
                loaded,
                n,
                &Loaded::default(),
                opts,
                None,
                None,
                stream,
            )
        }
        None => {
            let (l, n) = load_paths(&files, &opts.paths, &opts.discover, &opts.limits)?;
            check_loaded(files, l, n, Loaded::default(), opts)
        }
        Some(shard) => {
            let s = crate::shard::load_sharded(
                &files,
                &opts.paths,
                &opts.discover,
                &opts.limits,
                shard,
            )?;
            let owns = crate::shard::owner(&opts.paths, shard);
            let foreign = s.foreign;
            let foreign_charts = crate::render::helm::coverage::deployed_by_foreign(
                &files,
                &foreign.manifests,
                &s.foreign_files,
                &opts.limits,
            );
            let view = crate::render::integrate::ShardView {
                all_files: &s.all_files,
                own_files: &s.own_files,
                foreign: &foreign.manifests,
                owns: &owns,
                foreign_charts: &foreign_charts,
            };
            let (loaded, count) = (s.loaded, s.file_count);
            let stream = crate::stream::Stream::default();
            check_stage(
                files,
                loaded,
                count,
                &foreign,
                opts,
                None,
                Some(&view),
                stream,
            )
        }
    }
}

/// The check stage proper, for objects loaded from disk or from a git revision. `foreign` holds
/// other shards' objects: their CRDs are schema sources, they are not checked here.
pub fn check_loaded(
    files: Files,
    loaded: Loaded,
    file_count: usize,
    foreign: Loaded,
    opts: &CheckOptions,
) -> Result<Outcome, String> {
    check_loaded_in(files, loaded, file_count, foreign, opts, None)
}

/// [`check_loaded`] for objects loaded from `tree` (a git revision): rendering reads that tree,
/// never the disk. `tree` None: the objects come from disk.
pub fn check_loaded_in(
    files: Files,
    loaded: Loaded,
    file_count: usize,
    foreign: Loaded,
    opts: &CheckOptions,
    tree: Option<&dyn Vfs>,
) -> Result<Outcome, String> {
    let stream = crate::stream::Stream::default();
    check_stage(
        files, loaded, file_count, &foreign, opts, tree, None, stream,
    )
}

/// [`check_loaded_in`] with files left to the stream (see [`crate::gather::load_vfs_streaming`]).
pub fn check_streamed_in(
    files: Files,
    loaded: Loaded,
    file_count: usize,
    opts: &CheckOptions,
    tree: &dyn Vfs,
    stream: crate::stream::Stream,
) -> Result<Outcome, String> {
    check_stage(
        files,
        loaded,
        file_count,
        &Loaded::default(),
        opts,
        Some(tree),
        None,
        stream,
    )
}

/// The check stage, for the whole run or one shard of it (`shard`: what the shard knows of the
/// run, so that it renders only its own units of the run's unit graph). `stream`: files checked
/// one at a time after the held objects, each let go once checked.
#[allow(clippy::too_many_arguments)]
fn check_stage(
    files: Files,
    mut loaded: Loaded,
    file_count: usize,
    foreign: &Loaded,
    opts: &CheckOptions,
    tree: Option<&dyn Vfs>,
    shard: Option<&crate::render::integrate::ShardView>,
    mut stream: crate::stream::Stream,
) -> Result<Outcome, String> {
    // Gatekeeper objects of the policy folders: constraint kinds, and constraints to evaluate.
    let (gk_policy, gk_policy_problems) = crate::gatekeeper::policy_objects(&files, &opts.policy);
    let every_object = !gk_policy.is_empty()
        || loaded
            .manifests
            .iter()
            .any(crate::stream::reads_every_object);
    // A run about a change renders the units that read a changed file. Not when a unit may read
    // what the unit graph does not show: objects by name across units (Gatekeeper, VAP,
    // valuesFrom, substituteFrom), a chart's files (HelmReleases anywhere deploy them), or
    // values files anywhere in the repository (`valuesFiles`, Argo CD Helm sources).
    let scoped = opts.changed.as_ref().is_some_and(|names| {
        !every_object
            && !touches_a_chart(names, tree)
            && !loaded
                .manifests
                .iter()
                .any(crate::stream::reads_repository_files)
    });
    let render_opts = opts.render.as_ref().map(|r| {
        let mut r = r.clone();
        if !scoped {
            r.only = None;
        }
        r
    });
    if let (true, Some(names)) = (scoped, &opts.changed) {
        // The other streamed files concern no change: they are not even read.
        stream.files.retain(|f| names.contains(&f.display));
    }
    if every_object || opts.changed.is_some() {
        // Some check reads every object at once, or the run is about a change: a merge request
        // compares the objects with the base's (scoped, only the changed files are left).
        for f in std::mem::take(&mut stream.files) {
            loaded.extend(load_registered(&files, &f, &opts.discover, &opts.limits));
        }
    }
    let mut diagnostics = std::mem::take(&mut loaded.diagnostics);
    // What the agent applies: rendered objects replace the raw files their roots consume.
    let mut rendered_secrets = BTreeSet::new();
    let mut unit_reads = BTreeMap::new();
    let mut consumed = BTreeSet::new();
    let mut inputs = BTreeMap::new();
    let mut raw_len = loaded.manifests.len();
    if let Some(render_opts) = &render_opts {
        let r = match tree {
            Some(vfs) => {
                crate::render::integrate::render_vfs(&files, vfs, &loaded.manifests, render_opts)
            }
            None => crate::render::integrate::render_paths_in(
                &files,
                &opts.paths,
                &loaded.manifests,
                render_opts,
                shard,
            ),
        };
        skip_inputs(&r.inputs, &mut loaded, &mut diagnostics);
        diagnostics.extend(r.diagnostics);
        loaded
            .manifests
            .retain(|m| !r.consumed.contains(&m.file.path));
        raw_len = loaded.manifests.len();
        add_rendered(&mut loaded, r.manifests);
        // Streamed files are judged later: they are skipped or consumed the same way.
        consumed = r.consumed;
        inputs = r.inputs;
        rendered_secrets = r.secrets.values;
        rendered_secrets.extend(r.secrets.global);
        unit_reads = r.reads;
        let r_charts = r.charts;
        // HelmReleases — raw, or as the kustomizations above rendered them — render their charts.
        // Scoped: the releases of the changed files and of the rendered units (the only ones
        // rendered); the others are still there for what a release reads.
        let (releases, others): (Vec<&Manifest>, Vec<&Manifest>) = match &opts.changed {
            Some(names) if scoped => {
                let (mine, rest): (Vec<&Manifest>, Vec<&Manifest>) = loaded.manifests[..raw_len]
                    .iter()
                    .partition(|m| names.contains(&m.file.path));
                let mine = mine
                    .into_iter()
                    .chain(&loaded.manifests[raw_len..])
                    .filter(|m| crate::render::integrate::renders_a_chart(m))
                    .collect();
                (mine, rest.into_iter().chain(&foreign.manifests).collect())
            }
            _ => (
                loaded.manifests.iter().collect(),
                foreign.manifests.iter().collect(),
            ),
        };
        let h = crate::render::integrate::render_helm_releases(
            &files,
            tree,
            &opts.paths,
            &releases,
            &others,
            render_opts,
        );
        diagnostics.extend(h.diagnostics);
        add_rendered(&mut loaded, h.manifests);
        rendered_secrets.extend(h.secrets.values);
        rendered_secrets.extend(h.secrets.global);
        // Charts of the checked paths that no unit deploys were only skipped: not verified.
        let mut deployed = r_charts;
        deployed.extend(h.charts);
        if let Some(s) = shard {
            deployed.extend(s.foreign_charts.iter().cloned());
        }
        let read = |display: &str| -> Option<String> {
            let bytes = match tree {
                Some(vfs) => {
                    let prefix = vfs.display("");
                    let repo_path = display.strip_prefix(prefix.as_str()).unwrap_or(display);
                    vfs.read(repo_path, opts.discover.max_file_size).ok()?
                }
                None => {
                    discover::read_file(display, Path::new(display), opts.discover.max_file_size)
                        .ok()?
                }
            };
            String::from_utf8(bytes).ok()
        };
        // Scoped, only some units were rendered: which charts nothing deploys is unknown
        // (and no chart file changed).
        if !scoped {
            diagnostics.extend(crate::render::helm::coverage::undeployed_charts(
                &files,
                &loaded.skipped,
                &deployed,
                &read,
            ));
        }
    }
    let mut crd_objects: Vec<&Manifest> = loaded.manifests.iter().filter(|m| m.is_crd()).collect();
    if !foreign.manifests.is_empty() {
        // Other shards' CRDs join in file order, as in an unsharded run (a later CRD for the
        // same kind wins either way).
        crd_objects.extend(foreign.manifests.iter().filter(|m| m.is_crd()));
        crd_objects
            .sort_by(|a, b| (&a.file.path, a.span().start).cmp(&(&b.file.path, b.span().start)));
    }
    let extra_crds = if opts.crds.is_empty() {
        Loaded::default()
    } else {
        let (l, _) = load_paths(&files, &opts.crds, &opts.discover, &opts.limits)?;
        // Problems reading --crd files are the user's to know about.
        diagnostics.extend(l.diagnostics.iter().cloned());
        l
    };
    crd_objects.extend(extra_crds.manifests.iter().filter(|m| m.is_crd()));
    // Gatekeeper makes a CRD for each ConstraintTemplate's constraint kind: the run's templates
    // (its own, other shards', the policy folders') describe their constraints the same way.
    // Real CRDs come after them, so that one for the same kind wins.
    let mut crds = crate::gatekeeper::constraint_crds(
        loaded
            .manifests
            .iter()
            .chain(&foreign.manifests)
            .chain(&gk_policy),
    );
    crds.extend(crd_schemas(&crd_objects, &mut diagnostics));
    if !foreign.manifests.is_empty() {
        // Findings about other shards' CRDs are reported by their own shard.
        let foreign_files: BTreeSet<&str> = foreign
            .manifests
            .iter()
            .map(|m| m.file.path.as_str())
            .collect();
        diagnostics
            .retain(|d| !(d.code == "schema/bad-crd" && foreign_files.contains(d.file.as_str())));
    }
    let registry = std::sync::Arc::new(Registry::new(&opts.registry, crds)?);

    // Streamed objects are not known yet: policies learn the scope of every kind the schemas
    // know.
    let policies = crate::policy::prepare_for_run(
        &opts.policy,
        &files,
        &loaded.manifests,
        &registry,
        !stream.files.is_empty(),
    )?;
    diagnostics.extend(policies.1);
    let policies = policies.0;
    let exceptions = crate::exceptions::Exceptions::new(&opts.exceptions);
    diagnostics.extend(gk_policy_problems);
    if crate::gatekeeper::policy_folders_are_gatekeeper_only(&opts.policy, &gk_policy) {
        diagnostics.retain(|d| d.code != crate::policy::EMPTY_NAMESPACE);
    }
    let (gatekeeper, gk_problems) = crate::gatekeeper::GatekeeperSet::load_with_policies(
        &loaded.manifests,
        &gk_policy,
        &|a, k| registry.is_namespaced(a, k),
    );
    diagnostics.extend(gk_problems);
    let vap = crate::check::vap::VapSet::load(
        gk_policy.iter().chain(&loaded.manifests),
        &loaded.manifests,
        &loaded.manifests,
    );
    // A severity or exception entry whose code this run cannot report does nothing: say so.
    let known = crate::exceptions::known_codes(
        policies
            .codes()
            .into_iter()
            .chain(gatekeeper.codes())
            .chain(vap.codes()),
    );
    // Added after the findings are attributed to files: their spans are in the config file,
    // which is not one of the run's files.
    let unknown_codes = crate::exceptions::unknown_codes(&opts.exceptions.code_uses, &known);

    // `check --changed`: the schemas, policies and Gatekeeper constraints above saw every object;
    // only the objects that concern the changed files are judged.
    let forced = render_opts
        .as_ref()
        .and_then(|r| r.only.as_ref())
        .map(|f| &f.labels);
    let changed_units = opts
        .changed
        .as_ref()
        .map(|names| crate::changed::units_reading(&unit_reads, names, forced));
    let concerns = |m: &Manifest| match (&opts.changed, &changed_units) {
        (Some(names), Some(units)) => crate::changed::concerns_object(m, names, units),
        _ => true,
    };
    // Objects in report order: held files' objects and streamed files' objects by discovery
    // order, then rendered objects (added after the first `raw_len`).
    let (raw, rendered) = loaded.manifests.split_at(raw_len);
    let mut raw_resources: Vec<(usize, crate::report::ResourceEntry)> = raw
        .iter()
        .filter(|m| concerns(m))
        .map(|m| (stream.order_of(&m.file.path), resource_entry(m)))
        .collect();
    let rendered_resources: Vec<crate::report::ResourceEntry> = rendered
        .iter()
        .filter(|m| concerns(m))
        .map(resource_entry)
        .collect();
    if opts.changed.is_some() {
        loaded.manifests.retain(|m| concerns(m));
    }
    // Objects in folders an Argo CD Application or a Flux Kustomization gives a namespace to.
    // Other shards' Applications and Flux Kustomizations count too: the agent applies this
    // shard's objects whichever shard declares it.
    let agent_namespaces = crate::check::agent_namespace::AgentNamespaces::from_manifests(
        loaded.manifests.iter().chain(&foreign.manifests),
    );
    let judges = Judges {
        registry: &registry,
        opts,
        policies: &policies,
        gatekeeper: &gatekeeper,
        vap: &vap,
        agent_namespaces: &agent_namespaces,
        exceptions: &exceptions,
        files: &files,
    };
    let results: Vec<Judged> = loaded
        .manifests
        .par_iter()
        .map_init(|| judges.engines(), |engines, m| judges.judge(engines, m))
        .collect();

    let mut tally = Tally::default();
    for (m, judged) in loaded.manifests.iter().zip(results) {
        tally.add(m, judged, &files, &mut diagnostics);
    }
    tally.scrubber.add_global(rendered_secrets);
    // A file whose YAML does not parse has no objects to find secrets in, yet its error's code
    // frame shows its lines: mask them from the raw text.
    let broken: BTreeSet<u32> = diagnostics
        .iter()
        .filter(|d| d.code.starts_with("yaml/") && d.severity == Severity::Error)
        .filter_map(|d| d.span.map(|s| s.file))
        .collect();
    for file in broken.iter().filter_map(|id| files.get(*id)) {
        tally.mask_broken(&file);
    }
    let mut resource_count = loaded.manifests.len();

    // Streamed files: each is read, checked and let go; its findings keep their code frames.
    let streamed: Vec<StreamedFile> = stream
        .files
        .par_iter()
        .map_init(
            || judges.engines(),
            |engines, f| {
                stream_file(
                    &judges,
                    engines,
                    f,
                    &consumed,
                    &inputs,
                    &concerns,
                    &opts.limits,
                )
            },
        )
        .collect();
    for s in streamed {
        diagnostics.extend(s.diagnostics);
        loaded.skipped.extend(s.skipped);
        resource_count += s.resources.len();
        raw_resources.extend(s.resources.into_iter().map(|r| (s.order, r)));
        tally.invalid += s.tally.invalid;
        tally.unchecked += s.tally.unchecked;
        tally.scrubber.extend(s.tally.scrubber);
        for (id, spans) in s.tally.masks {
            tally.masks.entry(id).or_default().extend(spans);
        }
    }
    raw_resources.sort_by_key(|(order, _)| *order);
    let mut resources: Vec<crate::report::ResourceEntry> =
        raw_resources.into_iter().map(|(_, r)| r).collect();
    resources.extend(rendered_resources);

    let Tally {
        invalid,
        unchecked,
        masks,
        scrubber,
    } = tally;
    let mut diagnostics = crate::render::integrate::attribute_and_merge(&files, diagnostics);
    // Exceptions also cover findings outside objects (file and YAML problems).
    exceptions.apply(&mut diagnostics);
    diagnostics.extend(exceptions.findings.iter().cloned());
    diagnostics.extend(unknown_codes);
    scrubber.scrub_all(&mut diagnostics);
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics.dedup();

    // Skipped entries come from loading, templates and unit inputs: one order, by place (as
    // `kgate merge` orders the shards' entries).
    loaded
        .skipped
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let mut summary = Summary {
        files: file_count,
        resources: resource_count,
        valid: resource_count - invalid - unchecked,
        invalid,
        unchecked,
        skipped: loaded.skipped.len(),
        ..Summary::default()
    };
    summary.count_findings(&diagnostics);
    Ok(Outcome {
        files,
        manifests: loaded.manifests,
        resources,
        diagnostics,
        skipped: loaded.skipped,
        summary,
        masks,
        secret_values: scrubber.all(),
        scrubber,
        kubernetes_version: registry.kubernetes_version().to_string(),
        unit_reads,
        registry,
    })
}

fn resource_entry(m: &Manifest) -> crate::report::ResourceEntry {
    crate::report::ResourceEntry {
        file: m.file.path.clone(),
        line: m.span().line,
        resource: m.resource.clone(),
    }
}

/// Everything that judges one object, shared read-only by the workers.
struct Judges<'a> {
    registry: &'a Registry,
    opts: &'a CheckOptions,
    policies: &'a crate::policy::PolicySet,
    gatekeeper: &'a crate::gatekeeper::GatekeeperSet,
    vap: &'a crate::check::vap::VapSet,
    agent_namespaces: &'a crate::check::agent_namespace::AgentNamespaces,
    exceptions: &'a crate::exceptions::Exceptions,
    files: &'a Files,
}

/// One worker's policy engines (Rego, then Gatekeeper's by template).
type Engines = (regorus::Engine, crate::gatekeeper::Engines);

/// What judging one object found.
struct Judged {
    diagnostics: Vec<Diagnostic>,
    secrets: redact::Secrets,
    /// A schema said whether it is valid.
    checked: bool,
}

impl Judges<'_> {
    fn engines(&self) -> Engines {
        let mut gk = self.gatekeeper.engines();
        for e in gk.values_mut() {
            crate::policy::arm_timer(e, self.opts.policy.time_limit);
        }
        (self.policies.engine(), gk)
    }

    fn judge(&self, (engine, gk_engines): &mut Engines, m: &Manifest) -> Judged {
        let schema = check_manifest(m, self.registry, &self.opts.schema);
        let mut diags = schema.diagnostics;
        diags.extend(crate::check::admission::check(m, self.registry));
        diags.extend(self.policies.evaluate(engine, m));
        if self.agent_namespaces.for_object(m).is_some() {
            // The agent applies it into its destination namespace, as `diff` shows.
            diags.retain(|d| d.code != "policy/namespace");
        }
        diags.extend(self.gatekeeper.evaluate(gk_engines, m));
        let namespaced = self
            .registry
            .is_namespaced(&m.resource.api_version, &m.resource.kind);
        diags.extend(self.vap.evaluate(m, None, namespaced));
        // A chart's field also points at the values line it came from.
        crate::render::helm::provenance::annotate(m, &mut diags);
        let problems = crate::exceptions::apply_annotation(m, &mut diags, &self.opts.exceptions);
        diags.extend(problems);
        self.exceptions.apply(&mut diags);
        Judged {
            diagnostics: diags,
            secrets: redact::find_secrets_in(m, self.files),
            checked: schema.checked,
        }
    }
}

/// Counts and secret bookkeeping of judged objects.
#[derive(Default)]
struct Tally {
    invalid: usize,
    unchecked: usize,
    /// Byte ranges of secret values per file id, masked in code frames.
    masks: BTreeMap<u32, Vec<(usize, usize)>>,
    scrubber: redact::Scrubber,
}

impl Tally {
    fn add(&mut self, m: &Manifest, judged: Judged, files: &Files, out: &mut Vec<Diagnostic>) {
        let Judged {
            diagnostics: diags,
            secrets,
            checked,
        } = judged;
        if diags
            .iter()
            .any(|d| d.severity == Severity::Error && !d.suppressed)
        {
            self.invalid += 1;
        } else if !checked {
            // No error, but no schema either: nothing says it is valid.
            self.unchecked += 1;
        }
        out.extend(diags);
        // An object's secret texts are scrubbed from the findings in the files its fields
        // come from and about the object itself: a weak value (`repository`) must not hide the
        // same word in other files' paths and messages.
        let mut scope: BTreeSet<String> = BTreeSet::from([m.file.path.clone()]);
        for (file, start, end) in &secrets.spans {
            self.masks.entry(*file).or_default().push((*start, *end));
            if *file != m.file.id {
                scope.insert(files.path(*file));
            }
        }
        let scope: Vec<String> = scope.into_iter().collect();
        self.scrubber.add(&secrets, &scope, Some(&m.resource));
    }

    /// Masks the secret-looking values of a file whose YAML does not parse.
    fn mask_broken(&mut self, file: &crate::source::SourceFile) {
        let secrets = redact::text_secrets(file);
        for (id, start, end) in &secrets.spans {
            self.masks.entry(*id).or_default().push((*start, *end));
        }
        self.scrubber
            .add(&secrets, std::slice::from_ref(&file.path), None);
    }
}

/// What a streamed file left behind: its findings (with their code frames), skipped entries,
/// objects and counts.
struct StreamedFile {
    order: usize,
    diagnostics: Vec<Diagnostic>,
    skipped: Vec<Skipped>,
    resources: Vec<crate::report::ResourceEntry>,
    tally: Tally,
}

/// Reads, checks and lets go of one streamed file. A file a unit consumes or reads as an input
/// is treated as a held one would be: its objects are not checked on their own.
fn stream_file(
    judges: &Judges<'_>,
    engines: &mut Engines,
    f: &crate::stream::StreamFile,
    consumed: &BTreeSet<String>,
    inputs: &BTreeMap<String, (String, bool)>,
    concerns: &(dyn Fn(&Manifest) -> bool + Sync),
    limits: &Limits,
) -> StreamedFile {
    let files = judges.files;
    // A file a unit read (rendering filled it) stays: its rendered objects' frames show it.
    let keep_text = !files.is_pending(f.id);
    let mut loaded = load_registered(files, f, &judges.opts.discover, limits);
    let mut diagnostics = std::mem::take(&mut loaded.diagnostics);
    if let Some((_, yaml)) = inputs.get(&f.display) {
        // As `skip_inputs` does for a held file (its skipped entry is already the run's).
        loaded.manifests.clear();
        loaded.skipped.clear();
        diagnostics
            .retain(|d| d.code.starts_with("file/") || (*yaml && d.code.starts_with("yaml/")));
    } else if consumed.contains(&f.display) {
        loaded.manifests.clear();
    }
    loaded.manifests.retain(|m| concerns(m));
    let mut tally = Tally::default();
    let mut resources = Vec::with_capacity(loaded.manifests.len());
    for m in &loaded.manifests {
        let judged = judges.judge(engines, m);
        tally.add(m, judged, files, &mut diagnostics);
        resources.push(resource_entry(m));
    }
    drop(loaded.manifests);
    let file = (!files.is_pending(f.id))
        .then(|| files.get(f.id))
        .flatten()
        .filter(|file| !file.text.is_empty());
    if let Some(file) = file {
        // A file whose YAML does not parse: its frames show raw lines, masked from the text.
        if diagnostics.iter().any(|d| {
            d.code.starts_with("yaml/")
                && d.severity == Severity::Error
                && d.span.is_some_and(|s| s.file == file.id)
        }) {
            tally.mask_broken(&file);
        }
        if !keep_text {
            // The findings keep the masked lines of their frames; the file's text goes.
            let spans = tally.masks.remove(&file.id).unwrap_or_default();
            let masked = redact::mask(&file.text, &spans);
            for d in diagnostics.iter_mut() {
                if let Some(span) = d.span.filter(|s| s.file == file.id) {
                    d.snippet = crate::diagnostic::Snippet::around(&masked, span).map(Arc::new);
                }
            }
            files.release(file.id);
        }
    }
    StreamedFile {
        order: f.order,
        diagnostics,
        skipped: loaded.skipped,
        resources,
        tally,
    }
}

/// Whether a changed file (display path) is inside a Helm chart (a folder above it holds a
/// `Chart.yaml`), in the tree of the run or on disk.
fn touches_a_chart(names: &BTreeSet<String>, tree: Option<&dyn Vfs>) -> bool {
    let is_file = |display: &str| match tree {
        Some(vfs) => {
            let prefix = vfs.display("");
            let path = display.strip_prefix(prefix.as_str()).unwrap_or(display);
            vfs.is_file(path)
        }
        None => Path::new(display).is_file(),
    };
    !crate::units::charts_of(names.iter().map(String::as_str), &is_file).is_empty()
}

/// Adds rendered objects to the run's objects. kustomize leaves local-config objects out of its
/// output; tool configs in a build are not applied either: those are skipped, saying why.
fn add_rendered(loaded: &mut Loaded, rendered: Vec<Manifest>) {
    for m in rendered {
        match load::not_applied(&m.resource.api_version, &m.resource.kind, &m.node) {
            Some(reason) => loaded.skipped.push(Skipped {
                file: m.file.path.clone(),
                line: m.node.span.line,
                reason: reason.to_string(),
            }),
            None => loaded.manifests.push(m),
        }
    }
}

/// Files that are only inputs of a unit (patches, generator files, …) are not checked as
/// objects: their raw objects and loader findings go (a YAML syntax error stays when kustomize
/// parses the file too), and each is one skipped entry saying which unit reads it.
fn skip_inputs(
    inputs: &BTreeMap<String, (String, bool)>,
    loaded: &mut Loaded,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if inputs.is_empty() {
        return;
    }
    loaded
        .manifests
        .retain(|m| !inputs.contains_key(&m.file.path));
    loaded.skipped.retain(|s| !inputs.contains_key(&s.file));
    diagnostics.retain(|d| match inputs.get(&d.file) {
        Some((_, yaml)) => d.code.starts_with("file/") || (*yaml && d.code.starts_with("yaml/")),
        None => true,
    });
    for (file, (reason, _)) in inputs {
        loaded.skipped.push(Skipped {
            file: file.clone(),
            line: 1,
            reason: reason.clone(),
        });
    }
}
