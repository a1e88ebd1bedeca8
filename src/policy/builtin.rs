//! The built-in policy pack (`policies/` at the crate root), embedded in the binary: one Rego
//! file per policy with its documentation in the leading comment, and its tests.

use crate::diagnostic::Severity;

/// A Rego source: display path and text.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! policy_file {
    ($name:literal) => {
        Source {
            path: concat!("<builtin>/policies/", $name),
            text: include_str!(concat!("../../policies/", $name)),
        }
    };
}

/// The policies (and their shared library), in a stable order.
pub const POLICIES: &[Source] = &[
    policy_file!("lib.rego"),
    policy_file!("image_tag_commit.rego"),
    policy_file!("resources.rego"),
    policy_file!("no_inline_secrets.rego"),
    policy_file!("privileged.rego"),
    policy_file!("run_as_non_root.rego"),
    policy_file!("host_access.rego"),
    policy_file!("probes.rego"),
    policy_file!("namespace.rego"),
];

/// The tests of the pack, run by `kgate verify --builtin` and by `cargo test`.
pub const TESTS: &[Source] = &[
    policy_file!("image_tag_commit_test.rego"),
    policy_file!("resources_test.rego"),
    policy_file!("no_inline_secrets_test.rego"),
    policy_file!("privileged_test.rego"),
    policy_file!("run_as_non_root_test.rego"),
    policy_file!("host_access_test.rego"),
    policy_file!("probes_test.rego"),
    policy_file!("namespace_test.rego"),
];

/// The Rego package prefix of built-in policies: `kgate.<name with _>` is `policy/<name with ->`.
pub const PACKAGE_PREFIX: &str = "kgate.";

/// A built-in policy as `kgate rules` lists it.
#[derive(Debug, Clone)]
pub struct BuiltinRule {
    pub code: String,
    pub package: String,
    pub severity: Severity,
    pub summary: String,
    pub docs: String,
}

/// The code of a built-in package: `kgate.image_tag_commit` → `policy/image-tag-commit`.
pub fn code_for_package(package: &str) -> Option<String> {
    let name = package.strip_prefix(PACKAGE_PREFIX)?;
    if name == "lib" || name.contains('.') {
        return None;
    }
    Some(format!("policy/{}", name.replace('_', "-")))
}

/// Every built-in policy, read from the header comment of its file:
/// `# policy/<name> (<severity>): <summary>` followed by the documentation.
pub fn rules() -> Vec<BuiltinRule> {
    POLICIES
        .iter()
        .filter_map(|s| parse_header(s.text))
        .collect()
}

pub fn find(code: &str) -> Option<BuiltinRule> {
    rules().into_iter().find(|r| r.code == code)
}

fn parse_header(text: &str) -> Option<BuiltinRule> {
    let package = text
        .lines()
        .find_map(|l| l.strip_prefix("package "))?
        .trim()
        .to_string();
    let code = code_for_package(&package)?;
    let comments: Vec<&str> = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .unwrap_or(l.trim_start_matches('#'))
        })
        .collect();
    let first = comments.first()?;
    let rest = first.strip_prefix(code.as_str())?.trim_start();
    let (sev, summary) = rest.strip_prefix('(')?.split_once("):")?;
    let severity = Severity::parse(sev.trim())?;
    // Paragraphs of the comment, re-joined: lines within a paragraph become one line.
    let mut docs = String::new();
    for line in &comments[1..] {
        if line.is_empty() {
            if !docs.is_empty() && !docs.ends_with("\n\n") {
                docs.push_str("\n\n");
            }
        } else {
            if !docs.is_empty() && !docs.ends_with('\n') {
                docs.push(' ');
            }
            docs.push_str(line.trim());
        }
    }
    Some(BuiltinRule {
        code,
        package,
        severity,
        summary: summary.trim().to_string(),
        docs: docs.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_documents_itself_and_matches_its_rule_kind() {
        let rules = rules();
        // Every file but the library is a policy with a parsable header.
        assert_eq!(rules.len(), POLICIES.len() - 1);
        for (rule, src) in rules.iter().zip(&POLICIES[1..]) {
            assert!(rule.docs.contains("What it checks"), "{}", rule.code);
            assert!(rule.docs.contains("Fix"), "{}", rule.code);
            // The severity in the header is the one the Rego rules produce.
            let has_deny = src.text.contains("\ndeny contains");
            let has_warn = src.text.contains("\nwarn contains");
            match rule.severity {
                Severity::Error => assert!(has_deny && !has_warn, "{}", rule.code),
                _ => assert!(has_warn && !has_deny, "{}", rule.code),
            }
        }
        let codes: Vec<&str> = rules.iter().map(|r| r.code.as_str()).collect();
        for needed in [
            "policy/image-tag-commit",
            "policy/resources",
            "policy/no-inline-secrets",
        ] {
            assert!(codes.contains(&needed), "{needed}");
        }
    }
}
