//! `check --changed` / `--files-from`: a run about a set of changed files (a pre-commit hook's
//! staged files, `git diff --name-only`). The repository is checked as CI checks it — so a
//! staged patch or base is rendered through the overlays that use it — and the report keeps
//! what concerns the changed files: their own findings and those of every unit that reads one
//! of them.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cli::CheckArgs;
use crate::diagnostic::Diagnostic;
use crate::pipeline::{CheckOptions, Outcome};

/// Largest list of changed files read (`--files-from`).
const MAX_LIST: u64 = 16 * 1024 * 1024;

/// The names of a list: one per line or NUL-separated (`git diff -z`), blank entries dropped.
fn parse_list(text: &str) -> Vec<String> {
    text.split(['\n', '\0'])
        .map(|l| l.trim_end_matches('\r').trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// What the run checks: the nearest folder at or above `cwd` holding the gate's config or
/// `.git` (the repository CI checks, whose root git and pre-commit print names against), else
/// `cwd`. Returned relative to `cwd` (`.`, `..`, `../..`) so that paths display as in CI, with
/// where `cwd` is inside it (`` at the root).
fn repository_root(cwd: &Path) -> (PathBuf, PathBuf) {
    let mut dir = cwd;
    let mut up = PathBuf::from(".");
    loop {
        if dir.join(crate::config::FILE_NAME).exists() || dir.join(".git").exists() {
            let below = cwd.strip_prefix(dir).unwrap_or(Path::new("")).to_path_buf();
            return (up, below);
        }
        match dir.parent() {
            Some(p) => {
                dir = p;
                up = if up == Path::new(".") {
                    PathBuf::from("..")
                } else {
                    up.join("..")
                };
            }
            None => return (PathBuf::from("."), PathBuf::new()),
        }
    }
}

/// `./a` → `a`: the walker displays paths without the leading `./`.
fn tidy(p: PathBuf) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// A changed name as the run displays the file. A name relative to the current folder (typed by
/// hand) is taken as such when that file exists; otherwise it is a repository path (as
/// `git diff --name-only` prints it, or a deleted file).
fn display_name(cwd: &Path, (root, below): (&Path, &Path), name: &str) -> String {
    let name = name.trim_start_matches("./");
    if Path::new(name).is_absolute() {
        return name.to_string();
    }
    if cwd.join(name).exists() {
        tidy(root.join(below).join(name))
    } else {
        tidy(root.join(name))
    }
}

/// Turns `--changed` / `--files-from` into a run over the repository with the changed files
/// recorded; leaves other runs alone.
pub fn resolve_args(args: &mut CheckArgs) -> Result<(), String> {
    if !args.changed && args.files_from.is_none() {
        return Ok(());
    }
    if args.base.is_some() || args.head.is_some() {
        return Err(
            "--changed/--files-from and --base do not mix: merge-request mode already checks \
             what the merge request changes"
                .into(),
        );
    }
    if args.shard.is_some() {
        return Err("--changed/--files-from and --shard do not mix".into());
    }
    let mut names: Vec<String> = Vec::new();
    if let Some(from) = &args.files_from {
        let text = if from == "-" {
            let mut buf = String::new();
            std::io::stdin()
                .take(MAX_LIST)
                .read_to_string(&mut buf)
                .map_err(|e| format!("cannot read the changed files from stdin: {e}"))?;
            buf
        } else {
            crate::read_guard::read_named_text(Path::new(from), MAX_LIST)
                .map_err(|e| format!("cannot read {from}: {e}"))?
        };
        names.extend(parse_list(&text));
        // Paths named on the command line as well (`.` is the default, not a name).
        names.extend(args.paths.iter().filter(|p| *p != ".").cloned());
    } else {
        names.extend(args.paths.iter().cloned());
    }
    if names.iter().any(|n| n == "-") {
        return Err("--changed reads files, not stdin (`-`)".into());
    }
    let cwd = std::env::current_dir().map_err(|e| format!("no current folder: {e}"))?;
    let (root, below) = repository_root(&cwd);
    args.changed_files = Some(
        names
            .iter()
            .map(|n| display_name(&cwd, (&root, &below), n))
            .collect(),
    );
    args.paths = vec![root.to_string_lossy().to_string()];
    Ok(())
}

/// What a change to which reports everything: the gate's own files (config, policy and data
/// folders, the baseline). Canonical paths.
pub struct GatePaths {
    folders: Vec<PathBuf>,
    names: Vec<&'static str>,
}

pub fn gate_paths(opts: &CheckOptions, baseline: Option<&str>) -> GatePaths {
    let mut folders: Vec<PathBuf> = opts
        .policy
        .dirs
        .iter()
        .chain(&opts.policy.data)
        .map(String::as_str)
        .chain(baseline)
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    folders.sort();
    folders.dedup();
    GatePaths {
        folders,
        names: vec![
            crate::config::FILE_NAME,
            ".kgate.yml",
            crate::baseline::FILE_NAME,
        ],
    }
}

impl GatePaths {
    pub fn contains(&self, display: &str) -> bool {
        let name = display.rsplit('/').next().unwrap_or(display);
        if self.names.contains(&name) {
            return true;
        }
        // A deleted file cannot be canonicalized; its folder can.
        let p = Path::new(display);
        let canonical = std::fs::canonicalize(p).ok().or_else(|| {
            let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
            std::fs::canonicalize(parent.unwrap_or(Path::new(".")))
                .ok()
                .and_then(|d| p.file_name().map(|n| d.join(n)))
        });
        canonical.is_some_and(|c| self.folders.iter().any(|f| c.starts_with(f)))
    }
}

/// The units (by `rendered_for` label) that read one of the changed files, and the units
/// `also` names (a merge request's other side selected them).
pub fn units_reading<'a>(
    reads: &'a std::collections::BTreeMap<String, BTreeSet<String>>,
    changed: &BTreeSet<String>,
    also: Option<&'a BTreeSet<String>>,
) -> BTreeSet<&'a str> {
    reads
        .iter()
        .filter(|(_, read)| read.iter().any(|f| changed.contains(f)))
        .map(|(unit, _)| unit.as_str())
        .chain(also.into_iter().flatten().map(String::as_str))
        .collect()
}

/// Whether something found in `file` and rendered for `label` concerns the changed files: the
/// file changed; a unit that reads a changed file rendered it; it was rendered for a Helm release
/// or Application (`HelmRelease ns/name (unit or file)`) whose unit or file is concerned; or it
/// comes from a chart (`…/templates/…`) one of whose files changed (a helper, the values).
fn concerns_at(
    file: &str,
    label: Option<&str>,
    changed: &BTreeSet<String>,
    units: &BTreeSet<&str>,
) -> bool {
    if changed.contains(file) {
        return true;
    }
    if let Some((chart, _)) = file.split_once("/templates/") {
        let prefix = format!("{chart}/");
        if changed.iter().any(|c| c.starts_with(&prefix)) {
            return true;
        }
    }
    label.is_some_and(|l| {
        l.split(", ").any(|u| {
            units.contains(u)
                || u.rsplit_once(" (")
                    .and_then(|(_, at)| at.strip_suffix(')'))
                    .is_some_and(|at| units.contains(at) || changed.contains(at))
        })
    })
}

/// Whether an object concerns the changed files (see [`concerns_at`]).
pub fn concerns_object(
    m: &crate::manifest::Manifest,
    changed: &BTreeSet<String>,
    units: &BTreeSet<&str>,
) -> bool {
    concerns_at(&m.file.path, m.rendered_for.as_deref(), changed, units)
}

/// Whether a finding concerns the changed files: it is in one of them, it is about no file
/// (a run-level problem), or it was found in a unit that reads one of them.
fn concerns(d: &Diagnostic, changed: &BTreeSet<String>, units: &BTreeSet<&str>) -> bool {
    d.file.is_empty() || concerns_at(&d.file, d.rendered_for.as_deref(), changed, units)
}

/// Keeps the findings that concern `names` (display paths) and recounts the summary (the caller
/// does not ask when a gate file changed: that can change any finding).
pub fn keep_concerning(
    outcome: &mut Outcome,
    names: &BTreeSet<String>,
    also: Option<&BTreeSet<String>>,
) {
    let units = units_reading(&outcome.unit_reads, names, also);
    outcome.diagnostics.retain(|d| concerns(d, names, &units));
    outcome.summary.count_findings(&outcome.diagnostics);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_lines_or_nul_separated() {
        assert_eq!(
            parse_list("apps/a.yaml\r\n\n  apps/b.yaml \n"),
            ["apps/a.yaml", "apps/b.yaml"]
        );
        assert_eq!(parse_list("a.yaml\0b.yaml\0"), ["a.yaml", "b.yaml"]);
    }

    #[test]
    fn names_are_repository_paths_unless_they_exist_here() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join(".git")).unwrap();
        std::fs::create_dir_all(repo.path().join("apps/web")).unwrap();
        std::fs::write(repo.path().join("apps/web/a.yaml"), "").unwrap();
        let sub = repo.path().join("apps");
        let at_root = repository_root(repo.path());
        assert_eq!(at_root, (PathBuf::from("."), PathBuf::new()));
        assert_eq!(repository_root(&sub.join("web")).0, PathBuf::from("../.."));
        let (root, below) = repository_root(&sub);
        assert_eq!(
            (root.as_path(), below.as_path()),
            (Path::new(".."), Path::new("apps"))
        );
        let here = (at_root.0.as_path(), at_root.1.as_path());
        assert_eq!(
            display_name(repo.path(), here, "./apps/web/a.yaml"),
            "apps/web/a.yaml"
        );
        assert_eq!(display_name(repo.path(), here, "gone.yaml"), "gone.yaml");
        // From `apps/`: `web/a.yaml` exists here; `apps/web/b.yaml` (deleted) is a repository path.
        let there = (root.as_path(), below.as_path());
        assert_eq!(
            display_name(&sub, there, "web/a.yaml"),
            "../apps/web/a.yaml"
        );
        assert_eq!(
            display_name(&sub, there, "apps/web/b.yaml"),
            "../apps/web/b.yaml"
        );
    }

    #[test]
    fn findings_of_units_reading_a_changed_file_concern_it() {
        let changed = BTreeSet::from(["base/deploy.yaml".to_string()]);
        let units = BTreeSet::from(["overlays/prod"]);
        let mut d =
            Diagnostic::error("schema/unknown-field", "m").in_file("base/deploy.yaml", None);
        assert!(concerns(&d, &changed, &units));
        d.file = "overlays/prod/patch.yaml".into();
        assert!(!concerns(&d, &changed, &units));
        d.rendered_for = Some("overlays/staging, overlays/prod".into());
        assert!(concerns(&d, &changed, &units));
        d.rendered_for = Some("overlays/staging".into());
        assert!(!concerns(&d, &changed, &units));
        d.file.clear();
        assert!(concerns(&d, &changed, &units));
    }
}
