#!/usr/bin/env bash
# `postmortem check --format json` against `git log --format=%H%x00%B` on a real clone (issue 13):
# median wall time, CPU time (user+sys) and peak RSS over RUNS runs of each, both writing to
# /dev/null, run alternately so a busy machine slows both alike.
#
#   bench/real_history.sh BIN CLONE [CLONE...]     # RUNS=5 by default
set -euo pipefail
BIN=$1; shift
RUNS=${RUNS:-5}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/real-history.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-28s %8s | %9s %9s %8s | %9s %9s %8s | %6s %6s\n' clone commits \
  "check s" "cpu s" "MB" "gitlog s" "cpu s" "MB" wall× cpu×
for clone in "$@"; do
  commits=$(git -C "$clone" rev-list --count HEAD)
  : >"$TMP/check"; : >"$TMP/git"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %U %S %M' -a -o "$TMP/check" \
      "$BIN" check --repo "$clone" --format json >/dev/null 2>/dev/null || true
    /usr/bin/time -f '%e %U %S %M' -a -o "$TMP/git" \
      git -C "$clone" log --format=%H%x00%B >/dev/null
  done
  grep -v '^Command' "$TMP/check" >"$TMP/c"; grep -v '^Command' "$TMP/git" >"$TMP/g"
  cw=$(awk '{print $1}' "$TMP/c" | median); cc=$(awk '{print $2+$3}' "$TMP/c" | median)
  cm=$(awk '{print $4/1024}' "$TMP/c" | median)
  gw=$(awk '{print $1}' "$TMP/g" | median); gc=$(awk '{print $2+$3}' "$TMP/g" | median)
  gm=$(awk '{print $4/1024}' "$TMP/g" | median)
  printf '%-28s %8s | %9.2f %9.2f %8.0f | %9.2f %9.2f %8.0f | %6.2f %6.2f\n' \
    "$(basename "$clone")" "$commits" "$cw" "$cc" "$cm" "$gw" "$gc" "$gm" \
    "$(echo "$cw / $gw" | bc -l)" "$(echo "$cc / $gc" | bc -l)"
done
