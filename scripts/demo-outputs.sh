#!/usr/bin/env bash
# What the demo's operator and compliance officer read, written by one
# certrecall binary into one directory, so two builds can be compared
# byte for byte (`cmp`) on the same database (issue 17: "no behaviour
# change").  Run after `make demo` (its cluster keeps running):
#
#   scripts/demo-outputs.sh BIN OUTDIR
#
# Every command runs at a fixed rehearsal clock, on a fresh copy of the
# database snapshot "certrecall_snapshot" (taken from the demo's database
# the first time), and writes under the same path, so only the build
# differs between two runs (reports record events: without the copy the
# second run would read the first one's).
set -euo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
final=$(realpath -m "$2")
out=$root/var/demo/cmp
conninfo=$(grep '^url = ' "$root/var/demo/certrecall.ini" | sed 's/^url = //')
admin="${conninfo% dbname=*} dbname=postgres"
if ! psql -XAtq "$admin" -c "SELECT 1 FROM pg_database WHERE datname = 'certrecall_snapshot'" | grep -q 1; then
	psql -XAtq "$admin" -c "CREATE DATABASE certrecall_snapshot TEMPLATE certrecall"
fi
psql -XAtq "$admin" -c "DROP DATABASE IF EXISTS certrecall_cmp WITH (FORCE)" \
	-c "CREATE DATABASE certrecall_cmp TEMPLATE certrecall_snapshot"
export CERTRECALL_DATABASE="${conninfo% dbname=*} dbname=certrecall_cmp"
export CERTRECALL_CONFIG=$root/var/demo/certrecall.ini
# A newer build may bring migrations; an up-to-date schema is left alone.
"$bin" -q db migrate
export CERTRECALL_CLOCK=2020-03-06T00:00:00Z
rm -rf "$out"
mkdir -p "$out/eml-initial" "$out/eml-reminder"
for f in md html json csv ccadb; do
	"$bin" report caa-2020 --format "$f" -o "$out/report.$f"
done
"$bin" status caa-2020 >"$out/status.txt"
"$bin" status caa-2020 --json >"$out/status.json"
"$bin" deadlines caa-2020 >"$out/deadlines.txt"
"$bin" deadlines caa-2020 --json >"$out/deadlines.json"
"$bin" notify caa-2020 --plan >"$out/plan.txt"
"$bin" notify caa-2020 --plan --json >"$out/plan.json"
CERTRECALL_CLOCK=2020-03-03T00:00:00Z \
	"$bin" notify caa-2020 --kind initial --dry-run "$out/eml-initial" >/dev/null
CERTRECALL_CLOCK=2020-03-04T12:00:00Z \
	"$bin" notify caa-2020 --kind reminder --dry-run "$out/eml-reminder" >/dev/null
rm -rf "$final"
mv "$out" "$final"
echo "$(find "$final" -type f | wc -l) files in $final"
