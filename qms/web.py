"""Flask glue shared by the blueprints: JSON errors, body validation, language, login.

Every refusal is ``{"error": "<message>", "code": "<id>"}`` with a 4xx status; the message
comes from the translation catalogue in the request's language.
"""

from __future__ import annotations

import hmac
import logging
import re
from contextlib import contextmanager
from functools import wraps

from flask import current_app, g, jsonify, request, session
from werkzeug.exceptions import HTTPException

from .domain.errors import (
    Forbidden,
    NotAuthenticated,
    NotFound,
    QmsError,
    TooManyRequests,
    ValidationError,
)
from .i18n import negotiate, translate

log = logging.getLogger(__name__)
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def lang() -> str:
    if "lang" not in g:
        g.lang = negotiate(request.args.get("lang") or request.cookies.get("lang"),
                           request.headers.get("Accept-Language"),
                           current_app.config["QMS_DEFAULT_LANG"])
    return g.lang


def _printable(value):
    """A parameter safe to echo: type names translated, text that is not valid Unicode
    (lone surrogates from JSON escapes) replaced rather than failing to encode."""
    if isinstance(value, str):
        if value.startswith("type_"):
            return translate(value, lang())
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def error_response(msg_id, http_status, **params):
    params = {k: _printable(v) for k, v in params.items()}
    body = {"error": translate(msg_id, lang(), **params), "code": msg_id}
    return jsonify(body), http_status


def register_errors(app):
    @app.errorhandler(QmsError)
    def _qms_error(exc: QmsError):
        response, status = error_response(exc.message, exc.status, **exc.params)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        ids = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        return error_response(ids.get(exc.code, "bad_request"), exc.code or 400)

    @app.errorhandler(Exception)
    def _unexpected(exc):  # a bug: log it, answer in JSON, never an HTML page
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("internal_error", 500)


# -- request bodies -----------------------------------------------------------------------

def json_body(*, allowed: set[str]) -> dict:
    """The JSON object of the request (empty when there is no body), with no unknown key."""
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("invalid_json")
    for key in data:
        if key not in allowed:
            raise ValidationError("unknown_field", field=key)
    return data


_TYPE_NAMES = {str: "type_string", bool: "type_bool", int: "type_int"}  # catalogue ids


def field(data: dict, name: str, kind, *, required=False, default=None, max_len=200):
    if name not in data or data[name] is None:
        if required:
            raise ValidationError("field_required", field=name)
        return default
    value = data[name]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise ValidationError("field_type", field=name, expected=_TYPE_NAMES[kind])
    if kind is str and len(value) > max_len:
        raise ValidationError("field_too_long", field=name, max=max_len)
    if kind is str and not value.isprintable() and not _encodes(value):
        raise ValidationError("field_not_text", field=name)
    return value


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a lone surrogate, e.g. "\ud800" in the JSON
        return False


# -- staff sessions -----------------------------------------------------------------------

def session_user(sess) -> dict | None:
    """The account of a session, if it still exists and the session was not ended."""
    name = sess.get("user")
    if not name:
        return None
    user = current_app.extensions["qms"].accounts.get(name)
    if user is None or user["session_version"] != sess.get("ver"):
        return None
    return user


def current_user() -> dict | None:
    if "user" not in g:
        g.user = session_user(session)
    return g.user


def csrf_ok() -> bool:
    sent = request.headers.get("X-CSRFToken", "").encode("utf-8", "surrogateescape")
    expected = session.get("csrf", "").encode()
    return bool(expected) and hmac.compare_digest(sent, expected)


def staff_required(*roles):
    """A logged-in staff member (401), of one of ``roles`` if given (403), who sent the
    session's CSRF token with any state-changing request (403)."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                raise NotAuthenticated()
            if request.method in STATE_CHANGING and not csrf_ok():
                raise Forbidden("csrf_failed")
            if roles and user["role"] not in roles:
                raise Forbidden("role_required", roles=", ".join(roles))
            return view(user, *args, **kwargs)
        return wrapper
    return decorator


# -- visitors' requests -------------------------------------------------------------------

# The shape of the tokens the server makes (secrets.token_urlsafe(18)); anything else is
# an unknown ticket before any lookup.
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")

@contextmanager
def visitor_request(token: str):
    """Count one request of a client for the ticket ``token`` (``phone`` settings): each
    address has a share per ticket, so phones behind one NAT do not starve each other; a
    request for a ticket that does not exist also costs ``phone.unknown_token_cost`` from
    the address's own share, and once that is spent the answer is 429, not 404."""
    limiter = current_app.extensions["qms_phone_limit"]
    address = request.remote_addr or "?"
    wait = limiter.take(f"{address} {token[:64]}")
    if wait:
        raise TooManyRequests(wait)
    try:
        yield
    except NotFound as exc:
        if exc.message == "unknown_ticket":
            cost = current_app.extensions["qms"].cfg["phone"]["unknown_token_cost"]
            wait = limiter.take(address, cost)
            if wait:
                raise TooManyRequests(wait) from None
        raise
