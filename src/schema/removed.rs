//! APIs that Kubernetes stopped serving, with what replaced them (from the upstream deprecation
//! guide), so a removed apiVersion is reported with its fix rather than as "no schema".

/// (apiVersion, kind or "*", removed in, replacement apiVersion or a note).
const REMOVED: &[(&str, &str, &str, &str)] = &[
    (
        "extensions/v1beta1",
        "Ingress",
        "1.22",
        "networking.k8s.io/v1",
    ),
    (
        "extensions/v1beta1",
        "IngressClass",
        "1.22",
        "networking.k8s.io/v1",
    ),
    (
        "extensions/v1beta1",
        "NetworkPolicy",
        "1.16",
        "networking.k8s.io/v1",
    ),
    ("extensions/v1beta1", "Deployment", "1.16", "apps/v1"),
    ("extensions/v1beta1", "DaemonSet", "1.16", "apps/v1"),
    ("extensions/v1beta1", "ReplicaSet", "1.16", "apps/v1"),
    ("extensions/v1beta1", "PodSecurityPolicy", "1.16", ""),
    ("apps/v1beta1", "*", "1.16", "apps/v1"),
    ("apps/v1beta2", "*", "1.16", "apps/v1"),
    (
        "networking.k8s.io/v1beta1",
        "Ingress",
        "1.22",
        "networking.k8s.io/v1",
    ),
    (
        "networking.k8s.io/v1beta1",
        "IngressClass",
        "1.22",
        "networking.k8s.io/v1",
    ),
    ("batch/v1beta1", "CronJob", "1.25", "batch/v1"),
    ("batch/v2alpha1", "CronJob", "1.21", "batch/v1"),
    ("policy/v1beta1", "PodDisruptionBudget", "1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy", "1.25", ""),
    (
        "autoscaling/v2beta1",
        "HorizontalPodAutoscaler",
        "1.25",
        "autoscaling/v2",
    ),
    (
        "autoscaling/v2beta2",
        "HorizontalPodAutoscaler",
        "1.26",
        "autoscaling/v2",
    ),
    (
        "discovery.k8s.io/v1beta1",
        "EndpointSlice",
        "1.25",
        "discovery.k8s.io/v1",
    ),
    ("events.k8s.io/v1beta1", "Event", "1.25", "events.k8s.io/v1"),
    (
        "node.k8s.io/v1beta1",
        "RuntimeClass",
        "1.25",
        "node.k8s.io/v1",
    ),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "*",
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "rbac.authorization.k8s.io/v1alpha1",
        "*",
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "apiextensions.k8s.io/v1beta1",
        "CustomResourceDefinition",
        "1.22",
        "apiextensions.k8s.io/v1",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
        "1.22",
        "admissionregistration.k8s.io/v1",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
        "1.22",
        "admissionregistration.k8s.io/v1",
    ),
    (
        "apiregistration.k8s.io/v1beta1",
        "APIService",
        "1.22",
        "apiregistration.k8s.io/v1",
    ),
    (
        "authentication.k8s.io/v1beta1",
        "TokenReview",
        "1.22",
        "authentication.k8s.io/v1",
    ),
    (
        "authorization.k8s.io/v1beta1",
        "*",
        "1.22",
        "authorization.k8s.io/v1",
    ),
    (
        "certificates.k8s.io/v1beta1",
        "CertificateSigningRequest",
        "1.22",
        "certificates.k8s.io/v1",
    ),
    (
        "coordination.k8s.io/v1beta1",
        "Lease",
        "1.22",
        "coordination.k8s.io/v1",
    ),
    (
        "scheduling.k8s.io/v1beta1",
        "PriorityClass",
        "1.22",
        "scheduling.k8s.io/v1",
    ),
    (
        "scheduling.k8s.io/v1alpha1",
        "PriorityClass",
        "1.17",
        "scheduling.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "CSIStorageCapacity",
        "1.27",
        "storage.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "CSIDriver",
        "1.22",
        "storage.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "CSINode",
        "1.22",
        "storage.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "StorageClass",
        "1.22",
        "storage.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "VolumeAttachment",
        "1.22",
        "storage.k8s.io/v1",
    ),
    (
        "storage.k8s.io/v1beta1",
        "VolumeAttributesClass",
        "1.37",
        "storage.k8s.io/v1",
    ),
    (
        "authentication.k8s.io/v1beta1",
        "SelfSubjectReview",
        "1.33",
        "authentication.k8s.io/v1",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingAdmissionPolicy",
        "1.34",
        "admissionregistration.k8s.io/v1",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingAdmissionPolicyBinding",
        "1.34",
        "admissionregistration.k8s.io/v1",
    ),
    (
        "networking.k8s.io/v1beta1",
        "IPAddress",
        "1.37",
        "networking.k8s.io/v1",
    ),
    (
        "networking.k8s.io/v1beta1",
        "ServiceCIDR",
        "1.37",
        "networking.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "*",
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "*",
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "*",
        "1.32",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
];

/// Groups served by the API server itself (not by CRDs), including ones that no longer exist.
pub const BUILTIN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "extensions",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

/// A removed API: the Kubernetes version that stopped serving it and its replacement (empty
/// when the kind itself is gone).
pub fn removed_api(api_version: &str, kind: &str) -> Option<(&'static str, &'static str)> {
    REMOVED
        .iter()
        .find(|(v, k, _, _)| *v == api_version && (*k == kind || *k == "*"))
        .map(|(_, _, when, replacement)| (*when, *replacement))
}

/// [`removed_api`] as seen from `kubernetes_version` (`1.NN`): an API removed only in a later
/// release is not "removed" for an older cluster (it may never have been beta there).
pub fn removed_by(
    api_version: &str,
    kind: &str,
    kubernetes_version: &str,
) -> Option<(&'static str, &'static str)> {
    removed_api(api_version, kind).filter(|(when, _)| minor(when) <= minor(kubernetes_version))
}

/// The minor number of `1.NN` (0 when unreadable, so such a version sorts first).
fn minor(version: &str) -> u32 {
    version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ingress_in_extensions_points_to_networking_v1() {
        assert_eq!(
            super::removed_api("extensions/v1beta1", "Ingress"),
            Some(("1.22", "networking.k8s.io/v1"))
        );
        assert_eq!(
            super::removed_api("apps/v1beta2", "StatefulSet"),
            Some(("1.16", "apps/v1"))
        );
        assert_eq!(super::removed_api("apps/v1", "Deployment"), None);
    }

    #[test]
    fn removals_agree_with_the_built_in_bundles() {
        use crate::schema::bundle::{bundle, SUPPORTED_VERSIONS};
        for v in SUPPORTED_VERSIONS {
            let b = bundle(v).unwrap();
            for (api_version, kind, removed_in, _) in super::REMOVED {
                let served = b
                    .kinds()
                    .iter()
                    .any(|e| e.api_version() == *api_version && (*kind == "*" || e.kind == *kind));
                // Gone from the release that removed it on (earlier releases may not have had
                // it yet: IPAddress was alpha-only in 1.30).
                if super::minor(v) >= super::minor(removed_in) {
                    assert!(
                        !served,
                        "Kubernetes {v}: {api_version} {kind} (removed in {removed_in})"
                    );
                }
                assert_eq!(
                    super::removed_by(api_version, if *kind == "*" { "X" } else { kind }, v)
                        .is_some(),
                    super::minor(v) >= super::minor(removed_in)
                );
            }
        }
        let flow = ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema");
        assert!(bundle("1.31").unwrap().find(flow.0, flow.1).is_some());
        assert!(bundle("1.32").unwrap().find(flow.0, flow.1).is_none());
        // Every non-alpha API that disappears between two supported versions is in the table,
        // with the version it disappeared in (alpha APIs come and go without notice).
        for pair in SUPPORTED_VERSIONS.windows(2) {
            let (old, new) = (bundle(pair[0]).unwrap(), bundle(pair[1]).unwrap());
            for e in old.kinds() {
                if e.version.contains("alpha") || new.find(&e.api_version(), &e.kind).is_some() {
                    continue;
                }
                assert_eq!(
                    super::removed_api(&e.api_version(), &e.kind).map(|(when, _)| when),
                    Some(pair[1]),
                    "{} {} is served by {} but not {}",
                    e.api_version(),
                    e.kind,
                    pair[0],
                    pair[1]
                );
            }
        }
    }
}
