//! `.kgate.yaml`: the repository's kgate settings, read with kgate's own span-keeping YAML
//! loader so that a bad config is reported at its `file:line:col` (exit 2). Unknown keys are
//! errors with a did-you-mean. Command-line flags override what the file says.

use std::path::{Path, PathBuf};

use crate::diagnostic::closest;
use crate::diagnostic::Severity;
use crate::exceptions::ConfigException;
use crate::source::{SourceFile, Span};
use crate::yaml::{self, Node, Value};

pub const FILE_NAME: &str = ".kgate.yaml";

/// The configuration layer's one error type: a config or baseline file that cannot be read or
/// says something kgate cannot accept. The run stops with exit 2 and this text, which always
/// names the file (and, for a bad value, its `file:line:col`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },

    /// A value, key or document of `.kgate.yaml` that is not accepted, where it is.
    #[error("{file}:{line}:{col}: {message}")]
    Invalid {
        file: String,
        line: u32,
        col: u32,
        message: String,
    },

    /// A size or duration setting that does not parse (`max_file_size: 12 parsecs`).
    #[error("{file}:{line}:{col}: `{key}`: {source}")]
    Limit {
        file: String,
        line: u32,
        col: u32,
        key: String,
        source: crate::input_error::InputError,
    },

    #[error("cannot read baseline {path}: {source}")]
    BaselineRead {
        path: String,
        source: std::io::Error,
    },

    #[error("{path}:{}:{}: not a kgate baseline: {source}", .source.line(), .source.column())]
    NotABaseline {
        path: String,
        source: serde_json::Error,
    },

    #[error(
        "{path}: baseline format version {version} is not supported (this kgate writes \
         version {supported}); run `kgate baseline` again"
    )]
    BaselineVersion {
        path: String,
        version: u32,
        supported: u32,
    },
}

/// The application and run layers still speak `String` errors: `?` converts.
impl From<ConfigError> for String {
    fn from(e: ConfigError) -> String {
        e.to_string()
    }
}

const KEYS: &[&str] = &[
    "policies",
    "namespaces",
    "all_namespaces",
    "data",
    "builtin_policies",
    "image_tag_pattern",
    "own_registries",
    "builtin_engine",
    "require_cpu_limit",
    "kubernetes_version",
    "chart_cache",
    "strict",
    "catalog",
    "skip_kinds",
    "unverified",
    "excludes",
    "severity",
    "exceptions",
    "baseline",
    // The resource limits (`crate::limits::CONFIG_KEYS`).
    "max_file_size",
    "max_documents",
    "max_nodes",
    "max_depth",
    "policy_timeout",
    "memory_target",
    "max_rendered_objects",
    "max_rendered_nodes",
];

const EXCEPTION_KEYS: &[&str] = &[
    "code",
    "kind",
    "namespace",
    "name",
    "file",
    "reason",
    "expires",
];

/// The settings of a config file; paths are already resolved against the file's folder.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub path: Option<String>,
    pub policies: Vec<String>,
    pub namespaces: Vec<String>,
    pub all_namespaces: Option<bool>,
    pub data: Vec<String>,
    pub builtin_policies: Option<bool>,
    pub image_tag_pattern: Option<String>,
    /// Registry prefixes of the team's own images (`policy/image-tag-commit`).
    pub own_registries: Vec<String>,
    pub builtin_engine: Option<crate::policy::BuiltinEngine>,
    pub require_cpu_limit: Option<bool>,
    pub kubernetes_version: Option<String>,
    /// Helm chart cache folder (relative to the config file's folder).
    pub chart_cache: Option<String>,
    pub strict: Option<bool>,
    /// `catalog: false` turns the built-in CRD catalog off (as `--no-catalog`).
    pub catalog: Option<bool>,
    pub skip_kinds: Vec<String>,
    /// The level of findings about what kgate could not verify (`--unverified` wins).
    pub unverified: Option<Severity>,
    pub excludes: Vec<String>,
    pub severity: Vec<(String, Option<Severity>)>,
    pub exceptions: Vec<ConfigException>,
    /// Every code (or code glob) the `severity:` and `exceptions:` entries name, where, so a
    /// code that matches nothing kgate can report is a finding instead of a quiet no-op.
    pub code_uses: Vec<crate::exceptions::CodeUse>,
    /// Resource limits; command-line flags win.
    pub limits: crate::limits::LimitSettings,
    /// The baseline file (`--baseline` wins), resolved against the config's folder.
    pub baseline: Option<String>,
}

/// Finds the config for a run: `explicit` if given, else the nearest `.kgate.yaml` walking up
/// from the first checked path (or the current folder) and stopping at the git root.
pub fn discover(explicit: Option<&str>, first_path: Option<&str>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(PathBuf::from(p));
    }
    let start = match first_path {
        Some(p) if p != "-" => {
            let p = Path::new(p);
            if p.is_dir() {
                p.to_path_buf()
            } else {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            }
        }
        _ => PathBuf::from("."),
    };
    let mut dir = std::fs::canonicalize(if start.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &start
    })
    .ok()?;
    loop {
        let candidate = dir.join(FILE_NAME);
        // Present in any form (a link to a device, a FIFO): loading it says why it cannot be
        // read, instead of running as if there were no config.
        if candidate.symlink_metadata().is_ok() {
            return Some(candidate);
        }
        if dir.join(".git").exists() || !dir.pop() {
            return None;
        }
    }
}

/// Reads and validates a config file. The error names `file:line:col`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let display = path.to_string_lossy().to_string();
    let text = crate::read_guard::read_named_text(path, crate::policy::MAX_POLICY_FILE).map_err(
        |source| ConfigError::Read {
            path: display.clone(),
            source,
        },
    )?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&display, &text, &base)
}

struct Reader<'a> {
    file: &'a SourceFile,
    base: &'a Path,
}

impl Reader<'_> {
    fn err(&self, span: Span, msg: impl std::fmt::Display) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.path.clone(),
            line: span.line,
            col: span.col,
            message: msg.to_string(),
        }
    }

    /// A size or duration that does not parse, at `span`.
    fn limit_err(
        &self,
        span: Span,
        key: &str,
        source: crate::input_error::InputError,
    ) -> ConfigError {
        ConfigError::Limit {
            file: self.file.path.clone(),
            line: span.line,
            col: span.col,
            key: key.to_string(),
            source,
        }
    }

    fn string(&self, n: &Node, key: &str) -> Result<String, ConfigError> {
        match &n.value {
            Value::String(s) => Ok(s.clone()),
            // `kubernetes_version: 1.33` is read as a number by YAML; take its text.
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                Ok(self.file.text[n.span.start..n.span.end].trim().to_string())
            }
            _ => Err(self.err(n.span, format!("`{key}` must be a string"))),
        }
    }

    fn bool(&self, n: &Node, key: &str) -> Result<bool, ConfigError> {
        match n.value {
            Value::Bool(b) => Ok(b),
            _ => Err(self.err(n.span, format!("`{key}` must be true or false"))),
        }
    }

    /// A byte size: a number, or a string with a unit (`64Mi`).
    fn size(&self, n: &Node, key: &str) -> Result<u64, ConfigError> {
        match &n.value {
            Value::Int(i) if *i > 0 => Ok(*i as u64),
            Value::String(s) => {
                crate::limits::parse_size(s).map_err(|e| self.limit_err(n.span, key, e))
            }
            _ => Err(self.err(
                n.span,
                format!("`{key}` must be a positive size such as 33554432 or 32Mi"),
            )),
        }
    }

    /// A positive count.
    fn count(&self, n: &Node, key: &str) -> Result<usize, ConfigError> {
        match &n.value {
            Value::Int(i) if *i > 0 => Ok(*i as usize),
            _ => Err(self.err(n.span, format!("`{key}` must be a positive whole number"))),
        }
    }

    fn strings(&self, n: &Node, key: &str) -> Result<Vec<String>, ConfigError> {
        match &n.value {
            Value::Seq(items) => items.iter().map(|i| self.string(i, key)).collect(),
            Value::String(s) => Ok(vec![s.clone()]),
            _ => Err(self.err(n.span, format!("`{key}` must be a list of strings"))),
        }
    }

    fn paths(&self, n: &Node, key: &str) -> Result<Vec<String>, ConfigError> {
        Ok(self
            .strings(n, key)?
            .into_iter()
            .map(|p| {
                if Path::new(&p).is_absolute() || self.base.as_os_str().is_empty() {
                    p
                } else {
                    self.base.join(p).to_string_lossy().to_string()
                }
            })
            .collect())
    }

    /// A code, kind, namespace, name or file glob: one that does not compile would match
    /// nothing, so the entry would be dropped in silence — an error instead.
    fn glob(&self, pattern: &str, span: Span, what: &str) -> Result<(), ConfigError> {
        globset::Glob::new(pattern).map(|_| ()).map_err(|e| {
            self.err(
                span,
                format!("`{pattern}` in {what} is not a valid glob: {e}"),
            )
        })
    }

    fn check_keys(&self, n: &Node, allowed: &[&str], what: &str) -> Result<(), ConfigError> {
        let Some(entries) = n.as_map() else {
            return Err(self.err(n.span, format!("{what} must be a mapping")));
        };
        for (k, _) in entries {
            if !allowed.contains(&k.name.as_str()) {
                let hint = closest(&k.name, allowed)
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_else(|| format!("; known keys: {}", allowed.join(", ")));
                return Err(self.err(k.span, format!("unknown key `{}` in {what}{hint}", k.name)));
            }
        }
        Ok(())
    }
}

/// Parses config text (`base` resolves relative paths).
pub fn parse(display: &str, text: &str, base: &Path) -> Result<Config, ConfigError> {
    let file = SourceFile::new(display, text);
    let stream = yaml::parse_stream(&file, &yaml::Limits::default());
    let r = Reader { file: &file, base };
    if let Some(p) = stream.problems.first() {
        return Err(match p {
            yaml::YamlProblem::Syntax { message, span }
            | yaml::YamlProblem::Limit { message, span } => r.err(*span, message),
            yaml::YamlProblem::DuplicateKey { key, second, .. } => {
                r.err(*second, format!("duplicate key `{key}`"))
            }
        });
    }
    let mut config = Config {
        path: Some(display.to_string()),
        ..Config::default()
    };
    let roots: Vec<&Node> = stream
        .documents
        .iter()
        .filter_map(|d| d.root.as_ref())
        .collect();
    if roots.len() > 1 {
        return Err(r.err(roots[1].span, "the config file must hold one YAML document"));
    }
    let Some(root) = roots.first() else {
        return Ok(config);
    };
    if root.is_null() {
        return Ok(config);
    }
    r.check_keys(root, KEYS, "the config file")?;
    for (k, v) in root.as_map().unwrap_or_default() {
        let key = k.name.as_str();
        match key {
            "policies" => config.policies = r.paths(v, key)?,
            "data" => config.data = r.paths(v, key)?,
            "namespaces" => config.namespaces = r.strings(v, key)?,
            "skip_kinds" => config.skip_kinds = r.strings(v, key)?,
            "excludes" => config.excludes = r.strings(v, key)?,
            "own_registries" => config.own_registries = r.strings(v, key)?,
            "baseline" => {
                // One file: a list is an error, not its first entry.
                r.string(v, key)?;
                config.baseline = r.paths(v, key)?.into_iter().next();
            }
            "all_namespaces" => config.all_namespaces = Some(r.bool(v, key)?),
            "builtin_policies" => config.builtin_policies = Some(r.bool(v, key)?),
            "require_cpu_limit" => config.require_cpu_limit = Some(r.bool(v, key)?),
            "strict" => config.strict = Some(r.bool(v, key)?),
            "catalog" => config.catalog = Some(r.bool(v, key)?),
            "kubernetes_version" => config.kubernetes_version = Some(r.string(v, key)?),
            "unverified" => {
                config.unverified = Some(match r.string(v, key)?.as_str() {
                    "error" => Severity::Error,
                    "warning" => Severity::Warning,
                    other => {
                        return Err(r.err(
                            v.span,
                            format!("`unverified` is `error` or `warning`, not `{other}`"),
                        ))
                    }
                });
            }
            "chart_cache" => config.chart_cache = Some(r.string(v, key)?),
            "builtin_engine" => {
                config.builtin_engine = Some(match r.string(v, key)?.as_str() {
                    "native" => crate::policy::BuiltinEngine::Native,
                    "rego" => crate::policy::BuiltinEngine::Rego,
                    other => {
                        return Err(r.err(
                            v.span,
                            format!("`builtin_engine` is `native` or `rego`, not `{other}`"),
                        ))
                    }
                });
            }
            "image_tag_pattern" => {
                let p = r.string(v, key)?;
                regex::Regex::new(&p).map_err(|e| {
                    r.err(
                        v.span,
                        format!("`image_tag_pattern` is not a valid regex: {e}"),
                    )
                })?;
                config.image_tag_pattern = Some(p);
            }
            "severity" => {
                let Some(entries) = v.as_map() else {
                    return Err(r.err(
                        v.span,
                        "`severity` must map codes to off, note, warning or error",
                    ));
                };
                for (code, level) in entries {
                    r.glob(&code.name, code.span, "severity")?;
                    config.code_uses.push(crate::exceptions::CodeUse {
                        pattern: code.name.clone(),
                        what: "severity",
                        origin: (r.file.path.clone(), Some(code.span)),
                    });
                    let s = r.string(level, "severity")?;
                    let sev = match s.as_str() {
                        "off" => None,
                        other => Some(Severity::parse(other).ok_or_else(|| {
                            r.err(
                                level.span,
                                format!(
                                    "unknown severity `{other}`: use off, note, warning or error"
                                ),
                            )
                        })?),
                    };
                    check_code(&r, code.span, &code.name, "severity")?;
                    config.severity.push((code.name.clone(), sev));
                }
            }
            "exceptions" => {
                let Some(items) = v.as_seq() else {
                    return Err(r.err(v.span, "`exceptions` must be a list"));
                };
                for item in items {
                    let e = exception(&r, item)?;
                    config.code_uses.push(crate::exceptions::CodeUse {
                        pattern: e.code.clone(),
                        what: "exception",
                        origin: e.origin.clone(),
                    });
                    config.exceptions.push(e);
                }
            }
            "max_file_size" => config.limits.max_file_size = Some(r.size(v, key)?),
            "memory_target" => config.limits.memory_target = Some(r.size(v, key)?),
            "max_documents" => config.limits.max_documents = Some(r.count(v, key)?),
            "max_nodes" => config.limits.max_nodes = Some(r.count(v, key)?),
            "max_depth" => config.limits.max_depth = Some(r.count(v, key)?),
            "max_rendered_objects" => config.limits.max_rendered_objects = Some(r.count(v, key)?),
            "max_rendered_nodes" => config.limits.max_rendered_nodes = Some(r.count(v, key)?),
            "policy_timeout" => {
                let text = r.string(v, key)?;
                let d = crate::limits::parse_duration(&text)
                    .map_err(|e| r.limit_err(v.span, key, e))?;
                config.limits.policy_timeout = Some(d);
            }
            _ => unreachable!("keys were checked against KEYS"),
        }
    }
    Ok(config)
}

fn exception(r: &Reader<'_>, item: &Node) -> Result<ConfigException, ConfigError> {
    r.check_keys(item, EXCEPTION_KEYS, "an exception")?;
    let get = |k: &str| -> Result<Option<String>, ConfigError> {
        let Some(n) = item.get(k).filter(|n| !n.is_null()) else {
            return Ok(None);
        };
        let v = r.string(n, k)?;
        if k != "reason" {
            r.glob(&v, n.span, &format!("an exception's `{k}`"))?;
        }
        Ok(Some(v))
    };
    let code = get("code")?.ok_or_else(|| {
        r.err(
            item.span,
            "an exception needs `code` (a finding code or glob)",
        )
    })?;
    if let Some(n) = item.get("code") {
        check_code(r, n.span, &code, "an exception")?;
    }
    let expires = match item.get("expires").filter(|n| !n.is_null()) {
        None => None,
        Some(n) => {
            let s = r.string(n, "expires")?;
            let format = time::macros::format_description!("[year]-[month]-[day]");
            Some(time::Date::parse(&s, format).map_err(|_| {
                r.err(
                    n.span,
                    format!("`expires` must be a date YYYY-MM-DD, not `{s}`"),
                )
            })?)
        }
    };
    Ok(ConfigException {
        code,
        kind: get("kind")?,
        namespace: get("namespace")?,
        name: get("name")?,
        file: get("file")?,
        reason: get("reason")?,
        expires,
        origin: (r.file.path.clone(), Some(item.span)),
    })
}

/// Every finding code kgate registers (its own and the built-in pack's).
fn known_codes() -> Vec<String> {
    crate::rules::RULES
        .iter()
        .map(|r| r.code.to_string())
        .chain(crate::policy::builtin::rules().into_iter().map(|r| r.code))
        .filter(|c| !c.contains('<'))
        .collect()
}

/// A code (or code glob) in `severity:` or `exceptions:` that no finding can have is a typo
/// that would silently do nothing: an error with a did-you-mean. Codes of the team's own
/// policies (`policy/<package>.<rule>`, `plan-policy/<package>.<rule>`), Gatekeeper constraints
/// (`gatekeeper/<Kind>/<name>`) and ValidatingAdmissionPolicies (`vap/<policy name>`) are the
/// user's to name; a glob must at least start with a known family (`policy/*`).
fn check_code(r: &Reader<'_>, span: Span, code: &str, what: &str) -> Result<(), ConfigError> {
    let known = known_codes();
    let is_glob = code.contains(['*', '?', '[', '{']);
    let family = code.split('/').next().unwrap_or("");
    let user_code = (matches!(family, "policy" | "plan-policy") && code.contains('.'))
        || family == "gatekeeper"
        || (family == "vap" && code.len() > "vap/".len());
    if known.iter().any(|k| k == code) || user_code {
        return Ok(());
    }
    if is_glob {
        let families: Vec<&str> = known
            .iter()
            .filter_map(|k| k.split('/').next())
            .chain(["policy", "plan-policy", "gatekeeper", "vap"])
            .collect();
        let glob_family = family.contains(['*', '?', '[', '{']) || !code.contains('/');
        if glob_family || families.contains(&family) {
            return Ok(());
        }
        let hint = closest(family, &families)
            .map(|c| format!("; did you mean `{c}/…`?"))
            .unwrap_or_default();
        return Err(r.err(
            span,
            format!(
                "`{code}` in {what} matches no finding code: no code starts with `{family}/`{hint}"
            ),
        ));
    }
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    let hint = closest(code, &names)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_else(|| "; `kgate rules` lists the codes".to_string());
    Err(r.err(span, format!("unknown code `{code}` in {what}{hint}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_setting() {
        let text = "policies: [policy]\nnamespaces: [main, k8s]\ndata: data\nbuiltin_policies: false\n\
image_tag_pattern: '^v[0-9]+$'\nkubernetes_version: 1.34\nstrict: false\nseverity:\n  policy/probes: off\n  \
policy/namespace: error\nexceptions:\n  - code: policy/resources\n    kind: Deployment\n    name: web-*\n    \
reason: sized by VPA\n    expires: 2030-01-31\n";
        let c = parse(".kgate.yaml", text, Path::new("/repo")).unwrap();
        assert_eq!(c.policies, ["/repo/policy"]);
        assert_eq!(c.data, ["/repo/data"]);
        assert_eq!(c.namespaces, ["main", "k8s"]);
        assert_eq!(c.builtin_policies, Some(false));
        assert_eq!(c.kubernetes_version.as_deref(), Some("1.34"));
        assert_eq!(c.strict, Some(false));
        assert_eq!(
            c.severity,
            vec![
                ("policy/probes".into(), None),
                ("policy/namespace".into(), Some(Severity::Error))
            ]
        );
        let e = &c.exceptions[0];
        assert_eq!(e.reason.as_deref(), Some("sized by VPA"));
        assert_eq!(e.expires, Some(time::macros::date!(2030 - 01 - 31)));
        assert_eq!(e.origin.1.unwrap().line, 12);
    }

    #[test]
    fn reads_the_limits() {
        let text = "max_file_size: 64Mi\nmax_documents: 10\nmax_nodes: 5000\nmax_depth: 50\n\
policy_timeout: 250ms\nmemory_target: 1073741824\nmax_rendered_objects: 7\n\
max_rendered_nodes: 900\n";
        let c = parse(".kgate.yaml", text, Path::new("")).unwrap();
        assert_eq!(
            c.limits,
            crate::limits::LimitSettings {
                max_file_size: Some(64 << 20),
                max_documents: Some(10),
                max_nodes: Some(5000),
                max_depth: Some(50),
                policy_timeout: Some(std::time::Duration::from_millis(250)),
                memory_target: Some(1 << 30),
                max_rendered_objects: Some(7),
                max_rendered_nodes: Some(900),
            }
        );
        let err = parse("c.yaml", "max_nodes: lots\n", Path::new(""))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "c.yaml:1:12: `max_nodes` must be a positive whole number"
        );
        let err = parse("c.yaml", "policy_timeout: 3h\n", Path::new(""))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.yaml:1:17: `policy_timeout`:"), "{err}");
        // The typed error keeps where and what apart, and the limit parser's error as source.
        match parse("c.yaml", "max_file_size: 12 parsecs\n", Path::new("")).unwrap_err() {
            e @ ConfigError::Limit {
                line: 1, col: 16, ..
            } => {
                assert!(std::error::Error::source(&e).is_some());
                assert_eq!(
                    e.to_string(),
                    "c.yaml:1:16: `max_file_size`: `12 parsecs` has an unknown unit ` parsecs`: \
                     use k, M, G, Ki, Mi or Gi"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse(
            "c.yaml",
            "policies: [p]\nnamespace: [main]\n",
            Path::new(""),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "c.yaml:2:1: unknown key `namespace` in the config file; did you mean `namespaces`?"
        );
        let err = parse("c.yaml", "severity:\n  policy/x: loud\n", Path::new(""))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("c.yaml:2:13: unknown severity `loud`"),
            "{err}"
        );
        let err = parse(
            "c.yaml",
            "exceptions:\n  - code: x\n    reson: y\n",
            Path::new(""),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "c.yaml:3:5: unknown key `reson` in an exception; did you mean `reason`?"
            ),
            "{err}"
        );
        let err = parse(
            "c.yaml",
            "exceptions:\n  - code: policy/resources\n    expires: soon\n",
            Path::new(""),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("c.yaml:3:14: `expires` must be a date"),
            "{err}"
        );
        let err = parse("c.yaml", "policies: [p\n", Path::new(""))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.yaml:"), "{err}");
    }

    #[test]
    fn misspelt_codes_are_errors_with_did_you_mean() {
        let err = parse(
            "c.yaml",
            "severity:\n  policy/resource: off\n",
            Path::new(""),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "c.yaml:2:3: unknown code `policy/resource` in severity; did you mean `policy/resources`?"
        );
        let err = parse(
            "c.yaml",
            "exceptions:\n  - code: schema/unknown-feild\n    reason: r\n",
            Path::new(""),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "c.yaml:2:11: unknown code `schema/unknown-feild` in an exception; did you mean `schema/unknown-field`?"
        );
        let err = parse("c.yaml", "severity:\n  polcy/*: off\n", Path::new(""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no code starts with `polcy/`; did you mean `policy/…`?"),
            "{err}"
        );
        let err = parse("c.yaml", "severity:\n  nonsense-code: off\n", Path::new(""))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("`kgate rules` lists the codes"), "{err}");
        // Globs of known families, the team's own policy codes and constraint codes are fine.
        let ok = "severity:\n  policy/*: warning\n  policy/main.deny: off\n  \
gatekeeper/K8sRequiredLabels/must-have-owner: warning\n  '*': warning\n  schema/unknown-field: note\n";
        assert_eq!(
            parse("c.yaml", ok, Path::new("")).unwrap().severity.len(),
            5
        );
        assert!(err.starts_with("c.yaml:"), "{err}");
    }
}
