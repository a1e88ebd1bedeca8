//! `kgate catalog`: lists every group/version/kind a run would know and where its schema comes
//! from, as a table or JSON.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{json, Value};

use super::catalog;
use super::registry::{KindSource, KnownKind, Registry};

/// What a listing says about a kind's source, in words and as JSON.
fn describe_source(k: &KnownKind, crd_flag_files: &BTreeSet<String>) -> (String, Value) {
    match &k.source {
        KindSource::Kubernetes(v) => (
            format!("Kubernetes {v}"),
            json!({"type": "kubernetes", "kubernetesVersion": v}),
        ),
        KindSource::Crd(file) if crd_flag_files.contains(file) => (
            format!("--crd {file}"),
            json!({"type": "crd-flag", "file": file}),
        ),
        KindSource::Crd(file) => (
            format!("CRD {file}"),
            json!({"type": "repository-crd", "file": file}),
        ),
        KindSource::SchemaLocation(path) => (
            format!("--schema-location {path}"),
            json!({"type": "schema-location", "file": path}),
        ),
        KindSource::Catalog(i) => {
            let s = &catalog::catalog().sources()[*i];
            (
                format!("catalog {}", s.label()),
                json!({"type": "catalog", "repository": s.repository, "version": s.version,
                       "commit": s.commit, "licence": s.licence, "folder": s.folder}),
            )
        }
    }
}

/// The kinds to show: all, or those whose `apiVersion kind` or source text contains `filter`.
fn selected<'a>(
    kinds: &'a [KnownKind],
    filter: Option<&str>,
    crd_flag_files: &BTreeSet<String>,
) -> Vec<(&'a KnownKind, String, Value)> {
    let needle = filter.map(str::to_lowercase);
    kinds
        .iter()
        .map(|k| {
            let (text, json) = describe_source(k, crd_flag_files);
            (k, text, json)
        })
        .filter(|(k, text, _)| {
            needle.as_deref().is_none_or(|n| {
                format!("{} {} {text}", k.api_version(), k.kind)
                    .to_lowercase()
                    .contains(n)
            })
        })
        .collect()
}

/// A table: one line per kind, then the catalog's sources with their licences.
pub fn render_human(
    registry: &Registry,
    filter: Option<&str>,
    crd_flag_files: &BTreeSet<String>,
) -> String {
    let kinds = registry.known_kinds();
    let rows = selected(&kinds, filter, crd_flag_files);
    let mut out = String::new();
    let width_api = rows
        .iter()
        .map(|(k, _, _)| k.api_version().len())
        .max()
        .unwrap_or(10)
        .max("APIVERSION".len());
    let width_kind = rows
        .iter()
        .map(|(k, _, _)| k.kind.len())
        .max()
        .unwrap_or(4)
        .max("KIND".len());
    let _ = writeln!(
        out,
        "{:width_api$}  {:width_kind$}  {:10}  SOURCE",
        "APIVERSION", "KIND", "SCOPE"
    );
    let mut used_sources = BTreeSet::new();
    for (k, text, _) in &rows {
        let scope = match k.namespaced {
            Some(true) => "namespaced",
            Some(false) => "cluster",
            None => "-",
        };
        let source = if k.served {
            text.clone()
        } else {
            let instead = k
                .replacement
                .as_deref()
                .map(|r| format!(", use {r}"))
                .unwrap_or_default();
            format!("{text} (not served{instead})")
        };
        if let KindSource::Catalog(i) = k.source {
            used_sources.insert(i);
        }
        let _ = writeln!(
            out,
            "{:width_api$}  {:width_kind$}  {scope:10}  {source}",
            k.api_version(),
            k.kind
        );
    }
    if !used_sources.is_empty() {
        let _ = writeln!(
            out,
            "\nCatalog sources (upstream CRD files, unchanged but for descriptions):"
        );
        let sources = catalog::catalog().sources();
        for i in used_sources {
            let s = &sources[i];
            let _ = writeln!(
                out,
                "  {}  {}  commit {}  {}",
                s.label(),
                s.licence,
                s.commit,
                s.paths
            );
        }
    }
    let _ = writeln!(out, "\n{} kinds", rows.len());
    out
}

/// The same as JSON: `{"kubernetesVersion", "catalog", "kinds": [...], "sources": [...]}`.
pub fn render_json(
    registry: &Registry,
    catalog_on: bool,
    filter: Option<&str>,
    crd_flag_files: &BTreeSet<String>,
) -> String {
    let kinds = registry.known_kinds();
    let rows = selected(&kinds, filter, crd_flag_files);
    let list: Vec<Value> = rows
        .iter()
        .map(|(k, _, source)| {
            let mut v = json!({
                "apiVersion": k.api_version(),
                "group": k.group,
                "version": k.version,
                "kind": k.kind,
                "namespaced": k.namespaced,
                "served": k.served,
                "source": source,
            });
            if let Some(r) = &k.replacement {
                v["replacement"] = json!(r);
            }
            v
        })
        .collect();
    let sources: Vec<Value> = if catalog_on {
        catalog::catalog()
            .sources()
            .iter()
            .map(|s| {
                json!({"repository": s.repository, "version": s.version, "commit": s.commit,
                       "licence": s.licence, "paths": s.paths, "folder": s.folder})
            })
            .collect()
    } else {
        Vec::new()
    };
    let doc = json!({
        "kubernetesVersion": registry.kubernetes_version(),
        "catalog": catalog_on,
        "kinds": list,
        "sources": sources,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
