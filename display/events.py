"""Which display speaks: in each zone exactly one display plays the chime and the voice.

A display sends ``speaker`` with ``{"zone": "<zone>" or "", "name": "<its name>"}`` after
joining its room. The whole-center display (zone "") of a center with several zones stays
silent unless it also sends ``"sound": true`` (opened as ``/display?sound=1``). The zone's
``zones[].speaker`` (matched against the name) speaks; if it is absent or not configured,
the display that registered first does. When the speaker
disconnects, the next one is told ``speaker {"speaking": true}``. The membership lives in
election.py: in memory for one process, in the shared database when several processes fan
out through Redis, so a zone has one voice whichever process each display reached.
"""

from __future__ import annotations

import logging
import threading

from flask import current_app, request

from qms.realtime import DISCONNECT_HOOKS, _ack_error, socketio

from .election import HEARTBEAT_S, LocalElection, SharedElection

log = logging.getLogger(__name__)
_lock = threading.Lock()


def _election():
    """The app's election: in memory, or in the shared database when several processes
    fan out through a message queue (then a sweep runs in the background)."""
    app = current_app
    with _lock:
        election = app.extensions.get("qms_election")
        if election is None:
            qms = app.extensions["qms"]
            if qms.cfg["server"]["message_queue"]:
                election = SharedElection(qms.storage)
                socketio.start_background_task(_sweep_forever, election)
            else:
                election = LocalElection()
            app.extensions["qms_election"] = election
    return election


def _sweep_forever(election):
    while not election.storage.closed:
        socketio.sleep(HEARTBEAT_S)
        try:
            for zone, sid, speaking in election.sweep():
                socketio.emit("speaker", {"zone": zone, "speaking": speaking}, to=sid)
        except Exception:  # a busy database, a Redis hiccup: again at the next beat
            if not election.storage.closed:
                log.exception("speaker heartbeat failed")


def _wanted(zone: str) -> str:
    zones = current_app.extensions["qms"].center.zones
    return zones[zone]["speaker"] if zone in zones else ""


def register_handlers():
    @socketio.on("speaker")
    def on_speaker(data=None):
        zones = current_app.extensions["qms"].center.zones
        zone = data.get("zone") if isinstance(data, dict) else None
        name = data.get("name", "") if isinstance(data, dict) else ""
        if zone is None:
            return _ack_error("field_required", field="zone")
        if not isinstance(zone, str):
            return _ack_error("field_type", field="zone", expected="type_string")
        if zone and zone not in zones:
            return _ack_error("unknown_zone", zone=zone[:32])
        if not isinstance(name, str):
            return _ack_error("field_type", field="name", expected="type_string")
        if len(name) > 64:
            return _ack_error("field_too_long", field="name", max=64)
        if not zone and len(zones) > 1 and data.get("sound") is not True:
            # The zones' own TVs speak; a center-wide TV in the same hall would repeat them.
            return {"ok": True, "zone": zone, "speaking": False}
        speaking, silenced = _election().join(zone, request.sid, name, _wanted(zone))
        if silenced:  # a named speaker arrived: the stand-in goes quiet
            socketio.emit("speaker", {"zone": zone, "speaking": False}, to=silenced)
        return {"ok": True, "zone": zone, "speaking": speaking}

    if _leave not in DISCONNECT_HOOKS:
        DISCONNECT_HOOKS.append(_leave)


def _leave(sid):
    """A display went away: if it was its zone's voice, the next one speaks."""
    for zone, next_sid in _election().leave(sid):
        socketio.emit("speaker", {"zone": zone, "speaking": True}, to=next_sid)
