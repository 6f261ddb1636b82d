#!/usr/bin/env bash
# 5,000 probes into a tarpit (accepts, never answers): every one ends as a
# handshake timeout within connect_timeout + handshake_timeout + 1 s of its
# start (the tarpit accepts 5,000 connections at its own pace), and the
# scanning process's open files are back to their starting count.
. "$(dirname "$0")/lib.sh"
D=$T_TMP/tarpit
mkdir -p "$D"
DNS=$((20000 + RANDOM % 20000))
FP=$((DNS + 1))
cleanup() {
	[ -f "$D/dnsmasq.pid" ] && kill "$(cat "$D/dnsmasq.pid")" 2>/dev/null
	[ -n "${faults:-}" ] && kill "$faults" 2>/dev/null
}
trap cleanup EXIT
/usr/sbin/dnsmasq --port="$DNS" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --local=/test/ --address=/tarpit.test/127.0.1.1 \
	--pid-file="$D/dnsmasq.pid" --user=root --group=root
/usr/bin/python3 "$ROOT/tests/tlsfaults.py" --dir "$D" --port "$FP" >"$D/faults.log" 2>&1 &
faults=$!
for _ in $(seq 1 300); do [ -f "$D/ready" ] && break; sleep 0.1; done

new_db tarpit
certrecall -q db migrate
certrecall -q incident create --slug t --title t --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
awk 'BEGIN { print "serial,names"; for (i = 1; i <= 5000; i++) printf "%x,t%d.tarpit.test\n", i + 4096, i }' >"$D/list.csv"
certrecall -q import t "$D/list.csv" --no-progress
start=$(date +%s)
out=$(certrecall -v --set scanner.dns_servers=127.0.0.1:$DNS --set scanner.ports=$FP \
	--set scanner.allow=127.0.0.0/8 --set scanner.ipv6=false \
	--set scanner.concurrency=5000 --set scanner.per_ip=5000 \
	--set scanner.connect_timeout=2s --set scanner.handshake_timeout=2s \
	scan t --procs 1 --no-progress 2>&1)
took=$(($(date +%s) - start))
contains "all 5,000 probed, none answered" "scan: 5000 of 5000 targets probed: 0 answered, 5000 failed, 0 filtered; 5000 results" "$out"
contains "and the run says why" "5000 of 5000 failed with timeout" "$out"
expect "every probe is a handshake timeout" "timeout|5000" \
	"$(db_sql -c "SELECT verdict, count(*) FROM observation GROUP BY 1")"
expect "none took longer than connect + handshake timeout + 1 s" 0 \
	"$(db_sql -c "SELECT count(*) FROM observation WHERE elapsed_ms > 5000")"
if [ "$took" -lt 30 ]; then pass "the run ends promptly (${took} s)"; else fail "the run ends promptly" "${took} s"; fi
files=$(grep -o '[0-9]* open files before, [0-9]* after' <<<"$out")
before=${files%% *}
after=${files##*, }
after=${after%% *}
if [ -n "$before" ] && [ "$before" = "$after" ]; then
	pass "open files are back to their starting count ($files)"
else
	fail "open files are back to their starting count" "$files"
fi
finish
