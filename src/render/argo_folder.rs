//! Argo CD Applications whose source is a plain folder of this repository (no chart): the objects
//! Argo CD's repo-server generates from it. A folder with a kustomization (or an explicit
//! `kustomize:` block) is built by kustomize after the Application's `kustomize.*` options are
//! written into its kustomization, as Argo CD's `kustomize edit` calls do; any other folder is a
//! directory source: its `*.yaml|yml|json` files (sub-folders only with `directory.recurse`),
//! filtered by the `directory.include`/`exclude` globs. Jsonnet files are reported, never
//! evaluated. Namespaced objects without a namespace get the destination namespace, as Argo CD
//! applies them.

use std::collections::BTreeMap;

use super::kustomize::{collect, Build, Res};
use super::{join, kustomization_file, tree, Rendered, Renderer};
use crate::manifest::Manifest;
use crate::source::Span;
use crate::vfs::{normalize, Vfs};
use crate::yaml::{Key, Node, Value};

/// How Argo CD generates one plain-folder source.
#[derive(Debug, Clone)]
pub enum Generation {
    /// `kustomize build` of the folder, with the Application's `kustomize` options.
    Kustomize,
    /// The folder's manifest files.
    Directory {
        recurse: bool,
        include: Option<String>,
        exclude: Option<String>,
    },
}

/// One plain-folder source of an Application.
#[derive(Debug, Clone)]
pub struct FolderSource {
    /// Repository path of `source.path`.
    pub dir: String,
    /// The source's YAML node (its fields' spans are where findings about it point).
    pub node: Node,
    pub generation: Generation,
    /// `kustomize.components`, resolved against the folder.
    pub components: Vec<String>,
}

fn flag(n: Option<&Node>) -> bool {
    matches!(n.map(|n| &n.value), Some(Value::Bool(true)))
}

fn text(n: Option<&Node>) -> Option<String> {
    n.and_then(tree::scalar_text).filter(|s| !s.is_empty())
}

/// The source nodes of an Application: `spec.sources` when it has any, else `spec.source`.
fn source_nodes(app: &Manifest) -> Vec<&Node> {
    let spec = app.node.get("spec");
    match spec.and_then(|s| s.get("sources")).and_then(Node::as_seq) {
        Some(list) if !list.is_empty() => list.iter().collect(),
        _ => spec.and_then(|s| s.get("source")).into_iter().collect(),
    }
}

/// The plain-folder sources of an Application that are folders of this tree. Helm sources (a
/// chart, a `helm:` block, a folder with `Chart.yaml`) are the Helm renderer's; config
/// management plugins are not rendered; a `ref`-only source provides values, not objects.
pub fn folder_sources(vfs: &dyn Vfs, app: &Manifest, source_root: &str) -> Vec<FolderSource> {
    let mut out = Vec::new();
    for s in source_nodes(app) {
        if s.get("chart").is_some() || s.get("plugin").is_some() || s.get("helm").is_some() {
            continue;
        }
        let Some(path) = s.get("path").and_then(Node::as_str) else {
            continue;
        };
        // Relative to the repository's root (the checked folder outside one), never above it.
        let Some(dir) = super::flux::source_path(source_root, path) else {
            continue;
        };
        if !vfs.is_dir(&dir) {
            // Another repository's folder (or a missing one): nothing of this tree.
            continue;
        }
        // A folder with a chart is rendered by the Helm renderer, whatever the source says.
        if vfs.is_file(&join(&dir, "Chart.yaml")) {
            continue;
        }
        // A null block is an absent one (Go's nil pointer), not an explicit source type.
        let set = |f: &str| s.get(f).is_some_and(|n| !matches!(n.value, Value::Null));
        let explicit_dir = set("directory");
        let explicit_kust = set("kustomize");
        // Argo CD: an explicit source type wins; else a kustomization at the top of the folder
        // makes it a kustomize source.
        let generation =
            if explicit_kust || (!explicit_dir && kustomization_file(vfs, &dir).is_some()) {
                Generation::Kustomize
            } else {
                let d = s.get("directory");
                Generation::Directory {
                    recurse: flag(d.and_then(|d| d.get("recurse"))),
                    include: text(d.and_then(|d| d.get("include"))),
                    exclude: text(d.and_then(|d| d.get("exclude"))),
                }
            };
        let components = match generation {
            Generation::Kustomize => s
                .get("kustomize")
                .and_then(|k| k.get("components"))
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .filter_map(|c| normalize(&dir, c))
                .collect(),
            Generation::Directory { .. } => Vec::new(),
        };
        out.push(FolderSource {
            dir,
            node: s.clone(),
            generation,
            components,
        });
    }
    out
}

/// The files a directory source reads, in Argo CD's walk order (repository paths): every
/// `*.yaml|yml|json|jsonnet` file of the folder (and of its sub-folders with `recurse`) whose
/// path relative to the folder matches `include` (when set) and not `exclude`.
pub fn directory_files(
    vfs: &dyn Vfs,
    dir: &str,
    recurse: bool,
    include: Option<&str>,
    exclude: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    walk(vfs, dir, dir, recurse, include, exclude, 0, &mut out);
    out
}

/// Deeper than this, a folder tree is not a repository layout (and a link loop stops here).
const MAX_WALK_DEPTH: usize = 64;

#[allow(clippy::too_many_arguments)]
fn walk(
    vfs: &dyn Vfs,
    top: &str,
    dir: &str,
    recurse: bool,
    include: Option<&str>,
    exclude: Option<&str>,
    depth: usize,
    out: &mut Vec<String>,
) {
    if depth > MAX_WALK_DEPTH {
        return;
    }
    let mut names = vfs.list_dir(dir).unwrap_or_default();
    names.sort();
    for name in names {
        let path = join(dir, &name);
        if vfs.is_dir(&path) {
            // `.git` is never an input (and a CI checkout keeps credentials there).
            if recurse && name != ".git" {
                walk(vfs, top, &path, recurse, include, exclude, depth + 1, out);
            }
            continue;
        }
        if ![".yaml", ".yml", ".json", ".jsonnet"]
            .iter()
            .any(|e| name.ends_with(e))
        {
            continue;
        }
        let rel = if top.is_empty() {
            path.as_str()
        } else {
            path.strip_prefix(&format!("{top}/")).unwrap_or(&path)
        };
        if exclude.is_some_and(|g| glob_match(g, rel)) {
            continue;
        }
        if include.is_some_and(|g| !glob_match(g, rel)) {
            continue;
        }
        out.push(path);
    }
}

/// Argo CD's glob (`github.com/gobwas/glob` compiled without separators): `*` and `**` match any
/// text, `/` included; `?` one character; `[abc]`, `[a-z]`, `[!x]` classes; `{a,b}`
/// alternatives (nested allowed); `\` escapes.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    expand_braces(pattern).iter().any(|p| {
        wildcard(
            &p.chars().collect::<Vec<_>>(),
            &text.chars().collect::<Vec<_>>(),
        )
    })
}

/// `a{b,c{d,e}}` → `ab`, `acd`, `ace` (escaped braces stay literal, with their escape).
fn expand_braces(p: &str) -> Vec<String> {
    let chars: Vec<char> = p.chars().collect();
    let mut depth = 0;
    let mut open = None;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => {
                if depth == 0 {
                    open = Some(i);
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    let start = open.unwrap_or(0);
                    let prefix: String = chars[..start].iter().collect();
                    let suffix: String = chars[i + 1..].iter().collect();
                    let mut alts = Vec::new();
                    let mut cur = String::new();
                    let mut d = 0;
                    let mut j = start + 1;
                    while j < i {
                        let c = chars[j];
                        match c {
                            '\\' if j + 1 < i => {
                                cur.push(c);
                                cur.push(chars[j + 1]);
                                j += 1;
                            }
                            '{' => {
                                d += 1;
                                cur.push(c);
                            }
                            '}' => {
                                d -= 1;
                                cur.push(c);
                            }
                            ',' if d == 0 => alts.push(std::mem::take(&mut cur)),
                            _ => cur.push(c),
                        }
                        j += 1;
                    }
                    alts.push(cur);
                    return alts
                        .iter()
                        .flat_map(|a| expand_braces(&format!("{prefix}{a}{suffix}")))
                        .collect();
                }
            }
            _ => {}
        }
        i += 1;
    }
    vec![p.to_string()]
}

fn wildcard(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => {
            let rest = &p[p.iter().take_while(|c| **c == '*').count()..];
            (0..=t.len()).any(|i| wildcard(rest, &t[i..]))
        }
        Some('?') => !t.is_empty() && wildcard(&p[1..], &t[1..]),
        Some('[') => {
            let Some(end) = p.iter().skip(1).position(|c| *c == ']').map(|e| e + 1) else {
                return t.first() == Some(&'[') && wildcard(&p[1..], &t[1..]);
            };
            let Some(c) = t.first() else { return false };
            let class = &p[1..end];
            let (negate, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut k = 0;
            while k < class.len() {
                if k + 2 < class.len() && class[k + 1] == '-' {
                    hit |= class[k] <= *c && *c <= class[k + 2];
                    k += 3;
                } else {
                    hit |= class[k] == *c;
                    k += 1;
                }
            }
            hit != negate && wildcard(&p[end + 1..], &t[1..])
        }
        Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && wildcard(&p[2..], &t[1..]),
        Some(c) => t.first() == Some(c) && wildcard(&p[1..], &t[1..]),
    }
}

/// Renders one plain-folder source of `app` for `label`. `crd_scopes`: `group/kind` → whether
/// it is namespaced, for the custom resources whose CRD is in the run (the built-in catalog
/// answers for the others).
pub fn render_folder(
    r: &Renderer,
    app: &Manifest,
    src: &FolderSource,
    label: &str,
    crd_scopes: &BTreeMap<String, bool>,
) -> Rendered {
    let mut b = Build::new(r);
    let at = src
        .node
        .get("path")
        .map(|n| n.span)
        .unwrap_or(src.node.span);
    let res = match &src.generation {
        Generation::Kustomize => {
            let opts = src.node.get("kustomize").cloned();
            let res = b.kustomization_edited(&src.dir, Vec::new(), 0, None, &|k: &mut Node| {
                if let Some(opts) = &opts {
                    apply_options(k, opts);
                }
            });
            b.finish(res)
        }
        Generation::Directory {
            recurse,
            include,
            exclude,
        } => {
            let mut res = Vec::new();
            for path in directory_files(
                r.vfs,
                &src.dir,
                *recurse,
                include.as_deref(),
                exclude.as_deref(),
            ) {
                if path.ends_with(".jsonnet") {
                    b.warning(
                        "render/unsupported",
                        format!(
                            "`{}` is a Jsonnet file: Argo CD evaluates it, kgate never executes \
                             it, so the objects it generates are not checked",
                            r.vfs.display(&path)
                        ),
                        at,
                    );
                    continue;
                }
                let Some(parsed) = b.read_docs(&path, at) else {
                    continue;
                };
                b.out.consumed.insert(parsed.file.path.clone());
                for doc in &parsed.docs {
                    collect(doc, &parsed.file, &mut res);
                }
            }
            res
        }
    };
    let mut res = res;
    if let Some(ns) = app
        .node
        .get("spec")
        .and_then(|s| s.get("destination"))
        .and_then(|d| d.get("namespace"))
    {
        if let Some(text) = ns.as_str().filter(|s| !s.is_empty()) {
            destination_namespace(&mut res, text, ns.span, crd_scopes);
        }
    }
    b.into_rendered(res, label)
}

/// Argo CD applies namespaced objects that name no namespace into the destination namespace.
fn destination_namespace(
    res: &mut [Res],
    ns: &str,
    span: Span,
    crd_scopes: &BTreeMap<String, bool>,
) {
    for r in res.iter_mut() {
        if !tree::namespace(&r.node).is_empty() || !is_namespaced(r, crd_scopes) {
            continue;
        }
        if let Some(meta) = tree::map_at(&mut r.node, &["metadata"], true, span) {
            tree::set(meta, "namespace", tree::string(ns, span));
        }
    }
}

/// Whether a rendered object's kind lives in a namespace, as the cluster Argo CD applies to
/// answers: built-in kinds from the schema bundles, custom kinds by the run's CRD, else by the
/// built-in catalog's (an unknown kind is taken as namespaced, as kustomize takes it).
fn is_namespaced(r: &Res, crd_scopes: &BTreeMap<String, bool>) -> bool {
    let crd = crd_scopes
        .get(&format!("{}/{}", r.group(), r.kind()))
        .copied();
    crate::schema::scope::namespaced(r.group(), r.kind(), crd).unwrap_or(true)
}

fn map_node(entries: Vec<(&str, Node)>, span: Span) -> Node {
    Node {
        span,
        value: Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.to_string(),
                            span: v.span,
                        },
                        v,
                    )
                })
                .collect(),
        ),
    }
}

/// Merges the string map `values` into the map `field` of `k` (`kustomize edit add label`).
fn merge_map(k: &mut Node, field: &str, values: &Node) {
    let Some(pairs) = values.as_map() else { return };
    if pairs.is_empty() {
        return;
    }
    if !matches!(k.get(field).map(|n| &n.value), Some(Value::Map(_))) {
        tree::set(
            k,
            field,
            Node {
                span: values.span,
                value: Value::Map(Vec::new()),
            },
        );
    }
    if let Some(map) = tree::get_mut(k, field) {
        for (key, v) in pairs {
            let text = tree::scalar_text(v).unwrap_or_default();
            tree::set(map, &key.name, tree::string(text, v.span));
        }
    }
}

/// `kustomize edit set image` arguments: `name[=newName][:tag|@digest]`, as kustomize parses
/// them (a `:` after the last `/` is a tag).
fn image_entry(arg: &str, span: Span) -> Node {
    let (name, target) = match arg.split_once('=') {
        Some((n, t)) => (Some(n), t),
        None => (None, arg),
    };
    let (image, tag, digest) = if let Some((i, d)) = target.split_once('@') {
        (i, None, Some(d))
    } else {
        let slash = target.rfind('/').map(|i| i + 1).unwrap_or(0);
        match target[slash..].rfind(':') {
            Some(c) => (&target[..slash + c], Some(&target[slash + c + 1..]), None),
            None => (target, None, None),
        }
    };
    let s = |v: &str| tree::string(v, span);
    let mut entries = vec![("name", s(name.unwrap_or(image)))];
    if name.is_some() && !image.is_empty() && image != "*" {
        entries.push(("newName", s(image)));
    }
    if let Some(t) = tag {
        entries.push(("newTag", s(t)));
    }
    if let Some(d) = digest {
        entries.push(("digest", s(d)));
    }
    map_node(entries, span)
}

/// Writes an Application's `kustomize` options into the folder's kustomization, as Argo CD's
/// `kustomize edit` calls do before `kustomize build`.
fn apply_options(k: &mut Node, opts: &Node) {
    for (field, key) in [("namePrefix", "namePrefix"), ("nameSuffix", "nameSuffix")] {
        if let Some(v) = opts.get(field).filter(|v| text(Some(v)).is_some()) {
            tree::set(k, key, v.clone());
        }
    }
    if let Some(list) = opts.get("images").and_then(Node::as_seq) {
        let items = list
            .iter()
            .filter_map(|i| i.as_str().map(|s| image_entry(s, i.span)))
            .collect();
        let span = opts.get("images").map(|n| n.span).unwrap_or(opts.span);
        tree::upsert_named(k, "images", items, span);
    }
    if let Some(list) = opts.get("replicas").and_then(Node::as_seq) {
        let items = list
            .iter()
            .filter_map(|i| {
                let name = i.get("name")?.clone();
                let count = i.get("count")?;
                // `count` is an int or a string holding one (Argo CD's GetIntCount).
                let count = match &count.value {
                    Value::Int(_) => count.clone(),
                    _ => Node {
                        span: count.span,
                        value: Value::Int(tree::scalar_text(count)?.trim().parse().ok()?),
                    },
                };
                Some(map_node(vec![("name", name), ("count", count)], i.span))
            })
            .collect();
        let span = opts.get("replicas").map(|n| n.span).unwrap_or(opts.span);
        tree::upsert_named(k, "replicas", items, span);
    }
    if let Some(labels) = opts.get("commonLabels") {
        if flag(opts.get("labelWithoutSelector")) {
            // `kustomize edit add label --without-selector [--include-templates]`.
            let mut entry = vec![("pairs", labels.clone())];
            if flag(opts.get("labelIncludeTemplates")) {
                entry.push((
                    "includeTemplates",
                    Node {
                        span: labels.span,
                        value: Value::Bool(true),
                    },
                ));
            }
            let item = map_node(entry, labels.span);
            tree::append_seq(k, "labels", &[item], labels.span);
        } else {
            merge_map(k, "commonLabels", labels);
        }
    }
    if let Some(annotations) = opts.get("commonAnnotations") {
        merge_map(k, "commonAnnotations", annotations);
    }
    if let Some(ns) = opts.get("namespace").filter(|v| text(Some(v)).is_some()) {
        tree::set(k, "namespace", ns.clone());
    }
    for (field, span) in [
        ("patches", opts.get("patches").map(|n| n.span)),
        ("components", opts.get("components").map(|n| n.span)),
    ] {
        if let (Some(span), Some(items)) = (span, opts.get(field).and_then(Node::as_seq)) {
            tree::append_seq(k, field, items, span);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_argo_cd_matches_them() {
        // No separators: `*` crosses folders.
        assert!(glob_match("*.yaml", "a.yaml"));
        assert!(glob_match("*.yaml", "sub/a.yaml"));
        assert!(glob_match("sub/*", "sub/x/y.json"));
        assert!(!glob_match("sub/*", "other/y.json"));
        assert!(glob_match("{config.json,env-usw2/*}", "config.json"));
        assert!(glob_match("{config.json,env-usw2/*}", "env-usw2/a.yaml"));
        assert!(!glob_match("{config.json,env-usw2/*}", "env-use1/a.yaml"));
        assert!(glob_match("*{deploy,svc}*.yaml", "my-svc-1.yaml"));
        assert!(glob_match("a{b,c{d,e}}f", "acef"));
        assert!(!glob_match("a{b,c{d,e}}f", "acf"));
        assert!(glob_match("file?.yaml", "file1.yaml"));
        assert!(!glob_match("file?.yaml", "file12.yaml"));
        assert!(glob_match("[a-c]*.yaml", "b.yaml"));
        assert!(!glob_match("[!a-c]*.yaml", "b.yaml"));
        assert!(glob_match("\\{x\\}.yaml", "{x}.yaml"));
        assert!(glob_match("**/*.yaml", "a/b/c.yaml"));
    }

    /// Renders the first folder source of the Application in `app.yaml` of a repository made
    /// of `files`; the rendered objects as JSON.
    fn render_app(files: &[(&str, &str)]) -> (Vec<serde_json::Value>, Rendered) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let vfs = crate::vfs::DiskFs::new(dir.path());
        let reg = crate::source::Files::new();
        let text = std::fs::read_to_string(dir.path().join("app.yaml")).unwrap();
        let file = reg.add("app.yaml", text);
        let loaded = crate::load::load_file(&reg, &file, &crate::yaml::Limits::default());
        let app = &loaded.manifests[0];
        let opts = crate::render::RenderOptions::default();
        let r = Renderer::new(&vfs, &reg, &opts);
        let src = folder_sources(&vfs, app, "").remove(0);
        let out = render_folder(&r, app, &src, "Application argocd/x", &BTreeMap::new());
        let json = out.manifests.iter().map(|m| m.json.clone()).collect();
        (json, out)
    }

    #[test]
    fn kustomize_options_are_written_into_the_kustomization_as_argo_cd_does() {
        let (objs, out) = render_app(&[
            (
                "app.yaml",
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x, namespace: argocd}\nspec:\n  source:\n    path: app\n    kustomize:\n      namePrefix: prod-\n      nameSuffix: -v2\n      images: ['nginx=registry.example.com/nginx:1.27', 'busybox@sha256:abc']\n      replicas: [{name: web, count: '3'}]\n      commonLabels: {team: a}\n      commonAnnotations: {owner: b}\n      patches:\n        - target: {kind: Deployment}\n          patch: |-\n            - op: add\n              path: /spec/template/spec/priorityClassName\n              value: high\n      components: [../comp]\n  destination: {namespace: dest}\n",
            ),
            (
                "app/kustomization.yaml",
                "resources: [deploy.yaml]\nnamePrefix: base-\nimages: [{name: nginx, newTag: '1.0'}]\ncommonLabels: {tier: web}\n",
            ),
            (
                "app/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: nginx}, {name: side, image: busybox}]\n",
            ),
            (
                "comp/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [cm.yaml]\n",
            ),
            (
                "comp/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n",
            ),
        ]);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let d = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
        // `kustomize edit set nameprefix` replaces the kustomization's own prefix.
        assert_eq!(d["metadata"]["name"], "prod-web-v2");
        assert_eq!(d["metadata"]["namespace"], "dest");
        assert_eq!(d["spec"]["replicas"], 3);
        assert_eq!(d["metadata"]["labels"]["team"], "a");
        assert_eq!(d["metadata"]["labels"]["tier"], "web");
        assert_eq!(d["spec"]["selector"]["matchLabels"]["team"], "a");
        assert_eq!(d["metadata"]["annotations"]["owner"], "b");
        assert_eq!(d["spec"]["template"]["spec"]["priorityClassName"], "high");
        let c = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["image"], "registry.example.com/nginx:1.27");
        assert_eq!(c[1]["image"], "busybox@sha256:abc");
        let cm = objs.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
        assert_eq!(cm["metadata"]["name"], "prod-extra-v2");
    }

    #[test]
    fn a_directory_source_reads_the_folder_as_argo_cd_does() {
        let app = |dir: &str| {
            format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: x}}\nspec:\n  source:\n    path: app\n{dir}  destination: {{namespace: dest}}\n"
            )
        };
        let cm =
            |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n");
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\n";
        let layout = |dir: &str| -> Vec<(String, String)> {
            vec![
                ("app.yaml".into(), app(dir)),
                ("app/a.yaml".into(), cm("a")),
                ("app/b.yml".into(), format!("{}---\n{}", cm("b"), crd)),
                ("app/c.json".into(), "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\", \"namespace\": \"own\"}}".into()),
                ("app/notes.txt".into(), cm("txt")),
                // Custom kinds: cluster-scoped or not by the built-in catalog (cert-manager).
                ("app/issuers.yaml".into(), "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: le}\n---\napiVersion: cert-manager.io/v1\nkind: Issuer\nmetadata: {name: iss}\n".into()),
                ("app/sub/d.yaml".into(), cm("d")),
                ("app/sub/deeper/e.yaml".into(), cm("e")),
                ("app/sub/e-test.yaml".into(), cm("etest")),
            ]
        };
        let names = |dir: &str| -> Vec<String> {
            let files = layout(dir);
            let refs: Vec<(&str, &str)> = files
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let (objs, _) = render_app(&refs);
            let mut v: Vec<String> = objs
                .iter()
                .map(|o| {
                    format!(
                        "{}/{}",
                        o["metadata"]["namespace"].as_str().unwrap_or("-"),
                        o["metadata"]["name"].as_str().unwrap()
                    )
                })
                .collect();
            v.sort();
            v
        };
        // The folder only; a namespace of its own is kept; cluster-scoped kinds get none.
        assert_eq!(
            names(""),
            ["-/le", "-/x", "dest/a", "dest/b", "dest/iss", "own/c"]
        );
        assert_eq!(
            names("    directory: {recurse: true}\n"),
            [
                "-/le",
                "-/x",
                "dest/a",
                "dest/b",
                "dest/d",
                "dest/e",
                "dest/etest",
                "dest/iss",
                "own/c"
            ]
        );
        assert_eq!(
            names("    directory: {recurse: true, include: '{a.yaml,sub/*}', exclude: '*-test.yaml'}\n"),
            ["dest/a", "dest/d", "dest/e"]
        );
        assert_eq!(
            names("    directory: {recurse: true, exclude: 'sub/deeper/*'}\n"),
            [
                "-/le",
                "-/x",
                "dest/a",
                "dest/b",
                "dest/d",
                "dest/etest",
                "dest/iss",
                "own/c"
            ]
        );
    }

    #[test]
    fn the_source_type_is_argo_cds() {
        let kinds = |source: &str| -> Vec<&'static str> {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("k")).unwrap();
            std::fs::write(dir.path().join("k/kustomization.yaml"), "resources: []\n").unwrap();
            std::fs::create_dir_all(dir.path().join("c")).unwrap();
            std::fs::write(dir.path().join("c/Chart.yaml"), "name: c\n").unwrap();
            let vfs = crate::vfs::DiskFs::new(dir.path());
            let reg = crate::source::Files::new();
            let text = format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: x}}\nspec:\n{source}"
            );
            let file = reg.add("app.yaml", text);
            let loaded = crate::load::load_file(&reg, &file, &crate::yaml::Limits::default());
            folder_sources(&vfs, &loaded.manifests[0], "")
                .iter()
                .map(|s| match s.generation {
                    Generation::Kustomize => "kustomize",
                    Generation::Directory { .. } => "directory",
                })
                .collect()
        };
        assert_eq!(kinds("  source: {path: k}\n"), ["kustomize"]);
        assert_eq!(
            kinds("  source: {path: k, directory: null}\n"),
            ["kustomize"]
        );
        assert_eq!(
            kinds("  source: {path: k, directory: {recurse: true}}\n"),
            ["directory"]
        );
        assert_eq!(
            kinds("  source: {path: ., kustomize: {namePrefix: a-}}\n"),
            ["kustomize"]
        );
        assert_eq!(kinds("  source: {path: .}\n"), ["directory"]);
        // Charts, Helm sources, plugins, another repository's folder, ref-only sources: not ours.
        assert!(kinds("  source: {path: c}\n").is_empty());
        assert!(kinds("  source: {path: k, helm: {releaseName: r}}\n").is_empty());
        assert!(kinds("  source: {path: k, plugin: {name: p}}\n").is_empty());
        assert!(kinds("  source: {path: elsewhere}\n").is_empty());
        assert_eq!(
            kinds("  sources:\n    - {repoURL: r, ref: values}\n    - {path: k}\n    - {chart: x, repoURL: h}\n"),
            ["kustomize"]
        );
    }

    #[test]
    fn image_arguments_are_read_as_kustomize_edit_set_image_reads_them() {
        let span = Span::default();
        let fields = |arg: &str| -> Vec<(String, String)> {
            image_entry(arg, span)
                .as_map()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.name.clone(), v.as_str().unwrap().to_string()))
                .collect()
        };
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            fields("nginx:1.25"),
            pairs(&[("name", "nginx"), ("newTag", "1.25")])
        );
        assert_eq!(
            fields("postgres=eu.gcr.io/p/postgres:16"),
            pairs(&[
                ("name", "postgres"),
                ("newName", "eu.gcr.io/p/postgres"),
                ("newTag", "16")
            ])
        );
        assert_eq!(
            fields("registry:5000/app@sha256:abc"),
            pairs(&[("name", "registry:5000/app"), ("digest", "sha256:abc")])
        );
        assert_eq!(
            fields("registry:5000/app"),
            pairs(&[("name", "registry:5000/app")])
        );
    }
}
