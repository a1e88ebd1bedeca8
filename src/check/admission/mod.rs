//! Admission semantics beyond the JSON schema: what the API server's validation code (and a
//! CRD's list types) refuses although the OpenAPI schema allows it. One file per rule family:
//! [`names`] (`admission/name`), [`lists`] (`admission/duplicate-key`), [`pods`] and
//! [`objects`] (`admission/invalid`), and in merge-request mode [`immutable`]
//! (`admission/immutable`) with CRD transition rules ([`changes`]). Every finding points at
//! the offending YAML node.

pub mod cron;
pub mod formats;
pub mod immutable;
pub mod lists;
pub mod names;
pub mod objects;
pub mod pods;
pub mod quantity;

use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::Manifest;
use crate::schema::registry::{Lookup, Registry};

/// The findings of one object under construction.
pub struct Ctx<'a> {
    pub m: &'a Manifest,
    pub diags: Vec<Diagnostic>,
    /// Whether the kind lives in a namespace (None: unknown).
    pub namespaced: Option<bool>,
}

impl<'a> Ctx<'a> {
    pub fn new(m: &'a Manifest) -> Ctx<'a> {
        Ctx {
            m,
            diags: Vec::new(),
            namespaced: None,
        }
    }

    /// A finding at the value of `pointer` (or its nearest existing parent).
    pub fn at(&mut self, code: &str, severity: Severity, message: String, pointer: &str) {
        let d = self
            .m
            .diagnostic(code, severity, message, Some(pointer.to_string()));
        self.diags.push(d);
    }

    /// A finding at the key of `pointer` (a label key, a map field), else at its value.
    pub fn at_key(&mut self, code: &str, severity: Severity, message: String, pointer: &str) {
        let mut d = self
            .m
            .diagnostic(code, severity, message, Some(pointer.to_string()));
        if let Some(span) = self.m.node.key_span_at_pointer(pointer) {
            d.span = Some(span);
        }
        self.diags.push(d);
    }
}

/// Whether kgate knows the kind (built in, or from a CRD): only then are its names and
/// fields judged as the API server would (an unknown kind may be served by an aggregated API
/// with rules of its own).
fn known_kind(
    m: &Manifest,
    registry: &Registry,
) -> Option<Option<std::sync::Arc<crate::schema::registry::Compiled>>> {
    match registry
        .lookup(&m.resource.api_version, &m.resource.kind)
        .get()
    {
        Some(Lookup::Found(c)) => Some(Some(c.clone())),
        Some(Lookup::Unconstrained) => Some(None),
        _ => None,
    }
}

/// Every admission finding of one object.
pub fn check(m: &Manifest, registry: &Registry) -> Vec<Diagnostic> {
    let Some(schema) = known_kind(m, registry) else {
        return Vec::new();
    };
    let mut cx = Ctx::new(m);
    cx.namespaced = registry.is_namespaced(&m.resource.api_version, &m.resource.kind);
    names::check(&mut cx);
    pods::check(&mut cx);
    objects::check(&mut cx);
    lists::check(&mut cx, schema.as_deref());
    if let Some(compiled) = schema.as_deref().filter(|c| has_cel_rules(m, c)) {
        cx.diags
            .extend(crate::check::cel::check(m, rule_schema(compiled)));
    }
    cx.diags
}

/// The schema CEL rules and list types are read from: the CRD's `openAPIV3Schema` as written
/// (repository, `--crd` or catalog CRDs), else the compiled one.
pub fn rule_schema(compiled: &crate::schema::registry::Compiled) -> &serde_json::Value {
    compiled.structural.as_deref().unwrap_or(&compiled.schema)
}

/// Whether the kind's schema is a custom resource's with CEL rules (built-in kinds are
/// validated in code, not by CEL).
pub fn has_cel_rules(m: &Manifest, compiled: &crate::schema::registry::Compiled) -> bool {
    !crate::schema::removed::BUILTIN_GROUPS.contains(&m.group())
        && crate::check::cel::has_rules(rule_schema(compiled))
}

type Identity = (String, String, String, String);

fn identity(m: &Manifest) -> Identity {
    (
        m.group().to_string(),
        m.resource.kind.clone(),
        m.resource.namespace.clone().unwrap_or_default(),
        m.resource.name.clone(),
    )
}

/// Whether a transition rule only says "this value never changes": `self == oldSelf`, or the
/// same field on both sides (`self.bucket == oldSelf.bucket`).
fn is_immutability_rule(rule: &str) -> bool {
    let compact: String = rule.chars().filter(|c| !c.is_whitespace()).collect();
    let Some((a, b)) = compact.split_once("==") else {
        return false;
    };
    let (new, old) = if a.starts_with("oldSelf") {
        (b, a)
    } else {
        (a, b)
    };
    match (new.strip_prefix("self"), old.strip_prefix("oldSelf")) {
        (Some(x), Some(y)) => x == y && !x.contains(['=', '&', '|', '!', '(']),
        _ => false,
    }
}

/// The unit an object belongs to: the kustomization roots or Flux Kustomizations it was
/// rendered for, else its file (a loose manifest is its own unit).
fn unit_of(m: &Manifest) -> String {
    match m.rendered_for.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None => format!("file:{}", m.file.path),
    }
}

/// The base revision's counterpart of each head object: the object of the same identity in
/// the same unit, else the only object of that identity when each side has exactly one (a
/// file moved, an overlay added). Repositories often hold the same identity in several
/// units (examples, one folder per cluster): pairing across units would compare unrelated
/// objects, so an ambiguous identity has no counterpart.
pub fn base_counterparts<'b>(head: &[Manifest], base: &'b [Manifest]) -> Vec<Option<&'b Manifest>> {
    use std::collections::HashMap;
    let mut exact: HashMap<(Identity, String), Vec<&Manifest>> = HashMap::new();
    let mut by_id: HashMap<Identity, Vec<&Manifest>> = HashMap::new();
    for m in base {
        exact.entry((identity(m), unit_of(m))).or_default().push(m);
        by_id.entry(identity(m)).or_default().push(m);
    }
    let mut head_count: HashMap<Identity, usize> = HashMap::new();
    for m in head {
        *head_count.entry(identity(m)).or_default() += 1;
    }
    head.iter()
        .map(|m| {
            let id = identity(m);
            match exact.get(&(id.clone(), unit_of(m))) {
                Some(same_unit) => (same_unit.len() == 1).then(|| same_unit[0]),
                None => by_id
                    .get(&id)
                    .filter(|v| v.len() == 1 && head_count.get(&id) == Some(&1))
                    .map(|v| v[0]),
            }
        })
        .collect()
}

/// Merge-request findings: changes from the base revision's objects (`base`) to the head's
/// (`head`) that the API server refuses on update (`admission/immutable`), CRD transition
/// rules evaluated with the base object as `oldSelf` (`admission/cel`; a `self == oldSelf`
/// rule is `admission/immutable`), and objects moved to another namespace.
pub fn changes(head: &[Manifest], base: &[Manifest], registry: &Registry) -> Vec<Diagnostic> {
    let counterparts = base_counterparts(head, base);
    let base_ids: std::collections::HashSet<Identity> = base.iter().map(identity).collect();
    let mut by_name: std::collections::HashMap<(String, String, String), Vec<&Manifest>> =
        Default::default();
    for m in base {
        let (g, k, _, n) = identity(m);
        by_name.entry((g, k, n)).or_default().push(m);
    }
    let head_ids: std::collections::HashSet<Identity> = head.iter().map(identity).collect();
    let mut out = Vec::new();
    for (m, old) in head.iter().zip(counterparts) {
        let id = identity(m);
        let Some(old) = old else {
            if base_ids.contains(&id) {
                // The identity is in the base, in another unit or several times: ambiguous.
                continue;
            }
            // Created by the merge request: transition rules with `optionalOldSelf` run.
            if let Some(Some(compiled)) = known_kind(m, registry) {
                if has_cel_rules(m, &compiled) {
                    out.extend(crate::check::cel::check_transitions(
                        m,
                        rule_schema(&compiled),
                        None,
                    ));
                }
            }
            // A namespaced object whose only base counterpart sits in another namespace (and is
            // gone from there at the head) was moved.
            if id.2.is_empty() {
                continue;
            }
            let moved_from = by_name
                .get(&(id.0.clone(), id.1.clone(), id.3.clone()))
                .into_iter()
                .flatten()
                .find(|o| {
                    !o.resource.namespace.clone().unwrap_or_default().is_empty()
                        && !head_ids.contains(&identity(o))
                });
            if let Some(o) = moved_from {
                let from = o.resource.namespace.clone().unwrap_or_default();
                let mut d = m.diagnostic(
                    IMMUTABLE,
                    Severity::Warning,
                    format!(
                        "{} {} moves from namespace \"{from}\" to \"{}\": a namespace cannot \
                         change, so this is a delete plus a create",
                        m.resource.kind, m.resource.name, id.2
                    ),
                    Some("/metadata/namespace".to_string()),
                );
                d.help = Some(
                    "the agent creates a new object in the new namespace and (when it prunes) \
                     deletes the old one; what the old object held in the cluster (a claim's \
                     volume, generated data, status) does not follow"
                        .into(),
                );
                out.push(d);
            }
            continue;
        };
        if old.json == m.json || immutable::never_updated(&m.json) {
            continue;
        }
        let (recreated, agent) = immutable::agent_outcome(&m.json);
        let severity = if recreated {
            Severity::Warning
        } else {
            Severity::Error
        };
        for v in immutable::violations(&id.0, &id.1, &old.json, &m.json) {
            let mut d = m.diagnostic(IMMUTABLE, severity, v.message, Some(v.path));
            d.help = Some(agent.clone());
            out.push(d);
        }
        if let Some(Some(compiled)) = known_kind(m, registry) {
            if has_cel_rules(m, &compiled) {
                for mut d in
                    crate::check::cel::check_transitions(m, rule_schema(&compiled), Some(&old.json))
                {
                    let rule = d
                        .details
                        .as_ref()
                        .and_then(|x| x.get("rule"))
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("");
                    if d.severity == Severity::Error && is_immutability_rule(rule) {
                        d.code = IMMUTABLE.into();
                        d.severity = severity;
                        d.help = Some(agent.clone());
                    }
                    out.push(d);
                }
            }
        }
    }
    out
}

pub const IMMUTABLE: &str = "admission/immutable";

/// Gives merge-request findings made after the run the treatment every finding gets:
/// exception annotations on their object, attribution to the file the field comes from, the
/// config's exceptions, secret scrubbing.
pub fn finish(
    diags: &mut Vec<Diagnostic>,
    outcome: &crate::pipeline::Outcome,
    opts: &crate::pipeline::CheckOptions,
) {
    for d in diags.iter_mut() {
        if let Some(m) = outcome
            .manifests
            .iter()
            .find(|m| d.resource.as_ref() == Some(&m.resource) && d.file == m.file.path)
        {
            // Problems with the annotation itself are reported by the run already.
            let _ =
                crate::exceptions::apply_annotation(m, std::slice::from_mut(d), &opts.exceptions);
        }
    }
    // A changed field the render took from another file (a kustomization's labels, a
    // patch) is reported in that file, as the run's own findings are.
    *diags = crate::render::integrate::attribute_and_merge(&outcome.files, std::mem::take(diags));
    crate::exceptions::Exceptions::new(&opts.exceptions).apply(diags);
    outcome.scrubber.scrub_all(diags);
}

#[cfg(test)]
mod tests {
    #[test]
    fn immutability_rules() {
        for r in [
            "self == oldSelf",
            "oldSelf == self",
            "self.bucket == oldSelf.bucket",
        ] {
            assert!(super::is_immutability_rule(r), "{r}");
        }
        for r in [
            "self.a == oldSelf.b",
            "self.x >= oldSelf.x",
            "self == oldSelf || true",
        ] {
            assert!(!super::is_immutability_rule(r), "{r}");
        }
    }
}
