#!/bin/sh
# Peak memory of `postmortem migrations` on two large revision files (issue 17):
#  - a 6.7 MB data migration: `op.bulk_insert` of about 85,000 rows in the shape of Alembic's
#    documented example ({'id': 1, 'name': ..., 'create_date': date(...)}), which must be read;
#  - a 7 MB file of unary minus signs (`x = - - - ... 1`), which must be refused in bounded
#    memory;
#  - the densest file read: 8 MB of a list of 4-digit numbers (`1111, ` is 3 bytes per token,
#    the bound), the most memory any file under the bounds takes.
# Usage: bench/big_migrations.sh [BIN]   (default: target/release/postmortem)
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-target/release/postmortem}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR/bulk/alembic/versions" "$DIR/minus/alembic/versions" "$DIR/dense/alembic/versions"
python3 - "$DIR" <<'PY'
import sys, random
d = sys.argv[1]
random.seed(17)
first = ["John", "Ed", "Wendy", "Ada", "Grace", "Alan", "Barbara", "Linus", "Margaret", "Ken"]
last = ["Smith", "Williams", "Jones", "Lovelace", "Hopper", "Turing", "Liskov", "Torvalds", "Hamilton", "Thompson"]
rows, size, i = [], 0, 0
while size < 6_700_000:
    i += 1
    name = f"{random.choice(first)} {random.choice(last)}"
    y, m, dd = random.randint(2000, 2024), random.randint(1, 12), random.randint(1, 28)
    row = f"            {{'id': {i}, 'name': '{name}', 'create_date': date({y}, {m}, {dd})}},\n"
    rows.append(row)
    size += len(row)
head = '''"""seed accounts

Revision ID: 5d2a1c9e7f30
Revises:
Create Date: 2025-11-10 12:00:00
"""
from datetime import date

from alembic import op
import sqlalchemy as sa
from sqlalchemy.sql import column, table

revision = "5d2a1c9e7f30"
down_revision = None
branch_labels = None
depends_on = None

accounts = table(
    "account",
    column("id", sa.Integer),
    column("name", sa.String),
    column("create_date", sa.Date),
)


def upgrade():
    op.bulk_insert(
        accounts,
        [
'''
tail = '''        ],
    )


def downgrade():
    op.execute("DELETE FROM account")
'''
open(f"{d}/bulk/alembic/versions/5d2a1c9e7f30_seed_accounts.py", "w").write(head + "".join(rows) + tail)
minus = 'revision = "a"\ndown_revision = None\nx = ' + "- " * 3_500_000 + "1\n"
open(f"{d}/minus/alembic/versions/a_minus.py", "w").write(minus)
dense = 'revision = "b"\ndown_revision = None\nx = [\n' + "1111, " * 1_390_000 + "]\n"
open(f"{d}/dense/alembic/versions/b_dense.py", "w").write(dense)
PY
for case in bulk minus dense; do
    f=$(ls "$DIR/$case/alembic/versions/"*.py)
    printf '%s: %s bytes\n' "$case" "$(wc -c < "$f")"
    /usr/bin/time -v "$BIN" migrations "$DIR/$case/alembic/versions" --format json \
        > "$DIR/$case.json" 2> "$DIR/$case.time" || true
    grep -E "Maximum resident|Elapsed" "$DIR/$case.time"
    python3 -c "
import json,sys
d=json.load(open('$DIR/$case.json'))
print('  revisions read:', sum(len(s['revisions']) for s in d['migration_sets']))
for f in d['findings']: print('  finding:', f['rule'], f['severity'], f['message'][:200])
"
done
