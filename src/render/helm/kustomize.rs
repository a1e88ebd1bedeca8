//! kustomize's `helmCharts` (the HelmChartInflationGenerator that `kustomize build
//! --enable-helm` and Argo CD run), from charts already in the repository: `helmGlobals.chartHome`
//! (default `charts` next to the kustomization) holds `NAME/` (or `NAME-VERSION/NAME/`, where
//! kustomize pulls a versioned chart). Values as kustomize passes them to `helm template`: the
//! chart's defaults ← `valuesFile` ← `valuesInline` (`valuesMerge: override|merge|replace`) ←
//! `additionalValuesFiles`; `releaseName`, else `nameTemplate` (rendered as Helm renders
//! `--name-template`), else `release-name`: kustomize then passes `--generate-name`, which
//! `helm template` ignores because it presets the name `release-name` (helm/helm#6019, Helm's
//! `Install.NameAndChart`); `namespace`, `includeCRDs` (default false), `skipHooks`,
//! `skipTests`, `kubeVersion`, `apiVersions` (added to `.Capabilities.APIVersions`). The
//! chart's objects join the build as generated resources, so
//! the kustomization's transformers and patches apply to them. A chart that is not there is
//! `render/unsupported`: kgate never pulls.

use super::provenance::ValueSources;
use super::release::{load_from_vfs, render_located, Located};
use super::value::{unwrap_map, Map, Value};
use super::{values, RenderOpts};
use crate::render::kustomize::{Build, Res};
use crate::render::{tree, Rendered};
use crate::vfs::normalize;
use crate::yaml::Node;

/// The text of a scalar field of a helmCharts entry.
fn text(n: &Node, key: &str) -> Option<String> {
    n.get(key).and_then(tree::scalar_text)
}

fn flag(n: &Node, key: &str) -> Option<bool> {
    match n.get(key).map(|v| &v.value) {
        Some(crate::yaml::Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

/// Reads a values file of the repository (a path relative to the kustomization); a missing or
/// broken one fails the build, as `helm template -f` does. Its lines are a values source.
fn values_file(
    b: &mut Build,
    dir: &str,
    rel: &str,
    at: &Node,
    label: &str,
    sources: &mut ValueSources,
) -> Option<Map> {
    let path = b.resolve(dir, rel, at.span)?;
    let bytes = match b.r.vfs.read(&path, b.r.opts.max_file_size) {
        Ok(bytes) => bytes,
        Err(e) => {
            b.error(
                "render/missing",
                format!(
                    "values file `{}` cannot be read: {e}",
                    b.r.vfs.display(&path)
                ),
                at.span,
            );
            return None;
        }
    };
    b.out.consumed.insert(b.r.vfs.display(&path));
    let text = String::from_utf8_lossy(&bytes);
    sources.push_file(label, &b.r.vfs.display(&path), &text);
    match values::from_yaml_str(&text) {
        Ok(Value::Map(m)) => Some(unwrap_map(m)),
        Ok(_) => Some(Map::new()),
        Err(e) => {
            b.error(
                "render/helm",
                format!("values file `{}`: {e}", b.r.vfs.display(&path)),
                at.span,
            );
            None
        }
    }
}

/// `helmGlobals.chartHome` of a kustomization, as written (default `charts`).
fn chart_home(k: &Node) -> String {
    k.get("helmGlobals")
        .and_then(|g| text(g, "chartHome"))
        .unwrap_or_else(|| "charts".to_string())
}

/// The folder of a helmCharts entry's chart under `home` (a repository path), as kustomize's
/// absChartHome: a chart with a version *and* a repo is pulled into `NAME-VERSION/NAME`; any
/// other lives in `NAME`.
fn chart_dir(home: &str, entry: &Node, name: &str) -> String {
    let version = text(entry, "version").unwrap_or_default();
    let repo = text(entry, "repo").unwrap_or_default();
    let rel = if !version.is_empty() && !repo.is_empty() {
        format!("{name}-{version}/{name}")
    } else {
        name.to_string()
    };
    if home.is_empty() {
        rel
    } else {
        format!("{home}/{rel}")
    }
}

/// Repository paths of the chart folders the helmCharts entries of the kustomization in `dir`
/// name (whether or not they exist).
pub fn chart_folders(dir: &str, k: &Node) -> Vec<String> {
    let Some(list) = k.get("helmCharts").and_then(Node::as_seq) else {
        return Vec::new();
    };
    let Some(home) = normalize(dir, &chart_home(k)) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|entry| Some(chart_dir(&home, entry, &text(entry, "name")?)))
        .collect()
}

/// Inflates every `helmCharts` entry of the kustomization in `dir` into `res`.
pub(crate) fn inflate(b: &mut Build, dir: &str, k: &Node, res: &mut Vec<Res>) {
    let Some(list) = k.get("helmCharts").and_then(Node::as_seq) else {
        return;
    };
    let home_rel = chart_home(k);
    for entry in list {
        let Some(name) = text(entry, "name") else {
            b.error(
                "render/invalid",
                "a helmCharts entry needs a `name`",
                entry.span,
            );
            continue;
        };
        let version = text(entry, "version").unwrap_or_default();
        let Some(home) = normalize(dir, &home_rel) else {
            b.error(
                "render/outside-root",
                format!("chartHome `{home_rel}` leaves the repository"),
                entry.span,
            );
            continue;
        };
        let chart_dir = chart_dir(&home, entry, &name);
        if !b.r.vfs.is_file(&format!("{chart_dir}/Chart.yaml")) {
            b.unrendered = true;
            b.warning(
                "render/unsupported",
                format!(
                    "helm chart `{name}`{} is not in chartHome `{}`; kgate never pulls charts, so \
                     its objects are not checked (commit the chart, as `kustomize build \
                     --enable-helm` leaves it there)",
                    if version.is_empty() {
                        String::new()
                    } else {
                        format!(" {version}")
                    },
                    b.r.vfs.display(&home)
                ),
                entry.span,
            );
            continue;
        }
        let chart = match load_from_vfs(b.r.vfs, &chart_dir, b.r.opts.max_file_size) {
            Ok(c) => c,
            Err(e) => {
                b.error("render/helm", e.to_string(), entry.span);
                continue;
            }
        };
        // valuesFile (default: the chart's own values.yaml, as kustomize passes it to helm),
        // then valuesInline by valuesMerge, then additionalValuesFiles.
        let mut vals = chart.values.clone();
        // The values documents in merge order, for the values line findings point at.
        let mut sources = ValueSources::default();
        sources.push_chart_defaults(b.r.vfs, &chart_dir, b.r.opts.max_file_size);
        let mut file_sources = ValueSources::default();
        if let Some((rel, at)) = entry
            .get("valuesFile")
            .and_then(|n| tree::scalar_text(n).map(|t| (t, n)))
        {
            match values_file(b, dir, &rel, at, "helmCharts valuesFile", &mut file_sources) {
                Some(m) => vals = m,
                None => continue,
            }
        }
        let merge = text(entry, "valuesMerge");
        let inline = entry.get("valuesInline");
        if let Some(inline) = inline {
            if let Value::Map(m) = values::from_json(&inline.to_json()) {
                match merge.as_deref() {
                    Some("replace") => vals = m.borrow().clone(),
                    // `merge` keeps the file's values where both set one; `override` (the
                    // default) lets the inline values win.
                    Some("merge") => {
                        let mut merged = m.borrow().clone();
                        values::merge_over(&mut merged, &vals);
                        vals = merged;
                    }
                    _ => values::merge_over(&mut vals, &m.borrow()),
                }
            }
        }
        let inline_source = |sources: &mut ValueSources| {
            if let Some(n) = inline {
                sources.push_node("helmCharts valuesInline", n, Vec::new());
            }
        };
        match merge.as_deref() {
            Some("replace") => inline_source(&mut sources),
            Some("merge") => {
                inline_source(&mut sources);
                sources.append(file_sources);
            }
            _ => {
                sources.append(file_sources);
                inline_source(&mut sources);
            }
        }
        let mut broken = false;
        for extra in entry
            .get("additionalValuesFiles")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let Some(rel) = tree::scalar_text(extra) else {
                continue;
            };
            match values_file(
                b,
                dir,
                &rel,
                extra,
                "helmCharts additionalValuesFiles",
                &mut sources,
            ) {
                Some(m) => values::merge_over(&mut vals, &m),
                None => broken = true,
            }
        }
        if broken {
            continue;
        }
        let Some(release_name) = release_name(b, entry) else {
            continue;
        };
        let opts = RenderOpts {
            release_name,
            namespace: text(entry, "namespace").unwrap_or_else(|| "default".into()),
            kube_version: text(entry, "kubeVersion")
                .as_deref()
                .and_then(super::release::parse_kube_version)
                .or(b.r.opts.helm.kube_version)
                .unwrap_or((1, 36, 0)),
            include_crds: flag(entry, "includeCRDs").unwrap_or(false),
            source_map: true,
            api_versions: entry
                .get("apiVersions")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(tree::scalar_text)
                .collect(),
        };
        let located = Located {
            display: b.r.vfs.display(&chart_dir),
            chart,
        };
        let mut out = Rendered::default();
        render_located(b.r.files, &located, &vals, &opts, "", &sources, &mut out);
        b.out.charts.append(&mut out.charts);
        let skip_hooks = flag(entry, "skipHooks").unwrap_or(false);
        let skip_tests = flag(entry, "skipTests").unwrap_or(false);
        // Findings of the chart (render/helm) name the kustomization like every other.
        for mut d in out.diagnostics {
            d.rendered_for = None;
            b.out.diagnostics.push(d);
        }
        for m in out.manifests {
            // `--no-hooks` drops every hook, `--skip-tests` the test hooks.
            if (skip_hooks && hook(&m.json).is_some())
                || (skip_tests
                    && hook(&m.json)
                        .is_some_and(|h| h.split(',').any(|k| k.trim().starts_with("test"))))
            {
                continue;
            }
            let mut r = Res::new(m.node, m.file);
            r.value_origins = m.value_origins;
            res.push(r);
        }
    }
}

/// The release name `helm template` uses for an entry (see the module comment); `None` after a
/// `render/helm` finding when Helm refuses the arguments.
fn release_name(b: &mut Build, entry: &Node) -> Option<String> {
    let at = entry
        .get("nameTemplate")
        .or_else(|| entry.get("releaseName"))
        .unwrap_or(entry);
    let name = match (text(entry, "releaseName"), text(entry, "nameTemplate")) {
        (Some(_), Some(_)) => {
            b.error(
                "render/helm",
                "helm template refuses `releaseName` together with `nameTemplate`: cannot set --name-template and also specify a name",
                at.span,
            );
            None
        }
        (Some(name), None) => Some(name),
        (None, Some(tpl)) => {
            // Helm's TemplateName: the template with Sprig's functions and no data.
            let set = super::exec::TemplateSet::default();
            let name = set
                .add("name-template", &tpl)
                .and_then(|()| set.execute("name-template", &Value::Nil));
            match name {
                Ok(name) => Some(name),
                Err(e) => {
                    b.error("render/helm", format!("nameTemplate: {}", e.msg), at.span);
                    None
                }
            }
        }
        (None, None) => Some("release-name".into()),
    }?;
    // Helm's ValidateReleaseName, before it renders anything.
    if !valid_release_name(&name) {
        b.error(
            "render/helm",
            format!(
                "release name {name:?}: invalid release name, must match regex \
                 ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the \
                 length must not be longer than 53"
            ),
            at.span,
        );
        return None;
    }
    Some(name)
}

/// Helm's release name rule: DNS-1123 subdomain labels, at most 53 characters.
fn valid_release_name(name: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !name.is_empty() && name.len() <= 53 && name.split('.').all(label)
}

/// The `helm.sh/hook` annotation of a rendered object.
fn hook(json: &serde_json::Value) -> Option<&str> {
    json.pointer("/metadata/annotations/helm.sh~1hook")
        .and_then(|h| h.as_str())
}
