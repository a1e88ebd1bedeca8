package kgate.resources_test

import data.kgate.resources

pod(res) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "a:344b590f", "resources": res}]}}

full := {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}

messages(obj) := {f.msg | some f in resources.deny with input as obj}

test_complete_resources_pass if count(resources.deny) == 0 with input as pod(full)

test_no_cpu_limit_passes_by_default if {
	count(resources.deny) == 0 with input as pod({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}})
}

test_cpu_limit_required_when_configured if {
	msgs := messages(pod({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}})) with data.kgate.config.require_cpu_limit as true
	msgs == {"container \"app\" has no cpu limit"}
}

test_missing_everything_points_at_container if {
	findings := resources.deny with input as {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a"}]}}}}
	count(findings) == 3
	every f in findings {
		f.path == ["spec", "template", "spec", "containers", 0]
	}
}

test_request_above_limit_fails if {
	findings := resources.deny with input as pod({"requests": {"cpu": "1500m", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})
	paths := {f.path | some f in findings}
	paths == {
		["spec", "containers", 0, "resources", "requests", "cpu"],
		["spec", "containers", 0, "resources", "requests", "memory"],
	}
}

test_quantities_compare_as_numbers if {
	count(resources.deny) == 0 with input as pod({"requests": {"cpu": 0.5, "memory": "900Mi"}, "limits": {"cpu": 1, "memory": "1G"}})
	count(resources.deny) == 1 with input as pod({"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1500m", "memory": "1Gi"}})
	# 1000Mi is more than 1G (10^9 bytes).
	count(resources.deny) == 1 with input as pod({"requests": {"cpu": "1", "memory": "1000Mi"}, "limits": {"cpu": "1", "memory": "1G"}})
}

test_invalid_quantity_reported if {
	msgs := messages(pod({"requests": {"cpu": "lots", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}))
	msgs == {"container \"app\" has an invalid cpu request quantity lots"}
}

test_init_containers_checked_ephemeral_not if {
	obj := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"initContainers": [{"name": "i", "image": "a"}], "containers": [{"name": "app", "image": "a", "resources": full}], "ephemeralContainers": [{"name": "dbg", "image": "a"}]}}
	count(messages(obj)) == 3
	every m in messages(obj) {
		startswith(m, "init container \"i\"")
	}
}

# Every spelling the Kubernetes quantity grammar allows is a quantity: a bare trailing point,
# a leading `+`, micro as `u`.
test_kubernetes_quantity_spellings_are_valid if {
	count(resources.deny) == 0 with input as pod({"requests": {"cpu": "1.", "memory": "+512Mi"}, "limits": {"cpu": "2000000u", "memory": "1Gi"}})
	count(resources.deny) == 1 with input as pod({"requests": {"cpu": "3000000u", "memory": "1Gi"}, "limits": {"cpu": "2.", "memory": "1Gi"}})
}

# A malformed manifest (resources as a list, containers as a string) is the schema check's
# finding; the policy neither fails nor invents findings.
test_malformed_shapes_do_not_fail_the_policy if {
	count(resources.deny) == 0 with input as {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": "app"}}
	messages(pod({"requests": "1", "limits": {"cpu": "1", "memory": "1Gi"}})) == {"container \"app\" has no cpu request", "container \"app\" has no memory request"}
}
