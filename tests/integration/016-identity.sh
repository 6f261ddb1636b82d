#!/usr/bin/env bash
# A certificate is its issuer and serial (RFC 5280 4.1.2.2), never the
# serial alone: two real test CAs (openssl) issue leaves with the same
# serial; both load into one incident; `check` against real nginx calls
# only the listed issuer's certificate affected.  Also: the le2020 time is
# the CAA check's, and the CCADB appendix's Not before / Not after / Issuer
# columns; migration 009 on a database that already holds rows.
. "$(dirname "$0")/lib.sh"

D=$T_TMP/pki
mkdir -p "$D"
cd "$T_TMP"

# ca NAME SUBJECT: a self-signed ECDSA CA (with a subjectKeyIdentifier).
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/$1.key" -out "$D/$1.pem" -days 365 -subj "$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext subjectKeyIdentifier=hash 2>/dev/null
}
# leaf NAME CA SERIAL DNSNAME: a leaf of CA with that serial.
leaf() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/$1.key" -subj "/CN=$4" -out "$D/$1.csr" 2>/dev/null
	printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nauthorityKeyIdentifier=keyid\n' \
		"$4" >"$D/$1.ext"
	openssl x509 -req -in "$D/$1.csr" -CA "$D/$2.pem" -CAkey "$D/$2.key" \
		-set_serial "$3" -days 90 -extfile "$D/$1.ext" \
		-out "$D/$1.pem" 2>/dev/null
}
ca ca-a "/O=certrecall test A/CN=identity CA A"
ca ca-b "/O=certrecall test B/CN=identity CA B"
# The same name as CA A, another key: told apart by key identifier.
ca ca-a2 "/O=certrecall test A/CN=identity CA A"
ca ca-x "/O=certrecall test X/CN=identity CA X"
leaf a ca-a 0x1002 a.test
leaf b ca-b 0x1002 b.test
leaf a2 ca-a2 0x1002 a2.test
# CA A's certificate with that serial for the name CA B's is served at.
leaf ab ca-a 0x1002 b.test
expect "the test CAs issued the same serial" "serial=1002 serial=1002 serial=1002" \
	"$(for l in a b a2; do openssl x509 -in "$D/$l.pem" -noout -serial; done | tr '\n' ' ' | sed 's/ $//')"

# nginx serves each leaf by SNI on 127.0.0.2.
PORT=$((20000 + RANDOM % 20000))
{
	cat <<EOF
worker_processes 1;
user root;
pid $D/nginx.pid;
error_log $D/nginx-error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $D/tmp-body;
	proxy_temp_path $D/tmp-proxy;
	fastcgi_temp_path $D/tmp-fastcgi;
	uwsgi_temp_path $D/tmp-uwsgi;
	scgi_temp_path $D/tmp-scgi;
EOF
	for l in a b a2; do
		def=""
		[ "$l" = a ] && def=" default_server"
		cat <<EOF
	server {
		listen 127.0.0.2:$PORT ssl$def; server_name $l.test;
		ssl_certificate $D/$l.pem; ssl_certificate_key $D/$l.key;
		return 200 "$l\n";
	}
EOF
	done
	echo "}"
} >"$D/nginx.conf"
cleanup() {
	local f
	for f in "$D/nginx.pid" "$D/dnsmasq.pid"; do
		[ -s "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$(cat "$f" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
		rm -f "$f"
	done
}
trap cleanup EXIT
/usr/sbin/nginx -c "$D/nginx.conf" -p "$D" -e "$D/nginx-error.log"
for _ in $(seq 1 50); do
	(exec 3<>"/dev/tcp/127.0.0.2/$PORT") 2>/dev/null && break
	sleep 0.1
done

export CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=2s
export CERTRECALL_SCANNER_CONNECT_TIMEOUT=2s
export CERTRECALL_SCANNER_IPV6=false
# check HOST: probes 127.0.0.2 with SNI HOST; sets OUT and RC.
check() {
	OUT=$(certrecall --set scanner.allow=127.0.0.0/8 check "$1:$PORT" --address 127.0.0.2 2>&1)
	RC=$?
}
incident() {
	certrecall -q incident create --slug "$1" --title "$1" --reason v1.6.7:5d-7 \
		--aware-at 2020-02-29T03:08:00Z
}

new_db identity
certrecall -q db migrate

# Seen item 2: only CA A's certificate is affected.  A host serving CA B's
# certificate with the same serial is not.
incident only-a
certrecall -q import only-a "$D/a.pem" --no-progress
check a.test
expect "CA A's certificate: exit 0" 0 "$RC"
contains "CA A's certificate is in the incident" "incidents    only-a: only-a; revocation unknown" "$OUT"
contains "CA A's certificate is serving-affected" "verdict      serving-affected" "$OUT"
check b.test
contains "CA B's certificate, same serial: its issuer is printed" "issuer       CN=identity CA B,O=certrecall test B" "$OUT"
contains "CA B's certificate, same serial: in no incident" "incidents    none (not an affected certificate)" "$OUT"
case $OUT in *serving-affected*) fail "CA B's certificate is not serving-affected" "$OUT" ;; *) pass "CA B's certificate is not serving-affected" ;; esac
check a2.test
contains "same issuer name, another key identifier: not the listed certificate" "incidents    none" "$OUT"

# Both certificates load into one incident and coexist.
incident both
out=$(certrecall import both "$D/a.pem" "$D/b.pem" --no-progress 2>&1)
expect "two certificates with one serial from two issuers load into one incident" 0 $?
contains "both are new" "2 new, 0 already present" "$out"
expect "both rows, each with its issuer" \
	"CN=identity CA A,O=certrecall test A 1002|CN=identity CA B,O=certrecall test B 1002" \
	"$(db_sql -c "SELECT string_agg(issuer_name || ' ' || encode(serial, 'hex'), '|' ORDER BY issuer_name) FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'both'")"
out=$(certrecall import both "$D/b.pem" "$D/a.pem" --no-progress 2>&1)
contains "a second import is a no-op" "0 new, 2 already present" "$out"
check b.test
contains "CA B's certificate is found in its incident" "incidents    both: both; revocation unknown" "$OUT"
case $OUT in *only-a*) fail "and not in CA A's incident" "$OUT" ;; *) pass "and not in CA A's incident" ;; esac
contains "CA B's certificate is serving-affected there" "verdict      serving-affected" "$OUT"
json=$(certrecall --set scanner.allow=127.0.0.0/8 check "b.test:$PORT" --address 127.0.0.2 --json 2>/dev/null)
expect "--json says how it matched (SHA-256: the incident has the certificate)" "both sha256" \
	"$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(i["slug"] + " " + i["match"] for r in d["results"] for i in r["incidents"]))' <<<"$json")"

# A revocations file names serials only: one that two issuers of the
# incident share is refused, naming the line.
printf 'serial,revoked_at\n1002,2020-03-04T20:00:00Z\n' >rev.csv
out=$(certrecall import both --revocations rev.csv 2>&1)
expect "an ambiguous revocation serial fails the import (65)" 65 $?
contains "and names file and line" "rev.csv:2: serial 1002 is the serial of 2 certificates of different issuers" "$out"
expect "nothing was recorded" 0 "$(db_sql -c "SELECT count(*) FROM revocation_evidence")"
out=$(certrecall export-revocations both -o batch.csv 2>&1)
contains "the revoker's batch warns that a serial belongs to two issuers" "1 serials belong to certificates of more than one issuer" "$out"

# A list without issuers: the serial alone can match, and check says so.
incident serials
printf '1002\n' >serials.txt
certrecall -q import serials serials.txt --format serials --no-progress
check b.test
contains "issuer unknown: the serial match is flagged" "serials: serials; revocation unknown; serial matches; issuer unknown" "$OUT"
# With its issuer given, the list's certificate is CA A's.
certrecall -q incident add-issuer serials "$D/ca-a.pem"
expect "add-issuer names the issuer of the list's certificates" "CN=identity CA A,O=certrecall test A" \
	"$(db_sql -c "SELECT c.issuer_name FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'serials'")"
check b.test
case $OUT in *"serials: "*) fail "after add-issuer, CA B's certificate is not in the list's incident" "$OUT" ;; *) pass "after add-issuer, CA B's certificate is not in the list's incident" ;; esac
check a.test
contains "and CA A's is, by issuer and serial" "serials: serials; revocation unknown" "$OUT"
# An incident with two issuers: a list's certificate stays of unknown
# issuer and matches by serial only within those issuers.
incident two-issuers
certrecall -q incident add-issuer two-issuers "$D/ca-b.pem"
certrecall -q incident add-issuer two-issuers "$D/ca-x.pem"
certrecall -q import two-issuers serials.txt --format serials --no-progress
expect "with two issuers the list's issuer stays unknown" 1 \
	"$(db_sql -c "SELECT count(*) FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'two-issuers' AND c.issuer_name IS NULL")"
check b.test
contains "CA B (one of its issuers): serial matches, flagged" "two-issuers: two-issuers; revocation unknown; serial matches; issuer unknown (the served issuer is one of the incident's)" "$OUT"
check a.test
case $OUT in *"two-issuers"*) fail "CA A (not one of its issuers): not listed" "$OUT" ;; *) pass "CA A (not one of its issuers): not listed" ;; esac
# A serial of unknown issuer is the certificate the incident has under a
# known issuer: not a second row.
incident mixed
certrecall -q import mixed "$D/a.pem" --no-progress
out=$(certrecall import mixed serials.txt --format serials --no-progress 2>&1)
contains "a list's serial already loaded from its PEM is present, not new" "0 new, 1 already present" "$out"
# A list imported into an incident that already has its one issuer.
incident serials-after
certrecall -q incident add-issuer serials-after "$D/ca-b.pem"
certrecall -q import serials-after serials.txt --format serials --no-progress
expect "a list takes the incident's only issuer at import" "CN=identity CA B,O=certrecall test B" \
	"$(db_sql -c "SELECT c.issuer_name FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'serials-after'")"
check a.test
case $OUT in *"serials-after"*) fail "CA A's certificate is not in CA B's list" "$OUT" ;; *) pass "CA A's certificate is not in CA B's list" ;; esac

# scan: a probe of b.test (serving CA B's 1002) is not CA A's 1002 for
# b.test, and the deployment roll-up does not call it deployed.
DP=$((PORT + 1))
/usr/sbin/dnsmasq --port="$DP" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --local=/test/ --pid-file="$D/dnsmasq.pid" \
	--log-facility="$D/dnsmasq.log" --user=root --group=root \
	--host-record=b.test,127.0.0.2
incident scan-a
certrecall -q import scan-a "$D/ab.pem" --no-progress
CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DP CERTRECALL_SCANNER_PORTS=$PORT \
	CERTRECALL_SCANNER_ALLOW=127.0.0.2/32 \
	certrecall -q scan scan-a --procs 1 --no-progress
expect "scan: CA B's certificate for the name is a replacement, not CA A's affected one" \
	serving-replacement \
	"$(db_sql -c "SELECT string_agg(o.verdict, ' ') FROM observation o JOIN scan_target t ON t.id = o.target_id JOIN incident i ON i.id = t.incident_id WHERE i.slug = 'scan-a'")"
expect "the report's deployment roll-up: replaced, not deployed" replaced \
	"$(certrecall report scan-a --format csv 2>/dev/null | tail -1 | cut -d, -f7)"
expect "the notices' roll-up agrees" replaced \
	"$(db_sql -c "SELECT v.verdict FROM certificate c JOIN incident i ON i.id = c.incident_id CROSS JOIN LATERAL certificate_scan_verdict_inline(c.incident_id, c.serial, c.names, c.issuer_name, c.sha256, c.is_precert) v WHERE i.slug = 'scan-a'")"

# Seen item 8: the le2020 time is the CAA check's.  The CCADB appendix
# leaves Not before / Not after empty and fills Issuer once it is known.
incident le
cat >le.txt <<'EOF'
serial 0a1b 4242 1a2b names: [le.example] missing CAA checking results for le.example at 2020-02-29 03:08:00.123456 +0000 UTC
serial 0a1c 4243 1a2c names: [le2.example] missing CAA checking results for le2.example at 2020-02-28 01:02:03.5 +0000 UTC
EOF
certrecall -q import le le.txt --no-progress
expect "le2020: the time is stored as the CAA check's" "2020-02-29T03:08:00Z " \
	"$(db_sql -c "SELECT to_char(caa_checked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' ' || coalesce(issued_at::text, '') FROM certificate WHERE serial = '\x0a1b'")"
certrecall -q incident add-issuer le "$D/ca-a.pem"
certrecall report le --format ccadb -o le.csv 2>le.err
expect "le2020 appendix: Issuer filled, Not before and Not after empty" \
	',,,"CN=identity CA A,O=certrecall test A",,,0A1B,le.example' \
	"$(grep ',0A1B,' le.csv | cut -d, -f1-9)"
case $(cat le.err) in *'"Not before" is empty for 2 of 2'*) pass "the empty Not before is named on stderr" ;; *) fail "the empty Not before is named on stderr" "$(cat le.err)" ;; esac

# A PEM incident: the certificates' own values.
iso() { openssl x509 -in "$1" -noout "$2" -dateopt iso_8601 | sed 's/^[a-zA-Z]*=//; s/ /T/'; }
certrecall report both --format ccadb -o both.csv 2>/dev/null
fp=$(openssl x509 -in "$D/b.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
expect "PEM appendix: SHA-256, subject, issuer, notBefore, notAfter as openssl reads them" \
	",$fp,CN=b.test,\"CN=identity CA B,O=certrecall test B\",$(iso "$D/b.pem" -startdate),$(iso "$D/b.pem" -enddate),1002,b.test" \
	"$(grep ',b.test,' both.csv | cut -d, -f1-9)"

# Migration 009 keeps existing data: a database at 008 with an le2020 row
# and a PEM row.
new_db identity_upgrade
for f in "$ROOT"/sql/00[1-8]_*.sql; do
	db_sql -f "$f" >/dev/null
	n=$(basename "$f" .sql)
	db_sql -c "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL)" \
		-c "INSERT INTO schema_migrations (name, checksum, applied_by) VALUES ('$n', '$(sha256sum "$f" | cut -d' ' -f1)', 'test')" >/dev/null
done
db_sql -c "INSERT INTO incident (slug, title, reason, aware_at) VALUES ('old', 'old', 'v1.6.7:5d-7', '2020-02-29T03:08:00Z')" \
	-c "INSERT INTO certificate (incident_id, serial, account, issued_at, names, source, source_line) VALUES (1, '\x0a1b', '4242', '2020-02-29T03:08:00Z', '{le.example}', 'le.txt', 1)" \
	-c "INSERT INTO certificate (incident_id, serial, issued_at, not_after, issuer_name, subject, sha256, names, source, source_line) VALUES (1, '\x1002', '2020-01-01T00:00:00Z', '2020-04-01T00:00:00Z', 'CN=identity CA A,O=certrecall test A', 'CN=a.test', decode(repeat('ab', 32), 'hex'), '{a.test}', 'a.pem', 1)" >/dev/null
out=$(certrecall db migrate 2>&1)
contains "009 applies on top of existing data" "applying migration 009_identity" "$out"
expect "the le2020 row's time moved to caa_checked_at" "2020-02-29 03:08:00+00 " \
	"$(db_sql -c "SET timezone = 'UTC'; SELECT caa_checked_at || ' ' || coalesce(issued_at::text, '') FROM certificate WHERE serial = '\x0a1b'")"
expect "the PEM row keeps its notBefore" "2020-01-01 00:00:00+00" \
	"$(db_sql -c "SET timezone = 'UTC'; SELECT issued_at FROM certificate WHERE serial = '\x1002'")"
certrecall -q import old "$D/b.pem" --no-progress
expect "after 009 the same serial of another issuer loads beside it" 2 \
	"$(db_sql -c "SELECT count(*) FROM certificate WHERE serial = '\x1002'")"

cleanup
finish
