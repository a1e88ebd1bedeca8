# Rules over the plan of a merge request for production units (a unit whose path or name has a
# `prod` or `production` segment): replicas never set to 0, images only changed to
# commit-pinned tags (or digests), resource limits never removed.
# `kgate check --base main --policy examples/plan-policies` enforces them; `kgate verify
# examples/plan-policies` runs their tests.
package plan.production

import rego.v1

production_pattern := `(^|[/-])(prod|production)([/-]|$)`

production(unit) if {
	some p in unit.paths
	regex.match(production_pattern, p)
}

production(unit) if regex.match(production_pattern, unit.name)

# Every changed field of a production unit, with its change.
changed contains [unit, change, field] if {
	some unit in input.units
	production(unit)
	some change in unit.changes
	change.action == "update"
	some field in change.fields
}

finding(unit, change, field, what) := {
	"msg": sprintf("%s %s/%s in %s: %s", [
		change.resource.kind, change.resource.namespace, change.resource.name, unit.name, what,
	]),
	"resource": change.resource,
	"path": field.path,
}

deny_scale_to_zero contains result if {
	some [unit, change, field] in changed
	field.path == "spec.replicas"
	field.after == 0
	result := finding(unit, change, field, "replicas set to 0 in production")
}

# A digest, or a tag ending in a commit hash (`1f3e2a9`, `release-12-1f3e2a9c`).
pinned(image) if regex.match(`@sha256:[0-9a-f]{64}$`, image)

pinned(image) if {
	parts := split(image, ":")
	tag := parts[count(parts) - 1]
	count(parts) > 1
	not contains(tag, "/")
	regex.match(`(^|[-_.])[0-9a-f]{7,40}$`, tag)
}

deny_unpinned_image contains result if {
	some [unit, change, field] in changed
	regex.match(`(^|[.\]])image$`, field.path)
	is_string(field.after)
	not pinned(field.after)
	result := finding(unit, change, field, sprintf(
		"image changed to %s, which is not pinned to a commit (a tag ending in a commit hash, or a digest)",
		[field.after],
	))
}

deny_limits_removed contains result if {
	some [unit, change, field] in changed
	regex.match(`resources\.limits(\.|$)`, field.path)
	field.before != null
	field.after == null
	result := finding(unit, change, field, sprintf("resource limit %s removed in production", [field.path]))
}
