#!/bin/bash
# Runs once, on the primary's first start (docker-entrypoint-initdb.d), as the
# postgres OS user with the server up on its local socket. Creates the
# streaming-replication role, lets it connect for replication from the compose
# network, and reserves a physical replication slot so the primary keeps WAL
# the replica has not received yet.
set -euo pipefail

: "${REPLICATION_USER:?REPLICATION_USER is required}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD is required}"
: "${REPLICATION_SLOT:=replica_1}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v repl_user="$REPLICATION_USER" -v repl_password="$REPLICATION_PASSWORD" \
  -v repl_slot="$REPLICATION_SLOT" <<'SQL'
CREATE ROLE :"repl_user" WITH REPLICATION LOGIN PASSWORD :'repl_password';
SELECT pg_create_physical_replication_slot(:'repl_slot');
SQL

# Replication connections are matched by the special "replication" database
# name, which the image's default "host all all all" line does not cover.
echo "host replication ${REPLICATION_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
