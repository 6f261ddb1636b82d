#!/usr/bin/env bash
# make-seeds-crl.sh - the seed corpus of fuzz_crl: CRLs made by
# `openssl ca -gencrl` as the revocation tests make them (013, 019, 021),
# by an Ed25519 CA named as fuzz_crl's own issuer, so that the target can
# sign their tbsCertList again and reach the entry walker.  Each CRL goes
# in whole (DER and PEM) and as its tbsCertList alone (*.tbs).
# Run from the top of the tree: tests/fuzz/make-seeds-crl.sh
set -euo pipefail
out=$PWD/tests/fuzz/seeds-crl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
openssl genpkey -algorithm ED25519 -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj "/CN=certrecall fuzz CA" -days 30 \
	-out ca.pem 2>/dev/null
echo 01 >crlnumber
{
	printf '[ ca ]\ndefault_ca = test\n[ test ]\n'
	printf 'database = %s/index.txt\ncrlnumber = %s/crlnumber\n' "$PWD" "$PWD"
	printf 'certificate = %s/ca.pem\nprivate_key = %s/ca.key\n' "$PWD" "$PWD"
	printf 'default_md = default\n'
	printf 'crl_extensions = crl_ext\n[ crl_ext ]\n'
	printf 'authorityKeyIdentifier = keyid:always\n'
} >ca.cnf
sed -e 's/^crl_extensions.*//' -e 's/^\[ crl_ext \]//' \
	-e 's/^authorityKeyIdentifier.*//' ca.cnf >plain.cnf
{
	cat ca.cnf
	printf 'issuingDistributionPoint = critical, @idp\n'
	printf '[ idp ]\nfullname = URI:http://crl.example/shard1.crl\n'
} >idp.cnf
exp=300101000000Z
gen() { # NAME CNF: one CRL of index.txt, fixed dates
	openssl ca -config "$2" -gencrl -crl_lastupdate 20231101000000Z \
		-crl_nextupdate 20231201000000Z -out "$1.pem" 2>/dev/null
	openssl crl -in "$1.pem" -outform DER -out "$1.der"
	# The tbsCertList: the first element inside the outer SEQUENCE.
	python3 - "$1.der" "$1.tbs" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
def hdr(d, i):
    n = d[i + 1]
    if n < 0x80:
        return 2, n
    k = n & 0x7f
    return 2 + k, int.from_bytes(d[i + 2:i + 2 + k], 'big')
h, _ = hdr(d, 0)
h2, n2 = hdr(d, h)
open(sys.argv[2], 'wb').write(d[h:h + h2 + n2])
PY
	cp "$1.pem" "$1.der" "$1.tbs" "$out/"
}
mkdir -p "$out"
: >index.txt
gen empty plain.cnf
r() { printf 'R\t%s\t%s\t%s\tunknown\t/CN=h%s.example\n' "$exp" "$1" "$2" "$2" >>index.txt; }
r 200304120000Z,keyCompromise 0A01
r 200306000000Z,superseded 0A03
r 200306000000Z 0B
r 200306000000Z,cessationOfOperation 7F
r 200306000000Z,affiliationChanged 80
r 200306000000Z,certificateHold,holdInstructionReject 0C0D
r 200306000000Z,keyCompromise,20200301000000Z 0E0F
r 200306000000Z,CACompromise 0102030405060708090A0B0C0D0E0F1011121314
r 491231235959Z,unspecified 7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF
gen entries ca.cnf
gen shard idp.cnf
gen v1 plain.cnf
