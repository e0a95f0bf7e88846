"""The supervisors' screens: the live board (``/dashboard``) and the reports
(``/reports``). Without a session they lead to the staff login; an officer gets 403."""


from flask import current_app, request, session

from qms.domain.errors import ValidationError
from qms.i18n import translate
from qms.pages import login_redirect, page_language, render_page
from qms.report_export import svg_bar_chart
from qms.reports import BY, Reports
from qms.web import current_user

from . import bp
from .routes import BOSSES, report_query, run_reports

MESSAGES = ("board_",)


def _guard(path):
    """None when a supervisor or admin is logged in, else the answer to give."""
    user = current_user()
    if user is None:
        return login_redirect(path)
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


@bp.get("/reports")
def reports_page():
    """The report of a date range, grouped as asked, with its charts and its files. The
    page is drawn on the server: it needs no script."""
    refused = _guard("/reports")
    if refused:
        return refused
    lang = page_language()
    args = {k: v for k, v in request.args.items() if k != "lang"}
    try:
        query = report_query(args, formats=("json",))
    except ValidationError as exc:
        # Keep what the supervisor typed in the form, say what is wrong, show nothing.
        typed = {k: str(args.get(k, ""))[:10] for k in ("from", "to")}
        typed["by"] = args.get("by") if args.get("by") in BY else "day"
        return render_page("board/reports.html", "report_title", messages=MESSAGES,
                           query=typed, rows=[], totals=None, charts=[], comments=[],
                           error=translate(exc.message, lang, **exc.params), by_choices=BY,
                           user=current_user())
    out = run_reports(query, lang, (query["by"], "hour", "service"))
    rows, totals = out[query["by"]]
    charts = _charts(out["hour"][0], out["service"][0], lang)
    qms = current_app.extensions["qms"]
    comments = Reports(qms.storage, qms.center, qms.service.clock).comments(
        query["from"], query["to"], limit=200, lang=lang)
    return render_page("board/reports.html", "report_title", messages=MESSAGES,
                       query=query, rows=rows, totals=totals, charts=charts,
                       comments=comments, error=None, by_choices=BY, user=current_user())


def _charts(by_hour, by_service, lang):
    """Waits by hour of arrival and tickets by service, as SVG drawn here."""
    t = lambda msg_id, **kw: translate(msg_id, lang, **kw)  # noqa: E731
    busiest = sorted(by_service, key=lambda r: -(r["issued"] or 0))[:15]
    minutes = t("report_unit_min")
    return [
        svg_bar_chart([(f"{r['key']}:00", r["wait_avg_s"] and round(r["wait_avg_s"] / 60, 1))
                       for r in by_hour], t("report_chart_wait_by_hour"), minutes),
        svg_bar_chart([(r["label"], r["issued"]) for r in busiest],
                      t("report_chart_tickets_by_service"), t("report_unit_tickets")),
    ]
