//! Helm charts: loading a chart folder or `.tgz` (Chart.yaml v2, values.yaml,
//! values.schema.json, templates/, crds/, charts/ subcharts as folders or archives, .helmignore),
//! enabling dependencies (`condition`, `tags`, `import-values`, aliases), coalescing values
//! (defaults, parent values, `global`) and rendering every template as `helm template` does.

use std::collections::BTreeMap;
use std::io::Read;
use std::rc::Rc;

use super::exec::{data, ExecError, Mark, Output, TemplateSet};
use super::value::{unwrap_map, Map, Obj, Value};
use super::values::{coalesce_tables, drop_nulls, from_yaml_str};
use crate::render::RenderError;

/// A chart as loaded: metadata, defaults, templates and other files, subcharts.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Chart.yaml as a map (its keys as written: `name`, `version`, `appVersion`, ...).
    pub metadata: Map,
    pub name: String,
    pub version: String,
    pub library: bool,
    pub dependencies: Vec<Dependency>,
    /// values.yaml (text kept for positions).
    pub values_text: String,
    pub values: Map,
    pub schema: Option<String>,
    /// `templates/...` paths → text.
    pub templates: Vec<(String, String)>,
    /// Every other file (Helm's `.Files`, `crds/` included), path → bytes.
    pub files: BTreeMap<String, Vec<u8>>,
    pub subcharts: Vec<Chart>,
}

#[derive(Debug, Clone, Default)]
pub struct Dependency {
    pub name: String,
    pub alias: Option<String>,
    pub condition: Option<String>,
    pub tags: Vec<String>,
    pub import_values: Vec<Value>,
    pub version: String,
}

/// A chart file that failed to load or render, with a position when there is one.
#[derive(Debug, Clone)]
pub struct ChartError {
    /// Path inside the chart (`templates/x.yaml`, `values.yaml`), or empty.
    pub file: String,
    /// 1-based line and column, 0 when unknown.
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl ChartError {
    pub fn msg(file: &str, msg: impl Into<String>) -> ChartError {
        ChartError {
            file: file.into(),
            line: 0,
            col: 0,
            msg: msg.into(),
        }
    }
}

impl std::error::Error for ChartError {}

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.msg)
        } else if !self.file.is_empty() {
            write!(f, "{}: {}", self.file, self.msg)
        } else {
            f.write_str(&self.msg)
        }
    }
}

/// Whether a `Chart.yaml` text declares a library chart (`type: library`), read as the chart
/// loader reads it.
pub fn is_library_metadata(text: &str) -> bool {
    match from_yaml_str(text) {
        Ok(Value::Map(m)) => str_field(&m.borrow(), "type") == "library",
        _ => false,
    }
}

fn str_field(m: &Map, k: &str) -> String {
    match m.get(k) {
        Some(Value::Str(s)) => s.to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(v) => super::funcs::strval(v),
    }
}

/// Reads the files of a `.tgz` chart archive: paths relative to the chart's own folder.
pub fn untar(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, RenderError> {
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut ar = tar::Archive::new(gz);
    let mut out = Vec::new();
    let mut total = 0usize;
    let broken = |e| RenderError::Archive(std::sync::Arc::new(e));
    for entry in ar.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(broken)?
            .to_string_lossy()
            .replace('\\', "/");
        // The first component is the chart's folder name.
        let Some((_, rest)) = path.split_once('/') else {
            continue;
        };
        if rest.split('/').any(|c| c == "..") {
            return Err(RenderError::ArchiveEscape { path });
        }
        let mut buf = Vec::new();
        entry.read_to_end(&mut buf).map_err(broken)?;
        total += buf.len();
        // Helm's own limit for a decompressed chart is 100 MiB.
        if total > 100 * 1024 * 1024 {
            return Err(RenderError::ArchiveTooLarge);
        }
        out.push((rest.to_string(), buf));
    }
    Ok(out)
}

/// Builds a chart from its files (paths relative to the chart folder).
pub fn load_files(files: Vec<(String, Vec<u8>)>) -> Result<Chart, ChartError> {
    let ignore = files
        .iter()
        .find(|(p, _)| p == ".helmignore")
        .map(|(_, b)| helmignore(&String::from_utf8_lossy(b)));
    let mut meta_text = None;
    let mut values_text = String::new();
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other = BTreeMap::new();
    let mut sub_files: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    let mut sub_archives = Vec::new();
    for (path, bytes) in files {
        if let Some(ig) = &ignore {
            if ig.matched_path_or_any_parents(&path, false).is_ignore() {
                continue;
            }
        }
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        if path == "Chart.yaml" {
            meta_text = Some(text());
        } else if path == "values.yaml" {
            values_text = text();
        } else if path == "values.schema.json" {
            schema = Some(text());
        } else if path.starts_with("templates/") {
            templates.push((path.clone(), text()));
        } else if let Some(rest) = path.strip_prefix("charts/") {
            match rest.split_once('/') {
                Some((dir, inner)) => sub_files
                    .entry(dir.to_string())
                    .or_default()
                    .push((inner.to_string(), bytes)),
                None if rest.ends_with(".tgz") || rest.ends_with(".tar.gz") => {
                    sub_archives.push((path.clone(), bytes))
                }
                None => {}
            }
        } else if path != "Chart.lock" && path != "requirements.yaml" && path != "requirements.lock"
        {
            other.insert(path, bytes);
        }
    }
    let Some(meta_text) = meta_text else {
        return Err(ChartError::msg("Chart.yaml", "Chart.yaml file is missing"));
    };
    let metadata = match from_yaml_str(&meta_text) {
        Ok(Value::Map(m)) => unwrap_map(m),
        Ok(_) => return Err(ChartError::msg("Chart.yaml", "Chart.yaml is not a mapping")),
        Err(e) => return Err(ChartError::msg("Chart.yaml", e)),
    };
    let name = str_field(&metadata, "name");
    if name.is_empty() {
        return Err(ChartError::msg(
            "Chart.yaml",
            "validation: chart.metadata.name is required",
        ));
    }
    let values = match from_yaml_str(&values_text) {
        Ok(Value::Map(m)) => unwrap_map(m),
        Ok(Value::Nil) => Map::new(),
        Ok(_) => {
            return Err(ChartError::msg(
                "values.yaml",
                "values.yaml is not a mapping",
            ))
        }
        Err(e) => return Err(ChartError::msg("values.yaml", e)),
    };
    let mut dependencies = Vec::new();
    if let Some(Value::List(deps)) = metadata.get("dependencies") {
        for d in deps.iter() {
            let Some(m) = d.as_map() else { continue };
            let m = &*m;
            let opt = |k: &str| Some(str_field(m, k)).filter(|s| !s.is_empty());
            dependencies.push(Dependency {
                name: str_field(m, "name"),
                alias: opt("alias"),
                condition: opt("condition"),
                tags: match m.get("tags") {
                    Some(Value::List(t)) => t.iter().map(super::funcs::strval).collect(),
                    _ => Vec::new(),
                },
                import_values: match m.get("import-values") {
                    Some(Value::List(t)) => t.as_ref().clone(),
                    _ => Vec::new(),
                },
                version: str_field(m, "version"),
            });
        }
    }
    let mut subcharts = Vec::new();
    for (dir, files) in sub_files {
        if files.iter().any(|(p, _)| p == "Chart.yaml") {
            subcharts.push(load_files(files).map_err(|e| ChartError {
                file: format!("charts/{dir}/{}", e.file),
                ..e
            })?);
        }
    }
    for (path, bytes) in sub_archives {
        let files = untar(&bytes).map_err(|e| ChartError::msg(&path, e))?;
        subcharts.push(load_files(files).map_err(|e| ChartError {
            file: format!("{path}/{}", e.file),
            ..e
        })?);
    }
    templates.sort();
    Ok(Chart {
        version: str_field(&metadata, "version"),
        library: str_field(&metadata, "type") == "library",
        name,
        metadata,
        dependencies,
        values_text,
        values,
        schema,
        templates,
        files: other,
        subcharts,
    })
}

fn helmignore(text: &str) -> ignore::gitignore::Gitignore {
    let mut b = ignore::gitignore::GitignoreBuilder::new("");
    for line in text.lines() {
        let _ = b.add_line(None, line);
    }
    b.build()
        .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty())
}

/// Loads a chart folder from disk (every file under it).
pub fn load_dir(dir: &std::path::Path) -> Result<Chart, ChartError> {
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .follow_links(false)
        .build()
        .flatten()
    {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .replace('\\', "/");
        let bytes =
            std::fs::read(entry.path()).map_err(|e| ChartError::msg(&rel, e.to_string()))?;
        files.push((rel, bytes));
    }
    load_files(files)
}

/// Options for one render: the release and the cluster it pretends to target.
#[derive(Debug, Clone)]
pub struct RenderOpts {
    pub release_name: String,
    pub namespace: String,
    pub kube_version: (u64, u64, u64),
    pub include_crds: bool,
    /// Record which template bytes produced each output byte.
    pub source_map: bool,
    /// `--api-versions`: added to `.Capabilities.APIVersions`.
    pub api_versions: Vec<String>,
}

impl Default for RenderOpts {
    fn default() -> Self {
        RenderOpts {
            release_name: "release-name".into(),
            namespace: "default".into(),
            kube_version: (1, 36, 0),
            include_crds: true,
            source_map: false,
            api_versions: Vec::new(),
        }
    }
}

/// The group/versions `helm template` reports without a cluster (Helm 4.2's default set).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// One rendered file: its name as Helm reports it (`chart/templates/x.yaml`,
/// `chart/charts/sub/templates/y.yaml`, `chart/crds/z.yaml`) and its text.
#[derive(Debug, Clone)]
pub struct RenderedFile {
    pub name: String,
    pub text: String,
    /// Where each part of `text` came from (with [`RenderOpts::source_map`]).
    pub marks: Vec<Mark>,
}

fn get_path(m: &Map, dotted: &str) -> Option<Value> {
    let mut segs = dotted.split('.');
    let mut cur = m.get(segs.next()?)?.clone();
    for seg in segs {
        let next = cur.as_map()?.get(seg)?.clone();
        cur = next;
    }
    Some(cur)
}

fn map_of(v: Option<&Value>) -> Map {
    match v {
        Some(Value::Map(m)) => m.borrow().clone(),
        _ => Map::new(),
    }
}

/// Renames aliased subcharts and drops the ones whose `condition`/`tags` disable them
/// (chartutil.ProcessDependencies), then applies `import-values`.
fn process_dependencies(chart: &mut Chart, top_values: &Map, path: &str) {
    // Aliases: a dependency listed with an alias renders the subchart under that name.
    let mut subs = std::mem::take(&mut chart.subcharts);
    let mut kept = Vec::new();
    let mut used = vec![false; subs.len()];
    for dep in &chart.dependencies {
        if let Some(i) = subs.iter().position(|c| c.name == dep.name) {
            let mut c = subs[i].clone();
            used[i] = true;
            if let Some(a) = &dep.alias {
                c.name = a.clone();
                c.metadata.insert("name".into(), Value::from(a.as_str()));
            }
            kept.push((Some(dep.clone()), c));
        }
    }
    for (i, c) in subs.drain(..).enumerate() {
        if !used[i] {
            kept.push((None, c));
        }
    }
    let tags = map_of(top_values.get("tags"));
    let mut enabled = Vec::new();
    for (dep, c) in kept {
        let mut on = true;
        if let Some(dep) = &dep {
            // Tags first; a condition that resolves to a bool wins over them.
            if !dep.tags.is_empty() {
                let vals: Vec<bool> = dep
                    .tags
                    .iter()
                    .filter_map(|t| match tags.get(t) {
                        Some(Value::Bool(b)) => Some(*b),
                        _ => None,
                    })
                    .collect();
                if !vals.is_empty() {
                    on = vals.iter().any(|b| *b);
                }
            }
            if let Some(cond) = &dep.condition {
                for p in cond.split(',') {
                    let full = format!("{path}{}", p.trim());
                    if let Some(Value::Bool(b)) = get_path(top_values, &full) {
                        on = b;
                        break;
                    }
                }
            }
        }
        if on {
            enabled.push((dep, c));
        }
    }
    for (_, c) in enabled.iter_mut() {
        let sub_path = format!("{path}{}.", c.name);
        process_dependencies(c, top_values, &sub_path);
    }
    // import-values: the child's exported values are copied into the parent's defaults.
    for (dep, c) in &enabled {
        let Some(dep) = dep else { continue };
        for iv in &dep.import_values {
            let (child, parent) = match iv {
                Value::Str(s) => (format!("exports.{s}"), String::new()),
                Value::Map(m) => {
                    let m = m.borrow();
                    (str_field(&m, "child"), str_field(&m, "parent"))
                }
                _ => continue,
            };
            let Some(Value::Map(src)) = get_path(&c.values, &child) else {
                continue;
            };
            let mut dst = &mut chart.values;
            if !parent.is_empty() && parent != "." {
                for seg in parent.split('.') {
                    let e = dst
                        .entry(seg.to_string())
                        .or_insert_with(|| Value::map(Map::new()));
                    if !matches!(e, Value::Map(_)) {
                        *e = Value::map(Map::new());
                    }
                    let Value::Map(m) = e else { unreachable!() };
                    dst = Rc::make_mut(m).get_mut();
                }
            }
            super::values::merge_over(dst, &src.borrow());
        }
    }
    chart.subcharts = enabled.into_iter().map(|(_, c)| c).collect();
}

/// chartutil.CoalesceValues: `vals` (user values for this chart) over the chart's defaults, then
/// each subchart's values (parent's `<sub>:` section with the parent's `global`) over its own.
fn coalesce(chart: &Chart, vals: &mut Map) {
    coalesce_tables(vals, &chart.values);
    for sub in &chart.subcharts {
        let mut sv = map_of(vals.get(&sub.name));
        // Globals flow down; the parent's win.
        let mut g = map_of(sv.get("global"));
        let pg = map_of(vals.get("global"));
        super::values::merge_over(&mut g, &pg);
        sv.insert("global".into(), Value::map(g));
        coalesce(sub, &mut sv);
        vals.insert(sub.name.clone(), Value::map(sv));
    }
}

/// The `.Chart` object: Chart.yaml's fields under their Go names.
fn chart_object(c: &Chart, root: bool) -> Value {
    let m = &c.metadata;
    let list = |k: &str| match m.get(k) {
        Some(Value::List(l)) => Value::List(l.clone()),
        _ => Value::list(Vec::new()),
    };
    let mut o = Map::new();
    for (go, yaml) in [
        ("APIVersion", "apiVersion"),
        ("AppVersion", "appVersion"),
        ("Condition", "condition"),
        ("Description", "description"),
        ("Home", "home"),
        ("Icon", "icon"),
        ("KubeVersion", "kubeVersion"),
        ("Name", "name"),
        ("Tags", "tags"),
        ("Type", "type"),
        ("Version", "version"),
    ] {
        o.insert(go.into(), Value::from(str_field(m, yaml)));
    }
    o.insert("Name".into(), Value::from(c.name.as_str()));
    o.insert(
        "Annotations".into(),
        m.get("annotations").cloned().unwrap_or_default(),
    );
    o.insert(
        "Deprecated".into(),
        Value::Bool(matches!(m.get("deprecated"), Some(Value::Bool(true)))),
    );
    o.insert("Dependencies".into(), list("dependencies"));
    o.insert("Keywords".into(), list("keywords"));
    o.insert("Maintainers".into(), list("maintainers"));
    o.insert("Sources".into(), list("sources"));
    o.insert("IsRoot".into(), Value::Bool(root));
    Value::map(o)
}

/// Renders a chart with user-supplied values, as `helm template` does. Returns the rendered
/// files (partials, NOTES.txt and library charts produce none) or the first error.
/// The first values.schema.json violation of `chart` (then its subcharts, with their part of
/// the values): an error at the value's JSON pointer (from the top values), naming the chart.
/// The message never quotes the offending value (it may be a credential). A schema kgate cannot
/// compile (a remote `$ref`) is not enforced: kgate never fetches.
fn schema_violation(chart: &Chart, vals: &Map, at: &str) -> Option<ChartError> {
    if let Some(text) = &chart.schema {
        let schema: Option<serde_json::Value> = serde_json::from_str(text).ok();
        let validator = schema.and_then(|s| jsonschema::validator_for(&s).ok());
        if let Some(validator) = validator {
            let instance: serde_json::Value =
                serde_json::from_str(&super::values::to_json(&Value::map(vals.clone()), true))
                    .unwrap_or_default();
            let first = validator.iter_errors(&instance).next().map(|e| {
                (
                    e.instance_path().to_string(),
                    e.instance().to_string(),
                    e.instance().is_string(),
                    e.to_string(),
                )
            });
            if let Some((path, shown, is_string, why)) = first {
                let pointer = format!("{at}{path}");
                let mut why = why;
                if shown.len() > 2 || is_string {
                    why = why.replace(&shown, "the value");
                }
                let field = if pointer.is_empty() { "/" } else { &pointer };
                return Some(ChartError {
                    file: format!("{}/values.schema.json", chart.name),
                    line: 0,
                    col: 0,
                    msg: format!(
                        "values don't meet the specifications of the schema of chart {}: at \
                         '{field}': {why}",
                        chart.name
                    ),
                });
            }
        }
    }
    for sub in &chart.subcharts {
        let part = match vals.get(&sub.name) {
            Some(Value::Map(m)) => m.borrow().clone(),
            _ => Map::new(),
        };
        if let Some(e) = schema_violation(sub, &part, &format!("{at}/{}", sub.name)) {
            let file = format!("{}/charts/{}", chart.name, e.file);
            return Some(ChartError { file, ..e });
        }
    }
    None
}

pub fn render(
    chart: &Chart,
    user_values: &Map,
    opts: &RenderOpts,
) -> Result<Vec<RenderedFile>, ChartError> {
    let mut chart = chart.clone();
    // Conditions and tags read the coalesced values.
    let mut probe = user_values.clone();
    coalesce(&chart, &mut probe);
    process_dependencies(&mut chart, &probe, "");
    let mut vals = user_values.clone();
    coalesce(&chart, &mut vals);
    drop_nulls(&mut vals);
    // As `helm install`/`template` do: the merged values against values.schema.json of the
    // chart and of every enabled subchart (with its part of the values), before rendering.
    if let Some(e) = schema_violation(&chart, &vals, "") {
        return Err(e);
    }

    let set = TemplateSet::default();
    let (maj, min, pat) = opts.kube_version;
    let caps = data(vec![
        (
            "KubeVersion",
            Value::Obj(Rc::new(Obj::KubeVersion {
                major: maj,
                minor: min,
                patch: pat,
            })),
        ),
        (
            "APIVersions",
            Value::Obj(Rc::new(Obj::ApiVersions(
                DEFAULT_API_VERSIONS
                    .iter()
                    .map(|s| s.to_string())
                    .chain(opts.api_versions.iter().cloned())
                    .collect(),
            ))),
        ),
        (
            "HelmVersion",
            data(vec![
                ("Version", Value::from("v4.2")),
                ("GitCommit", Value::from("")),
                ("GitTreeState", Value::from("")),
                ("GoVersion", Value::from("")),
            ]),
        ),
    ]);
    let release = data(vec![
        ("Name", Value::from(opts.release_name.as_str())),
        ("Namespace", Value::from(opts.namespace.as_str())),
        ("IsInstall", Value::Bool(true)),
        ("IsUpgrade", Value::Bool(false)),
        ("Revision", Value::Int(1)),
        ("Service", Value::from("Helm")),
    ]);
    // Every chart's templates, with the data each renders with.
    struct Job {
        name: String,
        base: String,
        values: Value,
        chart: Value,
        files: Value,
        render: bool,
        subcharts: Value,
    }
    let mut jobs: Vec<Job> = Vec::new();
    let mut crds: Vec<RenderedFile> = Vec::new();
    fn walk(
        c: &Chart,
        vals: &Map,
        prefix: &str,
        root: bool,
        jobs: &mut Vec<Job>,
        crds: &mut Vec<RenderedFile>,
    ) -> Value {
        let base = format!("{prefix}{}", c.name);
        let mut subs = Map::new();
        for s in &c.subcharts {
            let sv = map_of(vals.get(&s.name));
            let d = walk(s, &sv, &format!("{base}/charts/"), false, jobs, crds);
            subs.insert(s.name.clone(), d);
        }
        let chart_v = chart_object(c, root);
        let files = Value::Obj(Rc::new(Obj::Files(Rc::new(c.files.clone()))));
        for (p, _) in &c.templates {
            let file = p.rsplit('/').next().unwrap_or(p);
            jobs.push(Job {
                name: format!("{base}/{p}"),
                base: format!("{base}/templates"),
                values: Value::map(vals.clone()),
                chart: chart_v.clone(),
                files: files.clone(),
                render: !file.starts_with('_') && file != "NOTES.txt" && !c.library,
                subcharts: Value::map(subs.clone()),
            });
        }
        for (p, b) in &c.files {
            if p.starts_with("crds/")
                && (p.ends_with(".yaml") || p.ends_with(".yml") || p.ends_with(".json"))
            {
                crds.push(RenderedFile {
                    name: format!("{base}/{p}"),
                    text: String::from_utf8_lossy(b).into_owned(),
                    marks: Vec::new(),
                });
            }
        }
        let mut d = Map::new();
        d.insert("Values".into(), Value::map(vals.clone()));
        d.insert("Chart".into(), chart_v);
        Value::map(d)
    }
    walk(&chart, &vals, "", true, &mut jobs, &mut crds);
    // Helm's order (sort.Reverse(byPathLen)): deeper paths first, then names in reverse; files
    // are parsed in it (a later `define` wins, so parents override subcharts) and rendered in
    // it (the first failing file is the error reported).
    let mut all: Vec<(String, &str)> = Vec::new();
    collect_templates(&chart, "", &mut all);
    all.sort_by(|a, b| helm_order(&a.0, &b.0));
    let sources: BTreeMap<String, String> = all
        .iter()
        .map(|(n, t)| (n.clone(), t.to_string()))
        .collect();
    for (name, text) in &all {
        set.add(name, text).map_err(|e| exec_error(&sources, &e))?;
    }
    let mut out = Vec::new();
    if opts.include_crds {
        out.extend(crds);
    }
    jobs.sort_by(|a, b| helm_order(&a.name, &b.name));
    for j in jobs.iter().filter(|j| j.render) {
        let d = data(vec![
            ("Values", j.values.clone()),
            ("Release", release.clone()),
            ("Chart", j.chart.clone()),
            ("Capabilities", caps.clone()),
            (
                "Template",
                data(vec![
                    ("Name", Value::from(j.name.as_str())),
                    ("BasePath", Value::from(j.base.as_str())),
                ]),
            ),
            ("Files", j.files.clone()),
            ("Subcharts", j.subcharts.clone()),
        ]);
        let output = set
            .execute_mapped(&j.name, &d, opts.source_map)
            .map_err(|e| exec_error(&sources, &e))?;
        let output = strip_no_value(output);
        out.push(RenderedFile {
            name: j.name.clone(),
            text: output.text,
            marks: output.marks,
        });
    }
    Ok(out)
}

/// Helm's template order: more `/` first, then reverse byte order.
fn helm_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (da, db) = (a.matches('/').count(), b.matches('/').count());
    db.cmp(&da).then_with(|| b.cmp(a))
}

/// Helm deletes every `<no value>` from the output; the source map's offsets follow.
fn strip_no_value(o: Output) -> Output {
    const NV: &str = "<no value>";
    if !o.text.contains(NV) {
        return o;
    }
    let mut text = String::with_capacity(o.text.len());
    // (offset in the old text, bytes removed before it)
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut last = 0;
    for (i, _) in o.text.match_indices(NV) {
        text.push_str(&o.text[last..i]);
        last = i + NV.len();
        let removed = cuts.last().map(|c| c.1).unwrap_or(0) + NV.len();
        cuts.push((last, removed));
    }
    text.push_str(&o.text[last..]);
    let shift = |off: usize| {
        let i = cuts.partition_point(|c| c.0 <= off);
        let removed = if i == 0 { 0 } else { cuts[i - 1].1 };
        off.saturating_sub(removed)
    };
    let marks = o
        .marks
        .into_iter()
        .map(|m| Mark {
            out: shift(m.out),
            ..m
        })
        .collect();
    Output { text, marks }
}

fn collect_templates<'c>(c: &'c Chart, prefix: &str, out: &mut Vec<(String, &'c str)>) {
    let base = format!("{prefix}{}", c.name);
    for (p, t) in &c.templates {
        out.push((format!("{base}/{p}"), t.as_str()));
    }
    for s in &c.subcharts {
        collect_templates(s, &format!("{base}/charts/"), out);
    }
}

fn exec_error(sources: &BTreeMap<String, String>, e: &ExecError) -> ChartError {
    let (line, col) = sources
        .get(e.file.as_ref())
        .map(|s| super::parse::line_col(s, e.pos))
        .unwrap_or((0, 0));
    ChartError {
        file: e.file.to_string(),
        line,
        col,
        msg: e.msg.clone(),
    }
}

/// The values a chart's templates see for `user` values (for tests and schema checks).
pub fn coalesced_values(chart: &Chart, user: &Map) -> Map {
    let mut vals = user.clone();
    coalesce(chart, &mut vals);
    drop_nulls(&mut vals);
    vals
}
