#!/usr/bin/env bash
# certrecall revcheck against real OCSP answers (made by `openssl ocsp`
# from a CA index) and CRLs (made by `openssl ca -gencrl`), served on
# 127.0.0.1.
. "$(dirname "$0")/lib.sh"
D=$T_TMP/ca
mkdir -p "$D"
cd "$D"
PIDS=()
trap 'for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null; done' EXIT
P=$((20000 + RANDOM % 20000))
ec_key ca
openssl req -x509 -new -key ca.key -subj "/CN=Revcheck Test CA" -days 30 -out ca.pem 2>/dev/null
ec_key rogue
openssl req -x509 -new -key rogue.key -subj "/CN=Revcheck Test CA" -days 30 -out rogue.pem 2>/dev/null
openssl_ca_db 7
exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
for s in 0A01 0A02 0A03 0A04; do
	ec_key l$s
	openssl req -new -key l$s.key -subj "/CN=h$s.example" -out l$s.csr 2>/dev/null
	printf 'subjectAltName=DNS:h%s.example\n' "$s" >l.ext
	openssl x509 -req -in l$s.csr -CA ca.pem -CAkey ca.key -set_serial 0x$s -days 30 \
		-extfile l.ext -out l$s.pem 2>/dev/null
	cat l$s.pem >>leaves.pem
done
# 0A01 revoked (keyCompromise), 0A02 good, 0A03 revoked (superseded),
# 0A04 issued but unknown to the responder.
printf 'R\t%s\t200304120000Z,keyCompromise\t0A01\tunknown\t/CN=h0A01.example\n' "$exp" >>index.txt
printf 'V\t%s\t\t0A02\tunknown\t/CN=h0A02.example\n' "$exp" >>index.txt
printf 'R\t%s\t200306000000Z,superseded\t0A03\tunknown\t/CN=h0A03.example\n' "$exp" >>index.txt
openssl ca -config ca.cnf -gencrl -out ca.crl 2>/dev/null
openssl ca -config ca.cnf -gencrl -crl_lastupdate 20200101000000Z \
	-crl_nextupdate 20200102000000Z -out stale.crl 2>/dev/null
# A CRL of the same CA that disagrees with its OCSP responder: 0A01
# revoked an hour earlier, 0A02 revoked although OCSP says good.
printf 'R\t%s\t200304110000Z,keyCompromise\t0A01\tunknown\t/CN=h0A01.example\n' "$exp" >index2.txt
printf 'R\t%s\t200303000000Z,keyCompromise\t0A02\tunknown\t/CN=h0A02.example\n' "$exp" >>index2.txt
printf 'R\t%s\t200306000000Z,superseded\t0A03\tunknown\t/CN=h0A03.example\n' "$exp" >>index2.txt
sed "s/index.txt/index2.txt/" ca.cnf >ca2.cnf
openssl ca -config ca2.cnf -gencrl -out ca2.crl 2>/dev/null
# Delegated responders: one with the OCSPSigning key purpose, issued by
# the CA (RFC 6960 4.2.2.2: accepted), one issued by the CA without it
# (must be refused).
for r in delegated plain; do
	ec_key $r
	openssl req -new -key $r.key -subj "/CN=Revcheck $r responder" -out $r.csr 2>/dev/null
	if [ $r = delegated ]; then
		printf 'extendedKeyUsage=OCSPSigning\nbasicConstraints=CA:FALSE\n' >$r.ext
	else
		printf 'basicConstraints=CA:FALSE\n' >$r.ext
	fi
	openssl x509 -req -in $r.csr -CA ca.pem -CAkey ca.key -set_serial 0x7$((${#r})) -days 30 \
		-extfile $r.ext -out $r.pem 2>/dev/null
done
/usr/bin/python3 "$ROOT/tests/ocspd.py" --port $((P + 3)) --dir "$D" --signer delegated >/dev/null 2>&1 &
PIDS+=($!)
/usr/bin/python3 "$ROOT/tests/ocspd.py" --port $((P + 4)) --dir "$D" --signer plain >/dev/null 2>&1 &
PIDS+=($!)
/usr/bin/python3 "$ROOT/tests/ocspd.py" --port $P --dir "$D" >/dev/null 2>&1 &
PIDS+=($!)
/usr/bin/python3 "$ROOT/tests/ocspd.py" --port $((P + 1)) --dir "$D" --signer rogue >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do
	[ -f ready.$P ] && [ -f ready.$((P + 1)) ] && [ -f ready.$((P + 3)) ] && [ -f ready.$((P + 4)) ] && break
	sleep 0.1
done

new_db revcheck
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title t --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import caa-2020 leaves.pem --no-progress
certrecall -q incident add-issuer caa-2020 ca.pem --ocsp http://127.0.0.1:$P/ocsp --crl http://127.0.0.1:$P/ca.crl
answer() { echo "$1.status || coalesce(' ' || to_char($1.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '') || coalesce(' ' || $1.reason, '')"; }
# The latest OCSP answer for a serial of caa-2020: a revocation_evidence row.
# A CRL's answer is its latest fetch covering the certificate (crl_answer).
ev() {
	if [ "$1" = crl ]; then
		db_sql -c "SELECT $(answer a) FROM crl_answer a JOIN certificate c ON c.id = a.certificate_id
			WHERE c.incident_id = (SELECT id FROM incident WHERE slug = 'caa-2020') AND c.serial = '\\x$2' ORDER BY a.fetched_at DESC, a.fetch_id DESC LIMIT 1"
	else
		db_sql -c "SELECT $(answer e) FROM revocation_evidence e JOIN certificate c ON c.id = e.certificate_id
			WHERE c.incident_id = (SELECT id FROM incident WHERE slug = 'caa-2020') AND e.source = '$1' AND c.serial = '\\x$2' ORDER BY e.id DESC LIMIT 1"
	fi
}
# cert SLUG SERIAL COLUMNS
cert() { db_sql -c "SELECT $3 FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = '$1' AND c.serial = '\\x$2'"; }
# fetches SLUG COLUMNS
fetches() { db_sql -c "SELECT $2 FROM crl_fetch f JOIN incident i ON i.id = f.incident_id WHERE i.slug = '$1'"; }
out=$(certrecall revcheck caa-2020 2>&1)
contains "the round reports its counts" "certificates still to revoke" "$out"
expect "OCSP: revoked with time and reason" "revoked 2020-03-04 12:00 1" "$(ev ocsp 0a01)"
expect "OCSP: good" "good" "$(ev ocsp 0a02)"
expect "OCSP: unknown serial" "unknown" "$(ev ocsp 0a04)"
expect "CRL: revoked with time and reason" "revoked 2020-03-06 00:00 4" "$(ev crl 0a03)"
expect "CRL: a serial it does not list is good" "good" "$(ev crl 0a02)"
expect "CRL: so is one its OCSP responder does not know" "good" "$(ev crl 0a04)"
expect "CRL: no per-certificate evidence rows" 0 \
	"$(db_sql -c "SELECT count(*) FROM revocation_evidence WHERE source = 'crl'")"
expect "CRL: one fetch, covering the four, listing two" "1|4|2|t" \
	"$(fetches caa-2020 "count(*), sum(certificates), sum(listed), bool_and(verified)")"
expect "CRL: entries only for the listed certificates" 2 "$(db_sql -c "SELECT count(*) FROM crl_entry")"
expect "the certificate's revocation time is the published one" "2020-03-04 12:00:00+00" \
	"$(db_sql -c "SELECT revoked_at FROM certificate WHERE serial = '\\x0a01'")"
out=$(certrecall status caa-2020 --at 2020-03-07T00:00:00Z)
contains "status: revoked on time" "revoked on time 1" "$out"
contains "status: revoked late" "revoked late    1" "$out"

# Failures are errors, never good.
out=$(certrecall revcheck caa-2020 --no-crl --ocsp http://127.0.0.1:$((P + 2))/ocsp 2>&1)
expect "a responder that is down is an error" "error" "$(ev ocsp 0a02)"
out=$(certrecall revcheck caa-2020 --no-crl --ocsp http://127.0.0.1:$((P + 1))/ocsp 2>&1)
expect "a response signed by the wrong key is rejected" "error" "$(ev ocsp 0a02)"
out=$(certrecall revcheck caa-2020 --no-crl --ocsp http://127.0.0.1:$((P + 4))/ocsp 2>&1)
expect "a responder certificate of the CA without OCSPSigning is rejected" "error" "$(ev ocsp 0a02)"
out=$(certrecall revcheck caa-2020 --no-crl --ocsp http://127.0.0.1:$((P + 3))/ocsp 2>&1)
expect "a delegated responder (OCSPSigning, issued by the CA) is accepted: good" "good" "$(ev ocsp 0a02)"
expect "that answer came from the delegated responder" "http://127.0.0.1:$((P + 3))/ocsp" \
	"$(db_sql -c "SELECT e.source_url FROM revocation_evidence e JOIN certificate c ON c.id = e.certificate_id WHERE e.source = 'ocsp' AND c.serial = '\\x0a02' ORDER BY e.id DESC LIMIT 1")"
out=$(certrecall revcheck caa-2020 --no-ocsp --crl http://127.0.0.1:$P/stale.crl 2>&1)
expect "a stale CRL is refused: the run fails with 65, not 75 (a retry cannot fix it)" 65 $?
contains "and says why" "stale" "$out"
expect "the failed fetch is recorded with the reason" "f|stale" \
	"$(fetches caa-2020 "verified, substr(error_detail, 1, 5)" | grep '^f')"
expect "and answers for nothing: the last good CRL still does" "good" "$(ev crl 0a02)"
out=$(certrecall revcheck caa-2020 --no-ocsp --crl http://127.0.0.1:$P/missing.crl 2>&1)
expect "a CRL that is not there (HTTP 404) fails the run with 65" 65 $?
expect "and is recorded" 2 "$(fetches caa-2020 "count(*) FILTER (WHERE NOT verified)")"

# Sources that disagree are flagged, not resolved.
db_sql -c "INSERT INTO revocation_evidence (certificate_id, source, status, revoked_at) SELECT id, 'import', 'revoked', '2020-03-05T00:00:00Z' FROM certificate WHERE serial = '\\x0a02'" >/dev/null
out=$(certrecall revcheck caa-2020 2>&1)
contains "OCSP good vs imported revoked is listed" "0a02," "$out"

# The CRL alone: revocation state derived from its entries.  0A03 is
# listed but not imported yet.
certrecall -q incident create --slug crl-only --title t --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
cat l0A01.pem l0A02.pem l0A04.pem >some.pem
certrecall -q import crl-only some.pem --no-progress
certrecall -q incident add-issuer crl-only ca.pem --crl http://127.0.0.1:$P/ca.crl
out=$(certrecall revcheck crl-only --no-ocsp 2>&1)
expect "a CRL-only round succeeds" 0 $?
contains "and counts the CRL's answers" "2 good, 1 revoked, 0 unknown, 0 errors" "$out"
expect "revoked from the CRL alone, with its date and reason" "revoked|2020-03-04 12:00:00+00|1" \
	"$(cert crl-only 0a01 "revocation_state, revoked_at, revocation_reason")"
expect "an unlisted certificate is not revoked" "unknown|" "$(cert crl-only 0a02 "revocation_state, revoked_at")"
certrecall -q import crl-only l0A03.pem --no-progress
out=$(certrecall revcheck crl-only --no-ocsp 2>&1)
expect "the same CRL again is stored once" "1|4|2" "$(fetches crl-only "count(*), sum(certificates), sum(listed)")"
expect "yet the certificate imported since is matched" "2020-03-06 00:00:00+00|4" \
	"$(cert crl-only 0a03 "revoked_at, revocation_reason")"
contains "and the round counts every certificate it covers" "2 good, 2 revoked" "$out"
out=$(certrecall status crl-only --at 2020-03-07T00:00:00Z)
contains "status from the CRL: revoked on time" "revoked on time 1" "$out"
contains "status from the CRL: revoked late" "revoked late    1" "$out"

# Serial 0 and negative serials are stored with a leading 00 octet
# (serial.h).  A CRL without entries it could not index (zero, negative,
# over 20 octets) lists none of them: they are good as of it, and they
# do not stop the match of the others (serial 0 used to fail it whole).
certrecall -q incident create --slug zero --title t --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import zero some.pem --no-progress
certrecall -q incident add-issuer zero ca.pem --crl http://127.0.0.1:$P/ca.crl
for s in 00 00f5ff; do
	db_sql -c "INSERT INTO certificate (incident_id, serial, issuer_id, issuer_name, source, source_line)
		SELECT incident_id, '\\x$s', issuer_id, issuer_name, source, 99 FROM certificate
		WHERE incident_id = (SELECT id FROM incident WHERE slug = 'zero') AND serial = '\\x0a02'" >/dev/null
done
out=$(certrecall revcheck zero --no-ocsp 2>&1)
expect "a CRL round over serial 0 and a negative serial succeeds" 0 $?
contains "and counts them good" "4 good, 1 revoked, 0 unknown, 0 errors" "$out"
expect "serial 0 is good as of the CRL" "good" "$(db_sql -c "SELECT a.status FROM crl_answer a JOIN certificate c ON c.id = a.certificate_id
	WHERE c.incident_id = (SELECT id FROM incident WHERE slug = 'zero') AND c.serial = '\\x00'")"
expect "the listed one is still revoked" "2020-03-04 12:00:00+00" "$(cert zero 0a01 revoked_at)"

# OCSP and CRL disagree: the CRL says 0A01 was revoked an hour before
# OCSP does, and 0A02 revoked where OCSP says good.
certrecall -q incident create --slug disagree --title t --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import disagree leaves.pem --no-progress
certrecall -q incident add-issuer disagree ca.pem --ocsp http://127.0.0.1:$P/ocsp --crl http://127.0.0.1:$P/ca2.crl
out=$(certrecall revcheck disagree 2>&1)
contains "two certificates with sources that disagree" "2 with sources that disagree" "$out"
contains "CRL revoked at T1, OCSP at T2" "0a01,crl=revoked@2020-03-04T11:00:00Z ocsp=revoked@2020-03-04T12:00:00Z" "$out"
contains "CRL revoked, OCSP good" "0a02,crl=revoked@2020-03-03T00:00:00Z ocsp=good" "$out"
expect "the earliest revocation time wins, whatever the source" "2020-03-04 11:00:00+00|1" \
	"$(cert disagree 0a01 "revoked_at, revocation_reason")"
expect "a CRL revocation stands against OCSP good" "2020-03-03 00:00:00+00" "$(cert disagree 0a02 revoked_at)"
expect "sources that agree are not listed" "" "$(grep '^0a03,' <<<"$out")"
# Per-certificate CRL evidence stored before 006 still counts: the
# latest CRL answer, and a revocation time like any other.
db_sql -c "INSERT INTO revocation_evidence (certificate_id, source, status, revoked_at, checked_at)
	SELECT c.id, 'crl', 'revoked', '2020-03-05T00:00:00Z', now() + interval '1 day'
	FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'disagree' AND c.serial = '\\x0a03'" >/dev/null
out=$(certrecall revcheck disagree 2>&1)
contains "older CRL evidence is compared as the CRL's answer" \
	"0a03,crl=revoked@2020-03-05T00:00:00Z ocsp=revoked@2020-03-06T00:00:00Z" "$out"
expect "and its earlier time wins" "2020-03-05 00:00:00+00" "$(cert disagree 0a03 revoked_at)"

# An issuer whose stored certificate does not parse is an error naming
# it (exit 65), not an issuer silently skipped with its certificates.
certrecall -q incident create --slug bad-pem --title t --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import bad-pem leaves.pem --no-progress
certrecall -q incident add-issuer bad-pem ca.pem --ocsp http://127.0.0.1:$P/ocsp
db_sql -c "UPDATE issuer SET pem = replace(pem, substr(pem, 40, 20), '!!') WHERE incident_id = (SELECT id FROM incident WHERE slug = 'bad-pem')" >/dev/null
out=$(certrecall revcheck bad-pem --no-crl 2>&1)
expect "an issuer whose PEM does not parse fails the run with 65" 65 $?
contains "naming the issuer" "issuer $(db_sql -c "SELECT id FROM issuer WHERE incident_id = (SELECT id FROM incident WHERE slug = 'bad-pem')") (CN=Revcheck Test CA) of incident bad-pem: its stored certificate does not parse as PEM" "$out"
expect "nothing was asked" 0 "$(db_sql -c "SELECT count(*) FROM revocation_evidence e JOIN certificate c ON c.id = e.certificate_id JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'bad-pem'")"
# add-issuer: a certificate in the file that does not parse is an error
# naming the file, not the end of the file (the ones before it are not
# added either).
{ cat rogue.pem; printf -- '-----BEGIN CERTIFICATE-----\nMIIB!!not base64!!\n-----END CERTIFICATE-----\n'; } >broken.pem
out=$(certrecall incident add-issuer bad-pem broken.pem 2>&1)
expect "add-issuer with a broken certificate in the file fails with 65" 65 $?
contains "naming the file and the certificate" "broken.pem: certificate 2 does not parse as PEM" "$out"
expect "and adds nothing" 1 "$(db_sql -c "SELECT count(*) FROM issuer WHERE incident_id = (SELECT id FROM incident WHERE slug = 'bad-pem')")"
finish
