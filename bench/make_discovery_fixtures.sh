#!/bin/sh
# Builds the revision files of tests/fixtures/discovery/ with the real tools (Alembic,
# Flask-Migrate), in the layouts of the real projects they imitate. Needs a Python with
# alembic, sqlalchemy, flask-migrate installed (PYTHON, default python3). Writes to $1.
# The configuration files beside them (alembic.ini edits, render.yaml, scripts) are written
# by hand in the fixtures, each shaped like the project named in tests/migrations_discovery.rs.
set -eu
PY=${PYTHON:-python3}
OUT=$1
mkdir -p "$OUT"
cd "$OUT"
ALEMBIC="$PY -m alembic"

# neutron-like: versions/ with one root revision and release/{expand,contract} subfolders.
mkdir -p nested && cd nested
$ALEMBIC -q init proj/db/migration/alembic_migrations >/dev/null
mv alembic.ini proj/db/migration/alembic.ini
sed -i 's|^script_location = .*|script_location = %(here)s/alembic_migrations|' proj/db/migration/alembic.ini
V=proj/db/migration/alembic_migrations/versions
mkdir -p $V/liberty/expand $V/liberty/contract $V/2024.1/expand $V/2024.1/contract
A="$ALEMBIC -c proj/db/migration/alembic.ini -x x=1"
# While generating, the ini lists the subfolders (neutron sets them at run time instead; the
# line is removed below so the fixture has neutron's ini).
L=%\(here\)s/alembic_migrations/versions
sed -i "s|^script_location = .*|&\\nversion_locations = $L:$L/liberty/expand:$L/liberty/contract:$L/2024.1/expand:$L/2024.1/contract|" proj/db/migration/alembic.ini
$A revision -m "kilo initial" --rev-id kilo --version-path $V >/dev/null
$A revision -m "liberty expand" --rev-id 354db87e3225 --head kilo --splice --branch-label expand --version-path $V/liberty/expand >/dev/null
$A revision -m "neutrodb ipam" --rev-id 599c6a226151 --head expand@head --version-path $V/liberty/expand >/dev/null
$A revision -m "initial contract" --rev-id 30018084ec99 --head kilo --splice --branch-label contract --version-path $V/liberty/contract >/dev/null
$A revision -m "rbac network" --rev-id 4ffceebfada --head contract@head --depends-on 599c6a226151 --version-path $V/liberty/contract >/dev/null
$A revision -m "add port hints" --rev-id a1b2c3d4e5f6 --head expand@head --version-path $V/2024.1/expand >/dev/null
$A revision -m "remove availability ranges" --rev-id 5c85685d616d --head contract@head --version-path $V/2024.1/contract >/dev/null
$A heads > ../nested.heads
sed -i '/^version_locations = /d' proj/db/migration/alembic.ini
cd ..

# Flask-Migrate: flask db init, then two branches on one base.
mkdir -p flask && cd flask
cat > app.py <<PYAPP
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_migrate import Migrate

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"
db = SQLAlchemy(app)
migrate = Migrate(app, db)
PYAPP
$PY -m flask --app app db init >/dev/null 2>&1
$PY -m flask --app app db revision -m "initial" --rev-id 1a2b3c4d5e6f >/dev/null 2>&1
$PY -m flask --app app db revision -m "add users" --rev-id 2b3c4d5e6f70 >/dev/null 2>&1
$PY -m flask --app app db revision -m "add posts" --rev-id 3c4d5e6f7081 --head 1a2b3c4d5e6f --splice >/dev/null 2>&1
$PY -m flask --app app db heads > ../flask.heads 2>/dev/null
rm -rf instance __pycache__ app.db
cd ..

# Prefect-like: package-resource script_location, one versions folder per dialect.
mkdir -p dialects && cd dialects
$ALEMBIC -q init src/app/server/database/_migrations >/dev/null
mv alembic.ini src/app/server/database/alembic.ini
D=src/app/server/database/_migrations/versions
mkdir -p $D/postgresql $D/sqlite
for dialect in postgresql sqlite; do
  # Prefect's env.py points version_locations at one dialect's folder at run time; so does
  # this throw-away ini.
  sed "s|^script_location = .*|script_location = $PWD/src/app/server/database/_migrations\\nversion_locations = $PWD/$D/$dialect|" src/app/server/database/alembic.ini > /tmp/dialect.ini
  $ALEMBIC -c /tmp/dialect.ini revision -m "initial $dialect" --rev-id ${dialect}_0001 >/dev/null
  $ALEMBIC -c /tmp/dialect.ini revision -m "add flow runs" --rev-id ${dialect}_0002 >/dev/null
  $ALEMBIC -c /tmp/dialect.ini heads >> ../dialects.heads
done
sed -i 's|^script_location = .*|script_location = app:server:database:_migrations|' src/app/server/database/alembic.ini
cd ..
