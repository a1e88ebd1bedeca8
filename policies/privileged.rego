# policy/privileged (error): no privileged container and no privilege escalation.
#
# What it checks: no container, init container or ephemeral container sets
# `securityContext.privileged: true` or `securityContext.allowPrivilegeEscalation: true`.
#
# Why: a privileged container has every capability and all host devices: it is root on the node.
# Privilege escalation lets a process gain more rights than its parent (setuid binaries). Both
# break the Pod Security "baseline"/"restricted" levels.
#
# Fix: remove the field or set it to false; grant the single capability the workload needs with
# `securityContext.capabilities.add` instead.
package kgate.privileged

import data.kgate.lib

deny contains {"msg": msg, "path": array.concat(c.path, ["securityContext", field])} if {
	some c in lib.containers
	some field in ["privileged", "allowPrivilegeEscalation"]
	c.container.securityContext[field] == true
	msg := sprintf("%s sets securityContext.%s: true", [lib.describe(c), field])
}
