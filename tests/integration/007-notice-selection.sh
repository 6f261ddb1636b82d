#!/usr/bin/env bash
# Who gets which kind of notice (issue 17: defined once, in notice.c's
# table): every combination of the facts the rule reads, built in a
# database, goes through every path that selects (--plan's forecast,
# --dry-run's planning, a real run's planning), and each must pick
# exactly the addresses the C rule picks (build/tests/test_notice
# --selection-table).  One account and address per combination:
# a-<revoked><expired><scanned><replaced>@example.org.
. "$(dirname "$0")/lib.sh"
table=$ROOT/build/tests/test_notice
[ -x "$table" ] || { fail "build/tests/test_notice is built (make unit)"; finish; }
new_db selection
certrecall -q db migrate
start_smtpd mail || { fail "smtpd starts"; finish; }
export CERTRECALL_SMTP_PORT=$SMTP_PORT CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_CLOCK=2020-03-01T00:00:00Z
cd "$T_TMP"

# "scanned" is the incident's (a completed scan round); "replaced" only
# exists after one, so an unscanned incident has the 4 combinations
# without it and a scanned one all 8 others.
for inc in scanned unscanned; do
	certrecall -q incident create --slug "$inc" --title "$inc" \
		--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00
done
combos() { # the combinations of incident $1
	local r e p
	for r in 0 1; do for e in 0 1; do for p in 0 1; do
		if [ "$1" = scanned ]; then echo "$r$e"1"$p"; elif [ $p = 0 ]; then echo "$r$e"00; fi
	done; done; done
}
for inc in scanned unscanned; do
	{
		echo "serial,account,email,names,not_after"
		for c in $(combos $inc); do
			na=2020-05-01
			[ "${c:1:1}" = 1 ] && na=2020-02-01
			printf '%x,acct-%s,a-%s@example.org,h%s.example,%s\n' $((0x1000 + 2#$c)) "$c" "$c" "$c" "$na"
		done
	} >"$inc.csv"
	certrecall -q import "$inc" "$inc.csv" --no-progress
done
db_sql -c "UPDATE certificate SET revoked_at = '2020-02-29T20:00:00Z', revocation_state = 'revoked' WHERE account LIKE 'acct-1%'"
# A completed round: the replaced ones' names serve the replacement,
# the others' serve the affected certificate.
db_sql -c "INSERT INTO scan_target (incident_id, name, port, state, round)
	SELECT incident_id, names[1], 443, 'done', 1 FROM certificate
	WHERE incident_id = (SELECT id FROM incident WHERE slug = 'scanned')" \
	-c "INSERT INTO observation (target_id, worker, verdict, served_serial, round)
	SELECT t.id, 'test', CASE WHEN c.account LIKE '%1' THEN
	'serving-replacement' ELSE 'serving-affected' END,
	CASE WHEN c.account LIKE '%1' THEN '\\x01'::bytea ELSE c.serial END, 1
	FROM scan_target t JOIN certificate c ON c.incident_id = t.incident_id
	AND t.name = c.names[1]"
expect "the scan shows the replaced ones replaced" "acct-0011 acct-0111 acct-1011 acct-1111" \
	"$(db_sql -c "SELECT string_agg(account, ' ' ORDER BY account) FROM certificate c
	WHERE certificate_scan_verdict(c.incident_id, c.serial, c.names) = 'replaced'")"

# want INC KIND: the addresses the C rule picks, sorted.
want() {
	local col
	case $2 in initial) col=5 ;; reminder) col=6 ;; revoked) col=7 ;; esac
	"$table" --selection-table | while read -r r e s p i m v; do
		c=$r$e$s$p
		combos "$1" | grep -qx "$c" || continue
		sel=$(echo "$r $e $s $p $i $m $v" | cut -d' ' -f$col)
		[ "$sel" = 1 ] && echo "a-$c@example.org"
	done | sort | tr '\n' ' '
}
expect "the C rule spans all 16 combinations" 16 "$("$table" --selection-table | wc -l)"

for inc in scanned unscanned; do
	plan=$(certrecall notify "$inc" --plan)
	for kind in initial reminder revoked; do
		w=$(want $inc $kind)
		n=$(wc -w <<<"$w")
		expect "$inc $kind: --plan forecasts the C rule's $n addresses" "$n" \
			"$(awk -v k=$kind '$1 == k { print $3 }' <<<"$plan")"
		rm -rf "d-$inc-$kind"
		certrecall -q notify "$inc" --kind $kind --dry-run "d-$inc-$kind" 2>/dev/null
		expect "$inc $kind: --dry-run drafts for the C rule's addresses" "$w" \
			"$(ls "d-$inc-$kind" | sed 's/^[0-9]*-//; s/\.eml$//' | sort | tr '\n' ' ')"
		certrecall -q notify "$inc" --kind $kind --no-progress 2>/dev/null
		expect "$inc $kind: a run sends to the C rule's addresses" "$w" \
			"$(db_sql -c "SELECT address FROM notice n JOIN incident i ON i.id = n.incident_id
			WHERE i.slug = '$inc' AND n.kind = '$kind' AND n.state = 'sent'
			ORDER BY address" | tr '\n' ' ')"
	done
done

# The scan column: a notice lists each certificate's verdict once the
# incident has a scan round, "not scanned" before one (the claim and the
# preview skip the per-certificate lookup only then).
scan_of() { # the "last scan" values in the messages to address $1
	grep -l "^To: <\?$1" mail/* 2>/dev/null | xargs -r grep -h 'last scan:' | tr -d '\r' |
		sed 's/.*last scan: *//' | sort -u | tr '\n' ' '
}
expect "a sent notice of the scanned incident: replaced" "replaced " "$(scan_of a-0011@example.org)"
expect "a sent notice of the scanned incident: deployed" "deployed " "$(scan_of a-0010@example.org)"
expect "a sent notice of the unscanned incident: not scanned" "not scanned " "$(scan_of a-0000@example.org)"
expect "the preview of the scanned incident: replaced" 1 \
	"$(certrecall notify scanned --kind initial --preview a-0011@example.org | grep -c 'last scan: replaced')"

# Reminders skip a hard-bounced address (020), the other kinds do not.
certrecall -q incident create --slug bounced --title bounced \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T12:08:00+09:00
printf 'serial,account,email,names,not_after\n1,acct-a,gone@example.org,a.example,2020-05-01\n2,acct-b,here@example.org,b.example,2020-05-01\n' >b.csv
certrecall -q import bounced b.csv --no-progress
certrecall -q notify bounced --kind initial --no-progress 2>/dev/null
db_sql -c "INSERT INTO unreachable_address (incident_id, address, notice_id, status, recorded_at)
	SELECT incident_id, address, id, '5.1.1', now() FROM notice WHERE address = 'gone@example.org'"
plan=$(certrecall notify bounced --plan --kind reminder)
expect "--plan forecasts a reminder only for the reachable address" 1 \
	"$(awk '$1 == "reminder" { print $3 }' <<<"$plan")"
certrecall -q notify bounced --kind reminder --dry-run d-bounced 2>/dev/null
expect "a reminder draft only for the reachable address" "here@example.org" \
	"$(ls d-bounced | sed 's/^[0-9]*-//; s/\.eml$//')"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >bounce.key
chmod 600 bounce.key
out=$(CERTRECALL_MAILER_RETURN_PATH='bounces+{id}@ca.example' \
	CERTRECALL_MAILER_BOUNCE_KEY=$T_TMP/bounce.key \
	certrecall notify bounced --kind reminder --no-progress 2>&1)
expect "a relay without DSN (aiosmtpd) is said once, the notice goes all the same" 1 \
	"$(grep -c 'the relay does not offer DSN' <<<"$out")"
expect "a reminder run only to the reachable address" "here@example.org" \
	"$(db_sql -c "SELECT address FROM notice WHERE kind = 'reminder' AND state = 'sent'
	AND incident_id = (SELECT id FROM incident WHERE slug = 'bounced')")"
finish
