"""Time from a counter's call to its announcement WAV being available to the displays.

    .venv/bin/python bench/announce_latency.py [--calls 100] [--engine espeak|voice_pack]
        [--say-twice] [--english] [--async-mode gevent|threading]
    .venv/bin/python bench/announce_latency.py --direct [--calls 200] [--burst 10]

Server mode: one real server on 127.0.0.1 with a fresh data dir; an officer (made with
``server.py user add``) logs in and opens a counter; tickets are issued over HTTP; a
python-socketio client joins the room ``display``. Then, ``--calls`` times: POST /next,
wait for the ``ticket_called`` of that number, GET its ``audio_url`` (the server waits for
the speech worker) until it answers 200 with a WAV: a cache miss, since every number is new
text. Then POST /recall and the same for ``ticket_recalled``: the same words, a cache hit.
Then serve and complete. Latency is from just before the POST to the last byte of the WAV.

Direct mode (``--direct``, no server): ``Speech.request`` -> ``Speech.wait`` in this process
for both engines (misses: new numbers; hits: the same again), a burst of ``--burst`` calls
made at once (the single worker voices them in turn), and the raw costs behind them: one
phrase through pyttsx3, one through the espeak-ng command, and generating the voice pack.

The target (DESIGN.md): call to audio ready, p95 < 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from call_latency import issue_tickets, pick_counters  # noqa: E402

import common  # noqa: E402
from qms.domain.announcement import announcement_parts  # noqa: E402

TARGET_P95_MS = 150.0
PS = (50, 95, 99)


def report(label, values_s):
    s = common.summary_ms(values_s, ps=PS)
    verdict = "meets" if s["p95"] < TARGET_P95_MS else "MISSES"
    print(f"  {label:44s} {common.fmt_ms(s)} (n={s['n']}; {verdict} p95 < "
          f"{TARGET_P95_MS:.0f} ms)")
    return s


# -- server mode --------------------------------------------------------------------------

class Display:
    """A python-socketio client in room ``display``; hands events to the asyncio loop.
    An event may arrive before the POST that caused it returns: it is kept until asked."""

    def __init__(self, port, loop):
        import socketio
        self.loop, self.waiting, self.received = loop, {}, {}
        self.sio = socketio.Client(reconnection=False)
        for name in ("ticket_called", "ticket_recalled"):
            self.sio.on(name, lambda data, _name=name: self._got(_name, data))
        self.sio.connect(f"http://{common.HOST}:{port}", transports=["websocket"])
        answer = self.sio.call("join", {"room": "display"}, timeout=20)
        if not answer or not answer.get("ok"):
            raise RuntimeError(f"join display: {answer}")

    def expect(self, name, number):
        """A future of (monotonic time, payload) of that event for that number."""
        fut = self.loop.create_future()
        key = (name, number)
        if key in self.received:
            fut.set_result(self.received.pop(key))
        else:
            self.waiting[key] = fut
        return fut

    def _got(self, name, data):
        got = (time.monotonic(), data)
        self.loop.call_soon_threadsafe(self._deliver, (name, data.get("number")), got)

    def _deliver(self, key, got):  # on the loop: no lock needed
        fut = self.waiting.pop(key, None)
        if fut is None:
            self.received[key] = got
        elif not fut.done():
            fut.set_result(got)


async def one_call(http, display, counter_id, action, event):
    """POST the action, wait for its event, GET the audio; (event s, audio s, url)."""
    t0 = time.monotonic()
    status, _, body = await http.request("POST", f"/api/counters/{counter_id}/{action}")
    if status != 200 or not body.get("ticket"):
        raise RuntimeError(f"{action}: {status} {body}")
    number = body["ticket"]["number"]
    fut = display.expect(event, number)
    t_event, data = await asyncio.wait_for(fut, 10)
    url = data.get("audio_url")
    if not url:
        return t_event - t0, None, None
    status, headers, raw = await http.request("GET", url)
    if status != 200 or not headers.get("content-type", "").startswith("audio/wav") \
            or raw[:4] != b"RIFF":
        raise RuntimeError(f"GET {url}: {status} {headers.get('content-type')}")
    return t_event - t0, time.monotonic() - t0, url


async def run_server(args, server, counter):
    loop = asyncio.get_running_loop()
    http = common.AsyncHTTP(common.HOST, server.port)
    await http.login("bench-officer-0")
    status, _, body = await http.request("POST", f"/api/counters/{counter['id']}/open")
    if status != 200:
        raise RuntimeError(f"open counter: {status} {body}")
    await issue_tickets(server.port, [counter["services"][0]], args.calls + 1)
    display = await asyncio.to_thread(Display, server.port, loop)
    miss, hit, events, no_audio = [], [], [], 0
    for _ in range(args.calls):
        ev, audio, url = await one_call(http, display, counter["id"], "next", "ticket_called")
        events.append(ev)
        if url is None:
            no_audio += 1
        else:
            miss.append(audio)
            _, again, url2 = await one_call(http, display, counter["id"], "recall",
                                            "ticket_recalled")
            if url2 != url:
                raise RuntimeError(f"a recall should say the same words: {url} {url2}")
            hit.append(again)
        for action in ("serve", "complete"):
            await http.request("POST", f"/api/counters/{counter['id']}/{action}")
    display.sio.disconnect()
    http.close()
    print(f"  {'call -> ticket_called on the display':44s} "
          f"{common.fmt_ms(common.summary_ms(events, ps=PS))}")
    if no_audio:
        print(f"  {no_audio} of {args.calls} calls had no audio_url (speech off or not wired)")
    figures = {"event_p95_ms": common.summary_ms(events, ps=PS)["p95"]}
    if miss:
        figures["miss_p95_ms"] = report("call -> WAV, cache miss (new number)", miss)["p95"]
        figures["hit_p95_ms"] = report("recall -> WAV, cache hit (same words)", hit)["p95"]
    return figures


def run_server_once(args):
    work = common.Workdir(keep=args.keep)
    server = None
    try:
        speech = {"engine": args.engine, "repeat": 2 if args.say_twice else 1,
                  "english": args.english}
        config = common.write_config(work.path, args.async_mode, overrides={
            "speech": speech, "queue": {"recall_limit": 1000}})
        counter = pick_counters(config, 1)[0]
        server = common.Server(config, script=args.server_script).start()
        common.add_users(config, ["bench-officer-0"])
        print(f"announce_latency: server, async_mode={args.async_mode} speech={speech} "
              f"counter={counter['id']} calls={args.calls}")
        return asyncio.run(run_server(args, server, counter))
    finally:
        if server:
            server.stop()
        work.cleanup()


# -- direct mode --------------------------------------------------------------------------

def timed_calls(speech, cfg, numbers, counter=12):
    out = []
    for number in numbers:
        t = time.perf_counter()
        key = speech.request(announcement_parts(number, counter, cfg))
        if key is None or speech.wait(key, 10) is None:
            raise RuntimeError(f"no voice for {number}: {speech.reason}")
        out.append(time.perf_counter() - t)
    return out


def burst(speech, cfg, numbers, counter=31):
    """All requested at once from as many threads; seconds until each one is ready."""
    start, out = threading.Barrier(len(numbers)), []

    def one(number):
        start.wait()
        t = time.perf_counter()
        speech.wait(speech.request(announcement_parts(number, counter, cfg)), 30)
        out.append(time.perf_counter() - t)
    threads = [threading.Thread(target=one, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def run_direct_once(args):
    from qms import settings
    from qms.speech import Speech, espeak, make_voice_pack, worker

    base = settings.load(common.BASE_CONFIG)["speech"]
    tmp = Path(tempfile.mkdtemp(prefix="qms-bench-speech-"))
    figures = {}
    numbers = [f"A{i:03d}" for i in range(args.calls)]
    try:
        print(f"announce_latency: direct, calls={args.calls} burst={args.burst}")
        variants = [("espeak", {}), ("espeak", {"repeat": 2, "english": True}),
                    ("voice_pack", {}), ("voice_pack", {"repeat": 2})]
        for engine, extra in variants:
            cfg = {**base, "engine": engine, **extra}
            name = engine + "".join(f" {k}={v}" for k, v in extra.items())
            audio = tmp / ("audio-" + name.replace(" ", "_").replace("=", "-"))
            t = time.perf_counter()
            speech = Speech(cfg, audio_dir=audio, pack_dir=tmp / "voice_pack")
            print(f"{name}: ready in {(time.perf_counter() - t) * 1000:.0f} ms"
                  + ("" if speech.available else f", NO VOICE: {speech.reason}"))
            if not speech.available:
                continue
            miss = report("request -> wait, cache miss", timed_calls(speech, cfg, numbers))
            report("request -> wait, cache hit", timed_calls(speech, cfg, numbers))
            last = burst(speech, cfg, [f"B{i:03d}" for i in range(args.burst)])
            report(f"burst of {args.burst} calls at once", last)
            figures[f"{name} miss p95 ms"] = miss["p95"]
            speech.close()

        print("raw costs of one phrase (A015 at counter 12):")
        text = announcement_parts("A015", 12, base)[0][1]
        eng = worker.shared().call(espeak.engine)
        phrase = tmp / "phrase.wav"
        say = [_timed(lambda: worker.shared().call(eng.save, text, "aav/vi", base["rate"],
                                                     phrase)) for _ in range(args.calls)]
        report("pyttsx3 save_to_file, to a complete file", say)
        exe = shutil.which("espeak-ng")
        if exe:
            cli = [_timed(lambda: subprocess.run(
                [exe, "-v", base["voice"], "-s", str(base["rate"]), "-w", str(phrase), text],
                check=True)) for _ in range(min(args.calls, 50))]
            report("espeak-ng command (process start included)", cli)
            t = time.perf_counter()
            clips = make_voice_pack(base, tmp / "pack2")
            print(f"  make_voice_pack: {len(clips)} clips in "
                  f"{(time.perf_counter() - t) * 1000:.0f} ms")
        print(f"  espeak retries after a cancel: {eng.retries}")
        return figures
    finally:
        if args.keep:
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run_once(args):
    return run_direct_once(args) if args.direct else run_server_once(args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--direct", action="store_true",
                    help="measure Speech.request -> wait in this process, no server")
    ap.add_argument("--calls", type=int, default=100, help="calls timed (default 100)")
    ap.add_argument("--engine", choices=("espeak", "voice_pack"), default="espeak",
                    help="server mode: speech.engine of the server (default espeak)")
    ap.add_argument("--say-twice", action="store_true", help="server mode: speech.repeat 2")
    ap.add_argument("--english", action="store_true", help="server mode: speech.english")
    ap.add_argument("--burst", type=int, default=10,
                    help="direct mode: calls requested at once (default 10)")
    common.main(ap, run_once, argv)


if __name__ == "__main__":
    main()
