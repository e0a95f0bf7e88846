"""Issue tickets over HTTP as fast as N concurrent kiosks can, and check the numbering.

    .venv/bin/python bench/issue_tickets.py [--kiosks 20] [--tickets 5000] [--services 8]
        [--processes 1] [--async-mode gevent|threading]

Each kiosk is one persistent HTTP/1.1 connection (asyncio, hand-written client, so that the
load generator stays cheap on the 2 cores it shares with the server) that posts
``POST /api/tickets {"service": id}`` back to back, cycling over ``--services`` services
spread across the departments of config.yaml. ``--processes 4`` starts 4 server processes
on the SAME data dir (different ports) and spreads the kiosks over them: the numbers must
stay 1..n per service without a gap or a duplicate (SQLite BEGIN IMMEDIATE).

Prints tickets/s, latency p50/p90/p99/max, CPU use of server(s) and generator, and the
numbering check, from the kiosks' answers and from the database.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def pick_services(config_path, count):
    """``count`` services spread over the departments (every k-th service of the list)."""
    cfg = common.load_config(config_path)
    served = {s for c in cfg["counters"] if c.get("active", True) for s in c["services"]}
    services = [(s["id"], s["prefix"]) for d in cfg["departments"] for s in d["services"]
                if s["id"] in served]
    step = max(1, len(services) // count)
    return services[::step][:count]


async def run_kiosks(servers, services, kiosks, total, latencies, answers, errors,
                     per_kiosk=None):
    counter = {"next": 0}
    per_kiosk = per_kiosk if per_kiosk is not None else [0] * kiosks

    async def kiosk(i):
        srv = servers[i % len(servers)]
        http = common.AsyncHTTP(common.HOST, srv.port)
        try:
            while counter["next"] < total:
                n = counter["next"]
                counter["next"] += 1
                service = services[n % len(services)][0]
                t0 = time.perf_counter()
                status, _, body = await http.request("POST", "/api/tickets",
                                                     {"service": service})
                dt = time.perf_counter() - t0
                if status == 201:
                    latencies.append(dt)
                    answers.append((service, body["number"], body["token"]))
                    per_kiosk[i] += 1
                else:
                    errors.append((status, body))
        finally:
            http.close()

    await asyncio.gather(*(kiosk(i) for i in range(kiosks)))


def check_numbering(services, answers, db_file):
    """Per service and service day, the numbers must be exactly 1..n: checked on what the
    kiosks were answered and on the database. (The service day is Asia/Ho_Chi_Minh's: a
    run that crosses its midnight restarts at 1, as it should.)"""
    prefixes = dict(services)
    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    rows = con.execute("SELECT token, day, number_service, seq, number FROM tickets "
                       "WHERE parent_id IS NULL").fetchall()
    con.close()
    by_token = {r[0]: r for r in rows}
    answered = collections.defaultdict(list)
    mismatch = 0
    for service, number, token in answers:
        row = by_token.get(token)
        if row is None or row[4] != number or row[2] != service:
            mismatch += 1
            continue
        answered[(service, row[1])].append(int(number[len(prefixes[service]):]))
    in_db = collections.defaultdict(list)
    for _, day, service, seq, _ in rows:
        in_db[(service, day)].append(seq)

    def gaps(groups, upto_max):
        dup = missing = 0
        for seqs in groups.values():
            seen = set(seqs)
            dup += len(seqs) - len(seen)
            top = max(seen) if upto_max else len(seqs)
            missing += len(set(range(1, top + 1)) - seen)
        return dup, missing
    dup, missing = gaps(answered, upto_max=False)
    db_dup, db_missing = gaps(in_db, upto_max=True)
    return {"duplicates": dup, "missing": missing, "db_duplicates": db_dup,
            "db_missing": db_missing, "db_tickets": len(rows),
            "answers_match_db": mismatch == 0 and len(answers) == len(rows),
            "days": len({day for _, day in in_db})}


def run_once(args):
    """One full run (fresh data dir and servers); prints and returns the figures."""
    work = common.Workdir(keep=args.keep)
    servers = []
    try:
        config = common.write_config(work.path, args.async_mode)
        services = pick_services(config, args.services)
        # The first server creates the database and the secret key; the others join it.
        servers.append(common.Server(config, name="server0", script=args.server_script)
                       .start())
        more = [common.Server(config, name=f"server{i}", script=args.server_script)
                for i in range(1, args.processes)]
        for s in more:
            s.start()
        servers += more
        stats = [common.ProcStats(s.pid) for s in servers]

        latencies, answers, errors, per_kiosk = [], [], [], [0] * args.kiosks
        if args.warmup:
            asyncio.run(run_kiosks(servers, services, args.kiosks, args.warmup, [], answers,
                                   errors))
        cpu0 = [s.cpu_s() for s in stats]
        gen0 = common.cpu_now()
        t0 = time.perf_counter()
        asyncio.run(run_kiosks(servers, services, args.kiosks, args.tickets, latencies,
                               answers, errors, per_kiosk))
        elapsed = time.perf_counter() - t0
        gen_cpu = common.cpu_now() - gen0
        srv_cpu = sum(s.cpu_s() - c for s, c in zip(stats, cpu0, strict=True))
        rss = [s.rss_mb() for s in stats]

        check = check_numbering(services, answers, common.db_path(config))
        lat = common.summary_ms(latencies)
        print(f"issue_tickets: async_mode={args.async_mode} processes={args.processes} "
              f"kiosks={args.kiosks} services={len(services)} tickets={len(latencies)} "
              f"(+{args.warmup} warm-up) errors={len(errors)}")
        print(f"throughput: {len(latencies) / elapsed:.0f} tickets/s "
              f"({elapsed:.2f} s)")
        print(f"latency: {common.fmt_ms(lat)}; tickets per kiosk {min(per_kiosk)}.."
              f"{max(per_kiosk)} (an even share is {args.tickets // args.kiosks})")
        print(f"cpu: server {srv_cpu / elapsed * 100:.0f}% of one core "
              f"(sum of {len(servers)} process(es)), load generator "
              f"{gen_cpu / elapsed * 100:.0f}%; server RSS "
              + ", ".join(f"{r:.0f}" for r in rss) + " MB")
        print(f"numbering: duplicates={check['duplicates']} missing={check['missing']} "
              f"(database: duplicates={check['db_duplicates']} "
              f"missing={check['db_missing']} rows={check['db_tickets']}, "
              f"answers match database: {check['answers_match_db']}"
              + (f", {check['days']} service days" if check["days"] > 1 else "") + ")")
        if errors:
            print(f"first errors: {errors[:3]}")
        dead = [s for s in servers if not s.alive()]
        if dead:
            print(f"server died: {dead[0].log_tail()}")
        return {"tickets_per_s": len(latencies) / elapsed, "p50_ms": lat["p50"],
                "p90_ms": lat["p90"], "p99_ms": lat["p99"], "max_ms": lat["max"],
                "kiosk_min": min(per_kiosk), "kiosk_max": max(per_kiosk),
                "errors": len(errors), "duplicates": check["duplicates"],
                "missing": check["missing"], "db_duplicates": check["db_duplicates"],
                "db_missing": check["db_missing"],
                "server_cpu_pct": srv_cpu / elapsed * 100,
                "generator_cpu_pct": gen_cpu / elapsed * 100, "server_rss_mb": max(rss)}
    finally:
        for s in servers:
            s.stop()
        work.cleanup()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiosks", type=int, default=20, help="concurrent kiosks (default 20)")
    ap.add_argument("--tickets", type=int, default=5000,
                    help="tickets issued in the timed phase (default 5000)")
    ap.add_argument("--warmup", type=int, default=200,
                    help="tickets issued before timing (counted in the numbering check)")
    ap.add_argument("--services", type=int, default=8,
                    help="number of services the tickets are spread over (default 8)")
    ap.add_argument("--processes", type=int, default=1,
                    help="server processes sharing one data dir (default 1; try 4)")
    common.main(ap, run_once, argv)


if __name__ == "__main__":
    main()
