//! kgate-schema-gen: writes one built-in Kubernetes schema bundle (`.kgsb`) per Kubernetes version.
//!
//! The version is chosen at build time by exactly one `v1_NN` feature (k8s-openapi supports one
//! version per build); `generate.sh` builds and runs this once per version. For every built-in
//! resource kind (enumerated by `build.rs`) the schemars output is post-processed into a strict,
//! self-contained validation schema (see `postprocess.rs`), compressed with raw DEFLATE and
//! written behind a JSON index. The output is deterministic: same inputs, same bytes.
//!
//! Usage: `kgate-schema-gen OUT.kgsb [--dump DIR]` (`--dump` also writes each processed schema
//! as pretty JSON, for review), or `kgate-schema-gen catalog CRD_DIR OUT.kgsc` for the CRD
//! catalog (see `catalog.rs`; any version feature will do for that one).

// Kubernetes 1.30-1.32 come from the older k8s-openapi release; the rest of the code (and the
// paths build.rs writes) name it `k8s_openapi` either way.
#[cfg(any(feature = "v1_30", feature = "v1_31", feature = "v1_32"))]
extern crate k8s_openapi_026 as k8s_openapi;

mod catalog;
mod postprocess;

use std::io::Write as _;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};
use schemars::JsonSchema;
use serde::Serialize;

include!(concat!(env!("OUT_DIR"), "/kinds.rs"));

/// One kind as found in k8s-openapi, before post-processing.
pub struct RawKind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    namespaced: bool,
    schema: serde_json::Value,
}

/// Maps k8s-openapi's scope marker types to kgate's `namespaced` flag; sub-resources are skipped.
trait ScopeKind {
    const NAMESPACED: Option<bool>;
}
impl ScopeKind for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: Option<bool> = Some(true);
}
impl ScopeKind for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: Option<bool> = Some(false);
}
impl ScopeKind for k8s_openapi::SubResourceScope {
    const NAMESPACED: Option<bool> = None;
}

/// Generates the raw schema of one kind; `None` for sub-resources and list kinds.
fn kind<T>() -> Option<RawKind>
where
    T: Resource + Metadata<Ty = ObjectMeta> + JsonSchema,
    <T as Resource>::Scope: ScopeKind,
{
    let namespaced = <<T as Resource>::Scope as ScopeKind>::NAMESPACED?;
    if T::KIND.ends_with("List") {
        return None;
    }
    // A fresh generator per kind: its $defs then hold exactly what this kind reaches.
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>().to_value();
    Some(RawKind {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        namespaced,
        schema,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    kubernetes_version: &'static str,
    generator: &'static str,
    kinds: Vec<IndexKind>,
}

#[derive(Serialize)]
struct IndexKind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    namespaced: bool,
    offset: u64,
    length: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, input, out] = args.as_slice() {
        if cmd == "catalog" {
            catalog::run(std::path::Path::new(input), std::path::Path::new(out));
            return;
        }
    }
    let (out_path, dump_dir) = match args.as_slice() {
        [out] => (out.clone(), None),
        [out, flag, dir] if flag == "--dump" => (out.clone(), Some(dir.clone())),
        _ => {
            eprintln!("usage: kgate-schema-gen OUT.kgsb [--dump DIR] | catalog CRD_DIR OUT.kgsc");
            std::process::exit(2);
        }
    };

    let mut kinds: Vec<RawKind> = all_kinds().into_iter().flatten().collect();
    kinds.sort_by(|a, b| (a.group, a.version, a.kind).cmp(&(b.group, b.version, b.kind)));
    for pair in kinds.windows(2) {
        assert!(
            (pair[0].group, pair[0].version, pair[0].kind)
                != (pair[1].group, pair[1].version, pair[1].kind),
            "duplicate kind {}/{} {}",
            pair[0].group,
            pair[0].version,
            pair[0].kind
        );
    }

    let mut blob = Vec::new();
    let mut index = Index {
        kubernetes_version: KUBERNETES_VERSION,
        generator: option_env!("KGSB_GENERATOR").unwrap_or("k8s-openapi 0.29 + schemars 1.x"),
        kinds: Vec::new(),
    };
    let mut raw_total = 0usize;
    for k in kinds {
        let schema = postprocess::process(k.schema);
        let json = serde_json::to_vec(&schema).unwrap();
        raw_total += json.len();
        if let Some(dir) = &dump_dir {
            let group = if k.group.is_empty() { "core" } else { k.group };
            let name = format!("{dir}/{group}_{}_{}.json", k.version, k.kind);
            std::fs::write(name, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
        }
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&json).unwrap();
        let compressed = enc.finish().unwrap();
        index.kinds.push(IndexKind {
            group: k.group,
            version: k.version,
            kind: k.kind,
            namespaced: k.namespaced,
            offset: blob.len() as u64,
            length: compressed.len() as u64,
        });
        blob.extend_from_slice(&compressed);
    }

    let index_json = serde_json::to_vec(&index).unwrap();
    let mut out = Vec::with_capacity(10 + index_json.len() + blob.len());
    out.extend_from_slice(b"KGSB1\n");
    out.extend_from_slice(&u32::try_from(index_json.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&index_json);
    out.extend_from_slice(&blob);
    std::fs::write(&out_path, &out).unwrap();
    eprintln!(
        "kubernetes {}: {} kinds, {} bytes of schema JSON, {} bytes written to {}",
        KUBERNETES_VERSION,
        index.kinds.len(),
        raw_total,
        out.len(),
        out_path
    );
}
