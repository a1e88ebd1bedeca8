//! The built-in catalog of the GitOps ecosystem's CRDs (Flux, Argo CD, cert-manager, Gateway
//! API, ...): embedded, indexed lazily, each CRD decompressed only when a run meets its kind.
//!
//! Why: a GitOps repository rarely commits the CRDs its cluster bootstrap installs, so without
//! this most of its objects (HelmRelease, Kustomization, Application, Certificate, ...) would
//! not be validated at all. The catalog is the last resort: CRDs in the checked repository,
//! `--crd` and `--schema-location` take precedence, and `--no-catalog` turns it off.
//!
//! Format of `schemas/catalog.kgsc`, written by `tools/schema-gen/generate.sh catalog` from the
//! upstream CRD files (the generator and this reader must agree):
//! - the 6 bytes `KGSC1\n`;
//! - a little-endian `u32` N, then N bytes of UTF-8 JSON index:
//!   `{"generator":"…","sources":[{"repository":"fluxcd/helm-controller","version":"v1.6.3",
//!   "commit":"…","licence":"Apache-2.0","paths":"…","folder":"flux"}, …],
//!   "crds":[{"name":"helmreleases.helm.toolkit.fluxcd.io","group":"helm.toolkit.fluxcd.io",
//!   "kind":"HelmRelease","plural":"helmreleases","namespaced":true,"source":2,
//!   "versions":[{"name":"v2","served":true,"storage":true}],"offset":0,"length":1234}, …]}`,
//!   CRDs sorted by (group, kind);
//! - the blob area: each CRD object (apiextensions.k8s.io/v1, descriptions and printer columns
//!   removed, everything else — `x-kubernetes-validations`, list types, defaults, every
//!   version — kept), JSON, raw-DEFLATE compressed on its own at `offset` with `length` bytes.
//!
//! The CRD is converted to JSON Schemas by [`super::crd::schemas_from_crd`], the code path of a
//! CRD found in the checked repository, so both are validated the same way.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::SchemaError;

const MAGIC: &[u8] = b"KGSC1\n";
static RAW: &[u8] = include_bytes!("../../schemas/catalog.kgsc");
static CATALOG: OnceLock<Catalog> = OnceLock::new();

/// Where a group of CRDs comes from (one upstream repository at one release).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Source {
    /// `owner/name` of the upstream repository, e.g. `fluxcd/helm-controller`.
    pub repository: String,
    /// The release tag the CRDs were taken from, e.g. `v1.6.3`.
    pub version: String,
    pub commit: String,
    /// SPDX identifier of the CRD files' licence.
    pub licence: String,
    /// The upstream path(s) the CRD files were copied from.
    pub paths: String,
    /// The catalog folder (`flux`, `gateway-api/experimental`): a project and its channel.
    pub folder: String,
}

impl Source {
    /// `fluxcd/helm-controller@v1.6.3`, plus the channel when the project has several.
    pub fn label(&self) -> String {
        match self.folder.split_once('/') {
            Some((_, channel)) => format!("{}@{} ({channel})", self.repository, self.version),
            None => format!("{}@{}", self.repository, self.version),
        }
    }
}

/// One version of a catalog CRD.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct CatalogVersion {
    pub name: String,
    pub served: bool,
    pub storage: bool,
    #[serde(default)]
    pub deprecated: bool,
}

/// One CRD of the catalog.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogCrd {
    /// `metadata.name`, `<plural>.<group>`.
    pub name: String,
    pub group: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    /// Index into [`Catalog::sources`].
    pub source: usize,
    /// Every version the CRD lists, served or not, in the CRD's order.
    pub versions: Vec<CatalogVersion>,
    offset: usize,
    length: usize,
}

impl CatalogCrd {
    /// The version with this name, if the CRD lists it.
    pub fn version(&self, name: &str) -> Option<&CatalogVersion> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// The version objects are stored in: the natural replacement for one no longer served.
    pub fn storage_version(&self) -> Option<&CatalogVersion> {
        self.versions
            .iter()
            .find(|v| v.storage && v.served)
            .or_else(|| self.versions.iter().find(|v| v.served))
    }
}

/// The whole catalog.
#[derive(Debug)]
pub struct Catalog {
    generator: String,
    sources: Vec<Source>,
    crds: Vec<CatalogCrd>,
    blobs: &'static [u8],
}

#[derive(Deserialize)]
struct RawIndex {
    generator: String,
    sources: Vec<Source>,
    crds: Vec<CatalogCrd>,
}

/// The built-in catalog (its index is parsed on first use).
pub fn catalog() -> &'static Catalog {
    CATALOG.get_or_init(|| {
        Catalog::parse(RAW).unwrap_or_else(|e| panic!("the built-in CRD catalog is corrupt: {e}"))
    })
}

impl Catalog {
    /// Parses a catalog's header and index; the CRDs stay compressed.
    pub fn parse(bytes: &'static [u8]) -> Result<Catalog, SchemaError> {
        let (index, blobs) = super::packed::split(bytes, MAGIC, "kgate CRD catalog")?;
        let raw: RawIndex = serde_json::from_slice(index).map_err(SchemaError::BadIndex)?;
        for c in &raw.crds {
            if !super::packed::in_bounds(blobs, c.offset, c.length) {
                return Err(SchemaError::CrdOutside {
                    name: c.name.clone(),
                });
            }
            if c.source >= raw.sources.len() {
                return Err(SchemaError::UnknownSource {
                    name: c.name.clone(),
                });
            }
        }
        // `find` relies on this order.
        if !raw
            .crds
            .windows(2)
            .all(|w| (&w[0].group, &w[0].kind) < (&w[1].group, &w[1].kind))
        {
            return Err(SchemaError::CatalogUnsorted);
        }
        Ok(Catalog {
            generator: raw.generator,
            sources: raw.sources,
            crds: raw.crds,
            blobs,
        })
    }

    pub fn generator(&self) -> &str {
        &self.generator
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Every CRD, sorted by (group, kind).
    pub fn crds(&self) -> &[CatalogCrd] {
        &self.crds
    }

    pub fn source_of(&self, crd: &CatalogCrd) -> &Source {
        &self.sources[crd.source]
    }

    /// The CRD of this group and kind, whatever the version.
    pub fn find(&self, group: &str, kind: &str) -> Option<&CatalogCrd> {
        self.crds
            .binary_search_by(|c| (c.group.as_str(), c.kind.as_str()).cmp(&(group, kind)))
            .ok()
            .map(|i| &self.crds[i])
    }

    /// Decompresses one CRD object (with every version and its full structural schema).
    pub fn crd(&self, crd: &CatalogCrd) -> Result<Value, SchemaError> {
        super::packed::inflate_json(
            self.blobs,
            crd.offset,
            crd.length,
            10,
            &format!("the CRD {}", crd.name),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::crd::schemas_from_crd;

    #[test]
    fn catalog_loads_with_the_ecosystem_projects() {
        let c = catalog();
        assert!(c.crds().len() > 200, "only {} CRDs", c.crds().len());
        let repos: Vec<&str> = c.sources().iter().map(|s| s.repository.as_str()).collect();
        for r in [
            "fluxcd/source-controller",
            "fluxcd/kustomize-controller",
            "fluxcd/helm-controller",
            "argoproj/argo-cd",
            "cert-manager/cert-manager",
            "external-secrets/external-secrets",
            "prometheus-operator/prometheus-operator",
            "kubernetes-sigs/gateway-api",
        ] {
            assert!(repos.contains(&r), "{r} missing from {repos:?}");
        }
        for s in c.sources() {
            assert!(!s.version.is_empty() && !s.licence.is_empty() && s.commit.len() == 40);
        }
        let hr = c.find("helm.toolkit.fluxcd.io", "HelmRelease").unwrap();
        assert_eq!(c.source_of(hr).repository, "fluxcd/helm-controller");
        assert_eq!(hr.storage_version().unwrap().name, "v2");
        let ks = c
            .find("kustomize.toolkit.fluxcd.io", "Kustomization")
            .unwrap();
        assert_eq!(c.source_of(ks).repository, "fluxcd/kustomize-controller");
        let gr = c.find("source.toolkit.fluxcd.io", "GitRepository").unwrap();
        assert_eq!(c.source_of(gr).repository, "fluxcd/source-controller");
        // Gateway API: the experimental channel is kept (a superset of standard).
        let route = c.find("gateway.networking.k8s.io", "HTTPRoute").unwrap();
        assert_eq!(c.source_of(route).folder, "gateway-api/experimental");
        assert!(c.source_of(route).label().ends_with("(experimental)"));
        assert!(c.find("gateway.networking.k8s.io", "NoSuchKind").is_none());
        assert!(c.find("apps", "Deployment").is_none());
    }

    #[test]
    fn every_catalog_crd_converts_and_compiles() {
        let c = catalog();
        for entry in c.crds() {
            let crd = c.crd(entry).unwrap();
            assert_eq!(crd["metadata"]["name"], entry.name.as_str());
            let schemas = schemas_from_crd(&crd, "catalog").unwrap();
            let served = entry.versions.iter().filter(|v| v.served).count();
            assert_eq!(schemas.len(), served, "{}", entry.name);
            for s in schemas {
                let schema = s
                    .schema
                    .unwrap_or_else(|| panic!("{} {}: no schema", s.api_version, s.kind));
                jsonschema::options()
                    .should_validate_formats(false)
                    .build(&schema)
                    .unwrap_or_else(|e| panic!("{} {}: {e}", s.api_version, s.kind));
            }
        }
    }

    #[test]
    fn the_raw_crd_keeps_cel_rules_and_list_metadata() {
        let c = catalog();
        let route = c.find("gateway.networking.k8s.io", "HTTPRoute").unwrap();
        let text = serde_json::to_string(&c.crd(route).unwrap()).unwrap();
        assert!(text.contains("x-kubernetes-validations"));
        assert!(text.contains("x-kubernetes-list-type"));
        assert!(!text.contains("\"description\":\"HTTPRoute provides"));
    }

    #[test]
    fn corrupt_catalogs_are_rejected() {
        assert!(Catalog::parse(b"").is_err());
        assert!(Catalog::parse(b"KGSB1\n\0\0\0\0").is_err());
        assert!(Catalog::parse(b"KGSC1\n\x05\0\0\0{}").is_err());
        let outside: &'static [u8] = b"KGSC1\n\xf3\0\0\0{\"generator\":\"t\",\"sources\":[{\"repository\":\"a/b\",\"version\":\"v1\",\"commit\":\"c\",\"licence\":\"MIT\",\"paths\":\"p\",\"folder\":\"f\"}],\"crds\":[{\"name\":\"x\",\"group\":\"g\",\"kind\":\"K\",\"plural\":\"ks\",\"namespaced\":true,\"source\":0,\"versions\":[],\"offset\":0,\"length\":9}]}";
        let err = Catalog::parse(outside).unwrap_err();
        assert_eq!(err.to_string(), "CRD x lies outside the catalog");
    }
}
