"""Which display speaks: in each zone exactly one display plays the chime and the voice.

A display sends ``speaker`` with ``{"zone": "<zone>" or "", "name": "<its name>"}`` after
joining its room. The whole-center display (zone "") of a center with several zones stays
silent unless it also sends ``"sound": true`` (opened as ``/display?sound=1``). The zone's
``zones[].speaker`` (matched against the name) speaks; if it is absent or not configured,
the display that registered first does. When the speaker
disconnects, the next one is told ``speaker {"speaking": true}``. Elections are per server
process: with several processes behind Redis, pin each zone's displays to one process or
name the speaker.
"""

from __future__ import annotations

import threading

from flask import current_app, request

from qms.realtime import _ack_error, socketio

_lock = threading.Lock()
_zones: dict[str, list[tuple[str, str]]] = {}  # zone ("" = whole center) -> (sid, name)


def _elected(zone: str, wanted: str) -> str | None:
    members = _zones.get(zone, [])
    named = [sid for sid, name in members if wanted and name == wanted]
    return (named or [sid for sid, _ in members] or [None])[0]


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
        wanted = _wanted(zone)
        with _lock:
            before = _elected(zone, wanted)
            members = [m for m in _zones.get(zone, []) if m[0] != request.sid]
            _zones[zone] = members + [(request.sid, name)]
            now = _elected(zone, wanted)
        if before and before != now:  # a named speaker arrived: the stand-in goes quiet
            socketio.emit("speaker", {"zone": zone, "speaking": False}, to=before)
        return {"ok": True, "zone": zone, "speaking": now == request.sid}

    @socketio.on("disconnect")
    def on_disconnect(*_):
        handover = []
        with _lock:
            for zone, members in _zones.items():
                if any(sid == request.sid for sid, _ in members):
                    wanted = _wanted(zone)
                    before = _elected(zone, wanted)
                    _zones[zone] = [m for m in members if m[0] != request.sid]
                    now = _elected(zone, wanted)
                    if now and now != before:
                        handover.append((zone, now))
        for zone, sid in handover:
            socketio.emit("speaker", {"zone": zone, "speaking": True}, to=sid)
