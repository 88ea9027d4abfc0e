#!/usr/bin/env bash
# Side-by-side timing: postmortem (parse + graph of every revision file) vs `alembic heads`
# on the same generated folder of N revision files with merges.
#
#   bench/migrations_bench.sh [N] [RUNS]        (defaults: 2000 revisions, 5 runs)
#
# Times the real binary, `postmortem migrations DIR --format json`. PROFILE=debug uses the
# debug build (default: release). `bench/run.sh` runs this comparison with the others. Installs alembic into a venv under $BENCH_DIR (default
# /tmp/postmortem-bench). Prints the median wall time of each and the ratio.
set -euo pipefail
N=${1:-2000}
RUNS=${2:-5}
PROFILE=${PROFILE:-release}
BENCH_DIR=${BENCH_DIR:-/tmp/postmortem-bench}
HERE=$(cd "$(dirname "$0")/.." && pwd)

mkdir -p "$BENCH_DIR"
if [ ! -x "$BENCH_DIR/venv/bin/alembic" ]; then
  python3 -m venv "$BENCH_DIR/venv"
  "$BENCH_DIR/venv/bin/pip" install -q alembic
fi
rm -rf "$BENCH_DIR/project"
python3 "$HERE/bench/gen_revisions.py" "$BENCH_DIR/project" "$N"

if [ "$PROFILE" = release ]; then
  (cd "$HERE" && cargo build -q --release --bin postmortem)
else
  (cd "$HERE" && cargo build -q --bin postmortem)
fi
BIN="$HERE/target/$PROFILE/postmortem"

"$BENCH_DIR/venv/bin/python" - "$BIN" "$BENCH_DIR" "$RUNS" <<'PY'
import json, statistics, subprocess, sys, time
bin_, d, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
project = f"{d}/project"
alembic = [f"{d}/venv/bin/alembic", "-c", f"{project}/alembic.ini", "heads"]
ours = [bin_, "migrations", f"{project}/migrations/versions", "--format", "json"]

def timed(cmd):
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        samples.append(time.perf_counter() - t)
    return statistics.median(samples), out

a_time, a_out = timed(alembic)
p_time, p_out = timed(ours)
doc = json.loads(p_out)
s = doc["migration_sets"][0]
print(f"revisions: {len(s['revisions'])}, merge points: {len(s['mergepoints'])}")
print(f"alembic heads: {a_out.strip()}")
print(f"postmortem heads: {' '.join(s['heads'])}")
assert a_out.split()[0] == s["heads"][0], "heads differ"
print(f"alembic heads  median of {runs}: {a_time:.3f} s")
print(f"postmortem     median of {runs}: {p_time:.3f} s")
print(f"speed-up: {a_time / p_time:.1f}x")
PY
