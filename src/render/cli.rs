//! `kgate render PATH`: render a kustomization folder or the Flux Kustomizations of a file and
//! print the objects as YAML. Secret values (Secret data, substituted secret variables) are
//! replaced by `[REDACTED]`: kgate prints no secret, even here.

use std::collections::BTreeSet;
use std::path::Path;

use super::flux::{is_flux_kustomization, render_flux_with, SubstitutionSources};
use super::integrate::{attribute_and_merge, repo_root};
use super::kustomize::render_dir_with;
use super::{emit, RenderError, RenderOptions, Rendered, Renderer};
use crate::diagnostic::Diagnostic;
use crate::source::Files;
use crate::vfs::DiskFs;
use crate::yaml::{Node, Value};

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

/// Secret values inside any string (e.g. substituted into an env value) become `[REDACTED]`.
fn scrub_node(node: &mut Node, secrets: &BTreeSet<String>) {
    match &mut node.value {
        Value::String(s) => {
            let scrubbed = crate::redact::scrub(s, secrets);
            if scrubbed != *s {
                *s = scrubbed;
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|n| scrub_node(n, secrets)),
        Value::Map(entries) => entries.iter_mut().for_each(|(_, v)| scrub_node(v, secrets)),
        _ => {}
    }
}

/// Renders `path`. Secret values are masked in the YAML unless `show_secrets` (the user asked
/// for the real stream, to pipe into `kubectl apply`); findings are masked either way.
/// Helm settings of `kgate render`.
#[derive(Debug, Clone, Default)]
pub struct HelmCli {
    pub options: super::helm::release::HelmOptions,
    /// Values files for a chart folder, in order.
    pub values: Vec<String>,
    pub release_name: String,
    pub namespace: String,
}

pub fn render_path(
    path: &str,
    opts: &RenderOptions,
    show_secrets: bool,
) -> Result<RenderOutput, RenderError> {
    let helm = HelmCli {
        release_name: "release-name".into(),
        namespace: "default".into(),
        ..HelmCli::default()
    };
    render_path_with(path, opts, show_secrets, &helm)
}

/// A path on the command line that cannot be read.
fn read_path(path: &str, source: std::io::Error) -> RenderError {
    RenderError::ReadPath {
        path: path.to_string(),
        source: std::sync::Arc::new(source),
    }
}

/// A file on the command line that the guarded read refused (too large, not a regular file).
fn refused(path: &str, finding: Diagnostic) -> RenderError {
    RenderError::Refused {
        path: path.to_string(),
        finding: Box::new(finding),
    }
}

/// A chart folder or archive given to `kgate render`: rendered like `helm template`.
fn render_chart(
    path: &str,
    files: &Files,
    helm: &HelmCli,
    max_file_size: u64,
) -> Result<Rendered, RenderError> {
    use super::helm::{chart, release, value::Value, values};
    let p = Path::new(path);
    let c = if p.is_dir() {
        chart::load_dir(p)
    } else {
        let bytes =
            crate::discover::read_file(path, p, max_file_size).map_err(|d| refused(path, d))?;
        chart::untar(&bytes)
            .map_err(|e| chart::ChartError::msg(path, e))
            .and_then(chart::load_files)
    }
    .map_err(|source| RenderError::Chart {
        path: path.to_string(),
        source,
    })?;
    let mut vals = super::helm::value::Map::new();
    for f in &helm.values {
        let text = std::fs::read_to_string(f).map_err(|e| read_path(f, e))?;
        match values::from_yaml_str(&text) {
            Ok(Value::Map(m)) => values::merge_over(&mut vals, &m.borrow()),
            Ok(Value::Nil) => {}
            Ok(_) => return Err(RenderError::ValuesNotMapping { path: f.clone() }),
            Err(message) => {
                return Err(RenderError::ValuesYaml {
                    path: f.clone(),
                    message,
                })
            }
        }
    }
    let located = release::Located {
        chart: c,
        display: path.trim_end_matches('/').to_string(),
    };
    let opts = super::helm::RenderOpts {
        release_name: helm.release_name.clone(),
        namespace: helm.namespace.clone(),
        kube_version: helm.options.kube_version.unwrap_or((1, 36, 0)),
        include_crds: true,
        source_map: true,
        api_versions: Vec::new(),
    };
    let mut out = Rendered::default();
    let label = format!("chart {}", located.chart.name);
    // `kgate render` prints objects, not findings: no values lines to trace.
    let sources = super::helm::provenance::ValueSources::default();
    release::render_located(files, &located, &vals, &opts, &label, &sources, &mut out);
    Ok(out)
}

/// `render_path` with Helm settings (chart cache, values files, release name, namespace).
pub fn render_path_with(
    path: &str,
    opts: &RenderOptions,
    show_secrets: bool,
    helm: &HelmCli,
) -> Result<RenderOutput, RenderError> {
    let p = Path::new(path);
    let meta = std::fs::metadata(p).map_err(|e| read_path(path, e))?;
    let files = Files::new();
    let max_file_size = opts.max_file_size;
    let (root_dir, target) = if meta.is_dir() {
        (p.to_path_buf(), None)
    } else {
        (
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
            Some(p),
        )
    };
    let root = repo_root(&root_dir.to_string_lossy());
    let vfs = DiskFs::new(&root);
    let renderer = Renderer::new(&vfs, &files, opts);
    let mut rendered = Vec::new();
    let is_chart = (meta.is_dir() && p.join("Chart.yaml").is_file())
        || (meta.is_file() && (path.ends_with(".tgz") || path.ends_with(".tar.gz")));
    match target {
        _ if is_chart => rendered.push(render_chart(path, &files, helm, max_file_size)?),
        None => rendered.push(render_dir_with(&renderer, &relative(p, &root))),
        Some(file) => {
            // The named file is held to --max-file-size (and must be a regular file) like
            // every file a check reads.
            let bytes = crate::discover::read_file(path, file, max_file_size)
                .map_err(|d| refused(path, d))?;
            let text =
                crate::load::decode(path, &bytes).map_err(|d| RenderError::Decode(Box::new(d)))?;
            let f = files.add(path, text);
            let loaded = crate::load::load_file(&files, &f, &opts.limits);
            // substituteFrom ConfigMaps and Secrets may live anywhere in the repository.
            let discover = crate::discover::DiscoverOptions {
                max_file_size,
                ..Default::default()
            };
            let (repo, _) = crate::gather::load_paths(
                &files,
                &[root.to_string_lossy().to_string()],
                &discover,
                &opts.limits,
            )?;
            let sources =
                SubstitutionSources::from_manifests(repo.manifests.iter().chain(&loaded.manifests));
            let flux: Vec<_> = loaded
                .manifests
                .iter()
                .filter(|m| is_flux_kustomization(m))
                .collect();
            let releases: Vec<_> = loaded
                .manifests
                .iter()
                .filter(|m| super::helm::release::is_helm_release(m))
                .collect();
            if flux.is_empty() && releases.is_empty() {
                return Err(RenderError::NothingToRender {
                    path: path.to_string(),
                });
            }
            for m in flux {
                rendered.push(render_flux_with(&renderer, m, &sources));
            }
            let all: Vec<&crate::manifest::Manifest> =
                repo.manifests.iter().chain(&loaded.manifests).collect();
            for m in releases {
                rendered.push(super::helm::release::render_release(
                    &renderer,
                    m,
                    &all,
                    &sources,
                    &helm.options,
                ));
            }
        }
    }
    // Values that substitution put into objects (a Flux variable named like a credential, a
    // substituteFrom Secret's value): scrubbed from every rendered string and finding.
    let mut substituted = BTreeSet::new();
    let mut diagnostics = Vec::new();
    for r in &rendered {
        substituted.extend(r.secrets.values.iter().cloned());
        substituted.extend(r.secrets.global.iter().cloned());
        diagnostics.extend(r.diagnostics.iter().cloned());
    }
    let mut scrubber = crate::redact::Scrubber::default();
    scrubber.add_global(substituted.iter().cloned());
    let mut nodes = Vec::new();
    for r in &rendered {
        for m in &r.manifests {
            let mut node = m.node.clone();
            // What is secret is decided once for every output (check::secrets): Secret data,
            // credentials by name or shape anywhere, secret parts of longer texts.
            let found = crate::redact::find_secrets_in(m, &files);
            let mut scope: BTreeSet<String> = BTreeSet::from([m.file.path.clone()]);
            scope.extend(found.spans.iter().map(|(id, _, _)| files.path(*id)));
            let scope: Vec<String> = scope.into_iter().collect();
            scrubber.add(&found, &scope, Some(&m.resource));
            if show_secrets {
                nodes.push(node);
                continue;
            }
            crate::redact::redact_object(&mut node, &m.json);
            scrub_node(&mut node, &substituted);
            nodes.push(node);
        }
    }
    let refs: Vec<&Node> = nodes.iter().collect();
    let yaml = emit::to_yaml_stream(&refs);
    let mut diagnostics = attribute_and_merge(&files, diagnostics);
    scrubber.scrub_all(&mut diagnostics);
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics.dedup();
    let lines = diagnostics
        .iter()
        .map(|d| {
            let (line, col) = d.span.map(|s| (s.line, s.col)).unwrap_or((0, 0));
            format!(
                "{}:{line}:{col}: {} [{}] {}",
                d.file, d.severity, d.code, d.message
            )
        })
        .collect();
    Ok(RenderOutput {
        yaml,
        diagnostics,
        lines,
    })
}
