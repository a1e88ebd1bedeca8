//! gator-compatible test suites (`test.gatekeeper.sh/v1alpha1` `Suite`): each case evaluates
//! an object against a template and constraint and checks the violations it expects.

use std::path::Path;

use serde_json::Value as Json;

use super::GatekeeperSet;
use crate::check_error::CheckError;
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;
use crate::policy::verify::{Outcome, TestResult};
use crate::source::Files;

pub const SUITE_ERROR: &str = "gatekeeper/bad-suite";

/// Whether a parsed YAML document is a gator Suite.
fn is_suite(m: &Manifest) -> bool {
    m.resource.kind == "Suite" && m.group() == "test.gatekeeper.sh"
}

/// The objects of a YAML file (relative to the suite's folder); problems become findings.
fn load_objects(files: &Files, base: &Path, rel: &str) -> Result<Vec<Manifest>, Diagnostic> {
    let path = base.join(rel);
    let display = path.to_string_lossy().to_string();
    // A suite names its files relative to its folder: they are read inside the suite's
    // repository only.
    let bytes = crate::read_guard::ReadRoot::for_path(base)
        .read(&path, crate::policy::MAX_POLICY_FILE)
        .map_err(|e| {
            Diagnostic::error(SUITE_ERROR, format!("cannot read {rel}: {e}"))
                .in_file(display.clone(), None)
        })?;
    let loaded = crate::gather::load_bytes(files, &display, Ok(bytes), &Default::default());
    if let Some(d) = loaded.diagnostics.into_iter().next() {
        return Err(d);
    }
    Ok(loaded.manifests)
}

/// Runs every Suite among the YAML files under `dirs`.
pub fn run_dirs(dirs: &[String]) -> (Vec<TestResult>, Vec<Diagnostic>) {
    let mut results = Vec::new();
    let mut problems = Vec::new();
    let files = Files::new();
    for dir in dirs {
        for f in crate::policy::walk(Path::new(dir), &["yaml", "yml"]) {
            let Ok(objects) = load_objects(&files, Path::new(""), &f.to_string_lossy()) else {
                // Not every YAML file next to policies is ours to judge.
                continue;
            };
            for suite in objects.iter().filter(|m| is_suite(m)) {
                run_suite(&files, suite, &mut results, &mut problems);
            }
        }
    }
    (results, problems)
}

fn run_suite(
    files: &Files,
    suite: &Manifest,
    results: &mut Vec<TestResult>,
    problems: &mut Vec<Diagnostic>,
) {
    let base = Path::new(&suite.file.path)
        .parent()
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let tests = suite
        .json
        .get("tests")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    for (ti, test) in tests.iter().enumerate() {
        let tname = test
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or("unnamed")
            .to_string();
        let cases = test
            .get("cases")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        // gator's `skip: true` on a test skips all its cases, without reading its files.
        if skipped(test) {
            for case in &cases {
                results.push(TestResult {
                    name: case_name(case),
                    package: tname.clone(),
                    file: suite.file.path.clone(),
                    outcome: Outcome::Skip,
                });
            }
            continue;
        }
        let mut policy_objects = Vec::new();
        let mut ok = true;
        for field in ["template", "constraint"] {
            match test.get(field).and_then(Json::as_str) {
                Some(rel) => match load_objects(files, &base, rel) {
                    Ok(objs) => policy_objects.extend(objs),
                    Err(d) => {
                        problems.push(d);
                        ok = false;
                    }
                },
                None => {
                    problems.push(
                        Diagnostic::error(SUITE_ERROR, format!("test `{tname}` has no {field}"))
                            .in_file(
                                suite.file.path.clone(),
                                Some(suite.span_at(&format!("/tests/{ti}"))),
                            ),
                    );
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        // The template and constraint are compiled once per test, so a template that does not
        // compile is reported once, not once per case; its cases fail, as gator's would.
        let (set, diags) = GatekeeperSet::load(&policy_objects, &|_, _| None);
        let unusable = !diags.is_empty();
        problems.extend(diags);
        for case in &cases {
            let cname = case_name(case);
            let outcome = if skipped(case) {
                Some(Outcome::Skip)
            } else if unusable {
                Some(Outcome::Error(
                    "the test's template or constraint cannot be used (see ERROR)".into(),
                ))
            } else {
                run_case(files, &base, &policy_objects, &set, case, problems)
            };
            let Some(outcome) = outcome else { continue };
            results.push(TestResult {
                name: cname,
                package: tname.clone(),
                file: suite.file.path.clone(),
                outcome,
            });
        }
    }
}

/// gator's `skip: true` on a test or a case.
fn skipped(entry: &Json) -> bool {
    entry.get("skip").and_then(Json::as_bool) == Some(true)
}

fn case_name(case: &Json) -> String {
    case.get("name")
        .and_then(Json::as_str)
        .unwrap_or("unnamed")
        .to_string()
}

/// A case object that is an `admission.k8s.io` AdmissionReview stands for its request, as in
/// gator: the object reviewed is `request.object` (for a DELETE, `request.oldObject`, which
/// Gatekeeper's webhook also passes as the object), and every field of the request
/// (operation, oldObject, userInfo, …) is part of `input.review`.
fn admission_review(m: &Manifest) -> Result<Option<(Manifest, Json)>, CheckError> {
    if m.resource.kind != "AdmissionReview" || m.group() != "admission.k8s.io" {
        return Ok(None);
    }
    let request = m
        .node
        .get("request")
        .filter(|r| r.as_map().is_some())
        .ok_or(CheckError::ReviewWithoutRequest)?;
    let object = ["object", "oldObject"]
        .iter()
        .filter_map(|k| request.get(k))
        .find(|o| o.as_map().is_some())
        .ok_or(CheckError::ReviewWithoutObject)?;
    let reviewed = Manifest::from_node(object.clone(), m.file.clone());
    let mut review = super::review_for(&reviewed);
    if let (Some(review), Json::Object(fields)) = (review.as_object_mut(), request.to_json()) {
        review.extend(fields);
        review.insert("object".into(), reviewed.json.clone());
    }
    Ok(Some((reviewed, review)))
}

/// One case: `None` when its files cannot be used (a problem was recorded).
fn run_case(
    files: &Files,
    base: &Path,
    policy_objects: &[Manifest],
    test_set: &GatekeeperSet,
    case: &Json,
    problems: &mut Vec<Diagnostic>,
) -> Option<Outcome> {
    let rel = case.get("object").and_then(Json::as_str)?;
    let object = match load_objects(files, base, rel) {
        Ok(mut o) if !o.is_empty() => o.remove(0),
        Ok(_) => {
            problems.push(
                Diagnostic::error(SUITE_ERROR, format!("{rel} holds no object"))
                    .in_file(base.join(rel).to_string_lossy().to_string(), None),
            );
            return None;
        }
        Err(d) => {
            problems.push(d);
            return None;
        }
    };
    let inventory: Vec<&str> = case
        .get("inventory")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    // `data.inventory` is part of a compiled template, so a case with its own inventory
    // compiles the test's template again with those objects.
    let with_inventory;
    let set = if inventory.is_empty() {
        test_set
    } else {
        let mut objects = policy_objects.to_vec();
        for inv in inventory {
            match load_objects(files, base, inv) {
                Ok(o) => objects.extend(o),
                Err(d) => {
                    problems.push(d);
                    return None;
                }
            }
        }
        let (loaded, diags) = GatekeeperSet::load(&objects, &|_, _| None);
        if !diags.is_empty() {
            problems.extend(diags);
            return None;
        }
        with_inventory = loaded;
        &with_inventory
    };
    let (object, review) = match admission_review(&object) {
        Ok(Some(r)) => r,
        Ok(None) => {
            let review = super::review_for(&object);
            (object, review)
        }
        Err(e) => return Some(Outcome::Error(e.to_string())),
    };
    let mut engines = set.engines();
    let found = set.evaluate_review(&mut engines, &object, &review);
    if let Some(d) = found
        .iter()
        .find(|d| crate::rules::is_tool_failure(&d.code))
    {
        return Some(Outcome::Error(d.message.clone()));
    }
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    let mut failures = Vec::new();
    for a in case
        .get("assertions")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let pattern = a.get("message").and_then(Json::as_str);
        let re = match pattern.map(regex::Regex::new).transpose() {
            Ok(r) => r,
            Err(e) => return Some(Outcome::Error(format!("bad message regex: {e}"))),
        };
        let count = messages
            .iter()
            .filter(|m| re.as_ref().is_none_or(|r| r.is_match(m)))
            .count();
        let (ok, want) = match a.get("violations") {
            None => (count > 0, "yes".to_string()),
            Some(Json::String(s)) if s == "yes" => (count > 0, "yes".into()),
            Some(Json::String(s)) if s == "no" => (count == 0, "no".into()),
            // YAML 1.1 readers (gator's among them) see an unquoted yes/no as a boolean.
            Some(Json::Bool(true)) => (count > 0, "yes".into()),
            Some(Json::Bool(false)) => (count == 0, "no".into()),
            Some(Json::Number(n)) => (n.as_u64() == Some(count as u64), n.to_string()),
            Some(other) => {
                return Some(Outcome::Error(format!(
                    "violations must be \"yes\", \"no\" or a number, not {other}"
                )))
            }
        };
        if !ok {
            let filter = pattern
                .map(|p| format!(" matching /{p}/"))
                .unwrap_or_default();
            failures.push(format!(
                "expected violations{filter}: {want}, got {count} {messages:?}"
            ));
        }
    }
    Some(if failures.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Mismatch(failures.join("; "))
    })
}
