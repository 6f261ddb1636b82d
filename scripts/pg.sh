#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and `make demo`.
#
#   scripts/pg.sh start DIR [--tcp PORT]   create (first time) and start
#   scripts/pg.sh stop DIR                 stop (fast shutdown)
#   scripts/pg.sh status DIR               exit 0 if running
#   scripts/pg.sh url DIR [DBNAME]         print a libpq conninfo
#
# The cluster lives in DIR/data and listens on a Unix socket only (no TCP
# unless --tcp is given, then on 127.0.0.1 only).  initdb refuses to run as
# root, so as root the server runs as the "postgres" user.
# CERTRECALL_PG_PRELOAD=pg_stat_statements preloads that library (benches);
# CERTRECALL_PG_SHARED_BUFFERS sets shared_buffers (256MB unless set).  `start` is
# idempotent and creates the database "certrecall".
set -euo pipefail

usage() { echo "usage: $0 start|stop|status|url DIR [...]" >&2; exit 64; }
[ $# -ge 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
shift 2

bindir=""
for v in 15 16 17 14 13; do
	if [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
		bindir=/usr/lib/postgresql/$v/bin
		break
	fi
done
[ -n "$bindir" ] || { echo "pg.sh: PostgreSQL server not installed (run scripts/deps.sh)" >&2; exit 69; }

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}
owner() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }

# The socket path must fit in sun_path (107 bytes); deep work trees get a
# short directory under /tmp, recorded in DIR/socketdir.
port=$(cat "$dir/port" 2>/dev/null || echo 54329)
sockdir() {
	if [ -f "$dir/socketdir" ]; then
		cat "$dir/socketdir"
	elif [ ${#dir} -lt 70 ]; then
		echo "$dir/run"
	else
		echo "/tmp/certrecall-pg.$(echo "$dir" | cksum | cut -d' ' -f1)"
	fi
}

running() {
	[ -f "$dir/data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

conninfo() {
	echo "host=$(sockdir) port=$port user=$(owner) dbname=${1:-certrecall}"
}

case $cmd in
start)
	tcp=""
	if [ "${1:-}" = --tcp ]; then tcp=${2:?--tcp needs a port}; fi
	if running; then
		conninfo
		exit 0
	fi
	sd=$(sockdir)
	mkdir -p "$sd"
	echo "$sd" >"$dir/socketdir"
	echo "$port" >"$dir/port"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir" "$sd"
		# postgres must be able to reach DIR through its parents.
		if ! runuser -u postgres -- test -x "$dir"; then
			echo "pg.sh: user postgres cannot enter $dir (check the parents' permissions)" >&2
			exit 77
		fi
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$bindir/initdb" -D "$dir/data" -U "$(owner)" \
			--auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 70; }
	fi
	listen="''"
	[ -n "$tcp" ] && { listen=127.0.0.1; port=$tcp; echo "$port" >"$dir/port"; }
	# A lock file left in our socket directory by a cluster of this DIR
	# that died (or by an earlier run under the same path: /tmp outlives
	# var/) names a PID that may since belong to another process, and the
	# server then refuses to start.  The directory is this DIR's alone and
	# its cluster is not running, so the lock is stale.
	rm -f "$sd/.s.PGSQL.$port.lock" "$sd/.s.PGSQL.$port"
	# Throwaway data: no fsync, and enough connections for worker tests.
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=$listen -p $port -k $sd -c fsync=off \
		-c synchronous_commit=off -c full_page_writes=off \
		-c max_connections=200 -c shared_buffers=${CERTRECALL_PG_SHARED_BUFFERS:-256MB} \
		-c timezone=UTC ${CERTRECALL_PG_PRELOAD:+-c shared_preload_libraries=$CERTRECALL_PG_PRELOAD}" start >/dev/null ||
		{ tail -20 "$dir/server.log" >&2; exit 70; }
	if ! as_owner "$bindir/psql" -XAtq -h "$sd" -p "$port" -d postgres \
		-c "SELECT 1 FROM pg_database WHERE datname = 'certrecall'" | grep -q 1; then
		as_owner "$bindir/createdb" -h "$sd" -p "$port" certrecall
	fi
	conninfo
	;;
stop)
	if running; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	fi
	;;
status)
	if running; then
		echo "running: $(conninfo)"
	else
		echo "stopped"
		exit 3
	fi
	;;
url)
	conninfo "${1:-}"
	;;
*)
	usage
	;;
esac
