"""One worker per configured printer. The request only queues a ticket; its worker
renders, encodes and sends it, so a slow or broken printer never holds up issuing, and
each printer (not thread-safe, one job at a time) has a single owner thread."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from qms.printing.ticket import TicketPrint, render_ticket
from qms.printing.transports import ERROR, TIMEOUT, PrintFault, encode_escpos, send

log = logging.getLogger(__name__)

MAX_QUEUED = 200  # per printer; beyond it a ticket is reported and dropped
STALE_S = 30.0  # a ticket that could not start printing this soon after issue is dropped:
#                 the visitor has left the kiosk, and staff reprint on request
OUTCOMES_KEPT = 5000  # print outcomes remembered, for retried requests
PAPER_LOW = "paper_low"  # a printed ticket whose printer said its roll is nearly used up


@dataclass(frozen=True)
class _Job:
    ticket: TicketPrint
    queued_at: float


class _Worker:
    """The queue and thread of one printer; the thread starts with the first ticket."""

    def __init__(self, device: str, cfg: dict, report: Callable):
        self.device, self.cfg, self.report = device, cfg, report
        self.jobs: queue.Queue = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.stopping = False

    def put(self, ticket: TicketPrint) -> str | None:
        """Queue the ticket; returns why it was not queued, or None."""
        with self.lock:
            if self.stopping:
                return "printing has stopped (server shutting down)"
            if self.jobs.qsize() >= MAX_QUEUED:
                return f"print queue full ({MAX_QUEUED} tickets waiting)"
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, daemon=True,
                                               name=f"qms-{self.device}")
                self.thread.start()
            self.jobs.put(_Job(ticket, time.monotonic()))
        return None

    def stop(self):
        with self.lock:
            self.stopping = True
            self.jobs.put(None)

    def join(self, timeout: float):
        if self.thread is not None:
            self.thread.join(max(0.0, timeout))

    def _run(self):
        while True:
            job = self.jobs.get()
            if job is None:
                return
            if self.stopping:
                log.info("printer %s: stopping, ticket %s not printed", self.device,
                         job.ticket.number)
                continue
            try:
                self._print(job)
            except Exception as exc:  # the worker must outlive any single ticket
                log.exception("printer %s: ticket %s failed", self.device, job.ticket.number)
                self.report("fault", ERROR, f"unexpected {type(exc).__name__}: {exc}",
                            job.ticket.number)

    def _print(self, job: _Job):
        number = job.ticket.number
        waited = time.monotonic() - job.queued_at
        if waited > STALE_S:
            self.report("fault", TIMEOUT, f"not printed: waited {waited:.0f} s behind "
                        f"earlier tickets", number)
            return
        image = render_ticket(job.ticket, self.cfg["width"])
        time.sleep(0)  # under gevent, let requests in between the CPU-heavy steps
        try:
            data = encode_escpos(image, cut=self.cfg["cut"])
        finally:
            image.close()
        time.sleep(0)
        try:
            paper_low = send(self.cfg, data, time.monotonic() + self.cfg["timeout_s"])
        except PrintFault as fault:
            self.report("fault", fault.kind, fault.message, number)
            return
        self.report("printed", PAPER_LOW if paper_low else None, None, number)


class Printers:
    """The center's ticket printers: the top-level ``printer`` (device id ``printer``) and
    each kiosk's own (``printer:<kiosk id>``). ``on_fault(device, kind, message, number)``
    and ``on_printed(device, number, paper_low)`` are called from the printer's worker
    thread."""

    def __init__(self, cfg: dict, *, on_fault: Callable, on_printed: Callable | None = None):
        self.on_fault, self.on_printed = on_fault, on_printed
        self._outcomes: OrderedDict[str, str] = OrderedDict()  # number -> pending|printed|failed
        self._outcomes_lock = threading.Lock()
        self._workers: dict[str, _Worker] = {}
        self._default = self._add("printer", cfg["printer"])
        self._kiosks = {k["id"]: self._add(f"printer:{k['id']}", k["printer"])
                        for k in cfg.get("kiosks", []) if k["printer"] is not None}

    def _add(self, device: str, printer_cfg: dict) -> str | None:
        if printer_cfg["driver"] == "none":
            return None
        self._workers[device] = _Worker(device, printer_cfg,
                                        lambda *args: self._report(device, *args))
        return device

    @property
    def devices(self) -> list[str]:
        """Ids of the printers that print (driver other than none)."""
        return list(self._workers)

    def device_for(self, kiosk_id: str | None) -> str | None:
        """The kiosk's own printer, else the top-level one; None when that is driver none."""
        if kiosk_id in self._kiosks:
            return self._kiosks[kiosk_id]
        return self._default

    def submit(self, kiosk_id: str | None, ticket: TicketPrint) -> str | None:
        """Queue the ticket on the kiosk's printer and return that device id (None: no
        printer). Never blocks on I/O and never raises for printer trouble: a ticket that
        cannot even be queued is reported through on_fault (from this thread)."""
        device = self.device_for(kiosk_id)
        if device is None:
            return None
        self._note(ticket.number, "pending")
        refused = self._workers[device].put(ticket)
        if refused:
            self._report(device, "fault", ERROR, refused, ticket.number)
        return device

    def close(self, timeout: float = 2.0):
        """Stop the workers; tickets still queued are not printed. Waits at most
        ``timeout`` seconds in all for a ticket being sent."""
        for worker in self._workers.values():
            worker.stop()
        end = time.monotonic() + timeout
        for worker in self._workers.values():
            worker.join(end - time.monotonic())

    def printed_or_pending(self, number: str) -> bool:
        """Whether this process has ``number`` printed or on its way to the paper (a
        retried request need not print it again); False after a fault or a restart."""
        with self._outcomes_lock:
            return self._outcomes.get(number) in ("pending", "printed")

    def _note(self, number, outcome):
        with self._outcomes_lock:
            self._outcomes[number] = outcome
            self._outcomes.move_to_end(number)
            while len(self._outcomes) > OUTCOMES_KEPT:
                self._outcomes.popitem(last=False)

    def _report(self, device, event, kind, message, number):
        if number:
            self._note(number, "printed" if event == "printed" else "failed")
        try:
            if event == "printed":
                log.info("printer %s: ticket %s printed", device, number)
                if self.on_printed:
                    self.on_printed(device, number, kind == PAPER_LOW)
            else:
                log.warning("printer %s: ticket %s not printed: %s (%s)", device, number,
                            kind, message)
                self.on_fault(device, kind, message, number)
        except Exception:  # a failing callback must not stop the printer's worker
            log.exception("printer %s: callback for ticket %s failed", device, number)
