"""Accounts, roles, sessions, CSRF, and who may act on which counter."""

import subprocess
import sys

from conftest import PASSWORD, ROOT, Staff, issue
from test_api import state


def test_staff_actions_without_a_login_are_refused(client, qms):
    before = state(qms)
    for action in ("open", "next", "recall", "serve", "complete", "no-show", "pause"):
        r = client.post(f"/api/counters/1/{action}")
        assert (r.status_code, r.json["code"]) == (401, "login_required")
    assert client.post("/api/logout").status_code == 401
    assert state(qms) == before


def test_a_wrong_password_gets_401_and_no_session(app, client):
    app.extensions["qms"].accounts.add("an", PASSWORD, "officer")
    for body in ({"username": "an", "password": "sai-mat-khau"},
                 {"username": "khong-ai", "password": PASSWORD}):
        r = client.post("/api/login", json=body)
        assert (r.status_code, r.json["code"]) == (401, "bad_credentials")
    assert client.get("/api/me").status_code == 401


def test_passwords_are_stored_hashed(app):
    app.extensions["qms"].accounts.add("an", PASSWORD, "officer")
    with app.extensions["qms"].storage.db() as db:
        stored = db.execute("SELECT password_hash FROM users WHERE username='an'").fetchone()[0]
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_the_session_cookie_is_httponly_and_samesite(app):
    app.extensions["qms"].accounts.add("an", PASSWORD, "officer")
    r = app.test_client().post("/api/login", json={"username": "an", "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_state_changes_need_the_csrf_token(officer, qms):
    before = state(qms)
    for headers in ({}, {"X-CSRFToken": "forged"}):
        r = officer.client.post("/api/counters/1/open", headers=headers)
        assert (r.status_code, r.json["code"]) == (403, "csrf_failed")
    assert state(qms) == before
    assert officer.act(1, "open").status_code == 200


def test_an_officer_cannot_act_on_another_officers_counter(officer, officer2, client, qms):
    issue(client)
    officer2.act(2, "open")
    before = state(qms)
    for action in ("next", "recall", "complete", "pause", "close"):
        r = officer.act(2, action)
        assert (r.status_code, r.json["code"]) == (403, "not_your_counter"), action
    assert state(qms) == before


def test_one_counter_has_one_officer_at_a_time(officer, officer2):
    assert officer.act(1, "open").status_code == 200
    r = officer2.act(1, "open")
    assert (r.status_code, r.json["code"]) == (409, "counter_held")
    assert "can-bo-an" in r.json["error"]


def test_an_officer_sits_at_one_counter_at_a_time(officer):
    officer.act(1, "open")
    r = officer.act(2, "open")
    assert (r.status_code, r.json["code"]) == (409, "seated_elsewhere")


def test_a_supervisor_can_take_over_a_seat(officer, supervisor, client):
    issue(client)
    officer.act(1, "open")
    r = supervisor.act(1, "open")
    assert r.status_code == 200 and r.json["counter"]["officer"] == "giam-sat"
    assert officer.act(1, "next").json["code"] == "not_your_counter"
    assert supervisor.act(1, "next").json["ticket"]["number"] == "PA001"


def test_an_officer_may_be_limited_to_some_counters(app):
    staff = Staff(app, "han-che", counters=(2,))
    assert staff.act(1, "open").json["code"] == "counter_not_allowed"
    assert staff.act(2, "open").status_code == 200


def test_logout_ends_the_seat_and_puts_the_called_visitor_back(officer, client):
    t = issue(client)
    officer.act(1, "open")
    officer.act(1, "next")
    assert officer.post("/api/logout").status_code == 200
    counter = client.get("/api/counters").json["counters"][0]
    assert (counter["status"], counter["officer"]) == ("closed", None)
    assert client.get(f"/api/tickets/{t['token']}").json["status"] == "waiting"
    assert officer.act(1, "open").status_code == 401


def test_closing_with_a_ticket_in_hand_asks_first(officer, client):
    issue(client)
    officer.act(1, "open")
    officer.act(1, "next")
    officer.act(1, "serve")
    r = officer.act(1, "close")
    assert (r.status_code, r.json["code"]) == (409, "counter_has_ticket")
    r = officer.act(1, "close", {"force": True})
    assert r.json["counter"]["status"] == "closed"
    waiting = client.get("/api/services").json["services"][0]["waiting"]
    assert waiting == 1  # the visitor in service went back to the front of the queue


def cli(*args, stdin="", config):
    return subprocess.run([sys.executable, str(ROOT / "server.py"), *args, "--config",
                           str(config)], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_the_cli_adds_users_and_they_can_log_in(config_path, cfg):
    out = cli("user", "add", "nguyen-van-a", "--role", "supervisor", "--password-stdin",
              stdin=PASSWORD + "\n", config=config_path)
    assert out.returncode == 0 and "supervisor 'nguyen-van-a'" in out.stdout
    again = cli("user", "add", "nguyen-van-a", "--password-stdin", stdin=PASSWORD + "\n",
                config=config_path)
    assert again.returncode != 0 and "already exists" in again.stderr
    short = cli("user", "add", "b", "--password-stdin", stdin="ngan\n", config=config_path)
    assert short.returncode != 0 and "at least 8" in short.stderr
    import server
    app = server.create_app(cfg)
    r = app.test_client().post("/api/login", json={"username": "nguyen-van-a",
                                                   "password": PASSWORD})
    assert r.status_code == 200 and r.json["user"]["role"] == "supervisor"
    app.extensions["qms"].close()


def test_the_first_admin_comes_from_the_environment_or_a_printed_password(qms):
    accounts = qms.accounts
    generated = accounts.ensure_admin(None)
    assert generated and accounts.verify("admin", generated)["role"] == "admin"
    assert accounts.ensure_admin("another-password") is None  # only once


def test_password_guessing_is_slowed_down(app, client):
    app.extensions["qms"].accounts.add("an", PASSWORD, "officer")
    for _ in range(5):
        r = client.post("/api/login", json={"username": "an", "password": "doan-mo-1234"})
        assert r.status_code == 401
    r = client.post("/api/login", json={"username": "an", "password": PASSWORD})
    assert (r.status_code, r.json["code"]) == (429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) > 0


def test_the_login_throttle_forgets_after_its_window():
    from qms.auth import LoginThrottle
    now = [0.0]
    throttle = LoginThrottle(limit=2, window_s=60, now=lambda: now[0])
    throttle.failed("k")
    throttle.failed("k")
    assert throttle.retry_after("k") == 61
    now[0] = 61
    assert throttle.retry_after("k") == 0


def test_a_cookie_copied_before_logout_stops_working(app, officer):
    stolen = app.test_client()
    cookie = officer.client.get_cookie("qms_session")
    stolen.set_cookie("qms_session", cookie.value)
    assert stolen.get("/api/me").status_code == 200
    officer.post("/api/logout")
    assert stolen.get("/api/me").status_code == 401
    r = stolen.post("/api/counters/1/open", headers={"X-CSRFToken": officer.csrf})
    assert r.status_code == 401


def test_a_password_change_ends_every_session(app, officer):
    app.extensions["qms"].accounts.set_password("can-bo-an", "mat-khau-moi-99")
    assert officer.client.get("/api/me").status_code == 401


def test_a_non_ascii_csrf_header_is_refused_not_a_crash(officer, qms):
    from test_api import state
    before = state(qms)
    r = officer.client.post("/api/counters/1/open",
                            headers={"X-CSRFToken": "caf\u00e9".encode("latin-1")})
    assert (r.status_code, r.json["code"]) == (403, "csrf_failed")
    assert state(qms) == before


def test_guessing_many_user_names_from_one_address_is_slowed_down(app, client):
    for i in range(20):
        r = client.post("/api/login", json={"username": f"ai-{i}", "password": "x" * 8})
        assert r.status_code == 401
    r = client.post("/api/login", json={"username": "ai-moi", "password": "x" * 8})
    assert (r.status_code, r.json["code"]) == (429, "too_many_attempts")


def test_parallel_guesses_cannot_outrun_the_throttle(app):
    import threading
    app.extensions["qms"].accounts.add("an", PASSWORD, "officer")
    codes, barrier = [], threading.Barrier(12)

    def guess():
        client = app.test_client()
        barrier.wait()
        r = client.post("/api/login", json={"username": "an", "password": "doan-mo-1234"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(401) <= 5 and codes.count(429) >= 7
