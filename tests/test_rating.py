"""The rating device beside a counter (/rate/<counter>) in a real browser against a real
server, and the one-rating-per-ticket rule across the device and the phone."""

import sqlite3

import pytest
import requests
import socketio
from playwright.sync_api import expect

from conftest import LiveServer, make_config

TABLET = {"width": 800, "height": 1280, "has_touch": True}


def issue(server, service="quoc-tich"):
    r = requests.post(server.url + "/api/tickets", json={"service": service}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def serve_one(server, boss, counter=1):
    for action in ("next", "serve", "complete"):
        r = boss.post(server.url + f"/api/counters/{counter}/{action}", timeout=10)
        assert r.status_code == 200, r.text


def ratings(server):
    db = server.config_path.parent / "data" / "qms.sqlite3"
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT t.number, r.score, r.comment, r.counter, r.officer, "
                            "r.service FROM ratings r JOIN tickets t ON t.id = r.ticket_id "
                            "ORDER BY r.at").fetchall()


def test_a_completed_ticket_brings_up_the_question_and_a_tap_stores_the_rating(
        live_server, new_page):
    srv = live_server
    device = new_page(**TABLET)
    device.goto(srv.url + "/rate/1")
    expect(device.locator("#r-idle-counter")).to_have_text("Quầy 1")
    expect(device.locator("#r-state")).to_have_text("Quầy chưa làm việc")
    expect(device.locator("#r-hint")).to_be_hidden()  # nobody to rate at a closed counter

    boss = srv.login("can-bo-an")
    boss.post(srv.url + "/api/counters/1/open", timeout=10)
    expect(device.locator("#r-officer")).to_have_text("Cán bộ: can-bo-an")
    expect(device.locator("#r-state")).to_be_hidden()
    expect(device.locator("#r-hint")).to_be_visible()

    ticket = issue(srv)
    serve_one(srv, boss)
    expect(device.locator("#r-ask")).to_be_visible()
    expect(device.locator("#r-question")).to_have_text(
        "Ông/bà có hài lòng với chất lượng phục vụ không?")
    expect(device.locator("#r-about")).to_have_text(f"Số {ticket['number']} · Quốc tịch")
    device.fill("#r-comment", "<script>alert(1)</script> nhanh")
    device.get_by_role("button", name="Hài lòng", exact=True).tap()
    expect(device.locator("#r-thanks")).to_have_text("Cảm ơn ông/bà đã đánh giá!")
    assert ratings(srv) == [(ticket["number"], 4, "<script>alert(1)</script> nhanh", 1,
                             "can-bo-an", "quoc-tich")]

    # A second rating of the same ticket, from the phone or anyone, is refused.
    again = requests.post(srv.url + f"/api/tickets/{ticket['token']}/rating",
                          json={"score": 1}, timeout=10)
    assert (again.status_code, again.json()["code"]) == (409, "already_rated")
    assert len(ratings(srv)) == 1
    # After the thank-you (rating.thanks_s, 5 s) the device goes back to idle by itself.
    expect(device.locator("#r-idle")).to_be_visible(timeout=10_000)


def test_the_phone_rating_first_takes_the_question_off_the_device(live_server, new_page):
    srv = live_server
    device = new_page(**TABLET)
    device.goto(srv.url + "/rate/1?lang=en")
    boss = srv.login("can-bo-an")
    boss.post(srv.url + "/api/counters/1/open", timeout=10)
    ticket = issue(srv)
    serve_one(srv, boss)
    expect(device.locator("#r-question")).to_have_text("Are you satisfied with the service?")
    r = requests.post(srv.url + f"/api/tickets/{ticket['token']}/rating", json={"score": 2},
                      timeout=10)
    assert r.status_code == 201, r.text
    expect(device.locator("#r-thanks")).to_have_text("Thank you for your rating!")
    expect(device.locator("#r-idle")).to_be_visible(timeout=10_000)
    assert [row[:2] for row in ratings(srv)] == [(ticket["number"], 2)]


def test_a_device_that_reconnects_still_asks_about_the_ticket_just_completed(
        live_server, new_page):
    srv = live_server
    boss = srv.login("can-bo-an")
    boss.post(srv.url + "/api/counters/1/open", timeout=10)
    ticket = issue(srv)
    serve_one(srv, boss)
    device = new_page(**TABLET)  # opened (or reconnected) after the completion
    device.goto(srv.url + "/rate/1")
    expect(device.locator("#r-about")).to_have_text(f"Số {ticket['number']} · Quốc tịch")
    device.get_by_role("button", name="Rất không hài lòng").tap()
    expect(device.locator("#r-thanks")).to_be_visible()
    assert [row[:2] for row in ratings(srv)] == [(ticket["number"], 1)]


def test_the_question_goes_back_to_idle_after_question_s(tmp_path, new_page):
    srv = LiveServer(make_config(tmp_path, {"server": {"async_mode": "gevent"},
                                            "rating": {"question_s": 5}})).start()
    try:
        device = new_page(**TABLET)
        device.goto(srv.url + "/rate/1")
        boss = srv.login("can-bo-an")
        boss.post(srv.url + "/api/counters/1/open", timeout=10)
        issue(srv)
        serve_one(srv, boss)
        expect(device.locator("#r-ask")).to_be_visible()
        expect(device.locator("#r-idle")).to_be_visible(timeout=8000)
        assert ratings(srv) == []
    finally:
        srv.kill()


def test_with_a_device_key_the_page_and_its_room_refuse_without_it(tmp_path, new_page):
    srv = LiveServer(make_config(tmp_path, {"server": {"async_mode": "gevent"},
                                            "rating": {"device_key": "khoa-quay-bi-mat"}})
                     ).start()
    try:
        assert requests.get(srv.url + "/rate/1", timeout=5).status_code == 403
        assert requests.get(srv.url + "/rate/1?key=sai", timeout=5).status_code == 403
        sio = socketio.SimpleClient()
        sio.connect(srv.url, transports=["websocket"])
        try:
            refused = sio.call("join", {"room": "rate:1", "key": "sai"}, timeout=5)
            assert (refused["ok"], refused["code"]) == (False, "device_key")
            assert sio.call("join", {"room": "rate:1", "key": "khoa-quay-bi-mat"},
                            timeout=5)["ok"]
        finally:
            sio.disconnect()
        device = new_page(**TABLET)
        device.goto(srv.url + "/rate/1?key=khoa-quay-bi-mat")
        boss = srv.login("can-bo-an")
        boss.post(srv.url + "/api/counters/1/open", timeout=10)
        expect(device.locator("#r-officer")).to_have_text("Cán bộ: can-bo-an")
    finally:
        srv.kill()


@pytest.mark.parametrize("path, status", [("/rate/99", 404), ("/rate/abc", 404)])
def test_an_unknown_counter_has_no_rating_device(client, path, status):
    assert client.get(path).status_code == status
