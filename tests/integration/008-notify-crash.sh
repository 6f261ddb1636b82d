#!/usr/bin/env bash
# Crash test: notify is killed with SIGKILL three times at random moments
# during a 5,000-message run and restarted each time.  Every address must
# end with exactly one stored message; the only duplicates allowed are
# messages the server accepted in the instant before their commit, at most
# one per connection per crash.
. "$(dirname "$0")/lib.sh"
new_db crash
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
start_smtpd mail || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_MAILER_LEASE=2s
cd "$T_TMP"
N=5000
CONNECTIONS=4
{
	echo "serial,account,email,names"
	for i in $(seq 1 $N); do printf '%x,a%d,u%d@example.org,h%d.example\n' $((i + 4096)) "$i" "$i" "$i"; done
} >list.csv
certrecall -q import caa-2020 list.csv --no-progress

kills=0
for round in 1 2 3; do
	set -m
	"$CERTRECALL_BIN" -q notify caa-2020 --no-progress --connections $CONNECTIONS --rate 400 &
	pid=$!
	set +m
	# A random moment while messages are flowing.
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1 + (r % 200) / 100 }')"
	if kill -KILL $pid 2>/dev/null; then
		kills=$((kills + 1))
	fi
	wait $pid 2>/dev/null
	echo "round $round: $(ls mail/*.eml | wc -l) stored so far"
done
expect "notify was killed three times mid-run" 3 "$kills"
out=$(certrecall notify caa-2020 --no-progress --connections $CONNECTIONS 2>&1)
echo "$out"
expect "every notice ends sent" $N "$(db_sql -c "SELECT count(*) FROM notice WHERE state = 'sent'")"
counts=$(/usr/bin/python3 "$ROOT/tests/mailcheck.py" --count mail)
missing=$(( N - $(wc -l <<<"$counts") ))
expect "zero addresses without a message" 0 "$missing"
dups=$(awk '$2 > 1' <<<"$counts")
ndup=$(awk '$2 > 1 { n += $2 - 1 } END { print n + 0 }' <<<"$counts")
bound=$((kills * CONNECTIONS))
if [ -n "$dups" ]; then
	# Each duplicate: the server stored it, then the worker died before
	# committing "sent"; the lease expired and another run sent it again.
	while read -r addr n files; do
		echo "duplicate: $addr received $n copies (stored as $files):" \
			"accepted by the server in the instant before the commit of a killed worker"
	done <<<"$dups"
fi
if [ "$ndup" -le "$bound" ]; then
	pass "duplicates ($ndup) within the bound of one per connection per crash ($bound)"
else
	fail "duplicates ($ndup) within the bound ($bound)" "$dups"
fi
finish
