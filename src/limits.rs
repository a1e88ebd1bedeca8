//! The run's resource limits: file size, documents per file, nodes and nesting per document,
//! policy evaluation time per object, and the total memory target. One place parses them from
//! the command line (`--max-file-size 64Mi`, `--policy-timeout 2s`) and `.kgate.yaml`
//! (`max_file_size: 64Mi`), resolves them (flags win) and documents what each one bounds.
//!
//! Hitting a limit is always a finding that names the limit (`file/too-large`, `yaml/limit`,
//! `policy/timeout`, `limit/memory-target`), never an abort of the run and never a silent pass.

use std::time::Duration;

use clap::Args;

use crate::input_error::InputError;

/// Default `--max-file-size`: one file larger than this is refused unread.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 32 * 1024 * 1024;
/// Default `--policy-timeout`: wall-clock time the Rego policies may spend on one object.
pub const DEFAULT_POLICY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `--max-rendered-objects`: objects one kustomization or Flux Kustomization may render.
pub const DEFAULT_MAX_RENDERED_OBJECTS: usize = 50_000;
/// Default `--max-rendered-nodes`: nodes (mapping entries, list items, scalars) of one rendered
/// object, the same bound a single YAML document has by default (`--max-nodes`).
pub const DEFAULT_MAX_RENDERED_NODES: usize = 1_000_000;
/// Default `--memory-target`.
pub const DEFAULT_MEMORY_TARGET: u64 = 8 * 1024 * 1024 * 1024;
/// How many bytes of memory one byte of loaded YAML costs at peak, as the memory target
/// estimates it: the text itself, the span-keeping tree, the JSON value, the rendered copy and
/// the policy engine's input. Measured on a 7 MB file of 20,000 Deployments (debug build):
/// ~320 MB peak without policies, ~620 MB with the built-in pack, so 64 is an estimate of the
/// usual case, not a guarantee.
pub const MEMORY_PER_YAML_BYTE: u64 = 64;

/// The limit flags shared by `check` and `diff`. Unset flags fall back to `.kgate.yaml`, then
/// to the defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Largest file read, in bytes (suffixes k, M, G, Ki, Mi, Gi) [default: 32Mi].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// Most YAML documents read from one file [default: 100000].
    #[arg(long, value_name = "N")]
    pub max_documents: Option<usize>,

    /// Most nodes one document may expand to, aliases included [default: 1000000].
    #[arg(long, value_name = "N")]
    pub max_nodes: Option<usize>,

    /// Deepest nesting of mappings and sequences in one document [default: 200].
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,

    /// Wall-clock time the Rego policies may spend on one object (`500ms`, `5s`, `1m`)
    /// [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub policy_timeout: Option<Duration>,

    /// Memory the run aims to stay under (suffixes as for --max-file-size): files are admitted
    /// in path order while 64 × their total size fits, later ones are refused [default: 8Gi].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_target: Option<u64>,

    /// Most objects one kustomization or Flux Kustomization may render [default: 50000].
    #[arg(long, value_name = "N")]
    pub max_rendered_objects: Option<usize>,

    /// Most nodes one rendered object may grow to through patches, replacements and
    /// generators [default: 1000000].
    #[arg(long, value_name = "N")]
    pub max_rendered_nodes: Option<usize>,
}

/// The same limits as written in `.kgate.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitSettings {
    pub max_file_size: Option<u64>,
    pub max_documents: Option<usize>,
    pub max_nodes: Option<usize>,
    pub max_depth: Option<usize>,
    pub policy_timeout: Option<Duration>,
    pub memory_target: Option<u64>,
    pub max_rendered_objects: Option<usize>,
    pub max_rendered_nodes: Option<usize>,
}

/// The limits of one run, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    pub max_file_size: u64,
    pub yaml: crate::yaml::Limits,
    pub policy_timeout: Duration,
    pub memory_target: u64,
    pub max_rendered_objects: usize,
    pub max_rendered_nodes: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            yaml: crate::yaml::Limits::default(),
            policy_timeout: DEFAULT_POLICY_TIMEOUT,
            memory_target: DEFAULT_MEMORY_TARGET,
            max_rendered_objects: DEFAULT_MAX_RENDERED_OBJECTS,
            max_rendered_nodes: DEFAULT_MAX_RENDERED_NODES,
        }
    }
}

impl RunLimits {
    /// Flags first, then the config file, then the defaults.
    pub fn resolve(cli: &LimitArgs, cfg: &LimitSettings) -> RunLimits {
        let d = RunLimits::default();
        RunLimits {
            max_file_size: cli
                .max_file_size
                .or(cfg.max_file_size)
                .unwrap_or(d.max_file_size),
            yaml: crate::yaml::Limits {
                max_nodes: cli.max_nodes.or(cfg.max_nodes).unwrap_or(d.yaml.max_nodes),
                max_depth: cli.max_depth.or(cfg.max_depth).unwrap_or(d.yaml.max_depth),
                max_documents: cli
                    .max_documents
                    .or(cfg.max_documents)
                    .unwrap_or(d.yaml.max_documents),
            },
            policy_timeout: cli
                .policy_timeout
                .or(cfg.policy_timeout)
                .unwrap_or(d.policy_timeout),
            memory_target: cli
                .memory_target
                .or(cfg.memory_target)
                .unwrap_or(d.memory_target),
            max_rendered_objects: cli
                .max_rendered_objects
                .or(cfg.max_rendered_objects)
                .unwrap_or(d.max_rendered_objects),
            max_rendered_nodes: cli
                .max_rendered_nodes
                .or(cfg.max_rendered_nodes)
                .unwrap_or(d.max_rendered_nodes),
        }
    }

    /// Bytes of manifest text the memory target admits.
    pub fn loadable_bytes(&self) -> u64 {
        self.memory_target / MEMORY_PER_YAML_BYTE
    }
}

/// Parses a byte size: `1048576`, `512k`, `64M`, `2G` (powers of 1000) or `64Ki`, `64Mi`,
/// `64MiB`, `2Gi` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, InputError> {
    let t = s.trim();
    let t = t.strip_suffix(['B', 'b']).unwrap_or(t);
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let given = || s.to_string();
    let n: u64 = num
        .parse()
        .map_err(|_| InputError::NotASize { given: given() })?;
    let mult: u64 = match unit {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => {
            return Err(InputError::SizeUnit {
                given: given(),
                unit: unit.to_string(),
            })
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| InputError::SizeTooLarge { given: given() })
}

/// Parses a duration: `250ms`, `5s`, `2m`, or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, InputError> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let given = || s.to_string();
    let n: f64 = num
        .parse()
        .map_err(|_| InputError::NotADuration { given: given() })?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        _ => {
            return Err(InputError::DurationUnit {
                given: given(),
                unit: unit.to_string(),
            })
        }
    };
    if !(secs > 0.0 && secs.is_finite() && secs < 86_400.0) {
        return Err(InputError::DurationRange { given: given() });
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Admission of files under the memory target, in the (sorted) order given: `sizes[i]` is file
/// i's size. Returns how many leading files fit; a file that does not fit and every later one
/// are refused, so the outcome does not depend on thread scheduling.
pub fn admitted(sizes: &[u64], loadable_bytes: u64) -> usize {
    let mut total = 0u64;
    for (i, s) in sizes.iter().enumerate() {
        total = total.saturating_add(*s);
        if total > loadable_bytes {
            return i;
        }
    }
    sizes.len()
}

/// The finding for a file refused by the memory target.
pub fn memory_target_finding(display: &str, limits: &RunLimits) -> crate::diagnostic::Diagnostic {
    crate::diagnostic::Diagnostic::error(
        MEMORY_TARGET,
        format!(
            "not read: the files before it already fill the memory target of {} bytes \
(--memory-target / `memory_target`, which admits {} bytes of YAML)",
            limits.memory_target,
            limits.loadable_bytes()
        ),
    )
    .in_file(display, None)
}

/// The code of a file refused by the memory target.
pub const MEMORY_TARGET: &str = "limit/memory-target";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_size("1048576").ok(), Some(1_048_576));
        assert_eq!(parse_size("64Mi").ok(), Some(64 << 20));
        assert_eq!(parse_size("64MiB").ok(), Some(64 << 20));
        assert_eq!(parse_size("2G").ok(), Some(2_000_000_000));
        assert_eq!(parse_size("512k").ok(), Some(512_000));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999Gi").is_err());
        assert_eq!(
            parse_duration("250ms").ok(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_duration("5s").ok(), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("2").ok(), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m").ok(), Some(Duration::from_secs(60)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
        // The typed errors print the messages users have always seen.
        for (given, text) in [
            (
                "x",
                "`x` is not a size: write bytes, or a number with k, M, G, Ki, Mi, Gi",
            ),
            (
                "3Ti",
                "`3Ti` has an unknown unit `Ti`: use k, M, G, Ki, Mi or Gi",
            ),
            (
                "99999999999999999999Gi",
                "`99999999999999999999Gi` is not a size: write bytes, or a number with k, M, G, \
                 Ki, Mi, Gi",
            ),
            ("99999999999Gi", "`99999999999Gi` is too large"),
        ] {
            assert_eq!(parse_size(given).unwrap_err().to_string(), text);
        }
        for (given, text) in [
            ("5h", "`5h` has an unknown unit `h`: use ms, s or m"),
            ("0s", "`0s` must be more than zero and less than a day"),
            (
                "soon",
                "`soon` is not a duration: write e.g. 500ms, 5s or 1m",
            ),
        ] {
            assert_eq!(parse_duration(given).unwrap_err().to_string(), text);
        }
    }

    #[test]
    fn flags_win_over_the_config_file() {
        let cli = LimitArgs {
            max_documents: Some(10),
            ..LimitArgs::default()
        };
        let cfg = LimitSettings {
            max_documents: Some(20),
            max_nodes: Some(30),
            policy_timeout: Some(Duration::from_millis(100)),
            ..LimitSettings::default()
        };
        let r = RunLimits::resolve(&cli, &cfg);
        assert_eq!(r.yaml.max_documents, 10);
        assert_eq!(r.yaml.max_nodes, 30);
        assert_eq!(r.yaml.max_depth, 200);
        assert_eq!(r.policy_timeout, Duration::from_millis(100));
        assert_eq!(r.max_file_size, DEFAULT_MAX_FILE_SIZE);
    }

    #[test]
    fn admission_stops_at_the_first_file_that_does_not_fit() {
        assert_eq!(admitted(&[10, 10, 10], 25), 2);
        assert_eq!(admitted(&[10, 10, 10], 30), 3);
        // A small file after a refused big one is refused too: the cut is one prefix.
        assert_eq!(admitted(&[30, 1], 25), 0);
        assert_eq!(admitted(&[], 0), 0);
    }
}
