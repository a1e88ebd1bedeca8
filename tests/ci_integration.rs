//! Where kgate runs: `--shard I/N` + `kgate merge` equal one unsharded run; the GitHub action,
//! the pre-commit hook and the GitLab template parse and use only flags that exist; `kgate init`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn repo() -> PathBuf {
    root().join("tests/formats/repo")
}

fn kgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kgate"))
        .current_dir(dir)
        .env("CI", "true")
        .args(args)
        .output()
        .unwrap()
}

fn json_of(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A repository with many units: kustomization roots, loose top-level folders, a CRD in one
/// folder and its custom resources in others (so a shard must see other shards' CRDs).
fn monorepo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    for f in [
        "crds/widgets.yaml",
        "apps/db/secret.yaml",
        "apps/db/broken.yaml",
        "apps/web/deployment.yaml",
        "apps/web/kustomization.yaml",
    ] {
        write(f, &std::fs::read_to_string(repo().join(f)).unwrap());
    }
    for i in 0..12 {
        write(
            &format!("team-{i}/widget.yaml"),
            &format!(
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w{i}\n  namespace: t{i}\nspec:\n  size: {}\n",
                if i % 3 == 0 { "\"big\"" } else { "3" }
            ),
        );
        write(
            &format!("overlays/env-{i}/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n",
        );
        write(
            &format!("overlays/env-{i}/cm.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  n: {}\n",
                if i % 4 == 0 { "1" } else { "\"1\"" }
            ),
        );
    }
    write(
        "loose.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: loose\n",
    );
    dir
}

#[test]
fn merged_shards_equal_one_run() {
    let repo = monorepo();
    let dir = repo.path();
    // Reports go outside the checked folder: they are JSON files, and would be checked too.
    let out = tempfile::tempdir().unwrap();
    let report = |name: &str| out.path().join(name).display().to_string();
    let full = kgate(
        dir,
        &[
            "check",
            ".",
            "--format",
            &format!("json={}", report("full.json")),
        ],
    );
    assert_eq!(full.status.code(), Some(1));
    let full_json = json_of(&out.path().join("full.json"));
    assert!(full_json["summary"]["errors"].as_u64().unwrap() >= 8);
    // Each team's Widget validates against the CRD in crds/: no schema/missing anywhere.
    assert!(full_json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["code"] != "schema/missing"));

    for total in [2u32, 3, 5] {
        let mut reports = Vec::new();
        let mut files_seen = BTreeSet::new();
        let mut file_total = 0;
        for i in 1..=total {
            let name = report(&format!("shard-{i}-of-{total}.json"));
            let o = kgate(
                dir,
                &[
                    "check",
                    ".",
                    "--shard",
                    &format!("{i}/{total}"),
                    "--format",
                    &format!("json={name}"),
                ],
            );
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let r = json_of(Path::new(&name));
            assert_eq!(r["shard"]["index"], i);
            file_total += r["summary"]["files"].as_u64().unwrap();
            for res in r["resources"].as_array().unwrap() {
                files_seen.insert(res["file"].as_str().unwrap().to_string());
            }
            // A custom resource whose CRD is in another shard is still validated.
            assert!(r["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["code"] != "schema/missing"));
            reports.push(name);
        }
        assert_eq!(
            file_total,
            full_json["summary"]["files"].as_u64().unwrap(),
            "every file in exactly one shard"
        );
        let mut args = vec!["merge"];
        args.extend(reports.iter().map(String::as_str));
        let merged_name = format!("json={}", report("merged.json"));
        args.extend(["--format", &merged_name]);
        let merged = kgate(dir, &args);
        assert_eq!(
            merged.status.code(),
            full.status.code(),
            "exit code as if one run"
        );
        let m = json_of(&out.path().join("merged.json"));
        assert_eq!(m["diagnostics"], full_json["diagnostics"], "{total} shards");
        assert_eq!(m["summary"], full_json["summary"], "{total} shards");
        assert_eq!(m["skipped"], full_json["skipped"], "{total} shards");
        let mut full_resources = full_json["resources"].as_array().unwrap().clone();
        full_resources.sort_by_key(|r| r.to_string());
        let mut merged_resources = m["resources"].as_array().unwrap().clone();
        merged_resources.sort_by_key(|r| r.to_string());
        assert_eq!(merged_resources, full_resources);
        assert!(files_seen.len() > 1);
    }
}

#[test]
fn one_kustomization_is_never_split() {
    let repo = monorepo();
    let dir = repo.path();
    let out = tempfile::tempdir().unwrap();
    let mut owner: std::collections::BTreeMap<String, u32> = Default::default();
    for i in 1..=4 {
        let name = out.path().join(format!("s{i}.json"));
        kgate(
            dir,
            &[
                "check",
                ".",
                "--shard",
                &format!("{i}/4"),
                "--format",
                &format!("json={}", name.display()),
            ],
        );
        let r = json_of(&name);
        // Objects and skipped documents (the kustomization files themselves) by file.
        let files = r["resources"]
            .as_array()
            .unwrap()
            .iter()
            .chain(r["skipped"].as_array().unwrap());
        for f in files {
            let f = f["file"].as_str().unwrap().to_string();
            if let Some(other) = owner.insert(f.clone(), i) {
                assert_eq!(other, i, "{f} in two shards");
            }
        }
    }
    // Each overlay's kustomization.yaml and the file it lists are in the same shard.
    for i in 0..12 {
        let k = owner[&format!("overlays/env-{i}/kustomization.yaml")];
        assert_eq!(
            owner[&format!("overlays/env-{i}/cm.yaml")],
            k,
            "overlays/env-{i} was split"
        );
    }
    assert_eq!(
        owner["apps/web/kustomization.yaml"],
        owner["apps/web/deployment.yaml"]
    );
    // Overlays are separate units, so they spread over the shards.
    let spread: BTreeSet<u32> = (0..12)
        .map(|i| owner[&format!("overlays/env-{i}/cm.yaml")])
        .collect();
    assert!(spread.len() > 1);
}

#[test]
fn merge_refuses_incomplete_or_mixed_reports() {
    let repo = monorepo();
    let dir = repo.path();
    // Reports go outside the checked folder (they are JSON files, which would be checked).
    let out = tempfile::tempdir().unwrap();
    for i in 1..=3 {
        let name = out.path().join(format!("s{i}.json"));
        kgate(
            dir,
            &[
                "check",
                ".",
                "--shard",
                &format!("{i}/3"),
                "--format",
                &format!("json={}", name.display()),
            ],
        );
    }
    let full = out.path().join("full.json");
    kgate(
        dir,
        &[
            "check",
            ".",
            "--format",
            &format!("json={}", full.display()),
        ],
    );
    let dir = out.path();
    let o = kgate(dir, &["merge", "s1.json", "s3.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("shard 2/3 missing"));
    let o = kgate(dir, &["merge", "s1.json", "s1.json", "s2.json", "s3.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("given twice"));
    let o = kgate(
        dir,
        &["merge", "s1.json", "s2.json", "s3.json", "full.json"],
    );
    assert_eq!(o.status.code(), Some(2));
    std::fs::write(dir.join("junk.json"), "{\"not\": \"a report\"}").unwrap();
    let o = kgate(dir, &["merge", "junk.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a kgate JSON report"));
    // Merged output in the other formats, the gate as one run.
    let o = kgate(
        dir,
        &[
            "merge",
            "s1.json",
            "s2.json",
            "s3.json",
            "--format",
            "github",
            "--format",
            "sarif=m.sarif",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    // Annotated, or (past the per-level cap) listed as a log line.
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("::error file=team-0/widget.yaml,line=7,")
            || out.contains("kgate: team-0/widget.yaml:7:"),
        "{out}"
    );
    let bad = kgate(repo.path(), &["check", ".", "--shard", "4/3"]);
    assert_eq!(bad.status.code(), Some(2));
}

// ---- the CI integration files ----

/// Long flags that belong to the other commands the scripts run (cargo, curl, git, grep, tar).
const OTHER_TOOLS_FLAGS: &[&str] = &[
    "--locked",
    "--path",
    "--root",
    "--git",
    "--retry",
    "--quiet",
    "--no-cache",
];

/// Flags other branches add to `kgate check`. The scripts may use them only behind a runtime
/// `supports --flag` probe of `kgate check --help`, so an older kgate fails clearly.
const PROBED_FLAGS: &[&str] = &["--base", "--policy", "--config"];

fn check_flags() -> BTreeSet<String> {
    let cmd = <kgate::cli::Cli as clap::CommandFactory>::command();
    let mut out: BTreeSet<String> = ["--help".to_string(), "--version".to_string()].into();
    for sub in [cmd.clone(), cmd.find_subcommand("check").unwrap().clone()] {
        for a in sub.get_arguments() {
            if let Some(l) = a.get_long() {
                out.insert(format!("--{l}"));
            }
            // `--format` is the alias of `--output`.
            for alias in a.get_visible_aliases().unwrap_or_default() {
                out.insert(format!("--{alias}"));
            }
        }
    }
    out
}

fn long_flags(text: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"(?:^|[\s(\[])(--[a-z][a-z0-9-]+)").unwrap();
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

fn assert_flags_exist(file: &str, text: &str) {
    let known = check_flags();
    for flag in long_flags(text) {
        if OTHER_TOOLS_FLAGS.contains(&flag.as_str()) || known.contains(&flag) {
            continue;
        }
        assert!(
            PROBED_FLAGS.contains(&flag.as_str()),
            "{file} uses {flag}, which `kgate check` does not have"
        );
        assert!(
            text.contains(&format!("supports {flag}")),
            "{file} uses {flag} without probing for it"
        );
    }
}

fn parse_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let file = kgate::source::SourceFile::new(path.display().to_string(), text);
    let stream = kgate::yaml::parse_stream(&file, &kgate::yaml::Limits::default());
    assert!(
        stream.problems.is_empty(),
        "{}: {:?}",
        path.display(),
        stream.problems
    );
    assert_eq!(stream.documents.len(), 1);
    stream.documents[0].root.as_ref().unwrap().to_json()
}

fn format_names_in(text: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r#"--format[ "]+([a-z]+)"#).unwrap();
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

fn assert_formats_exist(file: &str, text: &str) {
    for f in format_names_in(text) {
        if f.starts_with('$') {
            continue;
        }
        assert!(
            f.parse::<kgate::cli::FormatTarget>().is_ok(),
            "{file}: unknown format {f}"
        );
    }
}

#[test]
fn github_action_parses_and_uses_existing_flags() {
    let action = parse_yaml(&root().join("action.yml"));
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_object().unwrap();
    for name in [
        "paths",
        "kubernetes-version",
        "policies",
        "config",
        "format",
        "fail-on",
        "version",
        "sarif-file",
        "args",
    ] {
        assert!(inputs.contains_key(name), "input {name}");
    }
    let scripts: Vec<&str> = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        // `uses:` steps (the binary cache) have no script.
        .filter_map(|s| s["run"].as_str())
        .collect();
    let all = scripts.join("\n");
    assert_flags_exist("action.yml", &all);
    assert_formats_exist("action.yml", &all);
    assert!(all.contains("--format \"markdown=$GITHUB_STEP_SUMMARY\""));
    assert!(all.contains("--format \"sarif=$INPUT_SARIF_FILE\""));
    assert!(all.contains("fetch-depth: 0"));
    assert!(all.contains(".sha256"));
    assert!(all.contains("cargo install --locked --path \"$GITHUB_ACTION_PATH\""));
    // Every `${{ inputs.x }}` names a declared input.
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let re = regex::Regex::new(r"inputs\.([a-z-]+)").unwrap();
    for c in re.captures_iter(&text) {
        assert!(inputs.contains_key(&c[1]), "undeclared input {}", &c[1]);
    }
    // The failure value of `fail-on` is one kgate accepts.
    let default = inputs["fail-on"]["default"].as_str().unwrap();
    let o = kgate(
        &repo(),
        &[
            "check",
            "clusters/prod/ok.yaml",
            "--fail-on",
            default,
            "--format",
            inputs["format"]["default"].as_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn gitlab_template_parses_and_publishes_reports() {
    let path = root().join("ci/gitlab/kgate.gitlab-ci.yml");
    let ci = parse_yaml(&path);
    let job = &ci["kgate"];
    assert_eq!(job["extends"], ".kgate");
    assert_eq!(
        job["rules"][0]["if"],
        "$CI_PIPELINE_SOURCE == \"merge_request_event\""
    );
    let base = &ci[".kgate"];
    assert_eq!(
        base["artifacts"]["reports"]["codequality"],
        "gl-code-quality-report.json"
    );
    assert_eq!(base["artifacts"]["reports"]["junit"], "kgate-junit.xml");
    assert_eq!(base["artifacts"]["when"], "always");
    let script = base["script"][0].as_str().unwrap();
    assert!(script.contains("CI_MERGE_REQUEST_DIFF_BASE_SHA"));
    assert!(script
        .contains("--format gitlab=gl-code-quality-report.json --format junit=kgate-junit.xml"));
    assert_flags_exist("kgate.gitlab-ci.yml", script);
    assert_formats_exist("kgate.gitlab-ci.yml", script);
}

#[test]
fn pre_commit_hook_parses_and_runs_check() {
    let hooks = parse_yaml(&root().join(".pre-commit-hooks.yaml"));
    let hook = &hooks[0];
    assert_eq!(hook["id"], "kgate");
    // The installed binary: nothing is compiled when the hook runs; the alternative hook
    // builds from source.
    assert_eq!(hook["language"], "system");
    assert_eq!(hooks[1]["id"], "kgate-source");
    assert_eq!(hooks[1]["language"], "rust");
    assert_eq!(hooks[1]["entry"], hook["entry"]);
    assert_eq!(hook["pass_filenames"], true);
    let files = regex::Regex::new(hook["files"].as_str().unwrap()).unwrap();
    assert!(files.is_match("a/b.yaml") && files.is_match("c.yml") && files.is_match("d.json"));
    assert!(!files.is_match("e.yaml.bak") && !files.is_match("f.txt"));
    let entry = hook["entry"].as_str().unwrap();
    let words: Vec<&str> = entry.split_whitespace().collect();
    assert_eq!(words[0], "kgate");
    // The entry plus file names is a valid command line, run at a repository's root as
    // pre-commit runs it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join("clusters/prod")).unwrap();
    std::fs::copy(
        repo().join("clusters/prod/ok.yaml"),
        dir.path().join("clusters/prod/ok.yaml"),
    )
    .unwrap();
    let mut args: Vec<&str> = words[1..].to_vec();
    args.push("clusters/prod/ok.yaml");
    let out = kgate(dir.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn init_writes_starters_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = kgate(d, &["init", "--github", "--gitlab", "--pre-commit"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let config = parse_yaml(&d.join(".kgate.yaml"));
    for key in ["kubernetes_version", "strict", "policies", "exceptions"] {
        assert!(config.get(key).is_some(), "{key}");
    }
    assert_eq!(config["strict"], true);
    assert_eq!(config["unverified"], "error");
    assert_eq!(config["skip_kinds"], serde_json::json!([]));
    assert_eq!(config["exceptions"], serde_json::json!([]));
    // kgate's own config loader accepts it, and a check run uses it.
    let loaded = kgate::config::load(&d.join(".kgate.yaml")).unwrap();
    assert_eq!(loaded.strict, Some(true));
    assert_eq!(
        loaded.kubernetes_version.as_deref(),
        Some(kgate::schema::bundle::DEFAULT_VERSION)
    );
    std::fs::write(
        d.join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n",
    )
    .unwrap();
    assert_eq!(kgate(d, &["check", "ns.yaml"]).status.code(), Some(0));
    // The workflow uses the action with inputs it declares.
    let workflow = parse_yaml(&d.join(".github/workflows/kgate.yml"));
    let action = parse_yaml(&root().join("action.yml"));
    let steps = workflow["jobs"]["kgate"]["steps"].as_array().unwrap();
    let uses_kgate = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.contains("/kgate@")))
        .unwrap();
    for (k, _) in uses_kgate["with"].as_object().unwrap() {
        assert!(
            action["inputs"].get(k).is_some(),
            "workflow passes unknown input {k}"
        );
    }
    assert_eq!(steps[0]["with"]["fetch-depth"], 0);
    // The CI setup makes what kgate cannot verify fail the gate, with a flag that exists.
    assert_eq!(uses_kgate["with"]["args"], "--unverified error");
    let help = String::from_utf8_lossy(&kgate(d, &["check", "--help"]).stdout).into_owned();
    assert!(help.contains("--unverified"), "{help}");
    let job = parse_yaml(&d.join(".gitlab/kgate.gitlab-ci.yml"));
    assert_eq!(
        job["kgate"]["variables"]["KGATE_ARGS"],
        "--unverified error"
    );
    assert!(job["include"][0]["remote"]
        .as_str()
        .unwrap()
        .ends_with("/ci/gitlab/kgate.gitlab-ci.yml"));
    let top = parse_yaml(&d.join(".gitlab-ci.yml"));
    assert_eq!(top["include"][0]["local"], ".gitlab/kgate.gitlab-ci.yml");
    let pc = parse_yaml(&d.join(".pre-commit-config.yaml"));
    assert_eq!(pc["repos"][0]["hooks"][0]["id"], "kgate");

    // A second run merges into the existing config: the user's settings and comments stay,
    // the missing ones are added; kgate's own CI files are not replaced without --force.
    std::fs::write(d.join(".kgate.yaml"), "# ours\nstrict: false\n").unwrap();
    let o = kgate(d, &["init"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(d.join(".kgate.yaml")).unwrap();
    assert!(text.starts_with("# ours\nstrict: false\n"), "{text}");
    let merged = kgate::config::load(&d.join(".kgate.yaml")).unwrap();
    assert_eq!(merged.strict, Some(false));
    // What kgate cannot verify fails the gate in an adopted repository (issue 13 §3).
    assert_eq!(merged.unverified, Some(kgate::diagnostic::Severity::Error));
    assert_eq!(
        merged.kubernetes_version.as_deref(),
        Some(kgate::schema::bundle::DEFAULT_VERSION)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("merged into"));
    let o = kgate(d, &["init"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("it has every setting"));
    let o = kgate(d, &["init", "--github"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    // The user's CI files get kgate's entry inserted into their block lists.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join(".gitlab-ci.yml"),
        "stages: [test]\ninclude:\n  - local: ci/build.yml\n",
    )
    .unwrap();
    std::fs::write(
        other.path().join(".pre-commit-config.yaml"),
        "repos:\n  - repo: https://github.com/pre-commit/pre-commit-hooks\n    rev: v4.6.0\n    hooks:\n      - id: trailing-whitespace\n",
    )
    .unwrap();
    let o = kgate(other.path(), &["init", "--gitlab", "--pre-commit"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let top = parse_yaml(&other.path().join(".gitlab-ci.yml"));
    assert_eq!(top["include"][0]["local"], ".gitlab/kgate.gitlab-ci.yml");
    assert_eq!(top["include"][1]["local"], "ci/build.yml");
    let pc = parse_yaml(&other.path().join(".pre-commit-config.yaml"));
    assert_eq!(pc["repos"][0]["hooks"][0]["id"], "kgate");
    assert_eq!(pc["repos"][1]["hooks"][0]["id"], "trailing-whitespace");
    // --force replaces kgate's files but never the user's own CI or pre-commit files.
    std::fs::write(d.join(".pre-commit-config.yaml"), "repos: []\n").unwrap();
    let o = kgate(d, &["init", "--force", "--pre-commit"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(std::fs::read_to_string(d.join(".kgate.yaml"))
        .unwrap()
        .contains("exceptions: []"));
    assert_eq!(
        std::fs::read_to_string(d.join(".pre-commit-config.yaml")).unwrap(),
        "repos: []\n"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("id: kgate"));
}
