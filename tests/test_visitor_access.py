"""A visitor reaches a ticket only through its unguessable token: a guessed or malformed
token gets the same 404 everywhere and reveals nothing, and one client flooding the ticket
routes (or guessing) is slowed down with 429 while nothing changes; phones behind one NAT
address keep their own share."""

import secrets

import pytest
import socketio

from conftest import LiveServer, issue, make_config
from qms.ratelimit import RateLimiter

GUESSES = [secrets.token_urlsafe(18), "abc", "x" * 65, "A" * 24, "..__..__etc__passwd",
           "%00" * 8, "ticket'--" * 3]
ROUTES = [("get", "/api/tickets/{}"), ("post", "/api/tickets/{}/cancel"),
          ("post", "/api/tickets/{}/rating"), ("get", "/kiosk/qr/{}.svg")]


def test_a_ticket_token_carries_at_least_128_random_bits(client):
    tokens = {issue(client)["token"] for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert len(token) >= 24 and set(token) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")  # 6 bits each


@pytest.mark.parametrize("guess", GUESSES)
def test_a_guessed_or_malformed_token_gets_the_same_404_everywhere(app_with, guess):
    app, client, _ = app_with({"phone": {"burst": 1000}})
    real = issue(client)
    bodies = set()
    for method, route in ROUTES:
        kw = {"json": {"score": 5}} if route.endswith("rating") else {}
        r = getattr(client, method)(route.format(guess), **kw)
        assert r.status_code == 404, (route, r.data)
        if r.is_json:
            bodies.add((r.json["code"], r.json["error"]))
    assert bodies == {("unknown_ticket", "Không tìm thấy phiếu.")}
    page = client.get(f"/t/{guess}")
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "Không tìm thấy số thứ tự" in text and real["number"] not in text
    assert client.get(f"/api/tickets/{real['token']}").json["status"] == "waiting"


def test_the_phone_page_of_a_real_token_is_private_and_not_cached(client):
    t = issue(client)
    page = client.get(f"/t/{t['token']}")
    assert page.status_code == 200
    assert t["number"] in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the token stays on the page


def test_a_flood_from_one_client_is_slowed_down_and_changes_nothing(app_with):
    app, client, _ = app_with({"phone": {"burst": 5, "requests_per_minute": 60}})
    t = issue(client)
    for _ in range(5):
        assert client.get(f"/api/tickets/{t['token']}").status_code == 200
    refused = client.post(f"/api/tickets/{t['token']}/cancel")
    assert refused.status_code == 429
    assert refused.json["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert client.get(f"/t/{t['token']}").status_code == 429
    # Nothing changed, and another phone on the Wi-Fi is not affected.
    other = app.test_client()
    view = other.get(f"/api/tickets/{t['token']}", environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert (view.status_code, view.json["status"]) == (200, "waiting")


def test_guessing_costs_more_than_looking_at_ones_own_ticket(app_with):
    app, client, _ = app_with({"phone": {"burst": 30, "requests_per_minute": 60,
                                         "unknown_token_cost": 10}})
    t = issue(client)
    codes = [client.get(f"/api/tickets/{secrets.token_urlsafe(18)}").status_code
             for _ in range(5)]
    assert codes == [404, 404, 404, 429, 429]  # 3 guesses spent the burst of 30
    # The guesser's own ticket, or another phone's behind the same address, still opens.
    assert client.get(f"/api/tickets/{t['token']}").status_code == 200


def test_phones_behind_one_address_each_keep_their_share(app_with):
    app, client, _ = app_with({"phone": {"burst": 3, "requests_per_minute": 60}})
    tickets = [issue(client) for _ in range(20)]
    for _ in range(3):  # every phone of a NATed guest Wi-Fi opens its page three times
        for t in tickets:
            assert client.get(f"/api/tickets/{t['token']}").status_code == 200
    assert client.get(f"/api/tickets/{tickets[0]['token']}").status_code == 429


def test_the_bucket_refills_with_time():
    now = [0.0]
    limiter = RateLimiter(per_s=2, burst=3, now=lambda: now[0])
    assert [limiter.take("a") for _ in range(4)] == [0, 0, 0, 1]
    now[0] += 0.5  # one token back
    assert limiter.take("a") == 0
    assert limiter.take("a") == 1
    limiter.charge("a", 10)  # a miss: the bucket goes below zero
    now[0] += 2
    assert limiter.take("a") == 4  # (1 - (-10 + 4)) / 2 = 3.5 -> 4 s
    assert limiter.take("b") == 0


def test_many_clients_do_not_grow_the_limiter_without_bound():
    now = [0.0]
    limiter = RateLimiter(per_s=1, burst=2, now=lambda: now[0], max_keys=100)
    for i in range(100):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
    now[0] += 10  # all refilled
    limiter.take("10.9.9.9")
    assert len(limiter._buckets) == 1


def test_joining_the_room_of_a_guessed_ticket_is_refused_then_slowed(tmp_path):
    srv = LiveServer(make_config(tmp_path, {"server": {"async_mode": "gevent"},
                                            "phone": {"burst": 20,
                                                      "unknown_token_cost": 10}})).start()
    sio = socketio.SimpleClient()
    try:
        sio.connect(srv.url, transports=["websocket"])
        answers = [sio.call("join", {"room": f"ticket:{secrets.token_urlsafe(18)}"},
                            timeout=5) for _ in range(3)]
        assert [(a["ok"], a["code"]) for a in answers] == [
            (False, "unknown_ticket"), (False, "unknown_ticket"), (False, "too_many_requests")]
        # Text no token is made of (a lone surrogate) is refused, not a crash.
        odd = sio.call("join", {"room": "ticket:" + "\ud800" * 20}, timeout=5)
        assert (odd["ok"], odd["code"]) == (False, "too_many_requests")
        assert sio.call("join", {"room": "rate:1", "key": "\ud800"}, timeout=5)["ok"]
    finally:
        sio.disconnect()
        srv.kill()
