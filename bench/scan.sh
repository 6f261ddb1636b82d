#!/usr/bin/env bash
# Benchmark: names probed per second.  A local fleet of N SNI names on
# nginx (ECDSA P-256 wildcard certificate from a test CA) spread over 16
# loopback addresses, dnsmasq answering their A records; in one run:
#   (a) the peer an operator would script today: openssl s_client ... |
#       openssl x509 -serial through xargs -P 64, on a 1,000-name subset;
#   (b) the handshake ceiling: openssl s_time -new, one and two processes;
#   (c) certrecall scan over all N names, --procs 1 and --procs 2;
#   (e) certrecall scan of 2,000 names by SMTP STARTTLS against one local
#       Postfix smtpd, and of the same 2,000 names by direct TLS (nginx);
#   (d) certrecall scan of 5,000 names that all resolve to a tarpit, at
#       concurrency 5,000: peak RSS, and open files before/after.
# (b), (c) and (e) run RUNS times (default 3), interleaved, and print each
# run and the medians of the ratios issue 19 sets: scan --procs 1 / s_time
# one process (>= 1.0), --procs 2 / --procs 1 (>= 1.5), SMTP STARTTLS /
# direct TLS (>= 0.5); with the CPU each party used during each scan
# (scanner, nginx, dnsmasq, PostgreSQL, Postfix, and everything else on
# the machine), because on 2 shared cores they compete for the same CPU.
# Run it in a network namespace of its own:
#   unshare -n bash -c 'ip link set lo up; N=10000 bench/scan.sh'
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
bench_own_group "$0" "$@"
cd "$root"
N=${N:-10000}
PORT=${PORT:-24443}
DNS=${DNS:-24453}
FAULTP=${FAULTP:-24463}
SMTPP=${SMTPP:-24425}
PEER_N=${PEER_N:-1000} # names for (a)
dir=$root/var/bench-scan
rm -rf "$dir"
mkdir -p "$dir"
chmod 755 "$root/var" "$dir"
bin=build/certrecall
cleanup() {
	[ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
	[ -f "$dir/dnsmasq.pid" ] && kill "$(cat "$dir/dnsmasq.pid")" 2>/dev/null
	[ -n "${faults:-}" ] && kill "$faults" 2>/dev/null
	[ -f "$dir/postfix/spool/pid/master.pid" ] &&
		kill "$(tr -d ' ' <"$dir/postfix/spool/pid/master.pid")" 2>/dev/null
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
seq 1 "$PEER_N" | xargs -P 64 -I{} sh -c "echo | openssl s_client -connect 127.0.2.\$(( {} % 16 + 1 )):$PORT -servername n{}.bench.test 2>/dev/null | openssl x509 -noout -serial >/dev/null 2>&1"
t1=$(now)
peer=$(echo "$PEER_N / ($t1 - $t0)" | bc -l)
# CPU ticks (utime + stime, and reaped children's) of each party, and of
# the whole machine, so that a run can say who used the 2 cores.
tick_hz=$(getconf CLK_TCK)
proc_ticks() { # PID... -> ticks of those processes and their reaped children
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; } # busy
party_pids() { # nginx | dnsmasq | pg | postfix
	local m
	case $1 in
	nginx) m=$(cat "$dir/nginx.pid") ;;
	dnsmasq) m=$(cat "$dir/dnsmasq.pid") ;;
	pg) m=$(head -1 "$dir/pg/data/postmaster.pid") ;;
	postfix) m=$(tr -d ' ' <"$dir/postfix/spool/pid/master.pid") ;;
	esac
	[ -n "$m" ] || return 0
	echo "$m"
	pgrep -P "$m" || true
}
parties="nginx dnsmasq pg postfix"
snap() { # -> "machine nginx dnsmasq pg postfix" ticks
	local out p
	out=$(machine_ticks)
	for p in $parties; do out="$out $(proc_ticks $(party_pids "$p" 2>/dev/null))"; done
	echo "$out"
}

# (b) the handshake ceiling.  s_time prints its progress on the line
# before "N connections in T real seconds": take only that.
st_rate() {
	grep -o '[0-9]* connections in [0-9.]* real seconds' | awk '{ s += $1 / $4 } END { print s }'
}
s_time1() {
	openssl s_time -connect 127.0.2.1:$PORT -new -time 5 2>/dev/null | st_rate
}
s_time2() {
	(openssl s_time -connect 127.0.2.1:$PORT -new -time 5 2>/dev/null & openssl s_time -connect 127.0.2.2:$PORT -new -time 5 2>/dev/null; wait) | st_rate
}

# (c) certrecall scan.
conn=$(scripts/pg.sh start "$dir/pg")
export CERTRECALL_DATABASE=$conn
export CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DNS CERTRECALL_SCANNER_PORTS=$PORT
export CERTRECALL_SCANNER_ALLOW=127.0.0.0/8 CERTRECALL_SCANNER_IPV6=false
"$bin" -q db migrate
awk -v n="$N" 'BEGIN { print "serial,names"; for (i = 1; i <= n; i++) printf "%x,n%d.bench.test\n", i + 4096, i }' >"$dir/list.csv"
head -2001 "$dir/list.csv" >"$dir/list2000.csv"
# run_scan SLUG PROCS LIST [GLOBAL-OPTION...] -> "names/s ms_cpu_per_name
# rss_kb machine% nginx% dnsmasq% pg% postfix% scanner% other%", the CPU
# in % of one core over the scan's wall time.
run_scan() {
	local slug=$1 procs=$2 list=$3 n a b secs u sy rss
	shift 3
	n=$(($(wc -l <"$list") - 1))
	"$bin" -q incident create --slug "$slug" --title bench --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
	"$bin" -q import "$slug" "$list" --no-progress
	a=$(snap)
	# PERF=1: where the scanner's CPU goes, one profile per run (--procs 1)
	${perf:+$perf -o "$dir/perf-$slug.data" --} \
		/usr/bin/time -f '%e %U %S %M' -o "$dir/time" "$bin" -q "$@" scan "$slug" --procs "$procs" --no-progress
	b=$(snap)
	read -r secs u sy rss <"$dir/time"
	echo "$a $b" | awk -v n="$n" -v s="$secs" -v u="$u" -v sy="$sy" -v rss="$rss" -v hz="$tick_hz" '{
		k = NF / 2; sc = (u + sy) * 100 / s
		printf "%.0f %.3f %d", n / s, (u + sy) * 1000 / n, rss
		m = ($(k + 1) - $1) * 100 / hz / s; printf " %.1f", m
		o = m - sc
		for (i = 2; i <= k; i++) { p = ($(k + i) - $i) * 100 / hz / s; o -= p; printf " %.1f", p }
		printf " %.1f %.1f\n", sc, o < 0 ? 0 : o }'
}

# (e) one local Postfix smtpd with STARTTLS on every loopback address
# (a private instance: its own config, queue and data directories;
# /etc/postfix replaced by ours in a mount namespace of its own).
pf=$dir/postfix
mkdir -p "$pf/etc" "$pf/spool" "$pf/data"
cp -a /etc/postfix/. "$pf/etc/"
chown postfix "$pf/data"
cat >"$pf/etc/main.cf" <<END
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
inet_interfaces = all
inet_protocols = ipv4
myhostname = mx.bench.test
mydestination =
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
maillog_file = $pf/postfix.log
maillog_file_prefixes = $pf
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_tls_security_level = may
smtpd_tls_cert_file = $dir/leaf.pem
smtpd_tls_key_file = $dir/leaf.key
END
cat >"$pf/etc/master.cf" <<END
$SMTPP inet n - n - - smtpd
postlog unix-dgram n - n - 1 postlogd
tlsmgr unix - - n 1000? 1 tlsmgr
anvil unix - - n - 1 anvil
cleanup unix n - n - 0 cleanup
rewrite unix - - n - - trivial-rewrite
proxymap unix - - n - - proxymap
END
unshare -m --propagation private sh -c \
	"mount --bind '$pf/etc' /etc/postfix && postfix start" </dev/null >"$pf/start.log" 2>&1
for _ in $(seq 1 50); do
	echo QUIT | timeout 2 openssl s_client -starttls smtp -connect 127.0.2.1:$SMTPP -brief >/dev/null 2>&1 && break
	sleep 0.2
done

RUNS=${RUNS:-3}
: >"$dir/runs"
for r in $(seq 1 "$RUNS"); do
	echo "run $r of $RUNS: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	st1=$(s_time1)
	st2=$(s_time2)
	perf=${PERF:+perf record -q -F 499 -g}
	c1=$(run_scan "one-$r" 1 "$dir/list.csv")
	perf=
	c2=$(run_scan "two-$r" 2 "$dir/list.csv")
	# how evenly the two processes shared the work: names each, and how
	# long one went on alone after the other's last write
	split=$(psql -XAtq "$conn" -c "SELECT string_agg(n::text, '/' ORDER BY n) || ' ' || round(extract(epoch FROM max(last) - min(last))::numeric, 1) FROM (SELECT count(*) n, max(o.observed_at) last FROM observation o JOIN scan_target t ON t.id = o.target_id JOIN incident i ON i.id = t.incident_id WHERE i.slug = 'two-$r' GROUP BY o.worker) x")
	t2k=$(run_scan "tls-$r" 1 "$dir/list2000.csv")
	m2k=$(run_scan "smtp-$r" 1 "$dir/list2000.csv" --set "scanner.ports=$SMTPP/smtp")
	echo "$r $(cut -d' ' -f1 /proc/loadavg) $st1 $st2 $split | $c1 | $c2 | $t2k | $m2k" >>"$dir/runs"
done
verdicts1=$(psql -XAtq "$conn" -c "SELECT string_agg(verdict || ' ' || n, ', ') FROM (SELECT o.verdict, count(*) n FROM observation o JOIN scan_target t ON t.id = o.target_id JOIN incident i ON i.id = t.incident_id WHERE i.slug = 'one-1' GROUP BY 1) x")
probes1=$(psql -XAtq "$conn" -c "SELECT count(*) FROM observation o JOIN scan_target t ON t.id = o.target_id JOIN incident i ON i.id = t.incident_id WHERE i.slug = 'one-1' AND o.verdict = 'serving-replacement'")
smtpv=$(psql -XAtq "$conn" -c "SELECT string_agg(verdict || ' ' || n, ', ') FROM (SELECT o.verdict, count(*) n FROM observation o JOIN scan_target t ON t.id = o.target_id JOIN incident i ON i.id = t.incident_id WHERE i.slug LIKE 'smtp-%' GROUP BY 1) x")

# (d) 5,000 tarpit names at concurrency 5,000.
awk 'BEGIN { print "serial,names"; for (i = 1; i <= 5000; i++) printf "%x,t%d.tarpit.test\n", i + 900000, i }' >"$dir/tarpit.csv"
"$bin" -q incident create --slug tarpit --title bench --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
"$bin" -q import tarpit "$dir/tarpit.csv" --no-progress
/usr/bin/time -f '%e %M' -o "$dir/time-tarpit" "$bin" -v --set scanner.ports=$FAULTP --set scanner.concurrency=5000 \
	--set scanner.per_ip=5000 --set scanner.handshake_timeout=2s \
	scan tarpit --procs 1 --no-progress 2>"$dir/tarpit.log" || [ $? = 75 ] # all failed: exit 75
read -r ts tr < <(tail -1 "$dir/time-tarpit")
tv=$(psql -XAtq "$conn" -c "SELECT string_agg(verdict || ' ' || n, ', ') FROM (SELECT o.verdict, count(*) n FROM observation o JOIN scan_target t ON t.id = o.target_id JOIN incident i ON i.id = t.incident_id WHERE i.slug = 'tarpit' GROUP BY 1) x")
files=$(grep -o '[0-9]* open files before, [0-9]* after' "$dir/tarpit.log" | tr '\n' ' ')

printf 'scan bench: %d SNI names on 16 loopback addresses (ECDSA P-256), %d runs\n' "$N" "$RUNS"
printf '  (a) s_client | x509 via xargs -P 64 : %8.0f names/s (%d-name subset)\n' "$peer" "$PEER_N"
printf '  per run: names/s (handshakes/s for s_time); CPU in %% of one core over each scan:\n'
printf '           machine = nginx + dnsmasq + postgres + postfix + scanner + other\n'
awk -F' [|] ' '{
	split($1, h, " "); split($2, a, " "); split($3, b, " "); split($4, t, " "); split($5, m, " ")
	printf "  run %d (load %s): (b) s_time -new %.0f/s (1 process), %.0f/s (2)\n", h[1], h[2], h[3], h[4]
	printf "     (c) --procs 1 %5.0f/s (%.2f ms CPU/name)  cpu %s = %s+%s+%s+%s+%s+%s\n", a[1], a[2], a[4], a[5], a[6], a[7], a[8], a[9], a[10]
	printf "         --procs 2 %5.0f/s (%.2f ms CPU/name)  cpu %s = %s+%s+%s+%s+%s+%s; names per process %s, one alone for the last %s s\n", b[1], b[2], b[4], b[5], b[6], b[7], b[8], b[9], b[10], h[5], h[6]
	# CPU ms per name of each party serving a scan, from --procs 1; what
	# 2 cores could do if nothing else ran: 2,000 ms / their sum.
	cs = a[2]; cn = a[5] * 10 / a[1]; cd = a[6] * 10 / a[1]; cp = a[7] * 10 / a[1]
	printf "     CPU ms per name: scanner %.2f, nginx %.2f, dnsmasq %.2f, postgres %.2f; 2 idle cores: at most %.0f/s, one scanner process at most %.0f/s\n", cs, cn, cd, cp, 2000 / (cs + cn + cd + cp), 1000 / cs
	printf "     (e) 2,000 TLS %5.0f/s (%.2f ms CPU/name)  cpu %s = %s+%s+%s+%s+%s+%s\n", t[1], t[2], t[4], t[5], t[6], t[7], t[8], t[9], t[10]
	printf "        2,000 SMTP %5.0f/s (%.2f ms CPU/name)  cpu %s = %s+%s+%s+%s+%s+%s\n", m[1], m[2], m[4], m[5], m[6], m[7], m[8], m[9], m[10]
	printf "     ratios: procs1/s_time %.2f, procs2/procs1 %.2f, s_time 2/1 %.2f, SMTP/TLS %.2f\n", a[1] / h[3], b[1] / a[1], h[4] / h[3], m[1] / t[1]
	print a[1] / h[3], b[1] / a[1], h[4] / h[3], m[1] / t[1], a[1], b[1], h[3], t[1], m[1], a[3], cs, cn, cd, cp, 2000 / (cs + cn + cd + cp), 1000 / cs >"/dev/stderr"
}' "$dir/runs" 2>"$dir/ratios"
med() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { cut -d' ' -f"$1" "$dir/ratios" | med; }
printf '  medians of %d: scan --procs 1 / s_time -new (1 process) %.2f (target >= 1.0)\n' "$RUNS" "$(col 1)"
printf '                scan --procs 2 / --procs 1            %.2f (target >= 1.5; s_time 2 processes / 1: %.2f)\n' "$(col 2)" "$(col 3)"
printf '                SMTP STARTTLS / direct TLS (2,000)    %.2f (target >= 0.5)\n' "$(col 4)"
printf '                names/s: --procs 1 %.0f, --procs 2 %.0f, s_time %.0f, TLS 2,000 %.0f, SMTP 2,000 %.0f; peak RSS --procs 1 %d MiB\n' \
	"$(col 5)" "$(col 6)" "$(col 7)" "$(col 8)" "$(col 9)" $(($(col 10) / 1024))
printf '                CPU ms per name: scanner %.2f, nginx %.2f, dnsmasq %.2f, postgres %.2f: on 2 idle cores at most %.0f names/s in all, %.0f for one scanner process\n' \
	"$(col 11)" "$(col 12)" "$(col 13)" "$(col 14)" "$(col 15)" "$(col 16)"
printf '  verified: %s of %d probes served the (wildcard) certificate: %s; SMTP: %s\n' "$probes1" "$N" "$verdicts1" "$smtpv"
printf '  (d) 5,000 tarpit probes, concurrency 5,000: %.1f s, peak RSS %d MiB, %s (%s)\n' "$ts" $((tr / 1024)) "$files" "$tv"
# Stop what the run started, then check that nothing is left.
eval "$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT$//")"
trap - EXIT
bench_leftovers
