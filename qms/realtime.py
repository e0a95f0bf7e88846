"""Live push: the SocketIO object, room names, and broadcast of committed events.

Rooms: ``display``, ``display:<zone>``, ``counter:<id>``, ``ticket:<token>``, ``dashboard``,
``kiosk``. A client sends ``join`` with ``{"room": ...}``; it is put in the room and then
receives a ``snapshot`` of the room's state, then the events that follow.
"""

from __future__ import annotations

import logging

from flask import current_app, request, session
from flask_socketio import SocketIO, join_room

from .domain import events as ev

log = logging.getLogger(__name__)

socketio = SocketIO()

CALLS = (ev.TicketCalled, ev.TicketRecalled)


def rooms_for(event, center) -> list[str] | None:
    """Where an event goes; None means everyone."""
    if isinstance(event, ev.DayReset):
        return None
    if isinstance(event, ev.DeviceFault):
        return ["dashboard"]
    if isinstance(event, ev.QueueChanged):
        return ["display", f"display:{event.zone}", "kiosk", "dashboard",
                *(f"counter:{c}" for c in center.counters_by_service[event.service])]
    if isinstance(event, ev.CounterChanged):
        return ["display", f"display:{event.zone}", "dashboard", f"counter:{event.counter}"]
    rooms = ["dashboard"]
    if event.token:
        rooms.append(f"ticket:{event.token}")
    if event.counter is not None:
        rooms.append(f"counter:{event.counter}")
    if isinstance(event, ev.TicketTransferred) and event.to_counter is not None:
        rooms.append(f"counter:{event.to_counter}")
    if isinstance(event, CALLS):
        rooms += ["display", f"display:{event.zone}"]
    return rooms


class Publisher:
    """Sends committed events to their rooms. Called by the services after commit."""

    def __init__(self, center):
        self.center = center

    def __call__(self, events):
        for event in events:
            try:
                socketio.emit(event.event_name(), event.payload(),
                              to=rooms_for(event, self.center))
            except Exception:  # a broken socket never undoes a committed change
                log.exception("could not push %s", event.event_name())


def _ack_error(msg_id, **params):
    from .i18n import translate
    lang = session.get("lang") or current_app.config["QMS_DEFAULT_LANG"]
    return {"ok": False, "code": msg_id, "error": translate(msg_id, lang, **params)}


def _staff():
    name = session.get("user")
    return current_app.extensions["qms"].accounts.get(name) if name else None


def snapshot_for(room: str):
    """(snapshot payload, None) for a room the caller may join, or (None, ack error)."""
    qms = current_app.extensions["qms"]
    views, center = qms.service.views, qms.center
    kind, _, arg = room.partition(":")
    if kind == "display" and (not arg or arg in center.zones):
        return views.display(arg or None), None
    if kind == "kiosk" and not arg:
        return {"services": views.services()}, None
    if kind == "ticket" and arg:
        ticket = views.ticket_by_token(arg)
        if ticket is None:
            return None, _ack_error("unknown_ticket")
        return {"ticket": ticket}, None
    if kind in ("counter", "dashboard"):
        user = _staff()
        if user is None:
            return None, _ack_error("login_required")
        if kind == "dashboard" and not arg:
            if user["role"] == "officer":
                return None, _ack_error("role_required", roles="supervisor, admin")
            return {"counters": views.counters(), "services": views.services()}, None
        if kind == "counter" and arg.isdigit() and int(arg) in center.counters:
            counter = views.counter(int(arg))
            if user["role"] == "officer" and counter["officer"] != user["username"]:
                return None, _ack_error("not_your_counter", counter=arg)
            waiting = [w for w in views.waiting_counts_all()
                       if w["service"] in counter["services"]]
            return {"counter": counter, "waiting": waiting}, None
    return None, _ack_error("unknown_room", room=room[:80])


def register_handlers():
    @socketio.on("join")
    def on_join(data):
        room = data.get("room") if isinstance(data, dict) else None
        if not isinstance(room, str) or not room or len(room) > 200:
            return _ack_error("field_required", field="room")
        snapshot, error = snapshot_for(room)
        if error:
            return error
        join_room(room)
        socketio.emit("snapshot", {"room": room, **snapshot}, to=request.sid)
        return {"ok": True, "room": room}

    @socketio.on("leave")
    def on_leave(data):
        from flask_socketio import leave_room
        room = data.get("room") if isinstance(data, dict) else None
        if isinstance(room, str):
            leave_room(room)
        return {"ok": True}
