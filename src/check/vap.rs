//! ValidatingAdmissionPolicy, offline: the `ValidatingAdmissionPolicy` and
//! `ValidatingAdmissionPolicyBinding` objects (admissionregistration.k8s.io) among the checked
//! objects and in the `--policy` folders are evaluated on every object they match, as the API
//! server's admission plugin does: the policy's `matchConstraints` and the binding's
//! `matchResources` (resource rules, exclusions, resource names, namespace and object
//! selectors; Namespace labels come from the checked Namespace objects), `paramKind` with the
//! binding's `paramRef` resolved among the checked objects, `matchConditions`, `variables`,
//! and each validation's `expression`, `message`, `messageExpression` and `reason`.
//! `validationActions` Deny → error, Warn → warning, Audit → note; `auditAnnotations` are
//! ignored. Findings are coded `vap/<policy name>`.
//!
//! The operation is CREATE with no `oldObject`, except in merge-request mode where an object
//! the base revision has is an UPDATE with the base object as `oldObject`. `authorizer` cannot
//! be evaluated offline: an expression that needs it is a note.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::check::admission::objects::{selector_is_empty, selector_matches};
use crate::check::cel::k8s;
use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::Manifest;

const GROUP: &str = "admissionregistration.k8s.io";

pub fn is_policy(m: &Manifest) -> bool {
    m.group() == GROUP && m.resource.kind == "ValidatingAdmissionPolicy"
}

pub fn is_binding(m: &Manifest) -> bool {
    m.group() == GROUP && m.resource.kind == "ValidatingAdmissionPolicyBinding"
}

struct Binding {
    name: String,
    param_ref: Option<Value>,
    match_resources: Option<Value>,
    actions: Vec<String>,
}

struct Policy {
    name: String,
    spec: Value,
    bindings: Vec<Binding>,
}

/// The policies of a run, with what evaluating them needs from the other objects.
#[derive(Default)]
pub struct VapSet {
    policies: Vec<Policy>,
    /// Candidate params: (apiVersion, kind) → objects.
    params: HashMap<(String, String), Vec<Value>>,
    /// Namespace name → the Namespace object.
    namespaces: HashMap<String, Value>,
    /// Plural resource names declared by CRDs: (group, kind) → plural.
    plurals: HashMap<(String, String), String>,
}

impl VapSet {
    /// Collects the policies and bindings of `policy_objects` (checked objects and `--policy`
    /// folder objects), with params from `params_from` (the policies' own revision) and
    /// namespaces and CRD plurals from `objects`.
    pub fn load<'a>(
        policy_objects: impl Iterator<Item = &'a Manifest>,
        params_from: &[Manifest],
        objects: &[Manifest],
    ) -> VapSet {
        let mut policies: Vec<Policy> = Vec::new();
        let mut bindings: Vec<(String, Binding)> = Vec::new();
        for m in policy_objects {
            if is_policy(m) {
                policies.push(Policy {
                    name: m.resource.name.clone(),
                    spec: m.json["spec"].clone(),
                    bindings: Vec::new(),
                });
            } else if is_binding(m) {
                let spec = &m.json["spec"];
                let Some(policy) = spec["policyName"].as_str() else {
                    continue;
                };
                bindings.push((
                    policy.to_string(),
                    Binding {
                        name: m.resource.name.clone(),
                        param_ref: spec.get("paramRef").filter(|p| p.is_object()).cloned(),
                        match_resources: spec
                            .get("matchResources")
                            .filter(|p| p.is_object())
                            .cloned(),
                        actions: spec["validationActions"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_string)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    },
                ));
            }
        }
        for (policy, b) in bindings {
            if let Some(p) = policies.iter_mut().find(|p| p.name == policy) {
                p.bindings.push(b);
            }
        }
        policies.retain(|p| !p.bindings.is_empty());
        let mut set = VapSet {
            policies,
            ..VapSet::default()
        };
        if set.policies.is_empty() {
            return set;
        }
        let param_kinds: Vec<(String, String)> = set
            .policies
            .iter()
            .filter_map(|p| {
                let pk = &p.spec["paramKind"];
                Some((
                    pk["apiVersion"].as_str()?.to_string(),
                    pk["kind"].as_str()?.to_string(),
                ))
            })
            .collect();
        for m in params_from {
            let key = (m.resource.api_version.clone(), m.resource.kind.clone());
            if param_kinds.contains(&key) {
                set.params.entry(key).or_default().push(m.json.clone());
            }
        }
        for m in objects {
            if m.group().is_empty() && m.resource.kind == "Namespace" {
                // The API server labels every Namespace with its name (1.21+).
                let mut ns = m.json.clone();
                if let Some(meta) = ns.get_mut("metadata").and_then(Value::as_object_mut) {
                    let labels = meta.entry("labels").or_insert_with(|| json!({}));
                    if let Some(l) = labels.as_object_mut() {
                        l.insert("kubernetes.io/metadata.name".into(), json!(m.resource.name));
                    }
                }
                set.namespaces.insert(m.resource.name.clone(), ns);
            }
            if m.group() == "apiextensions.k8s.io" && m.resource.kind == "CustomResourceDefinition"
            {
                let s = &m.json["spec"];
                if let (Some(g), Some(k), Some(p)) = (
                    s["group"].as_str(),
                    s.pointer("/names/kind").and_then(Value::as_str),
                    s.pointer("/names/plural").and_then(Value::as_str),
                ) {
                    set.plurals
                        .insert((g.to_string(), k.to_string()), p.to_string());
                }
            }
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The codes the bound policies report (`vap/<policy name>`), for `severity:` and
    /// `exceptions:` entries that name them.
    pub fn codes(&self) -> Vec<String> {
        self.policies
            .iter()
            .map(|p| format!("vap/{}", p.name))
            .collect()
    }

    /// The findings of every bound policy that matches `m`; `old` is the base revision's
    /// object in merge-request mode (an UPDATE), else None (a CREATE).
    pub fn evaluate(
        &self,
        m: &Manifest,
        old: Option<&Value>,
        namespaced: Option<bool>,
    ) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if self.policies.is_empty() {
            return out;
        }
        let target = Target::of(m, old, namespaced, self);
        for p in &self.policies {
            if !matches(&p.spec["matchConstraints"], &target, self, true) {
                continue;
            }
            for b in &p.bindings {
                if let Some(mr) = &b.match_resources {
                    if !matches(mr, &target, self, false) {
                        continue;
                    }
                }
                self.evaluate_binding(p, b, m, old, &target, &mut out);
            }
        }
        out
    }

    fn evaluate_binding(
        &self,
        p: &Policy,
        b: &Binding,
        m: &Manifest,
        old: Option<&Value>,
        target: &Target,
        out: &mut Vec<Diagnostic>,
    ) {
        let code = format!("vap/{}", p.name);
        let params: Vec<Value> = match (&p.spec["paramKind"], &b.param_ref) {
            (Value::Object(pk), Some(pr)) => {
                let key = (
                    pk.get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    pk.get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                );
                let found = self.find_params(&key, pr, target);
                if found.is_empty() {
                    let deny = pr["parameterNotFoundAction"].as_str() == Some("Deny");
                    out.push(m.diagnostic(
                        code.clone(),
                        Severity::Note,
                        format!(
                            "binding {}: no {} params among the checked objects{}; policy {} was not evaluated",
                            b.name,
                            key.1,
                            if deny { " (parameterNotFoundAction: Deny rejects the object if the cluster has none either)" } else { "" },
                            p.name
                        ),
                        None,
                    ));
                    return;
                }
                found
            }
            _ => vec![Value::Null],
        };
        for param in params {
            self.evaluate_with(p, b, m, old, target, &param, &code, out);
        }
    }

    fn find_params(&self, key: &(String, String), pr: &Value, target: &Target) -> Vec<Value> {
        let Some(candidates) = self.params.get(key) else {
            return Vec::new();
        };
        let ns = pr["namespace"]
            .as_str()
            .map(str::to_string)
            .or_else(|| target.namespace.clone());
        candidates
            .iter()
            .filter(|c| {
                let cns = c.pointer("/metadata/namespace").and_then(Value::as_str);
                // Cluster-scoped params have no namespace to compare.
                cns.is_none() || cns.map(str::to_string) == ns
            })
            .filter(|c| match pr["name"].as_str() {
                Some(name) => c.pointer("/metadata/name").and_then(Value::as_str) == Some(name),
                None => match pr.get("selector") {
                    Some(sel) => {
                        let labels = c
                            .pointer("/metadata/labels")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        selector_matches(sel, &labels) == Some(true)
                    }
                    None => false,
                },
            })
            .cloned()
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn evaluate_with(
        &self,
        p: &Policy,
        b: &Binding,
        m: &Manifest,
        old: Option<&Value>,
        target: &Target,
        param: &Value,
        code: &str,
        out: &mut Vec<Diagnostic>,
    ) {
        // What comprehensions can iterate, for the cost guard of [`run`].
        let inputs: Vec<&Value> = [Some(&m.json), old, Some(param)]
            .into_iter()
            .flatten()
            .collect();
        let mut ctx = k8s::root().new_inner_scope();
        ctx.add_variable_from_value("object", k8s::to_cel(&m.json, None));
        ctx.add_variable_from_value(
            "oldObject",
            old.map_or(cel::Value::Null, |o| k8s::to_cel(o, None)),
        );
        ctx.add_variable_from_value("params", k8s::to_cel(param, None));
        ctx.add_variable_from_value(
            "namespaceObject",
            target
                .namespace
                .as_ref()
                .and_then(|n| self.namespaces.get(n))
                .map_or(cel::Value::Null, |n| k8s::to_cel(n, None)),
        );
        ctx.add_variable_from_value("request", k8s::to_cel(&target.request, None));
        let note = |msg: String| m.diagnostic(code.to_string(), Severity::Note, msg, None);
        // Variables, in order: each may use the ones before it.
        let mut vars: HashMap<String, cel::Value> = HashMap::new();
        for v in p.spec["variables"].as_array().into_iter().flatten() {
            let (Some(name), Some(expr)) = (v["name"].as_str(), v["expression"].as_str()) else {
                continue;
            };
            ctx.add_variable_from_value("variables", cel::Value::from(vars.clone()));
            match run(&ctx, expr, &inputs) {
                Ok(val) => {
                    vars.insert(name.to_string(), val);
                }
                Err(e) => {
                    out.push(note(format!(
                        "kgate could not evaluate variable {name} of policy {}: {e}",
                        p.name
                    )));
                    return;
                }
            }
        }
        ctx.add_variable_from_value("variables", cel::Value::from(vars));
        for c in p.spec["matchConditions"].as_array().into_iter().flatten() {
            let Some(expr) = c["expression"].as_str() else {
                continue;
            };
            match run(&ctx, expr, &inputs) {
                Ok(cel::Value::Bool(true)) => {}
                Ok(cel::Value::Bool(false)) => return,
                Ok(_) | Err(_) => {
                    out.push(note(format!(
                        "kgate could not evaluate match condition {} of policy {}",
                        c["name"].as_str().unwrap_or("?"),
                        p.name
                    )));
                    return;
                }
            }
        }
        let severity = if b.actions.iter().any(|a| a == "Deny") {
            Severity::Error
        } else if b.actions.iter().any(|a| a == "Warn") {
            Severity::Warning
        } else {
            Severity::Note
        };
        for v in p.spec["validations"].as_array().into_iter().flatten() {
            let Some(expr) = v["expression"].as_str() else {
                continue;
            };
            match run(&ctx, expr, &inputs) {
                Ok(cel::Value::Bool(true)) => {}
                Ok(cel::Value::Bool(false)) => {
                    let message = v["messageExpression"]
                        .as_str()
                        .and_then(|e| match run(&ctx, e, &inputs) {
                            Ok(cel::Value::String(s)) if !s.trim().is_empty() => {
                                Some(s.to_string())
                            }
                            _ => None,
                        })
                        .or_else(|| v["message"].as_str().map(str::to_string))
                        .unwrap_or_else(|| format!("failed expression: {expr}"));
                    let mut d = m.diagnostic(code.to_string(), severity, message, None);
                    let mut details = Map::new();
                    details.insert("policy".into(), json!(p.name));
                    details.insert("binding".into(), json!(b.name));
                    details.insert("expression".into(), json!(expr));
                    if let Some(r) = v["reason"].as_str() {
                        details.insert("reason".into(), json!(r));
                    }
                    d.details = Some(details);
                    d.help = Some(format!(
                        "ValidatingAdmissionPolicy {} (binding {}, validationActions: {})",
                        p.name,
                        b.name,
                        b.actions.join(", ")
                    ));
                    out.push(d);
                }
                Ok(_) => out.push(note(format!(
                    "validation `{expr}` of policy {} did not return a boolean",
                    p.name
                ))),
                Err(e) => out.push(note(format!(
                    "kgate could not evaluate `{expr}` of policy {}: {e}",
                    p.name
                ))),
            }
        }
    }
}

fn run(ctx: &cel::Context<'_, '_>, expr: &str, inputs: &[&Value]) -> Result<cel::Value, String> {
    if k8s::too_costly(expr, inputs) {
        return Err(
            "not evaluated: its nested comprehensions over the object's lists could cost more \
             than the API server's per-call limit"
                .into(),
        );
    }
    let p: Arc<cel::Program> = k8s::compile(expr)?;
    p.execute(ctx).map_err(|e| e.to_string())
}

/// What the match rules look at.
struct Target {
    group: String,
    version: String,
    resource: String,
    operation: &'static str,
    namespace: Option<String>,
    name: String,
    namespaced: Option<bool>,
    labels: Map<String, Value>,
    /// The base revision's labels of an UPDATE: an objectSelector matches either.
    old_labels: Option<Map<String, Value>>,
    request: Value,
}

impl Target {
    fn of(m: &Manifest, old: Option<&Value>, namespaced: Option<bool>, set: &VapSet) -> Target {
        let update = old.is_some();
        let labels_of = |v: &Value| {
            v.pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let group = m.group().to_string();
        let version = m
            .resource
            .api_version
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        let resource = set
            .plurals
            .get(&(group.clone(), m.resource.kind.clone()))
            .cloned()
            .unwrap_or_else(|| plural(&m.resource.kind));
        let operation = if update { "UPDATE" } else { "CREATE" };
        let request = json!({
            "operation": operation,
            "name": m.resource.name,
            "namespace": m.resource.namespace.clone().unwrap_or_default(),
            "kind": {"group": group, "version": version, "kind": m.resource.kind},
            "resource": {"group": group, "version": version, "resource": resource},
            // No `userInfo`: the requester is the GitOps agent's service account, which kgate
            // cannot know; an expression that reads it cannot be evaluated (a note), rather
            // than judged as an anonymous user (a policy exempting the agent would then deny).
            "dryRun": false,
        });
        Target {
            labels: labels_of(&m.json),
            old_labels: old.map(labels_of),
            namespace: m.resource.namespace.clone(),
            name: m.resource.name.clone(),
            group,
            version,
            resource,
            operation,
            namespaced,
            request,
        }
    }
}

/// The resource name of a built-in kind (`Deployment` → `deployments`, `Ingress` →
/// `ingresses`, `NetworkPolicy` → `networkpolicies`).
pub fn plural(kind: &str) -> String {
    let k = kind.to_lowercase();
    if k == "endpoints" {
        return k;
    }
    if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
        format!("{k}es")
    } else if let Some(stem) = k
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']))
    {
        format!("{stem}ies")
    } else {
        format!("{k}s")
    }
}

fn list_has(v: &Value, wanted: &str) -> bool {
    v.as_array().is_some_and(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .any(|x| x == "*" || x == wanted)
    })
}

/// Built-in resources served under more than one group: with `matchPolicy: Equivalent` a rule
/// naming one matches the others (the API server converts the object for the policy).
const EQUIVALENT_GROUPS: &[(&str, &[&str])] = &[
    ("deployments", &["apps", "extensions"]),
    ("daemonsets", &["apps", "extensions"]),
    ("replicasets", &["apps", "extensions"]),
    ("statefulsets", &["apps"]),
    ("ingresses", &["networking.k8s.io", "extensions"]),
    ("networkpolicies", &["networking.k8s.io", "extensions"]),
    ("podsecuritypolicies", &["policy", "extensions"]),
];

/// `matchPolicy: Equivalent` (the default): the rule also matches the same resource at
/// another version of its group, or in an equivalent group.
fn rule_matches_equivalent(rule: &Value, t: &Target) -> bool {
    if rule_matches(rule, t) {
        return true;
    }
    let groups: Vec<&str> = EQUIVALENT_GROUPS
        .iter()
        .find(|(r, gs)| *r == t.resource && gs.contains(&t.group.as_str()))
        .map(|(_, gs)| gs.to_vec())
        .unwrap_or_else(|| vec![t.group.as_str()]);
    let versions: Vec<&str> = rule["apiVersions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    groups.iter().any(|g| {
        list_has(&rule["apiGroups"], g) && versions.iter().any(|v| rule_matches_as(rule, t, g, v))
    })
}

fn rule_matches(rule: &Value, t: &Target) -> bool {
    rule_matches_as(rule, t, &t.group, &t.version)
}

/// [`rule_matches`] for the target's resource seen at `group`/`version`.
fn rule_matches_as(rule: &Value, t: &Target, group: &str, version: &str) -> bool {
    let resources_ok = rule["resources"].as_array().is_some_and(|a| {
        a.iter().filter_map(Value::as_str).any(|r| {
            let main = r.split('/').next().unwrap_or(r);
            // `pods/status` names a subresource: an object is never one.
            (main == "*" || main == t.resource)
                && (!r.contains('/') || r.ends_with("/*") && main == "*")
        })
    });
    let scope_ok = !matches!(
        (rule["scope"].as_str().unwrap_or("*"), t.namespaced),
        ("Cluster", Some(true)) | ("Namespaced", Some(false))
    );
    let names_ok = rule["resourceNames"]
        .as_array()
        .is_none_or(|a| a.is_empty() || a.iter().any(|n| n.as_str() == Some(&t.name)));
    list_has(&rule["apiGroups"], group)
        && list_has(&rule["apiVersions"], version)
        && list_has(&rule["operations"], t.operation)
        && resources_ok
        && scope_ok
        && names_ok
}

/// Whether `mr` (matchConstraints or matchResources) selects the target. `required_rules`:
/// a policy's constraints must name resource rules; a binding without them inherits.
fn matches(mr: &Value, t: &Target, set: &VapSet, required_rules: bool) -> bool {
    if !mr.is_object() {
        return !required_rules;
    }
    let rules = mr["resourceRules"].as_array().filter(|r| !r.is_empty());
    let equivalent = mr["matchPolicy"].as_str() != Some("Exact");
    let matches_rule = |r: &Value| {
        if equivalent {
            rule_matches_equivalent(r, t)
        } else {
            rule_matches(r, t)
        }
    };
    match rules {
        Some(rules) if !rules.iter().any(matches_rule) => return false,
        None if required_rules => return false,
        _ => {}
    }
    if mr["excludeResourceRules"]
        .as_array()
        .is_some_and(|rules| rules.iter().any(matches_rule))
    {
        return false;
    }
    if let Some(sel) = mr.get("objectSelector").filter(|s| s.is_object()) {
        // On an UPDATE the API server tries the old object's labels too: either selects.
        let selected = |l: &Map<String, Value>| selector_matches(sel, l) == Some(true);
        if !selected(&t.labels) && !t.old_labels.as_ref().is_some_and(selected) {
            return false;
        }
    }
    if let Some(sel) = mr.get("namespaceSelector").filter(|s| s.is_object()) {
        if !selector_is_empty(sel) {
            // A Namespace is matched by its own labels; a namespaced object by its
            // Namespace's, which must be among the checked objects to be known.
            let labels = if t.group.is_empty() && t.resource == "namespaces" {
                Some(t.labels.clone())
            } else {
                t.namespace
                    .as_ref()
                    .and_then(|n| set.namespaces.get(n))
                    .map(|ns| {
                        ns.pointer("/metadata/labels")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default()
                    })
            };
            match labels {
                Some(l) if selector_matches(sel, &l) != Some(true) => return false,
                // A namespaced (or unknown) object whose Namespace kgate does not have (or
                // that leaves its namespace to the agent) may or may not be selected: not
                // judged. Other cluster-scoped objects are never skipped by the selector.
                None if t.namespace.is_some() || t.namespaced != Some(false) => return false,
                _ => {}
            }
        }
    }
    true
}

/// Merge-request mode: the head's objects judged by the policies of the revision policies are
/// taken from (`policy_side`: the base's objects unless `--policies-from head`, plus the
/// `--policy` folders of that revision), an object the base has being an UPDATE of it.
/// Replaces the head run's own `vap/` findings.
pub fn mr_findings(
    head: &crate::pipeline::Outcome,
    base: &[Manifest],
    policy_side: &[Manifest],
    opts: &crate::pipeline::CheckOptions,
) -> Vec<Diagnostic> {
    let (folder_objects, _) = crate::gatekeeper::policy_objects(&head.files, &opts.policy);
    let set = VapSet::load(
        folder_objects.iter().chain(policy_side),
        policy_side,
        &head.manifests,
    );
    if set.is_empty() {
        return Vec::new();
    }
    let counterparts = crate::check::admission::base_counterparts(&head.manifests, base);
    head.manifests
        .iter()
        .zip(counterparts)
        .flat_map(|(m, old)| {
            let old = old.map(|o| &o.json);
            let namespaced = head
                .registry
                .is_namespaced(&m.resource.api_version, &m.resource.kind);
            set.evaluate(m, old, namespaced)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural("Deployment"), "deployments");
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural("Endpoints"), "endpoints");
        assert_eq!(plural("Gateway"), "gateways");
    }
}
