//! Argo CD Applications whose source is a Helm chart, rendered as Argo CD's repo-server renders
//! them (`helm template`): a chart folder of the repository (`source.path` holding `Chart.yaml`)
//! or a chart of a Helm repository (`source.chart` at `targetRevision`) from the chart cache;
//! values as Argo CD layers them — chart defaults ← `helm.valueFiles` (in order, relative to the
//! source path) ← `helm.values` / `helm.valuesObject` ← `helm.parameters`; release name
//! `helm.releaseName` or the Application's name; the destination namespace.

use super::provenance::{self, ValueSources};
use super::release::{
    find_in_cache, load_from_vfs, render_located, set_path, HelmOptions, Located,
};
use super::value::{Map, Value};
use super::{values, RenderOpts};
use crate::diagnostic::Severity;
use crate::manifest::Manifest;
use crate::render::{Rendered, Renderer};
use crate::vfs::{normalize, Vfs};

pub fn is_application(m: &Manifest) -> bool {
    m.resource.kind == "Application" && m.group() == "argoproj.io"
}

/// `Application ns/name (file)`: what the chart's objects were rendered for.
pub fn application_label(m: &Manifest) -> String {
    let at = m.rendered_for.as_deref().unwrap_or(&m.file.path);
    match &m.resource.namespace {
        Some(ns) => format!("Application {ns}/{} ({at})", m.resource.name),
        None => format!("Application {} ({at})", m.resource.name),
    }
}

/// The namespace Argo CD gives the release: the destination's, else `default`.
pub fn application_namespace(m: &Manifest) -> String {
    m.json
        .pointer("/spec/destination/namespace")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string()
}

/// The sources of an Application, with their JSON pointer.
fn sources(app: &Manifest) -> Vec<(String, &serde_json::Value)> {
    match app.json.pointer("/spec/sources").and_then(|v| v.as_array()) {
        Some(list) if !list.is_empty() => list
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("/spec/sources/{i}"), s))
            .collect(),
        _ => app
            .json
            .pointer("/spec/source")
            .map(|s| vec![("/spec/source".to_string(), s)])
            .unwrap_or_default(),
    }
}

/// Whether the Application has a Helm source kgate renders (a chart folder of the repository or
/// a Helm repository chart); plain folders are the kustomize/directory renderer's.
pub fn has_helm_source(r: &Renderer, app: &Manifest) -> bool {
    sources(app)
        .iter()
        .any(|(_, s)| helm_source(r.vfs, s).is_some())
}

/// Repository paths of the chart folders (of this repository) the Application's sources deploy.
pub fn chart_folders(vfs: &dyn Vfs, app: &Manifest) -> Vec<String> {
    sources(app)
        .iter()
        .filter_map(|(_, s)| match helm_source(vfs, s)? {
            HelmSource::Folder(dir) => Some(dir),
            HelmSource::Remote(..) => None,
        })
        .collect()
}

enum HelmSource {
    /// Repository path of a chart folder.
    Folder(String),
    /// A chart of a Helm repository: name and version constraint.
    Remote(String, String),
}

fn helm_source(vfs: &dyn Vfs, s: &serde_json::Value) -> Option<HelmSource> {
    if let Some(chart) = s.get("chart").and_then(|c| c.as_str()) {
        let version = s
            .get("targetRevision")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        return Some(HelmSource::Remote(chart.to_string(), version.to_string()));
    }
    let path = s.get("path").and_then(|p| p.as_str())?;
    let dir = normalize("", path)?;
    let chart_file = if dir.is_empty() {
        "Chart.yaml".to_string()
    } else {
        format!("{dir}/Chart.yaml")
    };
    vfs.is_file(&chart_file).then_some(HelmSource::Folder(dir))
}

/// Renders every Helm source of an Application into one `Rendered`.
pub fn render_application(r: &Renderer, app: &Manifest, hopts: &HelmOptions) -> Rendered {
    let label = application_label(app);
    let mut out = Rendered::default();
    for (at, s) in sources(app) {
        let Some(source) = helm_source(r.vfs, s) else {
            continue;
        };
        let fail = |out: &mut Rendered, code: &str, sev: Severity, msg: String, ptr: String| {
            let mut d = app.diagnostic(code, sev, msg, Some(ptr));
            d.rendered_for = Some(label.clone());
            out.diagnostics.push(d);
        };
        let (located, dir) = match &source {
            HelmSource::Folder(dir) => match load_from_vfs(r.vfs, dir, r.opts.max_file_size) {
                Ok(chart) => (
                    Located {
                        chart,
                        display: r.vfs.display(dir),
                    },
                    dir.clone(),
                ),
                Err(e) => {
                    fail(
                        &mut out,
                        "render/helm",
                        Severity::Error,
                        e.to_string(),
                        format!("{at}/path"),
                    );
                    continue;
                }
            },
            HelmSource::Remote(name, version) => {
                let found = hopts
                    .chart_cache
                    .as_deref()
                    .and_then(|cache| find_in_cache(cache, name, version));
                let Some((path, _)) = found else {
                    let msg = format!(
                        "chart {name} {version} is not in the repository and {}; kgate never fetches charts",
                        match &hopts.chart_cache {
                            Some(c) => format!("not in the chart cache {}", c.display()),
                            None => "no chart cache is set (--chart-cache)".to_string(),
                        }
                    );
                    fail(
                        &mut out,
                        "render/unsupported",
                        Severity::Warning,
                        msg,
                        format!("{at}/chart"),
                    );
                    continue;
                };
                match super::release::load_cached(&path) {
                    Ok(chart) => (
                        Located {
                            chart,
                            display: path.display().to_string(),
                        },
                        String::new(),
                    ),
                    Err(e) => {
                        fail(
                            &mut out,
                            "render/helm",
                            Severity::Error,
                            e.to_string(),
                            format!("{at}/chart"),
                        );
                        continue;
                    }
                }
            }
        };
        let helm = s.get("helm").cloned().unwrap_or_default();
        let mut vals = Map::new();
        // The values documents in Argo CD's order, for the values line findings point at.
        let mut sources = ValueSources::default();
        if let HelmSource::Folder(dir) = &source {
            sources.push_chart_defaults(r.vfs, dir, r.opts.max_file_size);
        }
        let node_at = |ptr: &str| {
            let segments = crate::yaml::split_pointer(ptr);
            let (n, depth) = app.node.walk(&segments);
            (depth == segments.len()).then_some(n)
        };
        // valueFiles, in order, relative to the source path (only for a chart of this
        // repository: a remote chart's files are not here).
        let files: Vec<&str> = helm
            .get("valueFiles")
            .and_then(|v| v.as_array())
            .map(|l| l.iter().filter_map(|f| f.as_str()).collect())
            .unwrap_or_default();
        let ignore_missing = helm
            .get("ignoreMissingValueFiles")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let mut broken = false;
        for (i, f) in files.iter().enumerate() {
            let ptr = format!("{at}/helm/valueFiles/{i}");
            let Some(path) = normalize(&dir, f).filter(|_| !f.starts_with('$')) else {
                // `$ref/path` of another source, or a path that leaves the repository: not read.
                fail(
                    &mut out,
                    "render/unsupported",
                    Severity::Warning,
                    format!("values file `{f}` is not a file of this repository's chart source; not read"),
                    ptr,
                );
                continue;
            };
            match r.vfs.read(&path, r.opts.max_file_size) {
                Ok(bytes) => match values::from_yaml_str(&String::from_utf8_lossy(&bytes)) {
                    Ok(Value::Map(m)) => {
                        sources.push_file(
                            "Argo CD helm.valueFiles",
                            &r.vfs.display(&path),
                            &String::from_utf8_lossy(&bytes),
                        );
                        values::merge_over(&mut vals, &m.borrow())
                    }
                    Ok(_) => {}
                    Err(e) => {
                        fail(
                            &mut out,
                            "render/helm",
                            Severity::Error,
                            format!("values file {f}: {e}"),
                            ptr,
                        );
                        broken = true;
                    }
                },
                Err(_) if ignore_missing => {}
                Err(e) => {
                    fail(
                        &mut out,
                        "render/helm",
                        Severity::Error,
                        format!("values file {f} cannot be read: {e} (Argo CD fails the sync unless ignoreMissingValueFiles)"),
                        ptr,
                    );
                    broken = true;
                }
            }
        }
        // `values` (a YAML string), then `valuesObject`, which wins over it.
        if let Some(text) = helm.get("values").and_then(|v| v.as_str()) {
            if let Some(field) = node_at(&format!("{at}/helm/values")) {
                sources.push_embedded(
                    r.files,
                    "the Application's helm.values",
                    field,
                    text,
                    Vec::new(),
                    false,
                );
            }
            match values::from_yaml_str(text) {
                Ok(Value::Map(m)) => values::merge_over(&mut vals, &m.borrow()),
                Ok(_) => {}
                Err(e) => {
                    fail(
                        &mut out,
                        "render/helm",
                        Severity::Error,
                        format!("helm.values: {e}"),
                        format!("{at}/helm/values"),
                    );
                    broken = true;
                }
            }
        }
        if let Some(obj) = helm.get("valuesObject") {
            if let Some(n) = node_at(&format!("{at}/helm/valuesObject")) {
                sources.push_node("the Application's helm.valuesObject", n, Vec::new());
            }
            if let Value::Map(m) = values::from_json(obj) {
                values::merge_over(&mut vals, &m.borrow());
            }
        }
        for (i, p) in helm
            .get("parameters")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (Some(name), Some(value)) = (
                p.get("name").and_then(|n| n.as_str()),
                p.get("value").and_then(|n| n.as_str()),
            ) else {
                continue;
            };
            let force = p
                .get("forceString")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            // strvals typing as `helm --set`, unless `forceString`.
            let typed = if force {
                Value::from(value)
            } else {
                super::release::typed(value)
            };
            set_path(&mut vals, name, typed);
            if let Some(n) = node_at(&format!("{at}/helm/parameters/{i}/value")) {
                sources.push_node(
                    "the Application's helm.parameters",
                    n,
                    provenance::dotted(name),
                );
            }
        }
        if broken {
            continue;
        }
        let release_name = helm
            .get("releaseName")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(&app.resource.name)
            .to_string();
        let opts = RenderOpts {
            release_name,
            namespace: application_namespace(app),
            kube_version: hopts.kube_version.unwrap_or((1, 36, 0)),
            include_crds: !helm
                .get("skipCrds")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            source_map: true,
        };
        render_located(r.files, &located, &vals, &opts, &label, &sources, &mut out);
    }
    out
}
