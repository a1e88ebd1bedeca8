//! OPA Gatekeeper offline: `ConstraintTemplate`s and their constraints found among the checked
//! objects are compiled once and evaluated on every object a constraint matches, as Gatekeeper's
//! admission webhook would (`input.review`, `input.parameters`, `data.inventory`).

pub mod builtins;
pub mod matching;
mod rego_compat;
pub mod suite;

use std::collections::BTreeMap;

use regorus::{Engine, Value};
use serde_json::{json, Value as Json};

use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::manifest::Manifest;

pub const INVALID_TEMPLATE: &str = "gatekeeper/invalid-template";
pub const INVALID_PARAMETERS: &str = "gatekeeper/invalid-parameters";
pub const UNKNOWN_CONSTRAINT: &str = "gatekeeper/unknown-constraint";
pub const EVAL_ERROR: &str = "gatekeeper/eval-error";
const TARGET: &str = "admission.k8s.gatekeeper.sh";

fn is_template(m: &Manifest) -> bool {
    m.resource.kind == "ConstraintTemplate" && m.group() == "templates.gatekeeper.sh"
}

fn is_constraint(m: &Manifest) -> bool {
    m.group() == "constraints.gatekeeper.sh"
}

/// The versions Gatekeeper serves every constraint kind at: the constraint framework's
/// `crds.CreateCRD` serves v1beta1 (storage) and v1alpha1; Gatekeeper 3.x also serves v1 (its
/// docs' constraints use `constraints.gatekeeper.sh/v1`).
const CONSTRAINT_VERSIONS: &[&str] = &["v1beta1", "v1alpha1", "v1"];

/// The CRDs Gatekeeper creates for the constraint kinds of these ConstraintTemplates (other
/// objects are ignored), as the constraint framework shapes them (`crds.CreateCRD` and
/// `crds.CreateSchema`: `enforcementAction` a string, `status` open): cluster-scoped, served at
/// every constraint version, `spec.match` and `spec.enforcementAction`. `spec.parameters` is
/// left open here: `gatekeeper/invalid-parameters` already checks it against the template's
/// schema, with Gatekeeper's own rules for legacy (non-structural) schemas. Without these, every
/// constraint whose template is in the run was "not verified".
pub fn constraint_crds<'a>(
    templates: impl Iterator<Item = &'a Manifest>,
) -> Vec<crate::schema::crd::CrdSchema> {
    let mut out = Vec::new();
    for t in templates.filter(|m| is_template(m)) {
        let Some(kind) = t
            .json
            .pointer("/spec/crd/spec/names/kind")
            .and_then(|k| k.as_str())
        else {
            continue; // A template without a kind has its own finding.
        };
        let schema = json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    // Newer Gatekeeper versions add spec fields (scopedEnforcementActions, …).
                    "x-kubernetes-preserve-unknown-fields": true,
                    "properties": {
                        "enforcementAction": {"type": "string"},
                        "match": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "parameters": {"x-kubernetes-preserve-unknown-fields": true},
                    },
                },
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            },
        });
        let versions: Vec<serde_json::Value> = CONSTRAINT_VERSIONS
            .iter()
            .map(|v| {
                json!({
                    "name": v,
                    "served": true,
                    "storage": *v == "v1beta1",
                    "schema": {"openAPIV3Schema": schema},
                })
            })
            .collect();
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {
                "group": "constraints.gatekeeper.sh",
                "names": {"kind": kind},
                "scope": "Cluster",
                "versions": versions,
            },
        });
        // The template's file is where the schema comes from, as a CRD's file is.
        if let Ok(schemas) = crate::schema::crd::schemas_from_crd(&crd, &t.file.path) {
            out.extend(schemas);
        }
    }
    out
}

/// One compiled template: its own engine (templates may reuse package names, and each has its
/// own Rego version), the package whose `violation` rule is queried, the parameters schema.
#[derive(Clone)]
struct Template {
    engine: Engine,
    query: String,
    file: String,
    schema: Option<std::sync::Arc<jsonschema::Validator>>,
}

/// A constraint: which template, what it matches, its parameters and enforcement.
#[derive(Clone)]
pub(crate) struct Constraint {
    pub kind: String,
    pub name: String,
    pub matcher: Json,
    pub parameters: Json,
    pub severity: Severity,
}

/// The templates and constraints of a run, compiled and ready to clone per worker.
#[derive(Clone, Default)]
pub struct GatekeeperSet {
    templates: BTreeMap<String, Template>,
    constraints: Vec<Constraint>,
    /// Namespace name → labels, from the Namespace objects among the checked objects.
    namespaces: BTreeMap<String, Json>,
    /// `apiVersion/kind` → namespaced, for `scope` and the inventory.
    namespaced: BTreeMap<String, bool>,
}

impl GatekeeperSet {
    /// The codes this set can report: `gatekeeper/<kind>/<name>` of every constraint.
    pub fn codes(&self) -> Vec<String> {
        self.constraints
            .iter()
            .map(|c| format!("gatekeeper/{}/{}", c.kind, c.name))
            .collect()
    }
}

/// Per-worker engines (one per template), cloned from the prepared ones.
pub type Engines = BTreeMap<String, Engine>;

impl GatekeeperSet {
    /// Reads templates and constraints from `manifests`; templates are compiled once, with
    /// `data.inventory` built from every object. Bad templates/parameters are findings.
    pub fn load(
        manifests: &[Manifest],
        is_namespaced: &dyn Fn(&str, &str) -> Option<bool>,
    ) -> (GatekeeperSet, Vec<Diagnostic>) {
        Self::load_with_policies(manifests, &[], is_namespaced)
    }

    /// As [`GatekeeperSet::load`], with more templates and constraints from `--policy`
    /// folders (`policy_objects`): they take part in the gate but are not checked objects, so
    /// they are neither evaluated nor in `data.inventory`.
    pub fn load_with_policies(
        manifests: &[Manifest],
        policy_objects: &[Manifest],
        is_namespaced: &dyn Fn(&str, &str) -> Option<bool>,
    ) -> (GatekeeperSet, Vec<Diagnostic>) {
        let mut set = GatekeeperSet::default();
        let mut diags = Vec::new();
        let gatekeeper_objects: Vec<&Manifest> = policy_objects
            .iter()
            .chain(manifests)
            .filter(|m| is_template(m) || is_constraint(m))
            .collect();
        if gatekeeper_objects.is_empty() {
            return (set, diags);
        }
        for m in manifests {
            let key = format!("{}/{}", m.resource.api_version, m.resource.kind);
            set.namespaced.entry(key).or_insert_with(|| {
                is_namespaced(&m.resource.api_version, &m.resource.kind)
                    .unwrap_or(m.resource.namespace.is_some())
            });
            if m.resource.kind == "Namespace" && m.group().is_empty() {
                let labels = m.json.pointer("/metadata/labels").cloned();
                set.namespaces
                    .insert(m.resource.name.clone(), labels.unwrap_or(json!({})));
            }
        }
        let inventory = Value::from(json!({ "inventory": set.inventory(manifests) }));
        // Kinds whose template is present but unusable: its finding already explains why their
        // constraints do nothing, so they get no second "no template" finding.
        let mut broken_kinds = std::collections::BTreeSet::new();
        for m in gatekeeper_objects
            .iter()
            .copied()
            .filter(|m| is_template(m))
        {
            match compile_template(m, &inventory) {
                Ok((kind, t)) => {
                    set.templates.insert(kind, t);
                }
                Err(d) => {
                    if let Some(kind) = m
                        .json
                        .pointer("/spec/crd/spec/names/kind")
                        .and_then(Json::as_str)
                    {
                        broken_kinds.insert(kind.to_string());
                    }
                    diags.push(*d)
                }
            }
        }
        for m in gatekeeper_objects
            .iter()
            .copied()
            .filter(|m| is_constraint(m))
        {
            let Some(t) = set.templates.get(&m.resource.kind) else {
                if broken_kinds.contains(&m.resource.kind) {
                    continue;
                }
                diags.push(
                    Diagnostic::warning(
                        UNKNOWN_CONSTRAINT,
                        format!(
                            "no ConstraintTemplate among the checked objects or policy folders defines kind `{}`: this constraint is not evaluated",
                            m.resource.kind
                        ),
                    )
                    .in_file(m.file.path.clone(), Some(m.span_at("/kind")))
                    .with_resource(Some(m.resource.clone())),
                );
                continue;
            };
            let parameters = m
                .json
                .pointer("/spec/parameters")
                .cloned()
                .unwrap_or(Json::Null);
            if let (Some(schema), false) = (&t.schema, parameters.is_null()) {
                let mut errors: Vec<_> = schema
                    .iter_errors(&parameters)
                    .map(|e| (e.instance_path().to_string(), e.to_string()))
                    .collect();
                errors.sort();
                errors.dedup();
                if !errors.is_empty() {
                    for (at, msg) in errors {
                        let pointer = format!("/spec/parameters{at}");
                        diags.push(
                            Diagnostic::error(
                                INVALID_PARAMETERS,
                                format!("parameter {pointer} does not match the template's schema: {msg}"),
                            )
                            .in_file(m.file.path.clone(), Some(m.span_at(&pointer)))
                            .with_resource(Some(m.resource.clone()))
                            .with_path(pointer),
                        );
                    }
                    // Gatekeeper's API server rejects such a constraint: it never enforces.
                    continue;
                }
            }
            let action = m
                .json
                .pointer("/spec/enforcementAction")
                .and_then(Json::as_str)
                .unwrap_or("deny");
            let severity = match action {
                "warn" => Severity::Warning,
                "dryrun" => Severity::Note,
                _ => Severity::Error,
            };
            set.constraints.push(Constraint {
                kind: m.resource.kind.clone(),
                name: m.resource.name.clone(),
                matcher: m.json.pointer("/spec/match").cloned().unwrap_or(json!({})),
                parameters: if parameters.is_null() {
                    json!({})
                } else {
                    parameters
                },
                severity,
            });
        }
        set.constraints
            .sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
        (set, diags)
    }

    pub fn is_empty(&self) -> bool {
        self.constraints.is_empty()
    }

    /// The prepared engines, to clone once per worker.
    pub fn engines(&self) -> Engines {
        if self.constraints.is_empty() {
            return Engines::new();
        }
        self.templates
            .iter()
            .map(|(k, t)| (k.clone(), t.engine.clone()))
            .collect()
    }

    /// `data.inventory` as Gatekeeper's sync cache would hold these objects.
    fn inventory(&self, manifests: &[Manifest]) -> Json {
        let mut namespace = serde_json::Map::new();
        let mut cluster = serde_json::Map::new();
        for m in manifests {
            let r = &m.resource;
            let key = format!("{}/{}", r.api_version, r.kind);
            let root = match (&r.namespace, self.namespaced.get(&key)) {
                (Some(ns), _) => namespace
                    .entry(ns.clone())
                    .or_insert_with(|| json!({}))
                    .as_object_mut(),
                (None, Some(true)) => continue,
                (None, _) => Some(&mut cluster),
            };
            let Some(root) = root else { continue };
            let by_kind = root
                .entry(r.api_version.clone())
                .or_insert_with(|| json!({}));
            if let Some(by_kind) = by_kind.as_object_mut() {
                let by_name = by_kind.entry(r.kind.clone()).or_insert_with(|| json!({}));
                if let Some(by_name) = by_name.as_object_mut() {
                    by_name.insert(r.name.clone(), m.json.clone());
                }
            }
        }
        json!({ "namespace": namespace, "cluster": cluster })
    }

    fn object_namespaced(&self, m: &Manifest) -> bool {
        let key = format!("{}/{}", m.resource.api_version, m.resource.kind);
        self.namespaced
            .get(&key)
            .copied()
            .unwrap_or(m.resource.namespace.is_some())
    }

    /// Every violation of every constraint that matches `m`, reviewed as a CREATE.
    pub fn evaluate(&self, engines: &mut Engines, m: &Manifest) -> Vec<Diagnostic> {
        // The review copies the whole object: not built for a run without constraints.
        if self.constraints.is_empty() {
            return Vec::new();
        }
        self.evaluate_review(engines, m, &review_for(m))
    }

    /// Every violation of every constraint that matches `m`, with `review` as `input.review`
    /// (a gator case may give a whole AdmissionReview request: UPDATE, DELETE, userInfo).
    pub fn evaluate_review(
        &self,
        engines: &mut Engines,
        m: &Manifest,
        review: &Json,
    ) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for c in &self.constraints {
            let namespaced = self.object_namespaced(m);
            if !matching::matches(&c.matcher, m, namespaced, &self.namespaces) {
                continue;
            }
            for v in self.violations(engines, c, m, review, &mut out) {
                out.push(v);
            }
        }
        out
    }

    /// The violations of one constraint on one object (evaluation errors go to `errors`).
    fn violations(
        &self,
        engines: &mut Engines,
        c: &Constraint,
        m: &Manifest,
        review: &Json,
        errors: &mut Vec<Diagnostic>,
    ) -> Vec<Diagnostic> {
        let (Some(t), Some(engine)) = (self.templates.get(&c.kind), engines.get_mut(&c.kind))
        else {
            return Vec::new();
        };
        engine.set_input(Value::from(
            json!({ "review": review, "parameters": c.parameters }),
        ));
        let value = match engine.eval_rule(t.query.clone()) {
            Ok(v) => v,
            Err(e) if crate::policy::is_time_limit(&e) => {
                errors.push(m.diagnostic(
                    crate::policy::TIMEOUT,
                    crate::diagnostic::Severity::Error,
                    format!(
                        "the violation rule of ConstraintTemplate {} (constraint {}) ran longer than \
the policy time limit (--policy-timeout / `policy_timeout`) on this object; it was not evaluated here",
                        c.kind, c.name
                    ),
                    None,
                ));
                return Vec::new();
            }
            Err(e) => {
                let mut d = crate::policy::regorus_error(
                    EVAL_ERROR,
                    &format!("{e:#}"),
                    &t.file,
                    None,
                    &format!("template for {} failed", c.kind),
                );
                let at = m.span();
                d.related.push(Related {
                    message: format!("while checking {}", m.resource),
                    file: m.file.path.clone(),
                    line: at.line,
                    column: at.col,
                });
                errors.push(d);
                return Vec::new();
            }
        };
        let code = format!("gatekeeper/{}/{}", c.kind, c.name);
        results(&value)
            .into_iter()
            .map(|r| finding(&code, c.severity, &r, m))
            .collect()
    }
}

/// The ConstraintTemplates and constraints (and ValidatingAdmissionPolicies with their
/// bindings) in the YAML files of the `--policy` folders (read
/// from `sources` in merge-request mode). Other YAML there (gator suites, samples, data) is not
/// ours: files without a template or constraint are skipped, problems included.
pub fn policy_objects(
    files: &crate::source::Files,
    opts: &crate::policy::PolicyOptions,
) -> (Vec<Manifest>, Vec<Diagnostic>) {
    let texts: Vec<(String, Result<Vec<u8>, Diagnostic>)> = match &opts.sources {
        Some(sources) => sources
            .gatekeeper
            .iter()
            .map(|(display, text)| (display.clone(), Ok(text.clone().into_bytes())))
            .collect(),
        None => opts
            .dirs
            .iter()
            .flat_map(|d| crate::policy::walk(std::path::Path::new(d), &["yaml", "yml"]))
            .map(|f| {
                let display = f.to_string_lossy().to_string();
                let bytes = crate::read_guard::read_named(&f, crate::policy::MAX_POLICY_FILE)
                    .map_err(|e| {
                        Diagnostic::error(INVALID_TEMPLATE, format!("cannot read: {e}"))
                            .in_file(display.clone(), None)
                    });
                (display, bytes)
            })
            .collect(),
    };
    let mut objects = Vec::new();
    let mut diags = Vec::new();
    for (display, bytes) in texts {
        // A file of the policy folder that cannot be read at all (a device, a FIFO, a link out
        // of the repository) may be a template: said, never skipped in silence.
        let bytes = match bytes {
            Ok(b) => b,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let loaded = crate::gather::load_bytes(files, &display, Ok(bytes), &Default::default());
        // ValidatingAdmissionPolicies and their bindings are policy objects too (check/vap.rs).
        let ours = |m: &Manifest| {
            is_template(m)
                || is_constraint(m)
                || crate::check::vap::is_policy(m)
                || crate::check::vap::is_binding(m)
        };
        if !loaded.manifests.iter().any(ours) {
            continue;
        }
        diags.extend(loaded.diagnostics);
        objects.extend(loaded.manifests.into_iter().filter(ours));
    }
    (objects, diags)
}

/// Whether the `--policy` folders hold Gatekeeper objects and no Rego module: then the Rego
/// engine's "nothing is enforced" warning is wrong, the folders enforce through Gatekeeper.
pub fn policy_folders_are_gatekeeper_only(
    opts: &crate::policy::PolicyOptions,
    policy_objects: &[Manifest],
) -> bool {
    let no_rego = match &opts.sources {
        Some(sources) => sources.modules.is_empty(),
        None => opts
            .dirs
            .iter()
            .all(|d| crate::policy::walk(std::path::Path::new(d), &["rego"]).is_empty()),
    };
    no_rego && !policy_objects.is_empty()
}

/// `input.review` as Gatekeeper's webhook builds it for the creation of `m` by an anonymous
/// user: the object, its group/version/kind, name, namespace, operation CREATE.
pub fn review_for(m: &Manifest) -> Json {
    let (group, version) = match m.resource.api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", m.resource.api_version.as_str()),
    };
    json!({
        "object": m.json,
        "kind": { "group": group, "version": version, "kind": m.resource.kind },
        "name": m.resource.name,
        "namespace": m.resource.namespace.clone().unwrap_or_default(),
        "operation": "CREATE",
        "userInfo": {},
    })
}

fn results(v: &Value) -> Vec<Json> {
    let items: Vec<Value> = match v {
        Value::Set(s) => s.iter().cloned().collect(),
        Value::Array(a) => a.iter().cloned().collect(),
        _ => Vec::new(),
    };
    items
        .iter()
        .map(|i| serde_json::to_value(i).unwrap_or(Json::Null))
        .collect()
}

/// A `{msg, details}` result as a finding, at `details.path` (or `details.field`) when it
/// resolves inside the object.
fn finding(code: &str, severity: Severity, r: &Json, m: &Manifest) -> Diagnostic {
    let msg = match r.get("msg") {
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "violation".to_string(),
    };
    let details = r.get("details").and_then(Json::as_object).cloned();
    let pointer = details
        .as_ref()
        .and_then(|d| d.get("path").or_else(|| d.get("field")))
        .and_then(crate::policy::path_to_pointer)
        .filter(|p| m.json.pointer(p).is_some());
    let mut d = m.diagnostic(code, severity, msg, pointer);
    d.details = details.filter(|d| !d.is_empty());
    d
}

/// Rego of the admission target: `code[engine=Rego].source` when present, else `rego`/`libs`;
/// v1 when the source says `version: v1` or imports `rego.v1`, else v0 as Gatekeeper defaults.
fn target_sources(target: &Json) -> (Option<String>, Vec<String>, bool, &'static str) {
    let rego_code = target.get("code").and_then(Json::as_array).and_then(|c| {
        c.iter()
            .find(|e| e.get("engine").and_then(Json::as_str) == Some("Rego"))
    });
    let (src, pointer) = match rego_code.and_then(|c| c.get("source")) {
        Some(s) if s.get("rego").is_some() => (s, "source"),
        _ => (target, "target"),
    };
    let rego = src.get("rego").and_then(Json::as_str).map(str::to_string);
    let libs: Vec<String> = src
        .get("libs")
        .and_then(Json::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let declared_v1 = src.get("version").and_then(Json::as_str) == Some("v1");
    let imports_v1 = rego
        .iter()
        .chain(libs.iter())
        .any(|t| t.lines().any(|l| l.trim() == "import rego.v1"));
    (rego, libs, declared_v1 || imports_v1, pointer)
}

fn compile_template(
    m: &Manifest,
    inventory: &Value,
) -> Result<(String, Template), Box<Diagnostic>> {
    let bad = |msg: String, pointer: &str| {
        Box::new(
            Diagnostic::error(INVALID_TEMPLATE, msg)
                .in_file(m.file.path.clone(), Some(m.span_at(pointer)))
                .with_resource(Some(m.resource.clone())),
        )
    };
    let kind = m
        .json
        .pointer("/spec/crd/spec/names/kind")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("spec.crd.spec.names.kind is missing".into(), "/spec"))?
        .to_string();
    let targets = m
        .json
        .pointer("/spec/targets")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(index) = targets
        .iter()
        .position(|t| t.get("target").and_then(Json::as_str) == Some(TARGET))
    else {
        return Err(bad(
            format!("no target `{TARGET}` in spec.targets"),
            "/spec",
        ));
    };
    let target = &targets[index];
    let at = format!("/spec/targets/{index}");
    let (rego, libs, v1, _) = target_sources(target);
    let Some(rego) = rego else {
        return Err(bad(format!("target `{TARGET}` has no rego"), &at));
    };
    let rego_at = if target.get("rego").is_some() {
        format!("{at}/rego")
    } else {
        at.clone()
    };
    let mut engine = Engine::new();
    engine.set_strict_builtin_errors(false);
    engine.set_rego_v0(!v1);
    if let Err(e) =
        builtins::add_to(&mut engine).and_then(|_| crate::policy::guard::add_to(&mut engine))
    {
        return Err(bad(format!("cannot add builtins: {e}"), &at));
    }
    let name = format!("{}#{}", m.file.path, kind);
    // Rego that OPA reads and regorus' parser does not is rewritten to its OPA meaning first.
    let rego = rego_compat::rewrite(&rego);
    if let Err(e) = engine.add_policy(name.clone(), rego.clone()) {
        let err = format!("{e:#}");
        let mut d = bad(
            format!(
                "the Rego of template {kind} does not compile: {}",
                short_error(&err)
            ),
            &rego_at,
        );
        if let Some(span) = rego_position(m, &rego_at, &rego, &err) {
            d.span = Some(span);
        }
        return Err(d);
    }
    for (i, lib) in libs.iter().enumerate() {
        if let Err(e) = engine.add_policy(format!("{name}#lib{i}"), rego_compat::rewrite(lib)) {
            return Err(bad(
                format!(
                    "lib {i} of template {kind} does not compile: {}",
                    short_error(&format!("{e:#}"))
                ),
                &format!("{at}/libs/{i}"),
            ));
        }
    }
    // A function that calls itself would overflow the stack in the compile run below (and on
    // every object): refuse the template first, at the function, as OPA's compiler does.
    if let Some(c) = crate::policy::recursion::find(engine.get_modules())
        .into_iter()
        .next()
    {
        let lib = c
            .path
            .strip_prefix(&format!("{name}#lib"))
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| Some((i, libs.get(i)?)));
        let (pointer, source) = match lib {
            Some((i, text)) => (format!("{at}/libs/{i}"), text),
            None => (rego_at.clone(), &rego),
        };
        let err = c.as_regorus_error();
        let mut d = bad(
            format!(
                "the Rego of template {kind} does not compile: {}",
                c.message()
            ),
            &pointer,
        );
        if let Some(span) = rego_position(m, &pointer, source, &err) {
            d.span = Some(span);
        }
        return Err(d);
    }
    let package = engine
        .get_modules()
        .first()
        .map(|m| m.package.refr.span().text().to_string())
        .unwrap_or_default();
    engine.set_rego_v0(false);
    if let Err(e) = engine.add_data(inventory.clone()) {
        return Err(bad(format!("cannot add data.inventory: {e}"), &at));
    }
    let query = format!("data.{package}.violation");
    engine.set_input(Value::new_object());
    // The compile run evaluates the rule on an empty input: a template that computes without
    // end must not hang the run here either (the per-object limit is armed per worker).
    crate::policy::arm_timer(&mut engine, Some(crate::limits::DEFAULT_POLICY_TIMEOUT));
    // Compiles (analysis, scheduling) once so worker clones start ready; a rule that cannot be
    // resolved (an unknown builtin) shows up here.
    if let Err(e) = engine.eval_rule(query.clone()) {
        return Err(bad(
            format!(
                "the Rego of template {kind} does not compile: {}",
                short_error(&format!("{e:#}"))
            ),
            &rego_at,
        ));
    }
    let schema = match m.json.pointer("/spec/crd/spec/validation/openAPIV3Schema") {
        Some(s) => {
            let js = crate::schema::crd::structural_to_json_schema(s, true);
            match jsonschema::validator_for(&js) {
                Ok(v) => Some(std::sync::Arc::new(v)),
                Err(e) => {
                    return Err(bad(
                        format!("the parameters schema of template {kind} is not valid: {e}"),
                        "/spec/crd/spec/validation/openAPIV3Schema",
                    ))
                }
            }
        }
        None => None,
    };
    Ok((
        kind,
        Template {
            engine,
            query,
            file: m.file.path.clone(),
            schema,
        },
    ))
}

/// regorus' error with its `file:line:col` pointer kept as "line L col C of the Rego".
fn short_error(err: &str) -> String {
    let message = err
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| err.trim());
    let re = regex::Regex::new(r"--> .*:(\d+):(\d+)").expect("static regex");
    match re.captures(err) {
        Some(c) => format!("{message} (line {} column {} of the Rego)", &c[1], &c[2]),
        None => message.to_string(),
    }
}

/// The YAML position of a regorus error inside a block-scalar `rego` field: the scalar's first
/// content line plus the Rego line, shifted by the block's indentation.
fn rego_position(
    m: &Manifest,
    pointer: &str,
    rego: &str,
    err: &str,
) -> Option<crate::source::Span> {
    let re = regex::Regex::new(r"--> .*:(\d+):(\d+)").expect("static regex");
    let c = re.captures(err)?;
    let line: usize = c[1].parse().ok()?;
    let col: usize = c[2].parse().ok()?;
    let at = m.span_at(pointer);
    let first = rego.lines().next()?;
    let text = m.file.text.get(at.start..)?;
    // Only a block scalar keeps the Rego's lines as they are; anything else stays at the field.
    if !text.starts_with(first) || first.is_empty() {
        return None;
    }
    let yaml_line = at.line as usize + line - 1;
    let yaml_col = at.col as usize - 1 + col - 1;
    Some(m.file.span(yaml_line, yaml_col, yaml_line, yaml_col + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Files;

    fn manifests(text: &str) -> Vec<Manifest> {
        let files = Files::new();
        let file = files.add("t.yaml", text);
        crate::load::load_file(&files, &file, &Default::default()).manifests
    }

    fn template(kind: &str, target: &str) -> String {
        format!(
            "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: t\n\
             spec:\n  crd:\n    spec:\n      names:\n        kind: {kind}\n  targets:\n{target}"
        )
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n";

    #[test]
    fn rego_version_is_detected_per_template() {
        let v0 = json!({"rego": "package x\nviolation[{\"msg\": \"m\"}] { true }\n"});
        assert!(!target_sources(&v0).2);
        let import = json!({"rego": "package x\nimport rego.v1\nviolation contains {\"msg\": \"m\"} if { true }\n"});
        assert!(target_sources(&import).2);
        let declared =
            json!({"code": [{"engine": "Rego", "source": {"version": "v1", "rego": "package x"}}]});
        let (rego, _, v1, _) = target_sources(&declared);
        assert!(v1);
        assert_eq!(rego.as_deref(), Some("package x"));
    }

    #[test]
    fn import_rego_v1_template_evaluates() {
        let t = template(
            "K8sDenyAll",
            "    - target: admission.k8s.gatekeeper.sh\n      rego: |\n        package denyall\n        import rego.v1\n\
             \n        violation contains {\"msg\": sprintf(\"no %v\", [input.review.kind.kind])} if {\n          input.review.operation == \"CREATE\"\n        }\n",
        );
        let c = "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sDenyAll\nmetadata:\n  name: all\n";
        let all = manifests(&format!("{t}---\n{c}---\n{POD}"));
        let (set, diags) = GatekeeperSet::load(&all, &|_, _| None);
        assert!(diags.is_empty(), "{diags:?}");
        let mut engines = set.engines();
        let found = set.evaluate(&mut engines, &all[2]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "gatekeeper/K8sDenyAll/all");
        assert_eq!(found[0].message, "no Pod");
        assert_eq!(found[0].severity, Severity::Error);
    }

    #[test]
    fn gatekeeper_external_data_is_not_available_offline() {
        // Gatekeeper's own builtin for external data providers: regorus does not know it, so
        // the template cannot be judged offline and is reported, not silently passed.
        let t = template(
            "K8sExternal",
            "    - target: admission.k8s.gatekeeper.sh\n      rego: |\n        package ext\n\n        violation[{\"msg\": \"m\"}] {\n          r := external_data({\"provider\": \"p\", \"keys\": [\"k\"]})\n          count(r.errors) > 0\n        }\n",
        );
        let c = "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sExternal\nmetadata:\n  name: e\n";
        let all = manifests(&format!("{t}---\n{c}"));
        let (_, diags) = GatekeeperSet::load(&all, &|_, _| None);
        let codes: Vec<&str> = diags.iter().map(|d| d.code.as_str()).collect();
        assert!(codes.contains(&INVALID_TEMPLATE), "{diags:?}");
        assert!(diags[0].message.contains("external_data"), "{diags:?}");
        // The template's finding explains why its constraint does nothing: no second
        // "no ConstraintTemplate defines kind" finding for the same cause.
        assert!(!codes.contains(&UNKNOWN_CONSTRAINT), "{diags:?}");
        assert_eq!(diags.len(), 1, "{diags:?}");
    }
}
