//! Secret redaction: finds values that are or look like credentials, so that no report, message
//! or code frame ever prints them.
//!
//! Two layers: every secret value's span is masked in code frames, and every secret string is
//! scrubbed from diagnostic text (a user policy may well `sprintf` a value into its message).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;

use crate::manifest::Manifest;
use crate::secrets;
use crate::yaml::{Node, Value};

pub const REDACTED: &str = "[REDACTED]";

/// Secret values shorter than this are only masked by position, not scrubbed from messages.
pub const MIN_SCRUBBED_LEN: usize = 8;

/// Names that say "this value is a credential" ([`crate::secrets::name_is_credential`]).
pub fn name_looks_secret(name: &str) -> bool {
    secrets::name_is_credential(name)
}

/// Values that are credentials whatever their name: key blocks and well-known token formats,
/// alone or inside a longer text.
pub fn value_looks_secret(value: &str) -> bool {
    secrets::value_is_credential(value) || !secrets::secret_parts(value).is_empty()
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
    secrets::high_entropy(value.trim())
}

/// Secret values found in an object (or a file): their spans (to mask in code frames) and
/// texts (to scrub from messages). `values` are scrubbed only from findings about the same
/// object or file (a weak value such as `repository` must not hide that word in other files'
/// paths and messages); `global` values are shaped like credentials (tokens, key lines, random
/// strings) and are scrubbed from every finding of the run.
#[derive(Debug, Default)]
pub struct Secrets {
    pub spans: Vec<(u32, usize, usize)>,
    pub values: BTreeSet<String>,
    pub global: BTreeSet<String>,
}

impl Secrets {
    /// Masks `node` and records `text` (and its other spellings) as secret.
    pub fn add(&mut self, node: &Node, text: &str) {
        self.spans
            .push((node.span.file, node.span.start, node.span.end));
        self.add_text(text, false);
    }

    /// Records a secret text; `base64` also records what it decodes to (a Secret's `data`).
    fn add_text(&mut self, text: &str, base64: bool) {
        let t = text.trim();
        if t.chars().count() < MIN_SCOPED_LEN {
            return;
        }
        if strong(t) {
            self.global.insert(t.to_string());
        } else {
            self.values.insert(t.to_string());
        }
        if base64 {
            if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(t) {
                if let Ok(s) = String::from_utf8(decoded) {
                    self.add_text(&s, false);
                }
            }
        }
    }

    pub fn extend(&mut self, other: Secrets) {
        self.spans.extend(other.spans);
        self.values.extend(other.values);
        self.global.extend(other.global);
    }
}

/// Secret texts shorter than this are only masked by position (and never quoted by kgate's
/// own messages), not scrubbed from text: `abc` would hide parts of words.
pub const MIN_SCOPED_LEN: usize = 4;

/// A text that cannot be an ordinary word or name: scrubbing it from every finding of the run
/// hides nothing else.
fn strong(t: &str) -> bool {
    t.chars().count() >= MIN_SCRUBBED_LEN
        && (secrets::value_is_credential(t)
            || !secrets::secret_parts(t).is_empty()
            || (t.chars().any(|c| c.is_ascii_digit())
                && t.chars().any(|c| c.is_ascii_alphabetic())
                && t.chars().any(|c| !c.is_ascii_alphanumeric())
                && !t.contains(['/', '.', ' ']))
            || (t.chars().count() >= 16
                && t.chars().any(|c| c.is_ascii_uppercase())
                && t.chars().any(|c| c.is_ascii_lowercase())
                && t.chars().any(|c| c.is_ascii_digit())))
}

/// The node at a JSON pointer.
pub fn node_at<'n>(node: &'n Node, pointer: &str) -> Option<&'n Node> {
    let mut at = node;
    for seg in crate::yaml::split_pointer(pointer) {
        at = match &at.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == seg)
                .map(|(_, v)| v)?,
            Value::Seq(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// Collects the secret values of one object: [`crate::secrets::classify`]'s fields,
/// masked by span (and, for a scalar reached through an alias, at its anchor too).
pub fn find_secrets(m: &Manifest) -> Secrets {
    find_secrets_with(m, &|id| (id == m.file.id).then(|| m.file.clone()))
}

/// [`find_secrets`] with the run's files, for objects whose fields come from many files.
pub fn find_secrets_in(m: &Manifest, files: &crate::source::Files) -> Secrets {
    find_secrets_with(m, &|id| {
        if id == m.file.id {
            Some(m.file.clone())
        } else {
            files.get(id)
        }
    })
}

type FileOf<'a> = dyn Fn(u32) -> Option<std::sync::Arc<crate::source::SourceFile>> + 'a;

fn find_secrets_with(m: &Manifest, file_of: &FileOf) -> Secrets {
    let verdict = m.secrets();
    let mut out = Secrets::default();
    let secret_kind = secrets::is_core_secret(&m.json);
    for f in &verdict.fields {
        let Some(node) = node_at(&m.node, &f.pointer) else {
            continue;
        };
        let base64 = secret_kind && f.pointer.starts_with("/data/");
        for t in &f.texts {
            out.add_text(t, base64);
        }
        let file = file_of(node.span.file);
        let source = file
            .as_deref()
            .and_then(|file| file.text.get(node.span.start..node.span.end));
        if f.whole {
            mask_node(node, &mut out);
            if let (Some(file), Some(source)) = (file.as_deref(), source) {
                // What YAML 1.1 read (`0755` → 493) is printed one way, written another.
                out.add_text(source.trim().trim_matches(['"', '\'']), false);
                if let Some(range) = anchored_value(&file.text, node.span.start, source) {
                    out.spans.push((file.id, range.0, range.1));
                }
            }
            continue;
        }
        // Parts of a longer text: mask where each part is written; a part not found as
        // written (escaped in a quoted scalar) masks the whole value.
        let mut all_found = source.is_some();
        if let Some(source) = source {
            for part in &f.texts {
                let mut found = false;
                for (at, _) in source.match_indices(part.as_str()) {
                    found = true;
                    let start = node.span.start + at;
                    out.spans.push((node.span.file, start, start + part.len()));
                }
                all_found &= found;
            }
        }
        if !all_found {
            mask_node(node, &mut out);
        }
    }
    out
}

/// Masks a node and everything under it.
fn mask_node(node: &Node, out: &mut Secrets) {
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|i| mask_node(i, out)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| mask_node(v, out)),
        _ => out
            .spans
            .push((node.span.file, node.span.start, node.span.end)),
    }
}

/// For a scalar written as an alias (`*pw`), the byte range of the anchored value it copies
/// (`&pw hunter22`): a code frame around the anchor must not show it either.
fn anchored_value(text: &str, at: usize, source: &str) -> Option<(usize, usize)> {
    let name = source.trim().strip_prefix('*')?;
    let name = name
        .split(|c: char| c.is_whitespace() || ",]}".contains(c))
        .next()?;
    if name.is_empty() {
        return None;
    }
    let needle = format!("&{name}");
    let def = text[..at]
        .match_indices(&needle)
        .map(|(i, _)| i)
        .filter(|&i| {
            text[i + needle.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace())
        })
        .last()?;
    let after = def + needle.len();
    let rest = &text[after..];
    let lead = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let start = after + lead;
    Some((start, scalar_end(text, start)))
}

/// The end of the scalar written at `start`: a quoted one to its closing quote (across lines),
/// a block scalar to the end of its indented lines, a plain one to the end of its line.
fn scalar_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    let line_end = |from: usize| text[from..].find('\n').map_or(text.len(), |i| from + i);
    match rest.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let mut escaped = false;
            for (i, c) in rest.char_indices().skip(1) {
                match c {
                    '\\' if q == '"' && !escaped => escaped = true,
                    c if c == q && !escaped => return start + i + 1,
                    _ => escaped = false,
                }
            }
            text.len()
        }
        Some('|' | '>') => {
            let header_end = line_end(start);
            let indent_of_anchor_line = {
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                let line = &text[line_start..];
                line.len() - line.trim_start().len()
            };
            let mut end = header_end;
            let mut at = header_end;
            while at < text.len() {
                let next = line_end(at + 1);
                let line = &text[at + 1..next];
                let indent = line.len() - line.trim_start().len();
                if !line.trim().is_empty() && indent <= indent_of_anchor_line {
                    break;
                }
                end = next;
                at = next;
            }
            end
        }
        _ => {
            let end = line_end(start);
            let line = &text[start..end];
            start
                + line
                    .find(" #")
                    .unwrap_or(line.len())
                    .min(line.trim_end().len())
        }
    }
}

/// Secret values in the raw text of a file whose YAML does not parse (so no object, and no
/// field-by-field detection, exists for it), found line by line. A document that may be a
/// `Secret` (`kind: Secret` in any spelling: quoted, tagged, commented, JSON, flow style, a
/// `List` item) has every value masked but its `apiVersion`, `kind`, `metadata.name` and
/// `metadata.namespace`. Elsewhere: values under credential names, values and parts of values
/// that look like credentials, `password=…` lines, block scalars and multi-line quoted values
/// under such names, and PEM private keys. The error's code frame shows these lines, so they are
/// masked like the fields of a parsed object.
pub fn text_secrets(file: &crate::source::SourceFile) -> Secrets {
    let text: &str = &file.text;
    let mut out = Secrets::default();
    let mut add = |start: usize, end: usize, out: &mut Secrets| {
        if end > start {
            out.spans.push((file.id, start, end));
            if let Some(value) = text.get(start..end) {
                out.add_text(value.trim().trim_matches(['"', '\'', ',']), false);
            }
        }
    };
    let mut state = LineState::default();
    let mut offset = 0;
    let docs_secret: Vec<bool> = documents_may_be_secrets(text);
    let mut doc = 0;
    for raw in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if is_document_start(line) && state.open_quote.is_none() {
            doc += 1;
            state = LineState::default();
            continue;
        }
        let secret_doc = docs_secret.get(doc).copied().unwrap_or(true);
        let content = line.trim_start();
        if content.is_empty() {
            continue;
        }
        let indent = line.len() - content.len();
        let end = line_start + line.len();
        // Masks `rest`, the end of this line from some point on.
        let mask_rest =
            |rest: &str, out: &mut Secrets, add: &mut dyn FnMut(usize, usize, &mut Secrets)| {
                add(
                    end - rest.len(),
                    end - (rest.len() - rest.trim_end().len()),
                    out,
                );
            };
        if let Some(q) = state.open_quote {
            // Inside a quoted scalar that spans lines.
            mask_rest(content, &mut out, &mut add);
            if closes_quote(content, q) {
                state.open_quote = None;
            }
            continue;
        }
        if state.in_pem || (content.contains("-----BEGIN") && content.contains("PRIVATE KEY")) {
            state.in_pem = !content.contains("-----END");
            mask_rest(content, &mut out, &mut add);
            continue;
        }
        match state.secret_block {
            Some(block) if indent > block => {
                mask_rest(content, &mut out, &mut add);
                continue;
            }
            _ => state.secret_block = None,
        }
        if state.metadata.is_some_and(|m| indent <= m) {
            state.metadata = None;
        }
        let item = content.strip_prefix("- ").map(str::trim_start);
        let entry = item.unwrap_or(content);
        if item.is_some() && indent <= state.item_indent.unwrap_or(usize::MAX) {
            state.env_name = None;
        }
        if item.is_some() {
            state.item_indent = Some(indent);
        }
        let entry_start = end - entry.len();
        let Some((key, value)) = split_entry(entry) else {
            // A line that is no `key: value`: a list item, a flow collection, JSON, the
            // continuation of a plain scalar.
            if secret_doc {
                mask_rest(entry, &mut out, &mut add);
            } else {
                mask_parts(entry, entry_start, &mut out, &mut add);
            }
            continue;
        };
        let key = key.trim().trim_matches(['"', '\'']);
        let value_start = entry_start + (entry.len() - value.len());
        let value = value.trim_end();
        if key == "name" {
            state.env_name = Some(value.trim_matches(['"', '\'']).to_string());
        }
        if key == "metadata" {
            state.metadata = Some(indent);
        }
        let effective = if key == "value" {
            state.env_name.as_deref().unwrap_or(key)
        } else {
            key
        };
        let identity = matches!(key, "apiVersion" | "kind" | "metadata")
            || (state.metadata.is_some_and(|m| indent > m) && matches!(key, "name" | "namespace"));
        let secret = if secret_doc {
            !identity
        } else {
            name_looks_secret(effective)
        };
        if value.is_empty() || value.starts_with('#') {
            continue;
        }
        if value.starts_with('|') || value.starts_with('>') {
            if secret {
                state.secret_block = Some(indent);
            }
            continue;
        }
        let unquoted = value.trim_matches(['"', '\'']);
        let whole = if secret_doc {
            secret
        } else {
            (secret && !secrets::is_reference(unquoted)) || secrets::value_is_credential(unquoted)
        };
        if whole {
            add(value_start, value_start + value.len(), &mut out);
        } else {
            mask_parts(value, value_start, &mut out, &mut add);
        }
        if let Some(q) = value.chars().next().filter(|c| *c == '"' || *c == '\'') {
            // A quoted value that goes on over the next lines: they are the same value.
            if whole && !closes_quote(&value[1..], q) {
                state.open_quote = Some(q);
            }
        }
    }
    out
}

/// What [`text_secrets`] carries from one line to the next.
#[derive(Default)]
struct LineState {
    /// Lines deeper than this indentation are secret whole (a block scalar under a credential
    /// name).
    secret_block: Option<usize>,
    /// The indentation of the current `metadata:` key.
    metadata: Option<usize>,
    /// The quote character of a secret quoted scalar still open at the end of a line.
    open_quote: Option<char>,
    in_pem: bool,
    env_name: Option<String>,
    item_indent: Option<usize>,
}

/// Masks the secret parts (tokens, `password=…` assignments) inside `text`, written at `start`.
fn mask_parts(
    text: &str,
    start: usize,
    out: &mut Secrets,
    add: &mut dyn FnMut(usize, usize, &mut Secrets),
) {
    for part in secrets::secret_parts(text) {
        for (at, _) in text.match_indices(part.as_str()) {
            add(start + at, start + at + part.len(), out);
        }
    }
}

/// Whether `rest` (after an opening quote `q`) holds the closing quote.
fn closes_quote(rest: &str, q: char) -> bool {
    let mut escaped = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if q == '"' && !escaped => {
                escaped = true;
                continue;
            }
            // `''` inside a single-quoted scalar is an escaped quote.
            '\'' if q == '\'' && chars.peek() == Some(&'\'') => {
                chars.next();
            }
            c if c == q && !escaped => return true,
            _ => {}
        }
        escaped = false;
    }
    false
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
            (None, b'{' | b'[') if i == 0 => return None,
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

/// For each `---`-separated document of `text`: whether it may be a `Secret` or hold one
/// (`kind: Secret`, `"kind": "Secret"`, `kind: !!str Secret # x`, `{kind: Secret, …}`, a List
/// item). A broken document cannot be read, so any mention of the kind counts.
fn documents_may_be_secrets(text: &str) -> Vec<bool> {
    static KIND: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let kind = KIND.get_or_init(|| {
        regex::Regex::new(r#"["']?kind["']?\s*:\s*(!\S*\s+)?["']?Secret["']?\s*($|[,}\s#])"#)
            .expect("valid regex")
    });
    let mut out = vec![false];
    for line in text.lines() {
        if is_document_start(line) {
            out.push(false);
        } else if line.contains("Secret") && kind.is_match(line) {
            *out.last_mut().unwrap_or(&mut false) = true;
        }
    }
    out
}

/// Replaces, in place, every secret field of the object `node` (as
/// [`crate::secrets::classify`] decides on `json`, the same object as JSON) with
/// [`REDACTED`], and the secret parts of longer texts inside them: for output that prints
/// objects themselves (`kgate render`), where masking by span is not possible.
pub fn redact_object(node: &mut Node, json: &serde_json::Value) {
    let verdict = secrets::classify(json);
    for f in &verdict.fields {
        let Some(n) = node_at_mut(node, &f.pointer) else {
            continue;
        };
        if f.whole {
            n.value = Value::String(REDACTED.to_string());
        } else if let Value::String(s) = &mut n.value {
            *s = replace_parts(s, &f.texts);
        }
    }
}

/// [`redact_object`] on JSON (what `kgate diff` shows).
pub fn redact_json(json: &mut serde_json::Value) {
    let verdict = secrets::classify(json);
    for f in &verdict.fields {
        let Some(v) = json.pointer_mut(&f.pointer) else {
            continue;
        };
        if f.whole {
            *v = serde_json::Value::String(REDACTED.to_string());
        } else if let serde_json::Value::String(s) = v {
            *s = replace_parts(s, &f.texts);
        }
    }
}

/// `text` with each of `parts` replaced by [`REDACTED`], longest first.
pub fn replace_parts(text: &str, parts: &[String]) -> String {
    let mut sorted: Vec<&String> = parts.iter().filter(|p| !p.is_empty()).collect();
    sorted.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut out = text.to_string();
    for p in sorted {
        out = out.replace(p.as_str(), REDACTED);
    }
    out
}

/// The node at a JSON pointer, mutable.
fn node_at_mut<'n>(node: &'n mut Node, pointer: &str) -> Option<&'n mut Node> {
    let mut at = node;
    for seg in crate::yaml::split_pointer(pointer) {
        at = match &mut at.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.name == seg)
                .map(|(_, v)| v)?,
            Value::Seq(items) => items.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// [`redact_object`] for a tree alone (its JSON is computed here).
pub fn redact_tree(node: &mut Node) {
    let json = node.to_json();
    redact_object(node, &json);
}

/// Which secret texts are scrubbed from which findings: texts of an object from findings in
/// the files its fields come from or about the object itself; texts shaped like credentials
/// from every finding of the run.
#[derive(Debug, Default, Clone)]
pub struct Scrubber {
    global: BTreeSet<String>,
    by_file: BTreeMap<String, BTreeSet<String>>,
    by_object: BTreeMap<String, BTreeSet<String>>,
}

fn object_key(r: &crate::diagnostic::ResourceRef) -> String {
    format!(
        "{}/{}/{}/{}",
        r.api_version,
        r.kind,
        r.namespace.as_deref().unwrap_or(""),
        r.name
    )
}

impl Scrubber {
    /// Adds the texts of `secrets`, found in an object (`object`) whose fields come from
    /// `files` (display paths).
    pub fn add(
        &mut self,
        secrets: &Secrets,
        files: &[String],
        object: Option<&crate::diagnostic::ResourceRef>,
    ) {
        self.global.extend(secrets.global.iter().cloned());
        if secrets.values.is_empty() {
            return;
        }
        for f in files {
            self.by_file
                .entry(f.clone())
                .or_default()
                .extend(secrets.values.iter().cloned());
        }
        if let Some(r) = object {
            self.by_object
                .entry(object_key(r))
                .or_default()
                .extend(secrets.values.iter().cloned());
        }
    }

    /// Texts scrubbed from every finding (values that substitution put anywhere).
    pub fn add_global(&mut self, values: impl IntoIterator<Item = String>) {
        self.global.extend(values);
    }

    /// Takes in what another scrubber knows (a streamed file's).
    pub fn extend(&mut self, other: Scrubber) {
        self.global.extend(other.global);
        for (k, v) in other.by_file {
            self.by_file.entry(k).or_default().extend(v);
        }
        for (k, v) in other.by_object {
            self.by_object.entry(k).or_default().extend(v);
        }
    }

    /// Every text this scrubber knows.
    pub fn all(&self) -> BTreeSet<String> {
        let mut out = self.global.clone();
        for v in self.by_file.values().chain(self.by_object.values()) {
            out.extend(v.iter().cloned());
        }
        out
    }

    /// The texts to scrub from `d`.
    pub fn values_for(&self, d: &crate::diagnostic::Diagnostic) -> BTreeSet<String> {
        let mut out = self.global.clone();
        let files =
            std::iter::once(d.file.as_str()).chain(d.related.iter().map(|r| r.file.as_str()));
        for f in files {
            if let Some(v) = self.by_file.get(f) {
                out.extend(v.iter().cloned());
            }
        }
        if let Some(v) = d
            .resource
            .as_ref()
            .and_then(|r| self.by_object.get(&object_key(r)))
        {
            out.extend(v.iter().cloned());
        }
        out
    }

    /// Removes every secret text from every text field of every finding.
    ///
    /// kgate's own schema and YAML messages quote user values only inside double quotes or
    /// backquotes (and never for fields that may hold credentials); only those quotes are
    /// scrubbed there, so a field name that happens to equal a secret (`storageos`) stays
    /// readable. Everything else — policy messages above all — is scrubbed whole. `details`
    /// (a policy's structured result) are walked value by value, keys included, so escaping in
    /// JSON cannot hide a value from the scrubber.
    pub fn scrub_all(&self, diagnostics: &mut [crate::diagnostic::Diagnostic]) {
        for d in diagnostics {
            let values = self.values_for(d);
            if values.is_empty() {
                continue;
            }
            d.message = if d.code.starts_with("schema/") || d.code.starts_with("yaml/") {
                scrub_quoted(&d.message, &values)
            } else {
                scrub(&d.message, &values)
            };
            if let Some(h) = &d.help {
                d.help = Some(scrub(h, &values));
            }
            for r in &mut d.related {
                r.message = scrub(&r.message, &values);
            }
            if let Some(reason) = &d.suppressed_reason {
                d.suppressed_reason = Some(scrub(reason, &values));
            }
            if let Some(details) = &mut d.details {
                let mut v = serde_json::Value::Object(std::mem::take(details));
                scrub_json(&mut v, &values);
                if let serde_json::Value::Object(m) = v {
                    *details = m;
                }
            }
        }
    }
}

/// Scrubs every string (and object key) of a JSON value.
pub fn scrub_json(v: &mut serde_json::Value, values: &BTreeSet<String>) {
    use serde_json::Value as J;
    match v {
        J::String(s) => *s = scrub(s, values),
        // A number whose digits are a secret (`pin: 1234567` copied into details).
        J::Number(n) if values.contains(&n.to_string()) => *v = J::String(REDACTED.to_string()),
        J::Array(items) => items.iter_mut().for_each(|i| scrub_json(i, values)),
        J::Object(map) => {
            let entries: Vec<(String, J)> = std::mem::take(map).into_iter().collect();
            for (k, mut item) in entries {
                scrub_json(&mut item, values);
                map.insert(scrub(&k, values), item);
            }
        }
        _ => {}
    }
}

/// Replaces every known secret value in `text`. A value shaped like a credential is replaced
/// wherever it occurs; a weak one (a plain word or number, `repository`, `1234567`) only where
/// it stands as a word of its own, so that `admin.passwordMtime` is not cut by a secret
/// `password`.
pub fn scrub(text: &str, values: &BTreeSet<String>) -> String {
    if values.is_empty() {
        return text.to_string();
    }
    let mut out = text.to_string();
    // Longest first, so a value containing another is replaced whole.
    let mut sorted: Vec<&String> = values.iter().filter(|v| !v.is_empty()).collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in sorted {
        if !out.contains(v.as_str()) {
            continue;
        }
        if strong(v) {
            out = out.replace(v.as_str(), REDACTED);
        } else {
            out = replace_words(&out, v);
        }
    }
    out
}

/// `text` with the occurrences of `word` that no letter, digit or `_` touches replaced.
fn replace_words(text: &str, word: &str) -> String {
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in text.match_indices(word) {
        if at < last {
            continue;
        }
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let edge_word = |c: Option<char>, inner: Option<char>| {
            // A value that itself starts or ends with punctuation has no word edge there.
            !inner.is_some_and(|i| i.is_alphanumeric() || i == '_') || !glued(c)
        };
        if edge_word(before, word.chars().next()) && edge_word(after, word.chars().next_back()) {
            out.push_str(&text[last..at]);
            out.push_str(REDACTED);
            last = at + word.len();
        }
    }
    out.push_str(&text[last..]);
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
        // Scrubbed either in the object's scope or (credential-shaped values) run-wide.
        let values = found.values.union(&found.global).cloned().collect();
        (mask(text, &ranges), values)
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
            // The quote left open makes the next line part of the value: masked whole.
            "kind: Secret\nstringData:\n  user: **********\n  password: **********\n  *********\n"
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
             url: postgres://app:********@db/app\nlabel: {broken\n"
        );
        assert!(values.contains("s3cr3t-value-x"));
        // Only the password of a URL is secret: the rest of it stays readable.
        assert!(values.contains("hunter22"));
    }
}
