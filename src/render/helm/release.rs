//! Flux `HelmRelease`s and chart folders as kgate renders them: find the chart offline (a folder
//! or vendored `.tgz` in the repository for a `GitRepository`/`Bucket` source, the chart cache
//! that `helm pull` fills for `HelmRepository`/`OCIRepository` sources), merge values as
//! helm-controller does (chart defaults ← `valuesFrom` ← `spec.values`), render, and turn the
//! output into manifests whose spans point at the template lines that produced them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;

use super::chart::{self, Chart, ChartError, RenderOpts, RenderedFile};
use super::provenance::{self, ValueSources};
use super::value::{Map, Value};
use super::values;
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::Manifest;
use crate::render::flux::SubstitutionSources;
use crate::render::{Rendered, Renderer};
use crate::source::{Files, SourceFile, Span};
use crate::vfs::{normalize, Vfs};
use crate::yaml::{self, Node};

/// Settings shared by every Helm render of a run.
#[derive(Debug, Clone, Default)]
pub struct HelmOptions {
    /// A folder of charts as `helm pull` leaves them (`NAME-VERSION.tgz`, or `NAME/` untarred),
    /// optionally one sub-folder per repository.
    pub chart_cache: Option<PathBuf>,
    /// `--kubernetes-version`, for `.Capabilities.KubeVersion`.
    pub kube_version: Option<(u64, u64, u64)>,
}

pub fn is_helm_release(m: &Manifest) -> bool {
    m.resource.kind == "HelmRelease" && m.group() == "helm.toolkit.fluxcd.io"
}

/// `HelmRelease ns/name (apps/prod)`: what its objects were rendered for — with the unit that
/// rendered the HelmRelease itself (or its file), since two overlays may patch one release.
pub fn release_label(m: &Manifest) -> String {
    let ns = m.resource.namespace.clone().unwrap_or_default();
    let at = m.rendered_for.as_deref().unwrap_or(&m.file.path);
    if ns.is_empty() {
        format!("HelmRelease {} ({at})", m.resource.name)
    } else {
        format!("HelmRelease {ns}/{} ({at})", m.resource.name)
    }
}

/// The namespace helm-controller installs the release's namespaced objects into.
pub fn release_namespace(hr: &Manifest) -> String {
    Some(s(&hr.json, "/spec/targetNamespace"))
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .or_else(|| hr.resource.namespace.clone())
        .unwrap_or_else(|| "default".into())
}

/// A located chart and the display path its files are reported under.
pub struct Located {
    pub chart: Chart,
    /// Display path of the chart folder (`apps/charts/web`, or the archive's path).
    pub display: String,
}

/// Parses `1.30`, `v1.30.2` into (major, minor, patch).
pub fn parse_kube_version(s: &str) -> Option<(u64, u64, u64)> {
    let t = s.trim().trim_start_matches('v');
    let mut it = t.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().unwrap_or("0").parse().ok()?;
    let patch = it
        .next()
        .map(|p| p.split(['-', '+']).next().unwrap_or("0"))
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    Some((major, minor, patch))
}

/// Loads a chart folder or `.tgz` from the repository.
pub fn load_from_vfs(vfs: &dyn Vfs, path: &str, max: u64) -> Result<Chart, ChartError> {
    if vfs.is_file(path) {
        let bytes = vfs
            .read(path, max)
            .map_err(|e| ChartError::msg(path, e.to_string()))?;
        let files = chart::untar(&bytes).map_err(|e| ChartError::msg(path, e))?;
        return chart::load_files(files);
    }
    let mut files = Vec::new();
    let mut stack = vec![path.trim_end_matches('/').to_string()];
    while let Some(dir) = stack.pop() {
        let entries = vfs
            .list_dir(&dir)
            .map_err(|e| ChartError::msg(&dir, e.to_string()))?;
        for name in entries {
            let full = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            if vfs.is_dir(&full) {
                stack.push(full);
            } else if vfs.is_file(&full) {
                let bytes = vfs
                    .read(&full, max)
                    .map_err(|e| ChartError::msg(&full, e.to_string()))?;
                let rel = full[path.trim_end_matches('/').len()..]
                    .trim_start_matches('/')
                    .to_string();
                files.push((rel, bytes));
            }
        }
    }
    chart::load_files(files)
}

/// The newest cached version of `name` satisfying `constraint` (any when empty or `*`).
pub fn find_in_cache(cache: &Path, name: &str, constraint: &str) -> Option<(PathBuf, String)> {
    let mut candidates: Vec<(PathBuf, String)> = Vec::new();
    let mut dirs = vec![cache.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(cache) {
        for e in rd.flatten() {
            if e.path().is_dir() && e.file_name().to_string_lossy() != name {
                dirs.push(e.path());
            }
        }
    }
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let f = e.file_name().to_string_lossy().to_string();
            let p = e.path();
            if let Some(v) = f
                .strip_suffix(".tgz")
                .and_then(|s| s.strip_prefix(name))
                .and_then(|s| s.strip_prefix('-'))
            {
                candidates.push((p, v.to_string()));
            } else if f == name && p.join("Chart.yaml").is_file() {
                // `helm pull --untar`: the version is in Chart.yaml.
                let v = std::fs::read_to_string(p.join("Chart.yaml"))
                    .ok()
                    .and_then(|t| values::from_yaml_str(&t).ok())
                    .and_then(|v| match v {
                        Value::Map(m) => m.borrow().get("version").map(super::funcs::strval),
                        _ => None,
                    })
                    .unwrap_or_default();
                candidates.push((p, v));
            }
        }
    }
    let c = constraint.trim();
    let mut ok: Vec<(PathBuf, String)> = candidates
        .into_iter()
        .filter(|(_, v)| {
            c.is_empty()
                || c == "*"
                || c == v
                || super::funcs::semver_compare(c, v).unwrap_or(false)
        })
        .collect();
    ok.sort_by(|a, b| version_order(&a.1, &b.1));
    ok.pop()
}

fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    let lt = super::funcs::semver_compare(&format!("<{b}"), a).unwrap_or(false);
    let gt = super::funcs::semver_compare(&format!(">{b}"), a).unwrap_or(false);
    if lt {
        std::cmp::Ordering::Less
    } else if gt {
        std::cmp::Ordering::Greater
    } else {
        a.cmp(b)
    }
}

pub(crate) fn load_cached(path: &Path) -> Result<Chart, ChartError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return chart::load_dir(path);
    }
    let bytes = std::fs::read(path).map_err(|e| ChartError::msg(&shown, e.to_string()))?;
    let files = chart::untar(&bytes).map_err(|e| ChartError::msg(&shown, e))?;
    chart::load_files(files)
}

fn s<'j>(j: &'j serde_json::Value, ptr: &str) -> &'j str {
    j.pointer(ptr).and_then(|v| v.as_str()).unwrap_or("")
}

/// Where a HelmRelease's chart is, or why it cannot be had offline.
pub fn locate(
    vfs: &dyn Vfs,
    hr: &Manifest,
    repo: &[&Manifest],
    hopts: &HelmOptions,
    max: u64,
) -> Result<Located, (String, Option<ChartError>)> {
    let j = &hr.json;
    let ns = hr.resource.namespace.clone().unwrap_or_default();
    if j.pointer("/spec/chartRef").is_some() {
        let kind = s(j, "/spec/chartRef/kind");
        let name = s(j, "/spec/chartRef/name");
        let rns = Some(s(j, "/spec/chartRef/namespace"))
            .filter(|n| !n.is_empty())
            .unwrap_or(&ns);
        let src = repo.iter().find(|m| {
            m.resource.kind == kind
                && m.resource.name == name
                && m.resource.namespace.as_deref().unwrap_or("") == rns
        });
        let Some(src) = src else {
            return Err((
                format!("{kind} {name} (chartRef) is not in the repository"),
                None,
            ));
        };
        let url = s(&src.json, "/spec/url");
        let chart_name = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let version = Some(s(&src.json, "/spec/ref/tag"))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| s(&src.json, "/spec/ref/semver"));
        return from_cache(hopts, chart_name, version, max);
    }
    let chart = s(j, "/spec/chart/spec/chart");
    let version = s(j, "/spec/chart/spec/version");
    let kind = s(j, "/spec/chart/spec/sourceRef/kind");
    match repository_chart_path(hr) {
        Some(path) => {
            let Some(path) = path else {
                return Err((format!("chart path {chart:?} leaves the repository"), None));
            };
            let chart_dir = vfs.is_dir(&path) && vfs.is_file(&format!("{path}/Chart.yaml"));
            if !chart_dir && !vfs.is_file(&path) {
                return Err((
                    format!("chart {chart:?} ({kind} source) is not a chart folder or archive in this repository"),
                    None,
                ));
            }
            let c = load_from_vfs(vfs, &path, max).map_err(|e| (e.to_string(), Some(e)))?;
            Ok(Located {
                chart: c,
                display: vfs.display(&path),
            })
        }
        None => from_cache(hopts, chart, version, max),
    }
}

/// The repository path of the chart a HelmRelease takes from a GitRepository or Bucket source
/// (read from this repository, offline): `Some(None)` when the path leaves the repository, None
/// for a chart of a Helm or OCI repository (or a `chartRef`).
fn repository_chart_path(hr: &Manifest) -> Option<Option<String>> {
    let j = &hr.json;
    if j.pointer("/spec/chartRef").is_some() {
        return None;
    }
    match s(j, "/spec/chart/spec/sourceRef/kind") {
        "GitRepository" | "Bucket" => {
            let chart = s(j, "/spec/chart/spec/chart");
            Some(normalize("", chart.trim_start_matches("./")))
        }
        _ => None,
    }
}

/// The chart folder of this repository a HelmRelease deploys, if it takes one from it.
pub fn chart_folder(vfs: &dyn Vfs, hr: &Manifest) -> Option<String> {
    let path = repository_chart_path(hr)??;
    let meta = if path.is_empty() {
        "Chart.yaml".to_string()
    } else {
        format!("{path}/Chart.yaml")
    };
    vfs.is_file(&meta).then_some(path)
}

fn from_cache(
    hopts: &HelmOptions,
    name: &str,
    version: &str,
    _max: u64,
) -> Result<Located, (String, Option<ChartError>)> {
    let shown = if version.is_empty() {
        name.to_string()
    } else {
        format!("{name} {version}")
    };
    let Some(cache) = &hopts.chart_cache else {
        return Err((
            format!("chart {shown} is not in the repository and no chart cache is set (--chart-cache); kgate never fetches charts"),
            None,
        ));
    };
    let Some((path, _)) = find_in_cache(cache, name, version) else {
        return Err((
            format!(
                "chart {shown} is not in the chart cache {}; kgate never fetches charts",
                cache.display()
            ),
            None,
        ));
    };
    let c = load_cached(&path).map_err(|e| (e.to_string(), Some(e)))?;
    Ok(Located {
        chart: c,
        display: path.display().to_string(),
    })
}

/// Sets `value` at dotted `path` (Flux `targetPath`, Helm `--set` style keys).
pub fn set_path(m: &mut Map, path: &str, value: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = m;
    for (i, p) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            cur.insert(p.to_string(), value);
            return;
        }
        let e = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::map(Map::new()));
        if !matches!(e, Value::Map(_)) {
            *e = Value::map(Map::new());
        }
        let Value::Map(inner) = e else { return };
        cur = std::rc::Rc::make_mut(inner).get_mut();
    }
}

/// strvals typing of a `--set` value: bools and integers are typed, the rest are strings.
pub(crate) fn typed(v: &str) -> Value {
    match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Nil,
        _ => match v.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::from(v),
        },
    }
}

/// helm-controller's values: each `valuesFrom` in order, then `spec.values`. Returns the
/// values, findings for missing non-optional references, and the secret values used.
pub fn release_values(
    hr: &Manifest,
    sources: &SubstitutionSources,
) -> (Map, Vec<Diagnostic>, Vec<String>) {
    let mut out = Map::new();
    let mut diags = Vec::new();
    let mut secrets = Vec::new();
    let ns = hr.resource.namespace.clone().unwrap_or_default();
    if let Some(list) = hr
        .json
        .pointer("/spec/valuesFrom")
        .and_then(|v| v.as_array())
    {
        for (i, vf) in list.iter().enumerate() {
            let kind = s(vf, "/kind");
            let name = s(vf, "/name");
            let key = Some(s(vf, "/valuesKey"))
                .filter(|k| !k.is_empty())
                .unwrap_or("values.yaml");
            let optional = vf.get("optional").and_then(|o| o.as_bool()) == Some(true);
            let data = sources
                .objects
                .get(&(kind.to_string(), ns.clone(), name.to_string()));
            let text = data.and_then(|d| d.get(key));
            let Some(text) = text else {
                if !optional {
                    diags.push(hr.diagnostic(
                        "render/helm",
                        Severity::Error,
                        format!("valuesFrom {kind} {ns}/{name} key {key:?} is not in the repository (helm-controller would fail to reconcile)"),
                        Some(format!("/spec/valuesFrom/{i}")),
                    ));
                }
                continue;
            };
            if kind == "Secret" {
                secrets.push(text.clone());
            }
            let target = s(vf, "/targetPath");
            if !target.is_empty() {
                set_path(&mut out, target, typed(text));
                continue;
            }
            match values::from_yaml_str(text) {
                Ok(Value::Map(m)) => values::merge_over(&mut out, &m.borrow()),
                Ok(_) => {}
                Err(e) => diags.push(hr.diagnostic(
                    "render/helm",
                    Severity::Error,
                    format!("valuesFrom {kind} {ns}/{name} key {key:?} is not valid YAML: {e}"),
                    Some(format!("/spec/valuesFrom/{i}")),
                )),
            }
        }
    }
    if let Some(v) = hr.json.pointer("/spec/values") {
        if let Value::Map(m) = values::from_json(v) {
            values::merge_over(&mut out, &m.borrow());
        }
    }
    (out, diags, secrets)
}

/// The values documents of a HelmRelease in helm-controller's merge order, for the values line
/// a finding points at: the chart's defaults (a chart folder of the repository), each
/// `valuesFrom` (a ConfigMap's key in its file; a Secret's key is pointed at, never read
/// into a position), then `spec.values`.
pub fn release_value_sources(r: &Renderer, hr: &Manifest, repo: &[&Manifest]) -> ValueSources {
    let mut out = ValueSources::default();
    let j = &hr.json;
    if j.pointer("/spec/chartRef").is_none()
        && matches!(
            s(j, "/spec/chart/spec/sourceRef/kind"),
            "GitRepository" | "Bucket"
        )
    {
        let chart = s(j, "/spec/chart/spec/chart");
        if let Some(dir) = normalize("", chart.trim_start_matches("./")).filter(|d| r.vfs.is_dir(d))
        {
            out.push_chart_defaults(r.vfs, &dir, r.opts.max_file_size);
        }
    }
    let ns = hr.resource.namespace.clone().unwrap_or_default();
    for vf in hr
        .json
        .pointer("/spec/valuesFrom")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let kind = s(vf, "/kind");
        let name = s(vf, "/name");
        let key = Some(s(vf, "/valuesKey"))
            .filter(|k| !k.is_empty())
            .unwrap_or("values.yaml");
        let Some(obj) = repo.iter().find(|m| {
            m.resource.kind == kind
                && m.group().is_empty()
                && m.resource.name == name
                && m.resource.namespace.as_deref().unwrap_or("") == ns
        }) else {
            continue;
        };
        let field_name = if kind == "Secret"
            && obj
                .node
                .get("stringData")
                .and_then(|d| d.get(key))
                .is_some()
        {
            "stringData"
        } else {
            "data"
        };
        let Some(field) = obj.node.get(field_name).and_then(|d| d.get(key)) else {
            continue;
        };
        let secret = kind == "Secret";
        let text = match (secret, field_name) {
            (true, "data") => field.as_str().and_then(decode_b64),
            _ => field.as_str().map(str::to_string),
        };
        let Some(text) = text else { continue };
        let target = s(vf, "/targetPath");
        out.push_embedded(
            r.files,
            format!("{kind} {name} key {key}, valuesFrom"),
            field,
            &text,
            provenance::dotted(target),
            secret,
        );
    }
    if let Some(values) = hr.node.get("spec").and_then(|s| s.get("values")) {
        out.push_node("the HelmRelease's spec.values", values, Vec::new());
    }
    out
}

/// Flux's default release name: `[<targetNamespace>-]<name>`.
pub fn release_name(hr: &Manifest) -> String {
    let explicit = s(&hr.json, "/spec/releaseName");
    if !explicit.is_empty() {
        return explicit.to_string();
    }
    let tns = s(&hr.json, "/spec/targetNamespace");
    if tns.is_empty() {
        hr.resource.name.clone()
    } else {
        format!("{tns}-{}", hr.resource.name)
    }
}

/// Turns rendered files into manifests with spans at the template lines. `display` maps a
/// Helm template name (`chart/templates/x.yaml`) to the path findings name.
pub fn to_manifests(
    files: &Files,
    rendered: &[RenderedFile],
    display: &dyn Fn(&str) -> String,
    template_text: &dyn Fn(&str) -> Option<String>,
    rendered_for: &str,
    sources: &ValueSources,
    out: &mut Rendered,
) {
    let limits = yaml::Limits::default();
    let mut template_files: BTreeMap<String, Arc<SourceFile>> = BTreeMap::new();
    for rf in rendered {
        // The rendered text is parsed as its own (virtual) file; spans are then moved to the
        // template that produced each line.
        let shown = display(&rf.name);
        let virt = SourceFile::new(format!("{shown} (rendered)"), rf.text.clone());
        let stream = yaml::parse_stream(&virt, &limits);
        if let Some(p) = stream.problems.first() {
            out.diagnostics.push(Diagnostic {
                rendered_for: Some(rendered_for.to_string()),
                file: shown.clone(),
                ..Diagnostic::new(
                    "render/helm",
                    Severity::Error,
                    format!("the chart rendered invalid YAML in {}: {p:?}", rf.name),
                )
            });
            continue;
        }
        let mut tfile = |name: &str| -> Option<Arc<SourceFile>> {
            let shown = display(name);
            if let Some(f) = template_files.get(&shown) {
                return Some(f.clone());
            }
            let f = files
                .by_path(&shown)
                .or_else(|| template_text(name).map(|t| files.add(shown.clone(), t)))?;
            template_files.insert(shown, f.clone());
            Some(f)
        };
        let own = tfile(&rf.name);
        let prefix = provenance::chart_prefix(&rf.name);
        for doc in stream.documents {
            let Some(mut node) = doc.root else { continue };
            if !matches!(node.value, yaml::Value::Map(_)) {
                continue;
            }
            // Which `.Values` each field printed, read on the rendered text's spans.
            let paths = provenance::node_paths(&node, &rf.marks, &rf.text);
            remap(&mut node, &virt, rf, &mut tfile);
            let Some(file) = own.clone() else { continue };
            let mut m = Manifest::from_node(node, file);
            if m.resource.kind.is_empty() {
                continue;
            }
            m.rendered_for = Some(rendered_for.to_string());
            m.value_origins = provenance::origins(files, &m.node, paths, &prefix, sources);
            out.manifests.push(m);
        }
    }
}

fn remap(
    node: &mut Node,
    virt: &SourceFile,
    rf: &RenderedFile,
    tfile: &mut dyn FnMut(&str) -> Option<Arc<SourceFile>>,
) {
    node.span = map_span(node.span, virt, rf, tfile);
    match &mut node.value {
        yaml::Value::Seq(items) => items.iter_mut().for_each(|n| remap(n, virt, rf, tfile)),
        yaml::Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                k.span = map_span(k.span, virt, rf, tfile);
                remap(v, virt, rf, tfile);
            }
        }
        _ => {}
    }
}

fn map_span(
    span: Span,
    _virt: &SourceFile,
    rf: &RenderedFile,
    tfile: &mut dyn FnMut(&str) -> Option<Arc<SourceFile>>,
) -> Span {
    let Some((name, pos)) = super::exec::origin(&rf.marks, span.start) else {
        return span;
    };
    let Some(f) = tfile(name) else { return span };
    let pos = pos.min(f.text.len());
    let mut sp = f.span_at_byte(pos);
    sp.file = f.id;
    sp
}

/// Renders one HelmRelease: chart located offline, values merged, output checked like any
/// rendered object.
pub fn render_release(
    r: &Renderer,
    hr: &Manifest,
    repo: &[&Manifest],
    sources: &SubstitutionSources,
    hopts: &HelmOptions,
) -> Rendered {
    let label = release_label(hr);
    let mut out = Rendered::default();
    let located = match locate(r.vfs, hr, repo, hopts, r.opts.max_file_size) {
        Ok(l) => l,
        Err((msg, err)) => {
            // A chart that is not available offline is a coverage gap (warning, like any
            // unrendered kustomize feature); a chart that is there but broken is an error.
            let (code, sev) = if err.is_some() {
                ("render/helm", Severity::Error)
            } else {
                ("render/unsupported", Severity::Warning)
            };
            let ptr = if hr.json.pointer("/spec/chartRef").is_some() {
                "/spec/chartRef"
            } else {
                "/spec/chart"
            };
            let mut d = hr.diagnostic(code, sev, msg, Some(ptr.to_string()));
            d.rendered_for = Some(label);
            out.diagnostics.push(d);
            return out;
        }
    };
    let (vals, diags, secrets) = release_values(hr, sources);
    out.diagnostics.extend(diags);
    out.secrets.values.extend(secrets);
    let crds = s(&hr.json, "/spec/install/crds");
    let ns = release_namespace(hr);
    let opts = RenderOpts {
        release_name: release_name(hr),
        namespace: ns,
        kube_version: hopts.kube_version.unwrap_or((1, 36, 0)),
        include_crds: crds != "Skip",
        source_map: true,
        api_versions: Vec::new(),
    };
    let sources = release_value_sources(r, hr, repo);
    render_located(r.files, &located, &vals, &opts, &label, &sources, &mut out);
    point_schema_violations_at_values(hr, &mut out);
    post_render(r, hr, &label, &mut out);
    out
}

/// Flux `spec.postRenderers`: each kustomize post-renderer's `patches` (and the deprecated
/// `patchesStrategicMerge` / `patchesJson6902`) and `images`, in order, on the chart's output —
/// as helm-controller applies them before installing. Patch findings (a patch that matches
/// nothing, a bad JSON patch) are reported like a kustomization's.
fn post_render(r: &Renderer, hr: &Manifest, label: &str, out: &mut Rendered) {
    use crate::render::kustomize::{Build, Res};
    let renderers: Vec<&Node> = hr
        .node
        .get("spec")
        .and_then(|s| s.get("postRenderers"))
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.get("kustomize"))
        .collect();
    if renderers.is_empty() || out.manifests.is_empty() {
        return;
    }
    let mut b = Build::new(r);
    let mut res: Vec<Res> = std::mem::take(&mut out.manifests)
        .into_iter()
        .map(|m| {
            let mut x = Res::new(m.node, m.file);
            x.value_origins = m.value_origins;
            x
        })
        .collect();
    // Patch files are not allowed in a HelmRelease (inline only): paths resolve against the
    // repository root and a missing one is reported.
    for k in renderers {
        crate::render::patch::run(&mut b, "", k, &mut res);
        crate::render::transform::images(&mut b, k, &mut res);
    }
    for mut d in std::mem::take(&mut b.out.diagnostics) {
        d.rendered_for = Some(label.to_string());
        out.diagnostics.push(d);
    }
    for x in res {
        let mut m = Manifest::from_node(x.node, x.file);
        m.rendered_for = Some(label.to_string());
        m.value_origins = x.value_origins;
        out.manifests.push(m);
    }
}

/// A values.schema.json violation is about a value: point at it in the HelmRelease's
/// `spec.values` when it is set there (else at `spec.values`, or at the chart), naming the
/// release, as helm-controller reports the failed install on the release.
fn point_schema_violations_at_values(hr: &Manifest, out: &mut Rendered) {
    for d in out.diagnostics.iter_mut() {
        if d.code != "render/helm" || d.span.is_some() || !d.file.ends_with("values.schema.json") {
            continue;
        }
        let pointer = d
            .message
            .split_once("at '")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(p, _)| p.trim_end_matches('/').to_string())
            .unwrap_or_default();
        let target = [
            format!("/spec/values{pointer}"),
            "/spec/values".to_string(),
            "/spec/chart".to_string(),
        ]
        .into_iter()
        .find(|p| hr.json.pointer(p).is_some())
        .unwrap_or_else(|| "/spec".to_string());
        let mut at = hr.diagnostic(d.code.clone(), d.severity, d.message.clone(), Some(target));
        at.rendered_for = d.rendered_for.clone();
        *d = at;
    }
}

/// Renders a located chart into `out` (manifests, or a `render/helm` finding at the template
/// position of the first error).
pub fn render_located(
    files: &Files,
    located: &Located,
    vals: &Map,
    opts: &RenderOpts,
    label: &str,
    sources: &ValueSources,
    out: &mut Rendered,
) {
    let chart_name = located.chart.name.clone();
    let base = located.display.trim_end_matches('/').to_string();
    out.charts.insert(base.clone());
    let display = |name: &str| -> String {
        let rel = name.strip_prefix(&format!("{chart_name}/")).unwrap_or(name);
        if base.is_empty() {
            rel.to_string()
        } else {
            format!("{base}/{rel}")
        }
    };
    let text_of =
        |name: &str| -> Option<String> { template_text(&located.chart, &chart_name, name) };
    match chart::render(&located.chart, vals, opts) {
        Ok(rendered) => to_manifests(files, &rendered, &display, &text_of, label, sources, out),
        Err(e) => {
            let shown = display(&e.file);
            let file = files
                .by_path(&shown)
                .or_else(|| text_of(&e.file).map(|t| files.add(shown.clone(), t)));
            let mut d = Diagnostic::new("render/helm", Severity::Error, e.msg.clone());
            d.file = shown.clone();
            if let (Some(f), true) = (file, e.line > 0) {
                let mut sp = f.span(e.line, e.col, e.line, e.col + 1);
                sp.file = f.id;
                d.span = Some(sp);
            }
            d.rendered_for = Some(label.to_string());
            out.diagnostics.push(d);
        }
    }
}

/// The text of template `name` (`chart/charts/sub/templates/x.yaml`) inside a loaded chart.
fn template_text(c: &Chart, chart_name: &str, name: &str) -> Option<String> {
    let rel = name.strip_prefix(&format!("{chart_name}/"))?;
    if let Some(t) = c.templates.iter().find(|(p, _)| p == rel) {
        return Some(t.1.clone());
    }
    if let Some(b) = c.files.get(rel) {
        return Some(String::from_utf8_lossy(b).into_owned());
    }
    let rest = rel.strip_prefix("charts/")?;
    let (sub, inner) = rest.split_once('/')?;
    let sc = c.subcharts.iter().find(|s| s.name == sub)?;
    template_text(sc, sub, &format!("{sub}/{inner}"))
}

/// Base64-decodes Secret `data` values (for valuesFrom).
pub fn decode_b64(s: &str) -> Option<String> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}
