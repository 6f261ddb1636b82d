#!/usr/bin/env bash
# `make bench`: runs every bench/*.sh (each runs certrecall and a peer tool
# on the same work in one run and prints the ratio).  Not part of
# `make check`.
set -u
cd "$(dirname "$0")/.."
status=0
found=0
for b in bench/[a-z]*.sh; do
	case $b in bench/run.sh | bench/lib.sh) continue ;; esac
	[ -f "$b" ] || continue
	found=1
	echo "== $b"
	bash "$b" || status=1
done
[ "$found" -eq 1 ] || echo "no benchmarks yet: each capability adds bench/<name>.sh"
exit $status
