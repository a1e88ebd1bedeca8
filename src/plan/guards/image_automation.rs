//! `plan/image-automation`: Flux image automation markers that silently do nothing or write
//! the wrong thing. Flux's image-automation-controller updates a YAML value whose line comment
//! is the JSON object `{"$imagepolicy": "<namespace>:<name>"}` (the whole image reference),
//! `…:<name>:tag` (the tag only), `…:<name>:name` (the image name only) or `…:<name>:digest`.
//! A marker that does not parse as that object, names an ImagePolicy the repository does not
//! define, sits on a mapping key instead of a value, or sits on a value of the wrong shape (the
//! full form on a `tag:` field, the tag form on an image reference) stops updates without any
//! error in the cluster.
//!
//! Markers are read from the text (comments are not in the YAML tree). An ImagePolicy "not
//! defined" is only reported when the repository defines at least one: a repository without
//! any may keep its image automation objects elsewhere. Findings the base already has are
//! pre-existing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Context, IMAGE_AUTOMATION};
use crate::diagnostic::Diagnostic;
use crate::plan::Revision;
use crate::source::SourceFile;
use crate::yaml;

/// The exact key Flux reads.
const KEY: &str = "$imagepolicy";

pub(super) fn check(cx: &Context<'_, '_>) -> Vec<Diagnostic> {
    let head_policies = policies(
        cx.head,
        cx.planned.units.iter().flat_map(|u| u.after.values()),
    );
    let base_policies = policies(
        cx.base,
        cx.planned.units.iter().flat_map(|u| u.before.values()),
    );
    let wanted = |path: &str| cx.planned.in_scope(path);
    let mut head = scan_revision(cx.head, head_policies.as_ref(), &wanted);
    let base = scan_revision(cx.base, base_policies.as_ref(), &wanted);
    let known: BTreeSet<(String, String)> = base
        .iter()
        .map(|d| (d.file.clone(), d.message.clone()))
        .collect();
    for d in &mut head {
        d.pre_existing = known.contains(&(d.file.clone(), d.message.clone()));
    }
    head
}

/// The ImagePolicies a revision defines: (namespace if written, name); None when it has none.
type Policies = Option<BTreeSet<(Option<String>, String)>>;

fn policies<'o>(
    rev: &Revision<'_>,
    produced: impl Iterator<Item = &'o crate::plan::Object>,
) -> Policies {
    let is_policy = |api: &str, kind: &str| {
        kind == "ImagePolicy" && crate::manifest::api_group(api) == "image.toolkit.fluxcd.io"
    };
    let mut out = BTreeSet::new();
    for (_, m) in rev.objects() {
        if is_policy(&m.resource.api_version, &m.resource.kind) {
            out.insert((m.resource.namespace.clone(), m.resource.name.clone()));
        }
    }
    for o in produced {
        if is_policy(&o.resource.api_version, &o.resource.kind) {
            out.insert((o.resource.namespace.clone(), o.resource.name.clone()));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The marker findings of the files of a revision under the plan's paths.
fn scan_revision(
    rev: &Revision<'_>,
    policies: Option<&BTreeSet<(Option<String>, String)>>,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (path, parsed) in &rev.files {
        if path.is_empty()
            || !wanted(path)
            || !parsed.text.to_ascii_lowercase().contains("imagepolicy")
        {
            continue;
        }
        let file = SourceFile::new(rev.display(path), parsed.text.clone());
        let inside = block_scalar_lines(parsed.manifests.iter().map(|m| &m.node));
        out.extend(scan(&file, &inside, policies));
    }
    out
}

/// Lines inside multi-line string values: a `#` there is text, not a comment.
fn block_scalar_lines<'n>(nodes: impl Iterator<Item = &'n yaml::Node>) -> BTreeSet<u32> {
    fn walk(n: &yaml::Node, out: &mut BTreeSet<u32>) {
        match &n.value {
            yaml::Value::String(_) if n.span.end_line > n.span.line => {
                out.extend(n.span.line + 1..=n.span.end_line);
            }
            yaml::Value::Seq(items) => items.iter().for_each(|i| walk(i, out)),
            yaml::Value::Map(entries) => entries.iter().for_each(|(_, v)| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for n in nodes {
        walk(n, &mut out);
    }
    out
}

/// What a marker's line holds before the comment.
#[derive(Debug, PartialEq)]
enum Field {
    /// The comment is alone on its line.
    Alone,
    /// `key:` (or `-`) opening a mapping or list.
    KeyOnly(String),
    /// A scalar value, with its key (None for a list item).
    Value(Option<String>, String),
    /// Something else (flow collection, block scalar header, alias): not judged.
    Other,
}

/// The marker findings of one file.
fn scan(
    file: &SourceFile,
    inside: &BTreeSet<u32>,
    policies: Option<&BTreeSet<(Option<String>, String)>>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (i, line) in file.text.split_inclusive('\n').enumerate() {
        let line_no = i as u32 + 1;
        let start = offset;
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        if inside.contains(&line_no) {
            continue;
        }
        let Some(at) = comment_start(line) else {
            continue;
        };
        let comment = line[at + 1..].trim_start_matches('#').trim();
        if !comment.starts_with('{') || !comment.to_ascii_lowercase().contains("imagepolicy") {
            continue;
        }
        let span = file
            .span_at_byte(start + at)
            .to(file.span_at_byte(start + line.len()));
        let problem = judge(comment, &field(&line[..at]), policies);
        if let Some((message, help)) = problem {
            out.push(
                Diagnostic::error(IMAGE_AUTOMATION, message)
                    .in_file(file.path.clone(), Some(span))
                    .with_help(help),
            );
        }
    }
    out
}

/// The problem with one marker, if any: (message, help).
fn judge(
    comment: &str,
    field: &Field,
    policies: Option<&BTreeSet<(Option<String>, String)>>,
) -> Option<(String, String)> {
    let form_help = "Flux reads `# {\"$imagepolicy\": \"<namespace>:<name>\"}` on an image \
                     reference, `…:tag` on a tag, `…:name` on an image name, `…:digest` on a \
                     digest"
        .to_string();
    let Ok(map) = serde_json::from_str::<BTreeMap<String, Value>>(comment) else {
        return Some((
            "this looks like a Flux image automation marker but is not the JSON object Flux \
             reads, so Flux ignores it"
                .to_string(),
            form_help,
        ));
    };
    let Some(target) = map.get(KEY) else {
        let key = map
            .keys()
            .find(|k| k.to_ascii_lowercase().contains("imagepolicy"))
            .cloned()
            .unwrap_or_default();
        return Some((
            format!(
                "the marker's key is `{key}`; Flux only reads `{KEY}`, so it ignores this marker"
            ),
            form_help,
        ));
    };
    // Flux reads the comment as a map of strings: any other value makes it no marker.
    let (Some(target), true) = (target.as_str(), map.values().all(Value::is_string)) else {
        return Some((
            "the marker's values must all be strings; Flux ignores this marker".to_string(),
            form_help,
        ));
    };
    let parts: Vec<&str> = target.split(':').collect();
    let (ns, name, form) = match parts.as_slice() {
        [ns, name] => (*ns, *name, "full"),
        [ns, name, form @ ("tag" | "name" | "digest")] => (*ns, *name, *form),
        _ => {
            return Some((
                format!(
                    "the marker names `{target}`, which is not `<namespace>:<name>` with an \
                     optional `:tag`, `:name` or `:digest`: Flux matches no policy and never \
                     updates this field"
                ),
                form_help,
            ))
        }
    };
    if ns.is_empty() || name.is_empty() {
        return Some((
            format!("the marker names `{target}` with an empty namespace or name: Flux matches no policy"),
            form_help,
        ));
    }
    if let Some(defined) = policies {
        let found = defined
            .iter()
            .any(|(pns, pname)| pname == name && pns.as_deref().is_none_or(|p| p == ns));
        if !found {
            let names: Vec<String> = defined
                .iter()
                .map(|(pns, pname)| format!("{}:{pname}", pns.as_deref().unwrap_or(ns)))
                .collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint = match crate::diagnostic::closest(&format!("{ns}:{name}"), &refs) {
                Some(c) => format!("did you mean `{c}`? "),
                None => String::new(),
            };
            return Some((
                format!(
                    "the marker points at ImagePolicy {ns}/{name}, which the repository does not \
                     define: Flux never updates this field"
                ),
                format!(
                    "{hint}the repository defines ImagePolicy {}",
                    super::list(&names, 5)
                ),
            ));
        }
    }
    let (key, value) = match field {
        Field::KeyOnly(key) => {
            return Some((
                format!(
                    "the marker is on `{key}`, which opens a mapping or list, not on a value: \
                     Flux reads markers only as the comment of a value and ignores this one"
                ),
                "put the marker at the end of the line holding the image value".to_string(),
            ))
        }
        Field::Value(key, value) => (key.as_deref().unwrap_or(""), value.as_str()),
        Field::Alone | Field::Other => return None,
    };
    let k = key.to_ascii_lowercase();
    let tag_key = k.ends_with("tag") || k.ends_with("version");
    let named = |what: &str| {
        if key.is_empty() {
            format!("this list item, whose value is not {what}")
        } else {
            format!("`{key}`, whose value is not {what}")
        }
    };
    let tagged = value
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'));
    let (bad, writes, expected, better) = match form {
        "full" => {
            let image_like = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
                && (value.contains(['/', ':', '@']) || k.contains("image"));
            (
                tag_key || !image_like,
                "a whole image reference (name:tag)",
                "an image reference",
                format!("`{ns}:{name}:tag` on a tag, `{ns}:{name}:name` on an image name"),
            )
        }
        "tag" => (
            value.contains(['/', ':', '@']) || k == "image",
            "only the tag",
            "a tag",
            format!("`{ns}:{name}` on a whole image reference"),
        ),
        "name" => (
            tag_key || tagged || value.contains('@'),
            "only the image name",
            "an image name without tag",
            format!("`{ns}:{name}` on a whole image reference, `{ns}:{name}:tag` on a tag"),
        ),
        _ => (
            value.contains('/') || (value.contains(':') && !value.starts_with("sha256:")),
            "only the digest",
            "a digest",
            format!("`{ns}:{name}` on a whole image reference"),
        ),
    };
    bad.then(|| {
        (
            format!(
                "the marker `{target}` makes Flux write {writes} into {}",
                named(expected)
            ),
            format!("use {better}"),
        )
    })
}

/// Where a line's comment starts (the `#`), outside quotes; None without a comment.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut prev: Option<char> = None;
    let mut last_sig: Option<char> = None;
    let mut escaped = false;
    for (i, ch) in line.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == '"' && ch == '\\' {
                escaped = true;
            } else if ch == q {
                quote = None;
            }
        } else if ch == '#' && prev.is_none_or(char::is_whitespace) {
            return Some(i);
        } else if (ch == '"' || ch == '\'')
            && prev.is_none_or(|p| p.is_whitespace() || "[{,".contains(p))
            && last_sig.is_none_or(|s| ":-[{,?".contains(s))
        {
            quote = Some(ch);
        }
        prev = Some(ch);
        if !ch.is_whitespace() {
            last_sig = Some(ch);
        }
    }
    None
}

/// The field a line holds before its comment.
fn field(before: &str) -> Field {
    let mut rest = before.trim();
    if rest.is_empty() {
        return Field::Alone;
    }
    // List item markers: `- value`, `- - value`, `- key: value`.
    while let Some(r) = rest.strip_prefix('-') {
        if r.is_empty() {
            return Field::KeyOnly("-".to_string());
        }
        if !r.starts_with(char::is_whitespace) {
            break;
        }
        rest = r.trim_start();
    }
    let (key, value) = match key_split(rest) {
        Some((k, v)) => (Some(unquote(k.trim())), v.trim()),
        None => (None, rest),
    };
    if value.is_empty() {
        return Field::KeyOnly(key.unwrap_or_default());
    }
    // Anchors and tags before the value.
    let mut value = value;
    while value.starts_with(['&', '!']) {
        match value.split_once(char::is_whitespace) {
            Some((_, v)) => value = v.trim_start(),
            None => return Field::KeyOnly(key.unwrap_or_default()),
        }
    }
    if value.starts_with(['|', '>', '{', '[', '*']) {
        return Field::Other;
    }
    Field::Value(key, unquote(value))
}

/// `key: value` split at the first `:` followed by a space (or the end) outside quotes.
fn key_split(s: &str) -> Option<(&str, &str)> {
    let mut quote: Option<char> = None;
    let bytes: Vec<(usize, char)> = s.char_indices().collect();
    for (n, &(i, ch)) in bytes.iter().enumerate() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None if n == 0 && (ch == '"' || ch == '\'') => quote = Some(ch),
            None if ch == ':' => {
                let next = bytes.get(n + 1).map(|&(_, c)| c);
                if next.is_none_or(char::is_whitespace) {
                    return Some((&s[..i], &s[i + 1..]));
                }
            }
            None => {}
        }
    }
    None
}

/// A scalar without its quotes (`'it''s'` → `it's`).
fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        s[1..s.len() - 1].replace("''", "'")
    } else if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1].replace("\\\"", "\"")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str, defined: &[(&str, &str)]) -> Vec<String> {
        let file = SourceFile::new("a.yaml", text);
        let set: BTreeSet<(Option<String>, String)> = defined
            .iter()
            .map(|(ns, n)| (Some(ns.to_string()), n.to_string()))
            .collect();
        let policies = (!set.is_empty()).then_some(&set);
        scan(&file, &BTreeSet::new(), policies)
            .into_iter()
            .map(|d| format!("{}: {}", d.span.unwrap().line, d.message))
            .collect()
    }

    #[test]
    fn correct_markers_of_every_form_pass() {
        let text = r#"spec:
  containers:
    - name: app
      image: ghcr.io/acme/app:1.2.3 # {"$imagepolicy": "flux-system:app"}
values:
  image:
    repository: ghcr.io/acme/app # {"$imagepolicy": "flux-system:app:name"}
    tag: "1.2.3" # {"$imagepolicy": "flux-system:app:tag"}
    digest: sha256:0123 # {"$imagepolicy": "flux-system:app:digest"}
  images:
    - ghcr.io/acme/app:1.2.3 # {"$imagepolicy": "flux-system:app"}
  note: "a # {\"$imagepolicy\": \"x\"} inside a string"
"#;
        assert_eq!(
            problems(text, &[("flux-system", "app")]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn broken_markers_are_found_on_their_line() {
        let text = r#"image: ghcr.io/acme/app:1.2.3 # {"$imagepolicy": "flux-system:ap"}
tag: "1.2.3" # {"$imagepolicy": "flux-system:app"}
image2: ghcr.io/acme/app:1.2.3 # {"$imagepolicy": "flux-system:app:tag"}
repository: ghcr.io/acme/app:1.2 # {"$imagepolicy": "flux-system:app:name"}
image3: x:1 # {'$imagepolicy': 'flux-system:app'}
image4: x:1 # {"$imagePolicy": "flux-system:app"}
image5: x:1 # {"$imagepolicy": "app"}
image6: # {"$imagepolicy": "flux-system:app"}
  nested: x
replicas: 3 # {"$imagepolicy": "flux-system:app"}
"#;
        let got = problems(text, &[("flux-system", "app")]);
        let lines: Vec<&str> = got.iter().map(|p| p.split(':').next().unwrap()).collect();
        assert_eq!(
            lines,
            ["1", "2", "3", "4", "5", "6", "7", "8", "10"],
            "{got:#?}"
        );
        assert!(got[0].contains("does not define"), "{got:#?}");
        assert!(got[1].contains("into `tag`"), "{got:#?}");
        assert!(got[5].contains("`$imagePolicy`"), "{got:#?}");
        assert!(got[7].contains("opens a mapping"), "{got:#?}");
    }

    #[test]
    fn undefined_policies_are_judged_only_when_the_repository_defines_some() {
        let text = "image: x/y:1 # {\"$imagepolicy\": \"ns:p\"}\n";
        assert!(problems(text, &[]).is_empty());
        assert_eq!(problems(text, &[("ns", "q")]).len(), 1);
    }

    #[test]
    fn comments_start_outside_quotes_only() {
        assert_eq!(comment_start("a: 'x # y' # z"), Some(11));
        assert_eq!(comment_start("a: it's # z"), Some(8));
        assert_eq!(comment_start("a: b#c"), None);
        assert_eq!(comment_start("# alone"), Some(0));
    }

    #[test]
    fn fields_before_a_comment() {
        assert_eq!(
            field("  - image: x:1 "),
            Field::Value(Some("image".into()), "x:1".into())
        );
        assert_eq!(field("  - 'x:1'"), Field::Value(None, "x:1".into()));
        assert_eq!(field("  image:"), Field::KeyOnly("image".into()));
        assert_eq!(field("   "), Field::Alone);
        assert_eq!(field("a: &x y"), Field::Value(Some("a".into()), "y".into()));
        assert_eq!(field("a: |"), Field::Other);
    }
}
