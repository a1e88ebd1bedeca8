//! Which kinds are cluster-scoped: one answer, taken from the scope data of the built-in schema
//! bundles (then the run's CRDs and the built-in CRD catalog), and kustomize's narrower view
//! derived from it.
//!
//! Why two views: the API server (and so the plan, Argo CD, Helm) knows every kind it serves,
//! while kustomize decides from the OpenAPI document it embeds (Kubernetes v1.21.2): an object
//! is left out of the namespace transformer only when that document *certainly* says its
//! apiVersion/kind is cluster-scoped (`openapi.IsCertainlyClusterScoped`, keyed by apiVersion
//! and kind). So `kubectl kustomize` sets a namespace on an `admissionregistration.k8s.io/v1`
//! ValidatingAdmissionPolicy, a `flowcontrol.apiserver.k8s.io/v1` FlowSchema or a CRD-defined
//! cluster-scoped kind, although the API server will drop or refuse it. kgate renders what
//! kustomize renders, and plans what the cluster does.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::bundle::{self, SUPPORTED_VERSIONS};
use crate::manifest::api_group;

/// Built-in kinds no bundle we ship serves any more (Kubernetes stopped serving them before
/// 1.30), with their scope: (group, kind, namespaced). kustomize's OpenAPI still knows them.
const RETIRED: &[(&str, &str, bool)] = &[("policy", "PodSecurityPolicy", false)];

/// The object types of kustomize's embedded OpenAPI (Kubernetes v1.21.2; kyaml/openapi
/// `precomputedIsNamespaceScoped`) whose kind is cluster-scoped, one apiVersion per line then
/// its kinds. Only the names come from kustomize: whether each is cluster-scoped is asked of the
/// bundles ([`builtin_namespaced`]), and a test checks every name resolves there. Request option
/// types (`NodeProxyOptions`) are left out: nobody stores them in a repository.
const KUSTOMIZE_OPENAPI: &str = "\
v1 ComponentStatus Namespace Node PersistentVolume
admissionregistration.k8s.io/v1 MutatingWebhookConfiguration ValidatingWebhookConfiguration
admissionregistration.k8s.io/v1beta1 MutatingWebhookConfiguration ValidatingWebhookConfiguration
apiextensions.k8s.io/v1 CustomResourceDefinition
apiextensions.k8s.io/v1beta1 CustomResourceDefinition
apiregistration.k8s.io/v1 APIService
apiregistration.k8s.io/v1beta1 APIService
certificates.k8s.io/v1 CertificateSigningRequest
certificates.k8s.io/v1beta1 CertificateSigningRequest
flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema PriorityLevelConfiguration
networking.k8s.io/v1 IngressClass
networking.k8s.io/v1beta1 IngressClass
node.k8s.io/v1 RuntimeClass
node.k8s.io/v1beta1 RuntimeClass
policy/v1beta1 PodSecurityPolicy
rbac.authorization.k8s.io/v1 ClusterRole ClusterRoleBinding
rbac.authorization.k8s.io/v1beta1 ClusterRole ClusterRoleBinding
scheduling.k8s.io/v1 PriorityClass
scheduling.k8s.io/v1beta1 PriorityClass
storage.k8s.io/v1 CSIDriver CSINode StorageClass VolumeAttachment
storage.k8s.io/v1beta1 CSIDriver CSINode StorageClass VolumeAttachment
";

/// (group, kind) → namespaced, over every built-in bundle (a kind keeps its scope across
/// versions; a test checks it), built once on first use. Only the bundles' indexes are read.
fn builtin_index() -> &'static HashMap<(String, String), bool> {
    static INDEX: OnceLock<HashMap<(String, String), bool>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = HashMap::new();
        for v in SUPPORTED_VERSIONS {
            let Some(b) = bundle::bundle(v) else { continue };
            for e in b.kinds() {
                index
                    .entry((e.group.clone(), e.kind.clone()))
                    .or_insert(e.namespaced);
            }
        }
        for (group, kind, namespaced) in RETIRED {
            index
                .entry((group.to_string(), kind.to_string()))
                .or_insert(*namespaced);
        }
        index
    })
}

/// Whether a built-in kind lives in a namespace; `None` when no Kubernetes version kgate ships
/// serves (or served) a kind of this group and name.
pub fn builtin_namespaced(group: &str, kind: &str) -> Option<bool> {
    builtin_index()
        .get(&(group.to_string(), kind.to_string()))
        .copied()
}

/// The cluster's answer for a group/kind: built-in kinds from the bundles, then `crd` (the
/// scope a CRD of the run declares, if any), then the built-in CRD catalog. `None`: unknown.
pub fn namespaced(group: &str, kind: &str, crd: Option<bool>) -> Option<bool> {
    builtin_namespaced(group, kind).or(crd).or_else(|| {
        super::catalog::catalog()
            .find(group, kind)
            .map(|c| c.namespaced)
    })
}

/// Whether kustomize's namespace transformer leaves an object of this apiVersion/kind alone
/// (see the module comment): its embedded OpenAPI knows the type and the type is cluster-scoped.
pub fn kustomize_cluster_scoped(api_version: &str, kind: &str) -> bool {
    kustomize_knows(api_version, kind)
        && builtin_namespaced(api_group(api_version), kind) == Some(false)
}

fn kustomize_knows(api_version: &str, kind: &str) -> bool {
    KUSTOMIZE_OPENAPI.lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some(api_version) && words.any(|k| k == kind)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kustomize_type_resolves_to_a_cluster_scoped_builtin_kind() {
        for line in KUSTOMIZE_OPENAPI.lines() {
            let mut words = line.split_whitespace();
            let api_version = words.next().unwrap();
            for kind in words {
                assert_eq!(
                    builtin_namespaced(api_group(api_version), kind),
                    Some(false),
                    "{api_version} {kind}"
                );
                assert!(kustomize_cluster_scoped(api_version, kind));
            }
        }
    }

    #[test]
    fn a_kind_keeps_its_scope_in_every_bundle() {
        let mut seen: HashMap<(String, String), (bool, &str)> = HashMap::new();
        for v in SUPPORTED_VERSIONS {
            for e in bundle::bundle(v).unwrap().kinds() {
                let key = (e.group.clone(), e.kind.clone());
                if let Some((ns, first)) = seen.get(&key) {
                    assert_eq!(*ns, e.namespaced, "{key:?}: {first} vs {v}");
                } else {
                    seen.insert(key, (e.namespaced, v));
                }
            }
        }
    }

    #[test]
    fn builtin_scopes_come_from_the_bundles() {
        for (group, kind, namespaced) in [
            ("", "Namespace", false),
            ("", "PersistentVolume", false),
            ("rbac.authorization.k8s.io", "ClusterRole", false),
            ("storage.k8s.io", "StorageClass", false),
            ("storage.k8s.io", "VolumeAttributesClass", false),
            (
                "admissionregistration.k8s.io",
                "ValidatingAdmissionPolicy",
                false,
            ),
            ("resource.k8s.io", "DeviceClass", false),
            ("policy", "PodSecurityPolicy", false),
            ("apps", "Deployment", true),
            ("", "ConfigMap", true),
            ("rbac.authorization.k8s.io", "RoleBinding", true),
        ] {
            assert_eq!(
                builtin_namespaced(group, kind),
                Some(namespaced),
                "{group} {kind}"
            );
        }
        assert_eq!(builtin_namespaced("example.com", "StorageClass"), None);
        assert_eq!(builtin_namespaced("", "Deployment"), None);
    }

    #[test]
    fn crds_then_the_catalog_answer_for_custom_kinds() {
        // A built-in kind's scope cannot be changed by a CRD.
        assert_eq!(namespaced("", "Namespace", Some(true)), Some(false));
        assert_eq!(
            namespaced("example.com", "Widget", Some(false)),
            Some(false)
        );
        assert_eq!(namespaced("example.com", "Widget", None), None);
        // cert-manager's ClusterIssuer is in the built-in catalog.
        assert_eq!(
            namespaced("cert-manager.io", "ClusterIssuer", None),
            Some(false)
        );
        assert_eq!(namespaced("cert-manager.io", "Issuer", None), Some(true));
        // The run's CRD wins over the catalog.
        assert_eq!(
            namespaced("cert-manager.io", "ClusterIssuer", Some(true)),
            Some(true)
        );
    }

    #[test]
    fn kustomize_decides_by_apiversion_and_kind_of_its_own_openapi() {
        for (api_version, kind) in [
            ("v1", "Namespace"),
            ("v1", "PersistentVolume"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
            ("storage.k8s.io/v1", "StorageClass"),
            ("policy/v1beta1", "PodSecurityPolicy"),
            ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
        ] {
            assert!(
                kustomize_cluster_scoped(api_version, kind),
                "{api_version} {kind}"
            );
        }
        // Cluster-scoped for the API server but unknown to kustomize's v1.21.2 OpenAPI (checked
        // against `kubectl kustomize` by tests/render/kustomize/namespace-scope).
        for (api_version, kind) in [
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicy",
            ),
            ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"),
            ("networking.k8s.io/v1", "IPAddress"),
            ("storage.k8s.io/v1", "VolumeAttributesClass"),
            ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
            ("example.com/v1", "StorageClass"),
            ("cert-manager.io/v1", "ClusterIssuer"),
            ("apps/v1", "Deployment"),
        ] {
            assert!(
                !kustomize_cluster_scoped(api_version, kind),
                "{api_version} {kind}"
            );
        }
    }
}
