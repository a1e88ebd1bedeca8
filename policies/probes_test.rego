package kgate.probes_test

import data.kgate.probes

deploy(kind, c) := {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "d"}, "spec": {"template": {"spec": {"initContainers": [{"name": "init", "image": "a"}], "containers": [c]}}}}

probe := {"httpGet": {"path": "/healthz", "port": 8080}}

test_both_probes_pass if count(probes.warn) == 0 with input as deploy("Deployment", {"name": "app", "livenessProbe": probe, "readinessProbe": probe})

test_missing_readiness_fails_at_container if {
	fs := probes.warn with input as deploy("StatefulSet", {"name": "app", "livenessProbe": probe})
	count(fs) == 1
	some f in fs
	f.path == ["spec", "template", "spec", "containers", 0]
	contains(f.msg, "readinessProbe")
}

test_missing_both_fails_twice if count(probes.warn) == 2 with input as deploy("Deployment", {"name": "app"})

test_jobs_and_daemonsets_not_checked if {
	count(probes.warn) == 0 with input as deploy("DaemonSet", {"name": "app"})
	count(probes.warn) == 0 with input as {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}
}
