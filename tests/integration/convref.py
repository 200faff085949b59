#!/usr/bin/python3
"""The convolver's oracle: scipy.signal.fftconvolve in float64.

  convref.py noise OUT RATE CHANNELS SECONDS
      pink noise at -10 dBFS RMS, a different signal on each channel,
      32-bit float WAV
  convref.py ir OUT RATE TAPS CHANNELS SEED [BAND_HZ]
      a decaying noise IR (float WAV), each channel its own, its largest
      channel energy 1/4; with BAND_HZ, nothing above that frequency
  convref.py check INPUT IR OUTPUT [normalize] [gain_db] [rate]
      prints the RMS of OUTPUT minus the reference in dBFS, then the same
      relative to the reference's RMS in dB: INPUT convolved
      with IR (1 channel: each input; N: one to one; 4 on 2: true stereo,
      LL LR RL RR), normalized as the convolver does (none, peak, energy),
      times the gain, cut to INPUT's length.  With rate, the IR is first
      brought to it with scipy's resample_poly and scaled by its rate over
      rate (a reference, not soxr's bits: its bar is looser).
"""
import sys
from fractions import Fraction

import numpy as np
from scipy.io import wavfile
from scipy.signal import fftconvolve, resample_poly


def pink(n, rng):
    # Voss-McCartney would do; an FFT shaping of white noise is exact.
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=float)
    f[0] = 1
    spec /= np.sqrt(f)
    x = np.fft.irfft(spec, n)
    return x / np.sqrt(np.mean(x * x)) * 10 ** (-10 / 20)


def read(path):
    rate, x = wavfile.read(path)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    return rate, x


def main():
    cmd = sys.argv[1]
    if cmd == "noise":
        out, rate, ch, secs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        rng = np.random.default_rng(1414)
        n = int(rate * secs)
        x = np.stack([pink(n, rng) for _ in range(ch)], axis=1)
        wavfile.write(out, rate, x.astype(np.float32))
    elif cmd == "ir":
        out, rate, taps, ch, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
        rng = np.random.default_rng(seed)
        t = np.arange(taps)
        h = rng.standard_normal((taps, ch)) * np.exp(-t / (taps / 4 + 1))[:, None]
        h[0] += 1.0
        if len(sys.argv) > 7:
            spec = np.fft.rfft(h, axis=0)
            spec[np.fft.rfftfreq(taps, 1 / rate) > float(sys.argv[7])] = 0
            h = np.fft.irfft(spec, taps, axis=0)
        h /= np.sqrt(np.sum(h * h, axis=0)).max()
        wavfile.write(out, rate, (h * 0.5).astype(np.float32))
    elif cmd == "check":
        _, x = read(sys.argv[2])
        ir_rate, h = read(sys.argv[3])
        _, y = read(sys.argv[4])
        norm = sys.argv[5] if len(sys.argv) > 5 else "none"
        gain = 10 ** (float(sys.argv[6]) / 20) if len(sys.argv) > 6 else 1.0
        if len(sys.argv) > 7:
            rate = int(sys.argv[7])
            fr = Fraction(rate, ir_rate)
            h = resample_poly(h, fr.numerator, fr.denominator, axis=0) * (ir_rate / rate)
        if norm == "peak":
            h = h / np.max(np.abs(h))
        elif norm == "energy":
            h = h / np.sqrt(np.max(np.sum(h * h, axis=0)))
        n, ch = x.shape
        ref = np.zeros((n, ch))
        nir = h.shape[1]
        if nir == 4 and ch == 2:
            paths = [(0, 0, 0), (0, 1, 1), (1, 0, 2), (1, 1, 3)]
        else:
            paths = [(c, c, 0 if nir == 1 else c) for c in range(ch)]
        for i, o, k in paths:
            ref[:, o] += fftconvolve(x[:, i], h[:, k])[:n]
        ref *= gain
        assert y.shape == ref.shape, (y.shape, ref.shape)
        r = np.sqrt(np.mean((y - ref) ** 2))
        level = np.sqrt(np.mean(ref ** 2))
        print("%.1f %.1f" % (20 * np.log10(r) if r > 0 else -999.0,
                             20 * np.log10(r / level) if r > 0 else -999.0))


main()
