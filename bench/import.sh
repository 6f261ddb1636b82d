#!/usr/bin/env bash
# Benchmark: `certrecall import` of a 2020-sized affected list against the
# database's own bulk path, `psql \copy` of the same certificates
# pre-normalised to CSV into an equivalent table, on the same throwaway
# cluster in the same run.  Prints both times, the ratio and certrecall's
# peak RSS.
#
#   bench/import.sh            N = 3,048,289 (the March 2020 list)
#   N=100000 bench/import.sh   a quicker run
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
# The peer's table: certificate's twin (columns, defaults, CHECKs, keys).
psql -XAtq "$CERTRECALL_DATABASE" -c "CREATE TABLE peer_certificate
	(LIKE certificate INCLUDING ALL)"
psql -XAtq "$CERTRECALL_DATABASE" -c "CHECKPOINT"

now() { date +%s.%N; }
t0=$(now)
/usr/bin/time -f '%M' -o "$dir/rss" "$bin" import caa-2020 "$list" --no-progress
t1=$(now)
psql -XAtq "$CERTRECALL_DATABASE" -c "CHECKPOINT"
t2=$(now)
psql -XAtq "$CERTRECALL_DATABASE" -c "\\copy peer_certificate (incident_id, serial, account, caa_checked_at, names, source, source_line) FROM '$peer' WITH (FORMAT csv)"
t3=$(now)

ours=$(echo "$t1 - $t0" | bc -l)
theirs=$(echo "$t3 - $t2" | bc -l)
rows=$(psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT count(*) FROM certificate")
peer_rows=$(psql -XAtq "$CERTRECALL_DATABASE" -c "SELECT count(*) FROM peer_certificate")
rss_kb=$(cat "$dir/rss")
printf 'import bench: %d lines\n' "$N"
printf '  certrecall import : %8.2f s  (%s rows, peak RSS %d MiB)\n' "$ours" "$rows" $((rss_kb / 1024))
printf '  psql \\copy (peer) : %8.2f s  (%s rows)\n' "$theirs" "$peer_rows"
printf '  ratio             : %8.2f  (target <= 1.5; RSS target <= 64 MiB)\n' "$(echo "$ours / $theirs" | bc -l)"
scripts/pg.sh stop "$dir/pg"
bench_leftovers
