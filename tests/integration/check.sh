#!/bin/sh
# --help, --version and --check on the three programs: GNU style (help on
# stdout, exit 0), one version everywhere, every shipped and example config
# checked and broken ones refused with the error and exit 1; the wrong-
# section hint; and make install and the unit's reload refusing a broken
# config.
. tests/integration/lib.sh

version=$(sed -n 's/^#define TIDEPOOL_VERSION "\(.*\)"$/\1/p' daemon/version.h)
for p in tidepoold tidepoolctl tidepool-render; do
	out=$("$BIN/$p" --version 2>/dev/null)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = "$p (tidepool) $version" ]
	check $? "$p --version: '$out' (exit $rc)"
	"$BIN/$p" --help >"$T/help.out" 2>"$T/help.err"
	rc=$?
	[ $rc -eq 0 ] && grep -q "^usage: $p" "$T/help.out" && [ ! -s "$T/help.err" ]
	check $? "$p --help: usage on stdout, nothing on stderr, exit 0 ($rc)"
	"$BIN/$p" --no-such-option >/dev/null 2>"$T/help.err"
	rc=$?
	[ $rc -eq 2 ] && grep -q "usage: $p" "$T/help.err"
	check $? "$p with an unknown option: usage on stderr, exit 2 ($rc)"
done

for f in config/tidepool.conf config/examples/*.conf; do
	"$BIN/tidepoold" --check -c "$f" >"$T/check.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -q "^chain: " "$T/check.out" &&
	    grep -q "^$f: ok" "$T/check.out"
	check $? "tidepoold --check -c $f: ok (exit $rc)"
	"$BIN/tidepool-render" --check -c "$f" >"$T/check.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -q "^chain: " "$T/check.out"
	check $? "tidepool-render --check -c $f: ok (exit $rc)"
done
"$BIN/tidepoold" --check -c config/tidepool.conf >"$T/check.out"
grep -q "^chain: 5 stages, 2 -> 2 channels at 48000 Hz, latency 240 frames" \
    "$T/check.out" && grep -q "limit  *limiter .*latency 240 frames" \
    "$T/check.out"
check $? "--check prints the stages, channels and latency (the limiter's 240 frames)"
"$BIN/tidepool-render" --check -c config/examples/crossover.conf -r 44100 \
    --channels 2 >"$T/check.out" 2>&1
grep -q "^chain: 8 stages, 2 -> 4 channels at 44100 Hz" "$T/check.out"
check $? "tidepool-render --check takes the rate and channels to check for"

# bad_check NAME WANT: FILE=$T/NAME.conf must be refused with WANT.
bad_check() {
	for p in tidepoold tidepool-render; do
		"$BIN/$p" --check -c "$T/$1.conf" >"$T/check.out" 2>&1
		rc=$?
		[ $rc -eq 1 ] && grep -q -- "$2" "$T/check.out" &&
		    ! grep -q ": ok" "$T/check.out"
		check $? "$p --check refuses $1.conf: '$2' (exit $rc)"
		[ $rc -eq 1 ] || sed 's/^/# /' "$T/check.out"
	done
}
printf '[engine]\nrate = 7\n' >"$T/range.conf"
bad_check range "range.conf:2: engine: rate = 7: must be between"
printf '[stage.x]\ntype = flanger\n' >"$T/type.conf"
bad_check type "type.conf:2: stage.x: type = flanger: unknown type"
printf '[stage.hp]\ntype = highpass\nfreq = 80\nperiod = 64\n' \
    >"$T/stage.conf"
bad_check stage "stage.conf:4: stage.hp: period = 64: belongs in \[engine\]"
printf '[control]\nblocks = 64\n' >"$T/fixed.conf"
bad_check fixed "fixed.conf:2: control: blocks: belongs in \[pool\]"
printf '[stage.m]\ntype = mixer\n' >"$T/mixer.conf"
bad_check mixer "stage.m: a mixer needs matrix"
"$BIN/tidepoold" --check -c "$T/none.conf" >"$T/check.out" 2>&1
[ $? -eq 1 ] && grep -q "none.conf: cannot open" "$T/check.out"
check $? "tidepoold --check on a missing file: the error, exit 1"
"$BIN/tidepool-render" --check >/dev/null 2>"$T/check.out"
[ $? -eq 2 ] && grep -q "needs -c CONFIG" "$T/check.out"
check $? "tidepool-render --check without -c: usage error"

# The unit checks before it signals; make install checks what it leaves.
grep -q "^ExecReload=/usr/local/bin/tidepoold --check -c /etc/tidepool/tidepool.conf\$" \
    systemd/tidepoold.service &&
    [ "$(grep '^ExecReload=' systemd/tidepoold.service | tail -n 1)" = \
    'ExecReload=/bin/kill -HUP $MAINPID' ]
check $? "the unit's ExecReload= runs --check before SIGHUP"
P=$T/prefix
mkdir -p "$P/etc/tidepool"
printf '[stage.x]\ntype = gain\nperiod = 64\n' >"$P/etc/tidepool/tidepool.conf"
make -s install PREFIX="$P" SYSCONFDIR="$P/etc" >"$T/install.log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "belongs in \[engine\]" "$T/install.log"
check $? "make install refuses to leave a broken config in place (exit $rc)"
cp config/tidepool.conf "$P/etc/tidepool/tidepool.conf"
make -s install PREFIX="$P" SYSCONFDIR="$P/etc" >"$T/install.log" 2>&1
check $? "and installs once it is fixed"
grep -q "^ExecReload=$P/bin/tidepoold --check -c $P/etc/tidepool/tidepool.conf\$" \
    "$P/lib/systemd/system/tidepoold.service"
check $? "the installed unit checks the installed config with the installed daemon"

finish
