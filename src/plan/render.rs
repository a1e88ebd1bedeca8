//! What a GitOps unit produces when its agent builds it: a Flux Kustomization's `spec.path`
//! through the Flux renderer (targetNamespace, patches, post-build substitution), an Argo CD
//! source folder or a plain folder that is a kustomization root through the kustomize renderer.
//! Secret values that substitution puts into objects are redacted before the plan sees them.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use super::{is_flux_kustomization, qualified, Origin, Revision, Unit};
use crate::diagnostic::{ResourceRef, Severity};
use crate::redact::{self, REDACTED};
use crate::render::{self, RenderOptions, Rendered, SubstitutionSources};
use crate::source::Files;

/// One produced object.
pub(crate) struct Produced {
    /// Repository path of the file it came from.
    pub path: String,
    pub resource: ResourceRef,
    pub json: Value,
    /// Where its fields are written (for findings about it).
    pub origin: Origin,
}

/// What rendering a unit gave: its objects, or why kgate could not build it (the first error).
pub(crate) type Built = Result<Vec<Produced>, String>;

/// The objects of a Flux Kustomization unit whose `spec.path` is in the repository, rendered as
/// Flux builds them; None when the unit is not a Flux Kustomization.
pub(crate) fn flux_objects(rev: &Revision<'_>, unit: &Unit) -> Option<Built> {
    if unit.kind != "Kustomization" || unit.paths.is_empty() {
        return None;
    }
    let (_, agent) = rev
        .objects()
        .find(|(_, m)| is_flux_kustomization(m) && qualified(m) == unit.name)?;
    render::flux::flux_dir(rev.vfs, agent, "")?;
    let files = Arc::new(Files::new());
    let sources = SubstitutionSources::from_manifests(rev.objects().map(|(_, m)| m));
    let r = render::render_flux(rev.vfs, &files, agent, &RenderOptions::default(), &sources);
    Some(produced(rev, r, &files))
}

/// The objects of an Argo CD Application unit whose source is a Helm chart (a chart folder of the
/// repository, or a Helm repository chart from the chart cache), rendered as Argo CD renders it;
/// None when the unit is no Application with a Helm source.
pub(crate) fn argo_helm_objects(rev: &Revision<'_>, unit: &Unit) -> Option<Built> {
    use crate::render::helm::argo::{has_helm_source, is_application, render_application};
    if unit.kind != "Application" {
        return None;
    }
    let files = Arc::new(Files::new());
    let opts = RenderOptions::default();
    let renderer = render::Renderer::new(rev.vfs, &files, &opts);
    let (_, agent) = rev.objects().find(|(_, m)| {
        is_application(m) && qualified(m) == unit.name && has_helm_source(&renderer, m)
    })?;
    let repo: Vec<&crate::manifest::Manifest> = rev.objects().map(|(_, m)| m).collect();
    let r = render_application(&renderer, agent, &repo, &rev.helm);
    Some(produced(rev, r, &files))
}

/// The objects of a folder that is a kustomization root, as `kustomize build` makes them; None
/// when it is not one.
pub(crate) fn dir_objects(rev: &Revision<'_>, dir: &str) -> Option<Built> {
    render::kustomization_file(rev.vfs, dir)?;
    let files = Arc::new(Files::new());
    let r = render::render_dir(rev.vfs, &files, dir, &RenderOptions::default());
    Some(produced(rev, r, &files))
}

/// The objects of the charts of the HelmReleases among `objects`, rendered as helm-controller
/// installs them (chart from the repository or the chart cache, values merged; an overlay's
/// patch of the values is already in the produced HelmRelease). A release whose chart is not
/// available offline or does not render adds nothing: `check` reports why.
pub(crate) fn helm_objects(rev: &Revision<'_>, objects: &[Produced]) -> Vec<Produced> {
    use crate::render::helm::release::{is_helm_release, release_namespace, render_release};
    let files = Arc::new(Files::new());
    let releases: Vec<crate::manifest::Manifest> = objects
        .iter()
        .filter(|p| {
            p.resource.kind == "HelmRelease"
                && p.resource
                    .api_version
                    .starts_with("helm.toolkit.fluxcd.io/")
        })
        .filter_map(|p| {
            // The produced object is JSON (JSON is YAML): read back as a manifest of its file.
            let text = serde_json::to_string(&p.json).ok()?;
            let f = files.add(format!("{}{}", rev.prefix, p.path), text);
            crate::load::load_file(&files, &f, &crate::yaml::Limits::default())
                .manifests
                .into_iter()
                .find(is_helm_release)
        })
        .collect();
    if releases.is_empty() {
        return Vec::new();
    }
    // The revision's objects by reference (sources of valuesFrom and chart sources), not copied.
    let repo: Vec<&crate::manifest::Manifest> = rev.objects().map(|(_, m)| m).collect();
    let sources = SubstitutionSources::from_manifests(repo.iter().copied());
    let opts = RenderOptions::default();
    let renderer = render::Renderer::new(rev.vfs, &files, &opts);
    let mut out = Vec::new();
    for hr in &releases {
        let r = render_release(&renderer, hr, &repo, &sources, &rev.helm);
        let Ok(chart_objects) = produced(rev, r, &files) else {
            continue;
        };
        // Helm installs namespaced objects that name no namespace into the release's.
        let namespace = release_namespace(hr);
        for mut p in chart_objects {
            let group = crate::manifest::api_group(&p.resource.api_version).to_string();
            if p.resource.namespace.is_none() && rev.is_namespaced(&group, &p.resource.kind) {
                p.resource.namespace = Some(namespace.clone());
                if let Some(meta) = p.json.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.insert("namespace".into(), Value::String(namespace.clone()));
                }
            }
            out.push(p);
        }
    }
    out
}

/// A build with errors: the caller falls back to the raw objects rather than reporting
/// everything as deleted, and says so (the error message is secret-scrubbed by the renderer's
/// diagnostics like every other message). `files` holds the files the rendered spans point
/// into.
fn produced(rev: &Revision<'_>, r: Rendered, files: &Arc<Files>) -> Built {
    if let Some(d) = r.diagnostics.iter().find(|d| d.severity == Severity::Error) {
        let file = d.file.strip_prefix(rev.prefix.as_str()).unwrap_or(&d.file);
        let at = d.span.map(|s| format!(":{}", s.line)).unwrap_or_default();
        return Err(format!("{} ({file}{at})", d.message));
    }
    let secrets = &r.secrets.values;
    Ok(r.manifests
        .into_iter()
        .map(|mut m| {
            let path = m
                .file
                .path
                .strip_prefix(rev.prefix.as_str())
                .unwrap_or(&m.file.path)
                .to_string();
            // The origin keeps spans only: its JSON (with substituted secrets) is dropped.
            let mut json = std::mem::take(&mut m.json);
            redact_values(&mut json, secrets);
            Produced {
                path,
                resource: m.resource.clone(),
                json,
                origin: Origin {
                    manifest: Arc::new(m),
                    files: Some(files.clone()),
                },
            }
        })
        .collect())
}

/// Replaces substituted secret values in every string of `v`: a string that is a secret becomes
/// `[REDACTED]`, one that contains one has it replaced.
fn redact_values(v: &mut Value, secrets: &BTreeSet<String>) {
    if secrets.is_empty() {
        return;
    }
    match v {
        Value::String(s) => {
            if secrets.contains(s.as_str()) {
                *s = REDACTED.to_string();
            } else {
                let scrubbed = redact::scrub(s, secrets);
                if scrubbed != *s {
                    *s = scrubbed;
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact_values(i, secrets)),
        Value::Object(map) => map.values_mut().for_each(|i| redact_values(i, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substituted_secrets_are_redacted_whole_or_inside() {
        let secrets: BTreeSet<String> = ["s3cr3t-pa55word".to_string()].into();
        let mut v = json!({"data": {"a": "s3cr3t-pa55word", "b": "url://u:s3cr3t-pa55word@h", "c": "plain"}, "n": [1]});
        redact_values(&mut v, &secrets);
        assert_eq!(
            v,
            json!({"data": {"a": "[REDACTED]", "b": "url://u:[REDACTED]@h", "c": "plain"}, "n": [1]})
        );
    }
}
