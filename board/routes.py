"""The board's JSON API: its state, and what a supervisor does from it. Supervisors and
admins only (401 without a session, 403 for an officer)."""

from datetime import date

from flask import Response, current_app, jsonify, request

from qms.domain.errors import NotFound, ValidationError
from qms.i18n import translate
from qms.realtime import dashboard_state
from qms.report_export import EXPORT_COLUMNS, to_csv, to_xlsx
from qms.reports import BY, Reports, check_range
from qms.web import field, json_body, lang, staff_required

from . import bp

BOSSES = ("supervisor", "admin")
FORMATS = ("json", "csv", "xlsx")
MAX_DAYS = 366
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _service():
    return current_app.extensions["qms"].service


@bp.get("/api/dashboard")
@staff_required(*BOSSES)
def dashboard(user):
    return jsonify(dashboard_state())


@bp.post("/api/alerts/<path:alert_id>/dismiss")
@staff_required(*BOSSES)
def dismiss_alert(user, alert_id):
    """Seen: the alert leaves every board until its cause ends and comes back."""
    json_body(allowed=set())
    if not current_app.extensions["qms_monitor"].dismiss(alert_id[:200]):
        raise NotFound("unknown_alert")
    return jsonify({"id": alert_id, "dismissed": True})


@bp.post("/api/services/<service_id>/issuing")
@staff_required(*BOSSES)
def set_issuing(user, service_id):
    data = json_body(allowed={"paused", "reason"})
    paused = field(data, "paused", bool, required=True)
    reason = field(data, "reason", str, default="", max_len=200).strip()
    return jsonify(_service().set_issuing(service_id[:64], user, paused=paused,
                                          reason=reason))


@bp.post("/api/services/<service_id>/move")
@staff_required(*BOSSES)
def move_waiting(user, service_id):
    data = json_body(allowed={"to", "count"})
    to = field(data, "to", str, required=True, max_len=64)
    count = field(data, "count", int)
    if count is not None and not 1 <= count <= 100_000:
        raise ValidationError("count_range")
    return jsonify(_service().move_waiting(service_id[:64], to, user, count=count))


def report_query(args, *, formats=FORMATS) -> dict:
    """``from``, ``to``, ``by`` and ``format`` of a report request, checked (400 with the
    field's name otherwise); ``from`` defaults to today, ``to`` to ``from``."""
    qms = current_app.extensions["qms"]
    unknown = sorted(set(args) - {"from", "to", "by", "format", "lang"})
    if unknown:
        raise ValidationError("unknown_field", field=unknown[0][:32])
    today = qms.service.clock.service_day()
    date_from = args.get("from") or today
    date_to = args.get("to") or date_from
    by, fmt = args.get("by") or "day", args.get("format") or formats[0]
    if by not in BY:
        raise ValidationError("field_choice", field="by", choices=", ".join(BY))
    if fmt not in formats:
        raise ValidationError("field_choice", field="format", choices=", ".join(formats))
    check_range(date_from, date_to)
    if (date.fromisoformat(date_to) - date.fromisoformat(date_from)).days >= MAX_DAYS:
        raise ValidationError("report_range", days=MAX_DAYS)
    return {"from": date_from, "to": date_to, "by": by, "format": fmt}


def run_reports(query, page_lang, bys) -> dict:
    """``{by: (rows, totals)}`` for each grouping of ``bys``, from one read of the log."""
    qms = current_app.extensions["qms"]
    reports = Reports(qms.storage, qms.center, qms.service.clock)
    out = reports.report_many(query["from"], query["to"], bys, page_lang)
    for _, totals in out.values():
        totals["label"] = translate("report_total", page_lang)
    return out


def run_report(query, page_lang):
    return run_reports(query, page_lang, (query["by"],))[query["by"]]


def column_headers(page_lang) -> dict:
    return {c: translate(f"report_col_{c}", page_lang) for c in EXPORT_COLUMNS}


@bp.get("/api/reports")
@staff_required(*BOSSES)
def reports(user):
    query = report_query(request.args)
    page_lang = lang()
    rows, totals = run_report(query, page_lang)
    if query["format"] == "json":
        return jsonify({"from": query["from"], "to": query["to"], "by": query["by"],
                        "rows": rows, "totals": totals})
    name = f"bao-cao-{query['by']}-{query['from']}-{query['to']}"
    if query["format"] == "csv":
        body = to_csv(rows, totals=totals, headers=column_headers(page_lang),
                      lang=page_lang)
        response = Response(body.encode("utf-8"), mimetype="text/csv; charset=utf-8")
    else:
        title = translate("report_sheet", page_lang, by=translate(f"report_by_{query['by']}",
                                                                  page_lang))
        body = to_xlsx(rows, title, totals=totals, headers=column_headers(page_lang),
                       lang=page_lang)
        response = Response(body, mimetype=XLSX)
    response.headers["Content-Disposition"] = (
        f"attachment; filename={name}.{query['format']}")
    response.headers["Cache-Control"] = "no-store"
    return response
