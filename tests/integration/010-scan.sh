#!/usr/bin/env bash
# certrecall scan against the local TLS fleet: one probe per name, every
# address, verdicts matching the ground truth, the per-certificate roll-up,
# and several processes sharing one scan.
. "$(dirname "$0")/lib.sh"
FLEET=$T_TMP/fleet
trap '"$ROOT/tests/tlsfleet.sh" stop "$FLEET" >/dev/null 2>&1' EXIT
read -r TP DP < <("$ROOT/tests/tlsfleet.sh" start "$FLEET")
[ -n "${DP:-}" ] || { fail "the test fleet starts"; finish; }

export CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DP
export CERTRECALL_SCANNER_PORTS=$TP
export CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=2s CERTRECALL_SCANNER_CONNECT_TIMEOUT=2s
export CERTRECALL_SCANNER_IPV6=false
# No label to probe *.wild.test at (028 probes wildcards).
export CERTRECALL_SCANNER_WILDCARD_LABELS=
# The fleet's addresses, but not 127.0.0.1: local.test must be filtered.
export CERTRECALL_SCANNER_ALLOW=127.0.0.2/32,127.0.0.3/32,127.0.0.4/31

new_db scan
certrecall -q db migrate
cd "$T_TMP"
setup() { # setup SLUG: the affected certificates of an incident
	certrecall -q incident create --slug "$1" --title "$1" --reason 5d-7 \
		--aware-at 2020-02-29T03:08:00Z
	certrecall -q import "$1" "$FLEET/affected.pem" --no-progress
	printf '%s\n' 'serial,names' '0a01,replaced.test' '0a02,other.test' \
		'0a03,"unknown.test;nope.test;local.test"' '0a04,*.wild.test' >extra.csv
	certrecall -q import "$1" extra.csv --no-progress
}
setup one
out=$(certrecall scan one --procs 1 --no-progress --jsonl probes.jsonl 2>&1)
contains "all probeable targets are probed" "scan: 7 of 7 targets probed: 6 answered, 0 failed, 1 filtered; 9 results" "$out"
verdict() {
	db_sql -c "SELECT string_agg(o.verdict, ' ' ORDER BY o.verdict)
		FROM observation o JOIN scan_target t ON t.id = o.target_id
		JOIN incident i ON i.id = t.incident_id
		WHERE i.slug = '$1' AND t.name = '$2'"
}
expect "affected.test serves the affected certificate" serving-affected "$(verdict one affected.test)"
expect "multi.test: one address affected, two replacement" \
	"serving-affected serving-replacement serving-replacement" "$(verdict one multi.test)"
expect "replaced.test serves a replacement" serving-replacement "$(verdict one replaced.test)"
expect "other.test serves a certificate for another name" serving-other "$(verdict one other.test)"
expect "unknown SNI gets the default certificate" serving-other "$(verdict one unknown.test)"
expect "NXDOMAIN" nxdomain "$(verdict one nope.test)"
expect "an address outside scanner.allow is filtered" filtered "$(verdict one local.test)"
expect "a wildcard name with no name to probe it at is not probeable" "f done" \
	"$(db_sql -c "SELECT probeable || ' ' || state FROM scan_target WHERE name = '*.wild.test' AND incident_id = 1" | sed 's/^false/f/')"
rollup() {
	db_sql -c "SELECT certificate_scan_verdict(incident_id, serial, names)
		FROM certificate WHERE incident_id = (SELECT id FROM incident WHERE slug = '$1')
		AND $2"
}
expect "the affected certificate rolls up as deployed" deployed "$(rollup one "source LIKE '%affected.pem'")"
expect "a name serving a replacement rolls up as replaced" replaced "$(rollup one "serial = '\\x0a01'")"
expect "errors and other certificates are unknown, never 'not deployed'" unknown "$(rollup one "serial = '\\x0a03'")"
expect "--jsonl has one line per result" 9 "$(wc -l <probes.jsonl)"
out=$(certrecall status one)
contains "status shows the latest probes" "serving-replacement 3" "$(tr -s ' ' <<<"$out")"
expect "the scan is in the audit trail" 1 "$(db_sql -c "SELECT count(*) FROM event WHERE kind = 'scan'")"
out=$(certrecall scan one --procs 1 --no-progress 2>&1)
contains "fresh targets are not probed again" "scan: 0 of 0 targets probed" "$out"
out=$(certrecall scan one --procs 1 --no-progress --stale-after 0 2>&1)
contains "--stale-after 0 probes everything again" "scan: 7 of 7 targets probed" "$out"
expect "the roll-up reads the latest round" deployed "$(rollup one "source LIKE '%affected.pem'")"
printf 'multi.test\n' >names.txt
out=$(certrecall scan one --procs 1 --no-progress --stale-after 0 --names names.txt 2>&1)
contains "--names limits the run" "scan: 1 of 1 targets probed: 1 answered, 0 failed, 0 filtered; 3 results" "$out"
db_sql -c "UPDATE certificate SET revoked_at = '2020-03-04T20:00:00Z', revocation_state = 'revoked' WHERE incident_id = 1 AND 'replaced.test' = ANY (names)" >/dev/null
out=$(certrecall scan one --procs 1 --no-progress --stale-after 0 2>&1)
contains "a name whose certificates were all revoked is not probed again" "scan: 6 of 6 targets probed" "$out"

# Two scan processes (of two workers each) share one incident: every
# target is probed exactly once.
setup two
certrecall -q scan two --procs 2 --no-progress &
a=$!
certrecall -q scan two --procs 2 --no-progress &
b=$!
wait $a; wait $b
expect "each target probed in exactly one round" "1" \
	"$(db_sql -c "SELECT DISTINCT round FROM scan_target t WHERE incident_id = 2 AND probeable")"
expect "and observed once per address" 9 \
	"$(db_sql -c "SELECT count(*) FROM observation o JOIN scan_target t ON t.id = o.target_id WHERE t.incident_id = 2")"
finish
