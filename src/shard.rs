//! Sharding (`--shard I/N`): splits one run over N CI jobs, deterministically, by unit.
//!
//! A unit is what must stay together: the shallowest folder under a checked root that holds a
//! kustomization (so an overlay and everything below it are never split), else the top-level
//! folder under the root, else the file itself. Units are assigned by a stable hash of their path,
//! so every job computes the same split without talking to the others. CRDs are schema sources
//! for the whole run: each shard still reads the CRDs of the other shards' files (only files that
//! mention `CustomResourceDefinition` are parsed for that) but reports nothing about them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::discover::{self, DiscoverOptions};
use crate::input_error::InputError;
use crate::load::Loaded;
use crate::source::Files;
use crate::yaml::Limits;

/// Shard `index` of `total`, 1-based (`--shard 2/4`; GitLab's `CI_NODE_INDEX/CI_NODE_TOTAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

/// Why a sharded run could not start: a `--shard` value that is no shard, or the walk's own
/// errors. (`kgate merge`'s are [`crate::merge::MergeError`]: merging writes reports, so it
/// sits above the output layer, which itself reads `--shard`.)
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("`{given}` is not a shard: use I/N with 1 <= I <= N, e.g. 2/4")]
    NotAShard { given: String },

    #[error(transparent)]
    Input(#[from] InputError),
}

/// The run layer still speaks `String` errors: `?` converts.
impl From<ShardError> for String {
    fn from(e: ShardError) -> String {
        e.to_string()
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError::NotAShard {
            given: s.to_string(),
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let total: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || total == 0 || index > total {
            return Err(bad());
        }
        Ok(Shard { index, total })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// File names that make a folder a kustomization root.
const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn display(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// Finds units, remembering which folders are kustomization roots.
#[derive(Default)]
pub struct Units {
    is_kustomization: HashMap<PathBuf, bool>,
}

impl Units {
    fn has_kustomization(&mut self, dir: &Path) -> bool {
        *self
            .is_kustomization
            .entry(dir.to_path_buf())
            .or_insert_with(|| KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()))
    }

    /// The unit of `file`, found under the checked folder `root` (None: given by name).
    pub fn unit_of(&mut self, root: Option<&Path>, file: &Path) -> String {
        let Some(root) = root else {
            // A file named on the command line: its folder if that is a kustomization.
            return match file.parent() {
                Some(dir) if self.has_kustomization(dir) => display(dir),
                _ => display(file),
            };
        };
        let rel = file.strip_prefix(root).unwrap_or(file);
        let dirs: Vec<_> = rel
            .parent()
            .map(|p| p.components().collect())
            .unwrap_or_default();
        let mut dir = root.to_path_buf();
        if self.has_kustomization(&dir) {
            return display(&dir);
        }
        for c in &dirs {
            dir.push(c);
            if self.has_kustomization(&dir) {
                return display(&dir);
            }
        }
        match dirs.first() {
            Some(top) => display(&root.join(top)),
            None => display(file),
        }
    }
}

/// The shard (1-based) a unit belongs to: SHA-256 of the unit path, modulo the shard count.
pub fn shard_of(unit: &str, total: u32) -> u32 {
    let digest = Sha256::digest(unit.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(total)) as u32 + 1
}

/// The checked folder a discovered file was found under, if any.
fn root_of<'a>(roots: &'a [PathBuf], file: &Path) -> Option<&'a Path> {
    roots
        .iter()
        .find(|r| file.starts_with(r))
        .map(PathBuf::as_path)
}

/// What one shard loads: its own files, and the CRDs found in everyone else's.
pub struct ShardLoad {
    pub loaded: Loaded,
    pub file_count: usize,
    /// Objects from other shards' files that may be CRDs (schema sources only), Flux
    /// Kustomizations or Argo CD Applications (they shape the unit graph; another shard renders
    /// them), or what this shard's units read (ConfigMaps, Secrets, Flux sources). Never
    /// checked or reported here.
    pub foreign: Loaded,
    /// Display paths of every file of the run, in every shard (the unit graph is the run's).
    pub all_files: Vec<String>,
    /// Display paths of the other shards' files loaded into `foreign`.
    pub foreign_files: Vec<String>,
    /// Display paths of this shard's own files: only these are reported on (as inputs of a
    /// unit, for instance), so that each file is reported by exactly one shard.
    pub own_files: BTreeSet<String>,
}

/// Whether shard `shard` renders the kustomization root whose kustomization file has this
/// display path: the shard of the file's unit, so that a root is rendered where its
/// kustomization file is loaded.
pub fn owner(paths: &[String], shard: Shard) -> impl Fn(&str) -> bool + Sync {
    let roots: Vec<PathBuf> = paths
        .iter()
        .filter(|p| *p != "-" && Path::new(p).is_dir())
        .map(PathBuf::from)
        .collect();
    let units = std::sync::Mutex::new(Units::default());
    move |kfile: &str| {
        let p = PathBuf::from(kfile);
        let unit = units
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unit_of(root_of(&roots, &p), &p);
        shard_of(&unit, shard.total) == shard.index
    }
}

/// Discovers like an unsharded run, then loads this shard's files fully and the other files
/// only when they may hold a CRD.
pub fn load_sharded(
    files: &Files,
    paths: &[String],
    opts: &DiscoverOptions,
    limits: &Limits,
    shard: Shard,
) -> Result<ShardLoad, ShardError> {
    let mut found = discover::discover(paths, opts)?;
    // Skipped files keep only their display path; their unit is computed from the real path,
    // exactly as for loaded files (`./x/a.yaml` and `x/a.yaml` are different units otherwise).
    let real_paths: HashMap<String, PathBuf> = found.files.iter().cloned().collect();
    let mut skipped = Loaded::default();
    crate::gather::skip_templates(
        &mut found.files,
        |(d, _)| d,
        &str::to_string,
        &|p| Path::new(p).is_file(),
        &mut skipped,
    );
    let roots: Vec<PathBuf> = paths
        .iter()
        .filter(|p| *p != "-" && Path::new(p).is_dir())
        .map(PathBuf::from)
        .collect();
    let all_files: Vec<String> = found.files.iter().map(|(d, _)| d.clone()).collect();
    let mut units = Units::default();
    let mut mine = Vec::new();
    let mut others = Vec::new();
    for (display_path, path) in found.files {
        let unit = units.unit_of(root_of(&roots, &path), &path);
        if shard_of(&unit, shard.total) == shard.index {
            mine.push((display_path, path));
        } else {
            others.push((display_path, path));
        }
    }
    let mine_set: HashSet<&str> = mine.iter().map(|(d, _)| d.as_str()).collect();
    let own_files: BTreeSet<String> = mine_set.iter().map(|d| d.to_string()).collect();
    let mut loaded = Loaded::default();
    // Walk problems belong to the shard of the path they are about; run-level ones to all.
    for d in found.diagnostics {
        let keep = d.file.is_empty() || mine_set.contains(d.file.as_str()) || {
            let p = real_paths
                .get(&d.file)
                .cloned()
                .unwrap_or_else(|| PathBuf::from(&d.file));
            shard_of(&units.unit_of(root_of(&roots, &p), &p), shard.total) == shard.index
        };
        if keep {
            loaded.diagnostics.push(d);
        }
    }
    // Template files are skipped by the shard of their unit, and counted there as read.
    let mut file_count = mine.len();
    for sk in skipped.skipped {
        let p = real_paths
            .get(&sk.file)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(&sk.file));
        if shard_of(&units.unit_of(root_of(&roots, &p), &p), shard.total) == shard.index {
            file_count += 1;
            loaded.skipped.push(sk);
        }
    }
    // The memory target bounds this process, so it admits this shard's own files, in path
    // order, as an unsharded run admits all of them.
    crate::gather::admit_by_disk_size(&mut mine, opts, &mut loaded);
    let per_file: Vec<Loaded> = mine
        .par_iter()
        .map(|(display_path, path)| {
            let bytes = discover::read_file(display_path, path, opts.max_file_size);
            crate::gather::load_bytes(files, display_path, bytes, limits)
        })
        .collect();
    for l in per_file {
        loaded.extend(l);
    }
    if found.stdin && shard.index == 1 {
        file_count += 1;
        let bytes = discover::read_stdin(opts.max_file_size);
        loaded.extend(crate::gather::load_bytes(
            files,
            discover::STDIN_NAME,
            bytes,
            limits,
        ));
    }
    let foreign_parts: Vec<(String, Loaded)> = others
        .par_iter()
        .filter_map(|(display_path, path)| {
            let bytes = discover::read_file(display_path, path, opts.max_file_size).ok()?;
            // CRDs are schema sources; Flux Kustomizations and Argo CD Applications are units
            // that decide what the other shards render and consume; whatever deploys a chart of
            // the repository (HelmReleases, Applications, kustomizations' helmCharts); and what a
            // unit of this shard may read there: ConfigMaps and Secrets (substituteFrom,
            // valuesFrom), Flux sources (a HelmRelease's chart source).
            const WANTED: &[&[u8]] = &[
                b"CustomResourceDefinition",
                b"kustomize.toolkit.fluxcd.io",
                b"helm.toolkit.fluxcd.io",
                b"argoproj.io",
                b"helmCharts",
                b"source.toolkit.fluxcd.io",
                b"ConfigMap",
                b"Secret",
            ];
            if !WANTED.iter().any(|w| contains(&bytes, w)) {
                return None;
            }
            let mut l = crate::gather::load_bytes(files, display_path, Ok(bytes), limits);
            // Only the objects matter here; their file's findings are another shard's to report.
            l.diagnostics.clear();
            l.skipped.clear();
            Some((display_path.clone(), l))
        })
        .collect();
    let mut foreign = Loaded::default();
    let mut foreign_files = Vec::new();
    for (path, l) in foreign_parts {
        foreign_files.push(path);
        foreign.extend(l);
    }
    Ok(ShardLoad {
        loaded,
        file_count,
        foreign,
        all_files,
        foreign_files,
        own_files,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_shards() {
        assert_eq!(
            "2/4".parse::<Shard>().ok(),
            Some(Shard { index: 2, total: 4 })
        );
        assert_eq!(
            "x".parse::<Shard>().unwrap_err().to_string(),
            "`x` is not a shard: use I/N with 1 <= I <= N, e.g. 2/4"
        );
        assert!("0/4".parse::<Shard>().is_err());
        assert!("5/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn hash_assignment_is_stable_and_in_range() {
        for total in 1..8 {
            for unit in ["apps", "clusters/prod", "infra/base", "a.yaml"] {
                let s = shard_of(unit, total);
                assert!((1..=total).contains(&s));
                assert_eq!(s, shard_of(unit, total));
            }
        }
        // Pinned (computed independently): a change of the hash would reshuffle every user's
        // CI matrix between versions.
        assert_eq!(shard_of("apps", 4), 3);
        assert_eq!(shard_of("clusters/prod", 4), 4);
        let spread: HashSet<u32> = (0..64).map(|i| shard_of(&format!("unit-{i}"), 4)).collect();
        assert_eq!(spread.len(), 4);
    }

    #[test]
    fn units_keep_kustomizations_together() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "apps/web/overlays/prod/kustomization.yaml",
            "apps/web/overlays/prod/patch.yaml",
            "apps/web/overlays/prod/sub/x.yaml",
            "apps/loose/a.yaml",
            "top.yaml",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "a: 1\n").unwrap();
        }
        let mut u = Units::default();
        let unit = |u: &mut Units, f: &str| u.unit_of(Some(root), &root.join(f));
        let prod = display(&root.join("apps/web/overlays/prod"));
        assert_eq!(unit(&mut u, "apps/web/overlays/prod/patch.yaml"), prod);
        assert_eq!(unit(&mut u, "apps/web/overlays/prod/sub/x.yaml"), prod);
        assert_eq!(
            unit(&mut u, "apps/loose/a.yaml"),
            display(&root.join("apps"))
        );
        assert_eq!(unit(&mut u, "top.yaml"), display(&root.join("top.yaml")));
    }
}
