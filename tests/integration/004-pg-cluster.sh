#!/usr/bin/env bash
# scripts/pg.sh: the throwaway cluster's lifecycle.
. "$(dirname "$0")/lib.sh"
pg="$ROOT/scripts/pg.sh"
dir=$T_TMP/cluster
mkdir -p "$dir" && echo 55433 >"$dir/port"

url=$("$pg" start "$dir")
expect "start prints a conninfo" "host=$dir/run port=55433 user=postgres dbname=certrecall" "$url"
url2=$("$pg" start "$dir")
expect "start is idempotent" "$url" "$url2"
ok "status says running" "$pg" status "$dir"
expect "the database answers on the socket" 1 "$(psql -XAtq "$url" -c 'SELECT 1')"
expect "no TCP listener unless asked" "" "$(psql -XAtq "$url" -c 'SHOW listen_addresses')"
expect "the server runs in UTC" "UTC" "$(psql -XAtq "$url" -c 'SHOW timezone')"
ok "migrations apply to it" env CERTRECALL_DATABASE="$url" "$CERTRECALL_BIN" -q db migrate
ok "stop" "$pg" stop "$dir"
fails "status after stop exits 3" 3 "$pg" status "$dir"
ok "stop again is harmless" "$pg" stop "$dir"
"$pg" start "$dir" >/dev/null
expect "data survives a restart" "$(ls "$ROOT"/sql/[0-9][0-9][0-9]_*.sql | wc -l)" \
	"$(psql -XAtq "$url" -c 'SELECT count(*) FROM schema_migrations')"
"$pg" stop "$dir"

# A stale socket lock naming a live process of the postgres user (a PID
# reused after a killed run; CI saw a faketime cluster refuse to start):
# the server itself would refuse; start clears the lock of its own
# socket directory when its cluster is not running.
# The live process: the test suite's own cluster, run by the same user.
live=$(head -1 "$CERTRECALL_TEST_VAR/pg/data/postmaster.pid")
owner=$(stat -c %U "$CERTRECALL_TEST_VAR/pg/data/postmaster.pid")
printf '%s\n%s/data\n' "$live" "$dir" >"$dir/run/.s.PGSQL.55433.lock"
chown "$owner" "$dir/run/.s.PGSQL.55433.lock"
ok "start despite a stale socket lock naming a live PID" "$pg" start "$dir"
ok "and stop" "$pg" stop "$dir"
finish
