//! The one guarded read path for every file kgate reads from disk (manifests, policies, `--data`,
//! the config, CRDs, schema folders, Gatekeeper templates and suites, merge inputs): regular
//! files only (a FIFO, a device such as `/dev/zero` or a socket is refused before it is opened),
//! at most `max` bytes (checked before and while reading), and — under a [`ReadRoot`] — only
//! files whose real path stays inside the root, so a symbolic link cannot lead a run out of the
//! repository. Folder walks go through [`ReadRoot::walk`], which reports every folder it cannot
//! read instead of skipping it.

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Folder depth beyond which a walk stops (a link loop cannot hang the run).
const MAX_WALK_DEPTH: usize = 64;

/// `O_NONBLOCK`: opening a FIFO that appeared after the type check must not wait for a writer.
#[cfg(target_os = "linux")]
const OPEN_NONBLOCK: i32 = 0o4000;
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
const OPEN_NONBLOCK: i32 = 0x0004;

fn open_no_wait(path: &Path) -> io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(any(
        target_os = "linux",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    ))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(OPEN_NONBLOCK);
    }
    o.open(path)
}

/// The error of a file over the size limit; [`is_too_large`] recognises it.
fn too_large(max: u64, len: Option<u64>) -> io::Error {
    let msg = match len {
        Some(len) => format!("larger than {max} bytes (the file is {len} bytes)"),
        None => format!("larger than {max} bytes (it grew while read)"),
    };
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Whether `e` is the size-limit refusal of this module (or of a [`crate::vfs::Vfs`]).
pub fn is_too_large(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidData && e.to_string().starts_with("larger than")
}

/// Reads a regular file of at most `max` bytes. Symbolic links are followed (callers that must
/// stay inside a folder use [`ReadRoot::read`]).
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    if meta.len() > max {
        return Err(too_large(max, Some(meta.len())));
    }
    let file = open_no_wait(path)?;
    // The file may have been swapped between the check and the open.
    let opened = file.metadata()?;
    if !opened.is_file() {
        return Err(not_regular());
    }
    let mut buf = Vec::with_capacity(opened.len().min(max) as usize);
    file.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(too_large(max, None));
    }
    Ok(buf)
}

fn not_regular() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "not a regular file (a device, FIFO or socket); it was not read",
    )
}

fn outside() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "symbolic link leads outside the repository",
    )
}

/// A folder that reads must stay inside (after resolving symbolic links).
#[derive(Debug, Clone)]
pub struct ReadRoot {
    canonical: PathBuf,
}

impl ReadRoot {
    /// Reads are confined to `root` itself.
    pub fn new(root: &Path) -> ReadRoot {
        ReadRoot {
            canonical: std::fs::canonicalize(root).unwrap_or_else(|_| absolute(root)),
        }
    }

    /// The root a path the user or a config named is read under: the git repository holding it
    /// (found from the path as written, so a link in the repository that leads out of it is
    /// refused), else the named folder itself (the folder of a named file).
    pub fn for_path(given: &Path) -> ReadRoot {
        let abs = absolute(given);
        let mut cur: Option<&Path> = Some(abs.as_path());
        while let Some(p) = cur {
            if p.join(".git").exists() {
                return ReadRoot::new(p);
            }
            cur = p.parent();
        }
        let real = std::fs::canonicalize(&abs).unwrap_or(abs);
        if real.is_dir() {
            ReadRoot { canonical: real }
        } else {
            ReadRoot {
                canonical: real.parent().map(Path::to_path_buf).unwrap_or(real),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.canonical
    }

    /// The real path of `path`, if it stays inside the root.
    fn confine(&self, path: &Path) -> io::Result<PathBuf> {
        let real = std::fs::canonicalize(path)?;
        if real.starts_with(&self.canonical) {
            Ok(real)
        } else {
            Err(outside())
        }
    }

    /// Reads a regular file inside the root, at most `max` bytes.
    pub fn read(&self, path: &Path, max: u64) -> io::Result<Vec<u8>> {
        let real = self.confine(path)?;
        read_bounded(&real, max)
    }

    /// [`ReadRoot::read`] as UTF-8 text.
    pub fn read_text(&self, path: &Path, max: u64) -> io::Result<String> {
        String::from_utf8(self.read(path, max)?)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
    }

    /// The files under `given` (a file is taken as is) whose extension is one of `exts`,
    /// sorted; hidden entries are skipped. Every folder or link that cannot be read, and every
    /// link that leaves the root, is returned with why — never skipped in silence.
    pub fn walk(&self, given: &Path, exts: &[&str]) -> Walk {
        let mut out = Walk::default();
        match std::fs::metadata(given) {
            Err(e) => {
                out.problems.push((given.to_path_buf(), e));
                return out;
            }
            Ok(m) if !m.is_dir() => {
                out.files.push(given.to_path_buf());
                return out;
            }
            Ok(_) => {}
        }
        let mut seen = BTreeSet::new();
        let mut stack = vec![(given.to_path_buf(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let real = match self.confine(&dir) {
                Ok(r) => r,
                Err(e) => {
                    out.problems.push((dir, e));
                    continue;
                }
            };
            // A link back to a folder already walked is a loop: walked once.
            if !seen.insert(real) {
                continue;
            }
            if depth > MAX_WALK_DEPTH {
                out.problems.push((
                    dir,
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "folders nested too deep; not followed",
                    ),
                ));
                continue;
            }
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) => {
                    out.problems.push((dir, e));
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        out.problems.push((dir.clone(), e));
                        continue;
                    }
                };
                let name = entry.file_name().to_string_lossy().to_string();
                if name.starts_with('.') {
                    continue;
                }
                let p = entry.path();
                let wanted = p.extension().is_some_and(|x| exts.iter().any(|e| x == *e));
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_dir() => stack.push((p, depth + 1)),
                    // Non-regular files are refused when read, with the reason.
                    Ok(_) if wanted => out.files.push(p),
                    Ok(_) => {}
                    // A dangling link with a wanted name is a file the user meant to be read.
                    Err(e) if wanted => out.problems.push((p, e)),
                    Err(_) => {}
                }
            }
        }
        out.files.sort();
        out.problems.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// What [`ReadRoot::walk`] found.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<PathBuf>,
    /// Paths that could not be walked or read, with why.
    pub problems: Vec<(PathBuf, io::Error)>,
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Reads a file a user or config named (its root from [`ReadRoot::for_path`]).
pub fn read_named(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    ReadRoot::for_path(path).read(path, max)
}

/// [`read_named`] as UTF-8 text.
pub fn read_named_text(path: &Path, max: u64) -> io::Result<String> {
    ReadRoot::for_path(path).read_text(path, max)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_fifos_links_out_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::create_dir(root.join("policy")).unwrap();
        std::fs::write(root.join("policy/ok.rego"), "package a\n").unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.join("policy/zero.rego")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("policy/out.rego")).unwrap();
        std::os::unix::fs::symlink("ok.rego", root.join("policy/in.rego")).unwrap();
        std::os::unix::fs::symlink("..", root.join("policy/loop")).unwrap();
        let fifo = root.join("policy/fifo.rego");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let r = ReadRoot::for_path(&root.join("policy"));
        assert_eq!(r.path(), std::fs::canonicalize(root).unwrap());
        assert_eq!(
            r.read(&root.join("policy/ok.rego"), 100).unwrap(),
            b"package a\n"
        );
        assert_eq!(
            r.read(&root.join("policy/in.rego"), 100).unwrap(),
            b"package a\n"
        );
        for (name, kind) in [
            ("zero.rego", io::ErrorKind::PermissionDenied),
            ("out.rego", io::ErrorKind::PermissionDenied),
        ] {
            assert_eq!(
                r.read(&root.join("policy").join(name), 100)
                    .unwrap_err()
                    .kind(),
                kind
            );
        }
        // Without a root, the file type still refuses the device and the FIFO.
        assert_eq!(
            read_bounded(Path::new("/dev/zero"), 100)
                .unwrap_err()
                .kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            r.read(&fifo, 100).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(is_too_large(
            &r.read(&root.join("policy/ok.rego"), 3).unwrap_err()
        ));
        // The walk lists the files (the loop once), and names what it could not read.
        let w = r.walk(&root.join("policy"), &["rego"]);
        let names: Vec<String> = w
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"policy/ok.rego".to_string()), "{names:?}");
        assert!(names.contains(&"policy/zero.rego".to_string()), "{names:?}");
        assert!(w.files.len() < 20, "the loop was walked once: {names:?}");
    }

    #[test]
    fn an_unreadable_folder_is_a_problem_not_a_skip() {
        let dir = tempfile::tempdir().unwrap();
        let r = ReadRoot::new(dir.path());
        let w = r.walk(&dir.path().join("missing"), &["rego"]);
        assert!(w.files.is_empty());
        assert_eq!(w.problems.len(), 1);
        std::os::unix::fs::symlink("/etc", dir.path().join("out")).unwrap();
        let w = r.walk(dir.path(), &["rego"]);
        assert_eq!(w.problems.len(), 1, "{:?}", w.problems);
        assert_eq!(w.problems[0].1.kind(), io::ErrorKind::PermissionDenied);
    }
}
