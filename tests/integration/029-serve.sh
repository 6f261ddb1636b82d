#!/usr/bin/env bash
# certrecall serve against real clients: curl, a python3 urllib ACME-style
# ARI client, headless Chromium for the self-check page, and a slowloris
# crowd.  The incident is LE 2020's shape (aware 2020-02-29T03:08:00Z,
# v1.6.7 5d-7: revoke by 2020-03-05T03:08:00Z), replayed on the rehearsal
# clock.  Two instances serve one database (stateless).
. "$(dirname "$0")/lib.sh"

FLEET=$T_TMP/fleet
PIDS=()
cleanup() {
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
	"$ROOT/tests/tlsfleet.sh" stop "$FLEET" >/dev/null 2>&1
}
trap cleanup EXIT

read -r TP DP < <("$ROOT/tests/tlsfleet.sh" start "$FLEET")
if [ -z "${DP:-}" ]; then
	fail "the test fleet starts"
	finish
fi
export CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DP
export CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=2s
export CERTRECALL_SCANNER_CONNECT_TIMEOUT=2s
export CERTRECALL_SCANNER_IPV6=false

# RFC 9773 4.1's example: an issuer whose key identifier is
# 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4 and a
# certificate with serial 0x87654321 have the certID below.
RFC=$T_TMP/rfc
mkdir -p "$RFC"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$RFC/ca.key" -out "$RFC/ca.pem" -days 3650 -subj "/CN=RFC 9773 CA" \
	-addext "subjectKeyIdentifier=69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4" \
	-addext "basicConstraints=critical,CA:true" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$RFC/leaf.key" -subj "/CN=rfc.test" -out "$RFC/leaf.csr" 2>/dev/null
printf 'authorityKeyIdentifier=keyid\nsubjectAltName=DNS:rfc.test\n' >"$RFC/ext"
openssl x509 -req -in "$RFC/leaf.csr" -CA "$RFC/ca.pem" -CAkey "$RFC/ca.key" \
	-set_serial 0x87654321 -days 3650 -extfile "$RFC/ext" -out "$RFC/leaf.pem" 2>/dev/null
RFC_ID=aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE

new_db serve
certrecall -q db migrate
certrecall -q incident create --slug caa-2020 --title "CAA recheck bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import caa-2020 "$RFC/leaf.pem" --format pem --no-progress
certrecall -q import caa-2020 "$FLEET/affected.pem" --format pem --no-progress
# What a published list would not show: the subscriber's account and
# address.
db_sql -c "UPDATE certificate SET account = 'acct-4242'" \
	-c "INSERT INTO subscriber (account, emails) VALUES ('acct-4242', '{owner@subscriber.example}')"
expect "019: the AKI is stored at import" "69885b6b87464041e1b37b847ba0ae2cde01c8d4" \
	"$(db_sql -c "SELECT encode(aki, 'hex') FROM certificate WHERE serial = '\\x87654321'")"
plan=$(db_sql -c "SET enable_seqscan = off" -c "EXPLAIN SELECT 1 FROM certificate WHERE aki = '\\x69885b6b87464041e1b37b847ba0ae2cde01c8d4' AND serial = '\\x87654321'")
contains "019: a certID is looked up through the certificate_ari index" "certificate_ari" "$plan"
# A bare list has no key identifier until its issuer is added: then the
# trigger of 019 fills it from the issuer's subjectKeyIdentifier.
certrecall -q incident create --slug bare --title "bare serials" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
printf '0badc0de\n' >"$T_TMP/bare.txt"
certrecall -q import bare "$T_TMP/bare.txt" --format serials --no-progress
expect "019: a bare serial has no AKI" "" \
	"$(db_sql -c "SELECT encode(aki, 'hex') FROM certificate WHERE serial = '\\x0badc0de'")"
certrecall -q incident add-issuer bare "$FLEET/ca.pem"
expect "019: add-issuer gives it the issuer's key identifier" \
	"$(openssl x509 -in "$FLEET/ca.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :' | tr A-F a-f)" \
	"$(db_sql -c "SELECT encode(aki, 'hex') FROM certificate WHERE serial = '\\x0badc0de'")"
affected_serial=$(openssl x509 -in "$FLEET/affected.pem" -noout -serial | sed 's/.*=//' | tr A-F a-f | sed 's/^\(00\)*//')

export CERTRECALL_CLOCK=2020-03-01T00:00:00Z
TOKEN=staff-token-$$-secret
printf '# staff\nsha256:%s alice\n' "$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" >"$T_TMP/tokens"
P1=18029
P2=18030
B1=http://127.0.0.1:$P1
B2=http://127.0.0.1:$P2

# start_serve PORT LOG ARGS...: serve in the background until /healthz.
start_serve() {
	local port=$1 log=$2
	shift 2
	# the binary itself (not a subshell) gets the SIGTERM
	"$CERTRECALL_BIN" "$@" --set serve.listen=127.0.0.1:$port \
		--set serve.access_log="$log" serve 2>"$log.err" &
	PIDS+=($!)
	for _ in $(seq 1 50); do
		curl -fsk "http://127.0.0.1:$port/healthz" >/dev/null && return 0
		curl -fsk "https://127.0.0.1:$port/healthz" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# Instance 1: staff tokens, probes allowed to loopback (the fleet).
start_serve $P1 "$T_TMP/access1" \
	--set scanner.allow=127.0.0.0/8 --set serve.tokens_file="$T_TMP/tokens" \
	--set serve.timeout=3s --set serve.max_body=4096
rc=$?
expect "serve starts" 0 "$rc$([ $rc = 0 ] || cat "$T_TMP/access1.err")"
S1=${PIDS[-1]}
# Instance 2 on the same database: default deny rules, a tight rate limit.
start_serve $P2 "$T_TMP/access2" \
	--set serve.check_rate=1 --set serve.check_burst=2
rc=$?
expect "a second instance serves the same database" 0 "$rc$([ $rc = 0 ] || cat "$T_TMP/access2.err")"

# --- ARI ---
hdr=$T_TMP/hdr
body=$(curl -s -D "$hdr" "$B1/renewal-info/$RFC_ID")
expect "ARI: RFC 9773's example certID is answered" 200 "$(awk 'NR==1{print $2}' "$hdr")"
expect "ARI: the window ends ari_margin (24h) before the MUST-by" \
	"2020-03-04T03:08:00Z" "$(jq -r .suggestedWindow.end <<<"$body")"
expect "ARI: the window starts when the revocation clock did" \
	"2020-02-29T03:08:00Z" "$(jq -r .suggestedWindow.start <<<"$body")"
expect "ARI: explanationURL is the self-check of that certificate" \
	"$B1/check?serial=87654321" "$(jq -r .explanationURL <<<"$body")"
expect "ARI: Retry-After is serve.ari_retry (6h)" "21600" \
	"$(tr -d '\r' <"$hdr" | awk -F': ' 'tolower($1)=="retry-after"{print $2}')"
contains "ARI: JSON" "application/json" "$(grep -i '^content-type' "$hdr")"
deadline=$(date -u -d 2020-03-05T03:08:00Z +%s)
end=$(date -u -d "$(jq -r .suggestedWindow.end <<<"$body")" +%s)
ok "ARI: window end <= deadline - margin" test "$end" -le $((deadline - 86400))

aff_id=$(certrecall export-ari caa-2020 2>/dev/null | jq -r "select(.certID != \"$RFC_ID\") | .certID")
expect "ARI: the fleet's affected certificate is answered too" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$B2/renewal-info/$aff_id")"
expect "ARI: malformed certID is a 400 problem" "400 application/problem+json" \
	"$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$B1/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE")"
expect "ARI: non-minimal serial is a 400" 400 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$B1/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AACHZUMh")"
expect "ARI: an unknown certificate is 404" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$B1/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyI")"
expect "ARI: after revocation the window is in the past (renew now)" "2020-03-01T00:00:00Z" \
	"$(db_sql -c "UPDATE certificate SET revocation_state = 'revoked', revoked_at = '2020-02-29T12:00:00Z' WHERE serial = '\\x87654321'" >/dev/null
	   curl -s "$B1/renewal-info/$RFC_ID" | jq -r .suggestedWindow.end)"
db_sql -c "UPDATE certificate SET revocation_state = 'unknown', revoked_at = NULL WHERE serial = '\\x87654321'" >/dev/null

# export-ari: the same answer, keyed by certID.
line=$(certrecall export-ari caa-2020 2>"$T_TMP/export.err" | jq -c "select(.certID == \"$RFC_ID\")")
expect "export-ari: the same window as serve" "$(jq -c .suggestedWindow <<<"$body")" \
	"$(jq -c .suggestedWindow <<<"$line")"
expect "export-ari: the same Retry-After" 21600 "$(jq -r .retryAfter <<<"$line")"
contains "export-ari: counts on stderr" "export-ari caa-2020: 2 answers" "$(cat "$T_TMP/export.err")"
ok "export-ari -o FILE" certrecall -q export-ari caa-2020 -o "$T_TMP/ari.jsonl"
expect "export-ari -o: two lines" 2 "$(wc -l <"$T_TMP/ari.jsonl")"

# 026: a closed incident no longer drives ARI: its certificates are not
# known (404 here; serve.ari_default = lifetime would answer the
# lifetime window), export-ari is empty, and status says so.
ok "incident close" certrecall -q incident close caa-2020 --reason "all revoked, report filed"
expect "ARI: a certificate of a closed incident is not known (404)" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$B1/renewal-info/$RFC_ID")"
expect "export-ari: a closed incident has no answers" 0 \
	"$(certrecall -q export-ari caa-2020 | wc -l)"
expect "incident show: closed_at from the one clock, and why" \
	"2020-03-01T00:00:00Z all revoked, report filed" \
	"$(certrecall incident show caa-2020 --json | jq -r '.closed_at + " " + .closed_reason')"
contains "incident list: closed" "[closed 2020-03-01T00:00:00Z: all revoked, report filed]" \
	"$(certrecall incident list | grep '^caa-2020 ')"
contains "status: closed at ... (reason)" "closed at 2020-03-01T00:00:00Z (all revoked, report filed)" \
	"$(certrecall status caa-2020 2>&1)"
contains "status page: closed at ... (reason)" "Closed at 2020-03-01T00:00:00Z (all revoked, report filed)" \
	"$(curl -s -H "Authorization: Bearer $TOKEN" "$B1/status/caa-2020")"
expect "status --json: closed_at and why" "2020-03-01T00:00:00Z all revoked, report filed" \
	"$(certrecall status caa-2020 --json | jq -r '.incident.closed_at + " " + .incident.closed_reason')"
cj=$(curl -s -H 'Accept: application/json' "$B1/check?serial=87654321")
expect "self-check (JSON): a closed incident's certificate says when it was closed" \
	"2020-03-01T00:00:00Z" "$(jq -r '.incidents[0].incident_closed_at' <<<"$cj")"
contains "self-check (JSON): what to do after the incident closed" "closed this incident" \
	"$(jq -r '.incidents[0].what_to_do' <<<"$cj")"
contains "self-check (HTML): the incident was closed at ..." \
	'the incident was closed at <time class="closed" datetime="2020-03-01T00:00:00Z">' \
	"$(curl -s "$B1/check?serial=87654321")"
P4=18033
start_serve $P4 "$T_TMP/access4" --set serve.ari_default=lifetime
S4=${PIDS[-1]}
life=$(curl -s "http://127.0.0.1:$P4/renewal-info/$RFC_ID")
expect "ARI (ari_default = lifetime): a closed incident's certificate gets the lifetime window" \
	"true null false" "$(jq -r '(.suggestedWindow != null|tostring) + " " + (.explanationURL|tostring) + " " + (.suggestedWindow.end == "2020-03-04T03:08:00Z"|tostring)' <<<"$life" 2>/dev/null || echo "$life")"
kill -TERM "$S4"
wait "$S4"
PIDS=("${PIDS[@]/$S4/}")
ok "incident reopen" certrecall -q incident reopen caa-2020
expect "ARI: reopened, the window is back" "2020-03-04T03:08:00Z" \
	"$(curl -s "$B1/renewal-info/$RFC_ID" | jq -r .suggestedWindow.end)"
expect "incident show: reopened, closed_at is null" null \
	"$(certrecall incident show caa-2020 --json | jq -r .closed_at)"

# The ACME-style client: it schedules its next poll by Retry-After, which
# shortens as the window's end nears.
out=$(python3 "$ROOT/tests/serve/ari_client.py" "$B1/renewal-info/$RFC_ID" 2020-03-01T00:00:00Z 1)
expect "ARI client: renews now (the window has started)" true "$(jq -r .renew_now <<<"$out")"
expect "ARI client: next poll after Retry-After" 2020-03-01T06:00:00Z "$(jq -r .next_poll <<<"$out")"
kill -TERM "$S1"
wait "$S1"
expect "SIGTERM: serve exits 0" 0 "$?"
PIDS=("${PIDS[@]/$S1/}")
CERTRECALL_CLOCK=2020-03-04T01:08:00Z start_serve $P1 "$T_TMP/access1b" \
	--set serve.tokens_file="$T_TMP/tokens" --set serve.timeout=3s \
	--set scanner.allow=127.0.0.0/8 --set serve.max_body=4096
S1=${PIDS[-1]}
out=$(python3 "$ROOT/tests/serve/ari_client.py" "$B1/renewal-info/$RFC_ID" 2020-03-04T01:08:00Z 1)
expect "ARI client: two hours before the end, Retry-After is a quarter of it" 1800 \
	"$(jq -r .retry_after <<<"$out")"
contains "access log: one JSON line per request" '"path":"/renewal-info/' "$(cat "$T_TMP/access1")"
expect "access log: every line is JSON" "" "$(grep -v '^{.*}$' "$T_TMP/access1" | head -1)"

# --- self-check ---
json=$(curl -s -H 'Accept: application/json' "$B1/check?serial=87654321")
expect "check JSON: affected" affected "$(jq -r .verdict <<<"$json")"
expect "check JSON: the UTC deadline" 2020-03-05T03:08:00Z "$(jq -r '.incidents[0].deadline' <<<"$json")"
expect "check JSON: the incident" caa-2020 "$(jq -r '.incidents[0].incident' <<<"$json")"
html=$(curl -s "$B1/check?serial=87654321")
case "$json$html" in
*acct-4242* | *owner@subscriber.example*) fail "check: never an account or address" "$json" ;;
*) pass "check: never an account or address" ;;
esac
expect "check: an unlisted serial is not affected" "not affected" \
	"$(curl -s -H 'Accept: application/json' "$B1/check?serial=1234" | jq -r .verdict)"
hdrs=$(curl -s -D - -o /dev/null "$B1/check")
contains "check: Content-Security-Policy" "Content-Security-Policy: default-src 'none'" "$hdrs"
contains "check: nosniff" "X-Content-Type-Options: nosniff" "$hdrs"
json=$(curl -s -H 'Accept: application/json' --data-binary @"$FLEET/affected.pem" \
	-H 'Content-Type: application/x-pem-file' "$B1/check")
expect "check: a posted PEM (curl) is affected" "affected $affected_serial" \
	"$(jq -r '.verdict + " " + .serial' <<<"$json")"
head -c 5000 /dev/zero | tr '\0' A >"$T_TMP/big"
expect "check: a body over serve.max_body is 413" 413 \
	"$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T_TMP/big" "$B1/check")"
expect "check: a host on a denied address is not probed" "not probed: the address is not a public one" \
	"$(curl -s -H 'Accept: application/json' "$B2/check?host=local.test:$TP" | jq -r .probe)"
sleep 2 # the probe above took a token: a full bucket again
codes=$(for _ in 1 2 3; do curl -s -o /dev/null -w '%{http_code} ' "$B2/check?serial=1"; done)
expect "check: the third request within a second is rate limited" "200 200 429 " "$codes"
ra=$(curl -s -D - -o /dev/null "$B2/check?serial=1" | tr -d '\r' | awk -F': ' 'tolower($1)=="retry-after"{print $2}')
ok "check: 429 says Retry-After" test "${ra:-0}" -ge 1

# Chromium loads /check, submits a host (a GET form: no JavaScript needed)
# and a PEM (a POST form), and the verdict and deadline are read from the
# DOM.
CHROME=(chromium --headless=new --no-sandbox --disable-gpu --no-first-run
	--user-data-dir="$T_TMP/chrome" --virtual-time-budget=8000)
dom=$(timeout 30 "${CHROME[@]}" --dump-dom "$B1/check?host=affected.test:$TP" 2>/dev/null)
verdict=$(/usr/bin/python3 -c 'import sys,html5lib
d=html5lib.parse(sys.stdin.read(),namespaceHTMLElements=False)
v=d.find(".//*[@id=\"verdict\"]"); t=d.find(".//time[@class=\"deadline\"]")
print(v.text if v is not None else "-", t.get("datetime") if t is not None else "-", len(d.findall(".//span[@class=\"local\"]")))' <<<"$dom")
expect "Chromium: a host's verdict and UTC deadline from the DOM (and local time by script)" \
	"affected 2020-03-05T03:08:00Z 1" "$verdict"
python3 - "$FLEET/affected.pem" "$B1" >"$T_TMP/post.html" <<'EOF'
import html, sys
pem = open(sys.argv[1]).read()
print('<!DOCTYPE html><html><body><form id="f" method="post" action="%s/check">'
      '<textarea name="pem">%s</textarea></form>'
      '<script>document.getElementById("f").submit()</script></body></html>'
      % (sys.argv[2], html.escape(pem)))
EOF
dom=$(timeout 30 "${CHROME[@]}" --dump-dom "file://$T_TMP/post.html" 2>/dev/null)
verdict=$(/usr/bin/python3 -c 'import sys,html5lib
d=html5lib.parse(sys.stdin.read(),namespaceHTMLElements=False)
v=d.find(".//*[@id=\"verdict\"]"); t=d.find(".//time[@class=\"deadline\"]")
print(v.text if v is not None else "-", t.get("datetime") if t is not None else "-")' <<<"$dom")
expect "Chromium: a posted PEM's verdict and UTC deadline from the DOM" \
	"affected 2020-03-05T03:08:00Z" "$verdict"

# --- staff ---
expect "status: without a token 401" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$B1/status/caa-2020")"
expect "status: a wrong token 401" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}x" "$B1/api/incidents/caa-2020/status")"
api=$(curl -s -H "Authorization: Bearer $TOKEN" "$B1/api/incidents/caa-2020/status")
expect "status API: the MUST-by and the count" "2020-03-05T03:08:00Z 2" \
	"$(jq -r '.must_by + " " + (.certificates.total|tostring)' <<<"$api")"
contains "status page: the countdown" 'data-due="2020-03-05T03:08:00Z"' \
	"$(curl -s -H "Authorization: Bearer $TOKEN" "$B1/status/caa-2020")"
# The latest report in each format, made on request (same token rule).
page=$(curl -s -H "Authorization: Bearer $TOKEN" "$B1/status/caa-2020")
contains "status page: links to the report formats" 'href="/api/incidents/caa-2020/report.html"' "$page"
expect "status API: the report URLs" "/api/incidents/caa-2020/report.json" \
	"$(jq -r .reports.json <<<"$api")"
expect "report: without a token 401" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$B1/api/incidents/caa-2020/report.html")"
expect "report: a wrong token 401" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}x" "$B1/api/incidents/caa-2020/report.json")"
for f in md html json csv; do
	curl -s -D "$T_TMP/rh.$f" -o "$T_TMP/report.$f" -H "Authorization: Bearer $TOKEN" \
		"$B1/api/incidents/caa-2020/report.$f"
done
expect "report.html: 200 text/html" "200 text/html; charset=utf-8" \
	"$(tr -d '\r' <"$T_TMP/rh.html" | awk 'NR==1{c=$2} tolower($1)=="content-type:"{sub(/^[^:]*: /,"");t=$0} END{print c" "t}')"
contains "report.html: the incident's name" "CAA recheck bug" "$(cat "$T_TMP/report.html")"
contains "report.html: its own CSP, no script" "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'" "$(cat "$T_TMP/rh.html")"
contains "report.html: nosniff" "X-Content-Type-Options: nosniff" "$(cat "$T_TMP/rh.html")"
expect "report.json: 200 and it parses, the incident's slug" "caa-2020" \
	"$(jq -r '.incident.slug // .slug' "$T_TMP/report.json")"
contains "report.json: application/json" "Content-Type: application/json" "$(cat "$T_TMP/rh.json")"
contains "report.md: text/markdown" "Content-Type: text/markdown" "$(cat "$T_TMP/rh.md")"
contains "report.md: the incident's name" "CAA recheck bug" "$(cat "$T_TMP/report.md")"
contains "report.csv: text/csv" "Content-Type: text/csv" "$(cat "$T_TMP/rh.csv")"
expect "report.csv: one row per certificate and a header" 3 "$(wc -l <"$T_TMP/report.csv")"
expect "report: an unknown format 404" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$B1/api/incidents/caa-2020/report.exe")"
expect "report: disabled without tokens_file (404)" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$B2/api/incidents/caa-2020/report.md")"
expect "status: disabled without tokens_file (404)" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$B2/status/caa-2020")"
expect "no directory listing or file: 404" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$B1/../../etc/passwd")"

# --- TLS: serve.tls_cert / serve.tls_key ---
P3=18031
start_serve $P3 "$T_TMP/access3" --set serve.tls_cert="$FLEET/affected.pem" \
	--set serve.tls_key="$FLEET/affected.key"
rc=$?
expect "TLS: serve starts with a certificate and key" 0 "$rc$([ $rc = 0 ] || cat "$T_TMP/access3.err")"
S3=${PIDS[-1]}
expect "TLS: ARI over HTTPS" 200 \
	"$(curl -s --cacert "$FLEET/ca.pem" --resolve affected.test:$P3:127.0.0.1 -o /dev/null -w '%{http_code}' "https://affected.test:$P3/renewal-info/$RFC_ID")"
contains "TLS: Strict-Transport-Security" "Strict-Transport-Security" \
	"$(curl -s -D - -o /dev/null --cacert "$FLEET/ca.pem" --resolve affected.test:$P3:127.0.0.1 "https://affected.test:$P3/healthz")"
fails "serve: a certificate without a key is a configuration error" 78 \
	certrecall --set serve.listen=127.0.0.1:18032 --set serve.tls_cert="$FLEET/affected.pem" serve
kill -TERM "$S3"
wait "$S3"
PIDS=("${PIDS[@]/$S3/}")

# --- slowloris: idle half-requests do not stop a normal one ---
python3 "$ROOT/tests/serve/slowloris.py" 127.0.0.1 $P1 1500 6 "$T_TMP/slow.ready" >/dev/null &
SLOW=$!
for _ in $(seq 1 100); do [ -s "$T_TMP/slow.ready" ] && break; sleep 0.1; done
expect "slowloris: the crowd is connected" 1500 "$(cat "$T_TMP/slow.ready" 2>/dev/null)"
t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 1 "$B1/renewal-info/$RFC_ID")
expect "slowloris: ARI answered within 1 s beside 1500 idle connections" 200 "${t% *}"
wait "$SLOW"

kill -TERM "$S1"
wait "$S1"
expect "SIGTERM: the second run exits 0 too" 0 "$?"
PIDS=("${PIDS[@]/$S1/}")
finish
