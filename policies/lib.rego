# Shared helpers of kgate's built-in policies (not a policy itself): where each workload kind
# keeps its pod spec, and every container of it with the path to it, so that every finding can
# point at the YAML node it is about.
package kgate.lib

# The API group of the input ("" for the core group).
api_group := g if {
	contains(input.apiVersion, "/")
	g := split(input.apiVersion, "/")[0]
} else := ""

# Kinds whose pod template is at spec.template.spec, with the groups that serve them.
templated := {
	"Deployment": {"apps", "extensions"},
	"StatefulSet": {"apps"},
	"DaemonSet": {"apps", "extensions"},
	"ReplicaSet": {"apps", "extensions"},
	"Job": {"batch"},
	"ReplicationController": {""},
}

pod_specs contains {"path": ["spec"], "spec": input.spec} if {
	input.kind == "Pod"
	api_group == ""
	is_object(input.spec)
}

pod_specs contains {"path": ["spec", "template", "spec"], "spec": input.spec.template.spec} if {
	api_group in templated[input.kind]
	is_object(input.spec.template.spec)
}

pod_specs contains {"path": ["spec", "jobTemplate", "spec", "template", "spec"], "spec": s} if {
	input.kind == "CronJob"
	api_group == "batch"
	s := input.spec.jobTemplate.spec.template.spec
	is_object(s)
}

pod_specs contains {"path": ["template", "spec"], "spec": input.template.spec} if {
	input.kind == "PodTemplate"
	api_group == ""
	is_object(input.template.spec)
}

# `x` when it is a collection, else an empty one. regorus makes `some … in` over a scalar an
# error (OPA makes it undefined), and a schema-invalid object (`env: "x"`, `data: "x"`) must
# get its schema finding, not fail a policy and with it the whole run.
members(x) := x if is_array(x)

members(x) := x if is_object(x)

members(x) := x if is_set(x)

members(x) := [] if {
	not is_array(x)
	not is_object(x)
	not is_set(x)
}

container_fields := ["initContainers", "containers", "ephemeralContainers"]

# Every container of every pod spec: {path, container, field, pod_spec}.
containers contains {"path": array.concat(ps.path, [field, i]), "container": c, "field": field, "pod_spec": ps} if {
	some ps in pod_specs
	some field in container_fields
	some i, c in members(ps.spec[field])
	is_object(c)
}

# A readable name for a container in messages.
describe(c) := sprintf("%s %q", [kind_word[c.field], object.get(c.container, "name", "?")])

kind_word := {
	"containers": "container",
	"initContainers": "init container",
	"ephemeralContainers": "ephemeral container",
}
