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

/// A repository URL as Argo CD compares them (`git.NormalizeGitURL`): case, scheme, user,
/// `.git` suffix, trailing `/` and the scp-like `git@host:path` spelling do not matter.
pub fn normalize_repo_url(url: &str) -> String {
    let mut u = url.trim().to_ascii_lowercase();
    if let Some((_, rest)) = u.split_once("://") {
        u = rest.to_string();
    } else if let Some((host, path)) = u.split_once(':') {
        // `git@github.com:org/repo`
        u = format!("{host}/{path}");
    }
    if let Some((_, rest)) = u.split_once('@').filter(|(user, _)| !user.contains('/')) {
        u = rest.to_string();
    }
    let u = u.trim_end_matches('/');
    u.strip_suffix(".git").unwrap_or(u).to_string()
}

/// The repository URLs that name this repository: those of Argo CD sources kgate reads from
/// it (a `path:` source of any Application here — an app-of-apps points at its own
/// repository), normalized.
pub fn repository_urls(repo: &[&Manifest]) -> std::collections::BTreeSet<String> {
    repo.iter()
        .filter(|m| is_application(m))
        .flat_map(|m| sources(m).into_iter().map(|(_, s)| s.clone()))
        .filter(|s| s.get("path").and_then(|p| p.as_str()).is_some())
        .filter_map(|s| {
            s.get("repoURL")
                .and_then(|u| u.as_str())
                .map(normalize_repo_url)
        })
        .collect()
}

/// Where a `$ref/path` values file of a multi-source Application is: `Ok(repository path)`
/// when the `ref:` source is this repository, else why it is not read.
fn ref_value_file(
    app: &Manifest,
    own: &std::collections::BTreeSet<String>,
    file: &str,
) -> Result<String, String> {
    let (name, rest) = file.split_once('/').unwrap_or((file, ""));
    let target = sources(app)
        .into_iter()
        .map(|(_, s)| s)
        .find(|s| s.get("ref").and_then(|r| r.as_str()) == Some(name.trim_start_matches('$')));
    let Some(target) = target else {
        return Err(format!(
            "values file `{file}` names no source with `ref: {}`; not read",
            name.trim_start_matches('$')
        ));
    };
    let url = target.get("repoURL").and_then(|u| u.as_str()).unwrap_or("");
    if !own.contains(&normalize_repo_url(url)) {
        return Err(format!(
            "values file `{file}` is in the `ref` source's repository {url:?}, not this one (no Argo CD source of this repository names it); kgate never fetches other repositories, so it is not read"
        ));
    }
    // Argo CD resolves the rest against the referenced repository's root and refuses to leave it.
    normalize("", rest.trim_start_matches('/'))
        .ok_or_else(|| format!("values file `{file}` leaves the repository; not read"))
}

/// Renders every Helm source of an Application into one `Rendered`. `repo`: the repository's
/// objects (other Applications tell which repository URLs are this repository's).
pub fn render_application(
    r: &Renderer,
    app: &Manifest,
    repo: &[&Manifest],
    hopts: &HelmOptions,
) -> Rendered {
    let label = application_label(app);
    let mut out = Rendered::default();
    let own = repository_urls(repo);
    let own_app = repository_urls(&[app]);
    let own: std::collections::BTreeSet<String> = own.union(&own_app).cloned().collect();
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
        // valueFiles, in order: relative to the source path for a chart folder of this
        // repository, files of the chart package for a Helm repository chart, `$ref/path` in
        // another source's repository (read when that is this repository); URLs are not fetched.
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
            // `$ref/path`: a file of another source (multi-source Applications), read when
            // that source is this repository.
            let by_ref = f.starts_with('$');
            let remote = matches!(source, HelmSource::Remote(..));
            let path = if f.contains("://") {
                Err(format!(
                    "values file `{f}` is a URL Argo CD downloads; kgate never fetches, so it is not read"
                ))
            } else if by_ref {
                ref_value_file(app, &own, f)
            } else if remote {
                // A plain path of a Helm repository chart is a file of the chart package.
                Ok(f.trim_start_matches("./").to_string())
            } else {
                normalize(&dir, f).ok_or_else(|| {
                    format!("values file `{f}` is not a file of this repository's chart source; not read")
                })
            };
            let path = match path {
                Ok(p) => p,
                Err(msg) => {
                    fail(&mut out, "render/unsupported", Severity::Warning, msg, ptr);
                    continue;
                }
            };
            if by_ref && !r.vfs.is_file(&path) {
                // The repository URL says this repository, yet the file is not here: perhaps
                // the `ref` source is at another revision. A coverage gap, not an error.
                if !ignore_missing {
                    fail(
                        &mut out,
                        "render/unsupported",
                        Severity::Warning,
                        format!("values file `{f}` (`{}` of this repository) is not in this revision; not read", r.vfs.display(&path)),
                        ptr,
                    );
                }
                continue;
            }
            let read = if remote && !by_ref {
                let c = &located.chart;
                match path.as_str() {
                    "values.yaml" => Ok(c.values_text.clone().into_bytes()),
                    p => c
                        .files
                        .get(p)
                        .cloned()
                        .ok_or_else(|| format!("no file {p:?} in chart {}", c.name)),
                }
            } else {
                r.vfs
                    .read(&path, r.opts.max_file_size)
                    .map_err(|e| e.to_string())
            };
            match read {
                Ok(bytes) => match values::from_yaml_str(&String::from_utf8_lossy(&bytes)) {
                    Ok(Value::Map(m)) => {
                        if !remote || by_ref {
                            sources.push_file(
                                "Argo CD helm.valueFiles",
                                &r.vfs.display(&path),
                                &String::from_utf8_lossy(&bytes),
                            );
                        }
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
            // `helm.kubeVersion` / `helm.apiVersions` stand in for the target cluster's, which
            // Argo CD passes to `helm template` (`--kube-version`, `--api-versions`).
            kube_version: helm
                .get("kubeVersion")
                .and_then(|v| v.as_str())
                .and_then(super::release::parse_kube_version)
                .or(hopts.kube_version)
                .unwrap_or((1, 36, 0)),
            include_crds: !helm
                .get("skipCrds")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            source_map: true,
            api_versions: helm
                .get("apiVersions")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        };
        render_located(r.files, &located, &vals, &opts, &label, &sources, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize_repo_url as n;

    #[test]
    fn repository_urls_compare_as_argo_cd_normalizes_them() {
        let same = [
            "https://git.example.com/team/fleet.git",
            "https://GIT.example.com/team/fleet/",
            "git@git.example.com:team/fleet",
            "ssh://git@git.example.com/team/fleet.git",
            "https://user@git.example.com/team/fleet",
        ];
        for u in same {
            assert_eq!(n(u), "git.example.com/team/fleet", "{u}");
        }
        assert_ne!(n("https://git.example.com/team/other"), n(same[0]));
    }
}
