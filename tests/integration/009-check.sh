#!/usr/bin/env bash
# certrecall check against real servers: nginx serving certificates by
# SNI, dnsmasq for the zone "test.", and misbehaving peers (tarpit,
# garbage, reset, trickle).  Everything listens on 127.0.0.0/8 only.
. "$(dirname "$0")/lib.sh"

FLEET=$T_TMP/fleet
FAULTS=$T_TMP/faults
mkdir -p "$FAULTS"
FAULTS_PID=
cleanup() {
	"$ROOT/tests/tlsfleet.sh" stop "$FLEET" >/dev/null 2>&1
	if [ -n "$FAULTS_PID" ]; then
		kill "$FAULTS_PID" 2>/dev/null
		wait "$FAULTS_PID" 2>/dev/null
		FAULTS_PID=
	fi
}
trap cleanup EXIT

read -r TP DP < <("$ROOT/tests/tlsfleet.sh" start "$FLEET")
if [ -z "${DP:-}" ]; then
	fail "the test fleet starts"
	finish
fi
FP=$((TP + 2)) # the faults' port; TP + 3 is closed everywhere
/usr/bin/python3 "$ROOT/tests/tlsfaults.py" --dir "$FAULTS" --port "$FP" \
	>"$FAULTS/log" 2>&1 &
FAULTS_PID=$!
for _ in $(seq 1 300); do [ -f "$FAULTS/ready" ] && break; sleep 0.1; done

export CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DP
export CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=2s
export CERTRECALL_SCANNER_CONNECT_TIMEOUT=2s
export CERTRECALL_SCANNER_IPV6=false
ALLOW=(--set scanner.allow=127.0.0.0/8)

# The affected certificate is in an incident.
new_db check
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA recheck bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import caa-2020 "$FLEET/affected.pem" --format pem --no-progress
affected_serial=$(openssl x509 -in "$FLEET/affected.pem" -noout -serial | sed 's/.*=//' | tr A-F a-f | sed 's/^\(00\)*//')
repl_serial=$(openssl x509 -in "$FLEET/replacement.pem" -noout -serial | sed 's/.*=//' | tr A-F a-f | sed 's/^\(00\)*//')

# check NAME ARGS...: runs check, sets OUT and RC.
check() {
	OUT=$(certrecall "${ALLOW[@]}" check "$@" 2>&1)
	RC=$?
}

check "affected.test:$TP"
expect "affected: exit 0" 0 "$RC"
contains "affected: the served serial is printed" "serial       $affected_serial" "$OUT"
contains "affected: the incident is named" "incidents    caa-2020: CAA recheck bug; revocation unknown" "$OUT"
contains "affected: verdict" "verdict      serving-affected" "$OUT"
contains "affected: names, not_after in UTC, TLS version" "names        affected.test multi.test" "$OUT"
contains "affected: TLS 1.3" "tls          TLSv1.3" "$OUT"
case $OUT in *"not_after    20"*Z*) pass "affected: not_after is RFC 3339 UTC" ;; *) fail "affected: not_after is RFC 3339 UTC" "$OUT" ;; esac
fp=$(openssl x509 -in "$FLEET/affected.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
contains "affected: SHA-256 matches openssl's" "sha256       $fp" "$OUT"

# Issue 16: revcheck's good answer is evidence (a revocation_evidence row
# as revcheck writes it; only a revocation is derived into the state):
# check used to say "revocation unknown" for it.
db_sql -c "INSERT INTO revocation_evidence (certificate_id, source, source_url, status, checked_at)
	SELECT id, 'ocsp', 'http://ocsp.test/', 'good', '2020-03-04T10:00:00Z' FROM certificate" >/dev/null
check "affected.test:$TP"
contains "a certificate revcheck found good says so, and by what" \
	"revocation good (ocsp, checked 2020-03-04T10:00:00Z)" "$OUT"
out=$(certrecall "${ALLOW[@]}" check --json "affected.test:$TP" 2>/dev/null)
contains "and --json says good" '"revocation_state": "good"' "$out"
db_sql -c "UPDATE certificate SET revocation_state = 'revoked', revoked_at = '2020-03-04T20:00:00Z'" >/dev/null
check "affected.test:$TP"
contains "a revoked affected certificate says when" "revocation revoked at 2020-03-04T20:00:00Z" "$OUT"
contains "still serving-affected while served" "verdict      serving-affected" "$OUT"

check "replaced.test:$TP"
contains "replacement: its serial" "serial       $repl_serial" "$OUT"
contains "replacement: in no incident" "incidents    none" "$OUT"
contains "replacement: verdict" "verdict      serving-replacement" "$OUT"

check "other.test:$TP"
contains "other certificate: its name" "names        elsewhere.test" "$OUT"
contains "other certificate: verdict" "verdict      serving-other" "$OUT"

check "unknown.test:$TP"
contains "unknown SNI gets the default certificate" "subject      CN=default.test" "$OUT"
contains "unknown SNI: verdict" "verdict      serving-other" "$OUT"

check "a.wild.test:$TP"
contains "wildcard certificate covers one label: replacement" "verdict      serving-replacement" "$OUT"

check "affected.test:$((TP + 3))"
expect "closed port: exit 69" 69 "$RC"
contains "closed port: refused" "outcome      refused" "$OUT"

start=$(date +%s%N)
check "tarpit.test:$FP" --address 127.0.1.1
ms=$((($(date +%s%N) - start) / 1000000))
contains "tarpit: timeout in the handshake phase" "outcome      timeout (handshake phase)" "$OUT"
if [ "$ms" -lt 3000 ]; then pass "tarpit ends within handshake_timeout + 1 s (${ms} ms)"; else fail "tarpit ends within handshake_timeout + 1 s" "took ${ms} ms"; fi
expect "tarpit: exit 69" 69 "$RC"

check "garbage.test:$FP" --address 127.0.1.2
contains "garbage: tls-error with OpenSSL's reason" "outcome      tls-error: wrong version number" "$OUT"

# A reset after the TCP handshake is an answer from a listening peer:
# tls-error (not refused, which means nothing listens).
check "reset.test:$FP" --address 127.0.1.3
contains "reset: tls-error, connection reset" "outcome      tls-error: Connection reset by peer" "$OUT"

start=$(date +%s%N)
check "trickle.test:$FP" --address 127.0.1.4
ms=$((($(date +%s%N) - start) / 1000000))
contains "trickle: handshake timeout" "outcome      timeout (handshake phase)" "$OUT"
if [ "$ms" -lt 3000 ]; then pass "trickle ends within handshake_timeout + 1 s (${ms} ms)"; else fail "trickle ends within handshake_timeout + 1 s" "took ${ms} ms"; fi

check "nope.test:$TP"
expect "NXDOMAIN: exit 69" 69 "$RC"
contains "NXDOMAIN: outcome" "outcome      nxdomain" "$OUT"
contains "NXDOMAIN: verdict" "verdict      nxdomain" "$OUT"

check "multi.test:$TP"
expect "three addresses: three results" 3 "$(grep -c '^address' <<<"$OUT")"
expect "three addresses: one serves the affected certificate" 1 "$(grep -c 'verdict      serving-affected' <<<"$OUT")"
expect "three addresses: two serve the replacement" 2 "$(grep -c 'verdict      serving-replacement' <<<"$OUT")"
contains "three addresses: 127.0.0.3 is the affected one" "address      127.0.0.3
outcome      ok" "$OUT"

json=$(certrecall "${ALLOW[@]}" check multi.test:"$TP" --json 2>/dev/null)
expect "--json: one object with a verdict per address" \
	"127.0.0.3 serving-affected caa-2020|127.0.0.4 serving-replacement -|127.0.0.5 serving-replacement -" \
	"$(/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print("|".join("%s %s %s" % (r["address"], r["verdict"],
    ",".join(i["slug"] for i in r["incidents"]) or "-") for r in d["results"]))' <<<"$json")"

# Identity is (issuer, serial): the incident has the certificate's bytes,
# so the match is by SHA-256 (016-identity has the same serial from two
# CAs).
contains "--json: the affected certificate matched by SHA-256" '"match": "sha256"' "$json"

check "affected.test:$TP" --address 127.0.0.3
contains "--address skips DNS and keeps SNI" "verdict      serving-affected" "$OUT"

# Policy: with the default deny, loopback is never connected to.
: >"$FAULTS/accepts.log"
OUT=$(certrecall check "local.test:$FP" 2>&1); RC=$?
contains "denied address: filtered" "outcome      filtered" "$OUT"
expect "denied address: exit 69" 69 "$RC"
OUT=$(certrecall check "local.test:$FP" --address ::ffff:127.0.0.1 2>&1)
contains "IPv4-mapped loopback is denied too" "outcome      filtered" "$OUT"
OUT=$(certrecall --set scanner.allow=10.0.0.0/8 check "x.test:$FP" --address 127.0.0.1 2>&1)
contains "an allow that does not cover it changes nothing" "outcome      filtered" "$OUT"
sleep 0.2
expect "denied address: the server saw no connection" "" "$(cat "$FAULTS/accepts.log")"
OUT=$(certrecall "${ALLOW[@]}" --set scanner.handshake_timeout=300ms check "local.test:$FP" 2>&1)
sleep 0.2
expect "control: allowed, the same server sees the connection" "watch" "$(cat "$FAULTS/accepts.log")"

# Without a database the probe is still reported.
OUT=$(certrecall "${ALLOW[@]}" -d "host=$T_TMP/nodb dbname=x connect_timeout=2" check "affected.test:$TP" 2>&1); RC=$?
expect "no database: still exit 0" 0 "$RC"
contains "no database: says incidents were not checked" "incidents    not checked" "$OUT"
contains "no database: no verdict guessed" "verdict      unknown: incidents not checked" "$OUT"

# Usage and configuration errors.
fails "no HOST: exit 64" 64 certrecall check
fails "bad port: exit 64" 64 certrecall check affected.test:99999
fails "bad --address: exit 64" 64 certrecall check affected.test --address nope
fails "wildcard HOST: exit 64" 64 certrecall check '*.wild.test'
fails "bad scanner.deny: exit 78" 78 certrecall --set scanner.deny=10.0.0.1/8 check affected.test
OUT=$(certrecall --set scanner.allow=10.0.0.0/33 config check 2>&1)
contains "bad scanner.allow is explained" 'scanner.allow: "10.0.0.0/33": prefix longer than 32 bits' "$OUT"
OUT=$(certrecall --set scanner.deny=10.0.0.1/8 config check 2>&1)
contains "host bits after the prefix are refused" "did you mean 10.0.0.0/8?" "$OUT"
fails "bad dns server list: exit 78" 78 certrecall "${ALLOW[@]}" --set scanner.dns_servers=not-an-ip check affected.test

cleanup
finish
