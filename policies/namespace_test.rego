package kgate.namespace_test

import data.kgate.namespace

kinds := {"apps/v1/Deployment": true, "v1/Namespace": false}

test_namespaced_without_namespace_fails if {
	fs := namespace.warn with input as {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}} with data.kgate.namespaced as kinds
	{f.path | some f in fs} == {["metadata"]}
}

test_namespaced_with_namespace_passes if {
	count(namespace.warn) == 0 with input as {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "prod"}} with data.kgate.namespaced as kinds
}

test_cluster_scoped_passes if {
	count(namespace.warn) == 0 with input as {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}} with data.kgate.namespaced as kinds
}

test_unknown_kind_passes if {
	count(namespace.warn) == 0 with input as {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}} with data.kgate.namespaced as kinds
}
