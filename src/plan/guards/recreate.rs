//! `plan/recreate`: objects leave a unit that prunes them and another unit that prunes creates
//! them — a Flux Kustomization or Argo CD Application renamed, or objects moved between units.
//! The old unit's agent deletes them and the new one creates them again (unless the new one
//! takes them over first): downtime that the file diff does not show, since the manifests look
//! unchanged. One finding per pair of units, on the renamed agent object at the head, or on the
//! first moved object at its new place.

use std::collections::BTreeMap;

use super::{count, describe, list, Context, Finding, RECREATE};
use crate::diagnostic::Diagnostic;
use crate::plan::ObjectKey;

pub(super) fn check(cx: &Context<'_, '_>, out: &mut Vec<Finding>) {
    let units = &cx.planned.units;
    let mut moves: BTreeMap<(usize, usize), Vec<&ObjectKey>> = BTreeMap::new();
    for (i, pruned) in cx.pruned.iter().enumerate() {
        for key in pruned {
            for (j, new) in units.iter().enumerate() {
                let creates = new.after.contains_key(key) && !new.before.contains_key(key);
                if j != i && creates && new.head.as_ref().is_some_and(|h| h.prune) {
                    moves.entry((i, j)).or_default().push(key);
                }
            }
        }
    }
    for ((i, j), keys) in moves {
        let (old, new) = (&units[i], &units[j]);
        if !old.in_scope && !new.in_scope {
            continue;
        }
        let (od, nd) = (old.decl(), new.decl());
        let agent = match od.kind {
            "Kustomization" => "Flux",
            "Application" => "Argo CD",
            _ => "the agent",
        };
        let names: Vec<String> = keys.iter().map(|k| describe(k)).collect();
        let help = "to move objects without re-creating them, first stop the old unit from \
                    deleting them (`prune: false` on a Flux Kustomization, \
                    `kustomize.toolkit.fluxcd.io/prune: disabled` or \
                    `argocd.argoproj.io/sync-options: Prune=false` on the objects) and merge that, \
                    then rename or move; when the re-creation is acceptable, except the finding \
                    with a reason";
        let renamed = old.head.is_none() && new.base.is_none() && od.kind == nd.kind;
        let finding = match (&new.head.as_ref().and_then(|h| h.agent.clone()), renamed) {
            (Some(agent_obj), true) => {
                let message = format!(
                    "{} {} is renamed to {}: {agent} deletes the {} of {} ({}) and {} creates \
                     them again — downtime the diff does not show, and what they hold is lost",
                    od.kind,
                    od.name,
                    nd.name,
                    count(keys.len(), "object"),
                    od.name,
                    list(&names, 4),
                    nd.name
                );
                let d = Diagnostic::warning(RECREATE, message).with_help(help);
                Finding::on_manifest(d, agent_obj, "/metadata/name")
            }
            _ => {
                let first = keys[0];
                let Some(obj) = new.after.get(first) else {
                    continue;
                };
                let message = format!(
                    "{} ({}) {} from {} {} to {} {}: the old unit prunes them and the new one \
                     creates them again — downtime the diff does not show",
                    count(keys.len(), "object"),
                    list(&names, 4),
                    if keys.len() == 1 { "moves" } else { "move" },
                    od.kind,
                    od.name,
                    nd.kind,
                    nd.name
                );
                let d = Diagnostic::warning(RECREATE, message).with_help(help);
                Finding::on(d, obj, "", false).about(old.before.get(first), Some(obj))
            }
        };
        out.push(finding);
    }
}
