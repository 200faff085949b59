#!/bin/sh
# RealtimeSanitizer proves the callback never allocates, locks or blocks:
# the daemon built with -fsanitize=realtime runs the whole daemon test with
# zero reports, and a build with one malloc planted in the callback must be
# caught, which shows the check can fail.
. tests/integration/lib.sh

BIN=build/rtsan sh tests/integration/daemon.sh >"$T/rtsan-daemon.tap" 2>&1
rc=$?
sed 's/^/# /' "$T/rtsan-daemon.tap" | grep -v "^# ok" | head -n 40
check $rc "the daemon test passes under RealtimeSanitizer with no report"

# The non-finite guard runs in the callback on every block.
BIN=build/rtsan sh tests/integration/nonfinite.sh >"$T/rtsan-nonfinite.tap" 2>&1
rc=$?
sed 's/^/# /' "$T/rtsan-nonfinite.tap" | grep -v "^# ok" | head -n 40
check $rc "the non-finite test passes under RealtimeSanitizer with no report"

# The convolver executes FFTW plans in the callback.
BIN=build/rtsan sh tests/integration/convolver.sh >"$T/rtsan-conv.tap" 2>&1
rc=$?
sed 's/^/# /' "$T/rtsan-conv.tap" | grep -v "^# ok" | head -n 40
check $rc "the convolver test passes under RealtimeSanitizer with no report"

# A reload's catching up runs the new chain in the callback on frames
# from the input ring before it crossfades.
BIN=build/rtsan sh tests/integration/reloadwarm.sh >"$T/rtsan-warm.tap" 2>&1
rc=$?
sed 's/^/# /' "$T/rtsan-warm.tap" | grep -v "^# ok" | head -n 40
check $rc "the reload warm-up test passes under RealtimeSanitizer with no report"

# The compile-time half: clang's -Wfunction-effects refuses the planted
# malloc in a function marked TP_REALTIME.
clang-22 -std=c11 -D_GNU_SOURCE -I. $(pkg-config --cflags ck) \
    -DTP_PLANT_MALLOC_IN_CALLBACK -Wfunction-effects -Werror -fsyntax-only \
    daemon/engine.c >"$T/effects.log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "must not call non-'nonblocking' function 'malloc'" \
    "$T/effects.log"
check $? "clang's -Wfunction-effects rejects a malloc planted in the callback"

BIN=build/rtsan-planted
start_jack 64
tone_config "$T/p.conf" "[stage.vol]
type = gain"
"$BIN/tidepoold" -c "$T/p.conf" >"$T/planted.log" 2>&1 &
pid=$!
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
dead=$?
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
check $dead "the planted malloc kills the daemon"
grep -q "RealtimeSanitizer" "$T/planted.log" &&
    grep -q "malloc" "$T/planted.log" &&
    grep -q "engine_process" "$T/planted.log"
check $? "RealtimeSanitizer reports malloc in engine_process"
grep -A8 "RealtimeSanitizer" "$T/planted.log" | head -n 12 | sed 's/^/# /'
stop_jack
finish
