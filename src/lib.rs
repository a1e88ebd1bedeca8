//! kgate: a gate between a merge request and a GitOps-managed Kubernetes cluster.
//!
//! The pipeline (see `pipeline`): gather → render → check → report. Each stage is a module
//! joined to the next by plain data (`Manifest`, `Diagnostic`); `app` holds the CLI commands.

#![recursion_limit = "256"]
// A `Diagnostic` is the error of a failed read or decode: it is the finding itself, built once
// per bad file, so its size on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod baseline;
pub mod changed;
pub mod check;
pub mod check_error;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod discover;
pub mod exceptions;
pub mod gatekeeper;
pub mod gather;
pub mod git;
pub mod init;
pub mod input_error;
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
pub mod read_guard;
pub mod redact;
pub mod render;
pub mod report;
pub mod rules;
pub mod schema;
pub mod secrets;
pub mod shard;
pub mod source;
pub mod stream;
pub mod tree_walk;
pub mod units;
pub mod vfs;
pub mod yaml;

/// Exit status: the gate passed.
pub const EXIT_PASS: u8 = 0;
/// Exit status: findings at or above the fail level.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: kgate could not do its job.
pub const EXIT_FAILURE: u8 = 2;

pub use app::main_with_args;
