# A conftest-style policy set over Deployments (the shape teams write for kgate / conftest):
# several `deny` rules and one `warn`, each walking the pod template's containers.
package main

import rego.v1

containers contains c if {
	some c in input.spec.template.spec.containers
}

containers contains c if {
	some c in input.spec.template.spec.initContainers
}

deny contains msg if {
	input.kind == "Deployment"
	some c in containers
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses the latest tag", [c.name])
}

deny contains msg if {
	input.kind == "Deployment"
	some c in containers
	not contains(c.image, ":")
	msg := sprintf("container %s has no image tag", [c.name])
}

deny contains msg if {
	input.kind == "Deployment"
	some c in containers
	not c.resources.limits.memory
	msg := sprintf("container %s has no memory limit", [c.name])
}

deny contains msg if {
	input.kind == "Deployment"
	some c in containers
	c.securityContext.privileged == true
	msg := sprintf("container %s is privileged", [c.name])
}

deny contains msg if {
	input.kind == "Deployment"
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("deployment %s does not set runAsNonRoot", [input.metadata.name])
}

deny contains msg if {
	input.kind == "Deployment"
	not input.metadata.labels["app.kubernetes.io/name"]
	msg := sprintf("deployment %s has no app.kubernetes.io/name label", [input.metadata.name])
}

deny contains msg if {
	input.kind == "Deployment"
	some v in input.spec.template.spec.volumes
	v.hostPath
	msg := sprintf("volume %s mounts a host path", [v.name])
}

deny contains msg if {
	input.kind == "Deployment"
	startswith(input.metadata.namespace, "prod")
	input.spec.replicas < 2
	msg := sprintf("deployment %s runs fewer than 2 replicas in production", [input.metadata.name])
}

warn contains msg if {
	input.kind == "Deployment"
	some c in containers
	not c.readinessProbe
	msg := sprintf("container %s has no readiness probe", [c.name])
}
