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
        let real = std::fs::canonicalize(&p)?;
        if !real.starts_with(&self.canonical_root) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "symbolic link leads outside the repository",
            ));
        }
        Ok(real)
    }
}

impl Vfs for DiskFs {
    fn read(&self, path: &str, max: u64) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let real = self.resolve(path)?;
        let meta = std::fs::metadata(&real)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        if meta.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {max} bytes"),
            ));
        }
        let mut buf = Vec::new();
        std::fs::File::open(&real)?
            .take(max + 1)
            .read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn is_dir(&self, path: &str) -> bool {
        self.resolve(path).map(|p| p.is_dir()).unwrap_or(false)
    }

    fn is_file(&self, path: &str) -> bool {
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
}
