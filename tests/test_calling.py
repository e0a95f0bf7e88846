"""Who is called next, recall, transfer and the daily reset, through the HTTP API."""

import threading
from datetime import UTC

import pytest

from conftest import Staff, issue


def open_(staff, counter):
    r = staff.act(counter, "open")
    assert r.status_code == 200, r.json
    return r.json["counter"]


def call(staff, counter):
    r = staff.act(counter, "next")
    assert r.status_code == 200, r.json
    return r.json["ticket"]


def finish(staff, counter):
    assert staff.act(counter, "serve").status_code == 200
    assert staff.act(counter, "complete").status_code == 200


def test_a_counter_calls_in_its_service_order_then_by_longest_wait(client, officer, clock):
    issue(client, "cong-chung")  # PC001, older
    clock.advance(5)
    issue(client, "quoc-tich")   # PA001
    clock.advance(5)
    issue(client, "quoc-tich")   # PA002
    open_(officer, 1)            # counter 1 serves quoc-tich first
    called = []
    for _ in range(3):
        called.append(call(officer, 1)["number"])
        finish(officer, 1)
    assert called == ["PA001", "PA002", "PC001"]
    assert call(officer, 1) is None


def test_a_counter_never_gets_a_ticket_it_does_not_serve(client, officer):
    issue(client, "cap-phep")
    issue(client, "nha-o")
    open_(officer, 1)
    assert call(officer, 1) is None
    r = client.get("/api/services").json["services"]
    assert {s["id"]: s["waiting"] for s in r}["cap-phep"] == 1


def test_weighted_counters_call_the_longest_weighted_wait(app_with):
    app, client, clock = app_with({"counters": [
        {"id": 1, "zone": "A", "services": [{"service": "quoc-tich", "weight": 1},
                                            {"service": "cong-chung", "weight": 3}]}]})
    officer = Staff(app, "an")
    issue(client, "quoc-tich")
    clock.advance(60)
    issue(client, "cong-chung")
    clock.advance(40)  # quoc-tich waited 100 s x1, cong-chung 40 s x3 = 120
    open_(officer, 1)
    assert call(officer, 1)["number"] == "PC001"


def test_priority_tickets_interleave_by_the_configured_ratio(client, officer, clock):
    for _ in range(4):
        issue(client, "quoc-tich")
        clock.advance(1)
    for _ in range(3):
        issue(client, "quoc-tich", priority=True)
        clock.advance(1)
    open_(officer, 1)
    order = []
    for _ in range(7):
        t = call(officer, 1)
        order.append(("P" if t["priority"] else "o") + t["number"])
        finish(officer, 1)
    # ratio 3: a priority ticket goes first, then at least two ordinary calls between
    # priority calls while ordinary tickets wait.
    assert order == ["PPA005", "oPA001", "oPA002", "PPA006", "oPA003", "oPA004", "PPA007"]


def test_a_priority_counter_always_calls_priority_first(client, officer, clock):
    issue(client, "quoc-tich")
    clock.advance(1)
    issue(client, "quoc-tich", priority=True)
    issue(client, "quoc-tich", priority=True)
    open_(officer, 4)
    assert [call(officer, 4)["priority"], finish(officer, 4), call(officer, 4)["priority"]][::2] \
        == [True, True]


def test_recall_up_to_the_limit_then_requeue_steps_back_behind_the_next_three(
        client, officer, clock):
    first = issue(client)
    others = []
    for _ in range(4):
        clock.advance(1)
        others.append(issue(client))
    open_(officer, 1)
    call(officer, 1)
    for n in range(1, 4):
        r = officer.act(1, "recall")
        assert r.status_code == 200 and r.json["ticket"]["recalls"] == n
    r = officer.act(1, "recall")
    assert r.status_code == 409 and r.json["code"] == "recall_limit_reached"
    assert officer.act(1, "requeue").json["ticket"]["status"] == "waiting"
    # Not here yet: the next three go first, then the late visitor's turn comes again.
    assert client.get(f"/api/tickets/{first['token']}").json["position"] == 4
    called = []
    for _ in range(5):
        called.append(call(officer, 1)["number"])
        finish(officer, 1)
    assert called == [*(t["number"] for t in others[:3]), first["number"], others[3]["number"]]


@pytest.mark.parametrize("behind, waiting_after, position", [(3, 1, 2), (0, 2, 1), (1, 2, 2)])
def test_a_put_back_ticket_goes_behind_as_many_as_configured_or_all(
        app_with, behind, waiting_after, position):
    app, client, clock = app_with({"queue": {"requeue_behind": behind}})
    first = issue(client)
    for _ in range(waiting_after):
        clock.advance(1)
        issue(client)
    staff = Staff(app, "cb-lui", counters=[1])
    staff.act(1, "open")
    staff.act(1, "next")
    assert staff.act(1, "requeue").status_code == 200
    assert client.get(f"/api/tickets/{first['token']}").json["position"] == position


@pytest.mark.parametrize("placement,expected_position", [
    ("front", 1), ("end", 3), ("original", 2)])
def test_transfer_to_another_service_places_the_ticket_as_asked(
        client, officer, clock, placement, expected_position):
    issue(client, "cong-chung")
    clock.advance(10)
    mover = issue(client, "quoc-tich")
    clock.advance(10)
    issue(client, "cong-chung")
    open_(officer, 1)
    assert call(officer, 1)["number"] == mover["number"]
    r = officer.act(1, "transfer", {"service": "cong-chung", "placement": placement})
    assert r.status_code == 200, r.json
    t = r.json["ticket"]
    assert (t["number"], t["service"], t["status"]) == ("PA001", "cong-chung", "waiting")
    view = client.get(f"/api/tickets/{mover['token']}").json
    assert view["position"] == expected_position and view["service"] == "cong-chung"
    assert officer.act(1, "complete").json["code"] == "no_current_ticket"


def test_transfer_to_a_counter_is_called_only_there(client, officer, officer2):
    t = issue(client, "quoc-tich")
    open_(officer, 1)
    open_(officer2, 2)
    call(officer, 1)
    r = officer.act(1, "transfer", {"counter": 2})
    assert r.json["ticket"]["target_counter"] == 2
    got = call(officer2, 2)
    assert got["number"] == t["number"] and got["counter"] == 2


def test_a_transferred_ticket_is_not_called_by_other_counters(client, officer, officer2):
    issue(client, "quoc-tich")
    open_(officer, 1)
    open_(officer2, 2)
    call(officer, 1)
    officer.act(1, "serve")
    officer.act(1, "transfer", {"counter": 2})
    assert call(officer, 1) is None


def test_two_counters_pressing_next_at_once_never_get_the_same_ticket(app, client):
    for _ in range(40):
        issue(client, "quoc-tich")
    staff = [Staff(app, f"cb{i}") for i in (1, 2)]
    for s, c in zip(staff, (1, 2), strict=True):
        open_(s, c)
    got = {1: [], 2: []}
    barrier = threading.Barrier(2)

    def worker(s, counter):
        for _ in range(20):
            barrier.wait()
            r = s.act(counter, "next")
            assert r.status_code == 200, r.json
            got[counter].append(r.json["ticket"]["number"])
            s.act(counter, "serve")
            s.act(counter, "complete")

    threads = [threading.Thread(target=worker, args=(s, c))
               for s, c in zip(staff, (1, 2), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = got[1] + got[2]
    assert len(numbers) == 40 and len(set(numbers)) == 40


def test_the_daily_reset_closes_open_tickets_and_restarts_numbering(
        client, officer, clock, qms):
    issue(client)
    waiting = issue(client)
    open_(officer, 1)
    call(officer, 1)
    clock.advance(24 * 3600)
    assert qms.service.reset_day_if_needed() is True
    assert client.get(f"/api/tickets/{waiting['token']}").json["status"] == "closed"
    counters = {c["id"]: c for c in client.get("/api/counters").json["counters"]}
    assert counters[1]["status"] == "closed" and counters[1]["officer"] is None
    assert issue(client)["number"] == "PA001"
    assert qms.service.reset_day_if_needed() is False


def test_the_service_day_is_the_local_day_not_utc(qms, clock):
    # 2026-05-28 23:30 in Ho Chi Minh City is 16:30 UTC the same day, and 00:30 local
    # the next day is still 2026-05-28 in UTC.
    from datetime import datetime
    clock.t = datetime(2026, 5, 28, 17, 30, tzinfo=UTC).timestamp()
    assert qms.service.clock.service_day() == "2026-05-29"


def test_a_paused_counter_does_not_call_and_resumes(client, officer):
    issue(client)
    open_(officer, 1)
    r = officer.act(1, "pause", {"reason": "họp"})
    assert r.json["counter"]["status"] == "paused" and r.json["counter"]["pause_reason"] == "họp"
    assert officer.act(1, "next").json["code"] == "counter_paused"
    assert officer.act(1, "resume").json["counter"]["status"] == "open"
    assert call(officer, 1)["number"] == "PA001"


def test_call_a_specific_number(client, officer):
    issue(client)
    second = issue(client)
    open_(officer, 1)
    r = officer.act(1, "call", {"number": second["number"].lower()})
    assert r.json["ticket"]["number"] == second["number"]
    assert officer.act(1, "complete").status_code == 409  # not served yet


def test_no_show_frees_the_counter(client, officer):
    t = issue(client)
    open_(officer, 1)
    call(officer, 1)
    assert officer.act(1, "no-show").json["ticket"]["status"] == "no_show"
    assert client.get(f"/api/tickets/{t['token']}").json["status"] == "no_show"
    assert call(officer, 1) is None


def test_estimated_wait_follows_recent_service_times_and_open_counters(
        client, officer, officer2, clock):
    open_(officer, 1)
    for _ in range(2):  # two services of 300 s each at counter 1
        issue(client)
        call(officer, 1)
        clock.advance(300)
        finish(officer, 1)
    for _ in range(4):
        issue(client)
    services = {s["id"]: s for s in client.get("/api/services").json["services"]}
    assert services["quoc-tich"]["waiting"] == 4
    assert services["quoc-tich"]["estimated_wait_s"] == 4 * 300  # one open counter
    open_(officer2, 2)
    services = {s["id"]: s for s in client.get("/api/services").json["services"]}
    assert services["quoc-tich"]["estimated_wait_s"] == 4 * 300 // 2


def test_a_ticket_cannot_be_sent_to_an_inactive_counter(client, officer, qms):
    from test_api import state
    issue(client)
    open_(officer, 1)
    call(officer, 1)
    before = state(qms)
    r = officer.act(1, "transfer", {"counter": 5})
    assert (r.status_code, r.json["code"]) == (409, "counter_inactive")
    assert state(qms) == before


def test_tickets_sent_to_one_counter_keep_the_placement_asked(client, officer, officer2):
    first = issue(client, "quoc-tich")
    second = issue(client, "cong-chung")
    open_(officer, 1)
    open_(officer2, 2)
    call(officer, 1)
    officer.act(1, "transfer", {"counter": 2, "placement": "end"})
    call(officer, 1)
    officer.act(1, "transfer", {"counter": 2, "placement": "front"})
    assert client.get(f"/api/tickets/{second['token']}").json["position"] == 1
    assert client.get(f"/api/tickets/{first['token']}").json["position"] == 2
    assert call(officer2, 2)["number"] == second["number"]


def test_a_paused_counter_cannot_call_a_number_either(client, officer):
    t = issue(client)
    open_(officer, 1)
    officer.act(1, "pause", {"reason": "nghỉ giải lao"})
    r = officer.act(1, "call", {"number": t["number"]})
    assert (r.status_code, r.json["code"]) == (409, "counter_paused")


def test_a_takeover_makes_the_new_officer_answer_for_the_ticket(client, officer, supervisor,
                                                               qms):
    issue(client)
    open_(officer, 1)
    call(officer, 1)
    supervisor.act(1, "open")
    supervisor.act(1, "serve")
    supervisor.act(1, "complete")
    with qms.storage.db() as db:
        assert db.execute("SELECT officer FROM tickets").fetchone()[0] == "giam-sat"


def test_the_reset_closes_yesterday_and_leaves_today_alone(client, officer, officer2,
                                                          clock, qms):
    from datetime import datetime
    clock.t = datetime.fromisoformat("2026-05-29T16:00:00+07:00").timestamp()
    old_waiting, old_called = issue(client), issue(client, "cap-phep")
    open_(officer2, 3)
    call(officer2, 3)
    open_(officer, 1)
    clock.t = datetime.fromisoformat("2026-05-30T00:00:01+07:00").timestamp()
    # The first action of the new day settles the old one before it runs.
    fresh = issue(client)
    assert fresh["number"] == "PA001"
    for t in (old_waiting, old_called):
        assert client.get(f"/api/tickets/{t['token']}").json["status"] == "closed"
    counters = {c["id"]: c for c in client.get("/api/counters").json["counters"]}
    assert counters[1]["status"] == counters[3]["status"] == "closed"
    assert officer.act(1, "open").status_code == 200
    assert call(officer, 1)["number"] == "PA001"
    with qms.storage.db() as db:
        closed = db.execute("SELECT day FROM events WHERE type = 'closed'").fetchall()
        reset = db.execute("SELECT day FROM events WHERE type = 'day_reset'").fetchall()
    assert [r[0] for r in closed] == ["2026-05-29", "2026-05-29"]
    assert [r[0] for r in reset] == ["2026-05-30"]
    clock.t -= 3600  # the clock steps back over midnight: nothing is reset again
    assert qms.service.reset_day_if_needed() is False
    assert client.get("/api/counters").json["counters"][0]["officer"] == "can-bo-an"


def test_the_service_day_can_start_at_another_hour(app_with):
    _, _, clock = app_with({"hours": {"daily_reset": "03:00"}},
                           when="2026-05-29T02:59:00+07:00")
    assert clock.service_day() == "2026-05-28"
    clock.advance(60)
    assert clock.service_day() == "2026-05-29"


def test_events_are_published_only_after_their_transaction_committed(tmp_path, cfg, clock):
    import sqlite3

    from qms.center import Center
    from qms.services import QueueService
    from qms.storage import Storage
    seen = []
    storage = Storage(tmp_path / "q.sqlite3")

    def publish(events):
        with sqlite3.connect(tmp_path / "q.sqlite3") as other:  # another connection
            for e in events:
                if e.event_name() == "ticket_issued":
                    row = other.execute("SELECT COUNT(*) FROM tickets WHERE number = ?",
                                        [e.number]).fetchone()
                    seen.append((e.number, row[0], e.seq))
    service = QueueService(storage, Center(cfg), clock, publish)
    service.issue("quoc-tich")
    service.issue("quoc-tich")
    assert [s[:2] for s in seen] == [("PA001", 1), ("PA002", 1)]
    assert 0 < seen[0][2] < seen[1][2]  # seq follows the event log
    storage.close()


def test_a_longest_wait_counter_takes_whoever_waited_longest(app_with):
    app, client, clock = app_with({"counters": [
        {"id": 1, "zone": "A", "calling": "longest_wait",
         "services": ["quoc-tich", "cong-chung"]}]})
    officer = Staff(app, "an")
    issue(client, "cong-chung")
    clock.advance(10)
    issue(client, "quoc-tich")
    open_(officer, 1)
    assert call(officer, 1)["number"] == "PC001"  # listed second, but waited longer


def test_the_waiting_count_includes_tickets_sent_to_a_counter(app, client, officer, qms):
    published = []
    qms.service.publish = published.extend
    issue(client)
    issue(client)
    open_(officer, 1)
    call(officer, 1)
    officer.act(1, "transfer", {"counter": 2})
    issue(client)
    changed = [e for e in published if e.event_name() == "queue_changed"][-1]
    assert changed.waiting == 3
    services = {s["id"]: s for s in client.get("/api/services").json["services"]}
    assert services["quoc-tich"]["waiting"] == 3
