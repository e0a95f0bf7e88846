"""Report rows as files people open: CSV for Excel, XLSX, and an SVG bar chart drawn on
the server (no script, no font from outside).

The files are for reading, so they differ from the JSON rows (seconds and fractions, the
API's contract) in two ways: times are in minutes with one decimal, and shares are per
cent numbers (52.4); each such heading says its unit, " (phút)" / " (min)" or " (%)". The
totals row has an empty key cell."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import ROUND_HALF_UP, Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from .reports import COLUMNS, SCORES

# The row's columns with ``ratings`` spread over one column per score.
EXPORT_COLUMNS = tuple(c for col in COLUMNS
                       for c in ([f"ratings_{s}" for s in SCORES] if col == "ratings" else [col]))
_SHARES = {"served_rate", "no_show_rate", "cancelled_rate", "over_sla"}  # 0 to 1 in a row
_PER_CENT = _SHARES | {"score"}  # already per cent in a row
_TIMES = {c for c in EXPORT_COLUMNS if c.startswith(("wait_", "service_")) and c.endswith("_s")}
MINUTES = {"vi": "phút", "en": "min"}  # the unit word; "min" in any other language
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def flat(row: dict) -> dict:
    """The row with ``ratings`` as ``ratings_1`` ... ``ratings_5``."""
    out = {k: v for k, v in row.items() if k != "ratings"}
    for s in SCORES:
        out[f"ratings_{s}"] = (row.get("ratings") or {}).get(s, 0)
    return out


def _lines(rows, totals):
    lines = [flat(r) for r in rows]
    if totals is not None:
        lines.append({**flat(totals), "key": None})  # the label says what it is
    return lines


def heading(column: str, headers: dict | None = None, lang: str = "vi") -> str:
    """The column's heading in a file: ``headers[column]`` (the column's name without its
    ``_s`` when not given), then the unit: " (phút)" / " (min)" for a time, " (%)" for a
    share or the satisfaction score."""
    if column in _TIMES:
        text = (headers or {}).get(column) or column.removesuffix("_s")
        return f"{text} ({MINUTES.get(lang, 'min')})"
    text = (headers or {}).get(column) or column
    return f"{text} (%)" if column in _PER_CENT else text


def shown(column: str, value):
    """A figure as a file shows it: a time in minutes and a share in per cent, both to one
    decimal; anything else as it is."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if column in _TIMES:
        return _one_decimal(value / 60)
    if column in _SHARES:
        return _one_decimal(value * 100)
    return value


def _one_decimal(value: float) -> float:
    """Rounded half up, as people round (7.25 -> 7.3), on the decimal the float shows."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _text(value: str) -> str:
    """A text cell a spreadsheet will not run: a leading = + - @ would start a formula."""
    return "'" + value if value.startswith(_FORMULA) else value


def to_csv(rows: list[dict], columns=EXPORT_COLUMNS, *, totals: dict | None = None,
           headers: dict | None = None, lang: str = "vi") -> str:
    """CSV text starting with a byte-order mark, so Excel reads it as UTF-8 (Vietnamese
    names stay whole). ``headers`` maps a column to its heading, to which the unit is added
    (``lang`` names the minute); times in minutes, shares in per cent; empty cell for null."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([heading(c, headers, lang) for c in columns])
    for line in _lines(rows, totals):
        cells = []
        for c in columns:
            value = shown(c, line.get(c))
            cells.append("" if value is None else _text(value) if isinstance(value, str)
                         else value)
        writer.writerow(cells)
    return out.getvalue()


def to_xlsx(rows: list[dict], title: str, columns=EXPORT_COLUMNS, *,
            totals: dict | None = None, headers: dict | None = None,
            lang: str = "vi") -> bytes:
    """An Excel workbook: a header row, one row per group, then ``totals`` if given. The
    same figures and headings as the CSV, stored as numbers: times in minutes and shares in
    per cent, shown with one decimal."""
    wb = Workbook()
    ws = wb.active
    ws.title = _SHEET_NAME.sub(" ", _clean(title)).strip()[:31] or "Report"
    wb.properties.title = _clean(title)
    ws.append([_clean(heading(c, headers, lang)) for c in columns])
    for line in _lines(rows, totals):
        ws.append([_clean(shown(c, line.get(c))) for c in columns])
    for row in ws.iter_rows(min_row=2):
        for cell, column in zip(row, columns, strict=True):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the name starts with
            elif cell.value is not None and (column in _TIMES or column in _PER_CENT):
                cell.number_format = "0.0"
    for cell in ws[1]:
        cell.data_type = "s"
    for i, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = 24 if column == "label" else 14
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _clean(value):
    """openpyxl refuses control characters in text."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def svg_bar_chart(points: list[tuple[str, float | None]], title: str, unit: str = "", *,
                  width: int = 640) -> str:
    """A horizontal bar chart as an SVG document: one bar per ``(label, value)``, the
    value written beside it; a missing value draws no bar. Screen readers get the title
    and, on each bar, its label and value."""
    bar, gap, left, right, top = 22, 8, 210, 110, 40
    height = top + len(points) * (bar + gap) + 10
    values = [v for _, v in points if v is not None and v > 0]
    scale = (width - left - right) / max(values) if values else 0.0
    esc = html.escape
    unit_text = f" {unit}" if unit else ""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}" '
           f'font-family="sans-serif" font-size="13">',
           f"<title>{esc(title)}</title>",
           f'<text x="8" y="22" font-size="15" font-weight="bold" fill="#111">'
           f"{esc(title)}</text>"]
    for i, (label, value) in enumerate(points):
        y = top + i * (bar + gap)
        label = str(label)
        shown = label if len(label) <= 28 else label[:27] + "…"
        said = "–" if value is None else _number(value) + unit_text
        length = 0.0 if value is None or value <= 0 else max(1.0, value * scale)
        out.append(
            f'<g><title>{esc(label)}: {esc(said)}</title>'
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" fill="#111">{esc(shown)}'
            f'</text><rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" '
            f'fill="#1d4ed8"/><text x="{left + length + 6:.1f}" y="{y + 16}" fill="#111">'
            f"{esc(said)}</text></g>")
    out.append("</svg>")
    return "\n".join(out)
