"""The screens share one page layer: served in Vietnamese or English, with a strict
content policy (nothing from outside the server), and everything they load is vendored."""

import re

from conftest import ROOT


def test_the_start_page_is_vietnamese_by_default_and_english_on_request(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="vi">' in html and "Máy lấy số" in html and "Trung tâm thử nghiệm" in html
    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "lang=en" in english.headers["Set-Cookie"]
    assert "Ticket kiosks" in client.get("/").get_data(as_text=True)  # remembered


def test_pages_may_load_nothing_from_outside_the_server(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "http" not in policy


def test_every_page_asset_is_served_by_the_server_itself(client):
    html = client.get("/").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(assets) >= 3
    for path in assets:
        with client.get(path) as r:
            assert r.status_code == 200, path
    with client.get("/static/vendor/be-vietnam-pro-5.3.0/be-vietnam-pro.css") as css:
        fonts = re.findall(r"url\(\./(files/[^)]+)\)", css.get_data(as_text=True))
    assert len(fonts) == 9
    for font in fonts:
        with client.get(f"/static/vendor/be-vietnam-pro-5.3.0/{font}") as r:
            assert r.status_code == 200 and len(r.data) > 5000


def test_no_template_or_script_refers_to_an_outside_address():
    files = [p for d in ("qms", "kiosk", "counter", "display", "static")
             for p in (ROOT / d).rglob("*") if p.suffix in (".html", ".js", ".css")
             and "vendor" not in p.parts]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"https?://|url\(https?://|fetch\(\"https?://",
                             text), path


def test_the_start_page_opens_in_a_real_browser_with_the_vendored_font(live_server, new_page):
    page = new_page(1280, 800, bypass_csp=False)  # the pages run under their own policy
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "Trung tâm thử nghiệm"
    page.wait_for_function("() => document.fonts.check('16px \"Be Vietnam Pro\"')")
    assert page.evaluate("() => typeof io") == "function"
    page.click("text=English")
    page.wait_for_selector("html[lang=en]")
    assert [line for line in page.log if "Content Security Policy" in line] == []


def test_a_kiosk_always_starts_in_the_centers_language_whatever_the_last_visitor_chose(
        client):
    english = client.get("/kiosk?lang=en")
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "Set-Cookie" not in english.headers  # nothing remembered for the next visitor
    client.set_cookie("lang", "en")
    assert '<html lang="vi">' in client.get("/kiosk").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)  # other screens do
