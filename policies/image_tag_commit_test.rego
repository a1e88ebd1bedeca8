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
