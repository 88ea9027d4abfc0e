#!/usr/bin/env bash
# The comparison benchmark (issue 8): one command, every corpus generated deterministically in
# a temp dir, each side run RUNS times, one table.
#
#   bench/run.sh                 # RUNS=5 by default; RUNS=3 bench/run.sh for a quicker pass
#   bench/run.sh --markdown FILE # also write the table as markdown
#   bench/run.sh --real CLONE    # also `check` vs `git log` on a real clone (repeatable; a full,
#                                # not shallow, clone of a repository that uses Alembic),
#                                # printed after the generated workloads (bench/real_history.sh)
#
# Workloads (docs/benchmarks.md says what each measures and how the bound is defined):
#   check       `postmortem check --repo R` vs `git log --format=%H%x00%B` on a 50,000-commit
#               history made with `git fast-import` (benches/git_scan.rs --generate)
#   migrations  `postmortem migrations DIR --format json` vs `alembic heads` on 2,000 revision
#               files (bench/gen_revisions.py); alembic is installed into a venv once
#   collect     `postmortem collect` vs the fewest sequential round trips the Render API allows,
#               1,000 deploys served from loopback with 20 ms per request (benches/render_collect.rs)
# Needs: cargo, git, python3 (with venv and pip for alembic, first run only).
set -euo pipefail
REAL=()
PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --real) REAL+=("$(cd "$2" && pwd)"); shift 2 ;;
    *) PASS+=("$1"); shift ;;
  esac
done
set -- ${PASS[@]+"${PASS[@]}"}
HERE=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-5}
VENV=${BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/postmortem-bench/venv}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/postmortem-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cd "$HERE"
echo "building (release)..." >&2
cargo build -q --release --bin postmortem
cargo bench -q --no-run --bench git_scan --bench render_collect 2>/dev/null
BIN="$HERE/target/release/postmortem"

if [ ! -x "$VENV/bin/alembic" ]; then
  echo "installing alembic into $VENV (first run only)..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q alembic
fi

echo "generating corpora in $WORK..." >&2
cargo bench -q --bench git_scan -- --generate "$WORK/history" 50000 >&2
python3 bench/gen_revisions.py "$WORK/alembic" 2000

echo "running (best of $RUNS)..." >&2
cargo bench -q --bench render_collect -- --runs "$RUNS" --bin "$BIN" >"$WORK/render.txt"
grep -v '^{' "$WORK/render.txt" >&2
python3 bench/run.py --bin "$BIN" --venv "$VENV" --work "$WORK" --runs "$RUNS" \
  --render "$WORK/render.txt" "$@"

if [ ${#REAL[@]} -gt 0 ]; then
  echo >&2
  echo "real histories (median of $RUNS, check vs git log --format=%H%x00%B):" >&2
  RUNS=$RUNS bench/real_history.sh "$BIN" "${REAL[@]}"
fi
