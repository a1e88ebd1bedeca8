//! `kgate verify`: runs the `test_*` rules of `*_test.rego` files, as `conftest verify` and
//! `opa test` do. A test passes when its rule evaluates to true; undefined, false or an
//! evaluation error fail it. Files that do not parse make the run fail (exit 2).

use std::fmt::Write;
use std::path::Path;

use super::{builtin, is_test_file, regorus_error, Loader, PARSE_ERROR};
use crate::diagnostic::Diagnostic;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// Evaluation failed; the message says why.
    Error(String),
    /// A gator Suite case got other violations than it expects; the message says which.
    Mismatch(String),
    /// A gator Suite test or case marked `skip: true`: listed, not run, neither pass nor fail.
    Skip,
}

#[derive(Debug, Clone)]
pub struct TestResult {
    pub name: String,
    pub package: String,
    pub file: String,
    pub outcome: Outcome,
}

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub results: Vec<TestResult>,
    /// Files that could not be parsed or read, data that could not be merged.
    pub problems: Vec<Diagnostic>,
}

impl VerifyReport {
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Pass)
            .count()
    }

    pub fn skipped(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Skip)
            .count()
    }

    pub fn failed(&self) -> usize {
        self.results.len() - self.passed() - self.skipped()
    }

    /// 0 all passed, 1 a test failed, 2 a file could not be used.
    pub fn exit_code(&self) -> u8 {
        if !self.problems.is_empty() {
            crate::EXIT_FAILURE
        } else if self.failed() > 0 {
            crate::EXIT_FINDINGS
        } else {
            crate::EXIT_PASS
        }
    }

    /// One line per test, then problems, then a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let _ = match &r.outcome {
                Outcome::Pass => writeln!(out, "PASS {}.{} ({})", r.package, r.name, r.file),
                Outcome::Fail => writeln!(out, "FAIL {}.{} ({})", r.package, r.name, r.file),
                Outcome::Skip => writeln!(out, "SKIP {}.{} ({})", r.package, r.name, r.file),
                Outcome::Mismatch(why) => {
                    writeln!(out, "FAIL {}.{} ({}): {why}", r.package, r.name, r.file)
                }
                Outcome::Error(e) => writeln!(
                    out,
                    "FAIL {}.{} ({}): error: {e}",
                    r.package, r.name, r.file
                ),
            };
        }
        for p in &self.problems {
            let at = p
                .span
                .map(|s| format!(":{}:{}", s.line, s.col))
                .unwrap_or_default();
            let _ = writeln!(out, "ERROR {}{at}: {} [{}]", p.file, p.message, p.code);
        }
        let _ = writeln!(
            out,
            "{} tests, {} passed, {} failed{}{}",
            self.results.len(),
            self.passed(),
            self.failed(),
            match self.skipped() {
                0 => String::new(),
                n => format!(", {n} skipped"),
            },
            if self.problems.is_empty() {
                String::new()
            } else {
                let files: std::collections::BTreeSet<&str> =
                    self.problems.iter().map(|p| p.file.as_str()).collect();
                format!(
                    ", {} {} could not be used ({} {})",
                    files.len(),
                    if files.len() == 1 { "file" } else { "files" },
                    self.problems.len(),
                    if self.problems.len() == 1 {
                        "problem"
                    } else {
                        "problems"
                    },
                )
            }
        );
        out
    }
}

/// Runs the tests found among `sources` (display path, text); every source is loaded so tests
/// can reach the policies they test.
pub fn run_sources(sources: &[(String, String)], data: &[String]) -> VerifyReport {
    let mut loader = Loader::new();
    for (path, text) in sources {
        loader.add(path, text, None);
    }
    loader.add_data_paths(data, None);
    run_loaded(loader)
}

fn run_loaded(loader: Loader) -> VerifyReport {
    let Loader {
        mut engine,
        modules,
        diagnostics,
    } = loader;
    let mut report = VerifyReport {
        problems: diagnostics,
        ..VerifyReport::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for m in modules.iter().filter(|m| is_test_file(&m.path)) {
        for rule in m.rules.iter().filter(|r| r.starts_with("test_")) {
            if !seen.insert((m.package.clone(), rule.clone())) {
                continue;
            }
            engine.set_input(regorus::Value::Undefined);
            let outcome = match engine.eval_rule(format!("data.{}.{}", m.package, rule)) {
                Ok(regorus::Value::Bool(true)) => Outcome::Pass,
                Ok(_) => Outcome::Fail,
                Err(e) => {
                    let d = regorus_error(
                        super::EVAL_ERROR,
                        &format!("{e:#}"),
                        &m.path,
                        None,
                        "test failed",
                    );
                    let at = d
                        .span
                        .map(|s| format!(" at {}:{}", s.line, s.col))
                        .unwrap_or_default();
                    Outcome::Error(format!("{}{at}", d.message))
                }
            };
            report.results.push(TestResult {
                name: rule.clone(),
                package: m.package.clone(),
                file: m.path.clone(),
                outcome,
            });
        }
    }
    report
}

/// Test results and problems of other kinds of tests found in the same folders (gator suites).
pub type MoreTests<'a> = &'a dyn Fn(&[String]) -> (Vec<TestResult>, Vec<Diagnostic>);

/// Runs the tests of the given folders (all `.rego` files are loaded, tests and policies), and
/// the tests `more` finds there (the caller passes Gatekeeper's suites: policy does not depend
/// on Gatekeeper, which builds on it).
pub fn run_dirs(dirs: &[String], data: &[String], more: MoreTests) -> VerifyReport {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for dir in dirs {
        if !Path::new(dir).exists() {
            problems.push(
                Diagnostic::error(PARSE_ERROR, "no such policy folder").in_file(dir.clone(), None),
            );
            continue;
        }
        let walked = crate::policy::walk_checked(Path::new(dir), &["rego"]);
        for (p, e) in &walked.problems {
            problems.push(
                Diagnostic::error(PARSE_ERROR, format!("cannot read: {e}"))
                    .in_file(p.to_string_lossy().to_string(), None),
            );
        }
        for f in walked.files {
            let display = f.to_string_lossy().to_string();
            match crate::policy::read_policy_file(&f) {
                Ok(text) => sources.push((display, text)),
                Err(e) => problems.push(
                    Diagnostic::error(PARSE_ERROR, format!("cannot read: {e}"))
                        .in_file(display, None),
                ),
            }
        }
    }
    let mut report = run_sources(&sources, data);
    // gator `Suite` files among the folders run as tests too.
    let (suite_results, suite_problems) = more(dirs);
    report.results.extend(suite_results);
    problems.extend(suite_problems);
    problems.append(&mut report.problems);
    // Suites sharing a template (or a folder both loaded as policies and by a suite) find the
    // same problem more than once; each is reported once, in first-seen order.
    let mut seen = std::collections::BTreeSet::new();
    problems.retain(|p| {
        seen.insert((
            p.file.clone(),
            p.span.map(|s| (s.line, s.col)),
            p.code.clone(),
            p.message.clone(),
        ))
    });
    report.problems = problems;
    report
}

/// Runs the built-in pack's own tests.
pub fn run_builtin() -> VerifyReport {
    let sources: Vec<(String, String)> = builtin::POLICIES
        .iter()
        .chain(builtin::TESTS)
        .map(|s| (s.path.to_string(), s.text.to_string()))
        .collect();
    run_sources(&sources, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_tests_all_pass() {
        let report = run_builtin();
        assert!(report.problems.is_empty(), "{}", report.render());
        // Every built-in policy has tests, and there are passing and failing cases for each.
        assert!(report.results.len() >= 40, "{}", report.render());
        for rule in builtin::rules() {
            assert!(
                report.results.iter().any(|r| {
                    let tested = r.package.strip_suffix("_test").unwrap_or(&r.package);
                    builtin::code_for_package(tested).as_deref() == Some(rule.code.as_str())
                }),
                "no tests for {}",
                rule.code
            );
        }
        let failing: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.outcome != Outcome::Pass)
            .collect();
        assert!(failing.is_empty(), "{}", report.render());
        assert_eq!(report.exit_code(), crate::EXIT_PASS);
    }

    #[test]
    fn a_failing_test_is_reported_as_failing() {
        let mut sources: Vec<(String, String)> = builtin::POLICIES
            .iter()
            .map(|s| (s.path.to_string(), s.text.to_string()))
            .collect();
        // Claims `latest` is accepted: must fail.
        sources.push((
            "wrong_test.rego".into(),
            "package kgate.image_tag_commit_wrong_test\n\nimport data.kgate.image_tag_commit\n\n\
             test_latest_accepted if {\n\tcount(image_tag_commit.deny) == 0 with input as \
             {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": {\"containers\": [{\"name\": \"a\", \"image\": \"nginx:latest\"}]}}\n}\n\n\
             test_trivial if { true }\n"
                .into(),
        ));
        let report = run_sources(&sources, &[]);
        assert!(report.problems.is_empty(), "{}", report.render());
        let text = report.render();
        assert!(
            text.contains(
                "FAIL kgate.image_tag_commit_wrong_test.test_latest_accepted (wrong_test.rego)"
            ),
            "{text}"
        );
        assert!(
            text.contains("PASS kgate.image_tag_commit_wrong_test.test_trivial"),
            "{text}"
        );
        assert!(text.ends_with("2 tests, 1 passed, 1 failed\n"), "{text}");
        assert_eq!(report.exit_code(), crate::EXIT_FINDINGS);
    }
}
