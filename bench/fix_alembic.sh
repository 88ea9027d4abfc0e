#!/usr/bin/env bash
# `postmortem fix --write` on the seed migration, then real Alembic against a real PostgreSQL:
# upgrade head, downgrade -1, upgrade head on the patched file (with rows in users), and
# upgrade head on the file as it was (the control, which must fail with DatatypeMismatch).
#
#   bench/fix_alembic.sh [POSTMORTEM_BINARY]
#
# Needs PostgreSQL's binaries (/usr/lib/postgresql/*/bin) and Python 3; installs Alembic,
# SQLAlchemy and psycopg2-binary into a throw-away virtualenv. `cargo test` does not need any
# of this: tests/fix_postgres.rs replays the same file as SQL through psql.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/target/debug/postmortem}"
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
work="$(mktemp -d)"
port=55433
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); chown postgres "$work"; fi
cleanup() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" stop -m fast >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q alembic sqlalchemy psycopg2-binary
"$work/venv/bin/python" -c "import alembic, sqlalchemy, psycopg2; print('alembic', alembic.__version__, 'sqlalchemy', sqlalchemy.__version__, 'psycopg2', psycopg2.__version__.split()[0])"
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg" -U postgres -A trust >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -o "-k $work -p $port -c listen_addresses=''" -l "$work/pg/log" start >/dev/null
"$pgbin/postgres" --version
psql=("$pgbin/psql" -h "$work" -p "$port" -U postgres -q)
"${psql[@]}" -c "CREATE DATABASE patched" -c "CREATE DATABASE unpatched" postgres

project="$work/project"
mkdir "$project"
cd "$project"
"$work/venv/bin/alembic" init alembic >/dev/null
cp "$here"/tests/fixtures/seed/*.py alembic/versions/
git init -q && git add -A && git -c user.name=bench -c user.email=bench@example.com commit -qm seed
file=alembic/versions/36b3e62b4148_add_deals_and_pipeline_stages_tables.py
cp "$file" "$work/unpatched.py"
"$bin" fix --write
url() { sed -i "s|^sqlalchemy.url = .*|sqlalchemy.url = postgresql+psycopg2://postgres@/$1?host=$work\&port=$port|" alembic.ini; }
alembic() { "$work/venv/bin/alembic" "$@" >"$work/out" 2>&1 && echo "alembic $*: exit 0" || { echo "alembic $*: exit $?"; grep -E "^[a-z0-9_.]+Error|DETAIL" "$work/out" | head -2; }; }

url patched
alembic upgrade a1b2c3d4e5f6
"${psql[@]}" -c "INSERT INTO users (id, email, organization_id) VALUES ('c4f6a651-a5d0-4250-81be-e77f1744a7f7', 'a@x.io', 'ce43a63c-b84f-470d-8345-0134c2c77a9c'), ('646829c3-924c-4d5f-8376-f2ddab449a41', 'b@x.io', NULL)" patched
alembic upgrade head
alembic downgrade -1
alembic upgrade head

echo "control: the file as it was"
cp "$work/unpatched.py" "$file"
url unpatched
alembic upgrade head
