"""Reports (qms.reports, qms.report_export): days played through the HTTP API with a clock
moved by hand, so that every figure is known by construction; then their rows by every
grouping, the totals, the rating comments, and the same figures read back from CSV and XLSX
(in minutes and per cent there)."""

import csv
import io
import math
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from openpyxl import load_workbook

import server
from conftest import FakeClock, Staff, issue, make_config
from qms import reports, settings
from qms.domain.errors import ValidationError
from qms.report_export import EXPORT_COLUMNS, flat, heading, shown, svg_bar_chart, to_csv, to_xlsx
from qms.reports import _BOUNDS, _READ, _TYPES, COLUMNS, Reports, percentile

DAY = "2026-05-29"  # a Friday
EVE = "2026-05-28"
T0 = datetime.fromisoformat(f"{DAY}T08:00:00+07:00").timestamp()


def at(clock, minute):
    clock.t = T0 + minute * 60


def ok(response):
    assert response.status_code in (200, 201), response.json
    return response.json


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """The day below; returns Reports on it. SLA: 20 min (1,200 s) for every service.

    The day before, 10:00: Z quoc-tich, called 10:02 (wait 120), served 10:03-10:10;
    rated 1 ("Quá chậm") only the next morning, which no figure counts.
    The day, minutes after 08:00 (officer an at counter 1, binh at counter 3):
      0 A quoc-tich   5 called by an (wait 300), 6 serving, 16 completed (600), rated 5
                        with no comment
      1 B quoc-tich  16 called (wait 900), recalled at 17 and 18, no-show at 20
      2 C cong-chung  4 cancelled while waiting: no wait
      3 D cap-phep   30 called by binh (wait 1,620 > SLA), 31 serving, 35 transferred to
                        quoc-tich at the front: its successor D' enters that line at 35
        D'           40 called by an (wait 300), 41 serving, 51 completed (600), rated 2:
                        "=Chờ lâu" (a comment that looks like a formula)
     60 E quoc-tich  64 called by an (wait 240), 65 put back, 66 called again (the wait
                        stays 240), 67 serving, 72 completed (300)
     62 F cap-phep   70 called by binh (wait 480), 71 serving, 91 completed (1,200)
     95 G cong-chung  still waiting at the end: issued, no wait
    """
    cfg = settings.load(make_config(tmp_path_factory.mktemp("reports")))
    clock = FakeClock(cfg, start=datetime.fromisoformat(f"{EVE}T10:00:00+07:00").timestamp())
    app = server.create_app(cfg, clock=clock)
    client = app.test_client()
    an, binh = Staff(app, "an"), Staff(app, "binh")
    z = issue(client, "quoc-tich")
    clock.advance(120)
    ok(an.act(1, "open"))
    assert ok(an.act(1, "next"))["ticket"]["number"] == "PA001"
    clock.advance(60)
    ok(an.act(1, "serve"))
    clock.advance(420)
    ok(an.act(1, "complete"))
    ok(an.act(1, "close"))

    at(clock, 0)
    ok(client.post(f"/api/tickets/{z['token']}/rating",
                   json={"score": 1, "comment": "Quá chậm"}))  # a day late
    a = issue(client, "quoc-tich")
    at(clock, 1)
    issue(client, "quoc-tich")
    at(clock, 2)
    c = issue(client, "cong-chung")
    at(clock, 3)
    d = issue(client, "cap-phep")
    at(clock, 4)
    ok(client.post(f"/api/tickets/{c['token']}/cancel"))
    at(clock, 5)
    ok(an.act(1, "open"))
    assert ok(an.act(1, "next"))["ticket"]["number"] == a["number"]
    at(clock, 6)
    ok(an.act(1, "serve"))
    at(clock, 16)
    ok(an.act(1, "complete"))
    ok(client.post(f"/api/tickets/{a['token']}/rating", json={"score": 5}))
    assert ok(an.act(1, "next"))["ticket"]["number"] == "PA002"
    for minute in (17, 18):
        at(clock, minute)
        ok(an.act(1, "recall"))
    at(clock, 20)
    ok(an.act(1, "no-show"))
    at(clock, 30)
    ok(binh.act(3, "open"))
    assert ok(binh.act(3, "next"))["ticket"]["number"] == d["number"]
    at(clock, 31)
    ok(binh.act(3, "serve"))
    at(clock, 35)
    ok(binh.act(3, "transfer", {"service": "quoc-tich"}))
    at(clock, 40)
    assert ok(an.act(1, "next"))["ticket"]["number"] == d["number"]
    at(clock, 41)
    ok(an.act(1, "serve"))
    at(clock, 51)
    ok(an.act(1, "complete"))
    ok(client.post(f"/api/tickets/{d['token']}/rating",
                   json={"score": 2, "comment": " =Chờ lâu "}))
    at(clock, 60)
    e = issue(client, "quoc-tich")
    at(clock, 62)
    f = issue(client, "cap-phep")
    at(clock, 64)
    assert ok(an.act(1, "next"))["ticket"]["number"] == e["number"]
    at(clock, 65)
    ok(an.act(1, "requeue"))
    at(clock, 66)
    assert ok(an.act(1, "next"))["ticket"]["number"] == e["number"]
    at(clock, 67)
    ok(an.act(1, "serve"))
    at(clock, 70)
    assert ok(binh.act(3, "next"))["ticket"]["number"] == f["number"]
    at(clock, 71)
    ok(binh.act(3, "serve"))
    at(clock, 72)
    ok(an.act(1, "complete"))
    at(clock, 91)
    ok(binh.act(3, "complete"))
    at(clock, 95)
    issue(client, "cong-chung")
    qms = app.extensions["qms"]
    yield Reports(qms.storage, qms.center, clock)  # read only: the tests share it
    qms.close()


NO_RATINGS = {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


def row(key, label=None, **figures):
    """A row whose unnamed figures are those of a group with nothing in it."""
    empty = {"key": key, "label": str(key) if label is None else label,
             "issued": 0, "transferred_in": 0, "served": 0, "no_show": 0, "cancelled": 0,
             "transferred": 0, "served_rate": None, "no_show_rate": None,
             "cancelled_rate": None, "wait_avg_s": None, "wait_p50_s": None,
             "wait_p90_s": None, "wait_max_s": None, "service_avg_s": None,
             "service_p50_s": None, "service_p90_s": None, "service_max_s": None,
             "over_sla": None, "over_sla_count": 0, "rating_avg": None,
             "ratings": NO_RATINGS, "score": None}
    assert set(figures) <= set(empty)
    return {**empty, **figures}


def at_counter(key, label=None, **figures):
    """Issued and cancelled tickets (and so the rates) belong to no counter or officer."""
    return row(key, label, issued=None, transferred_in=None, cancelled=None, **figures)


# Waits A 300, B 900, D' 300, E 240 (the recall and the put-back change nothing);
# services A 600, D' 600, E 300; ratings 5 and 2.
QUOC_TICH = dict(
    wait_avg_s=435.0, wait_p50_s=300.0, wait_p90_s=900.0, wait_max_s=900.0, over_sla=0.0,
    service_avg_s=500.0, service_p50_s=600.0, service_p90_s=600.0, service_max_s=600.0,
    rating_avg=3.5, ratings={**NO_RATINGS, "2": 1, "5": 1}, score=50.0)
# Waits D 1,620 (over the SLA) and F 480; service F 1,200.
CAP_PHEP = dict(
    wait_avg_s=1050.0, wait_p50_s=480.0, wait_p90_s=1620.0, wait_max_s=1620.0,
    over_sla=0.5, over_sla_count=1, service_avg_s=1200.0, service_p50_s=1200.0,
    service_p90_s=1200.0, service_max_s=1200.0)
# The whole day: waits 240 300 300 480 900 1620, services 300 600 600 1200. D's transfer
# stays inside the day: no transfer out of it (nor into it).
WHOLE_DAY = dict(
    issued=7, served=4, no_show=1, cancelled=1,
    served_rate=0.5714, no_show_rate=0.1429, cancelled_rate=0.1429,
    wait_avg_s=640.0, wait_p50_s=300.0, wait_p90_s=1620.0, wait_max_s=1620.0,
    over_sla=0.1667, over_sla_count=1, service_avg_s=675.0, service_p50_s=600.0,
    service_p90_s=1200.0, service_max_s=1200.0, rating_avg=3.5,
    ratings={**NO_RATINGS, "2": 1, "5": 1}, score=50.0)


def test_by_service_a_transfer_counts_where_it_left_and_its_successor_where_it_went(played):
    assert played.rows(DAY, DAY, "service") == [
        # A, B, E issued; D' came in by transfer: 4 arrivals, 3 served, 1 no-show.
        row("quoc-tich", "Quốc tịch", issued=3, transferred_in=1, served=3, no_show=1,
            served_rate=0.75, no_show_rate=0.25, cancelled_rate=0.0, **QUOC_TICH),
        row("cong-chung", "Công chứng", issued=2, cancelled=1, served_rate=0.0,
            no_show_rate=0.0, cancelled_rate=0.5),
        row("cap-phep", "Cấp phép xây dựng", issued=2, served=1, transferred=1,
            served_rate=0.5, no_show_rate=0.0, cancelled_rate=0.0, **CAP_PHEP),
    ]  # nha-o had nothing: no row


def test_by_department_follows_the_config_order(played):
    assert played.rows(DAY, DAY, "department") == [
        row("tu-phap", "Sở Tư pháp", issued=5, transferred_in=1, served=3, no_show=1,
            cancelled=1, served_rate=0.5, no_show_rate=0.1667, cancelled_rate=0.1667,
            **QUOC_TICH),
        row("xay-dung", "Sở Xây dựng", issued=2, served=1, transferred=1,
            served_rate=0.5, no_show_rate=0.0, cancelled_rate=0.0, **CAP_PHEP),
    ]


def test_by_hour_every_fact_of_a_visit_goes_to_the_hour_it_joined_the_line(played):
    assert played.rows(DAY, DAY, "hour") == [
        # A, B, C, D and D' (which joined at 08:35: a transfer inside the hour is neither
        # an arrival nor a departure). Waits 300 900 1620 300; services 600 600.
        row("08", issued=4, served=2, no_show=1, cancelled=1,
            served_rate=0.5, no_show_rate=0.25, cancelled_rate=0.25,
            wait_avg_s=780.0, wait_p50_s=300.0, wait_p90_s=1620.0, wait_max_s=1620.0,
            over_sla=0.25, over_sla_count=1, service_avg_s=600.0, service_p50_s=600.0,
            service_p90_s=600.0, service_max_s=600.0, rating_avg=3.5,
            ratings={**NO_RATINGS, "2": 1, "5": 1}, score=50.0),
        # E, F, G (G still waiting). Waits 240 480; services 300 1200.
        row("09", issued=3, served=2, served_rate=0.6667, no_show_rate=0.0,
            cancelled_rate=0.0, wait_avg_s=360.0, wait_p50_s=240.0, wait_p90_s=480.0,
            wait_max_s=480.0, over_sla=0.0, service_avg_s=750.0, service_p50_s=300.0,
            service_p90_s=1200.0, service_max_s=1200.0),
    ]


def test_by_counter_a_wait_belongs_to_the_counter_that_ended_it(played):
    counter1 = dict(served=3, no_show=1, **QUOC_TICH)
    counter3 = dict(served=1, transferred=1, **CAP_PHEP)
    assert played.rows(DAY, DAY, "counter") == [
        at_counter(1, "Quầy 1", **counter1), at_counter(3, "Quầy 3", **counter3)]
    assert [r["label"] for r in played.rows(DAY, DAY, "counter", lang="en")] == [
        "Counter 1", "Counter 3"]
    assert played.rows(DAY, DAY, "officer") == [
        at_counter("an", **counter1), at_counter("binh", **counter3)]


def test_by_day_and_the_totals_cover_the_whole_range(played):
    assert played.rows(DAY, DAY, "day") == [row(DAY, **WHOLE_DAY)]
    assert played.totals(DAY, DAY) == row("total", "", **WHOLE_DAY)
    # The day before: Z alone, wait 120, service 420.
    eve = row(EVE, issued=1, served=1, served_rate=1.0, no_show_rate=0.0,
              cancelled_rate=0.0, wait_avg_s=120.0, wait_p50_s=120.0, wait_p90_s=120.0,
              wait_max_s=120.0, over_sla=0.0, service_avg_s=420.0, service_p50_s=420.0,
              service_p90_s=420.0, service_max_s=420.0)
    assert played.rows(EVE, DAY, "day") == [eve, row(DAY, **WHOLE_DAY)]
    both = played.totals(EVE, DAY)
    assert (both["issued"], both["served"], both["wait_max_s"]) == (8, 5, 1620.0)
    assert both["ratings"] == {**NO_RATINGS, "2": 1, "5": 1}  # not Z's, given a day late


def test_a_day_outside_the_range_is_left_out(played):
    assert played.rows(EVE, EVE, "service") == [
        row("quoc-tich", "Quốc tịch", issued=1, served=1, served_rate=1.0, no_show_rate=0.0,
            cancelled_rate=0.0, wait_avg_s=120.0, wait_p50_s=120.0, wait_p90_s=120.0,
            wait_max_s=120.0, over_sla=0.0, service_avg_s=420.0, service_p50_s=420.0,
            service_p90_s=420.0, service_max_s=420.0)]
    assert played.rows("2026-05-30", "2026-06-05", "counter") == []
    assert played.totals("2026-05-30", "2026-06-05") == row("total", "")


@pytest.mark.parametrize("date_from, date_to, by", [
    ("2026-5-29", DAY, "day"), (DAY, "29/05/2026", "day"), (DAY, "20260529", "day"),
    (DAY, "2026-02-30", "day"), (DAY, EVE, "day"), (DAY, DAY, "zone"), (None, DAY, "day")])
def test_a_bad_range_or_grouping_is_refused(played, date_from, date_to, by):
    with pytest.raises(ValidationError):
        played.rows(date_from, date_to, by)


@pytest.mark.parametrize("values, p50, p90", [
    ([7], 7, 7), ([1, 2], 1, 2), ([1, 2, 3, 4], 2, 4), (list(range(1, 11)), 5, 9),
    (list(range(1, 12)), 6, 10)])
def test_percentiles_take_the_nearest_rank(values, p50, p90):
    assert (percentile(values, 50), percentile(values, 90)) == (p50, p90)
    assert percentile([], 50) is None


def number(text):
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def test_the_csv_opens_in_excel_as_utf8_and_reads_back_the_same_figures(played):
    rows, totals = played.report(DAY, DAY, "service")
    text = to_csv(rows, totals=totals)
    assert text.startswith("\ufeff")
    lines = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert tuple(lines[0]) == tuple(heading(c) for c in EXPORT_COLUMNS)
    assert [line["label"] for line in lines] == ["Quốc tịch", "Công chứng",
                                                 "Cấp phép xây dựng", ""]
    assert [line["key"] for line in lines] == ["quoc-tich", "cong-chung", "cap-phep", ""]
    for line, expected in zip(lines, [*rows, totals], strict=True):
        for column in EXPORT_COLUMNS:
            if column not in ("key", "label"):
                assert number(line[heading(column)]) == shown(column, flat(expected)[column]), \
                    column
    # Times in minutes to 0.1, shares in per cent to 0.1, the headings saying so.
    quoc_tich, cap_phep, total = lines[0], lines[2], lines[3]
    assert quoc_tich["ratings_5"] == "1" and quoc_tich["wait_p90 (phút)"] == "15.0"
    assert quoc_tich["wait_avg (phút)"] == "7.3"  # 435 s: 7.25, rounded half up
    assert cap_phep["over_sla (%)"] == "50.0" and cap_phep["over_sla_count"] == "1"
    assert total["served_rate (%)"] == "57.1" and total["score (%)"] == "50.0"
    assert total["wait_avg (phút)"] == "10.7"  # 640 s
    # The columns asked for, in their order, with the headings given and their units.
    short = to_csv(rows, ("label", "served", "wait_avg_s", "served_rate"),
                   headers={"served": "Đã phục vụ", "wait_avg_s": "Chờ TB",
                            "served_rate": "Tỷ lệ phục vụ"})
    assert short.splitlines()[:2] == [
        "\ufefflabel,Đã phục vụ,Chờ TB (phút),Tỷ lệ phục vụ (%)", "Quốc tịch,3,7.3,75.0"]
    english = to_csv(rows, ("label", "wait_max_s"), headers={"wait_max_s": "Wait max"},
                     lang="en")
    assert english.splitlines()[:2] == ["\ufefflabel,Wait max (min)", "Quốc tịch,15.0"]


def test_the_files_write_720_seconds_as_12_minutes():
    rows = [{"key": "x", "label": "X", "wait_avg_s": 720.0, "service_max_s": 45.0,
             "no_show_rate": 0.5238, "score": 52.4}]
    columns = ("key", "label", "wait_avg_s", "service_max_s", "no_show_rate", "score")
    headers = {"wait_avg_s": "Chờ TB", "service_max_s": "Phục vụ tối đa",
               "no_show_rate": "Tỷ lệ vắng mặt", "score": "Điểm hài lòng"}
    lines = to_csv(rows, columns, headers=headers).splitlines()
    assert lines == ["\ufeffkey,label,Chờ TB (phút),Phục vụ tối đa (phút),Tỷ lệ vắng mặt (%),"
                     "Điểm hài lòng (%)", "x,X,12.0,0.8,52.4,52.4"]
    sheet = load_workbook(io.BytesIO(to_xlsx(rows, "x", columns, headers=headers,
                                             lang="en"))).active
    assert [c.value for c in sheet[1]] == [
        "key", "label", "Chờ TB (min)", "Phục vụ tối đa (min)", "Tỷ lệ vắng mặt (%)",
        "Điểm hài lòng (%)"]
    assert [c.value for c in sheet[2]] == ["x", "X", 12.0, 0.8, 52.4, 52.4]
    assert [c.number_format for c in sheet[2]][2:] == ["0.0"] * 4


def test_the_xlsx_holds_the_same_numbers_with_a_totals_row(played):
    rows, totals = played.report(DAY, DAY, "counter")
    data = to_xlsx(rows, "Báo cáo: theo quầy [29/05]", totals=totals)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Báo cáo  theo quầy  29 05"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == tuple(heading(c) for c in EXPORT_COLUMNS)
    assert len(values) == 1 + len(rows) + 1
    for got, expected in zip(values[1:], [*rows, totals], strict=True):
        # An empty text cell (the totals' key and label) reads back as None.
        line = {**flat(expected), "key": expected["key"] if expected is not totals else None}
        assert got == tuple(None if line[c] == "" else shown(c, line[c])
                            for c in EXPORT_COLUMNS)
    total = dict(zip(EXPORT_COLUMNS, values[-1], strict=True))
    assert (total["key"], total["issued"], total["served_rate"], total["wait_avg_s"]) == (
        None, 7, 57.1, 10.7)
    counter1 = dict(zip(EXPORT_COLUMNS, values[1], strict=True))
    assert (counter1["key"], counter1["wait_max_s"], counter1["service_avg_s"]) == (
        1, 15.0, 8.3)  # 900 s, 500 s
    numeric = [c for c in EXPORT_COLUMNS if c not in ("key", "label")]
    assert {sheet.cell(len(values), 1 + EXPORT_COLUMNS.index(c)).data_type
            for c in numeric if total[c] is not None} == {"n"}


def test_names_that_look_like_formulas_stay_text_in_csv_and_xlsx():
    rows = [{"key": "=1+1", "label": "@SUM(A1)", "served": 2}]
    assert to_csv(rows, ("key", "label", "served")).splitlines()[1] == "'=1+1,'@SUM(A1),2"
    sheet = load_workbook(io.BytesIO(to_xlsx(rows, "x", ("key", "label", "served")))).active
    assert [c.data_type for c in sheet[2]] == ["s", "s", "n"]
    assert sheet["A2"].value == "=1+1"


def test_every_row_has_the_documented_columns_in_order(played):
    for by in ("day", "hour", "department", "service", "counter", "officer"):
        for r in played.rows(DAY, DAY, by):
            assert tuple(r) == COLUMNS


def test_the_svg_chart_escapes_names_and_is_well_formed():
    svg = svg_bar_chart([("<script>alert(1)</script>", 12.0), ("Quầy \"2\" & 3", 300),
                         ("Trống", None)], "Thời gian chờ <trung bình>", "s")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("width") == "640" and int(root.get("height")) > 0
    assert root.get("role") == "img"
    assert root.find(f"{ns}title").text == "Thời gian chờ <trung bình>"
    bars = root.findall(f"{ns}g")
    assert [b.find(f"{ns}title").text for b in bars] == [
        "<script>alert(1)</script>: 12 s", 'Quầy "2" & 3: 300 s', "Trống: –"]
    widths = [float(b.find(f"{ns}rect").get("width")) for b in bars]
    assert widths[1] == 320.0 and widths[0] == pytest.approx(12.8) and widths[2] == 0


def test_report_many_reads_once_and_equals_separate_reports(played, monkeypatch):
    separate = {by: played.report(EVE, DAY, by) for by in
                ("day", "hour", "department", "service", "counter", "officer")}
    reads = []
    connection = played.storage.db

    def counted():
        reads.append(1)
        return connection()
    monkeypatch.setattr(played.storage, "db", counted)
    together = played.report_many(EVE, DAY, ("service", "hour", "counter", "day", "officer",
                                             "department", "hour"))
    assert len(reads) == 1
    assert list(together) == ["service", "hour", "counter", "day", "officer", "department"]
    assert together == separate
    (_, a), (_, b) = together["service"], together["hour"]
    assert a == b and a is not b  # each grouping its own totals (a caller labels them)
    assert played.report_many(EVE, DAY, ()) == {}
    with pytest.raises(ValidationError):
        played.report_many(DAY, DAY, ("service", "week"))


def test_the_comments_of_the_ratings_newest_first(played):
    d_prime = {"number": "XA001", "day": DAY, "at": f"{DAY}T08:51:00+07:00",
               "service": "quoc-tich", "service_label": "Quốc tịch", "counter": 1,
               "officer": "an", "score": 2, "comment": "=Chờ lâu"}
    # A's rating has no comment: not listed.
    assert played.comments(DAY, DAY) == [d_prime]
    # Z's was given the next morning: it counts in no figure, but a comment is still read,
    # listed under its ticket's day.
    z = {"number": "PA001", "day": EVE, "at": f"{DAY}T08:00:00+07:00",
         "service": "quoc-tich", "service_label": "Quốc tịch", "counter": 1,
         "officer": "an", "score": 1, "comment": "Quá chậm"}
    assert played.comments(EVE, EVE) == [z]
    assert played.comments(EVE, DAY) == [d_prime, z]
    assert played.comments(EVE, DAY, limit=1) == [d_prime]
    assert played.comments(EVE, DAY, limit=0) == []
    assert played.comments("2026-05-30", "2026-06-30") == []
    for bad in (-1, "10", None, True):
        with pytest.raises(ValidationError):
            played.comments(EVE, DAY, limit=bad)
    with pytest.raises(ValidationError):
        played.comments(DAY, EVE)


def test_the_log_is_read_in_order_without_a_sort(played):
    """The events come straight off the table in log order, as they are read: SQLite
    neither sorts them nor holds them back; the bounds are index seeks."""
    with played.storage.db() as db:
        first, last = db.execute(_BOUNDS, [EVE, DAY, *_TYPES]).fetchone()
        plan = " | ".join(r[3] for r in db.execute(
            "EXPLAIN QUERY PLAN " + _READ, [first, last, EVE, DAY, *_TYPES]))
        bounds = " | ".join(r[3] for r in db.execute(
            "EXPLAIN QUERY PLAN " + _BOUNDS, [EVE, DAY, *_TYPES]))
        events = db.execute("SELECT MIN(id), MAX(id) FROM events WHERE type IN "
                            "('issued', 'rated')").fetchone()
    assert "USING INTEGER PRIMARY KEY" in plan and "TEMP B-TREE" not in plan, plan
    assert "COVERING INDEX events_day (day=? AND type=?)" in bounds, bounds
    assert (first, last) == tuple(events)  # Z's issue opens the log, D's rating ends it


def test_a_long_report_lets_other_work_run_while_it_reads(played, monkeypatch):
    """A report of months takes seconds: under gevent, the other greenlets run between two
    chunks of events (here chunks of 5)."""
    expected = played.report_many(EVE, DAY, ("service", "officer"))
    pauses = []
    monkeypatch.setattr(reports, "_CHUNK", 5)
    monkeypatch.setattr(reports, "_pause", lambda: pauses.append(1))
    assert played.report_many(EVE, DAY, ("service", "officer")) == expected
    with played.storage.db() as db:
        events = db.execute("SELECT COUNT(*) FROM events WHERE type IN "
                            f"({','.join('?' * len(_TYPES))})", _TYPES).fetchone()[0]
    assert len(pauses) == math.ceil(events / 5)


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """A supervisor moves a line of long waits, and a counter closed mid-service hands its
    visitor back. SLA 20 min (1,200 s). Minutes after 08:00 on DAY:
      0 P, 1 Q, 2 R cong-chung, waiting
     30 the supervisor moves the three to quoc-tich (same department): their waits in
        cong-chung end here, uncalled: 1,800, 1,740, 1,680 s, all over the threshold
     31 an (counter 1) calls P' (wait 60), 32 serving, 40 completed (480), rated 4, no
        comment
     41 an calls Q' (wait 660), 42 serving; 45 an leaves, forcing counter 1 closed: Q' is
        handed back to the front of quoc-tich as Q'' (reason counter_closed)
     46 binh (counter 2) calls Q'' (wait 60), 47 serving, 50 completed (180), rated 2
     52 R' cancelled while waiting
    """
    cfg = settings.load(make_config(tmp_path_factory.mktemp("moved")))
    clock = FakeClock(cfg, start=T0)
    app = server.create_app(cfg, clock=clock)
    client = app.test_client()
    an, binh = Staff(app, "an"), Staff(app, "binh")
    boss = Staff(app, "giam-sat", role="supervisor")
    p = issue(client, "cong-chung")
    at(clock, 1)
    q = issue(client, "cong-chung")
    at(clock, 2)
    r = issue(client, "cong-chung")
    at(clock, 30)
    assert ok(boss.post("/api/services/cong-chung/move", json={"to": "quoc-tich"}))[
        "moved"] == [p["number"], q["number"], r["number"]]
    at(clock, 31)
    ok(an.act(1, "open"))
    assert ok(an.act(1, "next"))["ticket"]["number"] == p["number"]
    at(clock, 32)
    ok(an.act(1, "serve"))
    at(clock, 40)
    ok(an.act(1, "complete"))
    ok(client.post(f"/api/tickets/{p['token']}/rating", json={"score": 4}))
    at(clock, 41)
    assert ok(an.act(1, "next"))["ticket"]["number"] == q["number"]
    at(clock, 42)
    ok(an.act(1, "serve"))
    at(clock, 45)
    ok(an.act(1, "close", {"force": True}))
    at(clock, 46)
    ok(binh.act(2, "open"))
    assert ok(binh.act(2, "next"))["ticket"]["number"] == q["number"]
    at(clock, 47)
    ok(binh.act(2, "serve"))
    at(clock, 50)
    ok(binh.act(2, "complete"))
    ok(client.post(f"/api/tickets/{q['token']}/rating",
                   json={"score": 2, "comment": "Bị trả lại hàng"}))
    at(clock, 52)
    ok(client.post(f"/api/tickets/{r['token']}/cancel"))
    qms = app.extensions["qms"]
    yield Reports(qms.storage, qms.center, clock)
    qms.close()


# The three waits that ended when the supervisor moved them, uncalled.
MOVED_OUT = dict(wait_avg_s=1740.0, wait_p50_s=1740.0, wait_p90_s=1800.0, wait_max_s=1800.0,
                 over_sla=1.0, over_sla_count=3)


def test_a_wait_ended_by_a_move_counts_in_the_old_service(moved):
    assert moved.rows(DAY, DAY, "service") == [
        # P', Q', R' came in; Q'' is Q' handed back to the same line: no arrival, and no
        # departure either. Waits P' 60, Q' 660, Q'' 60; services 480, 180.
        row("quoc-tich", "Quốc tịch", transferred_in=3, served=2, cancelled=1,
            served_rate=0.6667, no_show_rate=0.0, cancelled_rate=0.3333,
            wait_avg_s=260.0, wait_p50_s=60.0, wait_p90_s=660.0, wait_max_s=660.0,
            over_sla=0.0, service_avg_s=330.0, service_p50_s=180.0, service_p90_s=480.0,
            service_max_s=480.0, rating_avg=3.0, ratings={**NO_RATINGS, "2": 1, "4": 1},
            score=50.0),
        # The line the board showed red: three long waits, all over the threshold.
        row("cong-chung", "Công chứng", issued=3, transferred=3, served_rate=0.0,
            no_show_rate=0.0, cancelled_rate=0.0, **MOVED_OUT),
    ]


def test_a_transfer_inside_a_group_is_neither_out_nor_in(moved):
    # Both services are the Sở Tư pháp's, and everything happened between 08:00 and 08:59.
    whole = dict(issued=3, served=2, cancelled=1, served_rate=0.6667, no_show_rate=0.0,
                 cancelled_rate=0.3333, wait_avg_s=1000.0, wait_p50_s=660.0,
                 wait_p90_s=1800.0, wait_max_s=1800.0, over_sla=0.5, over_sla_count=3,
                 service_avg_s=330.0, service_p50_s=180.0, service_p90_s=480.0,
                 service_max_s=480.0, rating_avg=3.0,
                 ratings={**NO_RATINGS, "2": 1, "4": 1}, score=50.0)
    assert moved.rows(DAY, DAY, "department") == [row("tu-phap", "Sở Tư pháp", **whole)]
    assert moved.rows(DAY, DAY, "hour") == [row("08", **whole)]
    assert moved.rows(DAY, DAY, "day") == [row(DAY, **whole)]
    assert moved.totals(DAY, DAY) == row("total", "", **whole)


def test_a_counter_closing_on_its_visitor_is_no_transfer_of_the_officer(moved):
    # The moved waits were ended by no call: they belong to no counter. The supervisor who
    # moved the line handed three visitors on.
    an = dict(served=1, wait_avg_s=360.0, wait_p50_s=60.0, wait_p90_s=660.0,
              wait_max_s=660.0, over_sla=0.0, service_avg_s=480.0, service_p50_s=480.0,
              service_p90_s=480.0, service_max_s=480.0, rating_avg=4.0,
              ratings={**NO_RATINGS, "4": 1}, score=100.0)
    binh = dict(served=1, wait_avg_s=60.0, wait_p50_s=60.0, wait_p90_s=60.0,
                wait_max_s=60.0, over_sla=0.0, service_avg_s=180.0, service_p50_s=180.0,
                service_p90_s=180.0, service_max_s=180.0, rating_avg=2.0,
                ratings={**NO_RATINGS, "2": 1}, score=0.0)
    assert moved.rows(DAY, DAY, "counter") == [
        at_counter(1, "Quầy 1", **an), at_counter(2, "Quầy 2", **binh)]
    assert moved.rows(DAY, DAY, "officer") == [
        at_counter("an", **an), at_counter("binh", **binh),
        at_counter("giam-sat", transferred=3)]
    assert [c["comment"] for c in moved.comments(DAY, DAY)] == ["Bị trả lại hàng"]
