#!/usr/bin/env bash
# Revocation evidence from the CA's revoker, the issuers, and the batches
# handed back to it.
. "$(dirname "$0")/lib.sh"
new_db revocations
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
cd "$T_TMP"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-subj "/CN=Test Issuing CA" -days 30 -out ca.pem 2>/dev/null
for s in 0a01 0a02 0a03; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem \
		-subj "/CN=h$s.example" -addext "subjectAltName=DNS:h$s.example" -out r.csr 2>/dev/null
	openssl x509 -req -in r.csr -CA ca.pem -CAkey ca.key -set_serial 0x$s -days 30 \
		-copy_extensions copy -out c$s.pem 2>/dev/null
	cat c$s.pem >>leaves.pem
done
certrecall -q import caa-2020 leaves.pem --no-progress
ok "add-issuer records the issuing CA" certrecall incident add-issuer caa-2020 ca.pem \
	--ocsp http://127.0.0.1:1/ocsp --crl http://127.0.0.1:1/ca.crl
expect "the certificates are linked to their issuer" 3 \
	"$(db_sql -c "SELECT count(*) FROM certificate WHERE issuer_id IS NOT NULL")"
expect "the issuer keeps the OCSP and CRL URLs" "{http://127.0.0.1:1/ocsp}|{http://127.0.0.1:1/ca.crl}" \
	"$(db_sql -c "SELECT ocsp_urls, crl_urls FROM issuer")"
expect "the CertID key hash is SHA-1 of the public key" \
	"$(openssl x509 -in ca.pem -noout -pubkey | openssl pkey -pubin -outform der | tail -c 65 | openssl dgst -sha1 -r | cut -c1-40)" \
	"$(db_sql -c "SELECT encode(key_hash, 'hex') FROM issuer")"

printf 'serial,revoked_at,reason\n0a01,2020-03-04T10:00:00Z,superseded\n0x0A02,2020-03-06T00:00:00+00:00,4\nffff,2020-03-01T00:00:00Z,\n' >rev.csv
out=$(certrecall import caa-2020 --revocations rev.csv 2>&1)
contains "revocations load" "2 revocations loaded, 1 serials not in the incident" "$out"
expect "the earliest evidence sets the revocation time" "2020-03-04 10:00:00+00|4" \
	"$(db_sql -c "SELECT revoked_at, revocation_reason FROM certificate WHERE serial = '\\x0a01'")"
out=$(certrecall status caa-2020 --at 2020-03-07T00:00:00Z)
contains "status: one revoked on time" "revoked on time 1" "$out"
contains "status: one revoked late" "revoked late    1" "$out"
contains "status: one overdue" "overdue         1" "$out"
# An OCSP answer (as revcheck will store it) that disagrees.
db_sql -c "INSERT INTO revocation_evidence (certificate_id, source, source_url, status) SELECT id, 'ocsp', 'http://127.0.0.1:1/ocsp', 'good' FROM certificate WHERE serial = '\\x0a02'" >/dev/null
printf '0a01,2020-03-04T12:00:00Z,superseded\n' >rev2.csv
out=$(certrecall import caa-2020 --revocations rev2.csv 2>&1)
contains "disagreeing sources are flagged" "1 certificates have sources that disagree" "$out"
contains "the disagreement is listed" "0a02,import=revoked@2020-03-06T00:00:00Z ocsp=good" "$out"
expect "the earliest time still wins" "2020-03-04 10:00:00+00" \
	"$(db_sql -c "SELECT revoked_at FROM certificate WHERE serial = '\\x0a01'")"
printf '0a03,not-a-time\n' >bad.csv
out=$(certrecall import caa-2020 --revocations bad.csv 2>&1)
expect "a bad line fails the load (65)" 65 $?
contains "and is named" "bad.csv:1:" "$out"
expect "nothing of it was loaded" 0 \
	"$(db_sql -c "SELECT count(*) FROM certificate WHERE serial = '\\x0a03' AND revoked_at IS NOT NULL")"

db_sql -c "UPDATE certificate SET not_after = now() + interval '30 days'" >/dev/null
out=$(certrecall export-revocations caa-2020 2>err.txt)
expect "the batch lists what is still to revoke, with the CRLReason" "0a03,4" "$out"
contains "a 2020 rule takes its current counterpart's code" "using current:br-12's (superseded, 4)" "$(cat err.txt)"
out=$(certrecall export-revocations caa-2020 --reason current:br-3)
expect "--reason names another rule" "0a03,1" "$out"
out=$(certrecall export-revocations caa-2020 --replaced-only)
expect "--replaced-only: nothing replaced yet" "" "$out"
# 029: no BEFORE UPDATE row trigger on certificate.  PostgreSQL locks
# every row an UPDATE touches (one more WAL record each) whenever such a
# trigger exists, whatever its column list: deriving a 1,000,000-entry
# CRL paid 1,000,000 locks.  The ARI key identifier is still kept current.
expect "029: certificate has no BEFORE UPDATE row trigger" 0 \
	"$(db_sql -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'certificate'::regclass AND tgtype & 19 = 19")"
ski=$(openssl x509 -in ca.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :' | tr A-F a-f)
db_sql -c "UPDATE certificate SET aki = NULL, extra = extra - 'aki' WHERE serial = '\\x0a03'" >/dev/null
expect "029: a certificate whose extra changes takes its issuer's key identifier again" "$ski" \
	"$(db_sql -c "SELECT encode(aki, 'hex') FROM certificate WHERE serial = '\\x0a03'")"
db_sql -c "UPDATE certificate SET revocation_state = 'revoked', revoked_at = '2020-03-05', revocation_reason = 4 WHERE serial = '\\x0a03'" >/dev/null
expect "029: an update of the revocation state leaves it alone" "$ski" \
	"$(db_sql -c "SELECT encode(aki, 'hex') FROM certificate WHERE serial = '\\x0a03'")"
db_sql -c "DELETE FROM revocation_evidence" -c "DELETE FROM crl_fetch" -c "DELETE FROM issuer" >/dev/null
expect "029: an issuer deleted takes its key identifier with it" "|" \
	"$(db_sql -c "SELECT issuer_id, encode(aki, 'hex') FROM certificate WHERE serial = '\\x0a03'")"
finish
