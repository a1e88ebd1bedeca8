# policy/probes (warning): Deployments and StatefulSets declare liveness and readiness probes.
#
# What it checks: every container (not init containers) of a Deployment or StatefulSet has a
# `livenessProbe` and a `readinessProbe`.
#
# Why: without a readiness probe a rollout sends traffic to pods before they can serve it, and
# `kubectl rollout status` (and Flux/Argo CD health checks) report success too early; without a
# liveness probe a hung process is never restarted.
#
# Fix: add an httpGet, tcpSocket, grpc or exec probe for each; a startupProbe covers slow starts.
package kgate.probes

import data.kgate.lib

kinds := {"Deployment", "StatefulSet"}

warn contains {"msg": msg, "path": c.path} if {
	input.kind in kinds
	lib.api_group == "apps"
	some c in lib.containers
	c.field == "containers"
	some probe in ["livenessProbe", "readinessProbe"]
	not c.container[probe]
	msg := sprintf("%s has no %s", [lib.describe(c), probe])
}
