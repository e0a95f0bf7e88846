"""Live push through a real server on 127.0.0.1 and python-socketio clients."""

import pytest
import requests
import socketio

from conftest import LiveServer


class Watcher:
    """A Socket.IO client that joined one room and records what it receives."""

    def __init__(self, url, room, cookie=None):
        self.sio = socketio.SimpleClient()
        headers = {"Cookie": cookie} if cookie else {}
        self.sio.connect(url, headers=headers, transports=["websocket"])
        self.ack = self.sio.call("join", {"room": room}, timeout=10)

    def next(self, timeout=5):
        return self.sio.receive(timeout=timeout)

    def until(self, event, timeout=5):
        """Events up to and including the first ``event``."""
        seen = []
        while True:
            name, *args = self.next(timeout)
            seen.append((name, args[0] if args else None))
            if name == event:
                return seen

    def close(self):
        self.sio.disconnect()


def cookie_of(http: requests.Session):
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


@pytest.fixture
def watchers():
    made = []

    def make(*args, **kw):
        w = Watcher(*args, **kw)
        made.append(w)
        return w
    yield make
    for w in made:
        w.close()


def post(http, url, **kw):
    r = http.post(url, timeout=10, **kw)
    assert r.status_code < 300, r.text
    return r.json()


def test_a_display_gets_a_snapshot_then_every_call(live_server, watchers):
    url = live_server.url
    kiosk = requests.Session()
    first = post(kiosk, url + "/api/tickets", json={"service": "quoc-tich"})
    display = watchers(url, "display:A")
    assert display.ack == {"ok": True, "room": "display:A"}
    name, snap = display.next()
    assert name == "snapshot" and snap["room"] == "display:A"
    assert {w["service"]: w["waiting"] for w in snap["waiting"]}["quoc-tich"] == 1
    officer = live_server.login("can-bo-an")
    post(officer, url + "/api/counters/1/open")
    post(officer, url + "/api/counters/1/next")
    events = display.until("ticket_called")
    called = events[-1][1]
    assert called["number"] == first["number"] and called["counter"] == 1
    assert called["zone"] == "A" and called["service"] == "quoc-tich" and called["called_at"]
    assert called["announcement"].startswith("Mời công dân có số thứ tự pê, a, không, không, "
                                             "một, đến quầy số một")
    assert "audio_url" in called and "token" not in called
    post(officer, url + "/api/counters/1/recall")
    recalled = display.until("ticket_recalled")[-1][1]
    assert recalled["recalls"] == 1


def test_a_call_from_a_counter_in_another_zone_is_shown_where_the_visitor_waits(
        live_server, watchers):
    # Counter 4 (zone B, the priority counter) also serves quoc-tich, a zone-A service: its
    # visitor waits in zone A, as the ticket told them, and must see and hear the call.
    url = live_server.url
    ticket = post(requests.Session(), url + "/api/tickets", json={"service": "quoc-tich"})
    hall_a, hall_b = watchers(url, "display:A"), watchers(url, "display:B")
    officer = live_server.login("can-bo-uu-tien", counters="4")
    post(officer, url + "/api/counters/4/open")
    post(officer, url + "/api/counters/4/next")
    for hall in (hall_a, hall_b):
        called = hall.until("ticket_called")[-1][1]
        assert (called["number"], called["counter"], called["zone"], called["service_zone"]) \
            == (ticket["number"], 4, "B", "A")
    calls = requests.get(url + "/api/display?zone=A", timeout=5).json()["calls"]
    assert [(c["number"], c["counter"], c["zone"]) for c in calls] == [
        (ticket["number"], 4, "B")]
    # A call inside zone B for a zone-B service is not shown in zone A.
    other = post(requests.Session(), url + "/api/tickets", json={"service": "cap-phep"})
    post(officer, url + "/api/counters/4/serve")
    post(officer, url + "/api/counters/4/complete")
    post(officer, url + "/api/counters/4/next")
    assert hall_b.until("ticket_called")[-1][1]["number"] == other["number"]
    calls = requests.get(url + "/api/display?zone=A", timeout=5).json()["calls"]
    assert [c["number"] for c in calls] == [ticket["number"]]


def test_the_visitors_room_follows_only_that_ticket(live_server, watchers):
    url = live_server.url
    kiosk = requests.Session()
    mine = post(kiosk, url + "/api/tickets", json={"service": "quoc-tich"})
    post(kiosk, url + "/api/tickets", json={"service": "quoc-tich"})
    phone = watchers(url, f"ticket:{mine['token']}")
    name, snap = phone.next()
    assert name == "snapshot" and snap["ticket"]["number"] == mine["number"]
    assert snap["ticket"]["position"] == 1
    officer = live_server.login("can-bo-an")
    post(officer, url + "/api/counters/1/open")
    name, place = phone.next()  # a counter now serves the line: estimates change
    assert name == "position_changed" and (place["position"], place["line_open"]) == (1, True)
    for action in ("next", "serve", "complete"):
        post(officer, f"{url}/api/counters/1/{action}")
    post(officer, url + "/api/counters/1/next")  # the other ticket
    names = [phone.next()[0] for _ in range(3)]
    assert names == ["ticket_called", "ticket_serving", "ticket_completed"]
    with pytest.raises(socketio.exceptions.TimeoutError):
        phone.next(timeout=1)  # nothing about the other visitor's ticket


def test_an_unknown_ticket_or_room_is_refused_and_not_joined(live_server, watchers):
    w = watchers(live_server.url, "ticket:" + "A" * 24)
    assert w.ack["ok"] is False and w.ack["code"] == "unknown_ticket"
    w2 = watchers(live_server.url, "display:Z")
    assert w2.ack["code"] == "unknown_room"
    with pytest.raises(socketio.exceptions.TimeoutError):
        w.next(timeout=0.5)


def test_staff_rooms_need_the_right_session(live_server, watchers):
    url = live_server.url
    anonymous = watchers(url, "counter:1")
    assert anonymous.ack["code"] == "login_required"
    officer = live_server.login("can-bo-an")
    post(officer, url + "/api/counters/1/open")
    other = watchers(url, "counter:2", cookie=cookie_of(officer))
    assert other.ack["code"] == "not_your_counter"
    board = watchers(url, "dashboard", cookie=cookie_of(officer))
    assert board.ack["code"] == "role_required"
    mine = watchers(url, "counter:1", cookie=cookie_of(officer))
    assert mine.ack["ok"] is True
    name, snap = mine.next()
    assert name == "snapshot" and snap["counter"]["officer"] == "can-bo-an"
    post(requests.Session(), url + "/api/tickets", json={"service": "cong-chung"})
    changed = mine.until("queue_changed")[-1][1]
    assert (changed["service"], changed["waiting"]) == ("cong-chung", 1)
    admin = live_server.login("admin")
    sup_board = watchers(url, "dashboard", cookie=cookie_of(admin))
    assert sup_board.ack["ok"] is True and sup_board.next()[0] == "snapshot"


def test_a_refused_action_pushes_nothing(live_server, watchers):
    url = live_server.url
    officer = live_server.login("can-bo-an")
    post(officer, url + "/api/counters/1/open")
    display = watchers(url, "display")
    assert display.next()[0] == "snapshot"
    r = officer.post(url + "/api/counters/1/complete", timeout=10)
    assert r.status_code == 409
    r = requests.post(url + "/api/tickets", json={"service": "nope"}, timeout=10)
    assert r.status_code == 404
    with pytest.raises(socketio.exceptions.TimeoutError):
        display.next(timeout=1)


def test_a_client_that_reconnects_after_a_restart_gets_the_true_state(
        live_config, watchers):
    srv = LiveServer(live_config).start()
    try:
        ticket = requests.post(srv.url + "/api/tickets", json={"service": "nha-o"},
                               timeout=10).json()
        srv.kill()
        srv.start()
        phone = watchers(srv.url, f"ticket:{ticket['token']}")
        name, snap = phone.next()
        assert name == "snapshot" and snap["ticket"]["number"] == ticket["number"]
        assert snap["ticket"]["status"] == "waiting"
    finally:
        srv.kill()


@pytest.mark.parametrize("payload", [None, "display", 12, {"room": 12}, {"room": ""},
                                     {"room": "x" * 300}, {"roomz": "display"}])
def test_a_malformed_join_is_answered_with_an_error(live_server, payload):
    sio = socketio.SimpleClient()
    sio.connect(live_server.url, transports=["websocket"])
    try:
        ack = sio.call("join") if payload is None else sio.call("join", payload)
        assert ack["ok"] is False and ack["code"] == "field_required"
        assert sio.call("leave")["code"] == "field_required"
    finally:
        sio.disconnect()


@pytest.mark.parametrize("room", ["display:", "display:Z", "kiosk:1", "counter:0001",
                                  "counter:\u00b2", "counter:\u0661", "counter:", "ticket:",
                                  "dashboard:x", "nothing"])
def test_rooms_that_would_never_receive_anything_are_refused(live_server, watchers, room):
    admin = live_server.login("admin")
    w = watchers(live_server.url, room, cookie=cookie_of(admin))
    assert w.ack["ok"] is False and w.ack["code"] in ("unknown_room", "unknown_ticket")


def test_events_and_snapshots_carry_an_increasing_seq(live_server, watchers):
    url = live_server.url
    display = watchers(url, "display")
    name, snap = display.next()
    kiosk = requests.Session()
    post(kiosk, url + "/api/tickets", json={"service": "quoc-tich"})
    post(kiosk, url + "/api/tickets", json={"service": "quoc-tich"})
    first = display.until("queue_changed")[-1][1]
    second = display.until("queue_changed")[-1][1]
    assert snap["seq"] < first["seq"] < second["seq"]
    assert (first["waiting"], second["waiting"]) == (1, 2)


def test_whoever_leaves_a_seat_stops_following_that_counter(live_server, watchers):
    url = live_server.url
    officer = live_server.login("can-bo-an")
    post(officer, url + "/api/counters/1/open")
    console = watchers(url, "counter:1", cookie=cookie_of(officer))
    assert console.next()[0] == "snapshot"
    admin = live_server.login("admin")
    post(admin, url + "/api/counters/1/open")  # takeover
    assert console.until("counter_changed")[-1][1]["officer"] == "admin"
    post(requests.Session(), url + "/api/tickets", json={"service": "quoc-tich"})
    post(admin, url + "/api/counters/1/next")
    with pytest.raises(socketio.exceptions.TimeoutError):
        console.next(timeout=1)  # no more events of counter 1 for the officer
    rejoin = watchers(url, "counter:1", cookie=cookie_of(officer))
    assert rejoin.ack["code"] == "not_your_counter"


def test_a_socket_of_a_logged_out_session_cannot_join_staff_rooms(live_server, watchers):
    admin = live_server.login("admin")
    cookie = cookie_of(admin)
    post(admin, live_server.url + "/api/logout")
    w = watchers(live_server.url, "dashboard", cookie=cookie)
    assert w.ack["code"] == "login_required"


def test_a_visitor_hears_when_their_place_in_line_moves(live_server, watchers):
    url = live_server.url
    kiosk = requests.Session()
    tickets = [post(kiosk, url + "/api/tickets", json={"service": "quoc-tich"})
               for _ in range(3)]
    phone = watchers(url, f"ticket:{tickets[2]['token']}")
    assert phone.next()[1]["ticket"]["position"] == 3
    post(kiosk, f"{url}/api/tickets/{tickets[0]['token']}/cancel")
    moved = phone.until("position_changed")[-1][1]
    assert (moved["number"], moved["position"]) == (tickets[2]["number"], 2)
    assert "token" not in moved
    post(kiosk, url + "/api/tickets", json={"service": "quoc-tich", "priority": True})
    assert phone.until("position_changed")[-1][1]["position"] == 3
    officer = live_server.login("can-bo-an")
    post(officer, url + "/api/counters/1/open")
    opened = phone.until("position_changed")[-1][1]
    assert (opened["position"], opened["line_open"]) == (3, True)
    post(officer, url + "/api/counters/1/next")  # the priority visitor
    assert phone.until("position_changed")[-1][1]["position"] == 2
