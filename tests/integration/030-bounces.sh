#!/usr/bin/env bash
# Bounces: notices leave with a VERP envelope sender; a private Postfix
# relays them to aiosmtpd (tests/smtpd.py), which refuses the p550-
# addresses with 550 after Postfix accepted them, so Postfix writes real
# DSNs into a Maildir; `certrecall bounces` reads them back.  Every
# notice asks for DSNs (mailer.dsn, RFC 3461 NOTIFY=SUCCESS,FAILURE,DELAY
# RET=HDRS ENVID=tag): Postfix delivers the mbox.example addresses itself
# (a Maildir) and says "delivered"; the example.org ones it passes to
# aiosmtpd, which offers no DSN, and says only "relayed": not delivered.
. "$(dirname "$0")/lib.sh"
new_db bounces
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00
start_smtpd next || { fail "smtpd starts"; finish; }
cd "$T_TMP"

# A Postfix instance of its own: accepts from 127.0.0.1, relays to the
# smtpd, delivers the bounces for example.net into one Maildir.
PF=$T_TMP/pf
PF_PORT=$((SMTP_PORT + 2))
postfix_init "$PF" "$SMTP_PORT"
mkdir -p "$PF/mail"
chown nobody:nogroup "$PF/mail"
cat >>"$PF/etc/main.cf" <<CF
mydomain = example.net
debug_peer_list = 127.0.0.1
virtual_mailbox_domains = example.net, mbox.example
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = regexp:$PF/etc/mailboxes
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_minimum_uid = 1
recipient_delimiter = +
delay_warning_time = 0
CF
printf '%s\n' '/@example\.net$/ bounces/' '/@mbox\.example$/ subscribers/' >"$PF/etc/mailboxes"
postfix_listen "$PF" "$PF_PORT"
stop_postfix() { postfix_stop "$PF"; }
trap stop_postfix EXIT
postfix_start "$PF" "$PF_PORT" || { fail "postfix starts"; finish; }

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >bounce.key
chmod 600 bounce.key
export CERTRECALL_SMTP_PORT=$PF_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_MAILER_RETURN_PATH='bounces+{id}@example.net'
export CERTRECALL_MAILER_BOUNCE_KEY=$T_TMP/bounce.key

# 10 addresses: 5 relayed to the next hop, 3 that it refuses, 2 that
# Postfix delivers itself; one account without.
{
	echo "serial,account,email,names,not_after"
	for i in 1 2 3 4 5; do printf '%x,acct-%d,u%d@example.org,h%d.example,2099-05-01\n' $((i + 4096)) "$i" "$i" "$i"; done
	for i in 6 7 8; do printf '%x,acct-%d,p550-u%d@example.org,h%d.example,2099-05-01\n' $((i + 4096)) "$i" "$i" "$i"; done
	echo "2000,acct-9,,h9.example,2099-05-01"
	for i in 10 11; do printf '%x,acct-%d,d%d@mbox.example,h%d.example,2099-05-01\n' $((i + 4096)) "$i" "$i" "$i"; done
} >list.csv
CERTRECALL_MAILER_DSN=sometimes certrecall config show >/dev/null 2>&1
expect "a bad mailer.dsn is refused" 78 "$?"
certrecall -q import caa-2020 list.csv --no-progress

chmod 644 bounce.key
fails "a bounce key readable by others is refused" 78 certrecall notify caa-2020 --no-progress
chmod 600 bounce.key
out=$(certrecall notify caa-2020 --no-progress 2>&1)
contains "Postfix accepts all 10" "initial: 10 sent, 0 failed" "$out"
for _ in $(seq 1 100); do
	[ "$(ls next/*.eml 2>/dev/null | wc -l)" -ge 5 ] &&
		[ "$(ls pf/mail/bounces/new 2>/dev/null | wc -l)" -ge 10 ] && break
	sleep 0.2
done
expect "the next hop stored the 5 good ones" 5 "$(ls next/*.eml | wc -l)"
expect "Postfix delivered 2 itself" 2 "$(ls pf/mail/subscribers/new | wc -l)"
expect "Postfix wrote 10 DSNs: 3 failed, 2 delivered, 5 relayed" "3 failed
2 delivered
5 relayed" "$(for a in failed delivered relayed; do grep -l "^Action: $a" pf/mail/bounces/new/* | wc -l; done | paste -d' ' - <(printf 'failed\ndelivered\nrelayed\n'))"
contains "each DSN went to a notice's VERP address" "Delivered-To: bounces+" \
	"$(grep -h '^Delivered-To:' pf/mail/bounces/new/* | head -1)"
# Postfix's smtpd transcript (debug_peer_list): what certrecall asked for.
contains "RCPT TO carried NOTIFY=SUCCESS,FAILURE,DELAY" \
	"RCPT TO:<d10@mbox.example> NOTIFY=SUCCESS,FAILURE,DELAY" "$(cat pf/maillog)"
contains "MAIL FROM carried RET=HDRS and the tag as ENVID" "RET=HDRS ENVID=" \
	"$(grep -h 'MAIL FROM:<bounces+' pf/maillog | head -1)"
id10=$(db_sql -c "SELECT id FROM notice WHERE address = 'd10@mbox.example'")
contains "the delivered DSN names the notice's tag as its envelope id" \
	"Original-Envelope-Id: $id10-" \
	"$(grep -l '^Final-Recipient: rfc822; d10@mbox.example' pf/mail/bounces/new/* | xargs cat)"

out=$(certrecall bounces caa-2020 --maildir pf/mail/bounces 2>&1)
contains "the DSNs are read" "10 messages: 3 bounced, 0 delayed, 2 delivered, 5 relayed (not confirmed)" "$out"
expect "exactly the refused notices are bounced with 5.x.x" "p550-u6@example.org 5.0.0
p550-u7@example.org 5.0.0
p550-u8@example.org 5.0.0" \
	"$(db_sql -c "SELECT address, regexp_replace(delivery_status, '[0-9]+\.[0-9]+$', '0.0') FROM notice WHERE delivery = 'bounced' ORDER BY address" | tr '|' ' ')"
contains "the diagnostic is the next hop's reply" "mailbox unavailable" \
	"$(db_sql -c "SELECT delivery_diagnostic FROM notice WHERE address = 'p550-u6@example.org'")"
expect "their addresses are unreachable" 3 "$(db_sql -c "SELECT count(*) FROM unreachable_address")"
expect "delivered only where a DSN says so; relayed is kept apart" "d10@mbox.example delivered
d11@mbox.example delivered
u1@example.org relayed
u2@example.org relayed
u3@example.org relayed
u4@example.org relayed
u5@example.org relayed" \
	"$(db_sql -c "SELECT address, delivery FROM notice WHERE delivery IN ('delivered', 'relayed') ORDER BY address" | tr '|' ' ')"
before=$(db_sql -c "SELECT id, delivery, delivery_status, delivery_at FROM notice ORDER BY id")
out=$(certrecall bounces caa-2020 --maildir pf/mail/bounces 2>&1)
contains "reading the Maildir again changes nothing" "10 messages: 0 bounced, 0 delayed, 0 delivered, 0 relayed (not confirmed) (0 addresses now unreachable, 0 queued reminders dropped); 10 unchanged" "$out"
expect "not a byte" "$before" "$(db_sql -c "SELECT id, delivery, delivery_status, delivery_at FROM notice ORDER BY id")"

# A forged bounce naming notice 1 (a good address) with a wrong mac.
good=$(db_sql -c "SELECT id FROM notice WHERE address = 'u1@example.org'")
f=$(grep -l '^Action: failed' pf/mail/bounces/new/* | head -1)
sed -E "s/bounces\+[0-9]+-[0-9a-f]{32}@/bounces+$good-0123456789abcdef0123456789abcdef@/g" "$f" >forged.eml
out=$(certrecall bounces caa-2020 - <forged.eml 2>&1)
contains "a forged bounce is ignored with a warning" "forged or foreign bounce" "$out"
expect "and marks nothing" "relayed" "$(db_sql -c "SELECT delivery FROM notice WHERE id = $good")"

# The same DSNs as one mbox.
for m in pf/mail/bounces/new/*; do echo "From MAILER-DAEMON Thu Mar  5 03:08:00 2020"; sed 's/^From />From /' "$m"; echo; done >bounces.mbox
out=$(certrecall bounces caa-2020 --mbox bounces.mbox 2>&1)
contains "an mbox gives the same notices" "10 messages: 0 bounced, 0 delayed, 0 delivered, 0 relayed (not confirmed) (0 addresses now unreachable, 0 queued reminders dropped); 10 unchanged" "$out"

# A plain-text bounce quoting the original headers, and an RFC 3464
# delayed report, for a good address (handcrafted, real tags).
id2=$(db_sql -c "SELECT id FROM notice WHERE address = 'u2@example.org'")
# The tag computed independently: HMAC-SHA256 of the key file's bytes.
tag2=$(python3 -c 'import hmac,sys; k=open(sys.argv[1],"rb").read().rstrip(b"\n"); i=sys.argv[2]
print("bounces+%s-%s@example.net" % (i, hmac.new(k, b"certrecall-notice:" + i.encode(), "sha256").hexdigest()[:32]))' bounce.key "$id2")
printf 'From: MAILER-DAEMON@mx.example.org\r\nTo: %s\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nSorry, we were unable to deliver your message to u2@example.org.\r\n\r\nRemote server said: 552 5.2.2 mailbox full\r\n\r\n----- Original message -----\r\nReturn-Path: <%s>\r\nSubject: see BR 4.9.1.1\r\n' "$tag2" "$tag2" >plain.eml
# A reminder already queued for u2 when its bounce arrives.
db_sql -c "WITH n AS (INSERT INTO notice (incident_id, address, kind, accounts)
	SELECT incident_id, address, 'reminder', accounts FROM notice WHERE id = $id2 RETURNING id, incident_id)
	INSERT INTO notice_queue (notice_id, incident_id, kind) SELECT id, incident_id, 'reminder' FROM n" >/dev/null
out=$(certrecall bounces caa-2020 - <plain.eml 2>&1)
contains "a plain-text bounce is understood" "1 bounced" "$out"
contains "the reminder queued for it is dropped" "1 queued reminders dropped" "$out"
expect "it is unreachable and out of the queue" "unreachable 0" \
	"$(db_sql -c "SELECT n.state, (SELECT count(*) FROM notice_queue q WHERE q.notice_id = n.id) FROM notice n WHERE kind = 'reminder' AND address = 'u2@example.org'" | tr '|' ' ')"
expect "with its status and diagnostic line" "bounced|5.2.2|Remote server said: 552 5.2.2 mailbox full" \
	"$(db_sql -c "SELECT delivery, delivery_status, delivery_diagnostic FROM notice WHERE id = $id2")"

# Reminders skip the unreachable addresses, and the forecast says so.
plan=$(certrecall notify caa-2020 --plan --kind reminder)
expect "--plan counts only the reachable addresses" 6 "$(awk '$1 == "reminder" { print $3 }' <<<"$plan")"
out=$(certrecall notify caa-2020 --kind reminder --no-progress 2>&1)
contains "reminders go only to reachable addresses" "reminder: 6 sent" "$out"
expect "none sent to a bounced address" 0 \
	"$(db_sql -c "SELECT count(*) FROM notice WHERE kind = 'reminder' AND state <> 'unreachable' AND address IN (SELECT address FROM unreachable_address)")"

out=$(certrecall status caa-2020 2>&1)
contains "status counts told / bounced / unreachable / no address" \
	"told 6, bounced 4, unreachable 4, no address 1" "$out"
contains "and the told confirmed by a DSN apart from the relay's acceptance" \
	"of them delivered 2 (DSN), accepted by a relay only 4" "$out"
out=$(certrecall report caa-2020 --format md 2>&1)
contains "the report too" "told 6, bounced 4, unreachable 4, no address 1" "$out"
contains "and the delivery a DSN confirmed, apart from the relay's acceptance" \
	"Of the told: delivered 2 (confirmed by a DSN), accepted by a relay only 4" "$out"
out=$(certrecall report caa-2020 --format json 2>&1)
expect "and its JSON (schema in docs/report.schema.json)" '{"told": 6, "delivered": 2, "bounced": 4, "unreachable": 4, "no_address": 1}' \
	"$(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["notification"]["reach"]))')"
echo "$out" >report.json
expect "which validates" "" "$(/usr/bin/python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' report.json "$ROOT/docs/report.schema.json" 2>&1)"

# mailer.dsn = off asks for nothing: no NOTIFY, no RET, no ENVID; a
# delivery brings no DSN (a refusal still bounces: the relay's default).
certrecall -q incident create --slug quiet --title quiet \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00
printf 'serial,account,email,names,not_after\n3001,acct-q1,q1@mbox.example,q1.example,2099-05-01\n3002,acct-q2,p550-q2@example.org,q2.example,2099-05-01\n' >quiet.csv
certrecall -q import quiet quiet.csv --no-progress
out=$(CERTRECALL_MAILER_DSN=off certrecall notify quiet --no-progress 2>&1)
contains "the quiet notices go" "initial: 2 sent, 0 failed" "$out"
for _ in $(seq 1 100); do
	grep -qs '^Final-Recipient: rfc822; p550-q2@example.org' pf/mail/bounces/new/* &&
		grep -qs '^To: q1@mbox.example' pf/mail/subscribers/new/* && break
	sleep 0.2
done
sleep 1 # a success DSN, were one asked for, would be written by now
contains "Postfix delivered q1 itself" "q1@mbox.example" "$(grep -h '^To: q1@' pf/mail/subscribers/new/*)"
expect "RCPT TO carried no NOTIFY" "RCPT TO:<q1@mbox.example>" \
	"$(grep -o 'RCPT TO:<q1@mbox.example>.*' pf/maillog | head -1)"
expect "MAIL FROM carried no RET or ENVID" "" \
	"$(grep "MAIL FROM:<bounces+$(db_sql -c "SELECT id FROM notice WHERE address = 'q1@mbox.example'")-" pf/maillog | grep -E 'RET=|ENVID=')"
expect "no DSN for the delivered one" 0 \
	"$(grep -ls '^Final-Recipient: rfc822; q1@mbox.example' pf/mail/bounces/new/* | wc -l)"
out=$(certrecall bounces quiet --maildir pf/mail/bounces 2>&1)
contains "the refusal still bounced" "1 bounced, 0 delayed, 0 delivered, 0 relayed" "$out"
finish
