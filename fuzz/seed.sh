#!/bin/sh
# Seeds each target's corpus from tests/fixtures (fuzz/corpus/<target>/, not committed).
set -eu
cd "$(dirname "$0")"
f=../tests/fixtures
mkdir -p corpus/revision corpus/export corpus/deploy_log corpus/config corpus/mentions corpus/redact
find "$f/migrations" "$f/seed" -name '*.py' -exec cp {} corpus/revision/ \;
find "$f/render" "$f/logs" "$f/seed" -type f \( -name '*.txt' -o -name '*.json' \) -exec cp {} corpus/deploy_log/ \;
find "$f" -name '*.json' -size -1M -exec cp {} corpus/export/ \;
find .. -maxdepth 1 -name 'postmortem.yaml' -exec cp {} corpus/config/ \;
grep -rhl 'Revision ID\|migration' "$f" 2>/dev/null | head -50 | xargs -r -I{} cp {} corpus/mentions/
printf 'service: srv-a\nincident:\n  title: x\n  lessons: [a, b]\n' > corpus/config/starter.yaml
printf 'fix migrations\n\nRevision ID: 3a15202c7dc2\nRevises: 0cbf1e0e3ab5\n- dc2c0f69c1b1\n' > corpus/mentions/seed.txt
# The redactor: the planted credentials and look-alikes, line by line, and the deploy logs.
i=0
cat "$f/secrets/planted.tsv" "$f/secrets/look_alikes.txt" | while IFS= read -r line; do
    i=$((i + 1)); printf '%s\n' "$line" > "corpus/redact/line$i.txt"
done
find "$f/logs" "$f/seed" -name '*.txt' -exec cp {} corpus/redact/ \;
