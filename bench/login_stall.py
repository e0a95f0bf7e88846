"""Do failed logins (password hashing) slow down everyone else? GET /api/display latency
while clients keep posting wrong passwords.

    .venv/bin/python bench/login_stall.py [--attackers 4] [--baseline 3] [--attack 8]
        [--spread 8] [--interval 0.02] [--async-mode gevent|threading]

One probe client (a hall display) sends ``GET /api/display`` on a keep-alive connection
every ``--interval`` seconds (after the previous answer) for the whole run; its latency is
reported per phase:

1. ``baseline``: the probe alone, ``--baseline`` seconds.
2. ``one address``: ``--attackers`` clients, all from 127.0.0.1, post
   ``POST /api/login`` with a random user name and password back to back for ``--attack``
   seconds. The server hashes each one (401) until its per-address throttle (20 failures
   from one address in 5 minutes) answers 429 without hashing. The probe's latency is split
   at the first 429: ``hashing`` (real scrypt work) and ``throttled`` (after it).
3. ``many addresses``: the same attackers, each connecting from its own loopback address
   (127.1.x.y) and moving to a fresh one after ``--per-address`` (20) failures, so that the
   throttle never stops them and the server hashes all along, for ``--spread`` seconds:
   sustained hashing, the worst case (an attacker with many addresses).

Prints, per phase: probe latency p50/p90/p99/max, the number of 401 and 429 answers, login
answers per second and their latency, and the server's CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


class Probe:
    """GET /api/display in a loop; keeps (time sent, latency) pairs."""

    def __init__(self, port, interval):
        self.http = common.AsyncHTTP(common.HOST, port)
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self.errors = 0
        self.stop = False

    async def run(self):
        while not self.stop:
            t0 = time.monotonic()
            status, _, _ = await self.http.request("GET", "/api/display")
            dt = time.monotonic() - t0
            if status == 200:
                self.samples.append((t0, dt))
            else:
                self.errors += 1
            await asyncio.sleep(self.interval)
        self.http.close()

    def between(self, start, end):
        return [dt for t0, dt in self.samples if start <= t0 < end]


async def attack(port, n, duration, spread, per_address, stats):
    """``n`` clients posting failed logins for ``duration`` s. Returns the answers as
    (time answered, status, latency), and the time of the first 429 (or None)."""
    answers: list[tuple[float, int, float]] = []
    end = time.monotonic() + duration
    next_addr = {"i": 0}

    def fresh_address():
        i = next_addr["i"]
        next_addr["i"] += 1
        return (f"127.1.{i // 250}.{i % 250 + 1}", 0)

    async def attacker():
        http = common.AsyncHTTP(common.HOST, port,
                                local_addr=fresh_address() if spread else None)
        failures = 0
        while time.monotonic() < end:
            body = {"username": "x-" + secrets.token_hex(6), "password": secrets.token_hex(8)}
            t0 = time.monotonic()
            status, _, _ = await http.request("POST", "/api/login", body)
            t1 = time.monotonic()
            answers.append((t1, status, t1 - t0))
            failures += status == 401
            if spread and failures >= per_address:
                http.close()
                http = common.AsyncHTTP(common.HOST, port, local_addr=fresh_address())
                failures = 0
        http.close()

    cpu0 = stats.cpu_s()
    t0 = time.monotonic()
    await asyncio.gather(*(attacker() for _ in range(n)))
    cpu = (stats.cpu_s() - cpu0) / (time.monotonic() - t0) * 100
    first_429 = min((t for t, status, _ in answers if status == 429), default=None)
    return answers, first_429, cpu, next_addr["i"]


def phase_figures(name, probe_lat, answers, seconds, cpu=None):
    p = common.summary_ms(probe_lat)
    codes = collections.Counter(status for _, status, _ in answers)
    line = f"  {name:22s} {seconds:5.1f} s  display: {common.fmt_ms(p)} (n={p['n']})"
    if answers:
        lat = common.summary_ms([dt for _, _, dt in answers], ps=(50, 90))
        line += (f"\n  {'':22s}          logins: 401={codes.get(401, 0)} "
                 f"429={codes.get(429, 0)}"
                 + "".join(f" {c}={k}" for c, k in codes.items() if c not in (401, 429))
                 + f", {len(answers) / seconds:.1f}/s, answer p50={lat['p50']:.0f} "
                 f"p90={lat['p90']:.0f} ms")
    if cpu is not None:
        line += f"; server CPU {cpu:.0f}% of one core"
    print(line)
    return p


async def run(args, server, stats):
    probe = Probe(server.port, args.interval)
    probe_task = asyncio.create_task(probe.run())
    figures = {}

    t0 = time.monotonic()
    c0 = stats.cpu_s()
    await asyncio.sleep(args.baseline)
    t1 = time.monotonic()
    base = phase_figures("baseline", probe.between(t0, t1), [], t1 - t0,
                         (stats.cpu_s() - c0) / (t1 - t0) * 100)
    figures.update(baseline_p50_ms=base["p50"], baseline_p90_ms=base["p90"])

    print(f"  -- {args.attackers} attackers from 127.0.0.1, {args.attack:g} s")
    t1 = time.monotonic()
    answers, first_429, cpu, _ = await attack(server.port, args.attackers, args.attack,
                                              False, args.per_address, stats)
    t2 = time.monotonic()
    split = first_429 or t2
    hashing = [a for a in answers if a[0] < split]
    throttled = [a for a in answers if a[0] >= split]
    h = phase_figures("hashing (to first 429)" if first_429 else "hashing (no 429)",
                      probe.between(t1, split), hashing, split - t1)
    t = {"p50": float("nan"), "p90": float("nan")}
    if first_429:
        t = phase_figures("throttled (429s)", probe.between(split, t2), throttled,
                          t2 - split)
    codes = collections.Counter(status for _, status, _ in answers)
    print(f"  {'whole phase':22s} {t2 - t1:5.1f} s  logins: 401={codes.get(401, 0)} "
          f"429={codes.get(429, 0)}; server CPU {cpu:.0f}% of one core")
    figures.update(hashing_p50_ms=h["p50"], hashing_p90_ms=h["p90"],
                   hashing_p99_ms=h["p99"], hashing_s=split - t1,
                   throttled_p50_ms=t["p50"], throttled_p90_ms=t["p90"],
                   one_addr_401=codes.get(401, 0), one_addr_429=codes.get(429, 0))
    await asyncio.sleep(1.0)  # let the last hashes finish

    if args.spread:
        print(f"  -- {args.attackers} attackers from fresh addresses every "
              f"{args.per_address} failures, {args.spread:g} s")
        t3 = time.monotonic()
        answers, _, cpu, used = await attack(server.port, args.attackers, args.spread, True,
                                             args.per_address, stats)
        t4 = time.monotonic()
        s = phase_figures(f"sustained ({used} addr.)", probe.between(t3, t4), answers,
                          t4 - t3, cpu)
        codes = collections.Counter(status for _, status, _ in answers)
        figures.update(sustained_p50_ms=s["p50"], sustained_p90_ms=s["p90"],
                       sustained_p99_ms=s["p99"], sustained_401=codes.get(401, 0),
                       sustained_429=codes.get(429, 0),
                       sustained_logins_per_s=len(answers) / (t4 - t3),
                       sustained_cpu_pct=cpu)

    probe.stop = True
    await probe_task
    if probe.errors:
        print(f"  probe errors: {probe.errors}")
    return figures


def run_once(args):
    work = common.Workdir(keep=args.keep)
    server = None
    try:
        config = common.write_config(work.path, args.async_mode)
        server = common.Server(config, script=args.server_script).start()
        stats = common.ProcStats(server.pid)
        print(f"login_stall: async_mode={args.async_mode} attackers={args.attackers} "
              f"probe every {args.interval * 1000:.0f} ms")
        figures = asyncio.run(run(args, server, stats))
        if not server.alive():
            print(f"server died: {server.log_tail()}")
        return figures
    finally:
        if server:
            server.stop()
        work.cleanup()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attackers", type=int, default=4,
                    help="clients posting failed logins at once (default 4)")
    ap.add_argument("--baseline", type=float, default=3.0,
                    help="seconds of probing before the attack (default 3)")
    ap.add_argument("--attack", type=float, default=8.0,
                    help="seconds of attack from 127.0.0.1 (default 8)")
    ap.add_argument("--spread", type=float, default=8.0,
                    help="seconds of attack from changing addresses (default 8; 0 = skip)")
    ap.add_argument("--per-address", type=int, default=20,
                    help="failures per source address in the spread phase (default 20, "
                    "the server's per-address limit)")
    ap.add_argument("--interval", type=float, default=0.02,
                    help="pause of the probe between two GET /api/display (default 0.02)")
    common.main(ap, run_once, argv)


if __name__ == "__main__":
    main()
