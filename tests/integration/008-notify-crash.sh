#!/usr/bin/env bash
# Crash test: notify is killed with SIGKILL three times at random moments
# during a 5,000-message run and restarted each time.  Every address must
# end with exactly one stored message, except for the duplicates the
# mailer documents (include/certrecall/stage/mailer.h): messages the server
# accepted whose outcome was not committed yet when the worker died, at
# most mailer.commit_group per connection per crash.  Outcomes here are
# committed in groups of 8 with no time limit, so the groups fill up and
# the bound is exercised; each duplicate is printed with its cause.
. "$(dirname "$0")/lib.sh"
new_db crash
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
start_smtpd mail || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_MAILER_LEASE=2s
GROUP=8
export CERTRECALL_MAILER_COMMIT_GROUP=$GROUP CERTRECALL_MAILER_COMMIT_INTERVAL=60s
cd "$T_TMP"
N=5000
CONNECTIONS=4
{
	echo "serial,account,email,names"
	for i in $(seq 1 $N); do printf '%x,a%d,u%d@example.org,h%d.example\n' $((i + 4096)) "$i" "$i" "$i"; done
} >list.csv
certrecall -q import caa-2020 list.csv --no-progress

kills=0
killed_at=()
for round in 1 2 3; do
	set -m
	"$CERTRECALL_BIN" -q notify caa-2020 --no-progress --connections $CONNECTIONS --rate 400 &
	pid=$!
	set +m
	# A random moment while messages are flowing.
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1 + (r % 200) / 100 }')"
	at=$(date +%s.%N)
	if kill -KILL $pid 2>/dev/null; then
		kills=$((kills + 1))
		killed_at+=("$at")
	fi
	wait $pid 2>/dev/null
	echo "round $round: $(ls mail/*.eml | wc -l) stored so far"
done
expect "notify was killed three times mid-run" 3 "$kills"
# The last run takes over the killed runs' 2 s leases, but claims with a
# long one of its own: on a loaded machine a single message can take
# longer than a 2 s lease (see docs/notify.md, "A slow batch"); this test
# is about crashes.
out=$(CERTRECALL_MAILER_LEASE=60s certrecall notify caa-2020 --no-progress --connections $CONNECTIONS 2>&1)
echo "$out"
expect "every notice ends sent" $N "$(db_sql -c "SELECT count(*) FROM notice WHERE state = 'sent'")"
counts=$(/usr/bin/python3 "$ROOT/tests/mailcheck.py" --count mail)
missing=$(( N - $(wc -l <<<"$counts") ))
expect "zero addresses without a message" 0 "$missing"
ndup=$(awk '$2 > 1 { n += $2 - 1 } END { print n + 0 }' <<<"$counts")
# Each duplicate with its cause: first copy accepted before (or as) a
# kill, the next one sent after it by a later run.
if causes=$(/usr/bin/python3 "$ROOT/tests/mailcheck.py" --duplicates mail "${killed_at[@]}"); then
	[ -n "$causes" ] && echo "$causes"
	pass "every duplicate was accepted before a kill and sent again after it"
else
	fail "every duplicate was accepted before a kill and sent again after it" "$causes"
fi
bound=$((kills * CONNECTIONS * GROUP))
if [ "$ndup" -le "$bound" ]; then
	pass "duplicates ($ndup) within the bound of commit_group per connection per crash ($kills x $CONNECTIONS x $GROUP = $bound)"
else
	fail "duplicates ($ndup) within the bound ($bound)" "$(awk '$2 > 1' <<<"$counts")"
fi
finish
