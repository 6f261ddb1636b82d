#!/usr/bin/env bash
# Benchmark: the report of a 2020-sized incident.  In one run, on one
# throwaway cluster: `certrecall report --format csv` (every certificate
# with its verdict and deployment, streamed with COPY) against the peer,
# `psql \copy (SELECT ...) TO` of the same rows from the same query; then
# the full Markdown report (every figure) and the CCADB appendix, timed.
# Prints times, the ratio and certrecall's peak RSS.
#
#   bench/report.sh            N = 3,048,289 (the March 2020 list)
#   N=200000 bench/report.sh   a quicker run
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
bench_incident bench_report
sql() { psql -XAtq "$CERTRECALL_DATABASE" -v ON_ERROR_STOP=1 "$@"; }
echo "loading $N certificates..." >&2
"$bin" -q import caa-2020 "$list" --no-progress
# The 2020 outcome in shape: 56% revoked over the last day before MUST-by
# (1,706,505 of 3,048,289), some late; a scan of every tenth name.
sql -c "UPDATE certificate SET revoked_at = '2020-03-04T03:08:00Z'::timestamptz
	+ (id % 86400) * interval '1 second', revocation_state = 'revoked',
	revocation_reason = 4 WHERE id % 100 < 56"
sql -c "INSERT INTO scan_target (incident_id, name, port, state, round)
	SELECT DISTINCT 1, names[1], 443, 'done', 1 FROM certificate WHERE id % 10 = 0"
sql -c "INSERT INTO observation (target_id, worker, verdict, served_serial, round)
	SELECT t.id, 'bench', CASE WHEN t.id % 3 = 0 THEN 'serving-replacement'
	ELSE 'serving-affected' END, c.serial, 1
	FROM scan_target t JOIN certificate c ON c.names[1] = t.name AND c.id % 10 = 0"
sql -c "VACUUM ANALYZE" -c "CHECKPOINT"

at=2020-03-06T00:00:00Z
must=2020-03-05T03:08:00Z
now() { date +%s.%N; }
t0=$(now)
/usr/bin/time -f '%M' -o "$dir/rss" "$bin" report caa-2020 --format csv --at $at -o "$dir/report.csv"
t1=$(now)
# The same rows from the same query (src/store/report.c), values inlined.
psql -XAtq "$CERTRECALL_DATABASE" -c "\\copy (SELECT encode(c.serial, 'hex'), c.account,
 array_to_string(c.names, ' '),
 to_char(c.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
 to_char(c.not_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
 certificate_verdict(c.revoked_at, c.not_after, '$must', '$at'),
 coalesce(d.deployment, 'not scanned'),
 CASE WHEN c.revoked_at <= '$at' THEN to_char(c.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END,
 CASE WHEN c.revoked_at <= '$at' THEN c.revocation_reason END,
 encode(c.replaced_by, 'hex'), c.source, c.source_line
 FROM certificate c LEFT JOIN incident_deployment(1) d ON d.certificate_id = c.id
 WHERE c.incident_id = 1 ORDER BY c.id) TO '$dir/peer-report.csv' WITH (FORMAT csv)"
t2=$(now)
/usr/bin/time -f '%M' -o "$dir/rss-md" "$bin" report caa-2020 --format md --at $at -o "$dir/report.md"
t3=$(now)
"$bin" report caa-2020 --format ccadb --at $at -o "$dir/ccadb.txt" 2>/dev/null
t4=$(now)

ours=$(echo "$t1 - $t0" | bc -l)
theirs=$(echo "$t2 - $t1" | bc -l)
rows=$(($(wc -l <"$dir/report.csv") - 1))
peer_rows=$(wc -l <"$dir/peer-report.csv")
same=$(tail -n +2 "$dir/report.csv" | cmp -s - "$dir/peer-report.csv" && echo identical || echo DIFFERENT)
printf 'report bench: %d certificates\n' "$N"
printf '  certrecall report --format csv : %7.2f s  (%s rows, peak RSS %d MiB)\n' "$ours" "$rows" $(($(cat "$dir/rss") / 1024))
printf '  psql \\copy (peer)              : %7.2f s  (%s rows, %s)\n' "$theirs" "$peer_rows" "$same"
printf '  ratio                          : %7.2f  (target <= 1.5)\n' "$(echo "$ours / $theirs" | bc -l)"
printf '  report --format md (all figures): %6.2f s  (peak RSS %d MiB)\n' "$(echo "$t3 - $t2" | bc -l)" $(($(cat "$dir/rss-md") / 1024))
printf '  report --format ccadb (crt.sh)  : %6.2f s  (%s lines)\n' "$(echo "$t4 - $t3" | bc -l)" "$(wc -l <"$dir/ccadb.txt")"
scripts/pg.sh stop "$dir/pg"
bench_leftovers
