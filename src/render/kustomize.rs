//! The kustomize engine: a kustomization folder → the objects `kubectl kustomize` would print,
//! in kustomize v5's order (resources as given, generators after them), with spans kept.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{
    builtin, generator, kustomization_file, patch, replace, transform, tree, RenderOptions,
    Rendered, Renderer,
};
use crate::diagnostic::Severity;
use crate::manifest::Manifest;
use crate::source::{Files, SourceFile, Span};
use crate::vfs::{normalize, Vfs};
use crate::yaml::{Node, Value};

/// One object being built, with the names and namespaces it had before (patches and
/// references may use any of them, as kustomize's resource ids do).
#[derive(Debug, Clone)]
pub(crate) struct Res {
    pub node: Node,
    pub file: Arc<SourceFile>,
    pub names: Vec<String>,
    pub namespaces: Vec<String>,
    /// A generated ConfigMap/Secret that gets kustomize's content hash suffix.
    pub hash: bool,
    /// A chart's object: the values lines its fields came from.
    pub value_origins: Option<Arc<crate::render::helm::provenance::Origins>>,
}

impl Res {
    pub fn new(node: Node, file: Arc<SourceFile>) -> Res {
        let names = vec![tree::name(&node).to_string()];
        let namespaces = vec![tree::namespace(&node).to_string()];
        Res {
            node,
            file,
            names,
            namespaces,
            hash: false,
            value_origins: None,
        }
    }
    pub fn kind(&self) -> &str {
        tree::kind(&self.node)
    }
    pub fn name(&self) -> &str {
        tree::name(&self.node)
    }
    pub fn group(&self) -> &str {
        crate::manifest::api_group(tree::api_version(&self.node))
    }
    /// Whether `name` is this object's current or an earlier name.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name() == name || self.names.iter().any(|n| n == name)
    }
}

/// Keys of a kustomization kgate renders.
const SUPPORTED: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "buildMetadata",
    "sortOptions",
    "generators",
    "transformers",
    "replacements",
    "vars",
    "configurations",
    "helmCharts",
    "helmGlobals",
];

/// Keys kgate knows and refuses to run or does not implement.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "helmChartInflationGenerator",
        "Helm charts are not rendered by kgate",
    ),
    ("validators", "validator plugins are never run by kgate"),
    (
        "openapi",
        "custom OpenAPI schemas for kustomize are not supported",
    ),
    (
        "crds",
        "kustomize `crds` (name reference configuration) are not implemented by kgate",
    ),
];

/// Renders the kustomization in `dir` (a repository path).
pub fn render_dir(vfs: &dyn Vfs, files: &Files, dir: &str, opts: &RenderOptions) -> Rendered {
    let r = Renderer::new(vfs, files, opts);
    render_dir_with(&r, dir)
}

/// Renders with a shared [`Renderer`] (its parse cache serves every overlay of a run).
pub fn render_dir_with(r: &Renderer, dir: &str) -> Rendered {
    let mut b = Build::new(r);
    let res = b.kustomization(dir, Vec::new(), 0, None);
    let res = b.finish(res);
    b.into_rendered(res, &r.vfs.display(dir))
}

pub(crate) struct Build<'r, 'a> {
    pub r: &'r Renderer<'a>,
    pub out: Rendered,
    stack: Vec<String>,
    /// `sortOptions` of the top-level kustomization (only it decides the output order).
    sort_options: Option<Node>,
    /// A remote resource or component was left out: a patch that matches nothing may have
    /// been meant for its objects.
    pub unrendered: bool,
    /// `vars:` met so far; resolved against the final objects.
    pub vars: Vec<replace::Var>,
    /// `--max-rendered-objects` was already reported for this build.
    objects_refused: bool,
    /// Kustomizations built so far (an inclusion reached twice is built twice).
    builds: usize,
    /// Field specs: kustomize's defaults plus every `configurations:` file met so far.
    pub config: super::fieldspec::Config,
}

impl<'r, 'a> Build<'r, 'a> {
    pub fn new(r: &'r Renderer<'a>) -> Self {
        Build {
            r,
            out: Rendered::default(),
            stack: Vec::new(),
            sort_options: None,
            unrendered: false,
            objects_refused: false,
            builds: 0,
            vars: Vec::new(),
            config: super::fieldspec::Config::defaults(),
        }
    }

    pub fn error(&mut self, code: &str, message: impl Into<String>, span: Span) {
        let d = self.r.diag(code, Severity::Error, message, span);
        self.out.diagnostics.push(d);
    }

    pub fn note(&mut self, code: &str, message: impl Into<String>, span: Span) {
        let d = self.r.diag(code, Severity::Note, message, span);
        self.out.diagnostics.push(d);
    }

    pub fn warning(&mut self, code: &str, message: impl Into<String>, span: Span) {
        let d = self.r.diag(code, Severity::Warning, message, span);
        self.out.diagnostics.push(d);
    }

    /// Resolves a path written in a kustomization in `dir`; escapes are findings.
    pub fn resolve(&mut self, dir: &str, rel: &str, span: Span) -> Option<String> {
        match normalize(dir, rel) {
            // The `.git` folder is no input of any build, and a CI checkout leaves its token
            // there (`http.extraheader`): a generator must not turn it into output.
            Some(p) if p.split('/').any(|c| c == ".git") => {
                self.error(
                    "render/outside-root",
                    format!("`{rel}` is inside the `.git` folder; kgate never reads it"),
                    span,
                );
                None
            }
            Some(p) => Some(p),
            None => {
                self.error(
                    "render/outside-root",
                    format!("`{rel}` leaves the repository root; kgate never reads outside it"),
                    span,
                );
                None
            }
        }
    }

    /// Whether reading `path` was refused because it leads outside the repository (a link).
    fn refused(&self, path: &str) -> bool {
        matches!(self.r.vfs.read(path, 0), Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied)
            || matches!(self.r.vfs.list_dir(path), Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied)
    }

    /// Reads a file referenced from a kustomization; problems are findings at `span`.
    pub fn read_text(&mut self, path: &str, span: Span) -> Option<Arc<SourceFile>> {
        if !self.r.vfs.is_file(path) {
            self.missing(path, span);
            return None;
        }
        match self.r.source(path) {
            Ok(f) => Some(f),
            Err(e) => {
                self.error("render/missing", format!("cannot read `{path}`: {e}"), span);
                None
            }
        }
    }

    pub fn missing(&mut self, path: &str, span: Span) {
        if self.refused(path) {
            self.error(
                "render/outside-root",
                format!("`{path}` is a symbolic link that leaves the repository; it was not read"),
                span,
            );
        } else {
            self.error("render/missing", format!("`{path}` does not exist"), span);
        }
    }

    /// The YAML documents of a referenced file.
    pub fn read_docs(&mut self, path: &str, span: Span) -> Option<Arc<super::Parsed>> {
        if !self.r.vfs.is_file(path) {
            self.missing(path, span);
            return None;
        }
        match self.r.parsed(path) {
            Ok(p) => {
                self.out.diagnostics.extend(p.diagnostics.iter().cloned());
                Some(p)
            }
            Err(e) => {
                self.error("render/missing", format!("cannot read `{path}`: {e}"), span);
                None
            }
        }
    }

    /// Builds the kustomization (or component) in `dir` on top of `acc`.
    pub fn kustomization(
        &mut self,
        dir: &str,
        acc: Vec<Res>,
        depth: usize,
        via: Option<Span>,
    ) -> Vec<Res> {
        self.kustomization_edited(dir, acc, depth, via, &|_| {})
    }

    /// [`Build::kustomization`] with the kustomization edited first (as `kustomize edit` would
    /// rewrite the file: Argo CD's `kustomize` options of an Application).
    pub fn kustomization_edited(
        &mut self,
        dir: &str,
        acc: Vec<Res>,
        depth: usize,
        via: Option<Span>,
        edit: &dyn Fn(&mut Node),
    ) -> Vec<Res> {
        let at = via.unwrap_or_default();
        if self.objects_refused {
            // Past --max-rendered-objects nothing more is added: do not build what would be
            // thrown away (a diamond of overlays is exponential in its depth).
            return acc;
        }
        // Each inclusion is a build of its own (kustomize does the same): a diamond of empty
        // overlays is exponential without producing one object, so builds count too.
        self.builds += 1;
        if self.builds > self.r.opts.max_objects {
            self.room_for(usize::MAX, at);
            return acc;
        }
        if self.stack.iter().any(|d| d == dir) {
            let chain = self.stack.join(" → ");
            self.error(
                "render/cycle",
                format!("`{dir}` includes itself ({chain} → {dir}); kustomize refuses cycles"),
                at,
            );
            return acc;
        }
        if depth > self.r.opts.max_depth {
            self.error(
                "render/limit",
                format!(
                    "kustomizations nested more than {} deep; rendering stopped here",
                    self.r.opts.max_depth
                ),
                at,
            );
            return acc;
        }
        let Some(kfile) = kustomization_file(self.r.vfs, dir) else {
            if via.is_some() {
                if self.refused(dir) {
                    self.missing(dir, at);
                } else {
                    self.error(
                        "render/missing",
                        format!("`{dir}` has no kustomization.yaml: kustomize cannot use it as a resource"),
                        at,
                    );
                }
            } else {
                self.out.diagnostics.push(
                    crate::diagnostic::Diagnostic::error(
                        "render/missing",
                        format!("`{}` has no kustomization.yaml", self.r.vfs.display(dir)),
                    )
                    .in_file(self.r.vfs.display(dir), None),
                );
            }
            return acc;
        };
        let Some(parsed) = self.read_docs(&kfile, at) else {
            return acc;
        };
        let Some(mut root) = parsed.docs.first().cloned() else {
            return acc;
        };
        if !matches!(root.value, Value::Map(_)) {
            self.error(
                "render/invalid",
                "a kustomization must be a mapping",
                root.span,
            );
            return acc;
        }
        edit(&mut root);
        if self.stack.is_empty() {
            self.sort_options = root.get("sortOptions").cloned();
        }
        self.stack.push(dir.to_string());
        let res = self.apply(dir, &root, acc, depth);
        self.stack.pop();
        res
    }

    fn apply(&mut self, dir: &str, k: &Node, acc: Vec<Res>, depth: usize) -> Vec<Res> {
        for (key, _) in k.as_map().unwrap_or_default() {
            if let Some((_, why)) = UNSUPPORTED.iter().find(|(n, _)| *n == key.name) {
                self.warning(
                    "render/unsupported",
                    format!(
                        "`{}`: {why}; the rendered output may differ from what the agent applies",
                        key.name
                    ),
                    key.span,
                );
            } else if !SUPPORTED.contains(&key.name.as_str()) {
                self.warning(
                    "render/unsupported",
                    format!(
                        "unknown kustomization field `{}` (kustomize rejects it)",
                        key.name
                    ),
                    key.span,
                );
            }
        }
        let mut res = acc;
        for field in ["resources", "bases"] {
            for (entry, span) in self.strings(k, field) {
                self.resource(dir, &entry, span, depth, &mut res);
            }
        }
        self.configurations(dir, k);
        generator::run(self, dir, k, &mut res);
        super::helm::kustomize::inflate(self, dir, k, &mut res);
        builtin::generators(self, dir, k, depth, &mut res);
        for (entry, span) in self.strings(k, "components") {
            if is_remote(&entry) {
                self.remote(&entry, span);
                continue;
            }
            if let Some(sub) = self.resolve(dir, &entry, span) {
                self.out.included.insert(sub.clone());
                res = self.kustomization(&sub, res, depth + 1, Some(span));
            }
        }
        // kustomize's order of built-in transformers (api/internal/target/kusttarget_configplugin.go).
        patch::run_smp(self, dir, k, &mut res);
        patch::run_patches(self, dir, k, &mut res);
        transform::namespace(self, k, &mut res);
        transform::prefix_suffix(self, k, &mut res);
        transform::labels(self, k, &mut res);
        transform::annotations(self, k, &mut res);
        patch::run_json6902(self, dir, k, &mut res);
        transform::replicas(self, k, &mut res);
        transform::images(self, k, &mut res);
        replace::run(self, dir, k, &mut res);
        builtin::transformers(self, dir, k, depth, &mut res);
        replace::collect_vars(self, k);
        res
    }

    /// `configurations:` files add field specs to the build (a missing file fails the build in
    /// kustomize, so it is `render/missing` here).
    fn configurations(&mut self, dir: &str, k: &Node) {
        for (entry, span) in self.strings(k, "configurations") {
            if is_remote(&entry) {
                self.remote(&entry, span);
                continue;
            }
            let Some(path) = self.resolve(dir, &entry, span) else {
                continue;
            };
            let Some(parsed) = self.read_docs(&path, span) else {
                continue;
            };
            self.out.consumed.insert(parsed.file.path.clone());
            for doc in &parsed.docs {
                self.config.merge_file(doc);
            }
        }
    }

    /// The string items of a list field, with their spans; other shapes are findings.
    pub fn strings(&mut self, k: &Node, field: &str) -> Vec<(String, Span)> {
        let Some(node) = k.get(field) else {
            return Vec::new();
        };
        match &node.value {
            Value::Null => Vec::new(),
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| match tree::scalar_text(i) {
                    Some(s) => Some((s, i.span)),
                    None => {
                        self.error(
                            "render/invalid",
                            format!("`{field}` items must be strings"),
                            i.span,
                        );
                        None
                    }
                })
                .collect(),
            _ => {
                self.error(
                    "render/invalid",
                    format!("`{field}` must be a list"),
                    node.span,
                );
                Vec::new()
            }
        }
    }

    pub fn remote(&mut self, entry: &str, span: Span) {
        self.unrendered = true;
        self.warning(
            "render/unsupported",
            format!("remote base `{entry}`: kgate never uses the network, so its objects are not checked"),
            span,
        );
    }

    fn resource(&mut self, dir: &str, entry: &str, span: Span, depth: usize, res: &mut Vec<Res>) {
        if is_remote(entry) {
            return self.remote(entry, span);
        }
        let Some(path) = self.resolve(dir, entry, span) else {
            return;
        };
        if self.r.vfs.is_dir(&path) {
            self.out.included.insert(path.clone());
            let sub = self.kustomization(&path, Vec::new(), depth + 1, Some(span));
            self.add(res, sub);
            return;
        }
        let Some(parsed) = self.read_docs(&path, span) else {
            return;
        };
        self.out.consumed.insert(parsed.file.path.clone());
        let mut objects = Vec::new();
        for doc in &parsed.docs {
            collect(doc, &parsed.file, &mut objects);
        }
        self.add(res, objects);
    }

    /// Appends objects; two objects with one identity are a conflict, as in kustomize. The
    /// identities are hashed once per call, so a large build is not compared pairwise.
    fn add(&mut self, res: &mut Vec<Res>, new: Vec<Res>) {
        let id = |r: &Res| {
            (
                r.kind().to_string(),
                r.group().to_string(),
                r.name().to_string(),
                tree::namespace(&r.node).to_string(),
            )
        };
        let mut seen: std::collections::HashSet<_> = res.iter().map(id).collect();
        for r in new {
            if !self.room_for(res.len(), r.node.span) {
                break;
            }
            if !seen.insert(id(&r)) {
                let msg = format!(
                    "{} `{}` is already a resource of this kustomization; kustomize refuses duplicates",
                    r.kind(),
                    r.name()
                );
                self.error("render/conflict", msg, r.node.span);
                continue;
            }
            res.push(r);
        }
    }

    /// Whether one more object fits under `--max-rendered-objects`; the first refusal is a
    /// `render/limit` finding (once per build).
    pub fn room_for(&mut self, count: usize, span: Span) -> bool {
        if count < self.r.opts.max_objects {
            return true;
        }
        if !self.objects_refused {
            self.objects_refused = true;
            self.error(
                "render/limit",
                format!(
                    "this build renders more than {} objects (or builds that many kustomizations); the rest were left out (limit: --max-rendered-objects / `max_rendered_objects`)",
                    self.r.opts.max_objects
                ),
                span,
            );
        }
        false
    }

    /// A `render/limit` finding for an object that grew past `--max-rendered-nodes`.
    pub fn too_large(&mut self, what: &str, span: Span) {
        let msg = format!(
            "{what} makes an object larger than {} nodes; it was stopped there (limit: --max-rendered-nodes / `max_rendered_nodes`)",
            self.r.opts.max_object_nodes
        );
        self.error("render/limit", msg, span);
    }

    /// The last steps of a top-level build: generated names get their hash suffix and every
    /// reference to them follows.
    pub fn finish(&mut self, res: Vec<Res>) -> Vec<Res> {
        let mut res = self.hash_names(res);
        replace::resolve_vars(self, &mut res);
        for r in res.iter_mut() {
            drop_empty_annotations(&mut r.node);
        }
        self.sort(&mut res);
        res
    }

    /// kustomize's output order: `legacy` (by kind: Namespace first, webhooks last; the
    /// default of `kubectl kustomize` and Flux) unless the top kustomization asks for `fifo`.
    fn sort(&mut self, res: &mut [Res]) {
        let opts = self.sort_options.clone();
        let order = opts
            .as_ref()
            .and_then(|o| o.get("order"))
            .and_then(Node::as_str)
            .unwrap_or("legacy");
        match order {
            "fifo" => {}
            "legacy" => {
                let custom = |f: &str| -> Option<Vec<String>> {
                    let list = opts.as_ref()?.get("legacySortOptions")?.get(f)?.as_seq()?;
                    Some(list.iter().filter_map(tree::scalar_text).collect())
                };
                let first = custom("orderFirst")
                    .unwrap_or_else(|| ORDER_FIRST.iter().map(|s| s.to_string()).collect());
                let last = custom("orderLast")
                    .unwrap_or_else(|| ORDER_LAST.iter().map(|s| s.to_string()).collect());
                res.sort_by_cached_key(|r| legacy_key(r, &first, &last));
            }
            other => {
                let span = opts
                    .as_ref()
                    .and_then(|o| o.get("order"))
                    .map(|n| n.span)
                    .unwrap_or_default();
                self.error(
                    "render/invalid",
                    format!("unknown sortOptions order `{other}` (legacy or fifo)"),
                    span,
                );
            }
        }
    }

    fn hash_names(&mut self, mut res: Vec<Res>) -> Vec<Res> {
        let mut renames = Vec::new();
        for r in res.iter_mut().filter(|r| r.hash) {
            let suffix = generator::hash(&r.node);
            let old = r.name().to_string();
            let new = format!("{old}-{suffix}");
            let span = r
                .node
                .get("metadata")
                .and_then(|m| m.get("name"))
                .map(|n| n.span)
                .unwrap_or(r.node.span);
            if let Some(meta) = tree::get_mut(&mut r.node, "metadata") {
                tree::set(meta, "name", tree::string(new.clone(), span));
            }
            r.names.push(old.clone());
            renames.push((r.kind().to_string(), old, new));
        }
        let custom = self.config.name_reference.clone();
        transform::fix_references(&mut res, &renames, &custom);
        res
    }

    pub fn into_rendered(mut self, res: Vec<Res>, rendered_for: &str) -> Rendered {
        if !rendered_for.is_empty() {
            for d in self
                .out
                .diagnostics
                .iter_mut()
                .filter(|d| d.rendered_for.is_none())
            {
                d.rendered_for = Some(rendered_for.to_string());
            }
        }
        for r in res {
            let mut m = Manifest::from_node(r.node, r.file);
            m.rendered_for = Some(rendered_for.to_string());
            m.value_origins = r.value_origins;
            self.out.manifests.push(m);
        }
        self.out
    }
}

/// kustomize writes its own bookkeeping annotations on every object and removes them before
/// printing, so a `metadata.annotations` that is null or empty is gone from its output.
fn drop_empty_annotations(node: &mut Node) {
    if let Some(meta) = tree::get_mut(node, "metadata") {
        let empty = match meta.get("annotations").map(|a| &a.value) {
            Some(Value::Null) => true,
            Some(Value::Map(m)) => m.is_empty(),
            _ => false,
        };
        if empty {
            tree::remove(meta, "annotations");
        }
    }
}

/// kustomize's legacy kind order (sigs.k8s.io/kustomize/kyaml/resid/gvk.go).
const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sort key of the legacy order: kind rank, then `group_version_kind`, then namespace (empty
/// sorts as `~X`, after named ones) and name, as kustomize's resource ids compare.
fn legacy_key(r: &Res, first: &[String], last: &[String]) -> (i64, String, String) {
    let kind = r.kind();
    let rank = match (
        first.iter().position(|k| k == kind),
        last.iter().position(|k| k == kind),
    ) {
        (Some(i), _) => i as i64 - first.len() as i64,
        (None, Some(i)) => 1 + i as i64,
        _ => 0,
    };
    let api = tree::api_version(&r.node);
    let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    let gvk = format!(
        "{}_{}_{}",
        or(group, "~G"),
        or(version, "~V"),
        or(kind, "~K")
    );
    let ns = or(tree::namespace(&r.node), "~X");
    (rank, gvk, format!("{ns}|{}", r.name()))
}

pub(crate) use crate::units::is_remote;

/// Kubernetes objects of one document (a `List` is expanded; tool configuration is left out).
pub(crate) fn collect(doc: &Node, file: &Arc<SourceFile>, out: &mut Vec<Res>) {
    let (Some(api), Some(kind)) = (
        doc.get("apiVersion").and_then(Node::as_str),
        doc.get("kind").and_then(Node::as_str),
    ) else {
        return;
    };
    if crate::manifest::api_group(api) == "kustomize.config.k8s.io" {
        return;
    }
    if kind.ends_with("List") {
        if let Some(items) = doc.get("items").and_then(Node::as_seq) {
            for item in items {
                collect(item, file, out);
            }
            return;
        }
    }
    out.push(Res::new(doc.clone(), file.clone()));
}

/// The folders under `paths` that hold a kustomization, as repository paths.
pub fn kustomization_dirs(files: &[String]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|f| {
            let (dir, name) = f.rsplit_once('/').unwrap_or(("", f));
            super::KUSTOMIZATION_FILES
                .contains(&name)
                .then(|| dir.to_string())
        })
        .collect()
}
