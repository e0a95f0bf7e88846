"""Time from a counter's call to the hall displays (and the visitor's phone) hearing of it.

    .venv/bin/python bench/call_latency.py [--displays 30] [--watchers 100] [--counters 6]
        [--calls 200] [--rate 10] [--hold 0] [--async-mode gevent|threading]
        [--display-client raw|python-socketio]

Set-up: one real server on 127.0.0.1; ``--counters`` officers (accounts made with
``server.py user add``) log in and open one counter each, spread over the zones; tickets
are issued over HTTP for the services of those counters; ``--watchers`` phones each join
the room ``ticket:<token>`` of one of those tickets; ``--displays`` hall screens join
``display`` (one in three) or ``display:<zone>`` of an open counter's zone.

Then every officer loops: POST /next, wait until every display that should show the call
got its ``ticket_called`` (matched by number), POST /serve, POST /complete, repeat, at
``--rate`` calls per second over all counters (or as fast as it goes with ``--rate 0``),
until ``--calls`` calls were made in all. Latency is from just before the POST /next to
each reception (one shared monotonic clock, all clients in this process). Also printed:
the ticket's own watcher's latency, the POST /next round trip, the server's RSS, threads
and file descriptors with every socket open, and whether every socket stayed connected.

Clients are a small asyncio Socket.IO client over raw WebSockets (bench/common.py), so
that 1,000+ sockets cost the load generator little; ``--display-client python-socketio``
uses python-socketio's threaded ``Client`` for the displays instead, as a cross-check.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def pick_counters(config_path, k):
    """``k`` active, non-priority counters, taken round-robin over the zones, each with a
    first service no other picked counter starts with."""
    cfg = common.load_config(config_path)
    by_zone = collections.OrderedDict()
    for c in cfg["counters"]:
        if c.get("active", True) and not c.get("priority", False):
            by_zone.setdefault(c["zone"], []).append(c)
    picked, firsts = [], set()
    while len(picked) < k and any(by_zone.values()):
        for zone in list(by_zone):
            while by_zone[zone]:
                c = by_zone[zone].pop(0)
                if c["services"][0] not in firsts:
                    picked.append(c)
                    firsts.add(c["services"][0])
                    break
            if len(picked) == k:
                break
    if len(picked) < k:
        raise SystemExit(f"only {len(picked)} suitable counters in the config")
    return picked


class Results:
    def __init__(self):
        self.display_rx = collections.defaultdict(list)  # number -> [t]
        self.watcher_rx = {}                              # number -> t
        self.waiters = {}                                 # number -> (expected, Event)
        self.lock = threading.Lock()                      # python-socketio threads too
        self.loop = None

    def display_received(self, number, t):
        with self.lock:
            self.display_rx[number].append(t)
            got = len(self.display_rx[number])
            waiter = self.waiters.get(number)
        if waiter and got >= waiter[0]:
            if threading.current_thread() is threading.main_thread():
                waiter[1].set()
            else:
                self.loop.call_soon_threadsafe(waiter[1].set)

    def waiter(self, number, expected):
        ev = asyncio.Event()
        with self.lock:
            self.waiters[number] = (expected, ev)
            if len(self.display_rx[number]) >= expected:
                ev.set()
        return ev


async def issue_tickets(port, services, count, conns=20):
    """Issue ``count`` tickets cycling over ``services``; returns [(number, token)]."""
    out = [None] * count
    nxt = {"i": 0}

    async def worker():
        http = common.AsyncHTTP(common.HOST, port)
        while nxt["i"] < count:
            i = nxt["i"]
            nxt["i"] += 1
            status, _, body = await http.request("POST", "/api/tickets",
                                                 {"service": services[i % len(services)]})
            if status != 201:
                raise RuntimeError(f"issue failed: {status} {body}")
            out[i] = (body["number"], body["token"])
        http.close()
    await asyncio.gather(*(worker() for _ in range(conns)))
    return out


def start_sio_displays(port, rooms, results):
    """python-socketio threaded clients (cross-check); returns the clients."""
    import socketio
    clients = []
    for room in rooms:
        sio = socketio.Client(reconnection=False)

        def on_called(data, _sio=sio):
            results.display_received(data["number"], time.monotonic())
        sio.on("ticket_called", on_called)
        sio.connect(f"http://{common.HOST}:{port}", transports=["websocket"])
        answer = sio.call("join", {"room": room}, timeout=20)
        if not answer or not answer.get("ok"):
            raise RuntimeError(f"join {room}: {answer}")
        clients.append(sio)
    return clients


async def run(args, server, config_path, counters, stats):
    results = Results()
    results.loop = asyncio.get_running_loop()
    port = server.port
    gen_cpu0 = common.cpu_now()

    # officers log in and open their counters
    officers = []
    for i, c in enumerate(counters):
        http = common.AsyncHTTP(common.HOST, port)
        await http.login(f"bench-officer-{i}")
        status, _, body = await http.request("POST", f"/api/counters/{c['id']}/open")
        if status != 200:
            raise RuntimeError(f"open counter {c['id']}: {status} {body}")
        officers.append((c, http))

    # tickets: enough for every call, and one per watcher
    total = max(args.calls + 2 * len(counters), args.watchers)
    services = [c["services"][0] for c in counters]
    t = time.monotonic()
    tickets = await issue_tickets(port, services, total)
    print(f"issued {total} tickets in {time.monotonic() - t:.1f} s")
    step = total / args.watchers if args.watchers else 0
    watched = [tickets[int(j * step)] for j in range(args.watchers)]
    watched_numbers = {n for n, _ in watched}

    # sockets
    zones = sorted({c["zone"] for c in counters})
    rooms = ["display" if j % 3 == 0 else f"display:{zones[j % len(zones)]}"
             for j in range(args.displays)]
    expected = {z: sum(1 for r in rooms if r in ("display", f"display:{z}")) for z in zones}

    snapshots = collections.Counter()
    received = {"display": collections.Counter(), "watcher": collections.Counter()}

    def on_display(client, name, data, t):
        received["display"][name] += 1
        if name == "ticket_called":
            results.display_received(data["number"], t)
        elif name == "snapshot":
            snapshots["display"] += 1

    def on_watcher(client, name, data, t):
        received["watcher"][name] += 1
        if name == "ticket_called" and data["number"] == client.tag:
            results.watcher_rx.setdefault(data["number"], t)
        elif name == "snapshot" and data.get("ticket", {}).get("number") == client.tag:
            snapshots["watcher"] += 1

    async def open_socket(room, on_event, tag=None):
        c = common.SioClient(common.HOST, port, on_event=on_event, tag=tag)
        await c.connect()
        await c.join(room)
        return c

    t = time.monotonic()
    sio_displays = []
    if args.display_client == "python-socketio":
        sio_displays = await asyncio.to_thread(start_sio_displays, port, rooms, results)
        display_coros = []
    else:
        display_coros = [open_socket(r, on_display) for r in rooms]
    watcher_coros = [open_socket(f"ticket:{tok}", on_watcher, tag=num) for num, tok in watched]
    opened = await common.gather_limited(display_coros + watcher_coros, args.connect_parallel)
    sockets = [s for s in opened if isinstance(s, common.SioClient)]
    failed = [s for s in opened if not isinstance(s, common.SioClient)]
    connect_s = time.monotonic() - t
    n_sockets = len(sockets) + len(sio_displays)
    print(f"opened {n_sockets} sockets in {connect_s:.1f} s "
          f"({len(failed)} failed{': ' + repr(failed[0]) if failed else ''}); snapshot "
          f"before the join answer: "
          + (f"{snapshots['display']} displays, " if not sio_displays else "")
          + f"{snapshots['watcher']} watchers (with their own ticket)")
    await asyncio.sleep(0.5)
    rss_open = stats.rss_mb()
    threads_open, fds_open = stats.threads(), stats.fds()

    # the calls
    next_rtt, calls, timeouts, lost = [], [], 0, 0
    started = {}
    remaining = {"n": args.calls}
    srv_cpu0 = stats.cpu_s()
    t_calls = time.monotonic()

    # --rate: each counter calls at a fixed pace (staggered), so that every async mode
    # gets the same load; a call that runs late starts the next one at once, no burst.
    every = len(counters) / args.rate if args.rate else 0.0

    async def officer(idx, c, http):
        nonlocal timeouts
        cid = c["id"]
        next_at = time.monotonic() + idx * every / len(counters)
        while remaining["n"] > 0:
            if every:
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at = max(next_at, time.monotonic()) + every
            if remaining["n"] <= 0:
                break
            remaining["n"] -= 1
            t0 = time.monotonic()
            status, _, body = await http.request("POST", f"/api/counters/{cid}/next")
            next_rtt.append(time.monotonic() - t0)
            if status != 200:
                raise RuntimeError(f"next at {cid}: {status} {body}")
            ticket = body["ticket"]
            if ticket is None:
                print(f"counter {cid}: no ticket left")
                return
            number = ticket["number"]
            started[number] = t0
            calls.append((number, expected[c["zone"]]))
            ev = results.waiter(number, expected[c["zone"]])
            try:
                await asyncio.wait_for(ev.wait(), args.timeout)
            except TimeoutError:
                timeouts += 1
            if number in watched_numbers and number not in results.watcher_rx:
                await asyncio.sleep(0.05)  # its watcher: give it a moment, then count lost
            for action in ("serve", "complete"):
                status, _, body = await http.request("POST", f"/api/counters/{cid}/{action}")
                if status != 200:
                    raise RuntimeError(f"{action} at {cid}: {status} {body}")
            if args.think and not every:
                await asyncio.sleep(args.think)

    peak = {"rss": rss_open}

    async def sample_rss():
        while True:
            peak["rss"] = max(peak["rss"], stats.rss_mb())
            await asyncio.sleep(0.5)
    sampler = asyncio.create_task(sample_rss())
    await asyncio.gather(*(officer(i, c, h) for i, (c, h) in enumerate(officers)))
    calls_s = time.monotonic() - t_calls
    srv_cpu = stats.cpu_s() - srv_cpu0
    await asyncio.sleep(0.3)  # late receptions still count (as late)

    hold_cpu = float("nan")
    if args.hold:
        print(f"holding every socket open for {args.hold:.0f} s ...")
        c0 = stats.cpu_s()
        await asyncio.sleep(args.hold)
        hold_cpu = (stats.cpu_s() - c0) / args.hold * 100
    sampler.cancel()
    still = sum(1 for s in sockets if s.connected) + sum(1 for s in sio_displays
                                                       if s.connected)
    reasons = collections.Counter(s.closed_reason for s in sockets if not s.connected)
    rss_end = stats.rss_mb()
    gen_cpu = common.cpu_now() - gen_cpu0

    # figures
    display_lat = []
    for number, exp in calls:
        rx = results.display_rx.get(number, [])
        lost += max(0, exp - len(rx))
        display_lat += [t - started[number] for t in rx]
    watcher_lat = [results.watcher_rx[n] - started[n] for n, _ in calls
                   if n in results.watcher_rx]
    watcher_calls = sum(1 for n, _ in calls if n in watched_numbers)

    d = common.summary_ms(display_lat, ps=(50, 95, 99))
    w = common.summary_ms(watcher_lat, ps=(50, 95, 99))
    r = common.summary_ms(next_rtt, ps=(50, 95, 99))
    pace = f"rate {args.rate:g}/s asked" if every else f"closed loop, think {args.think} s"
    print(f"calls: {len(calls)} in {calls_s:.1f} s ({len(calls) / calls_s:.1f} calls/s over "
          f"{len(counters)} counters, {pace}); server CPU "
          f"{srv_cpu / calls_s * 100:.0f}% of one core during calls")
    print(f"call -> display ticket_called: {common.fmt_ms(d)} over {d['n']} receptions "
          f"(lost {lost}, calls timed out {timeouts})")
    print(f"call -> own watcher ticket_called: {common.fmt_ms(w)} over {w['n']} of "
          f"{watcher_calls} watched calls")
    print(f"POST /next round trip: {common.fmt_ms(r)}")
    for who in ("display", "watcher"):
        print(f"events received by the {who}s: "
              + ", ".join(f"{k}={v}" for k, v in sorted(received[who].items())))
    print(f"server: RSS {stats.baseline_rss:.0f} MB before sockets, {rss_open:.0f} MB with "
          f"{n_sockets} sockets open, peak {peak['rss']:.0f} MB, {rss_end:.0f} MB at end; "
          f"threads {threads_open}, fds {fds_open}")
    print(f"sockets: {n_sockets} opened in {connect_s:.1f} s, {len(failed)} failed, "
          f"{still} still connected at end"
          + (f" (closed: {dict(reasons)})" if reasons else "")
          + (f"; idle server CPU while holding {hold_cpu:.1f}% of one core"
             if args.hold else ""))
    print(f"load generator CPU: {gen_cpu:.1f} s")

    await asyncio.gather(*(s.close() for s in sockets))
    for sio in sio_displays:
        sio.disconnect()
    for _, http in officers:
        http.close()
    return {"display_p50_ms": d["p50"], "display_p95_ms": d["p95"],
            "display_p99_ms": d["p99"], "display_max_ms": d["max"],
            "watcher_p50_ms": w["p50"], "watcher_p99_ms": w["p99"],
            "next_rtt_p50_ms": r["p50"], "next_rtt_p99_ms": r["p99"],
            "watcher_events": sum(received["watcher"].values()),
            "calls": len(calls), "calls_per_s": len(calls) / calls_s, "lost": lost,
            "timeouts": timeouts, "server_cpu_pct": srv_cpu / calls_s * 100,
            "rss_before_mb": stats.baseline_rss, "rss_open_mb": rss_open,
            "rss_peak_mb": peak["rss"], "server_threads": threads_open,
            "sockets": n_sockets, "failed": len(failed), "connected_at_end": still,
            "connect_s": connect_s, "hold_cpu_pct": hold_cpu}


def run_once(args):
    """One full run (fresh data dir and server); prints and returns the figures."""
    work = common.Workdir(keep=args.keep)
    server = None
    try:
        config = common.write_config(work.path, args.async_mode)
        counters = pick_counters(config, args.counters)
        server = common.Server(config, script=args.server_script).start()
        # officer accounts through the CLI, several at once, on the server's database
        common.add_users(config, [f"bench-officer-{i}" for i in range(len(counters))])
        stats = common.ProcStats(server.pid)
        stats.baseline_rss = stats.rss_mb()
        print(f"call_latency: async_mode={args.async_mode} displays={args.displays} "
              f"watchers={args.watchers} counters={[c['id'] for c in counters]} "
              f"calls={args.calls} display_client={args.display_client}")
        figures = asyncio.run(run(args, server, config, counters, stats))
        if not server.alive():
            print(f"server died: {server.log_tail()}")
        return figures
    finally:
        if server:
            server.stop()
        work.cleanup()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--displays", type=int, default=30, help="hall displays (default 30)")
    ap.add_argument("--watchers", type=int, default=100,
                    help="phones watching their ticket (default 100; try 1000)")
    ap.add_argument("--counters", type=int, default=6, help="counters calling (default 6)")
    ap.add_argument("--calls", type=int, default=200, help="calls in all (default 200)")
    ap.add_argument("--rate", type=float, default=10.0,
                    help="calls per second over all counters (default 10, about 20 times "
                    "a 61-counter center's busiest minute); 0 = closed loop, every officer "
                    "calls again as soon as the previous call is done (plus --think)")
    ap.add_argument("--think", type=float, default=0.05,
                    help="with --rate 0: pause of each officer between calls (default 0.05)")
    ap.add_argument("--timeout", type=float, default=3.0,
                    help="how long a call waits for every display before moving on")
    ap.add_argument("--hold", type=float, default=0.0,
                    help="keep every socket open this long after the calls (seconds), "
                    "e.g. 30 to span an Engine.IO ping interval")
    ap.add_argument("--connect-parallel", type=int, default=50,
                    help="sockets connecting at once (default 50)")
    ap.add_argument("--display-client", choices=("raw", "python-socketio"), default="raw",
                    help="client used for the displays (default raw asyncio client)")
    common.main(ap, run_once, argv)


if __name__ == "__main__":
    main()
