package kgate.run_as_non_root_test

import data.kgate.run_as_non_root

pod(pod_sc, c_sc) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"securityContext": pod_sc, "containers": [{"name": "app", "image": "a", "securityContext": c_sc}]}}

test_pod_level_non_root_passes if count(run_as_non_root.warn) == 0 with input as pod({"runAsNonRoot": true}, {})

test_container_level_non_root_passes if count(run_as_non_root.warn) == 0 with input as pod({}, {"runAsNonRoot": true})

test_missing_fails_at_container if {
	fs := run_as_non_root.warn with input as pod({}, {})
	count(fs) == 1
	some f in fs
	f.path == ["spec", "containers", 0]
}

test_container_override_to_false_fails if count(run_as_non_root.warn) == 1 with input as pod({"runAsNonRoot": true}, {"runAsNonRoot": false})

test_run_as_user_zero_fails if {
	fs := run_as_non_root.warn with input as pod({"runAsNonRoot": true}, {"runAsUser": 0})
	{f.path | some f in fs} == {["spec", "containers", 0, "securityContext", "runAsUser"]}
}
