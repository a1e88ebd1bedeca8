//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning (`github/codeql-action/upload-sarif`)
//! and other SARIF viewers read it. One rule per code used, one result per finding.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::common::{fingerprints, path_uri, resource_label};
use super::Report;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// The rule entry for a code: documentation from the registry, or a generic text for codes that
/// come from outside it (user policies).
fn rule(code: &str, used_severity: Severity) -> Value {
    let (short, full, severity) = if let Some(r) = rules::find(code) {
        (r.summary.to_string(), r.docs.to_string(), r.severity)
    } else if let Some(r) = crate::policy::builtin::find(code) {
        (r.summary, r.docs, r.severity)
    } else if let Some(rule) = code.strip_prefix("policy/") {
        (
            format!("policy rule {rule}"),
            "A finding returned by a Rego policy (deny/violation fail, warn warns).".to_string(),
            used_severity,
        )
    } else {
        (
            code.to_string(),
            format!("A finding reported by kgate ({code})."),
            used_severity,
        )
    };
    let category = code.split('/').next().unwrap_or(code);
    json!({
        "id": code,
        "name": code,
        "shortDescription": { "text": short },
        "fullDescription": { "text": full },
        "help": { "text": full },
        "defaultConfiguration": { "level": level(severity) },
        "properties": { "tags": ["kubernetes", category] },
    })
}

fn result(d: &Diagnostic, rule_index: usize, fingerprint: &str) -> Value {
    let mut message = String::new();
    let label = resource_label(d);
    if !label.is_empty() {
        message.push_str(&label);
        message.push_str(": ");
    }
    message.push_str(&d.message);
    if let Some(overlay) = &d.rendered_for {
        message.push_str(&format!(" (rendered for {overlay})"));
    }
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(d.code));
    r.insert("ruleIndex".into(), json!(rule_index));
    r.insert("level".into(), json!(level(d.severity)));
    r.insert("message".into(), json!({ "text": message }));
    if !d.file.is_empty() {
        let mut physical = Map::new();
        physical.insert(
            "artifactLocation".into(),
            json!({ "uri": path_uri(&d.file), "uriBaseId": "%SRCROOT%" }),
        );
        if let Some(s) = d.span {
            let mut region = Map::new();
            region.insert("startLine".into(), json!(s.line.max(1)));
            region.insert("startColumn".into(), json!(s.col.max(1)));
            // SARIF end columns are exclusive; a zero-width span is left open-ended.
            let end_line = s.end_line.max(s.line.max(1));
            if end_line > s.line || s.end_col > s.col {
                region.insert("endLine".into(), json!(end_line));
                region.insert("endColumn".into(), json!(s.end_col.max(1)));
            }
            physical.insert("region".into(), Value::Object(region));
        }
        let mut location = Map::new();
        location.insert("physicalLocation".into(), Value::Object(physical));
        if let Some(res) = &d.resource {
            let mut logical = json!({ "name": res.name, "kind": "object", "fullyQualifiedName": resource_label(d) });
            if let Some(p) = &d.path {
                logical["decoratedName"] = json!(p);
            }
            location.insert("logicalLocations".into(), json!([logical]));
        }
        r.insert("locations".into(), json!([Value::Object(location)]));
    }
    r.insert(
        "partialFingerprints".into(),
        json!({ "kgateFindingHash/v1": fingerprint }),
    );
    if !d.related.is_empty() {
        let related: Vec<Value> = d
            .related
            .iter()
            .enumerate()
            .map(|(i, rel)| {
                json!({
                    "id": i,
                    "message": { "text": rel.message },
                    "physicalLocation": {
                        "artifactLocation": { "uri": path_uri(&rel.file), "uriBaseId": "%SRCROOT%" },
                        "region": { "startLine": rel.line.max(1), "startColumn": rel.column.max(1) },
                    },
                })
            })
            .collect();
        r.insert("relatedLocations".into(), json!(related));
    }
    if d.suppressed {
        let mut s = json!({ "kind": "external", "status": "accepted" });
        if let Some(reason) = &d.suppressed_reason {
            s["justification"] = json!(reason);
        }
        r.insert("suppressions".into(), json!([s]));
    }
    if d.pre_existing || d.baselined {
        r.insert("baselineState".into(), json!("unchanged"));
    }
    let mut props = Map::new();
    if let Some(p) = &d.path {
        props.insert("jsonPointer".into(), json!(p));
    }
    if let Some(h) = &d.help {
        props.insert("help".into(), json!(h));
    }
    if !props.is_empty() {
        r.insert("properties".into(), Value::Object(props));
    }
    Value::Object(r)
}

pub fn render(report: &Report<'_>) -> String {
    let diags = report.diagnostics;
    // Rules in code order; each result points at its rule by index.
    let mut used: BTreeMap<&str, Severity> = BTreeMap::new();
    for d in diags {
        let e = used.entry(d.code.as_str()).or_insert(d.severity);
        *e = (*e).max(d.severity);
    }
    let index: BTreeMap<&str, usize> = used.keys().enumerate().map(|(i, c)| (*c, i)).collect();
    let rules_json: Vec<Value> = used.iter().map(|(c, s)| rule(c, *s)).collect();
    let prints = fingerprints(diags);
    let results: Vec<Value> = diags
        .iter()
        .zip(&prints)
        .map(|(d, fp)| result(d, index[d.code.as_str()], fp))
        .collect();
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "kgate",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules_json,
                }
            },
            // kgate counts columns in characters, not UTF-16 code units.
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "The folder kgate ran in." } } },
            "results": results,
            "properties": {
                "kubernetesVersion": report.kubernetes_version,
                "summary": report.summary,
            },
        }],
    });
    let mut s =
        serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
