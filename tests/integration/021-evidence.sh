#!/usr/bin/env bash
# Revocation evidence that must be refused, evidence that must be kept, and
# what revcheck's exit code says about it (issue 15, items 6 and 9), with
# real `openssl ocsp` answers and CRLs served on 127.0.0.1:
# - a CRL whose issuer certificate has keyUsage without cRLSign is refused
#   (RFC 5280 6.3.3(f)) and answers "good" for nothing;
# - an OCSP answer without nextUpdate is stale revcheck.max_age (4 days)
#   after its thisUpdate: a responder running 5 days in the past
#   (faketime) gives such answers;
# - one CRL entry with an undefined reasonCode (12) is revoked with reason
#   "unknown (12)" and a warning, and the rest of the CRL still counts;
# - exit 0 only when every certificate got usable evidence, 75 when a
#   source failed in a way a retry can fix, 65 when evidence was refused
#   or unusable, 78 when the incident has no issuer.
. "$(dirname "$0")/lib.sh"
D=$T_TMP/ca
mkdir -p "$D"
cd "$D" || exit 1
PIDS=()
# The faketime wrapper forks: the responder under it is stopped by the
# pid it writes into its ready file.
trap 'for p in "${PIDS[@]+"${PIDS[@]}"}" $(cat "$D"/ready.* 2>/dev/null); do kill "$p" 2>/dev/null; done' EXIT
P=$((20000 + RANDOM % 20000))
ec_key ca
# One CA key and name, two certificates: one whose keyUsage allows CRL
# signing, one whose keyUsage does not.
openssl req -x509 -new -key ca.key -subj "/CN=Evidence Test CA" -days 30 \
	-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out ca.pem 2>/dev/null
openssl req -x509 -new -key ca.key -subj "/CN=Evidence Test CA" -days 30 \
	-addext "keyUsage=critical,keyCertSign,digitalSignature" -out nocrlsign.pem 2>/dev/null
ec_key rogue
openssl req -x509 -new -key rogue.key -subj "/CN=Evidence Test CA" -days 30 -out rogue.pem 2>/dev/null
openssl_ca_db 7
exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
for s in 0B01 0B02 0B03 0B04 0B05; do
	ec_key l$s
	openssl req -new -key l$s.key -subj "/CN=h$s.example" -out l$s.csr 2>/dev/null
	printf 'subjectAltName=DNS:h%s.example\n' "$s" >l.ext
	openssl x509 -req -in l$s.csr -CA ca.pem -CAkey ca.key -set_serial 0x$s -days 30 \
		-extfile l.ext -out l$s.pem 2>/dev/null
done
cat l0B01.pem l0B02.pem l0B03.pem l0B04.pem >leaves.pem
# The responders know 0B01 (revoked) to 0B04; 0B05 is unknown to them.
printf 'R\t%s\t200304120000Z,keyCompromise\t0B01\tunknown\t/CN=h0B01.example\n' "$exp" >>index.txt
for s in 0B02 0B03 0B04; do
	printf 'V\t%s\t\t%s\tunknown\t/CN=h%s.example\n' "$exp" "$s" "$s" >>index.txt
done
openssl ca -config ca.cnf -gencrl -out ca.crl 2>/dev/null
# A CRL with an undefined reasonCode (12) among valid entries; `openssl ca`
# cannot write one.  0B04 is not listed.
/usr/bin/python3 - <<'PY'
import datetime
from cryptography import x509
from cryptography.x509.oid import CRLEntryExtensionOID
from cryptography.hazmat.primitives import hashes, serialization

ca = x509.load_pem_x509_certificate(open("ca.pem", "rb").read())
key = serialization.load_pem_private_key(open("ca.key", "rb").read(), None)
now = datetime.datetime.utcnow()
b = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
     .last_update(now - datetime.timedelta(hours=1))
     .next_update(now + datetime.timedelta(days=7)))
for serial, when, code in [(0x0B01, "2020-03-04T12:00:00", 1),
                           (0x0B02, "2020-03-05T00:00:00", 12),
                           (0x0B03, "2020-03-06T00:00:00", 4),
                           (0x0F01, "2020-03-01T00:00:00", 12)]:
    r = (x509.RevokedCertificateBuilder().serial_number(serial)
         .revocation_date(datetime.datetime.fromisoformat(when))
         .add_extension(x509.UnrecognizedExtension(
             CRLEntryExtensionOID.CRL_REASON, bytes([0x0A, 0x01, code])),
             critical=False))
    b = b.add_revoked_certificate(r.build())
open("reason12.crl", "wb").write(
    b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
PY

ocspd() { /usr/bin/python3 "$ROOT/tests/ocspd.py" --dir "$D" "$@" >/dev/null 2>&1 & PIDS+=($!); }
ocspd --port $P
# No nextUpdate: one answering now, one 5 days in the past (TZ=UTC: the
# faketime start is read as local time).
ocspd --port $((P + 1)) --ndays 0
past=$(date -u -d '-5 days' '+%Y-%m-%d %H:%M:%S')
TZ=UTC faketime -f "@$past" /usr/bin/python3 "$ROOT/tests/ocspd.py" --dir "$D" \
	--port $((P + 2)) --ndays 0 >/dev/null 2>&1 &
PIDS+=($!)
ocspd --port $((P + 3)) --signer rogue
for _ in $(seq 1 100); do
	[ -f ready.$P ] && [ -f ready.$((P + 1)) ] && [ -f ready.$((P + 2)) ] && [ -f ready.$((P + 3)) ] && break
	sleep 0.1
done
DOWN=http://127.0.0.1:$((P + 9))

new_db evidence
certrecall -q db migrate
# incident SLUG ISSUER.pem LEAVES.pem [add-issuer options]
incident() {
	local slug=$1 issuer=$2 leaves=$3
	shift 3
	certrecall -q incident create --slug "$slug" --title t --reason v1.6.7:5d-7 \
		--aware-at 2020-02-29T03:08:00Z
	certrecall -q import "$slug" "$leaves" --no-progress
	certrecall -q incident add-issuer "$slug" "$issuer" "$@"
}
# cert SLUG SERIAL COLUMNS
cert() { db_sql -c "SELECT $3 FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = '$1' AND c.serial = '\\x$2'"; }
# answers SLUG SOURCE: the latest answer of each certificate, by serial
answers() {
	if [ "$2" = crl ]; then
		db_sql -c "SELECT string_agg(s || '=' || status, ' ' ORDER BY s) FROM (SELECT DISTINCT ON (c.id)
			encode(c.serial, 'hex') s, a.status FROM crl_answer a JOIN certificate c ON c.id = a.certificate_id
			JOIN incident i ON i.id = c.incident_id WHERE i.slug = '$1' ORDER BY c.id, a.fetched_at DESC, a.fetch_id DESC) x"
	else
		db_sql -c "SELECT string_agg(s || '=' || status, ' ' ORDER BY s) FROM (SELECT DISTINCT ON (c.id)
			encode(c.serial, 'hex') s, e.status FROM revocation_evidence e JOIN certificate c ON c.id = e.certificate_id
			JOIN incident i ON i.id = c.incident_id WHERE i.slug = '$1' AND e.source = '$2' ORDER BY c.id, e.id DESC) x"
	fi
}

# 1. RFC 5280 6.3.3(f): the same CRL, checked against the two issuer
# certificates.
incident crlsign-ok ca.pem leaves.pem --crl http://127.0.0.1:$P/ca.crl
out=$(certrecall revcheck crlsign-ok --no-ocsp 2>&1)
expect "a CRL whose issuer may sign CRLs: usable evidence for all, exit 0" 0 $?
expect "it answers for every certificate" "0b01=revoked 0b02=good 0b03=good 0b04=good" "$(answers crlsign-ok crl)"
incident crlsign nocrlsign.pem leaves.pem --crl http://127.0.0.1:$P/ca.crl
out=$(certrecall revcheck crlsign --no-ocsp 2>&1)
expect "the same CRL from an issuer without cRLSign: refused, exit 65" 65 $?
contains "and says why" "cRLSign" "$out"
expect "it answers good for nothing" "" "$(answers crlsign crl)"
expect "the refused fetch is recorded" "f" \
	"$(db_sql -c "SELECT string_agg(CASE WHEN verified THEN 't' ELSE 'f' END, ',') FROM crl_fetch f JOIN incident i ON i.id = f.incident_id WHERE i.slug = 'crlsign'")"
expect "and no certificate is revoked by it" 0 \
	"$(db_sql -c "SELECT count(*) FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'crlsign' AND revoked_at IS NOT NULL")"

# 2. An undefined reasonCode in one entry.
incident reason12 ca.pem leaves.pem --crl http://127.0.0.1:$P/reason12.crl
out=$(certrecall revcheck reason12 --no-ocsp 2>&1)
expect "a CRL with one reasonCode 12 entry is still evidence, exit 0" 0 $?
contains "with a warning naming the reason" "unknown (12)" "$out"
contains "and counting the entries" "2 entries with an undefined reasonCode" "$out"
expect "that entry is revoked with reason 12" "revoked|2020-03-05 00:00:00+00|12" \
	"$(cert reason12 0b02 "revocation_state, revoked_at, revocation_reason")"
expect "the other entries still count" "2020-03-04 12:00:00+00|1 2020-03-06 00:00:00+00|4" \
	"$(echo $(cert reason12 0b01 "revoked_at || '|' || revocation_reason") $(cert reason12 0b03 "revoked_at || '|' || revocation_reason"))"
expect "and an unlisted certificate is good" "0b01=revoked 0b02=revoked 0b03=revoked 0b04=good" "$(answers reason12 crl)"
ccadb=$(certrecall report reason12 --format ccadb --at 2020-03-07T00:00:00Z 2>&1)
contains "the CCADB list names the reason unknown (12)" "unknown (12)" "$ccadb"

# 3. OCSP answers without nextUpdate.
incident fresh ca.pem leaves.pem --ocsp http://127.0.0.1:$((P + 1))/ocsp
out=$(certrecall revcheck fresh --no-crl 2>&1)
expect "no nextUpdate, thisUpdate now: usable, exit 0" 0 $?
expect "answers from it" "0b01=revoked 0b02=good 0b03=good 0b04=good" "$(answers fresh ocsp)"
incident old ca.pem leaves.pem --ocsp http://127.0.0.1:$((P + 2))/ocsp
out=$(certrecall revcheck old --no-crl 2>&1)
expect "no nextUpdate, thisUpdate 5 days ago: stale after revcheck.max_age (4d), exit 65" 65 $?
expect "every answer is refused" "0b01=error 0b02=error 0b03=error 0b04=error" "$(answers old ocsp)"
contains "as stale, naming the setting" "revcheck.max_age" \
	"$(db_sql -c "SELECT error_detail FROM revocation_evidence WHERE status = 'error' LIMIT 1")"
contains "the summary counts them as refused" "4 refused" "$out"
out=$(CERTRECALL_REVCHECK_MAX_AGE=6d certrecall revcheck old --no-crl 2>&1)
expect "with revcheck.max_age = 6d the same answers are usable" 0 $?
expect "and count" "0b01=revoked 0b02=good 0b03=good 0b04=good" "$(answers old ocsp)"

# 4. Exit codes.
out=$(certrecall revcheck fresh --no-crl --ocsp $DOWN/ocsp 2>&1)
expect "every OCSP answer a transport error: 75, not 0" 75 $?
# 0B01 is revoked already: only the other three are asked.
contains "the summary counts them as transient" "3 transient" "$out"
expect "and stores them as errors" "0b01=revoked 0b02=error 0b03=error 0b04=error" "$(answers fresh ocsp)"
out=$(certrecall revcheck fresh --no-crl --ocsp http://127.0.0.1:$((P + 3))/ocsp 2>&1)
expect "every OCSP answer signed by the wrong key: 65" 65 $?
contains "counted as refused" "3 refused" "$out"
out=$(certrecall revcheck crlsign-ok --no-ocsp --crl $DOWN/ca.crl 2>&1)
expect "a CRL server that is down: 75" 75 $?
out=$(certrecall revcheck crlsign-ok --no-ocsp --crl http://127.0.0.1:$P/missing.crl 2>&1)
expect "a CRL that is not there (404): 65, a retry will not fix it" 65 $?
out=$(certrecall revcheck crlsign --ocsp $DOWN/ocsp 2>&1)
expect "a refused CRL and a responder that is down: 65" 65 $?
contains "the summary says which is which" "4 transient, 1 refused" "$out"
incident unknown ca.pem l0B05.pem --ocsp http://127.0.0.1:$P/ocsp
out=$(certrecall revcheck unknown --no-crl 2>&1)
expect "a certificate the responder does not know has no usable evidence: 65" 65 $?
contains "and the summary says so" "1 certificate without usable evidence" "$out"
out=$(certrecall revcheck crlsign-ok --ocsp http://127.0.0.1:$P/ocsp 2>&1)
expect "OCSP and CRL both answering: 0" 0 $?
certrecall -q incident create --slug no-issuer --title t --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
out=$(certrecall revcheck no-issuer 2>&1)
expect "no issuer is a configuration problem, not temporary: 78" 78 $?
contains "and says what to do" "add-issuer" "$out"
finish
