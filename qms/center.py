"""The center as configured: plain read-only lookups built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    id: str
    prefix: str
    name: dict
    department: str
    department_name: dict
    zone: str
    daily_limit: int
    sla_s: float
    expected_service_s: float


@dataclass(frozen=True)
class Counter:
    id: int
    zone: str
    services: tuple[str, ...]  # in calling order
    weights: dict | None  # service -> weight, or None for strict order
    priority: bool
    active: bool
    name: dict


class Center:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.name = cfg["center"]["name"]
        self.zones = {z["id"]: z for z in cfg["zones"]}
        self.departments = {d["id"]: d for d in cfg["departments"]}
        default_service_s = cfg["queue"]["default_service_min"] * 60
        self.services: dict[str, Service] = {}
        for dep in cfg["departments"]:
            for s in dep["services"]:
                self.services[s["id"]] = Service(
                    id=s["id"], prefix=s["prefix"], name=s["name"], department=dep["id"],
                    department_name=dep["name"], zone=s["zone"] or dep["zone"],
                    daily_limit=s["daily_limit"] or cfg["issuing"]["daily_limit"],
                    sla_s=s["sla_min"] * 60,
                    expected_service_s=(s["expected_service_min"] * 60) or default_service_s)
        self.counters: dict[int, Counter] = {}
        for c in cfg["counters"]:
            refs = c["services"]
            weighted = c["calling"] == "longest_wait" or any(
                r["weight"] is not None for r in refs)
            name = c["name"] if c["name"]["vi"] else {"vi": f"Quầy {c['id']}",
                                                        "en": f"Counter {c['id']}"}
            self.counters[c["id"]] = Counter(
                id=c["id"], zone=c["zone"], services=tuple(r["service"] for r in refs),
                weights={r["service"]: r["weight"] or 1.0 for r in refs} if weighted else None,
                priority=c["priority"], active=c["active"], name=name)
        self.kiosks = {k["id"]: k for k in cfg["kiosks"]}
        self.counters_by_service: dict[str, list[int]] = {s: [] for s in self.services}
        for c in self.counters.values():
            if c.active:
                for s in c.services:
                    self.counters_by_service[s].append(c.id)

    def places(self, service_id: str, priority: bool = False) -> list[dict]:
        """Where a ticket of this service is told to go, as groups of counters by zone:
        ``[{"counters": [1, 2], "zone": "A", "priority": False}, ...]``. An ordinary ticket
        is sent to the ordinary counters (to the priority ones only if no other serves
        it); a priority ticket to the priority counters first, then the ordinary ones."""
        ids = sorted(self.counters_by_service.get(service_id, []))
        special = [c for c in ids if self.counters[c].priority]
        ordinary = [c for c in ids if not self.counters[c].priority]
        groups = []
        if priority and special and ordinary:
            groups += self._by_zone(special, True)
        groups += self._by_zone(ordinary or special, False)
        return groups

    def _by_zone(self, ids, priority):
        zones: dict[str, list[int]] = {}
        for c in ids:
            zones.setdefault(self.counters[c].zone, []).append(c)
        return [{"counters": cs, "zone": z, "priority": priority} for z, cs in zones.items()]

    def offered_by(self, kiosk: dict | None) -> list[Service]:
        """The services a kiosk offers, in the center's order: its own list, else those of
        its zone, else all (also for an unregistered kiosk)."""
        services = list(self.services.values())
        if kiosk is None:
            return services
        if kiosk["services"]:
            wanted = set(kiosk["services"])
            return [s for s in services if s.id in wanted]
        return [s for s in services if s.zone == kiosk["zone"]] or services
