//! The report formats, run through the real binary on `tests/formats/repo`: SARIF against the
//! official 2.1.0 schema, JUnit parsed as XML, GitHub workflow commands, GitLab Code Quality,
//! Markdown; several formats in one run; hostile file names; secrets never printed.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

const SECRET: &str = "hunter2-s3cret-value";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/formats/repo")
}

/// Runs kgate in `dir`. `check` runs leave the built-in policy pack out: these tests are about
/// the shape of each format, and the pack has its own tests (`tests/policy_cli.rs`).
fn kgate(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kgate"));
    cmd.current_dir(dir)
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .args(args);
    if args.first() == Some(&"check") {
        cmd.arg("--no-builtin-policies");
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif-schema-2.1.0.json"),
    )
    .unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    // The published schema's `run.language` pattern has a stray `]` (an erratum of the schema),
    // which the ECMA-262 regex check of `jsonschema` rejects when it compiles the schema. The
    // vendored file stays byte-identical to its source; the one pattern is corrected here to
    // what it means (a two-letter language, optionally with a region).
    for def in ["run", "toolComponent"] {
        let language = schema
            .pointer_mut(&format!("/definitions/{def}/properties/language/pattern"))
            .unwrap();
        assert_eq!(language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    }
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid_sarif(doc: &Value) {
    let v = sarif_validator();
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
}

#[test]
fn sarif_is_valid_and_points_at_findings() {
    let o = kgate(&repo(), &["check", ".", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_valid_sarif(&doc);
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "schema/missing",
            "schema/unknown-field",
            "schema/wrong-type",
            "yaml/duplicate-key",
            "yaml/syntax"
        ]
    );
    assert_eq!(rules[0]["defaultConfiguration"]["level"], "warning");
    assert!(rules[1]["fullDescription"]["text"]
        .as_str()
        .unwrap()
        .contains("kubectl apply"));
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    let unknown = results
        .iter()
        .find(|r| r["ruleId"] == "schema/unknown-field")
        .unwrap();
    assert_eq!(unknown["level"], "error");
    assert_eq!(
        ids[unknown["ruleIndex"].as_u64().unwrap() as usize],
        "schema/unknown-field"
    );
    let loc = &unknown["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "apps/web/deployment.yaml");
    assert_eq!(loc["region"]["startLine"], 17);
    assert_eq!(loc["region"]["startColumn"], 11);
    assert_eq!(loc["region"]["endLine"], 17);
    assert_eq!(loc["region"]["endColumn"], 27);
    let fp = unknown["partialFingerprints"]["kgateFindingHash/v1"]
        .as_str()
        .unwrap();
    assert_eq!(fp.len(), 64);
    // Same input, same fingerprints.
    let again: Value = serde_json::from_str(&stdout(&kgate(
        &repo(),
        &["check", ".", "--format", "sarif"],
    )))
    .unwrap();
    assert_eq!(again["runs"][0]["results"], run["results"]);
}

#[test]
fn sarif_marks_suppressed_and_pre_existing_findings() {
    use kgate::diagnostic::{Diagnostic, ResourceRef};
    use kgate::report::{Report, Summary};
    let mut suppressed =
        Diagnostic::error("schema/unknown-field", "unknown field `x`").in_file("a.yaml", None);
    suppressed.suppressed = true;
    suppressed.suppressed_reason = Some("vendored chart".into());
    let mut old = Diagnostic::warning("policy/latest-tag", "image uses :latest")
        .in_file("b.yaml", None)
        .with_resource(Some(ResourceRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: None,
            name: "p".into(),
        }));
    old.pre_existing = true;
    let diags = vec![suppressed, old];
    let mut summary = Summary::default();
    summary.count_findings(&diags);
    let files = kgate::source::Files::new();
    let masks = Default::default();
    let report = Report {
        diagnostics: &diags,
        summary: &summary,
        files: &files,
        masks: &masks,
        skipped: &[],
        verbose: false,
        color: false,
        kubernetes_version: "1.37",
        resources: &[],
        fail_level: Some(kgate::diagnostic::Severity::Error),
        shard: None,
        quiet: false,
    };
    let doc: Value = serde_json::from_str(&kgate::report::sarif::render(&report)).unwrap();
    assert_valid_sarif(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results[0]["suppressions"][0]["kind"], "external");
    assert_eq!(
        results[0]["suppressions"][0]["justification"],
        "vendored chart"
    );
    assert_eq!(results[1]["baselineState"], "unchanged");
    assert!(results[1].get("suppressions").is_none());
    // A code outside the registry still gets a rule.
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.iter().any(|r| r["id"] == "policy/latest-tag"));
    // GitLab leaves the accepted finding out; GitHub shows neither without --verbose.
    let gl: Value = serde_json::from_str(&kgate::report::gitlab::render(&report)).unwrap();
    assert_eq!(gl.as_array().unwrap().len(), 1);
    assert_eq!(
        kgate::report::github::render(&report)
            .lines()
            .filter(|l| l.starts_with("::"))
            .count(),
        0
    );
    let md = kgate::report::markdown::render_with(&report, Some("### Plan\n\n1 object created"));
    assert!(md.contains("1 suppressed by exceptions"));
    assert!(md.contains("1 pre-existing"));
    assert!(md.trim_end().ends_with("1 object created"));
}

#[test]
fn junit_has_a_suite_per_file_and_a_case_per_object() {
    let o = kgate(&repo(), &["check", ".", "--format", "junit"]);
    assert_eq!(o.status.code(), Some(1));
    let xml = stdout(&o);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<&str> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "apps/db/broken.yaml",
            "apps/db/secret.yaml",
            "apps/web/deployment.yaml",
            "clusters/prod/ok.yaml",
            "clusters/prod/widget.yaml",
            "crds/widgets.yaml"
        ]
    );
    let deploy = suites[2];
    let cases: Vec<_> = deploy
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].attribute("name"), Some("Deployment prod/web"));
    assert_eq!(
        cases[0].attribute("classname"),
        Some("apps/web/deployment.yaml")
    );
    let failure = cases[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let text = failure.text().unwrap();
    assert!(text.contains("apps/web/deployment.yaml:7:13: error schema/wrong-type"));
    assert!(text.contains("apps/web/deployment.yaml:17:11: error schema/unknown-field"));
    // The file-level finding (duplicate key) has a test case named after the file; the two
    // objects of that file pass.
    let secret_cases: Vec<_> = suites[1]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<&str> = secret_cases
        .iter()
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "apps/db/secret.yaml",
            "ConfigMap prod/db-config",
            "Secret prod/db"
        ]
    );
    assert!(secret_cases[2]
        .children()
        .all(|n| !n.has_tag_name("failure")));
    // A warning below --fail-on is shown, not failed; with --fail-on warning it fails.
    let widget = suites[4];
    let gadget = widget
        .children()
        .find(|n| n.attribute("name") == Some("Gadget unknown"))
        .unwrap();
    assert!(gadget.children().any(|n| n.has_tag_name("system-out")));
    assert!(gadget.children().all(|n| !n.has_tag_name("failure")));
    assert_eq!(root.attribute("tests"), Some("9"));
    assert_eq!(root.attribute("failures"), Some("4"));
    let strict = stdout(&kgate(
        &repo(),
        &["check", ".", "--format", "junit", "--fail-on", "warning"],
    ));
    let doc = roxmltree::Document::parse(&strict).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("5"));
}

#[test]
fn github_commands_and_gitlab_code_quality() {
    let o = kgate(&repo(), &["check", ".", "--format", "github"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7);
    assert!(lines.contains(
        &"::error file=clusters/prod/widget.yaml,line=7,col=9,endLine=7,endColumn=14,title=kgate schema/wrong-type::Widget prod/big: `spec.size` must be integer, got string \"large\""
    ));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("::warning file=clusters/prod/widget.yaml,line=10,col=7,")));
    assert!(lines[6].starts_with("kgate: 7 files, 7 resources: 5 errors, 1 warnings"));

    let gl1: Value = serde_json::from_str(&stdout(&kgate(
        &repo(),
        &["check", ".", "--format", "gitlab"],
    )))
    .unwrap();
    let gl2: Value = serde_json::from_str(&stdout(&kgate(
        &repo(),
        &["check", ".", "--format", "gitlab"],
    )))
    .unwrap();
    assert_eq!(gl1, gl2, "same input, same report and fingerprints");
    let issues = gl1.as_array().unwrap();
    assert_eq!(issues.len(), 6);
    let mut prints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), 6, "fingerprints are unique");
    for i in issues {
        for field in ["description", "check_name", "fingerprint", "severity"] {
            assert!(i[field].is_string(), "{field} in {i}");
        }
        assert!(["info", "minor", "major", "critical", "blocker"]
            .contains(&i["severity"].as_str().unwrap()));
        assert!(i["location"]["path"].is_string());
        assert!(i["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    let missing = issues
        .iter()
        .find(|i| i["check_name"] == "schema/missing")
        .unwrap();
    assert_eq!(missing["severity"], "minor");
    assert_eq!(missing["location"]["path"], "clusters/prod/widget.yaml");
    assert_eq!(missing["location"]["lines"]["begin"], 10);
}

#[test]
fn fingerprints_survive_line_shifts_and_change_with_the_finding() {
    let dir = tempfile::tempdir().unwrap();
    let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: [1]\n";
    std::fs::write(dir.path().join("c.yaml"), doc).unwrap();
    let print = |dir: &Path| -> String {
        let v: Value = serde_json::from_str(&stdout(&kgate(
            dir,
            &["check", "c.yaml", "--format", "gitlab"],
        )))
        .unwrap();
        v[0]["fingerprint"].as_str().unwrap().to_string()
    };
    let before = print(dir.path());
    std::fs::write(
        dir.path().join("c.yaml"),
        format!("# a comment\n# another\n{doc}"),
    )
    .unwrap();
    assert_eq!(
        print(dir.path()),
        before,
        "moving a finding down keeps its fingerprint"
    );
    std::fs::write(dir.path().join("c.yaml"), doc.replace("a: [1]", "b: [1]")).unwrap();
    assert_ne!(
        print(dir.path()),
        before,
        "a different finding has a different fingerprint"
    );
}

#[test]
fn markdown_summarises_and_groups_by_file() {
    let o = kgate(
        &repo(),
        &["check", "apps/web", "clusters", "--format", "markdown"],
    );
    assert_eq!(o.status.code(), Some(1));
    let md = stdout(&o);
    assert!(md.starts_with("### kgate: ❌ failed\n"));
    assert!(md.contains("| Files | Resources | Errors | Warnings | Suppressed |"));
    assert!(md.contains("| 4 | 4 | 2 | 2 | 0 |"), "{md}");
    // Two files with findings: not folded.
    assert!(md.contains("#### <code>apps/web/deployment.yaml</code> — 2 findings"));
    assert!(md.contains("| 17:11 | error | schema/unknown-field | Deployment prod/web |"));
    let ok = stdout(&kgate(
        &repo(),
        &["check", "clusters/prod/ok.yaml", "--format", "markdown"],
    ));
    assert!(ok.starts_with("### kgate: ✅ passed"));
    assert!(ok.contains("No findings."));
}

#[test]
fn several_formats_in_one_run() {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("k.sarif");
    let junit = out.path().join("r.xml");
    let o = kgate(
        &repo(),
        &[
            "check",
            ".",
            "--format",
            "github",
            "--format",
            &format!("sarif={}", sarif.display()),
            "--format",
            &format!("junit={}", junit.display()),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("::error file="));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_valid_sarif(&doc);
    roxmltree::Document::parse(&std::fs::read_to_string(&junit).unwrap()).unwrap();

    // --output still names the file of the single format.
    let json = out.path().join("r.json");
    let o = kgate(
        &repo(),
        &[
            "check",
            ".",
            "--format",
            "json",
            "--output",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["summary"]["errors"], 5);
    assert_eq!(v["resources"].as_array().unwrap().len(), 7);

    // Two formats cannot share stdout: a usage failure (2), nothing checked.
    let o = kgate(
        &repo(),
        &["check", ".", "--format", "github", "--format", "human"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("stdout"));
    let o = kgate(&repo(), &["check", ".", "--format", "yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown format `yaml`"));
}

#[test]
fn secrets_never_appear_in_any_format() {
    for format in [
        "human", "json", "sarif", "junit", "github", "gitlab", "markdown",
    ] {
        let o = kgate(&repo(), &["check", ".", "--format", format, "--verbose"]);
        assert_eq!(o.status.code(), Some(1), "{format}");
        assert!(!stdout(&o).contains(SECRET), "{format} printed a secret");
    }
    // A secret quoted in a message (a wrong-typed field next to it) is scrubbed too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: \"{SECRET}\"\ntype: [\"{SECRET}\"]\n"),
    )
    .unwrap();
    for format in ["sarif", "junit", "github", "gitlab", "markdown"] {
        let o = kgate(dir.path(), &["check", "s.yaml", "--format", format]);
        assert_eq!(o.status.code(), Some(1), "{format}");
        assert!(
            !stdout(&o).contains(SECRET),
            "{format} printed a secret: {}",
            stdout(&o)
        );
    }
}

#[cfg(unix)]
#[test]
fn hostile_file_names_cannot_corrupt_a_format() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: [1]\n";
    let names: [&[u8]; 3] = [b"new\nline.yaml", b"esc\x1b[31mred.yaml", b"latin\xe9.yaml"];
    for n in names {
        std::fs::write(dir.path().join(OsStr::from_bytes(n)), bad).unwrap();
    }
    for format in ["sarif", "junit", "github", "gitlab", "markdown"] {
        let o = kgate(dir.path(), &["check", ".", "--format", format]);
        assert_eq!(o.status.code(), Some(1), "{format}");
        let out = stdout(&o);
        assert!(
            !out.contains('\u{1b}'),
            "{format} passed an escape sequence through"
        );
        match format {
            "sarif" => {
                let doc: Value = serde_json::from_str(&out).unwrap();
                assert_valid_sarif(&doc);
                let uris: Vec<&str> = doc["runs"][0]["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                            .as_str()
                            .unwrap()
                    })
                    .collect();
                assert!(uris.contains(&"new%0Aline.yaml"), "{uris:?}");
                assert!(uris.contains(&"latin%EF%BF%BD.yaml"), "{uris:?}");
            }
            "junit" => {
                let doc = roxmltree::Document::parse(&out).unwrap();
                assert_eq!(
                    doc.root_element()
                        .children()
                        .filter(|n| n.has_tag_name("testsuite"))
                        .count(),
                    3
                );
            }
            "github" => {
                // One command per finding, one summary line: a newline in a name cannot start a
                // forged command.
                let lines: Vec<&str> = out.lines().collect();
                assert_eq!(lines.len(), 4, "{out}");
                assert!(lines[..3].iter().all(|l| l.starts_with("::error file=")));
                assert!(out.contains("file=new%0Aline.yaml,"));
            }
            "gitlab" => {
                let v: Value = serde_json::from_str(&out).unwrap();
                assert_eq!(v.as_array().unwrap().len(), 3);
            }
            _ => {
                assert!(out.contains("<code>new\\u{a}line.yaml</code>"), "{out}");
            }
        }
    }
}

#[test]
fn completions_and_man_page_come_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = kgate(dir.path(), &["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let s = stdout(&o);
        assert!(
            s.contains("fail-on") && s.contains("merge") && s.contains("shard"),
            "{shell}"
        );
    }
    let o = kgate(dir.path(), &["man"]);
    assert_eq!(o.status.code(), Some(0));
    let man = stdout(&o);
    assert!(
        man.starts_with(".ie") || man.contains(".TH kgate"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("Exit codes"));
    let help = stdout(&kgate(dir.path(), &["--help"]));
    assert!(help
        .contains("Exit codes: 0 pass, 1 findings at or above --fail-on, 2 kgate itself failed"));
}

#[test]
fn sarif_describes_built_in_policy_rules() {
    let o = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .current_dir(repo())
        .args(["check", ".", "--format", "sarif"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_valid_sarif(&doc);
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let policy_rules: Vec<&Value> = rules
        .iter()
        .filter(|r| r["id"].as_str().unwrap().starts_with("policy/"))
        .collect();
    assert!(!policy_rules.is_empty());
    for r in policy_rules {
        let docs = kgate::policy::builtin::find(r["id"].as_str().unwrap()).unwrap();
        assert_eq!(r["shortDescription"]["text"], docs.summary.as_str());
    }
}
