# Sourced by .ci/run: a throw-away PostgreSQL cluster for the schema rules' tests.
#
# Installs Debian's `postgresql` when no initdb is found, creates a cluster in a temporary
# directory listening on 127.0.0.1 at a free port (as the `postgres` user when run as root:
# initdb and pg_ctl refuse root), exports POSTMORTEM_PG for tests/support/postgres.rs, and stops
# and removes the cluster when the calling shell exits.

pm_pg_bindir() {
    local initdb
    initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$initdb" ]; then
        initdb=$(command -v initdb || true)
    fi
    [ -n "$initdb" ] && dirname "$initdb"
}

if [ -z "$(pm_pg_bindir)" ]; then
    echo "postgres.sh: PostgreSQL not found, installing Debian's postgresql" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
fi
PM_PG_BIN=$(pm_pg_bindir)
if [ -z "$PM_PG_BIN" ]; then
    echo "postgres.sh: no initdb after installing postgresql" >&2
    exit 1
fi

# Runs a PostgreSQL server binary as an unprivileged user.
pm_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pm_pg_port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

PM_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/postmortem-pg.XXXXXX")
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$PM_PG_DIR"
fi
pm_pg_as_owner "$PM_PG_BIN/initdb" -D "$PM_PG_DIR/data" -U postgres --auth=trust \
    --no-locale -E UTF8 >"$PM_PG_DIR/initdb.log" 2>&1 || {
    cat "$PM_PG_DIR/initdb.log" >&2
    exit 1
}

pm_pg_stop() {
    pm_pg_as_owner "$PM_PG_BIN/pg_ctl" -D "$PM_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PM_PG_DIR"
}
# Keep whatever EXIT trap the caller already had.
PM_PG_PREVIOUS_TRAP=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap "pm_pg_stop; ${PM_PG_PREVIOUS_TRAP:-:}" EXIT

PM_PG_PORT=
for _ in $(seq 1 20); do
    pm_pg_try_port=$((20000 + RANDOM % 40000))
    pm_pg_port_free "$pm_pg_try_port" || continue
    if pm_pg_as_owner "$PM_PG_BIN/pg_ctl" -D "$PM_PG_DIR/data" -l "$PM_PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $pm_pg_try_port -k $PM_PG_DIR -c fsync=off" start >/dev/null; then
        PM_PG_PORT=$pm_pg_try_port
        break
    fi
done
if [ -z "$PM_PG_PORT" ]; then
    echo "postgres.sh: could not start PostgreSQL; server log:" >&2
    cat "$PM_PG_DIR/server.log" >&2 || true
    exit 1
fi
export POSTMORTEM_PG="host=127.0.0.1 port=$PM_PG_PORT user=postgres"
echo "postgres.sh: PostgreSQL at $POSTMORTEM_PG" >&2
