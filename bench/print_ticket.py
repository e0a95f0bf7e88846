"""Time the ticket image (Pillow + QR) and its ESC/POS bytes at each paper width.

    .venv/bin/python bench/print_ticket.py [--renders 200] [--widths 384,512,576]

The ticket is a realistic one from config.yaml: the center's name, the service with the
longest name, its department, the counters that serve it, the kiosk footer and a priority
band; the number, the status URL (a fresh token: every QR code is computed anew), the place
in line and the time change from one ticket to the next, as at a kiosk.
DESIGN target: image + ESC/POS bytes under 50 ms together. Prints render, encode and
their sum per ticket (median, p95, p99, max), the CPU time of both (robust to other
processes sharing the cores) and the size of the bytes; no pass/fail.
No printer is involved: sending depends on the printer, not on this code.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common  # noqa: E402
from qms.printing import TicketPrint, encode_escpos, render_ticket  # noqa: E402

TARGET_MS = 50.0


def realistic_ticket(lang="vi") -> TicketPrint:
    """The longest service name of config.yaml, as a visitor would get it."""
    cfg = common.load_config(common.BASE_CONFIG)

    def text(value):
        return value.get(lang, value.get("vi")) if isinstance(value, dict) else value

    department, service = max(((d, s) for d in cfg["departments"] for s in d["services"]),
                              key=lambda ds: len(text(ds[1]["name"])))
    counters = [c["id"] for c in cfg["counters"] if service["id"] in
                [ref if isinstance(ref, str) else ref["service"] for ref in c["services"]]]
    return TicketPrint(
        center=text(cfg["center"]["name"]), number=f"{service['prefix']}015",
        service=text(service["name"]), department=text(department["name"]),
        counters=counters, zone=service.get("zone") or department["zone"], position=13,
        estimated_wait_s=1260, issued_at="2026-05-29T08:15:00+07:00", status_url="",
        priority=True, footer=text(cfg.get("kiosk", {}).get("ticket_footer", "")), lang=lang)


def measure(ticket: TicketPrint, width: int, renders: int):
    """Wall-clock render and encode times, the CPU time of both, and the sizes."""
    render_s, encode_s, cpu_s, sizes = [], [], [], []
    for i in range(renders):
        # What changes from one ticket to the next: number, QR, place in line, time.
        t = replace(ticket, number=f"{ticket.number[:-3]}{i % 1000:03d}",
                    status_url=f"http://192.168.1.10:5000/t/{secrets.token_urlsafe(16)}",
                    position=i % 40 + 1, estimated_wait_s=(i % 40) * 420,
                    issued_at=f"2026-05-29T{8 + i // 60 % 9:02d}:{i % 60:02d}:00+07:00")
        c0, t0 = time.thread_time(), time.perf_counter()
        image = render_ticket(t, width)
        t1 = time.perf_counter()
        data = encode_escpos(image)
        t2, c2 = time.perf_counter(), time.thread_time()
        render_s.append(t1 - t0)
        encode_s.append(t2 - t1)
        cpu_s.append(c2 - c0)
        sizes.append((image.height, len(data)))
        image.close()
    return render_s, encode_s, cpu_s, sizes


def run_once(args):
    ticket = realistic_ticket(args.lang)
    print(f"print_ticket: {args.renders} tickets per width, service '{ticket.service[:50]}"
          f"...', counters {ticket.counters}")
    figures = {}
    for width in args.widths:
        measure(ticket, width, 5)  # warm-up: fonts loaded, caches filled
        render_s, encode_s, cpu_s, sizes = measure(ticket, width, args.renders)
        both_s = [r + e for r, e in zip(render_s, encode_s, strict=True)]
        r, e, b, c = (common.summary_ms(v, ps=(50, 95, 99))
                      for v in (render_s, encode_s, both_s, cpu_s))
        height, size = sizes[-1]
        print(f"width {width} ({width}x{height} px, {size / 1024:.0f} KiB of ESC/POS)")
        print(f"  render   {common.fmt_ms(r)}")
        print(f"  encode   {common.fmt_ms(e)}")
        print(f"  together {common.fmt_ms(b)}  (target < {TARGET_MS:.0f} ms: p99 is "
              f"{'under' if b['p99'] < TARGET_MS else 'OVER'})")
        # CPU time is what the ticket costs; wall time also counts waiting for a core.
        print(f"  cpu      {common.fmt_ms(c)}")
        figures.update({f"w{width}_render_p50_ms": r["p50"], f"w{width}_encode_p50_ms": e["p50"],
                        f"w{width}_total_p50_ms": b["p50"], f"w{width}_total_p99_ms": b["p99"],
                        f"w{width}_cpu_p50_ms": c["p50"]})
    return figures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--renders", type=int, default=200,
                    help="tickets rendered and encoded per width (default 200)")
    ap.add_argument("--widths", default="384,512,576",
                    type=lambda s: [int(w) for w in s.split(",")],
                    help="paper widths in dots, comma-separated (default 384,512,576)")
    ap.add_argument("--lang", choices=("vi", "en"), default="vi", help="ticket language")
    # No server here, so only the repeat option of common.main's set applies.
    common.add_repeat_arg(ap)
    common.run_repeated(run_once, ap.parse_args(argv))


if __name__ == "__main__":
    main()
