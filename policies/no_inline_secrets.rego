# policy/no-inline-secrets (error): no credential is written into a manifest.
#
# What it checks: container env vars with a literal `value` whose name says credential
# (PASSWORD, TOKEN, SECRET, signingKey, connectionString, …) or whose value holds one (a private
# key block, a GitHub/GitLab/Slack/AWS/Stripe/npm/PyPI token, a JWT, a `Bearer` token, a URL
# with a password, a long random string — alone or inside a longer text); ConfigMap entries of
# the same kind, including `password=…` lines of embedded properties/INI/TOML/env files; and
# `kind: Secret` objects with plain `data` or `stringData` (one finding per Secret, listing its
# keys). Not credentials: references to a secret manager (`op://…`, `vault:…`, `ref+…`,
# argocd-vault-plugin `<path:…>`, `${VAR}` placeholders), resource paths, values of names that
# point at a credential (`DB_SECRET_NAME`, `tokenPath`, `passwordFile`) and booleans.
# SOPS-encrypted Secrets (a top-level `sops:` field or `ENC[…]` values), SealedSecrets and
# ExternalSecrets pass, as does a service-account-token Secret with no data.
# The finding never repeats the value.
#
# How: what is a credential is decided once, in kgate's secrets classifier, which every output's
# redaction also uses (so whatever this rule calls a credential is hidden everywhere). The
# builtin `kgate.inline_secrets(obj)` returns this rule's findings, `{"msg", "path"}`, for one
# object; the compiled pack calls the same code.
#
# Why: anything in git is readable by everyone with access to the repository, forever (history
# keeps it after the line is deleted), and is copied into CI logs and forks.
#
# Fix: for env vars use `valueFrom.secretKeyRef`; keep Secret objects encrypted with SOPS or as
# SealedSecrets, or fetch them with ExternalSecrets. Rotate a credential that was committed.
package kgate.no_inline_secrets

deny contains finding if {
	some finding in kgate.inline_secrets(input)
}
