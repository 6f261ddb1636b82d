#!/usr/bin/env bash
# Benchmark: notices per second, end to end, against postfix's smtp-sink
# on 127.0.0.1.  In one run:
#   peer:  smtp-source -d (connections reused) sends N messages of ~3 KB
#          over C connections; it composes nothing and records nothing,
#          so it is the practical ceiling of the sink;
#   ours:  certrecall notify sends N notices (claim, compose, send, commit
#          state) over the same C connections.
# Prints both rates and the ratio.  Targets: >= 1,000 notices/s, and
# >= 0.25 x smtp-source's rate.  RTT_MS puts bench/delayproxy.py between
# both clients and the sink, so each round trip costs that long, as to a
# relay across a network (loopback has none).
#   N=100000 C=8 bench/mail.sh
#   N=5000 RTT_MS=10 bench/mail.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
bench_own_group "$0" "$@"
cd "$root"
N=${N:-100000}
C=${C:-8}
PORT=${PORT:-25725}
RTT_MS=${RTT_MS:-0}
dir=$root/var/bench-mail
mkdir -p "$dir"
chmod 755 "$root/var" "$dir"

# smtp-sink refuses to run as root without a user to switch to.
sink_user=(); [ "$(id -u)" -eq 0 ] && sink_user=(-u nobody)
/usr/sbin/smtp-sink "${sink_user[@]}" 127.0.0.1:$PORT 1024 &
sink=$!
proxy=
to=$PORT
if [ "$RTT_MS" != 0 ]; then
	to=$((PORT + 1))
	/usr/bin/python3 bench/delayproxy.py --listen "$to" --to "$PORT" --rtt-ms "$RTT_MS" &
	proxy=$!
fi
trap 'kill $sink $proxy 2>/dev/null; scripts/pg.sh stop "$dir/pg" >/dev/null 2>&1 || true' EXIT
sleep 0.5

now() { date +%s.%N; }
t0=$(now)
/usr/sbin/smtp-source -d -s "$C" -l 3000 -m "$N" -f bench@ca.example \
	-t subscriber@example.org 127.0.0.1:$to
t1=$(now)
peer=$(echo "$N / ($t1 - $t0)" | bc -l)

conn=$(scripts/pg.sh start "$dir/pg")
admin="${conn% dbname=*} dbname=postgres"
psql -XAtq "$admin" -c "DROP DATABASE IF EXISTS benchmail WITH (FORCE)" -c "CREATE DATABASE benchmail"
export CERTRECALL_DATABASE="${conn% dbname=*} dbname=benchmail"
export CERTRECALL_SMTP_HOST=127.0.0.1 CERTRECALL_SMTP_PORT=$to
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
bin=build/certrecall
"$bin" -q db migrate
"$bin" -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
awk -v n="$N" 'BEGIN {
	print "serial,account,email,names,not_after"
	for (i = 1; i <= n; i++)
		printf "%x,acct-%d,owner%d@example.org,\"www.site%d.example;site%d.example\",2020-05-01\n", i + 65536, i, i, i, i
}' >"$dir/list.csv"
"$bin" -q import caa-2020 "$dir/list.csv" --no-progress
t2=$(now)
"$bin" notify caa-2020 --connections "$C" --no-progress
t3=$(now)
sent=$(psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT count(*) FROM notice WHERE state = 'sent'")
# the rate of what the relay accepted, not of what was attempted
ours=$(echo "$sent / ($t3 - $t2)" | bc -l)
size=$(psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT round(avg(bytes)) FROM notice WHERE state = 'sent'")
printf 'mail bench: %d messages over %d connections to smtp-sink%s (load %s)\n' "$N" "$C" \
	"$([ "$RTT_MS" != 0 ] && echo ", $RTT_MS ms a round trip")" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  smtp-source -d (peer)   : %8.0f msg/s  (3000-byte messages)\n' "$peer"
printf '  certrecall notify       : %8.0f notices/s end to end (%s sent, %s bytes each)\n' "$ours" "$sent" "$size"
printf '  ratio                   : %8.2f  (target >= 0.25, and >= 1000 notices/s)\n' "$(echo "$ours / $peer" | bc -l)"
# Stop what the run started, then check that nothing is left.
eval "$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT$//")"
trap - EXIT
bench_leftovers
