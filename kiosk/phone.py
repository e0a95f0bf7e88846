"""The visitor's status page, ``/t/<token>``: the target of the QR on the ticket.

No login: the token (144 random bits) is the only key to a ticket, and a wrong or
malformed one gets the same 404 page, which tells nothing. Every request is counted
against the client's share (``phone`` settings). The page holds both languages' names of
the center (services, counters, zones), so a transfer anywhere can be shown without a
reload; its state comes from the ``ticket:<token>`` room (snapshot, then events) and from
``GET /api/tickets/<token>`` when the phone wakes up.
"""

from __future__ import annotations

from flask import current_app, make_response

from qms.domain.errors import NotFound, TooManyRequests
from qms.i18n import translate
from qms.pages import page_language, render_page

from . import bp
from .routes import visitor_ticket

MESSAGES = ("phone_", "rating_")


def _names(center):
    both = ("vi", "en")
    return {
        "center": center.name,
        "services": {s.id: {"name": s.name, "prefix": s.prefix, "zone": s.zone,
                            "department": s.department_name}
                     for s in center.services.values()},
        "counters": {c.id: {"name": c.name, "zone": c.zone}
                     for c in center.counters.values()},
        "zones": {z["id"]: {"name": {k: z["name"][k] for k in both}, "floor": z["floor"]}
                  for z in center.zones.values()},
    }


@bp.get("/t/<token>")
def phone_page(token):
    qms = current_app.extensions["qms"]
    try:
        ticket = visitor_ticket(token)
    except (NotFound, TooManyRequests) as exc:
        return _refusal(exc)
    data = {"token": token, "ticket": ticket, "seq": qms.service.views.seq(),
            "comment_max": qms.cfg["rating"]["comment_max"],
            "timezone": qms.cfg["center"]["timezone"], **_names(qms.center)}
    return render_page("kiosk/phone.html", "phone_title", messages=MESSAGES, data=data,
                       ticket=ticket)


def _refusal(exc):
    """The same small page for an unknown or malformed link (404) and a flood (429)."""
    lang = page_language()
    text = translate("phone_not_found" if isinstance(exc, NotFound) else exc.message, lang,
                     **exc.params)
    response = make_response(render_page("kiosk/phone_missing.html", "phone_title",
                                         text=text), exc.status)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response
