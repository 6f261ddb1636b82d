#!/usr/bin/env bash
# DKIM (RSA-2048 and Ed25519, checked by python3-dkim with the keys from
# a file), and notices in the subscriber's language and time zone: the
# deadline in UTC and, when the zone is known, local time too, whatever
# TZ the process runs under.
. "$(dirname "$0")/lib.sh"
new_db dkim
certrecall -q db migrate
for s in caa-rsa caa-ed; do
	certrecall -q incident create --slug $s --title "CAA rechecking bug" \
		--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00
done
start_smtpd mail || { fail "smtpd starts"; finish; }
cd "$T_TMP"

# Keys and their DNS records (RFC 6376 3.6.1; Ed25519: RFC 8463 4.2).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm ed25519 -out ed.pem 2>/dev/null
chmod 600 rsa.pem ed.pem
{
	echo "rsa1._domainkey.ca.example v=DKIM1; k=rsa; p=$(openssl pkey -in rsa.pem -pubout -outform DER | base64 -w0)"
	echo "ed1._domainkey.ca.example v=DKIM1; k=ed25519; p=$(openssl pkey -in ed.pem -pubout -outform DER | tail -c 32 | base64 -w0)"
} >dns.txt

export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_MAILER_DKIM_DOMAIN=ca.example

# Accounts: Japanese in Tokyo, Japanese without a zone, English with a
# zone nobody knows (UTC only, a warning), English without columns.
{
	echo "serial,account,names,not_after"
	for i in 1 2 3 4; do printf '%x,acct-%d,h%d.example,2020-05-01\n' $((i + 4096)) "$i" "$i"; done
} >list.csv
cat >accounts.csv <<'CSV'
account,email,lang,tz
acct-1,tokyo@example.org,ja,Asia/Tokyo
acct-2,ja-utc@example.org,ja,
acct-3,mars@example.org,en,Mars/Olympus
acct-4,plain@example.org,,
CSV
for s in caa-rsa caa-ed; do certrecall -q import $s list.csv --no-progress; done
out=$(certrecall import caa-rsa --accounts accounts.csv --no-progress 2>&1)
contains "an unknown zone is a warning at import, with file:line" \
	'accounts.csv:4: unknown time zone "Mars/Olympus"' "$out"
expect "language and zone are stored, the unknown zone is not" \
	"acct-1|ja|Asia/Tokyo
acct-2|ja|
acct-3|en|
acct-4||" "$(db_sql -c "SELECT account, lang, tz FROM subscriber ORDER BY account")"

export CERTRECALL_MAILER_DKIM_SELECTOR=rsa1 CERTRECALL_MAILER_DKIM_KEY=$T_TMP/rsa.pem
out=$(TZ=America/New_York certrecall notify caa-rsa --no-progress --at 2020-03-01T00:00:00Z 2>&1)
contains "the RSA-signed run sends 4" "initial: 4 sent, 0 failed" "$out"
expect "every message verifies (RSA-2048)" "ok 4" "$(/usr/bin/python3 "$ROOT/tests/dkimcheck.py" dns.txt mail/*.eml)"
contains "the signature is relaxed/relaxed rsa-sha256 over the listed headers" \
	"a=rsa-sha256" "$(grep -h -A3 '^DKIM-Signature' mail/000001.eml | tr -d '\r\n\t ')"
sigs=$(grep -h -A6 '^DKIM-Signature' mail/000001.eml | tr -d '\r\n\t ')
contains "relaxed/relaxed" "c=relaxed/relaxed" "$sigs"
h=$(echo "$sigs" | tr 'A-Z' 'a-z' | sed -n 's/.*;h=\([^;]*\);.*/\1/p' | tr ':' '\n' | sort | tr '\n' ' ')
expect "From, To, Subject, Date, Message-ID and the MIME headers signed" \
	"auto-submitted content-transfer-encoding content-type date from message-id mime-version subject to " "$h"
f=$(grep -l $'^To: plain@example.org\r$' mail/*.eml)
# One body byte changed: "Dear" -> "Deer".
sed 's/^Dear subscriber/Deer subscriber/' "$f" >tampered.eml
expect "a changed body byte fails verification" 1 "$(cmp -l "$f" tampered.eml | wc -l)"
fails "dkimcheck refuses it" 1 /usr/bin/python3 "$ROOT/tests/dkimcheck.py" dns.txt tampered.eml

# Language and time zone, composed under TZ=America/New_York.
decoded() { # FILE: the decoded Subject, then the decoded text body
	/usr/bin/python3 -c 'import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(m["Subject"]); print(m.get_body(("plain",)).get_content())' "$1"
}
tokyo=$(decoded "$(grep -l $'^To: tokyo@example.org\r$' mail/*.eml)")
contains "Tokyo: the ja subject, deadline in Japan time" \
	"【要対応】証明書1件を2020-03-05 12:08（日本時間）までに失効します" "$tokyo"
contains "Tokyo: the body opens with UTC and JST to the minute" \
	"■ 失効期限: 2020-03-05 03:08 UTC（日本時間 2020-03-05 12:08）" "$(echo "$tokyo" | sed -n 2p)"
contains "Tokyo: the SHOULD time in both" "2020-03-01 03:08 UTC（日本時間 2020-03-01 12:08）" "$tokyo"
jautc=$(decoded "$(grep -l $'^To: ja-utc@example.org\r$' mail/*.eml)")
contains "Japanese without a zone: UTC only" "■ 失効期限: 2020-03-05 03:08 UTC" "$(echo "$jautc" | sed -n 2p)"
expect "and no local time at all" "" "$(echo "$jautc" | grep -E '日本時間|12:08')"
mars=$(decoded "$(grep -l $'^To: mars@example.org\r$' mail/*.eml)")
contains "an unknown zone: the English notice in UTC" "Revocation deadline: 2020-03-05 03:08:00 UTC" "$mars"
expect "never a wrong local time" "" "$(echo "$mars" | grep -E 'unless marked|Time\)')"
raw=$(grep -h '^Subject:' "$(grep -l $'^To: tokyo@example.org\r$' mail/*.eml)")
contains "the Japanese subject is RFC 2047 encoded" "=?UTF-8?" "$raw"

# Ed25519 on the second incident.
# With mailer.html: an HTML alternative from the same template data.
export CERTRECALL_MAILER_DKIM_SELECTOR=ed1 CERTRECALL_MAILER_DKIM_KEY=$T_TMP/ed.pem
export CERTRECALL_MAILER_HTML=true
rm -f mail/*.eml
out=$(TZ=Asia/Tokyo certrecall notify caa-ed --no-progress --at 2020-03-01T00:00:00Z 2>&1)
contains "the Ed25519-signed run sends 4" "initial: 4 sent, 0 failed" "$out"
contains "signed ed25519-sha256" "a=ed25519-sha256" "$(grep -h -A3 '^DKIM-Signature' mail/*.eml | tr -d '\r\n\t ')"
expect "every message verifies (Ed25519)" "ok 4" "$(/usr/bin/python3 "$ROOT/tests/dkimcheck.py" dns.txt mail/*.eml)"
f=$(grep -l $'^To: plain@example.org\r$' mail/*.eml)
sed 's/^Dear subscriber/Deer subscriber/' "$f" >tampered.eml
expect "one byte changed" 1 "$(cmp -l "$f" tampered.eml | wc -l)"
fails "a changed body fails Ed25519 verification" 1 /usr/bin/python3 "$ROOT/tests/dkimcheck.py" dns.txt tampered.eml
same=$(decoded "$(grep -l $'^To: tokyo@example.org\r$' mail/*.eml)")
html=$(/usr/bin/python3 -c 'import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(m.get_content_type(), len(m.defects)); print(m.get_body(("html",)).get_content())' "$(grep -l $'^To: tokyo@example.org\r$' mail/*.eml)")
contains "mailer.html: multipart/alternative without defects" "multipart/alternative 0" "$html"
contains "the HTML part states the same times" "失効期限: 2020-03-05 03:08 UTC（日本時間 2020-03-05 12:08）" "$html"
contains "under TZ=Asia/Tokyo the times are the same" "■ 失効期限: 2020-03-05 03:08 UTC（日本時間 2020-03-05 12:08）" "$same"

chmod 644 ed.pem
fails "a DKIM key readable by others is refused" 78 certrecall notify caa-ed --kind revoked --no-progress
chmod 600 ed.pem

# An address of several accounts: the language and the zone of its first
# account (in account order) that has one, each on its own.
unset CERTRECALL_MAILER_HTML
certrecall -q incident create --slug shared --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00
{
	echo "serial,account,names,not_after"
	for i in 5 6 7; do printf '%x,acct-%d,h%d.example,2020-05-01\n' $((i + 4096)) "$i" "$i"; done
} >shared.csv
cat >shared-accounts.csv <<'CSV'
account,email,lang,tz
acct-5,shared@example.org,,Asia/Tokyo
acct-6,shared@example.org,ja,America/New_York
acct-7,shared@example.org,en,
CSV
certrecall -q import shared shared.csv --accounts shared-accounts.csv --no-progress
rm -f mail/*.eml
out=$(certrecall notify shared --no-progress --at 2020-03-01T00:00:00Z 2>&1)
contains "the three accounts' address gets one notice" "initial: 1 sent, 0 failed" "$out"
contains "in Japanese (acct-6, the first with a language), Tokyo time (acct-5, the first with a zone)" \
	"失効期限: 2020-03-05 03:08 UTC（日本時間 2020-03-05 12:08）" "$(decoded mail/*.eml)"
finish
