#!/usr/bin/env bash
# One clock: every "now" in src/ comes from src/base/clock.c, which honours the
# rehearsal clock (CERTRECALL_CLOCK).  A rehearsal at 2020 verifies a CRL
# and OCSP answers that were valid only then (made by `openssl ca -gencrl`
# with explicit dates and by `openssl ocsp` under faketime, served on
# 127.0.0.1); the same run at the real clock refuses them as stale.  The
# notices of a rehearsal are composed at the rehearsal time.
. "$(dirname "$0")/lib.sh"

# No other time source in src/: the wall clock is read in src/base/clock.c
# only (clock_now, and clock_real for log stamps).  Monotonic clocks for
# timeouts and rates are fine.
bad=$(grep -nE '(^|[^A-Za-z0-9_.>])time[[:space:]]*\([[:space:]]*(NULL|0|&)|(^|[^A-Za-z0-9_])(gettimeofday|localtime(_r)?|mktime|ftime|timespec_get)[[:space:]]*\(|CLOCK_REALTIME|CLOCK_TAI' \
	"$ROOT"/src/*/*.c "$ROOT"/include/certrecall/*/*.h | grep -v "^$ROOT/src/base/clock.c:" | sed "s|^$ROOT/||")
expect "no time source in src/ but src/base/clock.c" "" "$bad"
expect "src/base/clock.c is the one that reads the wall clock" 1 \
	"$(grep -c 'clock_gettime(CLOCK_REALTIME' "$ROOT/src/base/clock.c" 2>/dev/null || echo 0)"

D=$T_TMP/ca
mkdir -p "$D/bin"
cd "$D"
PIDS=()
FLEET=$T_TMP/fleet
trap 'for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null; done
	"$ROOT/tests/tlsfleet.sh" stop "$FLEET" >/dev/null 2>&1' EXIT
P=$((20000 + RANDOM % 20000))
# openssl as it ran on 2020-03-04 (the responder finds it on PATH).
in2020() { TZ=UTC faketime -f '2020-03-04 00:00:00' "$@"; }
printf '#!/bin/sh\nTZ=UTC exec faketime -f "2020-03-04 00:00:00" /usr/bin/openssl "$@"\n' >bin/openssl
chmod +x bin/openssl
# Certificates valid from 2020 to long after today, so only the CRL's and
# the OCSP answers' own dates decide.
ec_key ca
in2020 openssl req -x509 -new -key ca.key -subj "/CN=Clock Test CA" -days 20000 \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem 2>/dev/null
openssl_ca_db
for s in 0B01 0B02; do
	ec_key l$s
	openssl req -new -key l$s.key -subj "/CN=h$s.example" -out l$s.csr 2>/dev/null
	printf 'subjectAltName=DNS:h%s.example\n' "$s" >l.ext
	in2020 openssl x509 -req -in l$s.csr -CA ca.pem -CAkey ca.key -set_serial 0x$s -days 20000 \
		-extfile l.ext -out l$s.pem 2>/dev/null
	cat l$s.pem >>leaves.pem
done
# 0B01 revoked on 2020-03-03, 0B02 good.
printf 'R\t%s\t200303120000Z,keyCompromise\t0B01\tunknown\t/CN=h0B01.example\n' 750101000000Z >>index.txt
printf 'V\t%s\t\t0B02\tunknown\t/CN=h0B02.example\n' 750101000000Z >>index.txt
# A CRL for the week of 2020-03-04 only.
openssl ca -config ca.cnf -gencrl -crl_lastupdate 20200304000000Z \
	-crl_nextupdate 20200311000000Z -out week.crl 2>/dev/null
PATH=$D/bin:$PATH /usr/bin/python3 "$ROOT/tests/ocspd.py" --port $P --dir "$D" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do
	[ -f ready.$P ] && break
	sleep 0.1
done
expect "the responder answers as of 2020-03-04 (openssl under faketime)" "ok" \
	"$(openssl ocsp -issuer ca.pem -CAfile ca.pem -no_nonce -url http://127.0.0.1:$P/ocsp -serial 0x0B02 \
		-resp_text 2>&1 | grep -q 'This Update: Mar  4 .* 2020 GMT' && echo ok)"

new_db clock
certrecall -q db migrate
certrecall -q incident create --slug replay --title t --reason v1.6.7:5d-7 --aware-at 2020-03-01T00:00:00Z
certrecall -q import replay leaves.pem --no-progress
certrecall -q incident add-issuer replay ca.pem --ocsp http://127.0.0.1:$P/ocsp --crl http://127.0.0.1:$P/week.crl
ev() {
	db_sql -c "SELECT e.status || coalesce(' ' || e.error_detail, '') FROM revocation_evidence e
		JOIN certificate c ON c.id = e.certificate_id
		WHERE e.source = 'ocsp' AND c.serial = '\\x$1' ORDER BY e.id DESC LIMIT 1"
}
fetch() { db_sql -c "SELECT verified, coalesce(error_detail, '') FROM crl_fetch ORDER BY id DESC LIMIT 1"; }

# At the real clock both are long stale.
out=$(certrecall revcheck replay --no-crl 2>&1)
contains "at the real clock an OCSP answer of 2020 is stale" "error stale" "$(ev 0b02)"
out=$(certrecall revcheck replay --no-ocsp 2>&1)
contains "at the real clock a CRL of 2020 is refused" "stale" "$out"
contains "and the refusal is recorded" "f|stale" "$(fetch)"

# The rehearsal at 2020-03-05 verifies both.
export CERTRECALL_CLOCK=2020-03-05T00:00:00Z
out=$(certrecall revcheck replay --no-crl 2>&1)
expect "at the rehearsal clock the OCSP answer verifies: revoked" "revoked" "$(ev 0b01)"
expect "and good" "good" "$(ev 0b02)"
out=$(certrecall revcheck replay --no-ocsp 2>&1)
expect "at the rehearsal clock the CRL verifies" 0 $?
expect "and is recorded as verified" "t|" "$(fetch)"
contains "and answers for both" "1 good, 1 revoked" "$out"
expect "the CRL's answer is dated by the rehearsal clock" "2020-03-05 00:00:00+00" \
	"$(db_sql -c "SELECT fetched_at FROM crl_fetch WHERE verified")"
# Still before thisUpdate: not yet valid, whichever the source.
out=$(CERTRECALL_CLOCK=2020-03-01T00:00:00Z certrecall revcheck replay --no-ocsp 2>&1)
contains "a rehearsal before the CRL was issued refuses it" "not yet valid" "$out"

# Notices of the rehearsal are composed at its time, not today's.
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" --reason v1.6.7:5d-7 \
	--aware-at 2020-02-29T03:08:00Z
printf 'serial,account,email,names\n0c01,a-1,ops@a1.example,a1.example\n' >list.csv
certrecall -q import caa-2020 list.csv --no-progress
out=$(CERTRECALL_CLOCK=2020-02-29T10:00:00Z CERTRECALL_MAILER_FROM="CA <r@ca.example>" \
	certrecall notify caa-2020 --preview ops@a1.example 2>&1)
contains "a rehearsal notice counts the time left from the rehearsal clock" "4 days 17 hours from now" "$out"
contains "and is dated then" "Date: Sat, 29 Feb 2020 10:00:00 +0000" "$out"
contains "before the SHOULD time it names it" "from 2020-03-01 03:08:00 UTC on" "$out"
out=$(CERTRECALL_CLOCK=2020-03-06T03:08:00Z CERTRECALL_MAILER_FROM="CA <r@ca.example>" \
	certrecall notify caa-2020 --preview ops@a1.example 2>&1)
contains "a day after the MUST time the notice says it has passed" \
	"(passed 1 day 0 hours before this message" "$out"
expect "and promises no time left" "" "$(grep -E 'will be revoked by|from now|install it before' <<<"$out")"

# Certificates expire by the rehearsal clock during a scan and a check:
# the fleet's replacement certificate (90 days from today) has expired
# one day after its notAfter, so it no longer counts as a replacement.
read -r TP DP < <("$ROOT/tests/tlsfleet.sh" start "$FLEET")
[ -n "${DP:-}" ] || { fail "the test fleet starts"; finish; }
export CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DP CERTRECALL_SCANNER_PORTS=$TP
export CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=2s CERTRECALL_SCANNER_CONNECT_TIMEOUT=2s
export CERTRECALL_SCANNER_IPV6=false CERTRECALL_SCANNER_ALLOW=127.0.0.2/32
na=$(openssl x509 -in "$FLEET/replacement.pem" -noout -enddate | sed 's/^notAfter=//')
later=$(date -u -d "@$(($(date -u -d "$na" +%s) + 86400))" +%Y-%m-%dT%H:%M:%SZ)
certrecall -q incident create --slug expiry --title t --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
printf 'serial,names\n0d01,replaced.test\n' >expiry.csv
certrecall -q import expiry expiry.csv --no-progress
served() {
	db_sql -c "SELECT o.verdict FROM observation o JOIN scan_target t ON t.id = o.target_id
		WHERE t.name = 'replaced.test' ORDER BY o.id DESC LIMIT 1"
}
CERTRECALL_CLOCK=$later certrecall -q scan expiry --procs 1 --no-progress --jsonl probes.jsonl
expect "a scan at the rehearsal clock finds the replacement expired" serving-other "$(served)"
expect "and --jsonl stamps the probe with that clock" "$later" "$(jq -r .time probes.jsonl)"
certrecall -q scan expiry --procs 1 --no-progress --stale-after 0
expect "the same scan today finds it valid" serving-replacement "$(served)"
out=$(CERTRECALL_CLOCK=$later certrecall check "replaced.test:$TP" 2>&1)
contains "check at the rehearsal clock: expired, not a replacement" "verdict      serving-other" "$out"
out=$(certrecall check "replaced.test:$TP" 2>&1)
contains "check today: a replacement" "verdict      serving-replacement" "$out"
finish
