# policy/namespace (warning): namespaced objects name their namespace.
#
# What it checks: an object of a namespaced kind (as the Kubernetes schemas and the CRDs in the
# run say) has `metadata.namespace`. Cluster-scoped kinds and kinds kgate knows nothing about are
# not checked.
#
# Why: without it, the object lands in whatever namespace the GitOps agent or `kubectl` defaults
# to (a Flux Kustomization's targetNamespace, the current context): the same file deploys to
# different places depending on who applies it.
#
# Fix: set `metadata.namespace`, or let a kustomization set it (`namespace:` in
# kustomization.yaml) and check the rendered output.
package kgate.namespace

warn contains {"msg": msg, "path": ["metadata"]} if {
	key := sprintf("%s/%s", [input.apiVersion, input.kind])
	data.kgate.namespaced[key] == true
	not has_namespace
	msg := sprintf("%s has no metadata.namespace", [input.kind])
}

has_namespace if {
	is_string(input.metadata.namespace)
	input.metadata.namespace != ""
}
