#!/usr/bin/env bash
# What the documentation promises (issue 16): the README's samples are
# what the tool prints, and every document the man page cites is
# installed by `make install`.
. "$(dirname "$0")/lib.sh"
new_db docs
certrecall -q db migrate

# --- the README's deadlines sample is real output ----------------------
certrecall -q incident create --slug caa-2020 --title "CAA rechecking bug" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
printf 'serial,account,email,names,not_after\n1001,acct-1,ops@example.org,a.example,2020-08-01\n' \
	>"$T_TMP/list.csv"
CERTRECALL_CLOCK=2020-02-29T05:00:00Z certrecall -q import caa-2020 "$T_TMP/list.csv" --no-progress
cmd='certrecall deadlines caa-2020 --at 2020-03-04T00:00:00Z'
out=$(eval "$cmd")
# The README block after "$ $cmd": its clock lines, up to the blank line.
sample=$(awk -v c="\$ $cmd" '$0 == c { on = 1; next } on && /^$/ { exit }
	on && /^revoke-/' "$ROOT/README.md")
expect "the README shows the deadlines command" 2 "$(grep -c . <<<"$sample")"
while IFS= read -r line; do
	contains "README line is real output: ${line%%  *}" "$line" "$out"
done <<<"$sample"

# --- make install installs what the man page cites ---------------------
dest=$T_TMP/inst
if make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr >"$T_TMP/install.log" 2>&1; then
	pass "make install into DESTDIR"
else
	fail "make install into DESTDIR" "$(cat "$T_TMP/install.log")"
fi
cited=$(grep -o 'share/doc/certrecall/[A-Za-z0-9_.-]*[A-Za-z0-9]' "$ROOT/docs/certrecall.1" | sort -u)
expect "the man page cites installed documents" yes "$([ -n "$cited" ] && echo yes)"
for f in $cited; do
	if [ -e "$dest/usr/$f" ]; then pass "installed: $f"; else fail "installed: $f" "not in $dest/usr"; fi
done
# Any other docs/... path in the man page would name a file of the source tree.
left=$(grep -o 'docs/[A-Za-z0-9_./-]*' "$ROOT/docs/certrecall.1" | grep -v '^docs/certrecall' || true)
expect "the man page cites no source-tree path" "" "$left"
finish
