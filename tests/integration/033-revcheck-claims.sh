#!/usr/bin/env bash
# Two revcheck processes on one incident ask about each certificate once
# (issue 17): they join one pass and claim batches of it with FOR UPDATE
# SKIP LOCKED under a lease.  The responder is `openssl ocsp` itself on
# 127.0.0.1, printing every request it gets (-req_text), so the requests
# are counted per serial where they arrive.  Also: a pass that is over
# is opened anew by the next round; one left by a worker that died
# (leases run out) is taken over; certificates another worker holds
# under a live lease are waited for, then asked once the lease ends; a
# round stopped by SIGINT gives its claims back.
. "$(dirname "$0")/lib.sh"
D=$T_TMP/ca
mkdir -p "$D"
cd "$D" || exit 1
PIDS=()
trap 'for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null; done' EXIT
P=$((20000 + RANDOM % 20000))
N=150
ec_key ca
openssl req -x509 -new -key ca.key -subj "/CN=Claims Test CA" -days 30 -out ca.pem 2>/dev/null
exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
# Every serial known to the responder (every fifth revoked), so a round
# that asks about everything answers everything and exits 0.
awk -v n=$N -v e="$exp" 'BEGIN { for (i = 1; i <= n; i++) {
	if (i % 5 == 0) printf "R\t%s\t200304120000Z,superseded\t%04X\tunknown\t/CN=c%d\n", e, i + 4096, i
	else printf "V\t%s\t\t%04X\tunknown\t/CN=c%d\n", e, i + 4096, i } }' >index.txt
awk -v n=$N 'BEGIN { print "serial,names"; for (i = 1; i <= n; i++) printf "%X,c%d.claims.test\n", i + 4096, i }' >list.csv
stdbuf -oL openssl ocsp -index index.txt -port $P -rsigner ca.pem -rkey ca.key -CA ca.pem \
	-req_text -nmin 60 -ignore_err >responder.log 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
	grep -q "waiting for OCSP client" responder.log 2>/dev/null && break
	sleep 0.1
done
# asked: "SERIAL COUNT" per serial the responder was asked about, sorted.
asked() { sed -n 's/^ *Serial Number: *//p' responder.log | sort | uniq -c | awk '{ print $2, $1 }'; }
# times K: how many serials were asked exactly K times so far.
times() { asked | awk -v k="$1" '$2 == k { n++ } END { print n + 0 }'; }

new_db claims
certrecall -q db migrate
certrecall -q incident create --slug claims --title t --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import claims list.csv --no-progress
certrecall -q incident add-issuer claims ca.pem --ocsp http://127.0.0.1:$P/
ev() { db_sql -c "SELECT count(*), count(DISTINCT certificate_id), count(*) FILTER (WHERE status IN ('good', 'revoked')) FROM revocation_evidence WHERE source = 'ocsp'"; }

# Two processes at once, small batches so that both have work to claim.
# The responder is stopped until both hold claims (its socket still
# takes connections), so neither can finish the pass before the other
# has joined it, however slowly this machine starts them.
resp=${PIDS[0]}
kill -STOP "$resp"
certrecall --set database.batch_size=5 revcheck claims --no-crl --json >a.json 2>a.err &
a=$!
certrecall --set database.batch_size=5 revcheck claims --no-crl --json >b.json 2>b.err &
b=$!
for _ in $(seq 1 50); do
	[ "$(db_sql -c "SELECT count(DISTINCT worker) FROM revcheck_batch WHERE state = 'claimed'" 2>/dev/null)" = 2 ] && break
	sleep 0.1
done
kill -CONT "$resp"
wait $a
ra=$?
wait $b
rb=$?
expect "both processes succeed" "0 0" "$ra $rb"
expect "the responder was asked about every serial" $N "$(asked | wc -l)"
expect "each serial exactly once" $N "$(times 1)"
expect "all evidence recorded, one row per certificate, all usable" "$N|$N|$N" "$(ev)"
expect "the two rounds' answers add up to the certificates" $N \
	"$(jq -s 'map(.answers) | add' a.json b.json)"
expect "both rounds see every answer of the pass: none unanswered" "0 0" \
	"$(jq -s -r 'map(.unanswered | tostring) | join(" ")' a.json b.json)"
expect "the queue is empty after the pass" 0 "$(db_sql -c "SELECT count(*) FROM revcheck_batch")"
echo "# answers: a $(jq .answers a.json), b $(jq .answers b.json)"

# The pass is over: the next round asks again about every certificate
# still to revoke (the fifth that are revoked now are not).
L=$((N - N / 5))
ok "a later round succeeds" certrecall revcheck claims --no-crl
expect "and asks about each certificate still to revoke once more" $L "$(times 2)"

# A pass left behind by a worker that died (its leases ran out, long
# ago) is opened anew: every certificate asked once, none left.
db_sql -c "INSERT INTO revcheck_batch (incident_id, first_id, last_id, state, lease_until, worker)
	SELECT incident_id, min(id), max(id), 'claimed', now() - interval '1 hour', 'gone:1' FROM certificate GROUP BY 1;
	UPDATE revcheck_pass SET started_at = now() - interval '2 hours'" >/dev/null
ok "a round after a worker died succeeds" certrecall revcheck claims --no-crl
expect "and asks about each certificate still to revoke once more" $L "$(times 3)"
expect "the dead worker's claims are gone" 0 "$(db_sql -c "SELECT count(*) FROM revcheck_batch")"

# A live pass: a batch of ten certificates held by another worker for
# two seconds, one of the rest pending.  The round joins it, asks about
# the rest, waits for the lease to end, then asks about the ten: each
# once.
db_sql -c "INSERT INTO revcheck_batch (incident_id, first_id, last_id, state, lease_until, worker)
	SELECT incident_id, min(id), max(id), CASE WHEN busy THEN 'claimed' ELSE 'pending' END,
	CASE WHEN busy THEN now() + interval '2 seconds' END, CASE WHEN busy THEN 'busy:1' END
	FROM (SELECT id, incident_id, row_number() OVER (ORDER BY id) <= 10 AS busy
	FROM certificate WHERE revoked_at IS NULL) c GROUP BY 1, busy;
	UPDATE revcheck_pass SET started_at = now()" >/dev/null
out=$(certrecall revcheck claims --no-crl 2>&1)
expect "a round joining a live pass succeeds" 0 $?
contains "and says it waits for the other worker" "1 batch of certificates claimed by other workers; waiting" "$out"
expect "each certificate still to revoke asked once more" $L "$(times 4)"
expect "the queue is empty again" 0 "$(db_sql -c "SELECT count(*) FROM revcheck_batch")"

# SIGINT during the pass: the round stops, gives back what it claimed
# (here from a responder that never answers) and exits 75; the next
# round asks about those certificates at once, each once.
/usr/bin/python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", '$((P + 1))')); s.listen(256); time.sleep(60)' &
PIDS+=($!)
sleep 0.3
"$CERTRECALL_BIN" --set database.batch_size=5 revcheck claims --no-crl --ocsp http://127.0.0.1:$((P + 1))/ >int.out 2>&1 &
c=$!
for _ in $(seq 1 50); do
	[ "$(db_sql -c "SELECT count(*) FROM revcheck_batch WHERE state = 'claimed'" 2>/dev/null)" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
kill -INT $c
wait $c
expect "a round stopped by SIGINT exits 75" 75 $?
contains "and says what it gave back" "claimed batches of certificates, the next round asks them at once" "$(cat int.out)"
expect "nothing stays claimed, every batch is back" "0|$((L / 5))" \
	"$(db_sql -c "SELECT count(*) FILTER (WHERE state = 'claimed'), count(*) FROM revcheck_batch")"
ok "the next round succeeds" certrecall revcheck claims --no-crl
expect "and asks about each certificate once more" $L "$(times 5)"
finish
