//! The schema registry: finds the schema of an apiVersion/kind (built-in bundle, CRDs, local
//! schema folders, the built-in CRD catalog — in that order of precedence), compiles each one
//! once, and shares the validator across threads.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use super::bundle::{self, Bundle};
use super::catalog::{self, Catalog};
use super::crd::{schemas_from_crd, CrdSchema};
use super::removed::{removed_by, BUILTIN_GROUPS};
use super::SchemaError;
use crate::manifest::api_group;

/// A compiled schema and the JSON it came from (kept to suggest field names).
pub struct Compiled {
    pub validator: jsonschema::Validator,
    pub schema: Value,
    /// Where the schema came from: "Kubernetes 1.37", "CRD in path.yaml", a file path.
    pub origin: String,
    /// When the schema comes from a CRD (repository, `--crd` or the catalog): that version's
    /// `openAPIV3Schema` as written, with `x-kubernetes-validations` and list metadata.
    pub structural: Option<Arc<Value>>,
}

/// What the registry knows about an apiVersion/kind.
pub enum Lookup {
    Found(Arc<Compiled>),
    /// A CRD declares the kind without a schema: anything goes.
    Unconstrained,
    /// An API version no longer served: a built-in one the target Kubernetes version dropped,
    /// or a catalog CRD version that is `served: false` or gone from the CRD.
    Removed {
        removed_in: Option<String>,
        replacement: Option<String>,
        /// Who no longer serves it (`Kubernetes 1.37`, `fluxcd/helm-controller@v1.6.3`).
        by: String,
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
    /// Use the built-in CRD catalog for kinds nothing else describes (`--no-catalog` clears it).
    pub catalog: bool,
}

pub struct Registry {
    bundle: &'static Bundle,
    strict: bool,
    kubernetes_version: String,
    crds: HashMap<(String, String), CrdSchema>,
    /// (group, kind) of every CRD given to the run: the catalog stays silent about those.
    crd_kinds: HashSet<(String, String)>,
    locations: Vec<String>,
    catalog: Option<&'static Catalog>,
    cache: Mutex<HashMap<KindKey, Arc<OnceLock<Lookup>>>>,
}

/// (apiVersion, kind).
type KindKey = (String, String);

impl Registry {
    pub fn new(opts: &RegistryOptions, crds: Vec<CrdSchema>) -> Result<Registry, SchemaError> {
        let bundle = bundle::bundle(&opts.kubernetes_version).ok_or_else(|| {
            SchemaError::UnsupportedVersion {
                version: opts.kubernetes_version.clone(),
                supported: bundle::SUPPORTED_VERSIONS,
            }
        })?;
        for loc in &opts.schema_locations {
            if loc.starts_with("http://") || loc.starts_with("https://") {
                return Err(SchemaError::RemoteLocation {
                    location: loc.clone(),
                });
            }
        }
        let mut map = HashMap::new();
        let mut crd_kinds = HashSet::new();
        for crd in crds {
            crd_kinds.insert((api_group(&crd.api_version).to_string(), crd.kind.clone()));
            map.insert((crd.api_version.clone(), crd.kind.clone()), crd);
        }
        Ok(Registry {
            bundle,
            strict: opts.strict,
            kubernetes_version: bundle.kubernetes_version().to_string(),
            crds: map,
            crd_kinds,
            locations: opts.schema_locations.clone(),
            catalog: opts.catalog.then(catalog::catalog),
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
        if let Some(c) = self.crds.get(&(api_version.to_string(), kind.to_string())) {
            return Some(c.namespaced);
        }
        self.catalog_crd(api_version, kind).map(|c| c.namespaced)
    }

    /// The catalog's CRD for this kind, unless the catalog is off or the run has its own CRD
    /// for the kind's group and kind (whatever the version: the run's CRD says what the
    /// cluster serves).
    fn catalog_crd(&self, api_version: &str, kind: &str) -> Option<&'static catalog::CatalogCrd> {
        let group = api_group(api_version);
        if self
            .crd_kinds
            .contains(&(group.to_string(), kind.to_string()))
        {
            return None;
        }
        self.catalog?.find(group, kind)
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
                    None,
                ),
                Err(e) => Lookup::Broken(format!("built-in schema unreadable: {e}")),
            };
        }
        if let Some(crd) = self.crds.get(&(api_version.to_string(), kind.to_string())) {
            return match &crd.schema {
                Some(schema) => self.compile(
                    schema.clone(),
                    format!("CRD in {}", crd.origin),
                    crd.structural.clone(),
                ),
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
                match read_schema(loc, &path) {
                    Ok(text) => {
                        return match serde_json::from_str::<Value>(&text) {
                            Ok(schema) => self.compile(schema, path.display().to_string(), None),
                            Err(e) => Lookup::Broken(format!("{}: not JSON: {e}", path.display())),
                        };
                    }
                    // Not there: the next candidate, location or the built-in registry.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    // There but refused (a device, a link out of the folder, too large): said,
                    // never taken as "no schema here".
                    Err(e) => return Lookup::Broken(format!("{}: {e}", path.display())),
                }
            }
        }
        if let Some(entry) = self.catalog_crd(api_version, kind) {
            return self.resolve_in_catalog(entry, api_version);
        }
        let group = api_group(api_version);
        if BUILTIN_GROUPS.contains(&group) {
            let removed = removed_by(api_version, kind, &self.kubernetes_version);
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
                    by: format!("Kubernetes {}", self.kubernetes_version),
                };
            }
        }
        Lookup::Missing
    }

    /// A catalog kind: the schema of a served version, or `Removed` pointing at the version the
    /// CRD stores (a version marked `served: false` or no longer listed).
    fn resolve_in_catalog(&self, entry: &catalog::CatalogCrd, api_version: &str) -> Lookup {
        let cat = catalog::catalog();
        let source = cat.source_of(entry).label();
        let version = api_version.rsplit_once('/').map_or(api_version, |(_, v)| v);
        if !entry.version(version).is_some_and(|v| v.served) {
            return Lookup::Removed {
                removed_in: None,
                replacement: entry
                    .storage_version()
                    .map(|v| format!("{}/{}", entry.group, v.name)),
                by: source,
            };
        }
        let mut crd = match cat.crd(entry) {
            Ok(crd) => crd,
            Err(e) => return Lookup::Broken(format!("catalog CRD unreadable: {e}")),
        };
        // Only the version asked for is converted (a CRD such as HelmRelease's is large).
        if let Some(Value::Array(versions)) = crd.pointer_mut("/spec/versions") {
            versions.retain(|v| v.get("name").and_then(Value::as_str) == Some(version));
        }
        let origin = format!("the kgate catalog ({source})");
        let schemas = match schemas_from_crd(&crd, &origin) {
            Ok(s) => s,
            Err(e) => return Lookup::Broken(format!("{origin}: {e}")),
        };
        match schemas.into_iter().find(|s| s.api_version == api_version) {
            Some(CrdSchema {
                schema: Some(schema),
                structural,
                ..
            }) => self.compile(schema, origin, structural),
            Some(_) => Lookup::Unconstrained,
            None => Lookup::Broken(format!("{origin}: {api_version} has no schema")),
        }
    }

    fn compile(&self, mut schema: Value, origin: String, structural: Option<Arc<Value>>) -> Lookup {
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
                structural,
            })),
            Err(e) => Lookup::Broken(format!("{origin}: invalid schema: {e}")),
        }
    }
}

/// Where the schema of a listed kind comes from (see [`Registry::known_kinds`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindSource {
    /// The built-in schemas of this Kubernetes version.
    Kubernetes(String),
    /// A CRD given to the run; the file it is in.
    Crd(String),
    /// A `--schema-location` file.
    SchemaLocation(String),
    /// The built-in CRD catalog; index into its sources.
    Catalog(usize),
}

/// One group/version/kind the registry knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKind {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// None when the source does not say (a schema file).
    pub namespaced: Option<bool>,
    /// False for a catalog version no longer served: using it is `schema/removed-api`.
    pub served: bool,
    /// For a version not served: the apiVersion to use instead.
    pub replacement: Option<String>,
    pub source: KindSource,
}

impl KnownKind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl Registry {
    /// Every group/version/kind this registry resolves, each with the source that wins for it
    /// (the order of [`Registry::lookup`]: built-in kinds, CRDs, schema locations, catalog),
    /// sorted by group, kind and version. Schema-location files are listed when a kind from
    /// another source resolves to them, or when a folder uses the `GROUP/KIND_VERSION.json`
    /// layout (the kind is then as the file name spells it, lower case).
    pub fn known_kinds(&self) -> Vec<KnownKind> {
        let mut out: Vec<KnownKind> = Vec::new();
        let mut seen: HashSet<(String, String, String)> = HashSet::new();
        let mut push = |k: KnownKind, out: &mut Vec<KnownKind>| {
            if seen.insert((k.group.clone(), k.version.clone(), k.kind.to_lowercase())) {
                out.push(k);
            }
        };
        for e in self.bundle.kinds() {
            let k = KnownKind {
                group: e.group.clone(),
                version: e.version.clone(),
                kind: e.kind.clone(),
                namespaced: Some(e.namespaced),
                served: true,
                replacement: None,
                source: KindSource::Kubernetes(self.kubernetes_version.clone()),
            };
            push(k, &mut out);
        }
        let mut crds: Vec<&CrdSchema> = self.crds.values().collect();
        crds.sort_by(|a, b| (&a.api_version, &a.kind).cmp(&(&b.api_version, &b.kind)));
        for c in crds {
            let (group, version) = c
                .api_version
                .rsplit_once('/')
                .unwrap_or(("", &c.api_version));
            let k = KnownKind {
                group: group.to_string(),
                version: version.to_string(),
                kind: c.kind.clone(),
                namespaced: Some(c.namespaced),
                served: true,
                replacement: None,
                source: KindSource::Crd(c.origin.clone()),
            };
            push(k, &mut out);
        }
        if let Some(cat) = self.catalog {
            for entry in cat.crds() {
                if self
                    .crd_kinds
                    .contains(&(entry.group.clone(), entry.kind.clone()))
                {
                    continue;
                }
                for v in &entry.versions {
                    let api_version = format!("{}/{}", entry.group, v.name);
                    let location = self.location_file(&api_version, &entry.kind);
                    let k = KnownKind {
                        group: entry.group.clone(),
                        version: v.name.clone(),
                        kind: entry.kind.clone(),
                        namespaced: Some(entry.namespaced),
                        served: v.served || location.is_some(),
                        replacement: (!v.served && location.is_none())
                            .then(|| {
                                entry
                                    .storage_version()
                                    .map(|s| format!("{}/{}", entry.group, s.name))
                            })
                            .flatten(),
                        source: match location {
                            Some(path) => KindSource::SchemaLocation(path),
                            None => KindSource::Catalog(entry.source),
                        },
                    };
                    push(k, &mut out);
                }
            }
        }
        for loc in self.locations.iter().filter(|l| !l.contains("{{")) {
            for (group, version, kind, path) in group_layout_files(loc) {
                let k = KnownKind {
                    group,
                    version,
                    kind,
                    namespaced: None,
                    served: true,
                    replacement: None,
                    source: KindSource::SchemaLocation(path),
                };
                push(k, &mut out);
            }
        }
        out.sort_by(|a, b| {
            (&a.group, a.kind.to_lowercase(), &a.version).cmp(&(
                &b.group,
                b.kind.to_lowercase(),
                &b.version,
            ))
        });
        out
    }

    /// The `--schema-location` file that would serve this kind, if any.
    fn location_file(&self, api_version: &str, kind: &str) -> Option<String> {
        self.locations.iter().find_map(|loc| {
            candidate_paths(
                loc,
                api_version,
                kind,
                &self.kubernetes_version,
                self.strict,
            )
            .into_iter()
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
        })
    }
}

/// `GROUP/KIND_VERSION.json` files of a schema folder (the CRDs-catalog layout).
fn group_layout_files(loc: &str) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let Ok(groups) = std::fs::read_dir(loc) else {
        return out;
    };
    for g in groups.flatten() {
        let gpath = g.path();
        let Some(group) = g.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !gpath.is_dir() || !group.contains('.') {
            continue;
        }
        let Ok(files) = std::fs::read_dir(&gpath) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if let Some((kind, version)) = stem.rsplit_once('_') {
                out.push((
                    group.clone(),
                    version.to_string(),
                    kind.to_string(),
                    f.path().display().to_string(),
                ));
            }
        }
    }
    out.sort();
    out
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
/// The most bytes of one schema file of a `--schema-location` folder.
const MAX_SCHEMA_FILE: u64 = crate::limits::DEFAULT_MAX_FILE_SIZE;

/// Reads a schema file of a `--schema-location` through the guarded read path: inside the
/// location's folder (the part before the first `{{` of a template), so an object's kind or
/// group cannot lead the lookup elsewhere. A file name with `..` in it is not a schema.
fn read_schema(loc: &str, path: &Path) -> std::io::Result<String> {
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
        && !Path::new(loc)
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "a schema path with `..` from the object's kind or group",
        ));
    }
    let folder = match loc.find("{{") {
        Some(i) => {
            let fixed = &loc[..i];
            match fixed.rfind('/') {
                Some(j) => fixed[..j].to_string(),
                None => ".".to_string(),
            }
        }
        None => loc.trim_end_matches('/').to_string(),
    };
    let folder = if folder.is_empty() {
        "/".to_string()
    } else {
        folder
    };
    crate::read_guard::ReadRoot::new(Path::new(&folder)).read_text(path, MAX_SCHEMA_FILE)
}

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
