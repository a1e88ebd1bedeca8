//! `kgate init`: writes a starter `.kgate.yaml` and, on request, a GitHub Actions workflow, a
//! GitLab CI job and a pre-commit entry. Never replaces a file without `--force`, and never
//! rewrites the user's own `.gitlab-ci.yml` or `.pre-commit-config.yaml`: when those exist it
//! prints the lines to add instead.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::cli::InitArgs;
use crate::schema::bundle::DEFAULT_VERSION;

/// `owner/name` of kgate's repository, for `uses:` and `repo:` lines.
fn repo_slug() -> &'static str {
    env!("CARGO_PKG_REPOSITORY").trim_start_matches("https://github.com/")
}

fn release_tag() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// The starter configuration: conservative (strict checking, no policies, no exceptions).
pub fn starter_config() -> String {
    r#"# kgate configuration. `kgate check` reads it from the folder it runs in.
# Command-line flags override these settings.

# Kubernetes version whose built-in schemas to validate against (X.Y): the version
# your clusters run.
kubernetes_version: "@K8S@"

# Report fields that the schema does not define, as `kubectl apply` does (a misspelt
# field would otherwise be silently dropped). false allows unknown fields.
strict: true

# Rego policy files or folders (conftest conventions: deny/violation fail, warn warns).
# Example:
#   policies:
#     - policy/
policies: []

# Accepted findings. Give every exception a reason, so a reviewer knows why.
# Example:
#   exceptions:
#     - code: schema/missing
#       path: vendor/**
#       reason: third-party charts, validated upstream
exceptions: []
"#
    .replace("@K8S@", DEFAULT_VERSION)
}

fn fill(template: &str) -> String {
    template
        .replace("@REPO@", repo_slug())
        .replace("@TAG@", &release_tag())
}

pub fn github_workflow() -> String {
    fill(
        r#"# kgate: validate Kubernetes manifests on every pull request.
name: kgate
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
  security-events: write # upload-sarif
jobs:
  kgate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # the pull request's base commit must be in the clone
      - uses: @REPO@@@TAG@
        with:
          paths: .
          fail-on: error
          sarif-file: kgate.sarif
      - uses: github/codeql-action/upload-sarif@v3
        if: always() && hashFiles('kgate.sarif') != ''
        with:
          sarif_file: kgate.sarif
"#,
    )
}

pub fn gitlab_job() -> String {
    fill(
        r#"# kgate: validate Kubernetes manifests in merge request pipelines; findings show in the
# merge request's Code Quality and test report widgets.
include:
  - remote: https://raw.githubusercontent.com/@REPO@/@TAG@/ci/gitlab/kgate.gitlab-ci.yml

kgate:
  variables:
    KGATE_PATHS: "."
    KGATE_FAIL_ON: error
"#,
    )
}

pub fn pre_commit_entry() -> String {
    fill(
        "  - repo: https://github.com/@REPO@
    rev: @TAG@
    hooks:
      - id: kgate
",
    )
}

/// A file kgate owns (replaced with --force) or the user's (never replaced).
struct Planned {
    path: PathBuf,
    text: String,
    owned: bool,
    /// What to tell the user when a file of theirs already exists.
    hint: Option<String>,
}

pub fn run(args: &InitArgs) -> Result<u8, String> {
    let dir = Path::new(&args.dir);
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", args.dir));
    }
    let mut planned = vec![Planned {
        path: dir.join(".kgate.yaml"),
        text: starter_config(),
        owned: true,
        hint: None,
    }];
    if args.github {
        planned.push(Planned {
            path: dir.join(".github/workflows/kgate.yml"),
            text: github_workflow(),
            owned: true,
            hint: None,
        });
    }
    if args.gitlab {
        planned.push(Planned {
            path: dir.join(".gitlab/kgate.gitlab-ci.yml"),
            text: gitlab_job(),
            owned: true,
            hint: None,
        });
        planned.push(Planned {
            path: dir.join(".gitlab-ci.yml"),
            text: "include:\n  - local: .gitlab/kgate.gitlab-ci.yml\n".into(),
            owned: false,
            hint: Some(
                "add to .gitlab-ci.yml:\n  include:\n    - local: .gitlab/kgate.gitlab-ci.yml"
                    .into(),
            ),
        });
    }
    if args.pre_commit {
        planned.push(Planned {
            path: dir.join(".pre-commit-config.yaml"),
            text: format!("repos:\n{}", pre_commit_entry()),
            owned: false,
            hint: Some(format!(
                "add under `repos:` in .pre-commit-config.yaml:\n{}",
                pre_commit_entry()
            )),
        });
    }
    // Refuse before writing anything, so a refused run leaves no half-made setup.
    let blocked: Vec<String> = planned
        .iter()
        .filter(|p| p.owned && p.path.exists() && !args.force)
        .map(|p| p.path.display().to_string())
        .collect();
    if !blocked.is_empty() {
        return Err(format!(
            "{} already exists; --force replaces it",
            blocked.join(", ")
        ));
    }
    let mut said = String::new();
    for p in &planned {
        if !p.owned && p.path.exists() {
            let _ = writeln!(
                said,
                "kept {}: {}",
                p.path.display(),
                p.hint.as_deref().unwrap_or("")
            );
            continue;
        }
        if let Some(parent) = p.path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&p.path, &p.text)
            .map_err(|e| format!("cannot write {}: {e}", p.path.display()))?;
        let _ = writeln!(said, "wrote {}", p.path.display());
    }
    crate::write_stdout(&said)?;
    Ok(crate::EXIT_PASS)
}
