#!/bin/bash
# One `kgate check` run against `kgate merge` of its `--shard I/N` runs, for every repository
# given and N in 2, 3, 5: prints EQUAL or the differences (summary, findings, skipped entries,
# objects). Each repository should be its own git root (a `.git` folder) so that rendering is
# bounded by it.
#   bench/shard_exactness.sh target/debug/kgate /path/to/repo... [-- extra check args]
set -u
BIN=$(realpath "$1"); shift
REPOS=(); while [ $# -gt 0 ] && [ "$1" != "--" ]; do REPOS+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
status=0
for repo in "${REPOS[@]}"; do
  (cd "$repo" && "$BIN" check . --format "json=$T/full.json" "$@" >/dev/null 2>&1)
  for n in 2 3 5; do
    reports=()
    for i in $(seq 1 $n); do
      (cd "$repo" && "$BIN" check . --shard "$i/$n" --format "json=$T/s$i.json" "$@" >/dev/null 2>&1)
      reports+=("$T/s$i.json")
    done
    "$BIN" merge "${reports[@]}" --format "json=$T/merged.json" >/dev/null 2>&1
    printf '%s N=%s: ' "$(basename "$repo")" "$n"
    python3 - "$T/full.json" "$T/merged.json" <<'PY' || status=1
import json, sys
from collections import Counter
full, merged = (json.load(open(p)) for p in sys.argv[1:3])
same = True
for key in ("summary", "diagnostics", "skipped", "resources"):
    a, b = full[key], merged[key]
    if key == "resources":
        a, b = sorted(map(json.dumps, a)), sorted(map(json.dumps, b))
    if a == b:
        continue
    same = False
    print("\n  DIFF", key)
    if key == "summary":
        print("   one run:", a, "\n   merged: ", b)
        continue
    ca = Counter(x if isinstance(x, str) else json.dumps(x, sort_keys=True) for x in a)
    cb = Counter(x if isinstance(x, str) else json.dumps(x, sort_keys=True) for x in b)
    for x in sorted(set(ca) | set(cb)):
        if ca[x] != cb[x]:
            print("   one run %d, merged %d: %s" % (ca[x], cb[x], x[:300]))
print("EQUAL" if same else "NOT EQUAL")
sys.exit(0 if same else 1)
PY
  done
done
exit $status
