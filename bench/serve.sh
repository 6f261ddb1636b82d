#!/usr/bin/env bash
# Benchmark: `certrecall serve` answering ARI for random certIDs of a
# large incident, against nginx serving a static JSON file of the same
# size (the ceiling for one HTTP answer on this machine), with wrk, in the
# same run.  Prints both rates, the ratio, p99 latencies and serve's peak
# RSS.
#
#   bench/serve.sh                   N = 3,048,289 certificates (2020)
#   N=300000 bench/serve.sh          a quicker run
#   IDS=100000 DURATION=20s CONNS=64 THREADS=2   the load (wrk)
#   SERVE_THREADS=4                              serve.threads (its default)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${N:-3048289}
SEED=${SEED:-2020}
IDS=${IDS:-100000}
DURATION=${DURATION:-20s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-28080}
SERVE_THREADS=${SERVE_THREADS:-4}
NGINX_PORT=${NGINX_PORT:-28081}
dir=$root/var/bench
mkdir -p "$dir"
chmod 755 "$root/var" "$dir"

. bench/lib.sh
bench_list "$N" "$SEED"
bench_incident bench_serve
export CERTRECALL_CLOCK=2020-03-01T00:00:00Z
"$bin" -q import caa-2020 "$list" --no-progress
# An issuing CA with a key identifier: add-issuer links every
# certificate, and migration 019's trigger stores its AKI.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$dir/serve-ca.key" -out "$dir/serve-ca.pem" -days 3650 \
	-subj "/CN=bench CA" 2>/dev/null
"$bin" -q incident add-issuer caa-2020 "$dir/serve-ca.pem"
psql -XAtq "$CERTRECALL_DATABASE" -c "VACUUM ANALYZE certificate"
"$bin" -q export-ari caa-2020 -o "$dir/ari.jsonl"
sed 's/^{"certID":"\([^"]*\)".*/\1/' "$dir/ari.jsonl" | shuf -n "$IDS" --random-source=<(yes) \
	>"$dir/certids"
echo "incident: $(wc -l <"$dir/ari.jsonl") certIDs; $(wc -l <"$dir/certids") random ones requested" >&2

# wrk: each request a random certID of the list.
cat >"$dir/ari.lua" <<LUA
local ids = {}
for line in io.lines("$dir/certids") do ids[#ids + 1] = "/renewal-info/" .. line end
math.randomseed(2020)
request = function() return wrk.format("GET", ids[math.random(#ids)]) end
LUA

"$bin" --set serve.listen=127.0.0.1:$PORT --set serve.threads=$SERVE_THREADS \
	--set serve.access_log=/dev/null serve 2>"$dir/serve.err" &
serve_pid=$!
mkdir -p "$dir/nginx/html"
nginx_pid=
cleanup() {
	kill "$serve_pid" 2>/dev/null || true
	wait "$serve_pid" 2>/dev/null || true
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
	"$root/scripts/pg.sh" stop "$dir/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
# The same answer, byte for byte, as nginx's static file.
curl -s "http://127.0.0.1:$PORT/renewal-info/$(head -1 "$dir/certids")" >"$dir/nginx/html/ari.json"
cat >"$dir/nginx/nginx.conf" <<NGX
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
daemon off;
events { worker_connections 4096; }
http {
	access_log off;
	default_type application/json;
	server { listen 127.0.0.1:$NGINX_PORT; root $dir/nginx/html; }
}
NGX
nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" &
nginx_pid=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$NGINX_PORT/ari.json" >/dev/null && break; sleep 0.1; done

run_wrk() { wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@"; }
load_serve=$(cut -d' ' -f1-3 /proc/loadavg)
ours=$(run_wrk -s "$dir/ari.lua" "http://127.0.0.1:$PORT")
load_nginx=$(cut -d' ' -f1-3 /proc/loadavg)
theirs=$(run_wrk "http://127.0.0.1:$NGINX_PORT/ari.json")
rate() { awk '/^Requests\/sec/ { print $2 }' <<<"$1"; }
p99() { awk '$1 == "99%" { print $2 }' <<<"$1"; }
errs() { awk '/Non-2xx|Socket errors/ { printf "%s ", $0 }' <<<"$1"; }
rss_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$serve_pid/status")
printf 'serve bench: ARI for %d random certIDs of %d certificates, %s, %d connections\n' \
	"$(wc -l <"$dir/certids")" "$N" "$DURATION" "$CONNS"
printf '  certrecall serve : %10.0f req/s  p99 %s  peak RSS %d MiB  load %s %s\n' "$(rate "$ours")" "$(p99 "$ours")" $((rss_kb / 1024)) "$load_serve" "$(errs "$ours")"
printf '  nginx static     : %10.0f req/s  p99 %s  load %s %s\n' "$(rate "$theirs")" "$(p99 "$theirs")" "$load_nginx" "$(errs "$theirs")"
printf '  ratio            : %10.2f  (target >= 0.25; >= 5,000 req/s, p99 < 20 ms, RSS <= 128 MiB)\n' \
	"$(echo "$(rate "$ours") / $(rate "$theirs")" | bc -l)"
