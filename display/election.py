"""Who speaks in each zone: the membership behind display/events.py.

Each zone ("" = the whole center) has an ordered list of displays that asked to speak; the
one whose name is the zone's ``speaker`` speaks, else the one that came first. Both
registries answer the same three questions, and say which display must be told that it
now speaks or no longer speaks:

- ``join(zone, sid, name, wanted)`` -> (speaking, silenced sid or None)
- ``leave(sid)`` -> [(zone, sid that now speaks)]
- ``sweep()`` -> [(zone, sid that now speaks)] after members of dead processes are dropped

`LocalElection` keeps the lists in memory: one server process, or several without a
message queue (whose displays only hear their own process anyway). `SharedElection` keeps
them in the shared SQLite database, so that with several processes behind Redis a zone
still has exactly one voice whichever process each display reached. Every process marks
its members alive every HEARTBEAT_S; members of a process silent for STALE_S (killed,
frozen) are dropped by the next sweep of any process, and the next display takes over.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time

HEARTBEAT_S = 2.0
STALE_S = 8.0


def _pick(members, wanted):
    """members: [(sid, name)] in arrival order."""
    named = [sid for sid, name in members if wanted and name == wanted]
    return (named or [sid for sid, _ in members] or [None])[0]


class LocalElection:
    def __init__(self):
        self._lock = threading.Lock()
        self._zones: dict[str, list[tuple[str, str]]] = {}
        self._wanted: dict[str, str] = {}

    def join(self, zone, sid, name, wanted):
        with self._lock:
            self._wanted[zone] = wanted
            before = _pick(self._zones.get(zone, []), wanted)
            members = [m for m in self._zones.get(zone, []) if m[0] != sid]
            self._zones[zone] = members + [(sid, name)]
            now = _pick(self._zones[zone], wanted)
        return now == sid, (before if before and before != now else None)

    def leave(self, sid):
        handover = []
        with self._lock:
            for zone, members in self._zones.items():
                if any(s == sid for s, _ in members):
                    wanted = self._wanted.get(zone, "")
                    before = _pick(members, wanted)
                    self._zones[zone] = [m for m in members if m[0] != sid]
                    now = _pick(self._zones[zone], wanted)
                    if now and now != before:
                        handover.append((zone, now))
        return handover

    def sweep(self):
        return []


class SharedElection:
    """The same lists in the ``speakers`` table of the shared database."""

    def __init__(self, storage):
        self.storage = storage
        self.process = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._mine: set[str] = set()  # sids of this process in the table: a phone's
        #                               disconnect costs no write

    def _members(self, db, zone):
        return [(r[0], r[1]) for r in db.execute(
            "SELECT sid, name FROM speakers WHERE zone = ? ORDER BY joined, rowid", [zone])]

    def join(self, zone, sid, name, wanted):
        now_t = time.time()
        self._mine.add(sid)
        with self.storage.write() as db:
            before = _pick(self._members(db, zone), wanted)
            db.execute("DELETE FROM speakers WHERE sid = ?", [sid])
            db.execute("INSERT INTO speakers(sid, zone, name, wanted, process, joined, seen) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [sid, zone, name, wanted, self.process, now_t, now_t])
            now = _pick(self._members(db, zone), wanted)
        return now == sid, (before if before and before != now else None)

    def leave(self, sid):
        if sid not in self._mine:
            return []
        self._mine.discard(sid)
        with self.storage.write() as db:
            zones = [r[0] for r in db.execute("SELECT DISTINCT zone FROM speakers WHERE sid = ?",
                                              [sid])]
            return self._drop(db, "sid = ?", [sid], zones)

    def sweep(self):
        """Mark this process's members alive, then drop those of silent processes."""
        now_t = time.time()
        with self.storage.write() as db:
            db.execute("UPDATE speakers SET seen = ? WHERE process = ?", [now_t, self.process])
            zones = [r[0] for r in db.execute(
                "SELECT DISTINCT zone FROM speakers WHERE seen < ?", [now_t - STALE_S])]
            return self._drop(db, "seen < ?", [now_t - STALE_S], zones)

    def _drop(self, db, where, params, zones):
        wanted = {z: (db.execute("SELECT wanted FROM speakers WHERE zone = ? LIMIT 1",
                                 [z]).fetchone() or [""])[0] for z in zones}
        before = {z: _pick(self._members(db, z), wanted[z]) for z in zones}
        db.execute(f"DELETE FROM speakers WHERE {where}", params)
        handover = []
        for zone in zones:
            now = _pick(self._members(db, zone), wanted[zone])
            if now and now != before[zone]:
                handover.append((zone, now))
        return handover
