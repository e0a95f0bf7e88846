"""Events: what happened, in the past tense. Their snake_case names are the Socket.IO
event names; ``payload()`` is what clients receive. Fields marked private (the
visitor's token) route the event but are never broadcast."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields


def _private():
    return field(default=None, metadata={"private": True})


@dataclass
class Event:
    """Every payload also carries ``seq``: the event-log position of the transaction that
    produced it (snapshots carry the position they were read at). A client keeps the state
    with the highest ``seq`` per subject, so late or duplicate deliveries do no harm."""

    seq = 0  # set when the transaction commits; not a dataclass field

    @classmethod
    def event_name(cls) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    def payload(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if not f.metadata.get("private")}
        data["seq"] = self.seq
        return data


@dataclass
class TicketEvent(Event):
    """Common payload: ``number``, ``service``, ``zone``, ``counter`` (or null), ``status``,
    ``priority``, ``at`` (ISO time)."""

    number: str
    service: str
    zone: str
    counter: int | None
    status: str
    priority: bool
    at: str
    token: str | None = _private()


@dataclass
class TicketIssued(TicketEvent):
    """A ticket was issued; ``position`` and ``estimated_wait_s`` as given to the visitor."""

    position: int = 0
    estimated_wait_s: int | None = None


@dataclass
class TicketCalled(TicketEvent):
    """A counter called a ticket: ``called_at``, ``announcement`` (the words spoken),
    ``audio_url`` (null until the WAV exists), ``recalls`` (0 on the first call),
    ``service_zone`` (where the ticket told the visitor to wait: the call is shown and said
    there too when the counter is in another zone, e.g. a priority counter)."""

    called_at: str = ""
    announcement: str = ""
    audio_url: str | None = None
    recalls: int = 0
    service_zone: str = ""


@dataclass
class TicketRecalled(TicketCalled):
    """The counter called the same ticket again; ``recalls`` counts the recalls so far."""


@dataclass
class TicketServing(TicketEvent):
    """The visitor arrived and service began."""


@dataclass
class TicketCompleted(TicketEvent):
    """Service ended; ``service_s`` is the time from call to completion."""

    service_s: float = 0.0


@dataclass
class RatingRequested(Event):
    """A counter completed a ticket: its rating device asks the visitor. Sent only to the
    room ``rate:<counter>`` (the device beside that counter), with the ``token`` the
    device rates with; ``officer`` is who served."""

    number: str
    service: str
    counter: int
    officer: str | None
    token: str
    at: str


@dataclass
class TicketRated(Event):
    """The visitor rated a served ticket (``score`` 1..5), on the phone or on the counter's
    device; the other one stops asking."""

    number: str
    service: str
    counter: int | None
    score: int
    at: str
    token: str | None = _private()


@dataclass
class TicketNoShow(TicketEvent):
    """The visitor did not come after being called."""


@dataclass
class TicketRequeued(TicketEvent):
    """A called ticket was put back in its queue."""


@dataclass
class TicketCancelled(TicketEvent):
    """The visitor left the queue."""


@dataclass
class TicketTransferred(TicketEvent):
    """The ticket moved on: ``to_service``, ``to_counter`` (or null), ``placement``
    (front, end or original) and its new ``position``. ``service``/``counter`` are where it
    was."""

    to_service: str = ""
    to_counter: int | None = None
    placement: str = "front"
    position: int = 0


@dataclass
class QueueChanged(Event):
    """The waiting line of a service changed: ``service``, ``zone``, ``waiting``,
    ``estimated_wait_s``."""

    service: str
    zone: str
    waiting: int
    estimated_wait_s: int | None


@dataclass
class PositionChanged(Event):
    """A waiting ticket's place in line after its line changed: ``number``, ``service``,
    ``position`` (1 = next), ``estimated_wait_s``, ``line_open`` (false while no open
    counter serves the line). Sent only to the ticket's own room."""

    number: str
    service: str
    position: int
    estimated_wait_s: int | None
    token: str | None = _private()
    line_open: bool = True


@dataclass
class CounterChanged(Event):
    """A counter opened, closed, paused or resumed: ``counter``, ``zone``, ``status``,
    ``officer``, ``reason`` (for a pause), ``previous_officer`` (who left the seat, on a
    close or a takeover)."""

    counter: int
    zone: str
    status: str
    officer: str | None
    reason: str = ""
    previous_officer: str | None = None


@dataclass
class ServiceChanged(Event):
    """A supervisor paused or resumed ticket issuing for a service: ``service``, ``zone``,
    ``issuing_paused``, ``reason``, ``by``."""

    service: str
    zone: str
    issuing_paused: bool
    reason: str = ""
    by: str | None = None


@dataclass
class AlertRaised(Event):
    """Something on the board needs a supervisor now: ``id`` (stable while the cause lasts,
    e.g. ``wait:<service>``, ``printer:<device>``, ``offline:<device>``), ``kind``
    (``wait``, ``printer``, ``offline``), ``subject`` (the service or device), ``since``
    (ISO time the cause began), ``detail`` (the wait in seconds, the fault kind...)."""

    id: str
    kind: str
    subject: str
    since: str
    detail: dict


@dataclass
class AlertCleared(Event):
    """The cause of alert ``id`` is over."""

    id: str


@dataclass
class DeviceChanged(Event):
    """A device came, went or changed state: ``device`` (``printer``, ``printer:<kiosk>``,
    ``kiosk:<id>``, ``display:<zone>``, ``rate:<counter>``), ``kind``, ``online``,
    ``connections``, ``last_contact`` (ISO), ``fault`` (null when fine)."""

    device: str
    kind: str
    online: bool | None
    connections: int
    last_contact: str | None
    fault: str | None = None


@dataclass
class DayReset(Event):
    """The service day turned: ``day`` is the new day, ``closed`` how many tickets closed."""

    day: str
    closed: int


@dataclass
class DeviceFault(Event):
    """A device failed: ``device`` (``printer`` or ``printer:<kiosk>``), ``kind``
    (``unreachable``, ``paper_out``, ``timeout``, ``error``), ``message`` (the technical
    reason), ``number`` of the ticket affected if any, ``kiosk`` that issued it."""

    device: str
    kind: str
    message: str
    number: str | None = None
    kiosk: str | None = None


@dataclass
class TicketPrinted(Event):
    """A ticket came out of a printer: ``number``, ``device``, ``kiosk``; ``paper_low``
    when the printer said its roll is near the end."""

    number: str
    device: str
    kiosk: str | None = None
    paper_low: bool = False
