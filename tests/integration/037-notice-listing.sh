#!/usr/bin/env bash
# A notice's listing (sql/032, 037): what the messages say of each
# certificate, grouped per account when the certificates are imported;
# a list names that grouping, and the sender reads the listing there
# instead of reading the certificates while it still says what they say.
# Every message is the same either way, byte for byte; a certificate
# revoked after planning is listed as revoked (the listing is then not
# used); a deleted one leaves the grouping; a later import drops it and
# the next planning makes it again, as it does when the grouping after
# an import fails; a crash empties it and nothing is lost; and the listing, a text[] from the server, is read back whatever
# an account is called.
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
expect "the import grouped the certificates of each of its 45 accounts" "1|45|45|$((5 * 384))" \
	"$(db_sql -c "SELECT (SELECT count(*) FROM account_holding_built WHERE incident_id = 1), count(*), count(DISTINCT account), sum(cardinality(listing)) FROM account_holding WHERE incident_id = 1")"
generation() { db_sql -c "SELECT generation FROM account_holding_built WHERE incident_id = $1"; }
g1=$(generation 1)

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

# 1. Five sent for real: planned from the import's grouping, claimed with
# its listings (aaa-big first by address: read apart).
certrecall -q notify caa-2020 --at "$at" --limit 5 --no-progress
expect "every list names the import's grouping and copies no listing" "44|44|0|t" \
	"$(db_sql -c "SELECT count(*), count(*) FILTER (WHERE holding = $g1), count(listing), bool_and(listed_as_of::text = (SELECT as_of::text FROM account_holding_built)) FROM notice_certificate_set")"
expect "the account named NULL is listed as that word, not as NULL" "NULL|f" \
	"$(db_sql -c "SELECT listing[1][1], listing[1][1] IS NULL FROM account_holding WHERE account = 'NULL'")"

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
expect "the list without the deleted certificate names no grouping" "149|t|t" \
	"$(db_sql -c "SELECT s.certificates, s.listing IS NULL, s.holding IS NULL FROM notice_certificate_set s JOIN notice n ON n.id = s.notice_id WHERE n.incident_id = 2 AND n.address = 'zzz-big@example.org'")"

# 5. A later import that adds certificates drops the grouping; the next
# planning makes it again, over all of them, and the new certificate is
# listed.  (Incident 2's planning found its grouping stale after the
# deletion and made it again too.)
certrecall -q incident create --slug third --title "third" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import third list.csv --no-progress
g3=$(generation 3)
printf 'serial,account,email,names,not_after\n9001,acct-late,late@example.org,late.example,2020-05-01\n' >late.csv
certrecall -q import third late.csv --no-progress
expect "the import that added a certificate dropped the grouping" 0 \
	"$(db_sql -c "SELECT count(*) FROM account_holding_built WHERE incident_id = 3")"
expect "and its rows" 0 "$(db_sql -c "SELECT count(*) FROM account_holding WHERE incident_id = 3")"
certrecall -q import third late.csv --no-progress
certrecall -q notify third --at "$at" --dry-run d3 --no-progress
expect "a dry run plans from a grouping made in its own transaction (rolled back)" 0 \
	"$(db_sql -c "SELECT count(*) FROM account_holding_built WHERE incident_id = 3")"
certrecall -q notify third --at "$at" --limit 3 --no-progress
g3b=$(generation 3)
expect "planning made the grouping again, a new generation, with the new account" "t|46" \
	"$(db_sql -c "SELECT $g3b > $g3, count(*) FROM account_holding WHERE incident_id = 3")"
expect "the new certificate's message is composed from it" \
	"late.example" "$(grep -ah '^Subject\|late.example' d3/*-late@example.org.eml | grep -o 'late\.example' | head -1)"

# 6. A crash empties unlogged tables (PostgreSQL resets them at
# recovery; here emptied by hand, as the shared test cluster stays up):
# the lists planned from the grouping are read from the certificates,
# and every message is as the dry run composed it.
db_sql -c "TRUNCATE account_holding, account_holding_built" >/dev/null
rm -f mail/*.eml
certrecall -q notify third --at "$at" --no-progress
expect "after the crash, the 42 addresses still due got their message" 42 "$(ls mail/*.eml | wc -l)"
same=0 differ=()
for f in mail/*.eml; do
	a=$(to_of "$f")
	if cmp -s <(strip "$f") <(strip d3/*-"$a".eml); then same=$((same + 1)); else differ+=("$a"); fi
done
expect "each as composed from the grouping before the crash" "42 " "$same ${differ[*]}"
expect "with the 3 sent before, every address once: nothing planned again or sent twice" "45|45" \
	"$(db_sql -c "SELECT count(*), count(DISTINCT address) FROM notice WHERE incident_id = 3 AND state = 'sent'")"

# 7. The messages take the listing from the grouping, not from the
# certificates: a name changed there by hand shows, in a notice claimed
# with its listing (u30@, one certificate), in one over the claim's
# budget (zzz-big@, 150: one notice a claim, mailer.batch = 1, so at
# most 100 certificates a claim) and in one over 2,000 (huge@, 2,001),
# both loaded apart, in binary.
certrecall -q incident create --slug fourth --title "fourth" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
{
	cat list.csv
	for k in $(seq 1 2001); do
		printf '%x,hosting-huge,huge@example.org,huge%d.example,2020-06-01\n' $((k + 196608)) "$k"
	done
} >list4.csv
certrecall -q import fourth list4.csv --no-progress
refused "a grouping is written by account_holding_build() alone" "only account_holding_build()" \
	"UPDATE account_holding SET listing[1][3] = 'grouped.example' WHERE incident_id = 4"
refused "nor added to by hand" "only account_holding_build()" \
	"INSERT INTO account_holding VALUES (4, 'acct-x', '{1,1}', '{{a,b,c,d,e},{a,b,c,d,e}}')"
# (by hand, as the builder: SET LOCAL certrecall.grouping = build)
db_sql -c "BEGIN" -c "SET LOCAL certrecall.grouping = build" -c "UPDATE account_holding SET listing[1][3] = 'grouped.example' WHERE incident_id = 4 AND account IN ('acct-30', 'hosting-z', 'hosting-huge')" -c "COMMIT" >/dev/null
rm -f mail/*.eml
CERTRECALL_MAILER_BATCH=1 certrecall -q notify fourth --at "$at" --no-progress
mail_to() { grep -l $'^To: '"$1"$'\r$' mail/*.eml; }
expect "the name from the grouping is in all three messages" "1 1 1" \
	"$(grep -c 'grouped\.example' "$(mail_to u30@example.org)") $(csv_of "$(mail_to zzz-big@example.org)" | grep -c 'grouped\.example') $(csv_of "$(mail_to huge@example.org)" | grep -c 'grouped\.example')"
expect "each big message lists all its certificates" "150 2001" \
	"$(csv_of "$(mail_to zzz-big@example.org)" | grep -c '^[0-9a-f]*,hosting-z,') $(csv_of "$(mail_to huge@example.org)" | grep -c '^[0-9a-f]*,hosting-huge,')"

# 8. The grouping is made once the import has committed, in a
# transaction of its own: when that fails, the import stands, says so,
# and the next planning groups the certificates.
certrecall -q incident create --slug fifth --title "fifth" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
db_sql -c "CREATE FUNCTION t_no_grouping() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION 'no grouping today'; END \$\$" \
	-c "CREATE TRIGGER t_no_grouping BEFORE INSERT ON account_holding_built FOR EACH ROW EXECUTE FUNCTION t_no_grouping()" >/dev/null
out=$(certrecall import fifth list.csv --no-progress 2>&1)
expect "the import stands when its grouping fails" 0 $?
contains "and says the next notify groups them" "grouping them by account failed; the next notify groups them" "$out"
expect "its certificates are in, without a grouping" "384|0" \
	"$(db_sql -c "SELECT (SELECT count(*) FROM certificate WHERE incident_id = 5), (SELECT count(*) FROM account_holding WHERE incident_id = 5)")"
db_sql -c "DROP TRIGGER t_no_grouping ON account_holding_built" -c "DROP FUNCTION t_no_grouping()" >/dev/null
rm -f mail/*.eml
certrecall -q notify fifth --at "$at" --no-progress
expect "the next notify grouped them and told each of the 44 addresses" "1|44" \
	"$(db_sql -c "SELECT (SELECT count(*) FROM account_holding_built WHERE incident_id = 5), (SELECT count(*) FROM notice WHERE incident_id = 5 AND state = 'sent')")"
finish
