//! The keys Kubernetes merges list items by (strategic merge patch), so a plan matches list items
//! the way the API server does and names them by key (`containers[name=app]`), not by index.
//!
//! The table is generated, not written by hand: `merge_keys.tsv` holds every keyed list field of
//! every built-in kind of the default Kubernetes version, taken from the schema bundles'
//! generator input (k8s-openapi, which carries the OpenAPI's `x-kubernetes-patch-merge-key` in
//! its merge strategies; the JSON schemas themselves do not). Regenerate with
//! `python3 tools/merge-keys/generate.py` (see its header). Lists without a key are atomic
//! (`tolerations`, `args`, `rules`, …): their items are compared by index, unless every item
//! has a unique `name` (most CRD lists).

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("merge_keys.tsv");

/// (group, kind) → list field path (list items left out) → merge key.
type Index = HashMap<(&'static str, &'static str), HashMap<&'static str, &'static str>>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: Index = HashMap::new();
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            if let (Some(group), Some(kind), Some(path), Some(key)) =
                (cols.next(), cols.next(), cols.next(), cols.next())
            {
                index.entry((group, kind)).or_default().insert(path, key);
            }
        }
        index
    })
}

/// The merge key of the list field at `path` (the field names from the object root, list items
/// left out: `["spec", "template", "spec", "containers", "ports"]`) in an object of
/// `group`/`kind`.
///
/// A built-in kind answers from its own table. A custom kind has no keys of its own, but the
/// Kubernetes types it embeds keep theirs: a pod template anywhere (`…spec.containers.ports`,
/// as in Argo Rollouts or Knative) and its ObjectMeta (`metadata.ownerReferences`), matched by
/// the core Pod's table on the path from the nearest `spec` / `metadata` on.
pub fn merge_key(group: &str, kind: &str, path: &[&str]) -> Option<&'static str> {
    let index = index();
    if let Some(table) = index.get(&(group, kind)) {
        return table.get(path.join(".").as_str()).copied();
    }
    let pod = index.get(&("", "Pod"))?;
    let anchor = path
        .iter()
        .rposition(|s| *s == "spec" || *s == "metadata")?;
    pod.get(path[anchor..].join(".").as_str()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table kgate wrote by hand from the k8s.io/api `patchMergeKey` struct tags before the
    /// table was generated: (group, kind, nearest enclosing list field, field) → key. Kept as a
    /// differential check of the generated table.
    fn handwritten(
        group: &str,
        kind: &str,
        enclosing: Option<&str>,
        field: &str,
    ) -> Option<&'static str> {
        let in_container = enclosing
            .is_some_and(|e| ["containers", "initContainers", "ephemeralContainers"].contains(&e));
        match field {
            "containers" | "initContainers" | "ephemeralContainers" => Some("name"),
            "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates" => Some("name"),
            "hostAliases" => Some("ip"),
            "topologySpreadConstraints" => Some("topologyKey"),
            "env" if in_container => Some("name"),
            "ports" if in_container => Some("containerPort"),
            "volumeMounts" if in_container => Some("mountPath"),
            "volumeDevices" if in_container => Some("devicePath"),
            "ports" if group.is_empty() && kind == "Service" && enclosing.is_none() => Some("port"),
            "ownerReferences" => Some("uid"),
            "secrets" if group.is_empty() && kind == "ServiceAccount" => Some("name"),
            "webhooks"
                if group == "admissionregistration.k8s.io"
                    && matches!(
                        kind,
                        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
                    ) =>
            {
                Some("name")
            }
            "conditions" => Some("type"),
            _ => None,
        }
    }

    /// The nearest enclosing list field of the last field of `path`, as the hand table saw it.
    fn enclosing<'a>(group: &str, kind: &str, path: &[&'a str]) -> Option<&'a str> {
        (1..path.len())
            .rev()
            .find(|&i| merge_key(group, kind, &path[..i]).is_some())
            .map(|i| path[i - 1])
    }

    #[test]
    fn generated_table_agrees_with_the_handwritten_one() {
        let kinds = [
            ("", "Pod"),
            ("", "Service"),
            ("", "ServiceAccount"),
            ("", "ReplicationController"),
            ("apps", "Deployment"),
            ("apps", "StatefulSet"),
            ("apps", "DaemonSet"),
            ("batch", "Job"),
            ("batch", "CronJob"),
            (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration",
            ),
            (
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration",
            ),
        ];
        let mut hand_keys_seen = std::collections::BTreeSet::new();
        for (group, kind) in kinds {
            let table = index()
                .get(&(group, kind))
                .unwrap_or_else(|| panic!("{group}/{kind} missing from the generated table"));
            for (path, key) in table {
                let segs: Vec<&str> = path.split('.').collect();
                let field = segs[segs.len() - 1];
                // Status lists are kgate-irrelevant and the hand table keyed `conditions`
                // everywhere; every other list the hand table knew must agree.
                if let Some(hand) = handwritten(group, kind, enclosing(group, kind, &segs), field) {
                    assert_eq!(hand, *key, "{group}/{kind} {path}");
                    hand_keys_seen.insert((field, hand));
                }
            }
        }
        // Every rule of the hand table is found in the generated one.
        for rule in [
            ("containers", "name"),
            ("initContainers", "name"),
            ("ephemeralContainers", "name"),
            ("volumes", "name"),
            ("imagePullSecrets", "name"),
            ("resourceClaims", "name"),
            ("schedulingGates", "name"),
            ("hostAliases", "ip"),
            ("topologySpreadConstraints", "topologyKey"),
            ("env", "name"),
            ("ports", "containerPort"),
            ("ports", "port"),
            ("volumeMounts", "mountPath"),
            ("volumeDevices", "devicePath"),
            ("ownerReferences", "uid"),
            ("secrets", "name"),
            ("webhooks", "name"),
            ("conditions", "type"),
        ] {
            assert!(hand_keys_seen.contains(&rule), "{rule:?} not generated");
        }
    }

    #[test]
    fn keys_depend_on_the_path() {
        let k =
            |group, kind, path: &str| merge_key(group, kind, &path.split('.').collect::<Vec<_>>());
        assert_eq!(
            k("apps", "Deployment", "spec.template.spec.containers"),
            Some("name")
        );
        assert_eq!(
            k("apps", "Deployment", "spec.template.spec.containers.ports"),
            Some("containerPort")
        );
        assert_eq!(
            k(
                "batch",
                "CronJob",
                "spec.jobTemplate.spec.template.spec.initContainers.volumeMounts"
            ),
            Some("mountPath")
        );
        assert_eq!(k("", "Service", "spec.ports"), Some("port"));
        assert_eq!(
            k("apps", "Deployment", "spec.template.spec.tolerations"),
            None
        );
        assert_eq!(
            k("apps", "Deployment", "spec.template.spec.containers.args"),
            None
        );
        // Not keyed in the API: a Deployment has no top-level `ports`.
        assert_eq!(k("apps", "Deployment", "spec.ports"), None);
        assert_eq!(k("", "Pod", "metadata.ownerReferences"), Some("uid"));
        // A custom kind embedding a pod template keeps the pod's keys.
        assert_eq!(
            k(
                "argoproj.io",
                "Rollout",
                "spec.template.spec.containers.ports"
            ),
            Some("containerPort")
        );
        assert_eq!(
            k("argoproj.io", "Rollout", "metadata.ownerReferences"),
            Some("uid")
        );
        assert_eq!(k("example.com", "Widget", "spec.items"), None);
    }
}
