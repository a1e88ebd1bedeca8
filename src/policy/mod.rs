//! Rego policies, evaluated in-process with regorus: the built-in pack and the team's own
//! conftest-style policies (`deny*`/`violation*` fail, `warn*` warns, `exception` suppresses).
//!
//! Policies are parsed and prepared once ([`PolicySet::load`] + [`PolicySet::prepare`]); each
//! rayon worker evaluates on its own clone of the prepared engine ([`PolicySet::engine`]).

pub mod builtin;
pub mod guard;
pub mod native;
pub mod recursion;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regorus::{Engine, Value};

use crate::check_error::CheckError;
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::manifest::Manifest;
use crate::source::{Files, SourceFile, Span};
use crate::yaml::{self, escape_pointer_segment};

/// Finding codes of this module that mean "kgate could not do its job" (exit 2).
pub const PARSE_ERROR: &str = "policy/parse-error";
pub const EVAL_ERROR: &str = "policy/eval-error";
pub const BAD_DATA: &str = "policy/bad-data";
pub const EMPTY_NAMESPACE: &str = "policy/empty-namespace";
/// A policy ran past `--policy-timeout` on one object (a finding on the object, exit 1).
pub const TIMEOUT: &str = "policy/timeout";

/// Whether a regorus error is its cooperative execution timer firing.
pub fn is_time_limit(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<regorus::utils::limits::LimitError>(),
            Some(regorus::utils::limits::LimitError::TimeLimitExceeded { .. })
        )
    }) || format!("{e:#}").contains("execution exceeded time limit")
}

/// Arms regorus' cooperative execution timer: every evaluation on `engine` (and its clones)
/// fails with a time-limit error once it has run `limit`. The interpreter checks the clock
/// every `check_interval` work units, so a runaway comprehension or rule is stopped within
/// the limit plus a few microseconds; one builtin call is not interrupted (the ones whose
/// result can dwarf their arguments are bounded by size in [`guard`]).
pub fn arm_timer(engine: &mut Engine, limit: Option<std::time::Duration>) {
    if let Some(limit) = limit {
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit,
            check_interval: std::num::NonZeroU32::new(64).expect("64 is not zero"),
        });
    }
}

/// What to load and how to evaluate it.
#[derive(Debug, Clone)]
pub struct PolicyOptions {
    /// Folders (or single files) of the team's `.rego` policies.
    pub dirs: Vec<String>,
    /// Packages whose rules are enforced (conftest `--namespace`); default `main`.
    pub namespaces: Vec<String>,
    /// Enforce the rules of every package of the user's policies.
    pub all_namespaces: bool,
    /// Folders or files of JSON/YAML merged into `data`.
    pub data: Vec<String>,
    /// Run the built-in pack.
    pub builtin: bool,
    /// How the built-in pack runs: compiled to Rust (default) or interpreted from its Rego.
    pub builtin_engine: BuiltinEngine,
    /// Regex a tag must match for `policy/image-tag-commit` (default: a commit id part).
    pub image_tag_pattern: Option<String>,
    /// Registry prefixes of the team's own images (`own_registries:`): only those must carry a
    /// commit tag; other images must carry a version. Empty: every image is held to commits.
    pub own_registries: Vec<String>,
    /// `policy/resources` also requires a cpu limit.
    pub require_cpu_limit: bool,
    /// Policy and data files already read, as (display path, text): merge-request mode reads
    /// them from the revision that judges the MR. When set, `dirs` and `data` are not read from
    /// disk (they only name the folders in messages).
    pub sources: Option<PolicySources>,
    /// Wall-clock time all policies together may spend on one object (`--policy-timeout`);
    /// None: unbounded.
    pub time_limit: Option<std::time::Duration>,
}

/// How the built-in pack is evaluated. Both give the same findings (a differential test in
/// [`native`] holds them together); the Rego engine is there to check that claim on a real
/// repository and for debugging a policy change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BuiltinEngine {
    /// The pack compiled to Rust: about a hundred times cheaper per object.
    #[default]
    Native,
    /// The pack's Rego, interpreted by regorus.
    Rego,
}

/// Policy modules and data documents given as text instead of disk paths.
#[derive(Debug, Clone, Default)]
pub struct PolicySources {
    /// `.rego` modules (test files already left out).
    pub modules: Vec<(String, String)>,
    /// JSON/YAML documents merged into `data`.
    pub data: Vec<(String, String)>,
    /// YAML files of the policy folders, where Gatekeeper ConstraintTemplates and constraints
    /// may be.
    pub gatekeeper: Vec<(String, String)>,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            dirs: Vec::new(),
            namespaces: Vec::new(),
            all_namespaces: false,
            data: Vec::new(),
            builtin: true,
            builtin_engine: BuiltinEngine::Native,
            image_tag_pattern: None,
            own_registries: Vec::new(),
            require_cpu_limit: false,
            sources: None,
            time_limit: None,
        }
    }
}

/// A parsed module: where it came from, its package and the rule names it defines.
#[derive(Debug, Clone)]
pub struct ModuleInfo {
    pub path: String,
    pub package: String,
    pub rules: Vec<String>,
    pub rego_v1: bool,
}

/// Builds an engine from sources, detecting Rego v1 or v0 syntax per file.
#[derive(Clone)]
pub struct Loader {
    pub engine: Engine,
    pub modules: Vec<ModuleInfo>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    pub fn new() -> Loader {
        let mut engine = Engine::new();
        // A builtin called with wrong types is an error, not a silently undefined rule.
        engine.set_strict_builtin_errors(false);
        // Only fails for a name registered twice, which a fresh engine cannot have.
        let _ = guard::add_to(&mut engine);
        // The built-in no_inline_secrets.rego asks the one credential classifier.
        let _ = native::add_secrets_builtin(&mut engine);
        Loader {
            engine,
            modules: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    /// Adds one module. Rego v1 is tried first; a file that only parses as v0 (`deny[msg] {`)
    /// is read as v0. A file that parses as neither is a `policy/parse-error` at the position of
    /// the error of the syntax the file most likely uses.
    pub fn add(&mut self, path: &str, text: &str, files: Option<&Files>) -> bool {
        let mut v1 = self.engine.clone();
        v1.set_rego_v0(false);
        let first = match v1.add_policy(path.to_string(), text.to_string()) {
            Ok(_) => {
                if self.is_recursive(&mut v1, path, files) {
                    return false;
                }
                self.engine = v1;
                self.record(path, true);
                return true;
            }
            Err(e) => e,
        };
        let mut v0 = self.engine.clone();
        v0.set_rego_v0(true);
        match v0.add_policy(path.to_string(), text.to_string()) {
            Ok(_) => {
                if self.is_recursive(&mut v0, path, files) {
                    return false;
                }
                v0.set_rego_v0(false);
                self.engine = v0;
                self.record(path, false);
                true
            }
            Err(second) => {
                let looks_v0 = !text.contains("import rego.v1")
                    && (text.contains("future.keywords") || !has_keyword(text, "if"));
                let err = if looks_v0 { second } else { first };
                self.diagnostics.push(regorus_error(
                    PARSE_ERROR,
                    &format!("{err:#}"),
                    path,
                    files,
                    "cannot parse policy",
                ));
                false
            }
        }
    }

    /// Whether adding `path` made a function of the module set call itself (see
    /// [`recursion`]): each such function of `path` is a `policy/parse-error` at its
    /// definition, as OPA's compiler reports it, and the module is left out, so that nothing
    /// can evaluate it. The modules before it never recurse on their own (each was checked
    /// when it was added), so every cycle found here runs through `path`.
    fn is_recursive(&mut self, candidate: &mut Engine, path: &str, files: Option<&Files>) -> bool {
        let cycles = recursion::find(candidate.get_modules());
        if cycles.is_empty() {
            return false;
        }
        let mut reported = false;
        for c in cycles.iter().filter(|c| c.path == path) {
            self.diagnostics.push(regorus_error(
                PARSE_ERROR,
                &c.as_regorus_error(),
                path,
                files,
                "cannot load policy",
            ));
            reported = true;
        }
        if !reported {
            // Cycles always run through the new module; name them at their own definitions
            // rather than say nothing.
            for c in &cycles {
                self.diagnostics.push(regorus_error(
                    PARSE_ERROR,
                    &c.as_regorus_error(),
                    path,
                    files,
                    "cannot load policy",
                ));
            }
        }
        true
    }

    fn record(&mut self, path: &str, rego_v1: bool) {
        let Some(module) = self.engine.get_modules().last().cloned() else {
            return;
        };
        let package = module.package.refr.span().text().to_string();
        let mut rules = Vec::new();
        for rule in &module.policy {
            let refr = match rule.as_ref() {
                regorus::unstable::Rule::Spec { head, .. } => match head {
                    regorus::unstable::RuleHead::Compr { refr, .. }
                    | regorus::unstable::RuleHead::Set { refr, .. } => refr,
                    // Functions are not rules a gate evaluates.
                    regorus::unstable::RuleHead::Func { .. } => continue,
                },
                regorus::unstable::Rule::Default { refr, .. } => refr,
            };
            let text = refr.span().text();
            let name: String = text
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !rules.contains(&name) {
                rules.push(name);
            }
        }
        self.modules.push(ModuleInfo {
            path: path.to_string(),
            package,
            rules,
            rego_v1,
        });
    }

    /// Merges JSON/YAML data files (each document's top-level keys go to the top of `data`, as
    /// conftest does).
    pub fn add_data_paths(&mut self, paths: &[String], files: Option<&Files>) {
        for path in paths {
            let walked = walk_checked(Path::new(path), &["json", "yaml", "yml"]);
            for (p, e) in &walked.problems {
                self.diagnostics.push(
                    Diagnostic::error(BAD_DATA, format!("cannot read data: {e}"))
                        .in_file(p.to_string_lossy().to_string(), None),
                );
            }
            for file in walked.files {
                let display = file.to_string_lossy().to_string();
                match read_policy_file(&file) {
                    Ok(text) => self.add_data_text(&display, &text, files),
                    Err(e) => self.diagnostics.push(
                        Diagnostic::error(BAD_DATA, format!("cannot read data file: {e}"))
                            .in_file(display, None),
                    ),
                }
            }
        }
    }

    pub fn add_data_text(&mut self, display: &str, text: &str, files: Option<&Files>) {
        let source = match files {
            Some(f) => f.add(display, text),
            None => Arc::new(SourceFile::new(display, text)),
        };
        let stream = yaml::parse_stream(&source, &yaml::Limits::default());
        if let Some(p) = stream.problems.first() {
            let (message, span) = match p {
                yaml::YamlProblem::Syntax { message, span }
                | yaml::YamlProblem::Limit { message, span } => (message.clone(), *span),
                yaml::YamlProblem::DuplicateKey { key, second, .. } => {
                    (format!("duplicate key `{key}`"), *second)
                }
            };
            self.diagnostics.push(
                Diagnostic::error(BAD_DATA, format!("cannot read data file: {message}"))
                    .in_file(display, Some(span)),
            );
            return;
        }
        for doc in stream.documents {
            let Some(root) = doc.root else { continue };
            let json = root.to_json();
            if !json.is_object() {
                self.diagnostics.push(
                    Diagnostic::error(
                        BAD_DATA,
                        "a data document must be a mapping (its keys go under `data`)",
                    )
                    .in_file(display, Some(root.span)),
                );
                continue;
            }
            if let Err(e) = self.engine.add_data(Value::from(json)) {
                self.diagnostics.push(
                    Diagnostic::error(BAD_DATA, format!("cannot merge into data: {e}"))
                        .in_file(display, Some(root.span)),
                );
            }
        }
    }
}

/// Whether `word` appears as a keyword-like token in Rego source (ignoring comments).
fn has_keyword(text: &str, word: &str) -> bool {
    text.lines().any(|l| {
        let code = l.split('#').next().unwrap_or("");
        code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|t| t == word)
    })
}

/// A regorus error (`\n--> file:line:col\n … \nerror: message`) as a finding at that position.
pub fn regorus_error(
    code: &str,
    err: &str,
    fallback_path: &str,
    files: Option<&Files>,
    what: &str,
) -> Diagnostic {
    let re = regex::Regex::new(r"--> (.*):(\d+):(\d+)").expect("static regex");
    let message = err
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| err.trim())
        .to_string();
    let (path, line, col) = match re.captures(err) {
        Some(c) => (
            c[1].to_string(),
            c[2].parse::<u32>().unwrap_or(1),
            c[3].parse::<u32>().unwrap_or(1),
        ),
        None => (fallback_path.to_string(), 0, 0),
    };
    let span = if line == 0 {
        None
    } else {
        Some(
            files
                .and_then(|f| f.by_path(&path))
                .map(|f| {
                    f.span(
                        line as usize,
                        col.saturating_sub(1) as usize,
                        line as usize,
                        col as usize,
                    )
                })
                .unwrap_or(Span {
                    file: u32::MAX,
                    line,
                    col,
                    end_line: line,
                    end_col: col,
                    start: 0,
                    end: 0,
                }),
        )
    };
    Diagnostic::error(code, format!("{what}: {message}")).in_file(path, span)
}

/// `.rego` (or data) files under a path, sorted; a file path is taken as is. Walked through the
/// guarded read path (links confined to the path's repository); what cannot be walked is left
/// out here — loaders use [`walk_checked`] to report it.
pub fn walk(path: &Path, exts: &[&str]) -> Vec<PathBuf> {
    walk_checked(path, exts).files
}

/// [`walk`] with the folders and links it could not read.
pub fn walk_checked(path: &Path, exts: &[&str]) -> crate::read_guard::Walk {
    crate::read_guard::ReadRoot::for_path(path).walk(path, exts)
}

/// The most bytes of one policy, data or config file (a policy larger than this is not one).
pub const MAX_POLICY_FILE: u64 = 16 * 1024 * 1024;

/// Reads a policy-side file (policy, data, template, suite) through the guarded read path.
pub fn read_policy_file(path: &Path) -> std::io::Result<String> {
    crate::read_guard::read_named_text(path, MAX_POLICY_FILE)
}

pub fn is_test_file(path: &str) -> bool {
    path.ends_with("_test.rego")
}

/// The rule kind a conftest-style rule name denotes.
pub fn rule_severity(name: &str) -> Option<Severity> {
    let re_ok = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || (rest.starts_with('_') && rest.len() > 1))
    };
    if re_ok("deny") || re_ok("violation") {
        Some(Severity::Error)
    } else if re_ok("warn") {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// Whether a package holds rules over the merge request's plan (`package plan`,
/// `package plan.main`): they are evaluated once on the plan (`crate::plan::policy`), never on
/// each object.
pub fn is_plan_package(package: &str) -> bool {
    package == "plan" || package.starts_with("plan.")
}

/// The code of a plan policy's rule: `plan-policy/<package below plan>.<rule>`.
pub fn plan_code(package: &str, rule: &str) -> String {
    let below = package.strip_prefix("plan.").unwrap_or(package);
    format!("plan-policy/{below}.{rule}")
}

/// conftest: `exception` entries name rules without their `deny_`/`violation_`/`warn_` prefix
/// (`""` for a bare `deny`).
pub(crate) fn exception_name(rule: &str) -> &str {
    for prefix in ["violation", "deny", "warn"] {
        if let Some(rest) = rule.strip_prefix(prefix) {
            return rest.strip_prefix('_').unwrap_or(rest);
        }
    }
    rule
}

/// One package whose rules are evaluated on every object.
#[derive(Debug, Clone)]
struct Target {
    package: String,
    /// `policy/<name>` for built-in packages; user findings are `policy/<package>.<rule>`.
    builtin_code: Option<String>,
    /// (rule name, query, severity)
    rules: Vec<(String, String, Severity)>,
    exception_query: Option<String>,
    /// The file that defines the package (for evaluation errors without a position).
    file: String,
}

/// The prepared policies of a run.
#[derive(Clone)]
pub struct PolicySet {
    engine: Engine,
    time_limit: Option<std::time::Duration>,
    targets: Vec<Target>,
    /// The rule that gathers every enforced rule's value in one evaluation (see [`COMBINED`]).
    combined: Option<String>,
    /// The built-in pack when it runs compiled (its Rego is then not loaded).
    native: Option<native::NativePack>,
    /// `plan-policy/…` codes of the plan packages among the team's policies.
    plan_codes: Vec<String>,
}

impl PolicySet {
    /// The codes this set can report: `policy/<package>.<rule>` of the team's enforced rules,
    /// `policy/<name>` of the built-in pack.
    pub fn codes(&self) -> Vec<String> {
        self.targets
            .iter()
            .flat_map(|t| {
                t.rules
                    .iter()
                    .map(move |(rule, _, _)| match &t.builtin_code {
                        Some(c) => c.clone(),
                        None => format!("policy/{}.{}", t.package, rule),
                    })
            })
            .chain(self.plan_codes.iter().cloned())
            .collect()
    }
}

/// The package of the generated module that collects the values of all enforced rules, so
/// that an object costs one evaluation instead of one per rule: regorus resets its evaluation
/// state (and so recomputes shared helpers such as `kgate.lib.containers`) on every
/// `eval_rule`.
const COMBINED: &str = "kgate_internal_combined";

/// The generated module: `all` is an array with, per (exception query, rule query) in target
/// order, a 0- or 1-element array of the rule's value (a comprehension, so that an undefined
/// rule does not make the whole array undefined).
fn combined_module(targets: &[Target]) -> String {
    let mut items = Vec::new();
    for t in targets {
        if let Some(q) = &t.exception_query {
            items.push(format!("[x | x := {q}]"));
        }
        for (_, q, _) in &t.rules {
            items.push(format!("[x | x := {q}]"));
        }
    }
    format!(
        "package {COMBINED}\n\nall := [\n\t{}\n]\n",
        items.join(",\n\t")
    )
}

impl PolicySet {
    /// Loads the built-in pack and the user's policies and data. Problems are findings.
    pub fn load(
        opts: &PolicyOptions,
        files: Option<&Files>,
    ) -> Result<(PolicySet, Vec<Diagnostic>), CheckError> {
        if let Some(p) = &opts.image_tag_pattern {
            regex::Regex::new(p).map_err(|source| CheckError::ImageTagPattern {
                pattern: p.clone(),
                source,
            })?;
        }
        let mut loader = Loader::new();
        let native = if opts.builtin && opts.builtin_engine == BuiltinEngine::Native {
            Some(native::NativePack::new(
                opts.image_tag_pattern.as_deref(),
                &opts.own_registries,
                opts.require_cpu_limit,
            )?)
        } else {
            None
        };
        if opts.builtin {
            // With the compiled pack only the shared library is loaded: the team's policies
            // may import `data.kgate.lib` (pod specs and containers with their paths).
            for s in builtin::POLICIES
                .iter()
                .filter(|s| native.is_none() || s.path.ends_with("/lib.rego"))
            {
                loader.add(s.path, s.text, None);
            }
        }
        let first_user = loader.modules.len();
        match &opts.sources {
            Some(sources) => {
                for (display, text) in &sources.modules {
                    if let Some(f) = files {
                        f.add(display.clone(), text.as_str());
                    }
                    loader.add(display, text, files);
                }
                for (display, text) in &sources.data {
                    loader.add_data_text(display, text, files);
                }
            }
            None => load_from_disk(opts, files, &mut loader)?,
        }
        let mut config = serde_json::Map::new();
        if let Some(p) = &opts.image_tag_pattern {
            config.insert("image_tag_pattern".into(), p.clone().into());
        }
        config.insert("require_cpu_limit".into(), opts.require_cpu_limit.into());
        config.insert(
            "own_registries".into(),
            serde_json::Value::from(opts.own_registries.clone()),
        );
        let kgate_data = serde_json::json!({ "kgate": { "config": config } });
        if let Err(e) = loader.engine.add_data(Value::from(kgate_data)) {
            loader.diagnostics.push(Diagnostic::error(
                BAD_DATA,
                format!("data.kgate.config conflicts with a data file: {e}"),
            ));
        }

        let mut targets: BTreeMap<String, Target> = BTreeMap::new();
        let wanted: BTreeSet<String> = if opts.namespaces.is_empty() {
            ["main".to_string()].into()
        } else {
            opts.namespaces.iter().cloned().collect()
        };
        let mut plan_codes = Vec::new();
        for (i, m) in loader.modules.iter().enumerate() {
            let user = i >= first_user;
            if user && is_plan_package(&m.package) {
                plan_codes.extend(
                    m.rules
                        .iter()
                        .filter(|r| rule_severity(r).is_some())
                        .map(|r| plan_code(&m.package, r)),
                );
                continue;
            }
            let builtin_code = if user {
                None
            } else {
                builtin::code_for_package(&m.package)
            };
            let selected = if user {
                opts.all_namespaces || wanted.contains(&m.package)
            } else {
                builtin_code.is_some()
            };
            if !selected {
                continue;
            }
            let t = targets.entry(m.package.clone()).or_insert_with(|| Target {
                package: m.package.clone(),
                builtin_code: builtin_code.clone(),
                rules: Vec::new(),
                exception_query: None,
                file: m.path.clone(),
            });
            for r in &m.rules {
                if r == "exception" {
                    t.exception_query = Some(format!("data.{}.exception", m.package));
                } else if let Some(sev) = rule_severity(r) {
                    if !t.rules.iter().any(|(n, _, _)| n == r) {
                        t.rules
                            .push((r.clone(), format!("data.{}.{}", m.package, r), sev));
                    }
                }
            }
        }
        let mut diagnostics = loader.diagnostics;
        // A folder of plan policies only has no `main` package to warn about.
        let plan_only = opts.namespaces.is_empty() && !plan_codes.is_empty();
        if !opts.dirs.is_empty() && !opts.all_namespaces && !plan_only {
            for ns in &wanted {
                if targets.get(ns).is_none_or(|t| t.rules.is_empty()) {
                    diagnostics.push(Diagnostic::warning(
                        EMPTY_NAMESPACE,
                        format!(
                            "no deny/violation/warn rules in package `{ns}` of {}: nothing of it is enforced",
                            opts.dirs.join(", ")
                        ),
                    ));
                }
            }
        }
        let targets: Vec<Target> = targets
            .into_values()
            .filter(|t| !t.rules.is_empty())
            .collect();
        let mut engine = loader.engine;
        // Without the combined rule evaluation falls back to one query per rule, which gives
        // the same findings, only slower.
        let combined = if targets.is_empty() {
            None
        } else {
            let mut with = engine.clone();
            with.set_rego_v0(false);
            match with.add_policy(format!("{COMBINED}.rego"), combined_module(&targets)) {
                Ok(_) => {
                    engine = with;
                    Some(format!("data.{COMBINED}.all"))
                }
                Err(_) => None,
            }
        };
        arm_timer(&mut engine, opts.time_limit);
        let set = PolicySet {
            engine,
            time_limit: opts.time_limit,
            targets,
            combined,
            native,
            plan_codes,
        };
        Ok((set, diagnostics))
    }

    /// Tells `policy/namespace` which `apiVersion/kind`s are namespaced, then prepares the
    /// engine (analysis, scheduling) once so that worker clones start ready.
    pub fn prepare(&mut self, namespaced: BTreeMap<String, bool>) -> Result<(), CheckError> {
        if let Some(pack) = &mut self.native {
            pack.set_namespaced(namespaced.clone());
        }
        let map: serde_json::Map<String, serde_json::Value> =
            namespaced.into_iter().map(|(k, v)| (k, v.into())).collect();
        self.engine
            .add_data(Value::from(
                serde_json::json!({ "kgate": { "namespaced": map } }),
            ))
            .map_err(|cause| CheckError::PolicyData { cause })?;
        self.engine.set_input(Value::new_object());
        self.engine
            .eval_query("true".to_string(), false)
            .map_err(|cause| CheckError::PreparePolicies { cause })?;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.native.is_none()
    }

    /// The prepared engine, to clone once per worker.
    pub fn engine(&self) -> Engine {
        self.engine.clone()
    }

    /// Every finding of every enforced rule on one object.
    pub fn evaluate(&self, engine: &mut Engine, m: &Manifest) -> Vec<Diagnostic> {
        let mut out = match &self.native {
            Some(pack) => native_findings(pack, m),
            None => Vec::new(),
        };
        if self.targets.is_empty() {
            return out;
        }
        engine.set_input(Value::from(m.json.clone()));
        if let Some(q) = &self.combined {
            if let Ok(Value::Array(values)) = engine.eval_rule(q.clone()) {
                if let Some(found) =
                    self.findings_from_combined(&values.iter().cloned().collect::<Vec<_>>(), m)
                {
                    out.extend(found);
                    return out;
                }
            }
        }
        // A rule failed or ran out of time (or the combined rule is missing): evaluate rule by
        // rule so that the error is reported against the package it comes from. After a
        // timeout this costs at most one more time limit: the rules before the slow one are
        // fast, and evaluation stops at the first rule that times out.
        out.extend(self.evaluate_each(engine, m));
        out
    }

    /// The findings from the combined rule's value; `None` if its shape is not the expected
    /// one.
    fn findings_from_combined(&self, values: &[Value], m: &Manifest) -> Option<Vec<Diagnostic>> {
        let mut out = Vec::new();
        let mut it = values.iter();
        let mut next = || -> Option<Value> {
            match it.next()? {
                Value::Array(a) => Some(a.iter().next().cloned().unwrap_or(Value::Undefined)),
                _ => None,
            }
        };
        for t in &self.targets {
            let excepted = match &t.exception_query {
                Some(_) => exception_names(&next()?),
                None => BTreeSet::new(),
            };
            for (rule, _, severity) in &t.rules {
                let value = next()?;
                self.push_findings(&mut out, t, rule, *severity, &value, &excepted, m);
            }
        }
        Some(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_findings(
        &self,
        out: &mut Vec<Diagnostic>,
        t: &Target,
        rule: &str,
        severity: Severity,
        value: &Value,
        excepted: &BTreeSet<String>,
        m: &Manifest,
    ) {
        let code = match &t.builtin_code {
            Some(c) => c.clone(),
            None => format!("policy/{}.{}", t.package, rule),
        };
        for result in results(value) {
            let mut d = finding(&code, severity, rule, &result, m);
            if excepted.contains(exception_name(rule)) {
                d.suppressed = true;
                d.suppressed_reason = Some(format!("exception in package {}", t.package));
            }
            out.push(d);
        }
    }

    /// One query per rule (input already set).
    fn evaluate_each(&self, engine: &mut Engine, m: &Manifest) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for t in &self.targets {
            let excepted: BTreeSet<String> = match &t.exception_query {
                Some(q) => match engine.eval_rule(q.clone()) {
                    Ok(v) => exception_names(&v),
                    Err(e) if is_time_limit(&e) => {
                        out.push(self.timeout(t, "exception", m));
                        return out;
                    }
                    Err(e) => {
                        out.push(self.eval_error(t, &format!("{e:#}"), m));
                        BTreeSet::new()
                    }
                },
                None => BTreeSet::new(),
            };
            for (rule, query, severity) in &t.rules {
                let value = match engine.eval_rule(query.clone()) {
                    Ok(v) => v,
                    Err(e) if is_time_limit(&e) => {
                        out.push(self.timeout(t, rule, m));
                        return out;
                    }
                    Err(e) => {
                        out.push(self.eval_error(t, &format!("{e:#}"), m));
                        continue;
                    }
                };
                self.push_findings(&mut out, t, rule, *severity, &value, &excepted, m);
            }
        }
        out
    }

    /// `policy/timeout`: `rule` of `t` ran past `--policy-timeout` on `m`; the rules after it
    /// were not evaluated on this object.
    fn timeout(&self, t: &Target, rule: &str, m: &Manifest) -> Diagnostic {
        let limit = self
            .time_limit
            .map(|d| format!("{} ms", d.as_millis()))
            .unwrap_or_default();
        m.diagnostic(
            TIMEOUT,
            Severity::Error,
            format!(
                "policy rule `data.{}.{rule}` ({}) ran longer than the policy time limit of \
{limit} (--policy-timeout / `policy_timeout`) on this object; it and the rules after it were not \
evaluated here",
                t.package, t.file
            ),
            None,
        )
    }

    fn eval_error(&self, t: &Target, err: &str, m: &Manifest) -> Diagnostic {
        let mut d = regorus_error(EVAL_ERROR, err, &t.file, None, "policy failed");
        let at = m.span();
        d.related.push(Related {
            message: format!("while checking {}", m.resource),
            file: m.file.path.clone(),
            line: at.line,
            column: at.col,
        });
        d
    }
}

/// The compiled built-in pack's findings on one object, as the Rego pack would report them.
fn native_findings(pack: &native::NativePack, m: &Manifest) -> Vec<Diagnostic> {
    pack.evaluate_classified(&m.json, m.secrets())
        .into_iter()
        .filter_map(|f| {
            let code = builtin::code_for_package(f.package)?;
            let severity = rule_severity(f.rule)?;
            Some(m.diagnostic(&code, severity, f.msg, Some(f.pointer)))
        })
        .collect()
}

/// The rule names a package's `exception` set names.
pub(crate) fn exception_names(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |item: &Value| match item {
        Value::String(s) => {
            out.insert(s.to_string());
        }
        Value::Array(a) => {
            for x in a.iter() {
                if let Value::String(s) = x {
                    out.insert(s.to_string());
                }
            }
        }
        _ => {}
    };
    match v {
        Value::Set(s) => s.iter().for_each(&mut add),
        Value::Array(a) => a.iter().for_each(&mut add),
        other => add(other),
    }
    out
}

/// Reads the user's policy folders and data paths from disk into `loader`.
fn load_from_disk(
    opts: &PolicyOptions,
    files: Option<&Files>,
    loader: &mut Loader,
) -> Result<(), CheckError> {
    let mut user_paths = Vec::new();
    for dir in &opts.dirs {
        let p = Path::new(dir);
        if !p.exists() {
            return Err(CheckError::NoPolicyPath { path: dir.clone() });
        }
        let walked = walk_checked(p, &["rego"]);
        // A policy folder the run cannot read is a gate that cannot judge: a tool failure.
        for (path, e) in &walked.problems {
            loader.diagnostics.push(
                Diagnostic::error(
                    PARSE_ERROR,
                    format!("cannot read policy folder or file: {e}"),
                )
                .in_file(path.to_string_lossy().to_string(), None),
            );
        }
        for f in walked.files {
            let display = f.to_string_lossy().to_string();
            if !is_test_file(&display) {
                user_paths.push((display, f));
            }
        }
    }
    for (display, path) in &user_paths {
        match read_policy_file(path) {
            Ok(text) => {
                if let Some(f) = files {
                    f.add(display.clone(), text.as_str());
                }
                loader.add(display, &text, files);
            }
            Err(e) => loader.diagnostics.push(
                Diagnostic::error(PARSE_ERROR, format!("cannot read policy: {e}"))
                    .in_file(display.clone(), None),
            ),
        }
    }
    for d in &opts.data {
        if !Path::new(d).exists() {
            return Err(CheckError::NoDataPath { path: d.clone() });
        }
    }
    loader.add_data_paths(&opts.data, files);
    Ok(())
}

/// Loads and prepares the policies for a check run; `policy/namespace` learns from the schema
/// registry which kinds of this run are namespaced.
pub fn prepare_for_run(
    opts: &PolicyOptions,
    files: &Files,
    manifests: &[Manifest],
    registry: &crate::schema::registry::Registry,
    every_kind: bool,
) -> Result<(PolicySet, Vec<Diagnostic>), CheckError> {
    let (mut set, diagnostics) = PolicySet::load(opts, Some(files))?;
    let mut namespaced = BTreeMap::new();
    if every_kind {
        // Objects still to come (streamed files) find their kind here.
        for k in registry.known_kinds() {
            let api_version = k.api_version();
            if let Some(ns) = registry.is_namespaced(&api_version, &k.kind) {
                namespaced.insert(format!("{api_version}/{}", k.kind), ns);
            }
        }
    }
    for m in manifests {
        let key = format!("{}/{}", m.resource.api_version, m.resource.kind);
        if namespaced.contains_key(&key) {
            continue;
        }
        if let Some(ns) = registry.is_namespaced(&m.resource.api_version, &m.resource.kind) {
            namespaced.insert(key, ns);
        }
    }
    set.prepare(namespaced)?;
    Ok((set, diagnostics))
}

/// The individual results of a rule's value: the members of a set/array, or the value itself.
pub(crate) fn results(v: &Value) -> Vec<Value> {
    match v {
        Value::Undefined | Value::Null | Value::Bool(false) => Vec::new(),
        Value::Set(s) => s.iter().cloned().collect(),
        Value::Array(a) => a.iter().cloned().collect(),
        other => vec![other.clone()],
    }
}

/// A rule result (string, or object with `msg`, optional `path` and extra fields) as a finding.
fn finding(code: &str, severity: Severity, rule: &str, result: &Value, m: &Manifest) -> Diagnostic {
    let json = serde_json::to_value(result).unwrap_or(serde_json::Value::Null);
    let (message, pointer, details) = match json {
        serde_json::Value::String(s) => (s, None, None),
        serde_json::Value::Object(mut obj) => {
            let msg = match obj.remove("msg") {
                Some(serde_json::Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => format!("{rule} matched"),
            };
            let pointer = obj.remove("path").and_then(|p| path_to_pointer(&p));
            (msg, pointer, if obj.is_empty() { None } else { Some(obj) })
        }
        serde_json::Value::Bool(true) => (format!("{rule} is true"), None, None),
        other => (other.to_string(), None, None),
    };
    let mut d = m.diagnostic(code, severity, message, pointer);
    d.details = details;
    d
}

/// A policy's `path`: an array of keys and indexes, a JSON pointer, or a dotted path.
pub(crate) fn path_to_pointer(p: &serde_json::Value) -> Option<String> {
    match p {
        serde_json::Value::Array(items) => {
            let mut s = String::new();
            for item in items {
                s.push('/');
                match item {
                    serde_json::Value::String(k) => s.push_str(&escape_pointer_segment(k)),
                    serde_json::Value::Number(n) => s.push_str(&n.to_string()),
                    _ => return None,
                }
            }
            Some(s)
        }
        serde_json::Value::String(s) if s.starts_with('/') || s.is_empty() => Some(s.clone()),
        serde_json::Value::String(s) => Some(
            s.split('.')
                .map(|seg| format!("/{}", escape_pointer_segment(seg)))
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_kinds_follow_conftest() {
        assert_eq!(rule_severity("deny"), Some(Severity::Error));
        assert_eq!(rule_severity("deny_latest"), Some(Severity::Error));
        assert_eq!(rule_severity("violation"), Some(Severity::Error));
        assert_eq!(rule_severity("warn_probes"), Some(Severity::Warning));
        assert_eq!(rule_severity("denylist"), None);
        assert_eq!(rule_severity("deny_"), None);
        assert_eq!(exception_name("deny_latest"), "latest");
        assert_eq!(exception_name("deny"), "");
        assert_eq!(exception_name("warn_x_y"), "x_y");
    }

    #[test]
    fn paths_become_pointers() {
        let p = serde_json::json!(["spec", "containers", 0, "a/b"]);
        assert_eq!(
            path_to_pointer(&p).as_deref(),
            Some("/spec/containers/0/a~1b")
        );
        assert_eq!(
            path_to_pointer(&serde_json::json!("/spec/x")).as_deref(),
            Some("/spec/x")
        );
        assert_eq!(
            path_to_pointer(&serde_json::json!("spec.replicas")).as_deref(),
            Some("/spec/replicas")
        );
    }

    #[test]
    fn parse_errors_point_at_the_policy_line() {
        let mut l = Loader::new();
        assert!(!l.add(
            "bad.rego",
            "package main\n\ndeny contains msg if {\n  msg := \n}\n",
            None
        ));
        let d = &l.diagnostics[0];
        assert_eq!(d.code, PARSE_ERROR);
        assert_eq!(d.file, "bad.rego");
        assert!(d.span.unwrap().line >= 4, "{d:?}");
        // v0 syntax falls back and parses.
        assert!(l.add(
            "v0.rego",
            "package main\n\ndeny[msg] {\n  msg := \"x\"\n}\n",
            None
        ));
        assert!(!l.modules[0].rego_v1);
        assert_eq!(l.modules[0].rules, vec!["deny".to_string()]);
    }
}

#[cfg(test)]
mod throughput {
    //! Measures the built-in pack's cost per object (`cargo test --lib policy_throughput --
    //! --nocapture`); the assertions pin that the clean Deployment stays clean, so the timing
    //! is of the common no-finding path.
    use super::*;

    #[test]
    fn policy_throughput() {
        let text = include_str!("../../tests/policy/perf/deployment.yaml");
        let file = Arc::new(SourceFile::new("deployment.yaml", text));
        let stream = yaml::parse_stream(&file, &yaml::Limits::default());
        let root = stream.documents[0].root.clone().expect("a document");
        let m = Manifest::from_node(root, file.clone());
        let n = 200;
        let mut costs = Vec::new();
        for engine_kind in [BuiltinEngine::Native, BuiltinEngine::Rego] {
            let opts = PolicyOptions {
                builtin_engine: engine_kind,
                ..PolicyOptions::default()
            };
            let (mut set, diags) = PolicySet::load(&opts, None).expect("load");
            assert!(diags.is_empty(), "{diags:?}");
            set.prepare([("apps/v1/Deployment".to_string(), true)].into())
                .expect("prepare");
            let mut engine = set.engine();
            let found = set.evaluate(&mut engine, &m);
            assert!(found.is_empty(), "{found:?}");
            let t0 = std::time::Instant::now();
            for _ in 0..n {
                assert!(set.evaluate(&mut engine, &m).is_empty());
            }
            let per = t0.elapsed() / n;
            eprintln!("policy_throughput: {engine_kind:?}: {per:?} per Deployment");
            costs.push(per);
            if engine_kind == BuiltinEngine::Rego {
                // The per-rule path (what evaluation falls back to on an error), for comparison.
                let t1 = std::time::Instant::now();
                for _ in 0..n {
                    engine.set_input(Value::from(m.json.clone()));
                    assert!(set.evaluate_each(&mut engine, &m).is_empty());
                }
                eprintln!(
                    "  one query per rule: {:?} per Deployment",
                    t1.elapsed() / n
                );
            }
        }
        eprintln!(
            "policy_throughput: the compiled pack is {:.0}x cheaper",
            costs[1].as_secs_f64() / costs[0].as_secs_f64().max(1e-9)
        );
    }
}
