#!/bin/sh
# The three tiers of the control socket, with real users and groups made
# for the test (and removed by its trap): a member of [control]
# monitor_group may read (status, stats, chain, get, metrics, help) and is
# refused every command that changes the daemon or touches a file; a
# stranger gets only help; a member of [control] group may do everything.
. tests/integration/lib.sh

MG=tpmon$$ CG=tpctl$$ MU=tpmonu$$ SU=tpstru$$ CU=tpctlu$$
trap 'userdel "$MU" 2>/dev/null; userdel "$SU" 2>/dev/null;
    userdel "$CU" 2>/dev/null; groupdel "$MG" 2>/dev/null;
    groupdel "$CG" 2>/dev/null; cleanup' EXIT
groupadd "$MG" && groupadd "$CG" &&
    useradd -M -N -g nogroup -G "$MG" -s /usr/sbin/nologin "$MU" &&
    useradd -M -N -g nogroup -s /usr/sbin/nologin "$SU" &&
    useradd -M -N -g nogroup -G "$CG" -s /usr/sbin/nologin "$CU"
check $? "test users and groups are made"

tone_config "$T/a.conf" "[stage.vol]
type = gain
gain = -6"
sed -i "s|^socket = .*|&\ngroup = $CG\nmonitor_group = $MG|" "$T/a.conf"
sox -n -r 48000 -c 2 "$T/in.wav" synth 0.5 sine 440 2>/dev/null
start_jack 64
check $? "a private JACK dummy server starts"
start_daemon "$T/a.conf"
check $? "tidepoold starts with group = $CG, monitor_group = $MG"
wait_for 10 callbacks_above 100
m=$(stat -c '%a' "$T/control.sock")
[ "$m" = 666 ]
check $? "with a monitor group the socket is open to all (the daemon checks who): $m"
chmod 0711 "$T"
chmod 0644 "$T/in.wav"
# The test users run a copy in $T: the checkout may sit under a folder
# they cannot enter (a clone in a mktemp -d folder, mode 0700).
cp "$BIN/tidepoolctl" "$T/tidepoolctl" && chmod 0755 "$T/tidepoolctl"

as() {	# as USER COMMAND...: tidepoolctl as USER, with USER's groups
	u=$1; shift
	runuser -u "$u" -- "$T/tidepoolctl" -s "$T/control.sock" "$@"
}
refused() {	# refused USER COMMAND...: fails with permission denied
	out=$(as "$@" 2>&1)
	[ $? -ne 0 ] && echo "$out" | grep -q "permission denied"
}
READS="status|stats|chain|get vol|get vol.gain|metrics|help"
CHANGES="set vol.gain -20|stats reset|reload|play $T/in.wav|stop|record $T/mon.wav|record stop"
bad=
IFS='|'
for c in $READS; do
	IFS=' '; as "$MU" $c >/dev/null 2>&1 || bad="$bad [$c]"; IFS='|'
done
IFS=' '
[ -z "$bad" ]
check $? "the monitor group may read${bad:+ (refused:$bad)}"
bad=
IFS='|'
for c in $CHANGES; do
	IFS=' '; refused "$MU" $c || bad="$bad [$c]"; IFS='|'
done
IFS=' '
[ -z "$bad" ]
check $? "and is refused every change${bad:+ (allowed:$bad)}"
[ "$(json_get "$(ctl --json get vol.gain)" value)" = -6 ] && [ ! -e "$T/mon.wav" ]
check $? "nothing changed: vol.gain is still -6 and no file was recorded"
bad=
IFS='|'
ALL="$READS|$CHANGES"
for c in $ALL; do
	[ "$c" = help ] && continue
	IFS=' '; refused "$SU" $c || bad="$bad [$c]"; IFS='|'
done
IFS=' '
[ -z "$bad" ]
check $? "a stranger is refused everything but help${bad:+ (allowed:$bad)}"
expect "a stranger may ask for help" as "$SU" help
out=$(as "$SU" status 2>&1)
echo "$out" | grep -q "monitor_group"
check $? "the refusal says who may: $out"
expect "a member of the [control] group may change things" \
    as "$CU" set vol.gain -12
[ "$(json_get "$(ctl --json get vol.gain)" value)" = -12 ]
check $? "and the change took"
stop_daemon
check $? "tidepoold stops cleanly"
finish
