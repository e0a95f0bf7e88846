"""Reports from the event log: counts, waits, service times and ratings of a range of
service days, by day, hour, department, service, counter or officer.

Nothing here knows about Flask. docs/reports.md states the method; this module follows it:
a ticket's life is cut into *segments* (the issued ticket, then one per transfer), every
fact belongs to one segment, and a row adds up the facts of its group.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date

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
# Tuples, not rows; the JSON of the few events whose data counts is read by SQLite. The
# events_day index gives them by (day, type): sorted back into log order in Python.
_READ = (
    "SELECT id, type, at, day, ticket_id, service, counter, officer, "
    "CASE type WHEN 'transferred' THEN json_extract(data, '$.new_ticket') "
    "WHEN 'rated' THEN json_extract(data, '$.score') END, "
    "CASE type WHEN 'transferred' THEN json_extract(data, '$.to_service') END FROM events "
    f"WHERE day BETWEEN ? AND ? AND type IN ({','.join('?' * len(_TYPES))})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Segment:
    """One stay in one line: the issued ticket, or the successor a transfer created."""

    __slots__ = ("service", "day", "hour", "entered", "called", "serving_at")

    def __init__(self, service, day, hour, entered):
        self.service, self.day, self.hour, self.entered = service, day, hour, entered
        self.called = False  # its wait ended at its first call
        self.serving_at = None


class _Group:
    """The facts added up for one row."""

    __slots__ = ("issued", "transferred_in", "served", "no_show", "cancelled",
                 "transferred", "waits", "over_sla", "service_times", "ratings")

    def __init__(self):
        self.issued = self.transferred_in = self.served = self.no_show = 0
        self.cancelled = self.transferred = self.over_sla = 0
        self.waits: list[float] = []
        self.service_times: list[float] = []
        self.ratings = dict.fromkeys(SCORES, 0)


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
        raise ValidationError("invalid_request", field="from")
    return date_from, date_to


class Reports:
    def __init__(self, storage, center, clock):
        self.storage, self.center, self.clock = storage, center, clock

    # -- public ---------------------------------------------------------------------------

    def rows(self, date_from: str, date_to: str, by: str, lang: str = "vi") -> list[dict]:
        """One row per group that has at least one fact in the range, sorted by key
        (departments, services and counters in the order of the config)."""
        return self._rows(self._facts(date_from, date_to, by), by, lang)

    def totals(self, date_from: str, date_to: str, lang: str = "vi") -> dict:
        """One row for the whole range (key ``total``)."""
        return self._totals(self._facts(date_from, date_to))

    def report(self, date_from: str, date_to: str, by: str,
               lang: str = "vi") -> tuple[list[dict], dict]:
        """``(rows, totals)`` from a single read of the log."""
        facts = self._facts(date_from, date_to, by)
        return self._rows(facts, by, lang), self._totals(facts)

    def _rows(self, facts, by, lang):
        groups = self._group(facts, by)
        attributable = by not in ("counter", "officer")
        return [self._row(key, self._label(by, key, lang), groups[key], attributable)
                for key in sorted(groups, key=self._order(by))]

    def _totals(self, facts):
        return self._row(TOTAL_KEY, "", self._group(facts, None).get(TOTAL_KEY, _Group()), True)

    # -- reading the log ------------------------------------------------------------------

    def _facts(self, date_from, date_to, by="day") -> list[tuple]:
        """The facts of the segments that entered a line in the range, in log order:
        ``(kind, segment, counter, officer, value)``. One pass over the range's events."""
        if by not in BY:
            raise ValidationError("field_type", field="by", expected="|".join(BY))
        check_range(date_from, date_to)
        with self.storage.db() as db:
            cursor = db.conn.cursor()
            cursor.row_factory = None
            events = cursor.execute(_READ, [date_from, date_to, *_TYPES]).fetchall()
        events.sort()  # by id: the order things happened in
        segments: dict[int, _Segment] = {}
        facts: list[tuple] = []
        hour_of = self._hours()
        for _, type_, at, day, tid, service, counter, officer, value, to_service in events:
            if type_ == "issued":
                segments[tid] = seg = _Segment(service, day, hour_of(at), at)
                facts.append(("issued", seg, None, None, None))
                continue
            seg = segments.get(tid)
            if seg is None:  # a rating of a ticket issued before the range
                continue
            if type_ == "called":
                if not seg.called:  # recalls and calls after a put-back do not count
                    seg.called = True
                    facts.append(("wait", seg, counter, officer, at - seg.entered))
            elif type_ == "serving":
                seg.serving_at = at
            elif type_ == "completed":
                span = None if seg.serving_at is None else at - seg.serving_at
                facts.append(("served", seg, counter, officer, span))
            elif type_ == "no_show":
                facts.append(("no_show", seg, counter, officer, None))
            elif type_ == "cancelled":  # the visitor left the line: no counter's doing
                facts.append(("cancelled", seg, None, None, None))
            elif type_ == "transferred":
                facts.append(("transferred", seg, counter, officer, None))
                if value is not None:  # the successor's ticket id
                    segments[value] = nxt = _Segment(to_service or seg.service, day,
                                                      hour_of(at), at)
                    facts.append(("transferred_in", nxt, None, None, seg))
            elif type_ == "rated" and value is not None and day == seg.day:
                # Only a rating given the ticket's own service day: then the report of a
                # day that is over never changes, and days add up to their week.
                facts.append(("rated", seg, counter, officer, int(value)))
        return facts

    def _hours(self) -> Callable:
        """ts -> local hour 'HH'. Every time zone's hours start on a quarter hour of UTC,
        so one conversion per quarter hour is enough."""
        cache: dict[int, str] = {}

        def hour(ts):
            quarter = int(ts // 900)
            if quarter not in cache:
                cache[quarter] = f"{self.clock.local(quarter * 900).hour:02d}"
            return cache[quarter]
        return hour

    # -- grouping -------------------------------------------------------------------------

    def _key_of(self, by) -> Callable:
        """fact -> group key, or None when the fact belongs to no group of ``by``."""
        dept = {s.id: s.department for s in self.center.services.values()}
        segment_keys = {
            None: lambda seg: TOTAL_KEY,
            "day": lambda seg: seg.day,
            "hour": lambda seg: seg.hour,
            "service": lambda seg: seg.service,
            "department": lambda seg: dept.get(seg.service, ""),
        }
        if by in segment_keys:
            of = segment_keys[by]

            def key(fact):
                kind, seg, _, _, value = fact
                # A transfer within the group is no arrival: the visitor was counted.
                if kind == "transferred_in" and of(value) == of(seg):
                    return None
                return of(seg)
            return key
        position = 2 if by == "counter" else 3
        return lambda fact: fact[position]  # None for issued, cancelled, arrivals

    def _group(self, facts, by) -> dict:
        key_of = self._key_of(by)
        sla = {s.id: s.sla_s for s in self.center.services.values()}
        groups: dict = {}
        for fact in facts:
            key = key_of(fact)
            if key is None:
                continue
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Group()
            kind, seg, _, _, value = fact
            if kind == "wait":
                g.waits.append(value)
                limit = sla.get(seg.service)
                if limit is not None and value > limit:
                    g.over_sla += 1
            elif kind == "served":
                g.served += 1
                if value is not None:
                    g.service_times.append(value)
            elif kind == "rated":
                g.ratings[str(value)] = g.ratings.get(str(value), 0) + 1
            else:  # issued, transferred_in, no_show, cancelled, transferred
                setattr(g, kind, getattr(g, kind) + 1)
        return groups

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
        n_ratings = sum(g.ratings.values())
        scored = sum(int(s) * n for s, n in g.ratings.items())
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
            "ratings": dict(g.ratings),
            "score": (round(100 * (g.ratings["4"] + g.ratings["5"]) / n_ratings, 1)
                      if n_ratings else None),
        }

