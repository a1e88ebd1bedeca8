//! Coverage of the repository's own Helm charts: which chart folders the run's units deploy, and a
//! `render/unsupported` finding for each chart that nothing deploys — its templates were skipped,
//! so nothing in it was verified, which must not look like a pass (`--unverified error` fails it).

use std::collections::BTreeSet;

use crate::diagnostic::Diagnostic;
use crate::load::Skipped;
use crate::manifest::Manifest;
use crate::source::Files;
use crate::vfs::{DiskFs, Vfs};
use crate::yaml::{parse_stream, Limits};

use super::argo::{chart_folders as application_charts, is_application};
use super::release::{chart_folder as release_chart, is_helm_release};

/// Display paths of the chart folders that the files of other shards deploy: their HelmReleases
/// (GitRepository/Bucket sources), Argo CD Applications (chart folders) and kustomizations'
/// `helmCharts`. A sharded run renders only its own units, so this is how the shard that owns a
/// chart learns that another shard deploys it — the same answer an unsharded run's rendering
/// gives, so that shards merge exactly.
pub fn deployed_by_foreign(
    files: &Files,
    foreign: &[Manifest],
    foreign_files: &[String],
    limits: &Limits,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for m in foreign {
        if !(is_helm_release(m) || is_application(m)) {
            continue;
        }
        let Some((vfs, _)) = tree_of(&m.file.path) else {
            continue;
        };
        let dirs = if is_application(m) {
            application_charts(&vfs, m)
        } else {
            release_chart(&vfs, m).into_iter().collect()
        };
        out.extend(dirs.iter().map(|d| vfs.display(d)));
    }
    for path in foreign_files {
        let name = path.rsplit('/').next().unwrap_or(path);
        if !crate::render::KUSTOMIZATION_FILES.contains(&name) {
            continue;
        }
        let Some(file) = files.by_path(path) else {
            continue;
        };
        if !file.text.contains("helmCharts") {
            continue;
        }
        let Some((vfs, rel)) = tree_of(path) else {
            continue;
        };
        let dir = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let stream = parse_stream(&file, limits);
        for doc in stream.documents.iter().filter_map(|d| d.root.as_ref()) {
            for chart in super::kustomize::chart_folders(dir, doc) {
                let meta = if chart.is_empty() {
                    "Chart.yaml".to_string()
                } else {
                    format!("{chart}/Chart.yaml")
                };
                if vfs.is_file(&meta) {
                    out.insert(vfs.display(&chart));
                }
            }
        }
    }
    out
}

/// The repository tree a file of the run (display path) is in, and its path inside it: the
/// same tree the renderer reads it from.
fn tree_of(display: &str) -> Option<(DiskFs, String)> {
    let vfs = DiskFs::new(crate::render::integrate::repo_root(
        &crate::render::integrate::folder_of(display),
    ));
    let rel = crate::render::integrate::strip(display, &vfs.display(""))?.to_string();
    Some((vfs, rel))
}

/// Helm charts among the checked files (`files` and the `skipped` templates and chart files)
/// that no unit of the run deploys (`deployed`: display paths of chart folders). Subcharts
/// (inside another chart's `charts/`) and library charts are left out: they are rendered through
/// their parents. `read` reads a file of the run by display path (guarded), for a `Chart.yaml`
/// that was skipped rather than loaded.
pub fn undeployed_charts(
    files: &Files,
    skipped: &[Skipped],
    deployed: &BTreeSet<String>,
    read: &dyn Fn(&str) -> Option<String>,
) -> Vec<Diagnostic> {
    let mut paths: BTreeSet<String> = files.all().iter().map(|f| f.path.clone()).collect();
    paths.extend(skipped.iter().map(|s| s.file.clone()));
    let charts = crate::units::chart_dirs(paths.iter().map(String::as_str));
    let mut out = Vec::new();
    for chart in &charts {
        let nested = charts
            .iter()
            .any(|other| chart.starts_with(&format!("{other}/charts/")));
        if nested || deployed.contains(chart) {
            continue;
        }
        let under = |leaf: &str| {
            if chart.is_empty() {
                leaf.to_string()
            } else {
                format!("{chart}/{leaf}")
            }
        };
        let meta_path = if paths.contains(&under("Chart.yaml")) {
            under("Chart.yaml")
        } else {
            under("Chart.yml")
        };
        let Some(meta) = files
            .by_path(&meta_path)
            .or_else(|| read(&meta_path).map(|text| files.add(meta_path.clone(), text)))
        else {
            continue;
        };
        let library = super::chart::is_library_metadata(&meta.text);
        let templates = under("templates/");
        let has_templates = paths.iter().any(|p| p.starts_with(&templates));
        if library || !has_templates {
            continue;
        }
        let shown = if chart.is_empty() {
            "."
        } else {
            chart.as_str()
        };
        out.push(
            Diagnostic::warning(
                "render/unsupported",
                format!(
                    "Helm chart `{shown}` is deployed by no HelmRelease, Argo CD Application or \
                     helmCharts entry of the checked paths: its templates were not rendered or \
                     checked (`kgate render {shown}` shows its output)"
                ),
            )
            .in_file(meta.path.clone(), Some(meta.span(1, 0, 1, 0))),
        );
    }
    out
}
