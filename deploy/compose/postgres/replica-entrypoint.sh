#!/bin/bash
# Entrypoint of the streaming read replica. On an empty data directory it
# clones the primary with pg_basebackup (-R writes standby.signal and
# primary_conninfo), streaming from the slot the primary's init script
# reserved; then it runs postgres as a hot standby. Runs as root only to fix
# the volume's ownership, then drops to the postgres user with gosu.
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
: "${PRIMARY_HOST:?PRIMARY_HOST is required}"
: "${PRIMARY_PORT:=5432}"
: "${REPLICATION_USER:?REPLICATION_USER is required}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD is required}"
: "${REPLICATION_SLOT:=replica_1}"

mkdir -p "$PGDATA"
chown -R postgres:postgres "$PGDATA"
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "replica: waiting for ${PRIMARY_HOST}:${PRIMARY_PORT}"
  until pg_isready -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -q; do sleep 1; done
  echo "replica: cloning the primary (slot ${REPLICATION_SLOT})"
  export PGPASSWORD="$REPLICATION_PASSWORD"
  gosu postgres pg_basebackup \
    --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username="$REPLICATION_USER" \
    --pgdata="$PGDATA" --wal-method=stream --slot="$REPLICATION_SLOT" \
    --write-recovery-conf --checkpoint=fast --progress
  unset PGPASSWORD
fi

exec gosu postgres postgres -D "$PGDATA" -c hot_standby=on -c max_connections=200
