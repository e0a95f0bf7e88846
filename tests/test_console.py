"""The officer's console, below the browser: its pages, the state it reads
(GET /api/counters/<id>/console), who may act where, and calls at the same instant on a real
server."""

import json
import random
import re
import threading
from pathlib import Path

import pytest
import requests

from conftest import Staff, issue
from qms.i18n import CATALOGUE
from test_api import state

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = ("open", "close", "pause", "resume", "next", "call", "recall", "serve", "complete",
           "no-show", "requeue", "transfer")
BODIES = {"call": {"number": "PA001"}, "transfer": {"service": "cap-phep"}}


def console(staff, counter=1, lang=None):
    r = staff.client.get(f"/api/counters/{counter}/console" + (f"?lang={lang}" if lang else ""))
    assert r.status_code == 200, r.json
    return r.json


def ok(response):
    assert response.status_code == 200, response.json
    return response.json


def page_data(response):
    html = response.get_data(as_text=True)
    block = re.search(r'<script id="qms-data" type="application/json">(.+?)</script>', html, re.S)
    return json.loads(block[1])


# -- who may do what -----------------------------------------------------------------------

@pytest.mark.parametrize("action", ACTIONS)
def test_every_counter_action_without_a_login_is_refused(client, qms, action):
    issue(client)
    before = state(qms)
    r = client.post(f"/api/counters/1/{action}", json=BODIES.get(action))
    assert (r.status_code, r.json["code"]) == (401, "login_required")
    assert state(qms) == before


def test_the_console_state_needs_a_login(client):
    r = client.get("/api/counters/1/console")
    assert (r.status_code, r.json["code"]) == (401, "login_required")


@pytest.mark.parametrize("action", [a for a in ACTIONS if a != "open"])
def test_an_officer_cannot_act_on_a_counter_held_by_another(client, officer, officer2, qms,
                                                            action):
    issue(client)
    ok(officer.act(1, "open"))
    ok(officer2.act(2, "open"))
    ok(officer2.act(2, "next"))
    before = state(qms)
    r = officer.act(2, action, BODIES.get(action))
    assert (r.status_code, r.json["code"]) == (403, "not_your_counter")
    assert state(qms) == before


def test_an_officer_reads_only_the_consoles_of_counters_they_may_sit_at(app):
    limited = Staff(app, "han-che", counters=(2,))
    r = limited.client.get("/api/counters/1/console")
    assert (r.status_code, r.json["code"]) == (403, "counter_not_allowed")
    assert console(limited, 2)["seated"] is False
    assert limited.client.get("/api/counters/99/console").status_code == 404


@pytest.mark.parametrize("setup, action, code", [
    ([], "next", "counter_not_open"),
    (["open"], "serve", "no_current_ticket"),
    (["open"], "transfer", "no_current_ticket"),
    (["open", "next"], "next", "counter_has_ticket"),
    (["open", "next"], "call", "counter_has_ticket"),
    (["open", "next"], "complete", "invalid_transition"),
    (["open", "next", "serve"], "recall", "invalid_transition"),
    (["open", "next", "serve"], "no-show", "invalid_transition"),
    (["open", "pause"], "next", "counter_paused"),
    (["open", "pause"], "pause", "counter_already_paused"),
    (["open"], "resume", "counter_not_paused"),
])
def test_what_the_console_disables_the_server_refuses_too(client, officer, qms, setup, action,
                                                          code):
    issue(client)
    issue(client)
    for step in setup:
        ok(officer.act(1, step))
    before = state(qms)
    body = {"number": "PA002"} if action == "call" else BODIES.get(action)
    r = officer.act(1, action, body)
    assert (r.status_code, r.json["code"]) == (409, code)
    assert state(qms) == before


@pytest.mark.parametrize("typed", ["PA0002", "pa0002", " pa 0002 ", "PA2", "pa 2", "Pa00002",
                                   "\uff30\uff21\uff10\uff10\uff10\uff12", "P A\t0 0 0 2"])
def test_a_number_is_called_however_the_officer_types_it(app_with, typed):
    """Lowercase, spaces, missing or extra leading zeros, a full-width keyboard: the
    number on the ticket is meant (here numbers have four digits)."""
    app, client, _ = app_with({"issuing": {"number_digits": 4}})
    issue(client)
    issue(client)
    officer = Staff(app, "an")
    ok(officer.act(1, "open"))
    assert ok(officer.act(1, "call", {"number": typed}))["ticket"]["number"] == "PA0002"


@pytest.mark.parametrize("typed", ["", "   ", "\t"])
def test_a_blank_number_is_refused_as_missing(client, officer, qms, typed):
    issue(client)
    ok(officer.act(1, "open"))
    before = state(qms)
    r = officer.act(1, "call", {"number": typed})
    assert (r.status_code, r.json["code"]) == (400, "field_required")
    assert state(qms) == before


# -- what the console reads ------------------------------------------------------------------

def test_the_ticket_in_hand_has_its_timer_since_the_call_then_since_service_began(
        client, officer, clock):
    issue(client, priority=True)
    ok(officer.act(1, "open"))
    assert console(officer)["ticket"] is None
    ok(officer.act(1, "next"))
    clock.advance(42)
    ok(officer.act(1, "recall"))
    ticket = console(officer)["ticket"]
    assert {k: ticket[k] for k in ("number", "service", "prefix", "priority", "status",
                                   "recalls", "elapsed_s", "served_at")} == {
        "number": "PA001", "service": "quoc-tich", "prefix": "PA", "priority": True,
        "status": "called", "recalls": 1, "elapsed_s": 42, "served_at": None}
    ok(officer.act(1, "serve"))
    clock.advance(75)
    state_ = console(officer)
    assert (state_["ticket"]["status"], state_["ticket"]["elapsed_s"]) == ("serving", 75)
    assert state_["ticket"]["served_at"] and state_["recall_limit"] == 3
    ok(officer.act(1, "complete"))
    assert console(officer)["ticket"] is None


def test_the_waiting_list_counts_each_line_its_priority_tickets_and_longest_wait(
        client, officer, officer2, clock):
    issue(client, "quoc-tich")
    clock.advance(300)
    issue(client, "quoc-tich", priority=True)
    issue(client, "cap-phep")  # not a service of counter 1
    clock.advance(60)
    ok(officer2.act(2, "open"))
    issue(client, "cong-chung")
    ok(officer2.act(2, "call", {"number": "PC001"}))  # then sent to counter 1
    ok(officer2.act(2, "transfer", {"counter": 1}))
    clock.advance(30)
    lines = console(officer, 1, lang="en")["waiting"]
    assert lines == [
        {"service": "quoc-tich", "prefix": "PA", "name": "Quốc tịch", "waiting": 2,
         "priority": 1, "longest_wait_s": 390},
        {"service": "cong-chung", "prefix": "PC", "name": "Công chứng", "waiting": 0,
         "priority": 0, "longest_wait_s": None},
        {"service": None, "prefix": None, "name": None, "waiting": 1, "priority": 0,
         "longest_wait_s": 30},
    ]


def _random_day(client, officer, counter, rng, clock):
    """Tickets of every service, some priority, some sent to ``counter``, and a few calls
    made first so that the counter's priority ratio is part way through."""
    center = client.application.extensions["qms"].center
    services = sorted(s for s, counters in center.counters_by_service.items() if counters)
    for _ in range(rng.randint(14, 22)):
        issue(client, rng.choice(services), priority=rng.random() < 0.4)
        clock.advance(rng.randint(1, 90))
    ok(officer.act(counter, "open"))
    for _ in range(rng.randint(0, 3)):
        if ok(officer.act(counter, "next"))["ticket"] is None:
            break
        if rng.random() < 0.3:  # handed to another service, then back to this counter
            ok(officer.act(counter, "transfer", {"counter": 2 if counter != 2 else 1}))
        else:
            ok(officer.act(counter, "serve"))
            ok(officer.act(counter, "complete"))


WEIGHTED = {"counters": [
    {"id": 1, "zone": "A", "services": [{"service": "quoc-tich", "weight": 1},
                                        {"service": "cong-chung", "weight": 3}]},
    {"id": 2, "zone": "A", "services": ["cong-chung", "quoc-tich"]}]}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("overrides, counter", [({}, 1), ({}, 4), (WEIGHTED, 1)],
                         ids=["service-order", "priority-counter", "weighted"])
def test_the_next_numbers_shown_are_the_order_call_next_takes(app_with, seed, overrides,
                                                              counter):
    app, client, clock = app_with(overrides)
    officer, other = Staff(app, "an"), Staff(app, "binh")
    rng = random.Random(seed)
    _random_day(client, officer, counter, rng, clock)
    ok(other.act(2 if counter != 2 else 1, "open"))
    for _ in range(rng.randint(0, 2)):  # tickets sent to this counter by another one
        if ok(other.act(2, "next"))["ticket"] is None:
            break
        ok(other.act(2, "transfer", {"counter": counter,
                                     "placement": rng.choice(["front", "end", "original"])}))
    shown = [n["number"] for n in console(officer, counter)["next"]]
    called = []
    while len(called) < 8:
        ticket = ok(officer.act(counter, "next"))["ticket"]
        if ticket is None:
            break
        called.append(ticket["number"])
        ok(officer.act(counter, "no-show"))
    assert shown == called and called


def test_the_officers_day_counts_served_no_shows_transfers_and_mean_service_time(
        client, officer, officer2, clock):
    for _ in range(5):
        issue(client)
    ok(officer.act(1, "open"))
    ok(officer2.act(2, "open"))
    for seconds in (60, 120):
        ok(officer.act(1, "next"))
        ok(officer.act(1, "serve"))
        clock.advance(seconds)
        ok(officer.act(1, "complete"))
    ok(officer.act(1, "next"))
    ok(officer.act(1, "no-show"))
    ok(officer.act(1, "next"))
    ok(officer.act(1, "transfer", {"service": "cap-phep"}))
    ok(officer2.act(2, "next"))
    ok(officer2.act(2, "serve"))
    ok(officer2.act(2, "complete"))
    assert console(officer)["stats"] == {"called": 4, "served": 2, "no_show": 1,
                                         "transferred": 1, "service_avg_s": 90}
    assert console(officer2, 2)["stats"] == {"called": 1, "served": 1, "no_show": 0,
                                             "transferred": 0, "service_avg_s": 0}
    assert console(Staff(client.application, "chua-lam"), 3)["stats"]["service_avg_s"] is None
    # Closing the counter with a visitor in hand gives them back to the queue: that is not a
    # transfer the officer made, and their day does not count it as one.
    issue(client, "quoc-tich", priority=True)
    ok(officer.act(1, "next"))
    ok(officer.act(1, "serve"))
    ok(officer.act(1, "close", {"force": True}))
    ok(officer.act(1, "open"))
    assert console(officer)["stats"] == {"called": 5, "served": 2, "no_show": 1,
                                         "transferred": 1, "service_avg_s": 90}


def test_the_console_state_is_one_read_with_its_log_position(client, officer, qms):
    ok(officer.act(1, "open"))
    first = console(officer)
    issue(client)
    second = console(officer)
    assert second["seq"] > first["seq"] and second["seq"] == qms.service.views.seq()
    assert (second["seated"], second["counter"]["status"]) == (True, "open")


# -- the pages -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/counter", "/counter/3"])
def test_the_staff_pages_send_a_visitor_without_a_session_to_the_login(client, path):
    r = client.get(path)
    assert r.status_code == 302
    assert r.headers["Location"] == "/counter/login?next=" + path.replace("/", "%2F")


@pytest.mark.parametrize("wanted, goes_to", [
    ("/counter/12", "/counter/12"), ("/counter", "/counter"), ("//evil.example/x", "/counter"),
    ("https://evil.example", "/counter"), ("/counter/1/../../admin", "/counter"), ("", "/counter"),
])
def test_the_login_page_leads_only_back_to_a_console_page(client, wanted, goes_to):
    r = client.get("/counter/login", query_string={"next": wanted})
    assert r.status_code == 200 and page_data(r)["next"] == goes_to
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_the_login_page_is_vietnamese_with_english_on_request(client):
    html = client.get("/counter/login").get_data(as_text=True)
    assert '<html lang="vi">' in html and "Đăng nhập" in html and "Mật khẩu" in html
    html = client.get("/counter/login?lang=en&next=/counter/2").get_data(as_text=True)
    assert '<html lang="en">' in html and "Password" in html
    assert "lang=vi&amp;next=%2Fcounter%2F2" in html  # the switch keeps where to go


def test_the_console_page_carries_what_its_script_starts_from(app, officer):
    r = officer.client.get("/counter/1")
    assert r.status_code == 200
    data = page_data(r)
    assert data["csrf"] == officer.csrf and data["counter"] == 1
    assert data["me"] == {"username": "can-bo-an", "role": "officer", "counters": []}
    assert data["recall_limit"] == 3 and data["placement"] == "front"
    assert [r["label"] for r in data["pause_reasons"]][:2] == ["Nghỉ giải lao", "Họp"]
    assert [c["id"] for c in data["counters"]] == [2, 3, 4]  # not itself, not inactive 5
    assert {s["prefix"] for s in data["services"]} == {"PA", "PC", "XA", "XC"}
    assert data["login_url"] == "/counter/login?next=%2Fcounter%2F1"
    assert all(m.startswith(("console_", "page_", "status_", "wait_"))
               for m in data["messages"])
    html = r.get_data(as_text=True)
    for key in "NRSCVBTGP":
        assert f'aria-keyshortcuts="{key}"' in html and f"<kbd>{key}</kbd>" in html
    english = page_data(officer.client.get("/counter/1?lang=en"))
    assert [r["label"] for r in english["pause_reasons"]][:2] == ["Break", "Meeting"]
    assert english["pause_reasons"][0]["value"] == "Nghỉ giải lao"  # what the server stores
    assert officer.client.get("/counter/99").status_code == 404


def test_the_picker_offers_only_the_counters_one_may_sit_at(app, supervisor):
    limited = Staff(app, "han-che", counters=(2, 4))
    assert page_data(limited.client.get("/counter"))["allowed"] == [2, 4]
    assert page_data(supervisor.client.get("/counter"))["allowed"] == [1, 2, 3, 4]


def test_the_page_scripts_and_styles_are_served(client, officer):
    html = officer.client.get("/counter/1").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/static/counter/[^"]+)"', html)
    assert len(assets) == 3
    for path in assets:
        with client.get(path) as r:
            assert r.status_code == 200, path


def test_every_console_message_is_in_both_languages():
    used = set()
    for path in [*(ROOT / "counter").rglob("*.html"), *(ROOT / "counter").rglob("*.js")]:
        used |= set(re.findall(r"""['"](console_[a-z_]*[a-z])['"]""",
                               path.read_text(encoding="utf-8")))
    used |= {f"console_counter_{s}" for s in ("open", "paused", "closed")}
    used |= {f"console_placement_{p}" for p in ("front", "end", "original")}
    assert len(used) > 60
    for lang in ("vi", "en"):
        assert sorted(used - set(CATALOGUE[lang])) == [], lang
    vi = json.loads((ROOT / "qms/translations/counter.vi.json").read_text(encoding="utf-8"))
    en = json.loads((ROOT / "qms/translations/counter.en.json").read_text(encoding="utf-8"))
    assert set(vi) == set(en) and all(k.startswith("console_") for k in vi)


# -- a real server -----------------------------------------------------------------------------

def test_consoles_calling_at_the_same_instant_never_get_the_same_ticket(live_server):
    url = live_server.url
    issued = {requests.post(url + "/api/tickets", json={"service": "quoc-tich"},
                            timeout=10).json()["number"] for _ in range(45)}
    counters = (1, 2, 4)  # every one of them serves quoc-tich
    sessions = {c: live_server.login(f"can-bo-{c}") for c in counters}
    for c, http in sessions.items():
        assert http.post(f"{url}/api/counters/{c}/open", timeout=10).status_code == 200
    got = {c: [] for c in counters}
    errors = []
    barrier = threading.Barrier(len(counters))

    def console_loop(counter, http):
        try:
            while True:
                barrier.wait(timeout=20)  # every console presses N at the same instant
                r = http.post(f"{url}/api/counters/{counter}/next", timeout=10)
                assert r.status_code == 200, r.text
                ticket = r.json()["ticket"]
                if ticket is None:
                    barrier.abort()  # the line is empty: the others stop too
                    return
                got[counter].append(ticket["number"])
                http.post(f"{url}/api/counters/{counter}/serve", timeout=10)
                http.post(f"{url}/api/counters/{counter}/complete", timeout=10)
        except threading.BrokenBarrierError:
            return
        except Exception as exc:  # reported below, in the test's own thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=console_loop, args=item) for item in sessions.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    numbers = [n for c in counters for n in got[c]]
    assert len(numbers) == len(set(numbers))  # nobody was called twice
    assert set(numbers) == issued  # and nobody was skipped
    assert all(len(got[c]) >= 5 for c in counters)  # they really did call side by side
