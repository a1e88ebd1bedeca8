//! `admission/invalid` and `admission/duplicate-key` on pod specs (Pods and every workload's
//! pod template), as k8s.io/kubernetes `pkg/apis/core/validation/validation.go` checks them:
//! unique container names across init, sidecar and app containers (validateInitContainers /
//! validateContainers), unique volume names (ValidateVolumes), volumeMounts and volumeDevices
//! naming a declared volume (validateVolumeMounts; a StatefulSet's volumeClaimTemplates count),
//! unique mount paths, port names (IANA_SVC_NAME, validateContainerPorts), exactly one probe or
//! lifecycle handler (validateHandler), requests ≤ limits (ValidateResourceRequirements), and
//! duplicate env names (a warning: the API server warns, `pkg/api/pod/warnings.go`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::formats::{self, unsubstituted};
use super::quantity;
use super::Ctx;
use crate::diagnostic::Severity;

const INVALID: &str = "admission/invalid";
const DUPLICATE: &str = "admission/duplicate-key";

/// The JSON pointers of the pod specs of a built-in object.
pub fn pod_specs(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("", "Pod") => &["/spec"],
        ("", "PodTemplate") => &["/template/spec"],
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
        | ("batch", "Job")
        | ("", "ReplicationController") => &["/spec/template/spec"],
        ("batch", "CronJob") => &["/spec/jobTemplate/spec/template/spec"],
        _ => &[],
    }
}

const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

pub fn check(cx: &mut Ctx) {
    let group = cx.m.group().to_string();
    let kind = cx.m.resource.kind.clone();
    for spec_ptr in pod_specs(&group, &kind) {
        let Some(spec) = cx.m.json.pointer(spec_ptr).cloned() else {
            continue;
        };
        let mut claim_templates = BTreeSet::new();
        if group == "apps" && kind == "StatefulSet" {
            for t in
                cx.m.json
                    .pointer("/spec/volumeClaimTemplates")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            {
                if let Some(n) = t.pointer("/metadata/name").and_then(Value::as_str) {
                    claim_templates.insert(n.to_string());
                }
            }
        }
        let before = cx.diags.len();
        check_spec(cx, spec_ptr, &spec, &claim_templates);
        if group == "apps" && kind == "StatefulSet" {
            // ValidateStatefulSetSpec does not validate the pod template's spec (a TODO in
            // pkg/apis/apps/validation since 2016): the Pods the controller creates are.
            for d in &mut cx.diags[before..] {
                if d.severity == Severity::Error {
                    d.message.push_str(
                        ": the StatefulSet is accepted, but the API server refuses every Pod it \
                         creates",
                    );
                }
            }
        }
    }
}

fn check_spec(cx: &mut Ctx, ptr: &str, spec: &Value, claim_templates: &BTreeSet<String>) {
    // Volumes: unique names.
    let mut volumes: BTreeMap<String, usize> = BTreeMap::new();
    for (i, v) in spec["volumes"].as_array().into_iter().flatten().enumerate() {
        let Some(name) = v["name"].as_str() else {
            continue;
        };
        if let Some(first) = volumes.get(name) {
            cx.at(
                DUPLICATE,
                Severity::Error,
                format!("duplicate volume name \"{name}\" (also volumes[{first}])"),
                &format!("{ptr}/volumes/{i}/name"),
            );
        } else {
            volumes.insert(name.to_string(), i);
        }
    }
    // Containers: names unique across all container lists.
    let mut names: BTreeMap<(String, bool), (&str, usize)> = BTreeMap::new();
    for list in CONTAINER_LISTS {
        for (i, c) in spec[list].as_array().into_iter().flatten().enumerate() {
            let base = format!("{ptr}/{list}/{i}");
            if let Some(name) = c["name"].as_str() {
                // A repeat within the same list is a duplicate key; across lists, invalid.
                let same_list = names.get(&(format!("{list}/{name}"), true));
                let any_list = names.get(&(name.to_string(), false));
                if let Some((other, j)) = same_list.or(any_list) {
                    let (code, why) = if *other == list {
                        (DUPLICATE, "duplicate container name")
                    } else {
                        (
                                INVALID,
                                "container names must be unique across init, sidecar and app containers:",
                            )
                    };
                    cx.at(
                        code,
                        Severity::Error,
                        format!("{why} \"{name}\" (also {other}[{j}])"),
                        &format!("{base}/name"),
                    );
                }
                names.entry((name.to_string(), false)).or_insert((list, i));
                names
                    .entry((format!("{list}/{name}"), true))
                    .or_insert((list, i));
            }
            check_container(cx, &base, c, &volumes, claim_templates);
        }
    }
}

fn check_container(
    cx: &mut Ctx,
    base: &str,
    c: &Value,
    volumes: &BTreeMap<String, usize>,
    claim_templates: &BTreeSet<String>,
) {
    // Mounts name a declared volume; mount paths are unique.
    let mut paths: BTreeMap<String, usize> = BTreeMap::new();
    for field in ["volumeMounts", "volumeDevices"] {
        for (i, mnt) in c[field].as_array().into_iter().flatten().enumerate() {
            if let Some(name) = mnt["name"].as_str() {
                if !unsubstituted(name)
                    && !volumes.contains_key(name)
                    && !claim_templates.contains(name)
                {
                    cx.at(
                        INVALID,
                        Severity::Error,
                        format!("{field}[{i}] refers to volume \"{name}\", which the pod does not declare"),
                        &format!("{base}/{field}/{i}/name"),
                    );
                }
            }
            if field == "volumeMounts" {
                if let Some(p) = mnt["mountPath"].as_str() {
                    if let Some(first) = paths.get(p) {
                        cx.at(
                            DUPLICATE,
                            Severity::Error,
                            format!(
                                "mountPath \"{p}\" must be unique (also volumeMounts[{first}])"
                            ),
                            &format!("{base}/volumeMounts/{i}/mountPath"),
                        );
                    } else {
                        paths.insert(p.to_string(), i);
                    }
                }
            }
        }
    }
    // Env names: the API server accepts duplicates with a warning (the last one wins).
    let mut env: BTreeMap<String, usize> = BTreeMap::new();
    for (i, e) in c["env"].as_array().into_iter().flatten().enumerate() {
        let Some(name) = e["name"].as_str() else {
            continue;
        };
        if let Some(first) = env.get(name) {
            cx.at(
                DUPLICATE,
                Severity::Warning,
                format!("duplicate env name \"{name}\" (also env[{first}]): the last one wins"),
                &format!("{base}/env/{i}/name"),
            );
        } else {
            env.insert(name.to_string(), i);
        }
    }
    // Ports: IANA service names, unique per container.
    let mut port_names: BTreeMap<String, usize> = BTreeMap::new();
    let mut port_keys: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for (i, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
        if let Some(name) = p["name"].as_str() {
            if !unsubstituted(name) {
                if let Some(why) = formats::port_name(name) {
                    cx.at(
                        INVALID,
                        Severity::Error,
                        format!("port name \"{name}\" is not a valid IANA service name: {why}"),
                        &format!("{base}/ports/{i}/name"),
                    );
                }
            }
            if let Some(first) = port_names.get(name) {
                cx.at(
                    DUPLICATE,
                    Severity::Error,
                    format!("duplicate port name \"{name}\" (also ports[{first}])"),
                    &format!("{base}/ports/{i}/name"),
                );
            } else {
                port_names.insert(name.to_string(), i);
            }
        }
        if let Some(port) = p["containerPort"].as_i64() {
            let proto = p["protocol"].as_str().unwrap_or("TCP").to_string();
            if let Some(first) = port_keys.get(&(port, proto.clone())) {
                cx.at(
                    DUPLICATE,
                    Severity::Warning,
                    format!("duplicate port definition {port}/{proto} (also ports[{first}])"),
                    &format!("{base}/ports/{i}"),
                );
            } else {
                port_keys.insert((port, proto), i);
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get(probe).filter(|p| p.is_object()) {
            one_handler(
                cx,
                &format!("{base}/{probe}"),
                p,
                &["exec", "httpGet", "tcpSocket", "grpc"],
                probe,
            );
        }
    }
    for hook in ["postStart", "preStop"] {
        if let Some(h) = c
            .pointer(&format!("/lifecycle/{hook}"))
            .filter(|p| p.is_object())
        {
            one_handler(
                cx,
                &format!("{base}/lifecycle/{hook}"),
                h,
                &["exec", "httpGet", "tcpSocket", "sleep"],
                hook,
            );
        }
    }
    requests_within_limits(cx, base, c);
}

fn one_handler(cx: &mut Ctx, ptr: &str, v: &Value, handlers: &[&str], what: &str) {
    let set: Vec<&str> = handlers
        .iter()
        .copied()
        .filter(|h| v.get(*h).is_some_and(|x| !x.is_null()))
        .collect();
    let msg = match set.len() {
        0 => format!("{what} must specify a handler ({})", handlers.join(", ")),
        1 => {
            // A named port must be an IANA service name.
            for kind in ["httpGet", "tcpSocket"] {
                if let Some(port) = v.pointer(&format!("/{kind}/port")).and_then(Value::as_str) {
                    if port.parse::<u32>().is_err() && !unsubstituted(port) {
                        if let Some(why) = formats::port_name(port) {
                            cx.at(
                                INVALID,
                                Severity::Error,
                                format!("{what} port \"{port}\" is neither a number nor a valid port name: {why}"),
                                &format!("{ptr}/{kind}/port"),
                            );
                        }
                    }
                }
            }
            return;
        }
        _ => format!(
            "{what} may not specify more than one handler type (has {})",
            set.join(", ")
        ),
    };
    cx.at_key(INVALID, Severity::Error, msg, ptr);
}

fn requests_within_limits(cx: &mut Ctx, base: &str, c: &Value) {
    let (Some(requests), Some(limits)) = (
        c.pointer("/resources/requests").and_then(Value::as_object),
        c.pointer("/resources/limits").and_then(Value::as_object),
    ) else {
        return;
    };
    for (res, req) in requests {
        let Some(lim) = limits.get(res) else { continue };
        let (Some(rq), Some(lq)) = (quantity::from_json(req), quantity::from_json(lim)) else {
            continue;
        };
        let hugepages = res.starts_with("hugepages-");
        if rq > lq || (hugepages && rq != lq) {
            let rel = if hugepages {
                "equal to"
            } else {
                "less than or equal to"
            };
            cx.at(
                INVALID,
                Severity::Error,
                format!(
                    "the {res} request ({}) must be {rel} the {res} limit ({})",
                    show(req),
                    show(lim)
                ),
                &format!(
                    "{base}/resources/requests/{}",
                    crate::yaml::escape_pointer_segment(res)
                ),
            );
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
