"""The real server on an accelerated clock, for ``bench/simulate_day.py``.

    python bench/fast_clock_server.py --config FILE --host 127.0.0.1 --port P
        --sim-start EPOCH --speed 120 [--go-file PATH]

It loads the config with ``qms.settings``, builds ``qms.clock.Clock`` with a ``now`` that
runs ``--speed`` times faster than the wall clock from the simulated moment
``--sim-start`` (epoch seconds), and serves ``server.create_app(cfg, clock=clock)`` exactly
as ``server.py`` does (gevent, TCP_NODELAY listener, day watch). Nothing of the server is
changed: only its clock.

With ``--go-file`` the clock stands still at ``--sim-start`` until that file appears; it
holds the wall-clock epoch ``t0`` at which simulated time starts to run, so that the load
generator, which reads the same ``t0``, and the server share one simulated time exactly
(setup, account creation and logins happen on a frozen clock). Without it the clock runs
from the moment the process starts.

The options can also come from the environment (``QMS_SIM_START``, ``QMS_SIM_SPEED``,
``QMS_SIM_GO``), so that ``bench/common.py``'s ``Server`` can start this script with the
same command line as ``server.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qms import settings  # noqa: E402


class FastNow:
    """``now()`` of the accelerated clock: ``sim_start + (time.time() - t0) * speed``."""

    def __init__(self, sim_start: float, speed: float, go_file: str | None = None):
        self.sim_start = float(sim_start)
        self.speed = float(speed)
        self.go_file = go_file
        self.t0 = None if go_file else time.time()

    def _read_go(self):
        try:
            self.t0 = float(Path(self.go_file).read_text().strip())
        except (OSError, ValueError):  # not there yet (it is written by rename: whole)
            return None
        return self.t0

    def __call__(self) -> float:
        t0 = self.t0 if self.t0 is not None else self._read_go()
        if t0 is None:
            return self.sim_start
        return self.sim_start + (time.time() - t0) * self.speed


def main(argv=None):
    env = os.environ
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument("--host", default=None)
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--access-log", action="store_true")
    ap.add_argument("--sim-start", type=float, default=env.get("QMS_SIM_START"),
                    help="simulated epoch at which the clock starts")
    ap.add_argument("--speed", type=float, default=float(env.get("QMS_SIM_SPEED", "60")),
                    help="simulated seconds per real second (default 60)")
    ap.add_argument("--go-file", default=env.get("QMS_SIM_GO") or None,
                    help="the clock stands still until this file holds t0 (epoch)")
    args = ap.parse_args(argv)
    if args.sim_start is None:
        sys.exit("error: --sim-start (or QMS_SIM_START) is required")
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = settings.load(args.config)
    if args.host:
        cfg["server"]["host"] = args.host
    if args.port:
        cfg["server"]["port"] = args.port
    gevent_mode = cfg["server"]["async_mode"] == "gevent"
    if gevent_mode:
        from gevent import monkey
        monkey.patch_all()

    import server as qms_server
    from qms.clock import Clock
    from qms.realtime import socketio

    clock = Clock(cfg["center"]["timezone"], cfg["hours"]["daily_reset"],
                  now=FastNow(args.sim_start, args.speed, args.go_file))
    app = qms_server.create_app(cfg, clock=clock)
    if not args.access_log:
        logging.getLogger("geventwebsocket.handler").setLevel(logging.WARNING)
    qms = app.extensions["qms"]
    generated = qms.accounts.ensure_admin(os.environ.get("QMS_ADMIN_PASSWORD"))
    if generated:
        print(f"Created user 'admin' with password: {generated}", flush=True)
    qms_server._start_day_watch(qms.service, socketio)
    host, port = cfg["server"]["host"], cfg["server"]["port"]
    logging.getLogger("qms").info(
        "fast clock x%g from %s; serving on http://%s:%s (async_mode=%s)", args.speed,
        clock.iso(args.sim_start), host, port, cfg["server"]["async_mode"])
    if gevent_mode:
        qms_server._serve_gevent(app, host, port, args.access_log)
    else:
        socketio.run(app, host=host, port=port, log_output=args.access_log,
                     allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    try:
        main()
    except settings.ConfigError as exc:
        sys.exit(f"config error: {exc}")
    except KeyboardInterrupt:
        pass
