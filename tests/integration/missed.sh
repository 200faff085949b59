#!/bin/sh
# What the server's clock says against what tidepoold delivered, on a
# private JACK dummy server (48 kHz, 64 frames): tidepoold stopped for 2 s
# while recording is 2 s of audio the server went past without it, counted
# as "missed" with about 96,000 frames and an episode naming the cause.
# Also the truthful reports around it: the JACK client's name, the audio
# thread's policy, the latency, alsa-lib's messages kept out of the log
# unless -v, and the message latency under a flood of "set".
. tests/integration/lib.sh

stat() {	# stat KEY.PATH
	json_get "$(ctl --json stats)" "$1"
}

start_jack 64
check $? "a private JACK dummy server starts"
tone_config "$T/a.conf" "[stage.vol]
type = gain"
start_daemon "$T/a.conf"
check $? "tidepoold starts"
wait_for 10 sh -c "'$BIN/tidepoolctl' -s '$T/control.sock' --json status | grep -q '\"state\":\"running\"'"
check $? "it runs"

wait_for 10 sh -c "jack_lsp | grep -qx 'tidepoold:out_0'"
check $? "the JACK client is named tidepoold (not PortAudio)"
jack_lsp | grep -v "^system" | sed 's/^/# port: /'
sched=$(json_get "$(ctl --json status)" audio_thread)
case $sched in
SCHED_OTHER|SCHED_FIFO\ [0-9]*|SCHED_RR\ [0-9]*) check 0 "status names the audio thread's policy ($sched)" ;;
*) check 1 "status names the audio thread's policy ($sched)" ;;
esac
lat=$(sed -n 's/.*tidepoold: audio: .*, \(latency [^,]*\)$/\1/p' "$T/daemon.log")
echo "# the log says: $lat"
case $lat in
"latency unknown") check 0 "the log's latency is believable ($lat)" ;;
"latency "*" ms")
	awk -v l="${lat#latency }" 'BEGIN { exit !(l + 0 >= 0 && l + 0 < 1000) }'
	check $? "the log's latency is believable ($lat)" ;;
*) check 1 "the log's latency is believable ($lat)" ;;
esac
! grep -q "ALSA lib" "$T/daemon.log"
check $? "no alsa-lib message in the log at the default verbosity"

# 2 s stopped while recording.
expect "record starts" ctl record "$T/rec.wav"
sleep 1
# Straight from the socket, so the stop follows within milliseconds and
# the gap is read as soon as it is counted: on a loaded machine the
# server also skips tidepoold now and then, and the ring of the last 16
# episodes fills with those soon after.
python3 - "$T/control.sock" "$DAEMON_PID" >"$T/gap.out" 2>&1 <<'PY'
import json, os, signal, socket, sys, time
def stats():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
    s.sendall(b"stats\n"); r = b""
    while not r.endswith(b"\n"): r += s.recv(65536)
    return json.loads(r)
pid = int(sys.argv[2])
m0 = stats()["xruns"]["missed_frames"]
os.kill(pid, signal.SIGSTOP); time.sleep(2); os.kill(pid, signal.SIGCONT)
deadline = time.time() + 10
while time.time() < deadline:
    s = stats()
    if s["xruns"]["missed_frames"] >= m0 + 48000:
        break
    time.sleep(0.02)
gap = s["xruns"]["missed_frames"] - m0
named = any("missed" in e["causes"] for e in s["episodes"])
print("gap %d named %d" % (gap, named))
PY
sed 's/^/# /' "$T/gap.out"
gap=$(sed -n 's/^gap \([0-9]*\) .*/\1/p' "$T/gap.out")
echo "# missed frames across the 2 s stop: ${gap:-none}"
# Read within a few ms of being counted, the figure holds the stop and
# the little the server skipped meanwhile (seen: 86,000-97,000).
[ -n "$gap" ] && [ "$gap" -ge 72000 ] && [ "$gap" -le 120000 ]
check $? "about 96,000 frames missed (75-125 %: ${gap:-none})"
grep -q "named 1" "$T/gap.out"
check $? "an episode names the cause 'missed'"
m1=$(stat xruns.missed_frames)
ctl metrics >"$T/metrics.txt"
python3 - "$T/metrics.txt" "$m1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
n = int(re.search(r'^tidepool_xruns_total\{cause="missed"\} (\d+)$', text, re.M)[1])
f = int(re.search(r'^tidepool_missed_frames_total (\d+)$', text, re.M)[1])
assert n >= 1 and f >= int(sys.argv[2]), (n, f)
PY
check $? "metrics count the missed callbacks and frames"
! grep -q "reconnecting" "$T/daemon.log"
check $? "the stream carried on after the stop (no reconnect)"
expect "record stop" ctl record stop
len=$(soxi -D "$T/rec.wav" 2>/dev/null)
echo "# recording: $len s of audio over about 3.5 s of wall time"

# A flood of "set" from 4 clients: latency stays positive and bounded.
# Bounded, not fast: a message sent while a callback runs used to read
# as 18446744073709552 us; on this loaded machine the callback itself
# may wait for the CPU for most of a second.
expect "stats reset" ctl stats reset
python3 - "$T/control.sock" >"$T/flood.out" 2>&1 <<'PY'
import socket, sys, threading, time
def flood(n):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
    f = s.makefile("rb")
    for i in range(n):
        s.sendall(b"set vol.gain -%d\n" % (i % 20))
        f.readline()
threads = [threading.Thread(target=flood, args=(5000,)) for _ in range(4)]
t0 = time.time()
for t in threads: t.start()
for t in threads: t.join()
print("20000 sets in %.2f s" % (time.time() - t0))
PY
check $? "20,000 set requests from 4 clients are answered"
sed 's/^/# /' "$T/flood.out"
stats=$(ctl --json stats)
echo "# message latency us: $(json_get "$stats" messages.latency_us)"
expect "message latency: positive, max under 10 s" python3 -c '
import json, sys
l = json.loads(sys.argv[1])["messages"]["latency_us"]
assert l["count"] >= 1000, l
assert 0 < l["p50"] <= l["p999"] <= l["max"] < 1e7, l
' "$stats"
stop_daemon
check $? "SIGTERM stops it"

# alsa-lib's messages with -v, as the daemon's own lines.
"$BIN/tidepoold" -v -c "$T/a.conf" >"$T/verbose.log" 2>&1 &
DAEMON_PID=$!
wait_for 10 ctl status
check $? "tidepoold -v starts"
stop_daemon
n=$(grep -c "^tidepoold: ALSA: " "$T/verbose.log")
echo "# alsa-lib lines with -v: $n"
[ "$n" -gt 0 ] && ! grep -q "^ALSA lib" "$T/verbose.log"
check $? "with -v alsa-lib's messages go through tidepoold's log ($n)"
stop_jack
finish
