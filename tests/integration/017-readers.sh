#!/usr/bin/env bash
# Every reader loads real input exactly, or refuses it out loud: cut gzip
# downloads, the machine's CA bundle, chains, DER, PEM with keys and
# other labels, zero/negative serials, IDN names, openssl's serial=
# output, account headers, empty lists.
. "$(dirname "$0")/lib.sh"
new_db readers
certrecall -q db migrate
for s in gz ca chain der key idn lists empty odd; do
	certrecall -q incident create --slug "$s" --title "$s" --reason br-12 \
		--aware-at 2024-01-26T00:00:00Z
done
count() { db_sql -c "SELECT count(*) FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = '$1'"; }
cd "$T_TMP"
cc -O2 -o gen "$ROOT/bench/gen_le2020.c"
/usr/bin/python3 - <<'PY'
# gzip streams cut where a downloader would cut them: at a full flush
# point (every byte before it inflates cleanly: "gzip -t" only says
# "unexpected end of file"), and at an arbitrary byte.
import subprocess, zlib
lines = subprocess.run(["./gen", "10000", "7"], capture_output=True,
                       check=True).stdout.splitlines(keepends=True)
open("list.txt", "wb").write(b"".join(lines))
z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
flushed = z.compress(b"".join(lines[:6000])) + z.flush(zlib.Z_FULL_FLUSH)
rest = z.compress(b"".join(lines[6000:])) + z.flush()
open("flush-cut.gz", "wb").write(flushed)
open("whole.gz", "wb").write(flushed + rest)
serials = b"".join(l.split()[1] + b"\n" for l in lines)
open("serials.txt", "wb").write(serials)
s = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
data = s.compress(serials) + s.flush()
open("serials-cut.gz", "wb").write(data[: len(data) * 2 // 3 + 13])
PY

# ---- compressed input ----------------------------------------------------
expect "the flush-point cut inflates cleanly as far as it goes" 6000 \
	"$(gzip -dc flush-cut.gz 2>/dev/null | wc -l)"
out=$(certrecall import gz flush-cut.gz --no-progress 2>&1)
expect "a list cut at a flush point is refused (65)" 65 $?
contains "and says the download is incomplete" \
	"flush-cut.gz: compressed data ends early (incomplete download?)" "$out"
expect "nothing was loaded" 0 "$(count gz)"
gzip -c list.txt | head -c 40000 >random-cut.gz
out=$(certrecall import gz random-cut.gz --no-progress 2>&1)
expect "a list cut at a random byte is refused (65)" 65 $?
contains "named as cut" "random-cut.gz: compressed data ends early" "$out"
out=$(certrecall import gz serials-cut.gz --no-progress 2>&1)
expect "a serials list cut mid-serial is refused (65)" 65 $?
contains "named as cut" "serials-cut.gz: compressed data ends early" "$out"
out=$(certrecall import gz - --no-progress <random-cut.gz 2>&1)
expect "a cut .gz on standard input is refused (65)" 65 $?
contains "named as cut" "-: compressed data ends early" "$out"
expect "still nothing loaded" 0 "$(count gz)"
{ cat whole.gz; printf 'GARBAGE'; } >trailing.gz
out=$(certrecall import gz trailing.gz --no-progress 2>&1)
expect "data after the gzip stream is refused (65)" 65 $?
contains "and named" "trailing.gz: data after the end of the compressed stream" "$out"
printf 'xx' | gzip -c | head -c 30 | { cat; head -c 20 /dev/urandom; } >corrupt.gz
fails "corrupt compressed data is refused" 65 certrecall import gz corrupt.gz --no-progress
head -n 3000 list.txt | gzip -c >part1.gz
tail -n +3001 list.txt | gzip -c >part2.gz
cat part1.gz part2.gz >members.gz
out=$(certrecall import gz members.gz --no-progress 2>&1)
contains "a two-member gzip file (cat a.gz b.gz) loads whole" "10000 new" "$out"
out=$(certrecall import gz - --no-progress <whole.gz 2>&1)
contains "a whole .gz on standard input is complete" "0 new, 10000 already present" "$out"

# ---- the machine's CA bundle ---------------------------------------------
bundle=/etc/ssl/certs/ca-certificates.crt
n=$(grep -c 'BEGIN CERT' "$bundle")
out=$(certrecall import ca "$bundle" --no-progress 2>&1)
expect "the CA bundle imports (exit 0)" 0 $?
contains "every certificate in it is new" "$n new, 0 already present" "$out"
expect "every certificate is stored" "$n" "$(count ca)"
contains "CA certificates are counted" "CA certificates (basicConstraints)" "$out"
contains "roots without a host name load without names" \
	"certificates with no probeable name" "$out"
awk -v d="$T_TMP" '/BEGIN CERT/{n++} n{print > (d "/root-" n ".pem")}' "$bundle"
for f in root-*.pem; do openssl x509 -in "$f" -noout -serial; done |
	sed 's/^serial=//' | sort >want-serials
db_sql -c "SELECT serial_text(serial) FROM certificate c JOIN incident i ON i.id = c.incident_id WHERE i.slug = 'ca'" |
	sort >got-serials
expect "each stored serial is what openssl x509 -serial prints" "" \
	"$(diff want-serials got-serials)"
expect "the bundle's zero serials are kept" \
	"$(grep -c '^00$' want-serials)" "$(grep -c '^00$' got-serials)"
out=$(certrecall import ca "$bundle" --no-progress 2>&1)
contains "a second import is a no-op" "0 new, $n already present" "$out"
expect "and adds no rows" "$n" "$(count ca)"

# ---- chains, DER, other PEM blocks and labels -----------------------------
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" 2>/dev/null; }
ec -x509 -keyout root.key -subj "/CN=Test Root CA" -days 3650 \
	-addext basicConstraints=critical,CA:TRUE -set_serial 1 -out root.pem
ec -keyout int.key -subj "/CN=Test Issuing CA" -out int.csr
printf 'basicConstraints=critical,CA:TRUE\n' >int.ext
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 2 \
	-days 3650 -extfile int.ext -out int.pem 2>/dev/null
ec -keyout leaf.key -subj "/CN=leaf.example" -out leaf.csr
printf 'subjectAltName=DNS:leaf.example,DNS:www.leaf.example\n' >leaf.ext
openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -set_serial 0x0A0B0C \
	-days 90 -extfile leaf.ext -out leaf.pem 2>/dev/null
cat leaf.pem int.pem >fullchain.pem
out=$(certrecall import chain fullchain.pem --no-progress 2>&1)
expect "a fullchain.pem loads without --format" 0 $?
contains "both certificates are new" "2 new" "$out"
expect "the intermediate is marked CA, the leaf not, names from the SAN" \
	"0a0b0c|f|{leaf.example,www.leaf.example}
02|t|{}" \
	"$(db_sql -c "SELECT encode(serial,'hex'), is_ca, names FROM certificate WHERE source = 'fullchain.pem' ORDER BY source_line")"
expect "each is named by the line its PEM block starts on" \
	"1 $(($(wc -l <leaf.pem) + 1))" \
	"$(db_sql -c "SELECT string_agg(source_line::text, ' ' ORDER BY source_line) FROM certificate WHERE source = 'fullchain.pem'")"

openssl x509 -in leaf.pem -outform der -out leaf.der
openssl x509 -in int.pem -outform der -out int.der
cat leaf.der int.der >chain.der
out=$(certrecall import der chain.der --no-progress 2>&1)
expect "a DER file loads without --format" 0 $?
contains "detected by content" "chain.der: format der" "$out"
contains "both DER certificates load" "2 new" "$out"
gzip -c chain.der >chain.der.gz
out=$(certrecall import der chain.der.gz --no-progress 2>&1)
contains "gzipped DER too" "0 new, 2 already present" "$out"

{ cat leaf.key; openssl ecparam -name prime256v1; cat leaf.pem; } >key-first.pem
out=$(certrecall import key key-first.pem --no-progress 2>&1)
expect "a PEM with a key block first loads (exit 0)" 0 $?
contains "its certificate" "1 new" "$out"
contains "the other blocks are counted" "2 PEM blocks that are not certificates skipped" "$out"
expect "and kept in the audit trail" "2" \
	"$(db_sql -c "SELECT e.detail->>'other_pem_blocks' FROM event e JOIN incident i ON i.id = e.incident_id WHERE i.slug = 'key' AND e.kind = 'import.certificates'")"
sed 's/BEGIN CERTIFICATE/BEGIN X509 CERTIFICATE/; s/END CERTIFICATE/END X509 CERTIFICATE/' \
	int.pem >old-label.pem
openssl x509 -in root.pem -trustout -addtrust serverAuth -out trusted.pem
contains "the trusted form really has its own label" "BEGIN TRUSTED CERTIFICATE" "$(cat trusted.pem)"
out=$(certrecall import key old-label.pem trusted.pem --no-progress 2>&1)
contains "X509 CERTIFICATE and TRUSTED CERTIFICATE blocks load" "2 new" "$out"

# A bad certificate in a bundle: refused whole, or skipped by --max-errors
# and named by its BEGIN line.
bad_at=$(($(wc -l <leaf.pem) + 1))
{ cat leaf.pem; sed '2s/^..../AAAA/' int.pem; cat root.pem; } >bad-bundle.pem
out=$(certrecall import odd bad-bundle.pem --no-progress 2>&1)
expect "a bad certificate fails the bundle (65)" 65 $?
contains "named by its BEGIN line" "bad-bundle.pem:$bad_at: " "$out"
expect "and nothing is loaded" 0 "$(count odd)"
out=$(certrecall import odd bad-bundle.pem --max-errors 1 --no-progress 2>&1)
expect "with --max-errors the rest loads" 0 $?
contains "named by its BEGIN line" "bad-bundle.pem:$bad_at: " "$out"
contains "two certificates load" "2 new" "$out"
db_sql -c "DELETE FROM certificate WHERE source = 'bad-bundle.pem'"

# Serial 0, a negative serial, an Ed448 key, notBefore == notAfter.
openssl req -x509 -newkey ed448 -nodes -keyout neg.key -subj "/CN=neg.example" \
	-set_serial -5 -days 30 -out neg.pem 2>/dev/null
ec -x509 -keyout zero.key -subj "/CN=zero.example" -set_serial 0 -days 30 -out zero.pem
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial.txt\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n' >ca.cnf
: >index.txt
echo 33 >serial.txt
ec -keyout eq.key -subj "/CN=eq.example" -out eq.csr
openssl ca -batch -config ca.cnf -cert root.pem -keyfile root.key -notext \
	-startdate 20200101000000Z -enddate 20200101000000Z -in eq.csr -out eq.pem 2>/dev/null
expect "openssl made notBefore == notAfter" "notBefore=Jan  1 00:00:00 2020 GMT" \
	"$(openssl x509 -in eq.pem -noout -startdate)"
cat neg.pem zero.pem eq.pem >odd.pem
out=$(certrecall import odd odd.pem --no-progress 2>&1)
expect "zero and negative serials, Ed448 and a one-second validity load" 0 $?
contains "a negative serial is a warning naming it as openssl does" \
	"odd.pem:1: serial -05 is negative" "$out"
contains "so is a zero serial" "serial 00 is zero" "$out"
expect "stored serials print as openssl prints them" \
	"$(for f in neg.pem zero.pem eq.pem; do openssl x509 -in "$f" -noout -serial | sed 's/serial=//'; done)" \
	"$(db_sql -c "SELECT serial_text(serial) FROM certificate WHERE source = 'odd.pem' ORDER BY source_line")"
expect "notBefore == notAfter is kept" "t" \
	"$(db_sql -c "SELECT issued_at = not_after FROM certificate WHERE names = '{eq.example}'")"
for f in leaf.pem eq.pem neg.pem zero.pem; do openssl x509 -in "$f" -noout -serial; done >serial-lines.txt
out=$(certrecall import lists serial-lines.txt --no-progress --max-errors 2 2>&1)
contains "openssl's serial= lines are the serials format" "serial-lines.txt: format serials" "$out"
contains "positive ones load; zero and negative are not list serials" "2 new" "$out"
expect "as the certificates' serials" "0a0b0c 33" \
	"$(db_sql -c "SELECT string_agg(encode(serial,'hex'), ' ' ORDER BY serial) FROM certificate WHERE source = 'serial-lines.txt'")"

printf 'serial,issued_at,not_after\n0e01,2020-01-01T00:00:00Z,2020-01-01T00:00:00Z\n' >equal.csv
ok "a list row with issued_at == not_after loads" certrecall import lists equal.csv --no-progress
printf 'serial,issued_at,not_after\n0e02,2020-01-02T00:00:00Z,2020-01-01T00:00:00Z\n' >inverted.csv
out=$(certrecall import lists inverted.csv --no-progress 2>&1)
contains "one with not_after before issued_at is refused with file:line" \
	"inverted.csv:2: not_after is earlier than issued_at" "$out"

# ---- IDN ----------------------------------------------------------------
printf 'serial,names\n01,b\xc3\xbccher.example\n02,xn--bcher-kva.example\n03,B\xc3\x9cCHER.Example.\n' >idn.csv
ok "U-label and A-label names import" certrecall import idn idn.csv --no-progress
expect "to the same stored A-label" "{xn--bcher-kva.example}" \
	"$(db_sql -c "SELECT DISTINCT names FROM certificate WHERE source = 'idn.csv'")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout u.key \
	-utf8 -subj "/CN=b$(printf '\xc3\xbc')cher.example" -days 30 -out u.pem 2>/dev/null
ok "a certificate with a U-label name imports" certrecall import idn u.pem --no-progress
expect "as its A-label" "{xn--bcher-kva.example}" \
	"$(db_sql -c "SELECT names FROM certificate WHERE source = 'u.pem'")"

# ---- lists: account headers, empty lists ----------------------------------
printf 'account_id,email\n1234,ops@example.org\n' >accounts1.csv
printf 'id,email\nacct-5,dev@example.org\n' >accounts2.csv
out=$(certrecall import lists --accounts accounts1.csv --no-progress 2>&1)
expect "an account_id,email header is skipped (exit 0)" 0 $?
contains "and said so" "accounts1.csv:1: header line skipped" "$out"
ok "an id,email header is skipped" certrecall import lists --accounts accounts2.csv --no-progress
expect "the data rows load" "{ops@example.org}|{dev@example.org}" \
	"$(db_sql -c "SELECT (SELECT emails::text FROM subscriber WHERE account = '1234') || '|' || (SELECT emails::text FROM subscriber WHERE account = 'acct-5')")"

: >empty.txt
out=$(certrecall import empty empty.txt --no-progress 2>&1)
expect "an empty list fails (65)" 65 $?
contains "and says so" "empty.txt: no certificates" "$out"
printf '# nothing yet\n\n' >comments.txt
fails "a list of comments fails too" 65 certrecall import empty comments.txt --no-progress
gzip -c empty.txt >empty.gz
fails "an empty .gz fails" 65 certrecall import empty empty.gz --no-progress
{ cat leaf.key; } >only-key.pem
fails "a PEM with no certificate fails" 65 certrecall import empty only-key.pem --no-progress
ok "--allow-empty accepts an empty list" certrecall import empty empty.txt --allow-empty --no-progress
expect "an empty import loads nothing" 0 "$(count empty)"
finish
