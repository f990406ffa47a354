#!/bin/bash
# The postgres image's interface, enough for a development server: initialise PGDATA on
# first start (trust with POSTGRES_HOST_AUTH_METHOD=trust, else POSTGRES_PASSWORD for the
# postgres user), then run the server on every address.
set -euo pipefail
method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ "$method" = trust ]; then
    initdb -D "$PGDATA" -U postgres --auth=trust >/dev/null
  else
    : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust}"
    initdb -D "$PGDATA" -U postgres --auth="$method" --pwfile=<(printf '%s' "$POSTGRES_PASSWORD") >/dev/null
  fi
  echo "host all all all $method" >> "$PGDATA/pg_hba.conf"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
