#!/usr/bin/env bash
# Runs one fuzz target for SECONDS seconds (default 600) on one core, the way the README says.
# Usage: fuzz/run.sh TARGET [SECONDS] [extra libFuzzer flags]
set -euo pipefail
cd "$(dirname "$0")"
target=$1
secs=${2:-600}
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "corpus/$target" "artifacts/$target"
exec "target/$(rustc -vV | sed -n 's/^host: //p')/release/$target" \
  "corpus/$target" "seeds/$target" \
  -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="artifacts/$target/" -print_final_stats=1 "$@"
