package main

deny[msg] {
  not input.metadata.labels.team
  msg := sprintf("%s %s has no team label", [input.kind, input.metadata.name])
}

warn_replicas[{"msg": "one replica only", "path": ["spec", "replicas"], "ticket": "OPS-1"}] {
  input.spec.replicas == 1
}
