"""Fixtures: a fresh app on a temporary database for every test, real servers on
127.0.0.1 for the socket and crash tests, and small helpers for staff sessions."""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
import yaml

from qms import settings
from qms.clock import Clock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import server  # noqa: E402

SMALL = {
    "center": {"name": {"vi": "Trung tâm thử nghiệm", "en": "Test center"}},
    "server": {"async_mode": "threading"},
    "zones": [{"id": "A", "floor": 1}, {"id": "B", "floor": 2}],
    "departments": [
        {"id": "tu-phap", "name": "Sở Tư pháp", "zone": "A", "services": [
            {"id": "quoc-tich", "prefix": "PA", "name": "Quốc tịch"},
            {"id": "cong-chung", "prefix": "PC", "name": "Công chứng"},
        ]},
        {"id": "xay-dung", "name": "Sở Xây dựng", "zone": "B", "services": [
            {"id": "cap-phep", "prefix": "XA", "name": "Cấp phép xây dựng"},
            {"id": "nha-o", "prefix": "XC", "name": "Nhà ở"},
        ]},
    ],
    "counters": [
        {"id": 1, "zone": "A", "services": ["quoc-tich", "cong-chung"]},
        {"id": 2, "zone": "A", "services": ["cong-chung", "quoc-tich"]},
        {"id": 3, "zone": "B", "services": ["cap-phep", "nha-o"]},
        {"id": 4, "zone": "B", "services": ["quoc-tich", "cap-phep"], "priority": True},
        {"id": 5, "zone": "B", "services": ["nha-o"], "active": False},
    ],
}

PASSWORD = "mat-khau-dai-1"


class FakeClock(Clock):
    """The center's clock, moved by hand."""

    def __init__(self, cfg, start=1_780_000_000.0):  # Friday 2026-05-29, 03:26 local
        super().__init__(cfg["center"]["timezone"], cfg["hours"]["daily_reset"],
                         now=lambda: self.t)
        self.t = start

    def advance(self, seconds):
        self.t += seconds


def make_config(tmp_path, overrides=None, base=None):
    raw = copy.deepcopy(base or SMALL)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    raw.setdefault("server", {})["data_dir"] = str(tmp_path / "data")
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path):
    return make_config(tmp_path)


@pytest.fixture
def cfg(config_path):
    return settings.load(config_path)


@pytest.fixture
def clock(cfg):
    return FakeClock(cfg)


@pytest.fixture
def app(cfg, clock):
    app = server.create_app(cfg, clock=clock)
    app.config["TESTING"] = True
    yield app
    app.extensions["qms"].close()


@pytest.fixture
def qms(app):
    return app.extensions["qms"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_with(tmp_path):
    """Build an app on the small config changed by ``overrides``, its clock set to
    ``when`` (ISO time) if given; returns (app, test client, clock)."""
    made = []

    def build(overrides, when=None, base=None):
        cfg = settings.load(make_config(tmp_path / f"app{len(made)}", overrides, base))
        clock = FakeClock(cfg)
        if when:
            clock.t = datetime.fromisoformat(when).timestamp()
        app = server.create_app(cfg, clock=clock)
        made.append(app)
        return app, app.test_client(), clock
    yield build
    for app in made:
        app.extensions["qms"].close()


class Staff:
    """A logged-in staff member on the Flask test client: posts carry the CSRF token."""

    def __init__(self, app, username, role="officer", counters=()):
        app.extensions["qms"].accounts.add(username, PASSWORD, role, counters)
        self.username = username
        self.client = app.test_client()
        r = self.client.post("/api/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.json
        self.csrf = r.json["csrf_token"]
        self.user = r.json["user"]

    def post(self, path, json=None, **kw):
        headers = {"X-CSRFToken": self.csrf, **kw.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kw)

    def act(self, counter, action, json=None):
        return self.post(f"/api/counters/{counter}/{action}", json=json)


@pytest.fixture
def officer(app):
    return Staff(app, "can-bo-an")


@pytest.fixture
def officer2(app):
    return Staff(app, "can-bo-binh")


@pytest.fixture
def supervisor(app):
    return Staff(app, "giam-sat", role="supervisor")


def issue(client, service="quoc-tich", **body):
    r = client.post("/api/tickets", json={"service": service, **body})
    assert r.status_code == 201, r.json
    return r.json


# -- real servers on 127.0.0.1 -----------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``python server.py`` in a subprocess, as an operator would start it."""

    def __init__(self, config_path, port=None):
        self.config_path = config_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log = Path(config_path).with_suffix(".log")

    def start(self, timeout=20):
        env = {**os.environ, "QMS_ADMIN_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "server.py"), "--config", str(self.config_path),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                requests.get(self.url + "/api/counters", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in time")

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)

    def login(self, username, role="officer", counters="", create=True):
        """Create the account through the CLI (unless ``create`` is false), then log in;
        returns a requests.Session."""
        if username != "admin" and create:
            out = subprocess.run(
                [sys.executable, str(ROOT / "server.py"), "user", "add", username, "--role",
                 role, "--counters", counters, "--password-stdin", "--config",
                 str(self.config_path)], input=PASSWORD + "\n", capture_output=True,
                text=True, cwd=ROOT)
            assert out.returncode == 0, out.stderr
        http = requests.Session()
        r = http.post(self.url + "/api/login", json={"username": username,
                                                     "password": PASSWORD})
        assert r.status_code == 200, r.text
        http.headers["X-CSRFToken"] = r.json()["csrf_token"]
        return http


@pytest.fixture
def live_config(tmp_path):
    return make_config(tmp_path, {"server": {"async_mode": "gevent"}})


@pytest.fixture
def live_server(live_config):
    srv = LiveServer(live_config).start()
    yield srv
    srv.kill(signal.SIGTERM)


# -- a real browser: Playwright driving Debian's Chromium ------------------------------------

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying hosts this closed network
# refuses; autoplay is allowed because hall displays speak without anyone clicking.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (never `playwright install`: it cannot
    download here, and Debian's browser is the one the center's kiosks run)."""
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Chromium missing: run scripts/setup.sh --test"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """``new_page(width, height)``: a page in a fresh context (its own cookies); an uncaught
    script error on the page fails the test (console messages are kept in ``page.log``;
    network errors are expected in the tests that stop the server). The pages' CSP forbids
    eval, which Playwright's string waits use, so tests bypass it unless they pass
    ``bypass_csp=False`` (test_pages checks the pages run under it)."""
    contexts = []

    def make(width=1920, height=1080, **kw):
        kw.setdefault("bypass_csp", True)
        context = browser.new_context(viewport={"width": width, "height": height}, **kw)
        contexts.append(context)
        page = context.new_page()
        page.errors, page.log = [], []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("console", lambda msg: page.log.append(f"{msg.type}: {msg.text}"))
        page.set_default_timeout(10_000)
        return page
    yield make
    for context in contexts:
        for page in context.pages:
            assert page.errors == [], page.errors
        context.close()
