"""The JSON API v1: the contract's fields, and bad requests that change nothing."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import issue


def state(qms):
    """Everything a request could change."""
    with qms.storage.db() as db:
        return (
            db.execute("SELECT COUNT(*), MAX(id) FROM events").fetchone()[:],
            [tuple(r) for r in db.execute("SELECT id, status, service, counter, recalls, "
                                          "token FROM tickets ORDER BY id")],
            [tuple(r) for r in db.execute("SELECT * FROM counters ORDER BY id")],
            [tuple(r) for r in db.execute("SELECT * FROM ratings")],
        )


def test_services_list_the_contract_fields(client):
    services = client.get("/api/services").json["services"]
    assert {s["id"] for s in services} == {"quoc-tich", "cong-chung", "cap-phep", "nha-o"}
    for s in services:
        assert {"id", "prefix", "name", "department", "zone", "waiting", "estimated_wait_s",
                "open"} <= set(s)
    assert services[0]["name"] == "Quốc tịch"


def test_issuing_returns_the_contract_fields(client):
    r = client.post("/api/tickets", json={"service": "quoc-tich", "priority": False})
    assert r.status_code == 201
    t = r.json
    assert (t["number"], t["service"], t["status"], t["position"]) == (
        "PA001", "quoc-tich", "waiting", 1)
    assert isinstance(t["estimated_wait_s"], int)
    assert len(t["token"]) >= 22  # 144 random bits, URL-safe
    assert t["status_url"].endswith(t["token"])
    second = issue(client)
    assert (second["number"], second["position"]) == ("PA002", 2)


def test_a_ticket_is_seen_only_through_its_token(client):
    t = issue(client)
    view = client.get(f"/api/tickets/{t['token']}").json
    assert {"number", "status", "position", "estimated_wait_s", "counter"} <= set(view)
    assert "token" not in view
    for guess in ("A" * 24, t["token"][:-1] + ("A" if t["token"][-1] != "A" else "B"), "1"):
        r = client.get(f"/api/tickets/{guess}")
        assert r.status_code == 404 and r.json["code"] == "unknown_ticket"


def test_counters_list_the_contract_fields(client):
    counters = client.get("/api/counters").json["counters"]
    assert [c["id"] for c in counters] == [1, 2, 3, 4, 5]
    c = counters[0]
    assert (c["zone"], c["services"], c["status"], c["officer"]) == (
        "A", ["quoc-tich", "cong-chung"], "closed", None)


def test_display_lists_calls_newest_first_and_waiting_counts(client, officer):
    issue(client)
    issue(client, "cong-chung")
    officer.act(1, "open")
    officer.act(1, "next")
    officer.act(1, "no-show")
    officer.act(1, "next")
    d = client.get("/api/display?zone=A").json
    assert [c["number"] for c in d["calls"]] == ["PC001", "PA001"]
    assert set(d["calls"][0]) >= {"number", "counter", "zone", "called_at"}
    assert client.get("/api/display?zone=B").json["calls"] == []
    assert client.get("/api/display?zone=Z").status_code == 404


def test_the_visitor_cancels_while_waiting_but_not_once_called(client, officer):
    a, b = issue(client), issue(client)
    r = client.post(f"/api/tickets/{b['token']}/cancel")
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    officer.act(1, "open")
    officer.act(1, "next")
    r = client.post(f"/api/tickets/{a['token']}/cancel")
    assert r.status_code == 409


def test_one_rating_per_served_ticket(client, officer):
    t = issue(client)
    url = f"/api/tickets/{t['token']}/rating"
    assert client.post(url, json={"score": 5}).status_code == 409  # before service ends
    officer.act(1, "open")
    officer.act(1, "next")
    officer.act(1, "serve")
    officer.act(1, "complete")
    assert client.post(url, json={"score": 5, "comment": "Rất tốt"}).status_code == 201
    assert client.post(url, json={"score": 4}).status_code == 409


def test_errors_speak_vietnamese_by_default_and_english_on_request(client):
    r = client.post("/api/tickets", json={"service": "khong-co"})
    assert r.status_code == 404 and r.json["error"] == "Không có lĩnh vực 'khong-co'."
    r = client.post("/api/tickets?lang=en", json={"service": "khong-co"})
    assert r.json["error"] == "No service 'khong-co'."


BAD_TICKET_BODIES = [
    ("not json", "{service", 400, "invalid_json"),
    ("a list", "[1, 2]", 400, "invalid_json"),
    ("a string", '"quoc-tich"', 400, "invalid_json"),
    ("no service", "{}", 400, "field_required"),
    ("service null", '{"service": null}', 400, "field_required"),
    ("service a number", '{"service": 12}', 400, "field_type"),
    ("priority a string", '{"service": "quoc-tich", "priority": "yes"}', 400, "field_type"),
    ("priority a number", '{"service": "quoc-tich", "priority": 1}', 400, "field_type"),
    ("unknown field", '{"service": "quoc-tich", "colour": "red"}', 400, "unknown_field"),
    ("service a lone surrogate", '{"service": "\\ud800"}', 400, "field_not_text"),
    ("kiosk a lone surrogate", '{"service": "quoc-tich", "kiosk": "\\udfff"}', 400,
     "field_not_text"),
    ("unknown service", '{"service": "xyz"}', 404, "unknown_service"),
    ("unknown kiosk", '{"service": "quoc-tich", "kiosk": "k9"}', 404, "unknown_kiosk"),
    ("very long service", json.dumps({"service": "x" * 5000}), 400, "field_too_long"),
]


@pytest.mark.parametrize("body,status,code", [b[1:] for b in BAD_TICKET_BODIES],
                         ids=[b[0] for b in BAD_TICKET_BODIES])
def test_a_bad_ticket_request_is_refused_clearly_and_changes_nothing(
        client, qms, body, status, code):
    before = state(qms)
    r = client.post("/api/tickets", data=body, content_type="application/json")
    assert (r.status_code, r.json["code"]) == (status, code)
    assert r.json["error"] and state(qms) == before


BAD_COUNTER_REQUESTS = [
    ("next on a closed counter", 1, "next", None, 409, "counter_not_open"),
    ("unknown counter", 99, "next", None, 404, "unknown_counter"),
    ("counter not a number", "abc", "next", None, 404, "not_found"),
    ("recall on a closed counter", 1, "recall", None, 409, "counter_not_open"),
    ("transfer with no target", 1, "transfer", {}, 400, "transfer_target"),
    ("transfer with both targets", 1, "transfer", {"service": "nha-o", "counter": 2}, 400,
     "transfer_target"),
    ("transfer counter as string", 1, "transfer", {"counter": "2"}, 400, "field_type"),
    ("pause reason too long", 1, "pause", {"reason": "x" * 101}, 400, "field_too_long"),
    ("body on next", 1, "next", {"x": 1}, 400, "unknown_field"),
    ("call without number", 1, "call", {}, 400, "field_required"),
    ("unknown action", 1, "dance", None, 404, "not_found"),
    ("open an inactive counter", 5, "open", None, 409, "counter_inactive"),
]


@pytest.mark.parametrize("counter,action,body,status,code",
                         [b[1:] for b in BAD_COUNTER_REQUESTS],
                         ids=[b[0] for b in BAD_COUNTER_REQUESTS])
def test_a_bad_counter_request_is_refused_clearly_and_changes_nothing(
        officer, qms, counter, action, body, status, code):
    before = state(qms)
    r = officer.post(f"/api/counters/{counter}/{action}", json=body)
    assert (r.status_code, r.json["code"]) == (status, code), r.json
    assert state(qms) == before


def test_actions_on_an_open_counter_in_the_wrong_state_are_conflicts(client, officer, qms):
    officer.act(1, "open")
    for action in ("recall", "serve", "complete", "no-show", "requeue"):
        r = officer.act(1, action)
        assert (r.status_code, r.json["code"]) == (409, "no_current_ticket")
    issue(client)
    officer.act(1, "next")
    before = state(qms)
    r = officer.act(1, "complete")
    assert (r.status_code, r.json["code"]) == (409, "invalid_transition")
    r = officer.act(1, "next")
    assert (r.status_code, r.json["code"]) == (409, "counter_has_ticket")
    assert state(qms) == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=10), children, max_size=3), max_leaves=8)
bodies = st.one_of(
    json_values.map(json.dumps),
    st.dictionaries(st.sampled_from(["service", "priority", "kiosk", "counter", "placement",
                                     "reason", "number", "score", "comment", "username",
                                     "password"]), json_values, max_size=4).map(json.dumps),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)
PATHS = ["/api/tickets", "/api/login", "/api/counters/1/open", "/api/counters/1/next",
         "/api/counters/1/transfer", "/api/counters/1/pause", "/api/counters/1/call",
         "/api/counters/2/recall", "/api/tickets/{token}/rating",
         "/api/tickets/{token}/cancel"]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), body=bodies)
def test_fuzzed_bodies_never_give_a_500(client, officer, path, body):
    r = officer.post(path.replace("{token}", "x" * 24), data=body,
                     content_type="application/json")
    assert r.status_code < 500, (path, body, r.json)
    assert r.is_json and "error" in r.json or r.status_code < 300


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_fuzzed_ticket_bodies_change_nothing_unless_issued(client, qms, body):
    before = state(qms)
    r = client.post("/api/tickets", data=body, content_type="application/json")
    assert r.status_code in (201, 400, 404), (body, r.json)
    if r.status_code != 201:
        assert state(qms) == before


def test_unknown_routes_and_methods_answer_json(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.json["code"] == "not_found"
    r = client.get("/api/tickets")
    assert r.status_code == 405 and r.json["code"] == "method_not_allowed"
    r = client.post("/api/tickets", data="x" * 70000, content_type="application/json")
    assert r.status_code == 413 and "error" in r.json


def test_a_type_error_is_worded_in_the_language_of_the_request(client):
    r = client.post("/api/tickets", json={"service": "quoc-tich", "priority": "yes"})
    assert r.json["error"] == "Trường 'priority' phải là true hoặc false."
    r = client.post("/api/tickets?lang=en", json={"service": 12})
    assert r.json["error"] == "Field 'service' must be a string."


def test_an_officer_acting_on_a_counter_they_may_not_sit_at_is_forbidden_even_when_closed(
        app):
    from conftest import Staff
    limited = Staff(app, "can-bo-gioi-han", counters=[1, 2])
    r = limited.act(3, "next")
    assert (r.status_code, r.json["code"]) == (403, "counter_not_allowed")


def test_an_empty_transfer_placement_is_refused_not_taken_for_the_default(app, client):
    from conftest import Staff
    officer = Staff(app, "can-bo-an")
    officer.act(1, "open")
    issue(client)
    officer.act(1, "next")
    r = officer.act(1, "transfer", {"service": "cong-chung", "placement": ""})
    assert (r.status_code, r.json["code"]) == (400, "bad_placement")
    assert officer.act(1, "transfer", {"service": "cong-chung"}).status_code == 200
