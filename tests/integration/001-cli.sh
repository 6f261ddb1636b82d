#!/usr/bin/env bash
# The command line: dispatch, help, usage errors and their exit codes.
. "$(dirname "$0")/lib.sh"

ok "--version prints the version" certrecall --version
fails "no command is a usage error (64)" 64 certrecall
fails "unknown command exits 64" 64 certrecall frobnicate
err=$(certrecall frobnicate 2>&1 >/dev/null)
expect "unknown command gives one line" 1 "$(printf '%s\n' "$err" | wc -l)"
contains "unknown command is named" "unknown command 'frobnicate'" "$err"
fails "unknown global option exits 64" 64 certrecall --frobnicate db status
fails "unknown command option exits 64" 64 certrecall config show --frobnicate
fails "unknown subcommand exits 64" 64 certrecall config frobnicate
fails "extra argument exits 64" 64 certrecall config show extra

# Help needs neither a config file nor a database.
export CERTRECALL_DATABASE="host=/nonexistent dbname=nothing connect_timeout=1"
for cmd in $(certrecall help | awk '/^commands:/ {on=1; next} on && NF {print $1}'); do
	out=$(certrecall help "$cmd")
	contains "help $cmd prints its usage" "usage: certrecall $cmd" "$out"
	out=$(certrecall "$cmd" --help)
	contains "$cmd --help prints its usage" "usage: certrecall $cmd" "$out"
done
fails "help for an unknown command exits 64" 64 certrecall help frobnicate
fails "an unreachable database exits 69 (unavailable)" 69 certrecall db status
fails "a bad option is a usage error even without a database" 64 certrecall notify x --limit abc
fails "a missing argument is a usage error even without a database" 64 certrecall deadlines
err=$(certrecall db status 2>&1)
contains "the connection error is explained" "cannot connect to the database" "$err"
contains "and says where the connection string comes from (issue 16)" \
	"the database is set by -d CONNINFO, CERTRECALL_DATABASE or [database] url" "$err"
err=$(env -u CERTRECALL_DATABASE -u CERTRECALL_DATABASE_URL "$CERTRECALL_BIN" db status 2>&1)
contains "and when none is set, says so" "; none is set" "$err"

# Issue 16: usage errors are stamped in UTC like every other message on
# stderr (README), and only once: getopt prints nothing of its own.
stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z error: certrecall'
for args in "frobnicate" "--frobnicate db status" "status --frobnicate" \
	"deadlines" "notify x --limit abc" "config show extra"; do
	# shellcheck disable=SC2086
	err=$(certrecall $args 2>&1 >/dev/null)
	if [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ $err =~ $stamp ]]; then
		pass "usage error of '$args': one UTC-stamped line"
	else
		fail "usage error of '$args': one UTC-stamped line" "$err"
	fi
done

# Logs go to stderr, stamped in UTC whatever TZ says.
err=$(TZ=Asia/Tokyo certrecall db status 2>&1 >/dev/null)
if [[ $err =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\ error: ]]; then
	pass "log lines are stamped in UTC RFC 3339"
else
	fail "log lines are stamped in UTC RFC 3339" "$err"
fi
now_h=$(date -u +%Y-%m-%dT%H)
contains "the stamp is UTC, not Tokyo time" "$now_h" "$err"
out=$(certrecall -q db status 2>&1 >/dev/null)
contains "-q still shows errors" "error:" "$out"

finish
