"""What the supervisors' board reads: each service's line right now (people waiting, the
longest current wait and its level against the service's threshold, the average wait of the
last hour, served today), and each counter (status, pause reason, officer, current ticket).

A ticket's wait here is from when it entered its line (issue, or the moment it was
transferred into this line) to its first call, as in the reports (docs/reports.md); the
reports also count the wait of a ticket moved away before any call, which the board, being
about lines now, leaves out.
"""

from __future__ import annotations

from .center import Center
from .clock import Clock
from .storage import Storage

HOUR_S = 3600
# When a ticket entered its present line: its transfer (the closed half's end) or its issue.
ENTERED = "COALESCE(p.finished_at, t.issued_at)"


def level(wait_s: float | None, sla_s: float, amber_at: float) -> str:
    """``ok``, ``amber`` (at ``amber_at`` of the threshold) or ``red`` (at the threshold)."""
    if not wait_s or sla_s <= 0:
        return "ok"
    if wait_s >= sla_s:
        return "red"
    return "amber" if wait_s >= sla_s * amber_at else "ok"


class BoardViews:
    def __init__(self, storage: Storage, center: Center, clock: Clock):
        self.storage, self.center, self.clock = storage, center, clock
        self.amber_at = center.cfg["dashboard"]["amber_at"]

    def oldest_waiting(self, db, day) -> dict[str, float]:
        """service -> when its longest-waiting ticket entered the line (epoch seconds)."""
        return dict(db.execute(
            f"SELECT t.service, MIN({ENTERED}) FROM tickets t LEFT JOIN tickets p "
            f"ON p.id = t.parent_id WHERE t.day = ? AND t.status = 'waiting' "
            f"GROUP BY t.service", [day]).fetchall())

    def services(self, db, now) -> list[dict]:
        day = self.clock.service_day(now)
        oldest = self.oldest_waiting(db, day)
        waiting = dict(db.execute(
            "SELECT service, COUNT(*) FROM tickets WHERE day = ? AND status = 'waiting' "
            "GROUP BY service", [day]).fetchall())
        served = dict(db.execute(
            "SELECT service, COUNT(*) FROM tickets WHERE day = ? AND status = 'done' "
            "GROUP BY service", [day]).fetchall())
        # Waits that ended in the last hour: the first call of each ticket in its line (from
        # the event log: a ticket called again after a put-back keeps its first call).
        hour = {s: (n, total) for s, n, total in db.execute(
            f"SELECT t.service, COUNT(*), SUM(f.first - {ENTERED}) FROM (SELECT ticket_id, "
            f"MIN(at) AS first FROM events WHERE day = ? AND type = 'called' "
            f"GROUP BY ticket_id) f JOIN tickets t ON t.id = f.ticket_id LEFT JOIN tickets p "
            f"ON p.id = t.parent_id WHERE f.first >= ? GROUP BY t.service",
            [day, now - HOUR_S]).fetchall()}
        paused = {r[0]: {"reason": r[1], "by": r[2]} for r in db.execute(
            "SELECT service, reason, by FROM service_issuing").fetchall()}
        open_ids = {r[0] for r in db.execute(
            "SELECT id FROM counters WHERE status = 'open'").fetchall()}
        out = []
        for s in self.center.services.values():
            since = oldest.get(s.id)
            longest = round(now - since) if since is not None else None
            calls, total = hour.get(s.id, (0, 0))
            out.append({
                "id": s.id, "prefix": s.prefix, "name": s.name, "department": s.department,
                "zone": s.zone, "sla_s": s.sla_s, "waiting": waiting.get(s.id, 0),
                "longest_wait_s": longest,
                "longest_since": self.clock.iso(since) if since is not None else None,
                "level": level(longest, s.sla_s, self.amber_at),
                "calls_last_hour": calls,
                "wait_avg_hour_s": round(total / calls) if calls else None,
                "served_today": served.get(s.id, 0),
                "counters": len(self.center.counters_by_service[s.id]),
                "counters_open": sum(c in open_ids
                                     for c in self.center.counters_by_service[s.id]),
                "issuing_paused": s.id in paused,
                "paused_reason": paused.get(s.id, {}).get("reason", ""),
            })
        return out

    def counters(self, db, now) -> list[dict]:
        rows = {r["id"]: r for r in db.execute(
            "SELECT c.id, c.status, c.officer, c.pause_reason, c.updated_at, t.number, "
            "t.status AS ticket_status, t.service AS ticket_service, t.called_at "
            "FROM counters c LEFT JOIN tickets t ON t.id = c.current_ticket").fetchall()}
        out = []
        for c in self.center.counters.values():
            r = rows.get(c.id)
            if r is None or not c.active:
                continue
            current = None
            if r["number"] and r["ticket_status"] in ("called", "serving"):
                current = {"number": r["number"], "status": r["ticket_status"],
                           "service": r["ticket_service"],
                           "since": self.clock.iso(r["called_at"])}
            out.append({"id": c.id, "name": c.name, "zone": c.zone, "priority": c.priority,
                        "services": list(c.services), "status": r["status"],
                        "officer": r["officer"], "pause_reason": r["pause_reason"],
                        "since": self.clock.iso(r["updated_at"]), "current": current})
        return out

    def board(self) -> dict:
        now = self.clock.now()
        with self.storage.db() as db:
            return {"now": self.clock.iso(now), "services": self.services(db, now),
                    "counters": self.counters(db, now)}
