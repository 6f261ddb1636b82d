#!/usr/bin/env bash
# certrecall notify against a real SMTP server (aiosmtpd): one message per
# address, retries, permanent failures, header injection, time zones.
. "$(dirname "$0")/lib.sh"
new_db notify
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00
start_smtpd mail || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_MAILER_RETRY_BACKOFF=1s CERTRECALL_MAILER_LEASE=5s
cd "$T_TMP"
deadline="2020-03-05 03:08:00 UTC"

# 2,000 addresses: 1,960 plain, 20 that get 451 once, 20 refused with 550.
# Account 50 has two certificates and a second address; ten more accounts
# have no address at all.
{
	echo "serial,account,email,names,not_after"
	for i in $(seq 1 2000); do
		local=u$i
		[ "$i" -le 20 ] && local=t451-u$i
		[ "$i" -gt 20 ] && [ "$i" -le 40 ] && local=p550-u$i
		printf '%x,acct-%d,%s@example.org,h%d.example,2020-05-01\n' $((i + 4096)) "$i" "$local" "$i"
	done
	echo "ffff,acct-50,second@example.org,extra50.example,2020-05-01"
	for i in $(seq 2001 2010); do printf '%x,acct-%d,,n%d.example,2020-05-01\n' $((i + 4096)) "$i" "$i"; done
} >list.csv
certrecall -q import caa-2020 list.csv --no-progress
out=$(certrecall notify caa-2020 --plan)
contains "--plan counts 2,001 notices due to 2,001 addresses" \
	"initial       2001       2001        0        0        0          10  2020-03-05T03:08:00Z  2020-03-05T03:08:00Z" "$out"
expect "--plan changes nothing" 0 "$(db_sql -c "SELECT count(*) FROM notice")"

out=$(certrecall notify caa-2020 --dry-run drafts 2>&1)
contains "--dry-run writes one file per message" "2001 initial messages written to drafts" "$out"
expect "the drafts are on disk" 2001 "$(ls drafts | wc -l)"
expect "--dry-run changes nothing" 0 "$(db_sql -c "SELECT count(*) FROM notice")"
expect "and sends nothing" 0 "$(ls mail/*.eml 2>/dev/null | wc -l)"

out=$(certrecall notify caa-2020 --no-progress --connections 4 2>&1)
contains "the run reports its counts" "initial: 1981 sent, 20 failed" "$out"
expect "exactly one stored message per reachable address" 1981 "$(ls mail/*.eml | wc -l)"
expect "no address got two" "" "$(/usr/bin/python3 "$ROOT/tests/mailcheck.py" --count mail | awk '$2 != 1')"
check=$(/usr/bin/python3 "$ROOT/tests/mailcheck.py" mail "$deadline")
expect "every message parses without defects and states the UTC deadline" "ok 1981" "$check"
expect "every message lists its certificates" "" "$(grep -l 'Action required: 0 certificate' mail/*.eml)"
expect "451 addresses succeeded on retry" 20 \
	"$(db_sql -c "SELECT count(*) FROM notice WHERE address LIKE 't451-%' AND state = 'sent' AND attempts = 2")"
expect "550 addresses failed with the server's reply" 20 \
	"$(db_sql -c "SELECT count(*) FROM notice WHERE address LIKE 'p550-%' AND state = 'failed' AND last_reply LIKE '550 5.1.1 mailbox unavailable%'")"
expect "accounts without address have a no-address record each" 10 \
	"$(db_sql -c "SELECT count(*) FROM notice WHERE state = 'no-address'")"
msg=$(grep -l $'^To: u50@example.org\r$' mail/*.eml)
contains "a message lists its account's certificates" "extra50.example" "$(cat $msg)"
expect "the address with two accounts' mail lists only its own" 1 "$(grep -l 'To: second@example.org' mail/*.eml | wc -l)"
expect "Message-IDs are stable per notice" "1981" \
	"$(db_sql -c "SELECT count(*) FROM notice WHERE state = 'sent' AND message_id LIKE 'certrecall.caa-2020.initial.%@ca.example'")"
expect "the run is in the audit trail" 1 \
	"$(db_sql -c "SELECT count(*) FROM event WHERE kind = 'notify.initial'")"
out=$(certrecall notify caa-2020 --no-progress 2>&1)
contains "a second run sends nothing" "initial: 0 sent, 0 failed" "$out"
out=$(certrecall status caa-2020 --at 2020-03-04T00:00:00Z)
contains "status counts sent notices" "initial sent 1981" "$(tr -s ' ' <<<"$out")"
contains "status counts failed notices" "initial failed 20" "$(tr -s ' ' <<<"$out")"
contains "status counts accounts without address" "initial no-address 10" "$(tr -s ' ' <<<"$out")"
expect "still one message per address" 1981 "$(ls mail/*.eml | wc -l)"

# A relay that refuses at connect (421): retried, then delivered.
certrecall -q incident create --slug b --title "second" --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
printf 'serial,account,email,names\n01,b-1,b1@example.org,b1.example\n' >b.csv
certrecall -q import b b.csv --no-progress
out=$(CERTRECALL_SMTP_PORT=$SMTP_REJECT_PORT certrecall notify b --no-wait --no-progress 2>&1)
contains "a 421 greeting is a retry, not a failure" "0 sent, 0 failed, 1 to retry" "$out"
sleep 1.1
out=$(certrecall notify b --no-progress 2>&1)
contains "the retry goes through" "1 sent" "$out"

# A connection lost after the data, before the answer: retried, one copy.
certrecall -q incident create --slug drop --title "drop" --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
printf 'serial,account,email,names\n03,d-1,drop-d1@example.org,d1.example\n04,d-2,d2@example.org,d2.example\n' >drop.csv
certrecall -q import drop drop.csv --no-progress
out=$(certrecall notify drop --no-progress 2>&1)
contains "both are sent in the end" "2 sent, 0 failed" "$out"
expect "the dropped one was tried twice" "2" \
	"$(db_sql -c "SELECT attempts FROM notice WHERE address = 'drop-d1@example.org'")"
expect "and stored once" 1 "$(grep -l $'^To: drop-d1@example.org\r$' mail/*.eml | wc -l)"

# --limit sends at most N this run; --rate spaces them out.
certrecall -q incident create --slug lim --title "limit" --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
{ echo "serial,account,email,names"; for i in 1 2 3 4 5; do printf '%x,l-%d,l%d@example.org,l%d.example\n' $((i + 900)) "$i" "$i" "$i"; done; } >lim.csv
certrecall -q import lim lim.csv --no-progress
out=$(certrecall notify lim --limit 2 --no-progress 2>&1)
contains "--limit 2 sends two" "2 sent" "$out"
start=$(date +%s.%N)
out=$(certrecall notify lim --rate 2 --connections 3 --no-progress 2>&1)
took=$(echo "$(date +%s.%N) - $start" | bc)
contains "the rest go in the next run" "3 sent" "$out"
if [ "$(echo "$took >= 1.0" | bc)" = 1 ]; then
	pass "--rate 2 spreads three messages over at least a second ($took s)"
else
	fail "--rate 2 spreads three messages over at least a second" "took $took s"
fi

# Header injection: an account id with CR LF inside, in a Subject.
mkdir -p tpl
printf 'Subject: Accounts {{account_list}} by {{deadline}}\n\nAccounts: {{account_list}}\nDeadline: {{deadline}}\n' >tpl/initial.txt
certrecall -q incident create --slug inj --title "injection" --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
printf 'serial,account,email,names\r\n02,"evil\r\nBcc: x@evil.example",victim@example.org,v.example\r\n' >inj.csv
certrecall -q import inj inj.csv --no-progress
start_smtpd injmail
CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_TEMPLATES_DIR=tpl certrecall -q notify inj --no-progress
check=$(/usr/bin/python3 "$ROOT/tests/mailcheck.py" injmail "$deadline")
expect "CR LF in input produces no extra header" "ok 1" "$check"
contains "the text stays, flattened, in the Subject" "Subject: Accounts evil Bcc: x@evil.example by" "$(cat injmail/*.eml)"
contains "and in the body it is just text" "Accounts: evil" "$(cat injmail/*.eml)"

# Time zones change nothing; --at composes as of a moment.
email=$(db_sql -c "SELECT address FROM notice WHERE incident_id = 1 AND state = 'sent' ORDER BY id LIMIT 1")
a=$(TZ=UTC certrecall notify caa-2020 --preview "$email" --at 2020-02-29T10:00:00Z)
b=$(TZ=Asia/Tokyo certrecall notify caa-2020 --preview "$email" --at 2020-02-29T10:00:00Z)
c=$(TZ=America/New_York certrecall notify caa-2020 --preview "$email" --at 2020-02-29T10:00:00Z)
expect "a message is byte-identical under TZ=Asia/Tokyo" "$a" "$b"
expect "and under TZ=America/New_York" "$a" "$c"
contains "the time left is stated in words" "4 days 17 hours from now" "$a"
contains "the Date header is UTC +0000" "Date: Sat, 29 Feb 2020 10:00:00 +0000" "$a"
fails "--preview of an unknown address exits 65 (data: a retry cannot fix it)" 65 certrecall notify caa-2020 --preview nobody@example.org

# A long list: the first max_listed in the body, all of them attached.
certrecall -q incident create --slug many --title "many" --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
{ echo "serial,account,email,names"; for i in $(seq 1 150); do printf '%x,m-1,many@example.org,m%d.example\n' $((i + 65536)) "$i"; done; } >many.csv
certrecall -q import many many.csv --no-progress
out=$(certrecall notify many --preview many@example.org --at 2020-03-01T00:00:00Z)
contains "more than mailer.max_listed becomes multipart with a CSV" "multipart/mixed" "$out"
att=$(/usr/bin/python3 -c '
import email, email.policy, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
parts = [p for p in m.walk() if p.get_filename() == "certificates.csv"]
print(len(parts[0].get_content().splitlines()) - 1 if parts else -1)' <<<"$out")
expect "the attachment lists all 150 certificates" 150 "$att"

# The order a message lists its certificates in: by account, then by
# serial (as bytes), whichever order the rows come in.  order@ has five
# certificates of two accounts (listed with the claim), big@ 120 (over
# the claim's 100: read apart when it is sent); the list names acct-b
# first and the serials interleave the accounts, so neither the list's
# order nor the ids' (serial order) is the message's.  prefix@'s two
# accounts and its serials share their first eight characters (the
# sort compares those as numbers first).
certrecall -q incident create --slug order --title "order" --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
{
	echo "serial,account,email,names"
	echo "3c3c01,acct-b,order@example.org,o1.example"
	echo "1c1c02,acct-b,order@example.org,o2.example"
	echo "2c2c03,acct-a,order@example.org,o3.example"
	echo "0c0c04,acct-a,order@example.org,o4.example"
	echo "0c0c0c05,acct-a,order@example.org,o5.example"
	echo "aaaaaaaa0b,hosting-account-2,prefix@example.org,p1.example"
	echo "aaaaaaaa0a,hosting-account-2,prefix@example.org,p2.example"
	echo "aaaaaaab,hosting-account-1,prefix@example.org,p3.example"
	echo "aaaaaaaa,hosting-account-1,prefix@example.org,p4.example"
	for i in $(seq 1 120); do
		printf '%x,h-%s,big@example.org,b%d.example\n' $((i + 1048576)) "$([ $((i % 2)) = 0 ] && echo a || echo b)" "$i"
	done
} >order.csv
certrecall -q import order order.csv --no-progress
rm -rf "$T_TMP/mail"/*.eml
: >"$T_TMP/mail/index.tsv"
out=$(certrecall notify order --no-progress 2>&1)
contains "all three are sent" "initial: 3 sent, 0 failed" "$out"
got=$(/usr/bin/python3 - "$T_TMP/mail" <<'PY'
import email, email.policy, glob, re, sys
for name in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_bytes(open(name, "rb").read(), policy=email.policy.default)
    to = str(m["To"])
    if "order@" in to or "prefix@" in to:
        body = m.get_body(("plain",)).get_content()
        print(to.split("@")[0], " ".join(re.findall(r"serial ([0-9a-f]+)", body)))
    elif "big@" in to:
        att = [p for p in m.walk() if p.get_filename() == "certificates.csv"][0]
        rows = att.get_content().splitlines()[1:]
        print("big", " ".join(r.split(",")[0] + ":" + r.split(",")[1] for r in rows))
PY
)
expect "a claimed notice lists acct-a's certificates, then acct-b's, each in serial order" \
	"order 0c0c04 0c0c0c05 2c2c03 1c1c02 3c3c01" "$(grep '^order' <<<"$got")"
expect "accounts and serials alike in their first eight characters still sort" \
	"prefix aaaaaaaa aaaaaaab aaaaaaaa0a aaaaaaaa0b" "$(grep '^prefix' <<<"$got")"
want=$(awk 'BEGIN { s = "big"; for (k = 0; k < 2; k++) for (i = 1; i <= 120; i++)
	if (i % 2 == k) s = s sprintf(" %x:h-%s", i + 1048576, k ? "b" : "a"); print s }')
expect "a notice read apart (120 certificates) attaches them in the same order" \
	"$want" "$(grep '^big' <<<"$got")"

finish
