#!/bin/sh
# The scaling benchmark of docs/benchmarks.md ("Scaling"): the analysis up to 200,000 commits
# in the incident range and the mention scan up to 100,000 IDs in one message. Prints a
# markdown table; the inputs are generated in memory by benches/scaling.rs.
set -eu
cd "$(dirname "$0")/.."
exec cargo bench --bench scaling "$@"
