#!/usr/bin/env bash
# `make demo`: a deterministic replay of the March 2020 CAA incident at
# 1/1000 scale, end to end, on real servers on 127.0.9.0/24
# (scripts/demo/world.sh) and a throwaway PostgreSQL cluster in
# var/demo/pg.  Every run starts clean (a new database, a new var/demo);
# the local servers stop when it ends, the cluster stays up for exploring
# (stop it with `scripts/pg.sh stop var/demo/pg`).
#
# The incident, from the CA's public posts:
#   https://community.letsencrypt.org/t/2020-02-29-caa-rechecking-bug/114591
#   https://community.letsencrypt.org/t/revoking-certain-certificates-on-march-4/114864
# - 2020-02-29 03:08 UTC: bug confirmed (issuance halted at 03:10).  BR
#   v1.6.7 4.9.1.1, 5-day list item 7 (not issued in accordance with the
#   BR): SHOULD revoke within 24 hours, MUST within 5 days, i.e. by
#   2020-03-05 03:08 UTC (the CA announced 03:00).
# - 3,048,289 certificates affected; the list was published as text,
#   one certificate a line, sorted by account.
# - Revocation began 2020-03-04 20:00 UTC; before the deadline the CA
#   revoked 1,706,505 certificates it knew had been replaced (and 445
#   whose CAA forbade it); over a million were left unrevoked: a delayed
#   revocation.
# Here: 3,048 certificates over about 1,000 accounts (a heavy tail: most
# hold one or two, a few hold hundreds); a third still served as listed,
# a third replaced by a served renewal, a third gone.  The test CA revokes
# the replaced third between 2020-03-04 20:00 and 2020-03-05 02:59 UTC.
# Every step runs under the rehearsal clock (CERTRECALL_CLOCK, the way a
# CA tests its mass-revocation plan, BR 5.7.1.2): certrecall acts as if
# the clock read the moment of the real timeline, so the audit trail, the
# notices and the report read as March 2020; the real time is kept beside
# each event.  Leases and timeouts run on the real clock.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=build/certrecall
demo=var/demo
world=scripts/demo/world.sh
started=$(date +%s)

step() { printf '\n== %s\n' "$*" >&2; }
# Print a command the way a user would type it, then run it.
show() { { printf '$ certrecall'; printf ' %q' "$@"; echo; } >&2; "$bin" "$@"; }
run() { { printf '$'; printf ' %q' "$@"; echo; } >&2; "$@"; }
# The rehearsal clock for the commands that follow.
clock() { printf '$ export CERTRECALL_CLOCK=%s\n' "$1" >&2; export CERTRECALL_CLOCK=$1; }

# Servers left over from an interrupted run, then a clean var/demo (the
# cluster's directory excepted: it is reused, its database replaced).
"$world" stop "$demo" 2>/dev/null || true
mkdir -p "$demo"
chmod 755 var "$demo"
find "$demo" -mindepth 1 -maxdepth 1 ! -name pg -exec rm -rf {} +
trap '"$world" stop "$demo"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "a throwaway PostgreSQL cluster in $demo/pg, with an empty database"
conninfo=$(scripts/pg.sh start "$demo/pg")
psql -XAtq "${conninfo% dbname=*} dbname=postgres" \
	-c "DROP DATABASE IF EXISTS certrecall WITH (FORCE)" \
	-c "CREATE DATABASE certrecall"
echo "running: $conninfo" >&2

step "the local world: the affected list, a test CA, its fleet, DNS, OCSP/CRL and SMTP on 127.0.9.0/24"
run "$world" build "$demo"
run "$world" start "$demo"
"$world" config "$demo" "$conninfo" >"$demo/certrecall.ini"
export CERTRECALL_CONFIG=$root/$demo/certrecall.ini
unset CERTRECALL_DATABASE
echo "certrecall reads its settings from $demo/certrecall.ini (CERTRECALL_CONFIG):" >&2
grep -v '^;' "$demo/certrecall.ini" | sed 's/^/    /' >&2
show db migrate

step "2020-02-29 03:08 UTC: the CAA re-checking bug is confirmed; the rule of the day starts the clocks"
show rules 5d-7 --at 2020-02-29T03:08:00Z
show rules br-5 --at 2026-04-01
clock 2020-02-29T03:40:00Z
show incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z

step "the affected list as the CA published it (le2020, gzip), the CA's contacts, and its issuing CA"
show import caa-2020 "$demo/caa-2020.txt.gz" --accounts "$demo/accounts.csv" --no-progress
show incident add-issuer caa-2020 "$demo/ca/ca.pem" \
	--ocsp http://127.0.9.1:25580/ocsp --crl http://127.0.9.1:25580/ca.crl

step "2020-02-29 10:00 UTC: every clock, seven hours in"
show deadlines caa-2020 --at 2020-02-29T10:00:00Z

step "which affected certificates are still served? one probe per name, at every address"
clock 2020-02-29T09:00:00Z
show scan caa-2020 --procs 2 --no-progress

# The notices as the CA could have sent them on the first morning, 4
# days 17 hours before the deadline; the scan's findings are in them.
step "2020-02-29 10:00 UTC: one message per contact address, the deadline in UTC"
clock 2020-02-29T10:00:00Z
show notify caa-2020 --plan
show notify caa-2020 --kind initial --no-progress
mail=$(find "$demo/mail" -name '*.eml' | wc -l)
# One message to show: the first account with an address and a
# certificate the scan found still served (which message gets which file
# number depends on the order the SMTP connections finish in).
to=$(awk -F'\t' 'NR == FNR { split($0, f, ","); if (f[2] != "") mail[f[1]] = f[2]; next }
	$1 == "affected" { a = $6; sub(/^.*-a/, "", a); sub(/[.]example$/, "", a)
		if (a in mail) { print mail[a]; exit } }' "$demo/accounts.csv" "$demo/plan.tsv")
msg=$demo/mail/$(awk -F'\t' -v to="$to" '$2 == to { print $1 ".eml"; exit }' "$demo/mail/index.tsv")
printf '\n%s messages stored in %s/; the one to %s (%s):\n\n' "$mail" "$demo/mail" "$to" "$msg" >&2
sed -n '/^Message-ID:/d; /^All times are UTC/q; p' "$msg" | tr -d '\r' >&2
echo "..." >&2

step "\"March 4\", 00:00 UTC: the clocks when subscribers read the announcement"
show deadlines caa-2020 --at 2020-03-04T00:00:00Z

step "the CA's issuance records: renewals with exactly the names of an affected certificate"
clock 2020-03-04T18:00:00Z
show import caa-2020 "$demo/ca/replacements.pem" --replacements --no-progress
show export-revocations caa-2020 --replaced-only -o "$demo/batch.csv"

# certrecall serve: what ACME clients, subscribers and staff read over
# HTTP while the rehearsal runs (stopped at the end of the demo).
step "certrecall serve: ACME Renewal Information, the self-check page, the staff status page"
token=demo-staff-$$-$RANDOM
printf 'sha256:%s demo\n' "$(printf %s "$token" | sha256sum | cut -d' ' -f1)" >"$demo/serve-tokens"
serve_url=http://127.0.9.1:25880
serve_args=(--set serve.listen=127.0.9.1:25880 --set serve.public_url=$serve_url
	--set serve.tokens_file="$demo/serve-tokens"
	--set serve.access_log="$demo/serve-access.jsonl" serve)
{ printf '$ certrecall'; printf ' %q' "${serve_args[@]}"; echo ' &'; } >&2
# The binary itself in the background (not a subshell): it gets the TERM.
"$bin" "${serve_args[@]}" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; "$world" stop "$demo"' EXIT
for _ in $(seq 1 50); do curl -fs "$serve_url/healthz" >/dev/null && break; sleep 0.1; done
show export-ari caa-2020 -o "$demo/ari.jsonl"
certid=$(sed -n '1s/^{"certID":"\([^"]*\)".*/\1/p' "$demo/ari.jsonl")
run curl -s -i "$serve_url/renewal-info/$certid" | tee "$demo/ari-answer" >&2
ari_serial=$(sed -n 's/.*check?serial=\([0-9a-f]*\).*/\1/p' "$demo/ari-answer")
{
	echo "ARI:        $serve_url/renewal-info/$certid"
	echo "self-check: $serve_url/check?serial=$ari_serial"
	echo "staff:      $serve_url/status/caa-2020 (Authorization: Bearer $token)"
} >&2

step "2020-03-04 20:00 to 2020-03-05 02:59 UTC: the test CA revokes the replaced certificates"
run "$world" revoke "$demo" "$demo/batch.csv" 2020-03-04T20:00:00Z 2020-03-05T02:59:00Z

# The CRL answers for every certificate in one download.  OCSP asks once
# per certificate, and the test responder (tests/ocspd.py) runs `openssl
# ocsp` for each request: 3,048 of them would add 25-55 s to this demo on
# two busy cores.  So certrecall reads the CRL, and one OCSP answer is
# fetched the way a browser would ask (the responder reads the same CA
# database as the CRL: the time is the same).  For certrecall's OCSP
# path: `scripts/demo/world.sh start var/demo`, then
# `build/certrecall revcheck caa-2020 --no-crl` (and `world.sh stop`).
step "what the CA published: its CRL, signature and freshness verified; and one OCSP answer"
clock 2020-03-05T03:05:00Z
show revcheck caa-2020 --no-ocsp
run openssl ocsp -issuer "$demo/ca/ca.pem" -CAfile "$demo/ca/ca.pem" -no_nonce \
	-url http://127.0.9.1:25580/ocsp -serial "0x$(sed -n '1s/,.*//p' "$demo/batch.csv")"

step "2020-03-05 03:08 UTC: the deadline"
show deadlines caa-2020 --at 2020-03-05T03:08:00Z
# A minute later, what is left unrevoked is overdue: a delayed
# revocation, with its own reporting clocks.
clock 2020-03-05T03:09:00Z
show status caa-2020

step "the incident report for the root programs"
show report caa-2020 --format html -o "$demo/report.html"
show report caa-2020 --format md -o "$demo/report.md"
sed -n '/^### By revocation verdict/,/^### Subscriber notification/p' "$demo/report.md" | sed '$d' >&2

kill -TERM "$serve_pid"
wait "$serve_pid" || true
echo "serve stopped (access log: $demo/serve-access.jsonl)" >&2

step "done in $(($(date +%s) - started)) s"
{
	echo "report:    $demo/report.html (open it in a browser), $demo/report.md"
	echo "messages:  $mail in $demo/mail/ (index: $demo/mail/index.tsv)"
	echo "database:  CERTRECALL_DATABASE=\"$conninfo\""
	echo "           or: export CERTRECALL_CONFIG=$root/$demo/certrecall.ini"
	echo "           e.g. build/certrecall status caa-2020 --at 2020-03-06T00:00:00Z"
	echo "           (the rehearsal clock is not set outside the demo: without --at,"
	echo "           certrecall speaks of today)"
	echo "the local servers are stopped; the PostgreSQL cluster keeps running:"
	echo "stop it with scripts/pg.sh stop $demo/pg"
} >&2
