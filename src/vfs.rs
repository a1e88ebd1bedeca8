//! A read-only view of a repository's files: the working tree on disk or a git revision's tree.
//! Rendering and merge-request mode read through it, so both revisions are handled alike.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Paths are relative to the repository root, `/`-separated, without `..` (callers normalise
/// with [`normalize`] and treat an escape as a finding).
pub trait Vfs: Sync + Send {
    /// The bytes of a regular file (at most `max` bytes; larger is an error).
    fn read(&self, path: &str, max: u64) -> io::Result<Vec<u8>>;
    fn is_dir(&self, path: &str) -> bool;
    fn is_file(&self, path: &str) -> bool;
    /// Entry names of a folder, sorted.
    fn list_dir(&self, path: &str) -> io::Result<Vec<String>>;
    /// How paths are shown to the user (e.g. the root folder prefix).
    fn display(&self, path: &str) -> String;
    /// An id that is equal for equal contents of a path, when the view knows one without reading
    /// the file (a git blob id). Lets a comparison of two revisions skip identical files.
    fn content_id(&self, _path: &str) -> Option<String> {
        None
    }
}

/// Joins `rel` onto folder `base` and normalises `.`/`..`; None if the result leaves the root
/// or `rel` is absolute.
pub fn normalize(base: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || Path::new(rel).is_absolute() {
        return None;
    }
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    for comp in rel.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// The working tree on disk under `root`. Symbolic links that resolve outside `root` are refused.
pub struct DiskFs {
    root: PathBuf,
    canonical_root: PathBuf,
    display_prefix: String,
    /// Folders already resolved (real paths): a tree of thousands of files has few folders,
    /// and resolving every file's whole path costs a system call per component.
    folders: std::sync::Mutex<std::collections::HashMap<PathBuf, Option<PathBuf>>>,
}

impl DiskFs {
    pub fn new(root: impl Into<PathBuf>) -> DiskFs {
        let root = root.into();
        let canonical_root = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        let display_prefix = {
            let s = root.to_string_lossy().to_string();
            if s == "." || s.is_empty() {
                String::new()
            } else {
                format!("{}/", s.trim_end_matches('/').trim_start_matches("./"))
            }
        };
        DiskFs {
            root,
            canonical_root,
            display_prefix,
            folders: Default::default(),
        }
    }

    /// The real path of `p`: its folder's (resolved once per folder), joined with its name
    /// when that is no symbolic link; else resolved whole.
    fn real_path(&self, p: &Path) -> io::Result<PathBuf> {
        let (Some(folder), Some(name)) = (p.parent(), p.file_name()) else {
            return std::fs::canonicalize(p);
        };
        if std::fs::symlink_metadata(p)?.file_type().is_symlink() {
            return std::fs::canonicalize(p);
        }
        let real_folder = {
            let mut folders = self.folders.lock().unwrap_or_else(|e| e.into_inner());
            folders
                .entry(folder.to_path_buf())
                .or_insert_with(|| std::fs::canonicalize(folder).ok())
                .clone()
        };
        match real_folder {
            Some(f) => Ok(f.join(name)),
            None => std::fs::canonicalize(p),
        }
    }

    fn resolve(&self, path: &str) -> io::Result<PathBuf> {
        let p = self.root.join(path);
        if Path::new(path).components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        }) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "path leaves the repository",
            ));
        }
        let real = self.real_path(&p)?;
        if !real.starts_with(&self.canonical_root) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "symbolic link leads outside the repository",
            ));
        }
        // A link into `.git` (which a CI checkout leaves credentials in) is refused like one
        // that leaves the repository.
        let inside = real.strip_prefix(&self.canonical_root).unwrap_or(&real);
        if inside.components().any(|c| c.as_os_str() == ".git") {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "path leads into the .git folder",
            ));
        }
        Ok(real)
    }
}

impl Vfs for DiskFs {
    fn read(&self, path: &str, max: u64) -> io::Result<Vec<u8>> {
        let real = self.resolve(path)?;
        crate::read_guard::read_bounded(&real, max)
    }

    fn is_dir(&self, path: &str) -> bool {
        self.resolve(path).map(|p| p.is_dir()).unwrap_or(false)
    }

    fn is_file(&self, path: &str) -> bool {
        // One stat first: most probes (a folder's `kustomization.yaml`, `.yml`, `Kustomization`)
        // find nothing, and a path that is no file after following links is no file after
        // resolving them either; only a file pays for the real path (a lstat per component).
        if !self.root.join(path).is_file() {
            return false;
        }
        self.resolve(path).map(|p| p.is_file()).unwrap_or(false)
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let real = self.resolve(path)?;
        let mut names: Vec<String> = std::fs::read_dir(real)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn display(&self, path: &str) -> String {
        format!("{}{}", self.display_prefix, path)
    }
}

/// An in-memory tree: repository path → bytes. Fuzz targets and tests build a repository
/// without touching the disk; folders are implied by the files under them.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }

    /// Adds (or replaces) a file; `path` is normalised, and one that leaves the root is refused.
    pub fn insert(&mut self, path: &str, bytes: impl Into<Vec<u8>>) -> bool {
        match normalize("", path) {
            Some(p) if !p.is_empty() => {
                self.files.insert(p, bytes.into());
                true
            }
            _ => false,
        }
    }
}

impl Vfs for MemFs {
    fn read(&self, path: &str, max: u64) -> io::Result<Vec<u8>> {
        let bytes = self
            .files
            .get(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))?;
        if bytes.len() as u64 > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {max} bytes"),
            ));
        }
        Ok(bytes.clone())
    }

    fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || {
            let prefix = format!("{path}/");
            self.files
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&prefix))
        }
    }

    fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        if !self.is_dir(path) {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such folder"));
        }
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let mut names: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| {
                k[prefix.len()..]
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        names.dedup();
        Ok(names)
    }

    fn display(&self, path: &str) -> String {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_refuses_escapes() {
        assert_eq!(
            normalize("apps/web", "../base").as_deref(),
            Some("apps/base")
        );
        assert_eq!(normalize("", "a/./b").as_deref(), Some("a/b"));
        assert_eq!(normalize("apps", "../../etc/passwd"), None);
        assert_eq!(normalize("apps", "/etc/passwd"), None);
    }

    #[test]
    fn mem_fs_lists_folders_implied_by_files() {
        let mut fs = MemFs::new();
        assert!(fs.insert("apps/web/kustomization.yaml", "resources: []"));
        assert!(fs.insert("apps/web/deploy.yaml", "kind: Deployment"));
        assert!(fs.insert("apps/api.yaml", "kind: Service"));
        assert!(!fs.insert("../escape.yaml", "x"));
        assert!(!fs.insert("", "x"));
        assert_eq!(fs.list_dir("").unwrap(), vec!["apps"]);
        assert_eq!(fs.list_dir("apps").unwrap(), vec!["api.yaml", "web"]);
        assert!(fs.is_dir("apps/web") && !fs.is_dir("apps/we"));
        assert!(fs.is_file("apps/api.yaml") && !fs.is_file("apps"));
        assert!(fs.read("apps/api.yaml", 3).is_err());
        assert_eq!(fs.read("apps/api.yaml", 100).unwrap(), b"kind: Service");
    }
}
