# Sourced by every integration test.  Provides:
#   new_db NAME         create an empty database, export CERTRECALL_DATABASE
#   certrecall ARGS     the binary under test
#   ok NAME CMD...      CMD must exit 0
#   fails NAME CODE CMD...   CMD must exit with CODE
#   refused NAME PATTERN SQL   the database must refuse SQL
#   expect NAME WANT GOT     strings must be equal
#   contains NAME NEEDLE HAYSTACK
#   finish              prints "integration-result: P F", exits
# Each check prints "ok - NAME" or "not ok - NAME" with details.
set -u
: "${CERTRECALL_TEST_ROOT:?run through tests/run.sh}"
ROOT=$CERTRECALL_TEST_ROOT
T_PASSED=0
T_FAILED=0
T_TMP=$(mktemp -d "${CERTRECALL_TEST_VAR}/tmp.XXXXXX")
chmod 755 "$T_TMP"
T_DBS=()

certrecall() { "$CERTRECALL_BIN" "$@"; }

pass() { T_PASSED=$((T_PASSED + 1)); echo "ok - $1"; }
fail() { T_FAILED=$((T_FAILED + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "    $l"; done; }

ok() {
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "exit $?: $*" "$out"; fi
}

fails() {
	local name=$1 code=$2; shift 2
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -eq "$code" ]; then pass "$name"; else fail "$name" "want exit $code, got $rc: $*" "$out"; fi
}

expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want: $2" "got:  $3"; fi
}

contains() {
	case $3 in
	*"$2"*) pass "$1" ;;
	*) fail "$1" "want to contain: $2" "got: $3" ;;
	esac
}

# refused NAME PATTERN SQL: the database must reject SQL with PATTERN in
# its error message.
refused() {
	local out rc
	out=$(db_sql -c "$3" 2>&1); rc=$?
	if [ "$rc" -ne 0 ] && [[ $out == *"$2"* ]]; then
		pass "$1"
	else
		fail "$1" "want refusal mentioning: $2" "got (exit $rc): $out"
	fi
}

psql_admin() { psql -XAtq "$CERTRECALL_TEST_PG" "$@"; }

new_db() {
	local name=t_$1_$$
	psql_admin -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
	T_DBS+=("$name")
	export CERTRECALL_DATABASE="${CERTRECALL_TEST_PG% dbname=*} dbname=$name"
}

db_sql() { psql -XAtq "$CERTRECALL_DATABASE" -v ON_ERROR_STOP=1 "$@"; }

finish() {
	# The test's own EXIT trap (stopping its servers) runs first: their
	# pid files live under $T_TMP, which goes below.
	local t
	t=$(trap -p EXIT)
	if [ -n "$t" ]; then
		trap - EXIT
		eval "set -- $t"
		eval "$3"
	fi
	for p in "${T_SMTPD[@]+"${T_SMTPD[@]}"}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for d in "${T_DBS[@]+"${T_DBS[@]}"}"; do
		psql_admin -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
	done
	rm -rf "$T_TMP"
	echo "integration-result: $T_PASSED $T_FAILED"
	[ "$T_FAILED" -eq 0 ]
	exit
}

# start_smtpd NAME [SMTPD-OPTIONS]: a real SMTP server (tests/smtpd.py) storing into
# $T_TMP/NAME; exports SMTP_PORT (and SMTP_REJECT_PORT, which greets 421).
# Stopped by finish.
T_SMTPD=()
# A random port may be taken (by another suite's server, say): a server
# that exits before it is ready is tried again on another, five times.
start_smtpd() {
	local dir=$T_TMP/$1 pid try
	shift
	mkdir -p "$dir"
	for try in 1 2 3 4 5; do
		SMTP_PORT=$((20000 + RANDOM % 20000))
		SMTP_REJECT_PORT=$((SMTP_PORT + 1))
		/usr/bin/python3 "$ROOT/tests/smtpd.py" --port "$SMTP_PORT" --dir "$dir" \
			--reject-port "$SMTP_REJECT_PORT" "$@" >"$dir.log" 2>&1 &
		pid=$!
		for _ in $(seq 1 100); do
			[ -f "$dir/ready" ] && { T_SMTPD+=("$pid"); return 0; }
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo "smtpd did not start on port $SMTP_PORT (try $try):"; cat "$dir.log"
	done
	return 1
}

# postfix_init DIR NEXT_PORT: a private Postfix in DIR (etc/, spool/,
# data/; its log in DIR/maillog) that takes mail from 127.0.0.0/8 and
# relays it to 127.0.0.1:NEXT_PORT, with no listener yet.  The caller
# appends to DIR/etc/main.cf, adds its listeners (postfix_listen), and
# calls postfix_start; postfix_stop DIR from its EXIT trap.
postfix_init() {
	local dir=$1
	mkdir -p "$dir/etc" "$dir/spool" "$dir/data"
	chown postfix "$dir/data"
	cp /etc/postfix/master.cf "$dir/etc/master.cf"
	cat >"$dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = relay.example.net
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$2
smtp_dns_support_level = disabled
maillog_file_prefixes = $dir
maillog_file = $dir/maillog
CF
	postconf -c "$dir/etc" -M# smtp/inet
	postconf -c "$dir/etc" -F '*/*/chroot = n'
}
# postfix_listen DIR PORT [SMTPD-ARGS...]: an smtpd on 127.0.0.1:PORT.
postfix_listen() {
	local dir=$1 port=$2
	shift 2
	postconf -c "$dir/etc" -M "127.0.0.1:$port/inet=127.0.0.1:$port inet n - n - - smtpd${*:+ $*}"
}
# postfix_start DIR PORT...: starts it and waits for each port.
postfix_start() {
	local dir=$1 port
	shift
	postfix -c "$dir/etc" start >"$dir.start" 2>&1 || { cat "$dir.start"; return 1; }
	for port in "$@"; do
		for _ in $(seq 1 50); do
			(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
			sleep 0.1
		done
	done
}
postfix_stop() { postfix -c "$1/etc" stop >/dev/null 2>&1; }

# ec_key NAME: a P-256 key in NAME.key.
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# openssl_ca_db [CRL_DAYS]: an `openssl ca` database for ca.pem and ca.key
# in the current directory: index.txt, crlnumber and ca.cnf (with
# default_crl_days when CRL_DAYS is given), as the revocation tests use.
openssl_ca_db() {
	: >index.txt
	echo 01 >crlnumber
	{
		printf '[ ca ]\ndefault_ca = test\n[ test ]\n'
		printf 'database = %s/index.txt\n' "$PWD"
		printf 'crlnumber = %s/crlnumber\n' "$PWD"
		printf 'certificate = %s/ca.pem\nprivate_key = %s/ca.key\n' "$PWD" "$PWD"
		printf 'default_md = sha256\n'
		[ -z "${1:-}" ] || printf 'default_crl_days = %s\n' "$1"
	} >ca.cnf
}
