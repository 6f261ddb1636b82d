#!/usr/bin/env bash
# certrecall import against the real PostgreSQL: every format, counts,
# all-or-nothing, kill -9, re-import, gzip, PEM made with openssl.
. "$(dirname "$0")/lib.sh"
new_db import
certrecall -q db migrate
for s in a b c d; do
	certrecall -q incident create --slug "$s" --title "$s" --reason v1.6.7:5d-7 \
		--aware-at 2020-02-29T03:08:00Z
done
count() { db_sql -c "SELECT count(*) FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = '$1'"; }
cd "$T_TMP"
cc -O2 -o gen "$ROOT/bench/gen_le2020.c"

# A 10,000-line list loads with the right counts.
./gen 10000 7 >list.txt
out=$(certrecall import a list.txt --no-progress 2>&1)
contains "10,000 lines are read" "10000 lines read, 10000 certificate records" "$out"
contains "all are new" "10000 new, 0 already present" "$out"
expect "10,000 rows are in the table" 10000 "$(count a)"
accounts=$(awk '{print $3}' list.txt | sort -u | wc -l)
contains "accounts are counted" "$accounts accounts, $accounts without e-mail" "$out"
names=$(sed 's/.*names: \[\(.*\)\] missing.*/\1/' list.txt | tr ' ' '\n' | wc -l)
contains "names are counted" "$names names, $names distinct" "$out"
expect "every account has a subscriber row" "$accounts" \
	"$(db_sql -c "SELECT count(*) FROM subscriber")"
line=$(sed -n 4321p list.txt)
serial=$(awk '{print $2}' <<<"$line" | sed 's/^\(00\)*//')
expect "a row keeps its serial, source and line" "$serial list.txt 4321" \
	"$(db_sql -c "SELECT encode(serial, 'hex') || ' ' || source || ' ' || source_line FROM certificate WHERE source_line = 4321 AND incident_id = 1")"
issued=$(sed 's/.* at \([0-9-]*\) \([0-9:]*\)\..*/\1T\2Z/' <<<"$line")
# The le2020 time is when CAA was last checked: never an issuance time.
expect "the list's time is the CAA check's, in UTC" "$issued" \
	"$(db_sql -c "SELECT to_char(caa_checked_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM certificate WHERE source_line = 4321 AND incident_id = 1")"
expect "and not a notBefore (issued_at stays unknown)" 0 \
	"$(db_sql -c "SELECT count(*) FROM certificate WHERE incident_id = 1 AND issued_at IS NOT NULL")"
out=$(certrecall import a list.txt --no-progress 2>&1)
contains "re-import is a no-op" "0 new, 10000 already present" "$out"
expect "and adds no rows" 10000 "$(count a)"
expect "each import is in the audit trail" 2 \
	"$(db_sql -c "SELECT count(*) FROM event WHERE kind = 'import.certificates'")"

# Overlap: only the new ones are added.
./gen 12000 7 | tail -n 4000 >more.txt
out=$(certrecall import a more.txt --no-progress 2>&1)
contains "an overlapping file adds only the new certificates" "2000 new, 2000 already present" "$out"

# Two imports of overlapping lists at once: both succeed, each
# certificate is stored once and the new counts add up (imports of an
# incident take turns; neither fails on the other's keys).
certrecall -q incident create --slug e --title e --reason v1.6.7:5d-7 \
	--aware-at 2020-02-29T03:08:00Z
./gen 60000 11 >both.txt
head -n 40000 both.txt >one.txt
tail -n 40000 both.txt >two.txt
certrecall import e one.txt --no-progress >one.out 2>&1 &
p1=$!
certrecall import e two.txt --no-progress >two.out 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
expect "two overlapping imports at once both succeed" "0 0" "$r1 $?"
expect "each certificate is stored once" 60000 "$(count e)"
n1=$(sed -n 's/.* \([0-9]*\) new, .*/\1/p' one.out)
n2=$(sed -n 's/.* \([0-9]*\) new, .*/\1/p' two.out)
expect "the new counts add up" 60000 "$((n1 + n2))"

# One bad line: nothing is loaded and the line is named.
subscribers=$(db_sql -c "SELECT count(*) FROM subscriber")
sed '7777s/names: \[/names: /' list.txt >bad.txt
out=$(certrecall import b bad.txt --no-progress 2>&1)
expect "a bad line fails the import (65)" 65 $?
contains "the bad line is named" "bad.txt:7777:" "$out"
expect "nothing was loaded" 0 "$(count b)"
expect "no subscriber rows were added either" "$subscribers" \
	"$(db_sql -c "SELECT count(*) FROM subscriber")"

# --max-errors N tolerates N bad lines into --rejects FILE.
sed -e '10s/^serial [0-9a-f]*/serial xyz/' -e '20s/ at 20/ at 19x/' list.txt >two-bad.txt
fails "more bad lines than --max-errors fails" 65 \
	certrecall import b two-bad.txt --no-progress --max-errors 1 --rejects rej.txt
expect "and loads nothing" 0 "$(count b)"
out=$(certrecall import b two-bad.txt --no-progress --max-errors 2 --rejects rej.txt 2>&1)
contains "up to N bad lines are tolerated" "9998 new" "$out"
expect "the rejects file has each reason and the original line" 4 "$(wc -l <rej.txt)"
contains "the rejects file names file and line" "# two-bad.txt:10:" "$(cat rej.txt)"
expect "the rejected line is kept as it was" "$(sed -n 20p two-bad.txt)" "$(sed -n 4p rej.txt)"

# gzip is detected by magic bytes and gives identical rows.
gzip -c list.txt >list.gz
cp list.gz list-without-extension
certrecall -q import c list-without-extension --no-progress
rows() { db_sql -c "SELECT md5(string_agg(encode(serial,'hex') || account || caa_checked_at || array_to_string(names, ' ') || source_line, ',' ORDER BY serial)) FROM certificate WHERE $1"; }
expect "gzip and plain give identical rows" \
	"$(rows "incident_id = 1 AND source = 'list.txt'")" "$(rows "incident_id = 3")"

# Standard input, and a serial listed twice with different data.
head -3 list.txt >dup.txt
sed -n 2p list.txt | sed 's/names: \[/names: [extra.example /' >>dup.txt
out=$(certrecall import d - --no-progress <dup.txt 2>&1)
contains "a conflicting duplicate names both lines" "-:4: serial" "$out"
contains "and the first one" "is also at -:2 with different data" "$out"
expect "nothing loaded after the conflict" 0 "$(count d)"
head -3 list.txt >same.txt
sed -n 2p list.txt >>same.txt
out=$(certrecall import d - --no-progress <same.txt 2>&1)
contains "an exact duplicate is counted, not an error" "1 duplicate lines" "$out"
contains "and loaded once" "3 new" "$out"
sed -n 2p list.txt | sed 's/names: \[/names: [extra.example /' >changed.txt
out=$(certrecall import d changed.txt --no-progress 2>&1)
contains "a conflict with an earlier import is refused" "was imported before from -:2 with different data" "$out"

# le2022, csv, serials.
new_db formats
certrecall -q db migrate
certrecall -q incident create --slug t --title t --reason br-12 --aware-at 2024-01-26T00:00:00Z
printf '%s\n' '1234,"03:A1:B2","2022-03-01T12:00:00Z","Example.COM.","www.example.com"' \
	'1234,"0x04ff","2022-03-02T00:00:00+01:00","a.example"' >le2022.csv
out=$(certrecall import t le2022.csv --no-progress 2>&1)
contains "le2022 is detected" "format le2022" "$out"
expect "le2022 rows: serial, expiry, normalised sorted names" \
	"03a1b2|2022-03-01 12:00:00+00|{example.com,www.example.com}" \
	"$(db_sql -c "SELECT encode(serial,'hex'), not_after, names FROM certificate WHERE source_line = 1")"
expect "le2022 offsets are converted to UTC" "2022-03-01 23:00:00+00" \
	"$(db_sql -c "SELECT not_after FROM certificate WHERE serial = '\\x04ff'")"
cat >certs.csv <<'CSV'
Serial,Account,Email,Names,Not_After,Ticket
0a0b,acct-1,Ops@Example.COM,"x.example;y.example",2022-05-01,T-1
0a0c,acct-2,,z.example,2022-05-01T00:00:00Z,"T-2, with ""quotes"""
CSV
out=$(certrecall import t certs.csv --no-progress 2>&1)
contains "csv is detected" "format csv" "$out"
expect "unknown csv columns are kept as extra" '{"Ticket": "T-2, with \"quotes\""}' \
	"$(db_sql -c "SELECT extra FROM certificate WHERE serial = '\\x0a0c'")"
expect "csv e-mail becomes the account's contact" "{Ops@example.com}" \
	"$(db_sql -c "SELECT emails FROM subscriber WHERE account = 'acct-1'")"
# Values at the edges of what the staging COPY carries: times before
# 1970 and near year 9999, an account with quotes, a backslash, a tab
# and a comma, two names, no names at all, JSON extras.
printf '%s\n' 'serial,account,names,not_after,issued_at,note' \
	'0d01,"we""ird\acct,	x",a.example;b.example,9999-12-31T23:59:59Z,1950-01-01T00:00:01Z,"x\y ""z"""' \
	'0d02,plain,,2000-01-01T00:00:00Z,1969-12-31T23:59:59Z,' >edges.csv
certrecall -q import t edges.csv --no-progress
expect "edge values arrive as written" \
	"we\"ird\\acct,	x|{a.example,b.example}|9999-12-31 23:59:59+00|1950-01-01 00:00:01+00|{\"note\": \"x\\\\y \\\"z\\\"\"}
plain|{}|2000-01-01 00:00:00+00|1969-12-31 23:59:59+00|" \
	"$(db_sql -c "SELECT account, names, not_after, issued_at, extra FROM certificate WHERE source = 'edges.csv' ORDER BY serial")"
printf '00:ff:01\n0x0102\n' >serials.txt
out=$(certrecall import t serials.txt --format serials --no-progress 2>&1)
contains "a serials list loads" "2 new" "$out"
printf '256\n65535\n' >decimal.txt
certrecall -q import t decimal.txt --format serials --serial-base 10 --no-progress
expect "decimal serials are converted" "0100 ffff" \
	"$(db_sql -c "SELECT string_agg(encode(serial,'hex'), ' ' ORDER BY serial) FROM certificate WHERE source = 'decimal.txt'")"

# Contacts: --accounts, accounts without any address are counted.
printf 'account,email\nacct-2,a@example.org,b@example.org\n"acct-3",\n' >accounts.csv
out=$(certrecall import t --accounts accounts.csv --no-progress 2>&1)
expect "--accounts loads contacts" "{a@example.org,b@example.org}" \
	"$(db_sql -c "SELECT emails FROM subscriber WHERE account = 'acct-2'")"
expect "an account with no address is kept, empty" "{}" \
	"$(db_sql -c "SELECT emails FROM subscriber WHERE account = 'acct-3'")"
printf 'acct-9,not-an-address\n' >bad-accounts.csv
out=$(certrecall import t --accounts bad-accounts.csv --no-progress 2>&1)
contains "a bad address is named with file:line" "bad-accounts.csv:1:" "$out"

# PEM and DER made with openssl: serial, names, validity, SHA-256.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem \
	-subj "/CN=leaf.example" -addext "subjectAltName=DNS:leaf.example,DNS:WWW.Leaf.Example,IP:127.0.0.1" \
	-set_serial 0x00ABCDEF -days 30 -out leaf.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k2.pem \
	-subj "/CN=other.example" -set_serial 77 -days 30 -out other.pem 2>/dev/null
{ echo "some text before"; cat leaf.pem; openssl x509 -in other.pem -text; } >bundle.pem
out=$(certrecall import t bundle.pem --no-progress 2>&1)
contains "PEM is detected and both certificates load" "2 new" "$out"
expect "PEM serial, names and validity are read" \
	"abcdef|{127.0.0.1,leaf.example,www.leaf.example}|$(date -u -d "$(openssl x509 -in leaf.pem -noout -enddate | sed 's/notAfter=//')" +%s)" \
	"$(db_sql -c "SELECT encode(serial,'hex'), names, extract(epoch FROM not_after)::bigint FROM certificate WHERE source = 'bundle.pem' AND names @> '{leaf.example}'")"
fp=$(openssl x509 -in leaf.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
expect "the SHA-256 fingerprint is stored" "$fp" \
	"$(db_sql -c "SELECT encode(sha256,'hex') FROM certificate WHERE serial = '\\xabcdef'")"
expect "a certificate without SANs is named by its CN" "{other.example}" \
	"$(db_sql -c "SELECT names FROM certificate WHERE serial = '\\x4d'")"
openssl x509 -in leaf.pem -outform der -out leaf.der
out=$(certrecall import t leaf.der --format der --no-progress 2>&1)
contains "DER loads (already present from PEM)" "0 new, 1 already present" "$out"

# Replacements: same set of names, newer, any account.
printf '%s\n' 'serial,account,names,issued_at' '0b01,other,"y.example;x.example",2022-04-01' \
	'0b02,other,x.example,2022-04-01' >repl.csv
out=$(certrecall import t repl.csv --replacements --no-progress 2>&1)
contains "a replacement with exactly the same names marks it" "1 affected certificates now marked replaced" "$out"
expect "the replaced certificate points at its replacement" "0b01" \
	"$(db_sql -c "SELECT encode(replaced_by,'hex') FROM certificate WHERE serial = '\\x0a0b'")"

# An incident id beyond 32 bits: imports of it still take turns (the
# lock key is derived from the id, not the id cast to integer).
db_sql -c "SELECT setval('incident_id_seq', 5000000000)" >/dev/null
certrecall -q incident create --slug wide --title wide --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
expect "the incident has an id beyond 32 bits" 5000000001 \
	"$(db_sql -c "SELECT id FROM incident WHERE slug = 'wide'")"
head -50 list.txt >wide.txt
out=$(certrecall import wide wide.txt --no-progress 2>&1)
contains "an incident beyond 32 bits imports" "50 new, 0 already present" "$out"
expect "its 50 rows are in the table" 50 "$(count wide)"

# kill -9 in the middle of a large import leaves nothing behind.
new_db kill
certrecall -q db migrate
certrecall -q incident create --slug k --title k --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
./gen 400000 9 >big.txt
for sig in KILL INT TERM; do
	# Job control on, or bash starts background jobs ignoring SIGINT; and
	# the default action back, in case this test itself was started with
	# SIGINT ignored (nohup, a background job of a script).
	set -m
	env --default-signal=INT,TERM "$CERTRECALL_BIN" import k big.txt --no-progress >/dev/null 2>&1 &
	pid=$!
	set +m
	for _ in $(seq 1 200); do
		n=$(db_sql -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %'")
		[ "$n" = 1 ] && break
		sleep 0.05
	done
	sleep 0.3
	kill -$sig $pid
	wait $pid 2>/dev/null
	expect "SIG$sig during COPY leaves zero certificates" 0 "$(count k)"
	expect "SIG$sig leaves zero subscribers" 0 "$(db_sql -c "SELECT count(*) FROM subscriber")"
done

finish
