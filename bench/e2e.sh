#!/usr/bin/env bash
# Benchmark: the whole incident, from the published list to every
# subscriber told, against postfix's smtp-sink on 127.0.0.1.  In one run:
#   ours:  incident create -> import LIST --accounts CONTACTS -> notify
#          --kind initial (default settings) until the sink has accepted
#          one message per distinct address; notify --plan (the
#          forecast) is timed apart;
#   peer:  what the stock tools need for the same work: `psql \copy` of
#          the same certificates into the certificate table's keyed twin,
#          and `smtp-source -d` sending the same number of messages of
#          the same mean size over 8 connections.
# Prints each stage's time, peak RSS, msgs/s, the database size, the
# total, the ratios and the load average; checks that the sink's count
# equals the distinct addresses and that nothing it started is left.
#
# RUNS times over (3 unless set: the issue's figures are medians of 3),
# each on a new database, then the median of each figure and whether it
# meets its target.
#
#   bench/e2e.sh              N = 3,048,289 (the March 2020 list), 3 runs
#   N=300000 RUNS=1 bench/e2e.sh     a quicker run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
bench_own_group "$0" "$@"
cd "$root"
N=${N:-3048289}
SEED=${SEED:-2020}
PORT=${PORT:-25726}
RUNS=${RUNS:-3}
dir=$root/var/bench-e2e
mkdir -p "$dir"
chmod 755 "$root/var" "$dir"
sink=""
# e2e_runs SCRIPT RUNS: the runs, one after the other, each printing its
# table; then the medians against the targets (issue 18) and the check
# that nothing started is left.
e2e_runs() {
	local i status=0 f
	rm -f "$dir"/run.*
	for i in $(seq 1 "$2"); do
		echo "--- run $i of $2"
		E2E_RUN=$dir/run.$i bash "$1" || status=1
	done
	for f in "$dir"/run.*; do [ -s "$f" ] || status=1; done
	e2e_medians "$dir"/run.* || status=1
	bench_leftovers || status=1
	return $status
}
# figure NAME FILES...: NAME's value in each run line
figure() {
	local k=$1
	shift
	cat "$@" | tr ' ' '\n' | sed -n "s/^$k=//p"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
# met VALUE OP BOUND: "met" or "NOT met"
met() { if awk -v v="$1" -v b="$3" "BEGIN { exit !(v $2 b) }"; then echo met; else echo "NOT met"; fi; }
e2e_medians() {
	local n=$# k v
	[ "$n" -gt 0 ] || return 1
	printf 'e2e bench, median of %d runs (load at the starts: %s)\n' "$n" \
		"$(figure load0 "$@" | tr ',' ' ' | awk '{ print $1 }' | paste -sd' ')"
	printf '  %-34s %10s %-16s %-12s %s\n' figure median runs target ""
	for k in "import_x:import / psql \\copy:<=:1.0" "notify_x:notify / smtp-source:>=:0.5" \
		"halves:2nd half / 1st half msg/s:>=:0.9" "rss:notify peak RSS (MiB):<=:256" "total:list -> all told (s):<=:180" \
		"plan:notify --plan (s):<=:10" "import:import (s)::" "notify:notify (s)::" \
		"rate:notify msg/s::"; do
		IFS=: read -r key label op bound <<<"$k"
		if ! figure "$key" "$@" | grep -q '^[0-9.]'; then
			printf '  %-34s %10s\n' "$label" "n/a"
			continue
		fi
		v=$(figure "$key" "$@" | grep '^[0-9.]' | median)
		if [ -n "$op" ]; then
			printf '  %-34s %10.2f %-16s %-12s %s\n' "$label" "$v" \
				"$(figure "$key" "$@" | grep '^[0-9.]' | range)" "$op $bound" "$(met "$v" "$op" "$bound")"
		else
			printf '  %-34s %10.2f %-16s\n' "$label" "$v" "$(figure "$key" "$@" | grep '^[0-9.]' | range)"
		fi
	done
}
cleanup() {
	[ -n "$sink" ] && kill "$sink" 2>/dev/null && wait "$sink" 2>/dev/null
	[ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null
	scripts/pg.sh stop "$dir/pg" >/dev/null 2>&1 || true
}
if [ -z "${E2E_RUN:-}" ]; then
	e2e_runs "$0" "$RUNS"
	exit
fi
trap cleanup EXIT

bench_list "$N" "$SEED"
contacts=$dir/contacts-$N-$SEED.csv
[ -s "$contacts" ] || "$dir/gen_le2020" "$N" "$SEED" /dev/null "$contacts" >/dev/null
addresses=$(awk -F, 'NR > 1 && $2 != "" { a[$2] = 1 } END { print length(a) }' "$contacts")

# pg_stat_statements for the notes in docs/notify.md (var/bench-e2e/pgss-*.txt).
export CERTRECALL_PG_PRELOAD=pg_stat_statements
conn=$(scripts/pg.sh start "$dir/pg")
admin="${conn% dbname=*} dbname=postgres"
psql -XAtq "$admin" -c "DROP DATABASE IF EXISTS e2e WITH (FORCE)" -c "CREATE DATABASE e2e"
export CERTRECALL_DATABASE="${conn% dbname=*} dbname=e2e"
bin=$root/build/certrecall
"$bin" -q db migrate
pgss=0
psql -XAtq "$CERTRECALL_DATABASE" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" 2>/dev/null && pgss=1
psql -XAtq "$CERTRECALL_DATABASE" -c "CREATE TABLE peer_certificate (LIKE certificate INCLUDING ALL)" -c CHECKPOINT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
rss() { echo $(($(head -1 "$dir/rss.$1") / 1024)); }
cpu() { sed -n 2p "$dir/rss.$1"; }
pgss_dump() {
	[ "$pgss" -eq 1 ] || return 0
	psql -XAq "$CERTRECALL_DATABASE" -c "SELECT calls, round(total_exec_time) AS ms,
		round(mean_exec_time::numeric, 2) AS mean_ms, rows,
		shared_blks_hit + shared_blks_read AS blks, left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12" >"$dir/pgss-$1.txt"
	psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT pg_stat_statements_reset()" >/dev/null
}
# CPU seconds (user + system) used so far by process $1 and by its
# children, ended (reaped) or alive: for the PostgreSQL cluster, the
# postmaster's pid gives every backend's time.
tree_cpu() {
	local tck=$(getconf CLK_TCK) kids
	kids=$(ps -o pid= --ppid "$1" | tr -d ' ' | sed 's,^,/proc/,; s,$,/stat,')
	# shellcheck disable=SC2086
	cat "/proc/$1/stat" $kids 2>/dev/null | awk -v t="$tck" '
		{ sub(/^.*\) /, ""); s += $12 + $13; if (NR == 1) s += $14 + $15 }
		END { printf "%.2f", s / t }'
}
pg_pid() { head -1 "$dir/pg/data/postmaster.pid"; }
sink_count() { tr '\r' '\n' <"$dir/sink.out" | tail -1 | sed -n 's/.*mesg=\([0-9]*\).*/\1/p'; }
sink_user=(); [ "$(id -u)" -eq 0 ] && sink_user=(-u nobody)
sink_start() {
	/usr/sbin/smtp-sink "${sink_user[@]}" -c 127.0.0.1:$PORT 1024 >"$dir/sink.out" &
	sink=$!
	sleep 0.3
}
sink_stop() { kill "$sink"; wait "$sink" 2>/dev/null || true; sink=""; }
# The sink's count every half second while notify sends ("seconds
# since T count" lines), for the rate of each half of the messages.
sampler=""
sampler_start() {
	local t0=$1
	while sleep 0.5; do echo "$(since "$t0") $(sink_count)"; done >"$dir/sink.samples" &
	sampler=$!
}
sampler_stop() { kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""; }
# halves COUNT ELAPSED: "first-half-rate second-half-rate" in msg/s, the
# half-way time read off the samples (the first one at or past COUNT/2).
halves() {
	awk -v n="$1" -v end="$2" '$2 >= n / 2 && !h { h = $1 }
		END { if (h > 0 && end > h && NR >= 4) printf "%.0f %.0f", (n / 2) / h, (n - n / 2) / (end - h); else print "- -" }' \
		"$dir/sink.samples"
}
# until the sink has counted $1 messages (or 60 s more)
sink_wait() {
	for _ in $(seq 1 600); do
		[ "$(sink_count)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
export CERTRECALL_SMTP_HOST=127.0.0.1 CERTRECALL_SMTP_PORT=$PORT
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

[ "$pgss" -eq 1 ] && psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT pg_stat_statements_reset()" >/dev/null
T=$(now)
t=$(now)
/usr/bin/time -f '%M' -o "$dir/rss.create" "$bin" -q incident create --slug caa-2020 \
	--title "CAA rechecking bug" --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
s_create=$(since "$t")
t=$(now)
/usr/bin/time -f '%M' -o "$dir/rss.import" "$bin" -q import caa-2020 "$list" \
	--accounts "$contacts" --no-progress
s_import=$(since "$t")
pgss_dump import
sink_start
t=$(now)
sampler_start "$t"
pg0=$(tree_cpu "$(pg_pid)")
/usr/bin/time -f '%M\n%U+%S' -o "$dir/rss.notify" "$bin" notify caa-2020 --kind initial \
	--no-progress 2>"$dir/notify.log"
s_sent=$(since "$t")
ok_sink=yes
sink_wait "$addresses" || ok_sink=no
s_notify=$(since "$t")
sampler_stop
s_total=$(since "$T")
got=$(sink_count)
c_pg=$(echo "$(tree_cpu "$(pg_pid)") - $pg0" | bc -l)
c_sink=$(tree_cpu "$sink")
sink_stop
pgss_dump notify
# The forecast on the same incident: every initial notice exists now, so
# it is timed on a second incident with the same list and contacts.
"$bin" -q incident create --slug again --title "same list" --reason v1.6.7:5d-7 \
	--aware-at 2020-02-29T03:08:00Z
"$bin" -q import again "$list" --accounts "$contacts" --no-progress
t=$(now)
/usr/bin/time -f '%M' -o "$dir/rss.plan" "$bin" notify again --plan >"$dir/plan.txt"
s_plan=$(since "$t")
pgss_dump plan
dbsize=$(psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
bytes=$(psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT coalesce(round(avg(bytes)), 3000) FROM notice WHERE state = 'sent'")
largest=$(psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT coalesce(max(bytes), 0) FROM notice WHERE state = 'sent'")

# The peer, same run, same cluster and sink.
psql -XAtq "$CERTRECALL_DATABASE" -c CHECKPOINT
t=$(now)
/usr/bin/time -f '%M' -o "$dir/rss.copy" psql -XAtq "$CERTRECALL_DATABASE" -c "\\copy peer_certificate (incident_id, serial, account, caa_checked_at, names, source, source_line) FROM '$peer' WITH (FORMAT csv)"
p_copy=$(since "$t")
sink_start
t=$(now)
/usr/bin/time -f '%M\n%U+%S' -o "$dir/rss.source" /usr/sbin/smtp-source -d -s 8 -l "$bytes" -m "$got" \
	-f bench@ca.example -t subscriber@example.org 127.0.0.1:$PORT
p_send=$(since "$t")
p_sink=$(tree_cpu "$sink")
sink_stop
load1=$(cut -d' ' -f1-3 /proc/loadavg)

rate() { echo "$1 / $2" | bc -l; }
printf 'e2e bench: %d lines, %s distinct addresses (load %s at start, %s at end)\n' \
	"$N" "$addresses" "$load0" "$load1"
printf '  %-40s %9s %9s %s\n' stage seconds 'RSS MiB' note
printf '  %-40s %9.2f %9d\n' "incident create" "$s_create" "$(rss create)"
printf '  %-40s %9.2f %9d %s\n' "import list --accounts" "$s_import" "$(rss import)" \
	"$(printf '%.2f x psql \\copy' "$(echo "$s_import / $p_copy" | bc -l)")"
printf '  %-40s %9.2f %9d %s\n' "notify --kind initial (until sink has all)" "$s_notify" "$(rss notify)" \
	"$(printf '%d sent, %.0f msg/s, %s bytes mean, %s largest, CPU %s s' "$got" "$(rate "$got" "$s_notify")" "$bytes" "$largest" "$(cpu notify)")"
read -r half1 half2 <<<"$(halves "$got" "$s_notify")"
if [ "$half1" = - ]; then
	halfx=-
	halfnote="too short to sample (the sink is counted every 0.5 s)"
else
	halfx=$(echo "$half2 / $half1" | bc -l)
	halfnote=$(printf '%s msg/s, %s msg/s (second / first %.2f; the sink counted every 0.5 s)' "$half1" "$half2" "$halfx")
fi
printf '  %-40s %9s %9s %s\n' "  first half, second half of the messages" "" "" "$halfnote"
printf '  %-40s %9.2f\n' "total, list -> all told" "$s_total"
printf '  %-40s %9.2f %9d %s\n' "notify --plan (forecast, apart)" "$s_plan" "$(rss plan)" "$(sed -n 2p "$dir/plan.txt" | tr -s ' ')"
printf '  %-40s %9.2f %9d\n' "peer: psql \\copy into the keyed twin" "$p_copy" "$(rss copy)"
printf '  %-40s %9.2f %9d %s\n' "peer: smtp-source -d -s 8 -m $got" "$p_send" "$(rss source)" \
	"$(printf '%.0f msg/s' "$(rate "$got" "$p_send")")"
# The CPU the sending took on this machine's cores, ours and the peer's.
printf '  CPU of the sending (s): notify %s, PostgreSQL %.1f, smtp-sink %s = %.1f over %.1f s;' \
	"$(cpu notify)" "$c_pg" "$c_sink" "$(echo "$(cpu notify) + $c_pg + $c_sink" | bc -l)" "$s_notify"
printf ' smtp-source %s, smtp-sink %s = %.1f over %.1f s (%d cores)\n' \
	"$(cpu source)" "$p_sink" "$(echo "$(cpu source) + $p_sink" | bc -l)" "$p_send" "$(nproc)"
printf '  notify / smtp-source throughput: %.2f (target >= 0.5); total target <= 180 s; database %s\n' \
	"$(echo "($got / $s_notify) / ($got / $p_send)" | bc -l)" "$dbsize"
# One line for the summary of the runs (e2e_runs).
printf 'import=%s import_x=%s notify=%s rate=%s notify_x=%s halves=%s rss=%s total=%s plan=%s load0=%s load1=%s db=%s\n' \
	"$s_import" "$(echo "$s_import / $p_copy" | bc -l)" "$s_notify" "$(rate "$got" "$s_notify")" \
	"$(echo "$p_send / $s_notify" | bc -l)" "$halfx" \
	"$(rss notify)" "$s_total" "$s_plan" \
	"${load0// /,}" "${load1// /,}" "${dbsize// /}" >"$E2E_RUN"
status=0
if [ "$ok_sink" != yes ] || [ "$got" != "$addresses" ]; then
	echo "  FAIL: the sink counted $got messages, want $addresses (one per distinct address)"
	status=1
fi
cleanup
trap - EXIT
exit $status
