"""Reports from the event log: counts, waits, service times and ratings of a range of
service days, by day, hour, department, service, counter or officer.

Nothing here knows about Flask. docs/reports.md states the method; this module follows it:
a ticket's life is cut into *segments* (the issued ticket, then one per transfer), every
fact belongs to one segment, and a row adds up the facts of its group.
"""

from __future__ import annotations

import json
import math
import re
import sys
from array import array
from collections.abc import Callable
from datetime import date
from itertools import chain

from .domain.errors import ValidationError

BY = ("day", "hour", "department", "service", "counter", "officer")
SCORES = ("1", "2", "3", "4", "5")
# Every row has these keys, in this order (``ratings`` is {"1": n, ..., "5": n}).
COLUMNS = (
    "key", "label", "issued", "transferred_in", "served", "no_show", "cancelled",
    "transferred", "served_rate", "no_show_rate", "cancelled_rate",
    "wait_avg_s", "wait_p50_s", "wait_p90_s", "wait_max_s",
    "service_avg_s", "service_p50_s", "service_p90_s", "service_max_s",
    "over_sla", "over_sla_count", "rating_avg", "ratings", "score")
TOTAL_KEY = "total"

_TYPES = ("issued", "transferred", "called", "serving", "completed", "no_show", "cancelled",
          "rated")
_IN_TYPES = f"type IN ({','.join('?' * len(_TYPES))})"
# The first and last event of the range: two seeks in the events_day (day, type) index
# per day and type, where MIN(id) over the range would read every entry of it.
_BOUNDS = (
    "WITH RECURSIVE days(d) AS (VALUES (?) UNION ALL "
    "SELECT date(d, '+1 day') FROM days WHERE d < ?), "
    f"types(t) AS (VALUES {', '.join(['(?)'] * len(_TYPES))}) "
    "SELECT MIN((SELECT MIN(id) FROM events WHERE day = d AND type = t)), "
    "MAX((SELECT MAX(id) FROM events WHERE day = d AND type = t)) FROM days, types")
# Then the events between them in log order, straight from the table (rowid order: no
# sort, nothing held back; the + keeps SQLite off the index). Tuples, not rows, and only
# what counts: the last column is the service of an issued ticket, the data of a transfer
# (its new ticket, service and reason) and the score of a rating.
_READ = (
    "SELECT day, type, at, ticket_id, counter, officer, CASE type WHEN 'issued' THEN service "
    "WHEN 'transferred' THEN data WHEN 'rated' THEN json_extract(data, '$.score') END "
    f"FROM events WHERE id BETWEEN ? AND ? AND +day BETWEEN ? AND ? AND +{_IN_TYPES} "
    "ORDER BY id")
_COMMENTS = (
    "SELECT t.number, t.day, r.at, r.service, r.counter, r.officer, r.score, r.comment "
    "FROM ratings r JOIN tickets t ON t.id = r.ticket_id "
    "WHERE t.day BETWEEN ? AND ? AND trim(r.comment) != '' "
    "ORDER BY r.at DESC, r.ticket_id DESC LIMIT ?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CHUNK = 2048  # events read between two chances for other work to run (a few ms)
# Groupings by the segment (a segment's group is known when it enters its line) and by
# the person named on the event.
_SEGMENT_BY = ("day", "hour", "department", "service")
_STAFF_BY = ("counter", "officer")
# A visitor handed back to the front of the same line because the counter closed: not a
# transfer the officer made.
_HANDED_BACK = "counter_closed"


class _Segment:
    """One stay in one line: the issued ticket, or the successor a transfer created.
    ``groups``: the groups it belongs to, the totals first, then one per segment grouping
    asked for."""

    __slots__ = ("day", "service", "groups", "entered", "called", "serving_at")

    def __init__(self, day, service, groups, entered):
        self.day, self.service, self.groups, self.entered = day, service, groups, entered
        self.called = False  # its wait has ended (first call, or a transfer before any)
        self.serving_at = None


class _Group:
    """The facts added up for one row: counters, and the waits and service times (the
    percentiles need every value). Those are arrays of doubles, not lists: 8 bytes a
    value, and nothing for the garbage collector to walk through again and again."""

    __slots__ = ("issued", "transferred_in", "served", "no_show", "cancelled",
                 "transferred", "waits", "over_sla", "service_times", "ratings")

    def __init__(self):
        self.issued = self.transferred_in = self.served = self.no_show = 0
        self.cancelled = self.transferred = self.over_sla = 0
        self.waits = array("d")
        self.service_times = array("d")
        self.ratings = [0] * (len(SCORES) + 1)  # by score; [0] unused


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p % of the values at or below it.
    ``values`` must be sorted."""
    if not values:
        return None
    return values[max(1, math.ceil(p / 100 * len(values))) - 1]


def _stats(values):
    values = sorted(values)
    if not values:
        return None, None, None, None
    return (round(sum(values) / len(values), 1), round(percentile(values, 50), 1),
            round(percentile(values, 90), 1), round(values[-1], 1))


def _share(n, of, digits=4):
    return round(n / of, digits) if of else None


def _chunks(cursor):
    """The cursor's rows, a list at a time, letting other work run in between (the
    connection is this report's alone while it reads)."""
    while rows := cursor.fetchmany(_CHUNK):
        yield rows
        _pause()


def _pause():
    """Let other work run for a moment. Under gevent (the server's usual mode) a report of
    months would otherwise hold the one thread for seconds: ``gevent.idle()`` waits until
    the loop has run everything ready, sockets and timers polled (``sleep(0)`` polls
    nothing). Threads need nothing: Python switches between them."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("time"):
        sys.modules["gevent"].idle()


def check_range(date_from: str, date_to: str) -> tuple[str, str]:
    """Both service days as YYYY-MM-DD, the first not after the second."""
    for field, value in (("from", date_from), ("to", date_to)):
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise ValidationError("field_type", field=field, expected="YYYY-MM-DD")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValidationError("field_type", field=field, expected="YYYY-MM-DD") from None
    if date_from > date_to:
        raise ValidationError("report_dates_order")
    return date_from, date_to


class Reports:
    def __init__(self, storage, center, clock):
        self.storage, self.center, self.clock = storage, center, clock

    # -- public ---------------------------------------------------------------------------

    def report_many(self, date_from: str, date_to: str, bys: tuple[str, ...],
                    lang: str = "vi") -> dict[str, tuple[list[dict], dict]]:
        """``{by: (rows, totals)}`` for every grouping of ``bys``, from a single read of the
        log. The totals are the same for each (each gets its own dict)."""
        bys = tuple(dict.fromkeys(bys))
        if not bys:
            check_range(date_from, date_to)
            return {}
        tables, total = self._aggregate(date_from, date_to, bys)
        totals = self._row(TOTAL_KEY, "", total, True)
        return {by: (self._rows(tables[by], by, lang),
                     {**totals, "ratings": dict(totals["ratings"])}) for by in bys}

    def report(self, date_from: str, date_to: str, by: str,
               lang: str = "vi") -> tuple[list[dict], dict]:
        """``(rows, totals)`` from a single read of the log."""
        return self.report_many(date_from, date_to, (by,), lang)[by]

    def rows(self, date_from: str, date_to: str, by: str, lang: str = "vi") -> list[dict]:
        """One row per group that has at least one fact in the range, sorted by key
        (departments, services and counters in the order of the config)."""
        return self.report(date_from, date_to, by, lang)[0]

    def totals(self, date_from: str, date_to: str, lang: str = "vi") -> dict:
        """One row for the whole range (key ``total``)."""
        return self._row(TOTAL_KEY, "", self._aggregate(date_from, date_to, ())[1], True)

    def comments(self, date_from: str, date_to: str, limit: int = 200,
                 lang: str = "vi") -> list[dict]:
        """The rating comments of the tickets of the range's service days, newest first
        (at most ``limit``): ``number``, ``day``, ``at`` (local ISO time), ``service``,
        ``service_label`` (in ``lang``), ``counter``, ``officer``, ``score``, ``comment``.
        Empty comments are left out; a comment given after the ticket's day is listed."""
        check_range(date_from, date_to)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValidationError("field_type", field="limit", expected="integer >= 0")
        with self.storage.db() as db:
            cursor = db.conn.cursor()
            cursor.row_factory = None
            found = cursor.execute(_COMMENTS, [date_from, date_to, limit]).fetchall()
        return [{"number": number, "day": day, "at": self.clock.iso(at), "service": service,
                 "service_label": self._label("service", service, lang), "counter": counter,
                 "officer": officer, "score": score, "comment": comment.strip()}
                for number, day, at, service, counter, officer, score, comment in found]

    # -- one pass over the log ------------------------------------------------------------

    def _aggregate(self, date_from, date_to, bys) -> tuple[dict, _Group]:
        """``({by: {key: _Group}}, totals)`` of the range: its events read once, in log
        order, as they come (a chunk at a time)."""
        for by in bys:
            if by not in BY:
                raise ValidationError("field_type", field="by", expected="|".join(BY))
        check_range(date_from, date_to)
        with self.storage.db() as db:
            cursor = db.conn.cursor()
            cursor.row_factory = None
            first, last = cursor.execute(_BOUNDS, [date_from, date_to, *_TYPES]).fetchone()
            if first is None:
                return self._tally((), bys)
            cursor.execute(_READ, [first, last, date_from, date_to, *_TYPES])
            return self._tally(_chunks(cursor), bys)

    def _tally(self, chunks, bys) -> tuple[dict, _Group]:
        """Every fact of the events (``_READ``'s tuples, in log order, in lists) added
        straight into its group of every grouping of ``bys``, and into the totals.

        Held in memory: the groups, and the segments of the latest two service days seen
        (a rating counts only on its ticket's own day, and every ticket still open closes
        at the daily reset, so no later event needs an older segment; the day before is
        kept for an event written just after the reset)."""
        tables: dict[str, dict] = {by: {} for by in bys}
        total = _Group()
        dept = {s.id: s.department for s in self.center.services.values()}
        sla = {s.id: s.sla_s for s in self.center.services.values()}
        segment_tables = [(by, tables[by]) for by in _SEGMENT_BY if by in tables]
        staff_tables = [(by == "counter", tables[by]) for by in _STAFF_BY if by in tables]
        local = self.clock.local
        hours: dict[int, str] = {}  # quarter hour of UTC -> local hour 'HH' (every time
        # zone's hours start on a quarter hour of UTC)
        placed: dict[tuple, tuple] = {}  # (day, quarter, service) -> a segment's groups
        staffed: dict[tuple, tuple] = {}  # (counter, officer) -> their groups

        def groups_of(day, at, service):
            """The groups of a segment entering the line of ``service`` at ``at``."""
            quarter = int(at // 900)
            groups = placed.get((day, quarter, service))
            if groups is None:
                hour = hours.get(quarter)
                if hour is None:
                    hour = hours[quarter] = f"{local(quarter * 900).hour:02d}"
                found = [total]
                for by, table in segment_tables:
                    key = (day if by == "day" else hour if by == "hour"
                           else service if by == "service" else dept.get(service, ""))
                    group = table.get(key)
                    if group is None:
                        group = table[key] = _Group()
                    found.append(group)
                groups = placed[(day, quarter, service)] = tuple(found)
            return groups

        def staff(counter, officer):
            """The groups of the counter and the officer named on an event."""
            found = []
            for by_counter, table in staff_tables:
                key = counter if by_counter else officer
                if key is not None:
                    group = table.get(key)
                    if group is None:
                        group = table[key] = _Group()
                    found.append(group)
            groups = staffed[(counter, officer)] = tuple(found)
            return groups

        segments: dict[int, _Segment] = {}
        born: dict[str, list[int]] = {}  # service day -> its tickets in ``segments``
        latest = ""
        for day, type_, at, tid, counter, officer, extra in chain.from_iterable(chunks):
            if day > latest:  # a new service day: forget all but the one before
                for old in [d for d in born if d < latest]:
                    for gone in born.pop(old):
                        segments.pop(gone, None)
                latest = day
                placed.clear()
            if type_ == "issued":
                groups = groups_of(day, at, extra)
                segments[tid] = _Segment(day, extra, groups, at)
                born.setdefault(day, []).append(tid)
                for g in groups:
                    g.issued += 1
                continue
            seg = segments.get(tid)
            if seg is None:  # a ticket of a day before the range
                continue
            if type_ == "serving":
                seg.serving_at = at
                continue
            if type_ == "cancelled":  # the visitor left the line: no counter's doing
                for g in seg.groups:
                    g.cancelled += 1
                continue
            if type_ == "transferred":
                data = json.loads(extra)
                if not seg.called:  # moved while waiting: its wait ends here, uncalled
                    seg.called = True
                    wait = at - seg.entered
                    over = wait > sla.get(seg.service, math.inf)
                    for g in seg.groups:
                        g.waits.append(wait)
                        if over:
                            g.over_sla += 1
                if data.get("reason") != _HANDED_BACK:
                    people = staffed.get((counter, officer))
                    for g in staff(counter, officer) if people is None else people:
                        g.transferred += 1
                new_ticket = data.get("new_ticket")
                if new_ticket is None:  # no successor named: it left every group
                    for g in seg.groups:
                        g.transferred += 1
                    continue
                service = data.get("to_service") or seg.service
                nxt = _Segment(seg.day, service, groups_of(seg.day, at, service), at)
                segments[new_ticket] = nxt
                born.setdefault(seg.day, []).append(new_ticket)
                # Leaving a group for another is a transfer out of one and into the other;
                # a transfer that stays in the group is neither.
                for out, into in zip(seg.groups, nxt.groups, strict=True):
                    if out is not into:
                        out.transferred += 1
                        into.transferred_in += 1
                continue
            # The facts of a counter and an officer too.
            people = staffed.get((counter, officer))
            if people is None:
                people = staff(counter, officer)
            if type_ == "called":
                if seg.called:  # recalls and calls after a put-back do not count
                    continue
                seg.called = True
                wait = at - seg.entered
                over = wait > sla.get(seg.service, math.inf)
                for g in seg.groups + people:
                    g.waits.append(wait)
                    if over:
                        g.over_sla += 1
            elif type_ == "completed":
                span = None if seg.serving_at is None else at - seg.serving_at
                for g in seg.groups + people:
                    g.served += 1
                    if span is not None:
                        g.service_times.append(span)
            elif type_ == "no_show":
                for g in seg.groups + people:
                    g.no_show += 1
            elif type_ == "rated" and extra is not None and day == seg.day:
                # Only a rating given the ticket's own service day: then the report of a
                # day that is over never changes, and days add up to their week.
                score = int(extra)
                if 1 <= score <= len(SCORES):
                    for g in seg.groups + people:
                        g.ratings[score] += 1
        return tables, total

    # -- rows -----------------------------------------------------------------------------

    def _rows(self, groups, by, lang):
        attributable = by not in _STAFF_BY
        return [self._row(key, self._label(by, key, lang), groups[key], attributable)
                for key in sorted(groups, key=self._order(by))]

    def _order(self, by) -> Callable:
        """Sort key: the config's order for configured things, unknown ones after them."""
        if by == "service":
            known = list(self.center.services)
        elif by == "department":
            known = list(self.center.departments)
        elif by == "counter":
            known = list(self.center.counters)
        else:
            return lambda key: key
        rank = {k: i for i, k in enumerate(known)}
        return lambda key: (rank.get(key, len(rank)), str(key))

    def _label(self, by, key, lang) -> str:
        def text(name):
            return name.get(lang) or name.get("vi") or str(key)
        if by == "service" and key in self.center.services:
            return text(self.center.services[key].name)
        if by == "department" and key in self.center.departments:
            return text(self.center.departments[key]["name"])
        if by == "counter" and key in self.center.counters:
            return text(self.center.counters[key].name)
        return str(key)

    @staticmethod
    def _row(key, label, g: _Group, attributable: bool) -> dict:
        """``attributable``: issued and cancelled tickets belong to the group (they do
        not to a counter or an officer, whose rates are then null)."""
        arrived = g.issued + g.transferred_in
        wait = _stats(g.waits)
        service = _stats(g.service_times)
        ratings = {s: g.ratings[int(s)] for s in SCORES}
        n_ratings = sum(ratings.values())
        scored = sum(int(s) * n for s, n in ratings.items())
        return {
            "key": key, "label": label,
            "issued": g.issued if attributable else None,
            "transferred_in": g.transferred_in if attributable else None,
            "served": g.served, "no_show": g.no_show,
            "cancelled": g.cancelled if attributable else None,
            "transferred": g.transferred,
            "served_rate": _share(g.served, arrived) if attributable else None,
            "no_show_rate": _share(g.no_show, arrived) if attributable else None,
            "cancelled_rate": _share(g.cancelled, arrived) if attributable else None,
            "wait_avg_s": wait[0], "wait_p50_s": wait[1], "wait_p90_s": wait[2],
            "wait_max_s": wait[3],
            "service_avg_s": service[0], "service_p50_s": service[1],
            "service_p90_s": service[2], "service_max_s": service[3],
            "over_sla": _share(g.over_sla, len(g.waits)), "over_sla_count": g.over_sla,
            "rating_avg": round(scored / n_ratings, 2) if n_ratings else None,
            "ratings": ratings,
            "score": (round(100 * (ratings["4"] + ratings["5"]) / n_ratings, 1)
                      if n_ratings else None),
        }
