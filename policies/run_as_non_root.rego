# policy/run-as-non-root (warning): containers are required to run as a non-root user.
#
# What it checks: every container runs with `runAsNonRoot: true`, set on the container's
# `securityContext` or inherited from the pod's `securityContext` (a container's own setting
# wins), and no container or pod sets `runAsUser: 0`.
#
# Why: a process running as root inside a container is one kernel bug or one mounted socket away
# from root on the node. `runAsNonRoot` makes the kubelet refuse to start an image that would
# run as root.
#
# Fix: set `securityContext.runAsNonRoot: true` on the pod (and a non-zero `runAsUser` if the
# image's user is root).
package kgate.run_as_non_root

import data.kgate.lib

non_root(c) if c.container.securityContext.runAsNonRoot == true

non_root(c) if {
	not has_key(object.get(c.container, "securityContext", {}), "runAsNonRoot")
	c.pod_spec.spec.securityContext.runAsNonRoot == true
}

has_key(o, k) if {
	is_object(o)
	_ = o[k]
}

warn contains {"msg": msg, "path": c.path} if {
	some c in lib.containers
	c.field != "ephemeralContainers"
	not non_root(c)
	msg := sprintf("%s does not set runAsNonRoot: true (on itself or on the pod)", [lib.describe(c)])
}

warn contains {"msg": msg, "path": array.concat(c.path, ["securityContext", "runAsUser"])} if {
	some c in lib.containers
	c.container.securityContext.runAsUser == 0
	msg := sprintf("%s runs as root (runAsUser: 0)", [lib.describe(c)])
}

warn contains {"msg": "the pod runs as root (runAsUser: 0)", "path": array.concat(ps.path, ["securityContext", "runAsUser"])} if {
	some ps in lib.pod_specs
	ps.spec.securityContext.runAsUser == 0
}
