//! kgate: a gate between a merge request and a GitOps-managed Kubernetes cluster.
//!
//! The pipeline (see `pipeline`): discover → load → check → report. Each stage is a module
//! joined to the next by plain data (`Manifest`, `Diagnostic`).

#![recursion_limit = "256"]
// A `Diagnostic` is the error of a failed read or decode: it is the finding itself, built once
// per bad file, so its size on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod check;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod discover;
pub mod exceptions;
pub mod gatekeeper;
pub mod git;
pub mod init;
pub mod limits;
pub mod load;
pub mod manifest;
pub mod merge;
pub mod mr;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod progress;
pub mod redact;
pub mod render;
pub mod report;
pub mod rules;
pub mod schema;
pub mod shard;
pub mod source;
pub mod tree_walk;
pub mod units;
pub mod vfs;
pub mod yaml;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use clap::Parser;

use crate::cli::{CheckArgs, Cli, ColorChoice, Command, DiffArgs, FailOn, Format, PlanFormat};
use crate::diagnostic::Severity;

/// Exit status: the gate passed.
pub const EXIT_PASS: u8 = 0;
/// Exit status: findings at or above the fail level.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: kgate could not do its job.
pub const EXIT_FAILURE: u8 = 2;

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
        Command::Check(args) => run_check(&args),
        Command::Verify(args) => run_verify(&args),
        Command::Diff(args) => run_diff(&args),
        Command::Render(args) => run_render(&args),
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
        Command::Explain { code } => match rules::find(&code) {
            Some(r) => {
                write_stdout(&format!(
                    "{} ({})\n\n{}\n\n{}\n",
                    r.code, r.severity, r.summary, r.docs
                ))?;
                Ok(EXIT_PASS)
            }
            None => match policy::builtin::find(&code) {
                Some(r) => {
                    write_stdout(&format!(
                        "{} ({})\n\n{}\n\n{}\n",
                        r.code, r.severity, r.summary, r.docs
                    ))?;
                    Ok(EXIT_PASS)
                }
                None => Err(format!("unknown code `{code}`; `kgate rules` lists them")),
            },
        },
        Command::Merge(args) => merge::run(&args),
        Command::Init(args) => init::run(&args),
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

/// The one `Format → reporter` switch.
pub fn render_format(format: Format, report: &report::Report<'_>) -> String {
    match format {
        Format::Human => report::human::render(report),
        Format::Json => report::json::render(report),
        Format::Sarif => report::sarif::render(report),
        Format::Junit => report::junit::render(report),
        Format::Github => report::github::render(report),
        Format::Gitlab => report::gitlab::render(report),
        Format::Markdown => report::markdown::render(report),
    }
}

/// The severity `--fail-on` names.
pub fn fail_level(f: FailOn) -> Severity {
    match f {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
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
        },
        schema: check::schema::SchemaCheckOptions {
            skip_kinds: args.skip_kinds.clone(),
            require_schemas: args.require_schemas,
        },
        crds: args.crds.clone(),
        policy: policy::PolicyOptions::default(),
        exceptions: exceptions::ExceptionOptions::default(),
        shard: args.shard,
        render: (!args.no_render).then(render::RenderOptions::default),
    }
}

/// Settings from the config file, overridden by the command line.
fn apply_config(args: &CheckArgs, opts: &mut pipeline::CheckOptions) -> Result<(), String> {
    let cfg = match config::discover(
        args.config.as_deref(),
        args.paths.first().map(String::as_str),
    ) {
        Some(path) => config::load(&path)?,
        None => config::Config::default(),
    };
    apply_settings(args, &cfg, opts)
}

/// Merge-request mode: the config, policies, data and exceptions of the revision that judges
/// the MR (`--policies-from`), all read through that revision's tree, never from disk.
fn apply_mr_config(
    args: &CheckArgs,
    sides: &mr::Sides,
    opts: &mut pipeline::CheckOptions,
) -> Result<(), String> {
    let vfs: &dyn vfs::Vfs = match args.policies_from {
        cli::PoliciesFrom::Base => &sides.base_fs,
        cli::PoliciesFrom::Head => sides.head_fs.as_ref(),
    };
    let to_repo = |given: &String| {
        sides
            .repo
            .repo_path(given)
            .ok_or_else(|| format!("{given} is outside the git repository"))
    };
    let explicit = args.config.as_ref().map(to_repo).transpose()?;
    let cfg = mr::gate_config(vfs, explicit.as_deref())?;
    apply_settings(args, &cfg, opts)?;
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
    opts.policy.sources = Some(mr::policy_sources(
        vfs,
        &opts.policy.dirs,
        &opts.policy.data,
    )?);
    Ok(())
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
        require_cpu_limit: cfg.require_cpu_limit.unwrap_or(false),
        sources: None,
        time_limit: None,
    };
    opts.exceptions.exceptions = cfg.exceptions.clone();
    opts.exceptions.severities = cfg.severity.clone();
    if args.kubernetes_version.is_none() {
        if let Some(v) = &cfg.kubernetes_version {
            opts.registry.kubernetes_version = v.clone();
        }
    }
    if !args.no_strict {
        opts.registry.strict = cfg.strict.unwrap_or(true);
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
    }
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
        policy::verify::run_dirs(&dirs, &data)
    };
    write_stdout(&report.render())?;
    Ok(report.exit_code())
}

fn run_check(args: &CheckArgs) -> Result<u8, String> {
    let mut opts = check_options(args);
    // Merge-request mode when a base is named or the CI runs for a merge request.
    let sides = mr::Sides::open(args.base.as_deref(), args.head.as_deref())?;
    match &sides {
        Some(sides) => apply_mr_config(args, sides, &mut opts)?,
        None => apply_config(args, &mut opts)?,
    }
    let plan = output::plan(&args.format, args.output.as_deref())?;
    let mut outcome = {
        let _progress = progress::Progress::start("checking");
        match &sides {
            Some(sides) => {
                let from = match args.policies_from {
                    cli::PoliciesFrom::Base => mr::PoliciesFrom::Base,
                    cli::PoliciesFrom::Head => mr::PoliciesFrom::Head,
                };
                with_jobs(args.jobs, || mr::check(&opts, sides, from))??.outcome
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
    let level = fail_level(args.fail_on);
    // Every finding decides the exit status; debt the MR did not add stays out of the report
    // unless --all (it is counted in summary.pre_existing).
    let all_findings = outcome.diagnostics.clone();
    if !args.all {
        outcome.diagnostics.retain(|d| !d.pre_existing);
    }
    let resources: Vec<report::ResourceEntry> = outcome
        .manifests
        .iter()
        .map(|m| report::ResourceEntry {
            file: m.file.path.clone(),
            line: m.span().line,
            resource: m.resource.clone(),
        })
        .collect();
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
    };
    output::write_all(&plan, &report, args.color)?;
    // A policy that does not parse or fails to evaluate means the gate could not do its job.
    if all_findings
        .iter()
        .any(|d| policy::is_tool_failure(&d.code))
    {
        return Ok(EXIT_FAILURE);
    }
    let failed = all_findings.iter().any(|d| d.fails_at(level));
    Ok(if failed { EXIT_FINDINGS } else { EXIT_PASS })
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

/// `kgate diff`: the dry-run plan. A plan is not a failure: exit 0 with or without changes.
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
    let limits = run_limits.yaml;
    let files = source::Files::new();
    let ignored = |p: &str| sides.head_ignored(p);
    let head = plan::Revision::load(
        &files,
        sides.head_fs.as_ref(),
        &opts,
        &limits,
        &ignored,
        None,
    )?;
    let base = plan::Revision::load(
        &files,
        &sides.base_fs,
        &opts,
        &limits,
        &|_| false,
        Some(&head),
    )?;
    let plan = plan::plan(&base, &head, &sides.base.name, &sides.head_name(), &scope);
    let text = match args.format {
        PlanFormat::Human => {
            report::plan_human::render(&plan, use_color(args.color, args.output.is_none()))
        }
        PlanFormat::Markdown => report::plan_markdown::render(&plan),
        PlanFormat::Json => report::plan_json::render(&plan),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))?
        }
        None => write_stdout(&text)?,
    }
    Ok(EXIT_PASS)
}

/// `kgate render PATH`: the rendered objects as YAML on stdout, findings on stderr.
fn run_render(args: &cli::RenderArgs) -> Result<u8, String> {
    let out = render::cli::render_path(&args.path, args.max_file_size)?;
    write_stdout(&out.yaml)?;
    for line in &out.lines {
        eprintln!("{line}");
    }
    let failed = out
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
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

/// Writes to stdout; a closed pipe (`kgate … | head`) ends quietly.
pub(crate) fn write_stdout(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {e}")),
    }
}
