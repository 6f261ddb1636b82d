#!/usr/bin/env bash
# Install exactly the Debian packages certrecall needs that are missing.
#
# Build:  compiler, pkg-config and the -dev packages of every library.
# Tests:  PostgreSQL 15, and the real servers the integration tests start
#         (nginx, dnsmasq, aiosmtpd, postfix's smtp-sink and smtpd, openssl,
#         curl, dovecot, prosody, vsftpd, slapd: STARTTLS peers),
#         headless Chromium, poppler-utils (pdftotext) and jsonschema to check
#         the HTML (and its PDF) and JSON report.
# Usage:  scripts/deps.sh [--print]   (--print lists the missing ones only)
set -euo pipefail

packages=(
	build-essential pkg-config clang clang-format libclang-rt-14-dev
	libssl-dev openssl libpq-dev libcurl4-openssl-dev
	libinih-dev libc-ares-dev libjansson-dev zlib1g-dev check libidn2-dev
	postgresql postgresql-client
	nginx-light dnsmasq-base python3 python3-aiosmtpd postfix curl
	procps iproute2 hyperfine time bc faketime tmux
	chromium fonts-dejavu-core python3-jsonschema python3-html5lib poppler-utils
	python3-cryptography libgmime-3.0-dev python3-dkim python3-nacl
	libicu-dev libopendkim-dev
	dovecot-imapd dovecot-pop3d prosody vsftpd slapd
	libmicrohttpd-dev wrk jq
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ "${1:-}" = --print ]; then
	printf '%s\n' "${missing[@]}"
	exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages; run as root:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# postfix is wanted only for its smtp-sink test tool: no mail system.
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
