#!/usr/bin/env bash
# SMTP AUTH against a real server (aiosmtpd requiring AUTH): the username
# and the password file are used, the password never appears in output,
# and a wrong password sends nothing and loses no notice.  A relay that
# cannot be reached stops the run before anything changes.
. "$(dirname "$0")/lib.sh"
new_db auth
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
start_smtpd mail --auth "relay-user:s3cret pass" || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_MAILER_RETRY_BACKOFF=1s CERTRECALL_MAILER_MAX_ATTEMPTS=2
cd "$T_TMP"
{
	echo "serial,account,email,names"
	for i in $(seq 1 20); do printf '%x,acct-%d,u%d@example.org,h%d.example\n' $((i + 4096)) "$i" "$i" "$i"; done
} >list.csv
certrecall -q import caa-2020 list.csv --no-progress

# A wrong password first: nothing may be sent, nothing lost.
printf 'wrong\n' >bad.pw
chmod 600 bad.pw
out=$(certrecall --set smtp.username=relay-user --set smtp.password_file=bad.pw \
	notify caa-2020 --no-progress --no-wait 2>&1)
expect "a refused login sends nothing" 0 "$(ls mail/*.eml 2>/dev/null | wc -l)"
expect "and fails no notice for good" 0 "$(db_sql -c "SELECT count(*) FROM notice WHERE state = 'failed'")"
contains "and says why, once" "the relay refused MAIL FROM: 530" "$out"
expect "the relay's answer is kept on each notice" 20 \
	"$(db_sql -c "SELECT count(*) FROM notice WHERE state = 'retry' AND last_reply LIKE '%MAIL FROM refused: 530%'")"
case $out in *wrong*) fail "the password is never printed" "$out" ;; *) pass "the password is never printed" ;; esac

printf 's3cret pass\n' >good.pw
chmod 600 good.pw
db_sql -c "UPDATE notice SET next_attempt_at = now()" -c "UPDATE notice_queue SET due_at = now()" >/dev/null
out=$(certrecall --set smtp.username=relay-user --set smtp.password_file=good.pw \
	notify caa-2020 --no-progress 2>&1)
contains "with the right password every notice goes out" "initial: 20 sent, 0 failed" "$out"
expect "each message arrived after AUTH as the configured user" "20 relay-user" \
	"$(cut -f4 mail/index.tsv | sort | uniq -c | awk '{print $1, $2}')"

out=$(CERTRECALL_SMTP_PORT=1 certrecall notify caa-2020 --kind reminder --no-progress 2>&1)
rc=$?
[ "$rc" -ne 0 ] && pass "an unreachable relay fails the run (exit $rc)" || fail "an unreachable relay fails the run" "$out"
contains "and says so" "cannot reach the SMTP relay 127.0.0.1:1" "$out"
expect "before planning anything" 0 "$(db_sql -c "SELECT count(*) FROM notice WHERE kind = 'reminder'")"
finish
