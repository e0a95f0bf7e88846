"""The ticket as one 1-bit image: DejaVu Sans text and a QR code, drawn with Pillow.

The printer only receives pixels, so Vietnamese never depends on a printer code page.
Every text comes from the catalogue (``qms/translations/printing.*.json``) or from the
ticket itself; ``text`` normalises, wraps and draws it. Top to bottom: center, number,
priority band, service and department, where to go, place in line and wait, time of
issue, QR code to the visitor's status page, footer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import qrcode
from PIL import Image, ImageDraw

from qms.i18n import translate
from qms.printing.text import font, ink_width, nfc, paragraph

WIDTHS = (384, 512, 576)
QR_SHARE = 0.60  # the QR code (quiet zone included) takes at most this share of the width
NUMBER_MIN_HEIGHT = 1 / 3  # of the width: the number is read from a few metres away


@dataclass(frozen=True)
class TicketPrint:
    """What a printed ticket shows, as plain values (no Flask, no database)."""

    center: str  # center name in the ticket's language
    number: str  # "PA015"
    service: str
    department: str
    counters: list[int]  # counters that serve the ticket's service
    zone: str
    position: int  # 1 = next in line; people ahead = position - 1
    estimated_wait_s: int | None
    issued_at: str  # ISO local time, "2026-05-29T08:15:00+07:00"
    status_url: str  # encoded in the QR code
    priority: bool
    footer: str = ""
    lang: str = "vi"
    # Where to go by zone, as Center.places gives it: ((priority, (counters...), zone), ...).
    # Empty: ``counters`` and ``zone`` say it.
    places: tuple = ()


class _Layout:
    """Blocks stacked top to bottom; the canvas is made once the height is known."""

    def __init__(self, width: int):
        self.width = width
        self.margin = max(12, width // 24)
        self.inner = width - 2 * self.margin
        self.body = max(20, round(width * 0.048))
        self.blocks = []  # (height, paint(draw, canvas, top))

    def space(self, height: int):
        self.blocks.append((height, lambda draw, canvas, top: None))

    def text(self, text: str, size: int, bold: bool = False, fill: int = 0):
        # Stacked Vietnamese marks (Ẫ, Ữ) rise ~1.07 em above the baseline, tails 0.22 em below.
        above, below = round(size * 1.1), round(size * 0.3)
        for mask, top in paragraph(nfc(text), size, bold, self.inner):
            def paint(draw, canvas, y, mask=mask, top=top):
                x = self.margin + (self.inner - mask.width) // 2
                canvas.paste(fill, (x, y + above + top), mask)
            self.blocks.append((above + below, paint))

    def joined(self, parts: list[str], size: int, bold: bool = False, sep: str = " · "):
        """The parts on one line when they fit, else each part on its own line(s)."""
        parts = [nfc(p) for p in parts if p]
        if ink_width(sep.join(parts), font(size, bold)) <= self.inner:
            parts = [sep.join(parts)]
        for part in parts:
            self.text(part, size, bold)

    def rule(self, thickness: int = 2, gap: int = 10):
        def paint(draw, canvas, top):
            y = top + gap
            draw.rectangle((self.margin, y, self.width - self.margin - 1, y + thickness - 1),
                           fill=0)
        self.blocks.append((2 * gap + thickness, paint))

    def band(self, text: str, size: int):
        """White bold text on a black band across the content width."""
        pad = size // 3
        start = len(self.blocks)
        self.text(text, size, bold=True, fill=255)
        lines = self.blocks[start:]
        height = sum(h for h, _ in lines) + 2 * pad

        def paint(draw, canvas, top):
            draw.rectangle((self.margin, top, self.width - self.margin - 1, top + height - 1),
                           fill=0)
            y = top + pad
            for h, line_paint in lines:
                line_paint(draw, canvas, y)
                y += h
        self.blocks[start:] = [(height, paint)]

    def image(self, picture: Image.Image):
        def paint(draw, canvas, top):
            canvas.paste(picture, ((self.width - picture.width) // 2, top))
        self.blocks.append((picture.height, paint))

    def render(self) -> Image.Image:
        height = sum(h for h, _ in self.blocks)
        canvas = Image.new("L", (self.width, height), 255)
        draw = ImageDraw.Draw(canvas)
        top = 0
        for h, paint in self.blocks:
            paint(draw, canvas, top)
            top += h
        # A hard threshold, no dithering: clean edges for the QR code and the thermal head.
        result = canvas.convert("1", dither=Image.Dither.NONE)
        canvas.close()
        return result


def number_image(number: str, width: int, min_height: int) -> Image.Image:
    """The number in bold, as wide as ``width`` allows, stretched up to ``min_height`` when
    a long number leaves it lower (the 'double height' of thermal printers)."""
    text = nfc(number) or "?"
    probe = font(100, True)
    left, top, right, bottom = probe.getbbox(text)
    # Fit the width, but a short number ("A1") must not become taller than ~0.45 width.
    size = int(100 * min(width / (right - left), 0.45 * width / (bottom - top)))
    face = font(max(size, 10), True)
    while size > 10 and ink_width(text, face) > width:
        size -= 2
        face = font(size, True)
    left, top, right, bottom = face.getbbox(text)
    glyphs = Image.new("L", (right - left, bottom - top), 255)
    ImageDraw.Draw(glyphs).text((-left, -top), text, font=face, fill=0)
    # Stretched at most twice: a very long number gets lower rather than spindly.
    height = min(min_height, 2 * glyphs.height)
    if glyphs.height < height:
        stretched = glyphs.resize((glyphs.width, height), Image.Resampling.BILINEAR)
        glyphs.close()
        return stretched
    return glyphs


def qr_image(url: str, width: int) -> Image.Image:
    """QR code (error correction M, 4-module quiet zone) with whole-pixel modules, as
    large as fits in QR_SHARE of the width."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    modules = len(matrix)
    box = max(2, int(width * QR_SHARE) // modules)
    small = Image.new("L", (modules, modules), 255)
    small.putdata([0 if dark else 255 for row in matrix for dark in row])
    big = small.resize((modules * box, modules * box), Image.Resampling.NEAREST)
    small.close()
    return big


def issued_text(issued_at: str) -> str:
    try:
        return datetime.fromisoformat(issued_at).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return issued_at  # printed as given rather than losing the ticket


def wait_text(seconds: int | None, lang: str) -> str | None:
    if seconds is None:
        return None
    minutes = round(seconds / 60)
    if minutes < 1:
        return translate("print_wait_short", lang)
    if minutes < 60:
        return translate("print_wait_minutes", lang, minutes=minutes)
    return translate("print_wait_hours", lang, hours=minutes // 60, minutes=minutes % 60)


def counter_list(counters) -> str:
    """'1–11, 23' for counters 1 to 11 and 23, as the kiosk screen writes them: three or
    more in a row become a range, so a long list does not fill a narrow ticket."""
    runs: list[list[int]] = []
    for c in sorted(set(counters)):
        if runs and c == runs[-1][-1] + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    return ", ".join(f"{run[0]}\u2013{run[-1]}" if len(run) > 2 else ", ".join(map(str, run))
                     for run in runs)


def _by_line(t: TicketPrint) -> bool:
    """Counters in several zones, or a priority counter: one line per group of counters."""
    return len(t.places) > 1 or bool(t.places and t.places[0][0])


def where_parts(t: TicketPrint) -> list[str]:
    """['Mời đến quầy: 1–3, 5', 'Khu A']; either part is left out when unknown. Counters in
    several zones, or a priority counter, give one line each after a heading:
    ['Mời đến:', 'Quầy ưu tiên 23 · Khu A1', 'Quầy 1–11 · Khu A']."""
    if _by_line(t):
        return [translate("print_go_to", t.lang)] + [
            translate("print_place_priority" if priority else "print_place", t.lang,
                      counters=counter_list(counters), zone=zone)
            for priority, counters, zone in t.places]
    if t.places:
        t = replace(t, counters=list(t.places[0][1]), zone=t.places[0][2])
    parts = []
    if t.counters:
        key = "print_counter_one" if len(t.counters) == 1 else "print_counters_many"
        parts.append(translate(key, t.lang, counters=counter_list(t.counters)))
    if t.zone:
        parts.append(translate("print_zone", t.lang, zone=t.zone))
    return parts


def render_ticket(t: TicketPrint, width: int) -> Image.Image:
    """The whole ticket, mode "1", exactly ``width`` px wide, as tall as it needs."""
    if width not in WIDTHS:
        raise ValueError(f"width must be one of {WIDTHS}, got {width}")
    lang = t.lang
    page = _Layout(width)
    body = page.body
    page.space(page.margin)
    page.text(t.center, body, bold=True)
    page.rule()
    page.text(translate("print_number_label", lang), body, bold=True)
    page.space(body // 3)
    page.image(number_image(t.number, page.inner, round(width * NUMBER_MIN_HEIGHT)))
    page.space(body // 2)
    if t.priority:
        page.band(translate("print_priority", lang), round(body * 1.4))
        page.space(body // 2)
    page.text(t.service, round(body * 1.1), bold=True)
    page.text(t.department, body)
    page.space(body // 3)
    where = where_parts(t)
    if _by_line(t):
        for line in where:  # a heading, then one line per group of counters
            page.text(line, round(body * 1.15), bold=True)
    else:
        page.joined(where, round(body * 1.15), bold=True)
    page.space(body // 3)
    ahead = max(0, t.position - 1)
    page.text(translate("print_ahead", lang, count=ahead) if ahead
              else translate("print_ahead_none", lang), body)
    wait = wait_text(t.estimated_wait_s, lang)
    if wait:
        page.text(wait, body)
    page.text(translate("print_issued_at", lang, time=issued_text(t.issued_at)), body)
    page.rule()
    page.image(qr_image(t.status_url, width))
    small = max(16, round(body * 0.8))
    page.text(translate("print_scan", lang), small)
    if t.footer:
        page.space(small // 2)
        page.text(t.footer, small)
    page.space(page.margin)
    return page.render()
