package kgate.host_access_test

import data.kgate.host_access

deploy(spec) := {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"}, "spec": {"template": {"spec": spec}}}

test_host_network_fails_at_field if {
	fs := host_access.deny with input as deploy({"hostNetwork": true, "containers": []})
	{f.path | some f in fs} == {["spec", "template", "spec", "hostNetwork"]}
}

test_host_pid_and_ipc_fail if count(host_access.deny) == 2 with input as deploy({"hostPID": true, "hostIPC": true})

test_host_path_volume_fails if {
	fs := host_access.deny with input as deploy({"volumes": [{"name": "cfg", "configMap": {"name": "x"}}, {"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}]})
	{f.path | some f in fs} == {["spec", "template", "spec", "volumes", 1, "hostPath"]}
}

test_plain_pod_passes if {
	count(host_access.deny) == 0 with input as deploy({"hostNetwork": false, "volumes": [{"name": "tmp", "emptyDir": {}}]})
}
