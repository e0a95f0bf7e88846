"""Time of the service center: epoch seconds in storage, local service days outside."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Clock:
    """Wall clock in the center's time zone. Tests pass ``now`` to move time."""

    def __init__(self, timezone: str, daily_reset: str = "00:00", now=time.time):
        self.tz = ZoneInfo(timezone)
        hours, minutes = map(int, daily_reset.split(":"))
        self.reset_offset = timedelta(hours=hours, minutes=minutes)
        self._now = now

    def now(self) -> float:
        return self._now()

    def local(self, ts: float | None = None) -> datetime:
        return datetime.fromtimestamp(self.now() if ts is None else ts, self.tz)

    def service_day(self, ts: float | None = None) -> str:
        """The local service day; it starts at the daily reset time, not at UTC midnight."""
        return (self.local(ts) - self.reset_offset).date().isoformat()

    def iso(self, ts: float | None) -> str | None:
        return None if ts is None else self.local(ts).isoformat(timespec="seconds")

    def within(self, windows: list[dict], days: list[str], ts: float | None = None) -> bool:
        """Is the moment inside one of the HH:MM windows on a working day?"""
        moment = self.local(ts)
        if WEEKDAYS[moment.weekday()] not in days:
            return False
        hhmm = moment.strftime("%H:%M")
        return any(w["open"] <= hhmm < w["close"] for w in windows)
