#!/bin/sh
# tidepoold --list-stages prints every stage type with its parameters,
# ranges and defaults, from the same tables tidepool.conf(5) is held to
# (test_daemon_stagedoc): no JACK, no config.
. tests/integration/lib.sh

"$BIN/tidepoold" --list-stages >"$T/stages.txt" 2>&1
check $? "tidepoold --list-stages exits 0"
n=$(grep -c '^[a-z]*: ' "$T/stages.txt")
[ "$n" -ge 14 ]
check $? "it lists every type ($n)"
grep -q '^  ratio (1 to 20; 4): ' "$T/stages.txt"
check $? "with ranges and defaults: compressor ratio (1 to 20; 4)"
grep -q '^  freq (Hz, 1 to below rate/2; 1000): ' "$T/stages.txt"
check $? "and the Nyquist limit: freq (Hz, 1 to below rate/2; 1000)"
"$BIN/tidepoold" --help | grep -q -- '--list-stages'
check $? "--help mentions it"
finish
