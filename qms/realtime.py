"""Live push: the SocketIO object, room names, and broadcast of committed events.

Rooms: ``display``, ``display:<zone>``, ``counter:<id>``, ``ticket:<token>``, ``dashboard``,
``kiosk``. A client sends ``join`` with ``{"room": ...}``; it is put in the room and then
receives a ``snapshot`` of the room's state, then the events that follow.
"""

from __future__ import annotations

import hmac
import logging
import re

from flask import current_app, request, session
from flask_socketio import SocketIO, join_room, leave_room

from .domain import events as ev
from .domain.errors import NotFound, TooManyRequests
from .web import TOKEN, session_user, visitor_request

log = logging.getLogger(__name__)

socketio = SocketIO()

CALLS = (ev.TicketCalled, ev.TicketRecalled)


def rooms_for(event, center) -> list[str] | None:
    """Where an event goes; None means everyone."""
    if isinstance(event, ev.DayReset):
        return None
    if isinstance(event, (ev.AlertRaised, ev.AlertCleared, ev.DeviceChanged)):
        return ["dashboard"]
    if isinstance(event, ev.ServiceChanged):
        return ["dashboard", "kiosk"]
    if isinstance(event, ev.DeviceFault):
        return ["dashboard"]  # kiosks get it without the technical message (Publisher)
    if isinstance(event, ev.TicketPrinted):
        return ["dashboard", *kiosk_rooms(event)]
    if isinstance(event, ev.RatingRequested):
        return [f"rate:{event.counter}"]
    if isinstance(event, ev.TicketRated):
        return ["dashboard", f"ticket:{event.token}",
                *([f"rate:{event.counter}"] if event.counter is not None else [])]
    if isinstance(event, ev.PositionChanged):
        return [f"ticket:{event.token}"]
    if isinstance(event, ev.QueueChanged):
        return ["display", f"display:{event.zone}", "kiosk", "dashboard",
                *(f"counter:{c}" for c in center.counters_by_service[event.service])]
    if isinstance(event, ev.CounterChanged):
        return ["display", f"display:{event.zone}", "dashboard", "kiosk",
                f"counter:{event.counter}", f"display:counter:{event.counter}",
                f"rate:{event.counter}"]
    rooms = ["dashboard"]
    if event.token:
        rooms.append(f"ticket:{event.token}")
    if event.counter is not None:
        # The small screen above the counter follows what the counter does.
        rooms += [f"counter:{event.counter}", f"display:counter:{event.counter}"]
    if isinstance(event, ev.TicketTransferred) and event.to_counter is not None:
        rooms.append(f"counter:{event.to_counter}")
    if isinstance(event, CALLS):
        # Shown where the counter is, and where the visitor waits if that is elsewhere.
        rooms += ["display", f"display:{event.zone}"]
        if event.service_zone and event.service_zone != event.zone:
            rooms.append(f"display:{event.service_zone}")
    return rooms


def kiosk_rooms(event) -> list[str]:
    return ["kiosk", f"kiosk:{event.kiosk}"] if event.kiosk else ["kiosk"]


class Publisher:
    """Sends committed events to their rooms. Called by the services after commit."""

    def __init__(self, center):
        self.center = center

    def __call__(self, events):
        for event in events:
            try:
                socketio.emit(event.event_name(), event.payload(),
                              to=rooms_for(event, self.center))
                if isinstance(event, ev.DeviceFault):
                    # Kiosk rooms are open to anyone on the LAN: they learn that their
                    # ticket did not print, not the printer's address or error text.
                    socketio.emit(event.event_name(), {**event.payload(), "message": ""},
                                  to=kiosk_rooms(event))
                if isinstance(event, ev.CounterChanged) and event.previous_officer \
                        and event.previous_officer != event.officer:
                    # Whoever left the seat stops following that counter.
                    socketio.close_room(f"counter:{event.counter}")
            except Exception:  # a broken socket never undoes a committed change
                log.exception("could not push %s", event.event_name())


def _ack_error(msg_id, **params):
    from .i18n import translate
    lang = session.get("lang") or current_app.config["QMS_DEFAULT_LANG"]
    params = {k: translate(v, lang) if isinstance(v, str) and v.startswith("type_") else v
              for k, v in params.items()}  # type names come from the catalogue too
    return {"ok": False, "code": msg_id, "error": translate(msg_id, lang, **params)}


_COUNTER_ID = re.compile(r"[1-9][0-9]{0,8}")


def authorize(room: str, key: str = ""):
    """None if the caller may join ``room``, else the refusal to acknowledge with. ``key``
    is the rating devices' key (``rating.device_key``), for ``rate:<counter>``."""
    qms = current_app.extensions["qms"]
    kind, sep, arg = room.partition(":")
    if kind == "rate" and sep:
        if not (_COUNTER_ID.fullmatch(arg) and int(arg) in qms.center.counters):
            return _ack_error("unknown_counter", counter=arg[:16])
        wanted = qms.cfg["rating"]["device_key"]
        sent = str(key).encode("utf-8", "surrogatepass")
        if wanted and not hmac.compare_digest(sent, wanted.encode()):
            return _ack_error("device_key")
        return None
    if kind == "display" and (not sep or arg in qms.center.zones):
        return None
    if kind == "display" and arg.startswith("counter:"):
        number = arg.partition(":")[2]
        if _COUNTER_ID.fullmatch(number) and int(number) in qms.center.counters:
            return None
        return _ack_error("unknown_counter", counter=number[:16])
    if room == "kiosk" or kind == "kiosk" and arg in qms.center.kiosks:
        return None
    if kind == "ticket" and sep:
        try:  # counted like the phone page's requests: a flood of joins is refused
            with visitor_request(arg):
                if not TOKEN.fullmatch(arg) or qms.service.views.ticket_by_token(arg) is None:
                    raise NotFound("unknown_ticket")
        except (NotFound, TooManyRequests) as exc:
            refusal = _ack_error(exc.message, **exc.params)
            if isinstance(exc, TooManyRequests):  # the phone tries again after this
                refusal["retry_after"] = exc.retry_after
            return refusal
        return None
    if room == "dashboard" or kind == "counter" and sep:
        user = session_user(session)
        if user is None:
            return _ack_error("login_required")
        if room == "dashboard":
            if user["role"] == "officer":
                return _ack_error("role_required", roles="supervisor, admin")
            return None
        if _COUNTER_ID.fullmatch(arg) and int(arg) in qms.center.counters:
            if user["role"] == "officer" and \
                    qms.service.views.counter(int(arg))["officer"] != user["username"]:
                return _ack_error("not_your_counter", counter=arg)
            return None
    return _ack_error("unknown_room", room=room[:80])


def snapshot(room: str) -> dict:
    """The state of a room the caller was allowed to join, with the log position it was
    read at."""
    qms = current_app.extensions["qms"]
    views = qms.service.views
    state = {"room": room, "seq": views.seq()}
    kind, sep, arg = room.partition(":")
    if kind == "display" and arg.startswith("counter:"):
        state["counter"] = views.counter_display(int(arg.partition(":")[2]))
    elif kind == "display":
        state.update(views.display(arg or None))
    elif kind == "kiosk":
        state["services"] = views.services()
    elif kind == "ticket":
        state["ticket"] = views.ticket_by_token(arg)
    elif kind == "rate":
        state.update(views.rating_device(int(arg), qms.cfg["rating"]["question_s"]))
    elif kind == "dashboard":
        state.update(dashboard_state())
    else:
        counter = views.counter(int(arg))
        state.update(counter=counter, waiting=[w for w in views.waiting_counts_all()
                                               if w["service"] in counter["services"]])
    return state


def dashboard_state() -> dict:
    """The board: services, counters, alerts and devices, checked right now."""
    monitor = current_app.extensions["qms_monitor"]
    monitor.check()
    return {**monitor.board.board(), **monitor.snapshot(),
            "amber_at": current_app.extensions["qms"].cfg["dashboard"]["amber_at"]}


def _device_of(room: str) -> tuple[str, str] | None:
    """The device a room's member stands for, as (device, kind), if any."""
    kind, sep, arg = room.partition(":")
    if kind == "display":
        return f"display:{arg}", "display"
    if kind == "kiosk" and sep:
        return room, "kiosk"
    if kind == "rate":
        return room, "rating"
    return None


# Called with the socket id when a client disconnects (the display election adds its own).
DISCONNECT_HOOKS: list = []


def register_handlers():
    @socketio.on("disconnect")
    def on_disconnect(*_):
        current_app.extensions["qms_monitor"].disconnected(request.sid)
        for hook in DISCONNECT_HOOKS:
            hook(request.sid)

    @socketio.on("join")
    def on_join(data=None):
        room = data.get("room") if isinstance(data, dict) else None
        if not isinstance(room, str) or not room or len(room) > 200:
            return _ack_error("field_required", field="room")
        error = authorize(room, data.get("key") or "")
        if error:
            return error
        # Join first, then read: an event committed meanwhile is in the snapshot or after
        # it, never lost; its seq tells the client whether it is news.
        join_room(room)
        monitor = current_app.extensions["qms_monitor"]
        if room == "dashboard" and not monitor.running:
            monitor.running = True
            socketio.start_background_task(monitor.run_forever, socketio.sleep)
        socketio.emit("snapshot", snapshot(room), to=request.sid)
        device = _device_of(room)
        if device:
            monitor.connected(request.sid, *device)
        return {"ok": True, "room": room}

    @socketio.on("leave")
    def on_leave(data=None):
        room = data.get("room") if isinstance(data, dict) else None
        if not isinstance(room, str):
            return _ack_error("field_required", field="room")
        leave_room(room)
        device = _device_of(room)
        if device:
            current_app.extensions["qms_monitor"].disconnected(request.sid, device[0])
        return {"ok": True, "room": room}
