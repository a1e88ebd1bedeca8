//! Where schemas come from: built-in bundles, the CRD catalog, CRDs, local schema folders; the
//! registry that compiles and shares them.

pub mod bundle;
pub mod catalog;
pub mod crd;
pub mod listing;
pub mod packed;
pub mod registry;
pub mod removed;
pub mod scope;

/// The schema layer's one error type: an embedded bundle or catalog that does not read (a
/// corrupt build), a Kubernetes version or schema location kgate cannot serve, or a CRD object
/// that cannot become a schema (reported as a `schema/bad-crd` finding, not a failure).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// `what` names the container format ("kgate schema bundle", "kgate CRD catalog").
    #[error("not a {what} (bad magic)")]
    BadMagic { what: String },

    #[error("truncated index length")]
    TruncatedIndexLength,

    #[error("truncated index")]
    TruncatedIndex,

    #[error("bad index JSON: {0}")]
    BadIndex(#[source] serde_json::Error),

    /// `what` names the blob ("the CRD x", "the schema of apps/v1 Deployment").
    #[error("{what} lies outside its file")]
    BlobOutside { what: String },

    #[error("cannot decompress {what}: {source}")]
    Decompress {
        what: String,
        source: std::io::Error,
    },

    #[error("bad JSON for {what}: {source}")]
    BlobJson {
        what: String,
        source: serde_json::Error,
    },

    #[error("schema of {version} {kind} lies outside the bundle")]
    KindOutside { version: String, kind: String },

    #[error("index is not sorted by (group, version, kind)")]
    BundleUnsorted,

    #[error("CRD {name} lies outside the catalog")]
    CrdOutside { name: String },

    #[error("CRD {name} names an unknown source")]
    UnknownSource { name: String },

    #[error("index is not sorted by (group, kind)")]
    CatalogUnsorted,

    #[error(
        "unsupported --kubernetes-version {version}: built-in schemas cover {}",
        .supported.join(", ")
    )]
    UnsupportedVersion {
        version: String,
        supported: &'static [&'static str],
    },

    #[error(
        "--schema-location {location}: kgate works offline and does not fetch schemas; \
         download them and pass the folder"
    )]
    RemoteLocation { location: String },

    /// A CRD without a field every CRD has (`spec`, `spec.group`, `spec.names.kind`).
    #[error("CRD has no {field}")]
    CrdField { field: &'static str },

    #[error("CRD has neither spec.versions nor spec.version")]
    CrdVersions,
}

/// The run and application layers still speak `String` errors: `?` converts.
impl From<SchemaError> for String {
    fn from(e: SchemaError) -> String {
        e.to_string()
    }
}
