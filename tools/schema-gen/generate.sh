#!/usr/bin/env bash
# Regenerates schemas/kubernetes-v1.NN.kgsb for every supported Kubernetes version, and the CRD
# catalog schemas/catalog.kgsc from ../shared/crds (or $KGSC_CRDS).
# Usage: tools/schema-gen/generate.sh [1.30 1.31 ... | catalog]   (default: all versions + catalog)
# Deterministic: re-running with the same Cargo.lock and inputs writes the same bytes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"
export CARGO_TARGET_DIR="$here/target"

# --all-features: the k8s-openapi releases are optional, one per version feature.
meta="$(cargo metadata --all-features --format-version 1 --locked 2>/dev/null || cargo metadata --all-features --format-version 1)"
schemars_ver="$(cargo pkgid schemars | sed 's/.*[@#]//')"

# The k8s-openapi release that provides a Kubernetes minor version (see Cargo.toml's features).
k8s_openapi_for() {
  case "$1" in
    1.30|1.31|1.32) echo 0.26.1 ;;
    *) echo 0.29.0 ;;
  esac
}

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(1.30 1.31 1.32 1.33 1.34 1.35 1.36 1.37 catalog)
mkdir -p "$repo/schemas"
for v in "${versions[@]}"; do
  if [ "$v" = catalog ]; then
    crds="${KGSC_CRDS:-$repo/../shared/crds}"
    # Any version feature builds the binary; the catalog does not use k8s-openapi.
    export K8S_OPENAPI_SRC="$(printf '%s' "$meta" | grep -o '"manifest_path":"[^"]*/k8s-openapi-0.29.0/Cargo.toml"' | head -n1 | sed 's/^"manifest_path":"//; s/\/Cargo.toml"$//')"
    cargo run --quiet --features v1_37 -- catalog "$crds" "$repo/schemas/catalog.kgsc"
    continue
  fi
  k8s_ver="$(k8s_openapi_for "$v")"
  # Where that k8s-openapi's source is (build.rs scans it for the `impl crate::Resource for T` blocks).
  src="$(printf '%s' "$meta" | grep -o "\"manifest_path\":\"[^\"]*/k8s-openapi-$k8s_ver/Cargo.toml\"" | head -n1 | sed 's/^"manifest_path":"//; s/\/Cargo.toml"$//')"
  [ -n "$src" ] || { echo "k8s-openapi $k8s_ver not found in cargo metadata" >&2; exit 1; }
  export K8S_OPENAPI_SRC="$src"
  export KGSB_GENERATOR="k8s-openapi $k8s_ver + schemars $schemars_ver"
  feature="v1_${v#1.}"
  cargo run --quiet --features "$feature" -- "$repo/schemas/kubernetes-v$v.kgsb" ${KGSB_DUMP:+--dump "$KGSB_DUMP/$v"}
done
