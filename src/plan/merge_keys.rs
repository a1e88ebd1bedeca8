//! The keys Kubernetes merges list items by (strategic merge patch), so a plan matches list items
//! the way the API server does and names them by key (`containers[name=app]`), not by index.
//!
//! Taken from the `patchMergeKey` struct tags of the Kubernetes API types (k8s.io/api
//! `core/v1/types.go`, `meta/v1/types.go`, `admissionregistration/v1/types.go`); the schemas we
//! ship do not carry them. Lists without a tag are atomic (`tolerations`, `args`, `rules`, …):
//! their items are compared by index, unless every item has a unique `name` (most CRD lists).

/// Lists whose items are containers: their own list fields have container-specific keys.
const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// The merge key of list field `field`, whose nearest enclosing list field is `enclosing`
/// (e.g. `ports` inside `containers`), in an object of `group`/`kind`.
pub fn merge_key(
    group: &str,
    kind: &str,
    enclosing: Option<&str>,
    field: &str,
) -> Option<&'static str> {
    let in_container = enclosing.is_some_and(|e| CONTAINER_LISTS.contains(&e));
    match field {
        // PodSpec
        "containers" | "initContainers" | "ephemeralContainers" => Some("name"),
        "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates" => Some("name"),
        "hostAliases" => Some("ip"),
        "topologySpreadConstraints" => Some("topologyKey"),
        // Container
        "env" if in_container => Some("name"),
        "ports" if in_container => Some("containerPort"),
        "volumeMounts" if in_container => Some("mountPath"),
        "volumeDevices" if in_container => Some("devicePath"),
        // ServiceSpec
        "ports" if group.is_empty() && kind == "Service" && enclosing.is_none() => Some("port"),
        // ObjectMeta
        "ownerReferences" => Some("uid"),
        // ServiceAccount
        "secrets" if group.is_empty() && kind == "ServiceAccount" => Some("name"),
        // Admission webhooks
        "webhooks"
            if group == "admissionregistration.k8s.io"
                && matches!(
                    kind,
                    "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
                ) =>
        {
            Some("name")
        }
        // Status conditions (rare in git, but keyed everywhere)
        "conditions" => Some("type"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_context() {
        assert_eq!(
            merge_key("apps", "Deployment", None, "containers"),
            Some("name")
        );
        assert_eq!(
            merge_key("apps", "Deployment", Some("containers"), "ports"),
            Some("containerPort")
        );
        assert_eq!(merge_key("", "Service", None, "ports"), Some("port"));
        assert_eq!(
            merge_key("apps", "Deployment", Some("containers"), "env"),
            Some("name")
        );
        assert_eq!(merge_key("apps", "Deployment", None, "tolerations"), None);
        assert_eq!(
            merge_key("", "Pod", Some("initContainers"), "volumeMounts"),
            Some("mountPath")
        );
    }
}
