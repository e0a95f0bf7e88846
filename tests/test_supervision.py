"""Supervisors' actions through the API: pausing issuing for a service and moving waiting
tickets; malformed requests are refused and change nothing; the board's figures."""

import pytest

from conftest import Staff, issue


@pytest.fixture
def boss(app):
    return Staff(app, "giam-sat", role="supervisor")


def board(staff):
    r = staff.client.get("/api/dashboard")
    assert r.status_code == 200, r.json
    return {s["id"]: s for s in r.json["services"]}


def waiting_numbers(qms, service):
    with qms.storage.db() as db:
        return [r[0] for r in db.execute(
            "SELECT number FROM tickets WHERE status = 'waiting' AND service = ? "
            "ORDER BY priority DESC, queue_key, id", [service])]


def test_moving_keeps_numbers_and_issue_order_among_the_tickets_already_there(
        client, clock, qms, boss):
    there = issue(client, "cong-chung")
    clock.advance(60)
    moved = [issue(client) for _ in range(3)]
    clock.advance(60)
    later = issue(client, "cong-chung")
    r = boss.post("/api/services/quoc-tich/move", json={"to": "cong-chung", "count": 2})
    assert r.status_code == 200, r.json
    assert r.json["moved"] == [moved[0]["number"], moved[1]["number"]]
    assert waiting_numbers(qms, "cong-chung") == [
        there["number"], moved[0]["number"], moved[1]["number"], later["number"]]
    assert waiting_numbers(qms, "quoc-tich") == [moved[2]["number"]]
    with qms.storage.db() as db:
        logged = db.execute("SELECT number, officer, data FROM events WHERE type = "
                            "'transferred' ORDER BY id").fetchall()
    assert [(n, o) for n, o, _ in logged] == [(moved[0]["number"], "giam-sat"),
                                              (moved[1]["number"], "giam-sat")]
    assert all('"reason": "moved_by_supervisor"' in d for _, _, d in logged)


def test_pausing_issuing_closes_the_service_to_new_tickets_only(client, officer, boss):
    waiting = issue(client)
    r = boss.post("/api/services/quoc-tich/issuing", json={"paused": True,
                                                           "reason": "Hết phôi"})
    assert r.json == {"service": "quoc-tich", "issuing_paused": True, "reason": "Hết phôi"}
    refused = client.post("/api/tickets", json={"service": "quoc-tich"})
    assert (refused.status_code, refused.json["code"]) == (409, "service_closed_paused")
    services = {s["id"]: s for s in client.get("/api/services").json["services"]}
    assert (services["quoc-tich"]["open"], services["quoc-tich"]["closed_reason"]) == (
        False, "paused")
    officer.act(1, "open")
    assert officer.act(1, "next").json["ticket"]["number"] == waiting["number"]
    assert board(boss)["quoc-tich"]["paused_reason"] == "Hết phôi"
    boss.post("/api/services/quoc-tich/issuing", json={"paused": False})
    issue(client)
    assert board(boss)["quoc-tich"]["issuing_paused"] is False


@pytest.mark.parametrize("path, body, status, code", [
    ("/api/services/quoc-tich/move", {}, 400, "field_required"),
    ("/api/services/quoc-tich/move", {"to": 5}, 400, "field_type"),
    ("/api/services/quoc-tich/move", {"to": "quoc-tich"}, 400, "move_to_same"),
    ("/api/services/quoc-tich/move", {"to": "cong-chung", "count": 0}, 400, "count_range"),
    ("/api/services/quoc-tich/move", {"to": "cong-chung", "count": True}, 400, "field_type"),
    ("/api/services/quoc-tich/move", {"to": "cong-chung", "count": 10**30}, 400,
     "count_range"),
    ("/api/alerts/wait:quoc-tich/dismiss", {}, 404, "unknown_alert"),
    ("/api/services/quoc-tich/move", {"to": "khong-co"}, 404, "unknown_service"),
    ("/api/services/khong-co/move", {"to": "cong-chung"}, 404, "unknown_service"),
    ("/api/services/quoc-tich/move", {"to": "cong-chung", "x": 1}, 400, "unknown_field"),
    ("/api/services/quoc-tich/issuing", {}, 400, "field_required"),
    ("/api/services/quoc-tich/issuing", {"paused": "yes"}, 400, "field_type"),
    ("/api/services/quoc-tich/issuing", {"paused": True, "reason": "x" * 201}, 400,
     "field_too_long"),
    ("/api/services/khong-co/issuing", {"paused": True}, 404, "unknown_service"),
])
def test_a_malformed_supervisor_request_is_refused_and_changes_nothing(
        client, qms, boss, path, body, status, code):
    issue(client)
    with qms.storage.db() as db:
        before = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    r = boss.post(path, json=body)
    assert (r.status_code, r.json["code"]) == (status, code)
    with qms.storage.db() as db:
        assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == before
    assert waiting_numbers(qms, "quoc-tich") == ["PA001"]


def test_without_the_csrf_token_nothing_is_done(client, boss):
    issue(client)
    r = boss.client.post("/api/services/quoc-tich/move", json={"to": "cong-chung"})
    assert (r.status_code, r.json["code"]) == (403, "csrf_failed")


def test_the_board_counts_waits_from_when_a_ticket_entered_its_line(
        client, clock, officer, boss):
    issue(client)
    clock.advance(900)  # 15 min: amber for a 20-minute threshold at 75 %
    line = board(boss)["quoc-tich"]
    assert (line["waiting"], line["longest_wait_s"], line["level"]) == (1, 900, "amber")
    clock.advance(300)
    assert board(boss)["quoc-tich"]["level"] == "red"
    officer.act(1, "open")
    officer.act(1, "next")
    officer.act(1, "transfer", json={"service": "cong-chung"})
    clock.advance(120)
    moved, before = board(boss)["cong-chung"], board(boss)["quoc-tich"]
    assert (moved["waiting"], moved["longest_wait_s"], moved["level"]) == (1, 120, "ok")
    assert (before["waiting"], before["calls_last_hour"], before["wait_avg_hour_s"]) == (
        0, 1, 1200)
    r = boss.client.get("/api/dashboard").json
    assert [a["id"] for a in r["alerts"]] == []


def test_a_device_back_from_a_blip_is_still_missed_when_it_goes_for_good(app, clock):
    monitor = app.extensions["qms_monitor"]  # dashboard.offline_after_s: 30 s
    monitor.connected("s1", "kiosk:k9", "kiosk")
    clock.advance(100)  # in service
    monitor.disconnected("s1")
    monitor.connected("s2", "kiosk:k9", "kiosk")
    clock.advance(2)  # a blip
    monitor.disconnected("s2")
    monitor.connected("s3", "display:A", "display")  # a page opened for a moment
    monitor.disconnected("s3")
    clock.advance(3600)
    monitor.check()
    assert sorted(monitor.alerts) == ["offline:kiosk:k9"]
    assert monitor.dismiss("offline:kiosk:k9") and monitor.alerts == {}
    monitor.check()
    assert monitor.alerts == {}  # dismissed until it comes back and goes again
