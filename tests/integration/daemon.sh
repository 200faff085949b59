#!/bin/sh
# tidepoold end to end on a private JACK dummy server (48 kHz, 64 frames):
# a tone through the chain, a live gain change seen in the recording,
# statistics, reload (good and broken), playback, a misbehaving client,
# and SIGTERM with the recording finished.  BIN=build/rtsan runs the same
# under RealtimeSanitizer, which aborts the daemon on any unsafe call in
# the callback.
. tests/integration/lib.sh

write_config() {	# write_config FILE GAIN [EXTRA-STAGE-TEXT]
	tone_config "$1" "[stage.vol]
type = gain
gain = $2
${3:-}
[stage.meter]
type = meter"
}

start_jack 64
check $? "a private JACK dummy server starts"
write_config "$T/a.conf" 0
start_daemon "$T/a.conf"
check $? "tidepoold starts and answers status"
# The socket answers before the stream has opened: wait for the state.
wait_for 10 state_is running
check $? "status says running (within 10 s)"
wait_for 10 callbacks_above 500
check $? "the callback runs (over 500 callbacks)"

# A live gain change must show in the recording.  Where things happen in
# the file comes from the daemon's own callback counts, read before each
# request and after its reply, so a slow machine cannot fail it: the
# recording starts between c0 and c1, the change between s0 and s1.
c0=$(callbacks)
expect "record starts" ctl record "$T/rec.wav"
c1=$(callbacks)
wait_for 60 callbacks_above $((c1 + 1125))	# 1.5 s of audio
s0=$(callbacks)
expect "set vol.gain -20" ctl set vol.gain -20
s1=$(callbacks)
wait_for 60 callbacks_above $((s1 + 1125))
c2=$(callbacks)
ctl --json record stop >"$T/stop.json"
check $? "record stop answers once the file is complete"
c3=$(callbacks)
said=$(json_get "$(cat "$T/stop.json")" frames)
got=$(soxi -s "$T/rec.wav" 2>/dev/null)
echo "# recording: $got frames in the file, $said in the reply; callbacks $c0 $c1 $c2 $c3"
[ "$got" = "$said" ]
check $? "the file holds the frames record stop reports ($got, $said)"
[ "$got" -ge $(((c2 - c1 - 1) * 64)) ] && [ "$got" -le $(((c3 - c0 + 1) * 64)) ]
check $? "and every period processed while it ran ($got frames, $(((c2 - c1 - 1) * 64)) to $(((c3 - c0 + 1) * 64)))"
# Before: from 0.1 s to the earliest the change can be; after: from the
# latest it can be and its 20 ms glide, to the end.
b_end=$(((s0 - c1 - 1) * 64))
a_start=$(((s1 + 1 - c0) * 64 + 960))
before=$(rms_db "$T/rec.wav" 4800s $((b_end - 4800))s)
after=$(rms_db "$T/rec.wav" ${a_start}s)
echo "# tone before the change: $before dBFS RMS, after: $after dBFS RMS"
awk -v x="$before" 'BEGIN { exit !(x > -24 && x < -22) }'
check $? "before the change the tone is -20 dBFS peak, -23 RMS ($before)"
awk -v x="$after" 'BEGIN { exit !(x > -44 && x < -42) }'
check $? "after set vol.gain -20 it is 20 dB lower ($after)"

stats=$(ctl --json stats)
expect "stats has every section" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
for k in ("callbacks", "callback_us", "interval_us", "load", "xruns",
          "pool", "messages", "stages", "meters", "episodes",
          "page_faults"):
    assert k in s, k
for k in ("p50", "p90", "p99", "p999", "max", "mean"):
    assert k in s["callback_us"] and k in s["load"], k
for k in ("output_underflow", "input_overflow", "late", "source_starved",
          "pool_exhausted"):
    assert k in s["xruns"], k
assert [x["name"] for x in s["stages"]] == ["vol", "meter"], s["stages"]
assert s["callbacks"] > 0 and s["callback_us"]["max"] > 0
assert s["messages"]["applied"] >= 3
assert s["pool"]["free"] == s["pool"]["blocks"] or s["pool"]["free"] > 0
' "$stats"
echo "# load p99 $(json_get "$stats" load.p99), callback p99.9 $(json_get "$stats" callback_us.p999) us, page faults after warm-up $(json_get "$stats" page_faults.after_warmup)"
pf=$(json_get "$stats" page_faults.callback_thread)
pfw=$(json_get "$stats" page_faults.after_warmup)
# /proc's minflt+majflt of the audio thread: a few at its birth at most.
# ASan and TSan fault in their own shadow memory: only counted there.
case ${BIN##*/} in
asan|tsan)
	echo "# the callback thread took $pf page faults, $pfw after warm-up (sanitizer build)" ;;
*)
	[ "$pf" -ge 0 ] && [ "$pf" -lt 1000 ] && [ "$pfw" -eq 0 ]
	check $? "the callback thread took $pf page faults, none after warm-up" ;;
esac
expect "get vol.gain reads back -20" sh -c \
    "'$BIN/tidepoolctl' -s '$T/control.sock' --json get vol.gain | grep -q '\"value\":-20'"
expect_fail "set on a missing stage is refused" ctl set nope.gain 1
expect_fail "set out of range is refused" ctl set vol.gain 999
expect_fail "set of an unknown parameter is refused" ctl set vol.freq 3
# Reset starts every count afresh: compare with what came before it.
before=$(ctl --json stats)
expect "stats reset" ctl stats reset
after=$(ctl --json stats)
expect "after stats reset the counts start again from zero" python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["messages"]["applied"] >= 3, a["messages"]
assert b["messages"]["applied"] < a["messages"]["applied"], (a["messages"], b["messages"])
# The callbacks since the reset: fewer than before it, as a few seconds
# ran before and the replies are milliseconds apart.
assert b["callbacks"] < a["callbacks"], (a["callbacks"], b["callbacks"])
# The callback-time histogram starts again too: by its count, not its max
# (one slow callback after the reset may outdo every one before it: under
# ASan on a loaded machine it did, in pass 7 of a loop).
assert b["callback_us"]["count"] < a["callback_us"]["count"], (a["callback_us"], b["callback_us"])
' "$before" "$after"
expect "human stats render, missed audio among the xruns" sh -c "'$BIN/tidepoolctl' -s '$T/control.sock' stats >'$T/stats.txt' && grep -q 'callback us' '$T/stats.txt' && grep -q 'missed [0-9]* ([0-9]* frames)' '$T/stats.txt'"
expect "metrics are Prometheus text ending in # EOF" sh -c \
    "'$BIN/tidepoolctl' -s '$T/control.sock' metrics | grep -q '^tidepool_callbacks_total [0-9]' && '$BIN/tidepoolctl' -s '$T/control.sock' metrics | tail -n 1 | grep -q '^# EOF'"
ctl metrics >"$T/metrics.txt"
python3 - "$T/metrics.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
total = int(re.search(r"^tidepool_xrun_callbacks_total (\d+)$", text, re.M)[1])
causes = [int(n) for n in re.findall(r"^tidepool_xruns_total\{cause=\"\w+\"\} (\d+)$", text, re.M)]
assert len(causes) == 7, causes
# A callback may have several causes, and counts once in the total.
assert max(causes) <= total <= sum(causes), (total, causes)
PY
check $? "metrics: xrun callbacks between the largest cause and the sum of causes"

# Reload: a changed chain, then a broken config that must change nothing.
write_config "$T/a.conf" -6 "[stage.hp]
type = highpass
freq = 40
"
expect "reload takes a changed chain" ctl reload
expect "the new chain has 3 stages and vol.gain -6" sh -c \
    "'$BIN/tidepoolctl' -s '$T/control.sock' --json chain | python3 -c 'import json,sys; s=json.load(sys.stdin)[\"stages\"]; assert len(s)==3 and s[0][\"params\"][\"gain\"]==-6, s'"
cp "$T/a.conf" "$T/good.conf"
printf '[stage.bad]\ntype = highpass\nfreq = -5\n' >>"$T/a.conf"
ctl reload >"$T/reload.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "a.conf:2[0-9]: stage.bad: freq = -5" "$T/reload.out"
check $? "a broken reload fails and names file, line and key"
sed 's/^/# /' "$T/reload.out"
n1=$(callbacks)
wait_for 10 callbacks_above "$n1"
check $? "after the broken reload the callbacks go on"
expect "with the old chain" sh -c \
    "'$BIN/tidepoolctl' -s '$T/control.sock' --json chain | grep -q '\"hp\"'"
# SIGHUP: a config with one more stage and another gain; the chain must
# become it.
write_config "$T/a.conf" -9 "[stage.lp]
type = lowpass
freq = 16000
"
kill -HUP "$DAEMON_PID"
wait_for 10 sh -c "'$BIN/tidepoolctl' -s '$T/control.sock' --json chain | python3 -c 'import json,sys; s=json.load(sys.stdin)[\"stages\"]; assert [x[\"name\"] for x in s]==[\"vol\",\"lp\",\"meter\"] and s[0][\"params\"][\"gain\"]==-9, s'"
check $? "SIGHUP reloads: the chain becomes the changed config's"
expect "and the daemon stays up" ctl status

# Playback of a file at another rate, mono: resampled and spread.  The
# recording shows it: 1000 Hz (1088 Hz unresampled) for 1.000 s (0.919
# s), on both channels.
sox -R -n -r 44100 -c 1 "$T/beep.wav" synth 1 sine 1000 gain -6 2>/dev/null
expect "record during playback" ctl record "$T/play.wav"
expect "play --once a 44.1 kHz mono file" ctl play --once "$T/beep.wav"
wait_for 10 source_is tone
check $? "after the file ends the configured tone comes back"
expect "record stop after the playback" ctl record stop
python3 tests/integration/tonefind.py "$T/play.wav" 1000 >"$T/play.out" 2>&1
sed 's/^/# /' "$T/play.out"
python3 - "$T/play.out" <<'PY'
import re, sys
rows = [re.match(r"channel (\d): ([\d.]+) s, ([\d.]+) s, ([\d.]+) Hz", l)
        for l in open(sys.argv[1])]
assert len(rows) == 2 and all(rows), rows
for r in rows:
    length, freq = float(r[3]), float(r[4])
    assert abs(length - 1.0) < 0.005, length
    assert abs(freq - 1000.0) < 2.0, freq
assert abs(float(rows[0][2]) - float(rows[1][2])) < 0.001, rows
PY
check $? "the file played whole, resampled to 1000 Hz, on both channels"

# A looping file plays until stop; status shows it all the while.
expect "play a file, looping" ctl play "$T/beep.wav"
expect "status shows the file playing" sh -c \
    "'$BIN/tidepoolctl' -s '$T/control.sock' --json status | grep -q 'beep.wav'"
c1=$(callbacks)
wait_for 60 callbacks_above $((c1 + 1125))	# 1.5 s of audio: past its end
expect "it still plays after its end: it loops" sh -c \
    "'$BIN/tidepoolctl' -s '$T/control.sock' --json status | grep -q 'beep.wav'"
expect "stop" ctl stop
wait_for 10 source_is tone
check $? "after stop the configured tone comes back"
expect_fail "play a missing file is refused" ctl play "$T/missing.wav"
# File names are UTF-8: any script, and the status shows the name as is.
cp "$T/beep.wav" "$T/Müller – 東京.wav"
expect "play a file whose name is not ASCII" ctl play \
    "$T/Müller – 東京.wav"
expect "status shows that name intact" sh -c \
    "'$BIN/tidepoolctl' -s '$T/control.sock' --json status | grep -q 'Müller – 東京.wav'"
expect "stop it" ctl stop
wait_for 10 source_is tone
check $? "and the tone comes back after it"

# A client that breaks the protocol gets an error; the daemon carries on.
python3 - "$T/control.sock" >"$T/abuse.out" 2>&1 <<'PY'
import socket, sys
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5); return s
s = conn(); s.sendall(b"\x00\xff\x01garbage\n"); r = s.recv(4096)
assert b'"ok":false' in r, r
# Read to the end: the reply's newline may come in a segment of its own
# (seen under ASan); the end of the stream is the disconnection.
s = conn(); s.sendall(b"x" * 5000); r = b""
while True:
    d = s.recv(4096)
    if not d: break
    r += d
assert r == b'{"ok":false,"error":"request longer than 4095 bytes; disconnecting"}\n', r
s = conn(); s.sendall(b"frobnicate\n"); r = s.recv(4096)
assert b"unknown command" in r, r
s = conn(); s.sendall(b"status\nstatus\n"); r = b""
while r.count(b"\n") < 2: r += s.recv(4096)
print("ok")
PY
check $? "garbage, an over-long line and an unknown command get errors"
sed 's/^/# /' "$T/abuse.out" | tail -n 5
expect "the daemon still answers" ctl status

# SIGTERM while recording: a clean stop, the file complete and valid.
expect "record again" ctl record "$T/rec2.wav"
c1=$(callbacks)
sleep 1
c2=$(callbacks)
start=$(date +%s%N)
stop_daemon
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check $rc "SIGTERM stops the daemon cleanly (exit $rc in $ms ms)"
[ $ms -lt 2000 ]
check $? "within 2 s ($ms ms)"
got=$(soxi -s "$T/rec2.wav" 2>/dev/null)
dec=$(decoded_frames "$T/rec2.wav")
echo "# cut by SIGTERM: the header says $got frames, $dec decode; callbacks $c1 $c2"
[ -n "$got" ] && [ "$got" = "$dec" ] && [ "$got" -ge $(((c2 - c1 - 1) * 64)) ]
check $? "the recording cut by SIGTERM is valid and holds every period processed while it ran ($got)"
no_sanitizer_report "$T/daemon.log"
stop_jack
finish
