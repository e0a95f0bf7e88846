"""The translation catalogue: every text people read, Vietnamese first, then English.

Messages live in ``qms/translations/<lang>.json`` keyed by a stable id; code refers to ids,
never to sentences.
"""

from __future__ import annotations

import json
from pathlib import Path

LANGUAGES = ("vi", "en")
_DIR = Path(__file__).with_name("translations")
CATALOGUE = {lang: json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))
             for lang in LANGUAGES}


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
