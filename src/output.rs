//! Where reports go: several `--format FORMAT[=FILE]` in one run, at most one to stdout
//! (or to `--output FILE`), each rendered by the one `Format → reporter` switch.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};

use crate::cli::{CliError, ColorChoice, Format, FormatTarget};
use crate::report::Report;

/// The output layer's one error type: report targets that contradict each other (found before
/// any work is done), or a report that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{count} formats would write to stdout; give all but one a file (--format FORMAT=FILE)"
    )]
    SeveralOnStdout { count: usize },

    #[error("--output names the file of the --format without =FILE, and every --format has one")]
    OutputWithoutTarget,

    #[error("two reports would be written to {path}")]
    SameFile { path: String },

    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },

    #[error("cannot write output: {0}")]
    Stdout(#[source] std::io::Error),

    #[error(transparent)]
    Cli(#[from] CliError),
}

/// The application layer still speaks `String` errors: `?` converts.
impl From<OutputError> for String {
    fn from(e: OutputError) -> String {
        e.to_string()
    }
}

/// One report to write: a format and a file (None: stdout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub format: Format,
    pub path: Option<String>,
}

/// Checks the `--format`/`--output` combination before any work is done, so a typo fails fast.
pub fn plan(formats: &[FormatTarget], output: Option<&str>) -> Result<Vec<Target>, OutputError> {
    let bare: Vec<&FormatTarget> = formats.iter().filter(|f| f.path.is_none()).collect();
    if bare.len() > 1 {
        return Err(OutputError::SeveralOnStdout { count: bare.len() });
    }
    if output.is_some() && bare.is_empty() {
        return Err(OutputError::OutputWithoutTarget);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for f in formats {
        let path = f.path.clone().or_else(|| output.map(str::to_string));
        if let Some(p) = &path {
            if !seen.insert(p.clone()) {
                return Err(OutputError::SameFile { path: p.clone() });
            }
        }
        out.push(Target {
            format: f.format,
            path,
        });
    }
    Ok(out)
}

/// Renders and writes every target. Human output is coloured only on a terminal stdout.
pub fn write_all(
    targets: &[Target],
    report: &Report<'_>,
    color: ColorChoice,
) -> Result<(), OutputError> {
    for t in targets {
        let colored = t.format == Format::Human
            && match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    t.path.is_none()
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                        && std::io::stdout().is_terminal()
                }
            };
        let text = render_format(
            t.format,
            &Report {
                color: colored,
                ..*report
            },
        );
        match &t.path {
            Some(path) => std::fs::write(path, text).map_err(|source| OutputError::Write {
                path: path.clone(),
                source,
            })?,
            None => write_stdout(&text)?,
        }
    }
    Ok(())
}

/// The one `Format → reporter` switch.
pub fn render_format(format: crate::cli::Format, report: &crate::report::Report<'_>) -> String {
    match format {
        crate::cli::Format::Human => crate::report::human::render(report),
        crate::cli::Format::Json => crate::report::json::render(report),
        crate::cli::Format::Sarif => crate::report::sarif::render(report),
        crate::cli::Format::Junit => crate::report::junit::render(report),
        crate::cli::Format::Github => crate::report::github::render(report),
        crate::cli::Format::Gitlab => crate::report::gitlab::render(report),
        crate::cli::Format::Markdown => crate::report::markdown::render(report),
    }
}

/// The report targets of `-o/--output` and `--output-file`.
pub fn output_plan(
    values: &[crate::cli::OutputValue<crate::cli::FormatTarget>],
    output_file: Option<&str>,
) -> Result<Vec<Target>, OutputError> {
    let (formats, file) = crate::cli::split_outputs(
        values,
        output_file,
        crate::cli::FormatTarget {
            format: crate::cli::Format::Human,
            path: None,
        },
    )?;
    plan(&formats, file.as_deref())
}

/// Writes to stdout; a closed pipe (`kgate … | head`) ends quietly.
pub fn write_stdout(text: &str) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(OutputError::Stdout(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> FormatTarget {
        s.parse().unwrap()
    }

    #[test]
    fn formats_and_files() {
        assert_eq!(t("sarif=out/k.sarif").path.as_deref(), Some("out/k.sarif"));
        assert_eq!(t("GitHub").format, Format::Github);
        assert_eq!(
            "yaml".parse::<FormatTarget>().unwrap_err().to_string(),
            "unknown format `yaml`: one of human, json, sarif, junit, github, gitlab, markdown, \
             optionally =FILE"
        );
        assert_eq!(
            "sarif=".parse::<FormatTarget>().unwrap_err().to_string(),
            "`sarif=` names no file"
        );
        let p = plan(&[t("github"), t("sarif=a.sarif"), t("junit=r.xml")], None).unwrap();
        assert_eq!(p[0].path, None);
        assert_eq!(
            plan(&[t("github"), t("human")], None)
                .unwrap_err()
                .to_string(),
            "2 formats would write to stdout; give all but one a file (--format FORMAT=FILE)"
        );
        assert_eq!(
            plan(&[t("sarif=a"), t("json=a")], None)
                .unwrap_err()
                .to_string(),
            "two reports would be written to a"
        );
        assert!(plan(&[t("sarif=a")], Some("b")).is_err());
        assert_eq!(
            plan(&[t("json")], Some("r.json")).unwrap()[0]
                .path
                .as_deref(),
            Some("r.json")
        );
    }
}
