#!/bin/sh
# Discovery on real repositories versus Alembic, one table row per repository.
#
#   sh bench/discovery_bench.sh [CORPUS] [BEFORE_BIN]
#
# Each repository of CORPUS (default bench/discovery_corpus.txt) must be a bare mirror under
# /work/.mirror/OWNER+NAME/repo (the `fetch` tool) or a clone in $CORPUS_DIR/OWNER+NAME; it is
# checked out at the listed commit in $CORPUS_DIR (default /tmp/corpus). Needs a Python with
# alembic (PYTHON, default python3) and a built postmortem (BIN, default target/debug).
# BEFORE_BIN, when given, is another postmortem (e.g. main's) whose graphs are counted too.
set -eu
CORPUS=${1:-bench/discovery_corpus.txt}
BEFORE=${2:-}
PY=${PYTHON:-python3}
BIN=${BIN:-target/debug/postmortem}
DIR=${CORPUS_DIR:-/tmp/corpus}
mkdir -p "$DIR"
echo "| repository | commit | Alembic: graphs (revisions/heads) | postmortem: graphs (revisions/heads) | verdict |${BEFORE:+ before: graphs (revisions) |}"
echo "|---|---|---|---|---|${BEFORE:+---|}"
grep -v '^#' "$CORPUS" | grep -v '^ *$' | while read -r repo commit rest; do
  name=$(echo "$repo" | tr / +)
  if [ ! -d "$DIR/$name" ]; then
    git clone -q --shared --no-checkout "/work/.mirror/$name/repo" "$DIR/$name"
    # Mirrors may lack their largest blobs: leave those files out of the checkout.
    git -C "$DIR/$name" ls-tree -r --format='%(objectname) %(path)' "$commit" > /tmp/discovery-tree.txt
    cut -d' ' -f1 /tmp/discovery-tree.txt | git -C "$DIR/$name" cat-file --batch-check | paste -d' ' - /tmp/discovery-tree.txt \
      | awk '$2 == "missing" { $1=$2=$3=""; sub(/^ +/, ""); print "!/" $0 }' > /tmp/discovery-missing.txt
    if [ -s /tmp/discovery-missing.txt ]; then
      git -C "$DIR/$name" sparse-checkout set --no-cone '/*' $(cat /tmp/discovery-missing.txt)
    fi
  fi
  git -C "$DIR/$name" checkout -q "$commit"
  runs=$(echo "$rest" | sed 's/#.*//')
  # shellcheck disable=SC2086
  rm -f /tmp/discovery-summary.json
  eval "$PY bench/compare_graph.py --postmortem $BIN --repo $DIR/$name --summary /tmp/discovery-summary.json $runs" > "/tmp/discovery-$name.log" 2>&1 || true
  row=$($PY - "$repo" "$commit" <<'PYROW'
import json, sys
s = json.load(open("/tmp/discovery-summary.json"))
g = s.get("graphs", [])
a = ", ".join(f"{x[0]}/{x[1]}" for x in g)
p = ", ".join(f"{x[2]}/{x[3]}" for x in g)
print(f"| {sys.argv[1]} | {sys.argv[2][:10]} | {s.get('alembic')}: {a} | {s.get('postmortem')}: {p} | {s.get('verdict')} |", end="")
PYROW
)
  if [ -n "$BEFORE" ]; then
    before=$("$BEFORE" migrations --repo "$DIR/$name" --format json 2>/dev/null | $PY -c 'import json,sys; d=json.load(sys.stdin); sets=d["migration_sets"]; print(str(len(sets)) + ": " + ", ".join(str(len(s["revisions"])) for s in sets))' || echo "no graph (exit 2)")
    row="$row $before |"
  fi
  echo "$row"
done
