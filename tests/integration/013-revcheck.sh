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
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
key ca
openssl req -x509 -new -key ca.key -subj "/CN=Revcheck Test CA" -days 30 -out ca.pem 2>/dev/null
key rogue
openssl req -x509 -new -key rogue.key -subj "/CN=Revcheck Test CA" -days 30 -out rogue.pem 2>/dev/null
: >index.txt
echo 01 >crlnumber
cat >ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
database = $D/index.txt
crlnumber = $D/crlnumber
certificate = $D/ca.pem
private_key = $D/ca.key
default_md = sha256
default_crl_days = 7
CNF
exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
for s in 0A01 0A02 0A03 0A04; do
	key l$s
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
/usr/bin/python3 "$ROOT/tests/ocspd.py" --port $P --dir "$D" >/dev/null 2>&1 &
PIDS+=($!)
/usr/bin/python3 "$ROOT/tests/ocspd.py" --port $((P + 1)) --dir "$D" --signer rogue >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do [ -f ready.$P ] && [ -f ready.$((P + 1)) ] && break; sleep 0.1; done

new_db revcheck
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title t --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import caa-2020 leaves.pem --no-progress
certrecall -q incident add-issuer caa-2020 ca.pem --ocsp http://127.0.0.1:$P/ocsp --crl http://127.0.0.1:$P/ca.crl
ev() { db_sql -c "SELECT e.status || coalesce(' ' || to_char(e.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '') || coalesce(' ' || e.reason, '')
	FROM revocation_evidence e JOIN certificate c ON c.id = e.certificate_id
	WHERE e.source = '$1' AND c.serial = '\\x$2' ORDER BY e.id DESC LIMIT 1"; }
out=$(certrecall revcheck caa-2020 2>&1)
contains "the round reports its counts" "certificates still to revoke" "$out"
expect "OCSP: revoked with time and reason" "revoked 2020-03-04 12:00 1" "$(ev ocsp 0a01)"
expect "OCSP: good" "good" "$(ev ocsp 0a02)"
expect "OCSP: unknown serial" "unknown" "$(ev ocsp 0a04)"
expect "CRL: revoked with time and reason" "revoked 2020-03-06 00:00 4" "$(ev crl 0a03)"
expect "CRL: a serial it does not list is good" "good" "$(ev crl 0a02)"
expect "the certificate's revocation time is the published one" "2020-03-04 12:00:00+00" \
	"$(db_sql -c "SELECT revoked_at FROM certificate WHERE serial = '\\x0a01'")"
out=$(certrecall status caa-2020 --at 2020-03-07T00:00:00Z)
contains "status: revoked on time" "revoked-on-time  1" "$out"
contains "status: revoked late" "revoked-late     1" "$out"

# Failures are errors, never good.
out=$(certrecall revcheck caa-2020 --no-crl --ocsp http://127.0.0.1:$((P + 2))/ocsp 2>&1)
expect "a responder that is down is an error" "error" "$(ev ocsp 0a02)"
out=$(certrecall revcheck caa-2020 --no-crl --ocsp http://127.0.0.1:$((P + 1))/ocsp 2>&1)
expect "a response signed by the wrong key is rejected" "error" "$(ev ocsp 0a02)"
out=$(certrecall revcheck caa-2020 --no-ocsp --crl http://127.0.0.1:$P/stale.crl 2>&1)
expect "a stale CRL fails the run (75)" 75 $?
contains "and says why" "stale" "$out"

# Sources that disagree are flagged, not resolved.
db_sql -c "INSERT INTO revocation_evidence (certificate_id, source, status, revoked_at) SELECT id, 'import', 'revoked', '2020-03-05T00:00:00Z' FROM certificate WHERE serial = '\\x0a02'" >/dev/null
out=$(certrecall revcheck caa-2020 2>&1)
contains "OCSP good vs imported revoked is listed" "0a02," "$out"
finish
