//! Revisions of the repository under review: opening it, resolving `--base`/`--head` (with a
//! clear refusal when a shallow clone lacks the base), finding the base in CI, and reading a
//! commit's tree as a [`Vfs`] without a checkout.
//!
//! Everything is read from git objects with `git2`; the working tree is read from disk
//! (`DiskFs` rooted at the repository root), so a local run sees uncommitted edits.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use crate::input_error::InputError;
use crate::vfs::{normalize, DiskFs, Vfs};

/// File mode of a symbolic link entry in a git tree.
const MODE_SYMLINK: i32 = 0o120000;
/// File mode of a submodule (gitlink) entry.
const MODE_GITLINK: i32 = 0o160000;
/// Symbolic links followed in a row before giving up (a loop).
const MAX_LINK_HOPS: usize = 8;

/// An open repository and where the current folder sits in it.
pub struct Repo {
    repo: Mutex<Repository>,
    /// The working tree root (absolute, canonical).
    root: PathBuf,
    /// The current folder relative to the root (`` at the root, `apps/web` below it).
    cwd_rel: String,
    /// How a repository path is shown: relative to the current folder (`../` per level).
    display_prefix: String,
    tracked: std::sync::OnceLock<Tracked>,
}

/// The tracked paths of a working tree (git's index), for "is anything under this folder
/// tracked" questions.
#[derive(Debug, Default)]
pub struct Tracked {
    paths: std::collections::BTreeSet<String>,
}

impl Tracked {
    /// The index of `repo` (empty for a bare repository).
    pub fn of(repo: &Repository) -> Result<Tracked, InputError> {
        let index = repo.index().map_err(InputError::Index)?;
        let paths = index
            .iter()
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .collect();
        Ok(Tracked { paths })
    }

    /// Whether `path` is tracked, or is a folder holding a tracked file.
    pub fn holds(&self, path: &str) -> bool {
        let path = path.trim_matches('/');
        if path.is_empty() {
            return !self.paths.is_empty();
        }
        if self.paths.contains(path) {
            return true;
        }
        let prefix = format!("{path}/");
        self.paths
            .range(prefix.clone()..)
            .next()
            .is_some_and(|p| p.starts_with(&prefix))
    }

    /// Tracked paths under folder `dir` (`` for all).
    pub fn under<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a String> + 'a {
        let prefix = match dir.trim_matches('/') {
            "" => String::new(),
            d => format!("{d}/"),
        };
        self.paths
            .range(prefix.clone()..)
            .take_while(move |p| p.starts_with(&prefix))
    }
}

/// Tracked files under a folder on disk that `.gitignore` names (of those `wanted` keeps, asked
/// first because the ignore test costs more): the disk walker skips them, yet the GitOps agent
/// applies them. Returns the files (as `dir` joined with the rest of the path); empty outside a
/// git repository.
pub fn tracked_ignored_under(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(repo) = Repository::discover(dir) else {
        return Vec::new();
    };
    let Some(workdir) = repo.workdir() else {
        return Vec::new();
    };
    let (Ok(root), Ok(here)) = (std::fs::canonicalize(workdir), std::fs::canonicalize(dir)) else {
        return Vec::new();
    };
    let Ok(rel) = here.strip_prefix(&root) else {
        return Vec::new();
    };
    let rel = rel.to_string_lossy().replace('\\', "/");
    let Ok(tracked) = Tracked::of(&repo) else {
        return Vec::new();
    };
    tracked
        .under(&rel)
        .filter(|p| wanted(p))
        .filter(|p| {
            repo.status_should_ignore(Path::new(p.as_str()))
                .unwrap_or(false)
        })
        .map(|p| {
            let rest = p[rel.len()..].trim_start_matches('/');
            dir.join(rest)
        })
        .collect()
}

/// A revision as the user named it and the commit it resolved to.
#[derive(Debug, Clone)]
pub struct Revision {
    pub name: String,
    pub commit: Oid,
}

impl Repo {
    /// Opens the repository containing the current folder.
    pub fn open_cwd() -> Result<Repo, InputError> {
        let cwd = std::env::current_dir().map_err(InputError::CurrentDir)?;
        Repo::open(&cwd)
    }

    /// Opens the repository containing `dir` (a bare repository has no working tree to compare
    /// against, so it is refused).
    pub fn open(dir: &Path) -> Result<Repo, InputError> {
        let repo = Repository::discover(dir).map_err(|source| InputError::NotARepository {
            dir: dir.to_path_buf(),
            source,
        })?;
        let workdir = repo.workdir().ok_or(InputError::BareRepository)?;
        let root = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
        let here = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let cwd_rel = here
            .strip_prefix(&root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let depth = cwd_rel.split('/').filter(|s| !s.is_empty()).count();
        Ok(Repo {
            repo: Mutex::new(repo),
            root,
            cwd_rel,
            display_prefix: "../".repeat(depth),
            tracked: std::sync::OnceLock::new(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The prefix that turns a repository path into one relative to the current folder.
    pub fn display_prefix(&self) -> &str {
        &self.display_prefix
    }

    /// Maps a path given on the command line (relative to the current folder) to a repository
    /// path; None when it leaves the repository.
    pub fn repo_path(&self, given: &str) -> Option<String> {
        let p = Path::new(given);
        if p.is_absolute() {
            let real = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            return real
                .strip_prefix(&self.root)
                .ok()
                .map(|r| r.to_string_lossy().replace('\\', "/"));
        }
        normalize(&self.cwd_rel, &given.replace('\\', "/"))
    }

    /// Resolves a revision to a commit. A missing commit in a shallow clone is explained with
    /// the fetch commands that fix it, never answered with a wrong tree.
    pub fn resolve(&self, rev: &str) -> Result<Revision, InputError> {
        let repo = self.lock();
        let found = repo.revparse_single(rev).and_then(|o| o.peel_to_commit());
        match found {
            Ok(c) => Ok(Revision {
                name: rev.to_string(),
                commit: c.id(),
            }),
            Err(source) if repo.is_shallow() => Err(InputError::Shallow {
                rev: rev.to_string(),
                source,
            }),
            Err(source) => Err(InputError::UnknownRevision {
                rev: rev.to_string(),
                source,
            }),
        }
    }

    /// The commit to compare against: the merge base of `base` and `head` (what a merge request
    /// diff shows, so commits added to the target branch since the MR branched are not shown as
    /// reverted by it). `head` None means the working tree, whose commit is `HEAD`.
    pub fn compare_base(
        &self,
        base: &Revision,
        head: Option<&Revision>,
    ) -> Result<Revision, InputError> {
        let repo = self.lock();
        let head_commit = match head {
            Some(h) => h.commit,
            None => match repo.head().ok().and_then(|h| h.peel_to_commit().ok()) {
                Some(c) => c.id(),
                // An unborn branch (no commit yet): nothing to find a merge base with.
                None => return Ok(base.clone()),
            },
        };
        match repo.merge_base(base.commit, head_commit) {
            Ok(oid) => Ok(Revision {
                name: if oid == base.commit {
                    base.name.clone()
                } else {
                    format!(
                        "merge-base({}, {})",
                        base.name,
                        head.map(|h| h.name.as_str()).unwrap_or("HEAD")
                    )
                },
                commit: oid,
            }),
            // A shallow history may hold both tips but not where they meet.
            Err(source) if repo.is_shallow() => Err(InputError::Shallow {
                rev: base.name.clone(),
                source,
            }),
            // Unrelated histories: compare the trees as they are.
            Err(_) => Ok(base.clone()),
        }
    }

    /// The repository paths a merge request changes, sorted: what differs between `base`'s
    /// tree and `head`'s (None: the working tree with its index and untracked files that git
    /// does not ignore). A rename counts both names.
    pub fn changed_paths(
        &self,
        base: &Revision,
        head: Option<&Revision>,
    ) -> Result<Vec<String>, InputError> {
        let repo = self.lock();
        let tree_of = |oid: Oid| {
            repo.find_commit(oid)
                .and_then(|c| c.tree())
                .map_err(|source| InputError::Tree {
                    tree: oid.to_string(),
                    source,
                })
        };
        let base_tree = tree_of(base.commit)?;
        let mut opts = git2::DiffOptions::new();
        let diff = match head {
            Some(h) => {
                repo.diff_tree_to_tree(Some(&base_tree), Some(&tree_of(h.commit)?), Some(&mut opts))
            }
            None => {
                opts.include_untracked(true).recurse_untracked_dirs(true);
                repo.diff_tree_to_workdir_with_index(Some(&base_tree), Some(&mut opts))
            }
        }
        .map_err(InputError::Compare)?;
        let mut out = std::collections::BTreeSet::new();
        for delta in diff.deltas() {
            for f in [delta.old_file(), delta.new_file()] {
                if let Some(p) = f.path().and_then(|p| p.to_str()) {
                    out.insert(p.replace('\\', "/"));
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// The number of commits from `base` to `head` (`HEAD` for the working tree); None when
    /// git cannot count them (an unborn branch, a shallow history).
    pub fn commits_between(&self, base: &Revision, head: Option<&Revision>) -> Option<usize> {
        let repo = self.lock();
        let head = match head {
            Some(h) => h.commit,
            None => repo.head().ok()?.peel_to_commit().ok()?.id(),
        };
        let mut walk = repo.revwalk().ok()?;
        walk.push(head).ok()?;
        walk.hide(base.commit).ok()?;
        let mut n = 0;
        for c in walk {
            c.ok()?;
            n += 1;
        }
        Some(n)
    }

    /// The tree of a commit as a file view.
    pub fn tree_fs(&self, rev: &Revision) -> Result<GitTreeFs, InputError> {
        let repo = self.lock();
        let commit = repo
            .find_commit(rev.commit)
            .map_err(|source| InputError::Commit {
                commit: rev.commit,
                source,
            })?;
        let tree_error = |source| InputError::Tree {
            tree: rev.name.clone(),
            source,
        };
        let tree = commit.tree().map_err(tree_error)?;
        let mut entries = BTreeMap::new();
        let mut dirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        dirs.insert(String::new(), Vec::new());
        tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
            let Ok(name) = entry.name() else {
                return TreeWalkResult::Skip;
            };
            let path = format!("{parent}{name}");
            let parent_key = parent.trim_end_matches('/').to_string();
            dirs.entry(parent_key).or_default().push(name.to_string());
            let e = match (entry.kind(), entry.filemode()) {
                (Some(ObjectType::Tree), _) => {
                    dirs.entry(path.clone()).or_default();
                    Entry::Dir
                }
                (_, MODE_GITLINK) => Entry::Submodule,
                (Some(ObjectType::Blob), MODE_SYMLINK) => Entry::Symlink(entry.id()),
                (Some(ObjectType::Blob), _) => Entry::File(entry.id()),
                _ => Entry::Submodule,
            };
            entries.insert(path, e);
            TreeWalkResult::Ok
        })
        .map_err(tree_error)?;
        for names in dirs.values_mut() {
            names.sort();
        }
        let git_dir = repo.path().to_path_buf();
        drop(tree);
        drop(commit);
        drop(repo);
        // A second handle: `GitTreeFs` owns its own so it can outlive `self` and be shared
        // across threads behind a mutex.
        let own = Repository::open(&git_dir).map_err(InputError::Reopen)?;
        Ok(GitTreeFs {
            repo: Mutex::new(own),
            entries,
            dirs,
            display_prefix: self.display_prefix.clone(),
            label: rev.name.clone(),
        })
    }

    /// The working tree as a file view (uncommitted edits included).
    pub fn worktree_fs(&self) -> WorkTreeFs {
        WorkTreeFs {
            disk: DiskFs::new(&self.root),
            display_prefix: self.display_prefix.clone(),
        }
    }

    /// Whether a working-tree path is left out as ignored: git ignores it *and* nothing under
    /// it is tracked. Flux and Argo CD apply every tracked file whatever `.gitignore` says, so
    /// `.gitignore` only hides untracked files (build output), never committed manifests.
    pub fn is_ignored(&self, path: &str) -> bool {
        let ignored = self
            .lock()
            .status_should_ignore(Path::new(path))
            .unwrap_or(false);
        ignored && !self.tracked().holds(path)
    }

    /// The paths in git's index (what is tracked in the working tree).
    fn tracked(&self) -> &Tracked {
        self.tracked
            .get_or_init(|| Tracked::of(&self.lock()).unwrap_or_default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Repository> {
        self.repo.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    File(Oid),
    Symlink(Oid),
    Dir,
    /// Submodules and anything else that is not content of this repository.
    Submodule,
}

/// A commit's tree, read from git objects. Symbolic links are followed only while they stay
/// inside the repository; others read as an error ("leads outside the repository").
pub struct GitTreeFs {
    repo: Mutex<Repository>,
    entries: BTreeMap<String, Entry>,
    dirs: BTreeMap<String, Vec<String>>,
    display_prefix: String,
    label: String,
}

impl GitTreeFs {
    /// The revision this tree belongs to, as the user named it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Follows symbolic links to the entry they name (inside the repository only).
    fn resolve(&self, path: &str) -> io::Result<(String, Entry)> {
        let mut current = path.trim_matches('/').to_string();
        for _ in 0..MAX_LINK_HOPS {
            if current.is_empty() {
                return Ok((current, Entry::Dir));
            }
            // A link may sit on a parent folder: resolve the first linked component.
            let mut linked = None;
            let parts: Vec<&str> = current.split('/').collect();
            for i in 1..=parts.len() {
                let prefix = parts[..i].join("/");
                match self.entries.get(&prefix) {
                    Some(Entry::Symlink(oid)) => {
                        linked = Some((prefix, *oid, parts[i..].join("/")));
                        break;
                    }
                    Some(_) => {}
                    None => {
                        return Err(io::Error::new(
                            io::ErrorKind::NotFound,
                            "no such file in this revision",
                        ))
                    }
                }
            }
            let Some((link_path, oid, rest)) = linked else {
                let e = *self.entries.get(&current).unwrap_or(&Entry::Submodule);
                return Ok((current, e));
            };
            let target = {
                let repo = self.repo.lock().unwrap_or_else(|e| e.into_inner());
                let blob = repo
                    .find_blob(oid)
                    .map_err(|e| io::Error::other(e.message().to_string()))?;
                String::from_utf8_lossy(blob.content()).into_owned()
            };
            let dir = link_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let resolved = normalize(dir, &target).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "symbolic link leads outside the repository",
                )
            })?;
            current = if rest.is_empty() {
                resolved
            } else {
                format!("{resolved}/{rest}")
            };
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "too many levels of symbolic links",
        ))
    }
}

impl Vfs for GitTreeFs {
    fn read(&self, path: &str, max: u64) -> io::Result<Vec<u8>> {
        let (_, entry) = self.resolve(path)?;
        let Entry::File(oid) = entry else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        };
        let repo = self.repo.lock().unwrap_or_else(|e| e.into_inner());
        let odb = repo
            .odb()
            .map_err(|e| io::Error::other(e.message().to_string()))?;
        let (size, _) = odb
            .read_header(oid)
            .map_err(|e| io::Error::other(e.message().to_string()))?;
        if size as u64 > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {max} bytes"),
            ));
        }
        let blob = repo
            .find_blob(oid)
            .map_err(|e| io::Error::other(e.message().to_string()))?;
        Ok(blob.content().to_vec())
    }

    fn is_dir(&self, path: &str) -> bool {
        matches!(self.resolve(path), Ok((_, Entry::Dir)))
    }

    fn is_file(&self, path: &str) -> bool {
        matches!(self.resolve(path), Ok((_, Entry::File(_))))
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let (real, entry) = self.resolve(path)?;
        match (entry, self.dirs.get(&real)) {
            (Entry::Dir, Some(names)) => Ok(names.clone()),
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a folder")),
        }
    }

    fn display(&self, path: &str) -> String {
        format!("{}{}", self.display_prefix, path)
    }

    fn content_id(&self, path: &str) -> Option<String> {
        match self.resolve(path) {
            Ok((_, Entry::File(oid))) => Some(oid.to_string()),
            _ => None,
        }
    }
}

/// The working tree on disk, shown relative to the current folder like the git trees.
pub struct WorkTreeFs {
    disk: DiskFs,
    display_prefix: String,
}

impl Vfs for WorkTreeFs {
    fn read(&self, path: &str, max: u64) -> io::Result<Vec<u8>> {
        self.disk.read(path, max)
    }
    fn is_dir(&self, path: &str) -> bool {
        self.disk.is_dir(path)
    }
    fn is_file(&self, path: &str) -> bool {
        self.disk.is_file(path)
    }
    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        self.disk.list_dir(path)
    }
    fn display(&self, path: &str) -> String {
        format!("{}{}", self.display_prefix, path)
    }
}

/// The base revision of the merge request a CI job runs for, from the CI's environment; None
/// outside a merge-request pipeline. `env` reads a variable (injected so tests need no globals).
pub fn ci_base(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let var = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    // GitLab merge-request pipelines: the merge base itself.
    if let Some(sha) = var("CI_MERGE_REQUEST_DIFF_BASE_SHA") {
        return Some(sha);
    }
    // GitHub pull_request events: the base commit from the event payload, else the base branch.
    if var("GITHUB_ACTIONS").is_some()
        || var("GITHUB_EVENT_PATH").is_some()
        || var("GITHUB_BASE_REF").is_some()
    {
        if let Some(path) = var("GITHUB_EVENT_PATH") {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&text) {
                    if let Some(sha) = event["pull_request"]["base"]["sha"].as_str() {
                        return Some(sha.to_string());
                    }
                }
            }
        }
        if let Some(branch) = var("GITHUB_BASE_REF") {
            return Some(format!("origin/{branch}"));
        }
    }
    None
}

/// Reads the process environment (the production `env` for [`ci_base`]).
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn ci_base_from_gitlab_and_github() {
        assert_eq!(
            ci_base(&env_of(&[("CI_MERGE_REQUEST_DIFF_BASE_SHA", "abc123")])).as_deref(),
            Some("abc123")
        );
        assert_eq!(
            ci_base(&env_of(&[("GITHUB_BASE_REF", "main")])).as_deref(),
            Some("origin/main")
        );
        assert_eq!(ci_base(&env_of(&[("GITHUB_BASE_REF", "")])), None);
        assert_eq!(ci_base(&env_of(&[])), None);
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(&event, r#"{"pull_request":{"base":{"sha":"0123abcd"}}}"#).unwrap();
        let path = event.to_string_lossy().to_string();
        assert_eq!(
            ci_base(&env_of(&[
                ("GITHUB_EVENT_PATH", path.as_str()),
                ("GITHUB_BASE_REF", "main")
            ]))
            .as_deref(),
            Some("0123abcd")
        );
    }
}

#[cfg(test)]
mod tree_tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// The typed errors print the text users saw when they were strings: git's message without
    /// its `; class=…; code=…` suffix, and the structured fields in place.
    #[test]
    fn errors_keep_their_text() {
        let outside = tempfile::tempdir().unwrap();
        let Err(e) = Repo::open(outside.path()) else {
            // A temporary folder inside some checkout: nothing to check here.
            return;
        };
        assert!(matches!(e, InputError::NotARepository { .. }));
        let text = e.to_string();
        let prefix = format!(
            "--base needs a git repository, and {} is not inside one: ",
            outside.path().display()
        );
        assert!(text.starts_with(&prefix), "{text}");
        assert!(!text.contains("class="), "{text}");
        assert!(std::error::Error::source(&e).is_some());

        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        std::fs::write(dir.path().join("a.yaml"), "a: 1\n").unwrap();
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-q", "-m", "one"]);
        let repo = Repo::open(dir.path()).unwrap();
        let e = repo.resolve("no-such-branch").unwrap_err();
        assert!(matches!(&e, InputError::UnknownRevision { rev, .. } if rev == "no-such-branch"));
        let text = e.to_string();
        assert!(
            text.starts_with("cannot find revision `no-such-branch` in this repository: ")
                && text.ends_with(" (fetch it first, e.g. `git fetch origin <branch>`)")
                && !text.contains("class="),
            "{text}"
        );
        assert_eq!(String::from(e), text);
    }

    #[cfg(unix)]
    #[test]
    fn git_tree_reads_blobs_lists_folders_and_refuses_links_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(root.join("shared")).unwrap();
        std::fs::create_dir_all(root.join("apps/web")).unwrap();
        std::fs::write(root.join("shared/cm.yaml"), "kind: ConfigMap\n").unwrap();
        std::fs::write(root.join("apps/web/a.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink("../shared/cm.yaml", root.join("apps/link.yaml")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("apps/abs.yaml")).unwrap();
        std::os::unix::fs::symlink("../../outside.yaml", root.join("apps/up.yaml")).unwrap();
        std::os::unix::fs::symlink("../shared", root.join("apps/shared")).unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "one"]);
        // An uncommitted edit is not in the revision.
        std::fs::write(root.join("apps/web/a.yaml"), "a: 2\n").unwrap();

        let repo = Repo::open(root).unwrap();
        let rev = repo.resolve("HEAD").unwrap();
        let fs = repo.tree_fs(&rev).unwrap();
        assert_eq!(fs.read("apps/web/a.yaml", 100).unwrap(), b"a: 1\n");
        assert_eq!(
            repo.worktree_fs().read("apps/web/a.yaml", 100).unwrap(),
            b"a: 2\n"
        );
        assert_eq!(
            fs.list_dir("apps").unwrap(),
            ["abs.yaml", "link.yaml", "shared", "up.yaml", "web"]
        );
        assert_eq!(fs.list_dir("").unwrap(), ["apps", "shared"]);
        assert!(fs.is_dir("apps/web") && !fs.is_file("apps/web") && fs.is_file("apps/web/a.yaml"));
        // A link inside the repository is followed, also through a linked folder.
        assert_eq!(
            fs.read("apps/link.yaml", 100).unwrap(),
            b"kind: ConfigMap\n"
        );
        assert_eq!(
            fs.read("apps/shared/cm.yaml", 100).unwrap(),
            b"kind: ConfigMap\n"
        );
        assert!(fs.is_dir("apps/shared"));
        for out in ["apps/abs.yaml", "apps/up.yaml"] {
            let e = fs.read(out, 100).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{out}");
        }
        assert_eq!(
            fs.read("apps/web/a.yaml", 2).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(
            fs.read("nope.yaml", 100).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(fs.content_id("apps/web/a.yaml").map(|s| s.len()), Some(40));
        // Paths from a sub-folder map onto repository paths.
        let sub = Repo::open(&root.join("apps/web")).unwrap();
        assert_eq!(sub.repo_path(".").as_deref(), Some("apps/web"));
        assert_eq!(sub.repo_path("../../shared").as_deref(), Some("shared"));
        assert_eq!(sub.repo_path("../../.."), None);
        assert_eq!(sub.display_prefix(), "../../");
    }
}
