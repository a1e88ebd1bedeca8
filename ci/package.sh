#!/bin/sh
# Packages a kgate binary as a release asset: OUT/kgate-TARGET.tar.gz (the binary at the
# archive root) and OUT/kgate-TARGET.tar.gz.sha256 (`<sha256>  <file name>`), the names
# action.yml and ci/gitlab/kgate.gitlab-ci.yml download.
#   ci/package.sh BINARY TARGET OUT
set -eu
bin="$1"
target="$2"
out="$3"
asset="kgate-$target.tar.gz"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$bin" "$stage/kgate"
chmod 0755 "$stage/kgate"
mkdir -p "$out"
tar -czf "$out/$asset" -C "$stage" kgate
if command -v sha256sum >/dev/null 2>&1; then
  sum="$(sha256sum "$out/$asset" | cut -d' ' -f1)"
else
  sum="$(shasum -a 256 "$out/$asset" | cut -d' ' -f1)"
fi
printf '%s  %s\n' "$sum" "$asset" > "$out/$asset.sha256"
echo "$out/$asset"
