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
                    if let Value::String(s) = &v.value {
                        out.add(v, s);
                    }
                }
            }
        }
    }
    walk(&m.node, None, &mut out);
    out
}

fn walk(node: &Node, key: Option<&str>, out: &mut Secrets) {
    match &node.value {
        Value::String(s) => {
            let by_name = key.is_some_and(name_looks_secret) && !s.is_empty() && !is_reference(s);
            if by_name || value_looks_secret(s) {
                out.add(node, s);
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| walk(i, None, out)),
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

/// Scrubs only the double-quoted parts of `text` (where kgate's own messages put user values).
pub fn scrub_quoted(text: &str, values: &BTreeSet<String>) -> String {
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
        assert_eq!(mask("a: hunter22\nb: 1", &[(3, 11)]), "a: ********\nb: 1");
    }
}
