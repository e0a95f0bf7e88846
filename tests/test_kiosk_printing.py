"""Tickets printed by a real server on a fake ESC/POS printer at 127.0.0.1, decoded back:
the raster has the configured width, the QR opens the ticket's status page, the number is
on the paper; a failing printer never loses a ticket and staff reprint it."""

import signal

import pytest
import requests
from fake_printer import FakePrinter, decode_qr, ink_bands, ocr, parse_raster
from test_realtime import Watcher, cookie_of

from conftest import LiveServer, make_config


@pytest.fixture
def printer():
    with FakePrinter() as fake:
        yield fake


def serve(tmp_path, printer_section, *, default=None):
    kiosks = [{"id": "k1", "printer": printer_section}, {"id": "k2"}]
    overrides = {"server": {"async_mode": "gevent"}, "kiosks": kiosks}
    if default:
        overrides["printer"] = default
    return LiveServer(make_config(tmp_path, overrides)).start()


@pytest.fixture
def running():
    servers = []
    yield servers
    for srv in servers:
        srv.kill(signal.SIGTERM)


def issue(srv, kiosk="k1", service="quoc-tich"):
    r = requests.post(srv.url + "/api/tickets", json={"service": service, "kiosk": kiosk},
                      timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_kiosk_ticket_prints_with_its_number_and_a_qr_of_its_status_page(
        tmp_path, printer, running):
    srv = serve(tmp_path, printer.config(width=576))
    running.append(srv)
    kiosk = Watcher(srv.url, "kiosk:k1")
    ticket = issue(srv)
    assert ticket["print"] == "printer:k1"
    job, = printer.wait_for_jobs(1)
    image, = parse_raster(job)
    assert image.width == 576 and image.height > 576
    assert decode_qr(image) == [ticket["status_url"]]
    top, bottom = next(b for b in ink_bands(image) if b[1] - b[0] >= image.width // 4)
    big = image.crop((0, top - 20, image.width, bottom + 20))  # the number, very large
    assert ocr(big, psm=7, scale=0.5).split() == [ticket["number"]]
    text = ocr(image)
    assert "Trung tâm thử nghiệm" in text and "Quốc tịch" in text
    name, printed = kiosk.until("ticket_printed")[-1]
    assert printed["number"] == ticket["number"] and printed["device"] == "printer:k1"
    kiosk.close()


def test_a_kiosk_without_a_printer_of_its_own_uses_the_default_one(tmp_path, printer, running):
    srv = serve(tmp_path, None, default=printer.config())
    running.append(srv)
    ticket = issue(srv, kiosk="k2")
    assert ticket["print"] == "printer"
    job, = printer.wait_for_jobs(1)
    assert parse_raster(job)[0].width == 384


@pytest.mark.parametrize("trouble, kind", [
    ({"refuse": True}, "unreachable"),
    ({"status": 0x72}, "paper_out"),
    ({"drop_after": 2000}, None),  # gone mid-ticket: reset or refused, the kind may vary
], ids=["refusing", "paper out", "gone mid-ticket"])
def test_a_failing_printer_keeps_the_ticket_tells_kiosk_and_supervisors_and_reprint_works(
        tmp_path, running, trouble, kind):
    fake = FakePrinter(**trouble)
    try:
        srv = serve(tmp_path, fake.config())
        running.append(srv)
        boss = srv.login("giam-sat", role="supervisor")
        board = Watcher(srv.url, "dashboard", cookie=cookie_of(boss))
        kiosk = Watcher(srv.url, "kiosk:k1")
        ticket = issue(srv)
        assert ticket["print"] == "printer:k1"
        _, fault = kiosk.until("device_fault", timeout=10)[-1]
        assert (fault["device"], fault["number"], fault["kiosk"]) == \
            ("printer:k1", ticket["number"], "k1")
        assert kind is None or fault["kind"] == kind, fault
        assert fault["message"] == ""  # the kiosk room is open to anyone on the LAN
        _, seen = board.until("device_fault", timeout=10)[-1]
        assert seen["number"] == ticket["number"]
        assert str(fake.port) in seen["message"] or kind != "unreachable"  # supervisors
        status = requests.get(srv.url + f"/api/tickets/{ticket['token']}", timeout=5).json()
        assert status["status"] == "waiting" and status["number"] == ticket["number"]
        # The printer is mended: staff print the same ticket again.
        fake.refuse, fake.status, fake.drop_after = False, 0x12, None
        if trouble.get("refuse"):
            fake.listen()
        done = len(fake.jobs)
        r = boss.post(srv.url + f"/api/tickets/{ticket['number']}/reprint", timeout=10)
        assert r.status_code == 202, r.text
        assert r.json() == {"number": ticket["number"], "print": "printer:k1"}
        job = fake.wait_for_jobs(done + 1, timeout=10)[-1]
        assert decode_qr(parse_raster(job)[0]) == [ticket["status_url"]]
        _, printed = kiosk.until("ticket_printed", timeout=10)[-1]
        assert printed["number"] == ticket["number"]
        board.close()
        kiosk.close()
    finally:
        fake.stop()


def test_reprint_is_for_staff_and_refuses_what_it_cannot_do(tmp_path, printer, running):
    srv = serve(tmp_path, printer.config())
    running.append(srv)
    ticket = issue(srv)
    number = ticket["number"]
    anonymous = requests.post(srv.url + f"/api/tickets/{number}/reprint", timeout=5)
    assert anonymous.status_code == 401
    officer = srv.login("can-bo-an")
    no_csrf = requests.post(srv.url + f"/api/tickets/{number}/reprint", timeout=5,
                            cookies=officer.cookies)
    assert no_csrf.status_code == 403
    cases = [("/api/tickets/ZZ999/reprint", None, 404, "unknown_number"),
             (f"/api/tickets/{number}/reprint", {"kiosk": "k2"}, 409, "no_printer"),
             (f"/api/tickets/{number}/reprint", {"kiosk": "nope"}, 404, "unknown_kiosk"),
             (f"/api/tickets/{number}/reprint", {"kiosk": 7}, 400, "field_type"),
             (f"/api/tickets/{'X' * 300}/reprint", None, 404, "unknown_number")]
    for path, body, code, msg in cases:
        r = officer.post(srv.url + path, json=body, timeout=5)
        assert (r.status_code, r.json()["code"]) == (code, msg), (path, r.text)
    printer.wait_for_jobs(1)
    ok = officer.post(srv.url + f"/api/tickets/{number}/reprint", timeout=5)
    assert ok.status_code == 202
    assert len(printer.wait_for_jobs(2)) == 2
    # A ticket that is over is not printed again.
    officer.post(srv.url + "/api/counters/1/open", timeout=5)
    for action in ("next", "serve", "complete"):
        assert officer.post(srv.url + f"/api/counters/1/{action}", timeout=5).ok
    over = officer.post(srv.url + f"/api/tickets/{number}/reprint", timeout=5)
    assert (over.status_code, over.json()["code"]) == (409, "reprint_closed")


def test_a_registered_kiosk_issues_only_the_services_it_offers(app_with):
    _, client, _ = app_with({"kiosks": [{"id": "k-b", "zone": "B"},
                                        {"id": "k-pc", "services": ["cong-chung"]}]})
    ok = client.post("/api/tickets", json={"service": "cap-phep", "kiosk": "k-b"})
    assert ok.status_code == 201
    for kiosk, service in (("k-b", "quoc-tich"), ("k-pc", "quoc-tich")):
        r = client.post("/api/tickets", json={"service": service, "kiosk": kiosk})
        assert (r.status_code, r.json["code"]) == (403, "kiosk_service")
    assert client.get("/api/services").json["services"][0]["waiting"] == 0  # nothing issued
    assert client.post("/api/tickets", json={"service": "quoc-tich"}).status_code == 201


def test_a_retried_tap_prints_once_and_a_reprint_speaks_the_visitors_language(
        tmp_path, printer, running):
    srv = serve(tmp_path, printer.config())
    running.append(srv)
    body = {"service": "quoc-tich", "kiosk": "k1", "request_id": "tap-0123456789abcdef"}
    first = requests.post(srv.url + "/api/tickets?lang=en", json=body, timeout=10)
    again = requests.post(srv.url + "/api/tickets?lang=en", json=body, timeout=10)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["number"] == first.json()["number"]
    assert again.json()["print"] == "printer:k1"  # where it was printed, not printed again
    other = issue(srv, service="cong-chung")
    # One worker prints in order: had the retry printed, the second job would be its own.
    jobs = printer.wait_for_jobs(2)
    assert [decode_qr(parse_raster(job)[0]) for job in jobs] == [
        [first.json()["status_url"]], [other["status_url"]]]
    assert "Test center" in ocr(parse_raster(jobs[0])[0])
    # A Vietnamese-speaking supervisor reprints it: it comes out in English, as chosen.
    boss = srv.login("giam-sat", role="supervisor")
    r = boss.post(srv.url + f"/api/tickets/{first.json()['number']}/reprint", timeout=10)
    assert r.status_code == 202, r.text
    text = ocr(parse_raster(printer.wait_for_jobs(3)[-1])[0])
    assert "Test center" in text and "Trung tâm" not in text


def test_a_roll_near_its_end_prints_and_tells_the_supervisors(tmp_path, running):
    fake = FakePrinter(status=0x12 | 0x0C)  # DLE EOT 4: paper present, near its end
    try:
        srv = serve(tmp_path, fake.config())
        running.append(srv)
        boss = srv.login("giam-sat", role="supervisor")
        board = Watcher(srv.url, "dashboard", cookie=cookie_of(boss))
        ticket = issue(srv)
        assert parse_raster(fake.wait_for_jobs(1)[0])
        _, printed = board.until("ticket_printed", timeout=10)[-1]
        assert (printed["number"], printed["paper_low"]) == (ticket["number"], True)
        board.close()
    finally:
        fake.stop()


def test_a_retried_tap_whose_first_print_failed_is_printed_again(tmp_path, running):
    fake = FakePrinter(refuse=True)
    try:
        srv = serve(tmp_path, fake.config())
        running.append(srv)
        kiosk = Watcher(srv.url, "kiosk:k1")
        body = {"service": "quoc-tich", "kiosk": "k1", "request_id": "tap-fedcba9876543210"}
        first = requests.post(srv.url + "/api/tickets", json=body, timeout=10).json()
        _, fault = kiosk.until("device_fault", timeout=10)[-1]
        assert fault["number"] == first["number"]
        fake.listen()  # the printer is back when the kiosk asks again
        again = requests.post(srv.url + "/api/tickets", json=body, timeout=10)
        assert (again.status_code, again.json()["repeated"]) == (201, True)
        job, = fake.wait_for_jobs(1)
        assert decode_qr(parse_raster(job)[0]) == [first["status_url"]]
        kiosk.close()
    finally:
        fake.stop()
