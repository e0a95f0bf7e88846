"""The ticket kiosk screen and the QR it shows.

``/kiosk`` offers every service and issues without a kiosk id (only while
``issuing.open_to_lan``); ``/kiosk/<id>`` is a kiosk of ``config.yaml``: its services (its
own list, else those of its zone, else all), its printer, and, when it has a secret, opened
as ``/kiosk/<id>?key=<secret>`` so that the page can send ``X-Kiosk-Secret`` when issuing.
The page gets the center's names in both languages, so a visitor switches language without
a reload; the live part (waiting, estimate, open) comes from the ``kiosk`` room.
"""

from __future__ import annotations

import qrcode
from flask import Response, current_app, request
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathFillImage

from qms.domain.errors import Forbidden, NotFound
from qms.i18n import LANGUAGES, catalogue_for
from qms.pages import COMMON_MESSAGES, render_page
from qms.web import TOKEN, visitor_request

from . import bp
from .routes import registered_kiosk, status_url

MESSAGES = ("kiosk_",)
LIVE_FIELDS = ("waiting", "estimated_wait_s", "open", "closed_reason")

PRINT_SLACK_S = 5  # beyond the printer's own timeout, before the screen gives up waiting


def _qms():
    return current_app.extensions["qms"]


def offered_services(kiosk: dict | None) -> list:
    """The services a kiosk offers, in the center's order."""
    return _qms().center.offered_by(kiosk)


def _page(kiosk: dict | None, secret: str):
    qms = _qms()
    center = qms.center
    offered = offered_services(kiosk)
    ids = {s.id for s in offered}
    views = qms.service.views
    seq = views.seq()  # read first: an event after it is news to the page, never lost
    live = [{"id": s["id"], **{k: s[k] for k in LIVE_FIELDS}}
            for s in views.services() if s["id"] in ids]
    departments = [{"id": d["id"], "name": d["name"]} for d in center.departments.values()
                   if any(s.department == d["id"] for s in offered)]
    data = {
        "kiosk": kiosk["id"] if kiosk else None,
        "secret": secret,
        "zone": kiosk["zone"] if kiosk else "",
        "center": center.name,
        "return_after_s": qms.cfg["kiosk"]["return_after_s"],
        # No print news this long after the answer (a lost event, a printer backed up):
        # the screen stops saying "printing" and says what to do if no ticket came out.
        "print_patience_s": ((kiosk or {}).get("printer") or qms.cfg["printer"])["timeout_s"]
        + PRINT_SLACK_S,
        "priority": qms.cfg["kiosk"]["priority"],
        "catalogues": {code: catalogue_for(code, COMMON_MESSAGES + MESSAGES)
                       for code in LANGUAGES},
        "zones": {z["id"]: {"name": z["name"], "floor": z["floor"]}
                  for z in center.zones.values()},
        "departments": departments,
        "services": [{"id": s.id, "prefix": s.prefix, "name": s.name,
                      "department": s.department, "zone": s.zone,
                      "counters": center.counters_by_service[s.id],
                      "places": center.places(s.id),
                      "places_priority": center.places(s.id, priority=True)}
                     for s in offered],
        "live": {"seq": seq, "services": live},
    }
    # A kiosk starts in the center's language for every visitor: no remembered choice.
    return render_page("kiosk/kiosk.html", "kiosk_title", messages=MESSAGES, data=data,
                       center=center, kiosk=kiosk, remember=False)


@bp.get("/kiosk")
def kiosk_page():
    if not _qms().cfg["issuing"]["open_to_lan"]:
        raise Forbidden("kiosk_required")
    return _page(None, "")


@bp.get("/kiosk/<kiosk_id>")
def registered_kiosk_page(kiosk_id):
    kiosk = registered_kiosk(kiosk_id, request.args.get("key", ""))
    return _page(kiosk, kiosk["secret"])


@bp.get("/kiosk/qr/<token>.svg")
def ticket_qr(token):
    """The QR of a ticket's status page, as SVG on a white ground (quiet zone included)."""
    with visitor_request(token):
        if not TOKEN.fullmatch(token) or _qms().service.views.ticket_by_token(token) is None:
            raise NotFound("unknown_ticket")
    image = qrcode.make(status_url(token), image_factory=SvgPathFillImage,
                        error_correction=ERROR_CORRECT_M)
    response = Response(image.to_string(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
