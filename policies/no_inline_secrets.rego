# policy/no-inline-secrets (error): no credential is written into a manifest.
#
# What it checks: container env vars with a literal `value` whose name says credential
# (PASSWORD, TOKEN, SECRET, API_KEY, …) or whose value looks like one (a private key block, a
# GitHub/GitLab/Slack/AWS/Stripe token, a JWT, a URL with a password, a long high-entropy
# string); ConfigMap entries of the same kind; and `kind: Secret` objects with plain `data` or
# `stringData`. SOPS-encrypted Secrets (a top-level `sops:` field or `ENC[…]` values),
# SealedSecrets and ExternalSecrets pass, as does a service-account-token Secret with no data.
# The finding never repeats the value.
#
# Why: anything in git is readable by everyone with access to the repository, forever (history
# keeps it after the line is deleted), and is copied into CI logs and forks.
#
# Fix: for env vars use `valueFrom.secretKeyRef`; keep Secret objects encrypted with SOPS or as
# SealedSecrets, or fetch them with ExternalSecrets. Rotate a credential that was committed.
package kgate.no_inline_secrets

import data.kgate.lib

secret_name_pattern := `(?i)(passw(or)?d|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth[_-]?key|signing[_-]?key|encryption[_-]?key|(^|_)pwd$|(^|_)pass$|(^|_)dsn$|connection[_-]?string)`

secret_value_patterns := [
	`-----BEGIN [A-Z ]*PRIVATE KEY-----`,
	`^(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}$`,
	`^github_pat_[A-Za-z0-9_]{20,}$`,
	`^glpat-[A-Za-z0-9_-]{20,}$`,
	`^xox[bpas]-[A-Za-z0-9-]{10,}$`,
	`^(AKIA|ASIA)[A-Z0-9]{16}$`,
	`^(sk|rk)_live_[A-Za-z0-9]{16,}$`,
	`^AIza[0-9A-Za-z_-]{35}$`,
	`^eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}$`,
	`^[a-z][a-z0-9+.-]*://[^/:@\s]+:[^/@\s$][^/@\s]*@`,
]

# A reference to something else, not a value: `$(VAR)`, `${VAR}`, or too short to be a secret.
# The `startswith` guard only skips the regex (a costly builtin in regorus) for values that
# cannot match it: the pattern needs a `$` right after the leading white space.
reference(v) if {
	startswith(trim_space(v), "$")
	regex.match(`^\s*(\$\(.*\)|\$\{.*\})\s*$`, v)
}

reference(v) if count(trim_space(v)) < 4

# All value patterns as one alternation: one regex call per value instead of ten.
secret_value_pattern := concat("|", [sprintf("(?:%s)", [p]) | some p in secret_value_patterns])

looks_secret_value(v) if regex.match(secret_value_pattern, v)

looks_secret_value(v) if high_entropy(v)

# A long string without spaces mixing letters and digits with many distinct characters: an API
# key written without a recognisable prefix. Dotted names (Java classes, hostnames) and paths are
# not keys.
high_entropy(v) if {
	count(v) >= 24
	count(v) <= 512
	not regex.match(`[\s/:.@]`, v)
	regex.match(`[0-9]`, v)
	regex.match(`[a-z]`, v)
	regex.match(`[A-Z]`, v)
	distinct := {c | some c in split(v, "")}
	count(distinct) >= 16
}

deny contains {"msg": msg, "path": array.concat(c.path, ["env", i, "value"])} if {
	some c in lib.containers
	some i, env in lib.members(c.container.env)
	v := env.value
	is_string(v)
	not reference(v)
	regex.match(secret_name_pattern, env.name)
	msg := sprintf("%s sets env %s to a literal value that looks like a credential; use valueFrom.secretKeyRef", [lib.describe(c), env.name])
}

deny contains {"msg": msg, "path": array.concat(c.path, ["env", i, "value"])} if {
	some c in lib.containers
	some i, env in lib.members(c.container.env)
	v := env.value
	is_string(v)
	not regex.match(secret_name_pattern, object.get(env, "name", ""))
	looks_secret_value(v)
	msg := sprintf("%s sets env %s to a value that looks like a credential; use valueFrom.secretKeyRef", [lib.describe(c), object.get(env, "name", "?")])
}

deny contains {"msg": msg, "path": [field, key]} if {
	input.kind == "ConfigMap"
	lib.api_group == ""
	some field in ["data", "binaryData"]
	some key, v in lib.members(input[field])
	is_string(v)
	configmap_secret(key, v)
	msg := sprintf("ConfigMap %s key %q looks like a credential; store it in an encrypted Secret (SOPS, SealedSecrets) and reference it", [field, key])
}

configmap_secret(key, v) if {
	regex.match(secret_name_pattern, key)
	not reference(v)
}

configmap_secret(_, v) if looks_secret_value(v)

# Lines of a file-like value (`application.properties`) that assign a credential literally.
configmap_secret(_, v) if {
	some line in split(v, "\n")
	parts := regex.find_all_string_submatch_n(`^\s*([A-Za-z0-9_.-]+)\s*[=:]\s*(\S+)\s*$`, line, 1)
	count(parts) == 1
	regex.match(secret_name_pattern, parts[0][1])
	not reference(parts[0][2])
}

deny contains {"msg": msg, "path": [field, key]} if {
	input.kind == "Secret"
	lib.api_group == ""
	not encrypted
	some field in ["data", "stringData"]
	some key, v in lib.members(input[field])
	not sops_value(v)
	msg := sprintf("Secret %s key %q is stored in plain text in git; encrypt the Secret with SOPS or use a SealedSecret or ExternalSecret", [field, key])
}

# SOPS keeps its metadata in a top-level `sops` field and every value as ENC[…].
encrypted if input.sops

sops_value(v) if {
	is_string(v)
	startswith(v, "ENC[")
}
