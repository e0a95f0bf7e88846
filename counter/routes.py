"""Staff API: login, and the officer's actions on the counter they sit at."""

import re
import secrets
import unicodedata

from flask import current_app, jsonify, request, session

from qms.domain.errors import Forbidden, NotAuthenticated, NotFound, ValidationError
from qms.web import current_user, error_response, field, json_body, lang, staff_required

from . import bp

ADDRESS_LIMIT = 20  # failed logins from one address, whatever the user names


def _qms():
    return current_app.extensions["qms"]


@bp.post("/api/login")
def login():
    data = json_body(allowed={"username", "password"})
    username = field(data, "username", str, required=True, max_len=64)
    password = field(data, "password", str, required=True, max_len=256)
    throttle = current_app.extensions["qms_login_throttle"]
    key = (request.remote_addr, username)
    wait = max(throttle.retry_after(key),
               throttle.retry_after(request.remote_addr, limit=ADDRESS_LIMIT))
    if wait:
        response, status = error_response("too_many_attempts", 429, seconds=wait)
        response.headers["Retry-After"] = str(wait)
        return response, status
    # Counted before the (slow, yielding) password check, so that attempts sent in
    # parallel cannot all pass the check above; taken back on success.
    throttle.failed(key)
    throttle.failed(request.remote_addr)
    user = _qms().accounts.verify(username, password)
    if user is None:
        raise NotAuthenticated("bad_credentials")
    throttle.succeeded(key)
    throttle.forget_one(request.remote_addr)
    session.clear()
    session.permanent = True
    session["user"] = user["username"]
    session["ver"] = user["session_version"]
    session["csrf"] = secrets.token_urlsafe(32)
    return jsonify({"csrf_token": session["csrf"], "user": user})


@bp.post("/api/logout")
@staff_required()
def logout(user):
    """End the session and every seat it holds; a ticket in hand goes back to its queue."""
    service = _qms().service
    for counter in service.views.counters():
        if counter["officer"] == user["username"]:
            service.close_counter(counter["id"], user, force=True)
    _qms().accounts.end_sessions(user["username"])  # a copied cookie stops working too
    session.clear()
    return jsonify({"ok": True})


@bp.get("/api/me")
def me():
    user = current_user()
    if user is None:
        raise NotAuthenticated()
    return jsonify({"user": user, "csrf_token": session.get("csrf")})


@bp.get("/api/counters")
def counters():
    return jsonify({"counters": _qms().service.views.counters(lang())})


def _counter_id(counter_id):
    if counter_id not in _qms().center.counters:
        raise NotFound("unknown_counter", counter=counter_id)
    return counter_id


def _counter_reply(view):
    return jsonify({"counter": view})


@bp.post("/api/counters/<int:counter_id>/open")
@staff_required()
def open_counter(user, counter_id):
    json_body(allowed=set())
    return _counter_reply(_qms().service.open_counter(_counter_id(counter_id), user))


@bp.post("/api/counters/<int:counter_id>/close")
@staff_required()
def close_counter(user, counter_id):
    data = json_body(allowed={"force"})
    force = field(data, "force", bool, default=False)
    return _counter_reply(_qms().service.close_counter(_counter_id(counter_id), user,
                                                       force=force))


@bp.post("/api/counters/<int:counter_id>/pause")
@staff_required()
def pause(user, counter_id):
    data = json_body(allowed={"reason"})
    reason = field(data, "reason", str, default="", max_len=100)
    return _counter_reply(_qms().service.pause(_counter_id(counter_id), user, reason))


@bp.post("/api/counters/<int:counter_id>/resume")
@staff_required()
def resume(user, counter_id):
    json_body(allowed=set())
    return _counter_reply(_qms().service.resume(_counter_id(counter_id), user))


@bp.post("/api/counters/<int:counter_id>/next")
@staff_required()
def call_next(user, counter_id):
    json_body(allowed=set())
    return jsonify({"ticket": _qms().service.call_next(_counter_id(counter_id), user)})


_TYPED_NUMBER = re.compile(r"(\D+?)0*(\d+)")


def _ticket_number(typed):
    """The ticket number an officer meant: "pa 2", "PA0002" or a full-width "ＰＡ２" is
    PA002 (the prefix, then the day's sequence padded to ``issuing.number_digits``)."""
    text = "".join(unicodedata.normalize("NFKC", typed).split()).upper()
    if not text:
        raise ValidationError("field_required", field="number")
    match = _TYPED_NUMBER.fullmatch(text)
    if match is None:
        return text
    digits = _qms().cfg["issuing"]["number_digits"]
    return match[1] + match[2].zfill(digits)


@bp.post("/api/counters/<int:counter_id>/call")
@staff_required()
def call_number(user, counter_id):
    data = json_body(allowed={"number"})
    number = _ticket_number(field(data, "number", str, required=True, max_len=16))
    return jsonify({"ticket": _qms().service.call_number(_counter_id(counter_id), user,
                                                         number)})


_ACTIONS = {"recall": "recall", "serve": "serve", "complete": "complete",
            "no-show": "no_show", "requeue": "requeue"}


def _make_action(path, method_name):
    @staff_required()
    def action(user, counter_id):
        json_body(allowed=set())
        method = getattr(_qms().service, method_name)
        return jsonify({"ticket": method(_counter_id(counter_id), user)})
    action.__name__ = f"action_{method_name}"
    bp.add_url_rule(f"/api/counters/<int:counter_id>/{path}", view_func=action,
                    methods=["POST"])


for _path, _method in _ACTIONS.items():
    _make_action(_path, _method)


@bp.post("/api/counters/<int:counter_id>/transfer")
@staff_required()
def transfer(user, counter_id):
    data = json_body(allowed={"service", "counter", "placement"})
    target_service = field(data, "service", str, max_len=64)
    target_counter = field(data, "counter", int)
    placement = field(data, "placement", str, max_len=16)
    if (target_service is None) == (target_counter is None):
        raise ValidationError("transfer_target")
    ticket = _qms().service.transfer(_counter_id(counter_id), user, service=target_service,
                                     counter=target_counter, placement=placement)
    return jsonify({"ticket": ticket})


@bp.get("/api/counters/<int:counter_id>/console")
@staff_required()
def console_state(user, counter_id):
    """What the officer's console shows; read by any staff member who may sit there."""
    _counter_id(counter_id)
    if user["role"] == "officer" and user["counters"] and counter_id not in user["counters"]:
        raise Forbidden("counter_not_allowed", counter=counter_id)
    return jsonify(_qms().service.views.console(counter_id, user["username"], lang()))
