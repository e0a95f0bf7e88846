"""Read models: what screens and the API show. Reads only; no transaction of its own.

Estimated wait (documented in docs/api.md): for a ticket with ``ahead`` people before it
in its service's line, ``estimate = ahead × mean_service_time ÷ counters``, where
``mean_service_time`` is the mean call-to-completion time of the service's last
``queue.estimate_window`` completed tickets (or the configured expected time before any),
and ``counters`` is the number of open counters that serve the service (or, when none is
open yet, the number of active counters configured for it).
"""

from __future__ import annotations

from .center import Center
from .clock import Clock
from .domain.announcement import announcement
from .storage import Storage


def line_of(service: str, target_counter: int | None) -> tuple[str, object]:
    """(SQL condition, its argument) for the waiting line a ticket is in: the counter it
    was sent to, else its service's common line."""
    if target_counter is not None:
        return "target_counter = ?", target_counter
    return "target_counter IS NULL AND service = ?", service


class Views:
    def __init__(self, storage: Storage, center: Center, clock: Clock):
        self.storage = storage
        self.center = center
        self.clock = clock
        self.cfg = center.cfg

    def seq(self) -> int:
        """The event-log position: snapshots carry it, as events do."""
        with self.storage.db() as db:
            return db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    # -- estimates ----------------------------------------------------------------------

    def mean_service_s(self, db, service_id) -> float:
        rows = db.execute(
            "SELECT finished_at - called_at FROM tickets WHERE service = ? AND status = 'done' "
            "ORDER BY finished_at DESC LIMIT ?",
            [service_id, self.cfg["queue"]["estimate_window"]]).fetchall()
        if not rows:
            return self.center.services[service_id].expected_service_s
        return sum(r[0] for r in rows) / len(rows)

    def _open_counters(self, db) -> set[int]:
        return {r[0] for r in db.execute("SELECT id FROM counters WHERE status = 'open'")}

    def line_open(self, db, service_id, target_counter) -> bool:
        """Does an open counter serve this line (the service, or the one counter)?"""
        open_ids = self._open_counters(db)
        if target_counter is not None:
            return target_counter in open_ids
        return any(c in open_ids for c in self.center.counters_by_service.get(service_id, ()))

    def counters_for(self, db, service_id, open_ids=None) -> int:
        configured = self.center.counters_by_service[service_id]
        open_ids = self._open_counters(db) if open_ids is None else open_ids
        return sum(1 for c in configured if c in open_ids) or len(configured)

    def line_rate(self, db, service_id, open_ids=None):
        """(mean service time in s, counters serving) of a service's line."""
        return (self.mean_service_s(db, service_id),
                self.counters_for(db, service_id, open_ids))

    @staticmethod
    def wait_for(ahead, rate) -> int | None:
        mean_s, counters = rate
        return round(ahead * mean_s / counters) if counters else None

    def line(self, db, service_id) -> list[tuple[str, str]]:
        """(number, token) of the waiting tickets of a service's line, first first."""
        return [tuple(r) for r in db.execute(
            "SELECT number, token FROM tickets WHERE day = ? AND status = 'waiting' AND "
            "service = ? AND target_counter IS NULL ORDER BY priority DESC, queue_key, id",
            [self.clock.service_day(), service_id])]

    def service_line(self, db, service_id, open_ids=None, rate=None):
        """(waiting count, estimated wait of a ticket taken now) for a service."""
        waiting = db.execute(
            "SELECT COUNT(*) FROM tickets WHERE day = ? AND service = ? AND status = 'waiting'",
            [self.clock.service_day(), service_id]).fetchone()[0]
        return waiting, self.wait_for(waiting, rate or self.line_rate(db, service_id, open_ids))

    def position(self, db, t):
        """(position in line, estimated wait) of a waiting ticket: priority tickets and
        earlier queue keys of the same line are ahead of it."""
        if t["status"] != "waiting":
            return None, None
        same_line, line_arg = line_of(t["service"], t["target_counter"])
        ahead = db.execute(
            f"SELECT COUNT(*) FROM tickets WHERE day = ? AND status = 'waiting' AND "
            f"{same_line} AND (priority > ? OR (priority = ? AND (queue_key < ? OR "
            f"(queue_key = ? AND id < ?))))",
            [t["day"], line_arg, t["priority"], t["priority"], t["queue_key"],
             t["queue_key"], t["id"]]).fetchone()[0]
        return ahead + 1, self.wait_for(ahead, self.line_rate(db, t["service"]))

    def closed_reason(self, db, service, day) -> str | None:
        """Why a service takes no ticket now: no_counter, paused (by a supervisor),
        outside_hours, daily_limit."""
        if not self.center.counters_by_service[service.id]:
            return "no_counter"
        if db.execute("SELECT 1 FROM service_issuing WHERE service = ?",
                      [service.id]).fetchone():
            return "paused"
        hours = self.cfg["hours"]
        if hours["enforce"] and not self.clock.within(hours["issuing"], hours["days"]):
            return "outside_hours"
        if service.daily_limit:
            row = db.execute("SELECT last FROM number_counters WHERE service = ? AND day = ?",
                             [service.id, day]).fetchone()
            if row and row[0] >= service.daily_limit:
                return "daily_limit"
        return None

    # -- tickets ------------------------------------------------------------------------

    def ticket_view_row(self, t, position, estimate) -> dict:
        # A service or counter removed from the config since keeps its id but has no zone.
        service = self.center.services.get(t["service"])
        counter = t["counter"] if t["status"] in ("called", "serving", "done") else None
        place = self.center.counters.get(counter) if counter else service
        return {
            "number": t["number"], "service": t["service"], "status": t["status"],
            "priority": bool(t["priority"]), "position": position,
            "estimated_wait_s": estimate, "counter": counter,
            "zone": place.zone if place else None,
            "target_counter": t["target_counter"], "recalls": t["recalls"],
            "issued_at": self.clock.iso(t["issued_at"]),
            "called_at": self.clock.iso(t["called_at"]),
        }

    def ticket_by_token(self, token) -> dict | None:
        with self.storage.db() as db:
            row = db.execute("SELECT * FROM tickets WHERE token = ?", [token]).fetchone()
            if row is None:
                return None
            t = dict(row)
            if t["service"] not in self.center.services:
                view = self.ticket_view_row(t, None, None)
            else:
                view = self.ticket_view_row(t, *self.position(db, t))
            view["rated"] = t["status"] == "done" and db.execute(
                "SELECT 1 FROM ratings WHERE ticket_id = ?", [t["id"]]).fetchone() is not None
            view["line_open"] = t["status"] != "waiting" or self.line_open(
                db, t["service"], t["target_counter"])
            # Moved to another line (not handed back to its own when a counter closed).
            parent = t["parent_id"] and db.execute(
                "SELECT service FROM tickets WHERE id = ?", [t["parent_id"]]).fetchone()
            view["transferred"] = bool(parent) and (
                parent[0] != t["service"] or t["target_counter"] is not None)
            return view

    # -- services, counters, displays -------------------------------------------------

    def services(self, lang="vi") -> list[dict]:
        day = self.clock.service_day()
        out = []
        with self.storage.db() as db:
            open_ids = self._open_counters(db)
            for s in self.center.services.values():
                waiting, estimate = self.service_line(db, s.id, open_ids)
                reason = self.closed_reason(db, s, day)
                out.append({
                    "id": s.id, "prefix": s.prefix, "name": s.name[lang],
                    "department": s.department, "department_name": s.department_name[lang],
                    "zone": s.zone, "counters": self.center.counters_by_service[s.id],
                    "waiting": waiting, "estimated_wait_s": estimate,
                    "open": reason is None, "closed_reason": reason,
                })
        return out

    def counter_view(self, db, counter_id, lang="vi") -> dict:
        conf = self.center.counters[counter_id]
        row = db.execute("SELECT c.*, t.number, t.status AS ticket_status, t.service AS "
                         "ticket_service FROM counters c LEFT JOIN tickets t "
                         "ON t.id = c.current_ticket WHERE c.id = ?", [counter_id]).fetchone()
        current = None
        if row["current_ticket"] and row["ticket_status"] in ("called", "serving"):
            current = {"number": row["number"], "status": row["ticket_status"],
                       "service": row["ticket_service"]}
        return {"id": conf.id, "name": conf.name[lang], "zone": conf.zone,
                "services": list(conf.services), "priority": conf.priority,
                "active": conf.active, "status": row["status"], "officer": row["officer"],
                "pause_reason": row["pause_reason"], "current": current}

    def counter_display(self, counter_id) -> dict:
        """What the small screen above a counter shows: its names, status and the number
        it calls or serves now (no officer name: the screen faces the public)."""
        with self.storage.db() as db:
            view = self.counter_view(db, counter_id)
        conf = self.center.counters[counter_id]
        current = view["current"]
        return {"id": counter_id, "name": conf.name, "zone": conf.zone,
                "status": view["status"], "active": conf.active,
                "number": current and current["number"],
                "ticket_status": current and current["status"]}

    def rating_device(self, counter_id, question_s) -> dict:
        """What the rating device beside a counter shows: the counter (names, status,
        officer) and, if that counter completed a ticket less than ``question_s`` ago that
        nobody has rated yet, the question about it (``pending``, with the token it rates
        with)."""
        since = self.clock.now() - question_s
        with self.storage.db() as db:
            view = self.counter_view(db, counter_id)
            row = db.execute(
                "SELECT t.number, t.service, t.officer, t.token, t.finished_at FROM tickets t "
                "LEFT JOIN ratings r ON r.ticket_id = t.id WHERE t.counter = ? AND "
                "t.status = 'done' AND t.finished_at >= ? AND r.ticket_id IS NULL "
                "ORDER BY t.finished_at DESC LIMIT 1", [counter_id, since]).fetchone()
        conf = self.center.counters[counter_id]
        pending = row and {"number": row["number"], "service": row["service"],
                           "counter": counter_id, "officer": row["officer"],
                           "token": row["token"], "at": self.clock.iso(row["finished_at"])}
        return {"counter": {"id": counter_id, "name": conf.name, "zone": conf.zone,
                            "status": view["status"], "officer": view["officer"]},
                "pending": pending or None}

    def ticket_by_number(self, number) -> dict | None:
        """Today's ticket with this number (its row, token included), if any."""
        with self.storage.db() as db:
            row = db.execute("SELECT * FROM tickets WHERE day = ? AND number = ? "
                             "ORDER BY id DESC LIMIT 1",
                             [self.clock.service_day(), number]).fetchone()
            return dict(row) if row else None

    def counters(self, lang="vi") -> list[dict]:
        with self.storage.db() as db:
            return [self.counter_view(db, cid, lang) for cid in self.center.counters]

    def counter(self, counter_id, lang="vi") -> dict:
        with self.storage.db() as db:
            return self.counter_view(db, counter_id, lang)

    def waiting_counts(self, db, zone=None) -> list[dict]:
        day = self.clock.service_day()
        counts = dict(db.execute("SELECT service, COUNT(*) FROM tickets WHERE day = ? AND "
                                 "status = 'waiting' GROUP BY service", [day]).fetchall())
        return [{"service": s.id, "prefix": s.prefix, "zone": s.zone,
                 "waiting": counts.get(s.id, 0)}
                for s in self.center.services.values() if zone is None or s.zone == zone]

    def waiting_counts_all(self) -> list[dict]:
        with self.storage.db() as db:
            return self.waiting_counts(db)

    def display(self, zone=None) -> dict:
        """Recent calls (newest first, each number once: a recall moves it up, with the
        words said) and waiting counts, for one zone or the center. A zone's calls are
        those of its counters and those of its services (a visitor waits in the zone of
        their service even when a counter elsewhere, e.g. a priority one, calls them)."""
        limit = self.cfg["display"]["recent_calls"]
        counters = [c.id for c in self.center.counters.values() if zone in (None, c.zone)]
        services = [s.id for s in self.center.services.values() if zone in (None, s.zone)]
        with self.storage.db() as db:
            rows = db.execute(
                f"SELECT number, counter, service, at FROM events WHERE day = ? AND type IN "
                f"('called', 'recalled') AND (counter IN ({','.join('?' * len(counters))}) "
                f"OR service IN ({','.join('?' * len(services))})) ORDER BY id DESC LIMIT ?",
                [self.clock.service_day(), *counters, *services, limit * 4]).fetchall()
            newest = {}
            for r in rows:  # a number recalled up to recall_limit times is listed once
                newest.setdefault(r["number"], r)
            calls = [{"number": r["number"], "counter": r["counter"],
                      "zone": self.center.counters[r["counter"]].zone,
                      "service": r["service"], "called_at": self.clock.iso(r["at"]),
                      "announcement": announcement(r["number"], r["counter"],
                                                   self.cfg["speech"])}
                     for r in list(newest.values())[:limit]]
            return {"zone": zone, "calls": calls, "waiting": self.waiting_counts(db, zone)}

    # -- the officer's console ----------------------------------------------------------

    def calling_order(self, db, counter_id, since_priority, limit=1) -> list:
        """The waiting tickets (rows) the counter's next ``limit`` calls would take, in order,
        if nothing else changed; call_next takes the first. The rule is docs/api.md "Who is
        called next": priority or ordinary by the counter's ratio, then tickets sent to the
        counter, then its services by rank (or weighted wait), then the queue key."""
        conf = self.center.counters[counter_id]
        services = list(conf.services)
        marks = ",".join("?" * len(services))
        where = (f"FROM tickets WHERE day = ? AND status = 'waiting' AND priority = ? AND "
                 f"((target_counter IS NULL AND service IN ({marks})) OR target_counter = ?)")
        if conf.weights:
            weight = " ".join("WHEN ? THEN ?" for _ in services)
            order = f"(queue_key - ?) * (CASE service {weight} ELSE 1 END)"  # -wait x weight
            order_args = [self.clock.now()]
            for s in services:
                order_args += [s, conf.weights[s]]
        else:
            rank = " ".join(f"WHEN ? THEN {i}" for i in range(len(services)))
            order = f"CASE service {rank} ELSE {len(services)} END"
            order_args = services
        # Within one kind the order never changes as tickets leave it, so the first
        # ``limit`` of each kind, merged by the ratio, are the next ``limit`` calls.
        day = self.clock.service_day()
        priority, ordinary = (list(db.execute(
            f"SELECT * {where} ORDER BY target_counter IS NULL, "
            f"CASE WHEN target_counter IS NULL THEN {order} END, queue_key, id LIMIT ?",
            [day, kind, *services, counter_id, *order_args, limit])) for kind in (1, 0))
        ratio = self.cfg["queue"]["priority_ratio"]
        picked, since = [], since_priority
        while len(picked) < limit and (priority or ordinary):
            take_priority = bool(priority) and (
                not ordinary or conf.priority or since >= ratio - 1)
            picked.append((priority if take_priority else ordinary).pop(0))
            since = 0 if take_priority else since + 1
        return picked

    def console(self, counter_id, username, lang="vi", preview=8) -> dict:
        """Everything an officer's console shows, read in one snapshot of the database: the
        counter, its ticket in hand, the lines it calls from, its next calls and the
        officer's own day."""
        with self.storage.db() as db:
            db.conn.execute("BEGIN")  # one read snapshot (WAL); rolled back on the way out
            now = self.clock.now()
            day = self.clock.service_day(now)
            seq = db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
            counter = self.counter_view(db, counter_id, lang)
            row = db.execute("SELECT since_priority, current_ticket FROM counters WHERE id = ?",
                             [counter_id]).fetchone()
            ticket = None
            if row["current_ticket"]:
                t = dict(db.execute("SELECT * FROM tickets WHERE id = ?",
                                    [row["current_ticket"]]).fetchone())
                if t["status"] in ("called", "serving"):
                    ticket = self._console_ticket(t, now)
            return {
                "seq": seq, "counter": counter, "seated": counter["officer"] == username,
                "ticket": ticket, "recall_limit": self.cfg["queue"]["recall_limit"],
                "waiting": self._console_lines(db, counter_id, day, now, lang),
                "next": [{"number": r["number"], "service": r["service"],
                          "priority": bool(r["priority"]),
                          "sent_here": r["target_counter"] == counter_id,
                          "waited_s": round(now - r["issued_at"])}
                         for r in self.calling_order(db, counter_id, row["since_priority"],
                                                     preview)],
                "stats": self.officer_day(db, username, day),
            }

    def _console_ticket(self, t, now) -> dict:
        service = self.center.services.get(t["service"])
        began = t["served_at"] if t["status"] == "serving" else t["called_at"]
        return {"number": t["number"], "service": t["service"],
                "prefix": service.prefix if service else None,
                "priority": bool(t["priority"]), "status": t["status"],
                "recalls": t["recalls"], "issued_at": self.clock.iso(t["issued_at"]),
                "called_at": self.clock.iso(t["called_at"]),
                "served_at": self.clock.iso(t["served_at"]),
                "elapsed_s": round(max(0.0, now - began), 1)}

    def _console_lines(self, db, counter_id, day, now, lang) -> list[dict]:
        """Per service of the counter (in its calling order), then for the tickets sent to
        the counter itself: how many wait, how many of them are priority, the longest
        wait."""
        services = list(self.center.counters[counter_id].services)
        marks = ",".join("?" * len(services))
        rows = {r[0]: r for r in db.execute(
            f"SELECT service, COUNT(*), SUM(priority), MIN(issued_at) FROM tickets "
            f"WHERE day = ? AND status = 'waiting' AND target_counter IS NULL AND service IN "
            f"({marks}) GROUP BY service", [day, *services])}
        here = db.execute("SELECT NULL, COUNT(*), SUM(priority), MIN(issued_at) FROM tickets "
                          "WHERE day = ? AND status = 'waiting' AND target_counter = ?",
                          [day, counter_id]).fetchone()
        lines = []
        for sid in [*services, None]:
            r = rows.get(sid) if sid else here
            s = self.center.services.get(sid) if sid else None
            lines.append({"service": sid, "prefix": s and s.prefix,
                          "name": s and s.name[lang], "waiting": r[1] if r else 0,
                          "priority": (r[2] or 0) if r else 0,
                          "longest_wait_s": round(now - r[3]) if r and r[3] else None})
        return lines

    def officer_day(self, db, username, day) -> dict:
        """An officer's day from the event log: tickets called, served (completed), marked
        no-show and transferred, and the mean time from call to completion. A visitor
        handed back to the queue because the counter closed is not a transfer they made."""
        counts = {r[0]: (r[1], r[2]) for r in db.execute(
            "SELECT type, COUNT(*), AVG(json_extract(data, '$.service_s')) FROM events "
            "WHERE day = ? AND officer = ? AND type IN ('called', 'completed', 'no_show', "
            "'transferred') AND NOT (type = 'transferred' AND "
            "json_extract(data, '$.reason') IS 'counter_closed') GROUP BY type",
            [day, username])}
        served, mean = counts.get("completed", (0, None))
        return {"called": counts.get("called", (0,))[0], "served": served,
                "no_show": counts.get("no_show", (0,))[0],
                "transferred": counts.get("transferred", (0,))[0],
                "service_avg_s": round(mean) if mean is not None else None}
