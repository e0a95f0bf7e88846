"""A working day of the HCMC center, at accelerated time, against the real server.

    .venv/bin/python bench/simulate_day.py [--speed 150] [--visitors 2600] [--seed 1]
        [--start 07:30] [--end 17:00 | --hours H] [--date 2026-03-04] [--enforce-hours]
        [--phones 0.2] [--no-speech] [--keep]

The server is the real one (``server.create_app``) started by ``bench/fast_clock_server.py``
on 127.0.0.1 with a clock that runs ``--speed`` times faster than the wall clock (150: one
simulated minute every 0.4 s; the day, 07:15 to about 17:15, takes about 4 real minutes). The
clock stands still while accounts are made and officers log in, then starts at the same
wall-clock instant in the server and here, so both read one simulated time.

The day, driven only through the HTTP API (and Socket.IO for screens and phones):

- visitors arrive as a non-homogeneous Poisson process: a crowd at the door at opening, a
  morning peak 08:30-10:30, a lunch dip, an afternoon peak 14:00-15:30, quiet after 16:30;
  ``--visitors`` is the expected total of a full day (a shorter window gets its share);
- a department's share is its counters divided by its mean service time (times a seeded
  factor 0.75-1.3, so that some departments are overloaded), and inside a department the
  services are Zipf-popular (a few much busier);
- each takes a ticket at the kiosk of their floor (``POST /api/tickets`` with a fresh
  ``request_id``, as the kiosk page does), ~8 % as priority visitors;
- one officer per active counter (61; accounts made with ``server.py user add``) logs in,
  opens the counter around the session's start (some late), calls next, waits for the
  visitor to walk up, serves, completes; some take a short break (``pause`` with one of
  the config's reasons, then ``resume``); at the end of the morning session, once their
  line is empty or 15 minutes later at most, they pause for lunch (three in four) or close
  (one in four) and come back at 13:00; after the afternoon session they close;
- service times: the service's ``expected_service_min`` when configured, else a mean per
  department times a per-service factor; lognormal around that mean; 8 % of visits are
  short (papers missing, a question): 0.5-2 min;
- ~6.5 % of visitors are not there when called: the officer recalls after a minute, a
  quarter of them turn up after the first recall, the others are marked ``no-show`` after
  a second recall (~5 % no-shows); ~1 % come late and are put back (``requeue``);
- ~3 % are transferred after a few minutes at the counter (``transfer`` to another service
  of the department, sometimes of another department); ~8 % have a limited patience and
  cancel (``POST /api/tickets/<token>/cancel``) if not called by then;
- 40 % of served visitors rate the service from their phone; ``--phones`` of them follow
  their ticket over Socket.IO while waiting; one hall display per zone and one for the whole
  center stay connected all day. Visitor requests come from their own loopback address
  (127.x.y.z, as phones have their own), so the per-phone rate limit sees one phone each.

Printed at the end: waits (issue to first call, simulated minutes) per service with 20
tickets or more and in all; how well ``estimated_wait_s`` given at issue predicted the real
wait (mean and median absolute error, mean signed error = estimate - real), overall, by
hour, by what the estimate said and for the busiest services (with the mean service time
the estimate implies, ``estimate / ahead x open counters``, against the observed one), and,
for comparison only, an estimate over the whole department's line computed here; outcome
counts and cross-checks (a sample of tickets read back with ``GET /api/tickets/<token>``,
calls seen by the hall displays and by the phones); real duration, request rate, latency
per route, stalls (overlapping answers over 100 ms), every HTTP error (5xx loudly, and the
exit status is 1); the server's RSS and CPU; the load generator's CPU, event-loop lag and
the machine's load average (other processes on a 2-core machine show up as stalls).
``SIMDAY_DEBUG=1`` also lists every stall. A fixed ``--seed`` gives the same population of
visitors and officers; the interleaving of a run still depends on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import math
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

HERE = Path(__file__).resolve().parent
FAST_SERVER = HERE / "fast_clock_server.py"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Relative arrival intensity (knots, linear in between), from the data file's
# "morning peak 08:00-10:00, smaller afternoon peak 13:30-15:00, quiet after 16:00"
# (estimate) and the brief: opening crowd, peaks 08:30-10:30 and 14:00-15:30, lunch dip.
PROFILE = [("07:30", 1.6), ("07:45", 1.2), ("08:00", 1.3), ("08:30", 2.0), ("10:30", 2.0),
           ("11:00", 1.1), ("11:30", 0.35), ("12:00", 0.2), ("12:45", 0.3), ("13:00", 0.9),
           ("13:30", 1.2), ("14:00", 1.7), ("15:30", 1.7), ("16:00", 1.0), ("16:30", 0.45),
           ("16:45", 0.15), ("17:00", 0.0)]

# Mean minutes at the counter per department (estimate; data file: "mean 7, spread 3-20;
# longer for land, construction and investment dossiers, shorter for information").
DEPT_MEAN_MIN = {
    "xay-dung": 9, "nong-nghiep-moi-truong": 9, "tai-chinh": 8, "quy-hoach-kien-truc": 8,
    "khu-che-xuat-cong-nghiep": 8, "tu-phap": 7, "y-te": 7, "cong-thuong": 7,
    "khoa-hoc-cong-nghe": 7, "noi-vu": 6, "an-toan-thuc-pham": 6, "du-lich": 6,
    "van-hoa-the-thao": 6, "dan-toc-ton-giao": 6, "giao-duc-dao-tao": 5, "bao-hiem-xa-hoi": 5,
}
DEFAULT_DEPT_MEAN_MIN = 6.5
LUNCH_REASON = "Nghỉ trưa"

P_PRIORITY = 0.08
P_ABSENT = 0.065          # not there at the call
P_BACK_AFTER_RECALL = 0.25  # of the absent: turn up after the first recall
P_LATE = 0.01             # late: put back (requeue), served at the next call
P_TRANSFER = 0.03
P_TRANSFER_OTHER_DEPT = 0.2
P_IMPATIENT = 0.08        # leave (cancel) if not called within their patience
P_QUICK = 0.08            # papers missing / a question: 0.5-2 min
P_RATE = 0.4
SCORES = (5, 4, 3, 2, 1)
SCORE_W = (0.6, 0.25, 0.1, 0.03, 0.02)
SERVICE_SIGMA = 0.55      # lognormal spread of service times
POLL_S = 180              # an idle officer looks at the console at least this often (sim)


def hm(s: str) -> int:
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def fmt_hm(minutes: float) -> str:
    m = int(round(minutes))
    return f"{m // 60:02d}:{m % 60:02d}"


def parse_iso(s):
    return datetime.fromisoformat(s).timestamp() if s else None


def pct(values, p):
    return common.percentile(sorted(values), p) if values else float("nan")


def mean(values):
    return statistics.fmean(values) if values else float("nan")


def median(values):
    return statistics.median(values) if values else float("nan")


# -- the simulated clock of the load generator ----------------------------------------------

class SimClock:
    """Simulated epoch seconds: ``origin + (time.time() - t0) * speed`` (same as the server)."""

    def __init__(self, origin: float, speed: float):
        self.origin, self.speed, self.t0 = origin, speed, None

    def now(self) -> float:
        return self.origin + (time.time() - self.t0) * self.speed

    async def sleep(self, sim_s: float):
        if sim_s > 0:
            await asyncio.sleep(sim_s / self.speed)

    async def sleep_until(self, sim_ts: float):
        await self.sleep(sim_ts - self.now())


# -- population -----------------------------------------------------------------------------

@dataclass
class Visitor:
    idx: int
    arrive: float
    service: str
    priority: bool
    absent: str | None          # None, "noshow", "back" (after a recall), "late" (requeue)
    transfer_to: str | None
    patience: float | None      # simulated seconds, or None (waits whatever it takes)
    phone: bool
    rating: int | None
    service_s: tuple[float, float]   # at the first service, after a transfer
    walk_s: float
    request_id: str
    addr: str
    # filled in during the run
    state: str = "pending"
    number: str | None = None
    token: str | None = None
    issued_at: float | None = None
    issue_lag: float | None = None
    estimate: int | None = None
    est_missing: bool = False
    position: int | None = None
    open_at_issue: int = 0
    first_called: float | None = None
    first_counter: int | None = None
    calls: int = 0
    requeued: bool = False
    transferred: bool = False
    resolved: bool = False
    finished_service: str | None = None
    service_took: float | None = None
    rated: bool = False
    phone_joined: float | None = None
    alt_estimate: float | None = None
    phone_events: collections.Counter = field(default_factory=collections.Counter)


@dataclass
class Session:
    arrive: float
    soft: float          # the session's end: stop once the line is empty
    hard: float          # stop calling anyway
    lunch: str           # "pause" or "close" after this session (not the last)
    breaks: list          # [(at, duration, reason)]


@dataclass
class Officer:
    cid: int
    zone: str
    services: list
    priority: bool
    username: str
    sessions: list
    rng: random.Random
    http: common.AsyncHTTP | None = None
    status: str = "closed"
    wake: asyncio.Event | None = None
    served: int = 0
    idle_nexts: int = 0


class Population:
    """Services, visitors and officers of one day, drawn from ``--seed``."""

    def __init__(self, cfg, args, day_epoch):
        self.cfg, self.args = cfg, args
        rng = random.Random(args.seed)
        self.services = {}      # id -> {dept, zone, floor, mean_min, prefix}
        floors = {z["id"]: z.get("floor", 1) for z in cfg["zones"]}
        for d in cfg["departments"]:
            for s in d["services"]:
                self.services[s["id"]] = {"dept": d["id"], "zone": d["zone"],
                                          "floor": floors.get(d["zone"], 1),
                                          "prefix": s["prefix"],
                                          "expected": s.get("expected_service_min")}
        self.dept_services = collections.defaultdict(list)
        for sid, s in self.services.items():
            self.dept_services[s["dept"]].append(sid)
        self.counters = [c for c in cfg["counters"] if c.get("active", True)]
        self.by_service = collections.defaultdict(list)   # service -> active counter ids
        for c in self.counters:
            for sid in c["services"]:
                self.by_service[sid].append(c["id"])
        # mean service time per service
        for sid, s in self.services.items():
            if s["expected"]:
                s["mean_min"] = float(s["expected"])
            else:
                base = DEPT_MEAN_MIN.get(s["dept"], DEFAULT_DEPT_MEAN_MIN)
                factor = rng.uniform(0.7, 1.3) * (0.5 if "thong-tin" in sid else 1.0)
                s["mean_min"] = base * factor
        # popularity: a department's share is its counters / its mean service time, times
        # a factor, so that some departments are busier than their counters; Zipf inside
        dept_counters = collections.Counter()
        for c in self.counters:
            if not c.get("priority") and c["services"]:
                dept_counters[self.services[c["services"][0]]["dept"]] += 1
        weights = {}
        for dept, sids in self.dept_services.items():
            if not any(self.by_service[s] for s in sids):
                continue
            dmean = mean([self.services[s]["mean_min"] for s in sids])
            dw = max(dept_counters[dept], 0.5) / dmean * rng.uniform(0.75, 1.3)
            order = [s for s in sids if self.by_service[s]]
            rng.shuffle(order)
            zipf = [1 / (r + 1) ** 1.1 for r in range(len(order))]
            for s, z in zip(order, zipf, strict=True):
                weights[s] = dw * z / sum(zipf)
        self.weights = weights
        self.arrivals = self._arrivals(rng, day_epoch)
        svc_ids = list(weights)
        svc_w = [weights[s] for s in svc_ids]
        self.visitors = []
        for i, t in enumerate(self.arrivals):
            sid = rng.choices(svc_ids, svc_w)[0]
            s = self.services[sid]
            priority = rng.random() < P_PRIORITY
            r = rng.random()
            absent = None
            if r < P_ABSENT:
                absent = "back" if rng.random() < P_BACK_AFTER_RECALL else "noshow"
            elif r < P_ABSENT + P_LATE:
                absent = "late"
            transfer_to = None
            if absent != "noshow" and rng.random() < P_TRANSFER:
                if rng.random() < P_TRANSFER_OTHER_DEPT:
                    pool = [x for x, y in self.services.items() if y["floor"] == s["floor"]
                            and y["dept"] != s["dept"] and self.by_service[x]]
                else:
                    pool = [x for x in self.dept_services[s["dept"]]
                            if x != sid and self.by_service[x]]
                transfer_to = rng.choice(pool) if pool else None
            patience = None
            if rng.random() < P_IMPATIENT:
                patience = 60 * rng.lognormvariate(math.log(35), 0.5)
            self.visitors.append(Visitor(
                idx=i, arrive=t, service=sid, priority=priority, absent=absent,
                transfer_to=transfer_to, patience=patience,
                phone=rng.random() < args.phones,
                rating=rng.choices(SCORES, SCORE_W)[0] if rng.random() < P_RATE else None,
                service_s=(self._service_time(rng, sid, priority),
                           self._service_time(rng, transfer_to or sid, priority)),
                walk_s=rng.uniform(20, 60),
                request_id=f"sim{args.seed}-{i:05d}-{rng.getrandbits(64):016x}",
                addr=f"127.{20 + i // 64516}.{(i // 254) % 254 + 1}.{i % 254 + 1}"))
        self.officers = self._officers(rng, day_epoch)

    def _service_time(self, rng, sid, priority):
        if rng.random() < P_QUICK:
            return 60 * rng.uniform(0.5, 2.0)
        m = self.services[sid]["mean_min"] * (1.15 if priority else 1.0)
        mu = math.log(m) - SERVICE_SIGMA ** 2 / 2
        return 60 * min(60.0, max(0.5, rng.lognormvariate(mu, SERVICE_SIGMA)))

    def _arrivals(self, rng, day_epoch):
        """Arrival instants (simulated epochs) in [start, end): thinning of a homogeneous
        Poisson process at the peak rate, scaled so that a full day expects --visitors."""
        knots = [(hm(t), v) for t, v in PROFILE]

        def rel(minute):
            if minute <= knots[0][0] or minute >= knots[-1][0]:
                return knots[0][1] if minute == knots[0][0] else 0.0
            for (m0, v0), (m1, v1) in zip(knots, knots[1:], strict=False):
                if m0 <= minute < m1:
                    return v0 + (v1 - v0) * (minute - m0) / (m1 - m0)
            return 0.0
        day_mass = sum(rel(m + 0.5) for m in range(knots[0][0], knots[-1][0]))
        per_min = self.args.visitors / day_mass    # visitors per simulated minute per unit
        peak = max(v for _, v in knots) * per_min / 60  # per simulated second
        t = self.args.start_min * 60.0
        end = self.args.end_min * 60.0
        out = []
        while True:
            t += rng.expovariate(peak)
            if t >= end:
                break
            if rng.random() * peak <= rel(t / 60) * per_min / 60:
                out.append(day_epoch + t)
        self.expected_in_window = sum(rel(m + 0.5) for m in range(
            self.args.start_min, self.args.end_min)) * per_min
        return out

    def _officers(self, rng, day_epoch):
        args = self.args
        sessions = []
        for s in self.cfg["hours"]["sessions"]:
            o, c = hm(s["open"]), hm(s["close"])
            lo, hi = max(o, args.start_min), min(c, args.end_min)
            if lo < hi:
                sessions.append((o, c, lo, hi))
        reasons = [r.get("vi") or next(iter(r.values()))
                   for r in self.cfg["console"]["pause_reasons"]] or ["Nghỉ giải lao"]
        officers = []
        for c in self.counters:
            plan = []
            for k, (o, close, lo, hi) in enumerate(sessions):
                last = k == len(sessions) - 1
                if lo > o:                      # the window starts inside the session
                    arrive = lo - rng.uniform(0, 5)
                else:
                    arrive = o + rng.uniform(-10, 3)
                    if rng.random() < 0.06:
                        arrive = o + rng.uniform(10, 25)
                if hi < close:                  # the window ends inside the session
                    soft, hard = hi, hi + args.drain
                else:
                    soft, hard = close, close + (30 if last else 15)
                breaks = []
                if rng.random() < 0.3 and soft - arrive > 90:
                    at = rng.uniform(arrive + 45, soft - 45)
                    breaks.append((day_epoch + at * 60, 60 * rng.uniform(5, 15),
                                   rng.choice(reasons)))
                plan.append(Session(arrive=day_epoch + arrive * 60, soft=day_epoch + soft * 60,
                                    hard=day_epoch + hard * 60,
                                    lunch="close" if rng.random() < 0.25 else "pause",
                                    breaks=breaks))
            officers.append(Officer(cid=c["id"], zone=c["zone"], services=list(c["services"]),
                                    priority=bool(c.get("priority")),
                                    username=f"sim-officer-{c['id']}", sessions=plan,
                                    rng=random.Random(rng.getrandbits(64))))
        return officers


# -- HTTP bookkeeping -----------------------------------------------------------------------

class Traffic:
    def __init__(self):
        self.lat = collections.defaultdict(list)     # kind -> [seconds]
        self.status = collections.Counter()          # (kind, status, code)
        self.transport_errors = collections.Counter()
        self.n = 0
        self.slow = []                               # (start, seconds) of answers > 100 ms

    async def req(self, http, method, path, body=None, kind=None):
        kind = kind or f"{method} {path}"
        t = time.perf_counter()
        try:
            status, _, data = await http.request(method, path, body)
        except (common.HTTPError, OSError, asyncio.IncompleteReadError) as exc:
            self.n += 1
            self.transport_errors[(kind, type(exc).__name__)] += 1
            return 0, {"error": repr(exc), "code": "transport"}
        self.n += 1
        dt = time.perf_counter() - t
        self.lat[kind].append(dt)
        if dt > 0.1:
            self.slow.append((t, dt))
        code = data.get("code") if isinstance(data, dict) and status >= 400 else None
        self.status[(kind, status, code)] += 1
        return status, data


# -- the day --------------------------------------------------------------------------------

class Day:
    def __init__(self, pop: Population, port: int, clock: SimClock, args, stats):
        self.pop, self.port, self.clock, self.args, self.stats = pop, port, clock, args, stats
        self.traffic = Traffic()
        self.by_number: dict[str, Visitor] = {}
        self.waiting = collections.Counter()       # local view: service -> waiting
        self.officers = {o.cid: o for o in pop.officers}
        self.kiosks = {k["id"] for k in pop.cfg.get("kiosks", []) if not k.get("secret")}
        self.kiosk_pool: asyncio.Queue | None = None
        self.tasks: set[asyncio.Task] = set()
        self.counts = collections.Counter()
        self.display_events = collections.Counter()
        self.phone_sockets = 0
        self.phone_sockets_peak = 0
        self.phone_failures = collections.Counter()
        self.service_durations = collections.defaultdict(list)   # service -> sim s
        self.dept_recent = collections.defaultdict(lambda: collections.deque(maxlen=20))
        self.lags = []
        self.peak_rss = 0.0
        self.errors_log = []

    def spawn(self, coro):
        task = asyncio.create_task(coro, name=coro.__name__)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task):
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.errors_log.append(repr(exc))
            if len(self.errors_log) <= 5:
                print(f"!! task failed: {exc!r}", flush=True)

    def wake(self, service):
        for cid in self.pop.by_service.get(service, ()):
            o = self.officers.get(cid)
            if o and o.wake and o.status == "open":
                o.wake.set()

    def department_estimate(self, v):
        """For comparison only (not the server's): everyone waiting for any service of the
        department (this generator's count) times the department's recent mean
        call-to-completion, over the open counters serving the department."""
        dept = self.pop.services[v.service]["dept"]
        sids = self.pop.dept_services[dept]
        ahead = sum(self.waiting[s] for s in sids)
        counters = {c for s in sids for c in self.pop.by_service.get(s, ())}
        n = sum(1 for c in counters if self.officers[c].status == "open") or len(counters)
        recent = self.dept_recent[dept]
        m = mean(recent) if recent else 60 * self.pop.cfg["queue"]["default_service_min"]
        return ahead * m / n

    def open_serving(self, service):
        return sum(1 for cid in self.pop.by_service.get(service, ())
                   if self.officers[cid].status == "open")

    # visitors ------------------------------------------------------------------------

    async def arrivals(self):
        for v in self.pop.visitors:
            await self.clock.sleep_until(v.arrive)
            self.spawn(self.visitor(v))

    async def visitor(self, v: Visitor):
        v.issue_lag = self.clock.now() - v.arrive
        floor = self.pop.services[v.service]["floor"]
        body = {"service": v.service, "priority": v.priority, "request_id": v.request_id}
        kiosk = f"kiosk-tang-{floor}"
        if kiosk in self.kiosks:
            body["kiosk"] = kiosk
        conn = await self.kiosk_pool.get()
        try:
            status, data = await self.traffic.req(conn, "POST", "/api/tickets", body)
        finally:
            self.kiosk_pool.put_nowait(conn)
        if status == 409 and str(data.get("code", "")).startswith("service_closed"):
            v.state = "refused"
            self.counts["refused_" + data["code"]] += 1
            return
        if status != 201:
            v.state = "error"
            return
        v.state = "waiting"
        v.number, v.token = data["number"], data["token"]
        v.issued_at = parse_iso(data["issued_at"])
        v.position = data.get("position")
        if "estimated_wait_s" not in data:
            v.est_missing = True
        v.estimate = data.get("estimated_wait_s")
        v.open_at_issue = self.open_serving(v.service)
        v.alt_estimate = self.department_estimate(v)
        self.by_number[v.number] = v
        self.waiting[v.service] += 1
        self.wake(v.service)
        if v.phone:
            self.spawn(self.phone(v))
        if v.patience is not None:
            self.spawn(self.impatient(v))

    async def visitor_http(self, v, method, path, body=None, kind=None):
        """A visitor's own request, from their own address (their phone)."""
        http = common.AsyncHTTP(common.HOST, self.port, local_addr=(v.addr, 0))
        try:
            return await self.traffic.req(http, method, path, body, kind)
        finally:
            http.close()

    async def impatient(self, v: Visitor):
        await self.clock.sleep_until(v.issued_at + v.patience)
        if v.state != "waiting" or v.calls:
            return
        status, data = await self.visitor_http(v, "POST", f"/api/tickets/{v.token}/cancel",
                                               kind="POST /api/tickets/<token>/cancel")
        if status == 200:
            v.state = "cancelled"
            self.waiting[v.service] = max(0, self.waiting[v.service] - 1)
        elif status == 409:
            self.counts["cancel_too_late"] += 1

    async def rate(self, v: Visitor):
        await self.clock.sleep(v.walk_s)
        status, _ = await self.visitor_http(v, "POST", f"/api/tickets/{v.token}/rating",
                                            {"score": v.rating, "comment": ""},
                                            kind="POST /api/tickets/<token>/rating")
        v.rated = status == 201

    async def phone(self, v: Visitor):
        """The visitor's phone follows the ticket until it is over."""
        def on_event(client, name, data, t):
            v.phone_events[name] += 1
        c = common.SioClient(common.HOST, self.port, on_event=on_event)
        try:
            await c.connect()
            await c.join(f"ticket:{v.token}")
        except (OSError, TimeoutError) as exc:
            self.phone_failures[type(exc).__name__] += 1
            await c.close()
            return
        v.phone_joined = self.clock.now()
        self.phone_sockets += 1
        self.phone_sockets_peak = max(self.phone_sockets_peak, self.phone_sockets)
        try:
            while v.state in ("waiting", "called", "serving") and c.connected:
                await asyncio.sleep(0.5)
            await self.clock.sleep(30)
        finally:
            self.phone_sockets -= 1
            if not c.connected:
                self.phone_failures["dropped"] += 1
            await c.close()

    # officers ------------------------------------------------------------------------

    async def act(self, o: Officer, action, body=None):
        status, data = await self.traffic.req(
            o.http, "POST", f"/api/counters/{o.cid}/{action}", body,
            kind=f"POST /api/counters/<id>/{action}")
        if status == 200 and action in ("open", "close", "pause", "resume"):
            o.status = data["counter"]["status"]
        return status, data

    async def officer(self, o: Officer):
        o.wake = asyncio.Event()
        for k, sess in enumerate(o.sessions):
            await self.clock.sleep_until(sess.arrive)
            if o.status == "closed":
                await self.act(o, "open")
            elif o.status == "paused":
                await self.act(o, "resume")
            if o.status == "open":
                await self.work(o, sess)
            if k == len(o.sessions) - 1:
                await self.act(o, "close")
            elif sess.lunch == "close":
                await self.act(o, "close")
            else:
                await self.act(o, "pause", {"reason": LUNCH_REASON})

    def line_of(self, o):
        return sum(self.waiting[s] for s in o.services)

    async def work(self, o: Officer, sess: Session):
        breaks = list(sess.breaks)
        rng = o.rng
        while True:
            now = self.clock.now()
            if breaks and now >= breaks[0][0]:
                _, dur, reason = breaks.pop(0)
                if now < sess.soft:
                    status, _ = await self.act(o, "pause", {"reason": reason})
                    if status == 200:
                        self.counts["short_pauses"] += 1
                        await self.clock.sleep(dur)
                        await self.act(o, "resume")
                continue
            if now >= sess.hard or (now >= sess.soft and self.line_of(o) == 0):
                return
            status, data = await self.traffic.req(o.http, "POST", f"/api/counters/{o.cid}/next",
                                                  kind="POST /api/counters/<id>/next")
            ticket = data.get("ticket") if status == 200 else None
            if status != 200:
                await self.clock.sleep(30)
                continue
            if ticket is None:
                o.idle_nexts += 1
                if self.clock.now() >= sess.soft:
                    return
                until = min(sess.soft, breaks[0][0] if breaks else sess.soft)
                o.wake.clear()
                timeout = max(1.0, min(POLL_S, until - self.clock.now()))
                try:
                    await asyncio.wait_for(o.wake.wait(), timeout / self.clock.speed)
                except TimeoutError:
                    pass
                await self.clock.sleep(rng.uniform(2, 10))   # sees the console, clicks
                continue
            await self.handle(o, ticket)
            await self.clock.sleep(rng.uniform(5, 20))       # paperwork between visitors

    async def lookup(self, number):
        for _ in range(200):
            v = self.by_number.get(number)
            if v is not None:
                return v
            await asyncio.sleep(0.01)   # its kiosk answer is still on its way
        return None

    async def handle(self, o: Officer, t: dict):
        rng = o.rng
        svc = t["service"]
        self.waiting[svc] = max(0, self.waiting[svc] - 1)
        v = await self.lookup(t["number"])
        self.counts["calls"] += 1
        if o.priority:
            self.counts["calls_at_priority_counters"] += 1
        if v is None:
            self.counts["unknown_number_called"] += 1
            await self.act(o, "serve")
            await self.act(o, "complete")
            return
        v.calls += 1
        v.state = "called"
        if v.first_called is None:
            v.first_called = parse_iso(t["called_at"])
            v.first_counter = o.cid
        called = parse_iso(t["called_at"])
        if v.absent == "late" and not v.requeued:
            await self.clock.sleep(rng.uniform(50, 80))
            status, _ = await self.act(o, "requeue")
            if status == 200:
                v.requeued, v.state = True, "waiting"
                self.counts["requeued"] += 1
                self.waiting[svc] += 1
                self.wake(svc)
                return
        elif v.absent in ("noshow", "back") and not v.resolved:
            await self.clock.sleep(rng.uniform(45, 75))
            await self.act(o, "recall")
            self.counts["recalls"] += 1
            if v.absent == "back":
                v.resolved = True
                await self.clock.sleep(rng.uniform(20, 50))
            else:
                await self.clock.sleep(rng.uniform(45, 75))
                await self.act(o, "recall")
                self.counts["recalls"] += 1
                await self.clock.sleep(rng.uniform(45, 75))
                status, _ = await self.act(o, "no-show")
                if status == 200:
                    v.state = "no_show"
                return
        else:
            walk = v.walk_s + (30 if self.pop.services[svc]["zone"] != o.zone else 0)
            await self.clock.sleep(walk)
        status, _ = await self.act(o, "serve")
        if status != 200:
            return
        v.state = "serving"
        if v.transfer_to and not v.transferred:
            await self.clock.sleep(rng.uniform(60, 180))
            status, _ = await self.act(o, "transfer", {"service": v.transfer_to})
            if status == 200:
                v.transferred, v.state = True, "waiting"
                self.counts["transferred"] += 1
                self.waiting[v.transfer_to] += 1
                self.wake(v.transfer_to)
                return
        await self.clock.sleep(v.service_s[1 if v.transferred else 0])
        status, _ = await self.act(o, "complete")
        if status == 200:
            v.state = "done"
            v.finished_service = svc
            v.service_took = self.clock.now() - called
            self.service_durations[svc].append(v.service_took)
            self.dept_recent[self.pop.services[svc]["dept"]].append(v.service_took)
            o.served += 1
            if v.rating:
                self.spawn(self.rate(v))

    # screens ---------------------------------------------------------------------------

    async def displays(self):
        zones = [z["id"] for z in self.pop.cfg["zones"]]
        out = []
        for room in ["display"] + [f"display:{z}" for z in zones]:
            def on_event(client, name, data, t, _room=room):
                self.display_events[(_room, name)] += 1
            c = common.SioClient(common.HOST, self.port, on_event=on_event)
            await c.connect()
            await c.join(room)
            out.append(c)
        return out

    async def loop_lag(self):
        """How late this process's event loop wakes up (a blocked generator would make
        the server look slow)."""
        self.loop_lags = []
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.02)
            lag = time.perf_counter() - t - 0.02
            if lag > 0.05:
                self.loop_lags.append((t, lag))

    async def sample_rss(self):
        while True:
            try:
                self.peak_rss = max(self.peak_rss, self.stats.rss_mb())
            except Exception:  # the server went away: reported at the end
                return
            await asyncio.sleep(2)

    # the whole day -----------------------------------------------------------------------

    async def run(self, go):
        """``go()`` starts the simulated clock (after the logins)."""
        # officers log in on the frozen clock, a few at a time (scrypt)
        sem = asyncio.Semaphore(4)

        async def login(o):
            async with sem:
                o.http = common.AsyncHTTP(common.HOST, self.port)
                await o.http.login(o.username)
        await asyncio.gather(*(login(o) for o in self.pop.officers))
        self.kiosk_pool = asyncio.Queue()
        for _ in range(self.args.kiosks):
            self.kiosk_pool.put_nowait(common.AsyncHTTP(common.HOST, self.port))
        screens = await self.displays()
        go()
        self.t_start = time.monotonic()
        self.load_before = os.getloadavg()[0]
        self.t_start_perf = time.perf_counter()
        self.cpu0 = common.cpu_now()
        self.srv_cpu0 = self.stats.cpu_s()
        sampler = asyncio.create_task(self.sample_rss())
        lagger = asyncio.create_task(self.loop_lag())
        arrivals = asyncio.create_task(self.arrivals())
        await asyncio.gather(*(self.officer(o) for o in self.pop.officers))
        self.t_end = time.monotonic()
        self.sim_end = self.clock.now()
        arrivals.cancel()
        rating = [t for t in self.tasks if t.get_name() == "rate"]
        if rating:                        # the last visitors rating on their way out
            await asyncio.wait(rating, timeout=5)
        for task in list(self.tasks):     # impatient visitors still asleep, phones
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.cpu = common.cpu_now() - self.cpu0
        self.srv_cpu = self.stats.cpu_s() - self.srv_cpu0
        sampler.cancel()
        lagger.cancel()
        await self.verify_sample()
        for c in screens:
            await c.close()
        for o in self.pop.officers:
            o.http.close()
        while not self.kiosk_pool.empty():
            self.kiosk_pool.get_nowait().close()

    async def verify_sample(self, k=300):
        """The server's word on a sample of tickets (GET /api/tickets/<token>)."""
        issued = [v for v in self.pop.visitors if v.token]
        sample = random.Random(self.args.seed + 1).sample(issued, min(k, len(issued)))
        expect = {"done": "done", "no_show": "no_show", "cancelled": "cancelled",
                  "waiting": "waiting", "called": "called", "serving": "serving"}
        self.verify = collections.Counter()
        self.verify_wait_diff = []
        for v in sample:
            status, data = await self.visitor_http(v, "GET", f"/api/tickets/{v.token}",
                                                   kind="GET /api/tickets/<token>")
            if status != 200:
                self.verify["http_" + str(status)] += 1
                continue
            ok = data.get("status") == expect.get(v.state)
            self.verify["agree" if ok else f"local {v.state} / server {data.get('status')}"] += 1
            if (v.first_called is not None and not v.transferred and not v.requeued
                    and data.get("called_at") and data.get("issued_at")):
                self.verify_wait_diff.append(abs(
                    (parse_iso(data["called_at"]) - parse_iso(data["issued_at"]))
                    - (v.first_called - v.issued_at)))


# -- report ---------------------------------------------------------------------------------

def report(day: Day, args, rss_end):
    pop, tr = day.pop, day.traffic
    vs = pop.visitors
    issued = [v for v in vs if v.token]
    called = [v for v in issued if v.first_called is not None]

    def wait_min(v):
        return (v.first_called - v.issued_at) / 60

    def err_min(v):
        return (v.estimate / 60) - wait_min(v)
    scored = [v for v in called if v.estimate is not None]
    print()
    print(f"== waits, issue -> first call, simulated minutes (services with >= "
          f"{args.min_tickets} tickets) ==")
    head = (f"{'service':30s} {'pre':>3s} {'iss':>5s} {'call':>5s} {'p50':>6s} {'p90':>6s} "
            f"{'p99':>6s} {'max':>6s}  {'estMAE':>6s} {'bias':>6s} {'svc':>5s}")
    print(head)
    per = collections.defaultdict(list)
    for v in issued:
        per[v.service].append(v)

    def row(name, prefix, group, svc_mean=None):
        w = [wait_min(v) for v in group if v.first_called is not None]
        e = [err_min(v) for v in group if v.first_called is not None and v.estimate is not None]
        svc = f"{svc_mean:5.1f}" if svc_mean is not None else "    -"
        print(f"{name[:30]:30s} {prefix:>3s} {len(group):5d} {len(w):5d} {pct(w, 50):6.1f} "
              f"{pct(w, 90):6.1f} {pct(w, 99):6.1f} {max(w) if w else float('nan'):6.1f}  "
              f"{mean([abs(x) for x in e]):6.1f} {mean(e):+6.1f} {svc}")
    for sid, group in sorted(per.items(), key=lambda kv: -len(kv[1])):
        if len(group) >= args.min_tickets:
            d = day.service_durations.get(sid)
            row(sid, pop.services[sid]["prefix"], group, mean(d) / 60 if d else None)
    allsvc = [x for d in day.service_durations.values() for x in d]
    row("all", "", issued, mean(allsvc) / 60 if allsvc else None)
    print("(pre: prefix; iss: tickets issued; call: called at least once; estMAE/bias: "
          "estimate at issue minus real wait, min; svc: mean call-to-completion, min)")

    print()
    print("== estimated_wait_s at issue vs real wait (simulated minutes; error = estimate - "
          "real) ==")

    def acc(label, group):
        e = [err_min(v) for v in group]
        if not e:
            print(f"  {label:34s} n=    0")
            return
        a = [abs(x) for x in e]
        w = [wait_min(v) for v in group]
        est = [v.estimate / 60 for v in group]
        within = sum(1 for v in group if abs(err_min(v)) <= max(5, 0.25 * wait_min(v)))
        print(f"  {label:34s} n={len(e):5d}  MAE {mean(a):6.1f}  MedAE {median(a):6.1f}  "
              f"bias {mean(e):+6.1f}  real p50 {median(w):6.1f}  est p50 {median(est):6.1f}  "
              f"ok {100 * within / len(e):3.0f}%")
    acc("all called tickets", scored)
    acc("ordinary", [v for v in scored if not v.priority])
    acc("priority", [v for v in scored if v.priority])
    acc("estimate = 0 (nobody ahead)", [v for v in scored if v.estimate == 0])
    acc("estimate > 0", [v for v in scored if v.estimate > 0])
    acc("estimate > 0, real wait > 2x est.", [v for v in scored if v.estimate > 0
                                             and wait_min(v) > 2 * v.estimate / 60])
    acc("transferred later (first wait)", [v for v in scored if v.transferred])
    alt = [v for v in scored if v.alt_estimate is not None]
    if alt:
        ae = [v.alt_estimate / 60 - wait_min(v) for v in alt]
        print(f"  {'for comparison, department line *':34s} n={len(ae):5d}  MAE "
              f"{mean([abs(x) for x in ae]):6.1f}  MedAE {median([abs(x) for x in ae]):6.1f}  "
              f"bias {mean(ae):+6.1f}  (* not the server's: everyone waiting in the "
              f"department x its last 20 service times / its open counters)")
    nulls = [v for v in called if v.estimate is None]
    print(f"  estimate null: {len(nulls)} called tickets"
          + (f", real wait mean {mean([wait_min(v) for v in nulls]):.1f} min = MAE if read "
             f"as 0" if nulls else "")
          + f"; field missing from the answer: {sum(1 for v in issued if v.est_missing)}")
    print("  (ok: |error| <= max(5 min, 25% of the real wait))")
    print("  by hour of issue:")
    byh = collections.defaultdict(list)
    for v in scored:
        local = datetime.fromtimestamp(v.issued_at, ZoneInfo(args.tz))
        byh[local.hour].append(v)
    for h in sorted(byh):
        acc(f"{h:02d}:00-{h:02d}:59", byh[h])
    ratios = []
    for v in scored:
        d = day.service_durations.get(v.service)
        if v.position and v.position > 1 and d:
            n_cfg = len(pop.by_service[v.service])
            implied = v.estimate / (v.position - 1) * (v.open_at_issue or n_cfg)
            ratios.append((implied / mean(d), v.service))
    if ratios:
        low = [sid for r, sid in ratios if r < 0.5]
        print(f"  mean service time implied by estimates with someone ahead: {len(ratios)} "
              f"tickets; below half the service's observed mean: {len(low)} "
              f"(min ratio {min(r for r, _ in ratios):.2f}"
              + (f"; {', '.join(f'{k} {n}' for k, n in collections.Counter(low).most_common(3))}"
                 if low else "") + ")")
    print("  busiest services (implied mean = estimate / ahead x open counters serving it at "
          "issue, vs observed call-to-completion):")
    top = sorted(per.items(), key=lambda kv: -len(kv[1]))[:args.top]
    for sid, group in top:
        g = [v for v in group if v in scored]
        acc(sid[:34], g)
        cfg_n = len(pop.by_service[sid])
        implied = [v.estimate / (v.position - 1) * (v.open_at_issue or cfg_n) / 60
                   for v in g if v.position and v.position > 1]
        d = day.service_durations.get(sid, [])
        sharing = {s for cid in pop.by_service[sid] if not day.officers[cid].priority
                   for s in day.officers[cid].services}
        if implied:
            print(f"  {'':34s} implied mean service min {min(implied):.1f} / "
                  f"p50 {median(implied):.1f} / max {max(implied):.1f}; observed mean "
                  f"{mean(d) / 60 if d else float('nan'):.1f} (n={len(d)}); counters "
                  f"serving it {cfg_n} (with the priority counter), services sharing its "
                  f"ordinary counters {len(sharing)}")

    print()
    print("== outcomes ==")
    st = collections.Counter(v.state for v in vs)
    c = day.counts
    print(f"  visitors generated {len(vs)} (expected in window {pop.expected_in_window:.0f}); "
          f"tickets issued {len(issued)} ({sum(1 for v in issued if v.priority)} priority); "
          f"refused at the kiosk {st['refused']} "
          f"({', '.join(f'{k[8:]}={n}' for k, n in c.items() if k.startswith('refused_'))}); "
          f"issue errors {st['error']}")
    print(f"  served (done) {st['done']}, no-show {st['no_show']}, cancelled {st['cancelled']} "
          f"(+{c['cancel_too_late']} too late to cancel), transferred {c['transferred']}, "
          f"requeued {c['requeued']}, recalls {c['recalls']}, short pauses "
          f"{c['short_pauses']}, ratings {sum(1 for v in vs if v.rated)}")
    left = [v for v in issued if v.state in ("waiting", "called", "serving")]
    print(f"  calls {c['calls']} ({c['calls_at_priority_counters']} at priority counters); "
          f"still open when the counters closed: {len(left)} "
          f"({sum(1 for v in left if v.first_called is None)} never called, waiting since "
          f"{mean([(day.sim_end - v.issued_at) / 60 for v in left]) if left else 0:.0f} min "
          f"on average)")
    if c["unknown_number_called"]:
        print(f"  !! called numbers this generator never issued: {c['unknown_number_called']}")
    lags = [v.issue_lag for v in issued if v.issue_lag is not None]
    print(f"  generator lag at issue (simulated s): p50 {pct(lags, 50):.1f} p99 "
          f"{pct(lags, 99):.1f} max {max(lags) if lags else float('nan'):.1f}")
    ver = day.verify
    print(f"  server check of {sum(ver.values())} sampled tickets (GET /api/tickets/<token>): "
          + ", ".join(f"{k}={n}" for k, n in ver.most_common())
          + (f"; wait from the server vs from /next: max diff "
             f"{max(day.verify_wait_diff):.0f} s" if day.verify_wait_diff else ""))
    calls_ev = day.display_events[("display", "ticket_called")]
    recalls_ev = day.display_events[("display", "ticket_recalled")]
    zone_calls = sum(n for (room, name), n in day.display_events.items()
                     if room != "display" and name == "ticket_called")
    print(f"  hall display (whole center): ticket_called {calls_ev} of {c['calls']} calls, "
          f"ticket_recalled {recalls_ev} of {c['recalls']}; zone displays ticket_called "
          f"{zone_calls} in all")
    ph = [v for v in issued if v.phone]
    early = [v for v in ph if v.phone_joined and v.first_called
             and v.phone_joined < v.first_called - 2]
    got_call = sum(1 for v in early if v.phone_events["ticket_called"])
    moves = sum(v.phone_events["position_changed"] for v in ph)
    print(f"  phones following their ticket: {len(ph)} (peak {day.phone_sockets_peak} open); "
          f"{got_call} of the {len(early)} that joined before their call heard it; "
          f"position_changed events {moves}; failures {dict(day.phone_failures) or 0}")

    print()
    print("== HTTP ==")
    real_s = day.t_end - day.t_start
    print(f"  real duration {real_s:.0f} s for {(day.sim_end - day.clock.origin) / 3600:.2f} "
          f"simulated h (x{args.speed:g}); {tr.n} requests, {tr.n / real_s:.1f} req/s")
    print(f"  {'route':42s} {'n':>6s} {'p50 ms':>7s} {'p99 ms':>7s} {'max ms':>7s}")
    for kind, lat in sorted(tr.lat.items(), key=lambda kv: -len(kv[1])):
        s = sorted(lat)
        print(f"  {kind:42s} {len(s):6d} {pct(s, 50) * 1000:7.1f} {pct(s, 99) * 1000:7.1f} "
              f"{s[-1] * 1000:7.1f}")
    stalls, end = [], None            # overlapping slow answers = one stall of the server
    for t0, dt in sorted(tr.slow):
        if end is not None and t0 <= end:
            stalls[-1][1] += 1
            end = max(end, t0 + dt)
            stalls[-1][2] = end - stalls[-1][0]
        else:
            stalls.append([t0, 1, dt])
            end = t0 + dt
    lags = day.loop_lags
    print(f"  load generator event loop: {len(lags)} wake-ups more than 50 ms late, max "
          f"{max((x[1] for x in lags), default=0) * 1000:.0f} ms; machine load average "
          f"{day.load_before:.1f} before, {os.getloadavg()[0]:.1f} at end (1 min; 2 cores "
          f"means > 2 is contention from other processes)")
    if stalls:
        longest = sorted(s[2] for s in stalls)
        print(f"  answers over 100 ms: {len(tr.slow)}, in {len(stalls)} stalls (overlapping "
              f"slow answers); stall length p50 {pct(longest, 50) * 1000:.0f} ms, max "
              f"{longest[-1] * 1000:.0f} ms; up to {max(s[1] for s in stalls)} requests "
              f"caught in one")
        if os.environ.get("SIMDAY_DEBUG"):
            print("  generator loop lags > 50 ms: " + ", ".join(
                f"{t - day.t_start_perf:.1f}/{lag * 1000:.0f}" for t, lag in day.loop_lags))
            print("  stalls (real s from start, ms, requests): " + ", ".join(
                f"{s[0] - day.t_start_perf:.1f}/{s[2] * 1000:.0f}/{s[1]}" for s in stalls))
    errors = [(k, n) for k, n in tr.status.items() if k[1] >= 400]
    fivexx = [(k, n) for k, n in errors if k[1] >= 500]
    if errors:
        print("  HTTP errors:")
        for (kind, status, code), n in sorted(errors, key=lambda kv: -kv[1]):
            expected = (kind.endswith("/cancel") and code == "cannot_cancel") or (
                kind == "POST /api/tickets" and str(code).startswith("service_closed"))
            print(f"    {n:6d} x {status} {code} on {kind}"
                  + ("  (expected: visitor race / hours)" if expected else "  (UNEXPECTED)"))
    else:
        print("  HTTP errors: none")
    if tr.transport_errors:
        print(f"  transport errors: {dict(tr.transport_errors)}")
    if fivexx:
        total = sum(n for _, n in fivexx)
        print("!" * 78)
        print(f"!! {total} HTTP 5xx ANSWERS: " + "; ".join(
            f"{n} x {s} {c} on {k}" for (k, s, c), n in fivexx))
        print("!" * 78)
    if day.errors_log:
        print(f"  !! {len(day.errors_log)} generator tasks failed, first: {day.errors_log[0]}")
    print()
    print("== server and load generator ==")
    print(f"  server RSS at end {rss_end:.0f} MB (peak sampled {day.peak_rss:.0f} MB); server CPU "
          f"{day.srv_cpu:.0f} s = {day.srv_cpu / real_s * 100:.0f}% of one core; load "
          f"generator CPU {day.cpu:.0f} s = {day.cpu / real_s * 100:.0f}% of one core")
    return {"issued": len(issued), "served": st["done"], "no_show": st["no_show"],
            "cancelled": st["cancelled"], "http_5xx": sum(n for _, n in fivexx)}


# -- main -----------------------------------------------------------------------------------

def run_once(args):
    work = common.Workdir(keep=args.keep, prefix="qms-simday-")
    server = None
    try:
        overrides = {"hours": {"enforce": bool(args.enforce_hours)}}
        if args.no_speech:
            overrides["speech"] = {"engine": "none"}
        config = common.write_config(work.path, "gevent", overrides)
        cfg = common.load_config(config)
        args.tz = cfg["center"]["timezone"]
        tz = ZoneInfo(args.tz)
        day = date.fromisoformat(args.date)
        if WEEKDAYS[day.weekday()] not in cfg["hours"]["days"]:
            sys.exit(f"error: {args.date} is a {WEEKDAYS[day.weekday()]}, not a working day "
                     f"of the config ({cfg['hours']['days']})")
        day_epoch = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        pop = Population(cfg, args, day_epoch)
        origin = day_epoch + (args.start_min - 15) * 60
        go_file = work.path / "go"
        os.environ.update({"QMS_SIM_START": repr(origin), "QMS_SIM_SPEED": repr(args.speed),
                           "QMS_SIM_GO": str(go_file)})
        try:
            server = common.Server(config, script=FAST_SERVER, name="simday").start()
        finally:
            for k in ("QMS_SIM_START", "QMS_SIM_SPEED", "QMS_SIM_GO"):
                os.environ.pop(k, None)
        names = [o.username for o in pop.officers]
        t = time.monotonic()
        for i in range(0, len(names), 16):
            common.add_users(config, names[i:i + 16])
        print(f"simulate_day: {args.date} {fmt_hm(args.start_min)}-{fmt_hm(args.end_min)} "
              f"(local {args.tz}) at x{args.speed:g}, seed {args.seed}; {len(pop.visitors)} "
              f"visitors over {len({v.service for v in pop.visitors})} services; "
              f"{len(pop.officers)} officers/counters (accounts made in "
              f"{time.monotonic() - t:.0f} s); hours enforced: {bool(args.enforce_hours)}; "
              f"speech: {'off' if args.no_speech else cfg['speech']['engine']}", flush=True)
        stats = common.ProcStats(server.pid)
        clock = SimClock(origin, args.speed)
        sim = Day(pop, server.port, clock, args, stats)

        def go():
            clock.t0 = time.time() + 0.05
            tmp = go_file.with_suffix(".tmp")
            tmp.write_text(repr(clock.t0))
            os.replace(tmp, go_file)
            print(f"clock running from {fmt_hm(args.start_min - 15)} simulated "
                  f"(~{(args.end_min + 30 - args.start_min + 15) * 60 / args.speed:.0f} s real "
                  f"at most)", flush=True)

        span = (args.end_min - args.start_min + 15 + 45 + args.drain) * 60 / args.speed
        try:
            asyncio.run(asyncio.wait_for(sim.run(go), span + 300))
        except TimeoutError:
            print("!! the day did not finish in time (timeout)")
            raise
        if not server.alive():
            print(f"!! server died: {server.log_tail()}")
            rss_end = float("nan")
        else:
            rss_end = stats.rss_mb()
        figures = report(sim, args, rss_end)
        tail = server.log_tail(200000)
        tracebacks = tail.count("Traceback")
        if tracebacks:
            print(f"!! server log holds {tracebacks} traceback(s); last part:\n"
                  + tail[tail.rfind("Traceback") - 200:][:3000])
        return figures
    finally:
        if server:
            server.stop()
        work.cleanup()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", type=float, default=150,
                    help="simulated seconds per real second (default 150: a full day "
                    "07:15-17:30 in about 4 min, plus about 30 s of set-up)")
    ap.add_argument("--visitors", type=int, default=2600,
                    help="expected visitors over a full day 07:30-17:00 (default 2600); a "
                    "shorter window gets its share")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--date", default="2026-03-04", help="simulated day (a working day)")
    ap.add_argument("--start", default="07:30", help="first arrival (default 07:30)")
    ap.add_argument("--end", default=None, help="last arrival (default 17:00)")
    ap.add_argument("--hours", type=float, default=None,
                    help="simulate this many hours from --start instead of --end")
    ap.add_argument("--drain", type=float, default=20,
                    help="when the window ends inside a session: minutes the officers go "
                    "on calling (default 20)")
    ap.add_argument("--enforce-hours", action="store_true",
                    help="set hours.enforce (kiosks refuse tickets outside the issuing "
                    "hours: 07:30-11:00, 13:00-16:30); default off, as the shipped config")
    ap.add_argument("--phones", type=float, default=0.2,
                    help="share of visitors following their ticket over Socket.IO (0.2)")
    ap.add_argument("--kiosks", type=int, default=4,
                    help="kiosk connections issuing tickets (default 4)")
    ap.add_argument("--no-speech", action="store_true",
                    help="speech.engine none (no WAV synthesis per call)")
    ap.add_argument("--min-tickets", type=int, default=20,
                    help="per-service rows for services with at least this many tickets")
    ap.add_argument("--top", type=int, default=6, help="busiest services detailed (6)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary folder (config, database, server log)")
    args = ap.parse_args(argv)
    args.start_min = hm(args.start)
    if args.hours is not None:
        args.end_min = args.start_min + int(round(args.hours * 60))
    else:
        args.end_min = hm(args.end or "17:00")
    if args.end_min <= args.start_min:
        ap.error("the window is empty")
    print(f"machine: {common.machine_line()}")
    figures = run_once(args)
    if figures["http_5xx"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
