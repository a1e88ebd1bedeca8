//! Gatekeeper's `spec.match`: kinds, namespaces, excludedNamespaces, labelSelector,
//! namespaceSelector, scope and name, with Gatekeeper's prefix/suffix `*` globs.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::manifest::Manifest;

/// Whether a constraint's `match` selects `m`. `namespaces` maps the Namespace objects of the
/// run to their labels (a namespace not among them has no labels).
pub fn matches(
    matcher: &Json,
    m: &Manifest,
    namespaced: bool,
    namespaces: &BTreeMap<String, Json>,
) -> bool {
    let is_namespace = m.resource.kind == "Namespace" && m.group().is_empty();
    // The namespace a namespace criterion compares with: a Namespace's own name, else the
    // object's namespace; cluster-scoped objects are not subject to namespace criteria.
    let ns: Option<&str> = if is_namespace {
        Some(m.resource.name.as_str())
    } else {
        m.resource.namespace.as_deref()
    };
    kinds_match(matcher.get("kinds"), m)
        && scope_match(matcher.get("scope"), namespaced)
        && list(matcher.get("namespaces"))
            .is_none_or(|l| ns.is_none_or(|ns| l.iter().any(|g| glob(g, ns))))
        && list(matcher.get("excludedNamespaces"))
            .is_none_or(|l| ns.is_none_or(|ns| !l.iter().any(|g| glob(g, ns))))
        && matcher
            .get("name")
            .and_then(Json::as_str)
            .is_none_or(|g| glob(g, &m.resource.name))
        && matcher.get("labelSelector").is_none_or(|s| {
            selector_match(s, m.json.pointer("/metadata/labels").unwrap_or(&Json::Null))
        })
        && matcher.get("namespaceSelector").is_none_or(|s| {
            let labels = if is_namespace {
                m.json.pointer("/metadata/labels")
            } else {
                ns.and_then(|n| namespaces.get(n))
            };
            ns.is_none() || selector_match(s, labels.unwrap_or(&Json::Null))
        })
}

fn list(v: Option<&Json>) -> Option<Vec<&str>> {
    let items: Vec<&str> = v?.as_array()?.iter().filter_map(Json::as_str).collect();
    if items.is_empty() {
        None
    } else {
        Some(items)
    }
}

/// Gatekeeper globs: `kube-*` (prefix), `*-system` (suffix), else exact.
pub fn glob(pattern: &str, s: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        _ if pattern == "*" => true,
        (Some(suffix), _) if !suffix.ends_with('*') => s.ends_with(suffix),
        (Some(mid), _) => s.contains(mid.trim_end_matches('*')),
        (None, Some(prefix)) => s.starts_with(prefix),
        (None, None) => s == pattern,
    }
}

fn kinds_match(kinds: Option<&Json>, m: &Manifest) -> bool {
    let Some(entries) = kinds.and_then(Json::as_array).filter(|k| !k.is_empty()) else {
        return true;
    };
    let group = m.group();
    entries.iter().any(|e| {
        let any = |field: &str, value: &str| match e.get(field).and_then(Json::as_array) {
            Some(a) if !a.is_empty() => a
                .iter()
                .filter_map(Json::as_str)
                .any(|x| x == "*" || x == value),
            _ => true,
        };
        any("apiGroups", group) && any("kinds", &m.resource.kind)
    })
}

fn scope_match(scope: Option<&Json>, namespaced: bool) -> bool {
    match scope.and_then(Json::as_str) {
        Some("Cluster") => !namespaced,
        Some("Namespaced") => namespaced,
        _ => true,
    }
}

/// A Kubernetes label selector (matchLabels and matchExpressions) against a labels map.
pub fn selector_match(selector: &Json, labels: &Json) -> bool {
    let label = |k: &str| labels.get(k).and_then(Json::as_str);
    let labels_ok = selector
        .get("matchLabels")
        .and_then(Json::as_object)
        .is_none_or(|ml| {
            ml.iter()
                .all(|(k, v)| label(k).is_some_and(|l| Some(l) == v.as_str()))
        });
    let exprs_ok = selector
        .get("matchExpressions")
        .and_then(Json::as_array)
        .is_none_or(|exprs| {
            exprs.iter().all(|e| {
                let key = e.get("key").and_then(Json::as_str).unwrap_or("");
                let values: Vec<&str> = e
                    .get("values")
                    .and_then(Json::as_array)
                    .map(|v| v.iter().filter_map(Json::as_str).collect())
                    .unwrap_or_default();
                match e.get("operator").and_then(Json::as_str) {
                    Some("In") => label(key).is_some_and(|l| values.contains(&l)),
                    Some("NotIn") => label(key).is_none_or(|l| !values.contains(&l)),
                    Some("Exists") => label(key).is_some(),
                    Some("DoesNotExist") => label(key).is_none(),
                    // An unknown operator selects nothing, as the API server would reject it.
                    _ => false,
                }
            })
        });
    labels_ok && exprs_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_follow_gatekeeper() {
        assert!(glob("kube-*", "kube-system"));
        assert!(!glob("kube-*", "default"));
        assert!(glob("*-system", "kube-system"));
        assert!(!glob("*-system", "system-x"));
        assert!(glob("prod", "prod"));
        assert!(!glob("prod", "prod2"));
        assert!(glob("*", "anything"));
    }

    #[test]
    fn selectors_follow_kubernetes() {
        let labels = json!({"team": "a", "tier": "web"});
        assert!(selector_match(
            &json!({"matchLabels": {"team": "a"}}),
            &labels
        ));
        assert!(!selector_match(
            &json!({"matchLabels": {"team": "b"}}),
            &labels
        ));
        let e = |op: &str, values: Json| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]});
        assert!(selector_match(&e("In", json!(["web", "db"])), &labels));
        assert!(!selector_match(&e("NotIn", json!(["web"])), &labels));
        assert!(selector_match(&e("Exists", json!([])), &labels));
        assert!(!selector_match(&e("DoesNotExist", json!([])), &labels));
        assert!(selector_match(&e("NotIn", json!(["web"])), &json!({})));
        assert!(!selector_match(&e("Bogus", json!([])), &labels));
    }
}
