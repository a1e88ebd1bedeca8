//! The team's Rego rules over the plan of a merge request: modules of the policy folders whose
//! package is `plan` or under it (`package plan.main`), read from the revision that judges the
//! MR like every policy. `input` is the plan as `kgate diff --format json` prints it, plus
//! `changed_files` (the repository paths the MR touches) and `commits` (the number of commits
//! from the base to the head; null when unknown). conftest's conventions hold: `deny*` and
//! `violation*` rules are errors, `warn*` warnings, `exception` names rules to skip; each
//! finding is coded `plan-policy/<package below plan>.<rule>`.
//!
//! A result is a message, or an object with `msg` and optionally `resource` (`kind`, `name`,
//! `namespace`, `apiVersion`: an object of the plan) and `path` (its field, as the plan writes
//! it — `spec.template.spec.containers[name=app].image` — or a JSON pointer): the finding is
//! then placed on that field at the head (at the base for a deleted object). Other fields are
//! kept as the finding's details.

use std::collections::BTreeMap;

use regorus::Value;
use serde_json::Value as Json;

use super::{Object, Planned};
use crate::diagnostic::{Diagnostic, ResourceRef, Severity};
use crate::policy::{
    self, exception_name, exception_names, is_plan_package, plan_code, results, rule_severity,
    Loader, PolicySources,
};

/// The policy input: the plan, the changed files and the commit count.
pub fn input(plan: &super::Plan, changed_files: &[String], commits: Option<usize>) -> Json {
    let mut v = serde_json::to_value(plan).unwrap_or(Json::Null);
    if let Json::Object(map) = &mut v {
        map.insert("changed_files".into(), Json::from(changed_files.to_vec()));
        map.insert(
            "commits".into(),
            commits.map(Json::from).unwrap_or(Json::Null),
        );
    }
    v
}

/// One plan package: its enforced rules, whether it has `exception`, the file defining it.
struct Package {
    rules: Vec<(String, Severity)>,
    exception: bool,
    file: String,
}

/// Evaluates the plan packages of `sources` on `input`. Parse errors are the check stage's
/// (it loads the same modules); evaluation errors and timeouts are findings here.
pub fn evaluate(
    sources: &PolicySources,
    time_limit: Option<std::time::Duration>,
    input: &Json,
    planned: &Planned,
) -> Vec<Diagnostic> {
    let mut loader = Loader::new();
    for (display, text) in &sources.modules {
        loader.add(display, text, None);
    }
    for (display, text) in &sources.data {
        loader.add_data_text(display, text, None);
    }
    let mut packages: BTreeMap<String, Package> = BTreeMap::new();
    for m in loader
        .modules
        .iter()
        .filter(|m| is_plan_package(&m.package))
    {
        let p = packages.entry(m.package.clone()).or_insert(Package {
            rules: Vec::new(),
            exception: false,
            file: m.path.clone(),
        });
        for r in &m.rules {
            if r == "exception" {
                p.exception = true;
            } else if let Some(sev) = rule_severity(r) {
                if !p.rules.iter().any(|(n, _)| n == r) {
                    p.rules.push((r.clone(), sev));
                }
            }
        }
    }
    if packages.values().all(|p| p.rules.is_empty()) {
        return Vec::new();
    }
    let mut engine = loader.engine;
    policy::arm_timer(&mut engine, time_limit);
    engine.set_input(Value::from(input.clone()));
    let mut out = Vec::new();
    for (package, p) in &packages {
        let failed = |e: anyhow::Error, rule: &str| {
            if policy::is_time_limit(&e) {
                Diagnostic::error(
                    policy::TIMEOUT,
                    format!(
                        "plan policy rule `data.{package}.{rule}` ran longer than the policy time \
                         limit (--policy-timeout / `policy_timeout`)"
                    ),
                )
                .in_file(p.file.clone(), None)
            } else {
                policy::regorus_error(
                    policy::EVAL_ERROR,
                    &format!("{e:#}"),
                    &p.file,
                    None,
                    "plan policy failed",
                )
            }
        };
        let excepted = if p.exception {
            match engine.eval_rule(format!("data.{package}.exception")) {
                Ok(v) => exception_names(&v),
                Err(e) => {
                    out.push(failed(e, "exception"));
                    continue;
                }
            }
        } else {
            Default::default()
        };
        for (rule, severity) in &p.rules {
            let value = match engine.eval_rule(format!("data.{package}.{rule}")) {
                Ok(v) => v,
                Err(e) => {
                    out.push(failed(e, rule));
                    continue;
                }
            };
            for result in results(&value) {
                let mut d = finding(&plan_code(package, rule), *severity, rule, &result, planned);
                if excepted.contains(exception_name(rule)) {
                    d.suppressed = true;
                    d.suppressed_reason = Some(format!("exception in package {package}"));
                }
                out.push(d);
            }
        }
    }
    out
}

/// A rule result as a finding, placed on the object and field it names.
fn finding(
    code: &str,
    severity: Severity,
    rule: &str,
    result: &Value,
    planned: &Planned,
) -> Diagnostic {
    let json = serde_json::to_value(result).unwrap_or(Json::Null);
    let Json::Object(mut obj) = json else {
        let message = match json {
            Json::String(s) => s,
            Json::Bool(true) => format!("{rule} is true"),
            other => other.to_string(),
        };
        return Diagnostic::new(code, severity, message);
    };
    let message = match obj.remove("msg") {
        Some(Json::String(s)) => s,
        Some(other) => other.to_string(),
        None => format!("{rule} matched"),
    };
    let resource = obj.remove("resource");
    let path = obj.remove("path");
    let mut d = Diagnostic::new(code, severity, message);
    if !obj.is_empty() {
        d.details = Some(obj);
    }
    let Some((o, at_head)) = resource.as_ref().and_then(|r| find(planned, r)) else {
        return d;
    };
    let pointer = match &path {
        Some(Json::String(s)) if !s.starts_with('/') && !s.is_empty() => {
            super::diff::nearest_pointer(&o.json, s)
        }
        Some(p) => policy::path_to_pointer(p),
        None => None,
    };
    let (file, span) = o.origin.locate(pointer.as_deref().unwrap_or(""));
    d = d
        .in_file(file.path.clone(), Some(span))
        .with_resource(Some(o.resource.clone()));
    d.path = pointer;
    if !at_head {
        // A deleted object's place is in the base's file: no code frame from the head's.
        if let Some(s) = &mut d.span {
            s.start = usize::MAX;
            s.end = usize::MAX;
        }
        d.help = Some("the object is deleted: its place is in the base revision".into());
    }
    d
}

/// The object a result's `resource` names: at the head, else at the base.
fn find<'p>(planned: &'p Planned, r: &Json) -> Option<(&'p Object, bool)> {
    let text = |k: &str| r[k].as_str().unwrap_or_default();
    let wanted = |o: &Object| {
        let res: &ResourceRef = &o.resource;
        res.kind == text("kind")
            && res.name == text("name")
            && (text("namespace").is_empty() || res.namespace.as_deref() == Some(text("namespace")))
            && (text("apiVersion").is_empty() || res.api_version == text("apiVersion"))
    };
    let head = planned
        .units
        .iter()
        .flat_map(|u| u.after.values())
        .find(|o| wanted(o));
    match head {
        Some(o) => Some((o, true)),
        None => planned
            .units
            .iter()
            .flat_map(|u| u.before.values())
            .find(|o| wanted(o))
            .map(|o| (o, false)),
    }
}
