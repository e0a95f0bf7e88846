"""The visitor's phone page (/t/<token>, the QR's target) in a real browser on a phone-sized
screen, against a real server: people ahead counting down as counters call, the call
notice, a transfer, the rating, cancelling (seen leave the queue on a console), and coming
back from a dead network with the true state."""

import re

import requests
from playwright.sync_api import expect
from test_console_browser import open_console

from conftest import LiveServer, make_config

PHONE = {"width": 390, "height": 844, "is_mobile": True, "has_touch": True}
# The page's vibration, recorded: a real phone buzzes; a headless browser has no motor.
VIBRATE_SPY = ("window.__buzz = []; "
               "navigator.vibrate = (p) => { window.__buzz.push(p); return true; };")


def issue(server, service="quoc-tich", **body):
    r = requests.post(server.url + "/api/tickets", json={"service": service, **body},
                      timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def phone(new_page, ticket, lang=None):
    page = new_page(**PHONE)
    page.add_init_script(VIBRATE_SPY)
    page.goto(ticket["status_url"] + (f"?lang={lang}" if lang else ""))
    expect(page.locator("#p-number")).to_have_text(ticket["number"])
    return page


def test_the_qr_link_opens_the_phone_page_and_it_follows_the_ticket_to_the_rating(
        live_server, new_page):
    srv = live_server
    first, _, mine = issue(srv), issue(srv), issue(srv)
    assert mine["status_url"] == f"{srv.url}/t/{mine['token']}"
    page = phone(new_page, mine)
    expect(page.locator("#p-service")).to_have_text("Quốc tịch")
    expect(page.locator("#p-status")).to_have_text("Đang chờ")
    expect(page.locator("#p-ahead")).to_have_text("2")
    expect(page.locator("#p-where")).to_have_text("A, tầng\u00a01")
    # No counter is open yet: the page says so instead of promising a turn.
    expect(page.locator("#p-note")).to_have_text(
        "Hiện chưa có quầy nào mở cho lĩnh vực này. Xin ông/bà vui lòng chờ hoặc hỏi quầy "
        "hướng dẫn.")
    expect(page.locator("#p-wait")).to_have_text("chưa ước tính được")
    assert page.evaluate("() => document.body.scrollWidth") <= 390  # no sideways scrolling

    boss = srv.login("can-bo-an")
    assert boss.post(srv.url + "/api/counters/1/open", timeout=10).status_code == 200
    expect(page.locator("#p-note")).to_be_hidden()  # a counter serves the line now
    assert boss.post(srv.url + "/api/counters/1/next", timeout=10).json()["ticket"][
        "number"] == first["number"]
    expect(page.locator("#p-ahead")).to_have_text("1")
    for action in ("serve", "complete"):
        boss.post(srv.url + f"/api/counters/1/{action}", timeout=10)
    boss.post(srv.url + "/api/counters/1/next", timeout=10)
    expect(page.locator("#p-next")).to_contain_text("Ông/bà là người tiếp theo")
    expect(page.locator("#p-ahead-box")).to_be_hidden()
    expect(page.locator("#p-called")).to_be_hidden()
    for action in ("serve", "complete", "next"):
        boss.post(srv.url + f"/api/counters/1/{action}", timeout=10)

    notice = page.locator("#p-called")
    expect(notice).to_be_visible()
    expect(page.locator("#p-called-title")).to_have_text("Đến lượt ông/bà!")
    expect(page.locator("#p-called-where")).to_have_text("Mời đến Quầy 1")
    expect(page.locator("#p-called-place")).to_have_text("A, tầng 1")
    expect(page).to_have_title(re.compile(rf"^🔔 {mine['number']} → Quầy 1$"))
    assert page.evaluate("() => window.__buzz.length") == 1
    assert page.locator("#p-cancel").is_hidden()  # too late to cancel once called

    boss.post(srv.url + "/api/counters/1/recall", timeout=10)
    expect(page.locator("#p-called-title")).to_have_text("Mời lần nữa – xin ông/bà đến ngay quầy!")
    page.wait_for_function("() => window.__buzz.length === 2")  # a recall buzzes again

    boss.post(srv.url + "/api/counters/1/serve", timeout=10)
    expect(notice).to_be_hidden()
    expect(page.locator("#p-status")).to_have_text("Đang phục vụ")
    expect(page.locator("#p-rate")).to_be_hidden()
    boss.post(srv.url + "/api/counters/1/complete", timeout=10)
    expect(page.locator("#p-rate")).to_be_visible()
    expect(page.locator("#p-rate-title")).to_have_text(
        "Ông/bà có hài lòng với chất lượng phục vụ không?")
    expect(page.locator(".p-score")).to_have_text(
        ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng", "Rất không hài lòng"])
    page.fill("#p-comment", "Cán bộ <b>nhiệt tình</b>")
    page.get_by_role("button", name="Rất hài lòng").tap()
    expect(page.locator("#p-thanks")).to_have_text("Cảm ơn ông/bà đã đánh giá!")
    expect(page.locator("#p-rate")).to_be_hidden()

    status = requests.get(srv.url + f"/api/tickets/{mine['token']}", timeout=10).json()
    assert (status["status"], status["rated"]) == ("done", True)
    again = requests.post(srv.url + f"/api/tickets/{mine['token']}/rating",
                          json={"score": 1}, timeout=10)
    assert (again.status_code, again.json()["code"]) == (409, "already_rated")
    report = boss.get(srv.url + "/api/counters/1/console", timeout=10)
    assert report.status_code == 200
    # A reload shows the same finished state, rated: the question is not asked again.
    page.reload()
    expect(page.locator("#p-thanks")).to_have_text("Cảm ơn ông/bà đã đánh giá!")
    expect(page.locator("#p-rate")).to_be_hidden()


def test_a_transferred_ticket_shows_its_new_service_and_place(live_server, new_page):
    srv = live_server
    mine = issue(srv)
    page = phone(new_page, mine)
    boss = srv.login("can-bo-an")
    boss.post(srv.url + "/api/counters/1/open", timeout=10)
    boss.post(srv.url + "/api/counters/1/next", timeout=10)
    expect(page.locator("#p-called")).to_be_visible()
    r = boss.post(srv.url + "/api/counters/1/transfer", json={"service": "cap-phep"},
                  timeout=10)
    assert r.status_code == 200, r.text
    expect(page.locator("#p-called")).to_be_hidden()
    expect(page.locator("#p-service")).to_have_text("Cấp phép xây dựng")
    expect(page.locator("#p-status")).to_have_text("Đang chờ")
    note = page.locator("#p-note")
    expect(note).to_contain_text("đã được chuyển sang lĩnh vực Cấp phép xây dựng")
    expect(note).to_contain_text("chưa có quầy nào mở")  # counters 3 and 4 are closed
    expect(page.locator("#p-where")).to_have_text("B, tầng\u00a02")
    expect(page.locator("#p-ahead")).to_have_text("0")
    page.reload()  # the reason is the server's, not the page's memory
    expect(note).to_contain_text("đã được chuyển sang lĩnh vực Cấp phép xây dựng")


def test_a_visitor_put_back_in_line_is_told_why(live_server, new_page):
    srv = live_server
    mine = issue(srv)
    issue(srv)
    page = phone(new_page, mine)
    boss = srv.login("can-bo-an")
    boss.post(srv.url + "/api/counters/1/open", timeout=10)
    boss.post(srv.url + "/api/counters/1/next", timeout=10)
    expect(page.locator("#p-called")).to_be_visible()
    assert boss.post(srv.url + "/api/counters/1/requeue", timeout=10).status_code == 200
    expect(page.locator("#p-status")).to_have_text("Đang chờ")
    expect(page.locator("#p-note")).to_contain_text("đã được xếp lại vào hàng chờ")
    expect(page.locator("#p-ahead")).to_have_text("1")


def test_cancelling_on_the_phone_takes_the_ticket_off_the_console_queue(
        live_server, new_page):
    srv = live_server
    before, mine = issue(srv), issue(srv)
    console = open_console(srv, new_page, "can-bo-an", 1)
    upcoming = console.locator("#next-list")
    expect(upcoming).to_contain_text(mine["number"])
    expect(console.locator("#w-total")).to_contain_text("2")

    page = phone(new_page, mine, lang="en")
    expect(page.locator("#p-status")).to_have_text("Waiting")
    page.get_by_role("button", name="I am not waiting any more").tap()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Number {mine['number']} will be cancelled")
    page.get_by_role("button", name="Keep waiting").tap()  # changed their mind: nothing
    expect(dialog).to_be_hidden()
    assert requests.get(srv.url + f"/api/tickets/{mine['token']}",
                        timeout=10).json()["status"] == "waiting"

    page.get_by_role("button", name="I am not waiting any more").tap()
    page.get_by_role("button", name="Cancel my ticket").tap()
    expect(page.locator("#p-status")).to_have_text("Cancelled")
    expect(page.locator("#p-thanks")).to_contain_text("Your ticket is cancelled")
    expect(page.locator("#p-cancel")).to_be_hidden()
    expect(upcoming).not_to_contain_text(mine["number"])
    expect(upcoming).to_contain_text(before["number"])
    expect(console.locator("#w-total")).to_contain_text("1")


def test_the_page_shows_the_true_state_after_the_network_comes_back(live_server, new_page):
    srv = live_server
    issue(srv)
    mine = issue(srv)
    page = phone(new_page, mine)
    expect(page.locator("#p-ahead")).to_have_text("1")
    page.context.set_offline(True)
    expect(page.locator("#offline")).to_be_visible(timeout=30_000)
    boss = srv.login("can-bo-an")
    boss.post(srv.url + "/api/counters/1/open", timeout=10)
    for action in ("next", "serve", "complete", "next"):
        boss.post(srv.url + f"/api/counters/1/{action}", timeout=10)
    page.wait_for_timeout(300)
    expect(page.locator("#p-ahead")).to_have_text("1")  # nothing reached it meanwhile
    page.context.set_offline(False)
    expect(page.locator("#p-called")).to_be_visible(timeout=15_000)
    expect(page.locator("#p-called-where")).to_have_text("Mời đến Quầy 1")
    expect(page.locator("#offline")).to_be_hidden()


def test_waking_up_asks_the_server_for_the_true_state(live_server, new_page):
    """A phone that slept may hold a socket that died silently and will not notice for a
    while: when the page is shown again it asks the API for the ticket at once."""
    srv = live_server
    mine = issue(srv)
    page = phone(new_page, mine)
    with page.expect_request(re.compile(rf"/api/tickets/{mine['token']}\?")) as asked:
        page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    assert asked.value.method == "GET"
    expect(page.locator("#p-updated")).to_contain_text("Đã cập nhật lúc")


def test_the_phone_and_rating_pages_run_under_their_content_security_policy(
        live_server, new_page):
    srv = live_server
    mine = issue(srv)
    page = new_page(**PHONE, bypass_csp=False)
    page.goto(mine["status_url"])
    expect(page.locator("#p-ahead")).to_have_text("0")
    device = new_page(800, 1280, bypass_csp=False)
    device.goto(srv.url + "/rate/1")
    expect(device.locator("#r-state")).to_have_text("Quầy chưa làm việc")
    boss = srv.login("can-bo-an")
    boss.post(srv.url + "/api/counters/1/open", timeout=10)
    boss.post(srv.url + "/api/counters/1/next", timeout=10)
    expect(page.locator("#p-called")).to_be_visible()  # live, under the policy
    expect(device.locator("#r-officer")).to_have_text("Cán bộ: can-bo-an")
    for p in (page, device):
        assert [line for line in p.log if "Content Security Policy" in line] == []


def test_a_phone_over_its_share_joins_again_later_and_still_hears_its_call(
        tmp_path, new_page):
    srv = LiveServer(make_config(tmp_path, {"server": {"async_mode": "gevent"},
                                            "phone": {"burst": 1,
                                                      "requests_per_minute": 60}})).start()
    try:
        mine = issue(srv)
        page = new_page(**PHONE)
        page.goto(mine["status_url"])  # the page took the only request of the burst...
        expect(page.locator("#offline")).to_be_visible()  # ...so its join was refused
        boss = srv.login("can-bo-an")
        boss.post(srv.url + "/api/counters/1/open", timeout=10)
        boss.post(srv.url + "/api/counters/1/next", timeout=10)
        expect(page.locator("#p-called")).to_be_visible(timeout=10_000)
        expect(page.locator("#offline")).to_be_hidden()
    finally:
        srv.kill()
