"""The words of a call, built explicitly so that any voice reads them the same way.

"Mời công dân có số thứ tự A, không, một, năm, đến quầy số mười hai": the prefix letters
by their Vietnamese names, the digits one by one, the counter as a number.
"""

from __future__ import annotations

import unicodedata

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
LETTERS = {
    "A": "a", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e",
    "Ê": "ê", "G": "giê", "H": "hát", "I": "i", "K": "ca", "L": "e-lờ", "M": "em-mờ",
    "N": "en-nờ", "O": "o", "Ô": "ô", "Ơ": "ơ", "P": "pê", "Q": "quy", "R": "e-rờ",
    "S": "ét-xì", "T": "tê", "U": "u", "Ư": "ư", "V": "vê", "X": "ích-xì", "Y": "i dài",
}
EN_LETTERS = {"Đ": "D"}
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _below_hundred(n: int, *, after_hundred: bool, linker: str) -> list[str]:
    tens, units = divmod(n, 10)
    if tens == 0:
        if units == 0:
            return []
        return [linker, DIGITS[units]] if after_hundred else [DIGITS[units]]
    words = ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 1:
        words.append("mốt" if tens > 1 else "một")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def number_words(n: int, *, linker: str = "lẻ") -> str:
    """Read a whole number 0..999,999 as Vietnamese speakers say it (105 một trăm lẻ năm)."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"cannot read {n}")
    if n == 0:
        return DIGITS[0]
    thousands, rest = divmod(n, 1000)
    words: list[str] = []
    if thousands:
        words += number_words(thousands, linker=linker).split() + ["nghìn"]
    hundreds, below = divmod(rest, 100)
    if hundreds or (thousands and rest):
        words += [DIGITS[hundreds], "trăm"]
        words += _below_hundred(below, after_hundred=True, linker=linker)
    else:
        words += _below_hundred(below, after_hundred=False, linker=linker)
    return " ".join(words)


def spell_ticket(number: str) -> list[str]:
    """The spoken items of a ticket number: letters by name, digits one by one."""
    items = []
    for ch in unicodedata.normalize("NFC", number.upper()):
        if ch.isdigit():
            items.append(DIGITS[int(ch)])
        elif ch in LETTERS:
            items.append(LETTERS[ch])
        else:
            raise ValueError(f"cannot read {ch!r} in ticket number {number!r}")
    return items


def announce_vi(number: str, counter: int, *, template: str, linker: str = "lẻ") -> str:
    text = template.format(number=", ".join(spell_ticket(number)),
                           counter=number_words(counter, linker=linker))
    return unicodedata.normalize("NFC", text)


def announce_en(number: str, counter: int, *, template: str) -> str:
    items = [EN_DIGITS[int(c)] if c.isdigit() else EN_LETTERS.get(c, c) for c in number]
    return template.format(number=", ".join(items), counter=counter)


def announcement_parts(number: str, counter: int, speech: dict) -> list[tuple[str, str]]:
    """The phrases to say, each with its language: the Vietnamese one ``repeat`` times,
    then the English one if configured."""
    vi = announce_vi(number, counter, template=speech["template_vi"],
                     linker=speech["hundreds_linker"])
    parts = [("vi", vi)] * speech["repeat"]
    if speech["english"]:
        parts.append(("en", announce_en(number, counter, template=speech["template_en"])))
    return parts


def announcement(number: str, counter: int, speech: dict) -> str:
    """The whole announcement as configured, as one subtitle."""
    return ". ".join(text for _, text in announcement_parts(number, counter, speech))
