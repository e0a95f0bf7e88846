"""Who speaks in each zone: the membership behind display/events.py.

Each zone ("" = the whole center) has an ordered list of displays that asked to speak; the
one whose name is the zone's ``speaker`` speaks, else the one that came first. Both
registries answer the same three questions, and say which display must be told that it
now speaks or no longer speaks:

- ``join(zone, sid, name, wanted)`` -> (speaking, silenced sid or None)
- ``leave(sid)`` -> [(zone, sid that now speaks)]
- ``sweep()`` -> [(zone, sid, speaking)]: corrections for this process's own displays

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
    """The same lists in the ``speakers`` table of the shared database.

    Each process keeps its own members in memory too, and every HEARTBEAT_S writes them
    again (so a member dropped while this process was frozen comes back), deletes its rows
    whose socket is gone (a join that lost a race with its disconnect), drops every row of
    a process silent for STALE_S, and tells each of its own displays whether it speaks
    whenever that differs from what it was last told. A lost message or a race is thus
    mended within a heartbeat."""

    def __init__(self, storage):
        self.storage = storage
        self.process = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lock = threading.Lock()
        self._local: dict[tuple[str, str], tuple[str, str, float]] = {}  # (sid, zone) ->
        #                                                    (name, wanted, joined)
        self._told: dict[tuple[str, str], bool] = {}  # what each of our displays was told

    def _members(self, db, zone):
        return [(r[0], r[1]) for r in db.execute(
            "SELECT sid, name FROM speakers WHERE zone = ? ORDER BY joined, rowid", [zone])]

    def _wanted(self, db, zone):
        row = db.execute("SELECT wanted FROM speakers WHERE zone = ? LIMIT 1", [zone]).fetchone()
        return row[0] if row else ""

    def _write(self, db, sid, zone, name, wanted, joined, now_t):
        db.execute("INSERT INTO speakers(sid, zone, name, wanted, process, joined, seen) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sid, zone) DO UPDATE SET "
                   "seen = excluded.seen, process = excluded.process",
                   [sid, zone, name, wanted, self.process, joined, now_t])

    def join(self, zone, sid, name, wanted):
        now_t = time.time()
        with self._lock:
            self._local[sid, zone] = (name, wanted, now_t)
        with self.storage.write() as db:
            before = _pick(self._members(db, zone), wanted)
            db.execute("DELETE FROM speakers WHERE sid = ? AND zone = ?", [sid, zone])
            self._write(db, sid, zone, name, wanted, now_t, now_t)
            now = _pick(self._members(db, zone), wanted)
        with self._lock:
            if (sid, zone) in self._local:
                self._told[sid, zone] = now == sid
        return now == sid, (before if before and before != now else None)

    def leave(self, sid):
        with self._lock:
            zones = [z for s, z in self._local if s == sid]
            for zone in zones:
                self._local.pop((sid, zone), None)
                self._told.pop((sid, zone), None)
        if not zones:  # not a display of ours: a phone, a console (no write)
            return []
        with self.storage.write() as db:
            wanted = {z: self._wanted(db, z) for z in zones}
            before = {z: _pick(self._members(db, z), wanted[z]) for z in zones}
            db.execute("DELETE FROM speakers WHERE sid = ?", [sid])
            after = {z: _pick(self._members(db, z), wanted[z]) for z in zones}
        return [(z, after[z]) for z in zones if after[z] and after[z] != before[z]]

    def sweep(self):
        """One heartbeat; returns [(zone, sid, speaking)] to tell our own displays."""
        now_t = time.time()
        with self._lock:
            local = dict(self._local)
        with self.storage.write() as db:
            for (sid, zone), (name, wanted, joined) in local.items():
                self._write(db, sid, zone, name, wanted, joined, now_t)
            for sid, zone in db.execute("SELECT sid, zone FROM speakers WHERE process = ?",
                                        [self.process]).fetchall():
                if (sid, zone) not in local:
                    db.execute("DELETE FROM speakers WHERE sid = ? AND zone = ?", [sid, zone])
            db.execute("DELETE FROM speakers WHERE process IN (SELECT process FROM speakers "
                       "GROUP BY process HAVING MAX(seen) < ?)", [now_t - STALE_S])
            elected = {}
            for zone in {z for _, z in local}:
                elected[zone] = _pick(self._members(db, zone), self._wanted(db, zone))
        tell = []
        with self._lock:
            for key in local:
                if key not in self._local:
                    continue  # gone meanwhile
                sid, zone = key
                speaking = elected.get(zone) == sid
                if self._told.get(key) != speaking:
                    self._told[key] = speaking
                    tell.append((zone, sid, speaking))
        return tell
