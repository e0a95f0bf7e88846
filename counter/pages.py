"""The officer's screens: login, the counter picker and the console at ``/counter/<id>``.

The pages hold no state of their own: their scripts read it from the JSON API and follow the
counter's room, so a reload, a reconnect or a second tab always shows the true queue.
"""

import re
from urllib.parse import urlencode

from flask import current_app, request, session

from qms.domain.errors import NotFound
from qms.pages import login_redirect, page_language, render_page
from qms.web import current_user

from . import bp

# Where a login may lead: the staff pages (consoles, board, reports), never another site
# (?next=//evil).
_NEXT = re.compile(r"/counter(/[1-9][0-9]{0,8})?|/dashboard|/reports")


def _me(user):
    return {"username": user["username"], "role": user["role"],
            "counters": user["counters"]}


@bp.get("/counter/login")
def login_page():
    wanted = request.args.get("next", "")
    target = wanted if _NEXT.fullmatch(wanted) else "/counter"
    return render_page("counter/login.html", "console_login_title", messages=("console_",),
                       data={"next": target}, next=target)


@bp.get("/counter")
def picker_page():
    user = current_user()
    if user is None:
        return login_redirect("/counter")
    qms = current_app.extensions["qms"]
    lang = page_language()
    allowed = [c.id for c in qms.center.counters.values() if c.active and (
        user["role"] != "officer" or not user["counters"] or c.id in user["counters"])]
    services = {s.id: {"prefix": s.prefix, "name": s.name[lang]}
                for s in qms.center.services.values()}
    return render_page("counter/picker.html", "console_picker_title", messages=("console_",),
                       data={"csrf": session.get("csrf"), "me": _me(user),
                             "allowed": allowed, "services": services}, user=user)


@bp.get("/counter/<int:counter_id>")
def console_page(counter_id):
    qms = current_app.extensions["qms"]
    if counter_id not in qms.center.counters:
        raise NotFound("unknown_counter", counter=counter_id)
    user = current_user()
    if user is None:
        return login_redirect(f"/counter/{counter_id}")
    lang = page_language()
    conf = qms.center.counters[counter_id]
    reasons = [{"value": r["vi"], "label": r[lang] or r["vi"]}
               for r in qms.cfg["console"]["pause_reasons"]]
    services = [{"id": s.id, "prefix": s.prefix, "name": s.name[lang],
                 "department": s.department_name[lang]}
                for s in qms.center.services.values() if qms.center.counters_by_service[s.id]]
    others = [{"id": c.id, "name": c.name[lang], "zone": c.zone}
              for c in qms.center.counters.values() if c.active and c.id != counter_id]
    data = {"csrf": session.get("csrf"), "me": _me(user), "counter": counter_id,
            "recall_limit": qms.cfg["queue"]["recall_limit"], "pause_reasons": reasons,
            "services": services, "counters": others,
            "placement": qms.cfg["queue"]["transfer_position"],
            "login_url": "/counter/login?" + urlencode({"next": f"/counter/{counter_id}"})}
    return render_page("counter/console.html", "console_title", messages=("console_",),
                       data=data, counter=conf, user=user, reasons=reasons,
                       placement=data["placement"], login_url=data["login_url"])
