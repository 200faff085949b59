#!/bin/sh
# The sound server and tidepoold stopped together, as a shutdown or a
# `systemctl stop` of both does: SIGTERM to jackd, then to tidepoold, with
# and without a recording running, several times each.  Every stop must
# exit 0 within 2 s (PortAudio 19.6 used to abort the daemon in its
# stream close, exit 134), with the recording a valid file.
. tests/integration/lib.sh

tone_config "$T/a.conf" "[stage.vol]
type = gain"
TRIES=${TRIES:-5}

# both_stop REC: one try; REC 1 records first.  Prints "rc ms".
both_stop() {
	start_jack 64 || return 1
	start_daemon "$T/a.conf" || return 1
	wait_for 10 sh -c "'$BIN/tidepoolctl' -s '$T/control.sock' --json status | grep -q '\"state\":\"running\"'" || return 1
	if [ "$1" = 1 ]; then
		rm -f "$T/rec.wav"
		ctl record "$T/rec.wav" >/dev/null || return 1
		sleep 1
	fi
	t0=$(date +%s%N)
	kill -TERM "$JACK_PID"
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	DAEMON_PID=
	wait "$JACK_PID" 2>/dev/null
	JACK_PID=
	echo "$rc $ms"
}

for rec in 0 1; do
	n=0
	while [ $n -lt "$TRIES" ]; do
		n=$((n + 1))
		out=$(both_stop $rec)
		rc=${out% *}
		ms=${out#* }
		what="without a recording"
		[ $rec = 1 ] && what="while recording"
		[ "$rc" = 0 ] && [ "$ms" -lt 2000 ] 2>/dev/null
		check $? "server and daemon stopped together $what ($n): exit ${rc:-?} in ${ms:-?} ms"
		grep "Assertion\|audio: stream stopped" "$T/daemon.log" | sed 's/^/# /'
		if [ $rec = 1 ]; then
			len=$(soxi -D "$T/rec.wav" 2>/dev/null)
			awk -v l="$len" 'BEGIN { exit !(l > 0.5 && l < 3) }'
			check $? "the recording is a valid file of about 1 s ($len)"
		fi
	done
done
finish
