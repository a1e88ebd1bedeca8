package main

import rego.v1

deny contains msg if {
	input.kind == "Service"
	not input.metadata.labels.team
	msg := sprintf("service %s has no team label", [input.metadata.name])
}
