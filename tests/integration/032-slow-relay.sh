#!/usr/bin/env bash
# A relay slower than the lease: the lease is not renewed while a batch is
# sent, so a batch that outlives it could be claimed and sent again by
# another connection.  The sender stops a batch at half its lease (before
# the next message's DATA ends) and leaves the rest to its lease: every
# address gets exactly one message.
. "$(dirname "$0")/lib.sh"
new_db slow
certrecall -q db migrate
certrecall -q incident create --slug slow --title "Slow relay" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
start_smtpd mail || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
cd "$T_TMP" || exit 1
N=8
{
	echo "serial,account,email,names"
	# slow-: the relay answers DATA after one second (tests/smtpd.py).
	for i in $(seq 1 $N); do printf '%x,a%d,slow-%d@example.org,h%d.example\n' $((i + 4096)) "$i" "$i" "$i"; done
} >list.csv
certrecall -q import slow list.csv --no-progress
out=$(CERTRECALL_MAILER_LEASE=2s CERTRECALL_MAILER_BATCH=4 \
	certrecall notify slow --no-progress --connections 2 2>&1)
echo "$out"
contains "the operator is told that a batch outlived half its lease" \
	"longer than half of mailer.lease" "$out"
expect "every notice ends sent" $N "$(db_sql -c "SELECT count(*) FROM notice WHERE state = 'sent'")"
counts=$(/usr/bin/python3 "$ROOT/tests/mailcheck.py" --count mail)
expect "every address got a message" $N "$(wc -l <<<"$counts")"
expect "and none got two" 0 "$(awk '$2 > 1 { n += $2 - 1 } END { print n + 0 }' <<<"$counts")"
finish
