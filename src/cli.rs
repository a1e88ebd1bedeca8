//! The command line: clap definitions for every subcommand and flag.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "kgate",
    version,
    about = "A gate between a merge request and a GitOps-managed Kubernetes cluster",
    long_about = "kgate validates Kubernetes manifests against their schemas (built-in kinds and \
CRDs), enforces Rego policies, and shows what a GitOps agent would change.\n\nExit codes: 0 pass, \
1 findings at or above --fail-on, 2 kgate itself failed."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate every manifest under the given paths (default `.`); `-` reads stdin.
    Check(CheckArgs),
    /// Print what kustomize / Flux would apply for a kustomization folder or a file of Flux
    /// Kustomizations, as a YAML stream (like `kubectl kustomize`).
    Render(RenderArgs),
    /// List every finding code with its severity and summary.
    Rules,
    /// Print the documentation of a finding code.
    Explain {
        /// A code such as `schema/unknown-field`.
        code: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Files or folders to check; `-` reads a stream from stdin.
    #[arg(default_value = ".")]
    pub paths: Vec<String>,

    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "human")]
    pub format: Format,

    /// Write the report to this file instead of stdout.
    #[arg(long)]
    pub output: Option<String>,

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

    /// Do not report missing schemas for this kind (`Kind` or `apiVersion/Kind`), repeatable.
    #[arg(long = "skip-kind", value_name = "KIND")]
    pub skip_kinds: Vec<String>,

    /// A kind without a schema is an error, not a warning.
    #[arg(long)]
    pub require_schemas: bool,

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

    /// Largest file read, in bytes.
    #[arg(long, default_value_t = 32 * 1024 * 1024)]
    pub max_file_size: u64,

    /// Check raw files only: do not render kustomizations and Flux Kustomizations.
    #[arg(long)]
    pub no_render: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// A folder with a kustomization.yaml, or a file holding Flux Kustomizations.
    pub path: String,

    /// Largest file read, in bytes.
    #[arg(long, default_value_t = 32 * 1024 * 1024)]
    pub max_file_size: u64,
}
