# policy/host-access (error): no host namespaces and no hostPath volumes.
#
# What it checks: pod specs do not set `hostNetwork`, `hostPID` or `hostIPC` to true and mount no
# `hostPath` volume.
#
# Why: host namespaces let a pod see and talk to every process and network interface of the node;
# a hostPath volume gives it the node's files (the container runtime socket, kubelet
# credentials). Either lets a compromised pod take over the node.
#
# Fix: remove the field or the volume; use a Service, an emptyDir, a ConfigMap or a
# PersistentVolumeClaim instead. Node agents that really need the host (CNI, log shippers) get
# an exception with a reason (`kgate.dev/ignore: "policy/host-access=reason"`).
package kgate.host_access

import data.kgate.lib

deny contains {"msg": msg, "path": array.concat(ps.path, [field])} if {
	some ps in lib.pod_specs
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	ps.spec[field] == true
	msg := sprintf("the pod shares the node's namespace: %s: true", [field])
}

deny contains {"msg": msg, "path": array.concat(ps.path, ["volumes", i, "hostPath"])} if {
	some ps in lib.pod_specs
	some i, v in lib.members(ps.spec.volumes)
	v.hostPath
	msg := sprintf("volume %q mounts a path of the node (hostPath)", [object.get(v, "name", "?")])
}
