#!/usr/bin/env bash
# A notice's listing (sql/032): planning keeps what the messages say of
# each certificate with its list, and the sender uses it instead of
# reading the certificates while it still says what they say.  Every
# message is the same either way, byte for byte; a certificate revoked
# after planning is listed as revoked (its listing is then not used); a
# deleted one leaves the listing; and the listing, a text[] from the
# server, is read back whatever an account is called.
. "$(dirname "$0")/lib.sh"
new_db listing
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
start_smtpd mail || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
# Every message of more than one certificate attaches them all as CSV,
# revocation time included.
export CERTRECALL_MAILER_MAX_LISTED=1
cd "$T_TMP"
at=2020-03-03T10:00:00Z

# 40 small accounts (one to three certificates, one without an expiry),
# an account whose name needs every kind of quoting in a text[], two
# hosting accounts of 150 certificates (over the 100 a claim carries:
# read apart), the first address and the last; and zrev@, whose first
# certificate is revoked after planning.
{
	echo "serial,account,email,names,not_after"
	for i in $(seq 1 40); do
		for k in $(seq 1 $((i % 3 + 1))); do
			na=2020-05-0$k
			[ "$i" -eq 7 ] && [ "$k" -eq 1 ] && na=
			printf '%x%02x,acct-%d,u%02d@example.org,"h%d-%d.example;www.h%d-%d.example",%s\n' \
				"$((i + 4096))" "$k" "$i" "$i" "$i" "$k" "$i" "$k" "$na"
		done
	done
	printf '%s\n' '7001,"NULL",weird@example.org,w1.example,2020-05-01' \
		'7002,"we""ird\acct,	{x} y",weird@example.org,w2.example,2020-05-02'
	for k in $(seq 1 150); do
		printf '%x,hosting-a,aaa-big@example.org,a%d.example,2020-06-01\n' $((k + 65536)) "$k"
		printf '%x,hosting-z,zzz-big@example.org,z%d.example,2020-06-01\n' $((k + 131072)) "$k"
	done
	printf '%s\n' '8001,acct-rev,zrev@example.org,r1.example,2020-05-01' \
		'8002,acct-rev,zrev@example.org,r2.example,2020-05-01'
} >list.csv
certrecall -q import caa-2020 list.csv --no-progress

# A message without what names its notice or its run (the Message-ID,
# the MIME boundary), in LF line ends; a draft's file name ends with the
# address.
strip() {
	grep -av -e '^Message-ID: ' "$1" | tr -d '\r' |
		sed 's/=_certrecall_[0-9a-f]*/=_certrecall_B/g'
}
to_of() { grep -am1 '^To: ' "$1" | tr -d '\r' | sed 's/^To: //'; }
# csv_of FILE: the certificates.csv a message attaches
csv_of() {
	/usr/bin/python3 -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    if p.get_content_type() == "text/csv":
        sys.stdout.write(p.get_payload(decode=True).decode())' "$1"
}

# 0. A dry run plans (rolled back) and reads the listings.
certrecall -q notify caa-2020 --at "$at" --dry-run d0
expect "the dry run composed a message per address" 44 "$(ls d0 | wc -l)"

# 1. Five sent for real: planned with listings, claimed with them (aaa-big
# first by address: read apart).
certrecall -q notify caa-2020 --at "$at" --limit 5 --no-progress
expect "every list carries its listing, five fields a certificate" "44|44" \
	"$(db_sql -c "SELECT count(*), count(*) FILTER (WHERE cardinality(listing) = 5 * certificates) FROM notice_certificate_set")"
expect "the account named NULL is listed as that word, not as NULL" "NULL|f" \
	"$(db_sql -c "SELECT s.listing[1], s.listing[1] IS NULL FROM notice_certificate_set s JOIN notice n ON n.id = s.notice_id WHERE n.address = 'weird@example.org' AND s.listing[2] = '7001'")"

# 2. The same notices read from the certificates themselves: an incident
# with a scan round reads them (the listing carries no verdict); no
# target of this one names a listed certificate, so each still says "not
# scanned".  Every message is the same as from the listings.
db_sql -c "INSERT INTO scan_target (incident_id, name, port, round) VALUES (1, 'unlisted.example', 443, 1)" >/dev/null
certrecall -q notify caa-2020 --at "$at" --dry-run d1
db_sql -c "DELETE FROM scan_target" >/dev/null
expect "the dry run from the certificates composed the 39 still due" 39 "$(ls d1 | wc -l)"
same=0 differ=()
for f in d1/*; do
	if cmp -s <(strip "$f") <(strip d0/*-"${f#d1/*-}"); then same=$((same + 1)); else differ+=("${f#d1/}"); fi
done
expect "from the listings or from the certificates, every message is the same" "39 " "$same ${differ[*]}"

# 3. A certificate revoked after planning: the listings planned before are
# not used any more, and zrev@ says when it was revoked.
db_sql -c "UPDATE certificate SET revocation_state = 'revoked', revoked_at = '2020-03-02T20:00:00Z' WHERE serial = '\\x8001'" >/dev/null
expect "the revocation is recorded as a write" 1 "$(db_sql -c "SELECT count(*) FROM revocation_write")"
certrecall -q notify caa-2020 --at "$at" --no-progress
expect "every address got its message" 44 "$(ls mail/*.eml | wc -l)"
rev=$(grep -l $'^To: zrev@example.org\r$' mail/*.eml)
expect "the certificate revoked after planning is listed as revoked" \
	"8001,acct-rev,r1.example,2020-05-01 00:00:00 UTC,2020-03-02 20:00:00 UTC,not scanned" \
	"$(csv_of "$rev" | tr -d '\r' | grep '^8001,')"
expect "the listing planned before said it was not" \
	"8001,acct-rev,r1.example,2020-05-01 00:00:00 UTC,unknown,not scanned" \
	"$(csv_of d0/*-zrev@example.org.eml | tr -d '\r' | grep '^8001,')"
same=0 differ=()
for f in mail/*.eml; do
	a=$(to_of "$f")
	[ "$a" = zrev@example.org ] && continue
	if cmp -s <(strip "$f") <(strip d0/*-"$a".eml); then
		same=$((same + 1))
	else
		differ+=("$a")
	fi
done
expect "sent from listings (5) or certificates (38), each as composed from listings" \
	"43 " "$same ${differ[*]}"

# 4. A deleted certificate takes the listings that list it: planned again
# in a new incident, the list of zzz-big loses one and is read from the
# certificates.
certrecall -q incident create --slug second --title "second" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import second list.csv --no-progress
certrecall -q notify second --at "$at" --limit 1 --no-progress
db_sql -c "DELETE FROM certificate WHERE incident_id = 2 AND serial = '\\x020001'" >/dev/null
expect "the list without the deleted certificate has no listing" "149|t" \
	"$(db_sql -c "SELECT s.certificates, s.listing IS NULL FROM notice_certificate_set s JOIN notice n ON n.id = s.notice_id WHERE n.incident_id = 2 AND n.address = 'zzz-big@example.org'")"
finish
