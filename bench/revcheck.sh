#!/usr/bin/env bash
# Benchmark: revocation checks per second.  In one run:
#   peer:  `openssl ocsp` invoked once per serial, 8 at a time (xargs -P 8),
#          for S serials;
#   ours:  `certrecall revcheck --no-crl` of the same S serials, against the
#          same `openssl ocsp -multi 2` responder;
#   CRL:   a C-entry CRL (`openssl ca -gencrl`) checked against N serials.
# Prints checks/s, the ratio, the responder's CPU seconds, and peak RSS.
# `openssl ocsp -port` listens on every interface, so the whole run happens
# in a network namespace of its own that has only a loopback interface.
#   S=2000 C=1000000 N=3000000 bench/revcheck.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${CERTRECALL_IN_NETNS:-}" ]; then
	exec unshare -n env CERTRECALL_IN_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
# A process group of its own: `openssl ocsp -multi` forks responders that
# outlive their killed parent; the end checks nothing is left.
. "$root/bench/lib.sh"
bench_own_group "$0" "$@"
S=${S:-2000}
C=${C:-1000000}
N=${N:-3000000}
PORT=8888
dir=$root/var/bench-revcheck
rm -rf "$dir"
mkdir -p "$dir"
chmod 755 "$root/var" "$dir"
bin=$root/build/certrecall
cd "$dir"
cleanup() {
	# The responder makes itself a process group with its forked
	# children, and TERM to the parent left them (and it) running.
	if [ -n "${resp:-}" ]; then
		kill -TERM -- "-$resp" 2>/dev/null || true
		sleep 0.5
		kill -KILL -- "-$resp" 2>/dev/null || true
	fi
	kill ${web:-} 2>/dev/null || true
	"$root/scripts/pg.sh" stop "$dir/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj "/CN=Bench CA" -days 30 -out ca.pem 2>/dev/null
exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
# The OCSP index: S serials, every third revoked.
awk -v s="$S" -v e="$exp" 'BEGIN { for (i = 1; i <= s; i++) {
	if (i % 3 == 0) printf "R\t%s\t200304120000Z,superseded\t%06X\tunknown\t/CN=n%d\n", e, i + 4096, i
	else printf "V\t%s\t\t%06X\tunknown\t/CN=n%d\n", e, i + 4096, i } }' >index.txt
openssl ocsp -index index.txt -port $PORT -rsigner ca.pem -rkey ca.key -CA ca.pem \
	-multi 2 -nmin 60 >responder.log 2>&1 &
resp=$!
sleep 1
now() { date +%s.%N; }
cpu_of() { # total CPU seconds of a process tree
	local t=0
	for p in $1 $(pgrep -P "$1"); do
		t=$((t + $(awk '{ print $14 + $15 }' /proc/$p/stat)))
	done
	echo "$t / $(getconf CLK_TCK)" | bc -l
}

c0=$(cpu_of $resp)
t0=$(now)
awk -v s="$S" 'BEGIN { for (i = 1; i <= s; i++) printf "%X\n", i + 4096 }' |
	xargs -P 8 -I{} openssl ocsp -issuer ca.pem -serial 0x{} -url http://127.0.0.1:$PORT \
		-CAfile ca.pem -no_nonce >/dev/null 2>&1
t1=$(now)
c1=$(cpu_of $resp)
peer=$(echo "$S / ($t1 - $t0)" | bc -l)

conn=$("$root/scripts/pg.sh" start "$dir/pg")
export CERTRECALL_DATABASE=$conn
"$bin" -q db migrate
"$bin" -q incident create --slug ocsp --title bench --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
awk -v s="$S" 'BEGIN { print "serial,names"; for (i = 1; i <= s; i++) printf "%X,n%d.example\n", i + 4096, i }' >ocsp.csv
"$bin" -q import ocsp ocsp.csv --no-progress
"$bin" -q incident add-issuer ocsp ca.pem
c2=$(cpu_of $resp)
t2=$(now)
/usr/bin/time -f '%M' -o rss.ocsp "$bin" -q revcheck ocsp --no-crl --ocsp http://127.0.0.1:$PORT/
t3=$(now)
c3=$(cpu_of $resp)
ours=$(echo "$S / ($t3 - $t2)" | bc -l)
checked=$(psql -XAtq "$conn" -c "SELECT string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM revocation_evidence GROUP BY 1) x")

# The CRL case.
awk -v c="$C" -v e="$exp" 'BEGIN { for (i = 1; i <= c; i++)
	printf "R\t%s\t200304120000Z,superseded\t%08X\tunknown\t/CN=c%d\n", e, i * 3, i }' >crl-index.txt
printf '[ca]\ndefault_ca=t\n[t]\ndatabase=%s/crl-index.txt\ncrlnumber=%s/crlnumber\ncertificate=%s/ca.pem\nprivate_key=%s/ca.key\ndefault_md=sha256\ndefault_crl_days=7\n' \
	"$dir" "$dir" "$dir" "$dir" >ca.cnf
echo 01 >crlnumber
openssl ca -config ca.cnf -gencrl -out big.crl 2>/dev/null
/usr/bin/python3 -m http.server 8889 --bind 127.0.0.1 >/dev/null 2>&1 &
web=$!
"$bin" -q incident create --slug crl --title bench --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "%08X\n", i }' >crl-serials.txt
"$bin" -q import crl crl-serials.txt --format serials --no-progress
"$bin" -q incident add-issuer crl ca.pem
sleep 0.5
t4=$(now)
# The server logs the time of each of its statements (only this process
# sets it), for the phases below, without their parameters: the
# match's binary arrays of row addresses written out as text in the log
# cost the server more than the statements themselves.
PGOPTIONS="-c log_min_duration_statement=0 -c log_parameter_max_length=0" \
	/usr/bin/time -f '%M' -o rss.crl "$bin" -q revcheck crl --no-ocsp --crl http://127.0.0.1:8889/big.crl
t5=$(now)
# Server time per phase; the rest of the wall time is the download,
# crl_load and the client's side of the match.  The FETCHes run on a
# second connection while the first stores, so they are not part of
# the first connection's time.
phases=$(awk -v wall="$(echo "$t5 - $t4" | bc -l)" '
	/duration: .* ms  (execute|statement)/ {
		ms = $0; sub(/.*duration: /, "", ms); ms += 0
		if (/FROM incident i/) k = "incident"
		else if (/FETCH .* crl_match/) k = "fetch"
		else if (/COPY crl_entry/) k = "copy"
		else if (/UPDATE crl_fetch SET derived/ || /c.ctid = n.t/) k = "derive"
		else if (/SELECT count\(\*\)/) k = "counts"
		else k = "other"
		t[k] += ms / 1000; sum += ms / 1000 }
	END { printf "incident %.2f s, match: FETCH %.2f s (on a second connection, alongside) + COPY %.2f s, derive %.2f s, counts %.2f s, other statements %.2f s; outside the server %.2f s", t["incident"], t["fetch"], t["copy"], t["derive"], t["counts"], t["other"], wall - (sum - t["fetch"]) }' "$dir/pg/server.log")
revoked=$(psql -XAtq "$conn" -c "SELECT count(*) FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'crl' AND c.revoked_at IS NOT NULL")

printf 'revcheck bench: %d serials over OCSP, a %d-entry CRL against %d serials\n' "$S" "$C" "$N"
printf '  openssl ocsp per serial, xargs -P 8 (peer): %8.0f checks/s (responder %.2f s CPU)\n' "$peer" "$(echo "$c1 - $c0" | bc -l)"
printf '  certrecall revcheck (OCSP)              : %8.0f checks/s (responder %.2f s CPU), ratio %.1f, peak RSS %d MiB\n' \
	"$ours" "$(echo "$c3 - $c2" | bc -l)" "$(echo "$ours / $peer" | bc -l)" $(( $(cat rss.ocsp) / 1024 ))
printf '      answers: %s\n' "$checked"
printf '  CRL: %.1f s, peak RSS %d MiB, %s of %d serials revoked (expected %d)\n' \
	"$(echo "$t5 - $t4" | bc -l)" $(( $(cat rss.crl) / 1024 )) "$revoked" "$N" $((N / 3 < C ? N / 3 : C))
printf '       server time: %s\n' "$phases"
cleanup
trap - EXIT
bench_leftovers || { echo "FAIL: processes were left running" >&2; exit 1; }
