"""The board's watchman: the center's devices with their last contact, and the alerts a
supervisor must see now.

Devices:
- printers (``printer``, ``printer:<kiosk>``): last successful print, or the fault of the
  last failed one;
- kiosks (``kiosk:<id>``), hall displays (``display:<zone>``, ``display:`` for the whole
  center) and rating devices (``rate:<counter>``): their live connections; the last contact
  is now while one is connected, else when the last one left.

Alerts (``AlertRaised`` / ``AlertCleared`` to the ``dashboard`` room):
- ``wait:<service>``: the longest current wait of a line reached the service's threshold;
- ``unserved:<service>``: people wait in a line no open counter serves, the longest for
  ``dashboard.amber_at`` of the threshold already;
- ``printer:<device>``: a print failed (cleared by the next successful print);
- ``offline:<device>``: a kiosk, display or rating device that had been connected for at
  least ``dashboard.offline_after_s`` has been away as long (a page opened for a moment,
  by a visitor on the start page, raises nothing).

A supervisor may dismiss an alert; it comes back only if its cause ends and starts again.

``check()`` runs every ``dashboard.check_s`` in the background (started with the first
board) and when a board joins. The registry is in the memory of this process: with several
processes behind Redis, each lists the devices connected to it.
"""

from __future__ import annotations

import logging
import threading

from .board import BoardViews, level
from .domain import events as ev

log = logging.getLogger(__name__)


class Monitor:
    def __init__(self, cfg, center, clock, storage, publish, seq):
        self.cfg, self.center, self.clock, self.storage = cfg, center, clock, storage
        self.publish, self.seq = publish, seq
        self.board = BoardViews(storage, center, clock)
        self.devices: dict[str, dict] = {}
        self.alerts: dict[str, dict] = {}
        self.dismissed: set[str] = set()
        self._sids: dict[str, set[str]] = {}  # socket id -> devices it stands for
        self._lock = threading.RLock()
        self.running = False
        for device in self._printer_devices():
            self._device(device, "printer")
        for kiosk in center.kiosks:
            self._device(f"kiosk:{kiosk}", "kiosk")

    def _printer_devices(self):
        if self.cfg["printer"]["driver"] != "none":
            yield "printer"
        for kiosk in self.cfg["kiosks"]:
            if (kiosk.get("printer") or {}).get("driver", "none") != "none":
                yield f"printer:{kiosk['id']}"

    def _device(self, device, kind):
        return self.devices.setdefault(device, {
            "device": device, "kind": kind, "online": None, "connections": 0,
            "last_contact": None, "fault": None, "away_since": None, "since": None})

    def _emit(self, events):
        seq = self.seq()
        for event in events:
            event.seq = seq
        try:
            self.publish(events)
        except Exception:  # the board learns at its next snapshot
            log.exception("could not push board events")

    def _changed(self, d) -> ev.DeviceChanged:
        return ev.DeviceChanged(device=d["device"], kind=d["kind"], online=d["online"],
                                connections=d["connections"],
                                last_contact=self.clock.iso(d["last_contact"]),
                                fault=d["fault"])

    # -- devices --------------------------------------------------------------------------

    def connected(self, sid, device, kind):
        with self._lock:
            if device in self._sids.setdefault(sid, set()):
                return
            self._sids[sid].add(device)
            d = self._device(device, kind)
            if d["connections"] == 0 and not d.get("in_service"):
                d["since"] = self.clock.now()  # a device back from a blip stays in service
            d.update(connections=d["connections"] + 1, online=True,
                     last_contact=self.clock.now(), away_since=None)
            events = [self._changed(d)]
            events += self._clear(f"offline:{device}")
        self._emit(events)

    def disconnected(self, sid, device=None):
        """A socket went away (or left the room of ``device`` only)."""
        events = []
        with self._lock:
            held = self._sids.get(sid, set())
            gone = [device] if device in held else [] if device else list(held)
            for name in gone:
                held.discard(name)
                d = self.devices[name]
                d["connections"] = max(0, d["connections"] - 1)
                now = d["last_contact"] = self.clock.now()
                if d["connections"] == 0:
                    # Only a device that was in service is missed when it goes.
                    in_service = d["since"] is not None and \
                        now - d["since"] >= self.cfg["dashboard"]["offline_after_s"]
                    d.update(online=False, away_since=now if in_service else None,
                             in_service=in_service)
                events.append(self._changed(d))
            if not held:
                self._sids.pop(sid, None)
        if events:
            self._emit(events)

    def printed(self, device, paper_low=False):
        with self._lock:
            d = self._device(device, "printer")
            d.update(online=True, last_contact=self.clock.now(),
                     fault="paper_low" if paper_low else None)
            events = [self._changed(d), *self._clear(f"printer:{device}")]
        self._emit(events)

    def printer_fault(self, device, kind):
        with self._lock:
            d = self._device(device, "printer")
            d.update(online=False, fault=kind)
            events = [self._changed(d),
                      *self._raise(f"printer:{device}", "printer", device, {"fault": kind})]
        self._emit(events)

    # -- alerts ---------------------------------------------------------------------------

    def run_forever(self, sleep):
        """The background check, every ``dashboard.check_s`` until the storage closes."""
        self.running = True
        while not self.storage.closed:
            sleep(self.cfg["dashboard"]["check_s"])
            try:
                self.check()
            except Exception:  # a busy database: again at the next check
                if not self.storage.closed:
                    log.exception("board check failed")

    def _raise(self, alert_id, kind, subject, detail, since=None):
        if alert_id in self.alerts or alert_id in self.dismissed:
            return []
        alert = {"id": alert_id, "kind": kind, "subject": subject, "detail": detail,
                 "since": self.clock.iso(since if since is not None else self.clock.now())}
        self.alerts[alert_id] = alert
        return [ev.AlertRaised(**alert)]

    def _clear(self, alert_id):
        self.dismissed.discard(alert_id)  # the cause ended: next time it is news again
        if self.alerts.pop(alert_id, None) is None:
            return []
        return [ev.AlertCleared(id=alert_id)]

    def dismiss(self, alert_id) -> bool:
        """A supervisor has seen it: off the board until its cause ends and comes back."""
        with self._lock:
            if alert_id not in self.alerts:
                return False
            del self.alerts[alert_id]
            self.dismissed.add(alert_id)
        self._emit([ev.AlertCleared(id=alert_id)])
        return True

    def check(self):
        """Raise and clear the wait and offline alerts for the state right now."""
        now = self.clock.now()
        with self.storage.db() as db:
            oldest = self.board.oldest_waiting(db, self.clock.service_day(now))
            open_ids = {r[0] for r in db.execute(
                "SELECT id FROM counters WHERE status = 'open'").fetchall()}
        amber_at = self.cfg["dashboard"]["amber_at"]
        events = []
        with self._lock:
            for s in self.center.services.values():
                since = oldest.get(s.id)
                wait = now - since if since is not None else None
                if level(wait, s.sla_s, 1.0) == "red":
                    events += self._raise(f"wait:{s.id}", "wait", s.id,
                                          {"sla_s": s.sla_s}, since=since + s.sla_s)
                else:
                    events += self._clear(f"wait:{s.id}")
                served = any(c in open_ids for c in self.center.counters_by_service[s.id])
                if not served and level(wait, s.sla_s, amber_at) != "ok":
                    events += self._raise(f"unserved:{s.id}", "unserved", s.id,
                                          {"sla_s": s.sla_s}, since=since + s.sla_s * amber_at)
                else:
                    events += self._clear(f"unserved:{s.id}")
            away_limit = self.cfg["dashboard"]["offline_after_s"]
            for d in self.devices.values():
                if d["away_since"] is not None and now - d["away_since"] >= away_limit:
                    events += self._raise(f"offline:{d['device']}", "offline", d["device"],
                                          {"kind": d["kind"]}, since=d["away_since"])
        if events:
            self._emit(events)

    def snapshot(self) -> dict:
        with self._lock:
            devices = [{k: v for k, v in d.items()
                        if k not in ("away_since", "since", "in_service")}
                       | {"last_contact": self.clock.iso(d["last_contact"])}
                       for d in sorted(self.devices.values(), key=lambda d: d["device"])]
            return {"alerts": list(self.alerts.values()), "devices": devices}
