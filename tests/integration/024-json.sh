#!/usr/bin/env bash
# --json everywhere (issue 16): every command that prints data writes one
# JSON document with --json (--jsonl: one a line), valid against its
# schema in docs/schema/, on the real outputs of a small incident that
# has been imported, scanned (local TLS fleet), notified (aiosmtpd) and
# revocation-checked (a CRL); status --json and deadlines --json say
# what their text says.
. "$(dirname "$0")/lib.sh"
FLEET=$T_TMP/fleet
PIDS=()
trap '"$ROOT/tests/tlsfleet.sh" stop "$FLEET" >/dev/null 2>&1; for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null; done' EXIT
read -r TP DP < <("$ROOT/tests/tlsfleet.sh" start "$FLEET")
[ -n "${DP:-}" ] || { fail "the test fleet starts"; finish; }
export CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DP
export CERTRECALL_SCANNER_PORTS=$TP
export CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=2s CERTRECALL_SCANNER_CONNECT_TIMEOUT=2s
export CERTRECALL_SCANNER_IPV6=false
export CERTRECALL_SCANNER_ALLOW=127.0.0.2/32,127.0.0.3/32,127.0.0.4/31
start_smtpd mail || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
cd "$T_TMP"
J=$T_TMP/json
mkdir -p "$J"

# valid NAME SCHEMA FILE...: each FILE (one document, or JSON lines with
# a .jsonl name) validates against docs/schema/SCHEMA.schema.json.
valid() {
	local name=$1 schema=$ROOT/docs/schema/$2.schema.json out
	shift 2
	out=$(/usr/bin/python3 - "$schema" "$@" <<'PY' 2>&1
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
n = 0
for f in sys.argv[2:]:
    text = open(f).read()
    docs = [json.loads(l) for l in text.splitlines()] if f.endswith(".jsonl") else [json.loads(text)]
    if not docs:
        sys.exit(f + ": no document")
    for d in docs:
        v.validate(d)
        n += 1
print("valid", n)
PY
)
	case $out in
	"valid "*) pass "$name ($out)" ;;
	*) fail "$name" "$out" ;;
	esac
}
# field FILE EXPR: a Python expression over the document d.
field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

new_db json
certrecall -q db migrate
certrecall db status --json >"$J/db-status.json"
valid "db status --json" db-status "$J/db-status.json"
expect "db status --json: every migration applied, as the text says" \
	"$(certrecall db status | grep -c '^applied')" "$(field "$J/db-status.json" 'd["applied"]')"

certrecall -d "postgresql://u:secret@localhost/x" config show --json >"$J/config-show.json"
valid "config show --json" config-show "$J/config-show.json"
expect "config show --json: the password is not printed" "" "$(grep secret "$J/config-show.json")"
expect "config show --json: as many settings as the text" \
	"$(certrecall config show | grep -c ' = ')" "$(field "$J/config-show.json" 'len(d["settings"])')"

certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00
certrecall incident list --json >"$J/incident-list.json"
valid "incident list --json" incident-list "$J/incident-list.json"
expect "incident list --json: aware_at in UTC with Z" 2020-02-29T03:08:00Z \
	"$(field "$J/incident-list.json" 'd["incidents"][0]["aware_at"]')"

# Affected: the fleet's affected certificate and four listed ones, with
# accounts and addresses; one account has none.
cat >extra.csv <<'CSV'
serial,account,email,names
0a01,acct-1,one@example.org,replaced.test
0a02,acct-2,two@example.org,other.test
0a03,acct-3,,"unknown.test;nope.test;local.test"
0a04,acct-1,one@example.org,*.wild.test
CSV
certrecall import caa-2020 "$FLEET/affected.pem" --no-progress --json >"$J/import-pem.json" 2>import.err
certrecall import caa-2020 extra.csv --no-progress --json >"$J/import.json" 2>>import.err
valid "import --json" import "$J/import-pem.json" "$J/import.json"
contains "import --json: the human summary stays on stderr" "4 new, 0 already present" "$(cat import.err)"
expect "import --json: the same counts" "4 0 3 1" \
	"$(field "$J/import.json" '" ".join(str(d[k]) for k in ("new", "present", "accounts", "accounts_without_email"))')"
certrecall incident show caa-2020 --json >"$J/incident-show.json"
valid "incident show --json" incident-show "$J/incident-show.json"
expect "incident show --json: certificates an integer" 5 "$(field "$J/incident-show.json" 'd["certificates"]')"

certrecall rules --json >"$J/rules.json"
certrecall rules --at 2020-02-29T03:08:00Z --json >"$J/rules-at.json"
certrecall rules 5d-7 --at 2020-02-29T03:08:00Z --json >"$J/rules-key.json"
valid "rules --json (all, --at, KEY)" rules "$J/rules.json" "$J/rules-at.json" "$J/rules-key.json"
expect "rules --json: one entry per edition, as the text lists" \
	"$(certrecall rules | sed -n '/^EDITION/,/^$/p' | grep -c '^v')" \
	"$(field "$J/rules.json" 'len(d["editions"])')"
expect "rules KEY --json: the rule in force" "BR 4.9.1.1 (v1.6.7) 5-day list item 7" \
	"$(field "$J/rules-key.json" 'd["rule"]["citation"]')"

# 8 targets: *.wild.test is probed at the names known under wild.test and
# scanner.wildcard_labels (docs/scanner.md).
certrecall scan caa-2020 --procs 1 --no-progress --json >"$J/scan.json" 2>scan.err
valid "scan --json" scan "$J/scan.json"
contains "scan --json: the summary also on stderr" "scan: 8 of 8 targets probed" "$(cat scan.err)"
expect "scan --json: the same counts" "8 8 7 0 1 11" \
	"$(field "$J/scan.json" '" ".join(str(d[k]) for k in ("targets", "done", "answered", "failed", "filtered", "probes"))')"

certrecall notify caa-2020 --plan --json >"$J/notify-plan.json"
valid "notify --plan --json" notify-plan "$J/notify-plan.json"
expect "notify --plan --json: two addresses, one account without" "2 2 1" \
	"$(field "$J/notify-plan.json" '" ".join(str(d["kinds"][0][k]) for k in ("due", "addresses", "no_address"))')"
certrecall notify caa-2020 --no-progress --json >"$J/notify.json" 2>notify.err
valid "notify --json" notify "$J/notify.json"
expect "notify --json: two sent, one without address" "2 1" \
	"$(field "$J/notify.json" '" ".join(str(d[k]) for k in ("sent", "no_address"))')"
contains "notify --json: the human summary stays on stderr" "initial: 2 sent" "$(cat notify.err)"

# A CRL from the fleet's CA listing the affected certificate.
mkdir -p crl
serial=$(openssl x509 -in "$FLEET/affected.pem" -noout -serial | cut -d= -f2)
printf 'R\t301231000000Z\t200304120000Z,superseded\t%s\tunknown\t/CN=affected.test\n' "$serial" >crl/index.txt
echo 01 >crl/crlnumber
cat >crl/ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
database = $T_TMP/crl/index.txt
crlnumber = $T_TMP/crl/crlnumber
certificate = $FLEET/ca.pem
private_key = $FLEET/ca.key
default_md = sha256
default_crl_days = 7
CNF
openssl ca -config crl/ca.cnf -gencrl -out crl/ca.crl 2>/dev/null
P=$((20000 + RANDOM % 20000))
/usr/bin/python3 "$ROOT/tests/ocspd.py" --port $P --dir "$T_TMP/crl" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do [ -f crl/ready.$P ] && break; sleep 0.1; done
certrecall -q incident add-issuer caa-2020 "$FLEET/ca.pem" --crl http://127.0.0.1:$P/ca.crl
certrecall revcheck caa-2020 --no-ocsp --json >"$J/revcheck.json" 2>revcheck.err
valid "revcheck --json" revcheck "$J/revcheck.json"
expect "revcheck --json: one revoked answer, four good" "1 4" \
	"$(field "$J/revcheck.json" '" ".join(str(d["by_status"][k]) for k in ("revoked", "good"))')"
certrecall revcheck caa-2020 --no-ocsp --jsonl >"$J/revcheck.jsonl" 2>/dev/null
valid "revcheck --jsonl" revcheck "$J/revcheck.jsonl"

certrecall export-revocations caa-2020 >batch.csv 2>/dev/null
certrecall export-revocations caa-2020 --jsonl -o "$J/export.jsonl" 2>/dev/null
expect "export-revocations: four certificates left to revoke" 4 "$(wc -l <batch.csv)"
valid "export-revocations --jsonl" export-revocations "$J/export.jsonl"
expect "export-revocations --jsonl: the CSV batch's rows, in its order" "$(cat batch.csv)" \
	"$(/usr/bin/python3 -c 'import json,sys; [print("%s,%d" % (d["serial"], d["reason_code"])) for d in map(json.loads, open(sys.argv[1]))]' "$J/export.jsonl")"

at=2020-03-06T00:00:00Z
certrecall status caa-2020 --at $at --json >"$J/status.json"
certrecall status caa-2020 --at $at --jsonl >"$J/status.jsonl"
certrecall deadlines caa-2020 --at $at --json >"$J/deadlines.json"
certrecall check affected.test:$TP --json >"$J/check.json" 2>/dev/null
certrecall report caa-2020 --at $at --json >"$J/report.json"
valid "status --json" status "$J/status.json"
valid "status --jsonl" status "$J/status.jsonl"
valid "deadlines --json" deadlines "$J/deadlines.json"
valid "check --json" check "$J/check.json"
valid "report --json (the same as --format json)" ../report "$J/report.json"
expect "report --json is --format json" "" \
	"$(diff <(certrecall report caa-2020 --at $at --format json) "$J/report.json")"

# The schemas are no formality: a count as text, a time without Z, a
# missing member or an unknown one is refused.
/usr/bin/python3 - "$J/status.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bad = [dict(d, at="2020-03-06T00:00:00+00:00"), dict(d, extra=1)]
c = json.loads(json.dumps(d)); c["certificates"]["total"] = "5"; bad.append(c)
c = json.loads(json.dumps(d)); del c["clocks"][0]["due"]; bad.append(c)
for i, b in enumerate(bad):
    json.dump(b, open(sys.argv[1] + f".bad{i}", "w"))
PY
for i in 0 1 2 3; do
	out=$(valid "x" status "$J/status.json.bad$i" 2>&1)
	contains "status schema refuses broken document $i" "not ok" "$out"
done

# status --json and deadlines --json say what their text says, and the
# same as each other: every clock's due time and state, the certificate
# counts, at moments where clocks are open, met and missed.
agree() {
	/usr/bin/python3 - "$@" <<'PY'
import json, re, sys
st_text, st_json, dl_text, dl_json = sys.argv[1:5]
st_text = open(st_text).read(); dl_text = open(dl_text).read()
s = json.load(open(st_json)); d = json.load(open(dl_json))
bad = []
def line_of(text, cid):
    for l in text.splitlines():
        if l.split()[:1] == [cid]:
            return l
    return None
if [(c["id"], c["due"], c["state"], c["remaining_seconds"]) for c in s["clocks"]] != \
   [(c["id"], c["due"], c["state"], c["remaining_seconds"]) for c in d["clocks"]]:
    bad.append("status and deadlines JSON clocks differ")
for name, text, doc in (("status", st_text, s), ("deadlines", dl_text, d)):
    table = text.split("\nCLOCK ", 1)[-1].split("\n\n", 1)[0].splitlines()[1:]
    ids = [l.split()[0] for l in table]
    if ids != [c["id"] for c in doc["clocks"]]:
        bad.append(f"{name}: text clocks {ids}, JSON {[c['id'] for c in doc['clocks']]}")
    for c in doc["clocks"]:
        l = line_of(text, c["id"]) or ""
        if c["due"] not in l or not re.search(r"\b%s\b" % c["state"], l):
            bad.append(f"{name}: {c['id']} text {l!r}, JSON due {c['due']} {c['state']}")
m = re.search(r"^certificates +([0-9]+)$", st_text, re.M)
if not m or int(m.group(1)) != s["certificates"]["total"]:
    bad.append(f"status: certificates text {m and m.group(1)}, JSON {s['certificates']['total']}")
for k, v in s["certificates"]["by_verdict"].items():
    m = re.search(r"^ +%s +([0-9]+)$" % k.replace("_", " "), st_text, re.M)
    if not m or int(m.group(1)) != v:
        bad.append(f"status: {k} text {m and m.group(1)}, JSON {v}")
bv = s["certificates"]["by_verdict"]
if d["progress"]["unrevoked"] != bv["pending"] + bv["overdue"]:
    bad.append("deadlines unrevoked != status pending + overdue")
print("\n".join(bad) if bad else "agree")
PY
}
certrecall -q incident update caa-2020 --cpr-received 2020-02-29T00:00:00Z --cpr-answered 2020-02-29T06:00:00Z
for at in 2020-02-29T12:00:00Z 2020-03-02T00:00:00Z 2020-03-06T00:00:00Z; do
	certrecall status caa-2020 --at $at >st.txt
	certrecall status caa-2020 --at $at --json >st.json
	certrecall deadlines caa-2020 --at $at >dl.txt
	certrecall deadlines caa-2020 --at $at --json >dl.json
	expect "status and deadlines, text and JSON, agree at $at" agree "$(agree st.txt st.json dl.txt dl.json)"
	/usr/bin/python3 -c 'import json; [print(c["state"]) for c in json.load(open("st.json"))["clocks"]]' >>states
done
expect "the comparison saw open, met and missed clocks" "met missed open" "$(sort -u states | tr '\n' ' ' | sed 's/ $//')"

# Usage: --json where no data is printed, --watch without a stream.
fails "status --watch --json: a stream needs --jsonl" 64 certrecall status caa-2020 --watch --json
fails "notify --preview --json: a message is not data" 64 certrecall notify caa-2020 --preview one@example.org --json
fails "db migrate --json: prints no data" 64 certrecall db migrate --json
timeout 5 "$CERTRECALL_BIN" status caa-2020 --watch=1 --jsonl 2>watch.err | head -2 >"$J/watch.jsonl"
expect "status --watch --jsonl: a line a refresh" 2 "$(wc -l <"$J/watch.jsonl")"
valid "status --watch --jsonl: each line a status document" status "$J/watch.jsonl"
timeout 10 "$CERTRECALL_BIN" status caa-2020 --watch=1 --jsonl 2>/dev/null | head -1 >/dev/null
expect "status --watch --jsonl | head -1 ends when its reader does (SIGPIPE), not at the timeout" 141 "${PIPESTATUS[0]}"

[ -n "${KEEP_JSON:-}" ] && cp -r "$J" "$KEEP_JSON"
finish
