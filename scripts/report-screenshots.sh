#!/usr/bin/env bash
# scripts/report-screenshots.sh REPORT.html OUTDIR: the PNG screenshots of
# an HTML report that README's walkthrough shows (docs/img/report-*.png):
# the top of the page, the burn-down and deployment charts, the
# notification charts and the timeline, each 1280 px wide as Chromium
# renders the page.  Where each part starts is read from the rendered page
# (a copy with a measuring script; the report itself has none).
#   make demo && scripts/report-screenshots.sh var/demo/report.html docs/img
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 REPORT.html OUTDIR" >&2; exit 64; }
root=$(cd "$(dirname "$0")/.." && pwd)
html=$(realpath "$1")
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chrome() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--hide-scrollbars --user-data-dir="$tmp/profile" "$@" 2>/dev/null
}

# Page offsets (CSS px) of the parts, from a measured copy.
sed 's|</body>|<script>function y(s){var e=document.querySelector(s);return e?Math.round(e.getBoundingClientRect().top+window.scrollY):-1}function h2(t){var r=-1;document.querySelectorAll("h2,h3").forEach(function(e){if(r<0\&\&e.textContent.indexOf(t)===0)r=Math.round(e.getBoundingClientRect().top+window.scrollY)});return r}document.body.setAttribute("data-at",[h2("By revocation verdict"),y("#chart-deployment")+130,h2("Subscriber notification"),y("#chart-warning")+270,h2("Timeline"),h2("Delayed revocation")>0?h2("Delayed revocation"):h2("Related incidents"),document.body.scrollHeight].join(" "))</script></body>|' \
	"$html" >"$tmp/measure.html"
read -r verdicts deploy_end notif warn_end timeline timeline_end height < <(
	chrome --window-size=1280,1000 --dump-dom "file://$tmp/measure.html" |
		sed -n 's/.*data-at="\([^"]*\)".*/\1/p')
chrome --window-size=1280,"$height" --screenshot="$tmp/page.png" "file://$html" >/dev/null
mkdir -p "$out"
crop() { /usr/bin/python3 "$root/scripts/png-crop.py" "$tmp/page.png" "$out/$1" "$2" "$3"; }
crop report-top.png 0 900
crop report-charts.png $((verdicts - 10)) $((deploy_end + 10))
crop report-notification.png $((notif - 10)) $((warn_end + 10))
crop report-timeline.png $((timeline - 10)) $((timeline_end - 10))
ls -l "$out"/report-*.png >&2
