#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer and SanitizerCoverage on the stable toolchain
# (what `cargo fuzz build -s none` does, without needing nightly). Binaries land in
# fuzz/target/x86_64-unknown-linux-gnu/release/<target>. `--target` keeps the instrumentation
# flags off build scripts and proc macros, which are not linked with libFuzzer.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
exec cargo build --release --target "$(rustc -vV | sed -n "s/^host: //p")" --bins "$@"
