//! `kgate render PATH`: render a kustomization folder or the Flux Kustomizations of a file and
//! print the objects as YAML. Secret values (Secret data, substituted secret variables) are
//! replaced by `[REDACTED]`: kgate prints no secret, even here.

use std::collections::BTreeSet;
use std::path::Path;

use super::flux::{is_flux_kustomization, render_flux_with, SubstitutionSources};
use super::integrate::{attribute_and_merge, repo_root};
use super::kustomize::render_dir_with;
use super::{emit, RenderOptions, Renderer};
use crate::diagnostic::Diagnostic;
use crate::source::Files;
use crate::vfs::DiskFs;

pub struct RenderOutput {
    pub yaml: String,
    /// Findings, one per line: `file:line:col: severity [code] message`.
    pub diagnostics: Vec<Diagnostic>,
    pub lines: Vec<String>,
}

/// `path` relative to `root` (both as the user wrote them).
fn relative(path: &Path, root: &Path) -> String {
    // A root of `.` is no lexical prefix of `apps/web`: the path is then already relative.
    let p = path.strip_prefix(root).unwrap_or(path);
    let s = p.to_string_lossy().replace('\\', "/");
    s.trim_start_matches("./").trim_matches('/').to_string()
}

pub fn render_path(path: &str, max_file_size: u64) -> Result<RenderOutput, String> {
    let p = Path::new(path);
    let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {path}: {e}"))?;
    let files = Files::new();
    let opts = RenderOptions {
        max_file_size,
        ..RenderOptions::default()
    };
    let (root_dir, target) = if meta.is_dir() {
        (p.to_path_buf(), None)
    } else {
        (p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf(), Some(p))
    };
    let root = repo_root(&root_dir.to_string_lossy());
    let vfs = DiskFs::new(&root);
    let renderer = Renderer::new(&vfs, &files, &opts);
    let mut rendered = Vec::new();
    match target {
        None => rendered.push(render_dir_with(&renderer, &relative(p, &root))),
        Some(file) => {
            let bytes = std::fs::read(file).map_err(|e| format!("cannot read {path}: {e}"))?;
            let text = crate::load::decode(path, &bytes).map_err(|d| d.message)?;
            let f = files.add(path, text);
            let loaded = crate::load::load_file(&files, &f, &opts.limits);
            let sources = SubstitutionSources::from_manifests(&loaded.manifests);
            let flux: Vec<_> = loaded.manifests.iter().filter(|m| is_flux_kustomization(m)).collect();
            if flux.is_empty() {
                return Err(format!("{path} holds no Flux Kustomization (kustomize.toolkit.fluxcd.io)"));
            }
            for m in flux {
                rendered.push(render_flux_with(&renderer, m, &sources));
            }
        }
    }
    let mut secrets = BTreeSet::new();
    let mut diagnostics = Vec::new();
    let mut nodes = Vec::new();
    for r in &rendered {
        secrets.extend(r.secrets.values.iter().cloned());
        diagnostics.extend(r.diagnostics.iter().cloned());
        for m in &r.manifests {
            secrets.extend(crate::redact::find_secrets(m).values);
            nodes.push(&m.node);
        }
    }
    let yaml = crate::redact::scrub(&emit::to_yaml_stream(&nodes), &secrets);
    let mut diagnostics = attribute_and_merge(&files, diagnostics);
    crate::pipeline::scrub_all(&mut diagnostics, &secrets);
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics.dedup();
    let lines = diagnostics
        .iter()
        .map(|d| {
            let (line, col) = d.span.map(|s| (s.line, s.col)).unwrap_or((0, 0));
            format!("{}:{line}:{col}: {} [{}] {}", d.file, d.severity, d.code, d.message)
        })
        .collect();
    Ok(RenderOutput { yaml, diagnostics, lines })
}
