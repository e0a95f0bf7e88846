"""Thermal tickets: the image, the ESC/POS bytes, and the printers behind one worker each,
checked against a fake network printer, a file, and a mocked USB printer."""

from __future__ import annotations

import copy
import json
import threading
import time
import unicodedata
from dataclasses import replace

import escpos.printer
import pytest
from fake_printer import (
    PAPER_OK,
    PAPER_OUT,
    STATUS_QUERY,
    FakePrinter,
    decode_qr,
    ink_bands,
    ocr,
    parse_raster,
    wait_until,
)
from PIL import Image

from conftest import ROOT, SMALL
from qms import settings
from qms.center import Center
from qms.printing import Printers, TicketPrint, encode_escpos, render_ticket
from qms.printing.text import font, wrap
from qms.printing.ticket import where_parts

URL = "http://192.168.1.10:5000/t/Zq3xV9kLmN2pR7sT4uW8yB1cD5fG6hJ0"
TICKET = TicketPrint(
    center="Trung tâm Phục vụ hành chính công Thành phố Hồ Chí Minh", number="PA015",
    service="Cấp phiếu lý lịch tư pháp", department="Sở Tư pháp", counters=[1, 2, 3, 7],
    zone="A", position=4, estimated_wait_s=700, issued_at="2026-05-29T08:15:00+07:00",
    status_url=URL, priority=True, footer="Xin cảm ơn quý khách.")
LONG = ("Ban Quản lý các khu chế xuất và công nghiệp Thành phố Hồ Chí Minh, tiếp nhận và "
        "trả kết quả hồ sơ thủ tục hành chính về đầu tư, xây dựng, lao động và môi trường")
WIDTHS = (384, 512, 576)


def config(printer=None, kiosks=()):
    raw = copy.deepcopy(SMALL)
    if printer is not None:
        raw["printer"] = printer
    raw["kiosks"] = list(kiosks)
    return settings.validate(raw)


class Calls:
    """Records on_fault and on_printed; ``wait(n)`` until n of them arrived."""

    def __init__(self):
        self.faults, self.printed, self.paper_low = [], [], []
        self.changed = threading.Condition()

    def on_fault(self, device, kind, message, number):
        with self.changed:
            self.faults.append((device, kind, message, number))
            self.changed.notify_all()

    def on_printed(self, device, number, paper_low):
        with self.changed:
            self.printed.append((device, number))
            self.paper_low.append(paper_low)
            self.changed.notify_all()

    def wait(self, n=1, timeout=5.0):
        with self.changed:
            arrived = self.changed.wait_for(
                lambda: len(self.faults) + len(self.printed) >= n, timeout)
        assert arrived, f"faults={self.faults} printed={self.printed}"


@pytest.fixture
def printers():
    """Build Printers on a config; returns (printers, calls); closed after the test."""
    made = []

    def build(cfg):
        calls = Calls()
        made.append(Printers(cfg, on_fault=calls.on_fault, on_printed=calls.on_printed))
        return made[-1], calls
    yield build
    for p in made:
        p.close()


@pytest.fixture
def fake_printers():
    """Start FakePrinters (keyword options as FakePrinter's); stopped after the test."""
    made = []

    def start(**options):
        made.append(FakePrinter(**options))
        return made[-1]
    yield start
    for fake in made:
        fake.stop()


@pytest.fixture
def fake_printer(fake_printers):
    return fake_printers()


def printed_image(data: bytes) -> Image.Image:
    images = parse_raster(data)
    assert len(images) == 1
    return images[0]


# -- the image --------------------------------------------------------------------------------

@pytest.mark.parametrize("width", WIDTHS)
def test_ticket_is_exactly_the_configured_width_in_black_and_white(width):
    image = render_ticket(TICKET, width)
    assert image.mode == "1" and image.width == width and image.height > width


def test_other_widths_are_refused():
    with pytest.raises(ValueError, match="384"):
        render_ticket(TICKET, 600)


@pytest.mark.parametrize("width", WIDTHS)
def test_long_names_wrap_and_nothing_is_drawn_in_the_side_margins(width):
    long = replace(TICKET, center=LONG, service=LONG, department=LONG,
                   counters=list(range(1, 31)), footer=LONG,
                   zone="A1-" + "X" * 80)  # one word far wider than the paper
    short = render_ticket(TICKET, width)
    image = render_ticket(long, width)
    assert image.width == width and image.height > short.height + 300
    margin = width // 24
    for left in (0, width - margin):
        assert image.crop((left, 0, left + margin, image.height)).getextrema() == (255, 255)


def test_every_wrapped_line_fits_and_keeps_every_word():
    face = font(28, bold=True)
    text = f"{LONG} Siêu{'u' * 50}dài"
    lines = wrap(text, face, 300)
    assert len(lines) > 5
    assert all(face.getbbox(line)[2] <= 300 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_no_break_spaces_keep_the_minutes_with_their_unit():
    lines = wrap("Thời gian chờ dự kiến: khoảng\u00a012\u00a0phút", font(28), 330)
    assert lines[-1] == "khoảng\u00a012\u00a0phút"


def test_decomposed_vietnamese_prints_exactly_like_composed_text():
    nfd = replace(TICKET, **{f: unicodedata.normalize("NFD", getattr(TICKET, f))
                             for f in ("center", "service", "department", "footer")})
    assert nfd.service != TICKET.service
    assert render_ticket(nfd, 384).tobytes() == render_ticket(TICKET, 384).tobytes()


def test_the_number_is_at_least_a_third_of_the_width_tall():
    image = render_ticket(TICKET, 576)
    tallest = max(bottom - top for top, bottom in ink_bands(image.crop((0, 0, 576, 600))))
    assert tallest >= 576 // 3


def test_priority_tickets_carry_a_black_band_that_others_do_not():
    def black_rows(t):
        image = render_ticket(t, 384).convert("L")
        return sum(1 for y in range(image.height)
                   if image.crop((20, y, 364, y + 1)).getextrema() == (0, 0))
    assert black_rows(TICKET) > 20 > black_rows(replace(TICKET, priority=False))


# -- the bytes, read back -----------------------------------------------------------------------

@pytest.mark.parametrize("width", WIDTHS)
def test_printed_bytes_rebuild_the_image_and_its_qr_code_decodes_to_the_status_url(width):
    image = render_ticket(TICKET, width)
    data = encode_escpos(image)
    assert data.startswith(b"\x1b@") and data.endswith(b"\x1dV\x00")
    printed = printed_image(data)
    assert printed.tobytes() == image.tobytes()
    assert decode_qr(printed) == [URL]


def test_tall_tickets_go_out_in_bands_that_stitch_back_into_one_image():
    image = render_ticket(replace(TICKET, service=LONG, department=LONG), 576)
    data = encode_escpos(image, cut=False)
    assert image.height > 960 and data.count(b"\x1dv0") == -(-image.height // 960)
    assert b"\x1dV" not in data
    assert printed_image(data).tobytes() == image.tobytes()


@pytest.mark.parametrize("width", WIDTHS)
def test_ocr_reads_the_number_off_the_printed_raster(width):
    printed = printed_image(encode_escpos(render_ticket(TICKET, width)))
    top, bottom = next(b for b in ink_bands(printed) if b[1] - b[0] >= width // 4)
    number = printed.crop((0, top - 20, width, bottom + 20))
    assert ocr(number, psm=7, scale=0.5).split() == ["PA015"]


def test_ocr_reads_the_vietnamese_text_off_the_narrowest_printed_raster():
    # tesseract reads the en dash of "1–3" as a hyphen.
    page = ocr(printed_image(encode_escpos(render_ticket(TICKET, 384)))).replace("–", "-")
    for words in ("SỐ THỨ TỰ", "ƯU TIÊN", "Cấp phiếu lý lịch tư pháp", "Sở Tư pháp",
                  "Mời đến quầy: 1-3, 7", "Số người đang chờ trước bạn: 3",
                  "khoảng 12 phút", "29/05/2026 08:15"):
        assert words in page


def test_english_tickets_speak_english():
    page = ocr(render_ticket(replace(TICKET, lang="en"), 512), lang="eng").replace("–", "-")
    for words in ("YOUR NUMBER", "PRIORITY", "Please go to counters 1-3, 7",
                  "People waiting ahead of you: 3", "about 12 min"):
        assert words in page


@pytest.mark.parametrize("counters, written", [
    ([4], "4"),
    ([1, 2], "1, 2"),
    ([3, 1, 2], "1\u20133"),
    ([*range(1, 12), 23], "1\u201311, 23"),
    ([13, 14, 23], "13, 14, 23"),
    ([5, 6, 7, 9, 10, 20, 21, 22, 23], "5\u20137, 9, 10, 20\u201323"),
])
def test_counters_in_a_row_print_as_a_range_as_on_the_kiosk_screen(counters, written):
    ticket = replace(TICKET, counters=counters, zone="")
    assert where_parts(ticket) == [f"Mời đến quầy: {written}"]


def test_counters_in_several_zones_or_a_priority_counter_print_one_line_each(cfg):
    center = Center(cfg)
    assert center.places("quoc-tich") == [{"counters": [1, 2], "zone": "A", "priority": False}]
    places = center.places("quoc-tich", priority=True)
    assert places == [{"counters": [4], "zone": "B", "priority": True},
                      {"counters": [1, 2], "zone": "A", "priority": False}]
    ticket = replace(TICKET, priority=True, places=tuple(
        (g["priority"], tuple(g["counters"]), g["zone"]) for g in places))
    assert where_parts(ticket) == ["Mời đến:", "Quầy ưu tiên 4 · Khu\u00a0B",
                                   "Quầy 1, 2 · Khu\u00a0A"]
    text = ocr(render_ticket(ticket, 576))
    assert "Quầy ưu tiên 4" in text and "Quầy 1, 2" in text
    # One group in one zone prints as before, on one line.
    one = replace(TICKET, places=((False, (1, 2), "A"),))
    assert where_parts(one) == ["Mời đến quầy: 1, 2", "Khu\u00a0A"]


def test_catalogue_has_every_ticket_text_in_both_languages_and_the_code_uses_them_all():
    vi, en = (json.loads((ROOT / f"qms/translations/printing.{lang}.json")
                         .read_text(encoding="utf-8")) for lang in ("vi", "en"))
    assert set(vi) == set(en) and all(k.startswith("print_") for k in vi)
    assert all(vi[k] != en[k] and unicodedata.is_normalized("NFC", vi[k]) for k in vi)
    code = (ROOT / "qms/printing/ticket.py").read_text(encoding="utf-8")
    assert [k for k in vi if f'"{k}"' not in code] == []


# -- printers ---------------------------------------------------------------------------------

def test_a_network_ticket_prints_and_is_reported_printed(printers, fake_printer):
    p, calls = printers(config(fake_printer.config()))
    assert p.submit(None, TICKET) == "printer"
    calls.wait()
    assert calls.printed == [("printer", "PA015")] and calls.faults == []
    job = fake_printer.wait_for_jobs(1)[0]
    assert job.startswith(STATUS_QUERY + b"\x1b@")
    assert decode_qr(printed_image(job)) == [URL]


def test_a_refused_connection_is_reported_unreachable(printers, fake_printers):
    fake = fake_printers(refuse=True)
    p, calls = printers(config(fake.config()))
    assert p.submit(None, TICKET) == "printer"
    calls.wait()
    assert calls.faults == [("printer", "unreachable",
                             f"connection refused by 127.0.0.1:{fake.port}", "PA015")]


def test_a_printer_that_goes_away_mid_ticket_is_a_fault_not_a_print(printers, fake_printers):
    fake = fake_printers(drop_after=2000)
    p, calls = printers(config(fake.config()))
    p.submit(None, TICKET)
    calls.wait()
    assert calls.printed == []
    [(_, kind, message, number)] = calls.faults
    assert kind == "unreachable" and "lost after" in message and number == "PA015"
    assert len(fake.wait_for_jobs(1)[0]) == 2000


def test_a_stalled_printer_times_out_and_the_other_printers_and_later_tickets_still_print(
        printers, fake_printers):
    stalled, healthy = fake_printers(stall=True), fake_printers()
    p, calls = printers(config(stalled.config(timeout_s=1.0, paper_check=False),
                               kiosks=[{"id": "k1", "printer": healthy.config()}]))
    start = time.monotonic()
    assert p.submit(None, TICKET) == "printer"
    assert p.submit("k1", replace(TICKET, number="PA016")) == "printer:k1"
    assert time.monotonic() - start < 0.5  # submit never waits for a printer
    calls.wait(2)
    assert calls.printed == [("printer:k1", "PA016")]
    [(device, kind, message, _)] = calls.faults
    assert (device, kind) == ("printer", "timeout") and "1 s" in message
    assert 0.9 < time.monotonic() - start < 2.5
    stalled.stall = False
    p.submit(None, replace(TICKET, number="PA017"))
    calls.wait(3)
    assert calls.printed[-1] == ("printer", "PA017")


def test_paper_out_is_reported_and_nothing_is_printed(printers, fake_printers):
    fake = fake_printers(status=PAPER_OUT)
    p, calls = printers(config(fake.config()))
    p.submit(None, TICKET)
    calls.wait()
    assert [f[1] for f in calls.faults] == ["paper_out"] and calls.printed == []
    assert fake.wait_for_jobs(1) == [STATUS_QUERY]


@pytest.mark.parametrize("status, low", [(PAPER_OK, False), (PAPER_OK | 0x0C, True),
                                         (PAPER_OK | 0x04, True)])
def test_paper_near_its_end_prints_and_says_so(printers, fake_printers, status, low):
    fake = fake_printers(status=status)
    p, calls = printers(config(fake.config()))
    p.submit(None, TICKET)
    calls.wait()
    assert (calls.printed, calls.paper_low, calls.faults) == ([("printer", "PA015")], [low], [])
    assert parse_raster(fake.wait_for_jobs(1)[0])  # the ticket itself went out


def test_a_printer_that_does_not_answer_the_paper_query_is_printed_to_anyway(
        printers, fake_printers):
    fake = fake_printers(status=None)
    p, calls = printers(config(fake.config()))
    p.submit(None, TICKET)
    calls.wait()
    assert calls.printed == [("printer", "PA015")]


def test_without_paper_check_only_the_ticket_is_sent(printers, fake_printer):
    p, calls = printers(config(fake_printer.config(paper_check=False, cut=False)))
    p.submit(None, TICKET)
    calls.wait()
    job = fake_printer.wait_for_jobs(1)[0]
    assert job.startswith(b"\x1b@") and b"\x1dV" not in job


def test_the_reprint_prints_once_the_printer_is_back(printers, fake_printers):
    fake = fake_printers(refuse=True)
    p, calls = printers(config(fake.config()))
    p.submit(None, TICKET)
    calls.wait()
    fake.listen()
    p.submit(None, TICKET)
    calls.wait(2)
    assert [f[1] for f in calls.faults] == ["unreachable"]
    assert calls.printed == [("printer", "PA015")]
    assert decode_qr(printed_image(fake.wait_for_jobs(1)[0])) == [URL]


def test_the_file_driver_writes_decodable_bytes(printers, tmp_path):
    path = tmp_path / "ticket.bin"
    p, calls = printers(config({"driver": "file", "device": str(path), "width": 512}))
    p.submit(None, TICKET)
    calls.wait()
    assert calls.printed == [("printer", "PA015")]
    assert decode_qr(printed_image(path.read_bytes())) == [URL]


def test_a_missing_usb_device_file_is_unreachable(printers, tmp_path):
    p, calls = printers(config({"driver": "usb", "device": str(tmp_path / "lp0")}))
    p.submit(None, TICKET)
    calls.wait()
    assert [f[1] for f in calls.faults] == ["unreachable"]
    assert not (tmp_path / "lp0").exists()


def test_a_usb_printer_found_by_its_ids_receives_the_ticket(printers, monkeypatch):
    received = []

    class FakeUsb:
        @staticmethod
        def is_usable():
            return True

        def __init__(self, vendor, product, timeout=0):
            self.ids, self.timeout = (vendor, product), timeout

        def open(self):
            pass

        def _raw(self, data):
            received.append((self.ids, self.timeout, data))

        def close(self):
            pass

    monkeypatch.setattr(escpos.printer, "Usb", FakeUsb)
    p, calls = printers(config({"driver": "usb", "vendor_id": 0x04B8, "product_id": 0x0202}))
    p.submit(None, TICKET)
    calls.wait()
    assert calls.printed == [("printer", "PA015")]
    [(ids, timeout_ms, data)] = received
    assert ids == (0x04B8, 0x0202) and 4000 < timeout_ms <= 5000
    assert decode_qr(printed_image(data)) == [URL]


@pytest.mark.parametrize(("driver", "settings_", "cls", "package"), [
    ("cups", {"cups_name": "ve"}, "CupsPrinter", "pycups"),
    ("serial", {"device": "/dev/ttyUSB0"}, "Serial", "pyserial"),
    ("usb", {"vendor_id": 0x04B8, "product_id": 0x0202}, "Usb", "pyusb"),
])
def test_a_transport_whose_package_is_missing_is_an_error_that_names_the_package(
        printers, monkeypatch, driver, settings_, cls, package):
    # What python-escpos says when the import of that package failed (as here for pycups).
    monkeypatch.setattr(getattr(escpos.printer, cls), "is_usable", staticmethod(lambda: False))
    p, calls = printers(config({"driver": driver, **settings_}))
    p.submit(None, TICKET)
    calls.wait()
    [(device, kind, message, number)] = calls.faults
    assert (device, kind, number) == ("printer", "error", "PA015")
    assert f"the {package} package is not installed" in message


def test_without_a_printer_submit_returns_none_and_reports_nothing(printers):
    p, calls = printers(config())
    assert p.submit(None, TICKET) is None and p.device_for(None) is None
    assert p.devices == []
    time.sleep(0.05)
    assert calls.faults == calls.printed == []


def test_each_kiosk_prints_on_its_own_printer_or_else_on_the_center_printer(
        printers, tmp_path):
    kiosks = [{"id": "k1", "printer": {"driver": "file", "device": str(tmp_path / "k1")}},
              {"id": "k2", "printer": {"driver": "none"}},
              {"id": "k3"}]
    p, _ = printers(config({"driver": "file", "device": str(tmp_path / "main")}, kiosks))
    assert [p.device_for(k) for k in ("k1", "k2", "k3", "other", None)] == \
        ["printer:k1", None, "printer", "printer", "printer"]
    assert sorted(p.devices) == ["printer", "printer:k1"]


def test_a_failing_callback_does_not_stop_the_printer(fake_printers):
    fake = fake_printers()
    printed = []

    def on_printed(device, number, paper_low):
        printed.append(number)
        raise RuntimeError("board offline")

    p = Printers(config(fake.config()), on_fault=lambda *a: None, on_printed=on_printed)
    try:
        p.submit(None, TICKET)
        p.submit(None, replace(TICKET, number="PA016"))
        fake.wait_for_jobs(2)
        assert wait_until(lambda: len(printed) == 2)
        assert printed == ["PA015", "PA016"]
    finally:
        p.close()


def test_close_stops_the_workers_within_its_bound_and_later_tickets_are_refused(
        printers, fake_printers):
    fake = fake_printers(stall=True)
    p, calls = printers(config(fake.config(timeout_s=10.0, paper_check=False)))
    p.submit(None, TICKET)
    time.sleep(0.1)
    start = time.monotonic()
    p.close(timeout=0.5)
    assert time.monotonic() - start < 1.0
    p.submit(None, replace(TICKET, number="PA016"))
    assert [f[1:] for f in calls.faults] == [
        ("error", "printing has stopped (server shutting down)", "PA016")]


def test_the_stale_check_drops_tickets_that_waited_too_long(printers, fake_printer,
                                                            monkeypatch):
    from qms.printing import workers
    monkeypatch.setattr(workers, "STALE_S", -1.0)
    p, calls = printers(config(fake_printer.config()))
    p.submit(None, TICKET)
    calls.wait()
    [(_, kind, message, _)] = calls.faults
    assert kind == "timeout" and message.startswith("not printed: waited")


def test_the_translation_files_are_found_by_the_catalogue():
    from qms.i18n import translate
    assert translate("print_priority", "vi") == "ƯU TIÊN"
    assert translate("print_priority", "en") == "PRIORITY · ƯU TIÊN"
