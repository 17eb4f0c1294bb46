#!/bin/bash
# Entrypoint of the kefu PostgreSQL image (deploy/docker/postgres/Dockerfile).
#
# First start with an empty $PGDATA: initdb, create POSTGRES_USER (password
# from POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE) and POSTGRES_DB owned by
# it, run /docker-entrypoint-initdb.d/*.sql|*.sh, then stop the init server.
# Every start: exec postgres in the foreground as the postgres user, so the
# container's stop signal reaches postgres itself.
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

log() { printf '%s docker-entrypoint: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

# `docker run image -c foo=bar` → postgres -c foo=bar
if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" != postgres ]; then
  exec "$@"
fi

# Root: fix ownership of the volume, then re-exec as postgres.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  chmod 2775 /var/run/postgresql
  if [ "$(stat -c %U "$PGDATA")" != postgres ]; then
    chown -R postgres:postgres "$PGDATA"
  fi
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
    log "error: $PGDATA is not empty but holds no cluster; refusing to initialise over it"
    exit 1
  fi

  user="${POSTGRES_USER:-kefu}"
  db="${POSTGRES_DB:-$user}"
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    [ -r "$POSTGRES_PASSWORD_FILE" ] || { log "error: cannot read POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE"; exit 1; }
    password=$(cat "$POSTGRES_PASSWORD_FILE")
  else
    password="${POSTGRES_PASSWORD:-kefu}"
  fi
  if [ -z "$password" ]; then
    log "error: empty password for role $user (set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE)"
    exit 1
  fi

  log "initialising a new cluster in $PGDATA (role $user, database $db)"
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words
  initdb -D "$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
         --data-checksums --auth-local=peer --auth-host=scram-sha-256 \
         ${POSTGRES_INITDB_ARGS:-} >/dev/null

  mkdir -p "$PGDATA/conf.d"
  cp /usr/share/kefu-postgres/kefu.conf "$PGDATA/conf.d/kefu.conf"
  printf "\n# Added by the kefu image's entrypoint.\ninclude_dir = 'conf.d'\n" >>"$PGDATA/postgresql.conf"
  cat >"$PGDATA/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER      ADDRESS        METHOD
# Inside the container: the postgres OS user as the postgres role.
local   all       postgres                 peer
local   all       all                      scram-sha-256
# Over the network: passwords, SCRAM only (the role passwords are SCRAM).
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256
host    all       all       0.0.0.0/0      scram-sha-256
host    all       all       ::/0           scram-sha-256
EOF

  # Temporary server on the unix socket only: the health check (TCP) stays
  # red until the final server runs.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w -t 60 start >/dev/null
  trap 'pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true; exit 1' INT TERM

  psql=(psql -X -q -v ON_ERROR_STOP=1 --username=postgres --no-password --dbname=postgres)
  # The password goes through the environment, not argv (ps).
  KEFU_PG_INIT_PASSWORD="$password" "${psql[@]}" -v usr="$user" -v db="$db" <<'EOSQL'
\getenv pw KEFU_PG_INIT_PASSWORD
SELECT (:'usr' = 'postgres') AS is_super \gset
\if :is_super
  ALTER ROLE postgres PASSWORD :'pw';
\else
  CREATE ROLE :"usr" LOGIN PASSWORD :'pw';
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') AS need_db \gset
\if :need_db
  CREATE DATABASE :"db" OWNER :"usr";
\endif
EOSQL

  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)  log "running $f"
             # shellcheck disable=SC1090  # init scripts are the user's
             . "$f" ;;
      *.sql) log "running $f"; "${psql[@]}" --dbname="$db" -f "$f" ;;
      *)     log "ignoring $f" ;;
    esac
  done

  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  trap - INT TERM
  unset password
  log "initialisation done"
fi

exec "$@"
