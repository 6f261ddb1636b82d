#!/usr/bin/env bash
# Benchmark: `certrecall import` of a 2020-sized affected list against the
# database's own bulk path, `psql \copy` of the same certificates
# pre-normalised to CSV into an equivalent table, on the same throwaway
# cluster in the same run.  Prints both times, the ratio and certrecall's
# peak RSS, and the CPU each side used (client and server processes; on a
# shared, loaded machine the wall times swing with the neighbours, the
# CPU seconds much less).
#
#   bench/import.sh            N = 3,048,289 (the March 2020 list)
#   N=100000 bench/import.sh   a quicker run
#   BIN=path bench/import.sh   time another build of certrecall (old
#                              against new, alternating, on a busy day)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
bench_own_group "$0" "$@"
cd "$root"
N=${N:-3048289}
SEED=${SEED:-2020}
dir=$root/var/bench
mkdir -p "$dir"
chmod 755 "$root/var" "$dir"

bench_list "$N" "$SEED"
echo "list: $(du -h "$list" | cut -f1), $(wc -l <"$list") lines" >&2
bench_incident bench
bin=${BIN:-$bin}
# The peer's table: certificate's twin (columns, defaults, CHECKs, keys).
psql -XAtq "$CERTRECALL_DATABASE" -c "CREATE TABLE peer_certificate
	(LIKE certificate INCLUDING ALL)"
# No autovacuum worker may spend its CPU inside the other side's window.
psql -XAtq "$CERTRECALL_DATABASE" \
	-c "ALTER TABLE certificate SET (autovacuum_enabled = off)" \
	-c "ALTER TABLE peer_certificate SET (autovacuum_enabled = off)"
psql -XAtq "$CERTRECALL_DATABASE" -c "CHECKPOINT"

now() { date +%s.%N; }
# server_cpu: clock ticks the cluster has used so far: the postmaster,
# the backends it has reaped, and the processes still running.
postmaster=$(head -1 "$dir/pg/data/postmaster.pid")
server_cpu() {
	local f stat t=0
	read -r -a stat <"/proc/$postmaster/stat"
	t=$((stat[13] + stat[14] + stat[15] + stat[16]))
	for f in /proc/[0-9]*/stat; do
		{ read -r -a stat <"$f"; } 2>/dev/null || continue
		[ "${stat[3]}" = "$postmaster" ] && t=$((t + stat[13] + stat[14]))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)
c0=$(server_cpu)
t0=$(now)
/usr/bin/time -f '%M %U %S' -o "$dir/rss" "$bin" import caa-2020 "$list" --no-progress
t1=$(now)
sleep 1 # the backend has exited and been reaped
c1=$(server_cpu)
psql -XAtq "$CERTRECALL_DATABASE" -c "CHECKPOINT"
c2=$(server_cpu)
t2=$(now)
/usr/bin/time -f '%M %U %S' -o "$dir/peer-cpu" psql -XAtq "$CERTRECALL_DATABASE" -c "\\copy peer_certificate (incident_id, serial, account, caa_checked_at, names, source, source_line) FROM '$peer' WITH (FORMAT csv)"
t3=$(now)
sleep 1
c3=$(server_cpu)

ours=$(echo "$t1 - $t0" | bc -l)
theirs=$(echo "$t3 - $t2" | bc -l)
rows=$(psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT count(*) FROM certificate")
peer_rows=$(psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT count(*) FROM peer_certificate")
read -r rss_kb ours_u ours_s <"$dir/rss"
read -r _ peer_u peer_s <"$dir/peer-cpu"
ours_cpu=$(echo "$ours_u + $ours_s + ($c1 - $c0) / $hz" | bc -l)
peer_cpu=$(echo "$peer_u + $peer_s + ($c3 - $c2) / $hz" | bc -l)
printf 'import bench: %d lines\n' "$N"
printf '  certrecall import : %8.2f s  (%s rows, peak RSS %d MiB)\n' "$ours" "$rows" $((rss_kb / 1024))
printf '  psql \\copy (peer) : %8.2f s  (%s rows)\n' "$theirs" "$peer_rows"
printf '  ratio             : %8.2f  (target <= 1.0; RSS target <= 64 MiB)\n' "$(echo "$ours / $theirs" | bc -l)"
printf '  CPU, client + server: certrecall %.1f s (%.1f + %.1f), \\copy %.1f s (%.1f + %.1f), ratio %.2f\n' \
	"$ours_cpu" "$(echo "$ours_u + $ours_s" | bc -l)" "$(echo "($c1 - $c0) / $hz" | bc -l)" \
	"$peer_cpu" "$(echo "$peer_u + $peer_s" | bc -l)" "$(echo "($c3 - $c2) / $hz" | bc -l)" \
	"$(echo "$ours_cpu / $peer_cpu" | bc -l)"
scripts/pg.sh stop "$dir/pg"
bench_leftovers
