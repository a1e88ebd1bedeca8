//! The unit graph (issue 14, first and cheap form): what the GitOps agent applies, as units —
//! kustomization roots, Flux Kustomizations (path and components), Helm charts and loose files —
//! and which files are only *inputs* of a unit (patches, generator files, values, templates,
//! tool configuration). Built by reading kustomization files' references, never by rendering, so
//! that a component, a patch or a chart template is checked only through the units that use it.

use std::collections::{BTreeMap, BTreeSet};

use crate::vfs::{normalize, Vfs};
use crate::yaml::{Node, Value};

/// What a kustomization file (or kustomize Component) references, read without rendering.
#[derive(Debug, Default, Clone)]
pub struct KustRefs {
    /// `kind: Component`: applied only through the kustomizations that include it.
    pub component: bool,
    /// Folders in `resources`/`bases` (nested kustomizations).
    pub bases: Vec<String>,
    /// Folders in `components`.
    pub components: Vec<String>,
    /// Folders of `transformers`/`generators`/`validators` (kustomizations of tool configs).
    pub config_dirs: Vec<String>,
    /// Files in `resources`/`bases`.
    pub resource_files: Vec<String>,
    /// Files the kustomization reads that are not resources, with their role.
    pub inputs: Vec<(String, Input)>,
}

/// The role of an input file of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Patch,
    /// Read as data by a generator (`files`, `envs`, `env`): its YAML is never parsed.
    GeneratorFile,
    Replacement,
    Configuration,
    TransformerConfig,
    HelmValues,
    OpenApi,
    Crd,
}

impl Input {
    fn describe(self) -> &'static str {
        match self {
            Input::Patch => "a patch",
            Input::GeneratorFile => "a generator's data file",
            Input::Replacement => "a replacements source",
            Input::Configuration => "a `configurations:` field spec",
            Input::TransformerConfig => "a transformer/generator configuration",
            Input::HelmValues => "a Helm values file",
            Input::OpenApi => "an `openapi:` schema",
            Input::Crd => "a `crds:` schema source",
        }
    }

    /// Whether kustomize parses the file as YAML (so its syntax errors are real ones).
    pub fn is_yaml(self) -> bool {
        !matches!(self, Input::GeneratorFile)
    }
}

fn strings(k: &Node, field: &str) -> Vec<String> {
    match k.get(field).map(|n| &n.value) {
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn maps<'a>(k: &'a Node, field: &str) -> &'a [Node] {
    k.get(field).and_then(Node::as_seq).unwrap_or_default()
}

fn str_field(n: &Node, field: &str) -> Option<String> {
    n.get(field).and_then(Node::as_str).map(str::to_string)
}

/// Reads the references of the kustomization in `dir` (its parsed root mapping).
pub fn kustomization_refs(vfs: &dyn Vfs, dir: &str, k: &Node) -> KustRefs {
    let mut out = KustRefs {
        component: k.get("kind").and_then(Node::as_str) == Some("Component"),
        ..KustRefs::default()
    };
    let local = |entry: &str| -> Option<String> {
        if is_remote(entry) || entry.contains('\n') {
            return None;
        }
        normalize(dir, entry.trim())
    };
    for field in ["resources", "bases"] {
        for e in strings(k, field) {
            match local(&e) {
                Some(p) if vfs.is_dir(&p) => out.bases.push(p),
                Some(p) => out.resource_files.push(p),
                None => {}
            }
        }
    }
    out.components = strings(k, "components")
        .iter()
        .filter_map(|e| local(e))
        .collect();
    let mut input = |p: Option<String>, role: Input| {
        if let Some(p) = p {
            out.inputs.push((p, role));
        }
    };
    for p in maps(k, "patches").iter().chain(maps(k, "patchesJson6902")) {
        input(str_field(p, "path").and_then(|e| local(&e)), Input::Patch);
    }
    // `patchesStrategicMerge` entries are paths or inline patches; a bare path in `patches`
    // (kustomize refuses the shape, and says so) is still meant as a patch, not a manifest.
    for e in strings(k, "patchesStrategicMerge")
        .into_iter()
        .chain(strings(k, "patches"))
    {
        input(local(&e).filter(|p| vfs.is_file(p)), Input::Patch);
    }
    for g in maps(k, "configMapGenerator")
        .iter()
        .chain(maps(k, "secretGenerator"))
    {
        for f in strings(g, "files") {
            // `[key=]path`.
            let path = f.split_once('=').map(|(_, p)| p).unwrap_or(&f);
            input(local(path), Input::GeneratorFile);
        }
        for f in strings(g, "envs").into_iter().chain(strings(g, "env")) {
            input(local(&f), Input::GeneratorFile);
        }
    }
    for r in maps(k, "replacements") {
        input(
            str_field(r, "path").and_then(|e| local(&e)),
            Input::Replacement,
        );
    }
    for c in strings(k, "configurations") {
        input(local(&c), Input::Configuration);
    }
    for c in strings(k, "crds") {
        input(local(&c), Input::Crd);
    }
    if let Some(p) = k.get("openapi").and_then(|o| o.get("path")) {
        input(p.as_str().and_then(local), Input::OpenApi);
    }
    for field in ["transformers", "generators", "validators"] {
        for e in strings(k, field) {
            match local(&e) {
                Some(p) if vfs.is_dir(&p) => out.config_dirs.push(p),
                p => input(p, Input::TransformerConfig),
            }
        }
    }
    for h in maps(k, "helmCharts") {
        input(
            str_field(h, "valuesFile").and_then(|e| local(&e)),
            Input::HelmValues,
        );
        for f in strings(h, "additionalValuesFiles") {
            input(local(&f), Input::HelmValues);
        }
    }
    out
}

/// A unit a GitOps agent builds from a folder of the checked tree: a Flux Kustomization whose
/// `spec.path` is in the tree, or a plain-folder source of an Argo CD Application.
#[derive(Debug, Clone)]
pub struct FluxUnit {
    pub label: String,
    /// Display path of the file that declares it.
    pub file: String,
    /// `spec.path` (repository path).
    pub dir: String,
    /// `spec.components`, resolved against `spec.path`.
    pub components: Vec<String>,
    /// An Argo CD directory source: exactly the files it applies (repository paths); no
    /// kustomization is built. None: a kustomization (or Flux's generated one) is built.
    pub listed: Option<Vec<String>>,
}

/// The units of one tree and what each reads.
#[derive(Debug, Default)]
pub struct UnitGraph {
    /// Kustomization folders and their references.
    pub kustomizations: BTreeMap<String, KustRefs>,
    pub flux: Vec<FluxUnit>,
}

impl UnitGraph {
    /// Folders a unit reaches from `start` (following bases, components, config folders).
    fn close(&self, start: impl IntoIterator<Item = String>, seen: &mut BTreeSet<String>) {
        let mut stack: Vec<String> = start.into_iter().collect();
        while let Some(d) = stack.pop() {
            if !seen.insert(d.clone()) {
                continue;
            }
            if let Some(k) = self.kustomizations.get(&d) {
                stack.extend(k.bases.iter().cloned());
                stack.extend(k.components.iter().cloned());
                stack.extend(k.config_dirs.iter().cloned());
            }
        }
    }

    /// The kustomization folders a Flux Kustomization builds: its path if that is a
    /// kustomization, else (kustomize-controller generates one) the shallowest kustomization
    /// folders under it.
    fn flux_builds(&self, f: &FluxUnit) -> Vec<String> {
        if f.listed.is_some() {
            return Vec::new();
        }
        let dir = f.dir.as_str();
        if self.kustomizations.contains_key(dir) {
            return vec![dir.to_string()];
        }
        let under = |d: &str| dir.is_empty() || d.starts_with(&format!("{dir}/"));
        let inside: Vec<&String> = self
            .kustomizations
            .keys()
            .filter(|d| under(d.as_str()))
            .collect();
        inside
            .iter()
            .filter(|d| {
                !inside
                    .iter()
                    .any(|o| o != *d && d.starts_with(&format!("{o}/")))
            })
            .map(|d| d.to_string())
            .collect()
    }

    /// Everything reached from the Flux Kustomizations.
    fn flux_reach(&self) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        for f in &self.flux {
            self.close(
                self.flux_builds(f)
                    .into_iter()
                    .chain(f.components.iter().cloned()),
                &mut seen,
            );
        }
        seen
    }

    /// The kustomization folders rendered on their own: those no other kustomization includes,
    /// that no Flux Kustomization builds (it renders them, with its own substitutions), and that
    /// are not components. Folders reachable from no root (kustomizations that include each
    /// other in a cycle) get their first folder as root, so that the cycle is reported.
    pub fn roots(&self) -> Vec<String> {
        let included: BTreeSet<&String> = self
            .kustomizations
            .values()
            .flat_map(|k| k.bases.iter().chain(&k.components).chain(&k.config_dirs))
            .collect();
        let mut reach = self.flux_reach();
        let mut roots = Vec::new();
        for (d, k) in &self.kustomizations {
            if !k.component && !included.contains(d) && !reach.contains(d) {
                roots.push(d.clone());
            }
        }
        self.close(roots.iter().cloned(), &mut reach);
        // `kustomizations` is sorted by folder: the representative of a cycle is deterministic.
        for (d, k) in &self.kustomizations {
            if !k.component && !reach.contains(d) {
                roots.push(d.clone());
                self.close([d.clone()], &mut reach);
            }
        }
        roots.sort();
        roots
    }

    /// Components that no rendered unit includes.
    pub fn unused_components(&self) -> Vec<String> {
        let mut reach = self.flux_reach();
        self.close(self.roots(), &mut reach);
        self.kustomizations
            .iter()
            .filter(|(d, k)| k.component && !reach.contains(*d))
            .map(|(d, _)| d.clone())
            .collect()
    }

    /// The files whose raw objects reach the cluster only through a rendered unit: resources of
    /// the kustomizations the roots and Flux Kustomizations reach, their patches, and every
    /// manifest of a Flux path kustomize-controller builds without a kustomization file (`files`:
    /// repository paths of the run). The same set whichever shard renders the unit, so that no
    /// shard checks raw what another renders.
    pub fn consumed(&self, files: &[String]) -> BTreeSet<String> {
        let mut reach = self.flux_reach();
        self.close(self.roots(), &mut reach);
        let mut out = BTreeSet::new();
        for d in &reach {
            if let Some(k) = self.kustomizations.get(d) {
                out.extend(k.resource_files.iter().cloned());
                out.extend(
                    k.inputs
                        .iter()
                        .filter(|(_, role)| *role == Input::Patch)
                        .map(|(p, _)| p.clone()),
                );
            }
        }
        for f in &self.flux {
            if let Some(listed) = &f.listed {
                out.extend(listed.iter().cloned());
                continue;
            }
            if self.kustomizations.contains_key(&f.dir) {
                continue;
            }
            for file in files {
                let folder = file.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                if self.generated_by(&f.dir, folder) && is_generated_manifest(file) {
                    out.insert(file.clone());
                }
            }
        }
        out
    }

    /// Every file a unit starting at the kustomization folders `start` reads (repository paths):
    /// the kustomization file, resources and inputs of each folder it reaches.
    pub fn files_read(
        &self,
        start: impl IntoIterator<Item = String>,
        kustomization_file: &dyn Fn(&str) -> Option<String>,
    ) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        self.close(start, &mut seen);
        let mut out = BTreeSet::new();
        for d in &seen {
            if let Some(k) = self.kustomizations.get(d) {
                out.extend(kustomization_file(d));
                out.extend(k.resource_files.iter().cloned());
                out.extend(k.inputs.iter().map(|(p, _)| p.clone()));
            }
        }
        out
    }

    /// Every file a Flux Kustomization reads: what it builds and its components, and the
    /// manifests of a path without kustomization file (`files`: repository paths of the run).
    pub fn flux_files_read(
        &self,
        f: &FluxUnit,
        files: &[String],
        kustomization_file: &dyn Fn(&str) -> Option<String>,
    ) -> BTreeSet<String> {
        let start = self
            .flux_builds(f)
            .into_iter()
            .chain(f.components.iter().cloned());
        let mut out = self.files_read(start, kustomization_file);
        if let Some(listed) = &f.listed {
            out.extend(listed.iter().cloned());
        } else if !self.kustomizations.contains_key(&f.dir) {
            for file in files {
                let folder = file.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                if self.generated_by(&f.dir, folder) && is_generated_manifest(file) {
                    out.insert(file.clone());
                }
            }
        }
        out
    }

    /// Whether kustomize-controller's generated kustomization for `dir` lists the files of
    /// `folder`: it is `dir` or below it, with no kustomization folder on the way (that one is
    /// built instead).
    fn generated_by(&self, dir: &str, folder: &str) -> bool {
        let inside = dir.is_empty() || folder == dir || folder.starts_with(&format!("{dir}/"));
        if !inside {
            return false;
        }
        let mut cur = folder;
        while cur.len() > dir.len() {
            if self.kustomizations.contains_key(cur) {
                return false;
            }
            cur = cur.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        }
        true
    }

    /// Files that are read by a unit but are not resources of any: repository path → (why,
    /// whether kustomize parses it as YAML). Resources of an unused component are listed too:
    /// nothing applies them.
    pub fn inputs(&self) -> BTreeMap<String, (String, bool)> {
        let resources: BTreeSet<&String> = self
            .kustomizations
            .values()
            .filter(|k| !k.component)
            .flat_map(|k| &k.resource_files)
            .collect();
        let mut out = BTreeMap::new();
        for (dir, k) in &self.kustomizations {
            let what = if k.component {
                "kustomize Component"
            } else {
                "kustomization"
            };
            let at = if dir.is_empty() { "." } else { dir.as_str() };
            for (path, role) in &k.inputs {
                if resources.contains(path) {
                    continue;
                }
                out.entry(path.clone()).or_insert_with(|| {
                    (
                        format!(
                            "{} of {what} `{at}`: checked through the units that use it, not applied on its own",
                            role.describe()
                        ),
                        role.is_yaml(),
                    )
                });
            }
        }
        for dir in self.unused_components() {
            let k = &self.kustomizations[&dir];
            for path in &k.resource_files {
                if resources.contains(path) {
                    continue;
                }
                out.entry(path.clone()).or_insert_with(|| {
                    (
                        format!(
                            "a resource of kustomize Component `{dir}`, which nothing includes: not applied"
                        ),
                        true,
                    )
                });
            }
        }
        out
    }
}

/// The file names kustomize-controller's generated kustomization lists.
fn is_generated_manifest(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    !path.split('/').any(|seg| seg.starts_with('.'))
        && [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e))
}

/// Folders holding a `Chart.yaml` (Helm charts), among `files` (repository or display paths).
pub fn chart_dirs<'a>(files: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    files
        .into_iter()
        .filter_map(|f| {
            let (dir, name) = f.rsplit_once('/').unwrap_or(("", f));
            matches!(name, "Chart.yaml" | "Chart.yml").then(|| dir.to_string())
        })
        .collect()
}

/// The Helm charts the given files are in: folders holding a `Chart.yaml`, among the files
/// themselves or found above them with `is_file` (a chart template named on its own, as
/// pre-commit does, is still a template).
pub fn charts_of<'a>(
    files: impl IntoIterator<Item = &'a str> + Clone,
    is_file: &dyn Fn(&str) -> bool,
) -> BTreeSet<String> {
    let mut charts = chart_dirs(files.clone());
    let mut probed: BTreeSet<String> = BTreeSet::new();
    for f in files {
        let mut cur = f;
        while let Some((dir, _)) = cur.rsplit_once('/') {
            if dir.is_empty()
                || dir.ends_with("..")
                || dir == "."
                || !probed.insert(dir.to_string())
            {
                break;
            }
            if ["Chart.yaml", "Chart.yml"]
                .iter()
                .any(|n| is_file(&format!("{dir}/{n}")))
            {
                charts.insert(dir.to_string());
            }
            cur = dir;
        }
    }
    charts
}

/// Why a file is never applied raw because of where it is or what it is named: a Helm chart's
/// templates, values and metadata (not its `crds/`, nor other files beside it), or a Go template outside
/// charts (`*.tmpl`, `*.gotmpl`, `*.tpl`, `*.template.yaml`). None: it may be a manifest.
pub fn template_reason(path: &str, charts: &BTreeSet<String>) -> Option<String> {
    let chart = charts
        .iter()
        .filter(|c| c.is_empty() || path.starts_with(&format!("{c}/")))
        .max_by_key(|c| c.len());
    if let Some(chart) = chart {
        let rel = if chart.is_empty() {
            path
        } else {
            &path[chart.len() + 1..]
        };
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let shown = if chart.is_empty() {
            "."
        } else {
            chart.as_str()
        };
        // Helm applies a chart's `crds/` as they are: they stay manifests.
        if rel.starts_with("crds/") {
            return None;
        }
        // Other files beside a `Chart.yaml` stay manifests: repositories keep charts and plain
        // manifests in one folder.
        let why = if rel.starts_with("templates/") {
            "a Go template"
        } else if matches!(name, "Chart.yaml" | "Chart.yml" | "Chart.lock") {
            "the metadata"
        } else if is_values_name(name) || rel.starts_with("ci/") {
            "a values file (an input)"
        } else {
            return None;
        };
        return Some(format!(
            "{why} of Helm chart `{shown}`: rendered by Helm, never applied raw"
        ));
    }
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let template = [".tmpl", ".gotmpl", ".tpl"]
        .iter()
        .any(|s| name.ends_with(s))
        || [".template.yaml", ".template.yml", ".tmpl.yaml", ".tmpl.yml"]
            .iter()
            .any(|s| name.ends_with(s));
    template
        .then(|| "a Go template (by its name): rendered by a tool, never applied raw".to_string())
}

/// `values.yaml`, `values-prod.yaml`, `values.prod.yml`, `values.schema.json`.
fn is_values_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("values")
        && [".yaml", ".yml", ".json"]
            .iter()
            .any(|e| lower.ends_with(e))
}

/// Whether a YAML text has a value that is an unquoted template action (`replicas: {{replicas}}`,
/// `- {{ .item }}`): YAML reads it as a mapping whose key is a mapping, which no Kubernetes object
/// can hold (kubectl refuses the file), so the file is a template a tool renders textually, not a
/// manifest. Text inside block scalars (`config: |`) is data and does not count.
pub fn has_unquoted_action_value(text: &str) -> bool {
    if !text.contains("{{") {
        return false;
    }
    // Indentation of the line that opened the block scalar we are in.
    let mut block: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        if let Some(open) = block {
            if trimmed.is_empty() || indent > open {
                continue;
            }
            block = None;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        let mut rest = trimmed;
        while let Some(r) = rest.strip_prefix("- ") {
            rest = r.trim_start();
        }
        let value = match rest.find(": ") {
            Some(i) if !rest[..i].contains(['"', '\'', '{', '[']) => rest[i + 2..].trim_start(),
            _ => rest,
        };
        let value = value.split(" #").next().unwrap_or(value).trim_end();
        if value.starts_with("{{") && value.contains("}}") {
            return true;
        }
        let indicator =
            value.trim_end_matches(|c: char| c.is_ascii_digit() || c == '+' || c == '-');
        if indicator == "|" || indicator == ">" {
            block = Some(indent);
        }
    }
    false
}

/// Blanks Go template actions (`{{ … }}`) so that a template's YAML skeleton can be parsed: a line
/// holding only actions becomes empty, an action inside a line becomes a same-width placeholder
/// (columns stay where they were). None when the text holds no action.
pub fn without_template_actions(text: &str) -> Option<String> {
    if !text.contains("{{") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        let mut replaced = String::with_capacity(line.len());
        let mut only_actions = true;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                break;
            };
            let before = &rest[..start];
            if !before.trim().is_empty() {
                only_actions = false;
            }
            replaced.push_str(before);
            let width = rest[start..start + len + 2].chars().count();
            replaced.push('x');
            replaced.extend(std::iter::repeat_n(' ', width - 1));
            rest = &rest[start + len + 2..];
        }
        if !rest.trim().is_empty() {
            only_actions = false;
        }
        replaced.push_str(rest);
        if only_actions && line.contains("{{") {
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(&replaced);
        }
    }
    Some(out)
}

/// Remote bases kustomize would fetch (git, http): never fetched by kgate.
pub fn is_remote(entry: &str) -> bool {
    let e = entry.trim();
    e.contains("://")
        || e.starts_with("github.com/")
        || e.starts_with("gitlab.com/")
        || e.starts_with("bitbucket.org/")
        || e.starts_with("git@")
        || e.contains("?ref=")
        || e.contains(".git//")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_files_and_named_templates_are_not_manifests() {
        let charts = chart_dirs(["charts/web/Chart.yaml", "apps/a.yaml"]);
        let r = |p: &str| template_reason(p, &charts);
        assert!(r("charts/web/templates/deploy.yaml")
            .unwrap()
            .contains("Go template"));
        assert!(r("charts/web/templates/tests/test.yaml")
            .unwrap()
            .contains("Go template"));
        assert!(r("charts/web/values-prod.yaml").unwrap().contains("values"));
        assert!(r("charts/web/ci/lint-values.yaml")
            .unwrap()
            .contains("values"));
        assert!(r("charts/web/Chart.yaml").unwrap().contains("metadata"));
        assert_eq!(r("charts/web/crds/crd.yaml"), None);
        // Manifests beside a Chart.yaml are still manifests.
        assert_eq!(r("charts/web/deploy/app.yaml"), None);
        assert_eq!(r("apps/a.yaml"), None);
        assert_eq!(r("charts/webx/a.yaml"), None);
        assert!(r("apps/cm.template.yaml").is_some());
        assert!(r("apps/cm.YAML.gotmpl").is_some());
    }

    #[test]
    fn template_actions_are_blanked_keeping_columns() {
        let t = "{{- if .Values.on }}\nkind: A\nspec:\n  replicas: {{ .Values.n }}\n{{- end }}\n";
        let out = without_template_actions(t).unwrap();
        assert_eq!(out, "\nkind: A\nspec:\n  replicas: x              \n\n");
        assert_eq!(without_template_actions("a: 1\n"), None);
    }

    #[test]
    fn unquoted_action_values_make_a_template_but_block_scalars_and_quotes_do_not() {
        assert!(has_unquoted_action_value(
            "spec:\n  replicas: {{replicas}}\n"
        ));
        assert!(has_unquoted_action_value("args:\n  - {{ .arg }}\n"));
        assert!(has_unquoted_action_value(
            "data:\n  config: {{config_data}} # filled by sed\n"
        ));
        // Inside a string, quoted or as part of a plain scalar: an ordinary value.
        assert!(!has_unquoted_action_value(
            "metadata:\n  name: etcd-{{cell}}\n"
        ));
        assert!(!has_unquoted_action_value(
            "name: '{{path.basename}}'\nb: \"{{x}}\"\n"
        ));
        // Block scalar content is data (an alert template, an embedded config file).
        assert!(!has_unquoted_action_value(
            "data:\n  alert.yaml: |\n    summary: {{ $labels.instance }}\n    - {{ x }}\n  other: ok\n"
        ));
        assert!(has_unquoted_action_value(
            "data:\n  a: >-\n    text {{ x }}\nspec:\n  n: {{n}}\n"
        ));
        assert!(!has_unquoted_action_value(
            "# replicas: {{replicas}}\na: 1\n"
        ));
    }
}
