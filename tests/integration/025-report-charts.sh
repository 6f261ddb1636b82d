#!/usr/bin/env bash
# The HTML report's charts read what the other commands say: Chromium
# renders the page and the test reads from its DOM that the burn-down's
# labelled values are `deadlines --json`'s unrevoked counts at SHOULD-by,
# MUST-by and the report's moment, that the deployment legend's counts
# are the table's and add up to the incident, that the time axis stops
# where the deadlines and "as of" need it, and that at 1280 px no table
# cell's text is broken over two lines (a test-only copy of the page with
# a script appended measures each cell's line boxes).  A PDF is printed.
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null && /usr/bin/python3 -c 'import html5lib' ||
	{ fail "chromium and python3-html5lib are installed"; finish; }
new_db charts
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
cd "$T_TMP"
should=2020-03-01T03:08:00Z must=2020-03-05T03:08:00Z

# Demo-like: 600 certificates over 200 accounts, 30 expiring before
# MUST-by; 60 revoked before SHOULD-by, 300 between SHOULD-by and
# MUST-by, 100 late.
{
	echo "serial,account,email,names,not_after,issued_at"
	for i in $(seq 1 600); do
		na=2020-05-01T00:00:00Z
		[ "$i" -le 30 ] && na=2020-03-0$((2 + i % 3))T12:00:00Z
		printf '%x,acct-%d,ops%d@example.org,h%d.example,%s,2020-01-01T00:00:00Z\n' \
			$((i + 4096)) $((i % 200)) $((i % 200)) "$i" "$na"
	done
} >list.csv
CERTRECALL_CLOCK=2020-02-29T05:22:10Z certrecall -q import caa-2020 list.csv --no-progress
{
	echo "serial,revoked_at,reason"
	for i in $(seq 31 90); do printf '%x,2020-02-29T%02d:00:00Z,4\n' $((i + 4096)) $((10 + i % 12)); done
	for i in $(seq 91 390); do printf '%x,2020-03-0%dT%02d:%02d:00Z,4\n' $((i + 4096)) $((2 + i % 3)) $((i % 24)) $((i % 60)); done
	for i in $(seq 391 490); do printf '%x,2020-03-05T%02d:15:00Z,4\n' $((i + 4096)) $((4 + i % 19)); done
} >rev.csv
CERTRECALL_CLOCK=2020-03-05T23:00:00Z certrecall -q import caa-2020 --revocations rev.csv
# Three drafts of the report in a row: one line in the timeline.
for m in 10 20 30; do
	CERTRECALL_CLOCK=2020-03-02T12:$m:00Z certrecall report caa-2020 --format md -o /dev/null 2>/dev/null
done

unrevoked() { certrecall deadlines caa-2020 --json --at "$1" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["progress"]["unrevoked"])'; }
dom() { timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-default-apps --disable-sync --no-first-run \
	--user-data-dir="$T_TMP/chrome-$2" --window-size=1280,1000 --virtual-time-budget=5000 \
	--dump-dom "file://$T_TMP/$1" 2>/dev/null; }
# attr HTML ID ATTRIBUTE: an element's attribute, or "absent".
attr() { /usr/bin/python3 - "$@" <<'PY'
import sys, html5lib
doc = html5lib.parse(open(sys.argv[1], "rb").read(), namespaceHTMLElements=False)
e = [x for x in doc.iter() if x.get("id") == sys.argv[2]]
print(e[0].get(sys.argv[3]) if e else "absent")
PY
}

for at in 2020-03-06T00:00:00Z 2020-03-04T00:00:00Z; do
	certrecall report caa-2020 --format html -o "r-$at.html" --at $at 2>/dev/null
	v=$(/usr/bin/python3 -c '
import html5lib, sys
html5lib.HTMLParser(strict=True).parse(open(sys.argv[1], "rb").read())
print("valid")' "r-$at.html" 2>&1)
	expect "$at: strict html5lib parses the page" valid "$v"
	dom "r-$at.html" "$at" >"dom-$at.html"
	expect "$at: Chromium renders four charts" 4 "$(grep -o '<svg id="chart-[a-z]*"' "dom-$at.html" | sort -u | wc -l)"
	expect "$at: the burn-down's SHOULD-by value is deadlines' unrevoked at SHOULD-by" \
		"$(unrevoked $should)" "$(attr "dom-$at.html" burndown-should data-value)"
	expect "$at: its value as of the report is deadlines' unrevoked then" \
		"$(unrevoked $at)" "$(attr "dom-$at.html" burndown-at data-value)"
	expect "$at: the burn-down's values are the JSON report's still_to_revoke" \
		"$(certrecall report caa-2020 --format json --at $at | /usr/bin/python3 -c '
import json,sys; v=json.load(sys.stdin)["revocation"]["still_to_revoke"]
print(*("absent" if v[k] is None else v[k] for k in ("at_should_by", "at_must_by", "at")))')" \
		"$(for id in should must at; do attr "dom-$at.html" burndown-$id data-value; done | tr '\n' ' ' | sed 's/ $//')"
done
at=2020-03-06T00:00:00Z
# Past MUST-by (nothing left that could still expire before it) the
# verdicts agree: pending + overdue is what is still to revoke.
expect "past MUST-by, the JSON verdicts pending + overdue are the value as of the report" \
	"$(certrecall report caa-2020 --format json --at $at | /usr/bin/python3 -c '
import json,sys; v=json.load(sys.stdin)["impact"]["verdicts"]; print(v["pending"] + v["overdue"])')" \
	"$(attr "dom-$at.html" burndown-at data-value)"
expect "past MUST-by, the MUST-by value is deadlines' unrevoked at MUST-by" \
	"$(unrevoked $must)" "$(attr "dom-$at.html" burndown-must data-value)"
expect "past MUST-by, the time axis ends at the report's moment" $at "$(attr "dom-$at.html" chart-burndown data-to)"
expect "before MUST-by, no value is made up for MUST-by" absent "$(attr "dom-2020-03-04T00:00:00Z.html" burndown-must data-value)"
expect "before MUST-by, the time axis ends at MUST-by (what the deadline needs)" $must \
	"$(attr "dom-2020-03-04T00:00:00Z.html" chart-burndown data-to)"
expect "the axis starts when the CA became aware" 2020-02-29T03:08:00Z "$(attr "dom-$at.html" chart-burndown data-from)"

# The deployment legend is the table beside it, and adds up to the incident.
v=$(/usr/bin/python3 - "dom-$at.html" <<'PY'
import sys, html5lib
doc = html5lib.parse(open(sys.argv[1], "rb").read(), namespaceHTMLElements=False)
legend = {e.get("data-deploy"): int(e.get("data-value")) for e in doc.iter() if e.get("data-deploy")}
table = None
for t in doc.iter("table"):
    if "".join(t.find(".//th").itertext()) == "Deployment":
        table = t
rows = {}
for tr in table.iter("tr"):
    cells = ["".join(td.itertext()) for td in tr.findall("td")]
    if cells:
        rows[cells[0].replace("still to revoke, ", "")] = int(cells[1].replace(",", ""))
bad = [k for k in legend if rows.get(k) != legend[k]]
print("same" if not bad and len(legend) == 5 else "differ %s %s" % (legend, rows),
      sum(legend.values()), rows["total"])
PY
)
expect "the deployment legend's five counts are the table's, adding up to the total" "same 600 600" "$v"

# At 1280 px no table cell's text runs over two lines (cells of prose,
# class "text", excepted): a copy of the page with a measuring script.
sed 's|</body>|<script>var bad=[];document.querySelectorAll("td:not(.text),th").forEach(function(c){var r=document.createRange();r.selectNodeContents(c);var tops={};Array.prototype.forEach.call(r.getClientRects(),function(b){if(b.width>0)tops[Math.round(b.top)]=1});if(Object.keys(tops).length>1)bad.push(c.textContent)});document.body.setAttribute("data-wrapped",bad.length+": "+bad.join(" / "))</script></body>|' \
	"r-$at.html" >measure.html
dom measure.html measure >measure-dom.html
expect "at 1280 px no table cell is broken over two lines" "0: " \
	"$(/usr/bin/python3 -c '
import html5lib, sys
doc = html5lib.parse(open(sys.argv[1], "rb").read(), namespaceHTMLElements=False)
print(doc.find("body").get("data-wrapped"))' measure-dom.html)"
contains "times never wrap (white-space: nowrap on time and number cells)" "td{white-space:nowrap}" "$(cat "r-$at.html")"
contains "the page has print rules" "@media print{" "$(cat "r-$at.html")"

# The timeline in words, with the import said as a person would.
contains "the timeline says what was imported, from which file" \
	"2020-02-29 05:22:10Z</time> &mdash; imported 600 certificates from list.csv (200 accounts" "$(cat "r-$at.html")"
contains "and a run of one kind as one line" \
	"2020-03-02 12:10:00Z</time> &mdash; report: 3 runs, 3 reports, 2020-03-02 12:10–12:30Z" "$(cat "r-$at.html")"
md=$(certrecall report caa-2020 --format md --at $at)
contains "the Markdown timeline says the same" "- 2020-02-29 05:22:10Z — imported 600 certificates from list.csv" "$md"

# It prints: Chromium writes a PDF whose text has the charts' labels.
timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T_TMP/chrome-pdf" \
	--no-pdf-header-footer --print-to-pdf="$T_TMP/report.pdf" "file://$T_TMP/r-$at.html" >pdf.log 2>&1
expect "Chromium prints the report to a PDF" "%PDF" "$(head -c 4 report.pdf 2>/dev/null)"
if command -v pdftotext >/dev/null; then
	contains "the PDF's text has the burn-down's MUST-by value" \
		"$(unrevoked $must) at MUST-by" "$(pdftotext report.pdf - 2>/dev/null)"
fi
finish
