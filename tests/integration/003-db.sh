#!/usr/bin/env bash
# Schema migrations against the real PostgreSQL, and the constraints that
# protect the data.
. "$(dirname "$0")/lib.sh"
new_db migrate

out=$(certrecall db status)
contains "a new database has pending migrations" "pending  001_schema" "$out"
out=$(certrecall incident list 2>&1)
expect "a command refuses a schema older than the binary (69)" 69 $?
contains "and says what to do" "run 'certrecall db migrate' first" "$out"
ok "db migrate applies the schema" certrecall db migrate
schema() { pg_dump --schema-only "$CERTRECALL_DATABASE" | grep -v '^\\\(un\)\?restrict'; }
dump1=$(schema)
out=$(certrecall db migrate 2>&1)
contains "a second migrate applies nothing" "0 migrations applied" "$out"
dump2=$(schema)
expect "a second migrate leaves the schema unchanged" "$dump1" "$dump2"
out=$(certrecall db status)
nmig=$(ls "$ROOT"/sql/[0-9][0-9][0-9]_*.sql | wc -l)
contains "status says up to date" "schema is up to date ($nmig applied, 0 pending)" "$out"
a=$(TZ=Asia/Tokyo certrecall db status)
b=$(TZ=America/New_York certrecall db status)
expect "status is the same in any TZ" "$a" "$b"
contains "applied times are printed in UTC" "Z" "$(grep 001_schema <<<"$a")"

for t in incident subscriber issuer certificate scan_target observation \
	revocation_evidence notice event schema_migrations; do
	expect "table $t exists" "$t" "$(db_sql -c "SELECT to_regclass('$t')")"
done
expect "the migration is in the audit trail" "db.migrate" \
	"$(db_sql -c "SELECT kind FROM event ORDER BY id LIMIT 1")"
refused "the audit trail is append-only (no UPDATE)" 'append-only' "UPDATE event SET kind = 'x'"
refused "the audit trail is append-only (no DELETE)" 'append-only' "DELETE FROM event"

# Constraints.
db_sql -c "INSERT INTO incident (slug, title, reason, aware_at) VALUES ('caa-2020', 'CAA', 'v1.6.7:5d-7', '2020-02-29T03:08:00Z')"
refused "aware_at is mandatory" 'null value in column "aware_at"' "INSERT INTO incident (slug, title, reason) VALUES ('x', 'x', 'br-1')"
refused "slugs are unique" 'incident_slug_key' "INSERT INTO incident (slug, title, reason, aware_at) VALUES ('caa-2020', 'x', 'br-1', now())"
cert="INSERT INTO certificate (incident_id, serial, source, source_line) VALUES (1"
ok "a certificate row loads" db_sql -c "$cert, '\\xfa', 'list.txt', 1)"
refused "a serial is unique per incident and issuer (here: unknown)" 'certificate_identity' "$cert, '\\xfa', 'list.txt', 2)"
certi="INSERT INTO certificate (incident_id, serial, issuer_name, source, source_line) VALUES (1"
ok "the same serial of a named issuer is another certificate" db_sql -c "$certi, '\\xfa', 'CN=A', 'list.txt', 2)"
ok "and of a second issuer another again" db_sql -c "$certi, '\\xfa', 'CN=B', 'list.txt', 3)"
refused "an issuer's serial is unique" 'certificate_identity' "$certi, '\\xfa', 'CN=B', 'list.txt', 4)"
refused "a positive serial with a leading zero byte is refused" 'certificate_serial_check' "$cert, '\\x000a', 'list.txt', 3)"
refused "a serial over 20 octets is refused" 'certificate_serial_check' "$cert, '\\x$(printf '01%.0s' {1..21})', 'list.txt', 4)"
# Zero and negative serials (010): 00, or 00 then DER content octets.
ok "serial zero is stored as one zero octet" db_sql -c "$cert, '\\x00', 'root.pem', 1)"
ok "a negative serial as 00 and its two's complement" db_sql -c "$cert, '\\x00fa', 'neg.pem', 1)"
refused "zero has one form only" 'certificate_serial_check' "$cert, '\\x0000', 'list.txt', 5)"
refused "a negative serial is at most 20 octets of content" 'certificate_serial_check' "$cert, '\\x00$(printf 'ff%.0s' {1..21})', 'list.txt', 6)"
expect "serial_text prints stored serials as openssl does" "FA|00|-06" \
	"$(db_sql -c "SELECT serial_text('\\xfa') || '|' || serial_text('\\x00') || '|' || serial_text('\\x00fa')")"
refused "revocation state is checked" 'certificate_revocation_state_check' "UPDATE certificate SET revocation_state = 'maybe'"
refused "revoked needs a revocation time" 'check constraint' "UPDATE certificate SET revocation_state = 'revoked'"
refused "incidents are permanent (no DELETE)" 'permanent' "DELETE FROM incident"
refused "incidents are permanent (no TRUNCATE)" 'permanent' "TRUNCATE incident CASCADE"
notice="INSERT INTO notice (incident_id, address, kind) VALUES (1, 'ops@example.com'"
ok "a notice row loads" db_sql -c "$notice, 'initial')"
refused "one notice per (incident, address, kind)" 'notice_incident_id_address_kind_key' "$notice, 'initial')"
ok "another kind for the same address is fine" db_sql -c "$notice, 'reminder')"
refused "a notice names an incident that exists" 'names an incident that does not exist' \
	"INSERT INTO notice (incident_id, address, kind) VALUES (99, 'ops@example.com', 'initial')"
refused "a notice keeps its incident" 'its incident id does not change' "UPDATE notice SET incident_id = 99"
refused "an incident keeps its id" 'its incident id does not change' "UPDATE incident SET id = 99"
refused "notice kinds are checked" 'notice_kind_check' "$notice, 'spam')"
refused "sent needs sent_at" 'check constraint' "UPDATE notice SET state = 'sent'"
refused "claimed needs a lease" 'check constraint' "UPDATE notice SET state = 'claimed'"
ok "an account without address gets a no-address row" db_sql -c "INSERT INTO notice (incident_id, account, kind, state) VALUES (1, 'acct-9', 'initial', 'no-address')"
refused "one no-address row per account and kind" 'notice_incident_id_account_kind_key' "INSERT INTO notice (incident_id, account, kind, state) VALUES (1, 'acct-9', 'initial', 'no-address')"
refused "observation verdicts are checked" 'observation_verdict_check' "INSERT INTO scan_target (incident_id, name, port) VALUES (1, 'a.example', 443); INSERT INTO observation (target_id, worker, verdict) VALUES (1, 'w', 'fine')"

# Several machines may run migrate at once: the advisory lock serialises.
new_db concurrent
pids=()
for i in 1 2 3 4; do
	certrecall -q db migrate >"$T_TMP/m$i.log" 2>&1 &
	pids+=($!)
done
all=0
for p in "${pids[@]}"; do wait "$p" || all=1; done
expect "four concurrent migrates all succeed" 0 "$all"
expect "and each migration was applied exactly once" "$nmig" \
	"$(db_sql -c "SELECT count(*) FROM schema_migrations")"

psql -XAtq "$CERTRECALL_DATABASE" -c "INSERT INTO schema_migrations (name, checksum, applied_by) VALUES ('999_future', 'x', 'test')" >/dev/null 2>&1
out=$(certrecall incident list 2>&1)
contains "a schema newer than the binary is a warning only" "another machine runs a newer version" "$out"
finish
