//! Secret redaction: finds values that are or look like credentials, so that no report, message
//! or code frame ever prints them.
//!
//! Two layers: every secret value's span is masked in code frames, and every secret string is
//! scrubbed from diagnostic text (a user policy may well `sprintf` a value into its message).

use std::collections::BTreeSet;

use base64::Engine;

use crate::manifest::Manifest;
use crate::yaml::{Node, Value};

pub const REDACTED: &str = "[REDACTED]";

/// Secret values shorter than this are only masked by position, not scrubbed from messages.
pub const MIN_SCRUBBED_LEN: usize = 8;

/// Names that say "this value is a credential".
pub fn name_looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase().replace(['-', '.'], "_");
    // Names that point at a credential rather than hold one: `secretName`, `secretRef`,
    // `passwordFile`, `tokenPath`, `secretNamespace`.
    const REFERENCES: &[&str] = &["NAME", "NAMESPACE", "REF", "FILE", "PATH"];
    if REFERENCES.iter().any(|r| upper.ends_with(r)) {
        return false;
    }
    const WORDS: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "PRIVATEKEY",
        "CREDENTIAL",
        "AUTH_KEY",
        "CLIENT_SECRET",
        "SIGNING_KEY",
        "ENCRYPTION_KEY",
        "DSN",
        "CONNECTION_STRING",
    ];
    if WORDS.iter().any(|w| upper.contains(w)) {
        return true;
    }
    upper == "PWD" || upper.ends_with("_PWD") || upper.ends_with("_PASS") || upper == "PASS"
}

/// Values that are credentials whatever their name: key blocks and well-known token formats.
pub fn value_looks_secret(value: &str) -> bool {
    let v = value.trim();
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return true;
    }
    const PREFIXES: &[&str] = &[
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "github_pat_",
        "glpat-",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "xoxs-",
        "sk_live_",
        "rk_live_",
        "sk-",
        "AIza",
        "SG.",
        "npm_",
        "hf_",
    ];
    let token_like = |s: &str| {
        s.len() >= 20
            && !s.contains(char::is_whitespace)
            && s.chars().filter(|c| c.is_ascii_digit()).count() >= 2
    };
    if PREFIXES.iter().any(|p| v.starts_with(p)) && token_like(v) {
        return true;
    }
    // AWS access key ids.
    if (v.starts_with("AKIA") || v.starts_with("ASIA"))
        && v.len() == 20
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return true;
    }
    // JSON Web Tokens.
    if v.starts_with("eyJ") && v.matches('.').count() == 2 && v.len() > 30 {
        return true;
    }
    // Credentials inside URLs: scheme://user:password@host
    if let Some((_, rest)) = v.split_once("://") {
        if let Some((userinfo, _)) = rest.split_once('@') {
            if let Some((_, pass)) = userinfo.split_once(':') {
                if !pass.is_empty() && !pass.starts_with("${") {
                    return true;
                }
            }
        }
    }
    false
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// A long random-looking string with no spaces (an API key written without a recognisable prefix).
pub fn high_entropy(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 24
        && !v.contains(char::is_whitespace)
        && !v.contains(['/', ':', '.', '@'])
        && v.chars().any(|c| c.is_ascii_digit())
        && v.chars().any(|c| c.is_ascii_alphabetic())
        && entropy(v) >= 4.0
}

/// Secret values found in an object: their spans (to mask in code frames) and texts (to scrub).
#[derive(Debug, Default)]
pub struct Secrets {
    pub spans: Vec<(u32, usize, usize)>,
    pub values: BTreeSet<String>,
}

impl Secrets {
    pub fn add(&mut self, node: &Node, text: &str) {
        self.spans
            .push((node.span.file, node.span.start, node.span.end));
        // Short values (`mysql`, `admin`) are masked in code frames but not scrubbed from text:
        // they collide with names everywhere, and real credentials are longer.
        if text.len() >= MIN_SCRUBBED_LEN {
            self.values.insert(text.to_string());
            // Secret `data` is base64: its decoded text is just as secret.
            if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(text.trim()) {
                if let Ok(s) = String::from_utf8(decoded) {
                    if s.len() >= MIN_SCRUBBED_LEN {
                        self.values.insert(s);
                    }
                }
            }
        }
    }

    pub fn extend(&mut self, other: Secrets) {
        self.spans.extend(other.spans);
        self.values.extend(other.values);
    }
}

/// Collects the secret values of one object.
pub fn find_secrets(m: &Manifest) -> Secrets {
    let mut out = Secrets::default();
    let is_secret_kind = m.resource.kind == "Secret" && m.group().is_empty();
    if is_secret_kind {
        for field in ["data", "stringData"] {
            if let Some(entries) = m.node.get(field).and_then(Node::as_map) {
                for (_, v) in entries {
                    // A value of the wrong type (a list, a number) is still the Secret's
                    // value: the schema check reports it, and must not print it.
                    add_scalars(v, &mut out);
                }
            }
        }
    }
    walk(&m.node, None, &mut out);
    out
}

/// Every scalar in `node` (itself, or the items and values under it) is secret.
fn add_scalars(node: &Node, out: &mut Secrets) {
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|i| add_scalars(i, out)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| add_scalars(v, out)),
        _ => {
            if let Some(text) = scalar_text(&node.value) {
                out.add(node, &text);
            }
        }
    }
}

/// The text of a scalar as messages print it; None for null and booleans, which hold no
/// secret.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

fn walk(node: &Node, key: Option<&str>, out: &mut Secrets) {
    match &node.value {
        Value::String(s) => {
            let by_name = key.is_some_and(name_looks_secret) && !s.is_empty() && !is_reference(s);
            if by_name || value_looks_secret(s) {
                out.add(node, s);
            }
        }
        // A password written without quotes is a number to YAML, and still the password.
        Value::Int(_) | Value::Float(_) if key.is_some_and(name_looks_secret) => {
            if let Some(text) = scalar_text(&node.value) {
                out.add(node, &text);
            }
        }
        // `password: [a, b]`: the items are what the name describes. (A map under a secret
        // name is not: `secretRef: {name: db}` names a Secret, it holds none.)
        Value::Seq(items) => items.iter().for_each(|i| walk(i, key, out)),
        Value::Map(entries) => {
            // `env: [{name: DB_PASSWORD, value: …}]`: the name is a sibling of the value.
            let env_name = node.get("name").and_then(Node::as_str);
            for (k, v) in entries {
                let effective = if k.name == "value" {
                    env_name.or(Some("value"))
                } else {
                    Some(k.name.as_str())
                };
                walk(v, effective, out);
            }
        }
        _ => {}
    }
}

/// Secret values in the raw text of a file whose YAML does not parse (so no object, and no
/// field-by-field detection, exists for it), found line by line: `key: value` under a
/// credential name or in the `data`/`stringData` of a `kind: Secret` document, values that look
/// like credentials, block scalars under such keys, and PEM private keys. The error's code
/// frame shows these lines, so they are masked like the fields of a parsed object.
pub fn text_secrets(file: &crate::source::SourceFile) -> Secrets {
    let text: &str = &file.text;
    let mut out = Secrets::default();
    let add = |start: usize, end: usize, value: &str, out: &mut Secrets| {
        if end > start {
            out.spans.push((file.id, start, end));
            if value.len() >= MIN_SCRUBBED_LEN {
                out.values.insert(value.to_string());
            }
        }
    };
    let mut offset = 0;
    // Lines deeper than this indentation are secret whole (a block scalar under a credential
    // name).
    let mut secret_block: Option<usize> = None;
    // Entries deeper than this indentation are a Secret's `data`/`stringData`.
    let mut data_block: Option<usize> = None;
    let mut in_pem = false;
    let mut env_name: Option<String> = None;
    let mut secret_doc = false;
    let docs_secret: Vec<bool> = documents_are_secrets(text);
    let mut doc = 0;
    for raw in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if is_document_start(line) {
            doc += 1;
            secret_block = None;
            data_block = None;
            in_pem = false;
            env_name = None;
            continue;
        }
        secret_doc = docs_secret.get(doc).copied().unwrap_or(secret_doc);
        let content = line.trim_start();
        if content.is_empty() {
            continue;
        }
        let indent = line.len() - content.len();
        // Masks `rest`, the end of this line from some point on.
        let mask_rest = |rest: &str, out: &mut Secrets| {
            let end = line_start + line.len();
            add(end - rest.len(), end, rest.trim_end(), out);
        };
        if in_pem || (content.contains("-----BEGIN") && content.contains("PRIVATE KEY")) {
            in_pem = !content.contains("-----END");
            mask_rest(content, &mut out);
            continue;
        }
        match secret_block {
            Some(block) if indent > block => {
                mask_rest(content, &mut out);
                continue;
            }
            _ => secret_block = None,
        }
        if data_block.is_some_and(|block| indent <= block) {
            data_block = None;
        }
        let item = content.strip_prefix("- ").map(str::trim_start);
        let entry = item.unwrap_or(content);
        let entry_start = line_start + (line.len() - entry.len());
        let Some((key, value)) = split_entry(entry) else {
            if data_block.is_some() || value_looks_secret(entry) {
                mask_rest(entry, &mut out);
            }
            continue;
        };
        let key = key.trim().trim_matches(['"', '\'']);
        let value_offset = entry.len() - value.len();
        let value = value.trim_end();
        if key == "name" {
            env_name = Some(value.trim_matches(['"', '\'']).to_string());
        }
        let effective = if key == "value" {
            env_name.as_deref().unwrap_or(key)
        } else {
            key
        };
        let secret_name = data_block.is_some() || name_looks_secret(effective);
        if secret_doc && indent == 0 && (key == "data" || key == "stringData") {
            data_block = Some(0);
            continue;
        }
        if value.is_empty() {
            continue;
        }
        if value.starts_with('|') || value.starts_with('>') {
            if secret_name {
                secret_block = Some(indent);
            }
            continue;
        }
        let unquoted = value.trim_matches(['"', '\'']);
        let placeholder = is_reference(unquoted) && data_block.is_none();
        if (secret_name && !placeholder) || value_looks_secret(unquoted) {
            let start = entry_start + value_offset;
            add(start, start + value.len(), unquoted, &mut out);
        }
    }
    out
}

/// `key: value` (value may be empty); None for a line that is not a mapping entry.
fn split_entry(entry: &str) -> Option<(&str, &str)> {
    let bytes = entry.as_bytes();
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') if i == 0 => quote = Some(b),
            (Some(q), c) if c == q => quote = None,
            (None, b':') if bytes.get(i + 1).is_none_or(|c| *c == b' ' || *c == b'\t') => {
                return Some((&entry[..i], entry[i + 1..].trim_start()));
            }
            (None, b'#') if i == 0 => return None,
            _ => {}
        }
    }
    None
}

/// `---` alone or followed by a space (not `-----BEGIN …`).
fn is_document_start(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

/// For each `---`-separated document of `text`: whether it declares `kind: Secret`.
fn documents_are_secrets(text: &str) -> Vec<bool> {
    let mut out = vec![false];
    for line in text.lines() {
        if is_document_start(line) {
            out.push(false);
        } else if let Some(kind) = line.strip_prefix("kind:") {
            if kind.trim().trim_matches(['"', '\'']) == "Secret" {
                *out.last_mut().unwrap_or(&mut false) = true;
            }
        }
    }
    out
}

/// Replaces, in place, every value [`find_secrets`]' name and value rules call secret (Secret
/// `data` is the caller's: it is secret whatever its keys) with [`REDACTED`]: for output that
/// prints objects themselves (`kgate render`), where masking by span is not possible.
pub fn redact_tree(node: &mut Node) {
    redact_walk(node, None);
}

fn redact_walk(node: &mut Node, key: Option<&str>) {
    let secret = match &node.value {
        Value::String(s) => {
            (key.is_some_and(name_looks_secret) && !s.is_empty() && !is_reference(s))
                || value_looks_secret(s)
        }
        Value::Int(_) | Value::Float(_) => key.is_some_and(name_looks_secret),
        _ => false,
    };
    if secret {
        node.value = Value::String(REDACTED.to_string());
        return;
    }
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|i| redact_walk(i, key)),
        Value::Map(entries) => {
            let env_name = entries
                .iter()
                .find(|(k, _)| k.name == "name")
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string);
            for (k, v) in entries.iter_mut() {
                let effective = if k.name == "value" {
                    env_name.as_deref().or(Some("value"))
                } else {
                    Some(k.name.as_str())
                };
                redact_walk(v, effective);
            }
        }
        _ => {}
    }
}

/// `${VAR}` substitutions and empty placeholders are not secrets.
fn is_reference(s: &str) -> bool {
    let t = s.trim();
    (t.starts_with("${") && t.ends_with('}')) || t.starts_with("$(") || t.len() < 4
}

/// Replaces every known secret value in `text`.
pub fn scrub(text: &str, values: &BTreeSet<String>) -> String {
    if values.is_empty() {
        return text.to_string();
    }
    let mut out = text.to_string();
    // Longest first, so a value containing another is replaced whole.
    let mut sorted: Vec<&String> = values.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in sorted {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), REDACTED);
        }
    }
    out
}

/// Scrubs only the double-quoted parts of `text` (where kgate's own messages put user values),
/// and backquoted parts that are a secret value whole (`got integer \`12345678\``; a field
/// name that merely contains one stays readable).
pub fn scrub_quoted(text: &str, values: &BTreeSet<String>) -> String {
    let text: &str = &scrub_backquoted(text, values);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        match after.find('"') {
            Some(close) => {
                out.push_str(&scrub(&after[..close], values));
                out.push('"');
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&scrub(after, values));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn scrub_backquoted(text: &str, values: &BTreeSet<String>) -> String {
    let mut parts: Vec<&str> = text.split('`').collect();
    let replaced = REDACTED;
    // Odd-numbered parts are inside a pair of backquotes.
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.iter_mut().enumerate() {
        if i % 2 == 1 && i < last && values.contains(*part) {
            *part = replaced;
        }
    }
    parts.join("`")
}

/// Masks byte ranges of a file's text with `*` (keeping newlines so positions do not move).
pub fn mask(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(start, end) in ranges {
        let end = end.min(bytes.len());
        let mut i = start.min(end);
        while i < end {
            // Keep line structure and UTF-8 validity: replace whole characters by one `*` each
            // byte and leave newlines in place.
            if bytes[i] != b'\n' && bytes[i] != b'\r' {
                bytes[i] = b'*';
            }
            i += 1;
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_credentials() {
        assert!(name_looks_secret("DB_PASSWORD"));
        assert!(name_looks_secret("github-token"));
        assert!(!name_looks_secret("LOG_LEVEL"));
        for reference in [
            "secretName",
            "secretRef",
            "PASSWORD_FILE",
            "tokenPath",
            "secretNamespace",
        ] {
            assert!(!name_looks_secret(reference), "{reference}");
        }
        assert!(value_looks_secret(
            "ghp_0123456789abcdefABCDEF0123456789abcd"
        ));
        assert!(value_looks_secret("AKIAIOSFODNN7EXAMPLE"));
        assert!(value_looks_secret("postgres://app:hunter2@db:5432/app"));
        assert!(value_looks_secret(
            "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"
        ));
        assert!(!value_looks_secret("https://example.com/path"));
        assert!(high_entropy("q8Zr3vT1xK9mW2pL7sN4bY6cF0hJ5dG"));
        assert!(!high_entropy("registry.example.com-release"));
    }

    #[test]
    fn scrub_and_mask() {
        let values: BTreeSet<String> = ["hunter22".to_string()].into();
        assert_eq!(
            scrub("password is hunter22!", &values),
            "password is [REDACTED]!"
        );
        assert_eq!(
            scrub_quoted("`hunter22.x` got string \"hunter22\"", &values),
            "`hunter22.x` got string \"[REDACTED]\""
        );
        assert_eq!(
            scrub_quoted("`data.pin` must be string, got integer `hunter22`", &values),
            "`data.pin` must be string, got integer `[REDACTED]`"
        );
        assert_eq!(mask("a: hunter22\nb: 1", &[(3, 11)]), "a: ********\nb: 1");
    }

    fn masked_text(text: &str) -> (String, BTreeSet<String>) {
        let file = crate::source::SourceFile::new("broken.yaml", text);
        let found = text_secrets(&file);
        let ranges: Vec<(usize, usize)> = found.spans.iter().map(|&(_, s, e)| (s, e)).collect();
        (mask(text, &ranges), found.values)
    }

    #[test]
    fn redact_tree_follows_the_detection_rules() {
        let text = "data:\n  API_TOKEN: abcdefgh12\n  PIN_PASSWORD: 123456789\n  color: blue\n\
                    env:\n  - name: DB_PASSWORD\n    value: hunter22x\n  - name: LOG\n    value: info\n";
        let file = crate::source::SourceFile::new("x.yaml", text);
        let stream = crate::yaml::parse_stream(&file, &crate::yaml::Limits::default());
        let mut root = stream.documents.into_iter().next().unwrap().root.unwrap();
        redact_tree(&mut root);
        let json = root.to_json();
        assert_eq!(json["data"]["API_TOKEN"], REDACTED);
        assert_eq!(json["data"]["PIN_PASSWORD"], REDACTED);
        assert_eq!(json["data"]["color"], "blue");
        assert_eq!(json["env"][0]["value"], REDACTED);
        assert_eq!(json["env"][0]["name"], "DB_PASSWORD");
        assert_eq!(json["env"][1]["value"], "info");
    }

    #[test]
    fn raw_text_of_a_broken_file_is_masked_line_by_line() {
        let (masked, values) = masked_text(
            "kind: Secret\nstringData:\n  user: admin-user\n  password: \"hunter22x\n  other: [x\n",
        );
        assert_eq!(
            masked,
            "kind: Secret\nstringData:\n  user: **********\n  password: **********\n  other: **\n"
        );
        assert!(values.contains("admin-user") && values.contains("hunter22x"));
        let (masked, values) = masked_text(
            "env:\n  - name: DB_PASSWORD\n    value: s3cr3t-value-x\n  - name: LOG\n    value: debug\n\
             token: |\n  abc\nkey: -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n\
             url: postgres://app:hunter22@db/app\nlabel: {broken\n",
        );
        assert_eq!(
            masked,
            "env:\n  - name: DB_PASSWORD\n    value: **************\n  - name: LOG\n    value: debug\n\
             token: |\n  ***\n************************************\n****\n*****************************\n\
             url: ******************************\nlabel: {broken\n"
        );
        assert!(values.contains("s3cr3t-value-x"));
        assert!(values.contains("postgres://app:hunter22@db/app"));
    }
}
