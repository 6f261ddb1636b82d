#!/usr/bin/env bash
# Exit codes automation can rely on: a standard output whose reader has
# gone (`| head -1`) ends every command quietly, as coreutils do (killed
# by SIGPIPE, shell status 141, nothing on stderr); 75 only for what a
# retry can fix.
. "$(dirname "$0")/lib.sh"
new_db exits
certrecall -q db migrate
certrecall -q incident create --slug ex --title "exit codes" \
	--reason 5d-7 --aware-at 2020-02-29T03:08:00Z
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
cd "$T_TMP"
{
	echo "serial,account,email,names"
	for i in $(seq 1 3000); do printf '%x,a-%d,u%d@example.org,h%d.example\n' $((i + 4096)) "$i" "$i" "$i"; done
} >list.csv
certrecall -q import ex list.csv --no-progress

# closed CMD...: runs CMD with standard output a pipe whose reader is
# already closed (the moment `head` has exited, without the race), prints
# how it ended ("signal 13" / "exit N") and how much it wrote on stderr.
closed() {
	/usr/bin/python3 - "$@" <<'PY'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)
how = "signal %d" % -p.returncode if p.returncode < 0 else "exit %d" % p.returncode
print(how, len(p.stderr), p.stderr.decode(errors="replace").strip()[:200])
PY
}
coreutils=$(closed seq 1 100000)
expect "coreutils' seq, the reference: killed by SIGPIPE, says nothing" "signal 13 0 " "$coreutils"

# -q: errors only (ccadb names its empty columns, export its CRLReason).
B=$CERTRECALL_BIN
while read -r what; do
	# shellcheck disable=SC2086
	expect "a closed stdout: $what ends like coreutils" "$coreutils" "$(closed "$B" -q $what)"
done <<'EOF'
--version
help
help report
rules
config show
incident list
deadlines ex
deadlines ex --json
status ex
report ex --format md
report ex --format html
report ex --format json
report ex --format csv
report ex --format ccadb
report ex --format events
notify ex --plan
notify ex --preview u1@example.org --at 2020-03-01T00:00:00Z
export-revocations ex
EOF

# The same through a real pipe: an output far larger than the pipe's
# 64 KiB buffer (3,000 rows of about 60 bytes), so writes after head has
# gone fail for certain.
out=$( { certrecall -q report ex --format csv 2>err.txt | head -1; } ; echo "status ${PIPESTATUS[0]}")
contains "report | head -1 gives the first line" "serial,account,names" "$out"
contains "and ends with status 141, as seq | head -1 does" "status 141" "$out"
expect "with nothing on stderr" "" "$(cat err.txt)"

# A write error that is not a closed pipe is still an error.
if [ -w /dev/full ]; then
	fails "a full disk on stdout is an I/O error (74)" 74 certrecall report ex --format csv -o /dev/full
	contains "and says so" "cannot write /dev/full" "$(certrecall report ex --format md >/dev/full 2>&1; certrecall report ex --format md -o /dev/full 2>&1)"
fi

# 75 only for what a retry can fix.
fails "--preview of an address without a notice is data (65), not 75" 65 \
	certrecall notify ex --preview nobody@example.org
fails "a mailer.from without a domain is configuration (78)" 78 \
	env CERTRECALL_MAILER_FROM=revocations "$CERTRECALL_BIN" notify ex --preview u1@example.org
fails "an unknown incident is data (65)" 65 certrecall report nosuch
fails "an unreachable database is unavailable (69)" 69 \
	certrecall -d "host=/nonexistent dbname=x connect_timeout=1" report ex
finish
