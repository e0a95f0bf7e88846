"""Use cases. One write transaction each; events are published only after it commits.

Callers pass plain values and a ``user`` dict (``username``, ``role``, ``counters``); the
functions raise the named errors of ``qms.domain.errors`` and never return half-done work.
"""

from __future__ import annotations

import json
import logging
import secrets
from contextlib import contextmanager

from .center import Center
from .clock import Clock
from .domain import events as ev
from .domain.announcement import announcement_parts
from .domain.errors import (
    Conflict,
    CounterBusy,
    CounterNotOpen,
    Forbidden,
    NoCurrentTicket,
    NotFound,
    RecallLimitReached,
    ServiceClosed,
    ValidationError,
)
from .domain.model import OPEN_STATUSES, Action, Status, next_status
from .storage import Storage
from .supervision import SupervisorActions
from .views import Views, line_of


class _Twin(Exception):
    """A ticket with this request_id was issued while the request waited for the lock."""


log = logging.getLogger(__name__)
PLACEMENTS = ("front", "end", "original")


class QueueService(SupervisorActions):
    def __init__(self, storage: Storage, center: Center, clock: Clock, publish=None,
                 announce=None):
        """``publish(events)`` pushes committed events; ``announce(parts)`` starts voicing
        a call's phrases and returns the URL its WAV will be served at (or None)."""
        self.storage = storage
        self.center = center
        self.clock = clock
        self.cfg = center.cfg
        self.publish = publish or (lambda events: None)
        self.announce = announce or (lambda parts: None)
        self.views = Views(storage, center, clock)
        self._day = None  # the service day this process last saw settled
        with storage.write() as db:
            for cid in center.counters:
                db.execute("INSERT OR IGNORE INTO counters(id, status) VALUES (?, 'closed')",
                           [cid])
            # A counter removed from the config, or made inactive, frees its seat.
            active = [c.id for c in center.counters.values() if c.active]
            db.execute(f"UPDATE counters SET status = 'closed', officer = NULL, "
                       f"pause_reason = '', current_ticket = NULL WHERE status != 'closed' "
                       f"AND id NOT IN ({','.join('?' * len(active))})", active)
        self.reset_day_if_needed()

    # -- plumbing -----------------------------------------------------------------------

    @contextmanager
    def _transaction(self, *, settle_day=True):
        """Yield (db, events); publish the events once the transaction has committed.
        The first transaction of a new service day first closes the previous one, so no
        ticket of the new day is ever touched by the reset."""
        if settle_day and self.clock.service_day() != self._day:
            self.reset_day_if_needed()
        pending: list = []
        with self.storage.write() as db:
            yield db, pending
            if pending:
                seq = db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
                for event in pending:
                    event.seq = seq
        if pending:
            self.publish(pending)

    def _grouped(self, fn):
        """``fn(db, events)`` as in `_transaction`, but committed together with the calls
        that arrive meanwhile (Storage.grouped: one fsync for the group). Its events are
        published after the COMMIT, in the order of the log."""
        if self.clock.service_day() != self._day:
            self.reset_day_if_needed()

        def job(db):
            out: list = []
            value = fn(db, out)
            if out:
                seq = db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
                for event in out:
                    event.seq = seq
            return value, out

        def publish(result):
            if result[1]:
                self.publish(result[1])
        return self.storage.grouped(job, on_commit=publish)[0]

    def _log(self, db, type_, *, ticket=None, counter=None, officer=None, day=None, **data):
        now = self.clock.now()
        db.execute(
            "INSERT INTO events(at, day, type, ticket_id, number, service, counter, officer, "
            "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [now, day or self.clock.service_day(now), type_, ticket and ticket["id"],
             ticket and ticket["number"], ticket and ticket["service"],
             counter if counter is not None else (ticket and ticket["counter"]),
             officer, json.dumps(data, ensure_ascii=False)])

    def _ticket_event(self, cls, t, **extra):
        """A ticket event; its zone is the counter's once a counter has the ticket."""
        zone = (self.center.counters[t["counter"]].zone if t["counter"]
                else self.center.services[t["service"]].zone)
        return cls(number=t["number"], service=t["service"], zone=zone, counter=t["counter"],
                   status=t["status"], priority=bool(t["priority"]),
                   at=self.clock.iso(self.clock.now()), token=t["token"], **extra)

    def _queue_changed(self, db, service_id):
        """The line's new length, and then each waiting visitor's new place in it."""
        s = self.center.services[service_id]
        rate = self.views.line_rate(db, service_id)
        waiting, estimate = self.views.service_line(db, service_id, rate=rate)
        changed = [ev.QueueChanged(service=service_id, zone=s.zone, waiting=waiting,
                                   estimated_wait_s=estimate)]
        line = self.views.line(db, service_id)  # tickets sent to a counter are not in it
        served = self.views.line_open(db, service_id, None) if line else True
        for ahead, (number, token) in enumerate(line):
            changed.append(ev.PositionChanged(
                number=number, service=service_id, position=ahead + 1,
                estimated_wait_s=self.views.wait_for(ahead, rate), token=token,
                line_open=served))
        return changed

    @staticmethod
    def _ticket(db, ticket_id):
        return dict(db.execute("SELECT * FROM tickets WHERE id = ?", [ticket_id]).fetchone())

    # -- issuing ----------------------------------------------------------------------

    def issue(self, service_id, *, priority=False, kiosk=None, request_id=None,
              lang=None) -> dict:
        """Issue a numbered ticket; returns the visitor's view of it, with its token.

        ``request_id`` is the kiosk's key for one tap: the same key again the same day
        returns that ticket (``repeated`` is True) instead of a second one, so a kiosk may
        retry a request whose answer it never received."""
        service = self.center.services.get(service_id)
        if service is None:
            raise NotFound("unknown_service", service=service_id)
        if request_id is not None:
            again = self._repeated_request(request_id, service_id, priority, kiosk)
            if again is not None:
                return again
        for _ in range(3):
            try:
                return self._grouped(lambda db, out: self._issue_in(
                    db, out, service, priority, kiosk, request_id, lang))
            except _Twin:  # the same request, sent twice at once, was issued meanwhile
                again = self._repeated_request(request_id, service_id, priority, kiosk)
                if again is not None:
                    return again
                # ...in a group whose COMMIT then failed, or the day turned: issue it now
        raise Conflict("request_in_progress")

    def _issue_in(self, db, out, service, priority, kiosk, request_id, lang):
        # The time is read inside the transaction: a day that turned while this call
        # waited for the lock gives a ticket of the new day, never one of the day the
        # reset has already closed.
        now = self.clock.now()
        day = self.clock.service_day(now)
        service_id = service.id
        if request_id is not None and db.execute(
                "SELECT 1 FROM tickets WHERE day = ? AND request_id = ?",
                [day, request_id]).fetchone():
            raise _Twin
        reason = self.views.closed_reason(db, service, day)
        if reason:
            raise ServiceClosed("service_closed_" + reason, service=service_id)
        seq = db.execute(
            "INSERT INTO number_counters(service, day, last) VALUES (?, ?, 1) "
            "ON CONFLICT(service, day) DO UPDATE SET last = last + 1 RETURNING last",
            [service_id, day]).fetchone()[0]
        digits = self.cfg["issuing"]["number_digits"]
        number = f"{service.prefix}{seq:0{digits}d}"
        token = secrets.token_urlsafe(18)
        # A new ticket is last among the tickets of its kind: everyone waiting in its
        # line with the same or a higher priority is ahead of it.
        waiting, ahead = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(priority >= ? AND target_counter IS NULL), 0) "
            "FROM tickets WHERE day = ? AND status = 'waiting' AND service = ?",
            [int(bool(priority)), day, service_id]).fetchone()
        rate = self.views.line_rate(db, service_id)
        position, estimate = ahead + 1, self.views.wait_for(ahead, rate)
        ticket = dict(db.execute(
            "INSERT INTO tickets(token, day, number, seq, number_service, service, "
            "priority, status, queue_key, issued_at, kiosk, estimate_s, request_id, lang) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?, ?) RETURNING *",
            [token, day, number, seq, service_id, service_id, int(bool(priority)), now,
             now, kiosk, estimate, request_id, lang]).fetchone())
        self._log(db, "issued", ticket=ticket, kiosk=kiosk, priority=bool(priority),
                  estimate_s=estimate)
        out.append(self._ticket_event(ev.TicketIssued, ticket, position=position,
                                      estimated_wait_s=estimate))
        if priority:  # it went ahead of ordinary tickets: their places changed
            out.extend(self._queue_changed(db, service_id))
        else:  # nobody's place changed; only the line grew
            out.append(ev.QueueChanged(
                service=service_id, zone=service.zone, waiting=waiting + 1,
                estimated_wait_s=self.views.wait_for(waiting + 1, rate)))
        view = self.views.ticket_view_row(ticket, position, estimate)
        view["token"], view["repeated"] = token, False
        return view

    def _repeated_request(self, request_id, service_id, priority, kiosk):
        """The ticket already issued today for ``request_id``, or None; 409 if the key
        came with another request."""
        day = self.clock.service_day()
        with self.storage.db() as db:
            row = db.execute("SELECT * FROM tickets WHERE day = ? AND request_id = ?",
                             [day, request_id]).fetchone()
            if row is None:
                return None
            t = dict(row)
            if (t["number_service"], bool(t["priority"]), t["kiosk"]) != (
                    service_id, bool(priority), kiosk):
                raise Conflict("request_id_reused")
            while t["status"] == Status.TRANSFERRED:  # the ticket lives on in its successor
                t = dict(db.execute("SELECT * FROM tickets WHERE parent_id = ?",
                                    [t["id"]]).fetchone())
            position, estimate = (self.views.position(db, t) if t["service"] in
                                  self.center.services else (None, None))
        view = self.views.ticket_view_row(t, position, estimate)
        view["token"], view["repeated"] = t["token"], True
        return view

    def cancel(self, token) -> dict:
        with self._transaction() as (db, out):
            t = self._by_token(db, token)
            if t["status"] != Status.WAITING:
                raise Conflict("cannot_cancel", status=t["status"])
            self._move(db, t, Action.CANCEL)
            self._log(db, "cancelled", ticket=t)
            t = self._ticket(db, t["id"])
            out.append(self._ticket_event(ev.TicketCancelled, t))
            out.extend(self._queue_changed(db, t["service"]))
        return self.views.ticket_view_row(t, None, None)

    def _by_token(self, db, token):
        row = db.execute("SELECT * FROM tickets WHERE token = ?", [token]).fetchone()
        if row is None:
            raise NotFound("unknown_ticket")
        return dict(row)

    def rate(self, token, score, comment="") -> dict:
        with self._transaction() as (db, out):
            t = self._by_token(db, token)
            if t["status"] != Status.DONE:
                raise Conflict("rating_before_done", status=t["status"])
            if db.execute("SELECT 1 FROM ratings WHERE ticket_id = ?", [t["id"]]).fetchone():
                raise Conflict("already_rated")
            db["ratings"].insert({"ticket_id": t["id"], "score": score, "comment": comment,
                                  "at": self.clock.now(), "counter": t["counter"],
                                  "officer": t["officer"], "service": t["service"]})
            self._log(db, "rated", ticket=t, officer=t["officer"], score=score)
            out.append(ev.TicketRated(number=t["number"], service=t["service"],
                                      counter=t["counter"], score=score, token=t["token"],
                                      at=self.clock.iso(self.clock.now())))
        return {"number": t["number"], "score": score}

    # -- counters ---------------------------------------------------------------------

    def _counter(self, db, counter_id):
        if counter_id not in self.center.counters:
            raise NotFound("unknown_counter", counter=counter_id)
        return dict(db.execute("SELECT * FROM counters WHERE id = ?", [counter_id]).fetchone())

    def _seated(self, db, counter_id, user):
        """The counter row, if ``user`` sits at it; otherwise the right refusal."""
        c = self._counter(db, counter_id)
        if user["role"] == "officer" and user["counters"] and counter_id not in user["counters"]:
            raise Forbidden("counter_not_allowed", counter=counter_id)
        if c["status"] == "closed":
            raise CounterNotOpen(counter=counter_id)
        if c["officer"] != user["username"]:
            raise Forbidden("not_your_counter", counter=counter_id)
        return c

    def _counter_event(self, c, reason="", previous_officer=None):
        return ev.CounterChanged(counter=c["id"], zone=self.center.counters[c["id"]].zone,
                                 status=c["status"], officer=c["officer"], reason=reason,
                                 previous_officer=previous_officer)

    def open_counter(self, counter_id, user) -> dict:
        """Seat ``user`` at the counter. A supervisor or admin may take over a held seat."""
        with self._transaction() as (db, out):
            c = self._counter(db, counter_id)
            conf = self.center.counters[counter_id]
            if not conf.active:
                raise Conflict("counter_inactive", counter=counter_id)
            if user["role"] == "officer" and user["counters"] \
                    and counter_id not in user["counters"]:
                raise Forbidden("counter_not_allowed", counter=counter_id)
            if c["officer"] == user["username"]:
                return self.views.counter_view(db, counter_id)
            if c["officer"] and user["role"] == "officer":
                raise CounterBusy("counter_held", counter=counter_id, officer=c["officer"])
            elsewhere = db.execute("SELECT id FROM counters WHERE officer = ? AND id != ?",
                                   [user["username"], counter_id]).fetchone()
            if elsewhere:
                raise Conflict("seated_elsewhere", counter=elsewhere[0])
            taken_from = c["officer"]
            status = c["status"] if c["status"] != "closed" else "open"
            db.execute("UPDATE counters SET status = ?, officer = ?, updated_at = ? "
                       "WHERE id = ?", [status, user["username"], self.clock.now(), counter_id])
            if taken_from and c["current_ticket"]:  # the new officer answers for it now
                db.execute("UPDATE tickets SET officer = ? WHERE id = ? AND status IN "
                           "('called', 'serving')", [user["username"], c["current_ticket"]])
            self._log(db, "counter_opened", counter=counter_id, officer=user["username"],
                      taken_from=taken_from)
            c = self._counter(db, counter_id)
            out.append(self._counter_event(c, previous_officer=taken_from))
            out.extend(self._lines_of(db, counter_id))
            return self.views.counter_view(db, counter_id)

    def close_counter(self, counter_id, user, *, force=False) -> dict:
        """Leave the seat. A current ticket blocks it, unless ``force`` puts the ticket back
        at the front of its queue (used at logout so no visitor is lost)."""
        with self._transaction() as (db, out):
            c = self._seated(db, counter_id, user)
            if c["current_ticket"]:
                t = self._ticket(db, c["current_ticket"])
                if t["status"] in OPEN_STATUSES:
                    if not force:
                        raise Conflict("counter_has_ticket", number=t["number"])
                    self._hand_back(db, out, t, user)
            db.execute("UPDATE counters SET status = 'closed', officer = NULL, "
                       "pause_reason = '', current_ticket = NULL, updated_at = ? WHERE id = ?",
                       [self.clock.now(), counter_id])
            self._log(db, "counter_closed", counter=counter_id, officer=user["username"])
            out.append(self._counter_event(self._counter(db, counter_id),
                                           previous_officer=user["username"]))
            out.extend(self._lines_of(db, counter_id))
            return self.views.counter_view(db, counter_id)

    def _hand_back(self, db, out, t, user):
        if t["status"] == Status.CALLED:
            self._move(db, t, Action.REQUEUE)
            self._log(db, "requeued", ticket=t, officer=user["username"])
            out.append(self._ticket_event(ev.TicketRequeued, self._ticket(db, t["id"])))
            out.extend(self._queue_changed(db, t["service"]))
        else:  # a transfer announces the line change itself
            self._transfer_row(db, out, t, user, t["service"], None, "front",
                               reason="counter_closed")

    def pause(self, counter_id, user, reason="") -> dict:
        with self._transaction() as (db, out):
            c = self._seated(db, counter_id, user)
            if c["status"] == "paused":
                raise Conflict("counter_already_paused", counter=counter_id)
            db.execute("UPDATE counters SET status = 'paused', pause_reason = ?, updated_at = ? "
                       "WHERE id = ?", [reason, self.clock.now(), counter_id])
            self._log(db, "counter_paused", counter=counter_id, officer=user["username"],
                      reason=reason)
            out.append(self._counter_event(self._counter(db, counter_id), reason))
            out.extend(self._lines_of(db, counter_id))
            return self.views.counter_view(db, counter_id)

    def resume(self, counter_id, user) -> dict:
        with self._transaction() as (db, out):
            c = self._seated(db, counter_id, user)
            if c["status"] != "paused":
                raise Conflict("counter_not_paused", counter=counter_id)
            db.execute("UPDATE counters SET status = 'open', pause_reason = '', updated_at = ? "
                       "WHERE id = ?", [self.clock.now(), counter_id])
            self._log(db, "counter_resumed", counter=counter_id, officer=user["username"])
            out.append(self._counter_event(self._counter(db, counter_id)))
            out.extend(self._lines_of(db, counter_id))
            return self.views.counter_view(db, counter_id)

    def _lines_of(self, db, counter_id):
        """A counter opened, closed, paused or resumed: the estimates of its lines changed,
        and whether anyone serves them (each waiting visitor hears it)."""
        return [e for s in self.center.counters[counter_id].services
                for e in self._queue_changed(db, s)]

    # -- calling ----------------------------------------------------------------------

    def call_next(self, counter_id, user) -> dict | None:
        """Call the next ticket this counter may serve, or return None when none waits."""
        with self._transaction() as (db, out):
            c = self._seated(db, counter_id, user)
            if c["status"] == "paused":
                raise Conflict("counter_paused", counter=counter_id)
            self._require_free(db, c)
            row = self._pick_next(db, c)
            if row is None:
                return None
            t = self._call(db, out, c, dict(row), user)
            return self.views.ticket_view_row(t, None, None)

    def _require_free(self, db, c):
        if c["current_ticket"]:
            cur = self._ticket(db, c["current_ticket"])
            if cur["status"] in OPEN_STATUSES:
                raise CounterBusy("counter_has_ticket", number=cur["number"])

    def _pick_next(self, db, c):
        """The ticket call_next takes: the first of the counter's calling order (the
        console shows the rest of that order from the same rule)."""
        first = self.views.calling_order(db, c["id"], c["since_priority"], 1)
        return first[0] if first else None

    def _call(self, db, out, c, t, user):
        self._move(db, t, Action.CALL)
        now = self.clock.now()
        db.execute("UPDATE tickets SET counter = ?, officer = ?, called_at = ?, recalls = 0 "
                   "WHERE id = ?", [c["id"], user["username"], now, t["id"]])
        since = 0 if t["priority"] else c["since_priority"] + 1
        db.execute("UPDATE counters SET current_ticket = ?, since_priority = ?, updated_at = ? "
                   "WHERE id = ?", [t["id"], since, now, c["id"]])
        t = self._ticket(db, t["id"])
        self._log(db, "called", ticket=t, officer=user["username"])
        out.append(self._called_event(ev.TicketCalled, t))
        out.extend(self._queue_changed(db, t["service"]))
        return t

    def _called_event(self, cls, t):
        parts = announcement_parts(t["number"], t["counter"], self.cfg["speech"])
        try:  # voicing starts now, so the WAV is likely ready when a display asks for it
            audio_url = self.announce(parts)
        except Exception:  # a broken speaker never stops a call
            log.exception("could not start the announcement of %s", t["number"])
            audio_url = None
        service = self.center.services.get(t["service"])
        return self._ticket_event(
            cls, t, called_at=self.clock.iso(t["called_at"]),
            announcement=". ".join(text for _, text in parts),
            audio_url=audio_url, recalls=t["recalls"],
            service_zone=service.zone if service else "")

    def call_number(self, counter_id, user, number) -> dict:
        """Call a specific waiting number among the tickets this counter may serve."""
        with self._transaction() as (db, out):
            c = self._seated(db, counter_id, user)
            if c["status"] == "paused":
                raise Conflict("counter_paused", counter=counter_id)
            self._require_free(db, c)
            conf = self.center.counters[counter_id]
            marks = ",".join("?" * len(conf.services))
            row = db.execute(
                f"SELECT * FROM tickets WHERE day = ? AND number = ? AND status = 'waiting' "
                f"AND ((target_counter IS NULL AND service IN ({marks})) "
                f"OR target_counter = ?)",
                [self.clock.service_day(), number, *conf.services, counter_id]).fetchone()
            if row is None:
                raise NotFound("number_not_waiting", number=number)
            t = self._call(db, out, c, dict(row), user)
            return self.views.ticket_view_row(t, None, None)

    def _current(self, db, counter_id, user):
        c = self._seated(db, counter_id, user)
        if not c["current_ticket"]:
            raise NoCurrentTicket(counter=counter_id)
        t = self._ticket(db, c["current_ticket"])
        if t["status"] not in OPEN_STATUSES:
            raise NoCurrentTicket(counter=counter_id)
        return c, t

    def _move(self, db, t, action):
        """Apply the transition table; the guard on status makes a lost race a conflict."""
        new = next_status(t["status"], action)
        cur = db.execute("UPDATE tickets SET status = ? WHERE id = ? AND status = ?",
                         [new.value, t["id"], t["status"]])
        if cur.rowcount != 1:
            raise Conflict("ticket_changed")
        t["status"] = new.value

    def recall(self, counter_id, user) -> dict:
        with self._transaction() as (db, out):
            c, t = self._current(db, counter_id, user)
            limit = self.cfg["queue"]["recall_limit"]
            if t["status"] == Status.CALLED and t["recalls"] >= limit:
                raise RecallLimitReached(limit=limit)
            self._move(db, t, Action.RECALL)
            db.execute("UPDATE tickets SET recalls = recalls + 1 WHERE id = ?", [t["id"]])
            t = self._ticket(db, t["id"])
            self._log(db, "recalled", ticket=t, officer=user["username"], recalls=t["recalls"])
            out.append(self._called_event(ev.TicketRecalled, t))
            return self.views.ticket_view_row(t, None, None)

    def _finish(self, counter_id, user, action, event_cls, log_type, column) -> dict:
        with self._transaction() as (db, out):
            c, t = self._current(db, counter_id, user)
            self._move(db, t, action)
            now = self.clock.now()
            db.execute(f"UPDATE tickets SET {column} = ? WHERE id = ?", [now, t["id"]])
            t = self._ticket(db, t["id"])
            extra = {}
            if action == Action.COMPLETE:
                extra["service_s"] = round(now - t["called_at"], 3)
            self._log(db, log_type, ticket=t, officer=user["username"], **extra)
            out.append(self._ticket_event(event_cls, t, **extra))
            if action == Action.COMPLETE:
                out.append(ev.RatingRequested(
                    number=t["number"], service=t["service"], counter=counter_id,
                    officer=t["officer"], token=t["token"], at=self.clock.iso(now)))
            if action != Action.SERVE:
                db.execute("UPDATE counters SET current_ticket = NULL WHERE id = ?",
                           [counter_id])
                out.extend(self._queue_changed(db, t["service"]))
            return self.views.ticket_view_row(t, None, None)

    def serve(self, counter_id, user):
        return self._finish(counter_id, user, Action.SERVE, ev.TicketServing, "serving",
                            "served_at")

    def complete(self, counter_id, user):
        return self._finish(counter_id, user, Action.COMPLETE, ev.TicketCompleted,
                            "completed", "finished_at")

    def no_show(self, counter_id, user):
        return self._finish(counter_id, user, Action.NO_SHOW, ev.TicketNoShow, "no_show",
                            "finished_at")

    def requeue(self, counter_id, user) -> dict:
        """Put the called ticket back in its queue, behind the next ``queue.requeue_behind``
        tickets of its line (the visitor has not come; the next call takes someone else)."""
        with self._transaction() as (db, out):
            c, t = self._current(db, counter_id, user)
            self._move(db, t, Action.REQUEUE)
            self._step_back(db, t, self.cfg["queue"]["requeue_behind"])
            db.execute("UPDATE counters SET current_ticket = NULL WHERE id = ?", [counter_id])
            self._log(db, "requeued", ticket=t, officer=user["username"])
            t = self._ticket(db, t["id"])
            out.append(self._ticket_event(ev.TicketRequeued, t))
            out.extend(self._queue_changed(db, t["service"]))
            return self.views.ticket_view_row(t, None, None)

    def _step_back(self, db, t, behind):
        """Move waiting ticket ``t`` behind the next ``behind`` tickets of its line (same
        service or counter, same priority kind), or behind them all if fewer wait."""
        if behind <= 0:
            return
        line, key_of = line_of(t["service"], t["target_counter"])
        after = [r[0] for r in db.execute(
            f"SELECT queue_key FROM tickets WHERE day = ? AND status = 'waiting' AND {line} "
            f"AND priority = ? AND id != ? AND queue_key >= ? ORDER BY queue_key LIMIT ?",
            [t["day"], key_of, t["priority"], t["id"], t["queue_key"], behind + 1])]
        if not after:
            return
        if len(after) > behind:  # between the last one it lets pass and the next
            key = (after[behind - 1] + after[behind]) / 2
        else:
            key = after[-1] + 0.001
        db.execute("UPDATE tickets SET queue_key = ? WHERE id = ?", [key, t["id"]])

    def transfer(self, counter_id, user, *, service=None, counter=None,
                 placement=None) -> dict:
        """Hand the current ticket on to another service or counter queue."""
        if placement is None:
            placement = self.cfg["queue"]["transfer_position"]
        if placement not in PLACEMENTS:
            raise ValidationError("bad_placement", value=placement)
        if (service is None) == (counter is None):
            raise ValidationError("transfer_target")
        if service is not None:
            if service not in self.center.services:
                raise NotFound("unknown_service", service=service)
            if not self.center.counters_by_service[service]:
                raise Conflict("service_closed_no_counter", service=service)
        if counter is not None:
            if counter not in self.center.counters:
                raise NotFound("unknown_counter", counter=counter)
            if not self.center.counters[counter].active:
                raise Conflict("counter_inactive", counter=counter)
            if counter == counter_id:
                raise Conflict("transfer_to_self")
        with self._transaction() as (db, out):
            c, t = self._current(db, counter_id, user)
            new = self._transfer_row(db, out, t, user, service, counter, placement)
            db.execute("UPDATE counters SET current_ticket = NULL WHERE id = ?", [counter_id])
            position, estimate = self.views.position(db, new)
            return self.views.ticket_view_row(new, position, estimate)

    def _transfer_row(self, db, out, t, user, service, counter, placement, reason=None):
        """Close ``t`` as transferred and open its successor: same number, token and
        language. ``reason`` marks a hand-back that the officer did not choose."""
        target_service = service or self._service_for_counter(t["service"], counter)
        self._move(db, t, Action.TRANSFER)
        now = self.clock.now()
        db.execute("UPDATE tickets SET token = NULL, finished_at = ? WHERE id = ?",
                   [now, t["id"]])
        day = t["day"]
        if placement == "front":
            line, key_of = line_of(target_service, counter)
            first = db.execute(
                f"SELECT MIN(queue_key) FROM tickets WHERE day = ? AND status = 'waiting' AND "
                f"{line}", [day, key_of]).fetchone()[0]
            key = min(first, t["issued_at"]) - 1 if first is not None else t["issued_at"] - 1
        elif placement == "end":
            key = now
        else:
            key = t["issued_at"]
        cur = db.execute(
            "INSERT INTO tickets(token, day, number, seq, number_service, service, "
            "target_counter, priority, status, queue_key, issued_at, parent_id, kiosk, lang) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?)",
            [t["token"], day, t["number"], t["seq"], t["number_service"], target_service,
             counter, t["priority"], key, t["issued_at"], t["id"], t["kiosk"], t["lang"]])
        new = self._ticket(db, cur.lastrowid)
        extra = {"reason": reason} if reason else {}
        self._log(db, "transferred", ticket=t, officer=user["username"],
                  to_service=target_service, to_counter=counter, placement=placement,
                  new_ticket=new["id"], **extra)
        position, _ = self.views.position(db, new)
        out.append(self._ticket_event(
            ev.TicketTransferred, {**t, "token": new["token"]}, to_service=target_service,
            to_counter=counter, placement=placement, position=position))
        out.extend(self._queue_changed(db, t["service"]))
        if target_service != t["service"]:
            out.extend(self._queue_changed(db, target_service))
        return new

    def _service_for_counter(self, service, counter):
        """A ticket sent to a counter keeps its service when that counter serves it."""
        services = self.center.counters[counter].services
        return service if service in services else services[0]

    # -- the service day ----------------------------------------------------------------

    def reset_day_if_needed(self) -> bool:
        """Close every ticket still open from an earlier service day and free the seats of
        that day; numbering restarts by itself because numbers are counted per day.
        Returns True when it reset. A clock that steps back never resets."""
        today = self.clock.service_day()
        with self._transaction(settle_day=False) as (db, out):
            row = db.execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
            if row and row[0] >= today:
                self._day = today
                return False
            stale = [dict(r) for r in db.execute(
                "SELECT * FROM tickets WHERE day < ? AND status IN ('waiting', 'called', "
                "'serving')", [today])]
            for t in stale:
                self._move(db, t, Action.CLOSE)
                self._log(db, "closed", ticket=t, day=t["day"], reason="daily_reset")
            seats = [dict(r) for r in db.execute(
                "SELECT c.* FROM counters c LEFT JOIN tickets t ON t.id = c.current_ticket "
                "WHERE c.status != 'closed' AND (t.id IS NULL OR t.day < ?)", [today])]
            for c in seats:
                db.execute("UPDATE counters SET status = 'closed', officer = NULL, "
                           "pause_reason = '', current_ticket = NULL, since_priority = 1000000 "
                           "WHERE id = ?", [c["id"]])
                self._log(db, "counter_closed", counter=c["id"], officer=c["officer"],
                          day=row[0] if row else None, reason="daily_reset")
                out.append(self._counter_event(self._counter(db, c["id"]),
                                               previous_officer=c["officer"]))
            db.execute("UPDATE counters SET current_ticket = NULL WHERE current_ticket IN "
                       "(SELECT id FROM tickets WHERE status = 'closed')")
            db.execute("INSERT INTO meta(key, value) VALUES ('day', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [today])
            if row is not None:
                self._log(db, "day_reset", closed=len(stale))
                out.append(ev.DayReset(day=today, closed=len(stale)))
        self._day = today
        return True
