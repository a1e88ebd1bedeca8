//! The schema registry: finds the schema of an apiVersion/kind (built-in bundle, CRDs, local
//! schema folders), compiles each one once, and shares the validator across threads.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use super::bundle::{self, Bundle};
use super::crd::CrdSchema;
use super::removed::{removed_api, BUILTIN_GROUPS};
use crate::manifest::api_group;

/// A compiled schema and the JSON it came from (kept to suggest field names).
pub struct Compiled {
    pub validator: jsonschema::Validator,
    pub schema: Value,
    /// Where the schema came from: "Kubernetes 1.37", "CRD in path.yaml", a file path.
    pub origin: String,
}

/// What the registry knows about an apiVersion/kind.
pub enum Lookup {
    Found(Arc<Compiled>),
    /// A CRD declares the kind without a schema: anything goes.
    Unconstrained,
    /// A built-in API the target version no longer serves.
    Removed {
        removed_in: Option<String>,
        replacement: Option<String>,
    },
    Missing,
    /// The schema exists but cannot be used (a malformed CRD or file).
    Broken(String),
}

#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub kubernetes_version: String,
    pub strict: bool,
    /// kubeconform-compatible locations: folders or path templates.
    pub schema_locations: Vec<String>,
}

pub struct Registry {
    bundle: &'static Bundle,
    strict: bool,
    kubernetes_version: String,
    crds: HashMap<(String, String), CrdSchema>,
    locations: Vec<String>,
    cache: Mutex<HashMap<KindKey, Arc<OnceLock<Lookup>>>>,
}

/// (apiVersion, kind).
type KindKey = (String, String);

impl Registry {
    pub fn new(opts: &RegistryOptions, crds: Vec<CrdSchema>) -> Result<Registry, String> {
        let bundle = bundle::bundle(&opts.kubernetes_version).ok_or_else(|| {
            format!(
                "unsupported --kubernetes-version {}: built-in schemas cover {}",
                opts.kubernetes_version,
                bundle::SUPPORTED_VERSIONS.join(", ")
            )
        })?;
        for loc in &opts.schema_locations {
            if loc.starts_with("http://") || loc.starts_with("https://") {
                return Err(format!(
                    "--schema-location {loc}: kgate works offline and does not fetch schemas; \
                     download them and pass the folder"
                ));
            }
        }
        let mut map = HashMap::new();
        for crd in crds {
            map.insert((crd.api_version.clone(), crd.kind.clone()), crd);
        }
        Ok(Registry {
            bundle,
            strict: opts.strict,
            kubernetes_version: bundle.kubernetes_version().to_string(),
            crds: map,
            locations: opts.schema_locations.clone(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn kubernetes_version(&self) -> &str {
        &self.kubernetes_version
    }

    /// Whether objects of this kind live in a namespace (None when unknown).
    pub fn is_namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        if let Some(e) = self.bundle.find(api_version, kind) {
            return Some(e.namespaced);
        }
        self.crds
            .get(&(api_version.to_string(), kind.to_string()))
            .map(|c| c.namespaced)
    }

    /// The kinds of the built-in API group `api_version` names (every served version), or None
    /// when the group is not built in. No CRD can add a kind to a built-in group, so a kind
    /// missing from this list does not exist.
    pub fn builtin_group_kinds(&self, api_version: &str) -> Option<Vec<String>> {
        let group = api_group(api_version);
        if !BUILTIN_GROUPS.contains(&group) {
            return None;
        }
        let mut kinds: Vec<String> = self
            .bundle
            .kinds()
            .iter()
            .filter(|e| e.group == group)
            .map(|e| e.kind.clone())
            .collect();
        kinds.sort();
        kinds.dedup();
        Some(kinds)
    }

    /// The schema for an apiVersion/kind, compiled on first use and shared afterwards.
    pub fn lookup(&self, api_version: &str, kind: &str) -> Arc<OnceLock<Lookup>> {
        let key = (api_version.to_string(), kind.to_string());
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.entry(key).or_default().clone()
        };
        cell.get_or_init(|| self.resolve(api_version, kind));
        cell
    }

    fn resolve(&self, api_version: &str, kind: &str) -> Lookup {
        if let Some(entry) = self.bundle.find(api_version, kind) {
            return match self.bundle.schema(entry) {
                Ok(schema) => self.compile(
                    schema,
                    format!("Kubernetes {} schema", self.kubernetes_version),
                ),
                Err(e) => Lookup::Broken(format!("built-in schema unreadable: {e}")),
            };
        }
        if let Some(crd) = self.crds.get(&(api_version.to_string(), kind.to_string())) {
            return match &crd.schema {
                Some(schema) => self.compile(schema.clone(), format!("CRD in {}", crd.origin)),
                None => Lookup::Unconstrained,
            };
        }
        for loc in &self.locations {
            for path in candidate_paths(
                loc,
                api_version,
                kind,
                &self.kubernetes_version,
                self.strict,
            ) {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    return match serde_json::from_str::<Value>(&text) {
                        Ok(schema) => self.compile(schema, path.display().to_string()),
                        Err(e) => Lookup::Broken(format!("{}: not JSON: {e}", path.display())),
                    };
                }
            }
        }
        let group = api_group(api_version);
        if BUILTIN_GROUPS.contains(&group) {
            let removed = removed_api(api_version, kind);
            let served: Vec<String> = self
                .bundle
                .served_versions_of(kind)
                .into_iter()
                .filter(|e| {
                    removed.is_some()
                        || e.group == group
                        || BUILTIN_GROUPS.contains(&e.group.as_str())
                })
                .map(|e| e.api_version())
                .collect();
            if removed.is_some() || !served.is_empty() {
                let replacement = removed
                    .map(|(_, r)| r.to_string())
                    .filter(|r| !r.is_empty())
                    .or_else(|| served.first().cloned());
                return Lookup::Removed {
                    removed_in: removed.map(|(v, _)| v.to_string()),
                    replacement,
                };
            }
        }
        Lookup::Missing
    }

    fn compile(&self, mut schema: Value, origin: String) -> Lookup {
        if !self.strict {
            relax(&mut schema);
        }
        match jsonschema::options()
            .should_validate_formats(false)
            .build(&schema)
        {
            Ok(validator) => Lookup::Found(Arc::new(Compiled {
                validator,
                schema,
                origin,
            })),
            Err(e) => Lookup::Broken(format!("{origin}: invalid schema: {e}")),
        }
    }
}

/// `--no-strict`: unknown fields are allowed again.
fn relax(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            for v in map.values_mut() {
                relax(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(relax),
        _ => {}
    }
}

/// The files a kubeconform-style location names for a kind. A location with `{{` is a template;
/// a plain folder is tried with kubeconform's default layout and the CRDs-catalog layout.
fn candidate_paths(
    loc: &str,
    api_version: &str,
    kind: &str,
    k8s_version: &str,
    strict: bool,
) -> Vec<PathBuf> {
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let first_group_part = if group.is_empty() {
        version
    } else {
        group.split('.').next().unwrap_or(group)
    };
    let kind_suffix = if group.is_empty() {
        format!("-{}", version.to_lowercase())
    } else {
        format!(
            "-{}-{}",
            first_group_part.to_lowercase(),
            version.to_lowercase()
        )
    };
    let strict_suffix = if strict { "-strict" } else { "" };
    let fill = |tpl: &str| -> PathBuf {
        let mut s = tpl.to_string();
        for (names, value) in [
            (
                &["NormalizedKubernetesVersion"][..],
                format!("v{k8s_version}").as_str(),
            ),
            (&["KubernetesVersion"][..], k8s_version),
            (&["StrictSuffix"][..], strict_suffix),
            (&["ResourceKind"][..], kind.to_lowercase().as_str()),
            (&["ResourceAPIVersion"][..], version),
            (&["Group"][..], group),
            (&["KindSuffix"][..], kind_suffix.as_str()),
        ] {
            for name in names {
                for pat in [
                    format!("{{{{ .{name} }}}}"),
                    format!("{{{{.{name}}}}}"),
                    format!("{{{{ .{name}}}}}"),
                    format!("{{{{.{name} }}}}"),
                ] {
                    s = s.replace(&pat, value);
                }
            }
        }
        PathBuf::from(s)
    };
    if loc.contains("{{") {
        return vec![fill(loc)];
    }
    let base = loc.trim_end_matches('/');
    vec![
        fill(&format!(
            "{base}/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"
        )),
        fill(&format!("{base}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json")),
        fill(&format!(
            "{base}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconform_templates_expand() {
        let p = candidate_paths(
            "schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
            "helm.toolkit.fluxcd.io/v2",
            "HelmRelease",
            "1.37",
            true,
        );
        assert_eq!(
            p[0],
            PathBuf::from("schemas/helm.toolkit.fluxcd.io/helmrelease_v2.json")
        );
        let p = candidate_paths("dir", "apps/v1", "Deployment", "1.37", true);
        assert_eq!(
            p[0],
            PathBuf::from("dir/v1.37-standalone-strict/deployment-apps-v1.json")
        );
        let p = candidate_paths("dir", "v1", "Service", "1.37", false);
        assert_eq!(p[0], PathBuf::from("dir/v1.37-standalone/service-v1.json"));
    }
}
