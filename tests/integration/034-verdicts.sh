#!/usr/bin/env bash
# Every verdict defined once (issue 17): the C decision tables of
# src/core/verdict.c, printed by build/tests/test_verdict, run through
# every SQL path that uses them -- certificate_verdict() directly, the
# report's certificate CSV and CCADB export (COPY, no C on the rows), the
# C counts of status and the JSON report; deployment_verdict() directly,
# incident_deployment() (the report) and certificate_scan_verdict[_inline]()
# (notices) -- and must agree row for row.
. "$(dirname "$0")/lib.sh"
TV=$ROOT/build/tests/test_verdict
[ -x "$TV" ] || { fail "build/tests/test_verdict is built (make unit)"; finish; }
new_db verdicts
certrecall -q db migrate
cd "$T_TMP"

# --- the certificate verdict ----------------------------------------------
"$TV" --table cert >cert.csv
expect "the C certificate table has every ordering (6 x 6 x 5)" 180 "$(wc -l <cert.csv)"
db_sql -c "CREATE TABLE vt_cert (revoked_at timestamptz, not_after timestamptz,
	must_by timestamptz, at timestamptz, verdict text)" \
	-c "\\copy vt_cert FROM 'cert.csv' WITH (FORMAT csv)"
expect "certificate_verdict() gives the C verdict for every row" "" \
	"$(db_sql -c "SELECT revoked_at, not_after, at, verdict, certificate_verdict(revoked_at, not_after, must_by, at)
		FROM vt_cert WHERE certificate_verdict(revoked_at, not_after, must_by, at) IS DISTINCT FROM verdict")"
expect "the table covers all five verdicts" 5 "$(db_sql -c "SELECT count(DISTINCT verdict) FROM vt_cert")"

# One certificate per (revoked_at, not_after) pair; MUST-by of
# v1.6.7:5d-7 aware at 2020-02-29T03:08:00Z is 2020-03-05T03:08:00Z.
must=$(db_sql -c "SELECT DISTINCT to_char(must_by AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM vt_cert")
expect "the table is against the incident's MUST-by" 2020-03-05T03:08:00Z "$must"
certrecall -q incident create --slug v --title v --reason v1.6.7:5d-7 \
	--aware-at 2020-02-29T03:08:00Z
db_sql -c "CREATE TABLE vt_pair AS SELECT row_number() OVER (ORDER BY revoked_at NULLS FIRST, not_after NULLS FIRST) + 4095 AS n,
	revoked_at, not_after FROM (SELECT DISTINCT revoked_at, not_after FROM vt_cert) p"
db_sql -c "\\copy (SELECT to_hex(n), 'c' || n || '.test', to_char(not_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM vt_pair ORDER BY n) TO 'certs.body' WITH (FORMAT csv)"
{ echo "serial,names,not_after"; cat certs.body; } >certs.csv
certrecall -q import v certs.csv --no-progress
db_sql -c "\\copy (SELECT to_hex(n), to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 4 FROM vt_pair WHERE revoked_at IS NOT NULL ORDER BY n) TO 'rev.body' WITH (FORMAT csv)"
{ echo "serial,revoked_at,reason"; cat rev.body; } >rev.csv
certrecall -q import v --revocations rev.csv
expect "every pair is a certificate, as imported" \
	"$(db_sql -c "SELECT count(*) FROM vt_pair")|0" \
	"$(db_sql -c "SELECT count(*), count(*) FILTER (WHERE c.revoked_at IS DISTINCT FROM p.revoked_at
		OR c.not_after IS DISTINCT FROM p.not_after)
		FROM certificate c JOIN vt_pair p ON c.serial = decode(lpad(to_hex(p.n), 4, '0'), 'hex')")"

ccadb_word() { # the CCADB "revoked?" column of a verdict, as report_store.c writes it
	echo "CASE $1 WHEN 'revoked-on-time' THEN 'Yes' WHEN 'revoked-late' THEN 'Yes'
		WHEN 'pending' THEN 'Planned' WHEN 'overdue' THEN 'Delayed' ELSE 'N/A' END"
}
db_sql -c "CREATE TABLE vt_out (at timestamptz, serial text, verdict text, ccadb text)"
for at in $(db_sql -c "SELECT DISTINCT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM vt_cert ORDER BY 1"); do
	certrecall report v --format csv --at "$at" -o "csv-$at.csv" 2>/dev/null
	certrecall report v --format ccadb --at "$at" -o "ccadb-$at.csv" 2>/dev/null
	certrecall report v --format json --at "$at" -o "json-$at.json" 2>/dev/null
	/usr/bin/python3 - "$at" "csv-$at.csv" "ccadb-$at.csv" >>out.csv <<'PY'
import csv, sys
at, rows, ccadb = sys.argv[1], list(csv.reader(open(sys.argv[2]))), list(csv.reader(open(sys.argv[3])))
h, c = rows[0], ccadb[0]
si, vi = h.index("serial"), h.index("verdict")
cs, cw = c.index("Serial #"), c.index("Is revoked?")  # upper-case hex
word = {r[cs].lower(): r[cw] for r in ccadb[1:]}
for r in rows[1:]:
    print("%s,%s,%s,%s" % (at, r[si], r[vi], word.get(r[si], "missing")))
PY
	# the C path: incident_verdicts() streams the rows through verdict_cert()
	/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k, v in sorted(d["impact"]["verdicts"].items()):
    print("%s|%s" % (k, v))' "json-$at.json" >"c-$at.txt"
	expect "at $at: the C counts (status, JSON report) are the table's" \
		"$(db_sql -c "SELECT v, count(x.verdict) FROM unnest(ARRAY['expired','overdue','pending','revoked-late','revoked-on-time']) v
			LEFT JOIN vt_cert x ON x.verdict = v AND x.at = '$at' GROUP BY v ORDER BY v")" \
		"$(cat "c-$at.txt")"
	contains "at $at: status shows the same overdue count" \
		"$(db_sql -c "SELECT count(*) FROM vt_cert WHERE at = '$at' AND verdict = 'overdue'")" \
		"$(certrecall status v --at "$at" 2>&1)"
done
db_sql -c "\\copy vt_out FROM 'out.csv' WITH (FORMAT csv)"
expect "the report's CSV rows: one per certificate and moment" 180 "$(db_sql -c "SELECT count(*) FROM vt_out")"
expect "the report's CSV verdict is the C verdict for every row" "" \
	"$(db_sql -c "SELECT o.at, o.serial, o.verdict, x.verdict FROM vt_out o
		JOIN vt_pair p ON lpad(to_hex(p.n), 4, '0') = o.serial
		JOIN vt_cert x ON x.at = o.at AND x.revoked_at IS NOT DISTINCT FROM p.revoked_at
			AND x.not_after IS NOT DISTINCT FROM p.not_after
		WHERE o.verdict IS DISTINCT FROM x.verdict
		UNION ALL SELECT o.at, o.serial, o.verdict, 'no C row' FROM vt_out o
		WHERE NOT EXISTS (SELECT 1 FROM vt_pair p WHERE lpad(to_hex(p.n), 4, '0') = o.serial)")"
expect "the CCADB column follows the C verdict for every row" "" \
	"$(db_sql -c "SELECT o.at, o.serial, o.ccadb, x.verdict FROM vt_out o
		JOIN vt_pair p ON lpad(to_hex(p.n), 4, '0') = o.serial
		JOIN vt_cert x ON x.at = o.at AND x.revoked_at IS NOT DISTINCT FROM p.revoked_at
			AND x.not_after IS NOT DISTINCT FROM p.not_after
		WHERE o.ccadb IS DISTINCT FROM $(ccadb_word x.verdict)")"

# --- the deployment roll-up -----------------------------------------------
"$TV" --table deployment >dep.csv
expect "the C deployment table: every fact true, false or NULL (3^3)" 27 "$(wc -l <dep.csv)"
db_sql -c "CREATE TABLE vt_dep (unscanned boolean, served boolean, replaced boolean, verdict text)" \
	-c "\\copy vt_dep FROM 'dep.csv' WITH (FORMAT csv)"
expect "deployment_verdict() gives the C verdict for every row" "" \
	"$(db_sql -c "SELECT *, deployment_verdict(unscanned, served, replaced) FROM vt_dep
		WHERE deployment_verdict(unscanned, served, replaced) IS DISTINCT FROM verdict")"

# Certificates whose names' latest rounds make each combination of the
# three facts that can occur; the facts are stated here, the verdict comes
# from the C table, and both callers of deployment_verdict() must give it.
certrecall -q incident create --slug d --title d --reason br-12 --aware-at 2024-01-01T00:00:00Z
cat >dcerts.csv <<'EOF'
serial,names
0d01,a1.test
0d02,b1.test
0d03,"c1.test;c2.test"
0d04,d1.test
0d05,"e1.test;e2.test"
0d06,f1.test
0d07,g1.test
0d08,"h1.test;h2.test"
0d09,"i1.test;i2.test"
EOF
certrecall -q import d dcerts.csv --no-progress
db_sql -c "INSERT INTO scan_target (incident_id, name, port)
	SELECT DISTINCT c.incident_id, n, 443 FROM certificate c JOIN incident i ON i.id = c.incident_id
	CROSS JOIN LATERAL unnest(c.names) n WHERE i.slug = 'd'"
# observe NAME VERDICT [SERVED-SERIAL-HEX]: one address of NAME's round 1
observe() {
	db_sql -c "UPDATE scan_target SET round = 1, state = 'done' WHERE name = '$1'
		AND incident_id = (SELECT id FROM incident WHERE slug = 'd')" \
		-c "INSERT INTO observation (target_id, round, worker, address, verdict, served_serial)
		SELECT id, 1, 't', '127.0.0.2', '$2', decode(nullif('${3:-}', ''), 'hex') FROM scan_target
		WHERE name = '$1' AND incident_id = (SELECT id FROM incident WHERE slug = 'd')"
}
observe b1.test serving-affected 0d02
observe c1.test serving-replacement 0ff1
observe c2.test serving-replacement 0ff2
observe d1.test serving-other 0ff3
observe e1.test serving-replacement 0ff4
observe f1.test serving-affected 0d06
observe f1.test serving-replacement 0ff5
observe g1.test timeout
observe h1.test serving-affected 0d08
observe i1.test serving-replacement 0ff6
db_sql -c "UPDATE scan_target SET probeable = false WHERE name = 'i2.test'"
expect "every name of the fixture is a target" 13 \
	"$(db_sql -c "SELECT count(*) FROM scan_target t JOIN incident i ON i.id = t.incident_id WHERE i.slug = 'd'")"
db_sql -c "CREATE TABLE vt_case (serial text, unscanned boolean, served boolean, replaced boolean)
	" -c "INSERT INTO vt_case VALUES
	('0d01', true, false, false),  -- never probed
	('0d02', false, true, false),  -- served
	('0d03', false, false, true),  -- every name serves a replacement
	('0d04', false, false, false), -- another certificate
	('0d05', false, false, false), -- one name replaced, one not probed
	('0d06', false, true, true),   -- one address serves it, one a replacement
	('0d07', false, false, false), -- a timeout is never 'not deployed'
	('0d08', false, true, false),  -- served on one name, other not probed
	('0d09', false, false, true)   -- the only probeable name replaced"
expect "the fixture meets every reachable combination but 'unscanned and more'" 5 \
	"$(db_sql -c "SELECT count(DISTINCT (unscanned, served, replaced)) FROM vt_case")"
rollup="SELECT c.serial, coalesce(d.deployment, 'not scanned'), s.verdict, certificate_scan_verdict(c.incident_id, c.serial, c.names)
	FROM certificate c JOIN incident i ON i.id = c.incident_id AND i.slug = 'd'
	LEFT JOIN incident_deployment(i.id) d ON d.certificate_id = c.id
	CROSS JOIN LATERAL certificate_scan_verdict_inline(c.incident_id, c.serial, c.names,
		c.issuer_name, c.sha256, c.is_precert) s"
expect "incident_deployment() and certificate_scan_verdict[_inline]() give the C verdict" "" \
	"$(db_sql -c "SELECT r.*, x.verdict AS c_verdict FROM ($rollup) r(serial, report, inline, scalar)
		JOIN vt_case k ON k.serial = encode(r.serial, 'hex')
		JOIN vt_dep x ON (x.unscanned, x.served, x.replaced) = (k.unscanned, k.served, k.replaced)
		WHERE r.report IS DISTINCT FROM x.verdict OR r.inline IS DISTINCT FROM x.verdict
		OR r.scalar IS DISTINCT FROM x.verdict")"
expect "every fixture certificate was compared" 9 \
	"$(db_sql -c "SELECT count(*) FROM ($rollup) r(serial) JOIN vt_case k ON k.serial = encode(r.serial, 'hex')")"
certrecall report d --format csv --at 2024-01-02T00:00:00Z -o d.csv 2>/dev/null
expect "the report's deployment column is the C verdict" \
	"$(db_sql -c "SELECT k.serial || ',' || x.verdict FROM vt_case k
		JOIN vt_dep x ON (x.unscanned, x.served, x.replaced) = (k.unscanned, k.served, k.replaced) ORDER BY 1")" \
	"$(/usr/bin/python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
h = rows[0]
for r in sorted(rows[1:]):
    print("%s,%s" % (r[h.index("serial")], r[h.index("deployment")]))' d.csv)"

# The roll-up and the verdict are inlined into their callers (no call per
# row: the report stays one set-based pass); incident_deployment() itself
# carries SET options, so it is called, once.
calls=$(db_sql -c "SET track_functions = 'all'" -c "BEGIN" \
	-c "SELECT count(*) FROM incident_deployment((SELECT id FROM incident WHERE slug = 'd'))" \
	-c "SELECT count(s.verdict) FROM certificate c CROSS JOIN LATERAL certificate_scan_verdict_inline(c.incident_id, c.serial, c.names, c.issuer_name, c.sha256, c.is_precert) s" \
	-c "SELECT count(certificate_verdict(revoked_at, not_after, now(), now())) FROM certificate" \
	-c "SELECT string_agg(funcname || '=' || calls, ' ' ORDER BY funcname) FROM pg_stat_xact_user_functions" \
	-c "COMMIT" | tail -1)
expect "per-row verdict functions are inlined (calls seen: $calls)" "incident_deployment=1" "$calls"
finish
