"""What supervisors do from the board: pause or resume ticket issuing for a service, and
move the waiting tickets of one service to another. (Taking over a counter is opening it:
``QueueService.open_counter`` gives a held seat to a supervisor.)

A mixin of ``QueueService``: the same transactions, event log and publishing.
"""

from __future__ import annotations

from .domain import events as ev
from .domain.errors import Conflict, NotFound, ValidationError


def _last_per_subject(events):
    """Moving many tickets at once recounts a line many times: keep only the last count of
    each line and the last place of each ticket, in their final order."""
    keep, seen = [], set()
    for event in reversed(events):
        if isinstance(event, ev.QueueChanged):
            key = ("line", event.service)
        elif isinstance(event, ev.PositionChanged):
            key = ("place", event.token)
        else:
            keep.append(event)
            continue
        if key not in seen:
            seen.add(key)
            keep.append(event)
    return keep[::-1]


class SupervisorActions:
    def _service_or_404(self, service_id):
        service = self.center.services.get(service_id)
        if service is None:
            raise NotFound("unknown_service", service=service_id)
        return service

    def set_issuing(self, service_id, user, *, paused: bool, reason: str = "") -> dict:
        """Pause (or resume) ticket issuing for a service: kiosks show it closed, the API
        refuses with 409 ``service_closed_paused``; tickets already issued are still
        called."""
        service = self._service_or_404(service_id)
        with self._transaction() as (db, out):
            was = db.execute("SELECT 1 FROM service_issuing WHERE service = ?",
                             [service_id]).fetchone() is not None
            if paused:
                db.execute("INSERT INTO service_issuing(service, reason, by, at) VALUES "
                           "(?, ?, ?, ?) ON CONFLICT(service) DO UPDATE SET reason = "
                           "excluded.reason, by = excluded.by, at = excluded.at",
                           [service_id, reason, user["username"], self.clock.now()])
            else:
                db.execute("DELETE FROM service_issuing WHERE service = ?", [service_id])
            if was != paused:
                self._log(db, "issuing_paused" if paused else "issuing_resumed",
                          officer=user["username"], service=service_id, reason=reason)
            out.append(ev.ServiceChanged(service=service_id, zone=service.zone,
                                         issuing_paused=paused, reason=reason,
                                         by=user["username"]))
            out.extend(self._queue_changed(db, service_id))
        return {"service": service_id, "issuing_paused": paused, "reason": reason}

    def move_waiting(self, service_id, to_service, user, *, count=None) -> dict:
        """Move the waiting tickets of a service's line (all, or the first ``count``) to
        another service, keeping their numbers and their order by issue time among the
        tickets waiting there. Tickets sent to one counter stay where they are."""
        self._service_or_404(service_id)
        self._service_or_404(to_service)
        if to_service == service_id:
            raise ValidationError("move_to_same")
        if not self.center.counters_by_service[to_service]:
            raise Conflict("service_closed_no_counter", service=to_service)
        with self._transaction() as (db, out):
            rows = db.execute(
                "SELECT * FROM tickets WHERE day = ? AND status = 'waiting' AND service = ? "
                "AND target_counter IS NULL ORDER BY priority DESC, queue_key, id LIMIT ?",
                [self.clock.service_day(), service_id,
                 -1 if count is None else count]).fetchall()
            moved, events = [], []
            for row in rows:
                new = self._transfer_row(db, events, dict(row), user, to_service, None,
                                         "original", reason="moved_by_supervisor")
                moved.append(new["number"])
            out.extend(_last_per_subject(events))
        return {"service": service_id, "to": to_service, "moved": moved}
