# bench/lib.sh - sourced by the benchmarks that need the 2020-sized list
# and a fresh incident (import.sh, report.sh).  Not a benchmark itself.
#
# Expects root (the checkout) and dir (the benchmark's work directory).

# bench_list N SEED: sets list (the le2020 file) and peer (the same
# certificates pre-normalised as CSV), generating them once.
bench_list() {
	cc -O2 -Wall -Wextra -Werror -o "$dir/gen_le2020" "$root/bench/gen_le2020.c"
	list=$dir/le2020-$1-$2.txt
	peer=$dir/peer-$1-$2.csv
	if [ ! -s "$list" ] || [ ! -s "$peer" ]; then
		echo "generating $1 lines (seed $2)..." >&2
		"$dir/gen_le2020" "$1" "$2" "$peer" >"$list"
	fi
	chmod 644 "$list" "$peer"
}

# bench_incident DBNAME: the throwaway cluster in $dir/pg, a new database
# DBNAME with the schema and the caa-2020 incident; exports
# CERTRECALL_DATABASE and sets bin.
bench_incident() {
	local conn
	conn=$("$root/scripts/pg.sh" start "$dir/pg")
	psql -XAtq "${conn% dbname=*} dbname=postgres" \
		-c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
	export CERTRECALL_DATABASE="${conn% dbname=*} dbname=$1"
	bin=$root/build/certrecall
	"$bin" -q db migrate
	"$bin" -q incident create --slug caa-2020 --title "CAA rechecking bug" \
		--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
}

# bench_own_group "$0" "$@": re-executes the benchmark as the leader of a
# session of its own (setsid keeps the pid when it is not a group leader
# already), so that bench_leftovers can find everything it started,
# children of children included, even those that moved to a process
# group of their own (`openssl ocsp -multi` does, and its forked
# responders outlived their killed parent).  Call first.
bench_own_group() {
	local sid
	read -r _ _ _ _ _ sid _ </proc/$$/stat
	if [ "$sid" != "$$" ] && [ -z "${CERTRECALL_BENCH_GROUP:-}" ]; then
		CERTRECALL_BENCH_GROUP=1 exec setsid bash "$@"
	fi
}

# bench_leftovers: after the benchmark has stopped what it started, kills
# (by pid) whatever is still running in its session and says so; returns
# 1 when something was left.  PostgreSQL runs in a session of its own
# (pg_ctl) and is stopped by pg.sh.
bench_leftovers() {
	local left=() f pid comm rest sid
	[ "${CERTRECALL_BENCH_GROUP:-}" = 1 ] || return 0
	for f in /proc/[0-9]*/stat; do
		{ read -r pid comm rest <"$f"; } 2>/dev/null || continue
		[ "$pid" = "$$" ] && continue
		set -- $rest
		sid=$4
		[ "$1" = Z ] && continue # ended, waiting to be reaped
		[ "$sid" = "$$" ] && [ "$pid" != "$BASHPID" ] && left+=("$pid $comm")
	done
	[ ${#left[@]} -eq 0 ] && return 0
	echo "bench left processes running: ${left[*]} (stopping them)" >&2
	for f in "${left[@]}"; do kill "${f%% *}" 2>/dev/null || true; done
	sleep 1
	for f in "${left[@]}"; do kill -KILL "${f%% *}" 2>/dev/null || true; done
	return 1
}
