//! `plan/destructive`: the plan prunes an object whose deletion destroys more than the object —
//! a Namespace (everything in it), a CustomResourceDefinition (every object of its kind), a
//! PersistentVolumeClaim or a PersistentVolume with the Delete reclaim policy (the data), a
//! StatefulSet with volume claim templates (its storage's workload). Only real prunes count:
//! the plan already leaves out what the agents keep (prune off, Flux's
//! `kustomize.toolkit.fluxcd.io/prune: disabled`, Argo CD's `Prune=false`, manual sync, an
//! Application deleted without its resources finalizer). The finding is on the deleted object
//! at the base, where a reviewer sees the removed lines.

use super::{count, describe, list, Context, Finding, DESTRUCTIVE};
use crate::diagnostic::Diagnostic;
use crate::plan::{Object, ObjectKey};

pub(super) fn check(cx: &Context<'_, '_>, out: &mut Vec<Finding>) {
    let base_objects = cx.base_objects();
    let after = cx.provided_after();
    for (u, pruned) in cx.judged() {
        let decl = u.decl();
        for key in pruned {
            let Some(obj) = u.before.get(key) else {
                continue;
            };
            let Some(why) = consequence(key, obj, &base_objects, &after) else {
                continue;
            };
            let again: Vec<String> = cx
                .planned
                .units
                .iter()
                .filter(|other| other.after.contains_key(key))
                .map(|other| format!("{} {}", other.decl().kind, other.decl().name))
                .collect();
            let again = if again.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} creates it again, but not what was deleted with it",
                    list(&again, 2)
                )
            };
            let message = format!(
                "{} {} prunes {}: {why}{again}",
                decl.kind,
                decl.name,
                describe(key)
            );
            let d = Diagnostic::error(DESTRUCTIVE, message).with_help(
                "keep it in the repository, or opt it out of pruning first \
                 (`kustomize.toolkit.fluxcd.io/prune: disabled` for Flux, \
                 `argocd.argoproj.io/sync-options: Prune=false` for Argo CD); when the deletion \
                 is intended, except the finding with a reason",
            );
            out.push(Finding::on(d, obj, "", true).about(Some(obj), None));
        }
    }
}

/// What deleting `obj` destroys besides itself, in words; None when nothing more.
fn consequence(
    key: &ObjectKey,
    obj: &Object,
    base: &std::collections::BTreeMap<&ObjectKey, &Object>,
    after: &std::collections::BTreeSet<&ObjectKey>,
) -> Option<String> {
    let spec = &obj.json["spec"];
    match (key.group.as_str(), key.kind.as_str()) {
        ("", "Namespace") => {
            let inside = base.keys().filter(|k| k.namespace == key.name).count();
            let still = after.iter().filter(|k| k.namespace == key.name).count();
            let still = if still > 0 {
                format!(
                    " ({} the head still deploys there, which then fail to apply)",
                    count(still, "object")
                )
            } else {
                String::new()
            };
            Some(format!(
                "Kubernetes deletes everything in the namespace with it — {} of this \
                 repository{still} and anything else created there (Secrets, volumes' claims, \
                 operators' state)",
                count(inside, "object")
            ))
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            let group = spec["group"].as_str().unwrap_or_default();
            let kind = spec["names"]["kind"].as_str().unwrap_or_default();
            let of_kind = |k: &ObjectKey| k.group == group && k.kind == kind;
            let held = base.keys().filter(|k| of_kind(k)).count();
            let still = after.iter().filter(|k| of_kind(k)).count();
            let still = if still > 0 {
                format!(
                    "; {still} of them {} still in the repository at the head and no longer \
                     apply",
                    if still == 1 { "is" } else { "are" }
                )
            } else {
                String::new()
            };
            Some(format!(
                "the API server deletes every {kind} ({group}) in the cluster with it — {} in \
                 this repository{still}",
                count(held, "object")
            ))
        }
        ("", "PersistentVolumeClaim") => Some(
            "its volume is released, and with the Delete reclaim policy (the default of \
             dynamically provisioned volumes) its data is deleted"
                .to_string(),
        ),
        ("", "PersistentVolume") if spec["persistentVolumeReclaimPolicy"] == "Delete" => Some(
            "its persistentVolumeReclaimPolicy is Delete: the storage and its data are deleted"
                .to_string(),
        ),
        ("apps", "StatefulSet") => {
            let templates: Vec<String> = spec["volumeClaimTemplates"]
                .as_array()?
                .iter()
                .map(|t| t["metadata"]["name"].as_str().unwrap_or("?").to_string())
                .collect();
            if templates.is_empty() {
                return None;
            }
            let claims = if spec["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
            {
                "its PersistentVolumeClaims are deleted with it \
                 (persistentVolumeClaimRetentionPolicy.whenDeleted: Delete), and their data"
            } else {
                "its PersistentVolumeClaims stay behind without a workload until a StatefulSet \
                 of the same name claims them again"
            };
            Some(format!(
                "it has volume claim templates ({}): its pods stop and {claims}",
                list(&templates, 3)
            ))
        }
        _ => None,
    }
}
