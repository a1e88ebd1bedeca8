//! `admission/invalid` on whole objects, as k8s.io/kubernetes validates them in code:
//! a workload's `spec.selector` is not empty and matches its pod template's labels
//! (`pkg/apis/apps/validation`: ValidateDeploymentSpec, ValidateReplicaSetSpec,
//! ValidateDaemonSetSpec, ValidateStatefulSetSpec; `pkg/apis/batch/validation`: ValidateJobSpec
//! with `manualSelector`; `pkg/apis/core/validation`: ValidateReplicationControllerSpec),
//! Service ports (ValidateService: names on every port of a multi-port Service, DNS-1123 label
//! port names, unique names and port+protocol, IANA target port names), CronJob schedules
//! (ValidateCronJobSpec) and Ingress paths and hosts (`pkg/apis/networking/validation`:
//! validateHTTPIngressPath, validateIngressRules).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::formats::{self, unsubstituted};
use super::Ctx;
use crate::diagnostic::Severity;

const INVALID: &str = "admission/invalid";
const DUPLICATE: &str = "admission/duplicate-key";

pub fn check(cx: &mut Ctx) {
    let group = cx.m.group().to_string();
    let kind = cx.m.resource.kind.clone();
    match (group.as_str(), kind.as_str()) {
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") => workload_selector(
            cx,
            "/spec/selector",
            "/spec/template/metadata/labels",
            &kind,
            true,
        ),
        ("batch", "Job") => job(cx, "/spec"),
        ("batch", "CronJob") => {
            cron_job(cx);
            job_template(cx);
        }
        ("", "ReplicationController") => replication_controller(cx),
        ("", "Service") => service(cx),
        ("networking.k8s.io", "Ingress") if cx.m.resource.api_version == "networking.k8s.io/v1" => {
            ingress(cx)
        }
        _ => {}
    }
}

/// Whether a `LabelSelector` (matchLabels + matchExpressions) selects `labels`; None when it
/// cannot be judged (substitution variables, malformed expressions).
pub fn selector_matches(sel: &Value, labels: &Map<String, Value>) -> Option<bool> {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    for (k, v) in sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let v = v.as_str()?;
        if unsubstituted(k) || unsubstituted(v) {
            return None;
        }
        if label(k) != Some(v) {
            return Some(false);
        }
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key")?.as_str()?;
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if unsubstituted(key) || values.iter().any(|v| unsubstituted(v)) {
            return None;
        }
        let ok = match e.get("operator")?.as_str()? {
            "In" => label(key).is_some_and(|l| values.contains(&l)),
            "NotIn" => !label(key).is_some_and(|l| values.contains(&l)),
            "Exists" => label(key).is_some(),
            "DoesNotExist" => label(key).is_none(),
            _ => return None,
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

/// A selector with neither matchLabels nor matchExpressions (it selects everything).
pub fn selector_is_empty(sel: &Value) -> bool {
    sel.get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty)
        && sel
            .get("matchExpressions")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
}

fn template_labels(cx: &Ctx, ptr: &str) -> Option<Map<String, Value>> {
    match cx.m.json.pointer(ptr) {
        Some(Value::Object(m)) => Some(m.clone()),
        None | Some(Value::Null) => Some(Map::new()),
        _ => None,
    }
}

fn workload_selector(cx: &mut Ctx, sel_ptr: &str, labels_ptr: &str, kind: &str, required: bool) {
    let Some(sel) =
        cx.m.json
            .pointer(sel_ptr)
            .filter(|s| s.is_object())
            .cloned()
    else {
        return;
    };
    if selector_is_empty(&sel) {
        if required {
            cx.at(
                INVALID,
                Severity::Error,
                format!("empty selector is invalid for a {kind}: it would select every pod"),
                sel_ptr,
            );
        }
        return;
    }
    let Some(labels) = template_labels(cx, labels_ptr) else {
        return;
    };
    if selector_matches(&sel, &labels) == Some(false) {
        let at = if cx.m.json.pointer(labels_ptr).is_some() {
            labels_ptr
        } else {
            sel_ptr
        };
        cx.at(
            INVALID,
            Severity::Error,
            format!(
                "`spec.selector` does not match the pod template's labels: the {kind} would not own its own pods"
            ),
            at,
        );
    }
}

/// Labels the API server generates for a Job's pods: a selector without `manualSelector` may
/// only name these (ValidateGeneratedSelector).
const GENERATED_JOB_LABELS: [&str; 4] = [
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
];

fn job(cx: &mut Ctx, spec: &str) {
    let manual =
        cx.m.json
            .pointer(&format!("{spec}/manualSelector"))
            .and_then(Value::as_bool)
            == Some(true);
    if !manual {
        // The API server adds `controller-uid` to the selector and requires the result to
        // select exactly the generated labels: a label of the user's own is refused.
        let own =
            cx.m.json
                .pointer(&format!("{spec}/selector/matchLabels"))
                .and_then(Value::as_object)
                .and_then(|m| {
                    m.keys()
                        .find(|k| !GENERATED_JOB_LABELS.contains(&k.as_str()) && !unsubstituted(k))
                        .cloned()
                });
        if let Some(key) = own {
            cx.at(
                INVALID,
                Severity::Error,
                format!(
                    "`selector` not auto-generated: a Job's selector selects `{key}` but \
                     `manualSelector` is not true (the API server generates the selector)"
                ),
                &format!("{spec}/selector"),
            );
        }
        return;
    }
    let sel_ptr = format!("{spec}/selector");
    if cx.m.json.pointer(&sel_ptr).is_none() {
        cx.at_key(
            INVALID,
            Severity::Error,
            "a Job with `manualSelector: true` needs `selector`".into(),
            &format!("{spec}/manualSelector"),
        );
        return;
    }
    workload_selector(
        cx,
        &sel_ptr,
        &format!("{spec}/template/metadata/labels"),
        "Job",
        true,
    );
}

/// A CronJob's Jobs always get a generated selector (ValidateJobTemplateSpec).
fn job_template(cx: &mut Ctx) {
    let spec = "/spec/jobTemplate/spec";
    if cx.m.json.pointer(&format!("{spec}/selector")).is_some() {
        cx.at_key(
            INVALID,
            Severity::Error,
            "`selector` will be auto-generated: a CronJob's jobTemplate must not set one".into(),
            &format!("{spec}/selector"),
        );
    }
    if cx
        .m
        .json
        .pointer(&format!("{spec}/manualSelector"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        cx.at(
            INVALID,
            Severity::Error,
            "a CronJob's jobTemplate does not support `manualSelector: true`".into(),
            &format!("{spec}/manualSelector"),
        );
    }
}

fn replication_controller(cx: &mut Ctx) {
    let Some(sel) =
        cx.m.json
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .cloned()
    else {
        return;
    };
    if sel.is_empty() {
        return;
    }
    let Some(labels) = template_labels(cx, "/spec/template/metadata/labels") else {
        return;
    };
    let as_selector = serde_json::json!({ "matchLabels": sel });
    if selector_matches(&as_selector, &labels) == Some(false) {
        cx.at(
            INVALID,
            Severity::Error,
            "`spec.selector` does not match the pod template's labels".into(),
            "/spec/template/metadata/labels",
        );
    }
}

fn service(cx: &mut Ctx) {
    let Some(ports) =
        cx.m.json
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .cloned()
    else {
        return;
    };
    let external_name =
        cx.m.json.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName");
    let several = ports.len() > 1;
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut keys: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for (i, p) in ports.iter().enumerate() {
        let base = format!("/spec/ports/{i}");
        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
        if several && name.is_empty() {
            cx.at(
                INVALID,
                Severity::Error,
                format!("a Service with several ports must name each one: ports[{i}] has no name"),
                &base,
            );
        }
        if !name.is_empty() && !unsubstituted(name) {
            if let Some(why) = formats::dns1123_label(name) {
                cx.at(
                    INVALID,
                    Severity::Error,
                    format!("Service port name \"{name}\" is not valid: {why}"),
                    &format!("{base}/name"),
                );
            }
            if let Some(first) = names.get(name) {
                cx.at(
                    DUPLICATE,
                    Severity::Error,
                    format!("duplicate Service port name \"{name}\" (also ports[{first}])"),
                    &format!("{base}/name"),
                );
            } else {
                names.insert(name.to_string(), i);
            }
        }
        if let Some(port) = p.get("port").and_then(Value::as_i64) {
            let proto = p
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP")
                .to_string();
            if let Some(first) = keys.get(&(port, proto.clone())) {
                cx.at(
                    DUPLICATE,
                    Severity::Error,
                    format!("duplicate Service port {port}/{proto} (also ports[{first}]): port and protocol must be unique"),
                    &format!("{base}/port"),
                );
            } else {
                keys.insert((port, proto), i);
            }
        }
        if !external_name {
            if let Some(tp) = p.get("targetPort").and_then(Value::as_str) {
                if tp.parse::<u32>().is_err() && !unsubstituted(tp) {
                    if let Some(why) = formats::port_name(tp) {
                        cx.at(
                            INVALID,
                            Severity::Error,
                            format!("targetPort \"{tp}\" is neither a number nor a valid port name: {why}"),
                            &format!("{base}/targetPort"),
                        );
                    }
                }
            }
        }
    }
}

fn cron_job(cx: &mut Ctx) {
    let Some(schedule) =
        cx.m.json
            .pointer("/spec/schedule")
            .and_then(Value::as_str)
            .map(str::to_string)
    else {
        return;
    };
    if unsubstituted(&schedule) {
        return;
    }
    if let Some(why) = super::cron::parse_error(&schedule) {
        cx.at(
            INVALID,
            Severity::Error,
            format!("schedule \"{schedule}\" is not a valid cron schedule: {why}"),
            "/spec/schedule",
        );
    } else if schedule.contains("TZ") {
        // Refused on create since Kubernetes 1.27; an existing CronJob that already has it
        // may keep it, which kgate cannot know outside merge-request mode.
        cx.at(
            INVALID,
            Severity::Warning,
            "a TZ= or CRON_TZ= prefix in `schedule` is refused for new CronJobs: use `spec.timeZone`".into(),
            "/spec/schedule",
        );
    }
}

fn ingress(cx: &mut Ctx) {
    let Some(rules) =
        cx.m.json
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .cloned()
    else {
        return;
    };
    for (i, r) in rules.iter().enumerate() {
        if let Some(host) = r.get("host").and_then(Value::as_str) {
            if !host.is_empty() && !unsubstituted(host) {
                let why = if host.parse::<std::net::IpAddr>().is_ok() {
                    Some("must be a DNS name, not an IP address".to_string())
                } else if host.contains('*') {
                    formats::host_name(host)
                } else {
                    formats::dns1123_subdomain(host)
                };
                if let Some(why) = why {
                    cx.at(
                        INVALID,
                        Severity::Error,
                        format!("Ingress host \"{host}\" is not valid: {why}"),
                        &format!("/spec/rules/{i}/host"),
                    );
                }
            }
        }
        for (j, p) in r
            .pointer("/http/paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let base = format!("/spec/rules/{i}/http/paths/{j}");
            let path = p.get("path").and_then(Value::as_str).unwrap_or("");
            if unsubstituted(path) {
                continue;
            }
            let Some(path_type) = p.get("pathType").and_then(Value::as_str) else {
                continue;
            };
            let why = match path_type {
                "Exact" | "Prefix" => {
                    if !path.starts_with('/') {
                        Some("must be an absolute path (start with '/')".to_string())
                    } else if let Some(seq) = ["//", "/./", "/../", "%2f", "%2F"]
                        .iter()
                        .find(|s| path.contains(**s))
                    {
                        Some(format!("must not contain '{seq}'"))
                    } else {
                        ["/..", "/."]
                            .iter()
                            .find(|s| path.ends_with(**s))
                            .map(|s| format!("cannot end with '{s}'"))
                    }
                }
                "ImplementationSpecific" if !path.is_empty() && !path.starts_with('/') => {
                    Some("must be an absolute path (start with '/')".to_string())
                }
                _ => None,
            };
            if let Some(why) = why {
                cx.at(
                    INVALID,
                    Severity::Error,
                    format!("Ingress path \"{path}\" with pathType {path_type} {why}"),
                    &format!("{base}/path"),
                );
            }
        }
    }
}
