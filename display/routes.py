"""Hall display API: recent calls and waiting counts."""

from flask import current_app, jsonify, request

from qms.domain.errors import NotFound

from . import bp


@bp.get("/api/display")
def display():
    qms = current_app.extensions["qms"]
    zone = request.args.get("zone") or None
    if zone is not None and zone not in qms.center.zones:
        raise NotFound("unknown_zone", zone=zone[:32])
    return jsonify(qms.service.views.display(zone))
