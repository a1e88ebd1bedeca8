//! Writes kgate's built-in CRD catalog (`schemas/catalog.kgsc`) from a folder of upstream CRDs.
//!
//! Input: a folder laid out like `../shared/crds` — one subfolder per project (a channel may be a
//! nested folder, `gateway-api/standard/`), one CRD per YAML file, and a `SOURCES.txt` with one
//! line per upstream repository: `subfolder/ | owner/name@commit (tag) | source path(s) | licence
//! | number of CRDs`. Every CRD is attributed to exactly one line and the per-line counts must
//! match, so a file added without its provenance stops the generator.
//!
//! Output (read by `src/schema/catalog.rs`, which documents the format): the magic `KGSC1\n`, a
//! little-endian `u32` index length, the JSON index (sources, then CRDs sorted by group and
//! kind with their versions and served/storage flags), then each CRD as its own raw-DEFLATE blob.
//! The blob is the CRD object itself, trimmed of what validation never reads (descriptions,
//! printer columns, conversion webhooks, status), so kgate converts it with the same code as a
//! CRD found in the checked repository and keeps its `x-kubernetes-validations` and list
//! metadata for admission checks. Deterministic: sorted keys, fixed compression level.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

/// One line of SOURCES.txt.
#[derive(Debug, Clone, Serialize)]
struct Source {
    /// Display name, `owner/name` of the upstream repository.
    repository: String,
    /// The release tag, e.g. `v1.9.1`.
    version: String,
    commit: String,
    licence: String,
    /// Upstream path(s) the CRDs were copied from.
    paths: String,
    /// Folder under the input, e.g. `flux`, `gateway-api/experimental`.
    folder: String,
    #[serde(skip)]
    expected: usize,
}

#[derive(Serialize)]
struct Version {
    name: String,
    served: bool,
    storage: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deprecated: bool,
}

#[derive(Serialize)]
struct Crd {
    name: String,
    group: String,
    kind: String,
    plural: String,
    namespaced: bool,
    source: usize,
    versions: Vec<Version>,
    offset: u64,
    length: u64,
}

#[derive(Serialize)]
struct Index {
    generator: String,
    sources: Vec<Source>,
    crds: Vec<Crd>,
}

/// `kgate-schema-gen catalog CRD_DIR OUT.kgsc`
pub fn run(input: &Path, out_path: &Path) {
    let sources = read_sources(&input.join("SOURCES.txt"));
    let mut files = Vec::new();
    collect_yaml(input, &mut files);
    files.sort();

    // CRD name -> (source index, trimmed CRD). See `channel_rank` for the one allowed overlap.
    let mut by_name: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    let mut counts = vec![0usize; sources.len()];
    for file in &files {
        let rel = file.strip_prefix(input).unwrap();
        let folder = rel.parent().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let crd: Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display()));
        assert_eq!(
            crd["kind"],
            "CustomResourceDefinition",
            "{}: not a CRD",
            file.display()
        );
        let name = crd["metadata"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no metadata.name", file.display()))
            .to_owned();
        let source = attribute(&sources, &folder, file, &crd);
        counts[source] += 1;
        let trimmed = trim_crd(&crd);
        match by_name.get(&name) {
            Some((other, _)) if sources[*other].repository != sources[source].repository => {
                panic!(
                    "{name} is shipped by two projects: {:?} and {:?}",
                    sources[*other], sources[source]
                )
            }
            Some((other, _))
                if channel_rank(&sources[*other]) >= channel_rank(&sources[source]) => {}
            _ => {
                by_name.insert(name, (source, trimmed));
            }
        }
    }
    for (s, n) in sources.iter().zip(&counts) {
        assert_eq!(
            *n, s.expected,
            "SOURCES.txt says {} CRDs for {} in {}/, found {n}",
            s.expected, s.repository, s.folder
        );
    }

    let mut crds: Vec<(Crd, Value)> = by_name
        .into_iter()
        .map(|(name, (source, crd))| (describe(&name, source, &crd), crd))
        .collect();
    crds.sort_by(|a, b| (&a.0.group, &a.0.kind).cmp(&(&b.0.group, &b.0.kind)));
    for w in crds.windows(2) {
        assert!(
            (&w[0].0.group, &w[0].0.kind) != (&w[1].0.group, &w[1].0.kind),
            "two CRDs for {} {}",
            w[0].0.group,
            w[0].0.kind
        );
    }

    let mut blob = Vec::new();
    let mut raw_total = 0usize;
    let mut index = Index {
        generator: format!("kgate-schema-gen {}", env!("CARGO_PKG_VERSION")),
        sources,
        crds: Vec::new(),
    };
    for (mut entry, crd) in crds {
        let json = serde_json::to_vec(&sorted(crd)).unwrap();
        raw_total += json.len();
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&json).unwrap();
        let compressed = enc.finish().unwrap();
        entry.offset = blob.len() as u64;
        entry.length = compressed.len() as u64;
        blob.extend_from_slice(&compressed);
        index.crds.push(entry);
    }
    let index_json = serde_json::to_vec(&index).unwrap();
    let mut out = Vec::with_capacity(10 + index_json.len() + blob.len());
    out.extend_from_slice(b"KGSC1\n");
    out.extend_from_slice(&u32::try_from(index_json.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&index_json);
    out.extend_from_slice(&blob);
    std::fs::write(out_path, &out).unwrap();
    eprintln!(
        "catalog: {} CRDs from {} sources, {} bytes of CRD JSON, {} bytes written to {}",
        index.crds.len(),
        index.sources.len(),
        raw_total,
        out.len(),
        out_path.display()
    );
}

/// When one repository ships the same CRD in several channels (Gateway API standard and
/// experimental), the experimental one is kept: it is a superset, so a cluster on either
/// channel gets no false "unknown field" from it.
fn channel_rank(s: &Source) -> u8 {
    u8::from(s.folder.ends_with("/experimental"))
}

fn read_sources(path: &Path) -> Vec<Source> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
        assert_eq!(cols.len(), 5, "SOURCES.txt: bad line {line:?}");
        // `owner/name@commit (tag)`
        let (repo, rest) = cols[1].split_once('@').expect("owner/name@commit");
        let (commit, tag) = rest.split_once(" (").expect("commit (tag)");
        out.push(Source {
            repository: repo.to_owned(),
            version: tag.trim_end_matches(')').to_owned(),
            commit: commit.to_owned(),
            licence: cols[3].to_owned(),
            paths: cols[2].to_owned(),
            folder: cols[0].trim_end_matches('/').to_owned(),
            expected: cols[4].parse().expect("CRD count"),
        });
    }
    out
}

/// The SOURCES.txt line a CRD file comes from. A folder with one line is simple; a folder with
/// several (Flux's controllers) is resolved by the file named in a line's path column
/// (controller-gen's `<group>_<plural>.yaml`), else by the repository's first word being the
/// group's first label (`source-controller` → `source.toolkit.fluxcd.io`).
fn attribute(sources: &[Source], folder: &str, file: &Path, crd: &Value) -> usize {
    let candidates: Vec<usize> = (0..sources.len())
        .filter(|i| sources[*i].folder == folder)
        .collect();
    match candidates.as_slice() {
        [] => panic!("{}: folder {folder}/ is not in SOURCES.txt", file.display()),
        [one] => return *one,
        _ => {}
    }
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    let controller_gen_name = format!("{group}_{plural}.yaml");
    if let Some(i) = candidates
        .iter()
        .find(|i| sources[**i].paths.contains(&controller_gen_name))
    {
        return *i;
    }
    let first_label = group.split('.').next().unwrap_or_default();
    let by_label: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|i| !sources[*i].paths.ends_with(".yaml"))
        .filter(|i| {
            let name = sources[*i]
                .repository
                .rsplit('/')
                .next()
                .unwrap_or_default();
            name.split('-').next() == Some(first_label)
        })
        .collect();
    match by_label.as_slice() {
        [one] => *one,
        other => panic!(
            "{}: cannot tell which SOURCES.txt line it comes from ({} candidates)",
            file.display(),
            other.len()
        ),
    }
}

fn describe(name: &str, source: usize, crd: &Value) -> Crd {
    let spec = &crd["spec"];
    let s = |v: &Value| {
        v.as_str()
            .unwrap_or_else(|| panic!("{name}: missing field"))
            .to_owned()
    };
    let versions = spec["versions"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no spec.versions"))
        .iter()
        .map(|v| Version {
            name: s(&v["name"]),
            served: v["served"].as_bool().unwrap_or(false),
            storage: v["storage"].as_bool().unwrap_or(false),
            deprecated: v["deprecated"].as_bool().unwrap_or(false),
        })
        .collect::<Vec<_>>();
    assert!(
        versions.iter().filter(|v| v.storage).count() == 1,
        "{name}: not exactly one storage version"
    );
    assert!(versions.iter().any(|v| v.served), "{name}: nothing served");
    Crd {
        name: name.to_owned(),
        group: s(&spec["group"]),
        kind: s(&spec["names"]["kind"]),
        plural: s(&spec["names"]["plural"]),
        namespaced: spec["scope"].as_str() != Some("Cluster"),
        source,
        versions,
        offset: 0,
        length: 0,
    }
}

/// Keeps what validation and admission read: `spec.group`, `names`, `scope`, and per version
/// `name`, `served`, `storage`, `deprecated`, `deprecationWarning`, `schema` (descriptions
/// removed), `subresources`, `selectableFields`.
fn trim_crd(crd: &Value) -> Value {
    let spec = &crd["spec"];
    let mut out_spec = Map::new();
    for k in ["group", "names", "scope"] {
        if let Some(v) = spec.get(k) {
            out_spec.insert(k.into(), v.clone());
        }
    }
    let mut versions = Vec::new();
    for v in spec["versions"].as_array().into_iter().flatten() {
        let mut ov = Map::new();
        for k in [
            "name",
            "served",
            "storage",
            "deprecated",
            "deprecationWarning",
            "subresources",
            "selectableFields",
        ] {
            if let Some(x) = v.get(k) {
                ov.insert(k.into(), x.clone());
            }
        }
        if let Some(schema) = v.pointer("/schema/openAPIV3Schema") {
            let mut schema = schema.clone();
            strip_docs(&mut schema);
            ov.insert(
                "schema".into(),
                serde_json::json!({ "openAPIV3Schema": schema }),
            );
        }
        versions.push(Value::Object(ov));
    }
    out_spec.insert("versions".into(), Value::Array(versions));
    serde_json::json!({
        "apiVersion": crd["apiVersion"],
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd["metadata"]["name"]},
        "spec": out_spec,
    })
}

/// Removes documentation from a structural schema, walking keywords structurally so a property
/// *named* `description` is kept.
fn strip_docs(schema: &mut Value) {
    let Value::Object(o) = schema else { return };
    for k in ["description", "example", "externalDocs", "title"] {
        o.remove(k);
    }
    for (k, v) in o.iter_mut() {
        match k.as_str() {
            "properties" | "patternProperties" | "definitions" | "dependencies" => {
                if let Value::Object(m) = v {
                    m.values_mut().for_each(strip_docs);
                }
            }
            "items" | "additionalProperties" | "additionalItems" | "not" => match v {
                Value::Array(a) => a.iter_mut().for_each(strip_docs),
                other => strip_docs(other),
            },
            "allOf" | "anyOf" | "oneOf" => {
                if let Value::Array(a) = v {
                    a.iter_mut().for_each(strip_docs);
                }
            }
            _ => {}
        }
    }
}

/// Sorted object keys at every level (serde_json's default map is a BTreeMap already; this
/// makes the intent explicit and independent of its features).
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let b: BTreeMap<String, Value> = m.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(b.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}
