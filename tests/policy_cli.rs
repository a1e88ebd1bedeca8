//! CLI tests of Rego policies, exceptions, the config file and `kgate verify`, run on the real
//! binary with the fixtures of tests/policy/.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policy")
}

/// Runs kgate in `dir` (a temp dir, so no .kgate.yaml of the repository is found).
fn kgate(dir: &Path, args: &[&str]) -> (u8, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kgate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("kgate runs");
    (
        out.status.code().unwrap_or(-1) as u8,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A temp repository (with `.git`, so config discovery stops there) holding copies of fixtures.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// (code, line, column, suppressed) of every finding.
fn findings(report: &serde_json::Value) -> Vec<(String, u64, u64, bool)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
                d["suppressed"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn has(report: &serde_json::Value, code: &str, line: u64, col: u64) -> bool {
    findings(report)
        .iter()
        .any(|(c, l, k, _)| c == code && *l == line && *k == col)
}

#[test]
fn builtin_policies_point_at_the_field() {
    let dir = repo(&[("workload.yaml", &fixture("workload.yaml"))]);
    let (code, out, err) = kgate(dir.path(), &["check", "workload.yaml", "-o", "json"]);
    assert_eq!(code, 1, "{err}");
    let r = json(&out);
    let all = findings(&r);
    // `registry.local:5000/api` has no tag: the finding is on the image value.
    assert!(has(&r, "policy/image-tag-commit", 15, 18), "{all:?}");
    // The container has a request above its limit: on the request value.
    assert!(has(&r, "policy/resources", 23, 20), "{all:?}");
    assert!(has(&r, "policy/privileged", 17, 25), "{all:?}");
    assert!(has(&r, "policy/host-access", 12, 20), "{all:?}");
    assert!(has(&r, "policy/no-inline-secrets", 20, 22), "{all:?}");
    // One finding per Secret, on its first plain-text key.
    assert!(has(&r, "policy/no-inline-secrets", 35, 3), "{all:?}");
    // Warnings: probes and runAsNonRoot on the container, namespace on metadata.
    assert!(has(&r, "policy/probes", 14, 11), "{all:?}");
    assert!(has(&r, "policy/run-as-non-root", 14, 11), "{all:?}");
    assert!(has(&r, "policy/namespace", 4, 3), "{all:?}");
    // The Namespace is cluster-scoped: no namespace warning for it (line 39+).
    assert!(
        !all.iter()
            .any(|(c, l, _, _)| c == "policy/namespace" && *l > 36),
        "{all:?}"
    );
    let d = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "policy/image-tag-commit")
        .unwrap();
    assert_eq!(d["severity"], "error");
    assert_eq!(d["path"], "/spec/template/spec/containers/0/image");
    assert_eq!(d["resource"]["kind"], "Deployment");

    let (code, out, _) = kgate(
        dir.path(),
        &[
            "check",
            "workload.yaml",
            "--no-builtin-policies",
            "-o",
            "json",
        ],
    );
    assert!(!out.contains("policy/"), "{out}");
    // What remains is the API server's own refusal of the request above its limit
    // (admission/invalid), not a policy.
    let codes: Vec<String> = findings(&json(&out)).into_iter().map(|f| f.0).collect();
    assert_eq!(codes, vec!["admission/invalid"], "{out}");
    assert_eq!(code, 1);
}

#[test]
fn a_clean_deployment_passes_every_builtin_policy() {
    let dir = repo(&[("clean.yaml", &fixture("clean.yaml"))]);
    let (code, out, err) = kgate(dir.path(), &["check", "clean.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 errors, 0 warnings"), "{out}");
}

#[test]
fn inline_secret_values_never_appear_in_any_format() {
    let dir = repo(&[("workload.yaml", &fixture("workload.yaml"))]);
    for format in ["human", "json"] {
        for verbose in [false, true] {
            let mut args = vec!["check", "workload.yaml", "-o", format];
            if verbose {
                args.push("-v");
            }
            let (_, out, err) = kgate(dir.path(), &args);
            assert!(out.contains("DB_PASSWORD"), "{out}");
            for secret in [
                "hunter2-s3cr3t-value",
                "ghp_0123456789abcdefABCDEF0123456789abcd",
                "hunter2",
            ] {
                assert!(!out.contains(secret), "{format}: {out}");
                assert!(!err.contains(secret), "{format}: {err}");
            }
        }
    }
}

#[test]
fn user_policies_v0_and_v1_with_namespaces_and_data() {
    let dir = repo(&[
        ("clean.yaml", &fixture("clean.yaml")),
        ("policy/labels.rego", &fixture("policy-v0/labels.rego")),
        ("policy/images.rego", &fixture("policy-v1/images.rego")),
        (
            "policy/images_test.rego",
            &fixture("policy-v1/images_test.rego"),
        ),
        ("data/registry.yaml", &fixture("data/registry.yaml")),
    ]);
    let text = fixture("clean.yaml")
        .replace("replicas", "x")
        .replace("spec:\n  selector", "spec:\n  replicas: 1\n  selector");
    std::fs::write(dir.path().join("clean.yaml"), &text).unwrap();
    let base = [
        "check",
        "clean.yaml",
        "--no-builtin-policies",
        "-o",
        "json",
        "--policy",
        "policy",
    ];

    // Default namespace `main`: the v0 policy.
    let (code, out, err) = kgate(dir.path(), &base);
    assert_eq!(code, 1, "{out}{err}");
    let r = json(&out);
    assert!(has(&r, "policy/main.deny", 1, 1), "{:?}", findings(&r));
    assert!(
        has(&r, "policy/main.warn_replicas", 9, 13),
        "{:?}",
        findings(&r)
    );
    let warn = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "policy/main.warn_replicas")
        .unwrap();
    assert_eq!(warn["severity"], "warning");
    assert_eq!(warn["details"]["ticket"], "OPS-1");
    assert_eq!(warn["message"], "one replica only");

    // --namespace selects the v1 package; it reads data files.
    let mut args = base.to_vec();
    args.extend(["--namespace", "k8s.images", "--data", "data"]);
    let (code, out, err) = kgate(dir.path(), &args);
    assert_eq!(code, 0, "{out}{err}");
    let r = json(&out);
    assert!(findings(&r).is_empty(), "{:?}", findings(&r));

    // Another allowed registry in data: the v1 violation points at the image.
    std::fs::write(
        dir.path().join("data/registry.yaml"),
        "registry:\n  allowed: ghcr.io/\n",
    )
    .unwrap();
    let (code, out, _) = kgate(dir.path(), &args);
    assert_eq!(code, 1);
    let r = json(&out);
    assert!(
        has(&r, "policy/k8s.images.violation", 20, 18),
        "{:?}",
        findings(&r)
    );

    // --all-namespaces: both packages.
    let mut args = base.to_vec();
    args.extend(["--all-namespaces", "--data", "data"]);
    let (_, out, _) = kgate(dir.path(), &args);
    let codes: Vec<String> = findings(&json(&out)).into_iter().map(|f| f.0).collect();
    assert!(codes.contains(&"policy/main.deny".to_string()), "{codes:?}");
    assert!(
        codes.contains(&"policy/k8s.images.violation".to_string()),
        "{codes:?}"
    );

    // conftest exception: the object named `legacy` suppresses `violation` (rule name "").
    std::fs::write(
        dir.path().join("clean.yaml"),
        text.replace("name: web\n", "name: legacy\n"),
    )
    .unwrap();
    let (code, out, _) = kgate(dir.path(), &args);
    let r = json(&out);
    let excepted: Vec<_> = findings(&r)
        .into_iter()
        .filter(|f| f.0 == "policy/k8s.images.violation")
        .collect();
    assert_eq!(excepted.len(), 1);
    assert!(excepted[0].3, "suppressed");
    assert_eq!(code, 1, "deny from main still fails");
}

#[test]
fn broken_policies_exit_2_with_file_and_line() {
    let dir = repo(&[
        ("clean.yaml", &fixture("clean.yaml")),
        ("policy/bad.rego", &fixture("policy-broken/bad.rego")),
    ]);
    let (code, out, _) = kgate(
        dir.path(),
        &["check", "clean.yaml", "--policy", "policy", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}");
    let r = json(&out);
    let d = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "policy/parse-error")
        .unwrap();
    assert!(d["file"].as_str().unwrap().ends_with("bad.rego"));
    assert!(d["line"].as_u64().unwrap() >= 6, "{d}");
    let (code, out, _) = kgate(dir.path(), &["check", "clean.yaml", "--policy", "policy"]);
    assert_eq!(code, 2);
    assert!(out.contains("policy/parse-error"), "{out}");
    assert!(out.contains("bad.rego:"), "{out}");

    // An error while evaluating is also exit 2, at the policy's line, naming the object.
    let dir = repo(&[
        ("clean.yaml", &fixture("clean.yaml")),
        ("policy/eval.rego", &fixture("policy-eval/eval.rego")),
    ]);
    let (code, out, _) = kgate(
        dir.path(),
        &["check", "clean.yaml", "--policy", "policy", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}");
    let r = json(&out);
    let d = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "policy/eval-error")
        .unwrap();
    assert_eq!(d["line"], 6, "{d}");
    assert!(
        d["related"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Deployment prod/web"),
        "{d}"
    );
}

#[test]
fn exceptions_on_the_object_and_in_the_config() {
    let annotated = fixture("workload.yaml").replace(
        "  name: api\n",
        "  name: api\n  annotations:\n    kgate.dev/ignore: \"policy/host-access=CNI agent, needs the node network, policy/probes\"\n",
    );
    let config = "exceptions:\n  - code: policy/privileged\n    kind: Deployment\n    name: ap*\n    reason: vendor chart\n  \
- code: policy/resources\n    reason: old\n    expires: 2020-01-01\n  - code: policy/namespace\n    kind: Deployment\n\
severity:\n  policy/run-as-non-root: off\n";
    let dir = repo(&[("workload.yaml", &annotated), (".kgate.yaml", config)]);
    let (code, out, err) = kgate(dir.path(), &["check", "workload.yaml", "-o", "json"]);
    assert_eq!(code, 1, "{err}");
    let r = json(&out);
    let all = findings(&r);
    let get = |c: &str| all.iter().filter(|f| f.0 == c).cloned().collect::<Vec<_>>();
    // Annotation with a reason (containing commas): suppressed, kept, counted.
    assert!(
        get("policy/host-access").iter().all(|f| f.3) && !get("policy/host-access").is_empty(),
        "{all:?}"
    );
    let host = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "policy/host-access")
        .unwrap();
    assert_eq!(
        host["suppressed_reason"],
        "CNI agent, needs the node network (kgate.dev/ignore)"
    );
    // Annotation entry without a reason: does not apply, and is a finding on the annotation.
    assert!(
        get("policy/probes").iter().all(|f| !f.3) && !get("policy/probes").is_empty(),
        "{all:?}"
    );
    assert!(has(&r, "exception/missing-reason", 6, 23), "{all:?}");
    // Config exception with glob name: suppressed.
    assert!(
        get("policy/privileged").iter().all(|f| f.3) && !get("policy/privileged").is_empty(),
        "{all:?}"
    );
    // Expired: the finding is back, and a warning names the exception at its config line.
    assert!(
        get("policy/resources").iter().all(|f| !f.3) && !get("policy/resources").is_empty(),
        "{all:?}"
    );
    let expired = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "exception/expired")
        .unwrap();
    assert!(
        expired["message"]
            .as_str()
            .unwrap()
            .contains("policy/resources"),
        "{expired}"
    );
    assert_eq!(expired["line"], 6);
    // Config exception without a reason.
    let missing: Vec<_> = get("exception/missing-reason");
    assert_eq!(missing.len(), 2, "{all:?}");
    assert!(!get("policy/namespace").is_empty() && get("policy/namespace").iter().all(|f| !f.3));
    // Severity off drops the code.
    assert!(get("policy/run-as-non-root").is_empty(), "{all:?}");
    let suppressed = all.iter().filter(|f| f.3).count() as u64;
    assert_eq!(r["summary"]["suppressed"].as_u64().unwrap(), suppressed);

    // Human: hidden by default and counted; listed with --verbose with the reason.
    let (_, out, _) = kgate(dir.path(), &["check", "workload.yaml"]);
    assert!(out.contains(&format!("{suppressed} suppressed")), "{out}");
    assert!(!out.contains("vendor chart"), "{out}");
    let (_, out, _) = kgate(dir.path(), &["check", "workload.yaml", "-v"]);
    assert!(out.contains("[suppressed: vendor"), "{out}");

    // Exceptions cover schema codes too.
    let typo = fixture("clean.yaml")
        .replace(
            "  annotations:\n    team: web\n",
            "  annotations:\n    kgate.dev/ignore: schema/unknown-field=migrating\n",
        )
        .replace(
            "          livenessProbe",
            "          imagePullPolicyy: Always\n          livenessProbe",
        );
    let dir = repo(&[("clean.yaml", &typo)]);
    let (code, out, _) = kgate(dir.path(), &["check", "clean.yaml", "-o", "json"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        findings(&json(&out))
            .iter()
            .any(|f| f.0 == "schema/unknown-field" && f.3),
        "{out}"
    );
}

#[test]
fn config_file_settings_and_errors() {
    let config = "policies: [policy]\nbuiltin_policies: false\nimage_tag_pattern: '^v[0-9]+$'\n";
    let dir = repo(&[
        ("deploy/clean.yaml", &fixture("clean.yaml")),
        ("policy/labels.rego", &fixture("policy-v0/labels.rego")),
        (".kgate.yaml", config),
    ]);
    // Found by walking up from the checked path; policies resolved against the config's folder.
    let (code, out, err) = kgate(&dir.path().join("deploy"), &["check", ".", "-o", "json"]);
    assert_eq!(code, 1, "{out}{err}");
    let codes: Vec<String> = findings(&json(&out)).into_iter().map(|f| f.0).collect();
    assert_eq!(codes, ["policy/main.deny"]);

    // Built-ins on again from the CLI is not possible, but the pattern applies when enabled.
    std::fs::write(
        dir.path().join(".kgate.yaml"),
        "image_tag_pattern: '^v[0-9]+$'\n",
    )
    .unwrap();
    let (_, out, _) = kgate(dir.path(), &["check", "deploy", "-o", "json"]);
    assert!(has(&json(&out), "policy/image-tag-commit", 19, 18), "{out}");

    std::fs::write(
        dir.path().join(".kgate.yaml"),
        "policies: [policy]\nbuiltin_polices: false\n",
    )
    .unwrap();
    let (code, _, err) = kgate(dir.path(), &["check", "deploy"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(".kgate.yaml:2:1: unknown key `builtin_polices`"),
        "{err}"
    );
    assert!(err.contains("did you mean `builtin_policies`?"), "{err}");

    let (code, _, err) = kgate(dir.path(), &["check", "deploy", "--config", "nope.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.yaml"), "{err}");
}

#[test]
fn verify_runs_rego_tests() {
    let dir = repo(&[
        ("policy/images.rego", &fixture("policy-v1/images.rego")),
        (
            "policy/images_test.rego",
            &fixture("policy-v1/images_test.rego"),
        ),
    ]);
    let (code, out, _) = kgate(dir.path(), &["verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("PASS k8s.images_test.test_allowed (policy/images_test.rego)"),
        "{out}"
    );
    assert!(out.ends_with("2 tests, 2 passed, 0 failed\n"), "{out}");

    std::fs::write(
        dir.path().join("policy/images_test.rego"),
        fixture("policy-v1/images_test.rego").replace(
            "count(images.violation) == 1",
            "count(images.violation) == 2",
        ),
    )
    .unwrap();
    let (code, out, _) = kgate(dir.path(), &["verify", "policy"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL k8s.images_test.test_denied"), "{out}");
    assert!(out.ends_with("2 tests, 1 passed, 1 failed\n"), "{out}");

    let broken = fixtures().join("policy-broken");
    let (code, out, _) = kgate(dir.path(), &["verify", broken.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("bad.rego:"), "{out}");
    assert!(out.contains("bad_test.rego:"), "{out}");

    let (code, out, _) = kgate(dir.path(), &["verify", "--builtin"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
}

#[test]
fn rules_and_explain_list_builtin_policies() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = kgate(dir.path(), &["rules"]);
    assert_eq!(code, 0);
    for c in [
        "policy/image-tag-commit",
        "policy/resources",
        "policy/no-inline-secrets",
        "policy/probes",
    ] {
        assert!(out.contains(c), "{out}");
    }
    let (code, out, _) = kgate(dir.path(), &["explain", "policy/image-tag-commit"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("policy/image-tag-commit (error)"), "{out}");
    assert!(out.contains("registry:5000/app"), "{out}");
}

/// The compiled pack (default) and the pack's Rego (`--builtin-engine rego`, or
/// `builtin_engine: rego` in the config) report exactly the same findings on the fixtures.
#[test]
fn builtin_engines_report_the_same_findings() {
    let dir = repo(&[("workload.yaml", &fixture("workload.yaml"))]);
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "workload.yaml", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, out, err) = kgate(dir.path(), &args);
        assert_eq!(code, 1, "{err}");
        json(&out)["diagnostics"].clone()
    };
    let native = run(&[]);
    assert!(native.as_array().is_some_and(|a| a.len() > 5), "{native}");
    assert_eq!(native, run(&["--builtin-engine", "rego"]));
    assert_eq!(native, run(&["--builtin-engine", "native"]));
    std::fs::write(dir.path().join(".kgate.yaml"), "builtin_engine: rego\n").unwrap();
    assert_eq!(native, run(&[]));

    std::fs::write(dir.path().join(".kgate.yaml"), "builtin_engine: fast\n").unwrap();
    let (code, _, err) = kgate(dir.path(), &["check", "workload.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(".kgate.yaml:1:17") && err.contains("`native` or `rego`"),
        "{err}"
    );
}

/// A team's policy may import `data.kgate.lib` (containers with their paths) whichever engine
/// runs the built-in pack.
#[test]
fn user_policies_can_build_on_the_builtin_library() {
    let dir = repo(&[
        ("workload.yaml", &fixture("workload.yaml")),
        ("policy/main.rego", &fixture("policy-uses-lib/main.rego")),
    ]);
    for engine in ["native", "rego"] {
        let (code, out, err) = kgate(
            dir.path(),
            &[
                "check",
                "workload.yaml",
                "--policy",
                "policy",
                "--builtin-engine",
                engine,
                "-o",
                "json",
            ],
        );
        assert_eq!(code, 1, "{err}");
        let r = json(&out);
        let own: Vec<_> = findings(&r)
            .into_iter()
            .filter(|f| f.0 == "policy/main.deny")
            .collect();
        assert!(!own.is_empty(), "{engine}: {:?}", findings(&r));
        assert!(
            r["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["message"]
                    == "container \"app\": set securityContext.readOnlyRootFilesystem: true"
                    && d["line"] == 14),
            "{engine}: {out}"
        );
    }
}

/// Objects that leave their namespace to the agent (Argo CD `destination.namespace`, Flux
/// `targetNamespace`) are not `policy/namespace` findings in `check`, as `diff` already knew;
/// the same object elsewhere still is.
#[test]
fn the_agents_destination_namespace_counts_for_policy_namespace() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n";
    let dir = repo(&[
        (
            "argo/apps.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\nspec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: web\n  source:\n    repoURL: https://git.example.com/acme/fleet.git\n    path: apps/web\n    targetRevision: main\n",
        ),
        (
            "clusters/prod/infra.yaml",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./infra\n  prune: true\n  targetNamespace: infra\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
        ),
        ("apps/web/settings.yaml", cm),
        ("infra/settings.yaml", cm),
        ("loose/settings.yaml", cm),
    ]);
    let (_, out, err) = kgate(dir.path(), &["check", ".", "--format", "json"]);
    let report = json(&out);
    let namespace_files: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "policy/namespace")
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        namespace_files,
        ["loose/settings.yaml"],
        "{err}\n{report:#}"
    );
}
