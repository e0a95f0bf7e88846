"""Visitor-facing API: services, issuing, a ticket's status, cancelling and rating."""

import hmac
import re

from flask import current_app, jsonify, request, url_for

from qms.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from qms.web import TOKEN, field, json_body, lang, staff_required, visitor_request

from . import bp

REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _qms():
    return current_app.extensions["qms"]


@bp.get("/api/services")
def services():
    return jsonify({"services": _qms().service.views.services(lang())})


def _check_kiosk(kiosk_id):
    cfg = _qms().cfg
    if kiosk_id is None:
        if not cfg["issuing"]["open_to_lan"]:
            raise Forbidden("kiosk_required")
        return
    registered_kiosk(kiosk_id, request.headers.get("X-Kiosk-Secret", ""))


def registered_kiosk(kiosk_id: str, sent_secret: str) -> dict:
    """The kiosk of the config, if ``sent_secret`` is its secret (404 or 403 otherwise)."""
    kiosk = _qms().center.kiosks.get(kiosk_id)
    if kiosk is None:
        raise NotFound("unknown_kiosk", kiosk=kiosk_id[:64])
    if kiosk["secret"] and not hmac.compare_digest(sent_secret.encode(),
                                                   kiosk["secret"].encode()):
        raise Forbidden("kiosk_secret")
    return kiosk


def status_url(token):
    """The visitor's status page (the QR's target), under ``server.public_url`` if set."""
    base = _qms().cfg["server"]["public_url"].rstrip("/")
    path = url_for("kiosk.phone_page", token=token)
    return base + path if base else url_for("kiosk.phone_page", token=token, _external=True)


@bp.post("/api/tickets")
def issue():
    data = json_body(allowed={"service", "priority", "kiosk", "request_id"})
    service = field(data, "service", str, required=True, max_len=64)
    priority = field(data, "priority", bool, default=False)
    kiosk = field(data, "kiosk", str, max_len=64)
    request_id = field(data, "request_id", str, max_len=64)
    if request_id is not None and not REQUEST_ID.fullmatch(request_id):
        raise ValidationError("request_id_format")
    _check_kiosk(kiosk)
    if kiosk is not None and service in _qms().center.services and service not in {
            s.id for s in _qms().center.offered_by(_qms().center.kiosks[kiosk])}:
        raise Forbidden("kiosk_service", kiosk=kiosk, service=service)
    ticket = _qms().service.issue(service, priority=priority, kiosk=kiosk,
                                  request_id=request_id, lang=lang())
    ticket["status_url"] = status_url(ticket["token"])
    # Printing runs on the printer's own worker: the ticket exists whatever happens there.
    # A repeated request is printed again only if the first print failed or was lost.
    printers = _qms().printers
    device = printers.device_for(kiosk)
    if device and not (ticket["repeated"] and printers.printed_or_pending(ticket["number"])):
        device = printers.submit(kiosk, ticket_print(ticket, lang()))
    ticket["print"] = device or None
    return jsonify(ticket), 201


def ticket_print(ticket: dict, page_lang: str):
    """What the printer needs, as plain values in the visitor's language."""
    from qms.printing import TicketPrint
    center = _qms().center
    service = center.services[ticket["service"]]
    footer = _qms().cfg["kiosk"]["ticket_footer"][page_lang]
    return TicketPrint(
        center=center.name[page_lang], number=ticket["number"],
        service=service.name[page_lang], department=service.department_name[page_lang],
        counters=list(center.counters_by_service[service.id]), zone=service.zone,
        position=ticket["position"] or 1, estimated_wait_s=ticket["estimated_wait_s"],
        issued_at=ticket["issued_at"], status_url=ticket["status_url"],
        priority=ticket["priority"], footer=footer, lang=page_lang,
        places=tuple((g["priority"], tuple(g["counters"]), g["zone"])
                     for g in center.places(service.id, ticket["priority"])))


@bp.post("/api/tickets/<number>/reprint")
@staff_required()
def reprint(user, number):
    """Print today's ticket ``number`` again, on the printer of the kiosk that issued it or
    of the kiosk named in the body."""
    data = json_body(allowed={"kiosk"})
    kiosk = field(data, "kiosk", str, max_len=64)
    if kiosk is not None and kiosk not in _qms().center.kiosks:
        raise NotFound("unknown_kiosk", kiosk=kiosk)
    views = _qms().service.views
    row = views.ticket_by_number(number[:16].upper()) if len(number) <= 16 else None
    if row is None:
        raise NotFound("unknown_number", number=number[:16])
    kiosk = kiosk or row["kiosk"]
    if _qms().printers.device_for(kiosk) is None:
        raise Conflict("no_printer")
    ticket = views.ticket_by_token(row["token"])
    if ticket["status"] not in ("waiting", "called"):
        raise Conflict("reprint_closed", number=ticket["number"])
    ticket["status_url"] = status_url(row["token"])
    # In the language the visitor chose at the kiosk, whoever asks for the reprint.
    device = _qms().printers.submit(kiosk, ticket_print(ticket, row["lang"] or lang()))
    return jsonify({"number": ticket["number"], "print": device}), 202


def _token(token):
    """A token of the shape the server makes, else 404 (before any lookup)."""
    if not TOKEN.fullmatch(token):
        raise NotFound("unknown_ticket")
    return token


def visitor_ticket(token) -> dict:
    """The visitor's view of the ticket, counted against the client's share of requests;
    404 for a malformed or unknown token alike."""
    with visitor_request(token):
        views = _qms().service.views
        seq = views.seq()  # read first: an event after it is news to the phone
        ticket = views.ticket_by_token(_token(token))
        if ticket is None:
            raise NotFound("unknown_ticket")
        return {**ticket, "seq": seq}


@bp.get("/api/tickets/<token>")
def ticket_status(token):
    return jsonify(visitor_ticket(token))


@bp.post("/api/tickets/<token>/cancel")
def cancel(token):
    with visitor_request(token):
        json_body(allowed=set())
        return jsonify(_qms().service.cancel(_token(token)))


@bp.post("/api/tickets/<token>/rating")
def rate(token):
    with visitor_request(token):
        data = json_body(allowed={"score", "comment"})
        score = field(data, "score", int, required=True)
        if not 1 <= score <= 5:
            raise ValidationError("score_range")
        limit = _qms().cfg["rating"]["comment_max"]
        comment = field(data, "comment", str, default="", max_len=500).strip()
        if len(comment) > limit:
            raise ValidationError("field_too_long", field="comment", max=limit)
        return jsonify(_qms().service.rate(_token(token), score, comment)), 201
