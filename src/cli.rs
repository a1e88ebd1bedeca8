//! The command line: clap definitions for every subcommand and flag.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Shown under `--help` of kgate, `check` and `merge`.
pub const EXIT_CODES: &str =
    "Exit codes: 0 pass, 1 findings at or above --fail-on, 2 kgate itself failed.";

#[derive(Debug, Parser)]
#[command(
    name = "kgate",
    version,
    about = "A gate between a merge request and a GitOps-managed Kubernetes cluster",
    long_about = "kgate validates Kubernetes manifests against their schemas (built-in kinds and \
CRDs), enforces Rego policies, and shows what a GitOps agent would change.\n\nExit codes: 0 pass, \
1 findings at or above --fail-on, 2 kgate itself failed.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the `check` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate every manifest under the given paths (default `.`); `-` reads stdin.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Dry-run plan: what each GitOps unit (Flux Kustomization, Argo CD Application, or
    /// top-level folder) would create, update and delete between --base and --head.
    Diff(DiffArgs),
    /// Print what kustomize / Flux would apply for a kustomization folder or a file of Flux
    /// Kustomizations, as a YAML stream (like `kubectl kustomize`).
    Render(RenderArgs),
    /// List every known group/version/kind and where its schema comes from (built-in
    /// Kubernetes, the CRD catalog, a CRD of the checked paths, --crd, --schema-location).
    Catalog(CatalogArgs),
    /// List every finding code with its severity and summary.
    Rules,
    /// Run the `test_*` rules of `*_test.rego` files (as `conftest verify` / `opa test`).
    Verify(VerifyArgs),
    /// Print the documentation of a finding code.
    Explain {
        /// A code such as `schema/unknown-field`.
        code: String,
    },
    /// Combine the JSON reports of `check --shard I/N` runs into one result, in any format.
    #[command(after_help = EXIT_CODES)]
    Merge(MergeArgs),
    /// Write a starter .kgate.yaml (and, on request, CI and pre-commit setup).
    Init(InitArgs),
    /// Record every current warning and error in the baseline (.kgate-baseline.json), so that
    /// `check` fails only on new findings; `--prune` drops the entries that no longer occur.
    /// Takes the same options as `check`.
    Baseline(BaselineArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// JUnit XML.
    Junit,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// GitLab Code Quality JSON.
    Gitlab,
    /// Markdown (merge request comment, $GITHUB_STEP_SUMMARY).
    Markdown,
}

/// The command line's one error type: an option value kgate cannot read (clap prints it after
/// `invalid value … for …`), or options that contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("`{format}=` names no file")]
    NoFileAfterEquals { format: String },

    /// `known`: the format names, in the order `--help` lists them.
    #[error("unknown format `{name}`: one of {}, optionally =FILE", .known.join(", "))]
    UnknownFormat { name: String, known: Vec<String> },

    #[error("unknown format `{name}`: one of human, markdown, json")]
    UnknownPlanFormat { name: String },

    #[error(
        "`--output {path}` names a file and so does --output-file; \
         use -o FORMAT --output-file FILE"
    )]
    TwoOutputFiles { path: String },
}

/// The application layer still speaks `String` errors: `?` converts.
impl From<CliError> for String {
    fn from(e: CliError) -> String {
        e.to_string()
    }
}

/// One `--format` value: a format, and the file it goes to (`sarif=kgate.sarif`) or stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatTarget {
    pub format: Format,
    pub path: Option<String>,
}

impl std::str::FromStr for FormatTarget {
    type Err = CliError;

    fn from_str(s: &str) -> Result<FormatTarget, CliError> {
        let (name, path) = match s.split_once('=') {
            Some((n, "")) => {
                return Err(CliError::NoFileAfterEquals {
                    format: n.to_string(),
                })
            }
            Some((n, p)) => (n, Some(p.to_string())),
            None => (s, None),
        };
        let format = Format::from_str(name, true).map_err(|_| CliError::UnknownFormat {
            name: name.to_string(),
            known: Format::value_variants()
                .iter()
                .filter_map(|f| f.to_possible_value().map(|v| v.get_name().to_string()))
                .collect(),
        })?;
        Ok(FormatTarget { format, path })
    }
}

pub const FORMAT_HELP: &str = "Output format (as kubectl/kubeconform `-o`), repeatable: FORMAT \
writes to stdout (or --output-file), FORMAT=FILE to a file. Formats: human, json, sarif, junit, \
github, gitlab, markdown. `--format` is an alias.";

/// One `-o/--output` value: a format, or, for runs written before `--output` named the format,
/// the report file (a value that is no format name and looks like a path: `report.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputValue<T> {
    Format(T),
    LegacyFile(String),
}

/// A value that was meant as a file: it has a path separator or an extension.
fn looks_like_path(s: &str) -> bool {
    !s.contains('=') && (s.contains('/') || s.contains('\\') || s.contains('.'))
}

impl<T: std::str::FromStr<Err = CliError>> std::str::FromStr for OutputValue<T> {
    type Err = CliError;

    fn from_str(s: &str) -> Result<OutputValue<T>, CliError> {
        match T::from_str(s) {
            Ok(t) => Ok(OutputValue::Format(t)),
            Err(_) if looks_like_path(s) => Ok(OutputValue::LegacyFile(s.to_string())),
            Err(e) => Err(e),
        }
    }
}

/// The formats of `-o/--output` values and the report file: `--output-file`, else a legacy
/// `--output FILE` (announced on stderr so scripts can move to `--output-file`).
pub fn split_outputs<T: Clone>(
    values: &[OutputValue<T>],
    output_file: Option<&str>,
    default: T,
) -> Result<(Vec<T>, Option<String>), CliError> {
    let mut formats = Vec::new();
    let mut file = output_file.map(str::to_string);
    for v in values {
        match v {
            OutputValue::Format(f) => formats.push(f.clone()),
            OutputValue::LegacyFile(p) => {
                if file.is_some() {
                    return Err(CliError::TwoOutputFiles { path: p.clone() });
                }
                eprintln!(
                    "kgate: note: `--output {p}` is read as the report file; \
                     use --output-file {p} (-o/--output now names the format)"
                );
                file = Some(p.clone());
            }
        }
    }
    if formats.is_empty() {
        formats.push(default);
    }
    Ok((formats, file))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The level of findings about what kgate could not verify (`--unverified`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Unverified {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    /// Never fail on findings (exit 0 unless kgate itself fails): report only.
    None,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Files or folders to check; `-` reads a stream from stdin.
    #[arg(default_value = ".")]
    pub paths: Vec<String>,

    #[arg(long = "output", short = 'o', visible_alias = "format", value_name = "FORMAT[=FILE]", help = FORMAT_HELP)]
    pub output: Vec<OutputValue<FormatTarget>>,

    /// Write the report of the one format without =FILE to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<String>,

    /// Print only errors and the summary (no warnings, notes or progress line).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Check only shard I of N (1-based), split by kustomization root / top-level folder, for
    /// CI matrices; combine the shards' JSON reports with `kgate merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::shard::Shard>,

    /// Kubernetes version whose built-in schemas to use (X.Y).
    #[arg(long, env = "KGATE_KUBERNETES_VERSION")]
    pub kubernetes_version: Option<String>,

    /// Allow fields that the schema does not define.
    #[arg(long)]
    pub no_strict: bool,

    /// Extra CustomResourceDefinitions (file or folder), repeatable.
    #[arg(long = "crd", value_name = "PATH")]
    pub crds: Vec<String>,

    /// JSON schema folder or kubeconform-style path template, repeatable.
    #[arg(long = "schema-location", value_name = "DIR_OR_TEMPLATE")]
    pub schema_locations: Vec<String>,

    /// Do not use the built-in catalog of ecosystem CRDs (Flux, Argo CD, cert-manager, ...;
    /// see `kgate catalog`): their kinds then need a CRD or a --schema-location.
    #[arg(long)]
    pub no_catalog: bool,

    /// Do not report missing schemas for this kind (`Kind` or `apiVersion/Kind`), repeatable.
    #[arg(long = "skip-kind", value_name = "KIND")]
    pub skip_kinds: Vec<String>,

    /// A kind without a schema is an error, not a warning.
    #[arg(long)]
    pub require_schemas: bool,

    /// How what kgate could not verify counts: objects without a schema (schema/missing),
    /// kustomize features it does not render (render/unsupported), templates and charts it
    /// skipped. `warning` (the default for local runs) or `error` (the gate fails on them; what
    /// CI should use). The summary always counts them.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub unverified: Option<Unverified>,

    /// Glob of paths to leave out, repeatable.
    #[arg(long = "exclude", value_name = "GLOB")]
    pub excludes: Vec<String>,

    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,

    /// Also list skipped documents and suppressed findings.
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// Lowest severity that fails the run (exit 1).
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,

    /// Colour in human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,

    /// Config file (default: the nearest .kgate.yaml up to the git root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,

    /// Baseline of accepted findings (default: the config's `baseline:`, else
    /// .kgate-baseline.json next to the config file or at the git root). Findings it lists are
    /// reported as baselined and do not fail the run; `kgate baseline` writes it. In
    /// merge-request mode it is read from the base revision.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<String>,

    /// Ignore the baseline: every finding counts.
    #[arg(long, conflicts_with = "baseline")]
    pub no_baseline: bool,

    /// Hold every object until the end instead of streaming the files that hold only ordinary
    /// objects (same findings, more memory; for comparing the two).
    #[arg(long, hide = true)]
    pub no_stream: bool,

    /// The paths are changed files (as pre-commit passes them, or `git diff --name-only`
    /// lists them): check the repository that holds them as CI would, and report what concerns
    /// them — their own objects and every unit that reads one of them (the overlays of a
    /// changed base or patch, the Flux Kustomization of a changed folder). A changed gate file
    /// (config, policy, baseline) reports everything.
    #[arg(long)]
    pub changed: bool,

    /// Read the changed files from FILE (`-`: stdin), one per line (or NUL-separated), as
    /// `git diff --name-only` prints them; implies --changed.
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<String>,

    /// The changed files of --changed / --files-from, repository paths (set by kgate).
    #[arg(skip)]
    pub changed_files: Option<Vec<String>>,

    /// Folder or file of Rego policies (conftest conventions), repeatable.
    #[arg(long = "policy", short = 'p', value_name = "DIR")]
    pub policies: Vec<String>,

    /// Rego package whose rules are enforced (default `main`), repeatable.
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Enforce the rules of every package of the --policy files.
    #[arg(long)]
    pub all_namespaces: bool,

    /// JSON/YAML files or folders merged into the policies' `data`, repeatable.
    #[arg(long = "data", value_name = "PATH")]
    pub data: Vec<String>,

    /// Do not run kgate's built-in policies.
    #[arg(long)]
    pub no_builtin_policies: bool,

    /// Regex an image tag must match for policy/image-tag-commit.
    #[arg(long, value_name = "REGEX")]
    pub image_tag_pattern: Option<String>,

    /// How the built-in pack runs: `native` (compiled, the default) or `rego` (its Rego files
    /// interpreted by regorus; same findings, much slower).
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub builtin_engine: Option<crate::policy::BuiltinEngine>,

    /// Resource limits: file size, documents, nodes, depth, policy time, memory.
    #[command(flatten)]
    pub limits: crate::limits::LimitArgs,

    /// Check raw files only: do not render kustomizations and Flux Kustomizations.
    #[arg(long)]
    pub no_render: bool,

    /// Folder of Helm charts as `helm pull` leaves them (`NAME-VERSION.tgz`), for HelmReleases
    /// whose chart comes from a HelmRepository or OCIRepository (kgate never fetches charts).
    #[arg(long, value_name = "DIR", env = "KGATE_CHART_CACHE")]
    pub chart_cache: Option<String>,

    /// Merge-request mode: the target branch's revision (ref, sha, `origin/main`), or `auto`
    /// for the merge request's base as the CI names it (GITHUB_EVENT_PATH / GITHUB_BASE_REF /
    /// CI_MERGE_REQUEST_DIFF_BASE_SHA; outside a merge-request job `auto` checks as usual).
    /// Without --base, `check` never switches to merge-request mode by itself.
    #[arg(long, value_name = "REV|auto", conflicts_with = "no_base")]
    pub base: Option<String>,

    /// Never compare with a base revision (turns off --base, e.g. one set in a CI template).
    #[arg(long)]
    pub no_base: bool,

    /// The MR's revision (default: the working tree, uncommitted edits included).
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,

    /// With --base: also show findings that already exist on the base (they never fail), in
    /// every unit (without it, only the units the merge request touches are checked).
    #[arg(long)]
    pub all: bool,

    /// With --base: whose policies, exceptions and config judge the MR.
    #[arg(long, value_enum, default_value = "base")]
    pub policies_from: PoliciesFrom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PoliciesFrom {
    Base,
    Head,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Human,
    Markdown,
    Json,
}

impl std::str::FromStr for PlanFormat {
    type Err = CliError;

    fn from_str(s: &str) -> Result<PlanFormat, CliError> {
        <PlanFormat as ValueEnum>::from_str(s, true).map_err(|_| CliError::UnknownPlanFormat {
            name: s.to_string(),
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// Limit the plan to units whose paths are under (or contain) these paths.
    #[arg(default_value = ".")]
    pub paths: Vec<String>,

    /// The target branch's revision (ref, sha, `origin/main`); found from the CI environment
    /// in merge-request pipelines.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// The MR's revision (default: the working tree, uncommitted edits included).
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,

    /// Output format: human, markdown or json (`--format` is an alias).
    #[arg(
        long = "output",
        short = 'o',
        visible_alias = "format",
        value_name = "FORMAT"
    )]
    pub output: Vec<OutputValue<PlanFormat>>,

    /// Write the plan to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<String>,

    /// Exit 1 when the plan has changes (as `git diff --exit-code`), 0 when it has none.
    #[arg(long)]
    pub exit_code: bool,

    /// Colour in human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,

    /// Glob of paths to leave out, repeatable.
    #[arg(long = "exclude", value_name = "GLOB")]
    pub excludes: Vec<String>,

    /// Resource limits: file size, documents, nodes and depth bound the plan too;
    /// --policy-timeout and --memory-target are accepted so that `check` and `diff` can share
    /// flags, and have no effect here (the plan runs no policies and reads both revisions).
    #[command(flatten)]
    pub limits: crate::limits::LimitArgs,

    /// Check raw files only: do not render kustomizations and Flux Kustomizations.
    /// Build every unit, also those nothing in the change reaches (their unchanged objects are
    /// then counted; without it they are listed as untouched).
    #[arg(long)]
    pub all: bool,

    #[arg(long)]
    pub no_render: bool,

    /// Folder of charts as `helm pull` leaves them, for HelmReleases whose chart comes from a
    /// HelmRepository or OCIRepository (never fetched): with both chart versions in it, a version
    /// bump lists what the new chart changes.
    #[arg(long, value_name = "DIR", env = "KGATE_CHART_CACHE")]
    pub chart_cache: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// Folders with a kustomization.yaml, Helm chart folders (Chart.yaml) or `.tgz` archives,
    /// or files holding Flux Kustomizations and HelmReleases; the objects of all of them form
    /// one stream.
    #[arg(required = true)]
    pub paths: Vec<String>,

    /// Write the YAML stream to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<String>,

    /// Print Secret data and credential-like values as they are (to pipe into `kubectl
    /// apply`). By default every secret value is masked as `[REDACTED]`.
    #[arg(long)]
    pub show_secrets: bool,

    /// Folder of charts as `helm pull` leaves them, for HelmRelease charts from HelmRepository
    /// and OCIRepository sources (never fetched).
    #[arg(long, value_name = "DIR", env = "KGATE_CHART_CACHE")]
    pub chart_cache: Option<String>,

    /// Values file for a chart folder (like `helm template -f`), repeatable; later files win.
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    pub values: Vec<String>,

    /// Release name for a chart folder.
    #[arg(long, default_value = "release-name")]
    pub release_name: String,

    /// Release namespace for a chart folder.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,

    /// Kubernetes version Helm templates see as `.Capabilities.KubeVersion` (X.Y[.Z]).
    #[arg(long, env = "KGATE_KUBERNETES_VERSION")]
    pub kubernetes_version: Option<String>,

    /// Largest file read, in bytes (suffixes k, M, G, Ki, Mi, Gi).
    #[arg(long, default_value = "32Mi", value_parser = crate::limits::parse_size)]
    pub max_file_size: u64,

    /// Most objects the kustomization may render.
    #[arg(long, value_name = "N", default_value_t = crate::limits::DEFAULT_MAX_RENDERED_OBJECTS)]
    pub max_rendered_objects: usize,

    /// Most nodes one rendered object may grow to.
    #[arg(long, value_name = "N", default_value_t = crate::limits::DEFAULT_MAX_RENDERED_NODES)]
    pub max_rendered_nodes: usize,
}

#[derive(Debug, Clone, Args)]
pub struct CatalogArgs {
    /// Files or folders whose CustomResourceDefinitions join the list (as `check` reads them).
    pub paths: Vec<String>,

    /// `human` (a table) or `json`.
    #[arg(long, short = 'o', value_enum, default_value = "human")]
    pub format: CatalogFormat,

    /// Only kinds whose `apiVersion kind` or source contains this text (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,

    /// Kubernetes version whose built-in kinds to list (X.Y).
    #[arg(long, env = "KGATE_KUBERNETES_VERSION")]
    pub kubernetes_version: Option<String>,

    /// Extra CustomResourceDefinitions (file or folder), repeatable.
    #[arg(long = "crd", value_name = "PATH")]
    pub crds: Vec<String>,

    /// JSON schema folder or kubeconform-style path template, repeatable.
    #[arg(long = "schema-location", value_name = "DIR_OR_TEMPLATE")]
    pub schema_locations: Vec<String>,

    /// Leave the built-in CRD catalog out.
    #[arg(long)]
    pub no_catalog: bool,

    /// Config file (default: the nearest .kgate.yaml up to the git root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Policy folders (default: the config file's `policies`, else `policy`).
    pub dirs: Vec<String>,

    /// JSON/YAML files or folders merged into `data`, repeatable.
    #[arg(long = "data", value_name = "PATH")]
    pub data: Vec<String>,

    /// Config file (default: the nearest .kgate.yaml up to the git root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,

    /// Run the tests of kgate's built-in policy pack instead.
    #[arg(long)]
    pub builtin: bool,
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// JSON reports written by `kgate check --format json` (one per shard).
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<String>,

    #[arg(long = "output", short = 'o', visible_alias = "format", value_name = "FORMAT[=FILE]", help = FORMAT_HELP)]
    pub output: Vec<OutputValue<FormatTarget>>,

    /// Write the report of the one format without =FILE to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<String>,

    /// Print only errors and the summary (no warnings, notes or progress line).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Lowest severity that fails the run (exit 1).
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,

    /// Also list suppressed findings.
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// Colour in human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Args)]
pub struct BaselineArgs {
    /// Only drop entries that no longer occur (and lower counts); add none.
    #[arg(long)]
    pub prune: bool,

    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Folder to set up (default: the current folder).
    #[arg(default_value = ".")]
    pub dir: String,

    /// Replace files that already exist.
    #[arg(long)]
    pub force: bool,

    /// Also write a GitHub Actions workflow (.github/workflows/kgate.yml).
    #[arg(long)]
    pub github: bool,

    /// Also write a GitLab CI job (.gitlab/kgate.gitlab-ci.yml).
    #[arg(long)]
    pub gitlab: bool,

    /// Also write a pre-commit configuration entry (.pre-commit-config.yaml).
    #[arg(long)]
    pub pre_commit: bool,
}
