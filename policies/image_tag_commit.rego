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
# Your own images and third-party ones: with `own_registries:` in .kgate.yaml (e.g.
# `[ghcr.io/acme, registry.example.com/team]`), images under those prefixes must be pinned as
# above, and every other image only must not float: `latest`, no tag, or a tag without a full
# version (`:7`, `:alpine`, `:stable`) fail; a version with at least major.minor (`1.25.3`,
# `16.2-alpine`), a date/build number of six or more digits, a commit tag or a digest pass.
# Without `own_registries` every image is held to commit tags, and the finding says how to set it.
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

own_registries := [trim_right(r, "/") | some r in data.kgate.config.own_registries; is_string(r); r != ""]

default configured := false

configured if count(own_registries) > 0

# An image of the team's own registries (every image when none are configured).
own(image) if not configured

own(image) if {
	some r in own_registries
	startswith(image, concat("", [r, "/"]))
}

# A third-party tag that names a fixed release: major.minor or more, or a long build/date number.
versioned(t) if regex.match(`[0-9]+\.[0-9]+|[0-9]{6,}`, t)

accepted(image) if pinned(image)

accepted(image) if {
	not own(image)
	not contains(image, "@")
	versioned(tag(image))
}

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
	not accepted(image)
	msg := message(lib.describe(c), image)
}

message(who, image) := sprintf("%s image %q is not pinned to a digest or a commit tag (%s)%s", [who, image, why(image), own_hint]) if own(image)

# Without `own_registries` every image is held to commit tags: say how to tell them apart.
own_hint := "" if configured

else := "; list your own registries under `own_registries:` in .kgate.yaml to hold only those to commit tags (third-party images then need a full version or a digest)"

message(who, image) := sprintf("%s third-party image %q is not pinned to a version (%s): use a full version tag or a digest", [who, image, why_floating(image)]) if not own(image)

deny contains {"msg": msg, "path": c.path} if {
	some c in lib.containers
	c.field != "ephemeralContainers"
	not c.container.image
	msg := sprintf("%s has no image", [lib.describe(c)])
}

why(image) := "a digest that is not sha256:<64 hex>" if contains(image, "@")

else := "no tag, which means latest" if tag(image) == ""

else := sprintf("tag %q does not carry a commit id", [tag(image)])

why_floating(image) := "a digest that is not sha256:<64 hex>" if contains(image, "@")

else := "no tag, which means latest" if tag(image) == ""

else := sprintf("tag %q moves to new releases", [tag(image)])
