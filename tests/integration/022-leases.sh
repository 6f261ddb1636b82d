#!/usr/bin/env bash
# notify's leases against a real SMTP server (aiosmtpd): a run that stops
# on an error gives its claimed notices back at once, and a run that has
# to wait for another worker's leases says so, once, instead of waiting
# in silence.  mailer.lease stays at its default (10 minutes): a run that
# waited for a lease would hit the timeouts below.
. "$(dirname "$0")/lib.sh"
new_db leases
certrecall -q db migrate
certrecall -q incident create --slug lease --title "lease test" \
	--reason 5d-7 --aware-at 2020-02-29T03:08:00Z
start_smtpd mail || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
cd "$T_TMP"
claimed() { db_sql -c "SELECT count(*) FROM notice_queue WHERE state = 'claimed'"; }

{
	echo "serial,account,email,names"
	for i in $(seq 1 40); do printf '%x,a-%d,u%d@example.org,h%d.example\n' $((i + 4096)) "$i" "$i" "$i"; done
} >list.csv
certrecall -q import lease list.csv --no-progress

# The case as it was seen: mailer.from without a domain.  Refused before
# anything is claimed, as the configuration error it is.
out=$(CERTRECALL_MAILER_FROM=revocations timeout 60 "$CERTRECALL_BIN" notify lease --no-progress 2>&1)
rc=$?
expect "a mailer.from without a domain is a configuration error (78)" 78 "$rc"
contains "which names the setting" 'mailer.from "revocations"' "$out"
expect "nothing is left claimed" 0 "$(claimed)"
out=$(timeout 60 "$CERTRECALL_BIN" notify lease --no-progress 2>&1)
expect "the corrected run does not wait for a lease" 0 "$?"
contains "and sends every notice" "40 sent, 0 failed" "$out"
expect "one message per address" 40 "$(ls mail/*.eml | wc -l)"

# A run that stops after it claimed: one notice the composer refuses (an
# address written straight into the database, past the importer's
# checks) stops the run; its connection's other notices were claimed with
# it and go back to the queue before it exits.
certrecall -q incident create --slug stop --title "stop test" \
	--reason 5d-7 --aware-at 2020-02-29T03:08:00Z
{
	echo "serial,account,email,names"
	for i in $(seq 1 30); do printf '%x,s-%d,s%d@example.org,s%d.example\n' $((i + 8192)) "$i" "$i" "$i"; done
} >stop.csv
certrecall -q import stop stop.csv --no-progress
db_sql -c "UPDATE subscriber SET emails = '{\"bad address@@example.org\"}' WHERE account = 's-1'"
out=$(timeout 60 "$CERTRECALL_BIN" notify stop --kind initial --no-progress --connections 1 2>&1)
expect "the run stops on the notice it cannot compose: data, not temporary (65)" 65 "$?"
contains "it says what it gave back" "notices claimed by this run returned to the queue" "$out"
expect "nothing is left claimed" 0 "$(claimed)"
db_sql -c "UPDATE subscriber SET emails = '{s1@example.org}' WHERE account = 's-1'"
db_sql -c "UPDATE notice SET address = 's1@example.org' WHERE address = 'bad address@@example.org'"
start=$(date +%s)
out=$(timeout 60 "$CERTRECALL_BIN" notify stop --no-progress 2>&1)
expect "the next run does not wait for the stopped run's leases" 0 "$?"
contains "and sends them all" "30 sent, 0 failed" "$out"
[ $(($(date +%s) - start)) -lt 30 ] && pass "promptly" || fail "promptly" "took $(($(date +%s) - start)) s"

# Another worker's live leases: the run says whose and until when, once,
# shows progress while it waits, and sends them when the lease ends.
certrecall -q incident create --slug wait --title "wait test" \
	--reason 5d-7 --aware-at 2020-02-29T03:08:00Z
{
	echo "serial,account,email,names"
	for i in $(seq 1 25); do printf '%x,w-%d,w%d@example.org,w%d.example\n' $((i + 12288)) "$i" "$i" "$i"; done
} >wait.csv
certrecall -q import wait wait.csv --no-progress
# Plan the notices, then lease 12 of them to a worker on another host for
# 10 seconds, as its run would (progress is logged every 5 s).
out=$(certrecall notify wait --limit 1 --no-progress 2>&1)
contains "one is sent to plan the rest" "1 sent" "$out"
db_sql -c "UPDATE notice_queue SET state = 'claimed', worker = 'other-host:4242',
	lease_until = now() + interval '10 seconds'
	WHERE notice_id IN (SELECT notice_id FROM notice_queue
	 WHERE incident_id = (SELECT id FROM incident WHERE slug = 'wait')
	 ORDER BY notice_id LIMIT 12)"
start=$(date +%s)
out=$(timeout 60 "$CERTRECALL_BIN" notify wait 2>&1)
rc=$?
took=$(($(date +%s) - start))
expect "the waiting run ends well" 0 "$rc"
contains "it says whose leases it waits for and until when" \
	"12 notices leased by other-host:4242 until " "$out"
expect "once" 1 "$(grep -c 'notices leased by' <<<"$out")"
contains "and that it waits" "; waiting" "$out"
contains "progress says it is waiting" "waiting for 12 leased" "$out"
contains "all are sent once the lease ends" "24 sent, 0 failed" "$out"
[ "$took" -ge 4 ] && pass "it waited for the lease (${took} s)" || fail "it waited for the lease" "took $took s"
out=$(certrecall notify wait --no-wait --no-progress 2>&1)
contains "a second run finds nothing" "0 sent" "$out"

# --no-wait: says what it leaves to the other worker and does not wait.
certrecall -q incident create --slug nowait --title "no-wait test" \
	--reason 5d-7 --aware-at 2020-02-29T03:08:00Z
printf 'serial,account,email,names\n7001,n-1,n1@example.org,n1.example\n7002,n-2,n2@example.org,n2.example\n' >nw.csv
certrecall -q import nowait nw.csv --no-progress
certrecall -q notify nowait --limit 1 --no-progress
db_sql -c "UPDATE notice_queue SET state = 'claimed', worker = 'other-host:4243',
	lease_until = now() + interval '10 minutes'
	WHERE incident_id = (SELECT id FROM incident WHERE slug = 'nowait')"
out=$(timeout 30 "$CERTRECALL_BIN" notify nowait --no-wait --no-progress 2>&1)
expect "--no-wait does not wait" 0 "$?"
contains "and says what it leaves" "1 notice leased by other-host:4243 until " "$out"
contains "to the other worker" "not waiting (--no-wait)" "$out"

finish
