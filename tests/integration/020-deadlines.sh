#!/usr/bin/env bash
# The deadline engine end to end: a problem report received before
# aware_at starts the revocation clocks (BR 4.9.5), clocks apply only from
# the day their source took effect, the "answer to comments" clock,
# `deadlines --alert` for monitoring, incident fields without control
# characters.  Every command is given its time (--at or CERTRECALL_CLOCK):
# nothing here depends on the date the test runs.
. "$(dirname "$0")/lib.sh"
new_db deadlines
certrecall -q db migrate

# --- BR 4.9.5: report-to-revocation within the 4.9.1.1 window ----------
ok "create an incident whose problem report came 10 h before aware_at" \
	certrecall incident create --slug cpr-2024 --title "key compromise report" \
	--reason br-3 --cpr-received 2024-05-01T00:00:00Z --aware-at 2024-05-01T10:00:00Z
at=2024-05-01T12:00:00Z
out=$(certrecall deadlines cpr-2024 --at $at)
contains "the 24-hour MUST runs from the report, not from aware_at" \
	"revoke-must            2024-05-02T00:00:00Z  12h 00m left" "$out"
contains "deadlines says which start applied" \
	"start     2024-05-01T00:00:00Z from cpr_received_at" "$out"
contains "the first CCADB report still counts from aware_at" \
	"ccadb-first-report     2024-05-04T10:00:00Z" "$out"
json=$(certrecall deadlines cpr-2024 --at $at --json)
got=$(/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {x["id"]: x for x in d["clocks"]}
print(d["revocation_start"]["at"], d["revocation_start"]["from"],
      c["revoke-must"]["due"], c["revoke-must"]["start_from"],
      c["ccadb-first-report"]["source"], c["ccadb-first-report"]["effective"])' <<<"$json")
expect "--json names the start and each clock's source and effective date" \
	"2024-05-01T00:00:00Z cpr_received_at 2024-05-02T00:00:00Z cpr_received_at CCADB IRG v2.0 2023-10-17T00:00:00Z" \
	"$got"
ok "a report received after aware_at" certrecall incident update cpr-2024 \
	--cpr-received 2024-05-01T11:00:00Z
out=$(certrecall deadlines cpr-2024 --at $at)
contains "leaves aware_at as the start" "start     2024-05-01T10:00:00Z from aware_at" "$out"
contains "and the MUST at aware_at + 24 h" "revoke-must            2024-05-02T10:00:00Z" "$out"
ok "back to the early report" certrecall incident update cpr-2024 \
	--cpr-received 2024-05-01T00:00:00Z
out=$(certrecall report cpr-2024 --format json --at $at | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print([c["due"] for c in d["clocks"] if c["id"] == "revoke-must"][0])')
expect "the report uses the same start" "2024-05-02T00:00:00Z" "$out"
printf 'serial,account,email,names,not_after\n1001,acct-1,ops@example.org,a.example,2024-08-01\n' \
	>"$T_TMP/list.csv"
certrecall -q import cpr-2024 "$T_TMP/list.csv" --no-progress
out=$(CERTRECALL_MAILER_FROM="CA <ca@ca.example>" \
	certrecall notify cpr-2024 --preview ops@example.org --at $at)
contains "the notice's deadline counts from the report too" \
	"Revocation deadline: 2024-05-02 00:00:00 UTC" "$out"
out=$(certrecall report cpr-2024 --format md --at $at)
contains "and its timeline names the report as the clock start" \
	"certificate problem report received: clock start (BR 4.9.5)" "$out"

# --- clocks apply from the day their source took effect -----------------
ok "create the March 2020 incident" certrecall incident create --slug caa-2020 \
	--title "CAA rechecking bug" --reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
out=$(certrecall deadlines caa-2020 --at 2020-03-04T00:00:00Z)
case $out in
*"ccadb-first-report     2020"*) fail "no CCADB 72-hour clock for a 2020 incident" "$out" ;;
*) pass "no CCADB 72-hour clock for a 2020 incident" ;;
esac
contains "deadlines says why it is left out" \
	"not applied: ccadb-first-report (CCADB IRG v2.0, in force from 2023-10-17)" "$out"
contains "each clock names the date its source took effect" \
	"$(printf '%-22s %-21s %-24s %-7s %-10s %s' revoke-must 2020-03-05T03:08:00Z '1d 03h 08m left' open 2019-12-19 'BR 4.9.1.1 (v1.6.7)')" \
	"$out"
out=$(certrecall rules --at 2020-03-01)
contains "rules --at lists the clocks not yet in force" \
	"$(printf '%-22s %-22s %-10s %s' ccadb-first-report 'CCADB IRG v2.0' 2023-10-17 'not yet in force')" "$out"
out=$(certrecall rules --at 2024-01-01)
contains "and in force later" \
	"$(printf '%-22s %-22s %-10s %s' ccadb-first-report 'CCADB IRG v2.0' 2023-10-17 'in force')" "$out"
contains "the answer-to-comments clock is in the catalogue" "ccadb-comment-answer" "$out"
ok "a bare 2020 key in mid-2022" certrecall incident create --slug mid-2022 \
	--title "2022" --reason 5d-7 --aware-at 2022-06-01T00:00:00Z
expect "is stored under the edition in force then, v1.8.4" "v1.8.4:5d-7" \
	"$(db_sql -c "SELECT reason FROM incident WHERE slug = 'mid-2022'")"
out=$(certrecall rules --at 2022-06-01)
contains "rules names v1.8.4 for 2022-06-01" "BR v1.8.4" "$out"

# --- answer to comments within 7 days (CCADB IRG) ------------------------
ok "record a comment" certrecall incident update cpr-2024 --comment-at 2024-05-03T09:00:00Z
out=$(certrecall deadlines cpr-2024 --at 2024-05-05T00:00:00Z)
contains "the comment must be answered within 7 days" \
	"ccadb-comment-answer   2024-05-10T09:00:00Z  5d 09h 00m left" "$out"
out=$(certrecall deadlines cpr-2024 --at 2024-05-10T09:00:01Z)
contains "unanswered after 7 days it is missed" \
	"$(printf '%-22s %-21s %-24s %s' ccadb-comment-answer 2024-05-10T09:00:00Z 'overdue by 0m' missed)" "$out"
ok "record the answer" certrecall incident update cpr-2024 --comment-answered 2024-05-09T00:00:00Z
out=$(certrecall deadlines cpr-2024 --at 2024-05-11T00:00:00Z)
contains "answered in time it is met" \
	"$(printf '%-22s %-21s %-24s %s' ccadb-comment-answer 2024-05-10T09:00:00Z - met)" "$out"
out=$(certrecall deadlines cpr-2024 --at 2024-05-08T00:00:00Z)
contains "replaying before the answer it is still open" \
	"ccadb-comment-answer   2024-05-10T09:00:00Z  2d 09h 00m left" "$out"
ok "a second comment" certrecall incident update cpr-2024 --comment-at 2024-05-12T00:00:00Z
out=$(certrecall deadlines cpr-2024 --at 2024-05-13T00:00:00Z)
contains "each comment has its own 7 days" \
	"ccadb-comment-answer   2024-05-19T00:00:00Z  6d 00h 00m left" "$out"
expect "comments are kept in their own table" 2 \
	"$(db_sql -c "SELECT count(*) FROM incident_comment")"
expect "and audited" 3 \
	"$(db_sql -c "SELECT count(*) FROM event WHERE kind = 'incident.update' AND (detail ? 'comment' OR detail ? 'comment_answered')")"
fails "a comment time that is no time is refused" 65 \
	certrecall incident update cpr-2024 --comment-at 2024-05-32
ok "a comment on the 2020 incident" certrecall incident update caa-2020 --comment-at 2020-03-06T00:00:00Z
out=$(certrecall deadlines caa-2020 --at 2020-03-07T00:00:00Z)
contains "gets no IRG clock in 2020" "not applied: ccadb-comment-answer" "$out"

# --- deadlines --alert DURATION ------------------------------------------
out=$(certrecall deadlines cpr-2024 --at $at --alert 1h); rc=$?
expect "nothing due within 1 h: exit 0" 0 $rc
expect "one summary line" 1 "$(printf '%s\n' "$out" | wc -l)"
contains "which says OK and what is next" "OK cpr-2024: no clock due within 1h; next: revoke-must in 12h 00m" "$out"
out=$(certrecall deadlines cpr-2024 --at $at --alert 12h); rc=$?
expect "a clock due exactly within 12 h: exit 1" 1 $rc
contains "and names it" "ALERT cpr-2024: 0 missed, 2 due within 12h: revoke-must in 12h 00m" "$out"
out=$(certrecall deadlines cpr-2024 --at 2024-05-02T00:00:01Z --alert 0); rc=$?
expect "a missed clock: exit 1" 1 $rc
contains "says missed" "ALERT cpr-2024: 2 missed" "$out"
fails "without --alert deadlines exits 0 even with missed clocks" 0 \
	certrecall deadlines cpr-2024 --at 2024-05-02T00:00:01Z
fails "--alert needs a duration" 64 certrecall deadlines cpr-2024 --alert
fails "--alert refuses junk" 64 certrecall deadlines cpr-2024 --alert soon
ok "report both CPR and first report, import nothing" certrecall incident update cpr-2024 \
	--cpr-answered 2024-05-01T20:00:00Z --first-report 2024-05-02T00:00:00Z
out=$(certrecall deadlines cpr-2024 --at 2024-05-03T00:00:00Z)
contains "a report made in time marks its clock met" \
	"$(printf '%-22s %-21s %-24s %s' ccadb-first-report 2024-05-04T10:00:00Z - met)" "$out"
contains "so does the preliminary answer to the problem report" \
	"$(printf '%-22s %-21s %-24s %s' cpr-preliminary 2024-05-02T00:00:00Z - met)" "$out"
out=$(certrecall deadlines cpr-2024 --at 2024-05-03T00:00:00Z --alert 1h); rc=$?
expect "met clocks do not alert, the overdue revocation does" \
	"1 ALERT cpr-2024: 1 missed, 0 due within 1h: revoke-must overdue by 1d 00h 00m (2024-05-02T00:00:00Z)" \
	"$rc $out"
out=$(certrecall deadlines caa-2020 --at 2020-03-01T00:00:00Z --alert 1d --json); rc=$?
expect "--alert with --json keeps the exit code" 1 $rc
got=$(/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["alert"]["alerting"], d["alert"]["missed"], d["alert"]["due_within"])' <<<"$out")
expect "and carries the verdict" "True 0 1" "$got"

# --- one clock: CERTRECALL_CLOCK is --at ---------------------------------
expect "CERTRECALL_CLOCK gives what --at gives" \
	"$(certrecall deadlines cpr-2024 --at 2024-05-05T00:00:00Z)" \
	"$(CERTRECALL_CLOCK=2024-05-05T00:00:00Z certrecall deadlines cpr-2024)"
out=$(CERTRECALL_CLOCK=2020-03-01T00:00:00Z certrecall rules br-5)
contains "rules KEY without --at uses the rehearsal clock" "at 2020-03-01T00:00:00Z BR v1.6.7" "$out"

# --- incident fields refuse control characters ---------------------------
for c in 0a 0d 09 1b 7f; do
	ch=$(printf "\\x${c}x"); ch=${ch%x} # keep a trailing LF
	out=$(certrecall incident create --slug ctl --title "line one${ch}Bcc: x" \
		--reason br-3 --aware-at 2024-05-01 2>&1); rc=$?
	want=$(printf -- '--title: control character (U+%04X) not allowed' "0x$c")
	if [ "$rc" -eq 65 ] && [[ $out == *"$want"* ]]; then
		pass "a title with U+00${c^^} is refused (65), naming the option"
	else
		fail "a title with U+00${c^^} is refused (65), naming the option" "exit $rc: $out"
	fi
done
fails "an update's title is checked too" 65 \
	certrecall incident update cpr-2024 --title $'two\r\nlines'
out=$(certrecall incident update cpr-2024 --reason $'br-3\n' 2>&1)
contains "so is the reason" "--reason: control character (U+000A) not allowed" "$out"
expect "nothing was stored" "key compromise report" \
	"$(db_sql -c "SELECT title FROM incident WHERE slug = 'cpr-2024'")"
ok "UTF-8 text is fine" certrecall incident update cpr-2024 --title "Schlüssel — 鍵"
refused "the database refuses a control character in a title" "incident_title_plain" \
	"UPDATE incident SET title = E'a\nb' WHERE slug = 'cpr-2024'"

finish
