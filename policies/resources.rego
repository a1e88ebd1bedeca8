# policy/resources (error): every container declares cpu and memory requests and a memory limit.
#
# What it checks: each container and init container of a workload has `resources.requests.cpu`,
# `resources.requests.memory` and `resources.limits.memory`, and no request is larger than its
# limit (quantities are compared as numbers: `500m` < `1`, `512Mi` < `1Gi`). A cpu limit is
# required only with `require_cpu_limit: true` in .kgate.yaml: cpu limits throttle, and many
# teams deliberately set none.
#
# Why: without requests the scheduler packs pods blindly and evicts them first under pressure;
# without a memory limit one leaking container can take the node's memory. A request above its
# limit is rejected by the API server.
#
# Fix: add `resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}` sized
# from the container's real usage.
package kgate.resources

import data.kgate.lib

checked_fields := {"containers", "initContainers"}

required contains ["requests", "cpu"]

required contains ["requests", "memory"]

required contains ["limits", "memory"]

required contains ["limits", "cpu"] if data.kgate.config.require_cpu_limit == true

deny contains {"msg": msg, "path": c.path} if {
	some c in lib.containers
	c.field in checked_fields
	some r in required
	not has(c.container, r)
	msg := sprintf("%s has no %s %s", [lib.describe(c), r[1], singular[r[0]]])
}

deny contains {"msg": msg, "path": array.concat(c.path, ["resources", "requests", res])} if {
	some c in lib.containers
	c.field in checked_fields
	some res, req in lib.members(c.container.resources.requests)
	limit := c.container.resources.limits[res]
	quantity(req) > quantity(limit)
	msg := sprintf("%s requests more %s (%v) than its limit (%v)", [lib.describe(c), res, req, limit])
}

deny contains {"msg": msg, "path": array.concat(c.path, ["resources", kind, res])} if {
	some c in lib.containers
	c.field in checked_fields
	some kind in ["requests", "limits"]
	some res, q in lib.members(c.container.resources[kind])
	not quantity(q)
	msg := sprintf("%s has an invalid %s %s quantity %v", [lib.describe(c), res, singular[kind], q])
}

singular := {"requests": "request", "limits": "limit"}

has(c, r) if {
	v := c.resources[r[0]][r[1]]
	v != null
	v != ""
}

quantity(q) := q if is_number(q)

quantity(q) := n if {
	is_string(q)
	regex.match(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$`, q)
	n := units.parse(q)
}
