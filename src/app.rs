//! The application layer: the CLI commands (`check`, `diff`, `baseline`, `catalog`, `verify`,
//! `render`, …) — reading configuration, choosing options, running the pipeline and writing
//! the reports. Everything below it is a library that knows nothing of the command line.

use crate::output::{output_plan, write_stdout};
use crate::report::{fail_level, fails};
use crate::*;

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::Parser;

use crate::cli::{CheckArgs, Cli, ColorChoice, Command, DiffArgs, PlanFormat};
use crate::diagnostic::Severity;

/// Runs kgate with command-line arguments and returns the exit status.
pub fn main_with_args<I: IntoIterator<Item = OsString>>(args: I) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                EXIT_FAILURE
            } else {
                EXIT_PASS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kgate: error: {e}");
            EXIT_FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Check(mut args) => {
            // CI templates declare their variables empty (`KGATE_KUBERNETES_VERSION: ""`): an
            // empty value is "not set", never a version.
            args.kubernetes_version = args.kubernetes_version.filter(|v| !v.trim().is_empty());
            changed::resolve_args(&mut args)?;
            run_check(&args)
        }
        Command::Verify(args) => run_verify(&args),
        Command::Diff(args) => run_diff(&args),
        Command::Render(args) => run_render(&args),
        Command::Catalog(args) => run_catalog(&args),
        Command::Rules => {
            let mut out = String::new();
            for r in rules::RULES {
                out.push_str(&format!("{:<28} {:<8} {}\n", r.code, r.severity, r.summary));
            }
            for r in policy::builtin::rules() {
                out.push_str(&format!("{:<28} {:<8} {}\n", r.code, r.severity, r.summary));
            }
            write_stdout(&out)?;
            Ok(EXIT_PASS)
        }
        Command::Explain { code } => {
            // A finding code of kgate's registry, else a rule of the built-in policy pack.
            let page = |code: &str, severity, summary: &str, docs: &str| {
                format!("{code} ({severity})\n\n{summary}\n\n{docs}\n")
            };
            let text = match rules::find(&code) {
                Some(r) => page(r.code, r.severity, r.summary, r.docs),
                None => match policy::builtin::find(&code) {
                    Some(r) => page(&r.code, r.severity, &r.summary, &r.docs),
                    None => return Err(format!("unknown code `{code}`; `kgate rules` lists them")),
                },
            };
            write_stdout(&text)?;
            Ok(EXIT_PASS)
        }
        Command::Merge(args) => Ok(merge::run(&args)?),
        Command::Init(args) => Ok(init::run(&args)?),
        Command::Baseline(args) => run_baseline(&args),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "kgate",
                &mut buf,
            );
            write_stdout(&String::from_utf8_lossy(&buf))?;
            Ok(EXIT_PASS)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut buf)
                .map_err(|e| format!("cannot render the manual page: {e}"))?;
            write_stdout(&String::from_utf8_lossy(&buf))?;
            Ok(EXIT_PASS)
        }
    }
}

fn check_options(args: &CheckArgs) -> pipeline::CheckOptions {
    pipeline::CheckOptions {
        paths: args.paths.clone(),
        discover: discover::DiscoverOptions {
            excludes: args.excludes.clone(),
            ..discover::DiscoverOptions::default()
        },
        limits: yaml::Limits::default(),
        registry: schema::registry::RegistryOptions {
            kubernetes_version: args
                .kubernetes_version
                .clone()
                .unwrap_or_else(|| schema::bundle::DEFAULT_VERSION.to_string()),
            strict: !args.no_strict,
            schema_locations: args.schema_locations.clone(),
            catalog: !args.no_catalog,
        },
        schema: check::schema::SchemaCheckOptions {
            skip_kinds: args.skip_kinds.clone(),
            require_schemas: args.require_schemas,
        },
        crds: args.crds.clone(),
        policy: policy::PolicyOptions::default(),
        exceptions: exceptions::ExceptionOptions::default(),
        shard: args.shard,
        changed: None,
        stream: !args.no_stream,
        every_unit: args.all,
        render: (!args.no_render).then(|| render::RenderOptions {
            helm: render::helm::release::HelmOptions {
                chart_cache: args.chart_cache.as_ref().map(std::path::PathBuf::from),
                kube_version: args
                    .kubernetes_version
                    .as_deref()
                    .and_then(render::helm::release::parse_kube_version),
            },
            ..render::RenderOptions::default()
        }),
    }
}

/// Settings from the config file, overridden by the command line. Returns the config (its
/// path and baseline setting locate the baseline).
fn apply_config(
    args: &CheckArgs,
    opts: &mut pipeline::CheckOptions,
) -> Result<config::Config, String> {
    let cfg = match config::discover(
        args.config.as_deref(),
        args.paths.first().map(String::as_str),
    ) {
        Some(path) => config::load(&path)?,
        None => config::Config::default(),
    };
    apply_settings(args, &cfg, opts)?;
    Ok(cfg)
}

/// The baseline file of a run on disk, and whether it was named (then it must exist).
fn baseline_path(args: &CheckArgs, cfg: &config::Config) -> (std::path::PathBuf, bool) {
    match args.baseline.as_ref().or(cfg.baseline.as_ref()) {
        Some(p) => (std::path::PathBuf::from(p), true),
        None => (
            baseline::default_path(
                cfg.path.as_deref().map(std::path::Path::new),
                args.paths.first().map(String::as_str),
            ),
            false,
        ),
    }
}

/// Merge-request mode only when asked: `--base REV`, or `--base auto` inside a merge-request
/// CI job (outside one, `auto` checks as usual and says so). `--no-base` turns it off.
fn open_sides(args: &CheckArgs) -> Result<Option<mr::Sides>, String> {
    let base = match args.base.as_deref() {
        _ if args.no_base => return Ok(None),
        None => return Ok(None),
        Some("auto") => {
            if git::ci_base(&git::process_env).is_none() {
                eprintln!(
                    "kgate: --base auto: this is no merge-request CI job (no \
                     CI_MERGE_REQUEST_DIFF_BASE_SHA, GITHUB_EVENT_PATH or GITHUB_BASE_REF): \
                     checking every file"
                );
                return Ok(None);
            }
            None
        }
        Some(rev) => Some(rev),
    };
    mr::Sides::open(base, args.head.as_deref())
}

/// Says on `gate/policy-changed` which gate files came from the head because the base had none.
fn explain_adopted(diagnostics: &mut Vec<diagnostic::Diagnostic>, adopted: &[String]) {
    if adopted.is_empty() {
        return;
    }
    let note = format!(
        "the base revision has no {}: this merge request adds the gate, so its own are used \
         (there is nothing on the base to weaken)",
        adopted.join(", ")
    );
    match diagnostics
        .iter_mut()
        .find(|d| d.code == "gate/policy-changed")
    {
        Some(d) => d.help = Some(note),
        None => diagnostics.push(
            diagnostic::Diagnostic::warning("gate/policy-changed", note.clone()).with_help(note),
        ),
    }
}

/// Merge-request mode: the config, policies, data and exceptions of the revision that judges
/// the MR (`--policies-from`), all read through that revision's tree, never from disk. A gate
/// file the base lacks altogether (the MR that adopts kgate adds `.kgate.yaml` and `policy/`)
/// is read from the head: there is nothing on the base for the MR to weaken. Returns what was
/// taken from the head that way.
fn apply_mr_config(
    args: &CheckArgs,
    sides: &mr::Sides,
    opts: &mut pipeline::CheckOptions,
) -> Result<(Vec<String>, mr::GateLocations, Option<baseline::Baseline>), String> {
    let from_base = args.policies_from == cli::PoliciesFrom::Base;
    let head: &dyn vfs::Vfs = sides.head_fs.as_ref();
    let mut vfs: &dyn vfs::Vfs = if from_base { &sides.base_fs } else { head };
    // The revision that judges the MR; the baseline is never taken from the head (unless asked
    // with --policies-from head), even when it adopts the gate: a baseline the MR writes could
    // accept the very findings it adds.
    let judge = vfs;
    let mut adopted = Vec::new();
    let to_repo = |given: &String| {
        sides
            .repo
            .repo_path(given)
            .ok_or_else(|| format!("{given} is outside the git repository"))
    };
    let explicit = args.config.as_ref().map(to_repo).transpose()?;
    // The config a run without --base would find: the nearest one from the first path.
    let start = sides.repo_paths(&args.paths)?.into_iter().next();
    let mut cfg = mr::gate_config(vfs, explicit.as_deref(), start.as_deref());
    if from_base && base_lacks_config(&sides.base_fs, explicit.as_deref()) {
        let head_cfg = mr::gate_config(head, explicit.as_deref(), start.as_deref())?;
        if let Some(path) = &head_cfg.0.path {
            adopted.push(format!("gate config ({path})"));
            vfs = head;
        }
        cfg = Ok(head_cfg);
    }
    let (cfg, cfg_path) = cfg?;
    apply_settings(args, &cfg, opts)?;
    let baseline_file = match &args.baseline {
        Some(given) => Some(to_repo(given)?),
        None => cfg.baseline.clone(),
    };
    let accepted = if args.no_baseline {
        None
    } else {
        // The judging side's config says where its baseline is; an adopted config is the
        // head's, and the base has no baseline beside a config it does not have.
        let judge_cfg_path = if adopted.is_empty() {
            cfg_path.as_deref()
        } else {
            None
        };
        mr::gate_baseline(judge, baseline_file.as_deref(), judge_cfg_path)?
    };
    // Command-line folders are relative to the current folder; the config's are repository
    // paths already.
    if !args.policies.is_empty() {
        opts.policy.dirs = args
            .policies
            .iter()
            .map(to_repo)
            .collect::<Result<_, _>>()?;
    }
    if !args.data.is_empty() {
        opts.policy.data = args.data.iter().map(to_repo).collect::<Result<_, _>>()?;
    }
    // Policy and data paths the judging side lacks altogether come from the head.
    let exists = |v: &dyn vfs::Vfs, p: &String| {
        let p = p.trim_end_matches('/');
        v.is_dir(p) || v.is_file(p)
    };
    let (dirs, head_dirs): (Vec<String>, Vec<String>) = opts
        .policy
        .dirs
        .iter()
        .cloned()
        .partition(|d| !from_base || exists(vfs, d) || !exists(head, d));
    let (data, head_data): (Vec<String>, Vec<String>) = opts
        .policy
        .data
        .iter()
        .cloned()
        .partition(|d| !from_base || exists(vfs, d) || !exists(head, d));
    let mut sources = mr::policy_sources(vfs, &dirs, &data)?;
    if !head_dirs.is_empty() || !head_data.is_empty() {
        let extra = mr::policy_sources(head, &head_dirs, &head_data)?;
        sources.modules.extend(extra.modules);
        sources.gatekeeper.extend(extra.gatekeeper);
        sources.data.extend(extra.data);
        for p in head_dirs.iter().chain(&head_data) {
            adopted.push(format!("policy path {p}"));
        }
    }
    opts.policy.sources = Some(sources);
    let judged: Vec<String> = opts
        .policy
        .dirs
        .iter()
        .chain(&opts.policy.data)
        .cloned()
        .collect();
    let mut locations = mr::GateLocations::with(cfg_path.as_deref(), &judged);
    // A change to the baseline is a change to the gate: the MR says so (gate/policy-changed).
    let baseline_repo_path = baseline_file.unwrap_or_else(|| {
        match cfg_path.as_deref().and_then(|c| c.rsplit_once('/')) {
            Some((dir, _)) => format!("{dir}/{}", baseline::FILE_NAME),
            None => baseline::FILE_NAME.to_string(),
        }
    });
    if !locations.config_files.contains(&baseline_repo_path) {
        locations.config_files.push(baseline_repo_path);
    }
    Ok((adopted, locations, accepted))
}

/// Whether the base has no gate config at all (not the explicit one, not `.kgate.yaml`).
fn base_lacks_config(base: &dyn vfs::Vfs, explicit: Option<&str>) -> bool {
    match explicit {
        Some(p) => !base.is_file(p),
        None => mr::GateLocations::default()
            .config_files
            .iter()
            .all(|f| !base.is_file(f)),
    }
}

/// Applies a config's settings to `opts`; command-line flags win.
fn apply_settings(
    args: &CheckArgs,
    cfg: &config::Config,
    opts: &mut pipeline::CheckOptions,
) -> Result<(), String> {
    let pick = |cli: &Vec<String>, file: &Vec<String>| {
        if cli.is_empty() {
            file.clone()
        } else {
            cli.clone()
        }
    };
    opts.policy = policy::PolicyOptions {
        dirs: pick(&args.policies, &cfg.policies),
        namespaces: pick(&args.namespaces, &cfg.namespaces),
        all_namespaces: args.all_namespaces || cfg.all_namespaces.unwrap_or(false),
        data: pick(&args.data, &cfg.data),
        builtin: !args.no_builtin_policies && cfg.builtin_policies.unwrap_or(true),
        builtin_engine: args
            .builtin_engine
            .or(cfg.builtin_engine)
            .unwrap_or_default(),
        image_tag_pattern: args
            .image_tag_pattern
            .clone()
            .or(cfg.image_tag_pattern.clone()),
        own_registries: cfg.own_registries.clone(),
        require_cpu_limit: cfg.require_cpu_limit.unwrap_or(false),
        sources: None,
        time_limit: None,
    };
    opts.exceptions.exceptions = cfg.exceptions.clone();
    opts.exceptions.severities = cfg.severity.clone();
    opts.exceptions.code_uses = cfg.code_uses.clone();
    opts.exceptions.unverified = args
        .unverified
        .map(|u| match u {
            cli::Unverified::Error => Severity::Error,
            cli::Unverified::Warning => Severity::Warning,
        })
        .or(cfg.unverified);
    if args.kubernetes_version.is_none() {
        if let Some(v) = &cfg.kubernetes_version {
            opts.registry.kubernetes_version = v.clone();
        }
    }
    if !args.no_strict {
        opts.registry.strict = cfg.strict.unwrap_or(true);
    }
    if !args.no_catalog {
        opts.registry.catalog = cfg.catalog.unwrap_or(true);
    }
    if let Some(render) = &mut opts.render {
        if render.helm.chart_cache.is_none() {
            render.helm.chart_cache = cfg.chart_cache.as_ref().map(std::path::PathBuf::from);
        }
        if render.helm.kube_version.is_none() {
            render.helm.kube_version = cfg
                .kubernetes_version
                .as_deref()
                .and_then(render::helm::release::parse_kube_version);
        }
    }
    opts.schema
        .skip_kinds
        .extend(cfg.skip_kinds.iter().cloned());
    opts.discover.excludes.extend(cfg.excludes.iter().cloned());
    apply_limits(&limits::RunLimits::resolve(&args.limits, &cfg.limits), opts);
    Ok(())
}

/// Hands the resolved limits to every stage that enforces one.
fn apply_limits(l: &limits::RunLimits, opts: &mut pipeline::CheckOptions) {
    opts.discover.max_file_size = l.max_file_size;
    opts.discover.memory_target = l.memory_target;
    policy::guard::set_memory_target(l.memory_target);
    opts.limits = l.yaml;
    opts.policy.time_limit = Some(l.policy_timeout);
    if let Some(r) = &mut opts.render {
        r.max_file_size = l.max_file_size;
        r.limits = l.yaml;
        r.max_objects = l.max_rendered_objects;
        r.max_object_nodes = l.max_rendered_nodes;
    }
}

/// `kgate catalog`: the kinds a `check` with the same paths, CRDs, schema locations, Kubernetes
/// version and catalog setting would know, and where each schema comes from.
fn run_catalog(args: &cli::CatalogArgs) -> Result<u8, String> {
    let cfg = match config::discover(
        args.config.as_deref(),
        args.paths.first().map(String::as_str),
    ) {
        Some(path) => config::load(&path)?,
        None => config::Config::default(),
    };
    let catalog_on = !args.no_catalog && cfg.catalog.unwrap_or(true);
    let opts = schema::registry::RegistryOptions {
        kubernetes_version: args
            .kubernetes_version
            .clone()
            .or(cfg.kubernetes_version.clone())
            .unwrap_or_else(|| schema::bundle::DEFAULT_VERSION.to_string()),
        strict: cfg.strict.unwrap_or(true),
        schema_locations: args.schema_locations.clone(),
        catalog: catalog_on,
    };
    let files = source::Files::new();
    let discover = discover::DiscoverOptions {
        excludes: cfg.excludes.clone(),
        ..discover::DiscoverOptions::default()
    };
    let limits = yaml::Limits::default();
    // CRDs of the paths first, then --crd: a later CRD for the same kind wins, as in `check`.
    let mut crds = Vec::new();
    let mut crd_flag_files = std::collections::BTreeSet::new();
    let mut ignored = Vec::new();
    for (paths, from_flag) in [(&args.paths, false), (&args.crds, true)] {
        if paths.is_empty() {
            continue;
        }
        let (loaded, _) = gather::load_paths(&files, paths, &discover, &limits)?;
        let objects: Vec<&manifest::Manifest> =
            loaded.manifests.iter().filter(|m| m.is_crd()).collect();
        if from_flag {
            crd_flag_files.extend(objects.iter().map(|m| m.file.path.clone()));
        }
        // As in `check`: a ConstraintTemplate's constraint kind is known, a real CRD wins.
        crds.extend(gatekeeper::constraint_crds(loaded.manifests.iter()));
        crds.extend(pipeline::crd_schemas(&objects, &mut ignored));
    }
    let registry = schema::registry::Registry::new(&opts, crds)?;
    let text = match args.format {
        cli::CatalogFormat::Human => {
            schema::listing::render_human(&registry, args.filter.as_deref(), &crd_flag_files)
        }
        cli::CatalogFormat::Json => schema::listing::render_json(
            &registry,
            catalog_on,
            args.filter.as_deref(),
            &crd_flag_files,
        ),
    };
    write_stdout(&text)?;
    Ok(0)
}

fn run_verify(args: &cli::VerifyArgs) -> Result<u8, String> {
    let report = if args.builtin {
        policy::verify::run_builtin()
    } else {
        let cfg = match config::discover(args.config.as_deref(), None) {
            Some(path) => config::load(&path)?,
            None => config::Config::default(),
        };
        let dirs = if !args.dirs.is_empty() {
            args.dirs.clone()
        } else if !cfg.policies.is_empty() {
            cfg.policies.clone()
        } else {
            vec!["policy".to_string()]
        };
        let data = if args.data.is_empty() {
            cfg.data.clone()
        } else {
            args.data.clone()
        };
        policy::verify::run_dirs(&dirs, &data, &gatekeeper::suite::run_dirs)
    };
    write_stdout(&report.render())?;
    Ok(report.exit_code())
}

fn run_check(args: &CheckArgs) -> Result<u8, String> {
    let mut opts = check_options(args);
    let sides = open_sides(args)?;
    let (adopted, locations, accepted) = match &sides {
        Some(sides) => apply_mr_config(args, sides, &mut opts)?,
        None => {
            let cfg = apply_config(args, &mut opts)?;
            let accepted = if args.no_baseline {
                None
            } else {
                let (path, explicit) = baseline_path(args, &cfg);
                baseline::load(&path, explicit)?
            };
            (Vec::new(), mr::GateLocations::default(), accepted)
        }
    };
    if let Some(names) = &args.changed_files {
        // A changed gate file can change any finding: then everything is checked.
        let gate = changed::gate_paths(&opts, args.baseline.as_deref());
        if !names.iter().any(|n| gate.contains(n)) {
            let names: std::collections::BTreeSet<String> = names.iter().cloned().collect();
            if let Some(r) = &mut opts.render {
                r.track_reads = true;
                // Only the units that read a changed file are rendered.
                r.only = Some(std::sync::Arc::new(render::UnitFilter {
                    reading: names.clone(),
                    labels: Default::default(),
                }));
            }
            opts.changed = Some(names);
        } else if let Some(r) = &mut opts.render {
            r.track_reads = true;
        }
    }
    let plan = output_plan(&args.output, args.output_file.as_deref())?;
    let mut outcome = {
        let _progress = (!args.quiet).then(|| progress::Progress::start("checking"));
        match &sides {
            Some(sides) => {
                let from = match args.policies_from {
                    cli::PoliciesFrom::Base => mr::PoliciesFrom::Base,
                    cli::PoliciesFrom::Head => mr::PoliciesFrom::Head,
                };
                let mut outcome =
                    with_jobs(args.jobs, || mr::check(&opts, sides, from, &locations))??.outcome;
                explain_adopted(&mut outcome.diagnostics, &adopted);
                outcome
            }
            None if args.head.is_some() => {
                return Err(
                    "--head needs --base REV (or a merge-request CI job that names the base)"
                        .into(),
                )
            }
            None => with_jobs(args.jobs, || pipeline::check(&opts))??,
        }
    };
    if let Some(accepted) = &accepted {
        accepted.apply(&mut outcome.diagnostics);
        outcome.summary.count_findings(&outcome.diagnostics);
    }
    // `opts.changed` is unset when a changed gate file makes every finding concern the change.
    if let Some(names) = &opts.changed {
        changed::keep_concerning(&mut outcome, names, None);
    }
    let level = fail_level(args.fail_on);
    // Every finding decides the exit status; debt the MR did not add stays out of the report
    // unless --all (it is counted in summary.pre_existing).
    let all_findings = outcome.diagnostics.clone();
    if !args.all {
        outcome.diagnostics.retain(|d| !d.pre_existing);
    }
    let resources = std::mem::take(&mut outcome.resources);
    let report = report::Report {
        diagnostics: &outcome.diagnostics,
        summary: &outcome.summary,
        files: &outcome.files,
        masks: &outcome.masks,
        skipped: &outcome.skipped,
        verbose: args.verbose,
        color: false,
        kubernetes_version: &outcome.kubernetes_version,
        resources: &resources,
        fail_level: level,
        shard: args.shard,
        quiet: args.quiet,
    };
    output::write_all(&plan, &report, args.color)?;
    // A policy that does not parse or fails to evaluate means the gate could not do its job.
    if all_findings.iter().any(|d| rules::is_tool_failure(&d.code)) {
        return Ok(EXIT_FAILURE);
    }
    let failed = all_findings.iter().any(|d| fails(d, level));
    Ok(if failed { EXIT_FINDINGS } else { EXIT_PASS })
}

/// `kgate baseline`: runs the check as `check` would (same options and config) and records
/// every live warning and error; with `--prune`, only drops what no longer occurs.
fn run_baseline(args: &cli::BaselineArgs) -> Result<u8, String> {
    let check = &args.check;
    if check.base.is_some() || check.head.is_some() {
        return Err(
            "kgate baseline records the repository as it is: run it without --base/--head".into(),
        );
    }
    let mut opts = check_options(check);
    let cfg = apply_config(check, &mut opts)?;
    let (path, _) = baseline_path(check, &cfg);
    let outcome = {
        let _progress = (!check.quiet).then(|| progress::Progress::start("checking"));
        with_jobs(check.jobs, || pipeline::check(&opts))??
    };
    // A gate that could not run (a policy that does not compile) has no findings to accept.
    if let Some(d) = outcome
        .diagnostics
        .iter()
        .find(|d| rules::is_tool_failure(&d.code))
    {
        return Err(format!(
            "no baseline written: {}: [{}] {}",
            d.file, d.code, d.message
        ));
    }
    let current = baseline::Baseline::from_findings(&outcome.diagnostics);
    let display = path.to_string_lossy().to_string();
    let (written, what) = if args.prune {
        let old = baseline::load(&path, true)?.unwrap_or_default();
        let pruned = old.pruned(&current);
        let dropped = old.len() - pruned.len();
        (pruned, format!("{dropped} no longer occurring dropped"))
    } else {
        (current, "every current warning and error".to_string())
    };
    std::fs::write(&path, written.to_json()).map_err(|e| format!("cannot write {display}: {e}"))?;
    eprintln!(
        "kgate: wrote {display}: {} accepted {} ({what}); `kgate check` fails only on new ones",
        written.len(),
        if written.len() == 1 {
            "finding"
        } else {
            "findings"
        },
    );
    Ok(EXIT_PASS)
}

fn use_color(choice: ColorChoice, to_stdout: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_stdout
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// `kgate diff`: the dry-run plan. A plan is not a failure: exit 0 with or without changes,
/// unless `--exit-code` asks for 1 when there are changes.
fn run_diff(args: &DiffArgs) -> Result<u8, String> {
    let Some(sides) = mr::Sides::open(args.base.as_deref(), args.head.as_deref())? else {
        return Err(
            "kgate diff needs --base REV (the target branch), or a merge-request CI job".into(),
        );
    };
    let scope = sides.repo_paths(&args.paths)?;
    let run_limits = limits::RunLimits::resolve(&args.limits, &limits::LimitSettings::default());
    let opts = discover::DiscoverOptions {
        excludes: args.excludes.clone(),
        max_file_size: run_limits.max_file_size,
        ..discover::DiscoverOptions::default()
    };
    let helm = render::helm::release::HelmOptions {
        chart_cache: args.chart_cache.as_ref().map(std::path::PathBuf::from),
        kube_version: None,
    };
    // The plan checks are tuned by the judging revision's config: the base's, or the head's
    // when the MR adopts kgate (the base has none).
    let (mut cfg, found) = mr::gate_config(&sides.base_fs, None, None)?;
    if found.is_none() {
        cfg = mr::gate_config(sides.head_fs.as_ref(), None, None)?.0;
    }
    let rules = exceptions::ExceptionOptions {
        exceptions: cfg.exceptions,
        severities: cfg.severity,
        ..exceptions::ExceptionOptions::default()
    };
    // Only the units the change reaches are built, unless --all.
    let changed: Option<std::collections::BTreeSet<String>> = if args.all {
        None
    } else {
        let changed = sides.repo.changed_paths(&sides.base, sides.head.as_ref())?;
        Some(changed.into_iter().collect())
    };
    let (mut plan, verdict) = mr::plan_and_judge(
        &sides,
        mr::ReadSides::default(),
        &opts,
        &run_limits.yaml,
        &helm,
        &scope,
        &rules,
        true,
        None,
        changed.as_ref(),
    )?;
    plan.findings = verdict.diagnostics;
    let (formats, output_file) =
        cli::split_outputs(&args.output, args.output_file.as_deref(), PlanFormat::Human)?;
    let &[format] = formats.as_slice() else {
        return Err("kgate diff writes one format: give -o/--output once".into());
    };
    let text = match format {
        PlanFormat::Human => {
            report::plan_human::render(&plan, use_color(args.color, output_file.is_none()))
        }
        PlanFormat::Markdown => report::plan_markdown::render(&plan),
        PlanFormat::Json => report::plan_json::render(&plan),
    };
    write_to(output_file.as_deref(), &text)?;
    let (create, update, delete) = plan.totals();
    Ok(if args.exit_code && create + update + delete > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_PASS
    })
}

/// Writes `text` to `path`, or to stdout when there is none.
fn write_to(path: Option<&str>, text: &str) -> Result<(), String> {
    match path {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}")),
        None => Ok(write_stdout(text)?),
    }
}

/// `kgate render PATH…`: the rendered objects of every path as one YAML stream on stdout (or
/// `-o FILE`), findings on stderr. Secret values are masked unless `--show-secrets`.
fn run_render(args: &cli::RenderArgs) -> Result<u8, String> {
    let helm = render::cli::HelmCli {
        options: render::helm::release::HelmOptions {
            chart_cache: args.chart_cache.as_ref().map(std::path::PathBuf::from),
            kube_version: args
                .kubernetes_version
                .as_deref()
                .and_then(render::helm::release::parse_kube_version),
        },
        values: args.values.clone(),
        release_name: args.release_name.clone(),
        namespace: args.namespace.clone(),
    };
    let mut yaml = String::new();
    let mut failed = false;
    let opts = render::RenderOptions {
        max_file_size: args.max_file_size,
        max_objects: args.max_rendered_objects,
        max_object_nodes: args.max_rendered_nodes,
        ..render::RenderOptions::default()
    };
    for path in &args.paths {
        let out = render::cli::render_path_with(path, &opts, args.show_secrets, &helm)?;
        if !yaml.is_empty() && !out.yaml.is_empty() && !out.yaml.starts_with("---") {
            yaml.push_str("---\n");
        }
        yaml.push_str(&out.yaml);
        for line in &out.lines {
            eprintln!("{line}");
        }
        failed |= out
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error);
    }
    write_to(args.output.as_deref(), &yaml)?;
    Ok(if failed { EXIT_FINDINGS } else { EXIT_PASS })
}

/// Runs `f` on a rayon pool of `jobs` threads (all cores by default).
fn with_jobs<T: Send>(jobs: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T, String> {
    match jobs {
        Some(0) | None => Ok(f()),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| format!("cannot start {n} worker threads: {e}"))
            .map(|pool| pool.install(f)),
    }
}
