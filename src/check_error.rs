//! The check layer's one error type (policies, Gatekeeper, admission/CEL). Most problems a check
//! meets are findings; these are the few that are not: policy or data paths that do not exist,
//! a pattern or engine step that fails before any object is checked (exit 2), and the reasons a
//! rule or a test case cannot be used, which the checks turn into findings with this text.
//!
//! It lives apart from `check/`, `policy/` and `gatekeeper/` so that each can name it without
//! depending on the others.

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("image_tag_pattern `{pattern}` is not a valid regex: {source}")]
    ImageTagPattern {
        pattern: String,
        source: regex::Error,
    },

    /// A pattern of the native built-in pack.
    #[error("invalid regex `{pattern}`: {source}")]
    PackPattern {
        pattern: String,
        source: regex::Error,
    },

    #[error("policy path {path} does not exist")]
    NoPolicyPath { path: String },

    #[error("data path {path} does not exist")]
    NoDataPath { path: String },

    /// regorus' errors are `anyhow` errors (not `std::error::Error`): kept as the cause.
    #[error("cannot pass kinds to policies: {cause}")]
    PolicyData { cause: anyhow::Error },

    #[error("cannot prepare policies: {cause}")]
    PreparePolicies { cause: anyhow::Error },

    /// A CEL expression that does not compile (shared: compiled programs are cached per run).
    #[error("{0}")]
    CelCompile(#[source] Arc<cel::ParseErrors>),

    /// A cron field value below zero (`-5`), as robfig/cron says it.
    #[error("negative number ({given}) not allowed: {given}")]
    CronNegative { given: String },

    #[error("failed to parse int from {given}")]
    CronNotANumber { given: String },

    #[error("the AdmissionReview has no request")]
    ReviewWithoutRequest,

    #[error("the AdmissionReview request has neither an object nor an oldObject")]
    ReviewWithoutObject,
}

/// The run and application layers still speak `String` errors: `?` converts.
impl From<CheckError> for String {
    fn from(e: CheckError) -> String {
        e.to_string()
    }
}
