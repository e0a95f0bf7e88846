"""pyttsx3 with its espeak driver (libespeak-ng through ctypes). Everything here runs on
the speech worker only (see worker.py).

How pyttsx3 2.99 behaves, read from its source and measured: ``runAndWait`` pumps the
queued commands, *starts* ``espeak_Synth`` and returns after one 10 ms sleep; libespeak-ng
synthesises on its own native thread, whose callback collects the samples, writes the WAV
(22050 Hz, 16-bit mono) when the message ends, then notifies ``finished-utterance``, clears
the busy flag and ends the loop. So a long phrase is not done when ``runAndWait`` returns:
we wait for the notification and for both engines to be idle, then check the RIFF header.

One trap: the loop's end calls ``espeak_Cancel`` whenever libespeak-ng reports itself
"playing", which it does while a rate change still sits in its command queue, or for a
moment after the previous phrase. The phrase is then reported not completed (3 phrases in
5 when voice and rate were set before each one). So voice and rate are set only when they
change, the engine is let go idle before each phrase, and a cancelled phrase is said again
once (never needed in 2,000 measured phrases, alternating voices and rates).
"""

from __future__ import annotations

import time
from pathlib import Path

from . import wav

SYNTH_TIMEOUT_S = 10.0


class Unavailable(Exception):
    """No voice can be produced; the message says why, in one line."""


def open_engine():
    """pyttsx3's espeak engine; raises if pyttsx3 or libespeak-ng is missing."""
    import pyttsx3
    from pyttsx3.drivers import espeak as driver

    # 2.99 prints "Audio saved to <file>" on stdout for every file: silence that module
    # only (the name is looked up in its globals before the builtins).
    driver.print = _quiet
    return pyttsx3.init("espeak")


def _quiet(*args, **kwargs):
    pass


class Engine:
    """One pyttsx3 engine and what we learnt about it; used by the worker only."""

    def __init__(self, engine, is_playing=None):
        if is_playing is None:
            from pyttsx3.drivers import _espeak
            is_playing = _espeak.IsPlaying
        self.engine = engine
        self._playing = is_playing
        self._finished = 0
        self._cancelled = False
        self.retries = 0  # phrases said again after a cancel, for the benchmark
        self._voice = self._rate = None  # as last set on the engine
        self._error: Exception | None = None
        self._warm: set[str] = set()
        engine.connect("finished-utterance", self._on_finished)
        engine.connect("error", self._on_error)
        self.voices = [(v.id, [str(x).lower() for x in v.languages or ()], v.name or "")
                       for v in engine.getProperty("voices")]

    # These run on libespeak-ng's own native thread: plain attribute writes only (a
    # gevent-patched Event or lock must not be touched from a foreign thread).
    def _on_finished(self, name=None, completed=True):
        if not completed:
            self._cancelled = True
        self._finished += 1

    def _on_error(self, name=None, exception=None):
        self._error = exception

    def find_voice(self, wanted: str) -> str:
        """The id of the voice asked for by id ("aav/vi"), file name ("vi"), language
        ("vi-vn-x-south") or name."""
        w = wanted.strip().lower()
        for pick in (lambda v: w in (v[0], v[0].rsplit("/", 1)[-1]),
                     lambda v: w in v[1],
                     lambda v: w == v[2].lower()):
            for voice in self.voices:
                if pick(voice):
                    return voice[0]
        raise Unavailable(f"espeak-ng has no voice {wanted!r} (see `espeak-ng --voices`; "
                          f"Vietnamese: vi, vi-vn-x-central, vi-vn-x-south)")

    def save(self, text: str, voice_id: str, rate: int, path: Path) -> Path:
        """Synthesise ``text`` into the WAV file ``path``; returns once it is complete.
        Tried again once if espeak-ng reports the phrase cancelled."""
        for _ in range(2):
            if self._save_once(text, voice_id, rate, path):
                return path
            self.retries += 1
            self._voice = self._rate = None  # the cancel may have dropped a queued setting
        raise RuntimeError(f"espeak-ng cancelled {text[:40]!r} twice")

    def _save_once(self, text, voice_id, rate, path) -> bool:
        e = self.engine
        deadline = time.monotonic() + SYNTH_TIMEOUT_S
        # Set only what changed, then let libespeak-ng apply it: a rate goes through its
        # command queue, which reads as "playing" and would cancel the phrase.
        if voice_id != self._voice:
            e.setProperty("voice", voice_id)
            self._voice = voice_id
        if rate != self._rate:
            e.setProperty("rate", rate)
            self._rate = rate
        self._until_idle(deadline, text, lambda: self._playing())
        before, self._error, self._cancelled = self._finished, None, False
        e.save_to_file(text, str(path))
        e.runAndWait()  # returns when synthesis has started, not when the file exists
        self._until_idle(deadline, text,
                         lambda: self._finished == before or e.isBusy() or self._playing())
        if self._error is not None:
            raise RuntimeError(f"pyttsx3: {self._error}")
        if self._cancelled:
            path.unlink(missing_ok=True)
            return False
        self._until_idle(deadline, text, lambda: not wav.is_complete(path))
        return True

    def _until_idle(self, deadline, text, busy):
        while busy():
            if time.monotonic() > deadline:
                self.engine.stop()
                raise TimeoutError(f"espeak-ng did not finish {text[:40]!r} in "
                                   f"{SYNTH_TIMEOUT_S:.0f} s")
            time.sleep(0.002)

    def warm_up(self, voice_id: str, rate: int, folder: Path) -> None:
        """Say one word once per voice: proves synthesis works and loads the voice data
        before the first call."""
        if voice_id in self._warm:
            return
        probe = folder / f".probe-{voice_id.replace('/', '_')}.tmp.wav"
        try:
            self.save("a", voice_id, rate, probe)
        finally:
            probe.unlink(missing_ok=True)
        self._warm.add(voice_id)


_engines: dict = {}  # opener -> Engine or the exception it raised


def engine(opener=None) -> Engine:
    """The engine made by ``opener`` (default `open_engine`), opened once per process.
    Call on the worker only."""
    opener = opener or open_engine
    if opener not in _engines:
        try:
            _engines[opener] = Engine(opener())
        except Exception as exc:  # ImportError, OSError, RuntimeError from the driver
            _engines[opener] = exc
    state = _engines[opener]
    if isinstance(state, Exception):
        raise Unavailable(f"pyttsx3 cannot drive espeak-ng: {type(state).__name__}: "
                          f"{state}".splitlines()[0])
    return state
