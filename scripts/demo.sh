#!/usr/bin/env bash
# `make demo`: the main job end to end on a throwaway PostgreSQL cluster
# under var/demo (kept running afterwards so you can explore; stop it with
# `scripts/pg.sh stop var/demo/pg`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=build/certrecall

step() { printf '\n== %s\n' "$*" >&2; }
show() { printf '$ certrecall %s\n' "$*" >&2; "$bin" "$@"; }

step "starting a throwaway PostgreSQL cluster in var/demo/pg"
mkdir -p var/demo
chmod 755 var var/demo
CERTRECALL_DATABASE=$(scripts/pg.sh start var/demo/pg)
export CERTRECALL_DATABASE
echo "CERTRECALL_DATABASE=\"$CERTRECALL_DATABASE\"" >&2

step "applying the schema"
show db migrate

step "migration status"
show db status
