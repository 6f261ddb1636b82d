#!/usr/bin/env bash
# The notices' SMTP client (src/net/smtp.c) on the wire.  A recording
# relay (tests/smtprecord.py) shows one round trip a message when the
# relay offers PIPELINING (each MAIL FROM in the same read as the last
# message's final "."), and not one command ahead of its reply when it
# does not; a refused recipient leaves the transaction open, and the
# next message still goes (RSET); a connection dropped with a message
# unanswered loses nothing and repeats only that one.  A private Postfix with
# smtpd_forbid_unauth_pipelining checks the same against a real server,
# over STARTTLS with the relay's certificate verified (and refused when
# it names another host).  A relay that never speaks costs smtp.timeout,
# not the kernel's minutes.  aiosmtpd gets lines that start with ".".
. "$(dirname "$0")/lib.sh"
new_db smtpclient
certrecall -q db migrate
cd "$T_TMP"

{
	echo "serial,account,email,names"
	for i in $(seq 1 30); do
		case $i in 7 | 8 | 20) who=refuse-u$i ;; *) who=u$i ;; esac
		printf '%x,acct-%d,%s@example.org,h%d.example\n' $((i + 4096)) "$i" "$who" "$i"
	done
} >list.csv
for slug in piped lockstep dropped tls plain bad-name dots silent; do
	certrecall -q incident create --slug "$slug" --title "CAA rechecking bug" \
		--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
	certrecall -q import "$slug" list.csv --no-progress
done
export CERTRECALL_SMTP_HOST=127.0.0.1
export CERTRECALL_MAILER_FROM="Example CA <revocations@ca.example>"
export CERTRECALL_MAILER_CONNECTIONS=1

T_REC=()
stop_recorders() { for p in "${T_REC[@]+"${T_REC[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
# start_recorder DIR [--no-pipelining]: sets REC_PORT.
start_recorder() {
	local dir=$1 pid try
	shift
	for try in 1 2 3 4 5; do
		REC_PORT=$((20000 + RANDOM % 20000))
		/usr/bin/python3 "$ROOT/tests/smtprecord.py" --port "$REC_PORT" --dir "$dir" "$@" \
			>"$dir.log" 2>&1 &
		pid=$!
		for _ in $(seq 1 100); do
			[ -f "$dir/ready" ] && { T_REC+=("$pid"); return 0; }
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	cat "$dir.log"
	return 1
}
state_of() { db_sql -c "SELECT n.state, count(*) FROM notice n JOIN incident i ON i.id = n.incident_id WHERE i.slug = '$1' GROUP BY 1 ORDER BY 1" | paste -sd' '; }

# 1. PIPELINING offered: one round trip a message.
start_recorder rec-piped || { fail "the recording relay starts"; finish; }
out=$(CERTRECALL_SMTP_PORT=$REC_PORT certrecall notify piped --no-progress 2>&1)
contains "27 sent, the 3 refused recipients failed" "initial: 27 sent, 3 failed" "$out"
expect "every accepted address got one message" "27 27" \
	"$(wc -l <rec-piped/record.tsv) $(cut -f4 rec-piped/record.tsv | sort -u | wc -l)"
expect "the refusals are the relay's 550" "failed|3|550" \
	"$(db_sql -c "SELECT state, count(*), min(left(last_reply, 3)) FROM notice WHERE address LIKE 'refuse-%' AND incident_id = (SELECT id FROM incident WHERE slug = 'piped') GROUP BY 1")"
# with_prev: "-" first on a connection or after a refused envelope
expect "no message after an accepted one waited for its final answer first" 0 \
	"$(awk -F'\t' '$3 == "0"' rec-piped/record.tsv | wc -l)"
ones=$(awk -F'\t' '$3 == "1"' rec-piped/record.tsv | wc -l)
[ "$ones" -ge 20 ] && pass "MAIL FROM went with the last message's final \".\" ($ones of 27)" ||
	fail "MAIL FROM went with the last message's final \".\"" "$ones of 27" "$(cat rec-piped/record.tsv)"

# 2. No PIPELINING: one command, one reply.
start_recorder rec-lock --no-pipelining || { fail "the recording relay starts"; finish; }
out=$(CERTRECALL_SMTP_PORT=$REC_PORT certrecall notify lockstep --no-progress 2>&1)
contains "without PIPELINING the same 27 go, 3 fail" "initial: 27 sent, 3 failed" "$out"
expect "each address once" "27 27" \
	"$(wc -l <rec-lock/record.tsv) $(cut -f4 rec-lock/record.tsv | sort -u | wc -l)"
expect "and nothing was sent ahead of a reply" 0 "$(cat rec-lock/violations.tsv 2>/dev/null | wc -l)"

# A relay that takes the 10th message and drops the connection without
# answering it: the messages answered stay sent, the 10th and those
# pipelined behind it wait for a retry, and the retry sends each once
# more, so only the unanswered 10th arrives twice (docs/notify.md, "At
# most this many duplicates").
start_recorder rec-drop --drop-after 10 || { fail "the recording relay starts"; finish; }
out=$(CERTRECALL_SMTP_PORT=$REC_PORT CERTRECALL_MAILER_RETRY_BACKOFF=1h \
	certrecall notify dropped --no-progress --no-wait 2>&1)
contains "a dropped connection leaves 9 sent (and the 3 refused failed)" "initial: 9 sent, 3 failed, 18 to retry" "$out"
expect "the unanswered ones wait for a retry, and say why" 18 \
	"$(db_sql -c "SELECT count(*) FROM notice n JOIN incident i ON i.id = n.incident_id WHERE i.slug = 'dropped' AND n.state = 'retry' AND n.last_reply LIKE '%connection was closed%'")"
db_sql -c "UPDATE notice SET next_attempt_at = now()" -c "UPDATE notice_queue SET due_at = now()" >/dev/null
out=$(CERTRECALL_SMTP_PORT=$REC_PORT certrecall notify dropped --no-progress 2>&1)
contains "the retry sends the other 18" "initial: 18 sent, 0 failed" "$out"
expect "every accepted address got its message; only the unanswered 10th twice" "27 1" \
	"$(cut -f4 rec-drop/record.tsv | sort | uniq -c | awk '{ n++; if ($1 > 1) d++ } END { print n, d + 0 }')"

# 3. A private Postfix: STARTTLS, strict about pipelining, relaying to
# aiosmtpd.
start_smtpd next || { fail "smtpd starts"; finish; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
	-subj /CN=relay.test -addext subjectAltName=IP:127.0.0.1 \
	-keyout relay.key -out relay.pem 2>/dev/null
PF=$T_TMP/pf
PF_PORT=$((SMTP_PORT + 2))
PF_LOCK=$((SMTP_PORT + 3))
postfix_init "$PF" "$SMTP_PORT"
cat >>"$PF/etc/main.cf" <<CF
smtpd_tls_cert_file = $T_TMP/relay.pem
smtpd_tls_key_file = $T_TMP/relay.key
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_forbid_unauth_pipelining = yes
CF
postfix_listen "$PF" "$PF_PORT"
postfix_listen "$PF" "$PF_LOCK" -o smtpd_discard_ehlo_keywords=pipelining
stop_all() { postfix_stop "$PF"; stop_recorders; }
trap stop_all EXIT
postfix_start "$PF" "$PF_PORT" "$PF_LOCK" || { fail "postfix starts"; finish; }

out=$(SSL_CERT_FILE=$T_TMP/relay.pem CERTRECALL_SMTP_PORT=$PF_PORT \
	CERTRECALL_SMTP_STARTTLS=required CERTRECALL_SMTP_VERIFY_PEER=true \
	certrecall notify tls --no-progress 2>&1)
contains "Postfix takes all 30 over STARTTLS, its certificate verified" "initial: 30 sent, 0 failed" "$out"
tls=$(grep -c "TLS connection established from" "$PF/maillog")
[ "$tls" -ge 1 ] && pass "Postfix logged the TLS connection ($tls)" || fail "Postfix logged the TLS connection" "$(tail -5 "$PF/maillog")"
out=$(CERTRECALL_SMTP_PORT=$PF_LOCK CERTRECALL_SMTP_STARTTLS=none certrecall notify plain --no-progress 2>&1)
contains "and all 30 on a port that offers no PIPELINING" "initial: 30 sent, 0 failed" "$out"
expect "Postfix found no pipelining it did not allow" 0 \
	"$(grep -ci -e "improper command pipelining" -e "protocol synchronization" "$PF/maillog")"
for _ in $(seq 1 100); do
	[ "$(ls next/*.eml 2>/dev/null | wc -l)" -ge 60 ] && break
	sleep 0.1
done
expect "and relayed all 60" 60 "$(ls next/*.eml | wc -l)"

out=$(SSL_CERT_FILE=$T_TMP/relay.pem CERTRECALL_SMTP_HOST=localhost CERTRECALL_SMTP_PORT=$PF_PORT \
	CERTRECALL_SMTP_STARTTLS=required CERTRECALL_SMTP_VERIFY_PEER=true \
	CERTRECALL_MAILER_RETRY_BACKOFF=1h certrecall notify bad-name --no-progress --no-wait 2>&1)
contains "a certificate for another name sends nothing" "initial: 0 sent, 0 failed" "$out"
expect "every notice waits for a retry, and says why" "30" \
	"$(db_sql -c "SELECT count(*) FROM notice n JOIN incident i ON i.id = n.incident_id WHERE i.slug = 'bad-name' AND n.state = 'retry' AND n.last_reply LIKE '%does not verify%'")"

# A relay that takes the connection and never says a word: every notice
# waits for a retry after smtp.timeout, and says so.
SILENT_PORT=$((SMTP_PORT + 4))
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    held.append(s.accept())
' "$SILENT_PORT" &
T_REC+=("$!")
sleep 0.3
start=$(date +%s)
out=$(CERTRECALL_SMTP_PORT=$SILENT_PORT CERTRECALL_SMTP_TIMEOUT=1s \
	CERTRECALL_MAILER_RETRY_BACKOFF=1h certrecall notify silent --no-progress --no-wait 2>&1)
took=$(($(date +%s) - start))
contains "a relay that never greets sends nothing" "initial: 0 sent, 0 failed" "$out"
expect "every notice waits for a retry, and says why" 30 \
	"$(db_sql -c "SELECT count(*) FROM notice n JOIN incident i ON i.id = n.incident_id WHERE i.slug = 'silent' AND n.state = 'retry' AND n.last_reply LIKE '%no answer within smtp.timeout%'")"
[ "$took" -le 20 ] && pass "within smtp.timeout, not the kernel's minutes (${took} s)" || fail "within smtp.timeout" "${took} s"

# 4. Lines that start with "." arrive as written (RFC 5321 4.5.2).
mkdir -p tpl/en
cp "$ROOT"/templates/en/*.txt tpl/en/
{
	head -1 "$ROOT/templates/en/initial.txt"
	printf '\n.\n..two dots\n.one dot\nthe deadline is {{deadline}}\n.\n'
} >tpl/en/initial.txt
out=$(CERTRECALL_TEMPLATES_DIR=$T_TMP/tpl CERTRECALL_SMTP_PORT=$SMTP_PORT certrecall notify dots --no-progress 2>&1)
contains "notices whose lines start with \".\" go" "initial: 30 sent, 0 failed" "$out"
f=$(grep -l "^To: u1@example.org" next/*.eml | xargs grep -l "^\.\.two dots" | head -1)
expect "and arrive with every such line as written" ".|..two dots|.one dot|." \
	"$([ -n "$f" ] && grep -E '^\.' "$f" | tr -d '\r' | paste -sd'|')"
finish
