#!/usr/bin/env bash
# The little Internet `make demo` replays the March 2020 incident in, at
# 1/1000 scale.  Everything listens on 127.0.9.0/24 only, on fixed ports
# of its own, so it stays clear of the test suite (127.0.0.1-127.0.1.x,
# random ports) that may run on the same machine.
#
#   scripts/demo/world.sh build DIR       the affected list, contacts, a
#                                         test CA and the certificates it
#                                         issued (deterministic list)
#   scripts/demo/world.sh start DIR       nginx, dnsmasq, OCSP/CRL, SMTP
#   scripts/demo/world.sh stop DIR        stop what start started
#   scripts/demo/world.sh config DIR CONNINFO
#                                         certrecall.ini for this world
#   scripts/demo/world.sh revoke DIR BATCH FROM TO
#                                         the test CA revokes BATCH's
#                                         serials (certrecall
#                                         export-revocations) at times
#                                         spread from FROM to TO, and
#                                         publishes a new CRL
#
# What build leaves in DIR:
#   caa-2020.txt.gz   3,048 lines in the published 2020 format (le2020)
#   accounts.csv      the CA's contacts, for 9 accounts in 10
#   plan.tsv          each certificate's fate (scripts/demo/gen_incident.c)
#   ca/               the test CA: ca.pem, ca.key, index.txt (every listed
#                     serial and every renewal), ca.crl, replacements.pem
#                     (the renewals, as the CA's issuance records), and
#                     names/NAME.crt (what the fleet serves for NAME)
#
# Ground truth after start:
#   127.0.9.10-25:25443   nginx: for every name of an "affected"
#                         certificate the listed certificate itself, for
#                         every name of a "replaced" one its renewal
#   127.0.9.240-247       the names of "refused" certificates: nothing
#                         listens there
#   127.0.9.1:25353       dnsmasq for "example.": the names above; the
#                         names of "nxdomain" certificates do not exist
#   127.0.9.1:25580       OCSP (POST /ocsp, `openssl ocsp` per request
#                         from ca/index.txt) and GET /ca.crl
#   127.0.9.1:25525       SMTP (aiosmtpd), every message stored in DIR/mail
set -euo pipefail
export TZ=UTC # index.txt and CRL times are UTC, whatever the machine's zone

SERVICES=127.0.9.1
TLS_PORT=25443
DNS_PORT=25353
HTTP_PORT=25580
SMTP_PORT=25525
# 1/1000 of the 3,048,289 certificates of the real list, seed fixed.
CERTS=3048
SEED=2020

root=$(cd "$(dirname "$0")/../.." && pwd)
usage() {
	echo "usage: world.sh build|start|stop DIR | config DIR CONNINFO |" \
		"revoke DIR BATCH FROM TO" >&2
	exit 64
}
[ $# -ge 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
shift 2
ca=$dir/ca
run=$dir/run

build() {
	mkdir -p "$dir/bin"
	cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$dir/bin/gen_incident" \
		"$root/scripts/demo/gen_incident.c" -lm
	# shellcheck disable=SC2046 # pkg-config prints several words
	cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$dir/bin/issue" \
		"$root/scripts/demo/issue.c" $(pkg-config --cflags --libs libcrypto)
	"$dir/bin/gen_incident" "$CERTS" "$SEED" "$dir"
	gzip -nf "$dir/caa-2020.txt"

	# The test CA.  Its key and the one key every leaf shares are new
	# each run; the serials, names and times are the plan's.
	rm -rf "$ca"
	mkdir -p "$ca/names"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$ca/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$ca/ca.key" -days 3650 -out "$ca/ca.pem" \
		-subj "/O=Example CA/CN=Example CA Demo Issuer" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$ca/leaf.key" 2>/dev/null
	"$dir/bin/issue" "$ca/ca.pem" "$ca/ca.key" "$ca/leaf.key" "$ca" \
		<"$dir/plan.tsv" >"$ca/issued.txt"

	# The CA's database (openssl ca's index.txt): every listed serial,
	# expiring 90 days after issue, and every renewal.
	local serial repl issued name exp renewal_exp
	printf -v renewal_exp '%(%y%m%d%H%M%SZ)T' $(($(date +%s) + 90 * 86400))
	while IFS=$'\t' read -r _ serial repl _ issued name _; do
		printf -v exp '%(%y%m%d%H%M%SZ)T' $((issued + 90 * 86400))
		printf 'V\t%s\t\t%s\tunknown\t/CN=%s\n' "$exp" "${serial^^}" "$name"
		if [ "$repl" != - ]; then
			printf 'V\t%s\t\t%s\tunknown\t/CN=%s\n' "$renewal_exp" \
				"${repl^^}" "$name"
		fi
	done <"$dir/plan.tsv" >"$ca/index.txt"
	echo 1000 >"$ca/crlnumber"
	cat >"$ca/ca.cnf" <<EOF
[ ca ]
default_ca = demo
[ demo ]
database = $ca/index.txt
crlnumber = $ca/crlnumber
certificate = $ca/ca.pem
private_key = $ca/ca.key
default_md = sha256
default_crl_days = 7
unique_subject = no
EOF
	openssl ca -config "$ca/ca.cnf" -gencrl -out "$ca/ca.crl" 2>/dev/null

	# DNS: the served and the refused names; the rest is NXDOMAIN.
	awk -F'\t' '$4 != "-" {
		printf "%s", $4
		for (i = 6; i <= NF; i++) printf " %s", $i
		print ""
	}' "$dir/plan.tsv" >"$ca/hosts"

	local accounts
	accounts=$(wc -l <"$dir/accounts.csv")
	printf 'affected list: %d certificates over %d accounts; certificates per account:\n' \
		"$(wc -l <"$dir/plan.tsv")" "$accounts"
	gzip -dc "$dir/caa-2020.txt.gz" | awk '{ print $3 }' | uniq -c | awk '
		{ n = $1; if (n > max) max = n
		  b = n == 1 ? 1 : n == 2 ? 2 : n < 10 ? 3 : n < 100 ? 4 : 5; h[b]++ }
		END { printf "  1: %d   2: %d   3-9: %d   10-99: %d   100+: %d (the largest: %d)\n",
			h[1], h[2], h[3], h[4], h[5], max }'
	awk -F'\t' '{ n[$1]++ } END {
		printf "fates: %d still served as listed, %d replaced by a served renewal, %d refused, %d nxdomain\n",
			n["affected"], n["replaced"], n["refused"], n["nxdomain"] }' "$dir/plan.tsv"
	printf 'test CA "%s": %s\n' "$(openssl x509 -in "$ca/ca.pem" -noout -subject -nameopt oneline | sed 's/^subject=//')" \
		"$(cat "$ca/issued.txt")"
}

# pid_ok PID: the process is one of ours (its command line names DIR).
pid_ok() {
	local cmdline
	[ -n "$1" ] && cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) &&
		[[ $cmdline == *"$dir/"* ]]
}

stop() {
	local f pid
	for f in "$run"/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		if pid_ok "$pid" && kill "$pid" 2>/dev/null; then
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		rm -f "$f"
	done
}

start() {
	stop
	mkdir -p "$run" "$dir/mail"
	rm -f "$dir"/mail/* "$ca"/ready.*
	{
		cat <<EOF
worker_processes 2;
user root;
pid $run/nginx.pid;
error_log $run/nginx-error.log warn;
events { worker_connections 1000; }
http {
	access_log off;
	client_body_temp_path $run/tmp-body;
	proxy_temp_path $run/tmp-proxy;
	fastcgi_temp_path $run/tmp-fastcgi;
	uwsgi_temp_path $run/tmp-uwsgi;
	scgi_temp_path $run/tmp-scgi;
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_session_tickets off;
	server {
EOF
		for a in $(seq 10 25); do
			printf '\t\tlisten 127.0.9.%d:%d ssl;\n' "$a" "$TLS_PORT"
		done
		# The certificate is chosen by SNI at each handshake: one
		# file per served name, all with the one leaf key.
		cat <<EOF
		ssl_certificate $ca/names/\$ssl_server_name.crt;
		ssl_certificate_key $ca/leaf.key;
		return 200 "\$ssl_server_name\n";
	}
}
EOF
	} >"$run/nginx.conf"
	/usr/sbin/nginx -c "$run/nginx.conf" -p "$run" -e "$run/nginx-error.log" \
		</dev/null >>"$run/nginx.log" 2>&1
	/usr/sbin/dnsmasq --port="$DNS_PORT" --listen-address="$SERVICES" \
		--bind-interfaces --no-resolv --no-hosts --addn-hosts="$ca/hosts" \
		--local=/example/ --cache-size=10000 --pid-file="$run/dnsmasq.pid" \
		--log-facility="$run/dnsmasq.log" --user=root --group=root \
		</dev/null >>"$run/dnsmasq.log" 2>&1
	/usr/bin/python3 "$root/tests/ocspd.py" --host "$SERVICES" \
		--port "$HTTP_PORT" --dir "$ca" </dev/null >"$run/ocspd.log" 2>&1 &
	echo $! >"$run/ocspd.pid"
	/usr/bin/python3 "$root/tests/smtpd.py" --host "$SERVICES" \
		--port "$SMTP_PORT" --dir "$dir/mail" </dev/null >"$run/smtpd.log" 2>&1 &
	echo $! >"$run/smtpd.pid"

	for _ in $(seq 1 100); do
		if [ -s "$run/nginx.pid" ] && [ -s "$run/dnsmasq.pid" ] &&
			[ -f "$ca/ready.$HTTP_PORT" ] && [ -f "$dir/mail/ready" ] &&
			(exec 3<>"/dev/tcp/127.0.9.10/$TLS_PORT") 2>/dev/null; then
			rm -f "$dir/mail/ready"
			echo "TLS fleet on 127.0.9.10-25:$TLS_PORT ($(find "$ca/names" -name '*.crt' | wc -l) names)," \
				"DNS $SERVICES:$DNS_PORT, OCSP and CRL http://$SERVICES:$HTTP_PORT/," \
				"SMTP $SERVICES:$SMTP_PORT"
			return 0
		fi
		sleep 0.1
	done
	echo "world.sh: the servers did not start (logs in $run)" >&2
	tail -5 "$run"/*.log >&2 || true
	stop
	return 1
}

config() {
	local conninfo=${1:?config needs a CONNINFO}
	cat <<EOF
; certrecall.ini for the demo's local world (scripts/demo/world.sh)
[database]
url = $conninfo
[scanner]
ports = $TLS_PORT
dns_servers = $SERVICES:$DNS_PORT
ipv6 = false
; loopback is denied by default: a subscriber's DNS must not make the CA
; probe itself.  The fleet lives here, so allow exactly its network.
allow = 127.0.9.0/24
[smtp]
host = $SERVICES
port = $SMTP_PORT
[mailer]
from = Example CA <revocations@ca.example>
[report]
organization = Example CA
EOF
}

# revoke BATCH FROM TO: BATCH is "serial,reason_code" lines; the Nth of
# M is revoked at FROM + (N-1) * (TO - FROM) / (M-1), so the batch runs
# steadily through the window, as the CA's revoker would.
revoke() {
	local batch=${1:?} from to n i=0 serial code t when reason
	from=$(date -u -d "${2:?}" +%s)
	to=$(date -u -d "${3:?}" +%s)
	n=$(grep -c . "$batch" || true)
	# CRLReason codes as openssl ca's index names them (RFC 5280 5.3.1).
	local names=(unspecified keyCompromise CACompromise affiliationChanged
		superseded cessationOfOperation certificateHold)
	while IFS=, read -r serial code; do
		[ -n "$serial" ] || continue
		t=$((n > 1 ? from + i * (to - from) / (n - 1) : from))
		printf -v when '%(%y%m%d%H%M%SZ)T' "$t"
		reason=${names[$code]:-unspecified}
		printf '%s\t%s,%s\n' "${serial^^}" "$when" "$reason"
		i=$((i + 1))
	done <"$batch" >"$ca/revoked.tsv"
	awk -F'\t' -v OFS='\t' 'NR == FNR { r[$1] = $2; next }
		($4 in r) && $1 == "V" { $1 = "R"; $3 = r[$4] } { print }' \
		"$ca/revoked.tsv" "$ca/index.txt" >"$ca/index.txt.new"
	mv "$ca/index.txt.new" "$ca/index.txt"
	# Published right after the last revocation, valid for a week: the
	# CRL of that night, which certrecall verifies at the rehearsal clock.
	openssl ca -config "$ca/ca.cnf" -gencrl \
		-crl_lastupdate "$(date -u -d "@$to" +%Y%m%d%H%M%SZ)" \
		-crl_nextupdate "$(date -u -d "@$((to + 7 * 86400))" +%Y%m%d%H%M%SZ)" \
		-out "$ca/ca.crl" 2>/dev/null
	printf 'revoked %d certificates from %s to %s; ca.crl lists %d\n' "$i" \
		"$(date -u -d "@$from" +%FT%TZ)" "$(date -u -d "@$to" +%FT%TZ)" \
		"$(openssl crl -in "$ca/ca.crl" -noout -text | grep -c 'Serial Number')"
}

case $cmd in
build) build ;;
start) start ;;
stop) stop ;;
config) config "$@" ;;
revoke) revoke "$@" ;;
*) usage ;;
esac
