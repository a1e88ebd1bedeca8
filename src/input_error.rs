//! The input layer's one error type: why kgate could not open the repository, resolve a
//! revision, read a git tree, compile `--exclude` globs or read a size/duration option. Files
//! that cannot be read are findings, not errors; only these stop a run (exit 2).
//!
//! Display gives the exact text kgate prints after `kgate: error: `; git's own part is
//! `git2::Error::message()` (its Display adds `; class=…; code=…`, which users never saw).

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read the current folder: {0}")]
    CurrentDir(#[source] io::Error),

    #[error(
        "--base needs a git repository, and {} is not inside one: {}",
        .dir.display(),
        .source.message()
    )]
    NotARepository { dir: PathBuf, source: git2::Error },

    #[error("the git repository is bare (no working tree); run kgate inside a clone")]
    BareRepository,

    #[error("cannot read git's index: {}", .0.message())]
    Index(#[source] git2::Error),

    /// A revision a shallow clone does not hold: the message says how to fetch it.
    #[error(
        "the base revision `{rev}` is not in this clone: it is shallow ({}). kgate needs the \
         base commit to compare against; fetch the history with `git fetch --unshallow` (or \
         `git fetch --depth=1000 origin <target-branch>`), or clone with full history: GitHub \
         Actions `actions/checkout` with `fetch-depth: 0`, GitLab CI `GIT_DEPTH: 0`",
        .source.message()
    )]
    Shallow { rev: String, source: git2::Error },

    #[error(
        "cannot find revision `{rev}` in this repository: {} (fetch it first, e.g. \
         `git fetch origin <branch>`)",
        .source.message()
    )]
    UnknownRevision { rev: String, source: git2::Error },

    #[error("cannot read commit {commit}: {}", .source.message())]
    Commit {
        commit: git2::Oid,
        source: git2::Error,
    },

    /// `tree` names a revision (`origin/main`) or a commit id.
    #[error("cannot read the tree of {tree}: {}", .source.message())]
    Tree { tree: String, source: git2::Error },

    #[error("cannot compare the revisions: {}", .0.message())]
    Compare(#[source] git2::Error),

    #[error("cannot reopen the repository: {}", .0.message())]
    Reopen(#[source] git2::Error),

    #[error("--exclude {pattern}: {source}")]
    Exclude {
        pattern: String,
        source: globset::Error,
    },

    #[error("{0}")]
    ExcludeSet(#[source] globset::Error),

    #[error("`{given}` is not a size: write bytes, or a number with k, M, G, Ki, Mi, Gi")]
    NotASize { given: String },

    #[error("`{given}` has an unknown unit `{unit}`: use k, M, G, Ki, Mi or Gi")]
    SizeUnit { given: String, unit: String },

    #[error("`{given}` is too large")]
    SizeTooLarge { given: String },

    #[error("`{given}` is not a duration: write e.g. 500ms, 5s or 1m")]
    NotADuration { given: String },

    #[error("`{given}` has an unknown unit `{unit}`: use ms, s or m")]
    DurationUnit { given: String, unit: String },

    #[error("`{given}` must be more than zero and less than a day")]
    DurationRange { given: String },
}

/// The application layer and the run layer still speak `String` errors: `?` converts.
impl From<InputError> for String {
    fn from(e: InputError) -> String {
        e.to_string()
    }
}
