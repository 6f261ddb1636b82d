#!/usr/bin/env bash
# The whole path at small scale, against postfix's smtp-sink (it keeps a
# copy of every message): 20,000 lines, import, notify; every address is
# told exactly once, and a hosting account whose notice is over
# mailer.max_message_bytes gets numbered parts that together list each of
# its certificates once.
. "$(dirname "$0")/lib.sh"
new_db e2e
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
cd "$T_TMP"

# 3,000 certificates of one hosting account (big@), then 17,000 over
# 8,500 accounts of two certificates; the accounts share 2,700
# addresses, and every tenth account has none.
awk 'BEGIN {
	print "serial,account,email,names,not_after"
	for (i = 1; i <= 3000; i++)
		printf "%x,hosting-1,big@example.org,\"h%d.example;www.h%d.example\",2020-05-01\n", i + 65536, i, i
	for (i = 3001; i <= 20000; i++) {
		a = int((i - 3001) / 2)
		e = (a % 10 == 9) ? "" : sprintf("owner%d@example.org", a % 3000)
		printf "%x,acct-%d,%s,c%d.example,2020-05-01\n", i + 65536, a, e, i
	}
}' >list.csv
certrecall -q import caa-2020 list.csv --no-progress
want=$(awk -F, 'NR > 1 && $3 != "" { a[$3] = 1 } END { print length(a) }' list.csv)
expect "the list has 2,701 addresses" 2701 "$want"
# The forecast is a count: it runs in a read-only transaction (planning
# the notices and rolling back took 138 s at 3 M certificates).
out=$(PGOPTIONS="-c default_transaction_read_only=on" certrecall notify caa-2020 --plan 2>&1)
contains "--plan counts a notice per address, writing nothing" \
	"initial       2701       2701        0        0        0         850  2020-03-05T03:08:00Z" "$out"

mkdir -m 777 sink
sink_user=()
[ "$(id -u)" -eq 0 ] && sink_user=(-u nobody)
port=$((20000 + RANDOM % 20000))
/usr/sbin/smtp-sink "${sink_user[@]}" -d "$T_TMP/sink/%M." 127.0.0.1:$port 256 &
sink=$!
trap 'kill $sink 2>/dev/null; wait $sink 2>/dev/null' EXIT
sleep 0.3
export CERTRECALL_SMTP_PORT=$port CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_MAILER_MAX_MESSAGE_BYTES=65536
out=$(certrecall notify caa-2020 --no-progress 2>&1)
contains "every address is sent its notice" "initial: 2701 sent, 0 failed" "$out"

# Per recipient: messages, and for big@ each part's subject number and
# its CSV's serials.
check=$(/usr/bin/python3 - sink <<'PY'
import collections, csv, email, email.policy, glob, io, re, sys
per = collections.Counter()
parts, serials, sizes, problems, total = {}, [], [], [], 0
for name in glob.glob(sys.argv[1] + "/*"):
    raw = open(name, "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    rcpt = msg["X-Rcpt-Args"].strip("<>")
    if rcpt != "big@example.org":
        per[rcpt] += 1
        continue
    sizes.append(len(raw))
    m = re.search(r"\(part (\d+) of (\d+)\)", str(msg["Subject"]))
    if m is None:
        problems.append("a message to big@ without a part number")
        continue
    parts[int(m.group(1))] = parts.get(int(m.group(1)), 0) + 1
    total = int(m.group(2))
    for part in msg.walk():
        if part.get_filename() == "certificates.csv":
            rows = list(csv.DictReader(io.StringIO(part.get_content())))
            serials += [int(r["serial"], 16) for r in rows]
print("addresses", len(per) + (1 if parts else 0))
print("told-once", all(v == 1 for v in per.values()))
print("parts", sorted(parts) == list(range(1, total + 1)) and total > 1
      and all(v == 1 for v in parts.values()))
print("serials", sorted(serials) == list(range(65537, 68537)))
print("biggest", max(sizes) <= 65536 + 4096)
print(*problems)
PY
)
contains "every address got a message" "addresses 2701" "$check"
contains "no address got two" "told-once True" "$check"
contains "the big notice came as parts 1..k of k, each once" "parts True" "$check"
contains "the parts list each of its 3,000 certificates exactly once" "serials True" "$check"
contains "each part stays under the limit (smtp-sink adds its headers)" "biggest True" "$check"
out=$(certrecall notify caa-2020 --plan)
contains "after the run the forecast counts what was sent" \
	"initial          0          0     2701        0        0         850  2020-03-05T03:08:00Z" "$out"
expect "one sent notice per address in the database" 2701 \
	"$(db_sql -c "SELECT count(*) FROM notice WHERE state = 'sent'")"

# The lists planning writes are checked per statement (016, 031), not
# per row or per certificate.
free=$(db_sql -c "SELECT min(id) FROM notice WHERE state = 'no-address'")
one=$(db_sql -c "SELECT min(id) FROM certificate")
refused "a certificate list of no notice is refused" "does not exist" \
	"INSERT INTO notice_certificate_set VALUES (999999999, ARRAY[$one::bigint], 1)"
refused "a certificate list naming no certificate is refused" "does not exist" \
	"INSERT INTO notice_certificate_set VALUES ($free, ARRAY[$one, 999999999], 2)"
refused "a certificate list naming a certificate twice is refused" "twice" \
	"INSERT INTO notice_certificate_set VALUES ($free, ARRAY[$one, $one], 2)"
refused "a certificate list's count is its length" "violates check constraint" \
	"INSERT INTO notice_certificate_set VALUES ($free, ARRAY[$one::bigint], 2)"
refused "a certificate list does not change" "do not change" \
	"UPDATE notice_certificate_set SET certificate_ids = ARRAY[$one::bigint], certificates = 1 WHERE notice_id = (SELECT min(notice_id) FROM notice_certificate_set)"
db_sql -c "INSERT INTO notice_certificate_set VALUES ($free, ARRAY[$one::bigint], 1)" >/dev/null
expect "a list of existing rows is taken, and read back one row per certificate" "$free|$one" \
	"$(db_sql -c "SELECT notice_id, certificate_id FROM notice_certificate WHERE notice_id = $free")"
refused "a queue row for no notice is refused" "does not exist" \
	"INSERT INTO notice_queue (notice_id, incident_id, kind) VALUES (999999999, 1, 'initial')"
big=$(db_sql -c "SELECT id FROM notice WHERE address = 'big@example.org'")
db_sql -c "DELETE FROM notice WHERE id = $big" >/dev/null
expect "deleting a notice deletes its certificate links" 0 \
	"$(db_sql -c "SELECT count(*) FROM notice_certificate WHERE notice_id = $big")"
two=$(db_sql -c "SELECT notice_id FROM notice_certificate_set WHERE certificates > 1 ORDER BY notice_id LIMIT 1")
had=$(db_sql -c "SELECT certificates FROM notice_certificate_set WHERE notice_id = $two")
gone=$(db_sql -c "SELECT certificate_ids[1] FROM notice_certificate_set WHERE notice_id = $two")
db_sql -c "DELETE FROM certificate WHERE id = $gone" >/dev/null
expect "deleting a certificate takes it out of the lists that named it" "$((had - 1))|$((had - 1))|0" \
	"$(db_sql -c "SELECT certificates, cardinality(certificate_ids), count(*) FILTER (WHERE certificate_id = $gone) FROM notice_certificate_set, unnest(certificate_ids) certificate_id WHERE notice_id = $two GROUP BY 1, 2")"
# A list that carries the snapshot its certificates were read in (034)
# is probed only if certificates were deleted since: one deleted after
# the snapshot and still named is refused all the same.
expect "the deletion is recorded once, as a write" 1 \
	"$(db_sql -c "SELECT count(*) FROM certificate_delete_write")"
free2=$(db_sql -c "SELECT min(id) FROM notice WHERE state = 'no-address' AND id <> $free")
kept=$(db_sql -c "SELECT min(id) FROM certificate")
before=$(db_sql -c "SELECT pg_current_snapshot()")
late=$(db_sql -c "SELECT max(id) FROM certificate")
db_sql -c "DELETE FROM certificate WHERE id = $late" >/dev/null
refused "a list read before a deletion that names the deleted certificate is refused" \
	"does not exist" \
	"INSERT INTO notice_certificate_set (notice_id, certificate_ids, certificates, listed_as_of) VALUES ($free2, ARRAY[$kept, $late], 2, '$before')"
refused "so is one read since, that names a certificate twice" "twice" \
	"INSERT INTO notice_certificate_set (notice_id, certificate_ids, certificates, listed_as_of) VALUES ($free2, ARRAY[$kept, $kept], 2, pg_current_snapshot())"
db_sql -c "INSERT INTO notice_certificate_set (notice_id, certificate_ids, certificates, listed_as_of) VALUES ($free2, ARRAY[$kept::bigint], 1, '$before')" >/dev/null
expect "a list read before a deletion that names only kept certificates is taken" 1 \
	"$(db_sql -c "SELECT certificates FROM notice_certificate_set WHERE notice_id = $free2")"

# Memory does not grow with the big notices in flight: four hosting
# accounts of 20,000 certificates, four connections each claiming one
# notice (mailer.batch = 1) at the same moment.  A notice of more than
# 2,000 certificates is claimed without them and loaded, composed and
# sent one at a time in the process; before, every connection held its
# own whole: 142 MiB peak here, against 50 MiB now.
certrecall -q incident create --slug hosting --title "hosting" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
awk 'BEGIN {
	print "serial,account,email,names,not_after"
	for (i = 1; i <= 80000; i++) {
		a = int((i - 1) / 20000) + 1
		printf "%x,farm-%d,big%d@example.org,\"h%d.example;www.h%d.example\",2020-05-01\n", i + 1048576, a, a, i, i
	}
}' >hosting.csv
certrecall -q import hosting hosting.csv --no-progress
rm -f sink/*
out=$(CERTRECALL_MAILER_BATCH=1 CERTRECALL_MAILER_MAX_MESSAGE_BYTES=10485760 \
	/usr/bin/time -f '%M' -o rss.txt "$CERTRECALL_BIN" notify hosting --connections 4 --no-progress 2>&1)
contains "the four hosting notices are sent" "initial: 4 sent, 0 failed" "$out"
expect "each of the four got one message" 4 "$(ls sink | wc -l)"
rss=$(tail -1 rss.txt)
expect "notify's peak RSS with four 20,000-certificate notices in flight is under 100 MiB ($((rss / 1024)) MiB)" \
	yes "$([ "$rss" -lt $((100 * 1024)) ] && echo yes || echo no)"
finish
