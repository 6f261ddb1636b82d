#!/usr/bin/env bash
# Scan coverage is answers, not attempts.  With the DNS server stopped a
# scan of 32 names ends with exit 75 naming the dominant cause, and status
# shows 0% answered; failed targets are retried after scanner.retry_after
# (or at once with --retry-failed) whatever --stale-after says, answered
# ones obey --stale-after.  A run that stops (signal, lost database) gives
# its leases back; a run that has to wait for another worker's leases
# says so.  Time moves with the rehearsal clock, never with sleeps
# (leases excepted: they run on the real clock).
. "$(dirname "$0")/lib.sh"
FLEET=$T_TMP/fleet
D=$T_TMP/dns
mkdir -p "$D"
cleanup() {
	[ -f "$D/dnsmasq.pid" ] && kill "$(cat "$D/dnsmasq.pid")" 2>/dev/null
	[ -n "${faults:-}" ] && kill "$faults" 2>/dev/null
	"$ROOT/tests/tlsfleet.sh" stop "$FLEET" >/dev/null 2>&1
}
trap cleanup EXIT
read -r TP _ < <("$ROOT/tests/tlsfleet.sh" start "$FLEET")
[ -n "${TP:-}" ] || { fail "the test fleet starts"; finish; }
# Misbehaving peers on the same port, other addresses: tarpit 127.0.1.1,
# garbage (a TLS error) 127.0.1.2.
/usr/bin/python3 "$ROOT/tests/tlsfaults.py" --dir "$D" --port "$TP" >"$D/faults.log" 2>&1 &
faults=$!
for _ in $(seq 1 300); do [ -f "$D/ready" ] && break; sleep 0.1; done

# Our own DNS server, to stop and start: every name in cov.test is nginx's
# default certificate, tarpit.test and garbage.test the faults above.
DNS=$((TP + 2))
dns_start() {
	/usr/sbin/dnsmasq --port="$DNS" --listen-address=127.0.0.1 --bind-interfaces \
		--no-resolv --no-hosts --local=/test/ --address=/cov.test/127.0.0.2 \
		--address=/tarpit.test/127.0.1.1 --address=/garbage.test/127.0.1.2 \
		--pid-file="$D/dnsmasq.pid" --user=root --group=root
}
dns_stop() {
	local pid
	pid=$(cat "$D/dnsmasq.pid")
	kill "$pid"
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$D/dnsmasq.pid"
}
dns_start

export CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DNS
export CERTRECALL_SCANNER_PORTS=$TP
export CERTRECALL_SCANNER_DNS_TIMEOUT=2s
export CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=2s CERTRECALL_SCANNER_CONNECT_TIMEOUT=2s
export CERTRECALL_SCANNER_IPV6=false CERTRECALL_SCANNER_ALLOW=127.0.0.0/8
new_db cov
certrecall -q db migrate
cd "$T_TMP" || exit 1
incident() { # incident SLUG NAME...: one certificate per name
	local i=0
	certrecall -q incident create --slug "$1" --title "$1" --reason 5d-7 \
		--aware-at 2020-02-29T03:08:00Z
	{
		echo serial,names
		for n in "${@:2}"; do i=$((i + 1)); printf '%x,%s\n' $((i + 256)) "$n"; done
	} >"$1.csv"
	certrecall -q import "$1" "$1.csv" --no-progress
}
at() { # at TIME CMD...: run certrecall under the rehearsal clock
	local t=$1
	shift
	CERTRECALL_CLOCK=$t certrecall "$@"
}
scan() { # scan TIME SLUG [ARGS]: stderr and stdout, then "exit N"
	local t=$1
	shift
	at "$t" scan "$@" --procs 1 --no-progress 2>&1
	echo "exit $?"
}
mapfile -t names < <(seq -f 'n%g.cov.test' 1 32)
incident cov "${names[@]}"

# 1. DNS unreachable: nothing answered, and the run says so.
dns_stop
out=$(scan 2020-03-01T00:00:00Z cov)
contains "a scan that reached nothing exits 75" "exit 75" "$out"
contains "it names the dominant cause and what to check" \
	"of 32 failed with dns-error: is scanner.dns_servers reachable?" "$out"
contains "it says how to retry" "--retry-failed" "$out"
contains "its summary separates answered from failed" "0 answered, 32 failed" "$out"
out=$(at 2020-03-01T00:00:00Z status cov)
contains "status shows 0% of the names answered" \
	"0 of 32 names answered; 32 failed (dns-error " "$(tr -s ' \n' ' ' <<<"$out")"
contains "the deployment bar is empty, not full" "..]   0.0%" "$(grep DEPLOYMENT <<<"$out")"
out=$(at 2020-03-01T00:00:00Z report cov --format md)
contains "the report says the same" "0 of 32 probeable names answered" "$out"
json=$(at 2020-03-01T00:00:00Z report cov --format json)
expect "the JSON report counts answered, failed and not tried" "0 32 0" \
	"$(jq -r '.impact.scan | "\(.answered) \(.failed) \(.not_tried)"' <<<"$json")"

# 2. Failed targets wait for scanner.retry_after (5m), not --stale-after.
out=$(scan 2020-03-01T00:01:00Z cov)
contains "a failed target is not retried at once" "scan: 0 of 0 targets probed" "$out"
contains "the wait is explained" "32 failed targets are retried from 2020-03-01T00:05:00Z" "$out"
contains "and that is not a failure" "exit 0" "$out"
out=$(scan 2020-03-01T00:01:00Z cov --retry-failed)
contains "--retry-failed retries them now" "scan: 32 of 32 targets probed" "$out"
contains "still failing: still 75" "exit 75" "$out"
dns_start
out=$(scan 2020-03-01T00:05:59Z cov)
contains "retry_after runs from the last failure" "scan: 0 of 0 targets probed" "$out"
out=$(scan 2020-03-01T00:06:00Z cov --stale-after 1d)
contains "after retry_after they are retried whatever --stale-after says" \
	"scan: 32 of 32 targets probed" "$out"
contains "now every name answers" "32 answered, 0 failed" "$out"
contains "an answered scan exits 0" "exit 0" "$out"
out=$(at 2020-03-01T00:06:00Z status cov)
contains "status: every name answered" "32 of 32 names answered; 0 failed, 0 not yet tried" \
	"$(tr -s ' \n' ' ' <<<"$out")"
contains "the bar is full" "100.0%" "$(grep DEPLOYMENT <<<"$out")"

# 3. Answered targets obey --stale-after (default 1h), --retry-failed or not.
out=$(scan 2020-03-01T00:30:00Z cov --retry-failed)
contains "fresh answered targets are not probed again" "scan: 0 of 0 targets probed" "$out"
out=$(scan 2020-03-01T00:30:00Z cov --stale-after 20m)
contains "--stale-after re-probes answered targets older than it" \
	"scan: 32 of 32 targets probed" "$out"
out=$(scan 2020-03-01T01:29:00Z cov)
contains "default 1h: not yet" "scan: 0 of 0 targets probed" "$out"
out=$(scan 2020-03-01T01:30:00Z cov)
contains "default 1h: now" "scan: 32 of 32 targets probed" "$out"

# 4. scanner.fail_warn: a few failures are worth a line, not an alarm.
incident mix "${names[@]:0:9}" garbage.test
out=$(scan 2020-03-01T00:00:00Z mix)
contains "1 of 10 failed is under fail_warn (20%)" "exit 0" "$out"
contains "the failure is still counted" "9 answered, 1 failed" "$out"
out=$(CERTRECALL_SCANNER_FAIL_WARN=5% scan 2020-03-01T00:00:00Z mix --retry-failed)
contains "over scanner.fail_warn: exit 75" "exit 75" "$out"
contains "with the cause" "1 of 1 failed with tls-error" "$out"
fails "fail_warn is a percentage" 78 env CERTRECALL_SCANNER_FAIL_WARN=120 "$CERTRECALL_BIN" config check

# 5. Another worker's leases: the run says so once, waits, then takes
# them over when they expire (leases run on the real clock).
db_sql -c "UPDATE scan_target SET state = 'claimed', worker = 'elsewhere:42',
	lease_until = now() + interval '2 seconds'
	WHERE incident_id = (SELECT id FROM incident WHERE slug = 'mix')
	AND name IN ('n1.cov.test', 'n2.cov.test', 'n3.cov.test')" >/dev/null
out=$(scan 2020-03-01T00:02:00Z mix)
contains "the wait is announced" "3 targets leased by elsewhere:42 until" "$out"
expect "once" 1 "$(grep -c 'leased by' <<<"$out")"
contains "the expired leases are taken over" "scan: 3 of 3 targets probed" "$out"

# 6. A run that stops gives its leases back: a signal...
incident stop t1.tarpit.test t2.tarpit.test t3.tarpit.test
claimed() { db_sql -c "SELECT count(*) FROM scan_target t JOIN incident i ON i.id = t.incident_id WHERE i.slug = '$1' AND t.state = 'claimed'"; }
until_claimed() { # until_claimed SLUG N: wait (5 s at most) for N claimed targets
	for _ in $(seq 1 50); do [ "$(claimed "$1")" = "$2" ] && return 0; sleep 0.1; done
	return 1
}
CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=60s CERTRECALL_CLOCK=2020-03-01T00:00:00Z \
	"$CERTRECALL_BIN" scan stop --procs 2 --no-progress >stop.log 2>&1 &
pid=$!
until_claimed stop 3 && pass "the tarpit scan has claimed its targets" || fail "the tarpit scan has claimed its targets"
kill -TERM "$pid"
wait "$pid"
expect "an interrupted scan exits 75" 75 "$?"
contains "and says what it gave back" "gave back 3 claimed targets" "$(cat stop.log)"
expect "no lease is left behind" 0 "$(claimed stop)"
expect "the interrupted round is undone" 0 \
	"$(db_sql -c "SELECT max(round) FROM scan_target t JOIN incident i ON i.id = t.incident_id WHERE i.slug = 'stop'")"
out=$(CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=200ms scan 2020-03-01T00:00:00Z stop)
contains "the next run probes them at once" "scan: 3 of 3 targets probed" "$out"

# ... or a lost database connection.
incident lost t4.tarpit.test t5.tarpit.test
CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=3s CERTRECALL_CLOCK=2020-03-01T00:00:00Z \
	"$CERTRECALL_BIN" scan lost --procs 1 --no-progress >lost.log 2>&1 &
pid=$!
until_claimed lost 2 && pass "the second tarpit scan has claimed its targets" || fail "the second tarpit scan has claimed its targets"
db_sql -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null
wait "$pid"
expect "a scan that lost its database exits 75" 75 "$?"
expect "its leases are given back all the same" 0 "$(claimed lost)"
finish
