package plan.production_test

import rego.v1

import data.plan.production

# A plan with one update of a Deployment in a unit at `path`.
plan(path, field, before, after) := {"units": [{
	"name": "flux-system/apps",
	"kind": "Kustomization",
	"path": path,
	"paths": [path],
	"changes": [{
		"action": "update",
		"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
		"fields": [{"path": field, "before": before, "after": after}],
	}],
}]}

image := "spec.template.spec.containers[name=web].image"

test_scale_to_zero_in_production_is_denied if {
	count(production.deny_scale_to_zero) == 1 with input as plan("clusters/production/apps", "spec.replicas", 3, 0)
}

test_scale_to_zero_in_staging_is_allowed if {
	count(production.deny_scale_to_zero) == 0 with input as plan("clusters/staging/apps", "spec.replicas", 3, 0)
}

test_scaling_down_is_allowed if {
	count(production.deny_scale_to_zero) == 0 with input as plan("clusters/production/apps", "spec.replicas", 3, 1)
}

test_the_finding_names_the_field if {
	some r in production.deny_scale_to_zero with input as plan("apps/prod", "spec.replicas", 3, 0)
	r.path == "spec.replicas"
	r.resource.name == "web"
}

test_unpinned_image_is_denied if {
	count(production.deny_unpinned_image) == 1 with input as plan("clusters/prod", image, "ghcr.io/acme/web:1f3e2a9", "ghcr.io/acme/web:latest")
}

test_commit_pinned_tag_is_allowed if {
	count(production.deny_unpinned_image) == 0 with input as plan("clusters/prod", image, "ghcr.io/acme/web:1f3e2a9", "ghcr.io/acme/web:release-12-3b9d0c1e")
}

test_digest_is_allowed if {
	digest := concat("", ["ghcr.io/acme/web@sha256:", concat("", [x | some _ in numbers.range(1, 64); x := "a"])])
	count(production.deny_unpinned_image) == 0 with input as plan("clusters/prod", image, "ghcr.io/acme/web:1f3e2a9", digest)
}

test_registry_port_without_tag_is_not_pinned if {
	count(production.deny_unpinned_image) == 1 with input as plan("clusters/prod", image, "a:1f3e2a9", "registry:5000/acme/web")
}

test_removed_limit_is_denied if {
	count(production.deny_limits_removed) == 1 with input as plan("clusters/prod", "spec.template.spec.containers[name=web].resources.limits.memory", "512Mi", null)
}

test_raised_limit_is_allowed if {
	count(production.deny_limits_removed) == 0 with input as plan("clusters/prod", "spec.template.spec.containers[name=web].resources.limits.memory", "512Mi", "1Gi")
}
