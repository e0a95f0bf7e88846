"""The officer's console in a real browser (Playwright driving Debian's Chromium) against a
real server: every action by click and by keyboard, the hall display hearing each call, the
seat held by one officer at a time, an expired session, and a server restart."""

import re
import time

import pytest
import requests
import socketio
from playwright.sync_api import expect

from conftest import PASSWORD


class Display:
    """A hall display: a python-socketio client in room ``display``."""

    def __init__(self, url):
        self.sio = socketio.SimpleClient()
        self.sio.connect(url, transports=["websocket"])
        assert self.sio.call("join", {"room": "display"}, timeout=10)["ok"]

    def hears(self, event, number, timeout=5):
        """Read events until ``event`` for ``number`` arrives; its payload."""
        while True:
            name, *args = self.sio.receive(timeout=timeout)
            if name == event and args[0].get("number") == number:
                return args[0]

    def close(self):
        self.sio.disconnect()


@pytest.fixture
def display(live_server):
    d = Display(live_server.url)
    yield d
    d.close()


def issue(server, service="quoc-tich", priority=False):
    r = requests.post(server.url + "/api/tickets", json={"service": service,
                                                         "priority": priority}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["number"]


def log_in(page, username):
    """On the login page: type the credentials and go where the page leads."""
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-form [type=submit]")


def open_console(server, new_page, username, counter, role="officer", size=(1366, 768)):
    """An officer's first minute: the picker asks for a login, then the counter opens."""
    server.login(username, role=role)
    page = new_page(*size)
    page.goto(server.url + "/counter")
    expect(page).to_have_url(server.url + "/counter/login?next=%2Fcounter")
    log_in(page, username)
    expect(page).to_have_url(server.url + "/counter")
    page.click(f"button[data-counter='{counter}']")
    expect(page).to_have_url(f"{server.url}/counter/{counter}")
    expect(page.locator("#c-status")).to_have_text("Đang mở")
    expect(button(page, "next")).to_be_enabled()  # read, and following the counter's room
    return page


def button(page, action):
    return page.locator(f".actions [data-action={action}]")


def press(page, key):
    """A shortcut, once the console is idle: a key pressed while an action is still on its
    way is dropped on purpose, so that a double press never calls twice."""
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bis-busy\b"))
    page.keyboard.press(key)


def expect_ticket(page, number, status):
    expect(page.locator("#t-number")).to_have_text(number)
    expect(page.locator("#t-status")).to_have_text(status)


def test_every_action_by_click_reaches_the_queue_and_the_hall(live_server, new_page, display):
    numbers = [issue(live_server) for _ in range(4)] + [issue(live_server, "cong-chung")]
    other = open_console(live_server, new_page, "can-bo-binh", 3)  # serves cap-phep
    page = open_console(live_server, new_page, "can-bo-an", 1)
    expect(page.locator("#w-total")).to_have_text("(tổng 5)")
    expect(page.locator("#next-list li").first).to_contain_text(numbers[0])
    for disabled in ("recall", "serve", "complete", "noshow", "transfer"):
        expect(button(page, disabled)).to_be_disabled()

    button(page, "next").click()
    expect_ticket(page, numbers[0], "Đang được gọi")
    assert display.hears("ticket_called", numbers[0])["counter"] == 1
    expect(page.locator("#t-timer")).to_have_text("0:01", timeout=3000)  # it counts
    expect(button(page, "complete")).to_be_disabled()
    button(page, "recall").click()
    expect(page.locator("#recall-count")).to_have_text("1/3")
    assert display.hears("ticket_recalled", numbers[0])["recalls"] == 1
    button(page, "serve").click()
    expect_ticket(page, numbers[0], "Đang phục vụ")
    expect(page.locator("#t-timer-label")).to_have_text("Đã phục vụ được")
    button(page, "complete").click()
    expect(page.locator("#s-served")).to_have_text("1")
    expect(page.locator("#t-number")).to_have_text("—")

    button(page, "next").click()
    expect_ticket(page, numbers[1], "Đang được gọi")
    display.hears("ticket_called", numbers[1])
    button(page, "noshow").click()
    expect(page.locator("#confirm-text")).to_have_text(f"Đánh dấu số {numbers[1]} vắng mặt?")
    page.click("#confirm [type=submit]")
    expect(page.locator("#s-no-show")).to_have_text("1")

    button(page, "next").click()
    expect_ticket(page, numbers[2], "Đang được gọi")
    display.hears("ticket_called", numbers[2])
    button(page, "transfer").click()
    page.select_option("#transfer-target", "service:cap-phep")
    page.check("#transfer-dialog input[value=end]")
    page.click("#transfer-dialog [type=submit]")
    expect(page.locator("#s-transferred")).to_have_text("1")
    # The visitor now waits in another service's line, seen from that service's console.
    expect(other.locator("#next-list li").first).to_contain_text(numbers[2])
    expect(other.locator("#lines tbody tr").first).to_contain_text("XA")

    button(page, "pause").click()
    page.check("#pause-dialog input[value='Họp']")
    page.click("#pause-dialog [type=submit]")
    expect(page.locator("#c-status")).to_have_text("Tạm dừng")
    expect(page.locator("#c-reason")).to_have_text("Họp")
    expect(button(page, "next")).to_be_disabled()
    counters = requests.get(live_server.url + "/api/counters", timeout=5).json()["counters"]
    assert (counters[0]["status"], counters[0]["pause_reason"]) == ("paused", "Họp")
    button(page, "pause").click()
    expect(page.locator("#c-status")).to_have_text("Đang mở")

    button(page, "call").click()
    page.fill("#call-number", numbers[4].lower())
    page.click("#call-dialog [type=submit]")
    expect_ticket(page, numbers[4], "Đang được gọi")
    display.hears("ticket_called", numbers[4])
    button(page, "requeue").click()  # not here yet: back in line, behind the next ones
    expect(page.locator("#t-number")).to_have_text("—")
    expect(page.locator("#next-list li").last).to_contain_text(numbers[4])


def test_the_transfer_list_warns_of_places_no_open_counter_serves(live_server, new_page):
    number = issue(live_server)
    page = open_console(live_server, new_page, "can-bo-an", 1)  # the only open counter
    button(page, "next").click()
    expect_ticket(page, number, "Đang được gọi")
    # Pausing with the visitor on their way asks first: they would see "paused".
    press(page, "p")
    expect(page.locator("#confirm-text")).to_have_text(
        f"Quầy còn phiếu {number}: công dân sẽ thấy quầy tạm dừng. Vẫn tạm dừng?")
    page.keyboard.press("Escape")
    expect(page.locator("#c-status")).to_have_text("Đang mở")
    # T then Enter alone sends the visitor nowhere: a place must be chosen first.
    press(page, "t")
    expect(page.locator("#transfer-target")).to_be_focused()
    expect(page.locator("#transfer-target")).to_have_value("")
    page.keyboard.press("Enter")
    expect(page.locator("#transfer-dialog")).to_be_visible()
    expect_ticket(page, number, "Đang được gọi")
    page.keyboard.press("Escape")
    expect(page.locator("#transfer-dialog")).to_be_hidden()
    button(page, "transfer").click()
    target, warning = page.locator("#transfer-target"), page.locator("#transfer-warning")
    option = page.locator("#transfer-target option")
    expect(option.filter(has_text="Nhà ở")).to_have_text("XC · Nhà ở — chưa có quầy mở")
    expect(option.filter(has_text="Công chứng")).to_have_text("PC · Công chứng")
    expect(option.filter(has_text="Quầy 3")).to_contain_text("— đang đóng")
    target.select_option("service:cong-chung")
    expect(warning).to_be_hidden()
    target.select_option("service:nha-o")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("công dân sẽ phải chờ đến khi có quầy mở")
    # The officer may still send the visitor there, knowingly; the message names the place
    # without the note.
    page.click("#transfer-dialog [type=submit]")
    expect(page.locator("#s-transferred")).to_have_text("1")
    expect(page.locator("#message")).to_contain_text("XC · Nhà ở")
    expect(page.locator("#message")).not_to_contain_text("chưa có quầy mở")


def test_every_action_by_keyboard_then_closing_and_logging_out(live_server, new_page, display):
    numbers = [issue(live_server) for _ in range(4)] + [issue(live_server, "cong-chung")]
    other = open_console(live_server, new_page, "can-bo-binh", 3)
    page = open_console(live_server, new_page, "can-bo-an", 1)
    expect(button(page, "next")).to_be_enabled()
    keys = page.keyboard

    press(page, "s")  # nothing in hand: the console says what to press instead
    expect(page.locator("#message")).to_have_text(
        "Chưa có phiếu nào ở quầy: bấm Gọi số tiếp theo (N).")
    press(page, "n")
    expect_ticket(page, numbers[0], "Đang được gọi")
    display.hears("ticket_called", numbers[0])
    press(page, "c")  # complete before service began: refused, said, nothing sent
    expect(page.locator("#message")).to_have_text(
        "Công dân chưa đến quầy: bấm Bắt đầu phục vụ (S) trước.")
    expect_ticket(page, numbers[0], "Đang được gọi")
    press(page, "r")
    expect(page.locator("#recall-count")).to_have_text("1/3")
    display.hears("ticket_recalled", numbers[0])
    press(page, "s")
    expect_ticket(page, numbers[0], "Đang phục vụ")
    press(page, "c")
    expect(page.locator("#s-served")).to_have_text("1")

    press(page, "n")
    expect_ticket(page, numbers[1], "Đang được gọi")
    display.hears("ticket_called", numbers[1])
    press(page, "v")
    expect(page.locator("#confirm")).to_be_visible()
    keys.press("n")  # shortcuts sleep while a dialog is open
    keys.press("Escape")  # asked once, and the answer was no
    expect(page.locator("#confirm")).to_be_hidden()
    expect_ticket(page, numbers[1], "Đang được gọi")
    press(page, "v")
    keys.press("Enter")
    expect(page.locator("#s-no-show")).to_have_text("1")

    press(page, "n")
    expect_ticket(page, numbers[2], "Đang được gọi")
    display.hears("ticket_called", numbers[2])
    press(page, "t")
    expect(page.locator("#transfer-target")).to_be_focused()
    keys.type("X")  # the list is by prefix: X jumps to XA, Cấp phép xây dựng
    expect(page.locator("#transfer-target")).to_have_value("service:cap-phep")
    keys.press("Enter")
    expect(page.locator("#s-transferred")).to_have_text("1")
    expect(other.locator("#next-list li").first).to_contain_text(numbers[2])

    press(page, "p")
    keys.press("3")  # the third reason
    keys.press("Enter")
    expect(page.locator("#c-reason")).to_have_text("Hỗ trợ đồng nghiệp")
    press(page, "p")
    expect(page.locator("#c-status")).to_have_text("Đang mở")

    press(page, "g")
    keys.type(numbers[4])
    keys.press("Enter")
    expect_ticket(page, numbers[4], "Đang được gọi")
    display.hears("ticket_called", numbers[4])
    press(page, "s")
    expect_ticket(page, numbers[4], "Đang phục vụ")
    press(page, "n")  # a visitor is still in service: finish and call the next, asked once
    expect(page.locator("#confirm-text")).to_have_text(
        f"Hoàn tất số {numbers[4]} và gọi số tiếp theo?")
    keys.press("Enter")
    expect_ticket(page, numbers[3], "Đang được gọi")
    expect(page.locator("#s-served")).to_have_text("2")

    page.click("[data-action=close]")  # a ticket in hand: asked, then handed back
    expect(page.locator("#confirm-text")).to_contain_text(numbers[3])
    page.click("#confirm [type=submit]")
    expect(page).to_have_url(live_server.url + "/counter")
    expect(page.locator("button[data-counter='1']")).to_have_text("Mở quầy")
    ticket = requests.get(live_server.url + "/api/services", timeout=5).json()["services"][0]
    assert (ticket["id"], ticket["waiting"]) == ("quoc-tich", 1)
    page.click("#logout")
    expect(page).to_have_url(live_server.url + "/counter/login")
    page.goto(live_server.url + "/counter/1")
    expect(page).to_have_url(live_server.url + "/counter/login?next=%2Fcounter%2F1")


def test_a_second_press_while_the_console_reads_the_new_state_is_not_sent(live_server,
                                                                           new_page):
    """On a slow network the answer to an action comes well before the state read after
    it: until that state is on screen, a second press would act on the old one (a second
    N would call while a ticket is in hand, a C then N would ask to complete it again)."""
    numbers = [issue(live_server) for _ in range(2)]
    page = open_console(live_server, new_page, "can-bo-an", 1)
    page.evaluate("""() => {  // every read of the console state now takes 1.5 s
        const plain = window.fetch;
        window.fetch = (url, options) => String(url).includes("/console")
            ? new Promise((ok) => setTimeout(ok, 1500)).then(() => plain(url, options))
            : plain(url, options);
    }""")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/next")):
        press(page, "n")
    # The next frame: idle again before the new state, or the new state itself.
    page.wait_for_function("!document.body.classList.contains('is-busy') || "
                           "document.querySelector('#t-number').textContent !== '—'")
    page.keyboard.press("n")  # the officer pressed twice
    expect_ticket(page, numbers[0], "Đang được gọi")
    if page.locator("#confirm").is_visible():  # the state was read: asked, and said no
        page.keyboard.press("Escape")
    expect(page.locator("#message")).to_have_text(f"Đã gọi số {numbers[0]}.")
    assert len([u for u in sent if "/next" in u]) == 1
    expect_ticket(page, numbers[0], "Đang được gọi")


def test_a_shortcut_pressed_as_a_dialog_closes_is_not_lost(live_server, new_page):
    """The browser takes the focus out of a closed dialog only at its next frame: a key
    pressed before that (Esc, then S at once) went to the list inside the closed dialog
    and was dropped as typing. The keydown is dispatched where the browser would send it,
    in the same frame as the Esc."""
    number = issue(live_server)
    page = open_console(live_server, new_page, "can-bo-an", 1)
    press(page, "n")
    expect_ticket(page, number, "Đang được gọi")
    for recalls, (dialog, key, field) in enumerate(
            [("transfer-dialog", "t", "#transfer-target"),
             ("pause-dialog", "p", "#pause-dialog [type=submit]")], start=1):
        press(page, key)
        if key == "p":  # pausing with a ticket in hand asks first
            expect(page.locator("#confirm")).to_be_visible()
            page.keyboard.press("Enter")
        expect(page.locator(field)).to_be_focused()
        page.evaluate("""async (id) => {
            document.getElementById(id).dispatchEvent(new Event("cancel", {cancelable: true}));
            for (let i = 0; i < 20; i++) await null;  // the action ends; no frame yet
            document.activeElement.dispatchEvent(new KeyboardEvent("keydown",
                {key: "r", bubbles: true, cancelable: true}));
        }""", dialog)
        expect(page.locator("#recall-count")).to_have_text(f"{recalls}/3")
    press(page, "t")
    page.keyboard.press("Escape")
    page.keyboard.press("s")  # and with the real keyboard
    expect_ticket(page, number, "Đang phục vụ")


def test_a_counter_the_officer_may_not_sit_at_says_so_instead_of_an_empty_console(
        live_server, new_page):
    issue(live_server)
    live_server.login("can-bo-han-che", counters="2")
    page = new_page(1366, 768)
    page.goto(live_server.url + "/counter/1")
    log_in(page, "can-bo-han-che")
    expect(page).to_have_url(live_server.url + "/counter/1")
    expect(page.locator("#seat")).to_be_visible()
    expect(page.locator("#seat-text")).to_have_text("Bạn không được phân công ngồi quầy 1.")
    expect(page.locator("#seat [data-action=open]")).to_be_hidden()
    expect(page.locator("#seat a[href='/counter']")).to_be_visible()
    expect(page.locator("#next-empty")).to_be_hidden()  # its line is not known, not empty
    expect(button(page, "next")).to_be_disabled()


def test_one_officer_per_counter_until_a_supervisor_takes_the_seat_over(live_server, new_page):
    number = issue(live_server)
    first = open_console(live_server, new_page, "can-bo-an", 1)
    button(first, "next").click()
    expect_ticket(first, number, "Đang được gọi")

    second = open_console(live_server, new_page, "can-bo-binh", 2)
    second.goto(live_server.url + "/counter")
    second.click("button[data-counter='1']")
    expect(second.locator("#message")).to_have_text("Quầy 1 đang do cán bộ can-bo-an phụ trách.")
    expect(second).to_have_url(live_server.url + "/counter")

    boss = "<b>Giám sát</b>"  # a name is text, never markup
    live_server.login(boss, role="supervisor")
    page = new_page(1366, 768)
    page.goto(live_server.url + "/counter/login?next=/counter")
    log_in(page, boss)
    take = page.locator("button[data-counter='1']")
    expect(take).to_have_text("Tiếp quản quầy")
    take.click()
    expect(page.locator("#confirm-text")).to_have_text(
        "Quầy đang do cán bộ can-bo-an phụ trách. Tiếp quản quầy này?")
    page.click("#confirm [type=submit]")
    expect(page).to_have_url(live_server.url + "/counter/1")
    expect_ticket(page, number, "Đang được gọi")  # the visitor is still there
    expect(first.locator("#seat-text")).to_have_text(
        f"Cán bộ {boss} đã tiếp quản quầy này. Bạn không thao tác được nữa.")
    assert first.locator("#seat-text b").count() == 0
    expect(button(first, "serve")).to_be_disabled()
    expect(button(first, "next")).to_be_disabled()
    button(page, "serve").click()
    expect_ticket(page, number, "Đang phục vụ")


def test_an_expired_session_logs_in_again_back_to_the_same_counter_and_ticket(
        live_server, new_page):
    number = issue(live_server)
    page = open_console(live_server, new_page, "can-bo-an", 1)
    inflight = set()  # the console's API calls under way (not the Socket.IO connection)
    page.on("request", lambda r: "/socket.io/" in r.url or inflight.add(r))
    page.on("requestfinished", lambda r: inflight.discard(r))
    page.on("requestfailed", lambda r: inflight.discard(r))
    press(page, "n")
    expect_ticket(page, number, "Đang được gọi")
    # Every answer refreshes the session cookie: let the re-reads the call set off finish
    # first, or a late one would put the cookie back right after it is cleared.
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 0.5:
        page.wait_for_timeout(50)
        if inflight:
            quiet_since = time.monotonic()
    page.context.clear_cookies()  # the session cookie ran out
    press(page, "s")
    expect(page.locator("#expired")).to_be_visible()
    expect(page.locator("#expired-text")).to_contain_text("Phiên đăng nhập đã hết hạn")
    page.keyboard.press("Escape")  # there is no way around it but logging in
    expect(page.locator("#expired")).to_be_visible()
    page.click("#expired a")
    log_in(page, "can-bo-an")
    expect(page).to_have_url(live_server.url + "/counter/1")
    expect_ticket(page, number, "Đang được gọi")
    expect(button(page, "serve")).to_be_enabled()
    press(page, "s")
    expect_ticket(page, number, "Đang phục vụ")


def test_a_console_left_open_while_the_server_restarts_recovers_on_its_own(
        live_server, new_page):
    number = issue(live_server)
    page = open_console(live_server, new_page, "can-bo-an", 1)
    press(page, "n")
    expect_ticket(page, number, "Đang được gọi")
    page.evaluate("window.notReloaded = true")

    live_server.kill()
    expect(page.locator("#offline")).to_be_visible()
    expect(button(page, "serve")).to_be_disabled()  # nothing to press while it is down
    banner = page.locator("#offline").bounding_box()
    for control in page.locator("header button, header a").all():  # the notice hides none
        box = control.bounding_box()
        assert (box["y"] + box["height"] <= banner["y"] or banner["y"] + banner["height"]
                <= box["y"] or box["x"] + box["width"] <= banner["x"]
                or banner["x"] + banner["width"] <= box["x"]), control.inner_text()
    live_server.start()
    later = issue(live_server, "cong-chung")  # the queue moved on meanwhile

    expect(page.locator("#offline")).to_be_hidden(timeout=10_000)
    line = page.locator("#lines tbody tr").nth(1)
    expect(line.locator("th")).to_have_text("PC · Công chứng")
    expect(line.locator("td").first).to_have_text("1")
    expect(page.locator("#next-list li").first).to_contain_text(later)
    expect_ticket(page, number, "Đang được gọi")
    assert page.evaluate("window.notReloaded") is True
    expect(button(page, "serve")).to_be_enabled()
    press(page, "s")
    expect_ticket(page, number, "Đang phục vụ")


@pytest.mark.parametrize("width, height", [(1366, 768), (1920, 1080)])
def test_the_console_fits_the_screen_and_speaks_english_on_request(live_server, new_page, width,
                                                                   height):
    live_server.login("can-bo-an")
    page = new_page(width, height)
    page.goto(live_server.url + "/counter/1")
    page.click("text=English")
    expect(page.locator("label[for=password]")).to_have_text("Password")
    log_in(page, "can-bo-an")
    expect(page).to_have_url(live_server.url + "/counter/1")
    expect(page.locator("#seat-text")).to_have_text(
        "The counter is closed. Press Open counter to start.")
    page.click("#seat [data-action=open]")
    expect(page.locator("#c-status")).to_have_text("Open")
    expect(button(page, "next").locator(".act-label")).to_have_text("Call next")
    expect(button(page, "next").locator("kbd")).to_have_text("N")
    # Every action is on screen at once: nothing to scroll to, nothing cut off.
    assert page.evaluate("document.scrollingElement.scrollHeight") <= height
    for b in page.locator("[data-action]:visible").all():
        box = b.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, b.text_content()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, b.text_content()
        if b.get_attribute("data-key"):
            assert box["height"] >= 60 and box["width"] >= 150  # big targets
