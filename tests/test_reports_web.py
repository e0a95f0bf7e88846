"""Reports over HTTP (GET /api/reports in JSON, CSV and XLSX) and the /reports page in a
real browser: the figures of a small day known by construction, the same in every format;
officers kept out; malformed queries refused."""

import csv
import io
import re

import pytest
import requests
from openpyxl import load_workbook
from playwright.sync_api import expect
from test_console_browser import log_in

from conftest import Staff, issue
from qms.i18n import translate


@pytest.fixture
def day(app, client, clock):
    """08:00 A issued; 08:05 called at counter 1 (wait 300 s); 08:06 serving; 08:16 done
    (service 600 s), rated 4. 08:01 B issued; 08:20 called (wait 1,140 s); no-show. 08:02 C
    issued, cancelled at 08:03. SLA 20 min: neither wait is over it."""
    officer = Staff(app, "can-bo-an")
    clock.t = 1_780_016_400.0  # 2026-05-29 08:00:00 in Ho Chi Minh City
    a = issue(client)
    clock.advance(60)
    issue(client)
    clock.advance(60)
    c = issue(client)
    clock.advance(60)
    client.post(f"/api/tickets/{c['token']}/cancel")
    clock.advance(120)
    officer.act(1, "open")
    officer.act(1, "next")
    clock.advance(60)
    officer.act(1, "serve")
    clock.advance(600)
    officer.act(1, "complete")
    client.post(f"/api/tickets/{a['token']}/rating", json={"score": 4})
    clock.advance(240)
    officer.act(1, "next")
    officer.act(1, "no-show")
    return "2026-05-29"


EXPECTED = {"issued": 3, "served": 1, "no_show": 1, "cancelled": 1, "wait_avg_s": 720.0,
            "wait_max_s": 1140.0, "service_avg_s": 600.0, "over_sla_count": 0,
            "rating_avg": 4.0, "score": 100.0}


def test_the_json_report_holds_the_days_figures(app, day):
    boss = Staff(app, "giam-sat", role="supervisor")
    r = boss.client.get(f"/api/reports?from={day}&to={day}&by=service")
    assert r.status_code == 200, r.json
    row, = r.json["rows"]
    assert (row["key"], row["label"]) == ("quoc-tich", "Quốc tịch")
    assert {k: row[k] for k in EXPECTED} == EXPECTED
    assert row["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    assert r.json["totals"]["label"] == "Tổng cộng"
    assert {k: r.json["totals"][k] for k in EXPECTED} == EXPECTED


def test_csv_and_xlsx_hold_the_same_figures_as_json(app, day):
    boss = Staff(app, "giam-sat", role="supervisor")
    query = f"/api/reports?from={day}&to={day}&by=service"
    data = boss.client.get(query).json["rows"][0]
    csv_r = boss.client.get(query + "&format=csv")
    assert csv_r.mimetype == "text/csv"
    assert "attachment; filename=bao-cao-service-2026-05-29-2026-05-29.csv" == \
        csv_r.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(csv_r.data.decode("utf-8-sig"))))
    header, first, total = lines[0], lines[1], lines[-1]
    assert header[:4] == ["Mã", "Tên", "Đã cấp", "Chuyển đến"]
    assert first[:3] == ["quoc-tich", "Quốc tịch", "3"]
    # The files are read by people: minutes and per cent, and the headings say so. JSON
    # keeps seconds and fractions.
    assert data["wait_avg_s"] == 720.0 and data["served_rate"] == 0.3333
    assert first[header.index("Chờ TB (phút)")] == "12.0"
    assert first[header.index("Chờ tối đa (phút)")] == "19.0"
    assert first[header.index("Tỷ lệ phục vụ (%)")] == "33.3"
    assert first[header.index(translate("report_col_score", "vi") + " (%)")] == "100.0"
    assert total[:2] == ["", "Tổng cộng"]

    xlsx = boss.client.get(query + "&format=xlsx&lang=en")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    head = cells[0]
    assert head[:3] == ["Key", "Name", "Issued"]
    assert cells[1][:3] == ["quoc-tich", "Quốc tịch", 3]
    for column, value in (("Wait avg (min)", 12), ("Wait max (min)", 19),
                          ("Service avg (min)", 10), ("Served rate (%)", 33.3),
                          ("Rating avg (1–5)", 4), ("Satisfied", 1)):
        assert cells[1][head.index(column)] == value, column
    assert cells[-1][:2] == [None, "Total"]


@pytest.mark.parametrize("query, code", [
    ("from=2026-02-30", "field_type"),
    ("from=29/05/2026", "field_type"),
    ("from=2026-05-29&to=2026-05-28", "report_dates_order"),
    ("from=2025-01-01&to=2026-05-29", "report_range"),
    ("by=week", "field_choice"),
    ("format=pdf", "field_choice"),
    ("colour=red", "unknown_field"),
])
def test_a_malformed_report_query_is_a_400_that_names_the_field(app, query, code):
    boss = Staff(app, "giam-sat", role="supervisor")
    r = boss.client.get("/api/reports?" + query)
    assert (r.status_code, r.json["code"]) == (400, code)


def test_officers_and_strangers_cannot_read_reports(app, client):
    officer = Staff(app, "can-bo-an")
    for path in ("/api/reports", "/api/reports?format=csv", "/reports"):
        assert officer.client.get(path).status_code == 403
    assert client.get("/api/reports").status_code == 401
    assert client.get("/reports").status_code == 302


def test_the_reports_page_shows_the_table_charts_and_downloads_the_excel_file(
        live_server, new_page):
    srv = live_server
    officer = srv.login("can-bo-an")
    for _ in range(2):
        requests.post(srv.url + "/api/tickets", json={"service": "quoc-tich"}, timeout=10)
    requests.post(srv.url + "/api/tickets", json={"service": "cap-phep"}, timeout=10)
    officer.post(srv.url + "/api/counters/1/open", timeout=10)
    for action in ("next", "serve", "complete"):
        officer.post(srv.url + f"/api/counters/1/{action}", timeout=10)

    srv.login("giam-sat", role="supervisor")
    page = new_page(1400, 1000, accept_downloads=True)
    page.goto(srv.url + "/reports")
    log_in(page, "giam-sat")
    expect(page).to_have_url(srv.url + "/reports")
    page.select_option("select[name=by]", "service")
    page.click("form.r-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"by=service"))
    table = page.locator("#r-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tr[data-key='quoc-tich'] th")).to_have_text("Quốc tịch")
    expect(table.locator("tr[data-key='quoc-tich'] td").first).to_have_text("2")
    expect(table.locator("tfoot td").first).to_have_text("3")
    charts = page.locator(".r-chart svg")
    expect(charts).to_have_count(2)
    expect(charts.nth(1)).to_contain_text("Quốc tịch")
    with page.expect_download() as download:
        page.click("#r-xlsx")
    assert re.fullmatch(r"bao-cao-service-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.xlsx",
                        download.value.suggested_filename)
    with open(download.value.path(), "rb") as f:
        sheet = load_workbook(io.BytesIO(f.read())).active
    rows = {r[0]: r for r in sheet.iter_rows(values_only=True)}
    assert rows["quoc-tich"][2] == 2 and rows["cap-phep"][2] == 1


def test_the_reports_page_keeps_wrong_dates_and_says_what_is_wrong(app):
    boss = Staff(app, "giam-sat", role="supervisor")
    page = boss.client.get("/reports?from=2026-05-29&to=2026-05-28&by=service")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ngày kết thúc phải bằng hoặc sau ngày bắt đầu." in html
    assert 'value="2026-05-29"' in html and 'value="2026-05-28"' in html
    assert '<option value="service" selected>' in html


def test_visitors_comments_are_listed_as_text(app, day, client):
    boss = Staff(app, "giam-sat", role="supervisor")
    html = boss.client.get(f"/reports?from={day}&to={day}").get_data(as_text=True)
    assert "Không có góp ý trong khoảng thời gian này." in html
    officer = Staff(app, "can-bo-binh")
    t = issue(client)
    for action in ("open", "next", "serve", "complete"):
        officer.act(2, action)
    client.post(f"/api/tickets/{t['token']}/rating",
                json={"score": 2, "comment": "<script>x()</script> chờ lâu"})
    html = boss.client.get(f"/reports?from={day}&to={day}").get_data(as_text=True)
    assert "&lt;script&gt;x()&lt;/script&gt; chờ lâu" in html and "<script>x()" not in html
    assert "Không hài lòng" in html
