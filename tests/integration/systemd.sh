#!/bin/sh
# The service as installed: make install into a private prefix and into a
# DESTDIR, systemd-analyze verify and security on the installed unit, the
# sysusers entry, and the man pages rendered with every warning on.
. tests/integration/lib.sh

# A self-contained prefix, so the unit's ExecStart= exists for verify.
P=$T/prefix
make -s install PREFIX="$P" SYSCONFDIR="$P/etc" >"$T/install.log" 2>&1
check $? "make install PREFIX=... SYSCONFDIR=... works"
unit=$P/lib/systemd/system/tidepoold.service
grep -q "^ExecStart=$P/bin/tidepoold -c $P/etc/tidepool/tidepool.conf\$" "$unit"
check $? "the installed unit runs the installed daemon with the installed config"

# verify also runs man for Documentation=: point it at our pages.
MANPATH=$P/share/man systemd-analyze verify "$unit" >"$T/verify.out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ ! -s "$T/verify.out" ]
check $? "systemd-analyze verify is clean (exit $rc)"
sed 's/^/# /' "$T/verify.out"

systemd-analyze security --offline=true "$unit" >"$T/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for tidepoold.service: \([0-9.]*\).*/\1/p' "$T/security.out")
echo "# systemd-analyze security --offline=true: $score"
[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
check $? "systemd-analyze security scores the unit 2.0 or lower ($score)"
# Every key is looked for, and every missing one named.
missing=
for k in "Type=notify" "WatchdogSec=" "Restart=on-failure" "User=tidepool" \
    "RuntimeDirectory=tidepool" "RuntimeDirectoryMode=0750" "LimitRTPRIO=" \
    "LimitMEMLOCK=" "RestrictRealtime=no" "SystemCallFilter=@system-service"; do
	grep -q "^$k" "$unit" || missing="$missing $k"
done
[ -z "$missing" ]
check $? "the unit has notify, watchdog, restart, its user, runtime dir, limits, filters${missing:+ (missing:$missing)}"

# The metrics listener's allowance and no more: loopback IP only, and
# the two IP families beside Unix sockets.
grep -qx "IPAddressDeny=any" "$unit" && grep -qx "IPAddressAllow=localhost" "$unit" &&
    [ "$(grep -c '^IPAddressAllow=' "$unit")" = 1 ] &&
    grep -qx "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" "$unit"
check $? "IP is allowed to and from localhost only, and the address families are Unix, IPv4, IPv6"

systemd-sysusers --dry-run "$P/lib/sysusers.d/tidepool.conf" \
    >"$T/sysusers.out" 2>&1
check $? "systemd-sysusers accepts the sysusers entry"
grep -q "tidepool" "$T/sysusers.out" && sed 's/^/# /' "$T/sysusers.out" | head -n 3

# The packager's way: PREFIX=/usr under a DESTDIR.
D=$T/root
make -s install DESTDIR="$D" PREFIX=/usr >>"$T/install.log" 2>&1
check $? "make install DESTDIR=... PREFIX=/usr works"
missing=
for f in usr/bin/tidepoold usr/bin/tidepoolctl usr/bin/tidepool-render \
    etc/tidepool/tidepool.conf usr/lib/systemd/system/tidepoold.service \
    usr/lib/sysusers.d/tidepool.conf usr/lib/tmpfiles.d/tidepool.conf \
    usr/share/man/man8/tidepoold.8 usr/share/man/man1/tidepoolctl.1 \
    usr/share/man/man1/tidepool-render.1 usr/share/man/man5/tidepool.conf.5 \
    usr/share/doc/tidepool/examples/crossover.conf; do
	[ -f "$D/$f" ] || missing="$missing $f"
done
[ -z "$missing" ]
check $? "every file is in the DESTDIR tree${missing:+ (missing:$missing)}"
grep -q "^ExecStart=/usr/bin/tidepoold -c /etc/tidepool/tidepool.conf\$" \
    "$D/usr/lib/systemd/system/tidepoold.service"
check $? "and its unit names /usr/bin and /etc, not the DESTDIR"
echo "# a local edit" >>"$D/etc/tidepool/tidepool.conf"
make -s install DESTDIR="$D" PREFIX=/usr >>"$T/install.log" 2>&1
grep -q "a local edit" "$D/etc/tidepool/tidepool.conf"
check $? "installing again keeps an edited config"

for page in daemon/tidepoold.8 daemon/tidepoolctl.1 daemon/tidepool-render.1 \
    config/tidepool.conf.5; do
	out=$( { groff -man -ww -z "$page"; LC_ALL=C.UTF-8 MANWIDTH=80 \
	    man --warnings -l "$page" >/dev/null; } 2>&1)
	[ -z "$out" ]
	check $? "man page $page renders without a warning"
	[ -n "$out" ] && echo "$out" | sed 's/^/# /' | head -n 5
done
finish
