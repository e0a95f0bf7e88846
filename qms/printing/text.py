"""Text for the ticket: DejaVu Sans faces, NFC normalisation, word wrap inside a width,
and wrapped paragraphs drawn once as masks and cached."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"


class FontMissing(RuntimeError):
    """DejaVu Sans is not installed."""


_local = threading.local()


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at ``size`` px, cached per thread (a FreeType face is not thread-safe)."""
    cache = getattr(_local, "fonts", None)
    if cache is None:
        cache = _local.fonts = {}
    face = cache.get((size, bold))
    if face is None:
        path = FONT_DIR / (BOLD if bold else REGULAR)
        try:
            face = ImageFont.truetype(str(path), size)
        except OSError:
            raise FontMissing(f"font {path} not found: install the Debian package "
                              f"fonts-dejavu-core") from None
        cache[(size, bold)] = face
    return face


_SPACES = re.compile(r"[^\S\u00a0]+")  # any white space but the no-break space


def nfc(text) -> str:
    """NFC text on one line; no-break spaces ("12\u00a0phút") are kept for wrap()."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()


def ink_width(text: str, face) -> int:
    left, _, right, _ = face.getbbox(text)
    return right - min(left, 0)


def wrap(text: str, face, width: int) -> list[str]:
    """Greedy word wrap at spaces (never at no-break spaces); a word wider than the line
    is broken between characters."""
    return [line for line, _ in fit_lines(text, face, width)]


def fit_lines(text: str, face, width: int) -> list[tuple[str, tuple]]:
    """wrap() with each line's ink box (anchor "ls")."""
    words = [w for w in text.split(" ") if w]
    # Fast path: words measured once by their advance widths and summed. The ink, which
    # may overhang the advance by a pixel, is checked once per line; only a paragraph
    # that overhangs is wrapped again, measuring the ink of every trial line.
    lines = _wrap_by_advance(words, face, width)
    boxes = [face.getbbox(line, anchor="ls") for line in lines]
    if any(right - min(left, 0) > width for left, _, right, _ in boxes):
        lines = _wrap_by_ink(words, face, width)
        boxes = [face.getbbox(line, anchor="ls") for line in lines]
    return list(zip(lines, boxes, strict=True))


def _wrap_by_advance(words, face, width):
    space = face.getlength(" ")
    lines, line, used = [], [], 0.0
    for word in words:
        for piece in _break_word(word, width, face.getlength):
            length = face.getlength(piece)
            if line and used + space + length > width:
                lines.append(" ".join(line))
                line, used = [], 0.0
            used += length + (space if line else 0)
            line.append(piece)
    return lines + [" ".join(line)] if line else lines


def _wrap_by_ink(words, face, width):
    def measure(s):
        return ink_width(s, face)
    lines, line = [], ""
    for word in words:
        for piece in _break_word(word, width, measure):
            trial = f"{line} {piece}" if line else piece
            if line and measure(trial) > width:
                lines.append(line)
                line = piece
            else:
                line = trial
    return lines + [line] if line else lines


@functools.lru_cache(maxsize=256)
def paragraph(text: str, size: int, bold: bool, width: int) -> tuple:
    """The wrapped lines of ``text`` drawn as masks of their ink: (mask, top) per line, top
    being the ink's offset from the baseline. Cached, because most of a ticket (center,
    service, labels, footer) is the same from one ticket to the next; never modified."""
    face = font(size, bold)
    lines = []
    for line, (left, top, right, bottom) in fit_lines(text, face, width):
        mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
        ImageDraw.Draw(mask).text((-left, -top), line, font=face, fill=255, anchor="ls")
        lines.append((mask, top))
    return tuple(lines)


def _break_word(word: str, width: int, measure) -> list[str]:
    if measure(word) <= width:
        return [word]
    pieces, piece = [], ""
    for char in word:
        # Never separate a combining mark from its letter.
        if piece and not unicodedata.combining(char) and measure(piece + char) > width:
            pieces.append(piece)
            piece = ""
        piece += char
    return pieces + [piece]
