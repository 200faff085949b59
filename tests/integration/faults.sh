#!/bin/sh
# The sound server dies and comes back, on a private JACK dummy server:
# tidepoold stays up and says "disconnected", the recording keeps every
# frame processed up to the loss, it reconnects by itself when a server
# of the same name returns, and SIGTERM ends it within 2 s even while the
# server is stopped (SIGSTOP) and would hold any PortAudio call.
. tests/integration/lib.sh

tone_config "$T/a.conf" "[stage.vol]
type = gain
gain = -3"
start_jack 64
check $? "a private JACK dummy server starts"
start_daemon "$T/a.conf"
check $? "tidepoold starts"
wait_for 10 state_is running
check $? "it runs"

# The frames the engine processed, read after the record request's reply
# and just before the kill, bound what the file must hold without any
# assumption about timing.
expect "record starts" ctl record "$T/lost.wav"
f0=$(json_get "$(ctl --json stats)" frames)
sleep 1.5
# Straight from the socket, so the kill follows within milliseconds.
f1=$(printf 'stats\n' | socat - "UNIX-CONNECT:$T/control.sock" |
    grep -o '"frames":[0-9]*' | head -n 1 | cut -d: -f2)
kill -KILL "$JACK_PID"
wait "$JACK_PID" 2>/dev/null
JACK_PID=
wait_for 10 state_is disconnected
check $? "with the JACK server killed, the daemon stays up and says disconnected"
# The recording ended with the loss: record stop has nothing left to stop.
ctl record stop >/dev/null 2>&1
got=$(soxi -s "$T/lost.wav" 2>/dev/null)
# f0 may count a period after the recording began.  A lost partial block
# would leave the file up to 1024 frames short of f1 - f0.  (The daemon
# executes itself again when the server is gone, so nothing read after
# the loss counts from the same start.)
logged=$(sed -n 's/.*recording .*lost.wav ended at \([0-9]*\) frames.*/\1/p' "$T/daemon.log")
echo "# frames processed while recording: at least $((f1 - f0)); the daemon logged $logged; in the file: $got"
[ -n "$got" ] && [ "$got" -ge $((f1 - f0 - 64)) ] &&
    [ "$got" = "$logged" ] && [ "$got" = "$(decoded_frames "$T/lost.wav")" ]
check $? "the recording holds every frame processed up to the loss ($got)"
kill -0 "$DAEMON_PID"
check $? "the daemon process is still the same ($DAEMON_PID)"

# The same server name again: JACK reuses the killed server's entry.
launch_jack 64
check $? "the JACK server is started again"
wait_for 30 state_is running
check $? "tidepoold reconnects by itself"
c0=$(callbacks)
wait_for 10 callbacks_above "$c0"
check $? "and the callbacks run again (past $c0)"
grep "audio:" "$T/daemon.log" | sed 's/^/# /' | tail -n 4

# SIGTERM while the server is stopped: bounded, recording finished.
expect "record starts again" ctl record "$T/stopped.wav"
c1=$(callbacks)
sleep 1
c2=$(callbacks)
kill -STOP "$JACK_PID"
sleep 0.5
start=$(date +%s%N)
stop_daemon
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "$JACK_PID"
check $rc "SIGTERM with the JACK server stopped: clean exit ($rc)"
[ "$ms" -lt 2000 ]
check $? "within 2 s ($ms ms)"
got=$(soxi -s "$T/stopped.wav" 2>/dev/null)
logged=$(sed -n 's/.*recording .*stopped.wav closed at \([0-9]*\) frames.*/\1/p' "$T/daemon.log")
echo "# the header says $got frames, the log $logged; callbacks $c1 $c2"
[ -n "$got" ] && [ "$got" = "$(decoded_frames "$T/stopped.wav")" ] &&
    [ "$got" = "$logged" ] && [ "$got" -ge $(((c2 - c1 - 1) * 64)) ]
check $? "and the recording is valid, with every period processed while it ran ($got)"
finish
