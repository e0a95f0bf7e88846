"""Every text people read goes through the catalogue, in Vietnamese and English."""

import re
import unicodedata
from pathlib import Path

from qms.i18n import CATALOGUE, negotiate, translate

ROOT = Path(__file__).resolve().parent.parent
CODE = [p for d in ("qms", "kiosk", "counter", "display") for p in (ROOT / d).rglob("*.py")]


def test_both_languages_have_the_same_messages():
    assert set(CATALOGUE["vi"]) == set(CATALOGUE["en"])


def test_vietnamese_text_is_nfc_and_differs_from_english():
    for key, text in CATALOGUE["vi"].items():
        assert unicodedata.normalize("NFC", text) == text, key
    same = [k for k in CATALOGUE["vi"] if CATALOGUE["vi"][k] == CATALOGUE["en"][k]]
    assert same == [], same


def test_every_message_id_raised_in_the_code_is_in_the_catalogue():
    used = set()
    pattern = re.compile(r'(?:raise \w+|_ack_error|error_response)\(\s*"([a-z_]+)"')
    for path in CODE:
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    used |= {f"service_closed_{r}" for r in ("no_counter", "outside_hours", "daily_limit")}
    from qms.domain import errors
    used |= {cls.message for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.QmsError)}
    used.discard("service_closed_")  # completed by the reason, listed above
    missing = sorted(used - set(CATALOGUE["vi"]))
    assert len(used) > 30 and missing == []


def test_parameters_are_filled_in_each_language():
    assert translate("counter_held", "vi", counter=12, officer="An") == \
        "Quầy 12 đang do cán bộ An phụ trách."
    assert translate("counter_held", "en", counter=12, officer="An") == \
        "Counter 12 is held by officer An."


def test_language_is_the_asked_one_then_the_browsers_then_vietnamese():
    assert negotiate("en", "vi", "vi") == "en"
    assert negotiate(None, "en-US,en;q=0.9", "vi") == "en"
    assert negotiate("fr", "fr-FR", "vi") == "vi"
    assert negotiate(None, None, "vi") == "vi"
