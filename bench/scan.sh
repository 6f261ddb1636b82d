#!/usr/bin/env bash
# Benchmark: names probed per second.  A local fleet of N SNI names on
# nginx (ECDSA P-256 wildcard certificate from a test CA) spread over 16
# loopback addresses, dnsmasq answering their A records; in one run:
#   (a) the peer an operator would script today: openssl s_client ... |
#       openssl x509 -serial through xargs -P 64, on a 1,000-name subset;
#   (b) the handshake ceiling: openssl s_time -new, one and two processes;
#   (c) certrecall scan over all N names, --procs 1 and --procs 2;
#   (d) certrecall scan of 5,000 names that all resolve to a tarpit, at
#       concurrency 5,000: peak RSS, and open files before/after.
# Prints names/s, the ratio to (a), client CPU per probe and peak RSS.
#   N=10000 bench/scan.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
bench_own_group "$0" "$@"
cd "$root"
N=${N:-10000}
PORT=${PORT:-24443}
DNS=${DNS:-24453}
FAULTP=${FAULTP:-24463}
dir=$root/var/bench-scan
rm -rf "$dir"
mkdir -p "$dir"
chmod 755 "$root/var" "$dir"
bin=build/certrecall
cleanup() {
	[ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
	[ -f "$dir/dnsmasq.pid" ] && kill "$(cat "$dir/dnsmasq.pid")" 2>/dev/null
	[ -n "${faults:-}" ] && kill "$faults" 2>/dev/null
	scripts/pg.sh stop "$dir/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$dir/ca.key" -out "$dir/ca.pem" -days 30 -subj "/CN=bench CA" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$dir/leaf.key" -subj "/CN=*.bench.test" -out "$dir/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:*.bench.test\n' >"$dir/leaf.ext"
openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
	-set_serial 0x4242 -days 30 -extfile "$dir/leaf.ext" -out "$dir/leaf.pem" 2>/dev/null
{
	echo "worker_processes auto; user root; pid $dir/nginx.pid;"
	echo "error_log $dir/nginx-error.log warn; worker_rlimit_nofile 65536;"
	echo "events { worker_connections 16384; }"
	echo "http { access_log off; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_tickets off;"
	echo "client_body_temp_path $dir/t1; proxy_temp_path $dir/t2; fastcgi_temp_path $dir/t3; uwsgi_temp_path $dir/t4; scgi_temp_path $dir/t5;"
	for a in $(seq 1 16); do
		echo "server { listen 127.0.2.$a:$PORT ssl; server_name *.bench.test;"
		echo "ssl_certificate $dir/leaf.pem; ssl_certificate_key $dir/leaf.key; return 200; }"
	done
	echo "}"
} >"$dir/nginx.conf"
/usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/nginx-error.log"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "127.0.2.%d n%d.bench.test\n", i % 16 + 1, i }' >"$dir/hosts"
/usr/sbin/dnsmasq --port="$DNS" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --addn-hosts="$dir/hosts" --local=/test/ \
	--address=/tarpit.test/127.0.1.1 --cache-size=10000 \
	--pid-file="$dir/dnsmasq.pid" --user=root --group=root
/usr/bin/python3 tests/tlsfaults.py --dir "$dir" --port "$FAULTP" >"$dir/faults.log" 2>&1 &
faults=$!
sleep 1

now() { date +%s.%N; }
# (a) the scripted peer on 1,000 names.
t0=$(now)
seq 1 1000 | xargs -P 64 -I{} sh -c "echo | openssl s_client -connect 127.0.2.\$(( {} % 16 + 1 )):$PORT -servername n{}.bench.test 2>/dev/null | openssl x509 -noout -serial >/dev/null 2>&1"
t1=$(now)
peer=$(echo "1000 / ($t1 - $t0)" | bc -l)
# (b) the handshake ceiling.
st1=$(openssl s_time -connect 127.0.2.1:$PORT -new -time 5 2>/dev/null | awk '/connections in .* real seconds/ { print $1 / $4 }' | tail -1)
st2=$( (openssl s_time -connect 127.0.2.1:$PORT -new -time 5 2>/dev/null & openssl s_time -connect 127.0.2.2:$PORT -new -time 5 2>/dev/null; wait) |
	awk '/connections in .* real seconds/ { s += $1 / $4 } END { print s }')

# (c) certrecall scan.
conn=$(scripts/pg.sh start "$dir/pg")
export CERTRECALL_DATABASE=$conn
export CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DNS CERTRECALL_SCANNER_PORTS=$PORT
export CERTRECALL_SCANNER_ALLOW=127.0.0.0/8 CERTRECALL_SCANNER_IPV6=false
"$bin" -q db migrate
awk -v n="$N" 'BEGIN { print "serial,names"; for (i = 1; i <= n; i++) printf "%x,n%d.bench.test\n", i + 4096, i }' >"$dir/list.csv"
run_scan() { # SLUG PROCS -> "seconds user+sys rss_kb"
	"$bin" -q incident create --slug "$1" --title bench --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
	"$bin" -q import "$1" "$dir/list.csv" --no-progress
	/usr/bin/time -f '%e %U %S %M' -o "$dir/time" "$bin" -q scan "$1" --procs "$2" --no-progress
	awk '{ print $1, $2 + $3, $4 }' "$dir/time"
}
read -r s1 c1 r1 < <(run_scan one 1)
read -r s2 c2 r2 < <(run_scan two 2)
verdicts1=$(psql -XAtq "$conn" -c "SELECT string_agg(verdict || ' ' || n, ', ') FROM (SELECT o.verdict, count(*) n FROM observation o JOIN scan_target t ON t.id = o.target_id WHERE t.incident_id = 1 GROUP BY 1) x")
probes1=$(psql -XAtq "$conn" -c "SELECT count(*) FROM observation o JOIN scan_target t ON t.id = o.target_id WHERE t.incident_id = 1 AND o.verdict = 'serving-replacement'")

# (d) 5,000 tarpit names at concurrency 5,000.
awk 'BEGIN { print "serial,names"; for (i = 1; i <= 5000; i++) printf "%x,t%d.tarpit.test\n", i + 900000, i }' >"$dir/tarpit.csv"
"$bin" -q incident create --slug tarpit --title bench --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
"$bin" -q import tarpit "$dir/tarpit.csv" --no-progress
/usr/bin/time -f '%e %M' -o "$dir/time-tarpit" "$bin" -v --set scanner.ports=$FAULTP --set scanner.concurrency=5000 \
	--set scanner.per_ip=5000 --set scanner.handshake_timeout=2s \
	scan tarpit --procs 1 --no-progress 2>"$dir/tarpit.log"
read -r ts tr <"$dir/time-tarpit"
tv=$(psql -XAtq "$conn" -c "SELECT string_agg(verdict || ' ' || n, ', ') FROM (SELECT o.verdict, count(*) n FROM observation o JOIN scan_target t ON t.id = o.target_id JOIN incident i ON i.id = t.incident_id WHERE i.slug = 'tarpit' GROUP BY 1) x")
files=$(grep -o '[0-9]* open files before, [0-9]* after' "$dir/tarpit.log" | tr '\n' ' ')

printf 'scan bench: %d SNI names on 16 loopback addresses (ECDSA P-256)\n' "$N"
printf '  (a) s_client | x509 via xargs -P 64 : %8.0f names/s (1,000-name subset)\n' "$peer"
printf '  (b) openssl s_time -new             : %8.0f handshakes/s (1 process), %.0f (2 processes)\n' "$st1" "$st2"
printf '  (c) certrecall scan --procs 1       : %8.0f names/s, ratio to (a) %.1f, %.2f ms CPU per probe, peak RSS %d MiB\n' \
	"$(echo "$N / $s1" | bc -l)" "$(echo "$N / $s1 / $peer" | bc -l)" "$(echo "$c1 * 1000 / $N" | bc -l)" $((r1 / 1024))
printf '      certrecall scan --procs 2       : %8.0f names/s, ratio to (a) %.1f, %.2f ms CPU per probe (parent process)\n' \
	"$(echo "$N / $s2" | bc -l)" "$(echo "$N / $s2 / $peer" | bc -l)" "$(echo "$c2 * 1000 / $N" | bc -l)"
printf '      verified: %s of %d probes served the (wildcard) certificate: %s\n' "$probes1" "$N" "$verdicts1"
printf '  (d) 5,000 tarpit probes, concurrency 5,000: %.1f s, peak RSS %d MiB, %s (%s)\n' "$ts" $((tr / 1024)) "$files" "$tv"
# Stop what the run started, then check that nothing is left.
eval "$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT$//")"
trap - EXIT
bench_leftovers
