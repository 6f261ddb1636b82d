#!/usr/bin/env bash
# The test runner behind `make check`.
#
# Starts a throwaway PostgreSQL cluster, runs every unit test program
# (plain build, then the ASan/UBSan build) and every integration script in
# tests/integration/, stops what it started even on failure, and ends with
# the line "N passed, N failed".
#
#   tests/run.sh [PATTERN]   run only integration scripts matching PATTERN
#
# Unit programs print "unit-result: P F" (tests/unit/unit.h); integration
# scripts print "integration-result: P F" (tests/integration/lib.sh).  A
# program that dies without its result line counts as one failure.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 70
pattern=${1:-}

export CERTRECALL_TEST_ROOT=$root
export CERTRECALL_TEST_VAR=${CERTRECALL_TEST_VAR:-$root/var/test}
export CERTRECALL_BIN=${CERTRECALL_BIN:-$root/build/certrecall}
rm -rf "$CERTRECALL_TEST_VAR"
mkdir -p "$CERTRECALL_TEST_VAR"
chmod 755 "$CERTRECALL_TEST_VAR"

passed=0
failed=0
failures=()

cleanup() {
	"$root/scripts/pg.sh" stop "$CERTRECALL_TEST_VAR/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! admin=$("$root/scripts/pg.sh" start "$CERTRECALL_TEST_VAR/pg"); then
	echo "cannot start the test PostgreSQL cluster" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
# Tests create their own databases from this one.
export CERTRECALL_TEST_PG=$admin

# run NAME LOGFILE KIND CMD...: runs one program, adds its counts.
run() {
	local name=$1 log=$2 tag=$3
	shift 3
	local start end line p f
	start=$(date +%s)
	"$@" >"$log" 2>&1
	local rc=$?
	end=$(date +%s)
	line=$(grep -a "^$tag-result: " "$log" | tail -1)
	if [ -n "$line" ]; then
		read -r _ p f <<<"$line"
	else
		p=0 f=1
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # exited non-zero without saying why: still a failure
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		printf 'FAIL %-40s %3d passed %3d failed (%ss)\n' "$name" "$p" "$f" $((end - start))
		grep -aE -A3 '^not ok|:[EF]:|runtime error|Sanitizer' "$log" | head -30 | sed 's/^/     /'
		echo "     (log: ${log#$root/})"
	else
		printf 'ok   %-40s %3d passed (%ss)\n' "$name" "$p" $((end - start))
	fi
}

logs=$CERTRECALL_TEST_VAR/logs
mkdir -p "$logs"

if [ -z "$pattern" ]; then
	# Unit tests run under two far-apart zones: answers must not move.
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		run "unit/$n" "$logs/unit-$n.log" unit env TZ=Asia/Tokyo "$t"
	done
	for t in build/asan/tests/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		# CK_FORK=no: one process, so the sanitizers see everything.
		run "asan/$n" "$logs/asan-$n.log" unit env TZ=America/New_York \
			CK_FORK=no ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$t"
	done
fi

for t in tests/integration/[0-9][0-9][0-9]-*.sh; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .sh)
	case $n in *$pattern*) ;; *) continue ;; esac
	run "integration/$n" "$logs/$n.log" integration bash "$t"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
