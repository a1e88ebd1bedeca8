# One environment per merge request: the changed files touch at most one cluster folder
# (`clusters/<environment>/…`), so that a change reaches production on its own and a rollback is
# one revert.
package plan.environments

import rego.v1

environments contains env if {
	some f in input.changed_files
	parts := split(f, "/")
	parts[0] == "clusters"
	count(parts) > 2
	env := parts[1]
}

deny contains msg if {
	count(environments) > 1
	msg := sprintf(
		"this merge request changes %d environments (%s): change one cluster folder per merge request",
		[count(environments), concat(", ", sort(environments))],
	)
}
