#!/usr/bin/env bash
# Configuration: file:line errors, precedence, secrets.
. "$(dirname "$0")/lib.sh"
unset CERTRECALL_DATABASE

cd "$T_TMP"
printf 'secret-pw\n' >pw-open
chmod 644 pw-open
printf 'secret-pw\n' >pw
chmod 600 pw

cat >bad.ini <<'INI'
[database]
url = dbname=x

[smtp]
prot = 25
port = twenty-five
password_file = pw-open
INI
out=$(certrecall -c bad.ini config check 2>&1)
rc=$?
expect "a bad file exits 78 (config)" 78 "$rc"
contains "misspelt key named with file:line" 'bad.ini:5: unknown key "prot" in section [smtp]' "$out"
contains "non-numeric port named with file:line" 'bad.ini:6: smtp.port: "twenty-five" is not a whole number' "$out"
contains "world-readable password file named with file:line" 'bad.ini:7: smtp.password_file: "pw-open" is readable by group or others' "$out"
expect "three errors, one line each" 3 "$(grep -c 'error: bad.ini:' <<<"$out")"
out=$(certrecall -c bad.ini db status 2>&1)
expect "db status refuses the bad file too (78)" 78 $?

cat >bad2.ini <<'INI'
[scanner]
ipv6 = maybe
dns_timeout = soon
concurrency = 0
ports = 443, 70000
[nosuch]
x = 1
[smtp]
starttls = sometimes
port = 25
port = 26
this line has no equals sign
INI
out=$(certrecall -c bad2.ini config check 2>&1)
contains "bad boolean" 'bad2.ini:2: scanner.ipv6: "maybe" is not a boolean' "$out"
contains "bad duration" 'bad2.ini:3: scanner.dns_timeout: "soon" is not a duration' "$out"
contains "out of range" 'bad2.ini:4: scanner.concurrency: 0 is out of range (1 to 100000)' "$out"
contains "bad port list" 'bad2.ini:5: scanner.ports: "443, 70000" is not a list of ports' "$out"
contains "unknown section" 'bad2.ini:7: unknown section [nosuch]' "$out"
contains "bad enum" 'bad2.ini:9: smtp.starttls: "sometimes" is not one of auto|required|optional|none' "$out"
contains "duplicate key" 'bad2.ini:11: smtp.port is already set at line 10' "$out"
fails "missing file exits 78" 78 certrecall -c nosuch.ini config check
out=$(certrecall -c nosuch.ini config check 2>&1)
contains "missing file is named" "nosuch.ini: cannot open" "$out"

cat >syntax.ini <<'INI'
[smtp]
host = relay.example
just words
INI
out=$(certrecall -c syntax.ini config check 2>&1)
contains "syntax error has its line" 'syntax.ini:3: syntax error' "$out"

# The documented example is valid and is exactly the defaults.
ok "config.example.ini is valid" certrecall -c "$ROOT/config.example.ini" config check
a=$(certrecall -c "$ROOT/config.example.ini" config show | sed 's/\t;.*//')
b=$(certrecall config show | sed 's/\t;.*//')
expect "config.example.ini documents the built-in defaults" "$b" "$a"
for key in $(certrecall config show | awk -F' = ' '/ = / {print $1}'); do
	grep -qE "^$key =" "$ROOT/config.example.ini" ||
		fail "config.example.ini documents $key"
done
pass "config.example.ini lists every key"

# Precedence: command line > environment > file > default.
cat >good.ini <<'INI'
[database]
url = dbname=from_file
[scanner]
rate = 100
[smtp]
password_file = pw
INI
out=$(certrecall -c good.ini config show)
contains "file beats default" "url = dbname=from_file	; good.ini:2" "$out"
out=$(CERTRECALL_DATABASE=dbname=from_env certrecall -c good.ini config show)
contains "environment beats file" "url = dbname=from_env	; environment CERTRECALL_DATABASE" "$out"
out=$(CERTRECALL_SCANNER_RATE=200 certrecall -c good.ini config show)
contains "CERTRECALL_SECTION_KEY beats file" "rate = 200	; environment CERTRECALL_SCANNER_RATE" "$out"
out=$(CERTRECALL_DATABASE=dbname=from_env certrecall -c good.ini -d dbname=from_cli config show)
contains "command line beats environment" "url = dbname=from_cli	; command line --database" "$out"
out=$(CERTRECALL_SCANNER_RATE=200 certrecall -c good.ini --set scanner.rate=300 config show)
contains "--set beats environment" "rate = 300	; command line --set" "$out"
fails "bad environment value exits 78" 78 env CERTRECALL_SMTP_PORT=abc "$CERTRECALL_BIN" config check
out=$(CERTRECALL_SMTP_PORT=abc certrecall config check 2>&1)
contains "bad environment value names the variable" 'environment CERTRECALL_SMTP_PORT: smtp.port: "abc" is not a whole number' "$out"
out=$(CERTRECALL_CONFIG=good.ini certrecall config show)
contains "CERTRECALL_CONFIG names the file" "good.ini:4" "$out"

# Secrets are never printed.
ok "a private password file is accepted" certrecall -c good.ini config check
out=$(certrecall -v -c good.ini config show 2>&1; certrecall -v -c good.ini config check 2>&1)
case $out in
*secret-pw*) fail "the password is never printed" "$out" ;;
*) pass "the password is never printed" ;;
esac
out=$(certrecall -d "host=h dbname=d password=hunter2" config show)
case $out in
*hunter2*) fail "a password in the conninfo is redacted" "$out" ;;
*) contains "a password in the conninfo is redacted" "password=***" "$out" ;;
esac
out=$(certrecall -d "postgresql://u:hunter2@h/d" config show)
contains "a password in a URI is redacted" "postgresql://u:***@h/d" "$out"

finish
