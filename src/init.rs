//! `kgate init`: writes a starter `.kgate.yaml` and, on request, a GitHub Actions workflow, a
//! GitLab CI job and a pre-commit entry. An existing `.kgate.yaml` gets only the settings it
//! lacks (its own stay, comments included); the user's `.gitlab-ci.yml` and
//! `.pre-commit-config.yaml` get kgate's entry inserted when their shape allows it, else the
//! lines to add are printed. kgate's own workflow/job files are replaced only with `--force`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::cli::InitArgs;
use crate::config::ConfigError;
use crate::output::OutputError;
use crate::schema::bundle::DEFAULT_VERSION;

/// Why `kgate init` wrote nothing, or stopped: the configuration layer's errors for the
/// existing `.kgate.yaml`, the output layer's for stdout, and its own for the files it writes.
/// (`init` is a command: it sits above both layers, so its enum wraps theirs.)
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{dir} is not a folder")]
    NotAFolder { dir: String },

    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// kgate's own files that exist and would be replaced without `--force`.
    #[error("{} already exists; --force replaces it", .paths.join(", "))]
    Exists { paths: Vec<String> },

    #[error("cannot create {}: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error(transparent)]
    Output(#[from] OutputError),
}

/// The application layer still speaks `String` errors: `?` converts.
impl From<InitError> for String {
    fn from(e: InitError) -> String {
        e.to_string()
    }
}

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

# What kgate could not verify (a kind without a schema, a chart it cannot find offline, a
# kustomize feature it does not render, a template it skipped) fails the gate instead of
# looking like a pass. Name the kinds you accept unverified in skip_kinds (e.g. a vendor CRD
# you have no schema for), or give a chart cache (chart_cache: DIR) for HelmRelease charts.
# `warning` reports them without failing.
unverified: error
skip_kinds: []

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
          # What kgate could not verify (no schema, a chart not available offline, a skipped
          # template) fails the gate; accept kinds with skip_kinds in .kgate.yaml.
          args: --unverified error
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
    # What kgate could not verify fails the gate; accept kinds with skip_kinds in .kgate.yaml.
    KGATE_ARGS: "--unverified error"
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

/// The user's own CI files, which kgate extends but never replaces.
fn is_user_file(path: &Path) -> bool {
    path.ends_with(".gitlab-ci.yml") || path.ends_with(".pre-commit-config.yaml")
}

/// A file kgate owns (replaced with --force) or the user's (never replaced).
struct Planned {
    path: PathBuf,
    text: String,
    owned: bool,
    /// What to tell the user when a file of theirs already exists.
    hint: Option<String>,
}

/// The settings of the starter an existing config lacks, appended as text so that the user's
/// keys, order and comments stay; None when it has them all. The file must be a valid config.
pub fn merge_config(path: &Path, existing: &str) -> Result<Option<String>, ConfigError> {
    let cfg = crate::config::parse(&path.display().to_string(), existing, Path::new(""))?;
    let mut add = String::new();
    if cfg.kubernetes_version.is_none() {
        let _ = writeln!(
            add,
            "# Added by kgate init: the Kubernetes version of your clusters (X.Y).\n\
             kubernetes_version: \"{DEFAULT_VERSION}\""
        );
    }
    if cfg.strict.is_none() {
        let _ = writeln!(
            add,
            "# Added by kgate init: report fields the schema does not define.\nstrict: true"
        );
    }
    if cfg.unverified.is_none() {
        let _ = writeln!(
            add,
            "# Added by kgate init: what kgate could not verify fails the gate (objects without a\n\
             # schema, charts it cannot find offline, skipped templates); `warning` only reports\n\
             # them. Kinds you accept unverified go in skip_kinds.\nunverified: error"
        );
    }
    if add.is_empty() {
        return Ok(None);
    }
    let mut text = existing.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&add);
    Ok(Some(text))
}

/// `entry` (block-list items, indented by two) inserted under the top-level `key:` of a YAML
/// file whose value is a block list, or prepended as a new `key:` when there is none; None
/// when the key holds something else (a flow list, a string) that text cannot safely extend.
pub fn insert_under(existing: &str, key: &str, entry: &str) -> Option<String> {
    let header = format!("{key}:");
    let lines: Vec<&str> = existing.lines().collect();
    let Some(at) = lines.iter().position(|l| l.trim_end() == header) else {
        if lines.iter().any(|l| l.starts_with(&header)) {
            return None;
        }
        return Some(format!("{header}\n{entry}\n{existing}"));
    };
    // The next non-blank, non-comment line must be an item of this list.
    let next = lines[at + 1..]
        .iter()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    if !next.trim_start().starts_with("- ") {
        return None;
    }
    let indent = next.len() - next.trim_start().len();
    let entry: String = entry
        .lines()
        .map(|l| {
            format!(
                "{}{}\n",
                " ".repeat(indent),
                l.strip_prefix("  ").unwrap_or(l)
            )
        })
        .collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        out.push_str(l);
        out.push('\n');
        if i == at {
            out.push_str(&entry);
        }
    }
    Some(out)
}

pub fn run(args: &InitArgs) -> Result<u8, InitError> {
    let dir = Path::new(&args.dir);
    if !dir.is_dir() {
        return Err(InitError::NotAFolder {
            dir: args.dir.clone(),
        });
    }
    let config_path = dir.join(".kgate.yaml");
    let mut merged_config = None;
    if config_path.exists() && !args.force {
        let existing = std::fs::read_to_string(&config_path).map_err(|source| InitError::Read {
            path: config_path.clone(),
            source,
        })?;
        merged_config = Some(merge_config(&config_path, &existing)?);
    }
    let mut planned = Vec::new();
    match &merged_config {
        None => planned.push(Planned {
            path: config_path.clone(),
            text: starter_config(),
            owned: true,
            hint: None,
        }),
        Some(Some(text)) => planned.push(Planned {
            path: config_path.clone(),
            text: text.clone(),
            owned: true,
            hint: None,
        }),
        Some(None) => {}
    }
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
    // The user's CI files get kgate's entry when it is not there yet and their shape allows.
    for p in planned.iter_mut().filter(|p| !p.owned && p.path.exists()) {
        let existing = std::fs::read_to_string(&p.path).unwrap_or_default();
        let (key, entry) = if p.path.ends_with(".gitlab-ci.yml") {
            (
                "include",
                "  - local: .gitlab/kgate.gitlab-ci.yml".to_string(),
            )
        } else {
            ("repos", pre_commit_entry().trim_end().to_string())
        };
        let present = existing.contains(".gitlab/kgate.gitlab-ci.yml")
            || existing.contains(&format!("github.com/{}", repo_slug()));
        if present {
            p.hint = Some("kgate is already set up there".into());
        } else if let Some(text) = insert_under(&existing, key, &entry) {
            p.text = text;
            p.owned = true;
            p.hint = None;
        }
    }
    // Refuse before writing anything, so a refused run leaves no half-made setup.
    let blocked: Vec<String> = planned
        .iter()
        .filter(|p| p.owned && p.path.exists() && !args.force)
        .filter(|p| p.path != config_path && !is_user_file(&p.path))
        .map(|p| p.path.display().to_string())
        .collect();
    if !blocked.is_empty() {
        return Err(InitError::Exists { paths: blocked });
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
            std::fs::create_dir_all(parent).map_err(|source| InitError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let existed = p.path.exists();
        std::fs::write(&p.path, &p.text).map_err(|source| InitError::Write {
            path: p.path.clone(),
            source,
        })?;
        let verb = if existed && (!args.force || is_user_file(&p.path)) {
            "merged into"
        } else {
            "wrote"
        };
        let _ = writeln!(said, "{verb} {}", p.path.display());
    }
    if merged_config == Some(None) {
        let _ = writeln!(said, "kept {}: it has every setting", config_path.display());
    }
    crate::output::write_stdout(&said)?;
    Ok(crate::EXIT_PASS)
}
