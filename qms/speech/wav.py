"""WAV files with the standard `wave` module: complete-file checks, joining with pauses,
silence trimming, atomic writes, and the project's own chime."""

from __future__ import annotations

import math
import os
import struct
import tempfile
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

RATE = 22050  # espeak-ng's own rate: no resampling anywhere


class FormatMismatch(ValueError):
    """Clips to be joined differ in channels, sample width or rate."""


@dataclass(frozen=True)
class Audio:
    """PCM frames and their format: (channels, sample width in bytes, rate)."""

    params: tuple[int, int, int]
    frames: bytes

    @property
    def seconds(self) -> float:
        channels, width, rate = self.params
        return len(self.frames) / (channels * width * rate)

    def describe(self) -> str:
        channels, width, rate = self.params
        return f"{rate} Hz, {8 * width}-bit, {'mono' if channels == 1 else f'{channels} ch'}"


def read(path: Path) -> Audio:
    with wave.open(str(path), "rb") as w:
        if w.getcomptype() != "NONE":
            raise FormatMismatch(f"{path}: compressed WAV, expected PCM")
        return Audio((w.getnchannels(), w.getsampwidth(), w.getframerate()),
                     w.readframes(w.getnframes()))


def is_complete(path: Path) -> bool:
    """The RIFF header is final: its sizes match the file (a writer that has not closed the
    file yet leaves zero or stale lengths behind)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return False
    if struct.unpack_from("<I", data, 4)[0] + 8 != len(data):
        return False
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, pos)
        if chunk == b"data":
            return pos + 8 + size <= len(data) and size > 0
        pos += 8 + size + (size & 1)
    return False


def silence(params: tuple[int, int, int], seconds: float) -> bytes:
    channels, width, rate = params
    return bytes(round(seconds * rate) * channels * width)


def join(pieces: list[Audio | float]) -> Audio:
    """Concatenate clips; a number between them is a pause of that many seconds."""
    clips = [p for p in pieces if isinstance(p, Audio)]
    if not clips:
        raise ValueError("nothing to join")
    params = clips[0].params
    for clip in clips[1:]:
        if clip.params != params:
            raise FormatMismatch(f"cannot join {clip.describe()} to {clips[0].describe()}")
    return Audio(params, b"".join(p.frames if isinstance(p, Audio) else silence(params, p)
                                  for p in pieces))


def convert(audio: Audio, params: tuple[int, int, int]) -> Audio:
    """The same sound in another 16-bit format: channels mixed down or copied, the rate
    changed by linear interpolation (enough for speech)."""
    if audio.params == params:
        return audio
    (c0, w0, r0), (c1, w1, r1) = audio.params, params
    if w0 != 2 or w1 != 2:
        target = Audio(params, b"").describe()
        raise FormatMismatch(f"cannot convert {audio.describe()} to {target}")
    s = array("h", audio.frames)
    mono = s if c0 == 1 else array("h", (sum(s[i:i + c0]) // c0 for i in range(0, len(s), c0)))
    if r0 != r1 and mono:
        last, step = len(mono) - 1, r0 / r1
        out = array("h")
        for j in range(int(len(mono) * r1 / r0)):
            x = j * step
            i = int(x)
            a, b = mono[i], mono[min(i + 1, last)]
            out.append(int(a + (b - a) * (x - i)))
        mono = out
    frames = mono if c1 == 1 else array("h", (v for v in mono for _ in range(c1)))
    return Audio(params, frames.tobytes())


def trim(audio: Audio, *, margin_s: float = 0.015, floor: float = 0.03) -> Audio:
    """Cut the leading and trailing silence (below ``floor`` of the clip's peak), keeping a
    small margin so that words do not start with a click. 16-bit only; others unchanged."""
    channels, width, rate = audio.params
    if width != 2 or not audio.frames:
        return audio
    samples = array("h", audio.frames)
    threshold = max(64, int(max(max(samples), -min(samples)) * floor))
    first = _first_loud(samples, threshold, range(len(samples)))
    if first is None:
        return Audio(audio.params, b"")
    last = _first_loud(samples, threshold, range(len(samples) - 1, -1, -1))
    margin = round(margin_s * rate) * channels
    start = max(0, (first - margin) // channels * channels)
    end = min(len(samples), (last + margin) // channels * channels + channels)
    return Audio(audio.params, samples[start:end].tobytes())


def _first_loud(samples, threshold, indices):
    for i in indices:
        if samples[i] > threshold or samples[i] < -threshold:
            return i
    return None


def write(path: Path, audio: Audio) -> Path:
    """Write atomically: a temporary file in the same folder, then a rename, so a reader
    never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(audio.params[0])
            w.setsampwidth(audio.params[1])
            w.setframerate(audio.params[2])
            w.writeframes(audio.frames)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# -- the chime ----------------------------------------------------------------------------

_NOTES = ((0.0, 659.25), (0.36, 523.25))  # E5 then C5: "ding-dong"
_CHIME_S = 0.9


def chime() -> Audio:
    """Two soft bell tones: a few partials under an exponential decay, a short fade-in
    against clicks and a fade to zero at the end."""
    n = round(_CHIME_S * RATE)
    out = [0.0] * n
    for start, freq in _NOTES:
        first = round(start * RATE)
        for i in range(n - first):
            t = i / RATE
            envelope = min(1.0, t / 0.008) * math.exp(-5.0 * t)
            tone = (math.sin(2 * math.pi * freq * t) + 0.35 * math.sin(4 * math.pi * freq * t)
                    + 0.12 * math.sin(6 * math.pi * freq * t))
            out[first + i] += 0.3 * envelope * tone
    fade = round(0.08 * RATE)
    for i in range(fade):
        out[n - 1 - i] *= i / fade
    samples = array("h", (max(-32767, min(32767, round(v * 32767))) for v in out))
    return Audio((1, 2, RATE), samples.tobytes())


def write_chime(path: Path) -> Path:
    """The chime played before each announcement; rewritten only when it differs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = chime()
    if path.exists():
        try:
            if read(path) == audio:
                return path
        except (OSError, EOFError, wave.Error, FormatMismatch):  # damaged: write it again
            pass
    return write(path, audio)
