//! The render layer's one error type. Inside a render, a file that cannot be read is a finding
//! (`render/missing` and friends, whose message embeds this text); `kgate render` on a path it
//! cannot render stops with it (exit 2). Clone: a repository file's read result is cached and
//! shared by every kustomization that references it.

use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::render::helm::chart::ChartError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum RenderError {
    /// A repository file the file view could not read (its own text: `no such file`, …).
    #[error("{0}")]
    Read(#[source] Arc<std::io::Error>),

    /// A file that is not text kgate can decode: the finding the loader makes of it.
    #[error("{}", .0.message)]
    Decode(Box<Diagnostic>),

    /// A path named on the command line that cannot be read.
    #[error("cannot read {path}: {source}")]
    ReadPath {
        path: String,
        source: Arc<std::io::Error>,
    },

    /// A file named on the command line that the guarded read refused (the finding it made).
    #[error("{path}: {}", .finding.message)]
    Refused {
        path: String,
        finding: Box<Diagnostic>,
    },

    #[error("{path}: {source}")]
    Chart { path: String, source: ChartError },

    #[error("{path}: values must be a mapping")]
    ValuesNotMapping { path: String },

    /// A values file that is not YAML: the chart values reader's text.
    #[error("{path}: {message}")]
    ValuesYaml { path: String, message: String },

    #[error(
        "{path} holds no Flux Kustomization (kustomize.toolkit.fluxcd.io) or HelmRelease \
         (helm.toolkit.fluxcd.io)"
    )]
    NothingToRender { path: String },

    /// A `.tgz` chart archive that does not unpack.
    #[error("{0}")]
    Archive(#[source] Arc<std::io::Error>),

    #[error("chart archive entry {path:?} leaves the chart")]
    ArchiveEscape { path: String },

    #[error("chart archive is larger than 100 MiB decompressed")]
    ArchiveTooLarge,

    /// The repository walk's error, as the gather stage (still `String`) reports it.
    #[error("{0}")]
    Gather(String),
}

impl From<String> for RenderError {
    fn from(e: String) -> RenderError {
        RenderError::Gather(e)
    }
}

/// The run and application layers still speak `String` errors: `?` converts.
impl From<RenderError> for String {
    fn from(e: RenderError) -> String {
        e.to_string()
    }
}
