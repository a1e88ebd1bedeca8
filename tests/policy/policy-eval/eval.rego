package main

import rego.v1

deny contains msg if {
	n := input.metadata.name / 2
	msg := sprintf("%v", [n])
}
