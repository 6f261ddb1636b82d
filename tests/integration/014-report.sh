#!/usr/bin/env bash
# certrecall report and status: every figure cross-checked against direct
# SQL, the HTML page rendered by headless Chromium, JSON validated against
# docs/report.schema.json, the CCADB appendix, time zones, and incidents
# with nothing imported or nothing scanned yet.
. "$(dirname "$0")/lib.sh"
new_db report
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA <rechecking> bug | & more" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
cd "$T_TMP"
at=2020-03-06T00:00:00Z

# An incident with nothing imported says so instead of failing.
out=$(certrecall report caa-2020 --format md --at $at 2>&1)
expect "a report on an empty incident succeeds" 0 $?
contains "and says nothing is imported" "No certificates have been imported for this incident yet." "$out"
out=$(certrecall status caa-2020 --at $at 2>&1)
contains "status on an empty incident says what to do" "no certificates imported yet: certrecall import caa-2020 FILE" "$out"
ok "an empty incident's JSON report is valid" certrecall report caa-2020 --format json -o empty.json --at $at

# 300 certificates over 100 accounts (the first account holds 101), three
# addresses missing; 40 expire before the deadline.
{
	echo "serial,account,email,names,not_after,issued_at"
	for i in $(seq 1 300); do
		a=$((i <= 101 ? 1 : i - 100))
		[ $((i % 7)) -eq 0 ] && a=$(( (i % 100) + 1 ))
		mail="ops$a@example.org"
		[ "$a" -ge 98 ] && mail=""
		na=2020-05-01T00:00:00Z
		[ "$i" -le 40 ] && na=2020-03-0$((1 + i % 4))T12:00:00Z
		printf '%x,acct-%d,%s,h%d.example,%s,2020-01-01T00:00:00Z\n' $((i + 4096)) "$a" "$mail" "$i" "$na"
	done
} >list.csv
certrecall -q import caa-2020 list.csv --no-progress

out=$(certrecall report caa-2020 --format md --at $at)
contains "before any scan the report says so" "No scan has run yet" "$out"
contains "the rule is cited in words" "BR 4.9.1.1 (v1.6.7) 5-day list item 7" "$out"
contains "the title is escaped for Markdown" 'CAA \<rechecking\> bug \| & more' "$out"
contains "narrative fields are marked blank" "## Root cause analysis

**[TO BE WRITTEN]**" "$out"
contains "the MUST-by clock is listed" "| revoke-must | 2020-03-05T03:08:00Z | missed |" "$out"

# Revocations: 100 on time, 50 late, 10 after the report's moment.
{
	echo "serial,revoked_at,reason"
	for i in $(seq 41 140); do printf '%x,2020-03-0%dT%02d:00:00Z,superseded\n' $((i + 4096)) $((3 + i % 2)) $((i % 24)); done
	for i in $(seq 141 190); do printf '%x,2020-03-05T%02d:30:00Z,4\n' $((i + 4096)) $((4 + i % 19)); done
	for i in $(seq 191 200); do printf '%x,2020-03-08T00:00:00Z,4\n' $((i + 4096)); done
} >rev.csv
certrecall -q import caa-2020 --revocations rev.csv

# Notices under the rehearsal clock: sent "on 2020-03-01 10:00 UTC".
start_smtpd mail || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
CERTRECALL_CLOCK=2020-03-01T10:00:00Z certrecall -q notify caa-2020 --kind initial --no-progress
expect "the rehearsal clock stamps the notices" "2020-03-01 10:00:00+00" \
	"$(db_sql -c "SELECT DISTINCT sent_at FROM notice WHERE state = 'sent'")"
expect "and the event, keeping the real time beside it" "2020-03-01 10:00:00+00|t" \
	"$(db_sql -c "SELECT at, detail ? 'wall_clock' FROM event WHERE kind = 'notify.initial'")"

json=$(certrecall report caa-2020 --format json --at $at)
expect "the JSON report parses" ok "$(echo "$json" | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin); print("ok")')"
jq() { echo "$json" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
sqlv() { db_sql -c "SELECT certificate_verdict(revoked_at, not_after, '2020-03-05T03:08:00Z', '$at') v, count(*) FROM certificate GROUP BY v ORDER BY v" | tr '\n' ' '; }
expect "certificates match SQL" "$(db_sql -c "SELECT count(*) FROM certificate")" "$(jq 'd["impact"]["certificates"]')"
expect "accounts match SQL" "$(db_sql -c "SELECT count(DISTINCT account) FROM certificate")" "$(jq 'd["impact"]["accounts"]')"
expect "verdicts (C engine) match the SQL verdict function" "$(sqlv)" \
	"$(jq '" ".join("%s|%d" % (k, v) for k, v in sorted(d["impact"]["verdicts"].items()) if v) + " "')"
expect "revoked on time = revoked by MUST-by" 100 "$(jq 'd["impact"]["verdicts"]["revoked-on-time"]')"
expect "revoked late" \
	"$(db_sql -c "SELECT count(*) FROM certificate WHERE revoked_at > '2020-03-05T03:08:00Z' AND revoked_at <= '$at'")" \
	"$(jq 'd["impact"]["verdicts"]["revoked-late"]')"
expect "expired before the deadline" 40 "$(jq 'd["impact"]["verdicts"]["expired"]')"
expect "addresses notified match SQL" \
	"$(db_sql -c "SELECT count(DISTINCT address) FROM notice WHERE state = 'sent'")" \
	"$(jq 'd["notification"]["addresses_notified"]')"
expect "no-address accounts match SQL" \
	"$(db_sql -c "SELECT count(*) FROM notice WHERE state = 'no-address'")" \
	"$(jq 'd["notification"]["no_address_accounts"]')"
# Warning time runs from an address's first notice to the first
# revocation of its certificates (or MUST-by): from 2020-03-01 10:00 to
# the earliest revocation, 2020-03-03 00:00 (38 h), to the latest, late,
# 2020-03-05 22:30 (108.5 h).
warn_sql="WITH h AS (SELECT extract(epoch FROM coalesce((SELECT min(c.revoked_at) FROM certificate c
	  JOIN notice m ON c.account = ANY (m.accounts) WHERE m.address = f.address AND m.state = 'sent'
	  AND c.revoked_at <= '$at'), '2020-03-05T03:08:00Z') - f.first) / 3600 AS hours
	 FROM (SELECT address, min(sent_at) AS first FROM notice WHERE state = 'sent' GROUP BY address) f)"
expect "warning time: from the first notice to the first revocation (or MUST-by)" "38.0 108.5" \
	"$(jq '"%.1f %.1f" % (d["notification"]["warning_hours"]["min"], d["notification"]["warning_hours"]["max"])')"
expect "the warning-time extremes match SQL" "38.0 108.5" \
	"$(db_sql -c "$warn_sql SELECT round(min(hours)::numeric, 1) || ' ' || round(max(hours)::numeric, 1) FROM h")"
expect "the 3-4 days bucket holds the addresses SQL puts there" \
	"$(db_sql -c "$warn_sql SELECT count(*) FROM h WHERE hours >= 72 AND hours < 96")" \
	"$(jq '[b["addresses"] for b in d["notification"]["warning_hours"]["histogram"] if b["bucket"] == "3-4 days"][0]')"
expect "the histogram counts every notified address once" \
	"$(jq 'd["notification"]["addresses_notified"]')" \
	"$(jq 'sum(b["addresses"] for b in d["notification"]["warning_hours"]["histogram"])')"
expect "the revocation curve ends at the revoked count" 150 "$(jq 'd["revocation"]["curve"][-1]["revoked"]')"
expect "a delayed-revocation section once MUST-by passed unrevoked" \
	"$(db_sql -c "SELECT count(*) FROM certificate WHERE certificate_verdict(revoked_at, not_after, '2020-03-05T03:08:00Z', '$at') = 'overdue'")" \
	"$(jq 'd["delayed_revocation"]["not_revoked"]')"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	v=$(/usr/bin/python3 - "$ROOT/docs/report.schema.json" empty.json <(echo "$json") <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
for f in sys.argv[2:]:
    jsonschema.validate(json.load(open(f)), schema, cls=jsonschema.Draft202012Validator)
print("valid")
PY
)
	expect "both JSON reports validate against the schema" valid "$v"
else
	fail "python3-jsonschema is installed"
fi

# Markdown and HTML say the same; the HTML page is self-contained.
md=$(certrecall report caa-2020 --format md --at $at)
contains "md: delayed-revocation section" "## Delayed revocation" "$md"
contains "md: warning time" "minimum 38.0, median $(jq '"%.1f" % d["notification"]["warning_hours"]["median"]'), maximum 108.5" "$md"
contains "md: says events were recorded under the rehearsal clock" "**Rehearsal or replay:** 1 events" "$md"
expect "the timeline does not list the real time of a rehearsed event" "" "$(echo "$md" | grep '^| .*wall')"
certrecall report caa-2020 --format html -o report.html --at $at
expect "-o leaves no temporary file" "report.html" "$(ls report.html*)"
mkfifo fifo
cat fifo >fifo.out &
reader=$!
certrecall report caa-2020 --format md -o fifo --at $at
wait $reader
expect "-o to a pipe writes into it, never renames over it" "p 1" \
	"$(stat -c %A fifo | cut -c1) $(grep -c '^# Incident report' fifo.out)"
html=$(cat report.html)
expect "the page has four charts" 4 "$(grep -c '<svg id="chart-' report.html)"
expect "no script, no external request" "" "$(grep -Eio '<script|src="http|href="http|url\(' report.html)"
contains "the title is HTML-escaped" "CAA &lt;rechecking&gt; bug | &amp; more" "$html"
if /usr/bin/python3 -c 'import html5lib' && command -v chromium >/dev/null; then
	# html5lib in strict mode raises on any HTML5 parse error.
	v=$(/usr/bin/python3 -c '
import html5lib, sys
doc = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(open(sys.argv[1], "rb").read())
print("valid", len(doc.findall(".//{http://www.w3.org/2000/svg}svg")))' report.html 2>&1)
	expect "the HTML is valid HTML5 (strict html5lib) with four SVG charts" "valid 4" "$v"
	dom=$(timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-default-apps --disable-sync --no-first-run \
		--user-data-dir="$T_TMP/chrome-dom" --dump-dom "file://$T_TMP/report.html" 2>/dev/null)
	expect "the page Chromium rendered contains the four charts" 4 \
		"$(echo "$dom" | grep -o '<svg id="chart-[a-z]*"' | sort -u | wc -l)"
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-default-apps --disable-sync --no-first-run \
		--user-data-dir="$T_TMP/chrome" --window-size=1000,2400 \
		--screenshot="$T_TMP/report.png" "file://$T_TMP/report.html" >chrome.log 2>&1
	if [ -s report.png ]; then
		colours=$(/usr/bin/python3 - report.png <<'PY'
import sys, zlib, struct
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w, h = 8, b"", 0, 0
while pos < len(data):
    n, t = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if t == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    if t == b"IDAT": idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = 4 if ctype == 6 else 3
stride = w * bpp + 1
# Count distinct bytes on sampled rows (filter bytes differ, but a blank
# page compresses to rows of one value).
seen = set()
for y in range(0, h, max(1, h // 200)):
    row = raw[y * stride + 1:(y + 1) * stride]
    seen.update(row[::bpp * 7])
print(len(seen))
PY
)
		[ "${colours:-0}" -gt 8 ] && pass "Chromium renders the report to a non-blank PNG ($colours levels)" ||
			fail "Chromium renders the report to a non-blank PNG ($colours levels)"
	else
		fail "Chromium renders the report to a PNG"; tail -5 chrome.log
	fi
else
	fail "chromium and python3-html5lib are installed"
fi

# Time zones change nothing.
a=$(TZ=Asia/Tokyo certrecall report caa-2020 --format md --at $at)
b=$(TZ=America/New_York certrecall report caa-2020 --format json --at $at)
c=$(TZ=America/New_York certrecall report caa-2020 --format md --at $at)
expect "Markdown is identical in Tokyo and New York" "$a" "$c"
expect "JSON is identical in any TZ" "$json" "$b"

# Per-certificate CSV and the CCADB appendix.
certrecall report caa-2020 --format csv -o certs.csv --at $at 2>csv.err
expect "the CSV has a header and one row per certificate" 301 "$(wc -l <certs.csv)"
expect "CSV verdicts tally with the summary" "$(jq 'd["impact"]["verdicts"]["overdue"]')" \
	"$(grep -c ',overdue,' certs.csv)"
certrecall report caa-2020 --format ccadb -o ccadb.csv --at $at 2>ccadb.err
expect "CCADB: the 11 columns in the guidelines' order" \
	"Precertificate SHA-256,Certificate SHA-256,Subject,Issuer,Not before,Not after,Serial #,dNSNames,Is revoked?,Revocation date,Revocation reason" \
	"$(head -1 ccadb.csv)"
expect "CCADB: one row per certificate" 301 "$(wc -l <ccadb.csv)"
expect "CCADB: Is revoked? is Yes / Planned / Delayed / N/A" "Delayed N/A Yes" \
	"$(tail -n +2 ccadb.csv | awk -F, '{print $9}' | sort -u | tr '\n' ' ' | sed 's/ $//')"
contains "CCADB: a revoked row carries date and reason" ",1001,h1.example,N/A,," "$(grep '^,,,,.*,1001,' ccadb.csv)"
contains "CCADB: a superseded revocation" "Yes,2020-03-04T17:00:00Z,superseded" "$(grep ',1029,' ccadb.csv)"
contains "CCADB: missing columns are named" 'column "Certificate SHA-256" is empty for 300 of 300' "$(cat ccadb.err)"
out=$(certrecall --set report.crtsh_threshold=100 report caa-2020 --format ccadb --at $at 2>&1 >links.txt)
expect "at the threshold: one crt.sh line per certificate" 300 "$(grep -c '^https://crt.sh/?' links.txt)"
contains "and it says which could not be linked by SHA-256" "300 of 300 certificates have no SHA-256" "$out"

# The dashboard.
out=$(certrecall status caa-2020 --at $at)
contains "status: clocks" "revoke-must" "$out"
contains "status: revocation bar" "REVOCATION    [" "$out"
contains "status: the next step names the unrevoked count" "certificates unrevoked, MUST-by passed" "$out"
contains "status: last activity of notify" "notify 2020-03-01 10:00 UTC" "$(tr -s ' ' <<<"$out")"
contains "status keeps the verdict counts" "revoked on time 100" "$out"
out=$(timeout 3 "$CERTRECALL_BIN" status caa-2020 --watch=1 | grep -c '^REVOCATION')
[ "$out" -ge 2 ] && pass "--watch redraws ($out screens in 3 s)" || fail "--watch redraws ($out screens in 3 s)"
expect "each report run is in the audit trail" 0 \
	"$(db_sql -c "SELECT count(*) < 8 FROM event WHERE kind = 'report'" | sed 's/f/0/;s/t/1/')"
fails "an unknown format is refused" 64 certrecall report caa-2020 --format pdf

# A long audit trail (a cron job every minute for four days): the timeline
# keeps its first and last 2,500 events and says exactly what it leaves
# out and where to get it, in every format; --format events lists all.
certrecall -q incident create --slug busy --title "busy" --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
db_sql -c "INSERT INTO event (incident_id, at, actor, host, command, kind, detail)
	SELECT (SELECT id FROM incident WHERE slug = 'busy'),
	 timestamptz '2020-02-29 04:00:00+00' + n * interval '1 minute',
	 'cron', 'host1', 'certrecall scan busy', 'scan', jsonb_build_object('n', n)
	FROM generate_series(1, 6000) n"
bat=2020-03-10T00:00:00Z
md=$(certrecall report busy --format md --at $bat)
contains "md: the timeline says what it leaves out, from when to when" \
	"of 6,000 audit-trail events, 1,000 from 2020-03-01 21:41 UTC to 2020-03-02 14:20 UTC are left out here" "$md"
contains "md: and where to get them" '`certrecall report busy --format events` lists every one' "$md"
expect "md: the first and the last 2,500 events are in the timeline, runs as one line each" 5000 \
	"$(sed -n 's/^- 2020-.* — scan: \([0-9,]*\) runs, .*/\1/p' <<<"$md" | tr -d , | awk '{ s += $1 } END { print s }')"
contains "md: a milestone (SHOULD-by) breaks a run" "- 2020-02-29 04:01:00Z — scan: 1,387 runs, 2020-02-29 04:01Z – 2020-03-01 03:07Z
- 2020-03-01 03:08:00Z — SHOULD-by: revocation due
- 2020-03-01 03:08:00Z — scan: 1,113 runs, 2020-03-01 03:08–21:40Z" "$md"
contains "md: the last event is there" "- 2020-03-02 14:21:00Z — scan: 2,500 runs, 2020-03-02 14:21Z – 2020-03-04 08:00Z" "$md"
contains "md: the omission has its line in the timeline" "- 2020-03-01 21:41:00Z — 1000 more events from 2020-03-01T21:41:00Z to 2020-03-02T14:20:00Z omitted here" "$md"
html=$(certrecall report busy --format html --at $bat)
contains "html: says the same" "1,000 from 2020-03-01 21:41 UTC to 2020-03-02 14:20 UTC are left out here" "$html"
contains "html: and where to get them" "<code>certrecall report busy --format events</code>" "$html"
bjson=$(certrecall report busy --format json --at $bat)
expect "json: timeline_omitted counts, dates and names the command" \
	"1000 6000 2020-03-01T21:41:00Z 2020-03-02T14:20:00Z certrecall report busy --format events" \
	"$(/usr/bin/python3 -c 'import json,sys; o=json.load(sys.stdin)["timeline_omitted"]; print(o["events"], o["of"], o["from"], o["to"], o["command"])' <<<"$bjson")"
expect "json: a complete timeline has timeline_omitted null" None \
	"$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["timeline_omitted"])' <<<"$json")"
v=$(/usr/bin/python3 - "$ROOT/docs/report.schema.json" <(echo "$bjson") <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)
print("valid")
PY
)
expect "json: the cut report validates against the schema" valid "$v"
certrecall report busy --format events --at $bat -o events.csv 2>/dev/null
expect "--format events lists every event" 6001 "$(wc -l <events.csv)"
expect "with its header" "at,kind,actor,host,command,detail" "$(head -1 events.csv)"
expect "oldest first, to the microsecond" '2020-02-29T04:01:00.000000Z,scan,cron,host1,certrecall scan busy,"{""n"": 1}"' "$(sed -n 2p events.csv)"
finish
