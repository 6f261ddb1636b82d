#!/usr/bin/env bash
# The on-call dashboard (`status`) as a terminal shows it (issue 16): run
# under tmux at 80 and 132 columns, no line is longer than the terminal,
# a missed clock is red (capture-pane -e keeps the escape), a clock due
# within 24 h yellow; piped, or with NO_COLOR set, there is no escape at
# all.  Every command is given its time: nothing depends on today.
. "$(dirname "$0")/lib.sh"
new_db dashboard
certrecall -q db migrate

ok "create the March 2020 incident" certrecall incident create --slug caa-2020 \
	--title "CAA rechecking bug: certificates issued without a valid CAA check in the 30 days before issuance" \
	--reason v1.6.7:5d-7 --aware-at 2020-02-29T03:08:00Z
{
	echo 'serial,account,email,names,not_after'
	for i in $(seq 1 40); do
		printf '%x,acct-%d,ops%d@example.org,www%d.example;a-long-name-to-make-the-activity-detail-wider-%d.example,2020-08-01\n' \
			$((0x1000 + i)) "$i" "$i" "$i" "$i"
	done
} >"$T_TMP/list.csv"
CERTRECALL_CLOCK=2020-02-29T05:00:00Z certrecall -q import caa-2020 "$T_TMP/list.csv" --no-progress

# status in a tmux pane WIDTH columns wide at time AT; prints the pane
# with its escapes (lines joined where the terminal wrapped them; tmux
# starts a line with the reset that ended the one before).
sock=cr-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null' EXIT
# One session lives as long as the test: tmux's server exits when its
# last session closes, and a new-session racing that exit fails with
# "server exited unexpectedly" (seen under load).
tmux -L "$sock" -f /dev/null new-session -d -s keep "sleep 600"
pane() {
	local width=$1 at=$2 extra=${3:-}
	cat >"$T_TMP/run.sh" <<SH
#!/bin/sh
export CERTRECALL_DATABASE='$CERTRECALL_DATABASE' TERM=xterm-256color
unset NO_COLOR
${extra:+export $extra}
'$CERTRECALL_BIN' status caa-2020 --at $at
tmux -L '$sock' wait-for -S done-$width
sleep 60
SH
	chmod +x "$T_TMP/run.sh"
	tmux -L "$sock" -f /dev/null new-session -d -s "w$width" -x "$width" -y 200 \
		"$T_TMP/run.sh"
	timeout 20 tmux -L "$sock" wait-for "done-$width"
	tmux -L "$sock" capture-pane -p -e -J -t "w$width" -S 0 -E 199
	tmux -L "$sock" kill-session -t "w$width"
}

# Longest line, in columns, after removing the escapes.
longest() { sed 's/\x1b\[[0-9;]*m//g' | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }

esc=$'\033['
for width in 80 132; do
	screen=$(pane "$width" 2020-03-05T03:09:00Z)
	contains "$width columns: the dashboard is shown" "REVOCATION" "$screen"
	n=$(longest <<<"$screen")
	if [ "$n" -le "$width" ]; then pass "$width columns: no line is longer ($n)"; else
		fail "$width columns: no line is longer" "longest $n" "$screen"; fi
	line=$(grep 'revoke-must  ' <<<"$screen")
	contains "$width columns: the missed MUST clock is red" "${esc}1m${esc}31mmissed" \
		"$(sed 's/\x1b\[1;31m/\x1b[1m\x1b[31m/g' <<<"$line")"
	contains "$width columns: the activity detail is wrapped, not cut" \
		"accounts_without_email 0" "$(tr -s ' \n' ' ' <<<"$(sed 's/\x1b\[[0-9;]*m//g' <<<"$screen")")"
done

screen=$(pane 80 2020-03-04T05:00:00Z)
line=$(grep 'revoke-must  ' <<<"$screen")
contains "a clock due within 24 h is yellow" "${esc}33m22h 08m left" "$line"
screen=$(pane 80 2020-03-04T22:00:00Z)
line=$(grep 'revoke-must  ' <<<"$screen")
contains "a clock due within 6 h is red" "31m5h 08m left" "$line"

screen=$(pane 80 2020-03-05T03:09:00Z NO_COLOR=1)
case $screen in *"$esc"*) fail "NO_COLOR=1 on a terminal: no escape" "$screen" ;;
*) pass "NO_COLOR=1 on a terminal: no escape" ;; esac
contains "NO_COLOR: still the dashboard" "missed" "$screen"

out=$(certrecall status caa-2020 --at 2020-03-05T03:09:00Z | cat)
case $out in *$'\033'*) fail "piped: no escape" "$out" ;; *) pass "piped: no escape" ;; esac
n=$(longest <<<"$out")
if [ "$n" -le 80 ]; then pass "piped: 80 columns at most ($n)"; else
	fail "piped: 80 columns at most" "longest $n" "$out"; fi
contains "piped: the verdicts in the report's words" "revoked on time" "$out"
finish
