package k8s.images_test

import rego.v1

import data.k8s.images

dep(image) := {"kind": "Deployment", "metadata": {"name": "x"}, "spec": {"template": {"spec": {"containers": [{"image": image}]}}}}

test_allowed if {
	count(images.violation) == 0 with input as dep("registry.example.com/a:1") with data.registry.allowed as "registry.example.com/"
}

test_denied if {
	count(images.violation) == 1 with input as dep("docker.io/a:1") with data.registry.allowed as "registry.example.com/"
}
