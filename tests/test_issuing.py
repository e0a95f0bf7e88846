"""Issuing rules: registered kiosks, hours, daily limits; and the event log behind it all."""

import sqlite3

import pytest

import server
from conftest import SMALL, FakeClock, Staff, issue, make_config
from qms import settings


@pytest.fixture
def closed_lan(app_with):
    _, client, _ = app_with({
        "issuing": {"open_to_lan": False},
        "kiosks": [{"id": "kiosk-1", "secret": "bi-mat-cua-kiosk", "zone": "A"}]})
    return client


def test_only_a_registered_kiosk_with_its_secret_issues_when_the_lan_is_closed(closed_lan):
    r = closed_lan.post("/api/tickets", json={"service": "quoc-tich"})
    assert (r.status_code, r.json["code"]) == (403, "kiosk_required")
    r = closed_lan.post("/api/tickets", json={"service": "quoc-tich", "kiosk": "kiosk-1"},
                        headers={"X-Kiosk-Secret": "doan-bua"})
    assert (r.status_code, r.json["code"]) == (403, "kiosk_secret")
    r = closed_lan.post("/api/tickets", json={"service": "quoc-tich", "kiosk": "kiosk-1"},
                        headers={"X-Kiosk-Secret": "bi-mat-cua-kiosk"})
    assert r.status_code == 201 and r.json["number"] == "PA001"


HOURS = {"enforce": True, "days": ["mon", "tue", "wed", "thu", "fri"],
         "issuing": [{"open": "07:30", "close": "11:00"}, {"open": "13:00", "close": "16:30"}]}


@pytest.mark.parametrize("when,is_open", [
    ("2026-05-28T07:29:59+07:00", False),
    ("2026-05-28T07:30:00+07:00", True),
    ("2026-05-28T10:59:00+07:00", True),
    ("2026-05-28T11:00:00+07:00", False),
    ("2026-05-28T12:30:00+07:00", False),
    ("2026-05-28T13:00:00+07:00", True),
    ("2026-05-28T16:30:00+07:00", False),
    ("2026-05-30T09:00:00+07:00", False),  # Saturday
    ("2026-05-28T02:00:00+00:00", True),   # 09:00 in Ho Chi Minh City
])
def test_tickets_are_issued_only_in_the_issuing_hours_when_enforced(app_with, when, is_open):
    app, client, _ = app_with({"hours": HOURS}, when)
    service = client.get("/api/services").json["services"][0]
    r = client.post("/api/tickets", json={"service": "quoc-tich"})
    if is_open:
        assert service["open"] is True and r.status_code == 201
    else:
        assert (service["open"], service["closed_reason"]) == (False, "outside_hours")
        assert (r.status_code, r.json["code"]) == (409, "service_closed_outside_hours")
        assert r.json["error"] == "Ngoài giờ cấp số."


def test_a_service_stops_at_its_daily_limit(app_with):
    app, client, clock = app_with({"issuing": {"daily_limit": 2}})
    issue(client)
    issue(client)
    r = client.post("/api/tickets", json={"service": "quoc-tich"})
    assert (r.status_code, r.json["code"]) == (409, "service_closed_daily_limit")
    services = {s["id"]: s for s in client.get("/api/services").json["services"]}
    assert services["quoc-tich"]["closed_reason"] == "daily_limit"
    assert services["cong-chung"]["open"] is True
    clock.advance(86400)
    assert issue(client)["number"] == "PA001"


def test_a_service_without_an_active_counter_is_closed(app_with):
    app, client, _ = app_with({"counters": [
        {"id": 1, "zone": "A", "services": ["quoc-tich"]},
        {"id": 2, "zone": "B", "services": ["nha-o"], "active": False}]})
    services = {s["id"]: s for s in client.get("/api/services").json["services"]}
    assert services["nha-o"]["closed_reason"] == "no_counter"
    r = client.post("/api/tickets", json={"service": "nha-o"})
    assert (r.status_code, r.json["code"]) == (409, "service_closed_no_counter")


def test_every_change_is_one_event_row_with_time_counter_officer_and_service(
        client, qms, officer, clock):
    issue(client)
    officer.act(1, "open")
    for action in ("next", "recall", "serve"):
        clock.advance(30)
        officer.act(1, action)
    officer.act(1, "transfer", {"service": "cong-chung"})
    officer.act(1, "next")
    officer.act(1, "no-show")
    with qms.storage.db() as db:
        rows = [dict(r) for r in db.execute("SELECT * FROM events ORDER BY id")]
    assert [r["type"] for r in rows] == [
        "issued", "counter_opened", "called", "recalled", "serving", "transferred", "called",
        "no_show"]
    for r in rows[2:]:
        assert r["counter"] == 1 and r["officer"] == "can-bo-an" and r["number"] == "PA001"
    assert [r["service"] for r in rows[2:]] == [
        "quoc-tich", "quoc-tich", "quoc-tich", "quoc-tich", "cong-chung", "cong-chung"]
    assert rows[3]["at"] - rows[2]["at"] == 30


def test_the_event_log_cannot_be_rewritten(client, qms):
    issue(client)
    with qms.storage.db() as db:
        for sql in ("UPDATE events SET type = 'x'", "DELETE FROM events"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(sql)


def test_the_counter_list_shows_who_sits_where(client, app):
    Staff(app, "an").act(3, "open")
    counters = {c["id"]: c for c in client.get("/api/counters").json["counters"]}
    assert (counters[3]["status"], counters[3]["officer"]) == ("open", "an")


def test_a_config_edit_never_breaks_old_tickets_or_seats(tmp_path):
    cfg = settings.load(make_config(tmp_path))
    clock = FakeClock(cfg)
    app = server.create_app(cfg, clock=clock)
    t = issue(app.test_client(), "nha-o")
    Staff(app, "an").act(3, "open")
    app.extensions["qms"].close()
    smaller = {**SMALL, "departments": [SMALL["departments"][0]],
               "counters": SMALL["counters"][:2]}
    cfg = settings.load(make_config(tmp_path, base=smaller))  # same data folder
    app = server.create_app(cfg, clock=clock)
    client = app.test_client()
    view = client.get(f"/api/tickets/{t['token']}")
    assert view.status_code == 200 and view.json["number"] == "XC001"
    assert view.json["zone"] is None
    officer = app.test_client()
    officer.post("/api/login", json={"username": "an", "password": "mat-khau-dai-1"})
    me = officer.get("/api/me").json
    r = officer.post("/api/counters/1/open", headers={"X-CSRFToken": me["csrf_token"]})
    assert r.status_code == 200  # not blocked by the seat at the removed counter 3
    app.extensions["qms"].close()


# -- one tap, one ticket: a retried request gets the ticket it already made ----------------

def issued_events(app):
    with app.extensions["qms"].storage.db() as db:
        return [tuple(r) for r in db.execute(
            "SELECT number FROM events WHERE type = 'issued'").fetchall()]


def test_a_request_sent_again_with_its_key_gets_the_same_ticket_not_a_second(app, client):
    key = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    first = client.post("/api/tickets", json={"service": "quoc-tich", "request_id": key})
    again = client.post("/api/tickets", json={"service": "quoc-tich", "request_id": key})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json["repeated"] is False and again.json["repeated"] is True
    for name in ("number", "token", "status_url", "issued_at", "position"):
        assert again.json[name] == first.json[name], name
    assert issued_events(app) == [("PA001",)]
    # Another tap has another key, and another ticket.
    other = client.post("/api/tickets", json={"service": "quoc-tich",
                                              "request_id": "f" * 32})
    assert (other.status_code, other.json["number"]) == (201, "PA002")
    # Once called, the answer to the old key says so: it is the ticket as it is now.
    staff = Staff(app, "cb-retry", counters=[1])
    staff.act(1, "open")
    staff.act(1, "next")
    later = client.post("/api/tickets", json={"service": "quoc-tich", "request_id": key})
    assert (later.status_code, later.json["status"], later.json["counter"]) == \
        (201, "called", 1)
    # Transferred, the ticket lives on in another line under the same token.
    staff.act(1, "transfer", {"service": "cap-phep"})
    moved = client.post("/api/tickets", json={"service": "quoc-tich", "request_id": key})
    assert (moved.status_code, moved.json["status"], moved.json["service"]) == \
        (201, "waiting", "cap-phep")
    assert (moved.json["token"], moved.json["position"]) == (first.json["token"], 1)
    assert len(issued_events(app)) == 2


@pytest.mark.parametrize("body, status, code", [
    ({"request_id": "short"}, 400, "request_id_format"),
    ({"request_id": "x" * 65}, 400, "field_too_long"),
    ({"request_id": "a b c d e f g h i j k"}, 400, "request_id_format"),
    ({"request_id": 1234567890123456}, 400, "field_type"),
    ({"request_id": "0" * 32, "service": "cap-phep"}, 409, "request_id_reused"),
    ({"request_id": "0" * 32, "priority": True}, 409, "request_id_reused"),
])
def test_a_malformed_or_reused_request_key_is_refused_and_changes_nothing(app, client, body,
                                                                          status, code):
    assert client.post("/api/tickets", json={"service": "quoc-tich",
                                             "request_id": "0" * 32}).status_code == 201
    r = client.post("/api/tickets", json={"service": "quoc-tich", **body})
    assert (r.status_code, r.json["code"]) == (status, code), r.json
    assert r.json["error"]
    assert issued_events(app) == [("PA001",)]


def test_the_same_key_sent_from_eight_threads_at_once_makes_one_ticket(app):
    """Real threads, each with its own client, in rounds started by a barrier: copies of one
    request meet inside one transaction (group commit) or one after the other, and every
    copy gets the same ticket, never an error and never a second ticket."""
    import threading
    clients = [app.test_client() for _ in range(8)]
    start = threading.Barrier(8)
    for round_ in range(15):
        key = f"round-{round_:02d}-0123456789abcdef"
        answers = [None] * 8

        def post(i, key=key, answers=answers):
            start.wait()
            answers[i] = clients[i].post("/api/tickets", json={"service": "cap-phep",
                                                               "request_id": key})

        threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.status_code for r in answers] == [201] * 8, [r.json for r in answers]
        assert sum(not r.json["repeated"] for r in answers) == 1
        assert {r.json["number"] for r in answers} == {f"XA{round_ + 1:03d}"}
        assert len({r.json["token"] for r in answers}) == 1
    with app.extensions["qms"].storage.db() as db:
        assert db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 15


def test_a_day_that_turns_while_a_ticket_waits_for_the_lock_gives_a_ticket_of_the_new_day(
        app_with):
    app, client, clock = app_with({}, when="2026-05-28T23:59:59.5+07:00")
    issue(client)  # yesterday's ticket, closed by the reset
    storage = app.extensions["qms"].storage
    grouped = storage.grouped

    def midnight_passes_in_the_queue(*args, **kwargs):
        clock.advance(1.0)
        return grouped(*args, **kwargs)

    storage.grouped = midnight_passes_in_the_queue
    ticket = issue(client)
    storage.grouped = grouped
    assert (ticket["number"], ticket["issued_at"][:10]) == ("PA001", "2026-05-29")
    seen = client.get(f"/api/tickets/{ticket['token']}").json
    assert (seen["status"], seen["position"]) == ("waiting", 1)
    waiting = {s["id"]: s["waiting"] for s in client.get("/api/services").json["services"]}
    assert waiting["quoc-tich"] == 1
