"""The ticket kiosk screen: a visitor picks a department and a service with a finger and
gets one number, with its QR, whatever the finger does; closed services say why; the screen
speaks Vietnamese or English, fits portrait and landscape screens without scrolling, and
rides out a server restart. Browser tests drive Debian's Chromium against a real server."""

from __future__ import annotations

import copy
import json
import re
import sqlite3
import subprocess

import pytest
import requests
import yaml

from conftest import ROOT, SMALL, LiveServer, free_port, issue, make_config

SECRET = "kiosk-secret-0123456789"


def page_data(response):
    html = response.get_data(as_text=True)
    found = re.search(r'<script id="qms-data" type="application/json">(.+?)</script>', html,
                      re.S)
    return json.loads(found[1])


def small_with(**changes):
    raw = copy.deepcopy(SMALL)
    raw.update(changes)
    return raw


# -- the page and its routes, through the Flask test client ----------------------------------

def test_the_kiosk_page_is_vietnamese_strict_and_loads_only_its_own_assets(client):
    r = client.get("/kiosk")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<html lang="vi">' in html and "Ưu tiên: người cao tuổi" in html
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert " style=" not in html  # the policy forbids inline styles
    scripts = re.findall(r"<script([^>]*)>", html)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith("kiosk.js") for a in assets)
    assert any(a.endswith("kiosk.css") for a in assets)
    for path in assets:
        with client.get(path) as asset:
            assert asset.status_code == 200, path
    data = page_data(r)
    assert data["kiosk"] is None and data["secret"] == ""
    assert [s["id"] for s in data["services"]] == ["quoc-tich", "cong-chung", "cap-phep",
                                                  "nha-o"]
    assert data["catalogues"]["en"]["kiosk_back"] == "Back"
    assert data["catalogues"]["vi"]["kiosk_back"] == "Quay lại"


def test_the_page_starts_from_the_live_counts(client):
    issue(client, "cap-phep")
    issue(client, "cap-phep")
    live = {s["id"]: s for s in page_data(client.get("/kiosk"))["live"]["services"]}
    assert live["cap-phep"]["waiting"] == 2 and live["cap-phep"]["open"] is True
    assert live["quoc-tich"]["waiting"] == 0


KIOSKS = [{"id": "k-a", "zone": "A"}, {"id": "k-list", "services": ["nha-o", "cap-phep"]},
          {"id": "k-all"}, {"id": "k-locked", "zone": "B", "secret": SECRET}]


@pytest.mark.parametrize("kiosk, offered", [
    ("k-a", ["quoc-tich", "cong-chung"]),
    ("k-list", ["cap-phep", "nha-o"]),
    ("k-all", ["quoc-tich", "cong-chung", "cap-phep", "nha-o"]),
])
def test_a_registered_kiosk_offers_its_list_else_its_zone_else_everything(app_with, kiosk,
                                                                          offered):
    _, client, _ = app_with({"kiosks": KIOSKS})
    data = page_data(client.get(f"/kiosk/{kiosk}"))
    assert data["kiosk"] == kiosk
    assert [s["id"] for s in data["services"]] == offered


@pytest.mark.parametrize("path, status, code", [
    ("/kiosk/nobody", 404, "unknown_kiosk"),
    ("/kiosk/k-locked", 403, "kiosk_secret"),
    ("/kiosk/k-locked?key=wrong", 403, "kiosk_secret"),
    ("/kiosk/qr/short.svg", 404, "unknown_ticket"),
    ("/kiosk/qr/" + "x" * 22 + ".svg", 404, "unknown_ticket"),
])
def test_unknown_kiosks_wrong_keys_and_unknown_tickets_are_refused_in_json(
        app_with, path, status, code):
    _, client, _ = app_with({"kiosks": KIOSKS})
    r = client.get(path)
    assert r.status_code == status and r.json["code"] == code


def test_a_kiosk_with_a_secret_opens_with_its_key_and_the_page_holds_it(app_with):
    _, client, _ = app_with({"kiosks": KIOSKS})
    data = page_data(client.get(f"/kiosk/k-locked?key={SECRET}"))
    assert data["secret"] == SECRET and data["zone"] == "B"


def test_the_open_kiosk_page_is_refused_when_only_registered_kiosks_may_issue(app_with):
    _, client, _ = app_with({"issuing": {"open_to_lan": False},
                             "kiosks": [{"id": "k1", "secret": SECRET}]})
    r = client.get("/kiosk")
    assert r.status_code == 403 and r.json["code"] == "kiosk_required"
    assert client.get(f"/kiosk/k1?key={SECRET}").status_code == 200


def test_the_qr_is_an_svg_of_a_known_ticket(client):
    ticket = issue(client)
    r = client.get(f"/kiosk/qr/{ticket['token']}.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert r.data.startswith(b"<svg") and b'fill="white"' in r.data
    assert r.headers["Cache-Control"] == "no-store"


# -- in a real browser --------------------------------------------------------------------

def tickets(server):
    """Tickets issued so far, straight from the server's database."""
    db = sqlite3.connect(server.config_path.parent / "data" / "qms.sqlite3")
    try:
        return db.execute("SELECT number, service, priority, kiosk FROM tickets "
                          "ORDER BY id").fetchall()
    finally:
        db.close()


def start(tmp_path, overrides=None, base=None):
    return LiveServer(make_config(tmp_path, {"server": {"async_mode": "gevent"},
                                             **(overrides or {})}, base)).start()


@pytest.fixture
def servers():
    """Start servers on changed configs; all are stopped at the end."""
    started = []

    def run(tmp_path, overrides=None, base=None):
        started.append(start(tmp_path, overrides, base))
        return started[-1]
    yield run
    for srv in started:
        srv.kill()


def department(page, name):
    return page.locator(".k-dept", has_text=name)


def service(page, name):
    return page.locator(".k-service", has_text=name)


def decode_qr(page, path):
    page.locator("#k-qr").screenshot(path=str(path))
    out = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_visitor_taps_a_department_and_a_service_and_gets_a_number_with_its_qr(
        live_server, new_page, tmp_path):
    page = new_page(1080, 1920, has_touch=True)
    page.goto(live_server.url + "/kiosk")
    department(page, "Sở Tư pháp").tap()
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/api/tickets")) as r:
        service(page, "Quốc tịch").tap()
    ticket = r.value.json()
    assert r.value.status == 201
    done = page.locator("#k-done")
    done.wait_for()
    assert page.locator("#k-number").inner_text() == ticket["number"] == "PA001"
    assert page.locator("#k-service-name").inner_text() == "Quốc tịch"
    # Counter 4 is the priority counter (zone B): an ordinary ticket is sent to 1 and 2.
    assert page.locator("#k-go-where").inner_text() == "Quầy 1, 2 · Khu A, tầng 1"
    assert page.locator("#k-ahead").inner_text() == "Bạn là người tiếp theo"
    assert page.locator("#k-badge").is_hidden()
    # No printer in this config (no `print` in the answer): the screen is the ticket.
    assert "chụp ảnh mã QR" in page.locator("#k-print").inner_text()
    assert "Tự động trở về sau" in page.locator("#k-countdown").inner_text()
    page.wait_for_function("document.getElementById('k-qr').naturalWidth > 0")
    assert decode_qr(page, tmp_path / "qr.png") == ticket["status_url"]
    assert ticket["status_url"] == f"{live_server.url}/t/{ticket['token']}"
    assert tickets(live_server) == [("PA001", "quoc-tich", 0, None)]


def test_a_fast_double_tap_gives_one_ticket(live_server, new_page):
    page = new_page(1920, 1080, has_touch=True)
    page.goto(live_server.url + "/kiosk")

    def take(dept, name, tap_twice):
        department(page, dept).click()
        tile = service(page, name)
        tile.wait_for()
        page.wait_for_selector("#k-services-screen:not(.k-settling)")
        box = tile.bounding_box()
        tap_twice(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, tile)
        page.locator("#k-done").wait_for()
        number = page.locator("#k-number").inner_text()
        page.wait_for_timeout(300)  # whatever the second tap did has happened by now
        assert page.locator("#k-done").is_visible()  # it did not press "Xong" either
        page.locator("#k-done-button").click()
        page.locator("#k-start").wait_for()
        assert [row[0] for row in tickets(live_server)][-1:] == [number]
        return number

    def mouse_twice(x, y, tile):  # two clicks a few ms apart
        for _ in range(2):
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.up()

    def fingers_twice(x, y, tile):
        page.touchscreen.tap(x, y)
        page.touchscreen.tap(x, y)

    assert take("Sở Tư pháp", "Quốc tịch", mouse_twice) == "PA001"
    assert len(tickets(live_server)) == 1
    assert take("Sở Tư pháp", "Công chứng", lambda x, y, tile: tile.dblclick()) == "PC001"
    assert len(tickets(live_server)) == 2
    assert take("Sở Xây dựng", "Nhà ở", fingers_twice) == "XC001"
    assert [row[0] for row in tickets(live_server)] == ["PA001", "PC001", "XC001"]


@pytest.mark.parametrize("loss", ["reset", "cut off"])
def test_an_answer_lost_on_the_network_is_asked_again_and_still_gives_one_ticket(
        live_server, new_page, loss):
    page = new_page(1920, 1080, has_touch=True)
    page.goto(live_server.url + "/kiosk")
    sent = []

    def lose_the_first_answer(route):
        sent.append(json.loads(route.request.post_data))
        if len(sent) > 1:
            route.continue_()
            return
        answer = route.fetch()  # the server issues the ticket...
        if loss == "reset":  # ...and its answer never reaches the kiosk
            route.abort("connectionreset")
        else:  # ...or only its first bytes do
            route.fulfill(status=answer.status, headers=answer.headers,
                          body=answer.body()[:12])

    page.route("**/api/tickets?*", lose_the_first_answer)
    department(page, "Sở Tư pháp").tap()
    service(page, "Quốc tịch").tap()
    page.locator("#k-done").wait_for()
    assert page.locator("#k-number").inner_text() == "PA001"
    assert len(sent) == 2 and sent[0] == sent[1]  # the same request_id, asked again
    assert len(sent[0]["request_id"]) == 32
    assert tickets(live_server) == [("PA001", "quoc-tich", 0, None)]
    # The next visitor's tap is a new request.
    page.locator("#k-done-button").click()
    department(page, "Sở Tư pháp").tap()
    service(page, "Quốc tịch").tap()
    page.wait_for_function("document.getElementById('k-number').textContent === 'PA002'")
    assert sent[2]["request_id"] != sent[0]["request_id"]


def test_a_finger_that_wobbles_on_a_service_still_gets_its_ticket(live_server, new_page):
    # An unsteady finger moves a little between touching and lifting. Were the page
    # pannable, Chromium would take that as the start of a pan and cancel the press.
    page = new_page(1080, 1920, has_touch=True)
    page.goto(live_server.url + "/kiosk")
    department(page, "Sở Tư pháp").tap()
    page.wait_for_selector("#k-services-screen:not(.k-settling)")
    box = service(page, "Quốc tịch").bounding_box()
    x, y = box["x"] + box["width"] / 3, box["y"] + box["height"] / 3
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 11):  # 30 px down and right, still inside the tile
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
            {"x": x + 3 * step, "y": y + 3 * step}]})
        page.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.locator("#k-done").wait_for()
    assert page.locator("#k-number").inner_text() == "PA001"
    assert tickets(live_server) == [("PA001", "quoc-tich", 0, None)]
    assert page.evaluate("visualViewport.scale") == 1


LONG_NUMBER = small_with(departments=[
    {"id": "tu-phap", "name": "Sở Tư pháp", "zone": "A", "services": [
        {"id": "quoc-tich", "prefix": "MĐ", "name": "Quốc tịch"},
        {"id": "cong-chung", "prefix": "PC", "name": "Công chứng"}]},
    *SMALL["departments"][1:],
])


def test_a_long_number_shrinks_to_fit_a_portrait_screen_instead_of_being_cut_off(
        servers, new_page, tmp_path):
    srv = servers(tmp_path, {"issuing": {"number_digits": 5}}, base=LONG_NUMBER)
    page = new_page(1080, 1920)
    page.goto(srv.url + "/kiosk")
    page.wait_for_function("document.fonts.check('30px \"Be Vietnam Pro\"')")
    department(page, "Sở Tư pháp").click()
    service(page, "Quốc tịch").click()
    page.locator("#k-done").wait_for()
    number = page.locator("#k-number")
    assert number.inner_text() == "MĐ00001"
    fit = number.evaluate("n => [n.scrollWidth, n.clientWidth, n.getBoundingClientRect().right,"
                          " parseFloat(getComputedStyle(n).fontSize)]")
    scroll_width, client_width, right, size = fit
    assert scroll_width <= client_width and right <= 1080, fit
    assert size >= 150, fit  # smaller, still read from afar
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1080


CLOSED = small_with(departments=[
    {"id": "tu-phap", "name": "Sở Tư pháp", "zone": "A", "services": [
        {"id": "quoc-tich", "prefix": "PA", "name": "Quốc tịch", "daily_limit": 1},
        {"id": "cong-chung", "prefix": "PC", "name": "Công chứng", "daily_limit": 1},
        {"id": "ho-tich", "prefix": "PH", "name": "Hộ tịch"},  # no counter serves it
    ]},
    *SMALL["departments"][1:],
])


def test_a_closed_service_says_why_and_cannot_be_taken(servers, new_page, tmp_path):
    srv = servers(tmp_path, base=CLOSED)
    requests.post(srv.url + "/api/tickets", json={"service": "quoc-tich"}, timeout=5)
    page = new_page(1920, 1080)
    posts = []
    page.on("request", lambda r: "/api/tickets" in r.url and posts.append(r.url))
    page.goto(srv.url + "/kiosk")
    department(page, "Sở Tư pháp").click()
    full, unserved = service(page, "Quốc tịch"), service(page, "Hộ tịch")
    assert full.locator(".k-meta").inner_text() == "Đã hết số hôm nay"
    assert unserved.locator(".k-meta").inner_text() == "Tạm ngưng: chưa có quầy phục vụ"
    assert full.is_disabled() and unserved.is_disabled()
    for tile in (full, unserved):
        tile.click(force=True)
        tile.dispatch_event("pointerdown", {"isPrimary": True, "pointerId": 7})
        tile.dispatch_event("pointerup", {"isPrimary": True, "pointerId": 7})
    page.wait_for_timeout(300)
    assert posts == [] and page.locator("#k-done").is_hidden()

    # Another kiosk takes the last number while this one still shows the service open.
    requests.post(srv.url + "/api/tickets", json={"service": "cong-chung"}, timeout=5)
    service(page, "Công chứng").click()
    page.locator("#k-error").wait_for()
    assert page.locator("#k-error-text").inner_text() == "Lĩnh vực này đã hết số trong ngày."
    page.locator("#k-error-ok").click()
    page.wait_for_function("document.querySelector('[data-service=\"cong-chung\"]').disabled")
    assert service(page, "Công chứng").locator(".k-meta").inner_text() == "Đã hết số hôm nay"
    assert [row[0] for row in tickets(srv)] == ["PA001", "PC001"]


CASE_EN = small_with(departments=[
    {"id": "tu-phap", "name": {"vi": "Sở Tư pháp", "en": "Department of Justice"},
     "zone": "A", "services": [
         {"id": "quoc-tich", "prefix": "PA", "name": {"vi": "Quốc tịch", "en": "Nationality"}},
         {"id": "cong-chung", "prefix": "PC", "name": {"vi": "Công chứng", "en": "Notaries"}},
     ]},
    *SMALL["departments"][1:],
])


def test_the_kiosk_switches_to_english_and_back_and_the_next_visitor_gets_vietnamese(
        servers, new_page, tmp_path):
    srv = servers(tmp_path, {"kiosk": {"return_after_s": 3}}, base=CASE_EN)
    page = new_page(1080, 1920)
    page.goto(srv.url + "/kiosk")
    page.locator("#k-lang").click()
    page.wait_for_selector("html[lang=en]")
    assert page.locator("#k-start-title").inner_text() == "Please choose a department"
    assert page.locator("#k-lang").inner_text() == "Tiếng Việt"
    assert page.locator("#k-priority").inner_text().startswith("Priority: elderly")
    department(page, "Department of Justice").click()
    assert page.locator("#k-department").inner_text() == "Department of Justice"
    assert page.locator("#k-back").inner_text() == "Back"
    assert service(page, "Nationality").locator(".k-meta").inner_text() == "No one waiting now"
    page.locator("#k-lang").click()
    page.wait_for_selector("html[lang=vi]")
    assert page.locator("#k-department").inner_text() == "Sở Tư pháp"
    assert page.locator("#k-back").inner_text() == "Quay lại"
    assert service(page, "Quốc tịch").is_visible()
    page.locator("#k-lang").click()
    page.wait_for_selector("html[lang=en]")
    service(page, "Nationality").click()
    page.locator("#k-done").wait_for()
    assert page.locator(".k-your").inner_text() == "Your number"
    assert page.locator("#k-service-name").inner_text() == "Nationality"
    assert page.locator("#k-go-where").inner_text() == "Counters 1, 2 · Zone A, floor 1"
    assert page.locator("#k-done-button").inner_text() == "Done"
    # It goes back to the start on its own, in Vietnamese, for the next visitor.
    page.locator("#k-start").wait_for(timeout=6000)
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("#k-start-title").inner_text() == \
        "Mời chọn sở, ngành cần giải quyết hồ sơ"
    assert department(page, "Sở Tư pháp").is_visible()


def test_the_priority_path_marks_the_next_ticket_only(live_server, new_page):
    page = new_page(1920, 1080)
    bodies = []
    page.on("request", lambda r: "/api/tickets" in r.url and bodies.append(r.post_data_json))
    page.goto(live_server.url + "/kiosk")
    priority = page.locator("#k-priority")
    priority.click()
    assert priority.get_attribute("aria-pressed") == "true"
    department(page, "Sở Xây dựng").click()
    assert page.locator("#k-priority-on").is_visible()
    service(page, "Cấp phép xây dựng").click()
    page.locator("#k-done").wait_for()
    assert page.locator("#k-badge").inner_text() == "Ưu tiên"
    # The priority ticket names the priority counter first, each group with its own zone.
    assert page.locator("#k-go-where").inner_text() == \
        "Quầy ưu tiên 4 · Khu B, tầng 2; Quầy 3 · Khu B, tầng 2"
    page.locator("#k-done-button").click()
    assert priority.get_attribute("aria-pressed") == "false"
    department(page, "Sở Xây dựng").click()
    assert page.locator("#k-priority-on").is_hidden()
    service(page, "Cấp phép xây dựng").click()
    page.locator("#k-done").wait_for()
    assert page.locator("#k-badge").is_hidden()
    assert page.locator("#k-go-where").inner_text() == "Quầy 3 · Khu B, tầng 2"
    assert [b["priority"] for b in bodies] == [True, False]
    assert [row[2] for row in tickets(live_server)] == [1, 0]


def test_waiting_counts_follow_the_queue_live(live_server, new_page):
    page = new_page(1920, 1080)
    page.goto(live_server.url + "/kiosk")
    department(page, "Sở Xây dựng").click()
    meta = service(page, "Nhà ở").locator(".k-meta")
    assert meta.inner_text() == "Hiện không có ai chờ"
    for _ in range(3):
        requests.post(live_server.url + "/api/tickets", json={"service": "nha-o"}, timeout=5)
    page.wait_for_function("document.querySelector('[data-service=\"nha-o\"] .k-meta')"
                           ".textContent.startsWith('Đang chờ: 3 · khoảng')")
    page.locator("#k-back").click()
    assert department(page, "Sở Xây dựng").locator(".k-meta").inner_text() == "Đang chờ: 3"


MANY = [{"id": f"linh-vuc-{i}", "prefix": "Q" + "ABCDEGHKLMNPQRSTUVXY"[i],
         "name": f"Lĩnh vực {i}" + (" có một cái tên dài, xuống hai dòng trên màn hình"
                                    if i % 3 == 0 else "")} for i in range(20)]
BIG = small_with(
    departments=[*SMALL["departments"],
                 {"id": "so-lon", "name": "Sở rất lớn", "zone": "A", "services": MANY}],
    counters=[*SMALL["counters"], {"id": 9, "zone": "A", "services": [s["id"] for s in MANY]}])


def test_a_long_list_of_services_pages_with_big_buttons_instead_of_scrolling(
        servers, new_page, tmp_path):
    srv = servers(tmp_path, base=BIG)
    page = new_page(1920, 1080)
    page.goto(srv.url + "/kiosk")
    department(page, "Sở rất lớn").click()
    pager = page.locator("#k-services-pager")
    assert pager.is_visible()
    seen = []
    while True:
        page.wait_for_selector("#k-services:not(.k-settling)")
        assert_fits(page.evaluate(FIT_CHECK), tiles=True)
        seen += [tile.get_attribute("data-service") for tile in page.locator(".k-service").all()]
        for button in pager.locator("button").all():
            assert button.bounding_box()["height"] >= 100
        if pager.locator(".k-page-next").is_disabled():
            break
        pager.locator(".k-page-next").click()
    assert seen == [s["id"] for s in MANY]  # every service once, in order, no scrolling
    total = re.search(r"Trang (\d+)/(\d+)", pager.inner_text())
    assert total[1] == total[2] and int(total[2]) >= 2
    page.screenshot(path=str(tmp_path / "last-page-1920x1080.png"))
    service(page, MANY[-1]["name"]).click()
    page.locator("#k-done").wait_for()
    assert page.locator("#k-number").inner_text() == "QY001"


def test_a_locked_kiosk_of_one_department_opens_on_its_services_and_sends_its_secret(
        servers, new_page, tmp_path):
    srv = servers(tmp_path, {"issuing": {"open_to_lan": False},
                             "kiosks": [{"id": "k-b", "zone": "B", "secret": SECRET}]})
    page = new_page(1080, 1920)
    sent = []
    page.on("request", lambda r: "/api/tickets" in r.url and sent.append(r))
    page.goto(f"{srv.url}/kiosk/k-b?key={SECRET}")
    assert page.locator("#k-department").inner_text() == "Sở Xây dựng"
    assert page.locator("#k-back").is_hidden() and page.locator("#k-priority").is_visible()
    assert page.locator(".k-service").count() == 2
    assert page.locator("#k-where").inner_text() == "Máy lấy số — Khu B, tầng 2"
    service(page, "Nhà ở").click()
    page.locator("#k-done").wait_for()
    assert sent[0].headers["x-kiosk-secret"] == SECRET
    body = sent[0].post_data_json
    assert re.fullmatch(r"[0-9a-f]{32}", body.pop("request_id"))
    assert body == {"service": "nha-o", "priority": False, "kiosk": "k-b"}
    assert tickets(srv) == [("XC001", "nha-o", 0, "k-b")]


def take_a_ticket(page, url):
    page.goto(url)
    if page.locator("#k-start").is_visible():
        department(page, "Sở Xây dựng").click()
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/api/tickets")) as r:
        service(page, "Nhà ở").click()
    page.locator("#k-done").wait_for()
    return r.value.json()


def test_a_printed_ticket_tells_the_visitor_to_take_it(servers, new_page, tmp_path):
    paper = tmp_path / "printer-k-b.bin"
    srv = servers(tmp_path, {"kiosks": [{"id": "k-b", "zone": "B", "printer": {
        "driver": "file", "device": str(paper)}}]})
    page = new_page(1920, 1080)
    ticket = take_a_ticket(page, srv.url + "/kiosk/k-b")
    assert ticket["print"] == "printer:k-b"
    page.wait_for_function("document.getElementById('k-print').textContent === 'Mời nhận phiếu'")
    assert paper.stat().st_size > 1000


def test_print_news_that_never_comes_ends_in_advice_not_a_printing_forever(
        servers, new_page, tmp_path):
    paper = tmp_path / "printer-k-b.bin"
    srv = servers(tmp_path, {"kiosks": [{"id": "k-b", "zone": "B", "printer": {
        "driver": "file", "device": str(paper), "timeout_s": 1}}]})
    page = new_page(1920, 1080)

    def drop_print_news(ws):  # the kiosk's live connection loses the printer's answer
        server = ws.connect_to_server()
        server.on_message(lambda m: "ticket_printed" in str(m) or ws.send(m))

    page.route_web_socket(re.compile(r".*/socket\.io/.*"), drop_print_news)
    take_a_ticket(page, srv.url + "/kiosk/k-b")
    status = page.locator("#k-print")
    assert status.inner_text() == "Đang in phiếu…"
    page.wait_for_function("document.getElementById('k-print').textContent.startsWith("
                           "'Nếu phiếu chưa ra')", timeout=10000)  # 1 s + 5 s of patience
    assert "nhân viên có thể in lại phiếu" in status.inner_text()
    assert paper.stat().st_size > 1000  # it did print: the screen only lost the news


def test_a_failed_print_leaves_the_number_and_qr_on_screen(servers, new_page, tmp_path):
    srv = servers(tmp_path, {"printer": {"driver": "network", "host": "127.0.0.1",
                                         "port": free_port(), "timeout_s": 1}})
    page = new_page(1080, 1920)
    ticket = take_a_ticket(page, srv.url + "/kiosk")
    assert ticket["print"] == "printer"
    page.locator("#k-print.k-print-failed").wait_for()
    assert page.locator("#k-print").inner_text().startswith("Máy in gặp sự cố")
    assert page.locator("#k-print").inner_text().endswith("nhân viên có thể in lại phiếu.")
    assert page.locator("#k-number").inner_text() == ticket["number"] == "XC001"
    assert page.locator("#k-qr").is_visible()
    assert tickets(srv) == [("XC001", "nha-o", 0, None)]


def test_server_gone_the_kiosk_says_so_and_recovers_without_a_reload(live_server, new_page):
    page = new_page(1920, 1080)
    posts = []
    page.on("request", lambda r: "/api/tickets" in r.url and posts.append(r.url))
    page.goto(live_server.url + "/kiosk")
    page.evaluate("window.sameDocument = true")
    department(page, "Sở Tư pháp").click()
    tile = service(page, "Quốc tịch")
    tile.wait_for()
    live_server.kill()
    page.locator("#k-offline").wait_for(timeout=8000)
    assert "mất kết nối" in page.locator("#k-offline").inner_text()
    assert page.locator("#offline").is_visible()
    assert tile.is_disabled()
    tile.dispatch_event("pointerdown", {"isPrimary": True, "pointerId": 3})
    tile.dispatch_event("pointerup", {"isPrimary": True, "pointerId": 3})
    page.wait_for_timeout(200)
    assert posts == [] and page.locator("#k-done").is_hidden()

    live_server.start()
    page.locator("#k-offline").wait_for(state="hidden", timeout=10_000)
    assert page.evaluate("window.sameDocument") is True
    tile.click()
    page.locator("#k-done").wait_for()
    assert page.locator("#k-number").inner_text() == "PA001"
    assert len(posts) == 1


# -- fitting the shipped center on portrait and landscape screens ------------------------

FIT_CHECK = """() => {
  const W = innerWidth, H = innerHeight, bad = [], small = [];
  for (const n of document.querySelectorAll(".k-app *")) {
    if (!n.getClientRects().length) continue;
    const r = n.getBoundingClientRect();
    if (r.left < -1 || r.right > W + 1 || r.top < -1 || r.bottom > H + 1 ||
        n.scrollWidth > n.clientWidth + 1 && getComputedStyle(n).overflow === "visible")
      bad.push(n.tagName + "." + n.className + ": " + n.textContent.slice(0, 50));
    const text = [...n.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (text && parseFloat(getComputedStyle(n).fontSize) < 28) small.push(n.textContent);
  }
  const heights = (sel) => [...document.querySelectorAll(sel)]
    .filter((n) => n.getClientRects().length).map((n) => n.getBoundingClientRect().height);
  const clipped = [...document.querySelectorAll(".k-tile")].filter(
    (n) => n.getClientRects().length && n.scrollHeight > n.clientHeight + 1).length;
  const doc = document.scrollingElement;
  return {bad, small, clipped, tiles: heights(".k-tile"),
          buttons: heights(".k-app button:not(.k-tile)"),
          scrolls: doc.scrollHeight > H || doc.scrollWidth > W};
}"""

EVERY_DEPARTMENT = """() => {
  const out = [];
  const count = document.querySelectorAll(".k-dept").length;
  for (let i = 0; i < count; i++) {
    document.querySelectorAll(".k-dept")[i].click();
    const list = document.getElementById("k-services");
    const pager = document.getElementById("k-services-pager");
    const pages = [];
    do {
      pages.push(list.children.length);
      if (list.scrollHeight > list.clientHeight + 1) pages.push("overflow");
      const next = pager.querySelector(".k-page-next");
      if (pager.hidden || next.disabled) break;
      next.click();
    } while (pages.length < 20);
    out.push({name: document.getElementById("k-department").textContent, pages,
              pager: !pager.hidden});
    document.getElementById("k-back").click();
  }
  return out;
}"""


def assert_fits(found, tiles):
    """Nothing leaves the screen or is clipped, no text under 28 px, no scrolling, targets
    big enough for an unsteady finger."""
    assert found["bad"] == [] and found["small"] == [] and found["clipped"] == 0
    assert found["scrolls"] is False
    assert found["buttons"] and min(found["buttons"]) >= 96
    if tiles:
        assert found["tiles"] and min(found["tiles"]) >= 120


def shipped_center(tmp_path):
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["server"]["data_dir"] = str(tmp_path / "data")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return raw, path


@pytest.mark.parametrize("width, height", [(1080, 1920), (1920, 1080)])
def test_the_shipped_center_fits_the_screen_without_scrolling(tmp_path, new_page, width,
                                                              height):
    raw, path = shipped_center(tmp_path)
    srv = LiveServer(path).start()
    try:
        biggest = max(raw["departments"], key=lambda d: (
            len(d["services"]), sum(len(s["name"]["vi"]) for s in d["services"])))
        page = new_page(width, height)
        page.goto(srv.url + "/kiosk")
        page.wait_for_function("document.fonts.check('30px \"Be Vietnam Pro\"')")
        shots = []
        for lang in ("vi", "en"):
            if lang == "en":
                page.locator("#k-lang").click()
                page.wait_for_selector("html[lang=en]")
            assert page.locator(".k-dept").count() == 16
            assert page.locator("#k-departments-pager").is_hidden()  # one page, no scroll
            start = page.evaluate(FIT_CHECK)
            shots.append(tmp_path / f"start-{lang}-{width}x{height}.png")
            page.screenshot(path=str(shots[-1]))
            assert_fits(start, tiles=True)

            report = page.evaluate(EVERY_DEPARTMENT)
            assert len(report) == 16
            for dept in report:
                assert "overflow" not in dept["pages"], dept
                assert sum(dept["pages"]) == len(next(
                    d for d in raw["departments"] if d["name"][lang] == dept["name"]
                )["services"]), dept

            department(page, biggest["name"][lang]).click()
            page.wait_for_selector("#k-services-screen:not(.k-settling)")
            services = page.evaluate(FIT_CHECK)
            shots.append(tmp_path / f"services-{lang}-{width}x{height}.png")
            page.screenshot(path=str(shots[-1]))
            assert_fits(services, tiles=True)
            if page.locator("#k-services-pager").is_visible():
                for button in page.locator("#k-services-pager button").all():
                    assert button.bounding_box()["height"] >= 100

            service(page, biggest["services"][0]["name"][lang]).first.click()
            page.locator("#k-done").wait_for()
            page.wait_for_function("document.getElementById('k-qr').naturalWidth > 0")
            done = page.evaluate(FIT_CHECK)
            shots.append(tmp_path / f"done-{lang}-{width}x{height}.png")
            page.screenshot(path=str(shots[-1]))
            assert_fits(done, tiles=False)
            page.wait_for_selector("#k-done:not(.k-settling)")
            page.locator("#k-done-button").click()
            page.locator("#k-start").wait_for()
        assert all(p.stat().st_size > 20_000 for p in shots)
    finally:
        srv.kill()
