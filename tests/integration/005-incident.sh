#!/usr/bin/env bash
# Incidents and their clocks: the March 2020 CAA incident replayed.
. "$(dirname "$0")/lib.sh"
new_db incident
certrecall -q db migrate

ok "create the 2020 incident (aware_at given in +09:00)" \
	certrecall incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00
expect "aware_at is stored in UTC" "2020-02-29 03:08:00+00" \
	"$(db_sql -c "SELECT aware_at FROM incident WHERE slug = 'caa-2020'")"

at=2020-03-04T00:00:00Z
out=$(certrecall deadlines caa-2020 --at $at)
contains "SHOULD-by is overdue by 2d 20h 52m" \
	"revoke-should          2020-03-01T03:08:00Z  overdue by 2d 20h 52m" "$out"
contains "MUST-by has 1d 03h 08m left" \
	"revoke-must            2020-03-05T03:08:00Z  1d 03h 08m left" "$out"
contains "no CCADB 72-hour clock in 2020 (CCADB IRG v2.0 came 2023-10-17)" \
	"not applied: ccadb-first-report (CCADB IRG v2.0, in force from 2023-10-17)" "$out"
contains "nor a 14-day full-report clock" "not applied: ccadb-full-report" "$out"
contains "the rule is cited with its edition" \
	"BR 4.9.1.1 (v1.6.7) 5-day list item 7" "$out"
for tz in Asia/Tokyo America/New_York UTC Australia/Sydney; do
	expect "deadlines is identical under TZ=$tz" "$out" \
		"$(TZ=$tz certrecall deadlines caa-2020 --at $at)"
done
out=$(certrecall deadlines caa-2020 --at 2020-03-04T09:00:00+09:00)
contains "--at accepts any offset" "1d 03h 08m left" "$out"
out=$(certrecall deadlines caa-2020 --at 2020-03-05T03:08:00Z)
contains "the deadline second itself is still on time" \
	"revoke-must            2020-03-05T03:08:00Z  0m left" "$out"
out=$(certrecall deadlines caa-2020 --at 2020-03-05T03:08:01Z)
contains "one second later it is overdue" "overdue by 0m" "$out"

json=$(certrecall deadlines caa-2020 --at $at --json)
got=$(/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {x["id"]: x for x in d["clocks"]}
print(d["aware_at"], c["revoke-must"]["due"], c["revoke-must"]["remaining_seconds"],
      c["revoke-should"]["remaining_seconds"], d["rule"]["edition"])' <<<"$json")
expect "--json carries due times and seconds" \
	"2020-02-29T03:08:00Z 2020-03-05T03:08:00Z 97680 -247920 v1.6.7" "$got"

# Certificates (loaded by SQL until the importer lands) drive the verdicts.
db_sql <<'SQL'
INSERT INTO certificate (incident_id, serial, issued_at, not_after, revoked_at,
	revocation_state, source, source_line)
SELECT 1, decode(lpad(to_hex(g), 4, '0'), 'hex'), '2020-01-01Z', na, rv,
	CASE WHEN rv IS NULL THEN 'unknown' ELSE 'revoked' END, 'fixture', g
FROM (VALUES
	(256, '2020-04-01Z'::timestamptz, '2020-03-02T10:00:00Z'::timestamptz),
	(257, '2020-04-01Z', '2020-03-05T03:08:00Z'),
	(258, '2020-04-01Z', '2020-03-05T03:08:01Z'),
	(259, '2020-03-02Z', NULL),
	(260, '2020-04-01Z', NULL),
	(261, '2020-03-10Z', NULL)) AS t(g, na, rv);
SQL
out=$(certrecall status caa-2020 --at 2020-03-06T00:00:00Z)
contains "status counts revoked on time (deadline second included)" "revoked on time 2" "$out"
contains "status counts revoked late" "revoked late    1" "$out"
contains "status counts expired before the deadline" "expired         1" "$out"
contains "status counts overdue (incl. expired after MUST-by)" "overdue         2" "$out"
contains "MUST-by is missed" "revoke-must 2020-03-05T03:08:00Z overdue by 20h 52m missed" \
	"$(tr -s ' ' <<<"$out")"
case $out in
*delayed-update-must*) fail "no delayed-revocation update clock in 2020 (CCADB IRG v2.0)" "$out" ;;
*) pass "no delayed-revocation update clock in 2020 (CCADB IRG v2.0)" ;;
esac
out=$(certrecall status caa-2020 --at 2020-03-03T00:00:00Z)
contains "replaying earlier: later revocations had not happened" "pending         4" "$out"
contains "replaying earlier: one revoked by then" "revoked on time 1" "$out"

# Reports made: their clocks are met; every change is audited.
# Issue 16: an update with nothing to change exited 0 silently.
out=$(certrecall incident update caa-2020 2>&1)
expect "update with no option is a usage error (64)" 64 $?
contains "and names the options" "nothing to change; give at least one of --title" "$out"
ok "record the first report" certrecall incident update caa-2020 --first-report 2020-03-02T18:00:00-05:00
out=$(certrecall incident show caa-2020)
contains "the report time is kept" "first_report_at  2020-03-02T23:00:00Z" "$out"
detail=$(db_sql -c "SELECT detail FROM event WHERE kind = 'incident.update'")
expect "the update event has old and new values" \
	'{"first_report_at": {"new": "2020-03-02T23:00:00Z", "old": null}}' "$detail"
expect "create was audited too" 1 \
	"$(db_sql -c "SELECT count(*) FROM event WHERE kind = 'incident.create' AND incident_id = 1")"
out=$(certrecall incident update caa-2020 --first-report 2020-03-02T23:00:00Z 2>&1)
contains "an update that changes nothing says so" "0 fields changed" "$out"
expect "and writes no event" 1 \
	"$(db_sql -c "SELECT count(*) FROM event WHERE kind = 'incident.update'")"

# Reasons are checked against the edition in force at aware_at.
fails "a current-numbering key in 2020 is refused (65)" 65 certrecall incident create \
	--slug x --title x --reason br-12 --aware-at 2020-02-29T03:08:00Z
out=$(certrecall incident create --slug x --title x --reason br-12 --aware-at 2020-02-29T03:08:00Z 2>&1)
contains "the refusal names the counterpart" "use 5d-7, or write current:br-12" "$out"
ok "a bare key resolves to the edition in force" certrecall incident create \
	--slug tls-2022 --title "TLS-ALPN-01" --reason br-12 --aware-at 2024-01-26T00:00:00Z
expect "and is stored with its edition" "v1.8.7:br-12" \
	"$(db_sql -c "SELECT reason FROM incident WHERE slug = 'tls-2022'")"
fails "duplicate slug is refused" 65 certrecall incident create --slug caa-2020 \
	--title x --reason 5d-7 --aware-at 2020-02-29
fails "aware-at is mandatory" 64 certrecall incident create --slug y --title y --reason 5d-7
for bad in 2020-02-30 "2020-03-01T24:00:01Z" "2020-03-01T10:00:00+25:00" "" \
	"2020-03-01T10:00:00Z junk" "2020-03-01T10:00:00"; do
	out=$(certrecall incident create --slug y --title y --reason 5d-7 --aware-at "$bad" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && [[ $out == *"\"$bad\""* || ( -z $bad && $rc -eq 64 ) ]]; then
		pass "invalid time '$bad' is refused, quoted"
	else
		fail "invalid time '$bad' is refused, quoted" "exit $rc: $out"
	fi
done
fails "unknown incident exits 65" 65 certrecall deadlines nosuch
out=$(certrecall incident list)
contains "list shows both incidents" "tls-2022" "$out"
contains "list shows counts" "caa-2020             2020-02-29T03:08:00Z v1.6.7:5d-7                 6" "$out"

# The catalogue.
out=$(certrecall rules br-5 --at 2020-03-01)
contains "rules explains which text applied in 2020" "24-hour list item 4" "$out"
out=$(certrecall rules br-5 --at 2026-04-01)
contains "and the CAA wording from v2.2.6" "CAA" "$out"
out=$(certrecall rules --edition v1.8.7)
contains "the current list carries CRLReason codes" "superseded (4)" "$out"
expect "rules lists 88 entries (v1.8.4 added)" 88 "$(certrecall rules | grep -cE '^(24h|5d|br|ca|cpr)-?[0-9]* ')"

finish
