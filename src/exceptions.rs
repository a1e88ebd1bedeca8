//! Exceptions with a reason, and per-code severity overrides: what turns a finding into a
//! suppressed one (kept, counted, listed with --verbose and in JSON) or changes how bad it is.
//!
//! Two sources: the `kgate.dev/ignore` annotation on the object itself
//! (`"policy/resources=reason, schema/unknown-field=reason"`) and the `exceptions:` list of
//! `.kgate.yaml` (code and resource globs, reason, optional expiry date). An exception without a
//! reason does not apply and is itself a finding; an expired one stops applying and says so.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use globset::{Glob, GlobMatcher};

use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::Manifest;
use crate::source::Span;

pub const ANNOTATION: &str = "kgate.dev/ignore";
pub const MISSING_REASON: &str = "exception/missing-reason";
pub const EXPIRED: &str = "exception/expired";
pub const INVALID: &str = "exception/invalid";
pub const UNKNOWN_CODE: &str = "exception/unknown-code";

/// A code or code glob named by a `severity:` or `exceptions:` entry, and where.
#[derive(Debug, Clone)]
pub struct CodeUse {
    pub pattern: String,
    /// `severity` or `exception`.
    pub what: &'static str,
    pub origin: (String, Option<Span>),
}

/// Every code this run can report: the registry, the built-in pack, the team's loaded rules
/// (`policy/<package>.<rule>`) and Gatekeeper constraints (`gatekeeper/<kind>/<name>`).
pub fn known_codes(user: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = crate::rules::RULES
        .iter()
        .map(|r| r.code)
        .filter(|c| !c.contains('<'))
        .map(str::to_string)
        .collect();
    out.extend(
        crate::policy::builtin::rules()
            .iter()
            .map(|r| r.code.to_string()),
    );
    out.extend(user);
    out
}

/// A finding for every `severity:`/`exceptions:` code that matches no code of this run (a typo
/// would otherwise turn an exception or a severity into a quiet no-op), with a did-you-mean.
pub fn unknown_codes(uses: &[CodeUse], known: &BTreeSet<String>) -> Vec<Diagnostic> {
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    uses.iter()
        .filter(|u| !known.iter().any(|k| code_matches(&u.pattern, k)))
        .map(|u| {
            let hint = match crate::diagnostic::closest(&u.pattern, &names) {
                Some(c) => format!("did you mean `{c}`? `kgate rules` lists the codes"),
                None => "`kgate rules` lists the codes; a team policy's code is \
                         `policy/<package>.<rule>`, a Gatekeeper constraint's \
                         `gatekeeper/<kind>/<name>`"
                    .to_string(),
            };
            Diagnostic::error(
                UNKNOWN_CODE,
                format!(
                    "the {} entry `{}` matches no code kgate reports in this run, so it does \
                     nothing",
                    u.what, u.pattern
                ),
            )
            .in_file(u.origin.0.clone(), u.origin.1)
            .with_help(hint)
        })
        .collect()
}

/// One `exceptions:` entry of the config file.
#[derive(Debug, Clone)]
pub struct ConfigException {
    /// Code glob: `policy/resources`, `policy/*`.
    pub code: String,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// Glob of the file the finding is in.
    pub file: Option<String>,
    pub reason: Option<String>,
    pub expires: Option<time::Date>,
    /// Where the entry is written (config file path and span), for findings about it.
    pub origin: (String, Option<Span>),
}

impl ConfigException {
    /// A short description naming the exception, e.g. `policy/resources for Deployment web`.
    pub fn describe(&self) -> String {
        let mut s = self.code.clone();
        let parts: Vec<String> = [
            ("kind", &self.kind),
            ("namespace", &self.namespace),
            ("name", &self.name),
            ("file", &self.file),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
        if !parts.is_empty() {
            s.push_str(&format!(" ({})", parts.join(", ")));
        }
        s
    }
}

/// Everything that can change findings after the checks ran.
#[derive(Debug, Clone)]
pub struct ExceptionOptions {
    pub exceptions: Vec<ConfigException>,
    /// Code glob → severity, `None` for `off`.
    pub severities: Vec<(String, Option<Severity>)>,
    /// The day exceptions' expiry dates are compared with (UTC today).
    pub today: time::Date,
    /// Merge-request mode judged from the base: the `kgate.dev/ignore` entries the base already
    /// has (per unit and object, see [`annotation_keys`]). Only those apply; an entry the MR
    /// adds — directly, through a patch, an overlay, Flux `commonMetadata`, a component or a
    /// generator — does not, whatever the rendered object says. None: every entry applies.
    pub annotation_allowed: Option<Arc<BTreeSet<AnnotationKey>>>,
    /// `--unverified` / `unverified:`: the lowest severity of findings about what kgate could
    /// not verify ([`is_unverified`]); `severity:` entries still win. None: as registered.
    pub unverified: Option<Severity>,
    /// The codes the config's entries name ([`unknown_codes`] checks them).
    pub code_uses: Vec<CodeUse>,
}

/// The codes that say "this was not verified" rather than "this is wrong": an object without a
/// schema, a kustomize feature kgate does not render, a template or chart kgate skipped.
pub const UNVERIFIED_CODES: &[&str] = &["schema/missing", "render/unsupported"];

/// Whether a finding code reports something kgate could not verify.
pub fn is_unverified(code: &str) -> bool {
    UNVERIFIED_CODES.contains(&code)
}

impl Default for ExceptionOptions {
    fn default() -> Self {
        ExceptionOptions {
            exceptions: Vec::new(),
            severities: Vec::new(),
            today: time::OffsetDateTime::now_utc().date(),
            annotation_allowed: None,
            unverified: None,
            code_uses: Vec::new(),
        }
    }
}

/// One `kgate.dev/ignore` entry as a rendered object carries it: (unit, API group, kind,
/// namespace, name, code glob).
pub type AnnotationKey = (String, String, String, String, String, String);

/// The unit an object was rendered for (its kustomization root or Flux Kustomization), else the
/// file it is in (a loose manifest is its own unit).
pub fn manifest_unit(m: &Manifest) -> String {
    match m.rendered_for.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None => format!("file:{}", m.file.path),
    }
}

/// The object's `kgate.dev/ignore` entries that have a reason: code glob → reason.
pub fn annotation_entries(m: &Manifest) -> BTreeMap<String, String> {
    m.json
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION))
        .and_then(|v| v.as_str())
        .map(|text| {
            parse_annotation(text)
                .into_iter()
                .filter_map(|(code, reason)| reason.map(|r| (code, r)))
                .collect()
        })
        .unwrap_or_default()
}

/// The keys of the object's entries (see [`AnnotationKey`]).
pub fn annotation_keys(m: &Manifest) -> Vec<AnnotationKey> {
    let unit = manifest_unit(m);
    let r = &m.resource;
    annotation_entries(m)
        .into_keys()
        .map(|code| {
            (
                unit.clone(),
                crate::manifest::api_group(&r.api_version).to_string(),
                r.kind.clone(),
                r.namespace.clone().unwrap_or_default(),
                r.name.clone(),
                code,
            )
        })
        .collect()
}

fn glob(pattern: &str) -> Option<GlobMatcher> {
    Glob::new(pattern).ok().map(|g| g.compile_matcher())
}

/// Whether an exception entry's code (exact, or a glob like `policy/*`) covers `code`.
pub fn code_matches(pattern: &str, code: &str) -> bool {
    pattern == code || glob(pattern).is_some_and(|g| g.is_match(code))
}

fn matches(pattern: &Option<String>, value: &str) -> bool {
    match pattern {
        None => true,
        Some(p) => p == value || glob(p).is_some_and(|g| g.is_match(value)),
    }
}

/// Compiled exceptions: which apply, and the findings about the others.
pub struct Exceptions {
    active: Vec<ConfigException>,
    unverified: Option<Severity>,
    severities: Vec<(GlobMatcher, Option<Severity>)>,
    /// Findings about the exceptions themselves (expired, no reason).
    pub findings: Vec<Diagnostic>,
}

impl Exceptions {
    pub fn new(opts: &ExceptionOptions) -> Exceptions {
        let mut active = Vec::new();
        let mut findings = Vec::new();
        for e in &opts.exceptions {
            let (file, span) = &e.origin;
            if e.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                findings.push(
                    Diagnostic::error(
                        MISSING_REASON,
                        format!(
                            "exception {} has no reason, so it does not apply",
                            e.describe()
                        ),
                    )
                    .in_file(file.clone(), *span)
                    .with_help("add `reason:` saying why the finding is acceptable"),
                );
                continue;
            }
            if let Some(exp) = e.expires {
                if exp < opts.today {
                    findings.push(
                        Diagnostic::warning(
                            EXPIRED,
                            format!(
                                "exception {} expired on {exp} and no longer applies",
                                e.describe()
                            ),
                        )
                        .in_file(file.clone(), *span)
                        .with_help(
                            "fix the findings it covered, or extend `expires:` with a reason",
                        ),
                    );
                    continue;
                }
            }
            active.push(e.clone());
        }
        let severities = opts
            .severities
            .iter()
            .filter_map(|(code, sev)| glob(code).map(|g| (g, *sev)))
            .collect();
        Exceptions {
            active,
            unverified: opts.unverified,
            severities,
            findings,
        }
    }

    /// Applies severity overrides (dropping codes set to `off`) and config exceptions.
    pub fn apply(&self, diagnostics: &mut Vec<Diagnostic>) {
        diagnostics.retain_mut(|d| {
            if let Some(level) = self.unverified.filter(|_| is_unverified(&d.code)) {
                // Raised, never lowered: `--require-schemas` keeps schema/missing an error.
                d.severity = d.severity.max(level);
            }
            if let Some((_, sev)) = self.severities.iter().find(|(g, _)| g.is_match(&d.code)) {
                match sev {
                    Some(s) => d.severity = *s,
                    None => return false,
                }
            }
            true
        });
        for d in diagnostics.iter_mut().filter(|d| !d.suppressed) {
            // Findings about exceptions cannot be excepted away.
            if d.code.starts_with("exception/") {
                continue;
            }
            if let Some(e) = self.active.iter().find(|e| applies(e, d)) {
                d.suppressed = true;
                d.suppressed_reason = Some(format!(
                    "{} ({})",
                    e.reason.clone().unwrap_or_default(),
                    e.origin.0
                ));
            }
        }
    }
}

fn applies(e: &ConfigException, d: &Diagnostic) -> bool {
    if !matches(&Some(e.code.clone()), &d.code) || !matches(&e.file, &d.file) {
        return false;
    }
    let needs_resource = e.kind.is_some() || e.namespace.is_some() || e.name.is_some();
    match &d.resource {
        None => !needs_resource,
        Some(r) => {
            matches(&e.kind, &r.kind)
                && matches(&e.namespace, r.namespace.as_deref().unwrap_or(""))
                && matches(&e.name, &r.name)
        }
    }
}

/// Applies the object's own `kgate.dev/ignore` annotation to its findings (only the entries
/// `opts.annotation_allowed` holds, when it is set); returns findings about entries without a
/// reason.
pub fn apply_annotation(
    m: &Manifest,
    diagnostics: &mut [Diagnostic],
    opts: &ExceptionOptions,
) -> Vec<Diagnostic> {
    let Some(node) = m
        .node
        .get("metadata")
        .and_then(|n| n.get("annotations"))
        .and_then(|n| n.get(ANNOTATION))
    else {
        return Vec::new();
    };
    let Some(text) = node.as_str() else {
        return vec![Diagnostic::error(
            INVALID,
            format!("annotation {ANNOTATION} must be a string"),
        )
        .in_file(m.file.path.clone(), Some(node.span))
        .with_resource(Some(m.resource.clone()))];
    };
    let mut problems = Vec::new();
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    let allowed: Option<BTreeSet<String>> = opts.annotation_allowed.as_ref().map(|allowed| {
        annotation_keys(m)
            .into_iter()
            .filter(|k| allowed.contains(k))
            .map(|k| k.5)
            .collect()
    });
    for (code, reason) in parse_annotation(text) {
        match reason {
            // An entry the merge request added is reported by `mr`, never applied.
            Some(_) if allowed.as_ref().is_some_and(|a| !a.contains(&code)) => {}
            Some(r) => {
                entries.insert(code, r);
            }
            None => problems.push(
                Diagnostic::error(
                    MISSING_REASON,
                    format!("{ANNOTATION} entry `{code}` has no reason, so it does not apply"),
                )
                .in_file(m.file.path.clone(), Some(node.span))
                .with_resource(Some(m.resource.clone()))
                .with_help(format!("write it as `{code}=why this is acceptable`")),
            ),
        }
    }
    for d in diagnostics
        .iter_mut()
        .filter(|d| !d.suppressed && !d.code.starts_with("exception/"))
    {
        if let Some((_, reason)) = entries
            .iter()
            .find(|(code, _)| **code == d.code || glob(code).is_some_and(|g| g.is_match(&d.code)))
        {
            d.suppressed = true;
            d.suppressed_reason = Some(format!("{reason} ({ANNOTATION})"));
        }
    }
    problems
}

/// `code=reason, code2=reason two` → entries; a reason may itself contain commas, so a piece
/// that does not start with `code=` continues the previous reason.
pub fn parse_annotation(text: &str) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for piece in text.split(',') {
        let trimmed = piece.trim();
        if trimmed.is_empty() {
            continue;
        }
        let (head, rest) = match trimmed.split_once('=') {
            Some((h, r)) => (h.trim(), Some(r.trim())),
            None => (trimmed, None),
        };
        if looks_like_code(head) {
            let reason = rest.filter(|r| !r.is_empty()).map(str::to_string);
            out.push((head.to_string(), reason));
        } else if let Some((_, Some(reason))) = out.last_mut() {
            reason.push(',');
            reason.push_str(piece);
        } else {
            out.push((trimmed.to_string(), None));
        }
    }
    out
}

fn looks_like_code(s: &str) -> bool {
    s.contains('/')
        && !s.contains(char::is_whitespace)
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.*".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_entries_keep_commas_in_reasons() {
        let got = parse_annotation(
            "policy/resources=batch job, sized by the operator, policy/probes, schema/x=ok",
        );
        assert_eq!(
            got,
            vec![
                (
                    "policy/resources".to_string(),
                    Some("batch job, sized by the operator".to_string())
                ),
                ("policy/probes".to_string(), None),
                ("schema/x".to_string(), Some("ok".to_string())),
            ]
        );
    }

    #[test]
    fn expired_and_reasonless_exceptions_do_not_apply() {
        let today = time::macros::date!(2025 - 06 - 01);
        let mk = |reason: Option<&str>, expires| ConfigException {
            code: "policy/*".into(),
            kind: Some("Deploy*".into()),
            namespace: None,
            name: None,
            file: None,
            reason: reason.map(str::to_string),
            expires,
            origin: (".kgate.yaml".into(), None),
        };
        let opts = ExceptionOptions {
            exceptions: vec![
                mk(None, None),
                mk(Some("old"), Some(time::macros::date!(2025 - 05 - 31))),
            ],
            severities: vec![("policy/probes".into(), None)],
            today,
            ..ExceptionOptions::default()
        };
        let ex = Exceptions::new(&opts);
        let codes: Vec<&str> = ex.findings.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, [MISSING_REASON, EXPIRED]);
        let resource = crate::diagnostic::ResourceRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: None,
            name: "web".into(),
        };
        let mut diags = vec![
            Diagnostic::error("policy/resources", "x").with_resource(Some(resource.clone())),
            Diagnostic::warning("policy/probes", "y").with_resource(Some(resource.clone())),
        ];
        ex.apply(&mut diags);
        assert_eq!(diags.len(), 1, "probes is off");
        assert!(!diags[0].suppressed);

        let valid = ExceptionOptions {
            exceptions: vec![mk(
                Some("legacy"),
                Some(time::macros::date!(2025 - 06 - 01)),
            )],
            ..opts
        };
        Exceptions::new(&valid).apply(&mut diags);
        assert!(diags[0].suppressed);
        assert_eq!(
            diags[0].suppressed_reason.as_deref(),
            Some("legacy (.kgate.yaml)")
        );
    }
}
