"""The voice pack: a folder of WAV clips named by their text (``đến quầy số.wav``,
``mười.wav``, ``e-lờ.wav``), joined to say any announcement. A real voice can be recorded
once (docs/voice-pack.md); the default pack is generated with espeak-ng.

A text is voiced by greedy longest match of word sequences against clip names, so a whole
template phrase beats its single words; a comma is a short pause.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import string
import subprocess
import unicodedata
from collections import Counter
from pathlib import Path

from qms.domain.announcement import DIGITS, LETTERS, announce_vi
from qms.settings import VIETNAMESE_LETTERS

from . import wav
from .espeak import Unavailable

PAUSE = re.compile(r"[,;:.!?]")
WORD = re.compile(r"[\w-]+")
WORD_GAP_S = 0.05     # between the words of one phrase
COMMA_PAUSE_S = 0.25  # at a comma: between the letters and digits of a number
NUMBER_WORDS = ("mười", "mươi", "mốt", "lăm", "trăm", "nghìn", "lẻ", "linh")
LINKERS = ("lẻ", "linh")


def segments(text: str) -> list[tuple[str, ...]]:
    """The phrases between pauses, each as its words: NFC, lower case."""
    text = unicodedata.normalize("NFC", text).lower()
    return [words for part in PAUSE.split(text) if (words := tuple(WORD.findall(part)))]


def template_pieces(template: str) -> list[str]:
    """The fixed phrases around {number} and {counter}."""
    literals = (literal for literal, *_ in string.Formatter().parse(template))
    return [" ".join(words) for literal in literals for words in segments(literal)]


# Ticket prefixes use capital letters without diacritics (settings.VIETNAMESE_LETTERS), so a
# recorder never needs á, ớ, ê, ô, ơ or ư on their own.
PREFIX_LETTERS = {k: v for k, v in LETTERS.items() if k in VIETNAMESE_LETTERS}


def needed_clips(speech_cfg: dict, *, both_linkers: bool = False) -> list[str]:
    """Every clip the configured Vietnamese announcements need, in a stable order."""
    skip = set() if both_linkers else set(LINKERS) - {speech_cfg["hundreds_linker"]}
    names = [*template_pieces(speech_cfg["template_vi"]), *PREFIX_LETTERS.values(), *DIGITS,
             *(w for w in NUMBER_WORDS if w not in skip)]
    return list(dict.fromkeys(unicodedata.normalize("NFC", n) for n in names))


def sample_texts(speech_cfg: dict) -> list[str]:
    """Announcements that use every letter, digit and number word at least once."""
    number = "".join(PREFIX_LETTERS) + "0123456789"
    return [announce_vi(number, counter, template=speech_cfg["template_vi"],
                        linker=speech_cfg["hundreds_linker"]) for counter in (10, 15, 21, 1105)]


class Pack:
    """The clips of one folder, trimmed of silence and held in memory (a few MB)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise Unavailable(f"voice pack folder {self.folder} does not exist")
        self.clips: dict[tuple[str, ...], wav.Audio] = {}
        formats: dict[str, wav.Audio] = {}
        stamp = hashlib.sha256()
        for path in sorted(self.folder.iterdir()):
            if path.suffix.lower() != ".wav" or path.name.startswith("."):
                continue
            try:
                audio = formats[path.name] = wav.trim(wav.read(path))
            except Exception as exc:  # wave.Error, EOFError, FormatMismatch...
                raise Unavailable(f"voice pack clip {path}: cannot read it ({exc})") from None
            words = tuple(WORD.findall(unicodedata.normalize(
                "NFC", path.stem.replace("_", " ")).lower()))
            if words:
                self.clips[words] = audio
            st = path.stat()
            stamp.update(f"{path.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        if not self.clips:
            raise Unavailable(f"voice pack folder {self.folder} has no .wav clips")
        usual = Counter(a.params for a in formats.values()).most_common(1)[0][0]
        for name, audio in formats.items():
            if audio.params != usual:
                raise Unavailable(
                    f"voice pack {self.folder}: '{name}' is {audio.describe()} but the other "
                    f"clips are {wav.Audio(usual, b'').describe()}; all clips must share one "
                    f"format")
        self.params = usual
        self.longest = max(map(len, self.clips))
        self.fingerprint = stamp.hexdigest()[:16]  # a re-recorded clip changes the cache key

    def plan(self, text: str) -> list[tuple[str, ...] | float]:
        """The clips (by name) and pauses (seconds) that say ``text``; raises KeyError
        naming the first word no clip covers."""
        out: list[tuple[str, ...] | float] = []
        for words in segments(text):
            if out:
                out.append(COMMA_PAUSE_S)
            i = 0
            while i < len(words):
                for n in range(min(self.longest, len(words) - i), 0, -1):
                    if words[i:i + n] in self.clips:
                        if i:
                            out.append(WORD_GAP_S)
                        out.append(words[i:i + n])
                        i += n
                        break
                else:
                    raise KeyError(words[i])
        return out

    def voice(self, text: str) -> wav.Audio:
        return wav.join([p if isinstance(p, float) else self.clips[p] for p in self.plan(text)])

    def check(self, speech_cfg: dict) -> None:
        """Raise Unavailable naming the first clip the configured announcements lack."""
        for name in needed_clips(speech_cfg):
            try:
                self.plan(name)
            except KeyError as exc:
                word = exc.args[0]
                also = f" (or one for '{word}')" if word != name else ""
                raise Unavailable(f"voice pack {self.folder}: missing clip "
                                  f"'{name}.wav'{also}") from None
        for text in sample_texts(speech_cfg):
            try:
                self.plan(text)
            except KeyError as exc:
                raise Unavailable(f"voice pack {self.folder}: no clip says "
                                  f"'{exc.args[0]}' in '{text}'") from None


# -- the default pack, generated with espeak-ng ---------------------------------------------

def readme(speech_cfg: dict, names: list[str]) -> str:
    return (
        "Voice pack of the queue system: one WAV clip per phrase or word, named by its text\n"
        "(NFC, lower case). See docs/voice-pack.md to record a real voice.\n"
        f"Generated with espeak-ng, voice {speech_cfg['voice']}, {speech_cfg['rate']} words "
        f"per minute, for the template:\n  {speech_cfg['template_vi']}\n\n"
        f"Clips ({len(names)}):\n" + "".join(f"  {n}.wav\n" for n in names))


def make_voice_pack(speech_cfg: dict, folder: Path) -> list[Path]:
    """Generate every clip of the default pack with espeak-ng, and a README.txt listing
    them; returns the clip paths. Raises Unavailable without espeak-ng."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise Unavailable("espeak-ng is not installed (apt install espeak-ng), so the "
                          "voice pack cannot be generated")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = needed_clips(speech_cfg, both_linkers=True)
    paths = []
    for name in names:
        path, tmp = folder / f"{name}.wav", folder / f".{name}.tmp.wav"
        proc = subprocess.run([exe, "-v", speech_cfg["voice"], "-s", str(speech_cfg["rate"]),
                               "-w", str(tmp), name],
                              capture_output=True, text=True, timeout=30, check=False)
        if proc.returncode or not wav.is_complete(tmp):
            tmp.unlink(missing_ok=True)
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise Unavailable(f"espeak-ng -v {speech_cfg['voice']} failed on '{name}': "
                              f"{detail[0] if detail else f'exit {proc.returncode}'}")
        os.replace(tmp, path)
        paths.append(path)
    (folder / "README.txt").write_text(readme(speech_cfg, names), encoding="utf-8")
    return paths


def ensure_default_pack(speech_cfg: dict, folder: Path) -> None:
    """(Re)generate the default pack when its README does not match the settings (first
    start, or voice, rate or template changed)."""
    names = needed_clips(speech_cfg, both_linkers=True)
    readme_path = Path(folder) / "README.txt"
    try:
        current = readme_path.read_text(encoding="utf-8")
    except OSError:
        current = None
    if current != readme(speech_cfg, names) or not all(
            (Path(folder) / f"{n}.wav").is_file() for n in names):
        make_voice_pack(speech_cfg, folder)
        # This folder is ours: clips of an older template must not be matched any more.
        for path in Path(folder).glob("*.wav"):
            if path.stem not in names:
                path.unlink()
