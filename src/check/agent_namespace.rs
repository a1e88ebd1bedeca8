//! The namespace a GitOps agent gives objects that declare none: an Argo CD Application's
//! `spec.destination.namespace` and a Flux Kustomization's `spec.targetNamespace`, for the
//! folders they apply, and a Flux HelmRelease's release namespace for its chart's objects. `check` uses it as `diff` does, so an object in such a folder is not
//! reported by `policy/namespace` for leaving its namespace to the agent.

use crate::manifest::Manifest;

/// A folder (repository path, `` for the root) whose objects the agent puts in `namespace`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scope {
    folder: String,
    /// Sub-folders too (Flux always; Argo CD only with `directory.recurse`).
    recurse: bool,
    namespace: String,
}

/// Every folder of the checked objects whose namespace an agent fills in.
#[derive(Debug, Default)]
pub struct AgentNamespaces {
    scopes: Vec<Scope>,
    /// `rendered_for` label of a HelmRelease's objects → the release namespace.
    releases: std::collections::BTreeMap<String, String>,
}

/// `./apps/prod/` → `apps/prod`; None for paths that leave the repository or are absolute
/// (another repository's path cannot be matched to the checked files).
fn folder_path(raw: &str) -> Option<String> {
    if raw.starts_with('/') {
        return None;
    }
    crate::vfs::normalize("", raw)
}

fn non_empty(v: &serde_json::Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl AgentNamespaces {
    pub fn from_manifests<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> Self {
        let mut scopes = Vec::new();
        let mut releases = std::collections::BTreeMap::new();
        for m in manifests {
            if crate::render::helm::argo::is_application(m) {
                // A Helm source's objects are rendered for the Application.
                releases.insert(
                    crate::render::helm::argo::application_label(m),
                    crate::render::helm::argo::application_namespace(m),
                );
            }
            if crate::render::helm::release::is_helm_release(m) {
                releases.insert(
                    crate::render::helm::release::release_label(m),
                    crate::render::helm::release::release_namespace(m),
                );
                continue;
            }
            let spec = &m.json["spec"];
            match (m.group(), m.resource.kind.as_str()) {
                ("kustomize.toolkit.fluxcd.io", "Kustomization") => {
                    let (Some(namespace), Some(folder)) = (
                        non_empty(&spec["targetNamespace"]),
                        folder_path(spec["path"].as_str().unwrap_or("./")),
                    ) else {
                        continue;
                    };
                    scopes.push(Scope {
                        folder,
                        recurse: true,
                        namespace,
                    });
                }
                ("argoproj.io", "Application") => {
                    let Some(namespace) = non_empty(&spec["destination"]["namespace"]) else {
                        continue;
                    };
                    let sources: Vec<&serde_json::Value> = match spec["sources"].as_array() {
                        Some(list) if !list.is_empty() => list.iter().collect(),
                        _ => vec![&spec["source"]],
                    };
                    for s in sources {
                        let Some(folder) = s["path"].as_str().and_then(folder_path) else {
                            continue;
                        };
                        scopes.push(Scope {
                            folder,
                            recurse: s["directory"]["recurse"].as_bool().unwrap_or(false),
                            namespace: namespace.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        AgentNamespaces { scopes, releases }
    }

    /// The namespace an agent gives `m` when it declares none, if one applies `m`'s folder:
    /// the object's file lies in the folder (or below, when the agent recurses), or it was
    /// rendered for a kustomization in that folder (its base may live elsewhere).
    pub fn for_object(&self, m: &Manifest) -> Option<&str> {
        let file = m.file.path.trim_start_matches("./");
        let dir = file.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        if let Some(ns) = m.rendered_for.as_ref().and_then(|r| self.releases.get(r)) {
            return Some(ns);
        }
        let rendered = m
            .rendered_for
            .as_deref()
            .map(|r| r.trim_start_matches("./").trim_end_matches('/'));
        self.scopes
            .iter()
            .find(|s| {
                let inside = |path: &str| {
                    path == s.folder
                        || (s.recurse
                            && (s.folder.is_empty() || path.starts_with(&format!("{}/", s.folder))))
                };
                inside(dir) || rendered.is_some_and(inside)
            })
            .map(|s| s.namespace.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Files, SourceFile};
    use std::sync::Arc;

    fn manifests(path: &str, text: &str) -> Vec<Manifest> {
        let files = Files::new();
        let f: Arc<SourceFile> = files.add(path, text.to_string());
        crate::load::load_file(&files, &f, &crate::yaml::Limits::default()).manifests
    }

    const AGENTS: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web, namespace: argocd}\nspec:\n  destination: {namespace: web}\n  source: {path: apps/web}\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: deep, namespace: argocd}\nspec:\n  destination: {namespace: deep}\n  sources:\n  - {path: ./apps/deep, directory: {recurse: true}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: infra, namespace: flux-system}\nspec:\n  path: ./infra\n  targetNamespace: infra\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: plain, namespace: flux-system}\nspec:\n  path: ./plain\n";

    fn object(path: &str) -> Manifest {
        manifests(
            path,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        )
        .remove(0)
    }

    #[test]
    fn argo_and_flux_folders_get_their_namespace() {
        let ns = AgentNamespaces::from_manifests(&manifests("clusters/agents.yaml", AGENTS));
        assert_eq!(ns.for_object(&object("apps/web/cm.yaml")), Some("web"));
        assert_eq!(ns.for_object(&object("./apps/web/cm.yaml")), Some("web"));
        // Argo CD reads sub-folders only with directory.recurse.
        assert_eq!(ns.for_object(&object("apps/web/sub/cm.yaml")), None);
        assert_eq!(
            ns.for_object(&object("apps/deep/a/b/cm.yaml")),
            Some("deep")
        );
        // Flux always recurses.
        assert_eq!(ns.for_object(&object("infra/redis/cm.yaml")), Some("infra"));
        // No targetNamespace, no folder of an agent, a prefix that is not a folder.
        assert_eq!(ns.for_object(&object("plain/cm.yaml")), None);
        assert_eq!(ns.for_object(&object("other/cm.yaml")), None);
        assert_eq!(ns.for_object(&object("infra-old/cm.yaml")), None);
    }

    #[test]
    fn objects_rendered_for_an_agent_folder_count_wherever_their_base_is() {
        let ns = AgentNamespaces::from_manifests(&manifests("clusters/agents.yaml", AGENTS));
        let mut m = object("base/cm.yaml");
        assert_eq!(ns.for_object(&m), None);
        m.rendered_for = Some("apps/web".into());
        assert_eq!(ns.for_object(&m), Some("web"));
    }
}
