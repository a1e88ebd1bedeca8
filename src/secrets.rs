//! The one place that decides what is a credential. Given an object, [`classify`] lists every
//! field that holds a secret value (or secret parts inside a longer text) and why; given a name
//! or a text, [`name_is_credential`], [`is_reference`] and [`secret_parts`] say the same thing
//! for a single value. `policy/no-inline-secrets` (the compiled pack and, through the
//! `kgate.inline_secrets` Rego builtin, the Rego pack), the redactor (code frames and messages),
//! `kgate render` and `kgate diff` all ask here, so they cannot disagree: what the policy calls a
//! credential is exactly what every output hides.
//!
//! Why one module: three copies of these rules (the redactor, the policy, the plan) used to
//! drift, and each gap between them was a leak (the policy flagged a value that the redactor
//! then printed) or a false positive (a `…_SECRET_NAME` flagged by one and not the other).

use std::fmt::Write as _;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use crate::yaml::{escape_pointer_segment, push_pointer_segment};

/// Why a field is secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Why {
    /// A value of a core `Secret`'s `data` or `stringData`.
    SecretData,
    /// The field's name (or, for an `{name, value}` item, the item's name) says credential.
    Name,
    /// The whole value has the shape of a credential (a token format, a key block, a JWT, a URL
    /// with a password, a long random string).
    Shape,
    /// Parts of a longer text are credentials: a token inside it, or a line of an embedded file
    /// (properties, INI, TOML, env, .npmrc) that assigns one.
    Embedded,
    /// `kubectl.kubernetes.io/last-applied-configuration` holding an object with secrets.
    LastApplied,
}

/// One field of an object that holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretField {
    /// JSON pointer of the field (`/data/password`, `/spec/containers/0/env/1/value`).
    pub pointer: String,
    pub why: Why,
    /// True when the whole value is secret; false when only `texts` inside it are.
    pub whole: bool,
    /// What must never be printed: the value's text when `whole` (a number as JSON prints
    /// it), else the secret parts inside it.
    pub texts: Vec<String>,
}

/// The secret fields of one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectSecrets {
    pub fields: Vec<SecretField>,
}

impl ObjectSecrets {
    /// Whether the value at `pointer` is (inside) a secret field, or holds one below it.
    pub fn touches(&self, pointer: &str) -> bool {
        self.fields.iter().any(|f| {
            within(pointer, &f.pointer) || (within(&f.pointer, pointer) && f.pointer != pointer)
        })
    }

    /// Whether the value at `pointer` is secret whole (it or an ancestor is a whole secret).
    pub fn is_whole_secret(&self, pointer: &str) -> bool {
        self.fields
            .iter()
            .any(|f| f.whole && within(pointer, &f.pointer))
    }

    /// The secret field at exactly `pointer`.
    pub fn at(&self, pointer: &str) -> Option<&SecretField> {
        self.fields.iter().find(|f| f.pointer == pointer)
    }

    /// Every text that must not be printed.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .flat_map(|f| f.texts.iter().map(String::as_str))
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// `pointer` is `ancestor` or below it.
fn within(pointer: &str, ancestor: &str) -> bool {
    pointer == ancestor
        || (pointer.starts_with(ancestor) && pointer.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

/// The annotation `kubectl apply` writes: the whole applied object as JSON.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Whether the object is a core `Secret` (apiVersion `v1`).
pub fn is_core_secret(obj: &Value) -> bool {
    let core = match obj.get("apiVersion") {
        Some(Value::String(a)) => !a.contains('/'),
        _ => true,
    };
    core && obj.get("kind").and_then(Value::as_str) == Some("Secret")
}

/// Every secret field of `obj`, in document order.
pub fn classify(obj: &Value) -> ObjectSecrets {
    let mut out = Vec::new();
    let secret_kind = is_core_secret(obj);
    let Value::Object(map) = obj else {
        return ObjectSecrets::default();
    };
    // One pointer buffer for the whole walk: a segment is pushed on the way down and cut on
    // the way up, so only the fields that are secret get a pointer of their own.
    let mut pointer = String::new();
    for (k, v) in map {
        pointer.clear();
        push_pointer_segment(&mut pointer, k);
        if secret_kind && (k == "data" || k == "stringData") {
            if let Value::Object(entries) = v {
                for (key, value) in entries {
                    let p = format!("{pointer}/{}", escape_pointer_segment(key));
                    secret_data(value, &p, &mut out);
                }
                continue;
            }
            // `data: [..]` or `data: 5`: still the Secret's values.
            secret_data(v, &pointer, &mut out);
            continue;
        }
        walk(v, &mut pointer, Some(k.as_str()), &mut out);
    }
    copies(obj, &mut out);
    ObjectSecrets { fields: out }
}

/// Scalars elsewhere in the object that repeat a secret value whole: the same value reached
/// through a YAML alias (`label: *pw`), or written twice. They are as secret as the original.
/// The object's identity (`kind`, `metadata.name`, …) is never one: a Secret whose value
/// happens to equal its namespace must still be named in findings.
fn copies(obj: &Value, out: &mut Vec<SecretField>) {
    let values: Vec<String> = out
        .iter()
        .filter(|f| f.whole)
        .flat_map(|f| f.texts.iter())
        .filter(|t| t.chars().count() >= 6 && !is_flag(t))
        .cloned()
        .collect();
    if values.is_empty() {
        return;
    }
    let mut found = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), obj)];
    while let Some((pointer, v)) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, item) in map {
                    stack.push((format!("{pointer}/{}", escape_pointer_segment(k)), item));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((format!("{pointer}/{i}"), item));
                }
            }
            _ => {
                let identity = matches!(
                    pointer.as_str(),
                    "/apiVersion" | "/kind" | "/metadata/name" | "/metadata/namespace"
                );
                let Some(text) = scalar_text(v) else { continue };
                if !identity
                    && values.contains(&text)
                    && !out.iter().any(|f| within(&pointer, &f.pointer) && f.whole)
                {
                    found.push(SecretField {
                        pointer,
                        why: Why::Name,
                        whole: true,
                        texts: vec![text],
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    out.extend(found);
}

/// Every scalar under a Secret's data is secret, whatever its type and name, except a
/// reference to a secret manager (argocd-vault-plugin's `<path:…>`, `${VAR}` placeholders)
/// which holds no value.
fn secret_data(v: &Value, pointer: &str, out: &mut Vec<SecretField>) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                secret_data(item, &format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(entries) => {
            for (k, item) in entries {
                secret_data(
                    item,
                    &format!("{pointer}/{}", escape_pointer_segment(k)),
                    out,
                );
            }
        }
        Value::String(s) if is_placeholder(s) => {}
        _ => {
            if let Some(text) = scalar_text(v) {
                out.push(SecretField {
                    pointer: pointer.to_string(),
                    why: Why::SecretData,
                    whole: true,
                    texts: vec![text],
                });
            }
        }
    }
}

/// A scalar's text as JSON and messages print it; None for null (nothing to hide).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn walk(v: &Value, pointer: &mut String, name: Option<&str>, out: &mut Vec<SecretField>) {
    match v {
        Value::String(s) => {
            if name == Some(LAST_APPLIED) {
                if let Ok(inner) = serde_json::from_str::<Value>(s) {
                    let inner = classify(&inner);
                    if !inner.is_empty() {
                        out.push(SecretField {
                            pointer: pointer.clone(),
                            why: Why::LastApplied,
                            whole: true,
                            texts: vec![s.clone()],
                        });
                    }
                    return;
                }
            }
            if let Some(f) = classify_string(name, s, pointer) {
                out.push(f);
            }
        }
        // A password written without quotes is a number to YAML, and still the password.
        Value::Number(n) if name.is_some_and(name_is_credential) => out.push(SecretField {
            pointer: pointer.clone(),
            why: Why::Name,
            whole: true,
            texts: vec![n.to_string()],
        }),
        // `password: [a, b]`: the items are what the name describes.
        Value::Array(items) => {
            let len = pointer.len();
            for (i, item) in items.iter().enumerate() {
                write!(pointer, "/{i}").expect("writing to a String cannot fail");
                walk(item, pointer, name, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            // `env: [{name: DB_PASSWORD, value: …}]`: the name is a sibling of the value.
            let sibling = map.get("name").and_then(Value::as_str);
            let len = pointer.len();
            for (k, item) in map {
                let effective = if k == "value" {
                    sibling.or(Some(k.as_str()))
                } else {
                    Some(k.as_str())
                };
                push_pointer_segment(pointer, k);
                walk(item, pointer, effective, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// The verdict on one string value under `name`.
fn classify_string(name: Option<&str>, s: &str, pointer: &str) -> Option<SecretField> {
    let field = |why, whole, texts| SecretField {
        pointer: pointer.to_string(),
        why,
        whole,
        texts,
    };
    if s.trim().is_empty() {
        return None;
    }
    if value_is_credential(s) {
        return Some(field(Why::Shape, true, vec![s.to_string()]));
    }
    if name.is_some_and(name_is_credential) && !is_reference(s) && !is_flag(s) {
        return Some(field(Why::Name, true, vec![s.to_string()]));
    }
    let parts = secret_parts(s);
    if parts.is_empty() {
        None
    } else {
        Some(field(Why::Embedded, false, parts))
    }
}

/// The words of a name: split at punctuation and camelCase humps, lower-cased
/// (`signingKey` → signing key; `DB_PASSWORD` → db password; `APIKey` → api key).
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let hump = c.is_uppercase()
                && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                    || (prev.is_some_and(char::is_uppercase)
                        && next.is_some_and(|n| n.is_lowercase())));
            if hump && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.extend(c.to_lowercase());
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// Words that make a name a credential wherever they stand.
const HOLDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "pwd",
    "secret",
    "token",
    "credential",
    "credentials",
    "creds",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "signingkey",
    "encryptionkey",
    "authkey",
    "connectionstring",
    "dsn",
    "htpasswd",
];

/// Words that, followed by `key`, name a key that is a credential (`signingKey`, `api_key`).
const KEY_OWNERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "signing",
    "encryption",
    "auth",
    "client",
    "master",
    "session",
    "account",
    "storage",
    "shared",
    "ssh",
    "webhook",
    "hmac",
    "license",
    "subscription",
];

/// Last words that make a credential-sounding name point at a credential or describe one
/// rather than hold it: `secretName`, `TOKEN_PATH`, `passwordFile`, `admin.passwordMtime`,
/// `TOKEN_TTL`, `minPasswordLength`, `tokenUrl`.
const DESCRIBES: &[&str] = &[
    "name",
    "names",
    "namespace",
    "ref",
    "refs",
    "reference",
    "file",
    "files",
    "path",
    "paths",
    "dir",
    "directory",
    "mount",
    "volume",
    "env",
    "var",
    "variable",
    "command",
    "cmd",
    "script",
    "ttl",
    "timeout",
    "expiry",
    "expires",
    "expiration",
    "age",
    "lifetime",
    "duration",
    "period",
    "interval",
    "mtime",
    "time",
    "timestamp",
    "date",
    "length",
    "len",
    "size",
    "count",
    "min",
    "max",
    "limit",
    "policy",
    "policies",
    "type",
    "kind",
    "mode",
    "format",
    "enabled",
    "enable",
    "disabled",
    "required",
    "header",
    "field",
    "prefix",
    "suffix",
    "url",
    "uri",
    "endpoint",
    "host",
    "port",
    "provider",
    "store",
    "source",
    "selector",
    "label",
    "annotation",
    "version",
    "algorithm",
    "rotation",
    "audience",
    "issuer",
    "scope",
    "scopes",
    "usage",
    "generator",
    "pattern",
    "regex",
    "template",
    "location",
    "secrets",
    "manager",
    "backend",
    "review",
    "reviewer",
    "request",
    "role",
    "key",
];

/// Names that say "this value is a credential": a credential word (`password`, `token`,
/// `secret`, an `…_key` of a known kind, `pass` at the end) not followed by a word that makes
/// the name describe or point at one.
pub fn name_is_credential(name: &str) -> bool {
    if !may_name_credential(name) {
        return false;
    }
    let w = words(name);
    let Some(last) = w.last() else { return false };
    let last = last.as_str();
    let holds = w.iter().enumerate().any(|(i, word)| {
        let word = word.as_str();
        let before = i.checked_sub(1).map_or("", |j| w[j].as_str());
        HOLDS.contains(&word)
            || (word == "key" && KEY_OWNERS.contains(&before))
            || (word == "string" && before == "connection")
    }) || ((last == "pass" || last == "pw") && w.len() <= 3);
    if !holds {
        return false;
    }
    // `secretKey` and `privateKey` end in `key` but hold it; any other last word that
    // describes is a pointer or a setting.
    if last == "key" {
        return true;
    }
    !DESCRIBES.contains(&last)
}

/// A quick necessary condition for [`name_is_credential`]: every word that makes a name a
/// credential (the [`HOLDS`] words, `…key`, `connection string`, a last `pass`/`pw`) has one of
/// these in it, and the words of an ASCII name are its letters lower-cased. Most names (`image`,
/// `containerPort`) have none, and then splitting them into words is not needed. Names with
/// other characters (whose lower case can differ) always take the full test.
fn may_name_credential(name: &str) -> bool {
    const STEMS: &[&[u8]] = &[
        b"pass",
        b"pw",
        b"secret",
        b"token",
        b"cred",
        b"key",
        b"dsn",
        b"connection",
    ];
    if !name.is_ascii() {
        return true;
    }
    let name = name.as_bytes();
    STEMS.iter().any(|stem| {
        name.windows(stem.len())
            .any(|w| w.eq_ignore_ascii_case(stem))
    })
}

/// Strings that are the values of a setting, never a credential: booleans and null words.
fn is_flag(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "none" | "nil" | "~"
    )
}

/// Values that point at a credential instead of holding one: `${VAR}`/`$(VAR)`/`{{ … }}`
/// placeholders (alone or around short literals), secret-manager references (`op://`,
/// `vault:`, `ref+…`, argocd-vault-plugin's `<path:…>`, AWS/GCP/Azure secret ids), resource
/// paths (`/var/run/secrets/token`, `secret/data/app`), and identifiers that name a credential
/// (`db-password`: the key of a Secret, not its value).
pub fn is_reference(s: &str) -> bool {
    let t = s.trim();
    is_placeholder(t) || resource_path(t) || names_a_credential(t)
}

/// Placeholders and secret-manager references: text that a tool replaces by the secret
/// later (`${VAR}`, `<path:…>`, `op://…`), so even a Secret's value is none when it is one.
pub fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() {
        return true;
    }
    let lower = t.to_ascii_lowercase();
    const SCHEMES: &[&str] = &[
        "op://",
        "vault:",
        "vault://",
        "ref+",
        "sops://",
        "awssm://",
        "awsssm://",
        "gcpsm://",
        "azurekv://",
        "akv://",
        "keyvault:",
        "secretsmanager:",
        "arn:aws:secretsmanager:",
        "arn:aws:ssm:",
        "arn:aws:kms:",
        "arn:aws:iam:",
        "k8s://",
        "env:",
        "file:",
    ];
    if SCHEMES.iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    // Placeholders: what is left once `${…}`, `$(…)`, `{{…}}` and `<path:…>` markers are removed
    // is too short to be a value (`${DB_PASSWORD}`, `prefix-${X}`, `<path:kv/data/db#pw>`).
    let stripped = strip_placeholders(t);
    if stripped.len() != t.len() && stripped.trim().chars().count() < 4 {
        return true;
    }
    // `$DB_PASSWORD`, `$1`: a shell variable.
    if t.len() > 1
        && t.starts_with('$')
        && t[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '{' || c == '}')
    {
        return true;
    }
    if t.starts_with('<') && t.ends_with('>') && !t.contains('\n') {
        // `<path:…>`, `<your-password>`: a marker or a fill-me-in.
        return true;
    }
    false
}

/// `${…}`, `$(…)`, `{{…}}`, `<path:…>` markers removed.
fn strip_placeholders(t: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"\$\{[^}]*\}|\$\([^)]*\)|\{\{.*?\}\}|<path:[^>]*>").expect("valid regex")
    });
    re.replace_all(t, "").into_owned()
}

/// `/var/run/secrets/kubernetes.io/serviceaccount/token`, `secret/data/db`,
/// `projects/p/secrets/s/versions/latest`: segments of plain words, none of them random.
fn resource_path(t: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^(/|\./|~/)?[A-Za-z0-9_.@-]+(/[A-Za-z0-9_.@*#-]+)+/?$").expect("valid regex")
    });
    if !re.is_match(t) {
        return false;
    }
    let segments: Vec<&str> = t.split(['/', '#']).filter(|s| !s.is_empty()).collect();
    segments.len() >= 2 && segments.iter().all(|s| !random_word(s))
}

/// A run that looks generated rather than written: long, and mixing cases and digits.
fn random_word(s: &str) -> bool {
    let n = s.chars().count();
    let classes = [
        s.chars().any(|c| c.is_ascii_lowercase()),
        s.chars().any(|c| c.is_ascii_uppercase()),
        s.chars().any(|c| c.is_ascii_digit()),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    (n >= 12 && classes == 3) || (n >= 20 && classes >= 2 && distinct(s) >= 12)
}

fn distinct(s: &str) -> usize {
    let mut c: Vec<char> = s.chars().collect();
    c.sort_unstable();
    c.dedup();
    c.len()
}

/// `db-password`, `api_token`, `password`: a short lower-case identifier without digits that
/// ends in a credential word is the key of a Secret (`secretKey: db-password`), not a value.
/// (`hunter2-very-secret` has a digit: a value.)
fn names_a_credential(t: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^[a-z]+([-_.][a-z]+){0,2}$").expect("regex"));
    if !re.is_match(t) {
        return false;
    }
    let w = words(t);
    w.last()
        .is_some_and(|last| HOLDS.contains(&last.as_str()) || last == "key")
        && name_is_credential(t)
}

/// The length of the shortest match of [`token_regex`]'s formats (`xoxb-` and ten characters).
const MIN_TOKEN_LEN: usize = 15;

/// The token formats that are credentials whatever their name, matched inside a text.
fn token_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let patterns = [
            r"gh[pousr]_[A-Za-z0-9]{20,}",
            r"github_pat_[A-Za-z0-9_]{20,}",
            r"glpat-[A-Za-z0-9_-]{20,}",
            r"gl(dt|rt|ptt|cbt|imt|agent|oas|ft|soat)-[A-Za-z0-9_-]{20,}",
            r"xox[abposr]-[A-Za-z0-9-]{10,}",
            r"xapp-[0-9]-[A-Za-z0-9-]{10,}",
            r"(AKIA|ASIA|AROA|AIDA|ANPA)[A-Z0-9]{16}",
            r"(sk|rk|pk)_(live|test)_[A-Za-z0-9]{16,}",
            r"whsec_[A-Za-z0-9]{20,}",
            r"AIza[0-9A-Za-z_-]{35}",
            r"npm_[A-Za-z0-9]{30,}",
            r"pypi-[A-Za-z0-9_-]{40,}",
            r"hf_[A-Za-z0-9]{30,}",
            r"sk-(proj-|ant-)?[A-Za-z0-9_-]{20,}",
            r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
            r"dop_v1_[a-f0-9]{64}",
            r"shp(at|ss|ca|pa)_[a-fA-F0-9]{32}",
            r"AGE-SECRET-KEY-1[0-9A-Z]{50,}",
            r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        ];
        let alternation: Vec<String> = patterns.iter().map(|p| format!("(?:{p})")).collect();
        // Not glued to a word before it (`myghp_…` is no token), but after `=`, `:`, a quote
        // or a space it is.
        Regex::new(&format!(
            r"(?:^|[^A-Za-z0-9_])((?:{}))",
            alternation.join("|")
        ))
        .expect("valid token regex")
    })
}

/// A PEM private key block (the whole block, header to footer, or to the end of the text).
fn pem_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(-----END [A-Z0-9 ]*-----|\z)",
        )
        .expect("valid pem regex")
    })
}

/// `scheme://user:password@host`: the password.
fn url_password_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:([^/@\s]+)@").expect("valid url regex")
    })
}

/// `Authorization: Bearer …`, `Basic …`: the token after the scheme word.
fn auth_scheme_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b(?:bearer|basic|token|apikey)\s+([A-Za-z0-9._~+/=-]{8,})")
            .expect("valid auth regex")
    })
}

/// An AWS secret access key: 40 characters of base64 without padding, mixing cases and digits.
fn aws_secret_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])")
            .expect("valid aws regex")
    })
}

/// The whole value has a credential's shape.
pub fn value_is_credential(s: &str) -> bool {
    let t = s.trim();
    // The shortest whole-value credential is a 15-character token (`xoxb-` and ten more); key
    // blocks, AWS keys (40) and random strings (24) are longer.
    if t.len() < MIN_TOKEN_LEN {
        return false;
    }
    if let Some(m) = token_regex().captures(t).and_then(|c| c.get(1)) {
        if m.start() == 0 && m.end() == t.len() {
            return true;
        }
    }
    if t.starts_with("-----BEGIN") && pem_regex().is_match(t) {
        return true;
    }
    if aws_secret(t) && t.len() == 40 {
        return true;
    }
    high_entropy(t)
}

fn aws_secret(t: &str) -> bool {
    aws_secret_regex().captures_iter(t).any(|c| {
        c.get(1).is_some_and(|m| {
            let s = m.as_str();
            s.chars().any(|c| c.is_ascii_lowercase())
                && s.chars().any(|c| c.is_ascii_uppercase())
                && s.chars().any(|c| c.is_ascii_digit())
                && distinct(s) >= 20
        })
    })
}

/// A long string without spaces mixing letters and digits with many distinct characters: an
/// API key written without a recognisable prefix. Dotted names (Java classes, hostnames) and
/// paths are not keys.
pub fn high_entropy(v: &str) -> bool {
    let n = v.chars().count();
    if !(24..=512).contains(&n) || v.contains(|c: char| c.is_whitespace() || "/:.@".contains(c)) {
        return false;
    }
    v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_lowercase())
        && v.bytes().any(|b| b.is_ascii_uppercase())
        && distinct(v) >= 16
}

/// The secret parts inside a longer text: tokens of a known format, key blocks, passwords in
/// URLs, `Bearer …` tokens, AWS secret keys, and the values of lines that assign a credential
/// (`password=…`, `db.password: …`, `api_key = "…"`, `"token": "…"`,
/// `//registry.npmjs.org/:_authToken=…`). Values that are references or booleans are not
/// parts.
pub fn secret_parts(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |p: &str| {
        let p = p.trim();
        if !p.is_empty() && !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    };
    // Each search below is skipped when the text cannot hold its match (they are exact
    // necessary conditions, checked first because most values are short words).
    if s.contains("-----BEGIN ") {
        for m in pem_regex().find_iter(s) {
            // Each line of the body: a code frame or a message shows lines, not the block.
            for line in m.as_str().lines() {
                if !line.trim_start().starts_with("-----") {
                    add(line);
                }
            }
        }
    }
    if s.len() >= MIN_TOKEN_LEN {
        for c in token_regex().captures_iter(s) {
            if let Some(m) = c.get(1) {
                add(m.as_str());
            }
        }
    }
    if s.contains("://") && s.contains('@') {
        for c in url_password_regex().captures_iter(s) {
            if let Some(m) = c.get(1) {
                if !is_reference(m.as_str()) {
                    add(m.as_str());
                }
            }
        }
    }
    // A scheme word (5 letters or more), a space, and 8 characters.
    if s.len() >= 14 && s.contains(char::is_whitespace) {
        for c in auth_scheme_regex().captures_iter(s) {
            if let Some(m) = c.get(1) {
                let t = m.as_str();
                // `Bearer token`, `basic authentication`: words, not tokens.
                if !t.chars().all(|c| c.is_ascii_lowercase()) && !is_reference(t) {
                    add(t);
                }
            }
        }
    }
    if s.len() >= 40 {
        for c in aws_secret_regex().captures_iter(s) {
            if let Some(m) = c.get(1) {
                if aws_secret(m.as_str()) {
                    add(m.as_str());
                }
            }
        }
    }
    // An assignment needs `=` or `:`.
    if s.contains(['=', ':']) {
        for line in s.lines() {
            if let Some(value) = assigned_credential(line) {
                add(&value);
            }
        }
    }
    out
}

/// The value a line assigns to a credential name, if it does: `KEY=VALUE` (env, properties,
/// .npmrc), `key = "value"` (TOML, INI), `key: value` (YAML, properties), `"key": "value",`
/// (JSON), `--key=value` (a flag). None for references, booleans, empty values, and unquoted
/// values with spaces (prose, not an assignment).
pub fn assigned_credential(line: &str) -> Option<String> {
    let mut t = line.trim();
    for prefix in ["export ", "- ", "--", "set "] {
        t = t.strip_prefix(prefix).map(str::trim_start).unwrap_or(t);
    }
    if t.starts_with(['#', ';', '[', '{']) || (t.starts_with("//") && !t.contains(":_")) {
        return None;
    }
    let (key, rest) = split_assignment(t)?;
    let key = key.trim().trim_matches(['"', '\'']);
    if key.is_empty() || key.contains(char::is_whitespace) || !name_is_credential(key) {
        return None;
    }
    let rest = rest.trim();
    let value = if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
        quoted_prefix(&rest[1..], q).to_string()
    } else {
        let v = rest
            .split(" #")
            .next()
            .unwrap_or(rest)
            .split(" ;")
            .next()
            .unwrap_or(rest)
            .trim()
            .trim_end_matches(',');
        // `key: two words` is prose; `key=two words` (properties, INI, env) is a value.
        if v.contains(char::is_whitespace) && !separator_is_equals(t) {
            return None;
        }
        v.to_string()
    };
    if value.trim().is_empty()
        || is_flag(&value)
        || is_reference(&value)
        || value.starts_with(['{', '[', '|', '>', '&', '*'])
    {
        return None;
    }
    Some(value)
}

/// The text of a quoted value up to its closing quote `q` (a backslash escapes the next
/// character in a double-quoted one), as written.
fn quoted_prefix(inner: &str, q: char) -> &str {
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        match c {
            '\\' if q == '"' && !escaped => escaped = true,
            c if c == q && !escaped => return &inner[..i],
            _ => escaped = false,
        }
    }
    inner
}

/// Whether the assignment on this line uses `=`.
fn separator_is_equals(t: &str) -> bool {
    split_assignment(t).is_some_and(|(key, _)| t.as_bytes().get(key.len()) == Some(&b'='))
}

/// `key=value` or `key: value` (the first `=`, or the first `:` when no `=` comes first and the
/// colon ends the key).
fn split_assignment(t: &str) -> Option<(&str, &str)> {
    let eq = t.find('=');
    let colon = t
        .char_indices()
        .find(|&(i, c)| {
            c == ':'
                && t[i + 1..]
                    .chars()
                    .next()
                    .is_none_or(|n| n == ' ' || n == '\t')
        })
        .map(|(i, _)| i);
    let at = match (eq, colon) {
        (Some(e), Some(c)) => e.min(c),
        (Some(e), None) => e,
        (None, Some(c)) => c,
        (None, None) => return None,
    };
    let (key, rest) = (&t[..at], &t[at + 1..]);
    // `==`, `=>`, `:=`: code, not an assignment.
    if rest.starts_with(['=', '>']) || key.ends_with([':', '!', '<', '>']) {
        return None;
    }
    Some((key, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_split_at_humps_and_punctuation() {
        assert_eq!(words("signingKey"), ["signing", "key"]);
        assert_eq!(words("APIKey"), ["api", "key"]);
        assert_eq!(words("DB_PASSWORD"), ["db", "password"]);
        assert_eq!(words("admin.passwordMtime"), ["admin", "password", "mtime"]);
        assert_eq!(words("oauth2Token"), ["oauth2", "token"]);
    }

    #[test]
    fn credential_names() {
        for name in [
            "DB_PASSWORD",
            "SHORT_PASSWORD",
            "password",
            "github-token",
            "signingKey",
            "accessKey",
            "secretKey",
            "connectionString",
            "CONNECTION_STRING",
            "apiKey",
            "api_key",
            "client_secret",
            "privateKey",
            "DB_PASS",
            "pwd",
            "sentry.dsn",
            "authToken",
            "_authToken",
            "webhookSecret",
            "aws_secret_access_key",
        ] {
            assert!(name_is_credential(name), "{name}");
        }
        for name in [
            "LOG_LEVEL",
            "secretName",
            "DB_SECRET_NAME",
            "secretRef",
            "PASSWORD_FILE",
            "tokenPath",
            "secretNamespace",
            "admin.passwordMtime",
            "TOKEN_TTL",
            "minPasswordLength",
            "tokenUrl",
            "key",
            "tls.key",
            "monkey",
            "passthrough",
            "bypass",
            "imagePullSecrets",
            "secretKeyRef",
            "automountServiceAccountTokenEnabled",
        ] {
            assert!(!name_is_credential(name), "{name}");
        }
    }

    #[test]
    fn references_are_not_values() {
        for r in [
            "op://vault/item/field",
            "vault:secret/data/db#password",
            "ref+vault://secret/db#/password",
            "ref+awssecrets://db",
            "${DB_PASSWORD}",
            "${DB_PASSWORD:=changeme}",
            "$(DB_PASSWORD)",
            "{{ .Values.password }}",
            "<path:kv/data/db#password>",
            "<path:secret/data/app#token | base64encode>",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
            "projects/my-project/secrets/db-password/versions/latest",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            "secret/data/app",
            "db-password",
            "$DB_PASSWORD",
        ] {
            assert!(is_reference(r), "{r}");
        }
        for v in [
            "hunter22",
            "1234567",
            "p@ss/w0rd with space",
            "Xk9/q2Lm8Zr4Tp7Wv3Yb",
        ] {
            assert!(!is_reference(v), "{v}");
        }
    }

    #[test]
    fn embedded_parts() {
        let parts = secret_parts("db.user=app\ndb.password=hunter22\nlink_token = false\n");
        assert_eq!(parts, ["hunter22"]);
        assert_eq!(
            secret_parts("key=ghp_abcdefghijklmnopqrstuvwxyzABCD and more"),
            ["ghp_abcdefghijklmnopqrstuvwxyzABCD"]
        );
        assert_eq!(
            secret_parts("Authorization: Bearer Zm9vYmFyYmF6cXV4"),
            ["Zm9vYmFyYmF6cXV4"]
        );
        assert!(secret_parts("use a Bearer token here").is_empty());
        assert_eq!(
            secret_parts("//registry.npmjs.org/:_authToken=abc123secretvalue"),
            ["abc123secretvalue"]
        );
        assert_eq!(secret_parts("[db]\npassword = \"p a s s\"\n"), ["p a s s"]);
        assert_eq!(
            secret_parts("{\n  \"token\": \"s3cr3t-json\",\n}"),
            ["s3cr3t-json"]
        );
        assert_eq!(
            secret_parts("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]
        );
        for no in [
            "password = ${DB_PASSWORD}",
            "secret_name = db",
            "token: op://vault/item/field",
            "password_file=/etc/pw",
            "the password: see the docs",
            "if x == password",
        ] {
            assert!(secret_parts(no).is_empty(), "{no}");
        }
    }

    #[test]
    fn classify_an_object() {
        let obj = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "annotations": {"vault.hashicorp.com/agent-inject-secret-db": "database/creds/app"}},
            "stringData": {"pin": 1234567, "password": "<path:kv/data/db#pw>", "user": "admin"},
        });
        let s = classify(&obj);
        let pointers: Vec<&str> = s.fields.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(pointers, ["/stringData/pin", "/stringData/user"]);
        assert_eq!(s.fields[0].texts, ["1234567"]);

        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {
            "signingKey": "abcd1234", "DB_SECRET_NAME": "db-creds", "app.toml": "link_token = false\npassword = \"x y\"\n",
            "LOG": "debug"},
            "metadata": {"annotations": {LAST_APPLIED: "{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"data\":{\"a\":\"eHl6\"}}"}},
            "spec": {"containers": [{"env": [{"name": "SHORT_PASSWORD", "value": "1234567"}, {"name": "X", "value": "Bearer abcDEF123456"}]}]}});
        let s = classify(&cm);
        let found: Vec<(&str, Why)> = s
            .fields
            .iter()
            .map(|f| (f.pointer.as_str(), f.why))
            .collect();
        assert_eq!(
            found,
            [
                ("/data/signingKey", Why::Name),
                ("/data/app.toml", Why::Embedded),
                (
                    "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
                    Why::LastApplied
                ),
                ("/spec/containers/0/env/0/value", Why::Name),
                ("/spec/containers/0/env/1/value", Why::Embedded),
            ]
        );
        assert!(s.is_whole_secret("/data/signingKey"));
        assert!(!s.is_whole_secret("/data/app.toml"));
        assert!(s.touches("/spec/containers/0/env"));
    }
}
