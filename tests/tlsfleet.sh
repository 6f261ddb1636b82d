#!/usr/bin/env bash
# A local TLS fleet for the scanner tests: a test CA (ECDSA P-256), leaf
# certificates, nginx serving them by SNI on 127.0.0.x, and dnsmasq
# answering the zone "test." on 127.0.0.1:DNS_PORT.
#
#   tests/tlsfleet.sh start DIR [TLS_PORT [DNS_PORT]]
#   tests/tlsfleet.sh stop DIR
#
# start prints "TLS_PORT DNS_PORT" and leaves in DIR: ca.pem, the leaves
# (affected.pem, replacement.pem, other.pem, default.pem, wild.pem), the
# nginx and dnsmasq pid files and logs.  Nothing listens beyond
# 127.0.0.0/8.
#
# Ground truth (port TLS_PORT everywhere):
#   127.0.0.2  default -> default.pem (default.test)
#              SNI affected.test -> affected.pem (affected.test, multi.test)
#              SNI replaced.test -> replacement.pem (replaced.test,
#                                   affected.test, multi.test)
#              SNI other.test    -> other.pem (elsewhere.test)
#              SNI *.wild.test   -> wild.pem (*.wild.test)
#   127.0.0.3  multi.test -> affected.pem
#   127.0.0.4, 127.0.0.5  multi.test -> replacement.pem
# DNS: affected.test, replaced.test, other.test, a.wild.test,
#   unknown.test -> 127.0.0.2; multi.test -> 127.0.0.3, .4, .5;
#   local.test -> 127.0.0.1; every other name in test. -> NXDOMAIN.
#   Extra records: FLEET_DNS_EXTRA="name,ip name2,ip2" (host-records).
set -euo pipefail

cmd=${1:?usage: tlsfleet.sh start|stop DIR [TLS_PORT [DNS_PORT]]}
dir=${2:?usage: tlsfleet.sh start|stop DIR [TLS_PORT [DNS_PORT]]}

stop() {
	local f pid
	for f in "$dir/nginx.pid" "$dir/dnsmasq.pid"; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		rm -f "$f"
	done
}

# leaf NAME CN SAN...: a leaf key and certificate signed by the test CA.
leaf() {
	local name=$1 cn=$2
	shift 2
	local san=""
	for n in "$@"; do san="${san:+$san,}DNS:$n"; done
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/$name.key" -subj "/CN=$cn" -out "$dir/$name.csr" 2>/dev/null
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		"$san" >"$dir/$name.ext"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-set_serial "0x$(openssl rand -hex 16 | sed 's/^0*//; s/^$/1/')" \
		-days 90 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
}

start() {
	local tls_port=${3:-$((20000 + RANDOM % 20000))}
	local dns_port=${4:-$((tls_port + 1))}
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)

	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" -days 365 \
		-subj "/CN=certrecall test CA" 2>/dev/null
	leaf affected affected.test affected.test multi.test
	leaf replacement replaced.test replaced.test affected.test multi.test
	leaf other elsewhere.test elsewhere.test
	leaf default default.test default.test
	leaf wild '*.wild.test' '*.wild.test'

	server() { # ADDRESS NAMES CERT [default]
		cat <<EOF
	server {
		listen $1:$tls_port ssl${4:+ default_server};
		server_name $2;
		ssl_certificate $dir/$3.pem;
		ssl_certificate_key $dir/$3.key;
		return 200 "$3\n";
	}
EOF
	}
	{
		cat <<EOF
worker_processes ${FLEET_WORKERS:-1};
user root;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
	access_log off;
	client_body_temp_path $dir/tmp-body;
	proxy_temp_path $dir/tmp-proxy;
	fastcgi_temp_path $dir/tmp-fastcgi;
	uwsgi_temp_path $dir/tmp-uwsgi;
	scgi_temp_path $dir/tmp-scgi;
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_session_tickets off;
EOF
		server 127.0.0.2 default.test default default
		server 127.0.0.2 affected.test affected
		server 127.0.0.2 replaced.test replacement
		server 127.0.0.2 other.test other
		server 127.0.0.2 '*.wild.test' wild
		server 127.0.0.3 multi.test affected default
		server 127.0.0.4 multi.test replacement default
		server 127.0.0.5 multi.test replacement default
		echo "}"
	} >"$dir/nginx.conf"
	/usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/nginx-error.log"

	local records=(
		--host-record=affected.test,127.0.0.2
		--host-record=replaced.test,127.0.0.2
		--host-record=other.test,127.0.0.2
		--host-record=a.wild.test,127.0.0.2
		--host-record=unknown.test,127.0.0.2
		--host-record=multi.test,127.0.0.3
		--host-record=multi.test,127.0.0.4
		--host-record=multi.test,127.0.0.5
		--host-record=local.test,127.0.0.1
	)
	for r in ${FLEET_DNS_EXTRA:-}; do records+=("--host-record=$r"); done
	/usr/sbin/dnsmasq --port="$dns_port" --listen-address=127.0.0.1 \
		--bind-interfaces --no-resolv --no-hosts --local=/test/ \
		--pid-file="$dir/dnsmasq.pid" --log-facility="$dir/dnsmasq.log" \
		--user=root --group=root "${records[@]}"

	# Ready when both answer.
	for _ in $(seq 1 50); do
		if [ -s "$dir/nginx.pid" ] && [ -s "$dir/dnsmasq.pid" ] &&
			(exec 3<>"/dev/tcp/127.0.0.2/$tls_port") 2>/dev/null; then
			echo "$tls_port $dns_port" >"$dir/ports"
			echo "$tls_port $dns_port"
			return 0
		fi
		sleep 0.1
	done
	echo "tlsfleet: servers did not start" >&2
	cat "$dir/nginx-error.log" "$dir/dnsmasq.log" >&2 2>/dev/null || true
	stop
	return 1
}

case $cmd in
start) start "$@" ;;
stop) stop ;;
*) echo "usage: tlsfleet.sh start|stop DIR [TLS_PORT [DNS_PORT]]" >&2; exit 64 ;;
esac
