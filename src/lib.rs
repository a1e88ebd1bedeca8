//! kgate: a gate between a merge request and a GitOps-managed Kubernetes cluster.
//!
//! The pipeline (see `pipeline`): discover → load → check → report. Each stage is a module
//! joined to the next by plain data (`Manifest`, `Diagnostic`).

#![recursion_limit = "256"]

pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod discover;
pub mod load;
pub mod manifest;
pub mod pipeline;
pub mod redact;
pub mod render;
pub mod report;
pub mod rules;
pub mod schema;
pub mod source;
pub mod vfs;
pub mod yaml;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use clap::Parser;

use crate::cli::{CheckArgs, Cli, ColorChoice, Command, FailOn, Format};
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
            return if e.use_stderr() { EXIT_FAILURE } else { EXIT_PASS };
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
        Command::Render(args) => run_render(&args),
        Command::Rules => {
            let mut out = String::new();
            for r in rules::RULES {
                out.push_str(&format!("{:<28} {:<8} {}\n", r.code, r.severity, r.summary));
            }
            write_stdout(&out)?;
            Ok(EXIT_PASS)
        }
        Command::Explain { code } => match rules::find(&code) {
            Some(r) => {
                write_stdout(&format!("{} ({})\n\n{}\n\n{}\n", r.code, r.severity, r.summary, r.docs))?;
                Ok(EXIT_PASS)
            }
            None => Err(format!("unknown code `{code}`; `kgate rules` lists them")),
        },
    }
}

fn check_options(args: &CheckArgs) -> pipeline::CheckOptions {
    pipeline::CheckOptions {
        paths: args.paths.clone(),
        discover: discover::DiscoverOptions {
            excludes: args.excludes.clone(),
            max_file_size: args.max_file_size,
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
        render: (!args.no_render).then(|| render::RenderOptions {
            max_file_size: args.max_file_size,
            ..render::RenderOptions::default()
        }),
    }
}

fn run_check(args: &CheckArgs) -> Result<u8, String> {
    let opts = check_options(args);
    let outcome = with_jobs(args.jobs, || pipeline::check(&opts))??;
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    };
    let report = report::Report {
        diagnostics: &outcome.diagnostics,
        summary: &outcome.summary,
        files: &outcome.files,
        masks: &outcome.masks,
        skipped: &outcome.skipped,
        verbose: args.verbose,
        color,
        kubernetes_version: &outcome.kubernetes_version,
    };
    let text = match args.format {
        Format::Human => report::human::render(&report),
        Format::Json => report::json::render(&report),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))?,
        None => write_stdout(&text)?,
    }
    let level = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
    };
    let failed = outcome.diagnostics.iter().any(|d| d.fails_at(level));
    Ok(if failed { EXIT_FINDINGS } else { EXIT_PASS })
}

/// `kgate render PATH`: the rendered objects as YAML on stdout, findings on stderr.
fn run_render(args: &cli::RenderArgs) -> Result<u8, String> {
    let out = render::cli::render_path(&args.path, args.max_file_size)?;
    write_stdout(&out.yaml)?;
    for line in &out.lines {
        eprintln!("{line}");
    }
    let failed = out.diagnostics.iter().any(|d| d.severity == Severity::Error);
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
fn write_stdout(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {e}")),
    }
}
