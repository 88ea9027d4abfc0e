#!/bin/sh
# Builds the targets with libFuzzer's coverage instrumentation on the nightly toolchain, the way
# `cargo fuzz build -s none` does (no sanitizer), without needing cargo-fuzz installed, then
# runs each for SECONDS (default 35), all at once, seeded from tests/fixtures (seed.sh).
# Crashes land in fuzz/artifacts/<target>/. Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")"
seconds=${1:-35}
[ $# -gt 0 ] && shift
targets=${*:-revision export deploy_log config mentions redact}
./seed.sh
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
    cargo +nightly build --release --target x86_64-unknown-linux-gnu --bins
bin=target/x86_64-unknown-linux-gnu/release
for t in $targets; do
    mkdir -p "artifacts/$t"
    "$bin/$t" "corpus/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="artifacts/$t/" >"artifacts/$t.log" 2>&1 &
done
wait
for t in $targets; do
    printf '%s: ' "$t"; grep -E '^Done|DONE' "artifacts/$t.log" | tail -1
    ls "artifacts/$t" | sed 's/^/  crash: /'
done
