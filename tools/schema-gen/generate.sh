#!/usr/bin/env bash
# Regenerates schemas/kubernetes-v1.NN.kgsb for every supported Kubernetes version.
# Usage: tools/schema-gen/generate.sh [1.33 1.34 ...]   (default: all of 1.33..1.37)
# Deterministic: re-running with the same Cargo.lock writes the same bytes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"
export CARGO_TARGET_DIR="$here/target"

# Where k8s-openapi's source is (build.rs scans it for the `impl crate::Resource for T` blocks).
meta="$(cargo metadata --format-version 1 --locked 2>/dev/null || cargo metadata --format-version 1)"
manifest="$(printf '%s' "$meta" | grep -o '"manifest_path":"[^"]*/k8s-openapi-[0-9][^"]*/Cargo.toml"' | head -n1 | sed 's/^"manifest_path":"//; s/"$//')"
[ -n "$manifest" ] || { echo "k8s-openapi not found in cargo metadata" >&2; exit 1; }
export K8S_OPENAPI_SRC="$(dirname "$manifest")"
k8s_ver="$(cargo pkgid k8s-openapi | sed 's/.*[@#]//')"
schemars_ver="$(cargo pkgid schemars | sed 's/.*[@#]//')"
export KGSB_GENERATOR="k8s-openapi $k8s_ver + schemars $schemars_ver"

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(1.33 1.34 1.35 1.36 1.37)
mkdir -p "$repo/schemas"
for v in "${versions[@]}"; do
  feature="v1_${v#1.}"
  cargo run --quiet --features "$feature" -- "$repo/schemas/kubernetes-v$v.kgsb" ${KGSB_DUMP:+--dump "$KGSB_DUMP/$v"}
done
