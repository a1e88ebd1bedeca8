package k8s.images

import rego.v1

violation contains {"msg": msg, "path": "/spec/template/spec/containers/0/image"} if {
	some c in input.spec.template.spec.containers
	not startswith(c.image, data.registry.allowed)
	msg := sprintf("image %s is not from %s", [c.image, data.registry.allowed])
}

exception contains rules if {
	input.metadata.name == "legacy"
	rules := [""]
}
