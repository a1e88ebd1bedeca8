package kgate.privileged_test

import data.kgate.privileged

pod(sc) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "a", "securityContext": sc}]}}

test_privileged_fails_at_field if {
	fs := privileged.deny with input as pod({"privileged": true})
	count(fs) == 1
	some f in fs
	f.path == ["spec", "containers", 0, "securityContext", "privileged"]
}

test_privilege_escalation_fails if count(privileged.deny) == 1 with input as pod({"allowPrivilegeEscalation": true})

test_unprivileged_passes if count(privileged.deny) == 0 with input as pod({"privileged": false, "allowPrivilegeEscalation": false})

test_no_security_context_passes if {
	count(privileged.deny) == 0 with input as {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "a"}]}}
}
