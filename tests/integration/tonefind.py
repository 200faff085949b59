#!/usr/bin/env python3
"""Finds where a sine of one frequency sounds in a recording, per channel.

    tonefind.py FILE FREQ

Splits each channel into 5 ms windows, marks those where FREQ carries most
of the window's energy (Goertzel), and prints one line per channel:

    channel C: START s, LENGTH s, FREQ Hz, PEAK dBFS

for the longest run of such windows: where it starts, how long it lasts,
the frequency measured from its zero crossings, and its peak.  With no
such run the channel's line says "none".  Used by the integration tests to
check what was played (its pitch proves the resampling, its length that
it played to its end, its presence on every channel the spread).  Plain
Python: the machines that run the tests have no numpy.
"""
import math
import struct
import subprocess
import sys


def read(path):
    """Returns (rate, [channel samples...]) as floats, through sox."""
    rate = int(subprocess.run(["soxi", "-r", path], capture_output=True,
                              check=True, text=True).stdout)
    chans = int(subprocess.run(["soxi", "-c", path], capture_output=True,
                               check=True, text=True).stdout)
    raw = subprocess.run(["sox", path, "-t", "f32", "-"],
                         capture_output=True, check=True).stdout
    x = struct.unpack("<%df" % (len(raw) // 4), raw)
    return rate, [x[c::chans] for c in range(chans)]


def share(w, coeff):
    """Part of the window's energy at the Goertzel coefficient's frequency."""
    s1 = s2 = 0.0
    for v in w:
        s1, s2 = v + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(v * v for v in w)
    return 2.0 * power / (len(w) * energy) if energy > 1e-12 else 0.0


def crossings_freq(x, rate):
    """Frequency from the count of rising zero crossings."""
    ups = [i for i in range(1, len(x)) if x[i - 1] < 0.0 <= x[i]]
    if len(ups) < 2:
        return 0.0
    return (len(ups) - 1) * rate / (ups[-1] - ups[0])


def main():
    path, freq = sys.argv[1], float(sys.argv[2])
    rate, chans = read(path)
    win = rate // 200
    coeff = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    for c, x in enumerate(chans):
        best = (0, 0)
        start = None
        n = len(x) // win
        for k in range(n + 1):
            hit = k < n and share(x[k * win:(k + 1) * win], coeff) > 0.9
            if hit and start is None:
                start = k
            elif not hit and start is not None:
                if k - start > best[1]:
                    best = (start, k - start)
                start = None
        if best[1] == 0:
            print("channel %d: none" % c)
            continue
        # The windows where the sine begins and ends hold some of what
        # sounds before and after it, so the run may miss them: take one
        # window more each side, then trim to the samples above half the
        # peak (what sounds beside the sine must be quieter than that).
        a = max(0, (best[0] - 1) * win)
        b = min(len(x), (best[0] + best[1] + 1) * win)
        seg = x[a:b]
        peak = max(abs(v) for v in seg)
        live = [i for i, v in enumerate(seg) if abs(v) > peak * 0.5]
        # A sine passes half its peak a twelfth of a period after it
        # starts and before it ends: widen by that much each side.
        twelfth = rate / freq / 12.0
        length = (live[-1] - live[0] + 2 * twelfth) / rate
        print("channel %d: %.4f s, %.4f s, %.2f Hz, %.2f dBFS" % (
            c, (a + live[0]) / rate, length,
            crossings_freq(seg[live[0]:live[-1] + 1], rate),
            20.0 * math.log10(peak)))


main()
