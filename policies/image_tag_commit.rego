# policy/image-tag-commit (error): every container image is pinned to a digest or a commit tag.
#
# What it checks: the image of every container, init container and ephemeral container (Pods,
# and the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs,
# ReplicationControllers and PodTemplates) carries a digest (`app@sha256:…`) or a tag containing
# a git commit id: 7 to 40 hex characters as a whole `-`/`_`/`.`-separated part of the tag, as in
# `release-1179-344b590f`. `latest`, `v1`, `stable` and a missing tag (which means `latest`) fail.
# A registry port (`registry:5000/app`) is not a tag.
#
# Why: a moving tag makes the cluster run whatever was pushed last; a rollback or a new node can
# start a different image than the one reviewed in the merge request.
#
# Fix: deploy the image by digest or by the tag your CI builds from the commit. The accepted tag
# pattern is configurable: `image_tag_pattern: REGEX` in .kgate.yaml (or --image-tag-pattern).
package kgate.image_tag_commit

import data.kgate.lib

default_pattern := `(^|[-_.])[0-9a-f]{7,40}($|[-_.])`

pattern := p if {
	p := data.kgate.config.image_tag_pattern
	is_string(p)
	p != ""
} else := default_pattern

# The tag of an image reference, "" when it has none. Only the last path segment can hold a
# tag: in `host:5000/app` the colon belongs to the registry.
tag(image) := t if {
	parts := split(image, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	t := split(last, ":")[1]
} else := ""

pinned(image) if {
	contains(image, "@sha256:")
	regex.match(`@sha256:[0-9a-f]{64}$`, image)
}

pinned(image) if {
	not contains(image, "@")
	regex.match(pattern, tag(image))
}

deny contains {"msg": msg, "path": array.concat(c.path, ["image"])} if {
	some c in lib.containers
	image := c.container.image
	is_string(image)
	not pinned(image)
	msg := sprintf("%s image %q is not pinned to a digest or a commit tag (%s)", [lib.describe(c), image, why(image)])
}

deny contains {"msg": msg, "path": c.path} if {
	some c in lib.containers
	c.field != "ephemeralContainers"
	not c.container.image
	msg := sprintf("%s has no image", [lib.describe(c)])
}

why(image) := "a digest that is not sha256:<64 hex>" if contains(image, "@")

else := "no tag, which means latest" if tag(image) == ""

else := sprintf("tag %q does not carry a commit id", [tag(image)])
