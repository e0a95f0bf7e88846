"""The supervisors' live board (/dashboard) in a real browser against a real server: a wait
turning amber then red with an alert and a sound, a printer fault, a device going offline,
the supervisor's actions (pause issuing, move waiting tickets, take over a counter), and
officers kept out."""

import copy
import re

import pytest
import requests
import socketio
from fake_printer import FakePrinter
from playwright.sync_api import expect
from test_console_browser import log_in

from conftest import SMALL, LiveServer, make_config

# The page's sounds, recorded (the headless browser has no speakers to listen to).
PLAY_SPY = ("window.__played = []; const play = HTMLMediaElement.prototype.play;"
            "HTMLMediaElement.prototype.play = function () {"
            "  window.__played.push(this.src); return play.call(this); };")


def short_threshold_center():
    departments = copy.deepcopy(SMALL["departments"])
    departments[0]["services"][0]["sla_min"] = 0.1  # quoc-tich: 6 s
    return departments


@pytest.fixture
def printer():
    with FakePrinter(refuse=True) as fake:  # a printer that is off
        yield fake


@pytest.fixture
def srv(tmp_path, printer):
    server = LiveServer(make_config(tmp_path, {
        "server": {"async_mode": "gevent"},
        "departments": short_threshold_center(),
        "dashboard": {"check_s": 0.5, "offline_after_s": 2},
        "kiosks": [{"id": "k1", "printer": printer.config(timeout_s=1.0)}],
    })).start()
    yield server
    server.kill()


def issue(server, service="quoc-tich", **body):
    r = requests.post(server.url + "/api/tickets", json={"service": service, **body},
                      timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def open_board(server, new_page, username="giam-sat"):
    server.login(username, role="supervisor")
    page = new_page(1600, 1000)
    page.add_init_script(PLAY_SPY)
    page.goto(server.url + "/dashboard")
    expect(page).to_have_url(re.compile(r"/counter/login\?next=%2Fdashboard$"))
    log_in(page, username)
    expect(page).to_have_url(server.url + "/dashboard")
    expect(page.locator("#b-zones [data-zone]")).to_have_count(2)
    # Idle lines are hidden by default; these tests look at every line.
    expect(page.locator("#b-busy")).to_be_checked()
    page.uncheck("#b-busy")
    expect(page.locator("#b-services tr.b-line")).to_have_count(4)
    return page


def line(page, service):
    return page.locator(f"#b-services tr[data-service='{service}']")


def test_a_wait_turns_amber_then_red_and_raises_an_alert_with_a_sound(srv, new_page):
    page = open_board(srv, new_page)
    expect(page.locator("#b-no-alerts")).to_be_visible()
    issue(srv)
    row = line(page, "quoc-tich")
    expect(row.locator(".b-waiting")).to_have_text("1")
    expect(row).to_have_class(re.compile(r"\bb-level-ok\b"))
    expect(row).to_have_class(re.compile(r"\bb-level-amber\b"), timeout=6000)  # 4.5 s
    expect(page.locator("#b-alerts [data-alert='unserved:quoc-tich']")).to_have_text(
        re.compile("Quốc tịch: 1 người đang chờ nhưng không có quầy nào mở"))
    expect(row).to_have_class(re.compile(r"\bb-level-red\b"), timeout=4000)  # 6 s
    alert = page.locator("#b-alerts [data-alert='wait:quoc-tich']")
    expect(alert).to_contain_text("Quốc tịch: chờ lâu nhất < 1 phút, vượt ngưỡng < 1 phút")
    expect(page.locator("#b-zones [data-zone='A']")).to_have_class(
        re.compile(r"\bb-level-red\b"))
    page.wait_for_function("() => window.__played.some((src) => src.endsWith('/audio/chime.wav'))")
    # Other lines stay as they were.
    expect(line(page, "cong-chung")).to_have_class(re.compile(r"\bb-level-ok\b"))

    # Served: the line is empty again and the alert goes away.
    page.check("#b-busy")  # only active lines: the waiting one stays, idle ones go
    expect(page.locator("#b-services tr.b-line")).to_have_count(1)
    boss = srv.login("can-bo-an")
    for action in ("open", "next"):
        assert boss.post(srv.url + f"/api/counters/1/{action}", timeout=10).status_code == 200
    expect(alert).to_have_count(0, timeout=5000)
    expect(page.locator("#b-no-alerts")).to_be_visible()
    expect(row.locator(".b-waiting")).to_have_text("0")
    counter = page.locator("#b-counters [data-counter='1']")
    expect(counter).to_contain_text("Đang gọi")  # called, not yet at the counter
    expect(counter).to_contain_text("can-bo-an")
    expect(counter.locator(".b-c-ticket")).to_contain_text("Số PA001")


def test_a_printer_fault_and_a_device_gone_offline_show_on_the_board(srv, new_page):
    page = open_board(srv, new_page)
    kiosk = socketio.SimpleClient()
    kiosk.connect(srv.url, transports=["websocket"])
    assert kiosk.call("join", {"room": "kiosk:k1"}, timeout=5)["ok"]
    device = page.locator("#b-devices [data-device='kiosk:k1']")
    expect(device).to_contain_text("Đang kết nối")

    issue(srv, kiosk="k1")  # its printer is off
    fault = page.locator("#b-alerts [data-alert='printer:printer:k1']")
    expect(fault).to_contain_text("Máy in của máy lấy số k1 gặp sự cố: không kết nối được máy in",
                                  timeout=10_000)
    expect(page.locator("#b-devices [data-device='printer:k1']")).to_contain_text(
        "không kết nối được máy in")
    fault.get_by_role("button", name="Đã biết").click()  # seen: off the board
    expect(fault).to_have_count(0)

    page.wait_for_timeout(2500)  # in service (dashboard.offline_after_s: 2 s here)
    kiosk.disconnect()
    expect(device).to_contain_text("Mất kết nối")
    gone = page.locator("#b-alerts [data-alert='offline:kiosk:k1']")
    expect(gone).to_contain_text("Máy lấy số k1 mất kết nối", timeout=5000)
    kiosk = socketio.SimpleClient()  # it comes back: the alert clears
    kiosk.connect(srv.url, transports=["websocket"])
    assert kiosk.call("join", {"room": "kiosk:k1"}, timeout=5)["ok"]
    expect(gone).to_have_count(0)
    kiosk.disconnect()  # gone again at once: still the kiosk in service, missed again
    expect(gone).to_contain_text("Máy lấy số k1 mất kết nối", timeout=5000)


def test_a_supervisor_pauses_issuing_and_moves_waiting_tickets_from_the_board(
        srv, new_page):
    page = open_board(srv, new_page)
    first, second = issue(srv, "cap-phep"), issue(srv, "cap-phep")
    row = line(page, "cap-phep")
    expect(row.locator(".b-waiting")).to_have_text("2")

    row.locator("[data-act=issuing]").click()
    page.fill("#b-pause-reason", "Hết <b>hồ sơ</b> mẫu")
    page.click("#b-pause-go")
    expect(row).to_contain_text("Tạm dừng cấp số: Hết <b>hồ sơ</b> mẫu")  # text, not HTML
    refused = requests.post(srv.url + "/api/tickets", json={"service": "cap-phep"},
                            timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (409, "service_closed_paused")
    row.locator("[data-act=issuing]").click()  # resume
    expect(row).not_to_contain_text("Tạm dừng cấp số")
    issue(srv, "cap-phep")
    expect(row.locator(".b-waiting")).to_have_text("3")

    row.locator("[data-act=move]").click()
    expect(page.locator("#b-move-title")).to_have_text(
        "Chuyển số đang chờ của Cấp phép xây dựng (3 người)")
    page.select_option("#b-move-to", "nha-o")
    page.fill("#b-move-count", "2")
    page.click("#b-move-go")
    expect(page.locator("#b-message")).to_have_text(
        f"Đã chuyển 2 số ({first['number']}, {second['number']}) sang Nhà ở.")
    expect(row.locator(".b-waiting")).to_have_text("1")
    expect(line(page, "nha-o").locator(".b-waiting")).to_have_text("2")
    for ticket in (first, second):  # the visitors' own pages follow them
        view = requests.get(srv.url + f"/api/tickets/{ticket['token']}", timeout=10).json()
        assert (view["service"], view["status"]) == ("nha-o", "waiting")


def test_take_over_leads_the_supervisor_to_the_counter_console(srv, new_page):
    boss = srv.login("can-bo-an")
    boss.post(srv.url + "/api/counters/3/open", timeout=10)
    page = open_board(srv, new_page)
    counter = page.locator("#b-counters [data-counter='3']")
    expect(counter).to_contain_text("can-bo-an")
    counter.get_by_role("link", name="Tiếp quản").click()
    expect(page).to_have_url(srv.url + "/counter/3")


def test_officers_cannot_open_the_board_or_its_api(srv):
    officer = srv.login("can-bo-an")
    page = officer.get(srv.url + "/dashboard", timeout=10)
    assert page.status_code == 403 and "Không có quyền truy cập" in page.text
    assert officer.get(srv.url + "/api/dashboard", timeout=10).status_code == 403
    for path, body in (("/api/services/quoc-tich/issuing", {"paused": True}),
                       ("/api/services/quoc-tich/move", {"to": "cong-chung"})):
        r = officer.post(srv.url + path, json=body, timeout=10)
        assert (r.status_code, r.json()["code"]) == (403, "role_required")
    anonymous = requests.get(srv.url + "/api/dashboard", timeout=10)
    assert anonymous.status_code == 401
    sio = socketio.SimpleClient()
    sio.connect(srv.url, transports=["websocket"],
                headers={"Cookie": "qms_session=" + officer.cookies["qms_session"]})
    refused = sio.call("join", {"room": "dashboard"}, timeout=5)
    assert (refused["ok"], refused["code"]) == (False, "role_required")
    sio.disconnect()
