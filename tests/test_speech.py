"""The voice of the calls: real WAV files from espeak-ng (through pyttsx3) and from voice
packs, the cache, the chime, and every way of having no voice without breaking a call."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
import wave
from array import array
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import ROOT, SMALL
from qms import settings
from qms.domain.announcement import announcement_parts
from qms.speech import Speech, espeak, make_voice_pack, pack, wav, write_chime

CALLS = [("A015", 12), ("B001", 21), ("ĐY120", 25), ("PA007", 105), ("LX009", 15)]


@pytest.fixture
def speech_cfg():
    """The default speech settings, as validated."""
    return settings.validate(copy.deepcopy(SMALL))["speech"]


def cfg_with(speech_cfg, **changes):
    return {**speech_cfg, **changes}


def voiced(speech, number, counter, cfg=None):
    """Request the call and wait for its WAV; returns (key, path)."""
    key = speech.request(announcement_parts(number, counter, cfg or speech.cfg))
    assert key is not None, speech.reason
    path = speech.wait(key, timeout=10)
    assert path is not None
    return key, path


def duration(path):
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def peak(path):
    with wave.open(str(path)) as w:
        samples = array("h", w.readframes(w.getnframes()))
    return max(max(samples), -min(samples))


# -- the words ----------------------------------------------------------------------------

@pytest.mark.parametrize("number, counter, linker, words", [
    ("A015", 12, "lẻ", "Mời công dân có số thứ tự a, không, một, năm, đến quầy số mười hai"),
    ("B001", 21, "lẻ", "Mời công dân có số thứ tự bê, không, không, một, đến quầy số "
                       "hai mươi mốt"),
    ("ĐY120", 25, "lẻ", "Mời công dân có số thứ tự đê, i dài, một, hai, không, đến quầy số "
                        "hai mươi lăm"),
    ("PA007", 105, "lẻ", "Mời công dân có số thứ tự pê, a, không, không, bảy, đến quầy số "
                         "một trăm lẻ năm"),
    ("PA007", 105, "linh", "Mời công dân có số thứ tự pê, a, không, không, bảy, đến quầy số "
                           "một trăm linh năm"),
    ("C100", 10, "lẻ", "Mời công dân có số thứ tự xê, một, không, không, đến quầy số mười"),
    ("LX009", 15, "lẻ", "Mời công dân có số thứ tự e-lờ, ích-xì, không, không, chín, "
                        "đến quầy số mười lăm"),
])
def test_the_words_of_a_call_are_said_as_vietnamese_speakers_say_them(
        speech_cfg, number, counter, linker, words):
    parts = announcement_parts(number, counter, cfg_with(speech_cfg, hundreds_linker=linker))
    assert parts == [("vi", words)]


# -- espeak-ng through pyttsx3 ------------------------------------------------------------

@pytest.mark.parametrize("number, counter", CALLS)
def test_a_call_becomes_a_complete_16_bit_wav_of_a_sensible_length(
        tmp_path, speech_cfg, number, counter):
    speech = Speech(speech_cfg, audio_dir=tmp_path)
    key, path = voiced(speech, number, counter)
    assert path == tmp_path / f"{key}.wav" and len(key) == 32
    assert wav.is_complete(path)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
    assert 2 <= duration(path) <= 12
    assert peak(path) > 3000


def test_repeating_the_phrase_doubles_it_and_english_adds_to_it(tmp_path, speech_cfg):
    once = duration(voiced(Speech(speech_cfg, audio_dir=tmp_path), "A015", 12)[1])
    twice_cfg = cfg_with(speech_cfg, repeat=2)
    twice = duration(voiced(Speech(twice_cfg, audio_dir=tmp_path), "A015", 12)[1])
    both_cfg = cfg_with(speech_cfg, repeat=2, english=True)
    both = duration(voiced(Speech(both_cfg, audio_dir=tmp_path), "A015", 12)[1])
    assert twice == pytest.approx(2 * once + 0.6, abs=0.05)
    assert both > twice + 2


def test_the_same_words_again_are_served_from_disk_without_synthesis(tmp_path, speech_cfg):
    speech = Speech(speech_cfg, audio_dir=tmp_path)
    key, path = voiced(speech, "A015", 12)
    made, mtime = speech.synthesised, path.stat().st_mtime_ns
    assert voiced(speech, "A015", 12) == (key, path)
    restarted = Speech(speech_cfg, audio_dir=tmp_path)
    assert voiced(restarted, "A015", 12) == (key, path)
    assert (speech.synthesised, restarted.synthesised) == (made, 0)
    assert path.stat().st_mtime_ns == mtime


def test_other_words_voice_or_rate_give_another_file(tmp_path, speech_cfg):
    speech = Speech(speech_cfg, audio_dir=tmp_path)
    faster = Speech(cfg_with(speech_cfg, rate=200), audio_dir=tmp_path)
    keys = {voiced(speech, "A015", 12)[0], voiced(speech, "A015", 13)[0],
            voiced(faster, "A015", 12)[0]}
    assert len(keys) == 3


def test_calls_requested_from_several_threads_all_finish_complete(tmp_path, speech_cfg):
    speech = Speech(speech_cfg, audio_dir=tmp_path)
    results, errors = {}, []

    def officer(i):
        try:
            for j in range(3):
                results[i, j] = voiced(speech, f"A{i}{j}{i}", 10 + i)[1]
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
    threads = [threading.Thread(target=officer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(results) == 18 and len(set(results.values())) == 18
    assert all(wav.is_complete(p) and 2 <= duration(p) <= 12 for p in results.values())
    assert speech.synthesised == 18


def test_requests_are_queued_not_voiced_on_the_callers_thread(tmp_path, speech_cfg):
    speech = Speech(speech_cfg, audio_dir=tmp_path)
    t = time.perf_counter()
    keys = [speech.request(announcement_parts(f"A{i:03d}", 7, speech_cfg)) for i in range(10)]
    asked = time.perf_counter() - t
    assert all(speech.wait(k, 10) for k in keys)
    voiced_in = time.perf_counter() - t
    assert asked < 0.075 < voiced_in


@pytest.mark.parametrize("key", ["0" * 32, "../../etc/passwd", "ABC", "", None])
def test_waiting_for_an_unknown_or_malformed_key_returns_none_at_once(
        tmp_path, speech_cfg, key):
    speech = Speech(speech_cfg, audio_dir=tmp_path)
    t = time.perf_counter()
    assert speech.wait(key, timeout=5) is None
    assert time.perf_counter() - t < 0.5


def test_speech_works_under_gevent_monkey_patching_without_stalling_the_loop(tmp_path):
    script = """
import json, sys, time
from gevent import monkey; monkey.patch_all()
import gevent
from qms import settings
from qms.domain.announcement import announcement_parts
from qms.speech import Speech, wav
cfg = settings.load(sys.argv[1])["speech"]
speech = Speech(cfg, audio_dir=sys.argv[2])
ticks = []
def tick():
    while True:
        ticks.append(time.monotonic()); gevent.sleep(0.005)
ticker = gevent.spawn(tick)
def call(i):
    key = speech.request(announcement_parts(f"A{i:03d}", 10 + i, cfg))
    path = speech.wait(key, 10)
    return bool(path) and wav.is_complete(path)
jobs = [gevent.spawn(call, i) for i in range(8)]
gevent.joinall(jobs, timeout=30)
ticker.kill()
gaps = [b - a for a, b in zip(ticks, ticks[1:])]
print(json.dumps({"ok": [j.value for j in jobs], "max_gap": max(gaps), "reason": speech.reason}))
"""
    out = subprocess.run([sys.executable, "-c", script, str(ROOT / "config.yaml"),
                          str(tmp_path)], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["ok"] == [True] * 8, result
    assert result["max_gap"] < 0.1


class LateFakeEngine:
    """pyttsx3's espeak contract: runAndWait returns at once; the WAV file and then the
    finished-utterance notification come later, from another thread."""

    def __init__(self, cancel_first=False):
        self.callbacks, self.busy, self.said = {}, False, []
        self.cancel_first = cancel_first

    def connect(self, topic, cb):
        self.callbacks.setdefault(topic, []).append(cb)

    def getProperty(self, name):
        return [SimpleNamespace(id="aav/vi", languages=["vi"], name="Vietnamese (Northern)")]

    def setProperty(self, name, value):
        pass

    def save_to_file(self, text, path):
        self.job = (text, Path(path))

    def isBusy(self):
        return self.busy

    def stop(self):
        pass

    def runAndWait(self):
        self.busy = True
        text, path = self.job
        completed = not (self.cancel_first and not self.said)
        self.said.append(text)

        def later():
            time.sleep(0.05)
            wav.write(path, wav.chime())
            for cb in self.callbacks["finished-utterance"]:
                cb(name=None, completed=completed)
            self.busy = False
        threading.Thread(target=later).start()


def test_a_phrase_is_ready_only_once_the_engine_has_written_and_reported_it(tmp_path):
    engine = espeak.Engine(LateFakeEngine(), is_playing=lambda: False)
    t = time.perf_counter()
    path = engine.save("một", "aav/vi", 140, tmp_path / "x.wav")
    assert time.perf_counter() - t >= 0.05 and wav.is_complete(path)


def test_a_phrase_espeak_reports_cancelled_is_said_again_once(tmp_path):
    fake = LateFakeEngine(cancel_first=True)
    engine = espeak.Engine(fake, is_playing=lambda: False)
    assert wav.is_complete(engine.save("một", "aav/vi", 140, tmp_path / "x.wav"))
    assert (fake.said, engine.retries) == (["một", "một"], 1)


# -- no voice, and nothing raised --------------------------------------------------------

def test_engine_none_has_no_voice_and_requests_return_none(tmp_path, speech_cfg):
    speech = Speech(cfg_with(speech_cfg, engine="none"), audio_dir=tmp_path)
    assert (speech.available, speech.reason) == (False, "speech.engine is none")
    assert speech.request(announcement_parts("A015", 12, speech_cfg)) is None


def test_an_unknown_espeak_voice_leaves_speech_unavailable_and_says_why(tmp_path, speech_cfg):
    speech = Speech(cfg_with(speech_cfg, voice="vi-x-nowhere"), audio_dir=tmp_path)
    assert not speech.available
    assert "no voice 'vi-x-nowhere'" in speech.reason
    assert speech.request(announcement_parts("A015", 12, speech_cfg)) is None


def test_pyttsx3_unable_to_start_leaves_speech_unavailable_without_raising(
        tmp_path, speech_cfg, monkeypatch):
    def missing_library():
        raise OSError("libespeak-ng.so.1: cannot open shared object file")
    monkeypatch.setattr(espeak, "open_engine", missing_library)
    speech = Speech(speech_cfg, audio_dir=tmp_path)
    assert not speech.available
    assert speech.reason == ("pyttsx3 cannot drive espeak-ng: OSError: libespeak-ng.so.1: "
                             "cannot open shared object file")
    assert speech.request(announcement_parts("A015", 12, speech_cfg)) is None


def test_without_espeak_ng_the_default_pack_cannot_be_made_and_says_why(
        tmp_path, speech_cfg, monkeypatch):
    monkeypatch.setattr(pack.shutil, "which", lambda name: None)
    speech = Speech(cfg_with(speech_cfg, engine="voice_pack"), audio_dir=tmp_path / "audio",
                    pack_dir=tmp_path / "voice_pack")
    assert not speech.available
    assert "espeak-ng is not installed" in speech.reason


def test_a_recorded_pack_that_is_missing_is_reported_and_never_created(tmp_path, speech_cfg):
    folder = tmp_path / "recorded"
    speech = Speech(cfg_with(speech_cfg, engine="voice_pack", voice_pack="recorded"),
                    audio_dir=tmp_path / "audio", pack_dir=folder)
    assert not speech.available
    assert speech.reason == f"voice pack folder {folder} does not exist"
    assert not folder.exists()


def test_closing_stops_requests(tmp_path, speech_cfg):
    speech = Speech(speech_cfg, audio_dir=tmp_path)
    speech.close()
    assert speech.request(announcement_parts("A015", 12, speech_cfg)) is None


def test_an_audio_folder_removed_mid_phrase_loses_that_file_only(tmp_path, speech_cfg):
    """libespeak-ng writes its WAV from a native thread: the temporary file lives in the
    worker's own folder, so a data folder removed under a phrase (a test's tmp_path, an
    operator cleaning up) is an ordinary logged failure, not an error raised in C."""
    import shutil
    audio = tmp_path / "gone" / "audio"
    speech = Speech(cfg_with(speech_cfg, repeat=2, english=True), audio_dir=audio)
    key = speech.request(announcement_parts("ĐY120", 25, speech.cfg))
    shutil.rmtree(tmp_path / "gone")
    assert speech.wait(key, timeout=15) is None
    assert not audio.exists()
    # The worker goes on for everyone else.
    _, path = voiced(Speech(speech_cfg, audio_dir=tmp_path / "next"), "A015", 12)
    assert duration(path) > 1.0


# -- the chime ----------------------------------------------------------------------------

def test_the_chime_is_a_short_audible_wav_without_clicks_written_once(tmp_path):
    path = write_chime(tmp_path / "audio" / "chime.wav")
    assert wav.is_complete(path) and 0.5 <= duration(path) <= 1.5
    assert peak(path) > 5000
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        samples = array("h", w.readframes(w.getnframes()))
    assert max(map(abs, samples[:5])) < 500 and max(map(abs, samples[-20:])) < 100
    mtime = path.stat().st_mtime_ns
    time.sleep(0.01)
    assert write_chime(path) == path and path.stat().st_mtime_ns == mtime


# -- voice packs --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def espeak_pack(tmp_path_factory):
    """The default pack, generated once with espeak-ng."""
    folder = tmp_path_factory.mktemp("voice_pack")
    cfg = settings.validate(copy.deepcopy(SMALL))["speech"]
    return folder, make_voice_pack(cfg, folder)


def tone_pack(folder, speech_cfg, rate=22050, skip=()):
    """A pack of short tones, one per needed clip (no silence to trim: exact sums)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(pack.needed_clips(speech_cfg, both_linkers=True)):
        if name not in skip:
            n = int(rate * (0.2 + 0.01 * i))
            frames = array("h", (8000 if (k // 20) % 2 else -8000 for k in range(n)))
            wav.write(folder / f"{name}.wav", wav.Audio((1, 2, rate), frames.tobytes()))
    return folder


def test_make_voice_pack_creates_every_clip_the_announcements_need(espeak_pack):
    folder, paths = espeak_pack
    names = {p.name for p in paths}
    expected = ["mời công dân có số thứ tự", "đến quầy số", "a", "bê", "đê", "e-lờ", "i dài",
                "ích-xì", "không", "một", "chín", "mười", "mươi", "mốt", "lăm", "trăm",
                "nghìn", "lẻ", "linh"]
    assert {f"{n}.wav" for n in expected} <= names and len(names) == 43
    assert all(wav.is_complete(p) and 0.1 < duration(p) < 3 for p in paths)
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert all(f"  {name}\n" in readme for name in names)


def test_an_espeak_pack_says_a_call_as_the_sum_of_its_clips_and_pauses(
        tmp_path, speech_cfg, espeak_pack):
    folder, _ = espeak_pack
    cfg = cfg_with(speech_cfg, engine="voice_pack", voice_pack=str(folder))
    speech = Speech(cfg, audio_dir=tmp_path, pack_dir=folder)
    assert speech.available, speech.reason
    clips = pack.Pack(folder)
    text = announcement_parts("ĐY120", 105, cfg)[0][1]
    expected = sum(p if isinstance(p, float) else clips.clips[p].seconds
                   for p in clips.plan(text))
    path = voiced(speech, "ĐY120", 105)[1]
    assert duration(path) == pytest.approx(expected, abs=0.01)
    assert clips.plan(text)[0] == ("mời", "công", "dân", "có", "số", "thứ", "tự")


def test_a_tone_pack_joins_clips_words_and_parts_to_the_exact_length(tmp_path, speech_cfg):
    folder = tone_pack(tmp_path / "pack", speech_cfg)
    cfg = cfg_with(speech_cfg, engine="voice_pack", voice_pack="pack", repeat=2)
    speech = Speech(cfg, audio_dir=tmp_path / "audio", pack_dir=folder)
    clips = pack.Pack(folder)
    plan = clips.plan(announcement_parts("A015", 21, cfg)[0][1])
    # "<phrase> a, không, một, năm, đến quầy số hai mươi mốt": word gaps and comma pauses
    assert [p for p in plan if isinstance(p, float)] == [0.05] + [0.25] * 4 + [0.05] * 3
    once = sum(p if isinstance(p, float) else clips.clips[p].seconds for p in plan)
    path = voiced(speech, "A015", 21)[1]
    assert duration(path) == pytest.approx(2 * once + 0.6, abs=0.002)


@pytest.mark.parametrize("missing, named", [
    ("đến quầy số", "'đến quầy số.wav'"),
    ("lăm", "'lăm.wav'"),
    ("i dài", "'i dài.wav'"),
])
def test_a_missing_clip_makes_the_pack_unavailable_naming_it(
        tmp_path, speech_cfg, missing, named):
    folder = tone_pack(tmp_path / "pack", speech_cfg, skip={missing})
    speech = Speech(cfg_with(speech_cfg, engine="voice_pack", voice_pack="pack"),
                    audio_dir=tmp_path / "audio", pack_dir=folder)
    assert not speech.available
    assert speech.reason.startswith(f"voice pack {folder}: missing clip {named}")


def test_a_pack_may_say_a_phrase_word_by_word(tmp_path, speech_cfg):
    folder = tone_pack(tmp_path / "pack", speech_cfg, skip={"đến quầy số"})
    for word in ("đến", "quầy", "số"):
        wav.write(folder / f"{word}.wav", wav.read(folder / "a.wav"))
    speech = Speech(cfg_with(speech_cfg, engine="voice_pack", voice_pack="pack"),
                    audio_dir=tmp_path / "audio", pack_dir=folder)
    assert speech.available, speech.reason


def test_clips_of_different_formats_are_refused_clearly(tmp_path, speech_cfg):
    folder = tone_pack(tmp_path / "pack", speech_cfg)
    clip = wav.read(folder / "a.wav")
    wav.write(folder / "a.wav", wav.Audio((1, 2, 44100), clip.frames))
    speech = Speech(cfg_with(speech_cfg, engine="voice_pack", voice_pack="pack"),
                    audio_dir=tmp_path / "audio", pack_dir=folder)
    assert not speech.available
    assert speech.reason == (f"voice pack {folder}: 'a.wav' is 44100 Hz, 16-bit, mono but "
                             f"the other clips are 22050 Hz, 16-bit, mono; all clips must "
                             f"share one format")


def test_a_44_khz_recorded_pack_takes_the_english_phrase_in_its_own_format(
        tmp_path, speech_cfg):
    folder = tone_pack(tmp_path / "pack", speech_cfg, rate=44100)
    cfg = cfg_with(speech_cfg, engine="voice_pack", voice_pack="pack", english=True)
    vi_only = Speech(cfg_with(cfg, english=False), audio_dir=tmp_path / "audio",
                     pack_dir=folder)
    speech = Speech(cfg, audio_dir=tmp_path / "audio", pack_dir=folder)
    path = voiced(speech, "A015", 12)[1]
    with wave.open(str(path)) as w:
        assert w.getframerate() == 44100
    assert duration(path) > duration(voiced(vi_only, "A015", 12)[1]) + 2


def test_the_default_pack_is_generated_in_its_folder_on_first_start(tmp_path, speech_cfg):
    folder = tmp_path / "voice_pack"
    cfg = cfg_with(speech_cfg, engine="voice_pack")
    speech = Speech(cfg, audio_dir=tmp_path / "audio", pack_dir=folder)
    assert speech.available, speech.reason
    assert (folder / "README.txt").exists() and (folder / "mười.wav").exists()
    assert 2 <= duration(voiced(speech, "A015", 12)[1]) <= 12


def test_make_pack_command_writes_the_pack(tmp_path):
    out = subprocess.run([sys.executable, "-m", "qms.speech", "make-pack", str(tmp_path / "p"),
                          "--config", str(ROOT / "config.yaml")], capture_output=True,
                         text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("43 clips written to")
    assert len(list((tmp_path / "p").glob("*.wav"))) == 43


# -- the cache folder ---------------------------------------------------------------------

def test_old_cached_calls_and_stray_temporary_files_are_cleaned_up(tmp_path, speech_cfg):
    old, recent = tmp_path / ("a" * 32 + ".wav"), tmp_path / ("b" * 32 + ".wav")
    stray, chime = tmp_path / ".x.tmp", write_chime(tmp_path / "chime.wav")
    for path in (old, recent, stray):
        path.write_bytes(b"RIFF")
    two_days_ago = time.time() - 2 * 86400
    for path in (old, stray, chime):
        os.utime(path, (two_days_ago, two_days_ago))
    speech = Speech(speech_cfg, audio_dir=tmp_path)
    voiced(speech, "A015", 12)  # runs after the clean-up on the worker
    assert not old.exists() and not stray.exists()
    assert recent.exists() and chime.exists()
