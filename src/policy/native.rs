//! The built-in pack (`policies/*.rego`) compiled by hand to Rust: the same findings, message
//! for message and path for path, at a fraction of the cost.
//!
//! Why it exists: regorus interprets the pack at ~0.3–1 ms per workload and ~0.1–0.3 ms per
//! other object (one combined query, release build), which made policies cost about 6× the
//! schema check; the project's budget is 2×. The Rego files stay the specification: they are
//! what `kgate explain` documents, what `kgate verify --builtin` tests, and what runs with
//! `--builtin-engine rego`. The differential test at the bottom of this file evaluates both
//! engines on thousands of generated objects (well-formed and malformed) plus every fixture
//! and requires identical findings, so a change to one without the other fails `cargo test`.
//!
//! Each function below names the Rego rule it mirrors. Rego details that matter and are
//! reproduced on purpose: a rule body whose `sprintf("%q", …)` gets a non-string yields no
//! finding (regorus errors, and policies run in non-strict mode where an error is undefined);
//! `some k, v in x` walks both arrays (index keys) and objects (string keys); `not x` holds
//! when `x` is undefined or `false`.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use crate::check_error::CheckError;
use crate::yaml::escape_pointer_segment;

/// One finding of the pack, before it becomes a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NativeFinding {
    /// The Rego package the finding comes from (`kgate.resources`).
    pub package: &'static str,
    /// The rule that produced it (`deny` or `warn`).
    pub rule: &'static str,
    pub msg: String,
    /// JSON pointer of the field the finding is about.
    pub pointer: String,
}

/// The compiled pack with the run's configuration.
#[derive(Debug, Clone)]
pub struct NativePack {
    image_tag_pattern: Regex,
    /// `own_registries` of image_tag_commit.rego, without trailing slashes; empty: every
    /// image is the team's own.
    own_registries: Vec<String>,
    versioned: Regex,
    require_cpu_limit: bool,
    /// `apiVersion/kind` → namespaced (as `data.kgate.namespaced`).
    namespaced: BTreeMap<String, bool>,
    digest: Regex,
    quantity: Regex,
}

/// `default_pattern` of image_tag_commit.rego.
const DEFAULT_IMAGE_TAG_PATTERN: &str = r"(^|[-_.])[0-9a-f]{7,40}($|[-_.])";

impl NativePack {
    /// `image_tag_pattern` must already be validated (the config and CLI check it).
    pub fn new(
        image_tag_pattern: Option<&str>,
        own_registries: &[String],
        require_cpu_limit: bool,
    ) -> Result<NativePack, CheckError> {
        let pattern = image_tag_pattern
            .filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_IMAGE_TAG_PATTERN);
        let re = |p: &str| {
            Regex::new(p).map_err(|source| CheckError::PackPattern {
                pattern: p.to_string(),
                source,
            })
        };
        Ok(NativePack {
            image_tag_pattern: re(pattern)?,
            own_registries: own_registries
                .iter()
                .filter(|r| !r.is_empty())
                .map(|r| r.trim_end_matches('/').to_string())
                .collect(),
            versioned: re(r"[0-9]+\.[0-9]+|[0-9]{6,}")?,
            require_cpu_limit,
            namespaced: BTreeMap::new(),
            digest: re(r"@sha256:[0-9a-f]{64}$")?,
            quantity: re(
                r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$",
            )?,
        })
    }

    /// `data.kgate.namespaced`, known once schemas are loaded.
    pub fn set_namespaced(&mut self, namespaced: BTreeMap<String, bool>) {
        self.namespaced = namespaced;
    }

    /// Every finding of the pack on one object, sorted and without duplicates (Rego rules are
    /// sets).
    pub fn evaluate(&self, input: &Value) -> Vec<NativeFinding> {
        self.evaluate_classified(input, &crate::secrets::classify(input))
    }

    /// [`NativePack::evaluate`] with the object's secret fields already classified (a judged
    /// object's [`crate::manifest::Manifest::secrets`], which its redaction reads too).
    pub fn evaluate_classified(
        &self,
        input: &Value,
        secrets: &crate::secrets::ObjectSecrets,
    ) -> Vec<NativeFinding> {
        let mut out = Findings::default();
        let pod_specs = pod_specs(input);
        let containers = containers(&pod_specs);
        self.image_tag_commit(&containers, &mut out);
        self.resources(&containers, &mut out);
        out.0
            .extend(inline_secrets_with(input, &containers, secrets));
        privileged(&containers, &mut out);
        run_as_non_root(&pod_specs, &containers, &mut out);
        host_access(&pod_specs, &mut out);
        probes(input, &containers, &mut out);
        self.namespace(input, &mut out);
        let mut v = out.0;
        v.sort();
        v.dedup();
        v
    }

    // ---- image_tag_commit.rego

    fn image_tag_commit(&self, containers: &[Container], out: &mut Findings) {
        const PKG: &str = "kgate.image_tag_commit";
        for c in containers {
            match c.container.get("image") {
                Some(Value::String(image)) if !self.accepted(image) => {
                    let Some(who) = c.describe() else { continue };
                    let msg = if self.own(image) {
                        format!(
                            "{who} image {} is not pinned to a digest or a commit tag ({}){}",
                            go_quote(image),
                            why_unpinned(image),
                            if self.own_registries.is_empty() {
                                OWN_HINT
                            } else {
                                ""
                            }
                        )
                    } else {
                        format!(
                            "{who} third-party image {} is not pinned to a version ({}): use a \
                             full version tag or a digest",
                            go_quote(image),
                            why_floating(image)
                        )
                    };
                    out.push(PKG, "deny", msg, &c.path, &[Seg::Key("image")]);
                }
                None | Some(Value::Bool(false)) if c.field != "ephemeralContainers" => {
                    let Some(who) = c.describe() else { continue };
                    out.push(PKG, "deny", format!("{who} has no image"), &c.path, &[]);
                }
                _ => {}
            }
        }
    }

    /// `own(image)`: under one of `own_registries`, or every image when none are set.
    fn own(&self, image: &str) -> bool {
        self.own_registries.is_empty()
            || self.own_registries.iter().any(|r| {
                image
                    .strip_prefix(r.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }

    /// `accepted(image)`: pinned, or a third-party image with a versioned tag.
    fn accepted(&self, image: &str) -> bool {
        self.pinned(image)
            || (!self.own(image)
                && !image.contains('@')
                && self.versioned.is_match(image_tag(image)))
    }

    fn pinned(&self, image: &str) -> bool {
        (image.contains("@sha256:") && self.digest.is_match(image))
            || (!image.contains('@') && self.image_tag_pattern.is_match(image_tag(image)))
    }

    // ---- resources.rego

    fn resources(&self, containers: &[Container], out: &mut Findings) {
        const PKG: &str = "kgate.resources";
        let mut required = vec![
            ("requests", "cpu"),
            ("requests", "memory"),
            ("limits", "memory"),
        ];
        if self.require_cpu_limit {
            required.push(("limits", "cpu"));
        }
        for c in containers {
            if c.field != "containers" && c.field != "initContainers" {
                continue;
            }
            let Some(who) = c.describe() else { continue };
            let resources = c.container.get("resources");
            for (kind, name) in &required {
                let has = match index(resources, kind).and_then(|k| index(Some(k), name)) {
                    Some(Value::Null) | None => false,
                    Some(Value::String(s)) => !s.is_empty(),
                    Some(_) => true,
                };
                if !has {
                    let msg = format!("{who} has no {name} {}", singular(kind));
                    out.push(PKG, "deny", msg, &c.path, &[]);
                }
            }
            let requests = index(resources, "requests");
            let limits = index(resources, "limits");
            for (res, req) in entries(requests) {
                let Some(limit) = index_by(limits, &res) else {
                    continue;
                };
                if let (Some(r), Some(l)) = (self.quantity(req), self.quantity(limit)) {
                    if r > l {
                        let msg = format!(
                            "{who} requests more {} ({}) than its limit ({})",
                            res.display(),
                            rego_to_string(req),
                            rego_to_string(limit)
                        );
                        out.push(
                            PKG,
                            "deny",
                            msg,
                            &c.path,
                            &[Seg::Key("resources"), Seg::Key("requests"), res.seg()],
                        );
                    }
                }
            }
            for kind in ["requests", "limits"] {
                for (res, q) in entries(index(resources, kind)) {
                    if self.quantity(q).is_none() {
                        let msg = format!(
                            "{who} has an invalid {} {} quantity {}",
                            res.display(),
                            singular(kind),
                            rego_to_string(q)
                        );
                        out.push(
                            PKG,
                            "deny",
                            msg,
                            &c.path,
                            &[Seg::Key("resources"), Seg::Key(kind), res.seg()],
                        );
                    }
                }
            }
        }
    }

    /// `quantity(q)`: a number, or a string in the Kubernetes quantity grammar.
    fn quantity(&self, q: &Value) -> Option<f64> {
        match q {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if self.quantity.is_match(s) => parse_quantity(s),
            _ => None,
        }
    }

    // ---- namespace.rego

    fn namespace(&self, input: &Value, out: &mut Findings) {
        let (Some(api_version), Some(kind)) = (input.get("apiVersion"), input.get("kind")) else {
            return;
        };
        let key = format!("{}/{}", rego_to_string(api_version), rego_to_string(kind));
        if self.namespaced.get(&key) != Some(&true) {
            return;
        }
        let has_namespace = matches!(
            input.get("metadata").and_then(|m| m.get("namespace")),
            Some(Value::String(ns)) if !ns.is_empty()
        );
        if !has_namespace {
            let msg = format!("{} has no metadata.namespace", rego_to_string(kind));
            out.push("kgate.namespace", "warn", msg, &[Seg::Key("metadata")], &[]);
        }
    }
}

// ---- privileged.rego

fn privileged(containers: &[Container], out: &mut Findings) {
    for c in containers {
        for field in ["privileged", "allowPrivilegeEscalation"] {
            let set = index(c.container.get("securityContext"), field) == Some(&Value::Bool(true));
            if set {
                let Some(who) = c.describe() else { continue };
                let msg = format!("{who} sets securityContext.{field}: true");
                out.push(
                    "kgate.privileged",
                    "deny",
                    msg,
                    &c.path,
                    &[Seg::Key("securityContext"), Seg::Key(field)],
                );
            }
        }
    }
}

// ---- run_as_non_root.rego

fn run_as_non_root(pod_specs: &[PodSpec], containers: &[Container], out: &mut Findings) {
    const PKG: &str = "kgate.run_as_non_root";
    for c in containers {
        let security = c.container.get("securityContext");
        if c.field != "ephemeralContainers" {
            let own = index(security, "runAsNonRoot");
            let pod = index(c.pod_spec.spec.get("securityContext"), "runAsNonRoot");
            let own_key =
                matches!(security, Some(Value::Object(o)) if o.contains_key("runAsNonRoot"));
            let non_root =
                own == Some(&Value::Bool(true)) || (!own_key && pod == Some(&Value::Bool(true)));
            if !non_root {
                if let Some(who) = c.describe() {
                    let msg =
                        format!("{who} does not set runAsNonRoot: true (on itself or on the pod)");
                    out.push(PKG, "warn", msg, &c.path, &[]);
                }
            }
        }
        if is_zero(index(security, "runAsUser")) {
            if let Some(who) = c.describe() {
                let msg = format!("{who} runs as root (runAsUser: 0)");
                out.push(
                    PKG,
                    "warn",
                    msg,
                    &c.path,
                    &[Seg::Key("securityContext"), Seg::Key("runAsUser")],
                );
            }
        }
    }
    for ps in pod_specs {
        if is_zero(index(ps.spec.get("securityContext"), "runAsUser")) {
            out.push(
                PKG,
                "warn",
                "the pod runs as root (runAsUser: 0)".to_string(),
                &ps.path,
                &[Seg::Key("securityContext"), Seg::Key("runAsUser")],
            );
        }
    }
}

// ---- host_access.rego

fn host_access(pod_specs: &[PodSpec], out: &mut Findings) {
    const PKG: &str = "kgate.host_access";
    for ps in pod_specs {
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            if ps.spec.get(field) == Some(&Value::Bool(true)) {
                let msg = format!("the pod shares the node's namespace: {field}: true");
                out.push(PKG, "deny", msg, &ps.path, &[Seg::Key(field)]);
            }
        }
        for (i, v) in entries(ps.spec.get("volumes")) {
            if !truthy(v.get("hostPath")) {
                continue;
            }
            let name = match v.get("name") {
                None => "?".to_string(),
                Some(Value::String(n)) => n.clone(),
                Some(_) => continue,
            };
            let msg = format!(
                "volume {} mounts a path of the node (hostPath)",
                go_quote(&name)
            );
            out.push(
                PKG,
                "deny",
                msg,
                &ps.path,
                &[Seg::Key("volumes"), i.seg(), Seg::Key("hostPath")],
            );
        }
    }
}

// ---- probes.rego

fn probes(input: &Value, containers: &[Container], out: &mut Findings) {
    let kind_ok = matches!(input.get("kind"), Some(Value::String(k)) if k == "Deployment" || k == "StatefulSet");
    if !kind_ok || api_group(input) != "apps" {
        return;
    }
    for c in containers.iter().filter(|c| c.field == "containers") {
        for probe in ["livenessProbe", "readinessProbe"] {
            if truthy(c.container.get(probe)) {
                continue;
            }
            let Some(who) = c.describe() else { continue };
            out.push(
                "kgate.probes",
                "warn",
                format!("{who} has no {probe}"),
                &c.path,
                &[],
            );
        }
    }
}

// ---- lib.rego

/// A path segment of a finding.
#[derive(Debug, Clone)]
enum Seg {
    Key(&'static str),
    Owned(String),
    Index(usize),
}

impl Seg {
    fn push_to(&self, pointer: &mut String) {
        pointer.push('/');
        match self {
            Seg::Key(k) => pointer.push_str(&escape_pointer_segment(k)),
            Seg::Owned(k) => pointer.push_str(&escape_pointer_segment(k)),
            Seg::Index(i) => pointer.push_str(&i.to_string()),
        }
    }
}

/// The key of an entry of an array (its index) or an object (its key).
#[derive(Debug, Clone)]
enum EntryKey<'a> {
    Index(usize),
    Key(&'a str),
}

impl EntryKey<'_> {
    fn seg(&self) -> Seg {
        match self {
            EntryKey::Index(i) => Seg::Index(*i),
            EntryKey::Key(k) => Seg::Owned(k.to_string()),
        }
    }

    /// As `%s`/`%v` print it.
    fn display(&self) -> String {
        match self {
            EntryKey::Index(i) => i.to_string(),
            EntryKey::Key(k) => k.to_string(),
        }
    }
}

#[derive(Default)]
struct Findings(Vec<NativeFinding>);

impl Findings {
    fn push(
        &mut self,
        package: &'static str,
        rule: &'static str,
        msg: String,
        base: &[Seg],
        tail: &[Seg],
    ) {
        let mut pointer = String::new();
        for s in base.iter().chain(tail) {
            s.push_to(&mut pointer);
        }
        self.0.push(NativeFinding {
            package,
            rule,
            msg,
            pointer,
        });
    }
}

struct PodSpec<'a> {
    path: Vec<Seg>,
    spec: &'a serde_json::Map<String, Value>,
}

struct Container<'a> {
    path: Vec<Seg>,
    container: &'a serde_json::Map<String, Value>,
    field: &'static str,
    pod_spec: &'a PodSpec<'a>,
}

impl Container<'_> {
    /// `lib.describe(c)`; `None` where the Rego's `%q` fails (a name that is not a string).
    fn describe(&self) -> Option<String> {
        let word = match self.field {
            "containers" => "container",
            "initContainers" => "init container",
            _ => "ephemeral container",
        };
        match self.container.get("name") {
            None => Some(format!("{word} \"?\"")),
            Some(Value::String(n)) => Some(format!("{word} {}", go_quote(n))),
            Some(_) => None,
        }
    }
}

/// `lib.api_group`: `""` for anything without a `/`, a missing or non-string apiVersion too.
fn api_group(input: &Value) -> &str {
    match input.get("apiVersion") {
        Some(Value::String(v)) if v.contains('/') => v.split('/').next().unwrap_or(""),
        _ => "",
    }
}

fn kind_is(input: &Value, kind: &str) -> bool {
    matches!(input.get("kind"), Some(Value::String(k)) if k == kind)
}

/// `lib.pod_specs`.
fn pod_specs(input: &Value) -> Vec<PodSpec<'_>> {
    let group = api_group(input);
    let mut out = Vec::new();
    let at = |path: &[&str]| -> Option<&serde_json::Map<String, Value>> {
        let mut v = input;
        for k in path {
            v = v.get(*k)?;
        }
        v.as_object()
    };
    let mut add = |path: &[&'static str]| {
        if let Some(spec) = at(path) {
            out.push(PodSpec {
                path: path.iter().map(|k| Seg::Key(k)).collect(),
                spec,
            });
        }
    };
    if kind_is(input, "Pod") && group.is_empty() {
        add(&["spec"]);
    }
    let templated: &[&str] = match input.get("kind").and_then(Value::as_str) {
        Some("Deployment" | "DaemonSet" | "ReplicaSet") => &["apps", "extensions"],
        Some("StatefulSet") => &["apps"],
        Some("Job") => &["batch"],
        Some("ReplicationController") => &[""],
        _ => &[],
    };
    if templated.contains(&group) {
        add(&["spec", "template", "spec"]);
    }
    if kind_is(input, "CronJob") && group == "batch" {
        add(&["spec", "jobTemplate", "spec", "template", "spec"]);
    }
    if kind_is(input, "PodTemplate") && group.is_empty() {
        add(&["template", "spec"]);
    }
    out
}

/// `lib.containers`.
fn containers<'a>(pod_specs: &'a [PodSpec<'a>]) -> Vec<Container<'a>> {
    let mut out = Vec::new();
    for ps in pod_specs {
        for field in ["initContainers", "containers", "ephemeralContainers"] {
            for (i, c) in entries(ps.spec.get(field)) {
                let Value::Object(container) = c else {
                    continue;
                };
                let mut path = ps.path.clone();
                path.push(Seg::Key(field));
                path.push(i.seg());
                out.push(Container {
                    path,
                    container,
                    field,
                    pod_spec: ps,
                });
            }
        }
    }
    out
}

// ---- no_inline_secrets.rego (both engines: the Rego pack calls `kgate.inline_secrets`)

const SECRETS_PKG: &str = "kgate.no_inline_secrets";

/// The findings of `policy/no-inline-secrets` on one object. What is a credential is decided
/// by [`crate::secrets::classify`], the same verdict every output's redaction uses; this
/// only says where the policy looks (container env values, ConfigMap data, Secret data) and
/// words the finding. The Rego pack gets exactly this list from its `kgate.inline_secrets`
/// builtin.
pub fn inline_secrets(input: &Value) -> Vec<NativeFinding> {
    let pod_specs = pod_specs(input);
    let containers = containers(&pod_specs);
    let mut v = inline_secrets_with(input, &containers, &crate::secrets::classify(input));
    v.sort();
    v.dedup();
    v
}

fn inline_secrets_with(
    input: &Value,
    containers: &[Container],
    secrets: &crate::secrets::ObjectSecrets,
) -> Vec<NativeFinding> {
    use crate::secrets::{is_core_secret, Why};
    let mut out = Findings::default();
    if secrets.is_empty() {
        return out.0;
    }
    for c in containers {
        for (i, env) in entries(c.container.get("env")) {
            let tail = [Seg::Key("env"), i.seg(), Seg::Key("value")];
            let mut pointer = String::new();
            for s in c.path.iter().chain(&tail) {
                s.push_to(&mut pointer);
            }
            let Some(found) = secrets.at(&pointer) else {
                continue;
            };
            let Some(who) = c.describe() else { continue };
            let name = env.get("name").map_or("?".to_string(), rego_to_string);
            let msg = if found.why == Why::Name {
                format!("{who} sets env {name} to a literal value that looks like a credential; use valueFrom.secretKeyRef")
            } else {
                format!("{who} sets env {name} to a value that looks like a credential; use valueFrom.secretKeyRef")
            };
            out.push(SECRETS_PKG, "deny", msg, &c.path, &tail);
        }
    }
    let core = api_group(input).is_empty();
    match input.get("kind") {
        Some(Value::String(k)) if k == "ConfigMap" && core => {
            for field in ["data", "binaryData"] {
                for (key, _) in entries(input.get(field)) {
                    let path = [Seg::Key(field), key.seg()];
                    let mut pointer = String::new();
                    path.iter().for_each(|s| s.push_to(&mut pointer));
                    if secrets.touches(&pointer) {
                        let msg = format!(
                            "ConfigMap {field} key {} looks like a credential; store it in an encrypted Secret (SOPS, SealedSecrets) and reference it",
                            go_quote(&key.display())
                        );
                        out.push(SECRETS_PKG, "deny", msg, &path, &[]);
                    }
                }
            }
        }
        Some(Value::String(k))
            if k == "Secret" && is_core_secret(input) && !truthy(input.get("sops")) =>
        {
            // One finding per Secret, listing its plain keys: a Secret is encrypted (or
            // replaced by a SealedSecret or ExternalSecret) as a whole.
            let mut keys: Vec<(&'static str, Vec<String>)> = Vec::new();
            for field in ["data", "stringData"] {
                let prefix = format!("/{field}/");
                let mut plain: Vec<String> = Vec::new();
                for f in &secrets.fields {
                    let Some(rest) = f.pointer.strip_prefix(&prefix) else {
                        continue;
                    };
                    // SOPS keeps every value as ENC[…].
                    if f.why != Why::SecretData || f.texts.iter().all(|t| t.starts_with("ENC[")) {
                        continue;
                    }
                    let key = rest
                        .split('/')
                        .next()
                        .unwrap_or(rest)
                        .replace("~1", "/")
                        .replace("~0", "~");
                    if !plain.contains(&key) {
                        plain.push(key);
                    }
                }
                if !plain.is_empty() {
                    // Sorted: the Rego engine sees objects with sorted keys.
                    plain.sort();
                    keys.push((field, plain));
                }
            }
            if let Some((first, _)) = keys.first() {
                let listed: Vec<String> = keys
                    .iter()
                    .map(|(field, ks)| {
                        let quoted: Vec<String> = ks.iter().map(|k| go_quote(k)).collect();
                        let word = if ks.len() == 1 { "key" } else { "keys" };
                        format!("{field} {word} {}", quoted.join(", "))
                    })
                    .collect();
                let count: usize = keys.iter().map(|(_, ks)| ks.len()).sum();
                let verb = if count == 1 { "is" } else { "are" };
                let msg = format!(
                    "Secret {} {verb} stored in plain text in git; encrypt the Secret with SOPS or use a SealedSecret or ExternalSecret",
                    listed.join(" and ")
                );
                out.push(SECRETS_PKG, "deny", msg, &[Seg::Key(first)], &[]);
            }
        }
        _ => {}
    }
    out.0
}

/// The findings of [`inline_secrets`] as the Rego pack's `deny` set holds them:
/// `[{"msg": …, "path": [segments]}]` (array indices as numbers).
pub fn inline_secrets_rego(input: &Value) -> Value {
    let findings = inline_secrets(input);
    Value::Array(
        findings
            .into_iter()
            .map(|f| {
                // A segment is an index where the object has an array (the Rego path holds a
                // number there), a key elsewhere.
                let mut at = Some(input);
                let path: Vec<Value> = crate::yaml::split_pointer(&f.pointer)
                    .into_iter()
                    .map(|seg| match at {
                        Some(Value::Array(items)) => {
                            let i = seg.parse::<usize>().unwrap_or(usize::MAX);
                            at = items.get(i);
                            Value::from(i)
                        }
                        other => {
                            at = other.and_then(|v| v.get(seg.as_str()));
                            Value::String(seg)
                        }
                    })
                    .collect();
                serde_json::json!({"msg": f.msg, "path": path})
            })
            .collect(),
    )
}

/// Registers `kgate.inline_secrets(obj)` on a Rego engine: [`inline_secrets_rego`] of `obj`.
/// The Rego pack's no_inline_secrets.rego is written against it, so that the Rego engine and the
/// compiled pack take the credential verdict from the same code.
pub fn add_secrets_builtin(engine: &mut regorus::Engine) -> anyhow::Result<()> {
    engine.add_extension(
        "kgate.inline_secrets".to_string(),
        1,
        Box::new(|args: Vec<regorus::Value>| {
            let input = match args.first() {
                Some(v) if *v != regorus::Value::Undefined => {
                    serde_json::from_str::<Value>(&v.to_json_str()?)?
                }
                _ => Value::Null,
            };
            regorus::Value::from_json_str(&inline_secrets_rego(&input).to_string())
        }),
    )
}

// ---- Rego value helpers

/// `some k, v in x`: array entries with their index, object entries with their key.
fn entries(v: Option<&Value>) -> Vec<(EntryKey<'_>, &Value)> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (EntryKey::Index(i), v))
            .collect(),
        Some(Value::Object(o)) => o.iter().map(|(k, v)| (EntryKey::Key(k), v)).collect(),
        _ => Vec::new(),
    }
}

/// `x[key]` for an object key.
fn index<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    v?.as_object()?.get(key)
}

/// `x[k]` for a key found by `some k, _ in y`: an object key or an array index.
fn index_by<'a>(v: Option<&'a Value>, key: &EntryKey) -> Option<&'a Value> {
    match (v?, key) {
        (Value::Object(o), EntryKey::Key(k)) => o.get(*k),
        (Value::Array(a), EntryKey::Index(i)) => a.get(*i),
        _ => None,
    }
}

/// A Rego body statement holds for any defined value but `false`.
fn truthy(v: Option<&Value>) -> bool {
    !matches!(v, None | Some(Value::Bool(false)))
}

fn is_zero(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Number(n)) if n.as_f64() == Some(0.0))
}

fn singular(kind: &str) -> &'static str {
    if kind == "requests" {
        "request"
    } else {
        "limit"
    }
}

/// `tag(image)`: the tag of the last path segment, "" without one.
fn image_tag(image: &str) -> &str {
    let last = image.rsplit('/').next().unwrap_or("");
    match last.split(':').nth(1) {
        Some(t) if last.contains(':') => t,
        _ => "",
    }
}

/// `own_hint` of image_tag_commit.rego.
const OWN_HINT: &str = "; list your own registries under `own_registries:` in .kgate.yaml to hold \
only those to commit tags (third-party images then need a full version or a digest)";

/// `why_floating(image)` of image_tag_commit.rego.
fn why_floating(image: &str) -> String {
    if image.contains('@') {
        "a digest that is not sha256:<64 hex>".to_string()
    } else if image_tag(image).is_empty() {
        "no tag, which means latest".to_string()
    } else {
        format!("tag {} moves to new releases", go_quote(image_tag(image)))
    }
}

/// `why(image)` of image_tag_commit.rego.
fn why_unpinned(image: &str) -> String {
    if image.contains('@') {
        "a digest that is not sha256:<64 hex>".to_string()
    } else if image_tag(image).is_empty() {
        "no tag, which means latest".to_string()
    } else {
        format!(
            "tag {} does not carry a commit id",
            go_quote(image_tag(image))
        )
    }
}

/// A Kubernetes quantity (already matched against the grammar) as a number.
fn parse_quantity(s: &str) -> Option<f64> {
    let (number, factor) = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ]
    .iter()
    .find_map(|(suffix, f)| s.strip_suffix(suffix).map(|n| (n, *f)))
    .unwrap_or((s, 1.0));
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// How regorus's `sprintf` prints a value with `%s`/`%v`.
fn rego_to_string(v: &Value) -> String {
    fn nested(v: &Value) -> String {
        match v {
            Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
            other => rego_to_string(other),
        }
    }
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.is_nan() => "NaN".to_string(),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        Value::Array(a) => format!("[{}]", a.iter().map(nested).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => {
            let mut items: Vec<(&String, &Value)> = o.iter().collect();
            items.sort_by(|a, b| a.0.cmp(b.0));
            let parts: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}: {}", nested(&Value::String((*k).clone())), nested(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Go's `%q` of a string, as regorus implements it.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{0007}' => out.push_str("\\a"),
            '\u{0008}' => out.push_str("\\b"),
            '\u{000C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{000B}' => out.push_str("\\v"),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) <= 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols
/// and the ASCII space. It differs from Go only for unassigned or private-use code points.
fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    // Format characters (Cf), surrogates and private use areas are not printable in Go.
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFFFE | 0xFFFF)
}

#[cfg(test)]
mod differential {
    //! The compiled pack against its Rego: both engines on generated objects (well-formed and
    //! malformed) and on every YAML fixture of the repository must give identical findings.
    use std::sync::Arc;

    use serde_json::{json, Value};

    use crate::manifest::Manifest;
    use crate::policy::{BuiltinEngine, PolicyOptions, PolicySet};
    use crate::source::SourceFile;
    use crate::yaml;

    /// A small deterministic generator (xorshift64*), so that a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
        fn pick(&mut self, items: &[Value]) -> Value {
            items[self.below(items.len())].clone()
        }
    }

    fn images() -> Vec<Value> {
        vec![
            json!("registry.example.com/team/app:release-1179-344b590f"),
            json!("app:latest"),
            json!("app"),
            json!("registry:5000/app"),
            json!("registry:5000/app:v1.2.3"),
            json!("app:v1"),
            json!("app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            json!("app@sha256:short"),
            json!("ghcr.io/acme/api:1.2.3"),
            json!("ghcr.io/acme/api:release-344b590f"),
            json!("nginx:1.25.3"),
            json!("redis:7"),
            json!("nginx:alpine"),
            json!("ubuntu:jammy-20240227"),
            json!(
                "app:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            ),
            json!("app:344b590"),
            json!("app:a:b"),
            json!("app:ABCDEF1234"),
            json!("nginx:1.25-alpine_9f8e7d6c"),
            json!(""),
            json!(false),
            json!(null),
            json!(7),
            json!("ghcr.io/x/y:\"q\"\n"),
        ]
    }

    fn env_names() -> Vec<Value> {
        vec![
            json!("DB_PASSWORD"),
            json!("API_KEY"),
            json!("GITHUB_TOKEN"),
            json!("LOG_LEVEL"),
            json!("PORT"),
            json!("db_pass"),
            json!("USER_PWD"),
            json!("SENTRY_DSN"),
            json!("x"),
            json!(5),
            json!(null),
        ]
    }

    fn env_values() -> Vec<Value> {
        vec![
            json!("hunter2hunter2"),
            json!("info"),
            json!("$(OTHER)"),
            json!("  ${OTHER}  "),
            json!("$notref"),
            json!("abc"),
            json!("   "),
            json!("ghp_abcdefghijklmnopqrstuvwxyz0123"),
            json!("AKIAABCDEFGHIJKLMNOP"),
            json!("-----BEGIN RSA PRIVATE KEY-----\nMIIB"),
            json!("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY"),
            json!("abcdefghijklmnopqrstuvwxyz0123456789"),
            json!("postgres://user:s3cr3tpass@db:5432/app"),
            json!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
            json!("com.example.SomeVeryLongClassName123"),
            json!(42),
            json!(true),
        ]
    }

    fn quantities() -> Vec<Value> {
        vec![
            json!("100m"),
            json!("250m"),
            json!("0.5"),
            json!(1),
            json!(2),
            json!(0.25),
            json!("1Gi"),
            json!("512Mi"),
            json!("2"),
            json!("1e3"),
            json!("1E3"),
            json!("+1"),
            json!(".5"),
            json!("1."),
            json!("100u"),
            json!("5n"),
            json!("1k"),
            json!("1M"),
            json!("1E"),
            json!("abc"),
            json!("1 Gi"),
            json!(""),
            json!(true),
            json!(null),
            json!({"a": 1}),
            json!([1, "x"]),
        ]
    }

    fn container(rng: &mut Rng) -> Value {
        let mut c = serde_json::Map::new();
        match rng.below(10) {
            0 => {}
            1 => {
                c.insert("name".into(), json!(3));
            }
            _ => {
                c.insert(
                    "name".into(),
                    rng.pick(&[json!("app"), json!("side\"car"), json!("init")]),
                );
            }
        }
        if rng.chance(90) {
            c.insert("image".into(), rng.pick(&images()));
        }
        if rng.chance(60) {
            let n = rng.below(4);
            let mut env = Vec::new();
            for _ in 0..n {
                let mut e = serde_json::Map::new();
                if rng.chance(90) {
                    e.insert("name".into(), rng.pick(&env_names()));
                }
                if rng.chance(80) {
                    e.insert("value".into(), rng.pick(&env_values()));
                } else {
                    e.insert(
                        "valueFrom".into(),
                        json!({"secretKeyRef": {"name": "s", "key": "k"}}),
                    );
                }
                env.push(Value::Object(e));
            }
            if rng.chance(10) {
                env.push(json!("not-an-object"));
            }
            c.insert("env".into(), Value::Array(env));
        }
        if rng.chance(80) {
            let mut res = serde_json::Map::new();
            for kind in ["requests", "limits"] {
                if rng.chance(80) {
                    let mut q = serde_json::Map::new();
                    for r in ["cpu", "memory", "ephemeral-storage"] {
                        if rng.chance(60) {
                            q.insert(r.into(), rng.pick(&quantities()));
                        }
                    }
                    let v = if rng.chance(5) {
                        Value::Array(q.into_iter().map(|(_, v)| v).collect())
                    } else {
                        Value::Object(q)
                    };
                    res.insert(kind.into(), v);
                }
            }
            c.insert("resources".into(), Value::Object(res));
        }
        if rng.chance(60) {
            let mut sc = serde_json::Map::new();
            let flags = [json!(true), json!(false), json!("true"), json!(null)];
            for f in ["privileged", "allowPrivilegeEscalation", "runAsNonRoot"] {
                if rng.chance(40) {
                    sc.insert(f.into(), rng.pick(&flags));
                }
            }
            if rng.chance(30) {
                sc.insert(
                    "runAsUser".into(),
                    rng.pick(&[json!(0), json!(0.0), json!(1000), json!("0")]),
                );
            }
            c.insert("securityContext".into(), Value::Object(sc));
        }
        for p in ["livenessProbe", "readinessProbe"] {
            if rng.chance(50) {
                c.insert(
                    p.into(),
                    rng.pick(&[json!({"httpGet": {"port": 80}}), json!(false), json!(null)]),
                );
            }
        }
        Value::Object(c)
    }

    fn pod_spec(rng: &mut Rng) -> Value {
        let mut spec = serde_json::Map::new();
        for field in ["initContainers", "containers", "ephemeralContainers"] {
            let weight = if field == "containers" { 95 } else { 25 };
            if !rng.chance(weight) {
                continue;
            }
            let list: Vec<Value> = (0..1 + rng.below(3)).map(|_| container(rng)).collect();
            let v = match rng.below(20) {
                0 => json!({"main": list[0]}),
                1 => json!("not-a-list"),
                _ => Value::Array(list),
            };
            spec.insert(field.into(), v);
        }
        if rng.chance(50) {
            let mut sc = serde_json::Map::new();
            if rng.chance(60) {
                sc.insert(
                    "runAsNonRoot".into(),
                    rng.pick(&[json!(true), json!(false)]),
                );
            }
            if rng.chance(30) {
                sc.insert("runAsUser".into(), rng.pick(&[json!(0), json!(1000)]));
            }
            spec.insert("securityContext".into(), Value::Object(sc));
        }
        for f in ["hostNetwork", "hostPID", "hostIPC"] {
            if rng.chance(15) {
                spec.insert(
                    f.into(),
                    rng.pick(&[json!(true), json!(false), json!("true")]),
                );
            }
        }
        if rng.chance(40) {
            let vols = vec![
                json!({"name": "data", "hostPath": {"path": "/var"}}),
                json!({"name": "cfg", "configMap": {"name": "x"}}),
                json!({"hostPath": {"path": "/"}}),
                json!({"name": 5, "hostPath": {"path": "/"}}),
                json!({"name": "n", "hostPath": null}),
                json!({"name": "f", "hostPath": false}),
            ];
            let n = 1 + rng.below(3);
            spec.insert(
                "volumes".into(),
                Value::Array((0..n).map(|_| rng.pick(&vols)).collect()),
            );
        }
        Value::Object(spec)
    }

    fn object(rng: &mut Rng) -> Value {
        let kinds = [
            ("v1", "Pod"),
            ("apps/v1", "Deployment"),
            ("apps/v1", "StatefulSet"),
            ("apps/v1", "DaemonSet"),
            ("extensions/v1beta1", "ReplicaSet"),
            ("batch/v1", "Job"),
            ("batch/v1", "CronJob"),
            ("v1", "ReplicationController"),
            ("v1", "PodTemplate"),
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("v1", "Service"),
            ("example.com/v1", "Deployment"),
            ("v1", "Namespace"),
        ];
        let (api, kind) = kinds[rng.below(kinds.len())];
        let mut obj = serde_json::Map::new();
        obj.insert("apiVersion".into(), json!(api));
        obj.insert("kind".into(), json!(kind));
        let mut meta = serde_json::Map::new();
        meta.insert("name".into(), json!("x"));
        match rng.below(4) {
            0 => {}
            1 => {
                meta.insert("namespace".into(), json!(""));
            }
            _ => {
                meta.insert("namespace".into(), json!("team"));
            }
        }
        obj.insert("metadata".into(), Value::Object(meta));
        match kind {
            "Pod" => {
                obj.insert("spec".into(), pod_spec(rng));
            }
            "PodTemplate" => {
                obj.insert("template".into(), json!({"spec": pod_spec(rng)}));
            }
            "CronJob" => {
                obj.insert(
                    "spec".into(),
                    json!({"jobTemplate": {"spec": {"template": {"spec": pod_spec(rng)}}}}),
                );
            }
            "ConfigMap" | "Secret" => {
                let keys = [
                    "password",
                    "db.url",
                    "application.properties",
                    "api_token",
                    "config",
                ];
                let values = [
                    json!("hunter2hunter2"),
                    json!("db.password=s3cr3tvalue\nlog=info"),
                    json!("  token : ${TOKEN}  "),
                    json!("url=https://example.com"),
                    json!("ENC[AES256_GCM,data:abc]"),
                    json!("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY"),
                    json!("ab"),
                    json!(12),
                ];
                for field in ["data", "stringData", "binaryData"] {
                    if rng.chance(50) {
                        let mut m = serde_json::Map::new();
                        for _ in 0..1 + rng.below(3) {
                            m.insert(keys[rng.below(keys.len())].into(), rng.pick(&values));
                        }
                        obj.insert(field.into(), Value::Object(m));
                    }
                }
                if kind == "Secret" && rng.chance(20) {
                    obj.insert(
                        "sops".into(),
                        rng.pick(&[json!({"version": "3"}), json!(false)]),
                    );
                }
            }
            "Service" | "Namespace" => {
                obj.insert("spec".into(), json!({"ports": [{"port": 80}]}));
            }
            _ => {
                obj.insert("spec".into(), json!({"template": {"spec": pod_spec(rng)}}));
            }
        }
        Value::Object(obj)
    }

    fn namespaced() -> std::collections::BTreeMap<String, bool> {
        [
            "v1/Pod",
            "apps/v1/Deployment",
            "apps/v1/StatefulSet",
            "apps/v1/DaemonSet",
            "batch/v1/Job",
            "batch/v1/CronJob",
            "v1/ConfigMap",
            "v1/Secret",
            "v1/Service",
            "v1/PodTemplate",
            "v1/ReplicationController",
        ]
        .iter()
        .map(|k| (k.to_string(), true))
        .chain([("v1/Namespace".to_string(), false)])
        .collect()
    }

    fn engines(require_cpu_limit: bool, pattern: Option<&str>) -> (PolicySet, PolicySet) {
        let set = |engine| {
            let opts = PolicyOptions {
                builtin_engine: engine,
                require_cpu_limit,
                image_tag_pattern: pattern.map(str::to_string),
                // The configuration with a pattern also tells own images from third-party ones.
                own_registries: if pattern.is_some() {
                    vec!["ghcr.io/acme/".into(), "registry.example.com/team".into()]
                } else {
                    Vec::new()
                },
                ..PolicyOptions::default()
            };
            let (mut set, diags) = PolicySet::load(&opts, None).expect("load");
            assert!(diags.is_empty(), "{diags:?}");
            set.prepare(namespaced()).expect("prepare");
            set
        };
        (set(BuiltinEngine::Native), set(BuiltinEngine::Rego))
    }

    fn findings(set: &PolicySet, m: &Manifest) -> Vec<String> {
        let mut engine = set.engine();
        let mut out: Vec<String> = set
            .evaluate(&mut engine, m)
            .into_iter()
            .map(|d| {
                format!(
                    "{} {:?} {} @ {:?} {:?}",
                    d.code, d.severity, d.message, d.path, d.span
                )
            })
            .collect();
        out.sort();
        out
    }

    fn manifests(name: &str, text: &str) -> Vec<Manifest> {
        let file = Arc::new(SourceFile::new(name, text));
        let stream = yaml::parse_stream(&file, &yaml::Limits::default());
        stream
            .documents
            .into_iter()
            .filter_map(|d| d.root)
            .filter(|r| r.to_json().is_object())
            .map(|r| Manifest::from_node(r, file.clone()))
            .collect()
    }

    fn assert_same(native: &PolicySet, rego: &PolicySet, m: &Manifest, what: &str) -> usize {
        let a = findings(native, m);
        let b = findings(rego, m);
        assert_eq!(
            a,
            b,
            "native (left) and Rego (right) differ on {what}:\n{}",
            serde_json::to_string_pretty(&m.json).unwrap_or_default()
        );
        a.len()
    }

    #[test]
    fn native_pack_matches_rego_on_generated_objects() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let configs = [(false, None), (true, Some(r"^v[0-9]+(\.[0-9]+)*$"))];
        let mut total = 0;
        for (cpu, pattern) in configs {
            let (native, rego) = engines(cpu, pattern);
            for i in 0..600 {
                let obj = object(&mut rng);
                let text = serde_json::to_string(&obj).expect("json");
                for m in manifests("generated.yaml", &text) {
                    total += assert_same(&native, &rego, &m, &format!("generated object {i}"));
                }
            }
        }
        // The generator must exercise the pack, not only clean objects.
        assert!(total > 1000, "only {total} findings generated");
    }

    #[test]
    fn native_pack_matches_rego_on_every_fixture() {
        let (native, rego) = engines(false, None);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["tests", "examples"] {
            files.extend(super::super::walk(&root.join(dir), &["yaml", "yml"]));
        }
        let mut checked = 0;
        for f in files {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            if text.len() > 1_000_000 {
                continue;
            }
            for m in manifests(&f.to_string_lossy(), &text) {
                assert_same(&native, &rego, &m, &f.to_string_lossy());
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} fixture objects");
    }
}
