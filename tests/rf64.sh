#!/bin/sh
# make soak, after the daemon's soak: a WAV past 4 GiB, where RIFF's 32-bit
# sizes wrap (a 2-hour 4-channel render once read back as 26 minutes).
# tidepool-render writes 4.4 GB of 8-channel float from a pipe (no input
# file: zeros, then 1 s of a tone); the output must be RF64 with the right
# counts in its ds64 chunk, and the tone must come back at its end,
# exactly, written and read back.  Not in make test: 4.4 GB of disk and
# 42 s (measured 2026-12-02 on the 2-core test machine, others busy).
# TAP.
. tests/integration/lib.sh

R="$BIN/tidepool-render"
ZEROS=4400000000	# bytes: 137,500,000 frames of 8 x 32-bit float
sox -n -r 48000 -c 8 -t f32 "$T/tone.f32" synth 1 sine 1000 gain -10
{ head -c $ZEROS /dev/zero; cat "$T/tone.f32"; } |
    "$R" -q -t raw -r 48000 --channels 8 -e floating-point --bits 32 - \
    "$T/big.wav"
check $? "tidepool-render writes 4.4 GB of WAV from a pipe"
python3 - "$T/big.wav" $(((ZEROS + 1536000) / 32)) <<'PY'
import os, struct, sys
path, frames = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    h = f.read(48)
assert h[0:4] == b"RF64" and h[8:12] == b"WAVE" and h[12:16] == b"ds64", h
riff, data, count = struct.unpack("<QQQ", h[20:44])
assert count == frames, (count, frames)
assert data == frames * 8 * 4, (data, frames)
assert riff + 8 == os.path.getsize(path), (riff, os.path.getsize(path))
print("ok: RF64, %d frames, %d bytes of audio" % (count, data))
PY
check $? "it is RF64 and its ds64 chunk counts every frame"
tail -c 1536000 "$T/big.wav" | cmp - "$T/tone.f32"
check $? "the tone written last is at the end of the file, exactly"
"$R" -q "$T/big.wav" -t raw -e floating-point --bits 32 - | tail -c 1536000 | cmp - "$T/tone.f32"
check $? "and reading the file back gives it again (all 4.4 GB decode)"
rm -f "$T/big.wav"
finish
