"""The ticket state machine and the words of an announcement."""

import pytest

from qms.domain.announcement import announce_vi, announcement, number_words, spell_ticket
from qms.domain.errors import InvalidTransition
from qms.domain.model import TRANSITIONS, Action, Status, next_status

ALLOWED = {
    ("waiting", "call"): "called",
    ("waiting", "cancel"): "cancelled",
    ("waiting", "transfer"): "transferred",
    ("waiting", "close"): "closed",
    ("called", "recall"): "called",
    ("called", "serve"): "serving",
    ("called", "no_show"): "no_show",
    ("called", "requeue"): "waiting",
    ("called", "transfer"): "transferred",
    ("called", "close"): "closed",
    ("serving", "complete"): "done",
    ("serving", "transfer"): "transferred",
    ("serving", "close"): "closed",
}

MATRIX = [(s.value, a.value) for s in Status for a in Action]


@pytest.mark.parametrize("status,action", MATRIX, ids=[f"{s}-{a}" for s, a in MATRIX])
def test_every_status_and_action_follows_the_transition_table(status, action):
    if (status, action) in ALLOWED:
        assert next_status(status, action) == Status(ALLOWED[(status, action)])
    else:
        with pytest.raises(InvalidTransition) as exc:
            next_status(status, action)
        assert exc.value.params == {"status": status, "action": action}
        assert exc.value.status == 409


def test_the_table_in_code_is_the_table_in_this_test():
    assert {(s.value, a.value): n.value for (s, a), n in TRANSITIONS.items()} == ALLOWED


def test_terminal_states_accept_no_action():
    for status in ("done", "no_show", "transferred", "cancelled", "closed"):
        assert not [a for a in Action if (Status(status), a) in TRANSITIONS]


NUMBERS = {
    0: "không", 1: "một", 4: "bốn", 5: "năm", 10: "mười", 11: "mười một", 14: "mười bốn",
    15: "mười lăm", 20: "hai mươi", 21: "hai mươi mốt", 24: "hai mươi bốn",
    25: "hai mươi lăm", 55: "năm mươi lăm", 67: "sáu mươi bảy", 100: "một trăm",
    101: "một trăm lẻ một", 105: "một trăm lẻ năm", 110: "một trăm mười",
    111: "một trăm mười một", 115: "một trăm mười lăm", 121: "một trăm hai mươi mốt",
    1000: "một nghìn", 1005: "một nghìn không trăm lẻ năm",
}


@pytest.mark.parametrize("n,words", NUMBERS.items())
def test_numbers_are_read_as_people_say_them(n, words):
    assert number_words(n) == words


def test_the_north_says_linh_for_a_zero_tens_digit():
    assert number_words(105, linker="linh") == "một trăm linh năm"


@pytest.mark.parametrize("number,items", [
    ("A015", ["a", "không", "một", "năm"]),
    ("PA001", ["pê", "a", "không", "không", "một"]),
    ("XK120", ["ích-xì", "ca", "một", "hai", "không"]),
    ("LM099", ["e-lờ", "em-mờ", "không", "chín", "chín"]),
    ("ĐY7", ["đê", "i dài", "bảy"]),
])
def test_ticket_numbers_are_spelled_letter_by_letter_and_digit_by_digit(number, items):
    assert spell_ticket(number) == items


def test_the_design_example_is_built_word_for_word():
    text = announce_vi("A015", 12, template="Mời công dân có số thứ tự {number}, "
                                              "đến quầy số {counter}")
    assert text == "Mời công dân có số thứ tự a, không, một, năm, đến quầy số mười hai"


def test_announcement_repeats_and_adds_english_when_configured():
    speech = {"template_vi": "Mời số {number} đến quầy {counter}",
              "template_en": "Ticket {number}, counter {counter}", "english": True,
              "repeat": 2, "hundreds_linker": "lẻ"}
    assert announcement("B21", 21, speech) == (
        "Mời số bê, hai, một đến quầy hai mươi mốt. Mời số bê, hai, một đến quầy hai mươi "
        "mốt. Ticket B, two, one, counter 21")


def test_a_number_outside_the_alphabet_is_refused():
    with pytest.raises(ValueError):
        spell_ticket("F01")
