//! Helm, natively: a Go `text/template` engine with Sprig's and Helm's functions, chart loading
//! and `helm template` rendering, all in-process and offline. Output is held to Helm's own by a
//! differential test (tests/helm_diff.rs) against the Helm engine.

pub mod argo;
pub mod chart;
pub mod coverage;
pub mod exec;
pub mod funcs;
pub mod kustomize;
pub mod parse;
pub mod provenance;
pub mod value;
pub mod values;

pub use chart::{load_dir, load_files, render, Chart, ChartError, RenderOpts, RenderedFile};
pub mod release;
