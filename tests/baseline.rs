//! `kgate baseline` and the baselined findings of `check` on the real binary: the round trip
//! (record, then pass), fingerprints that survive unrelated edits and a new image tag, new
//! findings next to baselined ones, `--prune`, `--no-baseline`, a broken baseline file, no
//! secret value in the file, and merge-request mode reading the baseline from the base only.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const CONFIG: &str = "own_registries: [registry.example.com/team]\n";

fn deployment(name: &str, images: &[&str]) -> String {
    let containers: String = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            format!(
                "      - name: c{i}\n        image: {image}\n        resources:\n          requests: {{cpu: 10m, memory: 16Mi}}\n          limits: {{memory: 64Mi}}\n"
            )
        })
        .collect();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: prod\nspec:\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n{containers}"
    )
}

/// A repository with two kinds of debt: an own image on a floating tag and an unknown field.
fn indebted_repo() -> Repo {
    let repo = Repo::new();
    repo.write(".kgate.yaml", CONFIG);
    repo.write(
        "apps/web.yaml",
        &deployment("web", &["registry.example.com/team/web:v1"]),
    );
    repo.write(
        "apps/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: prod\n  labelz: {a: b}\ndata:\n  mode: fast\n",
    );
    repo
}

fn check(repo: &Repo, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["check", "apps", "--format", "json"];
    args.extend_from_slice(extra);
    let out = repo.kgate(&args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (code, file, baselined) of every warning and error.
fn findings(v: &Value) -> Vec<(String, String, bool)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] != "note")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or_default().to_string(),
                d["baselined"] == true,
            )
        })
        .collect()
}

fn baseline(repo: &Repo, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["baseline", "apps"];
    args.extend_from_slice(extra);
    let out = repo.kgate(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "kgate baseline failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn baseline_file(repo: &Repo) -> Value {
    let text = std::fs::read_to_string(repo.path().join(".kgate-baseline.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_recorded_baseline_passes_and_lists_its_findings_as_baselined() {
    let repo = indebted_repo();
    let (code, v, _) = check(&repo, &[]);
    assert_eq!(code, 1, "{v:#}");
    let before = findings(&v);
    assert!(before.iter().any(|(c, ..)| c == "policy/image-tag-commit"));
    assert!(before.iter().any(|(c, ..)| c == "schema/unknown-field"));

    let out = baseline(&repo, &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(".kgate-baseline.json"), "{said}");
    let file = baseline_file(&repo);
    assert_eq!(file["version"], 1);
    let entries = file["findings"].as_array().unwrap();
    // Two findings with one fingerprint (both probes of a container) are one entry counted twice.
    let recorded: u64 = entries
        .iter()
        .map(|e| e["count"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(recorded as usize, before.len(), "{file:#}");
    // Stable fingerprints: no positions, no messages (which quote values).
    let text = file.to_string();
    for word in ["\"line\"", "\"column\"", "\"message\"", "v1\""] {
        assert!(!text.contains(word), "{word} in {text}");
    }
    assert!(entries
        .iter()
        .any(|e| e["code"] == "policy/image-tag-commit"
            && e["object"] == "Deployment.apps prod/web"
            && e["path"].as_str().unwrap().ends_with("/image")));

    let (code, v, _) = check(&repo, &[]);
    assert_eq!(code, 0, "{v:#}");
    let after = findings(&v);
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|(_, _, b)| *b), "{after:?}");
    assert_eq!(v["summary"]["baselined"], before.len());
    assert_eq!(v["summary"]["errors"], 0);

    // Human output: counted in the summary, listed with --verbose.
    let out = repo.kgate(&["check", "apps"]);
    assert_eq!(out.status.code(), Some(0));
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.contains(&format!("{} baselined", before.len())),
        "{human}"
    );
    assert!(!human.contains("image-tag-commit"), "{human}");
    let out = repo.kgate(&["check", "apps", "--verbose"]);
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(human.contains("[baselined]"), "{human}");

    // --no-baseline: every finding counts again.
    let (code, _, _) = check(&repo, &["--no-baseline"]);
    assert_eq!(code, 1);
}

#[test]
fn unrelated_edits_and_a_new_tag_keep_findings_baselined_but_new_ones_fail() {
    let repo = indebted_repo();
    baseline(&repo, &[]);
    // A comment and a document above, reformatted flow maps, and the floating tag moved on.
    let moved = deployment("web", &["registry.example.com/team/web:v2"]);
    repo.write(
        "apps/web.yaml",
        &format!(
            "# the web tier\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: prod\n---\n{moved}"
        ),
    );
    let (code, v, _) = check(&repo, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(findings(&v).iter().all(|(_, _, b)| *b), "{v:#}");

    // A second container on a floating tag is a new finding of the same code and object.
    repo.write(
        "apps/web.yaml",
        &deployment(
            "web",
            &[
                "registry.example.com/team/web:v2",
                "registry.example.com/team/sidecar:main",
            ],
        ),
    );
    let (code, v, _) = check(&repo, &[]);
    assert_eq!(code, 1, "{v:#}");
    let f = findings(&v);
    let tags: Vec<_> = f
        .iter()
        .filter(|(c, ..)| c == "policy/image-tag-commit")
        .collect();
    assert_eq!(tags.len(), 2, "{f:?}");
    assert_eq!(tags.iter().filter(|(_, _, b)| *b).count(), 1, "{f:?}");

    // The same problem on another object is new too.
    repo.write(
        "apps/api.yaml",
        &deployment("api", &["registry.example.com/team/api:v1"]),
    );
    let (_, v, _) = check(&repo, &[]);
    assert!(v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["file"] == "apps/api.yaml" && d["baselined"] != true));
}

#[test]
fn prune_drops_fixed_findings_and_never_adds_new_ones() {
    let repo = indebted_repo();
    baseline(&repo, &[]);
    let recorded = baseline_file(&repo)["findings"].as_array().unwrap().len();
    // Fix the unknown field, add a new problem elsewhere.
    repo.write(
        "apps/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: prod\ndata:\n  mode: fast\n",
    );
    repo.write(
        "apps/api.yaml",
        &deployment("api", &["registry.example.com/team/api:v1"]),
    );
    let out = baseline(&repo, &["--prune"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("dropped"));
    let entries = baseline_file(&repo)["findings"].as_array().unwrap().clone();
    assert_eq!(entries.len(), recorded - 1, "{entries:#?}");
    assert!(entries.iter().all(|e| e["code"] != "schema/unknown-field"));
    assert!(entries
        .iter()
        .all(|e| e["object"] != "Deployment.apps prod/api"));
    let (code, _, _) = check(&repo, &[]);
    assert_eq!(code, 1, "the new finding still fails");
}

#[test]
fn the_baseline_file_holds_no_secret_value() {
    let repo = Repo::new();
    repo.write(
        "apps/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\n  namespace: prod\ndata:\n  DB_PASSWORD: Sup3rS3cretValue9\n",
    );
    let (code, v, _) = check(&repo, &[]);
    assert_eq!(code, 1, "{v:#}");
    baseline(&repo, &[]);
    let text = std::fs::read_to_string(repo.path().join(".kgate-baseline.json")).unwrap();
    assert!(text.contains("policy/no-inline-secrets"), "{text}");
    assert!(!text.contains("Sup3rS3cretValue9"), "{text}");
}

#[test]
fn a_broken_or_missing_named_baseline_is_a_tool_failure() {
    let repo = indebted_repo();
    repo.write(
        ".kgate-baseline.json",
        "{\"version\": 1, \"findings\": [\n  {\"code\": }\n]}\n",
    );
    let out = repo.kgate(&["check", "apps"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".kgate-baseline.json:2:"), "{err}");
    let out = repo.kgate(&["check", "apps", "--baseline", "nowhere.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere.json"));
    // --prune needs a baseline to prune.
    repo.remove(".kgate-baseline.json");
    let out = repo.kgate(&["baseline", "apps", "--prune"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_config_can_name_the_baseline() {
    let repo = indebted_repo();
    repo.write(
        ".kgate.yaml",
        &format!("{CONFIG}baseline: gate/accepted.json\n"),
    );
    std::fs::create_dir_all(repo.path().join("gate")).unwrap();
    baseline(&repo, &[]);
    assert!(repo.path().join("gate/accepted.json").is_file());
    assert!(!repo.path().join(".kgate-baseline.json").exists());
    let (code, _, _) = check(&repo, &[]);
    assert_eq!(code, 0);
}

#[test]
fn in_merge_request_mode_the_baseline_comes_from_the_base() {
    let repo = indebted_repo();
    baseline(&repo, &[]);
    let base = repo.commit("base with a baseline");
    // The MR edits a baselined unit (so its debt is not pre-existing by unit) and adds a new
    // problem, then re-records the baseline to accept it.
    repo.write(
        "apps/web.yaml",
        &deployment(
            "web",
            &[
                "registry.example.com/team/web:v3",
                "registry.example.com/team/sidecar:main",
            ],
        ),
    );
    baseline(&repo, &[]);
    repo.commit("MR: new floating image, baseline re-recorded");
    let out = repo.kgate(&["check", "apps", "--format", "json", "--base", &base]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(
        diags.iter().any(|d| d["code"] == "policy/image-tag-commit"
            && d["baselined"] != true
            && d["pre_existing"] != true),
        "{v:#}"
    );
    assert!(
        diags.iter().any(|d| d["code"] == "gate/policy-changed"
            && d["message"]
                .as_str()
                .unwrap()
                .contains(".kgate-baseline.json")),
        "{v:#}"
    );
}

#[test]
fn baseline_refuses_merge_request_mode() {
    let repo = indebted_repo();
    let base = repo.commit("base");
    let out = repo.kgate(&["baseline", "apps", "--base", &base]);
    assert_eq!(out.status.code(), Some(2));
}
