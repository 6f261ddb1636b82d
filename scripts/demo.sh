#!/usr/bin/env bash
# `make demo`: the main job end to end on a throwaway PostgreSQL cluster
# under var/demo.  Every run starts from an empty database; the cluster is
# left running afterwards so you can explore (stop it with
# `scripts/pg.sh stop var/demo/pg`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=build/certrecall

step() { printf '\n== %s\n' "$*" >&2; }
show() { { printf '$ certrecall'; printf ' %q' "$@"; echo; } >&2; "$bin" "$@"; }

step "starting a throwaway PostgreSQL cluster in var/demo/pg"
mkdir -p var/demo
chmod 755 var var/demo
CERTRECALL_DATABASE=$(scripts/pg.sh start var/demo/pg)
export CERTRECALL_DATABASE
echo "CERTRECALL_DATABASE=\"$CERTRECALL_DATABASE\"" >&2
# Each run replays the incident from scratch: a fresh database.
psql -XAtq "${CERTRECALL_DATABASE% dbname=*} dbname=postgres" \
	-c "DROP DATABASE IF EXISTS certrecall WITH (FORCE)" \
	-c "CREATE DATABASE certrecall"

step "applying the schema"
show db migrate

step "migration status"
show db status

# The March 2020 CAA incident: the bug was confirmed at 12:08 in Tokyo
# (03:08 UTC) on 2020-02-29; BR v1.6.7 5-day list item 7 applied.
step "recording the incident (aware_at given in +09:00, stored in UTC)"
show incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00

step "which rule applied, and what it says today"
show rules 5d-7 --at 2020-02-29T03:08:00Z
show rules br-5 --at 2026-04-01

step "every clock, as it stood at 2020-03-04T00:00:00Z (\"March 4\")"
show deadlines caa-2020 --at 2020-03-04T00:00:00Z

# The affected list: 30,000 certificates in the 2020 list's format (a
# deterministic stand-in for the published file), and the CA's contacts
# for 9 accounts in 10: the rest must be counted, not lost.
step "importing the affected list (le2020 format, gzip) and contacts"
cc -O2 -o var/demo/gen_le2020 bench/gen_le2020.c
var/demo/gen_le2020 30000 2020 | gzip >var/demo/caa-2020.txt.gz
gzip -dc var/demo/caa-2020.txt.gz | awk '{print $3}' | uniq |
	awk 'NR % 10 != 0 {print $1 ",ops@a" $1 ".example,admin@a" $1 ".example"}
	     NR % 10 == 0 {print $1 ","}' >var/demo/accounts.csv
show import caa-2020 var/demo/caa-2020.txt.gz --accounts var/demo/accounts.csv

step "importing it again changes nothing"
show import caa-2020 var/demo/caa-2020.txt.gz --no-progress

step "the person on call, on \"March 4\" at 00:00 UTC"
show status caa-2020 --at 2020-03-04T00:00:00Z

# Tell every subscriber, early: the notices as the CA could have sent
# them on 2020-02-29 at 10:00 UTC, 4 days 17 hours before the deadline,
# to a local SMTP server (aiosmtpd) that stores what it receives.
step "sending the initial notices to a local SMTP server (var/demo/mail)"
rm -rf var/demo/mail
mkdir -p var/demo/mail
/usr/bin/python3 tests/smtpd.py --port 25525 --dir var/demo/mail >var/demo/smtpd.log 2>&1 &
smtpd=$!
trap 'kill $smtpd 2>/dev/null' EXIT
for _ in $(seq 1 50); do [ -f var/demo/mail/ready ] && break; sleep 0.1; done
export CERTRECALL_SMTP_HOST=127.0.0.1 CERTRECALL_SMTP_PORT=25525
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_REPORT_ORGANIZATION="Example CA"
show notify caa-2020 --plan
show notify caa-2020 --kind initial --at 2020-02-29T10:00:00Z
printf '\n%s messages stored in var/demo/mail/, for example %s:\n\n' \
	"$(ls var/demo/mail/*.eml | wc -l)" "$(ls var/demo/mail/*.eml | head -1)" >&2
sed -n '1,/^Revocation deadline/p' "$(ls var/demo/mail/*.eml | head -1)" | tr -d '\r' >&2
echo "..." >&2

step "the person on call, after the notices went out"
show status caa-2020 --at 2020-02-29T10:05:00Z
