//! ValidatingAdmissionPolicy offline: policies and bindings in the checked paths or `--policy`
//! folders evaluated on the objects they match (resource rules, selectors, params from the
//! repository, variables, messageExpression, validationActions), and in merge-request mode
//! judged from the base revision with the base object as `oldObject`.

use serde_json::Value;

#[path = "common/git_repo.rs"]
mod git_repo;
use git_repo::*;

const POLICY: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: replica-limit
spec:
  failurePolicy: Fail
  paramKind:
    apiVersion: v1
    kind: ConfigMap
  matchConstraints:
    resourceRules:
      - apiGroups: ["apps"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["deployments"]
    objectSelector:
      matchExpressions:
        - key: policy.example.com/skip
          operator: DoesNotExist
  variables:
    - name: replicas
      expression: "has(object.spec.replicas) ? object.spec.replicas : 1"
  validations:
    - expression: "variables.replicas <= int(params.data.maxReplicas)"
      messageExpression: "'replicas ' + string(variables.replicas) + ' exceed ' + params.data.maxReplicas"
      reason: Invalid
    - expression: "oldObject == null || variables.replicas >= oldObject.spec.replicas"
      message: "scaling down is done by the autoscaler"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: replica-limit-prod
spec:
  policyName: replica-limit
  validationActions: [Deny]
  paramRef:
    name: replica-limit
    namespace: policy
    parameterNotFoundAction: Deny
  matchResources:
    namespaceSelector:
      matchLabels:
        env: prod
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: replica-limit
  namespace: policy
data:
  maxReplicas: "5"
"#;

const NAMESPACES: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n  labels:\n    env: prod\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: dev\n  labels:\n    env: dev\n";

fn deployment(ns: &str, replicas: u32, labels: &str) -> String {
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\n{labels}spec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx\n")
}

/// (code, severity, message) of the `vap/` findings.
fn vap(out: &std::process::Output) -> Vec<(String, String, String)> {
    findings_of(out, &["vap/"])
        .into_iter()
        .map(|(c, s, _, m)| (c, s, m))
        .collect()
}

fn run(files: &[(&str, &str)], extra: &[&str]) -> (Vec<(String, String, String)>, Option<i32>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let mut args = vec!["check", "--format", "json", "--no-builtin-policies", "apps"];
    args.extend_from_slice(extra);
    let out = kgate_in(dir.path(), &args);
    (vap(&out), out.status.code())
}

#[test]
fn deny_with_params_variables_and_message_expression() {
    let (f, code) = run(
        &[
            ("apps/policy.yaml", POLICY),
            ("apps/ns.yaml", NAMESPACES),
            ("apps/web.yaml", &deployment("prod", 8, "")),
        ],
        &[],
    );
    assert_eq!(
        f,
        vec![(
            "vap/replica-limit".to_string(),
            "error".to_string(),
            "replicas 8 exceed 5".to_string()
        )]
    );
    assert_eq!(code, Some(1));
}

#[test]
fn objects_the_policy_does_not_match_pass() {
    for (ns, labels, replicas) in [
        ("prod", "", 3),
        // Another namespace (its labels do not match the binding's selector).
        ("dev", "", 8),
        // Excluded by the policy's object selector.
        (
            "prod",
            "  labels:\n    policy.example.com/skip: \"true\"\n",
            8,
        ),
    ] {
        let (f, code) = run(
            &[
                ("apps/policy.yaml", POLICY),
                ("apps/ns.yaml", NAMESPACES),
                ("apps/web.yaml", &deployment(ns, replicas, labels)),
            ],
            &[],
        );
        assert!(f.is_empty(), "{ns} {labels}: {f:?}");
        assert_eq!(code, Some(0));
    }
    // Another resource is not matched.
    let (f, _) = run(
        &[
            ("apps/policy.yaml", POLICY),
            ("apps/ns.yaml", NAMESPACES),
            (
                "apps/sts.yaml",
                &deployment("prod", 8, "")
                    .replace("Deployment", "StatefulSet")
                    .replace("spec:\n  replicas", "spec:\n  serviceName: web\n  replicas"),
            ),
        ],
        &[],
    );
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn warn_action_and_policy_folders() {
    let warn = POLICY.replace("validationActions: [Deny]", "validationActions: [Warn]");
    let (f, code) = run(
        &[
            ("policies/policy.yaml", &warn),
            ("apps/ns.yaml", NAMESPACES),
            ("apps/web.yaml", &deployment("prod", 8, "")),
        ],
        &["--policy", "policies"],
    );
    // The params ConfigMap sits in the policy folder, not among the checked objects: the
    // policy cannot be judged and says so.
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, "note");
    assert_eq!(code, Some(0));
    let (f, code) = run(
        &[
            ("policies/policy.yaml", &warn),
            ("apps/ns.yaml", &format!("{NAMESPACES}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: replica-limit\n  namespace: policy\ndata:\n  maxReplicas: \"5\"\n")),
            ("apps/web.yaml", &deployment("prod", 8, "")),
        ],
        &["--policy", "policies"],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].1.as_str(), f[0].2.as_str()),
        ("warning", "replicas 8 exceed 5")
    );
    assert_eq!(code, Some(0));
}

#[test]
fn merge_requests_are_judged_by_the_base_policy_with_the_old_object() {
    let repo = Repo::new();
    repo.write("apps/policy.yaml", POLICY);
    repo.write("apps/ns.yaml", NAMESPACES);
    repo.write("apps/web.yaml", &deployment("prod", 4, ""));
    let base = repo.commit("base");
    // Scaling down from 4 to 2: an UPDATE the policy refuses (oldObject is the base object).
    repo.write("apps/web.yaml", &deployment("prod", 2, ""));
    let out = repo.kgate(&["check", "--format", "json", "--base", &base, "apps"]);
    let f = vap(&out);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].2, "scaling down is done by the autoscaler");
    assert_eq!(out.status.code(), Some(1));
    // The MR loosens the policy and raises replicas past the base limit: the base policy
    // still judges it.
    repo.write(
        "apps/policy.yaml",
        &POLICY.replace("maxReplicas: \"5\"", "maxReplicas: \"50\""),
    );
    repo.write("apps/web.yaml", &deployment("prod", 9, ""));
    let out = repo.kgate(&["check", "--format", "json", "--base", &base, "apps"]);
    let f = vap(&out);
    assert!(f.iter().any(|x| x.2 == "replicas 9 exceed 5"), "{f:?}");
    // With --policies-from head the MR's own policy applies.
    let out = repo.kgate(&[
        "check",
        "--format",
        "json",
        "--base",
        &base,
        "--policies-from",
        "head",
        "apps",
    ]);
    assert!(vap(&out).is_empty(), "{:?}", vap(&out));
}

/// All findings' codes and severities of a run (to see `exception/unknown-code` too).
fn all_codes(files: &[(&str, &str)]) -> (Vec<(String, String)>, Option<i32>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let out = kgate_in(
        dir.path(),
        &["check", "--format", "json", "--no-builtin-policies", "apps"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (f, out.status.code())
}

#[test]
fn what_kgate_cannot_know_is_not_judged() {
    // A policy that exempts the GitOps agent by user name: who applies is unknown offline.
    let by_user = POLICY.replace(
        "variables.replicas <= int(params.data.maxReplicas)\"",
        "request.userInfo.username == 'system:serviceaccount:flux-system:kustomize-controller' || variables.replicas <= int(params.data.maxReplicas)\"",
    );
    assert_ne!(by_user, POLICY);
    let (f, code) = run(
        &[
            ("apps/policy.yaml", &by_user),
            ("apps/ns.yaml", NAMESPACES),
            ("apps/web.yaml", &deployment("prod", 8, "")),
        ],
        &[],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, "note", "{f:?}");
    assert_eq!(code, Some(0));
    // An object whose Namespace is not among the checked objects, or that leaves its
    // namespace to the agent: the binding's namespaceSelector cannot be judged.
    for ns_line in ["  namespace: staging\n", ""] {
        let web = deployment("prod", 8, "").replace("  namespace: prod\n", ns_line);
        let (f, code) = run(
            &[
                ("apps/policy.yaml", POLICY),
                ("apps/ns.yaml", NAMESPACES),
                ("apps/web.yaml", &web),
            ],
            &[],
        );
        assert!(f.is_empty(), "{ns_line:?}: {f:?}");
        assert_eq!(code, Some(0));
    }
    // Every Namespace carries `kubernetes.io/metadata.name`: a selector on it matches.
    let by_name = POLICY.replace(
        "matchLabels:\n        env: prod",
        "matchLabels:\n        kubernetes.io/metadata.name: prod",
    );
    assert_ne!(by_name, POLICY);
    let (f, _) = run(
        &[
            ("apps/policy.yaml", &by_name),
            ("apps/ns.yaml", NAMESPACES),
            ("apps/web.yaml", &deployment("prod", 8, "")),
        ],
        &[],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].2, "replicas 8 exceed 5");
}

#[test]
fn config_entries_may_name_a_policy_code() {
    let (f, code) = all_codes(&[
        (".kgate.yaml", "severity:\n  vap/replica-limit: warning\n"),
        ("apps/policy.yaml", POLICY),
        ("apps/ns.yaml", NAMESPACES),
        ("apps/web.yaml", &deployment("prod", 8, "")),
    ]);
    assert!(
        f.iter().all(|(c, _)| c != "exception/unknown-code"),
        "{f:?}"
    );
    assert!(
        f.contains(&("vap/replica-limit".to_string(), "warning".to_string())),
        "{f:?}"
    );
    assert_eq!(code, Some(0));
}

/// `matchPolicy`: Equivalent (the default) matches the same resource at another version of its
/// group (and `extensions` for the workloads apps serves); Exact only the versions listed.
#[test]
fn match_policy_equivalent_and_exact() {
    let policy = |match_policy: &str| {
        format!(
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: owner-label\nspec:\n  matchConstraints:\n{match_policy}    resourceRules:\n      - apiGroups: [\"example.com\"]\n        apiVersions: [\"v1beta1\"]\n        operations: [\"CREATE\", \"UPDATE\"]\n        resources: [\"widgets\"]\n  validations:\n    - expression: \"has(object.metadata.labels) && 'owner' in object.metadata.labels\"\n      message: \"widgets need an owner label\"\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: owner-label\nspec:\n  policyName: owner-label\n  validationActions: [Deny]\n"
        )
    };
    let widget =
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: team\n";
    for (mp, matched) in [
        ("", true),
        ("    matchPolicy: Equivalent\n", true),
        ("    matchPolicy: Exact\n", false),
    ] {
        let (f, code) = run(
            &[
                ("apps/policy.yaml", &policy(mp)),
                ("apps/widget.yaml", widget),
            ],
            &["--unverified", "warning"],
        );
        assert_eq!(f.len(), usize::from(matched), "{mp:?}: {f:?}");
        assert_eq!(code, Some(if matched { 1 } else { 0 }), "{mp:?}: {f:?}");
    }
}

/// On an UPDATE the objectSelector matches the old object's labels too: a merge request that
/// drops the selected label is still judged.
#[test]
fn an_update_is_selected_by_its_old_labels_too() {
    let policy = POLICY.replace(
        "    objectSelector:\n      matchExpressions:\n        - key: policy.example.com/skip\n          operator: DoesNotExist\n",
        "    objectSelector:\n      matchLabels:\n        tier: limited\n",
    );
    let repo = Repo::new();
    repo.write("apps/policy.yaml", &policy);
    repo.write("apps/ns.yaml", NAMESPACES);
    repo.write(
        "apps/web.yaml",
        &deployment("prod", 4, "  labels:\n    tier: limited\n"),
    );
    let base = repo.commit("base");
    repo.write("apps/web.yaml", &deployment("prod", 9, ""));
    let out = repo.kgate(&["check", "--format", "json", "--base", &base, "apps"]);
    let f = vap(&out);
    assert!(f.iter().any(|x| x.2 == "replicas 9 exceed 5"), "{f:?}");
    // A new object without the label is not selected.
    repo.write(
        "apps/web.yaml",
        &deployment("prod", 4, "  labels:\n    tier: limited\n"),
    );
    repo.write(
        "apps/api.yaml",
        &deployment("prod", 9, "").replace("name: web\n  namespace", "name: api\n  namespace"),
    );
    let out = repo.kgate(&["check", "--format", "json", "--base", &base, "apps"]);
    assert!(vap(&out).is_empty(), "{:?}", vap(&out));
}
