"""Shared plumbing for the benchmarks in bench/: temporary configs, real server processes,
officer accounts (through the CLI), percentiles, and two small asyncio clients that keep
the load generator cheap on a 2-core machine shared with the server:

- ``AsyncHTTP``: one persistent HTTP/1.1 (keep-alive) connection, with cookies;
- ``SioClient``: a Socket.IO v5 / Engine.IO v4 client straight over a WebSocket
  (``/socket.io/?EIO=4&transport=websocket``), enough for ``join`` and server events.

Nothing here is a test; every benchmark prints figures. Servers only ever listen on
127.0.0.1, on a free port, with their data in a temporary folder that is removed after.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BASE_CONFIG = ROOT / "config.yaml"
PYTHON = sys.executable
PASSWORD = "bench-mat-khau-1"
HOST = "127.0.0.1"


# -- figures ------------------------------------------------------------------------------

def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def summary_ms(values_s, ps=(50, 90, 99)):
    """{'p50': ms, ..., 'max': ms, 'n': count} for durations given in seconds."""
    v = sorted(values_s)
    out = {f"p{p}": percentile(v, p) * 1000 for p in ps}
    out["max"] = (v[-1] * 1000) if v else float("nan")
    out["n"] = len(v)
    return out


def fmt_ms(summary):
    keys = [k for k in summary if k != "n"]
    return " ".join(f"{k}={summary[k]:.1f}" for k in keys) + " ms"


def machine_line():
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, Python {sys.version.split()[0]}"


# -- config and servers -------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _merge(dst, src):
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value)
        else:
            dst[key] = value


class Workdir:
    """A temporary folder holding the config and data dir; removed on exit unless kept."""

    def __init__(self, keep=False, prefix="qms-bench-"):
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep = keep

    def cleanup(self):
        if self.keep:
            print(f"(kept {self.path})")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def write_config(workdir: Path, async_mode="gevent", overrides=None) -> Path:
    """config.yaml of the project with server.data_dir in ``workdir`` and the async mode
    set; returns the path of the written config."""
    raw = yaml.safe_load(BASE_CONFIG.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    _merge(raw, {"server": {"data_dir": str(Path(workdir) / "data"), "async_mode": async_mode,
                            "host": HOST}})
    # Every simulated phone connects from 127.0.0.1: lift the per-address limit of the
    # visitors' requests, which would otherwise (rightly) slow the load generator down.
    _merge(raw, {"phone": {"burst": 10_000_000, "requests_per_minute": 10_000_000}})
    _merge(raw, overrides or {})
    path = Path(workdir) / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_config(path):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def db_path(config_path):
    return Path(load_config(config_path)["server"]["data_dir"]) / "qms.sqlite3"


class Server:
    """``python server.py --config FILE --host 127.0.0.1 --port P`` in a subprocess."""

    def __init__(self, config_path, port=None, name="server", script=None):
        self.config_path = Path(config_path)
        self.script = Path(script) if script else ROOT / "server.py"
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = self.config_path.parent / f"{name}-{self.port}.log"
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=30):
        env = {**os.environ, "QMS_ADMIN_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [PYTHON, str(self.script), "--config", str(self.config_path),
             "--host", HOST, "--port", str(self.port)],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n"
                                   f"{self.log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/api/counters", timeout=2) as r:
                    r.read()
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start within {timeout} s; log: {self.log}")

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=2000):
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def add_users(config_path, names, role="officer"):
    """Create accounts through ``server.py user add ... --password-stdin`` (in parallel)."""
    procs = []
    for name in names:
        p = subprocess.Popen(
            [PYTHON, str(ROOT / "server.py"), "user", "add", name, "--role", role,
             "--password-stdin", "--config", str(config_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=ROOT)
        procs.append((name, p))
    for name, p in procs:
        out, err = p.communicate(PASSWORD + "\n", timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"user add {name} failed: {err.strip() or out.strip()}")


class ProcStats:
    """RSS, threads and CPU time of a process (psutil), for before/after figures."""

    def __init__(self, pid):
        import psutil
        self.p = psutil.Process(pid)
        self.peak_rss = 0

    def rss_mb(self):
        rss = self.p.memory_info().rss
        self.peak_rss = max(self.peak_rss, rss)
        return rss / 2**20

    def threads(self):
        return self.p.num_threads()

    def fds(self):
        return self.p.num_fds()

    def cpu_s(self):
        t = self.p.cpu_times()
        return t.user + t.system


def cpu_now():
    """CPU seconds used by this (load generator) process so far."""
    t = os.times()
    return t.user + t.system


# -- asyncio HTTP/1.1 keep-alive client ---------------------------------------------------

class HTTPError(Exception):
    pass


class AsyncHTTP:
    """One persistent connection; sends JSON, keeps cookies, reconnects if closed."""

    def __init__(self, host, port, headers=None, local_addr=None):
        self.host, self.port = host, port
        self.local_addr = local_addr  # (source address, 0): e.g. another 127.x.y.z
        self.reader = self.writer = None
        self.cookies: dict[str, str] = {}
        self.headers = dict(headers or {})

    async def _open(self):
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, local_addr=self.local_addr)
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP,
                                                        socket.TCP_NODELAY, 1)

    async def request(self, method, path, body=None, headers=None):
        """(status, headers, parsed JSON or raw bytes)."""
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        for k, v in {**self.headers, **(headers or {})}.items():
            lines.append(f"{k}: {v}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        for attempt in (0, 1):
            if self.writer is None:
                await self._open()
            try:
                self.writer.write(data)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                if attempt:
                    raise HTTPError(f"{method} {path}: {exc!r}") from exc

    async def _response(self):
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            k, _, v = line.decode("latin-1").partition(":")
            k, v = k.strip().lower(), v.strip()
            if k == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            headers[k] = v
        if "content-length" in headers:
            raw = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            raw = b"".join(parts)
        else:
            raw = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        if headers.get("content-type", "").startswith("application/json"):
            return status, headers, json.loads(raw)
        return status, headers, raw

    async def login(self, username, password=PASSWORD):
        status, _, body = await self.request("POST", "/api/login",
                                             {"username": username, "password": password})
        if status != 200:
            raise HTTPError(f"login {username}: {status} {body}")
        self.headers["X-CSRFToken"] = body["csrf_token"]
        return body

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# -- asyncio Socket.IO client over a raw WebSocket ----------------------------------------

class SioClient:
    """A minimal Socket.IO client (default namespace, text packets only).

    ``on_event(client, name, data, t)`` is called for every server event with ``t`` =
    ``time.monotonic()`` taken as soon as the frame was read. Engine.IO pings are answered.
    """

    def __init__(self, host, port, on_event=None, tag=None):
        self.host, self.port = host, port
        self.on_event = on_event
        self.tag = tag
        self.connected = False
        self.closed_reason = None
        self.reader = self.writer = None
        self._acks: dict[int, asyncio.Future] = {}
        self._next_ack = 0
        self._ready: asyncio.Future | None = None
        self._task: asyncio.Task | None = None
        self.received = 0

    async def connect(self, timeout=20):
        loop = asyncio.get_running_loop()
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout)
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP,
                                                        socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket upgrade refused: {head[:200]!r}")
        self._ready = loop.create_future()
        self._task = asyncio.create_task(self._read_loop())
        await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        self.connected = True
        return self

    async def _read_frame(self):
        """(opcode, payload) of one complete message (continuations joined)."""
        chunks, first_op = [], None
        while True:
            b0, b1 = await self.reader.readexactly(2)
            op, fin, n = b0 & 0x0F, b0 & 0x80, b1 & 0x7F
            if n == 126:
                n = int.from_bytes(await self.reader.readexactly(2), "big")
            elif n == 127:
                n = int.from_bytes(await self.reader.readexactly(8), "big")
            mask = await self.reader.readexactly(4) if b1 & 0x80 else None
            data = await self.reader.readexactly(n) if n else b""
            if mask:
                data = _xor(data, mask)
            if op >= 8:  # control frames may interleave
                if op == 9:
                    self._send_frame(0xA, data)
                elif op == 8:
                    return 8, data
                continue
            if first_op is None:
                first_op = op
            chunks.append(data)
            if fin:
                return first_op, b"".join(chunks)

    def _send_frame(self, opcode, data: bytes):
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = bytes((0x80 | opcode, 0x80 | n))
        elif n < 65536:
            head = bytes((0x80 | opcode, 0xFE)) + n.to_bytes(2, "big")
        else:
            head = bytes((0x80 | opcode, 0xFF)) + n.to_bytes(8, "big")
        self.writer.write(head + mask + _xor(data, mask))

    def _send(self, text: str):
        if self.writer is None or self.writer.is_closing():
            raise ConnectionError("socket closed")
        self._send_frame(0x1, text.encode())

    async def _read_loop(self):
        try:
            while True:
                op, data = await self._read_frame()
                t = time.monotonic()
                if op == 8:
                    self.closed_reason = "websocket close"
                    break
                msg = data.decode()
                kind = msg[:1]
                if kind == "2":  # engine.io ping -> pong
                    self._send("3" + msg[1:])
                elif kind == "0":  # engine.io open -> connect the default namespace
                    self._send("40")
                elif kind == "1":
                    self.closed_reason = "engine.io close"
                    break
                elif kind == "4":
                    self._on_socketio(msg[1:], t)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.closed_reason = self.closed_reason or repr(exc)
        except asyncio.CancelledError:
            self.closed_reason = self.closed_reason or "closed by client"
        finally:
            self.connected = False
            if self._ready and not self._ready.done():
                self._ready.set_exception(ConnectionError(self.closed_reason or "closed"))
            for fut in self._acks.values():
                if not fut.done():
                    fut.set_exception(ConnectionError(self.closed_reason or "closed"))

    def _on_socketio(self, msg, t):
        kind, rest = msg[:1], msg[1:]
        if kind == "0":
            if not self._ready.done():
                self._ready.set_result(True)
        elif kind == "4":
            if not self._ready.done():
                self._ready.set_exception(ConnectionError(f"connect refused: {rest}"))
        elif kind == "1":
            self.closed_reason = "disconnected by server"
        elif kind in "23":
            i = 0
            while i < len(rest) and rest[i].isdigit():
                i += 1
            ack_id = int(rest[:i]) if i else None
            args = json.loads(rest[i:]) if rest[i:] else []
            if kind == "3":
                fut = self._acks.pop(ack_id, None)
                if fut and not fut.done():
                    fut.set_result(args[0] if args else None)
            else:
                self.received += 1
                if self.on_event and args:
                    self.on_event(self, args[0], args[1] if len(args) > 1 else None, t)

    async def call(self, event, data, timeout=20):
        """Emit with an acknowledgement; returns the server's answer."""
        ack_id = self._next_ack
        self._next_ack += 1
        fut = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = fut
        self._send(f"42{ack_id}" + json.dumps([event, data], separators=(",", ":")))
        return await asyncio.wait_for(fut, timeout)

    async def join(self, room, timeout=20):
        answer = await self.call("join", {"room": room}, timeout)
        if not (isinstance(answer, dict) and answer.get("ok")):
            raise ConnectionError(f"join {room} refused: {answer}")
        return answer

    async def close(self):
        if self.writer is not None and not self.writer.is_closing():
            try:
                self._send("41")
                self._send_frame(0x8, b"\x03\xe8")
            except ConnectionError:
                pass
            self.writer.close()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass


def _xor(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    if not n:
        return data
    m = int.from_bytes((mask * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ m).to_bytes(n, "little")


async def gather_limited(coros, limit):
    """Run coroutines with at most ``limit`` at a time; returns results (exceptions kept)."""
    sem = asyncio.Semaphore(limit)

    async def one(c):
        async with sem:
            return await c
    return await asyncio.gather(*(one(c) for c in coros), return_exceptions=True)


def add_common_args(parser):
    parser.add_argument("--async-mode", choices=("gevent", "threading"), default="gevent",
                        help="server.async_mode of the server(s) under test (default gevent)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (config, database, server logs)")
    parser.add_argument("--server-script", default=None, metavar="PATH",
                        help="start this script instead of server.py (same command line); "
                        "for trying a patched server against the same load")


def main(parser, run_once, argv=None):
    """Add the options every benchmark shares, parse, then run it ``--repeat`` times."""
    add_common_args(parser)
    add_repeat_arg(parser)
    run_repeated(run_once, parser.parse_args(argv))


def run_repeated(run_once, args):
    """Print the machine, run the benchmark ``args.repeat`` times, then the medians."""
    print(f"machine: {machine_line()}")
    runs = []
    for i in range(args.repeat):
        if args.repeat > 1:
            print(f"\n-- run {i + 1}/{args.repeat}")
        runs.append(run_once(args))
    report_medians(runs)


def report_medians(runs, keys=None):
    """Print the median (and range) of each numeric figure over several runs."""
    if len(runs) < 2:
        return
    import statistics
    keys = keys or [k for k, v in runs[0].items() if isinstance(v, (int, float))
                    and not isinstance(v, bool)]
    print(f"\n== median of {len(runs)} runs (min..max) ==")
    for k in keys:
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))
                and not math.isnan(r[k])]
        if not vals:
            continue
        med = statistics.median(vals)
        print(f"  {k:28s} {med:10.1f}   ({min(vals):.1f} .. {max(vals):.1f})")


def add_repeat_arg(parser):
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the whole benchmark N times (fresh server and data each "
                        "time) and print the medians at the end")
