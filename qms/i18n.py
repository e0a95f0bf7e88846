"""The translation catalogue: every text people read, Vietnamese first, then English.

Messages live in ``qms/translations/<lang>.json`` (the core) and ``<part>.<lang>.json`` (one
file per screen: ``kiosk.vi.json``...), keyed by a stable id; code refers to ids, never to
sentences. An id defined in two files of one language is an error at import.
"""

from __future__ import annotations

import json
from pathlib import Path

LANGUAGES = ("vi", "en")
_DIR = Path(__file__).with_name("translations")


def _load(lang: str) -> dict:
    merged: dict = {}
    for path in sorted([_DIR / f"{lang}.json", *_DIR.glob(f"*.{lang}.json")]):
        part = json.loads(path.read_text(encoding="utf-8"))
        twice = sorted(set(part) & set(merged))
        if twice:
            raise ValueError(f"{path.name}: message '{twice[0]}' is defined twice")
        merged.update(part)
    return merged


CATALOGUE = {lang: _load(lang) for lang in LANGUAGES}


def catalogue_for(lang: str, prefixes: tuple[str, ...]) -> dict:
    """The messages of ``lang`` whose ids start with one of ``prefixes`` (sent to a page)."""
    table = CATALOGUE.get(lang, CATALOGUE["vi"])
    return {k: v for k, v in table.items() if k.startswith(prefixes)}


def translate(msg_id: str, lang: str = "vi", **params) -> str:
    """The message in ``lang`` (falling back to Vietnamese, then to the id itself)."""
    text = CATALOGUE.get(lang, {}).get(msg_id) or CATALOGUE["vi"].get(msg_id) or msg_id
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def negotiate(requested: str | None, accept_language: str | None, default: str) -> str:
    """?lang= wins, then the browser's Accept-Language, then the configured default."""
    if requested in LANGUAGES:
        return requested
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default
