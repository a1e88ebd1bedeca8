//! The string formats the API server checks in code (k8s.io/apimachinery
//! `pkg/util/validation/validation.go` and `pkg/api/validation/path`): DNS-1123 labels and
//! subdomains, DNS-1035 labels, path segment names, qualified names (label and annotation
//! keys), label values and IANA service names (port names). Each returns the API server's
//! reason when the value is not acceptable.

/// `IsDNS1123Label`: at most 63 lowercase alphanumerics and `-`, alphanumeric at both ends.
pub fn dns1123_label(s: &str) -> Option<String> {
    if s.len() > 63 {
        return Some(format!(
            "must be no more than 63 characters (is {})",
            s.len()
        ));
    }
    if !label_chars(s, false) {
        return Some(
            "must be a lowercase RFC 1123 label: lowercase letters, digits and '-', starting \
             and ending with a letter or digit"
                .into(),
        );
    }
    None
}

/// `IsDNS1035Label`: a DNS-1123 label that starts with a letter.
pub fn dns1035_label(s: &str) -> Option<String> {
    if s.len() > 63 {
        return Some(format!(
            "must be no more than 63 characters (is {})",
            s.len()
        ));
    }
    if !label_chars(s, true) {
        return Some(
            "must be a lowercase RFC 1035 label: lowercase letters, digits and '-', starting \
             with a letter and ending with a letter or digit"
                .into(),
        );
    }
    None
}

/// `IsDNS1123Subdomain`: at most 253 characters, dot-separated DNS-1123 labels.
pub fn dns1123_subdomain(s: &str) -> Option<String> {
    if s.len() > 253 {
        return Some(format!(
            "must be no more than 253 characters (is {})",
            s.len()
        ));
    }
    if s.is_empty() || !s.split('.').all(|l| label_chars(l, false)) {
        return Some(
            "must be a lowercase RFC 1123 subdomain: lowercase letters, digits, '-' and '.', \
             starting and ending with a letter or digit"
                .into(),
        );
    }
    None
}

/// `IsWildcardDNS1123Subdomain`-or-subdomain, as Ingress hosts are checked.
pub fn host_name(s: &str) -> Option<String> {
    match s.strip_prefix("*.") {
        Some(rest) => dns1123_subdomain(rest),
        None => dns1123_subdomain(s),
    }
}

fn label_chars(s: &str, letter_first: bool) -> bool {
    let b = s.as_bytes();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    let ok_end = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    ok_end(first)
        && (!letter_first || first.is_ascii_lowercase())
        && ok_end(last)
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// `path.IsValidPathSegmentName` (names of RBAC objects and some others): not `.` or `..`,
/// no `/` or `%`.
pub fn path_segment(s: &str, prefix: bool) -> Option<String> {
    if !prefix && (s == "." || s == "..") {
        return Some(format!("may not be '{s}'"));
    }
    for bad in ["/", "%"] {
        if s.contains(bad) {
            return Some(format!("may not contain '{bad}'"));
        }
    }
    None
}

/// `IsQualifiedName`: `[prefix/]name`, prefix a DNS subdomain, name at most 63 characters of
/// alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
pub fn qualified_name(s: &str) -> Option<String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => {
            if n.contains('/') {
                return Some(
                    "a qualified name has at most one '/' (an optional DNS subdomain prefix and \
                     a name)"
                        .into(),
                );
            }
            (Some(p), n)
        }
        None => (None, s),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Some("the prefix before '/' must not be empty".into());
        }
        if let Some(why) = dns1123_subdomain(p) {
            return Some(format!("prefix part {why}"));
        }
    }
    if name.is_empty() {
        return Some("the name part must not be empty".into());
    }
    if name.len() > 63 {
        return Some(format!(
            "the name part must be no more than 63 characters (is {})",
            name.len()
        ));
    }
    if !label_value_chars(name) {
        return Some(
            "the name part must consist of alphanumeric characters, '-', '_' or '.', and must \
             start and end with an alphanumeric character"
                .into(),
        );
    }
    None
}

/// `IsValidLabelValue`: empty, or at most 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both
/// ends.
pub fn label_value(s: &str) -> Option<String> {
    if s.len() > 63 {
        return Some(format!(
            "must be no more than 63 characters (is {})",
            s.len()
        ));
    }
    if !s.is_empty() && !label_value_chars(s) {
        return Some(
            "must be empty or consist of alphanumeric characters, '-', '_' or '.', starting and \
             ending with an alphanumeric character"
                .into(),
        );
    }
    None
}

fn label_value_chars(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `IsValidPortName` (IANA_SVC_NAME): at most 15 lowercase alphanumerics and `-`, at least one
/// letter, no `-` at either end, no `--`.
pub fn port_name(s: &str) -> Option<String> {
    if s.len() > 15 {
        return Some(format!(
            "must be no more than 15 characters (is {})",
            s.len()
        ));
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        return Some("must contain only lowercase letters, digits and '-'".into());
    }
    if !s.bytes().any(|c| c.is_ascii_lowercase()) {
        return Some("must contain at least one letter".into());
    }
    if s.contains("--") {
        return Some("must not contain consecutive hyphens".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some("must not begin or end with a hyphen".into());
    }
    None
}

/// Values kgate cannot judge yet: a Flux `${VAR}` substituted at apply time, a kustomize
/// `$(VAR)`, or a `{{ … }}` template placeholder filled in by a script before applying.
/// Checking them before substitution would be a false positive.
pub fn unsubstituted(s: &str) -> bool {
    s.contains("${") || s.contains("$(") || s.contains("{{")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains() {
        assert!(dns1123_label("web-1").is_none());
        assert!(dns1123_label("Web").is_some());
        assert!(dns1123_label("-web").is_some());
        assert!(dns1123_label("web.x").is_some());
        assert!(dns1123_label(&"a".repeat(64)).is_some());
        assert!(dns1035_label("1web").is_some());
        assert!(dns1035_label("web1").is_none());
        assert!(dns1123_subdomain("a.b-c.d").is_none());
        assert!(dns1123_subdomain("a..b").is_some());
        assert!(dns1123_subdomain("a_b").is_some());
        assert!(dns1123_subdomain(&"a".repeat(254)).is_some());
        assert!(host_name("*.example.com").is_none());
        assert!(host_name("*").is_some());
    }

    #[test]
    fn qualified_names_and_values() {
        assert!(qualified_name("app.kubernetes.io/name").is_none());
        assert!(qualified_name("app").is_none());
        assert!(qualified_name("My_Key.1").is_none());
        assert!(qualified_name("a/b/c").is_some());
        assert!(qualified_name("/b").is_some());
        assert!(qualified_name("Example.COM/b").is_some());
        assert!(qualified_name("k ey").is_some());
        assert!(qualified_name(&"k".repeat(64)).is_some());
        assert!(label_value("").is_none());
        assert!(label_value("v1.2_3-x").is_none());
        assert!(label_value("two words").is_some());
        assert!(label_value("-x").is_some());
        assert!(label_value(&"x".repeat(64)).is_some());
    }

    #[test]
    fn port_names_and_segments() {
        assert!(port_name("http").is_none());
        assert!(port_name("http-metrics").is_none());
        assert!(port_name("http-metrics-long").is_some());
        assert!(port_name("8080").is_some());
        assert!(port_name("HTTP").is_some());
        assert!(port_name("a--b").is_some());
        assert!(port_name("-ab").is_some());
        assert!(path_segment("system:admin", false).is_none());
        assert!(path_segment("a/b", false).is_some());
        assert!(path_segment("..", false).is_some());
        assert!(unsubstituted("${cluster}-web"));
        assert!(unsubstituted("etcd-{{cell}}"));
        assert!(!unsubstituted("web"));
    }
}
