"""Spoken announcements: WAV files voiced off the request path and cached by their words.

    speech = Speech(cfg["speech"], audio_dir=data_dir / "audio", pack_dir=...)
    key = speech.request(announcement_parts(number, counter, cfg["speech"]))  # at the call
    path = speech.wait(key, timeout=10)                          # GET /audio/<key>.wav

Engines: ``espeak`` (pyttsx3 driving libespeak-ng, one phrase per part), ``voice_pack``
(clips joined, see pack.py and docs/voice-pack.md) and ``none``. Without a voice,
``available`` is False, ``reason`` says why, and ``request`` returns None: the displays
still chime and show the subtitles.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from pathlib import Path

from . import espeak, pack, wav, worker
from .espeak import Unavailable
from .pack import make_voice_pack
from .wav import write_chime

__all__ = ["Speech", "Unavailable", "make_voice_pack", "write_chime"]

log = logging.getLogger("qms.speech")
KEY = re.compile(r"[0-9a-f]{32}")
PART_PAUSE_S = 0.6     # between the repeats, and before the English phrase
CACHE_HOURS = 24       # a cached call older than this is deleted (about 100-300 KB each)
PRUNE_EVERY = 200      # syntheses between two clean-ups of the cache folder
RENDERING = 1          # bump when the sound of a text changes, so old files are not reused


class _Job:
    """One WAV being made; waiters block on ``done``."""

    __slots__ = ("done", "ok")

    def __init__(self):
        self.done = threading.Event()
        self.ok = False


class Speech:
    """The voice of the calls. ``request`` never blocks; synthesis runs on the process's
    single speech worker; ``wait`` blocks (thread or greenlet) until the file exists."""

    def __init__(self, speech_cfg: dict, *, audio_dir: Path, pack_dir: Path | None = None):
        self.cfg = dict(speech_cfg)
        self.audio_dir = Path(audio_dir)
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        self.pack_dir = Path(pack_dir) if pack_dir else None
        self.available, self.reason = False, ""
        self.synthesised = 0  # WAV files made (cache misses), for tests and benchmarks
        self._jobs: dict[str, _Job] = {}  # queued or failed; done ones are on disk
        self._lock = threading.Lock()
        self._closed = False
        self._pack: pack.Pack | None = None
        self._voices: dict[str, str] = {}  # language -> espeak voice id
        self._stamp = ""
        self._worker = worker.shared()
        try:
            self._open()
            self.available = True
        except Unavailable as exc:
            self.reason = str(exc)
        except Exception as exc:  # whatever an engine does, the server starts without voice
            self.reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        self._worker.submit(self._prune)

    def _open(self):
        engine = self.cfg["engine"]
        if engine == "none":
            raise Unavailable("speech.engine is none")
        if engine == "espeak":
            self._voices = self._worker.call(self._probe, ("vi", "en") if self.cfg["english"]
                                             else ("vi",))
            return
        if self.pack_dir is None:
            raise Unavailable("speech.engine is voice_pack but no pack folder was given")
        if not self.cfg["voice_pack"]:  # the default pack lives in data_dir: ours to make
            pack.ensure_default_pack(self.cfg, self.pack_dir)
        self._pack = pack.Pack(self.pack_dir)
        self._pack.check(self.cfg)
        self._stamp = self._pack.fingerprint
        if self.cfg["english"]:
            try:
                self._voices = self._worker.call(self._probe, ("en",))
            except Exception as exc:  # Vietnamese from the pack still works
                log.warning("the English phrase will be shown, not spoken: %s", exc)

    def _probe(self, languages):
        """On the worker: the espeak voice ids, each proven by saying one word."""
        eng = espeak.engine()
        wanted = {"vi": self.cfg["voice"], "en": "en"}
        voices = {lang: eng.find_voice(wanted[lang]) for lang in languages}
        for voice in voices.values():
            eng.warm_up(voice, self.cfg["rate"], worker.scratch())
        return voices

    # -- the interface ------------------------------------------------------------------

    def key(self, parts: list[tuple[str, str]]) -> str:
        """Digest of everything that changes the sound: engine, voice, rate, clips, words."""
        blob = json.dumps([RENDERING, self.cfg["engine"], self.cfg["voice"], self.cfg["rate"],
                           self._stamp, [list(p) for p in parts]], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.audio_dir / f"{key}.wav"

    def request(self, parts: list[tuple[str, str]]) -> str | None:
        """The key of the WAV saying ``parts``; queues its synthesis unless it is cached on
        disk or already queued. None without a voice. Never blocks."""
        if not self.available or self._closed or not parts:
            return None
        key = self.key(parts)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.done.is_set():
                return key
            if self.path(key).exists():
                return key
            job = self._jobs[key] = _Job()
        self._worker.submit(self._make, key, list(parts), job)
        return key

    def wait(self, key: str, timeout: float) -> Path | None:
        """The WAV of ``key`` once it exists, waiting up to ``timeout`` seconds; None if the
        key is unknown, its synthesis failed, or time ran out."""
        if not isinstance(key, str) or not KEY.fullmatch(key):
            return None
        with self._lock:
            job = self._jobs.get(key)
        path = self.path(key)
        if job is None:
            return path if path.exists() else None
        job.done.wait(timeout)
        return path if job.ok else None

    def close(self, timeout: float = 15.0):
        """Stop taking requests; queued jobs are dropped and their waiters get None. Then
        wait (up to ``timeout``) for the phrase being voiced, so the audio folder can go."""
        self._closed = True
        with self._lock:
            for job in self._jobs.values():
                job.done.set()
        try:
            self._worker.call(lambda: None, timeout=timeout)
        except TimeoutError:
            log.warning("the speech worker is still busy after %.0f s", timeout)

    # -- on the worker ------------------------------------------------------------------

    def _make(self, key, parts, job):
        try:
            if self._closed:
                return
            path = self.path(key)
            if not path.exists():
                wav.write(path, self._render(key, parts))
                self.synthesised += 1
                if self.synthesised % PRUNE_EVERY == 0:
                    self._prune()
            job.ok = True
        except Exception:  # logged; the call goes on with the chime and subtitles
            log.exception("could not voice %r", parts[0][1])
        finally:
            with self._lock:
                if job.ok and self._jobs.get(key) is job:
                    del self._jobs[key]
            job.done.set()

    def _render(self, key, parts) -> wav.Audio:
        """Each distinct part voiced once, the parts joined with a pause between them."""
        said: dict[tuple[str, str], wav.Audio | None] = {}
        pieces: list[wav.Audio | float] = []
        for lang, text in parts:
            if (lang, text) not in said:
                said[lang, text] = self._say(key, lang, text)
            audio = said[lang, text]
            if audio is None:
                continue
            if pieces:
                audio = wav.convert(audio, pieces[0].params)
                pieces.append(PART_PAUSE_S)
            pieces.append(audio)
        return wav.join(pieces)

    def _say(self, key, lang, text) -> wav.Audio | None:
        if lang == "vi" and self._pack is not None:
            return self._pack.voice(text)
        voice = self._voices.get(lang)
        if voice is None:  # English with a voice pack but no espeak-ng: subtitles only
            return None
        tmp = worker.scratch() / f"{key}.{lang}.wav"
        try:
            espeak.engine().save(text, voice, self.cfg["rate"], tmp)
            return wav.trim(wav.read(tmp))  # espeak ends on ~0.4 s of silence
        finally:
            tmp.unlink(missing_ok=True)

    def _prune(self, tmp_age_s: float = 60.0):
        """Delete cached calls older than CACHE_HOURS and temporary files left behind (a
        minute old: another server process may share the folder)."""
        now = time.time()
        try:
            entries = list(os.scandir(self.audio_dir))
        except OSError:
            return
        for entry in entries:
            name = entry.name
            if name.startswith(".") and ".tmp" in name:
                max_age = tmp_age_s
            elif name.endswith(".wav") and KEY.fullmatch(name[:-4]):
                max_age = CACHE_HOURS * 3600
            else:
                continue  # chime.wav and anything else is not ours to delete
            try:
                if now - entry.stat().st_mtime > max_age:
                    os.unlink(entry.path)
            except OSError:
                pass
