package kgate.image_tag_commit_test

import data.kgate.image_tag_commit

pod(image) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": image}]}}

deployment(image) := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"initContainers": [{"name": "init", "image": "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}], "containers": [{"name": "app", "image": image}]}}}}

passes(obj) if count(image_tag_commit.deny) == 0 with input as obj

fails(obj) if count(image_tag_commit.deny) > 0 with input as obj

test_commit_tag_passes if passes(pod("registry.example.com/app:release-1179-344b590f"))

test_full_sha_tag_passes if passes(pod("app:0123456789abcdef0123456789abcdef01234567"))

test_digest_passes if passes(pod("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))

test_latest_fails if fails(pod("nginx:latest"))

test_missing_tag_fails if fails(pod("nginx"))

test_semver_and_stable_fail if {
	fails(pod("app:v1"))
	fails(pod("app:stable"))
	fails(pod("app:1.2.3"))
}

test_registry_port_is_not_a_tag if fails(pod("registry.local:5000/app"))

test_registry_port_with_commit_tag_passes if passes(pod("registry.local:5000/team/app:344b590f"))

test_six_hex_chars_is_too_short if fails(pod("app:release-344b59"))

test_deployment_template_checked_and_path_points_at_image if {
	findings := image_tag_commit.deny with input as deployment("app:latest")
	count(findings) == 1
	some f in findings
	f.path == ["spec", "template", "spec", "containers", 0, "image"]
	contains(f.msg, "container \"app\"")
}

test_cronjob_and_init_containers_checked if {
	cj := {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"initContainers": [{"name": "i", "image": "x:latest"}], "containers": [{"name": "a", "image": "x:344b590f"}]}}}}}}
	findings := image_tag_commit.deny with input as cj
	count(findings) == 1
	some f in findings
	f.path == ["spec", "jobTemplate", "spec", "template", "spec", "initContainers", 0, "image"]
}

test_configured_pattern_is_used if {
	passes(pod("app:v1.2.3")) with data.kgate.config.image_tag_pattern as `^v[0-9]+\.[0-9]+\.[0-9]+$`
	fails(pod("app:344b590f")) with data.kgate.config.image_tag_pattern as `^v[0-9]+\.[0-9]+\.[0-9]+$`
}

test_other_kinds_ignored if passes({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"image": "nginx"}})

own_and_third_party(image) := findings if {
	findings := image_tag_commit.deny with input as pod(image)
		with data.kgate.config.own_registries as ["registry.example.com/team/", "ghcr.io/acme"]
}

test_own_registries_hold_own_images_to_commit_tags if {
	count(own_and_third_party("registry.example.com/team/app:1.2.3")) == 1
	count(own_and_third_party("ghcr.io/acme/api:v2.0.0")) == 1
	count(own_and_third_party("ghcr.io/acme/api:release-344b590f")) == 0
	some f in own_and_third_party("ghcr.io/acme/api:latest")
	not contains(f.msg, "own_registries")
}

test_third_party_images_need_a_version_not_a_commit if {
	count(own_and_third_party("nginx:1.25.3")) == 0
	count(own_and_third_party("postgres:16.2-alpine")) == 0
	count(own_and_third_party("ubuntu:jammy-20240227")) == 0
	count(own_and_third_party("ghcr.io/acme-other/tool:0.4")) == 0
	count(own_and_third_party("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")) == 0
}

test_third_party_images_must_not_float if {
	some f in own_and_third_party("redis:7")
	contains(f.msg, "third-party image \"redis:7\" is not pinned to a version (tag \"7\" moves to new releases)")
	count(own_and_third_party("nginx")) == 1
	count(own_and_third_party("nginx:latest")) == 1
	count(own_and_third_party("nginx:alpine")) == 1
	count(own_and_third_party("nginx@sha256:short")) == 1
}

test_without_own_registries_the_finding_says_how_to_set_them if {
	some f in image_tag_commit.deny with input as pod("nginx:1.25.3")
	contains(f.msg, "`own_registries:` in .kgate.yaml")
}
