"""The board's JSON API: its state, and what a supervisor does from it. Supervisors and
admins only (401 without a session, 403 for an officer)."""

from flask import current_app, jsonify

from qms.domain.errors import ValidationError
from qms.realtime import dashboard_state
from qms.web import field, json_body, staff_required

from . import bp

BOSSES = ("supervisor", "admin")


def _service():
    return current_app.extensions["qms"].service


@bp.get("/api/dashboard")
@staff_required(*BOSSES)
def dashboard(user):
    return jsonify(dashboard_state())


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
    if count is not None and count < 1:
        raise ValidationError("count_range")
    return jsonify(_service().move_waiting(service_id[:64], to, user, count=count))
