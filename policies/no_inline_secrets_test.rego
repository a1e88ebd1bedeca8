package kgate.no_inline_secrets_test

import data.kgate.no_inline_secrets

pod(env) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "a", "env": env}]}}

configmap(data) := {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}

findings(obj) := fs if {
	fs := no_inline_secrets.deny with input as obj
}

test_password_literal_fails_and_message_hides_value if {
	fs := findings(pod([{"name": "DB_PASSWORD", "value": "hunter2-very-secret"}]))
	count(fs) == 1
	some f in fs
	f.path == ["spec", "containers", 0, "env", 0, "value"]
	contains(f.msg, "DB_PASSWORD")
	contains(f.msg, "secretKeyRef")
	not contains(f.msg, "hunter2")
}

test_short_and_numeric_values_under_credential_names_fail if {
	count(findings(pod([{"name": "SHORT_PASSWORD", "value": "1234567"}]))) == 1
	count(findings(pod([{"name": "signingKey", "value": "abcd"}]))) == 1
}

test_secret_key_ref_passes if {
	count(findings(pod([{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]))) == 0
}

test_plain_settings_pass if {
	count(findings(pod([{"name": "LOG_LEVEL", "value": "debug"}, {"name": "TOKEN_TTL", "value": "$(TTL)"}, {"name": "URL", "value": "https://example.com/a"}]))) == 0
}

test_references_and_names_of_secrets_pass if {
	count(findings(pod([
		{"name": "DB_PASSWORD", "value": "op://vault/db/password"},
		{"name": "API_TOKEN", "value": "vault:secret/data/api#token"},
		{"name": "SIGNING_KEY", "value": "ref+awssecrets://prod/signing"},
		{"name": "DB_PASSWORD_2", "value": "${DB_PASSWORD}"},
		{"name": "CLIENT_SECRET", "value": "<path:kv/data/app#client_secret>"},
		{"name": "DB_SECRET_NAME", "value": "postgres-credentials"},
		{"name": "TOKEN_PATH", "value": "/var/run/secrets/tokens/api"},
	]))) == 0
}

test_token_formats_fail_whatever_the_name if {
	count(findings(pod([{"name": "GH", "value": "ghp_0123456789abcdefABCDEF0123456789abcd"}]))) == 1
	count(findings(pod([{"name": "GL", "value": "glpat-0123456789abcdefABCD"}]))) == 1
	count(findings(pod([{"name": "AWS", "value": "AKIAIOSFODNN7EXAMPLE"}]))) == 1
	count(findings(pod([{"name": "SLACK", "value": "xoxb-1234567890-abcdefghij"}]))) == 1
	count(findings(pod([{"name": "DB", "value": "postgres://app:hunter2@db:5432/app"}]))) == 1
	count(findings(pod([{"name": "K", "value": "q8Zr3vT1xK9mW2pL7sN4bY6cF0hJ5dG"}]))) == 1
	count(findings(pod([{"name": "HDR", "value": "Authorization: Bearer abcDEF0123456789"}]))) == 1
	count(findings(pod([{"name": "ARGS", "value": "--key=ghp_abcdefghijklmnopqrstuvwxyzABCD"}]))) == 1
}

test_configmap_credential_fails if {
	cm := configmap({"api_key": "abc123def456", "mode": "fast", "app.properties": "db.user=app\ndb.password=hunter22\n", "signingKey": "k3y", "connectionString": "Server=db;Password=x1"})
	paths := {f.path | some f in findings(cm)}
	paths == {["data", "api_key"], ["data", "app.properties"], ["data", "signingKey"], ["data", "connectionString"]}
}

test_configmap_settings_pass if {
	count(findings(configmap({"app.toml": "[plaid]\nlink_token = false\ntoken_ttl = 30\n", "DB_SECRET_NAME": "db", "passwordMtime": "2024-01-01"}))) == 0
}

test_plain_secret_fails_once_listing_its_keys if {
	s := {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "abc", "pin": 1234567}}
	fs := findings(s)
	count(fs) == 1
	some f in fs
	f.path == ["data"]
	contains(f.msg, `data key "password"`)
	contains(f.msg, `stringData keys "pin", "token"`)
}

test_secret_of_references_passes if {
	count(findings({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "<path:kv/data/db#password>", "token": "${TOKEN}"}})) == 0
}

test_sops_secret_passes if {
	count(findings({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]"}, "sops": {"version": "3.8.1"}})) == 0
	count(findings({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "ENC[AES256_GCM,data:abc,type:str]"}})) == 0
}

test_sealed_and_external_secrets_pass if {
	count(findings({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "s"}, "spec": {"encryptedData": {"password": "AgBy8hCi"}}})) == 0
	count(findings({"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret", "metadata": {"name": "s"}, "spec": {"data": [{"secretKey": "password"}]}})) == 0
}

test_service_account_token_without_data_passes if {
	count(findings({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {"name": "s", "annotations": {"kubernetes.io/service-account.name": "app"}}})) == 0
}
