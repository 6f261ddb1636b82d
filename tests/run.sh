#!/usr/bin/env bash
# The test runner behind `make check`.
#
# Starts a throwaway PostgreSQL cluster, runs every unit test program
# (plain build, then the ASan/UBSan build) and every integration script in
# tests/integration/, stops what it started even on failure, and ends with
# the line "N passed, N failed".  As root a full run goes in three lanes
# at once (see lane_start).
#
#   tests/run.sh [PATTERN...]   run only integration scripts matching a
#                               PATTERN (no unit tests, no faketime runs);
#                               =NAME matches the script NAME only
#
# A full run (no PATTERN) then runs the date-sensitive suites (DATE_SUITES)
# again under libfaketime at the 1st and the 9th of a month and on 29
# February, so a test that depends on the day it runs fails every day,
# not on some days (issue 15).  Every process of such a run, PostgreSQL
# included, is on one clock shifted by a fixed offset (faketime -f +Ns):
# with the server on the real clock its now() and the client's time would
# disagree by years, and with faketime's default "start at" each process
# would restart the clock at DATE when it starts.  CERTRECALL_TEST_FAKETIME=no
# skips these runs; =only runs nothing else.
#
# Unit programs print "unit-result: P F" (tests/unit/unit.h); integration
# scripts print "integration-result: P F" (tests/integration/lib.sh).  A
# program that dies without its result line counts as one failure.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 70
patterns=("$@")
[ $# -eq 1 ] && [ -z "$1" ] && patterns=() # "" runs everything
ft=${CERTRECALL_TEST_FAKETIME:-yes}          # yes, no, or only
DATE_SUITES="005-incident 006-import 009-check 010-scan 012-revocations 013-revcheck 014-report"
FAKETIME_DATES=("2027-01-01 12:00:00" "2027-01-09 12:00:00" "2028-02-29 12:00:00")

export CERTRECALL_TEST_ROOT=$root
export CERTRECALL_TEST_VAR=${CERTRECALL_TEST_VAR:-$root/var/test}
export CERTRECALL_BIN=${CERTRECALL_BIN:-$root/build/certrecall}
rm -rf "$CERTRECALL_TEST_VAR"
mkdir -p "$CERTRECALL_TEST_VAR"
chmod 755 "$CERTRECALL_TEST_VAR"

passed=0
failed=0
failures=()
lane_names=()
lane_pids=()

cleanup() {
	local d
	for d in "${lane_pids[@]}"; do
		kill -TERM "$d" 2>/dev/null
		wait "$d" 2>/dev/null
	done
	for d in "$CERTRECALL_TEST_VAR/pg" "$CERTRECALL_TEST_VAR"/faketime-*/pg \
		"$CERTRECALL_TEST_VAR"/lane-*/pg \
		"$CERTRECALL_TEST_VAR"/lane-*/faketime-*/pg; do
		[ -d "$d" ] || continue
		"$root/scripts/pg.sh" stop "$d" >/dev/null 2>&1 || true
	done
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

# counts LOG REGEX A B: fields A and B (passed, failed) of LOG's last
# line matching REGEX, or "0 1": a program that ends without its line
# failed.
counts() {
	grep -a "$2" "$1" | tail -1 |
		awk -v a="$3" -v b="$4" '{ print $a, $b; n = 1 } END { if (!n) print 0, 1 }'
}

# tally NAME RC: adds p and f (from counts) to the run's; a non-zero
# exit RC that counted no failure is one (f is set to it).
tally() {
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # exited non-zero without saying why: still a failure
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -gt 0 ] && failures+=("$1")
	return 0
}

# run NAME LOGFILE KIND CMD...: runs one program, adds its counts.
run() {
	local name=$1 log=$2 tag=$3
	shift 3
	local start end p f
	start=$(date +%s)
	"$@" >"$log" 2>&1
	local rc=$?
	end=$(date +%s)
	read -r p f < <(counts "$log" "^$tag-result: " 2 3)
	tally "$name" "$rc"
	if [ "$f" -gt 0 ]; then
		printf 'FAIL %-40s %3d passed %3d failed (%ss)\n' "$name" "$p" "$f" $((end - start))
		grep -aE -A3 '^not ok|:[EF]:|runtime error|Sanitizer' "$log" | head -30 | sed 's/^/     /'
		echo "     (log: ${log#$root/})"
	else
		printf 'ok   %-40s %3d passed (%ss)\n' "$name" "$p" $((end - start))
	fi
}

logs=$CERTRECALL_TEST_VAR/logs
mkdir -p "$logs"

# matches NAME: no patterns, or NAME contains one of them.
matches() {
	local p
	[ ${#patterns[@]} -eq 0 ] && return 0
	for p in "${patterns[@]}"; do
		case $p in
		=*) [ "$1" = "${p#=}" ] && return 0 ;;
		*) case $1 in *$p*) return 0 ;; esac ;;
		esac
	done
	return 1
}

# A full run is mostly waiting (servers, timeouts: 0.8 of one core's
# CPU over 6 min on a 2-core machine), so it runs in three lanes at
# once: this one (the unit tests and half of the integration suites),
# a second with the other half, and a third with the faketime runs
# (below).  Each other lane is this script again, with a PostgreSQL
# cluster of its own under $CERTRECALL_TEST_VAR/lane-NAME and in a
# network namespace of its own, so that its servers' random ports
# cannot meet this lane's (tlsfleet.sh would take a neighbour's nginx
# for its own).  Their lines are shown at the end, their counts added.
# Without unshare (not root) everything runs here, one after another.
#
# lane_start NAME ENV... -- PATTERN...: tests/run.sh PATTERN... with
# ENV, in the background.
lane_start() {
	local name=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	unshare -n bash -c 'ip link set lo up && exec "$@"' "lane-$name" \
		env "${envs[@]}" CERTRECALL_TEST_VAR="$CERTRECALL_TEST_VAR/lane-$name" \
		"$root/tests/run.sh" "$@" >"$logs/lane-$name.log" 2>&1 &
	lane_names+=("$name")
	lane_pids+=($!)
}

# lanes_finish: waits for every lane, prints its lines and adds its
# counts; a lane that ended without its count line is a failure.
lanes_finish() {
	local i rc p f log
	for i in "${!lane_pids[@]}"; do
		log=$logs/lane-${lane_names[$i]}.log
		wait "${lane_pids[$i]}"
		rc=$?
		grep -av -e '^[0-9]* passed, [0-9]* failed$' -e '^failed: ' "$log"
		read -r p f < <(counts "$log" '^[0-9]* passed, [0-9]* failed$' 1 3)
		tally "lane-${lane_names[$i]}(${log#$root/})" "$rc"
	done
	lane_pids=()
}

suites=()
for t in tests/integration/[0-9][0-9][0-9]-*.sh; do
	[ -f "$t" ] && suites+=("$(basename "$t" .sh)")
done
here=() # the integration suites this lane runs
if [ ${#patterns[@]} -eq 0 ] && [ "$ft" = yes ] &&
	unshare -n true 2>/dev/null && command -v ip >/dev/null; then
	lane_start faketime CERTRECALL_TEST_FAKETIME=only --
	other=()
	for i in "${!suites[@]}"; do
		# =NAME: by name, not as a part of another suite's name
		if [ $((i % 2)) -eq 0 ]; then here+=("${suites[$i]}"); else other+=("=${suites[$i]}"); fi
	done
	lane_start b CERTRECALL_TEST_FAKETIME=no -- "${other[@]}"
else
	for n in "${suites[@]}"; do
		[ "$ft" != only ] && matches "$n" && here+=("$n")
	done
fi

# The layers of src/ (tests/layers.sh): which file may include which.
if [ "$ft" != only ] && matches layers; then
	run "layers" "$logs/layers.log" integration bash tests/layers.sh
fi

if [ ${#patterns[@]} -eq 0 ] && [ "$ft" != only ]; then
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
		# verify_asan_link_order=0: the whole run may be under
		# faketime, whose LD_PRELOAD comes before the ASan runtime.
		run "asan/$n" "$logs/asan-$n.log" unit env TZ=America/New_York \
			CK_FORK=no ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:verify_asan_link_order=0 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$t"
	done
fi

for n in "${here[@]}"; do
	run "integration/$n" "$logs/$n.log" integration bash "tests/integration/$n.sh"
done

# shifted SECONDS CMD...: CMD with libfaketime preloaded, on the real
# clock plus SECONDS.  Not the faketime program: it keeps a semaphore
# until every process that inherited it ends, and the cluster outlives it.
ftlib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
shifted() {
	local off=$1 pre=${LD_PRELOAD:-}
	shift
	case $pre in *libfaketime*) ;; *) pre=$ftlib${pre:+:$pre} ;; esac
	env LD_PRELOAD="$pre" FAKETIME="+${off}s" "$@"
}

# libfaketime (0.9.10) gives each process without an inherited semaphore
# one of its own, /dev/shm/sem.faketime_sem_PID (mode 0600), and removes
# it only when that process exits cleanly: exec'd and killed processes
# leave theirs behind.  A process of the postgres user that inherits
# root's (which it may not open) creates its own under its PID; if a file
# of that name is left over from a dead root process, it cannot, and
# libfaketime exits ("sem_open failed and recreation attempts failed"):
# the cluster does not start (seen in CI and here).  Files whose process
# is gone are garbage: remove them before and after each shifted run.
clean_faketime_shm() {
	local f pid
	for f in /dev/shm/sem.faketime_sem_* /dev/shm/faketime_shm_*; do
		[ -e "$f" ] || continue
		pid=${f##*_}
		case $pid in '' | *[!0-9]*) continue ;; esac
		[ -d "/proc/$pid" ] || rm -f "$f" 2>/dev/null
	done
}

# faketime_run DATE: DATE_SUITES on a clock shifted to start at DATE, with
# a PostgreSQL cluster of their own on the same clock.
faketime_run() {
	local when=$1 tag off var admin n real
	tag=$(date -u -d "$when" +%Y-%m-%d)
	# The real time, even when this whole run is under faketime.
	real=$(env -u LD_PRELOAD -u FAKETIME date +%s)
	off=$(($(date -u -d "$when" +%s) - real))
	var=$CERTRECALL_TEST_VAR/faketime-$tag
	mkdir -p "$var"
	chmod 755 "$var"
	# A cluster that will not start is reported with the reason (the log
	# is not kept by CI), and tried once more from scratch: a failed start
	# of a throwaway cluster says nothing about certrecall, but its suites
	# must still run.
	local try pglog=$logs/faketime-$tag-pg.log
	clean_faketime_shm
	for try in 1 2; do
		if admin=$(shifted "$off" "$root/scripts/pg.sh" start "$var/pg" 2>"$pglog"); then
			break
		fi
		echo "faketime $tag: PostgreSQL cluster did not start (attempt $try):"
		sed "s/^/    /" "$pglog"
		"$root/scripts/pg.sh" stop "$var/pg" >/dev/null 2>&1
		if [ "$try" -eq 2 ]; then
			echo "FAIL faketime $tag: cannot start its PostgreSQL cluster (log: ${pglog#$root/})"
			failed=$((failed + 1))
			failures+=("faketime-$tag")
			return
		fi
		rm -rf "$var/pg"
		sleep 2
	done
	for n in $DATE_SUITES; do
		[ -f "tests/integration/$n.sh" ] || continue
		run "faketime $tag/$n" "$logs/faketime-$tag-$n.log" integration \
			shifted "$off" env CERTRECALL_TEST_VAR="$var" \
			CERTRECALL_TEST_PG="$admin" bash "tests/integration/$n.sh"
	done
	"$root/scripts/pg.sh" stop "$var/pg" >/dev/null 2>&1
	clean_faketime_shm
}

if [ ${#patterns[@]} -eq 0 ] && [ "$ft" != no ] && [ ${#lane_pids[@]} -eq 0 ]; then
	if [ -n "$ftlib" ]; then
		for d in "${FAKETIME_DATES[@]}"; do
			faketime_run "$d"
		done
	else
		echo "FAIL faketime is not installed (scripts/deps.sh): the date-sensitive suites did not run at other dates"
		failed=$((failed + 1))
		failures+=("faketime")
	fi
fi

lanes_finish

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
