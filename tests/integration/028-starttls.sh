#!/usr/bin/env bash
# STARTTLS in the scanner: real servers (a private Postfix smtpd, Dovecot
# IMAP/POP3 with STARTTLS and implicit TLS, Prosody XMPP client and
# server, vsftpd AUTH TLS, slapd StartTLS) give the serial that
# `openssl s_client -starttls PROTO` sees; a STARTTLS name with three
# addresses of which one serves the affected certificate is deployed;
# hostile peers (silent, 500-line greeting, 454, drop after STARTTLS) end
# within their timeouts as timeout / protocol-error / starttls-refused,
# and 1,000 such probes leave no file descriptor behind.
. "$(dirname "$0")/lib.sh"
FLEET=$T_TMP/fleet
D=$T_TMP/st
mkdir -p "$D"
pids=()
cleanup() {
	[ -n "${KEEP:-}" ] && cp -r "$D" "$KEEP"
	[ -f "$D/spool/pid/master.pid" ] &&
		kill "$(head -1 "$D/spool/pid/master.pid" | tr -d ' ')" 2>/dev/null
	[ -f "$D/dovecot/master.pid" ] && kill "$(cat "$D/dovecot/master.pid")" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	"$ROOT/tests/tlsfleet.sh" stop "$FLEET" >/dev/null 2>&1
}
trap cleanup EXIT
HOSTILE_DNS=$(for i in $(seq 1 250); do printf 'h%d.hostile.test,127.0.1.%d ' "$i" "$i"; done)
read -r TP DP < <(FLEET_DNS_EXTRA=$HOSTILE_DNS "$ROOT/tests/tlsfleet.sh" start "$FLEET")
[ -n "${DP:-}" ] || { fail "the test fleet starts"; finish; }
SMTP=$((TP + 2)) IMAP=$((TP + 3)) IMAPS=$((TP + 4)) POP3=$((TP + 5)) POP3S=$((TP + 6))
XC=$((TP + 7)) XS=$((TP + 8)) FTP=$((TP + 9)) LDAP=$((TP + 14))
H1=$((TP + 10)) H2=$((TP + 11)) H3=$((TP + 12)) H4=$((TP + 13))

# Postfix: a private instance (its own config, queue and data directories;
# /etc/postfix is replaced by ours in a mount namespace of its own).
# multi.test resolves to 127.0.0.3, .4 and .5: only .3 serves the
# affected certificate.
mkdir -p "$D/etc" "$D/spool" "$D/data"
cp -a /etc/postfix/. "$D/etc/"
chown postfix "$D/data"
cat >"$D/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $D/spool
data_directory = $D/data
inet_interfaces = all
inet_protocols = ipv4
myhostname = mx.test
mydestination =
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
maillog_file = $D/postfix.log
maillog_file_prefixes = $D
smtpd_tls_security_level = may
smtpd_tls_cert_file = $FLEET/replacement.pem
smtpd_tls_key_file = $FLEET/replacement.key
EOF
cat >"$D/etc/master.cf" <<EOF
127.0.0.3:$SMTP inet n - n - - smtpd -o smtpd_tls_cert_file=$FLEET/affected.pem -o smtpd_tls_key_file=$FLEET/affected.key
127.0.0.4:$SMTP inet n - n - - smtpd
127.0.0.5:$SMTP inet n - n - - smtpd
127.0.0.6:$SMTP inet n - n - - smtpd -o smtpd_tls_security_level=none
postlog unix-dgram n - n - 1 postlogd
tlsmgr unix - - n 1000? 1 tlsmgr
anvil unix - - n - 1 anvil
cleanup unix n - n - 0 cleanup
rewrite unix - - n - - trivial-rewrite
proxymap unix - - n - - proxymap
EOF
unshare -m --propagation private sh -c \
	"mount --bind '$D/etc' /etc/postfix && postfix start" </dev/null >/dev/null 2>&1

# Dovecot on 127.0.0.2: IMAP and POP3 with STARTTLS, and implicit TLS.
mkdir -p "$D/dovecot"
cat >"$D/dovecot.conf" <<EOF
base_dir = $D/dovecot
state_dir = $D/dovecot
log_path = $D/dovecot.log
protocols = imap pop3
ssl = yes
ssl_cert = <$FLEET/affected.pem
ssl_key = <$FLEET/affected.key
disable_plaintext_auth = yes
mail_location = maildir:$D/mail/%u
passdb {
  driver = static
  args = password=unused
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$D/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.2
    port = $IMAP
  }
  inet_listener imaps {
    address = 127.0.0.2
    port = $IMAPS
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.2
    port = $POP3
  }
  inet_listener pop3s {
    address = 127.0.0.2
    port = $POP3S
    ssl = yes
  }
}
service anvil {
  chroot =
}
EOF
/usr/sbin/dovecot -c "$D/dovecot.conf"

# Prosody (XMPP client and server STARTTLS) and vsftpd (AUTH TLS; it
# runs as the user that starts it: root only because the test is root).
mkdir -p "$D/prosody" "$D/empty"
cat >"$D/prosody.cfg.lua" <<EOF
run_as_root = true
daemonize = false
pidfile = "$D/prosody.pid"
data_path = "$D/prosody"
log = { error = "$D/prosody.log" }
c2s_ports = { $XC }
c2s_interfaces = { "127.0.0.2" }
s2s_ports = { $XS }
s2s_interfaces = { "127.0.0.2" }
modules_enabled = { "tls", "saslauth", "dialback", "disco" }
ssl = { certificate = "$FLEET/affected.pem", key = "$FLEET/affected.key" }
VirtualHost "affected.test"
  ssl = { certificate = "$FLEET/affected.pem", key = "$FLEET/affected.key" }
EOF
prosody --config "$D/prosody.cfg.lua" >"$D/prosody.out" 2>&1 &
pids+=($!)
cat >"$D/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.2
listen_port=$FTP
background=NO
ssl_enable=YES
rsa_cert_file=$FLEET/affected.pem
rsa_private_key_file=$FLEET/affected.key
secure_chroot_dir=$D/empty
anonymous_enable=YES
anon_root=$D/empty
allow_anon_ssl=YES
no_anon_password=YES
local_enable=NO
seccomp_sandbox=NO
run_as_launching_user=YES
xferlog_enable=NO
EOF
/usr/sbin/vsftpd "$D/vsftpd.conf" >"$D/vsftpd.out" 2>&1 &
pids+=($!)

# slapd: no database, only the StartTLS extended operation.
cat >"$D/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
pidfile $D/slapd.pid
TLSCertificateFile $FLEET/affected.pem
TLSCertificateKeyFile $FLEET/affected.key
EOF
/usr/sbin/slapd -f "$D/slapd.conf" -h "ldap://127.0.0.2:$LDAP/" -d 0 >"$D/slapd.out" 2>&1 &
pids+=($!)

# Hostile peers, all speaking SMTP on 0.0.0.0 (any 127.x address).
/usr/bin/python3 "$ROOT/tests/starttls_hostile.py" --dir "$D" \
	"smtp:silent:$H1" "smtp:flood:$H2" "smtp:refuse:$H3" "smtp:drop:$H4" \
	"imap:flood:$((H1 + 10))" "imap:refuse:$((H2 + 10))" \
	"pop3:refuse:$((H3 + 10))" "ftp:refuse:$((H4 + 10))" \
	"xmpp:refuse:$((H1 + 20))" "ldap:refuse:$((H2 + 20))" \
	"imap:drop:$((H3 + 20))" "pop3:flood:$((H4 + 20))" \
	>"$D/hostile.log" 2>&1 &
pids+=($!)

up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
for _ in $(seq 1 100); do
	up 127.0.0.3 "$SMTP" && up 127.0.0.2 "$IMAP" && up 127.0.0.2 "$POP3S" &&
		up 127.0.0.2 "$XC" && up 127.0.0.2 "$XS" && up 127.0.0.2 "$FTP" &&
		up 127.0.0.2 "$LDAP" &&
		[ -f "$D/ready" ] && break
	sleep 0.1
done

export CERTRECALL_SCANNER_DNS_SERVERS=127.0.0.1:$DP
export CERTRECALL_SCANNER_IPV6=false
export CERTRECALL_SCANNER_ALLOW=127.0.0.0/8
export CERTRECALL_SCANNER_CONNECT_TIMEOUT=2s CERTRECALL_SCANNER_HANDSHAKE_TIMEOUT=2s
export CERTRECALL_SCANNER_STARTTLS_TIMEOUT=2s

serial_of() { openssl x509 -noout -serial -in "$1" | sed 's/^serial=//' | tr A-F a-f | sed 's/^0*//'; }
AFF=$(serial_of "$FLEET/affected.pem")
REPL=$(serial_of "$FLEET/replacement.pem")
# served SERIAL of `openssl s_client` (PROTO "" for implicit TLS)
s_client() {
	local p=${3/xmpp-client/xmpp} # openssl's name for it
	echo Q | timeout 10 openssl s_client ${p:+-starttls "$p"} -connect "$1:$2" \
		$(case $3 in xmpp*) echo -xmpphost affected.test ;; esac) \
		-servername affected.test 2>/dev/null | openssl x509 -noout -serial 2>/dev/null |
		sed 's/^serial=//' | tr A-F a-f | sed 's/^0*//'
}
# served serial certrecall check reports for HOST:PORT[/PROTO] --address A
check_serial() {
	certrecall check "$1" --address "$2" --json 2>/dev/null |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["results"][0]; print((r.get("certificate") or {}).get("serial","") or r["outcome"])' |
		sed 's/^0*//'
}

# 1. Each protocol gives the serial openssl s_client sees.
for spec in "127.0.0.3 $SMTP smtp" "127.0.0.4 $SMTP smtp" "127.0.0.2 $IMAP imap" \
	"127.0.0.2 $POP3 pop3" "127.0.0.2 $IMAPS ''" "127.0.0.2 $POP3S ''" \
	"127.0.0.2 $XC xmpp-client" "127.0.0.2 $XS xmpp-server" "127.0.0.2 $FTP ftp" \
	"127.0.0.2 $LDAP ldap"; do
	eval "set -- $spec"
	want=$(s_client "$1" "$2" "$3")
	got=$(check_serial "affected.test:$2${3:+/$3}" "$1")
	if [ -n "$want" ] && [ "$want" = "$got" ]; then
		pass "${3:-tls} on $1:$2 serves $got, as s_client -starttls ${3:-(none)} sees"
	else
		fail "${3:-tls} on $1:$2 serves what s_client sees" "s_client: $want" "certrecall: $got"
	fi
done
expect "the Postfix on 127.0.0.3 serves the affected certificate" "$AFF" "$(check_serial "affected.test:$SMTP/smtp" 127.0.0.3)"
expect "and 127.0.0.4 the replacement" "$REPL" "$(check_serial "affected.test:$SMTP/smtp" 127.0.0.4)"
out=$(certrecall check "affected.test:$SMTP/smtp" --address 127.0.0.6 2>&1)
contains "a Postfix without TLS is starttls-refused" "outcome      starttls-refused" "$out"
out=$(certrecall check "affected.test:$SMTP/smtp" --address 127.0.0.3 2>&1)
contains "check prints the protocol" "host         affected.test:$SMTP/smtp" "$out"
out=$(certrecall check "affected.test/smtps" 2>&1)
contains "an unknown protocol is a usage error" "protocol must be one of" "$out"

# 2. A scan of SMTP STARTTLS: multi.test has three addresses, one serves
# the affected certificate: deployed, "1 of 3"; observations carry the
# protocol, address and port; --jsonl too.
new_db starttls
certrecall -q db migrate
cd "$T_TMP"
certrecall -q incident create --slug m --title m --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import m "$FLEET/affected.pem" --no-progress
printf 'multi.test\n' >names.txt
out=$(certrecall --set "scanner.ports=$SMTP/smtp" scan m --procs 1 --no-progress \
	--names names.txt --jsonl probes.jsonl 2>&1)
contains "the scan probes multi.test's three addresses" "1 of 1 targets probed: 1 answered, 0 failed, 0 filtered; 3 results" "$out"
expect "one address affected, two replacement" "127.0.0.3 $SMTP smtp serving-affected|127.0.0.4 $SMTP smtp serving-replacement|127.0.0.5 $SMTP smtp serving-replacement" \
	"$(db_sql -c "SELECT string_agg(host(address) || ' ' || o.port || ' ' || o.protocol || ' ' || verdict, '|' ORDER BY address) FROM observation o JOIN scan_target t ON t.id = o.target_id WHERE t.incident_id = 1")"
rollup=$(db_sql -c "SELECT certificate_scan_verdict(incident_id, serial, names) FROM certificate")
expect "the affected certificate on one of three STARTTLS addresses is deployed" deployed "$rollup"
out=$(certrecall report m 2>&1)
contains "the report says on how many addresses" "\`multi.test:$SMTP/smtp\`: affected certificate served on 1 of 3 addresses" "$out"
out=$(certrecall report m --format html 2>&1)
contains "and its HTML" "<code>multi.test:$SMTP/smtp</code>: affected certificate served on 1 of 3 addresses" "$out"
out=$(certrecall report m --format json 2>&1)
expect "and its JSON" "[{\"target\": \"multi.test:$SMTP/smtp\", \"probed_via\": null, \"served\": 1, \"addresses\": 3, \"no_address\": 0, \"unresolved\": 0}]" \
	"$(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["impact"]["scan"]["served_on"]))')"
echo "$out" >report-m.json
expect "which validates (docs/report.schema.json)" "" "$(/usr/bin/python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' report-m.json "$ROOT/docs/report.schema.json" 2>&1)"
expect "--jsonl has protocol and port" 3 "$(grep -c "\"port\":$SMTP,\"protocol\":\"smtp\"" probes.jsonl)"

# 2b. A wildcard is probed at the names it covers: a.wild.test (known to
# the incident) and www.wild.test (scanner.wildcard_labels).
certrecall -q incident create --slug w --title w --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import w "$FLEET/wild.pem" --no-progress
printf 'serial,names\n0b01,a.wild.test\n' >wild.csv
certrecall -q import w wild.csv --no-progress
out=$(certrecall --set "scanner.ports=$TP" --set scanner.wildcard_labels=www scan w --procs 1 --no-progress 2>&1)
expect "*.wild.test is probed via a.wild.test and www.wild.test" "{a.wild.test,www.wild.test}" \
	"$(db_sql -c "SELECT probed_via FROM scan_target t JOIN incident i ON i.id = t.incident_id WHERE i.slug = 'w' AND name = '*.wild.test'")"
expect "each observation says at which name" "a.wild.test serving-affected|www.wild.test nxdomain" \
	"$(db_sql -c "SELECT string_agg(probed_name || ' ' || verdict, '|' ORDER BY probed_name) FROM observation o JOIN scan_target t ON t.id = o.target_id WHERE t.name = '*.wild.test'")"
expect "the wildcard certificate rolls up as deployed" deployed \
	"$(db_sql -c "SELECT certificate_scan_verdict(incident_id, serial, names) FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'w' AND '*.wild.test' = ANY (c.names)")"
out=$(certrecall report w 2>&1)
# www.wild.test has no address: it is no address probed (M counts the
# addresses a probe reached) and is said apart.
contains "the report says at which names a wildcard was probed" \
	"\`*.wild.test:$TP\` (probed via a.wild.test, www.wild.test): affected certificate served on 1 of 1 address; 1 probed name had no address" "$out"
served_on_py='import json,sys; d=json.load(sys.stdin); d=d["impact"]["scan"] if "impact" in d else d["deployment"]; print(json.dumps([t for t in d["served_on"] if t["target"].startswith("*.")][0], sort_keys=True))'
wild_json="{\"addresses\": 1, \"no_address\": 1, \"probed_via\": \"a.wild.test, www.wild.test\", \"served\": 1, \"target\": \"*.wild.test:$TP\", \"unresolved\": 0}"
expect "and its JSON" "$wild_json" \
	"$(certrecall report w --format json 2>/dev/null | /usr/bin/python3 -c "$served_on_py")"
# status says the same (text and --json).
out=$(certrecall status w 2>&1 | tr -s ' \n' '  ')
contains "status says where a wildcard was probed and on how many addresses" \
	"*.wild.test:$TP (probed via a.wild.test, www.wild.test): affected certificate served on 1 of 1 address; 1 probed name had no address" "$out"
certrecall status w --json >status-w.json 2>/dev/null
expect "and status --json" "$wild_json" "$(/usr/bin/python3 -c "$served_on_py" <status-w.json)"
expect "which validates (docs/schema/status.schema.json)" "" "$(/usr/bin/python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' status-w.json "$ROOT/docs/schema/status.schema.json" 2>&1)"

# 3. Hostile peers: each ends within its timeout with the right verdict.
hostile() { # NAME PORT/PROTO WANT
	local start end out
	start=$(date +%s%N)
	out=$(certrecall check "hostile.test:$2" --address 127.0.0.9 2>&1)
	end=$(date +%s%N)
	contains "$1: $3" "outcome      $3" "$out"
	if [ $(((end - start) / 1000000)) -lt 3500 ]; then
		pass "$1 ends within starttls_timeout"
	else
		fail "$1 ends within starttls_timeout" "$(((end - start) / 1000000)) ms"
	fi
}
hostile "smtp peer that never answers" "$H1/smtp" "timeout (starttls phase)"
hostile "smtp 500-line greeting" "$H2/smtp" "protocol-error: reply of more than 64 lines"
hostile "smtp 454" "$H3/smtp" "starttls-refused: server said \"454 4.7.0 TLS not available"
hostile "smtp drop after STARTTLS" "$H4/smtp" "protocol-error: connection closed by peer during STARTTLS"
hostile "imap 500-line greeting" "$((H1 + 10))/imap" "protocol-error: reply of more than 64 lines"
hostile "imap NO" "$((H2 + 10))/imap" "starttls-refused"
hostile "pop3 -ERR" "$((H3 + 10))/pop3" "starttls-refused"
hostile "ftp 534" "$((H4 + 10))/ftp" "starttls-refused"
hostile "xmpp failure" "$((H1 + 20))/xmpp-client" "starttls-refused"
hostile "ldap result 2" "$((H2 + 20))/ldap" "starttls-refused: LDAP result code 2"
hostile "imap drop after STARTTLS" "$((H3 + 20))/imap" "protocol-error"
hostile "pop3 endless greeting line" "$((H4 + 20))/pop3" "protocol-error: reply line over 1024 bytes"

# 4. 1,000 hostile probes in one process: 250 names x 4 SMTP peers; every
# one ends, and the process's open files are back where they started.
awk 'BEGIN { print "serial,names"; for (i = 1; i <= 250; i++) printf "%x,h%d.hostile.test\n", i + 4096, i }' >list.csv
certrecall -q incident create --slug h --title h --reason 5d-7 --aware-at 2020-02-29T03:08:00Z
certrecall -q import h list.csv --no-progress
start=$(date +%s)
out=$(certrecall -v --set "scanner.ports=$H1/smtp,$H2/smtp,$H3/smtp,$H4/smtp" \
	--set scanner.concurrency=1000 --set scanner.per_ip=16 \
	scan h --procs 1 --no-progress 2>&1)
took=$(($(date +%s) - start))
contains "1,000 hostile probes all end" "scan: 1000 of 1000 targets probed: 0 answered, 1000 failed, 0 filtered; 1000 results" "$out"
contains "and the summary counts every verdict, STARTTLS ones included" \
	"250 timeout, 0 nxdomain, 0 dns-error, 0 filtered, 250 starttls-refused, 500 protocol-error in" "$out"
expect "as timeout, protocol-error and starttls-refused" "protocol-error|500 starttls-refused|250 timeout|250" \
	"$(db_sql -c "SELECT verdict, count(*) FROM observation o JOIN scan_target t ON t.id = o.target_id WHERE t.incident_id = (SELECT id FROM incident WHERE slug = 'h') GROUP BY 1 ORDER BY 1" | tr '\n' ' ' | sed 's/ $//')"
if [ "$took" -lt 20 ]; then pass "the run ends promptly (${took} s)"; else fail "the run ends promptly" "${took} s"; fi
files=$(grep -o '[0-9]* open files before, [0-9]* after' <<<"$out")
before=${files%% *}
after=${files##*, }
after=${after%% *}
if [ -n "$before" ] && [ "$before" = "$after" ]; then
	pass "open files are back to their starting count ($files)"
else
	fail "open files are back to their starting count" "$files"
fi
finish
