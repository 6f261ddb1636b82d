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
finish
