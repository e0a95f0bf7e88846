"""Composition root: load config -> create_app() -> socketio.run().

    python server.py [--config FILE] [--host H] [--port P]
    python server.py user add NAME --role officer|supervisor|admin --password-stdin
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path

from qms import settings

HERE = Path(__file__).resolve().parent
log = logging.getLogger("qms")


def create_app(cfg: dict, *, clock=None, printers=None, speech=None):
    """Build the whole server for a validated config. Tests call this with a temporary
    data_dir and, when they move time, their own clock. The printers and the speech
    engine are built from the config unless given."""
    from flask import Flask

    from board import bp as board_bp
    from counter import bp as counter_bp
    from display import bp as display_bp
    from display.events import register_handlers as register_display_handlers
    from kiosk import bp as kiosk_bp
    from qms import Qms, secret_key
    from qms.auth import Accounts, LoginThrottle
    from qms.center import Center
    from qms.clock import Clock
    from qms.monitor import Monitor
    from qms.ratelimit import RateLimiter
    from qms.realtime import Publisher, register_handlers, socketio
    from qms.services import QueueService
    from qms.storage import Storage
    from qms.web import register_errors

    app = Flask("qms", static_folder=str(HERE / "static"), static_url_path="/static")
    server = cfg["server"]
    app.config.update(
        SECRET_KEY=secret_key(cfg),
        SESSION_COOKIE_NAME="qms_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=server["cookie_secure"],
        PERMANENT_SESSION_LIFETIME=timedelta(hours=server["session_hours"]),
        MAX_CONTENT_LENGTH=64 * 1024,
        QMS_DEFAULT_LANG=cfg["center"]["default_language"],
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    clock = clock or Clock(cfg["center"]["timezone"], cfg["hours"]["daily_reset"])
    center = Center(cfg)
    data_dir = Path(server["data_dir"])
    storage = Storage(data_dir / "qms.sqlite3")
    publisher = Publisher(center)
    speech = speech or _speech(cfg, data_dir)
    service = QueueService(storage, center, clock, publisher,
                           announce=lambda parts: _audio_url(speech.request(parts)))
    monitor = Monitor(cfg, center, clock, storage, publisher, service.views.seq)
    printers = printers or _printers(cfg, publisher, service.views, monitor)
    app.extensions["qms"] = Qms(cfg, center, storage, service, Accounts(storage),
                                printers=printers, speech=speech)
    app.extensions["qms_monitor"] = monitor
    app.extensions["qms_login_throttle"] = LoginThrottle()
    phone = cfg["phone"]
    app.extensions["qms_phone_limit"] = RateLimiter(phone["requests_per_minute"] / 60,
                                                    phone["burst"])
    register_errors(app)
    for bp in (kiosk_bp, counter_bp, display_bp, board_bp):
        app.register_blueprint(bp)
    socketio.init_app(app, async_mode=server["async_mode"],
                      message_queue=server["message_queue"] or None)
    register_handlers()
    register_display_handlers()
    return app


def _audio_url(key):
    return f"/audio/{key}.wav" if key else None


def _speech(cfg, data_dir):
    """The voice of the calls; without one (no espeak-ng, no pack) calls still show and
    chime, and the log says once why there is no voice."""
    from qms.speech import Speech, write_chime

    speech_cfg = cfg["speech"]
    pack_dir = Path(speech_cfg["voice_pack"] or data_dir / "voice_pack")
    audio_dir = data_dir / "audio"
    write_chime(audio_dir / "chime.wav")
    speech = Speech(speech_cfg, audio_dir=audio_dir, pack_dir=pack_dir)
    if not speech.available:
        log.warning("announcements without a voice (chime and subtitles only): %s",
                    speech.reason)
    return speech


def _printers(cfg, publisher, views, monitor):
    """Ticket printers whose faults and successes reach the kiosks and supervisors (the
    board lists each printer with its last contact and raises an alert on a fault)."""
    from qms.domain.events import DeviceFault, TicketPrinted
    from qms.printing import Printers

    def kiosk_of(number):
        ticket = views.ticket_by_number(number) if number else None
        return ticket and ticket["kiosk"]

    def push(event):
        event.seq = views.seq()
        publisher([event])

    def on_fault(device, kind, message, number=None):  # the worker has logged it
        push(DeviceFault(device=device, kind=kind, message=message, number=number,
                         kiosk=kiosk_of(number)))
        monitor.printer_fault(device, kind)

    def on_printed(device, number, paper_low=False):
        push(TicketPrinted(number=number, device=device, kiosk=kiosk_of(number),
                           paper_low=paper_low))
        monitor.printed(device, paper_low)

    return Printers(cfg, on_fault=on_fault, on_printed=on_printed)


def _run(args):
    cfg = settings.load(args.config)
    if args.host:
        cfg["server"]["host"] = args.host
    if args.port:
        cfg["server"]["port"] = args.port
    if cfg["server"]["async_mode"] == "gevent":
        from gevent import monkey
        monkey.patch_all()
    app = create_app(cfg)
    from qms.realtime import socketio
    if not args.access_log:
        logging.getLogger("geventwebsocket.handler").setLevel(logging.WARNING)
    qms = app.extensions["qms"]
    try:
        generated = qms.accounts.ensure_admin(os.environ.get("QMS_ADMIN_PASSWORD"))
    except ValueError as exc:
        raise settings.ConfigError(f"QMS_ADMIN_PASSWORD: {exc}") from None
    if generated:
        print(f"Created user 'admin' with password: {generated}  (shown once; change it "
              f"with: python server.py user passwd admin --password-stdin)", flush=True)
    _start_day_watch(qms.service, socketio)
    host, port = cfg["server"]["host"], cfg["server"]["port"]
    log.info("serving %s on http://%s:%s (async_mode=%s, data in %s)",
             cfg["center"]["name"]["vi"], host, port, cfg["server"]["async_mode"],
             cfg["server"]["data_dir"])
    if cfg["server"]["async_mode"] == "gevent":
        _serve_gevent(app, host, port, args.access_log)
    else:
        socketio.run(app, host=host, port=port, log_output=args.access_log,
                     allow_unsafe_werkzeug=True)


def _serve_gevent(app, host, port, access_log):
    """What socketio.run() does for gevent, on a listening socket with TCP_NODELAY: pywsgi
    writes headers and body separately, and without it Nagle's algorithm holds every
    keep-alive answer for the client's delayed ACK (about 40 ms)."""
    import signal
    import socket

    import gevent
    from gevent import pywsgi
    from geventwebsocket.handler import WebSocketHandler

    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited on accept
    listener.bind((host, port))
    listener.listen(1024)
    server = pywsgi.WSGIServer(listener, app, handler_class=WebSocketHandler,
                               log="default" if access_log else None)

    def stop():  # Ctrl-C: let the requests in hand finish (3 s at most), then return
        gevent.spawn(server.stop, timeout=3)

    gevent.signal_handler(signal.SIGINT, stop)
    server.serve_forever()


def _start_day_watch(service, socketio, every_s=20):
    """Close the service day when it turns, even if nobody touches the queue."""
    def loop():
        while True:
            socketio.sleep(every_s)
            try:
                service.reset_day_if_needed()
            except Exception:
                log.exception("daily reset check failed")
    socketio.start_background_task(loop)


def _user(args):
    from qms.auth import Accounts
    from qms.storage import Storage
    cfg = settings.load(args.config)
    accounts = Accounts(Storage(Path(cfg["server"]["data_dir"]) / "qms.sqlite3", pool_size=1))
    if not args.password_stdin:
        sys.exit("error: pass the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\n")
    try:
        if args.action == "add":
            counters = [int(c) for c in args.counters.split(",") if c] if args.counters else []
            unknown = [c for c in counters if c not in {x["id"] for x in cfg["counters"]}]
            if unknown:
                sys.exit(f"error: --counters: unknown counter {unknown[0]}")
            user = accounts.add(args.name, password, args.role, counters)
            print(f"added {user['role']} '{user['username']}'")
        else:
            accounts.set_password(args.name, password)
            print(f"password of '{args.name}' changed")
    except ValueError as exc:
        sys.exit(f"error: {exc}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="server.py", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(HERE / "config.yaml"),
                        help="configuration file (default: config.yaml)")
    parser.add_argument("--host", help="override server.host")
    parser.add_argument("--port", type=int, help="override server.port")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    sub = parser.add_subparsers(dest="command")
    user = sub.add_parser("user", help="manage staff accounts")
    user.add_argument("action", choices=("add", "passwd"))
    user.add_argument("name")
    user.add_argument("--role", choices=("officer", "supervisor", "admin"), default="officer")
    user.add_argument("--counters", default="", help="counters an officer may sit at, "
                      "e.g. 1,2,3 (default: any)")
    user.add_argument("--password-stdin", action="store_true",
                      help="read the password from standard input")
    user.add_argument("--config", default=argparse.SUPPRESS, help="configuration file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    try:
        if args.command == "user":
            _user(args)
        else:
            _run(args)
    except settings.ConfigError as exc:
        sys.exit(f"config error: {exc}")
    except KeyboardInterrupt:  # Ctrl-C (threading mode): an ordinary way to stop
        pass
    if args.command != "user":
        log.info("stopped")


if __name__ == "__main__":
    main()
