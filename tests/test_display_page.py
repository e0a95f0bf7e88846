"""Hall displays in a real browser (Playwright driving Debian's Chromium) against a real
server: calls appear and are spoken in order, one display per zone speaks, and a display
that loses the server recovers by itself."""

import signal
import subprocess
import time

import pytest

from conftest import LiveServer, make_config

ZONES = [{"id": "A", "floor": 1, "name": {"vi": "Khu Tư pháp – Hộ tịch", "en": "Justice"}},
         {"id": "B", "floor": 2, "name": "Khu Xây dựng"}]
NOTICE = "Quý khách vui lòng giữ trật tự và theo dõi số thứ tự trên màn hình"


@pytest.fixture
def hall(tmp_path):
    config = make_config(tmp_path, {
        "server": {"async_mode": "gevent"}, "zones": ZONES,
        "display": {"recent_calls": 5, "spotlight_s": 2, "notices": [NOTICE]}})
    srv = LiveServer(config).start()
    yield srv
    srv.kill(signal.SIGTERM)


@pytest.fixture
def named_hall(tmp_path):
    """A server whose zone A is voiced by the display named ``loa-chinh``."""
    zones = [{**ZONES[0], "speaker": "loa-chinh"}, ZONES[1]]
    srv = LiveServer(make_config(tmp_path, {"server": {"async_mode": "gevent"},
                                            "zones": zones})).start()
    yield srv
    srv.kill(signal.SIGTERM)


class Counter:
    """An officer seated at a counter of the live server, calling through the API."""

    def __init__(self, srv, counter=1, name="can-bo-an", create=True):
        self.srv, self.counter = srv, counter
        self.http = srv.login(name, counters=str(counter), create=create)
        assert self.http.post(f"{srv.url}/api/counters/{counter}/open").status_code == 200

    def issue(self, service="quoc-tich"):
        r = self.http.post(f"{self.srv.url}/api/tickets", json={"service": service})
        assert r.status_code == 201, r.text
        return r.json()["number"]

    def act(self, action):
        r = self.http.post(f"{self.srv.url}/api/counters/{self.counter}/{action}")
        assert r.status_code == 200, r.text
        return r.json()

    def finish(self):
        self.act("serve")
        self.act("complete")

    def call_next(self):
        return self.act("next")["ticket"]["number"]


def open_display(new_page, srv, path="/display/A"):
    page = new_page(1920, 1080)
    page.goto(srv.url + path)
    page.wait_for_function("window.QMS_DISPLAY && window.QMS_DISPLAY.state.seq >= 0 && "
                           "!document.body.classList.contains('is-offline')")
    return page


def played(page):
    return page.evaluate("window.QMS_DISPLAY.played")


def test_a_call_shows_in_the_spotlight_within_a_second_and_is_spoken_to_its_end(
        hall, new_page):
    page = open_display(new_page, hall)
    page.wait_for_function("document.body.classList.contains('is-speaker')")
    desk = Counter(hall)
    number = desk.issue()
    started = time.monotonic()
    assert desk.call_next() == number
    page.wait_for_function(f"document.getElementById('spot-number').textContent === "
                           f"'{number}'", timeout=1000)
    assert time.monotonic() - started < 1.0
    assert "Quầy 1" in page.inner_text("#spot-where")
    assert "không, không, một" in page.inner_text("#spot-subtitle")  # the words, as subtitle
    assert page.locator("#calls tr").first.inner_text().split() == [number, "Quầy", "1"]
    page.wait_for_function("window.QMS_DISPLAY.played.length === 2 && "
                           "window.QMS_DISPLAY.played.every(p => p.end !== null)", timeout=20000)
    chime, voice = played(page)
    assert chime["src"] == "/audio/chime.wav" and chime["ok"]
    assert voice["src"].startswith("/audio/") and voice["number"] == number and voice["ok"]
    # Played to its end: as long as the WAV lasts (espeak-ng says a phrase in seconds).
    assert voice["end"] - voice["start"] > 1500


def test_a_priority_counter_elsewhere_calling_a_zone_ticket_shows_and_speaks_in_that_zone(
        hall, new_page):
    page = open_display(new_page, hall)  # zone A's TV, its speaker
    page.wait_for_function("document.body.classList.contains('is-speaker')")
    desk = Counter(hall, counter=4, name="can-bo-uu-tien")  # zone B, serves quoc-tich (A)
    number = desk.issue("quoc-tich")
    assert desk.call_next() == number
    page.wait_for_function(f"document.getElementById('spot-number').textContent === "
                           f"'{number}'", timeout=3000)
    assert "Quầy 4" in page.inner_text("#spot-where")
    page.wait_for_function("window.QMS_DISPLAY.played.some(p => p.number === "
                           f"'{number}' && p.end !== null)", timeout=20000)


def test_a_burst_of_five_calls_is_announced_in_order_without_overlap(hall, new_page):
    page = open_display(new_page, hall)
    page.wait_for_function("document.body.classList.contains('is-speaker')")
    desks = [Counter(hall, counter=c, name=f"can-bo-{c}") for c in (1, 2)]
    numbers = [desks[0].issue(s) for s in ("quoc-tich", "cong-chung") * 3][:5]
    called = []
    for i in range(5):  # two counters calling as fast as they can
        desk = desks[i % 2]
        if i >= 2:
            desk.finish()
        called.append(desk.call_next())
    assert sorted(called) == sorted(numbers)
    page.wait_for_function("window.QMS_DISPLAY.played.length === 10 && "
                           "window.QMS_DISPLAY.played.every(p => p.end !== null)", timeout=60000)
    entries = played(page)
    voices = [p for p in entries if p["src"] != "/audio/chime.wav"]
    assert [v["number"] for v in voices] == called
    assert all(p["ok"] for p in entries)
    for before, after in zip(entries, entries[1:], strict=False):
        assert after["start"] >= before["end"]  # never two sounds at once


def test_in_each_zone_exactly_one_display_speaks_and_another_takes_over(hall, new_page):
    first = open_display(new_page, hall)
    first.wait_for_function("document.body.classList.contains('is-speaker')")
    second = open_display(new_page, hall)
    other_zone = open_display(new_page, hall, "/display/B")
    time.sleep(0.5)
    assert not second.evaluate("document.body.classList.contains('is-speaker')")
    assert other_zone.evaluate("document.body.classList.contains('is-speaker')")
    first.close()
    second.wait_for_function("document.body.classList.contains('is-speaker')", timeout=5000)


def test_the_named_speaker_of_a_zone_takes_the_sound_from_a_stand_in(named_hall, new_page):
    srv = named_hall
    stand_in = open_display(new_page, srv)
    stand_in.wait_for_function("document.body.classList.contains('is-speaker')")
    named = open_display(new_page, srv, "/display/A?name=loa-chinh")
    named.wait_for_function("document.body.classList.contains('is-speaker')")
    stand_in.wait_for_function("!document.body.classList.contains('is-speaker')")


def test_the_display_fits_the_tv_reads_from_afar_and_shows_every_diacritic(
        hall, new_page, tmp_path):
    desk = Counter(hall)
    number = desk.issue()
    desk.issue("cong-chung")
    desk.call_next()
    page = open_display(new_page, hall)
    page.wait_for_function(f"document.getElementById('spot-number').textContent === "
                           f"'{number}'")
    page.wait_for_function("document.fonts.status === 'loaded'")
    metrics = page.evaluate("""() => ({
        number: document.getElementById('spot-number').getBoundingClientRect().height,
        scrollW: document.documentElement.scrollWidth,
        scrollH: document.documentElement.scrollHeight,
        cursor: getComputedStyle(document.body).cursor,
        font: document.fonts.check('40px "Be Vietnam Pro"', 'Tư pháp – Hộ tịch Xây dựng ữ ậ ỷ'),
        overflowing: [...document.querySelectorAll('body *')].filter(e => {
            const r = e.getBoundingClientRect();
            return r.width && (r.right > innerWidth + 1 || r.bottom > innerHeight + 1)
                && !e.closest('#ticker');
        }).map(e => e.id || e.className),
    })""")
    assert metrics["number"] >= 1080 / 10  # at least a tenth of the screen height
    assert metrics["scrollW"] <= 1920 and metrics["scrollH"] <= 1080
    assert metrics["cursor"] == "none" and metrics["font"] is True
    assert metrics["overflowing"] == []
    assert page.inner_text(".zone-name") == "Khu A · Khu Tư pháp – Hộ tịch"
    assert "Công chứng" in page.inner_text("#waiting")  # the other ticket still waits
    assert NOTICE in page.inner_text("#ticker-text")
    assert "Thứ" in page.inner_text("#date")
    shot = tmp_path / "display-1920x1080.png"
    page.screenshot(path=str(shot))
    header = tmp_path / "header.png"
    page.locator(".zone-name").screenshot(path=str(header))
    text = subprocess.run(["tesseract", str(header), "-", "-l", "vie", "--psm", "7"],
                          capture_output=True, text=True, check=True).stdout
    assert "Tư ph" in text and "Hộ tịch" in text, text  # ư, ộ, ị drawn, not boxes


def test_the_screen_above_a_counter_shows_the_number_it_serves(hall, new_page):
    page = new_page(1280, 720)
    page.goto(hall.url + "/display/counter/1")
    assert page.inner_text(".cs-name") == "Quầy 1"
    page.wait_for_function("document.getElementById('cs-state').textContent !== ''")
    assert page.inner_text("#cs-state") == "Quầy tạm đóng"
    desk = Counter(hall)
    number = desk.issue()
    desk.call_next()
    page.wait_for_function(f"document.getElementById('cs-number').textContent === '{number}'")
    desk.act("serve")
    page.wait_for_function("document.getElementById('cs-state').textContent === "
                           "'Đang phục vụ'")
    desk.act("complete")
    page.wait_for_function("document.getElementById('cs-number').textContent === '—'")
    assert page.inner_text("#cs-state") == "Xin chờ gọi số"


def test_a_display_that_loses_the_server_says_so_keeps_its_calls_and_recovers(
        hall, new_page):
    desk = Counter(hall)
    first = desk.issue()
    second = desk.issue()
    desk.call_next()
    page = open_display(new_page, hall)
    page.wait_for_function(f"document.getElementById('spot-number').textContent === "
                           f"'{first}'")
    page.evaluate("window.sameDocument = true")
    hall.kill(signal.SIGKILL)
    page.wait_for_selector("#offline", state="visible", timeout=10000)
    assert page.inner_text("#spot-number") == first  # still shows what it had
    assert page.evaluate("""() => {  // discreet: it hides neither the date nor the clock
        const o = document.getElementById('offline').getBoundingClientRect();
        return ['date', 'clock', 'spot-number'].every((id) => {
            const r = document.getElementById(id).getBoundingClientRect();
            return o.right <= r.left || o.left >= r.right || o.bottom <= r.top ||
                   o.top >= r.bottom;
        });
    }""")
    hall.start()
    page.wait_for_selector("#offline", state="hidden", timeout=5000)
    desk = Counter(hall, create=False)  # the seat survived the restart; log in again
    desk.finish()
    assert desk.call_next() == second
    page.wait_for_function(f"document.getElementById('spot-number').textContent === "
                           f"'{second}'", timeout=5000)
    assert page.evaluate("window.sameDocument") is True  # no reload


def test_a_display_of_an_unknown_zone_or_counter_is_a_clear_404(hall):
    import requests
    for path in ("/display/ZZ", "/display/counter/999", "/display/counter/abc"):
        r = requests.get(hall.url + path, timeout=5)
        assert r.status_code == 404, path
    r = requests.get(hall.url + "/display/ZZ", timeout=5)
    assert r.json()["error"] == "Không có khu 'ZZ'."
    assert requests.get(hall.url + "/audio/not-a-key.wav", timeout=5).status_code == 404
    assert requests.get(hall.url + "/audio/" + "ab" * 16 + ".wav", timeout=5).status_code == 404


# -- a big zone: many services with long names, long numbers -------------------------------

LONG_NAMES = ["Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
              "Đăng ký bản công bố sản phẩm thực phẩm", "Nuôi con nuôi có yếu tố nước ngoài",
              "Giám định tư pháp; trọng tài, hòa giải thương mại",
              "Giấy phép lao động cho người nước ngoài", "Thừa phát lại; quản tài viên"]
BIG_SERVICES = [{"id": f"s{i}", "prefix": f"Đ{'ABCDEGHKLMNPQRSTUVXY'[i // 6]}{'ABCDEG'[i % 6]}",
                 "name": f"{LONG_NAMES[i % len(LONG_NAMES)]} ({i})"} for i in range(24)]


@pytest.fixture
def big_hall(tmp_path):
    """Zone A with 24 services of long names, three-letter prefixes and four digits."""
    config = make_config(tmp_path, {
        "server": {"async_mode": "gevent"}, "issuing": {"number_digits": 4},
        "zones": [{"id": "A", "floor": 1, "name": {"vi": "Khu A", "en": "Zone A"}}],
        "departments": [{"id": "big", "name": "Sở lớn", "zone": "A",
                         "services": BIG_SERVICES}],
        "counters": [{"id": 1, "zone": "A", "services": [s["id"] for s in BIG_SERVICES]}]})
    srv = LiveServer(config).start()
    yield srv
    srv.kill(signal.SIGTERM)


def visible_chips(page):
    """The waiting chips on screen now; fails if one is cut off by the band's edge."""
    return page.evaluate("""() => {
        const band = document.getElementById('waiting').getBoundingClientRect();
        return [...document.querySelectorAll('#waiting .wait-chip')]
          .filter((c) => c.getClientRects().length).map((c) => {
            const r = c.getBoundingClientRect();
            return {text: c.textContent, inside: r.bottom <= band.bottom + 1 &&
                    r.right <= band.right + 1 && c.scrollWidth <= c.clientWidth};
          });
    }""")


def test_every_waiting_service_shows_a_page_at_a_time_and_none_is_cut_off(big_hall, new_page):
    desk = Counter(big_hall)
    for s in BIG_SERVICES:
        desk.issue(s["id"])
    page = open_display(new_page, big_hall)
    page.wait_for_function("document.fonts.status === 'loaded' && "
                           "document.querySelectorAll('#waiting .wait-chip').length === 24")
    pages = page.evaluate("window.QMS_DISPLAY.state.pages")
    assert pages > 1 and page.inner_text("#waiting-page") == f"1/{pages}"
    seen = []
    for _ in range(pages):
        chips = visible_chips(page)
        assert chips and all(c["inside"] for c in chips), chips
        seen += [c["text"] for c in chips]
        page.evaluate("window.QMS_DISPLAY.nextPage()")
    assert sorted(seen) == sorted(f"{s['prefix']} · {s['name']}1" for s in BIG_SERVICES)
    assert page.inner_text(".zone-name") == "Khu A"  # not "Khu A · Khu A"


def number_fits(page, selector, box_selector=None):
    return page.evaluate("""([sel, boxSel]) => {
        const r = document.querySelector(sel).getBoundingClientRect();
        const b = boxSel ? document.querySelector(boxSel).getBoundingClientRect()
                         : {left: 0, right: innerWidth};
        return r.left >= b.left - 1 && r.right <= b.right + 1 &&
               document.documentElement.scrollWidth <= innerWidth;
    }""", [selector, box_selector])


def test_a_long_number_fits_the_spotlight_and_counter_screens_of_any_shape(
        big_hall, new_page):
    desk = Counter(big_hall)
    number = desk.issue(BIG_SERVICES[0]["id"])
    assert number == "ĐAA0001"
    desk.call_next()
    hall = open_display(new_page, big_hall)
    hall.wait_for_function("document.fonts.status === 'loaded'")
    hall.wait_for_function(f"document.getElementById('spot-number').textContent === '{number}'")
    assert number_fits(hall, "#spot-number", "#spotlight")
    assert hall.evaluate("document.getElementById('spot-number')"
                         ".getBoundingClientRect().height") >= 1080 / 10
    for width, height in ((1920, 1080), (1024, 768), (1280, 1024), (1080, 1920)):
        page = new_page(width, height)
        page.goto(big_hall.url + "/display/counter/1")
        page.wait_for_function(f"document.getElementById('cs-number').textContent === "
                               f"'{number}' && document.fonts.status === 'loaded'")
        page.wait_for_timeout(100)  # the fonts-ready refit
        assert number_fits(page, "#cs-number"), (width, height)


def test_pausing_while_serving_keeps_the_number_on_the_counter_screen(hall, new_page):
    desk = Counter(hall)
    number = desk.issue()
    desk.call_next()
    desk.act("serve")
    page = new_page(1280, 720)
    page.goto(hall.url + "/display/counter/1")
    page.wait_for_function("document.getElementById('cs-state').textContent === "
                           "'Đang phục vụ'")
    state = "[document.getElementById('cs-number').textContent, " \
            "document.getElementById('cs-state').textContent]"
    assert desk.http.post(f"{hall.url}/api/counters/1/pause", json={}).status_code == 200
    page.wait_for_function(f"{state}[1] === 'Tạm dừng'")
    assert page.evaluate(state) == [number, "Tạm dừng"]  # as a reload would show it
    desk.act("resume")
    page.wait_for_function(f"{state}[1] !== 'Tạm dừng'")
    assert page.evaluate(state) == [number, "Đang phục vụ"]
    desk.act("complete")
    page.wait_for_function(f"{state}[0] === '—'")
    assert page.evaluate(state) == ["—", "Xin chờ gọi số"]


def test_a_display_that_stops_speaking_drops_what_it_had_left_to_say(named_hall, new_page):
    srv = named_hall
    stand_in = open_display(new_page, srv)
    stand_in.wait_for_function("document.body.classList.contains('is-speaker')")
    desks = [Counter(srv, counter=c, name=f"can-bo-{c}") for c in (1, 2)]
    for desk in desks:
        desk.issue()
        desk.call_next()  # two announcements: the second waits for the first
    stand_in.wait_for_function("window.QMS_DISPLAY.played.length >= 2")
    named = open_display(new_page, srv, "/display/A?name=loa-chinh")
    named.wait_for_function("document.body.classList.contains('is-speaker')")
    stand_in.wait_for_function("!document.body.classList.contains('is-speaker')")
    quiet_at = stand_in.evaluate("performance.now()")
    stand_in.wait_for_timeout(2000)
    entries = played(stand_in)
    assert all(e["end"] is not None and e["end"] <= quiet_at + 100 for e in entries)
    assert len(entries) < 4  # the second call was never started


@pytest.mark.parametrize("payload, code, error", [
    ({"zone": "ZZ"}, "unknown_zone", "Không có khu 'ZZ'."),
    ({"zone": 5}, "field_type", "Trường 'zone' phải là một chuỗi ký tự."),
    ({}, "field_required", "Thiếu trường 'zone'."),
    ("A", "field_required", "Thiếu trường 'zone'."),
    ({"zone": "A", "name": 5}, "field_type", "Trường 'name' phải là một chuỗi ký tự."),
    ({"zone": "A", "name": "x" * 65}, "field_too_long", "Trường 'name' dài quá 64 ký tự."),
])
def test_a_bad_speaker_claim_gets_a_clear_translated_refusal(hall, payload, code, error):
    import socketio
    sio = socketio.SimpleClient()
    sio.connect(hall.url, transports=["websocket"])
    try:
        assert sio.call("speaker", payload, timeout=5) == {"ok": False, "code": code,
                                                           "error": error}
        assert sio.call("speaker", {"zone": "A"}, timeout=5)["ok"] is True
    finally:
        sio.disconnect()


def test_a_recalled_number_is_listed_once_with_its_words_and_the_center_tv_stays_quiet(
        hall, new_page):
    import requests
    desk = Counter(hall)
    number = desk.issue()
    desk.call_next()
    desk.act("recall")
    desk.act("recall")
    calls = requests.get(hall.url + "/api/display?zone=A", timeout=5).json()["calls"]
    assert [c["number"] for c in calls] == [number]
    assert calls[0]["announcement"].startswith("Mời công dân có số thứ tự pê, a, không")
    zone_tv = open_display(new_page, hall)
    zone_tv.wait_for_function("document.body.classList.contains('is-speaker')")
    assert zone_tv.inner_text("#spot-subtitle") == calls[0]["announcement"]
    center_tv = open_display(new_page, hall, "/display")
    desk.act("recall")
    zone_tv.wait_for_function("window.QMS_DISPLAY.played.length >= 1")
    center_tv.wait_for_function(f"document.getElementById('spot-number').textContent === "
                                f"'{number}'")
    assert center_tv.locator("#calls tr").count() == 1  # listed once after another recall
    assert not center_tv.evaluate("document.body.classList.contains('is-speaker')")
    assert center_tv.evaluate("window.QMS_DISPLAY.played.length") == 0
    loud = open_display(new_page, hall, "/display?sound=1")
    loud.wait_for_function("document.body.classList.contains('is-speaker')")
