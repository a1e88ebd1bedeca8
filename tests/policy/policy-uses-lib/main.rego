# A team's policy built on kgate's shared library: every container keeps its root file system
# read-only, and the finding points at the container.
package main

import data.kgate.lib

deny contains {"msg": msg, "path": c.path} if {
	some c in lib.containers
	not c.container.securityContext.readOnlyRootFilesystem
	msg := sprintf("%s: set securityContext.readOnlyRootFilesystem: true", [lib.describe(c)])
}
