"""The supervisors' screens: the live board (``/dashboard``) and the reports
(``/reports``). Without a session they lead to the staff login; an officer gets 403."""

from urllib.parse import urlencode

from flask import current_app, redirect, session

from qms.pages import page_language, render_page
from qms.web import current_user

from . import bp
from .routes import BOSSES

MESSAGES = ("board_",)


def _guard(path):
    """None when a supervisor or admin is logged in, else the answer to give."""
    user = current_user()
    if user is None:
        return redirect("/counter/login?" + urlencode({"next": path}))
    if user["role"] not in BOSSES:
        page = render_page("board/forbidden.html", "board_forbidden_title",
                           messages=MESSAGES, user=user)
        page.status_code = 403
        return page
    return None


def _center_names(lang):
    center = current_app.extensions["qms"].center
    return {
        "zones": [{"id": z["id"], "name": z["name"][lang] or z["id"], "floor": z["floor"]}
                  for z in center.zones.values()],
        "departments": {d["id"]: d["name"][lang] for d in center.departments.values()},
        "services": {s.id: {"name": s.name[lang], "prefix": s.prefix} for s in
                     center.services.values()},
        "counters": {c.id: c.name[lang] for c in center.counters.values()},
    }


@bp.get("/dashboard")
def dashboard_page():
    refused = _guard("/dashboard")
    if refused:
        return refused
    user = current_user()
    lang = page_language()
    data = {"csrf": session.get("csrf"), "me": {"username": user["username"],
                                                 "role": user["role"]},
            "timezone": current_app.extensions["qms"].cfg["center"]["timezone"],
            **_center_names(lang)}
    return render_page("board/dashboard.html", "board_title", messages=MESSAGES, data=data,
                       user=user)
